// test-labels: engine redis
/* Live watching end to end (docs/queue.md "Live streams"): the real
 * `judger daemon` (as the least-privileged Redis user) runs real matches
 * whose game logic sends frames (tests/judger/programs/live_game). Its
 * Redis stream holds live.begin, every event with its seq, the frames and
 * match.done, trimmed to the cap, with a TTL <= live_ttl_ms once the result
 * is out; GET /live/<task>?token=... on the metrics port streams the same
 * match as Server-Sent Events (history, replay, end); the metrics count
 * it. Huge progress lines stay out of both (the entry cap) and the stream's
 * memory stays near live_max_bytes. A watch key that cannot be read stops
 * the daemon's start. */
#include <curl/curl.h>
#include <json-c/json.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/tmpfile.h"
#include "common/util.h"
#include "common/watch_token.h"
#include "daemon/daemon.h"
#include "daemon_proc.h"
#include "http_client.h"
#include "queue/live.h"
#include "queue/queue.h"
#include "redis_server.h"
#include "support.h"

#define KEY "0123456789abcdef0123456789abcdef"
#define TTL_MS 60000

static t_redis *srv;
static char acl_url[128];

static void up(void) {
  srv = t_redis_start(false, false);
  t_redis_acl_user(srv, "judger-q", "q-s3cret");
  snprintf(acl_url, sizeof acl_url, "redis://judger-q:q-s3cret@127.0.0.1:%d/0", srv->port);
}
static void down(void) { t_redis_stop(srv); }

/* The port the daemon's log says /metrics is on; fails after timeout_ms. */
static int metrics_port(const t_proc *p, int timeout_ms) {
  for (int64_t until = jd_mono_ms() + timeout_ms; jd_mono_ms() < until; usleep(50000)) {
    char *log = NULL;
    int port = 0;
    if (jd_read_file(&log, NULL, p->log, 16u << 20) == 0) {
      const char *at = strstr(log, "metrics.listen");
      const char *num = at ? strstr(at, "(port ") : NULL;
      port = num ? atoi(num + 6) : 0;
    }
    free(log);
    if (port > 0)
      return port;
  }
  cr_assert_fail("the daemon never served /metrics (log %s)", p->log);
  return 0;
}

static void submit(jd_queue *q, const char *id, int frames, int pause_ms) {
  char json[2048];
  snprintf(json, sizeof json,
           "{\"id\":\"%s\",\"type\":\"match\",\"match\":{\"id\":\"%s\",\"game_logic\":{\"id\":"
           "\"lgame\",\"image\":\"" T_BUSYBOX_IMAGE "\",\"dir\":\"%s/tests/judger/programs/"
           "live_game\",\"cmd\":[\"sh\",\"/app/main.sh\"]},\"players\":[{\"id\":\"idle\","
           "\"image\":\"" T_BUSYBOX_IMAGE "\",\"cmd\":[\"true\"]}],\"config\":{\"frames\":%d,"
           "\"pause_ms\":%d}}}",
           id, id, JD_SOURCE_DIR, frames, pause_ms);
  cr_assert_eq(jd_queue_submit(NULL, q, JD_PRIO_MATCH, id, json), 0, "%s", jd_queue_error(q));
}

/* A command as the default user: its integer answer. */
static long long cmd_int(const char *fmt, const char *arg) {
  jd_redis *r = NULL;
  cr_assert_eq(jd_redis_new(&r, srv->url, NULL), 0);
  redisReply *rep = NULL;
  cr_assert_eq(jd_redis_command(&rep, r, fmt, arg), 0, "%s", jd_redis_error(r));
  long long n = -1;
  cr_assert_eq(jd_reply_int(rep, &n), 0);
  freeReplyObject(rep);
  jd_redis_free(r);
  return n;
}

/* The task's stream once its last entry is match.done (the pusher is
 * behind the result by a round trip at most). */
