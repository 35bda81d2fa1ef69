// test-labels: unit
/* judger/daemon/live_http.c: GET /live/<task id> on a real server on
 * 127.0.0.1:0 fed through the hub API, read by real HTTP clients (raw
 * sockets for the streams, libcurl for whole answers): 401/403/404/503,
 * history on join then live entries then the replay and the end then the
 * close, Last-Event-ID, 50 watchers get every entry, and a watcher that
 * never reads neither slows the pushes nor stays connected. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/watch_token.h"
#include "daemon/live_hub.h"
#include "daemon/metrics.h"
#include "daemon/metrics_http.h"
#include "http_client.h"
#include "support.h"

static const unsigned char KEY[] = "0123456789abcdef-test-key";
#define KEYLEN (sizeof KEY - 1)

typedef struct fixture {
  jd_live_hub *hub;
  jd_metrics *reg;
  jd_metrics_server *srv;
  int port;
} fixture;

static void start(fixture *f, int per_match, int per_host, unsigned timeout_s, size_t entries) {
  jd_live_caps caps = {.entries = entries,
                       .bytes = (size_t)8 << 20,
                       .per_match = per_match,
                       .per_host = per_host,
                       .keep_ms = 60000,
                       .per_ip = 64}; /* every client here is 127.0.0.1: 50 watchers and more */
  cr_assert_eq(jd_live_hub_new(&f->hub, &caps), 0);
  cr_assert_eq(jd_metrics_new(&f->reg), 0);
  jd_metrics_server_opts o = JD_METRICS_SERVER_OPTS_INIT;
  o.reg = f->reg;
  o.spec = "127.0.0.1:0";
  o.hub = f->hub;
  o.key = KEY;
  o.keylen = KEYLEN;
  o.timeout_s = timeout_s;
  o.ping_ms = 200;
  char err[256];
  cr_assert_eq(jd_metrics_server_start_opts(&f->srv, &o, err, sizeof err), 0, "%s", err);
  f->port = jd_metrics_server_port(f->srv);
}

static void stop(fixture *f) {
  jd_metrics_server_stop(f->srv);
  jd_live_hub_free(f->hub);
  jd_metrics_free(f->reg);
}

static void token(char out[JD_WATCH_TOKEN_HEX + 1], const char *id) {
  cr_assert_eq(jd_watch_token(out, KEY, KEYLEN, id), 0);
}

static void push(jd_live_hub *h, const char *id, int64_t seq) {
  char json[64];
  int n = snprintf(json, sizeof json, "{\"event\":\"match.frame\",\"seq\":%lld}", (long long)seq);
  jd_live_hub_push(h, id, seq, json, (size_t)n);
}

/* Waits (10 s at most) until the hub has n watchers. */
static void wait_watchers(jd_live_hub *h, int n) {
  int64_t t0 = jd_mono_ms();
  while (jd_live_hub_watchers(h) != n) {
    cr_assert_lt(jd_mono_ms() - t0, 10000, "watchers %d, want %d", jd_live_hub_watchers(h), n);
    usleep(5000);
  }
}

static long get_status(int port, const char *path, t_http_answer *a) {
  char url[512];
  snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
  t_http(a, "GET", url);
  return a->status;
}

/* ---- A raw SSE client: HTTP/1.0, the body is the event stream itself. ---- */

typedef struct sse {
  int fd;
  int status;
  char *buf;
  size_t len, cap;
  bool eof;
} sse;

/* Reads what comes within timeout_ms into c->buf; false on timeout. */
static bool sse_read(sse *c, int timeout_ms) {
  struct pollfd p = {.fd = c->fd, .events = POLLIN};
  if (poll(&p, 1, timeout_ms) <= 0)
    return false;
  if (c->cap - c->len < 65536) {
    c->cap = c->cap * 2 + 65536;
    c->buf = realloc(c->buf, c->cap);
    cr_assert(c->buf);
  }
  ssize_t n = read(c->fd, c->buf + c->len, c->cap - c->len - 1);
  if (n <= 0) {
    c->eof = true;
    return true;
  }
  c->len += (size_t)n;
  c->buf[c->len] = '\0';
  return true;
}

