/* libdockerapi — bounded growable buffer.
 *
 * Every buffer the engine or a container fills carries its own cap (curl's
 * dynbuf "toobig" habit). Appending past the cap keeps what fits, sets
 * `truncated` and returns DK_ETOOBIG: the caller decides whether that is fatal.
 * The data is always NUL-terminated so text can be used in place.
 */
#ifndef DOCKERAPI_BUF_H
#define DOCKERAPI_BUF_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dk_buf {
  char *data;     /* NUL-terminated; NULL until the first append */
  size_t len;     /* bytes held, without the NUL */
  size_t alloc;   /* bytes allocated */
  size_t max;     /* cap on len; 0 = DK_BUF_DEFAULT_MAX */
  bool truncated; /* something was dropped because of the cap */
} dk_buf;

#define DK_BUF_DEFAULT_MAX ((size_t)64 * 1024 * 1024)
#define DK_BUF_INIT(max_)                                                                          \
  { NULL, 0, 0, (max_), false }

void dk_buf_init(dk_buf *b, size_t max);
/* Appends; past the cap keeps what fits and returns DK_ETOOBIG. */
int dk_buf_append(dk_buf *b, const void *data, size_t len);
int dk_buf_appendf(dk_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void dk_buf_reset(dk_buf *b); /* len = 0, keeps the memory and the cap */
/* Hands the data over to the caller (free() it); the buffer is emptied. */
char *dk_buf_detach(dk_buf *b, size_t *len);
void dk_buf_free(dk_buf *b);

#ifdef __cplusplus
}
#endif
#endif
