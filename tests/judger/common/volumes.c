// test-labels: unit
/* common/volumes.c: an image's declared volumes become size-capped tmpfs
 * entries, or the image is refused with a reason naming the path. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "common/volumes.h"
#include "dockerapi/images.h"

static const dk_kv tmp_only[] = {{"/tmp", "rw,size=1"}};

static void refused_with(const char *path, const char *reason) {
  char clean[JD_VOLUME_PATH_MAX + 1], err[300];
  cr_assert_eq(jd_volume_path_clean(clean, sizeof clean, path, err, sizeof err), -1,
               "%s accepted as %s", path, clean);
  cr_assert(strstr(err, reason), "%s: %s", path, err);
  /* The same through the cover: refused, nothing added. */
  const char *vols[] = {"/ok", path, NULL};
  jd_volumes v;
  cr_assert_eq(jd_volumes_cover(&v, vols, false, tmp_only, 1, NULL, 4096, err, sizeof err), 0);
  cr_assert(v.refused, "%s", path);
  cr_assert(strstr(v.why, reason), "%s: %s", path, v.why);
  cr_assert_eq(v.ntmpfs, 1);
  cr_assert_eq(v.ncovered, 0);
}

static void cleaned_to(const char *path, const char *want) {
  char clean[JD_VOLUME_PATH_MAX + 1], err[300];
  cr_assert_eq(jd_volume_path_clean(clean, sizeof clean, path, err, sizeof err), 0, "%s: %s", path,
               err);
  cr_assert_str_eq(clean, want);
}

Test(volumes, paths_are_cleaned_as_the_engine_cleans_them) {
  cleaned_to("/data", "/data");
  cleaned_to("/var//x/", "/var/x");
  cleaned_to("//a///b//", "/a/b");
  cleaned_to("/my data", "/my data");
  cleaned_to("/données", "/données");
  cleaned_to("/.hidden/..x/x..", "/.hidden/..x/x..");
  cleaned_to("/procfs", "/procfs");
  cleaned_to("/devices/x", "/devices/x");
}

Test(volumes, unsafe_paths_are_refused) {
  refused_with("", "empty");
  refused_with("data", "not an absolute path");
  refused_with("./data", "not an absolute path");
  refused_with("/", "the root itself");
  refused_with("///", "the root itself");
  refused_with("/data/../etc", "\"..\"");
  refused_with("/..", "\"..\"");
  refused_with("/data/.", "\".\"");
  refused_with("/proc", "under /proc");
  refused_with("/proc/sys/kernel", "under /proc");
  refused_with("//sys/", "under /sys");
  refused_with("/dev/shm", "under /dev");
  refused_with("/a\nb", "control character");
  refused_with("/a\x1b[2Jb", "control character");
  refused_with("/\xff\xfe", "not UTF-8");
  char longp[400];
  memset(longp, 'a', sizeof longp - 1);
  longp[0] = '/';
  longp[sizeof longp - 1] = '\0';
  refused_with(longp, "longer than 255 bytes");
}

Test(volumes, the_message_shows_the_path_safely) {
  char clean[JD_VOLUME_PATH_MAX + 1], err[300];
  cr_assert_eq(jd_volume_path_clean(clean, sizeof clean, "/a\x1b]0;x\x07", err, sizeof err), -1);
  cr_assert_null(strchr(err, 0x1b), "%s", err);
  cr_assert_null(strchr(err, 0x07), "%s", err);
  cr_assert(strstr(err, "\\x1b"), "%s", err);
}

Test(volumes, each_path_gets_a_capped_tmpfs_after_the_callers) {
  const dk_kv base[] = {{"/tmp", "rw,size=64"}, {"/judger/out", "rw,size=8"}};
  const char *binds[] = {"/host/app:/app:ro", "/state/cmd:/judger/cmd", NULL};
  const char *vols[] = {"/data", "/var//cache/", "/data/", "/tmp", "/app", "/judger", NULL};
  jd_volumes v;
  char err[200];
  cr_assert_eq(jd_volumes_cover(&v, vols, false, base, 2, binds, 65536, err, sizeof err), 0);
  cr_assert_not(v.refused, "%s", v.why);
  /* /data once, /var/cache; /tmp and /app are the judger's mounts already;
   * /judger is above the judger's mounts (they go on top of it). */
  cr_assert_eq(v.ncovered, 3);
  cr_assert_eq(v.ntmpfs, 5);
  cr_assert_str_eq(v.tmpfs[0].key, "/tmp");
  cr_assert_str_eq(v.tmpfs[1].key, "/judger/out");
  cr_assert_str_eq(v.tmpfs[2].key, "/data");
  cr_assert_str_eq(v.tmpfs[3].key, "/var/cache");
  cr_assert_str_eq(v.tmpfs[4].key, "/judger");
  cr_assert_str_eq(v.tmpfs[2].value, "rw,nosuid,nodev,size=65536,mode=1777");
  cr_assert_str_eq(v.tmpfs[4].value, v.tmpfs[2].value);
}

