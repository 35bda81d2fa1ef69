/* Private to the match engine: the run flow (match.c), the core every part
 * reports to (match_core.c: status, events, cancel, notes), preparing
 * programs (match_prepare.c), the work directory and network
 * (match_workspace.c), the pipe loop (match_loop.c), the container units
 * (match_unit*.c, warm.c) and collecting the result (match_collect.c).
 *
 * Threads: the thread calling jd_match_run owns the match and runs the pipe
 * loop; it never calls the engine while the match runs. Each container (the
 * game logic, every player instance) has a "unit" thread doing every engine
 * call for it: create, start, follow its logs into a capped spool, kill when
 * asked, wait, inspect, remove. Unit threads post STARTED/EXITED notes to
 * the loop through a mutex-protected queue and an eventfd, so starts run
 * concurrently and the loop reacts at once (no sleeps, no status polling).
 */
#ifndef JD_MATCH_INTERNAL_H
#define JD_MATCH_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <json-c/json.h>

#include "dockerapi/dockerapi.h"
#include "match/cpu_pool.h"
#include "match/match.h"
#include "match/match_event.h"
#include "match/match_limits.h"
#include "match/match_live.h"
#include "match/match_verdict.h"
#include "match/net_pool.h"
#include "match/player_log.h"
#include "match/protocol.h"
#include "match/start_limiter.h"
#include "match/token.h"

/* Room for a reason from the engine (err, errlen buffers). */
#define JD_MATCH_ERR_MAX 1024

typedef struct jd_match jd_match;
typedef struct jd_outputs jd_outputs;

/* UNIT_WARM: a warm player's container, waiting for its go (warm.h). */
typedef enum { UNIT_STARTING, UNIT_RUNNING, UNIT_DONE, UNIT_WARM } unit_state;

typedef enum { NOTE_STARTED, NOTE_EXITED } note_kind;

typedef struct jd_unit jd_unit;

/* Notes live inside their unit, so posting one never allocates. */
typedef struct jd_note {
  note_kind kind;
  jd_unit *unit;
  struct jd_note *next;
} jd_note;

/* What a role's program became after preparation. */
typedef struct jd_ready {
  char *image;
  char *app_dir;          /* bound at /app read-only, or NULL */
  const char *const *cmd; /* spec's override or NULL (points into the spec) */
  bool cancelled;         /* its build failed: CANCEL */
  char *message;          /* why */
  char *build_log;        /* its failed build's log (capped by the build), or NULL */
  /* The image's inspect, taken once when the program is ready (its
   * declared volumes, its entry point for judger-hold), read by every unit
   * of it; NULL when that inspect failed: a unit then inspects itself. */
  dk_image_info *info;
} jd_ready;

struct jd_unit {
  jd_match *m;
  jd_note notes[2]; /* [NOTE_STARTED], [NOTE_EXITED] */
  int seq;          /* 0 = game logic, then players in start order */
  int ai;           /* -1 for the game logic */
  char name[JD_PROTO_NAME_MAX + 1];
  char *cname; /* container name */
  /* Its own network (per-player isolation), created and removed by the
   * unit thread; NULL otherwise. */
  char *net_name, *net_id;
  char *gl_id; /* the game logic's container id (players; an owned copy) */
  char *spool_path;
  /* A warm player (warm.h): its go FIFO (the loop thread writes the go
   * into go_fd) and whether the go was given (loop thread). */
  bool warm, went;
  /* A cold start named like an unused warm container waits until that one
   * is removed (its name must not resolve twice); removed is set under
   * mu once this unit's container is gone. */
  struct jd_unit *retire;
  bool removed;
  int go_fd;
  char *go_path;
  dk_cancel *cancel; /* fired to stop following logs: then kill */
  atomic_int kill;   /* jd_kill_reason; the first one wins */
  pthread_t thread;
  bool thread_started;
  /* Written by the unit thread before it posts the matching note. */
  char *id;                     /* container id once created */
  int64_t started_ms, ended_ms; /* unix ms (a warm player's start: its go) */
  int64_t since_ms;             /* unix ms its container started */
  int64_t exit_code;
  bool oom_killed, log_truncated, engine_error;
  bool kill_sent; /* the judger's kill reached a running container */
  /* Killed or removed from outside the judger (kill_event.h): a system
   * fault, UE, and the match's status error (message says what). */
  bool outside;
  char *message;
  /* Its cores (limits.cpuset "auto", match/cpu_pool.h): "" when none. */
  char cpuset[JD_CPUSET_MAX];
  bool cpuset_shared;
  /* Its turn clock and meter (match_clock.h); owned by the match's clock,
   * NULL until its container runs. */
  struct jd_uclock *clk;
  /* Owned by the loop thread. */
  unit_state state;
  bool ready;         /* a warm player's container runs (its go may come) */
  int64_t deadline;   /* dk_now_ms() clock; 0 = none */
  jd_verdict verdict; /* UE until it is done */
};

