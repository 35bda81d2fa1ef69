/* judger league — programs play each other on this host, then the standings.
 *
 *   judger league --game DIR|SPEC.json --players A B C... [--rounds N]
 *                 [--seats K] [--parallel K] [--json] [--out DIR]
 *                 [--seeds LIST] [--seed-key KEY] [--state-dir DIR]...
 *
 * No Redis: the games of a round robin (taskset/rounds.h) run on the local
 * engine as `judger run` runs a match (taskset/league.h), K at a time, then
 * the standings table and win matrix (taskset/standings.h) go to stdout.
 * Every game keeps its results in a directory of its own under --out.
 *
 * Exit codes: 0 every game ran (whatever the programs did), 3 some game
 * did not (a system fault: engine, disk) or the league was interrupted,
 * 2 usage (bad options, a player or game that cannot be read, a spec the
 * policy refuses). */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "build/dockerfile.h"
#include "build/program.h"
#include "cli/commands.h"
#include "cli/options.h"
#include "common/clock.h"
#include "common/fs.h"
#include "common/tmpfile.h"
#include "common/utf8.h"
#include "common/util.h"
#include "match/match.h"
#include "match/match_policy.h"
#include "match/net_pool.h"
#include "taskset/league.h"
#include "taskset/rounds.h"
#include "taskset/standings.h"

#define LEAGUE_MAX_GAMES 10000
#define LEAGUE_MAX_PLAYERS 256
#define LEAGUE_MAX_SEEDS 1000
#define LEAGUE_FILE_MAX (4u << 20)
/* Some game did not run (a system fault), or the league was interrupted:
 * the exit code every command gives a system fault or an interruption. */
#define LEAGUE_EXIT_INCOMPLETE JD_EXIT_SYSTEM

static void usage(FILE *f) {
  fprintf(f,
          "usage: judger league --game DIR|SPEC.json --players A B C... [options]\n"
          "\n"
          "Plays every group of --seats programs against each other on this host's engine\n"
          "(every seat order, --rounds times), each game as `judger run` runs a match, then\n"
          "prints the standings (wins, draws, losses, Bradley-Terry ratings on the Elo scale)\n"
          "and the win matrix. No Redis needed.\n"
          "\n"
          "  --game DIR|SPEC.json  a game logic's directory, or a match spec (its players, if\n"
          "                        any, are replaced; config and limits are kept)\n"
          "  --players A B C...    program directories (id: the directory's name, made\n"
          "                        unique) or program JSON files ({\"id\", \"dir\"|\"git\"...})\n"
          "  --rounds N            every game N times (default 1)\n"
          "  --seats K             programs a game (default 2)\n"
          "  --parallel K          games at once (default 1, at most the host's CPUs)\n"
          "  --seeds LIST          seeds, comma-separated: every game of round r gets the r-th\n"
          "                        (cycling; as many --rounds as seeds plays them all)\n"
          "  --seed-key KEY        the config key the seed goes in (default seed when --seeds\n"
          "                        is given; with a key and no --seeds the seed is the round)\n"
          "  --out DIR             one directory a game (result.json, logs), standings.json\n"
          "                        (default: a new temporary directory, printed)\n"
          "  --json                the standings as JSON on stdout\n"
          "  -q, --quiet           no progress on stderr\n"
          "  --state-dir DIR, --host-id ID, --net-pool CIDR...: as `judger run`\n"
          "\n");
  jd_cli_usage_settings(f, JD_CMD_RUN);
  fprintf(f, "\nexit codes: 0 every game ran (whatever the programs did), 3 a game failed for a\n"
             "system reason or the league was interrupted, 2 usage\n");
}

typedef struct league_opts {
  jd_cli cli;
  const char *game, *out_dir, *seed_key;
  char **players;
  size_t nplayers;
  long long rounds, seats, parallel;
  int64_t seeds[LEAGUE_MAX_SEEDS];
  size_t nseeds;
  bool json, quiet;
} league_opts;

