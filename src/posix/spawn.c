/* mproc: the spawn start method (posix_spawn of our own executable) and the
 * spawned child's entry.
 *
 * The child gets two descriptors beyond stdio: fd 3, its end of
 * the bootstrap socket (the message comes in, an error report may go
 * out, and its closing at exit makes the parent's end — the sentinel —
 * readable), and fd 4, the read end of the parent's death pipe; then, when
 * the program has them, fd 5, a client end of its forkserver, fd 6, its
 * shared-memory registry (src/registry.h), and fd 7, a client end of its
 * resource tracker (helper.c). The command line is
 * `<exe> --mproc-spawn 3 4 <direct> <5|-1> <6|-1> <7|-1>`.
 * Nothing else is inherited: every descriptor of ours is CLOEXEC from
 * birth, and those of the program that are not (a socket or file opened
 * without CLOEXEC) are closed in the child too, as Python's spawn does
 * (mproc__posix_spawn_only_these).
 *
 * <exe> is this program's own image, or the one mproc_set_executable
 * named. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "posix.h"

extern char **environ;

#define SPAWN_FLAG "--mproc-spawn"
#define CHILD_BOOT_FD 3
#define CHILD_DEATH_FD 4
#define CHILD_SERVER_FD 5
#define CHILD_REGISTRY_FD 6
#define CHILD_TRACKER_FD 7
#define CHILD_TOP_FD 8 /* the first descriptor the child is not given */

static char *executable; /* mproc_set_executable's, or NULL */

int mproc__os_set_executable(const char *path) {
  char *copy = NULL;
  if (path != NULL) {
    size_t n = strlen(path);
    if (access(path, X_OK) != 0)
      return mproc__posix_err(errno, "mproc_set_executable(\"%s\")", path);
    copy = malloc(n + 1);
    if (copy == NULL) return mproc__err(MPROC_ENOMEM, "out of memory");
    memcpy(copy, path, n + 1);
  }
  free(executable);
  executable = copy;
  return 0;
}

static const char *spawn_exe(void) {
  return executable ? executable : mproc__posix_exe_path();
}

static int do_spawn(pid_t *pid, int boot, int death, int direct) {
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  char *argv[9];
  sigset_t none;
  short flags = POSIX_SPAWN_SETSIGMASK;
  unsigned used;
  int rc, b = -1, d = -1, s = -1, g = -1, t = -1;
  int server = mproc__posix_forkserver_fd();
  int registry = mproc__posix_registry_fd();
  int tracker = mproc__posix_helper_fd();

  /* Move the ends above the fixed numbers first, so that placing one at
   * 3 can never clobber another. */
  b = mproc__posix_dup_cloexec(boot, 10);
  d = b < 0 ? -1 : mproc__posix_dup_cloexec(death, 10);
  s = d < 0 || server < 0 ? -1 : mproc__posix_dup_cloexec(server, 10);
  g = d < 0 || registry < 0 ? -1 : mproc__posix_dup_cloexec(registry, 10);
  t = d < 0 || tracker < 0 ? -1 : mproc__posix_dup_cloexec(tracker, 10);
  if (b < 0 || d < 0 || (server >= 0 && s < 0) || (registry >= 0 && g < 0) ||
      (tracker >= 0 && t < 0)) {
    mproc__posix_close(b);
    mproc__posix_close(d);
    mproc__posix_close(s);
    mproc__posix_close(g);
    mproc__posix_close(t);
    return MPROC_EOS;
  }
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, b, CHILD_BOOT_FD);
  posix_spawn_file_actions_adddup2(&fa, d, CHILD_DEATH_FD);
  if (s >= 0) posix_spawn_file_actions_adddup2(&fa, s, CHILD_SERVER_FD);
  if (g >= 0) posix_spawn_file_actions_adddup2(&fa, g, CHILD_REGISTRY_FD);
  if (t >= 0) posix_spawn_file_actions_adddup2(&fa, t, CHILD_TRACKER_FD);
  used = 3u | (s >= 0 ? 4u : 0u) | (g >= 0 ? 8u : 0u) |
         (t >= 0 ? 16u : 0u);
  rc = mproc__posix_spawn_only_these(&fa, &flags, CHILD_TOP_FD, used);
  posix_spawnattr_init(&attr);
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, flags);
  argv[0] = (char *)(uintptr_t)spawn_exe();
  argv[1] = (char *)(uintptr_t)SPAWN_FLAG;
  argv[2] = (char *)(uintptr_t)"3";
  argv[3] = (char *)(uintptr_t)"4";
  argv[4] = (char *)(uintptr_t)(direct ? "1" : "0");
  argv[5] = (char *)(uintptr_t)(s >= 0 ? "5" : "-1");
  argv[6] = (char *)(uintptr_t)(g >= 0 ? "6" : "-1");
  argv[7] = (char *)(uintptr_t)(t >= 0 ? "7" : "-1");
  argv[8] = NULL;
  if (rc == 0) rc = posix_spawn(pid, argv[0], &fa, &attr, argv, environ);
  else rc = ENOMEM;
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&fa);
  mproc__posix_close(b);
  mproc__posix_close(d);
  mproc__posix_close(s);
  mproc__posix_close(g);
  mproc__posix_close(t);
  if (rc != 0)
    return mproc__posix_err(rc, "posix_spawn(%s)", argv[0]);
  return 0;
}

