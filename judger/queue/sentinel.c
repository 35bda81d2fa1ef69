/* Redis Sentinel: the redis-sentinel:// URL, asking the sentinels for the
 * primary, checking that a node is a primary, the topology (sentinel.h).
 *
 * Everything a sentinel or a node answers is checked before use: a host is
 * 1..255 bytes of [A-Za-z0-9.:_-], a port 1..65535, a reply of any other
 * shape is a failure of that sentinel; text of an answer quoted in a
 * message is cut short and its non-printable bytes replaced. */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/utf8.h"
#include "queue/redis_internal.h"
#include "queue/sentinel.h"

static struct timeval tv_ms(long ms) {
  struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
  return tv;
}

/* Appends printf text to buf (len bytes) at *used, never past its end. */
static void append(char *buf, size_t len, size_t *used, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void append(char *buf, size_t len, size_t *used, const char *fmt, ...) {
  if (*used + 1 >= len)
    return;
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf + *used, len - *used, fmt, ap);
  va_end(ap);
  if (n > 0)
    *used = *used + (size_t)n < len ? *used + (size_t)n : len - 1;
}

void jd_redis_clean_text(char *out, size_t len, const char *s) {
  jd_utf8_clean(out, len, s ? s : "", s ? strlen(s) : 0, JD_UTF8_ESCAPE_CONTROLS);
}

static bool host_char(char ch, bool colon) {
  return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
         ch == '.' || ch == '-' || ch == '_' || (colon && ch == ':');
}

int jd_sentinel_host_ok(const char *host, size_t len) {
  if (len == 0 || len > 255)
    return -1;
  for (size_t i = 0; i < len; i++)
    if (!host_char(host[i], true))
      return -1;
  return 0;
}

/* One "host[:port]" of the URL's list (no ':' in the host: no IPv6 literal). */
static int parse_sentinel(jd_redis_hostport *out, const char *p, size_t n) {
  const char *colon = memchr(p, ':', n);
  size_t hn = colon ? (size_t)(colon - p) : n;
  if (hn == 0 || hn >= sizeof out->host)
    return -1;
  for (size_t i = 0; i < hn; i++)
    if (!host_char(p[i], false))
      return -1;
  memcpy(out->host, p, hn);
  out->host[hn] = '\0';
  out->port = JD_SENTINEL_PORT;
  return colon ? jd_redis_parse_int(colon + 1, n - hn - 1, 1, 65535, &out->port) : 0;
}

static int parse_sentinels(jd_redis_url *out, const char *p, size_t n) {
  const char *end = p + n;
  while (p <= end) {
    const char *comma = memchr(p, ',', (size_t)(end - p));
    const char *stop = comma ? comma : end;
    if (out->nsentinels == JD_REDIS_SENTINELS_MAX ||
        parse_sentinel(&out->sentinels[out->nsentinels], p, (size_t)(stop - p)))
      return -1;
    out->nsentinels++;
    p = stop + 1;
  }
  return 0;
}

/* "master[/db]" */
static int parse_master(jd_redis_url *out, const char *p, size_t n) {
  const char *slash = memchr(p, '/', n);
  size_t mn = slash ? (size_t)(slash - p) : n;
  if (mn == 0 || mn >= sizeof out->master)
    return -1;
  for (size_t i = 0; i < mn; i++)
    if (!host_char(p[i], false))
      return -1;
  memcpy(out->master, p, mn);
  out->master[mn] = '\0';
  if (slash && (size_t)(slash - p) + 1 < n)
    return jd_redis_parse_int(slash + 1, n - mn - 1, 0, 1 << 20, &out->db);
  return 0;
}

/* "sentinel_user=U&sentinel_password=P" (either order; nothing else). */
static int parse_query(jd_redis_url *out, const char *q) {
  while (*q) {
    const char *amp = strchr(q, '&');
    size_t n = amp ? (size_t)(amp - q) : strlen(q);
    const char *eq = memchr(q, '=', n);
    if (!eq)
      return -1;
    size_t kn = (size_t)(eq - q), vn = n - kn - 1;
    int rc = -1;
    if (kn == 13 && !strncmp(q, "sentinel_user", kn))
      rc = jd_redis_url_decode(out->sentinel_user, sizeof out->sentinel_user, eq + 1, vn);
    else if (kn == 17 && !strncmp(q, "sentinel_password", kn))
      rc = jd_redis_url_decode(out->sentinel_password, sizeof out->sentinel_password, eq + 1, vn);
    if (rc)
      return -1;
    q += n + (amp ? 1 : 0);
    if (amp && !*q)
      return -1;
  }
  /* As for the data nodes: a user needs a password. */
  return out->sentinel_user[0] && !out->sentinel_password[0] ? -1 : 0;
}

