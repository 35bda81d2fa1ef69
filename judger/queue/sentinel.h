/* Redis Sentinel: the topology a connection sees, for `judger status` and
 * the tests. The discovery itself (asking the sentinels for the primary
 * when a redis-sentinel:// connection connects) happens inside
 * jd_redis_connect() (see redis.h). */
#ifndef JD_SENTINEL_H
#define JD_SENTINEL_H

#include <stdbool.h>
#include <stddef.h>

#include "queue/redis.h"

/* One node of the topology. */
typedef struct jd_redis_node {
  char addr[300];   /* host:port (or the socket path) */
  char role[16];    /* "primary", "replica", "sentinel" */
  bool up;          /* answered (primary, sentinels) / online (replicas, from the primary's ROLE) */
  long long offset; /* replication offset (primary, replicas); 0 for sentinels */
  char error[160];  /* why not up */
} jd_redis_node;

#define JD_REDIS_TOPOLOGY_REPLICAS_MAX 16

typedef struct jd_redis_topology {
  bool sentinel;   /* found through sentinels */
  char master[65]; /* the monitored name ("" without sentinels) */
  jd_redis_node primary;
  size_t nreplicas; /* at most JD_REDIS_TOPOLOGY_REPLICAS_MAX shown */
  jd_redis_node replicas[JD_REDIS_TOPOLOGY_REPLICAS_MAX];
  size_t nsentinels;
  jd_redis_node sentinels[JD_REDIS_SENTINELS_MAX];
} jd_redis_topology;

/* Connects (if needed) and fills *out: ROLE on the primary for its offset
 * and replicas; each sentinel of the URL asked `SENTINEL
 * get-master-addr-by-name` (up = answered). -1 (jd_redis_last/error of r)
 * when the primary cannot be reached: *out then still holds the sentinels
 * (asked anyway) and primary.error. */
int jd_redis_topology_get(jd_redis_topology *out, jd_redis *r);

#endif
