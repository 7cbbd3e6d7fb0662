/* mproc: the forkserver start method.
 *
 * mproc_init() forks the server while the program is still single-threaded.
 * A client (the main program, or any of its fork children, which inherit
 * the socket) sends one datagram per child: a small header, and by
 * SCM_RIGHTS three descriptors — its end of a new bootstrap socket, the
 * write end of a status pipe, and the read end of its own death pipe. The
 * server forks; the new child reads its bootstrap message like a spawned
 * child does. The server writes the child's pid (int64) on the status pipe
 * at once, and its wait status (int32) when it ends, then closes the pipe.
 *
 * The server ends with the program: it watches the program's death pipe,
 * and then kills the children it still has. (Its own children get
 * PR_SET_PDEATHSIG on Linux; the server itself must live on for its
 * sweep.)
 *
 * The server is also the program's resource tracker: plain shared memory
 * segments are listed in the program's registry (src/registry.h, mapped
 * before the server was forked), every other shared object is named by a
 * REQ_TRACK datagram when it is created; when the program has ended, the
 * server sweeps both (mproc__shm_sweep_registry and mproc__shm_sweep
 * remove what no live process holds), waiting a few seconds for dying
 * holders to be gone. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "posix.h"

#define REQ_MAGIC 0x31534b46u /* "FKS1" */

typedef struct request {
  uint32_t magic;
  uint32_t kind;   /* REQ_START, or REQ_TRACK with `name` */
  uint32_t direct; /* the requester is the server's own parent */
  uint32_t reserved;
  int64_t requester;
  char name[MPROC_SHM_NAME_MAX + 1];
} request;

enum { REQ_START = 1, REQ_TRACK = 2, REQ_UNTRACK = 3 };

static int server_sock = -1; /* the clients' end */
static long server_parent;   /* the program that started the server */
static int server_failed;

/* ---- the server ---------------------------------------------------------- */

typedef struct child {
  pid_t pid;
  int status_w;
} child;

static int sig_w = -1;
static long server_pid; /* the server's own, for its children's check */

static void on_sigchld(int sig) {
  int saved = errno;
  char c = 0;
  (void)sig;
  if (write(sig_w, &c, 1) < 0) { /* the pipe is full: a wake is pending */
  }
  errno = saved;
}

static int recv_request(int sock, request *req, int fds[3]) {
  char ctl[CMSG_SPACE(3 * sizeof(int))];
  struct iovec iov = {req, sizeof *req};
  struct msghdr msg;
  struct cmsghdr *c;
  ssize_t r;
  memset(&msg, 0, sizeof msg);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = ctl;
  msg.msg_controllen = sizeof ctl;
  do
    r = recvmsg(sock, &msg, 0);
  while (r < 0 && errno == EINTR);
  if (r < 0) return -1;
  c = CMSG_FIRSTHDR(&msg);
  if (r == (ssize_t)sizeof *req && req->magic == REQ_MAGIC &&
      (req->kind == REQ_TRACK || req->kind == REQ_UNTRACK) && c == NULL) {
    req->name[sizeof req->name - 1] = '\0';
    return 2;
  }
  if (r != (ssize_t)sizeof *req || req->magic != REQ_MAGIC || c == NULL ||
      c->cmsg_type != SCM_RIGHTS || c->cmsg_len != CMSG_LEN(3 * sizeof(int))) {
    if (c && c->cmsg_type == SCM_RIGHTS) {
      size_t i, n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      int *got = (int *)(void *)CMSG_DATA(c);
      for (i = 0; i < n; i++) mproc__posix_close(got[i]);
    }
    return 1; /* not ours: ignore */
  }
  memcpy(fds, CMSG_DATA(c), 3 * sizeof(int));
  return 0;
}

/* The names the program created, to sweep when it ends. */
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

static void sweep(names *t) {
  int round;
  size_t i, left = 0;
  /* The program's processes die with it, within moments: retry while
   * holders are still on their way out. */
  for (round = 0; round < 50 && (round == 0 || left > 0); round++) {
    left = (size_t)mproc__shm_sweep_registry();
    for (i = 0; i < t->n; i++) {
      if (t->v[i][0] == '\0') continue;
      if (mproc__shm_sweep(t->v[i]))
        t->v[i][0] = '\0';
      else
        left++;
    }
    if (left) usleep(100000);
  }
}

