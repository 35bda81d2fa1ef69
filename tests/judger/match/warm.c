// test-labels: engine
/* Warm player starts (match/warm.h) on the real engine: nothing of a warm
 * player runs before its start, its wall time counts from the start, it sees
 * what a cold player sees (environment, token, user, capabilities, seccomp,
 * names, networks), unused warm containers are removed with the match, the
 * cold fallback works, the game logic's start waits for no warm container,
 * and a killed `judger run` leaves nothing after a reconciliation. */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/tmpfile.h"
#include "daemon/reconcile.h"
#include "match_support.h"

static tm_env env;
static void setup(void) { tm_setup(&env); }
static void teardown(void) { tm_teardown(&env); }
TestSuite(warm, .init = setup, .fini = teardown, .timeout = 180);

#define GAME "tests/judger/programs/warm_game"
#define PLAYER JD_SOURCE_DIR "/tests/judger/programs/warm_player"

/* A spec of the warm test game with nai players running warm_player in
 * mode; limits may be NULL. */
static char *warm_spec(int nai, const char *mode, const char *plan, const char *delay,
                       const char *reach, const char *limits) {
  char players[2048] = "";
  for (int i = 0; i < nai; i++)
    snprintf(players + strlen(players), sizeof players - strlen(players),
             "%s{\"id\":\"w%d\",\"image\":\"" T_BUSYBOX_IMAGE "\",\"dir\":\"" PLAYER
             "\",\"cmd\":[\"sh\",\"/app/main.sh\",\"%s\"]}",
             i ? "," : "", i, mode);
  char *gl = tm_program("game", GAME), *s = NULL;
  cr_assert(asprintf(&s,
                     "{\"id\":\"warm\",\"game_logic\":%s,\"players\":[%s],\"config\":{\"plan\":"
                     "\"%s\",\"delay\":\"%s\",\"reach\":\"%s\"}%s%s}",
                     gl, players, plan, delay, reach, limits ? ",\"limits\":" : "",
                     limits ? limits : "") > 0);
  free(gl);
  return s;
}

/* What the progress hook saw: the run key, and for every started player
 * whether its container's entry point was the warm shim, and how many
 * player containers of the run existed at the first start; how many
 * containers the run had when the game logic started, when (the engine's
 * StartedAt) its container started, and the earliest Created of a player
 * container seen at a player's start (unix ns; 0: none). */
typedef struct seen {
  char run[160];
  char names[8][16];
  bool warm[8];
  int n;
  size_t containers_at_first_start;
  size_t containers_at_gl_start;
  int64_t gl_started_ns, first_player_created_ns;
} seen;

/* An engine time ("2026-12-06T13:42:49.392359634Z", its fraction of any
 * length) in unix ns. */
static int64_t engine_ns(const char *t) {
  struct tm tm;
  memset(&tm, 0, sizeof tm);
  const char *rest = strptime(t, "%Y-%m-%dT%H:%M:%S", &tm);
  cr_assert_not_null(rest, "not an engine time: %s", t);
  int64_t ns = (int64_t)timegm(&tm) * 1000000000;
  if (*rest == '.') {
    int64_t scale = 100000000;
    for (rest++; *rest >= '0' && *rest <= '9'; rest++, scale /= 10)
      ns += (*rest - '0') * scale;
  }
  return ns;
}

/* The string at path (NULL-terminated keys) in o, or "". */
static const char *json_at(json_object *o, const char *const *path) {
  for (; o && *path; path++)
    if (!json_object_object_get_ex(o, *path, &o))
      return "";
  return o ? json_object_get_string(o) : "";
}

/* The run's containers: their number, and for each its role's times: the
 * game logic's StartedAt into s->gl_started_ns, the earliest player
 * Created into s->first_player_created_ns. */
static size_t note_containers(seen *s) {
  char label[200];
  snprintf(label, sizeof label, "%s=%s", JD_LABEL_RUN, s->run);
  const char *labels[] = {label, NULL};
  dk_container_list *l = NULL;
  cr_assert_eq(dk_container_list_by_label(&l, env.dk, true, labels), 0);
  size_t n = l->count;
  for (size_t i = 0; i < l->count; i++) {
    dk_container_info *info = NULL;
    if (dk_container_inspect(&info, env.dk, l->items[i].id))
      continue;
    json_object *o = json_tokener_parse(info->raw_json);
    const char *role[] = {"Config", "Labels", JD_LABEL_ROLE, NULL};
    const char *started[] = {"State", "StartedAt", NULL}, *created[] = {"Created", NULL};
    if (!strcmp(json_at(o, role), "game_logic")) {
      s->gl_started_ns = engine_ns(json_at(o, started));
    } else {
      int64_t c = engine_ns(json_at(o, created));
      if (!s->first_player_created_ns || c < s->first_player_created_ns)
        s->first_player_created_ns = c;
    }
    json_object_put(o);
    dk_container_info_free(info);
  }
  dk_container_list_free(l);
  return n;
}

