// test-labels: unit
/* judger/taskset/rounds.c: round robin and Swiss pairings, their
 * properties checked on generated sets. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <criterion/criterion.h>

#include "taskset/rounds.h"

static size_t choose(size_t n, size_t k) {
  size_t c = 1;
  for (size_t i = 0; i < k; i++)
    c = c * (n - i) / (i + 1);
  return c;
}

/* The group of a game as a bit set of programs (n <= 64). */
static uint64_t group_bits(const jd_pairing *p) {
  uint64_t b = 0;
  for (size_t i = 0; i < p->nseats; i++)
    b |= (uint64_t)1 << p->seat[i];
  return b;
}

/* One round robin, every property checked. */
static void check_round_robin(size_t n, size_t seats, int rounds, bool swap, const int64_t *seeds,
                              size_t nseeds) {
  jd_pairing *g = NULL;
  size_t ng = 0;
  cr_assert_eq(jd_round_robin(&g, &ng, n, seats, rounds, swap, seeds, nseeds, 0), 0);
  size_t groups = choose(n, seats), per = (swap ? seats : 1) * (size_t)rounds;
  cr_assert_eq(ng, groups * per, "n %zu seats %zu rounds %d swap %d: %zu games", n, seats, rounds,
               swap, ng);
  size_t seat_count[16][16] = {{0}};
  for (size_t k = 0; k < ng; k++) {
    cr_assert_eq(g[k].nseats, seats);
    cr_assert(g[k].round >= 1 && g[k].round <= rounds);
    cr_assert(k == 0 || g[k].round >= g[k - 1].round, "rounds in order");
    int64_t want = nseeds ? seeds[(size_t)(g[k].round - 1) % nseeds] : g[k].round;
    cr_assert_eq(g[k].seed, want, "game %zu round %d: seed %ld", k, g[k].round, (long)g[k].seed);
    cr_assert_eq(__builtin_popcountll(group_bits(&g[k])), (int)seats, "distinct programs");
    for (size_t i = 0; i < seats; i++) {
      cr_assert_lt(g[k].seat[i], n);
      seat_count[g[k].seat[i]][i]++;
    }
    /* Same group, same count; with swap, every ordered seating (rotation)
     * rounds times. */
    size_t same_group = 0, same_order = 0;
    for (size_t j = 0; j < ng; j++) {
      if (group_bits(&g[j]) != group_bits(&g[k]))
        continue;
      same_group++;
      same_order += !memcmp(g[j].seat, g[k].seat, seats * sizeof *g[k].seat);
      if (g[j].round == g[k].round)
        cr_assert_eq(g[j].seed, g[k].seed, "a group's games of one round share a seed");
    }
    cr_assert_eq(same_group, per);
    cr_assert_eq(same_order, swap && seats > 1 ? (size_t)rounds : per);
    if (swap) {
      /* A rotation of the group's first seating. */
      bool rotation = false;
      size_t base[JD_ROUND_MAX_SEATS], b = 0;
      for (size_t i = 0; i < n; i++)
        if (group_bits(&g[k]) >> i & 1)
          base[b++] = i;
      for (size_t r = 0; r < seats && !rotation; r++) {
        bool ok = true;
        for (size_t i = 0; i < seats; i++)
          ok = ok && g[k].seat[i] == base[(i + r) % seats];
        rotation = ok;
      }
      cr_assert(rotation, "game %zu is a rotation of its group", k);
    }
  }
  /* With swap every program sits in every seat equally often. */
  if (swap)
    for (size_t p = 0; p < n; p++)
      for (size_t i = 0; i < seats; i++)
        cr_assert_eq(seat_count[p][i], choose(n - 1, seats - 1) * (size_t)rounds);
  free(g);
}

