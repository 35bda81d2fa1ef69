// test-labels: unit
/* judger/daemon/metrics.c and daemon_metrics.c: the registry, the text
 * exposition renderer (escaping, cumulative buckets, +Inf, _sum/_count),
 * the caps, collectors, the daemon's set (its engine requests read from a
 * client's counters) and the engine call names; the metrics_listen
 * setting. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "cli/settings.h"
#include "daemon/config.h"
#include "daemon/daemon_metrics.h"
#include "daemon/metrics.h"
#include "fake_engine.h"
#include "support.h"

#define DEF(type_, name_, help_, ...)                                                              \
  (jd_metric_def) {                                                                                \
    .type = JD_METRIC_##type_, .name = name_, .help = help_, .labels = { __VA_ARGS__ }             \
  }

static char *render(jd_metrics *m) {
  dk_buf b = DK_BUF_INIT(1 << 20);
  cr_assert_eq(jd_metrics_render(&b, m), 0);
  return dk_buf_detach(&b, NULL);
}

static jd_metric *family(jd_metrics *m, jd_metric_def def) {
  jd_metric *f = NULL;
  cr_assert_eq(jd_metrics_add(&f, m, &def), 0, "%s", def.name);
  return f;
}

static void assert_has(const char *text, const char *line) {
  cr_assert(strstr(text, line), "missing %s in:\n%s", line, text);
}

Test(metrics, counters_and_gauges_render_with_help_and_type) {
  jd_metrics *m = NULL;
  cr_assert_eq(jd_metrics_new(&m), 0);
  jd_metric *c = family(m, DEF(COUNTER, "t_total", "Things.\nDone \\ here", "kind", NULL));
  jd_metric *g = family(m, DEF(GAUGE, "t_gauge", "A gauge.", NULL));
  cr_assert_eq(jd_metric_add(c, (const char *[]){"a"}, 1), 0);
  cr_assert_eq(jd_metric_add(c, (const char *[]){"a"}, 2), 0);
  cr_assert_eq(jd_metric_add(c, (const char *[]){"b"}, 0.5), 0);
  cr_assert_eq(jd_metric_add(c, (const char *[]){"a"}, -1), -1, "a counter never goes down");
  cr_assert_eq(jd_metric_set(c, (const char *[]){"a"}, 9), -1, "a counter is not set");
  cr_assert_eq(jd_metric_add(c, NULL, 1), -1, "labels are required");
  cr_assert_eq(jd_metric_set(g, NULL, 42), 0);
  cr_assert_eq(jd_metric_add(g, NULL, -2), 0);
  cr_assert_eq(jd_metric_observe(g, NULL, 1), -1, "a gauge has no buckets");
  char *t = render(m);
  assert_has(t, "# HELP t_total Things.\\nDone \\\\ here\n# TYPE t_total counter\n");
  assert_has(t, "t_total{kind=\"a\"} 3\n");
  assert_has(t, "t_total{kind=\"b\"} 0.5\n");
  assert_has(t, "# TYPE t_gauge gauge\nt_gauge 40\n");
  assert_has(t, "judger_metrics_dropped_total 0\n");
  free(t);
  jd_metrics_free(m);
}

Test(metrics, label_values_are_escaped_and_made_valid_utf8) {
  jd_metrics *m = NULL;
  cr_assert_eq(jd_metrics_new(&m), 0);
  jd_metric *g = family(m, DEF(GAUGE, "t_g", "G.", "path", "x", NULL));
  cr_assert_eq(jd_metric_set(g, (const char *[]){"a\\b\"c\nd", "ok"}, 1), 0);
  /* A stray continuation byte and a truncated sequence: U+FFFD each. */
  cr_assert_eq(jd_metric_set(g, (const char *[]){"bad\x80-\xe2\x82", "\xc3\xa9"}, 2), 0);
  /* The same raw bytes find the same series. */
  cr_assert_eq(jd_metric_set(g, (const char *[]){"bad\x80-\xe2\x82", "\xc3\xa9"}, 3), 0);
  char *t = render(m);
  assert_has(t, "t_g{path=\"a\\\\b\\\"c\\nd\",x=\"ok\"} 1\n");
  assert_has(t, "t_g{path=\"bad\xef\xbf\xbd-\xef\xbf\xbd\",x=\"\xc3\xa9\"} 3\n");
  cr_assert_null(strstr(t, "} 2\n"), "a second series was made:\n%s", t);
  free(t);
  jd_metrics_free(m);
}

