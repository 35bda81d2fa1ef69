/* A primary, a replica and three sentinels of real redis-server processes
 * (see redis_sentinel.h).
 *
 * Each node has its own temp dir with a conf file the node may rewrite
 * (Sentinel rewrites its own conf with what it learns, and sends CONFIG
 * REWRITE to the data nodes it reconfigures). Every wait polls a condition
 * every 10 ms until a deadline. The children die with the test process
 * (PR_SET_PDEATHSIG), so a test killed on a timeout leaves no server. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "common/clock.h"
#include "redis_sentinel.h"
#include "redis_server.h"
#include "support.h"

#define POLL_US 10000

/* cr_assert, and the message on stderr too: a benchmark (no Criterion test
 * around it) would lose it. */
#define s_assert(cond, ...)                                                                        \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      fprintf(stderr, "redis_sentinel: " __VA_ARGS__);                                             \
      fputc('\n', stderr);                                                                         \
      cr_assert_fail(__VA_ARGS__);                                                                 \
    }                                                                                              \
  } while (0)

/* A connection to port, authenticated with password (NULL: none); NULL when
 * it does not answer within 200 ms. */
static redisContext *node_connect(int port, const char *password) {
  struct timeval tv = {0, 200000};
  redisContext *c = redisConnectWithTimeout("127.0.0.1", port, tv);
  if (!c || c->err)
    goto fail;
  redisSetTimeout(c, (struct timeval){1, 0});
  if (password) {
    redisReply *rep = redisCommand(c, "AUTH %s", password);
    bool ok = rep && rep->type == REDIS_REPLY_STATUS;
    if (rep)
      freeReplyObject(rep);
    if (!ok)
      goto fail;
  }
  return c;
fail:
  if (c)
    redisFree(c);
  return NULL;
}

static const char *data_pw(const t_sentinel_set *s) { return s->o.password; }
static const char *sent_pw(const t_sentinel_set *s) { return s->o.sentinel_password; }

static bool pings(int port, const char *password) {
  redisContext *c = node_connect(port, password);
  if (!c)
    return false;
  redisReply *rep = redisCommand(c, "PING");
  bool ok = rep && rep->type == REDIS_REPLY_STATUS && !strcmp(rep->str, "PONG");
  if (rep)
    freeReplyObject(rep);
  redisFree(c);
  return ok;
}

/* Starts redis-server conf [extra...] for n; waits for PING (password);
 * leaves n->pid 0 when it died at once (a port taken: the caller retries). */
static void spawn(t_rnode *n, const char *const *extra, const char *password) {
  const char *bin = t_redis_server_bin();
  s_assert(bin, "redis-server is not installed: run images/setup-host.sh");
  char conf[600];
  snprintf(conf, sizeof conf, "%s/node.conf", n->dir);
  pid_t parent = getpid();
  pid_t pid = fork();
  s_assert(pid >= 0, "fork failed");
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
      _exit(127);
    int devnull = open("/dev/null", O_RDWR);
    if (devnull >= 0) {
      dup2(devnull, 0);
      dup2(devnull, 1);
      dup2(devnull, 2);
    }
    const char *argv[8] = {bin, conf};
    for (int i = 0; extra && extra[i] && i < 5; i++)
      argv[2 + i] = extra[i];
    execv(bin, (char *const *)argv);
    _exit(127);
  }
  n->pid = pid;
  for (long long end = jd_mono_ms() + 5000; jd_mono_ms() < end; usleep(POLL_US)) {
    if (pings(n->port, password))
      return;
    if (waitpid(pid, NULL, WNOHANG) == pid) {
      n->pid = 0;
      return;
    }
  }
  s_assert(false, "redis-server did not answer PING within 5 s (log: %s/node.log)", n->dir);
}

static void spawn_retry(t_rnode *n, const char *const *extra, const char *password) {
  for (int tries = 0; tries < 50 && !n->pid; tries++) {
    spawn(n, extra, password);
    if (!n->pid)
      usleep(100000); /* the port may linger a moment */
  }
  s_assert(n->pid > 0, "redis-server would not start on port %d (see %s/node.log)", n->port,
           n->dir);
}

