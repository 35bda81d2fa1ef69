/* The engine watch (engine_watch.h). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/context.h"
#include "common/log.h"
#include "daemon/daemon_internal.h"
#include "daemon/engine_watch.h"

struct jd_engine_watch {
  jd_daemon *d;
  pthread_t th;
  bool exit;  /* under d->mu: the run is over */
  bool fired; /* under d->mu: the watch stopped the daemon */
  char msg[1024];
};

void jd_engine_watch_message(char *msg, size_t len, const jd_engine *e, const char *first,
                             const char *now) {
  snprintf(msg, len,
           "the engine learnt at the start, %s %s (Server: %s), answers as another engine now "
           "(Server: %s): which guarantees it keeps is no longer known, so this daemon stops (no "
           "task taken, running ones given back, exit 3); restart it so that it learns the engine "
           "and its guarantees again (docs/security.md \"Engines\")",
           dk_engine_kind_name(e->kind), e->version, *first ? first : "not sent",
           *now ? now : "not sent, another product");
}

/* Reads the client's flag at every wake-up of the daemon (any change of its
 * state broadcasts d->cv) and every tick, until the end of the run. */
static void *watch_main(void *arg) {
  jd_engine_watch *w = arg;
  jd_daemon *d = w->d;
  bool changed = false;
  pthread_mutex_lock(&d->mu);
  while (!(changed = dk_client_engine_changed(d->ctx->dk)) && !w->exit)
    jd_daemon_wait_ms(d, JD_ENGINE_WATCH_TICK_MS);
  pthread_mutex_unlock(&d->mu);
  if (!changed)
    return NULL;
  char first[128], now[128];
  dk_client_engine_servers(first, sizeof first, now, sizeof now, d->ctx->dk);
  /* ctx->engine was learnt by engine_check before this thread started */
  jd_engine_watch_message(w->msg, sizeof w->msg, &d->ctx->engine, first, now);
  jd_log(JD_LOG_ERROR, "engine.changed", "%s", w->msg);
  pthread_mutex_lock(&d->mu);
  w->fired = true;
  pthread_mutex_unlock(&d->mu);
  /* At once: a task running now runs on an engine whose guarantees nobody
   * checked (a build's RUN steps on the host's network); its containers
   * are removed and it is given back for another host. */
  jd_daemon_stop(d, false);
  return NULL;
}

int jd_engine_watch_start(jd_engine_watch **out, jd_daemon *d) {
  *out = NULL;
  if (!d->ctx || !d->ctx->dk)
    return 0;
  jd_engine_watch *w = calloc(1, sizeof *w);
  if (!w)
    return -1;
  w->d = d;
  if (pthread_create(&w->th, NULL, watch_main, w)) {
    free(w);
    return -1;
  }
  *out = w;
  return 0;
}

bool jd_engine_watch_end(jd_engine_watch *w, char *err, size_t errlen) {
  if (!w)
    return false;
  jd_daemon *d = w->d;
  pthread_mutex_lock(&d->mu);
  w->exit = true;
  pthread_cond_broadcast(&d->cv);
  pthread_mutex_unlock(&d->mu);
  pthread_join(w->th, NULL);
  bool fired = w->fired;
  if (fired)
    snprintf(err, errlen, "%s", w->msg);
  free(w);
  return fired;
}
