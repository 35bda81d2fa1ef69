/* Private to libdockerapi: the HTTP layer shared by the resource modules. */
#ifndef DOCKERAPI_INTERNAL_H
#define DOCKERAPI_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "dockerapi/buf.h"
#include "dockerapi/client.h"
#include "dockerapi/error.h"

/* Sets the thread's last error and returns `code`. fmt NULL = the table's message. */
int dk__err(int code, long http_status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int dk__code_for_status(long status);

/* Cap on a buffered (non-streamed) answer of the engine. */
#define DK_RESP_MAX ((size_t)32 * 1024 * 1024)

typedef int (*dk__data_cb)(void *ud, const char *data, size_t len);
typedef size_t (*dk__upload_cb)(char *buf, size_t n, void *ud);

typedef struct dk__req {
  const char *method;  /* "GET", "POST", "DELETE", "PUT", "HEAD" */
  const char *path;    /* without the version prefix, query included */
  int unversioned;     /* /_ping is asked before negotiation */
  const char *content_type;
  const void *body;    /* in-memory body, or */
  size_t body_len;
  dk__upload_cb upload; /* a streamed body (chunked) */
  void *upload_ud;
  const char *const *headers; /* extra "Name: value", NULL-terminated */
  /* A 2xx body goes to on_data when set (streaming), else into the
   * response buffer. Non-2xx bodies always go to the buffer (capped). */
  dk__data_cb on_data;
  void *data_ud;
  size_t resp_max; /* 0 = DK_RESP_MAX */
  const dk_call *call;
} dk__req;

typedef struct dk__resp {
  long status;
  dk_buf body;
  char api_version[16]; /* "Api-Version" header, when sent */
} dk__resp;

/* Performs one request. Returns 0 on a 2xx answer; otherwise a mapped code
 * with the engine's "message" as the last error. An error returned by
 * on_data aborts the transfer and is returned as is. resp is always
 * initialised; the caller frees it with dk__resp_free(). */
int dk__do(dk_client *c, const dk__req *req, dk__resp *resp);
void dk__resp_free(dk__resp *resp);

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

/* URL building. dk__path formats then returns a malloc'd string (NULL on
 * OOM); use dk__esc for every user-supplied path segment or query value. */
char *dk__path(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *dk__esc(const char *s);
/* Appends "&key=value" (or "?key=value" when the buffer is empty), escaped. */
int dk__query(dk_buf *q, const char *key, const char *value);
int dk__query_bool(dk_buf *q, const char *key, int value);
int dk__query_int(dk_buf *q, const char *key, long long value);
/* Appends "filters=<f as JSON>" and puts f (taken in every case; NULL =
 * out of memory). An empty f appends nothing. */
int dk__query_filters(dk_buf *q, json_object *f);
/* Builds {"label":["k=v",...]} style filter JSON and appends it as
 * "filters=". labels: NULL-terminated "k=v" or "k" strings. */
int dk__query_label_filters(dk_buf *q, const char *const *labels);

/* POST /<resource>/prune filtered by labels (at least one: unfiltered, a
 * prune would remove every unused object on a shared engine). *deleted (may
 * be NULL) gets the length of the answer's `deleted_key` array. */
int dk__prune_by_label(size_t *deleted, dk_client *c, const char *resource,
                       const char *const *labels, const char *deleted_key);

/* Parses a JSON text; DK_EJSON with a message if it is not JSON. */
int dk__parse_json(json_object **out, const char *text, size_t len);
/* Member accessors; o may be NULL (then nothing is there). */
json_object *dk__json_get(json_object *o, const char *key);
const char *dk__json_str(json_object *o, const char *key);
/* An integer member, or dflt when it is absent or null. */
int64_t dk__json_int64(json_object *o, const char *key, int64_t dflt);
/* Duplicates a string member or returns NULL. */
char *dk__json_strdup(json_object *o, const char *key);
/* The same, and sets *oom when the member is there but could not be copied
 * (so a NULL result is not mistaken for an absent member). */
char *dk__json_strdup_oom(json_object *o, const char *key, int *oom);
/* NULL-terminated array of strings -> json array (NULL stays NULL). */
json_object *dk__json_strv(const char *const *v);

#endif
