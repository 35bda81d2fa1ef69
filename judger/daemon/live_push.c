/* The live pusher (live_push.h): the match threads hand event lines to a
 * bounded backlog (one list per task); one thread writes them into the
 * tasks' Redis streams (queue/live.h), a batch per task per round trip.
 * Past the bound the flooder pays: the task with the most pending bytes
 * loses its oldest entries, never the bounded events (starts, exits, the
 * end, the result: a match has few), which may go a little past it.
 *
 * Under mu: the task records and their entries. Only the thread frees a
 * task record (once its end is written and nothing is left), so it may use
 * one without the lock while it writes. Entries it took out for a write are
 * no longer in the backlog; a write that failed on the connection puts them
 * back in front (they are the oldest) and the bound applies again. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/log.h"
#include "daemon/live_push.h"
#include "queue/live.h"

/* One append: at most this many entries and bytes (a script's arguments,
 * and how long Redis is busy with it). */
#define BATCH_ENTRIES 512
#define BATCH_BYTES ((size_t)4 << 20)
#define STOP_FLUSH_MS 2000

typedef struct node {
  struct node *next;
  bool bounded; /* an event a match has few of: never dropped past the bound */
  size_t len;
  char json[];
} node;

typedef struct task {
  struct task *next;
  char id[JD_TASK_ID_MAX + 1];
  uint64_t gen; /* +1 at each begin: a write of an older attempt is void */
  bool reset;   /* the stream is to start over with live.begin */
  int attempt;
  long long claim; /* the run's claim token: the writes' fence */
  int64_t ttl_ms;
  size_t maxlen;
  size_t entry_cap;     /* an entry over it (not bounded) is dropped */
  size_t dn, dbytes;    /* its pending entries that may be dropped */
  size_t pbytes;        /* all its pending entries' bytes */
  bool ended, end_done; /* end asked; its TTL written */
  bool fenced;          /* another run holds the task: entries dropped */
  node *head, *tail;
} task;

struct jd_live_push {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  pthread_t th;
  bool started, stop;
  int64_t stop_deadline; /* monotonic */
  jd_queue *q;           /* the thread's own */
  task *tasks;
  size_t n, bytes;         /* in the backlog */
  size_t cap_n, cap_bytes; /* its bound */
  size_t maxlen;           /* the default stream cap */
  int64_t end_ttl;         /* live_ttl_ms */
  int64_t written, dropped;
  int64_t warned_ms; /* the last warning (the thread's own): one per 10 s */
};

size_t jd_live_entry_cap(int64_t frame_max_bytes) {
  int64_t f = frame_max_bytes > 1024 ? frame_max_bytes : 1024;
  if (f > (int64_t)1 << 20) /* the spec's own bound */
    f = (int64_t)1 << 20;
  return (size_t)f + 512;
}

size_t jd_live_maxlen(const jd_config *cfg, int64_t frame_max_bytes) {
  /* What an entry costs Redis at most: the entry cap (its frame, the
   * event's fields) and the stream's own keeping, measured at 10.3 KiB for
   * an 8 KiB frame (docs/performance.md "Live watching"): 5/4 of
   * max(frame, 1024) + 512. */
  int64_t per = frame_max_bytes > 1024 ? frame_max_bytes : 1024;
  per = (per + 512) / 4 * 5;
  int64_t m = cfg->live_max_bytes / per;
  if (cfg->live_entries > 0 && m > cfg->live_entries)
    m = cfg->live_entries;
  return m < 16 ? 16 : (size_t)m;
}

static void nodes_free(node *n) {
  while (n) {
    node *next = n->next;
    free(n);
    n = next;
  }
}

static task *find(jd_live_push *p, const char *task_id) {
  for (task *t = p->tasks; t; t = t->next)
    if (!strcmp(t->id, task_id))
      return t;
  return NULL;
}

/* n enters (+1) or leaves (-1) the backlog's counts and t's. mu held. */
static void count(jd_live_push *p, task *t, const node *n, int dir) {
  if (dir > 0) {
    p->n++;
    p->bytes += n->len;
    t->pbytes += n->len;
    t->dn += !n->bounded;
    t->dbytes += n->bounded ? 0 : n->len;
  } else {
    p->n--;
    p->bytes -= n->len;
    t->pbytes -= n->len;
    t->dn -= !n->bounded;
    t->dbytes -= n->bounded ? 0 : n->len;
  }
}

