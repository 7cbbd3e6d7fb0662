/* mproc: the resource tracker's process on POSIX — the mechanism; the
 * policy (what to sweep, how long to wait for dying holders, the warning
 * line) is the common layer's mproc__tracker_sweep (src/tracker.c).
 *
 * The tracker is a small process of its own, not the forkserver: a
 * forkserver that is killed is restarted, and must not take the program's
 * list of names with it (Python keeps resource_tracker apart for the same
 * reason). It is forked on first need — mproc_init, or the first named
 * object made before it (a constructor, a static initialiser) — after the
 * program's registry is mapped, so that it sweeps that too.
 *
 * Channel: one datagram socket pair. The program keeps the client end
 * (close-on-exec); fork children and the forkserver's children inherit it,
 * spawned children receive it (spawn.c). Each datagram names one object
 * created (TRACK) or removed by its holders (UNTRACK).
 *
 * Lifetime: the tracker watches the death pipe of the process that started
 * it, and sweeps once that pipe reports the end. It ignores the signals a
 * terminal or a service manager sends to the whole process group (SIGINT,
 * SIGTERM, SIGHUP, SIGQUIT): they are for the program, and a tracker they
 * killed would leak everything. Dispositions are set before the signal
 * mask is restored, so none of them can arrive in between. A tracker that
 * cannot be reached (killed with SIGKILL) is restarted on the next
 * datagram; segments in the registry are still swept (the registry is in
 * shared memory), other objects tracked before its death are not. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "posix.h"

#define TRK_MAGIC 0x314b5254u /* "TRK1" */

typedef struct trk_msg {
  uint32_t magic;
  uint32_t kind; /* TRK_TRACK or TRK_UNTRACK */
  char name[MPROC_SHM_NAME_MAX + 1];
} trk_msg;

enum { TRK_TRACK = 1, TRK_UNTRACK = 2 };

static int client = -1;    /* this process's end, or -1 */
static pid_t tracker = -1; /* the tracker, when this process started it */

/* ---- the tracker --------------------------------------------------------- */

typedef struct names {
  char (*v)[MPROC_SHM_NAME_MAX + 1];
  size_t n, cap;
} names;

static void remember(names *t, const char *name) {
  size_t i;
  for (i = 0; i < t->n; i++)
    if (strcmp(t->v[i], name) == 0) return;
  if (t->n == t->cap) {
    size_t ncap = t->cap ? t->cap * 2 : 64;
    void *nv = realloc(t->v, ncap * sizeof *t->v);
    if (nv == NULL) return;
    t->v = nv;
    t->cap = ncap;
  }
  strcpy(t->v[t->n++], name);
}

static void forget(names *t, const char *name) {
  size_t i;
  for (i = 0; i < t->n; i++)
    if (strcmp(t->v[i], name) == 0) {
      t->n--;
      if (i != t->n) strcpy(t->v[i], t->v[t->n]);
      return;
    }
}

/* Take every queued datagram; 0 when the socket has no writer left. */
static int drain(int sock, names *t) {
  for (;;) {
    trk_msg m;
    ssize_t r = recv(sock, &m, sizeof m, MSG_DONTWAIT);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return 1; /* EAGAIN: all taken */
    if (r == 0) return 0;
    if (r != (ssize_t)sizeof m || m.magic != TRK_MAGIC) continue;
    m.name[sizeof m.name - 1] = '\0';
    if (m.kind == TRK_TRACK)
      remember(t, m.name);
    else if (m.kind == TRK_UNTRACK)
      forget(t, m.name);
  }
}

