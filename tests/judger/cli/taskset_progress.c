// test-labels: unit
/* cli/taskset_view.c: the progress line of `judger status --taskset`: its
 * fields, the bar, stable widths, the ETA's forms and "unknown". */
#include <criterion/criterion.h>
#include <string.h>

#include "cli/taskset_view.h"

static const char *line(const jd_ts_progress *p) {
  static char buf[512];
  jd_ts_progress_line(buf, sizeof buf, p);
  return buf;
}

Test(taskset_progress, the_line_of_the_design) {
  jd_ts_progress p = {.id = "round-7",
                      .state = "running",
                      .total = 200,
                      .done = 90,
                      .running = 4,
                      .queued = 100,
                      .failed = 2,
                      .cancelled = 0,
                      .eta_ms = 192000};
  cr_assert_str_eq(line(&p), "round-7 [#########...........]  45%  90/200 running   4 queued 100 "
                             "failed   2 cancelled   0 ETA 3m12s");
}

Test(taskset_progress, eta_unknown_and_its_forms) {
  jd_ts_progress p = {.id = "s", .state = "running", .total = 3, .done = 1, .eta_ms = -1};
  cr_assert_str_eq(line(&p), "s [######..............]  33% 1/3 running 0 queued 0 failed 0 "
                             "cancelled 0 ETA unknown");
  char d[32];
  jd_duration_text(d, sizeof d, 0);
  cr_assert_str_eq(d, "0s");
  jd_duration_text(d, sizeof d, 200);
  cr_assert_str_eq(d, "1s", "a remaining fraction of a second is not 0s");
  jd_duration_text(d, sizeof d, 59000);
  cr_assert_str_eq(d, "59s");
  jd_duration_text(d, sizeof d, 60000);
  cr_assert_str_eq(d, "1m00s");
  jd_duration_text(d, sizeof d, 3723000);
  cr_assert_str_eq(d, "1h02m");
  jd_duration_text(d, sizeof d, 2 * 86400000LL + 3 * 3600000LL);
  cr_assert_str_eq(d, "2d03h");
  jd_duration_text(d, sizeof d, -1);
  cr_assert_str_eq(d, "unknown");
}

Test(taskset_progress, widths_stay_while_the_counts_move) {
  jd_ts_progress p = {.id = "big", .state = "running", .total = 10000, .eta_ms = -1};
  size_t first = strlen(line(&p));
  int64_t steps[] = {1, 9, 10, 99, 100, 999, 1000, 5000, 9999};
  for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
    p.done = steps[i];
    p.running = steps[i] % 17;
    p.queued = 10000 - steps[i];
    p.failed = steps[i] / 3;
    p.cancelled = steps[i] / 7;
    cr_assert_eq(strlen(line(&p)), first, "%s", line(&p));
    cr_assert_eq(strchr(line(&p), ']') - line(&p), 4 + 1 + 20, "%s", line(&p));
  }
}

Test(taskset_progress, ended_sets_and_bounds) {
  jd_ts_progress p = {.id = "r", .state = "finished", .total = 4, .done = 4, .elapsed_ms = 245000};
  cr_assert_str_eq(line(&p), "r [####################] 100% 4/4 running 0 queued 0 failed 0 "
                             "cancelled 0 finished in 4m05s");
  p.state = "cancelled";
  p.done = 9; /* more than total: held to total */
  cr_assert_not_null(strstr(line(&p), "100% 4/4"), "%s", line(&p));
  cr_assert_not_null(strstr(line(&p), "cancelled in 4m05s"), "%s", line(&p));
  p.total = 0;
  p.done = 0;
  cr_assert_not_null(strstr(line(&p), "[####################] 100% 0/0"), "%s", line(&p));
  char small[8];
  jd_ts_progress_line(small, sizeof small, &p);
  cr_assert_eq(strlen(small), 7, "truncated to the buffer");
}
