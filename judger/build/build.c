/* jd_build_run: the `judger build` pipeline as a function. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "build/artifacts.h"
#include "build/build.h"
#include "build/dockerfile.h"
#include "build/image_cache.h"
#include "build/source.h"
#include "common/clock.h"
#include "common/utf8.h"

static void image_free(jd_build_image *i) {
  free(i->tag);
  free(i->image_id);
}

static const struct {
  const char *name;
  int exit_code;
} statuses[] = {
#define JD_BUILD_STATUS_ROW(code, name, exit) {name, exit},
    JD_BUILD_STATUS_MAP(JD_BUILD_STATUS_ROW)
#undef JD_BUILD_STATUS_ROW
};

const char *jd_build_status_name(jd_build_status s) {
  return (unsigned)s < JD_BUILD_STATUS_COUNT ? statuses[s].name : "?";
}

/* JD_EXIT_OK, JD_EXIT_PROGRAM, ...: what `judger build` exits with. */
static int status_exit(jd_build_status s) {
  return (unsigned)s < JD_BUILD_STATUS_COUNT ? statuses[s].exit_code : JD_EXIT_SYSTEM;
}

const char *jd_build_result_verdict(const jd_build_result *r) {
  return r->status == JD_BUILD_STATUS_INVALID ? NULL : jd_verdict_name(r->verdict);
}

void jd_build_result_free(jd_build_result *r) {
  if (!r)
    return;
  free(r->message);
  free(r->log);
  free(r->domain);
  free(r->id);
  free(r->source_identity);
  free(r->commit);
  image_free(&r->run);
  image_free(&r->build);
  free(r->artifacts_key);
  free(r->artifacts_dir);
  free(r);
}

/* Build messages quote the program's output: through the one sanitiser. */
static json_object *jstr(const char *s) { return jd_json_str(s); }

static json_object *image_json(const jd_build_image *i) {
  if (!i->tag)
    return NULL;
  json_object *o = json_object_new_object();
  json_object_object_add(o, "tag", jstr(i->tag));
  json_object_object_add(o, "image_id", jstr(i->image_id));
  json_object_object_add(o, "cached", json_object_new_boolean(i->cached));
  return o;
}

json_object *jd_build_result_object(const jd_build_result *r) {
  json_object *o = json_object_new_object();
  if (!o)
    return NULL;
  json_object_object_add(o, "exit_code", json_object_new_int(r->exit_code));
  json_object_object_add(o, "status", jstr(jd_build_status_name(r->status)));
  json_object_object_add(o, "verdict", jstr(jd_build_result_verdict(r)));
  json_object_object_add(o, "stage", jstr(r->stage));
  json_object_object_add(o, "message", jstr(r->message));
  json_object_object_add(o, "domain", jstr(r->domain));
  json_object_object_add(o, "id", jstr(r->id));
  json_object_object_add(o, "source_identity", jstr(r->source_identity));
  json_object_object_add(o, "commit", jstr(r->commit));
  json_object_object_add(o, "run_image", image_json(&r->run));
  json_object_object_add(o, "build_image", image_json(&r->build));
  json_object *a = NULL;
  if (r->artifacts_key) {
    a = json_object_new_object();
    json_object_object_add(a, "key", jstr(r->artifacts_key));
    json_object_object_add(a, "dir", jstr(r->artifacts_dir));
    json_object_object_add(a, "cached", json_object_new_boolean(r->artifacts_cached));
  }
  json_object_object_add(o, "artifacts", a);
  json_object_object_add(o, "duration_ms", json_object_new_int64(r->duration_ms));
  json_object_object_add(o, "log", jstr(r->log));
  return o;
}

char *jd_build_result_json(const jd_build_result *r) {
  json_object *o = jd_build_result_object(r);
  if (!o)
    return NULL;
  /* As every result the judger prints or stores: '/' as '/'. */
  const char *s =
      json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
  char *copy = s ? strdup(s) : NULL;
  json_object_put(o);
  return copy;
}

/* ---- the pipeline ----------------------------------------------------------- */

/* One run of the pipeline: the request, its result, and what the steps share.
 * A step returns false to go on, true when it recorded a final outcome. */
typedef struct run_state {
  jd_ctx *ctx;
  const jd_build_request *req;
  jd_build_result *r;
  jd_source *src;
  char *run_df, *build_df; /* the Dockerfiles' bytes; build_df NULL when there is none */
  size_t run_len, build_len;
  char err[1024];
} run_state;

