/* Tron light cycles: the game logic of judger's sample match.
 *
 * Runs in the game-logic container of a match (docs/protocol.md):
 *  - reads the match from /judger/match.json (players, tokens, config);
 *  - asks the judger for one player per seat with {"cmd":"start",...} lines
 *    on the command pipe, and reads events from the event pipe;
 *  - serves the players over TCP (port 7000 by default): each connects,
 *    sends its token (and name) on the first line, then answers each turn;
 *  - clocks every move on the judger's turn clock (docs/protocol.md, "Turn
 *    clocks"): {"cmd":"turn"} before a player gets its state, {"cmd":
 *    "turn_end"} as soon as its move is in; the turn_ended event's used_ms
 *    goes into the replay, and a "timeout" event costs the player its move;
 *  - writes the replay to /judger/out/replay.json and ends the match with
 *    {"cmd":"end","scores":[...]} (scores in AI-list order).
 * The player protocol is documented in docs/samples.md.
 *
 * One thread, one poll() loop: a player that is slow, silent, flooding or
 * gone only ever costs itself its move (or its round), never the match. */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "rules.h"

#define MAX_CONNS 32         /* authenticated and pending connections together */
#define LINE_CAP 512         /* a player's line; longer = hostile, dropped */
#define EVENT_LINE_CAP 8192  /* an event line from the judger */
#define AUTH_TIMEOUT_MS 5000 /* a connection must name its token this fast */
#define NO_MOVE (-1)
/* How long the end of a turn waits for the judger's turn_ended events. They
 * come within milliseconds; one that never comes only loses a figure. */
#define CLOCK_SETTLE_MS 2000
#define USED_MS_MAX 1e9
#define FRAME_DELAY_MAX_MS 1000
/* Cells of obstacle rows per frame: a frame stays well under the judger's
 * default frame_max_bytes (8192); a bigger map takes several frames. */
#define FRAME_CELLS 4096

/* A seat's turn on the judger's clock, within one turn of the game. */
typedef enum {
  CLK_IDLE,   /* no turn open (or the clock is off) */
  CLK_OPEN,   /* "turn" sent */
  CLK_ENDING, /* "turn_end" sent: its turn_ended is due */
} clk_state;

typedef struct conn {
  int fd;   /* -1 = free slot */
  int seat; /* -1 = not authenticated yet */
  int64_t auth_deadline;
  size_t len;
  char buf[LINE_CAP];
} conn;

typedef struct seat {
  char name[16];
  int ai;
  int conn;     /* index in conns, -1 when not connected */
  bool gone;    /* exited or cancelled: will not come (back) */
  bool started; /* its started event came: the judger can clock it */
  int move;     /* last move received for move_turn */
  int move_turn;
  int total; /* points over all rounds */
  int timeouts, rounds_absent, wins;
  /* The judger's turn clock (docs/protocol.md, "Turn clocks"). */
  clk_state clk;
  bool clk_timeout; /* the clock ran out on this turn: the move is lost */
  double used_ms;   /* this turn's charge, -1 unknown */
  int clk_seen;     /* the judger's last turn number seen for this instance */
  int clock_timeouts, clocked_moves;
  double ms_total, ms_max, bank_ms; /* bank_ms: last reported, -1 unknown */
  char clock[8];                    /* "cpu" or "wall", as last reported */
} seat;

typedef struct game {
  tr_config cfg;
  int rounds, port, move_timeout_ms, connect_timeout_ms;
  bool clocks;        /* moves are clocked by the judger (config.turn_clock) */
  int turn_budget_ms; /* budget_ms of each turn; -1: none sent (limits.turn_ms) */
  int frame_delay_ms; /* a pause after every turn (a watched showcase), 0: none */
  int clock_misses;   /* turns whose figures never came */
  char *match_id;
  int nais;
  char **tokens; /* per AI */
  char **ai_ids; /* per AI: program ids from match.json, for the replay */
  int nseats;
  seat seats[TR_MAX_SEATS];
  int listen_fd, cmd_fd, ev_fd;
  size_t ev_len;
  bool ev_skip; /* discarding the rest of an over-long event line */
  char ev_buf[EVENT_LINE_CAP];
  conn conns[MAX_CONNS];
  int turn; /* the turn players are answering, -1 outside turns */
} game;

static void logf_(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "tron: ");
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *env_or(const char *name, const char *def) {
  const char *v = getenv(name);
  return v && *v ? v : def;
}

/* ---- the command pipe -------------------------------------------------- */

/* Writes one JSON line to the judger. A judger that went away is not our
 * problem to solve: the line is dropped and logged. */
static void cmd_send_json(game *g, json_object *o) {
  const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
  size_t len = strlen(s);
  char *line = malloc(len + 2);
  if (!line)
    return;
  memcpy(line, s, len);
  line[len] = '\n';
  size_t off = 0;
  while (off < len + 1) {
    ssize_t n = write(g->cmd_fd, line + off, len + 1 - off);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      logf_("command pipe: %s", strerror(errno));
      break;
    }
    off += (size_t)n;
  }
  free(line);
}

static void cmd_start(game *g, int s) {
  json_object *o = json_object_new_object();
  json_object_object_add(o, "cmd", json_object_new_string("start"));
  json_object_object_add(o, "name", json_object_new_string(g->seats[s].name));
  json_object_object_add(o, "ai", json_object_new_int(g->seats[s].ai));
  cmd_send_json(g, o);
  json_object_put(o);
}

static void cmd_progress(game *g, int round, int turn) {
  json_object *o = json_object_new_object();
  json_object_object_add(o, "cmd", json_object_new_string("progress"));
  json_object_object_add(o, "round", json_object_new_int(round + 1));
  json_object_object_add(o, "rounds", json_object_new_int(g->rounds));
  json_object_object_add(o, "turn", json_object_new_int(turn));
  json_object_object_add(o, "turns", json_object_new_int(g->cfg.max_turns));
  cmd_send_json(g, o);
  json_object_put(o);
}

/* {"cmd":"frame","data":...}: what a live viewer draws (docs/samples.md,
 * "Live frames"). Takes data's reference. The judger sends nothing back for
 * a frame: one over its size or rate limits is dropped there, unseen. */
