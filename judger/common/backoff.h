/* Exponential backoff with jitter: the one delay rule for every retry loop
 * (Redis reconnection, artifact uploads). */
#ifndef JD_BACKOFF_H
#define JD_BACKOFF_H

#include <stdint.h>

/* The next backoff delay after cur (0 = the first): doubles from min up to
 * max, with up to 25% random jitter so many hosts do not retry in
 * lockstep. Thread-safe (a per-thread seed). */
int64_t jd_backoff_next(int64_t cur, int64_t min_ms, int64_t max_ms);

#endif
