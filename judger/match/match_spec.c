/* Match spec: parsing and validation (see match_spec.h, docs/match-spec.md).
 *
 * Validation is strict and happens before anything is created: unknown
 * keys, wrong types, negative or absurd limits, too many players, a missing
 * run.Dockerfile are refused, and the message names the field. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "build/program.h"
#include "common/size.h"
#include "common/util.h"
#include "match/match_spec.h"

#define MIB ((int64_t)1024 * 1024)

void jd_match_limits_default(jd_match_limits *l) {
  memset(l, 0, sizeof *l);
  jd_role_limits p = {.cpus = 1.0,
                      .memory = 256 * MIB,
                      .pids = 64,
                      .wall_ms = 120 * 1000,
                      .log_max = (size_t)(1 * MIB),
                      .tmpfs = 64 * MIB,
                      .user = NULL};
  l->player = p;
  jd_role_limits g = {.cpus = 1.0,
                      .memory = 512 * MIB,
                      .pids = 128,
                      .wall_ms = 600 * 1000,
                      .log_max = (size_t)(8 * MIB),
                      .tmpfs = 64 * MIB,
                      .user = NULL};
  l->game_logic = g;
  l->deadline_ms = 600 * 1000;
  l->end_grace_ms = 3000;
  l->max_instances = 64;
  l->max_concurrent = 16;
  l->starts_per_sec = 20;
  l->line_max = (size_t)64 * 1024;
  l->out_max = 256 * MIB;
}

#define DEFAULT_USER "65534:65534"

typedef struct perr {
  char *buf;
  size_t len;
} perr;

static int bad(perr *e, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int bad(perr *e, const char *field, const char *fmt, ...) {
  if (e->len) {
    int n = snprintf(e->buf, e->len, "%s: ", field);
    if (n >= 0 && (size_t)n < e->len) {
      va_list ap;
      va_start(ap, fmt);
      vsnprintf(e->buf + n, e->len - (size_t)n, fmt, ap);
      va_end(ap);
    }
  }
  return -1;
}

/* Refuses keys not in `allowed` (NULL-terminated): a typo in a limit must not
 * silently fall back to a default. */
static int check_keys(perr *e, const char *where, json_object *o, const char *const *allowed) {
  json_object_object_foreach(o, key, val) {
    (void)val;
    bool ok = false;
    for (const char *const *a = allowed; *a; a++)
      ok = ok || !strcmp(*a, key);
    if (!ok) {
      char f[256];
      snprintf(f, sizeof f, "%s%s%s", where, *where ? "." : "", key);
      return bad(e, f, "unknown field");
    }
  }
  return 0;
}

static int get_string(perr *e, const char *field, json_object *v, char **out) {
  if (!json_object_is_type(v, json_type_string))
    return bad(e, field, "must be a string");
  free(*out);
  *out = strdup(json_object_get_string(v));
  return *out ? 0 : bad(e, field, "out of memory");
}

static int get_int(perr *e, const char *field, json_object *v, int64_t min, int64_t max,
                   int64_t *out) {
  if (!json_object_is_type(v, json_type_int))
    return bad(e, field, "must be an integer");
  errno = 0;
  int64_t x = json_object_get_int64(v);
  if (errno || x < min || x > max)
    return bad(e, field, "must be between %lld and %lld", (long long)min, (long long)max);
  *out = x;
  return 0;
}

/* A size: an integer of bytes or a string such as "256m". */
static int get_size(perr *e, const char *field, json_object *v, int64_t min, int64_t max,
                    int64_t *out) {
  int64_t x;
  if (json_object_is_type(v, json_type_string)) {
    if (jd_parse_size(&x, json_object_get_string(v)))
      return bad(e, field, "not a size (bytes, or a number with k, m or g)");
  } else if (json_object_is_type(v, json_type_int)) {
    errno = 0;
    x = json_object_get_int64(v);
    if (errno)
      return bad(e, field, "out of range");
  } else {
    return bad(e, field, "must be a size (bytes, or a string like \"256m\")");
  }
  if (x < min || x > max)
    return bad(e, field, "must be between %lld and %lld bytes", (long long)min, (long long)max);
  *out = x;
  return 0;
}

