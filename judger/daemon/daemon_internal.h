/* Private to the daemon: daemon.c (lifecycle), reader.c (the streams into
 * the backlog), worker.c (take -> begin -> run), attempt.c (how an attempt
 * ends: store, retry, dead letter), keeper.c (leases, heartbeat, progress,
 * stalls, dead hosts) and spool.c (results kept on disk while Redis is
 * away).
 *
 * Threads: the caller of jd_daemon_run reads the streams into the backlog;
 * one worker per slot takes from the backlog and runs tasks; the keeper
 * wakes every lease/3. Each has its own Redis connection (jd_queue). Every
 * field marked "under mu" is read and written with d->mu held; cv is
 * broadcast on any change a waiter may care about (slot freed, backlog
 * filled, stop). The guard (guard.c) pings the engine and reads the disks;
 * while it says paused the reader reads nothing and the workers start
 * nothing. Teardown threads (teardown.c, one per slot) remove what a run
 * left once its result is stored and its slot is free.
 */
#ifndef JD_DAEMON_INTERNAL_H
#define JD_DAEMON_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "daemon/daemon.h"
#include "daemon/daemon_metrics.h"
#include "daemon/guard.h"
#include "daemon/live_hub.h"
#include "daemon/live_push.h"
#include "daemon/metrics_http.h"
#include "queue/queue.h"

#define PROGRESS_MAX 1024

typedef struct jd_teardown_rec jd_teardown_rec;

/* The look-ahead (lookahead.c): while every slot is busy, the next entry
 * no host was handed yet is peeked at (never read: it stays free for every
 * host) and prepared (its programs' images, ready networks in the stock);
 * nothing an entry owns is made. Under d->mu. */
typedef struct jd_lookahead {
  pthread_t th, prep_th;
  bool started, exit, prep_started;
  bool active;       /* the preparation thread runs for `id` */
  bool fate_pending; /* `id` may still be taken here: used or wasted is to come */
  bool counted;      /* its preparation began (counted "started") */
  jd_priority prio;
  char id[48];       /* the entry looked at last (never twice) */
  char *json;        /* its task, handed to the preparation thread */
  dk_cancel *cancel; /* fired when the entry goes elsewhere, at a pause or stop */
  jd_queue *q;       /* the look-ahead's own connection (peeks) */
} jd_lookahead;

/* One worker thread and the task it runs. */
typedef struct jd_slot {
  int index;
  struct jd_daemon *d;
  pthread_t th;
  bool started;
  jd_queue *q; /* this worker's own connection */
  /* Under d->mu: */
  bool busy;
  jd_entry entry;
  char task_id[JD_TASK_ID_MAX + 1];
  int attempt;
  long long claim; /* the run's claim token (fencing token); JD_CLAIM_NONE between runs */
  dk_cancel *cancel;
  int64_t started_ms, last_activity_ms;
  char progress[PROGRESS_MAX];
  bool progress_dirty;
  bool lease_lost; /* the entry went to another judger */
  bool claim_lost; /* the task's claim went to another run: write nothing */
  bool stalled, drained;
  bool cancel_asked; /* its task or taskset was cancelled: stored as "cancelled" */
  bool finishing;    /* acking/storing: a lease that ends now is expected */
  char owner[320];   /* the running task's owner label (executor owner()), or "" */
  /* The worker's own (not under mu): */
  int64_t taken_unix_ms; /* when this slot took the entry (queue_wait's end) */
  bool has_kind;         /* the entry parsed into a task of this kind */
  jd_task_kind kind;
  /* The match's live stream (attempt.c): set before the match starts and
   * cleared after it ended, so its events (on the match's thread) read
   * them without the lock. */
  bool live;      /* its events go to the pusher (Redis) */
  bool live_http; /* and to the hub (served: a metrics server with a watch key) */
  char live_id[JD_TASK_ID_MAX + 1];
} jd_slot;

/* A result stored but not confirmed (spool.c): its task id, and the queue
 * and connection generation it was last stored on by a flush (q NULL: not
 * yet): while that connection stands, the keeper's flush only fences and
 * WAITs for it again instead of storing it again. */
