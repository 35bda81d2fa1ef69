// test-labels: unit
/* judger/taskset/taskset_gen.c: the taskset JSON of generated games, read
 * back by the taskset file's parser. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <json-c/json.h>

#include "taskset/rounds.h"
#include "taskset/taskset.h"

static const char *game_text =
    "{\"id\":\"template\",\"game_logic\":{\"id\":\"tron\",\"dir\":\"/games/tron\"},"
    "\"config\":{\"rounds\":5,\"seed\":0},\"limits\":{\"deadline_ms\":300000}}";

static json_object *program(const char *id) {
  char text[256];
  snprintf(text, sizeof text, "{\"id\":\"%s\",\"dir\":\"/ais/%s\",\"x\":{\"deep\":[1,2]}}", id, id);
  return json_tokener_parse(text);
}

static json_object *get(json_object *o, const char *key) {
  json_object *v = NULL;
  cr_assert(json_object_object_get_ex(o, key, &v), "no %s", key);
  return v;
}

Test(taskset_gen, a_round_robin_becomes_a_taskset_that_parses_back) {
  json_object *game = json_tokener_parse(game_text);
  json_object *programs[3] = {program("c-bot"), program("py-bot"), program("straight")};
  char *before = strdup(json_object_to_json_string(game));
  jd_pairing *g = NULL;
  size_t ng = 0;
  int64_t seeds[] = {11, 12};
  cr_assert_eq(jd_round_robin(&g, &ng, 3, 2, 2, true, seeds, 2, 0), 0);
  char *out = NULL, err[256];
  cr_assert_eq(
      jd_taskset_gen(&out, "rr", JD_PRIO_MATCH, game, programs, 3, g, ng, "seed", err, sizeof err),
      0, "%s", err);
  cr_assert_str_eq(json_object_to_json_string(game), before, "the template is left alone");
  jd_taskset *ts = NULL;
  cr_assert_eq(jd_taskset_parse(&ts, out, 0, 0, err, sizeof err), 0, "%s", err);
  cr_assert_str_eq(ts->id, "rr");
  cr_assert_eq(ts->prio, JD_PRIO_MATCH);
  cr_assert(ts->standings);
  cr_assert_eq(ts->n, ng);
  for (size_t k = 0; k < ng; k++) {
    char id[64];
    snprintf(id, sizeof id, "rr-r%d-g%zu", g[k].round, k % 6 + 1);
    jd_task *t = ts->members[k].task;
    cr_assert_str_eq(t->id, id);
    cr_assert_eq(t->kind, JD_TASK_MATCH);
    cr_assert_str_eq(ts->members[k].klass, "match-tron-2p");
    json_object *players = get(t->spec, "players");
    cr_assert_eq(json_object_array_length(players), 2);
    for (size_t i = 0; i < 2; i++)
      cr_assert(json_object_equal(json_object_array_get_idx(players, i), programs[g[k].seat[i]]),
                "game %zu seat %zu", k, i);
    json_object *config = get(t->spec, "config");
    cr_assert_eq(json_object_get_int64(get(config, "seed")), g[k].seed);
    cr_assert_eq(json_object_get_int(get(config, "rounds")), 5, "the template's config kept");
    cr_assert_str_eq(json_object_get_string(get(t->spec, "id")), id, "the match id");
    cr_assert_eq(json_object_get_int(get(get(t->spec, "limits"), "deadline_ms")), 300000);
  }
  /* Deep copies: changing a program afterwards changes no member. */
  json_object_object_add(programs[0], "dir", json_object_new_string("/elsewhere"));
  json_object *first = json_object_array_get_idx(get(ts->members[0].task->spec, "players"), 0);
  cr_assert_str_eq(json_object_get_string(get(first, "dir")), "/ais/c-bot");
  jd_taskset_free(ts);
  free(out);
  free(g);
  free(before);
  json_object_put(game);
  for (size_t i = 0; i < 3; i++)
    json_object_put(programs[i]);
}

