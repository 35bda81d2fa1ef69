// test-labels: engine redis
/* The fleet under faults, end to end with the real `judger daemon` on the
 * real engine and a real redis-server: a frozen daemon (SIGSTOP past its
 * lease, then SIGCONT) writes nothing while another host runs its task;
 * kill -9 while players are being created, then an immediate restart,
 * leaves nothing behind, 20 times over. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/tmpfile.h"
#include "common/util.h"
#include "daemon_proc.h"
#include "queue/queue.h"
#include "redis_server.h"
#include "support.h"

static t_redis *srv;

static void up(void) { srv = t_redis_start(false, false); }
static void down(void) { t_redis_stop(srv); }

static jd_queue *client(void) {
  jd_queue *q = NULL;
  jd_queue_opts o = {.redis_url = srv->url, .consumer = "test-client"};
  cr_assert_eq(jd_queue_new(&q, &o), 0);
  return q;
}

/* A match of the daemon test game (`turns` seconds of progress) whose
 * game logic lives in dir; returns the entry id (caller frees). */
static char *submit_game(jd_queue *q, const char *id, const char *dir, int turns) {
  char json[2048];
  snprintf(json, sizeof json,
           "{\"id\":\"%s\",\"type\":\"match\",\"match\":{\"id\":\"%s\",\"game_logic\":{\"id\":"
           "\"dgame\",\"image\":\"" T_BUSYBOX_IMAGE "\",\"dir\":\"%s\",\"cmd\":[\"sh\","
           "\"/app/main.sh\"]},\"players\":[{\"id\":\"idle\",\"image\":\"" T_BUSYBOX_IMAGE "\","
           "\"cmd\":[\"sleep\",\"30\"]}],\"config\":{\"turns\":%d}}}",
           id, id, dir, turns);
  char *eid = NULL;
  cr_assert_eq(jd_queue_submit(&eid, q, JD_PRIO_MATCH, id, json), 0, "%s", jd_queue_error(q));
  return eid;
}

static bool log_has(const char *log, const char *needle) {
  char *text = NULL;
  size_t n = 0;
  bool has = jd_read_file(&text, &n, log, 64u << 20) == 0 && strstr(text, needle);
  free(text);
  return has;
}

static char *result_of(jd_queue *q, const char *id) {
  char *json = NULL;
  return jd_queue_get_result(&json, q, id) == 0 ? json : NULL;
}

Test(faults, a_frozen_daemon_writes_nothing_while_another_host_runs_its_task, .init = up,
     .fini = down, .timeout = 180) {
  dk_client *c = t_client();
  t_busybox_image(c);
  char *ha = t_unique("jdf-frozen"), *hb = t_unique("jdf-other");
  char *sa = t_tmpdir("dstate-fa"), *sb = t_tmpdir("dstate-fb");
  char game[600];
  snprintf(game, sizeof game, "%s/tests/judger/programs/daemon_game", JD_SOURCE_DIR);
  jd_queue *q = client();
  t_proc *a = t_daemon_spawn(srv->url, ha, sa, NULL);
  free(submit_game(q, "frozen", game, 10));
  free(t_wait_task_state(q, "frozen", "running", 20000));
  t_wait_host_containers(c, ha, 1, 20000);
  kill(a->pid, SIGSTOP);
  /* Past the lease, another host takes the task over. */
  t_proc *b = t_daemon_spawn(srv->url, hb, sb, NULL);
  char *host = NULL;
  for (int i = 0; i < 300; i++) {
    free(host);
    host = t_task_field(q, "frozen", "host");
    if (host && !strcmp(host, hb))
      break;
    usleep(100000);
  }
  cr_assert_str_eq(host, hb, "the other host never took the task (log %s)", b->log);
  free(host);
  kill(a->pid, SIGCONT);
  /* Until the result: the record is the other host's run, never flipped
   * back to the frozen one (queued, its error, its progress). */
  int samples = 0;
  char *res = NULL;
  for (int i = 0; i < 600 && !(res = result_of(q, "frozen")); i++) {
    char *h = t_task_field(q, "frozen", "host"), *st = t_task_field(q, "frozen", "state");
    cr_assert(h && !strcmp(h, hb), "the record went to %s (state %s)", h ? h : "-", st ? st : "-");
    cr_assert(st && (!strcmp(st, "running") || !strcmp(st, "finished")), "state %s", st);
    free(h);
    free(st);
    samples++;
    usleep(50000);
  }
  cr_assert_not_null(res, "no result (logs %s, %s)", a->log, b->log);
  cr_assert(samples > 10, "too few samples (%d) to show anything", samples);
  cr_assert(strstr(res, hb), "the result is the other host's: %s", res);
  cr_assert_eq(t_json_int(res, "task", "attempt"), 2);
  for (int i = 0; i < 100 && !log_has(a->log, "claim"); i++)
    usleep(100000);
  cr_assert(log_has(a->log, "claim.lost") || log_has(a->log, "task.claim_lost"),
            "the frozen daemon must learn it lost the claim (log %s)", a->log);
  /* The frozen host ends its run: nothing of it stays. */
  for (int i = 0; i < 200 && t_host_containers(c, ha) > 0; i++)
    usleep(100000);
  cr_assert_eq(t_host_containers(c, ha), 0, "log %s", a->log);
  kill(a->pid, SIGTERM);
  kill(b->pid, SIGTERM);
  cr_assert_eq(t_proc_wait(a, 15000), 0);
  cr_assert_eq(t_proc_wait(b, 15000), 0);
  t_cleanup_host(c, ha);
  t_cleanup_host(c, hb);
  free(res);
  t_proc_free(a);
  t_proc_free(b);
  jd_queue_free(q);
  t_rmdir(sa);
  t_rmdir(sb);
  free(ha);
  free(hb);
  dk_client_free(c);
}

