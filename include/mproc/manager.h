/** mproc: the Manager — a server process that owns shared objects (dict,
 * list, Namespace, Value, Array, set, the queues, the sync kinds, and
 * types a program registers) and proxies that use them, one round trip
 * per call. multiprocessing.Manager, BaseManager and their proxies.
 *
 * @code
 *   mproc_manager *m;
 *   mproc_manager_start(&m, NULL);                 // a server process
 *   mproc_proxy *d;
 *   mproc_manager_dict(m, &d);
 *   mproc_dict_set(d, "1", 1, "one", 3);
 *   mproc_pass pass[] = {MPROC_PASS(d)};           // a child gets it
 *   ...
 *   mproc_proxy_free(d);
 *   mproc_manager_free(m);                         // shuts the server down
 * @endcode
 *
 * The server listens on an address (a fresh AF_UNIX path, or named pipe
 * on Windows, unless the options give one; "host:port" for TCP) and lets
 * in only a peer with its authkey (Python's HMAC-SHA256 challenge, both
 * ways). Another program that knows the address and the key connects
 * with mproc_manager_connect() (BaseManager.connect) and opens proxies by
 * id with mproc_proxy_open(). A standalone server program calls
 * mproc_manager_serve_forever().
 *
 * Each proxy has its own connection to the server, so a call that blocks
 * (a lock's acquire, a queue's get) holds up no other proxy; the server
 * serves every connection at once on a libuv loop, and a waiting call's
 * reply goes out when its condition holds or its timeout passes. If the
 * server shuts down or dies, a call returns MPROC_EEOF. Objects live while
 * a proxy or a containing object holds them; a connection that ends (its
 * process died) drops its holds and the locks it owned.
 *
 * Values in dict, list, Namespace, set and queue are byte strings; a
 * dict or list value may also be another proxy (mproc_dict_set_proxy),
 * held by its container and released with it. The wire format is in
 * docs/manager-protocol.md; the security model in docs/manager.md.
 *
 * Errors common to every proxy call: MPROC_EINVAL (a NULL argument, a
 * proxy of another type: the sentence names both), MPROC_EEOF (the
 * server is gone), MPROC_ENOENT (the object was freed), MPROC_ENOMEM.
 * Thread-safety: a proxy may be shared by threads (calls on one proxy
 * are serialised); the manager handle too.
 * @file
 */
#ifndef MPROC_MANAGER_H
#define MPROC_MANAGER_H

#include <stddef.h>
#include <stdint.h>

#include "mproc/connection.h"
#include "mproc/export.h"
#include "mproc/futures.h"
#include "mproc/process.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mproc_manager mproc_manager;
typedef struct mproc_proxy mproc_proxy;

/** What a proxy refers to (mproc_proxy_type). */
typedef enum mproc_proxy_type {
  MPROC_PROXY_DICT = 1,
  MPROC_PROXY_LIST,
  MPROC_PROXY_NAMESPACE,
  MPROC_PROXY_VALUE,
  MPROC_PROXY_ARRAY,
  MPROC_PROXY_SET,
  MPROC_PROXY_QUEUE,
  MPROC_PROXY_JOINABLE_QUEUE,
  MPROC_PROXY_LOCK,
  MPROC_PROXY_RLOCK,
  MPROC_PROXY_SEMAPHORE,
  MPROC_PROXY_BOUNDED_SEMAPHORE,
  MPROC_PROXY_CONDITION,
  MPROC_PROXY_EVENT,
  MPROC_PROXY_BARRIER,
  MPROC_PROXY_REGISTERED /**< a type from mproc_manager_register() */
} mproc_proxy_type;

/** Called by mproc_manager_serve_forever() once the server listens. */
typedef void (*mproc_manager_ready_fn)(const char *address, void *arg);

/** Manager options; start from MPROC_MANAGER_OPTS_INIT. */
typedef struct mproc_manager_opts {
  size_t size;               /**< sizeof(mproc_manager_opts) */
  const char *address;       /**< NULL: a fresh local address */
  mproc_family family;       /**< MPROC_FAMILY_DEFAULT: from the address */
  const void *authkey;       /**< NULL: 32 random bytes (start) */
  size_t key_len;
  mproc_start_method method; /**< how the server process starts */
  double timeout;            /**< start: seconds to wait for the server */
  mproc_manager_ready_fn on_ready; /**< serve_forever: listening */
  void *ready_arg;
} mproc_manager_opts;

