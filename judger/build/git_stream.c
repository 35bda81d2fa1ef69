/* libgit2's standard stream with a per-thread deadline, cancel token and
 * byte cap (git_stream.h). */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <git2.h>
#include <git2/sys/stream.h>

#include "build/git_stream.h"
#include "common/netaddr.h"

/* A poll waits at most this long before the cancel token is looked at. */
#define SLICE_MS 100

static __thread jd_git_budget *budget;
/* Guards every budget's fds against the watchers. */
static pthread_mutex_t fds_lock = PTHREAD_MUTEX_INITIALIZER;

/* The first fields are those of libgit2's git_socket_stream (parent, host,
 * port, descriptor): its ssh transport takes the descriptor from there. */
typedef struct jd_git_socket {
  git_stream parent;
  char *host;
  char *port;
  int s;
  jd_git_budget *budget; /* the one it was connected under (its fd is listed there) */
} jd_git_socket;

/* Lists st's descriptor in its thread's budget, for the watcher. */
static void fd_track(jd_git_socket *st) {
  if (!budget)
    return;
  pthread_mutex_lock(&fds_lock);
  if (budget->nfds < (int)(sizeof budget->fds / sizeof budget->fds[0])) {
    budget->fds[budget->nfds++] = st->s;
    st->budget = budget;
  }
  pthread_mutex_unlock(&fds_lock);
}

/* Takes st's descriptor off its budget's list before it is closed (a
 * watcher must never shut down a descriptor reused by someone else). */
static void fd_untrack(jd_git_socket *st) {
  if (!st->budget)
    return;
  pthread_mutex_lock(&fds_lock);
  jd_git_budget *b = st->budget;
  for (int i = 0; i < b->nfds; i++)
    if (b->fds[i] == st->s) {
      b->fds[i] = b->fds[--b->nfds];
      break;
    }
  st->budget = NULL;
  pthread_mutex_unlock(&fds_lock);
}

void jd_git_budget_set(jd_git_budget *b) { budget = b; }

jd_git_stop jd_git_budget_check(jd_git_budget *b) {
  if (!b)
    return JD_GIT_STOP_NONE;
  if (b->stop == JD_GIT_STOP_NONE) {
    if (b->cancel && dk_cancel_fired(b->cancel))
      b->stop = JD_GIT_STOP_CANCEL;
    else if (b->deadline_ms && dk_now_ms() >= b->deadline_ms)
      b->stop = JD_GIT_STOP_DEADLINE;
    else if (b->max_bytes && b->received > b->max_bytes)
      b->stop = JD_GIT_STOP_BYTES;
  }
  return b->stop;
}

/* Sets libgit2's error for a budget that stopped; returns -1. */
static int stopped(jd_git_stop why) {
  git_error_set_str(GIT_ERROR_NET, why == JD_GIT_STOP_CANCEL     ? "cancelled"
                                   : why == JD_GIT_STOP_DEADLINE ? "timed out"
                                                                 : "too many bytes received");
  return -1;
}

static int net_error(const char *what) {
  char msg[256];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(errno));
  git_error_set_str(GIT_ERROR_NET, msg);
  return -1;
}

/* Waits until fd is ready for events, in slices, while the budget holds.
 * 0 ready, -1 with libgit2's error set. */
static int wait_fd(int fd, short events) {
  for (;;) {
    jd_git_stop why = jd_git_budget_check(budget);
    if (why != JD_GIT_STOP_NONE)
      return stopped(why);
    int ms = SLICE_MS;
    if (budget && budget->deadline_ms) {
      int64_t left = budget->deadline_ms - dk_now_ms();
      if (left < ms)
        ms = left < 0 ? 0 : (int)left;
    } else if (!budget || !budget->cancel) {
      ms = -1; /* nothing to look at between waits */
    }
    struct pollfd p = {.fd = fd, .events = events};
    int n = poll(&p, 1, ms);
    if (n > 0)
      return 0;
    if (n < 0 && errno != EINTR)
      return net_error("poll");
  }
}

static int try_connect(int *out, const struct addrinfo *a) {
  int s = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
  if (s < 0)
    return net_error("socket");
  if (connect(s, a->ai_addr, a->ai_addrlen) != 0) {
    if (errno != EINPROGRESS) {
      int rc = net_error("connect");
      close(s);
      return rc;
    }
    int rc = wait_fd(s, POLLOUT);
    int soerr = 0;
    socklen_t len = sizeof soerr;
    if (!rc && getsockopt(s, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0)
      rc = net_error("getsockopt");
    if (!rc && soerr) {
      errno = soerr;
      rc = net_error("connect");
    }
    if (rc) {
      close(s);
      return rc;
    }
  }
  *out = s;
  return 0;
}

static int sock_connect(git_stream *stream) {
  jd_git_socket *st = (jd_git_socket *)stream;
  struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_family = AF_UNSPEC};
  struct addrinfo *info = NULL;
  jd_git_stop why = jd_git_budget_check(budget);
  if (why != JD_GIT_STOP_NONE)
    return stopped(why); /* spent: not even a connection */
  int gai = getaddrinfo(st->host, st->port, &hints, &info);
  if (gai != 0) {
    char msg[512];
    snprintf(msg, sizeof msg, "failed to resolve address for %s: %s", st->host, gai_strerror(gai));
    git_error_set_str(GIT_ERROR_NET, msg);
    return -1;
  }
  int rc = -1;
  char refused[INET6_ADDRSTRLEN + 8] = "";
  for (struct addrinfo *a = info; a && rc; a = a->ai_next) {
    if (budget && budget->public_only && !jd_addr_is_public(a->ai_addr)) {
      jd_addr_text(refused, sizeof refused, a->ai_addr);
      continue; /* never connected: the host's own neighbours */
    }
    rc = try_connect(&st->s, a);
    if (rc && jd_git_budget_check(budget) != JD_GIT_STOP_NONE)
      break; /* the error says why; no other address gets a try */
  }
  freeaddrinfo(info);
  if (rc && refused[0]) {
    char msg[512];
    snprintf(msg, sizeof msg,
             "%s resolves to %s, not a public address: this host fetches only from public "
             "addresses (setting fetch_private)",
             st->host, refused);
    git_error_set_str(GIT_ERROR_NET, msg);
  }
  if (!rc)
    fd_track(st);
  return rc;
}

