/* Standings of a set of games: wins, draws, losses, no results, score sums,
 * the pairwise matrix and Bradley-Terry ratings on the Elo scale
 * (taskset/rating.h; docs/tasksets.md "Standings and ratings").
 *
 * Programs are identified by their id (a match's players[i].id), added on
 * first sight in order; a program id is 1..JD_STANDINGS_ID_MAX printable
 * ASCII characters without spaces. A jd_standings is used by one thread. */
#ifndef JD_STANDINGS_H
#define JD_STANDINGS_H

#include <stddef.h>
#include <stdint.h>

#define JD_STANDINGS_ID_MAX 128
/* At most this many programs (the pairwise matrices are n x n). */
#define JD_STANDINGS_MAX_PROGRAMS 2048
/* Seats of one game at most (a match has at most 16 players). */
#define JD_STANDINGS_MAX_SEATS 64

typedef struct jd_standing_row {
  char *program;
  int64_t games, wins, draws, losses, no_result;
  double score_sum, rating, rating_lo, rating_hi; /* 95% interval */
} jd_standing_row;

typedef struct jd_standings jd_standings;

int jd_standings_new(jd_standings **out);
/* One game: the program id of each seat (players[i].id) and its score; scores NULL =
 * the game has no result (failed match): counted in no_result only. Programs are added
 * on first sight, in order. Win = strictly highest score; draw = tied for highest;
 * pairwise: each pair of seats in a game is a pairwise win/draw/loss by score.
 * A program in several seats of one game counts once per seat; pairs of seats of the
 * same program are not compared. -1 (nothing counted) on a bad id, a non-finite score,
 * nseats 0 or over JD_STANDINGS_MAX_SEATS, too many programs, or out of memory. Invalidates the
 * rating (call jd_standings_rate again). */
int jd_standings_add(jd_standings *s, const char *const *programs, const double *scores,
                     size_t nseats);
/* Reads a stored result.json (status "finished": scores; else no result).
 * Every field is type-checked: "status" (or "task"."status") a string,
 * "players" an array of objects with a string "id", "scores" null or an array
 * of numbers as long as players. A result without players (cancelled before it
 * ran) names no program: counted as unattributed only. -1 with err on a
 * malformed result (nothing counted). */
int jd_standings_add_result(jd_standings *s, const char *result_json, char *err, size_t errlen);
/* Bradley-Terry (MM, prior of one virtual draw against rating 1500), Elo
 * scale, 95% CI; sorts the rows by rating (ties: points, then first sight).
 * -1 when out of memory or the fit did not converge (rows then in first-sight
 * order with rating 1500 and an infinite interval). */
int jd_standings_rate(jd_standings *s);
size_t jd_standings_count(const jd_standings *s);
/* Results without any player to count them against. */
int64_t jd_standings_unattributed(const jd_standings *s);
const jd_standing_row *jd_standings_row(const jd_standings *s, size_t i); /* by rank */
/* pairwise: wins of i over j, draws between them (rank order indices) */
void jd_standings_pair(const jd_standings *s, size_t i, size_t j, int64_t *wins, int64_t *draws);
/* {"programs": [...rows by rank...], "matrix": {"programs": [...], "wins": [[..]],
 *  "draws": [[..]]}, "rating": {"model": "bradley-terry", "scale": "elo", ...}}. */
int jd_standings_json(char **out, const jd_standings *s);
/* The table and win matrix for a person (fixed width, ASCII). */
int jd_standings_text(char **out, const jd_standings *s);
/* For Swiss pairing: points (win 1, draw 0.5) per program index (order of first
 * sight) into points[0..count-1]. */
void jd_standings_points(const jd_standings *s, double *points);
/* A program's index in order of first sight, or SIZE_MAX when unknown. */
size_t jd_standings_index(const jd_standings *s, const char *program);
/* Pairwise counts by first-sight indices (for a Swiss "met" matrix). */
void jd_standings_pair_seen(const jd_standings *s, size_t i, size_t j, int64_t *wins,
                            int64_t *draws, int64_t *losses);
void jd_standings_free(jd_standings *s);

#endif
