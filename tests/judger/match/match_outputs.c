// test-labels: engine
/* What a match writes stays valid whatever the programs do: strict UTF-8
 * JSON in result.json, progress lines and events; the judger's own files
 * where the game planted names; a start refused because of the image is
 * the program's fault; two programs differing only by cmd run their own. */
#include <sys/stat.h>
#include <unistd.h>

#include "common/utf8.h"
#include "match_support.h"

static tm_env env;
static void setup(void) { tm_setup(&env); }
static void teardown(void) { tm_teardown(&env); }
TestSuite(outputs, .init = setup, .fini = teardown, .timeout = 120);

/* A strict decoder: json-c with UTF-8 validation. */
static json_object *strict_parse(const char *text) {
  json_tokener *tok = json_tokener_new();
  json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
  json_object *o = json_tokener_parse_ex(tok, text, (int)strlen(text));
  if (json_tokener_get_error(tok) != json_tokener_success) {
    json_object_put(o);
    o = NULL;
  }
  json_tokener_free(tok);
  return o;
}

typedef struct lines {
  int n, bad;
} lines;

static void check_progress(void *ud, const char *line) {
  lines *l = ud;
  json_object *o = strict_parse(line);
  l->n++;
  l->bad += o ? 0 : 1;
  if (!o)
    fprintf(stderr, "not strict UTF-8 JSON: %s\n", line);
  json_object_put(o);
}

Test(outputs, invalid_utf8_nuls_and_long_cjk_give_strict_utf8_json) {
  char *p = tm_program("quiet", "tests/judger/programs/trivial");
  char *players = NULL;
  cr_assert(asprintf(&players, "%s,%s,%s", p, p, p) > 0);
  char *spec = tm_spec("badtext", players, "{\"seed\":1,\"plan\":\"\",\"mode\":\"badtext\"}", NULL);
  lines l = {0};
  jd_match_hooks hooks = {.progress = check_progress, .ud = &l};
  jd_match_result *r = tm_run(&env, spec, &hooks);
  cr_assert_str_eq(jd_match_status_name(r->status), "finished", "%s", r->reason ? r->reason : "");
  cr_assert_gt(l.n, 3);
  cr_assert_eq(l.bad, 0, "%d progress lines fail strict UTF-8", l.bad);
  char *text = tm_read(&env, "result.json", NULL);
  json_object *o = strict_parse(text);
  cr_assert_not_null(o, "result.json fails strict UTF-8 JSON");
  json_object_put(o);
  free(text);
  /* The CJK message: cut on a character (341 of 400), valid. */
  cr_assert_eq(strlen(r->players[0].message), 1023);
  cr_assert(jd_utf8_valid(r->players[0].message, 1023));
  cr_assert(strstr(r->players[1].message, "nul\xEF\xBF\xBD \xEF\xBF\xBD\xEF\xBF\xBD here"), "%s",
            r->players[1].message);
  /* The events the game logic received. */
  char *ev = tm_read(&env, "events.txt", NULL);
  cr_assert(strstr(ev, "\"refused\""), "%s", ev);
  for (char *line = strtok(ev, "\n"); line; line = strtok(NULL, "\n")) {
    json_object *e = strict_parse(line);
    cr_assert_not_null(e, "event fails strict UTF-8 JSON: %s", line);
    json_object_put(e);
  }
  free(ev);
  jd_match_result_free(r);
  free(spec);
  free(players);
  free(p);
  tm_assert_clean(&env);
}

Test(outputs, planted_names_do_not_stop_the_judgers_own_files) {
  char *p = tm_program("quiet", "tests/judger/programs/trivial");
  char *players = NULL, *config = NULL;
  cr_assert(asprintf(&players, "%s,%s", p, p) > 0);
  cr_assert(asprintf(&config, "{\"seed\":1,\"plan\":\"\",\"mode\":\"plant\",\"pid\":%d}",
                     (int)getpid()) > 0);
  char *spec = tm_spec("plant", players, config, NULL);
  jd_match_result *r = tm_run(&env, spec, NULL);
  cr_assert_str_eq(jd_match_status_name(r->status), "finished", "%s", r->reason ? r->reason : "");
  tm_assert_result_file(&env, r);
  char path[600];
  struct stat st;
  static const char *const own[] = {"result.json", "game_logic.log", "player_0.log",
                                    "player_1.log"};
  for (size_t i = 0; i < 4; i++) {
    snprintf(path, sizeof path, "%s/%s", env.out, own[i]);
    cr_assert_eq(lstat(path, &st), 0, "%s", own[i]);
    cr_assert(S_ISREG(st.st_mode), "%s is not a regular file", own[i]);
  }
  jd_match_result_free(r);
  free(spec);
  free(config);
  free(players);
  free(p);
  tm_assert_clean(&env);
}

