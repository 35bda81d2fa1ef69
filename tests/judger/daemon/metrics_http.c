// test-labels: unit
/* judger/daemon/metrics_http.c: GET /metrics on libmicrohttpd's own thread
 * (200 with the exposition format's content type), 404 for other paths,
 * 405 for other methods, a port in use is an error naming the setting; one
 * address holds at most per_ip connections (idle ones: a slowloris), while
 * another address is still served. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/clock.h"
#include "daemon/live_hub.h"

#include "daemon/metrics.h"
#include "daemon/metrics_http.h"
#include "http_client.h"
#include "support.h"

/* One request that must be answered; the caller frees a->body. */
static void request(t_http_answer *a, int port, const char *method, const char *path) {
  char url[128];
  snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
  cr_assert_eq(t_http(a, method, url), 0, "%s %s: no answer", method, url);
}

static jd_metrics *registry(jd_metric **c) {
  jd_metrics *m = NULL;
  cr_assert_eq(jd_metrics_new(&m), 0);
  jd_metric_def def = {
      .type = JD_METRIC_COUNTER, .name = "t_total", .help = "T.", .labels = {"k", NULL}};
  cr_assert_eq(jd_metrics_add(c, m, &def), 0);
  cr_assert_eq(jd_metric_add(*c, (const char *[]){"a"}, 3), 0);
  return m;
}

/* A server of m on a free loopback port. */
static jd_metrics_server *serve(jd_metrics *m) {
  jd_metrics_server *s = NULL;
  char err[256];
  cr_assert_eq(jd_metrics_server_start(&s, m, "127.0.0.1:0", err, sizeof err), 0, "%s", err);
  cr_assert_gt(jd_metrics_server_port(s), 0);
  return s;
}

Test(metrics_http, get_metrics_answers_the_exposition_format) {
  jd_metric *c = NULL;
  jd_metrics *m = registry(&c);
  jd_metrics_server *s = serve(m);
  int port = jd_metrics_server_port(s);
  cr_assert_gt(port, 0);
  t_http_answer a;
  request(&a, port, "GET", "/metrics");
  cr_assert_eq(a.status, 200);
  cr_assert_str_eq(a.type, "text/plain; version=0.0.4; charset=utf-8");
  cr_assert(strstr(a.body.data, "# TYPE t_total counter\nt_total{k=\"a\"} 3\n"), "%s", a.body.data);
  dk_buf_free(&a.body);
  /* What changes shows at the next scrape. */
  jd_metric_add(c, (const char *[]){"a"}, 1);
  request(&a, port, "GET", "/metrics");
  cr_assert(strstr(a.body.data, "t_total{k=\"a\"} 4\n"), "%s", a.body.data);
  dk_buf_free(&a.body);
  jd_metrics_server_stop(s);
  jd_metrics_free(m);
}

Test(metrics_http, other_paths_are_404_and_other_methods_405) {
  jd_metric *c = NULL;
  jd_metrics *m = registry(&c);
  jd_metrics_server *s = serve(m);
  int port = jd_metrics_server_port(s);
  const char *paths[] = {"/", "/metricsx", "/metrics/", "/other"};
  t_http_answer a;
  for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
    request(&a, port, "GET", paths[i]);
    cr_assert_eq(a.status, 404, "%s", paths[i]);
    cr_assert_null(strstr(a.body.data ? a.body.data : "", "t_total"));
    dk_buf_free(&a.body);
  }
  const char *methods[] = {"POST", "PUT", "DELETE"};
  for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
    request(&a, port, methods[i], "/metrics");
    cr_assert_eq(a.status, 405, "%s", methods[i]);
    cr_assert_str_eq(a.allow, "GET");
    dk_buf_free(&a.body);
  }
  jd_metrics_server_stop(s);
  jd_metrics_free(m);
}

Test(metrics_http, a_port_in_use_or_a_bad_address_is_an_error) {
  jd_metric *c = NULL;
  jd_metrics *m = registry(&c);
  jd_metrics_server *s = serve(m), *s2 = NULL;
  char err[256], spec[64];
  snprintf(spec, sizeof spec, "127.0.0.1:%d", jd_metrics_server_port(s));
  cr_assert_eq(jd_metrics_server_start(&s2, m, spec, err, sizeof err), -1);
  cr_assert_null(s2);
  cr_assert(strstr(err, "metrics_listen") && strstr(err, spec), "%s", err);
  cr_assert_eq(jd_metrics_server_start(&s2, m, "example.org:80", err, sizeof err), -1);
  cr_assert(strstr(err, "metrics_listen"), "%s", err);
  jd_metrics_server_stop(s);
  jd_metrics_server_stop(NULL);
  jd_metrics_free(m);
}

typedef struct updater {
  jd_metric *c;
  volatile int stop;
  long n;
} updater;

static void *updater_main(void *arg) {
  updater *u = arg;
  while (!u->stop) {
    jd_metric_add(u->c, (const char *[]){"b"}, 1);
    u->n++;
  }
  return NULL;
}

Test(metrics_http, scrapes_and_updates_go_on_together) {
  jd_metric *c = NULL;
  jd_metrics *m = registry(&c);
  jd_metrics_server *s = serve(m);
  updater u = {.c = c};
  pthread_t th;
  pthread_create(&th, NULL, updater_main, &u);
  t_http_answer a;
  for (int i = 0; i < 50; i++) {
    request(&a, jd_metrics_server_port(s), "GET", "/metrics");
    cr_assert_eq(a.status, 200);
    dk_buf_free(&a.body);
  }
  u.stop = 1;
  pthread_join(th, NULL);
  cr_assert_gt(u.n, 0, "the updater never ran while scrapes were served");
  request(&a, jd_metrics_server_port(s), "GET", "/metrics");
  char line[64];
  snprintf(line, sizeof line, "t_total{k=\"b\"} %ld\n", u.n);
  cr_assert(strstr(a.body.data, line), "want %s in %s", line, a.body.data);
  dk_buf_free(&a.body);
  jd_metrics_server_stop(s);
  jd_metrics_free(m);
}

