// test-labels: engine
/* Who ended a container, told honestly (issue 21): a container killed or
 * removed from outside the judger is a system fault (status error, `judger
 * run` exit 3, a message saying so), never the program's RE, and the logs
 * read until then are kept; a program that kills itself stays RE; a
 * program whose build fails shows the compiler's words in the match's
 * outputs; an OOM kill that the end-of-match kill overtakes is still MLE
 * with fields that agree. */
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/tmpfile.h"
#include "match_support.h"

static tm_env env;
static void setup(void) { tm_setup(&env); }
static void teardown(void) { tm_teardown(&env); }
TestSuite(attribution, .init = setup, .fini = teardown, .timeout = 180);

/* ---- an outsider: waits for a container of the match, then ends it ------ */

typedef struct outsider {
  const char *role;   /* "player" | "game_logic" */
  const char *marker; /* waits for this in its log before acting */
  bool remove;        /* docker rm -f, else docker kill */
  pthread_t thread;
  char id[128];
  int rc; /* 0 once it acted; the failing step's code otherwise */
  const char *step;
} outsider;

static int on_start(void *ud, const dk_event *ev) {
  outsider *o = ud;
  if (!ev->action || !ev->id || strcmp(ev->action, "start"))
    return 0;
  snprintf(o->id, sizeof o->id, "%s", ev->id);
  return 1;
}

typedef struct seen {
  char tail[4096];
  size_t len;
  const char *marker;
} seen;

static int on_log(void *ud, int stream, const char *data, size_t len) {
  (void)stream;
  seen *s = ud;
  for (size_t i = 0; i < len; i++) {
    if (s->len + 1 >= sizeof s->tail) {
      memmove(s->tail, s->tail + sizeof s->tail / 2, s->len - sizeof s->tail / 2);
      s->len -= sizeof s->tail / 2;
    }
    s->tail[s->len++] = data[i];
  }
  s->tail[s->len] = '\0';
  return strstr(s->tail, s->marker) ? 1 : 0;
}

/* Whether a log spool of a match of this test's state dir
 * (<state>/matches/<run>/logs/) holds marker: the judger has read it. */
static bool spooled(const char *marker) {
  char path[900];
  snprintf(path, sizeof path, "%s/matches", env.state);
  DIR *runs = opendir(path);
  bool found = false;
  for (struct dirent *r = runs ? readdir(runs) : NULL; r && !found; r = readdir(runs)) {
    if (r->d_name[0] == '.')
      continue;
    char logs[1200];
    snprintf(logs, sizeof logs, "%s/%s/logs", path, r->d_name);
    DIR *d = opendir(logs);
    for (struct dirent *f = d ? readdir(d) : NULL; f && !found; f = readdir(d)) {
      char file[1500], *data = NULL;
      size_t len = 0;
      snprintf(file, sizeof file, "%s/%s", logs, f->d_name);
      if (f->d_name[0] != '.' && !jd_read_file(&data, &len, file, 1 << 20))
        found = strstr(data, marker) != NULL;
      free(data);
    }
    if (d)
      closedir(d);
  }
  if (runs)
    closedir(runs);
  return found;
}

/* No criterion asserts here (another thread): the test checks o->rc. */
static void *outsider_main(void *arg) {
  outsider *o = arg;
  char host[160], role[80];
  snprintf(host, sizeof host, "%s=%s", JD_LABEL_HOST, env.host);
  snprintf(role, sizeof role, "%s=%s", JD_LABEL_ROLE, o->role);
  const char *types[] = {"container", NULL};
  const char *labels[] = {host, role, NULL};
  int64_t now = jd_unix_ms();
  /* since: the history replays, so a start before this call is seen too. */
  dk_events_opts eo = {
      .types = types, .labels = labels, .since = now / 1000 - 1, .until = now / 1000 + 90};
  dk_call call = {.deadline_ms = jd_mono_ms() + 90000};
  o->step = "start event";
  o->rc = dk_system_events(env.dk, &eo, on_start, o, &call) == 1 ? 0 : -1;
  if (o->rc)
    return NULL;
  seen s = {.marker = o->marker};
  dk_logs_opts lo = {.follow = true};
  o->step = "marker in its log";
  o->rc = dk_container_logs(env.dk, o->id, &lo, on_log, &s, &call) == 1 ? 0 : -1;
  if (o->rc)
    return NULL;
  /* And the judger has read it too (its log stream may attach after a
   * quick start: what was printed before an outsider removes the
   * container is then lost with it, which is not what these tests ask). */
  o->step = "marker in the judger's spool";
  for (int i = 0; i < 500 && !spooled(o->marker); i++)
    usleep(20 * 1000);
  o->step = o->remove ? "docker rm -f" : "docker kill";
  o->rc = o->remove ? dk_container_remove(env.dk, o->id, true, true)
                    : dk_container_kill(env.dk, o->id, NULL);
  return NULL;
}

