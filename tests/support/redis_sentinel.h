/* A real Redis Sentinel set for a test: two data nodes (data[0] starts as
 * the primary, data[1] its replica) and three sentinels, each a
 * redis-server on a free 127.0.0.1 port in its own temporary directory
 * (sentinels run as `redis-server <conf> --sentinel`, with a writable conf:
 * Sentinel rewrites it). Everything is killed and deleted by
 * t_sentinel_stop(). Fails the test clearly when redis-server is missing.
 * Waits are on conditions with a deadline, never fixed sleeps. */
#ifndef JD_TEST_REDIS_SENTINEL_H
#define JD_TEST_REDIS_SENTINEL_H

#include <stdbool.h>
#include <sys/types.h>

typedef struct t_rnode {
  pid_t pid; /* 0 = not running */
  int port;
  char *dir; /* its temp dir: conf, log, data */
} t_rnode;

typedef struct t_sentinel_opts {
  const char *password;          /* data nodes' default user password; NULL = none */
  const char *sentinel_password; /* sentinels' default user password (requirepass); NULL = none */
  bool acl_user;                 /* also make ACL user "judger" (T_REDIS_ACL_RULES) on the data
                                    nodes; the URL then uses it (password: o.password or "pw") */
  int down_after_ms;             /* 0 = 1000 */
  int failover_timeout_ms;       /* 0 = 3000 */
  bool persist;                  /* appendonly + fsync always on the data nodes */
} t_sentinel_opts;

typedef struct t_sentinel_set {
  t_rnode data[2]; /* data[0] starts as primary, data[1] its replica */
  t_rnode sent[3];
  char master[16]; /* "mymaster" */
  char
      *url; /* redis-sentinel://[judger:pw@]127.0.0.1:S1,...,S3/mymaster/0[?sentinel_password=..] */
  char *admin_url[2]; /* redis://[:password@]127.0.0.1:PORT/0 of each data node (default user) */
  t_sentinel_opts o;
} t_sentinel_set;

/* Starts 2 data nodes and 3 sentinels on free loopback ports; returns once the
 * three sentinels agree on data[0] and the replica's link is up. Fails the
 * test clearly when a binary is missing. o may be NULL. */
t_sentinel_set *t_sentinel_start(const t_sentinel_opts *o);
/* Kills all, removes the dirs (kept, and named on stderr, when the
 * environment has T_SENTINEL_KEEP=1: the nodes' logs), frees s (NULL is fine). */
void t_sentinel_stop(t_sentinel_set *s);
/* The index in data[] the sentinels name now (the first sentinel that
 * answers), -1 when none answers or the address is neither node. */
int t_sentinel_primary(t_sentinel_set *s);
/* SIGKILL the current primary (the node the sentinels name); returns its index. */
int t_sentinel_kill_primary(t_sentinel_set *s);
/* Waits (condition, not sleep) until the sentinels name the other node than
 * old AND it answers ROLE master; returns ms from the call to that moment;
 * fails the test after timeout_ms. */
long t_sentinel_wait_failover(t_sentinel_set *s, int old, int timeout_ms);
/* Starts data[i] again as a replica of the current primary, waits for its
 * link up. Never call it before the failover away from data[i] completed. */
void t_sentinel_restart_node(t_sentinel_set *s, int i);
/* SIGKILL all three sentinels. */
void t_sentinel_sentinels_down(t_sentinel_set *s);
/* Starts them again (same conf dirs and ports), waits until they answer. */
void t_sentinel_sentinels_up(t_sentinel_set *s);
/* SIGSTOP / SIGCONT data[i]. */
void t_sentinel_pause(t_sentinel_set *s, int i);
void t_sentinel_resume(t_sentinel_set *s, int i);
/* An INFO field of data[i] ("errorstat_READONLY" in "errorstats",
 * "cmdstat_evalsha" in "commandstats" -> its calls=N; a plain numeric field
 * -> its value), -1 when absent or the node does not answer. */
long long t_sentinel_info(t_sentinel_set *s, int i, const char *section, const char *field);

#endif
