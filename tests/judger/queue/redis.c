// test-labels: redis
/* judger/redis.c: URL parsing, commands, reconnection after Redis restarts. */
#include <string.h>
#include <unistd.h>

#include "queue/redis.h"
#include "redis_server.h"
#include "support.h"

Test(redis, url_forms_parse) {
  jd_redis_url u;
  cr_assert_eq(jd_redis_url_parse(&u, "redis://10.1.2.3:7000/4"), 0);
  cr_assert_str_eq(u.host, "10.1.2.3");
  cr_assert_eq(u.port, 7000);
  cr_assert_eq(u.db, 4);
  cr_assert_eq(jd_redis_url_parse(&u, "redis://:s3cret@host"), 0);
  cr_assert_str_eq(u.password, "s3cret");
  cr_assert_str_eq(u.host, "host");
  cr_assert_eq(u.port, 6379);
  cr_assert_eq(u.db, 0);
  cr_assert_eq(jd_redis_url_parse(&u, "unix:///run/redis.sock?db=2"), 0);
  cr_assert_str_eq(u.path, "/run/redis.sock");
  cr_assert_eq(u.db, 2);
  cr_assert_eq(jd_redis_url_parse(&u, "http://x"), -1);
  cr_assert_eq(jd_redis_url_parse(&u, "redis://h:99999"), -1);
  cr_assert_eq(jd_redis_url_parse(&u, "redis://:7/1"), -1);
  cr_assert_eq(jd_redis_url_parse(&u, "unix://relative"), -1);
}

Test(redis, acl_users_and_escaped_passwords_parse) {
  jd_redis_url u;
  cr_assert_eq(jd_redis_url_parse(&u, "redis://judger-a:p%40ss%3Aw@q.example:6380/2"), 0);
  cr_assert_str_eq(u.user, "judger-a");
  cr_assert_str_eq(u.password, "p@ss:w");
  cr_assert_str_eq(u.host, "q.example");
  cr_assert_eq(u.port, 6380);
  cr_assert_eq(u.db, 2);
  /* The password alone, with or without its colon, is the default user's. */
  cr_assert_eq(jd_redis_url_parse(&u, "redis://s3cret@host"), 0);
  cr_assert_str_eq(u.user, "");
  cr_assert_str_eq(u.password, "s3cret");
  cr_assert_eq(jd_redis_url_parse(&u, "unix://judger-a:pw@/run/redis.sock?db=1"), 0);
  cr_assert_str_eq(u.user, "judger-a");
  cr_assert_str_eq(u.password, "pw");
  cr_assert_str_eq(u.path, "/run/redis.sock");
  cr_assert_eq(u.db, 1);
  /* A user without a password, bad escapes, an escaped NUL: refused. */
  cr_assert_eq(jd_redis_url_parse(&u, "redis://judger-a:@host"), -1);
  cr_assert_eq(jd_redis_url_parse(&u, "redis://u:p%4@host"), -1);
  cr_assert_eq(jd_redis_url_parse(&u, "redis://u:p%00@host"), -1);
}

Test(redis, the_display_url_names_the_user_never_the_password) {
  jd_redis *r = NULL;
  cr_assert_eq(jd_redis_new(&r, "redis://judger-a:hunter2@127.0.0.1:1/0", NULL), 0);
  cr_assert_str_eq(jd_redis_display_url(r), "redis://judger-a:***@127.0.0.1:1/0");
  jd_redis_free(r);
}

Test(redis, unix_socket_and_db_select) {
  t_redis *srv = t_redis_start(true, false);
  char url[700];
  snprintf(url, sizeof url, "%s?db=3", srv->url);
  jd_redis *r = NULL;
  cr_assert_eq(jd_redis_new(&r, url, NULL), 0);
  redisReply *rep = NULL;
  cr_assert_eq(jd_redis_command(NULL, r, "SET k v"), 0);
  cr_assert_eq(jd_redis_command(&rep, r, "CLIENT INFO"), 0, "%s", jd_redis_error(r));
  cr_assert(strstr(rep->str, "db=3"), "%s", rep->str);
  freeReplyObject(rep);
  cr_assert_eq(jd_redis_command(NULL, r, "NOSUCHCOMMAND"), -1);
  cr_assert_eq(jd_redis_last(r), JD_REDIS_REPLY);
  cr_assert(strstr(jd_redis_error(r), "unknown command"));
  /* The next command starts afresh: an old failure never reads as new. */
  cr_assert_eq(jd_redis_command(NULL, r, "PING"), 0);
  cr_assert_eq(jd_redis_last(r), JD_REDIS_NONE);
  jd_redis_free(r);
  t_redis_stop(srv);
}

