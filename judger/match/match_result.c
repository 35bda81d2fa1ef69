/* Match results (see match_result.h, docs/match-spec.md). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "common/clock.h"
#include "common/error.h"
#include "common/tmpfile.h"
#include "common/utf8.h"
#include "common/util.h"
#include "dockerapi/buf.h"
#include "match/match_result.h"

static const struct {
  const char *name;
  int exit_code;
} statuses[] = {
#define JD_MATCH_STATUS_ROW(code, name, exit) {name, exit},
    JD_MATCH_STATUS_MAP(JD_MATCH_STATUS_ROW)
#undef JD_MATCH_STATUS_ROW
};

const char *jd_match_status_name(jd_match_status s) {
  return (unsigned)s < JD_MATCH_STATUS_COUNT ? statuses[s].name : "error";
}

int jd_match_exit_code(const jd_match_result *r) {
  return r && (unsigned)r->status < JD_MATCH_STATUS_COUNT ? statuses[r->status].exit_code
                                                          : JD_EXIT_SYSTEM;
}

/* Every string here may hold a program's bytes (messages, reasons quoting
 * a build, output file names): all go through the one sanitiser. */
static json_object *str_or_null(const char *s) { return jd_json_str(s); }
static json_object *str_or_empty(const char *s) { return jd_json_str(s ? s : ""); }

static json_object *time_or_null(int64_t ms) {
  if (!ms)
    return NULL;
  char ts[32];
  jd_time_rfc3339(ts, ms);
  return json_object_new_string(ts);
}

static json_object *verdict_json(jd_verdict v) {
  return json_object_new_string(jd_verdict_name(v));
}

/* How a container (or an AI's instances) ended: the same three fields, in
 * this order, in an instance and in a player. */
static void add_ending(json_object *o, int64_t exit_code, bool oom_killed, bool log_truncated) {
  json_object_object_add(o, "exit_code", json_object_new_int64(exit_code));
  json_object_object_add(o, "oom_killed", json_object_new_boolean(oom_killed));
  json_object_object_add(o, "log_truncated", json_object_new_boolean(log_truncated));
}

/* ns as ms with 3 decimals (µs), written as such; null for -1 (the
 * backend cannot give it). */
static json_object *ms_json(int64_t ns) {
  if (ns < 0)
    return NULL;
  char text[32];
  snprintf(text, sizeof text, "%.3f", (double)ns / 1e6);
  return json_object_new_double_s((double)ns / 1e6, text);
}

static json_object *count_json(int64_t n) { return n < 0 ? NULL : json_object_new_int64(n); }

/* "usage", "turns" and "cpuset" of an instance (docs/match-spec.md
 * "Accounting"). */
static void add_accounting(json_object *o, const jd_instance_result *i) {
  if (i->usage_known) {
    json_object *u = json_object_new_object();
    json_object_object_add(u, "cpu_ms", ms_json(i->cpu_ns));
    json_object_object_add(u, "memory_peak", count_json(i->memory_peak));
    json_object_object_add(u, "throttled_ms", ms_json(i->throttled_ns));
    json_object_object_add(u, "throttled_periods", count_json(i->throttled_periods));
    json_object_object_add(u, "source", json_object_new_string(i->usage_source));
    if (i->freeze_failures)
      json_object_object_add(u, "freeze_failures", json_object_new_int64(i->freeze_failures));
    json_object_object_add(u, "final", json_object_new_boolean(i->usage_final));
    json_object_object_add(o, "usage", u);
  }
  if (i->clocked) {
    const jd_turn_stats *t = &i->turns;
    json_object *u = json_object_new_object();
    json_object_object_add(u, "clock", json_object_new_string(i->clock));
    json_object_object_add(u, "count", json_object_new_int64(t->turns));
    json_object_object_add(u, "timeouts", json_object_new_int64(t->timeouts));
    json_object_object_add(u, "overruns", json_object_new_int64(t->overruns));
    json_object_object_add(u, "max_ms", ms_json(t->max_ns));
    json_object_object_add(u, "median_ms", ms_json(t->median_ns));
    json_object_object_add(u, "p95_ms", ms_json(t->p95_ns));
    json_object_object_add(u, "bank_ms", ms_json(t->bank_ns));
    json_object_object_add(o, "turns", u);
  }
  if (i->cpuset) {
    json_object_object_add(o, "cpuset", json_object_new_string(i->cpuset));
    json_object_object_add(o, "cpuset_shared", json_object_new_boolean(i->cpuset_shared));
  }
}

