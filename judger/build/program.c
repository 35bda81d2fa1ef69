/* Programs: domains, ids, image tags, limits, and the progress lines the
 * build modules share. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "build/program.h"
#include "common/crfold.h"
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

void jd_build_limits_defaults(jd_build_limits *out, const jd_build_limits *limits) {
  *out = limits ? *limits : (jd_build_limits){0};
  if (out->cpus <= 0)
    out->cpus = JD_BUILD_DEFAULT_CPUS;
  if (!out->memory)
    out->memory = JD_BUILD_DEFAULT_MEMORY;
  if (!out->pids)
    out->pids = JD_BUILD_DEFAULT_PIDS;
  if (!out->wall_ms)
    out->wall_ms = JD_BUILD_DEFAULT_WALL_MS;
  if (!out->log_max)
    out->log_max = JD_BUILD_DEFAULT_LOG_MAX;
  if (out->artifacts_bytes <= 0)
    out->artifacts_bytes = JD_BUILD_DEFAULT_ARTIFACTS_BYTES;
  if (out->artifacts_files <= 0)
    out->artifacts_files = JD_BUILD_DEFAULT_ARTIFACTS_FILES;
  if (out->artifacts_depth <= 0)
    out->artifacts_depth = JD_BUILD_DEFAULT_ARTIFACTS_DEPTH;
  if (out->image_bytes <= 0)
    out->image_bytes = JD_BUILD_DEFAULT_IMAGE_BYTES;
}

const char *jd_engine_message(int rc) {
  return dk_error_last() ? dk_error_last()->message : dk_strerror(rc);
}

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

/* A line as a terminal would show it: only the last state of a line that
 * a progress bar rewrote with CRs. */
static int progress_line(void *ud, const char *line, size_t len) {
  jd_progress *p = ud;
  char *folded = jd_crfold(line, len, NULL);
  p->fn(p->ud, folded ? folded : line);
  free(folded);
  return 0;
}

void jd_progress_init(jd_progress *p, jd_progress_fn fn, void *ud) {
  p->fn = fn;
  p->ud = ud;
  dk_lines_init(&p->lines, 64 * 1024, progress_line, p);
}

void jd_progress_feed(jd_progress *p, const char *text, size_t len) {
  if (p->fn)
    (void)dk_lines_feed(&p->lines, text, len); /* out of memory: progress is lost, not the build */
}

void jd_progress_finish(jd_progress *p) {
  if (p->fn)
    (void)dk_lines_finish(&p->lines);
  dk_lines_free(&p->lines);
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
