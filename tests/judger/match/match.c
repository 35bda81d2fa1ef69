// test-labels: engine
/* The match engine on the real engine: honest matches, one AI as several
 * players, game logics that misbehave, two matches at once. Hostile players
 * are in match_hostile.c. After every test nothing with the match's labels
 * is left (containers, network, work directory with its FIFOs). */
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include "match_support.h"
#include "common/tmpfile.h"

static tm_env env;
static void setup(void) { tm_setup(&env); }
static void teardown(void) { tm_teardown(&env); }
TestSuite(match, .init = setup, .fini = teardown, .timeout = 120);

static const jd_player_result *player(const jd_match_result *r, size_t i) {
  cr_assert_lt(i, r->nplayers);
  return &r->players[i];
}

static size_t count(const char *hay, const char *needle) {
  size_t n = 0;
  for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
    n++;
  return n;
}

Test(match, honest_match_gives_the_expected_scores) {
  char *a = tm_program("honest-a", "tests/judger/programs/honest");
  char *b = tm_program("honest-b", "tests/judger/programs/honest");
  char players[1024];
  snprintf(players, sizeof players, "%s,%s", a, b);
  /* seed 45: 45 % 7 = 3, so AI 0 scores 3 and AI 1 scores 13. */
  char *spec =
      tm_spec("honest", players, "{\"seed\":45,\"plan\":\"0 1\",\"mode\":\"normal\"}", NULL);
  jd_match_result *r = tm_run(&env, spec, NULL);
  cr_assert_str_eq(jd_match_status_name(r->status), "finished", "%s: %s",
                   jd_match_status_name(r->status), r->reason ? r->reason : "");
  cr_assert(r->has_scores);
  cr_assert_float_eq(player(r, 0)->score, 3.0, 1e-9);
  cr_assert_float_eq(player(r, 1)->score, 13.0, 1e-9);
  cr_assert_str_eq(player(r, 0)->message, "well played");
  for (size_t i = 0; i < 2; i++) {
    cr_assert_str_eq(jd_verdict_name(player(r, i)->verdict), "OK");
    cr_assert_eq(player(r, i)->exit_code, 0);
    cr_assert_eq(player(r, i)->instances, 1);
  }
  cr_assert_eq(r->ninstances, 2);
  cr_assert_str_eq(jd_verdict_name(r->game_logic.verdict), "OK");
  cr_assert_eq(jd_match_exit_code(r), 0);
  /* The replay the game logic wrote, copied out. */
  cr_assert_eq(r->nfiles >= 1, 1);
  char *replay = tm_read(&env, "replay.txt", NULL);
  cr_assert(strstr(replay, "scores=3,13"), "%s", replay);
  free(replay);
  char *gl = tm_read(&env, "game_logic.log", NULL);
  cr_assert(strstr(gl, "game: scores 3,13"), "%s", gl);
  free(gl);
  char *p0 = tm_read(&env, "player_0.log", NULL);
  cr_assert(strstr(p0, "===== judger: instance p0 of AI 0"), "%s", p0);
  cr_assert(strstr(p0, "player p0 of AI 0"), "%s", p0);
  free(p0);
  char *ev = tm_read(&env, "events.txt", NULL);
  cr_assert_eq(count(ev, "\"event\":\"started\""), 2, "%s", ev);
  cr_assert_eq(count(ev, "\"event\":\"exited\""), 2, "%s", ev);
  free(ev);
  tm_assert_result_file(&env, r);
  jd_match_result_free(r);
  free(spec);
  free(a);
  free(b);
  tm_assert_clean(&env);
}

