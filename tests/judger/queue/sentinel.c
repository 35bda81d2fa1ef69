// test-labels: redis
/* judger/queue/sentinel.c and redis.c in sentinel mode, against real
 * redis-server processes (a primary, a replica, three sentinels of
 * tests/support/redis_sentinel.h): the redis-sentinel:// URL, discovery,
 * following a failover, READONLY replies, the sentinels' password, all
 * sentinels down, the topology; and a fake sentinel whose answers are
 * hostile. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/utf8.h"
#include "common/util.h"
#include "queue/redis.h"
#include "queue/sentinel.h"
#include "redis_sentinel.h"
#include "redis_server.h"
#include "support.h"

static t_sentinel_set *set;
static void stop_set(void) {
  t_sentinel_stop(set);
  set = NULL;
}

/* ---- the URL ---- */

Test(sentinel, url_forms_parse) {
  jd_redis_url u;
  cr_assert_eq(
      jd_redis_url_parse(&u, "redis-sentinel://127.0.0.1:26380,h2,h-3.example:1/mymaster/2"), 0);
  cr_assert(u.sentinel);
  cr_assert_eq(u.nsentinels, 3);
  cr_assert_str_eq(u.sentinels[0].host, "127.0.0.1");
  cr_assert_eq(u.sentinels[0].port, 26380);
  cr_assert_str_eq(u.sentinels[1].host, "h2");
  cr_assert_eq(u.sentinels[1].port, 26379);
  cr_assert_str_eq(u.sentinels[2].host, "h-3.example");
  cr_assert_eq(u.sentinels[2].port, 1);
  cr_assert_str_eq(u.master, "mymaster");
  cr_assert_eq(u.db, 2);
  cr_assert_str_eq(u.password, "");

  cr_assert_eq(jd_redis_url_parse(&u, "redis-sentinel://judger:p%40w%3F@h1/m.y_m-1"), 0);
  cr_assert_str_eq(u.user, "judger");
  cr_assert_str_eq(u.password, "p@w?");
  cr_assert_eq(u.nsentinels, 1);
  cr_assert_str_eq(u.master, "m.y_m-1");
  cr_assert_eq(u.db, 0);

  cr_assert_eq(jd_redis_url_parse(&u, "redis-sentinel://:pw@h1:1,h2:2/m/0?sentinel_user=su&"
                                      "sentinel_password=s%26p%40x"),
               0);
  cr_assert_str_eq(u.user, "");
  cr_assert_str_eq(u.password, "pw");
  cr_assert_str_eq(u.sentinel_user, "su");
  cr_assert_str_eq(u.sentinel_password, "s&p@x");
  cr_assert_eq(jd_redis_url_parse(&u, "redis-sentinel://h1/m?sentinel_password=only"), 0);
  cr_assert_str_eq(u.sentinel_user, "");
  cr_assert_str_eq(u.sentinel_password, "only");
  /* A literal '@' in the sentinels' password (after the '?') is not the
   * data nodes' credentials. */
  cr_assert_eq(jd_redis_url_parse(&u, "redis-sentinel://h1/m?sentinel_password=a@b"), 0);
  cr_assert_str_eq(u.sentinel_password, "a@b");
  cr_assert_str_eq(u.password, "");
  cr_assert_str_eq(u.sentinels[0].host, "h1");
  /* Eight sentinels at most. */
  cr_assert_eq(jd_redis_url_parse(&u, "redis-sentinel://a,b,c,d,e,f,g,h/m"), 0);
  cr_assert_eq(u.nsentinels, 8);
  cr_assert_eq(jd_redis_url_parse(&u, "redis-sentinel://a,b,c,d,e,f,g,h,i/m"), -1);
}

Test(sentinel, bad_url_forms_are_refused) {
  char longhost[300], longmaster[100], url[700];
  memset(longhost, 'h', 256);
  longhost[256] = '\0';
  memset(longmaster, 'm', 65);
  longmaster[65] = '\0';
  const char *bad[] = {
      "redis-sentinel://h1",                        /* no master name */
      "redis-sentinel://h1/",                       /* empty master name */
      "redis-sentinel:///m",                        /* no sentinel */
      "redis-sentinel://h1,,h2/m",                  /* an empty sentinel */
      "redis-sentinel://,h1/m",                     /* idem */
      "redis-sentinel://h1,/m",                     /* idem */
      "redis-sentinel://h1:0/m",                    /* port range */
      "redis-sentinel://h1:65536/m",                /* idem */
      "redis-sentinel://h1:x/m",                    /* idem */
      "redis-sentinel://h1:/m",                     /* idem */
      "redis-sentinel://h%201/m",                   /* a host of other bytes */
      "redis-sentinel://h 1/m",                     /* idem */
      "redis-sentinel://h1/my master",              /* the master name's bytes */
      "redis-sentinel://h1/m!",                     /* idem */
      "redis-sentinel://h1/m/x",                    /* the db */
      "redis-sentinel://h1/m/-1",                   /* idem */
      "redis-sentinel://h1/m?x=y",                  /* an unknown parameter */
      "redis-sentinel://h1/m?sentinel_password",    /* no value */
      "redis-sentinel://h1/m?sentinel_user=u",      /* a user without a password */
      "redis-sentinel://h1/m?sentinel_password=p&", /* a trailing '&' */
      "redis-sentinel://h1/m?sentinel_password=%4", /* a bad escape */
      "redis-sentinel://u:@h1/m",                   /* a user without a password */
      "redis-sentinel://u:p%00@h1/m",               /* an escaped NUL */
  };
  jd_redis_url u;
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    cr_assert_eq(jd_redis_url_parse(&u, bad[i]), -1, "%s", bad[i]);
  snprintf(url, sizeof url, "redis-sentinel://%s/m", longhost);
  cr_assert_eq(jd_redis_url_parse(&u, url), -1, "a 256-byte host");
  longhost[255] = '\0';
  snprintf(url, sizeof url, "redis-sentinel://%s/m", longhost);
  cr_assert_eq(jd_redis_url_parse(&u, url), 0, "a 255-byte host");
  snprintf(url, sizeof url, "redis-sentinel://h1/%s", longmaster);
  cr_assert_eq(jd_redis_url_parse(&u, url), -1, "a 65-byte master name");
  longmaster[64] = '\0';
  snprintf(url, sizeof url, "redis-sentinel://h1/%s", longmaster);
  cr_assert_eq(jd_redis_url_parse(&u, url), 0, "a 64-byte master name");
}

