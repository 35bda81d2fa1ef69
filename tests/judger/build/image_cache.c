// test-labels: engine
/* Environment images against the real engine: content-addressed tags, cache
 * hits, failing builds, wall time, gc. */
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "build/image_cache.h"
#include "common/clock.h"
#include "common/engine.h"
#include "common/labels.h"
#include "common/util.h"
#include "fake_engine.h"
#include "support.h"

typedef struct fixture {
  dk_client *c;
  jd_ctx ctx;
  char *id;    /* unique program id */
  char *state; /* state dir */
  dk_kv labels[2];
  char test_label[128];
} fixture;

static void fx_init(fixture *f, const char *prefix) {
  f->c = t_client();
  t_busybox_image(f->c);
  f->id = t_unique(prefix);
  f->state = t_tmpdir("imgcache");
  f->ctx = (jd_ctx){.dk = f->c, .state_dir = f->state, .host_id = "test"};
  snprintf(f->test_label, sizeof f->test_label, "%s", f->id);
  f->labels[0] = (dk_kv){T_LABEL_KEY, "1"};
  f->labels[1] = (dk_kv){"judger.test.id", f->test_label};
}

/* Removes every image this program id has (by its label). */
static void fx_fini(fixture *f) {
  jd_image_purge(NULL, NULL, &f->ctx, NULL, f->id, true, NULL, 0);
  t_rmdir(f->state);
  free(f->id);
  dk_client_free(f->c);
}

static jd_env_image *ensure(fixture *f, jd_op op, const char *df, const jd_build_limits *lim) {
  jd_env_image *img = NULL;
  t_ok(jd_env_image_ensure(&img, &f->ctx,
                           &(jd_build_request){.ref = {.domain = JD_DOMAIN_AI, .id = f->id},
                                               .limits = lim ? *lim : (jd_build_limits){0},
                                               .labels = f->labels,
                                               .nlabels = 2},
                           op, df, strlen(df), NULL, 0));
  cr_assert_not_null(img);
  return img;
}

static bool has_tag(dk_client *c, const char *image, const char *tag) {
  dk_image_info *info = NULL;
  if (dk_image_inspect(&info, c, tag) != 0)
    return false;
  bool same = !strcmp(info->id, image);
  dk_image_info_free(info);
  return same;
}

Test(image_cache, miss_then_hit_with_the_dockerfile_sha_as_tag) {
  fixture f;
  fx_init(&f, "icmiss");
  char df[256];
  snprintf(df, sizeof df, "FROM " T_BUSYBOX_IMAGE "\nENV MARK=%s\nCMD [\"sh\"]\n", f.id);
  char sha[65], want[256], latest[256];
  jd_sha256_hex(sha, df, strlen(df));
  snprintf(want, sizeof want, "ai-%s-run:%s", f.id, sha);
  snprintf(latest, sizeof latest, "ai-%s-run:latest", f.id);

  jd_env_image *a = ensure(&f, JD_OP_RUN, df, NULL);
  cr_assert_str_eq(jd_verdict_name(a->verdict), "OK", "%s", a->message ? a->message : "");
  cr_assert(!a->cached, "first build reported as cached");
  cr_assert_str_eq(a->tag, want);
  cr_assert(has_tag(f.c, a->image_id, want), "tag missing");
  cr_assert(has_tag(f.c, a->image_id, latest), ":latest missing");
  /* The labels gc selects on. */
  dk_image_info *info = NULL;
  t_ok(dk_image_inspect(&info, f.c, want));
  char lab[200];
  snprintf(lab, sizeof lab, "\"" JD_LABEL_DOCKERFILE "\":\"%s\"", sha);
  cr_assert(strstr(info->raw_json, lab), "label %s missing", lab);
  cr_assert(strstr(info->raw_json, "\"" JD_LABEL_OP "\":\"run\""));
  dk_image_info_free(info);

  jd_env_image *b = ensure(&f, JD_OP_RUN, df, NULL);
  cr_assert(b->cached, "second ensure rebuilt");
  cr_assert_str_eq(b->image_id, a->image_id);
  cr_assert_null(b->log, "a hit has no build log");
  /* The engine's image store was learnt once, as /info tells it: on a
   * graph driver a hit's size check is the inspect's, no image list. */
  dk_info *di = NULL;
  t_ok(dk_system_info(&di, f.c));
  cr_assert_eq(f.ctx.image_store,
               di->containerd_store ? JD_IMAGE_STORE_CONTAINERD : JD_IMAGE_STORE_GRAPH);
  dk_info_free(di);
  jd_env_image_free(a);
  jd_env_image_free(b);
  fx_fini(&f);
}

