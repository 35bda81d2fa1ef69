// test-labels: unit
/* result.json, the summary table and the exit codes of match results. */
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "common/util.h"
#include "match/match_result.h"
#include "support.h"

static jd_match_result *sample(jd_match_status status, bool scores) {
  jd_match_result *r = calloc(1, sizeof *r);
  r->match_id = strdup("m1");
  r->run_key = strdup("m1-abcdef");
  r->status = status;
  r->reason = status != JD_MATCH_STATUS_FINISHED ? strdup("game logic exited") : NULL;
  r->has_scores = scores;
  r->started_ms = 1700000000000;
  r->ended_ms = 1700000004500;
  r->nplayers = 2;
  r->players = calloc(2, sizeof *r->players);
  for (int i = 0; i < 2; i++) {
    r->players[i].ai = i;
    r->players[i].id = strdup(i ? "py-bot" : "c-bot");
    r->players[i].verdict = i ? JD_VERDICT_TLE : JD_VERDICT_OK;
    r->players[i].score = i ? 1.5 : 10;
    r->players[i].exit_code = i ? 137 : 0;
    r->players[i].instances = 1;
    r->players[i].log = strdup(i ? "player_1.log" : "player_0.log");
  }
  r->game_logic = (jd_instance_result){.name = strdup("game_logic"),
                                       .ai = -1,
                                       .verdict = JD_VERDICT_OK,
                                       .exit_code = 0,
                                       .started_ms = 1700000000100,
                                       .ended_ms = 1700000004400};
  r->game_logic_log = strdup("game_logic.log");
  r->ninstances = 1;
  r->instances = calloc(1, sizeof *r->instances);
  r->instances[0] = (jd_instance_result){.name = strdup("p1"),
                                         .ai = 1,
                                         .verdict = JD_VERDICT_TLE,
                                         .exit_code = 137,
                                         .killed = true,
                                         .message = strdup("wall time exceeded")};
  r->nfiles = 1;
  r->files = calloc(1, sizeof *r->files);
  r->files[0] = strdup("replay.json");
  r->out_dir = strdup("/tmp/out");
  return r;
}

static json_object *get(json_object *o, const char *k) {
  json_object *v = NULL;
  cr_assert(json_object_object_get_ex(o, k, &v), "no %s", k);
  return v;
}

Test(match_result, json_has_the_documented_fields) {
  jd_match_result *r = sample(JD_MATCH_STATUS_FINISHED, true);
  r->live = (jd_live_counts){.frames = 120, .dropped_size = 3, .dropped_rate = 40};
  char *text = jd_match_result_json(r);
  json_object *o = json_tokener_parse(text);
  cr_assert_not_null(o);
  cr_assert_str_eq(json_object_get_string(get(o, "match_id")), "m1");
  cr_assert_str_eq(json_object_get_string(get(o, "run")), "m1-abcdef");
  cr_assert_str_eq(json_object_get_string(get(o, "status")), "finished");
  cr_assert(json_object_is_type(get(o, "reason"), json_type_null));
  cr_assert_eq(json_object_array_length(get(o, "scores")), 2);
  cr_assert_float_eq(json_object_get_double(json_object_array_get_idx(get(o, "scores"), 1)), 1.5,
                     1e-9);
  cr_assert_eq(json_object_get_int(get(o, "duration_ms")), 4500);
  cr_assert_str_eq(json_object_get_string(get(o, "started_at")), "2023-11-14T22:13:20.000Z");
  json_object *p1 = json_object_array_get_idx(get(o, "players"), 1);
  cr_assert_str_eq(json_object_get_string(get(p1, "verdict")), "TLE");
  cr_assert_eq(json_object_get_int(get(p1, "exit_code")), 137);
  cr_assert_str_eq(json_object_get_string(get(p1, "log")), "player_1.log");
  cr_assert_eq(json_object_get_int(get(p1, "instances")), 1);
  cr_assert_not(json_object_get_boolean(get(p1, "oom_killed")));
  json_object *in = json_object_array_get_idx(get(o, "instances"), 0);
  cr_assert(json_object_get_boolean(get(in, "killed")));
  cr_assert_str_eq(json_object_get_string(get(in, "message")), "wall time exceeded");
  cr_assert_str_eq(json_object_get_string(get(get(o, "game_logic"), "log")), "game_logic.log");
  cr_assert_str_eq(json_object_get_string(json_object_array_get_idx(get(o, "files"), 0)),
                   "replay.json");
  json_object *live = get(o, "live");
  cr_assert_eq(json_object_get_int64(get(live, "frames")), 120);
  cr_assert_eq(json_object_get_int64(get(live, "dropped_size")), 3);
  cr_assert_eq(json_object_get_int64(get(live, "dropped_rate")), 40);
  cr_assert_eq(json_object_get_int64(get(live, "dropped_file")), 0);
  json_object_put(o);
  free(text);
  cr_assert_eq(jd_match_exit_code(r), 0);
  jd_match_result_free(r);
}