static void outsider_start(outsider *o) {
  cr_assert_eq(pthread_create(&o->thread, NULL, outsider_main, o), 0);
}

static void outsider_join(outsider *o) {
  pthread_join(o->thread, NULL);
  cr_assert_eq(o->rc, 0, "the outsider failed at: %s (%d)", o->step, o->rc);
}

/* A program directory under the test's state dir: main.sh (and a
 * run.Dockerfile when dockerfile is not NULL). Returns its path (owned). */
static char *program_dir(const char *name, const char *main_sh, const char *dockerfile) {
  char *dir = NULL, path[600];
  cr_assert(asprintf(&dir, "%s/prog-%s", env.state, name) > 0);
  cr_assert_eq(jd_mkdir_p(dir, 0755), 0);
  snprintf(path, sizeof path, "%s/main.sh", dir);
  cr_assert_eq(jd_write_file(path, main_sh, strlen(main_sh)), 0);
  if (dockerfile) {
    snprintf(path, sizeof path, "%s/run.Dockerfile", dir);
    cr_assert_eq(jd_write_file(path, dockerfile, strlen(dockerfile)), 0);
  }
  return dir;
}

static const jd_instance_result *instance_of(const jd_match_result *r, int ai) {
  for (size_t i = 0; i < r->ninstances; i++)
    if (r->instances[i].ai == ai)
      return &r->instances[i];
  cr_assert_fail("no instance of AI %d", ai);
  return NULL;
}

/* A player that says hello and then waits for long. */
static const char sleeper_sh[] = "#!/bin/sh\necho \"sleeper: before the outsider\"\nsleep 60\n";

static jd_match_result *run_with_outsider(outsider *o, const char *config) {
  char *dir = program_dir("sleeper", sleeper_sh, NULL);
  char *p = tm_program("sleeper", dir);
  char *spec = tm_spec("outside", p, config, NULL);
  outsider_start(o);
  int64_t t0 = jd_mono_ms();
  jd_match_result *r = tm_run(&env, spec, NULL);
  outsider_join(o);
  cr_assert_lt(jd_mono_ms() - t0, 40000, "the match waited for its players' wall time");
  free(spec);
  free(p);
  free(dir);
  return r;
}

Test(attribution, player_killed_from_outside_is_a_system_fault) {
  outsider o = {.role = "player", .marker = "before the outsider"};
  jd_match_result *r = run_with_outsider(&o, "{\"seed\":1,\"plan\":\"0\"}");
  cr_assert_str_eq(jd_match_status_name(r->status), "error", "%s: %s",
                   jd_match_status_name(r->status), r->reason ? r->reason : "");
  cr_assert_eq(jd_match_exit_code(r), JD_EXIT_SYSTEM);
  cr_assert_not_null(r->reason);
  cr_assert(strstr(r->reason, "player p0") && strstr(r->reason, "killed from outside the judger") &&
                strstr(r->reason, "signal 9"),
            "%s", r->reason);
  const jd_instance_result *in = instance_of(r, 0);
  cr_assert_str_eq(jd_verdict_name(in->verdict), "UE", "never RE: %s",
                   jd_verdict_name(in->verdict));
  cr_assert_not(in->killed);
  cr_assert_str_eq(jd_verdict_name(r->players[0].verdict), "UE");
  /* The match stopped at once: the game logic, ended by the judger (or
   * by itself on hearing of the exit, racing the kill), is OK, and an end
   * it may have sent makes no scores of an errored match. */
  cr_assert_str_eq(jd_verdict_name(r->game_logic.verdict), "OK");
  cr_assert_eq(r->game_logic.exit_code, 0);
  if (r->game_logic.killed)
    cr_assert_str_eq(r->game_logic.message ? r->game_logic.message : "",
                     "the match stopped on a system fault");
  cr_assert_not(r->has_scores);
  /* What was read so far is kept. */
  char *log = tm_read(&env, "player_0.log", NULL);
  cr_assert(strstr(log, "sleeper: before the outsider"), "%s", log);
  free(log);
  log = tm_read(&env, "game_logic.log", NULL);
  cr_assert(strstr(log, "game: seed=1"), "%s", log);
  free(log);
  tm_assert_result_file(&env, r);
  jd_match_result_free(r);
  tm_assert_clean(&env);
}

