/* The real task executor: builds and matches (see executor.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "build/build.h"
#include "build/build_policy.h"
#include "build/build_request.h"
#include "build/dockerfile.h"
#include "common/clock.h"
#include "common/error.h"
#include "common/labels.h"
#include "common/run_owner.h"
#include "common/util.h"
#include "daemon/executor.h"
#include "daemon/publish.h"
#include "match/match.h"
#include "match/match_policy.h"

/* ---- prepare: the task's spec, parsed once ------------------------------ */

/* What prepare() makes of a task and execute() runs. */
typedef struct prepared {
  jd_task_kind kind;
  jd_match_spec *spec;     /* a match */
  json_object *build_json; /* a build: req's strings point into it */
  jd_build_request req;
  char owner[320];  /* judger.match=<id>, or a build's judger.owner=<id> */
  jd_run_owner run; /* held from execute() to the end (a match: its teardown) */
} prepared;

static void release(void *self, void *ptr) {
  (void)self;
  prepared *p = ptr;
  if (!p)
    return;
  jd_run_owner_release(&p->run);
  jd_match_spec_free(p->spec);
  json_object_put(p->build_json);
  free(p);
}

static int prepare(void **out, void *self, const jd_task *t, char *err, size_t errlen) {
  const jd_ctx *ctx = self;
  *out = NULL;
  prepared *p = calloc(1, sizeof *p);
  if (!p)
    return jd_fail(err, errlen, "out of memory");
  p->kind = t->kind;
  p->run = (jd_run_owner)JD_RUN_OWNER_NONE;
  int rc = -1;
  if (t->kind == JD_TASK_MATCH) {
    char why[512];
    rc = jd_match_spec_from_object(&p->spec, t->spec, NULL, why, sizeof why);
    /* What the task asks of this host: refused (a dead letter naming the
     * field) before anything is built or made. */
    if (!rc && ctx)
      rc = jd_match_spec_check_policy(p->spec, &ctx->policy, ctx->state_dir, jd_base_images(ctx),
                                      why, sizeof why);
    if (rc)
      jd_fail(err, errlen, "match: %s", why);
    else
      snprintf(p->owner, sizeof p->owner, "%s=%s", JD_LABEL_MATCH, p->spec->id);
  } else {
    /* The request's strings point into the object: keep a reference. */
    p->build_json = json_object_get(t->spec);
    rc = jd_build_request_parse(&p->req, p->build_json, err, errlen);
    if (!rc && ctx)
      rc = jd_build_request_check_policy(&p->req, JD_BUILD_SYNTAX_TASK, &ctx->policy,
                                         ctx->state_dir, err, errlen);
    /* What the build creates carries an owner label of its own (run_build):
     * this daemon's sweeps and every other judger's keep exactly that. */
    char id[JD_RUN_ID_LEN + 1];
    if (!rc && jd_run_id_new(id))
      rc = jd_fail(err, errlen, "no randomness for the build's owner label");
    if (!rc)
      snprintf(p->owner, sizeof p->owner, "%s=%s", JD_LABEL_OWNER, id);
  }
  if (rc) {
    release(self, p);
    return -1;
  }
  *out = p;
  return 0;
}

/* ---- execution ------------------------------------------------------------ */

static void build_line(void *ud, const char *line) {
  const jd_exec_env *env = ud;
  (void)line;
  /* Build output is activity, not progress: the line itself stays in the
   * build log. */
  const jd_match_event ev = {.type = JD_EVENT_BUILD_OUTPUT};
  env->event(env->ud, &ev);
}

/* A finished build's status as the task's (an error here is a cancelled
 * build: the other errors were retried). */
static jd_task_status build_task_status(jd_build_status s) {
  switch (s) {
  case JD_BUILD_STATUS_OK:
    return JD_TASK_STATUS_FINISHED;
  case JD_BUILD_STATUS_FAILED:
  case JD_BUILD_STATUS_INVALID:
    return JD_TASK_STATUS_FAILED;
  case JD_BUILD_STATUS_ERROR:
    return JD_TASK_STATUS_CANCELLED;
  case JD_BUILD_STATUS_COUNT:
    break;
  }
  return JD_TASK_STATUS_ERROR;
}

