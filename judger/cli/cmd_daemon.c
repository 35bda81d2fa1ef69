/* judger daemon — take tasks from Redis and run them (docs/daemon.md). */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/options.h"
#include "common/context.h"
#include "common/engine.h"
#include "common/log.h"
#include "common/utf8.h"
#include "daemon/config.h"
#include "daemon/daemon.h"
#include "daemon/executor.h"
#include "match/net_pool.h"
#include "match/net_stock.h"

static void usage(FILE *f) {
  fprintf(f, "usage: judger daemon [--config FILE] [--redis URL] [--slots N] [--host-id ID]\n"
             "                     [--state-dir DIR] [--SETTING VALUE]...\n\n"
             "Takes tasks from the Redis streams by priority (build > match > auto) and\n"
             "runs up to N at once. Every setting of docs/daemon.md is also a flag\n"
             "(--lease-ms, --grace-ms, --stall-ms, --max-attempts, --labels, --log-json...);\n"
             "--metrics-listen ADDR:PORT serves GET /metrics for Prometheus (docs/metrics.md).\n"
             "Precedence: flags > environment (JUDGER_<SETTING>) > config file\n"
             "(--config, $JUDGER_CONFIG or /etc/judger/judger.conf) > defaults;\n"
             "every setting: docs/settings.md, `judger help settings`.\n"
             "SIGTERM/SIGINT: stop taking tasks, let running ones finish within the grace\n"
             "period, then give them back (a second signal: at once). SIGHUP: reload.\n");
}

typedef struct sigctx {
  jd_daemon *d;
  jd_settings_source src;
  sigset_t set;
} sigctx;

/* Signals are taken by this thread with sigwait, so the handlers can do
 * real work (locks, Redis, reloading files) safely. */
static void *signal_thread(void *arg) {
  sigctx *s = arg;
  int stops = 0;
  for (;;) {
    int sig = 0;
    if (sigwait(&s->set, &sig))
      continue;
    if (sig == SIGUSR1) /* the daemon has finished */
      return NULL;
    if (sig == SIGHUP) {
      jd_config cfg;
      char err[512];
      if (jd_settings_load(&cfg, &s->src, err, sizeof err)) {
        jd_log(JD_LOG_ERROR, "daemon.reload_failed", "%s (old settings kept)", err);
        continue;
      }
      jd_daemon_reload(s->d, &cfg);
      jd_config_clear(&cfg);
      continue;
    }
    stops++;
    jd_log(JD_LOG_INFO, "daemon.signal", "%s: %s", sig == SIGTERM ? "SIGTERM" : "SIGINT",
           stops == 1 ? "draining" : "stopping now");
    jd_daemon_stop(s->d, stops == 1);
  }
}

/* Reads the command line into cli. 0 to go on; -1 to exit at once with
 * *code (help, usage error). */
static int parse_args(jd_cli *cli, int *code) {
  *code = JD_EXIT_USAGE;
  for (int i = 1; i < cli->argc; i++) {
    const char *a = cli->argv[i];
    bool taken = false;
    if (jd_cli_take_option(&taken, code, cli, &i))
      return -1;
    if (taken)
      continue;
    if (strncmp(a, "--", 2))
      jd_cli_bad_argument("daemon", a, usage);
    else
      jd_cli_bad_option("daemon", a, usage);
    return -1;
  }
  return 0;
}

/* The host's stock of ready networks for keep networks (NULL when keep is
 * 0 or it cannot be made: every match makes its own), after what earlier
 * runs left in it is reconciled to keep (0: every free one removed). */
static jd_net_stock *net_stock_start(const jd_ctx *ctx, size_t keep) {
  size_t removed = 0;
  char why[256];
  if (jd_net_stock_reconcile(&removed, ctx, keep, why, sizeof why))
    jd_log(JD_LOG_WARN, "daemon.net_stock", "reconciling the stock of networks: %s", why);
  else if (removed)
    jd_log(JD_LOG_INFO, "daemon.net_stock", "%zu stock network(s) removed", removed);
  jd_net_stock *s = NULL;
  if (keep && jd_net_stock_new(&s, ctx, keep, why, sizeof why))
    jd_log(JD_LOG_WARN, "daemon.net_stock", "no stock of networks: %s", why);
  return s;
}

/* The engine's guarantees before anything starts (docs/security.md
 * "Engines"): -1 after one line on stderr when it lacks one that
 * engine_accept does not accept (the daemon would claim tasks only to
 * refuse them). An engine that does not answer now is checked again by
 * jd_daemon_run, which waits for it before claiming anything. */