static void wait_done_stream(jd_live_entries *e, jd_queue *q, const char *id, const t_proc *p) {
  for (int64_t until = jd_mono_ms() + 10000;; usleep(50000)) {
    cr_assert_eq(jd_queue_live_read(e, q, id, "0", 1000, -1), 0, "%s", jd_queue_error(q));
    if (e->n && strstr(e->v[e->n - 1].json, "\"match.done\""))
      return;
    cr_assert(jd_mono_ms() < until, "no match.done in %s's stream (%zu entries; log %s)", id, e->n,
              p->log);
    jd_live_entries_free(e);
  }
}

/* The stream's TTL once the end's expiry is set: match.done is pushed while
 * the match's (longer) expiry holds, and the end's batch follows it after the
 * result is written, so wait for it rather than read it once. */
static long long wait_end_ttl(const char *id) {
  for (int64_t until = jd_mono_ms() + 10000;; usleep(50000)) {
    long long ttl = cmd_int("PTTL judger:live:%s", id);
    if (ttl > 0 && ttl <= TTL_MS)
      return ttl;
    cr_assert(jd_mono_ms() < until, "after the result, TTL <= live_ttl_ms (%lld)", ttl);
  }
}

/* The "seq" of an entry's JSON; -1 when it has none. */
static long long seq_of(const char *json) {
  const char *s = strstr(json, "\"seq\":");
  return s ? atoll(s + 6) : -1;
}

/* ---- the SSE stream: libcurl with a long timeout, the whole body ---- */

typedef struct sse {
  long status;
  char *body;
  size_t len;
} sse;

static size_t on_data(char *ptr, size_t size, size_t n, void *ud) {
  sse *s = ud;
  size_t add = size * n;
  char *b = realloc(s->body, s->len + add + 1);
  cr_assert_not_null(b);
  memcpy(b + s->len, ptr, add);
  s->len += add;
  b[s->len] = '\0';
  s->body = b;
  return add;
}

static void sse_get(sse *s, const char *url, long timeout_ms) {
  memset(s, 0, sizeof *s);
  CURL *c = curl_easy_init();
  cr_assert_not_null(c);
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, s);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
  CURLcode rc = curl_easy_perform(c);
  cr_assert_eq(rc, CURLE_OK, "GET %s: %s", url, curl_easy_strerror(rc));
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &s->status);
  curl_easy_cleanup(c);
  if (!s->body)
    s->body = strdup("");
}

/* Joins the task's stream as soon as it exists (404 before the attempt
 * begins) and reads it to its end. */
static void watch_live(sse *s, int port, const char *id, const unsigned char *key) {
  char token[JD_WATCH_TOKEN_HEX + 1], url[300];
  cr_assert_eq(jd_watch_token(token, key, strlen((const char *)key), id), 0);
  snprintf(url, sizeof url, "http://127.0.0.1:%d/live/%s?token=%s", port, id, token);
  for (int64_t until = jd_mono_ms() + 90000;; usleep(20000)) {
    sse_get(s, url, 120000);
    if (s->status != 404)
      return;
    cr_assert(jd_mono_ms() < until, "the stream of %s never opened", id);
    free(s->body);
  }
}

/* The SSE ids of a body are 1, 2, 3... with no gap; *n of them. */
static void assert_ids_contiguous(const char *body, long long *n) {
  long long want = 1;
  for (const char *line = body; line && *line;) {
    if (!strncmp(line, "id: ", 4)) {
      cr_assert_eq(atoll(line + 4), want, "SSE ids in order without a gap (at %.60s)", line);
      want++;
    }
    const char *nl = strchr(line, '\n');
    line = nl ? nl + 1 : NULL;
  }
  *n = want - 1;
}

