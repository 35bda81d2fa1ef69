/* Benchmark: wall time of a trivial 2-player and 4-player match against the
 * engine floor measured in the same run, and the judger's peak RSS.
 *
 * Floor: the same containers (same image, limits, binds, network) created,
 * started, waited and removed through direct libdockerapi calls, one after
 * another: network create, game logic create+start, each player
 * create+start, wait all, remove all, network remove.
 * Match: jd_match_run() with the test game logic in "bench" mode (starts
 * every player, waits for their exits, ends) and players that exit at once.
 * Runs alternate floor/match so both see the same engine load.
 *
 *   bench_match [runs]      (default 5 runs of each)
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include "bench.h"
#include "common/util.h"
#include "dockerapi/dockerapi.h"
#include "match/match.h"
#include "match/match_limits.h"

#define IMAGE "judger-test/busybox:1"

static char host_id[64];
static char state_dir[] = "/tmp/jdbench-state-XXXXXX";
static char out_dir[] = "/tmp/jdbench-out-XXXXXX";

/* ---- floor --------------------------------------------------------------- */

static int floor_run(dk_client *dk, int nplayers, long long *ms) {
  static int seq;
  char net[128], name[160], bind[600];
  snprintf(net, sizeof net, "jdbench-floor-%d-%d", (int)getpid(), seq++);
  const char *trivial = JD_SOURCE_DIR "/tests/judger/programs/trivial";
  snprintf(bind, sizeof bind, "%s:/app:ro", trivial);
  const char *binds[] = {bind, NULL};
  static const char *const cmd[] = {"sh", "/app/main.sh", NULL};
  dk_kv labels[] = {{"judger.bench", host_id}};
  jd_match_limits lim;
  jd_match_limits_default(&lim);
  char *ids[1 + 16] = {0};
  int n = 1 + nplayers, rc = 0;
  int64_t t0 = dk_now_ms();
  char *net_id = NULL;
  dk_kv opts[1] = {{"com.docker.network.bridge.inhibit_ipv4", "true"}};
  dk_network_config nc = {
      .internal = true, .labels = labels, .nlabels = 1, .options = opts, .noptions = 1};
  if ((rc = dk_network_create(&net_id, dk, net, &nc)))
    goto done;
  for (int i = 0; i < n; i++) {
    dk_container_config cc = {
        .image = IMAGE, .cmd = cmd, .labels = labels, .nlabels = 1, .user = "65534:65534"};
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
done:
  for (int i = 0; i < n; i++)
    if (ids[i])
      dk_container_remove(dk, ids[i], true, true), free(ids[i]);
  if (net_id)
    dk_network_remove(dk, net_id);
  free(net_id);
  *ms = dk_now_ms() - t0;
  return rc;
}

/* ---- match --------------------------------------------------------------- */

typedef struct phases {
  int64_t t0, gl_started, first_started, last_started, end, done;
} phases;

static void on_progress(void *ud, const char *line) {
  phases *p = ud;
  int64_t now = dk_now_ms() - p->t0;
  if (strstr(line, "\"game_logic.started\""))
    p->gl_started = now;
  else if (strstr(line, "\"player.started\"")) {
    if (!p->first_started)
      p->first_started = now;
    p->last_started = now;
  } else if (strstr(line, "\"match.end\""))
    p->end = now;
}

static char *spec_json(int nplayers) {
  char players[4096] = "", plan[64] = "";
  for (int i = 0; i < nplayers; i++) {
    char one[512];
    snprintf(one, sizeof one,
             "%s{\"id\":\"t%d\",\"image\":\"" IMAGE "\",\"dir\":\"" JD_SOURCE_DIR
             "/tests/judger/programs/trivial\",\"cmd\":[\"sh\",\"/app/main.sh\"]}",
             i ? "," : "", i);
    strcat(players, one);
    snprintf(plan + strlen(plan), sizeof plan - strlen(plan), "%s%d", i ? " " : "", i);
  }
  char *s = NULL;
  if (asprintf(&s,
               "{\"id\":\"bench%d\",\"game_logic\":{\"id\":\"game\",\"image\":\"" IMAGE
               "\",\"dir\":\"" JD_SOURCE_DIR "/tests/judger/programs/game\","
               "\"cmd\":[\"sh\",\"/app/main.sh\"]},\"players\":[%s],"
               "\"config\":{\"mode\":\"bench\",\"plan\":\"%s\"}}",
               nplayers, players, plan) < 0)
    return NULL;
  return s;
}

static int match_run(jd_ctx *ctx, const jd_match_spec *spec, long long *ms, phases *ph) {
  memset(ph, 0, sizeof *ph);
  ph->t0 = dk_now_ms();
  jd_match_hooks hooks = {.progress = on_progress, .ud = ph};
  jd_match_result *r = NULL;
  int rc = jd_match_run(&r, ctx, spec, out_dir, &hooks);
  *ms = dk_now_ms() - ph->t0;
  ph->done = *ms;
  if (!rc && r->status != JD_MATCH_STATUS_FINISHED) {
    fprintf(stderr, "match %s: %s\n", jd_match_status_name(r->status), r->reason ? r->reason : "");
    rc = -1;
  }
  jd_match_result_free(r);
  return rc;
}

/* Peak RSS of `judger run` as a process (wait4 rusage), in KiB. */
static long cli_rss(const char *spec_path) {
  pid_t pid = fork();
  if (pid == 0) {
    int null = open("/dev/null", 1);
    dup2(null, 1);
    dup2(null, 2);
    execl(JD_BINARY_DIR "/bin/judger", "judger", "run", spec_path, "--out", out_dir, "--state-dir",
          state_dir, "--host-id", host_id, "--quiet", (char *)NULL);
    _exit(127);
  }
  int st;
  struct rusage ru;
  if (pid < 0 || wait4(pid, &st, 0, &ru) != pid || !WIFEXITED(st) || WEXITSTATUS(st))
    return -1;
  return ru.ru_maxrss;
}

int main(int argc, char **argv) {
  int runs = argc > 1 ? atoi(argv[1]) : 5;
  if (runs < 1 || runs > 50)
    runs = 5;
  dk_client *dk = NULL;
  if (dk_client_new(&dk, NULL) || dk_ping(dk, NULL)) {
    fprintf(stderr, "bench_match: the engine is not reachable\n");
    return 1;
  }
  dk_image_info *img = NULL;
  if (dk_image_inspect(&img, dk, IMAGE)) {
    fprintf(stderr, "bench_match: %s missing (run the engine tests once)\n", IMAGE);
    return 1;
  }
  dk_image_info_free(img);
  if (!mkdtemp(state_dir) || !mkdtemp(out_dir))
    return 1;
  snprintf(host_id, sizeof host_id, "bench-%d", (int)getpid());
  jd_ctx ctx = {.dk = dk, .state_dir = state_dir, .host_id = host_id};
  int sizes[] = {2, 4};
  printf("%-8s %10s %10s %7s   %s\n", "players", "floor ms", "match ms", "ratio",
         "match phases (median ms): gl started / first player / last player / end / done");
  for (size_t s = 0; s < 2; s++) {
    int n = sizes[s];
    char *json = spec_json(n);
    jd_match_spec *spec = NULL;
    char err[256];
    if (!json || jd_match_spec_parse(&spec, json, NULL, err, sizeof err)) {
      fprintf(stderr, "spec: %s\n", err);
      return 1;
    }
    long long f[50], m[50], g[50], p1[50], pn[50], e[50], d[50];
    for (int i = 0; i < runs; i++) {
      phases ph;
      if (floor_run(dk, n, &f[i]) || match_run(&ctx, spec, &m[i], &ph)) {
        fprintf(stderr, "run %d failed\n", i);
        return 1;
      }
      g[i] = ph.gl_started, p1[i] = ph.first_started, pn[i] = ph.last_started, e[i] = ph.end,
      d[i] = ph.done;
    }
    long long fm = bench_median(f, runs), mm = bench_median(m, runs);
    printf("%-8d %10lld %10lld %7.3f   %lld / %lld / %lld / %lld / %lld\n", n, fm, mm,
           (double)mm / (double)fm, bench_median(g, runs), bench_median(p1, runs),
           bench_median(pn, runs), bench_median(e, runs), bench_median(d, runs));
    fflush(stdout);
    if (s == 1) {
      char path[256];
      snprintf(path, sizeof path, "%s/spec.json", state_dir);
      jd_write_file(path, json, strlen(json));
      long rss = cli_rss(path);
      struct rusage self;
      getrusage(RUSAGE_SELF, &self);
      printf("peak RSS: judger run (4 players) %ld KiB; this benchmark process %ld KiB\n", rss,
             self.ru_maxrss);
    }
    jd_match_spec_free(spec);
    free(json);
  }
  jd_rm_rf(state_dir);
  jd_rm_rf(out_dir);
  dk_client_free(dk);
  return 0;
}
