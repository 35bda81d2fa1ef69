// test-labels: unit
/* judger/daemon/live_hub.c: the rings keep the newest entries under both
 * caps, a watcher gets the history then the live entries, the replay and
 * the end; one that falls behind is told LAGGED; resumes after a seq;
 * watcher caps; a finished stream expires keep_ms after its close; a
 * restart ends the old stream's watchers; an entry over the per-entry cap is
 * refused; an unlisted stream releases its entries at once (watchers hold
 * only references, no copies); many watchers of big entries never slow the
 * pushes to another stream (a lock per stream, nothing copied under it). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "daemon/live_hub.h"
#include "support.h"

static jd_live_hub *hub(size_t entries, size_t bytes, int per_match, int per_host,
                        int64_t keep_ms) {
  jd_live_caps caps = {.entries = entries,
                       .bytes = bytes,
                       .per_match = per_match,
                       .per_host = per_host,
                       .keep_ms = keep_ms};
  jd_live_hub *h = NULL;
  cr_assert_eq(jd_live_hub_new(&h, &caps), 0);
  return h;
}

static void push(jd_live_hub *h, const char *id, int64_t seq) {
  char json[64];
  int n = snprintf(json, sizeof json, "{\"seq\":%lld}", (long long)seq);
  jd_live_hub_push(h, id, seq, json, (size_t)n);
}

static jd_live_watcher *watch(jd_live_hub *h, const char *id, int64_t after) {
  jd_live_watcher *w = NULL;
  bool full = true;
  cr_assert_eq(jd_live_hub_watch(&w, &full, h, id, after), 0, "watch %s", id);
  cr_assert_not(full);
  return w;
}

/* The next item, which must be of kind k (and for an entry of seq). */
static void expect(jd_live_watcher *w, jd_live_item *it, jd_live_item_kind k, int64_t seq) {
  cr_assert_eq(jd_live_watcher_next(it, w, 0), 0);
  cr_assert_eq(it->kind, k, "got %s, want %s", jd_live_item_name(it->kind), jd_live_item_name(k));
  if (k == JD_LIVE_ITEM_ENTRY) {
    cr_assert_eq(it->seq, seq);
    char want[64];
    snprintf(want, sizeof want, "{\"seq\":%lld}", (long long)seq);
    cr_assert_str_eq(it->data, want);
  }
}

Test(live_hub, history_then_live_then_replay_and_end) {
  jd_live_hub *h = hub(100, 1 << 20, 10, 10, 60000);
  cr_assert_eq(jd_live_hub_open(h, "t1"), 0);
  push(h, "t1", 1);
  push(h, "t1", 2);
  jd_live_watcher *w = watch(h, "t1", 0);
  jd_live_item it = JD_LIVE_ITEM_INIT;
  expect(w, &it, JD_LIVE_ITEM_ENTRY, 1);
  expect(w, &it, JD_LIVE_ITEM_ENTRY, 2);
  expect(w, &it, JD_LIVE_ITEM_NONE, 0);
  push(h, "t1", 3);
  push(h, "other", 9); /* no such stream: ignored */
  expect(w, &it, JD_LIVE_ITEM_ENTRY, 3);
  jd_live_hub_close(h, "t1", "{\"replay\":1}", 12);
  push(h, "t1", 4); /* after the close: ignored */
  cr_assert_eq(jd_live_watcher_next(&it, w, 0), 0);
  cr_assert_eq(it.kind, JD_LIVE_ITEM_REPLAY);
  cr_assert_eq(it.len, 12);
  cr_assert_eq(memcmp(it.data, "{\"replay\":1}", 12), 0);
  expect(w, &it, JD_LIVE_ITEM_END, 0);
  expect(w, &it, JD_LIVE_ITEM_END, 0);
  /* A late joiner gets the whole kept stream. */
  jd_live_watcher *late = watch(h, "t1", 0);
  expect(late, &it, JD_LIVE_ITEM_ENTRY, 1);
  expect(late, &it, JD_LIVE_ITEM_ENTRY, 2);
  expect(late, &it, JD_LIVE_ITEM_ENTRY, 3);
  expect(late, &it, JD_LIVE_ITEM_REPLAY, 0);
  expect(late, &it, JD_LIVE_ITEM_END, 0);
  jd_live_hub_stats st;
  jd_live_hub_stats_get(&st, h);
  cr_assert_eq(st.entries, 3);
  cr_assert_eq(st.watchers, 2);
  cr_assert_eq(jd_live_hub_watchers(h), 2);
  jd_live_watcher_free(w);
  jd_live_watcher_free(late);
  cr_assert_eq(jd_live_hub_watchers(h), 0);
  jd_live_item_clear(&it);
  jd_live_hub_free(h);
}

