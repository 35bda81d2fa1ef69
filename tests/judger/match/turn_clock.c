// test-labels: unit
/* The turn clock's arithmetic: budgets, the time bank and its increment,
 * timeouts, and the record of turns (counts and nearest-rank percentiles). */
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "match/turn_clock.h"
#include "support.h"

#define MS ((int64_t)1000000)
#define HOUR (3600 * 1000 * MS)

/* One turn from reading t0 that uses u; returns its outcome. */
static jd_turn_outcome play(jd_turn_clock *c, int64_t budget, int64_t t0, int64_t u) {
  char err[128] = "";
  cr_assert_eq(jd_turn_clock_begin(c, budget, t0, err, sizeof err), 0, "%s", err);
  jd_turn_outcome o;
  cr_assert_eq(jd_turn_clock_end(&o, c, t0 + u), 0);
  return o;
}

Test(turn_clock, under_budget_leaves_the_bank_and_adds_the_increment) {
  jd_turn_clock c;
  jd_turn_clock_init(&c, 500 * MS, 10 * MS);
  jd_turn_outcome o = play(&c, 100 * MS, 7 * MS, 40 * MS);
  cr_assert_eq(o.turn, 1);
  cr_assert_eq(o.used_ns, 40 * MS);
  cr_assert_eq(o.budget_ns, 100 * MS);
  cr_assert_eq(o.overrun_ns, 0);
  cr_assert_eq(o.bank_ns, 510 * MS, "bank unchanged, then the increment");
  cr_assert_eq(c.overruns, 0);
  /* Exactly the budget is no overrun either. */
  o = play(&c, 100 * MS, 1000 * MS, 100 * MS);
  cr_assert_eq(o.overrun_ns, 0);
  cr_assert_eq(o.bank_ns, 520 * MS);
  cr_assert_eq(o.turn, 2);
  jd_turn_clock_free(&c);
}

Test(turn_clock, overrun_is_drawn_from_the_bank) {
  jd_turn_clock c;
  jd_turn_clock_init(&c, 500 * MS, 0);
  jd_turn_outcome o = play(&c, 100 * MS, 0, 350 * MS);
  cr_assert_eq(o.overrun_ns, 250 * MS);
  cr_assert_eq(o.bank_ns, 250 * MS);
  cr_assert_eq(c.overruns, 1);
  cr_assert_eq(c.timeouts, 0);
  cr_assert_not(c.timed_out);
  /* With an increment: drawn first, then added. */
  jd_turn_clock_free(&c);
  jd_turn_clock_init(&c, 500 * MS, 30 * MS);
  o = play(&c, 100 * MS, 0, 101 * MS);
  cr_assert_eq(o.overrun_ns, 1 * MS);
  cr_assert_eq(o.bank_ns, 529 * MS);
  jd_turn_clock_free(&c);
}

Test(turn_clock, ending_exactly_at_budget_plus_bank_is_no_timeout) {
  jd_turn_clock c;
  jd_turn_clock_init(&c, 200 * MS, 5 * MS);
  char err[128];
  cr_assert_eq(jd_turn_clock_begin(&c, 100 * MS, 1000, err, sizeof err), 0);
  cr_assert_eq(jd_turn_clock_left(&c, 1000 + 300 * MS), 1, "1 ns left at B + K");
  jd_turn_outcome o;
  cr_assert_eq(jd_turn_clock_end(&o, &c, 1000 + 300 * MS), 0);
  cr_assert_eq(o.overrun_ns, 200 * MS);
  cr_assert_eq(o.bank_ns, 5 * MS, "bank 0, then the increment");
  cr_assert_eq(c.timeouts, 0);
  cr_assert_eq(c.overruns, 1);
  cr_assert_not(c.timed_out);
  jd_turn_clock_free(&c);
}

