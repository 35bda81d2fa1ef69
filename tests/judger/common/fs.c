// test-labels: unit
/* fd-relative tree walks: trees deeper than PATH_MAX are removed and
 * copied, links are never followed, set-uid bits and special files are not
 * copied, directories get exactly their mode, few descriptors are used. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/tmpfile.h"
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

/* ---- walks in order, caps, holes ------------------------------------------ */

typedef struct order_log {
  char seen[1024];
} order_log;

static int log_entry(void *ud, int dirfd, const char *name, const struct stat *st, size_t depth) {
  (void)dirfd, (void)st;
  order_log *l = ud;
  if (depth > 0) {
    size_t n = strlen(l->seen);
    snprintf(l->seen + n, sizeof l->seen - n, "%zu:%s ", depth, name);
  }
  return 0;
}

Test(fs, walk_in_order_visits_entries_in_byte_order_with_directories_in_place) {
  char *dir = t_tmpdir("fsorder");
  char p[4400];
  /* "a" < "a-c" < "a.b" < "a0" < "b": a directory's entries come right
   * after it, before its next sibling. */
  snprintf(p, sizeof p, "%s/a/b", dir);
  cr_assert_eq(jd_mkdir_p(p, 0755), 0);
  put(p, "z", "1");
  put(dir, "b", "2");
  put(dir, "a0", "3");
  put(dir, "a-c", "4");
  snprintf(p, sizeof p, "%s/a.b", dir);
  cr_assert_eq(mkdir(p, 0755), 0);
  order_log l = {""};
  jd_fs_visitor v = {.file = log_entry, .enter = log_entry, .ud = &l, .flags = JD_FS_IN_ORDER};
  cr_assert_eq(jd_fs_walk_path(dir, &v), 0, "%s", strerror(errno));
  cr_assert_str_eq(l.seen, "1:a 2:b 3:z 1:a-c 1:a.b 1:a0 1:b ");
  t_rmdir(dir);
}

Test(fs, copy_keeps_the_holes_of_a_sparse_file) {
  char *dir = t_tmpdir("fssparse");
  char src[4096], dst[4096], p[4200];
  snprintf(src, sizeof src, "%s/src", dir);
  snprintf(dst, sizeof dst, "%s/dst", dir);
  cr_assert_eq(mkdir(src, 0755), 0);
  /* 1 GiB apparent, two 5-byte islands of data. */
  snprintf(p, sizeof p, "%s/sparse", src);
  int fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0644);
  cr_assert(fd >= 0);
  cr_assert_eq(pwrite(fd, "begin", 5, 0), 5);
  cr_assert_eq(pwrite(fd, "end!!", 5, (1 << 30) - 5), 5);
  close(fd);
  cr_assert_eq(jd_copy_tree(src, dst), 0, "%s", strerror(errno));
  snprintf(p, sizeof p, "%s/sparse", dst);
  struct stat st;
  cr_assert_eq(stat(p, &st), 0);
  cr_assert_eq(st.st_size, 1 << 30, "apparent size %lld", (long long)st.st_size);
  cr_assert_lt(st.st_blocks * 512, 1 << 20, "the copy takes %lld bytes of disk",
               (long long)st.st_blocks * 512);
  char head[6] = "", tail[6] = "";
  fd = open(p, O_RDONLY);
  cr_assert(fd >= 0);
  cr_assert_eq(pread(fd, head, 5, 0), 5);
  cr_assert_eq(pread(fd, tail, 5, (1 << 30) - 5), 5);
  close(fd);
  cr_assert_str_eq(head, "begin");
  cr_assert_str_eq(tail, "end!!");
  cr_assert_eq(jd_rm_rf(dir), 0);
  free(dir);
}

/* A chain of `levels` directories "d" under root, a file at the bottom. */
static void chain(const char *root, int levels) {
  char *p = malloc(strlen(root) + 2 * (size_t)levels + 16);
  cr_assert(p);
  strcpy(p, root);
  for (int i = 0; i < levels; i++)
    strcat(p, "/d");
  cr_assert_eq(jd_mkdir_p(p, 0755), 0, "%s", strerror(errno));
  put(p, "bottom", "x");
  free(p);
}

