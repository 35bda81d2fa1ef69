/* Private to the match's clock (match_clock.h): its state and the parts'
 * functions. match_clock.c: the thread, a container's clock from attach to
 * release; match_clock_meter.c: the meter I/O (samples, freezing), with
 * the mutex dropped; match_clock_turn.c: turns, from the loop's commands
 * to the events. Every field of a jd_uclock is under the clock's mutex; a
 * meter is used by one thread at a time (busy). */
#ifndef JD_MATCH_CLOCK_INTERNAL_H
#define JD_MATCH_CLOCK_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

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
/* A stats call through the API slower than this makes the API unfit to
 * clock turns for the rest of the match. */
#define API_SLOW_NS (200 * MS_NS)
/* A freeze under way is looked at this often, and given up after. */
#define FREEZE_POLL_NS (MS_NS / 2)
#define FREEZE_GIVE_UP_NS (2000 * MS_NS)
/* A dropped event line is logged once in this many. */
#define DROPS_LOGGED_EVERY 10000
/* The thread's shortest sleep. */
#define WAKE_MIN_NS ((int64_t)100 * 1000)
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
  bool in_turn;          /* the loop's view: a turn asked for and not ended */
  bool timed_out;        /* the open turn ran out */
  bool frozen, freezing; /* freezing: asked, the kernel not done yet */
  int64_t freeze_since;
  bool wall_only;                 /* no meter: its turns are charged on wall time */
  bool charged_cpu, charged_wall; /* the clocks its turns were charged on */
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
  bool api_slow;  /* see jd_clk_slow() */
  size_t dropped; /* event lines dropped (post_line) */
  struct jd_uclock *list;
  dk_buf events;
  jd_meter_mode mode;
};

static inline const jd_turn_limits *jd_clk_limits(const jd_clock *c) {
  return &c->m->spec->limits.turns;
}

static inline double jd_clk_ms(int64_t ns) { return (double)ns / 1e6; }

/* match_clock.c: wakes the thread (locked). */
void jd_clk_kick(jd_clock *c);

/* match_clock_meter.c: each called and returning locked; the I/O between
 * jd_clk_io_begin and jd_clk_io_end runs unlocked, uc busy. */
void jd_clk_io_begin(jd_clock *c, struct jd_uclock *uc);
void jd_clk_io_end(jd_clock *c, struct jd_uclock *uc);
/* Figures only grow (an exited container's API zeros undo nothing). */
void jd_clk_merge(struct jd_uclock *uc, const jd_usage *us);
int jd_clk_read_cpu(int64_t *out, jd_clock *c, struct jd_uclock *uc);
bool jd_clk_slow(const jd_clock *c, const struct jd_uclock *uc);
void jd_clk_sample(jd_clock *c, struct jd_uclock *uc);
void jd_clk_set_frozen(jd_clock *c, struct jd_uclock *uc, bool frozen);
int64_t jd_clk_poll_freeze(jd_clock *c, struct jd_uclock *uc);
/* Opens uc's meter before uc is shared (the loop's thread, unlocked). */
void jd_clk_open_meter(jd_clock *c, struct jd_uclock *uc);
void jd_clk_close_meter(jd_clock *c, struct jd_uclock *uc);

/* match_clock_turn.c (locked): a queued turn command, and an open turn's
 * read (returns when to read it next, 0: not again). */
void jd_clk_do_begin(jd_clock *c, struct jd_uclock *uc, const clock_op *op);
void jd_clk_do_end(jd_clock *c, struct jd_uclock *uc, const clock_op *op);
int64_t jd_clk_check_turn(jd_clock *c, struct jd_uclock *uc);

#endif
