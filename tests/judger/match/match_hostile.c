// test-labels: engine
/* Hostile players (samples/hostile/) against the match engine: each gets
 * the verdict its behaviour deserves, the match still finishes, and nothing
 * is left behind. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "match_support.h"

static tm_env env;
static void setup(void) { tm_setup(&env); }
static void teardown(void) { tm_teardown(&env); }
TestSuite(hostile, .init = setup, .fini = teardown, .timeout = 120);

/* Runs the test game with one hostile AI as player p0. */
static jd_match_result *run_hostile(const char *name, const char *limits, int64_t *took) {
  char dir[128], id[64];
  snprintf(dir, sizeof dir, "samples/hostile/%s", name);
  snprintf(id, sizeof id, "h-%s", name);
  char *p = tm_program(name, dir);
  char *spec = tm_spec(id, p, "{\"seed\":1,\"plan\":\"0\"}", limits);
  int64_t t0 = dk_now_ms();
  jd_match_result *r = tm_run(&env, spec, NULL);
  if (took)
    *took = dk_now_ms() - t0;
  free(spec);
  free(p);
  cr_assert_str_eq(jd_match_status_name(r->status), "finished", "%s: %s",
                   jd_match_status_name(r->status), r->reason ? r->reason : "");
  cr_assert_eq(r->ninstances, 1);
  return r;
}

Test(hostile, crash_is_RE_with_its_exit_code) {
  jd_match_result *r = run_hostile("crash", NULL, NULL);
  cr_assert_str_eq(jd_verdict_name(r->players[0].verdict), "RE");
  cr_assert_eq(r->players[0].exit_code, 3);
  cr_assert_not(r->instances[0].killed);
  char *log = tm_read(&env, "player_0.log", NULL);
  cr_assert(strstr(log, "about to crash"), "%s", log);
  free(log);
  jd_match_result_free(r);
  tm_assert_clean(&env);
}

Test(hostile, infinite_loop_is_TLE_at_its_wall_time) {
  int64_t took = 0;
  jd_match_result *r = run_hostile("loop", "{\"players\":{\"wall_ms\":1500}}", &took);
  cr_assert_str_eq(jd_verdict_name(r->players[0].verdict), "TLE");
  cr_assert(r->instances[0].killed);
  int64_t ran = r->instances[0].ended_ms - r->instances[0].started_ms;
  cr_assert_geq(ran, 1400, "killed after %lld ms", (long long)ran);
  cr_assert_lt(ran, 6000, "killed after %lld ms", (long long)ran);
  jd_match_result_free(r);
  tm_assert_clean(&env);
}

Test(hostile, memory_hog_is_MLE) {
  jd_match_result *r = run_hostile("memhog", "{\"players\":{\"memory\":\"48m\"}}", NULL);
  cr_assert_str_eq(jd_verdict_name(r->players[0].verdict), "MLE");
  cr_assert(r->players[0].oom_killed);
  char *log = tm_read(&env, "player_0.log", NULL);
  cr_assert(strstr(log, "allocating"), "%s", log);
  free(log);
  jd_match_result_free(r);
  tm_assert_clean(&env);
}

Test(hostile, fork_bomb_is_stopped_by_the_pids_limit) {
  int64_t took = 0;
  jd_match_result *r =
      run_hostile("forkbomb", "{\"players\":{\"pids\":32,\"wall_ms\":2500}}", &took);
  /* It never exits by itself: its wall time ends it. */
  cr_assert_str_eq(jd_verdict_name(r->players[0].verdict), "TLE", "exit %lld, killed %d: %s",
                   (long long)r->instances[0].exit_code, r->instances[0].killed,
                   r->instances[0].message ? r->instances[0].message : "");
  cr_assert_lt(took, 30000, "the match took %lld ms", (long long)took);
  char *log = tm_read(&env, "player_0.log", NULL);
  /* The shell could not fork past the limit. */
  cr_assert(strstr(log, "fork") || strstr(log, "Resource temporarily unavailable") ||
                strstr(log, "can't"),
            "no sign of the pids limit in: %.400s", log);
  free(log);
  /* The host is unaffected: it still forks. */
  cr_assert_eq(system("true"), 0);
  jd_match_result_free(r);
  tm_assert_clean(&env);
}

