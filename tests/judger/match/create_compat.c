// test-labels: unit
/* Every create's Ulimits and Podman's forms (match/create_compat.h),
 * without an engine: the profiles come from jd_engine_profile. */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "match/create_compat.h"
#include "match/match_limits.h"
#include "match/seccomp.h"
#include "support.h"

static jd_engine docker, podman4;
static void setup(void) {
  jd_engine_profile(&docker, DK_ENGINE_DOCKER, "20.10.24");
  jd_engine_profile(&podman4, DK_ENGINE_PODMAN, "4.3.1");
}
TestSuite(create_compat, .init = setup);

Test(create_compat, tmpfs_options_kept_on_docker) {
  char out[JD_COMPAT_OPTS_MAX];
  const char *o = "rw,exec,size=4096,nr_inodes=11,uid=2000,gid=2000,mode=0755";
  cr_assert_eq(jd_compat_tmpfs_opts(out, sizeof out, &docker, o), 0);
  cr_assert_str_eq(out, o);
}

Test(create_compat, tmpfs_options_podman_knows) {
  char out[JD_COMPAT_OPTS_MAX];
  cr_assert_eq(jd_compat_tmpfs_opts(out, sizeof out, &podman4,
                                    "rw,exec,size=4096,nr_inodes=11,uid=2000,gid=2000,mode=0755"),
               0);
  cr_assert_str_eq(out, "rw,exec,size=4096,U,mode=0755");
  cr_assert_eq(jd_compat_tmpfs_opts(out, sizeof out, &podman4, "nr_inodes=3,rw"), 0);
  cr_assert_str_eq(out, "rw");
  cr_assert_eq(jd_compat_tmpfs_opts(out, sizeof out, &podman4, ""), 0);
  cr_assert_str_eq(out, "");
  cr_assert_eq(jd_compat_tmpfs_opts(out, 4, &podman4, "rw,size=4096"), -1);
}

static void host_config(dk_host_config *hc, jd_limits_store *st) {
  jd_role_limits l = {
      .cpus = 1, .memory = 64 << 20, .pids = 32, .log_max = 1 << 20, .tmpfs = 1 << 20};
  jd_limits_host_config(hc, st, &l, "net");
  jd_limits_game_logic_out(hc, st, 1 << 20);
}

Test(create_compat, docker_keeps_the_inline_profile_and_gets_ulimits) {
  dk_host_config hc;
  jd_limits_store st;
  jd_compat_store cs;
  host_config(&hc, &st);
  hc.ulimits = NULL;
  hc.nulimits = 0;
  cr_assert_eq(jd_compat_apply(&hc, &cs, &docker, NULL, NULL, 0), 0);
  /* Docker: no core dumps; nofile and nproc stay the engine's, since a
   * lower nproc is shared by every player's uid host-wide. */
  cr_assert_eq(hc.nulimits, 1);
  cr_assert_str_eq(hc.ulimits[0].name, "core");
  cr_assert_eq(hc.ulimits[0].hard, 0);
  cr_assert_str_eq(hc.security_opt[1], jd_seccomp_security_opt());
  cr_assert(strstr(hc.tmpfs[1].value, "nr_inodes="));
  /* Podman: all three, under the engine's hard limits. */
  host_config(&hc, &st);
  cr_assert_eq(jd_compat_apply(&hc, &cs, &podman4, "seccomp=/x/p.json", NULL, 0), 0);
  cr_assert_eq(hc.nulimits, 3);
  cr_assert_str_eq(hc.ulimits[1].name, "nofile");
  cr_assert_eq(hc.ulimits[1].soft, hc.ulimits[1].hard);
  cr_assert_leq(hc.ulimits[1].hard, 20000); /* this host's dockerd's own */
  cr_assert_str_eq(hc.ulimits[2].name, "nproc");
}

Test(create_compat, podman_gets_the_profile_path_and_its_tmpfs_options) {
  dk_host_config hc;
  jd_limits_store st;
  jd_compat_store cs;
  host_config(&hc, &st);
  cr_assert_eq(jd_compat_apply(&hc, &cs, &podman4, NULL, NULL, 0), -1, "no path given");
  host_config(&hc, &st);
  cr_assert_eq(jd_compat_apply(&hc, &cs, &podman4, "seccomp=/x/p.json", NULL, 0), 0);
  cr_assert_str_eq(hc.security_opt[0], "no-new-privileges");
  cr_assert_str_eq(hc.security_opt[1], "seccomp=/x/p.json");
  cr_assert_null(hc.security_opt[2]);
  cr_assert_eq(hc.ntmpfs, 4, "the two shut ones after the judger's");
  cr_assert_str_eq(hc.tmpfs[0].key, "/tmp");
  cr_assert_null(strstr(hc.tmpfs[1].value, "nr_inodes"), "%s", hc.tmpfs[1].value);
  cr_assert(strstr(hc.tmpfs[1].value, "size="));
  cr_assert_eq(hc.nulimits, 3);
}

