/* taskset/rating.c: the Bradley-Terry fit against published fits and cases
 * worked by hand. */
#include <math.h>
#include <string.h>
#include <time.h>

#include <criterion/criterion.h>

#include "taskset/rating.h"

static jd_bt_options no_prior(void) {
  jd_bt_options o = JD_BT_OPTIONS_INIT;
  o.prior_draws = 0;
  return o;
}

/* Agresti (2002), Categorical Data Analysis, 2nd ed., sec. 10.6, Tables
 * 10.10/10.11: the 1987 American League East, 13 games per pair. The games
 * are BradleyTerry2's data/baseball.csv (home and away wins added). The
 * published fit (Baltimore = 0), to 4 decimals as in BradleyTerry2's saved
 * reference output tests/baseball.Rout.save (baseballModel1; Agresti's
 * Table 10.11 gives the same to 2 decimals, every s.e. "about 0.3"):
 * Boston 1.1077 (0.3339), Cleveland 0.6839 (0.3319), Detroit 1.4364
 * (0.3396), Milwaukee 1.5814 (0.3433), New York 1.2476 (0.3359), Toronto
 * 1.2945 (0.3367). */
enum { MIL, DET, TOR, NY, BOS, CLE, BAL, NTEAM };
static const double baseball[NTEAM][NTEAM] = {
    /* row beat column: Mil Det Tor NY Bos Cle Bal */
    [MIL] = {0, 7, 9, 7, 7, 9, 11}, [DET] = {6, 0, 7, 5, 11, 9, 9}, [TOR] = {4, 6, 0, 7, 7, 8, 12},
    [NY] = {6, 8, 6, 0, 6, 7, 10},  [BOS] = {6, 2, 6, 7, 0, 7, 12}, [CLE] = {4, 4, 5, 6, 6, 0, 6},
    [BAL] = {2, 4, 1, 3, 1, 7, 0},
};

Test(rating, agresti_baseball_1987) {
  jd_bt_options o = no_prior();
  jd_bt_fit fit;
  cr_assert_eq(jd_bt_fit_matrix(&fit, &baseball[0][0], NTEAM, &o, true), 0);
  const struct {
    int team;
    double est, se;
  } want[] = {{BOS, 1.1077, 0.3339}, {CLE, 0.6839, 0.3319}, {DET, 1.4364, 0.3396},
              {MIL, 1.5814, 0.3433}, {NY, 1.2476, 0.3359},  {TOR, 1.2945, 0.3367}};
  for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
    double est = fit.theta[want[k].team] - fit.theta[BAL];
    double se = jd_bt_se_diff(fit.cov, NTEAM, (size_t)want[k].team, BAL);
    cr_expect(fabs(est - want[k].est) < 0.00005, "team %d: %.5f, published %.4f", want[k].team, est,
              want[k].est);
    cr_expect(fabs(se - want[k].se) < 0.00005, "team %d: se %.5f, published %.4f", want[k].team, se,
              want[k].se);
  }
  double sum = 0;
  for (size_t i = 0; i < NTEAM; i++)
    sum += fit.theta[i];
  cr_expect(fabs(sum) < 1e-9, "theta sums to zero: %g", sum);
  /* Hunter's MM alone reaches the same fit, in more iterations. */
  jd_bt_fit mm;
  o.mm_only = true;
  cr_assert_eq(jd_bt_fit_matrix(&mm, &baseball[0][0], NTEAM, &o, false), 0);
  for (size_t i = 0; i < NTEAM; i++)
    cr_expect(fabs(mm.theta[i] - fit.theta[i]) < 1e-8, "team %zu", i);
  cr_log_info("baseball: %d iterations with Newton steps, %d MM alone", fit.iterations,
              mm.iterations);
  cr_expect(mm.iterations > fit.iterations);
  jd_bt_fit_free(&mm);
  jd_bt_fit_free(&fit);
}