#define MPROC_MANAGER_OPTS_INIT                                                \
  { sizeof(mproc_manager_opts), NULL, MPROC_FAMILY_DEFAULT, NULL, 0,          \
    MPROC_START_DEFAULT, 60.0, NULL, NULL }

/** Byte strings for update/extend calls and the snapshots. */
typedef struct mproc_bytes {
  const void *data;
  size_t len;
} mproc_bytes;

/** A snapshot of byte strings (keys, items, a slice); free it with
 *  mproc_items_free(). */
typedef struct mproc_items mproc_items;

/* ---- the manager ------------------------------------------------------- */

/**
 * Start a server process (Manager(); BaseManager.start) and wait until it
 * listens. The server's target is registered by the library, so every
 * start method works.
 * Errors: MPROC_EINVAL (out NULL, bad opts: the sentence says which),
 * MPROC_ETIMEDOUT (the server did not come up in opts.timeout),
 * MPROC_EBOOTSTRAP (it failed to start or to listen: the sentence is the
 * server's), the Listener's address errors, MPROC_ENOMEM.
 * Thread-safety: safe. Ownership: free with mproc_manager_free().
 */
MPROC_EXTERN int mproc_manager_start(mproc_manager **out,
                                     const mproc_manager_opts *opts);

/**
 * Connect to a running server at `address` with `authkey` (a remote
 * manager: BaseManager.connect). The handle makes proxies like a started
 * one; freeing it leaves the server running.
 * Errors: as mproc_client_connect() (MPROC_EAUTH for a wrong key,
 * MPROC_ENOENT for nobody there), MPROC_EINVAL.
 * Thread-safety: safe. Ownership: free with mproc_manager_free().
 */
MPROC_EXTERN int mproc_manager_connect(mproc_manager **out, const char *address,
                                       const void *authkey, size_t key_len,
                                       double timeout);

/**
 * Serve in this process until a client asks for shutdown
 * (Server.serve_forever): for a standalone server program.
 * opts.on_ready is called with the address once it listens. On POSIX the
 * calling process ignores SIGPIPE from then on (a peer that hangs up must
 * be a write error for the server, not the end of the program).
 * Errors: MPROC_EINVAL (bad opts), the Listener's address errors.
 * Thread-safety: safe. Ownership: nothing kept.
 */
MPROC_EXTERN int mproc_manager_serve_forever(const mproc_manager_opts *opts);

/** The address proxies connect to (NULL if m is NULL). Thread-safety:
 *  safe. Ownership: owned by m.
 *  Errors: the common ones. */
MPROC_EXTERN const char *mproc_manager_address(const mproc_manager *m);
/** The authkey (NULL if m is NULL); its length in *len. Thread-safety:
 *  safe. Ownership: owned by m.
 *  Errors: the common ones. */
MPROC_EXTERN const void *mproc_manager_authkey(const mproc_manager *m,
                                               size_t *len);

/** The server process's pid for a started manager, 0 for a connected one
 *  (or m NULL). Thread-safety: safe.
 *  Errors: the common ones. */
MPROC_EXTERN long mproc_manager_pid(const mproc_manager *m);

/**
 * Ask the server to stop (any authkey holder may), and for a started one
 * wait for its process to end. Blocked calls of every client return
 * MPROC_EEOF. A second shutdown returns 0. For a started server with a
 * generated AF_UNIX address, the address and its private folder are
 * removed here if the server could not (it was killed).
 * Errors: MPROC_EINVAL (m NULL), MPROC_EEOF (the server was gone already).
 * Thread-safety: safe.
 */
MPROC_EXTERN int mproc_manager_shutdown(mproc_manager *m);

/** Free the handle; a started server is shut down first (as leaving
 *  Python's `with Manager()`). NULL is a no-op. Thread-safety: not with
 *  other calls on m.
 *  Errors: the common ones. */
MPROC_EXTERN void mproc_manager_free(mproc_manager *m);

/* ---- making proxies ---------------------------------------------------- */

