/* The code the benchmarks share (see bench.h): the floor of a trivial
 * match, its spec, and a daemon started, fed and read. Linked into every
 * bench_* program (tests/CMakeLists.txt). */
#include <arpa/inet.h>
#include <dirent.h>
#include <libgen.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <json-c/json.h>

#include "bench.h"
#include "daemon_proc.h"
#include "http_client.h"
#include "match/match_limits.h"
#include "support.h"

/* ---- the floor ---------------------------------------------------------------- */

static int discard(void *ud, int stream, const char *data, size_t len) {
  (void)ud, (void)stream, (void)data, (void)len;
  return 0;
}

int bench_floor_run(dk_client *dk, int nplayers, const char *label, long long *ttr,
                    long long *wall) {
  static int seq;
  char net[128], name[160], bind[600];
  snprintf(net, sizeof net, "jdbench-floor-%d-%d", (int)getpid(),
           __atomic_fetch_add(&seq, 1, __ATOMIC_RELAXED));
  snprintf(bind, sizeof bind, "%s:/app:ro", BENCH_TRIVIAL);
  const char *binds[] = {bind, NULL};
  static const char *const cmd[] = {"sh", "/app/main.sh", NULL};
  dk_kv labels[] = {{"judger.bench", label}};
  jd_match_limits lim;
  jd_match_limits_default(&lim);
  char *ids[1 + BENCH_FLOOR_MAX_PLAYERS] = {0};
  int n = 1 + (nplayers < BENCH_FLOOR_MAX_PLAYERS ? nplayers : BENCH_FLOOR_MAX_PLAYERS), rc = 0;
  int64_t t0 = dk_now_ms();
  char *net_id = NULL;
  dk_kv opts[1] = {{"com.docker.network.bridge.inhibit_ipv4", "true"}};
  dk_network_config nc = {
      .internal = true, .labels = labels, .nlabels = 1, .options = opts, .noptions = 1};
  if ((rc = dk_network_create(&net_id, dk, net, &nc)))
    goto done;
  for (int i = 0; i < n; i++) {
    dk_container_config cc = {
        .image = BENCH_IMAGE, .cmd = cmd, .labels = labels, .nlabels = 1, .user = "65534:65534"};
    jd_limits_store st;
    jd_limits_host_config(&cc.host, &st, i ? &lim.player : &lim.game_logic, net);
    cc.host.binds = binds;
    const char *alias[] = {i ? "p" : "game", NULL};
    cc.aliases = alias;
    snprintf(name, sizeof name, "%s-%d", net, i);
    if ((rc = dk_container_create(&ids[i], dk, name, &cc)) || (rc = dk_container_start(dk, ids[i])))
      goto done;
  }
  for (int i = 0; i < n; i++) {
    int64_t code;
    if ((rc = dk_container_wait(&code, dk, ids[i], NULL, NULL)))
      goto done;
  }
  dk_logs_opts lo = {.follow = false};
  for (int i = 0; i < n; i++)
    if ((rc = dk_container_logs(dk, ids[i], &lo, discard, NULL, NULL)))
      goto done;
  *ttr = dk_now_ms() - t0;
done:
  for (int i = 0; i < n; i++)
    if (ids[i])
      dk_container_remove(dk, ids[i], true, true), free(ids[i]);
  if (net_id)
    dk_network_remove(dk, net_id);
  free(net_id);
  *wall = dk_now_ms() - t0;
  return rc;
}

