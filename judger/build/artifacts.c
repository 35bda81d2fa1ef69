/* Program builds in a limited container, and the artifacts cache. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "build/artifacts.h"
#include "build/build_internal.h"
#include "build/build_net.h"
#include "build/image_cache.h"
#include "build/sanitise.h"
#include "common/clock.h"
#include "common/crfold.h"
#include "common/fs.h"
#include "common/labels.h"
#include "common/oom.h"
#include "common/util.h"
#include "common/volumes.h"
#include "match/hold.h"
#include "match/hold/hold_build.h"
#include "match/seccomp.h"

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

/* ---- the build container -------------------------------------------------- */

/* What a build container is given besides its image (hold_build.h): the
 * shim, the FIFO the artifacts come out through, the argv the shim runs
 * (--build DEPTH, then the image's entrypoint and CMD). */
typedef struct build_io {
  const char *hold;
  const char *fifo;
  const char *const *argv;
  char **volumes; /* the image's Config.Volumes (common/volumes.h) */
  bool volumes_truncated;
} build_io;

/* One program build: who, with what limits (defaults filled in), where
 * its progress goes, and where the reason of a system fault goes. */
typedef struct build_job {
  jd_ctx *ctx;
  jd_domain domain;
  const char *id;
  jd_build_limits lim;
  const dk_kv *extra_labels;
  size_t nextra;
  jd_progress_fn progress;
  void *ud;
  dk_cancel *cancel;
  const build_io *io;
  const jd_build_net *net; /* the build's own network when lim.network (build_net.h) */
  char *err;               /* the reason of a system fault */
  size_t errlen;
} build_job;

/* An engine code (or -1, errno) of this build: the reason into the job's
 * err; -1. */
static int job_fail(const build_job *job, int rc) {
  return jd_build_engine_fail(rc, job->err, job->errlen);
}

typedef struct log_state {
  dk_buf *log;
  jd_progress progress;
} log_state;

/* stdout and stderr go, interleaved as they come, into one capped log: a
 * compiler's messages land where a user expects them. Past the cap the
 * head is kept (the first errors matter most). */
static int log_frame(void *ud, int stream, const char *data, size_t len) {
  log_state *s = ud;
  (void)stream;
  (void)dk_buf_append(s->log, data, len); /* DK_ETOOBIG sets truncated: not fatal */
  jd_progress_feed(&s->progress, data, len);
  return 0;
}

typedef struct run_outcome {
  jd_verdict verdict;
  char message[512];
  int64_t exit_code;
} run_outcome;

/* The build container's labels: the host's, its role, the program's,
 * then the request's. The caller frees the array (not the strings). */
static dk_kv *container_labels(const build_job *job, const char *host) {
  dk_kv *labels = calloc(4 + job->nextra, sizeof *labels);
  if (!labels)
    return NULL;
  labels[0] = (dk_kv){JD_LABEL_HOST, host};
  labels[1] = (dk_kv){JD_LABEL_ROLE, "build"};
  labels[2] = (dk_kv){JD_LABEL_DOMAIN, jd_domain_name(job->domain)};
  labels[3] = (dk_kv){JD_LABEL_ID, job->id};
  for (size_t i = 0; i < job->nextra; i++)
    labels[4 + i] = job->extra_labels[i];
  return labels;
}

/* The mount options of the build's tmpfs /tmp and /app. */
static void tmpfs_options(char *tmp_opts, size_t tmplen, char *app_opts, size_t applen,
                          const jd_build_limits *lim) {
  /* tmpfs pages count against the memory limit: /tmp may use all of it. */
  snprintf(tmp_opts, tmplen, "rw,nosuid,nodev,size=%lld,mode=1777", (long long)lim->memory);
  /* exec: a build runs what it compiles; tmpfs rounds a size of 0 up to
   * "no limit", so at least a page. */
  snprintf(app_opts, applen,
           "rw,exec,nosuid,nodev,size=%lld,nr_inodes=%lld,uid=%d,gid=%d,mode=0755",
           (long long)(lim->artifacts_bytes > 4096 ? lim->artifacts_bytes : 4096),
           (long long)lim->artifacts_files + 1, JD_BUILD_UID, JD_BUILD_UID);
}

