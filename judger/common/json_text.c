/* A JSON text read with bounds (see json_text.h). */
#include <stdint.h>

#include <json-c/json.h>

#include "common/error.h"
#include "common/json_text.h"

int jd_json_parse(json_object **out, const char *text, size_t len, int max_depth, const char *what,
                  const char *depth_hint, char *err, size_t errlen) {
  *out = NULL;
  if (len >= INT32_MAX)
    return jd_fail(err, errlen, "%s: over 2 GiB", what);
  json_tokener *tok = json_tokener_new_ex(max_depth);
  if (!tok)
    return jd_fail(err, errlen, "out of memory");
  /* The terminating NUL is part of the input: it ends a top-level number
   * ("42"), which json-c would otherwise wait to continue. */
  json_object *root = json_tokener_parse_ex(tok, text, (int)len + 1);
  enum json_tokener_error jerr = json_tokener_get_error(tok);
  size_t used = json_tokener_get_parse_end(tok);
  json_tokener_free(tok);
  if (jerr == json_tokener_error_depth)
    return jd_fail(err, errlen, "%s: nested deeper than %d levels%s", what, max_depth,
                   depth_hint ? depth_hint : "");
  if (jerr != json_tokener_success)
    return jd_fail(err, errlen, "%s: not JSON (%s)", what, json_tokener_error_desc(jerr));
  for (size_t i = used < len ? used : len; i < len; i++)
    if (text[i] != ' ' && text[i] != '\n' && text[i] != '\t' && text[i] != '\r') {
      json_object_put(root);
      return jd_fail(err, errlen, "%s: trailing bytes after the JSON value", what);
    }
  *out = root;
  return 0;
}
