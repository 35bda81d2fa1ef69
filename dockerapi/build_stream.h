/* Private to libdockerapi: the answer of POST /build, a JSON-lines stream
 * parsed as it arrives (build_stream.c). images.c sends the request and
 * hands every chunk of the answer to dk__build_stream_data.
 *
 * Each line is one of: {"stream": text} (progress, given to the caller's
 * callback and kept in the log), {"status": text} (pull progress when FROM
 * had to fetch, kept in the log), {"aux": {"ID": id}} (the built image's
 * id), {"error": ..., "errorDetail": {"message": ...}} (the build failed,
 * although the HTTP status was 200). */
#ifndef DOCKERAPI_BUILD_STREAM_H
#define DOCKERAPI_BUILD_STREAM_H

#include <stddef.h>

#include "dockerapi/buf.h"
#include "dockerapi/images.h"
#include "dockerapi/stream.h"

#define DK__BUILD_ID_MAX 160

/* One build's answer while it streams in. */
typedef struct dk__build_stream {
  dk_lines lines;
  dk_build_cb cb;
  void *ud;
  dk_buf *log;
  size_t log_start; /* log->len when the build began */
  size_t log_max;
  char aux_id[DK__BUILD_ID_MAX];   /* from {"aux":{"ID":...}} */
  char built_id[DK__BUILD_ID_MAX]; /* from "Successfully built <id>" */
  dk_buf error;                    /* the engine's message when the build failed */
  bool failed;
} dk__build_stream;

/* cb (may be NULL) gets each progress text; log (may be NULL) the whole
 * text, at most log_max bytes past its current length (0 = 1 MiB). */
void dk__build_stream_init(dk__build_stream *b, dk_build_cb cb, void *ud, dk_buf *log,
                           size_t log_max);
/* A chunk of the answer (a dk__req on_data callback; ud is the stream).
 * DK_OK, DK_EPROTO for a line that is not JSON, or the callback's value. */
int dk__build_stream_data(void *ud, const char *data, size_t len);
/* The end of the answer: DK_OK, or DK_EBUILD with the engine's message as
 * the last error when the stream reported a failure. */
int dk__build_stream_finish(dk__build_stream *b);
/* Appends text to the caller's log within its cap; hitting the cap only
 * marks the log truncated. */
void dk__build_stream_log(dk__build_stream *b, const char *text, size_t len);
void dk__build_stream_free(dk__build_stream *b);

#endif