static void node_kill(t_rnode *n, int sig) {
  if (n->pid <= 0)
    return;
  kill(n->pid, sig);
  if (sig == SIGKILL) {
    waitpid(n->pid, NULL, 0);
    n->pid = 0;
  }
}

static FILE *conf_open(t_rnode *n) {
  char path[600];
  snprintf(path, sizeof path, "%s/node.conf", n->dir);
  FILE *f = fopen(path, "w");
  s_assert(f, "cannot write %s", path);
  fprintf(f, "bind 127.0.0.1\nport %d\ndir %s\nlogfile %s/node.log\ndaemonize no\n", n->port,
          n->dir, n->dir);
  return f;
}

static void write_data_conf(t_sentinel_set *s, t_rnode *n) {
  FILE *f = conf_open(n);
  fprintf(f, "save \"\"\nappendonly %s\nappendfsync always\nrepl-diskless-sync-delay 0\n",
          s->o.persist ? "yes" : "no");
  if (data_pw(s))
    fprintf(f, "requirepass %s\nmasterauth %s\n", data_pw(s), data_pw(s));
  if (s->o.acl_user)
    fprintf(f, "user judger reset on >%s %s\n", data_pw(s) ? data_pw(s) : "pw", T_REDIS_ACL_RULES);
  fclose(f);
}

static void write_sentinel_conf(t_sentinel_set *s, t_rnode *n) {
  FILE *f = conf_open(n);
  const char *m = s->master;
  fprintf(f, "sentinel monitor %s 127.0.0.1 %d 2\n", m, s->data[0].port);
  fprintf(f, "sentinel down-after-milliseconds %s %d\n", m, s->o.down_after_ms);
  fprintf(f, "sentinel failover-timeout %s %d\n", m, s->o.failover_timeout_ms);
  fprintf(f, "sentinel parallel-syncs %s 1\n", m);
  if (data_pw(s))
    fprintf(f, "sentinel auth-user %s default\nsentinel auth-pass %s %s\n", m, m, data_pw(s));
  if (sent_pw(s))
    fprintf(f, "requirepass %s\nsentinel sentinel-pass %s\n", sent_pw(s), sent_pw(s));
  fclose(f);
}

/* The data node's port a sentinel names for the master, 0 when it does not answer. */
static int sentinel_names(const t_sentinel_set *s, const t_rnode *sent) {
  if (sent->pid <= 0)
    return 0;
  redisContext *c = node_connect(sent->port, sent_pw(s));
  if (!c)
    return 0;
  int port = 0;
  redisReply *rep = redisCommand(c, "SENTINEL get-master-addr-by-name %s", s->master);
  if (rep && rep->type == REDIS_REPLY_ARRAY && rep->elements == 2 &&
      rep->element[1]->type == REDIS_REPLY_STRING)
    port = atoi(rep->element[1]->str);
  if (rep)
    freeReplyObject(rep);
  redisFree(c);
  return port;
}

static int index_of_port(const t_sentinel_set *s, int port) {
  for (int i = 0; i < 2; i++)
    if (port && s->data[i].port == port)
      return i;
  return -1;
}

int t_sentinel_primary(t_sentinel_set *s) {
  for (int i = 0; i < 3; i++) {
    int port = sentinel_names(s, &s->sent[i]);
    if (port)
      return index_of_port(s, port);
  }
  return -1;
}

/* The value of key in a flat key/value array reply, NULL when absent. */
static const char *kv(const redisReply *r, const char *key) {
  if (!r || r->type != REDIS_REPLY_ARRAY)
    return NULL;
  for (size_t i = 0; i + 1 < r->elements; i += 2)
    if (r->element[i]->type == REDIS_REPLY_STRING && !strcmp(r->element[i]->str, key) &&
        r->element[i + 1]->type == REDIS_REPLY_STRING)
      return r->element[i + 1]->str;
  return NULL;
}