/* The value of path's tmpfs entry in hc, or NULL. */
static const char *tmpfs_at(const dk_host_config *hc, const char *path) {
  for (size_t i = 0; i < hc->ntmpfs; i++)
    if (!strcmp(hc->tmpfs[i].key, path))
      return hc->tmpfs[i].value;
  return NULL;
}

/* Podman mounts writable tmpfs of its own on /run, /var/tmp and /tmp of a
 * read-only container (review 28 #8): the compat mounts shut ones there,
 * on Podman only, and only where the create mounts nothing. */
Test(create_compat, podman_gets_shut_run_and_var_tmp_docker_nothing) {
  dk_host_config hc;
  jd_limits_store st;
  jd_compat_store cs;
  host_config(&hc, &st);
  const dk_kv *mine = hc.tmpfs;
  cr_assert_eq(jd_compat_apply(&hc, &cs, &docker, NULL, NULL, 0), 0);
  cr_assert_eq(hc.tmpfs, mine, "Docker: the judger's entries, untouched");
  cr_assert_eq(hc.ntmpfs, 2);
  cr_assert_not(docker.tmpfs_over_run);
  cr_assert(podman4.tmpfs_over_run);
  host_config(&hc, &st);
  cr_assert_eq(jd_compat_apply(&hc, &cs, &podman4, "seccomp=/x/p.json", NULL, 0), 0);
  cr_assert_str_eq(tmpfs_at(&hc, "/run"), JD_COMPAT_SHUT_TMPFS);
  cr_assert_str_eq(tmpfs_at(&hc, "/var/tmp"), JD_COMPAT_SHUT_TMPFS);
  cr_assert_str_eq(tmpfs_at(&hc, "/tmp"), st.tmpfs_opts, "the judger's /tmp stays");
  cr_assert(strstr(JD_COMPAT_SHUT_TMPFS, "ro,") && strstr(JD_COMPAT_SHUT_TMPFS, "noexec"));
  /* Not read-only: Podman adds nothing, neither does the compat. */
  host_config(&hc, &st);
  hc.readonly_rootfs = false;
  cr_assert_eq(jd_compat_apply(&hc, &cs, &podman4, "seccomp=/x/p.json", NULL, 0), 0);
  cr_assert_eq(hc.ntmpfs, 2);
  cr_assert_null(tmpfs_at(&hc, "/run"));
}

/* A path the create mounts itself keeps that mount (an image's volume
 * covered at /var/tmp, a bind at /run); a create without /tmp (the build
 * proxy) gets a shut one; "/runner" is not "/run". */
Test(create_compat, podman_leaves_the_creates_own_mounts) {
  dk_kv own[] = {{"/var/tmp", "rw,size=4096"}};
  const char *binds[] = {"/h/a:/runner:ro", "/h/b:/run:ro", NULL};
  dk_host_config hc = {.readonly_rootfs = true, .tmpfs = own, .ntmpfs = 1, .binds = binds};
  jd_compat_store cs;
  cr_assert_eq(jd_compat_apply(&hc, &cs, &podman4, NULL, NULL, 0), 0);
  cr_assert_eq(hc.ntmpfs, 2);
  cr_assert_str_eq(tmpfs_at(&hc, "/var/tmp"), "rw,size=4096");
  cr_assert_str_eq(tmpfs_at(&hc, "/tmp"), JD_COMPAT_SHUT_TMPFS);
  cr_assert_null(tmpfs_at(&hc, "/run"));
  const char *runner[] = {"/h/a:/runner", NULL};
  dk_host_config bare = {.readonly_rootfs = true, .binds = runner};
  cr_assert_eq(jd_compat_apply(&bare, &cs, &podman4, NULL, NULL, 0), 0);
  cr_assert_eq(bare.ntmpfs, 3);
  cr_assert_str_eq(tmpfs_at(&bare, "/run"), JD_COMPAT_SHUT_TMPFS);
}

/* An image's volume covered inside /run (common/volumes.h) keeps its
 * tmpfs, and /run is shut around it: runc makes the mountpoint (measured,
 * tests/judger/match/readonly_podman43.c). */
