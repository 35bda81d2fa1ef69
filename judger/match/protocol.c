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

static int parse_json_cmd(jd_proto_cmd *out, json_object *o, int nais, char *err, size_t errlen) {
  json_object *v = NULL;
  if (!json_object_is_type(o, json_type_object))
    return fail(err, errlen, "a command must be a JSON object%s", NULL);
  if (!json_object_object_get_ex(o, "cmd", &v) || !json_object_is_type(v, json_type_string))
    return fail(err, errlen, "missing \"cmd\" string%s", NULL);
  const char *cmd = json_object_get_string(v);
  if (!strcmp(cmd, "start") || !strcmp(cmd, "stop")) {
    json_object *name = NULL;
    if (!json_object_object_get_ex(o, "name", &name) ||
        !json_object_is_type(name, json_type_string))
      return fail(err, errlen, "%s: missing \"name\" string", cmd);
    if (set_name(out, json_object_get_string(name), err, errlen))
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
  return fail(err, errlen, "unknown command \"%.40s\"", cmd);
}

/* Parses a whole JSON text (trailing garbage refused). */
static json_object *parse_exact(const char *s, size_t len) {
  json_tokener *tok = json_tokener_new();
  if (!tok)
    return NULL;
  json_object *o = json_tokener_parse_ex(tok, s, (int)len);
  if (!o || json_tokener_get_error(tok) != json_tokener_success ||
      (size_t)json_tokener_get_parse_end(tok) != len) {
    json_object_put(o);
    o = NULL;
  }
  json_tokener_free(tok);
  return o;
}

/* Hiper's text forms: "create_player NAME INDEX", "remove_player NAME",
 * "end_match JSON". */
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

  if (!strcmp(word, "create_player") || !strcmp(word, "remove_player")) {
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
                  create ? "usage: create_player NAME INDEX%s" : "usage: remove_player NAME%s",
                  NULL);
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
