/* Push decoders for the multiplexed log stream and for JSON lines. */
#include <string.h>

#include "dockerapi/error.h"
#include "dockerapi/stream.h"
#include "internal.h"

#define SYSERR_MAX 4096

void dk_demux_init(dk_demux *d, int raw, dk_frame_cb cb, void *ud) {
  memset(d, 0, sizeof *d);
  d->raw = raw;
  d->cb = cb;
  d->ud = ud;
  dk_buf_init(&d->syserr, SYSERR_MAX);
}

static int demux_fail_syserr(dk_demux *d) {
  d->state = 2;
  return dk__err(DK_ESTREAM, 0, "engine error in stream: %s", d->syserr.data ? d->syserr.data : "");
}

int dk_demux_feed(dk_demux *d, const char *data, size_t len) {
  if (d->state == 2)
    return DK_EPROTO;
  if (d->raw) {
    if (len && d->cb)
      return d->cb(d->ud, DK_STREAM_STDOUT, data, len);
    return DK_OK;
  }
  while (len > 0) {
    if (d->state == 0) {
      size_t take = 8 - d->hdr_len;
      if (take > len)
        take = len;
      memcpy(d->hdr + d->hdr_len, data, take);
      d->hdr_len += take;
      data += take;
      len -= take;
      if (d->hdr_len < 8)
        break;
      d->hdr_len = 0;
      d->stream = d->hdr[0];
      if (d->stream > DK_STREAM_SYSTEMERR) {
        d->state = 2;
        return dk__err(DK_EPROTO, 0, "log stream: unknown stream byte %d", d->stream);
      }
      d->remaining = (uint32_t)d->hdr[4] << 24 | (uint32_t)d->hdr[5] << 16 |
                     (uint32_t)d->hdr[6] << 8 | (uint32_t)d->hdr[7];
      if (d->remaining == 0) {
        if (d->stream == DK_STREAM_SYSTEMERR)
          return demux_fail_syserr(d);
        continue;
      }
      d->state = 1;
      continue;
    }
    size_t take = d->remaining < len ? d->remaining : len;
    if (d->stream == DK_STREAM_SYSTEMERR) {
      (void)dk_buf_append(&d->syserr, data, take); /* capped: the head is enough */
    } else if (d->cb) {
      int rc = d->cb(d->ud, d->stream, data, take);
      if (rc)
        return rc;
    }
    data += take;
    len -= take;
    d->remaining -= (uint32_t)take;
    if (d->remaining == 0) {
      d->state = 0;
      if (d->stream == DK_STREAM_SYSTEMERR)
        return demux_fail_syserr(d);
    }
  }
  return DK_OK;
}

int dk_demux_finish(dk_demux *d) {
  if (d->raw)
    return DK_OK;
  if (d->state == 2)
    return DK_EPROTO;
  if (d->state == 1 || d->hdr_len != 0)
    return dk__err(DK_EPROTO, 0, "log stream ended inside a frame");
  return DK_OK;
}

void dk_demux_free(dk_demux *d) { dk_buf_free(&d->syserr); }

void dk_lines_init(dk_lines *l, size_t max_line, dk_line_cb cb, void *ud) {
  memset(l, 0, sizeof *l);
  l->max_line = max_line ? max_line : DK_LINES_DEFAULT_MAX;
  dk_buf_init(&l->line, l->max_line);
  l->cb = cb;
  l->ud = ud;
}

static int lines_emit(dk_lines *l) {
  int rc = DK_OK;
  size_t n = l->line.len;
  while (n > 0 && (l->line.data[n - 1] == '\r' || l->line.data[n - 1] == ' '))
    n--;
  if (n > 0 && l->cb) {
    l->line.data[n] = '\0';
    rc = l->cb(l->ud, l->line.data, n);
  }
  dk_buf_reset(&l->line);
  return rc;
}

int dk_lines_feed(dk_lines *l, const char *data, size_t len) {
  while (len > 0) {
    const char *nl = memchr(data, '\n', len);
    size_t chunk = nl ? (size_t)(nl - data) : len;
    if (!l->skipping && chunk) {
      if (dk_buf_append(&l->line, data, chunk) == DK_ETOOBIG) {
        l->skipping = 1;
        l->oversized++;
        dk_buf_reset(&l->line);
      } else if (!l->line.data) {
        return DK_ENOMEM;
      }
    }
    if (!nl)
      break;
    if (l->skipping) {
      l->skipping = 0;
      dk_buf_reset(&l->line);
    } else {
      int rc = lines_emit(l);
      if (rc)
        return rc;
    }
    data += chunk + 1;
    len -= chunk + 1;
  }
  return DK_OK;
}

int dk_lines_finish(dk_lines *l) {
  if (l->skipping) {
    l->skipping = 0;
    dk_buf_reset(&l->line);
    return DK_OK;
  }
  return l->line.len ? lines_emit(l) : DK_OK;
}

void dk_lines_free(dk_lines *l) { dk_buf_free(&l->line); }
