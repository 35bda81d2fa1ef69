// test-labels: unit
/* queue/eta.c: the taskset ETA's arithmetic, cases computed by hand. */
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
