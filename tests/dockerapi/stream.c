// test-labels: unit
/* The push decoders, fed the same bytes split at every offset. */
#include <stdlib.h>
#include <string.h>

#include "support.h"

typedef struct collected {
  dk_buf out, err;
  int frames;
} collected;

static int collect(void *ud, int stream, const char *data, size_t len) {
  collected *c = ud;
  c->frames++;
  return dk_buf_append(stream == DK_STREAM_STDERR ? &c->err : &c->out, data, len);
}

static size_t frame(unsigned char *p, int stream, const char *payload) {
  size_t n = strlen(payload);
  p[0] = (unsigned char)stream;
  p[1] = p[2] = p[3] = 0;
  p[4] = (unsigned char)(n >> 24);
  p[5] = (unsigned char)(n >> 16);
  p[6] = (unsigned char)(n >> 8);
  p[7] = (unsigned char)n;
  memcpy(p + 8, payload, n);
  return n + 8;
}

/* Feeds `in` in two parts split at `at`, then in single bytes. */
static int feed_split(dk_demux *d, const unsigned char *in, size_t len, size_t at) {
  int rc = dk_demux_feed(d, (const char *)in, at);
  if (rc)
    return rc;
  rc = dk_demux_feed(d, (const char *)in + at, len - at);
  if (rc)
    return rc;
  return dk_demux_finish(d);
}

Test(stream, demux_every_split_gives_the_same_streams) {
  unsigned char in[256];
  size_t n = 0;
  n += frame(in + n, 1, "hello ");
  n += frame(in + n, 2, "oops\n");
  n += frame(in + n, 1, "");
  n += frame(in + n, 1, "world\n");
  for (size_t at = 0; at <= n; at++) {
    collected c = {DK_BUF_INIT(1024), DK_BUF_INIT(1024), 0};
    dk_demux d;
    dk_demux_init(&d, 0, collect, &c);
    cr_assert_eq(feed_split(&d, in, n, at), 0, "split at %zu", at);
    cr_assert_str_eq(c.out.data, "hello world\n", "split at %zu", at);
    cr_assert_str_eq(c.err.data, "oops\n", "split at %zu", at);
    dk_demux_free(&d);
    dk_buf_free(&c.out);
    dk_buf_free(&c.err);
  }
}

Test(stream, demux_byte_by_byte) {
  unsigned char in[64];
  size_t n = frame(in, 2, "abc");
  collected c = {DK_BUF_INIT(64), DK_BUF_INIT(64), 0};
  dk_demux d;
  dk_demux_init(&d, 0, collect, &c);
  for (size_t i = 0; i < n; i++)
    cr_assert_eq(dk_demux_feed(&d, (const char *)in + i, 1), 0);
  cr_assert_eq(dk_demux_finish(&d), 0);
  cr_assert_str_eq(c.err.data, "abc");
  dk_demux_free(&d);
  dk_buf_free(&c.out);
  dk_buf_free(&c.err);
}

Test(stream, demux_stream3_is_a_daemon_error) {
  unsigned char in[64];
  size_t n = frame(in, 3, "container gone");
  for (size_t at = 0; at <= n; at++) {
    collected c = {DK_BUF_INIT(64), DK_BUF_INIT(64), 0};
    dk_demux d;
    dk_demux_init(&d, 0, collect, &c);
    int rc = feed_split(&d, in, n, at);
    cr_assert_eq(rc, DK_ESTREAM, "split at %zu: %s", at, dk_error_name(rc));
    cr_assert(strstr(dk_error_last()->message, "container gone"));
    dk_demux_free(&d);
    dk_buf_free(&c.out);
    dk_buf_free(&c.err);
  }
}

Test(stream, demux_unknown_stream_byte_is_a_protocol_error) {
  unsigned char in[64];
  size_t n = frame(in, 7, "x");
  dk_demux d;
  dk_demux_init(&d, 0, NULL, NULL);
  cr_assert_eq(dk_demux_feed(&d, (const char *)in, n), DK_EPROTO);
  /* and it stays failed */
  cr_assert_eq(dk_demux_feed(&d, (const char *)in, n), DK_EPROTO);
  dk_demux_free(&d);
}

