/* Watch tokens: who may watch a task's live stream over HTTP. A token is
 * the hex HMAC-SHA256 of "judger-watch:" + the task id under the host's
 * watch key (the watch_key_file setting), so a platform that knows the key
 * hands out per-task tokens (`judger watch-token TASK_ID`) and the daemon
 * checks them without storing any. */
#ifndef JD_WATCH_TOKEN_H
#define JD_WATCH_TOKEN_H

#include <stdbool.h>
#include <stddef.h>

#define JD_WATCH_TOKEN_HEX 64
/* The bounds of a watch key file (after its trailing newline is dropped). */
#define JD_WATCH_KEY_MIN 16
#define JD_WATCH_KEY_MAX 4096

/* hex HMAC-SHA256(key, "judger-watch:" task_id) (lowercase); 0/-1 (NULL
 * or empty key or task id, OpenSSL failure). */
int jd_watch_token(char out[JD_WATCH_TOKEN_HEX + 1], const unsigned char *key, size_t keylen,
                   const char *task_id);
/* Constant-time comparison with the expected token (hex case ignored);
 * false for NULL, a wrong length or an empty key. */
bool jd_watch_token_ok(const char *token, const unsigned char *key, size_t keylen,
                       const char *task_id);
/* Reads a key file: regular file not readable by others (S_IROTH; group may), O_NOFOLLOW,
 * 16..4096 bytes (trailing
 * newline dropped), bounded while read. *out freed by the caller. 0/-1 with
 * err. */
int jd_watch_key_read(unsigned char **out, size_t *len, const char *path, char *err, size_t errlen);

#endif
