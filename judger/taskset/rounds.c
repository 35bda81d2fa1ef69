/* Round robin and Swiss pairings (see rounds.h). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "taskset/rounds.h"

/* What the Swiss search may try before it gives up on "no rematch" and
 * pairs greedily: each step is one candidate looked at. A pairing without
 * rematches is found in a few thousand steps for the sets a Swiss is run
 * on; the cap only bounds the search's worst case (no such pairing, and
 * many near misses), which is exponential. */
#define SWISS_MAX_STEPS 2000000

/* C(n, k) into *out: 0, or -1 when it is over cap. */
static int choose(size_t *out, size_t n, size_t k, size_t cap) {
  if (k > n - k)
    k = n - k;
  size_t c = 1;
  for (size_t i = 0; i < k; i++) {
    /* c * (n - i) / (i + 1) is exact: c * (n - i) is C(n, i + 1) * (i + 1). */
    size_t m;
    if (__builtin_mul_overflow(c, n - i, &m))
      return -1;
    c = m / (i + 1);
    if (c > cap)
      return -1;
  }
  *out = c;
  return 0;
}

/* The next k-combination of 0..n-1 in lexicographic order: false after the
 * last one. */
static bool next_group(size_t *g, size_t k, size_t n) {
  size_t i = k;
  while (i > 0 && g[i - 1] == n - k + i - 1)
    i--;
  if (i == 0)
    return false;
  g[i - 1]++;
  for (size_t j = i; j < k; j++)
    g[j] = g[j - 1] + 1;
  return true;
}

int jd_round_robin(jd_pairing **out, size_t *nout, size_t nprograms, size_t seats, int rounds,
                   bool swap, const int64_t *seeds, size_t nseeds, size_t max) {
  *out = NULL;
  *nout = 0;
  size_t cap = max ? max : JD_ROUND_MAX_GAMES_DEFAULT, groups = 0, total = 0;
  if (seats < 1 || seats > JD_ROUND_MAX_SEATS || nprograms < seats || rounds < 1 ||
      (nseeds && !seeds))
    return -1;
  size_t per_group = (swap ? seats : 1) * (size_t)rounds;
  if (choose(&groups, nprograms, seats, cap) || __builtin_mul_overflow(groups, per_group, &total) ||
      total > cap)
    return -1;
  jd_pairing *games = calloc(total ? total : 1, sizeof *games);
  if (!games)
    return -1;
  size_t at = 0;
  for (int r = 1; r <= rounds; r++) {
    int64_t seed = nseeds ? seeds[(size_t)(r - 1) % nseeds] : r;
    size_t g[JD_ROUND_MAX_SEATS];
    for (size_t i = 0; i < seats; i++)
      g[i] = i;
    do {
      for (size_t rot = 0; rot < (swap ? seats : 1); rot++) {
        jd_pairing *p = &games[at++];
        p->nseats = seats;
        p->round = r;
        p->seed = seed;
        for (size_t i = 0; i < seats; i++)
          p->seat[i] = g[(i + rot) % seats];
      }
    } while (next_group(g, seats, nprograms));
  }
  *out = games;
  *nout = at;
  return 0;
}

/* splitmix64: a fixed, well-mixed order of equal-point programs per seed. */
static uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

typedef struct rank_key {
  double points;
  uint64_t tie;
  size_t i;
} rank_key;

static int by_rank(const void *a, const void *b) {
  const rank_key *x = a, *y = b;
  if (x->points != y->points)
    return x->points > y->points ? -1 : 1;
  if (x->tie != y->tie)
    return x->tie < y->tie ? -1 : 1;
  return (x->i > y->i) - (x->i < y->i);
}

typedef struct swiss {
  size_t n;        /* programs */
  size_t *ranked;  /* program indices, best first */
  size_t m;        /* positions in this search */
  size_t *order;   /* order[pos]: program index; n = the bye */
  const bool *met; /* met[i * n + j]; met[i * n + i]: i had a bye */
  bool *paired;    /* by position */
  size_t *a, *c;   /* the pairs so far: positions a[d] < c[d] */
  long steps;      /* spent by every search of this round */
} swiss;

static bool may_meet(const swiss *s, size_t x, size_t y) {
  if (!s->met)
    return true;
  if (y == s->n)
    return !s->met[x * s->n + x];
  return !s->met[x * s->n + y];
}

/* Depth-first search, iterative: the first unpaired position takes the
 * first unpaired one below it it may meet; on a dead end the last pair is
 * undone and its upper member tries the next one. 0 and the pairs in
 * s->a/s->c, or -1 (none, or the step cap was reached). */
static int swiss_search(swiss *s) {
  size_t d = 0, from = 0, half = s->m / 2;
  long steps = s->steps;
  memset(s->paired, 0, s->m * sizeof *s->paired);
  while (d < half) {
    size_t a = d ? s->a[d - 1] + 1 : 0;
    for (; s->paired[a]; a++)
      steps++;
    size_t c = from ? from : a + 1;
    for (; c < s->m; c++, steps++)
      if (!s->paired[c] && may_meet(s, s->order[a], s->order[c]))
        break;
    s->steps = ++steps;
    if (steps > SWISS_MAX_STEPS)
      return -1;
    if (c < s->m) {
      s->paired[a] = s->paired[c] = true;
      s->a[d] = a;
      s->c[d++] = c;
      from = 0;
      continue;
    }
    if (d == 0)
      return -1;
    d--;
    s->paired[s->a[d]] = s->paired[s->c[d]] = false;
    from = s->c[d] + 1;
  }
  return 0;
}

