/* The live hub (see live_hub.h).
 *
 * Locks: the hub's mutex guards the table of streams (the list, listed,
 * closed, the watcher counts); each stream's mutex guards its ring, replay
 * and condition variable. Order: hub, then stream; a watcher's next takes
 * only its stream's. Entries are immutable blocks with an atomic reference
 * count: the ring holds one, a watcher takes one under the stream's mutex
 * and reads the block outside any lock; the last reference frees it,
 * outside the locks too (blocks released under a lock are chained and freed
 * after).
 *
 * A stream's ring is indexed by absolute positions: head is the oldest kept
 * entry, tail one past the newest; a watcher keeps the position of its next
 * entry, and a position below head means that entry was dropped (LAGGED).
 * A stream leaves the list when it is restarted, expires or the kept bytes
 * overflow: its entries and replay are released then; the small struct goes
 * when its last watcher leaves. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "daemon/live_hub.h"

/* How often a push looks for expired streams (open and watch always do). */
#define SWEEP_EVERY_MS 1000

typedef struct block {
  atomic_int refs;
  struct block *next;    /* the chain of blocks to free (set by the last releaser) */
  _Atomic int64_t *held; /* the hub's bytes held */
  int64_t seq;
  size_t len;
  char data[];
} block;

typedef struct stream {
  struct stream *next; /* hub's */
  char *id;
  bool listed, closed; /* set under both locks */
  int64_t closed_at;
  uint64_t close_order; /* closes counted: the oldest is dropped first */
  int watchers;         /* hub's */
  size_t kept;          /* bytes kept once closed (hub's) */
  pthread_mutex_t mu;
  pthread_cond_t cond;
  block **ring; /* stream's */
  size_t slots, head, tail, bytes;
  int64_t dropped_seq; /* the highest seq dropped from the ring */
  int64_t last_seq;    /* the newest entry's */
  block *replay;
} stream;

struct jd_live_hub {
  jd_live_caps caps;
  pthread_mutex_t mu;
  pthread_cond_t idle; /* watchers reached 0 (jd_live_hub_free) */
  stream *streams;
  int watchers;
  uint64_t closes;
  int64_t last_sweep, rejected;
  _Atomic uint64_t kick_gen;
  _Atomic int64_t entries, dropped, lagged, refused, held;
};

struct jd_live_watcher {
  jd_live_hub *h;
  stream *s;
  size_t pos;
  uint64_t gen;
  bool lagged_now, replay_sent, done;
};

static const char *const item_names[] = {
#define JD_LIVE_ITEM_NAME(code, name, text) name,
    JD_LIVE_ITEM_MAP(JD_LIVE_ITEM_NAME)
#undef JD_LIVE_ITEM_NAME
};

const char *jd_live_item_name(jd_live_item_kind k) {
  return (unsigned)k < JD_LIVE_ITEM_COUNT ? item_names[k] : "?";
}

static block *block_new(jd_live_hub *h, int64_t seq, const char *data, size_t len) {
  block *b = malloc(sizeof *b + len + 1);
  if (!b)
    return NULL;
  atomic_init(&b->refs, 1);
  b->next = NULL;
  b->held = &h->held;
  b->seq = seq;
  b->len = len;
  memcpy(b->data, data, len);
  b->data[len] = '\0';
  atomic_fetch_add(&h->held, (int64_t)len);
  return b;
}

static void block_ref(block *b) { atomic_fetch_add_explicit(&b->refs, 1, memory_order_relaxed); }

/* Drops a reference; the last one chains b onto *gc (freed by gc_free). */
static void block_unref(block *b, block **gc) {
  if (!b || atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel) != 1)
    return;
  b->next = *gc;
  *gc = b;
}

/* Frees the chained blocks; outside the locks. */
static void gc_free(block *gc) {
  while (gc) {
    block *next = gc->next;
    atomic_fetch_sub(gc->held, (int64_t)gc->len);
    free(gc);
    gc = next;
  }
}

void jd_live_item_clear(jd_live_item *it) {
  block *gc = NULL;
  block_unref(it->ref, &gc);
  gc_free(gc);
  *it = (jd_live_item)JD_LIVE_ITEM_INIT;
}

/* Releases the ring's entries and the replay onto *gc. Under s->mu. */
static void stream_release(stream *s, block **gc) {
  for (size_t i = s->head; i < s->tail; i++)
    block_unref(s->ring[i % s->slots], gc);
  s->head = s->tail;
  s->bytes = 0;
  block_unref(s->replay, gc);
  s->replay = NULL;
}