Test(create_compat, podman_shuts_run_around_a_covered_volume) {
  dk_kv own[] = {{"/tmp", "rw,size=4096"}, {"/run/x", "rw,size=4096,mode=1777"}};
  dk_host_config hc = {.readonly_rootfs = true, .tmpfs = own, .ntmpfs = 2};
  jd_compat_store cs;
  cr_assert_eq(jd_compat_apply(&hc, &cs, &podman4, NULL, NULL, 0), 0);
  cr_assert_eq(hc.ntmpfs, 4);
  cr_assert_str_eq(tmpfs_at(&hc, "/run/x"), "rw,size=4096,mode=1777");
  cr_assert_str_eq(tmpfs_at(&hc, "/run"), JD_COMPAT_SHUT_TMPFS);
  cr_assert_str_eq(tmpfs_at(&hc, "/var/tmp"), JD_COMPAT_SHUT_TMPFS);
}

/* The shut entries have room of their own: a create with as many tmpfs as
 * the judger ever makes still gets them; one more is refused. */
Test(create_compat, room_for_the_shut_entries) {
  static dk_kv many[JD_COMPAT_TMPFS_MAX];
  static char keys[JD_COMPAT_TMPFS_MAX][16];
  for (size_t i = 0; i < JD_COMPAT_TMPFS_MAX; i++) {
    snprintf(keys[i], sizeof keys[i], "/v%zu", i);
    many[i] = (dk_kv){keys[i], "rw,size=4096"};
  }
  jd_compat_store cs;
  char err[128] = "";
  dk_host_config hc = {
      .readonly_rootfs = true, .tmpfs = many, .ntmpfs = JD_COMPAT_TMPFS_MAX - JD_COMPAT_SHUT_MAX};
  cr_assert_eq(jd_compat_apply(&hc, &cs, &podman4, NULL, err, sizeof err), 0, "%s", err);
  cr_assert_eq(hc.ntmpfs, JD_COMPAT_TMPFS_MAX);
  hc = (dk_host_config){.readonly_rootfs = true,
                        .tmpfs = many,
                        .ntmpfs = JD_COMPAT_TMPFS_MAX - JD_COMPAT_SHUT_MAX + 1};
  cr_assert_eq(jd_compat_apply(&hc, &cs, &podman4, NULL, err, sizeof err), -1);
  cr_assert(strstr(err, "tmpfs"), "%s", err);
}

Test(create_compat, profile_file_written_once_safely) {
  char *dir = t_tmpdir("compat");
  char opt[PATH_MAX + 16], err[256] = "";
  cr_assert_eq(jd_seccomp_file_opt(opt, sizeof opt, "relative", err, sizeof err), -1);
  cr_assert_eq(jd_seccomp_file_opt(opt, sizeof opt, dir, err, sizeof err), 0, "%s", err);
  cr_assert(!strncmp(opt, "seccomp=/", 9), "%s", opt);
  const char *path = opt + 8;
  struct stat sb;
  cr_assert_eq(lstat(path, &sb), 0);
  cr_assert(S_ISREG(sb.st_mode));
  cr_assert_eq(sb.st_mode & 0777, 0644);
  const char *json = jd_seccomp_security_opt() + 8;
  cr_assert_eq((size_t)sb.st_size, strlen(json));
  /* A file someone changed is written again; a link there is replaced,
   * never followed. */
  int fd = open(path, O_WRONLY | O_TRUNC);
  cr_assert_geq(fd, 0);
  cr_assert_eq(write(fd, "{}", 2), 2);
  close(fd);
  cr_assert_eq(jd_seccomp_file_opt(opt, sizeof opt, dir, err, sizeof err), 0, "%s", err);
  cr_assert_eq(lstat(path, &sb), 0);
  cr_assert_eq((size_t)sb.st_size, strlen(json));
  char victim[PATH_MAX];
  snprintf(victim, sizeof victim, "%s/victim", dir);
  close(open(victim, O_WRONLY | O_CREAT, 0600));
  cr_assert_eq(unlink(path), 0);
  cr_assert_eq(symlink(victim, path), 0);
  cr_assert_eq(jd_seccomp_file_opt(opt, sizeof opt, dir, err, sizeof err), 0, "%s", err);
  cr_assert_eq(lstat(path, &sb), 0);
  cr_assert(S_ISREG(sb.st_mode));
  cr_assert_eq(stat(victim, &sb), 0);
  cr_assert_eq(sb.st_size, 0, "the link's target was written");
  t_rmdir(dir);
}

Test(create_compat, profile_dir_writable_by_others_refused) {
  char *dir = t_tmpdir("compat");
  char sub[PATH_MAX], opt[PATH_MAX + 16], err[256] = "";
  snprintf(sub, sizeof sub, "%s/engine", dir);
  cr_assert_eq(mkdir(sub, 0777), 0);
  cr_assert_eq(chmod(sub, 0777), 0);
  cr_assert_eq(jd_seccomp_file_opt(opt, sizeof opt, dir, err, sizeof err), -1);
  cr_assert(strstr(err, "engine"), "%s", err);
  t_rmdir(dir);
}
