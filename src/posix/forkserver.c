/* mproc: the forkserver start method.
 *
 * mproc_init() forks the server while the program is still single-threaded
 * (after the resource tracker, src/tracker.c on helper.c, a process of its
 * own).
 * A client (the main program, or any of its fork children, which inherit
 * the socket) sends one datagram per child: a small header, and by
 * SCM_RIGHTS three descriptors — its end of a new bootstrap socket, the
 * write end of a status pipe, and the read end of its own death pipe. The
 * server forks; the new child reads its bootstrap message like a spawned
 * child does.
 *
 * Status pipe protocol: 8-byte records (u32 tag, i32 value), each written
 * whole (below PIPE_BUF, so never interleaved): the server writes REC_PID
 * right after the fork and REC_STATUS (the wait status) once it has
 * reaped the child; the child, which keeps the write end, writes its exit
 * code (MPROC__REPORT_EXIT) just before _exit. REC_STATUS means the child
 * is gone — reaped, its holds void — and is what join waits for. The
 * sentinel is the bootstrap socket, whose child end only the child holds
 * (as under spawn): readable when it ended (or reported a bootstrap
 * failure, just before it ends).
 *
 * Server death: a server that was killed is restarted by the next start
 * (a send that nobody receives). Its children live on: they watch the
 * death pipe of the program that asked for them, not the server (no
 * parent-death signal from the server), and their parents learn their
 * end from the status pipe reaching EOF without REC_STATUS — then from the
 * child's own exit record, once its pid is gone.
 *
 * The server ends with the program: it watches the program's death pipe,
 * and then kills the children it still has. */
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

#include <uv.h>

#include "posix.h"

#define REQ_MAGIC 0x32534b46u /* "FKS2" */

typedef struct request {
  uint32_t magic;
  uint32_t kind; /* REQ_START */
  int64_t requester;
} request;

enum { REQ_START = 1 };

/* Status pipe record tags (the child's exit record is MPROC__REPORT_EXIT). */
#define REC_PID 0xfffffffeu
#define REC_STATUS 0xfffffffdu

static int server_sock = -1; /* the clients' end */
static long server_parent;   /* the program that started the server */
static pid_t server_pid = -1; /* when this process started it */

/* ---- the server ---------------------------------------------------------- */

typedef struct child {
  pid_t pid;
  int status_w;
} child;

static int sig_w = -1;

/* mproc_set_forkserver_preload's function: a new server runs it. */
static void (*preload_fn)(void *);
static void *preload_fn_arg;

void mproc__os_set_forkserver_preload(void (*fn)(void *), void *arg) {
  preload_fn = fn;
  preload_fn_arg = arg;
}

static void on_sigchld(int sig) {
  int saved = errno;
  char c = 0;
  (void)sig;
  if (write(sig_w, &c, 1) < 0) { /* the pipe is full: a wake is pending */
  }
  errno = saved;
}

static void put_rec(int fd, uint32_t tag, int32_t v) {
  uint32_t rec[2];
  rec[0] = tag;
  memcpy(&rec[1], &v, sizeof v);
  if (write(fd, rec, sizeof rec) < 0) {
    /* the client is gone; nothing to tell */
  }
}

/* 0 with three descriptors in fds (close-on-exec), 1 for anything else. */
static int recv_request(int sock, request *req, int fds[3]) {
  union {
    char buf[CMSG_SPACE(3 * sizeof(int))];
    struct cmsghdr align;
  } ctl;
  struct iovec iov = {req, sizeof *req};
  struct msghdr msg;
  struct cmsghdr *c;
  ssize_t r;
  memset(&msg, 0, sizeof msg);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = ctl.buf;
  msg.msg_controllen = sizeof ctl.buf;
  r = mproc__posix_recvmsg(sock, &msg);
  if (r < 0) return 1;
  c = CMSG_FIRSTHDR(&msg);
  if (r != (ssize_t)sizeof *req || req->magic != REQ_MAGIC ||
      req->kind != REQ_START || c == NULL || c->cmsg_type != SCM_RIGHTS ||
      c->cmsg_len != CMSG_LEN(3 * sizeof(int))) {
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

static void serve_one(int sock, int sig_r, int death, child **kids,
                      size_t *nkids, size_t *cap) {
  request req;
  int fds[3]; /* boot, status_w, requester's death_r */
  pid_t pid;
  size_t i;
  if (recv_request(sock, &req, fds) != 0) return;
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
    for (i = 0; i < *nkids; i++) mproc__posix_close((*kids)[i].status_w);
    /* Our pid, from ourselves too: a server killed between its fork and
     * its own REC_PID below would leave the parent without it (the first
     * record read wins; both carry the same pid). */
    put_rec(fds[1], REC_PID, (int32_t)getpid());
    /* The child watches the program's death pipe, not us: a server that
     * dies must not take its children along. */
    mproc__posix_boot_child(fds[0], fds[2], 0, 0, fds[1]);
  }
  if (pid < 0) goto drop; /* the client sees EOF instead of a pid */
  put_rec(fds[1], REC_PID, (int32_t)pid);
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
    for (i = 0; i < *nkids; i++) {
      if (kids[i].pid != pid) continue;
      put_rec(kids[i].status_w, REC_STATUS, (int32_t)status);
      mproc__posix_close(kids[i].status_w);
      kids[i] = kids[--*nkids];
      break;
    }
  }
}

