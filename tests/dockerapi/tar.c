// test-labels: unit
/* Tar writing and safe extraction. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "support.h"
#include "common/util.h"

static void extract_expect(const char *what, void (*fill)(dk_tar *), int want_ok) {
  dk_tar *t = NULL;
  t_ok(dk_tar_new(&t, 0));
  fill(t);
  const void *data;
  size_t len;
  t_ok(dk_tar_finish(t, &data, &len));
  char *dir = t_tmpdir("tar");
  int rc = dk_tar_extract(data, len, dir);
  if (want_ok)
    cr_assert_eq(rc, 0, "%s: %s", what, dk_error_last() ? dk_error_last()->message : "");
  else
    cr_assert_neq(rc, 0, "%s was accepted", what);
  dk_tar_free(t);
  t_rmdir(dir);
}

static void fill_ok(dk_tar *t) {
  t_ok(dk_tar_add_dir(t, "a", 0755));
  t_ok(dk_tar_add_file(t, "a/f.txt", "hello", 5, 0644));
  t_ok(dk_tar_add_symlink(t, "a/l", "f.txt"));
  t_ok(dk_tar_add_symlink(t, "up", "a/../a/f.txt"));
}
static void fill_dotdot(dk_tar *t) { t_ok(dk_tar_add_file(t, "a/../../evil", "x", 1, 0644)); }
static void fill_abs(dk_tar *t) { t_ok(dk_tar_add_file(t, "/tmp/evil", "x", 1, 0644)); }
static void fill_link_out(dk_tar *t) { t_ok(dk_tar_add_symlink(t, "a/l", "../../etc/passwd")); }
static void fill_link_abs(dk_tar *t) { t_ok(dk_tar_add_symlink(t, "l", "/etc/passwd")); }

Test(tar, extract_keeps_safe_entries) { extract_expect("safe tree", fill_ok, 1); }
Test(tar, extract_refuses_dotdot) { extract_expect("'..' entry", fill_dotdot, 0); }
Test(tar, extract_refuses_absolute) { extract_expect("absolute entry", fill_abs, 0); }
Test(tar, extract_refuses_symlink_out) { extract_expect("symlink out", fill_link_out, 0); }
Test(tar, extract_refuses_absolute_symlink) { extract_expect("absolute symlink", fill_link_abs, 0); }

Test(tar, add_path_round_trip) {
  char *src = t_tmpdir("tarsrc");
  char p[512];
  snprintf(p, sizeof p, "%s/sub", src);
  cr_assert(jd_mkdir_p(p, 0755) == 0);
  snprintf(p, sizeof p, "%s/sub/data.bin", src);
  cr_assert(jd_write_file(p, "0123456789", 10) == 0);
  dk_tar *t = NULL;
  t_ok(dk_tar_new(&t, 0));
  t_ok(dk_tar_add_path(t, src, "ctx"));
  const void *data;
  size_t len;
  t_ok(dk_tar_finish(t, &data, &len));
  char *dst = t_tmpdir("tardst");
  t_ok(dk_tar_extract(data, len, dst));
  snprintf(p, sizeof p, "%s/ctx/sub/data.bin", dst);
  char *got = NULL;
  size_t glen = 0;
  cr_assert(jd_read_file(&got, &glen, p, 1024) == 0, "extracted file missing");
  cr_assert_eq(glen, 10);
  cr_assert_str_eq(got, "0123456789");
  free(got);
  dk_tar_free(t);
  t_rmdir(src);
  t_rmdir(dst);
}

Test(tar, cap_is_reported) {
  dk_tar *t = NULL;
  t_ok(dk_tar_new(&t, 4096));
  char big[8192];
  memset(big, 'x', sizeof big);
  int rc = dk_tar_add_file(t, "big", big, sizeof big, 0644);
  if (rc == 0) {
    const void *d;
    size_t l;
    rc = dk_tar_finish(t, &d, &l);
  }
  cr_assert_eq(rc, DK_ETOOBIG, "got %s", dk_error_name(rc));
  dk_tar_free(t);
}
