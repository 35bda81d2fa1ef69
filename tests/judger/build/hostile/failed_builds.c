// test-labels: engine
/* Failed image builds leave none of their step images (issue 19, its
 * review): the classic builder keeps every finished step as an untagged,
 * unlabelled image, so a RUN that writes gigabytes followed by `RUN false`
 * would leave them on the engine's disk for good. The judger records the
 * step images a build makes and removes them once no build of its state dir
 * runs (image_cache.c, "a failed build's step images"). */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "build/image_cache.h"
#include "common/clock.h"
#include "support.h"

typedef struct fixture {
  dk_client *c;
  jd_ctx ctx;
  char *id;
  dk_kv labels[2];
} fixture;

static void fx_init(fixture *f, const char *prefix, char *state) {
  memset(f, 0, sizeof *f);
  f->c = t_client();
  t_busybox_image(f->c);
  f->id = t_unique(prefix);
  f->ctx = (jd_ctx){.dk = f->c, .state_dir = state, .host_id = "test"};
  f->labels[0] = (dk_kv){T_LABEL_KEY, "1"};
  f->labels[1] = (dk_kv){"judger.test.id", f->id};
}

static void fx_fini(fixture *f) {
  jd_image_purge(NULL, NULL, &f->ctx, NULL, f->id, true, NULL, 0);
  free(f->id);
  dk_client_free(f->c);
}

static jd_env_image *ensure(fixture *f, const char *df) {
  jd_env_image *img = NULL;
  jd_build_limits lim = {.image_network = "none"};
  t_ok(jd_env_image_ensure(&img, &f->ctx,
                           &(jd_build_request){.ref = {.domain = JD_DOMAIN_AI, .id = f->id},
                                               .limits = lim,
                                               .labels = f->labels,
                                               .nlabels = 2},
                           JD_OP_RUN, df, strlen(df), NULL, 0));
  cr_assert_not_null(img);
  return img;
}

/* The step images a build's log says it made: each step's " ---> <id>",
 * but not a FROM's (the base) nor a cache hit's. At most max. */
static size_t made_ids(char ids[][13], size_t max, const char *log) {
  size_t n = 0;
  bool from = false, cached = false;
  for (const char *p = log; p && *p;) {
    size_t len = strcspn(p, "\n");
    if (len > 5 && !strncmp(p, "Step ", 5)) {
      const char *colon = strstr(p, " : ");
      from = colon && colon < p + len && !strncmp(colon + 3, "FROM", 4);
      cached = false;
    } else if (len == 17 && !strncmp(p, " ---> Using cache", 17)) {
      cached = true;
    } else if (len == 18 && !strncmp(p, " ---> ", 6) && strspn(p + 6, "0123456789abcdef") == 12) {
      if (!from && !cached && n < max) {
        memcpy(ids[n], p + 6, 12);
        ids[n++][12] = '\0';
      }
      cached = false;
    }
    p += len + (p[len] == '\n');
  }
  return n;
}

static bool image_exists(dk_client *c, const char *id) {
  dk_image_info *info = NULL;
  int rc = dk_image_inspect(&info, c, id);
  dk_image_info_free(info);
  if (rc != DK_ENOTFOUND)
    t_ok(rc);
  return rc == 0;
}

/* Whether the engine's top-level untagged (dangling) images include one
 * whose id starts with short. */
static bool dangling_has(dk_client *c, const char *short_id) {
  dk_image_list *l = NULL;
  t_ok(dk_image_list_filtered(&l, c, NULL, NULL));
  bool found = false;
  for (size_t i = 0; i < l->count && !found; i++) {
    const dk_image_summary *im = &l->items[i];
    bool tagged = false;
    for (char **t = im->repo_tags; t && *t; t++)
      tagged |= strcmp(*t, "<none>:<none>") != 0;
    const char *bare = strncmp(im->id, "sha256:", 7) ? im->id : im->id + 7;
    found = !tagged && !strncmp(bare, short_id, 12);
  }
  dk_image_list_free(l);
  return found;
}

/* How many records of failed builds wait under state. */
static int records_left(const char *state) {
  char cmd[4200];
  snprintf(cmd, sizeof cmd, "ls %s/build-leftovers 2>/dev/null | grep -c '\\.ids$'", state);
  FILE *p = popen(cmd, "r");
  int n = 0;
  cr_assert_not_null(p);
  if (fscanf(p, "%d", &n) != 1)
    n = 0;
  pclose(p);
  return n;
}

