/* A Redis connection with timeouts and reconnection backoff (see redis.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "common/backoff.h"
#include "common/clock.h"
#include "common/utf8.h"
#include "queue/redis.h"
#include "queue/redis_internal.h"

struct jd_redis {
  redisContext *c;
  jd_redis_url url; /* in sentinel mode the sentinels' order changes: who answered comes first */
  char display[2600];
  long connect_timeout_ms, io_timeout_ms;
  long backoff_min_ms, backoff_max_ms;
  long connect_max_ms;       /* the cap after a failed connect (sentinel mode: smaller) */
  int64_t backoff_ms;        /* current delay; 0 once a connection answered a command */
  bool slowed;               /* a node refused since: the delay grows up to backoff_max_ms */
  bool fresh;                /* connected, no command answered yet: the backoff stands */
  int64_t setup_deadline_ms; /* open_node: AUTH, ROLE, SELECT end by then */
  int64_t next_try_ms;       /* monotonic time before which no connect is tried */
  jd_redis_stats *stats;
  char peer[300];        /* the node connected to; "" when not */
  uint64_t generation;   /* connections made so far (jd_redis_generation) */
  char last_failed[300]; /* sentinel mode: the primary the last connect failed on */
  jd_redis_failure last;
  char err[3072];
};

static const char *const failure_names[] = {
#define JD_REDIS_FAILURE_NAME(code, name) name,
    JD_REDIS_FAILURE_MAP(JD_REDIS_FAILURE_NAME)
#undef JD_REDIS_FAILURE_NAME
};

const char *jd_redis_failure_name(jd_redis_failure f) {
  return (unsigned)f < JD_REDIS_FAILURE_COUNT ? failure_names[f] : "?";
}

int jd_redis_fail(jd_redis *r, jd_redis_failure kind, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(r->err, sizeof r->err, fmt, ap);
  va_end(ap);
  r->last = kind;
  return -1;
}

static struct timeval tv_of(long ms) {
  struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
  return tv;
}

int jd_redis_parse_int(const char *s, size_t n, int lo, int hi, int *out) {
  if (n == 0 || n > 9)
    return -1;
  int v = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return -1;
    v = v * 10 + (s[i] - '0');
  }
  if (v < lo || v > hi)
    return -1;
  *out = v;
  return 0;
}

/* At most outlen - 1 bytes are written (see redis_internal.h). */
int jd_redis_url_decode(char *out, size_t outlen, const char *s, size_t n) {
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char ch = (unsigned char)s[i];
    if (ch == '%') {
      unsigned v = 0;
      for (size_t k = 1; k <= 2; k++) {
        char h = i + k < n ? s[i + k] : '\0';
        int d = h >= '0' && h <= '9'   ? h - '0'
                : h >= 'a' && h <= 'f' ? h - 'a' + 10
                : h >= 'A' && h <= 'F' ? h - 'A' + 10
                                       : -1;
        if (d < 0)
          return -1;
        v = v * 16 + (unsigned)d;
      }
      if (v == 0)
        return -1;
      ch = (unsigned char)v;
      i += 2;
    }
    if (o + 1 >= outlen)
      return -1;
    out[o++] = (char)ch;
  }
  out[o] = '\0';
  return jd_redis_text_ok(out, o) ? 0 : -1;
}

bool jd_redis_text_ok(const char *s, size_t n) {
  if (!jd_utf8_valid(s, n))
    return false;
  for (size_t i = 0; i < n; i++) {
    unsigned char ch = (unsigned char)s[i];
    /* C0, DEL, and C1 (U+0080..U+009F: C2 80..C2 9F) */
    if (ch < 0x20 || ch == 0x7f || (ch == 0xC2 && i + 1 < n && (unsigned char)s[i + 1] < 0xA0))
      return false;
  }
  return true;
}

int jd_redis_parse_credentials(jd_redis_url *out, const char *p, const char *at) {
  const char *colon = memchr(p, ':', (size_t)(at - p));
  const char *pw = colon ? colon + 1 : p;
  if (colon && jd_redis_url_decode(out->user, sizeof out->user, p, (size_t)(colon - p)))
    return -1;
  if (jd_redis_url_decode(out->password, sizeof out->password, pw, (size_t)(at - pw)))
    return -1;
  /* A user needs a password: AUTH takes both or the password alone. */
  return out->user[0] && !out->password[0] ? -1 : 0;
}

