/* The daemon's metrics (docs/metrics.md): the families on a registry
 * (metrics.h) and one setter per fact, called where the fact happens
 * (worker, keeper, sweeper, reader, engine calls). Every setter accepts a
 * NULL set (metrics off: --metrics-listen unset) and does nothing then.
 * Label values come from the closed tables below, so the number of series
 * is fixed; only judger_disk_free_bytes{path} takes a path (the state dir
 * and the engine's data root). */
#ifndef JD_DAEMON_METRICS_H
#define JD_DAEMON_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include "common/verdict.h"
#include "daemon/guard.h"
#include "daemon/metrics.h"
#include "dockerapi/client.h"
#include "queue/redis.h"
#include "queue/task.h"
#include "queue/taskset.h"

/* Where a task's time goes (judger_task_phase_seconds{phase}). */
#define JD_PHASE_MAP(XX)                                                                           \
  XX(QUEUE_WAIT, "queue_wait", "from the entry's XADD (its stream id) to a slot taking it")        \
  XX(BUILD, "build", "a build task's build (environment image and program)")                       \
  XX(PREPARE, "prepare", "a match's preparation: images, artifacts, limits")                       \
  XX(CONTAINER_START, "container_start", "prepared to the game logic's container running")         \
  XX(RUN, "run", "the game logic running to the end of the match")                                 \
  XX(TEARDOWN, "teardown", "the match's end to everything of it removed")                          \
  XX(UPLOAD, "upload", "the task's artifacts uploaded")

typedef enum jd_phase {
#define JD_PHASE_ENUM(code, name, text) JD_PHASE_##code,
  JD_PHASE_MAP(JD_PHASE_ENUM)
#undef JD_PHASE_ENUM
      JD_PHASE_COUNT
} jd_phase;

const char *jd_phase_name(jd_phase p);

/* How an attempt of a task ended (judger_tasks_total{status}): a stored
 * result's status, or what the daemon did instead of storing one. */
#define JD_TASK_END_EXTRA_MAP(XX)                                                                  \
  XX(DEAD, "dead_lettered", "dead-lettered: invalid, or out of attempts")                          \
  XX(RETRIED, "retried", "a system fault: left for another attempt")                               \
  XX(GIVEN_BACK, "given_back", "given back on stop (drain)")

typedef enum jd_task_end {
#define JD_TASK_END_STATUS(code, name, text) JD_TASK_END_##code,
  JD_TASK_STATUS_MAP(JD_TASK_END_STATUS) JD_TASK_END_EXTRA_MAP(JD_TASK_END_STATUS)
#undef JD_TASK_END_STATUS
      JD_TASK_END_COUNT
} jd_task_end;

const char *jd_task_end_name(jd_task_end e);
/* The end of a stored result of status s. */
jd_task_end jd_task_end_of_status(jd_task_status s);

/* judger_paused{reason}: the guard's reasons (guard.h), as label values
 * in Prometheus' style ("engine_unreachable", "disk_low"). */
const char *jd_pause_label(jd_pause p);

/* What became of look-aheads (judger_lookahead_total{event}, lookahead.c). */
#define JD_LOOKAHEAD_MAP(XX)                                                                       \
  XX(STARTED, "started", "a waiting entry's preparation began")                                    \
  XX(DONE, "done", "its programs' images (and stock networks) were ready before anything came")    \
  XX(USED, "used", "a slot of this host took the entry it prepared")                               \
  XX(WASTED, "wasted", "the entry went elsewhere, was withdrawn or given back (pause, stop)")

typedef enum jd_lookahead_event {
#define JD_LOOKAHEAD_ENUM(code, name, text) JD_LOOKAHEAD_##code,
  JD_LOOKAHEAD_MAP(JD_LOOKAHEAD_ENUM)
#undef JD_LOOKAHEAD_ENUM
      JD_LOOKAHEAD_COUNT
} jd_lookahead_event;

const char *jd_lookahead_event_name(jd_lookahead_event e);

typedef struct jd_dmetrics jd_dmetrics;

