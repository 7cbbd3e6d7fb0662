/* mproc: the manager server's transport — one libuv loop that listens
 * (uv_pipe_t: an AF_UNIX path or a Windows named pipe; uv_tcp_t: TCP),
 * runs each connection's authkey handshake as a small state machine,
 * cuts the byte stream into Python-framed messages and hands requests to
 * the core (mgr-core.c). libuv picks the OS mechanism, so this file is
 * written once for every platform.
 *
 * The handshake is Python 3.12's (auth.c has the blocking form the
 * client runs): we send "#CHALLENGE#{sha256}<40 random bytes>", want
 * "{sha256}" + HMAC-SHA256(key, that message minus its prefix) back and
 * answer "#WELCOME#" or "#FAILURE#"; then the client challenges us the
 * same way. Until it is done a connection may send at most 256 bytes a
 * message and must finish in HS_SECONDS, so a peer without the key can
 * neither make us allocate nor hold a connection open. A longer length
 * header than MPROC__MW_MAX (or 256 during the handshake) ends the
 * connection before anything is allocated. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn-internal.h"
#include "internal.h"
#include "mgr-core.h"
#include "mgr-server.h"
#include "tracker.h"

#define CHALLENGE "#CHALLENGE#"
#define WELCOME "#WELCOME#"
#define FAILURE "#FAILURE#"
#define HS_LIMIT 256
#define HS_SECONDS 20
#define RANDOM_LEN 40

enum { HS_ANSWER, HS_CHALLENGE, HS_VERDICT, HS_READY };

typedef union stream {
  uv_handle_t h;
  uv_stream_t s;
  uv_pipe_t pipe;
  uv_tcp_t tcp;
} stream;

typedef struct cli {
  mproc__mcli core; /* first: the core's pointer is ours */
  stream io;
  uv_timer_t hs_timer;
  struct mproc__mserver *srv;
  struct cli *prev, *next;
  int hs, closing, open_handles;
  unsigned char m[8 + RANDOM_LEN]; /* our challenge's M */
  unsigned char *in;
  size_t in_len, in_cap;
} cli;

struct mproc__mserver {
  uv_loop_t loop;
  stream lis;
  int family, listening;
  mproc__msrv core;
  unsigned char *key;
  size_t key_len;
  char address[MPROC_ADDRESS_MAX];
  char dir[MPROC_ADDRESS_MAX - 16]; /* a generated address's folder, or "" */
  int unlink_path;
  cli *clients;
  int stopped;
};

static int uv_code(int uvrc) {
  switch (uvrc) {
  case UV_EADDRINUSE: return MPROC_EEXIST;
  case UV_ENOENT: return MPROC_ENOENT;
  case UV_EACCES:
  case UV_EPERM: return MPROC_EPERM;
  case UV_ENAMETOOLONG: return MPROC_ENAMETOOLONG;
  case UV_ENOMEM: return MPROC_ENOMEM;
  case UV_EINVAL: return MPROC_EINVAL;
  default: return MPROC_EOS;
  }
}

static int uv_fail(int uvrc, const char *what, const char *address) {
  return mproc__err(uv_code(uvrc), "manager: %s \"%s\": %s", what, address,
                    uv_strerror(uvrc));
}

/* ---- writing --------------------------------------------------------------- */

typedef struct wreq {
  uv_write_t req;
  size_t len;
  unsigned char data[1];
} wreq;

static void written(uv_write_t *req, int status) {
  (void)status; /* a broken connection shows up as a read error */
  free(req->data);
}

static void close_cli(cli *c);

/* Frame and queue one message: 4-byte big-endian length (the long form
 * is never needed: replies stay under MPROC__MW_MAX). */
static void send_framed(cli *c, const void *msg, size_t len) {
  wreq *w;
  uv_buf_t b;
  if (c->closing) return;
  w = malloc(sizeof *w + 4 + len);
  if (w == NULL) {
    close_cli(c);
    return;
  }
  w->data[0] = (unsigned char)(len >> 24);
  w->data[1] = (unsigned char)(len >> 16);
  w->data[2] = (unsigned char)(len >> 8);
  w->data[3] = (unsigned char)len;
  if (len) memcpy(w->data + 4, msg, len);
  w->req.data = w;
  b = uv_buf_init((char *)w->data, (unsigned)(4 + len));
  if (uv_write(&w->req, &c->io.s, &b, 1, written) != 0) {
    free(w);
    close_cli(c);
  }
}

