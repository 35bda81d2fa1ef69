// test-labels: unit
/* The artifacts sanitiser on trees a hostile build could leave (made here
 * on the host, as root, to have every kind of entry): set-uid root files,
 * devices, FIFOs, sockets, links to host files and to /, hard links,
 * sparse giants, deep trees, many files. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <unistd.h>

#include "build/sanitise.h"
#include "common/util.h"
#include "support.h"

static void put(const char *dir, const char *name, const char *text, mode_t mode) {
  char p[4200];
  snprintf(p, sizeof p, "%s/%s", dir, name);
  cr_assert_eq(jd_write_file(p, text, strlen(text)), 0);
  cr_assert_eq(chmod(p, mode), 0);
}

static void make_socket(const char *dir, const char *name) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  int n = snprintf(sa.sun_path, sizeof sa.sun_path, "%s/%s", dir, name);
  cr_assert(n > 0 && (size_t)n < sizeof sa.sun_path, "socket path too long");
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  cr_assert(fd >= 0);
  cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0, "%s", strerror(errno));
  close(fd);
}

static int bad_entries;
static int find_bad(const char *path, const struct stat *st, int flag, struct FTW *f) {
  (void)path, (void)flag, (void)f;
  if ((st->st_mode & (S_ISUID | S_ISGID | S_ISVTX)) || S_ISCHR(st->st_mode) ||
      S_ISBLK(st->st_mode) || S_ISFIFO(st->st_mode) || S_ISSOCK(st->st_mode) ||
      (!S_ISLNK(st->st_mode) && (st->st_mode & 0022)) || st->st_uid != geteuid())
    bad_entries++;
  return 0;
}

Test(sanitise, every_hostile_entry_is_made_safe_and_host_files_are_untouched) {
  char *dir = t_tmpdir("san");
  char app[4096], p[4200], canary[4200];
  snprintf(app, sizeof app, "%s/app", dir);
  cr_assert_eq(mkdir(app, 0777), 0);
  /* A host file the tree links to: it must come out unchanged. */
  put(dir, "canary", "host secret\n", 0600);
  snprintf(canary, sizeof canary, "%s/canary", dir);
  put(app, "suid", "#!/bin/sh\n", 04755);
  put(app, "sgid-writable", "x", 02777);
  snprintf(p, sizeof p, "%s/sticky", app);
  cr_assert_eq(mkdir(p, 01777), 0);
  cr_assert_eq(chown(p, 65534, 65534), 0);
  snprintf(p, sizeof p, "%s/disk", app);
  cr_assert_eq(mknod(p, S_IFBLK | 0666, makedev(7, 0)), 0, "%s", strerror(errno));
  snprintf(p, sizeof p, "%s/null", app);
  cr_assert_eq(mknod(p, S_IFCHR | 0666, makedev(1, 3)), 0);
  snprintf(p, sizeof p, "%s/sticky/fifo", app);
  cr_assert_eq(mkfifo(p, 0666), 0);
  make_socket(app, "sock");
  snprintf(p, sizeof p, "%s/to-canary", app);
  cr_assert_eq(symlink(canary, p), 0);
  snprintf(p, sizeof p, "%s/to-root", app);
  cr_assert_eq(symlink("/", p), 0);
  snprintf(p, sizeof p, "%s/hard", app);
  char suid[4200];
  snprintf(suid, sizeof suid, "%s/suid", app);
  cr_assert_eq(link(suid, p), 0);

  dk_buf log = DK_BUF_INIT(0);
  jd_sanitise_report r;
  cr_assert_eq(jd_sanitise_tree(&r, app, NULL, geteuid(), getegid(), &log), 0, "%s",
               strerror(errno));
  cr_assert_str_eq(r.over, "", "within the caps: %s", r.over);
  cr_assert_eq(r.removed, 4, "removed %lld", (long long)r.removed);
  cr_assert(log.data && strstr(log.data, "removed block device 'disk'"), "log: %s", log.data);
  cr_assert(strstr(log.data, "removed FIFO 'fifo'") && strstr(log.data, "removed socket 'sock'"));
  bad_entries = 0;
  cr_assert_eq(nftw(app, find_bad, 16, FTW_PHYS), 0);
  cr_assert_eq(bad_entries, 0, "%d unsafe entries left", bad_entries);
  struct stat st;
  cr_assert_eq(lstat(suid, &st), 0);
  cr_assert_eq(st.st_mode & 07777, 0755);
  snprintf(p, sizeof p, "%s/to-root", app);
  cr_assert_eq(lstat(p, &st), 0);
  cr_assert(S_ISLNK(st.st_mode), "links stay links");
  /* The linked host file: same owner, mode and bytes. */
  cr_assert_eq(lstat(canary, &st), 0);
  cr_assert_eq(st.st_mode & 07777, 0600, "the sanitiser followed a link");
  char *data = NULL;
  cr_assert_eq(jd_read_file(&data, NULL, canary, 100), 0);
  cr_assert_str_eq(data, "host secret\n");
  free(data);
  dk_buf_free(&log);
  t_rmdir(dir);
}

/* Sanitises app under lim: the reason it stopped ("" when it did not). */
static void expect_over(const char *app, const jd_build_limits *lim, const char *want) {
  jd_sanitise_report r;
  cr_assert_eq(jd_sanitise_tree(&r, app, lim, geteuid(), getegid(), NULL), 0);
  cr_assert(strstr(r.over, want), "stopped with '%s', wanted '%s'", r.over, want);
}

Test(sanitise, caps_on_bytes_files_and_depth) {
  char *dir = t_tmpdir("sancap");
  char app[4096], p[4200];
  snprintf(app, sizeof app, "%s/app", dir);
  cr_assert_eq(mkdir(app, 0755), 0);
  /* A 2 GB sparse file: nothing on disk, past a 1 GiB cap all the same. */
  snprintf(p, sizeof p, "%s/sparse", app);
  int fd = open(p, O_WRONLY | O_CREAT, 0644);
  cr_assert(fd >= 0);
  cr_assert_eq(ftruncate(fd, 2LL << 30), 0);
  close(fd);
  expect_over(app, NULL, "more than 1073741824 bytes");
  cr_assert_eq(unlink(p), 0);
  for (int i = 0; i < 50; i++) {
    char name[32];
    snprintf(name, sizeof name, "f%d", i);
    put(app, name, "x", 0644);
  }
  jd_build_limits files = {.artifacts_files = 40};
  expect_over(app, &files, "more than 40 files");
  snprintf(p, sizeof p, "%s/a/b/c/d", app);
  cr_assert_eq(jd_mkdir_p(p, 0755), 0);
  jd_build_limits deep = {.artifacts_depth = 3};
  expect_over(app, &deep, "more than 3 levels deep");
  jd_build_limits roomy = {.artifacts_depth = 4};
  expect_over(app, &roomy, "");
  t_rmdir(dir);
}
