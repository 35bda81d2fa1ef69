// test-labels: engine
/* Turn clocks on the real engine (docs/protocol.md "Turn clocks"): a turn
 * that runs out is told while the player still runs, then ends it in TLE
 * or freezes it; a frozen player gains no CPU; idle turns cost nothing and
 * keep the bank; freeze_idle stops pondering; a blocked player times out on
 * the wall backstop; bad turn commands are refused and the match goes on;
 * result.json accounts for every instance (OK, RE, MLE, TLE); and a killed
 * `judger run` with a frozen player leaves nothing after reconciliation.
 * On the host the clock reads the engine's cgroups; on a sidecar (@trixie)
 * the API. */
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/tmpfile.h"
#include "daemon/reconcile.h"
#include "match/turn_clock.h"
#include "match_support.h"

static tm_env env;
static void setup(void) { tm_setup(&env); }
static void teardown(void) { tm_teardown(&env); }
TestSuite(turn_clocks, .init = setup, .fini = teardown, .timeout = 240);

#define GAME JD_SOURCE_DIR "/tests/judger/programs/turn_game"
#define PLAYER JD_SOURCE_DIR "/tests/judger/programs/turn_player"

/* A spec of the turn test game playing scenario, with one AI per mode. */
static char *turn_spec(const char *scenario, const char *const *modes, int nai,
                       const char *limits) {
  char players[2048] = "";
  for (int i = 0; i < nai; i++)
    snprintf(players + strlen(players), sizeof players - strlen(players),
             "%s{\"id\":\"t%d\",\"image\":\"" T_BUSYBOX_IMAGE "\",\"dir\":\"" PLAYER
             "\",\"cmd\":[\"sh\",\"/app/main.sh\",\"%s\"]}",
             i ? "," : "", i, modes[i]);
  char *s = NULL;
  cr_assert(asprintf(&s,
                     "{\"id\":\"turns\",\"game_logic\":{\"id\":\"tg\",\"image\":\"" T_BUSYBOX_IMAGE
                     "\",\"dir\":\"" GAME "\",\"cmd\":[\"sh\",\"/app/main.sh\",\"%s\"]},"
                     "\"players\":[%s],\"config\":{}%s%s}",
                     scenario, players, limits ? ",\"limits\":" : "", limits ? limits : "") > 0);
  return s;
}

/* Whether the clock reads the host's cgroups (the host's engine), not the
 * API (a sidecar: DOCKER_HOST). Through the API a reading is an engine
 * call, and an engine slow to answer (a loaded machine: 200-500 ms seen)
 * moves the match to wall time: the figures asserted to the ms are the
 * host's; through the API they are asserted as far as the API can give. */
static bool host_cgroups(void) {
  const char *h = getenv("DOCKER_HOST");
  return (!h || !*h) && access("/sys/fs/cgroup/cpuacct/docker", F_OK) == 0;
}

static jd_match_result *run_turns(const char *scenario, const char *const *modes, int nai,
                                  const char *limits) {
  char *spec = turn_spec(scenario, modes, nai, limits);
  jd_match_result *r = tm_run(&env, spec, NULL);
  free(spec);
  return r;
}

/* The events the game logic saw, one JSON object each; *n of them. */
static json_object **events(size_t *n) {
  char *text = tm_read(&env, "events.txt", NULL);
  json_object **ev = calloc(64, sizeof *ev);
  *n = 0;
  for (char *line = strtok(text, "\n"); line && *n < 64; line = strtok(NULL, "\n")) {
    ev[*n] = json_tokener_parse(line);
    cr_assert_not_null(ev[*n], "an event that is not JSON: %s", line);
    (*n)++;
  }
  free(text);
  return ev;
}

static void events_free(json_object **ev, size_t n) {
  for (size_t i = 0; i < n; i++)
    json_object_put(ev[i]);
  free(ev);
}

static const char *str_of(json_object *o, const char *key) {
  json_object *v;
  return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : "";
}

static double num_of(json_object *o, const char *key) {
  json_object *v;
  cr_assert(json_object_object_get_ex(o, key, &v), "no %s in %s", key,
            json_object_to_json_string(o));
  return json_object_get_double(v);
}

