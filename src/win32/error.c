/* mproc: Windows error translation. GetLastError() values stop here: the
 * rest of the library sees MPROC_E* codes and a sentence that still names
 * the call and the system's own words for the failure. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "win32.h"

int mproc__win_code(DWORD err) {
  switch (err) {
  case ERROR_SUCCESS:
    return MPROC_EOS; /* a failure with no reason still failed */
  case ERROR_INVALID_HANDLE:
  case ERROR_INVALID_PARAMETER:
  case ERROR_INVALID_NAME:
  case ERROR_INVALID_ADDRESS:
  case ERROR_INVALID_FLAGS:
  case ERROR_BAD_PATHNAME:
  case ERROR_DIRECTORY:
    return MPROC_EINVAL;
  case ERROR_NOT_ENOUGH_MEMORY:
  case ERROR_OUTOFMEMORY:
  case ERROR_COMMITMENT_LIMIT:
  case ERROR_NO_SYSTEM_RESOURCES:
  case ERROR_NOT_ENOUGH_QUOTA:
    return MPROC_ENOMEM;
  case ERROR_ACCESS_DENIED:
  case ERROR_PRIVILEGE_NOT_HELD:
  case ERROR_NOT_OWNER:
  case ERROR_WRITE_PROTECT:
    return MPROC_EPERM;
  case ERROR_FILE_NOT_FOUND:
  case ERROR_PATH_NOT_FOUND:
  case ERROR_MOD_NOT_FOUND:
  case ERROR_PROC_NOT_FOUND:
  case ERROR_BAD_EXE_FORMAT:
  case ERROR_NOT_FOUND:
    return MPROC_ENOENT;
  case ERROR_ALREADY_EXISTS:
  case ERROR_FILE_EXISTS:
  case ERROR_PIPE_CONNECTED:
    return MPROC_EEXIST;
  case ERROR_FILENAME_EXCED_RANGE:
  case ERROR_BUFFER_OVERFLOW:
  case ERROR_LABEL_TOO_LONG:
    return MPROC_ENAMETOOLONG;
  case ERROR_NOT_SUPPORTED:
  case ERROR_CALL_NOT_IMPLEMENTED:
  case ERROR_INVALID_FUNCTION:
    return MPROC_ENOTSUP;
  case WAIT_TIMEOUT:
  case ERROR_TIMEOUT:
  case ERROR_SEM_TIMEOUT:
    return MPROC_ETIMEDOUT;
  case ERROR_BROKEN_PIPE:
  case ERROR_NO_DATA:
  case ERROR_PIPE_NOT_CONNECTED:
  case ERROR_HANDLE_EOF:
  case ERROR_NETNAME_DELETED:
  case WSAECONNRESET:
  case WSAECONNABORTED:
    return MPROC_EEOF;
  case WSAECONNREFUSED:
  case WSAEHOSTUNREACH:
  case WSAENETUNREACH:
    return MPROC_ENOENT;
  case WSAEADDRINUSE:
    return MPROC_EEXIST;
  case WSAEADDRNOTAVAIL:
  case WSAEAFNOSUPPORT:
    return MPROC_EINVAL;
  case WSAEACCES:
    return MPROC_EPERM;
  case WSAETIMEDOUT:
    return MPROC_ETIMEDOUT;
  case ERROR_INSUFFICIENT_BUFFER:
  case ERROR_MORE_DATA:
    return MPROC_EBUFSIZE;
  case ERROR_BUSY:
  case ERROR_PIPE_BUSY:
  case ERROR_NOT_READY:
  case ERROR_TOO_MANY_OPEN_FILES:
  case ERROR_SHARING_VIOLATION:
  case ERROR_LOCK_VIOLATION:
  case ERROR_IO_PENDING:
    return MPROC_EAGAIN;
  case ERROR_OPERATION_ABORTED:
    return MPROC_ECLOSED;
  case ERROR_ARITHMETIC_OVERFLOW:
    return MPROC_ERANGE;
  case ERROR_ABANDONED_WAIT_0:
    return MPROC_EOWNERDEAD;
  default:
    return MPROC_EOS;
  }
}

/* The system's text for `err`, without the trailing period and newline
 * FormatMessage adds; a plain placeholder when it has none (Wine lacks
 * some texts). */
static void system_text(DWORD err, char *buf, size_t size) {
  DWORD n = FormatMessageA(FORMAT_MESSAGE_FROM_SYSTEM |
                               FORMAT_MESSAGE_IGNORE_INSERTS |
                               FORMAT_MESSAGE_MAX_WIDTH_MASK,
                           NULL, err, MAKELANGID(LANG_NEUTRAL, SUBLANG_DEFAULT),
                           buf, (DWORD)size, NULL);
  if (n == 0) {
    snprintf(buf, size, "unknown error");
    return;
  }
  while (n > 0 && (buf[n - 1] == '\r' || buf[n - 1] == '\n' ||
                   buf[n - 1] == ' ' || buf[n - 1] == '.'))
    buf[--n] = '\0';
}

int mproc__win_err(DWORD err, const char *fmt, ...) {
  char what[256], text[256];
  va_list ap;
  int code = mproc__win_code(err);
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  system_text(err, text, sizeof text);
  return mproc__err(code, "%s failed: %s (error %lu)", what, text,
                    (unsigned long)err);
}