static void cmd_frame(game *g, json_object *data) {
  json_object *o = json_object_new_object();
  json_object_object_add(o, "cmd", json_object_new_string("frame"));
  json_object_object_add(o, "data", data);
  cmd_send_json(g, o);
  json_object_put(o);
}

/* ---- the turn clock (docs/protocol.md, "Turn clocks") ------------------ */

/* {"cmd":"turn"|"turn_end","name":...}: a seat's turn on the judger's clock
 * starts or ends. By name, never by "ai": one AI may hold several seats. */
static void cmd_clock(game *g, int s, const char *cmd) {
  json_object *o = json_object_new_object();
  json_object_object_add(o, "cmd", json_object_new_string(cmd));
  json_object_object_add(o, "name", json_object_new_string(g->seats[s].name));
  if (!strcmp(cmd, "turn") && g->turn_budget_ms >= 0)
    json_object_object_add(o, "budget_ms", json_object_new_int(g->turn_budget_ms));
  cmd_send_json(g, o);
  json_object_put(o);
}

/* Just before the seat is sent its state. */
static void clock_begin(game *g, int s) {
  seat *st = &g->seats[s];
  if (!g->clocks || st->conn < 0 || st->gone || !st->started || g->cmd_fd < 0)
    return;
  st->clk = CLK_OPEN;
  cmd_clock(g, s, "turn");
}

/* As soon as the seat's move is in (or the game stops waiting for it). */
static void clock_end(game *g, int s) {
  if (g->seats[s].clk != CLK_OPEN)
    return;
  g->seats[s].clk = CLK_ENDING;
  cmd_clock(g, s, "turn_end");
}

static void clocks_off(game *g, const char *why) {
  if (g->clocks)
    logf_("moves are not clocked from now on: %s", why);
  g->clocks = false;
  for (int s = 0; s < g->nseats; s++)
    g->seats[s].clk = CLK_IDLE;
}

/* ---- players: connections ---------------------------------------------- */

static void conn_close(game *g, int ci, const char *why) {
  conn *c = &g->conns[ci];
  if (c->fd < 0)
    return;
  if (c->seat >= 0) {
    logf_("%s disconnected: %s", g->seats[c->seat].name, why);
    g->seats[c->seat].conn = -1;
  }
  close(c->fd);
  c->fd = -1;
  c->seat = -1;
  c->len = 0;
}

/* Sends one line to a seat. The socket is never allowed to block the game:
 * a player that does not read its turns until the buffer is full is dropped. */
static void seat_send(game *g, int s, const char *line, size_t len) {
  int ci = g->seats[s].conn;
  if (ci < 0)
    return;
  ssize_t n = send(g->conns[ci].fd, line, len, MSG_NOSIGNAL | MSG_DONTWAIT);
  if (n != (ssize_t)len)
    conn_close(g, ci, n < 0 ? strerror(errno) : "not reading its input");
}

static void seat_sendf(game *g, int s, const char *fmt, ...) {
  char line[256];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  if (n > 0 && (size_t)n < sizeof line)
    seat_send(g, s, line, (size_t)n);
}

/* Constant time: a player cannot learn a token byte by byte from timing. */
static bool token_equal(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  unsigned char d = la != lb;
  for (size_t i = 0; i < la && i < lb; i++)
    d |= (unsigned char)(a[i] ^ b[i]);
  return d == 0;
}

/* First line of a connection: "<token> [<name>]". The name picks among the
 * seats of the token's AI (one AI may hold several seats); without it, the
 * first free seat of that AI is taken. */
static void conn_auth(game *g, int ci, char *line) {
  char *save = NULL, *token = strtok_r(line, " \t", &save);
  char *name = strtok_r(NULL, " \t", &save);
  int pick = -1;
  for (int s = 0; token && s < g->nseats && pick < 0; s++) {
    seat *st = &g->seats[s];
    if (st->conn >= 0 || !token_equal(token, g->tokens[st->ai]))
      continue;
    if (!name || !strcmp(name, st->name))
      pick = s;
  }
  for (int s = 0; token && name && s < g->nseats && pick < 0; s++)
    if (g->seats[s].conn < 0 && token_equal(token, g->tokens[g->seats[s].ai]))
      pick = s; /* an unknown name with a good token still gets a free seat of its AI */
  if (pick < 0) {
    logf_("refused a connection: %s", token ? "no free seat for that token" : "empty first line");
    conn_close(g, ci, "refused");
    return;
  }
  conn *c = &g->conns[ci];
  c->seat = pick;
  g->seats[pick].conn = ci;
  g->seats[pick].gone = false;
  logf_("%s connected (AI %d)", g->seats[pick].name, g->seats[pick].ai);
  seat_sendf(g, pick, "welcome %d %d %d\n", pick, g->nseats, g->rounds);
}

/* A move line: "<turn> <dir>" (or just "<dir>"). Answers to an earlier
 * turn arrive late by definition and are ignored. */
static void conn_move(game *g, int ci, char *line) {
  seat *st = &g->seats[g->conns[ci].seat];
  char *save = NULL, *a = strtok_r(line, " \t", &save), *b = strtok_r(NULL, " \t", &save);
  if (!a)
    return;
  int turn = g->turn;
  const char *dir = a;
  if (b) {
    char *end;
    long t = strtol(a, &end, 10);
    if (*end)
      return;
    turn = (int)t;
    dir = b;
  }
  int d = tr_dir_parse(dir);
  if (d < 0 || g->turn < 0 || turn != g->turn || st->move_turn == g->turn)
    return;
  st->move = d;
  st->move_turn = g->turn;
  clock_end(g, g->conns[ci].seat);
}

static void conn_read(game *g, int ci) {
  conn *c = &g->conns[ci];
  char tmp[1024];
  ssize_t n = recv(c->fd, tmp, sizeof tmp, MSG_DONTWAIT);
  if (n < 0 && (errno == EAGAIN || errno == EINTR))
    return;
  if (n <= 0) {
    conn_close(g, ci, n == 0 ? "closed" : strerror(errno));
    return;
  }
  for (ssize_t i = 0; i < n && c->fd >= 0; i++) {
    if (tmp[i] == '\r')
      continue;
    if (tmp[i] != '\n') {
      if (c->len + 1 >= sizeof c->buf) {
        conn_close(g, ci, "line too long");
        return;
      }
      c->buf[c->len++] = tmp[i];
      continue;
    }
    c->buf[c->len] = 0;
    c->len = 0;
    if (c->seat < 0)
      conn_auth(g, ci, c->buf);
    else
      conn_move(g, ci, c->buf);
  }
}