Test(image_cache, changed_dockerfile_gets_a_new_tag_and_gc_keeps_current_and_in_use) {
  fixture f;
  fx_init(&f, "icchg");
  char df1[256], df2[256], df3[256];
  snprintf(df1, sizeof df1, "FROM " T_BUSYBOX_IMAGE "\nENV MARK=%s V=1\n", f.id);
  snprintf(df2, sizeof df2, "FROM " T_BUSYBOX_IMAGE "\nENV MARK=%s V=2\n", f.id);
  snprintf(df3, sizeof df3, "FROM " T_BUSYBOX_IMAGE "\nENV MARK=%s V=3\n", f.id);
  jd_env_image *a = ensure(&f, JD_OP_BUILD, df1, NULL);
  sleep(1); /* image creation times are in seconds: keep the order clear */
  jd_env_image *b = ensure(&f, JD_OP_BUILD, df2, NULL);
  cr_assert_str_eq(jd_verdict_name(a->verdict), "OK");
  cr_assert_str_eq(jd_verdict_name(b->verdict), "OK");
  cr_assert(!b->cached, "a changed Dockerfile must build");
  cr_assert_str_neq(a->tag, b->tag);
  cr_assert_str_neq(a->image_id, b->image_id);
  sleep(1);
  jd_env_image *c3 = ensure(&f, JD_OP_BUILD, df3, NULL);

  /* A stopped container still uses the oldest image: gc must keep it. */
  char *name = t_unique("icgc");
  dk_kv cl[] = {{T_LABEL_KEY, "1"}};
  const char *cmd[] = {"true", NULL};
  dk_container_config cfg = {.image = a->tag, .cmd = cmd, .labels = cl, .nlabels = 1};
  char *cid = NULL;
  t_ok(dk_container_create(&cid, f.c, name, &cfg));

  jd_image_gc_opts go = {.domain = "ai", .id = f.id, .keep = 0};
  jd_image_gc_result *r = NULL;
  t_ok(jd_image_gc(&r, &f.ctx, &go, NULL, 0));
  cr_assert(has_tag(f.c, c3->image_id, c3->tag), "current image removed");
  cr_assert(!has_tag(f.c, b->image_id, b->tag), "old image kept");
  cr_assert(has_tag(f.c, a->image_id, a->tag), "image in use removed");
  bool listed = false;
  for (char **t = r->in_use; t && *t; t++)
    listed |= !strcmp(*t, a->tag);
  cr_assert(listed, "in-use image not reported");
  jd_image_gc_result_free(r);

  /* Once the container is gone, the image goes too. */
  t_ok(dk_container_remove(f.c, cid, true, false));
  t_ok(jd_image_gc(&r, &f.ctx, &go, NULL, 0));
  cr_assert(!has_tag(f.c, a->image_id, a->tag), "unused old image kept");
  cr_assert(has_tag(f.c, c3->image_id, c3->tag), "current image removed");
  jd_image_gc_result_free(r);
  free(cid);
  free(name);
  jd_env_image_free(a);
  jd_env_image_free(b);
  jd_env_image_free(c3);
  fx_fini(&f);
}

