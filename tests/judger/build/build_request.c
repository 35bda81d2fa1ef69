// test-labels: unit
/* Build requests: every rule, from both entry points (the flags' setters
 * and the task's JSON parser), with the same check behind them. */
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "build/build_request.h"
#include "support.h"

/* ---- the task's JSON ------------------------------------------------------ */

/* Parses text as a task's "build" object; returns the parser's rc, err
 * holds the message. */
static int parse(jd_build_request *req, const char *text, char *err, size_t errlen) {
  json_object *o = json_tokener_parse(text);
  cr_assert(o, "test JSON does not parse: %s", text);
  err[0] = '\0';
  int rc = jd_build_request_parse(req, o, err, errlen);
  json_object_put(o);
  return rc;
}

static void refused(const char *text, const char *want) {
  jd_build_request req;
  char err[512];
  cr_assert_neq(parse(&req, text, err, sizeof err), 0, "accepted: %s", text);
  cr_assert(strstr(err, want), "%s: message '%s' lacks '%s'", text, err, want);
}

#define GOOD "\"domain\":\"ai\",\"id\":\"bot\""

Test(build_request, task_with_every_field_parses) {
  json_object *o = json_tokener_parse(
      "{" GOOD ",\"git\":\"https://x/y.git\",\"ref\":\"main\",\"ops\":\"build\","
      "\"limits\":{\"cpus\":1.5,\"memory\":\"512m\",\"pids\":64,\"wall_ms\":5000,"
      "\"log_max\":4096,\"network\":true,\"image_network\":\"none\"}}");
  jd_build_request req;
  char err[512] = "";
  cr_assert_eq(jd_build_request_parse(&req, o, err, sizeof err), 0, "%s", err);
  cr_assert_eq(req.ref.domain, JD_DOMAIN_AI);
  cr_assert_str_eq(req.ref.id, "bot");
  cr_assert_str_eq(req.ref.git_url, "https://x/y.git");
  cr_assert_str_eq(req.ref.git_ref, "main");
  cr_assert_eq(req.ops, JD_BUILD_OP_BUILD);
  cr_assert_float_eq(req.limits.cpus, 1.5, 1e-9);
  cr_assert_eq(req.limits.memory, 512LL << 20);
  cr_assert_eq(req.limits.pids, 64);
  cr_assert_eq(req.limits.wall_ms, 5000);
  cr_assert_eq(req.limits.log_max, 4096);
  cr_assert(req.limits.network);
  cr_assert_str_eq(req.limits.image_network, "none");
  json_object_put(o);
}

Test(build_request, task_defaults_are_all_ops_and_zero_limits) {
  jd_build_request req;
  char err[512];
  cr_assert_eq(
      parse(&req, "{\"domain\":\"game_logic\",\"id\":\"tron\",\"dir\":\"/src\"}", err, sizeof err),
      0, "%s", err);
  cr_assert_eq(req.ref.domain, JD_DOMAIN_GAME_LOGIC);
  cr_assert_eq(req.ops, JD_BUILD_OP_ALL);
  cr_assert_eq(req.limits.memory, 0);
  cr_assert_eq(req.limits.log_max, 0);
  cr_assert(!req.limits.network);
}

Test(build_request, task_rules) {
  refused("[1]", "build: must be an object");
  refused("{\"id\":\"bot\",\"dir\":\"/s\"}", "build.domain");
  refused("{\"domain\":\"robot\",\"id\":\"bot\",\"dir\":\"/s\"}", "build.domain");
  refused("{\"domain\":\"ai\",\"dir\":\"/s\"}", "build.id: program id is missing");
  refused("{\"domain\":\"ai\",\"id\":\"a..b\",\"dir\":\"/s\"}", "build.id: program id 'a..b'");
  refused("{" GOOD "}", "exactly one of build.dir, build.git, build.tar_url");
  refused("{" GOOD ",\"dir\":\"/s\",\"tar_url\":\"http://x/t\"}", "exactly one of");
  refused("{" GOOD ",\"dir\":\"/s\",\"ref\":\"main\"}", "build.ref needs build.git");
  refused("{" GOOD ",\"dir\":\"/s\",\"ops\":\"both\"}", "build.ops must be build, run or all");
}

Test(build_request, task_limits_must_be_positive) {
  static const char *keys[] = {"cpus", "memory", "pids", "wall_ms", "log_max"};
  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
    char text[256], want[64];
    snprintf(want, sizeof want, "build.limits.%s must be more than 0", keys[i]);
    snprintf(text, sizeof text, "{" GOOD ",\"dir\":\"/s\",\"limits\":{\"%s\":0}}", keys[i]);
    refused(text, want);
    snprintf(text, sizeof text, "{" GOOD ",\"dir\":\"/s\",\"limits\":{\"%s\":-1}}", keys[i]);
    refused(text, want);
  }
  refused("{" GOOD ",\"dir\":\"/s\",\"limits\":{\"memory\":\"-1g\"}}", "bad build.limits.memory");
}

