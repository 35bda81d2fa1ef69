// test-labels: unit
/* judger/daemon/metrics_http.c: GET /metrics on libmicrohttpd's own thread
 * (200 with the exposition format's content type), 404 for other paths,
 * 405 for other methods, a port in use is an error naming the setting. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

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
