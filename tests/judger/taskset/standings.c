/* taskset/standings.c: counting games, reading result.json, the ratings,
 * the table and the JSON. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <criterion/criterion.h>
#include <json-c/json.h>

#include "taskset/rating.h"
#include "taskset/standings.h"

static jd_standings *fresh(void) {
  jd_standings *s = NULL;
  cr_assert_eq(jd_standings_new(&s), 0);
  return s;
}

static const jd_standing_row *row_of(const jd_standings *s, const char *program) {
  for (size_t i = 0; i < jd_standings_count(s); i++)
    if (strcmp(jd_standings_row(s, i)->program, program) == 0)
      return jd_standings_row(s, i);
  cr_assert_fail("no row for %s", program);
  return NULL;
}

static void game2(jd_standings *s, const char *a, const char *b, double sa, double sb) {
  const char *p[2] = {a, b};
  double sc[2] = {sa, sb};
  cr_assert_eq(jd_standings_add(s, p, sc, 2), 0);
}

Test(standings, three_seats_win_draw_loss_and_pairs) {
  jd_standings *s = fresh();
  const char *p[3] = {"a", "b", "c"};
  double tie[3] = {5, 5, 1}, clear[3] = {1, 2, 3};
  cr_assert_eq(jd_standings_add(s, p, tie, 3), 0);
  cr_assert_eq(jd_standings_add(s, p, clear, 3), 0);
  cr_assert_eq(jd_standings_add(s, p, NULL, 3), 0);
  cr_assert_eq(jd_standings_count(s), 3);
  const jd_standing_row *a = row_of(s, "a"), *c = row_of(s, "c");
  cr_expect_eq(a->games, 3);
  cr_expect_eq(a->draws, 1);
  cr_expect_eq(a->losses, 1);
  cr_expect_eq(a->wins, 0);
  cr_expect_eq(a->no_result, 1);
  cr_expect_eq(c->wins, 1);
  cr_expect_eq(c->losses, 1);
  cr_expect(fabs(a->score_sum - 6) < 1e-12);
  int64_t w, d, l;
  size_t ia = jd_standings_index(s, "a"), ib = jd_standings_index(s, "b");
  cr_assert_eq(ia, 0);
  cr_assert_eq(ib, 1);
  cr_expect_eq(jd_standings_index(s, "zz"), SIZE_MAX);
  jd_standings_pair_seen(s, ia, ib, &w, &d, &l);
  cr_expect(w == 0 && d == 1 && l == 1, "a vs b: %lld-%lld-%lld", (long long)w, (long long)d,
            (long long)l);
  double pts[3];
  jd_standings_points(s, pts);
  cr_expect(pts[0] == 0.5 && pts[1] == 0.5 && pts[2] == 1.0);
  jd_standings_free(s);
}

Test(standings, bad_games_count_nothing) {
  jd_standings *s = fresh();
  const char *bad_id[2] = {"a", "has space"}, *ok[2] = {"a", "b"};
  double inf[2] = {1, INFINITY};
  cr_expect_eq(jd_standings_add(s, bad_id, NULL, 2), -1);
  cr_expect_eq(jd_standings_add(s, ok, inf, 2), -1);
  cr_expect_eq(jd_standings_add(s, ok, NULL, 0), -1);
  cr_expect_eq(jd_standings_count(s), 0);
  jd_standings_free(s);
}

/* At most JD_STANDINGS_MAX_PROGRAMS programs: one more is refused, nothing
 * counted, and the programs already there are still found. */
