/* Private to libdockerapi: setting the thread's last error (error.c). */
#ifndef DOCKERAPI_ERROR_INTERNAL_H
#define DOCKERAPI_ERROR_INTERNAL_H

#include "dockerapi/error.h"

/* Sets the thread's last error and returns `code`. fmt NULL = the table's message. */
int dk__err(int code, long http_status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The code of a non-2xx HTTP status (404 = DK_ENOTFOUND, 5xx = DK_ESERVER...). */
int dk__code_for_status(long status);

#endif