/**
 * Make an object on the server and a proxy for it. Each of these is one
 * connection and one round trip. value/array: typecode as mproc's
 * ('i', 'd', ...: mproc_typecode_size), `init` the first value(s) (NULL:
 * zeros). queue: maxsize 0 or less is no limit. semaphore: value >= 0.
 * condition: `lock` a Lock or RLock proxy of the same manager to share
 * (NULL: its own RLock). barrier: parties >= 1.
 * Errors: MPROC_EINVAL (NULL m or out, bad typecode, negative value,
 * parties < 1, a lock of another manager), MPROC_EEOF, connect errors.
 * Thread-safety: safe. Ownership: free *out with mproc_proxy_free().
 */
MPROC_EXTERN int mproc_manager_dict(mproc_manager *m, mproc_proxy **out);
/** @copydoc mproc_manager_dict */
MPROC_EXTERN int mproc_manager_list(mproc_manager *m, mproc_proxy **out);
/** @copydoc mproc_manager_dict */
MPROC_EXTERN int mproc_manager_namespace(mproc_manager *m, mproc_proxy **out);
/** @copydoc mproc_manager_dict */
MPROC_EXTERN int mproc_manager_set(mproc_manager *m, mproc_proxy **out);
/** @copydoc mproc_manager_dict */
MPROC_EXTERN int mproc_manager_value(mproc_manager *m, char typecode,
                                     const void *init, mproc_proxy **out);
/** @copydoc mproc_manager_dict */
MPROC_EXTERN int mproc_manager_array(mproc_manager *m, char typecode, size_t n,
                                     const void *init, mproc_proxy **out);
/** @copydoc mproc_manager_dict */
MPROC_EXTERN int mproc_manager_queue(mproc_manager *m, long maxsize,
                                     mproc_proxy **out);
/** @copydoc mproc_manager_dict */
MPROC_EXTERN int mproc_manager_joinable_queue(mproc_manager *m, long maxsize,
                                              mproc_proxy **out);
/** @copydoc mproc_manager_dict */
MPROC_EXTERN int mproc_manager_lock(mproc_manager *m, mproc_proxy **out);
/** @copydoc mproc_manager_dict */
MPROC_EXTERN int mproc_manager_rlock(mproc_manager *m, mproc_proxy **out);
/** @copydoc mproc_manager_dict */
MPROC_EXTERN int mproc_manager_semaphore(mproc_manager *m, long value,
                                         mproc_proxy **out);
/** @copydoc mproc_manager_dict */
MPROC_EXTERN int mproc_manager_bounded_semaphore(mproc_manager *m, long value,
                                                 mproc_proxy **out);
/** @copydoc mproc_manager_dict */
MPROC_EXTERN int mproc_manager_condition(mproc_manager *m, mproc_proxy *lock,
                                         mproc_proxy **out);
/** @copydoc mproc_manager_dict */
MPROC_EXTERN int mproc_manager_event(mproc_manager *m, mproc_proxy **out);
/** @copydoc mproc_manager_dict */
MPROC_EXTERN int mproc_manager_barrier(mproc_manager *m, int parties,
                                       mproc_proxy **out);

/**
 * The object the server keeps under `name`, made on first use: every
 * client that asks for the name gets a proxy of the same object (the
 * pattern of BaseManager.register('get_queue', callable=lambda: queue)
 * for a remote manager). The name holds the object until the server
 * stops. Types with constructor arguments get Python's defaults: a queue
 * without limit, a semaphore of 1, a Condition with its own RLock; Value,
 * Array, Barrier and registered types cannot be made by name.
 * Errors: MPROC_EINVAL (NULL, a name of 0 or over 255 bytes, a type that
 * cannot be made by name, the name holds another type), the common ones.
 * Thread-safety: safe. Ownership: free *out with mproc_proxy_free().
 */
MPROC_EXTERN int mproc_manager_get(mproc_manager *m, const char *name,
                                   mproc_proxy_type type, mproc_proxy **out);

/* ---- registered types (BaseManager.register) --------------------------- */

/** A type the server serves by name: plain C functions that run in the
 *  server, on its loop thread (never block in them). */
typedef struct mproc_mtype {
  const char *name; /**< what clients ask for; at most 64 bytes */
  /** Make the state from the client's argument bytes: 0 or an MPROC_E*
   *  code. */
  int (*create)(void **state, const void *arg, size_t len);
  /** Run `method` (NUL-terminated) with the argument bytes; the result
   *  goes into `out` (mproc_buf_write; mproc_task_fail for a code with a
   *  sentence). Return 0 or an MPROC_E* code. */
  int (*call)(void *state, const char *method, const void *arg, size_t len,
              mproc_buf *out);
  void (*destroy)(void *state); /**< when the last hold goes; may be NULL */
} mproc_mtype;