Test(rounds, round_robin_every_group_every_seat_every_round) {
  const int64_t seeds[] = {11, 22, 33};
  for (size_t n = 1; n <= 8; n++)
    for (size_t seats = 1; seats <= n && seats <= 4; seats++)
      for (int rounds = 1; rounds <= 3; rounds++)
        for (int swap = 0; swap <= 1; swap++)
          for (size_t nseeds = 0; nseeds <= 3; nseeds += 2)
            check_round_robin(n, seats, rounds, swap, nseeds ? seeds : NULL, nseeds);
}

Test(rounds, round_robin_two_seats_plays_both_orders) {
  jd_pairing *g = NULL;
  size_t ng = 0;
  int64_t seeds[] = {5};
  cr_assert_eq(jd_round_robin(&g, &ng, 3, 2, 1, true, seeds, 1, 0), 0);
  size_t want[][2] = {{0, 1}, {1, 0}, {0, 2}, {2, 0}, {1, 2}, {2, 1}};
  cr_assert_eq(ng, 6);
  for (size_t k = 0; k < ng; k++) {
    cr_assert_eq(g[k].seat[0], want[k][0]);
    cr_assert_eq(g[k].seat[1], want[k][1]);
    cr_assert_eq(g[k].seed, 5);
    cr_assert_eq(g[k].round, 1);
  }
  free(g);
}

Test(rounds, round_robin_is_capped_and_checks_its_arguments) {
  jd_pairing *g = NULL;
  size_t ng = 0;
  cr_assert_eq(jd_round_robin(&g, &ng, 10, 2, 1, true, NULL, 0, 90), 0);
  cr_assert_eq(ng, 90);
  free(g);
  cr_assert_eq(jd_round_robin(&g, &ng, 10, 2, 1, true, NULL, 0, 89), -1);
  cr_assert_null(g);
  cr_assert_eq(ng, 0);
  /* C(1000, 8) is about 2.4e19: refused before anything is allocated. */
  cr_assert_eq(jd_round_robin(&g, &ng, 1000, 8, 1, true, NULL, 0, 0), -1);
  cr_assert_eq(jd_round_robin(&g, &ng, SIZE_MAX, 16, 1000, true, NULL, 0, SIZE_MAX), -1);
  cr_assert_eq(jd_round_robin(&g, &ng, 4, 0, 1, true, NULL, 0, 0), -1);
  cr_assert_eq(jd_round_robin(&g, &ng, 40, 17, 1, true, NULL, 0, 0), -1);
  cr_assert_eq(jd_round_robin(&g, &ng, 2, 3, 1, true, NULL, 0, 0), -1);
  cr_assert_eq(jd_round_robin(&g, &ng, 4, 2, 0, true, NULL, 0, 0), -1);
  cr_assert_eq(jd_round_robin(&g, &ng, 4, 2, 1, true, NULL, 2, 0), -1);
  cr_assert_null(g);
}

/* --- Swiss ---------------------------------------------------------- */

typedef struct swiss_case {
  size_t n;
  double points[16];
  bool met[16 * 16];
} swiss_case;

static void set_met(swiss_case *c, size_t i, size_t j) {
  c->met[i * c->n + j] = c->met[j * c->n + i] = true;
}

/* Can positions in mask (bit i: program i; bit n: the bye) be paired with
 * no rematch? Plain memoised search over subsets (n <= 13). */
static bool pairable(const swiss_case *c, unsigned mask, signed char *memo) {
  if (!mask)
    return true;
  if (memo[mask])
    return memo[mask] > 0;
  unsigned a = (unsigned)__builtin_ctz(mask);
  bool ok = false;
  for (unsigned b = a + 1; b <= c->n && !ok; b++) {
    if (!(mask >> b & 1))
      continue;
    bool meets = b == c->n ? !c->met[a * c->n + a] : !c->met[a * c->n + b];
    ok = meets && pairable(c, mask & ~(1u << a) & ~(1u << b), memo);
  }
  memo[mask] = ok ? 1 : -1;
  return ok;
}

static bool rematch_free_exists(const swiss_case *c) {
  unsigned all = (1u << c->n) - 1;
  if (c->n % 2)
    all |= 1u << c->n;
  signed char *memo = calloc((size_t)1 << (c->n + 1), 1);
  bool ok = pairable(c, all, memo);
  free(memo);
  return ok;
}

