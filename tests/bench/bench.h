/* Shared by the benchmarks: the median of a series, a process's RSS, a
 * spec parsed, a command run and timed with its output read. */
#ifndef JD_BENCH_H
#define JD_BENCH_H

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dockerapi/dockerapi.h"

#include "match/match_spec.h"

static inline int bench_cmp_ll(const void *a, const void *b) {
  long long x = *(const long long *)a, y = *(const long long *)b;
  return x < y ? -1 : x > y;
}

/* What the benchmarks' tasks ask of the host (docs/security.md): programs
 * in the checkout and under /tmp, git sources of every scheme; as
 * tests/CMakeLists.txt gives the tests. The environment's own win. */
static inline void bench_host_settings(void) {
  setenv("JUDGER_PROGRAM_ROOTS", JD_SOURCE_DIR ",/tmp", 0);
  setenv("JUDGER_GIT_SCHEMES", "https,ssh,http,git,file", 0);
  setenv("JUDGER_FETCH_PRIVATE", "true", 0);
}

/* Sorts v in place. */
static inline long long bench_median(long long *v, int n) {
  qsort(v, (size_t)n, sizeof *v, bench_cmp_ll);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* VmRSS of a process in kB; -1 when it cannot be read. */
static inline long bench_rss_kb(pid_t pid) {
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
  FILE *f = fopen(path, "r");
  long kb = -1;
  while (f && fgets(line, sizeof line, f))
    if (!strncmp(line, "VmRSS:", 6))
      kb = atol(line + 6);
  if (f)
    fclose(f);
  return kb;
}

/* Parses a spec the benchmark wrote and frees the text; NULL (said on
 * stderr) when it is refused. */
static inline jd_match_spec *bench_spec_parse(char *json) {
  jd_match_spec *spec = NULL;
  char err[256];
  if (json && jd_match_spec_parse(&spec, json, NULL, err, sizeof err))
    fprintf(stderr, "spec: %s\n", err);
  free(json);
  return spec;
}

/* A command's run: its stdout (NUL-terminated, truncated to the buffer),
 * the first stdout byte and the exit in ms from the fork, its status. */
typedef struct bench_proc {
  char *out; /* the caller's buffer */
  size_t out_cap, out_len;
  long long first_out, wall;
  int status;
} bench_proc;

/* A line reader for bench_proc_run that drops the lines. */
static inline void bench_no_line(void *ud, const char *line) { (void)ud, (void)line; }

/* Runs argv to its exit, stdout into r->out, each stderr line to on_line
 * (a line longer than 16 KiB is dropped: no progress event is that long).
 * 0 when it exited 0. */
static inline int bench_proc_run(bench_proc *r, char *const argv[],
                                 void (*on_line)(void *ud, const char *line), void *ud) {
  r->first_out = -1, r->out_len = 0, r->wall = -1, r->status = -1;
  int po[2], pe[2];
  if (pipe(po) || pipe(pe))
    return -1;
  int64_t t0 = dk_now_ms();
  pid_t pid = fork();
  if (pid == 0) {
    dup2(po[1], 1);
    dup2(pe[1], 2);
    close(po[0]), close(pe[0]), close(po[1]), close(pe[1]);
    execv(argv[0], argv);
    _exit(127);
  }
  close(po[1]), close(pe[1]);
  static char err[16384];
  size_t elen = 0;
  struct pollfd p[2] = {{.fd = po[0], .events = POLLIN}, {.fd = pe[0], .events = POLLIN}};
  while (p[0].fd >= 0 || p[1].fd >= 0) {
    if (poll(p, 2, -1) < 0)
      continue;
    if (p[0].revents) {
      ssize_t n = read(po[0], r->out + r->out_len, r->out_cap - 1 - r->out_len);
      if (n > 0 && r->first_out < 0)
        r->first_out = dk_now_ms() - t0;
      if (n <= 0)
        p[0].fd = -1;
      else
        r->out_len += (size_t)n;
    }
    if (p[1].revents) {
      ssize_t n = read(pe[0], err + elen, sizeof err - 1 - elen);
      if (n <= 0) {
        p[1].fd = -1;
        continue;
      }
      elen += (size_t)n;
      err[elen] = 0;
      char *nl;
      while ((nl = strchr(err, '\n'))) {
        *nl = 0;
        on_line(ud, err);
        elen -= (size_t)(nl + 1 - err);
        memmove(err, nl + 1, elen + 1);
      }
      if (elen == sizeof err - 1)
        elen = 0;
    }
  }
  r->out[r->out_len] = 0;
  close(po[0]), close(pe[0]);
  if (pid < 0 || waitpid(pid, &r->status, 0) < 0)
    return -1;
  r->wall = dk_now_ms() - t0;
  return WIFEXITED(r->status) && WEXITSTATUS(r->status) == 0 ? 0 : -1;
}

/* ---- shared code (bench.c, linked into every benchmark) -------------------- */

#include "dockerapi/counts.h"
#include "queue/queue.h"

/* The trivial match of bench_match and bench_scale: IMAGE for every
 * container, the test game logic in "bench" mode (starts every player,
 * waits for their exits, ends) and players that exit at once. */
#define BENCH_IMAGE "judger-test/busybox:1"
#define BENCH_TRIVIAL JD_SOURCE_DIR "/tests/judger/programs/trivial"
#define BENCH_FLOOR_MAX_PLAYERS 16

/* The floor of the trivial match of nplayers (at most 16): the same
 * containers (image, limits, binds, one internal network) by direct
 * libdockerapi calls, one after another: network create, game logic
 * create+start, each player create+start, wait all, read every log (*ttr,
 * the result), remove all, network remove (*wall); ms. Everything is
 * labelled judger.bench=<label>. Safe from several threads at once. 0 or
 * the failed call's dk code. */
int bench_floor_run(dk_client *dk, int nplayers, const char *label, long long *ttr,
                    long long *wall);

/* The trivial match's spec of nplayers; limits is inserted as is before
 * "config" (e.g. "\"limits\":{\"warm\":false},", or ""). The caller frees
 * it; NULL when out of memory. */
char *bench_trivial_spec(int nplayers, const char *limits);

/* `BIN daemon` on redis_url with --host-id host --state-dir state --slots
 * slots --lease-ms 5000 --log-level warn, then extra (more flags, may be
 * ""), stderr to <state>/daemon.log, JUDGER_CONFIG empty. Exits the
 * benchmark when it cannot fork. */
pid_t bench_daemon_spawn(const char *bin, const char *redis_url, const char *host,
                         const char *state, int slots, const char *extra);
/* Waits (30 s at most) until the daemon of host has registered; exits the
 * benchmark otherwise. */
void bench_wait_host(jd_queue *q, const char *host);
/* Submits the daemon test game's match (tests/support: a game logic that
 * runs `turns` seconds and one idle player) as task id; exits on failure. */
void bench_submit_match(jd_queue *q, const char *id, int turns);
/* Waits (60 s at most) for the task's result; exits the benchmark
 * otherwise. */
void bench_wait_result(jd_queue *q, const char *id);
/* Labelled containers and networks of host (judger.host=<host>), the idle
 * networks of its stock (judger.role=stock) left out. */
size_t bench_leftovers(dk_client *dk, const char *host);
/* Removes the unused networks labelled judger.host=<host> (the stock a
 * run or a daemon of that host id kept, net_stock.h): the benchmark's own
 * host ids only. */
void bench_drop_stock(dk_client *dk, const char *host);
/* Waits (untimed, at most a minute) until no run file is left under
 * <state_dir>/runs: a `judger run` that exits with its result tears the
 * match down in a process of its own, holding its run file until the end
 * (docs/match-spec.md). */
void bench_settle_runs(const char *state_dir);
/* A TCP port of 127.0.0.1 free now (for --metrics-listen); -1 if none. */
int bench_free_port(void);
/* judger_engine_requests_total{kind} from the daemon's /metrics on port:
 * 0, or -1 when it does not answer or lacks the family (an older build). */
int bench_engine_requests(dk_call_counts *out, int port);
/* A unix-socket forwarder to the engine ($DOCKER_HOST's unix socket, else
 * /var/run/docker.sock) that counts the HTTP requests its clients send, by
 * kind (dk_call_kind_of): the engine calls of any binary, an older one
 * without counters included, seen the same way. Listens on
 * <dir>/docker.sock; NULL when it cannot. Stop it when done (the struct
 * itself stays allocated: open connections still count into it). */
typedef struct bench_count_proxy bench_count_proxy;
bench_count_proxy *bench_count_proxy_start(const char *dir);
/* "unix://<dir>/docker.sock", the DOCKER_HOST of whoever is counted. */
const char *bench_count_proxy_host(const bench_count_proxy *p);
void bench_count_proxy_counts(dk_call_counts *out, bench_count_proxy *p);
void bench_count_proxy_stop(bench_count_proxy *p);

/* A line "<what> N (kind n, kind n, ...)": the calls per match between
 * two readings over matches matches; the kinds of more than 0.05. */
void bench_print_calls(const char *what, const dk_call_counts *before, const dk_call_counts *after,
                       int matches);

/* A match task of id (its match's id too) from the spec file at path (a
 * sample's: its programs' relative dirs made absolute against the spec's
 * directory), config's keys (a JSON object's text, may be NULL) set over
 * the spec's "config": {"id", "type": "match", "match": spec}, compact.
 * The caller frees it; NULL (said on stderr) when it cannot. */
char *bench_spec_task(const char *path, const char *id, const char *config);

#endif
