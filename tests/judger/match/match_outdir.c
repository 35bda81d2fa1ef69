// test-labels: engine
/* /judger/out cannot fill the host: a tmpfs of out_max in the game-logic
 * container, copied out by judger-hold through a FIFO and extracted with
 * caps on bytes, files and depth (match/hold.h, match_outputs.c). */
#include <dirent.h>
#include <ftw.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <unistd.h>

#include "match_support.h"

static tm_env env;
static void setup(void) { tm_setup(&env); }
static void teardown(void) { tm_teardown(&env); }
TestSuite(outdir, .init = setup, .fini = teardown, .timeout = 180);

/* ---- walking the host's side -------------------------------------------- */

static __thread long long walk_bytes;
static __thread int walk_files, walk_depth;

static int walk_one(const char *path, const struct stat *st, int type, struct FTW *ftw) {
  (void)path;
  walk_bytes += (long long)st->st_blocks * 512;
  if (type == FTW_F && S_ISREG(st->st_mode))
    walk_files++;
  if (ftw->level > walk_depth)
    walk_depth = ftw->level;
  return 0;
}

/* Disk use (bytes), regular files and depth of the tree at dir. */
static long long tree(const char *dir, int *files, int *depth) {
  walk_bytes = 0;
  walk_files = walk_depth = 0;
  nftw(dir, walk_one, 16, FTW_PHYS);
  if (files)
    *files = walk_files;
  if (depth)
    *depth = walk_depth;
  return walk_bytes;
}

typedef struct sampler {
  atomic_bool stop;
  long long max_state, max_out;
  int samples;
} sampler;

/* Measures the state dir and --out while the match runs (a measurement,
 * not a wait: the match's own end stops it). */
static void *sample(void *arg) {
  sampler *s = arg;
  while (!atomic_load(&s->stop)) {
    long long st = tree(env.state, NULL, NULL), out = tree(env.out, NULL, NULL);
    s->max_state = st > s->max_state ? st : s->max_state;
    s->max_out = out > s->max_out ? out : s->max_out;
    s->samples++;
    usleep(10 * 1000);
  }
  return NULL;
}

static jd_match_result *run_mode(const char *id, const char *mode, const char *limits) {
  char *p = tm_program("quiet", "tests/judger/programs/trivial");
  char *config = NULL;
  cr_assert(asprintf(&config, "{\"seed\":1,\"plan\":\"\",\"mode\":\"%s\"}", mode) > 0);
  char *spec = tm_spec(id, p, config, limits);
  jd_match_result *r = tm_run(&env, spec, NULL);
  cr_assert_str_eq(jd_match_status_name(r->status), "finished", "%s", r->reason ? r->reason : "");
  free(spec);
  free(config);
  free(p);
  return r;
}

static bool listed(const jd_match_result *r, const char *name) {
  for (size_t i = 0; i < r->nfiles; i++)
    if (!strcmp(r->files[i], name))
      return true;
  return false;
}

Test(outdir, a_game_writing_1_gib_stops_at_out_max_and_the_host_never_holds_more) {
  sampler s = {0};
  pthread_t t;
  cr_assert_eq(pthread_create(&t, NULL, sample, &s), 0);
  jd_match_result *r = run_mode("fill", "fill", "{\"out_max\":\"8m\"}");
  atomic_store(&s.stop, true);
  pthread_join(t, NULL);
  char *log = tm_read(&env, "game_logic.log", NULL);
  /* Inside: dd failed (ENOSPC) on a tmpfs of 8192 KiB. */
  cr_assert(strstr(log, "dd=1"), "%s", log);
  cr_assert(strstr(log, " 8192 "), "the tmpfs is not 8 MiB: %s", log);
  free(log);
  /* Outside: the file as far as it fit, listed; the state dir (judger-hold,
   * the spools) never near it, --out never past it plus the judger's files. */
  struct stat st;
  char path[600];
  snprintf(path, sizeof path, "%s/big", env.out);
  cr_assert_eq(stat(path, &st), 0);
  cr_assert_leq(st.st_size, 8 << 20);
  cr_assert_gt(st.st_size, 7 << 20);
  cr_assert(listed(r, "big"));
  cr_assert_gt(s.samples, 0);
  cr_assert_lt(s.max_state, 4 << 20, "state dir reached %lld bytes", s.max_state);
  cr_assert_lt(s.max_out, (8 << 20) + (1 << 20), "--out reached %lld bytes", s.max_out);
  jd_match_result_free(r);
  tm_assert_clean(&env);
}

