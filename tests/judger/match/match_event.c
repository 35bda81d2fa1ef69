// test-labels: unit
/* Typed match events: one name per type from JD_EVENT_MAP, and JSON byte
 * for byte what the match wrote before events were typed (each expected
 * line is built here the way the match used to build it). */
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "common/utf8.h"
#include "match/match_event.h"
#include "support.h"

/* The old construction's tail: match_id and elapsed_ms (and now seq), then
 * the line. */
static char *old_line(json_object *o) {
  json_object_object_add(o, "match_id", json_object_new_string("m1"));
  json_object_object_add(o, "elapsed_ms", json_object_new_int64(1234));
  json_object_object_add(o, "seq", json_object_new_int64(7));
  char *s = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
  json_object_put(o);
  return s;
}

static json_object *old_event(const char *event, const char *name, int ai) {
  json_object *o = json_object_new_object();
  json_object_object_add(o, "event", json_object_new_string(event));
  if (name) {
    json_object_object_add(o, "name", json_object_new_string(name));
    if (ai >= 0)
      json_object_object_add(o, "ai", json_object_new_int(ai));
  }
  return o;
}

static void same(jd_match_event *ev, char *want) {
  ev->match_id = "m1";
  ev->elapsed_ms = 1234;
  ev->seq = 7;
  char *got = NULL;
  cr_assert_eq(jd_match_event_json(&got, ev), 0);
  cr_assert_str_eq(got, want);
  free(got);
  free(want);
}

Test(match_event, every_type_has_its_name) {
  cr_assert_str_eq(jd_match_event_name(JD_EVENT_PLAYER_STARTED), "player.started");
  cr_assert_str_eq(jd_match_event_name(JD_EVENT_MATCH_PROGRESS), "match.progress");
  cr_assert_str_eq(jd_match_event_name(JD_EVENT_COUNT), "unknown");
  for (int t = 0; t < JD_EVENT_COUNT; t++) {
    cr_assert(strchr(jd_match_event_name((jd_match_event_type)t), '.'));
    cr_assert(*jd_match_event_text((jd_match_event_type)t));
  }
}

Test(match_event, instances_as_before) {
  jd_match_event ev = {.type = JD_EVENT_PLAYER_STARTED, .name = "p0", .ai = 2};
  same(&ev, old_line(old_event("player.started", "p0", 2)));
  ev = (jd_match_event){.type = JD_EVENT_GAME_LOGIC_STARTED, .name = "game_logic", .ai = -1};
  same(&ev, old_line(old_event("game_logic.started", "game_logic", -1)));

  ev = (jd_match_event){.type = JD_EVENT_PLAYER_EXITED, .name = "p1", .ai = 0};
  ev.exited.verdict = JD_VERDICT_TLE;
  ev.exited.exit_code = 137;
  ev.exited.message = "killed \xff\n: wall";
  json_object *o = old_event("player.exited", "p1", 0);
  json_object_object_add(o, "verdict", json_object_new_string(jd_verdict_name(JD_VERDICT_TLE)));
  json_object_object_add(o, "exit_code", json_object_new_int64(137));
  json_object_object_add(o, "message", jd_json_str("killed \xff\n: wall"));
  same(&ev, old_line(o));

  ev = (jd_match_event){.type = JD_EVENT_GAME_LOGIC_EXITED, .name = "game_logic", .ai = -1};
  ev.exited.verdict = JD_VERDICT_OK;
  o = old_event("game_logic.exited", "game_logic", -1);
  json_object_object_add(o, "verdict", json_object_new_string(jd_verdict_name(JD_VERDICT_OK)));
  json_object_object_add(o, "exit_code", json_object_new_int64(0));
  same(&ev, old_line(o));
}