struct jd_match {
  jd_ctx *ctx;
  const jd_match_spec *spec;
  const jd_match_hooks *hooks;
  const char *out_dir;
  char run_key[JD_MATCH_ID_MAX + 16];
  char *work_dir, *cmd_path, *ev_path, *json_path, *spool_dir;
  char *outputs_path; /* the FIFO judger-hold writes the outputs into */
  char *hold_path;    /* judger-hold in the state directory */
  jd_outputs *outputs;
  char *net_name, *net_id; /* the match network (the game logic's) */
  /* A network of the run's own was asked of the engine (not the stock):
   * the sweep lists the run's networks only then. */
  atomic_bool nets_made;
  /* Set up concurrently with the units (match_workspace.c, warm.c),
   * guarded by mu, signalled on cond: the match network's creation and the
   * game logic's create. */
  pthread_cond_t cond;
  pthread_t net_thread;
  bool net_thread_started, net_settled;
  jd_unit **warm; /* the warm units (warm.c), nwarm */
  size_t nwarm;
  int net_rc;
  char *net_err;
  jd_net_pool pool;
  /* Cores leased for the match (limits.cpuset "auto"), or NULL. */
  jd_cpu_lease *cpus;
  /* The spec's inputs, opened and held in the host's cache
   * (match_inputs.c), or NULL. */
  struct jd_match_inputs *inputs;
  /* Turn clocks and accounting (match_clock.h): its thread, started
   * before the game logic's unit, stopped once every unit is done. */
  struct jd_clock *clock;
  char label_host[160], label_match[128], label_run[128];
  char tokens[JD_MATCH_MAX_AIS][JD_TOKEN_HEX_LEN + 1];
  jd_ready gl_ready;
  jd_ready *ai_ready; /* nplayers */

  /* Units: [0] is the game logic once created. */
  jd_unit **units;
  size_t nunits, units_cap;

  /* Notes from unit threads. */
  pthread_mutex_t mu;
  jd_note *notes, *notes_tail;
  int wake_fd;

  /* Pipe loop state. */
  int cmd_fd, ev_fd;
  dk_buf ev_out; /* events not yet written (capped) */
  jd_proto_reader reader;
  jd_start_limiter limiter;
  int alive_players;
  int refusals;
  size_t events_dropped; /* event lines past the queue's cap */
  int64_t gl_start_mono;
  int64_t match_deadline; /* dk_now_ms clock; 0 until the game logic runs */
  int64_t grace_deadline; /* after "end" */
  bool ended;             /* "end" received */
  double *scores;
  char **messages;
  bool has_status; /* the first status set wins, with its reason */
  jd_match_status status;
  char *reason;
  int64_t started_ms;
  int64_t prepared_ms, served_ms; /* unix ms: phase timings (jd_match_timing) */
  /* Event numbers, live.jsonl and the frames' counts (match_live.h). */
  jd_live_state live;
};

/* match_prepare.c */
/* Prepares every program of the spec into m->gl_ready and m->ai_ready,
 * up to ctx->build_jobs builds at once (progress under a lock). Returns 0
 * when the match can go on, else -1 with its status set. */
int jd_match_prepare(jd_match *m);
void jd_ready_clear(jd_ready *r);

/* match_inputs.c: each input fetched or found in the host's cache, opened
 * and held till jd_match_inputs_release() (match_free). 0, or -1 with the
 * status set (failed: the spec's inputs; error: the host's). */
int jd_match_inputs_prepare(jd_match *m);
/* The host path of input i's cache file (the bind's source), or NULL. */
const char *jd_match_input_path(const jd_match *m, size_t i);
void jd_match_inputs_release(jd_match *m);