/* The k-th (0-based) event of type type, or NULL. */
static json_object *nth_event(json_object **ev, size_t n, const char *type, int k) {
  for (size_t i = 0; i < n; i++)
    if (!strcmp(str_of(ev[i], "event"), type) && k-- == 0)
      return ev[i];
  return NULL;
}

static size_t index_of(json_object **ev, size_t n, json_object *e) {
  for (size_t i = 0; i < n; i++)
    if (ev[i] == e)
      return i;
  return n;
}

static const jd_instance_result *instance(const jd_match_result *r, const char *name) {
  for (size_t i = 0; i < r->ninstances; i++)
    if (!strcmp(r->instances[i].name, name))
      return &r->instances[i];
  cr_assert_fail("no instance %s", name);
  return NULL;
}

Test(turn_clocks, a_turn_that_runs_out_is_told_at_once_then_ends_in_tle) {
  const char *modes[] = {"burn"};
  jd_match_result *r = run_turns("tle", modes, 1, NULL);
  cr_assert_eq(r->status, JD_MATCH_STATUS_FINISHED, "%s", r->reason ? r->reason : "");
  size_t n;
  json_object **ev = events(&n);
  json_object *to = nth_event(ev, n, "timeout", 0), *ex = nth_event(ev, n, "exited", 0);
  cr_assert(to && ex, "no timeout or no exit");
  cr_assert_lt(index_of(ev, n, to), index_of(ev, n, ex), "the timeout came after the exit");
  cr_assert_str_eq(str_of(to, "action"), "tle");
  /* Told within a few ms of the moment budget (50 ms) and bank (0) ran
   * out, on the host's cgroups; through the API within its reads. */
  double used = num_of(to, "used_ms");
  bool host = host_cgroups();
  if (host)
    cr_assert_str_eq(str_of(to, "clock"), "cpu");
  cr_assert(used > 50 && used < (host ? 65 : 2000), "timeout told at %.3f ms of a 50 ms budget",
            used);
  cr_assert_eq(num_of(to, "bank_ms"), 0);
  cr_assert_str_eq(str_of(ex, "verdict"), "TLE");
  const jd_instance_result *p0 = instance(r, "p0");
  cr_assert_eq(p0->verdict, JD_VERDICT_TLE);
  cr_assert(p0->clocked && p0->turns.turns == 1 && p0->turns.timeouts == 1);
  if (host) {
    cr_assert(p0->usage_known && p0->usage_final, "its figures were not read before the kill");
    cr_assert_geq(p0->cpu_ns, 50 * 1000000LL);
  }
  events_free(ev, n);
  jd_match_result_free(r);
  tm_assert_clean(&env);
}

Test(turn_clocks, a_frozen_player_gains_no_cpu_and_stopped_frozen_is_tle) {
  const char *modes[] = {"burn"};
  jd_match_result *r = run_turns("freeze", modes, 1, "{\"on_timeout\":\"freeze\"}");
  cr_assert_eq(r->status, JD_MATCH_STATUS_FINISHED, "%s", r->reason ? r->reason : "");
  size_t n;
  json_object **ev = events(&n);
  json_object *to = nth_event(ev, n, "timeout", 0), *te = nth_event(ev, n, "turn_ended", 0);
  cr_assert(to && te);
  cr_assert_str_eq(str_of(to, "action"), "freeze");
  /* 500 ms frozen between the two: the turn is charged what it had. */
  double grew = num_of(te, "used_ms") - num_of(to, "used_ms");
  cr_assert(grew >= 0 && grew < 2, "a frozen player gained %.3f ms of CPU", grew);
  cr_assert_not_null(nth_event(ev, n, "timeout", 1), "its second turn did not run out");
  json_object *ex = nth_event(ev, n, "exited", 0);
  cr_assert_str_eq(str_of(ex, "verdict"), "TLE", "stopped while frozen on a turn that ran out");
  const jd_instance_result *p0 = instance(r, "p0");
  cr_assert_eq(p0->turns.turns, 2);
  cr_assert_eq(p0->turns.timeouts, 2);
  events_free(ev, n);
  jd_match_result_free(r);
  tm_assert_clean(&env);
}

