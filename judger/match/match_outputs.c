/* Matches: the game logic's outputs, read from the FIFO judger-hold writes
 * its tar stream into (see match/hold.h), extracted into out_dir as
 * hostile input: only directories and regular files, every name one
 * component at a time relative to the directory's fd (O_NOFOLLOW, no "",
 * "." or ".."), at most JD_OUT_DEPTH_MAX levels, JD_OUT_FILES_MAX files and
 * out_max bytes; a file that does not fit is neither created nor listed;
 * the judger's own names are left alone. A thread reads the FIFO for the
 * whole match, so judger-hold never blocks on a full pipe. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "match/hold.h"
#include "match/match_internal.h"

struct jd_outputs {
  jd_match *m;
  int fifo, gone_fd, root; /* root: out_dir */
  bool gone;               /* the game logic's container has ended */
  pthread_t thread;
  char buf[65536];
  int64_t budget;
  int nfiles;
  int ndirs; /* directories made: the stream is hostile, they are capped too */
  bool over, refused;
  char **files;
  size_t nlisted;
};

/* libarchive's read callback: blocks until data, or 0 once the writer is
 * gone and the pipe is empty. */
static la_ssize_t fifo_read(struct archive *a, void *ud, const void **out) {
  (void)a;
  jd_outputs *o = ud;
  *out = o->buf;
  for (;;) {
    ssize_t n = read(o->fifo, o->buf, sizeof o->buf);
    if (n > 0)
      return n;
    if (n < 0 && errno != EAGAIN && errno != EINTR)
      return -1;
    if (o->gone)
      return 0;
    struct pollfd p[2] = {{.fd = o->fifo, .events = POLLIN}, {.fd = o->gone_fd, .events = POLLIN}};
    if (poll(p, 2, -1) < 0 && errno != EINTR)
      return -1;
    if (p[1].revents)
      o->gone = true; /* then read what is left */
  }
}

static bool reserved_name(const char *rel) {
  return !strcmp(rel, "result.json") || !strcmp(rel, "live.jsonl") ||
         !strcmp(rel, "game_logic.log") ||
         (!strncmp(rel, "player_", 7) && strstr(rel, ".log") && !strchr(rel, '/')) ||
         (!strncmp(rel, "build_", 6) && strstr(rel, ".log") && !strchr(rel, '/'));
}

/* Opens (creating when missing) the directories of comps[0..n) under the
 * root; returns the last one's fd, or -1 (errno EDQUOT once the stream has
 * made JD_OUT_FILES_MAX directories: the game can write any tar into the
 * FIFO, and headers alone must not fill the host with directories). */
static int open_dirs(jd_outputs *o, char **comps, int n) {
  int fd = dup(o->root);
  for (int i = 0; fd >= 0 && i < n; i++) {
    int made = -1;
    if (o->ndirs < JD_OUT_FILES_MAX)
      made = mkdirat(fd, comps[i], 0755);
    else
      made = faccessat(fd, comps[i], F_OK, AT_SYMLINK_NOFOLLOW) ? -1 : 1;
    if (made < 0 && (o->ndirs >= JD_OUT_FILES_MAX || errno != EEXIST)) {
      close(fd);
      errno = o->ndirs >= JD_OUT_FILES_MAX ? EDQUOT : errno;
      return -1;
    }
    if (made == 0)
      o->ndirs++;
    int next = openat(fd, comps[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    close(fd);
    fd = next;
  }
  return fd;
}

/* Splits a tar name into its components in place; -1 when it has an empty,
 * "." or ".." one, is absolute, or is deeper than the cap. */
static int split(char *name, char **comps, int *n) {
  size_t len = strlen(name);
  while (len && name[len - 1] == '/')
    name[--len] = 0;
  if (!len || name[0] == '/')
    return -1;
  *n = 0;
  for (char *save = NULL, *c = strtok_r(name, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
    if (!strcmp(c, ".") || !strcmp(c, "..") || *n == JD_OUT_DEPTH_MAX)
      return -1;
    comps[(*n)++] = c;
  }
  return 0;
}

static void list_file(jd_outputs *o, const char *rel) {
  char **n = realloc(o->files, (o->nlisted + 1) * sizeof *n);
  if (!n)
    return;
  o->files = n;
  n[o->nlisted] = strdup(rel);
  if (n[o->nlisted])
    o->nlisted++;
}

/* Writes the entry's data into name under dirfd; 0 or -1. */
static int write_file(struct archive *a, int dirfd, const char *name, int64_t size) {
  int fd =
      openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0644);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) || !S_ISREG(st.st_mode)) {
    if (fd >= 0)
      close(fd);
    return -1;
  }
  int rc = 0;
  int64_t left = size;
  char buf[65536];
  while (left > 0 && !rc) {
    la_ssize_t n = archive_read_data(a, buf, sizeof buf);
    if (n <= 0)
      rc = -1;
    else if (jd_write_all(fd, buf, (size_t)(n < left ? n : left)))
      rc = -1;
    else
      left -= n;
  }
  close(fd);
  if (rc)
    unlinkat(dirfd, name, 0);
  return rc;
}

