/* mproc: the child's side — who this process is, the bootstrap message
 * that carries a target to a spawn or forkserver child, and running it.
 *
 * Bootstrap message (little-endian as written by the parent's CPU; parent
 * and child are the same executable on the same machine):
 *   u32 magic, u32 version, i64 parent pid, u32 daemon, u32 start method,
 *   u32 len + name, u32 len + identity, u32 len + task name,
 *   u32 len + the parent's name,
 *   the pass list (pass.c's section), u64 len + argument bytes.
 * The passed handles travel beside the message, the backend's way
 * (mproc__child_received_handles), in the pass list's order.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "platform.h"
#include "process-internal.h"

#define BOOT_MAGIC 0x3142504du /* "MPB1" */
#define BOOT_VERSION 4u

static char current_name[MPROC_NAME_MAX + 1] = "MainProcess";
static char current_identity[MPROC__IDENTITY_MAX];
static long current_parent;
static int current_daemon;
/* The parent as a process object (Python's parent_process()): set when
 * this process becomes a child of the library, dropped in the children of
 * the program's own fork(). Its name is the parent's current_name. */
static mproc_process parent_obj;
static int have_parent;

const char *mproc_current_name(void) { return current_name; }
mproc_process *mproc_parent_process(void) {
  return have_parent ? &parent_obj : NULL;
}
long mproc_parent_pid(void) { return current_parent; }
long mproc_current_pid(void) { return mproc__os_getpid(); }
int mproc__current_is_daemon(void) { return current_daemon; }

void mproc__identity_child(char *out, size_t size, unsigned long n) {
  if (current_identity[0])
    snprintf(out, size, "%s:%lu", current_identity, n);
  else
    snprintf(out, size, "%lu", n);
}

/* Copy at most n bytes of src, up to its NUL, and terminate dst (which
 * has room for n + 1). A loop, not strlen + memcpy: this runs on every
 * child's start path, where each libc routine first called costs the new
 * process a page fault on its code (~1.3 us); the early exit keeps
 * compilers from turning it back into a memcpy call. */
static void copy_str(char *dst, const char *src, size_t n) {
  size_t i = 0;
  for (; i < n && src[i] != '\0'; i++) dst[i] = src[i];
  dst[i] = '\0';
}

/* Who this process is now. `parent_name` may be current_name (fork):
 * it is copied first. The method that started us becomes our default
 * (Python's children keep their parent's context). */
static void become(const char *name, const char *identity, long parent,
                   int daemon, mproc_start_method method,
                   const char *parent_name) {
  copy_str(parent_obj.name, parent_name, sizeof parent_obj.name - 1);
  parent_obj.pid = parent;
  parent_obj.method = MPROC_START_DEFAULT;
  parent_obj.state = MPROC__STARTED;
  parent_obj.is_parent = 1;
  have_parent = 1;
  copy_str(current_name, name, sizeof current_name - 1);
  copy_str(current_identity, identity, sizeof current_identity - 1);
  current_parent = parent;
  current_daemon = daemon;
  mproc__set_child_method(method);
}

/* The target has returned: join our own children as Python's child does
 * before it exits, then hand the code to the backend's _exit. */
static int finish(int code) {
  mproc__pass_release(); /* what the target did not take */
  mproc__exit_children();
  return code;
}

void mproc__child_after_fork(void) {
  if (have_parent) have_parent = 0; /* no store when nothing changes */
  mproc__children_reset_after_fork();
  mproc__conn_reset_after_fork();
}

/* The handles handed over beside the bootstrap message. */
static mproc_handle received[MPROC__HANDLES_MAX];
static size_t n_received;

void mproc__child_received_handles(const mproc_handle *h, size_t n) {
  size_t i;
  if (n > MPROC__HANDLES_MAX) n = MPROC__HANDLES_MAX;
  for (i = 0; i < n; i++) received[i] = h[i];
  n_received = n;
}

int mproc__child_run_fork(void *fork_ctx) {
  mproc_process *p = fork_ctx;
  /* The objects and ends passed, from the copies fork made (checked at
   * start); every other copied end is closed. */
  int rc = mproc__pass_fork_child(p->pass, p->n_pass);
  if (rc < 0) {
    fprintf(stderr, "mproc: process \"%s\": %s\n", p->name,
            mproc_last_error());
    return MPROC__BOOT_EXIT;
  }
  become(p->name, p->identity, p->creator_pid, p->daemon, p->method,
         current_name);
  return finish(p->target(p->arg, p->arg_len));
}

/* ---- encoding ------------------------------------------------------------ */

typedef struct wbuf {
  unsigned char *p;
  size_t n;
} wbuf;

static void put(wbuf *w, const void *src, size_t len) {
  memcpy(w->p + w->n, src, len);
  w->n += len;
}

static void put_u32(wbuf *w, uint32_t v) { put(w, &v, sizeof v); }

static void put_str(wbuf *w, const char *s) {
  uint32_t len = (uint32_t)strlen(s);
  put_u32(w, len);
  put(w, s, len);
}

/* The argument bytes start at a multiple of ARG_ALIGN in the message,
 * which the child reads into malloc'd (so aligned) memory: the target may
 * cast them to any type, as under fork. */
#define ARG_ALIGN 16u

static size_t arg_padding(size_t at) {
  return (ARG_ALIGN - at % ARG_ALIGN) % ARG_ALIGN;
}