static void check_sse(const sse *s, const char *id, int frames) {
  cr_assert_eq(s->status, 200, "GET /live/%s: %ld %s", id, s->status, s->body);
  long long n = 0;
  assert_ids_contiguous(s->body, &n);
  cr_assert(n >= frames + 4, "every entry of %s, from its first (%lld)", id, n);
  cr_assert(strstr(s->body, "\"event\":\"match.frame\""), "%s", s->body);
  char last[64];
  snprintf(last, sizeof last, "\"data\":{\"turn\":%d}", frames);
  cr_assert(strstr(s->body, last), "the last frame (%s)", last);
  cr_assert(strstr(s->body, "\"event\":\"match.done\""));
  char replay[64];
  snprintf(replay, sizeof replay, "event: replay\ndata: {\"frames\":%d}", frames);
  const char *r = strstr(s->body, replay);
  cr_assert(r, "the replay comes at the end: %s", s->body + (s->len > 400 ? s->len - 400 : 0));
  cr_assert(strstr(r, "event: end\ndata: {}\n\n"), "then the end");
}

/* The Redis stream of a match with fewer entries than the cap: all of them. */
static void check_whole_stream(jd_queue *q, const char *id, int frames, const t_proc *p) {
  jd_live_entries e = {0};
  wait_done_stream(&e, q, id, p);
  char begin[128];
  snprintf(begin, sizeof begin, "{\"event\":\"live.begin\",\"task_id\":\"%s\",\"attempt\":1}", id);
  cr_assert_str_eq(e.v[0].json, begin);
  long long prev = 0;
  int nframes = 0;
  for (size_t i = 1; i < e.n; i++) {
    long long seq = seq_of(e.v[i].json);
    cr_assert_eq(seq, prev + 1, "every event with its seq, in order: %s", e.v[i].json);
    prev = seq;
    nframes += strstr(e.v[i].json, "\"event\":\"match.frame\"") != NULL;
    cr_assert_null(strstr(e.v[i].json, "\"program.build\""), "no build lines");
  }
  cr_assert_eq(nframes, frames);
  jd_live_entries_free(&e);
  wait_end_ttl(id);
}

/* The Redis stream of a match with more entries than the cap (32). */
static void check_trimmed_stream(jd_queue *q, const char *id, const t_proc *p) {
  jd_live_entries e = {0};
  wait_done_stream(&e, q, id, p);
  cr_assert_eq(e.n, 32, "trimmed to live_entries (%zu)", e.n);
  cr_assert_eq(cmd_int("XLEN judger:live:%s", id), 32);
  for (size_t i = 1; i < e.n; i++)
    cr_assert_eq(seq_of(e.v[i].json), seq_of(e.v[i - 1].json) + 1, "the latest, in order");
  jd_live_entries_free(&e);
  wait_end_ttl(id);
}

static void check_refusals(int port, const char *id) {
  char url[300];
  t_http_answer a;
  snprintf(url, sizeof url, "http://127.0.0.1:%d/live/%s", port, id);
  cr_assert_eq(t_http(&a, "GET", url), 0);
  cr_assert_eq(a.status, 401, "no token: %ld", a.status);
  dk_buf_free(&a.body);
  snprintf(url, sizeof url, "http://127.0.0.1:%d/live/%s?token=%064d", port, id, 0);
  cr_assert_eq(t_http(&a, "GET", url), 0);
  cr_assert_eq(a.status, 403, "a wrong token: %ld", a.status);
  dk_buf_free(&a.body);
}

/* A metric's value in the daemon's /metrics; -1 when absent. */
static double metric(int port, const char *name) {
  char url[128];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/metrics", port);
  t_http_answer a;
  cr_assert_eq(t_http(&a, "GET", url), 0);
  char pat[128];
  snprintf(pat, sizeof pat, "\n%s ", name);
  const char *at = strstr(a.body.data, pat);
  double v = at ? atof(at + strlen(pat)) : -1;
  dk_buf_free(&a.body);
  return v;
}

