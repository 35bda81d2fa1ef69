/* Standings: counts per program and per pair, then the Bradley-Terry fit
 * (rating.c). Reading result.json and the outputs are in standings_io.c.
 * Programs live in first-sight order (rows[]); the pairwise counts are two
 * cap x cap matrices; a hash of the ids finds a program in O(1), so 40 000
 * games of 200 programs add in a few milliseconds. */
#include "taskset/standings.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "taskset/rating.h"
#include "taskset/standings_internal.h"

int jd_standings_new(jd_standings **out) {
  *out = calloc(1, sizeof **out);
  return *out ? 0 : -1;
}

void jd_standings_free(jd_standings *s) {
  if (!s)
    return;
  for (size_t i = 0; i < s->n; i++)
    free(s->rows[i].program);
  free(s->rows);
  free(s->wins);
  free(s->draws);
  free(s->rank);
  free(s->slots);
  free(s);
}

bool jd_standings_id_ok(const char *id) {
  size_t len = id ? strnlen(id, JD_STANDINGS_ID_MAX + 1) : 0;
  if (len == 0 || len > JD_STANDINGS_ID_MAX)
    return false;
  for (size_t i = 0; i < len; i++)
    if (id[i] <= ' ' || id[i] > '~')
      return false;
  return true;
}

static uint64_t id_hash(const char *id) {
  uint64_t h = 1469598103934665603ULL; /* FNV-1a */
  for (const unsigned char *p = (const unsigned char *)id; *p; p++)
    h = (h ^ *p) * 1099511628211ULL;
  return h;
}

/* The slot of id (holding index + 1), or the empty slot where it goes. */
static size_t *slot_of(const jd_standings *s, const char *id) {
  size_t mask = s->nslots - 1;
  for (size_t k = (size_t)id_hash(id) & mask;; k = (k + 1) & mask)
    if (s->slots[k] == 0 || strcmp(s->rows[s->slots[k] - 1].program, id) == 0)
      return &s->slots[k];
}

/* Puts every program back in the hash (no allocation). */
static void reindex(jd_standings *s) {
  memset(s->slots, 0, s->nslots * sizeof *s->slots);
  for (size_t i = 0; i < s->n; i++)
    *slot_of(s, s->rows[i].program) = i + 1;
}

static int rehash(jd_standings *s, size_t nslots) {
  size_t *slots = calloc(nslots, sizeof *slots);
  if (!slots)
    return -1;
  free(s->slots);
  s->slots = slots;
  s->nslots = nslots;
  reindex(s);
  return 0;
}

size_t jd_standings_index(const jd_standings *s, const char *program) {
  if (!s->nslots || !program)
    return SIZE_MAX;
  size_t *slot = slot_of(s, program);
  return *slot ? *slot - 1 : SIZE_MAX;
}

/* Room for want programs: rows, rank, the matrices (copied to the new
 * stride) and a hash at most half full. Nothing changes on failure but
 * capacities. */
static int reserve(jd_standings *s, size_t want) {
  if (want <= s->cap)
    return 0;
  size_t cap = s->cap ? s->cap : 8;
  while (cap < want)
    cap *= 2;
  if (cap > JD_STANDINGS_MAX_PROGRAMS + JD_STANDINGS_MAX_SEATS) /* one game past the cap */
    cap = JD_STANDINGS_MAX_PROGRAMS + JD_STANDINGS_MAX_SEATS;
  if (want > cap)
    return -1;
  jd_standing_row *rows = realloc(s->rows, cap * sizeof *rows);
  if (rows)
    s->rows = rows;
  size_t *rank = rows ? realloc(s->rank, cap * sizeof *rank) : NULL;
  if (rank)
    s->rank = rank;
  int64_t *wins = calloc(cap * cap, sizeof *wins), *draws = calloc(cap * cap, sizeof *draws);
  size_t nslots = 16; /* a power of two, at most half full */
  while (nslots < cap * 2)
    nslots *= 2;
  if (!rows || !rank || !wins || !draws || rehash(s, nslots) < 0) {
    free(wins);
    free(draws);
    return -1;
  }
  for (size_t i = 0; i < s->n; i++) {
    for (size_t j = 0; j < s->n; j++) {
      wins[i * cap + j] = s->wins[i * s->cap + j];
      draws[i * cap + j] = s->draws[i * s->cap + j];
    }
  }
  free(s->wins);
  free(s->draws);
  s->wins = wins;
  s->draws = draws;
  s->cap = cap;
  return 0;
}

