// test-labels: engine
/* Container logs against the real engine: both streams kept apart, caps,
 * TTY (raw) logs, follow with a deadline, cancellation from another thread. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "support.h"

#define MAX_BOXES 6

static dk_client *cli;
static char *case_value;
static char *boxes[MAX_BOXES];
static int nboxes;

static void setup(void) {
  cli = t_client();
  t_busybox_image(cli);
  case_value = t_unique("logs");
}

static void teardown(void) {
  for (int i = 0; i < nboxes; i++) {
    dk_container_remove(cli, boxes[i], true, true);
    free(boxes[i]);
  }
  nboxes = 0;
  free(case_value);
  dk_client_free(cli);
}

TestSuite(logs, .init = setup, .fini = teardown, .timeout = 60);

/* Starts `sh -c sh`; with stdin, the container keeps stdin open for one
 * attach (open_stdin + stdin_once). */
static const char *start_box(const char *sh, bool tty, bool stdin_) {
  cr_assert(nboxes < MAX_BOXES);
  const char *cmd[] = {"sh", "-c", sh, NULL};
  dk_kv labels[] = {{T_LABEL_KEY, "1"}, {"judger.test.case", case_value}};
  dk_container_config cfg = {.image = T_BUSYBOX_IMAGE,
                             .cmd = cmd,
                             .labels = labels,
                             .nlabels = 2,
                             .tty = tty,
                             .open_stdin = stdin_,
                             .stdin_once = stdin_,
                             .host = {.network_mode = "none"}};
  char *name = t_unique("jdt-logs");
  char *id = NULL;
  t_ok(dk_container_create(&id, cli, name, &cfg));
  free(name);
  boxes[nboxes++] = id;
  t_ok(dk_container_start(cli, id));
  return id;
}

static const char *start_sh(const char *sh, bool tty) { return start_box(sh, tty, false); }

static void wait_exit(const char *id) {
  int64_t code = -1;
  dk_call call = {.deadline_ms = dk_now_ms() + 30000};
  t_ok(dk_container_wait(&code, cli, id, NULL, &call));
  cr_assert_eq(code, 0);
}

Test(logs, both_streams_are_kept_apart) {
  const char *id =
      start_sh("echo out1; echo err1 >&2; sleep 0.1; echo out2; sleep 0.1; echo err2 >&2", false);
  wait_exit(id);
  dk_buf out = DK_BUF_INIT(4096), err = DK_BUF_INIT(4096);
  t_ok(dk_container_logs_collect(cli, id, NULL, &out, &err, NULL));
  cr_assert_str_eq(out.data, "out1\nout2\n");
  cr_assert_str_eq(err.data, "err1\nerr2\n");
  cr_assert(!out.truncated && !err.truncated);

  /* one stream only */
  dk_buf only = DK_BUF_INIT(4096);
  dk_logs_opts o = {.stderr_ = true};
  t_ok(dk_container_logs_collect(cli, id, &o, &only, &only, NULL));
  cr_assert_str_eq(only.data, "err1\nerr2\n");
  /* tail counts lines of both streams together, before they are split */
  dk_buf_reset(&out);
  dk_buf_reset(&err);
  dk_logs_opts tail = {.tail = 2};
  t_ok(dk_container_logs_collect(cli, id, &tail, &out, &err, NULL));
  cr_assert_str_eq(out.data, "out2\n", "tail: out '%s' err '%s'", out.data, err.data);
  cr_assert_str_eq(err.data, "err2\n");
  dk_buf_free(&out);
  dk_buf_free(&err);
  dk_buf_free(&only);
}

Test(logs, cap_sets_truncated_and_is_not_an_error) {
  const char *id = start_sh("yes 0123456789 | head -c 200000; echo tail-of-err >&2", false);
  wait_exit(id);
  dk_buf out = DK_BUF_INIT(1000), err = DK_BUF_INIT(1 << 20);
  t_ok(dk_container_logs_collect(cli, id, NULL, &out, &err, NULL));
  cr_assert(out.truncated);
  cr_assert_eq(out.len, 1000);
  cr_assert(!strncmp(out.data, "0123456789\n0123456789\n", 22));
  cr_assert(!err.truncated);
  cr_assert_str_eq(err.data, "tail-of-err\n", "stderr lost after stdout hit its cap");
  dk_buf_free(&out);
  dk_buf_free(&err);

  /* with stdout only, reading stops once the buffer is full */
  dk_buf small = DK_BUF_INIT(10);
  t_ok(dk_container_logs_collect(cli, id, NULL, &small, NULL, NULL));
  cr_assert(small.truncated);
  cr_assert_eq(small.len, 10);
  cr_assert_str_eq(small.data, "0123456789");
  dk_buf_free(&small);
}

