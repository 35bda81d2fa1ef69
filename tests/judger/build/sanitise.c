// test-labels: unit
/* The artifacts sanitiser on trees a hostile build could leave (made here
 * on the host, as root, to have every kind of entry): set-uid root files,
 * devices, FIFOs, sockets, links to host files and to /, hard links,
 * sparse giants, deep trees, many files; and the same rules on a hostile
 * tar stream (jd_sanitise_extract): names out of the root, through links,
 * duplicates, hard links, devices, headers past the caps, cut streams. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <unistd.h>

#include "build/sanitise.h"
#include "common/tmpfile.h"
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

/* ---- the stream a build container's judger-hold writes (hostile) -------- */

typedef struct tar_out {
  struct archive *a;
  char path[4200];
} tar_out;

static void tar_begin(tar_out *t, const char *dir) {
  snprintf(t->path, sizeof t->path, "%s/stream.tar", dir);
  t->a = archive_write_new();
  cr_assert_eq(archive_write_set_format_pax_restricted(t->a), ARCHIVE_OK);
  cr_assert_eq(archive_write_open_filename(t->a, t->path), ARCHIVE_OK);
}

/* One entry: type AE_IF*, data for a regular file, target for a link
 * (symlink, or a hard link when hard). */
static void tar_add(tar_out *t, const char *name, mode_t type, mode_t perm, const char *data,
                    const char *target, bool hard) {
  struct archive_entry *e = archive_entry_new();
  archive_entry_set_pathname(e, name);
  archive_entry_set_filetype(e, type);
  archive_entry_set_perm(e, perm);
  archive_entry_set_size(e, data ? (la_int64_t)strlen(data) : 0);
  if (target && hard)
    archive_entry_set_hardlink(e, target);
  else if (target)
    archive_entry_set_symlink(e, target);
  if (type == AE_IFCHR)
    archive_entry_set_rdev(e, makedev(1, 3));
  cr_assert_eq(archive_write_header(t->a, e), ARCHIVE_OK, "%s", archive_error_string(t->a));
  if (data && *data)
    cr_assert_eq(archive_write_data(t->a, data, strlen(data)), (la_ssize_t)strlen(data));
  archive_entry_free(e);
}

static void tar_end(tar_out *t) {
  cr_assert_eq(archive_write_close(t->a), ARCHIVE_OK);
  archive_write_free(t->a);
}

/* Extracts the file at path into dest under lim; fd-based, as the judger
 * reads its FIFO, but ending at the end of the file (gone_fd -1). */
static void extract_file(jd_sanitise_report *r, const char *path, const char *dest,
                         const jd_build_limits *lim, dk_buf *log) {
  int fd = open(path, O_RDONLY);
  cr_assert(fd >= 0);
  cr_assert_eq(jd_sanitise_extract(r, fd, -1, dest, lim, log), 0, "%s", strerror(errno));
  close(fd);
}

