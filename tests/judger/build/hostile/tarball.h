/* Shared by the hostile tarball tests (deep_source.c, tar_bomb.c): gzip'd
 * tarballs made with libarchive, sparse entries included, a one-request
 * HTTP server that serves one, the judger binary run on them, and the disk
 * use of a directory (allocated blocks, sampled while something writes
 * there). Header-only: each test is its own executable. */
#ifndef JD_TEST_HOSTILE_TARBALL_H
#define JD_TEST_HOSTILE_TARBALL_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "common/fs.h"
#include "common/util.h"
#include "support.h"

/* ---- tarballs ------------------------------------------------------------- */

typedef struct h_tgz {
  struct archive *a;
  char *buf;
  size_t cap, used;
} h_tgz;

static inline void h_tgz_begin(h_tgz *t, size_t cap) {
  *t = (h_tgz){.a = archive_write_new(), .buf = malloc(cap), .cap = cap};
  cr_assert(t->a && t->buf);
  cr_assert_eq(archive_write_set_format_pax_restricted(t->a), ARCHIVE_OK);
  cr_assert_eq(archive_write_add_filter_gzip(t->a), ARCHIVE_OK);
  cr_assert_eq(archive_write_open_memory(t->a, t->buf, t->cap, &t->used), ARCHIVE_OK);
}

/* One entry; a regular file's data (size bytes of it, or zeros when data is
 * NULL) follows. Sparse: only the first len bytes are data, the rest of
 * size a hole (the archive holds len bytes, the header says size). */
static inline void h_tgz_entry(h_tgz *t, const char *name, mode_t type, int64_t size,
                               const void *data, size_t len, int sparse) {
  struct archive_entry *e = archive_entry_new();
  archive_entry_set_pathname(e, name);
  archive_entry_set_filetype(e, type);
  archive_entry_set_perm(e, type == AE_IFDIR ? 0755 : 0644);
  archive_entry_set_size(e, type == AE_IFREG ? size : 0);
  if (sparse)
    archive_entry_sparse_add_entry(e, 0, (la_int64_t)len);
  cr_assert_eq(archive_write_header(t->a, e), ARCHIVE_OK, "%s", archive_error_string(t->a));
  archive_entry_free(e);
  if (type != AE_IFREG)
    return;
  /* The whole logical content goes in; a sparse writer skips the hole. */
  static const char zeros[1 << 20];
  if (len)
    cr_assert_eq(archive_write_data(t->a, data, len), (la_ssize_t)len);
  for (int64_t left = size - (int64_t)len; left > 0;) {
    size_t n = left < (int64_t)sizeof zeros ? (size_t)left : sizeof zeros;
    cr_assert(archive_write_data(t->a, zeros, n) >= 0, "%s", archive_error_string(t->a));
    left -= (int64_t)n;
  }
}

static inline void h_tgz_dir(h_tgz *t, const char *name) {
  h_tgz_entry(t, name, AE_IFDIR, 0, NULL, 0, 0);
}

static inline void h_tgz_file(h_tgz *t, const char *name, const char *text) {
  h_tgz_entry(t, name, AE_IFREG, (int64_t)strlen(text), text, strlen(text), 0);
}

/* Closes the archive: t->buf holds t->used bytes. */
static inline void h_tgz_end(h_tgz *t) {
  cr_assert_eq(archive_write_close(t->a), ARCHIVE_OK, "%s", archive_error_string(t->a));
  archive_write_free(t->a);
  t->a = NULL;
}

static inline void h_tgz_free(h_tgz *t) {
  if (t->a)
    archive_write_free(t->a);
  free(t->buf);
}

/* ---- one HTTP answer ---------------------------------------------------------- */

typedef struct h_srv {
  int fd, port;
  const void *body;
  size_t len;
  pthread_t th;
} h_srv;

static inline void *h_srv_main(void *ud) {
  h_srv *s = ud;
  int c = accept(s->fd, NULL, NULL);
  if (c < 0)
    return NULL;
  char req[4096];
  if (read(c, req, sizeof req) < 0)
    perror("read");
  char head[256];
  int hl = snprintf(head, sizeof head,
                    "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n", s->len);
  if (write(c, head, (size_t)hl) < 0 || (s->len && write(c, s->body, s->len) < 0))
    perror("write");
  close(c);
  return NULL;
}

