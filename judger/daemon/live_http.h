/* GET /live/<task id>: a task's live stream as Server-Sent Events, served by
 * the metrics server (metrics_http.c) from the live hub (live_hub.h).
 *
 * The task id is checked like the queue's ids (jd_task_id_valid) before any
 * use; the token (?token=<hex> or Authorization: Bearer <hex>) is checked in
 * constant time against HMAC-SHA256(key, "judger-watch:" id). Answers: 401 no
 * token, 403 wrong token, 404 no such stream (or no key), 204 OPTIONS (CORS
 * preflight), 405 another method, 503 a watcher cap; 200 text/event-stream: the ring (after
 * Last-Event-ID when given), then every entry as it comes (`id: <seq>` + `data: <json>`), then
 * `event: replay` (when one was kept) and `event: end`, then the close. A
 * watcher that fell behind gets `event: lagged` and the close; `: ping`
 * every ping_ms on a quiet stream.
 *
 * The content reader blocks (libmicrohttpd's thread per connection): it
 * waits on the hub, never the other way round. */
#ifndef JD_LIVE_HTTP_H
#define JD_LIVE_HTTP_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <microhttpd.h>

#include "daemon/live_hub.h"

#define JD_LIVE_PATH "/live/"
/* The token's query parameter or header value is refused past this. */
#define JD_LIVE_TOKEN_MAX 256

typedef struct jd_live_http {
  jd_live_hub *hub;         /* NULL: every /live/ request is 404 */
  const unsigned char *key; /* keylen 0: every /live/ request is 404 */
  size_t keylen;
  int64_t ping_ms;    /* keepalive period */
  pthread_mutex_t mu; /* orders joins against the stop */
  bool stopping;
} jd_live_http;

/* Sets up lh's lock (the fields above are the caller's); 0/-1. */
int jd_live_http_init(jd_live_http *lh);
/* The server stops: no watcher joins any more (503), the ones there answer
 * the end at once (jd_live_hub_kick). Then the server's threads can be joined. */
void jd_live_http_stop(jd_live_http *lh);
void jd_live_http_destroy(jd_live_http *lh);

/* Answers one request whose path starts with JD_LIVE_PATH. */
enum MHD_Result jd_live_http_answer(jd_live_http *lh, struct MHD_Connection *conn, const char *url,
                                    const char *method);

#endif
