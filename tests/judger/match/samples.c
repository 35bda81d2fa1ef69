// test-labels: engine
/* The sample game (samples/games/tron) and its AIs.
 *
 * - rules: the Tron rules compiled in (map generation, crashes, points),
 *   deterministic for a seed;
 * - local: the real game logic and AIs built with their own build scripts
 *   and played on this host by a stand-in judger (the pipe protocol on two
 *   FIFOs, players as local processes on 127.0.0.1): honest match, one AI
 *   on two seats, a silent player, an impostor. Every replay is re-simulated
 *   with the rules and must give the scores the game reported; the stand-in
 *   answers the game's turn clock commands on wall time, and every move of
 *   the replay carries its time;
 * - engine: `judger run samples/specs/<spec>.json` on the real engine gives
 *   the same scores as the local run of the same spec (same seed), when
 *   `judger run` is available in this build; every move is clocked on the
 *   judger's CPU clock: the replay's times per move and per seat are the
 *   judger's "turns" of each instance in result.json. */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/util.h"
#include "support.h"

#include "../../../samples/games/tron/rules.c"

#define SAMPLES JD_SOURCE_DIR "/samples"

/* ---- rules ---------------------------------------------------------------- */

static tr_config cfg_of(int w, int h, int obstacles, uint64_t seed) {
  tr_config c = {.width = w, .height = h, .obstacles = obstacles, .seed = seed};
  tr_config_defaults(&c);
  return c;
}

Test(samples, rules_same_seed_same_map_and_mirrored) {
  tr_config c = cfg_of(30, 20, 10, 42);
  tr_round a, b, other;
  cr_assert_eq(tr_round_init(&a, &c, 2, 0), 0);
  cr_assert_eq(tr_round_init(&b, &c, 2, 0), 0);
  c.seed = 43;
  cr_assert_eq(tr_round_init(&other, &c, 2, 0), 0);
  cr_assert_eq(memcmp(a.cells, b.cells, 30 * 20), 0, "same seed, same map");
  cr_assert_neq(memcmp(a.cells, other.cells, 30 * 20), 0, "another seed, another map");
  int obstacles = 0;
  for (int y = 0; y < 20; y++)
    for (int x = 0; x < 30; x++) {
      bool o = tr_cell(&a, x, y) == TR_OBSTACLE;
      obstacles += o;
      cr_assert_eq(o, tr_cell(&a, 29 - x, y) == TR_OBSTACLE, "mirror x at %d,%d", x, y);
      cr_assert_eq(o, tr_cell(&a, x, 19 - y) == TR_OBSTACLE, "mirror y at %d,%d", x, y);
    }
  cr_assert(obstacles > 0 && obstacles <= 30 * 20 * 10 / 100 + 8, "density: %d", obstacles);
  /* The starts are free around and in front of the cycles. */
  for (int s = 0; s < 2; s++) {
    cr_assert_eq(tr_cell(&a, a.x[s], a.y[s]), TR_TRAIL + s);
    for (int i = 1; i <= 5; i++)
      cr_assert_eq(tr_cell(&a, a.x[s] + dx[a.dir[s]] * i, a.y[s] + dy[a.dir[s]] * i), TR_FREE);
  }
  tr_round_free(&a);
  tr_round_free(&b);
  tr_round_free(&other);
}

Test(samples, rules_seats_rotate_through_the_slots) {
  tr_config c = cfg_of(40, 28, 5, 7);
  tr_round r0, r1;
  cr_assert_eq(tr_round_init(&r0, &c, 4, 0), 0);
  cr_assert_eq(tr_round_init(&r1, &c, 4, 1), 0);
  for (int s = 0; s < 4; s++) {
    cr_assert_eq(r1.x[s], r0.x[(s + 1) % 4]);
    cr_assert_eq(r1.y[s], r0.y[(s + 1) % 4]);
    for (int t = s + 1; t < 4; t++)
      cr_assert(r0.x[s] != r0.x[t] || r0.y[s] != r0.y[t], "distinct starts");
  }
  tr_round_free(&r0);
  tr_round_free(&r1);
}

/* An empty 10x10 arena with the cycles placed by hand. */
static void arena(tr_round *r, int nseats) {
  tr_config c = cfg_of(10, 10, 0, 1);
  cr_assert_eq(tr_round_init(r, &c, nseats, 0), 0);
  memset(r->cells, TR_FREE, 100);
}

static void place(tr_round *r, int s, int x, int y, tr_dir d) {
  r->x[s] = x, r->y[s] = y, r->dir[s] = d;
  r->cells[y * 10 + x] = (uint8_t)(TR_TRAIL + s);
}

Test(samples, rules_head_on_crashes_both_and_wall_and_trail) {
  tr_round r;
  arena(&r, 3);
  place(&r, 0, 3, 5, TR_RIGHT);
  place(&r, 1, 5, 5, TR_LEFT); /* both enter (4,5) */
  place(&r, 2, 0, 0, TR_UP);   /* leaves the grid */
  int moves[TR_MAX_SEATS] = {-1, -1, -1};
  tr_round_step(&r, moves);
  cr_assert_eq(r.cause[0], TR_HEAD_ON);
  cr_assert_eq(r.cause[1], TR_HEAD_ON);
  cr_assert_eq(r.cause[2], TR_WALL);
  cr_assert(tr_round_over(&r));
  cr_assert_eq(r.points[0] + r.points[1] + r.points[2], 0, "crashed together: nobody outlasted");
  tr_round_free(&r);

  arena(&r, 2);
  place(&r, 0, 2, 2, TR_RIGHT);
  place(&r, 1, 2, 4, TR_UP);
  r.cells[3 * 10 + 2] = TR_TRAIL + 0; /* 1 drives into 0's trail at (2,3) */
  moves[0] = TR_LEFT;                 /* a reversal is ignored: 0 keeps going right */
  tr_round_step(&r, moves);
  cr_assert(tr_alive(&r, 0));
  cr_assert_eq(r.x[0], 3, "reversal ignored");
  cr_assert_eq(r.cause[1], TR_HIT_TRAIL);
  cr_assert_eq(r.death_turn[1], 1);
  cr_assert(tr_round_over(&r));
  cr_assert_eq(r.points[0], 1, "the survivor outlasted one seat");
  cr_assert_eq(r.points[1], 0);
  tr_round_free(&r);
}