typedef struct jd_unconfirmed {
  char *task_id;
  const jd_queue *q;
  uint64_t gen;
} jd_unconfirmed;

struct jd_daemon {
  jd_config cfg; /* own copy; reloadable fields change under mu */
  jd_ctx *ctx;
  jd_executor exec;
  pthread_mutex_t mu;
  pthread_cond_t cv; /* any change: slot freed, backlog filled, stop */
  bool stopping, hard_stop, workers_exit, keeper_exit, ready;
  int64_t stop_deadline_ms; /* monotonic */
  jd_entry_list backlog;    /* taken, not yet started; sorted by priority */
  jd_slot *slots;
  int nslots, busy;
  jd_queue *rq, *kq; /* reader's and keeper's connections */
  pthread_t keeper;
  bool keeper_started;
  /* The sweeper (sweeper.c): engine watcher and reconciliation. Under mu: */
  pthread_t sweeper;
  bool sweeper_started, sweeper_exit;
  dk_cancel *sweeper_cancel; /* ends its event stream at stop */
  bool engine_up;            /* the engine's event stream is open */
  uint64_t engine_epoch;     /* +1 each time the engine went away */
  bool sweep_requested;      /* a run ended by a system fault: sweep soon */
  /* The guard (guard.c): engine and disks. Under mu: */
  pthread_t guard_th;
  bool guard_started, guard_exit;
  jd_guard_state guard; /* while any pause is in force no task is taken */
  bool heartbeat_due;   /* the pause changed: the keeper writes the heartbeat now */
  /* Teardowns (teardown.c): ntd records (= slots), td_pending of them in
   * use. Under mu: */
  jd_teardown_rec *tds;
  int ntd, td_pending;
  bool td_exit;
  pthread_t *td_th;
  int ntd_started;
  jd_lookahead la;
  jd_daemon_stats st;
  /* Metrics (daemon_metrics.h): NULL when --metrics-listen is unset. The
   * set has its own lock; it is fed, never read, by the daemon. */
  jd_dmetrics *metrics;
  jd_metrics_server *metrics_srv;
  /* Live streams (docs/queue.md "Live streams"): the rings of the HTTP
   * watchers (served by metrics_srv with watch_key) and the pusher into
   * Redis; made by jd_daemon_run, NULL before. */
  jd_live_hub *hub;
  jd_live_push *push;
  unsigned char *watch_key;
  size_t watch_keylen;
  int64_t started_ms;
  /* Every queue of the daemon shares it (slots, reader, keeper, look-ahead,
   * live pusher): the primary and the failovers, for the metrics. */
  jd_redis_stats redis_stats;
  /* Results stored but not confirmed by the replicas (spool.c); their
   * spool files stay until the keeper's flush is confirmed. Under mu. */
  jd_unconfirmed *unconfirmed;
  size_t nunconfirmed, cap_unconfirmed;
  char err[1024]; /* an engine refusal names up to four gaps */
};

/* ---- daemon_wait.c --------------------------------------------------------- */

/* Waits on d->cv (held) for at most ms; the clock is monotonic, so wall
 * clock jumps do not stretch waits. */
void jd_daemon_wait_ms(jd_daemon *d, int64_t ms);
/* Waits out a Redis backoff (d->mu not held). Returns false when the caller
 * should give up: on stop (unless keep_on_stop) or, always, once the hard
 * stop came. */
bool jd_daemon_redis_wait(jd_daemon *d, jd_queue *q, bool keep_on_stop);

/* rc = call, repeated while Redis is unreachable and the daemon goes on. */
#define WITH_RETRY(rc, d, q, keep, call)                                                           \
  do {                                                                                             \
    (rc) = (call);                                                                                 \
  } while ((rc) && jd_queue_lost(q) && jd_daemon_redis_wait((d), (q), (keep)))

/* Counts one event in d->st (d->mu not held). */
void jd_daemon_count(jd_daemon *d, uint64_t *counter);