/* Creates the build container over src_dir (the judger's copy of the
 * source, bound read-only at JD_BUILD_SRC): an unprivileged user, no
 * capability, no privilege gain, a read-only root with tmpfs /tmp and
 * /app, limits, no network unless asked, labelled for reconciliation.
 * judger-hold is PID 1 (hold_build.h): it copies the source into /app,
 * runs the image's entrypoint and CMD, and writes /app into the FIFO.
 *
 * /app is a tmpfs of artifacts_bytes (and artifacts_files inodes): a build
 * that writes more gets ENOSPC there, its own failure, and the host's disk
 * never sees it. Its pages, like /tmp's, are charged to the build's memory
 * cgroup, whose limit stays `memory`: the processes, /tmp and /app share
 * it, so a host running N builds needs N x memory of RAM as before, and a
 * build whose artifacts and working set pass `memory` is MLE (raise the
 * memory limit with the artifacts cap for programs that leave big trees).
 * 0 with *cid, or without when the image is refused (its reason in
 * refused: CE); -1 with the reason in the job's err. */
static int create_container(char **cid, char *refused, size_t refusedlen, const build_job *job,
                            const char *src_dir, const char *image_id) {
  const char *host = job->ctx->host_id ? job->ctx->host_id : "local";
  const jd_build_limits *lim = &job->lim;
  char name[200], rnd[9], bind[PATH_MAX + 200], hold[PATH_MAX + 200], fifo[PATH_MAX + 200];
  if (jd_random_hex(rnd, 4) != 0)
    return job_fail(job, DK_EINTERNAL);
  snprintf(name, sizeof name, "judger-%s-build-%s-%s-%s", host, jd_domain_name(job->domain),
           job->id, rnd);
  snprintf(bind, sizeof bind, "%s:" JD_BUILD_SRC ":ro", src_dir);
  snprintf(hold, sizeof hold, "%s:" JD_BUILD_HOLD ":ro", job->io->hold);
  snprintf(fifo, sizeof fifo, "%s:" JD_BUILD_FIFO, job->io->fifo);
  dk_kv *labels = container_labels(job, host);
  if (!labels)
    return job_fail(job, DK_ENOMEM);
  const char *binds[] = {bind, hold, fifo, NULL};
  /* The matches' seccomp profile too: a build command is a contestant's
   * program like a player (Docker 20.10's default profile lets io_uring
   * and vsock sockets through). */
  const char *secopt[] = {"no-new-privileges", jd_seccomp_security_opt(), NULL};
  const char *capdrop[] = {"ALL", NULL};
  static const dk_kv logopts[] = {{"max-size", "16m"}, {"max-file", "1"}};
  char user[32], tmpfs_opts[96], app_opts[160];
  snprintf(user, sizeof user, "%d:%d", JD_BUILD_UID, JD_BUILD_UID);
  tmpfs_options(tmpfs_opts, sizeof tmpfs_opts, app_opts, sizeof app_opts, lim);
  dk_kv tmpfs[] = {{"/tmp", tmpfs_opts}, {JD_BUILD_APP, app_opts}};
  /* Each declared volume a tmpfs as big as /tmp, in the build's memory:
   * no anonymous volume on the host's disk; one that cannot be covered
   * refuses the image (CE, in refused). */
  jd_volumes vols;
  char verr[200];
  if (jd_volumes_cover(&vols, (const char *const *)job->io->volumes, job->io->volumes_truncated,
                       tmpfs, 2, binds, lim->memory, verr, sizeof verr) ||
      vols.refused) {
    snprintf(refused, refusedlen, "%s", vols.refused ? vols.why : verr);
    free(labels);
    return vols.refused ? 0 : job_fail(job, DK_EINTERNAL);
  }
  const char *entrypoint[] = {JD_BUILD_HOLD, NULL};
  dk_container_config cfg = {
      .image = image_id,
      .entrypoint = entrypoint,
      .cmd = job->io->argv,
      .user = user,
      .env = job->net ? job->net->env : NULL, /* http_proxy & co. */
      .working_dir = JD_BUILD_APP,
      .labels = labels,
      .nlabels = 4 + job->nextra,
      .host = {.nano_cpus = (int64_t)(lim->cpus * 1e9),
               .memory = lim->memory,
               .memory_swap = lim->memory, /* equal: no swap, so MLE is real */
               .pids_limit = lim->pids,
               .binds = binds,
               .cap_drop = capdrop,
               .security_opt = secopt,
               .readonly_rootfs = true,
               .tmpfs = vols.tmpfs,
               .ntmpfs = vols.ntmpfs,
               /* Never the default bridge: the build's network, behind the proxy. */
               .network_mode = job->net ? job->net->network : "none",
               .init = -1, /* judger-hold is PID 1: it reaps, and kills what is left */
               .log_type = "json-file",
               .log_opts = logopts,
               .nlog_opts = 2},
  };
  int rc = dk_container_create(cid, job->ctx->dk, name, &cfg);
  free(labels);
  return rc ? job_fail(job, rc) : 0;
}