Test(sentinel, the_display_url_masks_both_passwords) {
  jd_redis *r = NULL;
  cr_assert_eq(jd_redis_new(&r,
                            "redis-sentinel://judger:hunter2@127.0.0.1:1,127.0.0.1:2/mymaster?"
                            "sentinel_user=su&sentinel_password=s3cret",
                            NULL),
               0);
  const char *d = jd_redis_display_url(r);
  cr_assert_str_eq(d, "redis-sentinel://judger:***@127.0.0.1:1,127.0.0.1:2/mymaster/0?"
                      "sentinel_user=su&sentinel_password=***");
  cr_assert_null(strstr(d, "hunter2"));
  cr_assert_null(strstr(d, "s3cret"));
  cr_assert_str_eq(jd_redis_peer(r), "");
  jd_redis_free(r);
  cr_assert_eq(jd_redis_new(&r, "redis-sentinel://h1/m?sentinel_password=s3cret", NULL), 0);
  cr_assert_str_eq(jd_redis_display_url(r), "redis-sentinel://h1:26379/m/0?sentinel_password=***");
  jd_redis_free(r);
}

/* A free loopback port nobody listens on (bound, then closed). */
static int dead_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
  socklen_t n = sizeof a;
  getsockname(fd, (struct sockaddr *)&a, &n);
  close(fd);
  return ntohs(a.sin_port);
}

Test(sentinel, no_sentinel_answering_is_a_connection_failure_naming_each) {
  int p1 = dead_port(), p2 = dead_port();
  char url[200];
  snprintf(url, sizeof url, "redis-sentinel://127.0.0.1:%d,127.0.0.1:%d/mymaster", p1, p2);
  jd_redis_stats st;
  jd_redis_stats_init(&st);
  jd_redis_opts o = {.stats = &st, .backoff_max_ms = 60000};
  jd_redis *r = NULL;
  cr_assert_eq(jd_redis_new(&r, url, &o), 0);
  int64_t t0 = jd_mono_ms();
  cr_assert_eq(jd_redis_command(NULL, r, "PING"), -1);
  cr_assert_lt(jd_mono_ms() - t0, 1500);
  cr_assert_eq(jd_redis_last(r), JD_REDIS_CONN);
  char a1[64], a2[64];
  snprintf(a1, sizeof a1, "127.0.0.1:%d: ", p1);
  snprintf(a2, sizeof a2, "127.0.0.1:%d: ", p2);
  cr_assert(strstr(jd_redis_error(r), a1) && strstr(jd_redis_error(r), a2), "%s",
            jd_redis_error(r));
  cr_assert(strstr(jd_redis_error(r), "mymaster"), "%s", jd_redis_error(r));
  jd_redis_stats got;
  jd_redis_stats_get(&got, &st);
  cr_assert_eq(got.sentinel_failures, 2);
  cr_assert_str_eq(got.primary, "");
  /* A failed connect backs off 250 ms (+-12.5 %) at most in sentinel mode,
   * whatever was asked: 100, 200, 250, 250... */
  int64_t b = jd_redis_backoff_ms(r);
  for (int i = 0; i < 5; i++) {
    cr_assert_leq(b, 282, "%d: %lld", i, (long long)b);
    usleep((useconds_t)(b * 1000 + 1000));
    cr_assert_eq(jd_redis_command(NULL, r, "PING"), -1);
    b = jd_redis_backoff_ms(r);
  }
  cr_assert_geq(b, 210, "the cap is reached: %lld", (long long)b);
  cr_assert_leq(b, 282, "%lld", (long long)b);
  jd_redis_free(r);
  jd_redis_stats_destroy(&st);
}

/* ---- a fake sentinel with a hostile answer ---- */

typedef struct fake_sentinel {
  int fd, port;
  _Atomic(const char *) answer; /* RESP bytes sent back to whatever is asked */
  _Atomic(const char *) then;   /* NULL, or the answer to a second request on that connection */
  atomic_int drip_ms;           /* > 0: the answer is written one byte every drip_ms */
  atomic_size_t answer_len;     /* > 0: the answer's length (it holds NUL bytes) */
  atomic_bool stop;
  pthread_t th;
} fake_sentinel;

/* Writes n bytes of ans to c (one at a time when dripping); false when the
 * peer went away or the fake is stopping. */
static bool fake_write(fake_sentinel *f, int c, const char *ans, size_t n) {
  int drip = atomic_load(&f->drip_ms);
  for (size_t off = 0; off < n && !atomic_load(&f->stop);) {
    ssize_t w = write(c, ans + off, drip > 0 ? 1 : n - off);
    if (w <= 0)
      return false;
    off += (size_t)w;
    if (drip > 0)
      usleep((useconds_t)drip * 1000);
  }
  return true;
}

static bool fake_read(int c) {
  char buf[4096];
  struct pollfd pc = {.fd = c, .events = POLLIN};
  return poll(&pc, 1, 2000) > 0 && read(c, buf, sizeof buf) > 0;
}

static void *fake_serve(void *arg) {
  fake_sentinel *f = arg;
  while (!atomic_load(&f->stop)) {
    struct pollfd p = {.fd = f->fd, .events = POLLIN};
    if (poll(&p, 1, 50) <= 0)
      continue;
    int c = accept(f->fd, NULL, NULL);
    if (c < 0)
      continue;
    const char *ans = atomic_load(&f->answer), *then = atomic_load(&f->then);
    if (fake_read(c) &&
        fake_write(f, c, ans,
                   atomic_load(&f->answer_len) ? atomic_load(&f->answer_len) : strlen(ans)) &&
        then && fake_read(c))
      fake_write(f, c, then, strlen(then));
    close(c);
  }
  return NULL;
}

static void fake_start(fake_sentinel *f, const char *answer) {
  signal(SIGPIPE, SIG_IGN);
  f->fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  cr_assert_eq(bind(f->fd, (struct sockaddr *)&a, sizeof a), 0);
  cr_assert_eq(listen(f->fd, 8), 0);
  socklen_t n = sizeof a;
  getsockname(f->fd, (struct sockaddr *)&a, &n);
  f->port = ntohs(a.sin_port);
  atomic_store(&f->answer, answer);
  atomic_store(&f->then, NULL);
  atomic_store(&f->drip_ms, 0);
  atomic_store(&f->answer_len, 0);
  atomic_store(&f->stop, false);
  cr_assert_eq(pthread_create(&f->th, NULL, fake_serve, f), 0);
}

static void fake_stop(fake_sentinel *f) {
  atomic_store(&f->stop, true);
  pthread_join(f->th, NULL);
  close(f->fd);
}