/* A connection to 127.0.0.1:port from source address src ("127.0.0.x"). */
static int connect_from(const char *src, int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  cr_assert_geq(fd, 0);
  struct sockaddr_in a = {.sin_family = AF_INET};
  cr_assert_eq(inet_pton(AF_INET, src, &a.sin_addr), 1);
  cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
  a.sin_port = htons((uint16_t)port);
  cr_assert_eq(inet_pton(AF_INET, "127.0.0.1", &a.sin_addr), 1);
  cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
  return fd;
}

/* GET /metrics from src over a raw connection: true when answered 200,
 * false when the server closed the connection without an answer. */
static bool raw_get(const char *src, int port) {
  int fd = connect_from(src, port);
  const char req[] = "GET /metrics HTTP/1.0\r\n\r\n";
  (void)!write(fd, req, sizeof req - 1); /* a closed connection may refuse it */
  char buf[64] = "";
  size_t n = 0;
  struct pollfd p = {.fd = fd, .events = POLLIN};
  while (n < sizeof buf - 1 && poll(&p, 1, 10000) > 0) {
    ssize_t r = read(fd, buf + n, sizeof buf - 1 - n);
    if (r <= 0)
      break;
    n += (size_t)r;
  }
  close(fd);
  buf[n] = '\0';
  cr_assert(n == 0 || !strncmp(buf, "HTTP/1.", 7), "%s", buf);
  return strstr(buf, " 200 ") != NULL;
}

/* Waits (10 s at most) until the server holds n connections. */
static void wait_connections(jd_metrics_server *s, int n) {
  int64_t t0 = jd_mono_ms();
  while (jd_metrics_server_connections(s) != n) {
    cr_assert_lt(jd_mono_ms() - t0, 10000, "%d connections, want %d",
                 jd_metrics_server_connections(s), n);
    usleep(5000);
  }
}

#define PER_IP 4

Test(metrics_http, one_address_holds_at_most_per_ip_connections, .timeout = 60) {
  jd_metric *c = NULL;
  jd_metrics *m = registry(&c);
  jd_live_caps caps = {.entries = 10,
                       .bytes = 4096,
                       .per_match = 50,
                       .per_host = 50,
                       .keep_ms = 1000,
                       .per_ip = PER_IP};
  jd_live_hub *hub = NULL;
  cr_assert_eq(jd_live_hub_new(&hub, &caps), 0);
  jd_metrics_server *s = NULL;
  char err[256];
  const unsigned char key[] = "0123456789abcdef-per-ip";
  cr_assert_eq(
      jd_metrics_server_start_live(&s, m, "127.0.0.1:0", hub, key, sizeof key - 1, err, sizeof err),
      0, "%s", err);
  int port = jd_metrics_server_port(s);
  cr_assert(raw_get("127.0.0.1", port), "served before");
  /* The server counts a connection against its address until its thread has
   * cleaned it up, which may be after the client read the close: wait, or
   * the last idle connection below is refused as the (cap+1)th. */
  wait_connections(s, 0);
  /* A slowloris: PER_IP connections that never send a full request. */
  int idle[PER_IP];
  for (int i = 0; i < PER_IP; i++) {
    idle[i] = connect_from("127.0.0.1", port);
    cr_assert_eq(write(idle[i], "GET /met", 8), 8);
  }
  wait_connections(s, PER_IP);
  cr_assert_not(raw_get("127.0.0.1", port), "the (cap+1)th connection of 127.0.0.1 is closed");
  t_http_answer a;
  char url[64];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/metrics", port);
  t_http(&a, "GET", url);
  cr_assert_eq(a.status, 0, "/metrics from the same address is refused too");
  dk_buf_free(&a.body);
  cr_assert(raw_get("127.0.0.2", port), "another address is still served");
  close(idle[0]);
  int64_t t0 = jd_mono_ms();
  while (!raw_get("127.0.0.1", port)) {
    cr_assert_lt(jd_mono_ms() - t0, 10000, "a connection closed frees a place");
    usleep(20000);
  }
  for (int i = 1; i < PER_IP; i++)
    close(idle[i]);
  jd_metrics_server_stop(s);
  jd_live_hub_free(hub);
  jd_metrics_free(m);
}

Test(metrics_http, a_server_without_live_streams_caps_one_address_too, .timeout = 60) {
  jd_metric *c = NULL;
  jd_metrics *m = registry(&c);
  jd_metrics_server *s = serve(m);
  int port = jd_metrics_server_port(s);
  int idle[JD_METRICS_PER_IP_DEFAULT];
  for (int i = 0; i < JD_METRICS_PER_IP_DEFAULT; i++)
    idle[i] = connect_from("127.0.0.1", port);
  wait_connections(s, JD_METRICS_PER_IP_DEFAULT);
  cr_assert_not(raw_get("127.0.0.1", port), "past JD_METRICS_PER_IP_DEFAULT");
  cr_assert(raw_get("127.0.0.3", port), "another address is still served");
  for (int i = 0; i < JD_METRICS_PER_IP_DEFAULT; i++)
    close(idle[i]);
  jd_metrics_server_stop(s);
  jd_metrics_free(m);
}
