/* The clocks benchmark's game logic (tests/bench/clocks.c): a static
 * program run from the busybox image with its directory at /app. It
 * speaks the pipe protocol (docs/protocol.md) and plays one player, p0 (AI
 * 0, tests/bench/games/clocks/player.c), over TCP on port 7000.
 *
 * Config (match.json "config", integers):
 *   turns      turns to play (1..2000)
 *   burn_ms    CPU the player spends on each turn (0..60000)
 *   budget_ms  the turn's budget sent with "turn" (0..3600000)
 *   clocked    1: each turn is "turn" ... "turn_end" and the game waits for
 *              "turn_ended"; 0: the same exchange without turn commands
 *   gap_ms     a pause between turns (the opponents' time; 0..10000)
 *
 * A turn: t0; "turn" (when clocked); "T <burn_ms>" to the player; its
 * reply "R <own_ns> <off_ns>"; "turn_end"; the "turn_ended" event; t1.
 * A "timeout" event is counted and answered by "turn_end" at once (the
 * benchmark's specs say on_timeout "freeze": the player is thawed and its
 * late reply still read). Every figure goes to /judger/out/summary.json:
 *   {"turns":N,"done":n,"timeouts":k,"error":"...",
 *    "own_us":[..],"off_us":[..],"used_us":[..],"wall_us":[..],"reply_us":[..]}
 * own/off: the player's own CPU on and off its turn; used: what turn_ended
 * charged (-1 when unclocked); wall: t1 - t0; reply: from t0 to its reply.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sys/socket.h>

#define MAX_TURNS 2000
#define LINE_CAP 4096
#define STALL_MS 60000

typedef struct lines {
  int fd;
  char buf[LINE_CAP];
  size_t len;
} lines;

typedef struct cfg {
  long turns, burn_ms, budget_ms, clocked, gap_ms;
} cfg;

typedef struct figures {
  long long own[MAX_TURNS], off[MAX_TURNS], used[MAX_TURNS], wall[MAX_TURNS], reply[MAX_TURNS];
  int done, timeouts;
  char error[200];
} figures;

static figures fig;
static int cmd_fd = -1;

static int64_t mono_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

static void fail(const char *why) {
  if (!fig.error[0])
    snprintf(fig.error, sizeof fig.error, "%s", why);
}

/* ---- text ------------------------------------------------------------------ */

/* The number after "key": in text (the first one after from), or def. */
static long json_long(const char *text, const char *key, long def) {
  char pat[64];
  snprintf(pat, sizeof pat, "\"%s\"", key);
  const char *p = strstr(text, pat);
  if (!p)
    return def;
  p += strlen(pat);
  while (*p == ' ' || *p == '\t' || *p == '\n' || *p == ':')
    p++;
  char *end = NULL;
  long v = strtol(p, &end, 10);
  return end == p ? def : v;
}

/* The decimal after "key": in text in µs (used_ms has 3 decimals), or -1. */
static long long json_ms_us(const char *text, const char *key) {
  char pat[64];
  snprintf(pat, sizeof pat, "\"%s\"", key);
  const char *p = strstr(text, pat);
  if (!p)
    return -1;
  p += strlen(pat);
  while (*p == ' ' || *p == ':')
    p++;
  char *end = NULL;
  double v = strtod(p, &end);
  return end == p ? -1 : (long long)(v * 1000.0 + 0.5);
}

