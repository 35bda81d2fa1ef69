/* A task's links to its taskset (see task.h): the set it belongs to, its
 * ETA class, the tasks it waits for and the outputs it publishes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "common/error.h"
#include "queue/task.h"
#include "queue/task_internal.h"

/* A string field that must be a task id (or a class: the same charset). */
static int id_field(char **out, json_object *root, const char *key, char *err, size_t errlen) {
  json_object *v = NULL;
  if (!json_object_object_get_ex(root, key, &v))
    return 0;
  const char *s = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
  if (!s || !jd_task_id_valid(s))
    return jd_fail(err, errlen, "%s: [A-Za-z0-9][A-Za-z0-9_.-]*, at most %d chars", key,
                   JD_TASK_ID_MAX);
  *out = strdup(s);
  return *out ? 0 : jd_fail(err, errlen, "out of memory");
}

/* An array of strings, each checked by ok(), at most max, no repeats. */
static int list_field(char ***out, size_t *n, json_object *root, const char *key, size_t max,
                      bool (*ok)(const char *), const char *what, char *err, size_t errlen) {
  json_object *v = NULL;
  if (!json_object_object_get_ex(root, key, &v))
    return 0;
  if (!json_object_is_type(v, json_type_array) || json_object_array_length(v) > max)
    return jd_fail(err, errlen, "%s: an array of at most %zu %s", key, max, what);
  size_t len = json_object_array_length(v);
  *out = calloc(len ? len : 1, sizeof **out);
  if (!*out)
    return jd_fail(err, errlen, "out of memory");
  for (size_t i = 0; i < len; i++) {
    json_object *e = json_object_array_get_idx(v, i);
    const char *s = json_object_is_type(e, json_type_string) ? json_object_get_string(e) : NULL;
    if (!s || !ok(s))
      return jd_fail(err, errlen, "%s[%zu]: not %s", key, i, what);
    for (size_t j = 0; j < *n; j++)
      if (!strcmp((*out)[j], s))
        return jd_fail(err, errlen, "%s[%zu]: \"%s\" named twice", key, i, s);
    if (!((*out)[*n] = strdup(s)))
      return jd_fail(err, errlen, "out of memory");
    (*n)++;
  }
  return 0;
}

int jd_task_links_parse(jd_task *t, json_object *root, char *err, size_t errlen) {
  if (id_field(&t->taskset, root, "taskset", err, errlen) ||
      id_field(&t->klass, root, "class", err, errlen) ||
      list_field(&t->after, &t->nafter, root, "after", JD_TASK_AFTER_MAX, jd_task_id_valid,
                 "a task id", err, errlen) ||
      list_field(&t->publish, &t->npublish, root, "publish", JD_TASK_PUBLISH_MAX,
                 jd_task_out_path_ok, "a relative path in the output directory", err, errlen))
    return -1;
  for (size_t i = 0; i < t->nafter; i++)
    if (!strcmp(t->after[i], t->id))
      return jd_fail(err, errlen, "after[%zu]: a task cannot wait for itself", i);
  return 0;
}

static void free_list(char **l, size_t n) {
  for (size_t i = 0; i < n; i++)
    free(l[i]);
  free(l);
}

void jd_task_links_free(jd_task *t) {
  free(t->taskset);
  free(t->klass);
  free_list(t->after, t->nafter);
  free_list(t->publish, t->npublish);
}

/* Copies src into out as id characters (others become '_'). */
static void put_id(char *out, size_t len, size_t *at, const char *src) {
  for (const char *p = src; *p && *at + 1 < len; p++) {
    char c = *p;
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-';
    out[(*at)++] = ok ? c : '_';
  }
  out[*at] = '\0';
}

void jd_task_class(char *out, size_t len, const jd_task *t) {
  if (len < 2)
    return;
  size_t at = 0;
  out[0] = '\0';
  if (t->klass) {
    put_id(out, len, &at, t->klass);
    return;
  }
  json_object *v = NULL, *id = NULL;
  if (t->kind == JD_TASK_BUILD) {
    put_id(out, len, &at, "build-");
    if (t->spec && json_object_object_get_ex(t->spec, "domain", &v) &&
        json_object_is_type(v, json_type_string))
      put_id(out, len, &at, json_object_get_string(v));
    return;
  }
  put_id(out, len, &at, "match-");
  if (t->spec && json_object_object_get_ex(t->spec, "game_logic", &v) &&
      json_object_object_get_ex(v, "id", &id) && json_object_is_type(id, json_type_string))
    put_id(out, len, &at, json_object_get_string(id));
  size_t n = 0;
  if (t->spec && json_object_object_get_ex(t->spec, "players", &v) &&
      json_object_is_type(v, json_type_array))
    n = json_object_array_length(v);
  char tail[32];
  snprintf(tail, sizeof tail, "-%zup", n);
  put_id(out, len, &at, tail);
}
