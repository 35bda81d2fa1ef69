// test-labels: unit
/* Caps on player starts: total, concurrency, rate. */
#include <string.h>

#include "match/start_limiter.h"
#include "support.h"

Test(start_limiter, caps_total_concurrency_and_rate) {
  jd_start_limiter l;
  char why[128] = "";
  jd_start_limiter_init(&l, 5, 3, 2, 1000);
  cr_assert_eq(jd_start_limiter_take(&l, 0, 1000, why, sizeof why), 0);
  cr_assert_eq(jd_start_limiter_take(&l, 1, 1000, why, sizeof why), 0);
  cr_assert_eq(jd_start_limiter_take(&l, 2, 1000, why, sizeof why), -1); /* burst of 2 used */
  cr_assert(strstr(why, "fast"));
  cr_assert_eq(jd_start_limiter_take(&l, 3, 2000, why, sizeof why), -1); /* 3 alive */
  cr_assert(strstr(why, "at once"));
  cr_assert_eq(jd_start_limiter_take(&l, 2, 2000, why, sizeof why), 0);
  cr_assert_eq(jd_start_limiter_take(&l, 0, 3000, why, sizeof why), 0);
  cr_assert_eq(jd_start_limiter_take(&l, 0, 3000, why, sizeof why), 0);
  cr_assert_eq(jd_start_limiter_take(&l, 0, 9000, why, sizeof why), -1); /* 5 starts done */
  cr_assert(strstr(why, "too many player starts"));
}
