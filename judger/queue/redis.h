/* A Redis connection that survives Redis going away: URL parsing, connect
 * and I/O timeouts, lazy reconnection with exponential backoff.
 *
 * One jd_redis per thread: hiredis contexts are not thread-safe, and a
 * blocking read (XREADGROUP BLOCK) must not hold up other commands.
 *
 * Every command goes through jd_redis_command*(): when the connection is
 * down it is re-established first (unless the backoff delay has not passed
 * yet); an I/O failure drops the connection and returns -1 with
 * jd_redis_last() == JD_REDIS_CONN, so the caller decides whether to retry
 * (jd_redis_backoff_ms() tells how long to wait).
 *
 * A redis-sentinel:// URL connects through Redis Sentinel: each connect asks
 * the sentinels (in order, 500 ms each at most; who answers comes first from
 * then on) for the primary, connects to it and checks with ROLE that it is
 * one (a replica: JD_REDIS_CONN, retried). The sentinels are asked again on
 * every reconnect, so a connection follows a failover at its next connection
 * error; +switch-master is not subscribed to. In both modes an error reply
 * READONLY, MASTERDOWN or LOADING (the node is not a working primary now)
 * drops the connection and returns -1 with JD_REDIS_CONN: the command wrote
 * nothing (a replica refuses every write), so the caller retries it.
 *
 * What a sentinel or a node sends during a connect (a sentinel's answer,
 * AUTH, ROLE, SELECT) and ROLE's answers are bounded: 64 kB, 4096 array
 * elements, one deadline per exchange. Text from a node or a sentinel is
 * cleaned (controls escaped, invalid UTF-8 replaced) before it enters
 * jd_redis_error(); the URL's names, passwords, host and path may hold no
 * control character.
 *
 * Errors (common/error.h, rule 4): every int function returns 0 or -1; the
 * connection keeps the kind of its last failure (jd_redis_last()) and its
 * message (jd_redis_error()).
 */
#ifndef JD_REDIS_H
#define JD_REDIS_H

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

/* The kind of a connection's last failure: one list gives the enum and
 * its name. */
#define JD_REDIS_FAILURE_MAP(XX)                                                                   \
  XX(NONE, "none")         /* no failure yet */                                                    \
  XX(INVAL, "invalid")     /* a bad argument (too many for one command) */                         \
  XX(CONN, "connection")   /* cannot connect, or the connection broke: retry later */              \
  XX(REPLY, "error reply") /* Redis answered with an error reply (see jd_redis_error) */           \
  XX(NOMEM, "out of memory")                                                                       \
  XX(PROTO, "protocol") /* an answer of an unexpected shape */

typedef enum jd_redis_failure {
#define JD_REDIS_FAILURE_ENUM(code, name) JD_REDIS_##code,
  JD_REDIS_FAILURE_MAP(JD_REDIS_FAILURE_ENUM)
#undef JD_REDIS_FAILURE_ENUM
      JD_REDIS_FAILURE_COUNT
} jd_redis_failure;

const char *jd_redis_failure_name(jd_redis_failure f);

/* The most sentinels one redis-sentinel:// URL names. */
#define JD_REDIS_SENTINELS_MAX 8

/* A host (name or address, at most 255 bytes) and a port (1..65535). */
typedef struct jd_redis_hostport {
  char host[256];
  int port;
} jd_redis_hostport;

/* redis://[[user]:password@]host[:port][/db] or
 * unix://[[user]:password@]/path/to/sock[?db=N] or
 * redis-sentinel://[[user]:password@]host1[:port1][,host2[:port2]...]/master[/db]
 *   [?sentinel_user=U&sentinel_password=P].
 * "user:password@" is a Redis 6 ACL user (AUTH user password); ":password@"
 * or "password@" the default user's password (AUTH password): in the
 * sentinel form they are the data nodes' (the primary's). The sentinels'
 * own credentials are the query's sentinel_user / sentinel_password. All
 * are percent-decoded ("%40" for '@', "%3A" for ':'; in the sentinel form
 * also '?', '/', ',' and '&'). Sentinel ports default to 26379, at most
 * JD_REDIS_SENTINELS_MAX sentinels, the master name is [A-Za-z0-9._-]{1,64}. */
typedef struct jd_redis_url {
  char host[256]; /* empty for unix sockets and the sentinel form */
  int port;       /* default 6379 */
  char path[256]; /* unix socket path */
  char user[128]; /* ACL user; empty = the default user */
  char password[256];
  int db;
  bool sentinel; /* a redis-sentinel:// URL */
  size_t nsentinels;
  jd_redis_hostport sentinels[JD_REDIS_SENTINELS_MAX];
  char master[65]; /* the name the sentinels monitor */
  char sentinel_user[128], sentinel_password[256];
} jd_redis_url;

/* 0, or -1 when the URL is not of these forms. */
int jd_redis_url_parse(jd_redis_url *out, const char *url);
/* The forms jd_redis_url_parse() takes, for messages: a bad URL is never
 * echoed (it may hold a password). */
#define JD_REDIS_URL_FORMS                                                                         \
  "redis://[[user]:password@]host[:port][/db] or unix://[[user]:password@]/path[?db=N] or "        \
  "redis-sentinel://[[user]:password@]host1[:port1][,host2[:port2]...]/master[/db]"                \
  "[?sentinel_user=U&sentinel_password=P]"

/* What every connection of a process may share (jd_redis_opts.stats; NULL
 * = none): the primary last used and counts, for metrics and status. The
 * caller owns it: jd_redis_stats_init() before the first jd_redis_new()
 * that uses it, jd_redis_stats_destroy() after the last jd_redis_free(). */