Test(turn_clock, left_at_various_readings) {
  jd_turn_clock c;
  jd_turn_clock_init(&c, 50 * MS, 0);
  cr_assert_eq(jd_turn_clock_left(&c, 0), INT64_MAX, "no turn open");
  char err[128];
  cr_assert_eq(jd_turn_clock_begin(&c, 100 * MS, 5 * MS, err, sizeof err), 0);
  cr_assert_eq(jd_turn_clock_left(&c, 5 * MS), 150 * MS + 1);
  cr_assert_eq(jd_turn_clock_left(&c, 0), 150 * MS + 1, "a reading that goes back: none used");
  cr_assert_eq(jd_turn_clock_left(&c, 105 * MS), 50 * MS + 1, "budget spent, bank left");
  cr_assert_eq(jd_turn_clock_left(&c, 155 * MS + 1), 0, "out");
  cr_assert_lt(jd_turn_clock_left(&c, 10000 * MS), 0);
  cr_assert_lt(jd_turn_clock_left(&c, INT64_MAX), 0, "no overflow at the largest reading");
  jd_turn_outcome o;
  cr_assert_eq(jd_turn_clock_end(&o, &c, 6 * MS), 0);
  cr_assert_eq(jd_turn_clock_left(&c, 6 * MS), INT64_MAX, "closed");
  /* Extreme readings: a start at INT64_MIN read at INT64_MAX saturates. */
  cr_assert_eq(jd_turn_clock_begin(&c, HOUR, INT64_MIN, err, sizeof err), 0);
  cr_assert_lt(jd_turn_clock_left(&c, INT64_MAX), 0);
  cr_assert_eq(jd_turn_clock_left(&c, INT64_MIN), HOUR + 50 * MS + 1);
  jd_turn_clock_free(&c);
}

Test(turn_clock, misuse_is_refused) {
  jd_turn_clock c;
  jd_turn_clock_init(&c, 0, 0);
  jd_turn_outcome o;
  char err[128] = "";
  cr_assert_eq(jd_turn_clock_end(&o, &c, 0), -1, "end with none open");
  cr_assert_eq(jd_turn_clock_timeout(&o, &c, 0), -1, "timeout with none open");
  cr_assert_eq(jd_turn_clock_begin(&c, -1, 0, err, sizeof err), -1);
  cr_assert(strstr(err, "negative"), "%s", err);
  cr_assert_eq(jd_turn_clock_begin(&c, 10, 0, err, sizeof err), 0);
  cr_assert_eq(jd_turn_clock_begin(&c, 10, 5, err, sizeof err), -1, "begin while open");
  cr_assert(strstr(err, "already open"), "%s", err);
  cr_assert_eq(jd_turn_clock_timeout(&o, &c, 20), 0);
  cr_assert_eq(jd_turn_clock_timeout(&o, &c, 30), -1, "timeout twice");
  cr_assert_eq(jd_turn_clock_end(&o, &c, 40), 0);
  cr_assert_eq(jd_turn_clock_end(&o, &c, 50), -1, "ended twice");
  cr_assert_eq(c.turns, 1);
  jd_turn_clock_free(&c);
}

Test(turn_clock, timeout_empties_the_bank_and_end_records_it_once) {
  jd_turn_clock c;
  jd_turn_clock_init(&c, 200 * MS, 50 * MS);
  char err[128];
  cr_assert_eq(jd_turn_clock_begin(&c, 100 * MS, 0, err, sizeof err), 0);
  jd_turn_outcome o;
  cr_assert_eq(jd_turn_clock_timeout(&o, &c, 300 * MS + 1), 0);
  cr_assert_eq(o.turn, 1);
  cr_assert_eq(o.used_ns, 300 * MS + 1);
  cr_assert_eq(o.overrun_ns, 200 * MS + 1);
  cr_assert_eq(o.bank_ns, 0);
  cr_assert(c.open, "stays open until ended");
  cr_assert_eq(jd_turn_clock_left(&c, 300 * MS + 1), 0);
  cr_assert_eq(c.turns, 1);
  cr_assert_eq(c.timeouts, 1);
  cr_assert_eq(c.overruns, 1);
  /* Frozen, then ended later: charged what it used when it ran out, no
   * increment, not counted again. */
  cr_assert_eq(jd_turn_clock_end(&o, &c, 900 * MS), 0);
  cr_assert_eq(o.turn, 1);
  cr_assert_eq(o.used_ns, 300 * MS + 1);
  cr_assert_eq(o.overrun_ns, 200 * MS + 1);
  cr_assert_eq(o.bank_ns, 0);
  cr_assert(c.timed_out, "the ended turn ran out");
  cr_assert_eq(c.turns, 1);
  cr_assert_eq(c.timeouts, 1);
  cr_assert_eq(c.nused, 1);
  cr_assert_eq(c.max_ns, 300 * MS + 1);
  /* It plays on with an empty bank; the increment comes back after a normal end. */
  o = play(&c, 100 * MS, 1000 * MS, 20 * MS);
  cr_assert_eq(o.turn, 2);
  cr_assert_eq(o.bank_ns, 50 * MS);
  cr_assert_not(c.timed_out);
  jd_turn_clock_free(&c);
}

