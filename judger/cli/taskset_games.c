/* A game template and its players from the command line (cli/taskset_cli.h). */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "build/program.h"
#include "cli/taskset_cli.h"
#include "common/json_text.h"
#include "common/util.h"

#define JSON_DEPTH 64

int jd_cli_read_input(char **out, const char *path, size_t max) {
  if (strcmp(path, "-"))
    return jd_read_file(out, NULL, path, max);
  size_t cap = 65536, n = 0;
  char *buf = malloc(cap + 1);
  if (!buf)
    return -1;
  for (;;) {
    if (n == cap) {
      char *p = cap >= max ? NULL : realloc(buf, cap * 2 + 1);
      if (!p) {
        free(buf);
        errno = cap >= max ? EFBIG : ENOMEM;
        return -1;
      }
      buf = p;
      cap *= 2;
    }
    ssize_t r = read(0, buf + n, cap - n);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0) {
      free(buf);
      return -1;
    }
    if (r == 0)
      break;
    n += (size_t)r;
  }
  buf[n] = '\0';
  *out = buf;
  return 0;
}

/* A JSON object read from path (bounded in bytes and depth). */
static int read_object(json_object **out, const char *path, char *err, size_t errlen) {
  char *text = NULL;
  *out = NULL;
  if (jd_read_file(&text, NULL, path, JD_CLI_SPEC_MAX_BYTES)) {
    snprintf(err, errlen, "%s: %s", path, strerror(errno));
    return -1;
  }
  json_object *o = NULL;
  int rc = jd_json_parse(&o, text, strlen(text), JSON_DEPTH, path, NULL, err, errlen);
  free(text);
  if (rc)
    return -1;
  if (!json_object_is_type(o, json_type_object)) {
    snprintf(err, errlen, "%s: not a JSON object", path);
    json_object_put(o);
    return -1;
  }
  *out = o;
  return 0;
}

/* Makes a relative string "dir" of prog absolute against file's directory. */
static int absolute_dir(json_object *prog, const char *file, char *err, size_t errlen) {
  json_object *dir = NULL;
  if (!json_object_object_get_ex(prog, "dir", &dir) || !json_object_is_type(dir, json_type_string))
    return 0;
  const char *d = json_object_get_string(dir);
  if (d[0] == '/')
    return 0;
  char base[PATH_MAX], joined[PATH_MAX * 2];
  if (!realpath(file, base)) {
    snprintf(err, errlen, "%s: %s", file, strerror(errno));
    return -1;
  }
  char *slash = strrchr(base, '/');
  *slash = '\0';
  int n = snprintf(joined, sizeof joined, "%s/%s", base, d);
  if (n < 0 || (size_t)n >= PATH_MAX) {
    snprintf(err, errlen, "%s: dir: path too long", file);
    return -1;
  }
  return json_object_object_add(prog, "dir", json_object_new_string(joined)) ? -1 : 0;
}

int jd_cli_game_load(json_object **out, const char *path, char *err, size_t errlen) {
  json_object *game = NULL, *gl = NULL;
  *out = NULL;
  if (read_object(&game, path, err, errlen))
    return -1;
  if (json_object_object_get_ex(game, "players", NULL)) {
    snprintf(err, errlen, "%s: has \"players\": a game template leaves them to --players", path);
    goto fail;
  }
  if (!json_object_object_get_ex(game, "game_logic", &gl) ||
      !json_object_is_type(gl, json_type_object)) {
    snprintf(err, errlen, "%s: game_logic: a program object is required", path);
    goto fail;
  }
  if (absolute_dir(gl, path, err, errlen))
    goto fail;
  *out = game;
  return 0;
fail:
  json_object_put(game);
  return -1;
}

/* A directory's name as a program id: lowercase letters and digits, other
 * runs made one '-', at most 48 chars (room for a "-N" suffix). */
