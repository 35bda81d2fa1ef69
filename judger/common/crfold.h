/* Carriage-return folding: a program's text as a terminal would leave it.
 *
 * Progress bars (dpkg's "(Reading database ... 45%", curl, pip) rewrite one
 * line with CR; stored as bytes, every update becomes a line of the build
 * log. Folding keeps the last state of each line: a CR moves the cursor to
 * the start of the line, a backspace one character back, and what follows
 * overwrites character by character (a shorter rewrite leaves the end of
 * the longer one, as on a screen). "\r\n" is a plain line end. Other
 * control characters are left for the sanitiser (common/utf8.h). */
#ifndef JD_CRFOLD_H
#define JD_CRFOLD_H

#include <stddef.h>

/* The folded form of s[0..len), malloc'd and NUL-terminated, of *outlen
 * bytes (never more than len). Linear in len. NULL on out of memory. */
char *jd_crfold(const char *s, size_t len, size_t *outlen);

/* The same in place on a NUL-terminated buffer of len bytes; returns the
 * new length (unchanged on out of memory). */
size_t jd_crfold_inplace(char *s, size_t len);

#endif
