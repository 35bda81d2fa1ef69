/* Build requests from flags and from tasks: one set of rules (see
 * build_request.h). */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "build/build_request.h"
#include "common/error.h"
#include "common/size.h"

static const struct {
  const char *flag, *key;
} field_names[] = {
#define JD_BUILD_FIELD_NAME(code, flag, key) {flag, "build." key},
    JD_BUILD_FIELD_MAP(JD_BUILD_FIELD_NAME)
#undef JD_BUILD_FIELD_NAME
};

const char *jd_build_field_name(jd_build_syntax syntax, jd_build_field field) {
  if ((unsigned)field >= JD_BUILD_FIELD_COUNT)
    return "?";
  return syntax == JD_BUILD_SYNTAX_FLAGS ? field_names[field].flag : field_names[field].key;
}

static const char *name(const jd_build_fields *f, jd_build_field field) {
  return jd_build_field_name(f->syntax, field);
}

void jd_build_fields_init(jd_build_fields *f, jd_build_syntax syntax) {
  memset(f, 0, sizeof *f);
  f->syntax = syntax;
}

/* ---- one field ------------------------------------------------------------ */

/* Every limit given, by a flag or a task, comes through one of these two. */
static int set_cpus(jd_build_fields *f, double v, char *err, size_t errlen) {
  if (!(v > 0) || !isfinite(v))
    return jd_fail(err, errlen, "%s must be more than 0", name(f, JD_BUILD_FIELD_CPUS));
  /* In range before any conversion: cpus becomes a CPU quota in
   * microseconds (an int64), where 1e300 was undefined behaviour. */
  if (v > JD_BUILD_CPUS_MAX)
    return jd_fail(err, errlen, "%s must be at most %d", name(f, JD_BUILD_FIELD_CPUS),
                   JD_BUILD_CPUS_MAX);
  f->req.limits.cpus = v;
  return 0;
}

static int set_whole(jd_build_fields *f, jd_build_field field, int64_t v, char *err,
                     size_t errlen) {
  if (v <= 0)
    return jd_fail(err, errlen, "%s must be more than 0", name(f, field));
  jd_build_limits *l = &f->req.limits;
  switch (field) {
  case JD_BUILD_FIELD_MEMORY:
    l->memory = v;
    break;
  case JD_BUILD_FIELD_PIDS:
    l->pids = v;
    break;
  case JD_BUILD_FIELD_WALL:
    l->wall_ms = v;
    break;
  case JD_BUILD_FIELD_LOG_MAX:
    l->log_max = (size_t)v;
    break;
  default:
    return jd_fail(err, errlen, "%s is not a number", name(f, field));
  }
  return 0;
}

static int parse_ops(int *ops, const char *s) {
  if (!strcmp(s, "all"))
    *ops = JD_BUILD_OP_ALL;
  else if (!strcmp(s, "build"))
    *ops = JD_BUILD_OP_BUILD;
  else if (!strcmp(s, "run"))
    *ops = JD_BUILD_OP_RUN;
  else
    return -1;
  return 0;
}

/* A number's text that is not one: -1 with the form it takes in err. */
static int malformed(const jd_build_fields *f, jd_build_field field, const char *text, char *err,
                     size_t errlen) {
  return jd_fail(err, errlen, "bad %s '%s' (%s)", name(f, field), text,
                 field == JD_BUILD_FIELD_WALL   ? "seconds"
                 : field == JD_BUILD_FIELD_CPUS ? "a number"
                 : field == JD_BUILD_FIELD_PIDS ? "an integer"
                                                : "a size, e.g. 512m, 1g");
}

/* The numbers' text forms: 0, or -1 with the reason in err. */
static int parse_number(jd_build_fields *f, jd_build_field field, const char *text, char *err,
                        size_t errlen) {
  char *end = NULL;
  errno = 0;
  switch (field) {
  case JD_BUILD_FIELD_CPUS: {
    double v = strtod(text, &end);
    if (*end || end == text)
      return malformed(f, field, text, err, errlen);
    return set_cpus(f, v, err, errlen);
  }
  case JD_BUILD_FIELD_PIDS: {
    long long v = strtoll(text, &end, 10);
    if (*end || end == text || errno)
      return malformed(f, field, text, err, errlen);
    return set_whole(f, field, v, err, errlen);
  }
  case JD_BUILD_FIELD_WALL: {
    double s = strtod(text, &end);
    if (*end || end == text)
      return malformed(f, field, text, err, errlen);
    if (s > (double)INT64_MAX / 1000 || !isfinite(s))
      return jd_fail(err, errlen, "%s is too large", name(f, field));
    return set_whole(f, field, (int64_t)(s * 1000), err, errlen);
  }
  default: { /* MEMORY, LOG_MAX */
    int64_t v = 0;
    if (jd_parse_size(&v, text))
      return malformed(f, field, text, err, errlen);
    return set_whole(f, field, v, err, errlen);
  }
  }
}

