/* judger daemon — take tasks from Redis and run them (docs/daemon.md). */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "daemon/config.h"
#include "daemon/daemon.h"
#include "daemon/executor.h"
#include "common/log.h"

static void usage(FILE *f) {
  fprintf(f, "usage: judger daemon [--config FILE] [--redis URL] [--slots N] [--host-id ID]\n"
             "                     [--state-dir DIR] [--SETTING VALUE]...\n\n"
             "Takes tasks from the Redis streams by priority (build > match > auto) and\n"
             "runs up to N at once. Every setting of docs/daemon.md is also a flag\n"
             "(--lease-ms, --grace-ms, --stall-ms, --max-attempts, --labels, --log-json...).\n"
             "Precedence: flags > environment (JUDGER_<SETTING>) > config file\n"
             "(--config, $JUDGER_CONFIG or /etc/judger/judger.conf) > defaults.\n"
             "SIGTERM/SIGINT: stop taking tasks, let running ones finish within the grace\n"
             "period, then give them back (a second signal: at once). SIGHUP: reload.\n");
}

typedef struct sigctx {
  jd_daemon *d;
  jd_config_source src;
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
      if (jd_config_load(&cfg, &s->src, err, sizeof err)) {
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

int jd_cmd_daemon(int argc, char **argv) {
  const char **flags = calloc((size_t)argc * 2 + 2, sizeof *flags);
  if (!flags)
    return JD_EXIT_SYSTEM;
  const char *config = NULL;
  int nflags = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      usage(stdout);
      free(flags);
      return JD_EXIT_OK;
    }
    if (strncmp(a, "--", 2)) {
      fprintf(stderr, "judger daemon: unexpected argument '%s'\n", a);
      usage(stderr);
      free(flags);
      return JD_EXIT_USAGE;
    }
    /* --key value or --key=value */
    static char keybuf[64][64];
    const char *eq = strchr(a, '=');
    const char *key = a + 2, *value = NULL;
    if (eq) {
      if (nflags / 2 >= 64 || (size_t)(eq - key) >= sizeof keybuf[0]) {
        usage(stderr);
        free(flags);
        return JD_EXIT_USAGE;
      }
      snprintf(keybuf[nflags / 2], sizeof keybuf[0], "%.*s", (int)(eq - key), key);
      key = keybuf[nflags / 2];
      value = eq + 1;
    } else if (i + 1 < argc) {
      value = argv[++i];
    }
    if (!value) {
      fprintf(stderr, "judger daemon: %s needs a value\n", a);
      free(flags);
      return JD_EXIT_USAGE;
    }
    if (!strcmp(key, "config")) {
      config = value;
      continue;
    }
    if (!jd_config_key_known(key)) {
      fprintf(stderr, "judger daemon: unknown option '--%s'\n", key);
      usage(stderr);
      free(flags);
      return JD_EXIT_USAGE;
    }
    flags[nflags++] = key;
    flags[nflags++] = value;
  }

  int code = JD_EXIT_SYSTEM;
  char err[512];
  jd_config cfg;
  sigctx sc = {.src = {.file = config, .flags = flags}};
  if (jd_config_load(&cfg, &sc.src, err, sizeof err)) {
    fprintf(stderr, "judger daemon: %s\n", err);
    free(flags);
    return JD_EXIT_USAGE;
  }
  jd_log_set_json(cfg.log_json);
  dk_client *dk = NULL;
  jd_daemon *d = NULL;
  pthread_t sigth;
  bool sig_started = false;
  if (dk_client_new(&dk, NULL)) {
    fprintf(stderr, "judger daemon: cannot make a Docker client (DOCKER_HOST?)\n");
    goto cleanup;
  }
  jd_ctx ctx = {.dk = dk, .state_dir = cfg.state_dir, .host_id = cfg.host_id};
  jd_executor ex;
  jd_executor_real(&ex, &ctx);
  if (jd_daemon_new(&d, &cfg, &ctx, &ex)) {
    fprintf(stderr, "judger daemon: out of memory or bad Redis URL '%s'\n", cfg.redis);
    code = JD_EXIT_USAGE;
    goto cleanup;
  }
  /* Blocked here, before any thread exists, so every thread inherits the
   * mask and only the signal thread receives them. */
  sigemptyset(&sc.set);
  sigaddset(&sc.set, SIGTERM);
  sigaddset(&sc.set, SIGINT);
  sigaddset(&sc.set, SIGHUP);
  sigaddset(&sc.set, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &sc.set, NULL);
  signal(SIGPIPE, SIG_IGN);
  sc.d = d;
  sig_started = pthread_create(&sigth, NULL, signal_thread, &sc) == 0;
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
  dk_client_free(dk);
  jd_config_clear(&cfg);
  free(flags);
  return code;
}
