/* Matches: the run flow (see match.h). Preparation (match_prepare.c), the
 * work directory and network (match_workspace.c), then the pipe loop
 * (match_loop.c) with one thread per container (match_unit.c), then
 * collection (match_collect.c) and cleanup on every path. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <json-c/json.h>

#include "common/clock.h"
#include "common/error.h"
#include "common/log.h"
#include "common/util.h"
#include "match/match_clock.h"
#include "match/match_internal.h"
#include "match/warm.h"

static void match_free(jd_match *m) {
  jd_live_close(m);
  jd_outputs_finish(m, NULL);
  jd_clock_free(m);
  jd_cpu_lease_free(m->cpus);
  jd_match_inputs_release(m);
  for (size_t i = 0; i < m->nunits; i++)
    jd_unit_free(m->units[i]);
  free(m->units);
  free(m->warm);
  jd_ready_clear(&m->gl_ready);
  if (m->ai_ready)
    for (size_t i = 0; i < m->spec->nplayers; i++)
      jd_ready_clear(&m->ai_ready[i]);
  free(m->ai_ready);
  if (m->cmd_fd >= 0)
    close(m->cmd_fd);
  if (m->ev_fd >= 0)
    close(m->ev_fd);
  if (m->wake_fd >= 0)
    close(m->wake_fd);
  if (m->work_dir)
    jd_rm_rf(m->work_dir);
  free(m->work_dir);
  free(m->cmd_path);
  free(m->ev_path);
  free(m->json_path);
  free(m->outputs_path);
  free(m->hold_path);
  free(m->spool_dir);
  free(m->net_name);
  free(m->net_id);
  free(m->net_err);
  dk_buf_free(&m->ev_out);
  jd_proto_reader_free(&m->reader);
  free(m->scores);
  if (m->messages)
    for (size_t i = 0; i < m->spec->nplayers; i++)
      free(m->messages[i]);
  free(m->messages);
  free(m->reason);
  pthread_cond_destroy(&m->cond);
  pthread_mutex_destroy(&m->mu);
}

/* The result as far as the spec tells (ids, AIs); NULL on out of memory.
 * Its players are left out (nplayers 0) when they cannot be allocated. */
static jd_match_result *result_new(const jd_match_spec *spec, const char *out_dir,
                                   int64_t started_ms) {
  jd_match_result *res = calloc(1, sizeof *res);
  if (!res)
    return NULL;
  res->players = calloc(spec->nplayers, sizeof *res->players);
  res->nplayers = res->players ? spec->nplayers : 0;
  res->match_id = strdup(spec->id);
  res->out_dir = strdup(out_dir);
  res->game_logic_log = strdup("game_logic.log");
  for (size_t i = 0; i < res->nplayers; i++) {
    res->players[i].ai = (int)i;
    res->players[i].id = strdup(spec->players[i].id);
  }
  res->started_ms = started_ms;
  return res;
}

/* The run key, the players' tokens and the start caps. Returns 0, or -1
 * with the match's status set. */
static int match_keys(jd_match *m, jd_match_result *res) {
  const jd_match_spec *spec = m->spec;
  char rnd[7];
  unsigned char key[JD_TOKEN_KEY_LEN];
  if (jd_random_hex(rnd, 3) || jd_token_key_new(key)) {
    jd_match_set_status(m, JD_MATCH_STATUS_ERROR, "no randomness for the run key and tokens");
    return -1;
  }
  snprintf(m->run_key, sizeof m->run_key, "%s-%s", spec->id, rnd);
  res->run_key = strdup(m->run_key);
  for (size_t i = 0; i < spec->nplayers; i++)
    jd_token_compute(m->tokens[i], key, sizeof key, spec->id, (int)i);
  jd_start_limiter_init(&m->limiter, spec->limits.max_instances, spec->limits.max_concurrent,
                        spec->limits.starts_per_sec, jd_mono_ms());
  return 0;
}

/* Starts the game logic's unit and serves the pipe until every unit is
 * done. */
static void serve(jd_match *m) {
  jd_unit *gl = NULL;
  if (jd_outputs_start(m)) {
    jd_match_set_status(m, JD_MATCH_STATUS_ERROR, "cannot read the game logic's outputs: %s",
                        strerror(errno));
    return;
  }
  if (jd_unit_new(&gl, m, -1, "game_logic")) {
    jd_match_set_status(m, JD_MATCH_STATUS_ERROR, "out of memory");
    return;
  }
  /* Warm players are listed now and begun by the loop once the game
   * logic's container runs (warm.h). */
  jd_warm_plan(m);
  if (jd_clock_start(m))
    return;
  if (jd_unit_spawn(gl)) {
    jd_match_set_status(m, JD_MATCH_STATUS_ERROR, "cannot start the game logic's thread");
    return;
  }
  gl->state = UNIT_STARTING;
  jd_match_loop(m);
  /* Every instance is done: its figures are final, and its cores free for
   * the next match (warm containers never used run nothing: they wait on
   * their go until the teardown kills them). */
  jd_clock_stop(m);
  jd_cpu_lease_free(m->cpus);
  m->cpus = NULL;
}