Test(live_hub, the_oldest_go_past_the_entries_and_bytes_caps) {
  jd_live_hub *h = hub(5, 1 << 20, 10, 10, 60000);
  cr_assert_eq(jd_live_hub_open(h, "t"), 0);
  for (int i = 1; i <= 12; i++)
    push(h, "t", i);
  jd_live_watcher *w = watch(h, "t", 0);
  jd_live_item it = JD_LIVE_ITEM_INIT;
  for (int i = 8; i <= 12; i++)
    expect(w, &it, JD_LIVE_ITEM_ENTRY, i);
  expect(w, &it, JD_LIVE_ITEM_NONE, 0);
  jd_live_watcher_free(w);
  jd_live_hub_stats st;
  jd_live_hub_stats_get(&st, h);
  cr_assert_eq(st.dropped, 7);
  /* Bytes: entries of 10 bytes ({"seq":1x}) under a 45-byte cap keep 4 (the
   * entry cap is 45 / 4 = 11 bytes). */
  jd_live_hub *hb = hub(100, 45, 10, 10, 60000);
  cr_assert_eq(jd_live_hub_open(hb, "t"), 0);
  for (int i = 10; i <= 19; i++)
    push(hb, "t", i);
  w = watch(hb, "t", 0);
  for (int i = 16; i <= 19; i++)
    expect(w, &it, JD_LIVE_ITEM_ENTRY, i);
  expect(w, &it, JD_LIVE_ITEM_NONE, 0);
  jd_live_watcher_free(w);
  jd_live_item_clear(&it);
  jd_live_hub_free(h);
  jd_live_hub_free(hb);
}

Test(live_hub, a_watcher_that_falls_behind_is_lagged) {
  jd_live_hub *h = hub(4, 1 << 20, 10, 10, 60000);
  cr_assert_eq(jd_live_hub_open(h, "t"), 0);
  push(h, "t", 1);
  jd_live_watcher *slow = watch(h, "t", 0);
  jd_live_item it = JD_LIVE_ITEM_INIT;
  expect(slow, &it, JD_LIVE_ITEM_ENTRY, 1);
  for (int i = 2; i <= 10; i++)
    push(h, "t", i); /* 2..6 leave the ring before slow reads them */
  expect(slow, &it, JD_LIVE_ITEM_LAGGED, 0);
  expect(slow, &it, JD_LIVE_ITEM_END, 0);
  jd_live_hub_stats st;
  jd_live_hub_stats_get(&st, h);
  cr_assert_eq(st.lagged, 1);
  jd_live_watcher_free(slow);
  /* Resumes: after 8 (kept) goes on at 9; after 3 (dropped past it) is lagged. */
  jd_live_watcher *r = watch(h, "t", 8);
  expect(r, &it, JD_LIVE_ITEM_ENTRY, 9);
  expect(r, &it, JD_LIVE_ITEM_ENTRY, 10);
  jd_live_watcher_free(r);
  r = watch(h, "t", 3);
  expect(r, &it, JD_LIVE_ITEM_LAGGED, 0);
  jd_live_watcher_free(r);
  r = watch(h, "t", 6); /* 6 was the last dropped: 7 on is all there */
  expect(r, &it, JD_LIVE_ITEM_ENTRY, 7);
  jd_live_watcher_free(r);
  jd_live_item_clear(&it);
  jd_live_hub_free(h);
}

