/* Private to libdockerapi: the calls of the resource modules (request.c):
 * a request with the negotiated version, and its JSON conveniences. */
#ifndef DOCKERAPI_REQUEST_H
#define DOCKERAPI_REQUEST_H

#include <stddef.h>

#include <json-c/json.h>

#include "dockerapi/client.h"
#include "http.h"

/* Performs one request, negotiating the API version first unless
 * req->unversioned. Returns as dk__exchange; resp is always initialised,
 * the caller frees it with dk__resp_free(). */
int dk__do(dk_client *c, const dk__req *req, dk__resp *resp);

/* Conveniences over dk__do for JSON endpoints. `out` may be NULL when the
 * answer is not wanted; otherwise the caller puts it. */
int dk__get_json(dk_client *c, const char *path, json_object **out, const dk_call *call);
int dk__send_json(dk_client *c, const char *method, const char *path, json_object *body,
                  json_object **out, const dk_call *call);
/* GET of a list endpoint: *out is the answer, checked to be an array of
 * *n items (what names the call in the error otherwise); the caller puts it. */
int dk__get_json_array(json_object **out, size_t *n, dk_client *c, const char *path,
                       const char *what);
/* Sends with no body; 2xx with empty answer expected. */
int dk__send_empty(dk_client *c, const char *method, const char *path, const dk_call *call);

/* POST /<resource>/prune filtered by labels (at least one: unfiltered, a
 * prune would remove every unused object on a shared engine). *deleted (may
 * be NULL) gets the length of the answer's `deleted_key` array. */
int dk__prune_by_label(size_t *deleted, dk_client *c, const char *resource,
                       const char *const *labels, const char *deleted_key);

#endif
