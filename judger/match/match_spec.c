/* Match spec: parsing and validation (see match_spec.h, docs/match-spec.md).
 * The limits section is in match_spec_limits.c, typed fields in
 * match_spec_fields.c.
 *
 * Validation is strict and happens before anything is created: unknown
 * keys, wrong types, negative or absurd limits, too many players, a missing
 * run.Dockerfile are refused, and the message names the field. */
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "build/program.h"
#include "common/util.h"
#include "match/match_spec_internal.h"

#define DEFAULT_USER "65534:65534"

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

/* p->cmd from a non-empty array of strings. */
static int parse_cmd(jd_spec_err *e, const char *field, json_object *v, jd_match_program *p) {
  if (!json_object_is_type(v, json_type_array) || json_object_array_length(v) == 0 ||
      json_object_array_length(v) > 256)
    return jd_spec_bad(e, field, "must be a non-empty array of strings");
  size_t n = json_object_array_length(v);
  p->cmd = calloc(n + 1, sizeof *p->cmd);
  if (!p->cmd)
    return jd_spec_bad(e, field, "out of memory");
  for (size_t i = 0; i < n; i++) {
    json_object *s = json_object_array_get_idx(v, i);
    if (!json_object_is_type(s, json_type_string))
      return jd_spec_bad(e, field, "must be a non-empty array of strings");
    p->cmd[i] = strdup(json_object_get_string(s));
    if (!p->cmd[i])
      return jd_spec_bad(e, field, "out of memory");
  }
  return 0;
}

/* Makes p->dir absolute and checks it is a directory with a run.Dockerfile
 * (unless the program runs a given image). */
static int check_dir(jd_spec_err *e, const char *field, const char *base_dir, jd_match_program *p) {
  char *abs = resolve_dir(base_dir, p->dir);
  if (!abs)
    return jd_spec_bad(e, field, "cannot resolve the path");
  free(p->dir);
  p->dir = abs;
  struct stat st;
  if (stat(p->dir, &st) || !S_ISDIR(st.st_mode))
    return jd_spec_bad(e, field, "%s is not a directory", p->dir);
  if (p->image)
    return 0;
  char *df = NULL;
  if (asprintf(&df, "%s/run.Dockerfile", p->dir) < 0)
    return jd_spec_bad(e, field, "out of memory");
  bool ok = jd_path_exists(df);
  free(df);
  return ok ? 0 : jd_spec_bad(e, field, "no run.Dockerfile in %s", p->dir);
}

/* The optional string fields of a program reference. */
static int parse_program_strings(jd_spec_err *e, const char *where, json_object *o,
                                 jd_match_program *p) {
  static const struct {
    const char *key;
    size_t offset;
  } fields[] = {{"dir", offsetof(jd_match_program, dir)},
                {"git", offsetof(jd_match_program, git_url)},
                {"ref", offsetof(jd_match_program, git_ref)},
                {"tar_url", offsetof(jd_match_program, tar_url)},
                {"image", offsetof(jd_match_program, image)}};
  for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
    json_object *v;
    char f[128];
    snprintf(f, sizeof f, "%s.%s", where, fields[i].key);
    if (json_object_object_get_ex(o, fields[i].key, &v) &&
        jd_spec_get_string(e, f, v, (char **)((char *)p + fields[i].offset)))
      return -1;
  }
  return 0;
}

/* A program reference; a player's may also hold "limits" (read later, by
 * player_limits(), over the match-wide ones). */