Test(live_hub, watcher_caps_per_match_and_per_host) {
  jd_live_hub *h = hub(10, 1 << 20, 2, 3, 60000);
  cr_assert_eq(jd_live_hub_open(h, "a"), 0);
  cr_assert_eq(jd_live_hub_open(h, "b"), 0);
  jd_live_watcher *a1 = watch(h, "a", 0), *a2 = watch(h, "a", 0);
  jd_live_watcher *w = NULL;
  bool full = false;
  cr_assert_eq(jd_live_hub_watch(&w, &full, h, "a", 0), -1);
  cr_assert(full, "per match");
  jd_live_watcher *b1 = watch(h, "b", 0);
  cr_assert_eq(jd_live_hub_watch(&w, &full, h, "b", 0), -1);
  cr_assert(full, "per host");
  cr_assert_eq(jd_live_hub_watch(&w, &full, h, "nope", 0), -1);
  cr_assert_not(full, "no such stream is not a cap");
  jd_live_watcher_free(a1);
  jd_live_watcher *b2 = watch(h, "b", 0);
  jd_live_hub_stats st;
  jd_live_hub_stats_get(&st, h);
  cr_assert_eq(st.rejected, 2);
  cr_assert_eq(st.watchers, 3);
  jd_live_watcher_free(a2);
  jd_live_watcher_free(b1);
  jd_live_watcher_free(b2);
  jd_live_hub_free(h);
}

Test(live_hub, a_finished_stream_expires_after_keep_ms) {
  jd_live_hub *h = hub(10, 1 << 20, 10, 10, 100);
  cr_assert_eq(jd_live_hub_open(h, "t"), 0);
  push(h, "t", 1);
  jd_live_watcher *w = watch(h, "t", 0);
  jd_live_hub_close(h, "t", NULL, 0);
  jd_live_watcher *w2 = NULL;
  bool full = false;
  int64_t t0 = jd_mono_ms();
  while (jd_live_hub_watch(&w2, &full, h, "t", 0) == 0) {
    jd_live_watcher_free(w2);
    cr_assert_lt(jd_mono_ms() - t0, 5000, "still there after 5 s");
    usleep(10000);
  }
  cr_assert_geq(jd_mono_ms() - t0, 80, "gone before keep_ms");
  /* The watcher still on it gets the end; its memory goes when it leaves. */
  jd_live_item it = JD_LIVE_ITEM_INIT;
  expect(w, &it, JD_LIVE_ITEM_END, 0);
  jd_live_watcher_free(w);
  jd_live_hub_stats st;
  jd_live_hub_stats_get(&st, h);
  cr_assert_eq(st.streams, 0);
  jd_live_item_clear(&it);
  jd_live_hub_free(h);
}

Test(live_hub, finished_streams_past_kept_bytes_go_oldest_first) {
  jd_live_caps caps = {.entries = 10,
                       .bytes = 1000,
                       .per_match = 5,
                       .per_host = 5,
                       .keep_ms = 60000,
                       .kept_bytes = 25};
  jd_live_hub *h = NULL;
  cr_assert_eq(jd_live_hub_new(&h, &caps), 0);
  const char *ids[] = {"a", "b", "c"};
  for (int i = 0; i < 3; i++) {
    cr_assert_eq(jd_live_hub_open(h, ids[i]), 0);
    push(h, ids[i], 1); /* 9 bytes each */
    jd_live_hub_close(h, ids[i], NULL, 0);
  }
  jd_live_watcher *w = NULL;
  bool full = false;
  cr_assert_eq(jd_live_hub_watch(&w, &full, h, "a", 0), -1, "the oldest went");
  jd_live_watcher *b = watch(h, "b", 0), *c = watch(h, "c", 0);
  jd_live_watcher_free(b);
  jd_live_watcher_free(c);
  jd_live_hub_free(h);
}

Test(live_hub, a_restart_ends_the_old_watchers) {
  jd_live_hub *h = hub(10, 1 << 20, 10, 10, 60000);
  cr_assert_eq(jd_live_hub_open(h, "t"), 0);
  push(h, "t", 1);
  jd_live_watcher *old = watch(h, "t", 0);
  cr_assert_eq(jd_live_hub_open(h, "t"), 0);
  push(h, "t", 1);
  jd_live_item it = JD_LIVE_ITEM_INIT;
  expect(old, &it, JD_LIVE_ITEM_END, 0);
  jd_live_watcher *fresh = watch(h, "t", 0);
  expect(fresh, &it, JD_LIVE_ITEM_ENTRY, 1);
  /* A resume with the old attempt's id (past this one's newest) starts over. */
  jd_live_watcher *resumed = watch(h, "t", 40);
  expect(resumed, &it, JD_LIVE_ITEM_ENTRY, 1);
  jd_live_watcher_free(old);
  jd_live_watcher_free(fresh);
  jd_live_watcher_free(resumed);
  jd_live_item_clear(&it);
  jd_live_hub_free(h);
}

