/* The verdict policy of a match's containers (see match_verdict.h). */
#include "match/match_verdict.h"

static const char *const kill_names[] = {
#define JD_KILL_ROW(code, text) text,
    JD_KILL_MAP(JD_KILL_ROW)
#undef JD_KILL_ROW
};

const char *jd_kill_reason_name(jd_kill_reason r) {
  return (unsigned)r < JD_KILL_COUNT ? kill_names[r] : "?";
}

jd_verdict jd_verdict_of(bool engine_error, bool oom_killed, jd_kill_reason kill,
                         int64_t exit_code) {
  if (engine_error)
    return JD_VERDICT_UE;
  if (oom_killed)
    return JD_VERDICT_MLE;
  switch (kill) {
  case JD_KILL_TLE:
  case JD_KILL_TURN:
    return JD_VERDICT_TLE;
  case JD_KILL_OLE:
    return JD_VERDICT_OLE;
  case JD_KILL_STOP:
  case JD_KILL_END:
  case JD_KILL_CANCEL:
  case JD_KILL_FAULT:
    return JD_VERDICT_OK; /* not its fault: it was stopped */
  case JD_KILL_NONE:
  case JD_KILL_COUNT:
    break;
  }
  return exit_code == 0 ? JD_VERDICT_OK : JD_VERDICT_RE;
}

bool jd_killed_by_judger(int64_t exit_code) { return exit_code == 128 + 9; }

bool jd_kill_is_orderly(jd_kill_reason r) {
  return r == JD_KILL_STOP || r == JD_KILL_END || r == JD_KILL_CANCEL || r == JD_KILL_FAULT;
}

void jd_ending_settle(jd_ending *e) {
  if (e->kill_sent)
    e->kill_sent = jd_killed_by_judger(e->exit_code);
  if (e->oom_killed)
    e->kill_sent = false; /* MLE: the memory limit ended it, whoever's kill came last */
  else if (e->kill_sent && jd_kill_is_orderly(e->kill))
    e->exit_code = 0;
}
