/* The real task executor: builds and matches (see executor.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "build/build.h"
#include "build/build_request.h"
#include "daemon/executor.h"
#include "match/match.h"
#include "common/util.h"

static int validate(void *self, const jd_task *t, char *err, size_t errlen) {
  (void)self;
  if (t->kind == JD_TASK_MATCH) {
    jd_match_spec *spec = NULL;
    char why[512];
    int rc = jd_match_spec_parse(&spec, t->spec_json, NULL, why, sizeof why);
    jd_match_spec_free(spec);
    if (rc)
      snprintf(err, errlen, "match: %s", why);
    return rc ? -1 : 0;
  }
  json_object *o = json_tokener_parse(t->spec_json);
  jd_build_request req;
  int rc = o ? jd_build_request_parse(&req, o, err, errlen) : -1;
  json_object_put(o);
  return rc;
}

/* ---- execution ------------------------------------------------------------ */

static void build_line(void *ud, const char *line) {
  const jd_exec_env *env = ud;
  (void)line;
  /* Build output is activity, not progress: the line itself stays in the
   * build log. */
  env->progress(env->ud, "{\"event\":\"build.output\"}");
}

static int run_build(jd_ctx *ctx, const jd_task *t, const jd_exec_env *env, jd_exec_result *res) {
  json_object *o = json_tokener_parse(t->spec_json);
  jd_build_request req;
  char err[512];
  if (!o || jd_build_request_parse(&req, o, err, sizeof err)) {
    json_object_put(o);
    res->reason = strdup(o ? err : "build: not JSON");
    return JD_EXEC_INVALID;
  }
  req.progress = build_line;
  req.ud = (void *)env;
  req.cancel = env->cancel;
  jd_build_result *r = NULL;
  int rc = jd_build_run(&r, ctx, &req);
  json_object_put(o);
  if (rc || !r) {
    res->reason = strdup("out of memory");
    return JD_EXEC_RETRY;
  }
  int outcome = JD_EXEC_DONE;
  if (r->status == JD_BUILD_STATUS_INVALID) {
    res->reason = strdup(r->message ? r->message : "invalid build request");
    outcome = JD_EXEC_INVALID;
  } else if (r->status == JD_BUILD_STATUS_ERROR && !(env->cancel && dk_cancel_fired(env->cancel))) {
    res->reason = strdup(r->message ? r->message : "system error");
    outcome = JD_EXEC_RETRY;
  } else {
    bool cancelled = r->status == JD_BUILD_STATUS_ERROR;
    res->status = strdup(cancelled                         ? "cancelled"
                         : r->status == JD_BUILD_STATUS_OK ? "finished"
                                                           : "failed");
    char summary[256];
    snprintf(summary, sizeof summary, "%s %s%s%s", jd_verdict_name(r->verdict),
             r->stage ? r->stage : "", r->message ? ": " : "", r->message ? r->message : "");
    res->summary = strdup(summary);
    res->result_json = jd_build_result_json(r);
  }
  jd_build_result_free(r);
  return outcome;
}

static void summarize(char *out, size_t n, const jd_match_result *r) {
  size_t k = 0;
  if (r->has_scores) {
    k += (size_t)snprintf(out, n, "scores");
    for (size_t i = 0; i < r->nplayers && k < n; i++)
      k += (size_t)snprintf(out + k, n - k, " %g", r->players[i].score);
  } else {
    snprintf(out, n, "%s", r->reason ? r->reason : r->status);
  }
}

static int run_match(jd_ctx *ctx, const jd_task *t, const jd_exec_env *env, jd_exec_result *res) {
  jd_match_spec *spec = NULL;
  char err[512];
  if (jd_match_spec_parse(&spec, t->spec_json, NULL, err, sizeof err)) {
    char why[600];
    snprintf(why, sizeof why, "match: %s", err);
    res->reason = strdup(why);
    return JD_EXEC_INVALID;
  }
  jd_match_hooks hooks = {env->progress, env->ud, env->cancel};
  jd_match_result *r = NULL;
  int rc = jd_match_run(&r, ctx, spec, env->out_dir, &hooks);
  jd_match_spec_free(spec);
  if (rc || !r) {
    res->reason = strdup(dk_strerror(rc));
    return JD_EXEC_RETRY;
  }
  int outcome = JD_EXEC_DONE;
  if (!strcmp(r->status, "error")) {
    /* The judger's or the engine's fault: another attempt may succeed. */
    res->reason = strdup(r->reason ? r->reason : "system error");
    outcome = JD_EXEC_RETRY;
  } else {
    char summary[256];
    summarize(summary, sizeof summary, r);
    res->status = strdup(r->status);
    res->summary = strdup(summary);
    res->result_json = jd_match_result_json(r);
  }
  jd_match_result_free(r);
  return outcome;
}

static int execute(void *self, const jd_task *t, const jd_exec_env *env, jd_exec_result *res) {
  jd_ctx *ctx = self;
  return t->kind == JD_TASK_BUILD ? run_build(ctx, t, env, res) : run_match(ctx, t, env, res);
}

void jd_executor_real(jd_executor *out, jd_ctx *ctx) {
  out->validate = validate;
  out->execute = execute;
  out->self = ctx;
}