static int parse_role(perr *e, const char *where, json_object *o, jd_role_limits *r,
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
                                         NULL};
  if (!json_object_is_type(o, json_type_object))
    return bad(e, where, "must be an object");
  if (check_keys(e, where, o, allow_roles ? top_keys : role_keys))
    return -1;
  char f[128];
  json_object *v;
  int64_t x;
#define FIELD(name) (snprintf(f, sizeof f, "%s.%s", where, name), f)
  if (json_object_object_get_ex(o, "cpus", &v)) {
    if (!json_object_is_type(v, json_type_double) && !json_object_is_type(v, json_type_int))
      return bad(e, FIELD("cpus"), "must be a number");
    double d = json_object_get_double(v);
    if (!(d >= 0.01 && d <= 256))
      return bad(e, FIELD("cpus"), "must be between 0.01 and 256");
    r->cpus = d;
  }
  if (json_object_object_get_ex(o, "memory", &v)) {
    /* The engine refuses less than 6 MiB. */
    if (get_size(e, FIELD("memory"), v, 6 * MIB, (int64_t)1 << 42, &r->memory))
      return -1;
  }
  if (json_object_object_get_ex(o, "pids", &v) &&
      get_int(e, FIELD("pids"), v, 1, 1 << 22, &r->pids))
    return -1;
  if (json_object_object_get_ex(o, "wall_ms", &v) &&
      get_int(e, FIELD("wall_ms"), v, 1, (int64_t)7 * 24 * 3600 * 1000, &r->wall_ms))
    return -1;
  if (json_object_object_get_ex(o, "log_max", &v)) {
    if (get_size(e, FIELD("log_max"), v, 1, (int64_t)1 << 40, &x))
      return -1;
    r->log_max = (size_t)x;
  }
  if (json_object_object_get_ex(o, "tmpfs", &v) &&
      get_size(e, FIELD("tmpfs"), v, MIB, (int64_t)1 << 40, &r->tmpfs))
    return -1;
  if (json_object_object_get_ex(o, "user", &v)) {
    if (get_string(e, FIELD("user"), v, &r->user))
      return -1;
    for (const char *p = r->user; *p; p++)
      if (!isalnum((unsigned char)*p) && !strchr(":_-.", *p))
        return bad(e, FIELD("user"), "must be \"uid:gid\", a user name, or \"\"");
  }
#undef FIELD
  return 0;
}

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

static int parse_limits(perr *e, json_object *o, jd_match_limits *l) {
  /* Top-level role fields apply to both roles; "game_logic" and "players"
   * objects then override per role. */
  jd_role_limits both = l->player;
  both.user = NULL;
  json_object *v;
  int64_t x;
  if (parse_role(e, "limits", o, &both, true))
    goto fail;
  /* Apply only the fields given at top level. */
  {
    static const char *const keys[] = {"cpus",    "memory", "pids", "wall_ms",
                                       "log_max", "tmpfs",  "user"};
    jd_role_limits *roles[2] = {&l->game_logic, &l->player};
    for (int i = 0; i < 2; i++) {
      for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
        if (!json_object_object_get_ex(o, keys[k], &v))
          continue;
        switch (k) {
        case 0:
          roles[i]->cpus = both.cpus;
          break;
        case 1:
          roles[i]->memory = both.memory;
          break;
        case 2:
          roles[i]->pids = both.pids;
          break;
        case 3:
          roles[i]->wall_ms = both.wall_ms;
          break;
        case 4:
          roles[i]->log_max = both.log_max;
          break;
        case 5:
          roles[i]->tmpfs = both.tmpfs;
          break;
        case 6:
          free(roles[i]->user);
          roles[i]->user = dup_or_null(both.user);
          break;
        }
      }
    }
  }
  free(both.user);
  both.user = NULL;
  if (json_object_object_get_ex(o, "game_logic", &v) &&
      parse_role(e, "limits.game_logic", v, &l->game_logic, false))
    return -1;
  if (json_object_object_get_ex(o, "players", &v) &&
      parse_role(e, "limits.players", v, &l->player, false))
    return -1;
  if (json_object_object_get_ex(o, "deadline_ms", &v) &&
      get_int(e, "limits.deadline_ms", v, 1, (int64_t)7 * 24 * 3600 * 1000, &l->deadline_ms))
    return -1;
  if (json_object_object_get_ex(o, "end_grace_ms", &v) &&
      get_int(e, "limits.end_grace_ms", v, 0, 600 * 1000, &l->end_grace_ms))
    return -1;
  if (json_object_object_get_ex(o, "max_instances", &v)) {
    if (get_int(e, "limits.max_instances", v, 1, 10000, &x))
      return -1;
    l->max_instances = (int)x;
  }
  if (json_object_object_get_ex(o, "max_concurrent", &v)) {
    if (get_int(e, "limits.max_concurrent", v, 1, 256, &x))
      return -1;
    l->max_concurrent = (int)x;
  }
  if (json_object_object_get_ex(o, "starts_per_sec", &v)) {
    if (get_int(e, "limits.starts_per_sec", v, 1, 10000, &x))
      return -1;
    l->starts_per_sec = (int)x;
  }
  if (json_object_object_get_ex(o, "line_max", &v)) {
    if (get_size(e, "limits.line_max", v, 256, 16 * MIB, &x))
      return -1;
    l->line_max = (size_t)x;
  }
  if (json_object_object_get_ex(o, "out_max", &v) &&
      get_size(e, "limits.out_max", v, 0, (int64_t)1 << 40, &l->out_max))
    return -1;
  return 0;