static int sse_connect(int port, int rcvbuf) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  cr_assert_geq(fd, 0);
  if (rcvbuf)
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0, "%s", strerror(errno));
  return fd;
}

/* Sends the request; with read_head, reads the status line and headers. */
static void sse_open(sse *c, int port, const char *path, const char *extra, bool read_head,
                     int rcvbuf) {
  memset(c, 0, sizeof *c);
  c->fd = sse_connect(port, rcvbuf);
  char req[1024];
  int n = snprintf(req, sizeof req, "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n%s\r\n", path,
                   extra ? extra : "");
  cr_assert_eq(write(c->fd, req, (size_t)n), n);
  if (!read_head)
    return;
  char *end = NULL;
  while (!(end = c->buf ? strstr(c->buf, "\r\n\r\n") : NULL)) {
    cr_assert(sse_read(c, 10000), "no answer");
    cr_assert_not(c->eof && !strstr(c->buf ? c->buf : "", "\r\n\r\n"), "closed before headers");
  }
  cr_assert_eq(sscanf(c->buf, "HTTP/1.%*d %d", &c->status), 1);
  if (c->status == 200) {
    cr_assert(strstr(c->buf, "Content-Type: text/event-stream"), "%s", c->buf);
    cr_assert(strstr(c->buf, "Cache-Control: no-store"));
    cr_assert(strstr(c->buf, "Access-Control-Allow-Origin: *"));
    cr_assert(strstr(c->buf, "X-Accel-Buffering: no"));
  }
  size_t head = (size_t)(end + 4 - c->buf);
  memmove(c->buf, end + 4, c->len - head + 1);
  c->len -= head;
}

static void sse_close(sse *c) {
  close(c->fd);
  free(c->buf);
}

typedef struct event {
  char type[32];
  long long id;
  char data[4096];
} event;

/* The next event (pings skipped), within 10 s; false at the end of the
 * stream (the server closed). */
static bool sse_event(sse *c, event *e) {
  for (;;) {
    char *end = c->buf ? strstr(c->buf, "\n\n") : NULL;
    if (end) {
      *end = '\0';
      memset(e, 0, sizeof *e);
      snprintf(e->type, sizeof e->type, "message");
      e->id = -1;
      bool any = false, had = false;
      for (char *line = c->buf, *next = NULL; line; line = next) {
        next = strchr(line, '\n');
        if (next)
          *next++ = '\0';
        if (!strncmp(line, "id: ", 4))
          e->id = atoll(line + 4), any = true;
        else if (!strncmp(line, "event: ", 7))
          snprintf(e->type, sizeof e->type, "%s", line + 7), any = true;
        else if (!strncmp(line, "data: ", 6)) {
          size_t k = strlen(e->data);
          snprintf(e->data + k, sizeof e->data - k, "%s%s", had ? "\n" : "", line + 6);
          any = had = true;
        }
      }
      size_t used = (size_t)(end + 2 - c->buf);
      memmove(c->buf, end + 2, c->len - used + 1);
      c->len -= used;
      if (any)
        return true;
      continue; /* a comment (": ping") */
    }
    if (c->eof)
      return false;
    cr_assert(sse_read(c, 10000), "no event within 10 s");
  }
}

static void expect_entry(sse *c, long long id) {
  event e;
  cr_assert(sse_event(c, &e), "stream ended, want id %lld", id);
  cr_assert_str_eq(e.type, "message");
  cr_assert_eq(e.id, id);
  char want[128];
  snprintf(want, sizeof want, "{\"event\":\"match.frame\",\"seq\":%lld}", id);
  cr_assert_str_eq(e.data, want);
}

static void expect_event(sse *c, const char *type, const char *data) {
  event e;
  cr_assert(sse_event(c, &e), "stream ended, want %s", type);
  cr_assert_str_eq(e.type, type);
  cr_assert_str_eq(e.data, data);
}

/* ---- Tests ---- */

