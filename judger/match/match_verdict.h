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
  XX(TURN, "turn time exceeded (its budget and bank spent)")                                       \
  XX(OLE, "log over its cap")                                                                      \
  XX(CANCEL, "match cancelled")                                                                    \
  XX(FAULT, "the match stopped on a system fault")

typedef enum jd_kill_reason {
#define JD_KILL_ENUM(code, text) JD_KILL_##code,
  JD_KILL_MAP(JD_KILL_ENUM)
#undef JD_KILL_ENUM
      JD_KILL_COUNT
} jd_kill_reason;

/* "wall time exceeded", ...; "?" outside the enum. Static storage. */
const char *jd_kill_reason_name(jd_kill_reason r);

/* The verdict of a container: UE (engine failure, or ended from outside
 * the judger) > MLE (OOM-killed) > TLE/OLE (killed for it) > OK (stopped
 * by the game logic, the end of the match, a cancel or a system fault
 * elsewhere: not its fault) > RE (non-zero exit) > OK. */
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
 * cancel, a system fault elsewhere): its exit code is reported as 0. */
bool jd_kill_is_orderly(jd_kill_reason r);

/* How a container ended, settled so that the fields of its result agree
 * with its verdict (docs/match-spec.md, "Which ending wins"). */
typedef struct jd_ending {
  /* In: the container's exit code. Out: the one reported (0 for an
   * orderly kill of the judger's that ended it). */
  int64_t exit_code;
  /* An OOM kill in the container (inspect's OOMKilled or an "oom" event),
   * at any time of its life: the memory limit covers its whole tree. */
  bool oom_killed;
  /* In: the judger's kill call reached the running container. Out: that
   * kill is what ended it and what its verdict comes from. */
  bool kill_sent;
  jd_kill_reason kill; /* the reason the judger asked for (NONE: none) */
} jd_ending;

/* The rule for races between a container's own end and the judger's kill:
 *   1. the kill ended it only if it died of SIGKILL (jd_killed_by_judger);
 *   2. an OOM kill wins over any kill of the judger's, even one that
 *      landed after it (a wrapper whose child was OOM-killed closes its
 *      socket, the game ends the match, the end-of-match kill lands
 *      first): MLE, its own exit code (137), not "killed";
 *   3. otherwise an orderly kill of the judger's that ended it reads as
 *      exit 0 ("the match ended": OK, killed). */
void jd_ending_settle(jd_ending *e);

#endif