static json_object *instance_json(const jd_instance_result *i) {
  json_object *o = json_object_new_object();
  json_object_object_add(o, "name", str_or_empty(i->name));
  if (i->ai >= 0)
    json_object_object_add(o, "ai", json_object_new_int(i->ai));
  json_object_object_add(o, "verdict", verdict_json(i->verdict));
  add_ending(o, i->exit_code, i->oom_killed, i->log_truncated);
  json_object_object_add(o, "killed", json_object_new_boolean(i->killed));
  json_object_object_add(o, "started_at", time_or_null(i->started_ms));
  json_object_object_add(o, "ended_at", time_or_null(i->ended_ms));
  json_object_object_add(
      o, "duration_ms",
      json_object_new_int64(i->started_ms && i->ended_ms ? i->ended_ms - i->started_ms : 0));
  json_object_object_add(o, "message", str_or_null(i->message));
  add_accounting(o, i);
  return o;
}

/* The limits an AI's instances ran under (docs/match-spec.md, "limits"). */
static json_object *limits_json(const jd_role_limits *l) {
  json_object *o = json_object_new_object();
  json_object_object_add(o, "cpus", json_object_new_double(l->cpus));
  json_object_object_add(o, "memory", json_object_new_int64(l->memory));
  json_object_object_add(o, "pids", json_object_new_int64(l->pids));
  json_object_object_add(o, "wall_ms", json_object_new_int64(l->wall_ms));
  json_object_object_add(o, "log_max", json_object_new_int64((int64_t)l->log_max));
  json_object_object_add(o, "tmpfs", json_object_new_int64(l->tmpfs));
  json_object_object_add(o, "user", json_object_new_string(l->user));
  return o;
}

static json_object *player_json(const jd_match_result *r, const jd_player_result *p) {
  json_object *po = json_object_new_object();
  json_object_object_add(po, "ai", json_object_new_int(p->ai));
  json_object_object_add(po, "id", str_or_empty(p->id));
  json_object_object_add(po, "verdict", verdict_json(p->verdict));
  json_object_object_add(po, "score", r->has_scores ? json_object_new_double(p->score) : NULL);
  json_object_object_add(po, "message", str_or_null(p->message));
  add_ending(po, p->exit_code, p->oom_killed, p->log_truncated);
  json_object_object_add(po, "instances", json_object_new_int(p->instances));
  json_object_object_add(po, "log", str_or_null(p->log));
  json_object_object_add(po, "build_message", str_or_null(p->build_message));
  json_object_object_add(po, "build_log", str_or_null(p->build_log));
  if (p->limits.user)
    json_object_object_add(po, "limits", limits_json(&p->limits));
  return po;
}

/* The game logic's frames: passed on, and dropped for each cause. */
static json_object *live_json(const jd_live_counts *c) {
  json_object *o = json_object_new_object();
  json_object_object_add(o, "frames", json_object_new_int64(c->frames));
  json_object_object_add(o, "dropped_size", json_object_new_int64(c->dropped_size));
  json_object_object_add(o, "dropped_rate", json_object_new_int64(c->dropped_rate));
  json_object_object_add(o, "dropped_file", json_object_new_int64(c->dropped_file));
  return o;
}

