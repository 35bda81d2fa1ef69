/* judger taskset: generate a round robin, drive Swiss rounds, cancel a
 * taskset, print its standings (docs/tasksets.md). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "cli/taskset_cli.h"
#include "common/clock.h"
#include "common/utf8.h"
#include "queue/task.h"
#include "taskset/rounds.h"
#include "taskset/standings.h"
#include "taskset/taskset.h"
#include "taskset/taskset_rank.h"

static void usage(FILE *f) {
  fprintf(f, "usage: judger taskset round-robin --game GAME.json --players A B ... [--seats N]\n"
             "                      [--rounds N] [--seeds 1,2,3] [--seed-key KEY] [--no-swap]\n"
             "                      [--id ID] [--priority P] [--max-games N]\n"
             "                      [--submit [--wait SECONDS]]\n"
             "       judger taskset swiss --game GAME.json --players A B ... --rounds N\n"
             "                      [--id ID] [--priority P] [--seed S] [--seed-key KEY]\n"
             "                      [--round-timeout SECONDS] [--json]\n"
             "       judger taskset cancel ID [--reason TEXT]\n"
             "       judger taskset standings ID [--json]\n"
             "       (each with [--redis URL] [--prefix P] [--config FILE])\n\n"
             "round-robin prints the taskset JSON of every group of N programs (default\n"
             "2), in every seat order unless --no-swap, --rounds times; --submit submits\n"
             "it (as judger submit --taskset). GAME.json is a match spec without players;\n"
             "each player a program JSON file or a directory (id: its name).\n"
             "swiss submits round k as taskset ID-r<k>, waits for it, pairs round k+1 by\n"
             "the points of all rounds so far (no rematch when avoidable) and prints\n"
             "the standings over every round; run again with the same --id, it resumes\n"
             "(rounds already submitted are followed, not paired again).\n"
             "cancel removes the members not started, asks the running ones to stop.\n"
             "standings prints a taskset's standings (computed from its results when\n"
             "none are stored; stored once the set finished).\n"
             "Exit: 0 ok, 1 a round was cancelled, 2 usage or no such taskset,\n"
             "3 Redis unreachable or a wait timed out.\n");
}

/* --seeds 1,2,3 */
static int parse_seeds(jd_ts_gen_args *a, const char *text) {
  const char *p = text;
  a->nseeds = 0;
  while (*p) {
    char *end = NULL;
    errno = 0;
    long long v = strtoll(p, &end, 10);
    if (end == p || errno || (*end && *end != ',') || a->nseeds == JD_TS_SEEDS_MAX) {
      fprintf(stderr, "judger taskset: --seeds: at most %d whole numbers, comma-separated: '%s'\n",
              JD_TS_SEEDS_MAX, text);
      return -1;
    }
    a->seeds[a->nseeds++] = v;
    p = *end ? end + 1 : end;
  }
  return a->nseeds ? 0 : -1;
}

/* The options round-robin and swiss take with a value (beside --players):
 * 0 (*known false when opt is none of them), or -1 (reason printed). */
static int gen_value(jd_ts_gen_args *a, const char *opt, const char *v, bool *known) {
  long long n = 0;
  *known = true;
  if (!strcmp(opt, "--game")) {
    a->game = v;
  } else if (!strcmp(opt, "--id")) {
    a->id = v;
  } else if (!strcmp(opt, "--priority")) {
    a->prio_name = v;
  } else if (!strcmp(opt, "--seed-key")) {
    a->seed_key = v;
  } else if (!strcmp(opt, "--seeds")) {
    return parse_seeds(a, v);
  } else if (!strcmp(opt, "--seats")) {
    return jd_cli_count(&a->seats, "taskset", opt, v, JD_ROUND_MAX_SEATS);
  } else if (!strcmp(opt, "--rounds")) {
    return jd_cli_count(&a->rounds, "taskset", opt, v, 1000);
  } else if (!strcmp(opt, "--max-games")) {
    return jd_cli_count(&a->max_games, "taskset", opt, v, JD_TASKSET_MAX_MEMBERS_DEFAULT);
  } else if (!strcmp(opt, "--wait")) {
    return jd_cli_seconds(&a->wait_s, "taskset", opt, v, 7 * 86400);
  } else if (!strcmp(opt, "--round-timeout")) {
    return jd_cli_seconds(&a->round_timeout_s, "taskset", opt, v, 7 * 86400);
  } else if (!strcmp(opt, "--seed")) {
    if (jd_cli_count(&n, "taskset", opt, v, INT32_MAX))
      return -1;
    a->seed = n;
  } else {
    *known = false;
  }
  return 0;
}

