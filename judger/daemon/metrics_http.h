/* The metrics server: libmicrohttpd serving a registry (metrics.h) and the
 * live streams (live_http.h) on its own threads (one per connection), so a
 * scrape or a watcher never takes a worker slot. GET /metrics is the text
 * exposition format 0.0.4; GET /live/<task id> a task's live stream; any
 * other path is 404, any other method 405. */
#ifndef JD_METRICS_HTTP_H
#define JD_METRICS_HTTP_H

#include <stddef.h>
#include <sys/socket.h>

#include "daemon/live_hub.h"
#include "daemon/metrics.h"

/* The cap on one /metrics answer. */
#define JD_METRICS_BODY_MAX ((size_t)8 << 20)

/* "ADDR:PORT" ("127.0.0.1:9464", "[::1]:9464", "0.0.0.0:0" = a free port)
 * into an address; -1 with a reason in err. Names are not resolved. */
int jd_metrics_listen_parse(struct sockaddr_storage *out, socklen_t *len, const char *spec,
                            char *err, size_t errlen);

typedef struct jd_metrics_server jd_metrics_server;

/* Listens on spec and serves reg (which must outlive the server); -1 with
 * a reason in err. Stop and free with jd_metrics_server_stop(). */
int jd_metrics_server_start(jd_metrics_server **out, jd_metrics *reg, const char *spec, char *err,
                            size_t errlen);
/* As jd_metrics_server_start, also serving GET /live/<task id> from hub (NULL: none) with
 * tokens checked under key (keylen 0: every /live/ request is 404). See live_http.h.
 * One address holds at most the hub's caps.per_ip connections (a slow client cannot
 * take every connection: /metrics and the other watchers stay served). */
int jd_metrics_server_start_live(jd_metrics_server **out, jd_metrics *reg, const char *spec,
                                 jd_live_hub *hub, const unsigned char *key, size_t keylen,
                                 char *err, size_t errlen);

/* Every setting of the server, for tests and tools (the two starts above
 * fill it with the defaults). */
typedef struct jd_metrics_server_opts {
  jd_metrics *reg;          /* served at /metrics; must outlive the server */
  const char *spec;         /* "ADDR:PORT" */
  jd_live_hub *hub;         /* /live/<task id>; NULL: none */
  const unsigned char *key; /* watch key (copied); keylen 0: /live/ is 404 */
  size_t keylen;
  unsigned timeout_s; /* a connection idle (or not reading) this long is closed; 0: 10 */
  int64_t ping_ms;    /* keepalive comment on a quiet stream; 0: 5000 (kept under timeout) */
  int per_ip;         /* connections one address may hold (more are closed at once): 0: the hub's
                         caps.per_ip (0 there: no cap), JD_METRICS_PER_IP_DEFAULT with no hub; < 0: no cap
                       */
} jd_metrics_server_opts;
#define JD_METRICS_SERVER_OPTS_INIT                                                                \
  { NULL, NULL, NULL, NULL, 0, 0, 0, 0 }
/* The per-address connection cap of a server without live streams (half its
 * connections: one client never takes them all). */
#define JD_METRICS_PER_IP_DEFAULT 8
int jd_metrics_server_start_opts(jd_metrics_server **out, const jd_metrics_server_opts *o,
                                 char *err, size_t errlen);
/* The port it listens on (the chosen one for port 0). */
int jd_metrics_server_port(const jd_metrics_server *s);
/* The connections open now (tests: a client's connection was accepted). */
int jd_metrics_server_connections(const jd_metrics_server *s);
/* Stops serving (waits for answers in progress) and frees; NULL-safe. */
void jd_metrics_server_stop(jd_metrics_server *s);

#endif
