/* Benchmark of live watching (issue 25; figures for docs/performance.md
 * "Live watching"). One `judger daemon` (a host id of its own, 1 slot, the
 * metrics server on a free port, a watch key of the benchmark's) on a
 * redis-server of the benchmark's runs matches of
 * tests/bench/games/live/game.c (compiled static here, run from the
 * busybox image): a game logic that starts no player, waits lead_ms, sends
 * N frames at a rate, each frame's data carrying its send time in unix ms
 * with 3 decimals (the container shares the host's clock), then ends the
 * match with the time its frames took to write in its message.
 *
 *  - latency: one match of F frames at R a second (spec frames_per_sec
 *    1000), watched at once by an SSE client (GET /live/<task>?token=..,
 *    HTTP/1.0, one thread), the terminal path's reader (jd_queue_live_read,
 *    XREAD BLOCK on the task's stream, as `judger watch` reads it) and the
 *    real `judger watch TASK --json` binary (its stdout lines): for each
 *    frame, the time it was read minus its send time; median, p99, max,
 *    frames seen. Goal: median < 50 ms, p99 < 200 ms.
 *  - wall time: matches of 1500 frames back to back (frames_per_sec 10000),
 *    with 0, 1 and 50 SSE watchers, K runs each, interleaved: the match's
 *    duration_ms (result.json) and the game logic's send time; medians and
 *    their ratio to 0 watchers, and the watchers' latency of those frames
 *    (pooled). Goal: no measurable change.
 *  - memory: a match of 1300 frames of about frame_max_bytes (8192, the
 *    default) and one of 2500 frames of ~130 bytes, at the default caps
 *    (live_entries 2000, live_max_bytes 8 MiB: maxlen min(2000, 8 MiB /
 *    5/4 (8192 + 512)) = 771): the stream's XLEN and MEMORY USAGE
 *    (SAMPLES 0) once its match.done is in.
 *
 * Needs the engine, redis-server and a static libc for gcc; run
 *  - a real game (--game tron, or all: both): the Tron sample
 *    (samples/specs/tron-2p.json, its C and Python bots) as a match task,
 *    default frame limits (a frame per turn, frames_per_sec 100: the excess
 *    is dropped), with 0, 1 and 50 SSE watchers, K runs each interleaved
 *    (after one run not counted: the builds): duration_ms medians, min/max,
 *    ratio to 0 watchers, result.json's "live" counts, how many watchers got
 *    match.done; then paced (config frame_delay_ms 10, rounds 1: no drops).
 *
 *   build/bin/bench_live [--game flood|tron|all] [--frames F] [--rate R] [--runs K]
 *                        [--watchers W] [--wall-frames N]
 *   (defaults flood, 250, 50, 3 (5 for tron), 50, 1500) */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <json-c/json.h>

#include "bench.h"
#include "common/watch_token.h"
#include "queue/live.h"
#include "queue/queue.h"
#include "queue/redis.h"
#include "redis_server.h"
#include "support.h"

#define SRC JD_SOURCE_DIR "/tests/bench/games/live"
#define PREFIX "judger"
#define MAXW 64

static t_redis *srv;
static jd_queue *q;
static char root[] = "/tmp/jdbench-live-XXXXXX";
static char app[PATH_MAX], host[64];
static unsigned char key[32];
static int port;

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_REALTIME, &t);
  return (double)t.tv_sec * 1000.0 + (double)t.tv_nsec / 1e6;
}

/* ---- figures
 * ----------------------------------------------------------------- */

typedef struct series {
  double *v;
  int n, cap;
} series;

static void series_add(series *s, double x) {
  if (s->n == s->cap) {
    s->cap = s->cap ? 2 * s->cap : 256;
    s->v = realloc(s->v, (size_t)s->cap * sizeof *s->v);
    if (!s->v)
      exit(1);
  }
  s->v[s->n++] = x;
}

