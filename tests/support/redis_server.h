/* A real redis-server for a test: started on a free 127.0.0.1 port (or a
 * unix socket) in its own temporary directory, stopped and deleted at the
 * end. Fails the test clearly when redis-server is missing. */
#ifndef JD_TEST_REDIS_SERVER_H
#define JD_TEST_REDIS_SERVER_H

#include <stdbool.h>
#include <sys/types.h>

typedef struct t_redis {
  pid_t pid;
  int port;  /* 0 with a unix socket */
  char *dir; /* temp dir: data, log, socket */
  char *url; /* redis://127.0.0.1:PORT/0 or unix://DIR/redis.sock */
  bool unix_sock;
  bool persist; /* append-only file, so a restart keeps the data */
} t_redis;

/* Starts a server; persist = fsync'd append-only file (for restart tests).
 * Free with t_redis_stop(). */
t_redis *t_redis_start(bool unix_sock, bool persist);
/* Stops (SIGTERM, then SIGKILL) and starts again on the same port and
 * directory; down_ms: how long it stays down in between. */
void t_redis_restart(t_redis *r, int down_ms);
/* Stops the server (without removing anything). */
void t_redis_kill(t_redis *r);
/* Starts it again after t_redis_kill(). */
void t_redis_resume(t_redis *r);
void t_redis_stop(t_redis *r);

/* The redis-server binary (NULL when not installed), and a port the kernel
 * just gave out on 127.0.0.1 (a tiny race with other tests: the caller
 * retries its start); also for the Sentinel set (redis_sentinel.h). */
const char *t_redis_server_bin(void);
int t_free_port(void);

/* The least-privileged Redis user a judger needs: docs/deployment.md gives
 * the same rules to the operator, and images/compose.yml to the deployment
 * test. Keys under "judger:" (the default prefix) only; the commands the
 * queue sends (judger/queue/) and nothing else: no KEYS, FLUSHALL, CONFIG,
 * CLIENT KILL, no channels. Keep the three in step. */
#define T_REDIS_ACL_RULES                                                                          \
  "resetkeys ~judger:* resetchannels -@all +ping +auth +hello +select +client|setname "            \
  "+client|info +eval +evalsha +script|load +xadd +xreadgroup +xread +xack +xautoclaim +xclaim "   \
  "+xdel +xgroup|create +xgroup|createconsumer +xlen +xpending +xrange +xrevrange +xinfo|groups "  \
  "+xinfo|stream +get +set +del +exists +hget +hset +hgetall +hdel +hincrby +incr +sadd +srem "    \
  "+smembers +pexpire +expire +rpush +lrange +zadd +mget +wait +role"

/* Makes (or resets) the ACL user name with password and T_REDIS_ACL_RULES
 * on r, through the default user. */
void t_redis_acl_user(t_redis *r, const char *name, const char *password);

#endif
