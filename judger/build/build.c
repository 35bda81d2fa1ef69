/* jd_build_run: the `judger build` pipeline as a function. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "build/artifacts.h"
#include "common/clock.h"
#include "build/build.h"
#include "build/image_cache.h"
#include "build/source.h"

static void image_free(jd_build_image *i) {
  free(i->tag);
  free(i->image_id);
}

void jd_build_result_free(jd_build_result *r) {
  if (!r)
    return;
  free(r->status);
  free(r->verdict);
  free(r->stage);
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

static json_object *jstr(const char *s) { return s ? json_object_new_string(s) : NULL; }

static json_object *image_json(const jd_build_image *i) {
  if (!i->tag)
    return NULL;
  json_object *o = json_object_new_object();
  json_object_object_add(o, "tag", jstr(i->tag));
  json_object_object_add(o, "image_id", jstr(i->image_id));
  json_object_object_add(o, "cached", json_object_new_boolean(i->cached));
  return o;
}

char *jd_build_result_json(const jd_build_result *r) {
  json_object *o = json_object_new_object();
  if (!o)
    return NULL;
  json_object_object_add(o, "exit_code", json_object_new_int(r->exit_code));
  json_object_object_add(o, "status", jstr(r->status));
  json_object_object_add(o, "verdict", jstr(r->verdict));
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
  const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
  char *copy = s ? strdup(s) : NULL;
  json_object_put(o);
  return copy;
}

/* ---- the pipeline ----------------------------------------------------------- */