static void accept_one(game *g) {
  int fd = accept(g->listen_fd, NULL, NULL);
  if (fd < 0)
    return;
  for (int i = 0; i < MAX_CONNS; i++) {
    if (g->conns[i].fd >= 0)
      continue;
    int one = 1, sndbuf = 1 << 20;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
    g->conns[i] = (conn){.fd = fd, .seat = -1, .auth_deadline = now_ms() + AUTH_TIMEOUT_MS};
    return;
  }
  logf_("too many connections: one refused");
  close(fd);
}

/* ---- the event pipe ---------------------------------------------------- */

static int seat_by_name(game *g, const char *name) {
  for (int s = 0; name && s < g->nseats; s++)
    if (!strcmp(g->seats[s].name, name))
      return s;
  return -1;
}

/* A time of an event, in ms: a finite number within 0..USED_MS_MAX, or -1. */
static double ev_ms(json_object *o, const char *key) {
  json_object *v;
  if (!json_object_object_get_ex(o, key, &v) ||
      !(json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int)))
    return -1;
  double d = json_object_get_double(v);
  return d >= 0 && d <= USED_MS_MAX ? d : -1; /* NaN fails both */
}

static const char *ev_str(json_object *o, const char *key) {
  json_object *v;
  return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
             ? json_object_get_string(v)
             : NULL;
}

/* turn_ended and timeout: the figures of the seat's open turn. An event for
 * a turn number already seen (the turn_ended that follows a "freeze"
 * timeout) or when no turn of the seat is due is dropped. */
static void event_clock(game *g, int s, json_object *o, bool timeout) {
  seat *st = &g->seats[s];
  json_object *v;
  int64_t turn = json_object_object_get_ex(o, "turn", &v) && json_object_is_type(v, json_type_int)
                     ? json_object_get_int64(v)
                     : -1;
  if (turn <= st->clk_seen || turn > INT32_MAX)
    return;
  st->clk_seen = (int)turn;
  if (timeout ? st->clk == CLK_IDLE : st->clk != CLK_ENDING)
    return;
  st->used_ms = ev_ms(o, "used_ms");
  double bank = ev_ms(o, "bank_ms");
  if (bank >= 0)
    st->bank_ms = bank;
  const char *clock = ev_str(o, "clock");
  if (clock && (!strcmp(clock, "cpu") || !strcmp(clock, "wall")))
    snprintf(st->clock, sizeof st->clock, "%s", clock);
  if (timeout) {
    const char *action = ev_str(o, "action");
    st->clk_timeout = true;
    logf_("%s ran out of time on its clock (%.1f ms, %s): its move is lost", st->name, st->used_ms,
          action ? action : "?");
    /* Frozen, it waits for us: it plays on with an empty bank. */
    if (action && !strcmp(action, "freeze") && st->clk == CLK_OPEN)
      cmd_clock(g, s, "turn_end");
  }
  st->clk = CLK_IDLE;
}

/* A refused turn or turn_end (its line is our command, echoed): that turn
 * is not on the clock. A judger that knows no turn commands at all: none
 * are sent any more. */
static void event_refused(game *g, json_object *o, const char *line) {
  logf_("the judger refused a command: %s", line);
  const char *echo = ev_str(o, "line"), *reason = ev_str(o, "reason");
  json_object *c = echo ? json_tokener_parse(echo) : NULL;
  const char *cmd = c && json_object_is_type(c, json_type_object) ? ev_str(c, "cmd") : NULL;
  if (cmd && (!strcmp(cmd, "turn") || !strcmp(cmd, "turn_end"))) {
    int s = seat_by_name(g, ev_str(c, "name"));
    if (reason && strstr(reason, "unknown command"))
      clocks_off(g, "this judger has no turn clocks");
    else if (s >= 0)
      g->seats[s].clk = CLK_IDLE;
  }
  json_object_put(c);
}

static void event_line(game *g, const char *line) {
  json_object *o = json_tokener_parse(line), *v;
  if (!o || !json_object_is_type(o, json_type_object)) {
    logf_("event not understood: %.120s", line);
    json_object_put(o);
    return;
  }
  const char *ev = json_object_object_get_ex(o, "event", &v) ? json_object_get_string(v) : "";
  const char *name = json_object_object_get_ex(o, "name", &v) ? json_object_get_string(v) : NULL;
  int s = seat_by_name(g, name);
  if (!strcmp(ev, "exited") || !strcmp(ev, "cancelled")) {
    const char *why =
        json_object_object_get_ex(o, "verdict", &v) || json_object_object_get_ex(o, "reason", &v)
            ? json_object_get_string(v)
            : "";
    logf_("%s %s (%s)", name ? name : "?", ev, why);
    if (s >= 0) {
      g->seats[s].gone = true;
      g->seats[s].clk = CLK_IDLE;
    }
  } else if (!strcmp(ev, "started")) {
    if (s >= 0) {
      g->seats[s].started = true;
      g->seats[s].clk_seen = 0; /* a new instance counts its turns from 1 */
    }
  } else if (!strcmp(ev, "turn_ended") || !strcmp(ev, "timeout")) {
    if (s >= 0)
      event_clock(g, s, o, !strcmp(ev, "timeout"));
  } else if (!strcmp(ev, "refused")) {
    event_refused(g, o, line);
  }
  json_object_put(o);
}