/* The index of each seat's program, adding new ones; on failure the
 * programs added by this call are removed again. */
static int seat_indices(jd_standings *s, size_t *idx, const char *const *programs, size_t nseats) {
  size_t before = s->n;
  if (reserve(s, s->n + nseats) < 0)
    return -1;
  for (size_t k = 0; k < nseats; k++) {
    size_t *slot = slot_of(s, programs[k]);
    if (*slot == 0) {
      jd_standing_row *r = &s->rows[s->n];
      memset(r, 0, sizeof *r);
      r->program = strdup(programs[k]);
      if (!r->program)
        goto undo;
      r->rating = JD_ELO_MEAN;
      r->rating_lo = -INFINITY;
      r->rating_hi = INFINITY;
      s->rank[s->n] = s->n;
      *slot = ++s->n;
    }
    idx[k] = *slot - 1;
  }
  if (s->n <= JD_STANDINGS_MAX_PROGRAMS)
    return 0;
undo:
  while (s->n > before)
    free(s->rows[--s->n].program);
  reindex(s);
  return -1;
}

/* Win = strictly highest score; draw = tied for highest; loss otherwise. */
static void count_game(jd_standings *s, const size_t *idx, const double *scores, size_t nseats) {
  double best = scores[0];
  size_t nbest = 0;
  for (size_t k = 1; k < nseats; k++)
    if (scores[k] > best)
      best = scores[k];
  for (size_t k = 0; k < nseats; k++)
    nbest += scores[k] == best;
  for (size_t k = 0; k < nseats; k++) {
    jd_standing_row *r = &s->rows[idx[k]];
    r->games++;
    r->score_sum += scores[k];
    if (scores[k] < best)
      r->losses++;
    else if (nbest == 1)
      r->wins++;
    else
      r->draws++;
    for (size_t l = k + 1; l < nseats; l++) {
      size_t a = idx[k], b = idx[l];
      if (a == b)
        continue;
      if (scores[k] > scores[l])
        s->wins[a * s->cap + b]++;
      else if (scores[k] < scores[l])
        s->wins[b * s->cap + a]++;
      else {
        s->draws[a * s->cap + b]++;
        s->draws[b * s->cap + a]++;
      }
    }
  }
}

static void unrate(jd_standings *s) {
  s->rated = false;
  s->fit_ok = false;
  for (size_t i = 0; i < s->n; i++) {
    s->rank[i] = i;
    s->rows[i].rating = JD_ELO_MEAN;
    s->rows[i].rating_lo = -INFINITY;
    s->rows[i].rating_hi = INFINITY;
  }
}

int jd_standings_add(jd_standings *s, const char *const *programs, const double *scores,
                     size_t nseats) {
  size_t idx[JD_STANDINGS_MAX_SEATS];
  if (!s || !programs || nseats == 0 || nseats > JD_STANDINGS_MAX_SEATS)
    return -1;
  for (size_t k = 0; k < nseats; k++)
    if (!jd_standings_id_ok(programs[k]) || (scores && !isfinite(scores[k])))
      return -1;
  if (seat_indices(s, idx, programs, nseats) < 0)
    return -1;
  if (scores)
    count_game(s, idx, scores, nseats);
  else
    for (size_t k = 0; k < nseats; k++) {
      s->rows[idx[k]].games++;
      s->rows[idx[k]].no_result++;
    }
  unrate(s);
  return 0;
}

double jd_standings_row_points(const jd_standing_row *r) {
  return (double)r->wins + 0.5 * (double)r->draws;
}

