/* A local league's games on this host's engine (league.h).
 *
 * The calling thread blocks SIGINT/SIGTERM/SIGHUP (the threads it starts
 * inherit the mask), starts a thread that waits for them, prepares the
 * programs once, then starts `parallel` workers: each takes the next game,
 * runs it as `judger run --wait-teardown` would (a run file holding the
 * match's label, jd_match_run with the league's cancel token) and records
 * what it came to. Meanwhile the calling thread prints the progress: one
 * line a game, and on a terminal a bar redrawn every second. A signal
 * fires the cancel token (every running match stops and removes what it
 * made) and no game starts after it. */
#include "taskset/league.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/labels.h"
#include "common/log.h"
#include "common/run_owner.h"
#include "common/utf8.h"
#include "match/match.h"
#include "match/net_stock.h"

typedef struct league {
  jd_ctx *ctx;
  jd_league_game *games;
  size_t n;
  const jd_league_opts *o;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  size_t next;      /* the next game to start */
  size_t done;      /* games ended (their indices in order[]) */
  size_t printed;   /* of order[], the ones whose line is out */
  size_t workers;   /* workers still running */
  int64_t *started; /* [n]: jd_mono_ms() of a running game's start, else 0 */
  size_t *order;    /* [n]: the games in the order they ended */
  int64_t sum_ms;   /* the wall time of the ended games */
  int64_t t0;       /* the league's start */
  bool stop;        /* a signal came: no game starts */
  bool bar_shown;   /* the bar is on the terminal's last line */
  dk_cancel *cancel;
  sigset_t sigs;
  int sig; /* the signal that stopped the league, or 0 */
} league;

void jd_league_duration(char *out, size_t len, int64_t ms) {
  int64_t s = ms < 0 ? 0 : (ms + 500) / 1000;
  if (s < 60)
    snprintf(out, len, "%llds", (long long)s);
  else if (s < 3600)
    snprintf(out, len, "%lldm%02llds", (long long)(s / 60), (long long)(s % 60));
  else
    snprintf(out, len, "%lldh%02lldm", (long long)(s / 3600), (long long)(s / 60 % 60));
}

void jd_league_progress_line(char *out, size_t len, size_t done, size_t total, int64_t elapsed_ms,
                             int64_t eta_ms) {
  char bar[11], el[24], eta[24] = "unknown";
  size_t fill = total ? done * 10 / total : 10;
  for (size_t i = 0; i < 10; i++)
    bar[i] = i < fill ? '#' : '.';
  bar[10] = 0;
  jd_league_duration(el, sizeof el, elapsed_ms);
  if (eta_ms >= 0)
    jd_league_duration(eta, sizeof eta, eta_ms);
  snprintf(out, len, "[%s] %zu/%zu games  %s  ETA %s", bar, done, total, el, eta);
}

int64_t jd_league_eta(int64_t mean_ms, size_t queued, const int64_t *running_elapsed,
                      size_t nrunning, size_t parallel) {
  if (mean_ms < 0)
    return -1;
  int64_t work = (int64_t)queued * mean_ms;
  int64_t longest = 0;
  for (size_t i = 0; i < nrunning; i++) {
    int64_t left = mean_ms - running_elapsed[i];
    left = left > 0 ? left : 0;
    work += left;
    longest = left > longest ? left : longest;
  }
  size_t slots = parallel ? parallel : 1;
  size_t busy = queued + nrunning < slots ? queued + nrunning : slots;
  int64_t eta = busy ? work / (int64_t)busy : 0;
  return eta > longest ? eta : longest;
}

/* ---- one game ------------------------------------------------------- */

static void record(jd_league_game *g, const jd_match_result *r) {
  g->ran = true;
  g->status = r->status;
  g->has_scores = r->has_scores && r->nplayers == g->spec->nplayers;
  for (size_t i = 0; i < r->nplayers && i < JD_MATCH_MAX_AIS; i++) {
    g->scores[i] = r->players[i].score;
    snprintf(g->verdicts[i], sizeof g->verdicts[i], "%s", jd_verdict_name(r->players[i].verdict));
  }
  snprintf(g->reason, sizeof g->reason, "%s", r->reason ? r->reason : "");
}

