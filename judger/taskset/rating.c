/* Bradley-Terry by Hunter's (2004) MM algorithm; the covariance from the
 * observed information (see rating.h and docs/tasksets.md). */
#include "taskset/rating.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The data of one fit: n, N = wins + losses per pair (symmetric), W = wins
 * per program (prior included), the prior's weight. */
typedef struct bt_data {
  size_t n;
  const double *wins;
  double *pairs; /* n x n: wins[i][j] + wins[j][i] */
  double *won;   /* n: sum_j wins[i][j] + prior / 2 */
  double prior;
} bt_data;

static int check_input(const double *wins, size_t n, const jd_bt_options *o) {
  if (n == 0 || n > JD_BT_MAX_N || !wins || !o || !(o->prior_draws >= 0) ||
      !isfinite(o->prior_draws) || !(o->tol > 0) || o->max_iter < 1)
    return -1;
  for (size_t k = 0; k < n * n; k++)
    if (!isfinite(wins[k]) || wins[k] < 0)
      return -1;
  return 0;
}

/* Marks in seen[] what start reaches along edges i->j with wins[i][j] > 0
 * (reverse: j->i). Iterative, with stack[] of n. */
static size_t reach(bool *seen, size_t *stack, const double *wins, size_t n, bool reverse) {
  size_t top = 0, count = 1;
  memset(seen, 0, n * sizeof *seen);
  seen[0] = true;
  stack[top++] = 0;
  while (top > 0) {
    size_t i = stack[--top];
    for (size_t j = 0; j < n; j++) {
      double w = reverse ? wins[j * n + i] : wins[i * n + j];
      if (j != i && w > 0 && !seen[j]) {
        seen[j] = true;
        count++;
        stack[top++] = j;
      }
    }
  }
  return count;
}

/* Hunter's condition for a finite MLE: for every split of the programs in
 * two, someone in each part beat someone in the other: the graph of wins is
 * strongly connected (everyone reaches 0 and 0 reaches everyone). */
static bool strongly_connected(const double *wins, size_t n) {
  bool *seen = malloc(n * sizeof *seen);
  size_t *stack = malloc(n * sizeof *stack);
  bool ok = seen && stack && reach(seen, stack, wins, n, false) == n &&
            reach(seen, stack, wins, n, true) == n;
  free(seen);
  free(stack);
  return ok;
}

/* One MM step: g_i' = W_i / (sum_j N_ij / (g_i + g_j) + prior / (g_i + 1)).
 * Without the prior the scale is free: g' is divided by its geometric mean.
 * Returns max |log g_i' - log g_i|. */
static double mm_step(double *next, const double *g, const bt_data *d) {
  size_t n = d->n;
  for (size_t i = 0; i < n; i++) {
    const double *row = d->pairs + i * n;
    double denom = d->prior > 0 ? d->prior / (g[i] + 1.0) : 0.0;
    for (size_t j = 0; j < n; j++)
      if (row[j] > 0 && j != i)
        denom += row[j] / (g[i] + g[j]);
    next[i] = d->won[i] / denom;
  }
  double shift = 0;
  if (d->prior <= 0) {
    for (size_t i = 0; i < n; i++)
      shift += log(next[i]);
    shift /= (double)n;
  }
  double change = 0;
  for (size_t i = 0; i < n; i++) {
    next[i] *= exp(-shift);
    double c = fabs(log(next[i]) - log(g[i]));
    if (c > change)
      change = c;
  }
  return change;
}

/* In-place Cholesky factorisation of an SPD matrix (its upper triangle is
 * read); -1 if not SPD. Right-looking on the upper factor U (A = U'U): the
 * trailing update is an axpy along rows, which the compiler vectorises (the
 * dot-product form does not vectorise without reassociating sums). L = U' is
 * then written into the lower triangle, which is what the callers read. */
static int cholesky(double *a, size_t n) {
  for (size_t j = 0; j < n; j++) {
    double *uj = a + j * n;
    if (!(uj[j] > 0))
      return -1;
    double d = sqrt(uj[j]);
    uj[j] = d;
    for (size_t k = j + 1; k < n; k++)
      uj[k] /= d;
    for (size_t i = j + 1; i < n; i++) {
      double f = uj[i];
      double *ai = a + i * n;
      for (size_t k = i; k < n; k++)
        ai[k] -= f * uj[k];
    }
  }
  for (size_t i = 0; i < n; i++)
    for (size_t k = 0; k < i; k++)
      a[i * n + k] = a[k * n + i];
  return 0;
}

/* inv = A^-1 = M' M from A's Cholesky factor L, with M = L^-1 (lower
 * triangular: column c solves L y = e_c, zero above c): n^3/6 multiply-adds
 * for M and n^3/6 for M' M, both reading rows contiguously. m: n x n scratch. */
