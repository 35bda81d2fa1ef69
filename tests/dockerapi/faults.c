// test-labels: unit
/* Faults a real engine does not produce on demand, served by the fake
 * engine: every one must give a clean error (right code, a message), no
 * crash and no leak (this file runs under ASan in CI). */
#include <stdlib.h>
#include <string.h>

#include "fake_engine.h"
#include "support.h"

#define ID "c0ffee"
#define CHUNKED_HEAD                                                                               \
  "HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\n"                                                       \
  "Content-Type: application/vnd.docker.multiplexed-stream\r\nTransfer-Encoding: chunked\r\n\r\n"

static t_fake *fake;
static dk_client *cli;
static char *raw; /* the answer built by the current test */

static void teardown(void) {
  dk_client_free(cli);
  t_fake_stop(fake);
  free(raw);
}

TestSuite(faults, .fini = teardown, .timeout = 30);

/* Serves one route and makes the client pointed at it. */
static void serve(const char *method, const char *path, const void *answer, size_t len,
                  int hold_ms) {
  static t_fake_route route;
  route = (t_fake_route){method, path, answer, len, hold_ms};
  fake = t_fake_start(&route, 1);
  dk_client_opts o = {.host = t_fake_host(fake), .api_version = "1.41"};
  t_ok(dk_client_new(&cli, &o));
}

/* Serves a logs answer whose body is `body` (Content-Length set). */
static void serve_logs_body(const void *body, size_t len) {
  size_t n = 0;
  raw = t_fake_answer(&n, "200 OK", "application/vnd.docker.multiplexed-stream", body, len);
  serve("GET", "/containers/" ID "/logs", raw, n, 0);
}

/* A chunked logs answer holding one chunk with one stdout frame, and no
 * terminating chunk: what the client sees when the engine stops mid-stream
 * (hold_ms: stays silent that long before closing). */
static void serve_one_chunk(const char *payload, int hold_ms) {
  unsigned char frame[64];
  size_t fn = t_fake_frame(frame, DK_STREAM_STDOUT, payload, strlen(payload), strlen(payload));
  raw = malloc(512);
  cr_assert(raw);
  size_t n = (size_t)sprintf(raw, CHUNKED_HEAD "%zx\r\n", fn);
  memcpy(raw + n, frame, fn);
  n += fn;
  n += (size_t)sprintf(raw + n, "\r\n");
  serve("GET", "/containers/" ID "/logs", raw, n, hold_ms);
}

static int collect_logs(dk_buf *out, dk_buf *err) {
  return dk_container_logs_collect(cli, ID, NULL, out, err, NULL);
}

static void expect_error(int rc, int want, const char *needle) {
  cr_assert_eq(rc, want, "got %s, want %s", dk_error_name(rc), dk_error_name(want));
  const dk_error *e = dk_error_last();
  cr_assert(e && e->code == want && e->message && e->message[0], "no last error");
  if (needle)
    cr_assert(strstr(e->message, needle), "message '%s' lacks '%s'", e->message, needle);
}

Test(faults, well_formed_logs_pass_through) {
  /* the baseline the faults below break: two frames, one per stream */
  unsigned char body[64];
  size_t n = t_fake_frame(body, DK_STREAM_STDOUT, "out\n", 4, 4);
  n += t_fake_frame(body + n, DK_STREAM_STDERR, "err\n", 4, 4);
  serve_logs_body(body, n);
  dk_buf out = DK_BUF_INIT(100), err = DK_BUF_INIT(100);
  t_ok(collect_logs(&out, &err));
  cr_assert_str_eq(out.data, "out\n");
  cr_assert_str_eq(err.data, "err\n");
  cr_assert_eq(t_fake_served(fake), 1);
  dk_buf_free(&out);
  dk_buf_free(&err);
}