/**
 * Register a type under type->name for every server this program runs
 * (its pointer is kept). A spawned server is this program started again:
 * register before mproc_init(), or at load time with
 * MPROC_MANAGER_TYPE(), so that the server process has it too.
 * Errors: MPROC_EINVAL (NULL, no name or functions), MPROC_ENAMETOOLONG,
 * MPROC_EEXIST (another type has the name), MPROC_ERANGE (64 types).
 * Thread-safety: call before starting managers.
 */
MPROC_EXTERN int mproc_manager_register(const mproc_mtype *type);

/** Register `t` (an mproc_mtype variable) at load time. File scope. */
#define MPROC_MANAGER_TYPE(t)                                                  \
  static void mproc__register_type_##t(void) __attribute__((constructor));     \
  static void mproc__register_type_##t(void) {                                 \
    (void)mproc_manager_register(&(t));                                        \
  }                                                                            \
  struct mproc__type_semicolon_##t

/**
 * Make an object of a registered type with argument bytes, and a proxy.
 * Errors: MPROC_ENOENT (the server has no such type), create's code,
 * the common ones. Ownership: free *out with mproc_proxy_free().
 * Thread-safety: safe.
 */
MPROC_EXTERN int mproc_manager_create(mproc_manager *m, const char *type,
                                      const void *arg, size_t len,
                                      mproc_proxy **out);

/**
 * Call `method` of a registered type's object; the result bytes in *out
 * (*out_len), NULL when empty.
 * Errors: the method's code with its sentence, the common ones.
 * Thread-safety: safe. Ownership: free *out with mproc_free().
 */
MPROC_EXTERN int mproc_proxy_call(mproc_proxy *p, const char *method,
                                  const void *arg, size_t len, void **out,
                                  size_t *out_len);

/* ---- any proxy --------------------------------------------------------- */

/**
 * Open a proxy for object `id` of the server at `address` (a program that
 * got the three from elsewhere); it takes a hold of its own.
 * Errors: MPROC_ENOENT (no such object), connect errors, MPROC_EINVAL.
 * Thread-safety: safe. Ownership: free with mproc_proxy_free().
 */
MPROC_EXTERN int mproc_proxy_open(mproc_proxy **out, const char *address,
                                  const void *authkey, size_t key_len,
                                  uint32_t id, double timeout);

/** The object's id on its server (0 if p is NULL). Thread-safety: safe. Errors: the common ones. */
MPROC_EXTERN uint32_t mproc_proxy_id(const mproc_proxy *p);
/** The object's type (0 if p is NULL). Thread-safety: safe. Errors: the common ones. */
MPROC_EXTERN mproc_proxy_type mproc_proxy_type_of(const mproc_proxy *p);
/** The server's address (NULL if p is NULL). Thread-safety: safe.
 *  Ownership: owned by p.
 *  Errors: the common ones. */
MPROC_EXTERN const char *mproc_proxy_address(const mproc_proxy *p);

/**
 * End this handle's use (the lifecycle verb _close): its connection to
 * the server is closed, so a call of this proxy blocked in another thread
 * (a queue's get, a lock's acquire, a barrier's wait) returns
 * MPROC_ECLOSED at once, and every later call MPROC_ECLOSED. The server
 * then drops what the connection held: its hold on the object, its
 * waiting call (a Barrier it waited in breaks) and, unlike closing a
 * native Lock handle, the locks it owned, as for a process that ended.
 * Other proxies of the object are unaffected. Closing twice is 0; the
 * handle stays valid until mproc_proxy_free().
 * Errors: MPROC_EINVAL (p NULL).
 * Thread-safety: safe, also while another thread is inside a call on p
 * (the way to end its wait).
 */
MPROC_EXTERN int mproc_proxy_close(mproc_proxy *p);

/** Drop the proxy's hold and its connection (closing it if needed), and
 *  free it. NULL is a no-op. Thread-safety: not with other calls on p.
 *  Errors: the common ones. */
MPROC_EXTERN void mproc_proxy_free(mproc_proxy *p);

/* ---- snapshots --------------------------------------------------------- */

