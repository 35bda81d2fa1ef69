// test-labels: unit
/* fd-relative tree walks: trees deeper than PATH_MAX are removed and
 * copied, links are never followed, set-uid bits and special files are not
 * copied, directories get exactly their mode, few descriptors are used. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/util.h"
#include "support.h"

/* Makes `levels` nested directories named "dddd...d" (200 chars) under
 * root, fd by fd: the whole path is far past PATH_MAX. Puts a file at the
 * bottom. */
static void deep_tree(const char *root, int levels) {
  char name[201];
  memset(name, 'd', 200);
  name[200] = '\0';
  int fd = open(root, O_RDONLY | O_DIRECTORY);
  cr_assert(fd >= 0);
  for (int i = 0; i < levels; i++) {
    cr_assert_eq(mkdirat(fd, name, 0755), 0, "level %d: %s", i, strerror(errno));
    int sub = openat(fd, name, O_RDONLY | O_DIRECTORY);
    cr_assert(sub >= 0);
    close(fd);
    fd = sub;
  }
  int f = openat(fd, "bottom", O_WRONLY | O_CREAT, 0644);
  cr_assert(f >= 0);
  cr_assert_eq(write(f, "x", 1), 1);
  close(f);
  close(fd);
}

static int open_fds(void) {
  int n = 0;
  DIR *d = opendir("/proc/self/fd");
  while (d && readdir(d))
    n++;
  if (d)
    closedir(d);
  return n;
}

static void put(const char *dir, const char *name, const char *text) {
  char p[4096];
  snprintf(p, sizeof p, "%s/%s", dir, name);
  cr_assert_eq(jd_write_file(p, text, strlen(text)), 0);
}

Test(fs, removes_a_tree_deeper_than_path_max_with_few_descriptors) {
  char *dir = t_tmpdir("fsdeep");
  char root[4096];
  snprintf(root, sizeof root, "%s/tree", dir);
  cr_assert_eq(mkdir(root, 0755), 0);
  deep_tree(root, 2500); /* ~500 000 bytes of path */
  int before = open_fds();
  cr_assert_eq(jd_rm_rf(root), 0, "jd_rm_rf: %s", strerror(errno));
  cr_assert_eq(open_fds(), before, "descriptors leaked");
  cr_assert(!jd_path_exists(root));
  t_rmdir(dir);
}

Test(fs, copies_a_deep_tree_and_removes_the_copy) {
  char *dir = t_tmpdir("fscopy");
  char src[4096], dst[4096];
  snprintf(src, sizeof src, "%s/src", dir);
  snprintf(dst, sizeof dst, "%s/dst", dir);
  cr_assert_eq(mkdir(src, 0755), 0);
  deep_tree(src, 1500);
  cr_assert_eq(jd_copy_tree(src, dst), 0, "jd_copy_tree: %s", strerror(errno));
  /* The copy holds the bottom file: walk down it as deep_tree built it. */
  char name[201];
  memset(name, 'd', 200);
  name[200] = '\0';
  int fd = open(dst, O_RDONLY | O_DIRECTORY);
  for (int i = 0; i < 1500 && fd >= 0; i++) {
    int sub = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    close(fd);
    fd = sub;
  }
  cr_assert(fd >= 0, "the copy is not as deep as the source");
  struct stat st;
  cr_assert_eq(fstatat(fd, "bottom", &st, 0), 0);
  cr_assert_eq(st.st_size, 1);
  close(fd);
  cr_assert_eq(jd_rm_rf(dst), 0);
  cr_assert_eq(jd_rm_rf(src), 0);
  t_rmdir(dir);
}

Test(fs, never_follows_links) {
  char *dir = t_tmpdir("fslinks");
  char outside[4096], tree[4096], p[4400], copy[4200];
  snprintf(outside, sizeof outside, "%s/outside", dir);
  snprintf(tree, sizeof tree, "%s/tree", dir);
  snprintf(copy, sizeof copy, "%s/copy", dir);
  cr_assert_eq(mkdir(outside, 0755), 0);
  cr_assert_eq(mkdir(tree, 0755), 0);
  put(outside, "canary", "alive\n");
  snprintf(p, sizeof p, "%s/to-dir", tree);
  cr_assert_eq(symlink(outside, p), 0);
  snprintf(p, sizeof p, "%s/to-root", tree);
  cr_assert_eq(symlink("/", p), 0);
  snprintf(p, sizeof p, "%s/canary-link", tree);
  snprintf(copy, sizeof copy, "%s/canary", outside);
  cr_assert_eq(symlink(copy, p), 0);
  snprintf(copy, sizeof copy, "%s/copy", dir);
  /* The copy keeps the links as links: nothing of outside was read. */
  cr_assert_eq(jd_copy_tree(tree, copy), 0, "%s", strerror(errno));
  struct stat st;
  snprintf(p, sizeof p, "%s/canary-link", copy);
  cr_assert_eq(lstat(p, &st), 0);
  cr_assert(S_ISLNK(st.st_mode), "a link was copied as its target");
  snprintf(p, sizeof p, "%s/to-dir", copy);
  cr_assert_eq(lstat(p, &st), 0);
  cr_assert(S_ISLNK(st.st_mode));
  /* Removing either tree leaves the link targets alone. */
  cr_assert_eq(jd_rm_rf(copy), 0);
  cr_assert_eq(jd_rm_rf(tree), 0);
  snprintf(p, sizeof p, "%s/canary", outside);
  cr_assert(jd_path_exists(p), "jd_rm_rf followed a link");
  /* A link as the root is removed itself. */
  snprintf(p, sizeof p, "%s/rootlink", dir);
  cr_assert_eq(symlink(outside, p), 0);
  cr_assert_eq(jd_rm_rf(p), 0);
  snprintf(p, sizeof p, "%s/canary", outside);
  cr_assert(jd_path_exists(p));
  t_rmdir(dir);
}

