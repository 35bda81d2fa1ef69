/* The daemon: takes tasks from the Redis queue (queue.h) by priority and
 * runs them in slots (worker threads) through an executor, renews their
 * leases, reports progress and results, drains on request.
 *
 * Threads: the caller's thread (jd_daemon_run) reads the streams; one
 * worker per slot runs tasks; a keeper renews leases, the host heartbeat
 * and progress, ends stalled matches and cleans up after dead hosts; a
 * guard pauses taking tasks while the engine is away or a disk is low
 * (guard.h). Each has its own Redis connection. See docs/daemon.md.
 */
#ifndef JD_DAEMON_H
#define JD_DAEMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/context.h"
#include "daemon/config.h"
#include "daemon/daemon_metrics.h"
#include "match/match_event.h"
#include "queue/task.h"

/* ---- executors: what runs a task --------------------------------------- */

typedef enum {
  JD_EXEC_DONE = 0,    /* a result to store (whatever the program did) */
  JD_EXEC_INVALID = 1, /* the task can never run: dead letter at once */
  JD_EXEC_RETRY = 2,   /* a system fault: leave it for another attempt */
} jd_exec_outcome;

typedef struct jd_exec_env {
  const char *out_dir; /* empty directory for this task's outputs */
  const char *host_id;
  int attempt;
  dk_cancel *cancel; /* fired on drain timeout or stall */
  /* Progress events, typed (match/match_event.h); any call counts as
   * activity, and match.progress becomes the task's progress (serialised
   * there, at the edge: the status record in Redis). */
  void (*event)(void *ud, const jd_match_event *ev);
  void *ud;
  /* The slot's Redis connection, for the task's links to other tasks: its
   * {"task","file"} inputs are read and its "publish" files stored through
   * it (daemon/publish.h). NULL: a task with either is refused. */
  jd_queue *q;
  long long claim; /* the run's claim token: its published outputs are fenced by it */
} jd_exec_env;

typedef struct jd_exec_result {
  /* DONE: the result as an object (jd_match_result_object or
   * jd_build_result_object), owned: the daemon adds what it knows and
   * renders it once. */
  struct json_object *result;
  jd_task_status status; /* DONE: finished, failed, error or cancelled */
  char *summary;         /* one line, may be NULL */
  char *reason;          /* INVALID/RETRY: why, may be NULL */
  /* Facts for fault attribution (fault.h), DONE only: a container whose
   * end the engine could not report (UE); one that died by SIGTERM or
   * SIGKILL (143/137) the judger did not send, not OOM-killed. */
  bool engine_error, signal_exit;
  /* Timings for judger_task_phase_seconds (any outcome): phase_s[p] is
   * measured when bit p of `phases` is set. */
  double phase_s[JD_PHASE_COUNT];
  unsigned phases;
  /* DONE matches: players by verdict (judger_player_verdicts_total). */
  unsigned verdicts[JD_VERDICT_COUNT];
  /* DONE matches: turns of turn-clocked players, ended and timed out
   * (judger_turns_total). */
  uint64_t turns_ended, turns_timed_out;
  /* What the run left to remove (any outcome; NULL: nothing): the daemon
   * stores the result first, frees the slot, then hands it to the
   * executor's teardown() on a teardown thread. */
  void *teardown;
} jd_exec_result;

/* Notes a phase's time in res. */
static inline void jd_exec_phase(jd_exec_result *res, jd_phase p, double seconds) {
  if (seconds >= 0 && (unsigned)p < JD_PHASE_COUNT) {
    res->phase_s[p] = seconds;
    res->phases |= 1u << p;
  }
}

/* A task's inner spec is parsed once, by prepare(), and the parsed form
 * travels with the task to execute(): the queue's JSON is never read
 * again. */
typedef struct jd_executor {
  /* Parses and checks the task's inner spec (the build request or match
   * spec): 0 and *prepared (opaque, owned by the caller, who gives it back
   * to release(); NULL is allowed), or -1 with a reason in err. May be NULL
   * (everything valid, nothing prepared). */
  int (*prepare)(void **prepared, void *self, const jd_task *task, char *err, size_t errlen);
  /* Runs the task with what prepare() made; returns a jd_exec_outcome and
   * fills res. Called from a worker thread; several run at once with
   * --slots > 1. */
  int (*execute)(void *self, const jd_task *task, void *prepared, const jd_exec_env *env,
                 jd_exec_result *res);
  /* Frees what prepare() made (NULL-safe). May be NULL when prepare()
   * allocates nothing. */
  void (*release)(void *self, void *prepared);
  /* The label ("k=v") on what running the prepared task creates on the
   * engine, so the periodic reconciliation leaves it alone while the task
   * runs. Storage of prepared or static. May be NULL (nothing created). */
  const char *(*owner)(void *self, const void *prepared);
  /* Removes what a run left (jd_exec_result.teardown) and frees it;
   * returns the teardown phase's seconds, or -1 when unmeasured. Called
   * from a teardown thread, after the result is stored and the slot freed
   * (at most `slots` pending; a stop waits for them). May be NULL when
   * execute() never leaves one. */
  double (*teardown)(void *self, void *pending);
  void *self;
} jd_executor;

/* ---- the daemon ---------------------------------------------------------- */

typedef struct jd_daemon jd_daemon;

/* ctx may be NULL (no engine: no reconciliation; for tests with a fake
 * executor). The config is copied. Free with jd_daemon_free(). */
int jd_daemon_new(jd_daemon **out, const jd_config *cfg, jd_ctx *ctx, const jd_executor *exec);
void jd_daemon_free(jd_daemon *d);

/* Reconciles, then serves until jd_daemon_stop(). Returns 0 after a clean
 * stop, -1 when it could not start (error in jd_daemon_error()). */
int jd_daemon_run(jd_daemon *d);
const char *jd_daemon_error(const jd_daemon *d);
/* The port /metrics is served on once jd_daemon_run started it, else 0. */
int jd_daemon_metrics_port(const jd_daemon *d);
/* The metric set (NULL when metrics are off), for what the daemon does not
 * see itself: a pause (jd_dmetrics_paused), the disk. */
jd_dmetrics *jd_daemon_metrics(jd_daemon *d);

/* Stops taking tasks. drain: running tasks get the grace period, then are
 * cancelled and given back; !drain: cancelled and given back at once.
 * Safe from any thread (not from a signal handler). */
void jd_daemon_stop(jd_daemon *d, bool drain);
/* Applies the settings that can change while running (log level and
 * format, labels, stall time, grace, attempts, upload settings, the disk
 * marks and the guard's period). */
void jd_daemon_reload(jd_daemon *d, const jd_config *cfg);

typedef struct jd_daemon_stats {
  int slots, busy, backlog;
  uint64_t taken;      /* entries handed to this daemon */
  uint64_t stored;     /* results written */
  uint64_t duplicates; /* entries whose task already had a result */
  uint64_t dead;       /* dead-lettered */
  uint64_t retried;    /* attempts left for a retry (system faults) */
  uint64_t drained;    /* attempts given back on stop */
  uint64_t fenced;     /* runs whose writes were refused: their claim was lost */
  uint64_t sweeps;     /* reconciliation sweeps made */
  bool ready;          /* reconciled and reading */
  int teardowns;       /* runs with a stored result still being removed */
} jd_daemon_stats;
void jd_daemon_stats_get(jd_daemon *d, jd_daemon_stats *out);

#endif
