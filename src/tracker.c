/* mproc: the resource tracker's policy, written once for every backend
 * that needs a tracker (POSIX: src/posix/tracker.c runs it in a process of
 * its own; Windows needs none, its kernel counts holders).
 *
 * Once the program has ended, remove what it left: every segment of the
 * registry no live process holds, and every tracked name whose holders are
 * all dead. The program's processes die with it, within moments, so the
 * sweep retries for a few seconds while holders are still on their way
 * out. Then, as Python's resource_tracker does, say on stderr how many of
 * each kind were left behind (one line), unless MPROC_TRACKER_WARN=0. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "arena.h"
#include "object.h"

#define KINDS (MPROC__KIND_QUEUE + 1)

static int warns(void) {
  const char *v = getenv("MPROC_TRACKER_WARN");
  return !(v && (strcmp(v, "0") == 0 || strcmp(v, "off") == 0 ||
                 strcmp(v, "no") == 0));
}

static void warn(const unsigned *count) {
  char line[400];
  size_t at;
  unsigned k, total = 0;
  for (k = 0; k < KINDS; k++) total += count[k];
  if (total == 0 || !warns()) return;
  at = (size_t)snprintf(line, sizeof line,
                        "mproc: resource tracker: the program left %u "
                        "shared object%s, removed now:",
                        total, total == 1 ? "" : "s");
  for (k = 0; k < KINDS && at < sizeof line; k++)
    if (count[k])
      at += (size_t)snprintf(line + at, sizeof line - at, "%s %u %s",
                             at > 0 && line[at - 1] == ':' ? "" : ",",
                             count[k], mproc__kind_name(k));
  if (at < sizeof line)
    snprintf(line + at, sizeof line - at,
             " (MPROC_TRACKER_WARN=0 silences this)");
  fprintf(stderr, "%s\n", line);
  fflush(stderr);
}

void mproc__tracker_sweep(char (*names)[MPROC_SHM_NAME_MAX + 1], size_t n) {
  unsigned count[KINDS] = {0};
  int round, removed;
  size_t i, left = 0;
  for (round = 0; round < 50 && (round == 0 || left > 0); round++) {
    removed = 0;
    left = (size_t)mproc__shm_sweep_registry(&removed);
    count[MPROC__KIND_SHM] += (unsigned)removed;
    for (i = 0; i < n; i++) {
      uint32_t kind = 0;
      int arena;
      if (names[i][0] == '\0') continue;
      /* An arena counts the objects it held itself. */
      arena = mproc__arena_sweep(names[i], count, KINDS);
      if (arena == 1) {
        names[i][0] = '\0';
      } else if (arena == 0) {
        left++;
      } else if (mproc__shm_sweep(names[i], &kind)) {
        names[i][0] = '\0';
        if (kind > 0 && kind < KINDS) count[kind]++;
      } else {
        left++;
      }
    }
    if (left) uv_sleep(100);
  }
  warn(count);
}
