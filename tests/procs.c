/* mproc tests: starting and joining children (see procs.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "procs.h"

mproc_start_method g_method;

mproc_process *tp_start(mproc_target fn, const void *arg, size_t len,
                        const char *name, int daemon) {
  mproc_process *p = NULL;
  mproc_process_opts o;
  memset(&o, 0, sizeof o);
  o.name = name;
  o.daemon = daemon;
  o.method = g_method;
  assert_int_equal(mproc_process_new(&p, fn, arg, len, &o), 0);
  if (mproc_process_start(p) != 0) fail_msg("start: %s", mproc_last_error());
  return p;
}

int tp_code(mproc_process *p) {
  int code = -1000;
  assert_int_equal(mproc_process_join(p, MPROC_FOREVER), 0);
  assert_int_equal(mproc_process_exitcode(p, &code), 0);
  return code;
}

int tp_join(mproc_process *p) {
  int code = tp_code(p);
  mproc_process_free(p);
  return code;
}
