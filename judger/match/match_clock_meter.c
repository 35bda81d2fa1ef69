/* The match clock's meter I/O (match_clock_internal.h): samples, reads,
 * freezing; the mutex dropped around every call into a meter. */
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

/* ---- meter I/O, the mutex dropped ------------------------------------ */

void jd_clk_io_begin(jd_clock *c, struct jd_uclock *uc) {
  uc->busy = true;
  pthread_mutex_unlock(&c->mu);
}

void jd_clk_io_end(jd_clock *c, struct jd_uclock *uc) {
  pthread_mutex_lock(&c->mu);
  uc->busy = false;
  pthread_cond_broadcast(&c->cond);
}

/* Figures only grow: a read of a container that just exited (the API's
 * zeros) must not undo the last good one. */
void jd_clk_merge(struct jd_uclock *uc, const jd_usage *us) {
  jd_usage *o = &uc->out.usage;
  if (!uc->out.known) {
    *o = *us;
    uc->out.known = true;
    return;
  }
#define KEEP_MAX(f) (o->f = us->f > o->f ? us->f : o->f)
  KEEP_MAX(cpu_ns);
  KEEP_MAX(memory_peak);
  KEEP_MAX(throttled_ns);
  KEEP_MAX(throttled_periods);
#undef KEEP_MAX
}

int jd_clk_read_cpu(int64_t *out, jd_clock *c, struct jd_uclock *uc) {
  char err[256];
  jd_clk_io_begin(c, uc);
  int rc = jd_meter_cpu(out, uc->meter, err, sizeof err);
  jd_clk_io_end(c, uc);
  if (rc)
    return -1;
  if (uc->out.known && *out > uc->out.usage.cpu_ns)
    uc->out.usage.cpu_ns = *out;
  return 0;
}

/* Whether uc's meter is the API of an engine too slow to be read while
 * the match runs. */
bool jd_clk_slow(const jd_clock *c, const struct jd_uclock *uc) {
  return c->api_slow && uc->out.source == JD_METER_API;
}

void jd_clk_sample(jd_clock *c, struct jd_uclock *uc) {
  if (jd_clk_slow(c, uc))
    return;
  char err[256];
  jd_usage us;
  int64_t t0 = jd_mono_ns();
  jd_clk_io_begin(c, uc);
  int rc = jd_meter_read(&us, uc->meter, err, sizeof err);
  jd_clk_io_end(c, uc);
  if (!rc)
    jd_clk_merge(uc, &us);
  /* Docker 20.10 answers a one-shot stats only at its collector's next
   * pass, once a second: read that way, turns would be clocked a second
   * late and the thread would serve nobody else. */
  if (uc->out.source == JD_METER_API && jd_mono_ns() - t0 > API_SLOW_NS && !c->api_slow) {
    c->api_slow = true;
    jd_log(JD_LOG_WARN, "match.clock",
           "%s: the engine took %lld ms for a container's stats: no more reads through the "
           "API in this match; turns are charged on wall time",
           c->m->run_key, (long long)((jd_mono_ns() - t0) / MS_NS));
  }
}

/* A freeze is asked for and then polled by service() (FREEZE_POLL_NS
 * apart) until the kernel says frozen, so the thread serves the other
 * players meanwhile; a thaw is at once. frozen covers both: a thaw undoes
 * a freeze under way too. */
/* A freeze that failed: after a timeout (the game logic was told
 * "freeze") the player must not run on free: it is ended (TLE); between
 * turns (freeze_idle) it is counted (usage.freeze_failures). */
static void freeze_failed(struct jd_uclock *uc) {
  uc->out.freeze_failures++;
  if (uc->timed_out)
    jd_unit_request_kill(uc->u, JD_KILL_TURN);
}

void jd_clk_set_frozen(jd_clock *c, struct jd_uclock *uc, bool frozen) {
  if (uc->frozen == frozen || (frozen && uc->released))
    return;
  if (!uc->meter) {
    if (frozen)
      freeze_failed(uc); /* no meter, no freezer */
    return;
  }
  char err[256];
  bool done = true;
  jd_clk_io_begin(c, uc);
  int rc = frozen ? jd_meter_freeze_start(uc->meter, &done, err, sizeof err)
                  : jd_meter_freeze(uc->meter, false, err, sizeof err);
  jd_clk_io_end(c, uc);
  if (rc) {
    jd_log(JD_LOG_WARN, "match.clock", "%s: %s %s: %s", c->m->run_key,
           frozen ? "freezing" : "thawing", uc->u->cname, err);
    if (frozen)
      freeze_failed(uc);
    return;
  }
  uc->frozen = frozen;
  uc->freezing = frozen && !done;
  uc->freeze_since = jd_mono_ns();
}

/* A freeze under way: done, still going (the next poll's time), or given
 * up after FREEZE_GIVE_UP_NS and thawed back. */
int64_t jd_clk_poll_freeze(jd_clock *c, struct jd_uclock *uc) {
  char err[256];
  bool done = false;
  jd_clk_io_begin(c, uc);
  int rc = jd_meter_freeze_poll(uc->meter, &done, err, sizeof err);
  jd_clk_io_end(c, uc);
  int64_t now = jd_mono_ns();
  if (!rc && done) {
    uc->freezing = false;
    return 0;
  }
  if (rc || now - uc->freeze_since > FREEZE_GIVE_UP_NS) {
    jd_log(JD_LOG_WARN, "match.clock", "%s: %s did not freeze (%s): thawed back", c->m->run_key,
           uc->u->cname, rc ? err : "too slow");
    uc->freezing = false;
    jd_clk_set_frozen(c, uc, false);
    freeze_failed(uc);
    return 0;
  }
  return now + FREEZE_POLL_NS;
}

void jd_clk_open_meter(jd_clock *c, struct jd_uclock *uc) {
  char err[256] = "";
  const char *id = uc->u->id;
  jd_meter *meter = NULL;
  /* No engine call: opening the cgroup files, or keeping the id for the
   * API; the loop's thread may (the first turn's readings need it). */
  int rc = id ? jd_meter_open(&meter, c->m->ctx->dk, id, c->m->ctx->cgroup_root, c->mode, err,
                              sizeof err)
              : -1;
  if (rc) {
    jd_log(JD_LOG_WARN, "match.clock",
           "%s: no meter for %s (%s): its turns are charged on wall "
           "time",
           c->m->run_key, uc->u->cname, err);
    uc->wall_only = true;
    return;
  }
  uc->meter = meter;
  uc->out.source = jd_meter_backend_of(meter);
}

void jd_clk_close_meter(jd_clock *c, struct jd_uclock *uc) {
  jd_meter *meter = uc->meter;
  uc->meter = NULL;
  jd_clk_io_begin(c, uc);
  jd_meter_close(meter);
  jd_clk_io_end(c, uc);
}
