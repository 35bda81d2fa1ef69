/* A match's clock thread: meters, turn clocks, freezing (match_clock.h).
 * Every field of a unit's clock is under the clock's mutex; a meter is used
 * by one thread at a time (busy), with the mutex dropped around the I/O so
 * the loop thread never waits on a read. */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "match/match_clock.h"

#define MS_NS ((int64_t)1000000)
/* How often a running container's figures are sampled for accounting:
 * preads of the host's cgroup files, or an engine call through the API. */
#define SAMPLE_CGROUP_NS (100 * MS_NS)
#define SAMPLE_API_NS (1000 * MS_NS)
/* The shortest wait between two reads of an open CPU turn near its end. */
#define CHECK_MIN_NS ((int64_t)250 * 1000)
/* How fast a container may spend CPU at most, in CPUs, for the next read
 * of an open turn: a quota of 1 CPU still lets two threads run on two cores
 * within one CFS period. */
#define RATE_MAX 4.0
/* Slack of a CPU-clocked turn's wall-time backstop. */
#define WALL_SLACK_NS (100 * MS_NS)
/* Turn commands queued for one player and not yet clocked, at most. */
#define OPS_MAX 256
/* Event lines waiting for the loop, at most (it takes them at every wake;
 * past this a flood of turns is dropped, as the loop's own queue does). */
#define EVENTS_MAX ((size_t)1 << 20)

typedef enum { OP_BEGIN, OP_END } op_kind;

typedef struct clock_op {
  op_kind kind;
  int64_t budget_ns; /* OP_BEGIN */
  int64_t at_ns;     /* mono ns the loop read the command */
  bool has_cpu;      /* cpu_ns read by the loop then (a cgroup meter) */
  int64_t cpu_ns;
  struct clock_op *next;
} clock_op;

struct jd_uclock {
  jd_unit *u;
  struct jd_uclock *next;
  double rate; /* CPUs it may spend at most (next read of an open turn) */
  bool attach_req, detach_req, closed, busy;
  bool released; /* its container is being killed: no freezing any more */
  jd_meter *meter;
  clock_op *ops, *ops_tail;
  size_t nops;
  bool in_turn;   /* the loop's view: a turn asked for and not ended */
  bool timed_out; /* the open turn ran out */
  bool frozen;
  bool wall_only; /* no meter: its turns are charged on wall time */
  jd_clock_kind clock;
  jd_turn_clock tc;
  int64_t wall_limit; /* mono ns: a CPU turn's backstop */
  int64_t next_check, next_sample;
  jd_unit_usage out;
};

typedef struct jd_clock jd_clock;

struct jd_clock {
  jd_match *m;
  pthread_t thread;
  bool started;
  pthread_mutex_t mu;
  pthread_cond_t cond; /* work for the thread; a meter no longer busy */
  bool stop, kick;
  struct jd_uclock *list;
  dk_buf events;
  jd_meter_mode mode;
};

static const jd_turn_limits *turn_limits(const jd_clock *c) { return &c->m->spec->limits.turns; }

static double ns_ms(int64_t ns) { return (double)ns / 1e6; }

/* ---- events --------------------------------------------------------- */

static void post_line(jd_clock *c, char *line) {
  if (!line)
    return;
  size_t len = strlen(line);
  if (c->events.len + len > EVENTS_MAX)
    jd_log(JD_LOG_WARN, "match.clock", "%s: the loop does not take the clock's events; dropped %s",
           c->m->run_key, line);
  else
    dk_buf_append(&c->events, line, len);
  free(line);
  uint64_t one = 1;
  if (c->m->wake_fd >= 0 && write(c->m->wake_fd, &one, sizeof one) < 0 && errno != EAGAIN)
    jd_log(JD_LOG_WARN, "match.clock", "%s: waking the loop: %s", c->m->run_key, strerror(errno));
}

static void post_turn(jd_clock *c, struct jd_uclock *uc, const jd_turn_outcome *o,
                      const char *clock, const char *action) {
  jd_proto_turn t = {.turn = o->turn,
                     .used_ms = ns_ms(o->used_ns),
                     .budget_ms = ns_ms(o->budget_ns),
                     .bank_ms = ns_ms(o->bank_ns),
                     .overrun_ms = ns_ms(o->overrun_ns),
                     .clock = clock};
  post_line(c, action ? jd_proto_event_timeout(uc->u->name, uc->u->ai, &t, action)
                      : jd_proto_event_turn_ended(uc->u->name, uc->u->ai, &t));
}

/* ---- meter I/O, the mutex dropped ------------------------------------ */

static void io_begin(jd_clock *c, struct jd_uclock *uc) {
  uc->busy = true;
  pthread_mutex_unlock(&c->mu);
}

static void io_end(jd_clock *c, struct jd_uclock *uc) {
  pthread_mutex_lock(&c->mu);
  uc->busy = false;
  pthread_cond_broadcast(&c->cond);
}