static void event_read(game *g) {
  char tmp[4096];
  ssize_t n = read(g->ev_fd, tmp, sizeof tmp);
  if (n < 0 && (errno == EAGAIN || errno == EINTR))
    return;
  if (n <= 0) { /* the judger closed its end: no more events */
    close(g->ev_fd);
    g->ev_fd = -1;
    clocks_off(g, "the event pipe is closed");
    return;
  }
  for (ssize_t i = 0; i < n; i++) {
    if (tmp[i] != '\n') {
      if (g->ev_len + 1 < sizeof g->ev_buf)
        g->ev_buf[g->ev_len++] = tmp[i];
      else
        g->ev_skip = true;
      continue;
    }
    g->ev_buf[g->ev_len] = 0;
    if (!g->ev_skip)
      event_line(g, g->ev_buf);
    g->ev_len = 0;
    g->ev_skip = false;
  }
}

/* One round of the loop: waits at most timeout_ms for anything to happen. */
static void pump(game *g, int timeout_ms) {
  struct pollfd p[MAX_CONNS + 2];
  int idx[MAX_CONNS + 2], n = 0;
  p[n] = (struct pollfd){.fd = g->listen_fd, .events = POLLIN};
  idx[n++] = -1;
  if (g->ev_fd >= 0) {
    p[n] = (struct pollfd){.fd = g->ev_fd, .events = POLLIN};
    idx[n++] = -2;
  }
  int64_t now = now_ms();
  for (int i = 0; i < MAX_CONNS; i++) {
    if (g->conns[i].fd < 0)
      continue;
    if (g->conns[i].seat < 0 && now >= g->conns[i].auth_deadline) {
      logf_("a connection did not authenticate in time");
      conn_close(g, i, "auth timeout");
      continue;
    }
    p[n] = (struct pollfd){.fd = g->conns[i].fd, .events = POLLIN};
    idx[n++] = i;
  }
  if (timeout_ms < 0)
    timeout_ms = 0;
  if (poll(p, (nfds_t)n, timeout_ms) <= 0)
    return;
  for (int i = 0; i < n; i++) {
    if (!p[i].revents)
      continue;
    if (idx[i] == -1)
      accept_one(g);
    else if (idx[i] == -2)
      event_read(g);
    else
      conn_read(g, idx[i]);
  }
}

/* ---- the match --------------------------------------------------------- */

/* Every seat connected (and, to be clocked from its first move, known
 * started: a player may connect before the judger has told its start), or
 * known gone. */
static bool all_settled(game *g) {
  for (int s = 0; s < g->nseats; s++) {
    const seat *st = &g->seats[s];
    if (!st->gone && (st->conn < 0 || (g->clocks && !st->started)))
      return false;
  }
  return true;
}

/* Ends the turns still open (players that did not answer in time) and
 * waits for the judger's figures of every clocked turn. A judger that
 * never answers three times over is not waited for any more. */
static void clock_settle(game *g) {
  for (int s = 0; s < g->nseats; s++)
    clock_end(g, s);
  int64_t deadline = now_ms() + CLOCK_SETTLE_MS;
  for (;;) {
    bool due = false;
    for (int s = 0; s < g->nseats; s++)
      due |= g->seats[s].clk != CLK_IDLE;
    int64_t left = deadline - now_ms();
    if (!due || left <= 0 || g->ev_fd < 0)
      break;
    pump(g, (int)left);
  }
  bool missed = false;
  for (int s = 0; s < g->nseats; s++)
    if (g->seats[s].clk != CLK_IDLE) {
      logf_("no figures from the judger for %s's turn", g->seats[s].name);
      g->seats[s].clk = CLK_IDLE;
      missed = true;
    }
  if (missed && ++g->clock_misses >= 3)
    clocks_off(g, "the judger does not answer turn_end");
}

/* A time in ms with at most 3 decimals, as the judger gives it. */
static json_object *ms_json(double ms) {
  char text[32];
  int n = snprintf(text, sizeof text, "%.3f", ms);
  while (n > 1 && text[n - 1] == '0')
    text[--n] = 0;
  if (n > 0 && text[n - 1] == '.')
    text[--n] = 0;
  return json_object_new_double_s(ms, text);
}

/* "ms" of a turn: the time each seat's move was charged, null for a seat
 * not clocked on this turn; NULL (no key) when none was. */
static json_object *turn_ms_json(game *g) {
  json_object *ms = NULL;
  for (int s = 0; s < g->nseats; s++)
    if (g->seats[s].used_ms >= 0 && !ms)
      ms = json_object_new_array();
  for (int s = 0; ms && s < g->nseats; s++) {
    seat *st = &g->seats[s];
    json_object_array_add(ms, st->used_ms >= 0 ? ms_json(st->used_ms) : NULL);
    if (st->used_ms < 0)
      continue;
    st->clocked_moves++;
    st->ms_total += st->used_ms;
    if (st->ms_max < st->used_ms)
      st->ms_max = st->used_ms;
  }
  return ms;
}

/* "turn T N  x y alive dir ...  GRID": everything a player needs, every
 * turn, so a player that missed a turn is never out of sync. */
static char *turn_line(const tr_round *r, size_t *len) {
  size_t cap = 64 + (size_t)r->nseats * 48 + (size_t)r->cfg.width * (size_t)r->cfg.height;
  char *line = malloc(cap);
  if (!line)
    return NULL;
  size_t off = (size_t)snprintf(line, cap, "turn %d %d", r->turn, r->nseats);
  for (int s = 0; s < r->nseats; s++)
    off += (size_t)snprintf(line + off, cap - off, " %d %d %d %c", r->x[s], r->y[s],
                            tr_alive(r, s) ? 1 : 0, tr_dir_char(r->dir[s]));
  line[off++] = ' ';
  for (int y = 0; y < r->cfg.height; y++)
    for (int x = 0; x < r->cfg.width; x++) {
      int c = tr_cell(r, x, y);
      line[off++] = c == TR_FREE ? '.' : c == TR_OBSTACLE ? '#' : (char)('0' + c - TR_TRAIL);
    }
  line[off++] = '\n';
  *len = off;
  return line;
}

static json_object *positions_json(const tr_round *r) {
  json_object *pos = json_object_new_array();
  for (int s = 0; s < r->nseats; s++) {
    json_object *p = json_object_new_array();
    json_object_array_add(p, json_object_new_int(r->x[s]));
    json_object_array_add(p, json_object_new_int(r->y[s]));
    json_object_array_add(pos, p);
  }
  return pos;
}