static bool entry_is_shim(const char *raw) {
  json_object *o = json_tokener_parse(raw), *cfg, *ep;
  bool shim = o && json_object_object_get_ex(o, "Config", &cfg) &&
              json_object_object_get_ex(cfg, "Entrypoint", &ep) &&
              json_object_is_type(ep, json_type_array) && json_object_array_length(ep) > 0 &&
              !strcmp(json_object_get_string(json_object_array_get_idx(ep, 0)), "/.judger-hold");
  json_object_put(o);
  return shim;
}

/* The player container of the run whose hostname is name: its entry
 * point. (The test's players live long enough to be seen; a warm container
 * of that name that was retired is removed before a cold one is created.) */
static void record_start(seen *s, const char *name) {
  char label[200];
  snprintf(label, sizeof label, "%s=%s", JD_LABEL_RUN, s->run);
  const char *labels[] = {label, NULL};
  dk_container_list *l = NULL;
  cr_assert_eq(dk_container_list_by_label(&l, env.dk, true, labels), 0);
  if (!s->n)
    s->containers_at_first_start = l->count - 1; /* the game logic's is one */
  for (size_t i = 0; i < l->count && s->n < 8; i++) {
    dk_container_info *info = NULL;
    if (dk_container_inspect(&info, env.dk, l->items[i].id))
      continue;
    json_object *o = json_tokener_parse(info->raw_json), *cfg, *h;
    bool match = json_object_object_get_ex(o, "Config", &cfg) &&
                 json_object_object_get_ex(cfg, "Hostname", &h) &&
                 !strcmp(json_object_get_string(h), name);
    if (match) {
      snprintf(s->names[s->n], sizeof s->names[0], "%s", name);
      s->warm[s->n++] = entry_is_shim(info->raw_json);
    }
    json_object_put(o);
    dk_container_info_free(info);
  }
  dk_container_list_free(l);
}

static void on_progress(void *ud, const char *line) {
  seen *s = ud;
  json_object *o = json_tokener_parse(line), *v;
  const char *ev = json_object_object_get_ex(o, "event", &v) ? json_object_get_string(v) : "";
  if (!strcmp(ev, "match.prepare") && json_object_object_get_ex(o, "run", &v))
    snprintf(s->run, sizeof s->run, "%s", json_object_get_string(v));
  if (!strcmp(ev, "game_logic.started"))
    s->containers_at_gl_start = note_containers(s);
  if (!strcmp(ev, "player.started") && json_object_object_get_ex(o, "name", &v)) {
    if (!s->n)
      note_containers(s);
    record_start(s, json_object_get_string(v));
  }
  json_object_put(o);
}

/* What the instance name saw of itself, from its AI's log: 1 when its root
 * held the warm shim (its "files" line names .judger-hold), 0 when not, -1
 * when no player log has that instance. */
static int log_warm(const char *name) {
  char header[64];
  snprintf(header, sizeof header, "===== judger: instance %s of AI ", name);
  for (int ai = 0; ai < 8; ai++) {
    char path[600];
    snprintf(path, sizeof path, "%s/player_%d.log", env.out, ai);
    char *log = NULL;
    size_t len = 0;
    if (jd_read_file(&log, &len, path, 64u << 20))
      break;
    char *sec = strstr(log, header), *next = sec ? strstr(sec + 1, "===== judger: ") : NULL;
    if (next)
      *next = '\0';
    int warm = sec ? strstr(sec, ".judger-hold") != NULL : -1;
    free(log);
    if (warm >= 0)
      return warm;
  }
  return -1;
}

/* Whether name started warm: its container's entry point, seen at its
 * start; and always what its log says it saw, which must agree. (Under
 * load a short-lived player's container can be gone by the time the hook
 * lists the run's containers: the log is then the only witness.) */
static bool was_warm(const seen *s, const char *name) {
  int from_log = log_warm(name);
  cr_assert_geq(from_log, 0, "no log of instance %s", name);
  for (int i = 0; i < s->n; i++)
    if (!strcmp(s->names[i], name))
      cr_assert_eq(s->warm[i], from_log == 1, "%s: its container and its log disagree", name);
  return from_log == 1;
}

