/* A match's clock thread (match_clock.h): a container's clock from its
 * attach to its release, and the thread that serves them all. */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "match/match_clock_internal.h"

/* ---- the thread ---------------------------------------------------------- */

static void drop_ops(struct jd_uclock *uc) {
  while (uc->ops) {
    clock_op *op = uc->ops;
    uc->ops = op->next;
    free(op);
  }
  uc->ops_tail = NULL;
  uc->nops = 0;
}

/* Everything due for one container; returns when it wants to be seen
 * again (mono ns, 0: only when asked). Called and returns locked. */
static int64_t service(jd_clock *c, struct jd_uclock *uc) {
  if (uc->closed || uc->busy)
    return 0;
  /* Between turns only: a turn is charged on one clock from start to end. */
  if (jd_clk_slow(c, uc) && !uc->tc.open)
    uc->wall_only = true;
  if (uc->attach_req) {
    uc->attach_req = false;
    if (uc->meter)
      jd_clk_sample(c, uc);
    uc->next_sample =
        jd_mono_ns() + (uc->out.source == JD_METER_API ? SAMPLE_API_NS : SAMPLE_CGROUP_NS);
  }
  if (uc->detach_req) {
    if (uc->meter)
      jd_clk_close_meter(c, uc);
    drop_ops(uc);
    uc->closed = true;
    return 0;
  }
  while (uc->ops && !uc->released) {
    clock_op *op = uc->ops;
    uc->ops = op->next;
    if (!uc->ops)
      uc->ops_tail = NULL;
    uc->nops--;
    if (op->kind == OP_BEGIN)
      jd_clk_do_begin(c, uc, op);
    else
      jd_clk_do_end(c, uc, op);
    free(op);
  }
  int64_t next = 0;
  if (uc->tc.open && !uc->tc.timed_out && !uc->released && !uc->ops) {
    if (jd_mono_ns() >= uc->next_check)
      uc->next_check = jd_clk_check_turn(c, uc);
    next = uc->next_check;
  }
  if (uc->freezing && !uc->released) {
    int64_t t = jd_clk_poll_freeze(c, uc);
    if (t && (!next || t < next))
      next = t;
  }
  if (uc->meter && jd_mono_ns() >= uc->next_sample) {
    jd_clk_sample(c, uc);
    uc->next_sample =
        jd_mono_ns() + (uc->out.source == JD_METER_API ? SAMPLE_API_NS : SAMPLE_CGROUP_NS);
  }
  if (uc->meter && (!next || uc->next_sample < next))
    next = uc->next_sample;
  return next;
}

static void *clock_main(void *arg) {
  jd_clock *c = arg;
  pthread_mutex_lock(&c->mu);
  while (!c->stop) {
    c->kick = false;
    int64_t wake = jd_mono_ns() + 1000 * MS_NS;
    for (struct jd_uclock *uc = c->list; uc; uc = uc->next) {
      int64_t t = service(c, uc);
      if (t && t < wake)
        wake = t;
    }
    if (c->kick || c->stop)
      continue;
    /* Never in the past nor beyond a second: a wake time from a hostile
     * sum must not turn the wait into a spin (EINVAL) or a sleep forever. */
    int64_t now = jd_mono_ns();
    if (wake < now + WAKE_MIN_NS)
      wake = now + WAKE_MIN_NS;
    if (wake > now + 1000 * MS_NS)
      wake = now + 1000 * MS_NS;
    struct timespec ts = {.tv_sec = (time_t)(wake / 1000000000), .tv_nsec = wake % 1000000000};
    pthread_cond_timedwait(&c->cond, &c->mu, &ts);
  }
  pthread_mutex_unlock(&c->mu);
  return NULL;
}

void jd_clk_kick(jd_clock *c) {
  c->kick = true;
  pthread_cond_broadcast(&c->cond);
}

/* ---- the match's side ------------------------------------------------- */

int jd_clock_start(jd_match *m) {
  jd_clock *c = calloc(1, sizeof *c);
  if (!c) {
    jd_match_set_status(m, JD_MATCH_STATUS_ERROR, "out of memory");
    return -1;
  }
  c->m = m;
  const char *b = m->ctx->clock_backend;
  c->mode = (b && !strcmp(b, "api"))      ? JD_METER_ONLY_API
            : (b && !strcmp(b, "cgroup")) ? JD_METER_ONLY_CGROUP
                                          : JD_METER_AUTO;
  pthread_mutex_init(&c->mu, NULL);
  pthread_condattr_t attr;
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  pthread_cond_init(&c->cond, &attr);
  pthread_condattr_destroy(&attr);
  dk_buf_init(&c->events, 0);
  m->clock = c;
  if (pthread_create(&c->thread, NULL, clock_main, c)) {
    jd_match_set_status(m, JD_MATCH_STATUS_ERROR, "cannot start the match's clock thread");
    return -1;
  }
  c->started = true;
  return 0;
}