static json_object *grid_json(const tr_round *r) {
  json_object *rows = json_object_new_array();
  char row[TR_MAX_SIDE + 1];
  for (int y = 0; y < r->cfg.height; y++) {
    for (int x = 0; x < r->cfg.width; x++)
      row[x] = tr_cell(r, x, y) == TR_OBSTACLE ? '#' : '.';
    row[r->cfg.width] = 0;
    json_object_array_add(rows, json_object_new_string(row));
  }
  return rows;
}

/* ---- live frames (docs/samples.md, "Live frames") ---------------------- */

/* Rows [y0, y0 + n) of the round's obstacle map (references taken). */
static json_object *rows_json(json_object *obstacles, int y0, int n) {
  json_object *rows = json_object_new_array();
  for (int y = y0; y < y0 + n; y++)
    json_object_array_add(rows, json_object_get(json_object_array_get_idx(obstacles, (size_t)y)));
  return rows;
}

/* A round starts: everything a viewer needs to draw its board (the match,
 * the seats, the map, turn 0), the map in chunks of FRAME_CELLS cells. */
static void frame_round(game *g, int round, json_object *obstacles, json_object *start) {
  int per = FRAME_CELLS / g->cfg.width > 0 ? FRAME_CELLS / g->cfg.width : 1;
  int first = per < g->cfg.height ? per : g->cfg.height;
  json_object *d = json_object_new_object(), *seats = json_object_new_array();
  json_object_object_add(d, "kind", json_object_new_string("round"));
  json_object_object_add(d, "round", json_object_new_int(round));
  json_object_object_add(d, "rounds", json_object_new_int(g->rounds));
  json_object_object_add(d, "match_id", json_object_new_string(g->match_id));
  json_object_object_add(d, "width", json_object_new_int(g->cfg.width));
  json_object_object_add(d, "height", json_object_new_int(g->cfg.height));
  for (int s = 0; s < g->nseats; s++) {
    json_object *o = json_object_new_object();
    json_object_object_add(o, "name", json_object_new_string(g->seats[s].name));
    json_object_object_add(o, "ai", json_object_new_int(g->seats[s].ai));
    json_object_object_add(o, "ai_id", json_object_new_string(g->ai_ids[g->seats[s].ai]));
    json_object_array_add(seats, o);
  }
  json_object_object_add(d, "seats", seats);
  json_object_object_add(d, "obstacles", rows_json(obstacles, 0, first));
  json_object_object_add(d, "turn", json_object_get(start));
  cmd_frame(g, d);
  for (int y = first; y < g->cfg.height; y += per) {
    int n = g->cfg.height - y < per ? g->cfg.height - y : per;
    d = json_object_new_object();
    json_object_object_add(d, "kind", json_object_new_string("obstacles"));
    json_object_object_add(d, "round", json_object_new_int(round));
    json_object_object_add(d, "y", json_object_new_int(y));
    json_object_object_add(d, "rows", rows_json(obstacles, y, n));
    cmd_frame(g, d);
  }
}

/* A turn was played: its replay record as is (the viewer appends it). */
static void frame_turn(game *g, int round, json_object *tj) {
  json_object *d = json_object_new_object();
  json_object_object_add(d, "kind", json_object_new_string("turn"));
  json_object_object_add(d, "round", json_object_new_int(round));
  json_object_object_add(d, "turn", json_object_get(tj));
  cmd_frame(g, d);
}

static void frame_round_end(game *g, int round, json_object *pts, json_object *fate) {
  json_object *d = json_object_new_object();
  json_object_object_add(d, "kind", json_object_new_string("round_end"));
  json_object_object_add(d, "round", json_object_new_int(round));
  json_object_object_add(d, "points", json_object_get(pts));
  json_object_object_add(d, "fate", json_object_get(fate));
  cmd_frame(g, d);
}

/* config.frame_delay_ms: the game's own pacing for a watched match. Events
 * and connections are still served meanwhile; no move counts. */
static void frame_pause(game *g) {
  if (g->frame_delay_ms <= 0)
    return;
  int64_t until = now_ms() + g->frame_delay_ms;
  for (int64_t left; (left = until - now_ms()) > 0;)
    pump(g, (int)left);
}