int jd_redis_url_parse(jd_redis_url *out, const char *url) {
  memset(out, 0, sizeof *out);
  out->port = 6379;
  if (!url)
    return -1;
  if (!strncmp(url, "redis-sentinel://", 17))
    return jd_sentinel_url_parse(out, url + 17);
  if (!strncmp(url, "unix://", 7)) {
    const char *p = url + 7;
    const char *q = strchr(p, '?');
    size_t n = q ? (size_t)(q - p) : strlen(p);
    const char *at = memchr(p, '@', n);
    if (at) {
      if (jd_redis_parse_credentials(out, p, at))
        return -1;
      n -= (size_t)(at + 1 - p);
      p = at + 1;
    }
    if (n == 0 || p[0] != '/' || n >= sizeof out->path || !jd_redis_text_ok(p, n))
      return -1;
    memcpy(out->path, p, n);
    if (q) {
      if (strncmp(q, "?db=", 4) || jd_redis_parse_int(q + 4, strlen(q + 4), 0, 1 << 20, &out->db))
        return -1;
    }
    return 0;
  }
  if (strncmp(url, "redis://", 8))
    return -1;
  const char *p = url + 8;
  const char *at = strrchr(p, '@');
  if (at) {
    if (jd_redis_parse_credentials(out, p, at))
      return -1;
    p = at + 1;
  }
  const char *slash = strchr(p, '/');
  size_t hostport = slash ? (size_t)(slash - p) : strlen(p);
  const char *colon = memchr(p, ':', hostport);
  size_t hn = colon ? (size_t)(colon - p) : hostport;
  if (hn == 0 || hn >= sizeof out->host || !jd_redis_text_ok(p, hn))
    return -1;
  memcpy(out->host, p, hn);
  if (colon && jd_redis_parse_int(colon + 1, hostport - hn - 1, 1, 65535, &out->port))
    return -1;
  if (slash && slash[1] && jd_redis_parse_int(slash + 1, strlen(slash + 1), 0, 1 << 20, &out->db))
    return -1;
  return 0;
}

static void make_display(jd_redis *r) {
  char raw[sizeof r->display];
  /* The user is shown, never the password. */
  char who[sizeof r->url.user + 8] = "";
  if (r->url.password[0])
    snprintf(who, sizeof who, "%s:***@", r->url.user);
  if (r->url.sentinel)
    jd_sentinel_display(raw, sizeof raw, &r->url);
  else if (r->url.path[0])
    snprintf(raw, sizeof raw, "unix://%s%.200s?db=%d", who, r->url.path, r->url.db);
  else
    snprintf(raw, sizeof raw, "redis://%s%.100s:%d/%d", who, r->url.host, r->url.port, r->url.db);
  /* The parser refuses control bytes: this is the second fence. */
  jd_redis_clean_text(r->display, sizeof r->display, raw);
}

int jd_redis_new(jd_redis **out, const char *url, const jd_redis_opts *opts) {
  *out = NULL;
  jd_redis *r = calloc(1, sizeof *r);
  if (!r)
    return -1;
  if (jd_redis_url_parse(&r->url, url)) {
    free(r);
    return -1;
  }
  jd_redis_opts o = {0};
  if (opts)
    o = *opts;
  r->connect_timeout_ms = o.connect_timeout_ms > 0 ? o.connect_timeout_ms : 2000;
  r->io_timeout_ms = o.io_timeout_ms > 0 ? o.io_timeout_ms : 5000;
  r->backoff_min_ms = o.backoff_min_ms > 0 ? o.backoff_min_ms : 100;
  r->backoff_max_ms = o.backoff_max_ms > 0 ? o.backoff_max_ms : 5000;
  /* After a failover the new primary is there as soon as Sentinel
   * decided, and sentinels are cheap to ask: a failed connect is retried
   * within 250 ms. A node that accepted and then refused (LOADING) keeps
   * the slower growth, up to 1 s. */
  if (r->url.sentinel && r->backoff_max_ms > 1000)
    r->backoff_max_ms = 1000;
  r->connect_max_ms = r->backoff_max_ms;
  if (r->url.sentinel && r->connect_max_ms > 250)
    r->connect_max_ms = 250;
  if (r->backoff_min_ms > r->connect_max_ms)
    r->backoff_min_ms = r->connect_max_ms;
  r->stats = o.stats;
  make_display(r);
  snprintf(r->err, sizeof r->err, "not connected");
  *out = r;
  return 0;
}

