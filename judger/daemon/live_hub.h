/* The live hub: one in-process ring per task of the entries (events' compact
 * JSON) of the match it runs, for the HTTP watchers (live_http.c).
 *
 * The match thread only appends: jd_live_hub_push copies the entry into an
 * immutable, reference-counted block, takes the hub's mutex (the table of
 * streams) just to find its stream, then that stream's own mutex for a few
 * pointer moves (dropping the oldest entries past the caps) and broadcasts.
 * A watcher takes a reference to its next entry under its stream's mutex and
 * formats and writes it outside any lock, so neither a slow client nor many
 * watchers of big entries ever slow a match, theirs or another: a watcher
 * falls behind, its next entry leaves the ring and it is told so (LAGGED).
 * A finished stream keeps its ring and replay keep_ms for late joiners, then
 * is dropped (lazily, on the next open/push/watch/close): its entries and
 * replay are released at once (its watchers get END; a watcher still holding
 * one entry keeps that one until its next call).
 *
 * Per-entry cap: an entry larger than caps.bytes / 4 is refused (counted as
 * refused), so one entry never pins more than a quarter of a ring. */
#ifndef JD_LIVE_HUB_H
#define JD_LIVE_HUB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct jd_live_hub jd_live_hub;
typedef struct jd_live_caps {
  size_t entries;          /* cfg.live_entries */
  size_t bytes;            /* cfg.live_max_bytes */
  int per_match, per_host; /* watcher caps */
  int64_t keep_ms;         /* a finished stream stays this long (cfg.live_ttl_ms) */
  size_t kept_bytes;       /* bytes of finished streams kept in all (oldest dropped first past
                              it); 0: 8 x bytes */
  int per_ip; /* connections one address may hold on the metrics server (cfg.http_per_ip);
                 0: no cap. Read by the HTTP server, not the hub. */
} jd_live_caps;
/* An entry larger than this is refused by jd_live_hub_push. */
#define JD_LIVE_ENTRY_MAX(caps) ((caps)->bytes / 4)
int jd_live_hub_new(jd_live_hub **out, const jd_live_caps *caps);
/* Ends every watcher first and waits for them to leave (stop the HTTP server
 * first: it makes them leave); NULL-safe. */
void jd_live_hub_free(jd_live_hub *h);
/* A task's attempt begins: its stream (re)starts empty (an older one of the
 * same id is ended for its watchers). -1: out of memory. */
int jd_live_hub_open(jd_live_hub *h, const char *task_id);
/* Appends one entry (one event's compact JSON; seq from it); the oldest go past the caps.
 * Never blocks beyond the hub's mutex and the stream's (neither is held while a watcher
 * copies or writes); wakes the watchers. No stream open: ignored. Larger than
 * JD_LIVE_ENTRY_MAX(caps): refused (stats.refused). */
void jd_live_hub_push(jd_live_hub *h, const char *task_id, int64_t seq, const char *json,
                      size_t len);
/* The match is over: replay (the out dir's replay.json, may be NULL) kept for late
 * joiners; watchers get it and the end; the stream is dropped keep_ms later. */
void jd_live_hub_close(jd_live_hub *h, const char *task_id, const char *replay, size_t len);

/* Counters for the daemon's metrics. */
typedef struct jd_live_hub_stats {
  int64_t entries;  /* entries pushed */
  int64_t dropped;  /* entries that left a ring past its caps */
  int64_t lagged;   /* watchers ended because they fell behind */
  int64_t rejected; /* watchers refused at a cap */
  int64_t refused;  /* entries refused: larger than JD_LIVE_ENTRY_MAX */
  int64_t bytes;    /* bytes of entries and replays held now (rings, and watchers' references) */
  int watchers;     /* watchers now */
  int streams;      /* streams kept now (running and finished) */
} jd_live_hub_stats;
void jd_live_hub_stats_get(jd_live_hub_stats *out, const jd_live_hub *h);
/* The caps it was made with (kept_bytes filled in). */
void jd_live_hub_caps(jd_live_caps *out, const jd_live_hub *h);
/* The watchers now (judger_live_watchers). */
int jd_live_hub_watchers(const jd_live_hub *h);

/* ---- The watcher side (live_http.c) ---- */

#define JD_LIVE_ITEM_MAP(XX)                                                                       \
  XX(NONE, "none", "nothing new before the timeout")                                               \
  XX(ENTRY, "entry", "the next entry: seq and its JSON")                                           \
  XX(LAGGED, "lagged", "the next entry left the ring: the watcher fell behind (last)")             \
  XX(REPLAY, "replay", "the match is over: its replay (the end follows)")                          \
  XX(END, "end", "the stream ended, was restarted or the hub is stopping (last)")

typedef enum jd_live_item_kind {
#define JD_LIVE_ITEM_ENUM(code, name, text) JD_LIVE_ITEM_##code,
  JD_LIVE_ITEM_MAP(JD_LIVE_ITEM_ENUM)
#undef JD_LIVE_ITEM_ENUM
      JD_LIVE_ITEM_COUNT
} jd_live_item_kind;
const char *jd_live_item_name(jd_live_item_kind k);

/* One item a watcher takes. data (ENTRY, REPLAY): the hub's immutable block,
 * NUL-terminated, read-only, held by a reference (ref) until the next
 * jd_live_watcher_next on this item or jd_live_item_clear: no copy per
 * watcher, no buffer that grows. Clear an item before its hub is freed. */
typedef struct jd_live_item {
  jd_live_item_kind kind;
  int64_t seq; /* ENTRY */
  const char *data;
  size_t len;
  void *ref;
} jd_live_item;
#define JD_LIVE_ITEM_INIT                                                                          \
  { JD_LIVE_ITEM_NONE, 0, NULL, 0, NULL }
void jd_live_item_clear(jd_live_item *it);

typedef struct jd_live_watcher jd_live_watcher;
/* Joins task_id's stream: its items start after seq `after` (0: the whole
 * ring, the history on join; > 0: a resume, LAGGED first when an entry past
 * it already left the ring; past the newest seq: an earlier attempt's, so
 * from the start). -1 when there is no such stream (*full false)
 * or a watcher cap is reached (*full true). Free with jd_live_watcher_free. */
int jd_live_hub_watch(jd_live_watcher **out, bool *full, jd_live_hub *h, const char *task_id,
                      int64_t after);
/* Releases the item's previous reference, then waits at most timeout_ms for the
 * watcher's next item into *it (NONE on timeout). After LAGGED or END every
 * call answers END at once. 0, or -1 on a NULL argument. */
int jd_live_watcher_next(jd_live_item *it, jd_live_watcher *w, int64_t timeout_ms);
/* Ends every watcher now (they answer END): the HTTP server's stop. */
void jd_live_hub_kick(jd_live_hub *h);
/* Leaves the stream; NULL-safe. */
void jd_live_watcher_free(jd_live_watcher *w);

#endif
