/* Tron light cycles: the rules (see rules.h). No I/O, no clocks, no floats:
 * deterministic for a seed on every machine. */
#include "rules.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const int dx[4] = {0, 1, 0, -1};
static const int dy[4] = {-1, 0, 1, 0};

uint64_t tr_rand(uint64_t *state) {
  uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static int rand_below(uint64_t *state, int n) { return (int)(tr_rand(state) % (uint64_t)n); }

void tr_config_defaults(tr_config *cfg) {
  if (cfg->width == 0)
    cfg->width = 30;
  if (cfg->height == 0)
    cfg->height = 20;
  if (cfg->max_turns == 0)
    cfg->max_turns = cfg->width * cfg->height;
}

const char *tr_config_check(const tr_config *cfg, int nseats) {
  if (cfg->width < TR_MIN_SIDE || cfg->width > TR_MAX_SIDE)
    return "config.width must be within 8..100";
  if (cfg->height < TR_MIN_SIDE || cfg->height > TR_MAX_SIDE)
    return "config.height must be within 8..100";
  if (cfg->obstacles < 0 || cfg->obstacles > 30)
    return "config.obstacles must be a percentage within 0..30";
  if (cfg->max_turns < 1)
    return "config.max_turns must be positive";
  if (nseats < 1 || nseats > TR_MAX_SEATS)
    return "the number of seats must be within 1..8";
  if (nseats > 4 && (cfg->width < 16 || cfg->height < 16))
    return "more than 4 seats need config.width and config.height >= 16";
  return NULL;
}

/* Start slot k of a grid: position and heading. Slots 0-1 face each other
 * across the middle for two seats; 0-3 make a pinwheel for three or four;
 * 4-7 add an inner pinwheel. */
static void slot(const tr_config *cfg, int nseats, int k, int *x, int *y, tr_dir *d) {
  int w = cfg->width, h = cfg->height;
  if (nseats <= 2) {
    *y = h / 2;
    *x = k == 0 ? w / 4 : w - 1 - w / 4;
    *d = k == 0 ? TR_RIGHT : TR_LEFT;
    return;
  }
  switch (k) {
  case 0:
    *x = w / 4, *y = h / 4, *d = TR_RIGHT;
    break;
  case 1:
    *x = w - 1 - w / 4, *y = h - 1 - h / 4, *d = TR_LEFT;
    break;
  case 2:
    *x = w - 1 - w / 4, *y = h / 4, *d = TR_DOWN;
    break;
  case 3:
    *x = w / 4, *y = h - 1 - h / 4, *d = TR_UP;
    break;
  case 4:
    *x = w / 2, *y = h / 8 + 1, *d = TR_RIGHT;
    break;
  case 5:
    *x = w - 1 - w / 2, *y = h - 2 - h / 8, *d = TR_LEFT;
    break;
  case 6:
    *x = w - 2 - w / 8, *y = h / 2, *d = TR_DOWN;
    break;
  default:
    *x = w / 8 + 1, *y = h - 1 - h / 2, *d = TR_UP;
    break;
  }
}

/* Sets (or clears) a cell and its three mirror images. */
static int mirror_set(tr_round *r, int x, int y, uint8_t v) {
  int w = r->cfg.width, h = r->cfg.height, changed = 0;
  int xs[4] = {x, w - 1 - x, x, w - 1 - x}, ys[4] = {y, y, h - 1 - y, h - 1 - y};
  for (int i = 0; i < 4; i++) {
    uint8_t *c = &r->cells[ys[i] * w + xs[i]];
    if (*c != v) {
      *c = v;
      changed++;
    }
  }
  return changed;
}

static bool in_grid(const tr_config *cfg, int x, int y) {
  return x >= 0 && y >= 0 && x < cfg->width && y < cfg->height;
}

static void place_obstacles(tr_round *r) {
  const tr_config *cfg = &r->cfg;
  uint64_t st = cfg->seed ^ (0xD1B54A32D192ED03ull * (uint64_t)(r->round + 1));
  int target = cfg->width * cfg->height * cfg->obstacles / 100;
  int placed = 0;
  /* Short wall segments look like a map, not noise; the attempt cap bounds
   * the loop when the density cannot be reached. */
  for (int attempt = 0; placed < target && attempt < 10000; attempt++) {
    int x = rand_below(&st, cfg->width), y = rand_below(&st, cfg->height);
    int d = rand_below(&st, 4), len = 1 + rand_below(&st, 4);
    for (int i = 0; i < len && in_grid(cfg, x, y); i++, x += dx[d], y += dy[d])
      placed += mirror_set(r, x, y, TR_OBSTACLE);
  }
  /* Clear around every slot in use (and its mirrors): nobody starts boxed in. */
  for (int k = 0; k < r->nseats; k++) {
    int sx, sy;
    tr_dir sd;
    slot(cfg, r->nseats, k, &sx, &sy, &sd);
    for (int oy = -2; oy <= 2; oy++)
      for (int ox = -2; ox <= 2; ox++)
        if (in_grid(cfg, sx + ox, sy + oy))
          mirror_set(r, sx + ox, sy + oy, TR_FREE);
    for (int i = 3; i <= 5; i++)
      if (in_grid(cfg, sx + dx[sd] * i, sy + dy[sd] * i))
        mirror_set(r, sx + dx[sd] * i, sy + dy[sd] * i, TR_FREE);
  }
}

int tr_round_init(tr_round *r, const tr_config *cfg, int nseats, int round) {
  memset(r, 0, sizeof *r);
  r->cfg = *cfg;
  r->round = round;
  r->nseats = nseats;
  r->cells = calloc((size_t)cfg->width * (size_t)cfg->height, 1);
  if (!r->cells)
    return -1;
  place_obstacles(r);
  for (int s = 0; s < nseats; s++) {
    /* Seats rotate through the slots so that, over nseats rounds, each seat
     * has played from each slot once. */
    slot(cfg, nseats, (s + round) % nseats, &r->x[s], &r->y[s], &r->dir[s]);
    r->cells[r->y[s] * cfg->width + r->x[s]] = (uint8_t)(TR_TRAIL + s);
    r->cause[s] = TR_ALIVE;
    r->death_turn[s] = -1;
  }
  return 0;
}

void tr_round_free(tr_round *r) {
  if (!r)
    return;
  free(r->cells);
  r->cells = NULL;
}

bool tr_alive(const tr_round *r, int seat) { return r->cause[seat] == TR_ALIVE; }

int tr_cell(const tr_round *r, int x, int y) {
  if (!in_grid(&r->cfg, x, y))
    return TR_OBSTACLE;
  return r->cells[y * r->cfg.width + x];
}

void tr_round_forfeit(tr_round *r, int seat) {
  if (seat >= 0 && seat < r->nseats && tr_alive(r, seat))
    r->forfeit[seat] = true;
}

void tr_round_step(tr_round *r, const int moves[TR_MAX_SEATS]) {
  int nx[TR_MAX_SEATS], ny[TR_MAX_SEATS];
  tr_cause c[TR_MAX_SEATS];
  for (int s = 0; s < r->nseats; s++) {
    c[s] = TR_ALIVE;
    if (!tr_alive(r, s))
      continue;
    if (r->forfeit[s]) {
      r->forfeit[s] = false;
      c[s] = TR_ABSENT;
      nx[s] = r->x[s], ny[s] = r->y[s];
      continue;
    }
    int m = moves[s];
    if (m >= 0 && m <= 3 && m != ((int)r->dir[s] + 2) % 4)
      r->dir[s] = (tr_dir)m;
    nx[s] = r->x[s] + dx[r->dir[s]];
    ny[s] = r->y[s] + dy[r->dir[s]];
    int cell = tr_cell(r, nx[s], ny[s]);
    if (!in_grid(&r->cfg, nx[s], ny[s]))
      c[s] = TR_WALL;
    else if (cell == TR_OBSTACLE)
      c[s] = TR_HIT_OBSTACLE;
    else if (cell >= TR_TRAIL)
      c[s] = TR_HIT_TRAIL;
  }
  for (int a = 0; a < r->nseats; a++)
    for (int b = a + 1; b < r->nseats; b++)
      if (tr_alive(r, a) && tr_alive(r, b) && c[a] != TR_ABSENT && c[b] != TR_ABSENT &&
          nx[a] == nx[b] && ny[a] == ny[b]) {
        if (c[a] == TR_ALIVE)
          c[a] = TR_HEAD_ON;
        if (c[b] == TR_ALIVE)
          c[b] = TR_HEAD_ON;
      }
  r->turn++;
  int crashed = 0;
  for (int s = 0; s < r->nseats; s++) {
    if (!tr_alive(r, s))
      continue;
    if (c[s] != TR_ALIVE) {
      r->cause[s] = c[s];
      r->death_turn[s] = r->turn;
      r->points[s] = r->dead; /* outlasted everybody who crashed earlier */
      crashed++;
      continue;
    }
    r->x[s] = nx[s], r->y[s] = ny[s];
    r->cells[ny[s] * r->cfg.width + nx[s]] = (uint8_t)(TR_TRAIL + s);
  }
  r->dead += crashed;
}

bool tr_round_over(tr_round *r) {
  int alive = r->nseats - r->dead;
  bool over = alive == 0 || (r->nseats >= 2 && alive <= 1) || r->turn >= r->cfg.max_turns;
  if (over) {
    for (int s = 0; s < r->nseats; s++) {
      if (tr_alive(r, s))
        r->points[s] = r->dead;
      r->forfeit[s] = false;
    }
  }
  return over;
}

char tr_dir_char(tr_dir d) { return "URDL"[d & 3]; }

int tr_dir_parse(const char *s) {
  static const char *names[4][3] = {
      {"U", "UP", "N"}, {"R", "RIGHT", "E"}, {"D", "DOWN", "S"}, {"L", "LEFT", "W"}};
  for (int d = 0; d < 4; d++)
    for (int i = 0; i < 3; i++)
      if (!strcasecmp(s, names[d][i]))
        return d;
  return -1;
}

const char *tr_cause_name(tr_cause c) {
  switch (c) {
  case TR_ALIVE:
    return "alive";
  case TR_WALL:
    return "wall";
  case TR_HIT_OBSTACLE:
    return "obstacle";
  case TR_HIT_TRAIL:
    return "trail";
  case TR_HEAD_ON:
    return "head-on";
  case TR_ABSENT:
    return "absent";
  }
  return "?";
}