int mproc__posix_spawn_start(mproc__os_proc *p, const mproc__start *st) {
  int sv[2] = {-1, -1}, rc, death, direct = mproc__posix_is_main_thread();
  size_t sent = 0;
  pid_t pid = -1;

  mproc__posix_start_lock();
  death = mproc__posix_death_fd();
  rc = death < 0 ? MPROC_EOS : mproc__posix_socketpair(SOCK_STREAM, sv);
  if (rc == 0) rc = do_spawn(&pid, sv[1], death, direct);
  mproc__posix_close(sv[1]);
  mproc__posix_start_unlock();
  if (rc < 0) {
    mproc__posix_close(sv[0]);
    return rc;
  }
  p->pid = pid;
  p->sentinel = p->back = sv[0];
  /* The child reads while we write, so any size goes through. */
  rc = mproc__posix_send_boot(sv[0], st, &sent, 1);
  if (rc < 0) {
    kill(pid, SIGKILL);
    (void)mproc__posix_waitpid(pid, &death);
    mproc__posix_close(sv[0]);
    return rc;
  }
  return 0;
}

/* The program's descriptors a spawned child receives (fd 5, 6, 7, or -1):
 * ours alone from now on (no exec'd grandchild may keep them open). */
static void adopt(char **argv) {
  int server = atoi(argv[5]), registry = atoi(argv[6]);
  int tracker = atoi(argv[7]);
  if (server >= 0 && mproc__posix_set_cloexec(server) == 0)
    mproc__posix_forkserver_adopt(server);
  if (registry >= 0 && mproc__posix_set_cloexec(registry) == 0)
    mproc__posix_registry_adopt(registry);
  if (tracker >= 0 && mproc__posix_set_cloexec(tracker) == 0)
    mproc__posix_helper_adopt(tracker);
}

static int is_spawned(int argc, char **argv) {
  return argc >= 8 && argv != NULL && strcmp(argv[1], SPAWN_FLAG) == 0;
}

static pthread_once_t early_once = PTHREAD_ONCE_INIT;
static int adopted;

static void adopt_early_once(void) {
  char buf[4096], *argv[9];
  int argc = mproc__posix_own_args(buf, sizeof buf, argv, 9);
  if (!is_spawned(argc, argv)) return;
  adopt(argv);
  adopted = 1;
}

void mproc__posix_adopt_early(void) {
  pthread_once(&early_once, adopt_early_once);
}

int mproc__os_child_entry(int argc, char **argv) {
  int boot, death;
  if (!is_spawned(argc, argv)) return 0;
  boot = atoi(argv[2]);
  death = atoi(argv[3]);
  /* Ours alone: no exec'd grandchild may keep them open. */
  (void)mproc__posix_set_cloexec(boot);
  (void)mproc__posix_set_cloexec(death);
  mproc__posix_adopt_early(); /* done already if a constructor needed it */
  if (!adopted) adopt(argv);
  mproc__posix_boot_child(boot, death, strcmp(argv[4], "1") == 0, 0, -1);
}