Test(faults, truncated_frame_is_a_protocol_error) {
  /* the header promises 10 bytes, the (complete) HTTP body holds 4 */
  unsigned char body[64];
  size_t n = t_fake_frame(body, DK_STREAM_STDOUT, "abcd", 4, 10);
  serve_logs_body(body, n);
  dk_buf out = DK_BUF_INIT(100);
  expect_error(collect_logs(&out, NULL), DK_EPROTO, "inside a frame");
  cr_assert_str_eq(out.data, "abcd", "bytes before the fault were lost");
  dk_buf_free(&out);
}

Test(faults, truncated_header_is_a_protocol_error) {
  unsigned char body[64];
  size_t n = t_fake_frame(body, DK_STREAM_STDOUT, "ok", 2, 2);
  n += 5; /* then five bytes of a next header: zeros */
  memset(body + n - 5, 0, 5);
  body[n - 5] = DK_STREAM_STDOUT;
  serve_logs_body(body, n);
  dk_buf out = DK_BUF_INIT(100);
  expect_error(collect_logs(&out, NULL), DK_EPROTO, NULL);
  dk_buf_free(&out);
}

Test(faults, unknown_stream_byte_is_a_protocol_error) {
  unsigned char body[64];
  size_t n = t_fake_frame(body, DK_STREAM_STDOUT, "fine", 4, 4);
  n += t_fake_frame(body + n, 7, "what", 4, 4);
  serve_logs_body(body, n);
  dk_buf out = DK_BUF_INIT(100);
  expect_error(collect_logs(&out, NULL), DK_EPROTO, "7");
  cr_assert_str_eq(out.data, "fine");
  dk_buf_free(&out);
}

Test(faults, stream_3_frame_is_the_daemons_error) {
  static const char msg[] = "error from daemon in stream: Error grabbing logs: disk full";
  unsigned char body[256];
  size_t n = t_fake_frame(body, DK_STREAM_STDOUT, "before\n", 7, 7);
  n += t_fake_frame(body + n, DK_STREAM_SYSTEMERR, msg, sizeof msg - 1, sizeof msg - 1);
  serve_logs_body(body, n);
  dk_buf out = DK_BUF_INIT(100);
  expect_error(collect_logs(&out, NULL), DK_ESTREAM, "disk full");
  cr_assert_str_eq(out.data, "before\n");
  dk_buf_free(&out);
}

Test(faults, connection_dropped_mid_stream) {
  /* one chunk with a whole frame, then the connection closes without the
   * terminating chunk */
  serve_one_chunk("partial\n", 0);
  dk_buf out = DK_BUF_INIT(100);
  int rc = collect_logs(&out, NULL);
  expect_error(rc, DK_EPROTO, "dropped the connection");
  cr_assert_str_eq(out.data, "partial\n");
  dk_buf_free(&out);
}

Test(faults, connection_dropped_inside_a_frame_while_following) {
  /* Content-Length promises more than is sent; followed logs */
  unsigned char body[64];
  size_t n = t_fake_frame(body, DK_STREAM_STDERR, "half", 4, 9);
  size_t len = 0;
  raw = t_fake_answer(&len, "200 OK", "application/vnd.docker.multiplexed-stream", body, n);
  /* rewrite the Content-Length: 100 instead of the real size */
  char *cl = strstr(raw, "Content-Length: ");
  cr_assert(cl);
  char *end = strstr(cl, "\r\n");
  memset(cl + 16, ' ', (size_t)(end - cl - 16));
  memcpy(cl + 16, "100", 3);
  serve("GET", "/containers/" ID "/logs", raw, len, 0);
  dk_buf err = DK_BUF_INIT(100);
  dk_logs_opts o = {.follow = true};
  int rc = dk_container_logs_collect(cli, ID, &o, NULL, &err, NULL);
  expect_error(rc, DK_EPROTO, NULL);
  cr_assert_str_eq(err.data, "half");
  dk_buf_free(&err);
}

