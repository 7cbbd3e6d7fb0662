/* mproc tests: the forkserver and the resource tracker — join means the
 * child is gone, a killed server is restarted and takes nobody with it,
 * a killed tracker is restarted, group signals and Ctrl-C leak nothing,
 * objects made before mproc_init are tracked, the tracker's warning line,
 * and the preload hook.
 *
 * The tracker cases run a separate program (this binary with a role
 * argument) and watch what it leaves; they are POSIX-only: Windows has no
 * forkserver, and its kernel removes an object with its last handle. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mproc.h"
#include "procs.h"
#include "util.h"

#ifndef _WIN32
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
extern char **environ;
#endif

/* How often the preload hook ran in this process's memory: 1 in a
 * forkserver child (the server ran it once, then forked us), 0 in fork
 * and spawn children and in the program. */
static int preload_runs;

static void count_preload(void *arg) { ++*(int *)arg; }

typedef struct names_arg {
  char lock[MPROC_SHM_NAME_MAX + 1];
  char shm[MPROC_SHM_NAME_MAX + 1];
  char event[MPROC_SHM_NAME_MAX + 1];
  char path[400];
  int code;
} names_arg;

static void name_of(char *out, const char *tag) {
  static int n;
  snprintf(out, MPROC_SHM_NAME_MAX + 1, "f%ld-%s%d",
           mproc_current_pid() % 1000000, tag, n++);
}

/* ---- join means gone ----------------------------------------------------- */

/* Takes the lock and a hold on the segment, and returns without giving
 * either back: the process's end releases them. */
#define BIG ((size_t)64 << 20)
static char *big; /* reachable: not a leak */
/* The handles kept to the end, reachable for the same reason (whether a
 * dead frame's copy of a local is still scanned is luck). */
static mproc_lock *held_l;
static mproc_shm *held_s;

static int t_hold_and_return(const void *arg, size_t len) {
  names_arg a;
  CHILD_CHECK(len == sizeof a);
  memcpy(&a, arg, sizeof a);
  CHILD_CHECK(mproc_lock_open(&held_l, a.lock) == 0);
  CHILD_CHECK(mproc_lock_acquire(held_l, 60) == 0);
  CHILD_CHECK(mproc_shm_open(&held_s, a.shm) == 0);
  /* Memory to unmap makes the exit take a while: a join that returns
   * before the exit is done cannot go unnoticed. */
  big = malloc(BIG);
  CHILD_CHECK(big != NULL);
  memset(big, 1, BIG);
  return 0;
}
MPROC_TASK(t_hold_and_return);

/* When join returns, the child is gone: the lock it held is handed over
 * as MPROC_EOWNERDEAD at once, and the parent's close of the segment is
 * the last one (the name goes). Repeated, since the old forkserver join
 * was early only in about half the runs. */
static void test_join_means_gone(void **state) {
  int round;
  (void)state;
  for (round = 0; round < 10; round++) {
    names_arg a;
    mproc_lock *l = NULL;
    mproc_shm *s = NULL, *t = NULL;
    mproc_process *p;
    long pid;
    memset(&a, 0, sizeof a);
    assert_int_equal(mproc_lock_new(&l, NULL), 0);
    name_of(a.shm, "j");
    {
      mproc_shm_opts o = MPROC_SHM_OPTS_INIT;
      o.name = a.shm;
      assert_int_equal(mproc_shm_new(&s, 4096, &o), 0);
    }
    strcpy(a.lock, mproc_lock_name(l));
    p = tp_start(t_hold_and_return, &a, sizeof a, NULL, 0);
    pid = mproc_process_pid(p);
    assert_int_equal(tp_code(p), 0);
    assert_false(tu_pid_alive(pid));
    assert_int_equal(mproc_lock_acquire(l, 0), MPROC_EOWNERDEAD);
    assert_int_equal(mproc_lock_release(l), 0);
    mproc_shm_free(s);
    assert_int_equal(mproc_shm_open(&t, a.shm), MPROC_ENOENT);
    mproc_process_free(p);
    mproc_lock_free(l);
  }
}

/* ---- the preload hook ---------------------------------------------------- */

static int t_preload_runs(const void *arg, size_t len) {
  (void)arg;
  (void)len;
  return preload_runs;
}
MPROC_TASK(t_preload_runs);

