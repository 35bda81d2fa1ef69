// test-labels: podman43
/* A read-only root stays read-only on Podman (review 28 #8): Debian 12's
 * Podman 4.3.1 (images/engines/podman.sh start podman43; the fixture sets
 * JUDGER_PODMAN43_HOST) mounts writable, executable tmpfs of its own on
 * /run and /var/tmp of a read-only container; jd_create_compat mounts shut
 * ones there instead. A container made as a match makes a player's
 * (jd_limits_host_config, then jd_create_compat on the learnt engine)
 * cannot write /run, /var/tmp or /, as user 65534 or as root without
 * capabilities, while the judger's own /tmp works. An image's VOLUME
 * inside /run or at /var/tmp gets its own sized tmpfs there, as on Docker
 * (covered as a unit's configuration covers it: jd_volumes_cover, then
 * jd_create_compat), and the container starts (runc makes the mountpoint
 * inside the read-only /run: measured). At the create level:
 * a match on Podman 4.3 is refused (host_unreachable, oom_verdict), which
 * is not the subject here. Under CI=true an unreachable Podman fails;
 * elsewhere the test says it skips. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/context.h"
#include "dockerapi/images.h"
#include "dockerapi/tar.h"
#include "match/create_compat.h"
#include "match/match_limits.h"
#include "support.h"

static dk_client *c;
static char *state;

static void setup(void) {
  c = t_podman43_client();
  t_busybox_image(c);
  state = t_tmpdir("ro43"); /* the seccomp profile's file, which Podman reads */
}

static void teardown(void) {
  if (state)
    t_rmdir(state);
  state = NULL;
  dk_client_free(c);
  c = NULL;
}

TestSuite(readonly_podman43, .init = setup, .fini = teardown, .timeout = 120);

/* Each try on one line: WROTE:<path> or REFUSED:<path>; TMP:ok when the
 * judger's /tmp takes a file; then the mounts of the paths concerned. */
static const char probe[] =
    "for f in /x /run/x /var/tmp/x; do "
    "if (echo x > \"$f\") 2>/dev/null; then echo \"WROTE:$f\"; else echo \"REFUSED:$f\"; fi; "
    "done; "
    "if echo ok > /tmp/x && [ \"$(cat /tmp/x)\" = ok ]; then echo TMP:ok; fi; "
    "grep -E ' /(run|var/tmp|tmp) ' /proc/mounts";

/* A player's configuration (match_unit_cfg.c's order): the limits, then
 * the image's declared volumes covered (jd_volumes_cover, v), then the
 * engine's forms. */
static void player_config(dk_container_config *cc, jd_limits_store *st, jd_volumes *v,
                          jd_compat_store *compat, jd_ctx *ctx) {
  jd_role_limits l = {
      .cpus = 1, .memory = 64 << 20, .pids = 32, .log_max = 1 << 20, .tmpfs = 1 << 20};
  jd_limits_host_config(&cc->host, st, &l, "none");
  dk_image_info *info = NULL;
  t_ok(dk_image_inspect(&info, c, cc->image));
  char err[400] = "";
  int rc =
      jd_volumes_cover(v, (const char *const *)info->volumes, info->volumes_truncated,
                       cc->host.tmpfs, cc->host.ntmpfs, cc->host.binds, l.tmpfs, err, sizeof err);
  dk_image_info_free(info);
  cr_assert_eq(rc, 0, "%s", err);
  cr_assert_not(v->refused, "%s", v->why);
  cc->host.tmpfs = v->tmpfs;
  cc->host.ntmpfs = v->ntmpfs;
  cr_assert_eq(jd_create_compat(&cc->host, compat, ctx, err, sizeof err), 0, "%s", err);
  cr_assert_eq(ctx->engine.kind, DK_ENGINE_PODMAN);
}

/* Runs script as user in a container of image made as a player's is; its
 * output (the caller frees it). */
static char *run_script(const char *image, const char *user, const char *script) {
  jd_ctx ctx = {.dk = c, .state_dir = state};
  dk_container_config cc = {.image = image, .user = user};
  jd_limits_store st;
  jd_compat_store compat;
  jd_volumes v;
  player_config(&cc, &st, &v, &compat, &ctx);
  cr_assert_eq(ctx.engine.kind, DK_ENGINE_PODMAN);
  const char *cmd[] = {"sh", "-c", script, NULL};
  dk_kv labels[] = {{T_LABEL_KEY, "1"}};
  cc.cmd = cmd;
  cc.labels = labels;
  cc.nlabels = 1;
  char *name = t_unique("jdt-ro43");
  char *id = NULL;
  int rc = dk_container_create(&id, c, name, &cc);
  free(name);
  t_ok(rc);
  int64_t code = -1;
  dk_call call = {.deadline_ms = dk_now_ms() + 60000};
  rc = dk_container_start(c, id);
  if (!rc)
    rc = dk_container_wait(&code, c, id, NULL, &call);
  dk_buf out = DK_BUF_INIT(1 << 16);
  if (!rc)
    rc = dk_container_logs_collect(c, id, NULL, &out, &out, NULL);
  (void)dk_container_remove(c, id, true, true);
  free(id);
  t_ok(rc);
  cr_assert_not_null(out.data);
  char *text = strdup(out.data);
  dk_buf_free(&out);
  return text;
}

static char *run_probe(const char *user) { return run_script(T_BUSYBOX_IMAGE, user, probe); }

/* The /proc/mounts line of path (" <path> "), or NULL. */
static const char *mount_of(const char *log, const char *path) {
  char key[64];
  snprintf(key, sizeof key, " %s ", path);
  return strstr(log, key);
}

