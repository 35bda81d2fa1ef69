/* The match pipe protocol (see protocol.h and docs/protocol.md). */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "common/utf8.h"
#include "match/protocol.h"

static bool name_ok(const char *name) {
  size_t n = name ? strlen(name) : 0;
  if (n == 0 || n > JD_PROTO_NAME_MAX || !isalnum((unsigned char)name[0]))
    return false;
  for (size_t i = 0; i < n; i++) {
    unsigned char ch = (unsigned char)name[i];
    if (!isalnum(ch) && ch != '_' && ch != '-')
      return false;
  }
  /* "game" is the game logic's alias on the match network. */
  return strcmp(name, "game") != 0;
}

void jd_proto_cmd_clear(jd_proto_cmd *c) {
  if (!c)
    return;
  free(c->progress_json);
  free(c->frame_json);
  free(c->scores);
  if (c->messages) {
    for (size_t i = 0; i < c->nscores; i++)
      free(c->messages[i]);
    free(c->messages);
  }
  memset(c, 0, sizeof *c);
}

static int fail(char *err, size_t errlen, const char *fmt, const char *arg) {
  if (errlen)
    snprintf(err, errlen, fmt, arg ? arg : "");
  return -1;
}

static int set_name(jd_proto_cmd *out, const char *name, char *err, size_t errlen) {
  if (!name_ok(name))
    return fail(err, errlen,
                "bad player name '%.40s' (want [A-Za-z0-9][A-Za-z0-9_-]*, at most 32 chars, "
                "not \"game\")",
                name);
  snprintf(out->name, sizeof out->name, "%s", name);
  return 0;
}

/* A JSON "name": a string (with no NUL inside, which would cut it) and a
 * good name. */
static int set_json_name(jd_proto_cmd *out, json_object *v, const char *cmd, char *err,
                         size_t errlen) {
  if (!json_object_is_type(v, json_type_string))
    return fail(err, errlen, "%s: \"name\" must be a string", cmd);
  const char *name = json_object_get_string(v);
  if (strlen(name) != (size_t)json_object_get_string_len(v))
    return fail(err, errlen, "%s: bad player name (a NUL inside)", cmd);
  return set_name(out, name, err, errlen);
}

static int set_ai(jd_proto_cmd *out, int64_t ai, int nais, char *err, size_t errlen) {
  if (ai < 0 || ai >= nais) {
    char num[64];
    snprintf(num, sizeof num, "%lld (the match has %d AIs)", (long long)ai, nais);
    return fail(err, errlen, "AI index out of range: %s", num);
  }
  out->ai = (int)ai;
  return 0;
}

/* scores: a JSON array of nais numbers; messages: optional array of strings. */
static int set_end(jd_proto_cmd *out, json_object *scores, json_object *messages, int nais,
                   char *err, size_t errlen) {
  if (!scores || !json_object_is_type(scores, json_type_array))
    return fail(err, errlen, "end: \"scores\" must be an array of numbers%s", NULL);
  size_t n = json_object_array_length(scores);
  if (n != (size_t)nais) {
    char num[64];
    snprintf(num, sizeof num, "%zu scores for %d AIs", n, nais);
    return fail(err, errlen, "end: %s", num);
  }
  out->type = JD_CMD_END;
  out->scores = calloc(n ? n : 1, sizeof *out->scores);
  if (!out->scores)
    return fail(err, errlen, "out of memory%s", NULL);
  out->nscores = n;
  for (size_t i = 0; i < n; i++) {
    json_object *v = json_object_array_get_idx(scores, i);
    if (!json_object_is_type(v, json_type_int) && !json_object_is_type(v, json_type_double))
      return fail(err, errlen, "end: scores must be numbers%s", NULL);
    double d = json_object_get_double(v);
    if (!isfinite(d))
      return fail(err, errlen, "end: scores must be finite%s", NULL);
    out->scores[i] = d;
  }
  if (messages && !json_object_is_type(messages, json_type_null)) {
    if (!json_object_is_type(messages, json_type_array) || json_object_array_length(messages) > n)
      return fail(err, errlen, "end: \"messages\" must be an array of at most one string per AI%s",
                  NULL);
    out->messages = calloc(n ? n : 1, sizeof *out->messages);
    if (!out->messages)
      return fail(err, errlen, "out of memory%s", NULL);
    for (size_t i = 0; i < json_object_array_length(messages); i++) {
      json_object *m = json_object_array_get_idx(messages, i);
      if (json_object_is_type(m, json_type_null))
        continue;
      if (!json_object_is_type(m, json_type_string))
        return fail(err, errlen, "end: messages must be strings%s", NULL);
      /* Cap what a game logic can put into result.json per player. */
      /* Valid UTF-8, cut on a character boundary. */
      char *s = jd_utf8_dup(json_object_get_string(m), (size_t)json_object_get_string_len(m),
                            JD_PROTO_MESSAGE_MAX, 0);
      if (!s)
        return fail(err, errlen, "out of memory%s", NULL);
      out->messages[i] = s;
    }
  }
  return 0;
}

