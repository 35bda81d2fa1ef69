/* Caps on player starts in a match: a total per match, players alive at
 * once, and a rate (token bucket refilled at `rate` per second, burst
 * `rate`). Pure: the caller passes the time, so every rule is unit-tested. */
#ifndef JD_START_LIMITER_H
#define JD_START_LIMITER_H

#include <stddef.h>
#include <stdint.h>

typedef struct jd_start_limiter {
  int max_total;
  int max_concurrent;
  int rate;
  int total;
  double tokens;
  int64_t last_ms;
} jd_start_limiter;

void jd_start_limiter_init(jd_start_limiter *l, int max_total, int max_concurrent, int rate,
                           int64_t now_ms);
/* alive: players currently running or starting. Returns 0 and counts the
 * start, or -1 with err saying which cap refused it. */
int jd_start_limiter_take(jd_start_limiter *l, int alive, int64_t now_ms, char *err, size_t errlen);

#endif
