/* mproc: the Manager — starting its server process, connecting to a
 * remote one, serving forever, shutting down, making proxies, registered
 * types, and passing proxies to children (a kind of the pass list).
 *
 * Start: the parent makes a pipe and starts a Process whose target,
 * mproc__manager_main (registered with MPROC_TASK, so spawn and
 * forkserver find it), opens the server (mgr-server.c) and sends back one
 * message on the pipe: a wire reply whose status is 0 with the address
 * it listens on, or the error with its sentence. The parent waits for it
 * (or the pipe's end of file, if the server died first).
 *
 * Passing a proxy: a child needs the address, the key and the id, more
 * than a pass list entry's name holds, so the proxy writes them into a
 * small "ticket" (a raw byte Array: an arena slot, manager-pass.c) and
 * passes that; before the start it asks the server for a floating hold
 * (HOLD), leases it to the child's pid once the child runs (LEASE), and
 * the child's new proxy takes it over (ADOPT), so the object lives even if
 * the parent frees its proxy at once, and goes if the child dies first. */
#include <stdlib.h>
#include <string.h>

#include "conn-internal.h"
#include "mgr-client.h"
#include "mgr-core.h"
#include "mgr-server.h"
#include "object.h"
#include "tracker.h"

#define KEY_LEN 32
#define MTYPES_MAX 64

struct mproc_manager {
  char address[MPROC_ADDRESS_MAX];
  unsigned char *key;
  size_t key_len;
  mproc_process *proc; /* NULL for a connected (remote) manager */
  int shut;
  int made_path; /* the server made its AF_UNIX address (and its folder) */
};

/* ---- registered types ------------------------------------------------------ */

static const mproc_mtype *mtypes[MTYPES_MAX];
static size_t n_mtypes;

int mproc_manager_register(const mproc_mtype *t) {
  size_t i, n;
  if (t == NULL || t->name == NULL || t->create == NULL || t->call == NULL)
    return mproc__err(MPROC_EINVAL, "manager_register: the type, its name, "
                                    "create or call is NULL");
  n = strlen(t->name);
  if (n == 0) return mproc__err(MPROC_EINVAL, "manager_register: empty name");
  if (n > 64)
    return mproc__err(MPROC_ENAMETOOLONG, "manager_register: \"%.20s...\" is "
                                          "over 64 bytes",
                      t->name);
  for (i = 0; i < n_mtypes; i++) {
    if (mtypes[i] == t) return 0;
    if (strcmp(mtypes[i]->name, t->name) == 0)
      return mproc__err(MPROC_EEXIST, "manager_register: another type is "
                                      "registered as \"%s\"",
                        t->name);
  }
  if (n_mtypes == MTYPES_MAX)
    return mproc__err(MPROC_ERANGE, "manager_register: %d types already",
                      MTYPES_MAX);
  mtypes[n_mtypes++] = t;
  return 0;
}

const mproc_mtype *mproc__mtype_find(const char *name, size_t len) {
  size_t i;
  for (i = 0; i < n_mtypes; i++)
    if (strlen(mtypes[i]->name) == len && memcmp(mtypes[i]->name, name, len) == 0)
      return mtypes[i];
  return NULL;
}

/* ---- the server process ------------------------------------------------------ */

/* The start arguments: b address ("" for none), i family, b key. */
static int encode_args(mproc__mw *w, const mproc_manager_opts *o,
                       const void *key, size_t key_len) {
  mproc__mw_request(w, 0, 0);
  mproc__mw_bytes(w, o->address ? o->address : "",
                  o->address ? strlen(o->address) : 0);
  mproc__mw_int(w, (int64_t)o->family);
  mproc__mw_bytes(w, key, key_len);
  return w->oom ? mproc__err(MPROC_ENOMEM, "manager: out of memory") : 0;
}

