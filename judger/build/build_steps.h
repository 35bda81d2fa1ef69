/* The step lines of an image build's output stream, as Docker's classic
 * builder and Podman's (buildah's) write them: which step starts (for the
 * build lock, build_lock.h) and which step images the build made (for
 * the leftovers' record, image_leftovers.c). */
#ifndef JD_BUILD_STEPS_H
#define JD_BUILD_STEPS_H

#include <stdbool.h>
#include <stddef.h>

/* What one line of the stream says. */
typedef enum jd_step_event {
  JD_STEP_OTHER,  /* anything else (a RUN's output, "Successfully built", COMMIT...) */
  JD_STEP_START,  /* a step begins: number is its place in the whole Dockerfile */
  JD_STEP_RESULT, /* a step image this build made: id holds its short id */
} jd_step_event;

/* The parser's state across the lines of one build. */
typedef struct jd_build_steps {
  char step[256];  /* the last step line as sent ("Step N/M : ..." or "[S/T] STEP N/M: ...") */
  bool from_step;  /* the current step is a FROM: an id after it is the base's */
  bool cache_hit;  /* "Using cache": the next id is not this build's */
  int stage;       /* Podman: the stage of the last step line (0: none seen) */
  int stage_base;  /* Podman: the steps of the stages before it */
  int stage_steps; /* Podman: the steps of that stage */
} jd_build_steps;

/* One line of the stream (p, n: without its newline, not NUL-terminated,
 * any length: only its first bytes are read). Returns the event; number
 * is set for JD_STEP_START (1-based; Podman's stages counted one after the
 * other like Docker's), id (11 or 12 lowercase hex digits, NUL-terminated)
 * for JD_STEP_RESULT. A RUN's output can print such lines too: what this
 * says is only ever a hint (the caller checks again before it removes
 * anything). */
jd_step_event jd_build_steps_line(jd_build_steps *s, int *number, char id[13], const char *p,
                                  size_t n);

#endif
