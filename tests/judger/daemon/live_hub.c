// test-labels: unit
/* judger/daemon/live_hub.c: the rings keep the newest entries under both
 * caps, a watcher gets the history then the live entries, the replay and
 * the end; one that falls behind is told LAGGED; resumes after a seq;
 * watcher caps; a finished stream expires keep_ms after its close; a
 * restart ends the old stream's watchers. */
#include <pthread.h>
#include <stdio.h>
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
  /* Bytes: entries of 10 bytes ({"seq":1x}) under a 35-byte cap keep 3. */
  jd_live_hub *hb = hub(100, 35, 10, 10, 60000);
  cr_assert_eq(jd_live_hub_open(hb, "t"), 0);
  for (int i = 10; i <= 19; i++)
    push(hb, "t", i);
  w = watch(hb, "t", 0);
  for (int i = 17; i <= 19; i++)
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
