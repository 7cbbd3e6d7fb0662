/* mproc: error codes, their names and the thread-local detail sentence. */
#include <stdio.h>
#include <string.h>

#include "internal.h"

/* 512 bytes holds every sentence the library writes, names included. */
static _Thread_local char last_error[512];

const char *mproc_strerror(int code) {
  if (code >= 0) return "success";
  switch (code) {
#define MPROC__ERR_TEXT(name, value, text)                                     \
  case MPROC_##name:                                                           \
    return text;
    MPROC_ERROR_TABLE(MPROC__ERR_TEXT)
#undef MPROC__ERR_TEXT
  }
  return "unknown error";
}

const char *mproc_err_name(int code) {
  if (code == 0) return "MPROC_OK";
  switch (code) {
#define MPROC__ERR_NAME(name, value, text)                                     \
  case MPROC_##name:                                                           \
    return "MPROC_" #name;
    MPROC_ERROR_TABLE(MPROC__ERR_NAME)
#undef MPROC__ERR_NAME
  }
  return "MPROC_UNKNOWN";
}

const char *mproc_last_error(void) { return last_error; }

int mproc__verr(int code, const char *fmt, va_list ap) {
  vsnprintf(last_error, sizeof last_error, fmt, ap);
  return code;
}

int mproc__err(int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  mproc__verr(code, fmt, ap);
  va_end(ap);
  return code;
}
