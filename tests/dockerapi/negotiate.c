// test-labels: unit
/* API version negotiation against engines of other versions (the fake
 * engine answering /_ping and /version as they do), and the version gates:
 * what libdockerapi sends or reads differently by version. The same calls
 * run against real engines of both versions in the engine-labelled tests
 * (the host's 20.10 and the trixie 26.1 sidecar, tests/run-all.sh). */
#include <stdlib.h>
#include <string.h>

#include "fake_engine.h"
#include "support.h"

#define PING(v)                                                                                    \
  "HTTP/1.1 200 OK\r\nApi-Version: " v "\r\nContent-Type: text/plain\r\n"                          \
  "Content-Length: 2\r\nConnection: close\r\n\r\nOK"

static t_fake *fake;
static dk_client *cli;
static char *answers[4];

static void teardown(void) {
  dk_client_free(cli);
  cli = NULL;
  t_fake_stop(fake);
  fake = NULL;
  for (size_t k = 0; k < sizeof answers / sizeof *answers; k++) {
    free(answers[k]);
    answers[k] = NULL;
  }
}

TestSuite(negotiate, .fini = teardown, .timeout = 20);

/* A JSON answer with its length; kept in answers[slot] until teardown. */
static const char *json_answer(int slot, const char *body) {
  size_t len = 0;
  answers[slot] = t_fake_answer(&len, "200 OK", "application/json", body, strlen(body));
  return answers[slot];
}

/* Starts the fake with routes and a client on it (max NULL = the library's). */
static void start(const t_fake_route *routes, size_t n, const char *max) {
  fake = t_fake_start(routes, n);
  dk_client_opts o = {.host = t_fake_host(fake), .api_version_max = max};
  t_ok(dk_client_new(&cli, &o));
}

static const char *version_of(int *rc) {
  const char *v = NULL;
  *rc = dk_client_api_version(&v, cli);
  return v;
}

/* ---- the pure rule ------------------------------------------------------------ */

static const char *pick(const char *client_max, const char *min, const char *max) {
  static char out[16];
  int rc = dk_api_version_pick(out, sizeof out, client_max, min, max);
  return rc ? dk_error_name(rc) : out;
}

Test(negotiate, pick_is_the_lower_maximum_above_the_engines_minimum) {
  cr_assert_str_eq(pick(DK_API_VERSION_MAX, "1.12", "1.41"), "1.41", "Docker 20.10");
  cr_assert_str_eq(pick(DK_API_VERSION_MAX, "1.44", "1.45"), "1.45", "trixie 26.1, min raised");
  cr_assert_str_eq(pick(DK_API_VERSION_MAX, "1.44", "1.52"), "1.52", "Docker 29.0");
  cr_assert_str_eq(pick("1.44", "1.44", "1.52"), "1.44", "a client at the engine's floor");
  cr_assert_str_eq(pick(DK_API_VERSION_MAX, "1.44", "9.99"), DK_API_VERSION_MAX);
  cr_assert_str_eq(pick(DK_API_VERSION_MAX, NULL, "1.52"), "1.52", "minimum unknown");
}

Test(negotiate, no_common_version_is_one_line_naming_both_ranges) {
  cr_assert_str_eq(pick("1.43", "1.44", "1.52"), "DK_EVERSION", "the Docker 29.0 breakage");
  const char *m = dk_error_last()->message;
  cr_assert(strstr(m, "1.44 to 1.52") && strstr(m, DK_API_VERSION_MIN " to 1.43"), "%s", m);
  cr_assert_null(strchr(m, '\n'), "one line: %s", m);
  cr_assert_str_eq(pick(DK_API_VERSION_MAX, "banana", "1.52"), "DK_EPROTO");
  cr_assert_str_eq(pick("1.2", NULL, "1.41"), "DK_EINVAL", "client max below 1.24");
}

/* ---- against engines (the fake answering as each does) ------------------------ */

