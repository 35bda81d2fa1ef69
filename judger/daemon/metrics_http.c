/* The /metrics endpoint on libmicrohttpd (see metrics_http.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <microhttpd.h>
#include <openssl/crypto.h>

#include "common/error.h"
#include "daemon/live_http.h"
#include "daemon/metrics_http.h"

#define CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Connections beyond the host's watchers: scrapes and refused requests. */
#define SPARE_CONNECTIONS 16u
#define DEFAULT_TIMEOUT_S 10u
#define DEFAULT_PING_MS 5000
/* Thread per connection: a small stack each (the handlers need little). */
#define THREAD_STACK ((size_t)512 * 1024)

struct jd_metrics_server {
  struct MHD_Daemon *mhd;
  jd_metrics *reg;
  jd_live_http live;
  unsigned char *key; /* the live.key copy */
  bool live_init;
  int port;
};

static int parse_port(int *out, const char *s) {
  char *end = NULL;
  errno = 0;
  long p = strtol(s, &end, 10);
  if (errno || end == s || *end || p < 0 || p > 65535)
    return -1;
  *out = (int)p;
  return 0;
}

int jd_metrics_listen_parse(struct sockaddr_storage *out, socklen_t *len, const char *spec,
                            char *err, size_t errlen) {
  memset(out, 0, sizeof *out);
  char host[128];
  const char *colon = spec ? strrchr(spec, ':') : NULL;
  if (!colon || (size_t)(colon - spec) >= sizeof host)
    return jd_fail(err, errlen, "metrics_listen: expected ADDR:PORT (127.0.0.1:9464, [::1]:9464)");
  memcpy(host, spec, (size_t)(colon - spec));
  host[colon - spec] = '\0';
  int port = 0;
  if (parse_port(&port, colon + 1))
    return jd_fail(err, errlen, "metrics_listen: '%s' is not a port (0-65535)", colon + 1);
  size_t hn = strlen(host);
  if (hn >= 2 && host[0] == '[' && host[hn - 1] == ']') {
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)out;
    host[hn - 1] = '\0';
    if (inet_pton(AF_INET6, host + 1, &a6->sin6_addr) != 1)
      return jd_fail(err, errlen, "metrics_listen: '%s' is not an IPv6 address", host + 1);
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons((uint16_t)port);
    *len = sizeof *a6;
    return 0;
  }
  struct sockaddr_in *a4 = (struct sockaddr_in *)out;
  if (inet_pton(AF_INET, host, &a4->sin_addr) != 1)
    return jd_fail(err, errlen, "metrics_listen: '%s' is not an IPv4 address ([...] for IPv6)",
                   host);
  a4->sin_family = AF_INET;
  a4->sin_port = htons((uint16_t)port);
  *len = sizeof *a4;
  return 0;
}

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status, char *body, size_t len,
                             enum MHD_ResponseMemoryMode mode) {
  struct MHD_Response *r = MHD_create_response_from_buffer(len, body, mode);
  if (!r) {
    if (mode == MHD_RESPMEM_MUST_FREE)
      free(body);
    return MHD_NO;
  }
  MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                          status == MHD_HTTP_OK ? CONTENT_TYPE : "text/plain; charset=utf-8");
  if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
    MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET");
  enum MHD_Result rc = MHD_queue_response(conn, status, r);
  MHD_destroy_response(r);
  return rc;
}

static enum MHD_Result fixed(struct MHD_Connection *conn, unsigned status, const char *text) {
  return reply(conn, status, (char *)text, strlen(text), MHD_RESPMEM_PERSISTENT);
}

/* Runs on libmicrohttpd's thread: renders under the registry's short lock
 * only. A request body (a POST's) is never read: the answer is queued at
 * the first call. */