/* Drops the task's pending entries onto *gone (freed by the caller outside
 * the lock), counted. mu held. */
static void drop_all(jd_live_push *p, task *t, node **gone) {
  for (node *n = t->head; n;) {
    node *next = n->next;
    count(p, t, n, -1);
    p->dropped++;
    n->next = *gone;
    *gone = n;
    n = next;
  }
  t->head = t->tail = NULL;
}

/* The task whose droppable pending entries weigh most (in bytes, or in
 * entries when only their count is over the bound); NULL when none has
 * any. mu held. */
static task *flooder(jd_live_push *p, bool by_bytes) {
  task *f = NULL;
  for (task *t = p->tasks; t; t = t->next)
    if (t->dn && (!f || (by_bytes ? t->dbytes > f->dbytes : t->dn > f->dn)))
      f = t;
  return f;
}

/* Unlinks t's oldest entry that is not bounded (NULL: none). mu held. */
static node *unlink_oldest(task *t) {
  node *prev = NULL, *n = t->head;
  while (n && n->bounded) {
    prev = n;
    n = n->next;
  }
  if (!n)
    return NULL;
  if (prev)
    prev->next = n->next;
  else
    t->head = n->next;
  if (t->tail == n)
    t->tail = prev;
  n->next = NULL;
  return n;
}

/* Moves n (out of t's list) onto *gone, counted. mu held. */
static void drop_node(jd_live_push *p, task *t, node *n, node **gone) {
  count(p, t, n, -1);
  p->dropped++;
  n->next = *gone;
  *gone = n;
}

/* Past the bound: the flooder's oldest entries go, one at a time (another
 * task's only once it is the one holding the most). Bounded events stay
 * past the bound, up to twice it (thousands of player starts while Redis
 * is away): then the oldest of the task holding the most bytes go too.
 * mu held. */
static void enforce_bound(jd_live_push *p, node **gone) {
  while (p->n > p->cap_n || p->bytes > p->cap_bytes) {
    task *f = flooder(p, p->bytes > p->cap_bytes);
    node *n = f ? unlink_oldest(f) : NULL;
    if (!n)
      break;
    drop_node(p, f, n, gone);
  }
  while (p->n > 2 * p->cap_n || p->bytes > 2 * p->cap_bytes) {
    task *f = NULL;
    for (task *t = p->tasks; t; t = t->next)
      if (t->head && (!f || t->pbytes > f->pbytes))
        f = t;
    if (!f)
      return;
    node *n = f->head;
    f->head = n->next;
    if (!f->head)
      f->tail = NULL;
    drop_node(p, f, n, gone);
  }
}

void jd_live_push_begin_cap(jd_live_push *p, const char *task_id, int attempt, int64_t ttl_ms,
                            size_t maxlen, long long claim, size_t entry_cap) {
  if (!p || !task_id || !jd_task_id_valid(task_id))
    return;
  task *fresh = calloc(1, sizeof *fresh);
  node *gone = NULL;
  pthread_mutex_lock(&p->mu);
  task *t = find(p, task_id);
  if (!t && fresh) {
    t = fresh;
    fresh = NULL;
    snprintf(t->id, sizeof t->id, "%s", task_id);
    t->next = p->tasks;
    p->tasks = t;
  }
  if (t) {
    drop_all(p, t, &gone); /* an earlier attempt's: its stream starts over */
    t->gen++;
    t->reset = true;
    t->attempt = attempt;
    t->claim = claim;
    t->ttl_ms = ttl_ms > 0 ? ttl_ms : p->end_ttl;
    t->maxlen = maxlen ? maxlen : p->maxlen;
    t->entry_cap = entry_cap ? entry_cap : jd_live_entry_cap(8192);
    t->ended = t->end_done = t->fenced = false;
    pthread_cond_signal(&p->cv);
  }
  pthread_mutex_unlock(&p->mu);
  free(fresh);
  nodes_free(gone);
}

void jd_live_push_begin_max(jd_live_push *p, const char *task_id, int attempt, int64_t ttl_ms,
                            size_t maxlen, long long claim) {
  jd_live_push_begin_cap(p, task_id, attempt, ttl_ms, maxlen, claim, 0);
}

void jd_live_push_begin(jd_live_push *p, const char *task_id, int attempt, int64_t ttl_ms) {
  jd_live_push_begin_max(p, task_id, attempt, ttl_ms, 0, JD_CLAIM_NONE);
}