static int play_round(game *g, int round, json_object *rounds_json) {
  tr_round r;
  if (tr_round_init(&r, &g->cfg, g->nseats, round) < 0)
    return -1;
  json_object *rj = json_object_new_object(), *turns = json_object_new_array();
  json_object_object_add(rj, "round", json_object_new_int(round));
  json_object *obstacles = grid_json(&r);
  json_object_object_add(rj, "obstacles", obstacles);
  json_object *start = json_object_new_object();
  json_object_object_add(start, "t", json_object_new_int(0));
  json_object_object_add(start, "pos", positions_json(&r));
  json_object_array_add(turns, start);
  frame_round(g, round, obstacles, start);

  for (int s = 0; s < g->nseats; s++) {
    seat_sendf(g, s, "round %d %d %d\n", round, g->cfg.width, g->cfg.height);
    if (g->seats[s].conn < 0) {
      g->seats[s].rounds_absent++;
      tr_round_forfeit(&r, s);
    }
  }
  cmd_progress(g, round, 0);
  while (!tr_round_over(&r)) {
    size_t len;
    char *line = turn_line(&r, &len);
    if (!line)
      goto oom;
    g->turn = r.turn;
    for (int s = 0; s < g->nseats; s++) {
      g->seats[s].clk_timeout = false;
      g->seats[s].used_ms = -1;
      if (!tr_alive(&r, s))
        continue;
      clock_begin(g, s);
      seat_send(g, s, line, len);
    }
    free(line);
    int64_t deadline = now_ms() + g->move_timeout_ms;
    for (;;) {
      bool waiting = false;
      for (int s = 0; s < g->nseats; s++)
        if (tr_alive(&r, s) && g->seats[s].conn >= 0 && g->seats[s].move_turn != r.turn &&
            !g->seats[s].clk_timeout && !g->seats[s].gone)
          waiting = true;
      int64_t left = deadline - now_ms();
      if (!waiting || left <= 0)
        break;
      pump(g, (int)left);
    }
    g->turn = -1; /* no move counts from here on */
    clock_settle(g);
    int moves[TR_MAX_SEATS];
    char mv[TR_MAX_SEATS + 1];
    for (int s = 0; s < g->nseats; s++) {
      seat *st = &g->seats[s];
      moves[s] = NO_MOVE;
      mv[s] = ' ';
      if (!tr_alive(&r, s))
        continue;
      st->clock_timeouts += st->clk_timeout;
      if (st->conn < 0) {
        tr_round_forfeit(&r, s);
        mv[s] = 'x';
      } else if (st->move_turn == r.turn && !st->clk_timeout) {
        moves[s] = st->move;
        mv[s] = tr_dir_char((tr_dir)st->move);
      } else {
        st->timeouts++; /* no answer in time: the cycle keeps its heading */
        mv[s] = '-';
      }
    }
    mv[g->nseats] = 0;
    int dead_before = r.dead;
    tr_round_step(&r, moves);

    json_object *tj = json_object_new_object();
    json_object_object_add(tj, "t", json_object_new_int(r.turn));
    json_object_object_add(tj, "pos", positions_json(&r));
    json_object_object_add(tj, "moves", json_object_new_string(mv));
    json_object *ms = turn_ms_json(g);
    if (ms)
      json_object_object_add(tj, "ms", ms);
    if (r.dead > dead_before) {
      json_object *crashes = json_object_new_array();
      for (int s = 0; s < g->nseats; s++)
        if (r.death_turn[s] == r.turn) {
          json_object *c = json_object_new_object();
          json_object_object_add(c, "seat", json_object_new_int(s));
          json_object_object_add(c, "cause", json_object_new_string(tr_cause_name(r.cause[s])));
          json_object_array_add(crashes, c);
        }
      json_object_object_add(tj, "crashes", crashes);
    }
    json_object_array_add(turns, tj);
    frame_turn(g, round, tj);
    if (r.turn % 50 == 0)
      cmd_progress(g, round, r.turn);
    frame_pause(g);
  }

  json_object *pts = json_object_new_array(), *order = json_object_new_array();
  char msg[128];
  size_t off = (size_t)snprintf(msg, sizeof msg, "round_end %d", round);
  int best = -1;
  for (int s = 0; s < g->nseats; s++) {
    g->seats[s].total += r.points[s];
    json_object_array_add(pts, json_object_new_int(r.points[s]));
    json_object_array_add(order, json_object_new_string(tr_cause_name(r.cause[s])));
    off += (size_t)snprintf(msg + off, sizeof msg - off, " %d", r.points[s]);
    if (best < r.points[s])
      best = r.points[s];
  }
  for (int s = 0; s < g->nseats; s++)
    if (r.points[s] == best && best > 0)
      g->seats[s].wins++;
  for (int s = 0; s < g->nseats; s++)
    seat_sendf(g, s, "%s\n", msg);
  frame_round_end(g, round, pts, order);
  json_object_object_add(rj, "turns", turns);
  json_object_object_add(rj, "points", pts);
  json_object_object_add(rj, "fate", order);
  json_object_array_add(rounds_json, rj);
  logf_("round %d over after %d turns, points by seat:%s", round + 1, r.turn,
        strchr(msg + 10, ' '));
  cmd_progress(g, round, r.turn);
  tr_round_free(&r);
  return 0;
oom:
  json_object_object_add(rj, "turns", turns);
  json_object_put(rj);
  tr_round_free(&r);
  return -1;
}

/* ---- set-up ------------------------------------------------------------ */

static int get_int(json_object *cfg, const char *key, int def, int lo, int hi, int *out) {
  json_object *v;
  *out = def;
  if (!json_object_object_get_ex(cfg, key, &v))
    return 0;
  if (!json_object_is_type(v, json_type_int)) {
    logf_("config.%s must be an integer", key);
    return -1;
  }
  int64_t i = json_object_get_int64(v);
  if (i < lo || i > hi) {
    logf_("config.%s must be within %d..%d", key, lo, hi);
    return -1;
  }
  *out = (int)i;
  return 0;
}

static int get_bool(json_object *cfg, const char *key, bool def, bool *out) {
  json_object *v;
  *out = def;
  if (!json_object_object_get_ex(cfg, key, &v))
    return 0;
  if (!json_object_is_type(v, json_type_boolean)) {
    logf_("config.%s must be true or false", key);
    return -1;
  }
  *out = json_object_get_boolean(v);
  return 0;
}