Test(samples, rules_points_follow_the_survival_order) {
  tr_round r;
  arena(&r, 4);
  place(&r, 0, 1, 1, TR_RIGHT);
  place(&r, 1, 1, 3, TR_RIGHT);
  place(&r, 2, 1, 5, TR_RIGHT);
  place(&r, 3, 1, 7, TR_RIGHT);
  r.cells[3 * 10 + 2] = TR_OBSTACLE; /* seat 1 crashes at turn 1 */
  tr_round_forfeit(&r, 3);           /* seat 3 leaves: crashes at turn 1 too */
  int moves[TR_MAX_SEATS] = {-1, -1, -1, -1};
  tr_round_step(&r, moves);
  cr_assert_eq(r.cause[1], TR_HIT_OBSTACLE);
  cr_assert_eq(r.cause[3], TR_ABSENT);
  cr_assert_not(tr_round_over(&r));
  moves[2] = TR_DOWN; /* seat 2: (2,5) -> (2,6) */
  tr_round_step(&r, moves);
  moves[2] = TR_LEFT; /* (1,6) */
  tr_round_step(&r, moves);
  moves[2] = TR_UP; /* (1,5): its own trail */
  tr_round_step(&r, moves);
  cr_assert_eq(r.cause[2], TR_HIT_TRAIL);
  cr_assert(tr_round_over(&r));
  cr_assert_eq(r.points[1], 0);
  cr_assert_eq(r.points[3], 0);
  cr_assert_eq(r.points[2], 2);
  cr_assert_eq(r.points[0], 3);
  tr_round_free(&r);
}

Test(samples, rules_config_checks_and_directions) {
  tr_config c = cfg_of(7, 20, 0, 1);
  cr_assert_not_null(tr_config_check(&c, 2));
  c = cfg_of(12, 12, 31, 1);
  cr_assert_not_null(tr_config_check(&c, 2));
  c = cfg_of(12, 12, 5, 1);
  cr_assert_null(tr_config_check(&c, 4));
  cr_assert_not_null(tr_config_check(&c, 5), "5 seats need 16x16");
  cr_assert_not_null(tr_config_check(&c, 9));
  cr_assert_eq(tr_dir_parse("U"), TR_UP);
  cr_assert_eq(tr_dir_parse("left"), TR_LEFT);
  cr_assert_eq(tr_dir_parse("S"), TR_DOWN);
  cr_assert_eq(tr_dir_parse("x"), -1);
  cr_assert_eq(tr_dir_char(TR_RIGHT), 'R');
}

/* ---- replay re-simulation ------------------------------------------------ */

static json_object *jget(json_object *o, const char *key) {
  json_object *v = NULL;
  cr_assert(json_object_object_get_ex(o, key, &v), "replay: no %s", key);
  return v;
}

/* Plays the replay's moves through the rules and checks every position,
 * every crash, the obstacles and the points; returns the scores per AI. */
static void resimulate(const char *replay_path, int nais, int *scores) {
  json_object *rp = json_object_from_file(replay_path);
  cr_assert_not_null(rp, "cannot read %s", replay_path);
  tr_config c = {.width = json_object_get_int(jget(rp, "width")),
                 .height = json_object_get_int(jget(rp, "height")),
                 .obstacles = json_object_get_int(jget(rp, "obstacles_pct")),
                 .max_turns = json_object_get_int(jget(rp, "max_turns")),
                 .seed = (uint64_t)json_object_get_int64(jget(rp, "seed"))};
  json_object *seats = jget(rp, "seats"), *rounds = jget(rp, "rounds");
  int nseats = (int)json_object_array_length(seats);
  int total[TR_MAX_SEATS] = {0};
  for (size_t ri = 0; ri < json_object_array_length(rounds); ri++) {
    json_object *rj = json_object_array_get_idx(rounds, ri);
    json_object *turns = jget(rj, "turns"), *obst = jget(rj, "obstacles");
    tr_round r;
    cr_assert_eq(tr_round_init(&r, &c, nseats, (int)ri), 0);
    for (int y = 0; y < c.height; y++) {
      const char *row = json_object_get_string(json_object_array_get_idx(obst, (size_t)y));
      for (int x = 0; x < c.width; x++)
        cr_assert_eq(row[x] == '#', tr_cell(&r, x, y) == TR_OBSTACLE, "round %zu obstacle %d,%d",
                     ri, x, y);
    }
    size_t nturns = json_object_array_length(turns);
    for (size_t t = 1; t < nturns; t++) {
      cr_assert_not(tr_round_over(&r), "round %zu ended early at %zu", ri, t);
      json_object *tj = json_object_array_get_idx(turns, t);
      const char *mv = json_object_get_string(jget(tj, "moves"));
      int moves[TR_MAX_SEATS];
      for (int s = 0; s < nseats; s++) {
        moves[s] = -1;
        if (mv[s] == 'x')
          tr_round_forfeit(&r, s);
        else if (mv[s] != '-' && mv[s] != ' ')
          moves[s] = tr_dir_parse((char[]){mv[s], 0});
      }
      tr_round_step(&r, moves);
      json_object *pos = jget(tj, "pos");
      for (int s = 0; s < nseats; s++) {
        json_object *p = json_object_array_get_idx(pos, (size_t)s);
        cr_assert_eq(json_object_get_int(json_object_array_get_idx(p, 0)), r.x[s]);
        cr_assert_eq(json_object_get_int(json_object_array_get_idx(p, 1)), r.y[s]);
      }
    }
    cr_assert(tr_round_over(&r), "round %zu did not end where the replay ends", ri);
    json_object *pts = jget(rj, "points");
    for (int s = 0; s < nseats; s++) {
      cr_assert_eq(json_object_get_int(json_object_array_get_idx(pts, (size_t)s)), r.points[s],
                   "round %zu seat %d points", ri, s);
      total[s] += r.points[s];
    }
    tr_round_free(&r);
  }
  for (int a = 0; a < nais; a++)
    scores[a] = 0;
  for (int s = 0; s < nseats; s++) {
    int ai = json_object_get_int(jget(json_object_array_get_idx(seats, (size_t)s), "ai"));
    cr_assert(ai >= 0 && ai < nais);
    scores[ai] += total[s];
  }
  json_object *sc = jget(rp, "scores");
  for (int a = 0; a < nais; a++)
    cr_assert_eq(json_object_get_int(json_object_array_get_idx(sc, (size_t)a)), scores[a],
                 "replay score of AI %d", a);
  json_object_put(rp);
}

/* Every move of the replay carries its time on the turn clock: "ms" on every
 * turn after the start, a number for each seat asked to move (a move, or '-'
 * for none in time), null for a seat out of the round ('x', a seat that
 * left, may have either). Gives each seat's clocked moves and the longest,
 * and checks the seat's summary (clocked_moves, ms_max) says the same;
 * returns the number of seats. */