/* Cores of their own for the match's programs (limits.cpuset "auto").
 * Returns 0, or -1 with the status set. */
static int lease_cores(jd_match *m) {
  if (!m->spec->limits.cpuset_auto)
    return 0;
  char err[256];
  if (jd_cpu_lease_take(&m->cpus, m->ctx, m->spec->nplayers, err, sizeof err)) {
    jd_match_set_status(m, JD_MATCH_STATUS_ERROR, "cores for limits.cpuset: %s", err);
    return -1;
  }
  return 0;
}

/* Everything between the keys and the collection; sets the status when the
 * match cannot go on. It returns once every instance is done; what it
 * created is removed by teardown(), after the result is out. */
static void execute(jd_match *m) {
  if (jd_mkdir_p(m->out_dir, 0755)) {
    jd_match_set_status(m, JD_MATCH_STATUS_ERROR, "cannot create %s: %s", m->out_dir,
                        strerror(errno));
    return;
  }
  jd_live_open(m);
  /* Before anything is built or created: an engine that cannot keep
   * these (common/engine.h) runs no match unless the operator accepts
   * it. A system fault, as the engine's own failures are. */
  char why[800];
  const jd_engine *e = jd_ctx_engine(m->ctx, why, sizeof why);
  unsigned need = 1u << JD_GUARANTEE_HOST_UNREACHABLE | 1u << JD_GUARANTEE_OOM_VERDICT;
  if (!e || jd_engine_require_mask(e, need, m->ctx->engine_accept, why, sizeof why)) {
    jd_match_set_status(m, JD_MATCH_STATUS_ERROR, "%s", why);
    return;
  }
  jd_match_event ev = jd_match_event_of(JD_EVENT_MATCH_PREPARE, NULL);
  ev.prepare.run = m->run_key;
  jd_match_emit(m, &ev);
  /* The inputs first: a wrong hash fails the match before any build. */
  int rc = jd_match_inputs_prepare(m);
  if (!rc)
    rc = jd_match_prepare(m);
  m->prepared_ms = jd_unix_ms();
  if (rc)
    return;
  if (jd_match_cancel_fired(m)) {
    jd_match_set_status(m, JD_MATCH_STATUS_CANCELLED, "cancelled before the match started");
    return;
  }
  m->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (m->wake_fd < 0) {
    jd_match_set_status(m, JD_MATCH_STATUS_ERROR, "eventfd: %s", strerror(errno));
    return;
  }
  /* The network's creation (a thread of its own) overlaps the work
   * directory and the units' image inspects; a unit waits for it before its
   * create. */
  if (!lease_cores(m) && !jd_match_create_network(m) && !jd_match_setup_workdir(m))
    serve(m);
  m->served_ms = jd_unix_ms();
}

/* Off the result's path: every unit thread joined (each removes its own
 * container and network), unused warm containers killed and removed, then
 * the sweep by the run's label. */
static void teardown(jd_match *m) {
  for (size_t i = 0; i < m->nunits; i++)
    if (m->units[i]->state != UNIT_DONE)
      jd_unit_request_kill(m->units[i], JD_KILL_END);
  for (size_t i = 0; i < m->nunits; i++)
    if (m->units[i]->thread_started)
      pthread_join(m->units[i]->thread, NULL);
  jd_match_network_join(m);
  jd_match_sweep(m);
}

/* Fills the result from the match, writes result.json, reports the end. */
static void finish(jd_match *m, jd_match_result *res) {
  if (!m->has_status)
    jd_match_set_status(m, JD_MATCH_STATUS_ERROR, "the match stopped without a status");
  jd_match_collect(m, res);
  res->status = m->status;
  res->reason = m->reason ? strdup(m->reason) : NULL;
  res->ended_ms = jd_unix_ms();
  res->live = m->live.counts;
  if (jd_match_result_write(res, m->out_dir))
    jd_log(JD_LOG_ERROR, "match.result", "%s: cannot write result.json in %s: %s", m->run_key,
           m->out_dir, strerror(errno));
  jd_match_event ev = jd_match_event_of(JD_EVENT_MATCH_DONE, NULL);
  ev.done.status = res->status;
  jd_match_emit(m, &ev);
  jd_live_close(m); /* match.done is its last line */
  if (m->hooks && m->hooks->result)
    m->hooks->result(m->hooks->ud, res);
}