static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *upload_data,
                              size_t *upload_data_size, void **con_cls) {
  (void)version;
  (void)upload_data;
  (void)upload_data_size;
  (void)con_cls;
  jd_metrics_server *s = cls;
  if (!strncmp(url, JD_LIVE_PATH, strlen(JD_LIVE_PATH)))
    return jd_live_http_answer(&s->live, conn, url, method);
  if (strcmp(url, "/metrics"))
    return fixed(conn, MHD_HTTP_NOT_FOUND, "not found: the metrics are at /metrics\n");
  if (strcmp(method, MHD_HTTP_METHOD_GET))
    return fixed(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed: GET /metrics\n");
  dk_buf b = DK_BUF_INIT(JD_METRICS_BODY_MAX);
  if (jd_metrics_render(&b, s->reg)) {
    dk_buf_free(&b);
    return fixed(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "metrics larger than their cap\n");
  }
  size_t len = 0;
  char *body = dk_buf_detach(&b, &len);
  if (!body)
    return fixed(conn, MHD_HTTP_OK, "");
  return reply(conn, MHD_HTTP_OK, body, len, MHD_RESPMEM_MUST_FREE);
}

/* The ping period: the asked one, kept under half the idle timeout (a
 * quiet stream must not look idle). */
static int64_t ping_period(const jd_metrics_server_opts *o, unsigned timeout_s) {
  int64_t ping = o->ping_ms > 0 ? o->ping_ms : DEFAULT_PING_MS;
  int64_t half = (int64_t)timeout_s * 500;
  return ping < half ? ping : half;
}

static int live_setup(jd_metrics_server *s, const jd_metrics_server_opts *o, unsigned timeout_s) {
  if (jd_live_http_init(&s->live))
    return -1;
  s->live_init = true;
  s->live.hub = o->hub;
  s->live.ping_ms = ping_period(o, timeout_s);
  if (!o->hub || !o->key || !o->keylen)
    return 0;
  s->key = malloc(o->keylen);
  if (!s->key)
    return -1;
  memcpy(s->key, o->key, o->keylen);
  s->live.key = s->key;
  s->live.keylen = o->keylen;
  return 0;
}

static void server_free(jd_metrics_server *s) {
  if (s->live_init)
    jd_live_http_destroy(&s->live);
  if (s->key)
    OPENSSL_cleanse(s->key, s->live.keylen);
  free(s->key);
  free(s);
}

static unsigned connection_cap(const jd_live_hub *hub) {
  if (!hub)
    return SPARE_CONNECTIONS;
  jd_live_caps caps;
  jd_live_hub_caps(&caps, hub);
  return (caps.per_host > 0 ? (unsigned)caps.per_host : 0u) + SPARE_CONNECTIONS;
}

/* The per-address cap; 0: none. */
static unsigned per_ip_cap(const jd_metrics_server_opts *o) {
  if (o->per_ip)
    return o->per_ip > 0 ? (unsigned)o->per_ip : 0u;
  if (!o->hub)
    return JD_METRICS_PER_IP_DEFAULT;
  jd_live_caps caps;
  jd_live_hub_caps(&caps, o->hub);
  return caps.per_ip > 0 ? (unsigned)caps.per_ip : 0u;
}

int jd_metrics_server_start_opts(jd_metrics_server **out, const jd_metrics_server_opts *o,
                                 char *err, size_t errlen) {
  *out = NULL;
  struct sockaddr_storage addr;
  socklen_t alen = 0;
  if (jd_metrics_listen_parse(&addr, &alen, o->spec, err, errlen))
    return -1;
  jd_metrics_server *s = calloc(1, sizeof *s);
  unsigned timeout_s = o->timeout_s ? o->timeout_s : DEFAULT_TIMEOUT_S;
  if (!s || live_setup(s, o, timeout_s)) {
    if (s)
      server_free(s);
    return jd_fail(err, errlen, "out of memory");
  }
  s->reg = o->reg;
  /* A thread per connection: a live stream's reader blocks on the hub. The
   * connection cap fits the host's watchers and a few scrapes; the per-address
   * cap keeps one client (a slowloris) from taking them all; the idle
   * timeout closes a client that does not read (or a slow scraper). */
  unsigned flags =
      MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL | MHD_USE_ITC;
  if (addr.ss_family == AF_INET6)
    flags |= MHD_USE_IPv6;
  s->mhd = MHD_start_daemon(flags, 0, NULL, NULL, handle, s, MHD_OPTION_SOCK_ADDR,
                            (struct sockaddr *)&addr, MHD_OPTION_CONNECTION_LIMIT,
                            connection_cap(o->hub), MHD_OPTION_PER_IP_CONNECTION_LIMIT,
                            per_ip_cap(o), MHD_OPTION_CONNECTION_TIMEOUT, timeout_s,
                            MHD_OPTION_THREAD_STACK_SIZE, THREAD_STACK, MHD_OPTION_END);
  if (!s->mhd) {
    int e = errno;
    server_free(s);
    return jd_fail(err, errlen, "metrics_listen: cannot listen on %s: %s", o->spec,
                   e ? strerror(e) : "libmicrohttpd failed");
  }
  const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_BIND_PORT);
  s->port = info ? info->port : 0;
  *out = s;
  return 0;
}

int jd_metrics_server_start_live(jd_metrics_server **out, jd_metrics *reg, const char *spec,
                                 jd_live_hub *hub, const unsigned char *key, size_t keylen,
                                 char *err, size_t errlen) {
  jd_metrics_server_opts o = JD_METRICS_SERVER_OPTS_INIT;
  o.reg = reg;
  o.spec = spec;
  o.hub = hub;
  o.key = key;
  o.keylen = keylen;
  return jd_metrics_server_start_opts(out, &o, err, errlen);
}

int jd_metrics_server_start(jd_metrics_server **out, jd_metrics *reg, const char *spec, char *err,
                            size_t errlen) {
  return jd_metrics_server_start_live(out, reg, spec, NULL, NULL, 0, err, errlen);
}

int jd_metrics_server_port(const jd_metrics_server *s) { return s ? s->port : 0; }

int jd_metrics_server_connections(const jd_metrics_server *s) {
  const union MHD_DaemonInfo *info =
      s ? MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_CURRENT_CONNECTIONS) : NULL;
  return info ? (int)info->num_connections : 0;
}

void jd_metrics_server_stop(jd_metrics_server *s) {
  if (!s)
    return;
  /* New connections first, then the watchers blocked on the hub are woken
   * (they answer the end), then libmicrohttpd joins the threads. */
  MHD_socket fd = MHD_quiesce_daemon(s->mhd);
  jd_live_http_stop(&s->live);
  MHD_stop_daemon(s->mhd);
  if (fd != MHD_INVALID_SOCKET)
    close(fd);
  server_free(s);
}