typedef struct frames {
  int n[3];
  dk_buf text;
} frames;

static int count_frame(void *ud, int stream, const char *data, size_t len) {
  frames *f = ud;
  if (stream >= 0 && stream < 3)
    f->n[stream]++;
  dk_buf_append(&f->text, data, len);
  return 0;
}

static int stop_at_first(void *ud, int stream, const char *data, size_t len) {
  (void)ud;
  (void)stream;
  (void)data;
  (void)len;
  return 42;
}

Test(logs, tty_logs_are_raw) {
  const char *id = start_sh("echo to-out; echo to-err >&2", true);
  wait_exit(id);
  frames f = {.text = DK_BUF_INIT(4096)};
  dk_logs_opts o = {.tty = true};
  t_ok(dk_container_logs(cli, id, &o, count_frame, &f, NULL));
  /* a TTY merges the streams and turns \n into \r\n */
  cr_assert_str_eq(f.text.data, "to-out\r\nto-err\r\n");
  cr_assert_eq(f.n[DK_STREAM_STDERR], 0);
  dk_buf_free(&f.text);

  /* a callback's non-zero answer stops the stream and is returned */
  int rc = dk_container_logs(cli, id, &o, stop_at_first, NULL, NULL);
  cr_assert_eq(rc, 42);
}

Test(logs, follow_returns_when_the_container_stops) {
  const char *id = start_sh("for i in 1 2 3; do echo line$i; sleep 0.2; done", false);
  frames f = {.text = DK_BUF_INIT(4096)};
  dk_logs_opts o = {.follow = true};
  dk_call call = {.deadline_ms = dk_now_ms() + 20000};
  t_ok(dk_container_logs(cli, id, &o, count_frame, &f, &call));
  cr_assert_str_eq(f.text.data, "line1\nline2\nline3\n");
  cr_assert_eq(f.n[DK_STREAM_STDOUT], 3);
  dk_buf_free(&f.text);
}

Test(logs, follow_with_deadline_times_out_promptly) {
  const char *id = start_sh("while true; do echo tick; sleep 0.1; done", false);
  dk_buf out = DK_BUF_INIT(1 << 20);
  dk_logs_opts o = {.follow = true};
  int64_t t0 = dk_now_ms();
  dk_call call = {.deadline_ms = t0 + 700};
  int rc = dk_container_logs_collect(cli, id, &o, &out, NULL, &call);
  int64_t late = dk_now_ms() - call.deadline_ms;
  cr_assert_eq(rc, DK_ETIMEDOUT, "%s", dk_error_name(rc));
  cr_log_info("returned %lld ms after the deadline", (long long)late);
  cr_assert(late < 200, "returned %lld ms after the deadline", (long long)late);
  cr_assert(out.len >= 5 && !strncmp(out.data, "tick\n", 5), "nothing read before the deadline");
  dk_buf_free(&out);
}

typedef struct canceler {
  dk_cancel *cancel;
  int64_t fired_at;
} canceler;

static void *fire_later(void *ud) {
  canceler *k = ud;
  usleep(400 * 1000);
  k->fired_at = dk_now_ms();
  dk_cancel_fire(k->cancel);
  return NULL;
}

Test(logs, cancel_from_another_thread) {
  const char *id = start_sh("while true; do echo tick; sleep 1; done", false);
  canceler k = {0};
  t_ok(dk_cancel_new(&k.cancel));
  dk_call call = {.deadline_ms = dk_now_ms() + 20000, .cancel = k.cancel};
  dk_buf out = DK_BUF_INIT(1 << 20);
  dk_logs_opts o = {.follow = true};
  pthread_t th;
  cr_assert_eq(pthread_create(&th, NULL, fire_later, &k), 0);
  int rc = dk_container_logs_collect(cli, id, &o, &out, NULL, &call);
  int64_t after = dk_now_ms() - k.fired_at;
  pthread_join(th, NULL);
  cr_assert_eq(rc, DK_ECANCELED, "%s", dk_error_name(rc));
  cr_log_info("returned %lld ms after the cancel", (long long)after);
  cr_assert(after < 100, "returned %lld ms after the cancel", (long long)after);
  dk_cancel_free(k.cancel);
  dk_buf_free(&out);
}

Test(logs, missing_container_is_not_found) {
  dk_buf out = DK_BUF_INIT(1024);
  int rc = dk_container_logs_collect(cli, "jdt-no-such-container-logs", NULL, &out, NULL, NULL);
  cr_assert_eq(rc, DK_ENOTFOUND, "%s", dk_error_name(rc));
  cr_assert(strcasestr(dk_error_last()->message, "no such container"), "%s",
            dk_error_last()->message);
  dk_buf_free(&out);
}

