/* A Redis connection that survives Redis going away: URL parsing, connect
 * and I/O timeouts, lazy reconnection with exponential backoff.
 *
 * One jd_redis per thread: hiredis contexts are not thread-safe, and a
 * blocking read (XREADGROUP BLOCK) must not hold up other commands.
 *
 * Every command goes through jd_redis_command*(): when the connection is
 * down it is re-established first (unless the backoff delay has not passed
 * yet); an I/O failure drops the connection and returns JD_REDIS_ECONN, so
 * the caller decides whether to retry (jd_redis_backoff_ms() tells how long
 * to wait).
 */
#ifndef JD_REDIS_H
#define JD_REDIS_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

enum {
  JD_REDIS_OK = 0,
  JD_REDIS_EINVAL = -1, /* bad URL or argument */
  JD_REDIS_ECONN = -2,  /* cannot connect, or the connection broke (retry later) */
  JD_REDIS_EREPLY = -3, /* Redis answered with an error reply (see jd_redis_error) */
  JD_REDIS_ENOMEM = -4,
  JD_REDIS_EPROTO = -5, /* an answer of an unexpected shape */
};

/* redis://[[user]:password@]host[:port][/db] or
 * unix://[[user]:password@]/path/to/sock[?db=N]. "user:password@" is a
 * Redis 6 ACL user (AUTH user password); ":password@" or "password@" the
 * default user's password (AUTH password). Both are percent-decoded
 * ("%40" for '@', "%3A" for ':'). */
typedef struct jd_redis_url {
  char host[256]; /* empty for unix sockets */
  int port;       /* default 6379 */
  char path[256]; /* unix socket path */
  char user[128]; /* ACL user; empty = the default user */
  char password[256];
  int db;
} jd_redis_url;

int jd_redis_url_parse(jd_redis_url *out, const char *url);
/* The forms jd_redis_url_parse() takes, for messages: a bad URL is never
 * echoed (it may hold a password). */
#define JD_REDIS_URL_FORMS                                                                         \
  "redis://[[user]:password@]host[:port][/db] or unix://[[user]:password@]/path[?db=N]"

typedef struct jd_redis_opts {
  long connect_timeout_ms; /* 0 = 2000 */
  long io_timeout_ms;      /* 0 = 5000; a blocking command adds its own block time */
  long backoff_min_ms;     /* 0 = 100 */
  long backoff_max_ms;     /* 0 = 5000 */
} jd_redis_opts;

typedef struct jd_redis jd_redis;

/* Parses the URL and makes the handle; no I/O happens here. opts may be
 * NULL. The caller frees it with jd_redis_free(). */
int jd_redis_new(jd_redis **out, const char *url, const jd_redis_opts *opts);
void jd_redis_free(jd_redis *r);

/* Connects now if not connected (AUTH and SELECT included). Returns
 * JD_REDIS_ECONN without trying when the backoff delay has not passed. */
int jd_redis_connect(jd_redis *r);
bool jd_redis_connected(const jd_redis *r);

/* Milliseconds until the next connection attempt is allowed (0 = now). */
int64_t jd_redis_backoff_ms(const jd_redis *r);

/* Runs one command given as argv (lens may be NULL for C strings). On
 * success *out (may be NULL to discard) is the reply; the caller frees it
 * with freeReplyObject(). An error reply returns JD_REDIS_EREPLY with the
 * message in jd_redis_error(); *out is then NULL. block_ms > 0 extends the
 * I/O timeout for a blocking command by that much. */
int jd_redis_command_argv(redisReply **out, jd_redis *r, long block_ms, int argc, const char **argv,
                          const size_t *lens);
/* printf-like form of hiredis (%s, %b, %d...). */
int jd_redis_command(redisReply **out, jd_redis *r, const char *fmt, ...);

/* The last error's text (connection or reply); never NULL. */
const char *jd_redis_error(const jd_redis *r);
/* The URL with the password masked, for logs. */
const char *jd_redis_display_url(const jd_redis *r);

/* Small reply helpers: a reply's integer (integers and numeric strings)
 * and string (status, string, verbatim); -1/NULL when of another kind. */
int jd_reply_int(const redisReply *rep, long long *out);
const char *jd_reply_str(const redisReply *rep);

#endif
