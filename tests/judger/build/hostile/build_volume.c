// test-labels: engine
/* A program build whose build image declares VOLUME /out. The engine
 * would make /out an anonymous volume on the host's disk, outside every cap
 * of the build; the judger covers it with a tmpfs as big as the build's
 * /tmp (its memory), counted in the build's memory (common/volumes.h,
 * build/artifacts.c). A build writing 1 GiB there stops at the memory limit
 * (MLE) and /out is a tmpfs inside it; a declared path the judger will not
 * cover refuses the image with CE and never reaches the engine's create. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "build/artifacts.h"
#include "build/image_cache.h"
#include "build/source_internal.h"
#include "common/tmpfile.h"
#include "common/util.h"
#include "support.h"

typedef struct fixture {
  dk_client *c;
  jd_ctx ctx;
  char *id, *state, *src, *image_id;
  dk_kv labels[2];
} fixture;

/* A build image FROM the test busybox with the VOLUME line, whose CMD is
 * `sh -c SCRIPT`; a source of one file. */
static void fx_init(fixture *f, const char *prefix, const char *volume, const char *script) {
  f->c = t_client();
  t_busybox_image(f->c);
  f->id = t_unique(prefix);
  f->state = t_tmpdir("volstate");
  f->src = t_tmpdir("volsrc");
  f->ctx = (jd_ctx){.dk = f->c, .state_dir = f->state, .host_id = "test"};
  f->labels[0] = (dk_kv){T_LABEL_KEY, "1"};
  f->labels[1] = (dk_kv){"judger.test.id", f->id};
  char p[4200], df[2048];
  snprintf(p, sizeof p, "%s/main.txt", f->src);
  cr_assert_eq(jd_write_file(p, "hello\n", 6), 0);
  snprintf(df, sizeof df,
           "FROM " T_BUSYBOX_IMAGE "\nENV MARK=%s\nVOLUME %s\nCMD [\"sh\", \"-c\", \"%s\"]\n",
           f->id, volume, script);
  jd_env_image *img = NULL;
  t_ok(jd_env_image_ensure(&img, &f->ctx,
                           &(jd_build_request){.ref = {.domain = JD_DOMAIN_AI, .id = f->id},
                                               .labels = f->labels,
                                               .nlabels = 2},
                           JD_OP_BUILD, df, strlen(df), NULL, 0));
  cr_assert_str_eq(jd_verdict_name(img->verdict), "OK", "%s", img->message ? img->message : "");
  f->image_id = strdup(img->image_id);
  jd_env_image_free(img);
}

static void fx_fini(fixture *f) {
  jd_image_purge(NULL, NULL, &f->ctx, NULL, f->id, true, NULL, 0);
  t_rmdir(f->state);
  t_rmdir(f->src);
  free(f->image_id);
  free(f->id);
  dk_client_free(f->c);
}

static jd_artifacts *build(fixture *f, const jd_build_limits *lim) {
  char h[65], ident[80];
  cr_assert_eq(jd_tree_hash(h, f->src), 0);
  snprintf(ident, sizeof ident, "tree:%s", h);
  jd_artifacts *a = NULL;
  t_ok(jd_artifacts_ensure(&a, &f->ctx,
                           &(jd_build_request){.ref = {.domain = JD_DOMAIN_AI, .id = f->id},
                                               .limits = lim ? *lim : (jd_build_limits){0},
                                               .labels = f->labels,
                                               .nlabels = 2},
                           f->src, ident, f->image_id, NULL, 0));
  cr_assert_not_null(a);
  return a;
}

/* No container of this test is left, in any state. */
static void assert_no_build_container(fixture *f) {
  char filter[200];
  snprintf(filter, sizeof filter, "judger.test.id=%s", f->id);
  const char *labels[] = {filter, NULL};
  dk_container_list *l = NULL;
  t_ok(dk_container_list_by_label(&l, f->c, true, labels));
  cr_assert_eq(l->count, 0, "%zu build container(s) left behind", l->count);
  dk_container_list_free(l);
}

