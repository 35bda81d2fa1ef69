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
 * "warm" setting), turns it off. */
#ifndef JD_MATCH_WARM_H
#define JD_MATCH_WARM_H

#include "match/match_internal.h"

/* Warm containers per match at most. */
#define JD_WARM_MAX 16

/* Starts the warm containers of the match (loop thread, after the game
 * logic's unit). A failure only means fewer warm containers. */
void jd_warm_spawn(jd_match *m);

/* A warm unit's network is created (net_id owned, NULL on a failure): the
 * game logic's thread may join it. Unit thread. */
void jd_warm_net_settle(jd_unit *u, char *net_id);

/* Joins the game logic (created, not yet started: a connect during a
 * start waits for it) to every warm player's network as "game". Game
 * logic's unit thread. */
void jd_warm_join(jd_match *m, const char *gl_id);

/* The warm container for a start of AI ai named name, given its go (its
 * state UNIT_STARTING; the caller runs its start when u->ready), or NULL
 * when the start must be cold. Loop thread. */
jd_unit *jd_warm_take(jd_match *m, int ai, const char *name);

/* For a cold start named name: an unused warm container of that name is
 * killed and returned (the cold unit's retire: jd_warm_await_retired waits
 * for its removal before the create, so the name never resolves to both),
 * NULL when there is none. Loop thread. */
jd_unit *jd_warm_conflict(jd_match *m, const char *name);
/* Unit threads: waits for u->retire's removal (NULL: returns); tells the
 * waiters u's container is removed. */
void jd_warm_await_retired(jd_unit *u);
void jd_warm_removed(jd_unit *u);

#endif
