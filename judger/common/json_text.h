/* One JSON text read with bounds: how deep it may nest, nothing but
 * whitespace after its value. The queue's entries, taskset files and stored
 * results all come from writers the judger does not trust to be careful. */
#ifndef JD_JSON_TEXT_H
#define JD_JSON_TEXT_H

#include <stddef.h>

struct json_object;

/* Parses the len bytes of text (no NUL inside; text[len] must be NUL) as one
 * JSON value nested at most max_depth levels. 0 and *out (NULL for the JSON
 * null; the caller puts it), or -1 with err naming `what`: "<what>: not JSON
 * (<json-c's words>)", "<what>: nested deeper than N levels<depth_hint>",
 * "<what>: trailing bytes after the JSON value", "<what>: over 2 GiB".
 * depth_hint may be NULL. */
int jd_json_parse(struct json_object **out, const char *text, size_t len, int max_depth,
                  const char *what, const char *depth_hint, char *err, size_t errlen);

#endif
