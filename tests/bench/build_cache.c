/* Benchmark: a cache hit of `judger build`, end to end (process start to
 * exit), against `docker image inspect` of the same tag (the CLI, process
 * start to exit, as the issue asks) and against an image inspect through
 * libdockerapi in process, the same number of times. Figures go into
 * docs/build.md. The docker CLI is only the baseline being measured; the
 * product never runs it.
 *
 *   build/bin/bench_build_cache [N]      (default N = 50)
 *
 * Needs the engine and the busybox test image (run any engine test first, or
 * images/setup-host.sh + the test suite). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "common/tmpfile.h"
#include "common/util.h"
#include "dockerapi/dockerapi.h"

#define JUDGER JD_BINARY_DIR "/bin/judger"
#define BUSYBOX "judger-test/busybox:1"

static int run_prog(const char *path, const char *const *args) {
  pid_t pid = fork();
  if (pid < 0)
    return -1;
  if (pid == 0) {
    if (!freopen("/dev/null", "w", stdout) || !freopen("/dev/null", "w", stderr))
      _exit(126);
    execv(path, (char *const *)args);
    _exit(127);
  }
  int st = 0;
  waitpid(pid, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int run_judger(const char *const *args) { return run_prog(JUDGER, args); }

#define DOCKER_CLI "/usr/bin/docker"

static int put(const char *dir, const char *name, const char *text) {
  char p[4096];
  snprintf(p, sizeof p, "%s/%s", dir, name);
  return jd_write_file(p, text, strlen(text));
}

/* CPU (user + system) the judger processes used, per run, in ms: a figure
 * that a loaded host does not inflate the way it does wall time. */
static double last_cpu_ms;

static double children_cpu_ms(void) {
  struct rusage ru;
  getrusage(RUSAGE_CHILDREN, &ru);
  return ru.ru_utime.tv_sec * 1e3 + ru.ru_utime.tv_usec / 1e3 + ru.ru_stime.tv_sec * 1e3 +
         ru.ru_stime.tv_usec / 1e3;
}

/* Times n runs of judger with args; -1 on a failed run. */
static double time_judger(int n, const char *const *args) {
  double cpu0 = children_cpu_ms();
  int64_t t0 = dk_now_ms();
  for (int i = 0; i < n; i++)
    if (run_judger(args) != 0)
      return -1;
  last_cpu_ms = (children_cpu_ms() - cpu0) / n;
  return (double)(dk_now_ms() - t0) / n;
}