static void serve(int sock, int death) MPROC__NORETURN;
static void serve(int sock, int death) {
  child *kids = NULL;
  size_t nkids = 0, cap = 0, i;
  int sp[2];
  struct sigaction sa;
  void (*preload)(void *) = NULL;
  void *preload_arg = NULL;

  if (mproc__posix_pipe(sp) < 0) _exit(1);
  sig_w = sp[1];
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_sigchld;
  sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
  sigaction(SIGCHLD, &sa, NULL);
  /* The crypto set-up every child would repeat (mproc__os_hmac_warm),
   * then the program's hook, once, before any child is forked from us. */
  mproc__os_hmac_warm();
  preload = preload_fn;
  preload_arg = preload_fn_arg;
  if (preload) preload(preload_arg);
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
    if (pf[0].revents & POLLIN) {
      serve_one(sock, sp[0], death, &kids, &nkids, &cap);
      continue;
    }
    if (pf[2].revents || pf[0].revents) break; /* the program is gone */
  }
  for (i = 0; i < nkids; i++) kill(kids[i].pid, SIGKILL);
  _exit(0);
}

/* ---- the client ---------------------------------------------------------- */

/* In the new server: it keeps a client end for its children, so that
 * they can start processes too, and watches the program's death pipe. */
static void server_run(int sock, int death, int client) {
  server_sock = client;
  server_pid = -1;
  serve(sock, death);
}

/* Fork a server (start lock held). Ctrl-C is for the program, and a
 * write to a client that is gone must not end the server. */
static int start_server(void) {
  static const int ignore[] = {SIGINT, SIGPIPE};
  mproc__posix_service svc = {"forkserver", ignore, 2, 1, server_run};
  int fd, rc;
  pid_t pid;
  rc = mproc__posix_fork_service(&svc, &fd, &pid);
  if (rc < 0) return rc;
  if (server_sock >= 0) mproc__posix_close(server_sock);
  server_sock = fd;
  server_parent = (long)getpid();
  server_pid = pid;
  return 0;
}

/* The server we had is gone: reap it if it was ours (no zombie), and
 * start another (start lock held). */
static int restart_server(void) {
  int st;
  if (server_pid > 0 && server_parent == (long)getpid())
    (void)waitpid(server_pid, &st, WNOHANG);
  server_pid = -1;
  return start_server();
}

int mproc__posix_forkserver_init(void) {
  int rc;
  if (server_sock >= 0) return 0;
  mproc__posix_adopt_early();
  if (server_sock >= 0) return 0;
  /* Its children share the program's registry and tracker: the common
   * layer made both before it asks for a server (mproc_init, or the
   * first forkserver start), so that the server hands them down. */
  mproc__posix_atfork_init();
  mproc__posix_start_lock();
  rc = server_sock >= 0 ? 0 : start_server();
  mproc__posix_start_unlock();
  return rc;
}

/* 0 sent; 1 when nobody receives on the server's end (it died); else a
 * code. */
static int send_request(long me, int death, int boot, int status_w) {
  request req;
  union {
    char buf[CMSG_SPACE(3 * sizeof(int))];
    struct cmsghdr align;
  } ctl;
  struct iovec iov = {&req, sizeof req};
  struct msghdr msg;
  struct cmsghdr *c;
  int fds[3];
  ssize_t r;

  memset(&req, 0, sizeof req);
  req.magic = REQ_MAGIC;
  req.kind = REQ_START;
  req.requester = (int64_t)me;
  memset(&msg, 0, sizeof msg);
  memset(&ctl, 0, sizeof ctl);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = ctl.buf;
  msg.msg_controllen = sizeof ctl.buf;
  c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof fds);
  fds[0] = boot;
  fds[1] = status_w;
  fds[2] = death;
  memcpy(CMSG_DATA(c), fds, sizeof fds);
  do
    r = sendmsg(server_sock, &msg, MSG_NOSIGNAL);
  while (r < 0 && errno == EINTR);
  if (r >= 0) return 0;
  if (errno == ECONNREFUSED || errno == EPIPE || errno == ENOTCONN ||
      errno == ECONNRESET)
    return 1;
  return mproc__posix_err(errno, "sendmsg to the forkserver");
}