static void id_of_dir(char *out, size_t len, const char *path) {
  char copy[PATH_MAX];
  snprintf(copy, sizeof copy, "%s", path);
  size_t l = strlen(copy);
  while (l > 1 && copy[l - 1] == '/')
    copy[--l] = '\0';
  const char *name = strrchr(copy, '/') ? strrchr(copy, '/') + 1 : copy;
  size_t n = 0;
  for (const char *c = name; *c && n + 1 < len && n < 48; c++) {
    char lc = (char)tolower((unsigned char)*c);
    if (isalnum((unsigned char)lc) && !(lc & 0x80))
      out[n++] = lc;
    else if (n && out[n - 1] != '-')
      out[n++] = '-';
  }
  while (n && out[n - 1] == '-')
    n--;
  if (!n)
    out[n++] = 'p';
  out[n] = '\0';
}

static bool id_taken(json_object **players, size_t n, const char *id) {
  for (size_t i = 0; i < n; i++) {
    json_object *v = NULL;
    if (json_object_object_get_ex(players[i], "id", &v) && !strcmp(json_object_get_string(v), id))
      return true;
  }
  return false;
}

/* The program of a directory, its id unique among the n before it. */
static int dir_program(json_object **out, json_object **before, size_t n, const char *path,
                       char *err, size_t errlen) {
  char real[PATH_MAX], base[64], id[80];
  if (!realpath(path, real)) {
    snprintf(err, errlen, "%s: %s", path, strerror(errno));
    return -1;
  }
  id_of_dir(base, sizeof base, real);
  snprintf(id, sizeof id, "%s", base);
  for (size_t k = 2; id_taken(before, n, id); k++)
    snprintf(id, sizeof id, "%s-%zu", base, k);
  json_object *o = json_object_new_object();
  if (!o || json_object_object_add(o, "id", json_object_new_string(id)) ||
      json_object_object_add(o, "dir", json_object_new_string(real))) {
    json_object_put(o);
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  *out = o;
  return 0;
}

/* The program of a JSON file: its id checked and not taken. */
static int file_program(json_object **out, json_object **before, size_t n, const char *path,
                        char *err, size_t errlen) {
  json_object *o = NULL, *id = NULL;
  if (read_object(&o, path, err, errlen))
    return -1;
  char why[256];
  if (!json_object_object_get_ex(o, "id", &id) || !json_object_is_type(id, json_type_string)) {
    snprintf(err, errlen, "%s: id: a string is required", path);
  } else if (jd_program_id_check(json_object_get_string(id), why, sizeof why)) {
    snprintf(err, errlen, "%s: id: %s", path, why);
  } else if (id_taken(before, n, json_object_get_string(id))) {
    snprintf(err, errlen, "%s: id: \"%s\" names another player too", path,
             json_object_get_string(id));
  } else if (!absolute_dir(o, path, err, errlen)) {
    *out = o;
    return 0;
  }
  json_object_put(o);
  return -1;
}

int jd_cli_players_load(json_object ***out, char *const *paths, size_t n, char *err,
                        size_t errlen) {
  *out = NULL;
  if (n > JD_CLI_PLAYERS_MAX) {
    snprintf(err, errlen, "at most %d players", JD_CLI_PLAYERS_MAX);
    return -1;
  }
  json_object **players = calloc(n ? n : 1, sizeof *players);
  if (!players) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  for (size_t i = 0; i < n; i++) {
    struct stat st;
    bool is_dir = !stat(paths[i], &st) && S_ISDIR(st.st_mode);
    int rc = is_dir ? dir_program(&players[i], players, i, paths[i], err, errlen)
                    : file_program(&players[i], players, i, paths[i], err, errlen);
    if (rc) {
      jd_cli_players_free(players, i);
      return -1;
    }
  }
  *out = players;
  return 0;
}

void jd_cli_players_free(json_object **players, size_t n) {
  if (!players)
    return;
  for (size_t i = 0; i < n; i++)
    json_object_put(players[i]);
  free(players);
}
