#include "common/size.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>

int jd_parse_size(int64_t *out, const char *s) {
  /* strtod alone would take " 1", "+1", "-1", "inf", "0x10" and "1e3". */
  if (!s || !isdigit((unsigned char)*s))
    return -1;
  const char *p = s;
  while (isdigit((unsigned char)*p))
    p++;
  bool fraction = *p == '.';
  if (fraction) {
    p++;
    if (!isdigit((unsigned char)*p))
      return -1;
    while (isdigit((unsigned char)*p))
      p++;
  }
  /* Whole numbers stay exact in integers; only a fraction goes through a
   * double (where a few bytes of rounding at the exabyte scale is fine). */
  errno = 0;
  char *end = NULL;
  unsigned long long whole = 0;
  double v = 0;
  if (fraction)
    v = strtod(s, &end);
  else
    whole = strtoull(s, &end, 10);
  if (errno || end != p)
    return -1;
  int64_t mult = 1;
  switch (tolower((unsigned char)*end)) {
  case '\0':
    break;
  case 'k':
    mult = 1024;
    end++;
    break;
  case 'm':
    mult = (int64_t)1024 * 1024;
    end++;
    break;
  case 'g':
    mult = (int64_t)1024 * 1024 * 1024;
    end++;
    break;
  default:
    return -1;
  }
  if (*end == 'b' || *end == 'B')
    end++;
  if (*end)
    return -1;
  if (!fraction) {
    if (whole > (unsigned long long)(INT64_MAX / mult))
      return -1;
    *out = (int64_t)whole * mult;
    return 0;
  }
  double bytes = floor(v * (double)mult);
  /* 2^63 is the first double past INT64_MAX. */
  if (!(bytes < 9223372036854775808.0))
    return -1;
  *out = (int64_t)bytes;
  return 0;
}