/** How many byte strings (0 for NULL). Thread-safety: safe. Errors: the common ones. */
MPROC_EXTERN size_t mproc_items_count(const mproc_items *it);
/** The i-th; MPROC_ERANGE past the end, MPROC_EINVAL for NULL.
 *  Ownership: owned by it. Thread-safety: safe.
 *  Errors: the common ones. */
MPROC_EXTERN int mproc_items_get(const mproc_items *it, size_t i,
                                 const void **data, size_t *len);
/** Free a snapshot; NULL is a no-op. Errors: the common ones. Thread-safety: safe. */
MPROC_EXTERN void mproc_items_free(mproc_items *it);

/* ---- dict (byte keys, byte or proxy values) ---------------------------- */

/** d[key] = value. Errors: the common ones. Thread-safety: safe. */
MPROC_EXTERN int mproc_dict_set(mproc_proxy *d, const void *key, size_t klen,
                                const void *value, size_t vlen);
/** d[key] = the object of proxy `value` (the dict holds it).
 *  Errors: MPROC_EINVAL (a proxy of another server). Thread-safety: safe. */
MPROC_EXTERN int mproc_dict_set_proxy(mproc_proxy *d, const void *key,
                                      size_t klen, const mproc_proxy *value);
/** d[key] into *value (*vlen), or MPROC_ENOENT (KeyError); MPROC_ESTATE
 *  when the value is a proxy (use mproc_dict_get_proxy).
 *  Ownership: free *value with mproc_free(). Thread-safety: safe. */
MPROC_EXTERN int mproc_dict_get(mproc_proxy *d, const void *key, size_t klen,
                                void **value, size_t *vlen);
/** A new proxy for the object d[key] holds; MPROC_ENOENT, MPROC_ESTATE
 *  (bytes there). Ownership: mproc_proxy_free(*out). Thread-safety: safe.
 *  Errors: the common ones. */
MPROC_EXTERN int mproc_dict_get_proxy(mproc_proxy *d, const void *key,
                                      size_t klen, mproc_proxy **out);
/** del d[key]; MPROC_ENOENT. Thread-safety: safe. Errors: the common ones. */
MPROC_EXTERN int mproc_dict_delete(mproc_proxy *d, const void *key,
                                   size_t klen);
/** 1 if key in d, 0 if not, or an error. Thread-safety: safe. */
MPROC_EXTERN int mproc_dict_contains(mproc_proxy *d, const void *key,
                                     size_t klen);
/** len(d) into *n. Thread-safety: safe. Errors: the common ones. */
MPROC_EXTERN int mproc_dict_len(mproc_proxy *d, size_t *n);
/** A snapshot of the keys, in insertion order. Ownership:
 *  mproc_items_free(*out). Thread-safety: safe.
 *  Errors: the common ones. */
MPROC_EXTERN int mproc_dict_keys(mproc_proxy *d, mproc_items **out);
/** A snapshot of the values (a proxy value comes as empty bytes). Errors: the common ones. Thread-safety: safe. */
MPROC_EXTERN int mproc_dict_values(mproc_proxy *d, mproc_items **out);
/** A snapshot of key, value, key, value, ... (2 * len items). Errors: the common ones. Thread-safety: safe. */
MPROC_EXTERN int mproc_dict_items(mproc_proxy *d, mproc_items **out);
/** d.update(): `pairs` holds n keys and values, alternating (2n
 *  entries), all stored in one round trip. Thread-safety: safe.
 *  Errors: the common ones. */
MPROC_EXTERN int mproc_dict_update(mproc_proxy *d, const mproc_bytes *pairs,
                                   size_t n);
/** d.pop(key): the value into *value and removed; MPROC_ENOENT.
 *  Ownership: mproc_free(*value). Thread-safety: safe.
 *  Errors: the common ones. */
MPROC_EXTERN int mproc_dict_pop(mproc_proxy *d, const void *key, size_t klen,
                                void **value, size_t *vlen);
/** d.setdefault(key, dflt): the value now at key into *value.
 *  Ownership: mproc_free(*value). Thread-safety: safe.
 *  Errors: the common ones. */
MPROC_EXTERN int mproc_dict_setdefault(mproc_proxy *d, const void *key,
                                       size_t klen, const void *dflt,
                                       size_t dlen, void **value,
                                       size_t *vlen);