/* A replica entry of SENTINEL replicas the sentinel has really reached:
 * flags "slave" only, its INFO read within 3 s naming the primary's port
 * with the link up, a ping answered within 2 s. (An entry the sentinel just
 * made for a killed primary, at its +switch-master, looks healthy until
 * probed: "slave", link "ok", but master-port 0 and no INFO yet.) */
static bool replica_entry_ok(const redisReply *e, int port, int primary_port) {
  const char *p = kv(e, "port"), *flags = kv(e, "flags"), *link = kv(e, "master-link-status");
  const char *mport = kv(e, "master-port"), *info = kv(e, "info-refresh");
  const char *ping = kv(e, "last-ok-ping-reply");
  return p && atoi(p) == port && flags && !strcmp(flags, "slave") && link && !strcmp(link, "ok") &&
         mport && atoi(mport) == primary_port && info && atoll(info) < 3000 && ping &&
         atoll(ping) < 2000;
}

/* A sentinel knows the two others, and lists data[i] as a healthy replica
 * of the other node. */
static bool sentinel_sees_replica(const t_sentinel_set *s, const t_rnode *sent, int i) {
  redisContext *c = node_connect(sent->port, sent_pw(s));
  if (!c)
    return false;
  bool ok = false;
  redisReply *m = redisCommand(c, "SENTINEL master %s", s->master);
  const char *others = kv(m, "num-other-sentinels");
  if (others && atoi(others) == 2) {
    redisReply *r = redisCommand(c, "SENTINEL replicas %s", s->master);
    for (size_t k = 0; r && r->type == REDIS_REPLY_ARRAY && k < r->elements; k++)
      ok = ok || replica_entry_ok(r->element[k], s->data[i].port, s->data[1 - i].port);
    if (r)
      freeReplyObject(r);
  }
  if (m)
    freeReplyObject(m);
  redisFree(c);
  return ok;
}

static bool role_is(const t_sentinel_set *s, int i, const char *role) {
  redisContext *c = node_connect(s->data[i].port, data_pw(s));
  if (!c)
    return false;
  redisReply *rep = redisCommand(c, "ROLE");
  bool ok = rep && rep->type == REDIS_REPLY_ARRAY && rep->elements > 0 &&
            rep->element[0]->type == REDIS_REPLY_STRING && !strcmp(rep->element[0]->str, role);
  if (ok && !strcmp(role, "slave")) /* ROLE of a replica: slave host port state offset */
    ok = rep->elements >= 4 && rep->element[3]->type == REDIS_REPLY_STRING &&
         !strcmp(rep->element[3]->str, "connected");
  if (rep)
    freeReplyObject(rep);
  redisFree(c);
  return ok;
}

/* Every running sentinel names data[primary], and lists data[replica] as a
 * healthy replica whose own link is up. */
static bool settled(const t_sentinel_set *s, int primary, int replica) {
  if (!role_is(s, primary, "master") || !role_is(s, replica, "slave"))
    return false;
  for (int k = 0; k < 3; k++)
    if (s->sent[k].pid > 0 && (sentinel_names(s, &s->sent[k]) != s->data[primary].port ||
                               !sentinel_sees_replica(s, &s->sent[k], replica)))
      return false;
  return true;
}

static void wait_settled(const t_sentinel_set *s, int primary, int replica, const char *what) {
  long long end = jd_mono_ms() + 30000;
  while (!settled(s, primary, replica)) {
    s_assert(jd_mono_ms() < end,
             "%s: the sentinels did not agree on primary :%d with replica :%d within 30 s "
             "(logs under %s, %s)",
             what, s->data[primary].port, s->data[replica].port, s->sent[0].dir,
             s->data[primary].dir);
    usleep(POLL_US);
  }
}

