// test-labels: unit
/* The match pipe protocol: command parsing (JSON and Hiper text forms),
 * event formatting and the capped line splitter. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "match/protocol.h"
#include "support.h"

static int parse(jd_proto_cmd *c, const char *line, int nais, char *err) {
  return jd_proto_parse(c, line, strlen(line), nais, err, 256);
}

Test(protocol, json_start_stop_progress_end) {
  jd_proto_cmd c;
  char err[256];
  cr_assert_eq(parse(&c, "{\"cmd\":\"start\",\"name\":\"p0\",\"ai\":1}", 2, err), 0, "%s", err);
  cr_assert_eq(c.type, JD_CMD_START);
  cr_assert_str_eq(c.name, "p0");
  cr_assert_eq(c.ai, 1);
  jd_proto_cmd_clear(&c);

  cr_assert_eq(parse(&c, "  {\"cmd\": \"stop\", \"name\": \"p-0_x\"}\r", 2, err), 0, "%s", err);
  cr_assert_eq(c.type, JD_CMD_STOP);
  cr_assert_str_eq(c.name, "p-0_x");
  jd_proto_cmd_clear(&c);

  cr_assert_eq(parse(&c, "{\"cmd\":\"progress\",\"turn\":3,\"turns\":100}", 2, err), 0, "%s", err);
  cr_assert_eq(c.type, JD_CMD_PROGRESS);
  cr_assert(strstr(c.progress_json, "\"turn\":3"));
  jd_proto_cmd_clear(&c);
  /* Numbers json-c takes but JSON does not: null, or rewritten ("1."). */
  cr_assert_eq(
      parse(&c, "{\"cmd\":\"progress\",\"a\":NaN,\"b\":-Infinity,\"c\":1e999,\"d\":1.}", 2, err), 0,
      "%s", err);
  cr_assert_str_eq(c.progress_json,
                   "{\"cmd\":\"progress\",\"a\":null,\"b\":null,\"c\":null,\"d\":1.0}");
  jd_proto_cmd_clear(&c);

  cr_assert_eq(
      parse(&c, "{\"cmd\":\"end\",\"scores\":[10,2.5],\"messages\":[\"ok\",null]}", 2, err), 0,
      "%s", err);
  cr_assert_eq(c.type, JD_CMD_END);
  cr_assert_eq(c.nscores, 2);
  cr_assert_float_eq(c.scores[0], 10.0, 1e-9);
  cr_assert_float_eq(c.scores[1], 2.5, 1e-9);
  cr_assert_str_eq(c.messages[0], "ok");
  cr_assert_null(c.messages[1]);
  jd_proto_cmd_clear(&c);
}

Test(protocol, hiper_text_forms) {
  jd_proto_cmd c;
  char err[256];
  cr_assert_eq(parse(&c, "create_player alice 1", 2, err), 0, "%s", err);
  cr_assert_eq(c.type, JD_CMD_START);
  cr_assert_str_eq(c.name, "alice");
  cr_assert_eq(c.ai, 1);
  jd_proto_cmd_clear(&c);
  cr_assert_eq(parse(&c, "remove_player alice\n", 2, err), 0, "%s", err);
  cr_assert_eq(c.type, JD_CMD_STOP);
  jd_proto_cmd_clear(&c);
  /* JSON with spaces after end_match: Hiper split on spaces and broke here. */
  cr_assert_eq(parse(&c, "end_match {\"scores\": [1, 2], \"messages\": [\"a b\", \"c\"]}", 2, err),
               0, "%s", err);
  cr_assert_eq(c.type, JD_CMD_END);
  cr_assert_float_eq(c.scores[1], 2.0, 1e-9);
  cr_assert_str_eq(c.messages[0], "a b");
  jd_proto_cmd_clear(&c);
  cr_assert_eq(parse(&c, "end_match [3, 4]", 2, err), 0, "%s", err);
  cr_assert_float_eq(c.scores[0], 3.0, 1e-9);
  jd_proto_cmd_clear(&c);
}