Test(attribution, player_removed_from_outside_is_a_system_fault) {
  outsider o = {.role = "player", .marker = "before the outsider", .remove = true};
  jd_match_result *r = run_with_outsider(&o, "{\"seed\":1,\"plan\":\"0\"}");
  cr_assert_str_eq(jd_match_status_name(r->status), "error", "%s: %s",
                   jd_match_status_name(r->status), r->reason ? r->reason : "");
  cr_assert(strstr(r->reason, "player p0") && strstr(r->reason, "removed from outside the judger"),
            "%s", r->reason);
  cr_assert_str_eq(jd_verdict_name(instance_of(r, 0)->verdict), "UE");
  char *log = tm_read(&env, "player_0.log", NULL);
  cr_assert(strstr(log, "sleeper: before the outsider"), "%s", log);
  free(log);
  jd_match_result_free(r);
  tm_assert_clean(&env);
}

Test(attribution, game_logic_killed_from_outside_is_a_system_fault) {
  outsider o = {.role = "game_logic", .marker = "game: hanging"};
  jd_match_result *r = run_with_outsider(&o, "{\"mode\":\"hang\"}");
  cr_assert_str_eq(jd_match_status_name(r->status), "error", "%s: %s",
                   jd_match_status_name(r->status), r->reason ? r->reason : "");
  cr_assert_eq(jd_match_exit_code(r), JD_EXIT_SYSTEM);
  cr_assert(strstr(r->reason, "game logic") && strstr(r->reason, "killed from outside the judger"),
            "%s", r->reason);
  cr_assert_str_eq(jd_verdict_name(r->game_logic.verdict), "UE");
  char *log = tm_read(&env, "game_logic.log", NULL);
  cr_assert(strstr(log, "game: hanging"), "%s", log);
  free(log);
  jd_match_result_free(r);
  tm_assert_clean(&env);
}

Test(attribution, a_player_that_kills_itself_is_RE) {
  /* SIGKILL of its own: exit 137 with no kill through the engine's API and
   * no OOM. Its fault, not the system's. */
  char *dir =
      program_dir("suicide", "#!/bin/sh\necho \"about to kill myself\"\nkill -9 $$\n", NULL);
  char *p = tm_program("suicide", dir);
  char *spec = tm_spec("selfkill", p, "{\"seed\":1,\"plan\":\"0\"}", NULL);
  jd_match_result *r = tm_run(&env, spec, NULL);
  cr_assert_str_eq(jd_match_status_name(r->status), "finished", "%s", r->reason ? r->reason : "");
  const jd_instance_result *in = instance_of(r, 0);
  cr_assert_str_eq(jd_verdict_name(in->verdict), "RE");
  cr_assert_eq(in->exit_code, 137);
  cr_assert_not(in->oom_killed);
  cr_assert_null(in->message, "%s", in->message);
  jd_match_result_free(r);
  free(spec);
  free(p);
  free(dir);
  tm_assert_clean(&env);
}

/* ---- `judger run` ------------------------------------------------------ */

/* Runs `judger run spec --out ... --quiet` with stdout and stderr into
 * files; returns its exit code, with *out the stdout's text. */