void jd_redis_free(jd_redis *r) {
  if (!r)
    return;
  if (r->c)
    redisFree(r->c);
  free(r);
}

bool jd_redis_connected(const jd_redis *r) { return r->c != NULL; }

/* Drops the connection (the next command reconnects). */
static void disconnect(jd_redis *r) {
  if (r->c) {
    redisFree(r->c);
    r->c = NULL;
  }
  r->peer[0] = '\0';
  r->fresh = false;
}

int64_t jd_redis_backoff_ms(const jd_redis *r) {
  int64_t left = r->next_try_ms - jd_mono_ms();
  return left > 0 ? left : 0;
}

/* A connection that failed: the next try waits; returns -1 (JD_REDIS_CONN,
 * with r->err already set). refused: a node accepted the connection and
 * answered no command (LOADING...): the delay grows up to the full cap, a
 * failed connect's only up to connect_max_ms (unless already past it). */
static int failed_as(jd_redis *r, bool refused) {
  /* Once a node refused, the delay keeps growing to the full cap until a
   * command is answered: a connect failing in between does not bring a
   * LOADING node's reconnects back to the connect cap. */
  r->slowed = r->slowed || refused;
  long cap = r->slowed ? r->backoff_max_ms : r->connect_max_ms;
  r->backoff_ms = jd_backoff_next(r->backoff_ms, r->backoff_min_ms, cap);
  r->next_try_ms = jd_mono_ms() + r->backoff_ms;
  r->last = JD_REDIS_CONN;
  return -1;
}

static int failed(jd_redis *r) { return failed_as(r, false); }

/* Runs a command on a fresh connection before it is handed out (AUTH,
 * SELECT) as a small exchange ending by r->setup_deadline_ms; 0 or -1 with
 * r->err set. */
static int setup_command(jd_redis *r, const char *what, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  redisReply *rep = jd_redis_small_vcommand(r->c, r->setup_deadline_ms, fmt, ap);
  va_end(ap);
  char text[400];
  if (!rep) {
    jd_redis_clean_text(text, sizeof text, r->c->errstr[0] ? r->c->errstr : "I/O error");
    snprintf(r->err, sizeof r->err, "%s: %s", what, text);
    return -1;
  }
  int rc = 0;
  if (rep->type == REDIS_REPLY_ERROR) {
    jd_redis_clean_text(text, sizeof text, rep->str);
    snprintf(r->err, sizeof r->err, "%s: %s", what, text);
    rc = -1;
  }
  freeReplyObject(rep);
  return rc;
}

/* Connects r->c to one node (host:port, or the URL's socket when host is
 * NULL), AUTH, in sentinel mode ROLE (a replica is refused), SELECT. what
 * names the node in messages. 0, or -1 with r->err set and no connection. */
static int open_node(jd_redis *r, const char *host, int port, const char *what) {
  struct timeval ctv = tv_of(r->connect_timeout_ms);
  redisContext *c = host ? redisConnectWithTimeout(host, port, ctv)
                         : redisConnectUnixWithTimeout(r->url.path, ctv);
  if (!c) {
    snprintf(r->err, sizeof r->err, "connect %s: out of memory", what);
    return -1;
  }
  if (c->err) {
    snprintf(r->err, sizeof r->err, "connect %s: %s", what, c->errstr);
    redisFree(c);
    return -1;
  }
  r->c = c;
  if (redisSetTimeout(c, tv_of(r->io_timeout_ms)) != REDIS_OK) {
    snprintf(r->err, sizeof r->err, "connect %s: cannot set the I/O timeout", what);
    goto fail;
  }
  if (host)
    redisEnableKeepAlive(c);
  /* AUTH, ROLE and SELECT together end within one I/O timeout, whatever
   * the node (maybe one a sentinel named) sends or drips. */
  r->setup_deadline_ms = jd_mono_ms() + r->io_timeout_ms;
  /* AUTH with the ACL user when there is one (Redis 6+), else the
   * default user's password. %s passes each as one argument: no quoting. */
  if (r->url.user[0] && setup_command(r, "AUTH", "AUTH %s %s", r->url.user, r->url.password))
    goto fail;
  if (!r->url.user[0] && r->url.password[0] && setup_command(r, "AUTH", "AUTH %s", r->url.password))
    goto fail;
  if (r->url.sentinel &&
      jd_sentinel_check_master(c, r->setup_deadline_ms, what, r->err, sizeof r->err))
    goto fail;
  if (r->url.db && setup_command(r, "SELECT", "SELECT %d", r->url.db))
    goto fail;
  return 0;
fail:
  disconnect(r);
  return -1;
}

