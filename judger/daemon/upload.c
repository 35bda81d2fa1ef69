/* Artifact upload over HTTP PUT with retries (see upload.h). The file is
 * opened once, without following a link, and everything else works on
 * that descriptor: its hash, its gzip stream (into an unnamed temporary)
 * and the bytes sent are the same bytes. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <curl/curl.h>
#include <openssl/evp.h>

#include "common/backoff.h"
#include "common/error.h"
#include "common/util.h"
#include "daemon/upload.h"

#define CHUNK 65536

static void to_hex(char out[65], EVP_MD_CTX *md) {
  unsigned char d[32];
  unsigned int n = 0;
  EVP_DigestFinal_ex(md, d, &n);
  for (int i = 0; i < 32; i++)
    snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static EVP_MD_CTX *sha256_new(void) {
  EVP_MD_CTX *md = EVP_MD_CTX_new();
  if (md && !EVP_DigestInit_ex(md, EVP_sha256(), NULL)) {
    EVP_MD_CTX_free(md);
    md = NULL;
  }
  return md;
}

/* ---- opening without links ---------------------------------------------- */

/* Opens path below dirfd, every component from its parent with O_NOFOLLOW:
 * a link anywhere is refused (ELOOP/ENOTDIR), "." and ".." too. The file's
 * fd; *parent gets its directory's (for the temporary). */
static int open_beneath(int *parent, int dirfd, const char *path, bool *missing, char *err,
                        size_t errlen) {
  int dfd = dup(dirfd), fd = -1;
  for (const char *s = path; dfd >= 0;) {
    size_t n = strcspn(s, "/");
    char comp[NAME_MAX + 1];
    if (n == 0 || n > NAME_MAX || (n == 1 && s[0] == '.') || (n == 2 && !strncmp(s, "..", 2))) {
      snprintf(err, errlen, "%s: bad path", path);
      break;
    }
    memcpy(comp, s, n);
    comp[n] = '\0';
    bool last = s[n] == '\0';
    int flags = O_RDONLY | O_NOFOLLOW | O_CLOEXEC | (last ? O_NONBLOCK : O_DIRECTORY);
    int next = openat(dfd, comp, flags);
    if (next < 0) {
      *missing = errno == ENOENT;
      snprintf(err, errlen, "%s: %s", path,
               errno == ELOOP || errno == ENOTDIR ? "a link or not a directory: not followed"
                                                  : strerror(errno));
      break;
    }
    if (last) {
      struct stat st;
      if (fstat(next, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s: not a regular file", path);
        close(next);
        break;
      }
      fd = next;
      *parent = dfd;
      return fd;
    }
    close(dfd);
    dfd = next;
    s += n + 1;
  }
  if (dfd >= 0)
    close(dfd);
  return -1;
}

/* An unnamed temporary beside the file (its filesystem, nothing a program
 * could link to), else one in $TMPDIR already unlinked. */
static int temp_fd(int dirfd) {
  int fd = openat(dirfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd >= 0)
    return fd;
  FILE *f = tmpfile();
  if (!f)
    return -1;
  fd = fcntl(fileno(f), F_DUPFD_CLOEXEC, 0);
  fclose(f);
  return fd;
}

/* ---- hashing and gzip ------------------------------------------------------ */

/* sha256 and size of the whole of fd (read from offset 0). */
static int hash_fd(char out[65], int64_t *bytes, int fd, char *err, size_t errlen) {
  EVP_MD_CTX *md = sha256_new();
  char buf[CHUNK];
  ssize_t n = 0;
  int64_t off = 0;
  if (!md)
    return jd_fail(err, errlen, "out of memory");
  while ((n = pread(fd, buf, sizeof buf, off)) > 0) {
    EVP_DigestUpdate(md, buf, (size_t)n);
    off += n;
  }
  int saved = errno;
  to_hex(out, md);
  EVP_MD_CTX_free(md);
  *bytes = off;
  if (n < 0)
    return jd_fail(err, errlen, "read: %s", strerror(saved));
  return 0;
}

typedef struct gz_sink {
  int fd;
  EVP_MD_CTX *md; /* of the gzip stream */
  int64_t bytes;
} gz_sink;

static la_ssize_t sink_write(struct archive *a, void *ud, const void *buf, size_t n) {
  gz_sink *k = ud;
  size_t done = 0;
  while (done < n) {
    ssize_t w = write(k->fd, (const char *)buf + done, n - done);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0) {
      archive_set_error(a, errno ? errno : EIO, "temporary: %s", strerror(errno ? errno : EIO));
      return -1;
    }
    done += (size_t)w;
  }
  EVP_DigestUpdate(k->md, buf, n);
  k->bytes += (la_ssize_t)n;
  return (la_ssize_t)n;
}

