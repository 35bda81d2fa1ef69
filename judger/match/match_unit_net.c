/* A player's own network, and what unit threads wait on each other for
 * (see match_unit_internal.h): a warm player's network before the game
 * logic joins it, a retired warm container's removal before a cold start
 * of its name. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "match/match_unit_internal.h"

/* A failure of ours with the engine's words (err). -1. */
static int fail_with(jd_unit *u, const char *what, const char *err) {
  u->engine_error = true;
  if (!u->message && asprintf(&u->message, "%s: %s", what, err) < 0)
    u->message = NULL;
  return -1;
}

/* A warm player's network: the game logic joins it between its create and
 * its start (unit_join_warm_networks): a connect while the engine starts
 * a container waits for that start. */
static int warm_network(jd_unit *u) {
  char *id = NULL, err[JD_MATCH_ERR_MAX];
  int rc = jd_match_net_new(&id, u->m, u->net_name, 2, err, sizeof err);
  unit_net_settle(u, id);
  return rc ? fail_with(u, "player network", err) : 0;
}

/* The player is created on its network alone; the game logic joins it
 * as "game". */
int unit_own_network(jd_unit *u) {
  jd_match *m = u->m;
  if (!u->net_name &&
      asprintf(&u->net_name, "judger-%s-%s-net-%d", m->ctx->host_id, m->run_key, u->seq) < 0) {
    u->net_name = NULL;
    if (u->warm)
      unit_net_settle(u, NULL);
    return unit_fail(u, "player network", DK_ENOMEM);
  }
  if (u->warm)
    return warm_network(u);
  if (!u->gl_id)
    return unit_fail(u, "player network", DK_ENOTFOUND);
  char err[JD_MATCH_ERR_MAX];
  if (jd_match_net_new(&u->net_id, m, u->net_name, 2, err, sizeof err))
    return fail_with(u, "player network", err);
  const char *aliases[] = {"game", NULL};
  int rc = dk_network_connect(m->ctx->dk, u->net_id, u->gl_id, aliases);
  return rc ? unit_fail(u, "player network", rc) : 0;
}

void unit_remove_network(jd_unit *u) {
  jd_match *m = u->m;
  if (!u->net_id)
    return;
  int rc = dk_network_disconnect(m->ctx->dk, u->net_id, u->gl_id, true);
  if (rc && rc != DK_ENOTFOUND)
    jd_log(JD_LOG_WARN, "match.network", "%s: disconnecting the game logic: %s", u->net_name,
           dk_strerror(rc));
  /* The sweep retries by label whatever is left. */
  jd_match_net_remove(m, u->net_id, u->net_name);
}

/* ---- what unit threads wait for ------------------------------------------ */

void unit_net_settle(jd_unit *u, char *net_id) {
  pthread_mutex_lock(&u->m->mu);
  u->net_id = net_id;
  u->net_settled = true;
  pthread_cond_broadcast(&u->m->cond);
  pthread_mutex_unlock(&u->m->mu);
}

void unit_join_warm_networks(jd_match *m, const char *gl_id) {
  const char *aliases[] = {"game", NULL};
  for (size_t i = 0; i < m->nwarm; i++) {
    jd_unit *u = m->warm[i];
    pthread_mutex_lock(&m->mu);
    while (!u->net_settled)
      pthread_cond_wait(&m->cond, &m->mu);
    const char *net_id = u->net_id;
    bool join = net_id && !u->gl_joined;
    pthread_mutex_unlock(&m->mu);
    if (!join)
      continue;
    int rc = dk_network_connect(m->ctx->dk, net_id, gl_id, aliases);
    if (rc) {
      /* That player starts cold (jd_warm_take). */
      jd_log(JD_LOG_WARN, "match.warm", "%s: the game logic cannot join %s: %s", m->run_key,
             u->net_name, dk_strerror(rc));
      continue;
    }
    pthread_mutex_lock(&m->mu);
    u->gl_id = strdup(gl_id);
    u->gl_joined = u->gl_id != NULL;
    pthread_mutex_unlock(&m->mu);
  }
}

void unit_await_retired(jd_unit *u) {
  jd_unit *w = u->retire;
  if (!w)
    return;
  pthread_mutex_lock(&u->m->mu);
  while (!w->removed)
    pthread_cond_wait(&u->m->cond, &u->m->mu);
  pthread_mutex_unlock(&u->m->mu);
}

void unit_removed(jd_unit *u) {
  pthread_mutex_lock(&u->m->mu);
  u->removed = true;
  pthread_cond_broadcast(&u->m->cond);
  pthread_mutex_unlock(&u->m->mu);
}