int main(int argc, char **argv) {
  bench_host_settings();
  int n = argc > 1 ? atoi(argv[1]) : 50;
  if (n <= 0)
    n = 50;
  char tmp[] = "/tmp/jdbench-XXXXXX";
  if (!mkdtemp(tmp))
    return 3;
  char src[4200], state[4200], repo[4300], url[4400];
  snprintf(src, sizeof src, "%s/src", tmp);
  snprintf(state, sizeof state, "%s/state", tmp);
  snprintf(repo, sizeof repo, "%s/repo", tmp);
  char id[64];
  snprintf(id, sizeof id, "bench-%d", (int)getpid());
  jd_mkdir_p(src, 0755);
  char run_df[256], build_df[256];
  snprintf(run_df, sizeof run_df, "FROM " BUSYBOX "\nENV MARK=%s\nCMD [\"cat\", \"/app/out\"]\n",
           id);
  snprintf(build_df, sizeof build_df,
           "FROM " BUSYBOX "\nENV MARK=%s\nCMD [\"sh\", \"-c\", \"cp main.txt out\"]\n", id);
  put(src, "run.Dockerfile", run_df);
  put(src, "build.Dockerfile", build_df);
  put(src, "main.txt", "x\n");
  char cmd[16000];
  snprintf(cmd, sizeof cmd,
           "cp -r %s %s && cd %s && git -c init.defaultBranch=main init -q . && git add -A && "
           "git -c user.name=b -c user.email=b@b commit -qm b",
           src, repo, repo);
  if (system(cmd) != 0)
    return 3;
  snprintf(cmd, sizeof cmd, "git -C %s rev-parse HEAD", repo);
  FILE *p = popen(cmd, "r");
  char commit[64] = "";
  if (!p || !fgets(commit, sizeof commit, p))
    return 3;
  pclose(p);
  commit[strcspn(commit, "\n")] = '\0';
  snprintf(url, sizeof url, "file://%s", repo);

  const char *all_dir[] = {"judger",   "build", "--domain",    "ai",  "--id", id,
                           "--source", src,     "--state-dir", state, "-q",   NULL};
  const char *run_dir[] = {"judger", "build", "--domain", "ai",          "--id", id,   "--source",
                           src,      "--op",  "run",      "--state-dir", state,  "-q", NULL};
  const char *all_git[] = {"judger", "build", "--domain", "ai",          "--id", id,   "--git",
                           url,      "--ref", commit,     "--state-dir", state,  "-q", NULL};
  /* Warm every cache once: images, artifacts, git mirror. */
  if (run_judger(all_dir) != 0 || run_judger(all_git) != 0) {
    fprintf(stderr, "bench: the first builds failed (engine up? busybox test image?)\n");
    return 3;
  }
  dk_client *c = NULL;
  if (dk_client_new(&c, NULL) != 0)
    return 3;
  char sha[65], tag[256];
  jd_sha256_hex(sha, run_df, strlen(run_df));
  snprintf(tag, sizeof tag, "ai-%s-run:%s", id, sha);
  dk_image_info *info = NULL;
  if (dk_image_inspect(&info, c, tag) != 0) /* also negotiates the API version */
    return 3;
  dk_image_info_free(info);
  int64_t t0 = dk_now_ms();
  for (int i = 0; i < n; i++) {
    if (dk_image_inspect(&info, c, tag) != 0)
      return 3;
    dk_image_info_free(info);
  }
  double inspect_ms = (double)(dk_now_ms() - t0) / n;
  /* The baseline: the docker CLI's `image inspect`, whole process. */
  const char *cli[] = {"docker", "image", "inspect", tag, NULL};
  double cli_ms = -1;
  if (access(DOCKER_CLI, X_OK) == 0 && run_prog(DOCKER_CLI, cli) == 0) {
    t0 = dk_now_ms();
    for (int i = 0; i < n && cli_ms == -1; i++)
      if (run_prog(DOCKER_CLI, cli) != 0)
        cli_ms = -2;
    if (cli_ms == -1)
      cli_ms = (double)(dk_now_ms() - t0) / n;
  }
  const char *version[] = {"judger", "--version", NULL};
  double floor_ms = time_judger(n, version), floor_cpu = last_cpu_ms;
  double run_ms = time_judger(n, run_dir), run_cpu = last_cpu_ms;
  double all_ms = time_judger(n, all_dir), all_cpu = last_cpu_ms;
  double git_ms = time_judger(n, all_git), git_cpu = last_cpu_ms;
  double load[1] = {0};
  getloadavg(load, 1);
  printf("runs: %d each\n", n);
  printf("image inspect (libdockerapi, in process): %.2f ms\n", inspect_ms);
  if (cli_ms > 0)
    printf("docker image inspect (CLI, process start to exit): %.2f ms\n", cli_ms);
  else
    printf("docker image inspect (CLI): not measured (no %s)\n", DOCKER_CLI);
  printf("load average: %.1f\n", load[0]);
  printf("judger --version (process start floor): %.2f ms wall, %.2f ms cpu\n", floor_ms,
         floor_cpu);
  printf("judger build --op run  --source DIR (hit): %.2f ms wall (%.2fx CLI, %.1fx in-process), "
         "%.2f ms cpu\n",
         run_ms, run_ms / cli_ms, run_ms / inspect_ms, run_cpu);
  printf("judger build --op all  --source DIR (hit): %.2f ms wall (%.2fx CLI, %.1fx in-process), "
         "%.2f ms cpu\n",
         all_ms, all_ms / cli_ms, all_ms / inspect_ms, all_cpu);
  printf("judger build --op all  --git URL --ref SHA (hit): %.2f ms wall (%.2fx CLI, %.1fx "
         "in-process), %.2f ms cpu\n",
         git_ms, git_ms / cli_ms, git_ms / inspect_ms, git_cpu);
  /* Clean up: this benchmark's images and directories. */
  char filter[128];
  snprintf(filter, sizeof filter, "judger.id=%s", id);
  const char *labels[] = {filter, NULL};
  dk_image_list *l = NULL;
  if (dk_image_list_filtered(&l, c, labels, NULL) == 0)
    for (size_t i = 0; i < l->count; i++)
      dk_image_remove(c, l->items[i].id, true, false);
  dk_image_list_free(l);
  dk_client_free(c);
  jd_rm_rf(tmp);
  return run_ms < 0 || all_ms < 0 || git_ms < 0 ? 1 : 0;
}
