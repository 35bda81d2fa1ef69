// test-labels: unit
/* judger/upload.c: PUT to a local HTTP server (a thread of this test) that
 * fails twice and then accepts; gzip of logs and of large outputs
 * (upload_gzip_min_bytes); sha256 of what was sent and of the original;
 * links below the output directory are never followed. */
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "common/tmpfile.h"
#include "common/util.h"
#include "daemon/upload.h"
#include "support.h"

typedef struct server {
  int lfd, port;
  int fail_first;   /* answer 500 to this many requests */
  int status_after; /* then this */
  int requests;
  char method[16];
  char *body; /* of the last request */
  size_t body_len;
  pthread_t th;
} server;

static void handle(server *s, int fd) {
  char buf[1 << 16];
  size_t n = 0;
  char *end = NULL;
  while (!end && n < sizeof buf - 1) {
    ssize_t r = read(fd, buf + n, sizeof buf - 1 - n);
    if (r <= 0)
      return;
    n += (size_t)r;
    buf[n] = '\0';
    end = strstr(buf, "\r\n\r\n");
  }
  if (!end)
    return;
  size_t head = (size_t)(end + 4 - buf);
  size_t clen = 0;
  const char *cl = strcasestr(buf, "\r\nContent-Length:");
  if (cl)
    clen = strtoul(cl + 17, NULL, 10);
  sscanf(buf, "%15s", s->method);
  char *body = malloc(clen + 1);
  size_t have = n - head < clen ? n - head : clen;
  memcpy(body, buf + head, have);
  while (have < clen) {
    ssize_t r = read(fd, body + have, clen - have);
    if (r <= 0)
      break;
    have += (size_t)r;
  }
  s->requests++;
  int status = s->requests <= s->fail_first ? 500 : s->status_after;
  free(s->body);
  s->body = body;
  s->body_len = have;
  char resp[128];
  int m = snprintf(resp, sizeof resp,
                   "HTTP/1.1 %d X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", status);
  if (write(fd, resp, (size_t)m) < 0)
    return;
}

static void *serve(void *ud) {
  server *s = ud;
  for (;;) {
    int fd = accept(s->lfd, NULL, NULL);
    if (fd < 0)
      return NULL;
    handle(s, fd);
    close(fd);
  }
}

static server *server_start(int fail_first, int status_after) {
  server *s = calloc(1, sizeof *s);
  s->fail_first = fail_first;
  s->status_after = status_after;
  s->lfd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  cr_assert(bind(s->lfd, (struct sockaddr *)&a, sizeof a) == 0);
  socklen_t len = sizeof a;
  getsockname(s->lfd, (struct sockaddr *)&a, &len);
  s->port = ntohs(a.sin_port);
  cr_assert(listen(s->lfd, 8) == 0);
  pthread_create(&s->th, NULL, serve, s);
  return s;
}

static void server_stop(server *s) {
  shutdown(s->lfd, SHUT_RDWR);
  close(s->lfd);
  pthread_join(s->th, NULL);
  free(s->body);
  free(s);
}

static char *gunzip(const char *data, size_t len, size_t *outlen) {
  struct archive *a = archive_read_new();
  archive_read_support_filter_gzip(a);
  archive_read_support_format_raw(a);
  cr_assert_eq(archive_read_open_memory(a, data, len), ARCHIVE_OK, "%s", archive_error_string(a));
  struct archive_entry *e;
  cr_assert_eq(archive_read_next_header(a, &e), ARCHIVE_OK);
  size_t cap = 1 << 20, n = 0;
  char *out = malloc(cap);
  ssize_t r;
  while ((r = archive_read_data(a, out + n, cap - n)) > 0) {
    n += (size_t)r;
    if (n == cap)
      out = realloc(out, cap *= 2);
  }
  cr_assert(r == 0);
  archive_read_free(a);
  *outlen = n;
  return out;
}

static char *make_file(char *dir, const char *name, size_t size) {
  char *path = NULL;
  cr_assert(asprintf(&path, "%s/%s", dir, name) > 0);
  char *data = malloc(size);
  for (size_t i = 0; i < size; i++)
    data[i] = (char)("turn 17: p0 moves north\n"[i % 24]);
  cr_assert_eq(jd_write_file(path, data, size), 0);
  free(data);
  return path;
}

