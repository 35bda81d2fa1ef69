/* Bradley-Terry ratings: pure arithmetic on an n x n matrix of pairwise
 * wins (docs/tasksets.md "Standings and ratings").
 *
 * Model: P(i beats j) = g_i / (g_i + g_j), g_i = exp(theta_i). Fitted by
 * Hunter's (2004) MM algorithm, accelerated by Newton steps that are kept
 * only when they raise the likelihood (every iteration is an ascent, as in
 * MM; MM alone converges linearly, slowly when strengths are far apart),
 * with an optional weak prior: each program
 * gets `prior_draws` virtual draws (half a win and half a loss each)
 * against a virtual opponent of strength 1 (theta 0), so a program that
 * won or lost everything keeps a finite rating. Without the prior the fit
 * is the plain maximum likelihood estimate; it exists only when the
 * comparison graph is strongly connected (Hunter's condition); otherwise
 * -1.
 *
 * The scale is fixed by centring: the returned theta sum to zero. The
 * covariance is the inverse of the observed Fisher information (minus the
 * Hessian of the log-likelihood, prior included) at the fit, taken in the
 * same sum-to-zero gauge: without the prior the information matrix is
 * singular along (1,...,1) and its Moore-Penrose pseudo-inverse is used;
 * with it, the inverse is projected onto the sum-zero subspace. */
#ifndef JD_RATING_H
#define JD_RATING_H

#include <stdbool.h>
#include <stddef.h>

/* 400 / ln(10): natural log-strength to Elo points. */
#define JD_ELO_PER_NAT 173.71779276130073
#define JD_ELO_MEAN 1500.0
/* At most this many programs in one fit (the covariance is n x n doubles). */
#define JD_BT_MAX_N 4096

typedef struct jd_bt_options {
  double prior_draws; /* virtual draws of each program against theta 0; 0 = off */
  double tol;         /* stop when max |theta change| < tol (natural log units) */
  int max_iter;       /* iterations at most; -1 returned past it */
  bool mm_only;       /* no Newton steps: Hunter's MM alone (slow when far apart) */
} jd_bt_options;
#define JD_BT_OPTIONS_INIT                                                                         \
  { 1.0, 1e-10, 100000, false }

typedef struct jd_bt_fit {
  double *theta; /* n log-strengths, summing to 0 (caller frees with jd_bt_fit_free) */
  double *cov;   /* n x n covariance of theta (row-major), NULL when not asked */
  int iterations;
} jd_bt_fit;

/* wins[i*n+j]: wins of i over j (>= 0, finite; a draw is half a win to each;
 * the diagonal is ignored). want_cov: also compute the covariance. -1 on
 * bad input, no convergence within max_iter, no finite MLE (prior off and
 * the graph not strongly connected), or out of memory; *out then zeroed.
 * n == 1: theta 0, variance 0. */
int jd_bt_fit_matrix(jd_bt_fit *out, const double *wins, size_t n, const jd_bt_options *opt,
                     bool want_cov);
void jd_bt_fit_free(jd_bt_fit *fit);

/* Standard error of theta_i - theta_j from a covariance (i == j: of theta_i
 * about the mean). */
double jd_bt_se_diff(const double *cov, size_t n, size_t i, size_t j);

#endif