static void test_preload(void **state) {
  mproc_process *p;
  (void)state;
  p = tp_start(t_preload_runs, NULL, 0, NULL, 0);
  assert_int_equal(tp_join(p), g_method == MPROC_START_FORKSERVER ? 1 : 0);
  assert_int_equal(preload_runs, 0); /* never in the program itself */
}

#ifndef _WIN32

/* ---- a killed server ----------------------------------------------------- */

/* Publishes its parent (the server, under forkserver), waits for the
 * event, returns a.code. */
static int t_server_child(const void *arg, size_t len) {
  names_arg a;
  mproc_event *e = NULL;
  CHILD_CHECK(len == sizeof a);
  memcpy(&a, arg, sizeof a);
  CHILD_CHECK(tu_write_long(a.path, (long)getppid()) == 0);
  if (a.event[0] == '\0') return a.code;
  CHILD_CHECK(mproc_event_open(&e, a.event) == 0);
  CHILD_CHECK(mproc_event_wait(e, 120) == 0);
  mproc_event_free(e);
  return a.code;
}
MPROC_TASK(t_server_child);

/* tp_join, saying why when the join fails. */
static int join_free(mproc_process *p, const char *what) {
  int code = -1000, rc = mproc_process_join(p, MPROC_FOREVER);
  if (rc != 0)
    fail_msg("join of %s: %s: %s", what, mproc_strerror(rc),
             mproc_last_error());
  assert_int_equal(mproc_process_exitcode(p, &code), 0);
  mproc_process_free(p);
  return code;
}

/* The parent of `pid` (Linux /proc), or -1 where it cannot be read. */
static long parent_of(long pid) {
  char path[64], buf[512], *paren;
  long ppid = -1;
  size_t n;
  FILE *f;
  snprintf(path, sizeof path, "/proc/%ld/stat", pid);
  f = fopen(path, "r");
  if (f == NULL) return -1;
  n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  paren = strrchr(buf, ')');
  if (paren == NULL || sscanf(paren + 2, "%*c %ld", &ppid) != 1) ppid = -1;
  return ppid;
}

/* What getppid() told a child must be our server, never a reaper that
 * adopted it (1 where /proc cannot tell). */
static int is_our_child(long pid) {
  long ppid = parent_of(pid);
  return ppid == -1 || ppid == mproc_current_pid();
}

/* Threads of `pid` (Linux /proc), 0 where it cannot be read. */
static int threads_of(long pid) {
  char path[64], line[256];
  int n = 0;
  FILE *f;
  snprintf(path, sizeof path, "/proc/%ld/status", pid);
  f = fopen(path, "r");
  if (f == NULL) return 0;
  while (fgets(line, sizeof line, f))
    if (sscanf(line, "Threads: %d", &n) == 1) break;
  fclose(f);
  return n;
}

/* Until the process is gone whole: its main thread is a zombie and no
 * other thread of it (a sanitizer's) still holds its descriptors — a
 * request sent to a server that is still closing them is lost with it. */
static void wait_gone(long pid) {
  int i;
  for (i = 0; i < 3000 && (tu_pid_alive(pid) || threads_of(pid) > 1); i++)
    tu_sleep_ms(10);
  assert_false(tu_pid_alive(pid));
}

/* Kill the server with `sig` while a child of it runs: the next start
 * restarts the server (which runs the preload hook again), the running
 * child lives on and keeps its exit code. */
static void kill_server_with(int sig) {
  names_arg a;
  mproc_event *go = NULL;
  mproc_process *p, *q;
  long server = 0, server2 = 0, pid;
  memset(&a, 0, sizeof a);
  assert_int_equal(mproc_event_new(&go, NULL), 0);
  strcpy(a.event, mproc_event_name(go));
  tu_temp_path(a.path, sizeof a.path, "server");
  a.code = 33;
  p = tp_start(t_server_child, &a, sizeof a, NULL, 0);
  assert_int_equal(tu_read_long(a.path, &server, 60), 0);
  remove(a.path);
  assert_true(server > 1 && server != mproc_current_pid());
  assert_true(is_our_child(server));
  assert_int_equal(kill((pid_t)server, sig), 0);
  wait_gone(server);
  /* A new server, for a new child. */
  a.event[0] = '\0';
  a.code = 44;
  q = tp_start(t_server_child, &a, sizeof a, NULL, 0);
  assert_int_equal(join_free(q, "a child of the new server"), 44);
  assert_int_equal(tu_read_long(a.path, &server2, 60), 0);
  remove(a.path);
  assert_true(server2 != server && server2 != mproc_current_pid());
  q = tp_start(t_preload_runs, NULL, 0, NULL, 0);
  assert_int_equal(join_free(q, "the preload child"), 1);
  /* The old server's child ran on. */
  assert_true(tu_pid_alive(mproc_process_pid(p)));
  assert_int_equal(mproc_process_is_alive(p), 1);
  assert_int_equal(mproc_event_set(go), 0);
  pid = mproc_process_pid(p);
  assert_int_equal(join_free(p, "the old server's child"), 33);
  assert_false(tu_pid_alive(pid));
  mproc_event_free(go);
}