Test(sanitise, stream_is_extracted_under_the_rules_and_nothing_lands_outside) {
  char *dir = t_tmpdir("sanx");
  char app[4096], p[4200], canary[4200];
  snprintf(app, sizeof app, "%s/app", dir);
  put(dir, "canary", "host secret\n", 0600);
  snprintf(canary, sizeof canary, "%s/canary", dir);
  tar_out t;
  tar_begin(&t, dir);
  tar_add(&t, "../escape", AE_IFREG, 0644, "out\n", NULL, false);
  tar_add(&t, "/abs", AE_IFREG, 0644, "abs\n", NULL, false);
  tar_add(&t, "a/../b", AE_IFREG, 0644, "dots\n", NULL, false);
  tar_add(&t, "dir/", AE_IFDIR, 07777, NULL, NULL, false);
  tar_add(&t, "dir/suid", AE_IFREG, 04755, "#!/bin/sh\n", NULL, false);
  tar_add(&t, "dir/suid", AE_IFREG, 0644, "again\n", NULL, false);
  tar_add(&t, "plain", AE_IFREG, 0600, "text\n", NULL, false);
  tar_add(&t, "to-canary", AE_IFLNK, 0777, NULL, canary, false);
  tar_add(&t, "to-dir", AE_IFLNK, 0777, NULL, "..", false);
  /* Through a link: must not reach the host file or the parent. */
  tar_add(&t, "to-canary", AE_IFREG, 0644, "overwritten\n", NULL, false);
  tar_add(&t, "to-dir/escape2", AE_IFREG, 0644, "out\n", NULL, false);
  tar_add(&t, "hard", AE_IFREG, 0644, NULL, "dir/suid", true);
  tar_add(&t, "fifo", AE_IFIFO, 0666, NULL, NULL, false);
  tar_add(&t, "null", AE_IFCHR, 0666, NULL, NULL, false);
  tar_add(&t, "implied/a/b/file", AE_IFREG, 0644, "deep\n", NULL, false);
  tar_end(&t);

  dk_buf log = DK_BUF_INIT(0);
  jd_sanitise_report r;
  extract_file(&r, t.path, app, NULL, &log);
  cr_assert_str_eq(r.over, "");
  cr_assert(r.complete, "broken: %s", r.broken);
  cr_assert_eq(r.removed, 2, "removed %lld", (long long)r.removed);
  cr_assert(log.data && strstr(log.data, "removed FIFO 'fifo'") &&
                strstr(log.data, "removed character device 'null'"),
            "log: %s", log.data);
  cr_assert(strstr(log.data, "left out '../escape'") && strstr(log.data, "left out '/abs'") &&
                strstr(log.data, "left out 'hard'"),
            "log: %s", log.data);
  /* Nothing outside app, the host file untouched. */
  snprintf(p, sizeof p, "%s/escape", dir);
  cr_assert(!jd_path_exists(p), "an entry escaped");
  snprintf(p, sizeof p, "%s/escape2", dir);
  cr_assert(!jd_path_exists(p), "an entry escaped through a link");
  char *data = NULL;
  cr_assert_eq(jd_read_file(&data, NULL, canary, 100), 0);
  cr_assert_str_eq(data, "host secret\n", "the extraction wrote through a link");
  free(data);
  struct stat st;
  cr_assert_eq(lstat(canary, &st), 0);
  cr_assert_eq(st.st_mode & 07777, 0600);
  /* Modes and owners as the sanitiser leaves them; the first of a name wins. */
  bad_entries = 0;
  cr_assert_eq(nftw(app, find_bad, 16, FTW_PHYS), 0);
  cr_assert_eq(bad_entries, 0, "%d unsafe entries", bad_entries);
  snprintf(p, sizeof p, "%s/dir/suid", app);
  cr_assert_eq(lstat(p, &st), 0);
  cr_assert_eq(st.st_mode & 07777, 0755);
  cr_assert_eq(jd_read_file(&data, NULL, p, 100), 0);
  cr_assert_str_eq(data, "#!/bin/sh\n");
  free(data);
  snprintf(p, sizeof p, "%s/dir", app);
  cr_assert_eq(lstat(p, &st), 0);
  cr_assert_eq(st.st_mode & 07777, 0755);
  snprintf(p, sizeof p, "%s/plain", app);
  cr_assert_eq(lstat(p, &st), 0);
  cr_assert_eq(st.st_mode & 07777, 0644);
  snprintf(p, sizeof p, "%s/to-canary", app);
  cr_assert_eq(lstat(p, &st), 0);
  cr_assert(S_ISLNK(st.st_mode), "links stay links");
  snprintf(p, sizeof p, "%s/implied/a/b/file", app);
  cr_assert_eq(jd_read_file(&data, NULL, p, 100), 0);
  cr_assert_str_eq(data, "deep\n");
  free(data);
  snprintf(p, sizeof p, "%s/fifo", app);
  cr_assert(!jd_path_exists(p));
  dk_buf_free(&log);
  t_rmdir(dir);
}

/* A ustar header by hand: a size no writer would back with data. */
static void raw_header(int fd, const char *name, char type, unsigned long long size) {
  char h[512];
  memset(h, 0, sizeof h);
  snprintf(h, 100, "%s", name);
  snprintf(h + 100, 8, "%07o", 0644);
  snprintf(h + 108, 8, "%07o", 0);
  snprintf(h + 116, 8, "%07o", 0);
  snprintf(h + 124, 12, "%011llo", size);
  snprintf(h + 136, 12, "%011o", 0);
  h[156] = type;
  memcpy(h + 257, "ustar", 6);
  memcpy(h + 263, "00", 2);
  memset(h + 148, ' ', 8);
  unsigned sum = 0;
  for (size_t i = 0; i < sizeof h; i++)
    sum += (unsigned char)h[i];
  snprintf(h + 148, 8, "%06o", sum);
  cr_assert_eq(write(fd, h, sizeof h), 512);
}