Test(fs, copy_drops_set_uid_bits_and_special_files) {
  char *dir = t_tmpdir("fsmodes");
  char src[4096], dst[4096], p[4200];
  snprintf(src, sizeof src, "%s/src", dir);
  snprintf(dst, sizeof dst, "%s/dst", dir);
  cr_assert_eq(mkdir(src, 0755), 0);
  put(src, "suid", "#!/bin/sh\n");
  snprintf(p, sizeof p, "%s/suid", src);
  cr_assert_eq(chmod(p, 06755), 0);
  snprintf(p, sizeof p, "%s/fifo", src);
  cr_assert_eq(mkfifo(p, 0666), 0);
  cr_assert_eq(jd_copy_tree(src, dst), 0, "%s", strerror(errno));
  struct stat st;
  snprintf(p, sizeof p, "%s/suid", dst);
  cr_assert_eq(lstat(p, &st), 0);
  cr_assert_eq(st.st_mode & 07777, 0755, "mode %o", st.st_mode & 07777);
  snprintf(p, sizeof p, "%s/fifo", dst);
  cr_assert(!jd_path_exists(p), "a FIFO was copied");
  cr_assert_eq(jd_rm_rf(dir), 0);
  free(dir);
}

Test(fs, rm_empties_directories_made_unwritable) {
  char *dir = t_tmpdir("fsro");
  char sub[4096];
  snprintf(sub, sizeof sub, "%s/ro", dir);
  cr_assert_eq(mkdir(sub, 0755), 0);
  put(sub, "f", "x");
  cr_assert_eq(chmod(sub, 0500), 0);
  cr_assert_eq(jd_rm_rf(dir), 0, "%s", strerror(errno));
  cr_assert(!jd_path_exists(dir));
  cr_assert_eq(jd_rm_rf(dir), 0, "a missing tree is removed already");
  free(dir);
}

Test(fs, mkdir_p_gives_every_made_directory_its_mode) {
  char *dir = t_tmpdir("fsmk");
  char p[4400], q[4200];
  mode_t old = umask(022);
  snprintf(p, sizeof p, "%s/a/b/c", dir);
  cr_assert_eq(jd_mkdir_p(p, 0700), 0);
  umask(old);
  struct stat st;
  snprintf(q, sizeof q, "%s/a", dir);
  cr_assert_eq(stat(q, &st), 0);
  cr_assert_eq(st.st_mode & 07777, 0700, "parent is %o", st.st_mode & 07777);
  cr_assert_eq(stat(p, &st), 0);
  cr_assert_eq(st.st_mode & 07777, 0700);
  /* An existing directory keeps its mode with jd_mkdir_p, gets it with
   * jd_mkdir_mode. */
  cr_assert_eq(chmod(q, 0755), 0);
  cr_assert_eq(jd_mkdir_p(q, 0700), 0);
  cr_assert_eq(stat(q, &st), 0);
  cr_assert_eq(st.st_mode & 07777, 0755);
  cr_assert_eq(jd_mkdir_mode(q, 0700), 0);
  cr_assert_eq(stat(q, &st), 0);
  cr_assert_eq(st.st_mode & 07777, 0700);
  /* A link in the path is refused, not followed. */
  char target[4096];
  snprintf(target, sizeof target, "%s/target", dir);
  cr_assert_eq(mkdir(target, 0755), 0);
  snprintf(q, sizeof q, "%s/link", dir);
  cr_assert_eq(symlink(target, q), 0);
  snprintf(p, sizeof p, "%s/link/x", dir);
  cr_assert_neq(jd_mkdir_p(p, 0700), 0, "made a directory through a link");
  snprintf(p, sizeof p, "%s/x", target);
  cr_assert(!jd_path_exists(p), "the link was followed");
  t_rmdir(dir);
}