Test(live_daemon, redis_stream_and_sse_of_a_real_match, .init = up, .fini = down, .timeout = 400) {
  dk_client *c = t_client();
  t_busybox_image(c);
  char *host = t_unique("jdm-live"), *state = t_tmpdir("dstate-live");
  char keyfile[600], extra[1024];
  snprintf(keyfile, sizeof keyfile, "%s/watch.key", state);
  cr_assert_eq(jd_write_file(keyfile, KEY "\n", strlen(KEY) + 1), 0);
  cr_assert_eq(chmod(keyfile, 0600), 0); /* a key readable by others is refused */
  snprintf(extra, sizeof extra,
           "--metrics-listen 127.0.0.1:0 --watch-key-file %s --live-entries 32 --live-ttl-ms %d",
           keyfile, TTL_MS);
  t_proc *p = t_daemon_spawn(acl_url, host, state, extra);
  int port = metrics_port(p, 20000);
  jd_queue *q = t_queue_client(srv->url);
  /* A small match, watched from its start: 5 frames 200 ms apart. */
  submit(q, "live-small", 5, 200);
  sse s;
  watch_live(&s, port, "live-small", (const unsigned char *)KEY);
  check_sse(&s, "live-small", 5);
  free(s.body);
  free(t_wait_result(q, "live-small", 60000, p->log));
  check_whole_stream(q, "live-small", 5, p);
  check_refusals(port, "live-small");
  /* A longer one: its Redis stream keeps the latest 32 entries. Fewer than
   * the pusher's backlog holds (4 x 32): none is dropped however fast the
   * frames come. */
  submit(q, "live-big", 80, 0);
  free(t_wait_result(q, "live-big", 90000, p->log));
  check_trimmed_stream(q, "live-big", p);
  cr_assert_gt(metric(port, "judger_live_entries_total"), 80);
  cr_assert_eq(metric(port, "judger_live_dropped_total"), 0);
  cr_assert_eq(metric(port, "judger_live_watchers"), 0);
  kill(p->pid, SIGTERM);
  cr_assert_eq(t_proc_wait(p, 20000), 0, "log %s", p->log);
  t_proc_free(p);
  t_cleanup_host(c, host);
  jd_queue_free(q);
  t_rmdir(state);
  free(host);
  dk_client_free(c);
}

/* A match whose game logic sends progress lines of about 56 KiB (control
 * bytes, which escaping grows to about 110 KiB) between frames of about
 * 7.9 KiB: its Redis stream stays near live_max_bytes (256 KiB here: 24
 * entries), the progress lines reach neither Redis nor the HTTP watchers
 * (dropped, counted), and the match ends as usual. */
Test(live_daemon, huge_progress_lines_stay_out_of_the_stream, .init = up, .fini = down,
     .timeout = 300) {
  dk_client *c = t_client();
  t_busybox_image(c);
  char *host = t_unique("jdm-livecap"), *state = t_tmpdir("dstate-livecap");
  char keyfile[600], extra[1024], json[2048];
  snprintf(keyfile, sizeof keyfile, "%s/watch.key", state);
  cr_assert_eq(jd_write_file(keyfile, KEY "\n", strlen(KEY) + 1), 0);
  cr_assert_eq(chmod(keyfile, 0600), 0); /* a key readable by others is refused */
  snprintf(extra, sizeof extra,
           "--metrics-listen 127.0.0.1:0 --watch-key-file %s --live-max-bytes 262144 "
           "--live-ttl-ms %d",
           keyfile, TTL_MS);
  t_proc *p = t_daemon_spawn(acl_url, host, state, extra);
  int port = metrics_port(p, 20000);
  jd_queue *q = t_queue_client(srv->url);
  const char *id = "live-cap";
  snprintf(json, sizeof json,
           "{\"id\":\"%s\",\"type\":\"match\",\"match\":{\"id\":\"%s\",\"game_logic\":{\"id\":"
           "\"lflood\",\"image\":\"" T_BUSYBOX_IMAGE "\",\"dir\":\"%s/tests/judger/programs/"
           "live_flood\",\"cmd\":[\"sh\",\"/app/main.sh\"]},\"players\":[{\"id\":\"idle\","
           "\"image\":\"" T_BUSYBOX_IMAGE "\",\"cmd\":[\"true\"]}],\"config\":{\"rounds\":60}}}",
           id, id, JD_SOURCE_DIR);
  cr_assert_eq(jd_queue_submit(NULL, q, JD_PRIO_MATCH, id, json), 0, "%s", jd_queue_error(q));
  sse s;
  watch_live(&s, port, id, (const unsigned char *)KEY);
  cr_assert_eq(s.status, 200);
  cr_assert_null(strstr(s.body, "match.progress"), "no progress line over the cap for HTTP");
  cr_assert(strstr(s.body, "\"turn\":60,"), "the frames are all there");
  free(s.body);
  char *res = t_wait_result(q, id, 120000, p->log);
  cr_assert(strstr(res, "\"status\":\"finished\""), "the match ends as usual: %.400s", res);
  free(res);
  jd_live_entries e = {0};
  wait_done_stream(&e, q, id, p);
  char key[128];
  snprintf(key, sizeof key, "judger:live:%s", id);
  long long mem = cmd_int("MEMORY USAGE %s SAMPLES 0", key);
  double dropped = metric(port, "judger_live_dropped_total");
  fprintf(stderr, "live entry cap: MEMORY USAGE %lld bytes (live_max_bytes 262144), %.0f dropped\n",
          mem, dropped);
  cr_assert(mem > 0 && mem <= 262144 * 3 / 2, "MEMORY USAGE %lld of a 256 KiB stream", mem);
  cr_assert_geq(dropped, 60, "the progress lines, counted");
  cr_assert_eq(e.n, 24, "maxlen: 256 KiB / 5/4 (8192 + 512) (%zu)", e.n);
  for (size_t i = 0; i < e.n; i++)
    cr_assert_null(strstr(e.v[i].json, "match.progress"), "%.200s", e.v[i].json);
  jd_live_entries_free(&e);
  kill(p->pid, SIGTERM);
  cr_assert_eq(t_proc_wait(p, 20000), 0, "log %s", p->log);
  t_proc_free(p);
  t_cleanup_host(c, host);
  jd_queue_free(q);
  t_rmdir(state);
  free(host);
  dk_client_free(c);
}

