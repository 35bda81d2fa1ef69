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
/* The cap on games (and Swiss programs) when the caller gives none. */
#define JD_ROUND_MAX_GAMES_DEFAULT ((size_t)1000000)

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
 * round by round (round 1 first), groups in lexicographic order, each
 * group's rotations together: rotation r puts group[(i + r) % seats] in
 * seat i. Seeds: every game of round r gets seeds[(r - 1) % nseeds], so
 * every group plays the same seeds and both sides of a seed (give as many
 * rounds as seeds to play them all). At most max games (0:
 * JD_ROUND_MAX_GAMES_DEFAULT): more is an error, as are seats outside
 * 1..JD_ROUND_MAX_SEATS, fewer programs than seats or rounds < 1. 0 and
 * *out (the caller frees it with free()), or -1 (*out NULL). */
int jd_round_robin(jd_pairing **out, size_t *nout, size_t nprograms, size_t seats, int rounds,
                   bool swap, const int64_t *seeds, size_t nseeds, size_t max);

/* One Swiss round of 2-seat games: programs sorted by points (ties: an
 * order drawn from seed, then index), paired top-down, each with the next
 * one it has not met (met[i*n+j], NULL: nobody met). With an odd count one
 * program gets a bye (not a game: its index in *bye, else SIZE_MAX): the
 * lowest-ranked one without a bye yet (met[i*n+i] true: i had one) whose
 * absence leaves the rest pairable without a rematch. No rematch when
 * avoidable: a backtracking search, bounded; past its cap, or when every
 * pairing has a rematch, the pairs are greedy (top-down, the first one not
 * met, else the next one; the bye as one more program ranked last).
 * Deterministic: equal inputs give equal rounds. Each game gets `round`
 * and `seed`; the higher-ranked program of board k (0-based) takes seat 0
 * when k + round is odd, seat 1 else. Points must be finite. 0 and *out
 * (free(); *nout may be 0), or -1. */
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