Test(faults, stalled_stream_meets_the_deadline) {
  /* headers and one frame, then silence with the connection open */
  serve_one_chunk("tick\n", 5000);
  dk_buf out = DK_BUF_INIT(100);
  dk_logs_opts o = {.follow = true};
  dk_call call = {.deadline_ms = dk_now_ms() + 300};
  int rc = dk_container_logs_collect(cli, ID, &o, &out, NULL, &call);
  int64_t late = dk_now_ms() - call.deadline_ms;
  expect_error(rc, DK_ETIMEDOUT, NULL);
  cr_assert(late < 150, "returned %lld ms after the deadline", (long long)late);
  cr_assert_str_eq(out.data, "tick\n");
  dk_buf_free(&out);
}

Test(faults, garbage_json_in_inspect) {
  static const char garbage[] = "{\"Id\": \"c0ffee\", \"State\": {\"Status\": \"running\",, ]]";
  size_t n = 0;
  raw = t_fake_answer(&n, "200 OK", "application/json", garbage, sizeof garbage - 1);
  serve("GET", "/containers/" ID "/json", raw, n, 0);
  dk_container_info *info = NULL;
  expect_error(dk_container_inspect(&info, cli, ID), DK_EJSON, "malformed JSON");
  cr_assert_null(info);
}

Test(faults, json_of_the_wrong_shape_in_inspect) {
  static const char list[] = "[1, 2, 3]";
  size_t n = 0;
  raw = t_fake_answer(&n, "200 OK", "application/json", list, sizeof list - 1);
  serve("GET", "/containers/" ID "/json", raw, n, 0);
  dk_container_info *info = NULL;
  expect_error(dk_container_inspect(&info, cli, ID), DK_EPROTO, NULL);
  cr_assert_null(info);
}

Test(faults, garbage_json_in_network_list) {
  static const char garbage[] = "[{\"Id\": \"n1\"}, {\"Id\": ";
  size_t n = 0;
  raw = t_fake_answer(&n, "200 OK", "application/json", garbage, sizeof garbage - 1);
  serve("GET", "/networks", raw, n, 0);
  dk_network_list *l = NULL;
  expect_error(dk_network_list_by_label(&l, cli, NULL), DK_EJSON, NULL);
  cr_assert_null(l);
}

Test(faults, server_error_without_body) {
  static const char answer[] = "HTTP/1.1 500 Internal Server Error\r\nApi-Version: 1.41\r\n"
                               "Content-Length: 0\r\nConnection: close\r\n\r\n";
  serve(NULL, "/containers/" ID, answer, 0, 0);
  expect_error(dk_container_start(cli, ID), DK_ESERVER, "500");
  cr_assert_eq(dk_error_last()->http_status, 500);
  dk_container_info *info = NULL;
  expect_error(dk_container_inspect(&info, cli, ID), DK_ESERVER, "no message");
  cr_assert_null(info);
}

typedef struct heard {
  int calls, code;
  char what[128];
} heard;

static void on_engine_error(void *ud, const char *method, const char *path, int code) {
  heard *h = ud;
  h->calls++;
  h->code = code;
  snprintf(h->what, sizeof h->what, "%s %s", method, path);
}

Test(faults, the_error_observer_hears_engine_side_failures_only) {
  static const char answer[] = "HTTP/1.1 500 Internal Server Error\r\nApi-Version: 1.41\r\n"
                               "Content-Length: 0\r\nConnection: close\r\n\r\n";
  serve("POST", "/containers/" ID "/start", answer, 0, 0);
  heard h = {0};
  dk_client_set_error_observer(cli, on_engine_error, &h);
  expect_error(dk_container_start(cli, ID), DK_ESERVER, "500");
  cr_assert_eq(h.calls, 1);
  cr_assert_eq(h.code, DK_ESERVER);
  cr_assert_str_eq(h.what, "POST /containers/" ID "/start");
  /* A 404 is the caller's business, not an engine failure. */
  dk_container_info *info = NULL;
  expect_error(dk_container_inspect(&info, cli, ID), DK_ENOTFOUND, NULL);
  cr_assert_eq(h.calls, 1);
  dk_client_set_error_observer(cli, NULL, NULL);
  expect_error(dk_container_start(cli, ID), DK_ESERVER, "500");
  cr_assert_eq(h.calls, 1, "removed, it hears nothing");
}

