/* The answer of POST /build, parsed line by line (build_stream.h). */
#include <string.h>

#include "build_stream.h"
#include "internal.h"

#define BUILD_LOG_DEFAULT ((size_t)1024 * 1024)

void dk__build_stream_log(dk__build_stream *b, const char *text, size_t len) {
  if (!b->log)
    return;
  size_t used = b->log->len - b->log_start;
  size_t room = used < b->log_max ? b->log_max - used : 0;
  size_t take = len < room ? len : room;
  if (take)
    (void)dk_buf_append(b->log, text, take);
  if (take < len)
    b->log->truncated = true;
}

static void log_line(dk__build_stream *b, const char *text) {
  dk__build_stream_log(b, text, strlen(text));
  dk__build_stream_log(b, "\n", 1);
}

static void copy_id(char *dst, const char *src, size_t n) {
  if (n >= DK__BUILD_ID_MAX)
    n = DK__BUILD_ID_MAX - 1;
  memcpy(dst, src, n);
  dst[n] = '\0';
}

/* The classic builder ends a good build with a text "Successfully built
 * <short id>"; older engines send no aux ID, so this is the fallback. */
static void scan_built(dk__build_stream *b, const char *text) {
  static const char mark[] = "Successfully built ";
  const char *p = strstr(text, mark);
  if (!p)
    return;
  p += sizeof mark - 1;
  size_t n = strspn(p, "0123456789abcdef");
  if (n >= 12)
    copy_id(b->built_id, p, n);
}

/* The message of an error line, NULL when o is no error. */
static const char *line_error(json_object *o) {
  json_object *v = NULL;
  /* errorDetail first: API 1.48 deprecated "error" (to be left empty). */
  const char *err = NULL;
  if (json_object_object_get_ex(o, "errorDetail", &v))
    err = dk__json_str(v, "message");
  if (!err || !*err)
    err = dk__json_str(o, "error");
  return err;
}

/* One line of the answer; only the callback's value stops the stream. */
static int on_line(dk__build_stream *b, json_object *o) {
  const char *err = line_error(o);
  if (err) {
    if (!b->failed) {
      b->failed = true;
      (void)dk_buf_append(&b->error, err, strlen(err));
    }
    log_line(b, err);
    return DK_OK;
  }
  const char *text = dk__json_str(o, "stream");
  if (text) {
    size_t n = strlen(text);
    dk__build_stream_log(b, text, n);
    scan_built(b, text);
    return b->cb ? b->cb(b->ud, text, n) : DK_OK;
  }
  /* Pull progress ("status") when FROM had to fetch: one line of text. */
  const char *status = dk__json_str(o, "status");
  if (status) {
    log_line(b, status);
    return DK_OK;
  }
  json_object *v = NULL;
  if (json_object_object_get_ex(o, "aux", &v)) {
    const char *id = dk__json_str(v, "ID");
    if (id)
      copy_id(b->aux_id, id, strlen(id));
  }
  return DK_OK;
}

static int build_line(void *ud, const char *line, size_t len) {
  json_object *o = NULL;
  if (dk__parse_json(&o, line, len) != DK_OK)
    return DK_EPROTO; /* dk__parse_json set the message */
  int rc = on_line(ud, o);
  json_object_put(o);
  return rc;
}

void dk__build_stream_init(dk__build_stream *b, dk_build_cb cb, void *ud, dk_buf *log,
                           size_t log_max) {
  *b = (dk__build_stream){.cb = cb, .ud = ud, .log = log};
  b->log_start = log ? log->len : 0;
  b->log_max = log_max ? log_max : BUILD_LOG_DEFAULT;
  dk_lines_init(&b->lines, 0, build_line, b);
  dk_buf_init(&b->error, 4096);
}

int dk__build_stream_data(void *ud, const char *data, size_t len) {
  dk__build_stream *b = ud;
  return dk_lines_feed(&b->lines, data, len);
}

int dk__build_stream_finish(dk__build_stream *b) {
  int rc = dk_lines_finish(&b->lines);
  if (rc)
    return rc;
  if (b->failed)
    return dk__err(DK_EBUILD, 200, "%s", b->error.data ? b->error.data : "build failed");
  return DK_OK;
}

void dk__build_stream_free(dk__build_stream *b) {
  dk_buf_free(&b->error);
  dk_lines_free(&b->lines);
}