Test(volumes, none_declared_leaves_the_callers_list) {
  jd_volumes v;
  const char *none[] = {NULL};
  cr_assert_eq(jd_volumes_cover(&v, NULL, false, tmp_only, 1, NULL, 4096, NULL, 0), 0);
  cr_assert_eq(v.ntmpfs, 1);
  cr_assert_eq(jd_volumes_cover(&v, none, false, tmp_only, 1, NULL, 4096, NULL, 0), 0);
  cr_assert_eq(v.ntmpfs, 1);
  cr_assert_not(v.refused);
}

Test(volumes, inside_a_judger_mount_is_refused) {
  const dk_kv base[] = {{"/tmp", "rw,size=64"}, {"/judger/out", "rw,size=8"}};
  const char *binds[] = {"/host/a:b/app:/app:ro", "/s/hold:/judger/.hold:ro", NULL};
  const char *cases[][2] = {{"/tmp/x", "inside /tmp"},
                            {"/judger/out/more", "inside /judger/out"},
                            {"/app/x", "inside /app"},
                            {"/app//x/", "inside /app"},
                            {"/judger/.hold/x", "inside /judger/.hold"}};
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    const char *vols[] = {"/data", cases[i][0], NULL};
    jd_volumes v;
    cr_assert_eq(jd_volumes_cover(&v, vols, false, base, 2, binds, 4096, NULL, 0), 0);
    cr_assert(v.refused, "%s", cases[i][0]);
    cr_assert(strstr(v.why, cases[i][1]), "%s: %s", cases[i][0], v.why);
    cr_assert(strstr(v.why, "which the judger mounts"), "%s", v.why);
    cr_assert_eq(v.ntmpfs, 2);
  }
}

Test(volumes, too_many_are_refused) {
  char names[JD_VOLUMES_MAX + 1][16];
  const char *vols[JD_VOLUMES_MAX + 2];
  for (int i = 0; i <= JD_VOLUMES_MAX; i++) {
    snprintf(names[i], sizeof names[i], "/v%d", i);
    vols[i] = names[i];
  }
  vols[JD_VOLUMES_MAX] = NULL;
  jd_volumes v;
  cr_assert_eq(jd_volumes_cover(&v, vols, false, tmp_only, 1, NULL, 4096, NULL, 0), 0);
  cr_assert_not(v.refused, "%s", v.why);
  cr_assert_eq(v.ncovered, JD_VOLUMES_MAX);
  vols[JD_VOLUMES_MAX] = names[JD_VOLUMES_MAX];
  vols[JD_VOLUMES_MAX + 1] = NULL;
  cr_assert_eq(jd_volumes_cover(&v, vols, false, tmp_only, 1, NULL, 4096, NULL, 0), 0);
  cr_assert(v.refused);
  cr_assert(strstr(v.why, "more than 16 volumes"), "%s", v.why);
  cr_assert_eq(v.ntmpfs, 1);
  /* Past the library's cap (it kept only the first ones): refused too. */
  const char *few[] = {"/a", NULL};
  cr_assert_eq(jd_volumes_cover(&v, few, true, tmp_only, 1, NULL, 4096, NULL, 0), 0);
  cr_assert(v.refused);
  cr_assert(strstr(v.why, "more than 256 volumes"), "%s", v.why);
}

Test(volumes, the_judgers_own_mistakes_are_failures) {
  char err[200];
  jd_volumes v;
  const dk_kv many[JD_VOLUMES_BASE_MAX + 1] = {{"/a", "x"}};
  cr_assert_eq(
      jd_volumes_cover(&v, NULL, false, many, JD_VOLUMES_BASE_MAX + 1, NULL, 4096, err, sizeof err),
      -1);
  cr_assert_eq(jd_volumes_cover(&v, NULL, false, tmp_only, 1, NULL, 0, err, sizeof err), -1);
}