/* A game listing 10 000 outputs of 64 levels of 255-byte names (~160 MB
 * of names): the result stays under the cap, says so, and counts them. */
Test(match_result, ten_thousand_deep_outputs_give_a_capped_result) {
  jd_match_result *r = sample(JD_MATCH_STATUS_FINISHED, true);
  free(r->files[0]);
  free(r->files);
  enum { N = 10000, LEVELS = 64, NAME = 255 };
  r->nfiles = N;
  r->files = calloc(N, sizeof *r->files);
  for (size_t i = 0; i < N; i++) {
    char *path = malloc(LEVELS * (NAME + 1) + 1);
    cr_assert_not_null(path);
    char *p = path;
    for (int l = 0; l < LEVELS; l++) {
      memset(p, 'a' + (char)(l % 26), NAME);
      p += NAME;
      *p++ = l + 1 < LEVELS ? '/' : '\0';
    }
    snprintf(path, 16, "%08zu", i); /* distinct names */
    path[8] = 'x';
    r->files[i] = path;
  }
  char *text = jd_match_result_json(r);
  cr_assert_not_null(text);
  size_t len = strlen(text);
  cr_assert(len < JD_RESULT_FILES_BYTES + 64 * 1024, "result.json is %zu bytes", len);
  json_object *o = json_tokener_parse(text);
  cr_assert_not_null(o);
  cr_assert(json_object_get_boolean(get(o, "outputs_truncated")));
  cr_assert_eq(json_object_get_int(get(o, "outputs_count")), N);
  size_t listed = json_object_array_length(get(o, "files"));
  cr_assert(listed > 0 && listed < N, "%zu listed", listed);
  cr_assert_str_eq(json_object_get_string(json_object_array_get_idx(get(o, "files"), 0)),
                   r->files[0]);
  json_object_put(o);
  free(text);
  jd_match_result_free(r);
}

Test(match_result, a_short_outputs_list_is_whole) {
  jd_match_result *r = sample(JD_MATCH_STATUS_FINISHED, true);
  char *text = jd_match_result_json(r);
  json_object *o = json_tokener_parse(text);
  cr_assert_not(json_object_get_boolean(get(o, "outputs_truncated")));
  cr_assert_eq(json_object_get_int(get(o, "outputs_count")), 1);
  json_object_put(o);
  free(text);
  jd_match_result_free(r);
}

Test(match_result, no_scores_unless_finished_and_exit_codes) {
  jd_match_result *r = sample(JD_MATCH_STATUS_FAILED, false);
  char *text = jd_match_result_json(r);
  json_object *o = json_tokener_parse(text);
  cr_assert(json_object_is_type(get(o, "scores"), json_type_null));
  cr_assert(json_object_is_type(get(json_object_array_get_idx(get(o, "players"), 0), "score"),
                                json_type_null));
  cr_assert_str_eq(json_object_get_string(get(o, "reason")), "game logic exited");
  json_object_put(o);
  free(text);
  cr_assert_eq(jd_match_exit_code(r), 1);
  r->status = JD_MATCH_STATUS_ERROR;
  cr_assert_eq(jd_match_exit_code(r), 3);
  r->status = JD_MATCH_STATUS_CANCELLED;
  cr_assert_eq(jd_match_exit_code(r), 3);
  cr_assert_eq(jd_match_exit_code(NULL), 3);
  jd_match_result_free(r);
  jd_match_result_free(NULL);
}

