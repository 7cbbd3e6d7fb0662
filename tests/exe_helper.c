/* mproc tests: another program with a task of test_process_api's, for
 * mproc_set_executable: spawn runs this binary, which finds t_exe_which
 * by name and answers 42 (test_process_api's returns 41). */
#include <stddef.h>

#include "mproc.h"

static int t_exe_which(const void *arg, size_t len) {
  (void)arg;
  (void)len;
  return 42;
}
MPROC_TASK(t_exe_which);

int main(int argc, char **argv) {
  /* A spawned child runs its target here and never returns. */
  mproc_init(argc, argv);
  return 0;
}
