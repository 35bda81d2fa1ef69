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