Test(live_http, tokens_ids_and_streams_are_checked) {
  fixture f;
  start(&f, 10, 10, 10, 100);
  cr_assert_eq(jd_live_hub_open(f.hub, "t-1"), 0);
  jd_live_hub_close(f.hub, "t-1", NULL, 0);
  char tok[JD_WATCH_TOKEN_HEX + 1], other[JD_WATCH_TOKEN_HEX + 1], path[256];
  token(tok, "t-1");
  token(other, "t-2");
  t_http_answer a;
  cr_assert_eq(get_status(f.port, "/live/t-1", &a), 401, "no token");
  dk_buf_free(&a.body);
  snprintf(path, sizeof path, "/live/t-1?token=%s", other);
  cr_assert_eq(get_status(f.port, path, &a), 403, "another task's token");
  dk_buf_free(&a.body);
  cr_assert_eq(get_status(f.port, "/live/t-1?token=00", &a), 403, "short token");
  dk_buf_free(&a.body);
  char *huge = malloc(5000);
  memset(huge, 'a', 4999);
  huge[4999] = '\0';
  char *hp = NULL;
  cr_assert(asprintf(&hp, "/live/t-1?token=%s", huge) > 0);
  cr_assert_eq(get_status(f.port, hp, &a), 403, "huge token");
  dk_buf_free(&a.body);
  free(hp);
  free(huge);
  snprintf(path, sizeof path, "/live/t-2?token=%s", other);
  cr_assert_eq(get_status(f.port, path, &a), 404, "no such stream");
  dk_buf_free(&a.body);
  cr_assert_eq(get_status(f.port, "/live/..%2Fetc?token=x", &a), 404, "a bad id");
  dk_buf_free(&a.body);
  cr_assert_eq(get_status(f.port, "/live/", &a), 404, "no id");
  dk_buf_free(&a.body);
  snprintf(path, sizeof path, "/live/t-1?token=%s", tok);
  cr_assert_eq(get_status(f.port, path, &a), 200, "the right token");
  cr_assert_str_eq(a.type, "text/event-stream; charset=utf-8");
  cr_assert_str_eq(a.body.data, "event: end\ndata: {}\n\n");
  dk_buf_free(&a.body);
  cr_assert_eq(get_status(f.port, "/metrics", &a), 200, "/metrics still served");
  dk_buf_free(&a.body);
  char url[512];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/live/t-1", f.port);
  t_http(&a, "OPTIONS", url);
  cr_assert_eq(a.status, 204, "a CORS preflight");
  dk_buf_free(&a.body);
  t_http(&a, "POST", url);
  cr_assert_eq(a.status, 405);
  cr_assert_str_eq(a.allow, "GET, OPTIONS");
  dk_buf_free(&a.body);
  /* The bearer header works as the query does. */
  char hdr[128];
  snprintf(hdr, sizeof hdr, "Authorization: Bearer %s\r\n", tok);
  sse c;
  sse_open(&c, f.port, "/live/t-1", hdr, true, 0);
  cr_assert_eq(c.status, 200);
  expect_event(&c, "end", "{}");
  sse_close(&c);
  stop(&f);
}

Test(live_http, no_key_or_no_hub_is_404) {
  jd_metrics *reg = NULL;
  cr_assert_eq(jd_metrics_new(&reg), 0);
  jd_live_caps caps = {.entries = 10, .bytes = 1000, .per_match = 1, .per_host = 1};
  jd_live_hub *hub = NULL;
  cr_assert_eq(jd_live_hub_new(&hub, &caps), 0);
  cr_assert_eq(jd_live_hub_open(hub, "t"), 0);
  char tok[JD_WATCH_TOKEN_HEX + 1], path[256], err[256];
  token(tok, "t");
  snprintf(path, sizeof path, "/live/t?token=%s", tok);
  jd_metrics_server *s = NULL;
  cr_assert_eq(jd_metrics_server_start_live(&s, reg, "127.0.0.1:0", hub, KEY, 0, err, sizeof err),
               0, "%s", err);
  t_http_answer a;
  cr_assert_eq(get_status(jd_metrics_server_port(s), path, &a), 404, "no key");
  dk_buf_free(&a.body);
  jd_metrics_server_stop(s);
  cr_assert_eq(jd_metrics_server_start(&s, reg, "127.0.0.1:0", err, sizeof err), 0, "%s", err);
  cr_assert_eq(get_status(jd_metrics_server_port(s), path, &a), 404, "no hub");
  dk_buf_free(&a.body);
  jd_metrics_server_stop(s);
  jd_live_hub_free(hub);
  jd_metrics_free(reg);
}