static void stream_free(stream *s) {
  block *gc = NULL;
  stream_release(s, &gc);
  gc_free(gc);
  pthread_cond_destroy(&s->cond);
  pthread_mutex_destroy(&s->mu);
  free(s->ring);
  free(s->id);
  free(s);
}

static stream *stream_new(const char *task_id, size_t slots) {
  stream *s = calloc(1, sizeof *s);
  if (!s)
    return NULL;
  s->slots = slots ? slots : 1;
  s->ring = calloc(s->slots, sizeof *s->ring);
  s->id = strdup(task_id);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  int rc = pthread_cond_init(&s->cond, &ca);
  pthread_condattr_destroy(&ca);
  int mrc = pthread_mutex_init(&s->mu, NULL);
  if (rc || mrc || !s->ring || !s->id) {
    if (!rc)
      pthread_cond_destroy(&s->cond);
    if (!mrc)
      pthread_mutex_destroy(&s->mu);
    free(s->ring);
    free(s->id);
    free(s);
    return NULL;
  }
  s->listed = true;
  return s;
}

/* Takes s off the list and releases its entries and replay onto *gc (its
 * watchers answer END); frees it when nobody watches it. Under h->mu. */
static void unlist(jd_live_hub *h, stream *s, block **gc) {
  for (stream **p = &h->streams; *p; p = &(*p)->next)
    if (*p == s) {
      *p = s->next;
      break;
    }
  s->next = NULL;
  pthread_mutex_lock(&s->mu);
  s->listed = false;
  stream_release(s, gc);
  pthread_cond_broadcast(&s->cond);
  pthread_mutex_unlock(&s->mu);
  if (!s->watchers)
    stream_free(s);
}

static stream *find(jd_live_hub *h, const char *task_id) {
  for (stream *s = h->streams; s; s = s->next)
    if (!strcmp(s->id, task_id))
      return s;
  return NULL;
}

/* Drops the finished streams past keep_ms, then the oldest finished ones
 * while they hold more than caps.kept_bytes. O(streams) per pass: there are
 * few (running matches and the ones of the last keep_ms). Under h->mu. */
static void sweep(jd_live_hub *h, int64_t now, block **gc) {
  h->last_sweep = now;
  size_t total = 0;
  for (stream *s = h->streams, *next = NULL; s; s = next) {
    next = s->next;
    if (s->closed && now - s->closed_at >= h->caps.keep_ms)
      unlist(h, s, gc);
    else if (s->closed)
      total += s->kept;
  }
  while (total > h->caps.kept_bytes) {
    stream *oldest = NULL;
    for (stream *s = h->streams; s; s = s->next)
      if (s->closed && (!oldest || s->close_order < oldest->close_order))
        oldest = s;
    if (!oldest)
      break;
    total -= oldest->kept;
    unlist(h, oldest, gc);
  }
}

int jd_live_hub_new(jd_live_hub **out, const jd_live_caps *caps) {
  *out = NULL;
  jd_live_hub *h = calloc(1, sizeof *h);
  if (!h)
    return -1;
  h->caps = *caps;
  if (!h->caps.kept_bytes)
    h->caps.kept_bytes = h->caps.bytes * 8;
  if (pthread_mutex_init(&h->mu, NULL)) {
    free(h);
    return -1;
  }
  if (pthread_cond_init(&h->idle, NULL)) {
    pthread_mutex_destroy(&h->mu);
    free(h);
    return -1;
  }
  *out = h;
  return 0;
}

void jd_live_hub_kick(jd_live_hub *h) {
  if (!h)
    return;
  pthread_mutex_lock(&h->mu);
  atomic_fetch_add(&h->kick_gen, 1);
  for (stream *s = h->streams; s; s = s->next) {
    pthread_mutex_lock(&s->mu);
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->mu);
  }
  pthread_mutex_unlock(&h->mu);
}

void jd_live_hub_free(jd_live_hub *h) {
  if (!h)
    return;
  jd_live_hub_kick(h);
  block *gc = NULL;
  pthread_mutex_lock(&h->mu);
  while (h->watchers > 0)
    pthread_cond_wait(&h->idle, &h->mu);
  while (h->streams)
    unlist(h, h->streams, &gc);
  pthread_mutex_unlock(&h->mu);
  gc_free(gc);
  pthread_cond_destroy(&h->idle);
  pthread_mutex_destroy(&h->mu);
  free(h);
}