char *bench_trivial_spec(int nplayers, const char *limits) {
  char players[8192] = "", plan[128] = "";
  for (int i = 0; i < nplayers; i++) {
    char one[512];
    snprintf(one, sizeof one,
             "%s{\"id\":\"t%d\",\"image\":\"" BENCH_IMAGE "\",\"dir\":\"" BENCH_TRIVIAL
             "\",\"cmd\":[\"sh\",\"/app/main.sh\"]}",
             i ? "," : "", i);
    strncat(players, one, sizeof players - strlen(players) - 1);
    snprintf(plan + strlen(plan), sizeof plan - strlen(plan), "%s%d", i ? " " : "", i);
  }
  char *s = NULL;
  if (asprintf(&s,
               "{\"id\":\"bench%d\",\"game_logic\":{\"id\":\"game\",\"image\":\"" BENCH_IMAGE
               "\",\"dir\":\"" JD_SOURCE_DIR "/tests/judger/programs/game\","
               "\"cmd\":[\"sh\",\"/app/main.sh\"]},\"players\":[%s],%s"
               "\"config\":{\"mode\":\"bench\",\"plan\":\"%s\"}}",
               nplayers, players, limits, plan) < 0)
    return NULL;
  return s;
}

/* ---- a daemon ------------------------------------------------------------------- */

pid_t bench_daemon_spawn(const char *bin, const char *redis_url, const char *host,
                         const char *state, int slots, const char *extra) {
  char *cmd = NULL;
  if (asprintf(&cmd,
               "exec %s daemon --redis %s --host-id %s --state-dir %s --slots %d "
               "--lease-ms 5000 --log-level warn %s 2>>%s/daemon.log",
               bin, redis_url, host, state, slots, extra ? extra : "", state) < 0)
    exit(1);
  pid_t pid = fork();
  if (pid == 0) {
    setenv("JUDGER_CONFIG", "", 1);
    execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
    _exit(127);
  }
  free(cmd);
  if (pid < 0)
    exit(1);
  return pid;
}

void bench_wait_host(jd_queue *q, const char *host) {
  for (int i = 0; i < 3000; i++) {
    redisReply *rep = NULL;
    if (jd_redis_command(&rep, jd_queue_redis(q), "EXISTS judger:host:%s", host) == 0) {
      long long n = rep->integer;
      freeReplyObject(rep);
      if (n)
        return;
    }
    usleep(10000);
  }
  fprintf(stderr, "daemon %s never registered\n", host);
  exit(1);
}

void bench_submit_match(jd_queue *q, const char *id, int turns) {
  char *json = t_game_match_json(id, turns);
  if (!json || jd_queue_submit(NULL, q, JD_PRIO_MATCH, id, json)) {
    fprintf(stderr, "submit: %s\n", json ? jd_queue_error(q) : "out of memory");
    exit(1);
  }
  free(json);
}

void bench_wait_result(jd_queue *q, const char *id) {
  for (int i = 0; i < 6000; i++) {
    char *r = NULL;
    if (jd_queue_get_result(&r, q, id) == 0 && r) {
      free(r);
      return;
    }
    usleep(10000);
  }
  fprintf(stderr, "no result for %s\n", id);
  exit(1);
}

size_t bench_leftovers(dk_client *dk, const char *host) {
  char l[160];
  snprintf(l, sizeof l, "judger.host=%s", host);
  const char *labels[] = {l, NULL};
  dk_container_list *cl = NULL;
  dk_network_list *nl = NULL;
  size_t n = 0;
  if (dk_container_list_by_label(&cl, dk, true, labels) == 0)
    n += cl->count;
  if (dk_network_list_by_label(&nl, dk, labels) == 0)
    n += nl->count;
  dk_network_list_free(nl);
  nl = NULL;
  /* Idle networks of the stock (net_stock.h) stay between matches. */
  const char *stock[] = {l, "judger.role=stock", NULL};
  if (n && dk_network_list_by_label(&nl, dk, stock) == 0)
    n -= nl->count < n ? nl->count : n;
  dk_container_list_free(cl);
  dk_network_list_free(nl);
  return n;
}

void bench_drop_stock(dk_client *dk, const char *host) {
  char l[160];
  snprintf(l, sizeof l, "judger.host=%s", host);
  const char *labels[] = {l, NULL};
  size_t n = 0;
  (void)dk_network_prune(&n, dk, labels);
}

