// test-labels: engine redis
/* The host guard end to end (judger/daemon/guard.c), engine side: the real
 * `judger daemon` on a real engine and Redis, reaching the engine through a
 * private endpoint the test takes away and brings back (a forwarder in front
 * of the engine, tests/support/engine_proxy.h; the host's dockerd is never
 * stopped, so nothing else running on it is disturbed). While the engine is
 * away the daemon says `paused: engine unreachable` (heartbeat, `judger
 * status`, --json), takes no task, fails and dead-letters nothing (the match
 * it was running is retried, not blamed); once the engine answers it
 * resumes and both tasks finish. The disk side: guard_disk.c. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "common/clock.h"
#include "daemon_proc.h"
#include "engine_proxy.h"
#include "queue/queue.h"
#include "redis_server.h"
#include "support.h"

static t_redis *srv;

static void up(void) { srv = t_redis_start(false, false); }
static void down(void) { t_redis_stop(srv); }

/* Neither failed nor dead-lettered (nor stored at all) while the engine is
 * away. */
static void not_blamed(jd_queue *q, const char *id, const char *log) {
  char *state = t_task_field(q, id, "state"), *res = NULL;
  cr_assert(!state || (strcmp(state, "failed") && strcmp(state, "dead")),
            "%s is %s while the engine is away (log %s)", id, state, log);
  cr_assert_eq(jd_queue_get_result(&res, q, id), 0);
  cr_assert_null(res, "%s has a result while the engine is away: %s", id, res);
  free(state);
}

/* `judger status` (the table and --json) says the host is paused. */
static void status_says(const char *host, const char *reason) {
  char cmd[1200];
  snprintf(cmd, sizeof cmd,
           "%s/bin/judger status --redis %s | grep '%s' | grep -q 'paused: %s' && "
           "%s/bin/judger status --redis %s --json | grep -Eq '\"paused\": ?\"%s\"'",
           JD_BINARY_DIR, srv->url, host, reason, JD_BINARY_DIR, srv->url, reason);
  if (system(cmd) == 0)
    return;
  snprintf(cmd, sizeof cmd, "%s/bin/judger status --redis %s >&2", JD_BINARY_DIR, srv->url);
  (void)!system(cmd);
  cr_assert_fail("judger status does not say paused: %s", reason);
}

Test(guard, engine_away_no_task_taken_or_failed_then_work_resumes, .init = up, .fini = down,
     .timeout = 300) {
  dk_client *c = t_client();
  t_busybox_image(c);
  char *host = t_unique("jdg-eng"), *state = t_tmpdir("guard-eng"), *pdir = t_tmpdir("gproxy");
  t_engine_proxy *px = t_engine_proxy_start(pdir);
  t_proc *a = t_daemon_spawn_on(t_engine_proxy_host(px), srv->url, host, state,
                                "--guard-ms 300 --reconcile-grace-ms 500");
  jd_queue *q = t_queue_client(srv->url);
  t_wait_paused(q, host, NULL, 0, 30000, a->log);
  /* A match runs when the engine goes away. */
  t_submit_game_match(q, "ge-run", 6);
  free(t_wait_task_state(q, "ge-run", "running", 30000));
  t_wait_host_containers(c, host, 1, 30000);
  t_engine_proxy_down(px);
  int64_t down_at = jd_mono_ms();
  t_wait_paused(q, host, "engine unreachable", 0, 15000, a->log);
  int64_t pause_ms = jd_mono_ms() - down_at;
  status_says(host, "engine unreachable");
  /* A task submitted now is not taken: several heartbeats later (the
   * reader would have read it within its 300 ms block) it is untouched. */
  long long submitted = jd_unix_ms();
  t_submit_game_match(q, "ge-new", 1);
  t_wait_paused(q, host, "engine unreachable", submitted + 2500, 15000, a->log);
  char *st = t_task_field(q, "ge-new", "state"), *attempts = t_task_field(q, "ge-new", "attempts");
  cr_assert(st && !strcmp(st, "queued"), "taken while paused: %s (log %s)", st, a->log);
  cr_assert(!attempts || !strcmp(attempts, "0"), "attempts %s while paused", attempts);
  not_blamed(q, "ge-run", a->log);
  not_blamed(q, "ge-new", a->log);
  /* Back: it resumes; the interrupted match is run again, the new one runs. */
  t_engine_proxy_up(px);
  int64_t up_at = jd_mono_ms();
  t_wait_paused(q, host, NULL, 0, 30000, a->log);
  int64_t resume_ms = jd_mono_ms() - up_at;
  char *r1 = t_wait_result(q, "ge-run", 120000, a->log),
       *r2 = t_wait_result(q, "ge-new", 60000, a->log);
  char *s1 = t_task_field(q, "ge-run", "status"), *s2 = t_task_field(q, "ge-new", "status");
  cr_assert(s1 && !strcmp(s1, "finished"), "ge-run: %s (log %s)", s1, a->log);
  cr_assert(s2 && !strcmp(s2, "finished"), "ge-new: %s (log %s)", s2, a->log);
  cr_assert_geq(t_json_int(r1, "task", "attempt"), 2, "the interrupted run counts: %s", r1);
  fprintf(stderr, "engine away: paused after %lld ms; back: resumed after %lld ms\n",
          (long long)pause_ms, (long long)resume_ms);
  kill(a->pid, SIGTERM);
  cr_assert_eq(t_proc_wait(a, 20000), 0, "log %s", a->log);
  t_cleanup_host(c, host);
  free(st);
  free(attempts);
  free(s1);
  free(s2);
  free(r1);
  free(r2);
  t_proc_free(a);
  t_engine_proxy_free(px);
  jd_queue_free(q);
  t_rmdir(state);
  t_rmdir(pdir);
  free(host);
  dk_client_free(c);
}
