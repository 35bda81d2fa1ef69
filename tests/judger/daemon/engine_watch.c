// test-labels: podman43 redis
/* The engine watch (judger/daemon/engine_watch.c) on real engines: the real
 * `judger daemon` reaches its engine through a private endpoint (a
 * forwarder, tests/support/engine_proxy.h) that first leads to the host's
 * Docker, then, once the test takes it away and brings it back, to the
 * host's Podman 4.3.1 (images/engines/podman.sh start podman43; its socket
 * from $JUDGER_PODMAN43_HOST, which the podman43 fixture sets): what an
 * operator does who installs podman-docker's socket in place of dockerd's.
 * The daemon, which learnt "docker, every guarantee kept" at its start,
 * logs engine.changed naming both engines, takes no task from then on and
 * exits 3. The library's side on the fake engine:
 * tests/dockerapi/engine_changed.c; the message: the unit test below.
 *
 * Under CI=true an unreachable podman43 fails the test; elsewhere it is
 * skipped, saying so. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "daemon/engine_watch.h"
#include "daemon_proc.h"
#include "engine_proxy.h"
#include "queue/queue.h"
#include "redis_server.h"
#include "support.h"

static t_redis *srv;

static void up(void) { srv = t_redis_start(false, false); }
static void down(void) { t_redis_stop(srv); }

/* A forwarder on <dir>/docker.sock to the engine at host (NULL: the
 * environment's, the host's Docker). */
static t_engine_proxy *proxy_to(const char *dir, const char *host) {
  const char *was = getenv("DOCKER_HOST");
  char *saved = was ? strdup(was) : NULL;
  if (host)
    setenv("DOCKER_HOST", host, 1);
  t_engine_proxy *px = t_engine_proxy_start(dir);
  if (saved)
    setenv("DOCKER_HOST", saved, 1);
  else
    unsetenv("DOCKER_HOST");
  free(saved);
  return px;
}

/* The daemon's log, its JSON's "\/" read as "/" (the caller frees it). */
static char *log_text(const char *path) {
  FILE *f = fopen(path, "r");
  cr_assert(f, "no log %s", path);
  char *s = calloc(1, 1 << 20);
  cr_assert(s);
  size_t n = fread(s, 1, (1 << 20) - 1, f);
  fclose(f);
  size_t k = 0;
  for (size_t i = 0; i < n; i++)
    if (!(s[i] == '\\' && i + 1 < n && s[i + 1] == '/'))
      s[k++] = s[i];
  s[k] = '\0';
  return s;
}

/* Waits until the log holds `what`; fails after timeout_ms. */
static void wait_logged(const char *path, const char *what, int timeout_ms) {
  int64_t until = jd_mono_ms() + timeout_ms;
  for (;;) {
    char *s = log_text(path);
    bool found = strstr(s, what) != NULL;
    free(s);
    if (found)
      return;
    cr_assert(jd_mono_ms() < until, "no %s in %s after %d ms", what, path, timeout_ms);
    usleep(50000);
  }
}

Test(engine_watch, docker_replaced_by_podman_stops_the_daemon_with_exit_3, .init = up, .fini = down,
     .timeout = 240) {
  dk_client *pc = t_podman43_client();
  dk_client *c = t_client();
  char *host = t_unique("jdw"), *state = t_tmpdir("ewatch"), *pdir = t_tmpdir("ewproxy");
  t_engine_proxy *px = proxy_to(pdir, NULL);
  t_proc *a = t_daemon_spawn_on(t_engine_proxy_host(px), srv->url, host, state,
                                "--guard-ms 300 --reconcile-grace-ms 500");
  jd_queue *q = t_queue_client(srv->url);
  t_wait_paused(q, host, NULL, 0, 30000, a->log); /* running on Docker */
  wait_logged(a->log, "every guarantee kept", 1000);
  /* The swap: Docker leaves the socket, Podman 4.3 answers on it. */
  t_engine_proxy_free(px);
  px = proxy_to(pdir, t_podman43_host());
  int64_t swapped = jd_mono_ms();
  wait_logged(a->log, "engine.changed", 30000);
  int64_t seen_ms = jd_mono_ms() - swapped;
  /* From then on nothing is taken: a task waits for another host. */
  t_submit_game_match(q, "ew-after", 1);
  int code = t_proc_wait(a, 60000);
  int64_t exit_ms = jd_mono_ms() - swapped;
  cr_assert_eq(code, 3, "exit %d (log %s)", code, a->log);
  char *log = log_text(a->log);
  const char *line = strstr(log, "\"level\":\"error\",\"event\":\"engine.changed\"");
  cr_assert(line, "no engine.changed error in %s", a->log);
  cr_assert(strstr(line, "learnt at the start, docker ") && strstr(line, "Server: Docker/") &&
                strstr(line, "Server: Libpod/4.3.1 (linux)"),
            "names both engines: %.600s", line);
  cr_assert(strstr(line, "restart"), "says what to do: %.600s", line);
  cr_assert(strstr(line, "daemon.stop"), "stopped after the change: %s", a->log);
  /* (read, it would only be given back: no task event names it) */
  cr_assert_null(strstr(log, "\"task_id\":\"ew-after\""), "ew-after began: %s", a->log);
  char *st = t_task_field(q, "ew-after", "state"),
       *attempts = t_task_field(q, "ew-after", "attempts");
  cr_assert(st && !strcmp(st, "queued"), "ew-after is %s (log %s)", st, a->log);
  cr_assert(!attempts || !strcmp(attempts, "0"), "ew-after attempts %s", attempts);
  fprintf(stderr, "engine swapped: engine.changed after %lld ms, exit 3 after %lld ms\n%.*s\n",
          (long long)seen_ms, (long long)exit_ms, (int)strcspn(line, "\n"), line);
  t_cleanup_host(c, host);
  t_cleanup_host(pc, host);
  free(log);
  free(st);
  free(attempts);
  t_proc_free(a);
  t_engine_proxy_free(px);
  jd_queue_free(q);
  t_rmdir(state);
  t_rmdir(pdir);
  free(host);
  dk_client_free(c);
  dk_client_free(pc);
}

/* The message names the engine learnt, what answers now, and the fix. */
Test(engine_watch_message, names_both_engines_and_the_fix) {
  jd_engine e = {.kind = DK_ENGINE_DOCKER, .version = "20.10.24"};
  char msg[1024];
  jd_engine_watch_message(msg, sizeof msg, &e, "Docker/20.10.24+dfsg1 (linux)",
                          "Libpod/4.3.1 (linux)");
  cr_assert(strstr(msg, "docker 20.10.24 (Server: Docker/20.10.24+dfsg1 (linux))"), "%s", msg);
  cr_assert(strstr(msg, "(Server: Libpod/4.3.1 (linux))"), "%s", msg);
  cr_assert(strstr(msg, "exit 3") && strstr(msg, "restart it") &&
                strstr(msg, "docs/security.md \"Engines\""),
            "%s", msg);
  jd_engine_watch_message(msg, sizeof msg, &e, "", "");
  cr_assert(strstr(msg, "(Server: not sent)") && strstr(msg, "not sent, another product"), "%s",
            msg);
}
