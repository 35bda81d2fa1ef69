// test-labels: unit
/* judger/taskset/taskset_file.c: the taskset file, all or nothing. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <json-c/json.h>

#include "taskset/taskset.h"

/* A growing string for building files. */
typedef struct sbuf {
  char *s;
  size_t n, cap;
} sbuf;

static void sb_add(sbuf *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int w = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  cr_assert(w >= 0);
  if (b->n + (size_t)w + 1 > b->cap) {
    b->cap = (b->n + (size_t)w + 1) * 2;
    b->s = realloc(b->s, b->cap);
    cr_assert(b->s);
  }
  va_start(ap, fmt);
  vsnprintf(b->s + b->n, b->cap - b->n, fmt, ap);
  va_end(ap);
  b->n += (size_t)w;
}

/* A match member "m-<i>" of game g with extra fields (may be ""). */
static void add_match(sbuf *b, size_t i, const char *extra) {
  sb_add(b,
         "%s{\"id\":\"m-%zu\",\"type\":\"match\",\"match\":{\"id\":\"m%zu\",\"game_logic\":{\"id\":"
         "\"tron\",\"dir\":\"/g\"},\"players\":[{\"id\":\"a\",\"dir\":\"/a\"},{\"id\":\"b\","
         "\"dir\":\"/b\"}]}%s%s}",
         i ? "," : "", i, i, *extra ? "," : "", extra);
}

static char *set_of(size_t n, const char *head) {
  sbuf b = {0};
  sb_add(&b, "{\"id\":\"round-7\"%s%s,\"tasks\":[", *head ? "," : "", head);
  for (size_t i = 0; i < n; i++)
    add_match(&b, i, "");
  sb_add(&b, "]}");
  return b.s;
}

static void refused(const char *json, size_t max, const char *want) {
  jd_taskset *ts = NULL;
  char err[1024];
  cr_assert_eq(jd_taskset_parse(&ts, json, max, 0, err, sizeof err), -1, "accepted: %s", json);
  cr_assert_null(ts);
  cr_assert(strstr(err, want), "want '%s' in '%s'", want, err);
}

static jd_taskset *parsed(const char *json) {
  jd_taskset *ts = NULL;
  char err[1024];
  cr_assert_eq(jd_taskset_parse(&ts, json, 0, 0, err, sizeof err), 0, "%s", err);
  return ts;
}

Test(taskset_file, a_set_parses_and_members_carry_the_set) {
  char *json = set_of(3, "\"max_attempts\":4");
  jd_taskset *ts = parsed(json);
  cr_assert_str_eq(ts->id, "round-7");
  cr_assert_eq(ts->prio, JD_PRIO_AUTO);
  cr_assert(ts->standings, "every member a match: standings by default");
  cr_assert_eq(ts->n, 3);
  for (size_t i = 0; i < 3; i++) {
    jd_taskset_member *m = &ts->members[i];
    char id[16];
    snprintf(id, sizeof id, "m-%zu", i);
    cr_assert_str_eq(m->task->id, id);
    cr_assert_str_eq(m->task->taskset, "round-7");
    cr_assert_eq(m->task->max_attempts, 4);
    cr_assert_str_eq(m->klass, "match-tron-2p");
    /* The queued text is what was checked: it parses to the same task. */
    json_object *o = json_tokener_parse(m->json);
    json_object *v = NULL;
    cr_assert(json_object_object_get_ex(o, "taskset", &v));
    cr_assert_str_eq(json_object_get_string(v), "round-7");
    cr_assert(json_object_object_get_ex(o, "max_attempts", &v));
    cr_assert_eq(json_object_get_int(v), 4);
    json_object_put(o);
  }
  jd_taskset_free(ts);
  free(json);
}

