// test-labels: unit
/* match/match_spec_inputs.c: the spec's "inputs" parsed (a URL with its
 * sha256 and max_bytes, a task's published output) and every wrong one
 * refused naming the field; `judger run`'s check that refuses a task's
 * output (no queue). */
#include <stdio.h>
#include <string.h>

#include "match/match.h"
#include "match/match_policy.h"
#include "match/match_spec.h"
#include "support.h"

#define SHA "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define HEAD                                                                                       \
  "{\"id\":\"m\",\"game_logic\":{\"id\":\"g\",\"image\":\"game_logic-g-run\"},"                    \
  "\"players\":[{\"id\":\"p\",\"image\":\"ai-p-run\"}],\"inputs\":"

static jd_match_spec *parse(const char *inputs, char *err, size_t errlen) {
  char json[4096];
  snprintf(json, sizeof json, HEAD "%s}", inputs);
  jd_match_spec *s = NULL;
  return jd_match_spec_parse(&s, json, NULL, err, errlen) ? NULL : s;
}

Test(match_spec_inputs, both_forms_parse) {
  char err[512] = "";
  jd_match_spec *s =
      parse("[{\"name\":\"boot.xml\",\"url\":\"https://example.org/b\",\"sha256\":\"" SHA
            "\",\"max_bytes\":\"1m\"},"
            "{\"name\":\"Map_2-x\",\"task\":\"round-7.boot\",\"file\":\"maps/2.txt\"}]",
            err, sizeof err);
  cr_assert_not_null(s, "%s", err);
  cr_assert_eq(s->ninputs, 2);
  cr_assert_str_eq(s->inputs[0].name, "boot.xml");
  cr_assert_str_eq(s->inputs[0].url, "https://example.org/b");
  cr_assert_str_eq(s->inputs[0].sha256, SHA);
  cr_assert_eq(s->inputs[0].max_bytes, 1 << 20);
  cr_assert_null(s->inputs[0].task);
  cr_assert_str_eq(s->inputs[1].task, "round-7.boot");
  cr_assert_str_eq(s->inputs[1].file, "maps/2.txt");
  cr_assert_str_eq(s->inputs[1].sha256, "");
  cr_assert_eq(jd_match_inputs_local(s, err, sizeof err), -1);
  cr_assert(strstr(err, "inputs[1]: task round-7.boot's published output maps/2.txt"), "%s", err);
  jd_match_spec_free(s);
  s = parse("[]", err, sizeof err);
  cr_assert_not_null(s, "%s", err);
  cr_assert_eq(s->ninputs, 0);
  cr_assert_eq(jd_match_inputs_local(s, err, sizeof err), 0);
  jd_match_spec_free(s);
}

Test(match_spec_inputs, wrong_ones_are_refused_naming_the_field) {
  static const struct {
    const char *inputs, *want;
  } cases[] = {
      {"{}", "inputs: must be an array"},
      {"[1]", "inputs[0]: must be an object"},
      {"[{\"url\":\"https://a/b\",\"sha256\":\"" SHA "\"}]", "inputs[0].name: missing"},
      {"[{\"name\":\".hidden\",\"url\":\"https://a/b\",\"sha256\":\"" SHA "\"}]",
       "inputs[0].name: must be"},
      {"[{\"name\":\"a/b\",\"url\":\"https://a/b\",\"sha256\":\"" SHA "\"}]",
       "inputs[0].name: must be"},
      {"[{\"name\":\"..\",\"url\":\"https://a/b\",\"sha256\":\"" SHA "\"}]",
       "inputs[0].name: must be"},
      {"[{\"name\":7,\"url\":\"https://a/b\",\"sha256\":\"" SHA "\"}]",
       "inputs[0].name: must be a string"},
      {"[{\"name\":\"a\",\"url\":\"https://a/b\"}]", "inputs[0].sha256: missing"},
      {"[{\"name\":\"a\",\"url\":\"https://a/b\",\"sha256\":\"ABC\"}]",
       "inputs[0].sha256: must be 64 lower-case hex digits"},
      {"[{\"name\":\"a\",\"url\":\"https://a/b\",\"sha256\":\"" SHA "\",\"max_bytes\":0}]",
       "inputs[0].max_bytes: must be between"},
      {"[{\"name\":\"a\",\"url\":\"ftp://a/b\",\"sha256\":\"" SHA "\"}]",
       "inputs[0].url: must be http:// or https://"},
      {"[{\"name\":\"a\",\"url\":\"https://a/b\",\"sha256\":\"" SHA "\",\"mode\":1}]",
       "inputs[0].mode: unknown field"},
      {"[{\"name\":\"a\"}]", "inputs[0]: give either"},
      {"[{\"name\":\"a\",\"url\":\"https://a/b\",\"task\":\"t\",\"file\":\"f\"}]",
       "inputs[0]: give either"},
      {"[{\"name\":\"a\",\"task\":\"t\"}]", "inputs[0].file: missing"},
      {"[{\"name\":\"a\",\"task\":\"-t\",\"file\":\"f\"}]", "inputs[0].task: not a task id"},
      {"[{\"name\":\"a\",\"task\":\"t\",\"file\":\"../f\"}]", "inputs[0].file: not an output path"},
      {"[{\"name\":\"a\",\"task\":\"t\",\"file\":\"/etc/passwd\"}]",
       "inputs[0].file: not an output path"},
      {"[{\"name\":\"a\",\"task\":\"t\",\"file\":\"f\",\"sha256\":\"" SHA "\"}]",
       "inputs[0]: \"sha256\" and \"max_bytes\" go with \"url\""},
      {"[{\"name\":\"a\",\"task\":\"t\",\"file\":\"f\"},{\"name\":\"a\",\"task\":\"u\",\"file\":"
       "\"f\"}]",
       "inputs[1].name: \"a\" is inputs[0]'s too"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char err[512] = "";
    jd_match_spec *s = parse(cases[i].inputs, err, sizeof err);
    cr_assert_null(s, "accepted: %s", cases[i].inputs);
    cr_assert(strstr(err, cases[i].want), "%s: got '%s', want '%s'", cases[i].inputs, err,
              cases[i].want);
  }
  /* 17 inputs: one too many. */
  char many[4096] = "[";
  for (int i = 0; i < 17; i++)
    snprintf(many + strlen(many), sizeof many - strlen(many),
             "%s{\"name\":\"f%d\",\"task\":\"t\",\"file\":\"f\"}", i ? "," : "", i);
  strcat(many, "]");
  char err[512] = "";
  cr_assert_null(parse(many, err, sizeof err));
  cr_assert(strstr(err, "inputs: 17 inputs: at most 16"), "%s", err);
}

Test(match_spec_inputs, an_input_url_is_held_to_the_hosts_policy) {
  char err[512] = "";
  jd_match_spec *s =
      parse("[{\"name\":\"a\",\"url\":\"http://example.org/b\",\"sha256\":\"" SHA "\"}]", err,
            sizeof err);
  cr_assert_not_null(s, "%s", err);
  jd_policy none = {0};
  cr_assert_eq(jd_match_spec_check_policy(s, &none, "/tmp", NULL, err, sizeof err), -1);
  cr_assert(strstr(err, "inputs[0].url: ") && strstr(err, "git_schemes"), "%s", err);
  jd_policy http = {.git_schemes = "https,http"};
  cr_assert_eq(jd_match_spec_check_policy(s, &http, "/tmp", NULL, err, sizeof err), 0, "%s", err);
  jd_match_spec_free(s);
}
