/* Typed match events and their JSON (see match_event.h). */
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "common/utf8.h"
#include "match/match_event.h"

static const char *const names[] = {
#define JD_EVENT_NAME(code, name, text) name,
    JD_EVENT_MAP(JD_EVENT_NAME)
#undef JD_EVENT_NAME
};

static const char *const texts[] = {
#define JD_EVENT_TEXT(code, name, text) text,
    JD_EVENT_MAP(JD_EVENT_TEXT)
#undef JD_EVENT_TEXT
};

const char *jd_match_event_name(jd_match_event_type t) {
  return (unsigned)t < JD_EVENT_COUNT ? names[t] : "unknown";
}

const char *jd_match_event_text(jd_match_event_type t) {
  return (unsigned)t < JD_EVENT_COUNT ? texts[t] : "unknown";
}

static void add(json_object *o, const char *key, json_object *v) {
  json_object_object_add(o, key, v);
}

/* The instance's name and AI (none for the game logic). */
static void add_instance(json_object *o, const jd_match_event *ev) {
  add(o, "name", json_object_new_string(ev->name ? ev->name : ""));
  if (ev->ai >= 0)
    add(o, "ai", json_object_new_int(ev->ai));
}

/* The fields of ev's kind, after "event" (their order is the JSON's). */
static void add_fields(json_object *o, const jd_match_event *ev) {
  switch (ev->type) {
  case JD_EVENT_MATCH_PREPARE:
    add(o, "run", json_object_new_string(ev->prepare.run ? ev->prepare.run : ""));
    break;
  case JD_EVENT_PROGRAM_BUILD:
    add(o, "program", json_object_new_string(ev->build.program ? ev->build.program : ""));
    add(o, "line", jd_json_str(ev->build.line)); /* build output */
    break;
  case JD_EVENT_PROGRAM_READY:
    add(o, "ai", json_object_new_int(ev->ai));
    add(o, "id", json_object_new_string(ev->ready.id ? ev->ready.id : ""));
    add(o, "cancelled", json_object_new_boolean(ev->ready.cancelled));
    break;
  case JD_EVENT_GAME_LOGIC_STARTED:
  case JD_EVENT_PLAYER_STARTED:
    add_instance(o, ev);
    break;
  case JD_EVENT_GAME_LOGIC_EXITED:
  case JD_EVENT_PLAYER_EXITED:
    add_instance(o, ev);
    add(o, "verdict", json_object_new_string(jd_verdict_name(ev->exited.verdict)));
    add(o, "exit_code", json_object_new_int64(ev->exited.exit_code));
    if (ev->exited.message)
      add(o, "message", jd_json_str(ev->exited.message));
    break;
  case JD_EVENT_COMMAND_REFUSED:
    add(o, "reason", jd_json_str(ev->refused.reason));
    break;
  case JD_EVENT_MATCH_END: {
    json_object *a = json_object_new_array();
    for (size_t i = 0; a && i < ev->end.nscores; i++)
      json_object_array_add(a, json_object_new_double(ev->end.scores[i]));
    add(o, "scores", a);
    break;
  }
  case JD_EVENT_MATCH_DONE:
    add(o, "status", json_object_new_string(jd_match_status_name(ev->done.status)));
    break;
  case JD_EVENT_MATCH_PROGRESS: /* the object is the command's */
  case JD_EVENT_MATCH_FRAME:    /* its data is added as text (frame_json) */
  case JD_EVENT_BUILD_OUTPUT:
  case JD_EVENT_COUNT:
    break;
  }
}

/* The game logic's progress command as the event: its fields in the
 * order sent, without "cmd", then "event". NULL when they are not an
 * object. */
static json_object *progress_object(const jd_match_event *ev) {
  json_object *o = ev->progress.json ? json_tokener_parse(ev->progress.json) : NULL;
  if (!o || !json_object_is_type(o, json_type_object)) {
    json_object_put(o);
    return NULL;
  }
  json_object_object_del(o, "cmd");
  add(o, "event", json_object_new_string(jd_match_event_name(ev->type)));
  return o;
}

/* A frame's line: the event's fields, then "data" as the text it is
 * (compact JSON already, cleaned by the protocol): it is not parsed again.
 * head: the fields' object as text ("{...}"). NULL on out of memory. */
static char *frame_line(const char *head, const char *data) {
  static const char key[] = ",\"data\":";
  const char *d = data ? data : "null";
  size_t hl = strlen(head), kl = sizeof key - 1, dl = strlen(d);
  char *s = hl >= 2 ? malloc(hl - 1 + kl + dl + 2) : NULL;
  if (!s)
    return NULL;
  memcpy(s, head, hl - 1); /* without its '}' */
  memcpy(s + hl - 1, key, kl);
  memcpy(s + hl - 1 + kl, d, dl);
  memcpy(s + hl - 1 + kl + dl, "}", 2);
  return s;
}

int jd_match_event_json(char **out, const jd_match_event *ev) {
  *out = NULL;
  json_object *o = NULL;
  if (ev->type == JD_EVENT_MATCH_PROGRESS) {
    o = progress_object(ev);
  } else {
    o = json_object_new_object();
    if (o) {
      add(o, "event", json_object_new_string(jd_match_event_name(ev->type)));
      add_fields(o, ev);
    }
  }
  if (!o)
    return -1;
  if (ev->match_id) {
    add(o, "match_id", json_object_new_string(ev->match_id));
    add(o, "elapsed_ms", json_object_new_int64(ev->elapsed_ms));
    add(o, "seq", json_object_new_int64(ev->seq));
  }
  const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
  *out = ev->type == JD_EVENT_MATCH_FRAME ? frame_line(text, ev->frame.json) : strdup(text);
  json_object_put(o);
  return *out ? 0 : -1;
}
