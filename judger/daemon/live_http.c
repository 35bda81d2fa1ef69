/* GET /live/<task id> as Server-Sent Events (see live_http.h).
 *
 * A connection's reader turns the watcher's items into SSE text in a small
 * buffer (out) that libmicrohttpd drains: an item's data (the hub's
 * immutable block, held by a reference outside any lock) is converted a chunk
 * at a time (each line prefixed "data: "), so an entry or a replay is never
 * copied whole per watcher. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/watch_token.h"
#include "daemon/live_http.h"
#include "queue/task.h"

/* The staging buffer: a source chunk of CHUNK bytes expands at most 7 times
 * (every byte a line break), so a chunk always fits after ROOM bytes. */
#define OUT_CAP ((size_t)64 * 1024)
#define CHUNK ((size_t)4 * 1024)
#define ROOM (OUT_CAP - 8 * CHUNK)
#define ID_MAX_DIGITS 18
/* libmicrohttpd's send buffer per connection (it asks the reader for up to
 * this much at a time). */
#define BLOCK ((size_t)16 * 1024)

typedef struct live_conn {
  jd_live_watcher *w;
  jd_live_item it;
  int64_t ping_ms;
  const char *src; /* the item being converted: data lines left */
  size_t src_len, src_off;
  bool active, line_start, prev_cr, finished;
  char out[OUT_CAP];
  size_t out_len, out_off;
} live_conn;

static void put(live_conn *c, const char *s, size_t n) {
  memcpy(c->out + c->out_len, s, n);
  c->out_len += n;
}

static void puts_out(live_conn *c, const char *s) { put(c, s, strlen(s)); }

/* Converts at most CHUNK bytes of the current item into data lines; ends the
 * event after its last byte. CR, LF and CRLF all break lines (SSE's rule). */
static void convert(live_conn *c) {
  size_t end = c->src_off + CHUNK < c->src_len ? c->src_off + CHUNK : c->src_len;
  while (c->src_off < end) {
    char ch = c->src[c->src_off++];
    if (ch == '\n' && c->prev_cr) {
      c->prev_cr = false;
      continue;
    }
    c->prev_cr = ch == '\r';
    if (c->line_start)
      puts_out(c, "data: ");
    c->line_start = ch == '\n' || ch == '\r';
    put(c, c->line_start ? "\n" : &ch, 1);
  }
  if (c->src_off < c->src_len)
    return;
  if (c->line_start)
    puts_out(c, "data: ");
  puts_out(c, "\n\n");
  c->active = false;
}

/* Starts writing the item just taken; false when it was the last one. */
static bool begin_item(live_conn *c) {
  char head[64];
  switch (c->it.kind) {
  case JD_LIVE_ITEM_NONE:
    puts_out(c, ": ping\n\n");
    return true;
  case JD_LIVE_ITEM_ENTRY:
    snprintf(head, sizeof head, "id: %lld\n", (long long)c->it.seq);
    puts_out(c, head);
    break;
  case JD_LIVE_ITEM_REPLAY:
    puts_out(c, "event: replay\n");
    break;
  case JD_LIVE_ITEM_LAGGED:
    puts_out(c, "event: lagged\ndata: {}\n\n");
    return false;
  case JD_LIVE_ITEM_END:
  case JD_LIVE_ITEM_COUNT:
    puts_out(c, "event: end\ndata: {}\n\n");
    return false;
  }
  c->src = c->it.data ? c->it.data : "";
  c->src_len = c->it.data ? c->it.len : 0;
  c->src_off = 0;
  c->active = c->line_start = true;
  c->prev_cr = false;
  return true;
}

/* Refills out: waits (ping_ms at most) for the first item, then takes what
 * is ready without waiting while there is room. -1: out of memory. */
static int refill(live_conn *c) {
  c->out_len = c->out_off = 0;
  while (c->out_len < ROOM && !c->finished) {
    if (c->active) {
      convert(c);
      continue;
    }
    if (jd_live_watcher_next(&c->it, c->w, c->out_len ? 0 : c->ping_ms))
      return -1;
    if (c->it.kind == JD_LIVE_ITEM_NONE && c->out_len)
      break;
    c->finished = !begin_item(c);
    if (c->it.kind == JD_LIVE_ITEM_NONE)
      break;
  }
  return 0;
}

static ssize_t reader(void *cls, uint64_t pos, char *buf, size_t max) {
  (void)pos;
  live_conn *c = cls;
  if (c->out_off == c->out_len) {
    if (c->finished)
      return MHD_CONTENT_READER_END_OF_STREAM;
    if (refill(c))
      return MHD_CONTENT_READER_END_WITH_ERROR;
  }
  size_t n = c->out_len - c->out_off;
  if (n > max)
    n = max;
  memcpy(buf, c->out + c->out_off, n);
  c->out_off += n;
  return (ssize_t)n;
}

static void conn_free(void *cls) {
  live_conn *c = cls;
  jd_live_item_clear(&c->it); /* its reference first: the watcher keeps the hub */
  jd_live_watcher_free(c->w);
  free(c);
}

