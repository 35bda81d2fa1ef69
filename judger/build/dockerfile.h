/* Dockerfiles read before the engine sees them.
 *
 * The classic builder (the engine's /build without BuildKit) does things on
 * a Dockerfile's behalf that no network setting of the build governs: an
 * `ADD <url>` is fetched by the engine itself, from the host's network
 * (moby#36340), and `FROM`/`COPY --from` take any image the engine holds,
 * another program's environment image included. So each program Dockerfile
 * is read here first, the way the classic builder of Docker 20.10 reads it:
 * parser directives (`# escape=`), comments, line continuations (comment
 * and empty lines inside them), instruction flags, JSON and shell forms,
 * `ARG`/`ENV` substitution ($v, ${v}, ${v:-w}, ${v:+w}, escapes, quotes),
 * stages and their names, `ONBUILD`. What is refused:
 *   - `ADD` whose source is a URL (any scheme://, git@host:repo,
 *     github.com/...), or whose source cannot be resolved before the build;
 *     `ADD --checksum`, `ADD --keep-git-dir`;
 *   - `FROM`, `COPY --from`, `RUN --mount=from=` naming an image the
 *     allow-list does not admit (jd_image_admitted), or through a variable
 *     the judger cannot resolve; an earlier stage (its name or index) is
 *     not an image and is fine;
 *   - `RUN --mount` other than a cache, tmpfs or bind of the build context
 *     or an earlier stage, `RUN --network` other than default/none,
 *     `RUN --security`; unknown flags of FROM, ADD, COPY, RUN;
 *   - the instruction inside `ONBUILD` as if it ran (and `ONBUILD` of FROM,
 *     ONBUILD, MAINTAINER);
 *   - a `# syntax=` directive (the classic builder ignores it; BuildKit
 *     would pull the frontend image it names and run it);
 *   - a bad or repeated directive, too many stages or variables, values
 *     past their caps (the input is bounded while it is read);
 *   - on the engine (jd_dockerfile_images_here): an admitted image of the
 *     judger's names (judger/..., judger-test/...) that is not on the host
 *     (never pulled; the base image is made instead).
 * Heredocs (`RUN <<EOF`) are not read as heredocs: the classic builder of
 * 20.10 has none, so the lines after `<<EOF` are instructions to it, and
 * each is checked as one. See docs/build.md "What a Dockerfile may not do".
 */
#ifndef JD_DOCKERFILE_H
#define JD_DOCKERFILE_H

#include <stdbool.h>
#include <stddef.h>

#include "common/context.h"

/* The patterns admitted besides the judger's base image (JD_BASE_IMAGE,
 * always admitted) when jd_ctx.base_images (the `base_images` setting,
 * docs/settings.md) says nothing: the test image namespace, which no
 * program can tag (an environment image's repository has no '/'). */
#define JD_BASE_IMAGES_DEFAULT "judger-test/*"

/* The setting in force: ctx->base_images when set, else
 * JD_BASE_IMAGES_DEFAULT. Not to be freed. ctx may be NULL. */
const char *jd_base_images(const jd_ctx *ctx);

/* Checks a `base_images` setting: comma-separated patterns REPO[:TAG],
 * REPO or TAG ending in '*' for any suffix, no TAG for any tag; spaces
 * around items ignored, empty items skipped. 0, or -1 with err naming the
 * bad item. */
int jd_base_images_check(const char *patterns, char *err, size_t errlen);

/* Whether an image reference (as FROM or --from names it, after
 * substitution) may be used by a program build under patterns (a
 * `base_images` setting): "scratch" is not an image here (FROM handles
 * it). Never admitted whatever the patterns say: another program's
 * environment image (<domain>-<id>-run|build), the judger's other images
 * (judger/... but judger/debian: the build proxy, the judger's own), a
 * name the engine could take for an image id (hex, sha256:...), a name
 * that is not a valid reference. A digest (@sha256:) of an admitted
 * repository is admitted. When not admitted and why is set, a short reason
 * goes there. */
bool jd_image_admitted(const char *patterns, const char *ref, char *why, size_t whylen);

#define JD_DOCKERFILE_LOCAL_MAX 8

/* What reading one Dockerfile found. */
typedef struct jd_dockerfile_verdict {
  bool refused;
  int line;          /* physical line (from 1) of the refused instruction; 0: none */
  char message[640]; /* "line 3: ADD http://x /f: <reason>" (a program's text, quoted
                        as is: the caller sanitises before printing) */
  /* The admitted images it names that are of the judger's names
   * (judger/..., judger-test/...): jd_dockerfile_images_here() checks they
   * are on the host. More than JD_DOCKERFILE_LOCAL_MAX is refused. */
  struct {
    char ref[256];
    int line;
    bool base; /* the judger's base image itself */
  } local[JD_DOCKERFILE_LOCAL_MAX];
  size_t nlocal;
} jd_dockerfile_verdict;

/* Reads dockerfile (len bytes) as the classic builder would and says
 * whether the judger refuses it, and where; base_images is the allow-list
 * (jd_base_images()). 0 with *out filled (refused or not), -1 only when
 * memory runs out. The judger's own Dockerfiles (base image, build proxy)
 * do not go through this. */
int jd_dockerfile_check(jd_dockerfile_verdict *out, const char *dockerfile, size_t len,
                        const char *base_images);

/* The images of the judger's names (judger/debian:..., judger-test/...)
 * that a Dockerfile jd_dockerfile_check() passed names (v->local) must be
 * on the host: the engine would otherwise pull them from Docker Hub, whose
 * "judger" and "judger-test" namespaces are not the judger's. A missing
 * base image (JD_BASE_IMAGE) is made (jd_base_image_ensure, progress may
 * be NULL); another missing image refuses the Dockerfile (v->refused,
 * v->line, v->message). Any other image an operator's pattern admits is
 * the engine's to pull. 0, or -1 with err when the engine or the base
 * image build fails. */
int jd_dockerfile_images_here(jd_dockerfile_verdict *v, jd_ctx *ctx,
                              void (*progress)(void *ud, const char *line), void *ud, char *err,
                              size_t errlen);

#endif