/* A game logic that asks for four players at once, then waits. */
static char *players_game(void) {
  char *dir = t_tmpdir("game4");
  char path[600];
  snprintf(path, sizeof path, "%s/main.sh", dir);
  const char *sh =
      "#!/bin/sh\n"
      "exec 4>\"$JUDGER_CMD_PIPE\"\n"
      "for i in 0 1 2 3; do\n"
      "  echo \"{\\\"cmd\\\":\\\"start\\\",\\\"name\\\":\\\"p$i\\\",\\\"ai\\\":0}\" >&4\n"
      "done\n"
      "sleep 30\n";
  cr_assert_eq(jd_write_file(path, sh, strlen(sh)), 0);
  /* The game logic runs as an unprivileged user: it must read its dir. */
  cr_assert_eq(chmod(dir, 0755), 0);
  cr_assert_eq(chmod(path, 0644), 0);
  return dir;
}

/* Waits until the host has nothing left (containers, networks, work dirs)
 * after its daemon made the second pass of its startup sweep; returns
 * what is left then. */
static size_t leftovers_after_second_pass(dk_client *c, const t_proc *p) {
  for (int i = 0; i < 300 && !log_has(p->log, "second pass"); i++)
    usleep(50000);
  cr_assert(log_has(p->log, "second pass"), "no second pass (log %s)", p->log);
  size_t left = 0;
  for (int i = 0; i < 50; i++) {
    left = t_host_containers(c, p->host) + t_host_networks(c, p->host) + t_workdirs(p->state);
    if (left == 0)
      break;
    usleep(100000);
  }
  return left;
}

Test(faults, kill_9_while_players_are_created_leaves_nothing_20_times, .init = up, .fini = down,
     .timeout = 600) {
  dk_client *c = t_client();
  t_busybox_image(c);
  char *host = t_unique("jdf-k9"), *state = t_tmpdir("dstate-k9"), *game = players_game();
  jd_queue *q = client();
  const char *flags = "--reconcile-grace-ms 1500 --reconcile-ms 0";
  size_t total = 0, bad_rounds = 0;
  int64_t t0 = jd_mono_ms();
  for (int round = 0; round < 20; round++) {
    char id[32];
    snprintf(id, sizeof id, "k9p-%02d", round);
    t_proc *a = t_daemon_spawn(srv->url, host, state, flags);
    char *eid = submit_game(q, id, game, 0);
    /* Killed at a different point of the creates each round: after the
     * game logic and 0 to 3 players. */
    t_wait_host_containers(c, host, 1 + (size_t)(round % 4), 30000);
    kill(a->pid, SIGKILL);
    cr_assert_eq(t_proc_wait(a, 5000), 128 + SIGKILL);
    unlink(a->log); /* the restarted daemon's "second pass" is its own */
    /* The task is withdrawn so the restarted daemon only reconciles. */
    cr_assert_eq(jd_redis_command(NULL, jd_queue_redis(q), "XDEL judger:q:match %s", eid), 0);
    t_proc *a2 = t_daemon_spawn(srv->url, host, state, flags);
    size_t left = leftovers_after_second_pass(c, a2);
    total += left;
    bad_rounds += left > 0;
    if (left)
      fprintf(stderr, "round %d: %zu leftovers (log %s)\n", round, left, a2->log);
    kill(a2->pid, SIGTERM);
    cr_assert_eq(t_proc_wait(a2, 15000), 0);
    t_cleanup_host(c, host);
    unlink(a2->log);
    t_proc_free(a);
    t_proc_free(a2);
    free(eid);
  }
  fprintf(stderr, "kill -9 during player creation: %zu leftovers in %zu of 20 rounds (%lld ms)\n",
          total, bad_rounds, (long long)(jd_mono_ms() - t0));
  cr_assert_eq(total, 0, "%zu leftovers in %zu rounds", total, bad_rounds);
  t_cleanup_host(c, host);
  jd_queue_free(q);
  t_rmdir(state);
  t_rmdir(game);
  free(host);
  dk_client_free(c);
}
