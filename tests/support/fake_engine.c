/* The fake engine (see fake_engine.h). */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "fake_engine.h"

#define REQ_MAX (256 * 1024)
#define IO_TIMEOUT_MS 3000

struct t_fake {
  char sock_path[108];
  char host[128];
  int lfd;
  int stop_pipe[2];
  pthread_t thread;
  const t_fake_route *routes;
  size_t nroutes;
  atomic_int served;
  pthread_mutex_t mu; /* guards last */
  char *last;         /* the last request but /_ping and /version: "METHOD PATH\n\nBODY" */
};

static const char PING[] = "HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nContent-Type: text/plain\r\n"
                           "Content-Length: 2\r\nConnection: close\r\n\r\nOK";
static const char NOT_FOUND[] = "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\n"
                                "Content-Length: 40\r\nConnection: close\r\n\r\n"
                                "{\"message\":\"fake engine: no such route\"}";

/* Waits until fd is readable or the fake is told to stop: 1 readable,
 * 0 stop or timeout. */
static int wait_readable(t_fake *f, int fd, int timeout_ms) {
  struct pollfd p[2] = {{.fd = fd, .events = POLLIN}, {.fd = f->stop_pipe[0], .events = POLLIN}};
  int n = poll(p, 2, timeout_ms);
  return n > 0 && !(p[1].revents & POLLIN) && (p[0].revents & (POLLIN | POLLHUP));
}

/* Reads the request head and its body (Content-Length or chunked), so that
 * closing afterwards does not turn into a reset the client would see before
 * our answer. Returns the head (NUL-terminated) or NULL. */
static char *read_request(t_fake *f, int fd, size_t *body_off) {
  char *buf = malloc(REQ_MAX + 1);
  size_t len = 0;
  char *head_end = NULL;
  if (!buf)
    return NULL;
  while (!head_end) {
    if (len == REQ_MAX || !wait_readable(f, fd, IO_TIMEOUT_MS))
      goto fail;
    ssize_t n = read(fd, buf + len, REQ_MAX - len);
    if (n <= 0)
      goto fail;
    len += (size_t)n;
    buf[len] = '\0';
    head_end = strstr(buf, "\r\n\r\n");
  }
  size_t head_len = (size_t)(head_end - buf) + 4;
  size_t body_have = len - head_len;
  const char *cl = strcasestr(buf, "\r\ncontent-length:");
  int chunked = strcasestr(buf, "\r\ntransfer-encoding: chunked") != NULL;
  size_t body_want = cl && cl < head_end ? strtoul(cl + 17, NULL, 10) : 0;
  char tmp[4096];
  for (;;) {
    if (chunked) {
      /* the body is binary (a tar): memmem, not strstr */
      if (memmem(buf + head_len - 2, len - head_len + 2, "\r\n0\r\n\r\n", 7))
        break;
    } else if (body_have >= body_want) {
      break;
    }
    if (!wait_readable(f, fd, IO_TIMEOUT_MS))
      goto fail;
    /* kept while it fits (t_fake_last shows it), else drained */
    ssize_t n =
        read(fd, len < REQ_MAX ? buf + len : tmp, len < REQ_MAX ? REQ_MAX - len : sizeof tmp);
    if (n <= 0)
      goto fail;
    if (len < REQ_MAX)
      len += (size_t)n;
    body_have += (size_t)n;
  }
  buf[len] = '\0';
  *head_end = '\0';
  *body_off = head_len;
  return buf;
fail:
  free(buf);
  return NULL;
}

static const t_fake_route *route_for(t_fake *f, const char *method, const char *path) {
  /* "/v1.41/containers/..." -> "/containers/..." */
  if (path[0] == '/' && path[1] == 'v') {
    const char *slash = strchr(path + 1, '/');
    if (slash)
      path = slash;
  }
  for (size_t i = 0; i < f->nroutes; i++) {
    const t_fake_route *r = &f->routes[i];
    if ((!r->method || !strcmp(r->method, method)) &&
        (!r->path || !strncmp(path, r->path, strlen(r->path))))
      return r;
  }
  return NULL;
}

static void send_all(int fd, const void *data, size_t len) {
  const char *p = data;
  while (len) {
    ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
    if (n <= 0)
      return; /* the client went away: nothing to do */
    p += n;
    len -= (size_t)n;
  }
}

