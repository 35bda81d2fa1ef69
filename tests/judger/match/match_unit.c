// test-labels: engine
/* A unit's end on the real engine: `killed` means the judger's kill ended
 * it, decided from how the container ended, not from the kill call. The
 * race: players that exit by themselves (cleanly, or crashing) just as the
 * match ends, when the judger's kill of every live player goes out. */
#include "match_support.h"

static tm_env env;
static void setup(void) { tm_setup(&env); }
static void teardown(void) { tm_teardown(&env); }
TestSuite(match_unit, .init = setup, .fini = teardown, .timeout = 120);

static char *busybox_player(const char *id, const char *script) {
  char *s = NULL;
  cr_assert(asprintf(&s,
                     "{\"id\":\"%s\",\"image\":\"" T_BUSYBOX_IMAGE
                     "\",\"cmd\":[\"sh\",\"-c\",\"%s\"]}",
                     id, script) > 0);
  return s;
}

Test(match_unit, players_that_exit_as_the_match_ends_keep_their_own_exit) {
  /* "quick": the game logic ends the match as soon as every player
   * started. AI 0 crashes right away, AI 1 exits 0 right away, AI 2 stays:
   * 4 instances each of the first two race the end's kill. */
  char *crash = busybox_player("crash", "exit 3");
  char *clean = busybox_player("clean", "exit 0");
  char *stay = busybox_player("stay", "sleep 60");
  char players[1024];
  snprintf(players, sizeof players, "%s,%s,%s", crash, clean, stay);
  char *spec = tm_spec("race", players,
                       "{\"seed\":1,\"plan\":\"0 1 0 1 0 1 0 1 2\",\"mode\":\"quick\"}", NULL);
  jd_match_result *r = tm_run(&env, spec, NULL);
  cr_assert_str_eq(jd_match_status_name(r->status), "finished", "%s", r->reason ? r->reason : "");
  cr_assert_eq(r->ninstances, 9);
  int crashed_alone = 0;
  for (size_t i = 0; i < r->ninstances; i++) {
    const jd_instance_result *in = &r->instances[i];
    const char *v = jd_verdict_name(in->verdict);
    if (in->ai == 2) {
      /* Alive at the end: the judger's kill ended it, "the match ended". */
      cr_assert(in->killed, "%s", in->name);
      cr_assert_str_eq(v, "OK");
      cr_assert_eq(in->exit_code, 0, "the match ended reads as exit 0");
      continue;
    }
    /* Killed by the judger (OK, exit 0), or ended by itself first with its
     * own exit; never "killed" with the program's own exit code. */
    if (in->killed) {
      cr_assert_str_eq(v, "OK", "%s", in->name);
      cr_assert_eq(in->exit_code, 0, "%s", in->name);
    } else if (in->ai == 0) {
      cr_assert_str_eq(v, "RE", "%s crashed by itself: %s", in->name, v);
      cr_assert_eq(in->exit_code, 3, "%s", in->name);
      crashed_alone++;
    } else {
      cr_assert_str_eq(v, "OK", "%s", in->name);
      cr_assert_eq(in->exit_code, 0, "%s", in->name);
    }
  }
  /* The crashes are the AI's: at least one of them is seen (they exit at
   * once, the end comes after every start). */
  cr_assert_gt(crashed_alone, 0);
  cr_assert_str_eq(jd_verdict_name(r->players[0].verdict), "RE");
  cr_assert_str_eq(jd_verdict_name(r->players[2].verdict), "OK");
  jd_match_result_free(r);
  free(spec);
  free(crash);
  free(clean);
  free(stay);
  tm_assert_clean(&env);
}

Test(match_unit, each_ai_runs_under_its_own_limits) {
  /* Two AIs sleeping past their wall time: AI 0's players[0].limits gives
   * it 300 ms, AI 1 has the match's 5 s (apart by more than a loaded
   * engine's kill latency). Both TLE, each at its own time,
   * and result.json shows each AI's limits. */
  char *a = busybox_player("short", "sleep 60");
  char *b = busybox_player("long", "sleep 60");
  char players[1024];
  size_t n = strlen(a);
  snprintf(players, sizeof players, "%.*s,\"limits\":{\"wall_ms\":300,\"memory\":\"32m\"}},%s",
           (int)(n - 1), a, b);
  char *spec = tm_spec("perai", players, "{\"seed\":1,\"plan\":\"0 1\"}",
                       "{\"players\":{\"wall_ms\":5000}}");
  jd_match_result *r = tm_run(&env, spec, NULL);
  cr_assert_str_eq(jd_match_status_name(r->status), "finished", "%s", r->reason ? r->reason : "");
  cr_assert_eq(r->ninstances, 2);
  for (size_t i = 0; i < 2; i++) {
    const jd_instance_result *in = &r->instances[i];
    int64_t took = in->ended_ms - in->started_ms;
    cr_assert_str_eq(jd_verdict_name(in->verdict), "TLE", "%s", in->name);
    if (in->ai == 0)
      cr_assert_lt(took, 4000, "AI 0 ran %lld ms under a 300 ms wall", (long long)took);
    else
      cr_assert_geq(took, 4900, "AI 1 ran %lld ms under a 5 s wall", (long long)took);
  }
  char *text = tm_read(&env, "result.json", NULL);
  json_object *o = json_tokener_parse(text), *ps, *l, *v;
  cr_assert(json_object_object_get_ex(o, "players", &ps));
  cr_assert(json_object_object_get_ex(json_object_array_get_idx(ps, 0), "limits", &l));
  cr_assert(json_object_object_get_ex(l, "memory", &v));
  cr_assert_eq(json_object_get_int64(v), 32 << 20);
  cr_assert(json_object_object_get_ex(json_object_array_get_idx(ps, 1), "limits", &l));
  cr_assert(json_object_object_get_ex(l, "wall_ms", &v));
  cr_assert_eq(json_object_get_int64(v), 5000);
  json_object_put(o);
  free(text);
  jd_match_result_free(r);
  free(spec);
  free(a);
  free(b);
  tm_assert_clean(&env);
}
