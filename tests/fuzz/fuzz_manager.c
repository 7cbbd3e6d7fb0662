/* libFuzzer target: the manager server's decoder and dispatch, fed
 * straight in (no sockets). The input is a script of requests from two
 * connections: records of [u8 who][u16 length, little-endian][message].
 * Each message is also decoded on its own, item by item. Whatever the
 * bytes, the server must neither crash nor leak (ASan, UBSan and
 * LeakSanitizer watch): waits stay queued, connections end, the server
 * frees every object at the end.
 *
 *   ci/fuzz.sh builds it with clang -fsanitize=fuzzer and runs it for a
 *   bounded time from the seeds it writes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mgr-core.h"

static size_t replies;

static void fake_send(mproc__mcli *c, const void *msg, size_t len) {
  mproc__mr r;
  (void)c;
  /* A reply the server makes must itself decode. */
  if (mproc__mr_init(&r, msg, len) != 0) abort();
  replies++;
}

static void fake_stop(mproc__msrv *s) { s->stopping = 0; }

static int fz_create(void **state, const void *arg, size_t len) {
  (void)arg;
  *state = malloc(8);
  if (*state == NULL) return MPROC_ENOMEM;
  memset(*state, (int)len, 8);
  return len == 3 ? MPROC_EINVAL : 0;
}

static int fz_call(void *state, const char *method, const void *arg,
                   size_t len, mproc_buf *out) {
  (void)state;
  if (method[0] == 'f') return mproc_task_fail(out, MPROC_ERANGE, "no");
  return mproc_buf_write(out, arg, len);
}

static void fz_destroy(void *state) { free(state); }

static const mproc_mtype fz_type = {"t", fz_create, fz_call, fz_destroy};

static void decode_alone(const uint8_t *p, size_t n) {
  mproc__mr r;
  mproc__mw_item it;
  if (mproc__mr_init(&r, p, n) != 0) return;
  while (mproc__mr_next(&r, &it) == 1) {
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static uv_loop_t loop;
  static int ready;
  mproc__msrv s;
  mproc__mcli c[2];
  size_t at = 0;
  if (!ready) {
    uv_loop_init(&loop);
    mproc_manager_register(&fz_type);
    ready = 1;
  }
  mproc__msrv_init(&s, &loop, fake_send, fake_stop);
  mproc__mcli_init(&c[0], &s);
  mproc__mcli_init(&c[1], &s);
  while (size - at >= 3) {
    unsigned who = data[at] & 1;
    size_t len = (size_t)data[at + 1] | (size_t)data[at + 2] << 8;
    at += 3;
    if (len > size - at) len = size - at;
    decode_alone(data + at, len);
    if (data[at - 3] & 0x80) { /* the connection ends, another begins */
      mproc__mcli_end(&c[who]);
      mproc__mcli_init(&c[who], &s);
    }
    if (mproc__msrv_request(&c[who], data + at, len) < 0) {
      mproc__mcli_end(&c[who]);
      mproc__mcli_init(&c[who], &s);
    }
    at += len;
  }
  mproc__mcli_end(&c[0]);
  mproc__mcli_end(&c[1]);
  mproc__msrv_free(&s);
  uv_run(&loop, UV_RUN_NOWAIT); /* the waiters' timers close */
  return 0;
}