Test(turn_clocks, a_player_frozen_when_the_match_ends_is_still_removed) {
  const char *modes[] = {"burn"};
  jd_match_result *r = run_turns("frozen_end", modes, 1, "{\"on_timeout\":\"freeze\"}");
  cr_assert_eq(r->status, JD_MATCH_STATUS_FINISHED, "%s", r->reason ? r->reason : "");
  const jd_instance_result *p0 = instance(r, "p0");
  cr_assert(p0->killed, "the end of the match did not end it");
  cr_assert(p0->usage_final, "its figures were not read before the kill");
  jd_match_result_free(r);
  tm_assert_clean(&env);
}

Test(turn_clocks, exclusive_turns_refuse_a_second_open_turn) {
  const char *modes[] = {"sleep", "sleep"};
  jd_match_result *r = run_turns("exclusive", modes, 2, "{\"exclusive_turns\":true}");
  cr_assert_eq(r->status, JD_MATCH_STATUS_FINISHED, "%s", r->reason ? r->reason : "");
  cr_assert_eq(r->refused_commands, 1);
  size_t n;
  json_object **ev = events(&n);
  json_object *refused = nth_event(ev, n, "refused", 0);
  cr_assert(strstr(str_of(refused, "reason"), "exclusive_turns"), "%s", str_of(refused, "reason"));
  json_object *second = nth_event(ev, n, "turn_ended", 1);
  cr_assert(second && !strcmp(str_of(second, "name"), "p1"),
            "p1's turn was not clocked after p0's");
  events_free(ev, n);
  jd_match_result_free(r);
  tm_assert_clean(&env);
}

Test(turn_clocks, a_flood_of_turns_with_a_huge_bank_neither_hangs_nor_times_out) {
  /* The bank grows by an hour a turn (capped at 24 h): no sum of budget,
   * bank and deadlines may overflow into a wrong timeout or a clock
   * thread that spins (seen before the cap). */
  const char *modes[] = {"sleep"};
  int64_t t0 = jd_mono_ms();
  jd_match_result *r = run_turns("flood", modes, 1,
                                 "{\"clock\":\"wall\",\"time_bank_ms\":3600000,"
                                 "\"bank_increment_ms\":3600000,\"turn_wall_factor\":100}");
  cr_assert_eq(r->status, JD_MATCH_STATUS_FINISHED, "%s", r->reason ? r->reason : "");
  cr_assert_lt(jd_mono_ms() - t0, 60000);
  const jd_instance_result *p0 = instance(r, "p0");
  cr_assert_eq(p0->turns.timeouts, 0);
  cr_assert_gt(p0->turns.turns, 0);
  cr_assert_leq(p0->turns.bank_ns, JD_TURN_BANK_MAX_NS);
  jd_match_result_free(r);
  tm_assert_clean(&env);
}

Test(turn_clocks, idle_turns_cost_nothing_and_keep_the_bank) {
  const char *modes[] = {"sleep"};
  jd_match_result *r = run_turns("idle", modes, 1, "{\"time_bank_ms\":500}");
  cr_assert_eq(r->status, JD_MATCH_STATUS_FINISHED, "%s", r->reason ? r->reason : "");
  size_t n;
  json_object **ev = events(&n);
  for (int k = 0; k < 5; k++) {
    json_object *te = nth_event(ev, n, "turn_ended", k);
    cr_assert_not_null(te, "turn %d has no turn_ended", k + 1);
    cr_assert_eq(num_of(te, "turn"), k + 1);
    cr_assert_lt(num_of(te, "used_ms"), 5);
    cr_assert_eq(num_of(te, "bank_ms"), 500);
    cr_assert_eq(num_of(te, "overrun_ms"), 0);
  }
  const jd_instance_result *p0 = instance(r, "p0");
  cr_assert_eq(p0->turns.turns, 5);
  cr_assert_eq(p0->turns.timeouts, 0);
  cr_assert_eq(p0->turns.bank_ns, 500 * 1000000LL);
  cr_assert_leq(p0->turns.median_ns, p0->turns.p95_ns);
  cr_assert_leq(p0->turns.p95_ns, p0->turns.max_ns);
  events_free(ev, n);
  jd_match_result_free(r);
  tm_assert_clean(&env);
}

