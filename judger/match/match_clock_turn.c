/* The match clock's turns (match_clock_internal.h): the loop's turn
 * commands, checked and queued; the clock thread's reads of them; the
 * turn_ended and timeout events. */
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

/* ---- events --------------------------------------------------------- */

static void post_line(jd_clock *c, char *line) {
  if (!line)
    return;
  size_t len = strlen(line);
  /* Logged once, then every DROPS_LOGGED_EVERY: a flood of turns must not
   * flood the judger's log. */
  if (c->events.len + len > EVENTS_MAX) {
    if (c->dropped++ % DROPS_LOGGED_EVERY == 0)
      jd_log(JD_LOG_WARN, "match.clock",
             "%s: the loop does not take the clock's events; %zu dropped so far, this one: %.200s",
             c->m->run_key, c->dropped, line);
  } else {
    dk_buf_append(&c->events, line, len);
  }
  free(line);
  uint64_t one = 1;
  if (c->m->wake_fd >= 0 && write(c->m->wake_fd, &one, sizeof one) < 0 && errno != EAGAIN)
    jd_log(JD_LOG_WARN, "match.clock", "%s: waking the loop: %s", c->m->run_key, strerror(errno));
}

static void post_turn(jd_clock *c, struct jd_uclock *uc, const jd_turn_outcome *o,
                      const char *clock, const char *action) {
  jd_proto_turn t = {.turn = o->turn,
                     .used_ms = jd_clk_ms(o->used_ns),
                     .budget_ms = jd_clk_ms(o->budget_ns),
                     .bank_ms = jd_clk_ms(o->bank_ns),
                     .overrun_ms = jd_clk_ms(o->overrun_ns),
                     .clock = clock};
  post_line(c, action ? jd_proto_event_timeout(uc->u->name, uc->u->ai, &t, action)
                      : jd_proto_event_turn_ended(uc->u->name, uc->u->ai, &t));
}

/* ---- turns ------------------------------------------------------------ */

/* The reading a turn is charged on now: CPU ns, or wall ns (at). */
static int turn_reading(int64_t *out, jd_clock *c, struct jd_uclock *uc, int64_t at) {
  if (uc->clock == JD_CLOCK_WALL || uc->wall_only || !uc->meter) {
    *out = at;
    return 0;
  }
  return jd_clk_read_cpu(out, c, uc);
}

/* The reading of a turn command: the CPU the loop read as it took the
 * command when it could (the clock thread may come to it later, and CPU
 * spent meanwhile belongs to the turn), else read now. */
static int op_reading(int64_t *out, jd_clock *c, struct jd_uclock *uc, const clock_op *op) {
  if (op->has_cpu && uc->clock == JD_CLOCK_CPU && !uc->wall_only) {
    *out = op->cpu_ns;
    return 0;
  }
  return turn_reading(out, c, uc, op->at_ns);
}

static const char *clock_of(const struct jd_uclock *uc) {
  return jd_clock_name(uc->wall_only ? JD_CLOCK_WALL : uc->clock);
}

/* a + b, held at INT64_MAX (times are ns since boot: only a hostile sum
 * gets there, and a deadline that far is never). */
static int64_t sat_add(int64_t a, int64_t b) {
  int64_t r;
  return __builtin_add_overflow(a, b, &r) ? INT64_MAX : r;
}

void jd_clk_do_begin(jd_clock *c, struct jd_uclock *uc, const clock_op *op) {
  /* Read before the thaw: frozen, it spends nothing, and what it spends
   * from the thaw on is the turn's (through the API the thaw and the
   * reading are engine calls of ms). */
  int64_t r;
  if (op_reading(&r, c, uc, op) || uc->released)
    return; /* gone: its EXITED note follows */
  jd_clk_set_frozen(c, uc, false);
  int64_t now = jd_mono_ns();
  char err[128];
  if (jd_turn_clock_begin(&uc->tc, op->budget_ns, r, err, sizeof err))
    return;
  uc->out.clocked = true;
  if (uc->clock == JD_CLOCK_CPU && !uc->wall_only)
    uc->charged_cpu = true;
  else
    uc->charged_wall = true;
  int64_t all = sat_add(op->budget_ns, uc->tc.bank_ns), span;
  if (__builtin_mul_overflow(all, (int64_t)jd_clk_limits(c)->turn_wall_factor, &span))
    span = INT64_MAX;
  uc->wall_limit = sat_add(now, sat_add(span, WALL_SLACK_NS));
  uc->next_check = now;
}