/* Serves body once on 127.0.0.1; *url gets its address (the caller frees). */
static inline void h_srv_start(h_srv *s, const void *body, size_t len, char **url) {
  *s = (h_srv){.fd = socket(AF_INET, SOCK_STREAM, 0), .body = body, .len = len};
  cr_assert(s->fd >= 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  cr_assert_eq(bind(s->fd, (struct sockaddr *)&a, sizeof a), 0);
  socklen_t al = sizeof a;
  cr_assert_eq(getsockname(s->fd, (struct sockaddr *)&a, &al), 0);
  s->port = ntohs(a.sin_port);
  cr_assert_eq(listen(s->fd, 1), 0);
  cr_assert_eq(pthread_create(&s->th, NULL, h_srv_main, s), 0);
  cr_assert(asprintf(url, "http://127.0.0.1:%d/program.tgz", s->port) > 0);
}

static inline void h_srv_stop(h_srv *s) {
  /* A judger that never connected: wake the accept. */
  shutdown(s->fd, SHUT_RDWR);
  pthread_join(s->th, NULL);
  close(s->fd);
}

/* ---- the judger binary ----------------------------------------------------------- */

typedef struct h_run {
  pid_t pid;
  char *tmp;  /* holds its stdout and stderr */
  int status; /* waitpid's */
  char *out, *err;
} h_run;

/* Starts the judger with args (NULL-terminated, without argv[0]) and
 * JUDGER_STATE_DIR=state; JUDGER_PROGRAM_ROOTS (the directories a source
 * or a player's dir may be under) is /tmp, where the tests make their
 * programs, and the source tree's (its test programs); JUDGER_GIT_SCHEMES
 * admits http (a tarball's scheme follows that setting). */
static inline h_run h_judger_start(const char *state, const char *const *args) {
  h_run r = {.tmp = t_tmpdir("hrun")};
  char outp[4200], errp[4200];
  snprintf(outp, sizeof outp, "%s/out", r.tmp);
  snprintf(errp, sizeof errp, "%s/err", r.tmp);
  r.pid = fork();
  cr_assert(r.pid >= 0);
  if (r.pid == 0) {
    int o = open(outp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int e = open(errp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(o, 1);
    dup2(e, 2);
    setenv("JUDGER_STATE_DIR", state, 1);
    setenv("JUDGER_HOST_ID", "hostile", 1);
    setenv("JUDGER_PROGRAM_ROOTS", "/tmp," JD_SOURCE_DIR, 1);
    setenv("JUDGER_GIT_SCHEMES", "https,http", 1); /* the test serves its tarballs over http */
    setenv("JUDGER_FETCH_PRIVATE", "true", 1);     /* on the host's loopback */
    const char *argv[64] = {"judger"};
    size_t n = 1;
    for (const char *const *a = args; *a && n < 63; a++)
      argv[n++] = *a;
    argv[n] = NULL;
    execv(JD_BINARY_DIR "/bin/judger", (char *const *)argv);
    _exit(127);
  }
  return r;
}

/* True once it has exited (r->status, r->out and r->err then set). */
static inline bool h_judger_done(h_run *r, bool block) {
  pid_t got = waitpid(r->pid, &r->status, block ? 0 : WNOHANG);
  cr_assert(got == r->pid || got == 0, "waitpid: %s", strerror(errno));
  if (got == 0)
    return false;
  char p[4200];
  snprintf(p, sizeof p, "%s/out", r->tmp);
  cr_assert_eq(jd_read_file(&r->out, NULL, p, 8 << 20), 0);
  snprintf(p, sizeof p, "%s/err", r->tmp);
  cr_assert_eq(jd_read_file(&r->err, NULL, p, 8 << 20), 0);
  t_rmdir(r->tmp);
  r->tmp = NULL;
  return true;
}

static inline h_run h_judger(const char *state, const char *const *args) {
  h_run r = h_judger_start(state, args);
  h_judger_done(&r, true);
  return r;
}

static inline void h_run_free(h_run *r) {
  free(r->out);
  free(r->err);
}

/* ---- disk use ------------------------------------------------------------------------ */

static inline int h_du_add(void *ud, int dirfd, const char *name, const struct stat *st,
                           size_t depth) {
  (void)dirfd, (void)name, (void)depth;
  *(int64_t *)ud += (int64_t)st->st_blocks * 512;
  return 0;
}

/* Bytes of disk the tree at path takes (allocated blocks, not sizes); a
 * tree changing under the walk is counted as far as it could be. */
static inline int64_t h_disk_use(const char *path) {
  int64_t total = 0;
  jd_fs_visitor v = {.file = h_du_add, .enter = h_du_add, .ud = &total};
  (void)jd_fs_walk_path(path, &v);
  return total;
}

#endif