/* The round checked: everyone once, the bye iff odd, no rematch when one
 * can be avoided. Returns the number of rematches. */
static size_t check_swiss(const swiss_case *c, const jd_pairing *g, size_t ng, size_t bye,
                          int round) {
  size_t seen[16] = {0}, rematches = 0;
  cr_assert_eq(ng, c->n / 2);
  for (size_t k = 0; k < ng; k++) {
    cr_assert_eq(g[k].nseats, 2);
    cr_assert_eq(g[k].round, round);
    size_t x = g[k].seat[0], y = g[k].seat[1];
    cr_assert(x < c->n && y < c->n && x != y);
    seen[x]++;
    seen[y]++;
    rematches += c->met[x * c->n + y];
  }
  if (c->n % 2) {
    cr_assert_lt(bye, c->n);
    seen[bye]++;
    rematches += c->met[bye * c->n + bye];
  } else {
    cr_assert_eq(bye, SIZE_MAX);
  }
  for (size_t i = 0; i < c->n; i++)
    cr_assert_eq(seen[i], 1, "program %zu in %zu games", i, seen[i]);
  if (rematches)
    cr_assert(!rematch_free_exists(c), "%zu rematches though a round without exists", rematches);
  return rematches;
}

/* The first rematch-free pairing in top-down order, by plain recursion
 * (the reference; order[] is the ranking). */
static bool reference(const swiss_case *c, const size_t *order, size_t m, bool *paired,
                      size_t *pairs, size_t d) {
  size_t a = 0;
  while (a < m && paired[a])
    a++;
  if (a == m)
    return true;
  for (size_t b = a + 1; b < m; b++) {
    if (paired[b])
      continue;
    size_t x = order[a], y = order[b];
    bool meets = y == c->n ? !c->met[x * c->n + x] : !c->met[x * c->n + y];
    if (!meets)
      continue;
    paired[a] = paired[b] = true;
    pairs[2 * d] = x;
    pairs[2 * d + 1] = y;
    if (reference(c, order, m, paired, pairs, d + 1))
      return true;
    paired[a] = paired[b] = false;
  }
  return false;
}

static uint64_t rng_state = 88172645463325252ULL;
static uint64_t rng(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return rng_state;
}

/* The expected round by the documented rules, by plain recursion: the
 * ranking by points; an odd count: the bye to the lowest-ranked program
 * without one that leaves the rest pairable; then the first rematch-free
 * pairing top-down. False when rematches are unavoidable. */
static bool expected_round(const swiss_case *c, size_t *pairs, size_t *bye) {
  size_t ranked[16], order[16];
  for (size_t i = 0; i < c->n; i++)
    ranked[i] = i;
  for (size_t i = 0; i < c->n; i++) /* by points, highest first */
    for (size_t j = i + 1; j < c->n; j++)
      if (c->points[ranked[j]] > c->points[ranked[i]]) {
        size_t t = ranked[i];
        ranked[i] = ranked[j];
        ranked[j] = t;
      }
  bool paired[16] = {0};
  *bye = SIZE_MAX;
  if (c->n % 2 == 0)
    return reference(c, ranked, c->n, paired, pairs, 0);
  for (size_t p = c->n; p-- > 0;) {
    if (c->met[ranked[p] * c->n + ranked[p]])
      continue;
    for (size_t i = 0, k = 0; i < c->n; i++)
      if (i != p)
        order[k++] = ranked[i];
    memset(paired, 0, sizeof paired);
    if (reference(c, order, c->n - 1, paired, pairs, 0)) {
      *bye = ranked[p];
      return true;
    }
  }
  return false;
}

/* Distinct points: the ranking is known, so the round must be the
 * expected one, pair by pair, with the seats of board k as documented. */