/* Connected to addr: the next connect may come at once, but the backoff
 * restarts only once a command is answered (a node loading its data
 * answers ROLE, then LOADING to everything: its reconnects keep slowing
 * down); the shared stats learn the primary (a new one after the first is
 * a failover followed). */
static int connected(jd_redis *r, const char *addr) {
  r->generation++;
  r->fresh = true;
  r->next_try_ms = 0;
  r->last_failed[0] = '\0';
  snprintf(r->peer, sizeof r->peer, "%s", addr);
  if (r->stats) {
    pthread_mutex_lock(&r->stats->mu);
    if (r->url.sentinel && r->stats->primary[0] && strcmp(r->stats->primary, addr))
      r->stats->failovers++;
    snprintf(r->stats->primary, sizeof r->stats->primary, "%s", addr);
    pthread_mutex_unlock(&r->stats->mu);
  }
  return 0;
}

/* Sentinel mode: ask the sentinels, connect to the primary they name. When
 * that fails and the sentinels, asked again at once, name another address
 * (the failover just completed), that one is tried now, not after the
 * backoff. */
static int connect_sentinel(jd_redis *r) {
  for (int tries = 0; tries < 2; tries++) {
    jd_redis_hostport hp;
    char derr[sizeof r->err]; /* r->err keeps the first open's failure */
    if (jd_sentinel_discover(&hp, &r->url, r->connect_timeout_ms, r->io_timeout_ms, r->stats, derr,
                             sizeof derr)) {
      memcpy(r->err, derr, sizeof r->err);
      return failed(r);
    }
    char addr[300];
    snprintf(addr, sizeof addr, "%s:%d", hp.host, hp.port);
    if (tries > 0 && !strcmp(addr, r->last_failed))
      break;
    if (!open_node(r, hp.host, hp.port, addr))
      return connected(r, addr);
    snprintf(r->last_failed, sizeof r->last_failed, "%s", addr);
  }
  return failed(r);
}

uint64_t jd_redis_generation(const jd_redis *r) { return r->generation; }
bool jd_redis_sentinel_mode(const jd_redis *r) { return r->url.sentinel; }

int jd_redis_connect(jd_redis *r) {
  if (r->c)
    return 0;
  if (jd_redis_backoff_ms(r) > 0) {
    r->last = JD_REDIS_CONN;
    return -1;
  }
  if (r->url.sentinel)
    return connect_sentinel(r);
  if (open_node(r, r->url.path[0] ? NULL : r->url.host, r->url.port, r->display))
    return failed(r);
  char addr[300];
  if (r->url.path[0])
    snprintf(addr, sizeof addr, "%s", r->url.path);
  else
    snprintf(addr, sizeof addr, "%.255s:%d", r->url.host, r->url.port);
  return connected(r, addr);
}

/* An error reply saying this node cannot take the command now because it
 * is not (or not yet) a working primary: a replica (READONLY), a replica
 * cut from its primary (MASTERDOWN), a node loading its data (LOADING). A
 * script's error carries the code after the script's own prefix. */
static bool not_primary_reply(const char *msg) {
  static const char *const codes[] = {"READONLY", "MASTERDOWN", "LOADING"};
  for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
    size_t n = strlen(codes[i]);
    if (!strncmp(msg, codes[i], n) && (msg[n] == ' ' || msg[n] == '\0'))
      return true;
    if (!strncmp(msg, "ERR Error running script", 24)) {
      const char *p = strstr(msg, codes[i]);
      if (p && p > msg && p[-1] == '-' && (p[n] == ' ' || p[n] == '\0'))
        return true;
    }
  }
  return false;
}