/** d.clear(). Thread-safety: safe. Errors: the common ones. */
MPROC_EXTERN int mproc_dict_clear(mproc_proxy *d);

/* ---- list -------------------------------------------------------------- */

/** l.append(value). Thread-safety: safe. Errors: the common ones. */
MPROC_EXTERN int mproc_list_append(mproc_proxy *l, const void *value,
                                   size_t len);
/** l.append(the object of proxy `value`); the list holds it. Errors: the common ones. Thread-safety: safe. */
MPROC_EXTERN int mproc_list_append_proxy(mproc_proxy *l,
                                         const mproc_proxy *value);
/** l.extend(values[0..n-1]) in one round trip. Thread-safety: safe. Errors: the common ones. */
MPROC_EXTERN int mproc_list_extend(mproc_proxy *l, const mproc_bytes *values,
                                   size_t n);
/** l[i] (negative from the end) into *value; MPROC_ERANGE (IndexError),
 *  MPROC_ESTATE (a proxy there). Ownership: mproc_free(*value).
 *  Thread-safety: safe. */
MPROC_EXTERN int mproc_list_get(mproc_proxy *l, long i, void **value,
                                size_t *len);
/** A new proxy for the object l[i] holds. Ownership: mproc_proxy_free. Errors: the common ones. Thread-safety: safe. */
MPROC_EXTERN int mproc_list_get_proxy(mproc_proxy *l, long i,
                                      mproc_proxy **out);
/** l[i] = value; MPROC_ERANGE. Thread-safety: safe. Errors: the common ones. */
MPROC_EXTERN int mproc_list_set(mproc_proxy *l, long i, const void *value,
                                size_t len);
/** l[start:stop] (Python's clamping, negative from the end) as a
 *  snapshot. Ownership: mproc_items_free(*out). Thread-safety: safe.
 *  Errors: the common ones. */
MPROC_EXTERN int mproc_list_slice(mproc_proxy *l, long start, long stop,
                                  mproc_items **out);
/** l[start:stop] = values[0..n-1] (n 0: del l[start:stop]). Errors: the common ones. Thread-safety: safe. */
MPROC_EXTERN int mproc_list_set_slice(mproc_proxy *l, long start, long stop,
                                      const mproc_bytes *values, size_t n);
/** l.pop(i) into *value; MPROC_ERANGE. Ownership: mproc_free(*value). Errors: the common ones. Thread-safety: safe. */
MPROC_EXTERN int mproc_list_pop(mproc_proxy *l, long i, void **value,
                                size_t *len);
/** l.insert(i, value) (Python's clamping). Thread-safety: safe. Errors: the common ones. */
MPROC_EXTERN int mproc_list_insert(mproc_proxy *l, long i, const void *value,
                                   size_t len);
/** len(l) into *n. Thread-safety: safe. Errors: the common ones. */
MPROC_EXTERN int mproc_list_len(mproc_proxy *l, size_t *n);
/** l.index(value) into *i; MPROC_ENOENT (ValueError). Thread-safety: safe. */
MPROC_EXTERN int mproc_list_index(mproc_proxy *l, const void *value,
                                  size_t len, size_t *i);
/** l.count(value) into *n. Thread-safety: safe. Errors: the common ones. */
MPROC_EXTERN int mproc_list_count(mproc_proxy *l, const void *value,
                                  size_t len, size_t *n);
/** l.remove(value): the first equal item; MPROC_ENOENT. Errors: the common ones. Thread-safety: safe. */
MPROC_EXTERN int mproc_list_remove(mproc_proxy *l, const void *value,
                                   size_t len);
/** l.reverse(), in place. Thread-safety: safe. Errors: the common ones. */
MPROC_EXTERN int mproc_list_reverse(mproc_proxy *l);
/** mproc_list_sort flag: l.sort(reverse=True). */
#define MPROC_LIST_SORT_REVERSE 1u
/** l.sort(): in place, by bytes compare (memcmp order, a prefix before a
 *  longer string: Python's bytes order), stable (equal items keep their
 *  order, also with MPROC_LIST_SORT_REVERSE). A list holding a proxy does
 *  not sort: MPROC_EINVAL (Python's TypeError), the list unchanged.
 *  Errors: MPROC_EINVAL (unknown flags). Thread-safety: safe. */
MPROC_EXTERN int mproc_list_sort(mproc_proxy *l, unsigned flags);