Test(match, one_ai_runs_as_two_players) {
  char *a = tm_program("honest", "tests/judger/programs/honest");
  char *spec = tm_spec("twice", a, "{\"seed\":45,\"plan\":\"0 0\"}", NULL);
  jd_match_result *r = tm_run(&env, spec, NULL);
  cr_assert_str_eq(jd_match_status_name(r->status), "finished", "%s", r->reason ? r->reason : "");
  cr_assert_float_eq(player(r, 0)->score, 6.0, 1e-9); /* two valid instances of 3 */
  cr_assert_eq(player(r, 0)->instances, 2);
  cr_assert_eq(r->ninstances, 2);
  cr_assert_str_eq(r->instances[0].name, "p0");
  cr_assert_str_eq(r->instances[1].name, "p1");
  char *log = tm_read(&env, "player_0.log", NULL);
  cr_assert_eq(count(log, "===== judger: instance "), 2, "%s", log);
  cr_assert(strstr(log, "instance p0 of AI 0 (#1"), "%s", log);
  cr_assert(strstr(log, "instance p1 of AI 0 (#2"), "%s", log);
  free(log);
  jd_match_result_free(r);
  free(spec);
  free(a);
  tm_assert_clean(&env);
}

Test(match, game_logic_sending_garbage_gets_refusals_and_the_match_goes_on) {
  char *a = tm_program("honest", "tests/judger/programs/honest");
  char *spec = tm_spec("garbage", a, "{\"seed\":1,\"mode\":\"garbage\"}", "{\"line_max\":4096}");
  jd_match_result *r = tm_run(&env, spec, NULL);
  cr_assert_str_eq(jd_match_status_name(r->status), "finished", "%s", r->reason ? r->reason : "");
  /* The game logic counted 8 refused events before ending. */
  cr_assert_float_eq(player(r, 0)->score, 8.0, 1e-9);
  char *ev = tm_read(&env, "events.txt", NULL);
  cr_assert(strstr(ev, "out of range"), "%s", ev);
  cr_assert(strstr(ev, "line longer than 4096 bytes"), "%s", ev);
  cr_assert(strstr(ev, "no running player named nobody"), "%s", ev);
  cr_assert(strstr(ev, "2 scores for 1 AIs"), "%s", ev);
  /* Every event line is valid JSON, even the echo of binary garbage. */
  char *save = NULL;
  for (char *l = strtok_r(ev, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
    json_object *o = json_tokener_parse(l);
    cr_assert_not_null(o, "not JSON: %s", l);
    json_object_put(o);
  }
  free(ev);
  cr_assert_eq(r->ninstances, 0);
  jd_match_result_free(r);
  free(spec);
  free(a);
  tm_assert_clean(&env);
}

Test(match, game_logic_crash_fails_the_match) {
  char *a = tm_program("honest", "tests/judger/programs/honest");
  char *spec = tm_spec("glcrash", a, "{\"mode\":\"crash\"}", NULL);
  jd_match_result *r = tm_run(&env, spec, NULL);
  cr_assert_str_eq(jd_match_status_name(r->status), "failed");
  cr_assert(strstr(r->reason, "before ending the match"), "%s", r->reason);
  cr_assert_str_eq(jd_verdict_name(r->game_logic.verdict), "RE");
  cr_assert_eq(r->game_logic.exit_code, 1);
  cr_assert_not(r->has_scores);
  cr_assert_eq(jd_match_exit_code(r), 1);
  char *gl = tm_read(&env, "game_logic.log", NULL);
  cr_assert(strstr(gl, "game: crashing"), "%s", gl);
  free(gl);
  tm_assert_result_file(&env, r);
  jd_match_result_free(r);
  free(spec);
  free(a);
  tm_assert_clean(&env);
}

Test(match, game_logic_that_never_ends_hits_the_deadline) {
  char *a = tm_program("honest", "tests/judger/programs/honest");
  char *spec = tm_spec("hang", a, "{\"mode\":\"hang\"}", "{\"deadline_ms\":1500}");
  int64_t t0 = dk_now_ms();
  jd_match_result *r = tm_run(&env, spec, NULL);
  int64_t took = dk_now_ms() - t0;
  cr_assert_str_eq(jd_match_status_name(r->status), "failed");
  cr_assert(strstr(r->reason, "deadline"), "%s", r->reason);
  cr_assert_str_eq(jd_verdict_name(r->game_logic.verdict), "TLE");
  cr_assert(r->game_logic.killed);
  cr_assert_lt(took, 15000, "took %lld ms", (long long)took);
  jd_match_result_free(r);
  free(spec);
  free(a);
  tm_assert_clean(&env);
}

Test(match, missing_image_is_a_system_error_and_leaves_nothing) {
  char players[256];
  snprintf(players, sizeof players, "{\"id\":\"ghost\",\"image\":\"judger-test/no-such-image:%d\"}",
           (int)getpid());
  char *spec = tm_spec("ghost", players, "{\"seed\":1,\"plan\":\"0\"}", NULL);
  jd_match_result *r = tm_run(&env, spec, NULL);
  /* The game logic ran, the player could not be created: UE, and the game
   * logic is told it exited. */
  cr_assert_str_eq(jd_match_status_name(r->status), "finished", "%s", r->reason ? r->reason : "");
  cr_assert_str_eq(jd_verdict_name(player(r, 0)->verdict), "UE");
  cr_assert_not_null(r->instances[0].message);
  jd_match_result_free(r);
  free(spec);
  tm_assert_clean(&env);
}

/* ---- two matches at once ----------------------------------------------- */

typedef struct iso {
  tm_env *env;
  char *spec;
  char *other_target; /* /app/target of the other match's player */
  char run[128];
  jd_match_result *r;
  jd_match_hooks hooks;
} iso;

/* On the game logic's start, writes its address into the other match's
 * player directory: that player tries to reach it and must fail. */
static void iso_progress(void *ud, const char *line) {
  iso *x = ud;
  json_object *o = json_tokener_parse(line);
  json_object *v;
  const char *ev = json_object_object_get_ex(o, "event", &v) ? json_object_get_string(v) : "";
  if (!strcmp(ev, "match.prepare") && json_object_object_get_ex(o, "run", &v))
    snprintf(x->run, sizeof x->run, "%s", json_object_get_string(v));
  if (!strcmp(ev, "game_logic.started")) {
    char name[300];
    snprintf(name, sizeof name, "judger-%s-%s-game_logic", x->env->host, x->run);
    dk_container_info *info = NULL;
    if (!dk_container_inspect(&info, x->env->dk, name)) {
      json_object *j = json_tokener_parse(info->raw_json), *ns, *nets;
      if (json_object_object_get_ex(j, "NetworkSettings", &ns) &&
          json_object_object_get_ex(ns, "Networks", &nets)) {
        json_object_object_foreach(nets, k, net) {
          (void)k;
          json_object *ip;
          if (json_object_object_get_ex(net, "IPAddress", &ip))
            jd_write_file(x->other_target, json_object_get_string(ip),
                          strlen(json_object_get_string(ip)));
        }
      }
      json_object_put(j);
    }
    dk_container_info_free(info);
  }
  json_object_put(o);
}

static void *iso_run(void *arg) {
  iso *x = arg;
  x->r = tm_run(x->env, x->spec, &x->hooks);
  return NULL;
}

Test(match, two_matches_at_once_do_not_collide_or_reach_each_other) {
  tm_env env2;
  tm_setup(&env2);
  free(env2.host);
  env2.host = strdup(env.host); /* same host: names must still not collide */
  env2.ctx.host_id = env2.host;
  char *dirs[2];
  iso x[2];
  for (int i = 0; i < 2; i++) {
    dirs[i] = t_tmpdir("prober");
    chmod(dirs[i], 0755);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "cp %s/samples/hostile/prober/main.sh %s/ && chmod 644 %s/main.sh",
             JD_SOURCE_DIR, dirs[i], dirs[i]);
    cr_assert_eq(system(cmd), 0);
  }
  for (int i = 0; i < 2; i++) {
    char *p = tm_program("prober", dirs[i]);
    memset(&x[i], 0, sizeof x[i]);
    x[i].env = i ? &env2 : &env;
    /* The same match id twice: run keys keep them apart. */
    x[i].spec = tm_spec("twin", p, "{\"seed\":45,\"plan\":\"0\"}", NULL);
    cr_assert(asprintf(&x[i].other_target, "%s/target", dirs[1 - i]) > 0);
    x[i].hooks = (jd_match_hooks){.progress = iso_progress, .ud = &x[i]};
    free(p);
  }
  pthread_t th[2];
  for (int i = 0; i < 2; i++)
    pthread_create(&th[i], NULL, iso_run, &x[i]);
  for (int i = 0; i < 2; i++)
    pthread_join(th[i], NULL);
  cr_assert_str_neq(x[0].r->run_key, x[1].r->run_key);
  for (int i = 0; i < 2; i++) {
    jd_match_result *r = x[i].r;
    cr_assert_str_eq(jd_match_status_name(r->status), "finished", "%s", r->reason ? r->reason : "");
    cr_assert_float_eq(r->players[0].score, 3.0, 1e-9);
    tm_env *e = x[i].env;
    char *log = tm_read(e, "player_0.log", NULL);
    cr_assert(strstr(log, "BLOCKED:other 172.") || strstr(log, "BLOCKED:other 10.") ||
                  strstr(log, "BLOCKED:other 192."),
              "the probe did not run against an address: %s", log);
    cr_assert_null(strstr(log, "ESCAPED"), "%s", log);
    free(log);
    char *replay = tm_read(e, "replay.txt", NULL);
    /* The control probe to its own game arrived; the other match's did not. */
    cr_assert(strstr(replay, "intruder=OWN"), "%s", replay);
    cr_assert_null(strstr(replay, "INTRUDER"), "%s", replay);
    free(replay);
    jd_match_result_free(r);
    free(x[i].spec);
    free(x[i].other_target);
    t_rmdir(dirs[i]);
  }
  tm_assert_clean(&env);
  tm_teardown(&env2);
}