/* Runs game g as `judger run` does: its run file held from before anything
 * is made until all of it is removed. */
static void play(league *l, jd_league_game *g) {
  char owns[JD_RUN_LABEL_MAX];
  snprintf(owns, sizeof owns, "%s=%s", JD_LABEL_MATCH, g->spec->id);
  const char *owned[] = {owns, NULL};
  jd_run_owner run = JD_RUN_OWNER_NONE;
  if (jd_run_owner_take(&run, l->ctx->state_dir, owned)) {
    snprintf(g->reason, sizeof g->reason, "cannot hold a run file in the state directory: %s",
             strerror(errno));
    return;
  }
  jd_match_hooks hooks = {.cancel = l->cancel};
  jd_match_result *r = NULL;
  char why[256] = "";
  if (jd_match_run(&r, l->ctx, g->spec, g->out_dir, &hooks, why, sizeof why))
    snprintf(g->reason, sizeof g->reason, "%s", why);
  else
    record(g, r);
  jd_match_result_free(r);
  jd_run_owner_release(&run);
}

static void *worker_main(void *arg) {
  league *l = arg;
  pthread_mutex_lock(&l->mu);
  while (!l->stop && l->next < l->n) {
    size_t i = l->next++;
    int64_t t = jd_mono_ms();
    l->started[i] = t ? t : 1;
    pthread_mutex_unlock(&l->mu);
    play(l, &l->games[i]);
    pthread_mutex_lock(&l->mu);
    l->games[i].ms = jd_mono_ms() - l->started[i];
    l->started[i] = 0;
    l->sum_ms += l->games[i].ms;
    l->order[l->done++] = i;
    pthread_cond_broadcast(&l->cv);
  }
  l->workers--;
  pthread_cond_broadcast(&l->cv);
  pthread_mutex_unlock(&l->mu);
  return NULL;
}

/* ---- signals -------------------------------------------------------- */

static void *sig_main(void *arg) {
  league *l = arg;
  int sig = 0;
  if (sigwait(&l->sigs, &sig) == 0) {
    /* Finishes on its own from here (see cmd_run.c's watcher). */
    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
    jd_log(JD_LOG_WARN, "league.signal", "%s: cancelling the running games and cleaning up",
           strsignal(sig));
    pthread_mutex_lock(&l->mu);
    l->sig = sig;
    l->stop = true;
    pthread_cond_broadcast(&l->cv);
    pthread_mutex_unlock(&l->mu);
    dk_cancel_fire(l->cancel);
  }
  return NULL;
}

/* ---- progress ------------------------------------------------------- */

/* The progress line now, done games shown as done (l->mu held). */
static void progress_now(league *l, size_t done, char *out, size_t len) {
  int64_t now = jd_mono_ms(), running[64];
  size_t nrun = 0;
  for (size_t i = 0; i < l->next && i < l->n; i++)
    if (l->started[i] && nrun < sizeof running / sizeof running[0])
      running[nrun++] = now - l->started[i];
  int64_t mean = l->done ? l->sum_ms / (int64_t)l->done : -1;
  size_t queued = l->stop ? 0 : l->n - l->next;
  int64_t eta = jd_league_eta(mean, queued, running, nrun, l->o->parallel);
  jd_league_progress_line(out, len, done, l->n, now - l->t0, eta);
}

