/* Programs: domains, ids, image tags, and jd_program_prepare. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "build/build.h"
#include "common/log.h"
#include "build/program.h"
#include "common/util.h"

int jd_domain_parse(jd_domain *out, const char *s) {
  if (!s)
    return -1;
  if (!strcmp(s, "game_logic")) {
    *out = JD_DOMAIN_GAME_LOGIC;
    return 0;
  }
  if (!strcmp(s, "ai")) {
    *out = JD_DOMAIN_AI;
    return 0;
  }
  return -1;
}

const char *jd_domain_name(jd_domain d) { return d == JD_DOMAIN_GAME_LOGIC ? "game_logic" : "ai"; }

const char *jd_op_name(jd_op op) { return op == JD_OP_BUILD ? "build" : "run"; }

static bool is_alnum_lower(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

/* Docker's path-component grammar: [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*. */
static bool docker_component_ok(const char *s) {
  if (!is_alnum_lower(*s))
    return false;
  while (*s) {
    if (is_alnum_lower(*s)) {
      s++;
      continue;
    }
    const char *p = s;
    if (*p == '.') {
      p++;
    } else if (*p == '_') {
      p++;
      if (*p == '_')
        p++;
    } else if (*p == '-') {
      while (*p == '-')
        p++;
    } else {
      return false;
    }
    if (!is_alnum_lower(*p))
      return false;
    s = p;
  }
  return true;
}

int jd_program_id_check(const char *id, char *err, size_t errlen) {
  if (!id || !*id) {
    snprintf(err, errlen, "program id is missing");
    return -1;
  }
  if (strlen(id) > 64) {
    snprintf(err, errlen, "program id '%.20s...' is longer than 64 characters", id);
    return -1;
  }
  if (!jd_is_safe_name(id, 64)) {
    snprintf(err, errlen,
             "program id '%s' is invalid: use lowercase letters, digits, '_', '.', '-', "
             "starting with a letter or digit",
             id);
    return -1;
  }
  /* The id ends up inside an image repository name: both domains and both
   * ops must give a valid one (e.g. "a..b" or "x." would not). */
  char repo[128];
  snprintf(repo, sizeof repo, "ai-%s-run", id);
  if (!docker_component_ok(repo)) {
    snprintf(err, errlen,
             "program id '%s' is invalid: '.' and '_' must sit between letters or digits "
             "(Docker image names), e.g. no '..', '__.', or trailing '.'/'_'",
             id);
    return -1;
  }
  return 0;
}

int jd_image_repo(char *out, size_t outlen, jd_domain d, const char *id, jd_op op) {
  int n = snprintf(out, outlen, "%s-%s-%s", jd_domain_name(d), id, jd_op_name(op));
  return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

int jd_image_tag_for(char *out, size_t outlen, jd_domain d, const char *id, jd_op op,
                     const void *dockerfile, size_t len) {
  char repo[128];
  char sha[65];
  if (jd_image_repo(repo, sizeof repo, d, id, op))
    return -1;
  jd_sha256_hex(sha, dockerfile, len);
  int n = snprintf(out, outlen, "%s:%s", repo, sha);
  return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

void jd_prepared_free(jd_prepared *p) {
  if (!p)
    return;
  free(p->run_image);
  free(p->app_dir);
  free(p->verdict);
  free(p->log);
  free(p->message);
  free(p);
}

int jd_program_prepare(jd_prepared **out, jd_ctx *ctx, const jd_program_ref *ref,
                       const jd_build_limits *limits, void (*progress)(void *ud, const char *line),
                       void *ud) {
  *out = NULL;
  jd_build_request req = {.ref = *ref, .ops = JD_BUILD_OP_ALL, .progress = progress, .ud = ud};
  if (limits)
    req.limits = *limits;
  jd_build_result *r = NULL;
  if (jd_build_run(&r, ctx, &req) != 0)
    return DK_ENOMEM;
  int rc = 0;
  if (r->exit_code == 2 || r->exit_code == 3) {
    /* Not the program's fault: an invalid reference or a system failure. */
    jd_log(JD_LOG_ERROR, "build.error", "%s-%s: %s", jd_domain_name(ref->domain),
           ref->id ? ref->id : "?", r->message ? r->message : "failed");
    rc = r->exit_code == 2 ? DK_EINVAL : r->error_code < -1 ? r->error_code : DK_EINTERNAL;
    goto cleanup;
  }
  jd_prepared *p = calloc(1, sizeof *p);
  if (!p) {
    rc = DK_ENOMEM;
    goto cleanup;
  }
  p->run_image = r->run.tag;
  r->run.tag = NULL;
  p->app_dir = r->artifacts_dir;
  r->artifacts_dir = NULL;
  p->verdict = r->verdict;
  r->verdict = NULL;
  p->log = r->log;
  r->log = NULL;
  p->message = r->message;
  r->message = NULL;
  p->image_cached = r->run.cached && (!r->build.tag || r->build.cached);
  p->artifacts_cached = r->artifacts_cached;
  *out = p;
cleanup:
  jd_build_result_free(r);
  return rc;
}
