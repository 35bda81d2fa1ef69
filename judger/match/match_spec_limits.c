/* Match limits: the defaults and the "limits" object of a spec (see
 * match_spec.h, docs/match-spec.md). */
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "match/match_spec_internal.h"

/* The turn clocks' times (turn_ms, time_bank_ms, bank_increment_ms): 1 h. */
#define JD_TURN_MS_MAX ((int64_t)3600 * 1000)

void jd_match_limits_default(jd_match_limits *l) {
  memset(l, 0, sizeof *l);
  jd_role_limits p = {.cpus = 1.0,
                      .memory = 256 * JD_MIB,
                      .pids = 64,
                      .wall_ms = 120 * 1000,
                      .log_max = (size_t)(1 * JD_MIB),
                      .tmpfs = 64 * JD_MIB,
                      .user = NULL};
  l->player = p;
  jd_role_limits g = {.cpus = 1.0,
                      .memory = 512 * JD_MIB,
                      .pids = 128,
                      .wall_ms = 600 * 1000,
                      .log_max = (size_t)(8 * JD_MIB),
                      .tmpfs = 64 * JD_MIB,
                      .user = NULL};
  l->game_logic = g;
  l->deadline_ms = 600 * 1000;
  l->end_grace_ms = 3000;
  l->max_instances = 64;
  l->max_concurrent = 16;
  l->starts_per_sec = 20;
  l->line_max = (size_t)64 * 1024;
  l->out_max = 256 * JD_MIB;
  l->warm = true;
  l->turns.clock = JD_CLOCK_CPU;
  l->turns.turn_ms = 1000;
  l->turns.time_bank_ms = 0;
  l->turns.bank_increment_ms = 0;
  l->turns.on_timeout = JD_ON_TIMEOUT_TLE;
  l->turns.freeze_idle = false;
  l->turns.exclusive = false;
  l->turns.turn_wall_factor = 5;
  l->cpuset_auto = false;
  l->frame_max_bytes = 8192;
  l->frames_per_sec = 100;
  l->live_max_bytes = 32 * JD_MIB;
}

static const char *const clock_names[] = {
#define JD_CLOCK_NAME(code, name) name,
    JD_CLOCK_MAP(JD_CLOCK_NAME)
#undef JD_CLOCK_NAME
};

const char *jd_clock_name(jd_clock_kind k) {
  return (unsigned)k < JD_CLOCK_COUNT ? clock_names[k] : "?";
}

static const char *const on_timeout_names[] = {
#define JD_ON_TIMEOUT_NAME(code, name) name,
    JD_ON_TIMEOUT_MAP(JD_ON_TIMEOUT_NAME)
#undef JD_ON_TIMEOUT_NAME
};

const char *jd_on_timeout_name(jd_on_timeout t) {
  return (unsigned)t < JD_ON_TIMEOUT_COUNT ? on_timeout_names[t] : "?";
}

/* One role's fields of o into r; only the fields given change. With
 * allow_roles, o is the top-level limits object (its other keys allowed). */