/* ---- reader.c: the stream reader (the thread of jd_daemon_run) ----------- */

/* Own pending entries first: what this host had taken before it stopped
 * or died is run (or given back) before anything new. */
void jd_reader_take_own_pending(jd_daemon *d);
/* Whenever a slot is free, one read round; until the stop. */
void jd_reader_loop(jd_daemon *d);
/* Gives back the entries read but not started (d->mu not held). */
void jd_reader_release_backlog(jd_daemon *d);

/* ---- attempt.c: how an attempt ends --------------------------------------- */

/* One attempt of a task, as the worker ran it. */
typedef struct jd_attempt {
  const jd_task *task;
  int number;          /* 1, 2... (the count kept in Redis) */
  const char *out_dir; /* the task's output directory */
  uint64_t epoch0;     /* d->engine_epoch when it started */
} jd_attempt;

/* What execute() came to (outcome, *res), once fault attribution had its
 * say: the result uploaded and stored, or the attempt retried later, given
 * back (drain), dead-lettered, or nothing written (claim lost). */
void jd_attempt_end(jd_daemon *d, jd_slot *s, const jd_attempt *a, int outcome,
                    const jd_exec_result *res);
/* A system fault: the claim is given up, the entry stays pending and is
 * taken again after the lease. */
void jd_attempt_retry_later(jd_daemon *d, jd_slot *s, const jd_task *t, int attempt,
                            const char *why);
/* Dead-letters the slot's entry (claim JD_CLAIM_NONE: it never ran). */
void jd_attempt_dead_letter(jd_daemon *d, jd_slot *s, const char *task_id, long long claim,
                            const char *reason, int attempts);
/* The slot is acking or storing: a lease that ends now is expected. */
void jd_slot_set_finishing(jd_daemon *d, jd_slot *s);
/* A match attempt's live stream: begins empty before the match starts (in
 * Redis with live.begin and the attempt; in the hub too when a metrics
 * server with a watch key serves it); closes after its result (the out
 * dir's replay.json kept for late joiners, the Redis TTL set to
 * live_ttl_ms). Other tasks have none. */
void jd_attempt_live_begin(jd_daemon *d, jd_slot *s, const jd_task *t, int attempt);
void jd_attempt_live_end(jd_daemon *d, jd_slot *s, const char *out_dir);

/* ---- tasksets.c: the daemon's side of tasksets ---------------------------- */

/* An entry whose field is "taskset": checked as a whole (a bad member
 * dead-letters the entry, naming it), submitted, acked. */
void jd_daemon_taskset_entry(jd_daemon *d, jd_slot *s);
/* Stores the standings of the sets that ended (after a set's last result,
 * and in every keeper round for a set whose finisher died). */
void jd_daemon_rank_tasksets(jd_daemon *d, jd_queue *q);
/* The running sets into the metrics (keeper rounds). */
void jd_daemon_taskset_gauges(jd_daemon *d, jd_queue *q);

/* ---- worker.c, keeper.c: thread bodies ------------------------------------ */

void *jd_worker_main(void *slot);
void *jd_keeper_main(void *daemon);
void *jd_sweeper_main(void *daemon);

/* ---- sweeper.c ----------------------------------------------------------- */

/* The startup reconciliation: everything of this host (nothing runs yet). */
void jd_sweep_startup(jd_daemon *d);
/* Asks the sweeper for a sweep now (d->mu not held). */
void jd_sweep_request(jd_daemon *d);

/* ---- guard.c ------------------------------------------------------------- */

/* One check of the engine and the disks (reclaiming when low), before the
 * first task is taken. */
void jd_guard_check(jd_daemon *d);
void *jd_guard_main(void *daemon);
/* True while a pause is in force: no entry is read or started. d->mu held. */
bool jd_paused_locked(const jd_daemon *d);

/* ---- lookahead.c ---------------------------------------------------------- */

/* Whether this daemon looks ahead (the `lookahead` setting, with an
 * engine). */