Test(live_daemon, an_unreadable_watch_key_stops_the_start, .init = up, .fini = down,
     .timeout = 60) {
  char *host = t_unique("jdm-livekey"), *state = t_tmpdir("dstate-livekey");
  char extra[700], *log = NULL;
  snprintf(extra, sizeof extra, "--watch-key-file %s/missing.key", state);
  t_proc *p = t_daemon_spawn(acl_url, host, state, extra);
  int rc = t_proc_wait(p, 30000);
  cr_assert(rc > 0 && rc < 128, "the daemon must exit with an error (%d)", rc);
  cr_assert_eq(jd_read_file(&log, NULL, p->log, 1 << 20), 0);
  cr_assert(strstr(log, "watch_key_file"), "the error names the setting: %s", log);
  free(log);
  t_proc_free(p);
  t_rmdir(state);
  free(host);
}

/* ---- retries: a fake executor in this process (no engine) ---- */

static void emit(const jd_exec_env *env, jd_match_event_type type, int64_t seq, const char *json) {
  jd_match_event ev = {.type = type, .match_id = "m", .elapsed_ms = seq, .seq = seq, .ai = -1};
  if (type == JD_EVENT_MATCH_FRAME)
    ev.frame.json = json;
  else if (type == JD_EVENT_PROGRAM_BUILD)
    ev.build.program = "ai-x", ev.build.line = "step 1";
  else if (type == JD_EVENT_MATCH_DONE)
    ev.done.status = JD_MATCH_STATUS_FINISHED;
  env->event(env->ud, &ev);
}

/* Attempt 1: a build line and two frames, then a system fault (retried).
 * Attempt 2: a frame and match.done, its replay.json, finished. */