/* Whether an entry of len bytes fits its task's cap; one over it is
 * counted as dropped. False too for a task with no begin. */
static bool fits(jd_live_push *p, const char *task_id, size_t len, bool bounded) {
  pthread_mutex_lock(&p->mu);
  task *t = find(p, task_id);
  bool over = t && !bounded && len > t->entry_cap;
  p->dropped += over;
  pthread_mutex_unlock(&p->mu);
  return t && !over;
}

bool jd_live_push_event(jd_live_push *p, const char *task_id, const char *json, size_t len,
                        bool bounded) {
  if (!p || !task_id || !json || !fits(p, task_id, len, bounded))
    return false;
  /* Copied outside the lock (the cap checked first: a huge line is never
   * copied). */
  node *n = malloc(sizeof *n + len + 1);
  if (!n) {
    pthread_mutex_lock(&p->mu);
    p->dropped++;
    pthread_mutex_unlock(&p->mu);
    return true;
  }
  n->next = NULL;
  n->bounded = bounded;
  n->len = len;
  memcpy(n->json, json, len);
  n->json[len] = '\0';
  node *gone = NULL;
  pthread_mutex_lock(&p->mu);
  task *t = find(p, task_id);
  if (!t || t->ended || t->fenced || (!bounded && len > t->entry_cap)) {
    gone = n; /* no begin (or over, or a new attempt's cap): not a stream of ours */
    p->dropped += t && (t->fenced || !t->ended);
  } else {
    if (t->tail)
      t->tail->next = n;
    else
      t->head = n;
    t->tail = n;
    count(p, t, n, +1);
    enforce_bound(p, &gone);
    pthread_cond_signal(&p->cv);
  }
  pthread_mutex_unlock(&p->mu);
  nodes_free(gone);
  return true;
}

void jd_live_push_entry(jd_live_push *p, const char *task_id, const char *json, size_t len) {
  (void)jd_live_push_event(p, task_id, json, len, false);
}

void jd_live_push_end(jd_live_push *p, const char *task_id) {
  if (!p || !task_id)
    return;
  pthread_mutex_lock(&p->mu);
  task *t = find(p, task_id);
  if (t && !t->ended) {
    t->ended = true;
    t->end_done = false;
    pthread_cond_signal(&p->cv);
  }
  pthread_mutex_unlock(&p->mu);
}

int64_t jd_live_push_written(const jd_live_push *p) {
  if (!p)
    return 0;
  pthread_mutex_lock((pthread_mutex_t *)&p->mu);
  int64_t v = p->written;
  pthread_mutex_unlock((pthread_mutex_t *)&p->mu);
  return v;
}

int64_t jd_live_push_dropped(const jd_live_push *p) {
  if (!p)
    return 0;
  pthread_mutex_lock((pthread_mutex_t *)&p->mu);
  int64_t v = p->dropped;
  pthread_mutex_unlock((pthread_mutex_t *)&p->mu);
  return v;
}

/* ---- the thread ------------------------------------------------------------ */

static bool has_work(const task *t) { return t->reset || t->head || (t->ended && !t->end_done); }

/* What one append writes, taken out of the backlog under mu. */
typedef struct batch {
  task *t;
  uint64_t gen;
  bool reset, end; /* end: the TTL is the end's and the task is done after it */
  int attempt;
  long long claim;
  int64_t ttl_ms;
  size_t maxlen, count;
  node *head, *tail;
} batch;

/* Moves t to the end of the list: tasks take turns. mu held. */
static void rotate(jd_live_push *p, task *t) {
  task **pp = &p->tasks;
  while (*pp != t)
    pp = &(*pp)->next;
  *pp = t->next;
  t->next = NULL;
  while (*pp)
    pp = &(*pp)->next;
  *pp = t;
}