static void serve_one(int sock, int sig_r, int death, child **kids,
                      size_t *nkids, size_t *cap, names *tracked) {
  request req;
  int fds[3]; /* boot, status_w, requester's death_r */
  int64_t pid64;
  pid_t pid;
  size_t i;
  int r = recv_request(sock, &req, fds);
  if (r == 2) {
    if (req.kind == REQ_TRACK)
      remember(tracked, req.name);
    else
      forget(tracked, req.name);
  }
  if (r != 0) return;
  if (*nkids == *cap) {
    size_t ncap = *cap ? *cap * 2 : 64;
    child *nk = realloc(*kids, ncap * sizeof *nk);
    if (nk == NULL) goto drop;
    *kids = nk;
    *cap = ncap;
  }
  pid = fork();
  if (pid == 0) {
    signal(SIGCHLD, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    signal(SIGPIPE, SIG_DFL);
    mproc__posix_close(sock);
    mproc__posix_close(sig_r);
    mproc__posix_close(sig_w);
    mproc__posix_close(death);
    mproc__posix_close(fds[1]);
    for (i = 0; i < *nkids; i++) mproc__posix_close((*kids)[i].status_w);
    mproc__posix_boot_child(fds[0], fds[2], req.direct != 0, server_pid);
  }
  pid64 = pid;
  if (pid < 0) goto drop; /* the client sees EOF instead of a pid */
  if (write(fds[1], &pid64, sizeof pid64) < 0) {
    /* the client is gone; the child is still reaped */
  }
  (*kids)[*nkids].pid = pid;
  (*kids)[*nkids].status_w = fds[1];
  (*nkids)++;
  mproc__posix_close(fds[0]);
  mproc__posix_close(fds[2]);
  return;
drop:
  for (i = 0; i < 3; i++) mproc__posix_close(fds[i]);
}

static void reap(child *kids, size_t *nkids) {
  int status;
  pid_t pid;
  size_t i;
  while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
    int32_t st = status;
    for (i = 0; i < *nkids; i++) {
      if (kids[i].pid != pid) continue;
      if (write(kids[i].status_w, &st, sizeof st) < 0) {
        /* the client is gone; nothing to tell */
      }
      mproc__posix_close(kids[i].status_w);
      kids[i] = kids[--*nkids];
      break;
    }
  }
}

