/* mproc: the crypto group on macOS — HMAC from CommonCrypto (CCHmac, in
 * libSystem: nothing to install, on every macOS since 10.4).
 *
 * zig's macOS headers (the cross-build of ci/macos.sh) carry
 * CommonDigest.h but not CommonHMAC.h, though libSystem exports CCHmac;
 * there the two declarations below, which are Apple's published API and
 * ABI (CommonHMAC.h: kCCHmacAlgMD5 = 1, kCCHmacAlgSHA256 = 2), stand in
 * for the header. A real SDK uses the header. */
#include <stddef.h>
#include <stdint.h>

#if defined(__has_include)
#if __has_include(<CommonCrypto/CommonHMAC.h>)
#include <CommonCrypto/CommonHMAC.h>
#define MPROC_HAVE_COMMONHMAC 1
#endif
#endif
#ifndef MPROC_HAVE_COMMONHMAC
typedef uint32_t CCHmacAlgorithm;
enum { kCCHmacAlgMD5 = 1, kCCHmacAlgSHA256 = 2 };
void CCHmac(CCHmacAlgorithm algorithm, const void *key, size_t keyLength,
            const void *data, size_t dataLength, void *macOut);
#endif

#include "../internal.h"
#include "../platform.h"

int mproc__os_hmac(int alg, const void *key, size_t key_len, const void *msg,
                   size_t len, unsigned char *out) {
  static const unsigned char none[1] = {0};
  if (alg == MPROC__HMAC_SHA256) {
    CCHmac(kCCHmacAlgSHA256, key_len ? key : none, key_len, msg, len, out);
    return 32;
  }
  if (alg == MPROC__HMAC_MD5) {
    CCHmac(kCCHmacAlgMD5, key_len ? key : none, key_len, msg, len, out);
    return 16;
  }
  return mproc__err(MPROC_ENOTSUP, "HMAC: unknown digest");
}

void mproc__os_hmac_warm(void) {} /* CommonCrypto needs no set-up */
