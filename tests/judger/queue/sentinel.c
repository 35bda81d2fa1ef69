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
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/clock.h"
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
  /* The backoff is capped at 1 s in sentinel mode, whatever was asked. */
  cr_assert_leq(jd_redis_backoff_ms(r), 1000);
  jd_redis_stats got;
  jd_redis_stats_get(&got, &st);
  cr_assert_eq(got.sentinel_failures, 2);
  cr_assert_str_eq(got.primary, "");
  jd_redis_free(r);
  jd_redis_stats_destroy(&st);
}

/* ---- a fake sentinel with a hostile answer ---- */

typedef struct fake_sentinel {
  int fd, port;
  _Atomic(const char *) answer; /* RESP bytes sent back to whatever is asked */
  atomic_bool stop;
  pthread_t th;
} fake_sentinel;

static void *fake_serve(void *arg) {
  fake_sentinel *f = arg;
  while (!atomic_load(&f->stop)) {
    struct pollfd p = {.fd = f->fd, .events = POLLIN};
    if (poll(&p, 1, 50) <= 0)
      continue;
    int c = accept(f->fd, NULL, NULL);
    if (c < 0)
      continue;
    char buf[4096];
    struct pollfd pc = {.fd = c, .events = POLLIN};
    if (poll(&pc, 1, 2000) > 0 && read(c, buf, sizeof buf) > 0) {
      const char *ans = atomic_load(&f->answer);
      size_t n = strlen(ans);
      for (size_t off = 0; off < n;) {
        ssize_t w = write(c, ans + off, n - off);
        if (w <= 0)
          break;
        off += (size_t)w;
      }
    }
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