/* Docker 20.10 answers 500 to a network connect or disconnect of a
 * container being removed: the caller's own race (a match's teardown
 * removing the game logic while a player network goes), not the engine's. */
Test(faults, a_container_marked_for_removal_is_not_an_engine_failure) {
  static const char answer[] =
      "HTTP/1.1 500 Internal Server Error\r\nApi-Version: 1.41\r\nContent-Type: "
      "application/json\r\nContent-Length: 105\r\nConnection: close\r\n\r\n"
      "{\"message\":\"Container 0675 is marked for removal and cannot be connected or disconnected "
      "to the network\"}";
  serve("POST", "/networks/n1/disconnect", answer, 0, 0);
  heard h = {0};
  dk_client_set_error_observer(cli, on_engine_error, &h);
  expect_error(dk_network_disconnect(cli, "n1", ID, true), DK_ESERVER, "marked for removal");
  cr_assert_eq(h.calls, 0, "the caller's race: %s", h.what);
  dk_client_set_error_observer(cli, NULL, NULL);
}

Test(faults, wait_answer_with_error_member) {
  static const char body[] = "{\"StatusCode\":0,\"Error\":{\"Message\":\"container vanished\"}}";
  size_t n = 0;
  raw = t_fake_answer(&n, "200 OK", "application/json", body, sizeof body - 1);
  serve("POST", "/containers/" ID "/wait", raw, n, 0);
  int64_t code = 0;
  expect_error(dk_container_wait(&code, cli, ID, "next-exit", NULL), DK_ESTREAM,
               "container vanished");
  cr_assert_eq(code, -1);
}

Test(faults, create_answer_without_id) {
  static const char body[] = "{\"Warnings\":[]}";
  size_t n = 0;
  raw = t_fake_answer(&n, "201 Created", "application/json", body, sizeof body - 1);
  serve("POST", "/containers/create", raw, n, 0);
  const char *cmd[] = {"true", NULL};
  dk_container_config cfg = {.image = "x", .cmd = cmd};
  char *id = NULL;
  expect_error(dk_container_create(&id, cli, "n", &cfg), DK_EPROTO, "Id");
  cr_assert_null(id);
}

Test(faults, build_stream_with_error_detail) {
  static const char body[] =
      "{\"stream\":\"Step 1/2 : FROM scratch\\n\"}\r\n"
      "{\"stream\":\"Step 2/2 : RUN false\\n\"}\r\n"
      "{\"errorDetail\":{\"code\":1,\"message\":\"The command '/bin/sh -c false' returned a "
      "non-zero code: 1\"},\"error\":\"The command '/bin/sh -c false' returned a non-zero code: "
      "1\"}\r\n";
  size_t n = 0;
  raw = t_fake_answer(&n, "200 OK", "application/json", body, sizeof body - 1);
  serve("POST", "/build", raw, n, 0);
  dk_tar *t = NULL;
  t_ok(dk_tar_new(&t, 0));
  t_ok(dk_tar_add_file(t, "Dockerfile", "FROM scratch\nRUN false\n", 23, 0644));
  const void *ctx;
  size_t ctx_len;
  t_ok(dk_tar_finish(t, &ctx, &ctx_len));
  char *image = NULL;
  dk_buf log = DK_BUF_INIT(4096);
  int rc = dk_image_build(&image, cli, ctx, ctx_len, NULL, NULL, NULL, &log, NULL);
  expect_error(rc, DK_EBUILD, "returned a non-zero code: 1");
  cr_assert_null(image);
  cr_assert(log.data && strstr(log.data, "Step 2/2"), "progress lost: %s",
            log.data ? log.data : "");
  dk_buf_free(&log);
  dk_tar_free(t);
}

