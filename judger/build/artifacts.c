/* The artifacts cache: lookup, and ensure (a build into a temporary
 * entry, renamed in place when OK); the build itself is artifacts_build.c's. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "build/artifacts.h"
#include "build/build_internal.h"
#include "build/sanitise.h"
#include "common/clock.h"
#include "common/crfold.h"
#include "common/fs.h"
#include "common/tmpfile.h"
#include "common/util.h"
#include "match/hold/hold_build.h"

#define KEY_VERSION "judger-artifacts-v1"
#define TMP_PREFIX JD_ARTIFACTS_TMP_PREFIX
#define MARKER JD_ARTIFACTS_MARKER

/* The cache key of (source identity, build image id); build_image_id NULL =
 * the program has no build.Dockerfile (its artifacts are its source). */
static void artifacts_key(char out[65], const char *source_identity, const char *build_image_id) {
  char *s = NULL;
  int n = asprintf(&s, KEY_VERSION "\n%s\n%s\n", source_identity,
                   build_image_id ? build_image_id : "none");
  if (n < 0) {
    out[0] = '\0';
    return;
  }
  jd_sha256_hex(out, s, (size_t)n);
  free(s);
}

void jd_artifacts_free(jd_artifacts *a) {
  if (!a)
    return;
  free(a->key);
  free(a->dir);
  free(a->message);
  free(a->log);
  free(a);
}

/* ---- cache ------------------------------------------------------------------ */

static int write_result(const char *dir, const char *key, const char *identity,
                        const char *image_id, const char *log) {
  json_object *o = json_object_new_object();
  if (!o)
    return -1;
  char now[32];
  jd_time_rfc3339(now, jd_unix_ms());
  json_object_object_add(o, "key", json_object_new_string(key));
  json_object_object_add(o, "source_identity", json_object_new_string(identity));
  json_object_object_add(o, "build_image_id", image_id ? json_object_new_string(image_id) : NULL);
  json_object_object_add(o, "verdict", json_object_new_string(jd_verdict_name(JD_VERDICT_OK)));
  json_object_object_add(o, "created", json_object_new_string(now));
  json_object_object_add(o, "log", log ? json_object_new_string(log) : NULL);
  const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY);
  char path[PATH_MAX + 100];
  snprintf(path, sizeof path, "%s/" MARKER, dir);
  int rc = jd_write_file(path, s, strlen(s));
  json_object_put(o);
  return rc;
}

/* An entry is complete when its marker is a regular file and its app a
 * directory (neither a link). The marker is in place when the entry
 * appears (by rename) and the gc renames an entry away before removing it:
 * a half-made or half-removed entry is never a hit. */