/* The families, with every closed-set series made at 0 (so rate() and
 * absent() behave from the first scrape). Free with jd_dmetrics_free(). */
int jd_dmetrics_new(jd_dmetrics **out, int slots);
void jd_dmetrics_free(jd_dmetrics *m);
/* The registry, for rendering; NULL for NULL. */
jd_metrics *jd_dmetrics_registry(jd_dmetrics *m);

/* kind NULL: the entry was not a task (unparsable, too big). */
void jd_dmetrics_task(jd_dmetrics *m, const jd_task_kind *kind, jd_task_end end);
void jd_dmetrics_phase(jd_dmetrics *m, jd_phase p, double seconds);
void jd_dmetrics_verdict(jd_dmetrics *m, jd_verdict v, unsigned n);
/* judger_turns_total{outcome="ended"|"timed_out"}: turns of stored results. */
void jd_dmetrics_turns(jd_dmetrics *m, uint64_t ended, uint64_t timed_out);
void jd_dmetrics_busy(jd_dmetrics *m, int busy);
void jd_dmetrics_redis_up(jd_dmetrics *m, bool up);
void jd_dmetrics_engine_up(jd_dmetrics *m, bool up);
void jd_dmetrics_disk_free(jd_dmetrics *m, const char *path, int64_t bytes);
void jd_dmetrics_lease_renewals(jd_dmetrics *m, unsigned n);
void jd_dmetrics_lease_takeovers(jd_dmetrics *m, unsigned n);
void jd_dmetrics_lease_lost(jd_dmetrics *m, unsigned n);
void jd_dmetrics_paused(jd_dmetrics *m, jd_pause p, bool paused);
void jd_dmetrics_lookahead(jd_dmetrics *m, jd_lookahead_event e);
/* The running tasksets read by the keeper: v[0..n) (at most 20 of them get
 * series) out of total. */
void jd_dmetrics_tasksets(jd_dmetrics *m, const jd_taskset_view *v, size_t n, size_t total);

/* An engine call that failed on the engine's side (unreachable, 5xx,
 * protocol): counted under a bounded name made from method and path
 * ("containers.start", "images.build", "ping"...). */
void jd_dmetrics_engine_error(jd_dmetrics *m, const char *method, const char *path);
/* That name into out (n >= 32). */
void jd_engine_call_name(char *out, size_t n, const char *method, const char *path);

/* judger_engine_requests_total{kind}: every request dk sent, by kind
 * (dockerapi/counts.h), read from the client's own counters at each
 * scrape. dk must outlive m (or be unset with NULL before it goes). */
void jd_dmetrics_engine_client(jd_dmetrics *m, dk_client *dk);

/* Failover (docs/queue.md "Failover: what is guaranteed"): the counters
 * every connection of the daemon shares (judger_redis_failovers_total,
 * judger_redis_readonly_total), read at each scrape; s must outlive m's
 * server. */
void jd_dmetrics_redis_stats(jd_dmetrics *m, jd_redis_stats *s);
/* judger_replica_waits_total{outcome="confirmed"|"short"}: a WAIT sent. */
void jd_dmetrics_replica_wait(jd_dmetrics *m, bool confirmed);
/* judger_results_unconfirmed: stored results kept in the spool until the
 * replicas confirm them. */
void jd_dmetrics_results_unconfirmed(jd_dmetrics *m, size_t n);
/* judger_claims_unconfirmed_total: a claim given back unrun. */
void jd_dmetrics_claim_unconfirmed(jd_dmetrics *m);

/* The live streams' totals, read at each scrape through fn (quick; on the
 * scraping thread): judger_live_entries_total (entries written to Redis
 * streams), judger_live_dropped_total (entries the pusher dropped) and
 * judger_live_watchers (HTTP watchers now). ud must outlive m's server. */
typedef void (*jd_dmetrics_live_fn)(void *ud, int64_t *entries, int64_t *dropped, int *watchers);
void jd_dmetrics_live(jd_dmetrics *m, jd_dmetrics_live_fn fn, void *ud);

#endif