/* budget_ms of a JSON turn: an integer 0..JD_PROTO_BUDGET_MAX_MS. */
static int set_budget_json(jd_proto_cmd *out, json_object *v, char *err, size_t errlen) {
  char num[96];
  if (!json_object_is_type(v, json_type_int)) {
    snprintf(num, sizeof num, "%s", json_type_to_name(json_object_get_type(v)));
    return fail(err, errlen, "turn: \"budget_ms\" must be an integer in ms, not a %s", num);
  }
  /* Past INT64_MAX json-c saturates, which is out of range all the same. */
  int64_t b = json_object_get_int64(v);
  if (b < 0 || b > JD_PROTO_BUDGET_MAX_MS) {
    snprintf(num, sizeof num, "%lld (want 0..%lld)", (long long)b,
             (long long)JD_PROTO_BUDGET_MAX_MS);
    return fail(err, errlen, "turn: \"budget_ms\" out of range: %s", num);
  }
  out->budget_ms = b;
  return 0;
}

/* {"cmd":"turn","name":"p0"|"ai":0[,"budget_ms":N]}, {"cmd":"turn_end",...}.
 * Other keys are ignored, as in the other commands. */
static int parse_json_turn(jd_proto_cmd *out, json_object *o, bool end, int nais, char *err,
                           size_t errlen) {
  const char *cmd = end ? "turn_end" : "turn";
  json_object *name = NULL, *ai = NULL, *budget = NULL;
  bool has_name = json_object_object_get_ex(o, "name", &name);
  bool has_ai = json_object_object_get_ex(o, "ai", &ai);
  out->type = end ? JD_CMD_TURN_END : JD_CMD_TURN;
  out->ai = -1;
  out->budget_ms = -1;
  if (has_name == has_ai)
    return fail(err, errlen, "%s: give exactly one of \"name\" and \"ai\"", cmd);
  if (has_name) {
    if (set_json_name(out, name, cmd, err, errlen))
      return -1;
  } else {
    if (!json_object_is_type(ai, json_type_int))
      return fail(err, errlen, "%s: \"ai\" must be an integer", cmd);
    if (set_ai(out, json_object_get_int64(ai), nais, err, errlen))
      return -1;
  }
  if (!end && json_object_object_get_ex(o, "budget_ms", &budget))
    return set_budget_json(out, budget, err, errlen);
  return 0;
}

