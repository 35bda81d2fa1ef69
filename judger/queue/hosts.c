/* The host registry: heartbeats with a TTL, the set of registered hosts,
 * and which of them died (see queue.h and docs/queue.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "queue/queue_internal.h"

int jd_queue_heartbeat(jd_queue *q, const char *info_json, int64_t ttl_ms) {
  char hk[KEY_MAX];
  jd_queue_host_key(hk, q, q->consumer);
  int rc = jd_redis_command(NULL, q->r, "SET %s %s PX %lld", hk, info_json, (long long)ttl_ms);
  if (!rc)
    rc = jd_redis_command(NULL, q->r, "SADD %s %s", q->hosts, q->consumer);
  return rc;
}

int jd_queue_host_gone(jd_queue *q) {
  char hk[KEY_MAX];
  jd_queue_host_key(hk, q, q->consumer);
  int rc = jd_redis_command(NULL, q->r, "DEL %s", hk);
  if (!rc)
    rc = jd_redis_command(NULL, q->r, "SREM %s %s", q->hosts, q->consumer);
  return rc;
}

static void strv_free(char **v) {
  if (!v)
    return;
  for (char **p = v; *p; p++)
    free(*p);
  free(v);
}

/* Members of the hosts set and, for each, its heartbeat (or nil). */
int jd_queue_hosts_with_info(redisReply **members, redisReply ***infos, jd_queue *q) {
  *members = NULL;
  *infos = NULL;
  if (jd_redis_command(members, q->r, "SMEMBERS %s", q->hosts))
    return -1;
  if ((*members)->type != REDIS_REPLY_ARRAY) {
    freeReplyObject(*members);
    *members = NULL;
    return jd_queue_unexpected(q, "SMEMBERS");
  }
  size_t n = (*members)->elements;
  *infos = calloc(n + 1, sizeof **infos);
  if (!*infos)
    return jd_queue_no_memory(q);
  for (size_t i = 0; i < n; i++) {
    char hk[KEY_MAX];
    const char *h = jd_reply_str((*members)->element[i]);
    jd_queue_host_key(hk, q, h ? h : "");
    if (jd_redis_command(&(*infos)[i], q->r, "GET %s", hk))
      return -1;
  }
  return 0;
}

void jd_queue_hosts_free(redisReply *members, redisReply **infos) {
  if (infos && members)
    for (size_t i = 0; i < members->elements; i++)
      if (infos[i])
        freeReplyObject(infos[i]);
  free(infos);
  if (members)
    freeReplyObject(members);
}

int jd_queue_dead_hosts(char ***out, jd_queue *q) {
  *out = NULL;
  redisReply *members = NULL, **infos = NULL;
  int rc = jd_queue_hosts_with_info(&members, &infos, q);
  char **v = NULL;
  if (rc)
    goto cleanup;
  v = calloc(members->elements + 1, sizeof *v);
  if (!v) {
    rc = jd_queue_no_memory(q);
    goto cleanup;
  }
  size_t k = 0;
  for (size_t i = 0; i < members->elements; i++) {
    const char *h = jd_reply_str(members->element[i]);
    if (h && infos[i]->type == REDIS_REPLY_NIL && strcmp(h, q->consumer)) {
      if (!(v[k++] = strdup(h))) {
        rc = jd_queue_no_memory(q);
        goto cleanup;
      }
    }
  }
  *out = v;
  v = NULL;
cleanup:
  strv_free(v);
  jd_queue_hosts_free(members, infos);
  return rc;
}
