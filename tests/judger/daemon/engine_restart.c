// test-labels: engine redis serial host-only
/* The engine restarted mid-match, end to end: dockerd is stopped and
 * started again the way images/setup-host.sh starts it (by running that
 * script), under a `judger daemon` running a match. The task must end
 * `finished` on a retry or `error`, never `failed` (the game logic did
 * nothing wrong), and nothing labelled with the host may be left once the
 * daemon is idle. Stops the shared engine: RUN_SERIAL (label "serial"). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "common/clock.h"
#include "common/util.h"
#include "daemon_proc.h"
#include "queue/queue.h"
#include "redis_server.h"
#include "support.h"

static t_redis *srv;

static void up(void) { srv = t_redis_start(false, false); }
static void down(void) { t_redis_stop(srv); }

/* The host engine's pid from its pid file, or 0 when none runs. Not
 * `pgrep dockerd`: the sidecar engines' dockerds are processes of this
 * host too. */
static pid_t dockerd_pid(void) {
  FILE *f = fopen("/var/run/docker.pid", "r");
  long pid = 0;
  if (f && fscanf(f, "%ld", &pid) != 1)
    pid = 0;
  if (f)
    fclose(f);
  return pid > 0 && kill((pid_t)pid, 0) == 0 ? (pid_t)pid : 0;
}

/* Stops dockerd (SIGTERM to its pid: it stops every container, then
 * exits) and waits until it is gone. */
static void engine_stop(void) {
  pid_t pid = dockerd_pid();
  cr_assert(pid > 0, "no dockerd runs here: this test restarts the host's engine");
  cr_assert_eq(kill(pid, SIGTERM), 0);
  /* Under load dockerd can take over a minute to stop its containers. A
   * kill after 3 minutes still makes the restart this test is about, and
   * never leaves the host without an engine for the tests after it. */
  for (int i = 0; i < 1800 && kill(pid, 0) == 0; i++)
    usleep(100000);
  if (kill(pid, 0) == 0) {
    kill(pid, SIGKILL);
    for (int i = 0; i < 300 && kill(pid, 0) == 0; i++)
      usleep(100000);
  }
  cr_assert_neq(kill(pid, 0), 0, "dockerd did not stop, even after SIGKILL");
}

/* Starts it again the way CI does: images/setup-host.sh starts dockerd
 * when no engine answers and waits until it does. */
static void engine_start(void) {
  char cmd[700];
  snprintf(cmd, sizeof cmd, "bash %s/images/setup-host.sh >/tmp/judger-engine-restart.log 2>&1",
           JD_SOURCE_DIR);
  cr_assert_eq(system(cmd), 0, "setup-host.sh failed: see /tmp/judger-engine-restart.log");
  /* The sidecar engines of the suite (images/engines/sidecar.sh) are
   * containers of this engine: they come back by their restart policy, and
   * the tests after this one (serial: nothing runs beside it) need them
   * answering again. */
  cr_assert_eq(system("for s in /run/judger-engines/*/docker.sock; do [ -e \"$s\" ] || continue; "
                      "ok=; for i in $(seq 240); do curl -fsS --max-time 2 --unix-socket \"$s\" "
                      "http://d/_ping >/dev/null 2>&1 && { ok=1; break; }; sleep 0.5; done; "
                      "[ -n \"$ok\" ] || exit 1; done"),
               0, "a sidecar engine did not come back after the host's engine restarted");
  dk_client *c = t_client();
  t_ok(dk_ping(c, NULL));
  dk_client_free(c);
}

/* The ids of the host's containers and networks now, NULL-terminated;
 * the stock's networks are left out: one the run gave back empty stays by
 * design (match/net_stock.h), and left_on() counts one with an endpoint. */
static char **host_objects(dk_client *c, const char *host) {
  char label[160];
  snprintf(label, sizeof label, "judger.host=%s", host);
  const char *labels[] = {label, NULL};
  dk_container_list *cl = NULL;
  dk_network_list *nl = NULL;
  t_ok(dk_container_list_by_label(&cl, c, true, labels));
  t_ok(dk_network_list_by_label(&nl, c, labels));
  char **ids = calloc(cl->count + nl->count + 1, sizeof *ids);
  size_t n = 0;
  for (size_t i = 0; i < cl->count; i++)
    ids[n++] = strdup(cl->items[i].id);
  char stock[200]; /* a stock network's name: judger-<host>-net-<hex> */
  int len = snprintf(stock, sizeof stock, "judger-%s-net-", host);
  for (size_t i = 0; i < nl->count; i++)
    if (!nl->items[i].name || strncmp(nl->items[i].name, stock, (size_t)len))
      ids[n++] = strdup(nl->items[i].id);
  dk_container_list_free(cl);
  dk_network_list_free(nl);
  return ids;
}