typedef struct waiter {
  jd_live_watcher *w;
  jd_live_item it;
  int64_t waited;
} waiter;

static void *wait_one(void *arg) {
  waiter *x = arg;
  int64_t t0 = jd_mono_ms();
  jd_live_watcher_next(&x->it, x->w, 10000);
  x->waited = jd_mono_ms() - t0;
  return NULL;
}

Test(live_hub, a_push_and_a_kick_wake_the_waiting_watchers) {
  jd_live_hub *h = hub(10, 1 << 20, 10, 10, 60000);
  cr_assert_eq(jd_live_hub_open(h, "t"), 0);
  waiter x = {.w = watch(h, "t", 0), .it = JD_LIVE_ITEM_INIT};
  pthread_t th;
  cr_assert_eq(pthread_create(&th, NULL, wait_one, &x), 0);
  usleep(50000);
  push(h, "t", 1);
  pthread_join(th, NULL);
  cr_assert_eq(x.it.kind, JD_LIVE_ITEM_ENTRY);
  cr_assert_lt(x.waited, 5000);
  cr_assert_eq(pthread_create(&th, NULL, wait_one, &x), 0);
  usleep(50000);
  jd_live_hub_kick(h);
  pthread_join(th, NULL);
  cr_assert_eq(x.it.kind, JD_LIVE_ITEM_END);
  cr_assert_lt(x.waited, 5000);
  jd_live_watcher_free(x.w);
  jd_live_item_clear(&x.it);
  jd_live_hub_free(h);
}

Test(live_hub, an_entry_over_a_quarter_of_the_bytes_cap_is_refused) {
  jd_live_hub *h = hub(10, 400, 10, 10, 60000); /* entry cap 100 bytes */
  cr_assert_eq(jd_live_hub_open(h, "t"), 0);
  char big[101];
  memset(big, 'x', sizeof big);
  jd_live_hub_push(h, "t", 1, big, 101);
  jd_live_hub_push(h, "t", 2, big, 100);
  jd_live_hub_stats st;
  jd_live_hub_stats_get(&st, h);
  cr_assert_eq(st.refused, 1);
  cr_assert_eq(st.entries, 1);
  cr_assert_eq(st.bytes, 100);
  jd_live_watcher *w = watch(h, "t", 0);
  jd_live_item it = JD_LIVE_ITEM_INIT;
  cr_assert_eq(jd_live_watcher_next(&it, w, 0), 0);
  cr_assert_eq(it.kind, JD_LIVE_ITEM_ENTRY);
  cr_assert_eq(it.seq, 2);
  cr_assert_eq(it.len, 100);
  jd_live_item_clear(&it);
  jd_live_watcher_free(w);
  jd_live_hub_free(h);
}

Test(live_hub, an_unlisted_stream_releases_its_entries_at_once) {
  jd_live_hub *h = hub(10, 1 << 20, 10, 10, 60000);
  cr_assert_eq(jd_live_hub_open(h, "t"), 0);
  for (int i = 1; i <= 3; i++)
    push(h, "t", i); /* 9 bytes each */
  jd_live_hub_close(h, "t", "{\"replay\":1}", 12);
  jd_live_hub_stats st;
  jd_live_hub_stats_get(&st, h);
  cr_assert_eq(st.bytes, 3 * 9 + 12);
  jd_live_watcher *a = watch(h, "t", 0), *b = watch(h, "t", 0);
  jd_live_item ia = JD_LIVE_ITEM_INIT, ib = JD_LIVE_ITEM_INIT;
  expect(a, &ia, JD_LIVE_ITEM_ENTRY, 1);
  expect(b, &ib, JD_LIVE_ITEM_ENTRY, 1);
  cr_assert_eq(ia.data, ib.data, "both hold the hub's block, no copy");
  /* A restart unlists the kept stream: all goes but the entry the watchers hold. */
  cr_assert_eq(jd_live_hub_open(h, "t"), 0);
  jd_live_hub_stats_get(&st, h);
  cr_assert_eq(st.bytes, 9, "held %lld", (long long)st.bytes);
  cr_assert_str_eq(ia.data, "{\"seq\":1}", "still readable while held");
  expect(a, &ia, JD_LIVE_ITEM_END, 0); /* not entry 2 nor the replay: only the end */
  jd_live_hub_stats_get(&st, h);
  cr_assert_eq(st.bytes, 9, "b still holds it");
  jd_live_item_clear(&ib);
  jd_live_hub_stats_get(&st, h);
  cr_assert_eq(st.bytes, 0);
  expect(b, &ib, JD_LIVE_ITEM_END, 0);
  jd_live_watcher_free(a);
  jd_live_watcher_free(b);
  jd_live_item_clear(&ia);
  jd_live_hub_free(h);
}

