/* Benchmark of `judger daemon` on this machine (figures in docs/daemon.md):
 *  - latency from XADD to the game logic's container start, and the same
 *    minus the engine's own create->start time;
 *  - throughput of trivial matches per minute with --slots 1 and 2;
 *  - daemon RSS idle and with matches running;
 *  - CPU used by an idle daemon over 10 s (it must block, not spin).
 *  - with --base JUDGER (an older build), the --slots 2 throughput of both
 *    binaries, alternating, each to its last result and to "nothing
 *    labelled left" (the teardowns after the last result included).
 * Needs the engine and redis-server; run
 *   build/bin/bench_daemon [N] [--base JUDGER] [--rounds R] */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "bench.h"
#include "common/clock.h"
#include "common/util.h"
#include "daemon_proc.h"
#include "queue/queue.h"
#include "redis_server.h"
#include "support.h"

static t_redis *srv;
static dk_client *dk;

static pid_t spawn(const char *bin, const char *host, const char *state, int slots) {
  return bench_daemon_spawn(bin, srv->url, host, state, slots, "");
}

/* utime + stime of a process, in clock ticks. */
static long long cpu_ticks(pid_t pid) {
  char path[64], buf[2048];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  FILE *f = fopen(path, "r");
  if (!f)
    return -1;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  char *p = strrchr(buf, ')');
  long long ut = 0, st = 0;
  /* fields after ")": state(3) ... utime(14) stime(15) */
  if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lld %lld", &ut, &st) != 2)
    return -1;
  return ut + st;
}

static void submit_match(jd_queue *q, const char *id, int turns) {
  bench_submit_match(q, id, turns);
}

static void wait_result(jd_queue *q, const char *id) { bench_wait_result(q, id); }

static void wait_host(jd_queue *q, const char *host) { bench_wait_host(q, host); }

static int64_t rfc3339_ms(const char *s) {
  struct tm tm = {0};
  int frac_ms = 0;
  const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
  if (p && *p == '.') {
    char digits[4] = "000";
    for (int i = 0; i < 3 && p[1 + i] >= '0' && p[1 + i] <= '9'; i++)
      digits[i] = p[1 + i];
    frac_ms = atoi(digits);
  }
  return (int64_t)timegm(&tm) * 1000 + frac_ms;
}

/* Polls for the game logic's container of host, then reads its created
 * and started times. */