/* How many of ids still exist (as a container or a network). */
static size_t still_there(dk_client *c, char **ids) {
  size_t n = 0;
  for (char **p = ids; *p; p++) {
    dk_container_info *ci = NULL;
    dk_network_info *ni = NULL;
    n += dk_container_inspect(&ci, c, *p) == 0 || dk_network_inspect(&ni, c, *p) == 0;
    dk_container_info_free(ci);
    dk_network_info_free(ni);
  }
  return n;
}

static size_t left_on(dk_client *c, const t_proc *p) {
  return t_host_containers(c, p->host) + t_host_networks(c, p->host) + t_workdirs(p->state);
}

Test(engine_restart, mid_match_the_program_is_not_blamed_and_nothing_stays, .init = up,
     .fini = down, .timeout = 600) {
  dk_client *c = t_client();
  t_busybox_image(c);
  char *host = t_unique("jdf-er"), *state = t_tmpdir("dstate-er");
  jd_queue *q = NULL;
  jd_queue_opts o = {.redis_url = srv->url, .consumer = "test-client"};
  cr_assert_eq(jd_queue_new(&q, &o), 0);
  t_proc *a = t_daemon_spawn(srv->url, host, state,
                             "--reconcile-ms 2000 --reconcile-grace-ms 1500 --max-attempts 10");
  char json[2048];
  snprintf(json, sizeof json,
           "{\"id\":\"er\",\"type\":\"match\",\"match\":{\"id\":\"er\",\"game_logic\":{\"id\":"
           "\"dgame\",\"image\":\"" T_BUSYBOX_IMAGE "\",\"dir\":\"%s/tests/judger/programs/"
           "daemon_game\",\"cmd\":[\"sh\",\"/app/main.sh\"]},\"players\":[{\"id\":\"idle\","
           "\"image\":\"" T_BUSYBOX_IMAGE "\",\"cmd\":[\"true\"]}],\"config\":{\"turns\":30}}}",
           JD_SOURCE_DIR);
  /* 30 turns of 1 s: longer than dockerd's 10 s stop grace, so the stop
   * below really ends the match's containers (the game's entry point does
   * not die of the SIGTERM an engine shutdown sends first). */
  cr_assert_eq(jd_queue_submit(NULL, q, JD_PRIO_MATCH, "er", json), 0);
  free(t_wait_task_state(q, "er", "running", 30000));
  t_wait_host_containers(c, host, 1, 30000);
  char **before = host_objects(c, host);
  dk_client_free(c);
  char stopped_at[32];
  jd_time_rfc3339(stopped_at, jd_unix_ms());
  engine_stop();
  engine_start();
  int64_t back = jd_mono_ms();
  c = t_client();
  /* What the interrupted run had on the engine goes first. */
  size_t old = still_there(c, before);
  for (int i = 0; i < 600 && old > 0; i++) {
    usleep(100000);
    old = still_there(c, before);
  }
  int64_t old_gone_ms = jd_mono_ms() - back;
  cr_assert_eq(old, 0, "the interrupted run's objects stay (log %s)", a->log);
  char *res = NULL;
  for (int i = 0; i < 1800 && jd_queue_get_result(&res, q, "er") == 0 && !res; i++)
    usleep(100000);
  cr_assert_not_null(res, "no result after the restart (log %s)", a->log);
  char *status = t_task_field(q, "er", "status");
  cr_assert(status && (!strcmp(status, "finished") || !strcmp(status, "error")),
            "the engine's restart was blamed on the program: %s (log %s)", status, a->log);
  /* A finished task is a run made after the engine's restart (how many
   * attempts that counts is the claim's business: docs/queue.md). */
  if (!strcmp(status, "finished")) {
    json_object *r = json_tokener_parse(res), *v = NULL;
    cr_assert(r && json_object_object_get_ex(r, "started_at", &v), "%s", res);
    cr_assert_gt(strcmp(json_object_get_string(v), stopped_at), 0,
                 "finished by a run that began before the engine stopped (%s): %s", stopped_at,
                 res);
    json_object_put(r);
  }
  /* Idle now: nothing labelled with the host may stay. */
  size_t left = left_on(c, a);
  for (int i = 0; i < 600 && left > 0; i++) {
    usleep(100000);
    left = left_on(c, a);
  }
  int64_t clean_ms = jd_mono_ms() - back;
  fprintf(stderr,
          "engine restart: task %s (attempt %d); engine back -> the interrupted run's objects "
          "gone: %lld ms; -> clean idle host: %lld ms\n",
          status, t_json_int(res, "task", "attempt"), (long long)old_gone_ms, (long long)clean_ms);
  cr_assert_eq(left, 0, "leftovers of %s after the restart (log %s)", host, a->log);
  kill(a->pid, SIGTERM);
  cr_assert_eq(t_proc_wait(a, 20000), 0, "log %s", a->log);
  t_cleanup_host(c, host);
  for (char **p = before; *p; p++)
    free(*p);
  free(before);
  free(status);
  free(res);
  t_proc_free(a);
  jd_queue_free(q);
  t_rmdir(state);
  free(host);
  dk_client_free(c);
}