Test(match_event, match_and_program_events_as_before) {
  jd_match_event ev = {.type = JD_EVENT_MATCH_PREPARE, .ai = -1};
  ev.prepare.run = "m1-abcd";
  json_object *o = old_event("match.prepare", NULL, -1);
  json_object_object_add(o, "run", json_object_new_string("m1-abcd"));
  same(&ev, old_line(o));

  ev = (jd_match_event){.type = JD_EVENT_PROGRAM_BUILD, .ai = -1};
  ev.build.program = "ai-bot";
  ev.build.line = "Step 1/3 \x80\x1b[1m";
  o = old_event("program.build", NULL, -1);
  json_object_object_add(o, "program", json_object_new_string("ai-bot"));
  json_object_object_add(o, "line", jd_json_str("Step 1/3 \x80\x1b[1m"));
  same(&ev, old_line(o));

  ev = (jd_match_event){.type = JD_EVENT_PROGRAM_READY, .ai = 3};
  ev.ready.id = "bot";
  ev.ready.cancelled = true;
  o = old_event("program.ready", NULL, -1);
  json_object_object_add(o, "ai", json_object_new_int(3));
  json_object_object_add(o, "id", json_object_new_string("bot"));
  json_object_object_add(o, "cancelled", json_object_new_boolean(true));
  same(&ev, old_line(o));

  ev = (jd_match_event){.type = JD_EVENT_COMMAND_REFUSED, .ai = -1};
  ev.refused.reason = "no running player named \"x\"";
  o = old_event("command.refused", NULL, -1);
  json_object_object_add(o, "reason", jd_json_str("no running player named \"x\""));
  same(&ev, old_line(o));

  const double scores[] = {1.5, 0, -2, 1e300};
  ev = (jd_match_event){.type = JD_EVENT_MATCH_END, .ai = -1};
  ev.end.scores = scores;
  ev.end.nscores = 4;
  o = old_event("match.end", NULL, -1);
  json_object *a = json_object_new_array();
  for (size_t i = 0; i < 4; i++)
    json_object_array_add(a, json_object_new_double(scores[i]));
  json_object_object_add(o, "scores", a);
  same(&ev, old_line(o));

  ev = (jd_match_event){.type = JD_EVENT_MATCH_DONE, .ai = -1};
  ev.done.status = JD_MATCH_STATUS_FAILED;
  o = old_event("match.done", NULL, -1);
  json_object_object_add(o, "status",
                         json_object_new_string(jd_match_status_name(JD_MATCH_STATUS_FAILED)));
  same(&ev, old_line(o));
}

Test(match_event, progress_keeps_the_game_logics_fields_in_order) {
  const char *cmd = "{\"turn\":3,\"cmd\":\"progress\",\"event\":\"x\",\"note\":\"a\\u00e9\"}";
  jd_match_event ev = {.type = JD_EVENT_MATCH_PROGRESS, .ai = -1};
  ev.progress.json = cmd;
  json_object *o = json_tokener_parse(cmd);
  json_object_object_del(o, "cmd");
  json_object_object_add(o, "event", json_object_new_string("match.progress"));
  same(&ev, old_line(o));
  /* Not an object: no event at all, as before. */
  ev.progress.json = "[1,2]";
  char *got = NULL;
  cr_assert_eq(jd_match_event_json(&got, &ev), -1);
  cr_assert_null(got);
}

Test(match_event, build_output_has_no_match_fields) {
  jd_match_event ev = {.type = JD_EVENT_BUILD_OUTPUT};
  char *got = NULL;
  cr_assert_eq(jd_match_event_json(&got, &ev), 0);
  cr_assert_str_eq(got, "{\"event\":\"build.output\"}");
  free(got);
}

Test(match_event, frame_carries_its_data_as_is) {
  jd_match_event ev = {.type = JD_EVENT_MATCH_FRAME, .ai = -1};
  ev.frame.json = "{\"board\":[1,2],\"s\":\"a/b\"}";
  ev.match_id = "m1";
  ev.elapsed_ms = 5;
  ev.seq = 42;
  char *got = NULL;
  cr_assert_eq(jd_match_event_json(&got, &ev), 0);
  cr_assert_str_eq(got, "{\"event\":\"match.frame\",\"match_id\":\"m1\",\"elapsed_ms\":5,"
                        "\"seq\":42,\"data\":{\"board\":[1,2],\"s\":\"a/b\"}}");
  free(got);
  ev.frame.json = "3";
  cr_assert_eq(jd_match_event_json(&got, &ev), 0);
  json_object *o = json_tokener_parse(got);
  cr_assert_not_null(o);
  json_object *d = NULL;
  cr_assert(json_object_object_get_ex(o, "data", &d));
  cr_assert_eq(json_object_get_int(d), 3);
  json_object_put(o);
  free(got);
  ev.frame.json = NULL; /* no data: null */
  cr_assert_eq(jd_match_event_json(&got, &ev), 0);
  cr_assert(strstr(got, "\"data\":null}"));
  free(got);
}