static int mproc__manager_main(const void *arg, size_t len) {
  char address[MPROC_ADDRESS_MAX];
  const unsigned char *a, *k;
  size_t al, kl;
  int64_t family;
  mproc__mserver *srv = NULL;
  mproc__mw w = {NULL, 0, 0, 0};
  mproc__mr r;
  mproc_conn *ready = NULL;
  int rc = mproc_inherited(0, MPROC_KIND_CONN, &ready);
  if (rc == 0) rc = mproc__mr_init(&r, arg, len);
  if (rc == 0) rc = mproc__mr_bytes(&r, &a, &al, "address");
  if (rc == 0) rc = mproc__mr_int(&r, &family, "family");
  if (rc == 0) rc = mproc__mr_bytes(&r, &k, &kl, "key");
  if (rc == 0 && al >= sizeof address) rc = MPROC_EINVAL;
  if (rc == 0) {
    memcpy(address, a, al);
    address[al] = '\0';
    rc = mproc__mserver_open(&srv, al ? address : NULL, (int)family, k, kl);
  }
  mproc__mw_reply(&w, rc);
  if (rc == 0) {
    const char *at = mproc__mserver_address(srv);
    mproc__mw_bytes(&w, at, strlen(at));
  } else {
    mproc__mw_bytes(&w, mproc_last_error(), strlen(mproc_last_error()));
  }
  if (ready != NULL && !w.oom) (void)mproc_conn_send(ready, w.buf, w.len);
  mproc_conn_free(ready);
  mproc__mw_free(&w);
  if (rc < 0) return 3;
  mproc__mserver_run(srv);
  mproc__mserver_free(srv);
  return 0;
}
MPROC_TASK(mproc__manager_main);

/* Read the server's first message: its address, or why it failed. */
static int await_ready(mproc_manager *m, mproc_conn *rd, double timeout) {
  void *msg = NULL;
  size_t n = 0;
  const unsigned char *p;
  size_t pl;
  mproc__mr r;
  int rc = mproc_conn_poll(rd, timeout);
  if (rc == 0)
    return mproc__err(MPROC_ETIMEDOUT, "manager: the server did not start "
                                       "in %g s",
                      timeout);
  if (rc > 0) rc = mproc_conn_recv_alloc(rd, &msg, &n);
  if (rc == MPROC_EEOF)
    return mproc__err(MPROC_EBOOTSTRAP, "manager: the server process ended "
                                        "before it listened");
  if (rc == 0) rc = mproc__mr_init(&r, msg, n);
  if (rc == 0) rc = mproc__mr_bytes(&r, &p, &pl, "address");
  if (rc == 0 && r.status < 0)
    rc = mproc__err(r.status, "manager: the server could not start: %.*s",
                    (int)(pl > 300 ? 300 : pl), (const char *)p);
  else if (rc == 0 && pl >= sizeof m->address)
    rc = mproc__err(MPROC_EINVAL, "manager: an address too long");
  else if (rc == 0) {
    memcpy(m->address, p, pl);
    m->address[pl] = '\0';
  }
  mproc_free(msg);
  return rc;
}

static int set_key(mproc_manager *m, const void *key, size_t key_len) {
  m->key = malloc(key ? (key_len ? key_len : 1) : KEY_LEN);
  if (m->key == NULL) return mproc__err(MPROC_ENOMEM, "manager: out of memory");
  if (key == NULL) { /* Python: the process's random authkey */
    m->key_len = KEY_LEN;
    return mproc__os_random(m->key, KEY_LEN);
  }
  if (key_len) memcpy(m->key, key, key_len);
  m->key_len = key_len;
  return 0;
}

static int launch(mproc_manager *m, const mproc_manager_opts *o) {
  mproc_process_opts po = MPROC_PROCESS_OPTS_INIT;
  mproc_conn *rd = NULL, *wr = NULL;
  mproc__mw w = {NULL, 0, 0, 0};
  mproc_pass pass[1];
  int rc = encode_args(&w, o, m->key, m->key_len);
  if (rc == 0) rc = mproc_pipe(MPROC_PIPE_ONE_WAY, &rd, &wr);
  if (rc == 0) {
    pass[0].kind = MPROC_KIND_CONN;
    pass[0].obj = wr;
    po.pass = pass;
    po.n_pass = 1;
    po.method = o->method;
    po.name = "SyncManager";
    /* As Python's manager finalizer at exit: a server the program forgot
     * to shut down ends with it (and never keeps its exit waiting). */
    po.daemon = 1;
    rc = mproc_process_new(&m->proc, mproc__manager_main, w.buf, w.len, &po);
  }
  if (rc == 0) rc = mproc_process_start(m->proc);
  mproc_conn_free(wr); /* the child has its own: its end of file is ours */
  if (rc == 0) rc = await_ready(m, rd, o->timeout);
  if (rc == 0 && o->address == NULL) {
    mproc_family f = MPROC_FAMILY_DEFAULT;
    m->made_path = mproc__addr_resolve(m->address, &f,
                                       (mproc_family)mproc__os_local_family(),
                                       "manager") == 0 &&
                   f == MPROC_AF_UNIX;
  }
  mproc_conn_free(rd);
  mproc__mw_free(&w);
  return rc;
}