Test(sentinel, a_hostile_sentinel_answer_is_refused) {
  static char longhost[600];
  snprintf(longhost, sizeof longhost, "*2\r\n$256\r\n%0256d\r\n$4\r\n6379\r\n", 0);
  static char flood[200100];
  int n = snprintf(flood, sizeof flood, "*2\r\n$200000\r\n");
  memset(flood + n, 'h', 200000);
  snprintf(flood + n + 200000, sizeof flood - (size_t)n - 200000, "\r\n$4\r\n6379\r\n");
  const char *answers[] = {
      longhost,                                             /* a 256-byte host */
      "*2\r\n$9\r\n127.0.0.1\r\n$5\r\n70000\r\n",           /* a port out of range */
      "*2\r\n$9\r\n127.0.0.1\r\n$1\r\n0\r\n",               /* idem */
      "*2\r\n$9\r\n127.0.0.1\r\n$3\r\n-80\r\n",             /* idem */
      "*2\r\n$9\r\nevil host\r\n$4\r\n6379\r\n",            /* a host of other bytes */
      "*2\r\n$0\r\n\r\n$4\r\n6379\r\n",                     /* an empty host */
      "*2\r\n$9\r\n127.0.0.1\r\n:6379\r\n",                 /* a port of another type */
      "*3\r\n$9\r\n127.0.0.1\r\n$4\r\n6379\r\n$1\r\nx\r\n", /* three elements */
      ":42\r\n",                                            /* not an array */
      "*-1\r\n",                                            /* does not monitor it */
      "-ERR \x1b[31mred\r\n",                               /* an error with a control byte */
      flood, /* a 200 kB host: refused past 64 kB buffered */
  };
  for (size_t i = 0; i < sizeof answers / sizeof answers[0]; i++) {
    fake_sentinel f;
    fake_start(&f, answers[i]);
    char url[100];
    snprintf(url, sizeof url, "redis-sentinel://127.0.0.1:%d/mymaster", f.port);
    jd_redis *r = NULL;
    cr_assert_eq(jd_redis_new(&r, url, NULL), 0);
    cr_assert_eq(jd_redis_command(NULL, r, "PING"), -1, "answer %zu", i);
    cr_assert_eq(jd_redis_last(r), JD_REDIS_CONN);
    cr_assert_str_eq(jd_redis_peer(r), "");
    cr_assert_null(strchr(jd_redis_error(r), '\x1b'), "%s", jd_redis_error(r));
    cr_assert_lt(strlen(jd_redis_error(r)), 600, "%s", jd_redis_error(r));
    if (answers[i] == flood)
      cr_assert(strstr(jd_redis_error(r), "an answer over 65536 bytes"), "%s", jd_redis_error(r));
    jd_redis_free(r);
    fake_stop(&f);
  }
}

/* ---- real sentinels ---- */

static char *addr_of(int port) {
  static char buf[4][64];
  static int k;
  char *b = buf[k++ % 4];
  snprintf(b, 64, "127.0.0.1:%d", port);
  return b;
}

/* A direct hiredis connection to a node of the set (its admin). */
static redisContext *admin(int i) {
  redisContext *c = redisConnect("127.0.0.1", set->data[i].port);
  cr_assert(c && !c->err, "admin connection to data[%d]", i);
  if (set->o.password) {
    redisReply *rep = redisCommand(c, "AUTH %s", set->o.password);
    freeReplyObject(rep);
  }
  return c;
}

/* GET key on data[i] through its admin connection; "" when nil. */
static void admin_get(char *out, size_t len, int i, const char *key) {
  redisContext *c = admin(i);
  redisReply *rep = redisCommand(c, "GET %s", key);
  cr_assert(rep);
  snprintf(out, len, "%s", rep->type == REDIS_REPLY_STRING ? rep->str : "");
  freeReplyObject(rep);
  redisFree(c);
}

/* Drops r's connection from the server's side (CLIENT KILL on data[i]). */
static void kill_client(jd_redis *r, int i) {
  redisReply *rep = NULL;
  cr_assert_eq(jd_redis_command(&rep, r, "CLIENT ID"), 0, "%s", jd_redis_error(r));
  long long id = rep->integer;
  freeReplyObject(rep);
  redisContext *c = admin(i);
  rep = redisCommand(c, "CLIENT KILL ID %lld", id);
  cr_assert(rep && rep->type == REDIS_REPLY_INTEGER && rep->integer == 1);
  freeReplyObject(rep);
  redisFree(c);
}

/* Runs fmt on r until it succeeds (waiting out the backoff), for at most
 * timeout_ms; returns rc of the last try. */
static int retry_command(jd_redis *r, int timeout_ms, const char *cmd) {
  int64_t end = jd_mono_ms() + timeout_ms;
  int rc;
  while ((rc = jd_redis_command(NULL, r, cmd)) && jd_redis_last(r) == JD_REDIS_CONN &&
         jd_mono_ms() < end) {
    int64_t w = jd_redis_backoff_ms(r);
    usleep((useconds_t)((w > 0 ? w : 5) * 1000));
  }
  return rc;
}

Test(sentinel, discovery_through_the_sentinels, .fini = stop_set) {
  set = t_sentinel_start(NULL);
  /* A dead sentinel first: asked, it fails, the next one answers and
   * comes first from then on. */
  char url[600];
  snprintf(url, sizeof url, "redis-sentinel://127.0.0.1:%d,%s", dead_port(),
           strstr(set->url, "127.0.0.1:"));
  jd_redis_stats st;
  jd_redis_stats_init(&st);
  jd_redis_opts o = {.stats = &st};
  jd_redis *r = NULL;
  cr_assert_eq(jd_redis_new(&r, url, &o), 0);
  cr_assert_eq(jd_redis_command(NULL, r, "SET disc yes"), 0, "%s", jd_redis_error(r));
  cr_assert_str_eq(jd_redis_peer(r), addr_of(set->data[0].port));
  char v[32];
  admin_get(v, sizeof v, 0, "disc");
  cr_assert_str_eq(v, "yes");
  int n = -1;
  cr_assert_eq(jd_redis_replica_count(&n, r), 0, "%s", jd_redis_error(r));
  cr_assert_eq(n, 1);
  jd_redis_stats got;
  jd_redis_stats_get(&got, &st);
  cr_assert_str_eq(got.primary, addr_of(set->data[0].port));
  cr_assert_eq(got.failovers, 0);
  cr_assert_eq(got.sentinel_failures, 1);
  /* Reconnecting asks the sentinel that answered first. */
  kill_client(r, 0);
  cr_assert_eq(retry_command(r, 5000, "PING"), 0, "%s", jd_redis_error(r));
  jd_redis_stats_get(&got, &st);
  cr_assert_eq(got.sentinel_failures, 1);
  cr_assert_eq(got.failovers, 0);
  jd_redis_free(r);
  jd_redis_stats_destroy(&st);
}

typedef struct follower {
  jd_redis *r;
  atomic_bool stop;
  atomic_llong first_ok_after_kill_ms; /* mono time of the first success after the kill */
  atomic_llong killed_ms;
  atomic_int failures;
} follower;

