// test-labels: unit
/* common/verdict.c: the verdict table. */
#include <criterion/criterion.h>
#include <string.h>

#include "common/verdict.h"

Test(verdict, every_verdict_has_a_name_and_parses_back) {
  for (int i = 0; i < JD_VERDICT_COUNT; i++) {
    const char *n = jd_verdict_name((jd_verdict)i);
    cr_assert_neq(strcmp(n, "?"), 0);
    cr_assert_gt(strlen(jd_verdict_text((jd_verdict)i)), 0);
    jd_verdict back = JD_VERDICT_COUNT;
    cr_assert_eq(jd_verdict_parse(&back, n), 0, "%s", n);
    cr_assert_eq(back, (jd_verdict)i);
  }
  cr_assert_str_eq(jd_verdict_name(JD_VERDICT_TLE), "TLE");
  cr_assert_str_eq(jd_verdict_name(JD_VERDICT_COUNT), "?");
  jd_verdict v = JD_VERDICT_OK;
  cr_assert_eq(jd_verdict_parse(&v, "ok"), -1, "names are exact");
  cr_assert_eq(jd_verdict_parse(&v, NULL), -1);
  cr_assert_eq(v, JD_VERDICT_OK);
}
