/* Private to the match spec parser (match_spec.c, match_spec_limits.c,
 * match_spec_fields.c): typed JSON fields whose errors name the field, and
 * the limits section. */
#ifndef JD_MATCH_SPEC_INTERNAL_H
#define JD_MATCH_SPEC_INTERNAL_H

#include <stdint.h>

#include <json-c/json.h>

#include "match/match_spec.h"

#define JD_MIB ((int64_t)1024 * 1024)

/* Where a parse error goes: "field: reason", cut to len. */
typedef struct jd_spec_err {
  char *buf;
  size_t len;
} jd_spec_err;

/* Writes "field: <fmt>" into e; returns -1. */
int jd_spec_bad(jd_spec_err *e, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Refuses keys of o not in allowed (NULL-terminated): a typo in a limit
 * must not silently fall back to a default. where: the object's field name
 * ("" for the root). */
int jd_spec_check_keys(jd_spec_err *e, const char *where, json_object *o,
                       const char *const *allowed);
/* *out (freed first) = a copy of the string v. */
int jd_spec_get_string(jd_spec_err *e, const char *field, json_object *v, char **out);
int jd_spec_get_int(jd_spec_err *e, const char *field, json_object *v, int64_t min, int64_t max,
                    int64_t *out);
/* A size: an integer of bytes or a string such as "256m". */
int jd_spec_get_size(jd_spec_err *e, const char *field, json_object *v, int64_t min, int64_t max,
                     int64_t *out);

/* A role's limits object (the keys of limits.players) over r, errors named
 * after where ("players[1].limits.memory"). Returns 0 or -1. */
int jd_match_role_limits_parse(jd_spec_err *e, const char *where, json_object *o,
                               jd_role_limits *r);
/* The "limits" object over l (defaults already in). Returns 0 or -1. */
int jd_match_limits_parse(jd_spec_err *e, json_object *o, jd_match_limits *l);
/* The "inputs" array into s->inputs (match_spec_inputs.c). 0 or -1. */
int jd_match_inputs_parse(jd_spec_err *e, json_object *v, jd_match_spec *s);
void jd_match_inputs_free(jd_match_spec *s);

#endif