/* ---- options -------------------------------------------------------- */

/* "--name VALUE" or "--name=VALUE" at argv[*i]: the value (then *i at the
 * last argument taken), or NULL when a is not --name. *missing: it is,
 * without a value. */
static const char *opt_value(int argc, char **argv, int *i, const char *name, bool *missing) {
  const char *a = argv[*i];
  size_t n = strlen(name);
  if (strncmp(a, name, n) || (a[n] && a[n] != '='))
    return NULL;
  if (a[n] == '=')
    return a + n + 1;
  if (*i + 1 >= argc) {
    *missing = true;
    return NULL;
  }
  return argv[++*i];
}

static int parse_seeds(league_opts *o, const char *list) {
  const char *p = list;
  while (*p) {
    char *end = NULL;
    errno = 0;
    long long v = strtoll(p, &end, 10);
    if (end == p || errno || (*end && *end != ',') || o->nseeds == LEAGUE_MAX_SEEDS) {
      fprintf(stderr, "judger league: --seeds: at most %d integers, comma-separated, not '%s'\n",
              LEAGUE_MAX_SEEDS, list);
      return -1;
    }
    o->seeds[o->nseeds++] = v;
    p = *end ? end + 1 : end;
  }
  if (o->nseeds)
    return 0;
  fprintf(stderr, "judger league: --seeds: give at least one seed\n");
  return -1;
}

/* One of the command's own options at argv[*i] into o (*taken), or not
 * one of them (*taken false). -1 on a bad value (said on stderr). */
static int take_own(bool *taken, league_opts *o, int argc, char **argv, int *i) {
  static const char *const counts[] = {"--rounds", "--seats", "--parallel"};
  static const char *const names[] = {"--game", "--out", "--seed-key"};
  long long *dst[] = {&o->rounds, &o->seats, &o->parallel};
  const char **strs[] = {&o->game, &o->out_dir, &o->seed_key};
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  long long max[] = {1000, JD_ROUND_MAX_SEATS, cpus > 0 ? cpus : 1};
  bool missing = false;
  const char *v;
  *taken = true;
  for (size_t k = 0; k < 3; k++) {
    if (!(v = opt_value(argc, argv, i, counts[k], &missing)))
      continue;
    if (jd_cli_count(dst[k], "league", counts[k], v, max[k]))
      return -1;
    if (*dst[k] >= 1)
      return 0;
    fprintf(stderr, "judger league: %s: from 1 to %lld, not 0\n", counts[k], max[k]);
    return -1;
  }
  for (size_t k = 0; k < 3; k++)
    if ((v = opt_value(argc, argv, i, names[k], &missing))) {
      *strs[k] = v;
      return 0;
    }
  if ((v = opt_value(argc, argv, i, "--seeds", &missing)))
    return parse_seeds(o, v);
  if (missing) {
    fprintf(stderr, "judger league: %s needs a value\n", argv[*i]);
    return -1;
  }
  if (!strcmp(argv[*i], "--json"))
    o->json = true;
  else if (!strcmp(argv[*i], "--quiet") || !strcmp(argv[*i], "-q"))
    o->quiet = true;
  else if (!strcmp(argv[*i], "--players"))
    while (*i + 1 < argc && argv[*i + 1][0] != '-' && o->nplayers < LEAGUE_MAX_PLAYERS)
      o->players[o->nplayers++] = argv[++*i];
  else
    *taken = false;
  return 0;
}

