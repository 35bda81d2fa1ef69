/* The text form of a live stream's entries (see watch_print.h). */
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cli/watch_print.h"
#include "common/json_text.h"
#include "common/utf8.h"

/* Deep enough for a frame's data (cut at 16 levels) inside its event. */
#define ENTRY_DEPTH 64
/* The bytes of a program's text shown in one field of a line. */
#define FIELD_MAX 4096

/* The entry as a JSON object, or NULL. */
static json_object *parse_entry(const char *json, size_t len) {
  json_object *o = NULL;
  char err[160];
  if (!json || len > JD_WATCH_ENTRY_MAX ||
      jd_json_parse(&o, json, len, ENTRY_DEPTH, "entry", NULL, err, sizeof err))
    return NULL;
  if (!json_object_is_type(o, json_type_object)) {
    json_object_put(o);
    return NULL;
  }
  return o;
}

static const char *str_of(json_object *o, const char *key) {
  json_object *v = NULL;
  if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
    return NULL;
  return json_object_get_string(v);
}

/* A field a line names: "?" when it is missing or not a string. */
static const char *field(json_object *o, const char *key) {
  const char *s = str_of(o, key);
  return s ? s : "?";
}

static bool int_of(int64_t *out, json_object *o, const char *key) {
  json_object *v = NULL;
  if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
    return false;
  *out = json_object_get_int64(v);
  return true;
}

static int64_t int_or(json_object *o, const char *key, int64_t dflt) {
  int64_t v = dflt;
  return int_of(&v, o, key) ? v : dflt;
}

static void info_from(jd_watch_info *info, json_object *o) {
  *info = (jd_watch_info){0};
  const char *ev = o ? str_of(o, "event") : NULL;
  if (!ev)
    return;
  info->ok = true;
  info->done = !strcmp(ev, "match.done");
  info->begin = !strcmp(ev, "live.begin");
  info->frame = !strcmp(ev, "match.frame");
  info->attempt = info->begin ? int_or(o, "attempt", 0) : 0;
  info->seq = int_or(o, "seq", 0);
}

void jd_watch_info_of(jd_watch_info *info, const char *json, size_t len) {
  json_object *o = parse_entry(json, len);
  info_from(info, o);
  json_object_put(o);
}

/* A value as compact JSON ("null" for NULL). Owned by v. */
static const char *compact(json_object *v) {
  return json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
}

/* The object without the envelope's keys: what a progress command or an
 * unknown event says. */
static void print_rest(FILE *f, json_object *o) {
  static const char *const envelope[] = {"event", "match_id", "elapsed_ms", "seq"};
  json_object *rest = json_object_new_object();
  json_object_object_foreach(o, key, val) {
    bool skip = false;
    for (size_t i = 0; i < sizeof envelope / sizeof envelope[0]; i++)
      skip = skip || !strcmp(key, envelope[i]);
    if (!skip && rest)
      json_object_object_add(rest, key, json_object_get(val));
  }
  fputs(rest ? compact(rest) : "{}", f);
  json_object_put(rest);
}

/* ": message" of an exited event, when it has one. */
static void print_message(FILE *f, json_object *o) {
  const char *m = str_of(o, "message");
  if (m && *m)
    fprintf(f, ": %.*s", FIELD_MAX, m);
}

static void print_exited(FILE *f, json_object *o, bool player) {
  if (player)
    fprintf(f, "player %s (AI %lld) ", field(o, "name"), (long long)int_or(o, "ai", -1));
  else
    fputs("game logic ", f);
  fprintf(f, "exited: %s, exit code %lld", field(o, "verdict"),
          (long long)int_or(o, "exit_code", 0));
  print_message(f, o);
}

static void print_ready(FILE *f, json_object *o) {
  json_object *c = NULL;
  bool cancelled = json_object_object_get_ex(o, "cancelled", &c) &&
                   json_object_is_type(c, json_type_boolean) && json_object_get_boolean(c);
  fprintf(f, "AI %lld program %s %s", (long long)int_or(o, "ai", -1), field(o, "id"),
          cancelled ? "cancelled (its build failed)" : "ready");
}

/* The words of one event after the time (ev: its "event"). */
static void print_body(FILE *f, json_object *o, const char *ev) {
  json_object *v = NULL;
  if (!strcmp(ev, "match.frame")) {
    fprintf(f, "frame %s", json_object_object_get_ex(o, "data", &v) ? compact(v) : "null");
  } else if (!strcmp(ev, "player.started")) {
    fprintf(f, "player %s started (AI %lld)", field(o, "name"), (long long)int_or(o, "ai", -1));
  } else if (!strcmp(ev, "game_logic.started")) {
    fputs("game logic started", f);
  } else if (!strcmp(ev, "player.exited") || !strcmp(ev, "game_logic.exited")) {
    print_exited(f, o, ev[0] == 'p');
  } else if (!strcmp(ev, "match.progress")) {
    fputs("progress ", f);
    print_rest(f, o);
  } else if (!strcmp(ev, "match.end")) {
    fprintf(f, "match end scores %s",
            json_object_object_get_ex(o, "scores", &v) ? compact(v) : "[]");
  } else if (!strcmp(ev, "match.done")) {
    fprintf(f, "done: %s", field(o, "status"));
  } else if (!strcmp(ev, "command.refused")) {
    fprintf(f, "command refused: %.*s", FIELD_MAX, field(o, "reason"));
  } else if (!strcmp(ev, "match.prepare")) {
    fprintf(f, "preparing programs (run %s)", field(o, "run"));
  } else if (!strcmp(ev, "program.build")) {
    fprintf(f, "build %s: %.*s", field(o, "program"), FIELD_MAX, field(o, "line"));
  } else if (!strcmp(ev, "program.ready")) {
    print_ready(f, o);
  } else if (!strcmp(ev, "live.begin")) {
    fprintf(f, "attempt %lld of task %s", (long long)int_or(o, "attempt", 0), field(o, "task_id"));
  } else {
    fprintf(f, "%.*s ", FIELD_MAX, ev);
    print_rest(f, o);
  }
}