/* ---- Namespace --------------------------------------------------------- */

/** ns.name = value (name: 1 to 255 bytes, not starting with '_', as
 *  Python's proxy refuses). Errors: MPROC_EINVAL. Thread-safety: safe. */
MPROC_EXTERN int mproc_ns_set(mproc_proxy *ns, const char *name,
                              const void *value, size_t len);
/** ns.name into *value; MPROC_ENOENT (AttributeError).
 *  Ownership: mproc_free(*value). Thread-safety: safe. */
MPROC_EXTERN int mproc_ns_get(mproc_proxy *ns, const char *name, void **value,
                              size_t *len);
/** del ns.name; MPROC_ENOENT. Thread-safety: safe. Errors: the common ones. */
MPROC_EXTERN int mproc_ns_delete(mproc_proxy *ns, const char *name);

/* ---- Value and Array (typed as mproc's typecodes) ---------------------- */

/** value.value into `out` (mproc_typecode_size bytes). Errors: the common ones. Thread-safety: safe. */
MPROC_EXTERN int mproc_mvalue_get(mproc_proxy *v, void *out);
/** value.value = *in. Thread-safety: safe. Errors: the common ones. */
MPROC_EXTERN int mproc_mvalue_set(mproc_proxy *v, const void *in);
/** The typecode of a Value or Array proxy ('\0' if not one). Errors: the common ones. Thread-safety: safe. */
MPROC_EXTERN char mproc_mvalue_typecode(mproc_proxy *v);
/** len(array) into *n. Thread-safety: safe. Errors: the common ones. */
MPROC_EXTERN int mproc_marray_len(mproc_proxy *a, size_t *n);
/** a[start:start+n] into out; MPROC_ERANGE past the end. Errors: the common ones. Thread-safety: safe. */
MPROC_EXTERN int mproc_marray_read(mproc_proxy *a, size_t start, size_t n,
                                   void *out);
/** a[start:start+n] = in; MPROC_ERANGE past the end. Errors: the common ones. Thread-safety: safe. */
MPROC_EXTERN int mproc_marray_write(mproc_proxy *a, size_t start, size_t n,
                                    const void *in);

/* ---- set (Python 3.14's set proxy) ------------------------------------- */

/** s.add(item). Thread-safety: safe. Errors: the common ones. */
MPROC_EXTERN int mproc_set_add(mproc_proxy *s, const void *item, size_t len);
/** s.discard(item). Errors: the common ones. Thread-safety: safe. */
MPROC_EXTERN int mproc_set_discard(mproc_proxy *s, const void *item,
                                   size_t len);
/** s.remove(item); MPROC_ENOENT (KeyError). Thread-safety: safe. */
MPROC_EXTERN int mproc_set_remove(mproc_proxy *s, const void *item,
                                  size_t len);
/** 1 if item in s, 0 if not, or an error. Thread-safety: safe. */
MPROC_EXTERN int mproc_set_contains(mproc_proxy *s, const void *item,
                                    size_t len);
/** len(s) into *n. Errors: the common ones. Thread-safety: safe. */
MPROC_EXTERN int mproc_set_len(mproc_proxy *s, size_t *n);
/** A snapshot of the items. Ownership: mproc_items_free(*out). Errors: the common ones. Thread-safety: safe. */
MPROC_EXTERN int mproc_set_items(mproc_proxy *s, mproc_items **out);
/** s.pop() into *item; MPROC_ENOENT when empty. Ownership: mproc_free. Errors: the common ones. Thread-safety: safe. */
MPROC_EXTERN int mproc_set_pop(mproc_proxy *s, void **item, size_t *len);
/** s.clear(). Errors: the common ones. Thread-safety: safe. */
MPROC_EXTERN int mproc_set_clear(mproc_proxy *s);

/* ---- Queue and JoinableQueue ------------------------------------------- */

/** q.put(item, timeout): MPROC_EFULL when still full at the timeout
 *  (MPROC_FOREVER: wait; 0: do not). Thread-safety: safe.
 *  Errors: the common ones. */
MPROC_EXTERN int mproc_mqueue_put(mproc_proxy *q, const void *item, size_t len,
                                  double timeout);
/** q.get(timeout) into *item; MPROC_EEMPTY at the timeout.
 *  Ownership: mproc_free(*item). Thread-safety: safe.
 *  Errors: the common ones. */