void jd_clk_do_end(jd_clock *c, struct jd_uclock *uc, const clock_op *op) {
  int64_t r;
  if (!uc->tc.open)
    return;
  /* freeze_idle: frozen first, read after (the loop did both already on
   * cgroups), so what it computes after its reply is its own turn's. */
  if (jd_clk_limits(c)->freeze_idle && !uc->tc.timed_out)
    jd_clk_set_frozen(c, uc, true);
  if (op_reading(&r, c, uc, op))
    return;
  jd_turn_outcome o;
  bool was_out = uc->tc.timed_out;
  if (jd_turn_clock_end(&o, &uc->tc, r))
    return;
  /* It ran out between two reads and ended before the judger saw it: a
   * timeout all the same, told first; with "tle" it ends the player. */
  if (uc->tc.timed_out && !was_out) {
    jd_on_timeout action = jd_clk_limits(c)->on_timeout;
    post_turn(c, uc, &o, clock_of(uc), jd_on_timeout_name(action));
    if (action == JD_ON_TIMEOUT_TLE) {
      jd_unit_request_kill(uc->u, JD_KILL_TURN);
      return;
    }
  }
  post_turn(c, uc, &o, clock_of(uc), NULL);
  jd_clk_set_frozen(c, uc, jd_clk_limits(c)->freeze_idle);
}

/* The open turn ran out (clock: the one that did). */
static void time_out(jd_clock *c, struct jd_uclock *uc, int64_t r, const char *clock) {
  jd_turn_outcome o;
  if (jd_turn_clock_timeout(&o, &uc->tc, r))
    return;
  uc->timed_out = true;
  jd_on_timeout action = jd_clk_limits(c)->on_timeout;
  post_turn(c, uc, &o, clock, jd_on_timeout_name(action));
  jd_log(JD_LOG_INFO, "match.clock", "%s: %s ran out of time on turn %lld (%.3f ms, %s clock)",
         c->m->run_key, uc->u->name, (long long)o.turn, jd_clk_ms(o.used_ns), clock);
  if (action == JD_ON_TIMEOUT_FREEZE)
    jd_clk_set_frozen(c, uc, true);
  else
    jd_unit_request_kill(uc->u, JD_KILL_TURN);
}

/* Reads an open turn; times it out, or says when to read it next. */
int64_t jd_clk_check_turn(jd_clock *c, struct jd_uclock *uc) {
  int64_t now = jd_mono_ns(), r;
  if (turn_reading(&r, c, uc, now))
    return 0;
  int64_t left = jd_turn_clock_left(&uc->tc, r);
  bool cpu = strcmp(clock_of(uc), "cpu") == 0;
  if (left <= 0) {
    time_out(c, uc, r, clock_of(uc));
    return 0;
  }
  if (cpu && now > uc->wall_limit) {
    time_out(c, uc, r, "wall");
    return 0;
  }
  if (!cpu)
    return sat_add(now, sat_add(left, 1000));
  int64_t wait = (int64_t)((double)left / uc->rate);
  int64_t next = sat_add(now, wait > CHECK_MIN_NS ? wait : CHECK_MIN_NS);
  int64_t backstop = sat_add(uc->wall_limit, 1000);
  return next < backstop ? next : backstop;
}

/* Queues a turn command of uc (locked). Returns 0, or -1 when too many wait. */
static int enqueue(struct jd_uclock *uc, op_kind kind, int64_t budget_ns, bool freeze_first) {
  if (uc->nops >= OPS_MAX)
    return -1;
  clock_op *op = calloc(1, sizeof *op);
  if (!op)
    return -1;
  *op = (clock_op){.kind = kind, .budget_ns = budget_ns, .at_ns = jd_mono_ns()};
  /* A cgroup read is a pread of µs: taken here, on the loop's thread, the
   * moment the command is read (never an engine call: the API's are the
   * clock thread's). With freeze_idle a turn's end freezes first, then
   * reads: what a bot computes after its reply is its turn's, and what
   * no turn pays for is only the freeze's own landing. */
  char err[128];
  bool local = uc->meter && !uc->busy && uc->out.source != JD_METER_API;
  if (local && freeze_first && !uc->released && !uc->frozen) {
    bool done = false;
    if (!jd_meter_freeze_start(uc->meter, &done, err, sizeof err)) {
      uc->frozen = true;
      uc->freezing = !done;
      uc->freeze_since = jd_mono_ns();
    }
  }
  if (local && !jd_meter_cpu(&op->cpu_ns, uc->meter, err, sizeof err))
    op->has_cpu = true;
  if (uc->ops_tail)
    uc->ops_tail->next = op;
  else
    uc->ops = op;
  uc->ops_tail = op;
  uc->nops++;
  return 0;
}

