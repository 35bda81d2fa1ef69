/* The verdict policy of a match's containers: why the judger killed one, and
 * how the way it ended (engine failure, OOM kill, the judger's kill, its exit
 * code) becomes its verdict (common/verdict.h). */
#ifndef JD_MATCH_VERDICT_H
#define JD_MATCH_VERDICT_H

#include <stdbool.h>
#include <stdint.h>

#include "common/verdict.h"

/* Why the judger killed a container (the first reason wins), with the words
 * that explain it in an instance's message. */
#define JD_KILL_MAP(XX)                                                                            \
  XX(NONE, "none")                                                                                 \
  XX(STOP, "stopped by the game logic")                                                            \
  XX(END, "the match ended")                                                                       \
  XX(TLE, "wall time exceeded")                                                                    \
  XX(OLE, "log over its cap")                                                                      \
  XX(CANCEL, "match cancelled")

typedef enum jd_kill_reason {
#define JD_KILL_ENUM(code, text) JD_KILL_##code,
  JD_KILL_MAP(JD_KILL_ENUM)
#undef JD_KILL_ENUM
      JD_KILL_COUNT
} jd_kill_reason;

/* "wall time exceeded", ...; "?" outside the enum. Static storage. */
const char *jd_kill_reason_name(jd_kill_reason r);

/* The verdict of a container: UE (engine failure) > MLE (OOM-killed) >
 * TLE/OLE (killed for it) > OK (stopped by the game logic, the end of the
 * match or a cancel: not its fault) > RE (non-zero exit) > OK. */
jd_verdict jd_verdict_of(bool engine_error, bool oom_killed, jd_kill_reason kill,
                         int64_t exit_code);

/* Whether the judger's kill (a successful kill call) is what ended the
 * container, from how it ended: the kill is a SIGKILL (judger-hold turns
 * the game logic's stop into one), so the container's exit code is 137 (its
 * init or judger-hold reports the death by SIGKILL). Any other code is the
 * program's own exit, which won the race with the kill: a player that
 * crashed as the match ended is RE, not "killed, OK". Not decided from
 * timestamps: the engine's clock need not be the judger's. */
bool jd_killed_by_judger(int64_t exit_code);

/* A kill that is no fault of the program's (stop, end of the match,
 * cancel): its exit code is reported as 0. */
bool jd_kill_is_orderly(jd_kill_reason r);

#endif