static int parse_program(jd_spec_err *e, const char *where, json_object *o, const char *base_dir,
                         jd_match_program *p) {
  static const char *const keys[] = {"id", "dir", "git", "ref", "tar_url", "image", "cmd", NULL};
  static const char *const player_keys[] = {"id",    "dir", "git",    "ref", "tar_url",
                                            "image", "cmd", "limits", NULL};
  char f[128];
  json_object *v;
#define FIELD(name) (snprintf(f, sizeof f, "%s.%s", where, name), f)
  if (!json_object_is_type(o, json_type_object))
    return jd_spec_bad(e, where, "must be an object (a program reference)");
  if (jd_spec_check_keys(e, where, o, strncmp(where, "players[", 8) ? keys : player_keys))
    return -1;
  if (!json_object_object_get_ex(o, "id", &v))
    return jd_spec_bad(e, FIELD("id"), "missing");
  if (jd_spec_get_string(e, FIELD("id"), v, &p->id))
    return -1;
  if (!jd_is_safe_name(p->id, 64))
    return jd_spec_bad(e, FIELD("id"), "must be lowercase [a-z0-9][a-z0-9_.-]*, at most 64 chars");
  char why[200];
  /* A program that is built also names images: Docker's stricter grammar
   * ("a..b" is a safe name but no repository) is checked now, not at build. */
  if (!json_object_object_get_ex(o, "image", NULL) && jd_program_id_check(p->id, why, sizeof why))
    return jd_spec_bad(e, FIELD("id"), "%s", why);
  if (parse_program_strings(e, where, o, p))
    return -1;
  if (json_object_object_get_ex(o, "cmd", &v) && parse_cmd(e, FIELD("cmd"), v, p))
    return -1;
  int sources = !!p->dir + !!p->git_url + !!p->tar_url;
  if (p->image) {
    if (!*p->image)
      return jd_spec_bad(e, FIELD("image"), "must not be empty");
    if (p->git_url || p->tar_url)
      return jd_spec_bad(e, FIELD("image"), "with an image, only \"dir\" may give the code");
  } else if (sources != 1) {
    return jd_spec_bad(e, where, "give exactly one source: \"dir\", \"git\" or \"tar_url\"");
  }
  if (p->git_ref && !p->git_url)
    return jd_spec_bad(e, FIELD("ref"), "only with \"git\"");
  if (p->dir && check_dir(e, FIELD("dir"), base_dir, p))
    return -1;
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
  for (size_t i = 0; s->player_limits && i < s->nplayers; i++)
    free(s->player_limits[i].user);
  free(s->player_limits);
  jd_match_inputs_free(s);
  free(s);
}

const jd_role_limits *jd_match_player_limits(const jd_match_spec *s, int ai) {
  return s->player_limits && ai >= 0 && (size_t)ai < s->nplayers ? &s->player_limits[ai]
                                                                 : &s->limits.player;
}

/* The spec's text as a JSON object; NULL with e set. */
static json_object *parse_root(jd_spec_err *e, const char *json) {
  if (!json) {
    jd_spec_bad(e, "spec", "missing");
    return NULL;
  }
  json_tokener *tok = json_tokener_new();
  if (!tok) {
    jd_spec_bad(e, "spec", "out of memory");
    return NULL;
  }
  json_object *root = json_tokener_parse_ex(tok, json, (int)strlen(json));
  enum json_tokener_error jerr = json_tokener_get_error(tok);
  json_tokener_free(tok);
  if (!root || jerr != json_tokener_success) {
    jd_spec_bad(e, "spec", "not valid JSON (%s)", json_tokener_error_desc(jerr));
    json_object_put(root);
    return NULL;
  }
  if (!json_object_is_type(root, json_type_object)) {
    jd_spec_bad(e, "spec", "must be a JSON object");
    json_object_put(root);
    return NULL;
  }
  return root;
}

/* *out = root[key]; -1 with "key: missing" when it is not there. */
static int required(jd_spec_err *e, json_object *root, const char *key, json_object **out) {
  return json_object_object_get_ex(root, key, out) ? 0 : jd_spec_bad(e, key, "missing");
}

/* *user = the default user unless the spec gave one ("" included). */
static int default_user(char **user) {
  if (!*user)
    *user = strdup(DEFAULT_USER);
  return *user ? 0 : -1;
}

static int parse_players(jd_spec_err *e, json_object *v, const char *base_dir, jd_match_spec *s) {
  if (!json_object_is_type(v, json_type_array))
    return jd_spec_bad(e, "players", "must be an array of program references");
  size_t n = json_object_array_length(v);
  if (n < 1 || n > JD_MATCH_MAX_AIS)
    return jd_spec_bad(e, "players", "%zu players: between 1 and %d allowed", n, JD_MATCH_MAX_AIS);
  s->players = calloc(n, sizeof *s->players);
  if (!s->players)
    return jd_spec_bad(e, "players", "out of memory");
  s->nplayers = n;
  for (size_t i = 0; i < n; i++) {
    char where[32];
    snprintf(where, sizeof where, "players[%zu]", i);
    if (parse_program(e, where, json_object_array_get_idx(v, i), base_dir, &s->players[i]))
      return -1;
  }
  return 0;
}

static const char *const isolation_names[] = {
#define JD_ISOLATION_NAME(code, name) name,
    JD_ISOLATION_MAP(JD_ISOLATION_NAME)
#undef JD_ISOLATION_NAME
};

const char *jd_isolation_name(jd_isolation i) {
  return (unsigned)i < JD_ISOLATION_COUNT ? isolation_names[i] : "?";
}

static int parse_isolation(jd_spec_err *e, json_object *v, jd_isolation *out) {
  if (json_object_is_type(v, json_type_string))
    for (int i = 0; i < JD_ISOLATION_COUNT; i++)
      if (!strcmp(json_object_get_string(v), isolation_names[i])) {
        *out = (jd_isolation)i;
        return 0;
      }
  return jd_spec_bad(e, "isolation", "must be \"player\" or \"match\"");
}

