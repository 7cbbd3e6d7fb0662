/* mproc tests: portable helpers over the platform ones. */
#include <stdio.h>
#include <string.h>

#include "mproc.h"
#include "util.h"

void tu_temp_path(char *buf, size_t n, const char *tag) {
  static unsigned counter;
  const char *dir = getenv("TMPDIR");
  if (dir == NULL || dir[0] == '\0') dir = getenv("TEMP");
  if (dir == NULL || dir[0] == '\0') dir = "/tmp";
  snprintf(buf, n, "%s/mproc-test-%ld-%s-%u", dir, mproc_current_pid(), tag,
           ++counter);
}

int tu_write_long(const char *path, long v) {
  char tmp[512];
  FILE *f;
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  f = fopen(tmp, "w");
  if (f == NULL) return -1;
  fprintf(f, "%ld\n", v);
  if (fclose(f) != 0) return -1;
  remove(path);
  return rename(tmp, path);
}

int tu_read_long(const char *path, long *v, double seconds) {
  int waited = 0;
  for (;;) {
    FILE *f = fopen(path, "r");
    if (f) {
      int ok = fscanf(f, "%ld", v) == 1;
      fclose(f);
      if (ok) return 0;
    }
    if (waited >= seconds * 1000) return -1;
    tu_sleep_ms(5);
    waited += 5;
  }
}

const char *tu_argv0;

void tu_set_argv0(const char *argv0) { tu_argv0 = argv0; }

/* An object made under a generated name lives in a slot of an arena
 * (src/arena.c): "<arena>.<slot: 3 base-36 digits><generation>"; its
 * state begins 128 bytes into the slot, the slots 4096 bytes into the
 * arena, and the arena's header keeps the slot size at offset 4. */
int tu_peek_u32(const char *name, size_t offset, uint32_t *out) {
  const char *dot = strrchr(name, '.');
  char base[64];
  uint32_t idx = 0, slot_size = 0;
  int i;
  if (dot == NULL || strlen(dot + 1) < 4 || (size_t)(dot - name) >= sizeof base ||
      offset < 1024)
    return tu_peek_raw(name, offset, out);
  for (i = 1; i <= 3; i++) {
    char c = dot[i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z')))
      return tu_peek_raw(name, offset, out);
    idx = idx * 36 + (uint32_t)(c <= '9' ? c - '0' : c - 'a' + 10);
  }
  memcpy(base, name, (size_t)(dot - name));
  base[dot - name] = '\0';
  if (tu_peek_raw(base, 4, &slot_size) != 0 || slot_size == 0)
    return tu_peek_raw(name, offset, out);
  return tu_peek_raw(base, 4096 + (size_t)idx * slot_size + 128 + (offset - 1024),
                     out);
}

int tu_count_shm_settled(const char *prefix) {
  int i, now = tu_count_shm(prefix);
  for (i = 0; i < 100 && now > 0; i++) {
    tu_sleep_ms(50);
    now = tu_count_shm(prefix);
  }
  return now;
}

int tu_drain_completions(mproc_executor *ex, intptr_t h, size_t total,
                         double seconds, unsigned char *seen,
                         void (*check)(mproc_future *f, size_t k, void *arg),
                         void *arg, const char **why) {
  size_t got = 0;
  mproc_future *f;
  unsigned char r;
  memset(seen, 0, total);
  while (got < total) {
    if (mproc_wait_handles(&h, 1, seconds, &r) != 1) {
      *why = "the completion handle was not ready in time";
      return -1;
    }
    while (mproc_executor_next_completed(ex, &f) == 0) {
      size_t k = (size_t)mproc_future_task(f);
      if (k >= total || seen[k] || !mproc_future_done(f)) {
        *why = k >= total ? "a task number out of range"
               : seen[k]  ? "a future taken twice"
                          : "a future taken before it was done";
        mproc_future_free(f);
        return -1;
      }
      seen[k] = 1;
      if (check != NULL) check(f, k, arg);
      mproc_future_free(f);
      got++;
    }
  }
  return 0;
}