typedef struct jd_redis_stats {
  pthread_mutex_t mu;
  char primary[300];  /* "host:port" (or socket path) last connected to as primary; "" = none */
  uint64_t failovers; /* times a connection found the sentinels naming another primary */
  uint64_t readonly;  /* READONLY / MASTERDOWN / LOADING replies turned into a reconnect */
  uint64_t sentinel_failures; /* a sentinel that could not be asked (down, auth, bad answer) */
} jd_redis_stats;

void jd_redis_stats_init(jd_redis_stats *s);
void jd_redis_stats_destroy(jd_redis_stats *s);
/* A consistent copy of s's counters and primary into *out (s may be NULL:
 * all zero). out->mu is not initialized: the copy is a plain value, never
 * locked, never destroyed. */
void jd_redis_stats_get(jd_redis_stats *out, jd_redis_stats *s);

typedef struct jd_redis_opts {
  long connect_timeout_ms; /* 0 = 2000 */
  long io_timeout_ms;      /* 0 = 5000; a blocking command adds its own block time */
  long backoff_min_ms;     /* 0 = 100 */
  long backoff_max_ms;     /* 0 = 5000; in sentinel mode 1000 at most for a node that accepted,
                            * then refused (LOADING...), 250 at most for a failed connect */
  jd_redis_stats *stats;   /* shared counters; NULL = none; the caller keeps it alive */
} jd_redis_opts;

typedef struct jd_redis jd_redis;

/* Parses the URL and makes the handle; no I/O happens here. opts may be
 * NULL. -1 when out of memory or the URL is not one jd_redis_url_parse()
 * takes. The caller frees it with jd_redis_free(). */
int jd_redis_new(jd_redis **out, const char *url, const jd_redis_opts *opts);
void jd_redis_free(jd_redis *r);

/* Connects now if not connected (AUTH and SELECT included). Returns -1
 * (JD_REDIS_CONN) without trying when the backoff delay has not passed. */
int jd_redis_connect(jd_redis *r);
bool jd_redis_connected(const jd_redis *r);

/* Milliseconds until the next connection attempt is allowed (0 = now).
 * The delay grows with each failed connect or dropped connection and
 * restarts only once a connection had a command answered (ROLE aside): a
 * node that accepts, then answers LOADING, is retried ever more slowly. */
int64_t jd_redis_backoff_ms(const jd_redis *r);

/* Runs one command given as argv (lens may be NULL for C strings). On
 * success *out (may be NULL to discard) is the reply; the caller frees it
 * with freeReplyObject(). An error reply returns -1 (JD_REDIS_REPLY) with
 * the message in jd_redis_error(); *out is then NULL. block_ms > 0 extends the
 * I/O timeout for a blocking command by that much. */
int jd_redis_command_argv(redisReply **out, jd_redis *r, long block_ms, int argc, const char **argv,
                          const size_t *lens);
/* printf-like form of hiredis (%s, %b, %d...). */
int jd_redis_command(redisReply **out, jd_redis *r, const char *fmt, ...);
/* INCR fence_key, then WAIT nreplicas timeout_ms, pipelined: one round
 * trip on the connection that is up now (never a new one: a WAIT counts
 * only its own connection's writes; not connected: -1, JD_REDIS_CONN).
 * The I/O timeout is extended by timeout_ms for the pair. The INCR's reply
 * is taken as jd_redis_command()'s: READONLY, MASTERDOWN or LOADING drops
 * the connection (JD_REDIS_CONN: the WAIT's answer means nothing), another
 * error reply (NOREPLICAS...) is -1 with JD_REDIS_REPLY and its message
 * (the WAIT's reply is read and dropped, the connection stays). *acked =
 * the replicas WAIT counted; JD_REDIS_PROTO when it is not an integer. */
int jd_redis_fence_wait(long long *acked, jd_redis *r, const char *fence_key, int nreplicas,
                        long timeout_ms);

/* The kind of the last failure: what a -1 of this connection was. Every
 * command starts from JD_REDIS_NONE, so a -1 that did not record its kind
 * can never read as an old JD_REDIS_CONN (and be retried for ever); the
 * failure a layer above records (jd_redis_fail) stays until the next
 * command. */
jd_redis_failure jd_redis_last(const jd_redis *r);
/* The last failure's text (connection, reply or answer); never NULL. */
const char *jd_redis_error(const jd_redis *r);
/* Records a failure found by a layer above in what this connection
 * answered (JD_REDIS_PROTO, JD_REDIS_NOMEM...): its kind and message, as
 * jd_redis_last() and jd_redis_error() then tell. Returns -1. */
int jd_redis_fail(jd_redis *r, jd_redis_failure kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The URL with the passwords masked (the data nodes' and the sentinels'),
 * for logs. */
const char *jd_redis_display_url(const jd_redis *r);
/* The primary (or the one node) this connection is connected to,
 * "host:port" or the socket path; "" when not connected. */
const char *jd_redis_peer(const jd_redis *r);
/* How many connections this handle has made (1 after the first connect):
 * writes made under one generation went to one node over one connection,
 * so a WAIT under another generation says nothing about them. */
uint64_t jd_redis_generation(const jd_redis *r);
/* True for a redis-sentinel:// URL (the primary is found through Sentinel). */
bool jd_redis_sentinel_mode(const jd_redis *r);
/* *n = the number of replicas the connected primary reports now (ROLE:
 * its online replicas); connects first if needed. A node whose role is not
 * master (a primary demoted under a live connection) is no count: -1 with
 * JD_REDIS_CONN, the connection dropped (the caller reconnects). */
int jd_redis_replica_count(int *n, jd_redis *r);

/* Small reply helpers: a reply's integer (integers and numeric strings)
 * and string (status, string, verbatim); -1/NULL when of another kind. */
int jd_reply_int(const redisReply *rep, long long *out);
const char *jd_reply_str(const redisReply *rep);

#endif