static void run(int sock, int death) MPROC__NORETURN;
static void run(int sock, int death) {
  names t = {NULL, 0, 0};
  for (;;) {
    struct pollfd pf[2] = {{sock, POLLIN, 0}, {death, POLLIN, 0}};
    if (poll(pf, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    /* Datagrams first: names tracked just before the program ended are
     * still queued when its death pipe reports the end. */
    if (pf[0].revents & POLLIN) {
      (void)drain(sock, &t);
      continue;
    }
    if (pf[1].revents || pf[0].revents) break; /* the program is gone */
  }
  (void)drain(sock, &t);
  mproc__tracker_sweep(t.v, t.n);
  _exit(0);
}

static void ignore_group_signals(void) {
  static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE,
                             SIGUSR1, SIGUSR2};
  size_t i;
  for (i = 0; i < sizeof sigs / sizeof sigs[0]; i++) signal(sigs[i], SIG_IGN);
}

/* Fork the tracker (start lock held). */
static int start(void) {
  int sv[2], death, rc;
  sigset_t all, old;
  pid_t pid;
  death = mproc__posix_death_fd();
  rc = death < 0 ? MPROC_EOS : mproc__posix_socketpair(SOCK_DGRAM, sv);
  if (rc < 0) return rc;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  pid = fork();
  if (pid == 0) {
    /* The atfork handler dropped the program's state; the tracker keeps
     * the read end of its death pipe. No parent-death signal: it must
     * outlive the program by the moment its sweep takes. */
    mproc__posix_close(sv[0]);
    mproc__posix_default_signals();
    ignore_group_signals();
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    run(sv[1], death);
  }
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  mproc__posix_close(sv[1]);
  if (pid < 0) {
    rc = mproc__posix_err(errno, "fork (resource tracker)");
    mproc__posix_close(sv[0]);
    return rc;
  }
  if (client >= 0) mproc__posix_close(client);
  client = sv[0];
  tracker = pid;
  return 0;
}

/* Reap a tracker of ours that died (so it is no zombie), then start a new
 * one: `client` no longer reaches anyone. */
static int restart(void) {
  int st;
  if (tracker > 0) (void)waitpid(tracker, &st, WNOHANG);
  tracker = -1;
  return start();
}

int mproc__os_tracker_ensure(void) {
  int rc = 0;
  if (client >= 0) return 0;
  mproc__posix_adopt_early(); /* a spawned child's constructor: the parent's */
  if (client >= 0) return 0;
  /* The tracker sweeps the registry: it must be mapped before the fork. */
  (void)mproc__reg_ready();
  mproc__posix_atfork_init();
  mproc__posix_start_lock();
  if (client < 0) rc = start();
  mproc__posix_start_unlock();
  return rc;
}

static int send_msg(const trk_msg *m) {
  ssize_t r;
  do
    r = send(client, m, sizeof *m, MSG_NOSIGNAL);
  while (r < 0 && errno == EINTR);
  return r == (ssize_t)sizeof *m ? 0 : -1;
}

int mproc__os_track(const char *name, int tracked) {
  trk_msg m;
  int rc;
  rc = mproc__os_tracker_ensure();
  if (rc < 0) return rc;
  memset(&m, 0, sizeof m);
  m.magic = TRK_MAGIC;
  m.kind = tracked ? TRK_TRACK : TRK_UNTRACK;
  strncpy(m.name, name, sizeof m.name - 1);
  if (send_msg(&m) == 0) return 0;
  /* Nobody reads the other end: the tracker was killed. A new one, for
   * this process and the children it starts from now on. */
  mproc__posix_start_lock();
  rc = restart();
  mproc__posix_start_unlock();
  if (rc == 0 && send_msg(&m) != 0)
    rc = mproc__posix_err(errno, "send to the resource tracker");
  if (rc < 0)
    return mproc__err(rc, "the resource tracker cannot be reached and "
                          "could not be restarted: %s",
                      mproc_last_error());
  return 0;
}

int mproc__posix_tracker_fd(void) { return client; }

void mproc__posix_tracker_adopt(int fd) {
  /* A spawned child shares the program's tracker. */
  if (client >= 0 && client != fd) mproc__posix_close(client);
  client = fd;
  tracker = -1;
}