Test(standings, program_cap) {
  jd_standings *s = fresh();
  char a[16], b[16];
  for (int i = 0; i < JD_STANDINGS_MAX_PROGRAMS; i += 2) {
    snprintf(a, sizeof a, "p%d", i);
    snprintf(b, sizeof b, "p%d", i + 1);
    game2(s, a, b, 1, 0);
  }
  cr_assert_eq(jd_standings_count(s), JD_STANDINGS_MAX_PROGRAMS);
  const char *over[2] = {"p0", "one-too-many"};
  cr_expect_eq(jd_standings_add(s, over, NULL, 2), -1);
  cr_expect_eq(jd_standings_count(s), JD_STANDINGS_MAX_PROGRAMS);
  cr_expect_eq(jd_standings_index(s, "one-too-many"), SIZE_MAX);
  cr_expect_eq(jd_standings_index(s, "p2047"), 2047);
  cr_expect_eq(jd_standings_row(s, 0)->games, 1);
  game2(s, "p2047", "p0", 1, 1); /* known programs still count */
  cr_expect_eq(jd_standings_index(s, "p0"), 0);
  jd_standings_free(s);
}

static int add_json(jd_standings *s, const char *json, char *err) {
  return jd_standings_add_result(s, json, err, 256);
}

Test(standings, result_json_is_type_checked) {
  jd_standings *s = fresh();
  char err[256];
  cr_assert_eq(add_json(s,
                        "{\"status\":\"finished\",\"scores\":[3.0,13],"
                        "\"players\":[{\"id\":\"c-bot\"},{\"id\":\"py-bot\"}]}",
                        err),
               0, "%s", err);
  cr_assert_eq(add_json(s,
                        "{\"status\":\"failed\",\"scores\":null,"
                        "\"players\":[{\"id\":\"c-bot\"},{\"id\":\"py-bot\"}]}",
                        err),
               0);
  cr_assert_eq(add_json(s, "{\"status\":\"finished\",\"players\":[{\"id\":\"c-bot\"}]}", err), 0);
  cr_assert_eq(add_json(s,
                        "{\"task\":{\"id\":\"m1\",\"status\":\"cancelled\"},"
                        "\"reason\":\"taskset cancelled: x\"}",
                        err),
               0, "%s", err);
  const jd_standing_row *c = row_of(s, "c-bot"), *py = row_of(s, "py-bot");
  cr_expect_eq(c->games, 3);
  cr_expect_eq(c->losses, 1);
  cr_expect_eq(c->no_result, 2);
  cr_expect_eq(py->wins, 1);
  cr_expect_eq(py->no_result, 1);
  cr_expect_eq(jd_standings_unattributed(s), 1);
  const struct {
    const char *json, *msg;
  } bad[] = {
      {"[1]", "not a JSON object"},
      {"{\"status\":1,\"players\":[]}", "status: not a string"},
      {"{\"players\":[{\"id\":\"a\"}]}", "status: missing"},
      {"{\"status\":\"finished\",\"players\":{}}", "players: not an array"},
      {"{\"status\":\"finished\",\"players\":[{\"id\":7}]}", "players[0].id"},
      {"{\"status\":\"finished\",\"players\":[\"a\"]}", "players[0]: not an object"},
      {"{\"status\":\"finished\",\"players\":[{\"id\":\"a b\"}]}", "not a program id"},
      {"{\"status\":\"finished\",\"scores\":[1],\"players\":[{\"id\":\"a\"},{\"id\":\"b\"}]}",
       "scores: 1 entries for 2 players"},
      {"{\"status\":\"finished\",\"scores\":[1,\"2\"],\"players\":[{\"id\":\"a\"},{\"id\":\"b\"}]}",
       "scores[1]: not a number"},
      {"{\"status\":\"finished\",\"scores\":7,\"players\":[{\"id\":\"a\"}]}", "scores: not an"},
      {"{\"status\":\"finished\",\"players\":[]}", "players: 0 entries"},
      {"{\"status\":\"finished\",\"players\":[{\"id\":\"a\\u0000b\"}]}", "not a program id"},
      {"{\"status\":\"finished\"} trailing", "result:"},
      {"{\"status\":", "result:"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    err[0] = '\0';
    cr_expect_eq(add_json(s, bad[i].json, err), -1, "%s", bad[i].json);
    cr_expect(strstr(err, bad[i].msg) != NULL, "%s: %s", bad[i].json, err);
  }
  cr_expect_eq(jd_standings_count(s), 2, "nothing added by a bad result");
  cr_expect_eq(row_of(s, "c-bot")->games, 3);
  jd_standings_free(s);
}

/* 3-1 between two programs: with the prior (one virtual draw each against
 * 1500) the gap is below the maximum likelihood's 400 log10(3) = 190.8 and
 * equal to the fit's on the same matrix; the mean rating is 1500. */
Test(standings, ratings_on_the_elo_scale) {
  jd_standings *s = fresh();
  game2(s, "a", "b", 1, 0);
  game2(s, "b", "a", 0, 2);
  game2(s, "a", "b", 3, 1);
  game2(s, "a", "b", 0, 1);
  cr_assert_eq(jd_standings_rate(s), 0);
  const jd_standing_row *a = jd_standings_row(s, 0), *b = jd_standings_row(s, 1);
  cr_assert_str_eq(a->program, "a");
  double gap = a->rating - b->rating;
  cr_expect(fabs((a->rating + b->rating) / 2 - 1500) < 1e-9);
  const double w[4] = {0, 3, 1, 0};
  jd_bt_options o = JD_BT_OPTIONS_INIT;
  jd_bt_fit fit;
  cr_assert_eq(jd_bt_fit_matrix(&fit, w, 2, &o, true), 0);
  cr_expect(fabs(gap - JD_ELO_PER_NAT * (fit.theta[0] - fit.theta[1])) < 1e-9);
  cr_expect(gap > 50 && gap < 400 * log10(3.0), "gap %g", gap);
  double half = 1.959963984540054 * sqrt(fit.cov[0]) * JD_ELO_PER_NAT;
  cr_expect(fabs(a->rating_hi - a->rating - half) < 1e-9);
  cr_expect(fabs(a->rating - a->rating_lo - half) < 1e-9);
  jd_bt_fit_free(&fit);
  int64_t wins, draws;
  jd_standings_pair(s, 0, 1, &wins, &draws);
  cr_expect(wins == 3 && draws == 0);
  jd_standings_free(s);
}

Test(standings, symmetric_round_and_undefeated) {
  jd_standings *s = fresh();
  const char *p[4] = {"p0", "p1", "p2", "p3"};
  for (int i = 0; i < 4; i++)
    for (int j = 0; j < 4; j++)
      if (i != j)
        game2(s, p[i], p[j], 1, 0); /* each pair: one win each way */
  cr_assert_eq(jd_standings_rate(s), 0);
  for (size_t i = 0; i < 4; i++) {
    cr_expect(fabs(jd_standings_row(s, i)->rating - 1500) < 1e-6);
    cr_expect_str_eq(jd_standings_row(s, i)->program, p[i], "ties keep first sight");
  }
  game2(s, "champ", "p0", 1, 0);
  game2(s, "champ", "p1", 1, 0);
  game2(s, "champ", "p2", 1, 0);
  cr_assert_eq(jd_standings_rate(s), 0);
  const jd_standing_row *top = jd_standings_row(s, 0);
  cr_expect_str_eq(top->program, "champ");
  cr_expect(isfinite(top->rating) && isfinite(top->rating_hi) && top->rating < 2500);
  cr_expect(top->rating_lo < top->rating && top->rating < top->rating_hi);
  /* jd_standings_pair takes rank indices: champ (first seen last) is rank 0 */
  size_t p0 = SIZE_MAX;
  for (size_t i = 0; i < jd_standings_count(s); i++)
    if (strcmp(jd_standings_row(s, i)->program, "p0") == 0)
      p0 = i;
  int64_t w, d;
  jd_standings_pair(s, 0, p0, &w, &d);
  cr_expect(w == 1 && d == 0);
  jd_standings_pair(s, p0, 0, &w, &d);
  cr_expect(w == 0 && d == 0);
  cr_expect_eq(jd_standings_index(s, "champ"), 4, "first-sight index unchanged by the rank");
  jd_standings_free(s);
}

/* No game with a result: everyone at 1500 with the prior's interval alone
 * (one virtual draw: variance 1 / (1/4) = 4 nats^2 before centring). */
Test(standings, only_no_results) {
  jd_standings *s = fresh();
  const char *p[2] = {"u", "v"};
  cr_assert_eq(jd_standings_add(s, p, NULL, 2), 0);
  cr_assert_eq(jd_standings_rate(s), 0);
  for (size_t i = 0; i < 2; i++) {
    const jd_standing_row *r = jd_standings_row(s, i);
    cr_expect(fabs(r->rating - 1500) < 1e-9);
    cr_expect(r->no_result == 1 && r->games == 1);
    /* centred: Var(theta_u - mean) = Var((theta_u - theta_v) / 2) = (4 + 4) / 4 = 2 */
    cr_expect(fabs(r->rating_hi - r->rating - 1.959963984540054 * sqrt(2.0) * JD_ELO_PER_NAT) <
              1e-6);
  }
  jd_standings_free(s);
}

Test(standings, text_table_is_fixed_width_ascii) {
  jd_standings *s = fresh();
  game2(s, "a-program-with-a-very-long-task-id-beyond-the-width", "b", 2, 1);
  game2(s, "b", "c", 1, 1);
  const char *p[2] = {"c", "a-program-with-a-very-long-task-id-beyond-the-width"};
  cr_assert_eq(jd_standings_add(s, p, NULL, 2), 0);
  cr_assert_eq(jd_standings_rate(s), 0);
  char *text = NULL;
  cr_assert_eq(jd_standings_text(&text, s), 0);
  cr_log_info("\n%s", text);
  for (const char *c = text; *c; c++)
    cr_assert(*c == '\n' || (*c >= ' ' && *c <= '~'), "non-ASCII byte %d", *c);
  cr_expect(strstr(text, "a-program-with-a-very-l~") != NULL);
  cr_expect(strstr(text, "win matrix") != NULL);
  cr_expect(strstr(text, "1-0-0") != NULL);
  size_t width = strcspn(text, "\n");
  const char *line = text;
  for (int i = 0; i < 4; i++) { /* header + 3 rows: one width */
    cr_expect_eq(strcspn(line, "\n"), width, "line %d", i);
    line += strcspn(line, "\n") + 1;
  }
  free(text);
  jd_standings_free(s);
}

Test(standings, json_has_rows_matrix_and_model) {
  jd_standings *s = fresh();
  game2(s, "x", "y", 3, 1);
  game2(s, "x", "y", 2, 2);
  cr_assert_eq(jd_standings_rate(s), 0);
  char *text = NULL;
  cr_assert_eq(jd_standings_json(&text, s), 0);
  json_object *root = json_tokener_parse(text), *v, *rows, *m, *r;
  cr_assert_not_null(root, "%s", text);
  cr_assert(json_object_object_get_ex(root, "programs", &rows));
  cr_assert_eq(json_object_array_length(rows), 2);
  json_object *first = json_object_array_get_idx(rows, 0);
  cr_assert(json_object_object_get_ex(first, "program", &v));
  cr_expect_str_eq(json_object_get_string(v), "x");
  cr_assert(json_object_object_get_ex(first, "draws", &v));
  cr_expect_eq(json_object_get_int64(v), 1);
  cr_assert(json_object_object_get_ex(first, "rating_lo", &v));
  cr_expect(json_object_is_type(v, json_type_double));
  cr_assert(json_object_object_get_ex(root, "matrix", &m));
  cr_assert(json_object_object_get_ex(m, "wins", &v));
  cr_expect_eq(json_object_get_int(json_object_array_get_idx(json_object_array_get_idx(v, 0), 1)),
               1);
  cr_assert(json_object_object_get_ex(m, "draws", &v));
  cr_expect_eq(json_object_get_int(json_object_array_get_idx(json_object_array_get_idx(v, 1), 0)),
               1);
  cr_assert(json_object_object_get_ex(root, "rating", &r));
  cr_assert(json_object_object_get_ex(r, "model", &v));
  cr_expect_str_eq(json_object_get_string(v), "bradley-terry");
  cr_assert(json_object_object_get_ex(r, "scale", &v));
  cr_expect_str_eq(json_object_get_string(v), "elo");
  json_object_put(root);
  free(text);
  jd_standings_free(s);
}

/* 200 programs, a double round robin (39 800 games) and 200 more: adding
 * and rating (its time logged: well under a second). Strengths spread over 1200 Elo points,
 * results drawn from the model with a fixed LCG, so the fit must also put
 * the strongest first. */
Test(standings, two_hundred_programs_forty_thousand_games) {
  enum { N = 200 };
  char names[N][16];
  const char *p[2];
  uint64_t rng = 42;
  jd_standings *s = fresh();
  struct timespec t0, t1, t2;
  for (int i = 0; i < N; i++)
    snprintf(names[i], sizeof names[i], "bot-%03d", i);
  clock_gettime(CLOCK_MONOTONIC, &t0);
  size_t games = 0;
  for (int round = 0; games < 40000; round++)
    for (int i = 0; i < N && games < 40000; i++)
      for (int j = 0; j < N && games < 40000; j++) {
        if (i == j || (round > 0 && (i + j) % 97 != 0))
          continue;
        rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
        double u = (double)(rng >> 11) / 9007199254740992.0;
        double pij = 1.0 / (1.0 + pow(10.0, (double)(j - i) * 6.0 / 400.0));
        p[0] = names[i];
        p[1] = names[j];
        double sc[2] = {u < pij, u >= pij};
        cr_assert_eq(jd_standings_add(s, p, sc, 2), 0);
        games++;
      }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  cr_assert_eq(jd_standings_rate(s), 0);
  clock_gettime(CLOCK_MONOTONIC, &t2);
  double add_ms = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
  double rate_ms = (t2.tv_sec - t1.tv_sec) * 1e3 + (t2.tv_nsec - t1.tv_nsec) / 1e6;
  cr_log_info("standings: %zu games of %d programs: add %.1f ms, rate %.1f ms", games, N, add_ms,
              rate_ms);
  /* The time is a figure, not an assertion (docs/performance.md). */
  /* Neighbours 6 Elo apart are not told apart by 2 games a pair: the first
   * is among the 10 strongest, the last among the 10 weakest. */
  cr_expect(atoi(jd_standings_row(s, 0)->program + 4) >= N - 10, "%s first",
            jd_standings_row(s, 0)->program);
  cr_expect(atoi(jd_standings_row(s, N - 1)->program + 4) < 10, "%s last",
            jd_standings_row(s, N - 1)->program);
  jd_standings_free(s);
}

/* Past 512 programs no rating is fitted (its O(n^3) cost; the daemon rates
 * on a thread that renews leases): ratings stay 1500 without an interval
 * and the rows go by points. */
Test(standings, past_512_programs_ranked_by_points_without_a_fit) {
  enum { N = 600 };
  static char names[N][16];
  const char *p[2];
  jd_standings *s = fresh();
  for (int i = 0; i < N; i++)
    snprintf(names[i], sizeof names[i], "bot-%03d", i);
  /* Each program meets the next 20 (cyclically); the higher index wins
   * 3 games of 4 against a lower one. */
  for (int i = 0; i < N; i++)
    for (int k = 1; k <= 20; k++) {
      int j = (i + k) % N;
      int hi = i > j ? i : j, lo = i > j ? j : i;
      for (int g = 0; g < 4; g++) {
        p[0] = names[hi];
        p[1] = names[lo];
        double sc[2] = {g < 3, g >= 3};
        cr_assert_eq(jd_standings_add(s, p, sc, 2), 0);
      }
    }
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  cr_assert_eq(jd_standings_rate(s), 0);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  cr_log_info("standings: %d programs rated in %.1f ms", N,
              (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6);
  for (int i = 0; i < N; i++) {
    const jd_standing_row *r = jd_standings_row(s, (size_t)i);
    cr_assert_float_eq(r->rating, 1500.0, 1e-9, "%s", r->program);
    cr_assert(!isfinite(r->rating_lo) && !isfinite(r->rating_hi), "no interval past 512");
  }
  /* bot-599 beat all its 40 neighbours (every one of them is lower). */
  cr_expect_str_eq(jd_standings_row(s, 0)->program, "bot-599");
  jd_standings_free(s);
}