/* The first "token" string of match.json into out (hex only). */
static void first_token(const char *text, char *out, size_t cap) {
  out[0] = 0;
  const char *p = strstr(text, "\"token\"");
  if (!p || !(p = strchr(p + 7, '"')))
    return;
  size_t n = 0;
  for (p++; n + 1 < cap && ((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')); p++)
    out[n++] = *p;
  out[n] = 0;
}

static long clamp(long v, long lo, long hi) { return v < lo ? lo : v > hi ? hi : v; }

static int read_config(cfg *c, char *token, size_t cap) {
  static char text[1 << 16];
  int fd = open("/judger/match.json", O_RDONLY);
  ssize_t n = fd >= 0 ? read(fd, text, sizeof text - 1) : -1;
  if (fd >= 0)
    close(fd);
  if (n <= 0)
    return -1;
  text[n] = 0;
  const char *conf = strstr(text, "\"config\"");
  if (!conf)
    return -1;
  c->turns = clamp(json_long(conf, "turns", 10), 1, MAX_TURNS);
  c->burn_ms = clamp(json_long(conf, "burn_ms", 0), 0, 60000);
  c->budget_ms = clamp(json_long(conf, "budget_ms", 1000), 0, 3600000);
  c->clocked = json_long(conf, "clocked", 1) != 0;
  c->gap_ms = clamp(json_long(conf, "gap_ms", 0), 0, 10000);
  first_token(text, token, cap);
  return 0;
}

/* ---- I/O ------------------------------------------------------------------- */

static void say(int fd, const char *s) {
  size_t n = strlen(s);
  while (n) {
    ssize_t w = write(fd, s, n);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0) {
      fail("write failed");
      return;
    }
    s += w, n -= (size_t)w;
  }
}

/* A complete line from l's buffer into out: 1, or 0 when none is there. */
static int take_line(lines *l, char *out, size_t cap) {
  char *nl = memchr(l->buf, '\n', l->len);
  if (!nl)
    return 0;
  size_t n = (size_t)(nl - l->buf);
  size_t k = n < cap - 1 ? n : cap - 1;
  memcpy(out, l->buf, k);
  out[k] = 0;
  l->len -= n + 1;
  memmove(l->buf, nl + 1, l->len);
  return 1;
}

/* Reads what fd has into l's buffer: 0, or -1 at its end or on an error
 * (a buffer full without a line is dropped). */
static int fill(lines *l) {
  if (l->len == sizeof l->buf)
    l->len = 0;
  ssize_t n = read(l->fd, l->buf + l->len, sizeof l->buf - l->len);
  if (n < 0 && (errno == EINTR || errno == EAGAIN))
    return 0;
  if (n <= 0)
    return -1;
  l->len += (size_t)n;
  return 0;
}

/* The next line of l within ms: 1, 0 on a timeout, -1 at its end. */
static int next_line(lines *l, char *out, size_t cap, int ms) {
  int64_t until = mono_us() + (int64_t)ms * 1000;
  while (!take_line(l, out, cap)) {
    struct pollfd p = {.fd = l->fd, .events = POLLIN};
    int left = (int)((until - mono_us()) / 1000);
    if (left < 0 || poll(&p, 1, left) == 0)
      return 0;
    if (fill(l))
      return -1;
  }
  return 1;
}

/* Waits for an event line containing what; 0, or -1. */
static int await_event(lines *ev, const char *what, char *line, size_t cap) {
  for (;;) {
    int r = next_line(ev, line, cap, STALL_MS);
    if (r <= 0)
      return -1;
    if (strstr(line, what))
      return 0;
  }
}

/* ---- the match ------------------------------------------------------------- */

/* Starts p0 and takes its connection into pl, checking its token; the
 * player's socket, or -1. */
static int take_player(lines *ev, lines *pl, const char *token) {
  int ls = socket(AF_INET, SOCK_STREAM, 0), one = 1;
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(7000)};
  setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (ls < 0 || bind(ls, (struct sockaddr *)&a, sizeof a) || listen(ls, 4))
    return fail("cannot listen"), -1;
  char line[LINE_CAP];
  say(cmd_fd, "{\"cmd\":\"start\",\"name\":\"p0\",\"ai\":0}\n");
  if (await_event(ev, "\"started\"", line, sizeof line))
    return fail("p0 did not start"), -1;
  struct pollfd p = {.fd = ls, .events = POLLIN};
  int fd = poll(&p, 1, STALL_MS) == 1 ? accept(ls, NULL, NULL) : -1;
  close(ls);
  if (fd < 0)
    return fail("p0 did not connect"), -1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  pl->fd = fd;
  if (next_line(pl, line, sizeof line, STALL_MS) != 1 || strcmp(line, token))
    return fail("p0's token is wrong"), close(fd), -1;
  return fd;
}

typedef struct turn_state {
  int replied, ended, sent_end;
} turn_state;

static void send_turn_end(turn_state *s) {
  if (!s->sent_end)
    say(cmd_fd, "{\"cmd\":\"turn_end\",\"name\":\"p0\"}\n");
  s->sent_end = 1;
}

/* One event during turn k. */
static void on_event(const char *line, int k, turn_state *s, const cfg *c) {
  if (strstr(line, "\"timeout\"")) {
    fig.timeouts++;
    send_turn_end(s);
  } else if (strstr(line, "\"turn_ended\"")) {
    fig.used[k] = json_ms_us(line, "used_ms");
    s->ended = 1;
  } else if (strstr(line, "\"exited\""))
    fail("p0 exited");
  else if (strstr(line, "\"refused\""))
    fail("a command was refused");
  (void)c;
}

/* One reply line of turn k. */
static void on_reply(const char *line, int k, int64_t t0, turn_state *s, const cfg *c) {
  long long own = -1, off = -1;
  if (sscanf(line, "R %lld %lld", &own, &off) != 2)
    return fail("a bad reply");
  fig.reply[k] = mono_us() - t0;
  fig.own[k] = own / 1000, fig.off[k] = off / 1000;
  s->replied = 1;
  if (c->clocked)
    send_turn_end(s);
}

static int play_turn(int k, const cfg *c, lines *ev, lines *pl) {
  char line[LINE_CAP];
  turn_state s = {0};
  fig.used[k] = -1;
  int64_t t0 = mono_us();
  if (c->clocked) {
    snprintf(line, sizeof line, "{\"cmd\":\"turn\",\"name\":\"p0\",\"budget_ms\":%ld}\n",
             c->budget_ms);
    say(cmd_fd, line);
  }
  snprintf(line, sizeof line, "T %ld\n", c->burn_ms);
  say(pl->fd, line);
  while (!fig.error[0] && !(s.replied && (s.ended || !c->clocked))) {
    if (take_line(ev, line, sizeof line)) {
      on_event(line, k, &s, c);
      continue;
    }
    if (take_line(pl, line, sizeof line)) {
      on_reply(line, k, t0, &s, c);
      continue;
    }
    struct pollfd p[2] = {{.fd = ev->fd, .events = POLLIN}, {.fd = pl->fd, .events = POLLIN}};
    if (poll(p, 2, STALL_MS) <= 0)
      return fail("the turn stalled"), -1;
    if ((p[0].revents && fill(ev)) || (p[1].revents && fill(pl)))
      return fail("a stream ended"), -1;
  }
  fig.wall[k] = mono_us() - t0;
  return fig.error[0] ? -1 : 0;
}

/* ---- the summary -------------------------------------------------------- */

static void put_array(FILE *f, const char *name, const long long *v, int n) {
  fprintf(f, ",\"%s\":[", name);
  for (int i = 0; i < n; i++)
    fprintf(f, "%s%lld", i ? "," : "", v[i]);
  fputc(']', f);
}

static void write_summary(const cfg *c) {
  FILE *f = fopen("/judger/out/summary.json", "w");
  if (!f)
    return;
  fprintf(f, "{\"turns\":%ld,\"done\":%d,\"timeouts\":%d,\"error\":\"%s\"", c->turns, fig.done,
          fig.timeouts, fig.error);
  put_array(f, "own_us", fig.own, fig.done);
  put_array(f, "off_us", fig.off, fig.done);
  put_array(f, "used_us", fig.used, fig.done);
  put_array(f, "wall_us", fig.wall, fig.done);
  put_array(f, "reply_us", fig.reply, fig.done);
  fputs("}\n", f);
  fclose(f);
}

int main(void) {
  cfg c;
  char token[160];
  static lines ev, pl;
  cmd_fd = open("/judger/cmd", O_WRONLY);
  ev.fd = open("/judger/events", O_RDONLY | O_NONBLOCK);
  if (cmd_fd < 0 || ev.fd < 0)
    return 1;
  if (read_config(&c, token, sizeof token))
    fail("cannot read match.json");
  pl.fd = fig.error[0] ? -1 : take_player(&ev, &pl, token);
  for (int k = 0; pl.fd >= 0 && k < c.turns && !fig.error[0]; k++) {
    if (play_turn(k, &c, &ev, &pl) == 0)
      fig.done = k + 1;
    if (c.gap_ms) {
      struct timespec t = {c.gap_ms / 1000, (c.gap_ms % 1000) * 1000000};
      nanosleep(&t, NULL);
    }
  }
  write_summary(&c);
  if (pl.fd >= 0)
    say(pl.fd, "Q\n");
  say(cmd_fd, "{\"cmd\":\"end\",\"scores\":[0]}\n");
  return 0;
}