static int run_build(jd_ctx *ctx, const jd_build_request *prepared_req, const char *owner,
                     const jd_exec_env *env, jd_exec_result *res) {
  jd_build_request req = *prepared_req;
  const char *eq = strchr(owner, '=');
  dk_kv label[] = {{JD_LABEL_OWNER, eq ? eq + 1 : owner}};
  req.labels = label;
  req.nlabels = 1;
  req.progress = build_line;
  req.ud = (void *)env;
  req.cancel = env->cancel;
  jd_build_result *r = NULL;
  int64_t t0 = jd_mono_ms();
  int rc = jd_build_run(&r, ctx, &req);
  jd_exec_phase(res, JD_PHASE_BUILD, (double)(jd_mono_ms() - t0) / 1000.0);
  if (rc || !r) {
    res->reason = strdup("out of memory");
    return JD_EXEC_RETRY;
  }
  int outcome = JD_EXEC_DONE;
  bool cancelled = env->cancel && dk_cancel_fired(env->cancel);
  if (r->status == JD_BUILD_STATUS_INVALID) {
    res->reason = strdup(r->message ? r->message : "invalid build request");
    outcome = JD_EXEC_INVALID;
  } else if (r->status == JD_BUILD_STATUS_ERROR && !cancelled) {
    res->reason = strdup(r->message ? r->message : "system error");
    outcome = JD_EXEC_RETRY;
  } else {
    res->status = build_task_status(r->status);
    char summary[256];
    snprintf(summary, sizeof summary, "%s %s%s%s", jd_verdict_name(r->verdict),
             r->stage ? r->stage : "", r->message ? ": " : "", r->message ? r->message : "");
    res->summary = strdup(summary);
    res->result = jd_build_result_object(r);
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
    snprintf(out, n, "%s", r->reason ? r->reason : jd_match_status_name(r->status));
  }
}

/* A match's status as the task's: the two vocabularies meet only here, in a
 * switch the compiler checks when either list grows. */
static jd_task_status task_status_of(jd_match_status s) {
  switch (s) {
  case JD_MATCH_STATUS_FINISHED:
    return JD_TASK_STATUS_FINISHED;
  case JD_MATCH_STATUS_FAILED:
    return JD_TASK_STATUS_FAILED;
  case JD_MATCH_STATUS_CANCELLED:
    return JD_TASK_STATUS_CANCELLED;
  case JD_MATCH_STATUS_ERROR:
  case JD_MATCH_STATUS_COUNT:
    break;
  }
  return JD_TASK_STATUS_ERROR;
}

/* exit 128 + SIGTERM / SIGKILL */
#define EXIT_SIGTERM 143
#define EXIT_SIGKILL 137

/* The facts fault attribution needs from how one container ended. */
static void instance_facts(jd_exec_result *res, const jd_instance_result *in) {
  if (in->verdict == JD_VERDICT_UE)
    res->engine_error = true;
  if (in->verdict == JD_VERDICT_RE && !in->killed && !in->oom_killed &&
      (in->exit_code == EXIT_SIGTERM || in->exit_code == EXIT_SIGKILL))
    res->signal_exit = true;
}

/* A match's teardown, off the daemon's slot: the match's pending part and
 * the spec its unit threads still read (moved out of the prepared task). */
typedef struct match_teardown {
  jd_match_pending *pending;
  jd_match_spec *spec;
  jd_run_owner run; /* released once all is removed */
} match_teardown;

static double teardown(void *self, void *ptr) {
  (void)self;
  match_teardown *td = ptr;
  if (!td)
    return -1;
  int64_t ms = jd_match_teardown(td->pending);
  jd_run_owner_release(&td->run);
  jd_match_spec_free(td->spec);
  free(td);
  return ms >= 0 ? (double)ms / 1000.0 : -1;
}

/* Runs the match up to its result; what is left to remove goes to
 * res->teardown with the spec (p->spec moves there). */
static int run_match(jd_ctx *ctx, prepared *p, const jd_exec_env *env, jd_exec_result *res) {
  jd_match_hooks hooks = {.event = env->event, .ud = env->ud, .cancel = env->cancel};
  jd_match_result *r = NULL;
  jd_match_pending *pending = NULL;
  match_teardown *td = calloc(1, sizeof *td);
  char err[64] = "out of memory";
  int rc =
      td ? jd_match_run_detached(&r, &pending, ctx, p->spec, env->out_dir, &hooks, err, sizeof err)
         : -1;
  if (rc || !r) {
    free(td);
    res->reason = strdup(err);
    return JD_EXEC_RETRY;
  }
  td->pending = pending;
  td->spec = p->spec;
  p->spec = NULL;
  td->run = p->run; /* the run lives until the teardown is done */
  p->run = (jd_run_owner)JD_RUN_OWNER_NONE;
  res->teardown = td;
  const int64_t *ms[] = {&r->timing.prepare_ms, &r->timing.start_ms, &r->timing.run_ms};
  const jd_phase phases[] = {JD_PHASE_PREPARE, JD_PHASE_CONTAINER_START, JD_PHASE_RUN};
  for (size_t i = 0; i < 3; i++)
    if (*ms[i] >= 0)
      jd_exec_phase(res, phases[i], (double)*ms[i] / 1000.0);
  for (size_t i = 0; i < r->nplayers; i++)
    if ((unsigned)r->players[i].verdict < JD_VERDICT_COUNT)
      res->verdicts[r->players[i].verdict]++;
  for (size_t i = 0; i < r->ninstances; i++) {
    const jd_turn_stats *ts = &r->instances[i].turns;
    if (r->instances[i].clocked && ts->turns >= ts->timeouts && ts->timeouts >= 0) {
      res->turns_ended += (uint64_t)(ts->turns - ts->timeouts);
      res->turns_timed_out += (uint64_t)ts->timeouts;
    }
  }
  int outcome = JD_EXEC_DONE;
  if (r->status == JD_MATCH_STATUS_ERROR) {
    /* The judger's or the engine's fault: another attempt may succeed. */
    res->reason = strdup(r->reason ? r->reason : "system error");
    outcome = JD_EXEC_RETRY;
  } else {
    char summary[256];
    summarize(summary, sizeof summary, r);
    res->status = task_status_of(r->status);
    res->summary = strdup(summary);
    res->result = jd_match_result_object(r);
    instance_facts(res, &r->game_logic);
    for (size_t i = 0; i < r->ninstances; i++)
      instance_facts(res, &r->instances[i]);
  }
  jd_match_result_free(r);
  return outcome;
}

