// test-labels: unit
/* cli/watch_print.c: the text form of every kind of live stream entry (one
 * line each, time first), a program's control characters escaped, entries
 * that are not JSON objects shown safely, and --json's lines. */
#include <criterion/criterion.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/watch_print.h"
#include "common/utf8.h"

/* The text line of an entry (static: the next call overwrites it). */
static const char *text(const char *json) {
  static char line[8192];
  char *t = NULL;
  cr_assert_eq(jd_watch_text(&t, NULL, json, strlen(json)), 0);
  snprintf(line, sizeof line, "%s", t);
  free(t);
  return line;
}

/* What jd_watch_print writes to a file (caller frees). */
static char *printed(const char *json, size_t len, bool as_json, jd_watch_info *info) {
  char *buf = NULL;
  size_t n = 0;
  FILE *f = open_memstream(&buf, &n);
  cr_assert_not_null(f);
  cr_assert_eq(jd_watch_print(f, info, json, len, as_json), 0);
  fclose(f);
  return buf;
}

#define M ",\"match_id\":\"m-1\",\"elapsed_ms\":1234,\"seq\":7}"

Test(watch_print, every_event_kind_has_its_line) {
  struct {
    const char *json, *line;
  } cases[] = {
      {"{\"event\":\"match.prepare\",\"run\":\"r-9\"" M,
       "[   1.23s] preparing programs (run r-9)\n"},
      {"{\"event\":\"program.build\",\"program\":\"ai-a\",\"line\":\"Step 1/3\"" M,
       "[   1.23s] build ai-a: Step 1/3\n"},
      {"{\"event\":\"program.ready\",\"ai\":1,\"id\":\"a\",\"cancelled\":false" M,
       "[   1.23s] AI 1 program a ready\n"},
      {"{\"event\":\"program.ready\",\"ai\":0,\"id\":\"b\",\"cancelled\":true" M,
       "[   1.23s] AI 0 program b cancelled (its build failed)\n"},
      {"{\"event\":\"game_logic.started\",\"name\":\"game_logic\"" M,
       "[   1.23s] game logic started\n"},
      {"{\"event\":\"player.started\",\"name\":\"p0\",\"ai\":0" M,
       "[   1.23s] player p0 started (AI 0)\n"},
      {"{\"event\":\"game_logic.exited\",\"name\":\"game_logic\",\"verdict\":\"OK\",\"exit_code\":"
       "0" M,
       "[   1.23s] game logic exited: OK, exit code 0\n"},
      {"{\"event\":\"player.exited\",\"name\":\"p1\",\"ai\":1,\"verdict\":\"TLE\",\"exit_code\":"
       "137,"
       "\"message\":\"too slow\"" M,
       "[   1.23s] player p1 (AI 1) exited: TLE, exit code 137: too slow\n"},
      {"{\"event\":\"command.refused\",\"reason\":\"unknown command\"" M,
       "[   1.23s] command refused: unknown command\n"},
      {"{\"turn\":3,\"turns\":100,\"event\":\"match.progress\"" M,
       "[   1.23s] progress {\"turn\":3,\"turns\":100}\n"},
      {"{\"event\":\"match.end\",\"scores\":[1,0.5]" M, "[   1.23s] match end scores [1,0.5]\n"},
      {"{\"event\":\"match.done\",\"status\":\"finished\"" M, "[   1.23s] done: finished\n"},
      {"{\"event\":\"match.frame\",\"data\":{\"turn\":3,\"board\":[[0,1],[1,0]],\"url\":\"a/b\"}" M,
       "[   1.23s] frame {\"turn\":3,\"board\":[[0,1],[1,0]],\"url\":\"a/b\"}\n"},
      {"{\"event\":\"match.frame\",\"data\":\"just a string\"" M,
       "[   1.23s] frame \"just a string\"\n"},
      {"{\"event\":\"live.begin\",\"task_id\":\"t-1\",\"attempt\":2}",
       "[       -] attempt 2 of task t-1\n"},
      {"{\"event\":\"some.future\",\"x\":1" M, "[   1.23s] some.future {\"x\":1}\n"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    cr_assert_str_eq(text(cases[i].json), cases[i].line, "%s", cases[i].json);
}

Test(watch_print, the_time_is_elapsed_ms) {
  cr_assert_str_eq(text("{\"event\":\"game_logic.started\",\"elapsed_ms\":0}"),
                   "[   0.00s] game logic started\n");
  cr_assert_str_eq(text("{\"event\":\"game_logic.started\",\"elapsed_ms\":754321}"),
                   "[ 754.32s] game logic started\n");
  cr_assert_str_eq(text("{\"event\":\"game_logic.started\",\"elapsed_ms\":\"soon\"}"),
                   "[       -] game logic started\n", "a time that is not a number: none");
}

Test(watch_print, control_characters_are_escaped) {
  /* The decoded strings of a refused line and a message: ESC, BEL, CR,
   * newline, DEL and a C1 CSI never reach the terminal as themselves. */
  const char *line = text("{\"event\":\"command.refused\",\"reason\":\"a\\u001b]0;pwned\\u0007"
                          "\\r\\nforged line\\u007f\\u009b2J\",\"elapsed_ms\":5}");
  cr_assert_eq(strchr(line, '\n'), line + strlen(line) - 1, "one line: %s", line);
  for (const char *p = line; *p; p++)
    cr_assert(*p == '\n' || ((unsigned char)*p >= 0x20 && *p != 0x7f), "byte %02x in %s",
              (unsigned char)*p, line);
  cr_assert_null(strstr(line, "\xc2\x9b"), "the C1 CSI is escaped: %s", line);
  cr_assert_not_null(strstr(line, "forged line"), "%s", line);
  /* Names and frames too. */
  line = text("{\"event\":\"player.started\",\"name\":\"p\\u001b[31m\",\"ai\":0,\"elapsed_ms\":1}");
  cr_assert_null(strchr(line, 0x1b), "%s", line);
  line = text("{\"event\":\"match.frame\",\"data\":{\"s\":\"x\\u001by\\u0085\"},\"elapsed_ms\":1}");
  cr_assert_null(strchr(line, 0x1b), "%s", line);
  cr_assert_null(strstr(line, "\xc2\x85"), "%s", line);
}

Test(watch_print, bad_entries_are_shown_safely) {
  const char *bad[] = {
      "not json \x1b[2J\x07", "{\"event\":",   "[1,2]",       "42",
      "\"match.done\"",       "{\"event\":3}", "{} trailing", "\xff\xfe{\"event\":\"match.done\"}"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    jd_watch_info info;
    char *t = NULL;
    cr_assert_eq(jd_watch_text(&t, &info, bad[i], strlen(bad[i])), 0);
    cr_assert_not(info.ok, "%s", bad[i]);
    cr_assert_not(info.done, "%s", bad[i]);
    cr_assert_eq(strncmp(t, "[       ?] (not a", 17), 0, "%s", t);
    cr_assert(jd_utf8_valid(t, strlen(t)), "%s", t);
    for (const char *p = t; *p; p++)
      cr_assert(*p == '\n' || ((unsigned char)*p >= 0x20 && *p != 0x7f), "%s", t);
    cr_assert_eq(strchr(t, '\n'), t + strlen(t) - 1, "one line: %s", t);
    free(t);
  }
  /* A long one: its first bytes and its size. */
  size_t n = 100000;
  char *big = malloc(n + 1);
  memset(big, 'x', n);
  big[n] = '\0';
  char *t = NULL;
  cr_assert_eq(jd_watch_text(&t, NULL, big, n), 0);
  cr_assert_not_null(strstr(t, "100000 bytes"), "%.300s", t);
  cr_assert_lt(strlen(t), (size_t)JD_WATCH_BAD_SHOWN + 80);
  free(t);
  /* Nested past any frame's depth: not taken, no crash. */
  memset(big, '[', n);
  cr_assert_eq(jd_watch_text(&t, NULL, big, n), 0);
  cr_assert_not_null(strstr(t, "(not a"), "%.100s", t);
  free(t);
  free(big);
  /* A NUL inside: not the entry it seems. */
  const char nul[] = "{\"event\":\"match.done\"}\0{\"x\":1}";
  jd_watch_info info;
  cr_assert_eq(jd_watch_text(&t, &info, nul, sizeof nul - 1), 0);
  cr_assert_not(info.done);
  free(t);
}

Test(watch_print, info_tells_done_begin_and_seq) {
  jd_watch_info info;
  const char *done = "{\"event\":\"match.done\",\"status\":\"failed\"" M;
  jd_watch_info_of(&info, done, strlen(done));
  cr_assert(info.ok && info.done && !info.begin && !info.frame);
  cr_assert_eq(info.seq, 7);
  const char *begin = "{\"event\":\"live.begin\",\"task_id\":\"t\",\"attempt\":3}";
  jd_watch_info_of(&info, begin, strlen(begin));
  cr_assert(info.ok && info.begin && !info.done);
  cr_assert_eq(info.attempt, 3);
  const char *frame = "{\"event\":\"match.frame\",\"data\":null" M;
  jd_watch_info_of(&info, frame, strlen(frame));
  cr_assert(info.frame && !info.done);
}

Test(watch_print, json_lines_are_the_entries_json) {
  const char *e = "{\"event\":\"match.frame\",\"data\":{\"a\":[1,2],\"u\":\"a/b\"}" M;
  jd_watch_info info;
  char *out = printed(e, strlen(e), true, &info);
  char want[512];
  snprintf(want, sizeof want, "%s\n", e);
  cr_assert_str_eq(out, want, "as it came");
  cr_assert(info.frame);
  free(out);
  /* Spread over lines, or with invalid UTF-8: one compact line of valid
   * UTF-8. */
  const char *multi = "{\"event\":\"match.end\",\n \"scores\":[1,0],\t\"s\":\"\xff\"}";
  out = printed(multi, strlen(multi), true, NULL);
  cr_assert_eq(strchr(out, '\n'), out + strlen(out) - 1, "%s", out);
  cr_assert(jd_utf8_valid(out, strlen(out)), "%s", out);
  cr_assert_not_null(strstr(out, "\"scores\":[1,0]"), "%s", out);
  free(out);
  /* C1 controls (CSI, OSC, ST) and DEL from a program: \u escapes, never
   * raw bytes a terminal acts on; the line is the same JSON. */
  const char *c1 = "{\"event\":\"match.frame\",\"data\":\"\xc2\x9b"
                   "2J\xc2\x9d"
                   "0;x\xc2\x9c\x7f\"}";
  out = printed(c1, strlen(c1), true, NULL);
  cr_assert_null(strstr(out, "\xc2\x9b"), "%s", out);
  cr_assert_null(strstr(out, "\xc2\x9d"), "%s", out);
  cr_assert_null(strchr(out, 0x7f), "%s", out);
  cr_assert_not_null(strstr(out, "\\u009b2J\\u009d0;x\\u009c\\u007f"), "%s", out);
  json_object *back = json_tokener_parse(out);
  cr_assert_not_null(back, "%s", out);
  json_object *d = NULL;
  cr_assert(json_object_object_get_ex(back, "data", &d));
  cr_assert_str_eq(json_object_get_string(d), "\xc2\x9b"
                                              "2J\xc2\x9d"
                                              "0;x\xc2\x9c\x7f");
  json_object_put(back);
  free(out);
  /* Not a JSON object: left out of the JSON lines. */
  out = printed("nope", 4, true, &info);
  cr_assert_str_eq(out, "");
  cr_assert_not(info.ok);
  free(out);
}

Test(watch_print, text_through_print_is_the_same_line) {
  const char *e = "{\"event\":\"match.done\",\"status\":\"finished\"" M;
  jd_watch_info info;
  char *out = printed(e, strlen(e), false, &info);
  cr_assert_str_eq(out, "[   1.23s] done: finished\n");
  cr_assert(info.done);
  free(out);
}