Test(taskset_file, fields_take_their_values_and_defaults) {
  const char *json =
      "{\"id\":\"S.1\",\"priority\":\"build\",\"standings\":false,\"tasks\":["
      "{\"id\":\"b-1\",\"type\":\"build\",\"build\":{\"domain\":\"ai\",\"id\":\"x\"},"
      "\"class\":\"big\"},"
      "{\"id\":\"m-1\",\"type\":\"match\",\"match\":{},\"after\":[\"b-1\"],\"max_attempts\":2,"
      "\"taskset\":\"S.1\"}]}";
  jd_taskset *ts = parsed(json);
  cr_assert_eq(ts->prio, JD_PRIO_BUILD);
  cr_assert(!ts->standings);
  cr_assert_eq(ts->max_attempts, 0);
  cr_assert_str_eq(ts->members[0].klass, "big");
  cr_assert_str_eq(ts->members[1].klass, "match--0p");
  cr_assert_eq(ts->members[1].task->max_attempts, 2);
  cr_assert_eq(ts->members[1].task->nafter, 1);
  cr_assert_null(strstr(ts->members[0].json, "max_attempts"), "no set default: none added");
  jd_taskset_free(ts);
  /* A build among the members: no standings unless asked. */
  const char *mixed = "{\"id\":\"S\",\"priority\":\"match\",\"tasks\":[{\"id\":\"b\",\"type\":"
                      "\"build\",\"build\":{\"domain\":\"ai\"}}]}";
  ts = parsed(mixed);
  cr_assert(!ts->standings);
  cr_assert_eq(ts->prio, JD_PRIO_MATCH);
  cr_assert_str_eq(ts->members[0].klass, "build-ai");
  jd_taskset_free(ts);
}

Test(taskset_file, the_first_bad_member_is_named_by_index_and_id) {
  sbuf b = {0};
  sb_add(&b, "{\"id\":\"round-7\",\"tasks\":[");
  for (size_t i = 0; i < 20; i++)
    add_match(&b, i, i == 12 ? "\"after\":[\"boot\"]" : i == 15 ? "\"after\":[\"nope\"]" : "");
  sb_add(&b, "]}");
  refused(b.s, 0, "tasks[12] (m-12): after[0]: \"boot\" is not a member of the taskset");
  free(b.s);
}

Test(taskset_file, a_member_that_does_not_parse_refuses_the_file) {
  const char *json = "{\"id\":\"s\",\"tasks\":[{\"id\":\"a\",\"type\":\"match\",\"match\":{}},"
                     "42,{\"id\":\"c\",\"type\":\"match\",\"match\":{}}]}";
  refused(json, 0, "tasks[1]: not a JSON object");
  json = "{\"id\":\"s\",\"tasks\":[{\"id\":\"a\",\"type\":\"match\",\"match\":{}},"
         "{\"id\":\"m-2\",\"type\":\"nope\"}]}";
  refused(json, 0, "tasks[1] (m-2): type: required");
  json = "{\"id\":\"s\",\"tasks\":[{\"id\":\"a b\",\"type\":\"match\",\"match\":{}}]}";
  refused(json, 0, "tasks[0]: id: required");
  json = "{\"id\":\"s\",\"tasks\":[{\"id\":\"a\",\"type\":\"match\",\"match\":{},"
         "\"after\":[\"a\"]}]}";
  refused(json, 0, "tasks[0] (a): after[0]: a task cannot wait for itself");
  json = "{\"id\":\"s\",\"tasks\":[{\"id\":\"a\",\"type\":\"match\",\"match\":{},"
         "\"after\":\"b\"}]}";
  refused(json, 0, "tasks[0] (a): after: an array");
}

Test(taskset_file, duplicate_ids_are_refused) {
  const char *json = "{\"id\":\"s\",\"tasks\":[{\"id\":\"x\",\"type\":\"match\",\"match\":{}},"
                     "{\"id\":\"y\",\"type\":\"match\",\"match\":{}},"
                     "{\"id\":\"z\",\"type\":\"match\",\"match\":{}},"
                     "{\"id\":\"y\",\"type\":\"match\",\"match\":{}},"
                     "{\"id\":\"x\",\"type\":\"match\",\"match\":{}}]}";
  refused(json, 0, "tasks[3] (y): id: also the id of tasks[1]");
}

Test(taskset_file, a_member_of_another_set_is_refused) {
  const char *json = "{\"id\":\"s\",\"tasks\":[{\"id\":\"x\",\"type\":\"match\",\"match\":{},"
                     "\"taskset\":\"other\"}]}";
  refused(json, 0, "tasks[0] (x): taskset: must be absent or the set's id \"s\"");
  json = "{\"id\":\"s\",\"tasks\":[{\"id\":\"x\",\"type\":\"match\",\"match\":{},"
         "\"taskset\":7}]}";
  refused(json, 0, "tasks[0] (x): taskset:");
}

Test(taskset_file, more_members_than_the_cap_are_refused) {
  char *json = set_of(5, "");
  refused(json, 4, "tasks: required, an array of 1 to 4 tasks");
  jd_taskset *ts = NULL;
  char err[256];
  cr_assert_eq(jd_taskset_parse(&ts, json, 5, 0, err, sizeof err), 0, "%s", err);
  jd_taskset_free(ts);
  free(json);
  refused("{\"id\":\"s\",\"tasks\":[]}", 0, "tasks: required, an array of 1 to 10000 tasks");
}