int jd_live_hub_open(jd_live_hub *h, const char *task_id) {
  if (!h || !task_id)
    return -1;
  stream *fresh = stream_new(task_id, h->caps.entries);
  if (!fresh)
    return -1;
  block *gc = NULL;
  pthread_mutex_lock(&h->mu);
  stream *old = find(h, task_id);
  if (old)
    unlist(h, old, &gc);
  fresh->next = h->streams;
  h->streams = fresh;
  sweep(h, jd_mono_ms(), &gc);
  pthread_mutex_unlock(&h->mu);
  gc_free(gc);
  return 0;
}

/* Drops the oldest entry of s onto *gc. Under s->mu. */
static void drop_oldest(jd_live_hub *h, stream *s, block **gc) {
  block *b = s->ring[s->head % s->slots];
  s->ring[s->head % s->slots] = NULL;
  s->bytes -= b->len;
  if (b->seq > s->dropped_seq)
    s->dropped_seq = b->seq;
  block_unref(b, gc);
  s->head++;
  atomic_fetch_add(&h->dropped, 1);
}

/* Appends b to s (open); the oldest go past the caps. Under s->mu. */
static void append(jd_live_hub *h, stream *s, block *b, block **gc) {
  while (s->tail > s->head && (s->tail - s->head >= s->slots || s->bytes + b->len > h->caps.bytes))
    drop_oldest(h, s, gc);
  s->ring[s->tail % s->slots] = b;
  s->tail++;
  s->bytes += b->len;
  s->last_seq = b->seq;
  atomic_fetch_add(&h->entries, 1);
  pthread_cond_broadcast(&s->cond);
}

void jd_live_hub_push(jd_live_hub *h, const char *task_id, int64_t seq, const char *json,
                      size_t len) {
  if (!h || !task_id || !json)
    return;
  if (len > JD_LIVE_ENTRY_MAX(&h->caps)) {
    atomic_fetch_add(&h->refused, 1);
    return;
  }
  block *b = block_new(h, seq, json, len), *gc = NULL;
  if (!b)
    return;
  pthread_mutex_lock(&h->mu);
  int64_t now = jd_mono_ms();
  if (now - h->last_sweep >= SWEEP_EVERY_MS)
    sweep(h, now, &gc);
  stream *s = find(h, task_id);
  if (s && !s->closed) {
    /* Hand over hand: s cannot be unlisted (that takes s->mu) before we are done. */
    pthread_mutex_lock(&s->mu);
    pthread_mutex_unlock(&h->mu);
    append(h, s, b, &gc);
    b = NULL;
    pthread_mutex_unlock(&s->mu);
  } else {
    pthread_mutex_unlock(&h->mu);
  }
  block_unref(b, &gc);
  gc_free(gc);
}

void jd_live_hub_close(jd_live_hub *h, const char *task_id, const char *replay, size_t len) {
  if (!h || !task_id)
    return;
  block *copy = replay ? block_new(h, 0, replay, len) : NULL, *gc = NULL;
  pthread_mutex_lock(&h->mu);
  stream *s = find(h, task_id);
  if (s && !s->closed) {
    pthread_mutex_lock(&s->mu);
    s->closed = true;
    s->closed_at = jd_mono_ms();
    s->close_order = ++h->closes;
    s->replay = copy;
    s->kept = s->bytes + (copy ? copy->len : 0);
    copy = NULL;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->mu);
  }
  sweep(h, jd_mono_ms(), &gc);
  pthread_mutex_unlock(&h->mu);
  block_unref(copy, &gc);
  gc_free(gc);
}

void jd_live_hub_stats_get(jd_live_hub_stats *out, const jd_live_hub *h) {
  *out = (jd_live_hub_stats){0};
  if (!h)
    return;
  jd_live_hub *m = (jd_live_hub *)h;
  pthread_mutex_lock(&m->mu);
  out->entries = atomic_load(&m->entries);
  out->dropped = atomic_load(&m->dropped);
  out->lagged = atomic_load(&m->lagged);
  out->refused = atomic_load(&m->refused);
  out->bytes = atomic_load(&m->held);
  out->rejected = m->rejected;
  out->watchers = m->watchers;
  for (stream *s = m->streams; s; s = s->next)
    out->streams++;
  pthread_mutex_unlock(&m->mu);
}

void jd_live_hub_caps(jd_live_caps *out, const jd_live_hub *h) { *out = h->caps; }

int jd_live_hub_watchers(const jd_live_hub *h) {
  jd_live_hub_stats st;
  jd_live_hub_stats_get(&st, h);
  return st.watchers;
}