static void start_data(t_sentinel_set *s, int i, int primary) {
  char port[16];
  snprintf(port, sizeof port, "%d", primary >= 0 ? s->data[primary].port : 0);
  const char *const replica[] = {"--replicaof", "127.0.0.1", port, NULL};
  spawn_retry(&s->data[i], primary >= 0 ? replica : NULL, data_pw(s));
}

static void start_sentinel(t_sentinel_set *s, int k) {
  const char *const extra[] = {"--sentinel", NULL};
  spawn_retry(&s->sent[k], extra, sent_pw(s));
}

static void make_urls(t_sentinel_set *s) {
  const char *pw = data_pw(s);
  char auth[200] = "";
  if (s->o.acl_user)
    snprintf(auth, sizeof auth, "judger:%s@", pw ? pw : "pw");
  else if (pw)
    snprintf(auth, sizeof auth, ":%s@", pw);
  char query[200] = "";
  if (sent_pw(s))
    snprintf(query, sizeof query, "?sentinel_password=%s", sent_pw(s));
  cr_assert(asprintf(&s->url, "redis-sentinel://%s127.0.0.1:%d,127.0.0.1:%d,127.0.0.1:%d/%s/0%s",
                     auth, s->sent[0].port, s->sent[1].port, s->sent[2].port, s->master,
                     query) > 0);
  for (int i = 0; i < 2; i++)
    cr_assert(asprintf(&s->admin_url[i], "redis://%s%s%s127.0.0.1:%d/0", pw ? ":" : "",
                       pw ? pw : "", pw ? "@" : "", s->data[i].port) > 0);
}

/* Five distinct free ports. */
static void pick_ports(t_sentinel_set *s) {
  t_rnode *all[5] = {&s->data[0], &s->data[1], &s->sent[0], &s->sent[1], &s->sent[2]};
  for (int i = 0; i < 5; i++) {
    bool dup;
    do {
      all[i]->port = t_free_port();
      dup = false;
      for (int j = 0; j < i; j++)
        dup = dup || all[j]->port == all[i]->port;
    } while (dup);
  }
}

t_sentinel_set *t_sentinel_start(const t_sentinel_opts *o) {
  s_assert(t_redis_server_bin(), "redis-server is not installed: run images/setup-host.sh");
  t_sentinel_set *s = calloc(1, sizeof *s);
  cr_assert(s);
  if (o)
    s->o = *o;
  if (!s->o.down_after_ms)
    s->o.down_after_ms = 1000;
  if (!s->o.failover_timeout_ms)
    s->o.failover_timeout_ms = 3000;
  snprintf(s->master, sizeof s->master, "mymaster");
  pick_ports(s);
  for (int i = 0; i < 2; i++) {
    s->data[i].dir = t_tmpdir(i ? "sentinel-data1" : "sentinel-data0");
    write_data_conf(s, &s->data[i]);
  }
  for (int k = 0; k < 3; k++) {
    s->sent[k].dir = t_tmpdir("sentinel-s");
    write_sentinel_conf(s, &s->sent[k]);
  }
  start_data(s, 0, -1);
  start_data(s, 1, 0);
  for (int k = 0; k < 3; k++)
    start_sentinel(s, k);
  make_urls(s);
  wait_settled(s, 0, 1, "start");
  return s;
}

void t_sentinel_stop(t_sentinel_set *s) {
  if (!s)
    return;
  bool keep = getenv("T_SENTINEL_KEEP") && *getenv("T_SENTINEL_KEEP");
  if (keep)
    fprintf(stderr, "T_SENTINEL_KEEP: logs kept under %s, %s, %s...\n", s->data[0].dir,
            s->data[1].dir, s->sent[0].dir);
  for (int k = 0; k < 3; k++) {
    node_kill(&s->sent[k], SIGCONT);
    node_kill(&s->sent[k], SIGKILL);
    keep ? free(s->sent[k].dir) : t_rmdir(s->sent[k].dir);
  }
  for (int i = 0; i < 2; i++) {
    node_kill(&s->data[i], SIGCONT);
    node_kill(&s->data[i], SIGKILL);
    keep ? free(s->data[i].dir) : t_rmdir(s->data[i].dir);
    free(s->admin_url[i]);
  }
  free(s->url);
  free(s);
}

