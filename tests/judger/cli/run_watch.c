// test-labels: engine
/* `judger run --watch` on a real match whose game logic sends frames
 * (tests/judger/programs/frames_game): the frames are printed with the
 * progress lines on stderr (text, or with --json their JSON lines); without
 * --watch they are not. Then `judger watch --file OUT/live.jsonl` prints the
 * match from its file and exits 0 at match.done. */
#include <stdarg.h>
#include <sys/wait.h>

#include "match_support.h"

static tm_env env;
static void setup(void) { tm_setup(&env); }
static void teardown(void) { tm_teardown(&env); }
TestSuite(run_watch, .init = setup, .fini = teardown, .timeout = 180);

/* Runs a shell command line; its exit code. */
static int sh(const char *fmt, ...) {
  char cmd[4096];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(cmd, sizeof cmd, fmt, ap);
  va_end(ap);
  int st = system(cmd);
  cr_assert(WIFEXITED(st), "%s: did not exit", cmd);
  return WEXITSTATUS(st);
}

static char *slurp(const char *name) {
  char path[1024], *text = NULL;
  snprintf(path, sizeof path, "%s/%s", env.state, name);
  cr_assert_eq(jd_read_file(&text, NULL, path, 1 << 22), 0, "%s", path);
  return text;
}

/* The spec file of a frames match; its path (static). */
static const char *spec_file(void) {
  static char path[1024];
  char *gl = tm_program("frames", "tests/judger/programs/frames_game");
  char *p = tm_program("quiet", "tests/judger/programs/trivial");
  char *spec = NULL;
  cr_assert(asprintf(&spec,
                     "{\"id\":\"watched\",\"game_logic\":%s,\"players\":[%s],"
                     "\"config\":{\"mode\":\"frames\",\"n\":3}}",
                     gl, p) > 0);
  snprintf(path, sizeof path, "%s/spec.json", env.state);
  cr_assert_eq(jd_write_file(path, spec, strlen(spec)), 0);
  free(spec);
  free(gl);
  free(p);
  return path;
}

/* `judger run` of the frames match with extra flags; stderr in
 * <state>/err. */
static void run(const char *extra) {
  int rc =
      sh("%s/bin/judger run %s --out %s --state-dir %s --host-id %s --wait-teardown %s "
         ">%s/out 2>%s/err",
         JD_BINARY_DIR, spec_file(), env.out, env.state, env.host, extra, env.state, env.state);
  char *err = slurp("err");
  cr_assert_eq(rc, 0, "exit %d: %s", rc, err);
  free(err);
}

static size_t count(const char *hay, const char *needle) {
  size_t n = 0;
  for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
    n++;
  return n;
}

Test(run_watch, frames_are_printed_with_the_progress) {
  run("--watch");
  char *err = slurp("err");
  cr_assert_not_null(strstr(err, "s] frame {\"turn\":1,\"board\":[[1,0],[0,2]],\"who\":\"a/b\"}\n"),
                     "%s", err);
  cr_assert_not_null(strstr(err, "s] frame {\"turn\":2,\"moves\":[\"up\",\"left\"]}\n"), "%s", err);
  cr_assert_not_null(strstr(err, "s] frame 42\n"), "%s", err);
  cr_assert_not_null(strstr(err, "s] frame \"last\"\n"), "%s", err);
  cr_assert_not_null(strstr(err, "s] player p0 started (AI 0)\n"), "%s", err);
  cr_assert_not_null(strstr(err, "s] match end scores [7"), "%s", err);
  free(err);
  tm_assert_clean(&env);

  /* The file the match wrote, watched after the match: the same frames,
   * exit 0 at match.done. */
  int rc = sh("%s/bin/judger watch --file %s/live.jsonl >%s/wout 2>%s/werr", JD_BINARY_DIR, env.out,
              env.state, env.state);
  char *wout = slurp("wout"), *werr = slurp("werr");
  cr_assert_eq(rc, 0, "exit %d: %s", rc, werr);
  cr_assert_not_null(strstr(wout, "s] frame 42\n"), "%s", wout);
  cr_assert_not_null(strstr(wout, "s] frame \"last\"\n"), "%s", wout);
  cr_assert_not_null(strstr(wout, "s] done: finished\n"), "%s", wout);
  free(wout);
  free(werr);
}

Test(run_watch, json_and_watch_print_the_frames_json_lines) {
  run("--watch --json");
  char *err = slurp("err");
  cr_assert_geq(count(err, "\"event\":\"match.frame\""), 4, "%s", err);
  cr_assert_not_null(strstr(err, "\"data\":\"last\""), "%s", err);
  free(err);
  tm_assert_clean(&env);
}

Test(run_watch, without_watch_no_frame_is_printed) {
  run("");
  char *err = slurp("err");
  cr_assert_null(strstr(err, "] frame "), "%s", err);
  cr_assert_not_null(strstr(err, "match end scores [7"), "the other lines stay: %s", err);
  free(err);
  run("--json");
  err = slurp("err");
  cr_assert_null(strstr(err, "match.frame"), "%s", err);
  cr_assert_not_null(strstr(err, "\"event\":\"match.end\""), "%s", err);
  free(err);
  tm_assert_clean(&env);
}