/* "r1-g03 c-bot py-bot: finished 3 1" (the ids are the programs' own). */
static void game_line(char *out, size_t len, const jd_league_game *g) {
  size_t at = (size_t)snprintf(out, len, "%s", g->name);
  for (size_t i = 0; i < g->spec->nplayers && at < len; i++)
    at += (size_t)snprintf(out + at, len - at, "%s%s", i ? " vs " : " ", g->spec->players[i].id);
  if (at < len && !g->ran)
    at += (size_t)snprintf(out + at, len - at, ": not run: %s", g->reason);
  else if (at < len)
    at += (size_t)snprintf(out + at, len - at, ": %s", jd_match_status_name(g->status));
  for (size_t i = 0; g->ran && g->has_scores && i < g->spec->nplayers && at < len; i++)
    at += (size_t)snprintf(out + at, len - at, "%s%g", i ? "-" : " ", g->scores[i]);
  for (size_t i = 0; g->ran && i < g->spec->nplayers && at < len; i++)
    if (strcmp(g->verdicts[i], "OK"))
      at +=
          (size_t)snprintf(out + at, len - at, " (%s %s)", g->spec->players[i].id, g->verdicts[i]);
  if (g->ran && g->status != JD_MATCH_STATUS_FINISHED && g->reason[0] && at < len)
    snprintf(out + at, len - at, ": %s", g->reason);
}

/* The lines of the games ended since the last call, then (on a terminal)
 * the bar redrawn (l->mu held). */
static void progress_print(league *l) {
  FILE *f = l->o->progress;
  if (!f)
    return;
  char bar[160], line[1024];
  for (; l->printed < l->done; l->printed++) {
    game_line(line, sizeof line, &l->games[l->order[l->printed]]);
    progress_now(l, l->printed + 1, bar, sizeof bar);
    /* The bar's line cleared with our own sequence; the game's line (the
     * programs' ids, a reason) through jd_term_printf, which lets no
     * control character through. */
    if (l->o->tty && l->bar_shown)
      fputs("\r\033[K", f);
    l->bar_shown = false;
    if (l->o->tty)
      jd_term_printf(f, "%s\n", line);
    else
      jd_term_printf(f, "%s  %s\n", bar, line);
  }
  if (l->o->tty) {
    progress_now(l, l->done, bar, sizeof bar);
    fprintf(f, "%s%s", l->bar_shown ? "\r\033[K" : "", bar);
    l->bar_shown = true;
  }
  fflush(f);
}

