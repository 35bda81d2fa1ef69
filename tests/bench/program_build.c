/* Benchmark: what /app as a tmpfs costs a program build (the *build* op,
 * build/artifacts.c). Each round builds the same source with a new source
 * identity (a cache miss, the container runs) through jd_artifacts_ensure,
 * against the design it replaced, replayed here with the same image and
 * limits: the source copied on the host into a directory bound writable at
 * /app, the container run (create, start, logs, wait, inspect, remove),
 * the tree sanitised on the host (its removal is not timed: the cache
 * keeps an entry; the new design's removal of its source copy is timed,
 * it is on the build's path). This replay has no cache bookkeeping (key,
 * result.json, rename): to compare with the replaced code itself, build
 * this file in a checkout of 0565990~1 and compare "now - replaced" of
 * the two. Runs alternate (A B A B...) so that a
 * loaded host skews both alike; medians in ms. Figures go into
 * docs/build.md.
 *
 *   build/bin/bench_program_build [N] [FILES] [KIB]   (default 15 rounds, 50 files of 16 KiB)
 *
 * Needs the engine and the busybox test image (run any engine test first). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench.h"
#include "build/artifacts.h"
#include "build/image_cache.h"
#include "build/sanitise.h"
#include "common/fs.h"
#include "common/tmpfile.h"
#include "common/util.h"
#include "dockerapi/dockerapi.h"

#define BUSYBOX "judger-test/busybox:1"
#define SCRIPT "cat *.src > out.bin && echo built"

static int discard(void *ud, int stream, const char *data, size_t len) {
  (void)ud, (void)stream, (void)data, (void)len;
  return 0;
}

/* The replaced design, as artifacts.c had it: a host copy bound at /app. */
static int old_build(dk_client *c, const char *src, const char *work, const char *image_id,
                     const char *id) {
  char app[4300], bind[4400];
  snprintf(app, sizeof app, "%s/app", work);
  if (jd_copy_tree(src, app) != 0 || jd_chown_tree(app, JD_BUILD_UID, JD_BUILD_UID) != 0)
    return -1;
  snprintf(bind, sizeof bind, "%s:/app", app);
  const char *binds[] = {bind, NULL}, *secopt[] = {"no-new-privileges", NULL},
             *capdrop[] = {"ALL", NULL};
  static const dk_kv logopts[] = {{"max-size", "16m"}, {"max-file", "1"}};
  dk_kv labels[] = {{"judger.bench", id}};
  dk_kv tmpfs[] = {{"/tmp", "rw,nosuid,nodev,size=1073741824,mode=1777"}};
  dk_container_config cfg = {
      .image = image_id,
      .user = "65534:65534",
      .working_dir = "/app",
      .labels = labels,
      .nlabels = 1,
      .host = {.nano_cpus = 1000000000,
               .memory = JD_BUILD_DEFAULT_MEMORY,
               .memory_swap = JD_BUILD_DEFAULT_MEMORY,
               .pids_limit = JD_BUILD_DEFAULT_PIDS,
               .binds = binds,
               .cap_drop = capdrop,
               .security_opt = secopt,
               .readonly_rootfs = true,
               .tmpfs = tmpfs,
               .ntmpfs = 1,
               .network_mode = "none",
               .init = 1,
               .log_type = "json-file",
               .log_opts = logopts,
               .nlog_opts = 2},
  };
  char *cid = NULL;
  int64_t code = -1;
  int rc = dk_container_create(&cid, c, NULL, &cfg);
  if (!rc)
    rc = dk_container_start(c, cid);
  dk_logs_opts lo = {.follow = true};
  if (!rc)
    rc = dk_container_logs(c, cid, &lo, discard, NULL, NULL);
  if (!rc)
    rc = dk_container_wait(&code, c, cid, NULL, NULL);
  dk_container_info *info = NULL;
  if (!rc)
    rc = dk_container_inspect(&info, c, cid);
  dk_container_info_free(info);
  if (cid)
    (void)dk_container_remove(c, cid, true, true);
  free(cid);
  jd_sanitise_report r;
  if (!rc && (code != 0 || jd_sanitise_tree(&r, app, NULL, geteuid(), getegid(), NULL) != 0))
    rc = -1;
  return rc; /* app stays, as an entry did: the caller removes it untimed */
}

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 15, files = argc > 2 ? atoi(argv[2]) : 50,
      kib = argc > 3 ? atoi(argv[3]) : 16;
  if (n <= 0 || files <= 0 || kib <= 0)
    return 2;
  char tmp[] = "/tmp/jdbench-pb-XXXXXX";
  if (!mkdtemp(tmp))
    return 3;
  char src[4200], state[4200], work[4200], id[64];
  snprintf(src, sizeof src, "%s/src", tmp);
  snprintf(state, sizeof state, "%s/state", tmp);
  snprintf(work, sizeof work, "%s/work", tmp);
  snprintf(id, sizeof id, "benchpb-%d", (int)getpid());
  if (jd_mkdir_p(src, 0755) != 0 || jd_mkdir_p(work, 0700) != 0)
    return 3;
  char *chunk = malloc((size_t)kib * 1024);
  if (!chunk)
    return 3;
  for (int i = 0; i < files; i++) {
    char p[4300];
    memset(chunk, 'a' + i % 26, (size_t)kib * 1024);
    snprintf(p, sizeof p, "%s/f%04d.src", src, i);
    if (jd_write_file(p, chunk, (size_t)kib * 1024) != 0)
      return 3;
  }
  free(chunk);
  dk_client *c = NULL;
  if (dk_client_new(&c, NULL) != 0)
    return 3;
  jd_ctx ctx = {.dk = c, .state_dir = state, .host_id = "bench"};
  char df[512];
  snprintf(df, sizeof df, "FROM " BUSYBOX "\nENV MARK=%s\nCMD [\"sh\", \"-c\", \"" SCRIPT "\"]\n",
           id);
  dk_kv labels[] = {{"judger.bench", id}};
  jd_env_image *img = NULL;
  if (jd_env_image_ensure(&img, &ctx,
                          &(jd_build_request){.ref = {.domain = JD_DOMAIN_AI, .id = id},
                                              .labels = labels,
                                              .nlabels = 1},
                          JD_OP_BUILD, df, strlen(df), NULL, 0) != 0 ||
      img->verdict != JD_VERDICT_OK) {
    fprintf(stderr, "bench: the build image failed (engine up? busybox test image?)\n");
    return 3;
  }
  long long *a_ms = calloc((size_t)n, sizeof *a_ms), *b_ms = calloc((size_t)n, sizeof *b_ms);
  if (!a_ms || !b_ms)
    return 3;
  int rc = 0;
  for (int i = -1; i < n && !rc; i++) { /* round -1 warms both up */
    char ident[128];
    snprintf(ident, sizeof ident, "tree:bench-%s-%d", id, i);
    int64_t t0 = dk_now_ms();
    jd_artifacts *a = NULL;
    rc = jd_artifacts_ensure(&a, &ctx,
                             &(jd_build_request){.ref = {.domain = JD_DOMAIN_AI, .id = id},
                                                 .labels = labels,
                                                 .nlabels = 1},
                             src, ident, img->image_id, NULL, 0);
    if (!rc && (a->cached || a->verdict != JD_VERDICT_OK)) {
      fprintf(stderr, "bench: the build was %s: %s\n", jd_verdict_name(a->verdict),
              a->message ? a->message : "cached");
      rc = -1;
    }
    jd_artifacts_free(a);
    int64_t t1 = dk_now_ms();
    if (!rc)
      rc = old_build(c, src, work, img->image_id, id);
    int64_t t2 = dk_now_ms();
    char app[4300];
    snprintf(app, sizeof app, "%s/app", work);
    jd_rm_rf(app);
    if (i >= 0) {
      a_ms[i] = t1 - t0;
      b_ms[i] = t2 - t1;
    }
  }
  if (rc) {
    fprintf(stderr, "bench: a build failed (%d, %s)\n", rc, strerror(errno));
    return 3;
  }
  long long a_med = bench_median(a_ms, n), b_med = bench_median(b_ms, n);
  printf("program build, %d rounds, source %d files x %d KiB, build: " SCRIPT "\n", n, files, kib);
  printf("  tmpfs /app via judger-hold (now):   median %lld ms\n", a_med);
  printf("  host dir bound at /app (replaced):  median %lld ms\n", b_med);
  printf("  added cost per build:               %+lld ms\n", a_med - b_med);
  jd_image_purge(NULL, NULL, &ctx, NULL, id, true, NULL, 0);
  jd_env_image_free(img);
  dk_client_free(c);
  jd_rm_rf(tmp);
  return 0;
}