int jd_build_fields_set(jd_build_fields *f, jd_build_field field, const char *text, char *err,
                        size_t errlen) {
  jd_program_ref *ref = &f->req.ref;
  const char *n = name(f, field);
  if (!text && field != JD_BUILD_FIELD_NETWORK)
    return jd_fail(err, errlen, "%s needs a value", n);
  switch (field) {
  case JD_BUILD_FIELD_DOMAIN:
    if (jd_domain_parse(&ref->domain, text))
      return jd_fail(err, errlen, "%s must be 'ai' or 'game_logic' (got '%s')", n, text);
    f->domain_given = true;
    return 0;
  case JD_BUILD_FIELD_ID:
    ref->id = text;
    return 0;
  case JD_BUILD_FIELD_DIR:
    ref->dir = text;
    return 0;
  case JD_BUILD_FIELD_GIT:
    ref->git_url = text;
    return 0;
  case JD_BUILD_FIELD_REF:
    ref->git_ref = text;
    return 0;
  case JD_BUILD_FIELD_TAR:
    ref->tar_url = text;
    return 0;
  case JD_BUILD_FIELD_OPS:
    if (parse_ops(&f->req.ops, text))
      return jd_fail(err, errlen, "%s must be build, run or all (got '%s')", n, text);
    return 0;
  case JD_BUILD_FIELD_NETWORK:
    f->req.limits.network = true;
    return 0;
  case JD_BUILD_FIELD_IMAGE_NETWORK:
    f->req.limits.image_network = text;
    return 0;
  default:
    return parse_number(f, field, text, err, errlen);
  }
}

/* ---- the whole request ------------------------------------------------------ */

int jd_build_request_check(const jd_build_fields *f, char *err, size_t errlen) {
  const jd_build_request *req = &f->req;
  const jd_program_ref *ref = &req->ref;
  char why[512];
  if (!f->domain_given)
    return jd_fail(err, errlen, "%s must be 'ai' or 'game_logic'", name(f, JD_BUILD_FIELD_DOMAIN));
  if (jd_program_id_check(ref->id, why, sizeof why))
    return jd_fail(err, errlen, "%s: %s", name(f, JD_BUILD_FIELD_ID), why);
  if (!!ref->dir + !!ref->git_url + !!ref->tar_url != 1)
    return jd_fail(err, errlen, "give exactly one of %s, %s, %s", name(f, JD_BUILD_FIELD_DIR),
                   name(f, JD_BUILD_FIELD_GIT), name(f, JD_BUILD_FIELD_TAR));
  if (ref->git_ref && !ref->git_url)
    return jd_fail(err, errlen, "%s needs %s", name(f, JD_BUILD_FIELD_REF),
                   name(f, JD_BUILD_FIELD_GIT));
  if (req->ops & ~JD_BUILD_OP_ALL)
    return jd_fail(err, errlen, "%s must be build, run or all", name(f, JD_BUILD_FIELD_OPS));
  const jd_build_limits *l = &req->limits;
  jd_build_field negative = l->cpus < 0      ? JD_BUILD_FIELD_CPUS
                            : l->memory < 0  ? JD_BUILD_FIELD_MEMORY
                            : l->pids < 0    ? JD_BUILD_FIELD_PIDS
                            : l->wall_ms < 0 ? JD_BUILD_FIELD_WALL
                                             : JD_BUILD_FIELD_COUNT;
  if (negative != JD_BUILD_FIELD_COUNT)
    return jd_fail(err, errlen, "%s must not be negative", name(f, negative));
  return 0;
}

/* ---- from a task's JSON ------------------------------------------------------ */

static int wrong_type(const jd_build_fields *f, jd_build_field field, const char *want, char *err,
                      size_t errlen) {
  return jd_fail(err, errlen, "%s: must be %s", name(f, field), want);
}