/* out->frame_json: data cleaned, compact. */
static int set_frame(jd_proto_cmd *out, json_object *data, char *err, size_t errlen) {
  out->type = JD_CMD_FRAME;
  /* Strings cleaned, numbers valid JSON, containers past the depth null. */
  json_object *clean = jd_json_clean(data, JD_PROTO_FRAME_DEPTH);
  out->frame_json = strdup(json_object_to_json_string_ext(
      clean, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
  json_object_put(clean);
  return out->frame_json ? 0 : fail(err, errlen, "out of memory%s", NULL);
}

static int parse_json_cmd(jd_proto_cmd *out, json_object *o, int nais, char *err, size_t errlen) {
  json_object *v = NULL;
  if (!json_object_is_type(o, json_type_object))
    return fail(err, errlen, "a command must be a JSON object%s", NULL);
  if (!json_object_object_get_ex(o, "cmd", &v) || !json_object_is_type(v, json_type_string))
    return fail(err, errlen, "missing \"cmd\" string%s", NULL);
  const char *cmd = json_object_get_string(v);
  if (!strcmp(cmd, "start") || !strcmp(cmd, "stop")) {
    json_object *name = NULL;
    if (!json_object_object_get_ex(o, "name", &name))
      return fail(err, errlen, "%s: missing \"name\" string", cmd);
    if (set_json_name(out, name, cmd, err, errlen))
      return -1;
    if (!strcmp(cmd, "stop")) {
      out->type = JD_CMD_STOP;
      return 0;
    }
    json_object *ai = NULL;
    if (!json_object_object_get_ex(o, "ai", &ai) || !json_object_is_type(ai, json_type_int))
      return fail(err, errlen, "start: missing \"ai\" integer%s", NULL);
    out->type = JD_CMD_START;
    return set_ai(out, json_object_get_int64(ai), nais, err, errlen);
  }
  if (!strcmp(cmd, "progress")) {
    out->type = JD_CMD_PROGRESS;
    /* Its strings and keys are the game's bytes: cleaned, and its nesting
     * capped, before they reach a progress line. */
    json_object *clean = jd_json_clean(o, JD_PROTO_PROGRESS_DEPTH);
    if (clean)
      out->progress_json = strdup(json_object_to_json_string_ext(clean, JSON_C_TO_STRING_PLAIN));
    json_object_put(clean);
    return out->progress_json ? 0 : fail(err, errlen, "out of memory%s", NULL);
  }
  if (!strcmp(cmd, "end")) {
    json_object *scores = NULL, *messages = NULL;
    json_object_object_get_ex(o, "scores", &scores);
    json_object_object_get_ex(o, "messages", &messages);
    return set_end(out, scores, messages, nais, err, errlen);
  }
  if (!strcmp(cmd, "turn") || !strcmp(cmd, "turn_end"))
    return parse_json_turn(out, o, cmd[4] == '_', nais, err, errlen);
  if (!strcmp(cmd, "frame")) {
    json_object *data = NULL;
    if (!json_object_object_get_ex(o, "data", &data))
      return fail(err, errlen, "frame: missing \"data\"%s", NULL);
    return set_frame(out, data, err, errlen);
  }
  return fail(err, errlen, "unknown command \"%.40s\"", cmd);
}

/* Parses a whole JSON text (trailing garbage refused). A bare number,
 * true, false or null at the very end is one json-c waits on for more
 * bytes: the end of the text is told with a NUL. *ok: the text was one
 * JSON value (null included, whose object is NULL). */
static json_object *parse_value(const char *s, size_t len, bool *ok) {
  *ok = false;
  json_tokener *tok = json_tokener_new();
  if (!tok || len > INT32_MAX) {
    json_tokener_free(tok);
    return NULL;
  }
  json_object *o = json_tokener_parse_ex(tok, s, (int)len);
  enum json_tokener_error e = json_tokener_get_error(tok);
  if (e == json_tokener_success) {
    *ok = (size_t)json_tokener_get_parse_end(tok) == len;
  } else if (e == json_tokener_continue) {
    o = json_tokener_parse_ex(tok, "", 1);
    *ok = json_tokener_get_error(tok) == json_tokener_success;
  }
  if (!*ok) {
    json_object_put(o);
    o = NULL;
  }
  json_tokener_free(tok);
  return o;
}

static json_object *parse_exact(const char *s, size_t len) {
  bool ok;
  return parse_value(s, len, &ok);
}

/* The next blank-separated word of s[0..*len): *w, *wlen (0 at the end). */
static void next_word(const char **s, size_t *len, const char **w, size_t *wlen) {
  while (*len && isspace((unsigned char)**s))
    (*s)++, (*len)--;
  *w = *s;
  *wlen = 0;
  while (*len && !isspace((unsigned char)**s))
    (*s)++, (*len)--, (*wlen)++;
}

/* A text budget: decimal digits only (no sign, no blanks), bounded while
 * read so no size overflows. */
static int set_budget_text(jd_proto_cmd *out, const char *w, size_t wlen, char *err,
                           size_t errlen) {
  int64_t b = 0;
  for (size_t i = 0; i < wlen; i++) {
    if (!isdigit((unsigned char)w[i]))
      return fail(err, errlen, "turn: budget must be decimal digits (ms, no sign)%s", NULL);
    b = b * 10 + (w[i] - '0');
    if (b > JD_PROTO_BUDGET_MAX_MS) {
      char num[32];
      snprintf(num, sizeof num, "%lld", (long long)JD_PROTO_BUDGET_MAX_MS);
      return fail(err, errlen, "turn: budget out of range (at most %s ms)", num);
    }
  }
  out->budget_ms = b;
  return 0;
}

/* "turn NAME [BUDGET_MS]", "turn_end NAME". */
static int parse_text_turn(jd_proto_cmd *out, const char *rest, size_t rlen, bool end, char *err,
                           size_t errlen) {
  const char *w[3];
  size_t wl[3];
  for (int i = 0; i < 3; i++)
    next_word(&rest, &rlen, &w[i], &wl[i]);
  out->type = end ? JD_CMD_TURN_END : JD_CMD_TURN;
  out->ai = -1;
  out->budget_ms = -1;
  if (!wl[0] || wl[2] || (end && wl[1]))
    return fail(err, errlen, end ? "usage: turn_end NAME%s" : "usage: turn NAME [BUDGET_MS]%s",
                NULL);
  char name[JD_PROTO_NAME_MAX + 2];
  snprintf(name, sizeof name, "%.*s", (int)(wl[0] < sizeof name ? wl[0] : sizeof name - 1), w[0]);
  if (set_name(out, name, err, errlen))
    return -1;
  return wl[1] ? set_budget_text(out, w[1], wl[1], err, errlen) : 0;
}

/* "create_player NAME INDEX", "remove_player NAME" (word: which). */
static int parse_text_player(jd_proto_cmd *out, const char *word, const char *rest, size_t rlen,
                             int nais, char *err, size_t errlen) {
  char name[JD_PROTO_NAME_MAX + 2] = "", extra[2] = "";
  char idx[24] = "";
  char tmp[128];
  if (rlen >= sizeof tmp)
    return fail(err, errlen, "%s: line too long", word);
  memcpy(tmp, rest, rlen);
  tmp[rlen] = '\0';
  int n = sscanf(tmp, "%33s %23s %1s", name, idx, extra);
  bool create = word[0] == 'c';
  if (n != (create ? 2 : 1))
    return fail(err, errlen,
                create ? "usage: create_player NAME INDEX%s" : "usage: remove_player NAME%s", NULL);
  if (set_name(out, name, err, errlen))
    return -1;
  if (!create) {
    out->type = JD_CMD_STOP;
    return 0;
  }
  char *end = NULL;
  errno = 0;
  long long ai = strtoll(idx, &end, 10);
  if (errno || end == idx || *end)
    return fail(err, errlen, "create_player: bad index '%s'", idx);
  out->type = JD_CMD_START;
  return set_ai(out, ai, nais, err, errlen);
}

/* Hiper's text forms: "create_player NAME INDEX", "remove_player NAME",
 * "end_match JSON"; and the turn clock's "turn NAME [MS]", "turn_end NAME". */
static int parse_text_cmd(jd_proto_cmd *out, const char *s, size_t len, int nais, char *err,
                          size_t errlen) {
  size_t w = 0;
  while (w < len && !isspace((unsigned char)s[w]))
    w++;
  const char *rest = s + w;
  size_t rlen = len - w;
  while (rlen && isspace((unsigned char)*rest))
    rest++, rlen--;
  char word[32];
  snprintf(word, sizeof word, "%.*s", (int)(w < sizeof word ? w : sizeof word - 1), s);

  if (!strcmp(word, "create_player") || !strcmp(word, "remove_player"))
    return parse_text_player(out, word, rest, rlen, nais, err, errlen);
  if (!strcmp(word, "end_match")) {
    json_object *o = parse_exact(rest, rlen);
    if (!o)
      return fail(err, errlen, "end_match: expected a JSON object or array of scores%s", NULL);
    int rc;
    if (json_object_is_type(o, json_type_array)) {
      rc = set_end(out, o, NULL, nais, err, errlen);
    } else if (json_object_is_type(o, json_type_object)) {
      json_object *scores = NULL, *messages = NULL;
      json_object_object_get_ex(o, "scores", &scores);
      json_object_object_get_ex(o, "messages", &messages);
      rc = set_end(out, scores, messages, nais, err, errlen);
    } else {
      rc = fail(err, errlen, "end_match: expected a JSON object or array of scores%s", NULL);
    }
    json_object_put(o);
    return rc;
  }
  if (!strcmp(word, "turn") || !strcmp(word, "turn_end"))
    return parse_text_turn(out, rest, rlen, word[4] == '_', err, errlen);
  if (!strcmp(word, "frame")) {
    bool ok;
    json_object *o = parse_value(rest, rlen, &ok);
    int rc = ok ? set_frame(out, o, err, errlen)
                : fail(err, errlen, "frame: expected one JSON value after \"frame\"%s", NULL);
    json_object_put(o);
    return rc;
  }
  return fail(err, errlen, "unknown command \"%s\"", word);
}

int jd_proto_parse(jd_proto_cmd *out, const char *line, size_t len, int nais, char *err,
                   size_t errlen) {
  memset(out, 0, sizeof *out);
  if (errlen)
    err[0] = '\0';
  while (len && isspace((unsigned char)line[len - 1]))
    len--;
  while (len && isspace((unsigned char)*line))
    line++, len--;
  if (!len)
    return fail(err, errlen, "empty line%s", NULL);
  if (memchr(line, '\0', len))
    return fail(err, errlen, "NUL byte in line%s", NULL);
  int rc;
  if (line[0] == '{' || line[0] == '[') {
    json_object *o = parse_exact(line, len);
    if (!o)
      return fail(err, errlen, "not valid JSON%s", NULL);
    rc = parse_json_cmd(out, o, nais, err, errlen);
    json_object_put(o);
  } else {
    rc = parse_text_cmd(out, line, len, nais, err, errlen);
  }
  if (rc)
    jd_proto_cmd_clear(out);
  return rc;
}

/* ---- events ------------------------------------------------------------ */

static char *event_line(json_object *o) {
  char *line = NULL;
  if (o && asprintf(&line, "%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN)) < 0)
    line = NULL;
  json_object_put(o);
  return line;
}

static json_object *event_new(const char *event, const char *name, int ai) {
  json_object *o = json_object_new_object();
  if (!o)
    return NULL;
  json_object_object_add(o, "event", json_object_new_string(event));
  if (name) {
    json_object_object_add(o, "name", json_object_new_string(name));
    json_object_object_add(o, "ai", json_object_new_int(ai));
  }
  return o;
}

char *jd_proto_event_started(const char *name, int ai) {
  return event_line(event_new("started", name, ai));
}

char *jd_proto_event_exited(const char *name, int ai, int64_t exit_code, jd_verdict verdict) {
  json_object *o = event_new("exited", name, ai);
  if (o) {
    json_object_object_add(o, "exit_code", json_object_new_int64(exit_code));
    json_object_object_add(o, "verdict", json_object_new_string(jd_verdict_name(verdict)));
  }
  return event_line(o);
}

char *jd_proto_event_refused(const char *line, size_t len, const char *reason) {
  char echo[JD_PROTO_ECHO_MAX + 1];
  size_t n = len < JD_PROTO_ECHO_MAX ? len : JD_PROTO_ECHO_MAX;
  /* The game logic may send any bytes; echo back only printable ASCII so the
   * event stays valid JSON whatever came in. */
  for (size_t i = 0; i < n; i++) {
    unsigned char ch = (unsigned char)line[i];
    echo[i] = (ch >= 0x20 && ch < 0x7f) ? (char)ch : '?';
  }
  echo[n] = '\0';
  json_object *o = event_new("refused", NULL, 0);
  if (o) {
    json_object_object_add(o, "line", json_object_new_string(echo));
    json_object_object_add(o, "reason", jd_json_str(reason));
  }
  return event_line(o);
}

char *jd_proto_event_cancelled(const char *name, int ai, const char *reason) {
  json_object *o = event_new("cancelled", name, ai);
  if (o)
    json_object_object_add(o, "reason", jd_json_str(reason));
  return event_line(o);
}

/* Past this a time (31 000 years) is capped, so every decoder reads it
 * exactly (below 2^53). */
#define MS_JSON_MAX 1e15

/* A time in ms as a JSON number with at most 3 decimals, trailing zeros cut
 * ("100", "12.345", "1100.2"); null if not finite (never from the judger). */
static json_object *ms_json(double v) {
  if (!isfinite(v))
    return NULL;
  v = v > MS_JSON_MAX ? MS_JSON_MAX : v < -MS_JSON_MAX ? -MS_JSON_MAX : v;
  char s[32];
  snprintf(s, sizeof s, "%.3f", v);
  char *dot = strchr(s, '.');
  if (dot) {
    char *e = s + strlen(s);
    while (e > dot + 1 && e[-1] == '0')
      *--e = '\0';
    if (e == dot + 1)
      *dot = '\0';
  }
  if (!strcmp(s, "-0"))
    snprintf(s, sizeof s, "0");
  return json_object_new_double_s(strtod(s, NULL), s);
}

/* turn_ended and timeout: every string through the sanitiser (the name
 * was checked at parse, the clock and action are the judger's own, but an
 * event must stay valid JSON whatever it is handed). */
static json_object *turn_event(const char *event, const char *name, int ai,
                               const jd_proto_turn *t) {
  json_object *o = json_object_new_object();
  if (!o)
    return NULL;
  json_object_object_add(o, "event", json_object_new_string(event));
  json_object_object_add(o, "name", jd_json_str(name ? name : ""));
  json_object_object_add(o, "ai", json_object_new_int(ai));
  json_object_object_add(o, "turn", json_object_new_int64(t ? t->turn : 0));
  json_object_object_add(o, "used_ms", ms_json(t ? t->used_ms : 0));
  json_object_object_add(o, "budget_ms", ms_json(t ? t->budget_ms : 0));
  json_object_object_add(o, "bank_ms", ms_json(t ? t->bank_ms : 0));
  json_object_object_add(o, "overrun_ms", ms_json(t ? t->overrun_ms : 0));
  json_object_object_add(o, "clock", jd_json_str(t && t->clock ? t->clock : "cpu"));
  return o;
}

char *jd_proto_event_turn_ended(const char *name, int ai, const jd_proto_turn *t) {
  return event_line(turn_event("turn_ended", name, ai, t));
}

char *jd_proto_event_timeout(const char *name, int ai, const jd_proto_turn *t, const char *action) {
  json_object *o = turn_event("timeout", name, ai, t);
  if (o)
    json_object_object_add(o, "action", jd_json_str(action ? action : "tle"));
  return event_line(o);
}

/* ---- line splitting ---------------------------------------------------- */

int jd_proto_reader_init(jd_proto_reader *r, size_t max) {
  memset(r, 0, sizeof *r);
  r->max = max ? max : JD_PROTO_DEFAULT_LINE_MAX;
  r->buf = malloc(r->max + 1);
  return r->buf ? 0 : -1;
}

static int deliver(jd_proto_reader *r, bool oversized, jd_proto_line_cb cb, void *ud) {
  size_t len = r->len;
  r->len = 0;
  if (!len && !oversized)
    return 0;
  r->buf[len] = '\0';
  return cb(ud, r->buf, len, oversized);
}

int jd_proto_reader_feed(jd_proto_reader *r, const char *data, size_t len, jd_proto_line_cb cb,
                         void *ud) {
  while (len) {
    const char *nl = memchr(data, '\n', len);
    size_t take = nl ? (size_t)(nl - data) : len;
    if (r->skipping) {
      /* Inside an oversized line already reported: drop up to its end. */
    } else if (r->len + take > r->max) {
      size_t fit = r->max - r->len;
      memcpy(r->buf + r->len, data, fit);
      r->len += fit;
      r->skipping = true;
      int rc = deliver(r, true, cb, ud);
      if (rc)
        return rc;
    } else {
      memcpy(r->buf + r->len, data, take);
      r->len += take;
    }
    if (!nl)
      break;
    data = nl + 1;
    len -= take + 1;
    if (r->skipping) {
      r->skipping = false;
      r->len = 0;
      continue;
    }
    int rc = deliver(r, false, cb, ud);
    if (rc)
      return rc;
  }
  return 0;
}

int jd_proto_reader_finish(jd_proto_reader *r, jd_proto_line_cb cb, void *ud) {
  if (r->skipping) {
    r->skipping = false;
    r->len = 0;
    return 0;
  }
  return deliver(r, false, cb, ud);
}

void jd_proto_reader_free(jd_proto_reader *r) {
  if (!r)
    return;
  free(r->buf);
  r->buf = NULL;
  r->len = 0;
}
