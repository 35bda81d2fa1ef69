/* How the judger's internals report failure: one convention for every part.
 *
 * 1. A function that can fail returns int: 0 on success, -1 on failure.
 *    Never another negative, never a positive "partly": what happened beyond
 *    success comes out through out-parameters. (libdockerapi, a separate
 *    library, has its own table, dk_err; its codes stop at the edge of the
 *    part that calls the engine: see 5.)
 * 2. Out-parameters come first (`int jd_x_new(jd_x **out, ...)`). What is
 *    returned through `**out` belongs to the caller, who frees it with the
 *    type's `_free()`, which accepts NULL. On failure `*out` is left NULL.
 *    A function with many inputs takes them as one struct with an `_INIT`
 *    constant (libgit2's options rule), not as a long list.
 * 3. The reason for a failure goes, when the caller wants one, into the last
 *    two parameters `char *err, size_t errlen`, written with jd_fail(): one
 *    line, no trailing newline, naming the field or the file concerned.
 *    Where the caller must know what kind of failure it was (whose fault:
 *    the program's, the request's, ours), a `jd_fail_kind *kind` comes just
 *    before them, written with jd_fail_as(). Functions on plain files and
 *    descriptors give errno instead and say so.
 * 4. Long-lived objects keep their last failure and expose it with an
 *    accessor, as libgit2 does: the daemon its last error, the Redis
 *    connection (queue/redis.h) the kind of its last failure (the
 *    connection was lost: retry later; Redis refused; the answer had
 *    another shape) and its message.
 * 5. At a part's edge, an engine code (dk_err) becomes -1 and the status the
 *    result already carries; where the caller must tell one engine answer
 *    from another (an image that is not there, a name already taken), an
 *    out-parameter says so (`bool *missing`), never the return value.
 * 6. A program's fault is not a failure of the function that judged it: a
 *    build that does not compile or a player that crashes returns 0 with a
 *    verdict (common/verdict.h) in the result. -1 is ours: the engine,
 *    Redis, the disk, the judger; the caller treats it as a system fault.
 *    (A fetch that fails because of what the program named, a git URL
 *    without the ref, says JD_FAIL_PROGRAM through its kind.)
 * 7. Libraries never print, never exit and never read the environment; only
 *    cli/ writes to the terminal, picks the exit code below and reads the
 *    settings (flags, environment, the daemon's file) that it hands down.
 *
 * tests/style/gate.py reports the int functions that return anything but
 * 0 and -1.
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

/* What kind of failure a -1 was, when the caller must know (rule 3): one
 * list gives the enum, its name and the exit code a command gives for it. */
#define JD_FAIL_MAP(XX)                                                                            \
  XX(SYSTEM, "system", JD_EXIT_SYSTEM)    /* ours: disk, memory, engine, Redis */                  \
  XX(PROGRAM, "program", JD_EXIT_PROGRAM) /* what the program named or sent is wrong */            \
  XX(TIMEOUT, "timeout", JD_EXIT_PROGRAM) /* the program's source took past its time */            \
  XX(USAGE, "usage", JD_EXIT_USAGE)       /* the request itself is malformed */

typedef enum jd_fail_kind {
#define JD_FAIL_ENUM(code, name, exit_code) JD_FAIL_##code,
  JD_FAIL_MAP(JD_FAIL_ENUM)
#undef JD_FAIL_ENUM
      JD_FAIL_COUNT
} jd_fail_kind;

const char *jd_fail_kind_name(jd_fail_kind k);
int jd_fail_kind_exit(jd_fail_kind k);

/* jd_fail() that also sets *kind (when kind is set); returns -1. */
int jd_fail_as(jd_fail_kind *kind, jd_fail_kind k, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

#endif