Test(failed_builds, a_failed_build_leaves_no_step_image_of_its_own, .timeout = 300) {
  char *state = t_tmpdir("leftovers");
  fixture f;
  fx_init(&f, "lofail", state);
  /* 64 MiB in one step (gigabytes in an attack), a step of metadata, then
   * a failure; the id in the first RUN misses the cache every time. */
  char df[512];
  snprintf(df, sizeof df,
           "FROM " T_BUSYBOX_IMAGE "\n"
           "RUN echo %s && dd if=/dev/zero of=/big bs=1M count=64\n"
           "ENV LEFT=over\n"
           "RUN false\n",
           f.id);
  jd_env_image *img = ensure(&f, df);
  cr_assert_str_eq(jd_verdict_name(img->verdict), "CE", "%s", img->message ? img->message : "");
  char ids[16][13];
  size_t n = made_ids(ids, 16, img->log);
  cr_assert_eq(n, 2, "the build made its dd and ENV steps: %zu ids in\n%s", n, img->log);
  for (size_t i = 0; i < n; i++) {
    cr_assert(!image_exists(f.c, ids[i]), "step image %s of the failed build is left", ids[i]);
    cr_assert(!dangling_has(f.c, ids[i]), "%s is among the dangling images", ids[i]);
  }
  cr_assert_eq(records_left(state), 0, "the build's record is left");
  jd_env_image_free(img);
  fx_fini(&f);
  t_rmdir(state);
}

/* A build past its wall time leaves its finished steps neither. */
Test(failed_builds, a_timed_out_build_leaves_no_step_image_of_its_own, .timeout = 300) {
  char *state = t_tmpdir("leftovers");
  fixture f;
  fx_init(&f, "lotle", state);
  char df[512];
  snprintf(df, sizeof df,
           "FROM " T_BUSYBOX_IMAGE "\n"
           "RUN echo %s && dd if=/dev/zero of=/big bs=1M count=16\n"
           "RUN sleep 60\n",
           f.id);
  jd_env_image *img = NULL;
  jd_build_limits lim = {.image_network = "none", .wall_ms = 4000};
  t_ok(jd_env_image_ensure(&img, &f.ctx,
                           &(jd_build_request){.ref = {.domain = JD_DOMAIN_AI, .id = f.id},
                                               .limits = lim,
                                               .labels = f.labels,
                                               .nlabels = 2},
                           JD_OP_RUN, df, strlen(df), NULL, 0));
  cr_assert_str_eq(jd_verdict_name(img->verdict), "TLE", "%s", img->message ? img->message : "");
  char ids[16][13];
  size_t n = made_ids(ids, 16, img->log);
  cr_assert_eq(n, 1, "the build made its dd step: %zu ids in\n%s", n, img->log);
  cr_assert(!image_exists(f.c, ids[0]), "step image %s of the timed-out build is left", ids[0]);
  cr_assert_eq(records_left(state), 0, "the build's record is left");
  jd_env_image_free(img);
  fx_fini(&f);
  t_rmdir(state);
}

typedef struct build_arg {
  fixture *f;
  const char *df;
  jd_env_image *img;
  volatile int64_t ended_ms;
} build_arg;

static void *build_main(void *ud) {
  build_arg *a = ud;
  jd_build_limits lim = {.image_network = "none"};
  a->img = NULL;
  jd_build_request req = {.ref = {.domain = JD_DOMAIN_AI, .id = a->f->id},
                          .limits = lim,
                          .labels = a->f->labels,
                          .nlabels = 2};
  char err[512] = "";
  int rc = jd_env_image_ensure(&a->img, &a->f->ctx, &req, JD_OP_RUN, a->df, strlen(a->df), err,
                               sizeof err);
  a->ended_ms = jd_mono_ms();
  if (rc)
    fprintf(stderr, "build of %s: %s\n", a->f->id, err);
  return rc ? (void *)1 : NULL;
}

/* Two builds with the same first steps at once: the second takes the
 * first's dd step from the cache and goes on while the first fails. The
 * failed build's images wait until the other ends (none is removed while a
 * build runs), then its own go and the shared one stays under the other's
 * image. */