static void core_send(mproc__mcli *core, const void *msg, size_t len) {
  send_framed((cli *)(void *)core, msg, len);
}

/* ---- connections ------------------------------------------------------------ */

static void cli_closed(uv_handle_t *h) {
  cli *c = h->data;
  if (--c->open_handles > 0) return;
  free(c->in);
  free(c);
}

static void close_cli(cli *c) {
  if (c->closing) return;
  c->closing = 1;
  if (c->prev) c->prev->next = c->next;
  else c->srv->clients = c->next;
  if (c->next) c->next->prev = c->prev;
  mproc__mcli_end(&c->core);
  uv_close(&c->io.h, cli_closed);
  uv_close((uv_handle_t *)&c->hs_timer, cli_closed);
}

static void hs_expired(uv_timer_t *t) { close_cli(t->data); }

static int hs_answer(cli *c, const unsigned char *msg, size_t len) {
  unsigned char want[32];
  int ok = len == 8 + 32 && memcmp(msg, "{sha256}", 8) == 0 &&
           mproc__os_hmac(MPROC__HMAC_SHA256, c->srv->key, c->srv->key_len,
                          c->m, sizeof c->m, want) == 32 &&
           mproc__auth_equal(msg + 8, want, 32);
  if (!ok) {
    send_framed(c, FAILURE, sizeof FAILURE - 1);
    return -1;
  }
  send_framed(c, WELCOME, sizeof WELCOME - 1);
  c->hs = HS_CHALLENGE;
  return 0;
}

static int hs_challenge(cli *c, const unsigned char *msg, size_t len) {
  const size_t pre = sizeof CHALLENGE - 1;
  unsigned char out[8 + 32];
  if (len < pre + 8 || memcmp(msg, CHALLENGE, pre) != 0 ||
      memcmp(msg + pre, "{sha256}", 8) != 0)
    return -1;
  if (mproc__os_hmac(MPROC__HMAC_SHA256, c->srv->key, c->srv->key_len,
                     msg + pre, len - pre, out + 8) != 32)
    return -1;
  memcpy(out, "{sha256}", 8);
  send_framed(c, out, sizeof out);
  c->hs = HS_VERDICT;
  return 0;
}

/* One whole message: 0 to go on, -1 to end the connection. */
static int on_message(cli *c, const unsigned char *msg, size_t len) {
  switch (c->hs) {
  case HS_ANSWER:
    return hs_answer(c, msg, len);
  case HS_CHALLENGE:
    return hs_challenge(c, msg, len);
  case HS_VERDICT:
    if (len != sizeof WELCOME - 1 || memcmp(msg, WELCOME, len) != 0) return -1;
    c->hs = HS_READY;
    uv_timer_stop(&c->hs_timer);
    return 0;
  default:
    return mproc__msrv_request(&c->core, msg, len);
  }
}

/* The length of the message at p (n bytes buffered): 1 with *hdr and
 * *body set, 0 when more bytes are needed, -1 when too long. */
static int frame(const cli *c, const unsigned char *p, size_t n, size_t *hdr,
                 size_t *body) {
  uint64_t len = 0;
  size_t i, limit = c->hs == HS_READY ? MPROC__MW_MAX : HS_LIMIT;
  if (n < 4) return 0;
  len = (uint64_t)p[0] << 24 | (uint64_t)p[1] << 16 | (uint64_t)p[2] << 8 | p[3];
  *hdr = 4;
  if (len == 0xffffffffu) { /* Python's long form: 8 more bytes */
    if (n < 12) return 0;
    for (len = 0, i = 4; i < 12; i++) len = len << 8 | p[i];
    *hdr = 12;
  } else if (len & 0x80000000u) {
    return -1; /* a negative length */
  }
  if (len > limit) return -1;
  *body = (size_t)len;
  return 1;
}

