/* Private to the input cache (input_cache.c: the directory, its locks,
 * writing and checking files, gc; input_fetch.c: the download). */
#ifndef JD_INPUT_CACHE_INTERNAL_H
#define JD_INPUT_CACHE_INTERNAL_H

#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "dockerapi/dockerapi.h"

/* <state_dir>/inputs, made 0700 when missing, opened O_DIRECTORY|O_NOFOLLOW
 * and refused unless it is ours and nobody else may write in it. 0 with
 * *fd, or -1 with errno. */
int jd_inputs_dir_open(int *fd, const char *state_dir);

/* How long a caller waits for another's fetch of the same hash: the
 * longest a download may take, and a little more. */
#define JD_INPUTS_FETCH_MS 600000L
#define JD_INPUTS_LOCK_WAIT_MS (JD_INPUTS_FETCH_MS + 10000L)

/* The hash's fetch lock (<sha256>.lock in the directory, LOCK_EX), waited
 * for until cancel fires (may be NULL) or JD_INPUTS_LOCK_WAIT_MS passed
 * (errno ECANCELED, ETIMEDOUT). 0 with *fd (close it to let go), or -1
 * with errno. */
int jd_inputs_lock(int *fd, int dirfd, const char *sha256, const dk_cancel *cancel);

/* Whether the cache holds a whole file of this hash: a regular file of
 * ours, read through (never a link) and hashed. A name that holds anything
 * else (a link, a file of another hash or mode, a planted one) is removed
 * so it can be written again. *hit, or -1 with the reason (the disk). */
int jd_inputs_check(bool *hit, int dirfd, const char *sha256, char *err, size_t errlen);

/* A file being written into the cache: an O_EXCL|O_NOFOLLOW temporary under
 * a random name, its running sha256 and size. */
typedef struct jd_inputs_tmp {
  int dirfd, fd;
  char name[40];
  EVP_MD_CTX *md;
  uint64_t bytes;
} jd_inputs_tmp;

int jd_inputs_tmp_open(jd_inputs_tmp *t, int dirfd, char *err, size_t errlen);
/* Appends len bytes (hashed as they go). 0, or -1 with errno. */
int jd_inputs_tmp_write(jd_inputs_tmp *t, const void *data, size_t len);
/* The hash checked against sha256: on a match the file is made 0444 and
 * renamed to its hash; otherwise removed, "sha256 mismatch: got <hex>"
 * (kind PROGRAM). The temporary is gone either way. */
int jd_inputs_tmp_commit(jd_inputs_tmp *t, const char *sha256, jd_fail_kind *kind, char *err,
                         size_t errlen);
void jd_inputs_tmp_abort(jd_inputs_tmp *t);

/* *kind = JD_FAIL_SYSTEM (err already written); returns -1. */
static inline int jd_inputs_system(jd_fail_kind *kind) {
  if (kind)
    *kind = JD_FAIL_SYSTEM;
  return -1;
}

#endif
