/* mproc: the program's helper process on POSIX (platform.h's helper
 * group) — the mechanism under the resource tracker, whose policy is the
 * common layer's (src/tracker.c).
 *
 * The helper is a small process of its own, not the forkserver: a
 * forkserver that is killed is restarted, and must not take the tracker's
 * list of names with it (Python keeps resource_tracker apart for the same
 * reason). It is forked from the program as a service process (start.c),
 * with every signal back to its default action.
 *
 * Channel: one datagram socket pair. The program keeps the client end
 * (close-on-exec); fork children and the forkserver's children inherit it,
 * spawned children receive it (spawn.c).
 *
 * Lifetime: the helper watches the death pipe of the process that started
 * it, and its recv reports the end once that pipe does (after every
 * datagram queued before). It ignores the signals a terminal or a service
 * manager sends to the whole process group (SIGINT, SIGTERM, SIGHUP,
 * SIGQUIT): they are for the program, and a tracker they killed would leak
 * everything. Dispositions are set before the signal mask is restored, so
 * none of them can arrive in between. No parent-death signal: it must
 * outlive the program by the moment its sweep takes. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "posix.h"

static int client = -1;   /* this process's end, or -1 */
static pid_t helper = -1; /* the helper, when this process started it */

/* ---- in the helper -------------------------------------------------------- */

static int helper_sock = -1, helper_death = -1, helper_ended;

int mproc__os_helper_recv(void *buf, size_t cap) {
  for (;;) {
    struct pollfd pf[2];
    ssize_t r = recv(helper_sock, buf, cap, MSG_DONTWAIT);
    if (r > 0) return (int)r;
    if (r < 0 && errno == EINTR) continue;
    /* Empty (EAGAIN), or no writer is left (0): datagrams first, so names
     * tracked just before the program ended are still taken. */
    if (helper_ended || r == 0) return 0;
    pf[0].fd = helper_sock;
    pf[0].events = POLLIN;
    pf[1].fd = helper_death;
    pf[1].events = POLLIN;
    pf[0].revents = pf[1].revents = 0;
    if (poll(pf, 2, -1) < 0) {
      if (errno == EINTR) continue;
      helper_ended = 1; /* cannot wait: sweep now */
      continue;
    }
    /* The program is gone: take what is queued, then report the end. */
    if (pf[1].revents || (pf[0].revents & ~POLLIN)) helper_ended = 1;
  }
}

/* ---- in the program -------------------------------------------------------- */

static void (*helper_fn)(void);

static void helper_run(int sock, int death, int unused) {
  (void)unused;
  helper_sock = sock;
  helper_death = death;
  helper_fn();
  _exit(0);
}

/* Fork the helper (start lock held). */
static int start(void (*fn)(void)) {
  static const int group[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE,
                              SIGUSR1, SIGUSR2};
  mproc__posix_service svc = {"resource tracker", group,
                              sizeof group / sizeof group[0], 0, helper_run};
  int fd, rc;
  pid_t pid;
  helper_fn = fn;
  rc = mproc__posix_fork_service(&svc, &fd, &pid);
  if (rc < 0) return rc;
  if (client >= 0) mproc__posix_close(client);
  client = fd;
  helper = pid;
  return 0;
}

int mproc__os_helper_start(void (*fn)(void), int how) {
  int rc = 0, st;
  if (how == MPROC__HELPER_IF_NONE) {
    mproc__posix_adopt_early(); /* a spawned child's: the parent's */
    if (client >= 0) return 0;
  }
  mproc__posix_atfork_init();
  mproc__posix_start_lock();
  if (how == MPROC__HELPER_REPLACE || client < 0) {
    /* Reap a helper of ours that died (no zombie): `client` no longer
     * reaches anyone. */
    if (how == MPROC__HELPER_REPLACE && helper > 0)
      (void)waitpid(helper, &st, WNOHANG);
    helper = -1;
    rc = start(fn);
  }
  mproc__posix_start_unlock();
  return rc;
}

int mproc__os_helper_have(void) {
  if (client >= 0) return 1;
  mproc__posix_adopt_early(); /* a spawned child's constructor */
  return client >= 0;
}

int mproc__os_helper_send(const void *msg, size_t n) {
  ssize_t r;
  do
    r = send(client, msg, n, MPROC__POSIX_NOSIGNAL);
  while (r < 0 && errno == EINTR);
  if (r == (ssize_t)n) return 0;
  if (r < 0 && errno != EPIPE && errno != ECONNREFUSED &&
      errno != ECONNRESET && errno != ENOTCONN && errno != EBADF)
    return mproc__posix_err(errno, "send to the resource tracker");
  return 1;
}

int mproc__posix_helper_fd(void) { return client; }

void mproc__posix_helper_adopt(int fd) {
  /* A spawned child shares the program's helper. */
  if (client >= 0 && client != fd) mproc__posix_close(client);
  client = fd;
  helper = -1;
}