/* round-robin and swiss: argv[0] is the subcommand. 0, or -1 with *code. */
static int parse_gen(jd_ts_gen_args *a, jd_cli *cli, int argc, char **argv, int *code) {
  *code = JD_EXIT_USAGE;
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i];
    bool taken = false, known = false;
    if (jd_cli_take_option(&taken, code, cli, &i))
      return -1;
    if (taken)
      continue;
    if (!strcmp(arg, "--players")) {
      a->players = argv + i + 1;
      for (a->nplayers = 0; i + 1 < argc && strncmp(argv[i + 1], "--", 2); i++)
        a->nplayers++;
    } else if (!strcmp(arg, "--no-swap")) {
      a->swap = false;
    } else if (!strcmp(arg, "--submit")) {
      a->submit = true;
    } else if (!strcmp(arg, "--json")) {
      a->json = true;
    } else if (i + 1 < argc && !strncmp(arg, "--", 2)) {
      if (gen_value(a, arg, argv[i + 1], &known))
        return -1;
      if (!known)
        return jd_cli_bad_option("taskset", arg, usage), -1;
      i++;
    } else {
      return jd_cli_bad_argument("taskset", arg, usage), -1;
    }
  }
  if (!a->game || a->nplayers < 1) {
    fprintf(stderr, "judger taskset %s: --game and --players are required\n", argv[0]);
    return -1;
  }
  return 0;
}

/* The default id: "<kind>-<UTC time>". */
static void default_id(char *out, size_t len, const char *kind) {
  time_t now = time(NULL);
  struct tm tm;
  gmtime_r(&now, &tm);
  char when[32];
  strftime(when, sizeof when, "%Y%m%d-%H%M%S", &tm);
  snprintf(out, len, "%s-%s", kind, when);
}

/* The taskset JSON of a's round robin; 0 and *out, or -1 (reason printed). */
static int gen_round_robin(char **out, const jd_ts_gen_args *a, const char *id, jd_priority prio) {
  char err[1024];
  json_object *game = NULL, **players = NULL;
  jd_pairing *games = NULL;
  size_t ngames = 0;
  int rc = -1;
  *out = NULL;
  if (jd_cli_game_load(&game, a->game, err, sizeof err) ||
      jd_cli_players_load(&players, a->players, a->nplayers, err, sizeof err)) {
    fprintf(stderr, "judger taskset: %s\n", err);
    goto cleanup;
  }
  if (jd_round_robin(&games, &ngames, a->nplayers, (size_t)a->seats, (int)a->rounds, a->swap,
                     a->seeds, a->nseeds, (size_t)a->max_games)) {
    fprintf(stderr,
            "judger taskset: no round robin of %zu players in %lld seats, %lld rounds, at most "
            "%lld games\n",
            a->nplayers, a->seats, a->rounds, a->max_games);
    goto cleanup;
  }
  if (jd_taskset_gen(out, id, prio, game, players, a->nplayers, games, ngames,
                     *a->seed_key ? a->seed_key : NULL, err, sizeof err)) {
    fprintf(stderr, "judger taskset: %s\n", err);
    goto cleanup;
  }
  rc = 0;
cleanup:
  free(games);
  jd_cli_players_free(players, a->nplayers);
  json_object_put(game);
  return rc;
}

static int open_queue(jd_queue **q, const jd_config *cfg) {
  jd_queue_opts qo = jd_cli_queue_opts(cfg);
  if (!jd_queue_new(q, &qo))
    return 0;
  fprintf(stderr, "judger taskset: bad Redis URL (" JD_REDIS_URL_FORMS ")\n");
  return -1;
}

/* Submits json; with a wait, follows it. The exit code. */
static int submit_generated(const jd_config *cfg, const jd_ts_gen_args *a, const char *json) {
  jd_queue *q = NULL;
  jd_taskset *ts = NULL;
  if (open_queue(&q, cfg))
    return JD_EXIT_USAGE;
  int code = jd_cli_taskset_submit(&ts, q, "taskset", json, NULL);
  if (!code) {
    FILE *ids = a->wait_s >= 0 ? stderr : stdout;
    fprintf(ids, "%s %zu tasks %s\n", ts->id, ts->n, jd_priority_name(ts->prio));
    fflush(ids);
  }
  if (!code && a->wait_s >= 0) {
    int64_t deadline = jd_unix_ms() + (int64_t)(a->wait_s * 1000);
    jd_taskset_view v;
    bool found = false, ended = false;
    if (jd_taskset_watch(&v, &found, &ended, q, ts->id, deadline, stderr) || !ended) {
      fprintf(stderr, "judger taskset: %s: %s\n", ts->id,
              !found  ? "gone from Redis"
              : ended ? jd_queue_error(q)
                      : "did not end in time");
      code = JD_EXIT_SYSTEM;
    } else {
      code = jd_cli_taskset_final(q, "taskset", &v, deadline);
    }
  }
  jd_taskset_free(ts);
  jd_queue_free(q);
  return code;
}

