/* Artifact upload: an HTTP PUT of a file to a pre-signed URL with retries
 * and backoff, its sha256, and gzip compression beforehand of logs and of
 * every file of at least gzip_min_bytes (docs/queue.md "Artifacts"). */
#ifndef JD_UPLOAD_H
#define JD_UPLOAD_H

#include <stdbool.h>
#include <stdint.h>

typedef struct jd_upload_opts {
  int retries;            /* tries in all; 0 = 5 */
  int64_t timeout_ms;     /* per try; 0 = 300000 */
  int64_t backoff_min_ms; /* first delay between tries; 0 = 500 */
  int64_t backoff_max_ms; /* 0 = 30000 */
  /* A file of at least this many bytes is gzipped before upload whatever
   * its name; 0 = only when the caller asks (logs). The daemon passes its
   * setting upload_gzip_min_bytes (default 1 MiB). */
  int64_t gzip_min_bytes;
  /* Polled between tries; non-zero stops retrying (may be NULL). */
  int (*cancelled)(void *ud);
  void *ud;
} jd_upload_opts;

typedef struct jd_upload_report {
  char sha256[65];       /* of the bytes sent */
  int64_t bytes;         /* sent */
  bool gzip;             /* the bytes sent are a gzip stream of the file */
  char sha256_plain[65]; /* of the file itself (= sha256 when not gzipped) */
  int64_t bytes_plain;   /* the file's size */
  bool missing;          /* no such file: nothing was tried */
  int attempts;          /* tries made */
  long http_status;      /* of the last try; 0 without an answer */
  char error[256];       /* why it failed; empty on success */
} jd_upload_report;

/* PUTs the file at path (its last component never followed if a link).
 * It is gzipped first when gzip is set or it has at least
 * opts->gzip_min_bytes bytes: the bytes sent and hashed are then the gzip
 * stream, made in an unnamed temporary beside the file. Retries connection
 * failures and 408/429/5xx answers with exponential backoff; another 4xx
 * fails at once. Returns 0 on a 2xx answer, -1 otherwise with rep->error
 * set. */
int jd_upload_file(jd_upload_report *rep, const char *path, const char *url, bool gzip,
                   const jd_upload_opts *opts);

/* The same for path relative to the directory dir (a task's outputs,
 * written by programs): every component of path is opened from its parent
 * with O_NOFOLLOW, so a link anywhere below dir is refused, never followed;
 * path must name a regular file. rep->missing when it does not exist. */
int jd_upload_under(jd_upload_report *rep, const char *dir, const char *path, const char *url,
                    bool gzip, const jd_upload_opts *opts);

#endif