/* Fills o from argv. -1 to go on, else the exit code to return now. */
static int parse_args(league_opts *o, int argc, char **argv) {
  o->players = calloc((size_t)argc + 1, sizeof *o->players);
  if (!o->players)
    return JD_EXIT_SYSTEM;
  for (int i = 1; i < argc; i++) {
    bool taken = false;
    int code = JD_EXIT_USAGE;
    if (jd_cli_take_option(&taken, &code, &o->cli, &i))
      return code;
    if (taken)
      continue;
    if (take_own(&taken, o, argc, argv, &i))
      return JD_EXIT_USAGE;
    if (!taken)
      return argv[i][0] == '-' ? jd_cli_bad_option("league", argv[i], usage)
                               : jd_cli_bad_argument("league", argv[i], usage);
  }
  const char *why = !o->game                            ? "--game is required"
                    : o->nplayers < 2                   ? "--players: give at least two programs"
                    : o->nplayers >= LEAGUE_MAX_PLAYERS ? "--players: too many programs"
                    : (size_t)o->seats > o->nplayers    ? "--seats: more seats than players"
                                                        : NULL;
  if (why) {
    fprintf(stderr, "judger league: %s\n", why);
    usage(stderr);
    return JD_EXIT_USAGE;
  }
  if (o->nseeds && !o->seed_key)
    o->seed_key = "seed";
  return -1;
}

/* ---- the game and the players --------------------------------------- */

/* A program id from a directory's name: lowercase, other characters '-',
 * at most 64; "player-<n>" when nothing valid is left. */
static void id_of_name(char *out, size_t len, const char *name, size_t n) {
  size_t k = 0;
  for (const char *p = name; *p && k + 1 < len && k < 64; p++) {
    char c = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (k && strchr("_.-", c));
    if (ok || k)
      out[k++] = ok ? c : '-';
  }
  while (k && strchr("_.-", out[k - 1]))
    k--;
  out[k] = 0;
  char err[128];
  if (!k || jd_program_id_check(out, err, sizeof err))
    snprintf(out, len, "player-%zu", n + 1);
}

/* A program object's id made unique among the first n programs: "-2",
 * "-3"... appended (the id cut to fit 64). */
static void unique_id(json_object **progs, size_t n, json_object *prog) {
  const char *id = json_object_get_string(json_object_object_get(prog, "id"));
  char base[65], cand[80];
  snprintf(base, sizeof base, "%s", id ? id : "player");
  snprintf(cand, sizeof cand, "%s", base);
  for (int suffix = 2;; suffix++) {
    size_t k = 0;
    while (k < n && strcmp(cand, json_object_get_string(json_object_object_get(progs[k], "id"))))
      k++;
    if (k == n)
      break;
    char tail[16];
    int tl = snprintf(tail, sizeof tail, "-%d", suffix);
    snprintf(cand, sizeof cand, "%.*s%s", 64 - tl, base, tail);
  }
  if (strcmp(cand, base))
    jd_term_printf(stderr, "judger league: a second program '%s': this one is '%s'\n", base, cand);
  json_object_object_add(prog, "id", json_object_new_string(cand));
}

/* path made absolute as `judger run` takes a spec's dirs: joined to the
 * working directory, links not resolved (the host's program roots are
 * checked on what the user wrote). -1 when it does not fit. */
static int absolute(char out[PATH_MAX], const char *path) {
  char cwd[PATH_MAX];
  if (path[0] == '/')
    return snprintf(out, PATH_MAX, "%s", path) < PATH_MAX ? 0 : -1;
  if (!getcwd(cwd, sizeof cwd))
    return -1;
  return snprintf(out, PATH_MAX, "%s/%s", cwd, path) < PATH_MAX ? 0 : -1;
}

/* The object of a JSON file (at most LEAGUE_FILE_MAX bytes); its folder
 * (absolute) in dir. NULL after saying why. */
static json_object *read_object(const char *path, char dir[PATH_MAX]) {
  char *text = NULL, abs[PATH_MAX];
  size_t len = 0;
  if (absolute(abs, path) || jd_read_file(&text, &len, abs, LEAGUE_FILE_MAX)) {
    jd_term_printf(stderr, "judger league: cannot read %s: %s\n", path, strerror(errno));
    return NULL;
  }
  json_object *o = json_tokener_parse(text);
  free(text);
  if (!json_object_is_type(o, json_type_object)) {
    jd_term_printf(stderr, "judger league: %s: not a JSON object\n", path);
    json_object_put(o);
    return NULL;
  }
  snprintf(dir, PATH_MAX, "%s", dirname(abs));
  return o;
}

