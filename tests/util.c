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