#define BUSY_WATCHERS 50
#define BUSY_ENTRY ((size_t)256 * 1024)
#define OTHER_PUSHES 400

typedef struct busy {
  jd_live_hub *h;
  jd_live_watcher *w;
  atomic_bool *stop;
  atomic_long got;
} busy;

/* A watcher that copies every entry it takes (its formatting, outside the lock). */
static void *consume(void *p) {
  busy *b = p;
  jd_live_item it = JD_LIVE_ITEM_INIT;
  char *copy = malloc(BUSY_ENTRY + 1);
  cr_assert(copy);
  while (!atomic_load(b->stop)) {
    jd_live_watcher_next(&it, b->w, 50);
    if (it.kind == JD_LIVE_ITEM_ENTRY) {
      memcpy(copy, it.data, it.len);
      atomic_fetch_add(&b->got, 1);
    } else if (it.kind != JD_LIVE_ITEM_NONE) {
      break;
    }
  }
  jd_live_item_clear(&it);
  free(copy);
  return NULL;
}

/* Big entries pushed to "big" every 5 ms until stop. */
static void *feed_big(void *p) {
  busy *b = p;
  char *json = malloc(BUSY_ENTRY);
  cr_assert(json);
  memset(json, 'x', BUSY_ENTRY);
  for (int64_t seq = 1; !atomic_load(b->stop); seq++) {
    jd_live_hub_push(b->h, "big", seq, json, BUSY_ENTRY);
    usleep(5000);
  }
  free(json);
  return NULL;
}

/* The worst of OTHER_PUSHES pushes to "other", in ns. */
static int64_t worst_other_push(jd_live_hub *h) {
  int64_t worst = 0;
  for (int i = 1; i <= OTHER_PUSHES; i++) {
    int64_t t0 = jd_mono_ns();
    push(h, "other", i);
    int64_t d = jd_mono_ns() - t0;
    worst = d > worst ? d : worst;
    usleep(500);
  }
  return worst;
}

Test(live_hub, many_watchers_of_big_entries_never_slow_another_stream, .timeout = 60) {
  jd_live_hub *h = hub(64, (size_t)64 << 20, 100, 100, 60000);
  cr_assert_eq(jd_live_hub_open(h, "big"), 0);
  cr_assert_eq(jd_live_hub_open(h, "other"), 0);
  atomic_bool stop = false, stop_feed = false;
  busy feed = {.h = h, .stop = &stop_feed};
  pthread_t fth, th[BUSY_WATCHERS];
  cr_assert_eq(pthread_create(&fth, NULL, feed_big, &feed), 0);
  int64_t alone = worst_other_push(h); /* the big stream fed, nobody watching */
  static busy b[BUSY_WATCHERS];
  for (int i = 0; i < BUSY_WATCHERS; i++) {
    b[i] = (busy){.h = h, .w = watch(h, "big", 0), .stop = &stop};
    cr_assert_eq(pthread_create(&th[i], NULL, consume, &b[i]), 0);
  }
  int64_t watched = worst_other_push(h);
  atomic_store(&stop_feed, true);
  pthread_join(fth, NULL);
  atomic_store(&stop, true);
  long got = 0;
  for (int i = 0; i < BUSY_WATCHERS; i++) {
    pthread_join(th[i], NULL);
    got += atomic_load(&b[i].got);
    jd_live_watcher_free(b[i].w);
  }
  fprintf(stderr,
          "live_hub: %d pushes to another stream, worst %.2f ms with %d watchers copying %zu KiB "
          "entries (%ld copies), %.2f ms with none\n",
          OTHER_PUSHES, watched / 1e6, BUSY_WATCHERS, BUSY_ENTRY / 1024, got, alone / 1e6);
  cr_assert_gt(got, BUSY_WATCHERS, "the watchers took entries");
  cr_assert_lt(watched, 20000000, "worst push %lld ns", (long long)watched);
  jd_live_hub_free(h);
}