/* A relative "dir" of a program object made absolute from base. */
static int absolute_dir(json_object *prog, const char *base) {
  json_object *d = NULL;
  if (!json_object_object_get_ex(prog, "dir", &d) || !json_object_is_type(d, json_type_string))
    return 0;
  const char *s = json_object_get_string(d);
  if (s[0] == '/')
    return 0;
  char *abs = NULL;
  if (asprintf(&abs, "%s/%s", base, s) < 0)
    return -1;
  json_object_object_add(prog, "dir", json_object_new_string(abs));
  free(abs);
  return 0;
}

/* A directory as a program object {"id": its name, "dir": its path}. */
static json_object *dir_program(const char *path, size_t n) {
  char abs[PATH_MAX], real[PATH_MAX], id[80];
  /* The name from the resolved path ("." has one), the dir as written. */
  if (absolute(abs, path) || !realpath(path, real))
    return NULL;
  id_of_name(id, sizeof id, basename(real), n);
  json_object *o = json_object_new_object();
  json_object_object_add(o, "id", json_object_new_string(id));
  json_object_object_add(o, "dir", json_object_new_string(abs));
  return o;
}

/* The program objects of --players (unique ids, absolute dirs). */
static int load_players(json_object **progs, const league_opts *o) {
  for (size_t i = 0; i < o->nplayers; i++) {
    struct stat st;
    char dir[PATH_MAX];
    const char *path = o->players[i];
    if (stat(path, &st)) {
      jd_term_printf(stderr, "judger league: --players: %s: %s\n", path, strerror(errno));
      return -1;
    }
    progs[i] = S_ISDIR(st.st_mode) ? dir_program(path, i) : read_object(path, dir);
    if (!progs[i])
      return -1;
    json_object *id = json_object_object_get(progs[i], "id");
    if (!json_object_is_type(id, json_type_string) ||
        (!S_ISDIR(st.st_mode) && absolute_dir(progs[i], dir))) {
      jd_term_printf(stderr, "judger league: --players: %s: no string \"id\"\n", path);
      return -1;
    }
    unique_id(progs, i, progs[i]);
  }
  return 0;
}

/* The spec template: a game logic's directory as {"game_logic": {"id",
 * "dir"}}, or a spec file without its players. base: where its relative
 * dirs start. NULL after saying why. */
static json_object *load_game(const char *path, char base[PATH_MAX]) {
  struct stat st;
  if (stat(path, &st)) {
    jd_term_printf(stderr, "judger league: --game: %s: %s\n", path, strerror(errno));
    return NULL;
  }
  if (!S_ISDIR(st.st_mode)) {
    json_object *spec = read_object(path, base);
    if (spec && json_object_object_get_ex(spec, "players", NULL)) {
      json_object_object_del(spec, "players");
      jd_term_printf(stderr, "judger league: %s: its players are replaced by --players\n", path);
    }
    return spec;
  }
  json_object *gl = dir_program(path, 0), *spec = json_object_new_object();
  if (!gl || !spec) {
    json_object_put(gl);
    json_object_put(spec);
    return NULL;
  }
  json_object_object_add(spec, "game_logic", gl);
  snprintf(base, PATH_MAX, "/");
  return spec;
}

/* ---- the games ------------------------------------------------------ */

typedef struct league_plan {
  json_object *template, *progs[LEAGUE_MAX_PLAYERS];
  char base[PATH_MAX];
  char out[PATH_MAX];
  jd_pairing *pairs;
  jd_league_game *games;
  size_t ngames;
} league_plan;

/* The JSON of game k (pairing p): the template, its id, its players in
 * seat order, its seed. NULL on a config that cannot take the seed. */