static int engine_refused(jd_ctx *ctx) {
  char why[1024];
  const jd_engine *e = jd_ctx_engine(ctx, why, sizeof why);
  if (!e || !jd_engine_require_mask(e, JD_GUARANTEE_ALL, ctx->engine_accept, why, sizeof why))
    return 0;
  /* why holds the engine's own version string, or its error message */
  jd_term_printf(stderr, "judger daemon: %s\n", why);
  return -1;
}

/* Runs the daemon on the engine of the environment until a signal stops
 * it; returns the exit code. */
static int serve(jd_config *cfg, sigctx *sc) {
  int code = JD_EXIT_SYSTEM;
  dk_client *dk = NULL;
  jd_daemon *d = NULL;
  pthread_t sigth;
  bool sig_started = false;
  jd_net_stock *stock = NULL;
  jd_net_pool pool;
  char why[128];
  if (jd_net_pool_parse(&pool, cfg->net_pool, why, sizeof why)) {
    fprintf(stderr, "judger daemon: net_pool: %s\n", why);
    code = JD_EXIT_USAGE;
    goto cleanup;
  }
  if (dk_client_new(&dk, NULL)) {
    fprintf(stderr, "judger daemon: cannot make a Docker client (DOCKER_HOST?)\n");
    goto cleanup;
  }
  jd_ctx ctx = {.dk = dk,
                .state_dir = cfg->state_dir,
                .host_id = cfg->host_id,
                .net_pool = cfg->net_pool,
                .build_jobs = cfg->build_jobs,
                .warm_off = !cfg->warm,
                .base_images = cfg->base_images,
                .build_allow = cfg->build_allow,
                .debian_mirror = cfg->debian_mirror};
  /* Checked when the settings were read (daemon/config.c). */
  (void)jd_engine_accept_parse(&ctx.engine_accept, cfg->engine_accept, NULL, 0);
  if (engine_refused(&ctx))
    goto cleanup; /* JD_EXIT_SYSTEM: nothing claimed, nothing made */
  jd_config_policy(&ctx.policy, cfg);
  jd_config_cores(&ctx, cfg);
  stock = net_stock_start(&ctx, (size_t)cfg->net_stock);
  ctx.net_stock = stock;
  jd_settings_git_hook(NULL);
  jd_executor ex;
  jd_executor_real(&ex, &ctx);
  if (jd_daemon_new(&d, cfg, &ctx, &ex)) {
    fprintf(stderr, "judger daemon: out of memory or bad Redis URL (" JD_REDIS_URL_FORMS ")\n");
    code = JD_EXIT_USAGE;
    goto cleanup;
  }
  /* Blocked here, before any thread exists, so every thread inherits the
   * mask and only the signal thread receives them. */
  sigemptyset(&sc->set);
  sigaddset(&sc->set, SIGTERM);
  sigaddset(&sc->set, SIGINT);
  sigaddset(&sc->set, SIGHUP);
  sigaddset(&sc->set, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &sc->set, NULL);
  signal(SIGPIPE, SIG_IGN);
  sc->d = d;
  sig_started = pthread_create(&sigth, NULL, signal_thread, sc) == 0;
  if (jd_daemon_run(d)) {
    jd_log(JD_LOG_ERROR, "daemon.failed", "%s", jd_daemon_error(d));
    goto cleanup;
  }
  code = JD_EXIT_OK;
cleanup:
  if (sig_started) {
    pthread_kill(sigth, SIGUSR1);
    pthread_join(sigth, NULL);
  }
  jd_daemon_free(d);
  jd_net_stock_free(stock);
  dk_client_free(dk);
  return code;
}

int jd_cmd_daemon(int argc, char **argv) {
  jd_cli cli = JD_CLI_INIT("daemon", JD_CMD_DAEMON, usage);
  if (jd_cli_begin(&cli, argc, argv))
    return JD_EXIT_SYSTEM;
  int code = JD_EXIT_OK;
  char err[512];
  jd_config cfg;
  if (parse_args(&cli, &code))
    goto cleanup;
  /* The signal thread reloads from the same sources on SIGHUP. */
  sigctx sc = {.src = {.file = cli.file, .flags = cli.flags}};
  if (jd_cli_load(&cfg, &cli, err, sizeof err)) {
    fprintf(stderr, "judger daemon: %s\n", err);
    code = JD_EXIT_USAGE;
    goto cleanup;
  }
  jd_log_set_json(cfg.log_json);
  code = serve(&cfg, &sc);
  jd_config_clear(&cfg);
cleanup:
  jd_cli_free(&cli);
  return code;
}