/* The server process has ended. A server that stopped removed its
 * generated AF_UNIX path and folder itself; one that was killed could
 * not: the parent removes them (the folder is "<tmp>/mproc-XXXXXX", the
 * path "<folder>/manager", mgr-server.c). */
static void remove_path(mproc_manager *m) {
  if (!m->made_path) return;
  m->made_path = 0;
  mproc__remove_file_and_folder(m->address);
  (void)mproc__track_file(m->address, 0); /* the server tracked it */
}

static int load_opts(mproc_manager_opts *o, const mproc_manager_opts *in,
                     const char *fn) {
  int rc = mproc__opts_load(o, sizeof *o, in, fn, "MPROC_MANAGER_OPTS_INIT");
  if (rc < 0) return rc;
  if (in == NULL) o->timeout = 60;
  if (o->authkey == NULL && o->key_len > 0)
    return mproc__err(MPROC_EINVAL, "%s: authkey is NULL but key_len is %zu",
                      fn, o->key_len);
  if (o->address && (o->address[0] == '\0' ||
                     strlen(o->address) >= MPROC_ADDRESS_MAX))
    return mproc__err(MPROC_EINVAL, "%s: the address is empty or over %d "
                                    "bytes",
                      fn, MPROC_ADDRESS_MAX - 1);
  if (!(o->timeout >= 0))
    return mproc__err(MPROC_EINVAL, "%s: the timeout is negative or NaN", fn);
  return 0;
}

int mproc_manager_start(mproc_manager **out, const mproc_manager_opts *opts) {
  mproc_manager_opts o;
  mproc_manager *m;
  int rc;
  if (out == NULL) return mproc__err(MPROC_EINVAL, "manager_start: out is NULL");
  *out = NULL;
  rc = load_opts(&o, opts, "manager_start");
  if (rc < 0) return rc;
  m = calloc(1, sizeof *m);
  if (m == NULL) return mproc__err(MPROC_ENOMEM, "manager: out of memory");
  rc = set_key(m, o.authkey, o.key_len);
  if (rc == 0) rc = launch(m, &o);
  if (rc < 0) {
    if (m->proc) {
      (void)mproc_process_kill(m->proc);
      (void)mproc_process_join(m->proc, MPROC_FOREVER);
    }
    m->shut = 1;
    mproc_manager_free(m);
    return rc;
  }
  *out = m;
  return 0;
}

int mproc_manager_connect(mproc_manager **out, const char *address,
                          const void *authkey, size_t key_len,
                          double timeout) {
  mproc_manager *m;
  mproc_proxy *p = NULL;
  mproc__mrep rep;
  int rc;
  if (out == NULL || address == NULL)
    return mproc__err(MPROC_EINVAL, "manager_connect: out or address is NULL");
  *out = NULL;
  if (authkey == NULL && key_len > 0)
    return mproc__err(MPROC_EINVAL, "manager_connect: authkey is NULL");
  m = calloc(1, sizeof *m);
  if (m == NULL) return mproc__err(MPROC_ENOMEM, "manager: out of memory");
  snprintf(m->address, sizeof m->address, "%s", address);
  rc = authkey ? set_key(m, authkey, key_len) : 0;
  /* As BaseManager.connect: one round trip proves the server is there. */
  if (rc == 0) rc = mproc__mproxy_connect(&p, address, authkey, key_len, timeout);
  if (rc == 0) {
    mproc__mreq(p, MPROC__OP_PING, 0);
    rc = mproc__mrpc(p, &rep);
    if (rc == 0) mproc__mrep_done(&rep);
  }
  mproc__mproxy_free(p);
  if (rc < 0) {
    mproc_manager_free(m);
    return rc;
  }
  *out = m;
  return 0;
}

