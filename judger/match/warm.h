/* Warm players: a match's player containers started while its game logic
 * starts, held back until the game logic asks for them.
 *
 * While the game logic's container starts, the judger creates and starts
 * one container per AI of the match (not for an AI whose build failed; at
 * most max_concurrent and JD_WARM_MAX), named and aliased "p<ai index>" on
 * the network a cold player would get, with the limits, user,
 * capabilities, seccomp profile and network isolation of a cold player.
 * Its entry point is judger-hold in "--warm" mode (hold.h) with the
 * image's real entry point and command: it blocks reading the go FIFO
 * (one per warm container, in the work directory, bound read-only at
 * JD_WARM_FIFO), so nothing of the player runs before the go.
 *
 * A start {"cmd":"start","name":N,"ai":I} that finds a warm container of
 * AI I named N that has not been used (jd_warm_take) writes the go: the
 * player's identity (JUDGER_TOKEN, JUDGER_AI_INDEX, JUDGER_PLAYER_NAME) as
 * NUL-terminated strings; judger-hold puts them into its environment and
 * execs the command, which becomes PID 1. The instance's start (its
 * started event, started_ms, the start of its wall time) is the go, or the
 * moment the container runs if the go came first. Any other start (a
 * second instance of an AI, another name, a warm container that died or
 * is not there) is a cold start as before. Warm containers never used are
 * killed and removed with the match and are not instances of its result.
 *
 * "warm": false in the spec's limits, or jd_ctx.warm_off (the daemon's
 * "warm" setting), turns it off.
 *
 * warm.c is the loop thread's side (spawn, take, conflict) and calls the
 * units; what a warm unit's thread waits for (its network settled, the
 * game logic joined, a retired container removed) is the units' own
 * (match_unit_net.c), so the units never call back into warm.c. */
#ifndef JD_MATCH_WARM_H
#define JD_MATCH_WARM_H

#include "match/match_internal.h"

/* Warm containers per match at most. */
#define JD_WARM_MAX 16

/* Starts the warm containers of the match (loop thread, after the game
 * logic's unit). A failure only means fewer warm containers. */
void jd_warm_spawn(jd_match *m);

/* The warm container for a start of AI ai named name, given its go (its
 * state UNIT_STARTING; the caller runs its start when u->ready), or NULL
 * when the start must be cold. Loop thread. */
jd_unit *jd_warm_take(jd_match *m, int ai, const char *name);

/* For a cold start named name: an unused warm container of that name is
 * killed and returned (the cold unit's retire: its thread waits for the
 * removal before the create, so the name never resolves to both),
 * NULL when there is none. Loop thread. */
jd_unit *jd_warm_conflict(jd_match *m, const char *name);

#endif