/* The keys whose value is a string, set as their text form. */
static int json_strings(jd_build_fields *f, json_object *o, const jd_build_field *fields, size_t n,
                        char *err, size_t errlen) {
  for (size_t i = 0; i < n; i++) {
    const char *key = field_names[fields[i]].key + strlen("build.");
    const char *leaf = strrchr(key, '.');
    json_object *v = NULL;
    if (!json_object_object_get_ex(o, leaf ? leaf + 1 : key, &v))
      continue;
    if (!json_object_is_type(v, json_type_string))
      return wrong_type(f, fields[i], "a string", err, errlen);
    if (jd_build_fields_set(f, fields[i], json_object_get_string(v), err, errlen))
      return -1;
  }
  return 0;
}

/* memory, pids, wall_ms, log_max: integers; memory and log_max may also be
 * size strings. */
static int json_whole(jd_build_fields *f, json_object *lim, const char *key, jd_build_field field,
                      char *err, size_t errlen) {
  json_object *v = NULL;
  if (!json_object_object_get_ex(lim, key, &v))
    return 0;
  bool sized = field == JD_BUILD_FIELD_MEMORY || field == JD_BUILD_FIELD_LOG_MAX;
  if (sized && json_object_is_type(v, json_type_string))
    return jd_build_fields_set(f, field, json_object_get_string(v), err, errlen);
  if (!json_object_is_type(v, json_type_int))
    return wrong_type(f, field, sized ? "an integer (bytes) or a size like \"512m\"" : "an integer",
                      err, errlen);
  return set_whole(f, field, json_object_get_int64(v), err, errlen);
}

static int json_limits(jd_build_fields *f, json_object *lim, char *err, size_t errlen) {
  json_object *v = NULL;
  if (json_object_object_get_ex(lim, "cpus", &v)) {
    if (!json_object_is_type(v, json_type_int) && !json_object_is_type(v, json_type_double))
      return wrong_type(f, JD_BUILD_FIELD_CPUS, "a number", err, errlen);
    if (set_cpus(f, json_object_get_double(v), err, errlen))
      return -1;
  }
  if (json_whole(f, lim, "memory", JD_BUILD_FIELD_MEMORY, err, errlen) ||
      json_whole(f, lim, "pids", JD_BUILD_FIELD_PIDS, err, errlen) ||
      json_whole(f, lim, "wall_ms", JD_BUILD_FIELD_WALL, err, errlen) ||
      json_whole(f, lim, "log_max", JD_BUILD_FIELD_LOG_MAX, err, errlen))
    return -1;
  if (json_object_object_get_ex(lim, "network", &v)) {
    if (!json_object_is_type(v, json_type_boolean))
      return wrong_type(f, JD_BUILD_FIELD_NETWORK, "true or false", err, errlen);
    f->req.limits.network = json_object_get_boolean(v);
  }
  static const jd_build_field strings[] = {JD_BUILD_FIELD_IMAGE_NETWORK};
  return json_strings(f, lim, strings, 1, err, errlen);
}

int jd_build_request_parse(jd_build_request *out, struct json_object *o, char *err, size_t errlen) {
  jd_build_fields f;
  jd_build_fields_init(&f, JD_BUILD_SYNTAX_TASK);
  memset(out, 0, sizeof *out);
  if (!json_object_is_type(o, json_type_object))
    return jd_fail(err, errlen, "build: must be an object");
  static const jd_build_field strings[] = {
      JD_BUILD_FIELD_DOMAIN, JD_BUILD_FIELD_ID,  JD_BUILD_FIELD_DIR, JD_BUILD_FIELD_GIT,
      JD_BUILD_FIELD_REF,    JD_BUILD_FIELD_TAR, JD_BUILD_FIELD_OPS};
  if (json_strings(&f, o, strings, sizeof strings / sizeof strings[0], err, errlen))
    return -1;
  json_object *lim = NULL;
  if (json_object_object_get_ex(o, "limits", &lim)) {
    if (!json_object_is_type(lim, json_type_object))
      return jd_fail(err, errlen, "build.limits: must be an object");
    if (json_limits(&f, lim, err, errlen))
      return -1;
  }
  if (jd_build_request_check(&f, err, errlen))
    return -1;
  f.req.ops = f.req.ops ? f.req.ops : JD_BUILD_OP_ALL;
  *out = f.req;
  return 0;
}
