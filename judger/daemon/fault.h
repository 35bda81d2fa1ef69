/* Fault attribution: the one place that decides whether the way a run
 * ended is the program's doing (its result is stored: `failed`) or ours
 * (the judger's, the engine's: `error`, the task is retried on any host and
 * no program is blamed). docs/daemon.md "Fault attribution" has the table.
 *
 * The facts come from the executor (how the containers ended) and from the
 * engine watcher (sweeper.c: did the engine go away or restart while the
 * task ran). */
#ifndef JD_FAULT_H
#define JD_FAULT_H

#include <stdbool.h>
#include <stdint.h>

#include "queue/task.h"

/* How long a failed run whose containers died by a signal the judger did
 * not send waits to see whether the engine goes away: dockerd stopping
 * sends SIGTERM (143), waits up to its stop timeout (10 s) for the
 * containers that ignore it, SIGKILLs them (137) and only then closes its
 * API. */
#define JD_FAULT_CONFIRM_MS 20000

#define JD_BLAME_MAP(XX)                                                                           \
  XX(NONE, "none", "store the result as it is (finished, cancelled, stalled)")                     \
  XX(PROGRAM, "program", "the program's fault: store the `failed` result")                         \
  XX(SYSTEM, "system", "ours or the engine's: `error`, retried on any host, nobody blamed")        \
  XX(TASK, "task", "the task itself can never run: dead letter")

typedef enum jd_blame {
#define JD_BLAME_ENUM(code, name, text) JD_BLAME_##code,
  JD_BLAME_MAP(JD_BLAME_ENUM)
#undef JD_BLAME_ENUM
      JD_BLAME_COUNT
} jd_blame;

const char *jd_blame_name(jd_blame b);

typedef struct jd_fault_facts {
  int outcome;           /* the executor's jd_exec_outcome */
  jd_task_status status; /* JD_EXEC_DONE: the run's status */
  /* From the executor: a container whose end the engine could not report
   * (verdict UE: a wait that failed, "No such container"). */
  bool engine_error;
  /* From the executor: a container that died by SIGTERM/SIGKILL (exit
   * 143/137) that the judger did not send and that was not an OOM kill. */
  bool signal_exit;
  /* From the engine watcher: the engine went away or restarted between the
   * run's start and now (its event stream broke), or is away now. */
  bool engine_went_away;
} jd_fault_facts;

/* The decision; pure (the table in docs/daemon.md, tested in
 * tests/judger/daemon/fault.c). */
jd_blame jd_fault_blame(const jd_fault_facts *f);

/* True when a failed run must first wait (up to JD_FAULT_CONFIRM_MS) for
 * the engine watcher before it is blamed: its containers died the way an
 * engine shutdown kills them. */
bool jd_fault_needs_confirm(const jd_fault_facts *f);

#endif