json_object *jd_match_result_object(const jd_match_result *r) {
  if (!r)
    return NULL;
  json_object *o = json_object_new_object();
  if (!o)
    return NULL;
  json_object_object_add(o, "match_id", str_or_empty(r->match_id));
  json_object_object_add(o, "run", str_or_null(r->run_key));
  json_object_object_add(o, "status", json_object_new_string(jd_match_status_name(r->status)));
  json_object_object_add(o, "reason", str_or_null(r->reason));
  json_object *scores = NULL;
  if (r->has_scores) {
    scores = json_object_new_array();
    for (size_t i = 0; i < r->nplayers; i++)
      json_object_array_add(scores, json_object_new_double(r->players[i].score));
  }
  json_object_object_add(o, "scores", scores);
  json_object_object_add(o, "started_at", time_or_null(r->started_ms));
  json_object_object_add(o, "ended_at", time_or_null(r->ended_ms));
  json_object_object_add(
      o, "duration_ms",
      json_object_new_int64(r->started_ms && r->ended_ms ? r->ended_ms - r->started_ms : 0));
  json_object *players = json_object_new_array();
  for (size_t i = 0; i < r->nplayers; i++)
    json_object_array_add(players, player_json(r, &r->players[i]));
  json_object_object_add(o, "players", players);
  json_object *gl = instance_json(&r->game_logic);
  json_object_object_add(gl, "log", str_or_null(r->game_logic_log));
  json_object_object_add(gl, "build_log", str_or_null(r->game_logic_build_log));
  json_object_object_add(o, "game_logic", gl);
  json_object *inst = json_object_new_array();
  for (size_t i = 0; i < r->ninstances; i++)
    json_object_array_add(inst, instance_json(&r->instances[i]));
  json_object_object_add(o, "instances", inst);
  json_object *files = json_object_new_array();
  size_t listed_bytes = 0, i = 0;
  for (; i < r->nfiles; i++) {
    size_t n = r->files[i] ? strlen(r->files[i]) : 0;
    if (n > JD_RESULT_FILES_BYTES - listed_bytes)
      break; /* the cap holds while the list is made */
    listed_bytes += n;
    json_object_array_add(files, str_or_empty(r->files[i]));
  }
  json_object_object_add(o, "files", files);
  json_object_object_add(o, "outputs_truncated", json_object_new_boolean(i < r->nfiles));
  json_object_object_add(o, "outputs_count", json_object_new_int64((int64_t)r->nfiles));
  json_object_object_add(o, "refused_commands", json_object_new_int(r->refused_commands));
  json_object_object_add(o, "live", live_json(&r->live));
  json_object_object_add(o, "out_dir", str_or_null(r->out_dir));
  return o;
}

char *jd_result_text(json_object *o, bool pretty) {
  int flags = pretty ? JSON_C_TO_STRING_PRETTY : JSON_C_TO_STRING_PLAIN;
  const char *s = json_object_to_json_string_ext(o, flags | JSON_C_TO_STRING_NOSLASHESCAPE);
  return s ? strdup(s) : NULL;
}

char *jd_match_result_json(const jd_match_result *r) {
  json_object *o = jd_match_result_object(r);
  if (!o)
    return NULL;
  char *text = jd_result_text(o, true);
  json_object_put(o);
  return text;
}

int jd_match_result_write(const jd_match_result *r, const char *dir) {
  char *text = jd_match_result_json(r);
  if (!text) {
    errno = ENOMEM;
    return -1;
  }
  size_t len = strlen(text);
  text[len] = '\n'; /* replace the NUL: the file ends with a newline */
  /* Through an O_EXCL temporary: dir also holds the game's outputs. */
  int rc = jd_file_publish(dir, "result.json", text, len + 1, 0644);
  int saved = errno;
  free(text);
  errno = saved;
  return rc;
}

static void fmt_duration(char *out, size_t n, int64_t a, int64_t b) {
  if (!a || !b)
    snprintf(out, n, "-");
  else
    snprintf(out, n, "%.2fs", (double)(b - a) / 1000.0);
}

