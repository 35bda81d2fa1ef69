/* The one size parser, for every limit a spec, a task, a config or a flag
 * gives in bytes. */
#ifndef JD_SIZE_H
#define JD_SIZE_H

#include <stdint.h>

/* "123", "64k", "512m", "1.5g", "2G", "1gb" -> bytes (binary units, like
 * Docker's --memory). A decimal number, then at most one of k/m/g (any
 * case), then an optional b/B; fractions of a byte are dropped. -1 for
 * anything else: empty, a sign, a space, another suffix, or more than
 * INT64_MAX bytes. */
int jd_parse_size(int64_t *out, const char *s);

#endif