static int check_replay_times(const char *replay_path, int *count, double *max_ms) {
  json_object *rp = json_object_from_file(replay_path);
  cr_assert_not_null(rp, "cannot read %s", replay_path);
  json_object *seats = jget(rp, "seats"), *rounds = jget(rp, "rounds");
  int nseats = (int)json_object_array_length(seats);
  for (int s = 0; s < nseats; s++)
    count[s] = 0, max_ms[s] = 0;
  for (size_t ri = 0; ri < json_object_array_length(rounds); ri++) {
    json_object *turns = jget(json_object_array_get_idx(rounds, ri), "turns");
    for (size_t t = 1; t < json_object_array_length(turns); t++) {
      json_object *tj = json_object_array_get_idx(turns, t), *ms = jget(tj, "ms");
      const char *mv = json_object_get_string(jget(tj, "moves"));
      cr_assert(json_object_is_type(ms, json_type_array) &&
                    json_object_array_length(ms) == (size_t)nseats,
                "round %zu turn %zu: ms is not one time per seat", ri, t);
      for (int s = 0; s < nseats; s++) {
        json_object *v = json_object_array_get_idx(ms, (size_t)s);
        bool number =
            json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int);
        if (mv[s] == ' ') {
          cr_assert_null(v, "round %zu turn %zu: seat %d is out, yet has a time", ri, t, s);
          continue;
        }
        cr_assert(number || (mv[s] == 'x' && !v), "round %zu turn %zu seat %d (move %c): no time",
                  ri, t, s, mv[s]);
        if (!number)
          continue;
        double d = json_object_get_double(v);
        cr_assert(d >= 0 && d < 1e6, "round %zu turn %zu seat %d: time %f", ri, t, s, d);
        count[s]++;
        if (max_ms[s] < d)
          max_ms[s] = d;
      }
    }
  }
  for (int s = 0; s < nseats; s++) {
    json_object *seat = json_object_array_get_idx(seats, (size_t)s);
    cr_assert_eq(json_object_get_int(jget(seat, "clock_timeouts")), 0, "seat %d", s);
    if (!count[s]) {
      cr_assert_not(json_object_object_get_ex(seat, "clocked_moves", NULL), "seat %d", s);
      continue;
    }
    cr_assert_eq(json_object_get_int(jget(seat, "clocked_moves")), count[s], "seat %d", s);
    cr_assert_float_eq(json_object_get_double(jget(seat, "ms_max")), max_ms[s], 1e-6, "seat %d", s);
  }
  json_object_put(rp);
  return nseats;
}

/* ---- a stand-in judger on this host -------------------------------------- */

typedef struct local_ai {
  const char *id;
  const char *argv[4]; /* "{bin}" is replaced by the build directory */
} local_ai;

typedef struct local_match {
  char *dir, *out;
  json_object *end; /* the end command, or NULL */
  int game_status;
  int player_status[TR_MAX_SEATS * 2];
  int player_ai[TR_MAX_SEATS * 2];
  int nplayers;
  int clock_turns; /* turn_ended events sent */
  int frames;      /* frame commands */
} local_match;

static int64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int free_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof a;
  cr_assert(fd >= 0);
  cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
  cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
  close(fd);
  return ntohs(a.sin_port);
}

static void run_cmd(const char *const *argv, const char *out_env) {
  pid_t pid = fork();
  cr_assert(pid >= 0);
  if (pid == 0) {
    if (out_env)
      setenv("OUT", out_env, 1);
    execvp(argv[0], (char *const *)argv);
    _exit(127);
  }
  int st;
  cr_assert_eq(waitpid(pid, &st, 0), pid);
  cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s %s failed", argv[0], argv[1]);
}

/* Builds the game logic and c-bot with their own build scripts, as the build
 * containers do, into dir. */
static void build_samples(const char *dir) {
  run_cmd((const char *[]){"sh", SAMPLES "/games/tron/build.sh", NULL}, dir);
  run_cmd((const char *[]){"sh", SAMPLES "/ais/c-bot/build.sh", NULL}, dir);
}

static pid_t spawn(const char *const *argv, const char *log_path, char **env) {
  pid_t pid = fork();
  cr_assert(pid >= 0);
  if (pid == 0) {
    int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
    int null = open("/dev/null", O_RDWR);
    if (fd < 0 || null < 0)
      _exit(126);
    dup2(null, 0);
    dup2(null, 1);
    dup2(fd, 2);
    for (char **e = env; e && *e; e++)
      putenv(*e);
    execvp(argv[0], (char *const *)argv);
    _exit(127);
  }
  return pid;
}

static void send_event(int fd, json_object *ev) {
  const char *s = json_object_to_json_string_ext(ev, JSON_C_TO_STRING_PLAIN);
  char line[1024];
  int n = snprintf(line, sizeof line, "%s\n", s);
  cr_assert(n > 0 && (size_t)n < sizeof line);
  cr_assert_eq(write(fd, line, (size_t)n), n);
  json_object_put(ev);
}

static json_object *event_of(const char *event, const char *name, int ai) {
  json_object *o = json_object_new_object();
  json_object_object_add(o, "event", json_object_new_string(event));
  json_object_object_add(o, "name", json_object_new_string(name));
  json_object_object_add(o, "ai", json_object_new_int(ai));
  return o;
}

/* The stand-in's turn clock (docs/protocol.md, "Turn clocks"), on wall time
 * with no budget: turn opens a player's turn, turn_end answers turn_ended. */
typedef struct local_clock {
  int64_t start[TR_MAX_SEATS * 2]; /* mono ns of the open turn, 0: none */
  int turns[TR_MAX_SEATS * 2];
} local_clock;

static void local_turn(local_match *m, local_clock *lc, int ev_fd, json_object *c, char names[][32],
                       const int *pais) {
  const char *cmd = json_object_get_string(jget(c, "cmd"));
  const char *name = json_object_get_string(jget(c, "name"));
  int k = 0;
  while (k < m->nplayers && strcmp(names[k], name))
    k++;
  cr_assert(k < m->nplayers, "%s for an unknown player %s", cmd, name);
  if (!strcmp(cmd, "turn")) {
    cr_assert_eq(lc->start[k], 0, "turn for %s while its turn is open", name);
    lc->start[k] = jd_mono_ns();
    return;
  }
  cr_assert_neq(lc->start[k], 0, "turn_end for %s with no open turn", name);
  json_object *ev = event_of("turn_ended", name, pais[k]);
  double used = (double)(jd_mono_ns() - lc->start[k]) / 1e6;
  lc->start[k] = 0;
  json_object_object_add(ev, "turn", json_object_new_int(++lc->turns[k]));
  json_object_object_add(ev, "used_ms", json_object_new_double(used));
  json_object_object_add(ev, "budget_ms", json_object_new_int(1000));
  json_object_object_add(ev, "bank_ms", json_object_new_int(0));
  json_object_object_add(ev, "overrun_ms", json_object_new_int(0));
  json_object_object_add(ev, "clock", json_object_new_string("wall"));
  send_event(ev_fd, ev);
  m->clock_turns++;
}