Test(turn_clocks, freeze_idle_stops_pondering) {
  const char *modes[] = {"burn"};
  int64_t t0 = jd_mono_ms();
  jd_match_result *r = run_turns("ponder", modes, 1, "{\"freeze_idle\":true}");
  cr_assert_eq(r->status, JD_MATCH_STATUS_FINISHED, "%s", r->reason ? r->reason : "");
  cr_assert_gt(jd_mono_ms() - t0, 600);
  size_t n;
  json_object **ev = events(&n);
  json_object *second = nth_event(ev, n, "turn_ended", 1);
  cr_assert_not_null(second);
  const jd_instance_result *p0 = instance(r, "p0");
  /* Its second turn is ended at once: charged nothing of the 500 ms it
   * was frozen (through the API: the pause and stats calls in between). */
  cr_assert_lt(num_of(second, "used_ms"), host_cgroups() ? 20 : 400,
               "its second turn was charged for its pondering");
  /* It burns whenever it is not frozen: ~100 ms of turn, not 600 ms
   * (307 ms once on a loaded CI host: its start and the freeze's delay). */
  if (host_cgroups()) {
    cr_assert(p0->usage_known);
    cr_assert_lt(p0->cpu_ns, 450 * 1000000LL, "it spent %.1f ms of CPU: it pondered",
                 (double)p0->cpu_ns / 1e6);
  } else if (p0->usage_known && p0->usage_final) {
    cr_assert_lt(p0->cpu_ns, 450 * 1000000LL, "it spent %.1f ms of CPU: it pondered",
                 (double)p0->cpu_ns / 1e6);
  }
  events_free(ev, n);
  jd_match_result_free(r);
  tm_assert_clean(&env);
}

Test(turn_clocks, a_player_blocked_in_its_turn_times_out_on_the_wall_backstop) {
  const char *modes[] = {"sleep"};
  jd_match_result *r = run_turns("tle", modes, 1, "{\"turn_wall_factor\":2}");
  size_t n;
  json_object **ev = events(&n);
  json_object *to = nth_event(ev, n, "timeout", 0);
  cr_assert_not_null(to, "a sleeping player never timed out");
  cr_assert_str_eq(str_of(to, "clock"), "wall");
  /* Charged for its sleep it would show the backstop's 100 ms (2 x the
   * 50 ms budget); what it did before it slept (reading its turn) took
   * 11 ms of CPU once on a loaded CI host: a bound of 40 tells them apart. */
  cr_assert_lt(num_of(to, "used_ms"), 40, "a sleeping player was charged CPU: %.3f ms",
               num_of(to, "used_ms"));
  cr_assert_eq(instance(r, "p0")->verdict, JD_VERDICT_TLE);
  events_free(ev, n);
  jd_match_result_free(r);
  tm_assert_clean(&env);
}

Test(turn_clocks, bad_turn_commands_are_refused_and_the_match_goes_on) {
  const char *modes[] = {"sleep"};
  jd_match_result *r = run_turns("bad", modes, 1, NULL);
  cr_assert_eq(r->status, JD_MATCH_STATUS_FINISHED, "%s", r->reason ? r->reason : "");
  cr_assert_eq(r->refused_commands, 7, "%d refused", r->refused_commands);
  size_t n;
  json_object **ev = events(&n);
  cr_assert_not_null(nth_event(ev, n, "turn_ended", 0), "the good turn was not clocked");
  cr_assert_null(nth_event(ev, n, "turn_ended", 1));
  events_free(ev, n);
  jd_match_result_free(r);
  tm_assert_clean(&env);
}