static json_object *game_object(const league_plan *pl, const league_opts *o, const jd_pairing *p,
                                const char *name) {
  json_object *spec = NULL, *players = json_object_new_array(), *cfg = NULL;
  json_object_deep_copy(pl->template, &spec, NULL);
  const char *prefix = json_object_get_string(json_object_object_get(spec, "id"));
  char id[JD_MATCH_ID_MAX + 1];
  int room = JD_MATCH_ID_MAX - (int)strlen(name) - 1;
  snprintf(id, sizeof id, "%.*s-%s", room,
           prefix && jd_is_safe_name(prefix, 64) ? prefix : "league", name);
  json_object_object_add(spec, "id", json_object_new_string(id));
  for (size_t s = 0; s < p->nseats; s++) {
    json_object *copy = NULL;
    json_object_deep_copy(pl->progs[p->seat[s]], &copy, NULL);
    json_object_array_add(players, copy);
  }
  json_object_object_add(spec, "players", players);
  if (!o->seed_key)
    return spec;
  if (!json_object_object_get_ex(spec, "config", &cfg) || json_object_is_type(cfg, json_type_null))
    json_object_object_add(spec, "config", cfg = json_object_new_object());
  if (!json_object_is_type(cfg, json_type_object)) {
    fprintf(stderr, "judger league: --seed-key: the game's config is not an object\n");
    json_object_put(spec);
    return NULL;
  }
  json_object_object_add(cfg, o->seed_key, json_object_new_int64(p->seed));
  return spec;
}

/* Game k parsed and checked against the host's policy, with its out dir
 * (which must not exist yet). */
static int make_game(league_plan *pl, const league_opts *o, const jd_ctx *ctx, size_t k) {
  const jd_pairing *p = &pl->pairs[k];
  jd_league_game *g = &pl->games[k];
  /* Listed round by round, as many games in each. */
  size_t per_round = pl->ngames / (size_t)o->rounds, in_round = k % per_round, width = 1;
  for (size_t t = per_round; t >= 10; t /= 10)
    width++;
  char name[48], why[768];
  snprintf(name, sizeof name, "r%d-g%0*zu", p->round, (int)width, in_round + 1);
  json_object *spec = game_object(pl, o, p, name);
  if (!spec || asprintf(&g->out_dir, "%s/%s", pl->out, name) < 0 || !(g->name = strdup(name)))
    return json_object_put(spec), -1;
  int rc = jd_match_spec_from_object(&g->spec, spec, pl->base, why, sizeof why);
  json_object_put(spec);
  if (!rc)
    rc = jd_match_spec_check_policy(g->spec, &ctx->policy, ctx->state_dir, jd_base_images(ctx), why,
                                    sizeof why);
  if (!rc)
    rc = jd_match_inputs_local(g->spec, why, sizeof why);
  if (rc) {
    jd_term_printf(stderr, "judger league: game %s: %s\n", name, why);
    return -1;
  }
  if (jd_path_exists(g->out_dir)) {
    jd_term_printf(stderr, "judger league: --out: %s exists (give a new or empty directory)\n",
                   g->out_dir);
    return -1;
  }
  return 0;
}

/* The settings into the context, as `judger run` takes them. */
static int load_settings(jd_config *settings, jd_ctx *ctx, const league_opts *o) {
  char err[512];
  if (jd_cli_load(settings, &o->cli, err, sizeof err)) {
    fprintf(stderr, "judger league: settings: %s\n", err);
    return -1;
  }
  jd_settings_ctx(ctx, settings, true);
  jd_net_pool pool;
  if (jd_net_pool_parse(&pool, settings->net_pool, err, sizeof err)) {
    fprintf(stderr, "judger league: --net-pool: %s\n", err);
    return -1;
  }
  return 0;
}

