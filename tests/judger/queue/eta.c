// test-labels: unit
/* queue/eta.c: the taskset ETA's arithmetic, cases computed by hand. */
#include <math.h>
#include <stdint.h>

#include "queue/eta.h"
#include "support.h"

static jd_eta_out eta(const jd_eta_member *m, size_t n, int64_t slots, int64_t done, int64_t total,
                      int64_t started, int64_t now) {
  jd_eta_in in = {m, n, slots, done, total, started, now};
  jd_eta_out out;
  jd_eta_compute(&out, &in);
  return out;
}

Test(eta, nothing_left_is_zero) {
  jd_eta_out o = eta(NULL, 0, 4, 10, 10, 1000, 5000);
  cr_assert_eq(o.eta_ms, 0);
}

Test(eta, a_class_without_history_is_unknown) {
  jd_eta_member m[] = {{1000, false, 0}, {-1, false, 0}};
  jd_eta_out o = eta(m, 2, 4, 0, 2, 0, 5000);
  cr_assert_eq(o.eta_ms, -1);
  cr_assert_eq(o.fleet_ms, -1);
}

Test(eta, queued_work_is_spread_over_the_slots) {
  /* 8 queued of 1 s on 4 slots: 2 s. */
  jd_eta_member m[8];
  for (int i = 0; i < 8; i++)
    m[i] = (jd_eta_member){1000, false, 0};
  jd_eta_out o = eta(m, 8, 4, 0, 8, 0, 5000);
  cr_assert_eq(o.work_ms, 8000);
  cr_assert_eq(o.fleet_ms, 2000);
  cr_assert_eq(o.own_ms, -1, "nothing done yet: no throughput");
  cr_assert_eq(o.eta_ms, 2000);
  /* No live slot counts as one. */
  cr_assert_eq(eta(m, 8, 0, 0, 8, 0, 5000).eta_ms, 8000);
}

Test(eta, the_longest_running_member_bounds_it_from_below) {
  /* One running 60 s match 10 s in (50 s left), two queued 1 s ones, 100
   * slots: work 52 s / 100 is far below the 50 s still to run. */
  jd_eta_member m[] = {{60000, true, 10000}, {1000, false, 0}, {1000, false, 0}};
  jd_eta_out o = eta(m, 3, 100, 0, 3, 1, 5000);
  cr_assert_eq(o.work_ms, 52000);
  cr_assert_eq(o.fleet_ms, 50000);
  /* A run past its class's mean has nothing left (not a negative time). */
  jd_eta_member late[] = {{1000, true, 5000}};
  cr_assert_eq(eta(late, 1, 1, 0, 1, 1, 5000).eta_ms, 0);
}

Test(eta, own_throughput_blends_in_once_a_tenth_is_done) {
  /* 100 members, 9 done: below 10%, fleet only. */
  jd_eta_member m[91];
  for (int i = 0; i < 91; i++)
    m[i] = (jd_eta_member){1000, false, 0};
  jd_eta_out o = eta(m, 91, 1, 9, 100, 10000, 19000);
  cr_assert_eq(o.own_ms, -1);
  cr_assert_eq(o.eta_ms, 91000);
  /* 10 done in 20 s: 0.5 a second; 90 left: 180 s; fleet 90 s; mean 135 s. */
  o = eta(m, 90, 1, 10, 100, 10000, 30000);
  cr_assert_eq(o.fleet_ms, 90000);
  cr_assert_eq(o.own_ms, 180000);
  cr_assert_eq(o.eta_ms, 135000);
}

Test(eta, unknown_class_wins_over_throughput) {
  jd_eta_member m[] = {{-1, false, 0}};
  jd_eta_out o = eta(m, 1, 1, 9, 10, 1000, 11000);
  cr_assert_eq(o.own_ms, 1111);
  cr_assert_eq(o.eta_ms, -1);
}

/* ---- how good it is: a simulated taskset (docs/tasksets.md "ETA") ----
 * n members on `slots` slots, in order; member durations uniform in
 * [real/2, 3 real/2] (a fixed LCG); the class history says `hist`. At 10,
 * 25, 50 and 75% done, the ETA against the time really left: the mean
 * absolute error in percent, of the fleet estimate alone and of the blend. */
#define SIM_N 200
static uint32_t lcg = 12345;
static int64_t rnd(int64_t lo, int64_t hi) {
  lcg = lcg * 1103515245u + 12345u;
  return lo + (int64_t)((lcg >> 8) % (uint32_t)(hi - lo + 1));
}

static void simulate(double *err_fleet, double *err_blend, int64_t real, int64_t hist, int slots) {
  int64_t dur[SIM_N], start[SIM_N], end[SIM_N], slot_free[64] = {0};
  const int64_t t0 = 1000000;
  for (int i = 0; i < SIM_N; i++) {
    dur[i] = rnd(real / 2, real * 3 / 2);
    int s = 0;
    for (int k = 1; k < slots; k++)
      if (slot_free[k] < slot_free[s])
        s = k;
    start[i] = t0 + slot_free[s];
    slot_free[s] += dur[i];
    end[i] = t0 + slot_free[s];
  }
  int64_t last = 0;
  for (int i = 0; i < SIM_N; i++)
    last = end[i] > last ? end[i] : last;
  const int marks[] = {10, 25, 50, 75};
  *err_fleet = *err_blend = 0;
  for (size_t m = 0; m < 4; m++) {
    /* The moment the mark's member ends (ends sorted by a scan). */
    int want = SIM_N * marks[m] / 100;
    int64_t now = 0;
    for (int64_t t = t0;; t += 10) {
      int done = 0;
      for (int i = 0; i < SIM_N; i++)
        done += end[i] <= t;
      if (done >= want) {
        now = t;
        break;
      }
    }
    jd_eta_member left[SIM_N];
    size_t n = 0;
    int64_t done = 0;
    for (int i = 0; i < SIM_N; i++) {
      if (end[i] <= now)
        done++;
      else
        left[n++] = (jd_eta_member){hist, start[i] <= now, start[i] <= now ? now - start[i] : 0};
    }
    jd_eta_in in = {left, n, slots, done, SIM_N, t0, now};
    jd_eta_out o;
    jd_eta_compute(&o, &in);
    double truth = (double)(last - now);
    *err_fleet += fabs((double)o.fleet_ms - truth) / truth * 25.0;
    *err_blend += fabs((double)o.eta_ms - truth) / truth * 25.0;
  }
}

Test(eta, simulated_error) {
  double f1, b1, f2, b2, f3, b3;
  simulate(&f1, &b1, 1000, 1000, 8); /* the history is right */
  simulate(&f2, &b2, 2000, 1000, 8); /* it says half the real time (a slower set) */
  simulate(&f3, &b3, 1000, 2000, 8); /* twice */
  fprintf(stderr,
          "ETA mean abs error, 200 members on 8 slots: history right: fleet %.1f%% blend %.1f%%; "
          "history half: fleet %.1f%% blend %.1f%%; history double: fleet %.1f%% blend %.1f%%\n",
          f1, b1, f2, b2, f3, b3);
  cr_assert_lt(f1, 15.0);
  cr_assert_lt(b2, f2, "the set's own pace corrects a wrong history");
  cr_assert_lt(b3, f3);
}
