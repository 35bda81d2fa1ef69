// test-labels: unit
/* Capped spools and player_<i>.log assembly. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/tmpfile.h"
#include "common/util.h"
#include "match/player_log.h"
#include "support.h"

static char *dir;
static void setup(void) { dir = t_tmpdir("plog"); }
static void teardown(void) { t_rmdir(dir); }
TestSuite(player_log, .init = setup, .fini = teardown);

static char *slurp(const char *path, size_t *len) {
  char *d = NULL;
  cr_assert_eq(jd_read_file(&d, len, path, 1 << 24), 0, "cannot read %s", path);
  return d;
}

Test(player_log, under_the_cap_keeps_everything) {
  char p[512];
  snprintf(p, sizeof p, "%s/s.log", dir);
  jd_log_spool *s = NULL;
  cr_assert_eq(jd_log_spool_open(&s, p, 10), 0);
  bool full = true;
  cr_assert_eq(jd_log_spool_write(s, "hello", 5, &full), 0);
  cr_assert_not(full);
  cr_assert_eq(jd_log_spool_write(s, "world", 5, &full), 0); /* exactly the cap: fine */
  cr_assert_not(full);
  cr_assert_not(jd_log_spool_truncated(s));
  cr_assert_eq(jd_log_spool_close(s), 0);
  size_t len;
  char *d = slurp(p, &len);
  cr_assert_str_eq(d, "helloworld");
  free(d);
}

Test(player_log, past_the_cap_cuts_marks_and_reports_once_then_drops) {
  char p[512];
  snprintf(p, sizeof p, "%s/s.log", dir);
  jd_log_spool *s = NULL;
  cr_assert_eq(jd_log_spool_open(&s, p, 8), 0);
  bool full = true;
  cr_assert_eq(jd_log_spool_write(s, "12345", 5, &full), 0);
  cr_assert_not(full);
  cr_assert_eq(jd_log_spool_write(s, "6789abc", 7, &full), 0);
  cr_assert(full);
  cr_assert(jd_log_spool_truncated(s));
  cr_assert_eq(jd_log_spool_write(s, "more", 4, &full), 0);
  cr_assert(full);
  cr_assert_eq(jd_log_spool_close(s), 0);
  size_t len;
  char *d = slurp(p, &len);
  char want[256];
  snprintf(want, sizeof want, "12345678" JD_LOG_MARKER_FMT, (size_t)8);
  cr_assert_str_eq(d, want);
  free(d);
}

Test(player_log, instances_appended_in_order_with_separators) {
  char a[512], b[512], dst[512], missing[512];
  snprintf(a, sizeof a, "%s/a.log", dir);
  snprintf(b, sizeof b, "%s/b.log", dir);
  snprintf(missing, sizeof missing, "%s/none.log", dir);
  snprintf(dst, sizeof dst, "%s/player_0.log", dir);
  jd_write_file(a, "from a\n", 7);
  jd_write_file(b, "from b, no newline", 18);
  int fd = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  cr_assert_geq(fd, 0);
  cr_assert_eq(jd_player_log_append(fd, "===== p0 =====", a), 0);
  cr_assert_eq(jd_player_log_append(fd, "===== p1 =====", b), 0);
  cr_assert_eq(jd_player_log_append(fd, "===== p2 =====", missing), 0);
  cr_assert_eq(jd_player_log_append(fd, NULL, b), 0);
  close(fd);
  size_t len;
  char *d = slurp(dst, &len);
  cr_assert_str_eq(d, "===== p0 =====\nfrom a\n===== p1 =====\nfrom b, no newline\n"
                      "===== p2 =====\nfrom b, no newline");
  free(d);
}

Test(player_log, open_fails_cleanly) {
  jd_log_spool *s = (jd_log_spool *)1;
  cr_assert_eq(jd_log_spool_open(&s, "/nonexistent-dir/x.log", 10), -1);
  cr_assert_null(s);
  cr_assert_eq(jd_log_spool_close(NULL), 0);
}
