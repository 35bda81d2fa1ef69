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

#endif