static int game_logic_times(const char *host, int64_t *created, int64_t *started) {
  char l1[160];
  snprintf(l1, sizeof l1, "judger.host=%s", host);
  const char *labels[] = {l1, "judger.role=game_logic", NULL};
  for (int i = 0; i < 3000; i++) {
    dk_container_list *l = NULL;
    if (dk_container_list_by_label(&l, dk, true, labels) == 0 && l->count) {
      dk_container_info *info = NULL;
      int rc = dk_container_inspect(&info, dk, l->items[0].id);
      dk_container_list_free(l);
      if (rc == 0 && info->started_ns) {
        json_object *o = json_tokener_parse(info->raw_json), *v = NULL;
        json_object_object_get_ex(o, "Created", &v);
        *created = rfc3339_ms(json_object_get_string(v));
        *started = info->started_ns / 1000000;
        json_object_put(o);
        dk_container_info_free(info);
        return 0;
      }
      dk_container_info_free(info);
    } else {
      dk_container_list_free(l);
    }
    usleep(5000);
  }
  return -1;
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

/* Labelled containers and networks of host. */
static size_t leftovers(const char *host) { return bench_leftovers(dk, host); }

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* One --slots 2 throughput run of bin: n trivial matches; *to_result and
 * *to_clean are the seconds to the last result and to nothing left. */
static void throughput(jd_queue *q, const char *bin, const char *tag, int round, int n,
                       double *to_result, double *to_clean, double *seq_ms) {
  char host[64];
  snprintf(host, sizeof host, "bench-%d-%s-%d", (int)getpid(), tag, round);
  char *state = t_tmpdir("bench");
  pid_t pid = spawn(bin, host, state, 2);
  wait_host(q, host);
  /* Time to result of one match at a time (XADD -> result stored), the
   * median of 5: what a user clicking "run match" waits for. */
  double one[5];
  for (int i = 0; i < 5; i++) {
    char id[64];
    snprintf(id, sizeof id, "seq-%s-%d-%d", tag, round, i);
    int64_t s0 = jd_unix_ms();
    submit_match(q, id, 0);
    wait_result(q, id);
    one[i] = (double)(jd_unix_ms() - s0);
  }
  qsort(one, 5, sizeof one[0], cmp_double);
  *seq_ms = one[2];
  while (leftovers(host) > 0)
    usleep(20000);
  int64_t t0 = jd_unix_ms();
  for (int i = 0; i < n; i++) {
    char id[64];
    snprintf(id, sizeof id, "cmp-%s-%d-%d", tag, round, i);
    submit_match(q, id, 0);
  }
  for (int i = 0; i < n; i++) {
    char id[64];
    snprintf(id, sizeof id, "cmp-%s-%d-%d", tag, round, i);
    wait_result(q, id);
  }
  *to_result = (double)(jd_unix_ms() - t0) / 1000.0;
  while (leftovers(host) > 0)
    usleep(20000);
  *to_clean = (double)(jd_unix_ms() - t0) / 1000.0;
  kill(pid, SIGTERM);
  waitpid(pid, NULL, 0);
  if (leftovers(host) > 0)
    printf("  %s: leftovers after the daemon exited!\n", tag);
  bench_drop_stock(dk, host);
  t_rmdir(state);
}

/* This build against base, alternating, rounds times; medians. */
static void compare(jd_queue *q, const char *base, int n, int rounds) {
  double res[2][16], clean[2][16], seq[2][16];
  const char *bins[] = {JD_BINARY_DIR "/bin/judger", base}, *tags[] = {"this", "base"};
  if (rounds > 16)
    rounds = 16;
  for (int r = 0; r < rounds; r++)
    for (int b = 0; b < 2; b++) {
      throughput(q, bins[b], tags[b], r, n, &res[b][r], &clean[b][r], &seq[b][r]);
      printf("  round %d %s: one at a time %.0f ms to result; %d matches, last result %.1f s "
             "(%.1f/min), nothing left %.1f s (%.1f/min)\n",
             r, tags[b], seq[b][r], n, res[b][r], n * 60.0 / res[b][r], clean[b][r],
             n * 60.0 / clean[b][r]);
    }
  for (int b = 0; b < 2; b++) {
    qsort(res[b], (size_t)rounds, sizeof res[b][0], cmp_double);
    qsort(clean[b], (size_t)rounds, sizeof clean[b][0], cmp_double);
    qsort(seq[b], (size_t)rounds, sizeof seq[b][0], cmp_double);
  }
  printf("one match at a time, XADD -> result stored (median of rounds' medians): this %.0f ms, "
         "base %.0f ms, this/base %.2fx\n",
         seq[0][rounds / 2], seq[1][rounds / 2], seq[0][rounds / 2] / seq[1][rounds / 2]);
  double mr[2] = {res[0][rounds / 2], res[1][rounds / 2]};
  double mc[2] = {clean[0][rounds / 2], clean[1][rounds / 2]};
  printf("--slots 2, %d trivial matches, median of %d: this %.1f/min to the last result "
         "(%.1f/min to nothing left); base %.1f/min (%.1f/min); this/base %.2fx\n",
         n, rounds, n * 60.0 / mr[0], n * 60.0 / mc[0], n * 60.0 / mr[1], n * 60.0 / mc[1],
         mr[1] / mr[0]);
}

int main(int argc, char **argv) {
  bench_host_settings();
  int n = 12, rounds = 3;
  const char *base = NULL;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--base") && i + 1 < argc)
      base = argv[++i];
    else if (!strcmp(argv[i], "--rounds") && i + 1 < argc)
      rounds = atoi(argv[++i]);
    else
      n = atoi(argv[i]);
  }
  srv = t_redis_start(false, false);
  if (dk_client_new(&dk, NULL) || dk_ping(dk, NULL)) {
    fprintf(stderr, "the Docker engine is not reachable\n");
    return 1;
  }
  t_busybox_image(dk);
  jd_queue *q = NULL;
  jd_queue_opts qo = {.redis_url = srv->url, .consumer = "bench"};
  jd_queue_new(&q, &qo);
  jd_queue_setup(q);
  printf("judger daemon benchmark: %d trivial matches per run\n", n);
  if (base) {
    compare(q, base, n, rounds > 0 ? rounds : 1);
    jd_queue_free(q);
    dk_client_free(dk);
    t_redis_stop(srv);
    return 0;
  }

  for (int slots = 1; slots <= 2; slots++) {
    char host[64];
    snprintf(host, sizeof host, "bench-%d-%d", (int)getpid(), slots);
    char *state = t_tmpdir("bench");
    pid_t pid = spawn(JD_BINARY_DIR "/bin/judger", host, state, slots);
    wait_host(q, host);
    usleep(500000);
    long idle_rss = bench_rss_kb(pid);
    if (slots == 1) {
      /* Latency: one match at a time, the queue empty and the daemon idle
       * (blocked in XREADGROUP). */
      int64_t total[5], engine[5], judger[5];
      for (int i = 0; i < 5; i++) {
        char id[64];
        snprintf(id, sizeof id, "lat-%d", i);
        int64_t t0 = jd_unix_ms();
        submit_match(q, id, 1);
        int64_t created = 0, started = 0;
        if (game_logic_times(host, &created, &started)) {
          fprintf(stderr, "game logic container not seen\n");
          return 1;
        }
        total[i] = started - t0;
        engine[i] = started - created;
        judger[i] = total[i] - engine[i];
        wait_result(q, id);
      }
      qsort(total, 5, sizeof total[0], cmp_i64);
      qsort(engine, 5, sizeof engine[0], cmp_i64);
      qsort(judger, 5, sizeof judger[0], cmp_i64);
      printf("latency XADD -> game logic started (median of 5): %lld ms; engine create->start "
             "%lld ms; judger's part %lld ms (min %lld, max %lld)\n",
             (long long)total[2], (long long)engine[2], (long long)judger[2], (long long)judger[0],
             (long long)judger[4]);
      /* Idle CPU over 10 s. */
      usleep(1000000);
      long long c0 = cpu_ticks(pid);
      sleep(10);
      long long c1 = cpu_ticks(pid);
      double secs = (double)(c1 - c0) / (double)sysconf(_SC_CLK_TCK);
      printf("idle CPU over 10 s: %.2f s of CPU (%.2f%%)\n", secs, secs * 10.0);
    }
    int64_t t0 = jd_unix_ms();
    for (int i = 0; i < n; i++) {
      char id[64];
      snprintf(id, sizeof id, "tp-%d-%d", slots, i);
      submit_match(q, id, 0);
    }
    long busy_rss = 0;
    for (int i = 0; i < n; i++) {
      char id[64];
      snprintf(id, sizeof id, "tp-%d-%d", slots, i);
      for (;;) {
        char *r = NULL;
        if (jd_queue_get_result(&r, q, id) == 0 && r) {
          free(r);
          break;
        }
        long rss = bench_rss_kb(pid);
        if (rss > busy_rss)
          busy_rss = rss;
        usleep(20000);
      }
    }
    double secs = (double)(jd_unix_ms() - t0) / 1000.0;
    printf("--slots %d: %d trivial matches in %.1f s = %.1f matches/min; RSS idle %ld kB, "
           "max while running %ld kB\n",
           slots, n, secs, n * 60.0 / secs, idle_rss, busy_rss);
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    bench_drop_stock(dk, host);
    t_rmdir(state);
  }
  jd_queue_free(q);
  dk_client_free(dk);
  t_redis_stop(srv);
  return 0;
}
