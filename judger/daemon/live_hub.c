/* The live hub (see live_hub.h).
 *
 * One mutex guards everything: the list of streams, their rings and the
 * watcher counts. Under it the match's push does a few pointer moves (the
 * entry is copied before, the evicted ones are freed after), and a watcher
 * copies one entry into its own buffer (grown outside the lock). Each
 * stream has its own condition variable, so a push wakes only its watchers.
 *
 * A stream's ring is indexed by absolute positions: head is the oldest kept
 * entry, tail one past the newest; a watcher keeps the position of its next
 * entry, and a position below head means that entry was dropped (LAGGED).
 * A stream leaves the list when it is restarted, expires or the kept bytes
 * overflow; it is freed when its last watcher leaves. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "daemon/live_hub.h"

/* How often a push looks for expired streams (open and watch always do). */
#define SWEEP_EVERY_MS 1000

typedef struct entry {
  int64_t seq;
  char *json;
  size_t len;
} entry;

typedef struct stream {
  struct stream *next;
  char *id;
  entry *ring;
  size_t slots, head, tail, bytes;
  int64_t dropped_seq; /* the highest seq dropped from the ring */
  int64_t last_seq;    /* the newest entry's */
  char *replay;
  size_t replay_len;
  bool closed, listed;
  int64_t closed_at;
  uint64_t close_order; /* closes counted: the oldest is dropped first */
  int watchers;
  pthread_cond_t cond;
} stream;