/* The first task with work, and what it has (at most a batch). mu held. */
static bool take(jd_live_push *p, batch *b) {
  task *t = p->tasks;
  while (t && !has_work(t))
    t = t->next;
  if (!t)
    return false;
  rotate(p, t);
  memset(b, 0, sizeof *b);
  b->t = t;
  b->gen = t->gen;
  b->reset = t->reset;
  b->attempt = t->attempt;
  b->claim = t->claim;
  b->maxlen = t->maxlen;
  t->reset = false;
  size_t bytes = 0;
  while (t->head && b->count < BATCH_ENTRIES &&
         (b->count == 0 || bytes + t->head->len <= BATCH_BYTES)) {
    node *n = t->head;
    t->head = n->next;
    n->next = NULL;
    if (b->tail)
      b->tail->next = n;
    else
      b->head = n;
    b->tail = n;
    b->count++;
    bytes += n->len;
    count(p, t, n, -1);
  }
  if (!t->head)
    t->tail = NULL;
  b->end = t->ended && !t->head;
  b->ttl_ms = b->end ? p->end_ttl : t->ttl_ms;
  return true;
}

/* Writes the batch: live.begin first when the stream starts over.
 * *refused: another run holds the task. */
static int write_batch(bool *refused, jd_live_push *p, const batch *b) {
  *refused = false;
  size_t n = b->count + (b->reset ? 1 : 0), i = 0;
  const char **jsons = calloc(n ? n : 1, sizeof *jsons);
  size_t *lens = calloc(n ? n : 1, sizeof *lens);
  char begin[JD_TASK_ID_MAX + 96];
  int rc = -1;
  if (jsons && lens) {
    if (b->reset) {
      lens[i] = (size_t)snprintf(begin, sizeof begin,
                                 "{\"event\":\"live.begin\",\"task_id\":\"%s\",\"attempt\":%d}",
                                 b->t->id, b->attempt);
      jsons[i++] = begin;
    }
    for (node *x = b->head; x; x = x->next, i++) {
      jsons[i] = x->json;
      lens[i] = x->len;
    }
    rc = jd_queue_live_append_fenced(refused, p->q, b->t->id, b->claim, b->reset, jsons, lens, n,
                                     b->maxlen, b->ttl_ms);
  }
  free(jsons);
  free(lens);
  return rc;
}

/* The write failed on the connection: the batch goes back in front (unless
 * a newer attempt began meanwhile) and the bound applies. mu held. */
static void put_back(jd_live_push *p, batch *b, node **gone) {
  task *t = b->t;
  if (t->gen != b->gen) {
    p->dropped += (int64_t)b->count;
    if (b->tail) {
      b->tail->next = *gone;
      *gone = b->head;
    }
    return;
  }
  t->reset = t->reset || b->reset;
  if (b->head) {
    for (node *x = b->head; x; x = x->next)
      count(p, t, x, +1);
    b->tail->next = t->head;
    t->head = b->head;
    if (!t->tail)
      t->tail = b->tail;
  }
  enforce_bound(p, gone);
}

/* After a write that went through (or was refused: dropped): the end is
 * done, and a finished task with nothing left is forgotten. mu held. */
static void settle(jd_live_push *p, const batch *b) {
  task *t = b->t;
  if (t->gen != b->gen || !b->end || !t->ended || t->head || t->reset)
    return;
  t->end_done = true;
  for (task **pp = &p->tasks; *pp; pp = &(*pp)->next)
    if (*pp == t) {
      *pp = t->next;
      free(t);
      return;
    }
}

/* The wait after a connection failure: the backoff, cut short by the stop's
 * deadline. mu held. */
static void backoff_wait(jd_live_push *p) {
  int64_t ms = jd_queue_backoff_ms(p->q);
  if (ms < 50)
    ms = 50;
  if (p->stop && jd_mono_ms() + ms > p->stop_deadline)
    ms = p->stop_deadline - jd_mono_ms();
  if (ms <= 0)
    return;
  struct timespec ts = jd_mono_after(ms);
  pthread_cond_timedwait(&p->cv, &p->mu, &ts);
}