static int parse_role(jd_spec_err *e, const char *where, json_object *o, jd_role_limits *r,
                      bool allow_roles) {
  static const char *const role_keys[] = {"cpus",    "memory", "pids", "wall_ms",
                                          "log_max", "tmpfs",  "user", NULL};
  static const char *const top_keys[] = {"cpus",
                                         "memory",
                                         "pids",
                                         "wall_ms",
                                         "log_max",
                                         "tmpfs",
                                         "user",
                                         "game_logic",
                                         "players",
                                         "deadline_ms",
                                         "end_grace_ms",
                                         "max_instances",
                                         "max_concurrent",
                                         "starts_per_sec",
                                         "line_max",
                                         "out_max",
                                         "warm",
                                         "clock",
                                         "turn_ms",
                                         "time_bank_ms",
                                         "bank_increment_ms",
                                         "on_timeout",
                                         "freeze_idle",
                                         "exclusive_turns",
                                         "turn_wall_factor",
                                         "cpuset",
                                         "frame_max_bytes",
                                         "frames_per_sec",
                                         "live_max_bytes",
                                         NULL};
  if (!json_object_is_type(o, json_type_object))
    return jd_spec_bad(e, where, "must be an object");
  if (jd_spec_check_keys(e, where, o, allow_roles ? top_keys : role_keys))
    return -1;
  char f[128];
  json_object *v;
  int64_t x;
#define FIELD(name) (snprintf(f, sizeof f, "%s.%s", where, name), f)
  if (json_object_object_get_ex(o, "cpus", &v)) {
    if (!json_object_is_type(v, json_type_double) && !json_object_is_type(v, json_type_int))
      return jd_spec_bad(e, FIELD("cpus"), "must be a number");
    double d = json_object_get_double(v);
    if (!(d >= 0.01 && d <= 256))
      return jd_spec_bad(e, FIELD("cpus"), "must be between 0.01 and 256");
    r->cpus = d;
  }
  if (json_object_object_get_ex(o, "memory", &v)) {
    /* The engine refuses less than 6 MiB. */
    if (jd_spec_get_size(e, FIELD("memory"), v, 6 * JD_MIB, (int64_t)1 << 42, &r->memory))
      return -1;
  }
  if (json_object_object_get_ex(o, "pids", &v) &&
      jd_spec_get_int(e, FIELD("pids"), v, 1, 1 << 22, &r->pids))
    return -1;
  if (json_object_object_get_ex(o, "wall_ms", &v) &&
      jd_spec_get_int(e, FIELD("wall_ms"), v, 1, (int64_t)7 * 24 * 3600 * 1000, &r->wall_ms))
    return -1;
  if (json_object_object_get_ex(o, "log_max", &v)) {
    if (jd_spec_get_size(e, FIELD("log_max"), v, 1, (int64_t)1 << 40, &x))
      return -1;
    r->log_max = (size_t)x;
  }
  if (json_object_object_get_ex(o, "tmpfs", &v) &&
      jd_spec_get_size(e, FIELD("tmpfs"), v, JD_MIB, (int64_t)1 << 40, &r->tmpfs))
    return -1;
  if (json_object_object_get_ex(o, "user", &v)) {
    if (jd_spec_get_string(e, FIELD("user"), v, &r->user))
      return -1;
    for (const char *p = r->user; *p; p++)
      if (!isalnum((unsigned char)*p) && !strchr(":_-.", *p))
        return jd_spec_bad(e, FIELD("user"), "must be \"uid:gid\", a user name, or \"\"");
  }
#undef FIELD
  return 0;
}

int jd_match_role_limits_parse(jd_spec_err *e, const char *where, json_object *o,
                               jd_role_limits *r) {
  return parse_role(e, where, o, r, false);
}

/* An integer field of the limits object into an int. */
static int get_int_field(jd_spec_err *e, json_object *o, const char *key, int64_t min, int64_t max,
                         int *out) {
  json_object *v;
  int64_t x;
  if (!json_object_object_get_ex(o, key, &v))
    return 0;
  char f[64];
  snprintf(f, sizeof f, "limits.%s", key);
  if (jd_spec_get_int(e, f, v, min, max, &x))
    return -1;
  *out = (int)x;
  return 0;
}

/* One of a name table's n names (key limits.<key>, when given) into *out;
 * the error lists them: limits.clock: must be "cpu" or "wall". */
static int get_name_field(jd_spec_err *e, json_object *o, const char *key, const char *const *names,
                          int n, int *out) {
  json_object *v;
  if (!json_object_object_get_ex(o, key, &v))
    return 0;
  if (json_object_is_type(v, json_type_string))
    for (int i = 0; i < n; i++)
      if (!strcmp(json_object_get_string(v), names[i])) {
        *out = i;
        return 0;
      }
  char f[64], list[128] = "";
  snprintf(f, sizeof f, "limits.%s", key);
  for (int i = 0; i < n; i++) {
    size_t len = strlen(list);
    snprintf(list + len, sizeof list - len, "%s\"%s\"",
             i == 0       ? ""
             : i == n - 1 ? " or "
                          : ", ",
             names[i]);
  }
  return jd_spec_bad(e, f, "must be %s", list);
}

static int get_bool_field(jd_spec_err *e, json_object *o, const char *key, bool *out) {
  json_object *v;
  if (!json_object_object_get_ex(o, key, &v))
    return 0;
  char f[64];
  snprintf(f, sizeof f, "limits.%s", key);
  if (!json_object_is_type(v, json_type_boolean))
    return jd_spec_bad(e, f, "must be true or false");
  *out = json_object_get_boolean(v);
  return 0;
}

/* A time of the turn clocks, ms: an integer 0..1 h. */
static int get_ms_field(jd_spec_err *e, json_object *o, const char *key, int64_t *out) {
  json_object *v;
  if (!json_object_object_get_ex(o, key, &v))
    return 0;
  char f[64];
  snprintf(f, sizeof f, "limits.%s", key);
  return jd_spec_get_int(e, f, v, 0, JD_TURN_MS_MAX, out);
}