/* Plays one match: config is the spec's config with the port set here. */
static void local_run(local_match *m, const char *bin, const local_ai *ais, int nais,
                      json_object *config) {
  memset(m, 0, sizeof *m);
  m->dir = t_tmpdir("samples-local");
  cr_assert(asprintf(&m->out, "%s/out", m->dir) > 0);
  cr_assert_eq(jd_mkdir_p(m->out, 0755), 0);
  char *cmd_path, *ev_path, *match_path;
  cr_assert(asprintf(&cmd_path, "%s/cmd", m->dir) > 0);
  cr_assert(asprintf(&ev_path, "%s/events", m->dir) > 0);
  cr_assert(asprintf(&match_path, "%s/match.json", m->dir) > 0);
  cr_assert_eq(mkfifo(cmd_path, 0600), 0);
  cr_assert_eq(mkfifo(ev_path, 0600), 0);

  int port = free_port();
  json_object_object_add(config, "port", json_object_new_int(port));
  char tokens[TR_MAX_SEATS][65];
  json_object *match = json_object_new_object(), *players = json_object_new_array();
  json_object_object_add(match, "match_id", json_object_new_string("local"));
  json_object_object_add(match, "config", json_object_get(config));
  for (int i = 0; i < nais; i++) {
    cr_assert_eq(jd_random_hex(tokens[i], 32), 0);
    json_object *p = json_object_new_object();
    json_object_object_add(p, "ai", json_object_new_int(i));
    json_object_object_add(p, "id", json_object_new_string(ais[i].id));
    json_object_object_add(p, "token", json_object_new_string(tokens[i]));
    json_object_array_add(players, p);
  }
  json_object_object_add(match, "players", players);
  cr_assert_eq(json_object_to_file(match_path, match), 0);
  json_object_put(match);

  /* Our end of the event pipe never blocks, whatever the game does. */
  int ev_fd = open(ev_path, O_RDWR | O_CLOEXEC);
  int cmd_fd = open(cmd_path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  cr_assert(ev_fd >= 0 && cmd_fd >= 0);
  char *genv[5], *glog, *game_bin;
  cr_assert(asprintf(&genv[0], "JUDGER_MATCH_JSON=%s", match_path) > 0);
  cr_assert(asprintf(&genv[1], "JUDGER_CMD_PIPE=%s", cmd_path) > 0);
  cr_assert(asprintf(&genv[2], "JUDGER_EVENT_PIPE=%s", ev_path) > 0);
  cr_assert(asprintf(&genv[3], "JUDGER_OUT_DIR=%s", m->out) > 0);
  genv[4] = NULL;
  cr_assert(asprintf(&glog, "%s/game_logic.log", m->out) > 0);
  cr_assert(asprintf(&game_bin, "%s/tron", bin) > 0);
  pid_t game = spawn((const char *[]){game_bin, NULL}, glog, genv);

  pid_t pids[TR_MAX_SEATS * 2];
  char names[TR_MAX_SEATS * 2][32];
  int pais[TR_MAX_SEATS * 2];
  bool exited[TR_MAX_SEATS * 2] = {false}, game_done = false;
  local_clock lc = {0};
  char buf[16384];
  size_t len = 0;
  int64_t deadline = mono_ms() + 60000;
  /* The game writes "end" and exits: once it is gone, the pipe is read
   * dry before the loop stops, or a fast exit would lose the last line. */
  bool drained = false;
  while (!m->end && !drained && mono_ms() < deadline) {
    bool gone = game_done;
    ssize_t n = 0;
    struct pollfd p = {.fd = cmd_fd, .events = POLLIN};
    if (poll(&p, 1, gone ? 0 : 100) > 0) {
      n = read(cmd_fd, buf + len, sizeof buf - 1 - len);
      if (n > 0)
        len += (size_t)n;
      else if (n == 0 && !gone)
        usleep(10000); /* no writer (yet, or any more) */
    }
    drained = gone && n <= 0;
    char *nl;
    while (!m->end && (nl = memchr(buf, '\n', len))) {
      *nl = 0;
      json_object *c = json_tokener_parse(buf), *v;
      cr_assert_not_null(c, "the game sent a line that is not JSON: %s", buf);
      const char *cmd = json_object_object_get_ex(c, "cmd", &v) ? json_object_get_string(v) : "";
      if (!strcmp(cmd, "start")) {
        int ai = json_object_get_int(jget(c, "ai")), k = m->nplayers++;
        cr_assert(ai >= 0 && ai < nais && k < TR_MAX_SEATS * 2);
        snprintf(names[k], sizeof names[k], "%s", json_object_get_string(jget(c, "name")));
        pais[k] = ai;
        m->player_ai[k] = ai;
        char *penv[7], *plog;
        const char *argv[4] = {NULL};
        char *bin_path = NULL;
        for (int i = 0; i < 3 && ais[ai].argv[i]; i++) {
          argv[i] = ais[ai].argv[i];
          if (!strncmp(argv[i], "{bin}", 5)) {
            cr_assert(asprintf(&bin_path, "%s%s", bin, argv[i] + 5) > 0);
            argv[i] = bin_path;
          }
        }
        cr_assert(asprintf(&penv[0], "JUDGER_TOKEN=%s", tokens[ai]) > 0);
        cr_assert(asprintf(&penv[1], "JUDGER_AI_INDEX=%d", ai) > 0);
        cr_assert(asprintf(&penv[2], "JUDGER_PLAYER_NAME=%s", names[k]) > 0);
        cr_assert(asprintf(&penv[3], "JUDGER_GAME_HOST=127.0.0.1") > 0);
        cr_assert(asprintf(&penv[4], "JUDGER_GAME_PORT=%d", port) > 0);
        cr_assert(asprintf(&penv[5], "JUDGER_MATCH_ID=local") > 0);
        penv[6] = NULL;
        cr_assert(asprintf(&plog, "%s/player_%d.log", m->out, ai) > 0);
        pids[k] = spawn(argv, plog, penv);
        for (int i = 0; i < 6; i++)
          free(penv[i]);
        free(plog);
        free(bin_path);
        send_event(ev_fd, event_of("started", names[k], ai));
      } else if (!strcmp(cmd, "turn") || !strcmp(cmd, "turn_end")) {
        local_turn(m, &lc, ev_fd, c, names, pais);
      } else if (!strcmp(cmd, "end")) {
        m->end = json_object_get(c);
      } else if (!strcmp(cmd, "frame")) {
        m->frames++; /* a live viewer's frame (docs/samples.md, "Live frames") */
      } else {
        cr_assert_str_eq(cmd, "progress", "unexpected command %s", buf);
      }
      json_object_put(c);
      len -= (size_t)(nl + 1 - buf);
      memmove(buf, nl + 1, len);
    }
    for (int k = 0; k < m->nplayers; k++) {
      int st;
      if (!exited[k] && waitpid(pids[k], &st, WNOHANG) == pids[k]) {
        exited[k] = true;
        m->player_status[k] = st;
        json_object *ev = event_of("exited", names[k], pais[k]);
        json_object_object_add(ev, "exit_code", json_object_new_int(WEXITSTATUS(st)));
        send_event(ev_fd, ev);
      }
    }
    if (waitpid(game, &m->game_status, WNOHANG) == game)
      game_done = true;
  }
  /* After the end: the game exits by itself, honest players too (they read
   * "end"); whatever is left after a grace period is killed. */
  int64_t grace = mono_ms() + 10000;
  while (!game_done && mono_ms() < grace) {
    game_done = waitpid(game, &m->game_status, WNOHANG) == game;
    usleep(20000);
  }
  if (!game_done) {
    kill(game, SIGKILL);
    waitpid(game, &m->game_status, 0);
  }
  for (int k = 0; k < m->nplayers; k++) {
    while (!exited[k] && mono_ms() < grace) {
      exited[k] = waitpid(pids[k], &m->player_status[k], WNOHANG) == pids[k];
      usleep(20000);
    }
    if (!exited[k]) {
      kill(pids[k], SIGKILL);
      waitpid(pids[k], &m->player_status[k], 0);
      m->player_status[k] = -1; /* killed by us */
    }
  }
  close(ev_fd);
  close(cmd_fd);
  unlink(cmd_path);
  unlink(ev_path);
  unlink(match_path);
  for (int i = 0; i < 4; i++)
    free(genv[i]);
  free(glog);
  free(game_bin);
  free(cmd_path);
  free(ev_path);
  free(match_path);
  cr_assert_not_null(m->end, "the game did not end the match (see %s/game_logic.log)", m->out);
  cr_assert(WIFEXITED(m->game_status) && WEXITSTATUS(m->game_status) == 0,
            "the game logic exited badly");
}

static void local_free(local_match *m) {
  json_object_put(m->end);
  free(m->out);
  t_rmdir(m->dir);
}

static int end_score(local_match *m, int ai) {
  json_object *sc = jget(m->end, "scores");
  return json_object_get_int(json_object_array_get_idx(sc, (size_t)ai));
}

static json_object *replay_seat(local_match *m, int seat) {
  char path[4096];
  snprintf(path, sizeof path, "%s/replay.json", m->out);
  json_object *rp = json_object_from_file(path);
  cr_assert_not_null(rp);
  json_object *s = json_object_get(json_object_array_get_idx(jget(rp, "seats"), (size_t)seat));
  json_object_put(rp);
  return s;
}

static const local_ai C_BOT = {"c-bot", {"{bin}/c-bot", NULL}};
/* Debian's python3 (what the run images have); a python3 from PATH may be a
 * version manager's shim that takes seconds to start. */
#define PYTHON "/usr/bin/python3"
static const local_ai PY_BOT = {"py-bot", {PYTHON, SAMPLES "/ais/py-bot/bot.py", NULL}};
static const local_ai STRAIGHT_BOT = {"straight-bot",
                                      {PYTHON, SAMPLES "/ais/straight-bot/bot.py", NULL}};

/* Reads the config of a sample spec, the one the engine test runs too. */
static json_object *spec_config(const char *spec) {
  char path[4096];
  snprintf(path, sizeof path, "%s/specs/%s", SAMPLES, spec);
  json_object *s = json_object_from_file(path);
  cr_assert_not_null(s, "cannot read %s", path);
  json_object *c = json_object_get(jget(s, "config"));
  json_object_put(s);
  return c;
}

/* The live frames a replay's match sent (docs/samples.md, "Live frames"):
 * per round its start (the map in chunks of 4096 cells), each turn, its end. */
static int replay_frames(const char *path) {
  json_object *rp = json_object_from_file(path), *rounds = jget(rp, "rounds");
  int w = json_object_get_int(jget(rp, "width")), h = json_object_get_int(jget(rp, "height"));
  int per = 4096 / w, n = 0;
  for (size_t r = 0; r < json_object_array_length(rounds); r++) {
    size_t turns = json_object_array_length(jget(json_object_array_get_idx(rounds, r), "turns"));
    n += (int)turns - 1 + 2 + (h > per ? (h - per + per - 1) / per : 0);
  }
  json_object_put(rp);
  return n;
}

static void check_local(local_match *m, int nais) {
  char path[4096];
  int scores[TR_MAX_SEATS];
  snprintf(path, sizeof path, "%s/replay.json", m->out);
  resimulate(path, nais, scores);
  cr_assert_eq(m->frames, replay_frames(path), "a frame per round start, turn and round end");
  for (int a = 0; a < nais; a++)
    cr_assert_eq(end_score(m, a), scores[a], "AI %d: end score vs replay", a);
  int count[TR_MAX_SEATS], all = 0;
  double max_ms[TR_MAX_SEATS];
  int nseats = check_replay_times(path, count, max_ms);
  for (int s = 0; s < nseats; s++)
    all += count[s];
  cr_assert_eq(all, m->clock_turns, "every turn_ended is a time in the replay");
  for (int k = 0; k < m->nplayers; k++) {
    if (WIFEXITED(m->player_status[k]) && WEXITSTATUS(m->player_status[k]) == 0)
      continue;
    char *log = NULL;
    size_t len;
    snprintf(path, sizeof path, "%s/player_%d.log", m->out, m->player_ai[k]);
    jd_read_file(&log, &len, path, 1 << 16);
    char *glog = NULL;
    snprintf(path, sizeof path, "%s/game_logic.log", m->out);
    jd_read_file(&glog, &len, path, 1 << 16);
    cr_assert_fail("player %d (AI %d) did not exit cleanly (status %d): %s\ngame logic: %s", k,
                   m->player_ai[k], m->player_status[k], log ? log : "", glog ? glog : "");
  }
}

Test(samples, local_two_player_match_is_deterministic, .timeout = 120) {
  char *bin = t_tmpdir("samples-bin");
  build_samples(bin);
  local_ai ais[2] = {C_BOT, PY_BOT};
  local_match a, b;
  json_object *config = spec_config("tron-2p.json");
  local_run(&a, bin, ais, 2, config);
  local_run(&b, bin, ais, 2, config);
  check_local(&a, 2);
  check_local(&b, 2);
  int rounds = json_object_get_int(jget(config, "rounds"));
  cr_assert_eq(end_score(&a, 0) + end_score(&a, 1) <= rounds, true, "at most one point a round");
  cr_assert(end_score(&a, 0) + end_score(&a, 1) > 0, "somebody won a round");
  for (int ai = 0; ai < 2; ai++)
    cr_assert_eq(end_score(&a, ai), end_score(&b, ai), "same seed, same score for AI %d", ai);
  json_object_put(config);
  local_free(&a);
  local_free(&b);
  t_rmdir(bin);
}

Test(samples, local_one_ai_on_two_seats, .timeout = 120) {
  char *bin = t_tmpdir("samples-bin");
  build_samples(bin);
  local_ai ais[3] = {C_BOT, PY_BOT, STRAIGHT_BOT};
  local_match m;
  json_object *config = spec_config("tron-4p.json");
  local_run(&m, bin, ais, 3, config);
  check_local(&m, 3);
  cr_assert_eq(m.nplayers, 4, "four seats, four players");
  json_object *seats = jget(config, "seats");
  int per_ai[3] = {0};
  for (size_t s = 0; s < json_object_array_length(seats); s++)
    per_ai[json_object_get_int(json_object_array_get_idx(seats, s))]++;
  cr_assert(per_ai[0] == 2 || per_ai[1] == 2 || per_ai[2] == 2, "the spec has an AI twice");
  json_object_put(config);
  local_free(&m);
  t_rmdir(bin);
}

/* A player that connects with its token and never moves keeps its heading
 * (and crashes); one that presents a wrong token is refused; the match
 * still ends with scores. */
Test(samples, local_silent_player_and_impostor, .timeout = 120) {
  char *bin = t_tmpdir("samples-bin");
  build_samples(bin);
  static const char silent[] =
      "import os,socket,time\n"
      "s=socket.create_connection((os.environ['JUDGER_GAME_HOST'],int(os.environ['JUDGER_GAME_"
      "PORT'])))\n"
      "s.sendall((os.environ['JUDGER_TOKEN']+' "
      "'+os.environ['JUDGER_PLAYER_NAME']+'\\n').encode())\n"
      "f=s.makefile()\n"
      "for line in f:\n"
      "  if line.startswith('end'): break\n";
  static const char impostor[] =
      "import os,socket,sys\n"
      "s=socket.create_connection((os.environ['JUDGER_GAME_HOST'],int(os.environ['JUDGER_GAME_"
      "PORT'])))\n"
      "s.sendall(b'0000000000000000 '+os.environ['JUDGER_PLAYER_NAME'].encode()+b'\\n')\n"
      "s.settimeout(20)\n"
      "data=s.recv(100)\n"
      "sys.exit(0 if data==b'' else 3)\n";
  local_ai ais[3] = {C_BOT,
                     {"silent", {PYTHON, "-c", silent, NULL}},
                     {"impostor", {PYTHON, "-c", impostor, NULL}}};
  json_object *config = json_tokener_parse("{\"seed\": 5, \"rounds\": 2, \"width\": 16, "
                                           "\"height\": 12, \"move_timeout_ms\": 50, "
                                           "\"connect_timeout_ms\": 30000}");
  local_match m;
  local_run(&m, bin, ais, 3, config);
  check_local(&m, 3);
  json_object *silent_seat = replay_seat(&m, 1), *impostor_seat = replay_seat(&m, 2);
  cr_assert(json_object_get_int(jget(silent_seat, "timeouts")) > 0, "silent seat timed out");
  cr_assert_eq(json_object_get_int(jget(impostor_seat, "rounds_absent")), 2,
               "the impostor never got its seat");
  cr_assert_eq(end_score(&m, 2), 0);
  json_object_put(silent_seat);
  json_object_put(impostor_seat);
  json_object_put(config);
  local_free(&m);
  t_rmdir(bin);
}

/* ---- the real engine: judger run ----------------------------------------- */

/* Runs build/bin/judger with argv (after "judger"); stdout goes to out_path.
 * Returns the exit code. */
static int judger(const char *const *args, const char *out_path) {
  const char *argv[16] = {JD_BINARY_DIR "/bin/judger"};
  int n = 1;
  for (; args[n - 1] && n < 15; n++)
    argv[n] = args[n - 1];
  argv[n] = NULL;
  pid_t pid = fork();
  cr_assert(pid >= 0);
  if (pid == 0) {
    int fd = open(out_path ? out_path : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
      _exit(126);
    dup2(fd, 1);
    execv(argv[0], (char *const *)argv);
    _exit(127);
  }
  int st;
  cr_assert_eq(waitpid(pid, &st, 0), pid);
  cr_assert(WIFEXITED(st), "judger died of a signal");
  return WEXITSTATUS(st);
}

/* The judger clocked every move (the spec's limits.clock "cpu"): each
 * instance of result.json has "turns" on the CPU clock with no timeout, as
 * many as the replay has times for its seat, the longest the same. */
static void check_engine_times(const char *replay, json_object *result) {
  int count[TR_MAX_SEATS];
  double max_ms[TR_MAX_SEATS];
  check_replay_times(replay, count, max_ms);
  json_object *rp = json_object_from_file(replay), *insts = jget(result, "instances");
  cr_assert_not_null(rp);
  json_object *seats = jget(rp, "seats");
  size_t n = json_object_array_length(insts);
  cr_assert_eq(n, json_object_array_length(seats), "one instance per seat");
  for (size_t i = 0; i < n; i++) {
    json_object *inst = json_object_array_get_idx(insts, i);
    const char *name = json_object_get_string(jget(inst, "name"));
    int s = 0;
    while ((size_t)s < n && strcmp(name, json_object_get_string(jget(
                                             json_object_array_get_idx(seats, (size_t)s), "name"))))
      s++;
    cr_assert((size_t)s < n, "instance %s has no seat in the replay", name);
    json_object *t = jget(inst, "turns");
    int64_t turns = json_object_get_int64(jget(t, "count"));
    /* Through the API (a sidecar: DOCKER_HOST) an engine slow to answer its
     * stats (a loaded machine) moves the match to wall time. */
    const char *clock = json_object_get_string(jget(t, "clock"));
    bool api = getenv("DOCKER_HOST") && *getenv("DOCKER_HOST");
    cr_assert(!strcmp(clock, "cpu") || (api && (!strcmp(clock, "wall") || !strcmp(clock, "mixed"))),
              "%s: clock %s", name, clock);
    cr_assert(turns > 0, "%s: no turn clocked", name);
    cr_assert_eq(json_object_get_int64(jget(t, "timeouts")), 0, "%s", name);
    cr_assert_eq(turns, count[s], "%s: %lld turns in result.json, %d times in the replay", name,
                 (long long)turns, count[s]);
    cr_assert_float_eq(json_object_get_double(jget(t, "max_ms")), max_ms[s], 0.0015,
                       "%s: longest turn", name);
  }
  json_object_put(rp);
}

/* Runs a sample spec on the engine and the same spec on this host, and
 * checks both give the same scores, which the replay's re-simulation gives
 * too; then that nothing of the match is left on the engine. */
static void engine_match(const char *spec, const local_ai *ais, int nais, int *instances) {
  dk_client *c = t_client();
  char *dir = t_tmpdir("samples-engine"), *out, *state, *spec_path, *stdout_path;
  cr_assert(asprintf(&out, "%s/out", dir) > 0);
  /* Artifacts are content-addressed and appear by rename: one state dir
   * shared by these tests (and kept between runs) compiles each program once. */
  cr_assert(asprintf(&state, "%s", JD_BINARY_DIR "/samples-state") > 0);
  cr_assert(asprintf(&stdout_path, "%s/stdout.json", dir) > 0);
  cr_assert(asprintf(&spec_path, "%s/specs/%s", SAMPLES, spec) > 0);

  /* The programs' images start FROM the offline Debian base (slow once). */
  cr_assert_eq(judger((const char *[]){"build", "--base-image", "--quiet", NULL}, NULL), 0,
               "judger build --base-image failed");
  int rc = judger((const char *[]){"run", spec_path, "--out", out, "--json", "--quiet",
                                   "--state-dir", state, NULL},
                  stdout_path);
  char *result_path, *result_text = NULL;
  size_t len;
  cr_assert(asprintf(&result_path, "%s/result.json", out) > 0);
  cr_assert_eq(jd_read_file(&result_text, &len, result_path, 1 << 22), 0, "no %s", result_path);
  cr_assert_eq(rc, 0, "judger run exited %d: %s", rc, result_text);
  json_object *result = json_tokener_parse(result_text);
  cr_assert_not_null(result);
  cr_assert_str_eq(json_object_get_string(jget(result, "status")), "finished");
  /* --json prints the same result on stdout. */
  json_object *printed = json_object_from_file(stdout_path);
  cr_assert_not_null(printed, "judger run --json printed no JSON");
  cr_assert_str_eq(json_object_get_string(jget(printed, "run")),
                   json_object_get_string(jget(result, "run")));
  cr_assert_str_eq(json_object_get_string(jget(printed, "status")), "finished");
  json_object_put(printed);

  /* The same spec on this host: the same seed gives the same match. */
  char *bin = t_tmpdir("samples-bin");
  build_samples(bin);
  json_object *config = spec_config(spec);
  local_match m;
  local_run(&m, bin, ais, nais, config);
  check_local(&m, nais);

  char *replay;
  int replay_scores[TR_MAX_SEATS];
  cr_assert(asprintf(&replay, "%s/replay.json", out) > 0);
  resimulate(replay, nais, replay_scores);
  check_engine_times(replay, result);
  json_object *players = jget(result, "players");
  cr_assert_eq(json_object_array_length(players), (size_t)nais);
  for (int a = 0; a < nais; a++) {
    json_object *p = json_object_array_get_idx(players, (size_t)a);
    int score = (int)json_object_get_double(jget(p, "score"));
    cr_assert_str_eq(json_object_get_string(jget(p, "verdict")), "OK", "AI %d", a);
    cr_assert_eq(score, replay_scores[a], "AI %d: result.json vs replay", a);
    cr_assert_eq(score, end_score(&m, a), "AI %d: engine vs this host, same seed", a);
    instances[a] = json_object_get_int(jget(p, "instances"));
  }

  /* Nothing of this run is left: containers and network by the run's
   * label, once the teardown judger run hands to its own process ends
   * (it exits with the result: docs/match-spec.md). */
  char label[256];
  snprintf(label, sizeof label, "judger.run=%s", json_object_get_string(jget(result, "run")));
  const char *labels[] = {label, NULL};
  size_t left_c = 0, left_n = 0;
  for (int64_t until = jd_mono_ms() + 60000;;) {
    dk_container_list *cl = NULL;
    dk_network_list *nl = NULL;
    t_ok(dk_container_list_by_label(&cl, c, true, labels));
    t_ok(dk_network_list_by_label(&nl, c, labels));
    left_c = cl->count, left_n = nl->count;
    dk_container_list_free(cl);
    dk_network_list_free(nl);
    if ((!left_c && !left_n) || jd_mono_ms() > until)
      break;
    usleep(200000);
  }
  cr_assert_eq(left_c, 0, "containers left by %s", label);
  cr_assert_eq(left_n, 0, "networks left by %s", label);

  json_object_put(config);
  json_object_put(result);
  local_free(&m);
  t_rmdir(bin);
  free(replay);
  free(result_text);
  free(result_path);
  free(out);
  free(state);
  free(stdout_path);
  free(spec_path);
  t_rmdir(dir);
  dk_client_free(c);
}

Test(samples, engine_tron_2p_c_against_python, .timeout = 900) {
  local_ai ais[2] = {C_BOT, PY_BOT};
  int instances[2];
  engine_match("tron-2p.json", ais, 2, instances);
  cr_assert_eq(instances[0], 1);
  cr_assert_eq(instances[1], 1);
}

Test(samples, engine_tron_4p_one_ai_twice, .timeout = 900) {
  local_ai ais[3] = {C_BOT, PY_BOT, STRAIGHT_BOT};
  int instances[3];
  engine_match("tron-4p.json", ais, 3, instances);
  cr_assert_eq(instances[0] + instances[1] + instances[2], 4, "four seats, four players");
  cr_assert(instances[0] == 2 || instances[1] == 2 || instances[2] == 2, "one AI twice");
}

/* ---- the turn clock on the engine: a player that runs out ------------------ */

/* Answers three turns, then spins on the fourth without answering. */
static const char SPINNER[] =
    "import os, socket, time\n"
    "for _ in range(100):\n"
    "    try:\n"
    "        s = socket.create_connection((os.environ.get('JUDGER_GAME_HOST') or 'game', 7000))\n"
    "        break\n"
    "    except OSError:\n"
    "        time.sleep(0.1)\n"
    "s.sendall((os.environ['JUDGER_TOKEN'] + ' ' + os.environ['JUDGER_PLAYER_NAME'] + "
    "'\\n').encode())\n"
    "n = 0\n"
    "for line in s.makefile():\n"
    "    if line.startswith('turn '):\n"
    "        n += 1\n"
    "        while n == 4:\n"
    "            pass\n"
    "        s.sendall((line.split()[1] + ' U\\n').encode())\n"
    "    elif line.startswith('end'):\n"
    "        break\n";

static void write_text(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  cr_assert_not_null(f, "%s: %s", path, strerror(errno));
  cr_assert_eq(fputs(text, f) >= 0 && fclose(f) == 0, true, "%s", path);
}

typedef struct spin_run {
  char *dir;
  json_object *result, *replay;
} spin_run;

/* c-bot against the spinner (py-bot's run image) for 2 rounds, every move
 * on the CPU clock with turn_ms 50 and a bank of 100 ms. */
static void spin_match(spin_run *r, const char *on_timeout) {
  r->dir = t_tmpdir("samples-spin");
  char path[4096], *dockerfile = NULL;
  size_t len;
  snprintf(path, sizeof path, "%s/spinner", r->dir);
  cr_assert_eq(mkdir(path, 0755), 0);
  snprintf(path, sizeof path, "%s/spinner/bot.py", r->dir);
  write_text(path, SPINNER);
  cr_assert_eq(jd_read_file(&dockerfile, &len, SAMPLES "/ais/py-bot/run.Dockerfile", 1 << 16), 0);
  snprintf(path, sizeof path, "%s/spinner/run.Dockerfile", r->dir);
  write_text(path, dockerfile);
  free(dockerfile);
  char *spec;
  cr_assert(asprintf(&spec,
                     "{\"id\": \"spin-%s\", \"game_logic\": {\"id\": \"tron\", \"dir\": \"%s\"},"
                     " \"players\": [{\"id\": \"c-bot\", \"dir\": \"%s\"},"
                     " {\"id\": \"spinner\", \"dir\": \"%s/spinner\"}],"
                     " \"config\": {\"seed\": 3, \"rounds\": 2, \"width\": 16, \"height\": 12,"
                     " \"move_timeout_ms\": 10000, \"connect_timeout_ms\": 60000},"
                     " \"limits\": {\"clock\": \"cpu\", \"turn_ms\": 50, \"time_bank_ms\": 100,"
                     " \"on_timeout\": \"%s\", \"players\": {\"cpus\": 0.5, \"wall_ms\": 120000},"
                     " \"deadline_ms\": 180000}}",
                     on_timeout, SAMPLES "/games/tron", SAMPLES "/ais/c-bot", r->dir,
                     on_timeout) > 0);
  snprintf(path, sizeof path, "%s/spec.json", r->dir);
  write_text(path, spec);
  free(spec);
  char out[2048];
  snprintf(out, sizeof out, "%s/out", r->dir);
  cr_assert_eq(judger((const char *[]){"build", "--base-image", "--quiet", NULL}, NULL), 0);
  int rc = judger((const char *[]){"run", path, "--out", out, "--quiet", "--state-dir",
                                   JD_BINARY_DIR "/samples-state", NULL},
                  NULL);
  snprintf(path, sizeof path, "%s/result.json", out);
  r->result = json_object_from_file(path);
  cr_assert_not_null(r->result, "no %s (judger run exited %d)", path, rc);
  cr_assert_str_eq(json_object_get_string(jget(r->result, "status")), "finished");
  snprintf(path, sizeof path, "%s/replay.json", out);
  r->replay = json_object_from_file(path);
  cr_assert_not_null(r->replay);
  int scores[2];
  resimulate(path, 2, scores);
  cr_assert_eq(scores[0], 2, "c-bot wins both rounds");
  cr_assert_eq(scores[1], 0);
}

static void spin_free(spin_run *r) {
  json_object_put(r->result);
  json_object_put(r->replay);
  t_rmdir(r->dir);
}

/* The spinner's seat in the replay, its instance in result.json, and the
 * turns of round 1 from the 4th on: its move lost ('-') at a time of at
 * least budget + bank. */
static json_object *spin_checks(spin_run *r, json_object **inst) {
  json_object *seat = json_object_array_get_idx(jget(r->replay, "seats"), 1);
  *inst = json_object_array_get_idx(jget(r->result, "instances"), 1);
  cr_assert_str_eq(json_object_get_string(jget(*inst, "name")), "p1");
  json_object *turns = jget(json_object_array_get_idx(jget(r->replay, "rounds"), 0), "turns");
  json_object *t4 = json_object_array_get_idx(turns, 4);
  cr_assert_not_null(t4, "round 1 ended before the spinner's 4th move");
  cr_assert_eq(json_object_get_string(jget(t4, "moves"))[1], '-', "the 4th move is lost");
  /* The bank is what its first turns left of 100 ms: on a loaded host a
   * first turn took past its 50 ms (the 4th was charged 120 ms, in CI). */
  double bank = 100;
  for (size_t i = 0; i < 4; i++) {
    json_object *all = NULL; /* a turn before any move has no "ms" */
    json_object_object_get_ex(json_object_array_get_idx(turns, i), "ms", &all);
    json_object *m = all ? json_object_array_get_idx(all, 1) : NULL;
    double used = m ? json_object_get_double(m) : 0;
    bank -= used > 50 ? used - 50 : 0;
  }
  bank = bank < 0 ? 0 : bank;
  double ms = json_object_get_double(json_object_array_get_idx(jget(t4, "ms"), 1));
  cr_assert(ms >= 50 + bank - 1 && ms < 1000,
            "charged %f ms: budget 50 + bank %.3f left of 100, seen at once", ms, bank);
  json_object *t = jget(*inst, "turns");
  cr_assert_eq(json_object_get_int(jget(seat, "clock_timeouts")),
               json_object_get_int(jget(t, "timeouts")), "the game saw every timeout");
  cr_assert_eq(json_object_get_int(jget(seat, "clocked_moves")),
               json_object_get_int(jget(t, "count")));
  return seat;
}

Test(samples, engine_tron_timeout_tle_kills_the_player, .timeout = 900) {
  spin_run r;
  spin_match(&r, "tle");
  json_object *inst, *seat = spin_checks(&r, &inst);
  cr_assert_str_eq(json_object_get_string(jget(inst, "verdict")), "TLE");
  cr_assert_eq(json_object_get_int(jget(inst, "exit_code")), 137);
  cr_assert_eq(json_object_get_int(jget(jget(inst, "turns"), "timeouts")), 1);
  cr_assert_eq(json_object_get_int(jget(seat, "rounds_absent")), 1, "killed: out of round 2");
  json_object *p1 = json_object_array_get_idx(jget(r.result, "players"), 1);
  cr_assert_str_eq(json_object_get_string(jget(p1, "verdict")), "TLE");
  spin_free(&r);
}

Test(samples, engine_tron_timeout_freeze_plays_on, .timeout = 900) {
  spin_run r;
  spin_match(&r, "freeze");
  json_object *inst, *seat = spin_checks(&r, &inst);
  cr_assert_str_eq(json_object_get_string(jget(inst, "verdict")), "OK");
  int timeouts = json_object_get_int(jget(jget(inst, "turns"), "timeouts"));
  cr_assert(timeouts > 1, "thawed at each turn, it runs out again (%d)", timeouts);
  cr_assert_eq(json_object_get_int(jget(seat, "rounds_absent")), 0, "never killed");
  spin_free(&r);
}
