// test-labels: unit
/* cli/options.c: option values are type-checked by name, and every
 * command ends its argument loop with the same words and exit code. */
#include <criterion/criterion.h>
#include <stdio.h>

#include "cli/options.h"
#include "common/error.h"

static int usage_calls;
static void usage(FILE *f) {
  (void)f;
  usage_calls++;
}

Test(options, counts_are_whole_numbers_in_range) {
  long long n = 7;
  cr_assert_eq(jd_cli_count(&n, "status", "--dead", "25", 100), 0);
  cr_assert_eq(n, 25);
  const char *bad[] = {"", "x", "-1", "+3", " 3", "3x", "101", "1e2", "99999999999999999999"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    cr_assert_eq(jd_cli_count(&n, "status", "--dead", bad[i], 100), -1, "'%s' taken", bad[i]);
  cr_assert_eq(jd_cli_count(&n, "status", "--dead", NULL, 100), -1);
  cr_assert_eq(n, 25, "a refused value leaves the old one");
}

Test(options, seconds_are_numbers_in_range) {
  double s = 1;
  cr_assert_eq(jd_cli_seconds(&s, "submit", "--wait", "2.5", 60), 0);
  cr_assert_float_eq(s, 2.5, 1e-9);
  const char *bad[] = {"soon", "-1", "nan", "inf", "61", "1s", ""};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    cr_assert_eq(jd_cli_seconds(&s, "submit", "--wait", bad[i], 60), -1, "'%s' taken", bad[i]);
  cr_assert_float_eq(s, 2.5, 1e-9);
}

Test(options, bad_options_and_arguments_are_usage_errors) {
  usage_calls = 0;
  cr_assert_eq(jd_cli_bad_option("gc", "--nope", usage), JD_EXIT_USAGE);
  cr_assert_eq(jd_cli_bad_argument("gc", "extra", usage), JD_EXIT_USAGE);
  cr_assert_eq(usage_calls, 2, "usage is shown each time");
}
