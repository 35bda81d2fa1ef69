/* Typed JSON fields of a match spec (see match_spec_internal.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/size.h"
#include "match/match_spec_internal.h"

int jd_spec_bad(jd_spec_err *e, const char *field, const char *fmt, ...) {
  if (e->len) {
    int n = snprintf(e->buf, e->len, "%s: ", field);
    if (n >= 0 && (size_t)n < e->len) {
      va_list ap;
      va_start(ap, fmt);
      vsnprintf(e->buf + n, e->len - (size_t)n, fmt, ap);
      va_end(ap);
    }
  }
  return -1;
}

int jd_spec_check_keys(jd_spec_err *e, const char *where, json_object *o,
                       const char *const *allowed) {
  json_object_object_foreach(o, key, val) {
    (void)val;
    bool ok = false;
    for (const char *const *a = allowed; *a; a++)
      ok = ok || !strcmp(*a, key);
    if (!ok) {
      char f[256];
      snprintf(f, sizeof f, "%s%s%s", where, *where ? "." : "", key);
      return jd_spec_bad(e, f, "unknown field");
    }
  }
  return 0;
}

int jd_spec_get_string(jd_spec_err *e, const char *field, json_object *v, char **out) {
  if (!json_object_is_type(v, json_type_string))
    return jd_spec_bad(e, field, "must be a string");
  free(*out);
  *out = strdup(json_object_get_string(v));
  return *out ? 0 : jd_spec_bad(e, field, "out of memory");
}

int jd_spec_get_int(jd_spec_err *e, const char *field, json_object *v, int64_t min, int64_t max,
                    int64_t *out) {
  if (!json_object_is_type(v, json_type_int))
    return jd_spec_bad(e, field, "must be an integer");
  errno = 0;
  int64_t x = json_object_get_int64(v);
  if (errno || x < min || x > max)
    return jd_spec_bad(e, field, "must be between %lld and %lld", (long long)min, (long long)max);
  *out = x;
  return 0;
}

int jd_spec_get_size(jd_spec_err *e, const char *field, json_object *v, int64_t min, int64_t max,
                     int64_t *out) {
  int64_t x;
  if (json_object_is_type(v, json_type_string)) {
    if (jd_parse_size(&x, json_object_get_string(v)))
      return jd_spec_bad(e, field, "not a size (bytes, or a number with k, m or g)");
  } else if (json_object_is_type(v, json_type_int)) {
    errno = 0;
    x = json_object_get_int64(v);
    if (errno)
      return jd_spec_bad(e, field, "out of range");
  } else {
    return jd_spec_bad(e, field, "must be a size (bytes, or a string like \"256m\")");
  }
  if (x < min || x > max)
    return jd_spec_bad(e, field, "must be between %lld and %lld bytes", (long long)min,
                       (long long)max);
  *out = x;
  return 0;
}
