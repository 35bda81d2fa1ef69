/* The clocks benchmark's player (tests/bench/clocks.c): a static program
 * run from the busybox image with its directory at /app.
 *
 * It connects to the game logic ($JUDGER_GAME_HOST, port 7000), sends its
 * token, then answers turns. The game sends "T <burn_ms>\n"; the player
 * reads its own CPU clock (CLOCK_PROCESS_CPUTIME_ID) the moment the line is
 * read, spends exactly burn_ms of CPU, and replies
 *   "R <own_ns> <off_ns>\n"
 * own_ns: its CPU time from reading the line to just before the reply's
 * write (the reference the judger's charge is compared with); off_ns: its
 * CPU time between its previous reply and this turn's line (what it
 * computed off its turn). "Q\n" or the connection's end: it exits 0.
 *
 *   player [ponder]
 * ponder: between turns (from its first reply on) it computes without
 * pause, polling the socket, as a bot thinking on its opponent's time;
 * else it blocks in read.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sys/socket.h>

#define PORT "7000"
#define LINE_MAX_LEN 256

static int64_t cpu_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static void nap_ms(int ms) {
  struct timespec t = {ms / 1000, (long)(ms % 1000) * 1000000};
  nanosleep(&t, NULL);
}

/* A connection to the game logic, retried for 30 s (it may not listen
 * yet); -1 when none. */
static int dial(const char *host) {
  struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *res = NULL;
  for (int i = 0; i < 600; i++, nap_ms(50)) {
    if (getaddrinfo(host, PORT, &hints, &res))
      continue;
    int fd = socket(res->ai_family, res->ai_socktype, 0);
    if (fd >= 0 && connect(fd, res->ai_addr, res->ai_addrlen) == 0) {
      freeaddrinfo(res);
      return fd;
    }
    if (fd >= 0)
      close(fd);
    freeaddrinfo(res);
  }
  return -1;
}

static int write_all(int fd, const char *s, size_t n) {
  while (n) {
    ssize_t w = write(fd, s, n);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return -1;
    s += w, n -= (size_t)w;
  }
  return 0;
}

/* Spends CPU until the socket has data (ponder mode). */
static void ponder_until_readable(int fd) {
  struct pollfd p = {.fd = fd, .events = POLLIN};
  volatile uint64_t x = 0;
  while (poll(&p, 1, 0) == 0)
    for (int i = 0; i < 20000; i++)
      x += (uint64_t)i * 2654435761u;
}

typedef struct reader {
  char buf[LINE_MAX_LEN];
  size_t len;
} reader;

/* The next line into line (NUL-terminated, '\n' dropped); -1 at the end,
 * on an error or a line too long. */
static int read_line(reader *r, int fd, char *line, size_t cap, int ponder) {
  for (;;) {
    char *nl = memchr(r->buf, '\n', r->len);
    if (nl) {
      size_t n = (size_t)(nl - r->buf);
      if (n >= cap)
        return -1;
      memcpy(line, r->buf, n);
      line[n] = 0;
      r->len -= n + 1;
      memmove(r->buf, nl + 1, r->len);
      return 0;
    }
    if (r->len == sizeof r->buf)
      return -1;
    if (ponder)
      ponder_until_readable(fd);
    ssize_t n = read(fd, r->buf + r->len, sizeof r->buf - r->len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return -1;
    r->len += (size_t)n;
  }
}

/* Spends burn_ms of this process's CPU from t0. */
static void burn(int64_t t0, long burn_ms) {
  volatile uint64_t x = 0;
  int64_t until = t0 + (int64_t)burn_ms * 1000000;
  while (cpu_ns() < until)
    for (int i = 0; i < 200; i++)
      x += (uint64_t)i * 2654435761u;
}

static int play(int fd, int ponder) {
  static reader r;
  char line[LINE_MAX_LEN], reply[96];
  int64_t last_reply = cpu_ns();
  for (int turn = 0;; turn++) {
    if (read_line(&r, fd, line, sizeof line, ponder && turn > 0))
      return 0;
    int64_t t0 = cpu_ns();
    if (line[0] == 'Q')
      return 0;
    char *end = NULL;
    long ms = line[0] == 'T' && line[1] == ' ' ? strtol(line + 2, &end, 10) : -1;
    if (ms < 0 || ms > 60000 || !end || *end)
      return 1;
    burn(t0, ms);
    int64_t t1 = cpu_ns();
    int n = snprintf(reply, sizeof reply, "R %lld %lld\n", (long long)(t1 - t0),
                     (long long)(t0 - last_reply));
    if (write_all(fd, reply, (size_t)n))
      return 0;
    last_reply = cpu_ns();
  }
}

int main(int argc, char **argv) {
  const char *host = getenv("JUDGER_GAME_HOST"), *token = getenv("JUDGER_TOKEN");
  int ponder = argc > 1 && !strcmp(argv[1], "ponder");
  int fd = dial(host && *host ? host : "game");
  if (fd < 0) {
    fprintf(stderr, "player: cannot reach the game logic\n");
    return 1;
  }
  char hello[200];
  int n = snprintf(hello, sizeof hello, "%.128s\n", token ? token : "");
  if (write_all(fd, hello, (size_t)n))
    return 1;
  return play(fd, ponder);
}
