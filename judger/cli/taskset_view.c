/* The taskset progress line (cli/taskset_view.h). */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/taskset_cli.h"
#include "cli/taskset_view.h"
#include "common/clock.h"

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

/* in, printable ASCII only (a line that goes to a terminal as is: no
 * escape of the queue's writer reaches it), at most len - 1 chars. */
static void printable(char *out, size_t len, const char *in) {
  size_t n = 0;
  for (; in && *in && n + 1 < len; in++)
    out[n++] = *in > 0x20 && *in < 0x7f ? *in : '?';
  out[n] = '\0';
}

void jd_ts_progress_line(char *out, size_t len, const jd_ts_progress *p) {
  if (!len)
    return;
  int64_t total = p->total > 0 ? p->total : 0;
  int64_t done = clamp(p->done, 0, total);
  int pct = total ? (int)(done * 100 / total) : 100;
  int cells = total ? (int)(done * JD_TS_PROGRESS_BAR / total) : JD_TS_PROGRESS_BAR;
  char bar[JD_TS_PROGRESS_BAR + 1];
  memset(bar, '#', (size_t)cells);
  memset(bar + cells, '.', (size_t)(JD_TS_PROGRESS_BAR - cells));
  bar[JD_TS_PROGRESS_BAR] = '\0';
  int w = digits(total) & 31; /* at most 20: the bound lets the compiler see */
  char when[64], dur[32], id[JD_TASK_ID_MAX + 1], state[17];
  printable(id, sizeof id, p->id);
  printable(state, sizeof state, p->state);
  bool running = !p->state || !strcmp(p->state, "running");
  jd_duration_text(dur, sizeof dur, running ? p->eta_ms : p->elapsed_ms);
  if (running)
    snprintf(when, sizeof when, "ETA %s", dur);
  else
    snprintf(when, sizeof when, "%s in %s", state, dur);
  snprintf(out, len,
           "%s [%s] %3d%% %*" PRId64 "/%" PRId64 " running %*" PRId64 " queued %*" PRId64
           " failed %*" PRId64 " cancelled %*" PRId64 " %s",
           id, bar, pct, w, done, total, w, p->running, w, p->queued, w, p->failed, w, p->cancelled,
           when);
}

void jd_ts_progress_from_view(jd_ts_progress *p, const jd_taskset_view *v) {
  const jd_taskset_counts *c = &v->c;
  int64_t end = v->finished_ms > 0 ? v->finished_ms : v->now_ms;
  *p = (jd_ts_progress){
      .id = v->id,
      .state = v->state,
      .total = c->total,
      .done = c->finished + c->failed + c->cancelled,
      .running = c->running,
      .queued = c->queued + c->held,
      .failed = c->failed,
      .cancelled = c->cancelled,
      .eta_ms = v->eta_ms,
      .elapsed_ms = v->submitted_ms > 0 && end > v->submitted_ms ? end - v->submitted_ms : 0};
}

/* Shows line on f when it changed: in place on a terminal; elsewhere (a
 * log) only when more than its ETA changed. */
static void show_line(FILE *f, bool tty, char *last, size_t len, const char *line) {
  const char *eta = strstr(line, " ETA ");
  size_t key = tty || !eta ? strlen(line) + 1 : (size_t)(eta - line);
  if (!f || !strncmp(last, line, key))
    return;
  if (tty)
    fprintf(f, "\r%s\033[K", line);
  else
    fprintf(f, "%s\n", line);
  fflush(f);
  snprintf(last, len, "%s", line);
}

int jd_taskset_watch(jd_taskset_view *v, bool *found, bool *ended, jd_queue *q, const char *id,
                     int64_t deadline_ms, FILE *f) {
  bool tty = f && isatty(fileno(f));
  char last[512] = "", line[512];
  *ended = false;
  for (;;) {
    if (jd_queue_taskset_view(v, found, q, id) || !*found)
      break;
    jd_ts_progress p;
    jd_ts_progress_from_view(&p, v);
    jd_ts_progress_line(line, sizeof line, &p);
    show_line(f, tty, last, sizeof last, line);
    *ended = strcmp(v->state, "running") != 0;
    if (*ended || (deadline_ms > 0 && jd_unix_ms() >= deadline_ms)) {
      if (f && tty)
        fputc('\n', f);
      return 0;
    }
    int64_t nap = 500;
    if (deadline_ms > 0 && deadline_ms - jd_unix_ms() < nap)
      nap = deadline_ms - jd_unix_ms() > 0 ? deadline_ms - jd_unix_ms() : 1;
    struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)nap * 1000000L};
    nanosleep(&ts, NULL);
  }
  if (f && tty && *last)
    fputc('\n', f);
  return -1;
}