Test(match_result, summary_and_file) {
  jd_match_result *r = sample(JD_MATCH_STATUS_FINISHED, true);
  char *t = jd_match_result_summary(r);
  cr_assert(strstr(t, "match m1: finished (4.50s)"), "%s", t);
  cr_assert(strstr(t, "py-bot"), "%s", t);
  cr_assert(strstr(t, "TLE"), "%s", t);
  cr_assert(strstr(t, "wall time exceeded"), "%s", t);
  free(t);
  char *dir = t_tmpdir("mres");
  cr_assert_eq(jd_match_result_write(r, dir), 0);
  char path[512], *d = NULL;
  size_t len = 0;
  snprintf(path, sizeof path, "%s/result.json", dir);
  cr_assert_eq(jd_read_file(&d, &len, path, 1 << 20), 0);
  cr_assert_eq(d[len - 1], '\n');
  json_object *o = json_tokener_parse(d);
  cr_assert_not_null(o);
  json_object_put(o);
  free(d);
  t_rmdir(dir);
  jd_match_result_free(r);
}

Test(match_result, summary_notes_are_separated) {
  jd_match_result *r = sample(JD_MATCH_STATUS_FINISHED, true);
  r->players[1].oom_killed = true;
  r->players[1].log_truncated = true;
  r->players[1].message = strdup("memory limit exceeded");
  r->players[1].build_message = strdup("build: compile error");
  char *t = jd_match_result_summary(r);
  cr_assert(strstr(t, "  oom; log truncated; memory limit exceeded; build: compile error\n"), "%s",
            t);
  /* A player without notes shows a dash, not an empty column. */
  char *line0 = strstr(t, "\n0   c-bot");
  cr_assert_not_null(line0, "%s", t);
  char *end = strchr(line0 + 1, '\n');
  cr_assert(end && end[-1] == '-' && end[-2] == ' ', "%s", t);
  free(t);
  /* One note alone has no separator. */
  r->players[1].oom_killed = r->players[1].log_truncated = false;
  free(r->players[1].build_message);
  r->players[1].build_message = NULL;
  t = jd_match_result_summary(r);
  cr_assert(strstr(t, "  memory limit exceeded\n"), "%s", t);
  cr_assert_null(strstr(t, "; "), "%s", t);
  free(t);
  jd_match_result_free(r);
}

Test(match_result, json_shows_each_ais_limits) {
  jd_match_result *r = sample(JD_MATCH_STATUS_FINISHED, true);
  r->players[1].limits = (jd_role_limits){.cpus = 0.5,
                                          .memory = 64 << 20,
                                          .pids = 32,
                                          .wall_ms = 2000,
                                          .log_max = 4096,
                                          .tmpfs = 1 << 20,
                                          .user = strdup("65534:65534")};
  char *text = jd_match_result_json(r);
  json_object *o = json_tokener_parse(text);
  cr_assert_not_null(o);
  json_object *p1 = json_object_array_get_idx(get(o, "players"), 1);
  json_object *l = get(p1, "limits");
  cr_assert_eq(json_object_get_int64(get(l, "memory")), 64 << 20);
  cr_assert_eq(json_object_get_int64(get(l, "wall_ms")), 2000);
  cr_assert_float_eq(json_object_get_double(get(l, "cpus")), 0.5, 1e-9);
  cr_assert_str_eq(json_object_get_string(get(l, "user")), "65534:65534");
  json_object_put(o);
  free(text);
  jd_match_result_free(r);
}