fail:
  free(both.user);
  return -1;
}

static char *resolve_dir(const char *base_dir, const char *dir) {
  char *p = NULL;
  if (dir[0] == '/' || !base_dir || !*base_dir) {
    if (dir[0] == '/')
      return strdup(dir);
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd))
      return NULL;
    return asprintf(&p, "%s/%s", cwd, dir) < 0 ? NULL : p;
  }
  if (base_dir[0] != '/') {
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd))
      return NULL;
    return asprintf(&p, "%s/%s/%s", cwd, base_dir, dir) < 0 ? NULL : p;
  }
  return asprintf(&p, "%s/%s", base_dir, dir) < 0 ? NULL : p;
}

static int parse_program(perr *e, const char *where, json_object *o, const char *base_dir,
                         jd_match_program *p) {
  static const char *const keys[] = {"id", "dir", "git", "ref", "tar_url", "image", "cmd", NULL};
  char f[128];
  json_object *v;
#define FIELD(name) (snprintf(f, sizeof f, "%s.%s", where, name), f)
  if (!json_object_is_type(o, json_type_object))
    return bad(e, where, "must be an object (a program reference)");
  if (check_keys(e, where, o, keys))
    return -1;
  if (!json_object_object_get_ex(o, "id", &v))
    return bad(e, FIELD("id"), "missing");
  if (get_string(e, FIELD("id"), v, &p->id))
    return -1;
  if (!jd_is_safe_name(p->id, 64))
    return bad(e, FIELD("id"), "must be lowercase [a-z0-9][a-z0-9_.-]*, at most 64 chars");
  char why[200];
  /* A program that is built also names images: Docker's stricter grammar
   * ("a..b" is a safe name but no repository) is checked now, not at build. */
  if (!json_object_object_get_ex(o, "image", NULL) && jd_program_id_check(p->id, why, sizeof why))
    return bad(e, FIELD("id"), "%s", why);
  if (json_object_object_get_ex(o, "dir", &v) && get_string(e, FIELD("dir"), v, &p->dir))
    return -1;
  if (json_object_object_get_ex(o, "git", &v) && get_string(e, FIELD("git"), v, &p->git_url))
    return -1;
  if (json_object_object_get_ex(o, "ref", &v) && get_string(e, FIELD("ref"), v, &p->git_ref))
    return -1;
  if (json_object_object_get_ex(o, "tar_url", &v) &&
      get_string(e, FIELD("tar_url"), v, &p->tar_url))
    return -1;
  if (json_object_object_get_ex(o, "image", &v) && get_string(e, FIELD("image"), v, &p->image))
    return -1;
  if (json_object_object_get_ex(o, "cmd", &v)) {
    if (!json_object_is_type(v, json_type_array) || json_object_array_length(v) == 0 ||
        json_object_array_length(v) > 256)
      return bad(e, FIELD("cmd"), "must be a non-empty array of strings");
    size_t n = json_object_array_length(v);
    p->cmd = calloc(n + 1, sizeof *p->cmd);
    if (!p->cmd)
      return bad(e, FIELD("cmd"), "out of memory");
    for (size_t i = 0; i < n; i++) {
      json_object *s = json_object_array_get_idx(v, i);
      if (!json_object_is_type(s, json_type_string))
        return bad(e, FIELD("cmd"), "must be a non-empty array of strings");
      if (!(p->cmd[i] = strdup(json_object_get_string(s))))
        return bad(e, FIELD("cmd"), "out of memory");
    }
  }
  int sources = !!p->dir + !!p->git_url + !!p->tar_url;
  if (p->image) {
    if (!*p->image)
      return bad(e, FIELD("image"), "must not be empty");
    if (p->git_url || p->tar_url)
      return bad(e, FIELD("image"), "with an image, only \"dir\" may give the code");
  } else if (sources != 1) {
    return bad(e, where, "give exactly one source: \"dir\", \"git\" or \"tar_url\"");
  }
  if (p->git_ref && !p->git_url)
    return bad(e, FIELD("ref"), "only with \"git\"");
  if (p->dir) {
    char *abs = resolve_dir(base_dir, p->dir);
    if (!abs)
      return bad(e, FIELD("dir"), "cannot resolve the path");
    free(p->dir);
    p->dir = abs;
    struct stat st;
    if (stat(p->dir, &st) || !S_ISDIR(st.st_mode))
      return bad(e, FIELD("dir"), "%s is not a directory", p->dir);
    if (!p->image) {
      char *df = NULL;
      if (asprintf(&df, "%s/run.Dockerfile", p->dir) < 0)
        return bad(e, FIELD("dir"), "out of memory");
      bool ok = jd_path_exists(df);
      free(df);
      if (!ok)
        return bad(e, FIELD("dir"), "no run.Dockerfile in %s", p->dir);
    }
  }
#undef FIELD
  return 0;
}