/* The deepest directory level of the tree at root (0: no subdirectory). */
static int depth_of(const char *root) {
  int levels = 0, fd = open(root, O_RDONLY | O_DIRECTORY);
  while (fd >= 0) {
    int sub = openat(fd, "d", O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    close(fd);
    fd = sub;
    levels += fd >= 0;
  }
  return levels;
}

Test(fs, capped_copy_stops_before_a_directory_past_the_depth_cap) {
  char *dir = t_tmpdir("fscapd");
  char src[4096], dst[4096];
  snprintf(src, sizeof src, "%s/src", dir);
  snprintf(dst, sizeof dst, "%s/dst", dir);
  chain(src, 600);
  jd_fs_caps caps = {.depth = 64};
  jd_fs_tally t;
  cr_assert_eq(jd_copy_tree_capped(&t, src, dst, &caps), 0, "%s", strerror(errno));
  cr_assert_eq(t.over, JD_FS_CAP_DEPTH);
  cr_assert_eq(t.depth, 65);
  cr_assert_eq(depth_of(dst), 64, "the copy went %d levels down", depth_of(dst));
  char msg[256];
  jd_fs_tally_message(msg, sizeof msg, &t, "the source tree");
  cr_assert_str_eq(msg, "the source tree is deeper than the limit of 64 directory levels (a "
                        "directory at level 65)");
  /* 64 levels exactly are within the cap. */
  cr_assert_eq(jd_rm_rf(dst), 0);
  cr_assert_eq(jd_rm_rf(src), 0);
  chain(src, 64);
  cr_assert_eq(jd_copy_tree_capped(&t, src, dst, &caps), 0);
  cr_assert_eq(t.over, JD_FS_CAP_NONE);
  cr_assert_eq(t.depth, 64);
  cr_assert_eq(depth_of(dst), 64);
  cr_assert_eq(jd_rm_rf(dir), 0);
  free(dir);
}

Test(fs, capped_copy_stops_at_the_entries_and_bytes_caps) {
  char *dir = t_tmpdir("fscapn");
  char src[4096], dst[4096], p[4200];
  snprintf(src, sizeof src, "%s/src", dir);
  snprintf(dst, sizeof dst, "%s/dst", dir);
  cr_assert_eq(mkdir(src, 0755), 0);
  for (int i = 0; i < 50; i++) {
    char name[32];
    snprintf(name, sizeof name, "f%02d", i);
    put(src, name, "0123456789");
  }
  jd_fs_tally t;
  jd_fs_caps entries = {.entries = 20};
  cr_assert_eq(jd_copy_tree_capped(&t, src, dst, &entries), 0);
  cr_assert_eq(t.over, JD_FS_CAP_ENTRIES);
  char msg[256];
  jd_fs_tally_message(msg, sizeof msg, &t, "the source tree");
  cr_assert_str_eq(msg, "the source tree has more than the limit of 20 entries");
  snprintf(p, sizeof p, "ls -A %s | wc -l | grep -qx 20", dst);
  cr_assert_eq(system(p), 0, "not 20 files copied");
  cr_assert_eq(jd_rm_rf(dst), 0);
  /* 100 bytes: the 11th file is not copied. A sparse 2 GiB file stops it
   * at its apparent size, before any of its bytes. */
  jd_fs_caps bytes = {.bytes = 100};
  cr_assert_eq(jd_copy_tree_capped(&t, src, dst, &bytes), 0);
  cr_assert_eq(t.over, JD_FS_CAP_BYTES);
  snprintf(p, sizeof p, "ls -A %s | wc -l | grep -qx 10", dst);
  cr_assert_eq(system(p), 0, "not 10 files copied");
  cr_assert_eq(jd_rm_rf(dst), 0);
  cr_assert_eq(jd_rm_rf(src), 0);
  cr_assert_eq(mkdir(src, 0755), 0);
  snprintf(p, sizeof p, "%s/bomb", src);
  int fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0644);
  cr_assert(fd >= 0);
  cr_assert_eq(ftruncate(fd, (off_t)2 << 30), 0);
  close(fd);
  jd_fs_caps gib = {.bytes = (int64_t)1 << 30};
  cr_assert_eq(jd_copy_tree_capped(&t, src, dst, &gib), 0);
  cr_assert_eq(t.over, JD_FS_CAP_BYTES);
  snprintf(p, sizeof p, "%s/bomb", dst);
  cr_assert(!jd_path_exists(p), "the bomb was copied");
  jd_fs_tally_message(msg, sizeof msg, &t, "the source tree");
  cr_assert(strstr(msg, "more than the limit of 1073741824 bytes"), "%s", msg);
  cr_assert_eq(jd_rm_rf(dir), 0);
  free(dir);
}

Test(fs, rm_contents_keeps_the_directory) {
  char *dir = t_tmpdir("fsempty");
  char p[4200];
  chain(dir, 5);
  put(dir, "f", "x");
  snprintf(p, sizeof p, "%s/l", dir);
  cr_assert_eq(symlink("/", p), 0);
  cr_assert_eq(jd_rm_contents(dir), 0, "%s", strerror(errno));
  cr_assert(jd_path_exists(dir));
  snprintf(p, sizeof p, "test -z \"$(ls -A %s)\"", dir);
  cr_assert_eq(system(p), 0, "%s is not empty", dir);
  t_rmdir(dir);
}