/* The value after "key " on the line of text starting with it. */
static double number_after(const char *text, const char *key) {
  const char *p = strstr(text, key);
  cr_assert_not_null(p, "no \"%s\" in %s", key, text);
  return strtod(p + strlen(key), NULL);
}

static jd_match_result *run(const char *spec, seen *s) {
  memset(s, 0, sizeof *s);
  jd_match_hooks hooks = {.progress = on_progress, .ud = s};
  return tm_run(&env, spec, &hooks);
}

Test(warm, first_instruction_runs_only_after_its_start) {
  char *spec = warm_spec(1, "linger", "0:p0", "1.5", "0", NULL);
  seen s;
  jd_match_result *r = run(spec, &s);
  cr_assert_eq(r->status, JD_MATCH_STATUS_FINISHED, "%s", r->reason ? r->reason : "");
  cr_assert(was_warm(&s, "p0"), "p0 did not start warm");
  char *asked = tm_read(&env, "asked.txt", NULL), *log = tm_read(&env, "player_0.log", NULL);
  double t_ask = number_after(asked, "p0 "), t_run = number_after(log, "uptime ");
  /* The game logic slept 1.5 s with the warm container running: had the
   * player's code run before its start, its uptime would be ~1.5 s early. */
  cr_assert_geq(t_run, t_ask, "the player ran at %.2f, asked for at %.2f", t_run, t_ask);
  /* Its start counts from the go, not from its container's start. */
  cr_assert_geq(r->instances[0].started_ms - r->game_logic.started_ms, 1400, "started %lld ms in",
                (long long)(r->instances[0].started_ms - r->game_logic.started_ms));
  free(asked);
  free(log);
  jd_match_result_free(r);
  free(spec);
  tm_assert_clean(&env);
}

Test(warm, wall_time_counts_from_the_start) {
  /* Waiting 2 s before the start, with a wall time of 1 s: counted from
   * the container's start, the player would be killed at once. */
  char *spec = warm_spec(1, "sleep", "0:p0", "2", "0", "{\"players\":{\"wall_ms\":1000}}");
  seen s;
  jd_match_result *r = run(spec, &s);
  cr_assert_eq(r->status, JD_MATCH_STATUS_FINISHED, "%s", r->reason ? r->reason : "");
  cr_assert(was_warm(&s, "p0"));
  cr_assert_eq(r->instances[0].verdict, JD_VERDICT_TLE);
  int64_t ran = r->instances[0].ended_ms - r->instances[0].started_ms;
  cr_assert_geq(ran, 950, "killed %lld ms after its start", (long long)ran);
  char *log = tm_read(&env, "player_0.log", NULL);
  cr_assert(strstr(log, "uptime "), "the player never ran: %s", log);
  free(log);
  jd_match_result_free(r);
  free(spec);
  tm_assert_clean(&env);
}

/* The lines of a player's log that describe what it sees, with the token
 * checked against match.json's and taken out (tokens differ per run) and
 * the warm shim's two entries taken out of the root listing. */
static char *identity(const char *tokens, int ai) {
  char name[32];
  snprintf(name, sizeof name, "player_%d.log", ai);
  char *log = tm_read(&env, name, NULL), *out = calloc(1, strlen(log) + 1);
  char token[80] = "";
  const char *t = tokens;
  for (int i = 0; i < ai && t; i++)
    t = strchr(t, '\n') ? strchr(t, '\n') + 1 : NULL;
  cr_assert_not_null(t);
  snprintf(token, sizeof token, "token=%.64s ", t);
  cr_assert(strstr(log, token), "AI %d's token is not match.json's: %s", ai, log);
  for (char *line = strtok(log, "\n"); line; line = strtok(NULL, "\n")) {
    if (!strncmp(line, "uptime", 6) || !strncmp(line, "=====", 5))
      continue;
    char *tok = strstr(line, "token=");
    if (tok)
      memmove(tok + 6, tok + 6 + 64, strlen(tok + 6 + 64) + 1);
    char *f;
    while ((f = strstr(line, ".judger-go ")) || (f = strstr(line, ".judger-hold ")))
      memmove(f, strchr(f, ' ') + 1, strlen(strchr(f, ' ') + 1) + 1);
    strcat(out, line);
    strcat(out, "\n");
  }
  free(log);
  return out;
}