void jd_clock_stop(jd_match *m) {
  jd_clock *c = m->clock;
  if (!c || !c->started)
    return;
  pthread_mutex_lock(&c->mu);
  c->stop = true;
  jd_clk_kick(c);
  pthread_mutex_unlock(&c->mu);
  pthread_join(c->thread, NULL);
  c->started = false;
}

void jd_clock_free(jd_match *m) {
  jd_clock *c = m->clock;
  if (!c)
    return;
  jd_clock_stop(m);
  struct jd_uclock *uc = c->list;
  while (uc) {
    struct jd_uclock *next = uc->next;
    jd_meter_close(uc->meter);
    drop_ops(uc);
    jd_turn_clock_free(&uc->tc);
    uc->u->clk = NULL;
    free(uc);
    uc = next;
  }
  dk_buf_free(&c->events);
  pthread_cond_destroy(&c->cond);
  pthread_mutex_destroy(&c->mu);
  free(c);
  m->clock = NULL;
}

void jd_clock_attach(jd_match *m, jd_unit *u) {
  jd_clock *c = m->clock;
  if (!c || u->clk)
    return;
  struct jd_uclock *uc = calloc(1, sizeof *uc);
  if (!uc) {
    jd_log(JD_LOG_WARN, "match.clock", "%s: out of memory: %s is not metered", m->run_key,
           u->cname);
    return;
  }
  const jd_turn_limits *tl = &m->spec->limits.turns;
  double cpus =
      u->ai < 0 ? m->spec->limits.game_logic.cpus : jd_match_player_limits(m->spec, u->ai)->cpus;
  uc->u = u;
  uc->rate = cpus > RATE_MAX ? cpus : RATE_MAX;
  uc->clock = tl->clock;
  jd_turn_clock_init(&uc->tc, tl->time_bank_ms * MS_NS, tl->bank_increment_ms * MS_NS);
  jd_clk_open_meter(c, uc);
  pthread_mutex_lock(&c->mu);
  uc->attach_req = true;
  uc->next = c->list;
  c->list = uc;
  u->clk = uc;
  jd_clk_kick(c);
  pthread_mutex_unlock(&c->mu);
}

void jd_clock_detach(jd_match *m, jd_unit *u) {
  jd_clock *c = m->clock;
  if (!c || !u->clk)
    return;
  pthread_mutex_lock(&c->mu);
  u->clk->detach_req = true;
  u->clk->in_turn = false;
  jd_clk_kick(c);
  pthread_mutex_unlock(&c->mu);
}

void jd_clock_release(jd_match *m, jd_unit *u) {
  jd_clock *c = m->clock;
  if (!c)
    return;
  pthread_mutex_lock(&c->mu);
  struct jd_uclock *uc = u->clk;
  while (uc && uc->busy)
    pthread_cond_wait(&c->cond, &c->mu);
  if (uc && !uc->released) {
    uc->released = true;
    if (uc->meter && !uc->closed) {
      bool frozen = uc->frozen, skip_read = jd_clk_slow(c, uc);
      char err[256];
      jd_usage us;
      jd_clk_io_begin(c, uc);
      if (frozen && jd_meter_freeze(uc->meter, false, err, sizeof err))
        jd_log(JD_LOG_WARN, "match.clock", "%s: thawing %s: %s", m->run_key, u->cname, err);
      int rc = skip_read ? -1 : jd_meter_read(&us, uc->meter, err, sizeof err);
      jd_clk_io_end(c, uc);
      uc->frozen = uc->freezing = false;
      if (!rc) {
        jd_clk_merge(uc, &us);
        uc->out.final = true;
      }
    }
  }
  pthread_mutex_unlock(&c->mu);
}

void jd_clock_usage(jd_unit_usage *out, const jd_unit *u) {
  memset(out, 0, sizeof *out);
  const struct jd_uclock *uc = u->clk;
  if (!uc)
    return;
  *out = uc->out;
  out->clock = uc->charged_cpu && uc->charged_wall ? "mixed" : uc->charged_wall ? "wall" : "cpu";
  if (out->clocked)
    jd_turn_clock_stats(&out->turns, &uc->tc);
}