Test(metrics, histogram_buckets_are_cumulative_with_inf_sum_and_count) {
  jd_metrics *m = NULL;
  cr_assert_eq(jd_metrics_new(&m), 0);
  static const double b[] = {0.1, 1, 10};
  jd_metric_def def = {.type = JD_METRIC_HISTOGRAM,
                       .name = "t_seconds",
                       .help = "H.",
                       .labels = {"phase", NULL},
                       .buckets = b,
                       .nbuckets = 3};
  jd_metric *h = family(m, def);
  const char *run[] = {"run"};
  double obs[] = {0.05, 0.1, 0.5, 1, 2, 20, 30};
  for (size_t i = 0; i < sizeof obs / sizeof obs[0]; i++)
    cr_assert_eq(jd_metric_observe(h, run, obs[i]), 0);
  cr_assert_eq(jd_metric_touch(h, (const char *[]){"idle"}), 0);
  cr_assert_eq(jd_metric_add(h, run, 1), -1, "a histogram is observed");
  char *t = render(m);
  /* le is inclusive: 0.1 counts in the 0.1 bucket, 1 in the 1 bucket. */
  assert_has(t, "t_seconds_bucket{phase=\"run\",le=\"0.1\"} 2\n"
                "t_seconds_bucket{phase=\"run\",le=\"1\"} 4\n"
                "t_seconds_bucket{phase=\"run\",le=\"10\"} 5\n"
                "t_seconds_bucket{phase=\"run\",le=\"+Inf\"} 7\n"
                "t_seconds_sum{phase=\"run\"} 53.65\n"
                "t_seconds_count{phase=\"run\"} 7\n");
  assert_has(t, "t_seconds_bucket{phase=\"idle\",le=\"+Inf\"} 0\n"
                "t_seconds_sum{phase=\"idle\"} 0\nt_seconds_count{phase=\"idle\"} 0\n");
  free(t);
  jd_metrics_free(m);
}

