/* A task's links to other tasks' files (see publish.h): its {"task","file"}
 * inputs read from Redis into the host's input cache before it runs, its
 * "publish" files stored in Redis after it finished.
 *
 * The output directory holds what a program wrote (the game logic's
 * outputs): each published file is reached from it one component at a
 * time, never through a link (O_NOFOLLOW on every component), must be a
 * regular file, and is read with the byte bound, whatever its size said. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/util.h"
#include "daemon/publish.h"
#include "match/input_cache.h"
#include "queue/outputs.h"

/* ---- inputs: a task's published output into the cache ----------------------- */

/* Input i (a task's) resolved: read, checked, cached, its sha256 filled. */
static int resolve_one(jd_match_spec *spec, size_t i, jd_queue *q, const char *state_dir,
                       int64_t max_bytes, jd_fail_kind *kind, char *err, size_t errlen) {
  jd_match_input *in = &spec->inputs[i];
  jd_output o;
  bool found = false;
  if (jd_queue_get_output(&o, &found, q, in->task, in->file, (size_t)max_bytes))
    return jd_fail_as(kind, JD_FAIL_SYSTEM, err, errlen,
                      "inputs[%zu]: reading task %s's output %s: %s", i, in->task, in->file,
                      jd_queue_error(q));
  int rc = 0;
  char got[65];
  if (!found) {
    rc = jd_fail_as(kind, JD_FAIL_PROGRAM, err, errlen,
                    "inputs[%zu]: task %s has no published output %s", i, in->task, in->file);
  } else if (o.too_big) {
    rc = jd_fail_as(kind, JD_FAIL_PROGRAM, err, errlen,
                    "inputs[%zu]: task %s's output %s is %zu bytes, over this host's "
                    "publish_max_bytes (%lld)",
                    i, in->task, in->file, o.len, (long long)max_bytes);
  } else if (jd_sha256_hex(got, o.data, o.len), strcmp(got, o.sha256) || o.bytes != o.len) {
    rc = jd_fail_as(kind, JD_FAIL_PROGRAM, err, errlen,
                    "inputs[%zu]: task %s's output %s does not match its sha256 (%zu bytes, "
                    "sha256 %s)",
                    i, in->task, in->file, o.len, got);
  } else if (jd_input_put(state_dir, got, o.data, o.len, kind, err, errlen)) {
    rc = -1;
  } else {
    memcpy(in->sha256, got, sizeof in->sha256);
  }
  jd_output_clear(&o);
  /* The task's fault: the match fails with it (match_inputs.c). */
  if (rc && kind && *kind == JD_FAIL_PROGRAM && !in->unresolved)
    in->unresolved = strdup(err);
  return rc;
}

int jd_inputs_resolve(jd_match_spec *spec, jd_queue *q, const char *state_dir, int64_t max_bytes,
                      jd_fail_kind *kind, char *err, size_t errlen) {
  if (max_bytes <= 0)
    max_bytes = JD_PUBLISH_MAX_BYTES_DEFAULT;
  for (size_t i = 0; i < spec->ninputs; i++) {
    if (!spec->inputs[i].task)
      continue;
    if (!q)
      return jd_fail_as(kind, JD_FAIL_SYSTEM, err, errlen,
                        "inputs[%zu]: no Redis connection to read task %s's output", i,
                        spec->inputs[i].task);
    if (resolve_one(spec, i, q, state_dir, max_bytes, kind, err, errlen))
      return -1;
  }
  return 0;
}

/* ---- publish: a finished task's files into Redis ------------------------------ */

/* Opens path's last component under dirfd, every component O_NOFOLLOW.
 * *fd, or -1 with errno. */
static int open_under(int *fd, int dirfd, const char *path) {
  char buf[256];
  snprintf(buf, sizeof buf, "%s", path);
  int cur = dirfd;
  char *save = NULL;
  char *part = strtok_r(buf, "/", &save);
  while (part) {
    char *next = strtok_r(NULL, "/", &save);
    int flags = O_RDONLY | O_NOFOLLOW | O_CLOEXEC | (next ? O_DIRECTORY : O_NONBLOCK);
    int f = openat(cur, part, flags);
    int saved = errno;
    if (cur != dirfd)
      close(cur);
    if (f < 0) {
      errno = saved;
      return -1;
    }
    cur = f;
    part = next;
  }
  *fd = cur;
  return cur == dirfd ? -1 : 0;
}

