// test-labels: engine
/* Who reaches whom in a match: with the default per-player isolation a
 * player cannot reach another player of its match, by its name or by its
 * address, while its connection to the game works; "isolation": "match"
 * (the control) keeps the shared network where it can. */
#include <pthread.h>
#include <sys/stat.h>

#include "common/tmpfile.h"
#include "match_support.h"

static tm_env env;
static void setup(void) { tm_setup(&env); }
static void teardown(void) { tm_teardown(&env); }
TestSuite(isolation, .init = setup, .fini = teardown, .timeout = 120);

typedef struct peer_probe {
  tm_env *env;
  char run[160];
  char *target; /* where p1 reads p0's address */
} peer_probe;

/* On p0's start, writes its address where p1 waits for it. */
static void peer_progress(void *ud, const char *line) {
  peer_probe *x = ud;
  json_object *o = json_tokener_parse(line), *v;
  const char *ev = json_object_object_get_ex(o, "event", &v) ? json_object_get_string(v) : "";
  const char *name = json_object_object_get_ex(o, "name", &v) ? json_object_get_string(v) : "";
  if (!strcmp(ev, "match.prepare") && json_object_object_get_ex(o, "run", &v))
    snprintf(x->run, sizeof x->run, "%s", json_object_get_string(v));
  if (!strcmp(ev, "player.started") && !strcmp(name, "p0")) {
    char cname[400];
    snprintf(cname, sizeof cname, "judger-%s-%s-player-p0-1", x->env->host, x->run);
    dk_container_info *info = NULL;
    cr_assert_eq(dk_container_inspect(&info, x->env->dk, cname), 0, "%s", cname);
    json_object *j = json_tokener_parse(info->raw_json), *ns, *nets;
    cr_assert(json_object_object_get_ex(j, "NetworkSettings", &ns) &&
              json_object_object_get_ex(ns, "Networks", &nets));
    json_object_object_foreach(nets, k, net) {
      (void)k;
      json_object *ip;
      if (json_object_object_get_ex(net, "IPAddress", &ip))
        jd_write_file(x->target, json_object_get_string(ip), strlen(json_object_get_string(ip)));
    }
    json_object_put(j);
    dk_container_info_free(info);
  }
  json_object_put(o);
}

/* Runs p0 (listener) and p1 (prober) under the given isolation; returns
 * p1's log and p0's (caller frees both). */
static jd_match_result *run_peers(const char *isolation, char **log0, char **log1) {
  char *dir = t_tmpdir("peer");
  chmod(dir, 0755);
  char cmd[600];
  snprintf(cmd, sizeof cmd, "cp %s/samples/hostile/peer/main.sh %s/ && chmod 644 %s/main.sh",
           JD_SOURCE_DIR, dir, dir);
  cr_assert_eq(system(cmd), 0);
  char *p = tm_program("peer", dir), *players = NULL, *spec = NULL;
  cr_assert(asprintf(&players, "%s,%s", p, p) > 0);
  char *base = tm_spec("iso-peers", players, "{\"seed\":3,\"plan\":\"0 1\"}", NULL);
  /* tm_spec gives {...}: add the isolation key. */
  base[strlen(base) - 1] = '\0';
  cr_assert(asprintf(&spec, "%s,\"isolation\":\"%s\"}", base, isolation) > 0);
  peer_probe x = {.env = &env};
  cr_assert(asprintf(&x.target, "%s/target", dir) > 0);
  jd_match_hooks hooks = {.progress = peer_progress, .ud = &x};
  jd_match_result *r = tm_run(&env, spec, &hooks);
  cr_assert_str_eq(jd_match_status_name(r->status), "finished", "%s", r->reason ? r->reason : "");
  *log0 = tm_read(&env, "player_0.log", NULL);
  *log1 = tm_read(&env, "player_1.log", NULL);
  free(x.target);
  free(spec);
  free(base);
  free(players);
  free(p);
  t_rmdir(dir);
  return r;
}

/* The probe of p1 found p0 neither by alias nor by address, and both
 * reached the game with their tokens (3 % 7 + 10 * ai). */
static void assert_isolated(jd_match_result *r, char *log0, char *log1) {
  cr_assert(strstr(log1, "BLOCKED:alias p0"), "%s", log1);
  cr_assert(strstr(log1, "BLOCKED:address 10."), "the probe had no address: %s", log1);
  cr_assert_null(strstr(log1, "ESCAPED"), "%s", log1);
  cr_assert_null(strstr(log0, "PEER"), "%s", log0);
  cr_assert_float_eq(r->players[0].score, 3.0, 1e-9);
  cr_assert_float_eq(r->players[1].score, 13.0, 1e-9);
  free(log0);
  free(log1);
  jd_match_result_free(r);
}

Test(isolation, a_player_cannot_reach_another_player_but_reaches_the_game) {
  char *log0, *log1;
  jd_match_result *r = run_peers("player", &log0, &log1);
  assert_isolated(r, log0, log1);
  tm_assert_clean(&env);
}

Test(isolation, the_second_match_on_the_networks_the_first_gave_back_is_isolated_too,
     .timeout = 240) {
  /* tm_setup's stock (match/net_stock.h): the game logic's network and the
   * two players' go back after the first match and are taken by the
   * second. */
  cr_assert_not_null(env.stock, "the match tests run on a stock of networks");
  for (int round = 0; round < 2; round++) {
    char *log0, *log1;
    jd_match_result *r = run_peers("player", &log0, &log1);
    assert_isolated(r, log0, log1);
    cr_assert_eq(jd_net_stock_leased(env.stock), 0);
    cr_assert_eq(jd_net_stock_idle(env.stock), 3, "round %d", round);
  }
  tm_assert_clean(&env);
}

Test(isolation, the_shared_network_lets_players_talk_when_the_spec_asks) {
  char *log0, *log1;
  jd_match_result *r = run_peers("match", &log0, &log1);
  /* The control: the same probe succeeds on the shared network, so the
   * test above is not blind. */
  cr_assert(strstr(log1, "ESCAPED:alias p0"), "%s", log1);
  cr_assert(strstr(log0, "GOT:PEER"), "%s", log0);
  cr_assert_float_eq(r->players[1].score, 13.0, 1e-9);
  free(log0);
  free(log1);
  jd_match_result_free(r);
  tm_assert_clean(&env);
}
