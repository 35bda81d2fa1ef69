/* JSON helpers of the resource modules: parsing the engine's answers and
 * reading their members without tripping over absent or mistyped ones. */
#include <stdlib.h>
#include <string.h>

#include "error_internal.h"
#include "json.h"

int dk__parse_json(json_object **out, const char *text, size_t len) {
  *out = NULL;
  json_tokener *tok = json_tokener_new();
  if (!tok)
    return dk__err(DK_ENOMEM, 0, NULL);
  json_object *o = json_tokener_parse_ex(tok, text ? text : "", (int)len);
  enum json_tokener_error jerr = json_tokener_get_error(tok);
  json_tokener_free(tok);
  if (!o || jerr != json_tokener_success) {
    json_object_put(o);
    return dk__err(DK_EJSON, 0, "engine sent malformed JSON: %.80s", text ? text : "");
  }
  *out = o;
  return DK_OK;
}

json_object *dk__json_get(json_object *o, const char *key) {
  json_object *v = NULL;
  if (o)
    json_object_object_get_ex(o, key, &v);
  return v;
}

const char *dk__json_str(json_object *o, const char *key) {
  json_object *v = dk__json_get(o, key);
  return json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

int64_t dk__json_int64(json_object *o, const char *key, int64_t dflt) {
  json_object *v = dk__json_get(o, key);
  return v ? json_object_get_int64(v) : dflt;
}

char *dk__json_strdup(json_object *o, const char *key) {
  const char *s = dk__json_str(o, key);
  return s ? strdup(s) : NULL;
}

char *dk__json_strdup_oom(json_object *o, const char *key, int *oom) {
  const char *s = dk__json_str(o, key);
  char *d = s ? strdup(s) : NULL;
  if (s && !d)
    *oom = 1;
  return d;
}

char *dk__json_text(json_object *o) {
  return strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
}

json_object *dk__json_strv(const char *const *v) {
  if (!v)
    return NULL;
  json_object *a = json_object_new_array();
  for (; *v; v++)
    json_object_array_add(a, json_object_new_string(*v));
  return a;
}

void dk__json_put(int *oom, json_object *o, const char *key, json_object *v) {
  if (!o || !v || json_object_object_add(o, key, v) != 0) {
    json_object_put(v);
    *oom = 1;
  }
}

json_object *dk__json_kv(int *oom, const dk_kv *kv, size_t n) {
  json_object *m = json_object_new_object();
  for (size_t i = 0; m && i < n; i++)
    dk__json_put(oom, m, kv[i].key, json_object_new_string(kv[i].value ? kv[i].value : ""));
  return m;
}
