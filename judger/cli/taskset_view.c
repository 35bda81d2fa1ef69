/* The taskset progress line (cli/taskset_view.h). */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cli/taskset_view.h"

void jd_duration_text(char *out, size_t len, int64_t ms) {
  if (!len)
    return;
  if (ms < 0) {
    snprintf(out, len, "unknown");
    return;
  }
  int64_t s = (ms + 999) / 1000; /* a remaining 0.2 s reads "1s", not "0s" */
  if (s < 60)
    snprintf(out, len, "%" PRId64 "s", s);
  else if (s < 3600)
    snprintf(out, len, "%" PRId64 "m%02" PRId64 "s", s / 60, s % 60);
  else if (s < 86400)
    snprintf(out, len, "%" PRId64 "h%02" PRId64 "m", s / 3600, s % 3600 / 60);
  else
    snprintf(out, len, "%" PRId64 "d%02" PRId64 "h", s / 86400, s % 86400 / 3600);
}

static int digits(int64_t v) {
  int n = v < 0 ? 2 : 1;
  for (v = v < 0 ? -v : v; v >= 10; v /= 10)
    n++;
  return n;
}

static int64_t clamp(int64_t v, int64_t lo, int64_t hi) { return v < lo ? lo : v > hi ? hi : v; }

void jd_progress_line(char *out, size_t len, const jd_progress *p) {
  if (!len)
    return;
  int64_t total = p->total > 0 ? p->total : 0;
  int64_t done = clamp(p->done, 0, total);
  int pct = total ? (int)(done * 100 / total) : 100;
  int cells = total ? (int)(done * JD_PROGRESS_BAR / total) : JD_PROGRESS_BAR;
  char bar[JD_PROGRESS_BAR + 1];
  memset(bar, '#', (size_t)cells);
  memset(bar + cells, '.', (size_t)(JD_PROGRESS_BAR - cells));
  bar[JD_PROGRESS_BAR] = '\0';
  int w = digits(total) & 31; /* at most 20: the bound lets the compiler see */
  char when[64], dur[32];
  bool running = !p->state || !strcmp(p->state, "running");
  jd_duration_text(dur, sizeof dur, running ? p->eta_ms : p->elapsed_ms);
  if (running)
    snprintf(when, sizeof when, "ETA %s", dur);
  else
    snprintf(when, sizeof when, "%.16s in %s", p->state, dur);
  snprintf(out, len,
           "%s [%s] %3d%% %*" PRId64 "/%" PRId64 " running %*" PRId64 " queued %*" PRId64
           " failed %*" PRId64 " cancelled %*" PRId64 " %s",
           p->id ? p->id : "", bar, pct, w, done, total, w, p->running, w, p->queued, w, p->failed,
           w, p->cancelled, when);
}