/* Opens a raw gzip writer into k: the gzip filter's output is the stream
 * itself, and no block padding may follow its trailer. */
static struct archive *gz_open(gz_sink *k, char *err, size_t errlen) {
  struct archive *a = archive_write_new();
  struct archive_entry *e = archive_entry_new();
  if (!a || !e) {
    snprintf(err, errlen, "out of memory");
  } else if (archive_write_add_filter_gzip(a) != ARCHIVE_OK || archive_write_set_format_raw(a) ||
             archive_write_set_bytes_in_last_block(a, 1) ||
             archive_write_open(a, k, NULL, sink_write, NULL) != ARCHIVE_OK) {
    snprintf(err, errlen, "gzip: %s", archive_error_string(a));
  } else {
    archive_entry_set_pathname(e, "data");
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    if (archive_write_header(a, e) == ARCHIVE_OK) {
      archive_entry_free(e);
      return a;
    }
    snprintf(err, errlen, "gzip: %s", archive_error_string(a));
  }
  archive_entry_free(e);
  if (a)
    archive_write_free(a);
  return NULL;
}

/* Gzips the file in into the temporary k->fd, hashing both sides: the
 * file's bytes into plain/plain_bytes, the stream's into k. */
static int gzip_fd(gz_sink *k, char plain[65], int64_t *plain_bytes, int in, char *err,
                   size_t errlen) {
  EVP_MD_CTX *md = sha256_new();
  struct archive *a = md ? gz_open(k, err, errlen) : NULL;
  int rc = -1;
  if (!a) {
    if (!md)
      snprintf(err, errlen, "out of memory");
    EVP_MD_CTX_free(md);
    return -1;
  }
  char buf[CHUNK];
  ssize_t n;
  int64_t off = 0;
  while ((n = pread(in, buf, sizeof buf, off)) > 0) {
    EVP_DigestUpdate(md, buf, (size_t)n);
    off += n;
    if (archive_write_data(a, buf, (size_t)n) != n)
      break;
  }
  if (n < 0)
    snprintf(err, errlen, "read: %s", strerror(errno));
  else if (n > 0 || archive_write_close(a) != ARCHIVE_OK)
    snprintf(err, errlen, "gzip: %s", archive_error_string(a));
  else
    rc = 0;
  archive_write_free(a);
  to_hex(plain, md);
  EVP_MD_CTX_free(md);
  *plain_bytes = off;
  return rc;
}

/* What is sent: the file itself, or its gzip stream in a temporary (then
 * *tmp is that fd, to close). */
static int prepare(jd_upload_report *rep, int *send, int *tmp, int fd, int dirfd, bool gzip,
                   int64_t gzip_min) {
  struct stat st;
  *tmp = -1;
  *send = fd;
  if (fstat(fd, &st) != 0)
    return jd_fail(rep->error, sizeof rep->error, "stat: %s", strerror(errno));
  rep->gzip = gzip || (gzip_min > 0 && st.st_size >= gzip_min);
  if (!rep->gzip) {
    if (hash_fd(rep->sha256, &rep->bytes, fd, rep->error, sizeof rep->error))
      return -1;
    memcpy(rep->sha256_plain, rep->sha256, sizeof rep->sha256);
    rep->bytes_plain = rep->bytes;
    return 0;
  }
  gz_sink k = {.fd = temp_fd(dirfd), .md = sha256_new()};
  int rc = -1;
  if (k.fd < 0 || !k.md)
    snprintf(rep->error, sizeof rep->error, "gzip temporary: %s", strerror(errno));
  else if (gzip_fd(&k, rep->sha256_plain, &rep->bytes_plain, fd, rep->error, sizeof rep->error) ==
           0)
    rc = 0;
  if (k.md) {
    to_hex(rep->sha256, k.md);
    EVP_MD_CTX_free(k.md);
  }
  rep->bytes = k.bytes;
  if (rc) {
    if (k.fd >= 0)
      close(k.fd);
    rep->sha256[0] = '\0';
    return -1;
  }
  *send = *tmp = k.fd;
  return 0;
}

/* ---- the PUT ---------------------------------------------------------------- */

typedef struct body {
  int fd;
  int64_t off, size;
} body;

static size_t read_cb(char *buf, size_t size, size_t n, void *ud) {
  body *b = ud;
  int64_t want = (int64_t)(size * n);
  if (want > b->size - b->off)
    want = b->size - b->off;
  if (want <= 0)
    return 0;
  ssize_t r = pread(b->fd, buf, (size_t)want, b->off);
  if (r < 0)
    return CURL_READFUNC_ABORT;
  b->off += r;
  return (size_t)r;
}

static size_t discard_cb(char *buf, size_t size, size_t n, void *ud) {
  (void)buf;
  (void)ud;
  return size * n;
}

