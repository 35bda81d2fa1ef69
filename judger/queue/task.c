/* A queued task's envelope (see task.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "common/error.h"
#include "common/json_text.h"
#include "common/util.h"
#include "queue/task.h"
#include "queue/task_internal.h"

bool jd_task_id_valid(const char *id) {
  if (!id || !*id || strlen(id) > JD_TASK_ID_MAX)
    return false;
  for (const char *p = id; *p; p++) {
    char c = *p;
    bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && (p == id || (c != '_' && c != '.' && c != '-')))
      return false;
  }
  return true;
}

const char *jd_task_kind_name(jd_task_kind k) { return k == JD_TASK_BUILD ? "build" : "match"; }

static const char *const status_names[] = {
#define JD_TASK_STATUS_NAME(code, name, text) name,
    JD_TASK_STATUS_MAP(JD_TASK_STATUS_NAME)
#undef JD_TASK_STATUS_NAME
};

const char *jd_task_status_name(jd_task_status s) {
  return (unsigned)s < JD_TASK_STATUS_COUNT ? status_names[s] : "?";
}

int jd_task_status_parse(jd_task_status *out, const char *s) {
  for (unsigned i = 0; s && i < JD_TASK_STATUS_COUNT; i++) {
    if (!strcmp(s, status_names[i])) {
      *out = (jd_task_status)i;
      return 0;
    }
  }
  return -1;
}

/* A relative path inside the output directory: no absolute path, no "..",
 * no empty component. */
bool jd_task_out_path_ok(const char *p) {
  if (!*p || *p == '/' || strlen(p) > 255)
    return false;
  const char *s = p;
  while (*s) {
    const char *e = strchr(s, '/');
    size_t n = e ? (size_t)(e - s) : strlen(s);
    if (n == 0 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
      return false;
    s += n;
    if (*s == '/')
      s++;
    else
      break;
  }
  return p[strlen(p) - 1] != '/';
}

static bool ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), m = strlen(suffix);
  return n >= m && !strcmp(s + n - m, suffix);
}

static int parse_uploads(jd_task *t, json_object *up, char *err, size_t errlen) {
  if (!json_object_is_type(up, json_type_object))
    return jd_fail(err, errlen, "upload: must be an object {path: url}");
  size_t n = (size_t)json_object_object_length(up);
  if (n > 64)
    return jd_fail(err, errlen, "upload: at most 64 files");
  t->uploads = calloc(n ? n : 1, sizeof *t->uploads);
  if (!t->uploads)
    return jd_fail(err, errlen, "out of memory");
  json_object_object_foreach(up, path, urlv) {
    const char *url =
        json_object_is_type(urlv, json_type_string) ? json_object_get_string(urlv) : NULL;
    if (!jd_task_out_path_ok(path))
      return jd_fail(err, errlen, "upload: bad path '%.100s' (relative, no '..')", path);
    if (!url || (strncmp(url, "http://", 7) && strncmp(url, "https://", 8)))
      return jd_fail(err, errlen, "upload.%.100s: must be an http(s) URL", path);
    jd_upload *u = &t->uploads[t->nuploads];
    u->path = strdup(path);
    u->url = strdup(url);
    u->gzip = ends_with(path, ".log");
    if (!u->path || !u->url) {
      free(u->path);
      free(u->url);
      return jd_fail(err, errlen, "out of memory");
    }
    t->nuploads++;
  }
  return 0;
}

/* JSON's type names, for "valid JSON but not an object (a number)". */
static const char *json_kind(json_object *o) {
  switch (json_object_get_type(o)) {
  case json_type_null:
    return "null";
  case json_type_boolean:
    return "a boolean";
  case json_type_double:
  case json_type_int:
    return "a number";
  case json_type_string:
    return "a string";
  case json_type_array:
    return "an array";
  case json_type_object:
    return "an object";
  }
  return "?";
}

/* The entry as JSON, nested at most max_depth levels: 0 and *root (NULL
 * for the JSON null), or -1 with the reason. */
static int parse_json(json_object **root, const char *json, int max_depth, char *err,
                      size_t errlen) {
  return jd_json_parse(root, json, strlen(json), max_depth, "task", " (setting entry_max_depth)",
                       err, errlen);
}

/* The task's fields from its object into t; 0, or -1 with err set (the
 * first field that is wrong). */
static int task_fields(jd_task *t, json_object *root, char *err, size_t errlen) {
  json_object *v = NULL;
  if (!json_object_object_get_ex(root, "id", &v) || !json_object_is_type(v, json_type_string) ||
      !jd_task_id_valid(json_object_get_string(v)))
    return jd_fail(err, errlen, "id: required, [A-Za-z0-9][A-Za-z0-9_.-]*, at most %d chars",
                   JD_TASK_ID_MAX);
  t->id = strdup(json_object_get_string(v));
  const char *type = NULL;
  if (json_object_object_get_ex(root, "type", &v) && json_object_is_type(v, json_type_string))
    type = json_object_get_string(v);
  if (!type || (strcmp(type, "build") && strcmp(type, "match")))
    return jd_fail(err, errlen, "type: required, \"build\" or \"match\"");
  t->kind = !strcmp(type, "build") ? JD_TASK_BUILD : JD_TASK_MATCH;
  if (!json_object_object_get_ex(root, type, &v) || !json_object_is_type(v, json_type_object))
    return jd_fail(err, errlen, "%s: required object for a %s task", type, type);
  t->spec = json_object_get(v);
  if (json_object_object_get_ex(root, "upload", &v) && parse_uploads(t, v, err, errlen))
    return -1;
  if (json_object_object_get_ex(root, "max_attempts", &v)) {
    int64_t n = json_object_get_int64(v);
    if (!json_object_is_type(v, json_type_int) || n < 1 || n > 100)
      return jd_fail(err, errlen, "max_attempts: an integer from 1 to 100");
    t->max_attempts = (int)n;
  }
  if (!t->id)
    return jd_fail(err, errlen, "out of memory");
  return jd_task_links_parse(t, root, err, errlen);
}

int jd_task_parse(jd_task **out, const char *json, int max_depth, char *err, size_t errlen) {
  *out = NULL;
  if (err && errlen)
    err[0] = '\0';
  if (!json)
    return jd_fail(err, errlen, "entry has no 'task' field");
  json_object *root = NULL;
  if (parse_json(&root, json, max_depth > 0 ? max_depth : JD_TASK_MAX_DEPTH_DEFAULT, err, errlen))
    return -1;
  jd_task *t = NULL;
  int rc = -1;
  if (!json_object_is_type(root, json_type_object)) {
    jd_fail(err, errlen, "task: valid JSON but not an object (%s)", json_kind(root));
    goto cleanup;
  }
  t = calloc(1, sizeof *t);
  if (!t) {
    jd_fail(err, errlen, "out of memory");
    goto cleanup;
  }
  if (task_fields(t, root, err, errlen))
    goto cleanup;
  *out = t;
  t = NULL;
  rc = 0;
cleanup:
  jd_task_free(t);
  json_object_put(root);
  return rc;
}

void jd_task_free(jd_task *t) {
  if (!t)
    return;
  for (size_t i = 0; i < t->nuploads; i++) {
    free(t->uploads[i].path);
    free(t->uploads[i].url);
  }
  free(t->uploads);
  jd_task_links_free(t);
  json_object_put(t->spec);
  free(t->id);
  free(t);
}