/* Reads match.json; returns 0, or -1 after logging what is wrong. */
static int load_match(game *g, const char *path) {
  int rc = -1;
  json_object *m = json_object_from_file(path), *v, *cfg = NULL, *players;
  if (!m) {
    logf_("cannot read %s: %s", path, json_util_get_last_err());
    return -1;
  }
  g->match_id =
      strdup(json_object_object_get_ex(m, "match_id", &v) ? json_object_get_string(v) : "match");
  if (!json_object_object_get_ex(m, "players", &players) ||
      !json_object_is_type(players, json_type_array) || json_object_array_length(players) < 1) {
    logf_("match.json: players must be a non-empty array");
    goto cleanup;
  }
  g->nais = (int)json_object_array_length(players);
  g->tokens = calloc((size_t)g->nais, sizeof *g->tokens);
  g->ai_ids = calloc((size_t)g->nais, sizeof *g->ai_ids);
  if (!g->tokens || !g->ai_ids)
    goto cleanup;
  for (int i = 0; i < g->nais; i++) {
    json_object *p = json_object_array_get_idx(players, (size_t)i), *t;
    if (!json_object_object_get_ex(p, "token", &t) || !json_object_is_type(t, json_type_string)) {
      logf_("match.json: players[%d].token missing", i);
      goto cleanup;
    }
    g->tokens[i] = strdup(json_object_get_string(t));
    char def[32];
    snprintf(def, sizeof def, "AI %d", i);
    g->ai_ids[i] = strdup(json_object_object_get_ex(p, "id", &t) ? json_object_get_string(t) : def);
    if (!g->tokens[i] || !g->ai_ids[i])
      goto cleanup;
  }
  if (!json_object_object_get_ex(m, "config", &cfg) || json_object_is_type(cfg, json_type_null))
    cfg = NULL;
  else if (!json_object_is_type(cfg, json_type_object)) {
    logf_("config must be an object");
    goto cleanup;
  }
  int per_ai = 1;
  int64_t seed64 = 1;
  if (cfg && json_object_object_get_ex(cfg, "seed", &v)) {
    if (!json_object_is_type(v, json_type_int)) {
      logf_("config.seed must be an integer");
      goto cleanup;
    }
    seed64 = json_object_get_int64(v);
  }
  g->cfg.seed = (uint64_t)seed64;
  json_object *c = cfg ? cfg : json_object_new_object();
  int bad = get_int(c, "rounds", 3, 1, 100, &g->rounds) |
            get_int(c, "width", 30, TR_MIN_SIDE, TR_MAX_SIDE, &g->cfg.width) |
            get_int(c, "height", 20, TR_MIN_SIDE, TR_MAX_SIDE, &g->cfg.height) |
            get_int(c, "obstacles", 6, 0, 30, &g->cfg.obstacles) |
            get_int(c, "max_turns", 0, 0, 100000, &g->cfg.max_turns) |
            get_int(c, "move_timeout_ms", 1000, 1, 60000, &g->move_timeout_ms) |
            get_int(c, "connect_timeout_ms", 30000, 1, 600000, &g->connect_timeout_ms) |
            get_int(c, "port", 7000, 1, 65535, &g->port) |
            get_int(c, "instances_per_ai", 1, 1, TR_MAX_SEATS, &per_ai) |
            get_int(c, "turn_budget_ms", -1, -1, 3600000, &g->turn_budget_ms) |
            get_int(c, "frame_delay_ms", 0, 0, FRAME_DELAY_MAX_MS, &g->frame_delay_ms) |
            get_bool(c, "turn_clock", true, &g->clocks);
  if (!cfg)
    json_object_put(c);
  if (bad)
    goto cleanup;
  tr_config_defaults(&g->cfg);

  json_object *seats = NULL;
  if (cfg && json_object_object_get_ex(cfg, "seats", &seats)) {
    if (!json_object_is_type(seats, json_type_array) || json_object_array_length(seats) < 1 ||
        json_object_array_length(seats) > TR_MAX_SEATS) {
      logf_("config.seats must be an array of 1..%d AI indexes", TR_MAX_SEATS);
      goto cleanup;
    }
    g->nseats = (int)json_object_array_length(seats);
    for (int s = 0; s < g->nseats; s++) {
      json_object *a = json_object_array_get_idx(seats, (size_t)s);
      if (!json_object_is_type(a, json_type_int) || json_object_get_int(a) < 0 ||
          json_object_get_int(a) >= g->nais) {
        logf_("config.seats[%d] must be an AI index within 0..%d", s, g->nais - 1);
        goto cleanup;
      }
      g->seats[s].ai = json_object_get_int(a);
    }
  } else {
    if (g->nais * per_ai > TR_MAX_SEATS) {
      logf_("%d AIs x %d instances is more than %d seats", g->nais, per_ai, TR_MAX_SEATS);
      goto cleanup;
    }
    g->nseats = g->nais * per_ai;
    for (int s = 0; s < g->nseats; s++)
      g->seats[s].ai = s / per_ai;
  }
  const char *err = tr_config_check(&g->cfg, g->nseats);
  if (err) {
    logf_("%s", err);
    goto cleanup;
  }
  for (int s = 0; s < g->nseats; s++) {
    snprintf(g->seats[s].name, sizeof g->seats[s].name, "p%d", s);
    g->seats[s].conn = -1;
    g->seats[s].move_turn = -1;
    g->seats[s].used_ms = -1;
    g->seats[s].bank_ms = -1;
  }
  rc = 0;
cleanup:
  json_object_put(m);
  return rc;
}

static int listen_on(int port) {
  int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1, zero = 0;
  bool v6 = fd >= 0;
  if (!v6)
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  int rc;
  if (v6) {
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
    struct sockaddr_in6 a = {
        .sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port), .sin6_addr = IN6ADDR_ANY_INIT};
    rc = bind(fd, (struct sockaddr *)&a, sizeof a);
  } else {
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_ANY)};
    rc = bind(fd, (struct sockaddr *)&a, sizeof a);
  }
  if (rc < 0 || listen(fd, 16) < 0) {
    close(fd);
    return -1;
  }
  return fd;
}

static void game_free(game *g) {
  for (int i = 0; i < MAX_CONNS; i++)
    if (g->conns[i].fd >= 0)
      close(g->conns[i].fd);
  for (int i = 0; g->tokens && i < g->nais; i++)
    free(g->tokens[i]);
  for (int i = 0; g->ai_ids && i < g->nais; i++)
    free(g->ai_ids[i]);
  free(g->tokens);
  free(g->ai_ids);
  free(g->match_id);
  if (g->listen_fd >= 0)
    close(g->listen_fd);
  if (g->ev_fd >= 0)
    close(g->ev_fd);
  if (g->cmd_fd >= 0)
    close(g->cmd_fd);
}

/* A seat's clock in the replay: its timeouts, and with clocked moves their
 * count, total and longest, and the clock and bank it ended with. */
static void seat_clock_json(json_object *o, const seat *st) {
  json_object_object_add(o, "clock_timeouts", json_object_new_int(st->clock_timeouts));
  if (!st->clocked_moves)
    return;
  json_object_object_add(o, "clocked_moves", json_object_new_int(st->clocked_moves));
  json_object_object_add(o, "ms_total", ms_json(st->ms_total));
  json_object_object_add(o, "ms_max", ms_json(st->ms_max));
  if (st->clock[0])
    json_object_object_add(o, "clock", json_object_new_string(st->clock));
  if (st->bank_ms >= 0)
    json_object_object_add(o, "bank_ms", ms_json(st->bank_ms));
}