MPROC_EXTERN int mproc_mqueue_get(mproc_proxy *q, double timeout, void **item,
                                  size_t *len);
/** q.qsize() into *n. Errors: the common ones. Thread-safety: safe. */
MPROC_EXTERN int mproc_mqueue_qsize(mproc_proxy *q, size_t *n);
/** JoinableQueue.task_done(); MPROC_ESTATE (ValueError) when called more
 *  often than items were put.
 *  Thread-safety: safe. */
MPROC_EXTERN int mproc_mqueue_task_done(mproc_proxy *q);
/** JoinableQueue.join(timeout): until every item is done;
 *  MPROC_ETIMEDOUT.
 *  Errors: the common ones. Thread-safety: safe. */
MPROC_EXTERN int mproc_mqueue_join(mproc_proxy *q, double timeout);

/* ---- the sync kinds ---------------------------------------------------- */

/** Acquire a Lock, RLock, Semaphore, BoundedSemaphore or a Condition's
 *  lock: 0, or MPROC_ETIMEDOUT (MPROC_FOREVER: wait; 0: try). A lock
 *  whose owner's connection ends is released by the server.
 *  Thread-safety: safe.
 *  Errors: the common ones. */
MPROC_EXTERN int mproc_mlock_acquire(mproc_proxy *l, double timeout);
/** Release: MPROC_ESTATE (not held), MPROC_EPERM (an RLock this
 *  connection does not own), MPROC_ERANGE (a BoundedSemaphore over its
 *  initial value).
 *  Errors: the common ones. Thread-safety: safe. */
MPROC_EXTERN int mproc_mlock_release(mproc_proxy *l);
/** 1 if a Lock/RLock is held (a semaphore: its value is 0), 0 if not. Errors: the common ones. Thread-safety: safe. */
MPROC_EXTERN int mproc_mlock_locked(mproc_proxy *l);
/** A Semaphore's value into *v. Errors: the common ones. Thread-safety: safe. */
MPROC_EXTERN int mproc_msem_value(mproc_proxy *s, long *v);
/** Condition.wait(timeout): the lock must be held (MPROC_EPERM); 1 if
 *  notified, 0 at the timeout, the lock held again either way.
 *  Errors: the common ones. Thread-safety: safe. */
MPROC_EXTERN int mproc_mcond_wait(mproc_proxy *c, double timeout);
/** Condition.notify(n) (n < 0: notify_all); the lock must be held. Errors: the common ones. Thread-safety: safe. */
MPROC_EXTERN int mproc_mcond_notify(mproc_proxy *c, int n);
/** Event.set(). Errors: the common ones. Thread-safety: safe. */
MPROC_EXTERN int mproc_mevent_set(mproc_proxy *e);
/** Event.clear(). Errors: the common ones. Thread-safety: safe. */
MPROC_EXTERN int mproc_mevent_clear(mproc_proxy *e);
/** 1 if set, 0 if not. Errors: the common ones. Thread-safety: safe. */
MPROC_EXTERN int mproc_mevent_is_set(mproc_proxy *e);
/** Event.wait(timeout): 1 once set, 0 at the timeout. Errors: the common ones. Thread-safety: safe. */
MPROC_EXTERN int mproc_mevent_wait(mproc_proxy *e, double timeout);
/** Barrier.wait(timeout): this party's index (0..parties-1), or
 *  MPROC_EBROKEN (reset, aborted, timed out: a timeout breaks it).
 *  Errors: the common ones. Thread-safety: safe. */
MPROC_EXTERN int mproc_mbarrier_wait(mproc_proxy *b, double timeout);
/** Barrier.reset(): waiters get MPROC_EBROKEN. Errors: the common ones. Thread-safety: safe. */
MPROC_EXTERN int mproc_mbarrier_reset(mproc_proxy *b);
/** Barrier.abort(). Errors: the common ones. Thread-safety: safe. */
MPROC_EXTERN int mproc_mbarrier_abort(mproc_proxy *b);
/** parties, n_waiting and broken of a Barrier (any may be NULL). Errors: the common ones. Thread-safety: safe. */
MPROC_EXTERN int mproc_mbarrier_info(mproc_proxy *b, int *parties,
                                     int *n_waiting, int *broken);

#ifdef __cplusplus
}
#endif
#endif
