/* Bounded growable buffer (see buf.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dockerapi/buf.h"
#include "dockerapi/error.h"

void dk_buf_init(dk_buf *b, size_t max) {
  b->data = NULL;
  b->len = 0;
  b->alloc = 0;
  b->max = max;
  b->truncated = false;
}

static size_t buf_cap(const dk_buf *b) { return b->max ? b->max : DK_BUF_DEFAULT_MAX; }

static int buf_reserve(dk_buf *b, size_t need) {
  if (need + 1 <= b->alloc)
    return DK_OK;
  size_t n = b->alloc ? b->alloc : 256;
  while (n < need + 1)
    n *= 2;
  char *p = realloc(b->data, n);
  if (!p)
    return DK_ENOMEM;
  b->data = p;
  b->alloc = n;
  return DK_OK;
}

int dk_buf_append(dk_buf *b, const void *data, size_t len) {
  size_t cap = buf_cap(b);
  size_t room = b->len < cap ? cap - b->len : 0;
  size_t take = len < room ? len : room;
  int rc = buf_reserve(b, b->len + take);
  if (rc)
    return rc;
  if (take)
    memcpy(b->data + b->len, data, take);
  b->len += take;
  b->data[b->len] = '\0';
  if (take < len) {
    b->truncated = true;
    return DK_ETOOBIG;
  }
  return DK_OK;
}

int dk_buf_appendf(dk_buf *b, const char *fmt, ...) {
  char small[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(small, sizeof small, fmt, ap);
  va_end(ap);
  if (n < 0)
    return DK_EINVAL;
  if ((size_t)n < sizeof small)
    return dk_buf_append(b, small, (size_t)n);
  char *big = malloc((size_t)n + 1);
  if (!big)
    return DK_ENOMEM;
  va_start(ap, fmt);
  vsnprintf(big, (size_t)n + 1, fmt, ap);
  va_end(ap);
  int rc = dk_buf_append(b, big, (size_t)n);
  free(big);
  return rc;
}

void dk_buf_reset(dk_buf *b) {
  b->len = 0;
  b->truncated = false;
  if (b->data)
    b->data[0] = '\0';
}

char *dk_buf_detach(dk_buf *b, size_t *len) {
  char *p = b->data;
  if (!p) {
    p = calloc(1, 1);
  }
  if (len)
    *len = b->len;
  b->data = NULL;
  b->len = 0;
  b->alloc = 0;
  b->truncated = false;
  return p;
}

void dk_buf_free(dk_buf *b) {
  if (!b)
    return;
  free(b->data);
  b->data = NULL;
  b->len = 0;
  b->alloc = 0;
}