Test(build_request, task_fields_of_the_wrong_type_are_named) {
  static const struct {
    const char *json, *want;
  } cases[] = {
      {"{\"domain\":1,\"id\":\"bot\",\"dir\":\"/s\"}", "build.domain: must be a string"},
      {"{\"domain\":\"ai\",\"id\":7,\"dir\":\"/s\"}", "build.id: must be a string"},
      {"{" GOOD ",\"dir\":[]}", "build.dir: must be a string"},
      {"{" GOOD ",\"git\":true}", "build.git: must be a string"},
      {"{" GOOD ",\"git\":\"/g\",\"ref\":{}}", "build.ref: must be a string"},
      {"{" GOOD ",\"tar_url\":null}", "build.tar_url: must be a string"},
      {"{" GOOD ",\"dir\":\"/s\",\"ops\":3}", "build.ops: must be a string"},
      {"{" GOOD ",\"dir\":\"/s\",\"limits\":[]}", "build.limits: must be an object"},
      {"{" GOOD ",\"dir\":\"/s\",\"limits\":{\"cpus\":\"2\"}}", "build.limits.cpus: must be a"},
      {"{" GOOD ",\"dir\":\"/s\",\"limits\":{\"memory\":true}}", "build.limits.memory: must be"},
      {"{" GOOD ",\"dir\":\"/s\",\"limits\":{\"pids\":\"64\"}}", "build.limits.pids: must be"},
      {"{" GOOD ",\"dir\":\"/s\",\"limits\":{\"pids\":1.5}}", "build.limits.pids: must be"},
      {"{" GOOD ",\"dir\":\"/s\",\"limits\":{\"wall_ms\":\"5s\"}}", "build.limits.wall_ms: must"},
      {"{" GOOD ",\"dir\":\"/s\",\"limits\":{\"log_max\":[]}}", "build.limits.log_max: must be"},
      {"{" GOOD ",\"dir\":\"/s\",\"limits\":{\"network\":1}}", "build.limits.network: must be"},
      /* A string is no boolean: "false" must not turn the network on. */
      {"{" GOOD ",\"dir\":\"/s\",\"limits\":{\"network\":\"false\"}}",
       "build.limits.network: must be true or false"},
      {"{" GOOD ",\"dir\":\"/s\",\"limits\":{\"memory\":\"lots\"}}",
       "bad build.limits.memory 'lots'"},
      {"{" GOOD ",\"dir\":\"/s\",\"limits\":{\"image_network\":0}}",
       "build.limits.image_network: must be a string"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    refused(cases[i].json, cases[i].want);
}

/* ---- the flags ---------------------------------------------------------------- */

typedef struct flag {
  jd_build_field field;
  const char *text;
} flag;

/* Sets the flags in order, then checks: the first failure's message, or
 * "" when the request is accepted. */
static const char *flags(jd_build_fields *f, const flag *v, size_t n, char *err, size_t errlen) {
  jd_build_fields_init(f, JD_BUILD_SYNTAX_FLAGS);
  err[0] = '\0';
  for (size_t i = 0; i < n; i++)
    if (jd_build_fields_set(f, v[i].field, v[i].text, err, errlen))
      return err;
  if (jd_build_request_check(f, err, errlen))
    return err;
  return "";
}

#define FLAGS(f, err, ...)                                                                         \
  flags(f, (const flag[]){__VA_ARGS__}, sizeof((const flag[]){__VA_ARGS__}) / sizeof(flag), err,   \
        sizeof err)
#define F_AI                                                                                       \
  { JD_BUILD_FIELD_DOMAIN, "ai" }
#define F_ID                                                                                       \
  { JD_BUILD_FIELD_ID, "bot" }
#define F_DIR                                                                                      \
  { JD_BUILD_FIELD_DIR, "/s" }

static void flags_refused(const char *got, const char *want) {
  cr_assert(got[0], "accepted, wanted '%s'", want);
  cr_assert(strstr(got, want), "message '%s' lacks '%s'", got, want);
}

Test(build_request, flags_with_every_field_set) {
  jd_build_fields f;
  char err[512];
  const char *got = FLAGS(
      &f, err, F_AI, F_ID, {JD_BUILD_FIELD_GIT, "/repo"}, {JD_BUILD_FIELD_REF, "v1"},
      {JD_BUILD_FIELD_OPS, "run"}, {JD_BUILD_FIELD_CPUS, "0.5"}, {JD_BUILD_FIELD_MEMORY, "1.5g"},
      {JD_BUILD_FIELD_PIDS, "32"}, {JD_BUILD_FIELD_WALL, "2.5"}, {JD_BUILD_FIELD_LOG_MAX, "64k"},
      {JD_BUILD_FIELD_NETWORK, NULL}, {JD_BUILD_FIELD_IMAGE_NETWORK, "none"});
  cr_assert_str_eq(got, "");
  const jd_build_request *r = &f.req;
  cr_assert_eq(r->ref.domain, JD_DOMAIN_AI);
  cr_assert_str_eq(r->ref.git_url, "/repo");
  cr_assert_str_eq(r->ref.git_ref, "v1");
  cr_assert_eq(r->ops, JD_BUILD_OP_RUN);
  cr_assert_float_eq(r->limits.cpus, 0.5, 1e-9);
  cr_assert_eq(r->limits.memory, 3LL << 29);
  cr_assert_eq(r->limits.pids, 32);
  cr_assert_eq(r->limits.wall_ms, 2500);
  cr_assert_eq(r->limits.log_max, 64 << 10);
  cr_assert(r->limits.network);
  cr_assert_str_eq(r->limits.image_network, "none");
}

Test(build_request, flag_rules) {
  jd_build_fields f;
  char err[512];
  flags_refused(FLAGS(&f, err, F_ID, F_DIR), "--domain must be 'ai' or 'game_logic'");
  flags_refused(FLAGS(&f, err, {JD_BUILD_FIELD_DOMAIN, "robot"}, F_ID, F_DIR),
                "--domain must be 'ai' or 'game_logic' (got 'robot')");
  flags_refused(FLAGS(&f, err, F_AI, F_DIR), "--id: program id is missing");
  flags_refused(FLAGS(&f, err, F_AI, {JD_BUILD_FIELD_ID, "Bad..Id"}, F_DIR),
                "program id 'Bad..Id' is invalid");
  flags_refused(FLAGS(&f, err, F_AI, F_ID), "give exactly one of --source, --git, --tar");
  flags_refused(FLAGS(&f, err, F_AI, F_ID, F_DIR, {JD_BUILD_FIELD_GIT, "/g"}), "exactly one of");
  flags_refused(FLAGS(&f, err, F_AI, F_ID, F_DIR, {JD_BUILD_FIELD_REF, "main"}),
                "--ref needs --git");
  flags_refused(FLAGS(&f, err, F_AI, F_ID, F_DIR, {JD_BUILD_FIELD_OPS, "both"}),
                "--op must be build, run or all (got 'both')");
}

Test(build_request, flag_limits_must_be_positive_and_well_formed) {
  static const struct {
    jd_build_field field;
    const char *name;
  } limits[] = {{JD_BUILD_FIELD_CPUS, "--cpus"},
                {JD_BUILD_FIELD_MEMORY, "--memory"},
                {JD_BUILD_FIELD_PIDS, "--pids"},
                {JD_BUILD_FIELD_WALL, "--timeout"},
                {JD_BUILD_FIELD_LOG_MAX, "--log-max"}};
  for (size_t i = 0; i < sizeof limits / sizeof limits[0]; i++) {
    jd_build_fields f;
    char err[512], want[64];
    snprintf(want, sizeof want, "%s must be more than 0", limits[i].name);
    flags_refused(FLAGS(&f, err, F_AI, F_ID, F_DIR, {limits[i].field, "0"}), want);
    snprintf(want, sizeof want, "bad %s 'x'", limits[i].name);
    flags_refused(FLAGS(&f, err, F_AI, F_ID, F_DIR, {limits[i].field, "x"}), want);
    snprintf(want, sizeof want, "%s", limits[i].name);
    flags_refused(FLAGS(&f, err, F_AI, F_ID, F_DIR, {limits[i].field, "-1"}), want);
  }
}

Test(build_request, check_refuses_negative_limits_set_directly) {
  /* A request filled by hand (not through the setters) meets the same check. */
  jd_build_fields f;
  char err[512];
  cr_assert_str_eq(FLAGS(&f, err, F_AI, F_ID, F_DIR), "");
  f.req.limits.wall_ms = -5;
  cr_assert_neq(jd_build_request_check(&f, err, sizeof err), 0);
  cr_assert(strstr(err, "--timeout must not be negative"), "%s", err);
  f.req.limits.wall_ms = 0;
  f.req.ops = 8;
  cr_assert_neq(jd_build_request_check(&f, err, sizeof err), 0);
  cr_assert(strstr(err, "--op"), "%s", err);
}
