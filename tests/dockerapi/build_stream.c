// test-labels: unit
/* The build answer's parser (dockerapi/build_stream.c), fed the same
 * stream split at every offset: the engine's JSON lines arrive in chunks
 * that cut lines, and words, anywhere. */
#include <stdlib.h>
#include <string.h>

#include "build_stream.h"
#include "support.h"

typedef struct seen {
  dk_buf text;
  int calls;
  int stop_at; /* the call that returns 7 (0 = never) */
} seen;

static int on_text(void *ud, const char *text, size_t len) {
  seen *s = ud;
  s->calls++;
  (void)dk_buf_append(&s->text, text, len);
  return s->stop_at && s->calls == s->stop_at ? 7 : 0;
}

/* Feeds in split at `at`, then ends the stream: the finish's code. */
static int run_split(dk__build_stream *b, const char *in, size_t at) {
  int rc = dk__build_stream_data(b, in, at);
  if (!rc)
    rc = dk__build_stream_data(b, in + at, strlen(in) - at);
  return rc ? rc : dk__build_stream_finish(b);
}

static const char good[] = "{\"stream\":\"Step 1/2 : FROM scratch\\n\"}\r\n"
                           "{\"status\":\"Pulling fs layer\"}\n"
                           "{\"stream\":\"Step 2/2 : COPY x /x\\n\"}\n"
                           "{\"aux\":{\"ID\":\"sha256:0123456789abcdef\"}}\n"
                           "{\"stream\":\"Successfully built 0123456789ab\\n\"}\n";

Test(build_stream, good_build_at_every_split) {
  for (size_t at = 0; at <= strlen(good); at++) {
    seen s = {.text = DK_BUF_INIT(0)};
    dk_buf log = DK_BUF_INIT(0);
    dk__build_stream b;
    dk__build_stream_init(&b, on_text, &s, &log, 0);
    cr_assert_eq(run_split(&b, good, at), DK_OK, "split at %zu", at);
    cr_assert_eq(s.calls, 3, "split at %zu: %d texts", at, s.calls);
    cr_assert_str_eq(s.text.data, "Step 1/2 : FROM scratch\nStep 2/2 : COPY x /x\n"
                                  "Successfully built 0123456789ab\n");
    cr_assert_str_eq(log.data, "Step 1/2 : FROM scratch\nPulling fs layer\n"
                               "Step 2/2 : COPY x /x\nSuccessfully built 0123456789ab\n");
    cr_assert_str_eq(b.aux_id, "sha256:0123456789abcdef");
    cr_assert_str_eq(b.built_id, "0123456789ab");
    cr_assert_not(b.failed);
    dk__build_stream_free(&b);
    dk_buf_free(&log);
    dk_buf_free(&s.text);
  }
}

Test(build_stream, error_detail_wins_and_the_first_error_is_kept) {
  static const char in[] =
      "{\"stream\":\"Step 1/1 : RUN false\\n\"}\n"
      "{\"errorDetail\":{\"message\":\"returned a non-zero code: 1\"},\"error\":\"old\"}\n"
      "{\"error\":\"a second one\"}\n";
  for (size_t at = 0; at <= strlen(in); at++) {
    dk_buf log = DK_BUF_INIT(0);
    dk__build_stream b;
    dk__build_stream_init(&b, NULL, NULL, &log, 0);
    cr_assert_eq(run_split(&b, in, at), DK_EBUILD, "split at %zu", at);
    cr_assert_str_eq(dk_error_last()->message, "returned a non-zero code: 1");
    cr_assert_eq(dk_error_last()->http_status, 200);
    cr_assert_str_eq(log.data, "Step 1/1 : RUN false\nreturned a non-zero code: 1\na second one\n");
    dk__build_stream_free(&b);
    dk_buf_free(&log);
  }
}

Test(build_stream, empty_error_detail_falls_back_to_error) {
  static const char in[] = "{\"errorDetail\":{\"message\":\"\"},\"error\":\"the old field\"}\n";
  dk__build_stream b;
  dk__build_stream_init(&b, NULL, NULL, NULL, 0);
  cr_assert_eq(run_split(&b, in, 5), DK_EBUILD);
  cr_assert_str_eq(dk_error_last()->message, "the old field");
  dk__build_stream_free(&b);
}

Test(build_stream, the_callback_stops_the_stream_with_its_value) {
  seen s = {.text = DK_BUF_INIT(0), .stop_at = 2};
  dk__build_stream b;
  dk__build_stream_init(&b, on_text, &s, NULL, 0);
  cr_assert_eq(dk__build_stream_data(&b, good, strlen(good)), 7);
  cr_assert_eq(s.calls, 2);
  dk__build_stream_free(&b);
  dk_buf_free(&s.text);
}

Test(build_stream, a_line_that_is_not_json_is_eproto) {
  static const char in[] = "{\"stream\":\"ok\\n\"}\nnot json\n";
  dk__build_stream b;
  dk__build_stream_init(&b, NULL, NULL, NULL, 0);
  cr_assert_eq(run_split(&b, in, 3), DK_EPROTO);
  dk__build_stream_free(&b);
}

Test(build_stream, the_log_stops_at_its_cap_and_says_so) {
  dk_buf log = DK_BUF_INIT(0);
  (void)dk_buf_append(&log, "before\n", 7); /* the cap counts from here */
  dk__build_stream b;
  dk__build_stream_init(&b, NULL, NULL, &log, 10);
  cr_assert_eq(run_split(&b, good, 17), DK_OK);
  cr_assert_eq(log.len, 17);
  cr_assert_str_eq(log.data, "before\nStep 1/2 :");
  cr_assert(log.truncated);
  cr_assert_str_eq(b.aux_id, "sha256:0123456789abcdef", "a full log does not stop the parse");
  dk__build_stream_free(&b);
  dk_buf_free(&log);
}

Test(build_stream, an_overlong_id_is_cut_not_overflowed) {
  char in[600];
  char id[400];
  memset(id, 'a', sizeof id - 1);
  id[sizeof id - 1] = '\0';
  snprintf(in, sizeof in, "{\"aux\":{\"ID\":\"%s\"}}\n", id);
  dk__build_stream b;
  dk__build_stream_init(&b, NULL, NULL, NULL, 0);
  cr_assert_eq(run_split(&b, in, 0), DK_OK);
  cr_assert_eq(strlen(b.aux_id), DK__BUILD_ID_MAX - 1);
  dk__build_stream_free(&b);
}
