#include "common/backoff.h"

#include <stdlib.h>
#include <unistd.h>

#include "common/clock.h"

int64_t jd_backoff_next(int64_t cur, int64_t min_ms, int64_t max_ms) {
  static __thread unsigned seed;
  if (!seed)
    seed = (unsigned)(jd_mono_ms() ^ (int64_t)getpid() ^ (int64_t)(intptr_t)&seed);
  int64_t next = cur <= 0 ? min_ms : cur * 2;
  if (next > max_ms)
    next = max_ms;
  int64_t jitter = next / 4 > 0 ? rand_r(&seed) % (next / 4 + 1) : 0;
  return next - next / 8 + jitter;
}
