/* c-bot: a space-grabbing Tron player (sample AI for judger).
 *
 * Each turn it tries the three moves that do not reverse and scores each:
 *  - while an opponent can still reach it, by the cells it would reach
 *    before every opponent (a Voronoi split computed with two BFS);
 *  - once walled off alone, by the size of its own region, filled by
 *    hugging walls so that little space is wasted.
 * A cell an opponent could also enter this turn (a head-on crash) is avoided
 * unless nothing else is left. Deterministic: the same game, the same moves.
 *
 * Protocol (docs/samples.md): connect to $JUDGER_GAME_HOST port 7000 (the judger
 * sets no port; $JUDGER_GAME_PORT only overrides it in tests on a shared host),
 * send "$JUDGER_TOKEN $JUDGER_PLAYER_NAME", answer each "turn" line with
 * "<turn> <U|R|D|L>", stop at "end" or when the game closes the connection. */
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_SIDE 100
#define MAX_SEATS 8
#define CELLS (MAX_SIDE * MAX_SIDE)

static const int dx[4] = {0, 1, 0, -1};
static const int dy[4] = {-1, 0, 1, 0};

typedef struct view {
  int w, h, n, me, turn;
  int x[MAX_SEATS], y[MAX_SEATS], alive[MAX_SEATS], dir[MAX_SEATS];
  char grid[CELLS]; /* '.' free; anything else blocked */
} view;

static bool free_at(const view *v, int x, int y) {
  return x >= 0 && y >= 0 && x < v->w && y < v->h && v->grid[y * v->w + x] == '.';
}

/* Distances from the sources over free cells (-1 = unreachable). */
static void bfs(const view *v, const int *sx, const int *sy, int ns, int *dist) {
  static int queue[CELLS];
  int head = 0, tail = 0;
  for (int i = 0; i < v->w * v->h; i++)
    dist[i] = -1;
  for (int i = 0; i < ns; i++) {
    int c = sy[i] * v->w + sx[i];
    if (dist[c] < 0) {
      dist[c] = 0;
      queue[tail++] = c;
    }
  }
  while (head < tail) {
    int c = queue[head++], cx = c % v->w, cy = c / v->w;
    for (int d = 0; d < 4; d++) {
      int nx = cx + dx[d], ny = cy + dy[d], nc = ny * v->w + nx;
      if (free_at(v, nx, ny) && dist[nc] < 0) {
        dist[nc] = dist[c] + 1;
        queue[tail++] = nc;
      }
    }
  }
}

static int blocked_around(const view *v, int x, int y) {
  int n = 0;
  for (int d = 0; d < 4; d++)
    n += !free_at(v, x + dx[d], y + dy[d]);
  return n;
}

/* Score of moving to (x, y); higher is better. */
static long score_move(view *v, int x, int y) {
  static int mine[CELLS], theirs[CELLS];
  int ox[MAX_SEATS], oy[MAX_SEATS], no = 0;
  long risk = 0;
  for (int s = 0; s < v->n; s++) {
    if (s == v->me || !v->alive[s])
      continue;
    ox[no] = v->x[s], oy[no] = v->y[s], no++;
    if (abs(v->x[s] - x) + abs(v->y[s] - y) == 1)
      risk = 1; /* that opponent may enter the same cell: both would crash */
  }
  /* The new head is part of my trail from the next turn on. */
  v->grid[y * v->w + x] = 'M';
  int area = 0, won = 0, contested = 0;
  /* BFS from the new head: its neighbours are at distance 1. */
  int nx[4], ny[4], nn = 0;
  for (int d = 0; d < 4; d++)
    if (free_at(v, x + dx[d], y + dy[d]))
      nx[nn] = x + dx[d], ny[nn] = y + dy[d], nn++;
  bfs(v, nx, ny, nn, mine);
  if (no)
    bfs(v, ox, oy, no, theirs);
  for (int c = 0; c < v->w * v->h; c++) {
    if (mine[c] < 0)
      continue;
    area++;
    /* I reach c after mine[c]+2 moves (this one, then from a neighbour of
     * the new head), an opponent after theirs[c] moves from where it is. */
    if (no && theirs[c] >= 0) {
      contested = 1;
      if (mine[c] + 2 < theirs[c])
        won++;
    }
  }
  v->grid[y * v->w + x] = '.';
  long score;
  if (contested)
    score = (long)won * 16 + area; /* the fight: grab what the others cannot reach first */
  else
    score = (long)area * 16 + blocked_around(v, x, y); /* alone: fill tightly */
  return score - risk * 100000;
}

