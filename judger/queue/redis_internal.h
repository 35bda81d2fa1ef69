/* What redis.c and sentinel.c share; no other part includes this. */
#ifndef JD_REDIS_INTERNAL_H
#define JD_REDIS_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

#include "queue/redis.h"

/* Default port of a sentinel. */
#define JD_SENTINEL_PORT 26379
/* A sentinel is given at most this long to accept a connection, and this
 * long for the whole exchange (connect, AUTH, the question, the answer). */
#define JD_SENTINEL_CONNECT_MS 500
#define JD_SENTINEL_ANSWER_MS 2000

/* The limits of a small exchange (a sentinel's answers; a data node's
 * AUTH, ROLE and SELECT; ROLE for the replicas): whatever the peer sends,
 * at most this many bytes are read and this many array elements (all
 * arrays together) made, and the exchange ends by one deadline. */
#define JD_REDIS_SMALL_BYTES 65536
#define JD_REDIS_SMALL_ELEMENTS 4096

/* Sends the command (hiredis's format) on the blocking context c and reads
 * its reply within those limits by deadline_ms (jd_mono_ms()). NULL with
 * c->errstr set (and c->err: the stream is out of step, close it). */
redisReply *jd_redis_small_vcommand(redisContext *c, int64_t deadline_ms, const char *fmt,
                                    va_list ap);
redisReply *jd_redis_small_command(redisContext *c, int64_t deadline_ms, const char *fmt, ...);
/* A small exchange on r's connection (connecting first), the I/O timeout
 * as its deadline: the reply or -1 as jd_redis_command() says. A reply
 * does not reset the reconnection backoff (ROLE answers while loading). */
int jd_redis_small(redisReply **out, jd_redis *r, const char *cmd);
/* Drops r's connection and fails it (JD_REDIS_CONN, the backoff grows)
 * with the message. Returns -1. */
int jd_redis_drop(jd_redis *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Text a node or a sentinel sent, for a message: cut to len - 1 bytes,
 * control bytes (C0, DEL, C1) escaped, invalid UTF-8 replaced. */
void jd_redis_clean_text(char *out, size_t len, const char *s);

/* Percent-decodes s[0..n) into out (NUL-terminated); -1 when it does not
 * fit, a %-escape is bad or decodes to NUL, or the result is not
 * jd_redis_text_ok() (a user name or password is printed or sent). */
int jd_redis_url_decode(char *out, size_t outlen, const char *s, size_t n);
/* True when s[0..n) is valid UTF-8 without control characters (C0, DEL,
 * C1): what the URL's names, passwords, host and path may hold. */
bool jd_redis_text_ok(const char *s, size_t n);
/* s[0..n) as a decimal in [lo, hi]; -1 otherwise. */
int jd_redis_parse_int(const char *s, size_t n, int lo, int hi, int *out);
/* The "[user]:password@" part from p to at (exclusive). */
int jd_redis_parse_credentials(jd_redis_url *out, const char *p, const char *at);

/* The part of a redis-sentinel:// URL after the scheme into *out (already
 * zeroed by the caller). */
int jd_sentinel_url_parse(jd_redis_url *out, const char *rest);
/* The sentinel URL with both passwords masked. */
void jd_sentinel_display(char *buf, size_t len, const jd_redis_url *u);

/* 0 when host (len bytes) is a plausible host name or address: 1..255
 * bytes of [A-Za-z0-9.:_-]. What a sentinel answers is checked so. */
int jd_sentinel_host_ok(const char *host, size_t len);

/* Asks u's sentinels in order for the primary of u->master; the first that
 * answers wins and moves to the front of u->sentinels. -1 with err naming
 * every sentinel and why when none answered (stats->sentinel_failures
 * counts each). */
int jd_sentinel_discover(jd_redis_hostport *out, jd_redis_url *u, long connect_timeout_ms,
                         long io_timeout_ms, jd_redis_stats *stats, char *err, size_t errlen);

/* ROLE on a fresh connection to addr (a small exchange ending by
 * deadline_ms): 0 when it is a master, -1 with err otherwise ("<addr> is a
 * replica: ..."). */
int jd_sentinel_check_master(redisContext *c, int64_t deadline_ms, const char *addr, char *err,
                             size_t errlen);

/* The URL a connection was made with (sentinels in their current order). */
const jd_redis_url *jd_redis_url_of(const jd_redis *r);
/* Its connect and I/O timeouts (ms). */
void jd_redis_timeouts_of(const jd_redis *r, long *connect_ms, long *io_ms);

#endif
