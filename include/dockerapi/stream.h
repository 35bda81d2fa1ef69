/* libdockerapi — incremental decoders for the engine's streams.
 *
 * Both decoders are push decoders: feed them whatever bytes arrived (a
 * libcurl write callback hands arbitrary slices) and they call back with
 * complete units. They are tested by splitting the same input at every offset.
 */
#ifndef DOCKERAPI_STREAM_H
#define DOCKERAPI_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#ifdef __cplusplus
extern "C" {
#endif

enum { DK_STREAM_STDIN = 0, DK_STREAM_STDOUT = 1, DK_STREAM_STDERR = 2, DK_STREAM_SYSTEMERR = 3 };

/* Called with payload bytes of one stream as they arrive (a frame may come in
 * several calls). Return 0 to go on, non-zero to stop the stream (that value
 * is returned by dk_demux_feed). */
typedef int (*dk_frame_cb)(void *ud, int stream, const char *data, size_t len);

/* Multiplexed stdout/stderr decoder: [stream u8][0 0 0][size u32 BE] payload.
 * Stream 3 (daemon error) is collected into `syserr` (capped) and makes the
 * decoder fail with DK_ESTREAM once the frame is complete. An unknown stream
 * byte is DK_EPROTO. In raw mode (TTY containers) bytes pass through as
 * stdout unchanged. */
typedef struct dk_demux {
  int raw;
  int state; /* 0 = header, 1 = payload, 2 = failed */
  unsigned char hdr[8];
  size_t hdr_len;
  int stream;
  uint32_t remaining;
  dk_frame_cb cb;
  void *ud;
  dk_buf syserr;
} dk_demux;

void dk_demux_init(dk_demux *d, int raw, dk_frame_cb cb, void *ud);
int dk_demux_feed(dk_demux *d, const char *data, size_t len);
/* DK_EPROTO if the stream ended inside a frame. */
int dk_demux_finish(dk_demux *d);
void dk_demux_free(dk_demux *d);

/* JSON-lines splitter (build progress, events, pull progress). Lines longer
 * than `max_line` are dropped; the count is kept in `oversized` (reported,
 * not fatal). Empty lines are skipped. */
typedef int (*dk_line_cb)(void *ud, const char *line, size_t len);

typedef struct dk_lines {
  dk_buf line;
  size_t max_line;
  int skipping; /* inside an oversized line */
  size_t oversized;
  dk_line_cb cb;
  void *ud;
} dk_lines;

#define DK_LINES_DEFAULT_MAX ((size_t)1024 * 1024)

void dk_lines_init(dk_lines *l, size_t max_line, dk_line_cb cb, void *ud);
int dk_lines_feed(dk_lines *l, const char *data, size_t len);
/* Delivers a last line that had no newline. */
int dk_lines_finish(dk_lines *l);
void dk_lines_free(dk_lines *l);

#ifdef __cplusplus
}
#endif
#endif