int mproc_manager_serve_forever(const mproc_manager_opts *opts) {
  mproc_manager_opts o;
  mproc__mserver *srv;
  int rc = load_opts(&o, opts, "manager_serve_forever");
  if (rc < 0) return rc;
  rc = mproc__mserver_open(&srv, o.address, (int)o.family, o.authkey,
                           o.key_len);
  if (rc < 0) return rc;
  if (o.on_ready) o.on_ready(mproc__mserver_address(srv), o.ready_arg);
  mproc__mserver_run(srv);
  mproc__mserver_free(srv);
  return 0;
}

const char *mproc_manager_address(const mproc_manager *m) {
  return m ? m->address : NULL;
}

const void *mproc_manager_authkey(const mproc_manager *m, size_t *len) {
  if (len) *len = m ? m->key_len : 0;
  return m ? m->key : NULL;
}

long mproc_manager_pid(const mproc_manager *m) {
  return m && m->proc ? mproc_process_pid(m->proc) : 0;
}

int mproc_manager_shutdown(mproc_manager *m) {
  mproc_proxy *p = NULL;
  mproc__mrep rep;
  int rc;
  if (m == NULL) return mproc__err(MPROC_EINVAL, "manager_shutdown: m is NULL");
  if (m->shut) return 0;
  rc = mproc__mproxy_connect(&p, m->address, m->key, m->key_len, 30);
  if (rc == 0) {
    mproc__mreq(p, MPROC__OP_SHUTDOWN, 0);
    rc = mproc__mrpc(p, &rep);
    if (rc == 0) mproc__mrep_done(&rep);
    if (rc == MPROC_EEOF) rc = 0; /* it closed us before the reply went */
  }
  mproc__mproxy_free(p);
  if (rc == MPROC_ENOENT) rc = mproc__err(MPROC_EEOF, "manager: the server is "
                                                      "gone already");
  m->shut = 1;
  if (m->proc) {
    /* A server that does not stop in time (or could not be asked) is
     * ended, as Python's shutdown terminates it after a wait. */
    if (mproc_process_join(m->proc, rc == 0 ? 10 : 0) == MPROC_ETIMEDOUT) {
      (void)mproc_process_kill(m->proc);
      (void)mproc_process_join(m->proc, MPROC_FOREVER);
    } else if (rc < 0 && rc != MPROC_EEOF) {
      /* It had ended already (killed): nobody to ask. */
      rc = mproc__err(MPROC_EEOF, "manager: the server is gone already "
                                  "(its process ended)");
    }
    remove_path(m);
  }
  return rc;
}

void mproc_manager_free(mproc_manager *m) {
  if (m == NULL) return;
  if (m->proc && !m->shut) (void)mproc_manager_shutdown(m);
  mproc_process_free(m->proc);
  free(m->key);
  free(m);
}

/* ---- making proxies ------------------------------------------------------------ */

/* Connect a new proxy and begin its CREATE (the caller adds the type's
 * items, then calls finish). */
static int begin(mproc_manager *m, int type, mproc_proxy **out,
                 const char *fn) {
  int rc;
  if (out == NULL) return mproc__err(MPROC_EINVAL, "%s: out is NULL", fn);
  *out = NULL;
  if (m == NULL) return mproc__err(MPROC_EINVAL, "%s: m is NULL", fn);
  rc = mproc__mproxy_connect(out, m->address, m->key, m->key_len, 60);
  if (rc < 0) return rc;
  (*out)->type = type;
  mproc__mreq(*out, MPROC__OP_CREATE, 0);
  mproc__mw_int(&(*out)->w, type);
  return 0;
}

static int finish(mproc_proxy **out) {
  mproc_proxy *p = *out;
  mproc__mrep rep;
  mproc__mw_item it;
  int rc = mproc__mrpc(p, &rep);
  if (rc == 0) {
    rc = mproc__mr_take(&rep.r, MPROC__MW_REF, &it, "id");
    p->id = it.ref;
    mproc__mrep_done(&rep);
  }
  if (rc < 0) {
    mproc__mproxy_free(p);
    *out = NULL;
  }
  return rc;
}

static int plain(mproc_manager *m, int type, mproc_proxy **out,
                 const char *fn) {
  int rc = begin(m, type, out, fn);
  return rc < 0 ? rc : finish(out);
}