Test(image_cache, purge_plan_counts_without_removing_and_spares_images_in_use) {
  fixture f;
  fx_init(&f, "icplan");
  char df1[256], df2[256];
  snprintf(df1, sizeof df1, "FROM " T_BUSYBOX_IMAGE "\nENV MARK=%s V=1\n", f.id);
  snprintf(df2, sizeof df2, "FROM " T_BUSYBOX_IMAGE "\nENV MARK=%s V=2\n", f.id);
  jd_env_image *a = ensure(&f, JD_OP_RUN, df1, NULL);
  jd_env_image *b = ensure(&f, JD_OP_BUILD, df2, NULL);
  /* A stopped container uses a: a purge would keep it. */
  char *name = t_unique("icplan");
  dk_kv cl[] = {{T_LABEL_KEY, "1"}};
  const char *cmd[] = {"true", NULL};
  dk_container_config cfg = {.image = a->tag, .cmd = cmd, .labels = cl, .nlabels = 1};
  char *cid = NULL;
  t_ok(dk_container_create(&cid, f.c, name, &cfg));
  size_t would = 9, in_use = 9;
  t_ok(jd_image_purge_plan(&would, &in_use, &f.ctx, "ai", f.id, NULL, 0));
  cr_assert_eq(would, 1);
  cr_assert_eq(in_use, 1);
  cr_assert(has_tag(f.c, a->image_id, a->tag), "a dry run removed an image");
  cr_assert(has_tag(f.c, b->image_id, b->tag), "a dry run removed an image");
  /* The real purge does what the plan said. */
  size_t removed = 0;
  t_ok(jd_image_purge(&removed, &in_use, &f.ctx, "ai", f.id, false, NULL, 0));
  cr_assert_eq(removed, 1);
  cr_assert_eq(in_use, 1);
  t_ok(dk_container_remove(f.c, cid, true, false));
  free(cid);
  free(name);
  jd_env_image_free(a);
  jd_env_image_free(b);
  fx_fini(&f);
}

Test(image_cache, failing_run_is_the_programs_fault_with_the_steps_output) {
  fixture f;
  fx_init(&f, "icfail");
  char df[256];
  snprintf(df, sizeof df, "FROM " T_BUSYBOX_IMAGE "\nRUN echo step-output-%s && exit 3\n", f.id);
  jd_build_limits offline = {.image_network = "none"};
  jd_env_image *img = ensure(&f, JD_OP_RUN, df, &offline);
  cr_assert_str_eq(jd_verdict_name(img->verdict), "CE");
  cr_assert_null(img->image_id);
  char want[128];
  snprintf(want, sizeof want, "step-output-%s", f.id);
  cr_assert(img->log && strstr(img->log, want), "step output missing: %s", img->log);
  cr_assert(img->message && strstr(img->message, "non-zero code: 3"), "%s", img->message);
  char tag[256];
  jd_image_tag_for(tag, sizeof tag, JD_DOMAIN_AI, f.id, JD_OP_RUN, df, strlen(df));
  dk_image_info *info = NULL;
  cr_assert_eq(dk_image_inspect(&info, f.c, tag), DK_ENOTFOUND, "failed build got tagged");
  jd_env_image_free(img);
  fx_fini(&f);
}

Test(image_cache, bad_dockerfile_syntax_is_the_programs_fault) {
  fixture f;
  fx_init(&f, "icsyn");
  jd_env_image *img = ensure(&f, JD_OP_RUN, "FROM " T_BUSYBOX_IMAGE "\nNOTANINSTRUCTION x\n", NULL);
  cr_assert_str_eq(jd_verdict_name(img->verdict), "CE");
  cr_assert(img->message && strstr(img->message, "NOTANINSTRUCTION"),
            "message does not name the bad line: %s", img->message);
  jd_env_image_free(img);
  fx_fini(&f);
}

/* True while any container (any state) runs a command with this marker:
 * Docker's RUN containers are listed (Podman's, buildah's, are not: see
 * marker_process_exists). */
static bool marker_container_exists(dk_client *c, const char *marker) {
  dk_container_list *l = NULL;
  t_ok(dk_container_list_by_label(&l, c, true, NULL));
  bool found = false;
  for (size_t i = 0; i < l->count && !found; i++) {
    dk_container_info *info = NULL;
    if (dk_container_inspect(&info, c, l->items[i].id) == 0)
      found = strstr(info->raw_json, marker) != NULL;
    dk_container_info_free(info);
  }
  dk_container_list_free(l);
  return found;
}