static void check_against_reference(const swiss_case *c, const jd_pairing *g, size_t ng, size_t bye,
                                    int round) {
  size_t pairs[32], want_bye = SIZE_MAX;
  if (!expected_round(c, pairs, &want_bye))
    return; /* rematches unavoidable: check_swiss covered it */
  cr_assert_eq(bye, want_bye);
  cr_assert_eq(ng, c->n / 2);
  for (size_t k = 0; k < ng; k++) {
    size_t hi = pairs[2 * k], lo = pairs[2 * k + 1];
    bool hi_first = (k + (size_t)round) % 2 == 1;
    cr_assert_eq(g[k].seat[0], hi_first ? hi : lo, "board %zu", k);
    cr_assert_eq(g[k].seat[1], hi_first ? lo : hi, "board %zu", k);
  }
}

/* Whole Swiss tournaments of n = 2..12 programs, random results, every
 * round checked; with distinct points (a fraction added by index) the
 * pairing is compared with the reference. */
Test(rounds, swiss_properties_on_generated_tournaments) {
  size_t rounds_with_rematch = 0, rounds_total = 0;
  for (int distinct = 0; distinct <= 1; distinct++)
    for (size_t n = 2; n <= 12; n++)
      for (int trial = 0; trial < 20; trial++) {
        swiss_case c = {.n = n};
        for (size_t i = 0; i < n; i++)
          c.points[i] = distinct ? (double)(rng() % 1000) / 1000.0 + (double)i * 1e-6 : 0;
        int rounds = (int)(n + 2);
        for (int r = 1; r <= rounds; r++) {
          jd_pairing *g = NULL, *again = NULL;
          size_t ng = 0, bye = 0, ng2 = 0, bye2 = 0;
          int64_t seed = (int64_t)trial;
          cr_assert_eq(jd_swiss_round(&g, &ng, &bye, n, c.points, c.met, r, seed), 0);
          cr_assert_eq(jd_swiss_round(&again, &ng2, &bye2, n, c.points, c.met, r, seed), 0);
          cr_assert(ng == ng2 && bye == bye2 && !memcmp(g, again, ng * sizeof *g), "deterministic");
          rounds_with_rematch += check_swiss(&c, g, ng, bye, r) > 0;
          rounds_total++;
          if (distinct)
            check_against_reference(&c, g, ng, bye, r);
          for (size_t k = 0; k < ng; k++) { /* play: a random result */
            size_t x = g[k].seat[0], y = g[k].seat[1];
            uint64_t res = rng() % 3;
            c.points[x] += res == 0 ? 1 : res == 1 ? 0.5 : 0;
            c.points[y] += res == 2 ? 1 : res == 1 ? 0.5 : 0;
            set_met(&c, x, y);
          }
          if (bye != SIZE_MAX) {
            c.points[bye] += 1;
            c.met[bye * n + bye] = true;
          }
          free(g);
          free(again);
        }
      }
  /* Past n - 1 rounds everyone has met everyone: rematches must come. */
  cr_assert_gt(rounds_with_rematch, 0);
  cr_assert_lt(rounds_with_rematch, rounds_total);
}