static int with_int(mproc_manager *m, int type, int64_t v, mproc_proxy **out,
                    const char *fn) {
  int rc = begin(m, type, out, fn);
  if (rc < 0) return rc;
  mproc__mw_int(&(*out)->w, v);
  return finish(out);
}

int mproc_manager_dict(mproc_manager *m, mproc_proxy **out) {
  return plain(m, MPROC_PROXY_DICT, out, "manager_dict");
}
int mproc_manager_list(mproc_manager *m, mproc_proxy **out) {
  return plain(m, MPROC_PROXY_LIST, out, "manager_list");
}
int mproc_manager_namespace(mproc_manager *m, mproc_proxy **out) {
  return plain(m, MPROC_PROXY_NAMESPACE, out, "manager_namespace");
}
int mproc_manager_set(mproc_manager *m, mproc_proxy **out) {
  return plain(m, MPROC_PROXY_SET, out, "manager_set");
}
int mproc_manager_lock(mproc_manager *m, mproc_proxy **out) {
  return plain(m, MPROC_PROXY_LOCK, out, "manager_lock");
}
int mproc_manager_rlock(mproc_manager *m, mproc_proxy **out) {
  return plain(m, MPROC_PROXY_RLOCK, out, "manager_rlock");
}
int mproc_manager_event(mproc_manager *m, mproc_proxy **out) {
  return plain(m, MPROC_PROXY_EVENT, out, "manager_event");
}
int mproc_manager_queue(mproc_manager *m, long maxsize, mproc_proxy **out) {
  return with_int(m, MPROC_PROXY_QUEUE, maxsize, out, "manager_queue");
}
int mproc_manager_joinable_queue(mproc_manager *m, long maxsize,
                                 mproc_proxy **out) {
  return with_int(m, MPROC_PROXY_JOINABLE_QUEUE, maxsize, out,
                  "manager_joinable_queue");
}
int mproc_manager_semaphore(mproc_manager *m, long value, mproc_proxy **out) {
  return with_int(m, MPROC_PROXY_SEMAPHORE, value, out, "manager_semaphore");
}
int mproc_manager_bounded_semaphore(mproc_manager *m, long value,
                                    mproc_proxy **out) {
  return with_int(m, MPROC_PROXY_BOUNDED_SEMAPHORE, value, out,
                  "manager_bounded_semaphore");
}
int mproc_manager_barrier(mproc_manager *m, int parties, mproc_proxy **out) {
  return with_int(m, MPROC_PROXY_BARRIER, parties, out, "manager_barrier");
}

int mproc_manager_condition(mproc_manager *m, mproc_proxy *lock,
                            mproc_proxy **out) {
  int rc;
  if (lock && m && strcmp(lock->address, m->address) != 0) {
    if (out) *out = NULL;
    return mproc__err(MPROC_EINVAL, "manager_condition: the lock is of "
                                    "another manager");
  }
  rc = begin(m, MPROC_PROXY_CONDITION, out, "manager_condition");
  if (rc < 0) return rc;
  if (lock)
    mproc__mw_ref(&(*out)->w, lock->id);
  else
    mproc__mw_none(&(*out)->w);
  return finish(out);
}

int mproc_manager_value(mproc_manager *m, char typecode, const void *init,
                        mproc_proxy **out) {
  return mproc_manager_array(m, typecode, 0, init, out);
}

int mproc_manager_array(mproc_manager *m, char typecode, size_t n,
                        const void *init, mproc_proxy **out) {
  int type = n == 0 ? MPROC_PROXY_VALUE : MPROC_PROXY_ARRAY;
  size_t es = mproc_typecode_size(typecode);
  int rc;
  if (es == 0) {
    if (out) *out = NULL;
    return mproc__err(MPROC_EINVAL, "manager_array: '%c' is not a typecode",
                      typecode ? typecode : '?');
  }
  if (n > MPROC__MW_MAX / es) {
    if (out) *out = NULL;
    return mproc__err(MPROC_ERANGE, "manager_array: %zu items is too many", n);
  }
  rc = begin(m, type, out, type == MPROC_PROXY_VALUE ? "manager_value"
                                                     : "manager_array");
  if (rc < 0) return rc;
  (*out)->typecode = typecode;
  mproc__mw_bytes(&(*out)->w, &typecode, 1);
  if (type == MPROC_PROXY_ARRAY) mproc__mw_int(&(*out)->w, (int64_t)n);
  mproc__mw_bytes(&(*out)->w, init, init ? (n ? n : 1) * es : 0);
  return finish(out);
}