/* What a worker does: one command after another, waiting out the backoff. */
static void *follow(void *arg) {
  follower *f = arg;
  while (!atomic_load(&f->stop)) {
    int rc = jd_redis_command(NULL, f->r, "INCR ticks");
    long long killed = atomic_load(&f->killed_ms);
    if (rc) {
      atomic_fetch_add(&f->failures, 1);
      int64_t w = jd_redis_backoff_ms(f->r);
      usleep((useconds_t)((w > 0 ? w : 5) * 1000));
    } else if (killed && atomic_load(&f->failures) > 0 && !atomic_load(&f->first_ok_after_kill_ms))
      atomic_store(&f->first_ok_after_kill_ms, jd_mono_ms());
    else
      usleep(2000);
  }
  return NULL;
}

Test(sentinel, a_connection_follows_a_failover, .fini = stop_set) {
  set = t_sentinel_start(NULL);
  jd_redis_stats st;
  jd_redis_stats_init(&st);
  jd_redis_opts o = {.stats = &st};
  follower f = {0};
  cr_assert_eq(jd_redis_new(&f.r, set->url, &o), 0);
  cr_assert_eq(jd_redis_command(NULL, f.r, "SET before kill"), 0, "%s", jd_redis_error(f.r));
  pthread_t th;
  cr_assert_eq(pthread_create(&th, NULL, follow, &f), 0);
  usleep(100000);
  int64_t t_kill = jd_mono_ms();
  atomic_store(&f.killed_ms, t_kill);
  int old = t_sentinel_kill_primary(set);
  cr_assert_eq(old, 0);
  long ms = t_sentinel_wait_failover(set, old, 30000);
  int64_t t_done = jd_mono_ms();
  int64_t end = t_done + 5000;
  while (!atomic_load(&f.first_ok_after_kill_ms) && jd_mono_ms() < end)
    usleep(5000);
  atomic_store(&f.stop, true);
  pthread_join(th, NULL);
  long long ok = atomic_load(&f.first_ok_after_kill_ms);
  cr_assert(ok, "no command succeeded within 5 s of the failover: %s", jd_redis_error(f.r));
  printf("sentinel failover: kill -> failover complete %ld ms, failover complete -> first command "
         "%lld ms (kill -> first command %lld ms)\n",
         ms, ok - t_done, ok - t_kill);
  cr_assert_lt(ok - t_done, 2000);
  cr_assert_str_eq(jd_redis_peer(f.r), addr_of(set->data[1].port));
  jd_redis_stats got;
  jd_redis_stats_get(&got, &st);
  cr_assert_str_eq(got.primary, addr_of(set->data[1].port));
  cr_assert_eq(got.failovers, 1);
  /* Another connection of the process reaching the new primary is the
   * same failover, not a second. */
  jd_redis *r2 = NULL;
  cr_assert_eq(jd_redis_new(&r2, set->url, &o), 0);
  cr_assert_eq(jd_redis_command(NULL, r2, "GET before"), 0, "%s", jd_redis_error(r2));
  jd_redis_stats_get(&got, &st);
  cr_assert_eq(got.failovers, 1);
  jd_redis_free(r2);
  jd_redis_free(f.r);
  jd_redis_stats_destroy(&st);
}

/* A script that reads, then writes (hiredis's format splits on spaces:
 * the script is one %s argument). */
#define READ_THEN_WRITE "EVAL %s 1 %s %s", SCRIPT
static const char SCRIPT[] =
    "local v = redis.call('GET', KEYS[1]); redis.call('SET', KEYS[1], ARGV[1]); return v";

Test(sentinel, a_readonly_reply_mid_script_drops_the_connection, .fini = stop_set) {
  set = t_sentinel_start(NULL);
  jd_redis_stats st;
  jd_redis_stats_init(&st);
  jd_redis_opts o = {.stats = &st, .backoff_min_ms = 10};
  /* Direct: a redis:// URL naming the replica. */
  jd_redis *r = NULL;
  cr_assert_eq(jd_redis_new(&r, set->admin_url[1], &o), 0);
  cr_assert_eq(jd_redis_command(NULL, r, READ_THEN_WRITE, "ro", "direct"), -1);
  cr_assert_eq(jd_redis_last(r), JD_REDIS_CONN, "%s", jd_redis_error(r));
  cr_assert(strstr(jd_redis_error(r), "READONLY"), "%s", jd_redis_error(r));
  cr_assert(!jd_redis_connected(r));
  jd_redis_stats got;
  jd_redis_stats_get(&got, &st);
  cr_assert_eq(got.readonly, 1);
  char v[32];
  admin_get(v, sizeof v, 0, "ro");
  cr_assert_str_eq(v, "");
  admin_get(v, sizeof v, 1, "ro");
  cr_assert_str_eq(v, "");
  jd_redis_free(r);

  jd_redis_stats_destroy(&st);
}

/* A sentinel's answer naming 127.0.0.1:port. */
static void resp_addr(char *buf, size_t len, int port) {
  char p[16];
  snprintf(p, sizeof p, "%d", port);
  snprintf(buf, len, "*2\r\n$9\r\n127.0.0.1\r\n$%zu\r\n%s\r\n", strlen(p), p);
}

/* Sentinel mode, a primary demoted under the connection's feet without its
 * clients being dropped (an operator's REPLICAOF; Sentinel's own failover
 * drops them with CLIENT KILL, which is a connection error): two plain
 * redis-servers, a fake sentinel naming one, then the other. */
Test(sentinel, a_readonly_reply_in_sentinel_mode_asks_the_sentinels_again) {
  t_redis *a = t_redis_start(false, false), *b = t_redis_start(false, false);
  redisContext *ca = redisConnect("127.0.0.1", a->port), *cb = redisConnect("127.0.0.1", b->port);
  cr_assert(ca && !ca->err && cb && !cb->err);
  char ans_a[100], ans_b[100];
  resp_addr(ans_a, sizeof ans_a, a->port);
  resp_addr(ans_b, sizeof ans_b, b->port);
  fake_sentinel f;
  fake_start(&f, ans_a);
  char url[100];
  snprintf(url, sizeof url, "redis-sentinel://127.0.0.1:%d/mymaster", f.port);
  jd_redis_stats st;
  jd_redis_stats_init(&st);
  jd_redis_opts o = {.stats = &st, .backoff_min_ms = 10};
  jd_redis *r = NULL;
  cr_assert_eq(jd_redis_new(&r, url, &o), 0);
  cr_assert_eq(jd_redis_command(NULL, r, "PING"), 0, "%s", jd_redis_error(r));
  cr_assert_str_eq(jd_redis_peer(r), addr_of(a->port));
  /* b becomes the primary, a its replica; the sentinel names b. */
  freeReplyObject(redisCommand(cb, "REPLICAOF NO ONE"));
  freeReplyObject(redisCommand(ca, "REPLICAOF 127.0.0.1 %d", b->port));
  atomic_store(&f.answer, ans_b);
  cr_assert(jd_redis_connected(r));
  cr_assert_eq(jd_redis_command(NULL, r, READ_THEN_WRITE, "ro", "sentinel"), -1);
  cr_assert_eq(jd_redis_last(r), JD_REDIS_CONN, "%s", jd_redis_error(r));
  cr_assert(strstr(jd_redis_error(r), "READONLY"), "%s", jd_redis_error(r));
  jd_redis_stats got;
  jd_redis_stats_get(&got, &st);
  cr_assert_eq(got.readonly, 1);
  redisReply *rep = redisCommand(cb, "EXISTS ro");
  cr_assert_eq(rep->integer, 0, "nothing was written");
  freeReplyObject(rep);
  /* The caller retries: the next connect asks the sentinel, reaches b. */
  int64_t end = jd_mono_ms() + 5000;
  int rc;
  while ((rc = jd_redis_command(NULL, r, READ_THEN_WRITE, "ro", "sentinel")) &&
         jd_redis_last(r) == JD_REDIS_CONN && jd_mono_ms() < end)
    usleep((useconds_t)(jd_redis_backoff_ms(r) * 1000 + 1000));
  cr_assert_eq(rc, 0, "%s", jd_redis_error(r));
  cr_assert_str_eq(jd_redis_peer(r), addr_of(b->port));
  rep = redisCommand(cb, "GET ro");
  cr_assert_str_eq(rep->str, "sentinel");
  freeReplyObject(rep);
  jd_redis_stats_get(&got, &st);
  cr_assert_eq(got.failovers, 1);
  cr_assert_str_eq(got.primary, addr_of(b->port));
  jd_redis_free(r);
  jd_redis_stats_destroy(&st);
  fake_stop(&f);
  redisFree(ca);
  redisFree(cb);
  t_redis_stop(a);
  t_redis_stop(b);
}

