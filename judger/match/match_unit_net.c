/* A player's own network (a warm player's too: the game logic runs when
 * either is made), and what unit threads wait on each other for (see
 * match_unit_internal.h): a retired warm container's removal before a
 * cold start of its name. */
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

/* The player is created on its network alone; the game logic, running,
 * joins it as "game". */
int unit_own_network(jd_unit *u) {
  jd_match *m = u->m;
  if (!u->net_name &&
      asprintf(&u->net_name, "judger-%s-%s-net-%d", m->ctx->host_id, m->run_key, u->seq) < 0) {
    u->net_name = NULL;
    return unit_fail(u, "player network", DK_ENOMEM);
  }
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
  /* The game logic's endpoint goes with its container (an unused warm
   * player is killed at the end or in the teardown, often as the game
   * logic's container is removed): nothing to disconnect then, and the
   * engine answers 500 to a container it is removing or no longer knows. */
  pthread_mutex_lock(&m->mu);
  bool gl_gone = m->units[0]->removed;
  pthread_mutex_unlock(&m->mu);
  int rc = gl_gone ? 0 : dk_network_disconnect(m->ctx->dk, u->net_id, u->gl_id, true);
  const dk_error *e = rc ? dk_error_last() : NULL;
  const char *why = e && e->code == rc ? e->message : dk_strerror(rc);
  if (rc && rc != DK_ENOTFOUND && !strstr(why, "marked for removal"))
    jd_log(JD_LOG_WARN, "match.network", "%s: disconnecting the game logic: %s", u->net_name, why);
  /* The sweep retries by label whatever is left. */
  jd_match_net_remove(m, u->net_id, u->net_name);
}

/* ---- what unit threads wait for ------------------------------------------ */

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