/* A player's notes column: its notes joined with "; " (an OOM kill, a cut
 * log, the judger's message, the build's), "-" when it has none. */
static void player_notes(dk_buf *b, const jd_player_result *p) {
  const char *notes[] = {p->oom_killed ? "oom" : NULL, p->log_truncated ? "log truncated" : NULL,
                         p->message, p->build_message};
  size_t n = 0;
  for (size_t i = 0; i < sizeof notes / sizeof *notes; i++)
    if (notes[i] && *notes[i])
      dk_buf_appendf(b, "%s%s", n++ ? "; " : "", notes[i]);
  if (!n)
    dk_buf_appendf(b, "-");
}

char *jd_match_result_summary(const jd_match_result *r) {
  dk_buf b = DK_BUF_INIT(1 << 20);
  char d[32];
  fmt_duration(d, sizeof d, r->started_ms, r->ended_ms);
  dk_buf_appendf(&b, "match %s: %s%s%s (%s)\n", r->match_id, jd_match_status_name(r->status),
                 r->reason ? " — " : "", r->reason ? r->reason : "", d);
  dk_buf_appendf(&b, "%-3s %-20s %-7s %10s %5s %9s  %s\n", "AI", "program", "verdict", "score",
                 "exit", "instances", "notes");
  for (size_t i = 0; i < r->nplayers; i++) {
    const jd_player_result *p = &r->players[i];
    char score[32] = "-";
    if (r->has_scores)
      snprintf(score, sizeof score, "%g", p->score);
    dk_buf_appendf(&b, "%-3d %-20.20s %-7s %10s %5lld %9d  ", p->ai, p->id,
                   jd_verdict_name(p->verdict), score, (long long)p->exit_code, p->instances);
    player_notes(&b, p);
    dk_buf_appendf(&b, "\n");
  }
  const jd_instance_result *g = &r->game_logic;
  fmt_duration(d, sizeof d, g->started_ms, g->ended_ms);
  dk_buf_appendf(&b, "game logic: %s, exit %lld, %s%s%s\n", jd_verdict_name(g->verdict),
                 (long long)g->exit_code, d, g->message ? ", " : "", g->message ? g->message : "");
  for (size_t i = 0; i < r->ninstances; i++) {
    const jd_instance_result *in = &r->instances[i];
    fmt_duration(d, sizeof d, in->started_ms, in->ended_ms);
    dk_buf_appendf(&b, "  %-16s AI %-2d %-4s exit %-4lld %8s%s%s\n", in->name, in->ai,
                   jd_verdict_name(in->verdict), (long long)in->exit_code, d,
                   in->message ? "  " : "", in->message ? in->message : "");
  }
  if (r->out_dir)
    dk_buf_appendf(&b, "outputs in %s\n", r->out_dir);
  return dk_buf_detach(&b, NULL);
}

static void instance_clear(jd_instance_result *i) {
  free(i->name);
  free(i->message);
  free(i->cpuset);
  memset(i, 0, sizeof *i);
}

void jd_match_result_free(jd_match_result *r) {
  if (!r)
    return;
  free(r->match_id);
  free(r->run_key);
  free(r->reason);
  for (size_t i = 0; i < r->nplayers; i++) {
    free(r->players[i].id);
    free(r->players[i].message);
    free(r->players[i].log);
    free(r->players[i].build_message);
    free(r->players[i].build_log);
    free(r->players[i].limits.user);
  }
  free(r->players);
  instance_clear(&r->game_logic);
  free(r->game_logic_log);
  free(r->game_logic_build_log);
  for (size_t i = 0; i < r->ninstances; i++)
    instance_clear(&r->instances[i]);
  free(r->instances);
  for (size_t i = 0; i < r->nfiles; i++)
    free(r->files[i]);
  free(r->files);
  free(r->out_dir);
  free(r);
}