Test(sentinel, a_wrong_sentinel_password_is_a_clear_connection_failure, .fini = stop_set) {
  t_sentinel_opts so = {.sentinel_password = "Right-pw-7"};
  set = t_sentinel_start(&so);
  char url[700], base[600];
  snprintf(base, sizeof base, "%s", set->url);
  *strchr(base, '?') = '\0';
  const char *expect[] = {"WRONGPASS", "NOAUTH"};
  for (int k = 0; k < 2; k++) {
    snprintf(url, sizeof url, "%s%s", base, k == 0 ? "?sentinel_password=Wr0ng-pw-9" : "");
    jd_redis *r = NULL;
    cr_assert_eq(jd_redis_new(&r, url, NULL), 0);
    cr_assert_eq(jd_redis_command(NULL, r, "PING"), -1);
    cr_assert_eq(jd_redis_last(r), JD_REDIS_CONN);
    const char *e = jd_redis_error(r);
    printf("wrong sentinel password: %s\n", e);
    for (int i = 0; i < 3; i++)
      cr_assert(strstr(e, addr_of(set->sent[i].port)), "%s", e);
    cr_assert(strstr(e, expect[k]), "%s", e);
    cr_assert_null(strstr(e, "Wr0ng-pw-9"), "%s", e);
    cr_assert_null(strstr(e, "Right-pw-7"), "%s", e);
    cr_assert_null(strstr(jd_redis_display_url(r), "Wr0ng-pw-9"));
    jd_redis_free(r);
  }
  /* The right one works. */
  jd_redis *r = NULL;
  cr_assert_eq(jd_redis_new(&r, set->url, NULL), 0);
  cr_assert_eq(jd_redis_command(NULL, r, "PING"), 0, "%s", jd_redis_error(r));
  jd_redis_free(r);
}

Test(sentinel, all_sentinels_down_then_back, .fini = stop_set) {
  set = t_sentinel_start(NULL);
  jd_redis_opts o = {.backoff_min_ms = 10};
  jd_redis *r = NULL;
  cr_assert_eq(jd_redis_new(&r, set->url, &o), 0);
  cr_assert_eq(jd_redis_command(NULL, r, "PING"), 0, "%s", jd_redis_error(r));
  t_sentinel_sentinels_down(set);
  /* A connection made goes on: the sentinels are asked only to connect. */
  cr_assert_eq(jd_redis_command(NULL, r, "PING"), 0, "%s", jd_redis_error(r));
  kill_client(r, 0);
  cr_assert_eq(jd_redis_command(NULL, r, "PING"), -1);
  cr_assert_eq(jd_redis_last(r), JD_REDIS_CONN);
  usleep((useconds_t)(jd_redis_backoff_ms(r) * 1000));
  cr_assert_eq(jd_redis_command(NULL, r, "PING"), -1);
  cr_assert_eq(jd_redis_last(r), JD_REDIS_CONN);
  cr_assert(strstr(jd_redis_error(r), "no sentinel named"), "%s", jd_redis_error(r));
  for (int i = 0; i < 3; i++)
    cr_assert(strstr(jd_redis_error(r), addr_of(set->sent[i].port)), "%s", jd_redis_error(r));
  t_sentinel_sentinels_up(set);
  cr_assert_eq(retry_command(r, 5000, "PING"), 0, "%s", jd_redis_error(r));
  cr_assert_str_eq(jd_redis_peer(r), addr_of(set->data[0].port));
  jd_redis_free(r);
}

Test(sentinel, the_topology_names_primary_replica_and_sentinels, .fini = stop_set) {
  set = t_sentinel_start(NULL);
  jd_redis *r = NULL;
  cr_assert_eq(jd_redis_new(&r, set->url, NULL), 0);
  jd_redis_topology t;
  cr_assert_eq(jd_redis_topology_get(&t, r), 0, "%s", jd_redis_error(r));
  cr_assert(t.sentinel);
  cr_assert_str_eq(t.master, "mymaster");
  cr_assert_str_eq(t.primary.addr, addr_of(set->data[0].port));
  cr_assert_str_eq(t.primary.role, "primary");
  cr_assert(t.primary.up);
  cr_assert_eq(t.nreplicas, 1);
  cr_assert_str_eq(t.replicas[0].addr, addr_of(set->data[1].port));
  cr_assert_str_eq(t.replicas[0].role, "replica");
  cr_assert(t.replicas[0].up);
  cr_assert_geq(t.replicas[0].offset, 0);
  cr_assert_eq(t.nsentinels, 3);
  for (int i = 0; i < 3; i++) {
    cr_assert_str_eq(t.sentinels[i].addr, addr_of(set->sent[i].port));
    cr_assert_str_eq(t.sentinels[i].role, "sentinel");
    cr_assert(t.sentinels[i].up, "%s", t.sentinels[i].error);
  }
  jd_redis_free(r);
  /* Direct: no sentinels, the one node. */
  cr_assert_eq(jd_redis_new(&r, set->admin_url[0], NULL), 0);
  cr_assert_eq(jd_redis_topology_get(&t, r), 0, "%s", jd_redis_error(r));
  cr_assert(!t.sentinel);
  cr_assert_str_eq(t.master, "");
  cr_assert_eq(t.nsentinels, 0);
  cr_assert_eq(t.nreplicas, 1);
  cr_assert_str_eq(t.primary.addr, addr_of(set->data[0].port));
  jd_redis_free(r);
}