void bench_settle_runs(const char *state_dir) {
  char runs[PATH_MAX];
  snprintf(runs, sizeof runs, "%s/runs", state_dir);
  int64_t until = dk_now_ms() + 60000;
  for (;;) {
    DIR *d = opendir(runs);
    struct dirent *e;
    int left = 0;
    while (d && (e = readdir(d)))
      left += e->d_name[0] != '.';
    if (d)
      closedir(d);
    if (!left)
      return;
    if (dk_now_ms() > until) {
      fprintf(stderr, "bench: %d run(s) still under %s after a minute\n", left, runs);
      return;
    }
    poll(NULL, 0, 20);
  }
}

int bench_free_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof a;
  int port = -1;
  if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
      getsockname(fd, (struct sockaddr *)&a, &len) == 0)
    port = ntohs(a.sin_port);
  if (fd >= 0)
    close(fd);
  return port;
}

int bench_engine_requests(dk_call_counts *out, int port) {
  memset(out, 0, sizeof *out);
  char url[64];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/metrics", port);
  t_http_answer a;
  if (t_http(&a, "GET", url) || a.status != 200) {
    dk_buf_free(&a.body);
    return -1;
  }
  int found = 0;
  for (int k = 0; a.body.data && k < DK_CALL_KIND_COUNT; k++) {
    char key[96];
    snprintf(key, sizeof key, "judger_engine_requests_total{kind=\"%s\"} ",
             dk_call_kind_name((dk_call_kind)k));
    const char *p = strstr(a.body.data, key);
    if (p) {
      out->n[k] = strtoull(p + strlen(key), NULL, 10);
      found++;
    }
  }
  dk_buf_free(&a.body);
  return found ? 0 : -1;
}

void bench_print_calls(const char *what, const dk_call_counts *before, const dk_call_counts *after,
                       int matches) {
  if (matches < 1)
    return;
  double total = (double)(dk_call_counts_total(after) - dk_call_counts_total(before)) / matches;
  printf("%s %.1f (", what, total);
  const char *sep = "";
  for (int k = 0; k < DK_CALL_KIND_COUNT; k++) {
    double n = (double)(after->n[k] - before->n[k]) / matches;
    if (n > 0.05) {
      printf("%s%s %.1f", sep, dk_call_kind_name((dk_call_kind)k), n);
      sep = ", ";
    }
  }
  printf(")\n");
}

/* ---- a counting proxy ---------------------------------------------------------- */

/* What a connection's client sends, read as HTTP/1.1 requests: each head
 * counted by kind, bodies (Content-Length or chunked) skipped, and after
 * an Upgrade (attach's hijack) the rest is raw. */
typedef enum { RP_HEAD, RP_BODY, RP_CHUNK_SIZE, RP_CHUNK_DATA, RP_TRAILER, RP_RAW } rp_state;

typedef struct reqparse {
  rp_state st;
  char line[16384];
  size_t len;
  long long left;
} reqparse;

struct bench_count_proxy {
  char path[108], upstream[108], host[128];
  int listen_fd;
  pthread_t acceptor;
  uint64_t counts[DK_CALL_KIND_COUNT];
};

typedef struct proxy_conn {
  bench_count_proxy *p;
  int client, upstream;
  reqparse rp;
} proxy_conn;

static const char *header(const char *head, const char *name) {
  size_t n = strlen(name);
  for (const char *l = strstr(head, "\r\n"); l && l[2]; l = strstr(l + 2, "\r\n"))
    if (!strncasecmp(l + 2, name, n) && l[2 + n] == ':')
      return l + 3 + n;
  return NULL;
}

/* A complete head in rp->line: counted; the state after it. */
static rp_state on_head(bench_count_proxy *p, reqparse *rp) {
  char method[16] = "", path[1024] = "";
  if (sscanf(rp->line, "%15s %1023s", method, path) != 2)
    return RP_HEAD;
  const char *unversioned = path;
  if (path[0] == '/' && path[1] == 'v' && path[2] >= '0' && path[2] <= '9')
    unversioned = strchr(path + 1, '/') ? strchr(path + 1, '/') : "/";
  __atomic_fetch_add(&p->counts[dk_call_kind_of(method, unversioned)], 1, __ATOMIC_RELAXED);
  const char *cl = header(rp->line, "content-length"), *te = header(rp->line, "transfer-encoding");
  bool upgrade = header(rp->line, "upgrade") != NULL;
  if (te && strstr(te, "chunked"))
    return RP_CHUNK_SIZE;
  rp->left = cl ? atoll(cl) : 0;
  if (rp->left > 0)
    return RP_BODY; /* an upgrade with a body: not one libdockerapi sends */
  return upgrade ? RP_RAW : RP_HEAD;
}