Test(upload, fails_twice_then_accepts) {
  server *s = server_start(2, 200);
  char *dir = t_tmpdir("upload");
  char *path = make_file(dir, "replay.json", 100000);
  char url[128];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/bucket/replay.json?sig=abc", s->port);
  jd_upload_opts o = {.retries = 5, .backoff_min_ms = 20, .backoff_max_ms = 100};
  jd_upload_report rep;
  cr_assert_eq(jd_upload_file(&rep, path, url, false, &o), 0, "%s", rep.error);
  cr_assert_eq(rep.attempts, 3);
  cr_assert_eq(s->requests, 3);
  cr_assert_eq(rep.http_status, 200);
  cr_assert_str_eq(s->method, "PUT");
  cr_assert_eq(s->body_len, 100000);
  char want[65];
  cr_assert_eq(jd_sha256_file_hex(want, path), 0);
  cr_assert_str_eq(rep.sha256, want);
  char got[65];
  jd_sha256_hex(got, s->body, s->body_len);
  cr_assert_str_eq(got, want);
  free(path);
  t_rmdir(dir);
  server_stop(s);
}

Test(upload, logs_are_gzipped_and_hashed_as_sent) {
  server *s = server_start(0, 201);
  char *dir = t_tmpdir("upload");
  char *path = make_file(dir, "player_0.log", 240000);
  char url[128];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/player_0.log.gz", s->port);
  jd_upload_report rep;
  cr_assert_eq(jd_upload_file(&rep, path, url, true, NULL), 0, "%s", rep.error);
  cr_assert_eq(rep.attempts, 1);
  cr_assert(rep.bytes < 240000 / 10, "a repetitive log must compress: %lld bytes",
            (long long)rep.bytes);
  cr_assert_eq((size_t)rep.bytes, s->body_len);
  cr_assert_eq((unsigned char)s->body[0], 0x1f);
  cr_assert_eq((unsigned char)s->body[1], 0x8b);
  char got[65];
  jd_sha256_hex(got, s->body, s->body_len);
  cr_assert_str_eq(rep.sha256, got);
  size_t n = 0;
  char *plain = gunzip(s->body, s->body_len, &n);
  cr_assert_eq(n, 240000);
  char *orig = NULL;
  size_t olen = 0;
  cr_assert_eq(jd_read_file(&orig, &olen, path, 1 << 20), 0);
  cr_assert(!memcmp(plain, orig, n));
  free(plain);
  free(orig);
  char gz[512];
  snprintf(gz, sizeof gz, "%s.gz", path);
  cr_assert(!jd_path_exists(gz), "the temporary .gz must be removed");
  free(path);
  t_rmdir(dir);
  server_stop(s);
}

Test(upload, a_refusal_is_not_retried) {
  server *s = server_start(0, 403);
  char *dir = t_tmpdir("upload");
  char *path = make_file(dir, "replay.json", 10);
  char url[128];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/expired", s->port);
  jd_upload_opts o = {.retries = 4, .backoff_min_ms = 10};
  jd_upload_report rep;
  cr_assert_eq(jd_upload_file(&rep, path, url, false, &o), -1);
  cr_assert_eq(rep.attempts, 1);
  cr_assert_eq(rep.http_status, 403);
  cr_assert(strstr(rep.error, "403"), "%s", rep.error);
  free(path);
  t_rmdir(dir);
  server_stop(s);
}

Test(upload, nobody_listening_gives_up_after_the_retries) {
  server *s = server_start(0, 200);
  int port = s->port;
  server_stop(s); /* the port is closed now */
  char *dir = t_tmpdir("upload");
  char *path = make_file(dir, "replay.json", 10);
  char url[128];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/x", port);
  jd_upload_opts o = {.retries = 3, .backoff_min_ms = 10, .backoff_max_ms = 20};
  jd_upload_report rep;
  cr_assert_eq(jd_upload_file(&rep, path, url, false, &o), -1);
  cr_assert_eq(rep.attempts, 3);
  cr_assert_eq(rep.http_status, 0);
  cr_assert(rep.error[0]);
  free(path);
  t_rmdir(dir);
}

/* ---- large outputs: upload_gzip_min_bytes ------------------------------------ */

#define MIB (1 << 20)

/* Entries in dir besides "." and "..". */
static int entries(const char *dir) {
  DIR *d = opendir(dir);
  cr_assert_not_null(d);
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)))
    n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
  closedir(d);
  return n;
}