/* True while a process of the host has marker in its command line: the
 * RUN step's shell, whatever the engine lists (every engine of the tests
 * runs on this host, the sidecars' containers too). */
static bool marker_process_exists(const char *marker) {
  DIR *d = opendir("/proc");
  cr_assert_not_null(d);
  bool found = false;
  struct dirent *e;
  while (!found && (e = readdir(d))) {
    char path[300], line[4096];
    if (e->d_name[0] < '0' || e->d_name[0] > '9' || atol(e->d_name) == (long)getpid())
      continue;
    snprintf(path, sizeof path, "/proc/%s/cmdline", e->d_name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t len = fd < 0 ? -1 : read(fd, line, sizeof line - 1);
    if (fd >= 0)
      close(fd);
    for (ssize_t i = 0; i < len; i++)
      line[i] = line[i] ? line[i] : ' ';
    found = len > 0 && memmem(line, (size_t)len, marker, strlen(marker));
  }
  closedir(d);
  return found;
}

Test(image_cache, build_past_its_wall_time_is_tle_and_canceled_on_the_engine) {
  fixture f;
  fx_init(&f, "ictle");
  char df[256], marker[128];
  snprintf(marker, sizeof marker, "tle-marker-%s", f.id);
  snprintf(df, sizeof df, "FROM " T_BUSYBOX_IMAGE "\nRUN echo %s && sleep 60\n", marker);
  jd_build_limits lim = {.wall_ms = 2500, .image_network = "none"};
  const jd_engine *eng = jd_ctx_engine(&f.ctx, NULL, 0);
  cr_assert_not_null(eng);
  if (eng->kind == DK_ENGINE_PODMAN) {
    /* Podman runs a RUN step on after the judger hangs up (review 28 #14):
     * the defence there is the refusal, unless build_wall_time is accepted
     * (build_wall_podman43.c shows the gap). */
    jd_env_image *img = NULL;
    char err[1024] = "";
    jd_build_request req = {.ref = {.domain = JD_DOMAIN_AI, .id = f.id}, .limits = lim};
    int rc = jd_env_image_ensure(&img, &f.ctx, &req, JD_OP_RUN, df, strlen(df), err, sizeof err);
    cr_assert_eq(rc, -1, "built on Podman: %s", img ? jd_verdict_name(img->verdict) : "?");
    cr_assert(strstr(err, "build_wall_time ("), "%s", err);
    cr_assert_not(marker_process_exists(marker), "the refused build runs");
    fx_fini(&f);
    return;
  }
  int64_t t0 = dk_now_ms();
  jd_env_image *img = ensure(&f, JD_OP_RUN, df, &lim);
  int64_t took = dk_now_ms() - t0;
  cr_assert_str_eq(jd_verdict_name(img->verdict), "TLE", "%s", img->message ? img->message : "");
  cr_assert(took < 10000, "TLE took %lld ms", (long long)took);
  /* The engine cancels the build when the connection closes: its RUN
   * container must disappear, and its process with it, not sleep on. */
  bool gone = false;
  for (int i = 0; i < 40 && !gone; i++) {
    gone = !marker_container_exists(f.c, marker) && !marker_process_exists(marker);
    if (!gone)
      usleep(250 * 1000);
  }
  cr_assert(gone, "the build's RUN container or its process is still there after the TLE");
  jd_env_image_free(img);
  fx_fini(&f);
}

/* The engine's own loss of a step image (moby#29011) is told apart from a
 * Dockerfile that asks for a missing image by id. */
Test(image_cache, a_lost_step_image_is_the_engines_fault_unless_the_dockerfile_names_it) {
  const char *id = "e0bc25baf4bb6e03605753c760435cd589da05e25053471c5bf7e6180a7de4f1";
  char msg[160];
  snprintf(msg, sizeof msg, "unable to find image \"sha256:%s\"", id);
  const char *df = "FROM judger-test/busybox:1\nLABEL a=1\n";
  const char *step = "Step 2/2 : LABEL a=1";
  cr_assert(jd_build_lost_own_image(msg, step, df, strlen(df)));
  char named[256];
  snprintf(named, sizeof named, "FROM x\nRUN echo %.12s\n", id);
  cr_assert_not(jd_build_lost_own_image(msg, step, named, strlen(named)),
                "the Dockerfile asked for it");
  /* A step that looks an image up by the Dockerfile's name for it (ARGs
   * can assemble the id, so the text need not hold it). */
  cr_assert_not(jd_build_lost_own_image(msg, "Step 1/2 : FROM sha256:${A}${B}", df, strlen(df)));
  cr_assert_not(jd_build_lost_own_image(msg, "Step 1/2 : from sha256:${A}", df, strlen(df)));
  cr_assert_not(
      jd_build_lost_own_image(msg, "Step 3/4 : COPY --from=sha256:${A} /a /b", df, strlen(df)));
  cr_assert_not(jd_build_lost_own_image(msg, "Step 3/4 : ONBUILD RUN x", df, strlen(df)));
  cr_assert_not(jd_build_lost_own_image(msg, NULL, df, strlen(df)), "no step seen");
  /* A failing RUN quotes its command: its text proves nothing. */
  char spoof[400];
  snprintf(spoof, sizeof spoof,
           "The command '/bin/sh -c false 'unable to find image \"sha256:%s\"'' returned a "
           "non-zero code: 1",
           id);
  cr_assert_not(jd_build_lost_own_image(spoof, "Step 2/2 : RUN false ...", df, strlen(df)));
  snprintf(spoof, sizeof spoof, "%s and more", msg);
  cr_assert_not(jd_build_lost_own_image(spoof, step, df, strlen(df)));
  /* Anything else is the build's: a short id, a name, another message. */
  cr_assert_not(
      jd_build_lost_own_image("unable to find image \"sha256:e0bc25\"", step, df, strlen(df)));
  cr_assert_not(
      jd_build_lost_own_image("unable to find image \"busybox:9\"", step, df, strlen(df)));
  cr_assert_not(jd_build_lost_own_image(NULL, step, df, strlen(df)));
}

/* Builds and removes throwaway images (parents pruned, as gc does) until
 * told to stop: what a gc or another judger does beside a build. */
typedef struct remover {
  const char *label;
  atomic_bool stop;
  int removed;
} remover;

static void *remove_loop(void *arg) {
  remover *r = arg;
  dk_client *c = t_client();
  dk_kv labels[] = {{T_LABEL_KEY, "1"}, {"judger.test.id", r->label}};
  for (int n = 0; !atomic_load(&r->stop); n++) {
    char df[256], tag[200];
    snprintf(df, sizeof df, "FROM " T_BUSYBOX_IMAGE "\nLABEL rm=%s-%d\n", r->label, n);
    snprintf(tag, sizeof tag, "judger-test/%s-rm:%d", r->label, n);
    dk_tar *t = NULL;
    const void *data = NULL;
    size_t len = 0;
    const char *tags[] = {tag, NULL};
    dk_build_opts o = {.tags = tags, .labels = labels, .nlabels = 2};
    if (dk_tar_new(&t, 0) == 0 && dk_tar_add_file(t, "Dockerfile", df, strlen(df), 0644) == 0 &&
        dk_tar_finish(t, &data, &len) == 0 &&
        dk_image_build(NULL, c, data, len, &o, NULL, NULL, NULL, NULL) == 0 &&
        dk_image_remove(c, tag, true, false) == 0)
      __atomic_add_fetch(&r->removed, 1, __ATOMIC_SEQ_CST);
    dk_tar_free(t);
  }
  dk_client_free(c);
  return NULL;
}

static void count_rebuilds(void *ud, const char *line) {
  if (strstr(line, "[judger] the engine lost an image"))
    (*(int *)ud)++;
}

/* Images removed while builds run: on the containerd image store each
 * removal can delete a running build's step image; the build is then built
 * again or, at worst, a system fault. Never the Dockerfile's CE. */
Test(image_cache, builds_beside_image_removals_are_never_the_dockerfiles_fault) {
  fixture f;
  fx_init(&f, "iclost");
  remover r = {.label = f.test_label};
  pthread_t th;
  cr_assert_eq(pthread_create(&th, NULL, remove_loop, &r), 0);
  int rebuilds = 0, faults = 0;
  for (int k = 0; k < 6; k++) {
    char df[256];
    snprintf(df, sizeof df, "FROM " T_BUSYBOX_IMAGE "\nLABEL step=%s-%d\nENV K=%d\n", f.id, k, k);
    jd_env_image *img = NULL;
    jd_build_request req = {.ref = {.domain = JD_DOMAIN_AI, .id = f.id},
                            .labels = f.labels,
                            .nlabels = 2,
                            .progress = count_rebuilds,
                            .ud = &rebuilds};
    char err[512] = "";
    int rc = jd_env_image_ensure(&img, &f.ctx, &req, JD_OP_RUN, df, strlen(df), err, sizeof err);
    if (rc) {
      /* the system fault of a build the engine kept breaking, no other */
      cr_assert(strstr(err, "unable to find image"), "build %d: %s", k, err);
      faults++;
      continue;
    }
    cr_assert_str_eq(jd_verdict_name(img->verdict), "OK", "build %d: %s", k,
                     img->message ? img->message : "");
    jd_env_image_free(img);
  }
  /* At least one removal beside the builds (the machine may be slow). */
  for (int64_t until = jd_mono_ms() + 60000;
       __atomic_load_n(&r.removed, __ATOMIC_SEQ_CST) == 0 && jd_mono_ms() < until;)
    usleep(20 * 1000);
  atomic_store(&r.stop, true);
  pthread_join(th, NULL);
  /* A throwaway whose removal failed is removed now. */
  char filt[200];
  snprintf(filt, sizeof filt, "judger.test.id=%s", f.test_label);
  const char *filters[] = {filt, NULL};
  dk_image_list *l = NULL;
  t_ok(dk_image_list_filtered(&l, f.c, filters, NULL));
  for (size_t i = 0; i < l->count; i++)
    (void)dk_image_remove(f.c, l->items[i].id, true, false);
  dk_image_list_free(l);
  cr_assert_gt(r.removed, 0, "no image was removed beside the builds");
  cr_log_info("%d removals beside 6 builds: %d built again, %d system faults", r.removed, rebuilds,
              faults);
  fx_fini(&f);
}

static void count_lines(void *ud, const char *line) {
  (void)line;
  (*(int *)ud)++;
}

/* The race cannot be made on demand (it took 9 removals beside 6 builds on
 * the containerd store without one), so an engine that always loses the
 * step image shows the rest: built three times, then a system fault. */
Test(image_cache, a_build_the_engine_keeps_breaking_is_a_system_fault_after_three_tries) {
  static const char body[] =
      "{\"stream\":\"Step 1/2 : FROM judger-test/busybox:1\\n\"}\r\n"
      "{\"stream\":\"Step 2/2 : LABEL a=1\\n\"}\r\n"
      "{\"errorDetail\":{\"message\":\"unable to find image \\\"sha256:"
      "e0bc25baf4bb6e03605753c760435cd589da05e25053471c5bf7e6180a7de4f1\\\"\"},"
      "\"error\":\"unable to find image \\\"sha256:"
      "e0bc25baf4bb6e03605753c760435cd589da05e25053471c5bf7e6180a7de4f1\\\"\"}\r\n";
  size_t n = 0;
  char *raw = t_fake_answer(&n, "200 OK", "application/json", body, sizeof body - 1);
  t_fake_route route = {"POST", "/build", raw, n, 0};
  t_fake *fake = t_fake_start(&route, 1);
  dk_client_opts o = {.host = t_fake_host(fake), .api_version = "1.41"};
  dk_client *c = NULL;
  t_ok(dk_client_new(&c, &o));
  char *state = t_tmpdir("lost");
  jd_ctx ctx = {.dk = c, .state_dir = state, .host_id = "test", .engine_known = 1};
  /* a Docker that keeps every guarantee: the fake serves no /version */
  jd_engine_profile(&ctx.engine, DK_ENGINE_DOCKER, "20.10.24");
  jd_build_limits lim = {.image_network = "none"};
  const char *df = "FROM judger-test/busybox:1\nLABEL a=1\n";
  int lines = 0;
  jd_env_image *img = NULL;
  jd_build_request req = {.ref = {.domain = JD_DOMAIN_AI, .id = "lost"},
                          .limits = lim,
                          .progress = count_lines,
                          .ud = &lines};
  char err[512] = "";
  int rc = jd_env_image_ensure(&img, &ctx, &req, JD_OP_RUN, df, strlen(df), err, sizeof err);
  cr_assert_eq(rc, -1);
  cr_assert(strstr(err, "unable to find image"), "%s", err); /* a system fault, not CE */
  cr_assert_null(img);
  /* The inspect that missed, the engine's info (the RUN steps' process
   * limit, build/run_cgroup.h), then three builds. */
  cr_assert_eq(t_fake_served(fake), 5, "served %d", t_fake_served(fake));
  cr_assert_geq(lines, 3 * 2 + 2, "progress lines: %d", lines);
  t_fake_stop(fake);
  dk_client_free(c);
  free(raw);
  t_rmdir(state);
}

typedef struct shared_build {
  fixture *f;
  char df[256];
  int waited;         /* "[judger] waited" lines */
  atomic_bool at_run; /* its stream reached the RUN step */
  jd_env_image *img;
  int rc;
} shared_build;

static void watch_shared(void *ud, const char *line) {
  shared_build *b = ud;
  if (strstr(line, "[judger] waited "))
    b->waited++;
  if (strstr(line, "Step 2/") && strstr(line, " : RUN "))
    atomic_store(&b->at_run, true);
}

static void *build_shared(void *arg) {
  shared_build *b = arg;
  b->rc = jd_env_image_ensure(&b->img, &b->f->ctx,
                              &(jd_build_request){.ref = {.domain = JD_DOMAIN_AI, .id = b->f->id},
                                                  .labels = b->f->labels,
                                                  .nlabels = 2,
                                                  .progress = watch_shared,
                                                  .ud = b},
                              JD_OP_RUN, b->df, strlen(b->df), NULL, 0);
  return NULL;
}

/* Two builds whose first RUN is the same, the second asked for while the
 * first runs that step: it waits for it and takes the step from the cache
 * instead of running it again. */
Test(image_cache, builds_sharing_their_first_run_take_turns_and_share_its_cache) {
  fixture f;
  fx_init(&f, "icshare");
  shared_build b[2] = {{.f = &f}, {.f = &f}};
  for (int k = 0; k < 2; k++)
    snprintf(b[k].df, sizeof b[k].df,
             "FROM " T_BUSYBOX_IMAGE "\nRUN sleep 2 && echo %s > /shared\nENV K=%d\n", f.id, k);
  pthread_t th[2];
  cr_assert_eq(pthread_create(&th[0], NULL, build_shared, &b[0]), 0);
  for (int64_t until = jd_mono_ms() + 60000; !atomic_load(&b[0].at_run);) {
    cr_assert(jd_mono_ms() < until, "the first build never reached its RUN step");
    usleep(5 * 1000);
  }
  cr_assert_eq(pthread_create(&th[1], NULL, build_shared, &b[1]), 0);
  for (int k = 0; k < 2; k++)
    pthread_join(th[k], NULL);
  for (int k = 0; k < 2; k++) {
    cr_assert_eq(b[k].rc, 0, "build %d: %s", k, dk_error_name(b[k].rc));
    cr_assert_str_eq(jd_verdict_name(b[k].img->verdict), "OK", "%s",
                     b[k].img->message ? b[k].img->message : "");
  }
  cr_assert_eq(b[0].waited, 0);
  cr_assert_eq(b[1].waited, 1, "the second build did not wait");
  /* Its RUN step came from the cache. */
  cr_assert(b[1].img->log && strstr(b[1].img->log, "Using cache"), "log: %s",
            b[1].img->log ? b[1].img->log : "(none)");
  for (int k = 0; k < 2; k++)
    jd_env_image_free(b[k].img);
  fx_fini(&f);
}