typedef struct streams {
  dk_buf out, err;
} streams;

static int split_cb(void *ud, int stream, const char *data, size_t len) {
  streams *s = ud;
  dk_buf_append(stream == DK_STREAM_STDERR ? &s->err : &s->out, data, len);
  return 0;
}

Test(logs, attach_sends_stdin_and_splits_output) {
  /* the container reads all of stdin (so it needs its end), then answers */
  const char *id = start_box("tr a-z A-Z; echo done >&2; exit 7", false, true);
  static char in[100000]; /* more than a socket buffer: sent while reading */
  for (size_t i = 0; i < sizeof in; i++)
    in[i] = i % 64 == 63 ? '\n' : 'a' + (char)(i % 26);
  streams s = {DK_BUF_INIT(1 << 20), DK_BUF_INIT(4096)};
  dk_call call = {.deadline_ms = dk_now_ms() + 20000};
  t_ok(dk_container_attach(cli, id, false, in, sizeof in, split_cb, &s, &call));
  cr_assert_eq(s.out.len, sizeof in);
  for (size_t i = 0; i < sizeof in; i++)
    cr_assert_eq(s.out.data[i], i % 64 == 63 ? '\n' : 'A' + (char)(i % 26), "byte %zu", i);
  cr_assert_str_eq(s.err.data, "done\n");
  int64_t code = -1;
  t_ok(dk_container_wait(&code, cli, id, NULL, &call));
  cr_assert_eq(code, 7);
  dk_buf_free(&s.out);
  dk_buf_free(&s.err);
}

Test(logs, attach_output_only_and_tty) {
  const char *id = start_sh("sleep 1; echo out; echo err >&2", false);
  streams s = {DK_BUF_INIT(4096), DK_BUF_INIT(4096)};
  dk_call call = {.deadline_ms = dk_now_ms() + 20000};
  t_ok(dk_container_attach(cli, id, false, NULL, 0, split_cb, &s, &call));
  cr_assert_str_eq(s.out.data, "out\n");
  cr_assert_str_eq(s.err.data, "err\n");
  dk_buf_free(&s.out);
  dk_buf_free(&s.err);

  const char *tty = start_sh("sleep 1; echo out; echo err >&2", true);
  streams t = {DK_BUF_INIT(4096), DK_BUF_INIT(4096)};
  t_ok(dk_container_attach(cli, tty, true, NULL, 0, split_cb, &t, &call));
  /* raw: one merged stream with the TTY's \r\n */
  cr_assert_str_eq(t.out.data, "out\r\nerr\r\n");
  cr_assert_eq(t.err.len, 0);
  dk_buf_free(&t.out);
  dk_buf_free(&t.err);
}

Test(logs, attach_errors_deadline_and_cancel) {
  streams s = {DK_BUF_INIT(4096), DK_BUF_INIT(4096)};
  int rc =
      dk_container_attach(cli, "jdt-no-such-container-attach", false, NULL, 0, split_cb, &s, NULL);
  cr_assert_eq(rc, DK_ENOTFOUND, "%s", dk_error_name(rc));
  cr_assert(strcasestr(dk_error_last()->message, "no such container"), "%s",
            dk_error_last()->message);

  const char *id = start_sh("while true; do echo tick; sleep 0.1; done", false);
  dk_call call = {.deadline_ms = dk_now_ms() + 500};
  rc = dk_container_attach(cli, id, false, NULL, 0, split_cb, &s, &call);
  int64_t late = dk_now_ms() - call.deadline_ms;
  cr_assert_eq(rc, DK_ETIMEDOUT, "%s", dk_error_name(rc));
  cr_log_info("returned %lld ms after the deadline", (long long)late);
  cr_assert(late < 200, "returned %lld ms after the deadline", (long long)late);
  cr_assert(s.out.len >= 5, "nothing read before the deadline");

  canceler k = {0};
  t_ok(dk_cancel_new(&k.cancel));
  dk_call cc = {.cancel = k.cancel};
  pthread_t th;
  cr_assert_eq(pthread_create(&th, NULL, fire_later, &k), 0);
  rc = dk_container_attach(cli, id, false, NULL, 0, split_cb, &s, &cc);
  int64_t after = dk_now_ms() - k.fired_at;
  pthread_join(th, NULL);
  cr_assert_eq(rc, DK_ECANCELED, "%s", dk_error_name(rc));
  cr_log_info("returned %lld ms after the cancel", (long long)after);
  cr_assert(after < 100, "returned %lld ms after the cancel", (long long)after);
  dk_cancel_free(k.cancel);
  dk_buf_free(&s.out);
  dk_buf_free(&s.err);
}
