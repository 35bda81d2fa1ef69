/* Caps on player starts (see start_limiter.h). */
#include <string.h>

#include "common/error.h"
#include "match/start_limiter.h"

void jd_start_limiter_init(jd_start_limiter *l, int max_total, int max_concurrent, int rate,
                           int64_t now_ms) {
  memset(l, 0, sizeof *l);
  l->max_total = max_total;
  l->max_concurrent = max_concurrent;
  l->rate = rate > 0 ? rate : 1;
  l->tokens = l->rate;
  l->last_ms = now_ms;
}

int jd_start_limiter_take(jd_start_limiter *l, int alive, int64_t now_ms, char *err,
                          size_t errlen) {
  if (now_ms > l->last_ms) {
    l->tokens += (double)(now_ms - l->last_ms) * l->rate / 1000.0;
    if (l->tokens > l->rate)
      l->tokens = l->rate;
    l->last_ms = now_ms;
  }
  if (l->total >= l->max_total) {
    return jd_fail(err, errlen, "too many player starts in this match");
  }
  if (alive >= l->max_concurrent) {
    return jd_fail(err, errlen, "too many players running at once");
  }
  if (l->tokens < 1.0) {
    return jd_fail(err, errlen, "player starts too fast");
  }
  l->tokens -= 1.0;
  l->total++;
  return 0;
}
