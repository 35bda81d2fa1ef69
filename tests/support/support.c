/* Shared test support (see support.h). */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "support.h"

dk_client *t_client(void) {
  dk_client *c = NULL;
  int rc = dk_client_new(&c, NULL);
  cr_assert(rc == 0, "cannot make a client: %s", dk_error_last() ? dk_error_last()->message : "");
  rc = dk_ping(c, NULL);
  if (rc) {
    const dk_error *e = dk_error_last();
    dk_client_free(c);
    cr_assert_fail("the Docker engine is not reachable (%s): run images/setup-host.sh",
                   e ? e->message : dk_strerror(rc));
  }
  return c;
}

const char *t_podman43_host(void) {
  const char *h = getenv("JUDGER_PODMAN43_HOST");
  return h && *h ? h : "unix:///run/judger-engines/podman43/podman.sock";
}

dk_client *t_podman43_client(void) {
  dk_client_opts o = {.host = t_podman43_host()};
  dk_client *c = NULL;
  cr_assert_eq(dk_client_new(&c, &o), 0, "podman43 host %s", o.host);
  dk_call call = {.deadline_ms = dk_now_ms() + 5000};
  int rc = dk_ping(c, &call);
  if (!rc)
    return c;
  const dk_error *e = dk_error_last();
  char why[256];
  snprintf(why, sizeof why, "%s", e && e->message ? e->message : dk_strerror(rc));
  dk_client_free(c);
  const char *ci = getenv("CI");
  cr_assert(!(ci && !strcmp(ci, "true")),
            "Podman 4.3 does not answer at %s (%s): bash images/engines/podman.sh start podman43",
            o.host, why);
  cr_skip_test("Podman 4.3 does not answer at %s (%s): start it with "
               "`bash images/engines/podman.sh start podman43`",
               o.host, why);
  return NULL;
}

static int image_exists(dk_client *c, const char *name) {
  dk_image_info *info = NULL;
  int rc = dk_image_inspect(&info, c, name);
  dk_image_info_free(info);
  return rc == 0;
}

void t_busybox_image(dk_client *c) {
  if (image_exists(c, T_BUSYBOX_IMAGE))
    return;
  char *bb = NULL;
  size_t bblen = 0;
  cr_assert(jd_read_file(&bb, &bblen, "/bin/busybox", 8u << 20) == 0,
            "busybox-static is not installed: run images/setup-host.sh");
  dk_tar *t = NULL;
  t_ok(dk_tar_new(&t, 0));
  t_ok(dk_tar_add_dir(t, "bin", 0755));
  t_ok(dk_tar_add_dir(t, "tmp", 01777));
  t_ok(dk_tar_add_dir(t, "etc", 0755));
  t_ok(dk_tar_add_file(t, "etc/passwd", "root:x:0:0::/:/bin/sh\nnobody:x:65534:65534::/:/bin/sh\n",
                       55, 0644));
  t_ok(dk_tar_add_file(t, "etc/group", "root:x:0:\nnogroup:x:65534:\n", 27, 0644));
  t_ok(dk_tar_add_file(t, "bin/busybox", bb, bblen, 0755));
  free(bb);
  FILE *p = popen("/bin/busybox --list", "r");
  cr_assert(p, "cannot list busybox applets");
  char name[128];
  char link[160];
  while (fgets(name, sizeof name, p)) {
    name[strcspn(name, "\n")] = '\0';
    if (!*name || !strcmp(name, "busybox"))
      continue;
    snprintf(link, sizeof link, "bin/%s", name);
    t_ok(dk_tar_add_symlink(t, link, "busybox"));
  }
  pclose(p);
  const void *data;
  size_t len;
  t_ok(dk_tar_finish(t, &data, &len));
  const char *colon = strchr(T_BUSYBOX_IMAGE, ':');
  char repo[64];
  snprintf(repo, sizeof repo, "%.*s", (int)(colon - T_BUSYBOX_IMAGE), T_BUSYBOX_IMAGE);
  int rc = dk_image_import_mem(c, data, len, repo, colon + 1);
  /* Two test processes may import at once: the graph-driver store retags,
   * the containerd image store refuses the second ("already exists", a
   * 500). Either way the image is there, which is all a test needs. */
  if (rc && image_exists(c, T_BUSYBOX_IMAGE))
    rc = 0;
  t_ok(rc);
  dk_tar_free(t);
  cr_assert(image_exists(c, T_BUSYBOX_IMAGE), "test image missing after import");
}

char *t_tmpdir(const char *tag) {
  char *d = NULL;
  cr_assert(asprintf(&d, "/tmp/jdtest-%s-XXXXXX", tag) > 0);
  cr_assert(mkdtemp(d), "mkdtemp failed");
  return d;
}

void t_rmdir(char *dir) {
  if (!dir)
    return;
  jd_rm_rf(dir);
  free(dir);
}

char *t_unique(const char *prefix) {
  static atomic_int counter;
  char *s = NULL;
  cr_assert(asprintf(&s, "%s-%d-%d", prefix, (int)getpid(), atomic_fetch_add(&counter, 1)) > 0);
  return s;
}

int t_image_build(char **image_id, dk_client *c, const void *tar, size_t len,
                  const dk_build_opts *o, dk_build_cb cb, void *ud, dk_buf *log,
                  const dk_call *call) {
  for (int attempt = 0;; attempt++) {
    int rc = dk_image_build(image_id, c, tar, len, o, cb, ud, log, call);
    const dk_error *e = rc == DK_EBUILD ? dk_error_last() : NULL;
    if (attempt == 2 || !e || !e->message || !strstr(e->message, "unable to find image \"sha256:"))
      return rc;
    if (log) {
      log->len = 0;
      log->truncated = false;
    }
  }
}

int t_build_dockerfile(char **image_id, dk_client *c, const char *dockerfile,
                       const dk_build_opts *o, dk_buf *log) {
  dk_tar *t = NULL;
  t_ok(dk_tar_new(&t, 0));
  t_ok(dk_tar_add_file(t, "Dockerfile", dockerfile, strlen(dockerfile), 0644));
  const void *data;
  size_t len;
  t_ok(dk_tar_finish(t, &data, &len));
  int rc = t_image_build(image_id, c, data, len, o, NULL, NULL, log, NULL);
  dk_tar_free(t);
  return rc;
}