static int choose(view *v) {
  int me = v->me, cur = v->dir[me], best = cur;
  long best_score = -1000000000L;
  /* Current heading first: on a tie, keep going straight. */
  for (int k = 0; k < 4; k++) {
    int d = (cur + k) % 4;
    if (d == (cur + 2) % 4)
      continue;
    int x = v->x[me] + dx[d], y = v->y[me] + dy[d];
    if (!free_at(v, x, y))
      continue;
    long s = score_move(v, x, y);
    if (s > best_score)
      best_score = s, best = d;
  }
  return best;
}

static int parse_dir(const char *s) {
  const char *p = strchr("URDL", s[0]);
  return p && s[0] ? (int)(p - "URDL") : 0;
}

/* "turn T N (x y alive dir)*N GRID" */
static bool parse_turn(view *v, char *line) {
  char *save = NULL, *tok = strtok_r(line, " ", &save);
  if (!tok || strcmp(tok, "turn"))
    return false;
  char *t = strtok_r(NULL, " ", &save), *n = strtok_r(NULL, " ", &save);
  if (!t || !n)
    return false;
  v->turn = atoi(t);
  v->n = atoi(n);
  if (v->n < 1 || v->n > MAX_SEATS)
    return false;
  for (int s = 0; s < v->n; s++) {
    char *f[4];
    for (int i = 0; i < 4; i++)
      if (!(f[i] = strtok_r(NULL, " ", &save)))
        return false;
    v->x[s] = atoi(f[0]), v->y[s] = atoi(f[1]), v->alive[s] = atoi(f[2]);
    v->dir[s] = parse_dir(f[3]);
  }
  char *grid = strtok_r(NULL, " \n", &save);
  if (!grid || (int)strlen(grid) != v->w * v->h)
    return false;
  memcpy(v->grid, grid, (size_t)(v->w * v->h));
  return true;
}

static FILE *connect_game(void) {
  const char *host = getenv("JUDGER_GAME_HOST"), *port = getenv("JUDGER_GAME_PORT");
  struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
  host = host && *host ? host : "game";
  port = port && *port ? port : "7000";
  /* The game may still be coming up on the network: retry for ~10 s. */
  for (int attempt = 0; attempt < 100; attempt++) {
    if (getaddrinfo(host, port, &hints, &res) == 0) {
      for (struct addrinfo *a = res; a; a = a->ai_next) {
        int fd = socket(a->ai_family, a->ai_socktype, a->ai_protocol);
        if (fd < 0)
          continue;
        if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
          int one = 1; /* one small line a turn: never wait for an ACK to send it */
          setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          freeaddrinfo(res);
          return fdopen(fd, "r+");
        }
        close(fd);
      }
      freeaddrinfo(res);
    }
    nanosleep(&(struct timespec){.tv_nsec = 100000000}, NULL);
  }
  return NULL;
}

int main(void) {
  const char *token = getenv("JUDGER_TOKEN"), *name = getenv("JUDGER_PLAYER_NAME");
  FILE *f = connect_game();
  if (!f) {
    fprintf(stderr, "c-bot: cannot connect to the game\n");
    return 1;
  }
  /* Line-buffered: each answer leaves in one write (one TCP segment). */
  setvbuf(f, NULL, _IOLBF, 0);
  fprintf(f, "%s %s\n", token ? token : "", name ? name : "");
  static view v;
  static char line[CELLS + 1024];
  while (fgets(line, sizeof line, f)) {
    if (!strncmp(line, "welcome ", 8)) {
      v.me = atoi(line + 8);
    } else if (!strncmp(line, "round ", 6)) {
      int r = 0;
      if (sscanf(line + 6, "%d %d %d", &r, &v.w, &v.h) != 3 || v.w < 1 || v.h < 1 ||
          v.w > MAX_SIDE || v.h > MAX_SIDE) {
        fprintf(stderr, "c-bot: bad round line\n");
        break;
      }
      fprintf(stderr, "c-bot: round %d (%dx%d)\n", r + 1, v.w, v.h);
    } else if (!strncmp(line, "turn ", 5)) {
      if (!parse_turn(&v, line))
        continue;
      int d = choose(&v);
      fprintf(f, "%d %c\n", v.turn, "URDL"[d]);
    } else if (!strncmp(line, "round_end", 9)) {
      fprintf(stderr, "c-bot: %s", line);
    } else if (!strncmp(line, "end", 3)) {
      fprintf(stderr, "c-bot: %s", line);
      break;
    }
  }
  fclose(f);
  return 0;
}
