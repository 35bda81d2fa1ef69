/* Match limits: the defaults and the "limits" object of a spec (see
 * match_spec.h, docs/match-spec.md). */
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "match/match_spec_internal.h"

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
}

/* One role's fields of o into r; only the fields given change. With
 * allow_roles, o is the top-level limits object (its other keys allowed). */
static int parse_role(jd_spec_err *e, const char *where, json_object *o, jd_role_limits *r,
                      bool allow_roles) {
  static const char *const role_keys[] = {"cpus",    "memory", "pids", "wall_ms",
                                          "log_max", "tmpfs",  "user", NULL};
  static const char *const top_keys[] = {"cpus",           "memory",         "pids",
                                         "wall_ms",        "log_max",        "tmpfs",
                                         "user",           "game_logic",     "players",
                                         "deadline_ms",    "end_grace_ms",   "max_instances",
                                         "max_concurrent", "starts_per_sec", "line_max",
                                         "out_max",        "warm",           NULL};
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
  return 0;
}