Test(build_volume, the_image_declares_out, .timeout = 300) {
  fixture f;
  fx_init(&f, "volinfo", "/out //var//cache/", "true");
  dk_image_info *info = NULL;
  t_ok(dk_image_inspect(&info, f.c, f.image_id));
  /* dockerapi hands the paths as the engine keeps them. */
  cr_assert_not_null(info->volumes);
  cr_assert_not_null(info->volumes[0]);
  cr_assert_not_null(info->volumes[1]);
  cr_assert_null(info->volumes[2]);
  bool out = !strcmp(info->volumes[0], "/out") || !strcmp(info->volumes[1], "/out");
  cr_assert(out, "%s, %s", info->volumes[0], info->volumes[1]);
  cr_assert_not(info->volumes_truncated);
  dk_image_info *copy = dk_image_info_dup(info);
  cr_assert_not_null(copy);
  cr_assert_str_eq(copy->volumes[0], info->volumes[0]);
  cr_assert_str_eq(copy->raw_json, info->raw_json);
  dk_image_info_free(copy);
  dk_image_info_free(info);
  fx_fini(&f);
}

Test(build_volume, writing_1_gib_into_a_declared_volume_stops_at_the_memory_limit, .timeout = 300) {
  fixture f;
  /* What /out is, then 1 GiB into it. */
  fx_init(&f, "volfill", "/out",
          "grep ' /out ' /proc/mounts; dd if=/dev/zero of=/out/big bs=1048576 count=1024; "
          "echo dd=$?; echo wrote-1-gib");
  jd_build_limits lim = {.memory = 64 << 20, .wall_ms = 240000};
  int64_t t0 = dk_now_ms();
  jd_artifacts *a = build(&f, &lim);
  int64_t took = dk_now_ms() - t0;
  /* /out is the judger's tmpfs, as big as /tmp (the memory), not a volume
   * on the host's disk. */
  cr_assert(a->log && strstr(a->log, "tmpfs /out tmpfs rw,nosuid,nodev"), "log: %s", a->log);
  cr_assert(strstr(a->log, "size=65536k"), "log: %s", a->log);
  /* The tmpfs's pages are the build's memory: the memory limit stops it
   * (or, if the kernel says ENOSPC first, the build goes on with a full /out
   * and is OK; never 1 GiB written). */
  cr_log_info("1 GiB into /out: %s (%s)", jd_verdict_name(a->verdict),
              a->message ? a->message : "");
  bool mle = !strcmp(jd_verdict_name(a->verdict), "MLE");
  bool full = a->log && strstr(a->log, "No space left on device");
  cr_assert(mle || full, "%s: %s\n%s", jd_verdict_name(a->verdict), a->message, a->log);
  cr_assert(!strstr(a->log, "1073741824 bytes"), "log: %s", a->log);
  cr_assert(took < 120000, "the build took %lld ms", (long long)took);
  assert_no_build_container(&f);
  jd_artifacts_free(a);
  fx_fini(&f);
}

/* A declared path the judger will not cover: CE, with the reason. */
static void refused(const char *prefix, const char *volume, const char *reason) {
  fixture f;
  fx_init(&f, prefix, volume, "echo ran");
  jd_build_limits lim = {.wall_ms = 60000};
  jd_artifacts *a = build(&f, &lim);
  cr_assert_str_eq(jd_verdict_name(a->verdict), "CE", "%s: %s\n%s", jd_verdict_name(a->verdict),
                   a->message, a->log);
  cr_assert(a->message && strstr(a->message, "build image refused: "), "%s", a->message);
  cr_assert(strstr(a->message, reason), "%s", a->message);
  cr_assert(!a->log || !strstr(a->log, "ran"), "log: %s", a->log);
  cr_assert_null(a->dir);
  assert_no_build_container(&f);
  jd_artifacts_free(a);
  fx_fini(&f);
}

Test(build_volume, a_volume_under_proc_is_ce, .timeout = 300) {
  refused("volproc", "/proc/sys", "VOLUME /proc/sys: under /proc");
}

Test(build_volume, a_volume_inside_app_is_ce, .timeout = 300) {
  refused("volapp", "/app/cache", "VOLUME /app/cache: inside /app, which the judger mounts");
}