static void serve(t_fake *f, int fd) {
  size_t body_off = 0;
  char *req = read_request(f, fd, &body_off);
  if (!req)
    return;
  char method[16] = "", path[2048] = "";
  if (sscanf(req, "%15s %2047s", method, path) != 2) {
    free(req);
    return;
  }
  const void *raw = NOT_FOUND;
  size_t len = sizeof NOT_FOUND - 1;
  int hold_ms = 0;
  const t_fake_route *r = route_for(f, method, path);
  if (r) {
    raw = r->raw;
    len = r->len ? r->len : strlen(r->raw);
    hold_ms = r->hold_ms;
  } else if (!strncmp(path, "/_ping", 6)) {
    raw = PING;
    len = sizeof PING - 1;
  }
  if (strncmp(path, "/_ping", 6) && strcmp(path, "/version")) {
    char *copy = NULL;
    if (asprintf(&copy, "%s %s\n\n%s", method, path, req + body_off) > 0) {
      pthread_mutex_lock(&f->mu);
      free(f->last);
      f->last = copy;
      pthread_mutex_unlock(&f->mu);
    }
  }
  /* counted before sending: the client may be done before send() returns */
  atomic_fetch_add(&f->served, 1);
  send_all(fd, raw, len);
  if (hold_ms > 0) {
    struct pollfd p = {.fd = f->stop_pipe[0], .events = POLLIN};
    poll(&p, 1, hold_ms);
  }
  /* Closing a unix socket with unread bytes (an attach's stdin) makes the
   * client's recv fail with ECONNRESET, maybe before our answer is read:
   * end our side, then drain until the client closes. */
  shutdown(fd, SHUT_WR);
  char sink[4096];
  while (wait_readable(f, fd, 500) && read(fd, sink, sizeof sink) > 0)
    ;
  free(req);
}

static void *serve_loop(void *ud) {
  t_fake *f = ud;
  for (;;) {
    struct pollfd p[2] = {{.fd = f->lfd, .events = POLLIN},
                          {.fd = f->stop_pipe[0], .events = POLLIN}};
    if (poll(p, 2, -1) < 0 && errno != EINTR)
      break;
    if (p[1].revents & POLLIN)
      break;
    if (!(p[0].revents & POLLIN))
      continue;
    int fd = accept(f->lfd, NULL, NULL);
    if (fd < 0)
      continue;
    serve(f, fd);
    close(fd);
  }
  return NULL;
}

t_fake *t_fake_start(const t_fake_route *routes, size_t nroutes) {
  static atomic_int counter;
  t_fake *f = calloc(1, sizeof *f);
  cr_assert(f);
  f->routes = routes;
  f->nroutes = nroutes;
  f->lfd = -1;
  pthread_mutex_init(&f->mu, NULL);
  snprintf(f->sock_path, sizeof f->sock_path, "/tmp/jdfake-%d-%d.sock", (int)getpid(),
           atomic_fetch_add(&counter, 1));
  snprintf(f->host, sizeof f->host, "unix://%s", f->sock_path);
  unlink(f->sock_path);
  cr_assert(pipe(f->stop_pipe) == 0);
  f->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  cr_assert(f->lfd >= 0);
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  snprintf(a.sun_path, sizeof a.sun_path, "%s", f->sock_path);
  cr_assert(bind(f->lfd, (struct sockaddr *)&a, sizeof a) == 0, "bind %s: %s", f->sock_path,
            strerror(errno));
  cr_assert(listen(f->lfd, 16) == 0);
  cr_assert(pthread_create(&f->thread, NULL, serve_loop, f) == 0);
  return f;
}

const char *t_fake_host(const t_fake *f) { return f->host; }

int t_fake_served(t_fake *f) { return atomic_load(&f->served); }

char *t_fake_last(t_fake *f) {
  pthread_mutex_lock(&f->mu);
  char *s = f->last ? strdup(f->last) : NULL;
  pthread_mutex_unlock(&f->mu);
  return s;
}

void t_fake_stop(t_fake *f) {
  if (!f)
    return;
  ssize_t w = write(f->stop_pipe[1], "x", 1);
  (void)w;
  pthread_join(f->thread, NULL);
  close(f->lfd);
  close(f->stop_pipe[0]);
  close(f->stop_pipe[1]);
  unlink(f->sock_path);
  pthread_mutex_destroy(&f->mu);
  free(f->last);
  free(f);
}

char *t_fake_answer(size_t *len, const char *status, const char *content_type, const void *body,
                    size_t body_len) {
  char head[512];
  int n = snprintf(head, sizeof head,
                   "HTTP/1.1 %s\r\nApi-Version: 1.41\r\nContent-Type: %s\r\n"
                   "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                   status, content_type, body_len);
  cr_assert(n > 0 && (size_t)n < sizeof head);
  char *raw = malloc((size_t)n + body_len + 1);
  cr_assert(raw);
  memcpy(raw, head, (size_t)n);
  if (body_len)
    memcpy(raw + n, body, body_len);
  raw[(size_t)n + body_len] = '\0';
  *len = (size_t)n + body_len;
  return raw;
}

size_t t_fake_frame(unsigned char *buf, int stream, const char *payload, size_t len,
                    unsigned declared) {
  buf[0] = (unsigned char)stream;
  buf[1] = buf[2] = buf[3] = 0;
  buf[4] = (unsigned char)(declared >> 24);
  buf[5] = (unsigned char)(declared >> 16);
  buf[6] = (unsigned char)(declared >> 8);
  buf[7] = (unsigned char)declared;
  memcpy(buf + 8, payload, len);
  return 8 + len;
}