static bool entry_complete(const char *entry) {
  int fd = open(entry, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return false;
  struct stat m, app;
  bool ok = fstatat(fd, MARKER, &m, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(m.st_mode) &&
            fstatat(fd, "app", &app, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(app.st_mode);
  /* Touching the marker keeps the entry alive for the gc. */
  if (ok)
    (void)utimensat(fd, MARKER, NULL, AT_SYMLINK_NOFOLLOW);
  close(fd);
  return ok;
}

int jd_artifacts_lookup(jd_artifacts **out, jd_ctx *ctx, const char *source_identity,
                        const char *build_image_id, char *err, size_t errlen) {
  *out = NULL;
  char key[65], path[PATH_MAX + 100];
  artifacts_key(key, source_identity, build_image_id);
  snprintf(path, sizeof path, "%s/artifacts/%s", ctx->state_dir, key);
  if (!entry_complete(path))
    return 0;
  jd_artifacts *a = calloc(1, sizeof *a);
  if (!a)
    return jd_fail(err, errlen, "%s", dk_strerror(DK_ENOMEM));
  a->cached = true;
  a->verdict = JD_VERDICT_OK;
  a->key = strdup(key);
  if (a->key && asprintf(&a->dir, "%s/app", path) < 0)
    a->dir = NULL;
  if (!a->key || !a->dir) {
    jd_artifacts_free(a);
    return jd_fail(err, errlen, "%s", dk_strerror(DK_ENOMEM));
  }
  *out = a;
  return 0;
}

/* What the build left in app, made safe (sanitise.h) before anything
 * uses it; a tree past a cap is the program's fault (CE). */
static int sanitise(jd_artifacts_outcome *o, const jd_artifacts_job *job, const char *app,
                    dk_buf *log) {
  jd_sanitise_report rep;
  if (jd_sanitise_tree(&rep, app, &job->lim, geteuid(), getegid(), log) != 0)
    return -1;
  if (rep.over[0]) {
    o->verdict = JD_VERDICT_CE;
    snprintf(o->message, sizeof o->message, "%s", rep.over);
  }
  return 0;
}

/* A source past the artifacts caps: CE naming the cap. */
static void source_over(jd_artifacts_outcome *o, const jd_fs_tally *t) {
  o->verdict = JD_VERDICT_CE;
  jd_fs_tally_message(o->message, sizeof o->message, t, "the source tree (copied into /app)");
}

/* Builds into tmp/app and fills a; an OK build gets its result.json in
 * tmp. With a build image, the source is copied to tmp/src (removed after)
 * and the artifacts come out of the container's /app; without one, the
 * artifacts are the source, copied to tmp/app and sanitised. 0, or -1
 * with the reason in the job's err. */
static int build_into(jd_artifacts *a, const jd_artifacts_job *job, const char *tmp,
                      const char *src_dir, const char *source_identity,
                      const char *build_image_id) {
  char app[PATH_MAX + 100], src[PATH_MAX + 100];
  dk_buf log = DK_BUF_INIT(job->lim.log_max);
  int64_t t0 = jd_mono_ms();
  int rc = 0;
  snprintf(app, sizeof app, "%s/app", tmp);
  snprintf(src, sizeof src, "%s/src", tmp);
  jd_artifacts_outcome o = {.verdict = JD_VERDICT_OK};
  /* The build works on a copy: the source (a git export or a user's
   * directory) stays pristine, and a failed build leaves nothing. The
   * copy belongs to the build's unprivileged user, who reads it in. */
  jd_fs_caps caps = {.bytes = job->lim.artifacts_bytes,
                     .entries = job->lim.artifacts_files,
                     .depth = job->lim.artifacts_depth};
  jd_fs_tally tally;
  if (!build_image_id) {
    if (jd_copy_tree_capped(&tally, src_dir, app, &caps) != 0)
      return jd_artifacts_job_fail(job, -1);
    if (tally.over)
      source_over(&o, &tally);
    else if (sanitise(&o, job, app, &log) != 0)
      rc = jd_artifacts_job_fail(job, -1);
  } else {
    /* The source goes into /app, sized to the artifacts caps: one past
     * them could never be built. */
    if (jd_copy_tree_capped(&tally, src_dir, src, &caps) != 0 ||
        (!tally.over && jd_chown_tree(src, JD_BUILD_UID, JD_BUILD_UID) != 0))
      return jd_artifacts_job_fail(job, -1);
    if (tally.over)
      source_over(&o, &tally);
    else
      rc = jd_artifacts_run_contained(&o, job, tmp, src, app, build_image_id, &log);
    int saved = errno;
    if (jd_rm_rf(src) != 0 && !rc)
      rc = jd_artifacts_job_fail(job, -1);
    else
      errno = saved;
  }
  if (rc)
    goto cleanup;
  a->duration_ms = jd_mono_ms() - t0;
  a->exit_code = o.exit_code;
  a->verdict = o.verdict;
  if (log.data)
    log.len = jd_crfold_inplace(log.data, log.len); /* a progress bar keeps its last state */
  if (log.truncated)
    (void)dk_buf_appendf(&log, "\n[judger: log truncated at %zu bytes]\n", job->lim.log_max);
  a->message = o.message[0] ? strdup(o.message) : NULL;
  a->log = log.data ? strdup(log.data) : NULL;
  if (o.verdict == JD_VERDICT_OK &&
      write_result(tmp, a->key, source_identity, build_image_id, a->log) != 0)
    rc = jd_artifacts_job_fail(job, -1);
cleanup:
  dk_buf_free(&log);
  return rc;
}

/* A fresh temporary entry under <state_dir>/artifacts (tmp, of tmplen
 * bytes): 0, or -1 with errno. */
static int make_tmp(char *tmp, size_t tmplen, const char *state_dir, const char *base) {
  char rnd[17];
  if (jd_mkdir_mode(state_dir, 0700) != 0 || jd_mkdir_mode(base, 0700) != 0 ||
      jd_random_hex(rnd, 8) != 0)
    return -1;
  snprintf(tmp, tmplen, "%s/" TMP_PREFIX "%s", base, rnd);
  return mkdir(tmp, 0700);
}

int jd_artifacts_ensure(jd_artifacts **out, jd_ctx *ctx, const jd_build_request *req,
                        const char *src_dir, const char *source_identity,
                        const char *build_image_id, char *err, size_t errlen) {
  *out = NULL;
  if (jd_artifacts_lookup(out, ctx, source_identity, build_image_id, err, errlen) != 0 || *out)
    return *out ? 0 : -1;
  jd_artifacts_job job = {.ctx = ctx,
                          .domain = req->ref.domain,
                          .id = req->ref.id,
                          .extra_labels = req->labels,
                          .nextra = req->nlabels,
                          .progress = req->progress,
                          .ud = req->ud,
                          .cancel = req->cancel,
                          .err = err,
                          .errlen = errlen};
  jd_build_limits_defaults(&job.lim, &req->limits);
  char key[65], base[PATH_MAX], entry[PATH_MAX + 80], tmp[PATH_MAX + 40];
  bool tmp_made = false;
  int rc = 0;
  jd_artifacts *a = calloc(1, sizeof *a);
  if (!a)
    return jd_fail(err, errlen, "%s", dk_strerror(DK_ENOMEM));
  artifacts_key(key, source_identity, build_image_id);
  snprintf(base, sizeof base, "%s/artifacts", ctx->state_dir);
  snprintf(entry, sizeof entry, "%s/%s", base, key);
  a->key = strdup(key);
  if (!a->key) {
    rc = jd_fail(err, errlen, "%s", dk_strerror(DK_ENOMEM));
    goto cleanup;
  }
  if (make_tmp(tmp, sizeof tmp, ctx->state_dir, base) != 0) {
    rc = jd_build_engine_fail(-1, err, errlen);
    goto cleanup;
  }
  tmp_made = true;
  rc = build_into(a, &job, tmp, src_dir, source_identity, build_image_id);
  if (rc || a->verdict != JD_VERDICT_OK)
    goto cleanup; /* failures are not cached: the tmp dir goes */
  if (rename(tmp, entry) == 0) {
    tmp_made = false;
  } else if (errno != EEXIST && errno != ENOTEMPTY) {
    /* another build of the same key won the race otherwise: use its entry */
    rc = jd_build_engine_fail(-1, err, errlen);
    goto cleanup;
  }
  if (asprintf(&a->dir, "%s/app", entry) < 0) {
    a->dir = NULL;
    rc = jd_fail(err, errlen, "%s", dk_strerror(DK_ENOMEM));
  }
cleanup:
  if (tmp_made)
    jd_rm_rf(tmp);
  if (rc) {
    jd_artifacts_free(a);
    return -1;
  }
  *out = a;
  return 0;
}