static void serve(int sock, int death) MPROC__NORETURN;
static void serve(int sock, int death) {
  child *kids = NULL;
  names tracked = {NULL, 0, 0};
  size_t nkids = 0, cap = 0, i;
  int sp[2];
  struct sigaction sa;

  if (mproc__posix_pipe(sp) < 0) _exit(1);
  sig_w = sp[1];
  server_pid = (long)getpid();
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_sigchld;
  sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
  sigaction(SIGCHLD, &sa, NULL);
  /* Ctrl-C is for the program; the server ends when the program does. A
   * client that died must not take the server with it. */
  signal(SIGINT, SIG_IGN);
  signal(SIGPIPE, SIG_IGN);
  for (;;) {
    struct pollfd pf[3] = {{sock, POLLIN, 0}, {sp[0], POLLIN, 0},
                           {death, POLLIN, 0}};
    if (poll(pf, 3, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (pf[1].revents) {
      char buf[64];
      if (read(sp[0], buf, sizeof buf) < 0) { /* drained enough */
      }
      reap(kids, &nkids);
    }
    /* Requests first: names tracked just before the program ended are
     * still queued on the socket when its death pipe reports the end. */
    if (pf[0].revents & POLLIN) {
      serve_one(sock, sp[0], death, &kids, &nkids, &cap, &tracked);
      continue;
    }
    if (pf[2].revents || pf[0].revents) break; /* the program is gone */
  }
  for (i = 0; i < nkids; i++) kill(kids[i].pid, SIGKILL);
  for (i = 0; i < nkids; i++) {
    int st;
    while (waitpid(kids[i].pid, &st, 0) < 0 && errno == EINTR) {
    }
  }
  sweep(&tracked);
  _exit(0);
}

/* ---- the client ---------------------------------------------------------- */

static int start_server(void) {
  int sv[2], death, rc;
  long me = (long)getpid();
  sigset_t all, old;
  pid_t pid;

  /* The server is the tracker: it must map the registry it will sweep. */
  (void)mproc__reg_ready();
  mproc__posix_atfork_init();
  mproc__posix_start_lock();
  death = mproc__posix_death_fd();
  rc = death < 0 ? MPROC_EOS : mproc__posix_socketpair(SOCK_DGRAM, sv);
  if (rc < 0) goto out;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  pid = fork();
  if (pid == 0) {
    /* The atfork handler has dropped the program's state (its death
     * pipe's write end among it). The server keeps a client end for its
     * children, so that they can start processes and track objects too,
     * and watches the program's death pipe (`death`, the read end). No
     * parent-death signal here: the server must outlive the program by
     * the moment its sweep takes. */
    server_sock = sv[0];
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    serve(sv[1], death);
  }
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  mproc__posix_close(sv[1]);
  if (pid < 0) {
    rc = mproc__posix_err(errno, "fork (forkserver)");
    mproc__posix_close(sv[0]);
    goto out;
  }
  server_sock = sv[0];
  server_parent = me;
out:
  mproc__posix_start_unlock();
  return rc;
}

int mproc__posix_forkserver_init(void) {
  int rc;
  if (server_sock >= 0 || server_failed) return 0;
  rc = start_server();
  if (rc < 0) server_failed = 1;
  return rc;
}

static int send_request(long me, int death, int boot, int status_w) {
  request req;
  char ctl[CMSG_SPACE(3 * sizeof(int))];
  struct iovec iov = {&req, sizeof req};
  struct msghdr msg;
  struct cmsghdr *c;
  int fds[3];
  ssize_t r;

  memset(&req, 0, sizeof req);
  req.magic = REQ_MAGIC;
  req.kind = REQ_START;
  req.requester = (int64_t)me;
  /* Only the program that started the server is watched through the
   * parent-death signal chain (child -> server -> program); the children
   * of anyone else (fork children share the server) watch its pipe. */
  req.direct = me == server_parent;
  memset(&msg, 0, sizeof msg);
  memset(ctl, 0, sizeof ctl);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = ctl;
  msg.msg_controllen = sizeof ctl;
  c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof fds);
  fds[0] = boot;
  fds[1] = status_w;
  fds[2] = death;
  memcpy(CMSG_DATA(c), fds, sizeof fds);
  do
    r = sendmsg(server_sock, &msg, 0);
  while (r < 0 && errno == EINTR);
  if (r < 0) return mproc__posix_err(errno, "sendmsg to the forkserver");
  return 0;
}

int mproc__posix_forkserver_start(mproc__os_proc *p, const mproc__start *st) {
  int sv[2] = {-1, -1}, status[2] = {-1, -1}, death, rc;
  size_t sent = 0;

  if (server_sock < 0) {
    rc = mproc__posix_forkserver_init();
    if (server_sock < 0)
      return rc < 0 ? rc
                    : mproc__err(MPROC_EOS, "the forkserver could not be "
                                            "started earlier");
  }
  mproc__posix_start_lock();
  death = mproc__posix_death_fd();
  rc = death < 0 ? MPROC_EOS : mproc__posix_socketpair(SOCK_STREAM, sv);
  if (rc == 0) rc = mproc__posix_pipe(status);
  /* Queue the bootstrap message before asking for the fork, so the new
   * child finds it waiting instead of sleeping until we hear its pid. */
  if (rc == 0)
    rc = mproc__posix_send_boot(sv[0], st, &sent, 0);
  p->owner = getpid();
  if (rc == 0) rc = send_request((long)p->owner, death, sv[1], status[1]);
  mproc__posix_close(sv[1]);
  mproc__posix_close(status[1]);
  mproc__posix_start_unlock();
  if (rc == 0) {
    /* The pid is not waited for: it is read when first asked for
     * (mproc__posix_forkserver_pid). Waiting here would wake this thread
     * once more on every start, while the child is starting, and the
     * wake-up of a sleeping thread on another CPU costs tens of
     * microseconds on a small VM. A server that cannot fork closes the
     * pipe without a pid; join reports that as a bootstrap failure. */
    p->sentinel = p->back = sv[0];
    p->status = status[0];
    rc = mproc__posix_send_boot(sv[0], st, &sent, 1);
    if (rc == 0) return 0;
    if (mproc__posix_forkserver_pid(p) > 0) kill(p->pid, SIGKILL);
  }
  mproc__posix_close(sv[0]);
  mproc__posix_close(status[0]);
  return rc;
}

long mproc__posix_forkserver_pid(mproc__os_proc *p) {
  int64_t pid = 0;
  if (p->pid >= 0) return (long)p->pid;
  /* A copy inherited through fork must not take its parent's reply. */
  if (getpid() != p->owner) return 0;
  if (mproc__posix_read_full(p->status, &pid, sizeof pid) != sizeof pid)
    pid = 0; /* the server did not start it */
  p->pid = (pid_t)pid;
  return (long)p->pid;
}

int mproc__posix_forkserver_status(mproc__os_proc *p) {
  int32_t st = 0;
  ssize_t r;
  if (mproc__posix_forkserver_pid(p) <= 0) {
    p->boot_failed = 1;
    p->exitcode = MPROC__BOOT_EXIT;
    snprintf(p->boot_error, sizeof p->boot_error,
             "the forkserver did not start the child (it may have died or "
             "run out of processes)");
    return 0;
  }
  r = mproc__posix_read_full(p->status, &st, sizeof st);
  if (r < 0) return (int)r;
  if (r != (ssize_t)sizeof st) {
    /* The server died; its children were killed with it. */
    p->exitcode = -SIGKILL;
    return 0;
  }
  p->exitcode = mproc__posix_exitcode(st);
  return 0;
}

void mproc__os_track(const char *name, int tracked) {
  request req;
  ssize_t r;
  if (server_sock < 0) return; /* no tracker: holders still count */
  memset(&req, 0, sizeof req);
  req.magic = REQ_MAGIC;
  req.kind = tracked ? REQ_TRACK : REQ_UNTRACK;
  req.requester = (int64_t)getpid();
  strncpy(req.name, name, sizeof req.name - 1);
  do
    r = send(server_sock, &req, sizeof req, 0);
  while (r < 0 && errno == EINTR);
}

int mproc__posix_forkserver_fd(void) { return server_sock; }

void mproc__posix_forkserver_adopt(int fd) {
  /* A spawned child shares the program's server (and tracker). */
  server_sock = fd;
}
