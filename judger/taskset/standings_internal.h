/* The standings' state, shared by standings.c (counts, the fit) and
 * standings_io.c (result.json in, JSON and text out). */
#ifndef JD_STANDINGS_INTERNAL_H
#define JD_STANDINGS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "taskset/standings.h"

struct jd_standings {
  jd_standing_row *rows; /* first-sight order */
  size_t n, cap;
  int64_t *wins;  /* cap x cap: wins[i * cap + j] = pairwise wins of i over j */
  int64_t *draws; /* cap x cap, symmetric */
  size_t *rank;   /* rank -> row index (identity until rated) */
  size_t *slots;  /* open-addressing hash of the ids: row index + 1, 0 = empty */
  size_t nslots;
  int64_t unattributed;
  bool rated, fit_ok;
  int iterations;
};

/* 1..JD_STANDINGS_ID_MAX printable ASCII characters, no space. */
bool jd_standings_id_ok(const char *id);
/* Points of row i: wins + draws / 2. */
double jd_standings_row_points(const jd_standing_row *r);

#endif