static int cmd_round_robin(const jd_config *cfg, const jd_ts_gen_args *a) {
  char idbuf[64], *json = NULL;
  const char *id = a->id;
  jd_priority prio = JD_PRIO_MATCH;
  if (!id) {
    default_id(idbuf, sizeof idbuf, "rr");
    id = idbuf;
  }
  if (!jd_task_id_valid(id) || (a->prio_name && jd_priority_parse(&prio, a->prio_name))) {
    fprintf(stderr, "judger taskset: bad --id or --priority (build, match or auto)\n");
    return JD_EXIT_USAGE;
  }
  if (gen_round_robin(&json, a, id, prio))
    return JD_EXIT_USAGE;
  int code = JD_EXIT_OK;
  if (a->submit)
    code = submit_generated(cfg, a, json);
  else
    printf("%s\n", json);
  free(json);
  if (!code && fflush(stdout))
    code = JD_EXIT_SYSTEM;
  return code;
}

/* cancel ID [--reason TEXT]: argv[0] "cancel". */
static int cmd_cancel(const jd_config *cfg, const char *id, const char *reason) {
  jd_queue *q = NULL;
  int64_t removed = 0, signalled = 0;
  bool found = false;
  if (!jd_task_id_valid(id) || (reason && strlen(reason) > 200)) {
    fprintf(stderr, "judger taskset cancel: a taskset id and a reason of at most 200 bytes\n");
    return JD_EXIT_USAGE;
  }
  if (open_queue(&q, cfg))
    return JD_EXIT_USAGE;
  int code = JD_EXIT_SYSTEM;
  if (jd_queue_taskset_cancel(&removed, &signalled, &found, q, id, reason ? reason : "")) {
    fprintf(stderr, "judger taskset cancel: %s\n", jd_queue_error(q));
  } else if (!found) {
    fprintf(stderr, "judger taskset cancel: no taskset '%s'\n", id);
    code = JD_EXIT_USAGE;
  } else {
    printf("%s cancelled: %" PRId64 " queued removed, %" PRId64 " running signalled\n", id, removed,
           signalled);
    code = fflush(stdout) ? JD_EXIT_SYSTEM : JD_EXIT_OK;
  }
  jd_queue_free(q);
  return code;
}

/* Prints the standings of v (stored, else computed; stored when v finished
 * and had none). The exit code. */
static int print_standings(jd_queue *q, const jd_taskset_view *v, bool json) {
  char *stored = NULL, *text = NULL;
  jd_standings *s = NULL;
  size_t skipped = 0;
  int code = JD_EXIT_SYSTEM;
  if (jd_queue_taskset_get_standings(&stored, q, v->id))
    goto redis;
  if (json && stored) {
    printf("%s\n", stored);
    code = JD_EXIT_OK;
    goto cleanup;
  }
  char err[512];
  if (jd_taskset_standings(&s, &skipped, q, v->id, err, sizeof err)) {
    fprintf(stderr, "judger taskset standings: %s\n", err);
    goto cleanup;
  }
  if (json ? jd_standings_json(&text, s) : jd_standings_text(&text, s))
    goto cleanup;
  if (skipped)
    fprintf(stderr, "judger taskset standings: %zu results of %s were not result.json\n", skipped,
            v->id);
  if (strcmp(v->state, "finished"))
    jd_term_printf(stderr, "judger taskset standings: %s is %s: these are not stored\n", v->id,
                   v->state);
  else if (!stored &&
           (jd_standings_json(&stored, s) || jd_queue_taskset_put_standings(q, v->id, stored) ||
            jd_queue_taskset_ranked(q, v->id)))
    goto redis;
  fputs(text, stdout);
  if (json)
    fputc('\n', stdout);
  code = JD_EXIT_OK;
  goto cleanup;
redis:
  fprintf(stderr, "judger taskset standings: %s\n", jd_queue_error(q));
cleanup:
  free(stored);
  free(text);
  jd_standings_free(s);
  return code;
}