static int cmp_d(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* The p-th percentile (nearest rank) of s, sorted in place; -1 when empty. */
static double pct(series *s, double p) {
  if (!s->n)
    return -1;
  qsort(s->v, (size_t)s->n, sizeof *s->v, cmp_d);
  int k = (int)ceil(p / 100.0 * s->n) - 1;
  return s->v[k < 0 ? 0 : k >= s->n ? s->n - 1 : k];
}

static void print_latency(const char *what, series *s, int sent) {
  printf("%-28s frames %4d/%d  median %7.2f ms  p99 %7.2f ms  max %7.2f ms\n", what, s->n, sent,
         pct(s, 50), pct(s, 99), pct(s, 100));
}

/* The frame's send time ("t" of its data) in an event's JSON; -1 when the
 * line is not a match.frame. */
static double frame_time(const char *json) {
  if (!strstr(json, "\"match.frame\""))
    return -1;
  const char *d = strstr(json, "\"data\"");
  const char *t = d ? strstr(d, "\"t\":") : NULL;
  return t ? strtod(t + 4, NULL) : -1;
}

/* ---- the matches
 * ------------------------------------------------------------- */

static void submit(const char *id, int frames, int rate, int pad, int lead_ms, int fps) {
  char *json = NULL;
  if (asprintf(&json,
               "{\"id\":\"%s\",\"type\":\"match\",\"match\":{\"id\":\"%s\","
               "\"game_logic\":{"
               "\"id\":\"live-game\",\"image\":\"" BENCH_IMAGE "\",\"dir\":\"%s\",\"cmd\":["
               "\"/app/"
               "game\"]},\"players\":[{\"id\":\"idle\",\"image\":\"" BENCH_IMAGE
               "\",\"cmd\":[\"true\"]}],\"limits\":{\"frames_per_sec\":%d},"
               "\"config\":{"
               "\"frames\":%d,\"rate\":%d,\"pad\":%d,\"lead_ms\":%d}}}",
               id, id, app, fps, frames, rate, pad, lead_ms) < 0 ||
      jd_queue_submit(NULL, q, JD_PRIO_MATCH, id, json)) {
    fprintf(stderr, "submit %s: %s\n", id, json ? jd_queue_error(q) : "out of memory");
    exit(1);
  }
  free(json);
}

/* The stored result (2 minutes at most); exits the benchmark otherwise. */
static char *wait_result(const char *id) {
  for (int i = 0; i < 12000; i++) {
    char *r = NULL;
    if (jd_queue_get_result(&r, q, id) == 0 && r)
      return r;
    usleep(10000);
  }
  fprintf(stderr, "no result for %s (see %s/state/daemon.log)\n", id, root);
  exit(1);
}

/* The number after "key": in text (the first), or -1. */
static double num_after(const char *text, const char *key) {
  const char *p = strstr(text, key);
  return p ? strtod(p + strlen(key), NULL) : -1;
}

/* ---- an SSE watcher
 * ------------------------------------------------------------ */

typedef struct sse {
  char task[128];
  pthread_t th;
  series lat;
  int status; /* the last answer's HTTP status */
  bool ended; /* saw "event: end" */
  bool done;  /* saw the match.done event */
  int frames; /* match.frame events seen */
  double until;
} sse;

static int tcp_connect(void) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_port = htons((uint16_t)port),
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  struct timeval tv = {10, 0};
  if (fd >= 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0)
    return fd;
  if (fd >= 0)
    close(fd);
  return -1;
}

/* One complete line of the stream (the head's lines too). */
static void sse_line(sse *w, char *line, bool *head) {
  size_t n = strlen(line);
  if (n && line[n - 1] == '\r')
    line[--n] = 0;
  if (*head) {
    if (!strncmp(line, "HTTP/", 5))
      w->status = atoi(strchr(line, ' ') ? strchr(line, ' ') + 1 : "0");
    if (!n)
      *head = false;
    return;
  }
  if (!strcmp(line, "event: end"))
    w->ended = true;
  if (strncmp(line, "data: ", 6))
    return;
  w->done |= strstr(line, "\"match.done\"") != NULL;
  w->frames += strstr(line, "\"match.frame\"") != NULL;
  double t = frame_time(line + 6);
  if (t > 1e12) /* a unix time in ms: the flood's (a Tron turn's "t" is its number) */
    series_add(&w->lat, now_ms() - t);
}

