// test-labels: engine
/* Hostile sources 600 directories deep (the source depth limit is 64): a
 * --source directory, a 230-byte .tgz served over HTTP, and a match's
 * player given as such a directory, through the judger binary and the
 * library. Each used to overflow the stack (SIGSEGV) while the tree was
 * hashed; each is now a CE naming the depth and the limit, and nothing
 * crashes. */
#include "build/image_cache.h"
#include "build/source.h"
#include "match_support.h"
#include "tarball.h"
#include "common/tmpfile.h"

#define LEVELS 600

/* A program (run.Dockerfile at its root) whose tree is LEVELS deep. */
static char *deep_program(void) {
  char *dir = t_tmpdir("deepprog");
  char *p = malloc(strlen(dir) + 2 * LEVELS + 32);
  cr_assert(p);
  sprintf(p, "%s/run.Dockerfile", dir);
  cr_assert_eq(jd_write_file(p, "FROM scratch\n", 13), 0);
  strcpy(p, dir);
  for (int i = 0; i < LEVELS; i++)
    strcat(p, "/a");
  cr_assert_eq(jd_mkdir_p(p, 0755), 0);
  free(p);
  return dir;
}

/* Exited (not killed by a signal) with code, its stdout naming the limit. */
static void assert_ce_not_crash(const h_run *r, const char *what) {
  cr_assert(!WIFSIGNALED(r->status), "%s: killed by signal %d\n%s", what, WTERMSIG(r->status),
            r->err);
  cr_assert(WIFEXITED(r->status));
  cr_assert_eq(WEXITSTATUS(r->status), 1, "%s: exit %d\nstdout: %s\nstderr: %s", what,
               WEXITSTATUS(r->status), r->out, r->err);
  json_object *o = json_tokener_parse(r->out), *v;
  cr_assert_not_null(o, "%s: stdout is not JSON: %s", what, r->out);
  cr_assert(json_object_object_get_ex(o, "verdict", &v), "%s", r->out);
  cr_assert_str_eq(json_object_get_string(v), "CE");
  json_object_put(o);
}

Test(deep_source, a_deep_source_directory_is_ce_from_judger_build, .timeout = 120) {
  char *src = deep_program();
  char *state = t_tmpdir("deepstate");
  char *id = t_unique("deepdir");
  h_run r = h_judger(state, (const char *[]){"build", "--domain", "ai", "--id", id, "--source", src,
                                             "--json", NULL});
  assert_ce_not_crash(&r, "judger build --source");
  cr_assert(strstr(r.out, "the source tree is deeper than the limit of 64 directory levels (a "
                          "directory at level 65)"),
            "%s", r.out);
  h_run_free(&r);
  free(id);
  t_rmdir(state);
  t_rmdir(src);
}

Test(deep_source, a_deep_tgz_is_ce_from_judger_build_and_leaves_nothing, .timeout = 120) {
  /* One file LEVELS directories down: the directories above it are made
   * by the extraction itself, and the .tgz is 200-odd bytes. */
  h_tgz t;
  h_tgz_begin(&t, 1 << 20);
  h_tgz_file(&t, "run.Dockerfile", "FROM scratch\n");
  char name[2 * LEVELS + 8] = "";
  for (int i = 0; i < LEVELS; i++)
    strcat(name, "a/");
  strcat(name, "f");
  h_tgz_file(&t, name, "x");
  h_tgz_end(&t);
  cr_assert_lt(t.used, 512, "the hostile tarball is %zu bytes", t.used);
  h_srv srv;
  char *url;
  h_srv_start(&srv, t.buf, t.used, &url);
  char *state = t_tmpdir("deeptgz");
  char *id = t_unique("deeptgz");
  h_run r = h_judger(
      state, (const char *[]){"build", "--domain", "ai", "--id", id, "--tar", url, "--json", NULL});
  h_srv_stop(&srv);
  assert_ce_not_crash(&r, "judger build --tar");
  /* 65 levels for a tarball: the limit, and one for a top directory. */
  cr_assert(strstr(r.out, "an entry 600 directory levels deep passes the cap of 65 levels"), "%s",
            r.out);
  cr_assert(strstr(r.out, "64 directory levels; one more entry and level for a top directory"),
            "%s", r.out);
  /* Its work directory is gone. */
  char cmd[4400];
  snprintf(cmd, sizeof cmd, "test -z \"$(ls -A %s/work 2>/dev/null)\"", state);
  cr_assert_eq(system(cmd), 0, "a work directory was left in %s/work", state);
  h_run_free(&r);
  free(id);
  free(url);
  h_tgz_free(&t);
  t_rmdir(state);
}

/* ---- as a player of a match -------------------------------------------------- */

static tm_env env;

/* A match: the test game, an honest player and the deep one (built from
 * its directory). */
static char *deep_match_spec(const char *deep_dir) {
  char players[8192];
  char *honest = tm_program("honest", "tests/judger/programs/honest");
  snprintf(players, sizeof players, "%s,{\"id\":\"%s\",\"dir\":\"%s\"}", honest, "deepplayer",
           deep_dir);
  free(honest);
  return tm_spec("deep", players, "{\"seed\":45,\"plan\":\"0 1\"}", NULL);
}

Test(deep_source, a_deep_player_directory_is_cancel_and_the_match_goes_on, .timeout = 180) {
  tm_setup(&env);
  char *deep = deep_program();
  char *spec = deep_match_spec(deep);
  jd_match_result *r = tm_run(&env, spec, NULL);
  cr_assert_str_eq(jd_match_status_name(r->status), "finished", "%s", r->reason ? r->reason : "");
  cr_assert_eq(r->nplayers, 2);
  cr_assert_str_eq(jd_verdict_name(r->players[0].verdict), "OK");
  cr_assert_str_eq(jd_verdict_name(r->players[1].verdict), "CANCEL");
  cr_assert_not_null(r->players[1].build_message);
  cr_assert(strstr(r->players[1].build_message, "deeper than the limit of 64 directory levels"),
            "%s", r->players[1].build_message);
  jd_match_result_free(r);
  tm_assert_clean(&env);
  free(spec);
  t_rmdir(deep);
  tm_teardown(&env);
}

Test(deep_source, judger_run_with_a_deep_player_directory_finishes, .timeout = 180) {
  tm_setup(&env);
  char *deep = deep_program();
  char *spec = deep_match_spec(deep);
  char path[4200];
  snprintf(path, sizeof path, "%s/spec.json", env.state);
  cr_assert_eq(jd_write_file(path, spec, strlen(spec)), 0);
  h_run r = h_judger(env.state, (const char *[]){"run", path, "--out", env.out, "--host-id",
                                                 env.host, "--json", "--wait-teardown", NULL});
  cr_assert(!WIFSIGNALED(r.status), "judger run killed by signal %d\n%s", WTERMSIG(r.status),
            r.err);
  cr_assert(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0, "exit %d\nstdout: %s\nstderr: %s",
            WEXITSTATUS(r.status), r.out, r.err);
  char *result = tm_read(&env, "result.json", NULL);
  cr_assert(strstr(result, "deeper than the limit of 64 directory levels"), "%s", result);
  cr_assert(strstr(result, "\"CANCEL\""), "%s", result);
  free(result);
  h_run_free(&r);
  tm_assert_clean(&env);
  free(spec);
  t_rmdir(deep);
  tm_teardown(&env);
}