Test(outputs, an_image_that_cannot_start_is_RE_not_UE) {
  char *p = NULL;
  cr_assert(asprintf(&p, "{\"id\":\"noexec\",\"image\":\"" T_BUSYBOX_IMAGE
                         "\",\"cmd\":[\"/no/such/entry\"]}") > 0);
  char *spec = tm_spec("noexec", p, "{\"seed\":1,\"plan\":\"0\"}", NULL);
  jd_match_result *r = tm_run(&env, spec, NULL);
  cr_assert_str_eq(jd_match_status_name(r->status), "finished", "%s", r->reason ? r->reason : "");
  /* Under the init (tini) a missing entry point is an exit 127; without it
   * the runtime refuses the start (400): both are the program's RE. */
  cr_assert_eq(r->ninstances, 1);
  cr_assert_str_eq(jd_verdict_name(r->players[0].verdict), "RE");
  cr_assert_eq(r->players[0].exit_code, 127);
  jd_match_result_free(r);
  free(spec);
  free(p);
  tm_assert_clean(&env);
}

Test(outputs, two_programs_differing_only_by_cmd_run_their_own) {
  char *a = NULL, *b = NULL, *players = NULL;
  cr_assert(asprintf(&a, "{\"id\":\"same\",\"image\":\"" T_BUSYBOX_IMAGE
                         "\",\"cmd\":[\"sh\",\"-c\",\"echo I-AM-A\"]}") > 0);
  cr_assert(asprintf(&b, "{\"id\":\"same\",\"image\":\"" T_BUSYBOX_IMAGE
                         "\",\"cmd\":[\"sh\",\"-c\",\"echo I-AM-B\"]}") > 0);
  cr_assert(asprintf(&players, "%s,%s", a, b) > 0);
  char *spec = tm_spec("samecmd", players, "{\"seed\":1,\"plan\":\"0 1\"}", NULL);
  jd_match_result *r = tm_run(&env, spec, NULL);
  cr_assert_str_eq(jd_match_status_name(r->status), "finished", "%s", r->reason ? r->reason : "");
  char *l0 = tm_read(&env, "player_0.log", NULL), *l1 = tm_read(&env, "player_1.log", NULL);
  cr_assert(strstr(l0, "I-AM-A"), "%s", l0);
  cr_assert(strstr(l1, "I-AM-B"), "%s", l1);
  free(l0);
  free(l1);
  jd_match_result_free(r);
  free(spec);
  free(players);
  free(a);
  free(b);
  tm_assert_clean(&env);
}

/* An image whose WORKDIR is a file (built here: WORKDIR makes the
 * directory, the RUN replaces it with a file). */
static void build_bad_workdir(const char *tag) {
  static const char df[] = "FROM " T_BUSYBOX_IMAGE "\nWORKDIR /w\nRUN rmdir /w && touch /w\n";
  const char *tags[] = {tag, NULL};
  dk_build_opts bo = {.tags = tags, .network_mode = "none"};
  t_ok(t_build_dockerfile(NULL, env.dk, df, &bo, NULL));
}

Test(outputs, an_image_whose_workdir_is_a_file_is_RE_with_the_engines_message) {
  char *tag = NULL;
  cr_assert(asprintf(&tag, "judger-test/badwd-%d:1", (int)getpid()) > 0);
  build_bad_workdir(tag);
  char *p = NULL;
  cr_assert(asprintf(&p, "{\"id\":\"badwd\",\"image\":\"%s\",\"cmd\":[\"true\"]}", tag) > 0);
  char *spec = tm_spec("badwd", p, "{\"seed\":1,\"plan\":\"0\"}", NULL);
  jd_match_result *r = tm_run(&env, spec, NULL);
  cr_assert_str_eq(jd_match_status_name(r->status), "finished", "%s", r->reason ? r->reason : "");
  cr_assert_eq(r->ninstances, 1);
  cr_assert_str_eq(jd_verdict_name(r->players[0].verdict), "RE");
  cr_assert_not_null(r->instances[0].message);
  cr_assert(strstr(r->instances[0].message, "/w is not a directory"), "%s",
            r->instances[0].message);
  jd_match_result_free(r);
  free(spec);
  free(p);
  dk_image_remove(env.dk, tag, true, false);
  free(tag);
  tm_assert_clean(&env);
}