/* ---- a task's links to other tasks' files (issue 24, daemon/publish.h) ------- */

/* The match's {"task","file"} inputs, from Redis into the host's cache: a
 * missing one is the task's fault (the match runs and fails with it at
 * once, match_inputs.c); Redis or the disk: a retry. 0, or -1 with
 * res->reason. */
static int resolve_inputs(const jd_ctx *ctx, prepared *p, const jd_exec_env *env,
                          jd_exec_result *res) {
  char why[512];
  jd_fail_kind kind = JD_FAIL_SYSTEM;
  if (!jd_inputs_resolve(p->spec, env->q, ctx->state_dir, ctx->publish_max_bytes, &kind, why,
                         sizeof why) ||
      kind != JD_FAIL_SYSTEM)
    return 0;
  res->reason = strdup(why);
  return -1;
}

/* A finished task's "publish" files into Redis, before its result is
 * stored: a file missing or too big fails the task (its result says why);
 * Redis: a retry. The outcome to return. */
static int publish_outputs(const jd_ctx *ctx, const jd_task *t, const jd_exec_env *env,
                           jd_exec_result *res, int outcome) {
  char why[512];
  jd_fail_kind kind = JD_FAIL_SYSTEM;
  if (outcome != JD_EXEC_DONE || res->status != JD_TASK_STATUS_FINISHED || !t->npublish ||
      !jd_outputs_publish(env->q, t, env->claim, env->out_dir, ctx->publish_max_bytes, &kind, why,
                          sizeof why))
    return outcome;
  if (kind == JD_FAIL_SYSTEM) {
    free(res->reason);
    res->reason = strdup(why);
    return JD_EXEC_RETRY;
  }
  res->status = JD_TASK_STATUS_FAILED;
  free(res->summary);
  res->summary = strdup(why);
  if (res->result) {
    json_object_object_add(res->result, "status", json_object_new_string("failed"));
    json_object_object_add(res->result, "reason", json_object_new_string(why));
  }
  return outcome;
}

static int execute(void *self, const jd_task *t, void *ptr, const jd_exec_env *env,
                   jd_exec_result *res) {
  jd_ctx *ctx = self;
  prepared *p = ptr;
  if (!p || p->kind != t->kind || (t->kind == JD_TASK_MATCH && !p->spec)) {
    res->reason = strdup("task not prepared");
    return JD_EXEC_INVALID;
  }
  /* The run, held before anything is made: another judger's sweep on
   * this state dir (a second daemon, `judger run`) keeps what it owns. */
  const char *owned[] = {p->owner, NULL};
  if (p->run.fd < 0 && jd_run_owner_take(&p->run, ctx->state_dir, owned)) {
    char why[256];
    snprintf(why, sizeof why, "cannot hold a run file in the state directory: %s", strerror(errno));
    res->reason = strdup(why);
    return JD_EXEC_RETRY;
  }
  if (t->kind == JD_TASK_MATCH) {
    if (resolve_inputs(ctx, p, env, res))
      return JD_EXEC_RETRY;
    return publish_outputs(ctx, t, env, res, run_match(ctx, p, env, res));
  }
  int outcome = run_build(ctx, &p->req, p->owner, env, res);
  jd_run_owner_release(&p->run);
  return publish_outputs(ctx, t, env, res, outcome);
}

static const char *owner(void *self, const void *ptr) {
  (void)self;
  const prepared *p = ptr;
  return p && p->owner[0] ? p->owner : NULL;
}

void jd_executor_real(jd_executor *out, jd_ctx *ctx) {
  out->owner = owner;
  out->prepare = prepare;
  out->execute = execute;
  out->release = release;
  out->teardown = teardown;
  out->self = ctx;
}