Test(negotiate, newer_engine_with_a_raised_minimum_is_asked_its_range) {
  t_fake_route routes[] = {
      {.path = "/_ping", .raw = PING("1.60")},
      {.path = "/version",
       .raw = json_answer(0, "{\"Version\":\"99.0\",\"ApiVersion\":\"1.60\","
                             "\"MinAPIVersion\":\"1.44\"}")},
  };
  start(routes, 2, NULL);
  int rc = 0;
  const char *v = version_of(&rc);
  t_ok(rc);
  cr_assert_str_eq(v, DK_API_VERSION_MAX, "our newest, which the engine accepts");
  cr_assert_eq(t_fake_served(fake), 2, "ping + version");
}

Test(negotiate, client_below_the_engines_minimum_fails_clearly_before_any_call) {
  t_fake_route routes[] = {
      {.path = "/_ping", .raw = PING("1.52")},
      {.path = "/version",
       .raw = json_answer(0, "{\"Version\":\"29.0.0\",\"ApiVersion\":\"1.52\","
                             "\"MinAPIVersion\":\"1.44\"}")},
  };
  start(routes, 2, "1.43"); /* the libdockerapi of before this change */
  dk_container_list *l = NULL;
  int rc = dk_container_list_by_label(&l, cli, true, NULL);
  cr_assert_eq(rc, DK_EVERSION, "got %s", dk_error_name(rc));
  const char *m = dk_error_last()->message;
  cr_assert(strstr(m, "engine accepts 1.44 to 1.52") && strstr(m, "client 1.24 to 1.43"), "%s", m);
  cr_assert_eq(t_fake_served(fake), 2, "no request sent at a version the engine refuses");
  dk_container_list_free(l);
}

Test(negotiate, older_engine_is_not_asked_its_minimum) {
  t_fake_route routes[] = {{.path = "/_ping", .raw = PING("1.45")}};
  start(routes, 1, NULL);
  int rc = 0;
  cr_assert_str_eq(version_of(&rc), "1.45");
  t_ok(rc);
  cr_assert_eq(t_fake_served(fake), 1, "its own maximum is always accepted: one ping");
}

Test(negotiate, max_option_is_checked) {
  dk_client_opts o = {.host = "unix:///nonexistent.sock", .api_version_max = "1.99"};
  cr_assert_eq(dk_client_new(&cli, &o), DK_EINVAL, "above what the library was checked against");
  o.api_version_max = "one";
  cr_assert_eq(dk_client_new(&cli, &o), DK_EINVAL);
}

/* ---- the gates ------------------------------------------------------------------ */

static char *network_create_body(const char *engine_ping) {
  t_fake_route routes[] = {
      {.path = "/_ping", .raw = engine_ping},
      {.method = "POST", .path = "/networks/create", .raw = json_answer(0, "{\"Id\":\"n1\"}")},
  };
  start(routes, 2, NULL);
  char *id = NULL;
  dk_network_config cfg = {.internal = true, .check_duplicate = true};
  t_ok(dk_network_create(&id, cli, "gate", &cfg));
  cr_assert_str_eq(id, "n1");
  free(id);
  char *req = t_fake_last(fake);
  cr_assert(req && strstr(req, "\"Internal\":true"), "%s", req);
  return req;
}

Test(negotiate, gate_1_44_network_create_sends_check_duplicate_only_before) {
  char *req = network_create_body(PING("1.43"));
  cr_assert(strstr(req, "POST /v1.43/networks/create") && strstr(req, "\"CheckDuplicate\":true"),
            "%s", req);
  free(req);
  teardown();
  req = network_create_body(PING("1.45"));
  cr_assert(strstr(req, "POST /v1.45/networks/create") && !strstr(req, "CheckDuplicate"),
            "deprecated in 1.44 (duplicates always fail): %s", req);
  free(req);
}