static void assert_shut(const char *log) {
  cr_assert_null(strstr(log, "WROTE:"), "%s", log);
  cr_assert(strstr(log, "REFUSED:/x"), "%s", log);
  cr_assert(strstr(log, "REFUSED:/run/x"), "%s", log);
  cr_assert(strstr(log, "REFUSED:/var/tmp/x"), "%s", log);
  cr_assert(strstr(log, "TMP:ok"), "%s", log);
  static const char *const shut[] = {"/run", "/var/tmp"};
  for (size_t i = 0; i < 2; i++) {
    const char *m = mount_of(log, shut[i]);
    cr_assert_not_null(m, "no %s in %s", shut[i], log);
    cr_assert(!strncmp(strstr(m + 1, " ") + 1, "tmpfs ro,", 9), "%s: %s", shut[i], log);
    const char *eol = strchr(m, '\n');
    char line[256];
    snprintf(line, sizeof line, "%.*s", (int)(eol ? eol - m : (long)strlen(m)), m);
    cr_assert(strstr(line, "noexec") && strstr(line, "size=4k"), "%s", line);
  }
  /* The judger's /tmp is its own: writable, sized. */
  const char *tmp = mount_of(log, "/tmp");
  cr_assert(tmp && strstr(tmp, "tmpfs rw,") && strstr(tmp, "size=1024k"), "%s", log);
}

Test(readonly_podman43, run_and_var_tmp_are_shut_to_the_player) {
  char *log = run_probe("65534:65534");
  assert_shut(log);
  free(log);
}

/* Root without capabilities owns a root-owned directory: only a read-only
 * mount stops it, as the read-only root does on Docker. */
Test(readonly_podman43, run_and_var_tmp_are_shut_to_root_too) {
  char *log = run_probe("0:0");
  assert_shut(log);
  free(log);
}

/* The busybox image with `VOLUME path` (built on the engine); its id. */
static char *volume_image(const char *path) {
  char df[256];
  snprintf(df, sizeof df, "FROM " T_BUSYBOX_IMAGE "\nVOLUME %s\n", path);
  dk_build_opts o = {.network_mode = "none"};
  dk_buf log = DK_BUF_INIT(1 << 20);
  char *id = NULL;
  int rc = t_build_dockerfile(&id, c, df, &o, &log);
  cr_assert(!rc && id, "build of VOLUME %s: %d %s", path, rc, log.data ? log.data : "");
  dk_buf_free(&log);
  return id;
}

/* Each try: WROTE:<path> or REFUSED:<path>; then the mounts there. */
static const char vol_probe[] =
    "for f in /run/y /run/x/f /var/tmp/f; do "
    "if (echo x > \"$f\") 2>/dev/null; then echo \"WROTE:$f\"; else echo \"REFUSED:$f\"; fi; "
    "done; "
    "grep -E ' /(run|run/x|var/tmp) ' /proc/mounts";

/* The /proc/mounts line of path, cut to its first 256 bytes. */
static void mount_line(char *line, size_t n, const char *log, const char *path) {
  const char *m = mount_of(log, path);
  cr_assert_not_null(m, "no %s in %s", path, log);
  const char *eol = strchr(m, '\n');
  snprintf(line, n, "%.*s", (int)(eol ? eol - m : (long)strlen(m)), m);
}

/* A VOLUME inside the shut /run (measured on 4.3.1 and 5.4.2, both runc):
 * the container starts, runc making the mountpoint inside the read-only
 * /run; the volume is a tmpfs of its own, sized as /tmp and counted in
 * memory, as on Docker (where /run is part of the read-only root); the
 * rest of /run stays shut. Were a runtime to fail that start, the
 * program could make its runs system faults: this test would say so. */
Test(readonly_podman43, a_volume_inside_run_gets_its_own_tmpfs) {
  char *image = volume_image("/run/x");
  char *log = run_script(image, "65534:65534", vol_probe);
  (void)dk_image_remove(c, image, true, false);
  free(image);
  cr_assert(strstr(log, "REFUSED:/run/y"), "%s", log);
  cr_assert(strstr(log, "WROTE:/run/x/f"), "%s", log);
  cr_assert(strstr(log, "REFUSED:/var/tmp/f"), "%s", log);
  char line[256];
  mount_line(line, sizeof line, log, "/run");
  cr_assert(strstr(line, "tmpfs ro,") && strstr(line, "size=4k"), "%s", line);
  mount_line(line, sizeof line, log, "/run/x");
  cr_assert(strstr(line, "tmpfs rw,") && strstr(line, "size=1024k"), "%s", line);
  free(log);
}

/* A VOLUME at /var/tmp: the image's sized tmpfs there, the one mount
 * (neither Podman's unsized one nor the shut one), as on Docker. */
Test(readonly_podman43, a_volume_at_var_tmp_gets_its_own_tmpfs) {
  char *image = volume_image("/var/tmp");
  char *log = run_script(image, "0:0", vol_probe);
  (void)dk_image_remove(c, image, true, false);
  free(image);
  cr_assert(strstr(log, "REFUSED:/run/y"), "%s", log);
  cr_assert(strstr(log, "WROTE:/var/tmp/f"), "%s", log);
  char line[256];
  mount_line(line, sizeof line, log, "/var/tmp");
  cr_assert(strstr(line, "tmpfs rw,") && strstr(line, "size=1024k"), "%s", line);
  cr_assert_null(mount_of(mount_of(log, "/var/tmp") + 1, "/var/tmp"), "two mounts: %s", log);
  free(log);
}