/* --out, made (0755), or a new temporary directory; absolute in pl->out. */
static int make_out(league_plan *pl, const league_opts *o) {
  if (o->out_dir) {
    if (jd_mkdir_p(o->out_dir, 0755) || !realpath(o->out_dir, pl->out)) {
      jd_term_printf(stderr, "judger league: --out %s: %s\n", o->out_dir, strerror(errno));
      return -1;
    }
    return 0;
  }
  const char *tmp = getenv("TMPDIR");
  snprintf(pl->out, sizeof pl->out, "%s/judger-league-XXXXXX", tmp && *tmp ? tmp : "/tmp");
  if (!mkdtemp(pl->out)) {
    fprintf(stderr, "judger league: cannot make a directory in %s: %s\n",
            tmp && *tmp ? tmp : "/tmp", strerror(errno));
    return -1;
  }
  return 0;
}

/* Everything before the first game: the game, the players, the round
 * robin, every game's spec. 0, or -1 after saying why (a usage error). */
static int plan(league_plan *pl, const league_opts *o, const jd_ctx *ctx) {
  if (!(pl->template = load_game(o->game, pl->base)) || load_players(pl->progs, o))
    return -1;
  if (jd_round_robin(&pl->pairs, &pl->ngames, o->nplayers, (size_t)o->seats, (int)o->rounds, true,
                     o->nseeds ? o->seeds : NULL, o->nseeds, LEAGUE_MAX_GAMES) ||
      !pl->ngames) {
    fprintf(stderr, "judger league: more than %d games (programs, seats and rounds)\n",
            LEAGUE_MAX_GAMES);
    return -1;
  }
  pl->games = calloc(pl->ngames, sizeof *pl->games);
  if (!pl->games || make_out(pl, o))
    return -1;
  for (size_t k = 0; k < pl->ngames; k++)
    if (make_game(pl, o, ctx, k))
      return -1;
  return 0;
}

static void plan_free(league_plan *pl) {
  for (size_t k = 0; pl->games && k < pl->ngames; k++) {
    jd_match_spec_free(pl->games[k].spec);
    free(pl->games[k].out_dir);
    free(pl->games[k].name);
  }
  free(pl->games);
  free(pl->pairs);
  for (size_t i = 0; i < LEAGUE_MAX_PLAYERS; i++)
    json_object_put(pl->progs[i]);
  json_object_put(pl->template);
}

/* ---- the standings ---------------------------------------------------- */

/* The games into standings: a finished game with scores counts by its
 * scores; one that failed or errored is a game without a result for each
 * of its players; one cancelled or not run (the league interrupted) is
 * not counted. */
static int count_games(jd_standings *st, const league_plan *pl) {
  for (size_t k = 0; k < pl->ngames; k++) {
    const jd_league_game *g = &pl->games[k];
    if (!g->ran || g->status == JD_MATCH_STATUS_CANCELLED)
      continue;
    const char *ids[JD_MATCH_MAX_AIS];
    for (size_t i = 0; i < g->spec->nplayers; i++)
      ids[i] = g->spec->players[i].id;
    bool scored = g->status == JD_MATCH_STATUS_FINISHED && g->has_scores;
    if (jd_standings_add(st, ids, scored ? g->scores : NULL, g->spec->nplayers))
      return -1;
  }
  return 0;
}

/* The standings on stdout (text or JSON), and into DIR/standings.json and
 * DIR/standings.txt. */
