// test-labels: engine serial once
/* One host, many players: 40 three-player matches at once with per-player
 * networks (160 networks from the judger's pool, where the engine's own
 * pools hold about 30), all 120 players running together; cancelled, every
 * container and network is gone. About a minute on 2 cores. */
#include <pthread.h>
#include <unistd.h>

#include "common/clock.h"
#include "match_support.h"

static tm_env env;
static void setup(void) { tm_setup(&env); }
static void teardown(void) { tm_teardown(&env); }
TestSuite(crowd, .init = setup, .fini = teardown, .timeout = 600);

#define MATCHES 40

typedef struct crowd_match {
  jd_match_spec *spec;
  dk_cancel *cancel;
  pthread_t thread;
  char out[600];
  jd_match_status status;
} crowd_match;

static void *crowd_main(void *arg) {
  crowd_match *c = arg;
  jd_match_hooks hooks = {.cancel = c->cancel};
  jd_match_result *r = NULL;
  if (!jd_match_run(&r, &env.ctx, c->spec, c->out, &hooks, NULL, 0) && r)
    c->status = r->status;
  jd_match_result_free(r);
  return NULL;
}

static int players_running(void) {
  char host[128], role[128];
  snprintf(host, sizeof host, "%s=%s", JD_LABEL_HOST, env.host);
  snprintf(role, sizeof role, "%s=player", JD_LABEL_ROLE);
  const char *labels[] = {host, role, NULL};
  dk_container_list *l = NULL;
  t_ok(dk_container_list_by_label(&l, env.dk, false, labels));
  int n = (int)l->count;
  dk_container_list_free(l);
  return n;
}

Test(crowd, forty_three_player_matches_hold_120_players_at_once_and_leave_nothing) {
  static crowd_match m[MATCHES];
  char *p = NULL;
  cr_assert(asprintf(&p, "{\"id\":\"sleeper\",\"image\":\"" T_BUSYBOX_IMAGE
                         "\",\"cmd\":[\"sleep\",\"900\"]}") > 0);
  char *players = NULL;
  cr_assert(asprintf(&players, "%s,%s,%s", p, p, p) > 0);
  for (int i = 0; i < MATCHES; i++) {
    char id[32];
    snprintf(id, sizeof id, "crowd%d", i);
    char *json = tm_spec(id, players, "{\"seed\":1,\"plan\":\"0 1 2\"}",
                         "{\"players\":{\"wall_ms\":600000},\"deadline_ms\":600000}");
    char err[256];
    cr_assert_eq(jd_match_spec_parse(&m[i].spec, json, NULL, err, sizeof err), 0, "%s", err);
    free(json);
    snprintf(m[i].out, sizeof m[i].out, "%s/%s", env.out, id);
    t_ok(dk_cancel_new(&m[i].cancel));
    cr_assert_eq(pthread_create(&m[i].thread, NULL, crowd_main, &m[i]), 0);
  }
  /* Waits for the condition (all running), bounded. */
  int running = 0;
  int64_t deadline = jd_mono_ms() + 300 * 1000;
  while (running < 3 * MATCHES && jd_mono_ms() < deadline) {
    usleep(200 * 1000);
    running = players_running();
  }
  for (int i = 0; i < MATCHES; i++)
    dk_cancel_fire(m[i].cancel);
  int cancelled = 0;
  for (int i = 0; i < MATCHES; i++) {
    pthread_join(m[i].thread, NULL);
    cancelled += m[i].status == JD_MATCH_STATUS_CANCELLED;
    jd_match_spec_free(m[i].spec);
    dk_cancel_free(m[i].cancel);
  }
  cr_assert_eq(running, 3 * MATCHES, "only %d players were running at once", running);
  cr_assert_eq(cancelled, MATCHES, "%d matches ended cancelled", cancelled);
  free(players);
  free(p);
  tm_assert_clean(&env); /* no container, no network, no work dir */
}
