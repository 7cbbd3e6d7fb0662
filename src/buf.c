/* mproc: a task's output buffer (mproc_buf), mproc_task_fail, mproc_free. */
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "futures-internal.h"

void mproc_free(void *p) { free(p); }

char *mproc__strdup(const char *s) {
  size_t n = strlen(s) + 1;
  char *d = malloc(n);
  if (d != NULL) memcpy(d, s, n);
  return d;
}

void mproc__buf_reset(mproc_buf *b) {
  free(b->data);
  free(b->msg);
  b->data = NULL;
  b->msg = NULL;
  b->len = b->cap = 0;
}

void *mproc_buf_reserve(mproc_buf *out, size_t n) {
  size_t want, cap;
  unsigned char *p;
  if (out == NULL) {
    mproc__err(MPROC_EINVAL, "buf_reserve: out is NULL");
    return NULL;
  }
  /* No object can be larger than PTRDIFF_MAX: refuse before the
   * allocator is asked (a sanitizer's allocator aborts on such sizes). */
  if (n > (size_t)PTRDIFF_MAX - out->len) {
    mproc__err(MPROC_ENOMEM, "buf_reserve: %zu more bytes would pass the "
               "largest object size (%td bytes)", n, PTRDIFF_MAX);
    return NULL;
  }
  want = out->len + n;
  if (want > out->cap) {
    cap = out->cap ? out->cap : 64;
    while (cap < want) cap = cap > (size_t)PTRDIFF_MAX / 2 ? want : cap * 2;
    p = realloc(out->data, cap);
    if (p == NULL) {
      mproc__err(MPROC_ENOMEM, "task result: cannot grow to %zu bytes", want);
      return NULL;
    }
    out->data = p;
    out->cap = cap;
  }
  p = out->data + out->len;
  out->len = want;
  return p;
}

int mproc_buf_write(mproc_buf *out, const void *data, size_t n) {
  void *p;
  if (out == NULL || (data == NULL && n > 0))
    return mproc__err(MPROC_EINVAL, "buf_write: %s is NULL",
                      out == NULL ? "out" : "data");
  if (n == 0) return 0;
  p = mproc_buf_reserve(out, n);
  if (p == NULL) return MPROC_ENOMEM;
  memcpy(p, data, n);
  return 0;
}

size_t mproc_buf_len(const mproc_buf *out) { return out ? out->len : 0; }

int mproc_task_fail(mproc_buf *out, int code, const char *fmt, ...) {
  va_list ap;
  int n;
  char *msg;
  if (code == 0) code = -1;
  if (out == NULL || fmt == NULL) return code;
  va_start(ap, fmt);
  n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0) return code;
  msg = malloc((size_t)n + 1);
  if (msg == NULL) return code; /* the code still fails the task */
  va_start(ap, fmt);
  vsnprintf(msg, (size_t)n + 1, fmt, ap);
  va_end(ap);
  free(out->msg);
  out->msg = msg;
  return code;
}

const mproc_task_ctx *mproc_task_context(const mproc_buf *out) {
  return out ? &out->ctx : NULL;
}