static void test_killed_server_restarts(void **state) {
  (void)state;
  if (g_method != MPROC_START_FORKSERVER) skip();
  kill_server_with(SIGKILL);
  kill_server_with(SIGTERM);
  kill_server_with(SIGSEGV); /* as a crash would */
  kill_server_with(SIGKILL); /* a server that was itself a restart */
}

/* ---- separate programs and what they leave ------------------------------- */

/* Run this binary as `<role> <name>` in a process group of its own
 * (new_group) and with stderr to `err` (NULL: ours). */
static long spawn_role(const char *role, const char *arg, int new_group,
                       const char *err) {
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  char self[4096];
  char *argv[4];
  pid_t pid;
  int rc;
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return -1;
  self[n] = '\0';
  argv[0] = self;
  argv[1] = (char *)(uintptr_t)role;
  argv[2] = (char *)(uintptr_t)arg;
  argv[3] = NULL;
  posix_spawn_file_actions_init(&fa);
  if (err)
    posix_spawn_file_actions_addopen(&fa, 2, err, O_WRONLY | O_CREAT | O_TRUNC,
                                     0600);
  posix_spawnattr_init(&attr);
  if (new_group) {
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  }
  rc = posix_spawn(&pid, self, &fa, &attr, argv, environ);
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&fa);
  return rc == 0 ? (long)pid : -1;
}

/* 1 once no object of that name exists (the tracker sweeps within
 * seconds of the program's end). Looked for without opening it: an open
 * would make us a holder, and our close would remove it. */
static int swept(const char *name) {
  int i;
  for (i = 0; i < 200; i++) {
    if (tu_count_shm(name) == 0) return 1;
    tu_sleep_ms(50);
  }
  return 0;
}

static void make_event(const char *name, mproc_event **e) {
  mproc_sync_opts o = MPROC_SYNC_OPTS_INIT;
  o.name = name;
  if (mproc_event_new(e, &o) != 0) exit(2);
}

static void make_shm(const char *name, mproc_shm **s) {
  mproc_shm_opts o = MPROC_SHM_OPTS_INIT;
  o.name = name;
  if (mproc_shm_new(s, 4096, &o) != 0) exit(3);
}

/* `base`-e (an event) and `base`-s (a segment), never closed (kept in
 * statics so that LeakSanitizer does not call them leaks). */
static mproc_event *leaked_event;
static mproc_shm *leaked_shm;

static void leak_two(const char *base) {
  char n[MPROC_SHM_NAME_MAX + 1];
  snprintf(n, sizeof n, "%s-e", base);
  make_event(n, &leaked_event);
  snprintf(n, sizeof n, "%s-s", base);
  make_shm(n, &leaked_shm);
}

static void assert_both_swept(const char *base) {
  char n[MPROC_SHM_NAME_MAX + 1];
  snprintf(n, sizeof n, "%s-e", base);
  assert_true(swept(n));
  snprintf(n, sizeof n, "%s-s", base);
  assert_true(swept(n));
}

/* Makes its objects before mproc_init, then ends normally without
 * removing them. */
static int role_preinit(int argc, char **argv, const char *base) {
  leak_two(base);
  mproc_init(argc, argv);
  return 0;
}

/* Learns its server's pid from a child, kills the server, then makes its
 * objects (the tracker must still be there for them) and dies. */
