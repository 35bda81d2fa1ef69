/* One container of a match and the thread doing its engine calls (see
 * match_internal.h, match_unit_internal.h): the unit object, and its
 * thread's plan, the same for a warm and a cold player: setup, serve,
 * finish. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "match/match_unit_internal.h"

int jd_unit_new(jd_unit **out, jd_match *m, int ai, const char *name) {
  *out = NULL;
  jd_unit *u = calloc(1, sizeof *u);
  if (!u)
    return -1;
  u->m = m;
  u->ai = ai;
  u->seq = (int)m->nunits;
  u->exit_code = -1;
  u->go_fd = -1;
  u->verdict = JD_VERDICT_UE;
  atomic_init(&u->kill, JD_KILL_NONE);
  snprintf(u->name, sizeof u->name, "%s", name);
  if (dk_cancel_new(&u->cancel))
    goto fail;
  if (ai < 0) {
    if (asprintf(&u->cname, "judger-%s-%s-game_logic", m->ctx->host_id, m->run_key) < 0)
      u->cname = NULL;
    if (asprintf(&u->spool_path, "%s/game_logic.log", m->spool_dir) < 0)
      u->spool_path = NULL;
  } else {
    /* The sequence number keeps names unique when a player name is reused
     * after its first instance exited. */
    if (asprintf(&u->cname, "judger-%s-%s-player-%s-%d", m->ctx->host_id, m->run_key, name,
                 u->seq) < 0)
      u->cname = NULL;
    if (asprintf(&u->spool_path, "%s/%d.log", m->spool_dir, u->seq) < 0)
      u->spool_path = NULL;
  }
  if (!u->cname || !u->spool_path)
    goto fail;
  if (m->nunits == m->units_cap) {
    size_t cap = m->units_cap ? m->units_cap * 2 : 8;
    jd_unit **n = realloc(m->units, cap * sizeof *n);
    if (!n)
      goto fail;
    m->units = n;
    m->units_cap = cap;
  }
  m->units[m->nunits++] = u;
  *out = u;
  return 0;
fail:
  jd_unit_free(u);
  return -1;
}

void jd_unit_free(jd_unit *u) {
  if (!u)
    return;
  dk_cancel_free(u->cancel);
  free(u->cname);
  free(u->spool_path);
  free(u->net_name);
  free(u->net_id);
  free(u->gl_id);
  free(u->id);
  free(u->message);
  if (u->go_fd >= 0)
    close(u->go_fd);
  free(u->go_path);
  free(u);
}

bool jd_unit_used(const jd_unit *u) { return !u->warm || u->went; }

jd_kill_reason jd_unit_kill_reason(const jd_unit *u) {
  jd_kill_reason k = (jd_kill_reason)atomic_load(&u->kill);
  if (u->log_truncated)
    return JD_KILL_OLE;
  return u->kill_sent ? k : JD_KILL_NONE;
}

void jd_unit_request_kill(jd_unit *u, jd_kill_reason why) {
  int none = JD_KILL_NONE;
  atomic_compare_exchange_strong(&u->kill, &none, (int)why);
  /* Wakes the unit thread out of its log stream; it kills the container. */
  dk_cancel_fire(u->cancel);
}

/* ---- the unit thread --------------------------------------------------- */

/* A player's own network first (the game logic runs already: it joins
 * it), then its configuration; a warm player's too, begun once the game
 * logic runs (warm.h). Returns 0, or -1 with the unit's failure set. */
static int unit_setup(jd_unit *u, unit_cfg *cfg, bool own_net) {
  if (own_net && unit_own_network(u))
    return -1;
  if (unit_cfg_build(cfg, u))
    return unit_fail(u, "configuration", cfg->rc);
  return 0;
}

/* The common tail's first half: the match network, the log spool, the
 * container's create and start, its logs, how it ended. *spool is the
 * caller's to close. */
static void unit_serve(jd_unit *u, const unit_cfg *cfg, bool own_net, jd_log_spool **spool) {
  jd_match *m = u->m;
  char err[JD_MATCH_ERR_MAX];
  if (!own_net && jd_match_network_await(m, err, sizeof err)) {
    u->engine_error = true;
    u->message = strdup(err);
    return;
  }
  size_t log_max = u->ai < 0 ? m->spec->limits.game_logic.log_max
                             : jd_match_player_limits(m->spec, u->ai)->log_max;
  if (jd_log_spool_open(spool, u->spool_path, log_max)) {
    u->engine_error = true;
    if (asprintf(&u->message, "cannot open %s: %s", u->spool_path, strerror(errno)) < 0)
      u->message = NULL;
    return;
  }
  if (unit_create(u, cfg) || unit_start(u))
    return;
  /* A warm player's start is its go (the loop thread's), not this. */
  u->since_ms = jd_unix_ms();
  if (!u->warm)
    u->started_ms = u->since_ms;
  jd_match_post(m, u, NOTE_STARTED);
  if (atomic_load(&u->kill) == JD_KILL_NONE)
    unit_follow_logs(u, *spool);
  unit_wait(u);
}

/* The common tail's second half, on every path: the exit note, then the
 * container's and the network's removal. */
static void unit_finish(jd_unit *u, unit_cfg *cfg, jd_log_spool *spool) {
  jd_match *m = u->m;
  u->ended_ms = jd_unix_ms();
  if (spool) {
    u->log_truncated = u->log_truncated || jd_log_spool_truncated(spool);
    jd_log_spool_close(spool);
  }
  unit_cfg_free(cfg);
  /* The game logic hears of the exit before the removal: a stopped
   * container holds no network alias, and the match is not torn down before
   * this thread is joined. */
  jd_match_post(m, u, NOTE_EXITED);
  if (u->id) {
    /* Remove now rather than at the end: resources come back at once; the
     * final sweep by label catches what this misses. */
    int rc = dk_container_remove(m->ctx->dk, u->id, true, true);
    /* 409: an outside removal is in progress (unit_vanished's kin). */
    if (rc && rc != DK_ENOTFOUND && !(u->outside && rc == DK_ECONFLICT))
      jd_log(JD_LOG_WARN, "match.remove", "%s: %s", u->cname, dk_strerror(rc));
  }
  unit_removed(u);
  unit_remove_network(u);
}

static void *unit_main(void *arg) {
  jd_unit *u = arg;
  unit_cfg cfg;
  memset(&cfg, 0, sizeof cfg);
  jd_log_spool *spool = NULL;
  unit_await_retired(u);
  bool own_net = u->ai >= 0 && u->m->spec->isolation == JD_ISOLATION_PLAYER;
  if (!unit_setup(u, &cfg, own_net))
    unit_serve(u, &cfg, own_net, &spool);
  unit_finish(u, &cfg, spool);
  return NULL;
}

int jd_unit_spawn(jd_unit *u) {
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  /* Unit threads only wait on the engine: a small stack keeps 100 players
   * cheap. */
  pthread_attr_setstacksize(&attr, 512 * 1024);
  int rc = pthread_create(&u->thread, &attr, unit_main, u);
  pthread_attr_destroy(&attr);
  if (rc)
    return -1;
  u->thread_started = true;
  return 0;
}