Test(faults, unknown_route_is_not_found) {
  serve("GET", "/nothing-here", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 0, 0);
  dk_network_info *info = NULL;
  expect_error(dk_network_inspect(&info, cli, "n1"), DK_ENOTFOUND, "no such route");
  cr_assert_null(info);
}

static int split_cb(void *ud, int stream, const char *data, size_t len) {
  dk_buf *b = ud;
  dk_buf_append(&b[stream == DK_STREAM_STDERR], data, len);
  return 0;
}

/* A hijacked attach: 101, then frames, then the connection closes. */
static void serve_attach(const void *frames, size_t len, const char *status) {
  raw = malloc(512 + len);
  cr_assert(raw);
  int n = sprintf(raw,
                  "HTTP/1.1 %s\r\nContent-Type: application/vnd.docker.multiplexed-stream\r\n"
                  "Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n",
                  status);
  memcpy(raw + n, frames, len);
  serve("POST", "/containers/" ID "/attach", raw, (size_t)n + len, 0);
}

Test(faults, attach_reads_frames_until_close) {
  unsigned char body[64];
  size_t n = t_fake_frame(body, DK_STREAM_STDOUT, "o", 1, 1);
  n += t_fake_frame(body + n, DK_STREAM_STDERR, "e", 1, 1);
  serve_attach(body, n, "101 UPGRADED");
  dk_buf b[2] = {DK_BUF_INIT(100), DK_BUF_INIT(100)};
  t_ok(dk_container_attach(cli, ID, false, "in", 2, split_cb, b, NULL));
  cr_assert_str_eq(b[0].data, "o");
  cr_assert_str_eq(b[1].data, "e");
  dk_buf_free(&b[0]);
  dk_buf_free(&b[1]);
}

Test(faults, attach_dropped_inside_a_frame) {
  unsigned char body[64];
  size_t n = t_fake_frame(body, DK_STREAM_STDOUT, "trunc", 5, 50);
  serve_attach(body, n, "101 UPGRADED");
  dk_buf b[2] = {DK_BUF_INIT(100), DK_BUF_INIT(100)};
  expect_error(dk_container_attach(cli, ID, false, NULL, 0, split_cb, b, NULL), DK_EPROTO,
               "inside a frame");
  cr_assert_str_eq(b[0].data, "trunc");
  dk_buf_free(&b[0]);
  dk_buf_free(&b[1]);
}

Test(faults, attach_refused_and_garbage_answers) {
  static const char answer[] = "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n";
  serve("POST", "/containers/", answer, 0, 0);
  dk_buf b[2] = {DK_BUF_INIT(100), DK_BUF_INIT(100)};
  expect_error(dk_container_attach(cli, ID, false, NULL, 0, split_cb, b, NULL), DK_ESERVER, "500");
  dk_client_free(cli);
  cli = NULL;
  t_fake_stop(fake);
  fake = NULL;
  serve("POST", "/containers/", "SSH-2.0-OpenSSH_9.2\r\n\r\n", 0, 0);
  expect_error(dk_container_attach(cli, ID, false, NULL, 0, split_cb, b, NULL), DK_EPROTO,
               "not an HTTP answer");
  dk_buf_free(&b[0]);
  dk_buf_free(&b[1]);
}

Test(faults, no_engine_at_all) {
  dk_client_opts o = {.host = "unix:///tmp/jd-no-engine-here.sock", .api_version = "1.41"};
  t_ok(dk_client_new(&cli, &o));
  dk_buf b[2] = {DK_BUF_INIT(100), DK_BUF_INIT(100)};
  expect_error(dk_container_attach(cli, ID, false, NULL, 0, split_cb, b, NULL), DK_ECONNECT,
               "jd-no-engine-here");
  expect_error(dk_container_logs_collect(cli, ID, NULL, &b[0], &b[1], NULL), DK_ECONNECT,
               "jd-no-engine-here");
  char *net = NULL;
  expect_error(dk_network_create(&net, cli, "n", NULL), DK_ECONNECT, NULL);
  cr_assert_null(net);
  cr_assert_null(b[0].data);
}
