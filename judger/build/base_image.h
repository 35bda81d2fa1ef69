/* The offline Debian base image: `debootstrap --variant=minbase bookworm`
 * into a temporary directory, imported through libdockerapi
 * (POST /images/create?fromSrc=-). Programs use it as `FROM judger/debian:bookworm`
 * and can `RUN apt-get install ...` (the image keeps the mirror in its apt
 * sources). Slow (about a minute): made once per engine, cached by tag. */
#ifndef JD_BASE_IMAGE_H
#define JD_BASE_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/context.h"
#include "dockerapi/cancel.h"

#define JD_BASE_IMAGE "judger/debian:bookworm"
#define JD_BASE_MIRROR "http://deb.debian.org/debian"

/* How long a judger waits for another of the same state directory making
 * the base image (debootstrap and import: about four minutes on a busy
 * host) before it gives up. */
#define JD_BASE_LOCK_WAIT_MS (15 * 60 * 1000)

typedef struct jd_base_image_opts {
  const char *tag;                              /* NULL = JD_BASE_IMAGE */
  const char *mirror;                           /* NULL = ctx->debian_mirror or JD_BASE_MIRROR */
  int64_t lock_wait_ms;                         /* 0 = JD_BASE_LOCK_WAIT_MS */
  const dk_cancel *cancel;                      /* ends the wait for the lock; may be NULL */
  void (*progress)(void *ud, const char *line); /* debootstrap's output; may be NULL */
  void *ud;
} jd_base_image_opts;

/* Makes the tag unless it exists. One judger of the state directory at a
 * time makes it: the others wait on <state_dir>/locks/build-base-image
 * (never a link), at most lock_wait_ms, then find the tag. *built (may be
 * NULL) tells whether it was made now. opts may be NULL. Returns 0, or -1
 * with a one-line reason in err. */
int jd_base_image_ensure_opts(bool *built, jd_ctx *ctx, const jd_base_image_opts *opts, char *err,
                              size_t errlen);

/* The same with the lock's default wait and no cancel token. */
int jd_base_image_ensure(bool *built, jd_ctx *ctx, const char *tag, const char *mirror,
                         void (*progress)(void *ud, const char *line), void *ud, char *err,
                         size_t errlen);

#endif
