/* The spec's "inputs" (see match_spec.h, docs/match-spec.md "Inputs"):
 * at most JD_MATCH_MAX_INPUTS objects, each a URL with its sha256 or a
 * task's published output, under a name unique in the match. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "match/input_cache.h"
#include "match/match_spec_internal.h"

/* A task id as the queue takes it (queue/task.h jd_task_id_valid; the
 * match part does not depend on the queue): [A-Za-z0-9][A-Za-z0-9_.-]*, at
 * most 128 chars. */
static bool task_id_ok(const char *id) {
  size_t n = strnlen(id, 129);
  if (n == 0 || n > 128 || id[0] == '.' || id[0] == '_' || id[0] == '-')
    return false;
  return strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n;
}

/* An output path as the queue takes "publish" (jd_task_out_path_ok):
 * relative, no empty, "." or ".." component, at most 255 bytes. */
static bool out_path_ok(const char *p) {
  size_t n = strnlen(p, 256);
  if (n == 0 || n > 255 || p[0] == '/')
    return false;
  for (const char *c = p; *c;) {
    size_t k = strcspn(c, "/");
    if (k == 0 || (k == 1 && c[0] == '.') || (k == 2 && c[0] == '.' && c[1] == '.'))
      return false;
    c += k;
    if (*c == '/')
      c++;
    if (*c == '\0' && c[-1] == '/')
      return false;
  }
  return true;
}

/* The optional string fields of an input: *out (NULL when absent). */
static int opt_string(jd_spec_err *e, const char *where, json_object *o, const char *key,
                      char **out) {
  json_object *v;
  char f[64];
  snprintf(f, sizeof f, "%s.%s", where, key);
  if (!json_object_object_get_ex(o, key, &v))
    return 0;
  if (jd_spec_get_string(e, f, v, out))
    return -1;
  return **out ? 0 : jd_spec_bad(e, f, "must not be empty");
}

/* {"url", "sha256", "max_bytes"}: the URL's form is checked here, its
 * scheme against the host's policy when it is fetched. */
static int parse_url_input(jd_spec_err *e, const char *where, json_object *o, jd_match_input *in) {
  json_object *v;
  char f[64];
  char *sha = NULL;
  snprintf(f, sizeof f, "%s.url", where);
  if (strncmp(in->url, "http://", 7) && strncmp(in->url, "https://", 8))
    return jd_spec_bad(e, f, "must be http:// or https://");
  if (strlen(in->url) > 4096)
    return jd_spec_bad(e, f, "longer than 4096 bytes");
  snprintf(f, sizeof f, "%s.sha256", where);
  if (!json_object_object_get_ex(o, "sha256", &v))
    return jd_spec_bad(e, f, "missing (the bytes the URL must give)");
  if (jd_spec_get_string(e, f, v, &sha))
    return -1;
  bool ok = jd_sha256_hex_ok(sha);
  if (ok)
    memcpy(in->sha256, sha, 65);
  free(sha);
  if (!ok)
    return jd_spec_bad(e, f, "must be 64 lower-case hex digits");
  snprintf(f, sizeof f, "%s.max_bytes", where);
  return json_object_object_get_ex(o, "max_bytes", &v) &&
                 jd_spec_get_size(e, f, v, 1, (int64_t)1 << 40, &in->max_bytes)
             ? -1
             : 0;
}

/* {"task", "file"}: a task id and an output path (the upload's rule). */
static int parse_task_input(jd_spec_err *e, const char *where, jd_match_input *in) {
  char f[64];
  snprintf(f, sizeof f, "%s.task", where);
  if (!task_id_ok(in->task))
    return jd_spec_bad(e, f, "not a task id");
  snprintf(f, sizeof f, "%s.file", where);
  if (!in->file)
    return jd_spec_bad(e, f, "missing (the output the task published)");
  if (!out_path_ok(in->file))
    return jd_spec_bad(e, f, "not an output path (relative, no \"..\", at most 255 bytes)");
  return 0;
}

static int parse_input(jd_spec_err *e, size_t i, json_object *o, jd_match_input *in) {
  static const char *const keys[] = {"name", "url", "sha256", "max_bytes", "task", "file", NULL};
  char where[32], f[64];
  snprintf(where, sizeof where, "inputs[%zu]", i);
  if (!json_object_is_type(o, json_type_object))
    return jd_spec_bad(e, where, "must be an object");
  if (jd_spec_check_keys(e, where, o, keys))
    return -1;
  snprintf(f, sizeof f, "%s.name", where);
  if (opt_string(e, where, o, "name", &in->name))
    return -1;
  if (!in->name)
    return jd_spec_bad(e, f, "missing");
  if (!jd_input_name_ok(in->name))
    return jd_spec_bad(e, f, "must be [A-Za-z0-9._-], no leading dot, at most %d chars",
                       JD_INPUT_NAME_MAX);
  if (opt_string(e, where, o, "url", &in->url) || opt_string(e, where, o, "task", &in->task) ||
      opt_string(e, where, o, "file", &in->file))
    return -1;
  if (!in->url == !in->task)
    return jd_spec_bad(e, where, "give either \"url\" (with \"sha256\") or \"task\" and \"file\"");
  if (in->url) {
    if (in->file)
      return jd_spec_bad(e, where, "\"file\" goes with \"task\", not \"url\"");
    return parse_url_input(e, where, o, in);
  }
  if (json_object_object_get_ex(o, "sha256", NULL) ||
      json_object_object_get_ex(o, "max_bytes", NULL))
    return jd_spec_bad(e, where, "\"sha256\" and \"max_bytes\" go with \"url\", not \"task\"");
  return parse_task_input(e, where, in);
}

int jd_match_inputs_parse(jd_spec_err *e, json_object *v, jd_match_spec *s) {
  if (!json_object_is_type(v, json_type_array))
    return jd_spec_bad(e, "inputs", "must be an array of objects");
  size_t n = json_object_array_length(v);
  if (n > JD_MATCH_MAX_INPUTS)
    return jd_spec_bad(e, "inputs", "%zu inputs: at most %d", n, JD_MATCH_MAX_INPUTS);
  s->inputs = calloc(n ? n : 1, sizeof *s->inputs);
  if (!s->inputs)
    return jd_spec_bad(e, "inputs", "out of memory");
  s->ninputs = n;
  for (size_t i = 0; i < n; i++) {
    if (parse_input(e, i, json_object_array_get_idx(v, i), &s->inputs[i]))
      return -1;
    for (size_t j = 0; j < i; j++)
      if (!strcmp(s->inputs[j].name, s->inputs[i].name)) {
        char f[32];
        snprintf(f, sizeof f, "inputs[%zu].name", i);
        return jd_spec_bad(e, f, "\"%s\" is inputs[%zu]'s too", s->inputs[i].name, j);
      }
  }
  return 0;
}

void jd_match_inputs_free(jd_match_spec *s) {
  for (size_t i = 0; s->inputs && i < s->ninputs; i++) {
    free(s->inputs[i].name);
    free(s->inputs[i].url);
    free(s->inputs[i].task);
    free(s->inputs[i].file);
    free(s->inputs[i].unresolved);
  }
  free(s->inputs);
  s->inputs = NULL;
  s->ninputs = 0;
}