Test(metrics, bad_definitions_are_refused) {
  jd_metrics *m = NULL;
  cr_assert_eq(jd_metrics_new(&m), 0);
  jd_metric *f = NULL;
  static const double down[] = {1, 0.5}, inf[] = {1, INFINITY};
  jd_metric_def bad[] = {
      DEF(GAUGE, "9lives", "x", NULL),
      DEF(GAUGE, "has-dash", "x", NULL),
      DEF(GAUGE, "ok", "x", "__reserved", NULL),
      DEF(GAUGE, "ok", "x", "a:b", NULL),
      {.type = JD_METRIC_HISTOGRAM,
       .name = "h",
       .help = "x",
       .labels = {"le", NULL},
       .buckets = down,
       .nbuckets = 1},
      {.type = JD_METRIC_HISTOGRAM,
       .name = "h",
       .help = "x",
       .labels = {NULL},
       .buckets = down,
       .nbuckets = 2},
      {.type = JD_METRIC_HISTOGRAM,
       .name = "h",
       .help = "x",
       .labels = {NULL},
       .buckets = inf,
       .nbuckets = 2},
      {.type = JD_METRIC_HISTOGRAM,
       .name = "h",
       .help = "x",
       .labels = {NULL},
       .buckets = NULL,
       .nbuckets = 0},
      DEF(GAUGE, "ok", "x", "a", "b", "c", "d"), /* no room for the NULL */
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    cr_assert_eq(jd_metrics_add(&f, m, &bad[i]), -1, "definition %zu", i);
  jd_metrics_free(m);
}

Test(metrics, a_family_stops_at_its_series_cap_and_counts_the_drops) {
  jd_metrics *m = NULL;
  cr_assert_eq(jd_metrics_new(&m), 0);
  jd_metric *g = family(m, DEF(GAUGE, "t_g", "G.", "k", NULL));
  char v[32];
  for (int i = 0; i < JD_METRIC_SERIES_MAX; i++) {
    snprintf(v, sizeof v, "%d", i);
    cr_assert_eq(jd_metric_set(g, (const char *[]){v}, i), 0);
  }
  cr_assert_eq(jd_metric_set(g, (const char *[]){"one-more"}, 1), -1);
  cr_assert_eq(jd_metric_set(g, (const char *[]){"0"}, 5), 0, "existing series still update");
  char *t = render(m);
  assert_has(t, "judger_metrics_dropped_total 1\n");
  assert_has(t, "t_g{k=\"0\"} 5\n");
  free(t);
  jd_metrics_free(m);
}

Test(metrics, rendering_past_the_cap_fails) {
  jd_metrics *m = NULL;
  cr_assert_eq(jd_metrics_new(&m), 0);
  jd_metric *g = family(m, DEF(GAUGE, "t_g", "G.", "k", NULL));
  cr_assert_eq(jd_metric_set(g, (const char *[]){"value"}, 1), 0);
  dk_buf b = DK_BUF_INIT(40);
  cr_assert_eq(jd_metrics_render(&b, m), -1);
  dk_buf_free(&b);
  jd_metrics_free(m);
}

Test(metrics, values_are_written_the_way_prometheus_reads_them) {
  char out[40];
  struct {
    double v;
    const char *text;
  } cases[] = {{0, "0"},
               {1, "1"},
               {0.1, "0.1"},
               {2.5, "2.5"},
               {1e21, "1e+21"},
               {-3, "-3"},
               {INFINITY, "+Inf"},
               {-INFINITY, "-Inf"},
               {NAN, "NaN"},
               {1.0 / 3, "0.3333333333333333"},
               {123456789, "123456789"}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    jd_metric_format_value(out, sizeof out, cases[i].v);
    cr_assert_str_eq(out, cases[i].text);
  }
}

typedef struct hammer {
  jd_metric *c;
  int n;
} hammer;

static void *hammer_main(void *arg) {
  hammer *h = arg;
  for (int i = 0; i < h->n; i++)
    jd_metric_add(h->c, (const char *[]){i % 2 ? "odd" : "even"}, 1);
  return NULL;
}

Test(metrics, updates_from_threads_while_rendering_lose_nothing) {
  jd_metrics *m = NULL;
  cr_assert_eq(jd_metrics_new(&m), 0);
  hammer h = {family(m, DEF(COUNTER, "t_total", "T.", "k", NULL)), 20000};
  pthread_t th[4];
  for (int i = 0; i < 4; i++)
    pthread_create(&th[i], NULL, hammer_main, &h);
  for (int i = 0; i < 50; i++)
    free(render(m));
  for (int i = 0; i < 4; i++)
    pthread_join(th[i], NULL);
  char *t = render(m);
  assert_has(t, "t_total{k=\"even\"} 40000\n");
  assert_has(t, "t_total{k=\"odd\"} 40000\n");
  free(t);
  jd_metrics_free(m);
}

Test(metrics, the_daemon_set_starts_with_every_closed_series_at_zero) {
  jd_dmetrics *d = NULL;
  cr_assert_eq(jd_dmetrics_new(&d, 3), 0);
  jd_task_kind match = JD_TASK_MATCH;
  jd_dmetrics_task(d, &match, jd_task_end_of_status(JD_TASK_STATUS_FINISHED));
  jd_dmetrics_task(d, NULL, JD_TASK_END_DEAD);
  jd_dmetrics_phase(d, JD_PHASE_RUN, 0.3);
  jd_dmetrics_verdict(d, JD_VERDICT_TLE, 2);
  jd_dmetrics_engine_error(d, "POST", "/containers/0123abcd/start?x=1");
  jd_dmetrics_paused(d, JD_PAUSE_DISK, true);
  jd_dmetrics_disk_free(d, "/var/lib/judger", 1234);
  jd_dmetrics_lease_renewals(d, 4);
  jd_dmetrics_turns(d, 49, 1);
  jd_dmetrics_turns(d, 50, 0);
  char *t = render(jd_dmetrics_registry(d));
  assert_has(t, "judger_build_info{version=\"");
  assert_has(t, "judger_slots 3\n");
  assert_has(t, "judger_tasks_total{type=\"build\",status=\"given_back\"} 0\n");
  assert_has(t, "judger_tasks_total{type=\"match\",status=\"finished\"} 1\n");
  assert_has(t, "judger_tasks_total{type=\"unknown\",status=\"dead_lettered\"} 1\n");
  assert_has(t, "judger_task_phase_seconds_count{phase=\"upload\"} 0\n");
  assert_has(t, "judger_task_phase_seconds_bucket{phase=\"run\",le=\"0.5\"} 1\n");
  assert_has(t, "judger_player_verdicts_total{verdict=\"TLE\"} 2\n");
  assert_has(t, "judger_player_verdicts_total{verdict=\"CANCEL\"} 0\n");
  assert_has(t, "judger_engine_errors_total{call=\"containers.start\"} 1\n");
  assert_has(t, "judger_paused{reason=\"disk_low\"} 1\n");
  assert_has(t, "judger_paused{reason=\"engine_unreachable\"} 0\n");
  assert_has(t, "judger_disk_free_bytes{path=\"/var/lib/judger\"} 1234\n");
  assert_has(t, "judger_lease_renewals_total 4\n");
  assert_has(t, "judger_turns_total{outcome=\"ended\"} 99\n");
  assert_has(t, "judger_turns_total{outcome=\"timed_out\"} 1\n");
  free(t);
  jd_dmetrics_free(d);
  /* Metrics off: every setter takes NULL. */
  jd_dmetrics_task(NULL, &match, JD_TASK_END_DEAD);
  jd_dmetrics_busy(NULL, 1);
  jd_dmetrics_engine_error(NULL, "GET", "/_ping");
  cr_assert_null(jd_dmetrics_registry(NULL));
}

static void collect_seven(void *ud) {
  jd_metric_set_total(ud, (const char *[]){"x"}, 7);
  jd_metric_set_total(ud, (const char *[]){"y"}, 2); /* below what y has: kept */
}

Test(metrics, a_collector_sets_running_totals_at_each_render) {
  jd_metrics *m = NULL;
  cr_assert_eq(jd_metrics_new(&m), 0);
  jd_metric *c = family(m, DEF(COUNTER, "t_total", "T.", "k", NULL));
  jd_metric *g = family(m, DEF(GAUGE, "t_gauge", "G.", NULL));
  cr_assert_eq(jd_metric_add(c, (const char *[]){"y"}, 5), 0);
  cr_assert_eq(jd_metric_set_total(g, NULL, 1), -1, "a total is a counter's");
  cr_assert_eq(jd_metric_set_total(c, (const char *[]){"x"}, -1), -1);
  jd_metrics_set_collector(m, collect_seven, c);
  char *t = render(m);
  assert_has(t, "t_total{k=\"x\"} 7\n");
  assert_has(t, "t_total{k=\"y\"} 5\n");
  free(t);
  jd_metrics_set_collector(m, NULL, NULL);
  cr_assert_eq(jd_metric_add(c, (const char *[]){"x"}, 1), 0);
  t = render(m);
  assert_has(t, "t_total{k=\"x\"} 8\n");
  free(t);
  jd_metrics_free(m);
}

Test(metrics, engine_requests_are_the_clients_own_counters) {
  static const t_fake_route any = {NULL, "/", "HTTP/1.1 204 No Content\r\n\r\n", 0, 0};
  t_fake *fake = t_fake_start(&any, 1);
  dk_client_opts o = {.host = t_fake_host(fake), .api_version = "1.41"};
  dk_client *dk = NULL;
  cr_assert_eq(dk_client_new(&dk, &o), 0);
  jd_dmetrics *d = NULL;
  cr_assert_eq(jd_dmetrics_new(&d, 1), 0);
  char *t = render(jd_dmetrics_registry(d));
  assert_has(t, "# TYPE judger_engine_requests_total counter\n");
  assert_has(t, "judger_engine_requests_total{kind=\"container_create\"} 0\n");
  assert_has(t, "judger_engine_requests_total{kind=\"other\"} 0\n");
  free(t);
  jd_dmetrics_engine_client(d, dk);
  cr_assert_eq(dk_container_start(dk, "abc"), 0);
  cr_assert_eq(dk_container_start(dk, "def"), 0);
  cr_assert_eq(dk_network_remove(dk, "n1"), 0);
  t = render(jd_dmetrics_registry(d));
  assert_has(t, "judger_engine_requests_total{kind=\"container_start\"} 2\n");
  assert_has(t, "judger_engine_requests_total{kind=\"network_remove\"} 1\n");
  assert_has(t, "judger_engine_requests_total{kind=\"container_create\"} 0\n");
  free(t);
  jd_dmetrics_engine_client(d, NULL); /* before the client goes */
  dk_client_free(dk);
  t = render(jd_dmetrics_registry(d));
  assert_has(t, "judger_engine_requests_total{kind=\"container_start\"} 2\n");
  free(t);
  jd_dmetrics_free(d);
  jd_dmetrics_engine_client(NULL, NULL);
  t_fake_stop(fake);
}

Test(metrics, engine_call_names_are_from_a_closed_set) {
  struct {
    const char *method, *path, *name;
  } cases[] = {
      {"GET", "/_ping", "ping"},
      {"GET", "/info", "info"},
      {"GET", "/events?filters=x", "events"},
      {"POST", "/build?t=a:b", "build"},
      {"POST", "/containers/create?name=x", "containers.create"},
      {"POST", "/containers/abc/start", "containers.start"},
      {"POST", "/containers/abc/wait?condition=next-exit", "containers.wait"},
      {"GET", "/containers/abc/json", "containers.json"},
      {"GET", "/containers/json?all=1", "containers.json"},
      {"DELETE", "/containers/abc?force=1", "containers.remove"},
      {"DELETE", "/networks/jd-net-1", "networks.remove"},
      {"GET", "/images/busybox:latest/json", "images.json"},
      {"GET", "/networks/jd-net-1", "networks.inspect"},
      {"GET", "/networks", "networks.list"},
      {"POST", "/containers/abc/frobnicate", "containers.other"},
      {"GET", "/plugins", "other"},
      {"GET", "", "other"},
  };
  char out[64];
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    jd_engine_call_name(out, sizeof out, cases[i].method, cases[i].path);
    cr_assert_str_eq(out, cases[i].name, "%s %s", cases[i].method, cases[i].path);
  }
}