/* Rank order: rating, then points, then first sight. */
static int by_rank(const void *pa, const void *pb, void *ctx) {
  const jd_standings *s = ctx;
  size_t a = *(const size_t *)pa, b = *(const size_t *)pb;
  const jd_standing_row *ra = &s->rows[a], *rb = &s->rows[b];
  double pta = jd_standings_row_points(ra), ptb = jd_standings_row_points(rb);
  if (ra->rating != rb->rating)
    return ra->rating > rb->rating ? -1 : 1;
  if (pta != ptb)
    return pta > ptb ? -1 : 1;
  return a < b ? -1 : 1;
}

/* The fit's input: wins + half the draws, n x n. */
static double *fit_matrix(const jd_standings *s) {
  size_t n = s->n;
  double *w = malloc(n * n * sizeof *w);
  for (size_t i = 0; w && i < n; i++)
    for (size_t j = 0; j < n; j++)
      w[i * n + j] = (double)s->wins[i * s->cap + j] + 0.5 * (double)s->draws[i * s->cap + j];
  return w;
}

/* Past this many programs no rating is fitted (rows by points, ratings
 * 1500 without an interval): the fit's Newton steps and covariance cost
 * O(n^3) (20 s at 2048 programs; MM alone converges too slowly on sparse
 * rounds), and the daemon rates a set on a thread that renews leases. */
#define RATED_MAX 512

int jd_standings_rate(jd_standings *s) {
  jd_bt_options o = JD_BT_OPTIONS_INIT;
  jd_bt_fit fit = {0};
  unrate(s);
  if (s->n == 0)
    return 0;
  if (s->n > RATED_MAX) {
    qsort_r(s->rank, s->n, sizeof *s->rank, by_rank, s);
    s->rated = true;
    return 0;
  }
  double *w = fit_matrix(s);
  int rc = w ? jd_bt_fit_matrix(&fit, w, s->n, &o, true) : -1;
  free(w);
  if (rc == 0) {
    for (size_t i = 0; i < s->n; i++) {
      double half = 1.959963984540054 * sqrt(fit.cov[i * s->n + i]) * JD_ELO_PER_NAT;
      s->rows[i].rating = JD_ELO_MEAN + JD_ELO_PER_NAT * fit.theta[i];
      s->rows[i].rating_lo = s->rows[i].rating - half;
      s->rows[i].rating_hi = s->rows[i].rating + half;
    }
    s->fit_ok = true;
    s->iterations = fit.iterations;
  }
  jd_bt_fit_free(&fit);
  qsort_r(s->rank, s->n, sizeof *s->rank, by_rank, s);
  s->rated = true;
  return rc;
}

size_t jd_standings_count(const jd_standings *s) { return s ? s->n : 0; }
int64_t jd_standings_unattributed(const jd_standings *s) { return s ? s->unattributed : 0; }

const jd_standing_row *jd_standings_row(const jd_standings *s, size_t i) {
  return s && i < s->n ? &s->rows[s->rank[i]] : NULL;
}

void jd_standings_pair_seen(const jd_standings *s, size_t i, size_t j, int64_t *wins,
                            int64_t *draws, int64_t *losses) {
  bool ok = s && i < s->n && j < s->n;
  if (wins)
    *wins = ok ? s->wins[i * s->cap + j] : 0;
  if (draws)
    *draws = ok ? s->draws[i * s->cap + j] : 0;
  if (losses)
    *losses = ok ? s->wins[j * s->cap + i] : 0;
}

void jd_standings_pair(const jd_standings *s, size_t i, size_t j, int64_t *wins, int64_t *draws) {
  bool ok = s && i < s->n && j < s->n;
  jd_standings_pair_seen(s, ok ? s->rank[i] : SIZE_MAX, ok ? s->rank[j] : SIZE_MAX, wins, draws,
                         NULL);
}

void jd_standings_points(const jd_standings *s, double *points) {
  for (size_t i = 0; s && i < s->n; i++)
    points[i] = jd_standings_row_points(&s->rows[i]);
}