/* One request: reads the answer to its end. */
static void sse_once(sse *w, const char *token) {
  int fd = tcp_connect();
  if (fd < 0)
    return;
  char req[512];
  int n = snprintf(req, sizeof req, "GET /live/%s?token=%s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n",
                   w->task, token);
  if (send(fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
    close(fd);
    return;
  }
  static __thread char buf[1 << 17];
  size_t len = 0;
  bool head = true;
  for (;;) {
    if (len == sizeof buf - 1)
      len = 0; /* a line longer than the buffer: not one of ours */
    ssize_t r = recv(fd, buf + len, sizeof buf - 1 - len, 0);
    if (r <= 0)
      break;
    len += (size_t)r;
    buf[len] = 0;
    char *s = buf, *nl;
    while ((nl = strchr(s, '\n'))) {
      *nl = 0;
      sse_line(w, s, &head);
      s = nl + 1;
    }
    len -= (size_t)(s - buf);
    memmove(buf, s, len + 1);
  }
  close(fd);
}

static void *sse_main(void *ud) {
  sse *w = ud;
  char token[JD_WATCH_TOKEN_HEX + 1];
  if (jd_watch_token(token, key, sizeof key, w->task))
    return NULL;
  /* 404 until the task's attempt opens its stream: asked again. */
  while (!w->ended && now_ms() < w->until) {
    w->status = 0;
    sse_once(w, token);
    if (w->status == 200)
      break;
    usleep(20000);
  }
  return NULL;
}

static void sse_start(sse *w, const char *task) {
  memset(w, 0, sizeof *w);
  snprintf(w->task, sizeof w->task, "%s", task);
  w->until = now_ms() + 120000;
  if (pthread_create(&w->th, NULL, sse_main, w))
    exit(1);
}

/* ---- the terminal path: jd_queue_live_read
 * ------------------------------------- */

typedef struct term {
  char task[128];
  pthread_t th;
  series lat;
  bool done;
} term;

static void *term_main(void *ud) {
  term *w = ud;
  jd_queue *tq = NULL;
  jd_queue_opts qo = {.redis_url = srv->url, .prefix = PREFIX, .consumer = "bench-watch"};
  if (jd_queue_new(&tq, &qo))
    return NULL;
  char after[48] = "0";
  for (double until = now_ms() + 120000; !w->done && now_ms() < until;) {
    jd_live_entries e = {0};
    if (jd_queue_live_read(&e, tq, w->task, after, 500, 1000)) {
      usleep(10000);
      continue;
    }
    double at = now_ms();
    for (size_t i = 0; i < e.n; i++) {
      double t = frame_time(e.v[i].json);
      if (t > 0)
        series_add(&w->lat, at - t);
      if (strstr(e.v[i].json, "\"match.done\""))
        w->done = true;
      snprintf(after, sizeof after, "%s", e.v[i].id);
    }
    jd_live_entries_free(&e);
  }
  jd_queue_free(tq);
  return NULL;
}

/* ---- the real `judger watch --json`
 * ------------------------------------------------ */

typedef struct cli {
  pthread_t th;
  pid_t pid;
  int fd; /* its stdout */
  series lat;
  int status;
} cli;

static void *cli_main(void *ud) {
  cli *c = ud;
  FILE *f = fdopen(c->fd, "r");
  static char line[1 << 17];
  while (f && fgets(line, sizeof line, f)) {
    double t = frame_time(line);
    if (t > 0)
      series_add(&c->lat, now_ms() - t);
  }
  if (f)
    fclose(f);
  waitpid(c->pid, &c->status, 0);
  return NULL;
}

static int cli_start(cli *c, const char *task) {
  memset(c, 0, sizeof *c);
  int p[2];
  if (pipe(p))
    return -1;
  c->pid = fork();
  if (c->pid == 0) {
    dup2(p[1], 1);
    int null = open("/dev/null", O_WRONLY);
    dup2(null, 2);
    close(p[0]), close(p[1]);
    setenv("JUDGER_CONFIG", "", 1);
    execl(JD_BINARY_DIR "/bin/judger", "judger", "watch", task, "--json", "--redis", srv->url,
          "--prefix", PREFIX, (char *)NULL);
    _exit(127);
  }
  close(p[1]);
  c->fd = p[0];
  return c->pid < 0 || pthread_create(&c->th, NULL, cli_main, c) ? -1 : 0;
}

/* ---- the phases
 * ----------------------------------------------------------------- */

static void latency(int frames, int rate) {
  char id[64];
  snprintf(id, sizeof id, "lat-%d", (int)getpid());
  sse s;
  term t = {0};
  cli c;
  snprintf(t.task, sizeof t.task, "%s", id);
  sse_start(&s, id);
  if (pthread_create(&t.th, NULL, term_main, &t))
    exit(1);
  submit(id, frames, rate, 100, 2000, 1000);
  bool have_cli = cli_start(&c, id) == 0;
  free(wait_result(id));
  pthread_join(s.th, NULL);
  pthread_join(t.th, NULL);
  if (have_cli)
    pthread_join(c.th, NULL);
  printf("latency: %d frames at %d/s, game logic -> watcher (send time in the "
         "frame)\n",
         frames, rate);
  print_latency("  SSE (GET /live/<task>)", &s.lat, frames);
  print_latency("  terminal (live_read XREAD)", &t.lat, frames);
  if (have_cli) {
    print_latency("  terminal (judger watch)", &c.lat, frames);
    if (!WIFEXITED(c.status) || WEXITSTATUS(c.status))
      printf("  (judger watch exited %d)\n", WIFEXITED(c.status) ? WEXITSTATUS(c.status) : -1);
  }
  free(s.lat.v), free(t.lat.v), free(c.lat.v);
}

typedef struct wall_run {
  double dur, send_ms;
  int min_seen; /* fewest frames one watcher saw; -1 without watchers */
} wall_run;

static wall_run wall_one(int nw, int r, int frames, series *pool) {
  static sse w[MAXW];
  char id[64];
  snprintf(id, sizeof id, "wall-%d-%d-%d", (int)getpid(), nw, r);
  submit(id, frames, 0, 200, 1000, 10000);
  for (int i = 0; i < nw; i++)
    sse_start(&w[i], id);
  char *res = wait_result(id);
  wall_run out = {num_after(res, "\"duration_ms\":"), num_after(res, "send_us=") / 1000.0,
                  nw ? INT_MAX : -1};
  if (!strstr(res, "\"status\":\"finished\""))
    fprintf(stderr, "%s did not finish: %.300s\n", id, res);
  free(res);
  for (int i = 0; i < nw; i++) {
    pthread_join(w[i].th, NULL);
    if (w[i].lat.n < out.min_seen)
      out.min_seen = w[i].lat.n;
    for (int k = 0; k < w[i].lat.n; k++)
      series_add(pool, w[i].lat.v[k]);
    free(w[i].lat.v);
  }
  return out;
}

static void wall(int runs, int many, int frames) {
  const int counts[3] = {0, 1, many};
  series dur[3] = {0}, send[3] = {0}, lat[3] = {0};
  int seen[3] = {INT_MAX, INT_MAX, INT_MAX};
  for (int r = 0; r < runs; r++)
    for (int k = 0; k < 3; k++) {
      wall_run w = wall_one(counts[k], r, frames, &lat[k]);
      series_add(&dur[k], w.dur);
      series_add(&send[k], w.send_ms);
      if (w.min_seen < seen[k])
        seen[k] = w.min_seen;
    }
  printf("wall time: %d frames back to back, %d runs each (medians; ratio to 0 "
         "watchers)\n",
         frames, runs);
  double d0 = pct(&dur[0], 50), s0 = pct(&send[0], 50);
  for (int k = 0; k < 3; k++) {
    double d = pct(&dur[k], 50), s = pct(&send[k], 50);
    printf("  %2d SSE watchers: match %7.1f ms (x%.3f, min %.1f max %.1f)  "
           "frames written in "
           "%7.1f ms (x%.3f)",
           counts[k], d, d / d0, pct(&dur[k], 0), pct(&dur[k], 100), s, s / s0);
    if (counts[k])
      printf("\n      fewest frames a watcher saw %d/%d; latency of the flood's frames: median "
             "%.2f ms, p99 %.2f ms, max %.2f ms",
             seen[k], frames, pct(&lat[k], 50), pct(&lat[k], 99), pct(&lat[k], 100));
    printf("\n");
    free(dur[k].v), free(send[k].v), free(lat[k].v);
  }
}

/* XLEN and MEMORY USAGE of the task's stream once its match.done is in. */
static void memory_one(const char *what, const char *id, int frames, int pad) {
  submit(id, frames, 0, pad, 500, 10000);
  free(wait_result(id));
  char k[192];
  snprintf(k, sizeof k, PREFIX ":live:%s", id);
  jd_redis *rd = jd_queue_redis(q);
  redisReply *r = NULL;
  for (int i = 0; i < 500; i++) { /* the pusher flushes after the result */
    const char *argv[] = {"XREVRANGE", k, "+", "-", "COUNT", "1"};
    bool done = jd_redis_command_argv(&r, rd, 0, 6, argv, NULL) == 0 && r->elements &&
                strstr(r->element[0]->element[1]->element[1]->str, "match.done");
    freeReplyObject(r);
    r = NULL;
    if (done)
      break;
    usleep(10000);
  }
  const char *xl[] = {"XLEN", k}, *mu[] = {"MEMORY", "USAGE", k, "SAMPLES", "0"};
  long long len = -1, bytes = -1;
  if (jd_redis_command_argv(&r, rd, 0, 2, xl, NULL) == 0)
    len = r->integer;
  freeReplyObject(r);
  r = NULL;
  if (jd_redis_command_argv(&r, rd, 0, 5, mu, NULL) == 0)
    bytes = r->integer;
  freeReplyObject(r);
  printf("  %s: %d frames sent, %lld entries kept, MEMORY USAGE %lld bytes "
         "(%.2f MiB, %.0f B an "
         "entry)\n",
         what, frames, len, bytes, (double)bytes / 1048576.0, len > 0 ? (double)bytes / len : 0);
}

static void memory(void) {
  char id[2][64];
  snprintf(id[0], sizeof id[0], "mem-big-%d", (int)getpid());
  snprintf(id[1], sizeof id[1], "mem-small-%d", (int)getpid());
  printf("memory: a live stream at the default caps (live_entries 2000, "
         "live_max_bytes 8 MiB)\n");
  memory_one("frames of ~8 KiB (frame_max_bytes)", id[0], 1300, 8192 - 64);
  memory_one("frames of ~130 B", id[1], 2500, 100);
}

/* ---- a real game: the Tron sample
 * ------------------------------------------------------ */

#define TRON_SPEC JD_SOURCE_DIR "/samples/specs/tron-2p.json"

typedef struct tron_run {
  double dur;
  int passed, dropped; /* result.json's live.frames, dropped_size + dropped_rate */
  int done;            /* watchers that got match.done */
  int full;            /* watchers that saw every frame passed on */
} tron_run;

static int64_t json_int(json_object *o, const char *k1, const char *k2) {
  json_object *v = o;
  if (!json_object_object_get_ex(v, k1, &v) || (k2 && !json_object_object_get_ex(v, k2, &v)))
    return -1;
  return json_object_get_int64(v);
}

static tron_run tron_one(int nw, const char *id, const char *cfg) {
  static sse w[MAXW];
  char *task = bench_spec_task(TRON_SPEC, id, cfg);
  if (!task || jd_queue_submit(NULL, q, JD_PRIO_MATCH, id, task)) {
    fprintf(stderr, "submit %s: %s\n", id, task ? jd_queue_error(q) : "no spec");
    exit(1);
  }
  free(task);
  for (int i = 0; i < nw; i++)
    sse_start(&w[i], id);
  char *res = wait_result(id);
  json_object *o = json_tokener_parse(res), *st;
  tron_run out = {(double)json_int(o, "duration_ms", NULL), (int)json_int(o, "live", "frames"),
                  (int)(json_int(o, "live", "dropped_size") + json_int(o, "live", "dropped_rate")),
                  0, 0};
  if (!json_object_object_get_ex(o, "status", &st) ||
      strcmp(json_object_get_string(st), "finished"))
    fprintf(stderr, "%s did not finish: %.300s\n", id, res);
  json_object_put(o);
  free(res);
  for (int i = 0; i < nw; i++) {
    pthread_join(w[i].th, NULL);
    out.done += w[i].done;
    out.full += w[i].frames >= out.passed;
    free(w[i].lat.v);
  }
  return out;
}

/* K runs of 0, 1 and many watchers, interleaved, after one run not counted
 * (the programs' builds land in the cache). */
static void tron(const char *what, const char *cfg, int runs, int many) {
  const int counts[3] = {0, 1, many};
  series dur[3] = {0}, passed[3] = {0}, dropped[3] = {0};
  int done[3] = {0}, full[3] = {0};
  char id[96];
  snprintf(id, sizeof id, "tron-%d-%s-warmup", (int)getpid(), what);
  tron_one(0, id, cfg);
  for (int r = 0; r < runs; r++)
    for (int k = 0; k < 3; k++) {
      snprintf(id, sizeof id, "tron-%d-%s-%d-%d", (int)getpid(), what, counts[k], r);
      tron_run t = tron_one(counts[k], id, cfg);
      series_add(&dur[k], t.dur), series_add(&passed[k], t.passed);
      series_add(&dropped[k], t.dropped);
      done[k] += t.done;
      full[k] += t.full;
    }
  printf("tron (%s, config %s): %d runs each, interleaved; match duration_ms\n", "tron-2p.json",
         cfg ? cfg : "as is", runs);
  double d0 = pct(&dur[0], 50);
  for (int k = 0; k < 3; k++) {
    double d = pct(&dur[k], 50);
    printf("  %2d SSE watchers: median %7.1f ms (x%.3f, min %.1f max %.1f)  frames sent %.0f "
           "passed %.0f dropped %.0f (medians)",
           counts[k], d, d / d0, pct(&dur[k], 0), pct(&dur[k], 100),
           pct(&passed[k], 50) + pct(&dropped[k], 50), pct(&passed[k], 50), pct(&dropped[k], 50));
    if (counts[k])
      printf("\n      match.done seen by %d/%d watchers; every frame passed on seen by %d/%d",
             done[k], counts[k] * runs, full[k], counts[k] * runs);
    printf("\n");
    fflush(stdout);
    free(dur[k].v), free(passed[k].v), free(dropped[k].v);
  }
}

/* ---- setup
 * ----------------------------------------------------------------------- */

static void build_game(void) {
  snprintf(app, sizeof app, "%s/app", root);
  char cmd[PATH_MAX * 3];
  snprintf(cmd, sizeof cmd, "gcc -std=gnu11 -O2 -static -o %s/game %s/game.c 2>%s/cc.log", app, SRC,
           root);
  if (chmod(root, 0755) || mkdir(app, 0755) || system(cmd)) {
    fprintf(stderr, "bench_live: cannot compile game.c (see %s/cc.log)\n", root);
    exit(1);
  }
}

static pid_t setup(void) {
  if (!mkdtemp(root))
    exit(1);
  build_game();
  srv = t_redis_start(false, false);
  dk_client *dk = NULL;
  if (dk_client_new(&dk, NULL) || dk_ping(dk, NULL)) {
    fprintf(stderr, "the Docker engine is not reachable\n");
    exit(1);
  }
  t_busybox_image(dk);
  dk_client_free(dk);
  char kf[PATH_MAX], state[PATH_MAX], extra[PATH_MAX + 128];
  snprintf(kf, sizeof kf, "%s/watch.key", root);
  snprintf(state, sizeof state, "%s/state", root);
  for (size_t i = 0; i < sizeof key; i++)
    key[i] = (unsigned char)('a' + rand() % 26);
  FILE *f = fopen(kf, "w");
  if (!f || fwrite(key, 1, sizeof key, f) != sizeof key || fclose(f) || chmod(kf, 0600) ||
      mkdir(state, 0755))
    exit(1);
  port = bench_free_port();
  snprintf(host, sizeof host, "blive-%d", (int)getpid());
  snprintf(extra, sizeof extra, "--metrics-listen 127.0.0.1:%d --watch-key-file %s --http-per-ip 0",
           port, kf);
  jd_queue_opts qo = {.redis_url = srv->url, .prefix = PREFIX, .consumer = "bench"};
  if (jd_queue_new(&q, &qo) || jd_queue_setup(q)) {
    fprintf(stderr, "redis: %s\n", jd_queue_error(q));
    exit(1);
  }
  pid_t pid = bench_daemon_spawn(JD_BINARY_DIR "/bin/judger", srv->url, host, state, 1, extra);
  bench_wait_host(q, host);
  return pid;
}

int main(int argc, char **argv) {
  bench_host_settings();
  signal(SIGPIPE, SIG_IGN);
  srand((unsigned)time(NULL) ^ (unsigned)getpid());
  int frames = 250, rate = 50, runs = 0, many = 50, wall_frames = 1500;
  const char *game = "flood";
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--frames"))
      frames = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--rate"))
      rate = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--runs"))
      runs = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--watchers"))
      many = atoi(argv[i + 1]) < MAXW ? atoi(argv[i + 1]) : MAXW;
    else if (!strcmp(argv[i], "--wall-frames"))
      wall_frames = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--game"))
      game = argv[i + 1];
  }
  bool flood = strcmp(game, "tron"), real = strcmp(game, "flood");
  pid_t pid = setup();
  if (flood) {
    latency(frames, rate);
    wall(runs ? runs : 3, many, wall_frames);
    memory();
  }
  if (real) {
    tron("unpaced", NULL, runs ? runs : 5, many);
    tron("paced", "{\"frame_delay_ms\":10,\"rounds\":1}", runs ? runs : 5, many);
  }
  kill(pid, SIGTERM);
  waitpid(pid, NULL, 0);
  dk_client *dk = NULL;
  if (dk_client_new(&dk, NULL) == 0)
    bench_drop_stock(dk, host);
  dk_client_free(dk);
  jd_queue_free(q);
  t_redis_stop(srv);
  char cmd[PATH_MAX + 16];
  snprintf(cmd, sizeof cmd, "rm -rf %s", root);
  if (system(cmd))
    fprintf(stderr, "bench_live: %s left\n", root);
  return 0;
}