/* Each AI's limits: the match-wide player limits (final, user defaulted),
 * with players[i].limits over them, validated as limits.players is. */
static int player_limits(jd_spec_err *e, json_object *players, jd_match_spec *s) {
  s->player_limits = calloc(s->nplayers, sizeof *s->player_limits);
  if (!s->player_limits)
    return jd_spec_bad(e, "players", "out of memory");
  for (size_t i = 0; i < s->nplayers; i++) {
    jd_role_limits *r = &s->player_limits[i];
    *r = s->limits.player;
    r->user = strdup(s->limits.player.user);
    if (!r->user)
      return jd_spec_bad(e, "players", "out of memory");
    json_object *v;
    char where[48];
    snprintf(where, sizeof where, "players[%zu].limits", i);
    if (json_object_object_get_ex(json_object_array_get_idx(players, i), "limits", &v) &&
        jd_match_role_limits_parse(e, where, v, r))
      return -1;
  }
  return 0;
}

/* Every field of root into s (defaults already in). */
static int parse_fields(jd_spec_err *e, json_object *root, const char *base_dir, jd_match_spec *s) {
  json_object *v;
  if (required(e, root, "id", &v) || jd_spec_get_string(e, "id", v, &s->id))
    return -1;
  if (!jd_is_safe_name(s->id, JD_MATCH_ID_MAX))
    return jd_spec_bad(e, "id", "must be lowercase [a-z0-9][a-z0-9_.-]*, at most %d chars",
                       JD_MATCH_ID_MAX);
  if (required(e, root, "game_logic", &v) ||
      parse_program(e, "game_logic", v, base_dir, &s->game_logic))
    return -1;
  if (required(e, root, "players", &v) || parse_players(e, v, base_dir, s))
    return -1;
  if (json_object_object_get_ex(root, "config", &v))
    s->config_json = strdup(json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
  else
    s->config_json = strdup("null");
  if (!s->config_json)
    return jd_spec_bad(e, "config", "out of memory");
  if (json_object_object_get_ex(root, "limits", &v) && jd_match_limits_parse(e, v, &s->limits))
    return -1;
  if (json_object_object_get_ex(root, "isolation", &v) && parse_isolation(e, v, &s->isolation))
    return -1;
  if (json_object_object_get_ex(root, "inputs", &v) && jd_match_inputs_parse(e, v, s))
    return -1;
  /* The default user is set last so "user": "" (image's user) survives. */
  if (default_user(&s->limits.game_logic.user) || default_user(&s->limits.player.user))
    return jd_spec_bad(e, "limits", "out of memory");
  return required(e, root, "players", &v) || player_limits(e, v, s);
}

int jd_match_spec_parse(jd_match_spec **out, const char *json, const char *base_dir, char *err,
                        size_t errlen) {
  jd_spec_err e = {err, errlen};
  *out = NULL;
  if (errlen)
    err[0] = '\0';
  json_object *root = parse_root(&e, json);
  if (!root)
    return -1;
  int rc = jd_match_spec_from_object(out, root, base_dir, err, errlen);
  json_object_put(root);
  return rc;
}

int jd_match_spec_from_object(jd_match_spec **out, json_object *root, const char *base_dir,
                              char *err, size_t errlen) {
  static const char *const keys[] = {"id",     "game_logic", "players", "config",
                                     "limits", "isolation",  "inputs",  NULL};
  jd_spec_err e = {err, errlen};
  jd_match_spec *s = NULL;
  *out = NULL;
  if (errlen)
    err[0] = '\0';
  if (!json_object_is_type(root, json_type_object)) {
    jd_spec_bad(&e, "spec", "must be a JSON object");
    return -1;
  }
  if (jd_spec_check_keys(&e, "", root, keys))
    goto fail;
  s = calloc(1, sizeof *s);
  if (!s) {
    jd_spec_bad(&e, "spec", "out of memory");
    goto fail;
  }
  jd_match_limits_default(&s->limits);
  if (parse_fields(&e, root, base_dir, s))
    goto fail;
  *out = s;
  return 0;
fail:
  if (errlen && !err[0])
    jd_spec_bad(&e, "spec", "out of memory");
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
  if (s->ninputs) { /* the files at /inputs/<name> (docs/match-spec.md "Inputs") */
    json_object *in = json_object_new_array();
    for (size_t i = 0; in && i < s->ninputs; i++)
      json_object_array_add(in, json_object_new_string(s->inputs[i].name));
    json_object_object_add(o, "inputs", in);
  }
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