/* When every pairing has a rematch (or the search gave up): top-down, each
 * takes the first one below it not met, else the first one below it. */
static void swiss_greedy(swiss *s) {
  memset(s->paired, 0, s->m * sizeof *s->paired);
  size_t a = 0;
  for (size_t d = 0; d < s->m / 2; d++) {
    while (s->paired[a])
      a++;
    size_t first = SIZE_MAX, c = a + 1;
    for (; c < s->m; c++) {
      if (s->paired[c])
        continue;
      first = first == SIZE_MAX ? c : first;
      if (may_meet(s, s->order[a], s->order[c]))
        break;
    }
    c = c < s->m ? c : first;
    s->paired[a] = s->paired[c] = true;
    s->a[d] = a;
    s->c[d] = c;
  }
}

/* The pairs into s->a/s->c. An odd count: the bye goes to the
 * lowest-ranked program without one whose absence leaves the rest pairable
 * without a rematch; when there is none (or the steps ran out), the bye is
 * paired greedily as one more program ranked last. */
static void swiss_pair(swiss *s, size_t *bye) {
  size_t n = s->n;
  memcpy(s->order, s->ranked, n * sizeof *s->order);
  if (n % 2 == 0) {
    s->m = n;
    if (swiss_search(s))
      swiss_greedy(s);
    return;
  }
  for (size_t p = n; p-- > 0 && s->steps <= SWISS_MAX_STEPS;) {
    size_t x = s->ranked[p];
    if (s->met && s->met[x * n + x])
      continue;
    memcpy(s->order, s->ranked, p * sizeof *s->order);
    memcpy(s->order + p, s->ranked + p + 1, (n - p - 1) * sizeof *s->order);
    s->m = n - 1;
    if (!swiss_search(s)) {
      *bye = x;
      return;
    }
  }
  memcpy(s->order, s->ranked, n * sizeof *s->order);
  s->order[n] = n;
  s->m = n + 1;
  swiss_greedy(s);
}

/* The pairs found into games; the bye's partner (greedy) into *bye. */
static void swiss_emit(jd_pairing *games, size_t *ngames, size_t *bye, const swiss *s, int round,
                       int64_t seed) {
  size_t k = 0;
  for (size_t d = 0; d < s->m / 2; d++) {
    size_t x = s->order[s->a[d]], y = s->order[s->c[d]];
    if (y == s->n) {
      *bye = x;
      continue;
    }
    /* No seat history here: the higher-ranked program takes seat 0 on
     * even boards of odd rounds and odd boards of even rounds. */
    bool flip = ((k + (size_t)round) % 2) == 0;
    jd_pairing *p = &games[k++];
    p->nseats = 2;
    p->seat[0] = flip ? y : x;
    p->seat[1] = flip ? x : y;
    p->round = round;
    p->seed = seed;
  }
  *ngames = k;
}

static int swiss_order(swiss *s, const double *points, int64_t seed) {
  rank_key *keys = calloc(s->n ? s->n : 1, sizeof *keys);
  if (!keys)
    return -1;
  for (size_t i = 0; i < s->n; i++) {
    if (!isfinite(points[i])) {
      free(keys);
      return -1;
    }
    keys[i] = (rank_key){points[i], mix((uint64_t)seed ^ mix(i)), i};
  }
  qsort(keys, s->n, sizeof *keys, by_rank);
  for (size_t i = 0; i < s->n; i++)
    s->ranked[i] = keys[i].i;
  free(keys);
  return 0;
}

int jd_swiss_round(jd_pairing **out, size_t *nout, size_t *bye, size_t nprograms,
                   const double *points, const bool *met, int round, int64_t seed) {
  *out = NULL;
  *nout = 0;
  *bye = SIZE_MAX;
  if ((nprograms && !points) || nprograms > JD_ROUND_MAX_GAMES_DEFAULT)
    return -1;
  swiss s = {.n = nprograms, .met = met};
  size_t cells = nprograms + 1;
  s.ranked = calloc(cells, sizeof *s.ranked);
  s.order = calloc(cells, sizeof *s.order);
  s.paired = calloc(cells, sizeof *s.paired);
  s.a = calloc(cells, sizeof *s.a);
  s.c = calloc(cells, sizeof *s.c);
  jd_pairing *games = calloc(cells, sizeof *games);
  int rc = -1;
  if (!s.ranked || !s.order || !s.paired || !s.a || !s.c || !games || swiss_order(&s, points, seed))
    goto cleanup;
  swiss_pair(&s, bye);
  swiss_emit(games, nout, bye, &s, round, seed);
  *out = games;
  games = NULL;
  rc = 0;
cleanup:
  free(games);
  free(s.ranked);
  free(s.order);
  free(s.paired);
  free(s.a);
  free(s.c);
  return rc;
}