Test(taskset_file, every_top_level_field_is_type_checked) {
  const char *m = "[{\"id\":\"a\",\"type\":\"match\",\"match\":{}}]";
  struct {
    const char *head, *want;
  } cases[] = {
      {"", "id: required"},
      {"\"id\":7,", "id: required"},
      {"\"id\":\"-x\",", "id: required"},
      {"\"id\":\"a/b\",", "id: required"},
      {"\"id\":\"s\",\"priority\":1,", "priority: \"build\", \"match\" or \"auto\""},
      {"\"id\":\"s\",\"priority\":\"urgent\",", "priority:"},
      {"\"id\":\"s\",\"max_attempts\":\"3\",", "max_attempts: an integer from 1 to 100"},
      {"\"id\":\"s\",\"max_attempts\":0,", "max_attempts:"},
      {"\"id\":\"s\",\"max_attempts\":101,", "max_attempts:"},
      {"\"id\":\"s\",\"max_attempts\":2.5,", "max_attempts:"},
      {"\"id\":\"s\",\"standings\":\"yes\",", "standings: true or false"},
      {"\"id\":\"s\",\"standings\":1,", "standings: true or false"},
      {"\"id\":\"s\",\"standing\":true,", "\"standing\": not a taskset field"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    char json[512];
    snprintf(json, sizeof json, "{%s\"tasks\":%s}", cases[i].head, m);
    refused(json, 0, cases[i].want);
  }
  refused("{\"id\":\"s\"}", 0, "tasks: required");
  refused("{\"id\":\"s\",\"tasks\":{}}", 0, "tasks: required");
  refused("{\"id\":\"s\",\"tasks\":\"a\"}", 0, "tasks: required");
  refused("[1]", 0, "taskset: not a JSON object");
  refused("{\"id\":", 0, "taskset: not JSON");
  refused("{\"id\":\"s\",\"tasks\":[]} x", 0, "taskset: trailing bytes");
  refused("", 0, "taskset: not JSON");
}

Test(taskset_file, cycles_are_refused_and_spelled_out) {
  /* p waits for c, which is on the cycle a -> b -> c -> a. */
  const char *json = "{\"id\":\"s\",\"tasks\":[{\"id\":\"root\",\"type\":\"match\",\"match\":{}},"
                     "{\"id\":\"p\",\"type\":\"match\",\"match\":{},\"after\":[\"root\",\"c\"]},"
                     "{\"id\":\"b\",\"type\":\"match\",\"match\":{},\"after\":[\"root\",\"a\"]},"
                     "{\"id\":\"c\",\"type\":\"match\",\"match\":{},\"after\":[\"b\"]},"
                     "{\"id\":\"a\",\"type\":\"match\",\"match\":{},\"after\":[\"c\"]}]}";
  refused(json, 0, "tasks[2] (b): after: a cycle: b -> a -> c -> b");
  json = "{\"id\":\"s\",\"tasks\":[{\"id\":\"x\",\"type\":\"match\",\"match\":{},\"after\":"
         "[\"y\"]},{\"id\":\"y\",\"type\":\"match\",\"match\":{},\"after\":[\"x\"]}]}";
  refused(json, 0, "tasks[0] (x): after: a cycle: x -> y -> x");
}

/* A chain of n members, each after the one before; close: the first waits
 * for the last (a cycle through all of them). */
static char *chain(size_t n, bool close) {
  sbuf b = {0};
  sb_add(&b, "{\"id\":\"chain\",\"tasks\":[");
  for (size_t i = 0; i < n; i++) {
    char extra[64] = "";
    if (i)
      snprintf(extra, sizeof extra, "\"after\":[\"m-%zu\"]", i - 1);
    else if (close)
      snprintf(extra, sizeof extra, "\"after\":[\"m-%zu\"]", n - 1);
    add_match(&b, i, extra);
  }
  sb_add(&b, "]}");
  return b.s;
}

Test(taskset_file, a_long_chain_is_checked_without_recursion) {
  char *json = chain(10000, false);
  jd_taskset *ts = parsed(json);
  cr_assert_eq(ts->n, 10000);
  cr_assert_str_eq(ts->members[9999].task->after[0], "m-9998");
  jd_taskset_free(ts);
  free(json);
  json = chain(10000, true);
  refused(json, 0, "tasks[0] (m-0): after: a cycle: m-0 -> m-9999 -> m-9998 -> ");
  refused(json, 0, " ...");
  free(json);
}

Test(taskset_file, a_member_nested_too_deep_is_refused) {
  sbuf b = {0};
  sb_add(&b, "{\"id\":\"s\",\"tasks\":[{\"id\":\"a\",\"type\":\"match\",\"match\":{\"config\":");
  for (int i = 0; i < 40; i++)
    sb_add(&b, "[");
  for (int i = 0; i < 40; i++)
    sb_add(&b, "]");
  sb_add(&b, "}}]}");
  jd_taskset *ts = NULL;
  char err[256];
  cr_assert_eq(jd_taskset_parse(&ts, b.s, 0, 16, err, sizeof err), -1);
  cr_assert(strstr(err, "nested deeper"), "%s", err);
  cr_assert_eq(jd_taskset_parse(&ts, b.s, 0, 64, err, sizeof err), 0, "%s", err);
  jd_taskset_free(ts);
  free(b.s);
}

Test(taskset_file, a_short_error_buffer_is_not_overrun) {
  char err[8] = "xxxxxxx";
  jd_taskset *ts = NULL;
  cr_assert_eq(jd_taskset_parse(&ts, "{}", 0, 0, err, sizeof err), -1);
  cr_assert_eq(strlen(err), 7);
  cr_assert_eq(jd_taskset_parse(&ts, NULL, 0, 0, NULL, 0), -1);
  jd_taskset_free(NULL);
}

Test(taskset_file, forward_links_and_diamonds_are_fine) {
  /* d waits for b and c, both wait for a; a is listed last. */
  const char *json =
      "{\"id\":\"s\",\"tasks\":[{\"id\":\"d\",\"type\":\"match\",\"match\":{},\"after\":[\"b\","
      "\"c\"]},{\"id\":\"b\",\"type\":\"match\",\"match\":{},\"after\":[\"a\"]},"
      "{\"id\":\"c\",\"type\":\"match\",\"match\":{},\"after\":[\"a\"]},"
      "{\"id\":\"a\",\"type\":\"build\",\"build\":{},\"publish\":[\"boot.xml\"]}]}";
  jd_taskset *ts = parsed(json);
  cr_assert_eq(ts->n, 4);
  cr_assert_eq(ts->members[0].task->nafter, 2);
  cr_assert_eq(ts->members[3].task->npublish, 1);
  cr_assert(!ts->standings, "a build among them");
  jd_taskset_free(ts);
}

/* Every prefix of a valid file, and files with bytes changed at random:
 * refused or accepted, never a crash, and an accepted one is whole. */
Test(taskset_file, cut_and_mangled_files_are_refused_cleanly) {
  const char *json =
      "{\"id\":\"s\",\"max_attempts\":2,\"tasks\":[{\"id\":\"a\",\"type\":\"match\",\"match\":"
      "{\"players\":[{\"id\":\"p\"}]},\"after\":[\"b\"]},{\"id\":\"b\",\"type\":\"build\","
      "\"build\":{\"domain\":\"ai\"},\"upload\":{\"x.log\":\"http://h/x\"}}]}";
  size_t len = strlen(json);
  char *buf = malloc(len + 1);
  char err[512];
  for (size_t cut = 0; cut < len; cut++) {
    memcpy(buf, json, cut);
    buf[cut] = '\0';
    jd_taskset *ts = NULL;
    cr_assert_eq(jd_taskset_parse(&ts, buf, 0, 0, err, sizeof err), -1, "cut at %zu", cut);
    cr_assert_null(ts);
  }
  const char alphabet[] = "{}[]\",:0a-\\ ";
  unsigned seed = 7;
  for (int round = 0; round < 3000; round++) {
    memcpy(buf, json, len + 1);
    for (int k = 0; k < 1 + round % 3; k++) {
      seed = seed * 1103515245u + 12345u;
      buf[(seed >> 8) % len] = alphabet[(seed >> 20) % (sizeof alphabet - 1)];
    }
    jd_taskset *ts = NULL;
    if (jd_taskset_parse(&ts, buf, 0, 0, err, sizeof err) == 0) {
      cr_assert(ts->n >= 1 && ts->members[ts->n - 1].task && ts->members[0].json);
      jd_taskset_free(ts);
    } else {
      cr_assert_null(ts);
      cr_assert(err[0], "a reason");
    }
  }
  free(buf);
}
