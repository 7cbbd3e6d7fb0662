/* mproc: the authkey handshake of Python's multiprocessing.connection
 * (3.12 and later), so that either side may be Python.
 *
 * One direction ("deliver" by the side that checks, "answer" by the other):
 *   deliver: "#CHALLENGE#" + M, where M = "{sha256}" + 40 random bytes
 *   answer:  "{sha256}" + HMAC-SHA256(key, M)   (M whole: the tag included)
 *   deliver: "#WELCOME#" or "#FAILURE#"
 * accept delivers then answers; connect answers then delivers. Every
 * handshake message is read with a 256-byte limit, so a peer without the
 * key cannot make us read more than that; a failure ends the handshake at
 * once (nothing else is read) with MPROC_EAUTH.
 *
 * Python 3.11 and older send M as 20 random bytes with no tag and want a
 * raw 16-byte HMAC-MD5 back; a 16- or 20-byte message is taken as that
 * legacy form, as Python 3.12 does, where the backend has MD5
 * (mproc__os_hmac; every backend here has it). The answer side also
 * accepts a challenge tagged {md5}; other tags Python allows (sha384,
 * sha3_*) are refused with a clear MPROC_EAUTH.
 *
 * The MAC comparison takes the same time whatever bytes differ. */
#include <stdio.h>
#include <string.h>

#include "conn-internal.h"
#include "internal.h"

#define CHALLENGE "#CHALLENGE#"
#define WELCOME "#WELCOME#"
#define FAILURE "#FAILURE#"
#define MSG_LIMIT 256
#define RANDOM_LEN 40
#define LEGACY_CHALLENGE 20
#define MD5_LEN 16

/* Equal without an early exit: the time says nothing about where two
 * MACs differ. */
int mproc__auth_equal(const unsigned char *a, const unsigned char *b,
                      size_t n) {
  volatile unsigned char d = 0;
  size_t i;
  for (i = 0; i < n; i++) d |= (unsigned char)(a[i] ^ b[i]);
  return d == 0;
}

/* Receive one handshake message (at most MSG_LIMIT bytes) by `deadline`. */
static int hs_recv(mproc_conn *c, unsigned char *buf, size_t *len,
                   double deadline, const char *what) {
  char why[200];
  double left = mproc__remaining(deadline);
  /* The backend's "no limit" is negative, the public API's MPROC_FOREVER. */
  int rc = mproc_conn_poll(c, left < 0 ? MPROC_FOREVER : left);
  if (rc == 0)
    return mproc__err(MPROC_ETIMEDOUT,
                      "authentication: the peer sent no %s "
                      "in time",
                      what);
  if (rc > 0) rc = mproc_conn_recv(c, buf, MSG_LIMIT, len);
  if (rc == MPROC_EBUFSIZE)
    return mproc__err(MPROC_EAUTH,
                      "authentication: the peer's %s is %zu "
                      "bytes, over the %d-byte limit of a "
                      "handshake message (not the protocol, "
                      "or no authkey on its side)",
                      what, *len, MSG_LIMIT);
  if (rc == MPROC_ESTATE) {
    snprintf(why, sizeof why, "%s", mproc_last_error());
    return mproc__err(MPROC_EAUTH,
                      "authentication: garbage instead of a "
                      "%s: %s",
                      what, why);
  }
  if (rc < 0) {
    snprintf(why, sizeof why, "%s", mproc_last_error());
    return mproc__err(rc, "authentication: waiting for the peer's %s: %s", what,
                      why);
  }
  return 0;
}

static int hs_send(mproc_conn *c, const void *buf, size_t len) {
  char why[200];
  int rc = mproc_conn_send(c, buf, len);
  if (rc < 0) {
    snprintf(why, sizeof why, "%s", mproc_last_error());
    return mproc__err(rc, "authentication: %s", why);
  }
  return 0;
}

static int hmac(int alg, const void *key, size_t key_len, const void *msg,
                size_t len, unsigned char *out) {
  int rc = mproc__os_hmac(alg, key, key_len, msg, len, out);
  if (rc == MPROC_ENOTSUP)
    return mproc__err(MPROC_EAUTH, "authentication: the peer asks for "
                                   "HMAC-MD5 (Python 3.11's legacy "
                                   "handshake), which this build lacks");
  return rc;
}

/* The digest a message names: "{sha256}..." or "{md5}..." (the tag's
 * length in *skip), or a legacy 16/20-byte message (MD5, *skip 0). */