/* match_workspace.c: each returns 0, or -1 with the match's status set. */
int jd_match_setup_workdir(jd_match *m);
/* Names the match network and creates it in a thread of its own, so the
 * creation overlaps the work directory and the units' image inspects. */
int jd_match_create_network(jd_match *m);
/* Waits until the match network exists. Returns 0, or -1 with err saying
 * what failed. Any thread. */
int jd_match_network_await(jd_match *m, char *err, size_t errlen);
/* Joins the network thread (NULL-safe on a match that never started it). */
void jd_match_network_join(jd_match *m);
/* An internal network of the run named name for endpoints containers, on a
 * subnet of the judger's pool. With the stock (ctx->net_stock) and at most
 * 2 endpoints, a network leased from it instead: name is then overwritten
 * with the leased network's name when that fits in name's strlen (else one
 * is created as without a stock), and jd_match_net_remove gives it back.
 * Returns 0, or -1 with err the engine's reason. */
int jd_match_net_new(char **id_out, jd_match *m, char *name, size_t endpoints, char *err,
                     size_t errlen);
/* Removes a network of the run, retrying while an endpoint lingers.
 * Returns 0 (gone or never there) or -1 (logged). */
int jd_match_net_remove(jd_match *m, const char *id, const char *name);
/* Removes whatever carries this run's label (containers a unit thread could
 * not remove), then the network. Runs on every path once units are joined. */
void jd_match_sweep(jd_match *m);

/* match_outputs.c: the thread reading the game logic's outputs from
 * judger-hold's FIFO into out_dir (capped; see hold.h). start: 0, or -1
 * with errno. finish: tells the thread the game logic's container is gone,
 * joins it and moves the list of files into res (may be NULL); NULL-safe
 * on a match without one. */
int jd_outputs_start(jd_match *m);
void jd_outputs_finish(jd_match *m, jd_match_result *res);

/* match_collect.c: fills res (verdicts, logs, outputs) once every unit is
 * done and the status is set. */
void jd_match_collect(jd_match *m, jd_match_result *res);

/* match_unit.c (its helpers: match_unit_internal.h) */
/* A unit of the match (ai -1: the game logic), added to m->units. Returns
 * 0, or -1 out of memory. Loop thread. */
int jd_unit_new(jd_unit **out, jd_match *m, int ai, const char *name);
/* Whether the unit is an instance of the match (not a warm container that
 * was never given its go). */
bool jd_unit_used(const jd_unit *u);
/* Starts the unit's thread. Returns 0, or -1 when no thread can start. */
int jd_unit_spawn(jd_unit *u);
void jd_unit_request_kill(jd_unit *u, jd_kill_reason why);
void jd_unit_free(jd_unit *u);
/* The kill reason that explains how the unit ended: the requested one if
 * the kill reached it, OLE whenever its log went past the cap, else none
 * (it ended on its own before the kill). Valid once it exited. */
jd_kill_reason jd_unit_kill_reason(const jd_unit *u);

/* match_core.c: what every part of a running match reports to (status,
 * progress events, cancel, the notes to the loop); it calls no other part.
 * Posts a unit's note to the loop (unit threads; wakes the loop). */
void jd_match_post(jd_match *m, jd_unit *u, note_kind kind);
/* Takes every note posted so far, oldest first (loop thread). */
jd_note *jd_match_take_notes(jd_match *m);
/* Sets the match's status and reason (fmt may be NULL), unless one is set. */
void jd_match_set_status(jd_match *m, jd_match_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* An event of type about u's instance (u may be NULL: no instance). */
jd_match_event jd_match_event_of(jd_match_event_type type, const jd_unit *u);
/* Hands ev to the match's hooks with its match_id, elapsed_ms and seq
 * (1, 2, 3...): typed to hooks.event, as JSON to hooks.progress and
 * live.jsonl. One call at a time (the caller's thread or lock, match.h). */
void jd_match_emit(jd_match *m, jd_match_event *ev);
/* Whether the match's cancel token fired. */
bool jd_match_cancel_fired(const jd_match *m);

/* match_loop.c: serves the pipe until every unit is done. */
void jd_match_loop(jd_match *m);

#endif
