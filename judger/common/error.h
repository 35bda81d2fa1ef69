/* How the judger's internals report failure: one convention for every part.
 *
 * 1. A function that can fail returns int: 0 on success, -1 on failure.
 *    Never another negative, never a positive "partly": what happened beyond
 *    success comes out through out-parameters.
 * 2. Out-parameters come first (`int jd_x_new(jd_x **out, ...)`). What is
 *    returned through `**out` belongs to the caller, who frees it with the
 *    type's `_free()`, which accepts NULL. On failure `*out` is left NULL.
 * 3. The reason for a failure goes, when the caller wants one, into the last
 *    two parameters `char *err, size_t errlen`, written with jd_fail(): one
 *    line, no trailing newline, naming the field or the file concerned.
 *    Functions on plain files and descriptors give errno instead and say so.
 *    Long-lived objects (the daemon) keep their last error and expose it
 *    with an accessor, as libgit2 does.
 * 4. A program's fault is not a failure of the function that judged it: a
 *    build that does not compile or a player that crashes returns 0 with a
 *    verdict (common/verdict.h) in the result. -1 is ours: the engine,
 *    Redis, the disk, the judger; the caller treats it as a system fault.
 * 5. Libraries never print and never exit; only cli/ writes to the
 *    terminal and picks the exit code below.
 */
#ifndef JD_ERROR_H
#define JD_ERROR_H

#include <stddef.h>

/* Exit codes shared by every command, and the class of a fault. */
enum {
  JD_EXIT_OK = 0,
  JD_EXIT_PROGRAM = 1, /* the program's fault: bad Dockerfile, compile error, crash */
  JD_EXIT_USAGE = 2,   /* bad command line or invalid spec/task */
  JD_EXIT_SYSTEM = 3,  /* engine down, Redis down, judger failure */
};

/* Formats a message into err (when err and errlen are set); returns -1, so
 * a parser can `return jd_fail(err, errlen, "...", ...);`. */
int jd_fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
