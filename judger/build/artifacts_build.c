/* The program build (build_internal.h): the build container over a copy
 * of the source, judger-hold as its PID 1, and the copy of its /app out
 * through a FIFO as it runs (artifacts.h says why). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "build/build_internal.h"
#include "build/build_net.h"
#include "build/sanitise.h"
#include "common/clock.h"
#include "common/error.h"
#include "common/labels.h"
#include "common/oom.h"
#include "common/util.h"
#include "common/volumes.h"
#include "match/create_compat.h"
#include "match/hold.h"
#include "match/hold/hold_build.h"
#include "match/seccomp.h"

/* What a build container is given besides its image (hold_build.h): the
 * shim, the FIFO the artifacts come out through, the argv the shim runs
 * (--build DEPTH, then the image's entrypoint and CMD). */
typedef struct jd_build_io {
  const char *hold;
  const char *fifo;
  const char *const *argv;
  char **volumes; /* the image's Config.Volumes (common/volumes.h) */
  bool volumes_truncated;
} build_io;

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

/* The build container's labels: the host's, its role, the program's,
 * then the request's. The caller frees the array (not the strings). */
static dk_kv *container_labels(const jd_artifacts_job *job, const char *host) {
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

/* "judger-<host>-build-<domain>-<id>-<random>": 0, or -1 with the reason
 * in the job's err. */
static int container_name(char *name, size_t namelen, const jd_artifacts_job *job,
                          const char *host) {
  char rnd[9];
  if (jd_random_hex(rnd, 4) != 0)
    return jd_artifacts_job_fail(job, DK_EINTERNAL);
  snprintf(name, namelen, "judger-%s-build-%s-%s-%s", host, jd_domain_name(job->domain), job->id,
           rnd);
  return 0;
}

/* Each volume the image declares a tmpfs as big as /tmp, in the build's
 * memory (common/volumes.h): no anonymous volume on the host's disk. 0
 * with vols (vols->refused, its reason in refused, when one cannot be
 * covered: the image is CE), or -1 with the reason in the job's err. */
static int cover_volumes(jd_volumes *vols, char *refused, size_t refusedlen,
                         const jd_artifacts_job *job, const dk_kv tmpfs[2],
                         const char *const *binds) {
  char verr[200];
  int rc = jd_volumes_cover(vols, (const char *const *)job->io->volumes, job->io->volumes_truncated,
                            tmpfs, 2, binds, job->lim.memory, verr, sizeof verr);
  if (!rc && vols->refused)
    snprintf(refused, refusedlen, "%s", vols->why);
  return rc ? jd_artifacts_job_fail(job, DK_EINTERNAL) : 0;
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
 * The matches' seccomp profile too: a build command is a contestant's
 * program like a player (Docker 20.10's default profile lets io_uring and
 * vsock sockets through).
 *
 * 0 with *cid, or without when the image is refused (its reason in
 * refused: CE); -1 with the reason in the job's err. */
static int create_container(char **cid, char *refused, size_t refusedlen,
                            const jd_artifacts_job *job, const char *src_dir,
                            const char *image_id) {
  const char *host = job->ctx->host_id ? job->ctx->host_id : "local";
  const jd_build_limits *lim = &job->lim;
  char name[200], bind[PATH_MAX + 200], hold[PATH_MAX + 200], fifo[PATH_MAX + 200];
  if (container_name(name, sizeof name, job, host) != 0)
    return -1;
  snprintf(bind, sizeof bind, "%s:" JD_BUILD_SRC ":ro", src_dir);
  snprintf(hold, sizeof hold, "%s:" JD_BUILD_HOLD ":ro", job->io->hold);
  snprintf(fifo, sizeof fifo, "%s:" JD_BUILD_FIFO, job->io->fifo);
  dk_kv *labels = container_labels(job, host);
  if (!labels)
    return jd_artifacts_job_fail(job, DK_ENOMEM);
  const char *binds[] = {bind, hold, fifo, NULL};
  const char *secopt[] = {"no-new-privileges", jd_seccomp_security_opt(), NULL};
  const char *capdrop[] = {"ALL", NULL};
  static const dk_kv logopts[] = {{"max-size", "16m"}, {"max-file", "1"}};
  char user[32], tmpfs_opts[96], app_opts[160];
  snprintf(user, sizeof user, "%d:%d", JD_BUILD_UID, JD_BUILD_UID);
  tmpfs_options(tmpfs_opts, sizeof tmpfs_opts, app_opts, sizeof app_opts, lim);
  dk_kv tmpfs[] = {{"/tmp", tmpfs_opts}, {JD_BUILD_APP, app_opts}};
  jd_volumes vols;
  if (cover_volumes(&vols, refused, refusedlen, job, tmpfs, binds) != 0 || vols.refused) {
    free(labels);
    return vols.refused ? 0 : -1;
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
  jd_compat_store compat; /* Ulimits, and Podman's forms (match/create_compat.h) */
  if (jd_create_compat(&cfg.host, &compat, job->ctx, job->err, job->errlen)) {
    free(labels);
    return -1;
  }
  int rc = dk_container_create(cid, job->ctx->dk, name, &cfg);
  free(labels);
  return rc ? jd_artifacts_job_fail(job, rc) : 0;
}

/* How a build container stopped, when the engine did not fail. */
typedef enum build_stop {
  BUILD_STOPPED,  /* on its own: judge() says how */
  BUILD_WALL,     /* past its wall time */
  BUILD_CANCELED, /* the request was canceled */
} build_stop;

/* The engine's answer of a wait that ends the build's time, if it is one. */
static build_stop stop_of(int rc) {
  return rc == DK_ETIMEDOUT ? BUILD_WALL : rc == DK_ECANCELED ? BUILD_CANCELED : BUILD_STOPPED;
}

/* Follows the started container's output into log until it stops, within
 * the wall time: 0 with *stopped, or -1 with the engine's reason in the
 * job's err. */
static int follow(build_stop *stopped, const jd_artifacts_job *job, const char *cid, dk_buf *log) {
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
  *stopped = stop_of(lrc);
  if (*stopped != BUILD_STOPPED)
    return 0;
  /* The log stream ended: the container is stopping; wait for it, still
   * within the wall time (plus a little for the engine's bookkeeping). */
  int64_t code = -1;
  dk_call wc = {.deadline_ms = (deadline > jd_mono_ms() ? deadline : jd_mono_ms()) + 2000,
                .cancel = job->cancel};
  int wrc = dk_container_wait(&code, job->ctx->dk, cid, NULL, &wc);
  *stopped = stop_of(wrc);
  return wrc && *stopped == BUILD_STOPPED ? jd_artifacts_job_fail(job, wrc) : 0;
}

/* The verdict of a container that stopped on its own: MLE, CE or OK. 0,
 * or -1 with the engine's reason in the job's err. */
static int judge(jd_artifacts_outcome *o, const jd_artifacts_job *job, const char *cid,
                 int64_t started_ms) {
  dk_container_info *info = NULL;
  int rc = dk_container_inspect(&info, job->ctx->dk, cid);
  if (rc)
    return jd_artifacts_job_fail(job, rc);
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
static int run_build(jd_artifacts_outcome *o, const jd_artifacts_job *job, const char *app_dir,
                     const char *image_id, dk_buf *log) {
  char *cid = NULL, refused[400] = "";
  build_stop stopped = BUILD_STOPPED;
  if (create_container(&cid, refused, sizeof refused, job, app_dir, image_id) != 0)
    return -1;
  if (!cid) {
    o->verdict = JD_VERDICT_CE; /* its image declares a volume not covered */
    snprintf(o->message, sizeof o->message, "build image refused: %s", refused);
    return 0;
  }
  int64_t started_ms = jd_unix_ms();
  int rc = dk_container_start(job->ctx->dk, cid);
  if (rc)
    rc = jd_artifacts_job_fail(job, rc);
  else
    rc = follow(&stopped, job, cid, log);
  if (!rc && stopped != BUILD_STOPPED) {
    (void)dk_container_kill(job->ctx->dk, cid, NULL);
    o->verdict = stopped == BUILD_WALL ? JD_VERDICT_TLE : JD_VERDICT_UE;
    if (stopped == BUILD_WALL)
      snprintf(o->message, sizeof o->message, "build exceeded its wall time of %lld ms",
               (long long)job->lim.wall_ms);
    else
      snprintf(o->message, sizeof o->message, "build canceled");
  } else if (!rc) {
    rc = judge(o, job, cid, started_ms);
  }
  int rr = dk_container_remove(job->ctx->dk, cid, true, true);
  if (rr && rr != DK_ENOTFOUND && !rc) /* a build container left behind is a system fault */
    rc = jd_artifacts_job_fail(job, rr);
  free(cid);
  return rc;
}

/* run_build, on a network of the build's own behind the build proxy when
 * the limits ask for a network (build_net.h): the same egress as RUN steps,
 * never the default bridge. The network is removed on every path; one that
 * cannot be had is a system fault. 0 with o filled, or -1 with the reason
 * in the job's err. */
static int run_build_networked(jd_artifacts_outcome *o, const jd_artifacts_job *job,
                               const char *app_dir, const char *image_id, dk_buf *log) {
  if (!job->lim.network)
    return run_build(o, job, app_dir, image_id, log);
  /* A build command on the build network is a RUN step by other means: on
   * an engine whose networks give the host a gateway address it would reach
   * the host's listeners (common/engine.h), so the same guarantee. */
  if (jd_ctx_require(job->ctx, JD_GUARANTEE_BUILD_NETWORK, job->err, job->errlen))
    return -1;
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
    return jd_artifacts_job_fail(job, DK_EINTERNAL);
  }
  jd_artifacts_job j = *job;
  j.net = net;
  int rc = run_build(o, &j, app_dir, image_id, log);
  jd_build_net_free(net);
  return rc;
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

/* Opens the FIFO (read+write, non-blocking: the shim's open never
 * blocks), the container's end signal, and starts the copy's thread. 0,
 * or -1 with errno. */
static int copy_out_start(copy_out *co, const char *fifo) {
  co->fifo = open(fifo, O_RDWR | O_NONBLOCK | O_CLOEXEC);
  /* 1 MiB of pipe instead of 64 KiB: fewer wake-ups per MiB of artifacts
   * (best effort: the default is only slower). */
  if (co->fifo >= 0)
    (void)fcntl(co->fifo, F_SETPIPE_SZ, 1 << 20);
  co->gone = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (co->fifo < 0 || co->gone < 0)
    return -1;
  errno = pthread_create(&co->thread, NULL, copy_out_main, co);
  return errno ? -1 : 0;
}

/* An OK build whose /app passed a cap or did not come out whole is CE. */
static void copy_out_judge(jd_artifacts_outcome *o, const jd_sanitise_report *rep) {
  if (o->verdict != JD_VERDICT_OK)
    return;
  if (rep->over[0]) {
    o->verdict = JD_VERDICT_CE;
    snprintf(o->message, sizeof o->message, "%s", rep->over);
  } else if (!rep->complete) {
    o->verdict = JD_VERDICT_CE;
    snprintf(o->message, sizeof o->message, "the build's /app could not be copied out: %s",
             rep->broken[0] ? rep->broken : "the stream ended early");
  }
}

static void argv_free(char **argv) {
  for (size_t i = 0; argv && argv[i]; i++)
    free(argv[i]);
  free(argv);
}

/* The shim's argv: --build DEPTH, then the image's entrypoint and CMD, as
 * the engine would have run them. 0, or -1 with the reason in the job's
 * err. */
static int build_argv(char ***out, build_io *io, const jd_artifacts_job *job,
                      const char *image_id) {
  *out = NULL;
  dk_image_info *info = NULL;
  int rc = dk_image_inspect(&info, job->ctx->dk, image_id);
  if (rc)
    return jd_artifacts_job_fail(job, rc);
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
    return jd_fail(job->err, job->errlen, "%s", dk_strerror(DK_ENOMEM));
  }
  *out = v;
  return 0;
}

int jd_artifacts_run_contained(jd_artifacts_outcome *o, const jd_artifacts_job *job,
                               const char *tmp, const char *src, const char *app,
                               const char *image_id, dk_buf *log) {
  char fifo[PATH_MAX + 100];
  char *hold = NULL, **argv = NULL;
  build_io io = {.volumes = NULL}; /* its volumes come with argv */
  copy_out co = {
      .fifo = -1, .gone = -1, .app = app, .lim = &job->lim, .log = DK_BUF_INIT(64 << 10)};
  bool running = false;
  snprintf(fifo, sizeof fifo, "%s/artifacts.fifo", tmp);
  int rc = build_argv(&argv, &io, job, image_id); /* and io.volumes */
  if (rc)
    goto cleanup;
  /* The FIFO is the build user's (the shim opens it for writing), in the
   * judger's 0700 tmp dir; the judger holds it read+write from here on. */
  if (jd_hold_install(&hold, job->ctx->state_dir) != 0 || mkfifo(fifo, 0600) != 0 ||
      chown(fifo, JD_BUILD_UID, JD_BUILD_UID) != 0) {
    rc = jd_artifacts_job_fail(job, -1);
    goto cleanup;
  }
  if (copy_out_start(&co, fifo) != 0) {
    rc = jd_artifacts_job_fail(job, -1);
    goto cleanup;
  }
  running = true;
  io.hold = hold; /* io.volumes: build_argv's */
  io.fifo = fifo;
  io.argv = (const char *const *)argv;
  jd_artifacts_job j = *job;
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
      rc = jd_artifacts_job_fail(job, -1);
    }
  } else if (co.fifo >= 0) {
    close(co.fifo);
  }
  if (!rc)
    copy_out_judge(o, &co.rep);
  if (co.log.len)
    (void)dk_buf_append(log, co.log.data, co.log.len);
  if (co.gone >= 0)
    close(co.gone);
  (void)unlink(fifo);
  dk_buf_free(&co.log);
  argv_free(argv);
  dk_strv_free(io.volumes);
  free(hold);
  return rc;
}