/* One entry: returns 0 to go on, -1 when the stream is broken. */
static int extract_entry(jd_outputs *o, struct archive *a, struct archive_entry *e) {
  const char *raw = archive_entry_pathname(e);
  mode_t type = archive_entry_filetype(e);
  int64_t size = archive_entry_size(e);
  char *name = raw ? strdup(raw) : NULL, *rel = raw ? strdup(raw) : NULL;
  char *comps[JD_OUT_DEPTH_MAX];
  int n = 0, rc = 0;
  if (!name || !rel || (type != AE_IFDIR && type != AE_IFREG) || split(name, comps, &n) ||
      reserved_name(comps[0])) {
    o->refused = true; /* links, devices, ".." or too deep: never written */
    goto done;
  }
  rel[strlen(rel) - (rel[strlen(rel) - 1] == '/')] = 0;
  /* A file past the caps makes nothing, not even its directories. */
  int dirfd = -1;
  if (type == AE_IFREG && (size < 0 || size > o->budget || o->nfiles >= JD_OUT_FILES_MAX)) {
    o->over = true; /* not created, not listed */
    goto close_dir;
  }
  dirfd = open_dirs(o, comps, type == AE_IFDIR ? n : n - 1);
  if (dirfd < 0 || type == AE_IFDIR) {
    if (dirfd < 0 && errno == EDQUOT)
      o->over = true;
    else
      o->refused = o->refused || dirfd < 0;
    goto close_dir;
  }
  if (write_file(a, dirfd, comps[n - 1], size)) {
    rc = -1;
  } else {
    o->budget -= size;
    o->nfiles++;
    list_file(o, rel);
  }
close_dir:
  if (dirfd >= 0)
    close(dirfd);
done:
  free(name);
  free(rel);
  return rc;
}

static void extract(jd_outputs *o) {
  struct archive *a = archive_read_new();
  if (!a)
    return;
  archive_read_support_format_tar(a);
  if (archive_read_open(a, o, NULL, fifo_read, NULL) == ARCHIVE_OK) {
    for (;;) {
      struct archive_entry *e;
      int rc = archive_read_next_header(a, &e);
      if ((rc != ARCHIVE_OK && rc != ARCHIVE_WARN) || extract_entry(o, a, e))
        break;
    }
  }
  archive_read_free(a);
}

static void *outputs_main(void *arg) {
  jd_outputs *o = arg;
  const void *unused;
  extract(o);
  /* Whatever follows (a broken stream, bytes past the end) is drained, so
   * judger-hold can finish and its container end. */
  while (fifo_read(NULL, o, &unused) > 0)
    ;
  return NULL;
}

int jd_outputs_start(jd_match *m) {
  jd_outputs *o = calloc(1, sizeof *o);
  if (!o)
    return -1;
  o->m = m;
  o->budget = m->spec->limits.out_max;
  o->fifo = open(m->outputs_path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
  o->gone_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  o->root = open(m->out_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (o->fifo < 0 || o->gone_fd < 0 || o->root < 0 ||
      pthread_create(&o->thread, NULL, outputs_main, o)) {
    int saved = errno;
    if (o->fifo >= 0)
      close(o->fifo);
    if (o->gone_fd >= 0)
      close(o->gone_fd);
    if (o->root >= 0)
      close(o->root);
    free(o);
    errno = saved;
    return -1;
  }
  m->outputs = o;
  return 0;
}

void jd_outputs_finish(jd_match *m, jd_match_result *res) {
  jd_outputs *o = m->outputs;
  if (!o)
    return;
  m->outputs = NULL;
  uint64_t one = 1;
  if (write(o->gone_fd, &one, sizeof one) < 0)
    jd_log(JD_LOG_WARN, "match.outputs", "%s: eventfd: %s", m->run_key, strerror(errno));
  pthread_join(o->thread, NULL);
  if (o->over)
    jd_log(JD_LOG_WARN, "match.outputs", "%s: outputs past %lld bytes or %d files left out",
           m->run_key, (long long)m->spec->limits.out_max, JD_OUT_FILES_MAX);
  if (o->refused)
    jd_log(JD_LOG_WARN, "match.outputs",
           "%s: outputs refused (links, special files, judger names, deeper than %d levels)",
           m->run_key, JD_OUT_DEPTH_MAX);
  if (res) {
    res->files = o->files;
    res->nfiles = o->nlisted;
    o->files = NULL;
  }
  for (size_t i = 0; o->files && i < o->nlisted; i++)
    free(o->files[i]);
  free(o->files);
  close(o->fifo);
  close(o->gone_fd);
  close(o->root);
  free(o);
}
