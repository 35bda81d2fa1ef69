/* Environment images: build when the tag is missing, gc of old ones. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "build/build_lock.h"
#include "build/build_net.h"
#include "build/image_cache.h"
#include "build/run_cgroup.h"
#include "common/clock.h"
#include "common/crfold.h"
#include "common/labels.h"
#include "common/util.h"

void jd_env_image_free(jd_env_image *img) {
  if (!img)
    return;
  free(img->tag);
  free(img->image_id);
  free(img->message);
  free(img->log);
  free(img);
}

/* What a build's stream tells the judger while it runs. */
typedef struct build_watch {
  jd_progress ps;
  int *lock;        /* the build turn (-1: none), let go once past the shared steps */
  int prefix_steps; /* instructions up to the first RUN */
  char step[256];   /* the last "Step N/M : ..." line */
  int record;       /* the step images' record (leftovers_begin), or -1 */
  bool from_step;   /* the current step is a FROM: its " ---> id" is the base */
  bool cache_hit;   /* " ---> Using cache": the next " ---> id" is not this build's */
} build_watch;

/* " ---> <12 hex digits>" alone on its line: a step's resulting image. */
static bool step_result(const char *p, size_t n) {
  static const char arrow[] = " ---> ";
  if (n != sizeof arrow - 1 + 12 || memcmp(p, arrow, sizeof arrow - 1) != 0)
    return false;
  return strspn(p + sizeof arrow - 1, "0123456789abcdef") == 12;
}

/* The classic builder sends each "Step N/M : <instruction>" as a message
 * of its own, at the start of a line, and ends each step with " ---> <id>"
 * (after " ---> Using cache" when the cache had it). The ids of the steps
 * this build made (not a FROM's base, not a cache hit) go into its record
 * (leftovers_begin). A RUN's output can print such lines too: the record
 * is only a list of candidates, checked again before anything is removed
 * (leftovers_drain). */
static void watch_steps(build_watch *w, const char *text, size_t len) {
  for (const char *p = text, *end = text + len; p < end;) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
    if (n > 5 && !memcmp(p, "Step ", 5)) {
      snprintf(w->step, sizeof w->step, "%.*s", (int)n, p);
      const char *colon = strstr(w->step, " : ");
      w->from_step = colon && !strncasecmp(colon + 3, "FROM", 4);
      w->cache_hit = false;
      if (*w->lock >= 0 && atoi(p + 5) > w->prefix_steps) {
        jd_build_lock_release(*w->lock); /* the shared steps are in the cache now */
        *w->lock = -1;
      }
    } else if (n == 17 && !memcmp(p, " ---> Using cache", 17)) {
      w->cache_hit = true;
    } else if (step_result(p, n)) {
      if (!w->from_step && !w->cache_hit && w->record >= 0) {
        char line[14];
        memcpy(line, p + 6, 12);
        line[12] = '\n';
        (void)jd_write_all(w->record, line, 13);
      }
      w->cache_hit = false;
    }
    p += n + 1;
  }
}

static int progress_text(void *ud, const char *text, size_t len) {
  build_watch *w = ud;
  watch_steps(w, text, len);
  jd_progress_feed(&w->ps, text, len);
  return 0;
}

/* First line of a message, for one-line reasons. */
static char *first_line(const char *s) {
  if (!s)
    return NULL;
  size_t n = strcspn(s, "\n");
  return strndup(s, n);
}

/* A build's end as a verdict: the Dockerfile's fault (CE), its wall time
 * (TLE) or a cancel (UE); 0 with img filled, or rc itself when the engine
 * or the judger failed. */
static int judge_build(jd_env_image *img, int rc, const char *repo, int64_t wall_ms) {
  const dk_error *e = dk_error_last();
  char msg[1024];
  switch (rc) {
  case 0:
    img->verdict = JD_VERDICT_OK;
    return 0;
  case DK_EBUILD:
    img->verdict = JD_VERDICT_CE;
    snprintf(msg, sizeof msg, "%s failed to build: %s", repo,
             e && e->message ? e->message : "build failed");
    img->message = first_line(msg);
    return 0;
  case DK_ETIMEDOUT:
    img->verdict = JD_VERDICT_TLE;
    snprintf(msg, sizeof msg, "%s: image build exceeded its wall time of %lld ms (canceled)", repo,
             (long long)wall_ms);
    img->message = strdup(msg);
    return 0;
  case DK_ECANCELED:
    img->verdict = JD_VERDICT_UE;
    snprintf(msg, sizeof msg, "%s: image build canceled", repo);
    img->message = strdup(msg);
    return 0;
  default:
    return rc; /* the engine or the judger failed */
  }
}

/* The labels of an environment image: what `judger gc` selects on, then
 * the caller's. The caller frees the array (not the strings). */
static dk_kv *image_labels(jd_domain domain, const char *id, jd_op op, const char *sha,
                           const dk_kv *extra, size_t nextra) {
  dk_kv *labels = calloc(4 + nextra, sizeof *labels);
  if (!labels)
    return NULL;
  labels[0] = (dk_kv){JD_LABEL_DOMAIN, jd_domain_name(domain)};
  labels[1] = (dk_kv){JD_LABEL_ID, id};
  labels[2] = (dk_kv){JD_LABEL_OP, jd_op_name(op)};
  labels[3] = (dk_kv){JD_LABEL_DOCKERFILE, sha};
  for (size_t i = 0; i < nextra; i++)
    labels[4 + i] = extra[i];
  return labels;
}

