// test-labels: unit
#include <criterion/criterion.h>
#include <string.h>

#include "common/error.h"

Test(error, fail_writes_the_reason_and_returns_minus_one) {
  char err[32] = "";
  cr_assert_eq(jd_fail(err, sizeof err, "field %s: %d", "limits.memory", 7), -1);
  cr_assert_str_eq(err, "field limits.memory: 7");
  cr_assert_eq(jd_fail(NULL, 0, "ignored %d", 1), -1, "no buffer, still -1");
}

Test(error, fail_truncates_to_the_buffer) {
  char err[8] = "";
  cr_assert_eq(jd_fail(err, sizeof err, "%s", "a long reason"), -1);
  cr_assert_str_eq(err, "a long ");
}

Test(error, fail_as_sets_the_kind) {
  char err[64] = "";
  jd_fail_kind kind = JD_FAIL_SYSTEM;
  cr_assert_eq(jd_fail_as(&kind, JD_FAIL_PROGRAM, err, sizeof err, "no ref %s", "v9"), -1);
  cr_assert_eq(kind, JD_FAIL_PROGRAM);
  cr_assert_str_eq(err, "no ref v9");
  cr_assert_eq(jd_fail_as(NULL, JD_FAIL_USAGE, NULL, 0, "x"), -1, "kind is optional");
}

Test(error, every_kind_has_a_name_and_an_exit_code) {
  cr_assert_str_eq(jd_fail_kind_name(JD_FAIL_SYSTEM), "system");
  cr_assert_str_eq(jd_fail_kind_name(JD_FAIL_TIMEOUT), "timeout");
  cr_assert_eq(jd_fail_kind_exit(JD_FAIL_SYSTEM), JD_EXIT_SYSTEM);
  cr_assert_eq(jd_fail_kind_exit(JD_FAIL_PROGRAM), JD_EXIT_PROGRAM);
  cr_assert_eq(jd_fail_kind_exit(JD_FAIL_TIMEOUT), JD_EXIT_PROGRAM);
  cr_assert_eq(jd_fail_kind_exit(JD_FAIL_USAGE), JD_EXIT_USAGE);
  for (int k = 0; k < JD_FAIL_COUNT; k++)
    cr_assert_str_neq(jd_fail_kind_name((jd_fail_kind)k), "unknown");
  cr_assert_str_eq(jd_fail_kind_name(JD_FAIL_COUNT), "unknown");
}