Test(failed_builds, a_concurrent_build_with_the_same_first_steps_is_unaffected, .timeout = 300) {
  char *state = t_tmpdir("leftovers");
  fixture fa, fb;
  fx_init(&fa, "loconca", state);
  fx_init(&fb, "loconcb", state);
  char nonce[64], dfa[512], dfb[512];
  snprintf(nonce, sizeof nonce, "%s", fa.id);
  snprintf(dfa, sizeof dfa,
           "FROM " T_BUSYBOX_IMAGE "\n"
           "RUN echo %s && dd if=/dev/zero of=/big bs=1M count=64\n"
           "ENV MINE=a\n"
           "RUN sleep 3 && false\n",
           nonce);
  snprintf(dfb, sizeof dfb,
           "FROM " T_BUSYBOX_IMAGE "\n"
           "RUN echo %s && dd if=/dev/zero of=/big bs=1M count=64\n"
           "RUN sleep 10\n"
           "ENV MINE=b\n",
           nonce);
  build_arg a = {.f = &fa, .df = dfa}, b = {.f = &fb, .df = dfb};
  pthread_t ta, tb;
  cr_assert_eq(pthread_create(&ta, NULL, build_main, &a), 0);
  /* B starts once A has its build turn: B waits for A's dd step. */
  struct stat st;
  char lockdir[4200];
  snprintf(lockdir, sizeof lockdir, "%s/build-leftovers", state);
  int64_t until = jd_mono_ms() + 60000;
  while (stat(lockdir, &st) != 0 && a.ended_ms == 0 && jd_mono_ms() < until)
    usleep(10 * 1000);
  cr_assert_eq(pthread_create(&tb, NULL, build_main, &b), 0);
  void *ra = NULL, *rb = NULL;
  pthread_join(ta, &ra);
  cr_assert_null(ra, "build A: system fault");
  cr_assert_str_eq(jd_verdict_name(a.img->verdict), "CE", "%s",
                   a.img->message ? a.img->message : "");
  char ids[16][13];
  size_t n = made_ids(ids, 16, a.img->log);
  cr_assert_eq(n, 2, "A made its dd and ENV steps: %zu in\n%s", n, a.img->log);
  /* A ended while B runs: its images wait (B may be using the dd step). */
  bool b_running = b.ended_ms == 0;
  if (b_running) {
    cr_assert(image_exists(fa.c, ids[0]), "A's dd step was removed while B was building");
    cr_assert(image_exists(fa.c, ids[1]), "A's ENV step was removed while B was building");
  }
  pthread_join(tb, &rb);
  cr_assert(b_running, "B had ended before A: the test did not overlap the builds");
  cr_assert_null(rb, "build B: system fault");
  cr_assert_str_eq(jd_verdict_name(b.img->verdict), "OK", "%s\n%s",
                   b.img->message ? b.img->message : "", b.img->log ? b.img->log : "");
  cr_assert(b.img->log && strstr(b.img->log, "Using cache"), "B did not share A's step:\n%s",
            b.img->log);
  cr_assert(!strstr(b.img->log, "unable to find image"), "%s", b.img->log);
  /* B's image, and the dd step under it, are there; A's own ENV step is
   * gone, as is every record. */
  cr_assert(image_exists(fb.c, b.img->image_id), "B's image is gone");
  cr_assert(image_exists(fb.c, ids[0]), "the shared dd step under B's image is gone");
  cr_assert(!image_exists(fb.c, ids[1]), "A's own ENV step is left");
  cr_assert_eq(records_left(state), 0, "a record is left");
  jd_env_image_free(a.img);
  jd_env_image_free(b.img);
  fx_fini(&fa);
  fx_fini(&fb);
  t_rmdir(state);
}

/* A RUN can print " ---> <id>" lines of its own: naming another untagged,
 * childless image (here one built beforehand by the test, without a tag)
 * does not get it removed: an image older than the build is not the
 * build's. */
