/* judger/common/backoff.c: the delay doubles up to its cap, with jitter. */
#include "common/backoff.h"
#include "support.h"

Test(backoff, grows_to_the_cap) {
  int64_t d = 0;
  for (int i = 0; i < 20; i++) {
    int64_t next = jd_backoff_next(d, 100, 5000);
    cr_assert(next >= 80 && next <= 5000 * 9 / 8 + 1, "delay %lld", (long long)next);
    d = next;
  }
  cr_assert(d >= 4000, "backoff should reach the cap, got %lld", (long long)d);
}