/* The turn clocks' keys and cpuset (docs/match-spec.md, docs/protocol.md
 * "Turn clocks"). */
static int parse_turns(jd_spec_err *e, json_object *o, jd_match_limits *l) {
  static const char *const cpuset_names[] = {"none", "auto"};
  jd_turn_limits *t = &l->turns;
  int clock = (int)t->clock, on_timeout = (int)t->on_timeout, cpuset = l->cpuset_auto;
  if (get_name_field(e, o, "clock", clock_names, JD_CLOCK_COUNT, &clock) ||
      get_ms_field(e, o, "turn_ms", &t->turn_ms) ||
      get_ms_field(e, o, "time_bank_ms", &t->time_bank_ms) ||
      get_ms_field(e, o, "bank_increment_ms", &t->bank_increment_ms) ||
      get_name_field(e, o, "on_timeout", on_timeout_names, JD_ON_TIMEOUT_COUNT, &on_timeout) ||
      get_bool_field(e, o, "freeze_idle", &t->freeze_idle) ||
      get_bool_field(e, o, "exclusive_turns", &t->exclusive) ||
      get_int_field(e, o, "turn_wall_factor", 1, 100, &t->turn_wall_factor) ||
      get_name_field(e, o, "cpuset", cpuset_names, 2, &cpuset))
    return -1;
  t->clock = (jd_clock_kind)clock;
  t->on_timeout = (jd_on_timeout)on_timeout;
  l->cpuset_auto = cpuset == 1;
  return 0;
}

/* Frames and the live file (docs/match-spec.md, docs/protocol.md "Frames"). */
static int parse_live(jd_spec_err *e, json_object *o, jd_match_limits *l) {
  json_object *v;
  if (json_object_object_get_ex(o, "frame_max_bytes", &v) &&
      jd_spec_get_size(e, "limits.frame_max_bytes", v, 16, JD_MIB, &l->frame_max_bytes))
    return -1;
  if (json_object_object_get_ex(o, "live_max_bytes", &v) &&
      jd_spec_get_size(e, "limits.live_max_bytes", v, 0, 1024 * JD_MIB, &l->live_max_bytes))
    return -1;
  return get_int_field(e, o, "frames_per_sec", 1, 10000, &l->frames_per_sec);
}

int jd_match_limits_parse(jd_spec_err *e, json_object *o, jd_match_limits *l) {
  json_object *v;
  int64_t x;
  /* Top-level role fields apply to both roles (only those given); the
   * "game_logic" and "players" objects then override per role. */
  if (parse_role(e, "limits", o, &l->game_logic, true) ||
      parse_role(e, "limits", o, &l->player, true))
    return -1;
  if (json_object_object_get_ex(o, "game_logic", &v) &&
      parse_role(e, "limits.game_logic", v, &l->game_logic, false))
    return -1;
  if (json_object_object_get_ex(o, "players", &v) &&
      parse_role(e, "limits.players", v, &l->player, false))
    return -1;
  if (json_object_object_get_ex(o, "deadline_ms", &v) &&
      jd_spec_get_int(e, "limits.deadline_ms", v, 1, (int64_t)7 * 24 * 3600 * 1000,
                      &l->deadline_ms))
    return -1;
  if (json_object_object_get_ex(o, "end_grace_ms", &v) &&
      jd_spec_get_int(e, "limits.end_grace_ms", v, 0, 600 * 1000, &l->end_grace_ms))
    return -1;
  if (get_int_field(e, o, "max_instances", 1, 10000, &l->max_instances) ||
      get_int_field(e, o, "max_concurrent", 1, 256, &l->max_concurrent) ||
      get_int_field(e, o, "starts_per_sec", 1, 10000, &l->starts_per_sec))
    return -1;
  if (json_object_object_get_ex(o, "line_max", &v)) {
    if (jd_spec_get_size(e, "limits.line_max", v, 256, 16 * JD_MIB, &x))
      return -1;
    l->line_max = (size_t)x;
  }
  if (json_object_object_get_ex(o, "out_max", &v) &&
      jd_spec_get_size(e, "limits.out_max", v, 0, (int64_t)1 << 40, &l->out_max))
    return -1;
  if (json_object_object_get_ex(o, "warm", &v)) {
    if (!json_object_is_type(v, json_type_boolean))
      return jd_spec_bad(e, "limits.warm", "must be true or false");
    l->warm = json_object_get_boolean(v);
  }
  return parse_turns(e, o, l) || parse_live(e, o, l) ? -1 : 0;
}