/* What an image build needs besides the Dockerfile. */
typedef struct image_job {
  jd_domain domain;
  const char *id;
  jd_op op;
  const jd_build_limits *limits; /* may be NULL */
  const dk_kv *extra_labels;
  size_t nextra;
  void (*progress)(void *ud, const char *line);
  void *ud;
  dk_cancel *cancel;
  int *lock;        /* the build turn held, or -1 */
  int prefix_steps; /* the steps it covers */
} image_job;

/* The RUN steps' network: a network and a proxy of this build's own
 * (build_net.h; jd_build_net_free() removes them) unless the limits name
 * another ("none", "bridge", a network). *net is NULL then. A Dockerfile
 * without RUN gets no network at all: nothing of it runs (the engine
 * applies ENV, COPY, LABEL... itself), and a network with its proxy costs
 * about a second (docs/build.md). A RUN the key's reader misses (an escape
 * directive) only ever loses the network, never gains one. */
static int run_network(jd_build_net **net, const char **mode, jd_ctx *ctx, const image_job *job,
                       const jd_build_limits *lim, const char *dockerfile, size_t len) {
  *net = NULL;
  *mode = lim->image_network;
  if (*mode && strcmp(*mode, "proxy") != 0)
    return 0;
  char err[512], key[65];
  int steps = 0;
  if (!jd_build_prefix_key(key, &steps, dockerfile, len)) {
    *mode = "none";
    return 0;
  }
  jd_build_net_opts no = {.labels = job->extra_labels,
                          .nlabels = job->nextra,
                          .cancel = job->cancel,
                          .progress = job->progress,
                          .ud = job->ud};
  if (jd_build_net_open(net, ctx, &no, err, sizeof err) != 0) {
    if (job->cancel && dk_cancel_fired(job->cancel))
      return DK_ECANCELED;
    if (job->progress)
      job->progress(job->ud, err);
    return DK_EINTERNAL; /* the build network is ours: a system fault */
  }
  *mode = (*net)->network;
  return 0;
}

/* The RUN steps' process limit (run_cgroup.h): a parent cgroup with
 * pids.max. Where the engine's cgroups are not the judger's to make, the
 * build goes on without one and its progress says why. */
static jd_run_cgroup *run_pids_limit(jd_ctx *ctx, const image_job *job, int64_t pids) {
  char err[512], line[600];
  jd_run_cgroup *cg = NULL;
  if (jd_run_cgroup_create(&cg, ctx->dk, pids, err, sizeof err) == 0)
    return cg;
  snprintf(line, sizeof line, "[judger] RUN steps have no process limit on this engine: %s", err);
  if (job->progress)
    job->progress(job->ud, line);
  return NULL;
}

/* How long the parent cgroup waits for the engine to remove the step
 * containers' cgroups under it. */
#define RUN_CGROUP_WAIT_MS 5000

/* An image over the size cap: CE, with the size and the cap. */
static void too_big(jd_env_image *img, const char *repo, int64_t size, int64_t cap,
                    const char *what) {
  char msg[512];
  snprintf(msg, sizeof msg, "%s: the image is %lld bytes, more than the cap of %lld bytes%s", repo,
           (long long)size, (long long)cap, what);
  free(img->message);
  img->message = strdup(msg);
  img->verdict = JD_VERDICT_CE;
}

/* The size of the image tag names (its id is id) on the engine's disk,
 * base layers included: the larger of inspect's Size and the image list's.
 * They are the same on a graph-driver store; on the containerd image store
 * inspect's is the compressed content (1.3 MB for 300 MB of zeros) and the
 * list's counts the unpacked snapshots (326 MB). */
static int image_size(int64_t *out, jd_ctx *ctx, const char *tag, const char *id,
                      int64_t inspected) {
  dk_image_list *l = NULL;
  int rc = dk_image_list_filtered(&l, ctx->dk, NULL, tag);
  if (rc)
    return rc;
  *out = inspected;
  for (size_t i = 0; i < l->count; i++)
    if (!strcmp(l->items[i].id, id) && l->items[i].size > *out)
      *out = l->items[i].size;
  dk_image_list_free(l);
  return 0;
}

/* A fresh image (built with its sha tag only): within the size cap it
 * becomes <repo>:latest; past it its tag is removed (the image with it,
 * unless another program's identical build shares it) and the build is
 * CE. :latest is moved only here, so an oversized build never loses the
 * previous good one. 0 with the verdict in img, or an engine error. */
static int keep_or_drop(jd_env_image *img, jd_ctx *ctx, const char *repo, const char *image_id,
                        int64_t cap) {
  dk_image_info *info = NULL;
  int rc = dk_image_inspect(&info, ctx->dk, image_id);
  if (rc)
    return rc;
  int64_t size = 0;
  rc = image_size(&size, ctx, img->tag, info->id, info->size);
  dk_image_info_free(info);
  if (rc)
    return rc;
  if (size <= cap)
    return dk_image_tag(ctx->dk, image_id, repo, "latest");
  /* force: untagged even if a container was made from it meanwhile; its
   * parents are not pruned (another build may be using one: the
   * leftovers drain removes them once no build runs) */
  rc = dk_image_remove(ctx->dk, img->tag, true, true);
  if (rc && rc != DK_ENOTFOUND)
    return rc; /* the tag stays: the cache hit refuses it too (found_cached) */
  too_big(img, repo, size, cap, " (removed)");
  return 0;
}

