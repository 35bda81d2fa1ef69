/* judger taskset swiss: Swiss rounds driven against Redis (docs/tasksets.md
 * "Generating rounds"). Round k is submitted as taskset <id>-r<k> and
 * waited for; round k+1 is paired by the points of every round so far (a
 * bye counts a win, for pairing only), never a rematch when one can be
 * avoided (the games played, whatever their result, are the "met"
 * matrix, with the games of every stored result); the end prints the
 * standings over every round's results. Run again with the same --id, it
 * resumes: a round whose taskset exists is followed, not paired again
 * (its met pairs and bye read back from its results). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "cli/taskset_cli.h"
#include "common/clock.h"
#include "common/error.h"
#include "common/json_text.h"
#include "common/utf8.h"
#include "queue/task.h"
#include "taskset/rounds.h"
#include "taskset/standings.h"

typedef struct swiss {
  const jd_ts_gen_args *a;
  char id[JD_TASK_ID_MAX + 1];
  jd_priority prio;
  json_object *game, **players;
  size_t n;
  jd_queue *q;
  jd_standings *all; /* every round's results so far */
  bool *met;         /* n x n: played each other */
  double *points, *byes;
} swiss;

static const char *player_id(const swiss *s, size_t i) {
  json_object *v = NULL;
  json_object_object_get_ex(s->players[i], "id", &v);
  return json_object_get_string(v);
}

/* s->points: each player's points in every round so far, and its byes. */
static int fill_points(swiss *s) {
  size_t seen = jd_standings_count(s->all);
  double *by_sight = calloc(seen ? seen : 1, sizeof *by_sight);
  if (!by_sight)
    return -1;
  jd_standings_points(s->all, by_sight);
  for (size_t i = 0; i < s->n; i++) {
    size_t k = jd_standings_index(s->all, player_id(s, i));
    s->points[i] = (k < seen ? by_sight[k] : 0) + s->byes[i];
  }
  free(by_sight);
  return 0;
}

/* Pairs round k and returns its taskset JSON (NULL: the reason printed). */
static char *pair_round(swiss *s, int k, const char *round_id) {
  jd_pairing *games = NULL;
  size_t ngames = 0, bye = SIZE_MAX;
  char err[1024], *json = NULL;
  if (fill_points(s) ||
      jd_swiss_round(&games, &ngames, &bye, s->n, s->points, s->met, k, s->a->seed + k)) {
    fprintf(stderr, "judger taskset swiss: round %d: no pairing\n", k);
    return NULL;
  }
  for (size_t g = 0; g < ngames; g++) {
    size_t i = games[g].seat[0], j = games[g].seat[1];
    s->met[i * s->n + j] = s->met[j * s->n + i] = true;
  }
  if (bye < s->n) {
    s->byes[bye] += 1;
    fprintf(stderr, "judger taskset swiss: round %d: %s has a bye\n", k, player_id(s, bye));
  }
  const char *key = *s->a->seed_key ? s->a->seed_key : NULL;
  if (jd_taskset_gen(&json, round_id, s->prio, s->game, s->players, s->n, games, ngames, key, err,
                     sizeof err)) {
    fprintf(stderr, "judger taskset swiss: round %d: %s\n", k, err);
    json = NULL;
  }
  free(games);
  return json;
}

/* Reading a round's results: each counted in the standings, the players
 * of each game marked met and played. */
typedef struct round_read {
  swiss *s;
  bool *played;
  size_t skipped;
} round_read;

static size_t index_of(const swiss *s, const char *id) {
  for (size_t i = 0; id && i < s->n; i++)
    if (!strcmp(player_id(s, i), id))
      return i;
  return SIZE_MAX;
}