Test(redis, reconnects_after_a_restart_with_backoff) {
  t_redis *srv = t_redis_start(false, true);
  jd_redis *r = NULL;
  jd_redis_opts o = {.backoff_min_ms = 50, .backoff_max_ms = 200};
  cr_assert_eq(jd_redis_new(&r, srv->url, &o), 0);
  cr_assert_eq(jd_redis_command(NULL, r, "SET k before"), 0);
  t_redis_kill(srv);
  cr_assert_eq(jd_redis_command(NULL, r, "GET k"), -1);
  cr_assert_eq(jd_redis_last(r), JD_REDIS_CONN);
  cr_assert(!jd_redis_connected(r));
  /* Within the backoff delay no connection is even tried. */
  cr_assert(jd_redis_backoff_ms(r) > 0);
  cr_assert_eq(jd_redis_connect(r), -1);
  cr_assert_eq(jd_redis_last(r), JD_REDIS_CONN);
  t_redis_resume(srv);
  redisReply *rep = NULL;
  int rc = -1;
  for (int i = 0; i < 100 && rc && jd_redis_last(r) == JD_REDIS_CONN; i++) {
    usleep(50000);
    rc = jd_redis_command(&rep, r, "GET k");
  }
  cr_assert_eq(rc, 0, "%s", jd_redis_error(r));
  cr_assert_str_eq(rep->str, "before"); /* the append-only file kept it */
  freeReplyObject(rep);
  jd_redis_free(r);
  t_redis_stop(srv);
}

Test(redis, the_peer_and_the_shared_stats_name_the_node) {
  t_redis *srv = t_redis_start(false, false);
  jd_redis_stats st;
  jd_redis_stats_init(&st);
  jd_redis_opts o = {.stats = &st};
  jd_redis *r = NULL;
  cr_assert_eq(jd_redis_new(&r, srv->url, &o), 0);
  cr_assert_str_eq(jd_redis_peer(r), "");
  cr_assert_eq(jd_redis_command(NULL, r, "PING"), 0, "%s", jd_redis_error(r));
  char addr[64];
  snprintf(addr, sizeof addr, "127.0.0.1:%d", srv->port);
  cr_assert_str_eq(jd_redis_peer(r), addr);
  int n = -1;
  cr_assert_eq(jd_redis_replica_count(&n, r), 0, "%s", jd_redis_error(r));
  cr_assert_eq(n, 0);
  jd_redis_stats got;
  jd_redis_stats_get(&got, &st);
  cr_assert_str_eq(got.primary, addr);
  cr_assert_eq(got.failovers, 0);
  cr_assert_eq(got.readonly, 0);
  jd_redis_stats_get(&got, NULL);
  cr_assert_str_eq(got.primary, "");
  jd_redis_free(r);
  jd_redis_stats_destroy(&st);
  t_redis_stop(srv);
}

/* Review of issue 27, #10: a decoded user name or password is printed (the
 * user) or sent (both) as is; control characters there are refused, so the
 * display URL cannot carry a newline or an ESC into a log or a terminal. */
Test(redis, control_characters_in_names_and_passwords_are_refused) {
  const char *bad[] = {
      "redis://u%0A:pw@host",                                          /* a newline in the user */
      "redis://u%1B%5B2J:pw@host",                                     /* an ESC */
      "redis://u:p%0Dw@host",                                          /* a CR in the password */
      "redis://u:p%7Fw@host",                                          /* DEL */
      "redis://u%C2%9B:pw@host",                                       /* C1 (CSI) */
      "redis://u%FF:pw@host",                                          /* not UTF-8 */
      "redis://u\x1b:pw@host",                                         /* raw, not escaped */
      "redis://ho\x1bst:6379",                                         /* a host */
      "unix:///run/re\ndis.sock",                                      /* a socket path */
      "redis-sentinel://u%0A:pw@h1/m",                                 /* the data nodes' user */
      "redis-sentinel://h1/m?sentinel_user=a%0Db&sentinel_password=x", /* the sentinels' */
      "redis-sentinel://h1/m?sentinel_password=x%07",                  /* BEL */
  };
  jd_redis_url u;
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    cr_assert_eq(jd_redis_url_parse(&u, bad[i]), -1, "%zu", i);
  /* UTF-8 text is fine. */
  cr_assert_eq(jd_redis_url_parse(&u, "redis://j%C3%BCdger:p%C3%A4ss@host"), 0);
  cr_assert_str_eq(u.user, "j\xc3\xbc"
                           "dger");
  jd_redis *r = NULL;
  cr_assert_eq(jd_redis_new(&r, "redis://u%0A:pw@host", NULL), -1);
  cr_assert_eq(
      jd_redis_new(&r, "redis-sentinel://h1/m?sentinel_user=%1B%5D0%3Bx&sentinel_password=p", NULL),
      -1);
  cr_assert_null(r);
}