/* One try: 0 started, 1 the server is gone (nothing kept), or a code. */
static int try_start(mproc__os_proc *p, const mproc__start *st) {
  int sv[2] = {-1, -1}, status[2] = {-1, -1}, death, rc;
  size_t sent = 0;

  mproc__posix_start_lock();
  rc = server_sock >= 0 ? 0 : start_server();
  death = rc < 0 ? -1 : mproc__posix_death_fd();
  if (rc == 0) rc = death < 0 ? MPROC_EOS : mproc__posix_socketpair(SOCK_STREAM, sv);
  if (rc == 0) rc = mproc__posix_pipe(status);
  /* Queue the bootstrap message before asking for the fork, so the new
   * child finds it waiting instead of sleeping until we hear its pid. */
  if (rc == 0) rc = mproc__posix_send_boot(sv[0], st, &sent, 0);
  p->owner = getpid();
  if (rc == 0) rc = send_request((long)p->owner, death, sv[1], status[1]);
  mproc__posix_close(sv[1]);
  mproc__posix_close(status[1]);
  /* After those closes: a new server must not hold this request's ends. */
  if (rc == 1) (void)restart_server(); /* retried by the caller */
  mproc__posix_start_unlock();
  if (rc == 0) {
    /* The pid is not waited for: it is read when first asked for
     * (mproc__posix_forkserver_pid). A server that cannot fork closes the
     * pipe without a pid; join reports that as a bootstrap failure. */
    p->sentinel = p->back = sv[0];
    p->status = status[0];
    rc = mproc__posix_send_boot(sv[0], st, &sent, 1);
    if (rc == 0) return 0;
    if (mproc__posix_forkserver_pid(p) > 0) kill(p->pid, SIGKILL);
  }
  mproc__posix_close(sv[0]);
  mproc__posix_close(status[0]);
  p->sentinel = p->back = p->status = -1;
  return rc;
}

int mproc__posix_forkserver_start(mproc__os_proc *p, const mproc__start *st) {
  int rc;
  if (server_sock < 0) {
    rc = mproc__posix_forkserver_init();
    if (rc < 0) return rc;
  }
  rc = try_start(p, st);
  if (rc == 1) rc = try_start(p, st); /* on the restarted server */
  if (rc == 1)
    rc = mproc__err(MPROC_EOS, "the forkserver died and its replacement "
                               "did not take the request");
  return rc;
}

/* Take one record from the status pipe into p; 0 at EOF. */
static int take_record(mproc__os_proc *p) {
  uint32_t rec[2];
  int32_t v;
  ssize_t r = mproc__posix_read_full(p->status, rec, sizeof rec);
  if (r < 0) return (int)r;
  if (r != (ssize_t)sizeof rec) return 0;
  memcpy(&v, &rec[1], sizeof v);
  if (rec[0] == REC_PID && p->pid < 0) p->pid = (pid_t)v;
  if (rec[0] == REC_STATUS) {
    p->status_seen = 1;
    p->wait_status = v;
  }
  if (rec[0] == MPROC__REPORT_EXIT) {
    p->exit_reported = 1;
    p->exit_record = v;
  }
  return 1;
}

long mproc__posix_forkserver_pid(mproc__os_proc *p) {
  if (p->pid >= 0) return (long)p->pid;
  /* A copy inherited through fork must not take its parent's reply. */
  if (getpid() != p->owner) return 0;
  while (p->pid < 0)
    if (take_record(p) <= 0) break;
  if (p->pid < 0) p->pid = 0; /* the server did not start it */
  return (long)p->pid;
}

int mproc__posix_forkserver_status(mproc__os_proc *p) {
  int r;
  if (mproc__posix_forkserver_pid(p) <= 0) {
    p->boot_failed = 1;
    p->exitcode = MPROC__BOOT_EXIT;
    snprintf(p->boot_error, sizeof p->boot_error,
             "the forkserver did not start the child (it may have died or "
             "run out of processes)");
    return 0;
  }
  /* The sentinel is ready: the child has ended or is about to. Its wait
   * status comes once the server has reaped it. */
  while (!p->status_seen && (r = take_record(p)) != 0)
    if (r < 0) return r;
  if (p->status_seen) {
    p->exitcode = mproc__posix_exitcode(p->wait_status);
    return 0;
  }
  /* EOF without a status: the server died, and the child has closed its
   * end of the pipe — it is exiting, reparented. Gone means gone: wait for
   * its pid to end (moments), then take its own exit record. */
  while (mproc__os_pid_alive((long)p->pid)) uv_sleep(1);
  p->exitcode = p->exit_reported ? (int)p->exit_record
                                 : -SIGKILL; /* killed; by what is lost */
  return 0;
}

int mproc__posix_forkserver_fd(void) { return server_sock; }

void mproc__posix_forkserver_adopt(int fd) {
  /* A spawned child shares the program's server. */
  server_sock = fd;
  server_pid = -1;
}