int t_sentinel_kill_primary(t_sentinel_set *s) {
  int i = t_sentinel_primary(s);
  s_assert(i >= 0, "no sentinel names a primary to kill");
  s_assert(s->data[i].pid > 0, "the primary data[%d] is not running", i);
  node_kill(&s->data[i], SIGKILL);
  return i;
}

long t_sentinel_wait_failover(t_sentinel_set *s, int old, int timeout_ms) {
  int other = 1 - old;
  long long start = jd_mono_ms(), end = start + timeout_ms, done = 0;
  for (;; usleep(POLL_US)) {
    s_assert(jd_mono_ms() < end, "no failover from data[%d] (:%d) within %d ms (sentinel log: %s)",
             old, s->data[old].port, timeout_ms, s->sent[0].dir);
    int named = 0, running = 0;
    for (int k = 0; k < 3; k++) {
      running += s->sent[k].pid > 0;
      named += sentinel_names(s, &s->sent[k]) == s->data[other].port;
    }
    if (!named || !role_is(s, other, "master"))
      continue;
    if (!done)
      done = jd_mono_ms(); /* Sentinel's failover completed: one sentinel switched */
    if (named == running)
      return (long)(done - start);
  }
}

void t_sentinel_restart_node(t_sentinel_set *s, int i) {
  s_assert(s->data[i].pid <= 0, "data[%d] is still running", i);
  int primary = t_sentinel_primary(s);
  s_assert(primary == 1 - i,
           "restarting data[%d] before the sentinels named the other node (they name %d): "
           "it would come back as an empty primary",
           i, primary);
  start_data(s, i, primary);
  wait_settled(s, primary, i, "restart");
}

void t_sentinel_sentinels_down(t_sentinel_set *s) {
  for (int k = 0; k < 3; k++)
    node_kill(&s->sent[k], SIGKILL);
}

void t_sentinel_sentinels_up(t_sentinel_set *s) {
  for (int k = 0; k < 3; k++)
    if (s->sent[k].pid <= 0)
      start_sentinel(s, k);
  long long end = jd_mono_ms() + 30000;
  while (t_sentinel_primary(s) < 0) {
    s_assert(jd_mono_ms() < end, "the sentinels name no primary 30 s after their restart");
    usleep(POLL_US);
  }
}

void t_sentinel_pause(t_sentinel_set *s, int i) { node_kill(&s->data[i], SIGSTOP); }

void t_sentinel_resume(t_sentinel_set *s, int i) { node_kill(&s->data[i], SIGCONT); }

/* "calls=3,usec=..." -> 3 for "calls"; a plain number -> itself. */
static long long field_value(const char *v) {
  const char *p = strstr(v, "calls=");
  if (p)
    return strtoll(p + 6, NULL, 10);
  p = strstr(v, "count=");
  if (p)
    return strtoll(p + 6, NULL, 10);
  return strtoll(v, NULL, 10);
}

long long t_sentinel_info(t_sentinel_set *s, int i, const char *section, const char *field) {
  if (s->data[i].pid <= 0)
    return -1;
  redisContext *c = node_connect(s->data[i].port, data_pw(s));
  if (!c)
    return -1;
  long long v = -1;
  size_t flen = strlen(field);
  redisReply *rep = redisCommand(c, "INFO %s", section);
  if (rep && rep->type == REDIS_REPLY_STRING) /* RESP3 would be VERB: not asked for */
    for (char *save = NULL, *l = strtok_r(rep->str, "\r\n", &save); l;
         l = strtok_r(NULL, "\r\n", &save))
      if (!strncmp(l, field, flen) && l[flen] == ':')
        v = field_value(l + flen + 1);
  if (rep)
    freeReplyObject(rep);
  redisFree(c);
  return v;
}