/* Follows the started container's output into log until it stops, within
 * the wall time. *stopped_rc is 0 when it stopped on its own, DK_ETIMEDOUT
 * or DK_ECANCELED; the return value is an engine failure (or 0). */
static int follow(int *stopped_rc, const build_job *job, const char *cid, dk_buf *log) {
  /* The wall time counts from the start: the engine's create/start cost
   * (up to a second on a busy host) is not the program's. */
  int64_t deadline = jd_mono_ms() + job->lim.wall_ms;
  log_state ls = {.log = log};
  jd_progress_init(&ls.progress, job->progress, job->ud);
  dk_logs_opts lo = {.follow = true};
  dk_call call = {.deadline_ms = deadline, .cancel = job->cancel};
  /* Following the logs returns when the container stops, or at the
   * deadline: the wall clock is enforced right here. */
  int lrc = dk_container_logs(job->ctx->dk, cid, &lo, log_frame, &ls, &call);
  jd_progress_finish(&ls.progress);
  *stopped_rc = lrc == DK_ETIMEDOUT || lrc == DK_ECANCELED ? lrc : 0;
  if (*stopped_rc)
    return 0;
  /* The log stream ended: the container is stopping; wait for it, still
   * within the wall time (plus a little for the engine's bookkeeping). */
  int64_t code = -1;
  dk_call wc = {.deadline_ms = (deadline > jd_mono_ms() ? deadline : jd_mono_ms()) + 2000,
                .cancel = job->cancel};
  int wrc = dk_container_wait(&code, job->ctx->dk, cid, NULL, &wc);
  if (wrc == DK_ETIMEDOUT || wrc == DK_ECANCELED)
    *stopped_rc = wrc;
  return *stopped_rc ? 0 : wrc;
}

/* The verdict of a container that stopped on its own: MLE, CE or OK. */
static int judge(run_outcome *o, const build_job *job, const char *cid, int64_t started_ms) {
  dk_container_info *info = NULL;
  int rc = dk_container_inspect(&info, job->ctx->dk, cid);
  if (rc)
    return rc;
  o->exit_code = info->exit_code;
  /* The judger kills a build only past its wall time (TLE, not judged
   * here): any other SIGKILL with an oom event is the memory limit. */
  bool oom = info->oom_killed ||
             (info->exit_code == 137 && jd_oom_reported(job->ctx->dk, cid, started_ms));
  if (oom) {
    o->verdict = JD_VERDICT_MLE;
    snprintf(o->message, sizeof o->message, "build ran out of memory (limit %lld MiB)",
             (long long)(job->lim.memory >> 20));
  } else if (info->exit_code != 0) {
    o->verdict = JD_VERDICT_CE;
    snprintf(o->message, sizeof o->message, "build failed with exit code %lld",
             (long long)info->exit_code);
  } else {
    o->verdict = JD_VERDICT_OK;
  }
  dk_container_info_free(info);
  return 0;
}

/* Runs the build container over app_dir. Returns 0 with o filled, or -1
 * with the reason in the job's err when the engine failed. The container
 * is removed on every path. */
