/* A plain HTTP request from a test (libcurl): the status, two headers and
 * the body (capped at 16 MiB). For the daemon's /metrics and Prometheus'
 * HTTP API. */
#ifndef JD_TEST_HTTP_CLIENT_H
#define JD_TEST_HTTP_CLIENT_H

#include "dockerapi/buf.h"

typedef struct t_http_answer {
  long status;    /* 0 when the request failed (nothing answered) */
  char type[128]; /* Content-Type */
  char allow[64]; /* Allow */
  dk_buf body;    /* NUL-terminated; the caller frees it with dk_buf_free() */
} t_http_answer;

/* One request; a POST sends a small form body. 0, or -1 when the transfer
 * failed (connection refused...), with a->status 0. */
int t_http(t_http_answer *a, const char *method, const char *url);

#endif