static void cholesky_inverse(double *inv, const double *l, size_t n, double *col, double *m) {
  for (size_t c = 0; c < n; c++) {
    for (size_t i = c; i < n; i++) {
      double t = i == c ? 1.0 : 0.0;
      for (size_t k = c; k < i; k++)
        t -= l[i * n + k] * col[k];
      col[i] = t / l[i * n + i];
    }
    for (size_t i = 0; i < n; i++)
      m[i * n + c] = i < c ? 0.0 : col[i];
  }
  memset(inv, 0, n * n * sizeof *inv);
  for (size_t k = 0; k < n; k++) {
    const double *row = m + k * n;
    for (size_t i = 0; i <= k; i++) {
      double v = row[i];
      double *out = inv + i * n;
      for (size_t j = 0; j <= i; j++)
        out[j] += v * row[j];
    }
  }
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < i; j++)
      inv[j * n + i] = inv[i * n + j];
}

/* The observed information at theta (minus the Hessian of the log-likelihood,
 * prior included): I_ij = -N_ij p_ij p_ji, I_ii = sum_j N_ij p_ij p_ji +
 * prior q_i (1 - q_i) with q_i = P(i beats the virtual opponent). Without the
 * prior, J/n is added: the information is singular along (1..1), and
 * (I + J/n)^-1 - J/n is its pseudo-inverse. */
static void information(double *a, const double *theta, const bt_data *d) {
  size_t n = d->n;
  for (size_t i = 0; i < n; i++) {
    double diag = 0;
    for (size_t j = 0; j < n; j++) {
      double v = 0;
      if (j != i && d->pairs[i * n + j] > 0) {
        double p = 1.0 / (1.0 + exp(theta[j] - theta[i]));
        v = d->pairs[i * n + j] * p * (1.0 - p);
      }
      a[i * n + j] = -v;
      diag += v;
    }
    if (d->prior > 0) {
      double q = 1.0 / (1.0 + exp(-theta[i]));
      diag += d->prior * q * (1.0 - q);
    }
    a[i * n + i] = diag;
  }
  if (d->prior <= 0)
    for (size_t k = 0; k < n * n; k++)
      a[k] += 1.0 / (double)n;
}

/* cov = the covariance of theta in the sum-zero gauge (rating.h). */
static int covariance(double *cov, const double *theta, const bt_data *d) {
  size_t n = d->n;
  double *a = malloc(n * n * sizeof *a), *col = malloc(n * sizeof *col);
  double *u = malloc(n * n * sizeof *u);
  int rc = -1;
  if (!a || !col || !u)
    goto out;
  information(a, theta, d);
  if (cholesky(a, n) < 0)
    goto out;
  cholesky_inverse(cov, a, n, col, u);
  if (d->prior <= 0) {
    for (size_t k = 0; k < n * n; k++)
      cov[k] -= 1.0 / (double)n;
  } else { /* P B P with P = I - J/n: double centring */
    double all = 0;
    for (size_t i = 0; i < n; i++) {
      col[i] = 0;
      for (size_t j = 0; j < n; j++)
        col[i] += cov[i * n + j] / (double)n;
      all += col[i] / (double)n;
    }
    for (size_t i = 0; i < n; i++)
      for (size_t j = 0; j < n; j++)
        cov[i * n + j] += all - col[i] - col[j];
  }
  rc = 0;
out:
  free(a);
  free(u);
  free(col);
  return rc;
}

static double logaddexp(double a, double b) { return fmax(a, b) + log1p(exp(-fabs(a - b))); }

/* The log-likelihood, prior included: sum_i W_i theta_i - sum_{i<j} N_ij
 * log(e^theta_i + e^theta_j) - prior sum_i log(1 + e^theta_i). */
static double loglik(const double *theta, const bt_data *d) {
  size_t n = d->n;
  double l = 0;
  for (size_t i = 0; i < n; i++) {
    l += d->won[i] * theta[i];
    if (d->prior > 0)
      l -= d->prior * logaddexp(0.0, theta[i]);
    for (size_t j = i + 1; j < n; j++)
      if (d->pairs[i * n + j] > 0)
        l -= d->pairs[i * n + j] * logaddexp(theta[i], theta[j]);
  }
  return l;
}

/* Newton's step (I + [no prior] J/n)^-1 * score, into step; -1 when the
 * information is not positive definite. a: n x n scratch. */
static int newton_step(double *step, const double *theta, const bt_data *d, double *a) {
  size_t n = d->n;
  information(a, theta, d);
  if (cholesky(a, n) < 0)
    return -1;
  for (size_t i = 0; i < n; i++) {
    double g = d->won[i];
    for (size_t j = 0; j < n; j++)
      if (j != i && d->pairs[i * n + j] > 0)
        g -= d->pairs[i * n + j] / (1.0 + exp(theta[j] - theta[i]));
    if (d->prior > 0)
      g -= d->prior / (1.0 + exp(-theta[i]));
    step[i] = g;
  }
  for (size_t i = 0; i < n; i++) { /* L y = g, then L' x = y */
    for (size_t k = 0; k < i; k++)
      step[i] -= a[i * n + k] * step[k];
    step[i] /= a[i * n + i];
  }
  for (size_t i = n; i-- > 0;) {
    for (size_t k = i + 1; k < n; k++)
      step[i] -= a[k * n + i] * step[k];
    step[i] /= a[i * n + i];
  }
  return 0;
}