Test(metrics, metrics_listen_is_a_setting_checked_when_set) {
  jd_config c;
  cr_assert_eq(jd_config_defaults(&c), 0);
  cr_assert_str_eq(c.metrics_listen, "", "off by default");
  char err[256];
  cr_assert_eq(jd_config_set(&c, "metrics-listen", "127.0.0.1:9464", err, sizeof err), 0, "%s",
               err);
  cr_assert_str_eq(c.metrics_listen, "127.0.0.1:9464");
  cr_assert_eq(jd_config_set(&c, "metrics_listen", "[::1]:0", err, sizeof err), 0, "%s", err);
  cr_assert_eq(jd_config_set(&c, "metrics_listen", "", err, sizeof err), 0, "empty turns it off");
  const char *bad[] = {"9464",       "localhost:9464", "127.0.0.1:99999",
                       "127.0.0.1:", "[::1:9464",      "1.2.3.4:x"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    err[0] = '\0';
    cr_assert_eq(jd_config_set(&c, "metrics_listen", bad[i], err, sizeof err), -1, "%s", bad[i]);
    cr_assert(strstr(err, "metrics_listen"), "the error names the setting: %s", err);
  }
  char *envp[] = {"JUDGER_METRICS_LISTEN=0.0.0.0:9100", NULL};
  jd_settings_source src = {.envp = envp};
  jd_config l;
  cr_assert_eq(jd_settings_load(&l, &src, err, sizeof err), 0, "%s", err);
  cr_assert_str_eq(l.metrics_listen, "0.0.0.0:9100");
  jd_config_clear(&l);
  jd_config_clear(&c);
}
