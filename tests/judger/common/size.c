// test-labels: unit
/* common/size.c: the one size parser used by specs, tasks, config and flags. */
#include <criterion/criterion.h>
#include <stdint.h>

#include "common/size.h"

Test(size, sizes) {
  int64_t v;
  cr_assert_eq(jd_parse_size(&v, "123"), 0);
  cr_assert_eq(v, 123);
  cr_assert_eq(jd_parse_size(&v, "64k"), 0);
  cr_assert_eq(v, 65536);
  cr_assert_eq(jd_parse_size(&v, "2M"), 0);
  cr_assert_eq(v, 2 << 20);
  cr_assert_eq(jd_parse_size(&v, "1gb"), 0);
  cr_assert_eq(v, 1 << 30);
  cr_assert_eq(jd_parse_size(&v, "-1"), -1);
  cr_assert_eq(jd_parse_size(&v, "1x"), -1);
  cr_assert_eq(jd_parse_size(&v, ""), -1);
  cr_assert_eq(jd_parse_size(&v, "99999999999999999999g"), -1);
}

/* `judger build --memory 1.5g` and a spec's "1.5g" mean the same: the
 * parser that once refused fractions and the one that took them are one. */
Test(size, fractions_as_docker_reads_them) {
  int64_t v;
  cr_assert_eq(jd_parse_size(&v, "1.5g"), 0);
  cr_assert_eq(v, (int64_t)3 << 29);
  cr_assert_eq(jd_parse_size(&v, "0.5k"), 0);
  cr_assert_eq(v, 512);
  cr_assert_eq(jd_parse_size(&v, "2.5"), 0);
  cr_assert_eq(v, 2, "fractions of a byte are dropped");
  cr_assert_eq(jd_parse_size(&v, "9223372036854775807"), 0);
  cr_assert_eq(v, INT64_MAX, "whole numbers stay exact");
}

Test(size, refuses_what_strtod_would_take) {
  int64_t v = 7;
  const char *bad[] = {" 1", "+1", "1.", ".5", "1e3", "0x10", "inf", "nan", "1 g", "1kk", "1gbb",
                       "9223372036854775808", "8589934592g", "1.5x"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    cr_assert_eq(jd_parse_size(&v, bad[i]), -1, "%s was accepted", bad[i]);
  cr_assert_eq(v, 7, "a refused size leaves the output alone");
}