/* The forkserver's pid, from a child of it (0 if that failed). */
static long learn_server(void) {
  mproc_process *p = NULL;
  mproc_process_opts o = MPROC_PROCESS_OPTS_INIT;
  names_arg a;
  long server = 0;
  int code = -1;
  memset(&a, 0, sizeof a);
  tu_temp_path(a.path, sizeof a.path, "srv");
  o.method = MPROC_START_FORKSERVER;
  if (mproc_process_new(&p, t_server_child, &a, sizeof a, &o) != 0 ||
      mproc_process_start(p) != 0 || mproc_process_join(p, 60) != 0 ||
      mproc_process_exitcode(p, &code) != 0 || code != 0 ||
      tu_read_long(a.path, &server, 60) != 0)
    server = 0;
  remove(a.path);
  mproc_process_free(p);
  return server;
}

static int role_server_kill(int argc, char **argv, const char *base) {
  long server;
  mproc_init(argc, argv);
  server = learn_server();
  if (server <= 0 || !is_our_child(server)) return 4;
  kill((pid_t)server, SIGKILL);
  while (tu_pid_alive(server)) tu_sleep_ms(5);
  leak_two(base);
  tu_kill_pid(mproc_current_pid());
  return 5;
}

/* A constructor, as C++ static initialisers run: with TF_CTOR set, every
 * process of this binary that starts by exec — a role program and the
 * children it spawns, which run it again — makes an event before main. */
static mproc_event *ctor_event;

__attribute__((constructor)) static void ctor_make_event(void) {
  char n[MPROC_SHM_NAME_MAX + 1];
  const char *base = getenv("TF_CTOR");
  if (base == NULL || base[0] == '\0') return;
  snprintf(n, sizeof n, "%s-%ld", base, mproc_current_pid());
  make_event(n, &ctor_event);
}

static int t_return_zero(const void *arg, size_t len) {
  (void)arg;
  return (int)len;
}
MPROC_TASK(t_return_zero);

/* Its constructor made an event; a spawned child's makes another. */
static int role_ctor(int argc, char **argv, const char *base) {
  mproc_process *p = NULL;
  mproc_process_opts o = MPROC_PROCESS_OPTS_INIT;
  int code = -1;
  (void)base;
  mproc_init(argc, argv);
  o.method = MPROC_START_SPAWN;
  if (mproc_process_new(&p, t_return_zero, NULL, 0, &o) != 0 ||
      mproc_process_start(p) != 0 || mproc_process_join(p, 60) != 0 ||
      mproc_process_exitcode(p, &code) != 0 || code != 0)
    return 4;
  mproc_process_free(p);
  return ctor_event ? 0 : 5;
}

/* Our child that is neither `server` nor a process of ours: the tracker
 * (Linux /proc; 0 where there is none to read). */
static long find_tracker(long server) {
  long me = mproc_current_pid(), found = 0;
  DIR *d = opendir("/proc");
  struct dirent *e;
  if (d == NULL) return 0;
  while (found == 0 && (e = readdir(d)) != NULL) {
    long pid = atol(e->d_name);
    if (pid > 1 && pid != server && pid != me && parent_of(pid) == me)
      found = pid;
  }
  closedir(d);
  return found;
}

/* Kills its tracker (a create must then restart it, not go untracked),
 * makes its objects and dies. */
static int role_tracker_kill(int argc, char **argv, const char *base) {
  long server, tracker;
  mproc_init(argc, argv);
  server = learn_server();
  if (server <= 0 || !is_our_child(server)) return 4;
  tracker = find_tracker(server);
  if (tracker <= 0) return 5;
  kill((pid_t)tracker, SIGKILL);
  /* Gone whole, as wait_gone waits for the server: a sanitizer's thread
   * can still hold the dead tracker's socket after its main thread is a
   * zombie, and a datagram sent then is lost with it. */
  while (tu_pid_alive(tracker) || threads_of(tracker) > 1) tu_sleep_ms(5);
  leak_two(base);
  tu_kill_pid(mproc_current_pid());
  return 6;
}

/* Makes its objects, starts a child that waits on the event, says it is
 * ready (the file TF_READY names) and waits for the group's SIGTERM. */
static int role_group(int argc, char **argv, const char *base) {
  mproc_process *p = NULL;
  names_arg a;
  mproc_init(argc, argv);
  leak_two(base);
  memset(&a, 0, sizeof a);
  snprintf(a.event, sizeof a.event, "%s-e", base);
  tu_temp_path(a.path, sizeof a.path, "grp");
  if (mproc_process_new(&p, t_server_child, &a, sizeof a, NULL) != 0 ||
      mproc_process_start(p) != 0)
    return 4;
  if (tu_write_long(getenv("TF_READY"), 1) != 0) return 5;
  for (;;) tu_sleep_ms(1000);
}