typedef struct fit_work {
  double *g, *next, *step, *a;
} fit_work;

/* One MM step on theta (through g = e^theta); returns the largest change. */
static double mm_theta(double *theta, const bt_data *d, fit_work *w) {
  for (size_t i = 0; i < d->n; i++)
    w->g[i] = exp(theta[i]);
  double change = mm_step(w->next, w->g, d);
  for (size_t i = 0; i < d->n; i++)
    theta[i] = log(w->next[i]);
  return change;
}

/* Tries a Newton step; keeps it only when it does not lower the likelihood
 * (so every iteration is an ascent, as MM's are). Returns the largest
 * change, or -1 when refused. */
static double newton_theta(double *theta, double *l, const bt_data *d, fit_work *w) {
  if (newton_step(w->step, theta, d, w->a) < 0)
    return -1;
  double change = 0;
  for (size_t i = 0; i < d->n; i++) {
    w->next[i] = theta[i] + w->step[i];
    if (fabs(w->step[i]) > change)
      change = fabs(w->step[i]);
  }
  double lc = loglik(w->next, d);
  if (!isfinite(lc) || !isfinite(change) || lc < *l - 1e-12 * fabs(*l))
    return -1;
  memcpy(theta, w->next, d->n * sizeof *theta);
  *l = lc;
  return change;
}

/* Hunter's MM iterations, with a Newton step tried first (from the first
 * iteration; after a refused one, again 10 MM steps later): MM alone
 * converges linearly, slowly when strengths are far apart; Newton's
 * steps finish in a few iterations. Until the largest change < tol. */
static int fit_theta(double *theta, int *iterations, const bt_data *d, const jd_bt_options *o) {
  size_t n = d->n;
  fit_work w = {malloc(n * sizeof(double)), malloc(n * sizeof(double)), malloc(n * sizeof(double)),
                malloc(n * n * sizeof(double))};
  int rc = -1, newton_after = 0;
  if (!w.g || !w.next || !w.step || !w.a)
    goto out;
  memset(theta, 0, n * sizeof *theta);
  double l = loglik(theta, d);
  for (int it = 1; it <= o->max_iter; it++) {
    double change = !o->mm_only && it > newton_after ? newton_theta(theta, &l, d, &w) : -1;
    if (change < 0) {
      newton_after = it > newton_after ? it + 10 : newton_after;
      change = mm_theta(theta, d, &w);
      l = loglik(theta, d);
    }
    if (!isfinite(change))
      break;
    if (change < o->tol) {
      *iterations = it;
      rc = 0;
      break;
    }
  }
  double mean = 0;
  for (size_t i = 0; i < n; i++)
    mean += theta[i] / (double)n;
  for (size_t i = 0; i < n; i++)
    theta[i] -= mean;
out:
  free(w.g);
  free(w.next);
  free(w.step);
  free(w.a);
  return rc;
}

static int prepare(bt_data *d, const double *wins, size_t n, double prior) {
  d->n = n;
  d->wins = wins;
  d->prior = prior;
  d->pairs = malloc(n * n * sizeof *d->pairs);
  d->won = malloc(n * sizeof *d->won);
  if (!d->pairs || !d->won)
    return -1;
  for (size_t i = 0; i < n; i++) {
    d->won[i] = prior / 2.0;
    for (size_t j = 0; j < n; j++) {
      d->pairs[i * n + j] = i == j ? 0.0 : wins[i * n + j] + wins[j * n + i];
      if (j != i)
        d->won[i] += wins[i * n + j];
    }
  }
  return 0;
}

int jd_bt_fit_matrix(jd_bt_fit *out, const double *wins, size_t n, const jd_bt_options *opt,
                     bool want_cov) {
  bt_data d = {0};
  int rc = -1;
  memset(out, 0, sizeof *out);
  if (check_input(wins, n, opt) < 0)
    return -1;
  if (opt->prior_draws <= 0 && n > 1 && !strongly_connected(wins, n))
    return -1;
  out->theta = calloc(n, sizeof *out->theta);
  if (want_cov)
    out->cov = calloc(n * n, sizeof *out->cov);
  if (!out->theta || (want_cov && !out->cov) || prepare(&d, wins, n, opt->prior_draws) < 0)
    goto out;
  if (n == 1) {
    rc = 0;
    goto out;
  }
  if (fit_theta(out->theta, &out->iterations, &d, opt) < 0)
    goto out;
  if (want_cov && covariance(out->cov, out->theta, &d) < 0)
    goto out;
  rc = 0;
out:
  free(d.pairs);
  free(d.won);
  if (rc < 0)
    jd_bt_fit_free(out);
  return rc;
}

void jd_bt_fit_free(jd_bt_fit *fit) {
  if (!fit)
    return;
  free(fit->theta);
  free(fit->cov);
  memset(fit, 0, sizeof *fit);
}

double jd_bt_se_diff(const double *cov, size_t n, size_t i, size_t j) {
  double v = i == j ? cov[i * n + i] : cov[i * n + i] + cov[j * n + j] - 2.0 * cov[i * n + j];
  return v > 0 ? sqrt(v) : 0.0;
}