Test(protocol, refuses_bad_lines_with_a_reason) {
  static const struct {
    const char *line;
    const char *why;
  } bad[] = {
      {"not json at all", "unknown command"},
      {"{\"cmd\":\"start\",\"name\":\"p0\"", "not valid JSON"},
      {"{\"cmd\":\"start\",\"name\":\"p0\",\"ai\":2}", "out of range"},
      {"{\"cmd\":\"start\",\"name\":\"p0\",\"ai\":-1}", "out of range"},
      {"{\"cmd\":\"start\",\"name\":\"p0\",\"ai\":\"0\"}", "\"ai\""},
      {"{\"cmd\":\"start\",\"name\":\"game\",\"ai\":0}", "bad player name"},
      {"{\"cmd\":\"start\",\"name\":\"a b\",\"ai\":0}", "bad player name"},
      {"{\"cmd\":\"start\",\"name\":\"../x\",\"ai\":0}", "bad player name"},
      {"{\"cmd\":\"start\",\"name\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",\"ai\":0}",
       "bad player name"},
      {"{\"cmd\":\"fly\"}", "unknown command"},
      {"{\"name\":\"p0\"}", "cmd"},
      {"[1,2]", "JSON object"},
      {"{\"cmd\":\"end\",\"scores\":[1]}", "1 scores for 2 AIs"},
      {"{\"cmd\":\"end\",\"scores\":[1,\"x\"]}", "numbers"},
      {"{\"cmd\":\"end\"}", "scores"},
      {"{\"cmd\":\"start\",\"name\":\"p0\",\"ai\":0} trailing", "not valid JSON"},
      {"create_player p0", "usage"},
      {"create_player p0 x", "bad index"},
      {"create_player p0 7", "out of range"},
      {"create_player p0 0 extra", "usage"},
      {"remove_player", "usage"},
      {"end_match 1 2", "end_match"},
      {"end_match \"x\"", "end_match"},
      {"   ", "empty"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    jd_proto_cmd c;
    char err[256];
    cr_assert_eq(parse(&c, bad[i].line, 2, err), -1, "accepted: %s", bad[i].line);
    cr_assert(strstr(err, bad[i].why), "line %s: reason '%s' lacks '%s'", bad[i].line, err,
              bad[i].why);
  }
  /* NUL inside a line. */
  jd_proto_cmd c;
  char err[256];
  cr_assert_eq(jd_proto_parse(&c, "create_player\0x 0", 17, 2, err, sizeof err), -1);
}

Test(protocol, events_are_one_json_line_each) {
  char *s = jd_proto_event_started("p0", 1);
  cr_assert_str_eq(s, "{\"event\":\"started\",\"name\":\"p0\",\"ai\":1}\n");
  free(s);
  s = jd_proto_event_exited("p0", 1, 137, JD_VERDICT_TLE);
  cr_assert_str_eq(s, "{\"event\":\"exited\",\"name\":\"p0\",\"ai\":1,\"exit_code\":137,"
                      "\"verdict\":\"TLE\"}\n");
  free(s);
  s = jd_proto_event_cancelled("p1", 0, "build failed");
  cr_assert(strstr(s, "\"reason\":\"build failed\""));
  free(s);
  /* Binary garbage and a long line: echoed cut and printable, still JSON. */
  char junk[1000];
  for (size_t i = 0; i < sizeof junk; i++)
    junk[i] = (char)(i * 7);
  s = jd_proto_event_refused(junk, sizeof junk, "not valid JSON");
  cr_assert_eq(strchr(s, '\n'), s + strlen(s) - 1);
  json_object *o = json_tokener_parse(s);
  cr_assert_not_null(o, "refused event is not JSON: %s", s);
  json_object *line = NULL;
  cr_assert(json_object_object_get_ex(o, "line", &line));
  cr_assert_eq(strlen(json_object_get_string(line)), JD_PROTO_ECHO_MAX);
  json_object_put(o);
  free(s);
}

typedef struct lines {
  char got[16][128];
  bool over[16];
  int n;
} lines;

static int collect(void *ud, const char *line, size_t len, bool oversized) {
  lines *l = ud;
  cr_assert_lt(l->n, 16);
  snprintf(l->got[l->n], sizeof l->got[0], "%.*s", (int)len, line);
  l->over[l->n++] = oversized;
  return 0;
}

Test(protocol, reader_splits_at_every_offset_and_caps_lines) {
  const char *in = "a\n\nbb\n0123456789ABCDEF\nc\nlast";
  size_t inlen = strlen(in);
  for (size_t cut = 0; cut <= inlen; cut++) {
    jd_proto_reader r;
    cr_assert_eq(jd_proto_reader_init(&r, 8), 0);
    lines l = {0};
    cr_assert_eq(jd_proto_reader_feed(&r, in, cut, collect, &l), 0);
    cr_assert_eq(jd_proto_reader_feed(&r, in + cut, inlen - cut, collect, &l), 0);
    cr_assert_eq(jd_proto_reader_finish(&r, collect, &l), 0);
    jd_proto_reader_free(&r);
    cr_assert_eq(l.n, 5, "cut %zu: %d lines", cut, l.n);
    cr_assert_str_eq(l.got[0], "a");
    cr_assert_str_eq(l.got[1], "bb");
    cr_assert_str_eq(l.got[2], "01234567");
    cr_assert(l.over[2]);
    cr_assert_str_eq(l.got[3], "c");
    cr_assert_not(l.over[3]);
    cr_assert_str_eq(l.got[4], "last");
  }
}

static int stop_at_second(void *ud, const char *line, size_t len, bool oversized) {
  int *n = ud;
  return ++*n == 2 ? 42 : 0;
}

Test(protocol, reader_stops_when_the_callback_says) {
  jd_proto_reader r;
  jd_proto_reader_init(&r, 0);
  int n = 0;
  cr_assert_eq(jd_proto_reader_feed(&r, "x\ny\nz\n", 6, stop_at_second, &n), 42);
  cr_assert_eq(n, 2);
  jd_proto_reader_free(&r);
}

/* Whether a stop command naming name (NULL: JSON null) is accepted. */
static bool name_ok(const char *name) {
  char line[128];
  snprintf(line, sizeof line, "{\"cmd\":\"stop\",\"name\":%s%s%s}", name ? "\"" : "",
           name ? name : "null", name ? "\"" : "");
  jd_proto_cmd c;
  char err[256];
  int rc = jd_proto_parse(&c, line, strlen(line), 2, err, sizeof err);
  jd_proto_cmd_clear(&c);
  return rc == 0;
}

Test(protocol, player_names) {
  cr_assert(name_ok("p0"));
  cr_assert(name_ok("Player_1-b"));
  cr_assert_not(name_ok(""));
  cr_assert_not(name_ok("-p"));
  cr_assert_not(name_ok("game"));
  cr_assert_not(name_ok("a.b"));
  cr_assert_not(name_ok(NULL));
}

/* ---- turn clocks --------------------------------------------------------- */

/* Parses line (2 AIs) and checks every field of the turn command. */
static void turn_ok(const char *line, jd_cmd_type type, const char *name, int ai, int64_t budget) {
  jd_proto_cmd c;
  char err[256];
  cr_assert_eq(parse(&c, line, 2, err), 0, "refused: %s (%s)", line, err);
  cr_assert_eq(c.type, type, "%s", line);
  cr_assert_str_eq(c.name, name, "%s", line);
  cr_assert_eq(c.ai, ai, "%s: ai %d", line, c.ai);
  cr_assert_eq(c.budget_ms, budget, "%s: budget %lld", line, (long long)c.budget_ms);
  jd_proto_cmd_clear(&c);
}

Test(protocol, turn_commands_in_both_forms) {
  turn_ok("{\"cmd\":\"turn\",\"name\":\"p0\",\"budget_ms\":100}", JD_CMD_TURN, "p0", -1, 100);
  turn_ok("{\"cmd\":\"turn\",\"name\":\"p0\"}", JD_CMD_TURN, "p0", -1, -1);
  turn_ok("{\"cmd\":\"turn\",\"ai\":0}", JD_CMD_TURN, "", 0, -1);
  turn_ok("{\"cmd\":\"turn\",\"ai\":1,\"budget_ms\":0}", JD_CMD_TURN, "", 1, 0);
  turn_ok("{\"cmd\":\"turn\",\"ai\":1,\"budget_ms\":3600000}", JD_CMD_TURN, "", 1, 3600000);
  turn_ok("{\"cmd\":\"turn_end\",\"name\":\"p0\"}", JD_CMD_TURN_END, "p0", -1, -1);
  turn_ok("{\"cmd\":\"turn_end\",\"ai\":1}", JD_CMD_TURN_END, "", 1, -1);
  /* Unknown keys are ignored, as in the other commands; so is a budget on
   * turn_end (it has none). */
  turn_ok("{\"cmd\":\"turn\",\"ai\":1,\"why\":[1]}", JD_CMD_TURN, "", 1, -1);
  turn_ok("{\"cmd\":\"turn_end\",\"ai\":1,\"budget_ms\":5}", JD_CMD_TURN_END, "", 1, -1);
  turn_ok("turn p0 100", JD_CMD_TURN, "p0", -1, 100);
  turn_ok("  turn   Bot_1-x\t0100 \r", JD_CMD_TURN, "Bot_1-x", -1, 100);
  turn_ok("turn p0", JD_CMD_TURN, "p0", -1, -1);
  turn_ok("turn p0 0", JD_CMD_TURN, "p0", -1, 0);
  turn_ok("turn p0 3600000", JD_CMD_TURN, "p0", -1, 3600000);
  turn_ok("turn 7 5", JD_CMD_TURN, "7", -1, 5); /* a name, not an AI index */
  turn_ok("turn_end p0", JD_CMD_TURN_END, "p0", -1, -1);
}

Test(protocol, turn_refusals_say_why) {
  static const struct {
    const char *line;
    const char *why;
  } bad[] = {
      {"{\"cmd\":\"turn\",\"name\":\"p0\",\"ai\":0}", "exactly one of"},
      {"{\"cmd\":\"turn_end\",\"name\":\"p0\",\"ai\":0}", "exactly one of"},
      {"{\"cmd\":\"turn\"}", "exactly one of"},
      {"{\"cmd\":\"turn_end\",\"budget_ms\":5}", "exactly one of"},
      {"{\"cmd\":\"turn\",\"name\":\"game\"}", "bad player name"},
      {"{\"cmd\":\"turn\",\"name\":\"a\\\"b\"}", "bad player name"},
      {"{\"cmd\":\"turn_end\",\"name\":\"../x\"}", "bad player name"},
      {"{\"cmd\":\"turn\",\"name\":5}", "\"name\" must be a string"},
      {"{\"cmd\":\"turn\",\"name\":null}", "\"name\" must be a string"},
      {"{\"cmd\":\"turn\",\"name\":\"p0\\u0000x\"}", "a NUL inside"},
      {"{\"cmd\":\"stop\",\"name\":\"p0\\u0000\"}", "a NUL inside"},
      {"{\"cmd\":\"turn\",\"ai\":2}", "out of range"},
      {"{\"cmd\":\"turn_end\",\"ai\":-1}", "out of range"},
      {"{\"cmd\":\"turn\",\"ai\":99999999999999999999}", "out of range"},
      {"{\"cmd\":\"turn\",\"ai\":\"0\"}", "\"ai\" must be an integer"},
      {"{\"cmd\":\"turn\",\"ai\":0.0}", "\"ai\" must be an integer"},
      {"{\"cmd\":\"turn\",\"ai\":0,\"budget_ms\":-1}", "out of range: -1"},
      {"{\"cmd\":\"turn\",\"ai\":0,\"budget_ms\":1.5}", "not a double"},
      {"{\"cmd\":\"turn\",\"ai\":0,\"budget_ms\":100.0}", "not a double"},
      {"{\"cmd\":\"turn\",\"ai\":0,\"budget_ms\":1e3}", "not a double"},
      {"{\"cmd\":\"turn\",\"ai\":0,\"budget_ms\":\"100\"}", "not a string"},
      {"{\"cmd\":\"turn\",\"ai\":0,\"budget_ms\":null}", "not a null"},
      {"{\"cmd\":\"turn\",\"ai\":0,\"budget_ms\":true}", "not a boolean"},
      {"{\"cmd\":\"turn\",\"ai\":0,\"budget_ms\":3600001}", "out of range: 3600001"},
      {"{\"cmd\":\"turn\",\"ai\":0,\"budget_ms\":99999999999999999999}", "out of range"},
      {"{\"cmd\":\"turn\",\"ai\":0,\"budget_ms\":-99999999999999999999}", "out of range"},
      {"turn p0 -1", "decimal digits"},
      {"turn p0 +1", "decimal digits"},
      {"turn p0 12x", "decimal digits"},
      {"turn p0 1.5", "decimal digits"},
      {"turn p0 3600001", "at most 3600000"},
      {"turn p0 99999999999999999999", "at most 3600000"},
      {"turn p0 999999999999999999999999999999999999999999999999999", "at most 3600000"},
      {"turn", "usage: turn NAME"},
      {"turn p0 100 extra", "usage: turn NAME"},
      {"turn_end", "usage: turn_end NAME"},
      {"turn_end p0 100", "usage: turn_end NAME"},
      {"turn_end p0 x y", "usage: turn_end NAME"},
      {"turn game 5", "bad player name"},
      {"turn p.0 5", "bad player name"},
      {"turn aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa 5", "bad player name"},
      {"turn_end -p", "bad player name"},
      {"turns p0", "unknown command"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    jd_proto_cmd c;
    char err[256];
    cr_assert_eq(parse(&c, bad[i].line, 2, err), -1, "accepted: %s", bad[i].line);
    cr_assert(strstr(err, bad[i].why), "line %s: reason '%s' lacks '%s'", bad[i].line, err,
              bad[i].why);
    cr_assert_null(strchr(err, '\n'), "reason of %s is not one line", bad[i].line);
  }
}

/* The event line s parsed back: one line, one JSON object. */
static json_object *event_json(char *s) {
  cr_assert_not_null(s);
  cr_assert_eq(strchr(s, '\n'), s + strlen(s) - 1, "not one line: %s", s);
  json_object *o = json_tokener_parse(s);
  cr_assert_not_null(o, "not JSON: %s", s);
  free(s);
  return o;
}

static json_object *field(json_object *o, const char *key) {
  json_object *v = NULL;
  cr_assert(json_object_object_get_ex(o, key, &v), "no \"%s\"", key);
  return v;
}

Test(protocol, turn_events_carry_the_figures) {
  jd_proto_turn t = {.turn = 7,
                     .used_ms = 12.345,
                     .budget_ms = 100,
                     .bank_ms = 900,
                     .overrun_ms = 0,
                     .clock = "cpu"};
  char *s = jd_proto_event_turn_ended("p0", 0, &t);
  cr_assert_str_eq(s, "{\"event\":\"turn_ended\",\"name\":\"p0\",\"ai\":0,\"turn\":7,"
                      "\"used_ms\":12.345,\"budget_ms\":100,\"bank_ms\":900,\"overrun_ms\":0,"
                      "\"clock\":\"cpu\"}\n");
  json_object *o = event_json(s);
  cr_assert_float_eq(json_object_get_double(field(o, "used_ms")), 12.345, 1e-9);
  cr_assert_eq(json_object_get_int64(field(o, "turn")), 7);
  json_object_put(o);

  /* At most 3 decimals, however the double came out of the arithmetic. */
  jd_proto_turn u = {.turn = 8,
                     .used_ms = 1100.2000000001,
                     .budget_ms = 100,
                     .bank_ms = 0,
                     .overrun_ms = 1000.2 + 1e-12,
                     .clock = "wall"};
  s = jd_proto_event_timeout("p1", 1, &u, "freeze");
  cr_assert(strstr(s, "\"used_ms\":1100.2,"), "%s", s);
  cr_assert(strstr(s, "\"overrun_ms\":1000.2,"), "%s", s);
  o = event_json(s);
  cr_assert_str_eq(json_object_get_string(field(o, "event")), "timeout");
  cr_assert_str_eq(json_object_get_string(field(o, "name")), "p1");
  cr_assert_eq(json_object_get_int(field(o, "ai")), 1);
  cr_assert_float_eq(json_object_get_double(field(o, "used_ms")), 1100.2, 1e-9);
  cr_assert_float_eq(json_object_get_double(field(o, "budget_ms")), 100, 1e-9);
  cr_assert_float_eq(json_object_get_double(field(o, "bank_ms")), 0, 1e-9);
  cr_assert_str_eq(json_object_get_string(field(o, "clock")), "wall");
  cr_assert_str_eq(json_object_get_string(field(o, "action")), "freeze");
  json_object_put(o);

  /* Defaults: NULL clock is "cpu", NULL action "tle"; rounding, -0, huge. */
  jd_proto_turn d = {
      .turn = 1, .used_ms = 0.0004, .budget_ms = -0.0001, .bank_ms = 1e300, .overrun_ms = 2.0005};
  s = jd_proto_event_timeout("p0", 0, &d, NULL);
  cr_assert(strstr(s, "\"used_ms\":0,\"budget_ms\":0,\"bank_ms\":1000000000000000,"), "%s", s);
  o = event_json(s);
  cr_assert_str_eq(json_object_get_string(field(o, "clock")), "cpu");
  cr_assert_str_eq(json_object_get_string(field(o, "action")), "tle");
  cr_assert_eq(json_object_get_int64(field(o, "bank_ms")), 1000000000000000);
  json_object_put(o);
}

Test(protocol, turn_events_stay_json_whatever_they_are_handed) {
  /* Names are checked at parse; the formatter escapes all the same. */
  const char *hostile = "p0\",\"ai\":9,\"x\":\"\n\x01\xff\\";
  jd_proto_turn t = {.turn = 1, .used_ms = 1.0 / 0.0, .budget_ms = 0.0 / 0.0, .clock = "c\"l\nock"};
  json_object *o = event_json(jd_proto_event_timeout(hostile, 2, &t, "a\"}\n{"));
  cr_assert_eq(json_object_object_length(o), 10);
  cr_assert_eq(json_object_get_int(field(o, "ai")), 2);
  cr_assert(strncmp(json_object_get_string(field(o, "name")), "p0\",\"ai\":9", 10) == 0);
  cr_assert_str_eq(json_object_get_string(field(o, "clock")), "c\"l\nock");
  cr_assert_str_eq(json_object_get_string(field(o, "action")), "a\"}\n{");
  /* Not finite (never from the judger): null, not "inf". */
  cr_assert(json_object_is_type(field(o, "used_ms"), json_type_null));
  cr_assert(json_object_is_type(field(o, "budget_ms"), json_type_null));
  json_object_put(o);
  o = event_json(jd_proto_event_turn_ended(NULL, 0, &t));
  cr_assert_str_eq(json_object_get_string(field(o, "name")), "");
  cr_assert_eq(json_object_object_length(o), 9);
  json_object_put(o);
}

/* The frame's data as passed on (parsed with the command). */
static void frame_is(const char *line, const char *want) {
  jd_proto_cmd c;
  char err[256];
  cr_assert_eq(parse(&c, line, 2, err), 0, "%s: %s", line, err);
  cr_assert_eq(c.type, JD_CMD_FRAME, "%s", line);
  cr_assert_str_eq(c.frame_json, want, "%s", line);
  jd_proto_cmd_clear(&c);
  cr_assert_null(c.frame_json);
}

Test(protocol, frames_in_both_forms) {
  frame_is("{\"cmd\":\"frame\",\"data\":{\"turn\":3,\"board\":[[1,0],[0,2]]}}",
           "{\"turn\":3,\"board\":[[1,0],[0,2]]}");
  frame_is("{\"data\":[1,2],\"cmd\":\"frame\",\"other\":1}", "[1,2]");
  frame_is("{\"cmd\":\"frame\",\"data\":null}", "null");
  frame_is("{\"cmd\":\"frame\",\"data\":\"a/b\"}", "\"a/b\"");
  frame_is("frame {\"turn\": 1, \"moves\": [\"up\", \"left\"]}",
           "{\"turn\":1,\"moves\":[\"up\",\"left\"]}");
  /* Any JSON value, bare scalars too (json-c waits for more of a number at
   * the end of its input: the end is told). */
  frame_is("frame 42", "42");
  frame_is("frame -1.5e3", "-1.5e3");       /* a JSON number: kept as sent */
  frame_is("frame [1., 0.1]", "[1.0,0.1]"); /* "1." is not JSON: rewritten */
  frame_is("frame true", "true");
  frame_is("frame null", "null");
  frame_is("frame \"hi\"", "\"hi\"");
  frame_is("  frame   [1]  \r", "[1]");
}

Test(protocol, frame_data_is_cleaned) {
  /* Invalid UTF-8 in strings and keys is replaced; numbers json-c reads but
   * JSON does not have (NaN, Infinity) become null; numbers are rewritten
   * from their values. */
  jd_proto_cmd c;
  char err[256];
  cr_assert_eq(parse(&c,
                     "{\"cmd\":\"frame\",\"data\":{\"k\\u00ff\":\"a\xff\",\"n\":[NaN,Infinity,-"
                     "Infinity,1e999,01,7]}}",
                     2, err),
               0, "%s", err);
  json_object *o = json_tokener_parse(c.frame_json);
  cr_assert_not_null(o, "%s", c.frame_json);
  json_object *n = NULL;
  cr_assert(json_object_object_get_ex(o, "n", &n));
  cr_assert_eq(json_object_array_length(n), 6);
  for (size_t i = 0; i < 4; i++)
    cr_assert_null(json_object_array_get_idx(n, i), "%s", c.frame_json);
  cr_assert_eq(json_object_get_int(json_object_array_get_idx(n, 5)), 7);
  cr_assert_null(strstr(c.frame_json, "NaN"));
  cr_assert_null(strstr(c.frame_json, "Infinity"));
  json_object_put(o);
  jd_proto_cmd_clear(&c);
  /* Nesting past JD_PROTO_FRAME_DEPTH becomes null. */
  char deep[256] = "frame ";
  for (int i = 0; i < 20; i++)
    strcat(deep, "[");
  for (int i = 0; i < 20; i++)
    strcat(deep, "]");
  cr_assert_eq(parse(&c, deep, 2, err), 0, "%s", err);
  size_t opens = 0;
  for (const char *p = c.frame_json; *p; p++)
    opens += *p == '[';
  cr_assert_eq(opens, JD_PROTO_FRAME_DEPTH, "%s", c.frame_json);
  cr_assert(strstr(c.frame_json, "null"));
  jd_proto_cmd_clear(&c);
}

Test(protocol, bad_frames_are_refused) {
  const char *bad[] = {
      "{\"cmd\":\"frame\"}", /* no data */
      "frame",               /* no value */
      "frame {\"a\":",       /* not JSON */
      "frame [1] [2]",       /* two values */
      "frame 42 x",          /* trailing garbage */
      "frame nul",           /* not a literal */
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    jd_proto_cmd c;
    char err[256] = "";
    cr_assert_eq(parse(&c, bad[i], 2, err), -1, "%s was accepted", bad[i]);
    cr_assert(err[0], "%s: no reason", bad[i]);
    cr_assert_null(c.frame_json);
  }
}