/* The raw line of an entry (before cleaning) into f. */
static void print_raw(FILE *f, json_object *o, const char *json, size_t len) {
  const char *ev = o ? str_of(o, "event") : NULL;
  int64_t ms = 0;
  if (ev && int_of(&ms, o, "elapsed_ms"))
    fprintf(f, "[%7.2fs] ", (double)ms / 1000.0);
  else
    fprintf(f, "[%8s] ", ev ? "-" : "?");
  if (ev) {
    print_body(f, o, ev);
    return;
  }
  size_t shown = len < JD_WATCH_BAD_SHOWN ? len : JD_WATCH_BAD_SHOWN;
  fprintf(f, "(not %s, %zu bytes) ", o ? "an event" : "a JSON object", len);
  fwrite(json, 1, shown, f);
  if (shown < len)
    fputs("...", f);
}

int jd_watch_text(char **out, jd_watch_info *info, const char *json, size_t len) {
  *out = NULL;
  json_object *o = parse_entry(json, len);
  jd_watch_info tmp;
  info_from(info ? info : &tmp, o);
  char *raw = NULL;
  size_t rawlen = 0;
  FILE *f = open_memstream(&raw, &rawlen);
  if (f) {
    print_raw(f, o, json ? json : "", json ? len : 0);
    if (fclose(f)) {
      free(raw);
      raw = NULL;
    }
  }
  json_object_put(o);
  if (!raw)
    return -1;
  /* Newlines too: one entry, one line, whatever its strings hold. */
  char *clean = jd_utf8_dup(raw, rawlen, 0, JD_UTF8_ESCAPE_CONTROLS);
  free(raw);
  size_t n = clean ? strlen(clean) : 0;
  char *line = clean ? realloc(clean, n + 2) : NULL;
  if (!line) {
    free(clean);
    return -1;
  }
  line[n] = '\n';
  line[n + 1] = '\0';
  *out = line;
  return 0;
}

/* A C1 control (U+0080..U+009F: CSI, OSC... to a terminal) at s[i]. */
static bool c1_at(const char *s, size_t i, size_t len) {
  return i + 1 < len && (unsigned char)s[i] == 0xc2 && (unsigned char)s[i + 1] >= 0x80 &&
         (unsigned char)s[i + 1] <= 0x9f;
}

/* Whether json[0..len) can be printed as it came: one line of valid UTF-8
 * without control characters (C0, DEL, C1). */
static bool printable_as_is(const char *json, size_t len) {
  for (size_t i = 0; i < len; i++)
    if ((unsigned char)json[i] < 0x20 || json[i] == 0x7f || c1_at(json, i, len))
      return false;
  return jd_utf8_valid(json, len);
}

/* JSON text with DEL and the C1 controls written as \u escapes (json-c
 * escapes only C0; in JSON text these can stand only inside strings, so
 * the escaped text is the same JSON). Malloc'd; NULL on out of memory. */
static char *escape_controls(const char *s) {
  size_t len = strlen(s);
  char *out = malloc(len * 3 + 1), *w = out; /* 2 bytes become 6 at most */
  for (size_t i = 0; out && i < len; i++) {
    if (s[i] == 0x7f) {
      w += sprintf(w, "\\u007f");
    } else if (c1_at(s, i, len)) {
      w += sprintf(w, "\\u00%02x", (unsigned char)s[++i]);
    } else {
      *w++ = s[i];
    }
  }
  if (out)
    *w = '\0';
  return out;
}

/* --json: the entry's JSON line. */
static int print_json(FILE *f, jd_watch_info *info, const char *json, size_t len) {
  json_object *o = parse_entry(json, len);
  info_from(info, o);
  if (!o) {
    fprintf(stderr, "judger watch: an entry that is not a JSON object (%zu bytes) left out\n", len);
    return 0;
  }
  int rc = 0;
  if (printable_as_is(json, len)) {
    rc = fwrite(json, 1, len, f) == len && fputc('\n', f) != EOF ? 0 : -1;
  } else {
    json_object *c = jd_json_clean(o, ENTRY_DEPTH);
    char *text =
        c ? escape_controls(json_object_to_json_string_ext(c, JSON_C_TO_STRING_PLAIN)) : NULL;
    rc = text && fprintf(f, "%s\n", text) > 0 ? 0 : -1;
    free(text);
    json_object_put(c);
  }
  json_object_put(o);
  return rc;
}

int jd_watch_print(FILE *f, jd_watch_info *info, const char *json, size_t len, bool as_json) {
  jd_watch_info tmp;
  int rc = 0;
  if (as_json) {
    rc = print_json(f, info ? info : &tmp, json, len);
  } else {
    char *line = NULL;
    rc = jd_watch_text(&line, info, json, len);
    if (!rc && fputs(line, f) == EOF)
      rc = -1;
    free(line);
  }
  if (fflush(f))
    rc = -1;
  return rc;
}