int mproc__boot_encode(const mproc_process *p, void **out, size_t *len) {
  const char *task = NULL;
  int64_t parent = mproc__os_getpid();
  uint64_t arg_len = p->arg_len;
  size_t need;
  wbuf w;
  int rc = mproc__task_lookup((mproc_fnptr)p->target, &task);

  if (rc == MPROC_EEXIST) return rc;
  if (task == NULL)
    return mproc__err(MPROC_ENOTREG,
                      "the target of process \"%s\" is not registered: the "
                      "%s start method finds it by name, so add "
                      "MPROC_TASK(your_function) at file scope next to the "
                      "function (or call mproc_task_register)",
                      p->name, mproc_start_method_name(p->method));
  need = 5 * 4 + 8 + 4 * 4 + strlen(p->name) + strlen(p->identity) +
         strlen(task) + strlen(current_name) +
         mproc__pass_encoded_size(p->passing, p->n_pass) + 8 + ARG_ALIGN +
         p->arg_len;
  w.p = calloc(1, need);
  w.n = 0;
  if (w.p == NULL)
    return mproc__err(MPROC_ENOMEM, "out of memory for a %zu-byte "
                                    "bootstrap message",
                      need);
  put_u32(&w, BOOT_MAGIC);
  put_u32(&w, BOOT_VERSION);
  put(&w, &parent, sizeof parent);
  put_u32(&w, (uint32_t)p->daemon);
  put_u32(&w, (uint32_t)p->method);
  put_str(&w, p->name);
  put_str(&w, p->identity);
  put_str(&w, task);
  put_str(&w, current_name);
  w.n += mproc__pass_encode(p->passing, p->n_pass, w.p + w.n);
  put(&w, &arg_len, sizeof arg_len);
  w.n += arg_padding(w.n); /* zeroed by calloc */
  if (p->arg_len) put(&w, p->arg, p->arg_len);
  *out = w.p;
  *len = w.n;
  return 0;
}

/* ---- decoding ------------------------------------------------------------ */

typedef struct rbuf {
  const unsigned char *p;
  size_t n, at;
  int bad;
} rbuf;

static const void *take(rbuf *r, size_t len) {
  const void *at;
  if (r->bad || r->n - r->at < len) {
    r->bad = 1;
    return NULL;
  }
  at = r->p + r->at;
  r->at += len;
  return at;
}

static uint32_t take_u32(rbuf *r) {
  uint32_t v = 0;
  const void *s = take(r, sizeof v);
  if (s) memcpy(&v, s, sizeof v);
  return v;
}

/* Copy a string field into dst (NUL-terminated); too long = bad. */
static void take_str(rbuf *r, char *dst, size_t size) {
  uint32_t len = take_u32(r);
  const void *s;
  if (len >= size) r->bad = 1;
  s = take(r, len);
  if (s == NULL) {
    dst[0] = '\0';
    return;
  }
  copy_str(dst, s, len); /* names hold no NUL; not memcpy: see copy_str */
}

static int bad_message(size_t len) {
  return mproc__err(MPROC_EBOOTSTRAP,
                    "the bootstrap message from the parent is malformed "
                    "(%zu bytes); parent and child must be the same program",
                    len);
}

int mproc__boot_peek_header(const void *msg, size_t len,
                            mproc__boot_peek *out) {
  rbuf r = {msg, len, 0, 0};
  int64_t parent = 0;
  const void *s;
  if (take_u32(&r) != BOOT_MAGIC || take_u32(&r) != BOOT_VERSION)
    return bad_message(len);
  s = take(&r, sizeof parent);
  if (s == NULL) return bad_message(len);
  memcpy(&parent, s, sizeof parent);
  out->parent_pid = (long)parent;
  return 0;
}

/* The pass list: its objects adopted with the handles that came. */
static int take_pass(rbuf *r) {
  size_t used = 0;
  int rc;
  if (r->bad) return 0; /* reported with the rest of the message */
  rc = mproc__pass_decode(r->p + r->at, r->n - r->at, &used, received,
                          n_received);
  r->at += used;
  return rc;
}

int mproc__child_boot(const void *msg, size_t len, int *exitcode) {
  rbuf r = {msg, len, 0, 0};
  char name[MPROC_NAME_MAX + 1], identity[MPROC__IDENTITY_MAX], task[256];
  char parent_name[MPROC_NAME_MAX + 1];
  mproc__boot_peek peek = {0};
  uint32_t daemon, method;
  uint64_t arg_len = 0;
  const void *s, *arg;
  mproc_target target;
  int rc = mproc__boot_peek_header(msg, len, &peek);

  if (rc < 0) return rc;
  take(&r, 16);
  daemon = take_u32(&r);
  method = take_u32(&r);
  take_str(&r, name, sizeof name);
  take_str(&r, identity, sizeof identity);
  take_str(&r, task, sizeof task);
  take_str(&r, parent_name, sizeof parent_name);
  rc = take_pass(&r);
  if (rc < 0) return rc;
  s = take(&r, sizeof arg_len);
  if (s) memcpy(&arg_len, s, sizeof arg_len);
  take(&r, arg_padding(r.at));
  if (r.bad || arg_len != r.n - r.at ||
      mproc_start_method_name((mproc_start_method)method) == NULL) {
    mproc__pass_release();
    return bad_message(len);
  }
  arg = arg_len ? r.p + r.at : NULL;
  rc = mproc__task_clash(task);
  target = rc < 0 ? NULL : (mproc_target)mproc__task_find(task);
  if (target == NULL) mproc__pass_release();
  if (rc < 0) return mproc__err(MPROC_EBOOTSTRAP, "%s", mproc_last_error());
  if (target == NULL)
    return mproc__err(MPROC_EBOOTSTRAP,
                      "process \"%s\": task \"%s\" is not registered in the "
                      "child program; mark it with MPROC_TASK(%s)",
                      name, task, task);
  become(name, identity, peek.parent_pid, daemon != 0,
         (mproc_start_method)method, parent_name);
  *exitcode = finish(target(arg, (size_t)arg_len));
  return 0;
}