Test(turn_clocks, every_instance_is_accounted_for_ok_re_mle_tle) {
  const char *modes[] = {"ok", "crash", "memhog", "burn"};
  jd_match_result *r =
      run_turns("verdicts", modes, 4, "{\"players\":{\"memory\":\"32m\"},\"max_concurrent\":4}");
  cr_assert_eq(r->status, JD_MATCH_STATUS_FINISHED, "%s", r->reason ? r->reason : "");
  const jd_verdict want[] = {JD_VERDICT_OK, JD_VERDICT_RE, JD_VERDICT_MLE, JD_VERDICT_TLE};
  bool host = host_cgroups();
  for (int i = 0; i < 4; i++) {
    char name[8];
    snprintf(name, sizeof name, "p%d", i);
    const jd_instance_result *p = instance(r, name);
    cr_assert_eq(p->verdict, want[i], "%s: %s", name, jd_verdict_name(p->verdict));
    /* Through a slow API a container may go unread (see host_cgroups). */
    cr_assert(p->usage_known || !host, "%s was not metered", name);
    if (p->usage_known) {
      cr_assert_geq(p->cpu_ns, 0);
      cr_assert(p->memory_peak != 0, "%s: no memory peak", name);
    }
    cr_assert_eq(p->clocked, i == 3);
  }
  /* Its peak is sampled while it grows (every 100 ms on cgroups); a slow
   * API may have read it once, before it grew. */
  const jd_instance_result *hog = instance(r, "p2");
  if (host)
    cr_assert_gt(hog->memory_peak, 8 << 20, "the memory hog's peak is too low");
  cr_assert(r->game_logic.usage_known || !host, "the game logic was not metered");
  char *text = tm_read(&env, "result.json", NULL);
  json_object *o = json_tokener_parse(text), *inst, *usage = NULL, *turns;
  cr_assert(json_object_object_get_ex(o, "instances", &inst));
  json_object *p3 = json_object_array_get_idx(inst, 3);
  cr_assert(json_object_object_get_ex(p3, "usage", &usage) || !host);
  if (usage)
    cr_assert_str_eq(str_of(usage, "source"), host ? "cgroup-v1" : "api");
  cr_assert(json_object_object_get_ex(p3, "turns", &turns));
  cr_assert_eq(num_of(turns, "timeouts"), 1);
  json_object_put(o);
  free(text);
  jd_match_result_free(r);
  tm_assert_clean(&env);
}

/* Whether a container of this test's host is frozen: paused through the
 * API (a sidecar), or FROZEN in the host's cgroup freezer. */
static bool one_frozen(void) {
  char label[128];
  snprintf(label, sizeof label, "%s=%s", JD_LABEL_HOST, env.host);
  const char *labels[] = {label, NULL};
  dk_container_list *l = NULL;
  t_ok(dk_container_list_by_label(&l, env.dk, true, labels));
  bool frozen = false;
  for (size_t i = 0; i < l->count && !frozen; i++) {
    dk_container_info *info = NULL;
    if (!dk_container_inspect(&info, env.dk, l->items[i].id))
      frozen = info->status && !strcmp(info->status, "paused");
    dk_container_info_free(info);
    char path[300], *d = NULL;
    size_t len = 0;
    snprintf(path, sizeof path, "/sys/fs/cgroup/freezer/docker/%s/freezer.state", l->items[i].id);
    if (!frozen && !getenv("DOCKER_HOST") && !jd_read_file(&d, &len, path, 64))
      frozen = !strncmp(d, "FROZEN", 6);
    free(d);
  }
  dk_container_list_free(l);
  return frozen;
}

Test(turn_clocks, kill_9_with_a_frozen_player_leaves_nothing_after_reconciliation) {
  const char *modes[] = {"burn"};
  char *spec = turn_spec("hang", modes, 1, "{\"on_timeout\":\"freeze\",\"warm\":false}");
  pid_t pid = tm_run_child(&env, spec);
  int64_t until = jd_mono_ms() + 60000;
  while (tm_containers(&env) < 2 && jd_mono_ms() < until)
    usleep(20 * 1000);
  cr_assert_eq(tm_containers(&env), 2, "the player never ran");
  while (!one_frozen() && jd_mono_ms() < until)
    usleep(20 * 1000);
  cr_assert(one_frozen(), "the player was never frozen");
  free(spec);
  tm_kill9_and_reconcile(&env, pid, 2);
}