static enum MHD_Result text(struct MHD_Connection *conn, unsigned status, const char *body) {
  struct MHD_Response *r =
      MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_PERSISTENT);
  if (!r)
    return MHD_NO;
  MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
  MHD_add_response_header(r, "Access-Control-Allow-Origin", "*");
  MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
  if (status == MHD_HTTP_UNAUTHORIZED)
    MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
  if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
    MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, OPTIONS");
  if (status == MHD_HTTP_NO_CONTENT) { /* a CORS preflight (fetch with the bearer header) */
    MHD_add_response_header(r, "Access-Control-Allow-Methods", "GET");
    MHD_add_response_header(r, "Access-Control-Allow-Headers", "Authorization, Last-Event-ID");
    MHD_add_response_header(r, "Access-Control-Max-Age", "600");
  }
  enum MHD_Result rc = MHD_queue_response(conn, status, r);
  MHD_destroy_response(r);
  return rc;
}

/* The token of the request (query first, then the bearer header), NULL
 * when none; one longer than JD_LIVE_TOKEN_MAX is answered as given (it is
 * then wrong). */
static const char *request_token(struct MHD_Connection *conn) {
  const char *t = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "token");
  if (t && *t)
    return t;
  const char *a = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
  if (a && !strncasecmp(a, "Bearer ", 7)) {
    a += 7;
    while (*a == ' ')
      a++;
    return *a ? a : NULL;
  }
  return NULL;
}

/* Last-Event-ID: the seq to resume after; 0 (from the start) when absent or
 * not a small decimal number. */
static int64_t last_event_id(struct MHD_Connection *conn) {
  const char *v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Last-Event-ID");
  if (!v || !*v || strnlen(v, ID_MAX_DIGITS + 1) > ID_MAX_DIGITS)
    return 0;
  int64_t n = 0;
  for (const char *p = v; *p; p++) {
    if (*p < '0' || *p > '9')
      return 0;
    n = n * 10 + (*p - '0');
  }
  return n;
}

/* The 200: an endless event stream read from w (owned by the response). */
static enum MHD_Result stream(struct MHD_Connection *conn, jd_live_watcher *w, int64_t ping_ms) {
  live_conn *c = calloc(1, sizeof *c);
  if (!c) {
    jd_live_watcher_free(w);
    return text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
  }
  c->w = w;
  c->it = (jd_live_item)JD_LIVE_ITEM_INIT;
  c->ping_ms = ping_ms > 0 ? ping_ms : 5000;
  struct MHD_Response *r =
      MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, BLOCK, reader, c, conn_free);
  if (!r) {
    conn_free(c);
    return MHD_NO;
  }
  MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream; charset=utf-8");
  MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
  MHD_add_response_header(r, "Access-Control-Allow-Origin", "*");
  MHD_add_response_header(r, "X-Accel-Buffering", "no");
  MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close"); /* the end closes */
  enum MHD_Result rc = MHD_queue_response(conn, MHD_HTTP_OK, r);
  MHD_destroy_response(r); /* conn_free runs when the connection is done with it */
  return rc;
}

int jd_live_http_init(jd_live_http *lh) {
  lh->stopping = false;
  return pthread_mutex_init(&lh->mu, NULL) ? -1 : 0;
}

void jd_live_http_stop(jd_live_http *lh) {
  pthread_mutex_lock(&lh->mu);
  lh->stopping = true;
  pthread_mutex_unlock(&lh->mu);
  /* Every watcher joined before the flag was set: the kick reaches them all. */
  jd_live_hub_kick(lh->hub);
}

void jd_live_http_destroy(jd_live_http *lh) { pthread_mutex_destroy(&lh->mu); }

/* Joins the stream unless the server is stopping; -1 with *status. */
static int join(jd_live_watcher **w, unsigned *status, jd_live_http *lh, const char *id,
                int64_t after) {
  bool full = false;
  pthread_mutex_lock(&lh->mu);
  int rc = lh->stopping ? -1 : jd_live_hub_watch(w, &full, lh->hub, id, after);
  pthread_mutex_unlock(&lh->mu);
  *status = lh->stopping || full ? MHD_HTTP_SERVICE_UNAVAILABLE : MHD_HTTP_NOT_FOUND;
  return rc;
}

enum MHD_Result jd_live_http_answer(jd_live_http *lh, struct MHD_Connection *conn, const char *url,
                                    const char *method) {
  if (!strcmp(method, MHD_HTTP_METHOD_OPTIONS))
    return text(conn, MHD_HTTP_NO_CONTENT, "");
  if (strcmp(method, MHD_HTTP_METHOD_GET))
    return text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed: GET /live/<task id>\n");
  const char *id = url + strlen(JD_LIVE_PATH);
  /* Checked before any use: the id is the client's. */
  if (!jd_task_id_valid(id) || !lh || !lh->hub || !lh->keylen)
    return text(conn, MHD_HTTP_NOT_FOUND, "not found: no such live stream\n");
  const char *token = request_token(conn);
  if (!token)
    return text(conn, MHD_HTTP_UNAUTHORIZED,
                "unauthorized: a watch token is needed (?token= or Authorization: Bearer)\n");
  if (strnlen(token, JD_LIVE_TOKEN_MAX + 1) > JD_LIVE_TOKEN_MAX ||
      !jd_watch_token_ok(token, lh->key, lh->keylen, id))
    return text(conn, MHD_HTTP_FORBIDDEN, "forbidden: wrong watch token for this task\n");
  jd_live_watcher *w = NULL;
  unsigned status = 0;
  if (join(&w, &status, lh, id, last_event_id(conn)))
    return status == MHD_HTTP_SERVICE_UNAVAILABLE
               ? text(conn, status, "service unavailable: too many watchers, try again later\n")
               : text(conn, status, "not found: no such live stream\n");
  return stream(conn, w, lh->ping_ms);
}
