// test-labels: unit
/* judger/daemon/disk.c: the water marks and their hysteresis on injected
 * readings, the pause name table, and reclaiming task outputs oldest first
 * (never a running task's, never through a link). */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/tmpfile.h"
#include "common/util.h"
#include "daemon/disk.h"
#include "daemon/guard.h"
#include "support.h"

#define MiB ((uint64_t)1 << 20)

static const jd_disk_marks marks = {
    .low_bytes = 100 * MiB, .high_bytes = 200 * MiB, .low_inodes_pct = 5, .high_inodes_pct = 10};

static jd_disk_reading reading(uint64_t free_mib, uint64_t free_inodes) {
  return (jd_disk_reading){free_mib * MiB, 1000 * MiB, free_inodes, 1000};
}

Test(disk, under_the_low_mark_is_low) {
  jd_disk_reading r = reading(99, 500);
  cr_assert(jd_disk_low(&marks, &r, false));
  r = reading(100, 500);
  cr_assert_not(jd_disk_low(&marks, &r, false), "exactly at the low mark is not under it");
}

Test(disk, few_free_inodes_are_low_too) {
  jd_disk_reading r = reading(900, 49); /* 4.9 % free */
  cr_assert(jd_disk_low(&marks, &r, false));
  r = reading(900, 50);
  cr_assert_not(jd_disk_low(&marks, &r, false));
}

Test(disk, no_inode_limit_never_counts_as_low) {
  jd_disk_reading r = {900 * MiB, 1000 * MiB, 0, 0};
  cr_assert_eq(jd_disk_inodes_pct(&r), 100);
  cr_assert_not(jd_disk_low(&marks, &r, true));
}

/* Readings going down and up across both marks: low from under 100 MiB,
 * fine only from 200 MiB on; in between it stays what it was. */
Test(disk, hysteresis_no_flapping_between_the_marks) {
  const uint64_t mib[] = {300, 150, 99, 120, 180, 199, 150, 200, 150, 101, 99, 250};
  const bool want[] = {false, false, true,  true,  true, true,
                       true,  false, false, false, true, false};
  bool low = false;
  int changes = 0;
  for (size_t i = 0; i < sizeof mib / sizeof mib[0]; i++) {
    jd_disk_reading r = reading(mib[i], 900);
    bool now = jd_disk_low(&marks, &r, low);
    cr_assert_eq(now, want[i], "reading %zu (%llu MiB): low %d, want %d", i,
                 (unsigned long long)mib[i], now, want[i]);
    changes += now != low;
    low = now;
  }
  cr_assert_eq(changes, 4);
}

Test(disk, inodes_need_the_high_mark_to_resume) {
  jd_disk_reading r = reading(900, 70); /* 7 %: between the marks */
  cr_assert(jd_disk_low(&marks, &r, true));
  cr_assert_not(jd_disk_low(&marks, &r, false));
  r = reading(900, 100);
  cr_assert_not(jd_disk_low(&marks, &r, true));
  r = reading(150, 100); /* inodes fine, bytes between the marks */
  cr_assert(jd_disk_low(&marks, &r, true));
}

Test(disk, pause_names_are_one_table) {
  cr_assert_str_eq(jd_pause_name(JD_PAUSE_DISK), "disk low");
  cr_assert_str_eq(jd_pause_name(JD_PAUSE_ENGINE), "engine unreachable");
  cr_assert_str_eq(jd_pause_name(JD_PAUSE_COUNT), "");
  cr_assert_str_eq(jd_guarded_name(JD_GUARDED_STATE), "state_dir");
  cr_assert_str_eq(jd_guarded_name(JD_GUARDED_ENGINE), "engine_root");
  jd_guard_state s = {0};
  cr_assert_eq(jd_guard_paused(&s), JD_PAUSE_COUNT);
  s.paused[JD_PAUSE_DISK] = true;
  cr_assert_eq(jd_guard_paused(&s), JD_PAUSE_DISK);
  s.paused[JD_PAUSE_ENGINE] = true;
  cr_assert_eq(jd_guard_paused(&s), JD_PAUSE_ENGINE, "the engine comes first");
}

Test(disk, a_real_reading_of_tmp) {
  jd_disk_reading r;
  cr_assert_eq(jd_disk_read(&r, "/tmp"), 0);
  cr_assert_gt(r.total_bytes, 0);
  cr_assert_leq(r.free_bytes, r.total_bytes);
  cr_assert_neq(jd_disk_read(&r, "/nonexistent/judger"), 0);
}