static int run_build(run_outcome *o, const build_job *job, const char *app_dir,
                     const char *image_id, dk_buf *log) {
  char *cid = NULL, refused[400] = "";
  int stopped = 0;
  if (create_container(&cid, refused, sizeof refused, job, app_dir, image_id) != 0)
    return -1;
  if (!cid) {
    o->verdict = JD_VERDICT_CE; /* its image declares a volume not covered */
    snprintf(o->message, sizeof o->message, "build image refused: %s", refused);
    return 0;
  }
  int64_t started_ms = jd_unix_ms();
  int rc = dk_container_start(job->ctx->dk, cid);
  if (!rc)
    rc = follow(&stopped, job, cid, log);
  if (!rc && stopped) {
    (void)dk_container_kill(job->ctx->dk, cid, NULL);
    o->verdict = stopped == DK_ETIMEDOUT ? JD_VERDICT_TLE : JD_VERDICT_UE;
    if (stopped == DK_ETIMEDOUT)
      snprintf(o->message, sizeof o->message, "build exceeded its wall time of %lld ms",
               (long long)job->lim.wall_ms);
    else
      snprintf(o->message, sizeof o->message, "build canceled");
  } else if (!rc) {
    rc = judge(o, job, cid, started_ms);
  }
  if (cid) {
    int rr = dk_container_remove(job->ctx->dk, cid, true, true);
    if (rr && rr != DK_ENOTFOUND && !rc)
      rc = rr; /* a build container left behind is a system fault */
  }
  free(cid);
  return rc ? job_fail(job, rc) : 0;
}

/* run_build, on a network of the build's own behind the build proxy when
 * the limits ask for a network (build_net.h): the same egress as RUN steps,
 * never the default bridge. The network is removed on every path; one that
 * cannot be had is a system fault. 0 with o filled, or -1 with the reason
 * in the job's err. */