static ssize_t sock_read(git_stream *stream, void *data, size_t len) {
  jd_git_socket *st = (jd_git_socket *)stream;
  for (;;) {
    jd_git_stop why = jd_git_budget_check(budget);
    if (why != JD_GIT_STOP_NONE)
      return stopped(why);
    ssize_t n = recv(st->s, data, len, 0);
    if (n >= 0) {
      if (budget) {
        budget->received += (uint64_t)n;
        why = jd_git_budget_check(budget);
        if (why != JD_GIT_STOP_NONE)
          return stopped(why);
      }
      return n;
    }
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
      return net_error("error receiving data from socket");
    if (wait_fd(st->s, POLLIN) != 0)
      return -1;
  }
}

static ssize_t sock_write(git_stream *stream, const char *data, size_t len, int flags) {
  jd_git_socket *st = (jd_git_socket *)stream;
  (void)flags;
  for (;;) {
    jd_git_stop why = jd_git_budget_check(budget);
    if (why != JD_GIT_STOP_NONE)
      return stopped(why);
    ssize_t n = send(st->s, data, len, MSG_NOSIGNAL);
    if (n >= 0)
      return n;
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
      return net_error("error sending data to socket");
    if (wait_fd(st->s, POLLOUT) != 0)
      return -1;
  }
}

static int sock_close(git_stream *stream) {
  jd_git_socket *st = (jd_git_socket *)stream;
  fd_untrack(st);
  int rc = st->s >= 0 ? close(st->s) : 0;
  st->s = -1;
  return rc;
}

static void sock_free(git_stream *stream) {
  jd_git_socket *st = (jd_git_socket *)stream;
  fd_untrack(st);
  if (st->s >= 0)
    close(st->s);
  free(st->host);
  free(st->port);
  free(st);
}

static int sock_new(git_stream **out, const char *host, const char *port) {
  jd_git_socket *st = calloc(1, sizeof *st);
  if (st) {
    st->host = strdup(host);
    st->port = strdup(port ? port : "");
  }
  if (!st || !st->host || !st->port) {
    if (st) {
      free(st->host);
      free(st->port);
    }
    free(st);
    git_error_set_oom();
    return -1;
  }
  st->s = -1;
  st->parent.version = GIT_STREAM_VERSION;
  st->parent.connect = sock_connect;
  st->parent.read = sock_read;
  st->parent.write = sock_write;
  st->parent.close = sock_close;
  st->parent.free = sock_free;
  *out = &st->parent;
  return 0;
}

int jd_git_stream_install(void) {
  git_stream_registration reg = {.version = GIT_STREAM_VERSION, .init = sock_new};
  return git_stream_register(GIT_STREAM_STANDARD, &reg) == 0 ? 0 : -1;
}

/* ---- the watcher ------------------------------------------------------------ */

static void *watch_main(void *ud) {
  jd_git_watch *w = ud;
  const jd_git_budget *b = w->budget;
  pthread_mutex_lock(&w->lock);
  while (!w->done) {
    /* Read only: the fetching thread owns b->stop. */
    bool spent = (b->cancel && dk_cancel_fired(b->cancel)) ||
                 (b->deadline_ms && dk_now_ms() >= b->deadline_ms);
    if (spent) {
      pthread_mutex_lock(&fds_lock);
      for (int i = 0; i < b->nfds; i++)
        shutdown(b->fds[i], SHUT_RDWR);
      pthread_mutex_unlock(&fds_lock);
      break;
    }
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_nsec += SLICE_MS * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
      until.tv_sec++;
      until.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&w->cond, &w->lock, &until);
  }
  pthread_mutex_unlock(&w->lock);
  return NULL;
}

int jd_git_watch_start(jd_git_watch *w, jd_git_budget *b) {
  *w = (jd_git_watch){.budget = b};
  if (!b || (!b->deadline_ms && !b->cancel))
    return 0;
  pthread_mutex_init(&w->lock, NULL);
  pthread_cond_init(&w->cond, NULL);
  if (pthread_create(&w->thread, NULL, watch_main, w) != 0) {
    pthread_cond_destroy(&w->cond);
    pthread_mutex_destroy(&w->lock);
    return -1;
  }
  w->started = true;
  return 0;
}

void jd_git_watch_stop(jd_git_watch *w) {
  if (!w->started)
    return;
  pthread_mutex_lock(&w->lock);
  w->done = true;
  pthread_cond_signal(&w->cond);
  pthread_mutex_unlock(&w->lock);
  pthread_join(w->thread, NULL);
  pthread_cond_destroy(&w->cond);
  pthread_mutex_destroy(&w->lock);
  w->started = false;
}
