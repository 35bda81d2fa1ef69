// test-labels: engine
/* A match's inputs on the engine: the game logic reads /inputs/<name> and
 * reports what it found through its score (the size) and its message (the
 * text, the mount's options, whether it could write): the file arrived,
 * read-only. A second match with the same hash does not fetch again (the
 * test's loopback server counts); a wrong hash fails the match with the
 * message and keeps nothing; an oversized input is refused while reading;
 * a file planted at the cache path is not trusted; a task's published
 * output the daemon put in the cache is mounted the same way, and one it
 * could not have fails the match with the daemon's words. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "common/tmpfile.h"
#include "file_server.h"
#include "match/input_cache.h"
#include "match_support.h"

static tm_env env;
static char *gl_dir;
static void setup(void) {
  tm_setup(&env);
  /* The loopback server: http and private addresses allowed. */
  env.ctx.policy.git_schemes = "https,http";
  env.ctx.policy.fetch_private = true;
  gl_dir = t_tmpdir("ingame");
  char p[600];
  snprintf(p, sizeof p, "%s/main.sh", gl_dir);
  const char *script =
      "#!/bin/sh\n"
      "exec 4>\"$JUDGER_CMD_PIPE\"\n"
      "tr -d ' \\n' < /judger/match.json | grep -q '\"inputs\":\\[\"boot.txt\"\\]' || exit 3\n"
      "f=/inputs/boot.txt\n"
      "text=$(head -c 100 $f | tr -cd 'a-z0-9 ')\n"
      "size=$(wc -c < $f)\n"
      "mnt=$(grep \" $f \" /proc/mounts | cut -d' ' -f4 | cut -d, -f1)\n"
      "if (echo x >> $f) 2>/dev/null; then w=written; else w=unwritable; fi\n"
      "echo \"{\\\"cmd\\\":\\\"end\\\",\\\"scores\\\":[$size],"
      "\\\"messages\\\":[\\\"$text|$mnt|$w\\\"]}\" >&4\n";
  cr_assert_eq(jd_write_file(p, script, strlen(script)), 0);
  cr_assert_eq(chmod(gl_dir, 0755), 0);
}
static void teardown(void) {
  t_rmdir(gl_dir);
  tm_teardown(&env);
}
TestSuite(match_inputs, .init = setup, .fini = teardown, .timeout = 180);

#define BOOT "boot file seven cells\n"

/* The spec: the game logic above, one player never started, inputs. */
static char *spec(const char *id, const char *inputs) {
  char *gl = tm_program("game", gl_dir);
  char *pl = tm_program("p", "tests/judger/programs/game");
  char *s = NULL;
  cr_assert(asprintf(&s, "{\"id\":\"%s\",\"game_logic\":%s,\"players\":[%s],\"inputs\":%s}", id, gl,
                     pl, inputs) > 0);
  free(gl);
  free(pl);
  return s;
}

static char *url_input(const char *url, const char *sha, const char *extra) {
  char *s = NULL;
  cr_assert(asprintf(&s, "[{\"name\":\"boot.txt\",\"url\":\"%s\",\"sha256\":\"%s\"%s}]", url, sha,
                     extra) > 0);
  return s;
}

/* Runs spec_json with spec's inputs as given (sha256 of input 0 set to
 * task_sha when not NULL: what the daemon does for a task's output). */
static jd_match_result *run(const char *spec_json, const char *task_sha) {
  jd_match_spec *s = NULL;
  char err[512];
  cr_assert_eq(jd_match_spec_parse(&s, spec_json, NULL, err, sizeof err), 0, "spec: %s", err);
  if (task_sha)
    snprintf(s->inputs[0].sha256, sizeof s->inputs[0].sha256, "%s", task_sha);
  jd_match_result *r = NULL;
  cr_assert_eq(jd_match_run(&r, &env.ctx, s, env.out, NULL, err, sizeof err), 0, "%s", err);
  jd_match_spec_free(s);
  return r;
}

static void assert_read_the_boot_file(const jd_match_result *r) {
  cr_assert_eq(r->status, JD_MATCH_STATUS_FINISHED, "%s", r->reason ? r->reason : "");
  cr_assert_eq(r->players[0].score, (double)strlen(BOOT));
  cr_assert_str_eq(r->players[0].message, "boot file seven cells|ro|unwritable");
}

/* The names in the cache other than locks. */
static size_t cache_files(void) {
  char cmd[600];
  snprintf(cmd, sizeof cmd, "ls -A %s/inputs | grep -vc '\\.lock$'", env.state);
  FILE *p = popen(cmd, "r");
  int n = -1;
  cr_assert_eq(fscanf(p, "%d", &n), 1);
  pclose(p);
  return (size_t)n;
}

Test(match_inputs, the_game_logic_reads_it_read_only_and_it_is_fetched_once) {
  char sha[65];
  jd_sha256_hex(sha, BOOT, strlen(BOOT));
  t_file_server srv;
  t_file_server_start(&srv, BOOT, strlen(BOOT), false, 0);
  char *in = url_input(srv.url, sha, "");
  char *s = spec("inputs-a", in);
  jd_match_result *r = run(s, NULL);
  assert_read_the_boot_file(r);
  jd_match_result_free(r);
  r = run(s, NULL);
  assert_read_the_boot_file(r);
  jd_match_result_free(r);
  t_file_server_stop(&srv);
  cr_assert_eq(atomic_load(&srv.requests), 1, "the second match fetched again");
  cr_assert_eq(cache_files(), 1);
  free(s);
  free(in);
  tm_assert_clean(&env);
}