/* The wall-time guard of a CPU-clocked turn may time a turn out before its
 * CPU budget is spent: still a timeout and an overrun, with no overrun time. */
Test(turn_clock, timeout_before_the_budget_is_spent) {
  jd_turn_clock c;
  jd_turn_clock_init(&c, 100 * MS, 0);
  char err[128];
  cr_assert_eq(jd_turn_clock_begin(&c, 100 * MS, 0, err, sizeof err), 0);
  jd_turn_outcome o;
  cr_assert_eq(jd_turn_clock_timeout(&o, &c, 3 * MS), 0);
  cr_assert_eq(o.overrun_ns, 0);
  cr_assert_eq(o.bank_ns, 0);
  cr_assert_eq(c.timeouts, 1);
  cr_assert_eq(c.overruns, 1);
  jd_turn_clock_free(&c);
}

/* turn_end read before the watcher saw the turn run out: a timeout all the same. */
Test(turn_clock, end_past_budget_plus_bank_is_a_timeout) {
  jd_turn_clock c;
  jd_turn_clock_init(&c, 100 * MS, 10 * MS);
  jd_turn_outcome o = play(&c, 100 * MS, 0, 200 * MS + 1);
  cr_assert_eq(o.overrun_ns, 100 * MS + 1);
  cr_assert_eq(o.bank_ns, 0, "no increment after a timeout");
  cr_assert(c.timed_out);
  cr_assert_eq(c.timeouts, 1);
  cr_assert_eq(c.overruns, 1);
  cr_assert_eq(c.turns, 1);
  jd_turn_clock_free(&c);
}

Test(turn_clock, bank_saturates_instead_of_overflowing) {
  jd_turn_clock c;
  jd_turn_clock_init(&c, INT64_MAX - 5, HOUR);
  jd_turn_outcome o = play(&c, HOUR, 0, 1);
  cr_assert_eq(o.bank_ns, JD_TURN_BANK_MAX_NS, "the bank stops at its cap");
  cr_assert_eq(jd_turn_clock_left(&c, INT64_MAX), INT64_MAX, "closed");
  char err[128];
  cr_assert_eq(jd_turn_clock_begin(&c, INT64_MAX, 0, err, sizeof err), 0);
  cr_assert_eq(jd_turn_clock_left(&c, 0), INT64_MAX, "B + K saturated: no overflow");
  cr_assert_gt(jd_turn_clock_left(&c, INT64_MAX), 0);
  jd_turn_clock_free(&c);
  /* Negative bank or increment given: none. */
  jd_turn_clock_init(&c, -5, -7);
  cr_assert_eq(c.bank_ns, 0);
  cr_assert_eq(c.increment_ns, 0);
  jd_turn_clock_free(&c);
}

