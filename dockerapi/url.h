/* Private to libdockerapi: URL building (url.c). */
#ifndef DOCKERAPI_URL_H
#define DOCKERAPI_URL_H

#include <json-c/json.h>

#include "dockerapi/buf.h"

/* dk__path formats then returns a malloc'd string (NULL on OOM); use
 * dk__esc for every user-supplied path segment or query value. */
char *dk__path(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *dk__esc(const char *s);
/* "/{resource}/{id}{suffix}{query}" with the id escaped; q may be NULL or
 * empty. NULL on OOM; the caller frees it. */
char *dk__object_path(const char *resource, const char *id, const char *suffix, const dk_buf *q);
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

/* An image reference as Docker shows it, a pointer into s: Podman names
 * images in full ("docker.io/library/x:1" for Docker's "x:1"). */
const char *dk__ref_short(const char *s);

#endif