static void say(const jd_build_request *req, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void say(const jd_build_request *req, const char *fmt, ...) {
  if (!req->progress)
    return;
  char line[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  req->progress(req->ud, line);
}

/* Engine and compiler output, indented under the step that produced it. */
static void relay(void *ud, const char *line) {
  const jd_build_request *req = ud;
  say(req, "  | %s", line);
}

static int set_str(char **dst, const char *s) {
  free(*dst);
  *dst = s ? strdup(s) : NULL;
  return s && !*dst ? -1 : 0;
}

/* Records the outcome; returns true (final) for the steps to return. */
static bool outcome(jd_build_result *r, jd_build_status status, jd_verdict verdict,
                    const char *stage, const char *message) {
  r->status = status;
  r->verdict = verdict;
  r->stage = stage;
  r->exit_code = status_exit(status);
  set_str(&r->message, message);
  return true;
}

/* A verdict other than OK from an image build or the program build: UE (a
 * cancelled build) is ours, the others the program's fault. */
static bool program_outcome(jd_build_result *r, jd_verdict verdict, const char *stage,
                            const char *message, const char *log) {
  set_str(&r->log, log);
  return outcome(r, verdict == JD_VERDICT_UE ? JD_BUILD_STATUS_ERROR : JD_BUILD_STATUS_FAILED,
                 verdict, stage, message);
}

/* A failure of the source module: its kind says whose fault. */
static bool source_fault(jd_build_result *r, jd_fail_kind kind, const char *err) {
  switch (kind) {
  case JD_FAIL_USAGE:
    return outcome(r, JD_BUILD_STATUS_INVALID, JD_VERDICT_COUNT, "source", err);
  case JD_FAIL_PROGRAM:
    return outcome(r, JD_BUILD_STATUS_FAILED, JD_VERDICT_CE, "source", err);
  case JD_FAIL_TIMEOUT: /* its git server, past the build's wall time */
    return outcome(r, JD_BUILD_STATUS_FAILED, JD_VERDICT_TLE, "source", err);
  default:
    return outcome(r, JD_BUILD_STATUS_ERROR, JD_VERDICT_UE, "source", err);
  }
}

/* Ours (the engine, the disk): what failed and why. */
static bool system_fault(jd_build_result *r, const char *stage, const char *what, const char *why) {
  char msg[1100]; /* what, and a reason of up to sizeof run_state.err */
  snprintf(msg, sizeof msg, "%s: %s", what, why);
  r->error_code = -1;
  return outcome(r, JD_BUILD_STATUS_ERROR, JD_VERDICT_UE, stage, msg);
}

/* What can be refused before any work. */
static bool check_request(run_state *s) {
  if (jd_program_id_check(s->req->ref.id, s->err, sizeof s->err) != 0)
    return outcome(s->r, JD_BUILD_STATUS_INVALID, JD_VERDICT_COUNT, "source", s->err);
  if (!s->ctx->state_dir)
    return outcome(s->r, JD_BUILD_STATUS_INVALID, JD_VERDICT_COUNT, "source", "no state directory");
  return false;
}

/* Opens the source and reads its Dockerfiles. */
static bool open_source(run_state *s) {
  /* A fetch (and the wait for its mirror's lock) ends at the build's wall
   * time or when the build is cancelled. */
  jd_build_limits lim;
  jd_build_limits_defaults(&lim, &s->req->limits);
  dk_call call = {.deadline_ms = dk_now_ms() + lim.wall_ms, .cancel = s->req->cancel};
  jd_program_ref src_ref = s->req->ref;
  if (!src_ref.call)
    src_ref.call = &call;
  /* The judger fetches from the host's own network: its loopback and
   * private neighbours only when the operator allows it. */
  src_ref.public_only = src_ref.public_only || !s->ctx->policy.fetch_private;
  const jd_program_ref *ref = &src_ref;
  jd_fail_kind kind = JD_FAIL_SYSTEM;
  int rc = jd_source_open(&s->src, s->ctx->state_dir, ref, &kind, s->err, sizeof s->err);
  if (rc)
    return source_fault(s->r, kind, s->err);
  set_str(&s->r->source_identity, s->src->identity);
  set_str(&s->r->commit, s->src->commit);
  if (s->src->commit)
    say(s->req, "source %s at %s: commit %s", ref->git_url, ref->git_ref ? ref->git_ref : "HEAD",
        s->src->commit);
  else
    say(s->req, "source %s: %s", ref->dir ? ref->dir : ref->tar_url, s->src->identity);
  rc = jd_source_dockerfile(&s->run_df, &s->run_len, s->src, JD_RUN_DOCKERFILE, false, &kind,
                            s->err, sizeof s->err);
  if (!rc)
    rc = jd_source_dockerfile(&s->build_df, &s->build_len, s->src, JD_BUILD_DOCKERFILE, true, &kind,
                              s->err, sizeof s->err);
  return rc ? source_fault(s->r, kind, s->err) : false;
}

/* The Dockerfile read before the engine sees it (dockerfile.h): a refused
 * one is CE naming the line, and nothing of it reaches the engine. */
static bool dockerfile_refused(run_state *s, jd_op op, const char *dockerfile, size_t len,
                               const char *stage) {
  jd_dockerfile_verdict v;
  if (jd_dockerfile_check(&v, dockerfile, len, jd_base_images(s->ctx)) != 0)
    return system_fault(s->r, stage, "reading the Dockerfile", strerror(errno));
  if (!v.refused &&
      jd_dockerfile_images_here(&v, s->ctx, relay, (void *)s->req, s->err, sizeof s->err) != 0)
    return outcome(s->r, JD_BUILD_STATUS_ERROR, JD_VERDICT_UE, stage, s->err);
  if (!v.refused)
    return false;
  char msg[800];
  snprintf(msg, sizeof msg, "%s %s", op == JD_OP_RUN ? JD_RUN_DOCKERFILE : JD_BUILD_DOCKERFILE,
           v.message);
  say(s->req, "%s", msg);
  return outcome(s->r, JD_BUILD_STATUS_FAILED, JD_VERDICT_CE, stage, msg);
}

/* The request as the image cache and the artifacts see it: its progress
 * relayed, indented under the pipeline's step. */
static jd_build_request relayed(const jd_build_request *req) {
  jd_build_request sub = *req;
  sub.progress = relay;
  sub.ud = (void *)req;
  return sub;
}

/* Ensures one environment image. */
static bool env_image(run_state *s, jd_op op, const char *dockerfile, size_t len,
                      jd_build_image *slot) {
  const jd_build_request *req = s->req;
  const char *stage = op == JD_OP_RUN ? "run_image" : "build_image";
  if (dockerfile_refused(s, op, dockerfile, len, stage))
    return true;
  jd_env_image *img = NULL;
  char tag[256];
  jd_image_tag_for(tag, sizeof tag, req->ref.domain, req->ref.id, op, dockerfile, len);
  say(req, "%s image %s", jd_op_name(op), tag);
  jd_build_request sub = relayed(req);
  if (jd_env_image_ensure(&img, s->ctx, &sub, op, dockerfile, len, s->err, sizeof s->err) != 0)
    return system_fault(s->r, stage, "image build", s->err);
  set_str(&slot->tag, img->tag);
  set_str(&slot->image_id, img->image_id);
  slot->cached = img->cached;
  bool final = false;
  if (img->verdict != JD_VERDICT_OK)
    final = program_outcome(s->r, img->verdict, stage, img->message, img->log);
  else
    say(req, "%s image %s: %s", jd_op_name(op), img->tag, img->cached ? "cached" : "built");
  jd_env_image_free(img);
  return final;
}

/* The artifacts: from the cache, or built over the source (a git source is
 * written out only then). */
static bool artifacts(run_state *s) {
  const jd_build_request *req = s->req;
  jd_build_result *r = s->r;
  jd_artifacts *a = NULL;
  int rc =
      jd_artifacts_lookup(&a, s->ctx, s->src->identity, r->build.image_id, s->err, sizeof s->err);
  if (!rc && !a) {
    jd_fail_kind kind = JD_FAIL_SYSTEM;
    if (jd_source_materialize(s->src, &kind, s->err, sizeof s->err) != 0)
      return source_fault(r, kind, s->err);
    jd_build_request sub = relayed(req);
    rc = jd_artifacts_ensure(&a, s->ctx, &sub, s->src->dir, s->src->identity, r->build.image_id,
                             s->err, sizeof s->err);
  }
  if (rc)
    return system_fault(r, "artifacts", "program build", s->err);
  set_str(&r->artifacts_key, a->key);
  set_str(&r->artifacts_dir, a->dir);
  r->artifacts_cached = a->cached;
  bool final = false;
  if (a->verdict != JD_VERDICT_OK) {
    final = program_outcome(r, a->verdict, "artifacts", a->message, a->log);
  } else {
    set_str(&r->log, a->log);
    say(req, "artifacts %s: %s", a->key, a->cached ? "cached" : "built");
  }
  jd_artifacts_free(a);
  return final;
}

/* The build op: the build image (when there is a build.Dockerfile), then
 * the artifacts. */
static bool build_op(run_state *s) {
  if (s->build_df && env_image(s, JD_OP_BUILD, s->build_df, s->build_len, &s->r->build))
    return true;
  if (!s->build_df)
    say(s->req, "no %s: the artifacts are the source itself", JD_BUILD_DOCKERFILE);
  else
    say(s->req, "artifacts: running %s over a copy of the source", s->r->build.tag);
  return artifacts(s);
}

static void pipeline(run_state *s) {
  int ops = s->req->ops ? s->req->ops : JD_BUILD_OP_ALL;
  if (check_request(s) || open_source(s))
    return;
  if ((ops & JD_BUILD_OP_RUN) && env_image(s, JD_OP_RUN, s->run_df, s->run_len, &s->r->run))
    return;
  if ((ops & JD_BUILD_OP_BUILD) && build_op(s))
    return;
  outcome(s->r, JD_BUILD_STATUS_OK, JD_VERDICT_OK, "done", NULL);
}

int jd_build_run(jd_build_result **out, jd_ctx *ctx, const jd_build_request *req) {
  *out = NULL;
  jd_build_result *r = calloc(1, sizeof *r);
  if (!r)
    return -1;
  int64_t t0 = jd_mono_ms();
  run_state s = {.ctx = ctx, .req = req, .r = r};
  if (set_str(&r->domain, jd_domain_name(req->ref.domain)) || set_str(&r->id, req->ref.id)) {
    jd_build_result_free(r);
    return -1;
  }
  pipeline(&s);
  r->duration_ms = jd_mono_ms() - t0;
  free(s.run_df);
  free(s.build_df);
  jd_source_free(s.src);
  *out = r;
  return 0;
}