Test(turn_clock, stats_of_turns_1_to_100) {
  jd_turn_clock c;
  jd_turn_clock_init(&c, 0, 0);
  /* In a shuffled order: the percentiles sort. */
  for (int i = 0; i < 100; i++) {
    int64_t u = (int64_t)((i * 37) % 100 + 1) * MS;
    play(&c, 60 * MS, i * 1000 * MS, u);
  }
  jd_turn_stats s;
  jd_turn_clock_stats(&s, &c);
  cr_assert_eq(s.turns, 100);
  cr_assert_eq(s.max_ns, 100 * MS);
  cr_assert_eq(s.median_ns, 50 * MS, "nearest rank: the 50th of 100");
  cr_assert_eq(s.p95_ns, 95 * MS);
  /* Budget 60 with no bank: 61..100 timed out at their end. */
  cr_assert_eq(s.timeouts, 40);
  cr_assert_eq(s.overruns, 40);
  cr_assert_eq(s.bank_ns, 0);
  jd_turn_clock_free(&c);
}

Test(turn_clock, stats_of_one_turn_of_a_few_and_of_none) {
  jd_turn_clock c;
  jd_turn_clock_init(&c, 0, 0);
  jd_turn_stats s;
  jd_turn_clock_stats(&s, &c);
  jd_turn_stats zero;
  memset(&zero, 0, sizeof zero);
  cr_assert(!memcmp(&s, &zero, sizeof s), "an empty clock: all zero");
  play(&c, MS, 0, 7);
  jd_turn_clock_stats(&s, &c);
  cr_assert_eq(s.turns, 1);
  cr_assert_eq(s.max_ns, 7);
  cr_assert_eq(s.median_ns, 7);
  cr_assert_eq(s.p95_ns, 7);
  /* 1..3: median rank ceil(1.5) = 2, p95 rank ceil(2.85) = 3. */
  play(&c, MS, 0, 3);
  play(&c, MS, 0, 5);
  jd_turn_clock_stats(&s, &c);
  cr_assert_eq(s.median_ns, 5);
  cr_assert_eq(s.p95_ns, 7);
  jd_turn_clock_free(&c);
  /* The bank is reported without turns. */
  jd_turn_clock_init(&c, 4 * MS, 0);
  jd_turn_clock_stats(&s, &c);
  cr_assert_eq(s.bank_ns, 4 * MS);
  cr_assert_eq(s.turns, 0);
  jd_turn_clock_free(&c);
  jd_turn_clock_free(NULL);
}

Test(turn_clock, the_record_grows_over_ten_thousand_turns) {
  jd_turn_clock c;
  jd_turn_clock_init(&c, 0, 0);
  for (int64_t i = 1; i <= 10000; i++)
    play(&c, 20000, i * 100000, i);
  cr_assert_eq(c.nused, 10000);
  cr_assert_geq(c.cap, c.nused);
  jd_turn_stats s;
  jd_turn_clock_stats(&s, &c);
  cr_assert_eq(s.turns, 10000);
  cr_assert_eq(s.max_ns, 10000);
  cr_assert_eq(s.median_ns, 5000);
  cr_assert_eq(s.p95_ns, 9500);
  cr_assert_eq(s.timeouts, 0);
  jd_turn_clock_free(&c);
  cr_assert_null(c.used);
}

/* A full record (JD_TURN_RECORD_MAX is a macro: the clock is made to
 * look full) stops the figures, not the counts. */
Test(turn_clock, a_full_record_stops_the_figures_not_the_counts) {
  jd_turn_clock c;
  jd_turn_clock_init(&c, 0, 0);
  for (int64_t i = 1; i <= 10; i++)
    play(&c, 100, 0, i);
  size_t nused = c.nused, cap = c.cap;
  c.nused = c.cap = JD_TURN_RECORD_MAX;
  jd_turn_outcome o = play(&c, 100, 0, 90);
  cr_assert_eq(o.turn, 11);
  cr_assert_eq(c.nused, JD_TURN_RECORD_MAX, "nothing written past the record");
  c.nused = nused;
  c.cap = cap;
  jd_turn_stats s;
  jd_turn_clock_stats(&s, &c);
  cr_assert_eq(s.turns, 11);
  cr_assert_eq(s.max_ns, 90, "the max counts every turn");
  cr_assert_eq(s.median_ns, 5, "the percentiles are of the recorded ones");
  jd_turn_clock_free(&c);
}

