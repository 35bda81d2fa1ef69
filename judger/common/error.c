#include "common/error.h"

#include <stdarg.h>
#include <stdio.h>

static void vfail(char *err, size_t errlen, const char *fmt, va_list ap);

int jd_fail(char *err, size_t errlen, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vfail(err, errlen, fmt, ap);
  va_end(ap);
  return -1;
}

static void vfail(char *err, size_t errlen, const char *fmt, va_list ap) {
  if (err && errlen)
    vsnprintf(err, errlen, fmt, ap);
}

int jd_fail_as(jd_fail_kind *kind, jd_fail_kind k, char *err, size_t errlen, const char *fmt, ...) {
  if (kind)
    *kind = k;
  va_list ap;
  va_start(ap, fmt);
  vfail(err, errlen, fmt, ap);
  va_end(ap);
  return -1;
}

const char *jd_fail_kind_name(jd_fail_kind k) {
  switch (k) {
#define JD_FAIL_NAME(code, name, exit_code)                                                        \
  case JD_FAIL_##code:                                                                             \
    return name;
    JD_FAIL_MAP(JD_FAIL_NAME)
#undef JD_FAIL_NAME
  case JD_FAIL_COUNT:
    break;
  }
  return "unknown";
}

int jd_fail_kind_exit(jd_fail_kind k) {
  switch (k) {
#define JD_FAIL_EXIT(code, name, exit_code)                                                        \
  case JD_FAIL_##code:                                                                             \
    return exit_code;
    JD_FAIL_MAP(JD_FAIL_EXIT)
#undef JD_FAIL_EXIT
  case JD_FAIL_COUNT:
    break;
  }
  return JD_EXIT_SYSTEM;
}