static int write_replay(game *g, json_object *rounds_json, json_object *scores) {
  char path[4096];
  snprintf(path, sizeof path, "%s/replay.json", env_or("JUDGER_OUT_DIR", "/judger/out"));
  json_object *rp = json_object_new_object(), *seats = json_object_new_array();
  json_object_object_add(rp, "game", json_object_new_string("tron"));
  json_object_object_add(rp, "version", json_object_new_int(1));
  json_object_object_add(rp, "match_id", json_object_new_string(g->match_id));
  json_object_object_add(rp, "seed", json_object_new_int64((int64_t)g->cfg.seed));
  json_object_object_add(rp, "width", json_object_new_int(g->cfg.width));
  json_object_object_add(rp, "height", json_object_new_int(g->cfg.height));
  json_object_object_add(rp, "obstacles_pct", json_object_new_int(g->cfg.obstacles));
  json_object_object_add(rp, "max_turns", json_object_new_int(g->cfg.max_turns));
  for (int s = 0; s < g->nseats; s++) {
    json_object *o = json_object_new_object();
    json_object_object_add(o, "name", json_object_new_string(g->seats[s].name));
    json_object_object_add(o, "ai", json_object_new_int(g->seats[s].ai));
    json_object_object_add(o, "ai_id", json_object_new_string(g->ai_ids[g->seats[s].ai]));
    json_object_object_add(o, "points", json_object_new_int(g->seats[s].total));
    json_object_object_add(o, "timeouts", json_object_new_int(g->seats[s].timeouts));
    json_object_object_add(o, "rounds_absent", json_object_new_int(g->seats[s].rounds_absent));
    seat_clock_json(o, &g->seats[s]);
    json_object_array_add(seats, o);
  }
  json_object_object_add(rp, "seats", seats);
  json_object_object_add(rp, "rounds", json_object_get(rounds_json));
  json_object_object_add(rp, "scores", json_object_get(scores));
  int rc = json_object_to_file_ext(path, rp, JSON_C_TO_STRING_PLAIN);
  if (rc < 0)
    logf_("cannot write %s: %s", path, json_util_get_last_err());
  json_object_put(rp);
  return rc;
}

int main(void) {
  game g = {.listen_fd = -1, .cmd_fd = -1, .ev_fd = -1, .turn = -1};
  int rc = 1;
  json_object *rounds_json = NULL, *scores = NULL, *messages = NULL;
  for (int i = 0; i < MAX_CONNS; i++)
    g.conns[i].fd = -1;
  signal(SIGPIPE, SIG_IGN);
  if (load_match(&g, env_or("JUDGER_MATCH_JSON", "/judger/match.json")) < 0)
    goto cleanup;
  g.listen_fd = listen_on(g.port);
  if (g.listen_fd < 0) {
    logf_("cannot listen on port %d: %s", g.port, strerror(errno));
    goto cleanup;
  }
  /* Events first, without blocking: whatever order the judger opens its ends
   * in, neither side waits for the other. */
  const char *ev_path = env_or("JUDGER_EVENT_PIPE", "/judger/events");
  const char *cmd_path = env_or("JUDGER_CMD_PIPE", "/judger/cmd");
  g.ev_fd = open(ev_path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (g.ev_fd < 0) {
    logf_("no event pipe %s (%s): playing without events", ev_path, strerror(errno));
    g.clocks = false; /* no turn_ended would come */
  }
  g.cmd_fd = open(cmd_path, O_WRONLY | O_CLOEXEC);
  if (g.cmd_fd < 0) {
    logf_("cannot open the command pipe %s: %s", cmd_path, strerror(errno));
    goto cleanup;
  }
  logf_("match %s: %d AIs, %d seats, %d rounds on %dx%d, seed %llu, port %d", g.match_id, g.nais,
        g.nseats, g.rounds, g.cfg.width, g.cfg.height, (unsigned long long)g.cfg.seed, g.port);

  for (int s = 0; s < g.nseats; s++)
    cmd_start(&g, s);
  int64_t deadline = now_ms() + g.connect_timeout_ms;
  while (!all_settled(&g) && now_ms() < deadline)
    pump(&g, (int)(deadline - now_ms()));
  for (int s = 0; s < g.nseats; s++)
    if (g.seats[s].conn < 0)
      logf_("%s is not connected: it forfeits the rounds it misses", g.seats[s].name);

  rounds_json = json_object_new_array();
  for (int round = 0; round < g.rounds; round++) {
    pump(&g, 0); /* late joiners take their seat at a round's start */
    if (play_round(&g, round, rounds_json) < 0) {
      logf_("out of memory");
      goto cleanup;
    }
  }

  scores = json_object_new_array();
  messages = json_object_new_array();
  for (int a = 0; a < g.nais; a++) {
    int score = 0;
    for (int s = 0; s < g.nseats; s++)
      if (g.seats[s].ai == a)
        score += g.seats[s].total;
    char msg[256] = "";
    size_t off = 0;
    for (int s = 0; s < g.nseats; s++)
      if (g.seats[s].ai == a)
        off += (size_t)snprintf(msg + off, sizeof msg - off,
                                "%s%s: %d pts, %d round wins, %d timeouts, %d rounds absent",
                                off ? "; " : "", g.seats[s].name, g.seats[s].total, g.seats[s].wins,
                                g.seats[s].timeouts, g.seats[s].rounds_absent);
    json_object_array_add(scores, json_object_new_int(score));
    json_object_array_add(messages, json_object_new_string(off ? msg : "no seat"));
  }
  write_replay(&g, rounds_json, scores);
  char line[128];
  size_t off = (size_t)snprintf(line, sizeof line, "end");
  for (int s = 0; s < g.nseats; s++)
    off += (size_t)snprintf(line + off, sizeof line - off, " %d", g.seats[s].total);
  snprintf(line + off, sizeof line - off, "\n");
  for (int s = 0; s < g.nseats; s++)
    seat_sendf(&g, s, "%s", line);

  json_object *end = json_object_new_object();
  json_object_object_add(end, "cmd", json_object_new_string("end"));
  json_object_object_add(end, "scores", json_object_get(scores));
  json_object_object_add(end, "messages", json_object_get(messages));
  cmd_send_json(&g, end);
  json_object_put(end);
  logf_("scores: %s", json_object_to_json_string_ext(scores, JSON_C_TO_STRING_PLAIN));
  rc = 0;
cleanup:
  json_object_put(rounds_json);
  json_object_put(scores);
  json_object_put(messages);
  game_free(&g);
  return rc;
}