static void alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
  cli *c = h->data;
  size_t want = c->in_len + (hint < 65536 ? 65536 : hint);
  if (c->in_cap < want) {
    unsigned char *p = realloc(c->in, want);
    if (p == NULL) {
      *buf = uv_buf_init(NULL, 0);
      return;
    }
    c->in = p;
    c->in_cap = want;
  }
  *buf = uv_buf_init((char *)c->in + c->in_len,
                     (unsigned)(c->in_cap - c->in_len));
}

static void read_cb(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf) {
  cli *c = st->data;
  size_t at = 0, hdr, body;
  int rc = 0;
  (void)buf;
  if (nread < 0) {
    close_cli(c);
    return;
  }
  c->in_len += (size_t)nread;
  while (rc == 0 && !c->closing) {
    rc = frame(c, c->in + at, c->in_len - at, &hdr, &body);
    if (rc <= 0) break;
    if (c->in_len - at - hdr < body) { /* the body is still coming */
      rc = 0;
      break;
    }
    rc = on_message(c, c->in + at + hdr, body);
    at += hdr + body;
  }
  if (rc < 0) {
    close_cli(c);
    return;
  }
  if (c->closing) return;
  if (at > 0) {
    memmove(c->in, c->in + at, c->in_len - at);
    c->in_len -= at;
  }
  /* A message that will not fit: grow to its size once, not by halves. */
  if (frame(c, c->in, c->in_len, &hdr, &body) == 1 && c->in_cap < hdr + body) {
    unsigned char *p = realloc(c->in, hdr + body);
    if (p == NULL) {
      close_cli(c);
      return;
    }
    c->in = p;
    c->in_cap = hdr + body;
  }
}

static int start_cli(struct mproc__mserver *s, cli *c) {
  unsigned char msg[sizeof CHALLENGE - 1 + sizeof c->m];
  int rc;
  c->srv = s;
  mproc__mcli_init(&c->core, &s->core);
  c->io.h.data = c;
  c->hs_timer.data = c;
  uv_timer_init(&s->loop, &c->hs_timer);
  c->open_handles = 2;
  c->next = s->clients;
  if (s->clients) s->clients->prev = c;
  s->clients = c;
  if (s->key == NULL) {
    c->hs = HS_READY;
  } else {
    c->hs = HS_ANSWER;
    memcpy(c->m, "{sha256}", 8);
    rc = mproc__os_random(c->m + 8, RANDOM_LEN);
    if (rc < 0) return -1;
    memcpy(msg, CHALLENGE, sizeof CHALLENGE - 1);
    memcpy(msg + sizeof CHALLENGE - 1, c->m, sizeof c->m);
    send_framed(c, msg, sizeof msg);
    uv_timer_start(&c->hs_timer, hs_expired, HS_SECONDS * 1000, 0);
  }
  return uv_read_start(&c->io.s, alloc_cb, read_cb) == 0 ? 0 : -1;
}

static void on_connection(uv_stream_t *lis, int status) {
  struct mproc__mserver *s = lis->data;
  cli *c;
  int rc;
  if (status < 0 || s->stopped) return;
  c = calloc(1, sizeof *c);
  if (c == NULL) return; /* it stays in the backlog until memory returns */
  rc = s->family == MPROC_AF_INET ? uv_tcp_init(&s->loop, &c->io.tcp)
                                  : uv_pipe_init(&s->loop, &c->io.pipe, 0);
  if (rc == 0) rc = uv_accept(lis, &c->io.s);
  if (rc != 0) {
    c->io.h.data = c;
    c->open_handles = 1;
    uv_close(&c->io.h, cli_closed);
    return;
  }
  if (s->family == MPROC_AF_INET) uv_tcp_nodelay(&c->io.tcp, 1);
  if (start_cli(s, c) < 0) close_cli(c);
}

static void stop(mproc__msrv *core);

/* ---- listening -------------------------------------------------------------- */

