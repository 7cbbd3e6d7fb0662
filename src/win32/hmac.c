/* mproc: the crypto group on Windows — HMAC from BCrypt (CNG), which has
 * been in Windows since Vista and works under Wine. An empty key is given
 * as one zero byte: HMAC pads a short key with zeros to the block size,
 * so the two are the same key, and BCrypt is spared a zero-length secret. */
#include "win32.h"

#include <bcrypt.h>

int mproc__os_hmac(int alg, const void *key, size_t key_len, const void *msg,
                   size_t len, unsigned char *out) {
  static UCHAR none[1] = {0};
  BCRYPT_ALG_HANDLE a = NULL;
  BCRYPT_HASH_HANDLE h = NULL;
  const wchar_t *id = alg == MPROC__HMAC_SHA256 ? BCRYPT_SHA256_ALGORITHM
                      : alg == MPROC__HMAC_MD5  ? BCRYPT_MD5_ALGORITHM
                                                : NULL;
  ULONG n = alg == MPROC__HMAC_SHA256 ? 32 : 16;
  const unsigned char *p = msg;
  NTSTATUS st;
  int rc = 0;
  if (id == NULL) return mproc__err(MPROC_ENOTSUP, "HMAC: unknown digest");
  if (key_len > 0xffffffffu)
    return mproc__err(MPROC_ERANGE, "HMAC: the authkey is %zu bytes", key_len);
  st = BCryptOpenAlgorithmProvider(&a, id, NULL, BCRYPT_ALG_HANDLE_HMAC_FLAG);
  if (st >= 0)
    st = BCryptCreateHash(a, &h, NULL, 0,
                          key_len ? (PUCHAR)(uintptr_t)key : none,
                          key_len ? (ULONG)key_len : 1, 0);
  while (st >= 0 && len > 0) {
    ULONG chunk = len > 0x40000000u ? 0x40000000u : (ULONG)len;
    st = BCryptHashData(h, (PUCHAR)(uintptr_t)p, chunk, 0);
    p += chunk;
    len -= chunk;
  }
  if (st >= 0) st = BCryptFinishHash(h, out, n, 0);
  if (st < 0)
    rc = mproc__err(alg == MPROC__HMAC_MD5 ? MPROC_ENOTSUP : MPROC_EOS,
                    "HMAC (BCrypt) failed: status 0x%08lx", (unsigned long)st);
  if (h) BCryptDestroyHash(h);
  if (a) BCryptCloseAlgorithmProvider(a, 0);
  return rc < 0 ? rc : (int)n;
}
