// test-labels: unit
/* How a container ended -> its verdict, and the kill reasons' words. */
#include "match/match_verdict.h"
#include "support.h"

Test(match_verdict, verdicts) {
  cr_assert_eq(jd_verdict_of(false, false, JD_KILL_NONE, 0), JD_VERDICT_OK);
  cr_assert_eq(jd_verdict_of(false, false, JD_KILL_NONE, 1), JD_VERDICT_RE);
  cr_assert_eq(jd_verdict_of(false, false, JD_KILL_NONE, 139), JD_VERDICT_RE);
  cr_assert_eq(jd_verdict_of(false, true, JD_KILL_NONE, 137), JD_VERDICT_MLE);
  cr_assert_eq(jd_verdict_of(false, true, JD_KILL_TLE, 137), JD_VERDICT_MLE);
  cr_assert_eq(jd_verdict_of(false, false, JD_KILL_TLE, 137), JD_VERDICT_TLE);
  cr_assert_eq(jd_verdict_of(false, false, JD_KILL_OLE, 137), JD_VERDICT_OLE);
  cr_assert_eq(jd_verdict_of(false, false, JD_KILL_STOP, 137), JD_VERDICT_OK);
  cr_assert_eq(jd_verdict_of(false, false, JD_KILL_END, 137), JD_VERDICT_OK);
  cr_assert_eq(jd_verdict_of(true, true, JD_KILL_TLE, 0), JD_VERDICT_UE);
  cr_assert_str_eq(jd_kill_reason_name(JD_KILL_TLE), "wall time exceeded");
}

Test(match_verdict, only_a_death_by_sigkill_is_the_judgers_kill) {
  /* The kill call succeeded in each case; how the container ended says
   * whether it is what ended it. */
  cr_assert(jd_killed_by_judger(137));
  cr_assert_not(jd_killed_by_judger(0), "exited by itself as the kill went out");
  cr_assert_not(jd_killed_by_judger(3), "crashed as the match ended: RE, not OK");
  cr_assert_not(jd_killed_by_judger(139));
  cr_assert(jd_kill_is_orderly(JD_KILL_END) && jd_kill_is_orderly(JD_KILL_STOP) &&
            jd_kill_is_orderly(JD_KILL_CANCEL));
  cr_assert_not(jd_kill_is_orderly(JD_KILL_TLE) || jd_kill_is_orderly(JD_KILL_OLE));
}

Test(match_verdict, which_ending_wins) {
  /* The end-of-match kill landed after an OOM kill in the container: MLE,
   * its own exit, not "killed" (docs/match-spec.md). */
  jd_ending e = {.exit_code = 137, .oom_killed = true, .kill_sent = true, .kill = JD_KILL_END};
  jd_ending_settle(&e);
  cr_assert_eq(e.exit_code, 137);
  cr_assert_not(e.kill_sent);
  cr_assert_eq(jd_verdict_of(false, e.oom_killed, e.kill_sent ? e.kill : JD_KILL_NONE, e.exit_code),
               JD_VERDICT_MLE);
  /* The end-of-match kill alone: "the match ended", exit 0, killed. */
  e = (jd_ending){.exit_code = 137, .kill_sent = true, .kill = JD_KILL_END};
  jd_ending_settle(&e);
  cr_assert_eq(e.exit_code, 0);
  cr_assert(e.kill_sent);
  /* A kill for a fault keeps the signal death. */
  e = (jd_ending){.exit_code = 137, .kill_sent = true, .kill = JD_KILL_TLE};
  jd_ending_settle(&e);
  cr_assert_eq(e.exit_code, 137);
  cr_assert(e.kill_sent);
  /* It crashed as the kill went out: its own exit, not killed. */
  e = (jd_ending){.exit_code = 3, .kill_sent = true, .kill = JD_KILL_END};
  jd_ending_settle(&e);
  cr_assert_eq(e.exit_code, 3);
  cr_assert_not(e.kill_sent);
  /* The judger's kill never reached it: nothing is rewritten. */
  e = (jd_ending){.exit_code = 137, .kill = JD_KILL_END};
  jd_ending_settle(&e);
  cr_assert_eq(e.exit_code, 137);
  cr_assert_not(e.kill_sent);
  /* The kill that stops the rest of a match after a system fault is not
   * the programs' fault. */
  cr_assert(jd_kill_is_orderly(JD_KILL_FAULT));
  cr_assert_eq(jd_verdict_of(false, false, JD_KILL_FAULT, 137), JD_VERDICT_OK);
}
