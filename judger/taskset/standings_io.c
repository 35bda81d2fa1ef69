/* Standings in and out: a stored result.json read into jd_standings_add(),
 * the standings as JSON and as a table for a person. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "common/error.h"
#include "common/json_text.h"
#include "taskset/rating.h"
#include "taskset/standings.h"
#include "taskset/standings_internal.h"

/* A stored result is bounded by the daemon's limits long before this. */
#define RESULT_MAX_BYTES ((size_t)64 << 20)
#define RESULT_MAX_DEPTH 64

static json_object *parse(const char *text, char *err, size_t errlen) {
  size_t len = text ? strnlen(text, RESULT_MAX_BYTES + 1) : 0;
  if (!text || len > RESULT_MAX_BYTES) {
    jd_fail(err, errlen, "result: %s", text ? "too big" : "missing");
    return NULL;
  }
  json_object *root = NULL;
  if (jd_json_parse(&root, text, len, RESULT_MAX_DEPTH, "result", NULL, err, errlen))
    return NULL;
  if (!json_object_is_type(root, json_type_object)) {
    jd_fail(err, errlen, "result: not a JSON object");
    json_object_put(root);
    return NULL;
  }
  return root;
}

/* "status", else "task"."status" (a result written without a run). */
static int read_status(const char **status, json_object *root, char *err, size_t errlen) {
  json_object *v = NULL, *task = NULL;
  *status = NULL;
  if (!json_object_object_get_ex(root, "status", &v) &&
      json_object_object_get_ex(root, "task", &task)) {
    if (!json_object_is_type(task, json_type_object))
      return jd_fail(err, errlen, "task: not an object");
    json_object_object_get_ex(task, "status", &v);
  }
  if (!v)
    return jd_fail(err, errlen, "status: missing");
  if (!json_object_is_type(v, json_type_string))
    return jd_fail(err, errlen, "status: not a string");
  *status = json_object_get_string(v);
  return 0;
}

static int read_ids(const char **ids, size_t *n, json_object *players, char *err, size_t errlen) {
  if (!json_object_is_type(players, json_type_array))
    return jd_fail(err, errlen, "players: not an array");
  *n = json_object_array_length(players);
  if (*n == 0 || *n > JD_STANDINGS_MAX_SEATS)
    return jd_fail(err, errlen, "players: %zu entries (1..%d)", *n, JD_STANDINGS_MAX_SEATS);
  for (size_t i = 0; i < *n; i++) {
    json_object *p = json_object_array_get_idx(players, i), *id = NULL;
    if (!json_object_is_type(p, json_type_object))
      return jd_fail(err, errlen, "players[%zu]: not an object", i);
    if (!json_object_object_get_ex(p, "id", &id) || !json_object_is_type(id, json_type_string))
      return jd_fail(err, errlen, "players[%zu].id: missing or not a string", i);
    ids[i] = json_object_get_string(id);
    if (!jd_standings_id_ok(ids[i]) || strlen(ids[i]) != (size_t)json_object_get_string_len(id))
      return jd_fail(err, errlen, "players[%zu].id: not a program id", i);
  }
  return 0;
}

/* scores: null/absent = no result (*have false); else numbers, one per player. */
static int read_scores(double *scores, bool *have, json_object *root, size_t n, char *err,
                       size_t errlen) {
  json_object *v = NULL;
  *have = false;
  if (!json_object_object_get_ex(root, "scores", &v) || !v)
    return 0;
  if (!json_object_is_type(v, json_type_array))
    return jd_fail(err, errlen, "scores: not an array");
  if (json_object_array_length(v) != n)
    return jd_fail(err, errlen, "scores: %zu entries for %zu players", json_object_array_length(v),
                   n);
  for (size_t i = 0; i < n; i++) {
    json_object *x = json_object_array_get_idx(v, i);
    if (!json_object_is_type(x, json_type_double) && !json_object_is_type(x, json_type_int))
      return jd_fail(err, errlen, "scores[%zu]: not a number", i);
    scores[i] = json_object_get_double(x);
    if (!isfinite(scores[i]))
      return jd_fail(err, errlen, "scores[%zu]: not finite", i);
  }
  *have = true;
  return 0;
}

int jd_standings_add_result(jd_standings *s, const char *result_json, char *err, size_t errlen) {
  const char *ids[JD_STANDINGS_MAX_SEATS], *status;
  double scores[JD_STANDINGS_MAX_SEATS];
  size_t n = 0;
  bool have = false;
  json_object *root = parse(result_json, err, errlen), *players = NULL;
  int rc = -1;
  if (!root || read_status(&status, root, err, errlen) < 0)
    goto out;
  if (!json_object_object_get_ex(root, "players", &players) || !players) {
    s->unattributed++; /* ended before it had players (cancelled, dead) */
    rc = 0;
    goto out;
  }
  if (read_ids(ids, &n, players, err, errlen) < 0)
    goto out;
  if (strcmp(status, "finished") == 0 && read_scores(scores, &have, root, n, err, errlen) < 0)
    goto out;
  rc = jd_standings_add(s, ids, have ? scores : NULL, n);
  if (rc < 0)
    jd_fail(err, errlen, "result: too many programs or out of memory");
out:
  json_object_put(root);
  return rc;
}

