/* Tron light cycles: the rules, with no I/O.
 *
 * Everything here is a pure function of (config, seed, moves): the same
 * inputs give the same maps, deaths and points on every machine, which is
 * what lets a replay be re-simulated and a match be re-run with the same
 * result. The game logic (game.c) wraps these rules with sockets and pipes;
 * the engine-free tests include this file directly. */
#ifndef TRON_RULES_H
#define TRON_RULES_H

#include <stdbool.h>
#include <stdint.h>

#define TR_MAX_SEATS 8
#define TR_MIN_SIDE 8
#define TR_MAX_SIDE 100

/* Cell contents: free, obstacle, or the trail of seat k stored as TR_TRAIL+k. */
#define TR_FREE 0
#define TR_OBSTACLE 1
#define TR_TRAIL 2

typedef enum { TR_UP = 0, TR_RIGHT = 1, TR_DOWN = 2, TR_LEFT = 3 } tr_dir;

/* Why a cycle crashed (the replay shows it). */
typedef enum {
  TR_ALIVE = 0,
  TR_WALL,         /* left the grid */
  TR_HIT_OBSTACLE, /* drove into an obstacle */
  TR_HIT_TRAIL,    /* drove into a trail (its own included) */
  TR_HEAD_ON,      /* two cycles entered the same cell */
  TR_ABSENT,       /* the player was not connected when the round started or it left */
} tr_cause;

typedef struct tr_config {
  int width, height;
  int obstacles; /* percent of the cells, 0..30 */
  int max_turns; /* a round ends after this many turns */
  uint64_t seed;
} tr_config;

typedef struct tr_round {
  tr_config cfg;
  int round;
  int nseats;
  uint8_t *cells; /* width*height, row-major */
  int x[TR_MAX_SEATS], y[TR_MAX_SEATS];
  tr_dir dir[TR_MAX_SEATS];
  tr_cause cause[TR_MAX_SEATS];
  int death_turn[TR_MAX_SEATS]; /* turn of the crash, -1 while alive */
  int points[TR_MAX_SEATS];     /* valid once tr_round_over() */
  bool forfeit[TR_MAX_SEATS];   /* crashes at the next step: seats leaving
                                  together share their rank */
  int turn;                     /* turns played so far */
  int dead;                     /* seats crashed so far */
} tr_round;

/* Fills defaults for the fields left at 0 (max_turns = width*height). */
void tr_config_defaults(tr_config *cfg);
/* NULL when valid, otherwise a static message naming the bad field. */
const char *tr_config_check(const tr_config *cfg, int nseats);

/* Generates round `round` of a match: obstacles from the seed (symmetric
 * under both mirrors, so no start slot is luckier than another) and the
 * start slots, which rotate among the seats from one round to the next.
 * Returns 0, or -1 when out of memory. Free with tr_round_free(). */
int tr_round_init(tr_round *r, const tr_config *cfg, int nseats, int round);
void tr_round_free(tr_round *r);

/* Marks a seat as crashed before the next move (absent or disconnected). */
void tr_round_forfeit(tr_round *r, int seat);

/* Plays one turn: every seat still alive moves one cell in moves[seat]
 * simultaneously. A move that reverses the current direction is ignored (the
 * cycle keeps going), as is an out-of-range value. Crashes are decided on
 * the state before the turn plus the new heads: leaving the grid, entering an
 * obstacle or a trail, or entering the same cell as another cycle. */
void tr_round_step(tr_round *r, const int moves[TR_MAX_SEATS]);

/* True when the round is over: at most one cycle left (with two seats or
 * more), none left, or max_turns reached. Points are then final: each seat
 * gets the number of seats that crashed strictly before it; seats still
 * alive at the end get the number of crashed seats. */
bool tr_round_over(tr_round *r);

bool tr_alive(const tr_round *r, int seat);
int tr_cell(const tr_round *r, int x, int y); /* TR_OBSTACLE outside the grid */
char tr_dir_char(tr_dir d);                   /* 'U','R','D','L' */
int tr_dir_parse(const char *s);              /* U/R/D/L, UP/..., N/E/S/W; -1 otherwise */
const char *tr_cause_name(tr_cause c);

/* The deterministic generator the rules use (splitmix64), exposed for tests. */
uint64_t tr_rand(uint64_t *state);

#endif
