/* mproc: a proxy in a pass list (MPROC_KIND_PROXY, pass.c's kind table).
 *
 * A child needs the server's address, the authkey and the object's id:
 * more than a pass entry's segment name carries. So the parent writes them
 * into a small "ticket", a raw byte Array (shared memory's small-object
 * path: an arena slot, docs/arenas.md, unless address and key pass 1888
 * bytes, when it is a segment of its own, owner-only like every one), and
 * the entry passes the ticket with the generic one-object hooks (the
 * child's hold on it is taken at start like any object's; a child gives
 * it back once it has read it, so only children starting at the same
 * time hold it together: more than 15 pin its slot, arena.c).
 * Before the start, the parent also asks the server for a floating hold on
 * the object (HOLD); the child's new proxy takes it over (ADOPT), so the
 * object lives while the child starts even if the parent drops its proxy
 * at once, as Python's arguments keep objects alive. Once the child's pid
 * is known (the hold hook) the parent leases that hold to it (LEASE): a
 * child that dies before it adopts leaves a lease the server drops when
 * it sees the pid gone (mgr-lease.c).
 *
 * Ticket layout: a wire request (mgr-wire.h) with op 0, the id, then
 * b address, b key. A fork child describes its parent's list again
 * (pass.c's fork path) and must not talk to the server on the parent's
 * connection: the hold is asked for only in the process that made the
 * proxy. */
#include <string.h>

#include "mgr-client.h"
#include "object.h"

static int make_ticket(mproc_proxy *p) {
  mproc__mw w = {NULL, 0, 0, 0};
  mproc_value_opts vo = MPROC_VALUE_OPTS_INIT;
  int rc;
  mproc__mw_request(&w, 0, p->id);
  mproc__mw_bytes(&w, p->address, strlen(p->address));
  mproc__mw_bytes(&w, p->key, p->key_len);
  if (w.oom) {
    mproc__mw_free(&w);
    return mproc__err(MPROC_ENOMEM, "manager: out of memory for a ticket");
  }
  vo.raw = 1;
  rc = mproc_array_new(&p->ticket, 'c', w.len + 4, NULL, &vo);
  if (rc == 0) {
    unsigned char *b = mproc_array_ptr(p->ticket);
    b[0] = (unsigned char)w.len;
    b[1] = (unsigned char)(w.len >> 8);
    b[2] = (unsigned char)(w.len >> 16);
    b[3] = (unsigned char)(w.len >> 24);
    memcpy(b + 4, w.buf, w.len);
  }
  mproc__mw_free(&w);
  return rc;
}

static int proxy_pass(const void *h, mproc__pass_seg *segs, size_t *nseg) {
  mproc_proxy *p = (mproc_proxy *)(uintptr_t)h;
  mproc__mrep rep;
  int rc = 0;
  if (p->pid == mproc_current_pid()) {
    if (p->conn == NULL || p->id == 0)
      return mproc__err(MPROC_ECLOSED, "pass: the proxy has no object");
    if (p->ticket == NULL) rc = make_ticket(p);
    if (rc < 0) return rc;
    mproc__mreq(p, MPROC__OP_HOLD, p->id);
    rc = mproc__mrpc(p, &rep);
    if (rc < 0) return rc;
    mproc__mrep_done(&rep);
  }
  if (p->ticket == NULL)
    return mproc__err(MPROC_ESTATE, "pass: the proxy was never passed by "
                                    "the process that made it");
  *nseg = 1;
  return mproc__obj_pass((const mproc__obj *)p->ticket, segs);
}

static void proxy_hold(const void *h, long pid) {
  mproc_proxy *p = (mproc_proxy *)(uintptr_t)h;
  mproc__mrep rep;
  if (p->ticket) mproc__obj_hold_for((mproc__obj *)p->ticket, pid);
  /* An old server answers LEASE with MPROC_EINVAL: the hold then floats
   * until it stops, as before. */
  if (p->pid == mproc_current_pid() && p->conn && p->id && pid > 0) {
    mproc__mreq(p, MPROC__OP_LEASE, p->id);
    mproc__mw_int(&p->w, pid);
    if (mproc__mrpc(p, &rep) == 0) mproc__mrep_done(&rep);
  }
}

static int read_ticket(const unsigned char *b, size_t cap, uint32_t *id,
                       char *address, const unsigned char **key,
                       size_t *key_len) {
  size_t len = (size_t)b[0] | (size_t)b[1] << 8 | (size_t)b[2] << 16 |
               (size_t)b[3] << 24;
  const unsigned char *a;
  size_t al;
  mproc__mr r;
  int rc = len <= cap - 4 ? mproc__mr_init(&r, b + 4, len) : MPROC_EINVAL;
  if (rc == 0) rc = mproc__mr_bytes(&r, &a, &al, "address");
  if (rc == 0) rc = mproc__mr_bytes(&r, key, key_len, "key");
  if (rc == 0 && al >= MPROC_ADDRESS_MAX) rc = MPROC_EINVAL;
  if (rc < 0)
    return mproc__err(MPROC_EBOOTSTRAP, "pass: a malformed proxy ticket");
  memcpy(address, a, al);
  address[al] = '\0';
  *id = r.id;
  return 0;
}

static int proxy_adopt(void **out, const mproc__pass_seg *segs, size_t nseg) {
  char address[MPROC_ADDRESS_MAX];
  const unsigned char *key = NULL;
  size_t key_len = 0;
  uint32_t id = 0;
  mproc_array *t = NULL;
  mproc_proxy *p = NULL;
  int rc;
  *out = NULL;
  if (nseg != 1)
    return mproc__err(MPROC_EBOOTSTRAP, "a passed manager proxy came as "
                                        "%zu objects", nseg);
  rc = mproc__kind_adopt(MPROC__KIND_ARRAY, &t, segs);
  if (rc < 0) return rc;
  rc = mproc_array_len(t) >= 4
           ? read_ticket(mproc_array_ptr(t), mproc_array_len(t), &id,
                         address, &key, &key_len)
           : mproc__err(MPROC_EBOOTSTRAP, "pass: a malformed proxy ticket");
  /* A test kills the child here: before it opens the proxy. */
  if (rc == 0 && mproc__fault("proxy.adopt")) rc = MPROC_EBOOTSTRAP;
  if (rc == 0) rc = mproc__mproxy_adopt(address, key, key_len, id, &p);
  mproc_array_free(t);
  if (rc == 0) *out = p;
  return rc;
}

static void proxy_free(void *h) { mproc_proxy_free(h); }

const mproc__kind_ops mproc__proxy_ops = {
    MPROC_KIND_PROXY, sizeof(mproc_proxy), NULL,     proxy_pass,
    proxy_hold,       proxy_adopt,         proxy_free};
