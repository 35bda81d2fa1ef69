// test-labels: unit
/* judger/task.c: the task envelope. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "queue/task.h"
#include "support.h"

Test(task, a_match_task_parses) {
  jd_task *t = NULL;
  char err[256];
  const char *json =
      "{\"id\":\"m-981\",\"type\":\"match\",\"match\":{\"id\":\"m1\",\"players\":[]},"
      "\"upload\":{\"replay.json\":\"http://s3/r?sig=1\",\"logs/player_0.log\":"
      "\"https://s3/p0\"},\"max_attempts\":2}";
  cr_assert_eq(jd_task_parse(&t, json, 0, err, sizeof err), 0, "%s", err);
  cr_assert_str_eq(t->id, "m-981");
  cr_assert_eq(t->kind, JD_TASK_MATCH);
  cr_assert_str_eq(json_object_to_json_string_ext(t->spec, JSON_C_TO_STRING_PLAIN),
                   "{\"id\":\"m1\",\"players\":[]}");
  cr_assert_eq(t->nuploads, 2);
  cr_assert_eq(t->max_attempts, 2);
  for (size_t i = 0; i < 2; i++) {
    if (!strcmp(t->uploads[i].path, "logs/player_0.log"))
      cr_assert(t->uploads[i].gzip);
    else
      cr_assert(!t->uploads[i].gzip);
  }
  jd_task_free(t);
}

Test(task, a_build_task_parses) {
  jd_task *t = NULL;
  char err[256];
  cr_assert_eq(jd_task_parse(&t, "{\"id\":\"B.12\",\"type\":\"build\",\"build\":{\"id\":\"x\"}}", 0,
                             err, sizeof err),
               0, "%s", err);
  cr_assert_eq(t->kind, JD_TASK_BUILD);
  cr_assert_eq(t->nuploads, 0);
  cr_assert_eq(t->max_attempts, 0);
  jd_task_free(t);
}

static void bad(const char *json, const char *needle) {
  jd_task *t = NULL;
  char err[256];
  cr_assert_eq(jd_task_parse(&t, json, 0, err, sizeof err), -1, "accepted %s", json);
  cr_assert_null(t);
  cr_assert(strstr(err, needle), "error '%s' should name '%s'", err, needle);
}

Test(task, bad_envelopes_name_the_field) {
  bad(NULL, "task");
  bad("{not json", "not JSON");
  bad("[1,2]", "object");
  bad("{} trailing", "trailing");
  bad("{\"type\":\"match\",\"match\":{}}", "id");
  bad("{\"id\":\"../x\",\"type\":\"match\",\"match\":{}}", "id");
  bad("{\"id\":\"x\",\"type\":\"dance\"}", "type");
  bad("{\"id\":\"x\",\"type\":\"match\"}", "match");
  bad("{\"id\":\"x\",\"type\":\"match\",\"match\":[]}", "match");
  bad("{\"id\":\"x\",\"type\":\"match\",\"match\":{},\"upload\":{\"../etc/passwd\":\"http://a\"}}",
      "upload");
  bad("{\"id\":\"x\",\"type\":\"match\",\"match\":{},\"upload\":{\"/abs\":\"http://a\"}}",
      "upload");
  bad("{\"id\":\"x\",\"type\":\"match\",\"match\":{},\"upload\":{\"r\":\"file:///etc\"}}",
      "upload.r");
  bad("{\"id\":\"x\",\"type\":\"match\",\"match\":{},\"max_attempts\":0}", "max_attempts");
}

/* A match config nested depth levels deep: {"id":...,"match":{"config":[[[...]]]}}. */
static char *nested(int depth) {
  const char *head = "{\"id\":\"deep\",\"type\":\"match\",\"match\":{\"config\":";
  size_t n = strlen(head) + 2 * (size_t)depth + 8;
  char *s = malloc(n);
  size_t k = (size_t)snprintf(s, n, "%s", head);
  for (int i = 0; i < depth; i++)
    s[k++] = '[';
  for (int i = 0; i < depth; i++)
    s[k++] = ']';
  snprintf(s + k, n - k, "}}");
  return s;
}

Test(task, json_that_is_not_an_object_says_so) {
  const char *kinds[][2] = {{"42", "a number"},   {"null", "null"},      {"true", "a boolean"},
                            {"\"\"", "a string"}, {"[1,2]", "an array"}, {" 7 ", "a number"}};
  for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
    jd_task *t = NULL;
    char err[256];
    cr_assert_eq(jd_task_parse(&t, kinds[i][0], 0, err, sizeof err), -1);
    cr_assert(strstr(err, "valid JSON but not an object") && strstr(err, kinds[i][1]), "%s: %s",
              kinds[i][0], err);
    cr_assert(!strstr(err, "not JSON ("), "%s: %s", kinds[i][0], err);
  }
}

Test(task, nesting_depth_is_a_setting) {
  jd_task *t = NULL;
  char err[256];
  /* Far deeper than json-c's default 32: a config is any JSON. */
  char *ok = nested(200);
  cr_assert_eq(jd_task_parse(&t, ok, 0, err, sizeof err), 0, "%s", err);
  jd_task_free(t);
  t = NULL;
  cr_assert_eq(jd_task_parse(&t, ok, 64, err, sizeof err), -1);
  cr_assert(strstr(err, "deeper than 64 levels") && strstr(err, "entry_max_depth"), "%s", err);
  free(ok);
  char *deep = nested(300);
  cr_assert_eq(jd_task_parse(&t, deep, 0, err, sizeof err), -1);
  cr_assert(strstr(err, "deeper than 256 levels"), "%s", err);
  free(deep);
}

Test(task, ids) {
  cr_assert(jd_task_id_valid("a"));
  cr_assert(jd_task_id_valid("Match-981.2_b"));
  cr_assert(!jd_task_id_valid(""));
  cr_assert(!jd_task_id_valid("-a"));
  cr_assert(!jd_task_id_valid("a b"));
  cr_assert(!jd_task_id_valid("a:b"));
  char longid[JD_TASK_ID_MAX + 2];
  memset(longid, 'a', sizeof longid - 1);
  longid[sizeof longid - 1] = '\0';
  cr_assert(!jd_task_id_valid(longid));
}

Test(task, statuses_have_one_name_each) {
  for (int i = 0; i < JD_TASK_STATUS_COUNT; i++) {
    jd_task_status s = JD_TASK_STATUS_COUNT;
    cr_assert_eq(jd_task_status_parse(&s, jd_task_status_name((jd_task_status)i)), 0);
    cr_assert_eq(s, (jd_task_status)i);
  }
  cr_assert_str_eq(jd_task_status_name(JD_TASK_STATUS_STALLED), "stalled");
  cr_assert_str_eq(jd_task_status_name(JD_TASK_STATUS_COUNT), "?");
  jd_task_status s;
  cr_assert_eq(jd_task_status_parse(&s, "Finished"), -1);
  cr_assert_eq(jd_task_status_parse(&s, NULL), -1);
}