static void program_free(jd_match_program *p) {
  free(p->id);
  free(p->dir);
  free(p->git_url);
  free(p->git_ref);
  free(p->tar_url);
  free(p->image);
  if (p->cmd)
    for (char **c = p->cmd; *c; c++)
      free(*c);
  free(p->cmd);
}

void jd_match_spec_free(jd_match_spec *s) {
  if (!s)
    return;
  free(s->id);
  program_free(&s->game_logic);
  for (size_t i = 0; i < s->nplayers; i++)
    program_free(&s->players[i]);
  free(s->players);
  free(s->config_json);
  free(s->limits.game_logic.user);
  free(s->limits.player.user);
  free(s);
}

int jd_match_spec_parse(jd_match_spec **out, const char *json, const char *base_dir, char *err,
                        size_t errlen) {
  static const char *const keys[] = {"id", "game_logic", "players", "config", "limits", NULL};
  perr e = {err, errlen};
  json_object *root = NULL, *v;
  jd_match_spec *s = NULL;
  *out = NULL;
  if (errlen)
    err[0] = '\0';
  if (!json) {
    bad(&e, "spec", "missing");
    goto fail;
  }
  json_tokener *tok = json_tokener_new();
  if (!tok) {
    bad(&e, "spec", "out of memory");
    goto fail;
  }
  root = json_tokener_parse_ex(tok, json, (int)strlen(json));
  enum json_tokener_error jerr = json_tokener_get_error(tok);
  json_tokener_free(tok);
  if (!root || jerr != json_tokener_success) {
    bad(&e, "spec", "not valid JSON (%s)", json_tokener_error_desc(jerr));
    goto fail;
  }
  if (!json_object_is_type(root, json_type_object)) {
    bad(&e, "spec", "must be a JSON object");
    goto fail;
  }
  if (check_keys(&e, "", root, keys))
    goto fail;
  s = calloc(1, sizeof *s);
  if (!s) {
    bad(&e, "spec", "out of memory");
    goto fail;
  }
  jd_match_limits_default(&s->limits);
  if (!json_object_object_get_ex(root, "id", &v)) {
    bad(&e, "id", "missing");
    goto fail;
  }
  if (get_string(&e, "id", v, &s->id))
    goto fail;
  if (!jd_is_safe_name(s->id, JD_MATCH_ID_MAX)) {
    bad(&e, "id", "must be lowercase [a-z0-9][a-z0-9_.-]*, at most %d chars", JD_MATCH_ID_MAX);
    goto fail;
  }
  if (!json_object_object_get_ex(root, "game_logic", &v)) {
    bad(&e, "game_logic", "missing");
    goto fail;
  }
  if (parse_program(&e, "game_logic", v, base_dir, &s->game_logic))
    goto fail;
  if (!json_object_object_get_ex(root, "players", &v)) {
    bad(&e, "players", "missing");
    goto fail;
  }
  if (!json_object_is_type(v, json_type_array)) {
    bad(&e, "players", "must be an array of program references");
    goto fail;
  }
  size_t n = json_object_array_length(v);
  if (n < 1 || n > JD_MATCH_MAX_AIS) {
    bad(&e, "players", "%zu players: between 1 and %d allowed", n, JD_MATCH_MAX_AIS);
    goto fail;
  }
  s->players = calloc(n, sizeof *s->players);
  if (!s->players) {
    bad(&e, "players", "out of memory");
    goto fail;
  }
  s->nplayers = n;
  for (size_t i = 0; i < n; i++) {
    char where[32];
    snprintf(where, sizeof where, "players[%zu]", i);
    if (parse_program(&e, where, json_object_array_get_idx(v, i), base_dir, &s->players[i]))
      goto fail;
  }
  if (json_object_object_get_ex(root, "config", &v))
    s->config_json = strdup(json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
  else
    s->config_json = strdup("null");
  if (!s->config_json) {
    bad(&e, "config", "out of memory");
    goto fail;
  }
  if (json_object_object_get_ex(root, "limits", &v) && parse_limits(&e, v, &s->limits))
    goto fail;
  /* The default user is set last so "user": "" (image's user) survives. */
  if (!s->limits.game_logic.user && !(s->limits.game_logic.user = strdup(DEFAULT_USER)))
    goto fail;
  if (!s->limits.player.user && !(s->limits.player.user = strdup(DEFAULT_USER)))
    goto fail;
  json_object_put(root);
  *out = s;
  return 0;
fail:
  if (errlen && !err[0])
    bad(&e, "spec", "out of memory");
  json_object_put(root);
  jd_match_spec_free(s);
  return -1;
}

char *jd_match_game_json(const jd_match_spec *s, const char *const *tokens) {
  json_object *o = json_object_new_object();
  json_object *players = json_object_new_array();
  char *text = NULL;
  if (!o || !players)
    goto done;
  json_object_object_add(o, "match_id", json_object_new_string(s->id));
  json_object *config = json_tokener_parse(s->config_json);
  json_object_object_add(o, "config", config); /* "null" parses to NULL: JSON null */
  for (size_t i = 0; i < s->nplayers; i++) {
    json_object *p = json_object_new_object();
    json_object_object_add(p, "ai", json_object_new_int((int)i));
    json_object_object_add(p, "id", json_object_new_string(s->players[i].id));
    json_object_object_add(p, "token", json_object_new_string(tokens[i]));
    json_object_array_add(players, p);
  }
  json_object_object_add(o, "players", players);
  players = NULL;
  json_object_object_add(
      o, "player_tokens_doc",
      json_object_new_string("Every instance of AI i has players[i].token in its environment "
                             "(JUDGER_TOKEN); a player that presents another token is an "
                             "impostor. Tokens are HMAC-SHA256(per-match key, "
                             "\"<match_id>:<ai>\")."));
  text = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY));
done:
  json_object_put(players);
  json_object_put(o);
  return text;
}
