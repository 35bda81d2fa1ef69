/* A real redis-server per test (see redis_server.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "redis_server.h"
#include "support.h"

const char *t_redis_server_bin(void) {
  static const char *const cands[] = {"/usr/bin/redis-server", "/usr/local/bin/redis-server",
                                      "/usr/sbin/redis-server"};
  for (size_t i = 0; i < sizeof cands / sizeof cands[0]; i++)
    if (access(cands[i], X_OK) == 0)
      return cands[i];
  return NULL;
}

int t_free_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  cr_assert(fd >= 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  cr_assert(bind(fd, (struct sockaddr *)&a, sizeof a) == 0);
  socklen_t len = sizeof a;
  cr_assert(getsockname(fd, (struct sockaddr *)&a, &len) == 0);
  close(fd);
  return ntohs(a.sin_port);
}

static bool ping(const t_redis *r) {
  struct timeval tv = {0, 200000};
  char sock[600];
  snprintf(sock, sizeof sock, "%s/redis.sock", r->dir);
  redisContext *c = r->unix_sock ? redisConnectUnixWithTimeout(sock, tv)
                                 : redisConnectWithTimeout("127.0.0.1", r->port, tv);
  bool ok = false;
  if (c && !c->err) {
    redisReply *rep = redisCommand(c, "PING");
    ok = rep && rep->type == REDIS_REPLY_STATUS && !strcmp(rep->str, "PONG");
    if (rep)
      freeReplyObject(rep);
  }
  if (c)
    redisFree(c);
  return ok;
}

static void spawn(t_redis *r) {
  const char *bin = t_redis_server_bin();
  cr_assert(bin, "redis-server is not installed: run images/setup-host.sh");
  char port[16], sock[600], log[600];
  snprintf(port, sizeof port, "%d", r->port);
  snprintf(sock, sizeof sock, "%s/redis.sock", r->dir);
  snprintf(log, sizeof log, "%s/redis.log", r->dir);
  pid_t pid = fork();
  cr_assert(pid >= 0, "fork failed");
  if (pid == 0) {
    int devnull = open("/dev/null", O_RDWR);
    if (devnull >= 0) {
      dup2(devnull, 0);
      dup2(devnull, 1);
      dup2(devnull, 2);
    }
    const char *argv[40];
    int n = 0;
    argv[n++] = bin;
    argv[n++] = "--bind";
    argv[n++] = "127.0.0.1";
    argv[n++] = "--port";
    argv[n++] = r->unix_sock ? "0" : port;
    if (r->unix_sock) {
      argv[n++] = "--unixsocket";
      argv[n++] = sock;
      argv[n++] = "--unixsocketperm";
      argv[n++] = "700";
    }
    argv[n++] = "--dir";
    argv[n++] = r->dir;
    argv[n++] = "--logfile";
    argv[n++] = log;
    argv[n++] = "--save";
    argv[n++] = "";
    argv[n++] = "--appendonly";
    argv[n++] = r->persist ? "yes" : "no";
    argv[n++] = "--appendfsync";
    argv[n++] = "always";
    argv[n++] = "--daemonize";
    argv[n++] = "no";
    argv[n] = NULL;
    execv(bin, (char *const *)argv);
    _exit(127);
  }
  r->pid = pid;
  for (int i = 0; i < 200; i++) {
    if (ping(r))
      return;
    int st;
    if (waitpid(pid, &st, WNOHANG) == pid) {
      r->pid = 0;
      return; /* died: port taken? the caller retries */
    }
    usleep(20000);
  }
  cr_assert_fail("redis-server did not answer PING within 4 s (log: %s)", log);
}

t_redis *t_redis_start(bool unix_sock, bool persist) {
  t_redis *r = calloc(1, sizeof *r);
  cr_assert(r);
  r->unix_sock = unix_sock;
  r->persist = persist;
  r->dir = t_tmpdir("redis");
  for (int tries = 0; tries < 5 && !r->pid; tries++) {
    r->port = unix_sock ? 0 : t_free_port();
    spawn(r);
  }
  cr_assert(r->pid > 0, "redis-server would not start (see %s/redis.log)", r->dir);
  if (unix_sock)
    cr_assert(asprintf(&r->url, "unix://%s/redis.sock", r->dir) > 0);
  else
    cr_assert(asprintf(&r->url, "redis://127.0.0.1:%d/0", r->port) > 0);
  return r;
}

void t_redis_kill(t_redis *r) {
  if (!r || r->pid <= 0)
    return;
  kill(r->pid, SIGTERM);
  for (int i = 0; i < 250; i++) {
    int st;
    if (waitpid(r->pid, &st, WNOHANG) == r->pid) {
      r->pid = 0;
      return;
    }
    usleep(20000);
  }
  kill(r->pid, SIGKILL);
  waitpid(r->pid, NULL, 0);
  r->pid = 0;
}

void t_redis_resume(t_redis *r) {
  for (int tries = 0; tries < 50 && !r->pid; tries++) {
    spawn(r);
    if (!r->pid)
      usleep(100000); /* the port may linger a moment */
  }
  cr_assert(r->pid > 0, "redis-server would not restart on port %d", r->port);
}

void t_redis_restart(t_redis *r, int down_ms) {
  t_redis_kill(r);
  if (down_ms > 0)
    usleep((useconds_t)down_ms * 1000);
  t_redis_resume(r);
}

void t_redis_stop(t_redis *r) {
  if (!r)
    return;
  t_redis_kill(r);
  t_rmdir(r->dir);
  free(r->url);
  free(r);
}

void t_redis_acl_user(t_redis *r, const char *name, const char *password) {
  redisContext *c =
      r->unix_sock ? redisConnectUnix(strchr(r->url, '/') + 2) : redisConnect("127.0.0.1", r->port);
  cr_assert(c && !c->err, "connect to redis for ACL SETUSER: %s", c ? c->errstr : "no memory");
  const char *argv[64];
  int argc = 0;
  char pw[160], rules[] = T_REDIS_ACL_RULES;
  snprintf(pw, sizeof pw, ">%s", password);
  argv[argc++] = "ACL";
  argv[argc++] = "SETUSER";
  argv[argc++] = name;
  argv[argc++] = "reset";
  argv[argc++] = "on";
  argv[argc++] = pw;
  for (char *save = NULL, *w = strtok_r(rules, " ", &save); w && argc < 64;
       w = strtok_r(NULL, " ", &save))
    argv[argc++] = w;
  redisReply *rep = redisCommandArgv(c, argc, argv, NULL);
  cr_assert(rep && rep->type == REDIS_REPLY_STATUS, "ACL SETUSER: %s",
            rep && rep->str ? rep->str : c->errstr);
  freeReplyObject(rep);
  redisFree(c);
}
