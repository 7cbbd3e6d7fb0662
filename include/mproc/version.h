/** mproc: version macros and runtime version query.
 * @file
 */
#ifndef MPROC_VERSION_H
#define MPROC_VERSION_H

#include "mproc/export.h"

#define MPROC_VERSION_MAJOR 0
#define MPROC_VERSION_MINOR 1
#define MPROC_VERSION_PATCH 0
/** 0xMMmmpp: compare with >= to require a minimum version. */
#define MPROC_VERSION_HEX                                                      \
  ((MPROC_VERSION_MAJOR << 16) | (MPROC_VERSION_MINOR << 8) |                  \
   MPROC_VERSION_PATCH)

#ifdef __cplusplus
extern "C" {
#endif

/**
 * The version of the library the program runs with, as MPROC_VERSION_HEX.
 * Same major = ABI compatible.
 * Thread-safety: safe from any thread. Ownership: nothing to free.
 */
MPROC_EXTERN unsigned mproc_version(void);

/** The same version as a "MAJOR.MINOR.PATCH" string (static storage). */
MPROC_EXTERN const char *mproc_version_string(void);

#ifdef __cplusplus
}
#endif
#endif