int jd_redis_drop(jd_redis *r, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(r->err, sizeof r->err, fmt, ap);
  va_end(ap);
  bool refused = r->fresh;
  disconnect(r);
  return failed_as(r, refused);
}

/* A reply that is not a connection's failure: the node works, the backoff
 * restarts (unless proves is false: ROLE answers while loading). */
static void answered(jd_redis *r, bool proves) {
  if (r->fresh && proves) {
    r->fresh = false;
    r->backoff_ms = 0;
    r->slowed = false;
  }
}

/* Turns hiredis's answer into 0 or -1 with the failure's kind; frees
 * error replies. Text from the node is cleaned before it enters r->err. */
static int take_reply(redisReply **out, jd_redis *r, redisReply *rep, bool proves) {
  char text[400];
  if (!rep) {
    jd_redis_clean_text(text, sizeof text,
                        r->c && r->c->errstr[0] ? r->c->errstr : "connection lost");
    /* A broken context cannot be reused: drop it and reconnect later. */
    return jd_redis_drop(r, "%s: %s", r->url.sentinel && r->peer[0] ? r->peer : r->display, text);
  }
  if (rep->type == REDIS_REPLY_ERROR && rep->str && not_primary_reply(rep->str)) {
    /* Nothing was written (a replica refuses every write): the caller
     * retries, and the next connect (in sentinel mode) asks the sentinels
     * where the primary is now. The backoff is not restarted. */
    jd_redis_clean_text(text, 301, rep->str);
    freeReplyObject(rep);
    if (r->stats) {
      pthread_mutex_lock(&r->stats->mu);
      r->stats->readonly++;
      pthread_mutex_unlock(&r->stats->mu);
    }
    return jd_redis_drop(r, "%s: not a primary now (%s): reconnecting", r->peer, text);
  }
  answered(r, proves);
  if (rep->type == REDIS_REPLY_ERROR) {
    jd_redis_clean_text(r->err, sizeof r->err, rep->str ? rep->str : "error reply");
    r->last = JD_REDIS_REPLY;
    freeReplyObject(rep);
    return -1;
  }
  if (out)
    *out = rep;
  else
    freeReplyObject(rep);
  return 0;
}

int jd_redis_small(redisReply **out, jd_redis *r, const char *cmd) {
  *out = NULL;
  r->last = JD_REDIS_NONE;
  if (jd_redis_connect(r))
    return -1;
  redisReply *rep = jd_redis_small_command(r->c, jd_mono_ms() + r->io_timeout_ms, "%s", cmd);
  return take_reply(out, r, rep, false);
}

int jd_redis_command_argv(redisReply **out, jd_redis *r, long block_ms, int argc, const char **argv,
                          const size_t *lens) {
  if (out)
    *out = NULL;
  r->last = JD_REDIS_NONE; /* a -1 below always says its own kind */
  if (jd_redis_connect(r))
    return -1;
  if (block_ms > 0)
    redisSetTimeout(r->c, tv_of(r->io_timeout_ms + block_ms));
  redisReply *rep = redisCommandArgv(r->c, argc, argv, lens);
  if (block_ms > 0 && r->c)
    redisSetTimeout(r->c, tv_of(r->io_timeout_ms));
  return take_reply(out, r, rep, true);
}

int jd_redis_command(redisReply **out, jd_redis *r, const char *fmt, ...) {
  if (out)
    *out = NULL;
  r->last = JD_REDIS_NONE; /* a -1 below always says its own kind */
  if (jd_redis_connect(r))
    return -1;
  va_list ap;
  va_start(ap, fmt);
  redisReply *rep = redisvCommand(r->c, fmt, ap);
  va_end(ap);
  return take_reply(out, r, rep, true);
}

/* The WAIT's reply after an INCR that failed with the connection still
 * up: read and dropped, so the stream stays in step (a stream that broke
 * is closed; the INCR's failure stays the one reported: disconnect()
 * leaves r->err and r->last alone). */