bool jd_lookahead_on(const jd_daemon *d);
void *jd_lookahead_main(void *daemon);
/* Entry e left the backlog: taken by a slot of this daemon (here: its
 * preparation goes on), or given back (a pause, the drain: a preparation
 * of it in flight is cancelled). d->mu held. */
void jd_lookahead_left_locked(jd_daemon *d, const jd_entry *e, bool here);
/* The stop: the preparation in flight is cancelled and the thread told to
 * exit (joined by the caller after the workers). d->mu held. */
void jd_lookahead_stop_locked(jd_daemon *d);

/* ---- teardown.c ---------------------------------------------------------- */

/* The records (0, or -1 out of memory) and their release. */
int jd_teardowns_new(jd_daemon *d);
void jd_teardowns_free(jd_daemon *d);
/* Starts the teardown threads; join waits until none is pending and
 * joins them (after the workers are joined: nothing comes after). */
void jd_teardowns_start(jd_daemon *d);
void jd_teardowns_join(jd_daemon *d);
/* Hands a run's teardown (jd_exec_result.teardown, owned) to a teardown
 * thread, with the slot's owner label; waits while every record is in use
 * (the slot stays busy). Without a teardown thread it runs here. d->mu not
 * held. */
void jd_teardown_hand_off(jd_daemon *d, jd_slot *s, void *handle);
/* Copies the owner labels of pending teardowns into v (at most cap);
 * returns how many. d->mu held. */
size_t jd_teardown_owners_locked(const jd_daemon *d, char **v, size_t cap);

/* ---- spool.c ------------------------------------------------------------- */

/* Writes the result to <state_dir>/spool/<host>/<task id>.json before it is
 * stored (atomically: a temporary renamed), so it survives Redis staying
 * away until we stop (or are killed), and a failover that loses it until
 * the replicas confirmed it; 0 or -1. */
int jd_spool_write(ino_t *ino, const jd_daemon *d, jd_priority p, const char *entry_id,
                   const jd_result_rec *rec);
/* Removes a task's spooled result once its store is confirmed (also from
 * the unconfirmed list): only the file of inode ino (the one written;
 * another run of the task may have written a newer one). */
void jd_spool_remove(jd_daemon *d, const char *task_id, ino_t ino);
/* A task's stored result the replicas did not confirm (or the primary
 * refused for want of replicas: NOREPLICAS): its spool file stays and the
 * keeper stores it again until confirmed (every second at first, backing
 * off to JD_SPOOL_FLUSH_BACKOFF_MAX_MS while its flushes are short). */
void jd_spool_unconfirmed(jd_daemon *d, const char *task_id);
/* Stores the results a previous run could not (Redis was away, or no
 * replica confirmed them), on q; what is not confirmed goes to the
 * unconfirmed list. */
void jd_spool_flush(jd_daemon *d, jd_queue *q);
/* The keeper's flush of the unconfirmed results, on q: at most
 * JD_SPOOL_FLUSH_MAX of them stored again, one WAIT for all of them,
 * removed once confirmed. */
#define JD_SPOOL_FLUSH_MAX 16
#define JD_SPOOL_FLUSH_MS 1000
#define JD_SPOOL_FLUSH_BACKOFF_MAX_MS 30000
void jd_spool_flush_unconfirmed(jd_daemon *d, jd_queue *q);
/* How many results wait for their replicas. d->mu not held. */
size_t jd_spool_unconfirmed_count(jd_daemon *d);
/* The unconfirmed list's memory (jd_daemon_free). */
void jd_spool_unconfirmed_free(jd_daemon *d);

/* The writes made on q's connection generation gen (read right after
 * them), confirmed by the replicas the daemon requires
 * (jd_queue_confirm_since); counted in the metrics. False when they were
 * not: a short WAIT, or Redis could not be asked (when that connection
 * broke or is another one now: *lost true; lost may be NULL), logged with
 * what, the write, and task_id, which may be NULL. d->mu not held. */
bool jd_daemon_confirm(bool *lost, jd_daemon *d, jd_queue *q, uint64_t gen, const char *task_id,
                       const char *what);

#endif
