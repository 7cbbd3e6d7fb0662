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
  mproc_process_opts o;
  (void)state;
  assert_int_equal(mproc_process_new(NULL, NULL, NULL, 0, NULL),
                   MPROC_EINVAL);
  assert_non_null(strstr(mproc_last_error(), "NULL"));
  memset(name, 'x', sizeof name - 1);
  name[sizeof name - 1] = '\0';
  memset(&o, 0, sizeof o);
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
      cmocka_unit_test(version_matches),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