/* How many times a build the engine broke is built again. */
#define LOST_IMAGE_RETRIES 2

bool jd_build_lost_own_image(const char *message, const char *step, const char *dockerfile,
                             size_t len) {
  /* The engine's whole message, not a part: a failing RUN quotes its own
   * command in its message, and a contestant could write that text there. */
  static const char head[] = "unable to find image \"sha256:";
  if (!message || strncmp(message, head, sizeof head - 1) != 0)
    return false;
  const char *p = message + sizeof head - 1;
  size_t n = strspn(p, "0123456789abcdef");
  if (n != 64 || strcmp(p + n, "\"") != 0)
    return false;
  /* Only a step that names no image: FROM and COPY --from look one up by
   * the name the Dockerfile gives (which ARGs can assemble), so a missing
   * one there is the Dockerfile's. No step seen: nothing to go on. */
  const char *colon = step ? strstr(step, " : ") : NULL;
  if (!colon)
    return false;
  const char *ins = colon + 3;
  if (!strncasecmp(ins, "FROM", 4) || strstr(ins, "--from") || strstr(ins, "--FROM") ||
      !strncasecmp(ins, "ONBUILD", 7))
    return false;
  /* A Dockerfile that names the id asked for it: any 12 leading digits
   * name an image. */
  return !memmem(dockerfile, len, p, 12);
}

/* ---- a failed build's step images ----------------------------------------- */

/* The classic builder keeps every step it finished as an untagged image
 * without the build's labels, also when a later step fails: a RUN that
 * writes 4 GB followed by `RUN false`, changed each time to miss the cache,
 * would leave 4 GB on the engine's disk per build, for good. Each build
 * writes the ids of the step images it makes (watch_steps) into a record
 * of its own, <state_dir>/build-leftovers/<random>.ids (its first line:
 * "start <unix seconds>"); a build that ends with its image kept removes
 * its record, any other (failed, timed out, canceled, over the size cap,
 * a system fault, a judger killed mid-build) leaves it.
 *
 * A step image is shared only through the cache: another build whose
 * steps are the same up to there uses it as its parent, and between its
 * "Using cache" and its next step's container or image nothing protects
 * it (no child, no container, no tag: moby#29011); a removal then makes
 * that build fail with `unable to find image`. So records are drained
 * only while no build of this state dir runs: each build holds
 * <state_dir>/locks/builds shared while the engine builds, and the drain
 * takes it exclusive without waiting (after every build, and `judger
 * gc`). A build that finds the drain running waits for it (a few
 * removals). Each image is removed by its full id, newest first, without
 * force and without pruning its parents; one with a tag, a child or a
 * container (409) stays (another build's image holds it: the engine
 * prunes it with that image), as does one created before its build
 * started (a RUN printed someone else's id). */
#define LEFTOVERS_DIR "build-leftovers"
#define LEFTOVERS_RECORD_MAX ((size_t)1024 * 1024)
#define BUILDS_LOCK "builds"
/* How long a build waits for a drain to finish before building anyway
 * (a removal racing it then at worst costs a retry: jd_build_lost_own_image). */
#define BUILDS_LOCK_WAIT_MS 60000
/* How long a record whose image a container holds is tried again (a
 * canceled build's step container, which the engine removes after the
 * build's end; a container someone made from a step image). */
#define LEFTOVERS_HELD_S (24 * 3600)
/* How long a build that failed waits for its own step container to go
 * before it leaves its record to the next drain. */
#define LEFTOVERS_OWN_WAIT_MS 10000
/* Clock slack between the judger and the engine when an image's creation
 * time is compared with its build's start. */
#define LEFTOVERS_CLOCK_SLACK_S 5

/* Opens <state_dir>/<sub> (made 0700 when missing), no link followed: a
 * directory fd, or -1 with errno. */