static int retry_execute(void *self, const jd_task *t, void *prepared, const jd_exec_env *env,
                         jd_exec_result *res) {
  (void)self, (void)t, (void)prepared;
  if (env->attempt == 1) {
    emit(env, JD_EVENT_PROGRAM_BUILD, 1, NULL);
    emit(env, JD_EVENT_MATCH_FRAME, 2, "{\"try\":1}");
    emit(env, JD_EVENT_MATCH_FRAME, 3, "{\"try\":1}");
    res->reason = strdup("engine unreachable (fake)");
    return JD_EXEC_RETRY;
  }
  emit(env, JD_EVENT_MATCH_FRAME, 1, "{\"try\":2}");
  emit(env, JD_EVENT_MATCH_DONE, 2, NULL);
  char path[600];
  snprintf(path, sizeof path, "%s/replay.json", env->out_dir);
  cr_assert_eq(jd_write_file(path, "{\"r\":2}", 7), 0);
  res->status = JD_TASK_STATUS_FINISHED;
  res->result = json_object_new_object();
  return JD_EXEC_DONE;
}

static void *run_thread(void *arg) {
  jd_daemon_run(arg);
  return NULL;
}

Test(live_daemon, a_retried_attempt_starts_the_stream_over, .init = up, .fini = down,
     .timeout = 60) {
  char *state = t_tmpdir("dstate-liveretry"), keyfile[600], err[256];
  snprintf(keyfile, sizeof keyfile, "%s/watch.key", state);
  cr_assert_eq(jd_write_file(keyfile, KEY, strlen(KEY)), 0);
  cr_assert_eq(chmod(keyfile, 0600), 0); /* a key readable by others is refused */
  jd_config c;
  cr_assert_eq(jd_config_defaults(&c), 0);
  const char *kv[][2] = {{"redis", acl_url},          {"host_id", "liveretry"},
                         {"lease_ms", "400"},         {"max_attempts", "2"},
                         {"state_dir", state},        {"block_ms", "100"},
                         {"log_level", "error"},      {"metrics_listen", "127.0.0.1:0"},
                         {"watch_key_file", keyfile}, {"live_ttl_ms", "60000"}};
  for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++)
    cr_assert_eq(jd_config_set(&c, kv[i][0], kv[i][1], err, sizeof err), 0, "%s", err);
  jd_executor ex = {.execute = retry_execute};
  jd_daemon *d = NULL;
  cr_assert_eq(jd_daemon_new(&d, &c, NULL, &ex), 0);
  jd_config_clear(&c);
  pthread_t th;
  pthread_create(&th, NULL, run_thread, d);
  t_daemon_wait_ready(d, "liveretry");
  jd_queue *q = t_queue_client(srv->url);
  cr_assert_eq(jd_queue_submit(NULL, q, JD_PRIO_MATCH, "retry-1",
                               "{\"id\":\"retry-1\",\"type\":\"match\",\"match\":{}}"),
               0);
  free(t_wait_result(q, "retry-1", 30000, "(in process)"));
  jd_live_entries e = {0};
  t_proc fake = {.log = "(in process)"};
  wait_done_stream(&e, q, "retry-1", &fake);
  cr_assert_eq(e.n, 3, "live.begin and attempt 2's events only (%zu)", e.n);
  cr_assert_str_eq(e.v[0].json, "{\"event\":\"live.begin\",\"task_id\":\"retry-1\",\"attempt\":2}");
  cr_assert(strstr(e.v[1].json, "\"data\":{\"try\":2}"), "%s", e.v[1].json);
  jd_live_entries_free(&e);
  wait_end_ttl("retry-1");
  /* Joined after the end: attempt 2's history, its replay, the end. */
  sse s;
  watch_live(&s, jd_daemon_metrics_port(d), "retry-1", (const unsigned char *)KEY);
  cr_assert_eq(s.status, 200);
  cr_assert(strstr(s.body, "id: 1\ndata: "), "%s", s.body);
  cr_assert_null(strstr(s.body, "\"try\":1"), "nothing of attempt 1: %s", s.body);
  cr_assert_null(strstr(s.body, "program.build"), "%s", s.body);
  cr_assert(strstr(s.body, "event: replay\ndata: {\"r\":2}\n\nevent: end\n"), "%s", s.body);
  free(s.body);
  jd_daemon_stop(d, false);
  pthread_join(th, NULL);
  jd_daemon_free(d);
  jd_queue_free(q);
  t_rmdir(state);
}

/* ---- the replay: parsed, cleaned, compact (a fake executor) ---- */

