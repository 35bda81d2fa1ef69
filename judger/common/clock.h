/* The judger's clocks. One monotonic clock for every deadline, wait and
 * duration: libdockerapi's (dk_now_ms), so a deadline computed here can be
 * handed to a dk_call unchanged. Wall-clock time only for what people read
 * (timestamps in results and logs). */
#ifndef JD_CLOCK_H
#define JD_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Monotonic milliseconds (CLOCK_MONOTONIC), the same clock as dk_now_ms. */
int64_t jd_mono_ms(void);
/* CLOCK_MONOTONIC in ns (turn clocks: a turn is charged to the µs). */
int64_t jd_mono_ns(void);
/* The CLOCK_MONOTONIC instant ms from now, for pthread_cond_timedwait on a
 * condition variable whose clock attribute is CLOCK_MONOTONIC. */
struct timespec jd_mono_after(int64_t ms);
/* Wall-clock milliseconds since the epoch. */
int64_t jd_unix_ms(void);
/* unix_ms as RFC 3339 UTC with milliseconds ("2026-01-02T03:04:05.678Z"). */
void jd_time_rfc3339(char out[32], int64_t unix_ms);

#endif
