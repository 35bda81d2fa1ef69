/* The taskset JSON of generated games (see rounds.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "common/error.h"
#include "queue/task.h"
#include "taskset/rounds.h"

/* A match spec's id: lowercase, at most 64 chars (docs/match-spec.md); the
 * task id lowercased and cut (a match's run key is unique by itself). */
static void match_id(char *out, size_t len, const char *task_id) {
  size_t i = 0;
  for (; task_id[i] && i + 1 < len && i < 64; i++) {
    char c = task_id[i];
    out[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
  }
  out[i] = '\0';
}

/* game's copy with id, players and config.<seed_key> set: NULL with err. */
static json_object *game_spec(const char *task_id, const json_object *game,
                              json_object *const *programs, size_t nprograms, const jd_pairing *p,
                              const char *seed_key, char *err, size_t errlen) {
  json_object *spec = NULL, *players = NULL, *config = NULL;
  if (json_object_deep_copy((json_object *)game, &spec, NULL) || !spec)
    goto oom;
  char mid[72];
  match_id(mid, sizeof mid, task_id);
  if (json_object_object_add(spec, "id", json_object_new_string(mid)) ||
      !(players = json_object_new_array()) || json_object_object_add(spec, "players", players))
    goto oom;
  for (size_t i = 0; i < p->nseats; i++) {
    json_object *copy = NULL;
    if (p->seat[i] >= nprograms) {
      jd_fail(err, errlen, "%s: seat %zu: no program %zu", task_id, i, p->seat[i]);
      goto fail;
    }
    if (json_object_deep_copy(programs[p->seat[i]], &copy, NULL) || !copy)
      goto oom;
    if (json_object_array_add(players, copy)) {
      json_object_put(copy);
      goto oom;
    }
  }
  if (!seed_key)
    return spec;
  if (!json_object_object_get_ex(spec, "config", &config)) {
    if (!(config = json_object_new_object()) || json_object_object_add(spec, "config", config))
      goto oom;
  } else if (!json_object_is_type(config, json_type_object)) {
    jd_fail(err, errlen, "game: config must be an object to hold the seed");
    goto fail;
  }
  if (json_object_object_add(config, seed_key, json_object_new_int64(p->seed)))
    goto oom;
  return spec;
oom:
  jd_fail(err, errlen, "out of memory");
fail:
  json_object_put(spec);
  return NULL;
}

/* One member: the task envelope of game p, its k-th of the round. */
static json_object *member(const char *taskset_id, const json_object *game,
                           json_object *const *programs, size_t nprograms, const jd_pairing *p,
                           size_t k, const char *seed_key, char *err, size_t errlen) {
  char id[JD_TASK_ID_MAX + 64];
  snprintf(id, sizeof id, "%s-r%d-g%zu", taskset_id, p->round, k);
  if (!jd_task_id_valid(id)) {
    jd_fail(err, errlen, "task id %.140s: not a task id (at most %d chars)", id, JD_TASK_ID_MAX);
    return NULL;
  }
  json_object *spec = game_spec(id, game, programs, nprograms, p, seed_key, err, errlen);
  if (!spec)
    return NULL;
  json_object *m = json_object_new_object();
  if (!m || json_object_object_add(m, "id", json_object_new_string(id)) ||
      json_object_object_add(m, "type", json_object_new_string("match")) ||
      json_object_object_add(m, "match", spec)) {
    json_object_put(m);
    json_object_put(spec);
    jd_fail(err, errlen, "out of memory");
    return NULL;
  }
  return m;
}

static int check_args(const char *taskset_id, const json_object *game, json_object *const *programs,
                      size_t nprograms, const jd_pairing *games, size_t ngames, char *err,
                      size_t errlen) {
  if (!taskset_id || !jd_task_id_valid(taskset_id))
    return jd_fail(err, errlen, "taskset id: not a task id");
  if (!game || !json_object_is_type((json_object *)game, json_type_object))
    return jd_fail(err, errlen, "game: must be a JSON object (a match spec without players)");
  for (size_t i = 0; i < nprograms; i++)
    if (!json_object_is_type(programs[i], json_type_object))
      return jd_fail(err, errlen, "programs[%zu]: must be a JSON object", i);
  if (ngames == 0)
    return jd_fail(err, errlen, "no games");
  for (size_t g = 0; g < ngames; g++) {
    if (games[g].nseats < 1 || games[g].nseats > JD_ROUND_MAX_SEATS)
      return jd_fail(err, errlen, "games[%zu]: 1 to %d seats", g, JD_ROUND_MAX_SEATS);
    if (g && games[g].round < games[g - 1].round)
      return jd_fail(err, errlen, "games[%zu]: rounds must not go down", g);
  }
  return 0;
}

int jd_taskset_gen(char **out, const char *taskset_id, jd_priority prio, const json_object *game,
                   json_object *const *programs, size_t nprograms, const jd_pairing *games,
                   size_t ngames, const char *seed_key, char *err, size_t errlen) {
  *out = NULL;
  if (check_args(taskset_id, game, programs, nprograms, games, ngames, err, errlen))
    return -1;
  json_object *root = json_object_new_object(), *tasks = json_object_new_array();
  int rc = -1;
  if (!root || !tasks || json_object_object_add(root, "id", json_object_new_string(taskset_id)) ||
      json_object_object_add(root, "priority", json_object_new_string(jd_priority_name(prio)))) {
    jd_fail(err, errlen, "out of memory");
    goto cleanup;
  }
  for (size_t g = 0, k = 1; g < ngames; g++, k++) {
    if (g && games[g].round != games[g - 1].round)
      k = 1;
    json_object *m =
        member(taskset_id, game, programs, nprograms, &games[g], k, seed_key, err, errlen);
    if (!m)
      goto cleanup;
    if (json_object_array_add(tasks, m)) {
      json_object_put(m);
      jd_fail(err, errlen, "out of memory");
      goto cleanup;
    }
  }
  if (json_object_object_add(root, "tasks", tasks)) {
    jd_fail(err, errlen, "out of memory");
    goto cleanup;
  }
  tasks = NULL; /* root's now */
  const char *text = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN);
  if (!text || !(*out = strdup(text)))
    jd_fail(err, errlen, "out of memory");
  else
    rc = 0;
cleanup:
  json_object_put(tasks);
  json_object_put(root);
  return rc;
}