/* ---- real programs: built from their directories ------------------------ */

Test(match, programs_built_from_dirs_and_a_failed_build_is_cancel) {
  char spec[2048];
  snprintf(spec, sizeof spec,
           "{\"id\":\"built\",\"game_logic\":{\"id\":\"game\",\"dir\":\"%s/tests/judger/programs/"
           "game\"},\"players\":[{\"id\":\"honest\",\"dir\":\"%s/tests/judger/programs/honest\"},"
           "{\"id\":\"broken\",\"dir\":\"%s/tests/judger/programs/broken\"}],"
           "\"config\":{\"seed\":45,\"plan\":\"0 1\"}}",
           JD_SOURCE_DIR, JD_SOURCE_DIR, JD_SOURCE_DIR);
  jd_match_result *r = tm_run(&env, spec, NULL);
  cr_assert_str_eq(jd_match_status_name(r->status), "finished", "%s", r->reason ? r->reason : "");
  cr_assert_str_eq(jd_verdict_name(player(r, 0)->verdict), "OK");
  cr_assert_float_eq(player(r, 0)->score, 3.0, 1e-9);
  cr_assert_str_eq(jd_verdict_name(player(r, 1)->verdict), "CANCEL");
  cr_assert_not_null(player(r, 1)->build_message);
  cr_assert_eq(player(r, 1)->instances, 0);
  char *ev = tm_read(&env, "events.txt", NULL);
  cr_assert(strstr(ev, "{\"event\":\"cancelled\",\"name\":\"p1\",\"ai\":1"), "%s", ev);
  free(ev);
  jd_match_result_free(r);
  tm_assert_clean(&env);
}

Test(match, a_flood_of_starts_is_capped_and_refused) {
  char *t = tm_program("trivial", "tests/judger/programs/trivial");
  char *spec = tm_spec("flood", t, "{\"mode\":\"flood\"}", "{\"max_instances\":3}");
  jd_match_result *r = tm_run(&env, spec, NULL);
  cr_assert_str_eq(jd_match_status_name(r->status), "finished", "%s", r->reason ? r->reason : "");
  cr_assert_eq(r->ninstances, 3);
  cr_assert_float_eq(player(r, 0)->score, 3.0, 1e-9);
  char *replay = tm_read(&env, "replay.txt", NULL);
  cr_assert(strstr(replay, "started=3 refused=197 exited=3"), "%s", replay);
  cr_assert_eq(r->refused_commands, 197);
  free(replay);
  jd_match_result_free(r);
  free(spec);
  free(t);
  tm_assert_clean(&env);
}
