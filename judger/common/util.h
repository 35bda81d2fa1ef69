/* Small helpers shared by the judger's modules: files, hashes, ids. */
#ifndef JD_UTIL_H
#define JD_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "common/fs.h" /* jd_mkdir_p, jd_rm_rf, jd_copy_tree moved there */

/* sha256 of data as 64 lowercase hex chars + NUL. */
void jd_sha256_hex(char out[65], const void *data, size_t len);
/* sha256 of a file's bytes (never through a link); -1 with errno on I/O
 * failure. */
int jd_sha256_file_hex(char out[65], const char *path);
/* Feeds the bytes of the file at path into md, opened without following a
 * final link (a tree being hashed may hold a program's links); -1 with
 * errno on I/O failure. */
int jd_digest_file(EVP_MD_CTX *md, const char *path);

/* Reads a whole file (at most max bytes; more = -1 with errno EFBIG).
 * *data is malloc'd, NUL-terminated; the caller frees it. */
int jd_read_file(char **data, size_t *len, const char *path, size_t max);
/* Writes all n bytes to fd, retrying short writes and EINTR; -1 with
 * errno on failure. */
int jd_write_all(int fd, const void *data, size_t n);
bool jd_path_exists(const char *path);

/* Lowercase [a-z0-9][a-z0-9_.-]* of at most max chars: safe in image names,
 * container names and file names. */
bool jd_is_safe_name(const char *s, size_t max);

/* Fills out with n random bytes as 2n hex chars (openssl RAND). */
int jd_random_hex(char *out, size_t n);

#endif