/* One PUT of size bytes of fd. Returns the HTTP status, or 0 with err set
 * when none came. */
static long put_once(int fd, int64_t size, const char *url, int64_t timeout_ms, char *err,
                     size_t errlen) {
  CURL *h = curl_easy_init();
  struct curl_slist *hdr = NULL;
  long status = 0;
  body b = {fd, 0, size};
  if (!h) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  char errbuf[CURL_ERROR_SIZE] = "";
  /* Pre-signed URLs are usually signed without a content type and reject
   * "Expect: 100-continue" round trips badly; send neither. */
  hdr = curl_slist_append(hdr, "Expect:");
  hdr = curl_slist_append(hdr, "Content-Type:");
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(h, CURLOPT_READFUNCTION, read_cb);
  curl_easy_setopt(h, CURLOPT_READDATA, &b);
  curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)size);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard_cb);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  CURLcode cc = curl_easy_perform(h);
  if (cc == CURLE_OK) {
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    if (status < 200 || status > 299)
      snprintf(err, errlen, "HTTP %ld", status);
  } else {
    snprintf(err, errlen, "%s", errbuf[0] ? errbuf : curl_easy_strerror(cc));
  }
  curl_slist_free_all(hdr);
  curl_easy_cleanup(h);
  return status;
}

static void sleep_ms(int64_t ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

static bool retryable(long status) {
  return status == 0 || status == 408 || status == 429 || status >= 500;
}

/* The tries: PUTs rep->bytes of fd until a 2xx, a refusal or the end. */
static int put_tries(jd_upload_report *rep, int fd, const char *url, const jd_upload_opts *o) {
  int tries = o->retries > 0 ? o->retries : 5;
  int64_t timeout = o->timeout_ms > 0 ? o->timeout_ms : 300000;
  int64_t bmin = o->backoff_min_ms > 0 ? o->backoff_min_ms : 500;
  int64_t bmax = o->backoff_max_ms > 0 ? o->backoff_max_ms : 30000;
  int64_t delay = 0;
  int rc = -1;
  for (int i = 0; i < tries; i++) {
    if (i > 0) {
      if (o->cancelled && o->cancelled(o->ud)) {
        size_t l = strlen(rep->error);
        snprintf(rep->error + l, sizeof rep->error - l, " (retries stopped)");
        break;
      }
      delay = jd_backoff_next(delay, bmin, bmax);
      sleep_ms(delay);
    }
    rep->attempts++;
    rep->error[0] = '\0';
    rep->http_status = put_once(fd, rep->bytes, url, timeout, rep->error, sizeof rep->error);
    if (rep->http_status >= 200 && rep->http_status <= 299) {
      rc = 0;
      break;
    }
    if (rep->http_status < 0 || !retryable(rep->http_status))
      break;
  }
  if (rep->http_status < 0)
    rep->http_status = 0;
  return rc;
}

static int upload_at(jd_upload_report *rep, int dirfd, const char *path, const char *url, bool gzip,
                     const jd_upload_opts *opts) {
  jd_upload_opts o = {0};
  if (opts)
    o = *opts;
  int parent = -1, send = -1, tmp = -1, rc = -1;
  int fd = open_beneath(&parent, dirfd, path, &rep->missing, rep->error, sizeof rep->error);
  if (fd < 0)
    return -1;
  if (prepare(rep, &send, &tmp, fd, parent, gzip, o.gzip_min_bytes) == 0)
    rc = put_tries(rep, send, url, &o);
  if (tmp >= 0)
    close(tmp);
  close(fd);
  close(parent);
  return rc;
}

int jd_upload_under(jd_upload_report *rep, const char *dir, const char *path, const char *url,
                    bool gzip, const jd_upload_opts *opts) {
  memset(rep, 0, sizeof *rep);
  int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dirfd < 0) {
    rep->missing = errno == ENOENT;
    return jd_fail(rep->error, sizeof rep->error, "%s: %s", dir, strerror(errno));
  }
  int rc = upload_at(rep, dirfd, path, url, gzip, opts);
  close(dirfd);
  return rc;
}

int jd_upload_file(jd_upload_report *rep, const char *path, const char *url, bool gzip,
                   const jd_upload_opts *opts) {
  memset(rep, 0, sizeof *rep);
  char dir[PATH_MAX];
  const char *slash = strrchr(path, '/');
  size_t n = slash ? (size_t)(slash - path) : 1;
  if (n >= sizeof dir)
    return jd_fail(rep->error, sizeof rep->error, "path too long");
  memcpy(dir, slash ? path : ".", n);
  dir[n] = '\0';
  if (slash && n == 0)
    strcpy(dir, "/");
  return jd_upload_under(rep, dir, slash ? slash + 1 : path, url, gzip, opts);
}
