/* A unix-socket forwarder in front of the engine (see engine_proxy.h).
 * One accept thread; one thread per connection copying both ways with
 * poll. Down closes the listener and shuts every connection down. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "engine_proxy.h"
#include "support.h"

#define MAX_CONNS 256

struct t_engine_proxy {
  char path[108], upstream[108], host[128];
  int listen_fd;
  pthread_t acceptor;
  bool accepting;
  pthread_mutex_t mu;
  int conns[MAX_CONNS][2]; /* client, upstream; -1 = free */
  int nthreads;            /* connection threads still running */
  pthread_cond_t cv;
};

typedef struct conn_arg {
  t_engine_proxy *p;
  int slot;
} conn_arg;

static int unix_connect(const char *path) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
  if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0)
    return fd;
  if (fd >= 0)
    close(fd);
  return -1;
}

/* Copies what is readable on from to to; false at the end or an error. */
static bool pump(int from, int to) {
  char buf[65536];
  ssize_t n = read(from, buf, sizeof buf);
  if (n <= 0)
    return false;
  for (ssize_t off = 0; off < n;) {
    /* MSG_NOSIGNAL: a peer gone is an end, not a SIGPIPE that kills the
     * test. */
    ssize_t w = send(to, buf + off, (size_t)(n - off), MSG_NOSIGNAL);
    if (w <= 0)
      return false;
    off += w;
  }
  return true;
}

static void *conn_main(void *arg) {
  conn_arg *ca = arg;
  t_engine_proxy *p = ca->p;
  int slot = ca->slot;
  free(ca);
  pthread_mutex_lock(&p->mu);
  int c = p->conns[slot][0], u = p->conns[slot][1];
  pthread_mutex_unlock(&p->mu);
  for (;;) {
    struct pollfd fds[2] = {{c, POLLIN, 0}, {u, POLLIN, 0}};
    if (poll(fds, 2, -1) < 0 && errno != EINTR)
      break;
    if ((fds[0].revents & (POLLIN | POLLHUP | POLLERR)) && !pump(c, u))
      break;
    if ((fds[1].revents & (POLLIN | POLLHUP | POLLERR)) && !pump(u, c))
      break;
  }
  pthread_mutex_lock(&p->mu);
  close(p->conns[slot][0]);
  close(p->conns[slot][1]);
  p->conns[slot][0] = p->conns[slot][1] = -1;
  p->nthreads--;
  pthread_cond_broadcast(&p->cv);
  pthread_mutex_unlock(&p->mu);
  return NULL;
}

static void serve(t_engine_proxy *p, int c) {
  int u = unix_connect(p->upstream);
  pthread_mutex_lock(&p->mu);
  int slot = -1;
  for (int i = 0; i < MAX_CONNS && slot < 0 && u >= 0; i++)
    if (p->conns[i][0] < 0)
      slot = i;
  conn_arg *ca = slot >= 0 ? malloc(sizeof *ca) : NULL;
  pthread_t th;
  if (ca) {
    *ca = (conn_arg){p, slot};
    p->conns[slot][0] = c;
    p->conns[slot][1] = u;
    if (pthread_create(&th, NULL, conn_main, ca) == 0) {
      pthread_detach(th);
      p->nthreads++;
      pthread_mutex_unlock(&p->mu);
      return;
    }
    p->conns[slot][0] = p->conns[slot][1] = -1;
    free(ca);
  }
  pthread_mutex_unlock(&p->mu);
  close(c);
  if (u >= 0)
    close(u);
}

static void *accept_main(void *arg) {
  t_engine_proxy *p = arg;
  for (;;) {
    int c = accept4(p->listen_fd, NULL, NULL, SOCK_CLOEXEC);
    if (c < 0) {
      if (errno == EINTR || errno == ECONNABORTED)
        continue;
      break; /* shut down */
    }
    serve(p, c);
  }
  return NULL;
}

void t_engine_proxy_up(t_engine_proxy *p) {
  if (p->accepting)
    return;
  unlink(p->path);
  p->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  cr_assert(p->listen_fd >= 0);
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  snprintf(a.sun_path, sizeof a.sun_path, "%s", p->path);
  cr_assert_eq(bind(p->listen_fd, (struct sockaddr *)&a, sizeof a), 0, "%s", strerror(errno));
  cr_assert_eq(listen(p->listen_fd, 64), 0);
  cr_assert_eq(pthread_create(&p->acceptor, NULL, accept_main, p), 0);
  p->accepting = true;
}

void t_engine_proxy_down(t_engine_proxy *p) {
  if (!p->accepting)
    return;
  unlink(p->path); /* new connections: ENOENT */
  shutdown(p->listen_fd, SHUT_RDWR);
  pthread_join(p->acceptor, NULL);
  close(p->listen_fd);
  p->accepting = false;
  pthread_mutex_lock(&p->mu);
  for (int i = 0; i < MAX_CONNS; i++)
    if (p->conns[i][0] >= 0) {
      shutdown(p->conns[i][0], SHUT_RDWR);
      shutdown(p->conns[i][1], SHUT_RDWR);
    }
  while (p->nthreads > 0)
    pthread_cond_wait(&p->cv, &p->mu);
  pthread_mutex_unlock(&p->mu);
}

t_engine_proxy *t_engine_proxy_start(const char *dir) {
  t_engine_proxy *p = calloc(1, sizeof *p);
  cr_assert(p);
  const char *dh = getenv("DOCKER_HOST");
  if (dh && *dh) {
    cr_assert(!strncmp(dh, "unix://", 7), "the engine proxy forwards to unix sockets only: %s", dh);
    snprintf(p->upstream, sizeof p->upstream, "%s", dh + 7);
  } else {
    snprintf(p->upstream, sizeof p->upstream, "/var/run/docker.sock");
  }
  cr_assert(snprintf(p->path, sizeof p->path, "%s/docker.sock", dir) < (int)sizeof p->path);
  snprintf(p->host, sizeof p->host, "unix://%s", p->path);
  for (int i = 0; i < MAX_CONNS; i++)
    p->conns[i][0] = p->conns[i][1] = -1;
  pthread_mutex_init(&p->mu, NULL);
  pthread_cond_init(&p->cv, NULL);
  t_engine_proxy_up(p);
  return p;
}

const char *t_engine_proxy_host(const t_engine_proxy *p) { return p->host; }

void t_engine_proxy_free(t_engine_proxy *p) {
  if (!p)
    return;
  t_engine_proxy_down(p);
  pthread_mutex_destroy(&p->mu);
  pthread_cond_destroy(&p->cv);
  free(p);
}