typedef struct run_state {
  jd_build_result *r;
  const jd_build_request *req;
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

/* Records the outcome; exit code from the status word. */
static void outcome(jd_build_result *r, const char *status, const char *verdict, const char *stage,
                    const char *message) {
  set_str(&r->status, status);
  set_str(&r->verdict, verdict);
  set_str(&r->stage, stage);
  set_str(&r->message, message);
  if (!strcmp(status, "ok"))
    r->exit_code = 0;
  else if (!strcmp(status, "failed"))
    r->exit_code = 1;
  else if (!strcmp(status, "invalid"))
    r->exit_code = 2;
  else
    r->exit_code = 3;
}

static void system_fault(jd_build_result *r, const char *stage, int rc, const char *what) {
  const dk_error *e = dk_error_last();
  char msg[1024];
  snprintf(msg, sizeof msg, "%s: %s", what,
           rc == -1          ? strerror(errno)
           : e && e->message ? e->message
                             : dk_strerror(rc));
  outcome(r, "error", "UE", stage, msg);
  r->error_code = rc;
}

/* Ensures one environment image. Returns 0 to go on, 1 when the result is
 * final (a failure was recorded). */
static int env_image(jd_build_result *r, jd_ctx *ctx, const jd_build_request *req, jd_op op,
                     const char *dockerfile, size_t len, jd_build_image *slot) {
  const char *stage = op == JD_OP_RUN ? "run_image" : "build_image";
  jd_env_image *img = NULL;
  char tag[256];
  jd_image_tag_for(tag, sizeof tag, req->ref.domain, req->ref.id, op, dockerfile, len);
  say(req, "%s image %s", jd_op_name(op), tag);
  int rc =
      jd_env_image_ensure(&img, ctx, req->ref.domain, req->ref.id, op, dockerfile, len,
                          &req->limits, req->labels, req->nlabels, relay, (void *)req, req->cancel);
  if (rc) {
    system_fault(r, stage, rc, "image build");
    return 1;
  }
  set_str(&slot->tag, img->tag);
  set_str(&slot->image_id, img->image_id);
  slot->cached = img->cached;
  int final = 0;
  if (strcmp(img->verdict, "OK")) {
    outcome(r, strcmp(img->verdict, "UE") ? "failed" : "error", img->verdict, stage, img->message);
    set_str(&r->log, img->log);
    final = 1;
  } else {
    say(req, "%s image %s: %s", jd_op_name(op), img->tag, img->cached ? "cached" : "built");
  }
  jd_env_image_free(img);
  return final;
}

int jd_build_run(jd_build_result **out, jd_ctx *ctx, const jd_build_request *req) {
  *out = NULL;
  jd_build_result *r = calloc(1, sizeof *r);
  if (!r)
    return -1;
  int64_t t0 = jd_mono_ms();
  jd_source *src = NULL;
  char *run_df = NULL, *build_df = NULL;
  size_t run_len = 0, build_len = 0;
  char err[1024] = "";
  int ops = req->ops ? req->ops : JD_BUILD_OP_ALL;
  set_str(&r->domain, jd_domain_name(req->ref.domain));
  set_str(&r->id, req->ref.id);

  if (jd_program_id_check(req->ref.id, err, sizeof err) != 0) {
    outcome(r, "invalid", NULL, "source", err);
    goto done;
  }
  if (!ctx->state_dir) {
    outcome(r, "invalid", NULL, "source", "no state directory");
    goto done;
  }
  int rc = jd_source_open(&src, ctx->state_dir, &req->ref, err, sizeof err);
  if (rc) {
    outcome(r,
            rc == JD_SRC_EUSAGE     ? "invalid"
            : rc == JD_SRC_EPROGRAM ? "failed"
                                    : "error",
            rc == JD_SRC_EUSAGE     ? NULL
            : rc == JD_SRC_EPROGRAM ? "CE"
                                    : "UE",
            "source", err);
    goto done;
  }
  set_str(&r->source_identity, src->identity);
  set_str(&r->commit, src->commit);
  if (src->commit)
    say(req, "source %s at %s: commit %s", req->ref.git_url,
        req->ref.git_ref ? req->ref.git_ref : "HEAD", src->commit);
  else
    say(req, "source %s: %s", req->ref.dir ? req->ref.dir : req->ref.tar_url, src->identity);

  rc = jd_source_dockerfile(&run_df, &run_len, src, JD_RUN_DOCKERFILE, false, err, sizeof err);
  if (!rc)
    rc = jd_source_dockerfile(&build_df, &build_len, src, JD_BUILD_DOCKERFILE, true, err,
                              sizeof err);
  if (rc) {
    outcome(r, rc == JD_SRC_EPROGRAM ? "failed" : "error", rc == JD_SRC_EPROGRAM ? "CE" : "UE",
            "source", err);
    goto done;
  }
  if ((ops & JD_BUILD_OP_RUN) && env_image(r, ctx, req, JD_OP_RUN, run_df, run_len, &r->run))
    goto done;
  if (ops & JD_BUILD_OP_BUILD) {
    if (build_df && env_image(r, ctx, req, JD_OP_BUILD, build_df, build_len, &r->build))
      goto done;
    if (!build_df)
      say(req, "no %s: the artifacts are the source itself", JD_BUILD_DOCKERFILE);
    else
      say(req, "artifacts: running %s over a copy of the source", r->build.tag);
    jd_artifacts *a = NULL;
    /* Look first: a git source is written out only for a real build. */
    rc = jd_artifacts_lookup(&a, ctx, src->identity, r->build.image_id);
    if (!rc && !a) {
      int mrc = jd_source_materialize(src, err, sizeof err);
      if (mrc) {
        outcome(r, mrc == JD_SRC_EPROGRAM ? "failed" : "error",
                mrc == JD_SRC_EPROGRAM ? "CE" : "UE", "source", err);
        goto done;
      }
    }
    if (!rc && !a)
      rc = jd_artifacts_ensure(&a, ctx, req->ref.domain, req->ref.id, src->dir, src->identity,
                               r->build.image_id, &req->limits, req->labels, req->nlabels, relay,
                               (void *)req, req->cancel);
    if (rc) {
      system_fault(r, "artifacts", rc, "program build");
      goto done;
    }
    set_str(&r->artifacts_key, a->key);
    set_str(&r->artifacts_dir, a->dir);
    r->artifacts_cached = a->cached;
    if (strcmp(a->verdict, "OK")) {
      outcome(r, strcmp(a->verdict, "UE") ? "failed" : "error", a->verdict, "artifacts",
              a->message);
      set_str(&r->log, a->log);
      jd_artifacts_free(a);
      goto done;
    }
    set_str(&r->log, a->log);
    say(req, "artifacts %s: %s", a->key, a->cached ? "cached" : "built");
    jd_artifacts_free(a);
  }
  outcome(r, "ok", "OK", "done", NULL);
done:
  r->duration_ms = jd_mono_ms() - t0;
  free(run_df);
  free(build_df);
  jd_source_free(src);
  if (!r->status) { /* set_str ran out of memory */
    jd_build_result_free(r);
    return -1;
  }
  *out = r;
  return 0;
}