/* A match past its result: what jd_match_teardown() still removes. It
 * owns the match (heap, so unit threads may keep pointing at it) and a
 * copy of the output directory. */
struct jd_match_pending {
  jd_match m;
  char *out_dir;
};

/* The phases' times up to the result (teardown_ms is the teardown's). */
static void timing(jd_match_result *res, const jd_match *m) {
  int64_t gl = res->game_logic.started_ms;
  jd_match_timing t = {-1, -1, -1, -1};
  if (m->prepared_ms)
    t.prepare_ms = m->prepared_ms - m->started_ms;
  if (m->prepared_ms && gl >= m->prepared_ms)
    t.start_ms = gl - m->prepared_ms;
  if (gl && m->served_ms >= gl)
    t.run_ms = m->served_ms - gl;
  res->timing = t;
}

/* jd_match_run_detached's work; on -1, *no_memory tells out of memory
 * from bad arguments. */
static int run_detached(jd_match_result **out, jd_match_pending **pending, jd_ctx *ctx,
                        const jd_match_spec *spec, const char *out_dir, const jd_match_hooks *hooks,
                        bool *no_memory) {
  *no_memory = false;
  if (!out || !pending)
    return -1;
  *out = NULL;
  *pending = NULL;
  if (!ctx || !ctx->dk || !spec || !out_dir || !spec->nplayers || spec->nplayers > JD_MATCH_MAX_AIS)
    return -1;
  *no_memory = true;
  jd_match_pending *p = calloc(1, sizeof *p);
  char *dir = strdup(out_dir);
  if (!p || !dir) {
    free(p);
    free(dir);
    return -1;
  }
  p->out_dir = dir;
  jd_match *m = &p->m;
  *m = (jd_match){.ctx = ctx, .spec = spec, .hooks = hooks, .out_dir = dir};
  m->cmd_fd = m->ev_fd = m->wake_fd = -1;
  jd_live_init(&m->live);
  pthread_mutex_init(&m->mu, NULL);
  pthread_cond_init(&m->cond, NULL);
  dk_buf_init(&m->ev_out, 0);
  m->started_ms = jd_unix_ms();
  jd_match_result *res = result_new(spec, out_dir, m->started_ms);
  m->ai_ready = calloc(spec->nplayers, sizeof *m->ai_ready);
  if (!res || !m->ai_ready || jd_proto_reader_init(&m->reader, spec->limits.line_max)) {
    jd_match_result_free(res);
    match_free(m);
    free(p->out_dir);
    free(p);
    return -1;
  }
  *no_memory = false;
  if (!match_keys(m, res))
    execute(m);
  finish(m, res);
  /* The hooks are the caller's until this returns; the teardown calls
   * none (the loop is over; unit threads never use them). */
  m->hooks = NULL;
  timing(res, m);
  *out = res;
  *pending = p;
  return 0;
}

int jd_match_run_detached(jd_match_result **out, jd_match_pending **pending, jd_ctx *ctx,
                          const jd_match_spec *spec, const char *out_dir,
                          const jd_match_hooks *hooks, char *err, size_t errlen) {
  bool no_memory;
  if (run_detached(out, pending, ctx, spec, out_dir, hooks, &no_memory))
    return jd_fail(err, errlen, "%s", no_memory ? "out of memory" : "invalid argument");
  return 0;
}

int64_t jd_match_teardown(jd_match_pending *p) {
  if (!p)
    return -1;
  teardown(&p->m);
  match_free(&p->m);
  /* After match_free: the teardown includes removing the work directory. */
  int64_t ms = p->m.served_ms ? jd_unix_ms() - p->m.served_ms : -1;
  free(p->out_dir);
  free(p);
  return ms;
}

int jd_match_run(jd_match_result **out, jd_ctx *ctx, const jd_match_spec *spec, const char *out_dir,
                 const jd_match_hooks *hooks, char *err, size_t errlen) {
  jd_match_pending *p = NULL;
  bool no_memory;
  if (run_detached(out, &p, ctx, spec, out_dir, hooks, &no_memory))
    return jd_fail(err, errlen, "%s", no_memory ? "out of memory" : "invalid argument");
  (*out)->timing.teardown_ms = jd_match_teardown(p);
  return 0;
}