static int judger_run(const char *spec_json, char **out) {
  char spec[600], so[600], se[600];
  snprintf(spec, sizeof spec, "%s/spec.json", env.state);
  snprintf(so, sizeof so, "%s/stdout", env.state);
  snprintf(se, sizeof se, "%s/stderr", env.state);
  cr_assert_eq(jd_write_file(spec, spec_json, strlen(spec_json)), 0);
  pid_t pid = fork();
  cr_assert_geq(pid, 0);
  if (pid == 0) {
    int o = open(so, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int e = open(se, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (o < 0 || e < 0)
      _exit(126);
    dup2(o, 1);
    dup2(e, 2);
    char *const argv[] = {"judger",          "run",     spec,        "--out",  env.out,
                          "--state-dir",     env.state, "--host-id", env.host, "--quiet",
                          "--wait-teardown", NULL};
    execv(JD_BINARY_DIR "/bin/judger", argv);
    _exit(127);
  }
  int st = 0;
  cr_assert_eq(waitpid(pid, &st, 0), pid);
  cr_assert(WIFEXITED(st), "judger died of signal %d", WIFSIGNALED(st) ? WTERMSIG(st) : 0);
  size_t len = 0;
  cr_assert_eq(jd_read_file(out, &len, so, 1 << 20), 0);
  return WEXITSTATUS(st);
}

Test(attribution, judger_run_exits_3_when_the_game_logic_is_killed_from_outside) {
  char *dir = program_dir("sleeper", sleeper_sh, NULL);
  char *p = tm_program("sleeper", dir);
  char *spec = tm_spec("outside-cli", p, "{\"mode\":\"hang\"}", NULL);
  outsider o = {.role = "game_logic", .marker = "game: hanging"};
  outsider_start(&o);
  char *out = NULL;
  int code = judger_run(spec, &out);
  outsider_join(&o);
  cr_assert_eq(code, 3, "exit %d: %s", code, out);
  cr_assert(strstr(out, "match outside-cli: error"), "%s", out);
  cr_assert(strstr(out, "killed from outside the judger"), "%s", out);
  char *log = tm_read(&env, "game_logic.log", NULL);
  cr_assert(strstr(log, "game: hanging"), "%s", log);
  free(log);
  free(out);
  free(spec);
  free(p);
  free(dir);
  tm_assert_clean(&env);
}

/* ---- a failing build in a match --------------------------------------- */

Test(attribution, a_failing_build_is_in_the_outputs_under_quiet) {
  /* The "compiler" prints its error, with a terminal escape in it. */
  char *dir = program_dir("badbuild", "#!/bin/sh\nexit 0\n",
                          "FROM " T_BUSYBOX_IMAGE "\n"
                          "RUN echo \"bot.c:3:5: error: expected ';' before 'return'\" && "
                          "printf 'title \\033]0;pwned\\007 here\\n' && exit 1\n"
                          "CMD [\"sh\", \"/app/main.sh\"]\n");
  char *good = tm_program("good", "tests/judger/programs/honest");
  char *players = NULL;
  cr_assert(asprintf(&players, "%s,{\"id\":\"badbuild\",\"dir\":\"%s\"}", good, dir) > 0);
  char *spec = tm_spec("badbuild", players, "{\"seed\":3,\"plan\":\"0 1\"}", NULL);
  char *out = NULL;
  int code = judger_run(spec, &out);
  cr_assert_eq(code, 0, "exit %d: %s", code, out); /* the match goes on without it */
  char *text = tm_read(&env, "result.json", NULL);
  json_object *res = json_tokener_parse(text), *players_j, *p1, *v;
  cr_assert_not_null(res, "%s", text);
  cr_assert(json_object_object_get_ex(res, "players", &players_j));
  p1 = json_object_array_get_idx(players_j, 1);
  cr_assert(json_object_object_get_ex(p1, "verdict", &v));
  cr_assert_str_eq(json_object_get_string(v), "CANCEL");
  cr_assert(json_object_object_get_ex(p1, "build_log", &v));
  cr_assert_str_eq(json_object_get_string(v), "build_1.log", "%s", text);
  cr_assert(json_object_object_get_ex(json_object_array_get_idx(players_j, 0), "build_log", &v));
  cr_assert_null(v, "a player that built has no build log");
  json_object_put(res);
  free(text);
  char *log = tm_read(&env, "build_1.log", NULL);
  cr_assert(strstr(log, "bot.c:3:5: error: expected ';' before 'return'"), "%s", log);
  cr_assert_null(strchr(log, '\033'), "a raw ESC reached the build log");
  cr_assert(strstr(log, "\\x1b]0;pwned\\x07"), "%s", log);
  free(log);
  free(out);
  free(spec);
  free(players);
  free(good);
  free(dir);
  tm_assert_clean(&env);
}

/* ---- the MLE race ------------------------------------------------------- */

Test(attribution, an_oom_before_the_end_kill_is_MLE_with_fields_that_agree) {
  /* A wrapper whose child is OOM-killed tells the game and stays alive;
   * the game ends the match at once, so the end-of-match kill is what ends
   * the container, after the OOM. The OOM wins (docs/match-spec.md). */
  char *gl_dir = program_dir("racegame",
                             "#!/bin/sh\n"
                             "exec 3<\"$JUDGER_EVENT_PIPE\"\n"
                             "exec 4>\"$JUDGER_CMD_PIPE\"\n"
                             "sleep 60 | nc -l -p 7000 -w 30 > /tmp/in0 &\n"
                             "echo '{\"cmd\":\"start\",\"name\":\"p0\",\"ai\":0}' >&4\n"
                             "until grep -q bye /tmp/in0 2>/dev/null; do usleep 20000; done\n"
                             "echo 'game: the wrapper said bye'\n"
                             "echo '{\"cmd\":\"end\",\"scores\":[1]}' >&4\n"
                             "exit 0\n",
                             NULL);
  char *p_dir = program_dir("wrapper",
                            "#!/bin/sh\n"
                            "echo 'wrapper: starting the hog'\n"
                            "dd if=/dev/zero of=/dev/null bs=1024M count=1\n"
                            "echo \"wrapper: the hog ended ($?)\"\n"
                            "echo bye | nc game 7000\n"
                            "sleep 60\n",
                            NULL);
  char *gl = tm_program("racegame", gl_dir);
  char *p = tm_program("wrapper", p_dir);
  char *spec = NULL;
  cr_assert(asprintf(&spec,
                     "{\"id\":\"mlerace\",\"game_logic\":%s,\"players\":[%s],\"config\":{},"
                     "\"limits\":{\"players\":{\"memory\":\"48m\"}}}",
                     gl, p) > 0);
  jd_match_result *r = tm_run(&env, spec, NULL);
  cr_assert_str_eq(jd_match_status_name(r->status), "finished", "%s", r->reason ? r->reason : "");
  char *log = tm_read(&env, "player_0.log", NULL);
  cr_assert(strstr(log, "wrapper: the hog ended (137)"), "the hog was not OOM-killed: %s", log);
  free(log);
  const jd_instance_result *in = instance_of(r, 0);
  cr_assert_str_eq(jd_verdict_name(in->verdict), "MLE");
  cr_assert(in->oom_killed);
  cr_assert_eq(in->exit_code, 137, "exit %lld", (long long)in->exit_code);
  cr_assert_not(in->killed, "an MLE instance is not 'killed' by the judger");
  cr_assert_not_null(in->message);
  cr_assert(strstr(in->message, "out of memory"), "%s", in->message);
  cr_assert_str_eq(jd_verdict_name(r->players[0].verdict), "MLE");
  cr_assert_eq(r->players[0].exit_code, 137);
  jd_match_result_free(r);
  free(spec);
  free(gl);
  free(p);
  free(gl_dir);
  free(p_dir);
  tm_assert_clean(&env);
}

Test(attribution, a_game_logic_that_does_not_build_leaves_its_log) {
  char *dir = program_dir("badgame", "#!/bin/sh\nexit 0\n",
                          "FROM " T_BUSYBOX_IMAGE "\n"
                          "RUN echo \"game.c:1:1: error: unknown type name 'strcut'\" && exit 1\n"
                          "CMD [\"sh\", \"/app/main.sh\"]\n");
  char *p = tm_program("honest", "tests/judger/programs/honest");
  char *spec = NULL;
  cr_assert(asprintf(&spec,
                     "{\"id\":\"badgame\",\"game_logic\":{\"id\":\"badgame\",\"dir\":\"%s\"},"
                     "\"players\":[%s],\"config\":{}}",
                     dir, p) > 0);
  jd_match_result *r = tm_run(&env, spec, NULL);
  cr_assert_str_eq(jd_match_status_name(r->status), "failed", "%s", r->reason ? r->reason : "");
  cr_assert_str_eq(r->game_logic_build_log ? r->game_logic_build_log : "(null)",
                   "build_game_logic.log");
  char *log = tm_read(&env, "build_game_logic.log", NULL);
  cr_assert(strstr(log, "game.c:1:1: error: unknown type name 'strcut'"), "%s", log);
  free(log);
  char *text = tm_read(&env, "result.json", NULL);
  json_object *res = json_tokener_parse(text), *gl, *v;
  cr_assert(res && json_object_object_get_ex(res, "game_logic", &gl) &&
                json_object_object_get_ex(gl, "build_log", &v),
            "%s", text);
  cr_assert_str_eq(json_object_get_string(v), "build_game_logic.log");
  json_object_put(res);
  free(text);
  jd_match_result_free(r);
  free(spec);
  free(p);
  free(dir);
  tm_assert_clean(&env);
}