Test(sanitise, stream_stops_at_each_cap_before_it_is_read) {
  char *dir = t_tmpdir("sanxcap");
  char app[4096], p[4200];
  jd_sanitise_report r;
  /* A header announcing 8 GiB - 1, then 1 MiB of it: stopped at the header. */
  snprintf(p, sizeof p, "%s/giant.tar", dir);
  int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  cr_assert(fd >= 0);
  raw_header(fd, "giant", '0', 077777777777ULL);
  static char zeros[1 << 20];
  cr_assert_eq(write(fd, zeros, sizeof zeros), (ssize_t)sizeof zeros);
  close(fd);
  snprintf(app, sizeof app, "%s/app1", dir);
  extract_file(&r, p, app, NULL, NULL);
  cr_assert(strstr(r.over, "more than 1073741824 bytes"), "over: '%s'", r.over);
  snprintf(p, sizeof p, "%s/giant", app);
  cr_assert(!jd_path_exists(p), "the giant was made");
  /* Files, and directories implied by a name count too. */
  tar_out t;
  tar_begin(&t, dir);
  for (int i = 0; i < 50; i++) {
    char name[32];
    snprintf(name, sizeof name, "f%d", i);
    tar_add(&t, name, AE_IFREG, 0644, "x", NULL, false);
  }
  tar_add(&t, "a/b/c/d/file", AE_IFREG, 0644, "x", NULL, false);
  tar_end(&t);
  jd_build_limits files = {.artifacts_files = 40};
  snprintf(app, sizeof app, "%s/app2", dir);
  extract_file(&r, t.path, app, &files, NULL);
  cr_assert(strstr(r.over, "more than 40 files"), "over: '%s'", r.over);
  jd_build_limits deep = {.artifacts_depth = 3};
  snprintf(app, sizeof app, "%s/app3", dir);
  extract_file(&r, t.path, app, &deep, NULL);
  cr_assert(strstr(r.over, "more than 3 levels deep"), "over: '%s'", r.over);
  snprintf(p, sizeof p, "%s/a/b/c/d", app);
  cr_assert(!jd_path_exists(p), "a directory past the depth cap was made");
  jd_build_limits roomy = {.artifacts_depth = 4};
  snprintf(app, sizeof app, "%s/app4", dir);
  extract_file(&r, t.path, app, &roomy, NULL);
  cr_assert_str_eq(r.over, "");
  cr_assert(r.complete);
  t_rmdir(dir);
}

Test(sanitise, truncated_or_foreign_stream_is_not_complete) {
  char *dir = t_tmpdir("sanxcut");
  char app[4096], p[4200];
  jd_sanitise_report r;
  snprintf(p, sizeof p, "%s/cut.tar", dir);
  int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  cr_assert(fd >= 0);
  raw_header(fd, "half", '0', 4096);
  cr_assert_eq(write(fd, "only this", 9), 9);
  close(fd);
  snprintf(app, sizeof app, "%s/app1", dir);
  extract_file(&r, p, app, NULL, NULL);
  cr_assert(!r.complete, "a cut stream was complete");
  cr_assert_str_eq(r.over, "");
  cr_assert_neq(r.broken[0], 0);
  put(dir, "junk.tar", "this is not a tar stream at all\n", 0644);
  snprintf(p, sizeof p, "%s/junk.tar", dir);
  snprintf(app, sizeof app, "%s/app2", dir);
  extract_file(&r, p, app, NULL, NULL);
  cr_assert(!r.complete);
  cr_assert_neq(r.broken[0], 0);
  t_rmdir(dir);
}

typedef struct fifo_writer {
  const char *fifo, *tar;
  int gone;
} fifo_writer;

static void *write_fifo(void *ud) {
  fifo_writer *w = ud;
  char *data = NULL;
  size_t len = 0;
  if (jd_read_file(&data, &len, w->tar, 1 << 20) == 0) {
    int fd = open(w->fifo, O_WRONLY);
    if (fd >= 0) {
      (void)jd_write_all(fd, data, len);
      close(fd);
    }
  }
  free(data);
  (void)eventfd_write(w->gone, 1); /* the writer is gone: its container stopped */
  return NULL;
}