/* Figures only grow: a read of a container that just exited (the API's
 * zeros) must not undo the last good one. */
static void merge(struct jd_uclock *uc, const jd_usage *us) {
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

static int read_cpu(int64_t *out, jd_clock *c, struct jd_uclock *uc) {
  char err[256];
  io_begin(c, uc);
  int rc = jd_meter_cpu(out, uc->meter, err, sizeof err);
  io_end(c, uc);
  if (rc)
    return -1;
  if (uc->out.known && *out > uc->out.usage.cpu_ns)
    uc->out.usage.cpu_ns = *out;
  return 0;
}

static void sample(jd_clock *c, struct jd_uclock *uc) {
  char err[256];
  jd_usage us;
  io_begin(c, uc);
  int rc = jd_meter_read(&us, uc->meter, err, sizeof err);
  io_end(c, uc);
  if (!rc)
    merge(uc, &us);
}

static void set_frozen(jd_clock *c, struct jd_uclock *uc, bool frozen) {
  if (uc->frozen == frozen || !uc->meter || (frozen && uc->released))
    return;
  char err[256];
  io_begin(c, uc);
  int rc = jd_meter_freeze(uc->meter, frozen, err, sizeof err);
  io_end(c, uc);
  if (rc)
    jd_log(JD_LOG_WARN, "match.clock", "%s: %s %s: %s", c->m->run_key,
           frozen ? "freezing" : "thawing", uc->u->cname, err);
  else
    uc->frozen = frozen;
}

static void open_meter(jd_clock *c, struct jd_uclock *uc) {
  char err[256] = "";
  const char *id = uc->u->id;
  jd_meter *meter = NULL;
  io_begin(c, uc);
  int rc = id ? jd_meter_open(&meter, c->m->ctx->dk, id, c->m->ctx->cgroup_root, c->mode, err,
                              sizeof err)
              : -1;
  io_end(c, uc);
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
  sample(c, uc);
}

static void close_meter(jd_clock *c, struct jd_uclock *uc) {
  jd_meter *meter = uc->meter;
  uc->meter = NULL;
  io_begin(c, uc);
  jd_meter_close(meter);
  io_end(c, uc);
}

/* ---- turns ------------------------------------------------------------ */

/* The reading a turn is charged on now: CPU ns, or wall ns (at). */
static int turn_reading(int64_t *out, jd_clock *c, struct jd_uclock *uc, int64_t at) {
  if (uc->clock == JD_CLOCK_WALL || uc->wall_only || !uc->meter) {
    *out = at;
    return 0;
  }
  return read_cpu(out, c, uc);
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

static void do_begin(jd_clock *c, struct jd_uclock *uc, const clock_op *op) {
  set_frozen(c, uc, false);
  int64_t now = jd_mono_ns(), r;
  if (op_reading(&r, c, uc, op) || uc->released)
    return; /* gone: its EXITED note follows */
  char err[128];
  if (jd_turn_clock_begin(&uc->tc, op->budget_ns, r, err, sizeof err))
    return;
  uc->out.clocked = true;
  int64_t all = op->budget_ns + uc->tc.bank_ns;
  uc->wall_limit = now + (int64_t)turn_limits(c)->turn_wall_factor * all + WALL_SLACK_NS;
  uc->next_check = now;
}

static void do_end(jd_clock *c, struct jd_uclock *uc, const clock_op *op) {
  int64_t r;
  if (!uc->tc.open || op_reading(&r, c, uc, op))
    return;
  jd_turn_outcome o;
  bool was_out = uc->tc.timed_out;
  if (jd_turn_clock_end(&o, &uc->tc, r))
    return;
  /* It ran out between two reads and ended before the judger saw it: a
   * timeout all the same, told first; with "tle" it ends the player. */
  if (uc->tc.timed_out && !was_out) {
    jd_on_timeout action = turn_limits(c)->on_timeout;
    post_turn(c, uc, &o, clock_of(uc), jd_on_timeout_name(action));
    if (action == JD_ON_TIMEOUT_TLE) {
      jd_unit_request_kill(uc->u, JD_KILL_TURN);
      return;
    }
  }
  post_turn(c, uc, &o, clock_of(uc), NULL);
  set_frozen(c, uc, turn_limits(c)->freeze_idle);
}

/* The open turn ran out (clock: the one that did). */
static void time_out(jd_clock *c, struct jd_uclock *uc, int64_t r, const char *clock) {
  jd_turn_outcome o;
  if (jd_turn_clock_timeout(&o, &uc->tc, r))
    return;
  uc->timed_out = true;
  jd_on_timeout action = turn_limits(c)->on_timeout;
  post_turn(c, uc, &o, clock, jd_on_timeout_name(action));
  jd_log(JD_LOG_INFO, "match.clock", "%s: %s ran out of time on turn %lld (%.3f ms, %s clock)",
         c->m->run_key, uc->u->name, (long long)o.turn, ns_ms(o.used_ns), clock);
  if (action == JD_ON_TIMEOUT_FREEZE)
    set_frozen(c, uc, true);
  else
    jd_unit_request_kill(uc->u, JD_KILL_TURN);
}

/* Reads an open turn; times it out, or says when to read it next. */
static int64_t check_turn(jd_clock *c, struct jd_uclock *uc) {
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
    return now + left + 1000;
  int64_t wait = (int64_t)((double)left / uc->rate);
  int64_t next = now + (wait > CHECK_MIN_NS ? wait : CHECK_MIN_NS);
  return next < uc->wall_limit + 1000 ? next : uc->wall_limit + 1000;
}

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
  if (uc->attach_req) {
    uc->attach_req = false;
    open_meter(c, uc);
    uc->next_sample =
        jd_mono_ns() + (uc->out.source == JD_METER_API ? SAMPLE_API_NS : SAMPLE_CGROUP_NS);
  }
  if (uc->detach_req) {
    if (uc->meter)
      close_meter(c, uc);
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
      do_begin(c, uc, op);
    else
      do_end(c, uc, op);
    free(op);
  }
  int64_t next = 0;
  if (uc->tc.open && !uc->tc.timed_out && !uc->released && !uc->ops) {
    if (jd_mono_ns() >= uc->next_check)
      uc->next_check = check_turn(c, uc);
    next = uc->next_check;
  }
  if (uc->meter && jd_mono_ns() >= uc->next_sample) {
    sample(c, uc);
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
    struct timespec ts = {.tv_sec = (time_t)(wake / 1000000000), .tv_nsec = wake % 1000000000};
    pthread_cond_timedwait(&c->cond, &c->mu, &ts);
  }
  pthread_mutex_unlock(&c->mu);
  return NULL;
}

static void kick(jd_clock *c) {
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
  kick(c);
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
  pthread_mutex_lock(&c->mu);
  uc->attach_req = true;
  uc->next = c->list;
  c->list = uc;
  u->clk = uc;
  kick(c);
  pthread_mutex_unlock(&c->mu);
}

void jd_clock_detach(jd_match *m, jd_unit *u) {
  jd_clock *c = m->clock;
  if (!c || !u->clk)
    return;
  pthread_mutex_lock(&c->mu);
  u->clk->detach_req = true;
  u->clk->in_turn = false;
  kick(c);
  pthread_mutex_unlock(&c->mu);
}

/* Queues a turn command of uc (locked). Returns 0, or -1 when too many wait. */
static int enqueue(struct jd_uclock *uc, op_kind kind, int64_t budget_ns) {
  if (uc->nops >= OPS_MAX)
    return -1;
  clock_op *op = calloc(1, sizeof *op);
  if (!op)
    return -1;
  *op = (clock_op){.kind = kind, .budget_ns = budget_ns, .at_ns = jd_mono_ns()};
  /* A cgroup read is a pread of µs: taken here, on the loop's thread, the
   * moment the command is read (never an engine call: the API's are the
   * clock thread's). */
  char err[128];
  if (uc->meter && !uc->busy && uc->out.source != JD_METER_API &&
      !jd_meter_cpu(&op->cpu_ns, uc->meter, err, sizeof err))
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
  if (turn_limits(c)->exclusive)
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
    budget_ms = turn_limits(c)->turn_ms;
  struct jd_uclock *uc = u->clk;
  pthread_mutex_lock(&c->mu);
  const char *why = turn_refusal(c, uc);
  int rc = 0;
  /* A turn that ran out and was frozen ends with the next one. */
  if (!why && uc->in_turn && enqueue(uc, OP_END, 0))
    why = "sends turn commands faster than the judger can clock them";
  if (!why && enqueue(uc, OP_BEGIN, budget_ms * MS_NS))
    why = "sends turn commands faster than the judger can clock them";
  if (why) {
    snprintf(err, errlen, "player %s %s", u->name, why);
    rc = -1;
  } else {
    uc->in_turn = true;
    uc->timed_out = false;
    kick(c);
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
  } else if (enqueue(uc, OP_END, 0)) {
    snprintf(err, errlen, "player %s sends turn commands faster than the judger can clock them",
             u->name);
    rc = -1;
  } else {
    uc->in_turn = false;
    kick(c);
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
      bool frozen = uc->frozen;
      char err[256];
      jd_usage us;
      io_begin(c, uc);
      if (frozen && jd_meter_freeze(uc->meter, false, err, sizeof err))
        jd_log(JD_LOG_WARN, "match.clock", "%s: thawing %s: %s", m->run_key, u->cname, err);
      int rc = jd_meter_read(&us, uc->meter, err, sizeof err);
      io_end(c, uc);
      uc->frozen = false;
      if (!rc) {
        merge(uc, &us);
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
  if (out->clocked)
    jd_turn_clock_stats(&out->turns, &uc->tc);
}
