/* mproc tests: the error model. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "mproc.h"

static void every_code_has_a_name_and_text(void **state) {
  (void)state;
#define CHECK(name, value, text)                                               \
  assert_int_equal(MPROC_##name, value);                                       \
  assert_string_equal(mproc_err_name(MPROC_##name), "MPROC_" #name);           \
  assert_string_equal(mproc_strerror(MPROC_##name), text);
  MPROC_ERROR_TABLE(CHECK)
#undef CHECK
  assert_string_equal(mproc_strerror(0), "success");
  assert_string_equal(mproc_err_name(0), "MPROC_OK");
  assert_string_equal(mproc_strerror(-9999), "unknown error");
  assert_string_equal(mproc_err_name(-9999), "MPROC_UNKNOWN");
}

static void bad_input_sets_a_sentence(void **state) {
  mproc_process *p = NULL;
  char name[400];
  mproc_process_opts o = MPROC_PROCESS_OPTS_INIT;
  (void)state;
  assert_int_equal(mproc_process_new(NULL, NULL, NULL, 0, NULL),
                   MPROC_EINVAL);
  assert_non_null(strstr(mproc_last_error(), "NULL"));
  memset(name, 'x', sizeof name - 1);
  name[sizeof name - 1] = '\0';
  o.name = name;
  assert_int_equal(mproc_process_new(&p, (mproc_target)1, NULL, 0, &o),
                   MPROC_ENAMETOOLONG);
  assert_null(p);
  assert_non_null(strstr(mproc_last_error(), "399 bytes"));
  assert_int_equal(mproc_task_register(NULL, NULL), MPROC_EINVAL);
  assert_int_equal(mproc_set_start_method((mproc_start_method)77),
                   MPROC_EINVAL);
  assert_int_equal(mproc_context_new(NULL, MPROC_START_DEFAULT),
                   MPROC_EINVAL);
}

/* Every options struct starts with its size, set by MPROC_X_OPTS_INIT: a
 * struct that skipped the initialiser is refused with a sentence naming
 * it, and one from a newer header is taken while its extra members are
 * zero, refused once one is set. */
static void opts_need_their_initialiser(void **state) {
  mproc_process_opts po;
  mproc_queue_opts qo;
  mproc_shm_opts so;
  mproc_value_opts vo;
  struct {
    mproc_sync_opts o;
    int newer;
  } big;
  mproc_process *p = NULL;
  mproc_queue *q = NULL;
  mproc_shm *s = NULL;
  mproc_lock *l = NULL;
  mproc_array *a = NULL;
  (void)state;
  memset(&po, 0, sizeof po);
  assert_int_equal(mproc_process_new(&p, (mproc_target)1, NULL, 0, &po),
                   MPROC_EINVAL);
  assert_non_null(strstr(mproc_last_error(), "MPROC_PROCESS_OPTS_INIT"));
  memset(&qo, 0, sizeof qo);
  assert_int_equal(mproc_queue_new(&q, &qo), MPROC_EINVAL);
  assert_non_null(strstr(mproc_last_error(), "MPROC_QUEUE_OPTS_INIT"));
  memset(&so, 0, sizeof so);
  assert_int_equal(mproc_shm_new(&s, 64, &so), MPROC_EINVAL);
  assert_non_null(strstr(mproc_last_error(), "MPROC_SHM_OPTS_INIT"));
  assert_int_equal(mproc_lock_new(&l, &so), MPROC_EINVAL);
  assert_non_null(strstr(mproc_last_error(), "MPROC_SYNC_OPTS_INIT"));
  memset(&vo, 0, sizeof vo);
  assert_int_equal(mproc_array_new(&a, 'i', 4, NULL, &vo), MPROC_EINVAL);
  assert_non_null(strstr(mproc_last_error(), "MPROC_VALUE_OPTS_INIT"));
  assert_null(p);
  assert_null(q);
  assert_null(s);
  assert_null(l);
  assert_null(a);
  memset(&big, 0, sizeof big);
  big.o.size = sizeof big;
  assert_int_equal(mproc_lock_new(&l, &big.o), 0);
  mproc_lock_free(l);
  l = NULL;
  big.newer = 1;
  assert_int_equal(mproc_lock_new(&l, &big.o), MPROC_ENOTSUP);
  assert_non_null(strstr(mproc_last_error(), "newer"));
  assert_null(l);
}

static void version_matches(void **state) {
  char want[32];
  (void)state;
  assert_int_equal(mproc_version(), MPROC_VERSION_HEX);
  snprintf(want, sizeof want, "%d.%d.%d", MPROC_VERSION_MAJOR,
           MPROC_VERSION_MINOR, MPROC_VERSION_PATCH);
  assert_string_equal(mproc_version_string(), want);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(every_code_has_a_name_and_text),
      cmocka_unit_test(bad_input_sets_a_sentence),
      cmocka_unit_test(opts_need_their_initialiser),
      cmocka_unit_test(version_matches),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