/* The seats of a result (programs of this tournament only) marked. */
static void mark_game(round_read *r, const char *json) {
  json_object *o = NULL, *pl = NULL;
  char err[160];
  if (jd_json_parse(&o, json, strlen(json), 64, "result", NULL, err, sizeof err))
    o = NULL; /* not a result: no seats to mark */
  size_t seat[JD_ROUND_MAX_SEATS], n = 0;
  if (o && json_object_object_get_ex(o, "players", &pl) && json_object_is_type(pl, json_type_array))
    for (size_t i = 0; i < json_object_array_length(pl) && n < JD_ROUND_MAX_SEATS; i++) {
      json_object *id = NULL;
      json_object_object_get_ex(json_object_array_get_idx(pl, i), "id", &id);
      size_t k = json_object_is_type(id, json_type_string)
                     ? index_of(r->s, json_object_get_string(id))
                     : SIZE_MAX;
      if (k < r->s->n)
        seat[n++] = k;
    }
  for (size_t i = 0; i < n; i++) {
    r->played[seat[i]] = true;
    for (size_t j = 0; j < n; j++)
      r->s->met[seat[i] * r->s->n + seat[j]] |= i != j;
  }
  json_object_put(o);
}

static int read_result(void *ud, const char *task_id, const char *json) {
  round_read *r = ud;
  char err[256];
  (void)task_id;
  if (!json)
    return 0;
  if (jd_standings_add_result(r->s->all, json, err, sizeof err))
    r->skipped++;
  else
    mark_game(r, json);
  return 0;
}

/* Adds round_id's results; for a resumed round (paired by an earlier run)
 * the one player without a game, with an odd count, had its bye. */
static int read_round(swiss *s, const char *round_id, bool resumed) {
  round_read r = {.s = s, .played = calloc(s->n, sizeof(bool))};
  if (!r.played || jd_queue_taskset_each_result(s->q, round_id, read_result, &r)) {
    fprintf(stderr, "judger taskset swiss: %s: %s\n", round_id,
            r.played ? jd_queue_error(s->q) : "out of memory");
    free(r.played);
    return JD_EXIT_SYSTEM;
  }
  size_t idle = 0, last = SIZE_MAX;
  for (size_t i = 0; i < s->n; i++)
    if (!r.played[i]) {
      idle++;
      last = i;
    }
  if (resumed && s->n % 2 && idle == 1)
    s->byes[last] += 1;
  if (r.skipped)
    fprintf(stderr, "judger taskset swiss: %s: %zu results were not result.json\n", round_id,
            r.skipped);
  free(r.played);
  return JD_EXIT_OK;
}

/* Pairs and submits round k, or finds it submitted by an earlier run of
 * the same command (*resumed: followed, not paired again). */
static int start_round(swiss *s, int k, const char *round_id, bool *resumed) {
  jd_taskset_view v;
  bool found = false;
  if (jd_queue_taskset_view(&v, &found, s->q, round_id)) {
    fprintf(stderr, "judger taskset swiss: %s\n", jd_queue_error(s->q));
    return JD_EXIT_SYSTEM;
  }
  *resumed = found;
  if (found) {
    fprintf(stderr, "judger taskset swiss: round %d: taskset %s exists: resumed\n", k, round_id);
    return JD_EXIT_OK;
  }
  char *json = pair_round(s, k, round_id);
  if (!json)
    return JD_EXIT_USAGE;
  int code = jd_cli_taskset_submit(NULL, s->q, "taskset swiss", json, NULL);
  free(json);
  return code;
}