Test(match_inputs, a_wrong_hash_fails_the_match_and_nothing_is_kept) {
  char sha[65], want[65];
  jd_sha256_hex(sha, BOOT, strlen(BOOT));
  jd_sha256_hex(want, "another boot file", 17);
  t_file_server srv;
  t_file_server_start(&srv, BOOT, strlen(BOOT), false, 0);
  char *in = url_input(srv.url, want, "");
  char *s = spec("inputs-b", in);
  jd_match_result *r = run(s, NULL);
  t_file_server_stop(&srv);
  cr_assert_eq(r->status, JD_MATCH_STATUS_FAILED);
  char msg[160];
  snprintf(msg, sizeof msg, "inputs[0]: sha256 mismatch: got %s", sha);
  cr_assert(r->reason && strstr(r->reason, msg), "%s", r->reason ? r->reason : "");
  cr_assert_eq(cache_files(), 0);
  cr_assert_eq(jd_match_exit_code(r), 1);
  /* Never run, by the spec's fault: not an engine's unknown end (UE). */
  cr_assert_eq(r->game_logic.verdict, JD_VERDICT_CANCEL);
  jd_match_result_free(r);
  free(s);
  free(in);
  tm_assert_clean(&env);
}

Test(match_inputs, an_oversized_input_is_refused_while_reading) {
  size_t n = 1u << 20;
  char *big = malloc(n);
  memset(big, 'a', n);
  char sha[65];
  jd_sha256_hex(sha, big, n);
  t_file_server srv;
  t_file_server_start(&srv, big, n, true, 0); /* no length: cut while reading */
  char *in = url_input(srv.url, sha, ",\"max_bytes\":65536");
  char *s = spec("inputs-c", in);
  jd_match_result *r = run(s, NULL);
  t_file_server_stop(&srv);
  cr_assert_eq(r->status, JD_MATCH_STATUS_FAILED);
  cr_assert(r->reason && strstr(r->reason, "inputs[0]: ") &&
                strstr(r->reason, "is larger than 65536 bytes"),
            "%s", r->reason ? r->reason : "");
  cr_assert_eq(cache_files(), 0);
  jd_match_result_free(r);
  /* More than the host allows is refused before any fetch. */
  env.ctx.input_max_bytes = 1024;
  r = run(s, NULL);
  env.ctx.input_max_bytes = 0;
  cr_assert_eq(r->status, JD_MATCH_STATUS_FAILED);
  cr_assert(r->reason && strstr(r->reason, "above this host's input_max_bytes (1024)"), "%s",
            r->reason ? r->reason : "");
  jd_match_result_free(r);
  cr_assert_eq(atomic_load(&srv.requests), 1);
  free(big);
  free(s);
  free(in);
  tm_assert_clean(&env);
}

Test(match_inputs, a_file_planted_at_the_cache_path_is_not_trusted) {
  char sha[65], dir[600], path[700];
  jd_sha256_hex(sha, BOOT, strlen(BOOT));
  snprintf(dir, sizeof dir, "%s/inputs", env.state);
  cr_assert_eq(mkdir(dir, 0700), 0);
  snprintf(path, sizeof path, "%s/%s", dir, sha);
  cr_assert_eq(jd_write_file(path, "planted evil\n", 13), 0);
  cr_assert_eq(chmod(path, 0444), 0);
  t_file_server srv;
  t_file_server_start(&srv, BOOT, strlen(BOOT), false, 0);
  char *in = url_input(srv.url, sha, "");
  char *s = spec("inputs-d", in);
  jd_match_result *r = run(s, NULL);
  t_file_server_stop(&srv);
  assert_read_the_boot_file(r);
  cr_assert_eq(atomic_load(&srv.requests), 1);
  jd_match_result_free(r);
  free(s);
  free(in);
  tm_assert_clean(&env);
}

Test(match_inputs, a_tasks_published_output_is_mounted_the_same_way) {
  char sha[65], err[256];
  jd_sha256_hex(sha, BOOT, strlen(BOOT));
  jd_fail_kind kind;
  /* What the daemon does before the run (daemon/publish.c). */
  cr_assert_eq(jd_input_put(env.state, sha, BOOT, strlen(BOOT), &kind, err, sizeof err), 0, "%s",
               err);
  char *s = spec("inputs-e", "[{\"name\":\"boot.txt\",\"task\":\"boot\",\"file\":\"boot.xml\"}]");
  jd_match_result *r = run(s, sha);
  assert_read_the_boot_file(r);
  jd_match_result_free(r);
  /* Not resolved (no daemon): the match fails, saying why. */
  r = run(s, NULL);
  cr_assert_eq(r->status, JD_MATCH_STATUS_FAILED);
  cr_assert(r->reason && strstr(r->reason, "inputs[0]: task boot's published output boot.xml"),
            "%s", r->reason ? r->reason : "");
  jd_match_result_free(r);
  free(s);
  tm_assert_clean(&env);
}
