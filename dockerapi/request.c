/* The calls of the resource modules: dk__do negotiates the API version,
 * then performs the exchange; JSON conveniences and label-filtered prune
 * on top of it. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "negotiate.h"

int dk__do(dk_client *c, const dk__req *req, dk__resp *resp) {
  if (!req->unversioned) {
    int rc = dk__negotiate(c);
    if (rc) {
      dk__resp_init(resp, req);
      return rc;
    }
  }
  return dk__exchange(c, req, resp);
}

int dk__get_json(dk_client *c, const char *path, json_object **out, const dk_call *call) {
  return dk__send_json(c, "GET", path, NULL, out, call);
}

int dk__send_json(dk_client *c, const char *method, const char *path, json_object *body,
                  json_object **out, const dk_call *call) {
  if (out)
    *out = NULL;
  dk__req req = {.method = method, .path = path, .call = call};
  if (body) {
    const char *text = json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN);
    req.body = text;
    req.body_len = strlen(text);
    req.content_type = "application/json";
  }
  dk__resp resp;
  int rc = dk__do(c, &req, &resp);
  if (!rc && out) {
    if (resp.body.len)
      rc = dk__parse_json(out, resp.body.data, resp.body.len);
    else
      *out = json_object_new_object();
  }
  dk__resp_free(&resp);
  return rc;
}

int dk__get_json_array(json_object **out, size_t *n, dk_client *c, const char *path,
                       const char *what) {
  *n = 0;
  int rc = dk__get_json(c, path, out, NULL);
  if (rc)
    return rc;
  if (!json_object_is_type(*out, json_type_array)) {
    json_object_put(*out);
    *out = NULL;
    return dk__err(DK_EPROTO, 200, "%s: answer is not an array", what);
  }
  *n = json_object_array_length(*out);
  return DK_OK;
}

int dk__send_empty(dk_client *c, const char *method, const char *path, const dk_call *call) {
  return dk__send_json(c, method, path, NULL, NULL, call);
}

int dk__prune_by_label(size_t *deleted, dk_client *c, const char *resource,
                       const char *const *labels, const char *deleted_key) {
  if (deleted)
    *deleted = 0;
  if (!labels || !*labels)
    return dk__err(DK_EINVAL, 0, "%s prune: at least one label filter is required", resource);
  dk_buf q = DK_BUF_INIT(8192);
  int rc = dk__query_label_filters(&q, labels);
  char *path = rc ? NULL : dk__path("/%s/prune%s", resource, q.data);
  dk_buf_free(&q);
  if (!path)
    return rc ? rc : dk__err(DK_ENOMEM, 0, NULL);
  json_object *o = NULL, *del = NULL;
  rc = dk__send_json(c, "POST", path, NULL, &o, NULL);
  if (!rc && deleted && json_object_object_get_ex(o, deleted_key, &del) &&
      json_object_is_type(del, json_type_array))
    *deleted = json_object_array_length(del);
  json_object_put(o);
  free(path);
  return rc;
}