static int gen_address(struct mproc__mserver *s) {
  unsigned char r[8];
  char tmp[80];
  size_t n = sizeof tmp;
  uv_fs_t req;
  int rc;
  if (s->family == MPROC_AF_PIPE) {
    rc = mproc__os_random(r, sizeof r);
    if (rc < 0) return rc;
    snprintf(s->address, sizeof s->address,
             "\\\\.\\pipe\\mproc-mgr-%lu-%02x%02x%02x%02x%02x%02x%02x%02x",
             (unsigned long)uv_os_getpid(), r[0], r[1], r[2], r[3], r[4], r[5],
             r[6], r[7]);
    return 0;
  }
  rc = uv_os_tmpdir(tmp, &n);
  if (rc != 0 || n + sizeof "/mproc-XXXXXX/manager" > 100)
    snprintf(tmp, sizeof tmp, "/tmp");
  snprintf(s->dir, sizeof s->dir, "%s/mproc-XXXXXX", tmp);
  rc = uv_fs_mkdtemp(&s->loop, &req, s->dir, NULL); /* mode 0700 */
  if (rc < 0) {
    uv_fs_req_cleanup(&req);
    rc = uv_fail(rc, "mkdtemp", s->dir);
    s->dir[0] = '\0';
    return rc;
  }
  snprintf(s->dir, sizeof s->dir, "%.*s", (int)(sizeof s->dir - 1), req.path);
  uv_fs_req_cleanup(&req);
  snprintf(s->address, sizeof s->address, "%s/manager", s->dir);
  /* Told to the tracker, which removes the path and the folder once the
   * program has ended: a server killed with its parent cannot. */
  rc = mproc__track_file(s->address, 1);
  if (rc < 0) {
    uv_fs_rmdir(&s->loop, &req, s->dir, NULL);
    uv_fs_req_cleanup(&req);
    s->dir[0] = '\0';
  }
  return rc;
}

static int listen_pipe(struct mproc__mserver *s) {
  int rc;
  /* sun_path is 104 bytes on macOS, 108 on Linux: take the smaller. */
  if (s->family == MPROC_AF_UNIX && strlen(s->address) >= 104)
    return mproc__err(MPROC_ENAMETOOLONG, "manager: the AF_UNIX path \"%s\" "
                                          "is over 103 bytes",
                      s->address);
  rc = uv_pipe_init(&s->loop, &s->lis.pipe, 0);
  if (rc != 0) return uv_fail(rc, "uv_pipe_init for", s->address);
  s->listening = 1;
  rc = uv_pipe_bind(&s->lis.pipe, s->address);
  if (rc != 0) return uv_fail(rc, "cannot listen on", s->address);
  s->unlink_path = s->family == MPROC_AF_UNIX;
  return 0;
}

static void tcp_name(struct mproc__mserver *s) {
  struct sockaddr_storage ss;
  char ip[64];
  int len = sizeof ss;
  unsigned port = 0;
  if (uv_tcp_getsockname(&s->lis.tcp, (struct sockaddr *)&ss, &len) != 0)
    return;
  if (ss.ss_family == AF_INET6) {
    uv_ip6_name((struct sockaddr_in6 *)&ss, ip, sizeof ip);
    port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    snprintf(s->address, sizeof s->address, "[%s]:%u", ip, port);
  } else {
    uv_ip4_name((struct sockaddr_in *)&ss, ip, sizeof ip);
    port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    snprintf(s->address, sizeof s->address, "%s:%u", ip, port);
  }
}

static int listen_tcp(struct mproc__mserver *s) {
  char host[MPROC_ADDRESS_MAX], port[8];
  struct addrinfo hints;
  uv_getaddrinfo_t req;
  unsigned p;
  int rc;
  if (mproc__addr_split(s->address, host, sizeof host, &p) < 0)
    return mproc__err(MPROC_EINVAL, "manager: \"%s\" is not host:port",
                      s->address);
  snprintf(port, sizeof port, "%u", p);
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  rc = uv_getaddrinfo(&s->loop, &req, NULL, host, port, &hints);
  if (rc != 0) return uv_fail(rc, "cannot resolve", s->address);
  rc = uv_tcp_init(&s->loop, &s->lis.tcp);
  if (rc == 0) {
    s->listening = 1;
    rc = uv_tcp_bind(&s->lis.tcp, req.addrinfo->ai_addr, 0);
  }
  uv_freeaddrinfo(req.addrinfo);
  if (rc != 0) return uv_fail(rc, "cannot listen on", s->address);
  return 0;
}

