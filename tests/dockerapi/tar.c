// test-labels: unit
/* Tar writing and safe extraction. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/tmpfile.h"
#include "common/util.h"
#include "support.h"

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
Test(tar, extract_refuses_absolute_symlink) {
  extract_expect("absolute symlink", fill_link_abs, 0);
}

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

/* ---- caps held while extracting ----------------------------------------- */

/* Extracts t into a new directory under caps; returns the code, the
 * directory in *dir (the caller removes it). */
static int extract_capped(dk_tar *t, char **dir, const dk_tar_extract_options *o) {
  const void *data;
  size_t len;
  t_ok(dk_tar_finish(t, &data, &len));
  *dir = t_tmpdir("tarcap");
  return dk_tar_extract_opts(data, len, *dir, o);
}

static int count_entries(const char *dir) {
  char cmd[600];
  snprintf(cmd, sizeof cmd, "find %s -mindepth 1 | wc -l", dir);
  FILE *p = popen(cmd, "r");
  cr_assert(p);
  int n = -1;
  cr_assert_eq(fscanf(p, "%d", &n), 1);
  pclose(p);
  return n;
}

Test(tar, extract_stops_at_the_entries_cap) {
  dk_tar *t = NULL;
  t_ok(dk_tar_new(&t, 0));
  for (int i = 0; i < 50; i++) {
    char name[32];
    snprintf(name, sizeof name, "f%02d", i);
    t_ok(dk_tar_add_file(t, name, "x", 1, 0644));
  }
  char *dir;
  dk_tar_extract_options o = {.max_entries = 10};
  cr_assert_eq(extract_capped(t, &dir, &o), DK_ETOOBIG);
  cr_assert(strstr(dk_error_last()->message, "cap of 10 entries"), "%s", dk_error_last()->message);
  cr_assert_eq(count_entries(dir), 10);
  dk_tar_free(t);
  t_rmdir(dir);
}

Test(tar, extract_stops_before_a_directory_past_the_depth_cap) {
  dk_tar *t = NULL;
  t_ok(dk_tar_new(&t, 0));
  t_ok(dk_tar_add_file(t, "a/b/c/ok", "x", 1, 0644)); /* three levels: within */
  t_ok(dk_tar_add_dir(t, "a/b/c/d", 0755));
  t_ok(dk_tar_add_file(t, "a/b/c/d/no", "x", 1, 0644));
  char *dir;
  dk_tar_extract_options o = {.max_depth = 3};
  cr_assert_eq(extract_capped(t, &dir, &o), DK_ETOOBIG);
  const char *msg = dk_error_last()->message;
  cr_assert(strstr(msg, "an entry 4 directory levels deep passes the cap of 3 levels: 'a/b/c/d"),
            "%s", msg);
  char p[600];
  snprintf(p, sizeof p, "%s/a/b/c/ok", dir);
  cr_assert(jd_path_exists(p));
  snprintf(p, sizeof p, "%s/a/b/c/d", dir);
  cr_assert(!jd_path_exists(p), "the directory past the cap was made");
  dk_tar_free(t);
  t_rmdir(dir);
}

Test(tar, extract_refuses_an_entry_whose_declared_size_passes_the_bytes_cap) {
  dk_tar *t = NULL;
  t_ok(dk_tar_new(&t, 0));
  char data[200];
  memset(data, 'x', sizeof data);
  t_ok(dk_tar_add_file(t, "small", data, 60, 0644));
  t_ok(dk_tar_add_file(t, "big", data, sizeof data, 0644));
  char *dir;
  dk_tar_extract_options o = {.max_bytes = 100};
  cr_assert_eq(extract_capped(t, &dir, &o), DK_ETOOBIG);
  const char *msg = dk_error_last()->message;
  cr_assert(strstr(msg, "an entry of 200 bytes passes the cap of 100 bytes (60 before it"), "%s",
            msg);
  char p[600];
  snprintf(p, sizeof p, "%s/big", dir);
  cr_assert(!jd_path_exists(p), "the entry past the cap was written");
  dk_tar_free(t);
  t_rmdir(dir);
}

/* A chain of n directories "d" under root. */
static void chain(const char *root, int n) {
  char *p = malloc(strlen(root) + 2 * (size_t)n + 1);
  cr_assert(p);
  strcpy(p, root);
  for (int i = 0; i < n; i++)
    strcat(p, "/d");
  cr_assert_eq(jd_mkdir_p(p, 0755), 0);
  free(p);
}

/* libarchive's disk reader (add_tree) walks without recursion of its own:
 * a tree 600 levels deep is written whole; its extraction stops at the
 * default depth cap unless the caller raises it. */
Test(tar, add_path_takes_a_deep_tree_and_extract_caps_its_depth) {
  char *src = t_tmpdir("tardeep");
  chain(src, 600);
  dk_tar *t = NULL;
  t_ok(dk_tar_new(&t, 0));
  t_ok(dk_tar_add_path(t, src, ""));
  const void *data;
  size_t len;
  t_ok(dk_tar_finish(t, &data, &len));
  char *dst = t_tmpdir("tardeepx");
  cr_assert_eq(dk_tar_extract(data, len, dst), DK_ETOOBIG);
  cr_assert(strstr(dk_error_last()->message, "257 directory levels deep passes the cap of 256"),
            "%s", dk_error_last()->message);
  cr_assert_eq(count_entries(dst), 256);
  t_rmdir(dst);
  dst = t_tmpdir("tardeepy");
  dk_tar_extract_options o = {.max_depth = 1000};
  t_ok(dk_tar_extract_opts(data, len, dst, &o));
  cr_assert_eq(count_entries(dst), 600);
  dk_tar_free(t);
  t_rmdir(src);
  t_rmdir(dst);
}