Test(rounds, swiss_backtracks_where_greedy_pairing_fails) {
  /* Ranked 0 > 1 > 2 > 3; 2 and 3 met. Greedy: 0-1, then 2-3 again.
   * The search: 0-2, 1-3. */
  swiss_case c = {.n = 4, .points = {3, 2, 1, 0}};
  set_met(&c, 2, 3);
  jd_pairing *g = NULL;
  size_t ng = 0, bye = 0;
  cr_assert_eq(jd_swiss_round(&g, &ng, &bye, 4, c.points, c.met, 1, 0), 0);
  cr_assert_eq(ng, 2);
  cr_assert_eq(bye, SIZE_MAX);
  /* Round 1: board 0 has the higher-ranked in seat 0. */
  cr_assert_eq(g[0].seat[0], 0);
  cr_assert_eq(g[0].seat[1], 2);
  cr_assert_eq(g[1].seat[0], 3);
  cr_assert_eq(g[1].seat[1], 1);
  free(g);
  /* Two levels back: six ranked 0..5; 4-5, 3-5 and 2-5 met, so 5 can
   * only meet 0 or 1; greedy 0-1 2-3 fails at 4-5, 0-1 2-4 at 3-5... */
  swiss_case d = {.n = 6, .points = {6, 5, 4, 3, 2, 1}};
  set_met(&d, 4, 5);
  set_met(&d, 3, 5);
  set_met(&d, 2, 5);
  set_met(&d, 0, 5);
  cr_assert_eq(jd_swiss_round(&g, &ng, &bye, 6, d.points, d.met, 2, 0), 0);
  cr_assert_eq(check_swiss(&d, g, ng, bye, 2), 0);
  check_against_reference(&d, g, ng, bye, 2);
  /* 5 is with 1, so 0 meets 2. */
  cr_assert(g[0].seat[0] + g[0].seat[1] == 2 && g[0].seat[0] * g[0].seat[1] == 0);
  free(g);
}

Test(rounds, swiss_bye_goes_to_the_lowest_without_one) {
  swiss_case c = {.n = 5, .points = {4, 3, 2, 1, 0}};
  jd_pairing *g = NULL;
  size_t ng = 0, bye = 0;
  cr_assert_eq(jd_swiss_round(&g, &ng, &bye, 5, c.points, c.met, 1, 0), 0);
  cr_assert_eq(bye, 4);
  cr_assert_eq(ng, 2);
  free(g);
  c.met[4 * 5 + 4] = true; /* 4 had a bye */
  cr_assert_eq(jd_swiss_round(&g, &ng, &bye, 5, c.points, c.met, 2, 0), 0);
  cr_assert_eq(bye, 3);
  check_swiss(&c, g, ng, bye, 2);
  free(g);
  /* And 2 met 4: still 3 (0-2 or 0-4 around it), not the 2 a top-down
   * search with the bye ranked last would reach first. */
  set_met(&c, 2, 4);
  cr_assert_eq(jd_swiss_round(&g, &ng, &bye, 5, c.points, c.met, 2, 0), 0);
  cr_assert_eq(bye, 3);
  cr_assert_eq(check_swiss(&c, g, ng, bye, 2), 0);
  check_against_reference(&c, g, ng, bye, 2);
  free(g);
  /* Everyone had a bye: the lowest-ranked gets another. */
  for (size_t i = 0; i < 5; i++)
    c.met[i * 5 + i] = true;
  cr_assert_eq(jd_swiss_round(&g, &ng, &bye, 5, c.points, c.met, 3, 0), 0);
  cr_assert_eq(bye, 4);
  free(g);
  /* One program: a bye, no game; none: nothing. */
  cr_assert_eq(jd_swiss_round(&g, &ng, &bye, 1, c.points, NULL, 1, 0), 0);
  cr_assert_eq(ng, 0);
  cr_assert_eq(bye, 0);
  free(g);
  cr_assert_eq(jd_swiss_round(&g, &ng, &bye, 0, NULL, NULL, 1, 0), 0);
  cr_assert_eq(ng, 0);
  cr_assert_eq(bye, SIZE_MAX);
  free(g);
}

Test(rounds, swiss_unavoidable_rematches_pair_top_down) {
  swiss_case c = {.n = 4, .points = {3, 2, 1, 0}};
  for (size_t i = 0; i < 4; i++)
    for (size_t j = 0; j < 4; j++)
      if (i != j)
        set_met(&c, i, j);
  jd_pairing *g = NULL;
  size_t ng = 0, bye = 0;
  cr_assert_eq(jd_swiss_round(&g, &ng, &bye, 4, c.points, c.met, 1, 0), 0);
  cr_assert_eq(check_swiss(&c, g, ng, bye, 1), 2);
  cr_assert_eq(g[0].seat[0] + g[0].seat[1], 1, "0 meets 1 again");
  free(g);
  /* Only 2-3 unmet: the greedy fallback takes it where it can. */
  c.met[2 * 4 + 3] = c.met[3 * 4 + 2] = false;
  cr_assert_eq(jd_swiss_round(&g, &ng, &bye, 4, c.points, c.met, 1, 0), 0);
  cr_assert_eq(check_swiss(&c, g, ng, bye, 1), 1);
  free(g);
}

