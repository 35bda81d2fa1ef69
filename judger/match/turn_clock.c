/* One player's turn clock (see turn_clock.h): integer ns, every sum
 * saturated so that no reading, however hostile, overflows. */
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "match/turn_clock.h"

static int64_t sat_add(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_add_overflow(a, b, &r))
    return b > 0 ? INT64_MAX : INT64_MIN;
  return r;
}

/* What the open turn has used at reading now: never negative (a reading
 * that goes back counts as none), saturated at INT64_MAX. */
static int64_t used_at(const jd_turn_clock *c, int64_t now) {
  int64_t r;
  if (__builtin_sub_overflow(now, c->start, &r))
    return now > c->start ? INT64_MAX : 0;
  return r > 0 ? r : 0;
}

void jd_turn_clock_init(jd_turn_clock *c, int64_t bank_ns, int64_t increment_ns) {
  memset(c, 0, sizeof *c);
  c->bank_ns = bank_ns > 0 ? (bank_ns < JD_TURN_BANK_MAX_NS ? bank_ns : JD_TURN_BANK_MAX_NS) : 0;
  c->increment_ns = increment_ns > 0 ? increment_ns : 0;
}

int jd_turn_clock_begin(jd_turn_clock *c, int64_t budget_ns, int64_t now, char *err,
                        size_t errlen) {
  if (c->open)
    return jd_fail(err, errlen, "a turn is already open");
  if (budget_ns < 0)
    return jd_fail(err, errlen, "negative budget");
  c->open = true;
  c->timed_out = false;
  c->budget_ns = budget_ns;
  c->start = now;
  c->ran_out_ns = 0;
  return 0;
}

int64_t jd_turn_clock_left(const jd_turn_clock *c, int64_t now) {
  if (!c->open)
    return INT64_MAX;
  if (c->timed_out)
    return 0;
  /* Out when u > B + K, so B + K - u + 1 ns are left: B + K - u lies in
   * [-INT64_MAX, INT64_MAX] and only the + 1 can overflow. */
  int64_t room = sat_add(c->budget_ns, c->bank_ns) - used_at(c, now);
  return room == INT64_MAX ? INT64_MAX : room + 1;
}

/* Room for one more turn's time in the record (the turn already counted):
 * doubles up to JD_TURN_RECORD_MAX. Returns false when full or out of
 * memory: the figures then stop growing, the counts go on. Once a growth
 * has failed (turns went unrecorded), it is tried again only at every
 * power of two of turns, not at every turn. */
static bool record_room(jd_turn_clock *c) {
  if (c->nused < c->cap)
    return true;
  if (c->cap >= JD_TURN_RECORD_MAX)
    return false;
  bool lost = (uint64_t)c->turns > (uint64_t)c->nused + 1;
  if (lost && (c->turns & (c->turns - 1)))
    return false;
  size_t cap = c->cap ? c->cap * 2 : 64;
  if (cap > JD_TURN_RECORD_MAX)
    cap = JD_TURN_RECORD_MAX;
  int64_t *p = realloc(c->used, cap * sizeof *p);
  if (!p)
    return false;
  c->used = p;
  c->cap = cap;
  return true;
}

/* Counts a turn that used u (ended or run out). */
static void count_turn(jd_turn_clock *c, int64_t used, int64_t overrun) {
  c->turns++;
  if (overrun > 0 || c->timed_out)
    c->overruns++;
  if (c->timed_out)
    c->timeouts++;
  if (used > c->max_ns)
    c->max_ns = used;
  if (record_room(c))
    c->used[c->nused++] = used;
}

static void outcome(jd_turn_outcome *out, const jd_turn_clock *c, int64_t used) {
  out->turn = c->turns;
  out->used_ns = used;
  out->budget_ns = c->budget_ns;
  out->overrun_ns = used > c->budget_ns ? used - c->budget_ns : 0;
  out->bank_ns = c->bank_ns;
}

int jd_turn_clock_timeout(jd_turn_outcome *out, jd_turn_clock *c, int64_t now) {
  if (!c->open || c->timed_out)
    return -1;
  int64_t used = used_at(c, now);
  c->timed_out = true;
  c->ran_out_ns = used;
  c->bank_ns = 0;
  count_turn(c, used, used > c->budget_ns ? used - c->budget_ns : 0);
  outcome(out, c, used);
  return 0;
}

int jd_turn_clock_end(jd_turn_outcome *out, jd_turn_clock *c, int64_t now) {
  if (!c->open)
    return -1;
  c->open = false;
  if (c->timed_out) { /* counted when it ran out */
    outcome(out, c, c->ran_out_ns);
    return 0;
  }
  int64_t used = used_at(c, now);
  int64_t overrun = used > c->budget_ns ? used - c->budget_ns : 0;
  if (overrun > c->bank_ns) { /* ran out unseen: a timeout, as the watcher would have said */
    c->timed_out = true;
    c->ran_out_ns = used;
    c->bank_ns = 0;
    count_turn(c, used, overrun);
    outcome(out, c, used);
    return 0;
  }
  c->bank_ns -= overrun;
  count_turn(c, used, overrun);
  c->bank_ns = sat_add(c->bank_ns, c->increment_ns);
  if (c->bank_ns > JD_TURN_BANK_MAX_NS)
    c->bank_ns = JD_TURN_BANK_MAX_NS;
  outcome(out, c, used);
  return 0;
}

static int cmp_ns(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

/* The k-th smallest (1-based) of v[0..n) without memory: the least x with
 * at least k values <= x, by bisection over [0, max]. O(n * 64); used when
 * no copy can be sorted. */
static int64_t kth_by_count(const int64_t *v, size_t n, size_t k, int64_t max) {
  int64_t lo = 0, hi = max;
  while (lo < hi) {
    int64_t mid = lo + (hi - lo) / 2;
    size_t le = 0;
    for (size_t i = 0; i < n; i++)
      le += v[i] <= mid;
    if (le >= k)
      hi = mid;
    else
      lo = mid + 1;
  }
  return lo;
}

/* Nearest rank of percentile p among n values: ceil(p * n / 100), at least 1. */
static size_t rank_of(size_t n, unsigned p) {
  size_t r = (n / 100) * p + ((n % 100) * p + 99) / 100;
  return r ? r : 1;
}

void jd_turn_clock_stats(jd_turn_stats *out, const jd_turn_clock *c) {
  memset(out, 0, sizeof *out);
  out->turns = c->turns;
  out->overruns = c->overruns;
  out->timeouts = c->timeouts;
  out->max_ns = c->max_ns;
  out->bank_ns = c->bank_ns;
  size_t n = c->nused;
  if (!n)
    return;
  size_t rm = rank_of(n, 50), r95 = rank_of(n, 95);
  int64_t *sorted = malloc(n * sizeof *sorted);
  if (!sorted) {
    int64_t max = 0;
    for (size_t i = 0; i < n; i++)
      max = c->used[i] > max ? c->used[i] : max;
    out->median_ns = kth_by_count(c->used, n, rm, max);
    out->p95_ns = kth_by_count(c->used, n, r95, max);
    return;
  }
  memcpy(sorted, c->used, n * sizeof *sorted);
  qsort(sorted, n, sizeof *sorted, cmp_ns);
  out->median_ns = sorted[rm - 1];
  out->p95_ns = sorted[r95 - 1];
  free(sorted);
}

void jd_turn_clock_free(jd_turn_clock *c) {
  if (!c)
    return;
  free(c->used);
  c->used = NULL;
  c->nused = c->cap = 0;
}