static int state_subdir(const char *state_dir, const char *sub) {
  char dir[PATH_MAX];
  if (snprintf(dir, sizeof dir, "%s/%s", state_dir, sub) >= (int)sizeof dir) {
    errno = ENAMETOOLONG;
    return -1;
  }
  if (jd_mkdir_p(dir, 0700) != 0)
    return -1;
  return open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

/* The builds lock, taken how (LOCK_SH or LOCK_EX), polled for at most
 * wait_ms or until cancel fires: the fd, or -1 (busy, or no state dir). */
static int builds_lock(const char *state_dir, int how, int64_t wait_ms, const dk_cancel *cancel) {
  if (!state_dir)
    return -1;
  int d = state_subdir(state_dir, "locks");
  int f = d < 0 ? -1 : openat(d, BUILDS_LOCK, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (d >= 0)
    close(d);
  if (f < 0)
    return -1;
  int64_t until = jd_mono_ms() + wait_ms;
  while (flock(f, how | LOCK_NB) != 0) {
    if ((errno != EWOULDBLOCK && errno != EINTR) || jd_mono_ms() >= until ||
        (cancel && dk_cancel_fired(cancel))) {
      close(f);
      return -1;
    }
    usleep(20 * 1000);
  }
  return f;
}

static void builds_unlock(int fd) {
  if (fd >= 0) {
    (void)flock(fd, LOCK_UN);
    close(fd);
  }
}

/* A build's record and its hold on the builds lock. */
typedef struct leftovers {
  int dirfd, fd, lock;
  char name[64];
} leftovers;

/* Before a build: the builds lock shared, a fresh record. Without a state
 * dir nothing is recorded (nothing could drain it safely). */
static void leftovers_begin(leftovers *lo, jd_ctx *ctx, const image_job *job) {
  char rnd[17], head[64];
  *lo = (leftovers){.dirfd = -1, .fd = -1, .lock = -1};
  if (!ctx->state_dir)
    return;
  lo->lock = builds_lock(ctx->state_dir, LOCK_SH, BUILDS_LOCK_WAIT_MS, job->cancel);
  if (lo->lock < 0 && job->progress)
    job->progress(job->ud, "[judger] building while failed builds' images are being removed "
                           "(the builds lock could not be had)");
  lo->dirfd = state_subdir(ctx->state_dir, LEFTOVERS_DIR);
  if (lo->dirfd < 0 || jd_random_hex(rnd, 8) != 0)
    return;
  snprintf(lo->name, sizeof lo->name, "%s.ids", rnd);
  lo->fd = openat(lo->dirfd, lo->name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  int n = snprintf(head, sizeof head, "start %lld\n", (long long)time(NULL));
  if (lo->fd >= 0 && jd_write_all(lo->fd, head, (size_t)n) != 0) {
    close(lo->fd);
    lo->fd = -1;
  }
}

/* After a build: its record dropped when the image was kept, the builds
 * lock let go, then whatever records are waiting drained if no build
 * runs. */
static void leftovers_end(leftovers *lo, jd_ctx *ctx, bool kept) {
  if (lo->fd >= 0) {
    close(lo->fd);
    if (kept)
      (void)unlinkat(lo->dirfd, lo->name, 0);
  }
  builds_unlock(lo->lock);
  /* A build past its wall time or canceled ends before the engine has
   * removed its step container, which holds its last step image: its own
   * record is tried again for a while. */
  int64_t until = jd_mono_ms() + LEFTOVERS_OWN_WAIT_MS;
  bool busy = false;
  struct stat st;
  while (ctx->state_dir && jd_build_leftovers_drain(NULL, &busy, ctx, 0) == DK_ECONFLICT && !busy &&
         !kept && lo->fd >= 0 && fstatat(lo->dirfd, lo->name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
         jd_mono_ms() < until)
    usleep(100 * 1000);
  if (lo->dirfd >= 0)
    close(lo->dirfd);
}

/* An RFC 3339 time as unix seconds; -1 when it is not one. */
static int64_t rfc3339_s(const char *s) {
  struct tm tm = {0};
  const char *end = s ? strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
  return end ? (int64_t)timegm(&tm) : -1;
}

/* Removes one recorded image unless a tag, a child or a container holds
 * it or it is older than its build: 1 removed, 0 left, or an engine
 * error. */
static int drain_image(jd_ctx *ctx, const char *id, int64_t start) {
  dk_image_info *info = NULL;
  int rc = dk_image_inspect(&info, ctx->dk, id);
  if (rc)
    return rc == DK_ENOTFOUND ? 0 : rc;
  bool tagged = false;
  for (char **t = info->repo_tags; t && *t; t++)
    tagged |= strcmp(*t, "<none>:<none>") != 0;
  int64_t created = info->created ? rfc3339_s(info->created) : -1;
  bool older = created >= 0 && created + LEFTOVERS_CLOCK_SLACK_S < start;
  if (!tagged && !older && info->id) {
    rc = dk_image_remove(ctx->dk, info->id, false, true); /* by full id, no force, noprune */
    const dk_error *e = rc == DK_ECONFLICT ? dk_error_last() : NULL;
    if (e && e->message && strstr(e->message, "container"))
      rc = DK_ECONFLICT; /* a container holds it: maybe the build's own, going */
    else
      rc = rc == 0 ? 1 : rc == DK_ECONFLICT || rc == DK_ENOTFOUND ? 0 : rc;
  }
  dk_image_info_free(info);
  return rc;
}

/* One record: its images newest first. 0 when it is done with (the
 * record can go), or an engine error (it stays for the next drain). */
static int drain_record(size_t *removed, jd_ctx *ctx, int dirfd, const char *name) {
  int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return 0;
  char *data = malloc(LEFTOVERS_RECORD_MAX + 1);
  ssize_t n = data ? read(fd, data, LEFTOVERS_RECORD_MAX) : -1;
  close(fd);
  if (n < 0) {
    free(data);
    return DK_ENOMEM;
  }
  data[n] = '\0';
  long long start = 0;
  if (sscanf(data, "start %lld", &start) != 1)
    start = 0;
  int rc = 0;
  /* Lines from the end: newest first, children before their parents. */
  for (char *end = data + n; !rc && end > data;) {
    char *line = end - 1;
    while (line > data && line[-1] != '\n')
      line--;
    size_t len = (size_t)(end - line);
    if (len == 13 && line[12] == '\n' && strspn(line, "0123456789abcdef") == 12) {
      line[12] = '\0';
      int r = drain_image(ctx, line, (int64_t)start);
      if (r > 0 && removed)
        (*removed)++;
      if (r == DK_ECONFLICT) /* its parents wait with it; a day at most */
        return (int64_t)time(NULL) - start < LEFTOVERS_HELD_S ? DK_ECONFLICT : 0;
      rc = r < 0 ? r : 0;
    }
    end = line;
  }
  free(data);
  return rc;
}

int jd_build_leftovers_drain(size_t *removed, bool *busy, jd_ctx *ctx, int64_t wait_ms) {
  if (removed)
    *removed = 0;
  if (busy)
    *busy = false;
  if (!ctx->state_dir)
    return 0;
  int lock = builds_lock(ctx->state_dir, LOCK_EX, wait_ms, NULL);
  if (lock < 0) {
    if (busy)
      *busy = true;
    return 0;
  }
  int dirfd = state_subdir(ctx->state_dir, LEFTOVERS_DIR);
  DIR *d = dirfd >= 0 ? fdopendir(dirfd) : NULL;
  int rc = 0;
  if (!d) {
    if (dirfd >= 0)
      close(dirfd);
    builds_unlock(lock);
    return DK_EINTERNAL;
  }
  for (struct dirent *de; (de = readdir(d)) != NULL;) {
    size_t len = strlen(de->d_name);
    if (len < 5 || strcmp(de->d_name + len - 4, ".ids") != 0)
      continue;
    int r = drain_record(removed, ctx, dirfd, de->d_name);
    if (r == 0)
      (void)unlinkat(dirfd, de->d_name, 0);
    else if (!rc || rc == DK_ECONFLICT)
      rc = r;
  }
  closedir(d);
  builds_unlock(lock);
  return rc;
}

/* Builds img->tag from the Dockerfile alone (no user code in the image),
 * then tags it <repo>:latest when it is within the size cap. 0 with the
 * verdict in img, or a dk_error_code. */
static int build_image(jd_env_image *img, jd_ctx *ctx, const image_job *job, const char *repo,
                       const char *dockerfile, size_t len) {
  jd_build_limits lim;
  jd_build_limits_defaults(&lim, job->limits);
  char sha[65];
  jd_sha256_hex(sha, dockerfile, len);
  dk_tar *ctxtar = NULL;
  dk_buf log = DK_BUF_INIT(lim.log_max);
  char *image_id = NULL;
  const void *tar = NULL;
  size_t tarlen = 0;
  dk_kv *labels = image_labels(job->domain, job->id, job->op, sha, job->extra_labels, job->nextra);
  jd_build_net *net = NULL;
  const char *network = NULL;
  jd_run_cgroup *cg = NULL;
  int rc = labels ? run_network(&net, &network, ctx, job, &lim, dockerfile, len) : DK_ENOMEM;
  if (!rc)
    cg = run_pids_limit(ctx, job, lim.pids);
  if (!rc)
    rc = dk_tar_new(&ctxtar, 0);
  if (!rc)
    rc = dk_tar_add_file(ctxtar, "Dockerfile", dockerfile, len, 0644);
  if (!rc)
    rc = dk_tar_finish(ctxtar, &tar, &tarlen);
  if (rc)
    goto cleanup;
  const char *tags[] = {img->tag, NULL}; /* :latest once the size is known (keep_or_drop) */
  dk_build_opts bo = {.tags = tags,
                      .labels = labels,
                      .nlabels = 4 + job->nextra,
                      .memory = lim.memory,
                      .memswap = lim.memory, /* swap equal to memory: no swap */
                      .cpu_period = 100000,
                      .cpu_quota = (int64_t)(lim.cpus * 100000),
                      .pull = false,
                      .network_mode = network,
                      .buildargs = net ? net->args : NULL,
                      .nbuildargs = net ? 4 : 0,
                      .log_max = lim.log_max,
                      .cgroup_parent = cg ? cg->parent : NULL};
  leftovers lo;
  leftovers_begin(&lo, ctx, job);
  build_watch w = {.lock = job->lock, .prefix_steps = job->prefix_steps, .record = lo.fd};
  jd_progress_init(&w.ps, job->progress, job->ud);
  for (int attempt = 0;; attempt++) {
    /* Each attempt has the whole wall time: a retry is the engine's doing. */
    dk_call call = {.deadline_ms = jd_mono_ms() + lim.wall_ms, .cancel = job->cancel};
    w.step[0] = '\0';
    rc = dk_image_build(&image_id, ctx->dk, tar, tarlen, &bo, progress_text, &w, &log, &call);
    const dk_error *e = rc == DK_EBUILD ? dk_error_last() : NULL;
    if (!e || !jd_build_lost_own_image(e->message, w.step, dockerfile, len))
      break;
    if (attempt == LOST_IMAGE_RETRIES) {
      rc = DK_ESERVER; /* a system fault: the task is retried, never CE */
      break;
    }
    static const char again[] = "\n[judger] the engine lost an image of this build while "
                                "another was removed; building again\n";
    jd_progress_feed(&w.ps, again, sizeof again - 1);
    free(image_id);
    image_id = NULL;
    log.len = 0; /* the log is the last attempt's */
    log.truncated = false;
  }
  jd_progress_finish(&w.ps);
  if (cg && job->progress) {
    char line[160];
    snprintf(line, sizeof line, "[judger] RUN steps: at most %lld processes at once (limit %lld)",
             (long long)jd_run_cgroup_peak(cg), (long long)lim.pids);
    job->progress(job->ud, line);
  }
  rc = judge_build(img, rc, repo, lim.wall_ms);
  if (!rc && img->verdict == JD_VERDICT_OK)
    rc = keep_or_drop(img, ctx, repo, image_id, lim.image_bytes);
  /* failed, timed out, canceled, over the cap or a fault: its step images go */
  leftovers_end(&lo, ctx, !rc && img->verdict == JD_VERDICT_OK);
  if (rc)
    goto cleanup;
  if (img->verdict == JD_VERDICT_OK) {
    img->image_id = image_id;
    image_id = NULL;
  }
  if (log.data)
    log.len = jd_crfold_inplace(log.data, log.len); /* a progress bar keeps its last state */
  img->log = log.data ? dk_buf_detach(&log, NULL) : NULL;
cleanup:
  jd_run_cgroup_free(cg, RUN_CGROUP_WAIT_MS);
  free(image_id);
  free(labels);
  jd_build_net_free(net);
  dk_tar_free(ctxtar);
  dk_buf_free(&log);
  return rc;
}

/* 0 with img filled when tag exists, DK_ENOTFOUND, or another error. An
 * image past the size cap (left by an older judger, or a larger cap) is
 * CE, and left where it is: a match may be using it. */
static int found_cached(jd_env_image *img, jd_ctx *ctx, const char *tag,
                        const jd_build_limits *limits) {
  dk_image_info *info = NULL;
  int rc = dk_image_inspect(&info, ctx->dk, tag);
  if (rc)
    return rc;
  jd_build_limits lim;
  jd_build_limits_defaults(&lim, limits);
  int64_t size = 0;
  rc = image_size(&size, ctx, tag, info->id, info->size);
  if (rc) {
    dk_image_info_free(info);
    return rc;
  }
  img->cached = true;
  img->verdict = JD_VERDICT_OK;
  if (size > lim.image_bytes) {
    char repo[200];
    snprintf(repo, sizeof repo, "%.*s", (int)strcspn(tag, ":"), tag);
    too_big(img, repo, size, lim.image_bytes, "");
  } else {
    img->image_id = info->id;
    info->id = NULL;
  }
  dk_image_info_free(info);
  return 0;
}

/* Waits for a build with the same first steps (build_lock.h): DK_ENOTFOUND
 * to build (*lock held, or -1 when it could not be had: the lock is an
 * optimisation), 0 when the build waited for made this very image,
 * DK_ECANCELED, or an engine error. */
static int take_turn(int *lock, jd_env_image *img, jd_ctx *ctx, const jd_build_limits *limits,
                     const char *key, void (*progress)(void *ud, const char *line), void *ud,
                     dk_cancel *cancel) {
  jd_build_limits lim;
  jd_build_limits_defaults(&lim, limits);
  bool waited = false;
  int64_t t0 = jd_mono_ms();
  char line[200];
  if (jd_build_lock_take(lock, &waited, ctx->state_dir, key, lim.wall_ms, cancel) != 0) {
    if (errno == ECANCELED)
      return DK_ECANCELED;
    snprintf(line, sizeof line,
             "[judger] building without waiting for builds with the same first "
             "steps: %s",
             strerror(errno));
    if (progress)
      progress(ud, line);
    return DK_ENOTFOUND;
  }
  if (!waited)
    return DK_ENOTFOUND;
  snprintf(line, sizeof line,
           "[judger] waited %lld ms for a build with the same first steps (its cache)",
           (long long)(jd_mono_ms() - t0));
  if (progress)
    progress(ud, line);
  return found_cached(img, ctx, img->tag, limits); /* the build waited for may have made it */
}

int jd_env_image_ensure(jd_env_image **out, jd_ctx *ctx, jd_domain domain, const char *id, jd_op op,
                        const char *dockerfile, size_t len, const jd_build_limits *limits,
                        const dk_kv *extra_labels, size_t nextra,
                        void (*progress)(void *ud, const char *line), void *ud, dk_cancel *cancel) {
  *out = NULL;
  char repo[160], tag[256];
  if (jd_image_repo(repo, sizeof repo, domain, id, op) != 0 ||
      jd_image_tag_for(tag, sizeof tag, domain, id, op, dockerfile, len) != 0)
    return DK_EINVAL;
  jd_env_image *img = calloc(1, sizeof *img);
  if (img)
    img->tag = strdup(tag);
  if (!img || !img->tag) {
    free(img);
    return DK_ENOMEM;
  }
  /* The cache hit path: one inspect. */
  int rc = found_cached(img, ctx, tag, limits);
  int lock = -1, steps = 0;
  char key[65];
  if (rc == DK_ENOTFOUND && ctx->state_dir && jd_build_prefix_key(key, &steps, dockerfile, len))
    rc = take_turn(&lock, img, ctx, limits, key, progress, ud, cancel);
  if (rc == DK_ENOTFOUND) {
    image_job job = {domain,   id, op,     limits, extra_labels, nextra,
                     progress, ud, cancel, &lock,  steps};
    rc = build_image(img, ctx, &job, repo, dockerfile, len);
  }
  jd_build_lock_release(lock);
  if (rc == DK_ECANCELED) {
    /* canceled while waiting for the lock: as a canceled build */
    rc = judge_build(img, rc, repo, 0);
  }
  if (rc) {
    jd_env_image_free(img);
    return rc;
  }
  *out = img;
  return 0;
}

/* ---- gc ------------------------------------------------------------------- */

void jd_image_gc_result_free(jd_image_gc_result *r) {
  if (!r)
    return;
  dk_strv_free(r->removed);
  dk_strv_free(r->in_use);
  free(r);
}

/* Lists the environment images, of one program when id is set, of one
 * domain when domain is set. */
static int list_env_images(dk_image_list **out, jd_ctx *ctx, const char *domain, const char *id) {
  char fdom[64], fid[96];
  const char *filters[4];
  size_t nf = 0;
  filters[nf++] = JD_LABEL_OP; /* every environment image has it */
  if (domain) {
    snprintf(fdom, sizeof fdom, JD_LABEL_DOMAIN "=%s", domain);
    filters[nf++] = fdom;
  }
  if (id) {
    snprintf(fid, sizeof fid, JD_LABEL_ID "=%s", id);
    filters[nf++] = fid;
  }
  filters[nf] = NULL;
  return dk_image_list_filtered(out, ctx->dk, filters, NULL);
}

typedef struct tag_ref {
  char *repo; /* "<domain>-<id>-<op>" */
  const char *tag;
  const dk_image_summary *img;
} tag_ref;

static int strv_push(char ***v, size_t *n, const char *s) {
  char **nv = realloc(*v, (*n + 2) * sizeof **v);
  if (!nv)
    return DK_ENOMEM;
  *v = nv;
  if (!(nv[*n] = strdup(s)))
    return DK_ENOMEM;
  nv[++*n] = NULL;
  return 0;
}

static int by_repo_then_newest(const void *a, const void *b) {
  const tag_ref *x = a, *y = b;
  int c = strcmp(x->repo, y->repo);
  if (c)
    return c;
  if (x->img->created != y->img->created)
    return x->img->created > y->img->created ? -1 : 1;
  return strcmp(x->tag, y->tag);
}

static bool has_suffix(const char *s, const char *suf) {
  size_t n = strlen(s), m = strlen(suf);
  return n >= m && !strcmp(s + n - m, suf);
}

static void tag_refs_free(tag_ref *refs, size_t n) {
  for (size_t i = 0; i < n; i++)
    free(refs[i].repo);
  free(refs);
}

/* One entry per tag, grouped by repository and newest first: one image may
 * carry tags of several repositories, and a repository's ":latest" marks
 * its current. */
static int tag_refs(tag_ref **out, size_t *n, const dk_image_list *list) {
  size_t cap = 0;
  *n = 0;
  for (size_t i = 0; i < list->count; i++)
    for (char **t = list->items[i].repo_tags; t && *t; t++)
      cap++;
  tag_ref *refs = calloc(cap + 1, sizeof *refs);
  if (!refs)
    return DK_ENOMEM;
  for (size_t i = 0; i < list->count; i++) {
    for (char **t = list->items[i].repo_tags; t && *t; t++) {
      const char *colon = strrchr(*t, ':');
      if (!colon || !strcmp(*t, "<none>:<none>"))
        continue;
      refs[*n] = (tag_ref){strndup(*t, (size_t)(colon - *t)), *t, &list->items[i]};
      if (!refs[*n].repo) {
        tag_refs_free(refs, *n);
        return DK_ENOMEM;
      }
      ++*n;
    }
  }
  qsort(refs, *n, sizeof *refs, by_repo_then_newest);
  *out = refs;
  return 0;
}

typedef struct gc_state {
  jd_ctx *ctx;
  const jd_image_gc_opts *opts;
  jd_image_gc_result *r;
  size_t nremoved, ninuse;
} gc_state;

/* Removes (or, in a dry run, lists) one old tag. Never forced: the engine
 * refuses (409) to delete an image a container still uses, which is
 * exactly the rule. */
static int remove_old(gc_state *g, const char *tag) {
  if (g->opts->dry_run)
    return strv_push(&g->r->removed, &g->nremoved, tag);
  int rr = dk_image_remove(g->ctx->dk, tag, false, false);
  if (rr == 0)
    return strv_push(&g->r->removed, &g->nremoved, tag);
  if (rr == DK_ECONFLICT)
    return strv_push(&g->r->in_use, &g->ninuse, tag);
  return rr == DK_ENOTFOUND ? 0 : rr;
}

/* One repository's tags (newest first): keeps the current image and the
 * `keep` most recent others, removes the rest. */
static int gc_repo(gc_state *g, const tag_ref *refs, size_t n) {
  const char *current_id = NULL;
  for (size_t k = 0; k < n && !current_id; k++)
    if (has_suffix(refs[k].tag, ":latest"))
      current_id = refs[k].img->id;
  if (!current_id && n) /* no ":latest": the newest is the current one */
    current_id = refs[0].img->id;
  int recent = 0;
  for (size_t k = 0; k < n; k++) {
    const tag_ref *tr = &refs[k];
    bool current =
        has_suffix(tr->tag, ":latest") || (current_id && !strcmp(tr->img->id, current_id));
    if (current || recent < g->opts->keep) {
      recent += !current;
      g->r->kept++;
      continue;
    }
    int rc = remove_old(g, tr->tag);
    if (rc)
      return rc;
  }
  return 0;
}

int jd_image_gc(jd_image_gc_result **out, jd_ctx *ctx, const jd_image_gc_opts *opts) {
  *out = NULL;
  dk_image_list *list = NULL;
  tag_ref *refs = NULL;
  size_t nrefs = 0;
  gc_state g = {.ctx = ctx, .opts = opts, .r = calloc(1, sizeof *g.r)};
  int rc = g.r ? list_env_images(&list, ctx, opts->domain, opts->id) : DK_ENOMEM;
  if (!rc)
    rc = tag_refs(&refs, &nrefs, list);
  size_t i = 0;
  while (!rc && i < nrefs) {
    size_t j = i + 1;
    while (j < nrefs && !strcmp(refs[j].repo, refs[i].repo))
      j++;
    rc = gc_repo(&g, refs + i, j - i);
    i = j;
  }
  tag_refs_free(refs, nrefs);
  dk_image_list_free(list);
  if (rc) {
    jd_image_gc_result_free(g.r);
    return rc;
  }
  *out = g.r;
  return 0;
}

/* ---- purge ------------------------------------------------------------------- */

/* Every image of a program (its label, whatever its tags). */
static int list_program_images(dk_image_list **out, jd_ctx *ctx, const char *domain,
                               const char *id) {
  char fid[96], fdom[64];
  const char *filters[3] = {fid, NULL, NULL};
  snprintf(fid, sizeof fid, JD_LABEL_ID "=%s", id);
  if (domain) {
    snprintf(fdom, sizeof fdom, JD_LABEL_DOMAIN "=%s", domain);
    filters[1] = fdom;
  }
  return dk_image_list_filtered(out, ctx->dk, filters, NULL);
}

/* Removes one image: 0, DK_ECONFLICT (a container uses it) or an error. */
static int purge_image(jd_ctx *ctx, const dk_image_summary *im, bool force) {
  /* Without force, by tag: the engine refuses to delete by id an image
   * with several tags, and untagging the last tag deletes the image unless
   * a container uses it (409). */
  bool tagged = false;
  int rr = 0;
  for (char **t = im->repo_tags; !force && t && *t && !rr; t++) {
    if (!strcmp(*t, "<none>:<none>"))
      continue;
    tagged = true;
    rr = dk_image_remove(ctx->dk, *t, false, false);
  }
  if (force || !tagged)
    rr = dk_image_remove(ctx->dk, im->id, force, false);
  return rr;
}

int jd_image_purge(size_t *removed, size_t *in_use, jd_ctx *ctx, const char *domain, const char *id,
                   bool force) {
  if (removed)
    *removed = 0;
  if (in_use)
    *in_use = 0;
  if (!id)
    return DK_EINVAL;
  dk_image_list *l = NULL;
  int rc = list_program_images(&l, ctx, domain, id);
  for (size_t i = 0; !rc && i < l->count; i++) {
    int rr = purge_image(ctx, &l->items[i], force);
    if (rr == 0 && removed)
      (*removed)++;
    else if (rr == DK_ECONFLICT && in_use)
      (*in_use)++;
    else if (rr && rr != DK_ECONFLICT && rr != DK_ENOTFOUND)
      rc = rr;
  }
  dk_image_list_free(l);
  return rc;
}

/* A container's "Image" is what it was created from (a tag, or an id); the
 * engine shows the image id instead once that tag points elsewhere. */
static bool container_uses(const dk_container_summary *c, const dk_image_summary *im) {
  if (!c->image)
    return false;
  const char *bare = strncmp(im->id, "sha256:", 7) ? im->id : im->id + 7;
  if (!strcmp(c->image, im->id) || !strcmp(c->image, bare))
    return true;
  for (char **t = im->repo_tags; t && *t; t++)
    if (!strcmp(c->image, *t))
      return true;
  return false;
}

int jd_image_purge_plan(size_t *would_remove, size_t *in_use, jd_ctx *ctx, const char *domain,
                        const char *id) {
  *would_remove = 0;
  *in_use = 0;
  if (!id)
    return DK_EINVAL;
  dk_image_list *l = NULL;
  dk_container_list *cl = NULL;
  int rc = list_program_images(&l, ctx, domain, id);
  if (!rc)
    rc = dk_container_list_by_label(&cl, ctx->dk, true, NULL);
  for (size_t i = 0; !rc && i < l->count; i++) {
    bool used = false;
    for (size_t k = 0; k < cl->count && !used; k++)
      used = container_uses(&cl->items[k], &l->items[i]);
    ++*(used ? in_use : would_remove);
  }
  dk_container_list_free(cl);
  dk_image_list_free(l);
  return rc;
}
