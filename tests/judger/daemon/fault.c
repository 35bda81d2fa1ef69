// test-labels: unit
/* judger/daemon/fault.c: the fault attribution table of docs/daemon.md,
 * row by row. */
#include "daemon/daemon.h"
#include "daemon/fault.h"
#include "support.h"

static jd_blame blame(int outcome, jd_task_status st, bool ue, bool sig, bool gone) {
  jd_fault_facts f = {outcome, st, ue, sig, gone};
  return jd_fault_blame(&f);
}

Test(fault, the_table) {
  /* A result the program earned stands, whatever the engine did later. */
  cr_assert_eq(blame(JD_EXEC_DONE, JD_TASK_STATUS_FINISHED, false, false, true), JD_BLAME_NONE);
  cr_assert_eq(blame(JD_EXEC_DONE, JD_TASK_STATUS_CANCELLED, false, false, false), JD_BLAME_NONE);
  cr_assert_eq(blame(JD_EXEC_DONE, JD_TASK_STATUS_STALLED, false, false, false), JD_BLAME_NONE);
  /* A failure is the program's only while the engine stayed and reported. */
  cr_assert_eq(blame(JD_EXEC_DONE, JD_TASK_STATUS_FAILED, false, false, false),
               JD_BLAME_PROGRAM);
  cr_assert_eq(blame(JD_EXEC_DONE, JD_TASK_STATUS_FAILED, false, true, false), JD_BLAME_PROGRAM);
  cr_assert_eq(blame(JD_EXEC_DONE, JD_TASK_STATUS_FAILED, false, true, true), JD_BLAME_SYSTEM);
  cr_assert_eq(blame(JD_EXEC_DONE, JD_TASK_STATUS_FAILED, false, false, true), JD_BLAME_SYSTEM);
  cr_assert_eq(blame(JD_EXEC_DONE, JD_TASK_STATUS_FAILED, true, false, false), JD_BLAME_SYSTEM);
  cr_assert_eq(blame(JD_EXEC_DONE, JD_TASK_STATUS_ERROR, false, false, false), JD_BLAME_SYSTEM);
  cr_assert_eq(blame(JD_EXEC_RETRY, JD_TASK_STATUS_FINISHED, false, false, false),
               JD_BLAME_SYSTEM);
  cr_assert_eq(blame(JD_EXEC_INVALID, JD_TASK_STATUS_FINISHED, false, false, false),
               JD_BLAME_TASK);
}

Test(fault, only_a_signal_death_waits_for_the_engine_watcher) {
  jd_fault_facts sig = {JD_EXEC_DONE, JD_TASK_STATUS_FAILED, false, true, false};
  cr_assert(jd_fault_needs_confirm(&sig));
  jd_fault_facts crash = {JD_EXEC_DONE, JD_TASK_STATUS_FAILED, false, false, false};
  cr_assert(!jd_fault_needs_confirm(&crash), "an ordinary crash is blamed at once");
  jd_fault_facts gone = {JD_EXEC_DONE, JD_TASK_STATUS_FAILED, false, true, true};
  cr_assert(!jd_fault_needs_confirm(&gone), "already known: nothing to wait for");
  jd_fault_facts fin = {JD_EXEC_DONE, JD_TASK_STATUS_FINISHED, false, true, false};
  cr_assert(!jd_fault_needs_confirm(&fin));
  cr_assert_str_eq(jd_blame_name(JD_BLAME_SYSTEM), "system");
  cr_assert_str_eq(jd_blame_name(JD_BLAME_COUNT), "?");
}