int mproc_manager_create(mproc_manager *m, const char *type, const void *arg,
                         size_t len, mproc_proxy **out) {
  int rc;
  if (type == NULL || (arg == NULL && len > 0)) {
    if (out) *out = NULL;
    return mproc__err(MPROC_EINVAL, "manager_create: type or arg is NULL");
  }
  rc = begin(m, MPROC_PROXY_REGISTERED, out, "manager_create");
  if (rc < 0) return rc;
  mproc__mw_bytes(&(*out)->w, type, strlen(type));
  mproc__mw_bytes(&(*out)->w, arg, len);
  return finish(out);
}

int mproc_proxy_call(mproc_proxy *p, const char *method, const void *arg,
                     size_t len, void **out, size_t *out_len) {
  mproc__mrep rep;
  int rc = mproc__mpx_check(p, MPROC__BIT(MPROC_PROXY_REGISTERED),
                            "proxy_call");
  if (rc == 0 && (method == NULL || (arg == NULL && len > 0)))
    rc = mproc__err(MPROC_EINVAL, "proxy_call: method or arg is NULL");
  if (rc < 0) return rc;
  if (out) *out = NULL;
  if (out_len) *out_len = 0;
  mproc__mreq(p, MPROC__OP_CALL, p->id);
  mproc__mw_bytes(&p->w, method, strlen(method));
  mproc__mw_bytes(&p->w, arg, len);
  rc = mproc__mrpc(p, &rep);
  if (rc < 0) return rc;
  if (out == NULL) return mproc__mpx_done(&rep, 0);
  rc = mproc__mpx_copy(&rep, out, out_len);
  if (rc == 0 && out_len && *out_len == 0) {
    mproc_free(*out);
    *out = NULL;
  }
  return mproc__mpx_done(&rep, rc);
}

int mproc_manager_get(mproc_manager *m, const char *name,
                      mproc_proxy_type type, mproc_proxy **out) {
  mproc_proxy *p = NULL;
  mproc__mrep rep;
  mproc__mw_item it;
  int rc = 0;
  if (out) *out = NULL;
  if (m == NULL || name == NULL || out == NULL)
    return mproc__err(MPROC_EINVAL, "manager_get: a NULL argument");
  if (type < MPROC_PROXY_DICT || type >= MPROC_PROXY_REGISTERED ||
      type == MPROC_PROXY_VALUE || type == MPROC_PROXY_ARRAY ||
      type == MPROC_PROXY_BARRIER)
    return mproc__err(MPROC_EINVAL, "manager_get: a %d cannot be made by "
                                    "name",
                      (int)type);
  rc = mproc__mproxy_connect(&p, m->address, m->key, m->key_len, 60);
  if (rc < 0) return rc;
  mproc__mreq(p, MPROC__OP_NAMED, 0);
  mproc__mw_bytes(&p->w, name, strlen(name));
  mproc__mw_int(&p->w, type);
  if (type == MPROC_PROXY_QUEUE || type == MPROC_PROXY_JOINABLE_QUEUE)
    mproc__mw_int(&p->w, 0);
  else if (type == MPROC_PROXY_SEMAPHORE ||
           type == MPROC_PROXY_BOUNDED_SEMAPHORE)
    mproc__mw_int(&p->w, 1);
  else if (type == MPROC_PROXY_CONDITION)
    mproc__mw_none(&p->w);
  rc = mproc__mrpc(p, &rep);
  if (rc == 0) {
    rc = mproc__mr_take(&rep.r, MPROC__MW_REF, &it, "id");
    mproc__mrep_done(&rep);
  }
  /* Take over the floating hold on this connection. */
  if (rc == 0) rc = mproc__mproxy_take(p, MPROC__OP_ADOPT, it.ref, 0);
  if (rc < 0) {
    mproc__mproxy_free(p);
    return rc;
  }
  *out = p;
  return 0;
}