/* One byte of a line-based state; true when the line is complete. */
static bool line_byte(reqparse *rp, char c) {
  if (rp->len < sizeof rp->line - 1)
    rp->line[rp->len++] = c;
  rp->line[rp->len] = 0;
  return c == '\n';
}

static void feed(bench_count_proxy *p, reqparse *rp, const char *b, size_t n) {
  for (size_t i = 0; i < n && rp->st != RP_RAW;) {
    if (rp->st == RP_BODY || rp->st == RP_CHUNK_DATA) {
      size_t take = (size_t)rp->left < n - i ? (size_t)rp->left : n - i;
      rp->left -= (long long)take, i += take;
      if (!rp->left)
        rp->st = rp->st == RP_BODY ? RP_HEAD : RP_CHUNK_SIZE;
      continue;
    }
    if (!line_byte(rp, b[i++]))
      continue;
    if (rp->st == RP_HEAD && rp->len >= 4 && !strcmp(rp->line + rp->len - 4, "\r\n\r\n")) {
      rp->st = on_head(p, rp);
      rp->len = 0;
    } else if (rp->st == RP_CHUNK_SIZE) {
      long long size = strtoll(rp->line, NULL, 16);
      rp->st = size > 0 ? RP_CHUNK_DATA : RP_TRAILER;
      rp->left = size + 2; /* its CRLF */
      rp->len = 0;
    } else if (rp->st == RP_TRAILER) {
      rp->st = !strcmp(rp->line, "\r\n") ? RP_HEAD : RP_TRAILER;
      rp->len = 0;
    }
  }
}

static int unix_connect(const char *path) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
  if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0)
    return fd;
  if (fd >= 0)
    close(fd);
  return -1;
}

/* Copies both ways, a half-close passed on, until both ends are done. */
static void *conn_main(void *ud) {
  proxy_conn *c = ud;
  struct pollfd fds[2] = {{.fd = c->client, .events = POLLIN},
                          {.fd = c->upstream, .events = POLLIN}};
  char buf[65536];
  while (fds[0].fd >= 0 || fds[1].fd >= 0) {
    if (poll(fds, 2, -1) < 0)
      continue;
    for (int k = 0; k < 2; k++) {
      if (fds[k].fd < 0 || !fds[k].revents)
        continue;
      int to = k ? c->client : c->upstream;
      ssize_t n = read(fds[k].fd, buf, sizeof buf);
      if (n > 0 && k == 0)
        feed(c->p, &c->rp, buf, (size_t)n);
      for (ssize_t off = 0; n > 0 && off < n;) {
        ssize_t w = send(to, buf + off, (size_t)(n - off), MSG_NOSIGNAL);
        if (w <= 0)
          n = 0;
        else
          off += w;
      }
      if (n <= 0) {
        shutdown(to, SHUT_WR);
        fds[k].fd = -1;
      }
    }
  }
  close(c->client);
  close(c->upstream);
  free(c);
  return NULL;
}

static void *accept_main(void *ud) {
  bench_count_proxy *p = ud;
  for (;;) {
    int fd = accept4(p->listen_fd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0)
      return NULL;
    proxy_conn *c = calloc(1, sizeof *c);
    int up = c ? unix_connect(p->upstream) : -1;
    pthread_t th;
    if (up < 0) {
      close(fd);
      free(c);
      continue;
    }
    *c = (proxy_conn){.p = p, .client = fd, .upstream = up};
    if (pthread_create(&th, NULL, conn_main, c)) {
      close(fd), close(up), free(c);
      continue;
    }
    pthread_detach(th);
  }
}

