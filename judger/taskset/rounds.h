/* Rounds of games between programs (docs/tasksets.md "Round robin",
 * "Swiss rounds"): who plays whom, in which seats, with which seed; and the
 * taskset JSON of those games. Pure: no Redis, no engine. */
#ifndef JD_ROUNDS_H
#define JD_ROUNDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "queue/queue.h"

struct json_object;

#define JD_ROUND_MAX_SEATS 16

/* One game: seat[i] is the index of the program in seat i. */
typedef struct jd_pairing {
  size_t nseats;
  size_t seat[JD_ROUND_MAX_SEATS];
  int round;
  int64_t seed;
} jd_pairing;

/* Every group of `seats` programs (C(n, seats), n >= seats) `rounds` times;
 * swap: every rotation of the seat order (2 seats: both orders); the k-th
 * game gets seeds[k % nseeds] (nseeds 0: seed = round). Games are listed
 * round by round (round 1 first). At most max games (0: no cap): more is an
 * error, as are seats outside 1..JD_ROUND_MAX_SEATS or rounds < 1. 0 and
 * *out (the caller frees it with free()), or -1 (*out NULL). */
int jd_round_robin(jd_pairing **out, size_t *nout, size_t nprograms, size_t seats, int rounds,
                   bool swap, const int64_t *seeds, size_t nseeds, size_t max);

/* One Swiss round of 2-seat games: programs sorted by points (ties: by an
 * order derived from seed, then index), paired top-down with the next one
 * they have not met (met[i*n+j], NULL: nobody met); an odd one out gets a
 * bye (the lowest-ranked program that has not had one is preferred only
 * through the pairing order: the last one left; not a game: its index in
 * *bye, else SIZE_MAX). No rematch when avoidable (backtracking); when
 * every pairing has a rematch, the greedy one is used. Deterministic: equal
 * inputs give equal rounds. Each game gets `round` and `seed`; the
 * higher-ranked program takes seat 0. 0 and *out (free()), or -1. */
int jd_swiss_round(jd_pairing **out, size_t *nout, size_t *bye, size_t nprograms,
                   const double *points, const bool *met, int round, int64_t seed);

/* The taskset JSON text of these games: each member a match task
 * {"id": "<taskset_id>-r<round>-g<k>", "type": "match", "match": game spec
 * with "players" = the programs in seat order (deep copies), config.<seed_key>
 * = the game's seed (when seed_key is non-NULL)}. game: the spec template
 * (game_logic, limits, config...); programs: their program objects
 * ({"id", "dir"|"git"...}). k counts from 1 within each round. 0 and *out
 * (free()), or -1 with err. */
int jd_taskset_gen(char **out, const char *taskset_id, jd_priority prio,
                   const struct json_object *game, struct json_object *const *programs,
                   size_t nprograms, const jd_pairing *games, size_t ngames, const char *seed_key,
                   char *err, size_t errlen);

#endif