struct jd_live_hub {
  jd_live_caps caps;
  pthread_mutex_t mu;
  pthread_cond_t idle; /* watchers reached 0 (jd_live_hub_free) */
  stream *streams;
  int watchers;
  uint64_t kick_gen, closes;
  int64_t last_sweep, entries, dropped, lagged, rejected;
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

void jd_live_item_clear(jd_live_item *it) {
  free(it->buf);
  *it = (jd_live_item)JD_LIVE_ITEM_INIT;
}

static void stream_free(stream *s) {
  for (size_t i = s->head; i < s->tail; i++)
    free(s->ring[i % s->slots].json);
  pthread_cond_destroy(&s->cond);
  free(s->ring);
  free(s->replay);
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
  if (rc || !s->ring || !s->id) {
    if (!rc)
      pthread_cond_destroy(&s->cond);
    free(s->ring);
    free(s->id);
    free(s);
    return NULL;
  }
  s->listed = true;
  return s;
}

/* Takes s off the list (its watchers answer END); frees it when nobody
 * watches it. Under the lock. */
static void unlist(jd_live_hub *h, stream *s) {
  for (stream **p = &h->streams; *p; p = &(*p)->next)
    if (*p == s) {
      *p = s->next;
      break;
    }
  s->listed = false;
  s->next = NULL;
  pthread_cond_broadcast(&s->cond);
  if (!s->watchers)
    stream_free(s);
}

static stream *find(jd_live_hub *h, const char *task_id) {
  for (stream *s = h->streams; s; s = s->next)
    if (!strcmp(s->id, task_id))
      return s;
  return NULL;
}

static size_t kept_bytes(const stream *s) { return s->bytes + s->replay_len; }

/* Drops the finished streams past keep_ms, then the oldest finished ones
 * while they hold more than caps.kept_bytes. O(streams) per pass: there are
 * few (running matches and the ones of the last keep_ms). Under the lock. */
static void sweep(jd_live_hub *h, int64_t now) {
  h->last_sweep = now;
  size_t total = 0;
  for (stream *s = h->streams, *next = NULL; s; s = next) {
    next = s->next;
    if (s->closed && now - s->closed_at >= h->caps.keep_ms)
      unlist(h, s);
    else if (s->closed)
      total += kept_bytes(s);
  }
  while (total > h->caps.kept_bytes) {
    stream *oldest = NULL;
    for (stream *s = h->streams; s; s = s->next)
      if (s->closed && (!oldest || s->close_order < oldest->close_order))
        oldest = s;
    if (!oldest)
      break;
    total -= kept_bytes(oldest);
    unlist(h, oldest);
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
  h->kick_gen++;
  for (stream *s = h->streams; s; s = s->next)
    pthread_cond_broadcast(&s->cond);
  pthread_mutex_unlock(&h->mu);
}

void jd_live_hub_free(jd_live_hub *h) {
  if (!h)
    return;
  jd_live_hub_kick(h);
  pthread_mutex_lock(&h->mu);
  while (h->watchers > 0)
    pthread_cond_wait(&h->idle, &h->mu);
  while (h->streams)
    unlist(h, h->streams);
  pthread_mutex_unlock(&h->mu);
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
  pthread_mutex_lock(&h->mu);
  stream *old = find(h, task_id);
  if (old)
    unlist(h, old);
  fresh->next = h->streams;
  h->streams = fresh;
  sweep(h, jd_mono_ms());
  pthread_mutex_unlock(&h->mu);
  return 0;
}

/* Drops the oldest entry of s. Under the lock. */
static void drop_oldest(jd_live_hub *h, stream *s) {
  entry *e = &s->ring[s->head % s->slots];
  s->bytes -= e->len;
  if (e->seq > s->dropped_seq)
    s->dropped_seq = e->seq;
  free(e->json);
  e->json = NULL;
  s->head++;
  h->dropped++;
}

void jd_live_hub_push(jd_live_hub *h, const char *task_id, int64_t seq, const char *json,
                      size_t len) {
  if (!h || !task_id || !json)
    return;
  char *copy = malloc(len + 1);
  if (!copy)
    return;
  memcpy(copy, json, len);
  copy[len] = '\0';
  pthread_mutex_lock(&h->mu);
  stream *s = find(h, task_id);
  if (s && !s->closed) {
    while (s->tail > s->head && (s->tail - s->head >= s->slots || s->bytes + len > h->caps.bytes))
      drop_oldest(h, s);
    s->ring[s->tail % s->slots] = (entry){seq, copy, len};
    s->tail++;
    s->bytes += len;
    s->last_seq = seq;
    h->entries++;
    copy = NULL;
    pthread_cond_broadcast(&s->cond);
  }
  int64_t now = jd_mono_ms();
  if (now - h->last_sweep >= SWEEP_EVERY_MS)
    sweep(h, now);
  pthread_mutex_unlock(&h->mu);
  free(copy);
}

void jd_live_hub_close(jd_live_hub *h, const char *task_id, const char *replay, size_t len) {
  if (!h || !task_id)
    return;
  char *copy = NULL;
  if (replay && (copy = malloc(len + 1))) {
    memcpy(copy, replay, len);
    copy[len] = '\0';
  }
  pthread_mutex_lock(&h->mu);
  stream *s = find(h, task_id);
  if (s && !s->closed) {
    s->closed = true;
    s->closed_at = jd_mono_ms();
    s->close_order = ++h->closes;
    s->replay = copy;
    s->replay_len = copy ? len : 0;
    copy = NULL;
    pthread_cond_broadcast(&s->cond);
  }
  sweep(h, jd_mono_ms());
  pthread_mutex_unlock(&h->mu);
  free(copy);
}

void jd_live_hub_stats_get(jd_live_hub_stats *out, const jd_live_hub *h) {
  *out = (jd_live_hub_stats){0};
  if (!h)
    return;
  jd_live_hub *m = (jd_live_hub *)h;
  pthread_mutex_lock(&m->mu);
  out->entries = m->entries;
  out->dropped = m->dropped;
  out->lagged = m->lagged;
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

/* The position of the first entry after seq `after` (seqs only grow). */
static size_t position_after(const stream *s, int64_t after) {
  size_t lo = s->head, hi = s->tail;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (s->ring[mid % s->slots].seq <= after)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
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
  pthread_mutex_lock(&h->mu);
  sweep(h, jd_mono_ms());
  stream *s = find(h, task_id);
  if (s && (s->watchers >= h->caps.per_match || h->watchers >= h->caps.per_host)) {
    *full = true;
    h->rejected++;
    s = NULL;
  }
  if (s && after > s->last_seq)
    after = 0; /* not from this stream (an earlier attempt's): from the start */
  if (s) {
    w->h = h;
    w->s = s;
    w->gen = h->kick_gen;
    w->pos = after > 0 ? position_after(s, after) : s->head;
    w->lagged_now = after > 0 && after < s->dropped_seq;
    s->watchers++;
    h->watchers++;
  }
  pthread_mutex_unlock(&h->mu);
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
 * REPLAY the bytes to copy. Under the lock. */
static jd_live_item_kind peek(const jd_live_watcher *w, const char **data, size_t *len,
                              int64_t *seq) {
  const stream *s = w->s;
  if (w->done || w->h->kick_gen != w->gen || !s->listed)
    return JD_LIVE_ITEM_END;
  if (w->lagged_now || w->pos < s->head)
    return JD_LIVE_ITEM_LAGGED;
  if (w->pos < s->tail) {
    const entry *e = &s->ring[w->pos % s->slots];
    *data = e->json;
    *len = e->len;
    *seq = e->seq;
    return JD_LIVE_ITEM_ENTRY;
  }
  if (!s->closed)
    return JD_LIVE_ITEM_NONE;
  if (s->replay && !w->replay_sent) {
    *data = s->replay;
    *len = s->replay_len;
    return JD_LIVE_ITEM_REPLAY;
  }
  return JD_LIVE_ITEM_END;
}

/* w has taken an item of kind k. Under the lock. */
static void advance(jd_live_watcher *w, jd_live_item_kind k) {
  if (k == JD_LIVE_ITEM_ENTRY)
    w->pos++;
  else if (k == JD_LIVE_ITEM_REPLAY)
    w->replay_sent = true;
  else if (k == JD_LIVE_ITEM_LAGGED && !w->done)
    w->h->lagged++;
  if (k == JD_LIVE_ITEM_LAGGED || k == JD_LIVE_ITEM_END)
    w->done = true;
}

/* Room for len bytes and a NUL in it (outside the lock); -1: out of memory. */
static int item_reserve(jd_live_item *it, size_t len) {
  if (it->cap > len)
    return 0;
  size_t cap = it->cap ? it->cap : 256;
  while (cap <= len)
    cap *= 2;
  char *p = realloc(it->buf, cap);
  if (!p)
    return -1;
  it->buf = p;
  it->cap = cap;
  return 0;
}

int jd_live_watcher_next(jd_live_item *it, jd_live_watcher *w, int64_t timeout_ms) {
  jd_live_hub *h = w->h;
  struct timespec deadline = jd_mono_after(timeout_ms > 0 ? timeout_ms : 0);
  bool timed_out = timeout_ms <= 0;
  it->kind = JD_LIVE_ITEM_NONE;
  it->data = NULL;
  it->len = 0;
  pthread_mutex_lock(&h->mu);
  for (;;) {
    const char *data = NULL;
    size_t len = 0;
    int64_t seq = 0;
    jd_live_item_kind k = peek(w, &data, &len, &seq);
    if (k == JD_LIVE_ITEM_NONE) {
      if (timed_out)
        break;
      timed_out = pthread_cond_timedwait(&w->s->cond, &h->mu, &deadline) != 0;
      continue;
    }
    if (k == JD_LIVE_ITEM_ENTRY && it->cap <= len) {
      pthread_mutex_unlock(&h->mu);
      if (item_reserve(it, len))
        return -1;
      pthread_mutex_lock(&h->mu);
      continue; /* the ring may have moved meanwhile */
    }
    if (k == JD_LIVE_ITEM_ENTRY) {
      memcpy(it->buf, data, len);
      it->buf[len] = '\0';
      data = it->buf;
    }
    it->data = data; /* REPLAY: immutable once closed, kept while w holds s */
    it->len = len;
    it->kind = k;
    it->seq = seq;
    advance(w, k);
    break;
  }
  pthread_mutex_unlock(&h->mu);
  return 0;
}
