/* Benchmark: the daemon's memory over many matches (issue 26; goal: flat,
 * at most 20 MB). A `judger daemon --slots 2` on a private redis-server
 * takes N trivial daemon matches (tests/support's daemon game: a game
 * logic and one idle player, as bench_daemon), submitted at once; its
 * VmRSS (/proc/<pid>/status) is read when it is ready (idle), then each
 * time another `every` results are stored, and once more when nothing of
 * it is left on the engine. Printed as a series, with the growth from the
 * first sample after the warm-up (the first `every` matches) to the last.
 * With --metrics (this build only), the engine calls per match from the
 * daemon's judger_engine_requests_total too (and first, over 10 s idle,
 * the daemon's background calls, which the per-match figure includes). With --base JUDGER, the same
 * for an older binary afterwards (without metrics).
 *
 *   bench_rss [N] [--every K] [--slots S] [--base JUDGER] [--metrics]
 *
 * N: 500, K: 50, S: 2. Needs the engine and redis-server. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "common/clock.h"
#include "redis_server.h"
#include "support.h"

static dk_client *dk;

static bool has_result(jd_queue *q, const char *id) {
  char *r = NULL;
  bool done = jd_queue_get_result(&r, q, id) == 0 && r;
  free(r);
  return done;
}

/* One daemon of bin through n matches; its samples printed. 0, or -1 when
 * it died. */
static int series(jd_queue *q, const char *redis_url, const char *bin, const char *tag, int n,
                  int every, int slots, bool metrics) {
  char host[96], extra[64] = "", id[160];
  snprintf(host, sizeof host, "rss-%d-%s", (int)getpid(), tag);
  int port = metrics ? bench_free_port() : -1;
  if (port > 0)
    snprintf(extra, sizeof extra, "--metrics-listen 127.0.0.1:%d", port);
  char *state = t_tmpdir("bench-rss");
  pid_t pid = bench_daemon_spawn(bin, redis_url, host, state, slots, extra);
  bench_wait_host(q, host);
  long idle = bench_rss_kb(pid), first = -1, last = -1, max = idle;
  printf("%s (%s): --slots %d, %d matches; VmRSS idle %ld kB\n", tag, bin, slots, n, idle);
  printf("  %8s %10s %10s\n", "matches", "VmRSS kB", "elapsed s");
  dk_call_counts before, after;
  bool counted = port > 0 && bench_engine_requests(&before, port) == 0;
  if (counted) {
    /* The daemon's own background calls (guard, sweeps) over 10 s idle:
     * in the per-match figure below too, spread over its window. */
    sleep(10);
    counted = bench_engine_requests(&after, port) == 0;
    bench_print_calls("  engine calls over 10 s idle:", &before, &after, 1);
    before = after;
  }
  int64_t t0 = jd_mono_ms();
  for (int i = 0; i < n; i++) {
    snprintf(id, sizeof id, "%s-%d", host, i);
    bench_submit_match(q, id, 0);
  }
  int rc = 0;
  for (int done = 0; done < n && !rc;) {
    snprintf(id, sizeof id, "%s-%d", host, done);
    int64_t waited = jd_mono_ms();
    while (!has_result(q, id) && !rc) {
      usleep(20000);
      if (waitpid(pid, NULL, WNOHANG) == pid || jd_mono_ms() - waited > 120000)
        rc = -1;
    }
    if (rc)
      break;
    done++;
    if (done % every == 0 || done == n) {
      long kb = bench_rss_kb(pid);
      if (first < 0 && done >= every)
        first = kb;
      last = kb;
      max = kb > max ? kb : max;
      printf("  %8d %10ld %10.1f\n", done, kb, (double)(jd_mono_ms() - t0) / 1000.0);
      fflush(stdout);
    }
  }
  if (rc) {
    fprintf(stderr, "%s: the daemon died or stopped answering (log %s/daemon.log)\n", tag, state);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return -1;
  }
  for (int i = 0; i < 3000 && bench_leftovers(dk, host) > 0; i++)
    usleep(20000);
  long settled = bench_rss_kb(pid);
  counted = counted && bench_engine_requests(&after, port) == 0;
  printf("  nothing left: VmRSS %ld kB; %.1f matches/min\n", settled,
         n * 60000.0 / (double)(jd_mono_ms() - t0));
  printf("  max %ld kB (%.1f MB); from %d to %d matches: %+ld kB (goal: flat, <= 20 MB)\n", max,
         (double)max / 1024.0, every, n, last - first);
  if (counted)
    bench_print_calls("  engine calls per match:", &before, &after, n);
  kill(pid, SIGTERM);
  waitpid(pid, NULL, 0);
  bench_drop_stock(dk, host);
  t_rmdir(state);
  return 0;
}

int main(int argc, char **argv) {
  bench_host_settings();
  int n = 500, every = 50, slots = 2;
  bool metrics = false;
  const char *base = NULL;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--base") && i + 1 < argc)
      base = argv[++i];
    else if (!strcmp(argv[i], "--every") && i + 1 < argc)
      every = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--slots") && i + 1 < argc)
      slots = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--metrics"))
      metrics = true;
    else
      n = atoi(argv[i]);
  }
  if (n < 1)
    n = 500;
  if (every < 1 || every > n)
    every = n;
  if (slots < 1)
    slots = 2;
  if (dk_client_new(&dk, NULL) || dk_ping(dk, NULL)) {
    fprintf(stderr, "bench_rss: the engine is not reachable\n");
    return 1;
  }
  t_busybox_image(dk);
  t_redis *srv = t_redis_start(false, false);
  jd_queue *q = NULL;
  jd_queue_opts qo = {.redis_url = srv->url, .consumer = "bench"};
  if (jd_queue_new(&q, &qo) || jd_queue_setup(q))
    return 1;
  int rc = series(q, srv->url, JD_BINARY_DIR "/bin/judger", "this", n, every, slots, metrics);
  if (!rc && base)
    rc = series(q, srv->url, base, "base", n, every, slots, false);
  jd_queue_free(q);
  t_redis_stop(srv);
  dk_client_free(dk);
  return rc ? 1 : 0;
}
