// test-labels: unit
/* Match spec parsing: defaults, overrides per role, relative dirs, and
 * refusal of every invalid spec with the field named. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "common/tmpfile.h"
#include "common/util.h"
#include "match/match_spec.h"
#include "support.h"

static char *dir;

static void setup(void) {
  dir = t_tmpdir("spec");
  char p[512];
  snprintf(p, sizeof p, "%s/gl", dir);
  jd_mkdir_p(p, 0755);
  snprintf(p, sizeof p, "%s/gl/run.Dockerfile", dir);
  jd_write_file(p, "FROM scratch\n", 13);
  snprintf(p, sizeof p, "%s/ai", dir);
  jd_mkdir_p(p, 0755);
  snprintf(p, sizeof p, "%s/ai/run.Dockerfile", dir);
  jd_write_file(p, "FROM scratch\n", 13);
  snprintf(p, sizeof p, "%s/nodf", dir);
  jd_mkdir_p(p, 0755);
}

static void teardown(void) { t_rmdir(dir); }

TestSuite(match_spec, .init = setup, .fini = teardown);

#define GOOD_PROGRAMS                                                                              \
  "\"game_logic\":{\"id\":\"g\",\"dir\":\"gl\"},"                                                  \
  "\"players\":[{\"id\":\"a\",\"dir\":\"ai\"},{\"id\":\"b\",\"git\":\"https://x/y.git\","          \
  "\"ref\":\"main\"}]"

Test(match_spec, minimal_spec_gets_documented_defaults) {
  jd_match_spec *s = NULL;
  char err[256];
  const char *j = "{\"id\":\"m1\"," GOOD_PROGRAMS ",\"config\":{\"seed\": 42, \"map\":\"x\"}}";
  cr_assert_eq(jd_match_spec_parse(&s, j, dir, err, sizeof err), 0, "%s", err);
  cr_assert_str_eq(s->id, "m1");
  cr_assert_eq(s->nplayers, 2);
  char want[600];
  snprintf(want, sizeof want, "%s/gl", dir);
  cr_assert_str_eq(s->game_logic.dir, want);
  cr_assert_str_eq(s->players[1].git_url, "https://x/y.git");
  cr_assert_str_eq(s->players[1].git_ref, "main");
  cr_assert_str_eq(s->config_json, "{\"seed\":42,\"map\":\"x\"}");
  jd_match_limits d;
  jd_match_limits_default(&d);
  cr_assert_eq(s->limits.player.memory, d.player.memory);
  cr_assert_eq(s->limits.game_logic.wall_ms, d.game_logic.wall_ms);
  cr_assert_eq(s->limits.deadline_ms, d.deadline_ms);
  cr_assert_str_eq(s->limits.player.user, "65534:65534");
  jd_match_spec_free(s);
}

Test(match_spec, limits_top_level_then_per_role) {
  jd_match_spec *s = NULL;
  char err[256];
  const char *j = "{\"id\":\"m1\"," GOOD_PROGRAMS
                  ",\"limits\":{\"memory\":\"128m\",\"cpus\":0.5,\"wall_ms\":5000,"
                  "\"players\":{\"memory\":67108864,\"log_max\":\"4k\",\"user\":\"\"},"
                  "\"game_logic\":{\"pids\":300,\"tmpfs\":\"16m\"},"
                  "\"deadline_ms\":9000,\"max_instances\":3,\"line_max\":1024}}";
  cr_assert_eq(jd_match_spec_parse(&s, j, dir, err, sizeof err), 0, "%s", err);
  cr_assert_eq(s->limits.game_logic.memory, 128 << 20);
  cr_assert_eq(s->limits.player.memory, 64 << 20);
  cr_assert_float_eq(s->limits.player.cpus, 0.5, 1e-9);
  cr_assert_float_eq(s->limits.game_logic.cpus, 0.5, 1e-9);
  cr_assert_eq(s->limits.player.wall_ms, 5000);
  cr_assert_eq(s->limits.game_logic.wall_ms, 5000);
  cr_assert_eq(s->limits.player.log_max, 4096);
  cr_assert_eq(s->limits.game_logic.pids, 300);
  cr_assert_eq(s->limits.game_logic.tmpfs, 16 << 20);
  cr_assert_str_eq(s->limits.player.user, "");
  cr_assert_str_eq(s->limits.game_logic.user, "65534:65534");
  cr_assert_eq(s->limits.deadline_ms, 9000);
  cr_assert_eq(s->limits.max_instances, 3);
  cr_assert_eq(s->limits.line_max, 1024);
  jd_match_spec_free(s);
}

Test(match_spec, prebuilt_image_with_command) {
  jd_match_spec *s = NULL;
  char err[256];
  const char *j = "{\"id\":\"m1\",\"game_logic\":{\"id\":\"g\",\"image\":\"busybox:1\","
                  "\"dir\":\"nodf\",\"cmd\":[\"sh\",\"/app/gl.sh\"]},"
                  "\"players\":[{\"id\":\"a\",\"image\":\"busybox:1\"}]}";
  cr_assert_eq(jd_match_spec_parse(&s, j, dir, err, sizeof err), 0, "%s", err);
  cr_assert_str_eq(s->game_logic.image, "busybox:1");
  cr_assert_str_eq(s->game_logic.cmd[1], "/app/gl.sh");
  cr_assert_null(s->game_logic.cmd[2]);
  cr_assert_null(s->players[0].dir);
  jd_match_spec_free(s);
}

Test(match_spec, refuses_invalid_specs_naming_the_field) {
  static const struct {
    const char *json;
    const char *field;
  } bad[] = {
      {"not json", "spec: not valid JSON"},
      {"[]", "spec: must be a JSON object"},
      {"{" GOOD_PROGRAMS "}", "id: missing"},
      {"{\"id\":\"M1\"," GOOD_PROGRAMS "}", "id: must be lowercase"},
      {"{\"id\":7," GOOD_PROGRAMS "}", "id: must be a string"},
      {"{\"id\":\"m\"," GOOD_PROGRAMS ",\"extra\":1}", "extra: unknown field"},
      {"{\"id\":\"m\",\"players\":[{\"id\":\"a\",\"dir\":\"ai\"}]}", "game_logic: missing"},
      {"{\"id\":\"m\",\"game_logic\":{\"id\":\"g\",\"dir\":\"nodf\"},\"players\":[{\"id\":\"a\","
       "\"dir\":\"ai\"}]}",
       "game_logic.dir: no run.Dockerfile"},
      {"{\"id\":\"m\",\"game_logic\":{\"id\":\"g..x\",\"dir\":\"gl\"},\"players\":[{\"id\":"
       "\"a\",\"dir\":\"ai\"}]}",
       "game_logic.id: "},
      {"{\"id\":\"m\",\"game_logic\":{\"id\":\"g\",\"dir\":\"gl\"},\"players\":[{\"id\":\"a\","
       "\"dir\":\"missing\"}]}",
       "players[0].dir: "},
      {"{\"id\":\"m\",\"game_logic\":{\"id\":\"g\",\"dir\":\"gl\"},\"players\":[]}",
       "players: 0 players"},
      {"{\"id\":\"m\",\"game_logic\":{\"id\":\"g\",\"dir\":\"gl\"},\"players\":{}}",
       "players: must be an array"},
      {"{\"id\":\"m\",\"game_logic\":{\"id\":\"g\",\"dir\":\"gl\"},\"players\":[{\"id\":\"a\","
       "\"dir\":\"ai\",\"git\":\"x\"}]}",
       "players[0]: give exactly one source"},
      {"{\"id\":\"m\",\"game_logic\":{\"id\":\"g\",\"dir\":\"gl\"},\"players\":[{\"id\":\"a\"}]}",
       "players[0]: give exactly one source"},
      {"{\"id\":\"m\",\"game_logic\":{\"id\":\"g\",\"dir\":\"gl\"},\"players\":[{\"id\":\"a\","
       "\"dir\":\"ai\",\"ref\":\"main\"}]}",
       "players[0].ref: only with \"git\""},
      {"{\"id\":\"m\",\"game_logic\":{\"id\":\"g\",\"dir\":\"gl\"},\"players\":[{\"id\":\"A b\","
       "\"dir\":\"ai\"}]}",
       "players[0].id: must be lowercase"},
      {"{\"id\":\"m\",\"game_logic\":{\"id\":\"g\",\"dir\":\"gl\"},\"players\":[{\"id\":\"a\","
       "\"dir\":\"ai\",\"colour\":1}]}",
       "players[0].colour: unknown field"},
      {"{\"id\":\"m\",\"game_logic\":{\"id\":\"g\",\"image\":\"x\",\"cmd\":[]},\"players\":[{"
       "\"id\":"
       "\"a\",\"dir\":\"ai\"}]}",
       "game_logic.cmd: must be a non-empty array"},
      {"{\"id\":\"m\"," GOOD_PROGRAMS ",\"limits\":{\"memory\":-5}}", "limits.memory: must be"},
      {"{\"id\":\"m\"," GOOD_PROGRAMS ",\"limits\":{\"memory\":\"lots\"}}",
       "limits.memory: not a size"},
      {"{\"id\":\"m\"," GOOD_PROGRAMS ",\"limits\":{\"players\":{\"pids\":0}}}",
       "limits.players.pids: must be between"},
      {"{\"id\":\"m\"," GOOD_PROGRAMS ",\"limits\":{\"players\":{\"wall_ms\":-1}}}",
       "limits.players.wall_ms: must be between"},
      {"{\"id\":\"m\"," GOOD_PROGRAMS ",\"limits\":{\"game_logic\":{\"cpus\":\"2\"}}}",
       "limits.game_logic.cpus: must be a number"},
      {"{\"id\":\"m\"," GOOD_PROGRAMS ",\"limits\":{\"cpus\":-1}}", "limits.cpus: must be between"},
      {"{\"id\":\"m\"," GOOD_PROGRAMS ",\"limits\":{\"players\":{\"deadline_ms\":5}}}",
       "limits.players.deadline_ms: unknown field"},
      {"{\"id\":\"m\"," GOOD_PROGRAMS ",\"limits\":{\"deadline_ms\":0}}",
       "limits.deadline_ms: must be between"},
      {"{\"id\":\"m\"," GOOD_PROGRAMS ",\"limits\":{\"user\":\"a;b\"}}", "limits.user: must be"},
      {"{\"id\":\"m\"," GOOD_PROGRAMS ",\"limits\":{\"max_instances\":0}}",
       "limits.max_instances: must be between"},
      {"{\"id\":\"m\"," GOOD_PROGRAMS ",\"limits\":[]}", "limits: must be an object"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    jd_match_spec *s = (jd_match_spec *)1;
    char err[512];
    cr_assert_eq(jd_match_spec_parse(&s, bad[i].json, dir, err, sizeof err), -1, "accepted: %s",
                 bad[i].json);
    cr_assert_null(s);
    cr_assert(strstr(err, bad[i].field), "spec %s: error '%s' lacks '%s'", bad[i].json, err,
              bad[i].field);
  }
}

Test(match_spec, too_many_players_refused) {
  char j[8192] = "{\"id\":\"m\",\"game_logic\":{\"id\":\"g\",\"dir\":\"gl\"},\"players\":[";
  for (int i = 0; i < JD_MATCH_MAX_AIS + 1; i++)
    strcat(j, i ? ",{\"id\":\"a\",\"dir\":\"ai\"}" : "{\"id\":\"a\",\"dir\":\"ai\"}");
  strcat(j, "]}");
  jd_match_spec *s = NULL;
  char err[256];
  cr_assert_eq(jd_match_spec_parse(&s, j, dir, err, sizeof err), -1);
  cr_assert(strstr(err, "players: 17 players"), "%s", err);
}

Test(match_spec, game_json_has_config_and_tokens) {
  jd_match_spec *s = NULL;
  char err[256];
  const char *j = "{\"id\":\"m1\"," GOOD_PROGRAMS ",\"config\":{\"seed\":7}}";
  cr_assert_eq(jd_match_spec_parse(&s, j, dir, err, sizeof err), 0, "%s", err);
  const char *tokens[] = {"aa", "bb"};
  char *text = jd_match_game_json(s, tokens);
  json_object *o = json_tokener_parse(text);
  cr_assert_not_null(o);
  json_object *v, *p;
  cr_assert(json_object_object_get_ex(o, "match_id", &v));
  cr_assert_str_eq(json_object_get_string(v), "m1");
  cr_assert(json_object_object_get_ex(o, "config", &v));
  cr_assert(json_object_object_get_ex(v, "seed", &v));
  cr_assert_eq(json_object_get_int(v), 7);
  cr_assert(json_object_object_get_ex(o, "players", &p));
  cr_assert_eq(json_object_array_length(p), 2);
  cr_assert(json_object_object_get_ex(json_object_array_get_idx(p, 1), "token", &v));
  cr_assert_str_eq(json_object_get_string(v), "bb");
  json_object_put(o);
  free(text);
  jd_match_spec_free(s);
}

/* The daemon parses a task once and hands the "match" object on: the
 * object form reads the same spec and refuses the same mistakes. */