/* A frame, match.done and a replay.json by the task's id: "rp-ok" a messy
 * but valid one (spaces, a byte that is not UTF-8, a "NaN"), "rp-bad" one
 * that is not JSON. */
static int replay_execute(void *self, const jd_task *t, void *prepared, const jd_exec_env *env,
                          jd_exec_result *res) {
  (void)self, (void)prepared;
  emit(env, JD_EVENT_MATCH_FRAME, 1, "{\"f\":1}");
  emit(env, JD_EVENT_MATCH_DONE, 2, NULL);
  static const char ok[] = "{ \"r\" : \"a\xff b\",\n  \"n\": [1, 2, NaN] }\n";
  static const char bad[] = "{\"r\": 1,";
  bool good = !strcmp(t->id, "rp-ok");
  char path[600];
  snprintf(path, sizeof path, "%s/replay.json", env->out_dir);
  cr_assert_eq(jd_write_file(path, good ? ok : bad, good ? sizeof ok - 1 : sizeof bad - 1), 0);
  res->status = JD_TASK_STATUS_FINISHED;
  res->result = json_object_new_object();
  return JD_EXEC_DONE;
}

Test(live_daemon, the_replay_is_cleaned_and_compact_or_not_sent, .init = up, .fini = down,
     .timeout = 60) {
  char *state = t_tmpdir("dstate-livereplay"), keyfile[600], err[256];
  snprintf(keyfile, sizeof keyfile, "%s/watch.key", state);
  cr_assert_eq(jd_write_file(keyfile, KEY, strlen(KEY)), 0);
  cr_assert_eq(chmod(keyfile, 0600), 0);
  jd_config c;
  cr_assert_eq(jd_config_defaults(&c), 0);
  const char *kv[][2] = {{"redis", acl_url},          {"host_id", "livereplay"},
                         {"state_dir", state},        {"block_ms", "100"},
                         {"log_level", "error"},      {"metrics_listen", "127.0.0.1:0"},
                         {"watch_key_file", keyfile}, {"live_ttl_ms", "60000"}};
  for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++)
    cr_assert_eq(jd_config_set(&c, kv[i][0], kv[i][1], err, sizeof err), 0, "%s", err);
  jd_executor ex = {.execute = replay_execute};
  jd_daemon *d = NULL;
  cr_assert_eq(jd_daemon_new(&d, &c, NULL, &ex), 0);
  jd_config_clear(&c);
  pthread_t th;
  pthread_create(&th, NULL, run_thread, d);
  t_daemon_wait_ready(d, "livereplay");
  jd_queue *q = t_queue_client(srv->url);
  const char *ids[] = {"rp-ok", "rp-bad"};
  for (int i = 0; i < 2; i++) {
    char json[128];
    snprintf(json, sizeof json, "{\"id\":\"%s\",\"type\":\"match\",\"match\":{}}", ids[i]);
    cr_assert_eq(jd_queue_submit(NULL, q, JD_PRIO_MATCH, ids[i], json), 0);
    free(t_wait_result(q, ids[i], 30000, "(in process)"));
  }
  sse s;
  watch_live(&s, jd_daemon_metrics_port(d), "rp-ok", (const unsigned char *)KEY);
  cr_assert(strstr(s.body, "event: replay\ndata: {\"r\":\"a\xef\xbf\xbd b\",\"n\":[1,2,null]}\n\n"
                           "event: end\n"),
            "%s", s.body);
  free(s.body);
  watch_live(&s, jd_daemon_metrics_port(d), "rp-bad", (const unsigned char *)KEY);
  cr_assert(strstr(s.body, "match.done"), "%s", s.body);
  cr_assert_null(strstr(s.body, "event: replay"), "not JSON: no replay: %s", s.body);
  cr_assert(strstr(s.body, "event: end\n"), "%s", s.body);
  free(s.body);
  jd_daemon_stop(d, false);
  pthread_join(th, NULL);
  jd_daemon_free(d);
  jd_queue_free(q);
  t_rmdir(state);
}