Test(stream, demux_truncated_frame_is_reported_at_finish) {
  unsigned char in[64];
  size_t n = frame(in, 1, "abcdef");
  for (size_t cut = 1; cut < n; cut++) {
    dk_demux d;
    dk_demux_init(&d, 0, NULL, NULL);
    cr_assert_eq(dk_demux_feed(&d, (const char *)in, cut), 0);
    cr_assert_eq(dk_demux_finish(&d), DK_EPROTO, "cut at %zu", cut);
    dk_demux_free(&d);
  }
}

Test(stream, demux_raw_passes_bytes_through) {
  collected c = {DK_BUF_INIT(64), DK_BUF_INIT(64), 0};
  dk_demux d;
  dk_demux_init(&d, 1, collect, &c);
  cr_assert_eq(dk_demux_feed(&d, "\x01\x00tty text", 10), 0);
  cr_assert_eq(dk_demux_finish(&d), 0);
  cr_assert_eq(c.out.len, 10);
  cr_assert_eq(memcmp(c.out.data, "\x01\x00tty text", 10), 0);
  dk_demux_free(&d);
  dk_buf_free(&c.out);
  dk_buf_free(&c.err);
}

static int stop_at_first(void *ud, int stream, const char *data, size_t len) {
  (void)stream;
  (void)data;
  (void)len;
  ++*(int *)ud;
  return 77;
}

Test(stream, demux_callback_can_stop_the_stream) {
  unsigned char in[64];
  size_t n = frame(in, 1, "abc");
  n += frame(in + n, 1, "def");
  int calls = 0;
  dk_demux d;
  dk_demux_init(&d, 0, stop_at_first, &calls);
  cr_assert_eq(dk_demux_feed(&d, (const char *)in, n), 77);
  cr_assert_eq(calls, 1);
  dk_demux_free(&d);
}

typedef struct lines_seen {
  char got[8][64];
  int n;
} lines_seen;

static int on_line(void *ud, const char *line, size_t len) {
  lines_seen *s = ud;
  cr_assert_lt(s->n, 8);
  cr_assert_eq(strlen(line), len);
  snprintf(s->got[s->n++], 64, "%s", line);
  return 0;
}

Test(stream, lines_every_split_gives_the_same_lines) {
  const char *in = "{\"a\":1}\r\n\n{\"b\":2}\n{\"c\":3}";
  size_t n = strlen(in);
  for (size_t at = 0; at <= n; at++) {
    lines_seen s = {0};
    dk_lines l;
    dk_lines_init(&l, 0, on_line, &s);
    cr_assert_eq(dk_lines_feed(&l, in, at), 0);
    cr_assert_eq(dk_lines_feed(&l, in + at, n - at), 0);
    cr_assert_eq(dk_lines_finish(&l), 0);
    cr_assert_eq(s.n, 3, "split at %zu: %d lines", at, s.n);
    cr_assert_str_eq(s.got[0], "{\"a\":1}");
    cr_assert_str_eq(s.got[1], "{\"b\":2}");
    cr_assert_str_eq(s.got[2], "{\"c\":3}");
    dk_lines_free(&l);
  }
}

Test(stream, lines_oversized_line_is_dropped_and_counted) {
  char in[200];
  memset(in, 'x', 100);
  strcpy(in + 100, "\nshort\n");
  for (size_t at = 0; at <= strlen(in); at++) {
    lines_seen s = {0};
    dk_lines l;
    dk_lines_init(&l, 16, on_line, &s);
    cr_assert_eq(dk_lines_feed(&l, in, at), 0);
    cr_assert_eq(dk_lines_feed(&l, in + at, strlen(in) - at), 0);
    cr_assert_eq(dk_lines_finish(&l), 0);
    cr_assert_eq(l.oversized, 1, "split at %zu", at);
    cr_assert_eq(s.n, 1);
    cr_assert_str_eq(s.got[0], "short");
    dk_lines_free(&l);
  }
}