/* Stigler (1994) citations among four journals, as in Agresti (2002) p448 and
 * BradleyTerry2's data/citations.txt (the cited journal "wins"). The
 * published fits are BradleyTerry2's saved reference output
 * tests/BTabilities.Rout.save: with Biometrika = 0, Comm Statist -2.9490725
 * (s.e. 0.10254534), JASA -0.4795698 (0.06058873), JRSS-B 0.2689541
 * (0.07082997); with JASA = 0, Comm Statist -2.4695027 (0.09817049), JRSS-B
 * 0.7485238 (0.07294356); and in the sum-to-zero gauge (contr.sum, mod3),
 * ours: Biometrika 0.7899221 (0.04333047), Comm Statist -2.1591504
 * (0.07257974), JASA 0.3103523 (0.04164102), JRSS-B 1.0588761 (0.05304699). */
enum { BKA, CST, JASA, JRSSB, NJ };
static const double citations[NJ][NJ] = {
    /* row cited by column: Bka CommSt JASA JRSS-B */
    [BKA] = {0, 730, 498, 221},
    [CST] = {33, 0, 68, 17},
    [JASA] = {320, 813, 0, 142},
    [JRSSB] = {284, 276, 325, 0},
};

static void expect_diff(const jd_bt_fit *fit, size_t i, size_t ref, double est, double se) {
  double e = fit->theta[i] - (ref == i ? 0 : fit->theta[ref]);
  double s = jd_bt_se_diff(fit->cov, NJ, i, ref);
  cr_expect(fabs(e - est) < 5e-7, "journal %zu vs %zu: %.7f, published %.7f", i, ref, e, est);
  cr_expect(fabs(s - se) < 5e-8, "journal %zu vs %zu: se %.8f, published %.8f", i, ref, s, se);
}

Test(rating, stigler_citations) {
  jd_bt_options o = no_prior();
  jd_bt_fit fit;
  cr_assert_eq(jd_bt_fit_matrix(&fit, &citations[0][0], NJ, &o, true), 0);
  expect_diff(&fit, CST, BKA, -2.9490725, 0.10254534);
  expect_diff(&fit, JASA, BKA, -0.4795698, 0.06058873);
  expect_diff(&fit, JRSSB, BKA, 0.2689541, 0.07082997);
  expect_diff(&fit, CST, JASA, -2.4695027, 0.09817049);
  expect_diff(&fit, JRSSB, JASA, 0.7485238, 0.07294356);
  /* i == ref: theta_i about the mean, the gauge rating.h returns */
  expect_diff(&fit, BKA, BKA, 0.7899221, 0.04333047);
  expect_diff(&fit, CST, CST, -2.1591504, 0.07257974);
  expect_diff(&fit, JASA, JASA, 0.3103523, 0.04164102);
  expect_diff(&fit, JRSSB, JRSSB, 1.0588761, 0.05304699);
  for (size_t i = 0; i < NJ; i++) {
    double row = 0; /* the covariance is in the sum-zero gauge: rows sum to 0 */
    for (size_t j = 0; j < NJ; j++)
      row += fit.cov[i * NJ + j];
    cr_expect(fabs(row) < 1e-9, "cov row %zu sums to %g", i, row);
  }
  jd_bt_fit_free(&fit);
}

/* Two programs, 3 wins to 1: the MLE ratio g_a / g_b is exactly 3. */
Test(rating, two_players_three_to_one) {
  const double w[4] = {0, 3, 1, 0};
  jd_bt_options o = no_prior();
  jd_bt_fit fit;
  cr_assert_eq(jd_bt_fit_matrix(&fit, w, 2, &o, true), 0);
  cr_expect(fabs(exp(fit.theta[0] - fit.theta[1]) - 3.0) < 1e-9, "ratio %.12f",
            exp(fit.theta[0] - fit.theta[1]));
  cr_expect(fabs(fit.theta[0] + fit.theta[1]) < 1e-12);
  /* Var(theta_a - theta_b) = 1 / (n p (1 - p)) = 1 / (4 * 3/4 * 1/4) = 4/3. */
  double se = jd_bt_se_diff(fit.cov, 2, 0, 1);
  cr_expect(fabs(se * se - 4.0 / 3.0) < 1e-9, "var %.12f", se * se);
  jd_bt_fit_free(&fit);
}