static int digest_of(const unsigned char *m, size_t n, size_t *skip) {
  *skip = 0;
  if (n == LEGACY_CHALLENGE || n == MD5_LEN) return MPROC__HMAC_MD5;
  if (n >= 8 && memcmp(m, "{sha256}", 8) == 0) {
    *skip = 8;
    return MPROC__HMAC_SHA256;
  }
  if (n >= 5 && memcmp(m, "{md5}", 5) == 0) {
    *skip = 5;
    return MPROC__HMAC_MD5;
  }
  return mproc__err(MPROC_EAUTH,
                    "authentication: the %zu-byte message "
                    "names no digest mproc has (it takes "
                    "{sha256}, {md5} and legacy MD5)",
                    n);
}

/* Send a challenge, check the answer, send the verdict. */
static int deliver(mproc_conn *c, const void *key, size_t key_len,
                   double deadline) {
  unsigned char msg[sizeof CHALLENGE - 1 + 8 + RANDOM_LEN];
  unsigned char *m = msg + sizeof CHALLENGE - 1; /* M: "{sha256}" + random */
  unsigned char ans[MSG_LIMIT], want[32];
  size_t len = 0, skip, mlen = 8 + RANDOM_LEN;
  int alg, n, ok;
  int rc = mproc__os_random(m + 8, RANDOM_LEN);
  if (rc < 0) return rc;
  memcpy(msg, CHALLENGE, sizeof CHALLENGE - 1);
  memcpy(m, "{sha256}", 8);
  rc = hs_send(c, msg, sizeof msg);
  if (rc == 0) rc = hs_recv(c, ans, &len, deadline, "answer to our challenge");
  if (rc < 0) return rc;
  alg = digest_of(ans, len, &skip);
  n = alg < 0 ? alg : hmac(alg, key, key_len, m, mlen, want);
  ok =
      n > 0 && len - skip == (size_t)n && mproc__auth_equal(ans + skip, want, (size_t)n);
  if (!ok) {
    (void)mproc_conn_send(c, FAILURE, sizeof FAILURE - 1);
    if (n < 0 && n != MPROC_EAUTH) return n;
    return mproc__err(MPROC_EAUTH, "authentication failed: the peer's "
                                   "answer to our challenge is wrong (it "
                                   "has another authkey, or none)");
  }
  return hs_send(c, WELCOME, sizeof WELCOME - 1);
}

/* Answer the peer's challenge and read its verdict. */
static int answer(mproc_conn *c, const void *key, size_t key_len,
                  double deadline) {
  unsigned char msg[MSG_LIMIT], out[8 + 32];
  const unsigned char *m = msg + sizeof CHALLENGE - 1;
  size_t len = 0, skip, mlen, olen;
  int alg, n;
  int rc = hs_recv(c, msg, &len, deadline, "challenge");
  if (rc < 0) return rc;
  if (len < sizeof CHALLENGE - 1 ||
      memcmp(msg, CHALLENGE, sizeof CHALLENGE - 1) != 0)
    return mproc__err(MPROC_EAUTH,
                      "authentication: the peer sent a %zu-byte "
                      "message that is no challenge (it has no "
                      "authkey, or speaks another protocol)",
                      len);
  mlen = len - (sizeof CHALLENGE - 1);
  if (mlen < LEGACY_CHALLENGE)
    return mproc__err(MPROC_EAUTH,
                      "authentication: the challenge is too "
                      "short (%zu bytes)",
                      mlen);
  alg = digest_of(m, mlen, &skip);
  if (alg < 0) return alg;
  if (skip == 0) { /* legacy: the raw HMAC-MD5 */
    n = hmac(alg, key, key_len, m, mlen, out);
    olen = (size_t)n;
  } else {
    memcpy(out, m, skip); /* the same tag back */
    n = hmac(alg, key, key_len, m, mlen, out + skip);
    olen = skip + (size_t)n;
  }
  if (n < 0) return n;
  rc = hs_send(c, out, olen);
  if (rc == 0) rc = hs_recv(c, msg, &len, deadline, "verdict on our answer");
  if (rc < 0) return rc;
  if (len != sizeof WELCOME - 1 || memcmp(msg, WELCOME, len) != 0)
    return mproc__err(MPROC_EAUTH, "authentication failed: the peer "
                                   "rejected our answer (it has another "
                                   "authkey)");
  return 0;
}

int mproc__auth_server(mproc_conn *c, const void *key, size_t key_len,
                       double deadline) {
  int rc = deliver(c, key, key_len, deadline);
  return rc < 0 ? rc : answer(c, key, key_len, deadline);
}

int mproc__auth_client(mproc_conn *c, const void *key, size_t key_len,
                       double deadline) {
  int rc = answer(c, key, key_len, deadline);
  return rc < 0 ? rc : deliver(c, key, key_len, deadline);
}