/* Ctrl-C right after mproc_init: SIGINT to its whole group, the helper
 * processes among it, at once (the program itself ignores this first
 * one), then its objects, then a second Ctrl-C that ends it. */
static int role_sigint(int argc, char **argv, const char *base) {
  mproc_init(argc, argv);
  signal(SIGINT, SIG_IGN);
  kill(0, SIGINT);
  leak_two(base);
  signal(SIGINT, SIG_DFL);
  kill(0, SIGINT);
  tu_sleep_ms(60000); /* not reached: SIGINT ends us */
  return 6;
}

static int read_file(const char *path, char *buf, size_t n) {
  FILE *f = fopen(path, "r");
  size_t got;
  if (f == NULL) return -1;
  got = fread(buf, 1, n - 1, f);
  buf[got] = '\0';
  fclose(f);
  return 0;
}

/* The warning comes once the sweep is done, a moment after the names go. */
static int wait_for_line(const char *path, const char *what, char *buf,
                         size_t n) {
  int i;
  for (i = 0; i < 200; i++) {
    if (read_file(path, buf, n) == 0 && strstr(buf, what)) return 1;
    tu_sleep_ms(50);
  }
  return 0;
}

static int once(void) { return g_method == mproc_get_start_method(); }

static void test_preinit_objects_tracked_and_warned(void **state) {
  char base[MPROC_SHM_NAME_MAX + 1], err[400], out[2048];
  long pid;
  (void)state;
  if (!once()) skip();
  name_of(base, "pre");
  tu_temp_path(err, sizeof err, "stderr");
  pid = spawn_role("--role-preinit", base, 0, err);
  assert_true(pid > 0);
  assert_int_equal(tu_wait_pid(pid), 0);
  assert_both_swept(base);
  assert_true(wait_for_line(err, "resource tracker", out, sizeof out));
  /* One line naming the count of each kind. */
  assert_non_null(strstr(out, "1 shared memory"));
  assert_non_null(strstr(out, "1 event"));
  assert_ptr_equal(strchr(out, '\n'), out + strlen(out) - 1);
  remove(err);
}

/* Constructors of the program and of a spawned child make objects
 * before mproc_init: the program's tracker sweeps both. */
static void test_constructor_objects_tracked(void **state) {
  char base[MPROC_SHM_NAME_MAX + 1];
  long pid;
  (void)state;
  if (!once()) skip();
  name_of(base, "ct");
  tu_setenv("TF_CTOR", base);
  pid = spawn_role("--role-ctor", base, 0, NULL);
  tu_setenv("TF_CTOR", "");
  assert_true(pid > 0);
  assert_int_equal(tu_wait_pid(pid), 0);
  assert_true(swept(base)); /* the prefix: both */
}

static void test_warning_can_be_silenced(void **state) {
  char base[MPROC_SHM_NAME_MAX + 1], err[400], out[2048];
  long pid;
  (void)state;
  if (!once()) skip();
  name_of(base, "quiet");
  tu_temp_path(err, sizeof err, "stderr");
  tu_setenv("MPROC_TRACKER_WARN", "0");
  pid = spawn_role("--role-preinit", base, 0, err);
  tu_setenv("MPROC_TRACKER_WARN", "1");
  assert_true(pid > 0);
  assert_int_equal(tu_wait_pid(pid), 0);
  assert_both_swept(base);
  /* Let the tracker finish (it exits after the line it does not print). */
  tu_sleep_ms(300);
  assert_int_equal(read_file(err, out, sizeof out), 0);
  assert_null(strstr(out, "resource tracker"));
  remove(err);
}

static void test_tracker_outlives_killed_server(void **state) {
  char base[MPROC_SHM_NAME_MAX + 1];
  long pid;
  (void)state;
  if (!once() || !mproc_start_method_supported(MPROC_START_FORKSERVER))
    skip();
  name_of(base, "srv");
  pid = spawn_role("--role-server-kill", base, 0, NULL);
  assert_true(pid > 0);
  assert_int_equal(tu_wait_pid(pid), -9); /* killed itself */
  assert_both_swept(base);
}

