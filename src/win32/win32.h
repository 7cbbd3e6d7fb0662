/* mproc: helpers shared by the Windows backend's files (src/win32/ only). */
#ifndef MPROC_WIN32_H
#define MPROC_WIN32_H

#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>

#include <stddef.h>
#include <stdint.h>

#include "internal.h"
#include "platform.h"

/* ---- error.c ------------------------------------------------------------- */

/** The MPROC_E* code for a GetLastError() value. */
int mproc__win_code(DWORD err);

/**
 * Set the last-error sentence to "<what, formatted> failed: <system text>
 * (error N)" for the Windows error `err` and return its MPROC_E* code.
 * `err` is passed in (not read here) because formatting the sentence may
 * itself change GetLastError().
 */
int mproc__win_err(DWORD err, const char *fmt, ...) MPROC__PRINTF(2, 3);

/* ---- misc.c -------------------------------------------------------------- */

/**
 * Milliseconds for one Win32 wait that must not go past `deadline`
 * (mproc__deadline form): INFINITE for no deadline, rounded up so a wait
 * never ends early, capped below INFINITE (callers loop until the deadline).
 */
DWORD mproc__win_wait_ms(double deadline);

/** CloseHandle when `h` is a real handle (not NULL nor INVALID_HANDLE_VALUE). */
void mproc__win_close(HANDLE h);

/* ---- sock.c: TCP ends of the pipe group (conn.c dispatches to these) -- */

int mproc__win_wsa_init(void);
int mproc__win_sock_read(uintptr_t sock, HANDLE ev, void *buf, size_t n,
                         size_t *got);
int mproc__win_sock_write(uintptr_t sock, HANDLE ev, const void *hdr,
                          size_t hn, const void *buf, size_t n);
int mproc__win_sock_wait_begin(uintptr_t sock, HANDLE ev);
int mproc__win_sock_wait_end(uintptr_t sock, HANDLE ev, int signalled);
void mproc__win_sock_close(uintptr_t sock);

/* conn.c: a pipe-group end around a connected socket (it owns it). */
int mproc__win_conn_socket(uintptr_t sock, mproc__os_conn **out);

/* ---- process.c / child.c ------------------------------------------------- */

/* The command-line flag that marks a spawned child; its value is
 * "<boot pipe>,<parent process>,<error pipe>" as decimal handle values. */
#define MPROC__SPAWN_FLAG "--mproc-spawn="

/* Exit codes TerminateProcess gives a child on terminate / kill. Bit 16
 * keeps them apart from any code a target returns on real Windows (as
 * CPython's TERMINATE = 0x10000); their low bytes (15, 9) are what Wine,
 * which cuts exit codes to 8 bits, reports, and still tell them apart. */
#define MPROC__TERM_CODE 0x1000Fu
#define MPROC__KILL_CODE 0x10009u

#endif
