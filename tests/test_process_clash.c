/* mproc tests: a second static function named t_clash, marked MPROC_TASK
 * like the one in test_process_api.c — the mistake two files make when
 * each keeps a static helper of the same name. */
#include "mproc.h"

static int t_clash(const void *arg, size_t len) {
  (void)arg;
  (void)len;
  return 32;
}
MPROC_TASK(t_clash);

mproc_target tc_other_clash(void);
mproc_target tc_other_clash(void) { return t_clash; }
