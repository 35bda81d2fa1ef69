/* A match input's download into the host's cache (see input_cache.h): the
 * tarball sources' rules (build/source_tar.c: the policy's schemes, public
 * addresses only unless fetch_private, checked on every address curl
 * connects to, redirects included; no proxy; an https URL never redirects
 * to http), streamed into an O_EXCL temporary and hashed as it comes, cut
 * at max_bytes while reading, renamed to its hash only when it matches. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "common/fetch_guard.h"
#include "common/netaddr.h"
#include "match/input_cache.h"
#include "match/input_cache_internal.h"

/* A download slower than this many bytes a second for LOW_SPEED_S seconds
 * is given up (a server that trickles), whatever is left of its time. */
#define LOW_SPEED_BYTES 1024L
#define LOW_SPEED_S 60L

typedef struct fetch {
  const char *url;
  jd_fetch_guard guard;
  jd_inputs_tmp tmp;
  uint64_t max;
  bool too_big, write_failed;
  int write_errno;
  char cerr[CURL_ERROR_SIZE];
} fetch;

/* Each chunk into the temporary; past max: 0, which stops curl. */
static size_t sink(char *data, size_t size, size_t n, void *ud) {
  fetch *f = ud;
  size_t len = size * n;
  if (f->tmp.bytes + len > f->max) {
    f->too_big = true;
    return 0;
  }
  if (jd_inputs_tmp_write(&f->tmp, data, len)) {
    f->write_failed = true;
    f->write_errno = errno;
    return 0;
  }
  return len;
}

static void options(CURL *h, fetch *f) {
  jd_fetch_guard_apply(h, &f->guard, f->url);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, JD_INPUTS_FETCH_MS);
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, LOW_SPEED_BYTES);
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, LOW_SPEED_S);
  /* A length announced past the cap is refused before any byte. */
  curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)f->max);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, f);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, f->cerr);
}

/* Why curl stopped, as the input's error: whose fault. */
static int fetch_fail(const fetch *f, CURLcode cc, jd_fail_kind *kind, char *err, size_t errlen) {
  if (f->guard.refused[0])
    return jd_fail_as(kind, JD_FAIL_PROGRAM, err, errlen,
                      "cannot download %s: it leads to %s, not a public address: this host "
                      "fetches only from public addresses (setting fetch_private)",
                      f->url, f->guard.refused);
  if (f->too_big || cc == CURLE_FILESIZE_EXCEEDED)
    return jd_fail_as(kind, JD_FAIL_PROGRAM, err, errlen,
                      "%s is larger than %llu bytes (max_bytes, setting input_max_bytes)", f->url,
                      (unsigned long long)f->max);
  if (f->write_failed)
    return jd_fail_as(kind, JD_FAIL_SYSTEM, err, errlen, "inputs: cannot write: %s",
                      strerror(f->write_errno));
  if (cc == CURLE_ABORTED_BY_CALLBACK)
    return jd_fail_as(kind, JD_FAIL_SYSTEM, err, errlen, "downloading %s: cancelled", f->url);
  return jd_fail_as(kind, JD_FAIL_PROGRAM, err, errlen, "cannot download %s: %s", f->url,
                    f->cerr[0] ? f->cerr : curl_easy_strerror(cc));
}

/* The download into a temporary of dirfd, checked and renamed (the hash's
 * lock held by the caller). */
static int download(fetch *f, int dirfd, const char *sha256, jd_fail_kind *kind, char *err,
                    size_t errlen) {
  if (jd_inputs_tmp_open(&f->tmp, dirfd, err, errlen))
    return jd_inputs_system(kind);
  CURL *h = curl_easy_init();
  if (!h) {
    jd_inputs_tmp_abort(&f->tmp);
    return jd_fail_as(kind, JD_FAIL_SYSTEM, err, errlen, "cannot start libcurl");
  }
  options(h, f);
  CURLcode cc = curl_easy_perform(h);
  curl_easy_cleanup(h);
  if (cc != CURLE_OK || f->too_big || f->write_failed) {
    jd_inputs_tmp_abort(&f->tmp);
    return fetch_fail(f, cc, kind, err, errlen);
  }
  return jd_inputs_tmp_commit(&f->tmp, sha256, kind, err, errlen);
}

/* What the URL and the hash must be before anything is opened. */
static int fetch_allowed(const char *url, const char *sha256, const jd_policy *policy,
                         jd_fail_kind *kind, char *err, size_t errlen) {
  char why[512];
  if (!jd_sha256_hex_ok(sha256))
    return jd_fail_as(kind, JD_FAIL_PROGRAM, err, errlen, "sha256: not 64 lower-case hex digits");
  if (!url || (strncmp(url, "http://", 7) && strncmp(url, "https://", 8)))
    return jd_fail_as(kind, JD_FAIL_PROGRAM, err, errlen, "url: must be http:// or https://");
  jd_policy none = {0};
  if (jd_policy_tar_url(policy ? policy : &none, url, why, sizeof why))
    return jd_fail_as(kind, JD_FAIL_PROGRAM, err, errlen, "url: %s", why);
  return 0;
}

int jd_input_fetch(bool *fetched, const char *state_dir, const jd_policy *policy, const char *url,
                   const char *sha256, int64_t max_bytes, const dk_cancel *cancel,
                   jd_fail_kind *kind, char *err, size_t errlen) {
  *fetched = false;
  if (fetch_allowed(url, sha256, policy, kind, err, errlen))
    return -1;
  int dirfd = -1, lockfd = -1, rc = -1;
  bool hit = false;
  if (jd_inputs_dir_open(&dirfd, state_dir) || jd_inputs_lock(&lockfd, dirfd, sha256, cancel)) {
    jd_fail_as(kind, JD_FAIL_SYSTEM, err, errlen, "%s/inputs: %s", state_dir,
               errno == ECANCELED ? "cancelled" : strerror(errno));
    goto done;
  }
  /* Under the hash's lock: a fetch of the same hash by another slot has
   * either not begun or is over (then this is a hit). */
  if (jd_inputs_check(&hit, dirfd, sha256, err, errlen)) {
    jd_inputs_system(kind);
    goto done;
  }
  rc = 0;
  if (!hit) {
    fetch f = {.url = url,
               .guard = {.public_only = !(policy && policy->fetch_private), .cancel = cancel},
               .max = max_bytes > 0 ? (uint64_t)max_bytes : (uint64_t)JD_INPUT_MAX_BYTES_DEFAULT};
    rc = download(&f, dirfd, sha256, kind, err, errlen);
    *fetched = rc == 0;
  }
done:
  if (lockfd >= 0)
    close(lockfd);
  if (dirfd >= 0)
    close(dirfd);
  return rc;
}