/* Round k from its start to its results. The exit code. */
static int play_round(swiss *s, int k) {
  char round_id[JD_TASK_ID_MAX + 16];
  snprintf(round_id, sizeof round_id, "%s-r%d", s->id, k);
  bool resumed = false;
  int code = start_round(s, k, round_id, &resumed);
  if (code)
    return code;
  fprintf(stderr, "judger taskset swiss: round %d of %lld: taskset %s\n", k, s->a->rounds,
          round_id);
  int64_t deadline = jd_unix_ms() + (int64_t)(s->a->round_timeout_s * 1000);
  jd_taskset_view v;
  bool found = false, ended = false;
  if (jd_taskset_watch(&v, &found, &ended, s->q, round_id, deadline, stderr)) {
    fprintf(stderr, "judger taskset swiss: %s: %s\n", round_id,
            found ? jd_queue_error(s->q) : "gone from Redis");
    return JD_EXIT_SYSTEM;
  }
  if (!ended) {
    fprintf(stderr, "judger taskset swiss: %s did not end within %.0f s\n", round_id,
            s->a->round_timeout_s);
    return JD_EXIT_SYSTEM;
  }
  code = read_round(s, round_id, resumed);
  if (!code && !strcmp(v.state, "cancelled")) {
    jd_term_printf(stderr, "judger taskset swiss: %s was cancelled%s%s: no more rounds\n", round_id,
                   *v.cancel_reason ? ": " : "", v.cancel_reason);
    return JD_EXIT_PROGRAM;
  }
  return code;
}

/* The standings over every round, on stdout. */
static int print_all(swiss *s) {
  char *text = NULL;
  jd_standings_rate(s->all); /* -1: not converged, rows kept at 1500 */
  if (s->a->json ? jd_standings_json(&text, s->all) : jd_standings_text(&text, s->all))
    return JD_EXIT_SYSTEM;
  fputs(text, stdout);
  if (s->a->json)
    fputc('\n', stdout);
  free(text);
  return fflush(stdout) ? JD_EXIT_SYSTEM : JD_EXIT_OK;
}

/* Loads the game and players, opens the queue; the exit code. */
static int swiss_open(swiss *s, const jd_config *cfg) {
  const jd_ts_gen_args *a = s->a;
  char err[1024];
  if (a->id) {
    snprintf(s->id, sizeof s->id, "%s", a->id);
  } else {
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(s->id, sizeof s->id, "swiss-%Y%m%d-%H%M%S", &tm);
  }
  s->prio = JD_PRIO_MATCH;
  if (strlen(s->id) > JD_TASK_ID_MAX - 40 || !jd_task_id_valid(s->id) ||
      (a->prio_name && jd_priority_parse(&s->prio, a->prio_name))) {
    fprintf(stderr, "judger taskset swiss: bad --id (at most %d chars) or --priority\n",
            JD_TASK_ID_MAX - 40);
    return JD_EXIT_USAGE;
  }
  if (jd_cli_game_load(&s->game, a->game, err, sizeof err) ||
      jd_cli_players_load(&s->players, a->players, a->nplayers, err, sizeof err)) {
    fprintf(stderr, "judger taskset swiss: %s\n", err);
    return JD_EXIT_USAGE;
  }
  s->n = a->nplayers;
  if (s->n < 2) {
    fprintf(stderr, "judger taskset swiss: two players or more\n");
    return JD_EXIT_USAGE;
  }
  s->met = calloc(s->n * s->n, sizeof *s->met);
  s->points = calloc(s->n, sizeof *s->points);
  s->byes = calloc(s->n, sizeof *s->byes);
  jd_queue_opts qo = jd_cli_queue_opts(cfg);
  if (!s->met || !s->points || !s->byes || jd_standings_new(&s->all))
    return JD_EXIT_SYSTEM;
  if (jd_queue_new(&s->q, &qo)) {
    fprintf(stderr, "judger taskset swiss: bad Redis URL (" JD_REDIS_URL_FORMS ")\n");
    return JD_EXIT_USAGE;
  }
  return JD_EXIT_OK;
}

int jd_cli_swiss(const jd_config *cfg, const jd_ts_gen_args *a) {
  swiss s = {.a = a};
  int code = swiss_open(&s, cfg);
  for (int k = 1; !code && k <= a->rounds; k++)
    code = play_round(&s, k);
  /* A cancelled round still shows what was played. */
  if (!code || code == JD_EXIT_PROGRAM) {
    int pc = print_all(&s);
    code = code ? code : pc;
  }
  jd_queue_free(s.q);
  jd_standings_free(s.all);
  jd_cli_players_free(s.players, s.n);
  json_object_put(s.game);
  free(s.met);
  free(s.points);
  free(s.byes);
  return code;
}