bench_count_proxy *bench_count_proxy_start(const char *dir) {
  bench_count_proxy *p = calloc(1, sizeof *p);
  if (!p)
    return NULL;
  const char *up = getenv("DOCKER_HOST");
  snprintf(p->upstream, sizeof p->upstream, "%s",
           up && !strncmp(up, "unix://", 7) ? up + 7 : "/var/run/docker.sock");
  snprintf(p->path, sizeof p->path, "%s/docker.sock", dir);
  snprintf(p->host, sizeof p->host, "unix://%s", p->path);
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  snprintf(a.sun_path, sizeof a.sun_path, "%s", p->path);
  unlink(p->path);
  p->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (p->listen_fd < 0 || bind(p->listen_fd, (struct sockaddr *)&a, sizeof a) ||
      listen(p->listen_fd, 128) || pthread_create(&p->acceptor, NULL, accept_main, p)) {
    if (p->listen_fd >= 0)
      close(p->listen_fd);
    free(p);
    return NULL;
  }
  return p;
}

const char *bench_count_proxy_host(const bench_count_proxy *p) { return p->host; }

void bench_count_proxy_counts(dk_call_counts *out, bench_count_proxy *p) {
  for (int k = 0; k < DK_CALL_KIND_COUNT; k++)
    out->n[k] = __atomic_load_n(&p->counts[k], __ATOMIC_RELAXED);
}

void bench_count_proxy_stop(bench_count_proxy *p) {
  if (!p)
    return;
  shutdown(p->listen_fd, SHUT_RDWR);
  pthread_join(p->acceptor, NULL);
  close(p->listen_fd);
  unlink(p->path);
  /* p stays: a connection still open (an event stream) counts into it. */
}

/* ---- a sample's spec as a match task ---------------------------------------- */

static void spec_abs_dir(json_object *prog, const char *spec_dir) {
  json_object *d;
  if (!prog || !json_object_object_get_ex(prog, "dir", &d) || !json_object_get_string(d) ||
      json_object_get_string(d)[0] == '/')
    return;
  char joined[PATH_MAX * 2], real[PATH_MAX];
  snprintf(joined, sizeof joined, "%s/%s", spec_dir, json_object_get_string(d));
  if (realpath(joined, real))
    json_object_object_add(prog, "dir", json_object_new_string(real));
}

char *bench_spec_task(const char *path, const char *id, const char *config) {
  json_object *spec = json_object_from_file(path),
              *over = config ? json_tokener_parse(config) : NULL;
  json_object *cfg = NULL, *players = NULL, *gl = NULL;
  if (!spec || (config && !json_object_is_type(over, json_type_object))) {
    fprintf(stderr, "bench_spec_task: cannot read %s or the config\n", path);
    json_object_put(spec), json_object_put(over);
    return NULL;
  }
  char dir[PATH_MAX];
  snprintf(dir, sizeof dir, "%s", path);
  const char *spec_dir = dirname(dir);
  if (json_object_object_get_ex(spec, "game_logic", &gl))
    spec_abs_dir(gl, spec_dir);
  if (json_object_object_get_ex(spec, "players", &players))
    for (size_t i = 0; i < json_object_array_length(players); i++)
      spec_abs_dir(json_object_array_get_idx(players, i), spec_dir);
  if (!json_object_object_get_ex(spec, "config", &cfg)) {
    cfg = json_object_new_object();
    json_object_object_add(spec, "config", cfg);
  }
  if (over) {
    json_object_object_foreach(over, k, v) json_object_object_add(cfg, k, json_object_get(v));
  }
  json_object_object_add(spec, "id", json_object_new_string(id));
  json_object *task = json_object_new_object();
  json_object_object_add(task, "id", json_object_new_string(id));
  json_object_object_add(task, "type", json_object_new_string("match"));
  json_object_object_add(task, "match", spec);
  char *out = strdup(json_object_to_json_string_ext(task, JSON_C_TO_STRING_PLAIN));
  json_object_put(task), json_object_put(over);
  return out;
}
