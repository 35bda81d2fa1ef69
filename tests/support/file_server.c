/* The tests' loopback file server (see file_server.h). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "file_server.h"

/* The client may hang up mid-body (a cap refused the announced length):
 * MSG_NOSIGNAL, so that is an error here, not a SIGPIPE killing the test. */
static void write_all(int fd, const char *p, size_t n) {
  while (n) {
    ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
    if (w <= 0)
      return;
    p += w;
    n -= (size_t)w;
  }
}

/* One request: read its head, answer. */
static void answer(t_file_server *s, int c) {
  char req[4096];
  size_t got = 0;
  while (got < sizeof req - 1) {
    ssize_t n = read(c, req + got, sizeof req - 1 - got);
    if (n <= 0)
      break;
    got += (size_t)n;
    req[got] = '\0';
    if (strstr(req, "\r\n\r\n"))
      break;
  }
  atomic_fetch_add(&s->requests, 1);
  char head[256];
  int hl =
      s->no_length
          ? snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")
          : snprintf(head, sizeof head,
                     "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n", s->len);
  write_all(c, head, (size_t)hl);
  size_t half = s->pause_ms ? s->len / 2 : s->len;
  write_all(c, s->body, half);
  if (s->pause_ms) {
    struct timespec ts = {s->pause_ms / 1000, (long)(s->pause_ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
    write_all(c, (const char *)s->body + half, s->len - half);
  }
}

static void *serve(void *ud) {
  t_file_server *s = ud;
  while (!atomic_load(&s->stop)) {
    struct pollfd p = {.fd = s->fd, .events = POLLIN};
    if (poll(&p, 1, 50) <= 0)
      continue;
    int c = accept(s->fd, NULL, NULL);
    if (c < 0)
      continue;
    answer(s, c);
    close(c);
  }
  return NULL;
}

void t_file_server_start(t_file_server *s, const void *body, size_t len, bool no_length,
                         int pause_ms) {
  memset(s, 0, sizeof *s);
  s->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  cr_assert(s->fd >= 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  cr_assert_eq(bind(s->fd, (struct sockaddr *)&a, sizeof a), 0);
  socklen_t al = sizeof a;
  cr_assert_eq(getsockname(s->fd, (struct sockaddr *)&a, &al), 0);
  s->port = ntohs(a.sin_port);
  cr_assert_eq(listen(s->fd, 16), 0);
  s->body = body;
  s->len = len;
  s->no_length = no_length;
  s->pause_ms = pause_ms;
  snprintf(s->url, sizeof s->url, "http://127.0.0.1:%d/file", s->port);
  cr_assert_eq(pthread_create(&s->th, NULL, serve, s), 0);
}

void t_file_server_stop(t_file_server *s) {
  atomic_store(&s->stop, true);
  pthread_join(s->th, NULL);
  close(s->fd);
}