Test(sentinel, an_acl_user_on_the_data_nodes_and_a_sentinel_password, .fini = stop_set) {
  t_sentinel_opts so = {.password = "data-pw", .sentinel_password = "sent-pw", .acl_user = true};
  set = t_sentinel_start(&so);
  cr_assert(strstr(set->url, "judger:"), "%s", set->url);
  jd_redis *r = NULL;
  cr_assert_eq(jd_redis_new(&r, set->url, NULL), 0);
  cr_assert_null(strstr(jd_redis_display_url(r), "data-pw"));
  cr_assert_null(strstr(jd_redis_display_url(r), "sent-pw"));
  /* ROLE (the check at connect, the replica count) is in the queue's ACL. */
  cr_assert_eq(jd_redis_command(NULL, r, "SET judger:acl ok"), 0, "%s", jd_redis_error(r));
  int n = -1;
  cr_assert_eq(jd_redis_replica_count(&n, r), 0, "%s", jd_redis_error(r));
  cr_assert_eq(n, 1);
  jd_redis_topology t;
  cr_assert_eq(jd_redis_topology_get(&t, r), 0, "%s", jd_redis_error(r));
  for (int i = 0; i < 3; i++)
    cr_assert(t.sentinels[i].up, "%s", t.sentinels[i].error);
  cr_assert_eq(t.nreplicas, 1);
  jd_redis_free(r);
}

Test(sentinel, the_topology_of_an_unreachable_primary_names_it, .fini = stop_set) {
  set = t_sentinel_start(NULL);
  jd_redis *r = NULL;
  jd_redis_opts o = {.connect_timeout_ms = 300, .io_timeout_ms = 300};
  cr_assert_eq(jd_redis_new(&r, set->url, &o), 0);
  t_sentinel_pause(set, 0);
  jd_redis_topology t;
  int rc = jd_redis_topology_get(&t, r);
  t_sentinel_resume(set, 0);
  cr_assert_eq(rc, -1);
  cr_assert_eq(jd_redis_last(r), JD_REDIS_CONN);
  cr_assert(!t.primary.up);
  cr_assert_str_eq(t.primary.addr, addr_of(set->data[0].port));
  cr_assert(t.primary.error[0]);
  cr_assert_eq(t.nsentinels, 3);
  jd_redis_free(r);
}

/* ---- bounded exchanges (review of issue 27, #5) ---- */

/* A sentinel URL naming the fake f. */
static void fake_url(char *url, size_t len, const fake_sentinel *f) {
  snprintf(url, len, "redis-sentinel://127.0.0.1:%d/mymaster", f->port);
}

Test(sentinel, a_dripping_sentinel_fails_within_the_deadline) {
  static char ans[100];
  resp_addr(ans, sizeof ans, dead_port());
  fake_sentinel f;
  fake_start(&f, ans);
  atomic_store(&f.drip_ms, 500); /* 30 bytes: 15 s if each byte were given its own timeout */
  char url[100];
  fake_url(url, sizeof url, &f);
  jd_redis *r = NULL;
  cr_assert_eq(jd_redis_new(&r, url, NULL), 0);
  int64_t t0 = jd_mono_ms();
  cr_assert_eq(jd_redis_command(NULL, r, "PING"), -1);
  int64_t took = jd_mono_ms() - t0;
  printf("a sentinel dripping a byte every 500 ms: refused after %lld ms\n", (long long)took);
  cr_assert_eq(jd_redis_last(r), JD_REDIS_CONN);
  cr_assert(strstr(jd_redis_error(r), "no whole answer in time"), "%s", jd_redis_error(r));
  cr_assert_lt(took, 2600, "the whole exchange has one 2 s deadline: %lld ms", (long long)took);
  jd_redis_free(r);
  fake_stop(&f);
}

static long maxrss_kb(void) {
  struct rusage u;
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss;
}

/* "*<n>\r\n" then `count` copies of item into a malloc'd buffer. */
static char *flood_of(const char *head, const char *item, size_t count, size_t *len) {
  size_t hn = strlen(head), in = strlen(item);
  char *b = malloc(hn + in * count + 1);
  cr_assert(b);
  memcpy(b, head, hn);
  for (size_t i = 0; i < count; i++)
    memcpy(b + hn + i * in, item, in);
  *len = hn + in * count;
  b[*len] = '\0';
  return b;
}

/* "$300\r\n" and 300 bytes. */
static const char *bulk300(void) {
  static char b[320];
  int n = snprintf(b, sizeof b, "$300\r\n");
  memset(b + n, 'x', 300);
  memcpy(b + n + 300, "\r\n", 3);
  return b;
}

Test(sentinel, a_flood_of_small_elements_is_refused_with_bounded_memory) {
  size_t len[3];
  char *answers[3] = {
      /* 5 M declared, 1 MB of ":1" sent (hiredis 0.14 has no element cap) */
      flood_of("*5000000\r\n", ":1\r\n", 250000, &len[0]),
      /* arrays of 3000 inside an array of 3000: few bytes, many slots */
      flood_of("*3000\r\n", "*3000\r\n", 3000, &len[1]),
      /* 4000 elements (under the cap), 1.2 MB of them: the byte cap */
      flood_of("*4000\r\n", bulk300(), 4000, &len[2]),
  };
  const char *expect[3] = {"an answer of over 4096 elements", "an answer of over 4096 elements",
                           "an answer over 65536 bytes"};
  long before = maxrss_kb();
  for (int i = 0; i < 3; i++) {
    fake_sentinel f;
    fake_start(&f, answers[i]);
    char url[100];
    fake_url(url, sizeof url, &f);
    jd_redis *r = NULL;
    cr_assert_eq(jd_redis_new(&r, url, NULL), 0);
    int64_t t0 = jd_mono_ms();
    cr_assert_eq(jd_redis_command(NULL, r, "PING"), -1);
    cr_assert_lt(jd_mono_ms() - t0, 2600);
    cr_assert_eq(jd_redis_last(r), JD_REDIS_CONN);
    cr_assert(strstr(jd_redis_error(r), expect[i]), "%d: %s", i, jd_redis_error(r));
    jd_redis_free(r);
    fake_stop(&f);
  }
  long grew = maxrss_kb() - before;
  printf("floods of small elements: peak RSS grew by %ld kB\n", grew);
  /* The answers themselves are about 2.5 MB of this process; 5 M elements
   * would be hundreds of MB. */
  cr_assert_lt(grew, 16 * 1024, "%ld kB", grew);
  for (int i = 0; i < 3; i++)
    free(answers[i]);
}

/* A master's ROLE answer with no replicas. */
#define ROLE_MASTER "*3\r\n$6\r\nmaster\r\n:0\r\n*0\r\n"

