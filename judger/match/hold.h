/* The game logic's entry point, judger-hold (judger/match/hold/hold_main.c,
 * a static binary built with the judger and embedded in it).
 *
 * /judger/out is a tmpfs of the game-logic container, capped at out_max:
 * the game cannot fill the host's disk. A tmpfs dies with its container and
 * the engine's archive API does not see a running container's tmpfs mounts
 * (Docker 20.10 reads the root file system from the host's side), so the
 * outputs leave through the container's own entry point: judger-hold runs
 * as PID 1, runs the game's command, and once the game has exited (or the
 * judger asked it to stop with SIGUSR2 from outside the container) kills
 * what is left of the game, writes /judger/out as a tar stream into the
 * FIFO bound at JD_HOLD_FIFO, and exits with the game's exit code (128+sig
 * for a signal, 127/126 when the command cannot be run). The judger reads
 * the FIFO as hostile input (match_outputs.c). */
#ifndef JD_MATCH_HOLD_H
#define JD_MATCH_HOLD_H

#include <stddef.h>

/* A warm player (match/warm.h): judger-hold --warm CMD [ARG...], bound
 * read-only at JD_WARM_HOLD, is its entry point; it reads the go message
 * from the FIFO bound read-only at JD_WARM_FIFO (outside /judger, which a
 * player never has), at most JD_WARM_MSG_MAX bytes of NUL-terminated
 * "KEY=VALUE" strings closed by an empty one, adds them to its environment
 * and execs CMD (found through PATH, as the engine would): the player is
 * then PID 1 of its container, exactly as in a cold start. */
#define JD_WARM_FIFO "/.judger-go"
#define JD_WARM_HOLD "/.judger-hold"
#define JD_WARM_MSG_MAX 16384
#define JD_HOLD_PATH "/judger/.hold"
#define JD_HOLD_FIFO "/judger/.outputs"
#define JD_HOLD_OUT "/judger/out"
/* Directory levels of /judger/out copied out; deeper entries are refused
 * (by judger-hold and again by the judger's extraction). */
#define JD_OUT_DEPTH_MAX 64
/* Files of the game logic's outputs copied out at most. */
#define JD_OUT_FILES_MAX 10000

/* Writes the embedded judger-hold into state_dir (once per content, under a
 * name with its hash) and sets *path_out (owned; free) to it. Returns 0, or
 * -1 with errno. */
int jd_hold_install(char **path_out, const char *state_dir);

#endif