static void test_killed_tracker_restarts(void **state) {
  char base[MPROC_SHM_NAME_MAX + 1];
  long pid;
  (void)state;
  if (!once() || !mproc_start_method_supported(MPROC_START_FORKSERVER) ||
      tu_count_shm("") < 0)
    skip(); /* the role finds its tracker through /proc */
  name_of(base, "trk");
  pid = spawn_role("--role-tracker-kill", base, 0, NULL);
  assert_true(pid > 0);
  assert_int_equal(tu_wait_pid(pid), -9); /* killed itself */
  assert_both_swept(base);
}

static void test_group_sigterm_sweeps(void **state) {
  char base[MPROC_SHM_NAME_MAX + 1], ready[400];
  long pid, v = 0;
  (void)state;
  if (!once()) skip();
  name_of(base, "grp");
  tu_temp_path(ready, sizeof ready, "ready");
  tu_setenv("TF_READY", ready);
  pid = spawn_role("--role-group", base, 1, NULL);
  assert_true(pid > 0);
  assert_int_equal(tu_read_long(ready, &v, 60), 0);
  remove(ready);
  /* What timeout(1), systemd or `kill -TERM -PGID` do. */
  assert_int_equal(kill(-(pid_t)pid, SIGTERM), 0);
  assert_int_equal(tu_wait_pid(pid), -SIGTERM);
  assert_both_swept(base);
}

static void test_sigint_after_init_sweeps(void **state) {
  char base[MPROC_SHM_NAME_MAX + 1];
  long pid;
  int round;
  (void)state;
  if (!once()) skip();
  for (round = 0; round < 5; round++) {
    name_of(base, "int");
    pid = spawn_role("--role-sigint", base, 1, NULL);
    assert_true(pid > 0);
    assert_int_equal(tu_wait_pid(pid), -SIGINT);
    assert_both_swept(base);
  }
}

#else /* Windows: no forkserver, and no tracker (the kernel counts holders) */

static void test_killed_server_restarts(void **state) {
  (void)state;
  skip();
}
#define test_preinit_objects_tracked_and_warned test_killed_server_restarts
#define test_warning_can_be_silenced test_killed_server_restarts
#define test_tracker_outlives_killed_server test_killed_server_restarts
#define test_killed_tracker_restarts test_killed_server_restarts
#define test_constructor_objects_tracked test_killed_server_restarts
#define test_group_sigterm_sweeps test_killed_server_restarts
#define test_sigint_after_init_sweeps test_killed_server_restarts

#endif

static int no_children_left(void **state) {
  (void)state;
  return mproc_active_children(NULL, 0) == 0 ? 0 : -1;
}

#define T(fn) cmocka_unit_test_teardown(fn, no_children_left)

int main(int argc, char **argv) {
  const struct CMUnitTest tests[] = {
      T(test_join_means_gone),
      T(test_preload),
      T(test_killed_server_restarts),
      T(test_preinit_objects_tracked_and_warned),
      T(test_constructor_objects_tracked),
      T(test_warning_can_be_silenced),
      T(test_tracker_outlives_killed_server),
      T(test_killed_tracker_restarts),
      T(test_group_sigterm_sweeps),
      T(test_sigint_after_init_sweeps),
  };
  tu_set_argv0(argv[0]);
#ifndef _WIN32
  if (argc >= 3 && strcmp(argv[1], "--role-preinit") == 0)
    return role_preinit(1, argv, argv[2]);
  if (argc >= 3 && strcmp(argv[1], "--role-server-kill") == 0)
    return role_server_kill(1, argv, argv[2]);
  if (argc >= 3 && strcmp(argv[1], "--role-tracker-kill") == 0)
    return role_tracker_kill(1, argv, argv[2]);
  if (argc >= 3 && strcmp(argv[1], "--role-ctor") == 0)
    return role_ctor(1, argv, argv[2]);
  if (argc >= 3 && strcmp(argv[1], "--role-group") == 0)
    return role_group(1, argv, argv[2]);
  if (argc >= 3 && strcmp(argv[1], "--role-sigint") == 0)
    return role_sigint(1, argv, argv[2]);
#endif
  /* Before mproc_init, so that the first server runs it. */
  mproc_set_forkserver_preload(count_preload, &preload_runs);
  if (mproc_init(argc, argv) != 0)
    fprintf(stderr, "mproc_init: %s\n", mproc_last_error());
  return TP_RUN_PER_METHOD("forkserver", tests) ? 1 : 0;
}