/* Waits for the workers, printing (l->mu held). */
static void follow(league *l) {
  while (l->workers) {
    progress_print(l);
    if (!l->o->tty) {
      pthread_cond_wait(&l->cv, &l->mu);
      continue;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 1;
    pthread_cond_timedwait(&l->cv, &l->mu, &ts);
  }
  progress_print(l);
  if (l->o->progress && l->bar_shown)
    fputc('\n', l->o->progress);
}

/* ---- the league ------------------------------------------------------ */

/* Every program of the games prepared once: a game's spec is prepared
 * when it holds a program not seen yet. A build failing by the program's
 * fault is the games' to report (CANCEL); a system fault (the engine
 * unreachable, a full disk) stops the league before its games: -1 with
 * why in err. */
static int prepare(league *l, char *err, size_t errlen) {
  FILE *f = l->o->progress;
  int64_t t0 = jd_mono_ms();
  size_t built = 0, seen_n = 0, cap = 1 + l->n * JD_MATCH_MAX_AIS;
  const char **seen = calloc(cap, sizeof *seen);
  if (f)
    fprintf(f, "judger league: preparing the programs (builds run once, before the games)\n");
  int rc = seen ? 0 : -1;
  snprintf(err, errlen, "out of memory");
  for (size_t i = 0; seen && !rc && i < l->n && !dk_cancel_fired(l->cancel); i++) {
    const jd_match_spec *s = l->games[i].spec;
    bool fresh = i == 0;
    for (size_t p = 0; p < s->nplayers; p++) {
      size_t k = 0;
      while (k < seen_n && strcmp(seen[k], s->players[p].id))
        k++;
      if (k == seen_n && seen_n < cap) {
        seen[seen_n++] = s->players[p].id;
        fresh = true;
      }
    }
    jd_run_owner run = JD_RUN_OWNER_NONE;
    if (!fresh || jd_run_owner_take(&run, l->ctx->state_dir, NULL))
      continue;
    const dk_kv label[] = {{JD_LABEL_OWNER, run.id}};
    size_t b = 0;
    char why[512] = "";
    if (jd_match_build_programs(&b, l->ctx, s, label, 1, l->cancel, why, sizeof why) &&
        !dk_cancel_fired(l->cancel)) {
      snprintf(err, errlen, "preparing the programs of %s: %s", s->id, why);
      rc = -1;
    }
    built += b;
    jd_run_owner_release(&run);
  }
  free(seen);
  char took[24];
  jd_league_duration(took, sizeof took, jd_mono_ms() - t0);
  if (f && !rc && !dk_cancel_fired(l->cancel))
    fprintf(f, "judger league: programs ready in %s (%zu built); %zu games\n", took, built, l->n);
  return rc;
}

/* Starts the workers and follows them; the number started in *nthreads. */
static void run_games(league *l, pthread_t *threads, size_t *nthreads) {
  size_t k = l->o->parallel < l->n ? l->o->parallel : l->n;
  pthread_mutex_lock(&l->mu);
  l->t0 = jd_mono_ms();
  for (*nthreads = 0; *nthreads < k && !l->stop; ++*nthreads) {
    if (pthread_create(&threads[*nthreads], NULL, worker_main, l))
      break;
    l->workers++;
  }
  follow(l);
  pthread_mutex_unlock(&l->mu);
}

static int league_begin(league *l, jd_net_stock **stock, char *err, size_t errlen) {
  if (dk_client_new(&l->ctx->dk, NULL) || dk_cancel_new(&l->cancel)) {
    snprintf(err, errlen, "cannot set up the engine client");
    return -1;
  }
  char why[256];
  if (l->o->net_stock && jd_net_stock_new(stock, l->ctx, l->o->net_stock, why, sizeof why))
    jd_log(JD_LOG_WARN, "league.net_stock", "no stock of networks: %s", why);
  l->ctx->net_stock = *stock;
  l->started = calloc(l->n ? l->n : 1, sizeof *l->started);
  l->order = calloc(l->n ? l->n : 1, sizeof *l->order);
  if (!l->started || !l->order) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  return 0;
}

int jd_league_run(bool *interrupted, jd_ctx *ctx, jd_league_game *games, size_t ngames,
                  const jd_league_opts *o, char *err, size_t errlen) {
  *interrupted = false;
  league l = {.ctx = ctx, .games = games, .n = ngames, .o = o};
  pthread_mutex_init(&l.mu, NULL);
  pthread_cond_init(&l.cv, NULL);
  jd_net_stock *stock = NULL;
  pthread_t sig_thread, *threads = calloc(o->parallel ? o->parallel : 1, sizeof *threads);
  bool sig_started = false;
  int rc = -1;
  if (!threads || league_begin(&l, &stock, err, errlen))
    goto cleanup;
  sigemptyset(&l.sigs);
  sigaddset(&l.sigs, SIGINT);
  sigaddset(&l.sigs, SIGTERM);
  sigaddset(&l.sigs, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &l.sigs, NULL);
  sig_started = pthread_create(&sig_thread, NULL, sig_main, &l) == 0;
  if (!sig_started) {
    snprintf(err, errlen, "cannot start the signal thread");
    goto cleanup;
  }
  if (prepare(&l, err, errlen))
    goto cleanup;
  size_t nthreads = 0;
  run_games(&l, threads, &nthreads);
  for (size_t i = 0; i < nthreads; i++)
    pthread_join(threads[i], NULL);
  rc = 0;
cleanup:
  if (sig_started) {
    pthread_cancel(sig_thread);
    pthread_join(sig_thread, NULL);
  }
  *interrupted = l.sig != 0;
  jd_net_stock_free(stock);
  ctx->net_stock = NULL;
  dk_cancel_free(l.cancel);
  dk_client_free(ctx->dk);
  ctx->dk = NULL;
  free(l.started);
  free(l.order);
  free(threads);
  pthread_cond_destroy(&l.cv);
  pthread_mutex_destroy(&l.mu);
  return rc;
}
