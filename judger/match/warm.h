/* Warm players: a match's player containers made ready after its game
 * logic's container has started, held back until the game logic asks for
 * them, so a warm start is never slower than a cold one.
 *
 * The game logic goes first and waits for nothing warm: its unit makes no
 * warm player's network, and no warm unit does any engine work until the
 * game logic's container has started (its STARTED note, after the
 * game_logic.started event). Then the loop thread begins the warm units
 * one by one (at most JD_WARM_AHEAD making their container at a time,
 * AI 0 first), one per AI of the match (not for an AI whose build failed;
 * at most max_concurrent and JD_WARM_MAX). A warm unit is a cold start
 * made ahead: its own network (the running game logic joins it as
 * "game", as for a cold start), then a container named and aliased
 * "p<ai index>" with the limits, user, capabilities, seccomp profile and
 * network isolation of a cold player. Its entry point is judger-hold in
 * "--warm" mode (hold.h) with the image's real entry point and command: it
 * blocks reading the go FIFO (one per warm container, in the work
 * directory, bound read-only at JD_WARM_FIFO), so nothing of the player
 * runs before the go.
 *
 * A start {"cmd":"start","name":N,"ai":I} that finds the unused warm unit
 * of AI I named N (jd_warm_take) writes the go: the player's identity
 * (JUDGER_TOKEN, JUDGER_AI_INDEX, JUDGER_PLAYER_NAME) as NUL-terminated
 * strings, kept in the FIFO until judger-hold reads them; judger-hold puts
 * them into its environment and execs the command, which becomes PID 1.
 * Whatever stage that unit is at, the start waits for it rather than
 * making a second, cold container: one that has not begun begins at once,
 * outside JD_WARM_AHEAD (the work a cold start would do, no more), one
 * under way is at least as far along as a cold start would be. The
 * instance's start (its started event, started_ms, the start of its wall
 * time) is the go, or the moment the container runs if the go came first.
 * A warm unit given its go that fails before its container runs (its
 * network, create or start) gives way to a cold start of the same name
 * (jd_warm_fell_through), which waits for its removal. Any other start (a
 * second instance of an AI, another name, a warm unit that failed or is
 * not there) is a cold start as before. Warm containers never used are
 * killed and removed with the match and are not instances of its result.
 *
 * "warm": false in the spec's limits, or jd_ctx.warm_off (the daemon's
 * "warm" setting), turns it off.
 *
 * warm.c is the loop thread's side (plan, begin, take, conflict, fall
 * through) and calls the units; a warm unit's thread runs a cold unit's
 * plan with the warm configuration (match_unit.c), so the units never call
 * back into warm.c. */
#ifndef JD_MATCH_WARM_H
#define JD_MATCH_WARM_H

#include "match/match_internal.h"

/* Warm units per match at most. */
#define JD_WARM_MAX 16
/* Warm units making their network and container at a time, ahead of
 * their start (a start begins its own at once, outside this bound): on a
 * 2-core engine one at a time leaves the game logic's own start-up the
 * rest of the machine. */
#define JD_WARM_AHEAD 1

/* Lists the warm units of the match, their go FIFOs made, none begun
 * (loop thread, after the game logic's unit). A failure only means fewer
 * warm units. */
void jd_warm_plan(jd_match *m);

/* Begins listed warm units, up to JD_WARM_AHEAD under way, once the game
 * logic's container runs and while the match has no status. Loop thread,
 * after each batch of notes. */
void jd_warm_advance(jd_match *m);

/* The warm unit for a start of AI ai named name, given its go (its state
 * UNIT_STARTING; the caller runs its start when u->ready), begun now if
 * it had not begun; or NULL when the start must be cold. Loop thread. */
jd_unit *jd_warm_take(jd_match *m, int ai, const char *name);

/* For a cold start named name: an unused warm unit of that name under
 * way is killed and returned (the cold unit's retire: its thread waits
 * for the removal before the create, so the name never resolves to both);
 * one not begun is dropped. NULL when there is none to wait for. Loop
 * thread. */
jd_unit *jd_warm_conflict(jd_match *m, const char *name);

/* Whether u, exited, is a warm unit given its go whose container never
 * ran, with no kill asked for and no end of the match: a cold start of
 * its name may take its place (the caller then retires u and makes it not
 * an instance: went false). Loop thread. */
bool jd_warm_fell_through(const jd_match *m, const jd_unit *u);

#endif
