/* Artifact upload over HTTP PUT with retries (see upload.h). */
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

#include "common/backoff.h"
#include "common/util.h"
#include "daemon/upload.h"

/* Compresses src into dst (gzip, through libarchive's raw format and gzip
 * filter). -1 with errno-like detail in err on failure. */
static int gzip_file(const char *src, const char *dst, char *err, size_t errlen) {
  int rc = -1;
  int fd = open(src, O_RDONLY | O_CLOEXEC);
  struct archive *a = NULL;
  struct archive_entry *e = NULL;
  if (fd < 0) {
    snprintf(err, errlen, "%s: %s", src, strerror(errno));
    return -1;
  }
  a = archive_write_new();
  e = archive_entry_new();
  if (!a || !e) {
    snprintf(err, errlen, "out of memory");
    goto cleanup;
  }
  /* Raw format: the gzip filter's output is the file itself, and no block
   * padding may follow the gzip trailer. */
  if (archive_write_add_filter_gzip(a) != ARCHIVE_OK || archive_write_set_format_raw(a) ||
      archive_write_set_bytes_in_last_block(a, 1) ||
      archive_write_open_filename(a, dst) != ARCHIVE_OK) {
    snprintf(err, errlen, "gzip %s: %s", dst, archive_error_string(a));
    goto cleanup;
  }
  archive_entry_set_pathname(e, "data");
  archive_entry_set_filetype(e, AE_IFREG);
  archive_entry_set_perm(e, 0644);
  if (archive_write_header(a, e) != ARCHIVE_OK) {
    snprintf(err, errlen, "gzip %s: %s", dst, archive_error_string(a));
    goto cleanup;
  }
  char buf[65536];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) {
    if (archive_write_data(a, buf, (size_t)n) != n) {
      snprintf(err, errlen, "gzip %s: %s", dst, archive_error_string(a));
      goto cleanup;
    }
  }
  if (n < 0) {
    snprintf(err, errlen, "%s: %s", src, strerror(errno));
    goto cleanup;
  }
  if (archive_write_close(a) != ARCHIVE_OK) {
    snprintf(err, errlen, "gzip %s: %s", dst, archive_error_string(a));
    goto cleanup;
  }
  rc = 0;
cleanup:
  archive_entry_free(e);
  if (a)
    archive_write_free(a);
  close(fd);
  if (rc)
    unlink(dst);
  return rc;
}

static size_t read_cb(char *buf, size_t size, size_t n, void *ud) {
  return fread(buf, size, n, (FILE *)ud);
}

static size_t discard_cb(char *buf, size_t size, size_t n, void *ud) {
  (void)buf;
  (void)ud;
  return size * n;
}

/* One PUT. Returns the HTTP status, or 0 with err set when none came. */
static long put_once(const char *path, int64_t size, const char *url, int64_t timeout_ms, char *err,
                     size_t errlen) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    snprintf(err, errlen, "%s: %s", path, strerror(errno));
    return -1;
  }
  CURL *h = curl_easy_init();
  struct curl_slist *hdr = NULL;
  long status = 0;
  if (!h) {
    snprintf(err, errlen, "out of memory");
    fclose(f);
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
  curl_easy_setopt(h, CURLOPT_READDATA, f);
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
  fclose(f);
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

int jd_upload_file(jd_upload_report *rep, const char *path, const char *url, bool gzip,
                   const jd_upload_opts *opts) {
  memset(rep, 0, sizeof *rep);
  jd_upload_opts o = {0};
  if (opts)
    o = *opts;
  int tries = o.retries > 0 ? o.retries : 5;
  int64_t timeout = o.timeout_ms > 0 ? o.timeout_ms : 300000;
  int64_t bmin = o.backoff_min_ms > 0 ? o.backoff_min_ms : 500;
  int64_t bmax = o.backoff_max_ms > 0 ? o.backoff_max_ms : 30000;
  char gz[PATH_MAX] = "";
  const char *send = path;
  int rc = -1;
  if (gzip) {
    if (snprintf(gz, sizeof gz, "%s.gz", path) >= (int)sizeof gz) {
      snprintf(rep->error, sizeof rep->error, "path too long");
      return -1;
    }
    if (gzip_file(path, gz, rep->error, sizeof rep->error))
      return -1;
    send = gz;
  }
  struct stat st;
  if (stat(send, &st) != 0 || jd_sha256_file_hex(rep->sha256, send) != 0) {
    snprintf(rep->error, sizeof rep->error, "%s: %s", send, strerror(errno));
    goto cleanup;
  }
  rep->bytes = st.st_size;
  int64_t delay = 0;
  for (int i = 0; i < tries; i++) {
    if (i > 0) {
      if (o.cancelled && o.cancelled(o.ud)) {
        snprintf(rep->error + strlen(rep->error), sizeof rep->error - strlen(rep->error),
                 " (retries stopped)");
        break;
      }
      delay = jd_backoff_next(delay, bmin, bmax);
      sleep_ms(delay);
    }
    rep->attempts++;
    rep->error[0] = '\0';
    rep->http_status = put_once(send, rep->bytes, url, timeout, rep->error, sizeof rep->error);
    if (rep->http_status >= 200 && rep->http_status <= 299) {
      rc = 0;
      break;
    }
    if (rep->http_status < 0 || !retryable(rep->http_status))
      break;
  }
cleanup:
  if (gz[0])
    unlink(gz);
  if (rep->http_status < 0)
    rep->http_status = 0;
  return rc;
}