Test(match_spec, from_an_object_as_from_text) {
  json_object *o =
      json_tokener_parse("{\"id\":\"m1\",\"game_logic\":{\"id\":\"g\",\"image\":\"busybox\"},"
                         "\"players\":[{\"id\":\"a\","
                         "\"image\":\"busybox\"}],\"limits\":{\"players\":{\"memory\":\"64m\"}}}");
  cr_assert_not_null(o);
  jd_match_spec *s = NULL;
  char err[256];
  cr_assert_eq(jd_match_spec_from_object(&s, o, NULL, err, sizeof err), 0, "%s", err);
  cr_assert_str_eq(s->id, "m1");
  cr_assert_eq(s->limits.player.memory, 64 << 20);
  jd_match_spec_free(s);
  json_object_object_add(o, "surprise", json_object_new_int(1));
  cr_assert_eq(jd_match_spec_from_object(&s, o, NULL, err, sizeof err), -1);
  cr_assert_null(s);
  cr_assert(strstr(err, "surprise"), "%s", err);
  json_object_put(o);
  json_object *arr = json_object_new_array();
  cr_assert_eq(jd_match_spec_from_object(&s, arr, NULL, err, sizeof err), -1);
  cr_assert(strstr(err, "must be a JSON object"), "%s", err);
  json_object_put(arr);
}