Test(live_http, history_then_live_then_replay_end_and_close) {
  fixture f;
  start(&f, 10, 10, 10, 100);
  cr_assert_eq(jd_live_hub_open(f.hub, "m1"), 0);
  push(f.hub, "m1", 1);
  push(f.hub, "m1", 2);
  char tok[JD_WATCH_TOKEN_HEX + 1], path[256];
  token(tok, "m1");
  snprintf(path, sizeof path, "/live/m1?token=%s", tok);
  sse c;
  sse_open(&c, f.port, path, NULL, true, 0);
  cr_assert_eq(c.status, 200);
  expect_entry(&c, 1);
  expect_entry(&c, 2);
  push(f.hub, "m1", 3);
  expect_entry(&c, 3);
  /* A replay on several lines (CRLF, LF) arrives whole. */
  const char *replay = "{\"frames\":\r\n[1,2]\n}";
  jd_live_hub_close(f.hub, "m1", replay, strlen(replay));
  expect_event(&c, "replay", "{\"frames\":\n[1,2]\n}");
  expect_event(&c, "end", "{}");
  event e;
  cr_assert_not(sse_event(&c, &e), "the server closes after the end");
  sse_close(&c);
  wait_watchers(f.hub, 0);
  stop(&f);
}

Test(live_http, last_event_id_resumes_after_it) {
  fixture f;
  start(&f, 10, 10, 10, 100);
  cr_assert_eq(jd_live_hub_open(f.hub, "m"), 0);
  for (int i = 1; i <= 5; i++)
    push(f.hub, "m", i);
  char tok[JD_WATCH_TOKEN_HEX + 1], path[256];
  token(tok, "m");
  snprintf(path, sizeof path, "/live/m?token=%s", tok);
  sse c;
  sse_open(&c, f.port, path, "Last-Event-ID: 3\r\n", true, 0);
  cr_assert_eq(c.status, 200);
  expect_entry(&c, 4);
  expect_entry(&c, 5);
  push(f.hub, "m", 6);
  expect_entry(&c, 6);
  sse_close(&c);
  wait_watchers(f.hub, 0);
  stop(&f);
}