Test(rounds, swiss_seed_breaks_ties_and_only_ties) {
  double points[10] = {0};
  jd_pairing *g = NULL, *h = NULL;
  size_t ng = 0, nh = 0, bye = 0;
  cr_assert_eq(jd_swiss_round(&g, &ng, &bye, 10, points, NULL, 1, 1), 0);
  bool differs = false;
  for (int64_t seed = 2; seed < 10 && !differs; seed++) {
    cr_assert_eq(jd_swiss_round(&h, &nh, &bye, 10, points, NULL, 1, seed), 0);
    differs = memcmp(g, h, ng * sizeof *g) != 0;
    free(h);
  }
  cr_assert(differs, "equal points: the seed orders them");
  free(g);
  /* Distinct points: the seed changes nothing but the games' seed. */
  for (size_t i = 0; i < 10; i++)
    points[i] = (double)((i * 7) % 10);
  cr_assert_eq(jd_swiss_round(&g, &ng, &bye, 10, points, NULL, 3, 1), 0);
  cr_assert_eq(jd_swiss_round(&h, &nh, &bye, 10, points, NULL, 3, 99), 0);
  for (size_t k = 0; k < ng; k++) {
    cr_assert_eq(g[k].seat[0], h[k].seat[0]);
    cr_assert_eq(g[k].seat[1], h[k].seat[1]);
    cr_assert_eq(g[k].seed, 1);
    cr_assert_eq(h[k].seed, 99);
  }
  free(g);
  free(h);
  points[3] = NAN;
  cr_assert_eq(jd_swiss_round(&g, &ng, &bye, 10, points, NULL, 1, 1), -1);
  cr_assert_null(g);
}

Test(rounds, swiss_search_is_bounded_when_no_pairing_exists) {
  /* Unmet pairs form two odd cliques (41 and 39 programs): no pairing
   * without a rematch exists and the search has a huge space to try. */
  size_t n = 80, big = 41;
  bool *met = calloc(n * n, sizeof *met);
  double *points = calloc(n, sizeof *points);
  for (size_t i = 0; i < n; i++) {
    points[i] = (double)(n - i);
    for (size_t j = 0; j < n; j++)
      met[i * n + j] = i != j && ((i < big) != (j < big));
  }
  jd_pairing *g = NULL;
  size_t ng = 0, bye = 0;
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  cr_assert_eq(jd_swiss_round(&g, &ng, &bye, n, points, met, 1, 0), 0);
  clock_gettime(CLOCK_MONOTONIC, &b);
  double ms = (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6;
  cr_assert_lt(ms, 2000, "%.0f ms", ms);
  cr_assert_eq(ng, 40);
  size_t rematches = 0;
  bool seen[80] = {0};
  for (size_t k = 0; k < ng; k++) {
    cr_assert(!seen[g[k].seat[0]] && !seen[g[k].seat[1]]);
    seen[g[k].seat[0]] = seen[g[k].seat[1]] = true;
    rematches += met[g[k].seat[0] * n + g[k].seat[1]];
  }
  cr_assert_eq(rematches, 1, "greedy: one pair across the cliques");
  free(g);
  /* And a large field with no history pairs at once: 1 vs 2, 3 vs 4... */
  size_t many = 5000;
  double *p2 = calloc(many, sizeof *p2);
  for (size_t i = 0; i < many; i++)
    p2[i] = (double)(many - i);
  cr_assert_eq(jd_swiss_round(&g, &ng, &bye, many, p2, NULL, 2, 0), 0);
  cr_assert_eq(ng, many / 2);
  free(g);
  free(p2);
  free(met);
  free(points);
}