static int run_build_networked(run_outcome *o, const build_job *job, const char *app_dir,
                               const char *image_id, dk_buf *log) {
  if (!job->lim.network)
    return run_build(o, job, app_dir, image_id, log);
  jd_build_net_opts no = {.labels = job->extra_labels,
                          .nlabels = job->nextra,
                          .cancel = job->cancel,
                          .progress = job->progress,
                          .ud = job->ud};
  jd_build_net *net = NULL;
  char err[512];
  if (jd_build_net_open(&net, job->ctx, &no, err, sizeof err) != 0) {
    if (job->cancel && dk_cancel_fired(job->cancel)) {
      o->verdict = JD_VERDICT_UE;
      snprintf(o->message, sizeof o->message, "build canceled");
      return 0;
    }
    if (job->progress)
      job->progress(job->ud, err);
    return job_fail(job, DK_EINTERNAL);
  }
  build_job j = *job;
  j.net = net;
  int rc = run_build(o, &j, app_dir, image_id, log);
  jd_build_net_free(net);
  return rc;
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
static int sanitise(run_outcome *o, const build_job *job, const char *app, dk_buf *log) {
  jd_sanitise_report rep;
  if (jd_sanitise_tree(&rep, app, &job->lim, geteuid(), getegid(), log) != 0)
    return -1;
  if (rep.over[0]) {
    o->verdict = JD_VERDICT_CE;
    snprintf(o->message, sizeof o->message, "%s", rep.over);
  }
  return 0;
}

/* ---- the copy out of /app ---------------------------------------------------- */

/* The stream judger-hold writes into the FIFO, extracted into app by a
 * thread while the container runs (the shim blocks on a full pipe). */
typedef struct copy_out {
  int fifo; /* held read+write (non-blocking): the shim's open never blocks */
  int gone; /* eventfd: the container has stopped */
  const char *app;
  const jd_build_limits *lim;
  dk_buf log; /* the judger's lines about what it removed or left out */
  jd_sanitise_report rep;
  int rc, err;
  pthread_t thread;
} copy_out;

static void *copy_out_main(void *ud) {
  copy_out *c = ud;
  c->rc = jd_sanitise_extract(&c->rep, c->fifo, c->gone, c->app, c->lim, &c->log);
  c->err = errno;
  close(c->fifo); /* the one reader: a writer still there gets EPIPE */
  c->fifo = -1;
  return NULL;
}

static void argv_free(char **argv) {
  for (size_t i = 0; argv && argv[i]; i++)
    free(argv[i]);
  free(argv);
}

/* The shim's argv: --build DEPTH, then the image's entrypoint and CMD, as
 * the engine would have run them. Returns 0 or a dk_error_code. */
static int build_argv(char ***out, build_io *io, const build_job *job, const char *image_id) {
  *out = NULL;
  dk_image_info *info = NULL;
  int rc = dk_image_inspect(&info, job->ctx->dk, image_id);
  if (rc)
    return rc;
  json_object *root = json_tokener_parse(info->raw_json), *conf = NULL, *part[2] = {NULL, NULL};
  io->volumes = info->volumes; /* the same inspect: its declared volumes */
  io->volumes_truncated = info->volumes_truncated;
  info->volumes = NULL;
  dk_image_info_free(info);
  if (json_object_object_get_ex(root, "Config", &conf)) {
    json_object_object_get_ex(conf, "Entrypoint", &part[0]);
    json_object_object_get_ex(conf, "Cmd", &part[1]);
  }
  size_t cap = 4, n = 0;
  for (int i = 0; i < 2; i++)
    cap += json_object_is_type(part[i], json_type_array) ? json_object_array_length(part[i]) : 0;
  char **v = calloc(cap, sizeof *v);
  rc = v ? 0 : DK_ENOMEM;
  if (!rc && (!(v[n++] = strdup("--build")) ||
              asprintf(&v[n++], "%lld", (long long)job->lim.artifacts_depth) < 0))
    rc = DK_ENOMEM, v[n - 1] = NULL;
  for (int i = 0; !rc && i < 2; i++) {
    size_t len =
        json_object_is_type(part[i], json_type_array) ? json_object_array_length(part[i]) : 0;
    for (size_t k = 0; !rc && k < len; k++) {
      const char *arg = json_object_get_string(json_object_array_get_idx(part[i], k));
      if (!(v[n++] = strdup(arg ? arg : "")))
        rc = DK_ENOMEM;
    }
  }
  /* Nothing to run: judger-hold says so and exits 127, the image's fault. */
  if (!rc && n == 2 && !(v[n++] = strdup("")))
    rc = DK_ENOMEM;
  json_object_put(root);
  if (rc) {
    argv_free(v);
    return rc;
  }
  *out = v;
  return 0;
}

/* Runs the build image over the source in src (tmp/src, bound read-only)
 * and extracts what it leaves in its /app into app (tmp/app), with the
 * caps and the sanitiser's rules as the stream comes (sanitise.h). 0 with
 * o filled, or -1 with the reason in the job's err. */
static int run_contained(run_outcome *o, const build_job *job, const char *tmp, const char *src,
                         const char *app, const char *image_id, dk_buf *log) {
  char fifo[PATH_MAX + 100];
  char *hold = NULL, **argv = NULL;
  build_io io = {.volumes = NULL}; /* its volumes come with argv */
  copy_out co = {
      .fifo = -1, .gone = -1, .app = app, .lim = &job->lim, .log = DK_BUF_INIT(64 << 10)};
  bool running = false;
  snprintf(fifo, sizeof fifo, "%s/artifacts.fifo", tmp);
  int rc = build_argv(&argv, &io, job, image_id); /* and io.volumes */
  if (rc) {
    rc = job_fail(job, rc);
    goto cleanup;
  }
  /* The FIFO is the build user's (the shim opens it for writing), in the
   * judger's 0700 tmp dir; the judger holds it read+write from here on. */
  if (jd_hold_install(&hold, job->ctx->state_dir) != 0 || mkfifo(fifo, 0600) != 0 ||
      chown(fifo, JD_BUILD_UID, JD_BUILD_UID) != 0) {
    rc = job_fail(job, -1);
    goto cleanup;
  }
  co.fifo = open(fifo, O_RDWR | O_NONBLOCK | O_CLOEXEC);
  /* 1 MiB of pipe instead of 64 KiB: fewer wake-ups per MiB of artifacts
   * (best effort: the default is only slower). */
  if (co.fifo >= 0)
    (void)fcntl(co.fifo, F_SETPIPE_SZ, 1 << 20);
  co.gone = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (co.fifo < 0 || co.gone < 0 ||
      (errno = pthread_create(&co.thread, NULL, copy_out_main, &co))) {
    rc = job_fail(job, -1);
    goto cleanup;
  }
  running = true;
  io.hold = hold; /* io.volumes: build_argv's */
  io.fifo = fifo;
  io.argv = (const char *const *)argv;
  build_job j = *job;
  j.io = &io;
  rc = run_build_networked(o, &j, src, image_id, log);
cleanup:
  if (running) {
    /* The container is gone (removed on every path of run_build): the
     * thread reads what is left in the pipe and ends. */
    (void)eventfd_write(co.gone, 1);
    pthread_join(co.thread, NULL);
    if (!rc && co.rc) {
      errno = co.err;
      rc = job_fail(job, -1);
    }
  } else if (co.fifo >= 0) {
    close(co.fifo);
  }
  if (!rc && o->verdict == JD_VERDICT_OK && co.rep.over[0]) {
    o->verdict = JD_VERDICT_CE;
    snprintf(o->message, sizeof o->message, "%s", co.rep.over);
  } else if (!rc && o->verdict == JD_VERDICT_OK && !co.rep.complete) {
    o->verdict = JD_VERDICT_CE;
    snprintf(o->message, sizeof o->message, "the build's /app could not be copied out: %s",
             co.rep.broken[0] ? co.rep.broken : "the stream ended early");
  }
  if (co.log.len)
    (void)dk_buf_append(log, co.log.data, co.log.len);
  int saved = errno;
  if (co.gone >= 0)
    close(co.gone);
  (void)unlink(fifo);
  dk_buf_free(&co.log);
  argv_free(argv);
  dk_strv_free(io.volumes);
  free(hold);
  errno = saved;
  return rc;
}

/* A source past the artifacts caps: CE naming the cap. */
static void source_over(run_outcome *o, const jd_fs_tally *t) {
  o->verdict = JD_VERDICT_CE;
  jd_fs_tally_message(o->message, sizeof o->message, t, "the source tree (copied into /app)");
}

/* Builds into tmp/app and fills a; an OK build gets its result.json in
 * tmp. With a build image, the source is copied to tmp/src (removed after)
 * and the artifacts come out of the container's /app; without one, the
 * artifacts are the source, copied to tmp/app and sanitised. 0, or -1
 * with the reason in the job's err. */
static int build_into(jd_artifacts *a, const build_job *job, const char *tmp, const char *src_dir,
                      const char *source_identity, const char *build_image_id) {
  char app[PATH_MAX + 100], src[PATH_MAX + 100];
  dk_buf log = DK_BUF_INIT(job->lim.log_max);
  int64_t t0 = jd_mono_ms();
  int rc = 0;
  snprintf(app, sizeof app, "%s/app", tmp);
  snprintf(src, sizeof src, "%s/src", tmp);
  run_outcome o = {.verdict = JD_VERDICT_OK};
  /* The build works on a copy: the source (a git export or a user's
   * directory) stays pristine, and a failed build leaves nothing. The
   * copy belongs to the build's unprivileged user, who reads it in. */
  jd_fs_caps caps = {.bytes = job->lim.artifacts_bytes,
                     .entries = job->lim.artifacts_files,
                     .depth = job->lim.artifacts_depth};
  jd_fs_tally tally;
  if (!build_image_id) {
    if (jd_copy_tree_capped(&tally, src_dir, app, &caps) != 0)
      return job_fail(job, -1);
    if (tally.over)
      source_over(&o, &tally);
    else if (sanitise(&o, job, app, &log) != 0)
      rc = job_fail(job, -1);
  } else {
    /* The source goes into /app, sized to the artifacts caps: one past
     * them could never be built. */
    if (jd_copy_tree_capped(&tally, src_dir, src, &caps) != 0 ||
        (!tally.over && jd_chown_tree(src, JD_BUILD_UID, JD_BUILD_UID) != 0))
      return job_fail(job, -1);
    if (tally.over)
      source_over(&o, &tally);
    else
      rc = run_contained(&o, job, tmp, src, app, build_image_id, &log);
    int saved = errno;
    if (jd_rm_rf(src) != 0 && !rc)
      rc = job_fail(job, -1);
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
    rc = job_fail(job, -1);
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
  build_job job = {.ctx = ctx,
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
