// test-labels: redis
/* queue/outputs.c against a real redis-server, as the least-privileged ACL
 * user of docs/deployment.md: a published output stored and read back
 * byte for byte (NULs included), none, one over the reader's bound (not
 * sent), a hash of another shape refused, a second publish overwriting. */
#include <stdio.h>
#include <string.h>

#include "common/util.h"
#include "queue/outputs.h"
#include "redis_server.h"
#include "support.h"

static t_redis *srv;
static char acl_url[128];

static void up(void) {
  srv = t_redis_start(false, false);
  t_redis_acl_user(srv, "judger-q", "q-s3cret");
  snprintf(acl_url, sizeof acl_url, "redis://judger-q:q-s3cret@127.0.0.1:%d/0", srv->port);
}
static void down(void) { t_redis_stop(srv); }

TestSuite(outputs, .init = up, .fini = down);

static jd_queue *open_q(void) {
  jd_queue *q = NULL;
  jd_queue_opts o = {.redis_url = acl_url, .consumer = "h1"};
  cr_assert_eq(jd_queue_new(&q, &o), 0);
  return q;
}

static const char data[] = "<boot>\0binary\0</boot>";
#define DATA_LEN (sizeof data - 1)

Test(outputs, stored_and_read_back_byte_for_byte) {
  jd_queue *q = open_q();
  char sha[65];
  jd_sha256_hex(sha, data, DATA_LEN);
  cr_assert_eq(jd_queue_publish_output(q, "boot", "maps/boot.xml", data, DATA_LEN, sha), 0, "%s",
               jd_queue_error(q));
  jd_output o;
  bool found = false;
  cr_assert_eq(jd_queue_get_output(&o, &found, q, "boot", "maps/boot.xml", 1 << 20), 0, "%s",
               jd_queue_error(q));
  cr_assert(found);
  cr_assert_not(o.too_big);
  cr_assert_str_eq(o.sha256, sha);
  cr_assert_eq(o.bytes, DATA_LEN);
  cr_assert_eq(o.len, DATA_LEN);
  cr_assert_eq(memcmp(o.data, data, DATA_LEN), 0);
  jd_output_clear(&o);
  /* The key is the documented one. */
  redisReply *rep = NULL;
  cr_assert_eq(jd_redis_command(&rep, jd_queue_redis(q), "HGET %s %s",
                                "judger:output:boot:maps/boot.xml", "bytes"),
               0);
  char n[16];
  snprintf(n, sizeof n, "%zu", DATA_LEN);
  cr_assert(jd_reply_str(rep) && !strcmp(rep->str, n));
  freeReplyObject(rep);
  /* Published again (a re-run): the new bytes. */
  jd_sha256_hex(sha, "v2", 2);
  cr_assert_eq(jd_queue_publish_output(q, "boot", "maps/boot.xml", "v2", 2, sha), 0);
  cr_assert_eq(jd_queue_get_output(&o, &found, q, "boot", "maps/boot.xml", 1 << 20), 0);
  cr_assert(found && o.len == 2 && !memcmp(o.data, "v2", 2) && !strcmp(o.sha256, sha));
  jd_output_clear(&o);
  jd_queue_free(q);
}

Test(outputs, none_is_not_found) {
  jd_queue *q = open_q();
  jd_output o;
  bool found = true;
  cr_assert_eq(jd_queue_get_output(&o, &found, q, "nobody", "boot.xml", 1 << 20), 0, "%s",
               jd_queue_error(q));
  cr_assert_not(found);
  cr_assert_null(o.data);
  jd_queue_free(q);
}

Test(outputs, one_over_the_bound_is_not_sent) {
  jd_queue *q = open_q();
  char sha[65];
  jd_sha256_hex(sha, data, DATA_LEN);
  cr_assert_eq(jd_queue_publish_output(q, "big", "boot.xml", data, DATA_LEN, sha), 0);
  jd_output o;
  bool found = false;
  cr_assert_eq(jd_queue_get_output(&o, &found, q, "big", "boot.xml", 8), 0, "%s",
               jd_queue_error(q));
  cr_assert(found);
  cr_assert(o.too_big);
  cr_assert_null(o.data);
  cr_assert_eq(o.len, DATA_LEN);
  jd_output_clear(&o);
  jd_queue_free(q);
}

Test(outputs, a_hash_of_another_shape_is_refused) {
  jd_queue *q = open_q();
  const char *bad[][6] = {
      {"sha256", "short", "bytes", "3", "data", "abc"},
      {"sha256", "0000000000000000000000000000000000000000000000000000000000000000", "bytes", "-3",
       "data", "abc"},
      {"sha256", "0000000000000000000000000000000000000000000000000000000000000000", "bytes", "3",
       "nodata", "abc"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char key[64];
    snprintf(key, sizeof key, "judger:output:bad%zu:f", i);
    cr_assert_eq(jd_redis_command(NULL, jd_queue_redis(q), "HSET %s %s %s %s %s %s %s", key,
                                  bad[i][0], bad[i][1], bad[i][2], bad[i][3], bad[i][4], bad[i][5]),
                 0);
    char task[16];
    snprintf(task, sizeof task, "bad%zu", i);
    jd_output o;
    bool found = false;
    cr_assert_eq(jd_queue_get_output(&o, &found, q, task, "f", 1 << 20), -1, "case %zu", i);
    cr_assert_eq(jd_queue_last(q), JD_REDIS_PROTO, "case %zu", i);
    cr_assert_null(o.data);
  }
  jd_queue_free(q);
}