static dk_image_list *list_images(const char *engine_ping) {
  t_fake_route routes[] = {
      {.path = "/_ping", .raw = engine_ping},
      {.path = "/images/json",
       .raw = json_answer(1, "[{\"Id\":\"sha256:a\",\"RepoTags\":[\"<none>:<none>\"],\"Size\":1},"
                             "{\"Id\":\"sha256:b\",\"RepoTags\":[\"x:1\"],\"Size\":2}]")},
  };
  start(routes, 2, NULL);
  dk_image_list *l = NULL;
  t_ok(dk_image_list_filtered(&l, cli, NULL, NULL));
  cr_assert_eq(l->count, 2);
  return l;
}

Test(negotiate, gate_1_43_untagged_images_have_no_tags_on_every_version) {
  dk_image_list *l = list_images(PING("1.41"));
  cr_assert_null(l->items[0].repo_tags[0], "1.41's <none>:<none> is left out");
  cr_assert_str_eq(l->items[1].repo_tags[0], "x:1");
  dk_image_list_free(l);
  teardown();
  /* From 1.43 the engine sends [] itself; a tag literally named so is kept. */
  l = list_images(PING("1.43"));
  cr_assert_str_eq(l->items[0].repo_tags[0], "<none>:<none>");
  dk_image_list_free(l);
}

Test(negotiate, gate_1_48_build_error_is_read_from_error_detail) {
  static const char body[] = "{\"stream\":\"Step 1/1 : RUN false\\n\"}\r\n"
                             "{\"errorDetail\":{\"code\":1,\"message\":\"RUN false: exit 1\"}}\r\n";
  size_t n = 0;
  answers[2] = t_fake_answer(&n, "200 OK", "application/json", body, sizeof body - 1);
  t_fake_route routes[] = {{.path = "/_ping", .raw = PING("1.52")},
                           {.method = "POST", .path = "/build", .raw = answers[2], .len = n}};
  start(routes, 2, NULL);
  static const char ctx[1024]; /* an empty tar: two zero blocks */
  char *id = NULL;
  int rc = dk_image_build(&id, cli, ctx, sizeof ctx, NULL, NULL, NULL, NULL, NULL);
  cr_assert_eq(rc, DK_EBUILD, "got %s", dk_error_name(rc));
  cr_assert(strstr(dk_error_last()->message, "RUN false: exit 1"), "%s", dk_error_last()->message);
  cr_assert_null(id);
}

static int on_event(void *ud, const dk_event *ev) {
  snprintf(ud, 64, "%s %s %s %lld", ev->type, ev->action, ev->id, (long long)ev->time_nano);
  return 0;
}

Test(negotiate, gate_1_52_events_without_status_id_from) {
  static const char body[] =
      "{\"Type\":\"container\",\"Action\":\"die\",\"Actor\":{\"ID\":\"c1\",\"Attributes\":{}},"
      "\"scope\":\"local\",\"time\":1700000000,\"timeNano\":1700000000123456789}\n";
  size_t n = 0;
  answers[3] = t_fake_answer(&n, "200 OK", "application/json", body, sizeof body - 1);
  t_fake_route routes[] = {{.path = "/_ping", .raw = PING("1.52")},
                           {.path = "/events", .raw = answers[3], .len = n}};
  start(routes, 2, NULL);
  char seen[64] = "";
  t_ok(dk_system_events(cli, NULL, on_event, seen, NULL));
  cr_assert_str_eq(seen, "container die c1 1700000000123456789");
}

Test(negotiate, containerd_image_store_is_seen_in_info) {
  t_fake_route routes[] = {
      {.path = "/_ping", .raw = PING("1.52")},
      {.path = "/info",
       .raw = json_answer(0, "{\"ServerVersion\":\"29.0.0\",\"Driver\":\"overlayfs\","
                             "\"DriverStatus\":[[\"driver-type\","
                             "\"io.containerd.snapshotter.v1\"]]}")},
  };
  start(routes, 2, NULL);
  dk_info *i = NULL;
  t_ok(dk_system_info(&i, cli));
  cr_assert(i->containerd_store);
  cr_assert_str_eq(i->storage_driver, "overlayfs");
  dk_info_free(i);
}