static int cmd_standings(const jd_config *cfg, const char *id, bool json) {
  jd_queue *q = NULL;
  jd_taskset_view v;
  bool found = false;
  if (!jd_task_id_valid(id)) {
    fprintf(stderr, "judger taskset standings: bad taskset id '%s'\n", id);
    return JD_EXIT_USAGE;
  }
  if (open_queue(&q, cfg))
    return JD_EXIT_USAGE;
  int code = JD_EXIT_SYSTEM;
  if (jd_queue_taskset_view(&v, &found, q, id)) {
    fprintf(stderr, "judger taskset standings: %s\n", jd_queue_error(q));
  } else if (!found) {
    fprintf(stderr, "judger taskset standings: no taskset '%s'\n", id);
    code = JD_EXIT_USAGE;
  } else {
    code = print_standings(q, &v, json);
    if (!code && fflush(stdout))
      code = JD_EXIT_SYSTEM;
  }
  jd_queue_free(q);
  return code;
}

typedef struct id_args {
  const char *id, *reason;
  bool json;
} id_args;

/* cancel and standings: argv[0] is the subcommand. 0, or -1 with *code. */
static int parse_id(id_args *a, jd_cli *cli, int argc, char **argv, int *code) {
  *code = JD_EXIT_USAGE;
  bool cancel = !strcmp(argv[0], "cancel");
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i];
    bool taken = false;
    if (jd_cli_take_option(&taken, code, cli, &i))
      return -1;
    if (taken)
      continue;
    if (cancel && !strcmp(arg, "--reason") && i + 1 < argc)
      a->reason = argv[++i];
    else if (!cancel && !strcmp(arg, "--json"))
      a->json = true;
    else if (arg[0] == '-')
      return jd_cli_bad_option("taskset", arg, usage), -1;
    else if (!a->id)
      a->id = arg;
    else
      return jd_cli_bad_argument("taskset", arg, usage), -1;
  }
  if (!a->id) {
    fprintf(stderr, "judger taskset %s: which taskset?\n", argv[0]);
    return -1;
  }
  return 0;
}

/* argv[0] is the subcommand; the exit code. */
static int run_sub(jd_cli *cli, jd_config *cfg, int argc, char **argv) {
  char err[512];
  int code = JD_EXIT_USAGE;
  bool gen = !strcmp(argv[0], "round-robin") || !strcmp(argv[0], "swiss");
  jd_ts_gen_args g = {.seed_key = "seed",
                      .seats = 2,
                      .rounds = 0,
                      .swap = true,
                      .max_games = JD_TASKSET_MAX_MEMBERS_DEFAULT,
                      .wait_s = -1,
                      .round_timeout_s = 86400};
  id_args ia = {0};
  if (!gen && strcmp(argv[0], "cancel") && strcmp(argv[0], "standings"))
    return jd_cli_bad_argument("taskset", argv[0], usage);
  if (gen ? parse_gen(&g, cli, argc, argv, &code) : parse_id(&ia, cli, argc, argv, &code))
    return code;
  if (jd_cli_load(cfg, cli, err, sizeof err)) {
    fprintf(stderr, "judger taskset: %s\n", err);
    return JD_EXIT_USAGE;
  }
  if (!strcmp(argv[0], "round-robin")) {
    g.rounds = g.rounds ? g.rounds : 1;
    return cmd_round_robin(cfg, &g);
  }
  if (!strcmp(argv[0], "swiss")) {
    if (g.rounds < 1) {
      fprintf(stderr, "judger taskset swiss: --rounds N (1 or more) is required\n");
      return JD_EXIT_USAGE;
    }
    return jd_cli_swiss(cfg, &g);
  }
  if (!strcmp(argv[0], "cancel"))
    return cmd_cancel(cfg, ia.id, ia.reason);
  return cmd_standings(cfg, ia.id, ia.json);
}

int jd_cmd_taskset(int argc, char **argv) {
  if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
    usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? JD_EXIT_USAGE : JD_EXIT_OK;
  }
  jd_cli cli = JD_CLI_INIT("taskset", JD_CMD_SUBMIT | JD_CMD_STATUS, usage);
  jd_config cfg = {0};
  if (jd_cli_begin(&cli, argc - 1, argv + 1))
    return JD_EXIT_SYSTEM;
  int code = run_sub(&cli, &cfg, argc - 1, argv + 1);
  jd_config_clear(&cfg);
  jd_cli_free(&cli);
  return code;
}
