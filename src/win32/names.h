/* mproc: kernel object names of the Windows backend. */
#ifndef MPROC_WIN32_NAMES_H
#define MPROC_WIN32_NAMES_H

#include <stddef.h>
#include <wchar.h>

/** "Local\<name><suffix>": session-local, as POSIX names are per user. */
void mproc__win_object_name(wchar_t *out, size_t n, const char *name,
                            const char *suffix);

#endif