int mproc__mserver_open(mproc__mserver **out, const char *address, int family,
                        const void *key, size_t key_len) {
  struct mproc__mserver *s;
  mproc_family f = (mproc_family)family;
  int rc = mproc__addr_resolve(address, &f,
                               (mproc_family)mproc__os_local_family(),
                               "manager");
  *out = NULL;
  if (rc < 0) return rc;
  if (f == MPROC_AF_UNIX && (int)f != mproc__os_local_family())
    return mproc__err(MPROC_ENOTSUP, "manager: AF_UNIX is not on this "
                                     "platform; use a named pipe or TCP");
  if (f == MPROC_AF_PIPE && (int)f != mproc__os_local_family())
    return mproc__err(MPROC_ENOTSUP, "manager: named pipes (AF_PIPE) are "
                                     "Windows only; use AF_UNIX or TCP");
  s = calloc(1, sizeof *s);
  if (s == NULL) return mproc__err(MPROC_ENOMEM, "manager: out of memory");
  mproc__os_server_signals();
  rc = uv_loop_init(&s->loop);
  if (rc != 0) {
    free(s);
    return uv_fail(rc, "uv_loop_init for", address ? address : "");
  }
  s->family = (int)f;
  s->lis.h.data = s;
  mproc__msrv_init(&s->core, &s->loop, core_send, NULL);
  s->core.stop = stop;
  s->core.user = s;
  if (key != NULL) {
    s->key = malloc(key_len ? key_len : 1);
    if (s->key == NULL) rc = mproc__err(MPROC_ENOMEM, "manager: out of memory");
    else if (key_len) memcpy(s->key, key, key_len);
    s->key_len = key_len;
  }
  if (rc == 0 && address == NULL && f != MPROC_AF_INET) rc = gen_address(s);
  else if (rc == 0) snprintf(s->address, sizeof s->address, "%s",
                             address ? address : "127.0.0.1:0");
  if (rc == 0)
    rc = f == MPROC_AF_INET ? listen_tcp(s) : listen_pipe(s);
  if (rc == 0) {
    s->lis.h.data = s;
    rc = uv_listen(&s->lis.s, 128, on_connection);
    if (rc != 0) rc = uv_fail(rc, "cannot listen on", s->address);
  }
  if (rc == 0 && f == MPROC_AF_INET) tcp_name(s);
  if (rc < 0) {
    mproc__mserver_free(s);
    return rc;
  }
  *out = s;
  return 0;
}

const char *mproc__mserver_address(const mproc__mserver *s) {
  return s->address;
}

static void stop(mproc__msrv *core) {
  struct mproc__mserver *s = core->user;
  cli *c;
  if (s->stopped) return;
  s->stopped = 1;
  /* Every connection ends now: its waiting calls get end of file. */
  while ((c = s->clients) != NULL) close_cli(c);
  if (s->listening) uv_close(&s->lis.h, NULL);
  s->listening = 0;
}

int mproc__mserver_run(mproc__mserver *s) {
  uv_run(&s->loop, UV_RUN_DEFAULT);
  return 0;
}

void mproc__mserver_free(mproc__mserver *s) {
  uv_fs_t req;
  if (s == NULL) return;
  stop(&s->core);
  uv_run(&s->loop, UV_RUN_DEFAULT); /* the close callbacks */
  mproc__msrv_free(&s->core);
  uv_run(&s->loop, UV_RUN_DEFAULT); /* the lease sweep's timer closes */
  if (s->unlink_path) {
    uv_fs_unlink(&s->loop, &req, s->address, NULL);
    uv_fs_req_cleanup(&req);
  }
  if (s->dir[0]) {
    uv_fs_rmdir(&s->loop, &req, s->dir, NULL);
    uv_fs_req_cleanup(&req);
    (void)mproc__track_file(s->address, 0);
  }
  uv_loop_close(&s->loop);
  free(s->key);
  free(s);
}
