/* mproc tests: the Manager — shared pieces of test_manager.c (one
 * process: every proxy kind, bad input, the wire's robustness) and
 * test_manager_procs.c (children under every start method). */
#ifndef MPROC_TEST_MANAGER_H
#define MPROC_TEST_MANAGER_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "mproc.h"
#include "procs.h"
#include "util.h"

#define S(x) x, sizeof x - 1

/* A started manager for the test (fails the test on error). */
mproc_manager *tm_start(const char *address);
/* Make a proxy with fn(m, &p), failing the test on error. */
#define TM_MAKE(call)                                                          \
  do {                                                                         \
    int rc_ = (call);                                                          \
    if (rc_ != 0) fail_msg("%s: %s", #call, mproc_last_error());               \
  } while (0)
/* Check that dict d maps key to the value. */
void tm_expect(mproc_proxy *d, const char *key, const char *value);

/* test_manager_procs.c: the role dispatcher for tu_spawn_self children
 * (0 when argv is no role). */
int tm_role(int argc, char **argv, int *code);
extern const struct CMUnitTest tm_proc_tests[];
extern const size_t tm_n_proc_tests;
/* test_manager_life.c: close, leases, a killed server, list order (run
 * once, with the default start method). */
extern const struct CMUnitTest tm_life_tests[];
/* Its roles, as tm_role. */
int tm_life_role(int argc, char **argv, int *code);
extern const size_t tm_n_life_tests;

#endif