Test(hostile, log_flood_is_OLE_and_the_file_stops_at_the_cap) {
  jd_match_result *r = run_hostile("logflood", "{\"players\":{\"log_max\":65536}}", NULL);
  cr_assert_str_eq(jd_verdict_name(r->players[0].verdict), "OLE");
  cr_assert(r->players[0].log_truncated);
  cr_assert(r->instances[0].killed);
  size_t len = 0;
  char *log = tm_read(&env, "player_0.log", &len);
  /* separator + 64 KiB of output + marker */
  cr_assert_geq(len, 65536);
  cr_assert_leq(len, 65536 + 512, "player_0.log is %zu bytes", len);
  cr_assert(strstr(log, "[judger] log truncated: over its cap of 65536 bytes"));
  cr_assert(strstr(log, "flooding the judger"));
  free(log);
  jd_match_result_free(r);
  tm_assert_clean(&env);
}

Test(hostile, network_escape_fails) {
  /* A service on the host, on every address: the player must not reach it
   * through its gateway or the default bridge. */
  int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  cr_assert_geq(s, 0);
  int one = 1;
  setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = {
      .sin_family = AF_INET, .sin_port = htons(45711), .sin_addr.s_addr = htonl(INADDR_ANY)};
  cr_assert_eq(bind(s, (struct sockaddr *)&a, sizeof a), 0, "port 45711 busy");
  cr_assert_eq(listen(s, 8), 0);
  jd_match_result *r = run_hostile("netescape", NULL, NULL);
  struct pollfd p = {.fd = s, .events = POLLIN};
  int hits = poll(&p, 1, 0);
  close(s);
  cr_assert_eq(hits, 0, "a player reached a service on the host");
  char *log = tm_read(&env, "player_0.log", NULL);
  cr_assert_null(strstr(log, "ESCAPED"), "%s", log);
  static const char *const probes[] = {"internet", "gateway",    "docker0",   "dns",
                                       "socket",   "socket-alt", "judger-dir"};
  for (size_t i = 0; i < sizeof probes / sizeof probes[0]; i++) {
    char want[64];
    snprintf(want, sizeof want, "BLOCKED:%s\n", probes[i]);
    cr_assert(strstr(log, want), "no %s in %s", want, log);
  }
  cr_assert_str_eq(jd_verdict_name(r->players[0].verdict), "OK");
  free(log);
  jd_match_result_free(r);
  tm_assert_clean(&env);
}

Test(hostile, writes_outside_tmp_fail) {
  jd_match_result *r = run_hostile("writer", NULL, NULL);
  char *log = tm_read(&env, "player_0.log", NULL);
  cr_assert_null(strstr(log, "WROTE:"), "%s", log);
  cr_assert(strstr(log, "REFUSED:/x"), "%s", log);
  cr_assert(strstr(log, "REFUSED:/app/x"), "%s", log);
  /* Podman's own tmpfs in a read-only container (review 28 #8) */
  cr_assert(strstr(log, "REFUSED:/var/tmp/x"), "%s", log);
  cr_assert(strstr(log, "REFUSED:/run/x"), "%s", log);
  cr_assert(strstr(log, "TMP:ok"), "%s", log);
  cr_assert_str_eq(jd_verdict_name(r->players[0].verdict), "OK");
  free(log);
  jd_match_result_free(r);
  tm_assert_clean(&env);
}

Test(hostile, player_running_after_the_end_is_removed) {
  char *p = tm_program("lingerer", "samples/hostile/lingerer");
  /* "quick": the game logic ends the match once its player started. */
  char *spec = tm_spec("h-linger", p, "{\"seed\":1,\"plan\":\"0\",\"mode\":\"quick\"}", NULL);
  int64_t t0 = dk_now_ms();
  jd_match_result *r = tm_run(&env, spec, NULL);
  int64_t took = dk_now_ms() - t0;
  cr_assert_str_eq(jd_match_status_name(r->status), "finished", "%s", r->reason ? r->reason : "");
  cr_assert(r->instances[0].killed);
  cr_assert_str_eq(jd_verdict_name(r->players[0].verdict),
                   "OK"); /* ended by the match, not its fault */
  cr_assert_lt(took, 20000);
  jd_match_result_free(r);
  free(spec);
  free(p);
  tm_assert_clean(&env);
}