int jd_sentinel_url_parse(jd_redis_url *out, const char *p) {
  out->sentinel = true;
  out->port = 0;
  const char *q = strchr(p, '?');
  const char *end = q ? q : p + strlen(p);
  const char *at = NULL;
  for (const char *s = p; s < end; s++)
    if (*s == '@')
      at = s;
  if (at) {
    if (jd_redis_parse_credentials(out, p, at))
      return -1;
    p = at + 1;
  }
  const char *slash = memchr(p, '/', (size_t)(end - p));
  if (!slash || parse_sentinels(out, p, (size_t)(slash - p)) ||
      parse_master(out, slash + 1, (size_t)(end - slash - 1)))
    return -1;
  return q ? parse_query(out, q + 1) : 0;
}

void jd_sentinel_display(char *buf, size_t len, const jd_redis_url *u) {
  size_t used = 0;
  buf[0] = '\0';
  append(buf, len, &used, "redis-sentinel://");
  if (u->password[0])
    append(buf, len, &used, "%s:***@", u->user);
  for (size_t i = 0; i < u->nsentinels; i++)
    append(buf, len, &used, "%s%s:%d", i ? "," : "", u->sentinels[i].host, u->sentinels[i].port);
  append(buf, len, &used, "/%s/%d", u->master, u->db);
  if (u->sentinel_user[0])
    append(buf, len, &used, "?sentinel_user=%s&sentinel_password=***", u->sentinel_user);
  else if (u->sentinel_password[0])
    append(buf, len, &used, "?sentinel_password=***");
}

/* A reply's error or shape, for messages. */
static void reply_problem(char *err, size_t errlen, const char *what, redisContext *c,
                          const redisReply *rep) {
  char text[200];
  if (!rep)
    jd_redis_clean_text(text, sizeof text, c->errstr[0] ? c->errstr : "I/O error");
  else if (rep->type == REDIS_REPLY_ERROR)
    jd_redis_clean_text(text, sizeof text, rep->str);
  else
    snprintf(text, sizeof text, "an answer of an unexpected shape");
  snprintf(err, errlen, "%s%s%s", what, what[0] ? ": " : "", text);
}

/* The sentinel's answer to get-master-addr-by-name: two strings, a valid
 * host and port. */
static int take_master_addr(jd_redis_hostport *out, const redisReply *rep, const char *master,
                            char *err, size_t errlen) {
  if (rep->type == REDIS_REPLY_NIL) {
    snprintf(err, errlen, "does not monitor '%s'", master);
    return -1;
  }
  if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 ||
      rep->element[0]->type != REDIS_REPLY_STRING || rep->element[1]->type != REDIS_REPLY_STRING ||
      jd_sentinel_host_ok(rep->element[0]->str, rep->element[0]->len) ||
      jd_redis_parse_int(rep->element[1]->str, rep->element[1]->len, 1, 65535, &out->port)) {
    snprintf(err, errlen, "a bad answer to get-master-addr-by-name (not a host and a port)");
    return -1;
  }
  memcpy(out->host, rep->element[0]->str, rep->element[0]->len);
  out->host[rep->element[0]->len] = '\0';
  return 0;
}

/* What a small exchange may make: the default reply functions, with
 * arrays counted against JD_REDIS_SMALL_ELEMENTS (hiredis 0.14 would
 * allocate whatever count a "*N" header declares). */
typedef struct small_budget {
  redisReplyObjectFunctions fn;
  const redisReplyObjectFunctions *orig;
  size_t elements;
  bool over;
} small_budget;

static void *small_array(const redisReadTask *t, int n) {
  small_budget *b = t->privdata;
  if (n < 0 || (size_t)n > JD_REDIS_SMALL_ELEMENTS - b->elements) {
    b->over = true;
    return NULL; /* the reader fails (out of memory), freeing what it made */
  }
  b->elements += (size_t)n;
  return b->orig->createArray(t, n);
}