Test(match_spec, per_ai_limits_override_the_players_limits) {
  jd_match_spec *s = NULL;
  char err[256];
  const char *j = "{\"id\":\"m\",\"game_logic\":{\"id\":\"g\",\"dir\":\"gl\"},"
                  "\"players\":[{\"id\":\"a\",\"dir\":\"ai\",\"limits\":{\"memory\":\"512m\","
                  "\"wall_ms\":2000,\"user\":\"\"}},{\"id\":\"b\",\"dir\":\"ai\"}],"
                  "\"limits\":{\"players\":{\"memory\":\"64m\",\"cpus\":0.5}}}";
  cr_assert_eq(jd_match_spec_parse(&s, j, dir, err, sizeof err), 0, "%s", err);
  const jd_role_limits *a = jd_match_player_limits(s, 0), *b = jd_match_player_limits(s, 1);
  cr_assert_eq(a->memory, 512 << 20);
  cr_assert_eq(a->wall_ms, 2000);
  cr_assert_float_eq(a->cpus, 0.5, 1e-9, "what AI 0 does not override stays the match's");
  cr_assert_str_eq(a->user, "");
  cr_assert_eq(b->memory, 64 << 20);
  cr_assert_eq(b->wall_ms, s->limits.player.wall_ms);
  cr_assert_str_eq(b->user, "65534:65534");
  jd_match_spec_free(s);
}