Test(outdir, files_past_the_cap_and_a_2000_level_tree_are_left_out_and_leave_nothing) {
  jd_match_result *r = run_mode("many", "many", NULL);
  char *log = tm_read(&env, "game_logic.log", NULL);
  cr_assert(strstr(log, "levels=2000"), "the game did not build its tree: %s", log);
  free(log);
  /* 10 050 files and events.txt written; 10 000 copied and listed. */
  cr_assert_eq(r->nfiles, 10000);
  int files = 0, depth = 0;
  tree(env.out, &files, &depth);
  /* + result.json, game_logic.log, player_0.log, live.jsonl */
  cr_assert_eq(files, 10000 + 4);
  /* The tree is cut at the cap (64 levels, the leaf at 2001 never copied). */
  cr_assert_leq(depth, 64, "%d levels copied", depth);
  cr_assert_geq(depth, 60, "%d levels copied", depth);
  jd_match_result_free(r);
  tm_assert_clean(&env); /* the work dir is gone */
}

Test(outdir, a_crafted_tar_in_the_fifo_gets_only_what_fits) {
  jd_match_result *r = run_mode("crafted", "crafted", "{\"out_max\":\"1m\"}");
  char *log = tm_read(&env, "game_logic.log", NULL);
  cr_assert(strstr(log, "crafted=ok"), "%s", log);
  free(log);
  char path[600];
  struct stat st;
  cr_assert(listed(r, "small.txt"));
  /* Past out_max: neither created nor listed. */
  cr_assert_not(listed(r, "big.bin"));
  snprintf(path, sizeof path, "%s/big.bin", env.out);
  cr_assert_neq(lstat(path, &st), 0, "big.bin was created");
  /* A link: never reproduced. */
  cr_assert_not(listed(r, "link"));
  snprintf(path, sizeof path, "%s/link", env.out);
  cr_assert_neq(lstat(path, &st), 0, "the link was created");
  /* 71 levels in the tar: nothing past 64 written. */
  int depth = 0;
  tree(env.out, NULL, &depth);
  cr_assert_leq(depth, 64, "%d levels written", depth);
  for (size_t i = 0; i < r->nfiles; i++)
    cr_assert_null(strstr(r->files[i], "leaf"), "%s", r->files[i]);
  jd_match_result_free(r);
  tm_assert_clean(&env);
}

/* The FIFO takes any tar the game writes: directory headers cost no bytes
 * and no file, so they have a cap of their own (JD_OUT_FILES_MAX). */
Test(outdir, a_flood_of_directories_in_the_fifo_stops_at_the_cap) {
  jd_match_result *r = run_mode("dirflood", "dirflood", "{\"out_max\":\"1m\"}");
  char *log = tm_read(&env, "game_logic.log", NULL);
  cr_assert(strstr(log, "dirflood=ok"), "%s", log);
  free(log);
  char path[600];
  snprintf(path, sizeof path, "%s/flood", env.out);
  DIR *d = opendir(path);
  cr_assert_not_null(d, "the directories under the cap are written");
  int n = 0;
  for (struct dirent *de = readdir(d); de; de = readdir(d))
    n += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
  closedir(d);
  cr_assert_gt(n, 0);
  cr_assert_lt(n, 10000, "%d directories made on the host", n);
  jd_match_result_free(r);
  tm_assert_clean(&env);
}