Test(sentinel, a_data_node_dripping_its_role_answer_fails_within_the_io_timeout) {
  fake_sentinel node, f;
  fake_start(&node, ROLE_MASTER);
  atomic_store(&node.drip_ms, 500);
  static char ans[100];
  resp_addr(ans, sizeof ans, node.port);
  fake_start(&f, ans);
  char url[100];
  fake_url(url, sizeof url, &f);
  jd_redis_opts o = {.io_timeout_ms = 1000};
  jd_redis *r = NULL;
  cr_assert_eq(jd_redis_new(&r, url, &o), 0);
  int64_t t0 = jd_mono_ms();
  cr_assert_eq(jd_redis_command(NULL, r, "PING"), -1);
  int64_t took = jd_mono_ms() - t0;
  cr_assert_eq(jd_redis_last(r), JD_REDIS_CONN);
  cr_assert(strstr(jd_redis_error(r), "ROLE on 127.0.0.1:"), "%s", jd_redis_error(r));
  cr_assert(strstr(jd_redis_error(r), "no whole answer in time"), "%s", jd_redis_error(r));
  /* Two tries (the sentinel names the same node again): 1 s each at most. */
  cr_assert_lt(took, 2600, "%lld ms", (long long)took);
  jd_redis_free(r);
  fake_stop(&f);
  fake_stop(&node);
}

Test(sentinel, a_flooding_role_answer_is_refused_by_the_replica_count_and_topology) {
  size_t len;
  char *role = flood_of("*3\r\n$6\r\nmaster\r\n:0\r\n*5000000\r\n",
                        "*3\r\n$1\r\nh\r\n$1\r\n1\r\n$1\r\n0\r\n", 40000, &len);
  fake_sentinel node;
  fake_start(&node, role);
  char url[100];
  snprintf(url, sizeof url, "redis://127.0.0.1:%d/0", node.port);
  jd_redis_opts o = {.backoff_min_ms = 1};
  jd_redis *r = NULL;
  cr_assert_eq(jd_redis_new(&r, url, &o), 0);
  long before = maxrss_kb();
  int n = -1;
  cr_assert_eq(jd_redis_replica_count(&n, r), -1);
  cr_assert_eq(jd_redis_last(r), JD_REDIS_CONN);
  cr_assert(strstr(jd_redis_error(r), "over 4096 elements"), "%s", jd_redis_error(r));
  cr_assert(!jd_redis_connected(r));
  usleep((useconds_t)(jd_redis_backoff_ms(r) * 1000 + 1000));
  jd_redis_topology t;
  cr_assert_eq(jd_redis_topology_get(&t, r), -1);
  cr_assert(strstr(t.primary.error, "over 4096 elements"), "%s", t.primary.error);
  cr_assert_lt(maxrss_kb() - before, 16 * 1024);
  jd_redis_free(r);
  fake_stop(&node);
  free(role);
}

/* ---- LOADING: the backoff keeps growing (review of issue 27, #7) ---- */

/* Commands on r, each after the backoff: every one fails with LOADING on
 * a fresh connection; returns the backoff after each in b[0..n). */
static void loading_backoffs(jd_redis *r, int64_t *b, int n) {
  for (int i = 0; i < n; i++) {
    usleep((useconds_t)(jd_redis_backoff_ms(r) * 1000 + 1000));
    cr_assert_eq(jd_redis_command(NULL, r, "PING"), -1);
    cr_assert_eq(jd_redis_last(r), JD_REDIS_CONN, "%s", jd_redis_error(r));
    cr_assert(strstr(jd_redis_error(r), "LOADING"), "%d: %s", i, jd_redis_error(r));
    b[i] = jd_redis_backoff_ms(r);
  }
}

Test(sentinel, a_node_loading_its_data_is_reconnected_to_ever_more_slowly) {
  /* A primary restarted in place: ROLE answers (allowed while loading),
   * then LOADING to the command. */
  fake_sentinel node, f;
  fake_start(&node, ROLE_MASTER);
  atomic_store(&node.then, "-LOADING Redis is loading the dataset in memory\r\n");
  static char ans[100];
  resp_addr(ans, sizeof ans, node.port);
  fake_start(&f, ans);
  char url[100];
  fake_url(url, sizeof url, &f);
  jd_redis_opts o = {.backoff_min_ms = 20};
  jd_redis *r = NULL;
  cr_assert_eq(jd_redis_new(&r, url, &o), 0);
  int64_t b[7];
  loading_backoffs(r, b, 7);
  printf("LOADING, sentinel mode: backoffs %lld %lld %lld %lld %lld %lld %lld ms\n",
         (long long)b[0], (long long)b[1], (long long)b[2], (long long)b[3], (long long)b[4],
         (long long)b[5], (long long)b[6]);
  cr_assert_eq(jd_redis_generation(r), 7, "each command connected anew");
  /* 20, 40, 80, 160, 320, 640, 1000 (the jitter, -12.5 % to +12.5 % of
   * each step, walks: 17, 30, 53, 94, 164, 287, 502 at the least), not 20
   * every time, and past the 250 ms of a failed connect up to 1 s. */
  cr_assert_geq(b[6], 490, "%lld", (long long)b[6]);
  cr_assert_leq(b[6], 1130, "%lld", (long long)b[6]);
  /* Growing until the cap; at the cap the jitter (875..1125 ms) may give
   * a shorter delay after a longer one (1019 then 935 was seen). */
  for (int i = 1; i < 7; i++)
    cr_assert(b[i] > b[i - 1] || b[i] >= 875, "step %d: %lld after %lld", i, (long long)b[i],
              (long long)b[i - 1]);
  jd_redis_free(r);
  fake_stop(&f);

  /* Direct: no setup command at all, LOADING to the first. */
  atomic_store(&node.answer, "-LOADING Redis is loading the dataset in memory\r\n");
  atomic_store(&node.then, NULL);
  snprintf(url, sizeof url, "redis://127.0.0.1:%d/0", node.port);
  cr_assert_eq(jd_redis_new(&r, url, &o), 0);
  loading_backoffs(r, b, 5);
  printf("LOADING, direct: backoffs %lld %lld %lld %lld %lld ms\n", (long long)b[0],
         (long long)b[1], (long long)b[2], (long long)b[3], (long long)b[4]);
  /* 20 .. 320 nominal; 164 at the least (the jitter's walk). */
  cr_assert_geq(b[4], 150, "%lld", (long long)b[4]);
  /* A command answered restarts it. */
  atomic_store(&node.answer, "+PONG\r\n");
  usleep((useconds_t)(jd_redis_backoff_ms(r) * 1000 + 1000));
  cr_assert_eq(jd_redis_command(NULL, r, "PING"), 0, "%s", jd_redis_error(r));
  usleep(100000); /* the fake closes after its answer */
  cr_assert_eq(jd_redis_command(NULL, r, "PING"), -1);
  cr_assert_leq(jd_redis_backoff_ms(r), 25, "the first step again after a working connection");
  jd_redis_free(r);
  fake_stop(&node);
}