Test(warm, a_warm_player_sees_what_a_cold_one_sees) {
  char *id[2][2], *reached[2];
  for (int k = 0; k < 2; k++) {
    char *spec = warm_spec(2, "serve", "0:p0 1:p1", "0", "1", k ? "{\"warm\":false}" : NULL);
    seen s;
    jd_match_result *r = run(spec, &s);
    cr_assert_eq(r->status, JD_MATCH_STATUS_FINISHED, "%s", r->reason ? r->reason : "");
    cr_assert_eq(was_warm(&s, "p0"), k == 0);
    cr_assert_eq(was_warm(&s, "p1"), k == 0);
    for (size_t i = 0; i < 2; i++)
      cr_assert_eq(r->players[i].verdict, JD_VERDICT_OK, "AI %zu: %s", i,
                   jd_verdict_name(r->players[i].verdict));
    char *tokens = tm_read(&env, "tokens.txt", NULL);
    for (int ai = 0; ai < 2; ai++)
      id[k][ai] = identity(tokens, ai);
    free(tokens);
    reached[k] = tm_read(&env, "reached.txt", NULL);
    /* The game logic reached each player by the name it chose. */
    cr_assert(strstr(reached[k], "p0 p0 0"), "%s", reached[k]);
    cr_assert(strstr(reached[k], "p1 p1 1"), "%s", reached[k]);
    jd_match_result_free(r);
    free(spec);
    tm_assert_clean(&env);
  }
  for (int ai = 0; ai < 2; ai++) {
    cr_assert_str_eq(id[0][ai], id[1][ai], "AI %d warm vs cold:\n%s\n---\n%s", ai, id[0][ai],
                     id[1][ai]);
    free(id[0][ai]);
    free(id[1][ai]);
  }
  free(reached[0]);
  free(reached[1]);
}

Test(warm, the_game_logic_starts_before_any_warm_container_is_made) {
  /* The game logic waits for nothing warm (warm.h): when it has started,
   * its container is the run's only one, and every warm container was
   * created after its start, by the engine's own clock. */
  char *spec = warm_spec(2, "linger", "0:p0 1:p1", "1", "0", NULL);
  seen s;
  jd_match_result *r = run(spec, &s);
  cr_assert_eq(r->status, JD_MATCH_STATUS_FINISHED, "%s", r->reason ? r->reason : "");
  cr_assert(was_warm(&s, "p0"));
  cr_assert_eq(s.containers_at_gl_start, 1, "%zu containers when the game logic started",
               s.containers_at_gl_start);
  cr_assert_gt(s.gl_started_ns, 0);
  cr_assert_gt(s.first_player_created_ns, s.gl_started_ns,
               "a warm container was created %lld us before the game logic's started",
               (long long)(s.gl_started_ns - s.first_player_created_ns) / 1000);
  jd_match_result_free(r);
  free(spec);
  tm_assert_clean(&env);
}

Test(warm, a_start_waits_for_its_warm_container_under_way) {
  /* Asked for at once, both players start warm: the first one's container
   * is under way when the start comes, the second one's begins then; none
   * is made twice (a cold one beside a warm one). */
  char *spec = warm_spec(2, "linger", "0:p0 1:p1", "0", "0", NULL);
  seen s;
  jd_match_result *r = run(spec, &s);
  cr_assert_eq(r->status, JD_MATCH_STATUS_FINISHED, "%s", r->reason ? r->reason : "");
  cr_assert(was_warm(&s, "p0"));
  cr_assert(was_warm(&s, "p1"));
  cr_assert_eq(r->ninstances, 2);
  cr_assert_eq(s.n, 2, "%d containers named like the started players", s.n);
  cr_assert_leq(s.containers_at_first_start, 2, "%zu player containers",
                s.containers_at_first_start);
  jd_match_result_free(r);
  free(spec);
  tm_assert_clean(&env);
}

/* Counts the test host's containers every 50 ms until stop, keeping the
 * most seen at once. */
typedef struct census {
  atomic_bool stop;
  size_t most;
} census;

static void *count_containers(void *arg) {
  census *c = arg;
  char label[128];
  snprintf(label, sizeof label, "%s=%s", JD_LABEL_HOST, env.host);
  const char *labels[] = {label, NULL};
  while (!atomic_load(&c->stop)) {
    dk_container_list *l = NULL;
    if (!dk_container_list_by_label(&l, env.dk, true, labels)) {
      if (l->count > c->most)
        c->most = l->count;
      dk_container_list_free(l);
    }
    usleep(50 * 1000);
  }
  return NULL;
}