/* The file's bytes, at most max: *data (malloc'd), *len; *too_big when it
 * holds more. -1 with errno. */
static int read_bounded(char **data, size_t *len, bool *too_big, int fd, size_t max) {
  struct stat st;
  *data = NULL;
  *len = 0;
  *too_big = false;
  if (fstat(fd, &st))
    return -1;
  if (!S_ISREG(st.st_mode)) {
    errno = EINVAL;
    return -1;
  }
  char *buf = malloc(max + 1);
  if (!buf)
    return -1;
  size_t n = 0;
  while (n <= max) {
    ssize_t r = read(fd, buf + n, max + 1 - n);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0) {
      free(buf);
      return -1;
    }
    if (r == 0)
      break;
    n += (size_t)r;
  }
  *too_big = n > max;
  *data = buf;
  *len = n > max ? max : n;
  return 0;
}

static int publish_one(jd_queue *q, const jd_task *t, int dirfd, const char *file, size_t max,
                       jd_fail_kind *kind, char *err, size_t errlen) {
  int fd = -1;
  char *data = NULL;
  size_t len = 0;
  bool too_big = false;
  if (open_under(&fd, dirfd, file) || read_bounded(&data, &len, &too_big, fd, max)) {
    int saved = errno;
    if (fd >= 0)
      close(fd);
    if (saved == ENOMEM)
      return jd_fail_as(kind, JD_FAIL_SYSTEM, err, errlen, "publish %s: out of memory", file);
    return jd_fail_as(kind, JD_FAIL_PROGRAM, err, errlen,
                      "publish: %s is not a file the task wrote (%s)", file,
                      saved == ELOOP ? "a link" : strerror(saved));
  }
  close(fd);
  int rc = 0;
  char sha[65];
  if (too_big) {
    rc = jd_fail_as(kind, JD_FAIL_PROGRAM, err, errlen,
                    "publish: %s is larger than publish_max_bytes (%zu)", file, max);
  } else {
    jd_sha256_hex(sha, data, len);
    if (jd_queue_publish_output(q, t->id, file, data, len, sha))
      rc = jd_fail_as(kind, JD_FAIL_SYSTEM, err, errlen, "publish %s: %s", file, jd_queue_error(q));
  }
  free(data);
  return rc;
}

int jd_outputs_publish(jd_queue *q, const jd_task *t, long long claim, const char *out_dir,
                       int64_t max_bytes, jd_fail_kind *kind, char *err, size_t errlen) {
  if (!t->npublish)
    return 0;
  if (!q)
    return jd_fail_as(kind, JD_FAIL_SYSTEM, err, errlen, "publish: no Redis connection");
  /* A run that lost its claim (another run took the task over) or whose
   * task has a result writes nothing: its own result will be refused too,
   * and the outputs must stay those of the stored result. */
  bool held = false;
  if (claim != JD_CLAIM_NONE && jd_queue_holds_claim(&held, q, t->id, claim))
    return jd_fail_as(kind, JD_FAIL_SYSTEM, err, errlen, "publish: %s", jd_queue_error(q));
  if (claim != JD_CLAIM_NONE && !held)
    return 0;
  size_t max = max_bytes > 0 ? (size_t)max_bytes : (size_t)JD_PUBLISH_MAX_BYTES_DEFAULT;
  int dirfd = open(out_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dirfd < 0)
    return jd_fail_as(kind, JD_FAIL_SYSTEM, err, errlen, "publish: %s: %s", out_dir,
                      strerror(errno));
  int rc = 0;
  for (size_t i = 0; !rc && i < t->npublish; i++)
    rc = publish_one(q, t, dirfd, t->publish[i], max, kind, err, errlen);
  close(dirfd);
  return rc;
}
