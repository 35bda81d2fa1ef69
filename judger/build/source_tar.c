/* Tarball sources: an http(s) download (libcurl, capped) extracted by
 * libarchive (dk_tar_extract_opts), which refuses entries escaping the
 * directory and stops at the source's caps (bytes, entries, depth) while
 * it extracts. */
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <curl/curl.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "build/source_internal.h"
#include "common/fetch_guard.h"
#include "common/fs.h"
#include "common/netaddr.h"
#include "common/util.h"
#include "dockerapi/dockerapi.h"

static size_t curl_sink(char *data, size_t size, size_t n, void *ud) {
  dk_buf *b = ud;
  return dk_buf_append(b, data, size * n) == 0 ? size * n : 0; /* 0 aborts past the cap */
}

/* One download: the URL, the build's deadline and cancel token (call, may
 * be NULL), what it is held to, the body (capped) and curl's message. */
typedef struct download {
  const char *url;
  const dk_call *call;
  jd_fetch_guard guard;
  dk_buf body;
  char cerr[CURL_ERROR_SIZE];
} download;

/* The handle's options: the guard (common/fetch_guard.h), the deadline
 * and the sink. */
static void download_options(CURL *h, download *d, long timeout_ms) {
  jd_fetch_guard_apply(h, &d->guard, d->url);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, curl_sink);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &d->body);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, d->cerr);
}

/* A download curl ended with cc, as the source's error: whose fault. */
static int download_fail(const download *d, CURLcode cc, jd_fail_kind *kind, char *err,
                         size_t errlen) {
  const char *url = d->url;
  if (d->guard.refused[0])
    return jd_fail_as(kind, JD_FAIL_PROGRAM, err, errlen,
                      "cannot download %s: it leads to %s, not a public address: this host "
                      "fetches only from public addresses (setting fetch_private)",
                      url, d->guard.refused);
  if (cc == CURLE_ABORTED_BY_CALLBACK)
    return jd_fail_as(kind, JD_FAIL_SYSTEM, err, errlen, "downloading tarball %s: canceled", url);
  if (cc == CURLE_OPERATION_TIMEDOUT && d->call && d->call->deadline_ms &&
      dk_now_ms() >= d->call->deadline_ms)
    return jd_fail_as(kind, JD_FAIL_TIMEOUT, err, errlen,
                      "downloading tarball %s passed the build's wall time", url);
  if (d->body.truncated)
    return jd_fail_as(kind, JD_FAIL_PROGRAM, err, errlen, "tarball %s is larger than %zu bytes",
                      url, JD_TARBALL_MAX);
  return jd_fail_as(kind, JD_FAIL_PROGRAM, err, errlen, "cannot download %s: %s", url,
                    d->cerr[0] ? d->cerr : curl_easy_strerror(cc));
}

/* Extracts the downloaded tarball into dest under the source's caps, one
 * more level for the directory forges wrap their tarballs in
 * (jd_src_tar_root). On failure nothing half extracted stays behind, even
 * before the caller removes its work directory. */
static int extract(const download *d, const char *dest, jd_fail_kind *kind, char *err,
                   size_t errlen) {
  dk_tar_extract_options opts = {.max_bytes = (uint64_t)JD_SOURCE_MAX_BYTES,
                                 .max_entries = (uint64_t)JD_SOURCE_MAX_ENTRIES + 1,
                                 .max_depth = (uint64_t)JD_SOURCE_MAX_DEPTH + 1};
  int xrc = dk_tar_extract_opts(d->body.data ? d->body.data : "", d->body.len, dest, &opts);
  if (xrc == 0)
    return 0;
  const dk_error *e = dk_error_last();
  const char *why = e && e->message ? e->message : "cannot extract";
  int rc;
  if (xrc == DK_ETOOBIG)
    rc = jd_fail_as(kind, JD_FAIL_PROGRAM, err, errlen,
                    "tarball %s passes the caps on a source (%lld bytes, %lld entries, %d "
                    "directory levels; one more entry and level for a top directory): %s",
                    d->url, (long long)JD_SOURCE_MAX_BYTES, (long long)JD_SOURCE_MAX_ENTRIES,
                    JD_SOURCE_MAX_DEPTH, why);
  else
    rc = jd_fail_as(kind, JD_FAIL_PROGRAM, err, errlen, "bad tarball %s: %s", d->url, why);
  (void)jd_rm_contents(dest);
  return rc;
}

int jd_tar_fetch(const char *url, const char *dest, const dk_call *call, bool public_only,
                 jd_fail_kind *kind, char *err, size_t errlen) {
  if (!url || (strncmp(url, "http://", 7) && strncmp(url, "https://", 8)))
    return jd_fail_as(kind, JD_FAIL_USAGE, err, errlen,
                      "tarball URL must be http:// or https://: '%s'", url ? url : "");
  /* The build's wall time bounds the download (at most 300 s either way). */
  long timeout_ms = 300000;
  if (call && call->deadline_ms) {
    int64_t left = call->deadline_ms - dk_now_ms();
    if (left <= 0)
      return jd_fail_as(kind, JD_FAIL_TIMEOUT, err, errlen,
                        "downloading tarball %s: the build's wall time has passed", url);
    if (left < timeout_ms)
      timeout_ms = (long)left;
  }
  download d = {.url = url,
                .call = call,
                .guard = {.public_only = public_only, .cancel = call ? call->cancel : NULL},
                .body = DK_BUF_INIT(JD_TARBALL_MAX)};
  int rc = 0;
  CURL *h = curl_easy_init();
  if (!h) {
    rc = jd_fail_as(kind, JD_FAIL_SYSTEM, err, errlen, "cannot start libcurl");
  } else {
    download_options(h, &d, timeout_ms);
    CURLcode cc = curl_easy_perform(h);
    rc = cc != CURLE_OK ? download_fail(&d, cc, kind, err, errlen)
                        : extract(&d, dest, kind, err, errlen);
    curl_easy_cleanup(h);
  }
  dk_buf_free(&d.body);
  return rc;
}

char *jd_src_tar_root(const char *dir) {
  char p[PATH_MAX];
  snprintf(p, sizeof p, "%s/%s", dir, JD_RUN_DOCKERFILE);
  if (jd_path_exists(p))
    return strdup(dir);
  DIR *d = opendir(dir);
  char *root = NULL;
  int entries = 0;
  for (struct dirent *de = d ? readdir(d) : NULL; de; de = readdir(d)) {
    if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
      continue;
    entries++;
    if (entries == 1 && snprintf(p, sizeof p, "%s/%s", dir, de->d_name) >= (int)sizeof p)
      entries++; /* a name too long to use: not a root */
  }
  if (d)
    closedir(d);
  struct stat st;
  if (entries == 1 && lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
    root = strdup(p);
  return root ? root : strdup(dir);
}