/* ---- reclaiming outputs -------------------------------------------------- */

typedef struct fake_disk {
  int removals, needed;
  const char *busy_id;
} fake_disk;

static bool fake_enough(void *ud) {
  fake_disk *f = ud;
  return ++f->removals >= f->needed;
}

static bool fake_busy(void *ud, const char *task_id) {
  fake_disk *f = ud;
  return f->busy_id && !strcmp(task_id, f->busy_id);
}

static void make_output(const char *out, const char *id, time_t age_s) {
  char path[600];
  snprintf(path, sizeof path, "%s/%s", out, id);
  cr_assert_eq(jd_mkdir_p(path, 0755), 0);
  char file[700];
  snprintf(file, sizeof file, "%s/result.json", path);
  cr_assert_eq(jd_write_file(file, "{}", 2), 0);
  struct timespec ts[2] = {{time(NULL) - age_s, 0}, {time(NULL) - age_s, 0}};
  cr_assert_eq(utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW), 0);
}

static bool output_exists(const char *out, const char *id) {
  char path[600];
  snprintf(path, sizeof path, "%s/%s", out, id);
  return jd_path_exists(path);
}

Test(disk, outputs_go_oldest_first_until_enough_never_a_running_one) {
  char *dir = t_tmpdir("reclaim");
  char out[512], victim[600], link[600];
  snprintf(out, sizeof out, "%s/tasks", dir);
  make_output(out, "t-newest", 100);
  make_output(out, "t-middle", 2000);
  make_output(out, "t-running", 3000);
  make_output(out, "t-oldest", 4000);
  /* A link among the outputs is not followed: what it points to stays. */
  snprintf(victim, sizeof victim, "%s/victim", dir);
  cr_assert_eq(jd_mkdir_p(victim, 0755), 0);
  snprintf(link, sizeof link, "%s/t-link", out);
  cr_assert_eq(symlink(victim, link), 0);
  /* The image and artifact steps come first: enough after the 2nd output
   * means 2 checks of those steps + 2 removals (the fake counts calls). */
  fake_disk f = {.needed = 4, .busy_id = "t-running"};
  jd_reclaim_opts o = {.files = true,
                       .state_dir = dir,
                       .out_dir = out,
                       .enough = fake_enough,
                       .busy = fake_busy,
                       .ud = &f};
  jd_reclaim_report rep;
  cr_assert_eq(jd_disk_reclaim(&rep, &o), 0);
  cr_assert(rep.enough);
  cr_assert_eq(rep.images, 0, "no engine: no image step");
  cr_assert_eq(rep.outputs, 2);
  cr_assert_not(output_exists(out, "t-oldest"));
  cr_assert(output_exists(out, "t-running"), "a running task's output stays");
  cr_assert_not(output_exists(out, "t-middle"));
  cr_assert(output_exists(out, "t-newest"), "reclaiming stops once there is enough");
  cr_assert(jd_path_exists(victim));
  t_rmdir(dir);
}

Test(disk, without_enough_every_idle_output_goes) {
  char *dir = t_tmpdir("reclaim-all");
  char out[512];
  snprintf(out, sizeof out, "%s/tasks", dir);
  make_output(out, "a", 100);
  make_output(out, "b", 200);
  fake_disk f = {.needed = 1000};
  jd_reclaim_opts o = {
      .files = true, .state_dir = dir, .out_dir = out, .enough = fake_enough, .ud = &f};
  jd_reclaim_report rep;
  cr_assert_eq(jd_disk_reclaim(&rep, &o), 0);
  cr_assert_not(rep.enough);
  cr_assert_eq(rep.outputs, 2);
  cr_assert_not(output_exists(out, "a"));
  cr_assert_not(output_exists(out, "b"));
  t_rmdir(dir);
}

Test(disk, only_what_frees_the_low_disk_goes) {
  char *dir = t_tmpdir("reclaim-none");
  char out[512];
  snprintf(out, sizeof out, "%s/tasks", dir);
  make_output(out, "a", 100);
  fake_disk f = {.needed = 1000};
  /* The engine's root is low, the state dir is not: outputs stay. */
  jd_reclaim_opts o = {
      .images = true, .state_dir = dir, .out_dir = out, .enough = fake_enough, .ud = &f};
  jd_reclaim_report rep;
  cr_assert_eq(jd_disk_reclaim(&rep, &o), 0);
  cr_assert_eq(rep.outputs, 0);
  cr_assert(output_exists(out, "a"));
  t_rmdir(dir);
}