Test(failed_builds, a_step_id_printed_by_run_never_removes_an_older_image, .timeout = 300) {
  char *state = t_tmpdir("leftovers");
  fixture f;
  fx_init(&f, "lofake", state);
  /* The victim: an untagged image, nobody's child, no container. */
  char vdf[256];
  snprintf(vdf, sizeof vdf, "FROM " T_BUSYBOX_IMAGE "\nLABEL " T_LABEL_KEY "=1 victim=%s\n", f.id);
  dk_tar *t = NULL;
  const void *tar = NULL;
  size_t tarlen = 0;
  t_ok(dk_tar_new(&t, 0));
  t_ok(dk_tar_add_file(t, "Dockerfile", vdf, strlen(vdf), 0644));
  t_ok(dk_tar_finish(t, &tar, &tarlen));
  dk_build_opts bo = {.pull = false};
  char *victim = NULL;
  t_ok(t_image_build(&victim, f.c, tar, tarlen, &bo, NULL, NULL, NULL, NULL));
  dk_tar_free(t);
  cr_assert(image_exists(f.c, victim));
  /* Older than the next build by more than the clock slack. */
  dk_image_info *vi = NULL;
  t_ok(dk_image_inspect(&vi, f.c, victim));
  struct tm tm = {0};
  cr_assert(vi->created && strptime(vi->created, "%Y-%m-%dT%H:%M:%S", &tm));
  time_t vcreated = timegm(&tm);
  dk_image_info_free(vi);
  while (time(NULL) <= vcreated + 6)
    usleep(100 * 1000);
  const char *bare = strncmp(victim, "sha256:", 7) ? victim : victim + 7;
  char df[512];
  snprintf(df, sizeof df,
           "FROM " T_BUSYBOX_IMAGE "\n"
           "RUN echo %s > /id\n"
           "RUN printf ' ---> %.12s\\n' && false\n",
           f.id, bare);
  jd_env_image *img = ensure(&f, df);
  cr_assert_str_eq(jd_verdict_name(img->verdict), "CE", "%s", img->message ? img->message : "");
  char want[32];
  snprintf(want, sizeof want, " ---> %.12s\n", bare);
  cr_assert(img->log && strstr(img->log, want), "the RUN did not print the id:\n%s", img->log);
  cr_assert(image_exists(f.c, victim), "the older image a RUN named was removed");
  char ids[16][13];
  size_t n = made_ids(ids, 16, img->log);
  for (size_t i = 0; i < n; i++)
    if (strncmp(ids[i], bare, 12))
      cr_assert(!image_exists(f.c, ids[i]), "step image %s of the failed build is left", ids[i]);
  t_ok(dk_image_remove(f.c, victim, false, true));
  free(victim);
  jd_env_image_free(img);
  fx_fini(&f);
  t_rmdir(state);
}

/* A record waits while a build runs (the test holds the builds lock as a
 * build does) and is drained, by judger gc's call, once none does. */
Test(failed_builds, records_wait_for_running_builds_then_gc_drains_them, .timeout = 300) {
  char *state = t_tmpdir("leftovers");
  fixture f;
  fx_init(&f, "lodrain", state);
  time_t start = time(NULL);
  char vdf[256];
  snprintf(vdf, sizeof vdf, "FROM " T_BUSYBOX_IMAGE "\nLABEL " T_LABEL_KEY "=1 left=%s\n", f.id);
  dk_tar *t = NULL;
  const void *tar = NULL;
  size_t tarlen = 0;
  t_ok(dk_tar_new(&t, 0));
  t_ok(dk_tar_add_file(t, "Dockerfile", vdf, strlen(vdf), 0644));
  t_ok(dk_tar_finish(t, &tar, &tarlen));
  dk_build_opts bo = {.pull = false};
  char *left = NULL;
  t_ok(t_image_build(&left, f.c, tar, tarlen, &bo, NULL, NULL, NULL, NULL));
  dk_tar_free(t);
  const char *bare = strncmp(left, "sha256:", 7) ? left : left + 7;
  /* The record a failed build leaves, and a build running. */
  char path[4300], rec[128];
  snprintf(path, sizeof path, "%s/build-leftovers", state);
  cr_assert_eq(mkdir(path, 0700), 0);
  snprintf(path, sizeof path, "%s/build-leftovers/0123.ids", state);
  int n = snprintf(rec, sizeof rec, "start %lld\n%.12s\n", (long long)start, bare);
  FILE *fp = fopen(path, "w");
  cr_assert(fp && fwrite(rec, 1, (size_t)n, fp) == (size_t)n);
  fclose(fp);
  snprintf(path, sizeof path, "%s/locks", state);
  cr_assert_eq(mkdir(path, 0700), 0);
  snprintf(path, sizeof path, "%s/locks/builds", state);
  int lk = open(path, O_RDWR | O_CREAT, 0600);
  cr_assert(lk >= 0 && flock(lk, LOCK_SH) == 0);
  size_t removed = 9;
  bool busy = false;
  t_ok(jd_build_leftovers_drain(&removed, &busy, NULL, &f.ctx, 200, NULL, 0));
  cr_assert(busy, "the drain did not see the running build");
  cr_assert_eq(removed, 0);
  cr_assert(image_exists(f.c, left), "removed while a build runs");
  cr_assert_eq(records_left(state), 1);
  close(lk);
  t_ok(jd_build_leftovers_drain(&removed, &busy, NULL, &f.ctx, 200, NULL, 0));
  cr_assert(!busy);
  cr_assert_eq(removed, 1);
  cr_assert(!image_exists(f.c, left), "the recorded image is left");
  cr_assert_eq(records_left(state), 0);
  free(left);
  fx_fini(&f);
  t_rmdir(state);
}