/* A symmetric round (everyone beat everyone once and lost once; with the
 * prior too): every rating is 0. */
Test(rating, symmetric_round_is_equal) {
  enum { N = 5 };
  double w[N * N];
  for (size_t i = 0; i < N; i++)
    for (size_t j = 0; j < N; j++)
      w[i * N + j] = i == j ? 0 : 1;
  for (int prior = 0; prior < 2; prior++) {
    jd_bt_options o = JD_BT_OPTIONS_INIT;
    o.prior_draws = prior;
    jd_bt_fit fit;
    cr_assert_eq(jd_bt_fit_matrix(&fit, w, N, &o, true), 0);
    for (size_t i = 0; i < N; i++)
      cr_expect(fabs(fit.theta[i]) < 1e-9, "theta[%zu] = %g", i, fit.theta[i]);
    for (size_t i = 1; i < N; i++)
      cr_expect(fabs(fit.cov[i * N + i] - fit.cov[0]) < 1e-12, "equal variances");
    jd_bt_fit_free(&fit);
  }
}

/* An undefeated program: no finite MLE without the prior (-1), a finite
 * rating above the others with it. Also: with the prior, 2 programs 1-0.
 * The fixed point by hand: one virtual draw each against g = 1, so
 * the scores: 1 - p_ab + 1/2 - q_a = 0, 0 - p_ba + 1/2 - q_b = 0 with q the
 * chance against the virtual opponent (g = 1). g_b = 1/g_a solves both (they
 * add up), and with x = g_a: x^2/(x^2+1) + x/(x+1) = 3/2, that is
 * x^3 - x^2 - x - 3 = 0 (x = 2.1304...): theta_a = ln x, theta_b = -ln x. */
Test(rating, undefeated_is_finite_with_the_prior) {
  const double w[9] = {0, 2, 2, 0, 0, 1, 0, 1, 0};
  jd_bt_options off = no_prior(), on = JD_BT_OPTIONS_INIT;
  jd_bt_fit fit;
  cr_expect_eq(jd_bt_fit_matrix(&fit, w, 3, &off, true), -1);
  cr_expect_null(fit.theta);
  cr_assert_eq(jd_bt_fit_matrix(&fit, w, 3, &on, true), 0);
  cr_expect(isfinite(fit.theta[0]) && fit.theta[0] > fit.theta[1] + 0.5);
  cr_expect(fabs(fit.theta[1] - fit.theta[2]) < 1e-9);
  cr_expect(isfinite(fit.cov[0]) && fit.cov[0] > 0);
  jd_bt_fit_free(&fit);
  const double one[4] = {0, 1, 0, 0};
  cr_assert_eq(jd_bt_fit_matrix(&fit, one, 2, &on, false), 0);
  double x = exp(fit.theta[0]);
  cr_expect(fabs(x * x * x - x * x - x - 3) < 1e-8, "x = %.12f", x);
  cr_expect(fabs(fit.theta[0] + fit.theta[1]) < 1e-12);
  jd_bt_fit_free(&fit);
}

Test(rating, bad_input_is_refused) {
  jd_bt_options o = JD_BT_OPTIONS_INIT;
  jd_bt_fit fit;
  const double neg[4] = {0, -1, 1, 0}, nan4[4] = {0, NAN, 1, 0};
  cr_expect_eq(jd_bt_fit_matrix(&fit, neg, 2, &o, false), -1);
  cr_expect_eq(jd_bt_fit_matrix(&fit, nan4, 2, &o, false), -1);
  cr_expect_eq(jd_bt_fit_matrix(&fit, neg, 0, &o, false), -1);
  o.max_iter = 0;
  cr_expect_eq(jd_bt_fit_matrix(&fit, nan4, 2, &o, false), -1);
  o = (jd_bt_options)JD_BT_OPTIONS_INIT;
  const double one[1] = {0};
  cr_assert_eq(jd_bt_fit_matrix(&fit, one, 1, &o, true), 0);
  cr_expect_eq(fit.theta[0], 0.0);
  jd_bt_fit_free(&fit);
}
