/* Private to libdockerapi: JSON helpers (json.c). */
#ifndef DOCKERAPI_JSON_H
#define DOCKERAPI_JSON_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "dockerapi/types.h"

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
/* The compact text of o, malloc'd (kept as an answer's raw_json); NULL
 * when out of memory. */
char *dk__json_text(json_object *o);
/* NULL-terminated array of strings -> json array (NULL stays NULL). */
json_object *dk__json_strv(const char *const *v);

/* Building a body: adds key -> v to o (taking v); when v is NULL (json-c
 * out of memory), o is NULL or the add is refused, sets *oom instead, so a
 * body of many members is checked once, after it is built. */
void dk__json_put(int *oom, json_object *o, const char *key, json_object *v);
/* {"key": "value", ...} of n pairs (a NULL value as ""); NULL when out of
 * memory, with *oom set for a pair that could not be added. */
json_object *dk__json_kv(int *oom, const dk_kv *kv, size_t n);

#endif
