/* Error table and the per-thread last error. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "dockerapi/error.h"
#include "error_internal.h"

static _Thread_local dk_error last_error;
static _Thread_local char last_message[1024];
static _Thread_local int has_error;

const char *dk_error_name(int code) {
  switch (code) {
  case DK_OK:
    return "DK_OK";
#define DK_XX_NAME(name, value, msg)                                                               \
  case DK_##name:                                                                                  \
    return "DK_" #name;
    DK_ERROR_MAP(DK_XX_NAME)
#undef DK_XX_NAME
  default:
    return "DK_EUNKNOWN";
  }
}

const char *dk_strerror(int code) {
  switch (code) {
  case DK_OK:
    return "success";
#define DK_XX_MSG(name, value, msg)                                                                \
  case DK_##name:                                                                                  \
    return msg;
    DK_ERROR_MAP(DK_XX_MSG)
#undef DK_XX_MSG
  default:
    return "unknown error";
  }
}

const dk_error *dk_error_last(void) { return has_error ? &last_error : NULL; }

void dk_error_clear(void) {
  has_error = 0;
  last_message[0] = '\0';
}

int dk__err(int code, long http_status, const char *fmt, ...) {
  has_error = 1;
  last_error.code = code;
  last_error.http_status = http_status;
  if (fmt) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_message, sizeof last_message, fmt, ap);
    va_end(ap);
  } else {
    snprintf(last_message, sizeof last_message, "%s", dk_strerror(code));
  }
  last_error.message = last_message;
  return code;
}

int dk__code_for_status(long status) {
  switch (status) {
  case 304:
    return DK_ENOTMODIFIED;
  case 400:
    return DK_EBADREQ;
  case 403:
    return DK_EFORBIDDEN;
  case 404:
    return DK_ENOTFOUND;
  case 409:
    return DK_ECONFLICT;
  default:
    if (status >= 500 && status < 600)
      return DK_ESERVER;
    return DK_EHTTP;
  }
}