static void drop_pending(jd_redis *r) {
  redisReply *rep = NULL;
  if (r->c && redisGetReply(r->c, (void **)&rep) != REDIS_OK) {
    disconnect(r);
    return;
  }
  freeReplyObject(rep);
}

/* The next pipelined reply (NULL: the connection broke). */
static redisReply *next_reply(jd_redis *r) {
  redisReply *rep = NULL;
  if (redisGetReply(r->c, (void **)&rep) != REDIS_OK)
    return NULL;
  return rep;
}

int jd_redis_fence_wait(long long *acked, jd_redis *r, const char *fence_key, int nreplicas,
                        long timeout_ms) {
  *acked = 0;
  r->last = JD_REDIS_NONE;
  if (!r->c)
    return jd_redis_fail(r, JD_REDIS_CONN, "WAIT: not connected (the writes' connection is gone)");
  char ns[16], ms[24];
  snprintf(ns, sizeof ns, "%d", nreplicas);
  snprintf(ms, sizeof ms, "%ld", timeout_ms > 0 ? timeout_ms : 0);
  const char *incr[] = {"INCR", fence_key};
  const char *wait[] = {"WAIT", ns, ms};
  if (redisAppendCommandArgv(r->c, 2, incr, NULL) != REDIS_OK ||
      redisAppendCommandArgv(r->c, 3, wait, NULL) != REDIS_OK)
    return take_reply(NULL, r, NULL, true);
  if (timeout_ms > 0)
    redisSetTimeout(r->c, tv_of(r->io_timeout_ms + timeout_ms));
  int rc = take_reply(NULL, r, next_reply(r), true);
  if (rc) {
    drop_pending(r); /* a READONLY fence dropped the connection: nothing to read */
  } else {
    redisReply *rep = NULL;
    rc = take_reply(&rep, r, next_reply(r), true);
    if (!rc && jd_reply_int(rep, acked))
      rc = jd_redis_fail(r, JD_REDIS_PROTO, "WAIT: an answer of an unexpected shape");
    freeReplyObject(rep);
  }
  if (timeout_ms > 0 && r->c)
    redisSetTimeout(r->c, tv_of(r->io_timeout_ms));
  return rc;
}

jd_redis_failure jd_redis_last(const jd_redis *r) { return r->last; }
const char *jd_redis_error(const jd_redis *r) { return r->err; }
const char *jd_redis_display_url(const jd_redis *r) { return r->display; }
const char *jd_redis_peer(const jd_redis *r) { return r->peer; }
const jd_redis_url *jd_redis_url_of(const jd_redis *r) { return &r->url; }

void jd_redis_timeouts_of(const jd_redis *r, long *connect_ms, long *io_ms) {
  *connect_ms = r->connect_timeout_ms;
  *io_ms = r->io_timeout_ms;
}

void jd_redis_stats_init(jd_redis_stats *s) {
  memset(s, 0, sizeof *s);
  pthread_mutex_init(&s->mu, NULL);
}

void jd_redis_stats_destroy(jd_redis_stats *s) {
  if (s)
    pthread_mutex_destroy(&s->mu);
}

void jd_redis_stats_get(jd_redis_stats *out, jd_redis_stats *s) {
  memset(out, 0, sizeof *out);
  if (!s)
    return;
  pthread_mutex_lock(&s->mu);
  memcpy(out->primary, s->primary, sizeof out->primary);
  out->failovers = s->failovers;
  out->readonly = s->readonly;
  out->sentinel_failures = s->sentinel_failures;
  pthread_mutex_unlock(&s->mu);
}

int jd_reply_int(const redisReply *rep, long long *out) {
  if (!rep)
    return -1;
  if (rep->type == REDIS_REPLY_INTEGER) {
    *out = rep->integer;
    return 0;
  }
  if (rep->type == REDIS_REPLY_STRING || rep->type == REDIS_REPLY_STATUS) {
    char *end = NULL;
    errno = 0;
    long long v = strtoll(rep->str, &end, 10);
    if (errno || end == rep->str || *end)
      return -1;
    *out = v;
    return 0;
  }
  return -1;
}

const char *jd_reply_str(const redisReply *rep) {
  if (!rep)
    return NULL;
  if (rep->type == REDIS_REPLY_STRING || rep->type == REDIS_REPLY_STATUS)
    return rep->str;
  return NULL;
}
