/* The offline Debian base image: `debootstrap --variant=minbase bookworm`
 * into a temporary directory, imported through libdockerapi
 * (POST /images/create?fromSrc=-). Programs use it as `FROM judger/debian:bookworm`
 * and can `RUN apt-get install ...` (the image keeps the mirror in its apt
 * sources). Slow (about a minute): made once per engine, cached by tag. */
#ifndef JD_BASE_IMAGE_H
#define JD_BASE_IMAGE_H

#include <stdbool.h>
#include <stddef.h>

#include "common/context.h"

#define JD_BASE_IMAGE "judger/debian:bookworm"
#define JD_BASE_MIRROR "http://deb.debian.org/debian"

/* Makes `tag` (NULL = JD_BASE_IMAGE) unless it exists. mirror NULL =
 * $JUDGER_DEBIAN_MIRROR or JD_BASE_MIRROR. *built (may be NULL) tells
 * whether it was made now. debootstrap's output goes to progress (may be
 * NULL). Returns 0, or -1 with a one-line reason in err. */
int jd_base_image_ensure(bool *built, jd_ctx *ctx, const char *tag, const char *mirror,
                         void (*progress)(void *ud, const char *line), void *ud, char *err,
                         size_t errlen);

#endif