/* Uploads dir/name (size bytes) with gzip_min_bytes = min; the report. */
static jd_upload_report send_one(server *s, char *dir, const char *name, size_t size, int64_t min) {
  char *path = make_file(dir, name, size);
  char url[128];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/%s", s->port, name);
  jd_upload_opts o = {.gzip_min_bytes = min};
  jd_upload_report rep;
  cr_assert_eq(jd_upload_under(&rep, dir, name, url, false, &o), 0, "%s", rep.error);
  cr_assert_eq(rep.attempts, 1);
  cr_assert_eq((size_t)rep.bytes, s->body_len);
  cr_assert_eq((size_t)rep.bytes_plain, size);
  char want[65];
  cr_assert_eq(jd_sha256_file_hex(want, path), 0);
  cr_assert_str_eq(rep.sha256_plain, want);
  jd_sha256_hex(want, s->body, s->body_len);
  cr_assert_str_eq(rep.sha256, want, "the sha256 is of the bytes sent");
  cr_assert_eq(entries(dir), 1, "no temporary may be left beside the output");
  free(path);
  return rep;
}

Test(upload, a_large_output_arrives_gzipped) {
  server *s = server_start(0, 200);
  char *dir = t_tmpdir("upload");
  jd_upload_report rep = send_one(s, dir, "replay.json", 3 * MIB, MIB);
  cr_assert(rep.gzip);
  cr_assert(rep.bytes < 3 * MIB / 10, "%lld bytes sent", (long long)rep.bytes);
  cr_assert_eq((unsigned char)s->body[0], 0x1f);
  cr_assert_eq((unsigned char)s->body[1], 0x8b);
  size_t n = 0;
  char *plain = gunzip(s->body, s->body_len, &n);
  cr_assert_eq(n, 3 * MIB);
  char *orig = NULL;
  size_t olen = 0;
  char path[512];
  snprintf(path, sizeof path, "%s/replay.json", dir);
  cr_assert_eq(jd_read_file(&orig, &olen, path, 4 * MIB), 0);
  cr_assert(olen == n && !memcmp(plain, orig, n), "gunzipped, the original bytes");
  char got[65];
  jd_sha256_hex(got, plain, n);
  cr_assert_str_eq(got, rep.sha256_plain);
  free(plain);
  free(orig);
  t_rmdir(dir);
  server_stop(s);
}

Test(upload, a_small_output_arrives_as_is) {
  server *s = server_start(0, 200);
  char *dir = t_tmpdir("upload");
  jd_upload_report rep = send_one(s, dir, "replay.json", MIB - 1, MIB);
  cr_assert(!rep.gzip);
  cr_assert_eq(rep.bytes, MIB - 1);
  cr_assert_str_eq(rep.sha256, rep.sha256_plain);
  t_rmdir(dir);
  server_stop(s);
}

Test(upload, threshold_zero_gzips_only_what_is_asked) {
  server *s = server_start(0, 200);
  char *dir = t_tmpdir("upload");
  jd_upload_report rep = send_one(s, dir, "replay.json", 3 * MIB, 0);
  cr_assert(!rep.gzip);
  cr_assert_eq(rep.bytes, 3 * MIB);
  cr_assert_neq((unsigned char)s->body[0], 0x1f);
  t_rmdir(dir);
  server_stop(s);
}

/* A program controls its outputs: a link named as an output, or a link to
 * a directory on its path, is refused and nothing is sent. */
Test(upload, links_in_the_out_dir_are_not_followed) {
  server *s = server_start(0, 200);
  char *dir = t_tmpdir("upload");
  char *secret_dir = t_tmpdir("upload-secret");
  free(make_file(secret_dir, "secret.json", 2 * MIB));
  char target[512], link[512], url[128];
  snprintf(target, sizeof target, "%s/secret.json", secret_dir);
  snprintf(link, sizeof link, "%s/replay.json", dir);
  cr_assert_eq(symlink(target, link), 0);
  snprintf(link, sizeof link, "%s/sub", dir);
  cr_assert_eq(symlink(secret_dir, link), 0);
  snprintf(url, sizeof url, "http://127.0.0.1:%d/x", s->port);
  const char *paths[] = {"replay.json", "sub/secret.json", "../upload-secret/secret.json"};
  jd_upload_opts o = {.gzip_min_bytes = MIB};
  jd_upload_report rep;
  for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) {
    cr_assert_eq(jd_upload_under(&rep, dir, paths[i], url, false, &o), -1, "%s", paths[i]);
    cr_assert(!rep.missing && rep.error[0] && rep.attempts == 0, "%s: %s", paths[i], rep.error);
  }
  snprintf(link, sizeof link, "%s/replay.json", dir);
  cr_assert_eq(jd_upload_file(&rep, link, url, true, &o), -1);
  cr_assert_eq(s->requests, 0, "nothing may be sent");
  cr_assert_eq(entries(dir), 2, "no temporary may be left");
  cr_assert_eq(jd_upload_under(&rep, dir, "nothing.json", url, false, &o), -1);
  cr_assert(rep.missing, "%s", rep.error);
  t_rmdir(dir);
  t_rmdir(secret_dir);
  server_stop(s);
}