/* Virtual memory of this process, bytes (/proc/self/statm), or -1. */
static long long vm_size(void) {
  FILE *f = fopen("/proc/self/statm", "r");
  long long pages = -1;
  if (!f)
    return -1;
  if (fscanf(f, "%lld", &pages) != 1)
    pages = -1;
  fclose(f);
  return pages < 0 ? -1 : pages * 4096;
}

/* Out of memory for the record is no error: the turns go on being counted
 * and the percentiles are of those recorded. The address space is capped a
 * few MiB above what the test process uses (Criterion runs each test in its
 * own process). */
Test(turn_clock, out_of_memory_for_the_record_is_not_an_error) {
#if defined(__SANITIZE_ADDRESS__)
  cr_skip_test("AddressSanitizer reserves more address space than the cap");
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
  cr_skip_test("AddressSanitizer reserves more address space than the cap");
#endif
#endif
  long long vm = vm_size();
  if (vm < 0)
    cr_skip_test("no /proc/self/statm");
  struct rlimit rl = {.rlim_cur = (rlim_t)vm + (3 << 20), .rlim_max = RLIM_INFINITY};
  struct rlimit old;
  cr_assert_eq(getrlimit(RLIMIT_AS, &old), 0);
  rl.rlim_max = old.rlim_max;
  cr_assert_eq(setrlimit(RLIMIT_AS, &rl), 0);
  jd_turn_clock c;
  jd_turn_clock_init(&c, 0, 0);
  const int64_t n = 600000; /* 4.8 MB of record: more than the cap allows, less than the max */
  int fails = 0;
  for (int64_t i = 1; i <= n; i++) {
    jd_turn_outcome o;
    fails += jd_turn_clock_begin(&c, n, 0, NULL, 0) != 0;
    fails += jd_turn_clock_end(&o, &c, i) != 0;
  }
  jd_turn_stats s;
  jd_turn_clock_stats(&s, &c);
  size_t k = c.nused;
  setrlimit(RLIMIT_AS, &old);
  cr_assert_eq(fails, 0);
  cr_assert_lt(k, (size_t)n, "the record stopped growing");
  cr_assert_gt(k, 0);
  cr_assert_eq(s.turns, n);
  cr_assert_eq(s.max_ns, n);
  /* The recorded turns are 1..k: nearest ranks of those. */
  cr_assert_eq(s.median_ns, (int64_t)((k + 1) / 2));
  cr_assert_eq(s.p95_ns, (int64_t)((k * 95 + 99) / 100));
  jd_turn_clock_free(&c);
}

Test(turn_clock, the_bank_never_passes_its_cap) {
  /* An hour of increment a turn over a million turns would overflow the
   * sums of budget, bank and deadlines: the bank stops at 24 h. */
  jd_turn_clock c;
  jd_turn_clock_init(&c, INT64_MAX, (int64_t)3600 * 1000000000);
  cr_assert_eq(c.bank_ns, JD_TURN_BANK_MAX_NS);
  for (int i = 0; i < 100; i++) {
    jd_turn_outcome o;
    cr_assert_eq(jd_turn_clock_begin(&c, 1000000, 0, NULL, 0), 0);
    cr_assert_eq(jd_turn_clock_end(&o, &c, 1), 0);
    cr_assert_leq(o.bank_ns, JD_TURN_BANK_MAX_NS);
  }
  cr_assert_eq(c.bank_ns, JD_TURN_BANK_MAX_NS);
  /* Budget + bank + a factor of 100 still fit an int64 of ns. */
  int64_t span;
  cr_assert_not(__builtin_mul_overflow(JD_TURN_BANK_MAX_NS + (int64_t)3600 * 1000000000,
                                       (int64_t)100, &span));
  jd_turn_clock_free(&c);
}
