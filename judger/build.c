/* jd_build_run: the `judger build` pipeline as a function. */
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "build.h"

static void image_free(jd_build_image *i) {
  free(i->tag);
  free(i->image_id);
}

void jd_build_result_free(jd_build_result *r) {
  if (!r)
    return;
  free(r->status);
  free(r->verdict);
  free(r->stage);
  free(r->message);
  free(r->log);
  free(r->domain);
  free(r->id);
  free(r->source_identity);
  free(r->commit);
  image_free(&r->run);
  image_free(&r->build);
  free(r->artifacts_key);
  free(r->artifacts_dir);
  free(r);
}

static json_object *jstr(const char *s) { return s ? json_object_new_string(s) : NULL; }

static json_object *image_json(const jd_build_image *i) {
  if (!i->tag)
    return NULL;
  json_object *o = json_object_new_object();
  json_object_object_add(o, "tag", jstr(i->tag));
  json_object_object_add(o, "image_id", jstr(i->image_id));
  json_object_object_add(o, "cached", json_object_new_boolean(i->cached));
  return o;
}

char *jd_build_result_json(const jd_build_result *r) {
  json_object *o = json_object_new_object();
  if (!o)
    return NULL;
  json_object_object_add(o, "exit_code", json_object_new_int(r->exit_code));
  json_object_object_add(o, "status", jstr(r->status));
  json_object_object_add(o, "verdict", jstr(r->verdict));
  json_object_object_add(o, "stage", jstr(r->stage));
  json_object_object_add(o, "message", jstr(r->message));
  json_object_object_add(o, "domain", jstr(r->domain));
  json_object_object_add(o, "id", jstr(r->id));
  json_object_object_add(o, "source_identity", jstr(r->source_identity));
  json_object_object_add(o, "commit", jstr(r->commit));
  json_object_object_add(o, "run_image", image_json(&r->run));
  json_object_object_add(o, "build_image", image_json(&r->build));
  json_object *a = NULL;
  if (r->artifacts_key) {
    a = json_object_new_object();
    json_object_object_add(a, "key", jstr(r->artifacts_key));
    json_object_object_add(a, "dir", jstr(r->artifacts_dir));
    json_object_object_add(a, "cached", json_object_new_boolean(r->artifacts_cached));
  }
  json_object_object_add(o, "artifacts", a);
  json_object_object_add(o, "duration_ms", json_object_new_int64(r->duration_ms));
  json_object_object_add(o, "log", jstr(r->log));
  const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
  char *copy = s ? strdup(s) : NULL;
  json_object_put(o);
  return copy;
}

int jd_build_run(jd_build_result **out, jd_ctx *ctx, const jd_build_request *req) {
  (void)ctx;
  (void)req;
  jd_build_result *r = calloc(1, sizeof *r);
  if (!r)
    return -1;
  r->exit_code = 3;
  r->status = strdup("error");
  r->verdict = strdup("UE");
  r->stage = strdup("source");
  r->message = strdup("judger build is not complete in this build");
  *out = r;
  return 0;
}