Test(sanitise, fifo_held_read_write_ends_when_the_writer_is_gone) {
  char *dir = t_tmpdir("sanxfifo");
  char app[4096], fifo[4200];
  tar_out t;
  tar_begin(&t, dir);
  tar_add(&t, "out.txt", AE_IFREG, 0755, "built\n", NULL, false);
  tar_end(&t);
  snprintf(fifo, sizeof fifo, "%s/fifo", dir);
  cr_assert_eq(mkfifo(fifo, 0600), 0);
  int fd = open(fifo, O_RDWR | O_NONBLOCK);
  int gone = eventfd(0, EFD_NONBLOCK);
  cr_assert(fd >= 0 && gone >= 0);
  fifo_writer w = {.fifo = fifo, .tar = t.path, .gone = gone};
  pthread_t th;
  cr_assert_eq(pthread_create(&th, NULL, write_fifo, &w), 0);
  snprintf(app, sizeof app, "%s/app", dir);
  jd_sanitise_report r;
  cr_assert_eq(jd_sanitise_extract(&r, fd, gone, app, NULL, NULL), 0);
  pthread_join(th, NULL);
  cr_assert(r.complete, "broken: %s", r.broken);
  char p[4300];
  snprintf(p, sizeof p, "%s/out.txt", app);
  struct stat st;
  cr_assert_eq(lstat(p, &st), 0);
  cr_assert_eq(st.st_mode & 07777, 0755);
  /* An empty stream from a writer that never wrote: not complete, no hang. */
  char app2[4200];
  snprintf(app2, sizeof app2, "%s/app2", dir);
  cr_assert_eq(jd_sanitise_extract(&r, fd, gone, app2, NULL, NULL), 0);
  cr_assert(!r.complete);
  close(fd);
  close(gone);
  t_rmdir(dir);
}

typedef struct chunk_writer {
  int fd;
  const char *data;
  size_t len, chunk;
} chunk_writer;

static void *write_chunks(void *ud) {
  chunk_writer *w = ud;
  for (size_t off = 0; off < w->len;) {
    size_t n = w->len - off < w->chunk ? w->len - off : w->chunk;
    if (jd_write_all(w->fd, w->data + off, n))
      break;
    off += n;
  }
  close(w->fd);
  return NULL;
}

Test(sanitise, every_byte_of_many_files_survives_a_stream_in_odd_pieces) {
  char *dir = t_tmpdir("sanxmany");
  char app[4096], p[4300];
  tar_out t;
  tar_begin(&t, dir);
  enum { FILES = 3000 };
  for (int i = 0; i < FILES; i++) {
    char name[32], text[64];
    snprintf(name, sizeof name, "d%d/f%d", i % 7, i);
    snprintf(text, sizeof text, "file %d of the stream\n", i);
    tar_add(&t, name, AE_IFREG, 0644, text, NULL, false);
  }
  tar_end(&t);
  char *data = NULL;
  size_t len = 0;
  cr_assert_eq(jd_read_file(&data, &len, t.path, 64 << 20), 0);
  int pfd[2];
  cr_assert_eq(pipe(pfd), 0);
  chunk_writer w = {.fd = pfd[1], .data = data, .len = len, .chunk = 701};
  pthread_t th;
  cr_assert_eq(pthread_create(&th, NULL, write_chunks, &w), 0);
  snprintf(app, sizeof app, "%s/app", dir);
  jd_sanitise_report r;
  cr_assert_eq(jd_sanitise_extract(&r, pfd[0], -1, app, NULL, NULL), 0);
  pthread_join(th, NULL);
  close(pfd[0]);
  cr_assert(r.complete, "broken: %s", r.broken);
  for (int i = 0; i < FILES; i++) {
    char want[64], *got = NULL;
    snprintf(want, sizeof want, "file %d of the stream\n", i);
    snprintf(p, sizeof p, "%s/d%d/f%d", app, i % 7, i);
    cr_assert_eq(jd_read_file(&got, NULL, p, 100), 0, "%s missing", p);
    cr_assert_str_eq(got, want);
    free(got);
  }
  free(data);
  t_rmdir(dir);
}