static int print_standings(const league_plan *pl, const league_opts *o) {
  jd_standings *st = NULL;
  char *json = NULL, *text = NULL, path[PATH_MAX + 32];
  int rc = -1;
  if (jd_standings_new(&st) || count_games(st, pl)) {
    fprintf(stderr, "judger league: cannot count the standings (out of memory)\n");
    goto cleanup;
  }
  /* A fit that does not converge still leaves the counts: shown as is. */
  (void)jd_standings_rate(st);
  if (jd_standings_json(&json, st) || jd_standings_text(&text, st))
    goto cleanup;
  snprintf(path, sizeof path, "%s/standings.json", pl->out);
  int w = jd_write_file(path, json, strlen(json));
  snprintf(path, sizeof path, "%s/standings.txt", pl->out);
  w |= jd_write_file(path, text, strlen(text));
  if (w)
    fprintf(stderr, "judger league: cannot write the standings into %s\n", pl->out);
  if (o->json)
    printf("%s\n", json);
  else
    jd_term_printf(stdout, "%s", text);
  rc = fflush(stdout) ? -1 : 0;
cleanup:
  free(json);
  free(text);
  jd_standings_free(st);
  return rc;
}

/* What the league came to on stderr; its exit code. */
static int summary(const league_plan *pl, const league_opts *o, bool interrupted, int64_t ms) {
  size_t ran = 0, sys = 0;
  int64_t busy = 0;
  for (size_t k = 0; k < pl->ngames; k++) {
    const jd_league_game *g = &pl->games[k];
    bool ok =
        g->ran && (g->status == JD_MATCH_STATUS_FINISHED || g->status == JD_MATCH_STATUS_FAILED);
    ran += ok;
    /* Errored, or not run for a reason; cancelled by the interruption is not one. */
    sys += g->ran ? g->status == JD_MATCH_STATUS_ERROR : g->reason[0] != 0;
    busy += g->ran ? g->ms : 0;
  }
  char wall[24], mean[24];
  jd_league_duration(wall, sizeof wall, ms);
  jd_league_duration(mean, sizeof mean, ran ? busy / (int64_t)ran : 0);
  if (!o->quiet || interrupted || sys)
    fprintf(stderr,
            "judger league: %zu/%zu games in %s (%s a game, %lld at a time)%s%s; results in %s\n",
            ran, pl->ngames, wall, mean, o->parallel, interrupted ? ", interrupted" : "",
            sys ? ", some failed for a system reason" : "", pl->out);
  return ran == pl->ngames && !interrupted ? JD_EXIT_OK : LEAGUE_EXIT_INCOMPLETE;
}

static int league_main(league_opts *o) {
  league_plan pl = {0};
  jd_config settings = {0};
  jd_ctx ctx = {0};
  int code = JD_EXIT_USAGE;
  if (load_settings(&settings, &ctx, o) || plan(&pl, o, &ctx))
    goto cleanup;
  if (!o->quiet)
    fprintf(stderr, "judger league: %zu programs, %zu games; results in %s\n", o->nplayers,
            pl.ngames, pl.out);
  jd_league_opts lo = {.parallel = (size_t)o->parallel,
                       .net_stock = (size_t)settings.net_stock,
                       .progress = o->quiet ? NULL : stderr,
                       .tty = isatty(STDERR_FILENO)};
  bool interrupted = false;
  char err[256] = "";
  int64_t t0 = jd_mono_ms();
  if (jd_league_run(&interrupted, &ctx, pl.games, pl.ngames, &lo, err, sizeof err)) {
    jd_term_printf(stderr, "judger league: %s\n", err);
    code = LEAGUE_EXIT_INCOMPLETE;
    goto cleanup;
  }
  code = summary(&pl, o, interrupted, jd_mono_ms() - t0);
  if (print_standings(&pl, o))
    code = LEAGUE_EXIT_INCOMPLETE;
cleanup:
  plan_free(&pl);
  jd_config_clear(&settings);
  return code;
}

int jd_cmd_league(int argc, char **argv) {
  league_opts o = {
      .cli = JD_CLI_INIT("league", JD_CMD_RUN, usage), .rounds = 1, .seats = 2, .parallel = 1};
  int code = jd_cli_begin(&o.cli, argc, argv) ? JD_EXIT_SYSTEM : parse_args(&o, argc, argv);
  if (code < 0)
    code = league_main(&o);
  free(o.players);
  jd_cli_free(&o.cli);
  return code;
}