/* Why a turn of uc cannot begin (locked), or NULL. */
static const char *turn_refusal(jd_clock *c, const struct jd_uclock *uc) {
  if (uc->detach_req || uc->closed || uc->released)
    return "has exited";
  if (uc->in_turn && !uc->timed_out)
    return "is in a turn already (turn_end it first)";
  if (jd_clk_limits(c)->exclusive)
    for (const struct jd_uclock *o = c->list; o; o = o->next)
      if (o != uc && o->in_turn && !o->closed && !o->detach_req)
        return "cannot have a turn while another player's is open (exclusive_turns)";
  return NULL;
}

int jd_clock_turn(jd_match *m, jd_unit *u, int64_t budget_ms, char *err, size_t errlen) {
  jd_clock *c = m->clock;
  if (!c || !u->clk) {
    snprintf(err, errlen, "player %s is not running yet (wait for its started event)", u->name);
    return -1;
  }
  if (budget_ms < 0)
    budget_ms = jd_clk_limits(c)->turn_ms;
  struct jd_uclock *uc = u->clk;
  pthread_mutex_lock(&c->mu);
  const char *why = turn_refusal(c, uc);
  int rc = 0;
  /* A turn that ran out and was frozen ends with the next one. */
  if (!why && uc->in_turn && enqueue(uc, OP_END, 0, false))
    why = "sends turn commands faster than the judger can clock them";
  if (!why && enqueue(uc, OP_BEGIN, budget_ms * MS_NS, false))
    why = "sends turn commands faster than the judger can clock them";
  if (why) {
    snprintf(err, errlen, "player %s %s", u->name, why);
    rc = -1;
  } else {
    uc->in_turn = true;
    uc->timed_out = false;
    jd_clk_kick(c);
  }
  pthread_mutex_unlock(&c->mu);
  return rc;
}

int jd_clock_turn_end(jd_match *m, jd_unit *u, char *err, size_t errlen) {
  jd_clock *c = m->clock;
  struct jd_uclock *uc = u->clk;
  if (!c || !uc) {
    snprintf(err, errlen, "player %s has no open turn", u->name);
    return -1;
  }
  pthread_mutex_lock(&c->mu);
  int rc = 0;
  if (!uc->in_turn || uc->detach_req || uc->closed) {
    snprintf(err, errlen, "player %s has no open turn", u->name);
    rc = -1;
  } else if (enqueue(uc, OP_END, 0, jd_clk_limits(c)->freeze_idle)) {
    snprintf(err, errlen, "player %s sends turn commands faster than the judger can clock them",
             u->name);
    rc = -1;
  } else {
    uc->in_turn = false;
    jd_clk_kick(c);
  }
  pthread_mutex_unlock(&c->mu);
  return rc;
}

bool jd_clock_timed_out(jd_match *m, const jd_unit *u) {
  jd_clock *c = m->clock;
  if (!c || !u->clk)
    return false;
  pthread_mutex_lock(&c->mu);
  bool out = u->clk->in_turn && u->clk->timed_out;
  pthread_mutex_unlock(&c->mu);
  return out;
}

char *jd_clock_take_events(jd_match *m) {
  jd_clock *c = m->clock;
  if (!c)
    return NULL;
  pthread_mutex_lock(&c->mu);
  char *text = NULL;
  if (c->events.len && (text = malloc(c->events.len + 1))) {
    memcpy(text, c->events.data, c->events.len);
    text[c->events.len] = '\0';
    c->events.len = 0;
  }
  pthread_mutex_unlock(&c->mu);
  return text;
}