/* The position of the first entry after seq `after` (seqs only grow). Under s->mu. */
static size_t position_after(const stream *s, int64_t after) {
  size_t lo = s->head, hi = s->tail;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (s->ring[mid % s->slots]->seq <= after)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

/* Places a new watcher w on s after seq `after`. Under h->mu. */
static void place(jd_live_watcher *w, jd_live_hub *h, stream *s, int64_t after) {
  w->h = h;
  w->s = s;
  w->gen = atomic_load(&h->kick_gen);
  pthread_mutex_lock(&s->mu);
  if (after > s->last_seq)
    after = 0; /* not from this stream (an earlier attempt's): from the start */
  w->pos = after > 0 ? position_after(s, after) : s->head;
  w->lagged_now = after > 0 && after < s->dropped_seq;
  pthread_mutex_unlock(&s->mu);
  s->watchers++;
  h->watchers++;
}

int jd_live_hub_watch(jd_live_watcher **out, bool *full, jd_live_hub *h, const char *task_id,
                      int64_t after) {
  *out = NULL;
  *full = false;
  if (!h || !task_id)
    return -1;
  jd_live_watcher *w = calloc(1, sizeof *w);
  if (!w)
    return -1;
  block *gc = NULL;
  pthread_mutex_lock(&h->mu);
  sweep(h, jd_mono_ms(), &gc);
  stream *s = find(h, task_id);
  if (s && (s->watchers >= h->caps.per_match || h->watchers >= h->caps.per_host)) {
    *full = true;
    h->rejected++;
    s = NULL;
  }
  if (s)
    place(w, h, s, after);
  pthread_mutex_unlock(&h->mu);
  gc_free(gc);
  if (!s) {
    free(w);
    return -1;
  }
  *out = w;
  return 0;
}

void jd_live_watcher_free(jd_live_watcher *w) {
  if (!w)
    return;
  jd_live_hub *h = w->h;
  pthread_mutex_lock(&h->mu);
  stream *s = w->s;
  s->watchers--;
  if (!s->listed && !s->watchers)
    stream_free(s);
  if (--h->watchers == 0)
    pthread_cond_broadcast(&h->idle);
  pthread_mutex_unlock(&h->mu);
  free(w);
}

/* What w takes next, without waiting (NONE: it must wait); for ENTRY and
 * REPLAY the block (not yet referenced). Under s->mu. */
static jd_live_item_kind peek(const jd_live_watcher *w, block **b) {
  const stream *s = w->s;
  if (w->done || atomic_load(&w->h->kick_gen) != w->gen || !s->listed)
    return JD_LIVE_ITEM_END;
  if (w->lagged_now || w->pos < s->head)
    return JD_LIVE_ITEM_LAGGED;
  if (w->pos < s->tail) {
    *b = s->ring[w->pos % s->slots];
    return JD_LIVE_ITEM_ENTRY;
  }
  if (!s->closed)
    return JD_LIVE_ITEM_NONE;
  if (s->replay && !w->replay_sent) {
    *b = s->replay;
    return JD_LIVE_ITEM_REPLAY;
  }
  return JD_LIVE_ITEM_END;
}

/* w has taken an item of kind k. Under s->mu. */
static void advance(jd_live_watcher *w, jd_live_item_kind k) {
  if (k == JD_LIVE_ITEM_ENTRY)
    w->pos++;
  else if (k == JD_LIVE_ITEM_REPLAY)
    w->replay_sent = true;
  else if (k == JD_LIVE_ITEM_LAGGED && !w->done)
    atomic_fetch_add(&w->h->lagged, 1);
  if (k == JD_LIVE_ITEM_LAGGED || k == JD_LIVE_ITEM_END)
    w->done = true;
}

int jd_live_watcher_next(jd_live_item *it, jd_live_watcher *w, int64_t timeout_ms) {
  if (!it || !w)
    return -1;
  jd_live_item_clear(it); /* the previous item's reference, outside any lock */
  stream *s = w->s;
  struct timespec deadline = jd_mono_after(timeout_ms > 0 ? timeout_ms : 0);
  bool timed_out = timeout_ms <= 0;
  block *b = NULL;
  jd_live_item_kind k;
  pthread_mutex_lock(&s->mu);
  while ((k = peek(w, &b)) == JD_LIVE_ITEM_NONE && !timed_out)
    timed_out = pthread_cond_timedwait(&s->cond, &s->mu, &deadline) != 0;
  if (b)
    block_ref(b);
  if (k != JD_LIVE_ITEM_NONE)
    advance(w, k);
  pthread_mutex_unlock(&s->mu);
  it->kind = k;
  if (b) {
    it->ref = b;
    it->data = b->data;
    it->len = b->len;
    it->seq = k == JD_LIVE_ITEM_ENTRY ? b->seq : 0;
  }
  return 0;
}