Test(warm, an_unused_warm_container_is_gone_after_the_match) {
  /* Warm containers are made one after another once the game logic runs:
   * the census sees the unused ones while the match lasts (p0 lingers 2 s
   * after its start). */
  char *spec = warm_spec(3, "linger", "0:p0", "1", "0", NULL);
  census c = {.most = 0};
  atomic_init(&c.stop, false);
  pthread_t th;
  cr_assert_eq(pthread_create(&th, NULL, count_containers, &c), 0);
  seen s;
  jd_match_result *r = run(spec, &s);
  atomic_store(&c.stop, true);
  pthread_join(th, NULL);
  cr_assert_eq(r->status, JD_MATCH_STATUS_FINISHED, "%s", r->reason ? r->reason : "");
  /* The game logic's and p0's, and at least one unused warm one. */
  cr_assert_geq(c.most, 3, "at most %zu containers at once", c.most);
  cr_assert_eq(r->ninstances, 1);
  cr_assert_eq(r->players[1].instances, 0);
  cr_assert_eq(r->players[2].instances, 0);
  jd_match_result_free(r);
  free(spec);
  tm_assert_clean(&env);
}

Test(warm, a_second_instance_or_another_name_starts_cold) {
  /* p1 is AI 0's second instance, named like AI 1's warm container, which
   * must not answer for it; x9 is AI 1 under a name the judger did not
   * expect. */
  char *spec = warm_spec(2, "serve", "0:p0 0:p1 1:x9", "0", "1", NULL);
  seen s;
  jd_match_result *r = run(spec, &s);
  cr_assert_eq(r->status, JD_MATCH_STATUS_FINISHED, "%s", r->reason ? r->reason : "");
  cr_assert(was_warm(&s, "p0"));
  cr_assert_not(was_warm(&s, "p1"));
  cr_assert_not(was_warm(&s, "x9"));
  cr_assert_eq(r->ninstances, 3);
  for (size_t i = 0; i < r->ninstances; i++)
    cr_assert_eq(r->instances[i].verdict, JD_VERDICT_OK, "%s", r->instances[i].name);
  char *reached = tm_read(&env, "reached.txt", NULL);
  cr_assert(strstr(reached, "p0 p0 0"), "%s", reached);
  cr_assert(strstr(reached, "p1 p1 0"), "%s", reached);
  cr_assert(strstr(reached, "x9 x9 1"), "%s", reached);
  free(reached);
  jd_match_result_free(r);
  free(spec);
  tm_assert_clean(&env);
}

Test(warm, kill_9_with_warm_containers_waiting_leaves_nothing_after_reconciliation) {
  char *spec = warm_spec(2, "quick", "0:p0", "60", "0", NULL);
  pid_t pid = tm_run_child(&env, spec);
  /* The game logic and both warm containers exist (it sleeps 60 s): no
   * create is in flight when the judger dies (one would land after the
   * reconciliation's listing: the daemon's grace sweep is for those). */
  int64_t until = jd_mono_ms() + 60000;
  while (tm_containers(&env) < 3 && jd_mono_ms() < until)
    usleep(50 * 1000);
  cr_assert_eq(tm_containers(&env), 3, "the warm containers never appeared");
  free(spec);
  tm_kill9_and_reconcile(&env, pid, 2);
}

Test(warm, the_warm_limit_is_a_boolean_and_defaults_to_true) {
  jd_match_spec *spec = NULL;
  char err[512];
  char *json = warm_spec(1, "quick", "0:p0", "0", "0", NULL);
  cr_assert_eq(jd_match_spec_parse(&spec, json, NULL, err, sizeof err), 0, "%s", err);
  cr_assert(spec->limits.warm);
  jd_match_spec_free(spec);
  free(json);
  json = warm_spec(1, "quick", "0:p0", "0", "0", "{\"warm\":false}");
  cr_assert_eq(jd_match_spec_parse(&spec, json, NULL, err, sizeof err), 0, "%s", err);
  cr_assert_not(spec->limits.warm);
  jd_match_spec_free(spec);
  free(json);
  json = warm_spec(1, "quick", "0:p0", "0", "0", "{\"warm\":\"no\"}");
  spec = NULL;
  cr_assert_neq(jd_match_spec_parse(&spec, json, NULL, err, sizeof err), 0);
  cr_assert(strstr(err, "limits.warm"), "%s", err);
  jd_match_spec_free(spec);
  free(json);
}
