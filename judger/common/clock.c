#include "common/clock.h"

#include <stdio.h>

#include "dockerapi/dockerapi.h"

int64_t jd_mono_ms(void) { return dk_now_ms(); }

int64_t jd_mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

struct timespec jd_mono_after(int64_t ms) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  if (ms < 0)
    ms = 0;
  ts.tv_sec += ms / 1000;
  ts.tv_nsec += (ms % 1000) * 1000000;
  if (ts.tv_nsec >= 1000000000) {
    ts.tv_sec++;
    ts.tv_nsec -= 1000000000;
  }
  return ts;
}

int64_t jd_unix_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void jd_time_rfc3339(char out[32], int64_t unix_ms) {
  time_t s = (time_t)(unix_ms / 1000);
  struct tm tm;
  gmtime_r(&s, &tm);
  char base[24];
  strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(out, 32, "%s.%03dZ", base, (int)(unix_ms % 1000));
}