/* One batch written (mu held, released while writing). */
static void round_trip(jd_live_push *p, batch *b) {
  pthread_mutex_unlock(&p->mu);
  bool refused = false;
  int rc = write_batch(&refused, p, b);
  bool lost = rc && jd_queue_lost(p->q);
  if (rc && (!p->warned_ms || jd_mono_ms() - p->warned_ms >= 10000)) {
    jd_log_task(JD_LOG_WARN, "live.redis", b->t->id, "live stream not written: %s%s",
                jd_queue_error(p->q), lost ? " (kept; retrying with backoff)" : " (dropped)");
    p->warned_ms = jd_mono_ms();
  }
  if (refused)
    jd_log_task(JD_LOG_INFO, "live.fenced", b->t->id,
                "another run holds the task: %zu live entries of attempt %d dropped", b->count,
                b->attempt);
  node *gone = NULL, *gone2 = NULL;
  pthread_mutex_lock(&p->mu);
  if (refused) {
    p->dropped += (int64_t)b->count;
    gone = b->head;
    if (b->t->gen == b->gen) {
      b->t->fenced = true;
      drop_all(p, b->t, &gone2);
    }
    settle(p, b);
  } else if (!rc) {
    p->written += (int64_t)b->count;
    p->warned_ms = 0;
    gone = b->head;
    settle(p, b);
  } else if (lost) {
    put_back(p, b, &gone);
  } else {
    p->dropped += (int64_t)b->count;
    gone = b->head;
    settle(p, b);
  }
  pthread_mutex_unlock(&p->mu);
  nodes_free(gone);
  nodes_free(gone2);
  pthread_mutex_lock(&p->mu);
  if (lost)
    backoff_wait(p);
}

static void *push_main(void *arg) {
  jd_live_push *p = arg;
  pthread_mutex_lock(&p->mu);
  for (;;) {
    batch b;
    bool any = take(p, &b);
    if (p->stop && (!any || jd_mono_ms() >= p->stop_deadline)) {
      if (any) {
        node *gone = NULL;
        put_back(p, &b, &gone);
        nodes_free(gone);
      }
      break;
    }
    if (any) {
      round_trip(p, &b);
      continue;
    }
    pthread_cond_wait(&p->cv, &p->mu);
  }
  /* What is left could not be written in time. */
  node *gone = NULL;
  for (task *t = p->tasks; t; t = t->next)
    drop_all(p, t, &gone);
  pthread_mutex_unlock(&p->mu);
  nodes_free(gone);
  return NULL;
}

int jd_live_push_start(jd_live_push **out, const jd_config *cfg, char *err, size_t errlen) {
  return jd_live_push_start_stats(out, cfg, NULL, err, errlen);
}

int jd_live_push_start_stats(jd_live_push **out, const jd_config *cfg, jd_redis_stats *stats,
                             char *err, size_t errlen) {
  *out = NULL;
  jd_live_push *p = calloc(1, sizeof *p);
  if (!p) {
    snprintf(err, errlen, "live pusher: out of memory");
    return -1;
  }
  pthread_mutex_init(&p->mu, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&p->cv, &ca);
  pthread_condattr_destroy(&ca);
  /* Room for a burst of every running match while a write is in flight,
   * and for a stream's worth while Redis is away. */
  p->cap_n = 4 * (cfg->live_entries > 0 ? (size_t)cfg->live_entries : 2000);
  p->cap_bytes = 2 * (cfg->live_max_bytes > 0 ? (size_t)cfg->live_max_bytes : (size_t)8 << 20);
  p->maxlen = jd_live_maxlen(cfg, 8192);
  p->end_ttl = cfg->live_ttl_ms > 0 ? cfg->live_ttl_ms : 600000;
  /* Short timeouts: a stop flushes for at most STOP_FLUSH_MS. */
  jd_queue_opts o = {.redis_url = cfg->redis,
                     .prefix = cfg->prefix,
                     .group = cfg->group,
                     .consumer = cfg->host_id};
  o.redis.connect_timeout_ms = 1000;
  o.redis.io_timeout_ms = STOP_FLUSH_MS;
  o.redis.backoff_max_ms = 2000; /* watchers wait for what Redis missed */
  o.redis.stats = stats;
  if (jd_queue_new(&p->q, &o)) {
    snprintf(err, errlen, "live pusher: cannot use the Redis URL (or out of memory)");
    jd_live_push_stop(p);
    return -1;
  }
  if (pthread_create(&p->th, NULL, push_main, p)) {
    snprintf(err, errlen, "live pusher: cannot start its thread");
    jd_live_push_stop(p);
    return -1;
  }
  p->started = true;
  *out = p;
  return 0;
}

void jd_live_push_stop(jd_live_push *p) {
  if (!p)
    return;
  if (p->started) {
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    p->stop_deadline = jd_mono_ms() + STOP_FLUSH_MS;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    pthread_join(p->th, NULL);
  }
  for (task *t = p->tasks; t;) {
    task *next = t->next;
    nodes_free(t->head);
    free(t);
    t = next;
  }
  jd_queue_free(p->q);
  pthread_cond_destroy(&p->cv);
  pthread_mutex_destroy(&p->mu);
  free(p);
}