/* ---- a node's text is cleaned (review of issue 27, #10) ---- */

/* No control byte (C0, DEL, C1) and valid UTF-8. */
static void assert_clean(const char *s) {
  cr_assert(jd_utf8_valid(s, strlen(s)), "%s", s);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++)
    cr_assert(*p >= 0x20 && *p != 0x7f && !(p[0] == 0xC2 && p[1] >= 0x80 && p[1] < 0xA0),
              "byte %02x in %s", *p, s);
}

Test(sentinel, a_nodes_error_text_reaches_no_terminal_raw) {
  const char *hostile[] = {
      "-ERR \x1b]0;owned\x07 \x1b[2J \xc2\x9b"
      "31m \xff\xfe\r\n",          /* an error reply */
      "-READONLY \x1b[31mred\r\n", /* a reconnect's message */
  };
  jd_redis_failure kind[] = {JD_REDIS_REPLY, JD_REDIS_CONN};
  for (int i = 0; i < 2; i++) {
    fake_sentinel node;
    fake_start(&node, hostile[i]);
    char url[100];
    snprintf(url, sizeof url, "redis://127.0.0.1:%d/0", node.port);
    jd_redis *r = NULL;
    cr_assert_eq(jd_redis_new(&r, url, NULL), 0);
    cr_assert_eq(jd_redis_command(NULL, r, "PING"), -1);
    cr_assert_eq(jd_redis_last(r), kind[i]);
    printf("a node's error, as kept: %s\n", jd_redis_error(r));
    assert_clean(jd_redis_error(r));
    cr_assert(strstr(jd_redis_error(r), "\\x1b"), "escaped, not dropped: %s", jd_redis_error(r));
    jd_redis_free(r);
    fake_stop(&node);
  }
  /* AUTH's refusal (a setup command), in sentinel mode behind a sentinel. */
  fake_sentinel node, f;
  fake_start(&node, "-WRONGPASS \x1b[5mblink\x1b[0m\r\n");
  static char ans[100];
  resp_addr(ans, sizeof ans, node.port);
  fake_start(&f, ans);
  char url[160];
  snprintf(url, sizeof url, "redis-sentinel://u:pw@127.0.0.1:%d/mymaster", f.port);
  jd_redis *r = NULL;
  cr_assert_eq(jd_redis_new(&r, url, NULL), 0);
  cr_assert_eq(jd_redis_command(NULL, r, "PING"), -1);
  cr_assert(strstr(jd_redis_error(r), "AUTH: WRONGPASS"), "%s", jd_redis_error(r));
  assert_clean(jd_redis_error(r));
  jd_redis_free(r);
  fake_stop(&f);
  fake_stop(&node);
}

/* ---- ROLE slave is no count of replicas (review of issue 27, #11) ---- */

Test(sentinel, the_replica_count_of_a_replica_is_a_failure) {
  t_redis *a = t_redis_start(false, false), *b = t_redis_start(false, false);
  redisContext *cb = redisConnect("127.0.0.1", b->port);
  cr_assert(cb && !cb->err);
  freeReplyObject(redisCommand(cb, "REPLICAOF 127.0.0.1 %d", a->port));
  char url[100];
  snprintf(url, sizeof url, "redis://127.0.0.1:%d/0", b->port);
  jd_redis_opts o = {.backoff_min_ms = 10};
  jd_redis *r = NULL;
  cr_assert_eq(jd_redis_new(&r, url, &o), 0);
  cr_assert_eq(jd_redis_command(NULL, r, "PING"), 0, "%s", jd_redis_error(r));
  int n = -1;
  cr_assert_eq(jd_redis_replica_count(&n, r), -1, "a replica: no count (0 would skip the WAIT)");
  cr_assert_eq(n, 0);
  cr_assert_eq(jd_redis_last(r), JD_REDIS_CONN, "%s", jd_redis_error(r));
  cr_assert(strstr(jd_redis_error(r), "is not the primary (ROLE: slave)"), "%s", jd_redis_error(r));
  cr_assert(!jd_redis_connected(r), "dropped: the caller reconnects");
  /* The primary counts its replica once it is linked. */
  snprintf(url, sizeof url, "redis://127.0.0.1:%d/0", a->port);
  jd_redis *ra = NULL;
  cr_assert_eq(jd_redis_new(&ra, url, NULL), 0);
  int64_t end = jd_mono_ms() + 10000;
  for (;;) {
    cr_assert_eq(jd_redis_replica_count(&n, ra), 0, "%s", jd_redis_error(ra));
    if (n > 0 || jd_mono_ms() > end)
      break;
    usleep(20000);
  }
  cr_assert_eq(n, 1);
  jd_redis_free(ra);
  jd_redis_free(r);
  redisFree(cb);
  t_redis_stop(a);
  t_redis_stop(b);
}

/* `judger status` against a node whose every answer is a hostile error:
 * nothing of it reaches the terminal raw (stdout and stderr). */
Test(sentinel, judger_status_prints_a_hostile_nodes_text_escaped) {
  fake_sentinel node;
  static const char hostile[] = "-ERR \x1b]0;owned\x07\x1b[2J\xc2\x9b"
                                "1m\r\n";
  fake_start(&node, hostile);
  atomic_store(&node.then, hostile);
  char dir[] = "/tmp/jd-sent-status-XXXXXX";
  cr_assert(mkdtemp(dir));
  char cmd[1024];
  for (int k = 0; k < 2; k++) {
    snprintf(cmd, sizeof cmd,
             "%s/bin/judger status --redis 'redis://127.0.0.1:%d/0' %s >%s/out 2>%s/err",
             JD_BINARY_DIR, node.port, k ? "--json" : "", dir, dir);
    int st = system(cmd);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) != 0, "%s", cmd);
    const char *names[] = {"out", "err"};
    int escaped = 0;
    for (int i = 0; i < 2; i++) {
      char path[128], *text = NULL;
      size_t len = 0;
      snprintf(path, sizeof path, "%s/%s", dir, names[i]);
      cr_assert_eq(jd_read_file(&text, &len, path, 1 << 20), 0);
      for (size_t j = 0; j < len; j++)
        cr_assert(text[j] != '\x1b' && text[j] != '\x07' &&
                      !((unsigned char)text[j] == 0xC2 && (unsigned char)text[j + 1] == 0x9B),
                  "%s: a raw control byte at %zu: %s", path, j, text);
      printf("judger status%s, %s: %s\n", k ? " --json" : "", names[i], text);
      escaped += strstr(text, "\\x1b") || strstr(text, "\\u001b");
      free(text);
      unlink(path);
    }
    cr_assert_eq(escaped, 2, "the node's text is shown escaped on both, not dropped");
  }
  rmdir(dir);
  fake_stop(&node);
}