Test(taskset_gen, a_swiss_round_without_seed_key_and_many_seats) {
  json_object *game = json_tokener_parse("{\"game_logic\":{\"id\":\"G\",\"dir\":\"/g\"}}");
  json_object *programs[5];
  for (size_t i = 0; i < 5; i++) {
    char id[16];
    snprintf(id, sizeof id, "p%zu", i);
    programs[i] = program(id);
  }
  jd_pairing *g = NULL;
  size_t ng = 0;
  cr_assert_eq(jd_round_robin(&g, &ng, 5, 4, 1, false, NULL, 0, 0), 0);
  char *out = NULL, err[256];
  cr_assert_eq(
      jd_taskset_gen(&out, "Cup.4", JD_PRIO_AUTO, game, programs, 5, g, ng, NULL, err, sizeof err),
      0, "%s", err);
  jd_taskset *ts = NULL;
  cr_assert_eq(jd_taskset_parse(&ts, out, 0, 0, err, sizeof err), 0, "%s", err);
  cr_assert_eq(ts->n, 5);
  cr_assert_eq(ts->prio, JD_PRIO_AUTO);
  cr_assert_str_eq(ts->members[4].task->id, "Cup.4-r1-g5");
  cr_assert_str_eq(json_object_get_string(get(ts->members[4].task->spec, "id")), "cup.4-r1-g5",
                   "a match id is lowercase");
  cr_assert(!json_object_object_get_ex(ts->members[0].task->spec, "config", NULL));
  cr_assert_str_eq(ts->members[0].klass, "match-G-4p");
  jd_taskset_free(ts);
  free(out);
  free(g);
  /* A Swiss round: its games, rounds numbered by the caller. */
  double points[5] = {2, 1, 1, 0, 0};
  size_t bye = 0;
  cr_assert_eq(jd_swiss_round(&g, &ng, &bye, 5, points, NULL, 3, 7), 0);
  cr_assert_eq(
      jd_taskset_gen(&out, "sw-r3", JD_PRIO_MATCH, game, programs, 5, g, ng, "s", err, sizeof err),
      0, "%s", err);
  cr_assert_eq(jd_taskset_parse(&ts, out, 0, 0, err, sizeof err), 0, "%s", err);
  cr_assert_eq(ts->n, 2);
  cr_assert_str_eq(ts->members[1].task->id, "sw-r3-r3-g2");
  cr_assert_eq(json_object_get_int(get(get(ts->members[1].task->spec, "config"), "s")), 7);
  jd_taskset_free(ts);
  free(out);
  free(g);
  json_object_put(game);
  for (size_t i = 0; i < 5; i++)
    json_object_put(programs[i]);
}

Test(taskset_gen, bad_inputs_are_refused) {
  json_object *game = json_tokener_parse(game_text);
  json_object *programs[2] = {program("a"), program("b")};
  jd_pairing g[2] = {{.nseats = 2, .seat = {0, 1}, .round = 2, .seed = 1},
                     {.nseats = 2, .seat = {1, 0}, .round = 1, .seed = 1}};
  char *out = NULL, err[256];
  cr_assert_eq(
      jd_taskset_gen(&out, "s", JD_PRIO_AUTO, game, programs, 2, g, 2, "seed", err, sizeof err),
      -1);
  cr_assert(strstr(err, "games[1]: rounds must not go down"), "%s", err);
  g[1].round = 2;
  g[1].seat[1] = 2;
  cr_assert_eq(
      jd_taskset_gen(&out, "s", JD_PRIO_AUTO, game, programs, 2, g, 2, "seed", err, sizeof err),
      -1);
  cr_assert(strstr(err, "s-r2-g2: seat 1: no program 2"), "%s", err);
  cr_assert_eq(
      jd_taskset_gen(&out, "s", JD_PRIO_AUTO, game, programs, 2, g, 0, "seed", err, sizeof err),
      -1);
  cr_assert(strstr(err, "no games"), "%s", err);
  cr_assert_eq(
      jd_taskset_gen(&out, "a b", JD_PRIO_AUTO, game, programs, 2, g, 1, "seed", err, sizeof err),
      -1);
  cr_assert(strstr(err, "taskset id"), "%s", err);
  char long_id[JD_TASK_ID_MAX + 1];
  memset(long_id, 'x', JD_TASK_ID_MAX);
  long_id[JD_TASK_ID_MAX] = '\0';
  cr_assert_eq(
      jd_taskset_gen(&out, long_id, JD_PRIO_AUTO, game, programs, 2, g, 1, "seed", err, sizeof err),
      -1);
  cr_assert(strstr(err, "not a task id"), "%s", err);
  json_object *bad = json_tokener_parse("{\"config\":[1]}");
  cr_assert_eq(
      jd_taskset_gen(&out, "s", JD_PRIO_AUTO, bad, programs, 2, g, 1, "seed", err, sizeof err), -1);
  cr_assert(strstr(err, "config must be an object"), "%s", err);
  cr_assert_eq(
      jd_taskset_gen(&out, "s", JD_PRIO_AUTO, bad, programs, 2, g, 1, NULL, err, sizeof err), 0,
      "no seed to put: the config is left as it is");
  free(out);
  json_object_put(bad);
  bad = json_tokener_parse("[1]");
  cr_assert_eq(
      jd_taskset_gen(&out, "s", JD_PRIO_AUTO, bad, programs, 2, g, 1, "seed", err, sizeof err), -1);
  cr_assert(strstr(err, "game: must be a JSON object"), "%s", err);
  json_object_put(bad);
  cr_assert_null(out);
  json_object_put(game);
  json_object_put(programs[0]);
  json_object_put(programs[1]);
}