/* A number printed with `decimals` digits; null when not finite. */
static json_object *num(double v, int decimals) {
  char buf[512]; /* "%.6f" of the largest double: 316 characters */
  if (!isfinite(v))
    return NULL;
  snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return json_object_new_double_s(strtod(buf, NULL), buf);
}

static json_object *row_json(const jd_standing_row *r, size_t rank) {
  json_object *o = json_object_new_object();
  if (!o)
    return NULL;
  json_object_object_add(o, "rank", json_object_new_int64((int64_t)rank + 1));
  json_object_object_add(o, "program", json_object_new_string(r->program));
  json_object_object_add(o, "games", json_object_new_int64(r->games));
  json_object_object_add(o, "wins", json_object_new_int64(r->wins));
  json_object_object_add(o, "draws", json_object_new_int64(r->draws));
  json_object_object_add(o, "losses", json_object_new_int64(r->losses));
  json_object_object_add(o, "no_result", json_object_new_int64(r->no_result));
  json_object_object_add(o, "points", num(jd_standings_row_points(r), 1));
  json_object_object_add(o, "score_sum", num(r->score_sum, 6));
  json_object_object_add(o, "rating", num(r->rating, 1));
  json_object_object_add(o, "rating_lo", num(r->rating_lo, 1));
  json_object_object_add(o, "rating_hi", num(r->rating_hi, 1));
  return o;
}

static json_object *matrix_json(const jd_standings *s) {
  json_object *m = json_object_new_object(), *names = json_object_new_array(),
              *wins = json_object_new_array(), *draws = json_object_new_array();
  if (m) {
    json_object_object_add(m, "programs", names);
    json_object_object_add(m, "wins", wins);
    json_object_object_add(m, "draws", draws);
  }
  if (!m || !names || !wins || !draws) {
    json_object_put(m);
    return NULL;
  }
  for (size_t i = 0; i < s->n; i++) {
    json_object *wr = json_object_new_array_ext((int)s->n),
                *dr = json_object_new_array_ext((int)s->n);
    json_object_array_add(names, json_object_new_string(jd_standings_row(s, i)->program));
    json_object_array_add(wins, wr);
    json_object_array_add(draws, dr);
    for (size_t j = 0; wr && dr && j < s->n; j++) {
      int64_t w, d;
      jd_standings_pair(s, i, j, &w, &d);
      json_object_array_add(wr, json_object_new_int64(w));
      json_object_array_add(dr, json_object_new_int64(d));
    }
  }
  return m;
}

static json_object *rating_json(const jd_standings *s) {
  jd_bt_options o = JD_BT_OPTIONS_INIT;
  json_object *r = json_object_new_object();
  if (!r)
    return NULL;
  json_object_object_add(r, "model", json_object_new_string("bradley-terry"));
  json_object_object_add(r, "fit", json_object_new_string("mm+newton"));
  json_object_object_add(r, "scale", json_object_new_string("elo"));
  json_object_object_add(r, "mean", num(JD_ELO_MEAN, 1));
  json_object_object_add(r, "elo_per_nat", num(JD_ELO_PER_NAT, 6));
  json_object_object_add(r, "draw", num(0.5, 1));
  json_object_object_add(r, "prior_draws", num(o.prior_draws, 1));
  json_object_object_add(r, "prior_opponent", num(JD_ELO_MEAN, 1));
  json_object_object_add(r, "interval", num(0.95, 2));
  json_object_object_add(r, "rated", json_object_new_boolean(s->rated));
  json_object_object_add(r, "converged", json_object_new_boolean(s->fit_ok));
  json_object_object_add(r, "iterations", json_object_new_int(s->iterations));
  return r;
}

int jd_standings_json(char **out, const jd_standings *s) {
  json_object *root = json_object_new_object(), *rows = json_object_new_array_ext((int)s->n);
  *out = NULL;
  if (root)
    json_object_object_add(root, "programs", rows);
  for (size_t i = 0; root && rows && i < s->n; i++)
    json_object_array_add(rows, row_json(jd_standings_row(s, i), i));
  if (root) {
    json_object_object_add(root, "matrix", matrix_json(s));
    json_object_object_add(root, "rating", rating_json(s));
    json_object_object_add(root, "unattributed", json_object_new_int64(s->unattributed));
  }
  const char *text =
      root && rows ? json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN) : NULL;
  *out = text ? strdup(text) : NULL;
  json_object_put(root);
  return *out ? 0 : -1;
}
