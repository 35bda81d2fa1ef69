/* What redis.c and sentinel.c share; no other part includes this. */
#ifndef JD_REDIS_INTERNAL_H
#define JD_REDIS_INTERNAL_H

#include <stddef.h>

#include <hiredis/hiredis.h>

#include "queue/redis.h"

/* Default port of a sentinel. */
#define JD_SENTINEL_PORT 26379
/* A sentinel is given at most this long to accept a connection. */
#define JD_SENTINEL_CONNECT_MS 500

/* Percent-decodes s[0..n) into out (NUL-terminated); -1 when it does not
 * fit, a %-escape is bad or decodes to NUL. */
int jd_redis_url_decode(char *out, size_t outlen, const char *s, size_t n);
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

/* ROLE on a fresh connection to addr: 0 when it is a master, -1 with err
 * otherwise ("<addr> is a replica: ..."). */
int jd_sentinel_check_master(redisContext *c, const char *addr, char *err, size_t errlen);

/* The URL a connection was made with (sentinels in their current order). */
const jd_redis_url *jd_redis_url_of(const jd_redis *r);
/* Its connect and I/O timeouts (ms). */
void jd_redis_timeouts_of(const jd_redis *r, long *connect_ms, long *io_ms);

#endif
