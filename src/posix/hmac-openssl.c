/* mproc: the crypto group on Linux (and other POSIX systems but macOS) —
 * HMAC from OpenSSL's libcrypto (HMAC(), in OpenSSL 1.1 and 3, not
 * deprecated), which also gives the MD5 of Python 3.11's legacy
 * handshake. */
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "../internal.h"
#include "../platform.h"

int mproc__os_hmac(int alg, const void *key, size_t key_len, const void *msg,
                   size_t len, unsigned char *out) {
  static const unsigned char none[1] = {0};
  unsigned int n = 0;
  const EVP_MD *md = alg == MPROC__HMAC_SHA256 ? EVP_sha256()
                     : alg == MPROC__HMAC_MD5  ? EVP_md5()
                                               : NULL;
  if (md == NULL) return mproc__err(MPROC_ENOTSUP, "HMAC: unknown digest");
  if (key_len > 0x7fffffff)
    return mproc__err(MPROC_ERANGE, "HMAC: the authkey is %zu bytes", key_len);
  /* An empty key: a valid pointer all the same. */
  if (HMAC(md, key_len ? key : none, (int)key_len, msg, len, out, &n) == NULL)
    return mproc__err(alg == MPROC__HMAC_MD5 ? MPROC_ENOTSUP : MPROC_EOS,
                      "HMAC (OpenSSL) failed%s",
                      alg == MPROC__HMAC_MD5 ? ": no MD5 (FIPS mode?)" : "");
  return (int)n;
}

void mproc__os_hmac_warm(void) {
  unsigned char out[32];
  (void)mproc__os_hmac(MPROC__HMAC_SHA256, "", 0, "", 0, out);
}