Test(match_spec, per_ai_limits_are_validated_naming_the_field) {
  static const struct {
    const char *limits;
    const char *field;
  } bad[] = {
      {"{\"memory\":\"1k\"}", "players[1].limits.memory: "},
      {"{\"memory\":true}", "players[1].limits.memory: "},
      {"{\"cpus\":0}", "players[1].limits.cpus: must be between"},
      {"{\"deadline_ms\":5}", "players[1].limits.deadline_ms: unknown field"},
      {"{\"user\":\"a b\"}", "players[1].limits.user: "},
      {"[]", "players[1].limits: must be an object"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char j[1024];
    snprintf(j, sizeof j,
             "{\"id\":\"m\",\"game_logic\":{\"id\":\"g\",\"dir\":\"gl\"},\"players\":[{\"id\":"
             "\"a\",\"dir\":\"ai\"},{\"id\":\"b\",\"dir\":\"ai\",\"limits\":%s}]}",
             bad[i].limits);
    jd_match_spec *s = NULL;
    char err[256];
    cr_assert_eq(jd_match_spec_parse(&s, j, dir, err, sizeof err), -1, "%s", bad[i].limits);
    cr_assert_null(s);
    cr_assert(strstr(err, bad[i].field), "%s: got '%s'", bad[i].limits, err);
  }
  /* Not for the game logic: its limits are limits.game_logic. */
  jd_match_spec *s = NULL;
  char err[256];
  cr_assert_eq(jd_match_spec_parse(&s,
                                   "{\"id\":\"m\",\"game_logic\":{\"id\":\"g\",\"dir\":\"gl\","
                                   "\"limits\":{}},\"players\":[{\"id\":\"a\",\"dir\":\"ai\"}]}",
                                   dir, err, sizeof err),
               -1);
  cr_assert(strstr(err, "game_logic.limits: unknown field"), "%s", err);
}

/* Turn clocks and cpuset (limits.clock ... limits.cpuset): the defaults. */
Test(match_spec, turn_limits_default) {
  jd_match_spec *s = NULL;
  char err[256];
  cr_assert_eq(jd_match_spec_parse(&s, "{\"id\":\"m1\"," GOOD_PROGRAMS "}", dir, err, sizeof err),
               0, "%s", err);
  const jd_turn_limits *t = &s->limits.turns;
  cr_assert_eq(t->clock, JD_CLOCK_CPU);
  cr_assert_eq(t->turn_ms, 1000);
  cr_assert_eq(t->time_bank_ms, 0);
  cr_assert_eq(t->bank_increment_ms, 0);
  cr_assert_eq(t->on_timeout, JD_ON_TIMEOUT_TLE);
  cr_assert_not(t->freeze_idle);
  cr_assert_not(t->exclusive);
  cr_assert_eq(t->turn_wall_factor, 5);
  cr_assert_not(s->limits.cpuset_auto);
  jd_match_limits d;
  jd_match_limits_default(&d);
  cr_assert(d.turns.clock == t->clock && d.turns.turn_ms == t->turn_ms &&
                d.turns.time_bank_ms == t->time_bank_ms &&
                d.turns.bank_increment_ms == t->bank_increment_ms &&
                d.turns.on_timeout == t->on_timeout && d.turns.freeze_idle == t->freeze_idle &&
                d.turns.exclusive == t->exclusive &&
                d.turns.turn_wall_factor == t->turn_wall_factor,
            "jd_match_limits_default has the same");
  cr_assert_not(d.cpuset_auto);
  jd_match_spec_free(s);
}

Test(match_spec, turn_limits_each_field) {
  jd_match_spec *s = NULL;
  char err[256];
  const char *j = "{\"id\":\"m1\"," GOOD_PROGRAMS
                  ",\"limits\":{\"clock\":\"wall\",\"turn_ms\":0,\"time_bank_ms\":3600000,"
                  "\"bank_increment_ms\":250,\"on_timeout\":\"freeze\",\"freeze_idle\":true,"
                  "\"exclusive_turns\":true,\"turn_wall_factor\":100,\"cpuset\":\"auto\","
                  "\"memory\":\"64m\"}}";
  cr_assert_eq(jd_match_spec_parse(&s, j, dir, err, sizeof err), 0, "%s", err);
  const jd_turn_limits *t = &s->limits.turns;
  cr_assert_eq(t->clock, JD_CLOCK_WALL);
  cr_assert_eq(t->turn_ms, 0);
  cr_assert_eq(t->time_bank_ms, 3600000);
  cr_assert_eq(t->bank_increment_ms, 250);
  cr_assert_eq(t->on_timeout, JD_ON_TIMEOUT_FREEZE);
  cr_assert(t->freeze_idle);
  cr_assert(t->exclusive);
  cr_assert_eq(t->turn_wall_factor, 100);
  cr_assert(s->limits.cpuset_auto);
  cr_assert_eq(s->limits.player.memory, 64 << 20, "the role keys beside them still apply");
  jd_match_spec_free(s);
  /* The other values of each. */
  j = "{\"id\":\"m1\"," GOOD_PROGRAMS
      ",\"limits\":{\"clock\":\"cpu\",\"on_timeout\":\"tle\",\"cpuset\":\"none\","
      "\"turn_wall_factor\":1,\"freeze_idle\":false,\"turn_ms\":3600000}}";
  cr_assert_eq(jd_match_spec_parse(&s, j, dir, err, sizeof err), 0, "%s", err);
  cr_assert_eq(s->limits.turns.clock, JD_CLOCK_CPU);
  cr_assert_eq(s->limits.turns.on_timeout, JD_ON_TIMEOUT_TLE);
  cr_assert_not(s->limits.cpuset_auto);
  cr_assert_eq(s->limits.turns.turn_wall_factor, 1);
  cr_assert_eq(s->limits.turns.turn_ms, 3600000);
  jd_match_spec_free(s);
}

Test(match_spec, turn_limits_refused_naming_the_field) {
  static const struct {
    const char *limits;
    const char *field;
  } bad[] = {
      {"{\"clock\":\"gpu\"}", "limits.clock: must be \"cpu\" or \"wall\""},
      {"{\"clock\":1}", "limits.clock: must be \"cpu\" or \"wall\""},
      {"{\"clock\":\"CPU\"}", "limits.clock: "},
      {"{\"time_bank_ms\":-1}", "limits.time_bank_ms: must be between 0 and 3600000"},
      {"{\"time_bank_ms\":3600001}", "limits.time_bank_ms: must be between"},
      {"{\"turn_ms\":1.5}", "limits.turn_ms: must be an integer"},
      {"{\"turn_ms\":\"100\"}", "limits.turn_ms: must be an integer"},
      {"{\"bank_increment_ms\":-5}", "limits.bank_increment_ms: must be between"},
      {"{\"bank_increment_ms\":99999999999999999999}", "limits.bank_increment_ms: "},
      {"{\"on_timeout\":\"kill\"}", "limits.on_timeout: must be \"tle\" or \"freeze\""},
      {"{\"freeze_idle\":\"yes\"}", "limits.freeze_idle: must be true or false"},
      {"{\"exclusive_turns\":1}", "limits.exclusive_turns: must be true or false"},
      {"{\"cpuset\":\"3\"}", "limits.cpuset: must be \"none\" or \"auto\""},
      {"{\"cpuset\":true}", "limits.cpuset: must be"},
      {"{\"turn_wall_factor\":0}", "limits.turn_wall_factor: must be between 1 and 100"},
      {"{\"turn_wall_factor\":101}", "limits.turn_wall_factor: must be between 1 and 100"},
      {"{\"turn_wall_factor\":2.5}", "limits.turn_wall_factor: must be an integer"},
      {"{\"turns_ms\":5}", "limits.turns_ms: unknown field"},
      {"{\"players\":{\"clock\":\"wall\"}}", "limits.players.clock: unknown field"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char j[1024];
    snprintf(j, sizeof j, "{\"id\":\"m\"," GOOD_PROGRAMS ",\"limits\":%s}", bad[i].limits);
    jd_match_spec *s = (jd_match_spec *)1;
    char err[256];
    cr_assert_eq(jd_match_spec_parse(&s, j, dir, err, sizeof err), -1, "accepted: %s",
                 bad[i].limits);
    cr_assert_null(s);
    cr_assert(strstr(err, bad[i].field), "%s: error '%s' lacks '%s'", bad[i].limits, err,
              bad[i].field);
  }
  /* Per AI: the turn clocks are the match's, not an AI's. */
  jd_match_spec *s = NULL;
  char err[256];
  cr_assert_eq(jd_match_spec_parse(&s,
                                   "{\"id\":\"m\",\"game_logic\":{\"id\":\"g\",\"dir\":\"gl\"},"
                                   "\"players\":[{\"id\":\"a\",\"dir\":\"ai\",\"limits\":{"
                                   "\"turn_ms\":5}}]}",
                                   dir, err, sizeof err),
               -1);
  cr_assert(strstr(err, "players[0].limits.turn_ms: unknown field"), "%s", err);
}

Test(match_spec, clock_and_on_timeout_names) {
  cr_assert_str_eq(jd_clock_name(JD_CLOCK_CPU), "cpu");
  cr_assert_str_eq(jd_clock_name(JD_CLOCK_WALL), "wall");
  cr_assert_str_eq(jd_clock_name(JD_CLOCK_COUNT), "?");
  cr_assert_str_eq(jd_clock_name((jd_clock_kind)-1), "?");
  cr_assert_str_eq(jd_on_timeout_name(JD_ON_TIMEOUT_TLE), "tle");
  cr_assert_str_eq(jd_on_timeout_name(JD_ON_TIMEOUT_FREEZE), "freeze");
  cr_assert_str_eq(jd_on_timeout_name(JD_ON_TIMEOUT_COUNT), "?");
}

/* Frames and the live file: limits.frame_max_bytes, frames_per_sec,
 * live_max_bytes (docs/match-spec.md). */
Test(match_spec, live_limits_default_and_each_field) {
  jd_match_spec *s = NULL;
  char err[256];
  cr_assert_eq(jd_match_spec_parse(&s, "{\"id\":\"m1\"," GOOD_PROGRAMS "}", dir, err, sizeof err),
               0, "%s", err);
  cr_assert_eq(s->limits.frame_max_bytes, 8192);
  cr_assert_eq(s->limits.frames_per_sec, 100);
  cr_assert_eq(s->limits.live_max_bytes, 32 << 20);
  jd_match_limits d;
  jd_match_limits_default(&d);
  cr_assert(d.frame_max_bytes == 8192 && d.frames_per_sec == 100 && d.live_max_bytes == 32 << 20);
  jd_match_spec_free(s);
  const char *j = "{\"id\":\"m1\"," GOOD_PROGRAMS
                  ",\"limits\":{\"frame_max_bytes\":\"1m\",\"frames_per_sec\":10000,"
                  "\"live_max_bytes\":0}}";
  cr_assert_eq(jd_match_spec_parse(&s, j, dir, err, sizeof err), 0, "%s", err);
  cr_assert_eq(s->limits.frame_max_bytes, 1 << 20);
  cr_assert_eq(s->limits.frames_per_sec, 10000);
  cr_assert_eq(s->limits.live_max_bytes, 0);
  jd_match_spec_free(s);
  j = "{\"id\":\"m1\"," GOOD_PROGRAMS
      ",\"limits\":{\"frame_max_bytes\":16,\"frames_per_sec\":1,\"live_max_bytes\":\"1g\"}}";
  cr_assert_eq(jd_match_spec_parse(&s, j, dir, err, sizeof err), 0, "%s", err);
  cr_assert_eq(s->limits.frame_max_bytes, 16);
  cr_assert_eq(s->limits.frames_per_sec, 1);
  cr_assert_eq(s->limits.live_max_bytes, (int64_t)1 << 30);
  jd_match_spec_free(s);
}

Test(match_spec, live_limits_refused_naming_the_field) {
  static const struct {
    const char *limits;
    const char *field;
  } bad[] = {
      {"{\"frame_max_bytes\":15}", "limits.frame_max_bytes: "},
      {"{\"frame_max_bytes\":1048577}", "limits.frame_max_bytes: "},
      {"{\"frame_max_bytes\":true}", "limits.frame_max_bytes: "},
      {"{\"frames_per_sec\":0}", "limits.frames_per_sec: must be between 1 and 10000"},
      {"{\"frames_per_sec\":10001}", "limits.frames_per_sec: must be between 1 and 10000"},
      {"{\"frames_per_sec\":2.5}", "limits.frames_per_sec: must be an integer"},
      {"{\"live_max_bytes\":-1}", "limits.live_max_bytes: "},
      {"{\"live_max_bytes\":\"2g\"}", "limits.live_max_bytes: "},
      {"{\"live_max_bytes\":null}", "limits.live_max_bytes: "},
      {"{\"players\":{\"frames_per_sec\":5}}", "limits.players.frames_per_sec: unknown field"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char j[1024];
    snprintf(j, sizeof j, "{\"id\":\"m\"," GOOD_PROGRAMS ",\"limits\":%s}", bad[i].limits);
    jd_match_spec *s = (jd_match_spec *)1;
    char err[256];
    cr_assert_eq(jd_match_spec_parse(&s, j, dir, err, sizeof err), -1, "accepted: %s",
                 bad[i].limits);
    cr_assert_null(s);
    cr_assert(strstr(err, bad[i].field), "%s: error '%s' lacks '%s'", bad[i].limits, err,
              bad[i].field);
  }
}