static void small_fail(redisContext *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void small_fail(redisContext *c, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(c->errstr, sizeof c->errstr, fmt, ap);
  va_end(ap);
  c->err = REDIS_ERR_IO; /* out of step now: the caller closes it */
}

/* Reads bytes from c until rd holds one whole reply; NULL with c->errstr
 * set past the deadline, the byte or element limit, or a broken stream. */
static void *small_read(redisContext *c, redisReader *rd, const small_budget *b,
                        int64_t deadline_ms) {
  char buf[4096];
  size_t total = 0;
  for (;;) {
    void *rep = NULL;
    if (redisReaderGetReply(rd, &rep) != REDIS_OK) {
      if (b->over)
        small_fail(c, "an answer of over %d elements", JD_REDIS_SMALL_ELEMENTS);
      else
        small_fail(c, "a malformed answer");
      return NULL;
    }
    if (rep)
      return rep;
    int64_t left = deadline_ms - jd_mono_ms();
    struct pollfd p = {.fd = c->fd, .events = POLLIN};
    int k = left > 0 ? poll(&p, 1, (int)left) : 0;
    if (k < 0 && errno == EINTR)
      continue;
    if (k == 0) {
      small_fail(c, "no whole answer in time");
      return NULL;
    }
    size_t want = JD_REDIS_SMALL_BYTES + 1 - total;
    ssize_t n = k < 0 ? -1 : read(c->fd, buf, want < sizeof buf ? want : sizeof buf);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
      continue;
    if (n <= 0) {
      small_fail(c, "%s", n == 0 ? "connection closed" : strerror(errno));
      return NULL;
    }
    total += (size_t)n;
    if (total > JD_REDIS_SMALL_BYTES) {
      small_fail(c, "an answer over %d bytes", JD_REDIS_SMALL_BYTES);
      return NULL;
    }
    redisReaderFeed(rd, buf, (size_t)n);
  }
}

redisReply *jd_redis_small_vcommand(redisContext *c, int64_t deadline_ms, const char *fmt,
                                    va_list ap) {
  if (c->err)
    return NULL;
  int rc = redisvAppendCommand(c, fmt, ap);
  int done = 0;
  while (rc == REDIS_OK && !done)
    rc = redisBufferWrite(c, &done);
  if (rc != REDIS_OK)
    return NULL;
  small_budget b = {.orig = c->reader->fn};
  b.fn = *c->reader->fn;
  b.fn.createArray = small_array;
  redisReader *rd = redisReaderCreateWithFunctions(&b.fn);
  if (!rd) {
    small_fail(c, "out of memory");
    return NULL;
  }
  rd->privdata = &b;
  redisReply *rep = small_read(c, rd, &b, deadline_ms);
  /* What came after the reply is the next one's: hiredis's reader keeps it. */
  if (rep && rd->len > rd->pos)
    redisReaderFeed(c->reader, rd->buf + rd->pos, rd->len - rd->pos);
  redisReaderFree(rd);
  return rep;
}

redisReply *jd_redis_small_command(redisContext *c, int64_t deadline_ms, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  redisReply *rep = jd_redis_small_vcommand(c, deadline_ms, fmt, ap);
  va_end(ap);
  return rep;
}

/* Asks one sentinel where u->master's primary is. -1 with err (the
 * reason, without the sentinel's name). */
static int ask_sentinel(jd_redis_hostport *out, const jd_redis_hostport *s, const jd_redis_url *u,
                        long connect_ms, long io_ms, char *err, size_t errlen) {
  /* One deadline for the whole exchange: connect, AUTH, the question, the
   * answer (a sentinel dripping bytes cannot hold a connect for longer). */
  long all = io_ms < JD_SENTINEL_ANSWER_MS ? io_ms : JD_SENTINEL_ANSWER_MS;
  int64_t deadline = jd_mono_ms() + all;
  long cms = connect_ms < JD_SENTINEL_CONNECT_MS ? connect_ms : JD_SENTINEL_CONNECT_MS;
  redisContext *c = redisConnectWithTimeout(s->host, s->port, tv_ms(cms < all ? cms : all));
  if (!c) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  int rc = -1;
  redisReply *rep = NULL;
  if (c->err) {
    reply_problem(err, errlen, "", c, NULL);
    goto done;
  }
  redisSetTimeout(c, tv_ms(all));
  if (u->sentinel_password[0]) {
    rep = u->sentinel_user[0]
              ? jd_redis_small_command(c, deadline, "AUTH %s %s", u->sentinel_user,
                                       u->sentinel_password)
              : jd_redis_small_command(c, deadline, "AUTH %s", u->sentinel_password);
    if (!rep || rep->type == REDIS_REPLY_ERROR) {
      reply_problem(err, errlen, "AUTH", c, rep);
      goto done;
    }
    freeReplyObject(rep);
  }
  rep = jd_redis_small_command(c, deadline, "SENTINEL get-master-addr-by-name %s", u->master);
  if (!rep || rep->type == REDIS_REPLY_ERROR)
    reply_problem(err, errlen, "", c, rep);
  else
    rc = take_master_addr(out, rep, u->master, err, errlen);
done:
  if (rep)
    freeReplyObject(rep);
  redisFree(c);
  return rc;
}

int jd_sentinel_discover(jd_redis_hostport *out, jd_redis_url *u, long connect_timeout_ms,
                         long io_timeout_ms, jd_redis_stats *stats, char *err, size_t errlen) {
  size_t used = 0;
  err[0] = '\0';
  append(err, errlen, &used, "no sentinel named the primary of '%s': ", u->master);
  for (size_t i = 0; i < u->nsentinels; i++) {
    char why[240];
    if (!ask_sentinel(out, &u->sentinels[i], u, connect_timeout_ms, io_timeout_ms, why,
                      sizeof why)) {
      jd_redis_hostport first = u->sentinels[i];
      memmove(&u->sentinels[1], &u->sentinels[0], i * sizeof u->sentinels[0]);
      u->sentinels[0] = first;
      return 0;
    }
    if (stats) {
      pthread_mutex_lock(&stats->mu);
      stats->sentinel_failures++;
      pthread_mutex_unlock(&stats->mu);
    }
    append(err, errlen, &used, "%s%s:%d: %s", i ? "; " : "", u->sentinels[i].host,
           u->sentinels[i].port, why);
  }
  return -1;
}

/* ROLE's first element: "master", "slave", "sentinel"; NULL when the
 * answer is not a ROLE answer. */
static const char *role_of(const redisReply *rep) {
  if (!rep || rep->type != REDIS_REPLY_ARRAY || rep->elements < 1 ||
      (rep->element[0]->type != REDIS_REPLY_STRING && rep->element[0]->type != REDIS_REPLY_STATUS))
    return NULL;
  return rep->element[0]->str;
}

int jd_sentinel_check_master(redisContext *c, int64_t deadline_ms, const char *addr, char *err,
                             size_t errlen) {
  redisReply *rep = jd_redis_small_command(c, deadline_ms, "ROLE");
  const char *role = role_of(rep);
  int rc = -1;
  if (!rep || rep->type == REDIS_REPLY_ERROR || !role) {
    char what[340];
    snprintf(what, sizeof what, "ROLE on %s", addr);
    reply_problem(err, errlen, what, c, rep);
  } else if (!strcmp(role, "master"))
    rc = 0;
  else if (!strcmp(role, "slave"))
    snprintf(err, errlen, "%s is a replica: the sentinels have not finished the failover", addr);
  else {
    char shown[24];
    jd_redis_clean_text(shown, sizeof shown, role);
    snprintf(err, errlen, "%s is not a data node (its role: %s)", addr, shown);
  }
  if (rep)
    freeReplyObject(rep);
  return rc;
}

int jd_redis_replica_count(int *n, jd_redis *r) {
  *n = 0;
  redisReply *rep = NULL;
  if (jd_redis_small(&rep, r, "ROLE"))
    return -1;
  const char *role = role_of(rep);
  int rc = 0;
  char shown[24];
  jd_redis_clean_text(shown, sizeof shown, role ? role : "?");
  if (!role)
    rc = jd_redis_fail(r, JD_REDIS_PROTO, "ROLE: an answer of an unexpected shape");
  else if (strcmp(role, "master"))
    /* A replica (a primary demoted under a live connection) has no
     * replicas to wait for: counting 0 would confirm without a WAIT. */
    rc =
        jd_redis_drop(r, "%s is not the primary (ROLE: %s): reconnecting", jd_redis_peer(r), shown);
  else if (rep->elements >= 3 && rep->element[2]->type == REDIS_REPLY_ARRAY)
    *n = (int)(rep->element[2]->elements < 1000 ? rep->element[2]->elements : 1000);
  else
    rc = jd_redis_fail(r, JD_REDIS_PROTO, "ROLE: a master's answer without its replicas");
  freeReplyObject(rep);
  return rc;
}

/* One replica of a master's ROLE answer: [ip, port, offset]. */
static void take_replica(jd_redis_node *out, const redisReply *e) {
  snprintf(out->role, sizeof out->role, "replica");
  int port = 0;
  long long off = 0;
  if (e->type != REDIS_REPLY_ARRAY || e->elements < 3 ||
      e->element[0]->type != REDIS_REPLY_STRING ||
      jd_sentinel_host_ok(e->element[0]->str, e->element[0]->len) ||
      jd_reply_int(e->element[2], &off) || e->element[1]->type != REDIS_REPLY_STRING ||
      jd_redis_parse_int(e->element[1]->str, e->element[1]->len, 1, 65535, &port)) {
    snprintf(out->addr, sizeof out->addr, "?");
    snprintf(out->error, sizeof out->error, "the primary's ROLE answer for it is malformed");
    return;
  }
  snprintf(out->addr, sizeof out->addr, "%.*s:%d", (int)e->element[0]->len, e->element[0]->str,
           port);
  out->up = true;
  out->offset = off;
}

/* The primary and its replicas from ROLE on r. */
static int topology_primary(jd_redis_topology *out, jd_redis *r) {
  jd_redis_node *p = &out->primary;
  snprintf(p->role, sizeof p->role, "primary");
  redisReply *rep = NULL;
  if (jd_redis_small(&rep, r, "ROLE")) {
    jd_redis_clean_text(p->error, sizeof p->error, jd_redis_error(r));
    return -1;
  }
  snprintf(p->addr, sizeof p->addr, "%s", jd_redis_peer(r));
  const char *role = role_of(rep);
  int rc = 0;
  if (!role || strcmp(role, "master") || rep->elements < 3 ||
      rep->element[2]->type != REDIS_REPLY_ARRAY || jd_reply_int(rep->element[1], &p->offset)) {
    char shown[24];
    jd_redis_clean_text(shown, sizeof shown, role ? role : "?");
    snprintf(p->error, sizeof p->error, "not a primary (ROLE: %s)", shown);
    rc = jd_redis_fail(r, JD_REDIS_PROTO, "%s: %s", p->addr, p->error);
  } else {
    p->up = true;
    const redisReply *list = rep->element[2];
    for (size_t i = 0; i < list->elements && i < JD_REDIS_TOPOLOGY_REPLICAS_MAX; i++)
      take_replica(&out->replicas[out->nreplicas++], list->element[i]);
  }
  freeReplyObject(rep);
  return rc;
}

int jd_redis_topology_get(jd_redis_topology *out, jd_redis *r) {
  memset(out, 0, sizeof *out);
  const jd_redis_url *u = jd_redis_url_of(r);
  long cms, ims;
  jd_redis_timeouts_of(r, &cms, &ims);
  out->sentinel = u->sentinel;
  if (u->sentinel)
    snprintf(out->master, sizeof out->master, "%s", u->master);
  char named_addr[300] = "";
  for (size_t i = 0; i < u->nsentinels; i++) {
    jd_redis_node *s = &out->sentinels[out->nsentinels++];
    jd_redis_hostport named;
    snprintf(s->addr, sizeof s->addr, "%s:%d", u->sentinels[i].host, u->sentinels[i].port);
    snprintf(s->role, sizeof s->role, "sentinel");
    s->up = !ask_sentinel(&named, &u->sentinels[i], u, cms, ims, s->error, sizeof s->error);
    if (s->up && !named_addr[0])
      snprintf(named_addr, sizeof named_addr, "%s:%d", named.host, named.port);
  }
  int rc = topology_primary(out, r);
  /* Unreachable: still say which node the sentinels name. */
  if (rc && !out->primary.addr[0])
    snprintf(out->primary.addr, sizeof out->primary.addr, "%s", named_addr);
  return rc;
}
