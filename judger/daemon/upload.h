/* Artifact upload: an HTTP PUT of a file to a pre-signed URL with retries
 * and backoff, its sha256, and gzip compression of logs beforehand. */
#ifndef JD_UPLOAD_H
#define JD_UPLOAD_H

#include <stdbool.h>
#include <stdint.h>

typedef struct jd_upload_opts {
  int retries;            /* tries in all; 0 = 5 */
  int64_t timeout_ms;     /* per try; 0 = 300000 */
  int64_t backoff_min_ms; /* first delay between tries; 0 = 500 */
  int64_t backoff_max_ms; /* 0 = 30000 */
  /* Polled between tries; non-zero stops retrying (may be NULL). */
  int (*cancelled)(void *ud);
  void *ud;
} jd_upload_opts;

typedef struct jd_upload_report {
  char sha256[65];  /* of the bytes sent */
  int64_t bytes;    /* sent */
  int attempts;     /* tries made */
  long http_status; /* of the last try; 0 without an answer */
  char error[256];  /* why it failed; empty on success */
} jd_upload_report;

/* PUTs the file at path (gzipped first when gzip is set: the bytes sent
 * and hashed are then the gzip stream). Retries connection failures and
 * 408/429/5xx answers with exponential backoff; another 4xx fails at once.
 * Returns 0 on a 2xx answer, -1 otherwise with rep->error set. */
int jd_upload_file(jd_upload_report *rep, const char *path, const char *url, bool gzip,
                   const jd_upload_opts *opts);

#endif