Test(live_http, watcher_caps_answer_503) {
  fixture f;
  start(&f, 2, 3, 10, 100);
  cr_assert_eq(jd_live_hub_open(f.hub, "a"), 0);
  cr_assert_eq(jd_live_hub_open(f.hub, "b"), 0);
  char ta[JD_WATCH_TOKEN_HEX + 1], tb[JD_WATCH_TOKEN_HEX + 1], pa[256], pb[256];
  token(ta, "a");
  token(tb, "b");
  snprintf(pa, sizeof pa, "/live/a?token=%s", ta);
  snprintf(pb, sizeof pb, "/live/b?token=%s", tb);
  sse c[3];
  sse_open(&c[0], f.port, pa, NULL, true, 0);
  sse_open(&c[1], f.port, pa, NULL, true, 0);
  t_http_answer a;
  cr_assert_eq(get_status(f.port, pa, &a), 503, "per match");
  dk_buf_free(&a.body);
  sse_open(&c[2], f.port, pb, NULL, true, 0);
  cr_assert_eq(get_status(f.port, pb, &a), 503, "per host");
  dk_buf_free(&a.body);
  for (int i = 0; i < 3; i++) {
    cr_assert_eq(c[i].status, 200);
    sse_close(&c[i]);
  }
  wait_watchers(f.hub, 0);
  cr_assert_eq(get_status(f.port, "/metrics", &a), 200);
  dk_buf_free(&a.body);
  stop(&f);
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

#define MANY 50
#define MANY_ENTRIES 300

typedef struct reader_arg {
  sse *c;
  int got;
  bool in_order, ended;
} reader_arg;

static void *read_all(void *p) {
  reader_arg *r = p;
  event e;
  r->in_order = true;
  while (sse_event(r->c, &e)) {
    if (!strcmp(e.type, "end")) {
      r->ended = true;
      continue;
    }
    if (strcmp(e.type, "message") || e.id != r->got + 1)
      r->in_order = false;
    r->got++;
  }
  return NULL;
}

Test(live_http, fifty_watchers_get_every_entry, .timeout = 60) {
  fixture f;
  start(&f, 100, 100, 10, 2000);
  cr_assert_eq(jd_live_hub_open(f.hub, "big"), 0);
  char tok[JD_WATCH_TOKEN_HEX + 1], path[256];
  token(tok, "big");
  snprintf(path, sizeof path, "/live/big?token=%s", tok);
  sse c[MANY];
  reader_arg r[MANY];
  pthread_t th[MANY];
  for (int i = 0; i < MANY; i++) {
    sse_open(&c[i], f.port, path, NULL, true, 0);
    cr_assert_eq(c[i].status, 200);
    r[i] = (reader_arg){.c = &c[i]};
    cr_assert_eq(pthread_create(&th[i], NULL, read_all, &r[i]), 0);
  }
  wait_watchers(f.hub, MANY);
  int64_t lat[MANY_ENTRIES];
  for (int s = 1; s <= MANY_ENTRIES; s++) {
    int64_t t0 = jd_mono_ns();
    push(f.hub, "big", s);
    lat[s - 1] = jd_mono_ns() - t0;
  }
  jd_live_hub_close(f.hub, "big", NULL, 0);
  for (int i = 0; i < MANY; i++) {
    pthread_join(th[i], NULL);
    cr_assert_eq(r[i].got, MANY_ENTRIES, "watcher %d got %d", i, r[i].got);
    cr_assert(r[i].in_order && r[i].ended, "watcher %d", i);
    sse_close(&c[i]);
  }
  qsort(lat, MANY_ENTRIES, sizeof *lat, cmp_i64);
  fprintf(stderr,
          "live_http: %d watchers, %d entries: push median %.1f us, p99 %.1f us, max %.1f us\n",
          MANY, MANY_ENTRIES, lat[MANY_ENTRIES / 2] / 1e3, lat[MANY_ENTRIES * 99 / 100] / 1e3,
          lat[MANY_ENTRIES - 1] / 1e3);
  wait_watchers(f.hub, 0);
  stop(&f);
}

#define STUCK_PUSHES 3000
#define STUCK_ENTRY 4096

Test(live_http, a_watcher_that_never_reads_slows_nothing_and_is_closed, .timeout = 60) {
  fixture f;
  start(&f, 10, 10, 1, 2000); /* a 1 s connection timeout */
  cr_assert_eq(jd_live_hub_open(f.hub, "s"), 0);
  char tok[JD_WATCH_TOKEN_HEX + 1], path[256];
  token(tok, "s");
  snprintf(path, sizeof path, "/live/s?token=%s", tok);
  sse stuck;
  sse_open(&stuck, f.port, path, NULL, false, 4096); /* never reads a byte */
  wait_watchers(f.hub, 1);
  char *json = malloc(STUCK_ENTRY);
  memset(json, 'x', STUCK_ENTRY);
  memcpy(json, "{\"x\":\"", 6);
  memcpy(json + STUCK_ENTRY - 2, "\"}", 2);
  int64_t *lat = malloc(STUCK_PUSHES * sizeof *lat);
  for (int i = 0; i < STUCK_PUSHES; i++) {
    int64_t t0 = jd_mono_ns();
    jd_live_hub_push(f.hub, "s", i + 1, json, STUCK_ENTRY);
    lat[i] = jd_mono_ns() - t0;
  }
  qsort(lat, STUCK_PUSHES, sizeof *lat, cmp_i64);
  int64_t med = lat[STUCK_PUSHES / 2], p99 = lat[STUCK_PUSHES * 99 / 100],
          max = lat[STUCK_PUSHES - 1];
  fprintf(stderr,
          "live_http: stuck watcher, %d pushes of %d B: median %.1f us, p99 %.1f us, "
          "max %.1f us\n",
          STUCK_PUSHES, STUCK_ENTRY, med / 1e3, p99 / 1e3, max / 1e3);
  cr_assert_lt(p99, 5000000, "p99 push %lld ns", (long long)p99);
  /* It is disconnected (lagged or timed out) while still connected itself. */
  int64_t t0 = jd_mono_ms();
  wait_watchers(f.hub, 0);
  fprintf(stderr, "live_http: the stuck watcher was closed %lld ms after the pushes\n",
          (long long)(jd_mono_ms() - t0));
  sse_close(&stuck);
  free(lat);
  free(json);
  stop(&f);
}

Test(live_http, stopping_the_server_ends_the_watchers_at_once) {
  fixture f;
  start(&f, 10, 10, 10, 100);
  jd_metrics_server_stop(f.srv); /* a server with the default ping instead */
  f.srv = NULL;
  jd_metrics_server *s = NULL;
  char err[256];
  cr_assert_eq(
      jd_metrics_server_start_live(&s, f.reg, "127.0.0.1:0", f.hub, KEY, KEYLEN, err, sizeof err),
      0, "%s", err);
  cr_assert_eq(jd_live_hub_open(f.hub, "q"), 0);
  char tok[JD_WATCH_TOKEN_HEX + 1], path[256];
  token(tok, "q");
  snprintf(path, sizeof path, "/live/q?token=%s", tok);
  sse c;
  sse_open(&c, jd_metrics_server_port(s), path, NULL, true, 0);
  cr_assert_eq(c.status, 200);
  wait_watchers(f.hub, 1);
  int64_t t0 = jd_mono_ms();
  jd_metrics_server_stop(s); /* the default ping is 5 s: the stop must not wait for it */
  cr_assert_lt(jd_mono_ms() - t0, 2000, "stop took %lld ms", (long long)(jd_mono_ms() - t0));
  cr_assert_eq(jd_live_hub_watchers(f.hub), 0);
  sse_close(&c);
  stop(&f);
}

Test(live_http, a_stuck_watcher_that_is_not_behind_is_closed_by_the_timeout, .timeout = 60) {
  fixture f;
  start(&f, 10, 10, 1, 2000); /* 1 s; 1500 x 4 KiB stay in the ring */
  cr_assert_eq(jd_live_hub_open(f.hub, "s"), 0);
  char tok[JD_WATCH_TOKEN_HEX + 1], path[256];
  token(tok, "s");
  snprintf(path, sizeof path, "/live/s?token=%s", tok);
  sse stuck;
  sse_open(&stuck, f.port, path, NULL, false, 4096);
  wait_watchers(f.hub, 1);
  char *json = malloc(STUCK_ENTRY);
  memset(json, 'x', STUCK_ENTRY);
  for (int i = 0; i < 1500; i++)
    jd_live_hub_push(f.hub, "s", i + 1, json, STUCK_ENTRY);
  int64_t t0 = jd_mono_ms();
  wait_watchers(f.hub, 0);
  jd_live_hub_stats st;
  jd_live_hub_stats_get(&st, f.hub);
  cr_assert_eq(st.dropped, 0);
  cr_assert_eq(st.lagged, 0, "closed by the timeout, not as lagged");
  fprintf(stderr, "live_http: a stuck watcher was closed by the timeout after %lld ms\n",
          (long long)(jd_mono_ms() - t0));
  sse_close(&stuck);
  free(json);
  stop(&f);
}

Test(live_http, a_quiet_stream_is_kept_alive_by_pings) {
  fixture f;
  start(&f, 10, 10, 1, 100); /* a 1 s timeout, pings every 200 ms */
  cr_assert_eq(jd_live_hub_open(f.hub, "quiet"), 0);
  char tok[JD_WATCH_TOKEN_HEX + 1], path[256];
  token(tok, "quiet");
  snprintf(path, sizeof path, "/live/quiet?token=%s", tok);
  sse c;
  sse_open(&c, f.port, path, NULL, true, 0);
  cr_assert_eq(c.status, 200);
  int64_t t0 = jd_mono_ms();
  while (jd_mono_ms() - t0 < 2500) { /* 2.5 timeouts of silence but for the pings */
    cr_assert(sse_read(&c, 2000), "nothing for 2 s: no ping");
    cr_assert_not(c.eof, "closed while quiet");
  }
  cr_assert(strstr(c.buf, ": ping\n\n"), "%s", c.buf);
  push(f.hub, "quiet", 1);
  expect_entry(&c, 1);
  sse_close(&c);
  wait_watchers(f.hub, 0);
  stop(&f);
}
