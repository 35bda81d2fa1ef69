// test-labels: unit
/* Which engine answers, and what libdockerapi does differently on Podman,
 * against the fake engine answering as Docker 20.10 and Podman 4.3.1 do
 * (their headers and error bodies copied from the real ones). The same
 * calls against the real engines: tests/dockerapi/system.c (the host's
 * Docker) and tests/dockerapi/podman43.c (the host's Podman 4.3.1). */
#include <stdlib.h>
#include <string.h>

#include "fake_engine.h"
#include "support.h"

#define DOCKER_PING                                                                                \
  "HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nServer: Docker/20.10.24+dfsg1 (linux)\r\n"              \
  "Content-Type: text/plain\r\nContent-Length: 2\r\nConnection: close\r\n\r\nOK"
#define PODMAN_PING                                                                                \
  "HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nLibpod-Api-Version: 4.3.1\r\n"                          \
  "Server: Libpod/4.3.1 (linux)\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n"              \
  "Connection: close\r\n\r\nOK"
/* Podman's error body: the wrapped Go error in "cause", the status again. */
#define PODMAN_500(cause, msg) "{\"cause\":\"" cause "\",\"message\":\"" msg "\",\"response\":500}"

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

TestSuite(engine, .fini = teardown, .timeout = 20);

static const char *answer(int slot, const char *status, const char *body) {
  size_t len = 0;
  answers[slot] = t_fake_answer(&len, status, "application/json", body, strlen(body));
  return answers[slot];
}

static void start(const t_fake_route *routes, size_t n, const char *pin) {
  fake = t_fake_start(routes, n);
  dk_client_opts o = {.host = t_fake_host(fake), .api_version = pin};
  t_ok(dk_client_new(&cli, &o));
}

static dk_engine_kind kind_after_ping(const char *ping) {
  t_fake_route routes[] = {{.path = "/_ping", .raw = ping}};
  start(routes, 1, NULL);
  cr_assert_eq(dk_client_engine(cli), DK_ENGINE_UNKNOWN, "no answer yet");
  const char *v = NULL;
  t_ok(dk_client_api_version(&v, cli));
  dk_engine_kind k = dk_client_engine(cli);
  teardown();
  return k;
}

Test(engine, the_negotiating_ping_names_the_product) {
  cr_assert_eq(kind_after_ping(DOCKER_PING), DK_ENGINE_DOCKER);
  cr_assert_eq(kind_after_ping(PODMAN_PING), DK_ENGINE_PODMAN);
  /* either Libpod sign alone is Podman; Api-Version alone is Docker */
  cr_assert_eq(kind_after_ping("HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nServer: Libpod/5.4.2 "
                               "(linux)\r\nContent-Length: 2\r\nConnection: close\r\n\r\nOK"),
               DK_ENGINE_PODMAN);
  cr_assert_eq(kind_after_ping("HTTP/1.1 200 OK\r\nlibpod-api-version: 5.4.2\r\nApi-Version: "
                               "1.41\r\nContent-Length: 2\r\nConnection: close\r\n\r\nOK"),
               DK_ENGINE_PODMAN, "header names in any case, in any order");
  cr_assert_eq(kind_after_ping("HTTP/1.1 200 OK\r\nApi-Version: 1.45\r\nContent-Length: 2\r\n"
                               "Connection: close\r\n\r\nOK"),
               DK_ENGINE_DOCKER);
}

Test(engine, names_are_one_table) {
  cr_assert_str_eq(dk_engine_kind_name(DK_ENGINE_UNKNOWN), "unknown");
  cr_assert_str_eq(dk_engine_kind_name(DK_ENGINE_DOCKER), "docker");
  cr_assert_str_eq(dk_engine_kind_name(DK_ENGINE_PODMAN), "podman");
  cr_assert_null(dk_engine_kind_name((dk_engine_kind)3));
  cr_assert_null(dk_engine_kind_name((dk_engine_kind)-1));
}

Test(engine, a_pinned_version_learns_the_engine_from_its_first_answer) {
  static const char nf[] = "HTTP/1.1 404 Not Found\r\nApi-Version: 1.41\r\nContent-Type: "
                           "application/json\r\nLibpod-Api-Version: 4.3.1\r\nServer: Libpod/4.3.1 "
                           "(linux)\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}";
  t_fake_route routes[] = {{.path = "/_ping", .raw = PODMAN_PING},
                           {.path = "/containers/x/json", .raw = nf}};
  start(routes, 2, "1.41");
  dk_container_info *ci = NULL;
  cr_assert_eq(dk_container_inspect(&ci, cli, "x"), DK_ENOTFOUND);
  cr_assert_eq(dk_client_engine(cli), DK_ENGINE_PODMAN, "the 404 carried Libpod's headers");
}

Test(engine, version_names_the_product_from_its_components) {
  t_fake_route routes[] = {
      {.path = "/_ping", .raw = PODMAN_PING},
      {.path = "/version",
       .raw = answer(0, "200 OK",
                     "{\"Components\":[{\"Name\":\"Podman Engine\",\"Version\":\"4.3.1\"},"
                     "{\"Name\":\"Conmon\",\"Version\":\"conmon version 2.1.6\"}],"
                     "\"Version\":\"4.3.1\",\"ApiVersion\":\"1.41\",\"MinAPIVersion\":\"1.24\"}")},
  };
  start(routes, 2, NULL);
  dk_version *v = NULL;
  t_ok(dk_system_version(&v, cli));
  cr_assert_eq(v->engine, DK_ENGINE_PODMAN);
  cr_assert_str_eq(v->engine_version, "4.3.1");
  dk_version_free(v);
}

/* ---- Podman's 500s read as Docker's 4xx ------------------------------------- */

static int podman_error(const char *status, const char *body) {
  t_fake_route routes[] = {{.path = "/_ping", .raw = PODMAN_PING},
                           {.path = "/containers/c/kill", .raw = answer(0, status, body)}};
  start(routes, 2, NULL);
  int rc = dk_container_kill(cli, "c", NULL);
  teardown();
  return rc;
}

Test(engine, podman_500s_carry_the_code_docker_gives) {
  cr_assert_eq(podman_error("500 Internal Server Error",
                            PODMAN_500("container state improper",
                                       "can only kill running containers. c is in state exited")),
               DK_ECONFLICT, "Docker: 409 not running");
  cr_assert_eq(
      podman_error("500 Internal Server Error",
                   PODMAN_500("that name is already in use", "the container name \\\"x\\\"")),
      DK_ECONFLICT);
  cr_assert_eq(podman_error("500 Internal Server Error",
                            PODMAN_500("network already exists", "network name n already used")),
               DK_ECONFLICT);
  cr_assert_eq(podman_error("500 Internal Server Error",
                            PODMAN_500("network is being used", "n has associated containers")),
               DK_EFORBIDDEN, "Docker: 403 active endpoints");
  cr_assert_eq(podman_error("500 Internal Server Error", PODMAN_500("network is already connected",
                                                                    "c is already connected to n")),
               DK_EFORBIDDEN);
  cr_assert_eq(podman_error("500 Internal Server Error",
                            PODMAN_500("subnet 10.240.0.0/29 is already used on the host or by "
                                       "another config",
                                       "subnet 10.240.0.0/29 is already used")),
               DK_EFORBIDDEN, "Docker: 403 pool overlaps");
  cr_assert_eq(podman_error("500 Internal Server Error",
                            PODMAN_500("network not found", "unable to find network n")),
               DK_ENOTFOUND);
  /* an unknown cause, and Docker's own 500, stay server faults */
  cr_assert_eq(podman_error("500 Internal Server Error", PODMAN_500("runc failed", "oops")),
               DK_ESERVER);
  cr_assert_eq(
      podman_error("500 Internal Server Error", "{\"message\":\"container state improper\"}"),
      DK_ESERVER, "a cause only counts in Podman's shape");
}

Test(engine, the_status_that_came_is_kept) {
  t_fake_route routes[] = {
      {.path = "/_ping", .raw = PODMAN_PING},
      {.path = "/containers/c/kill",
       .raw = answer(0, "500 Internal Server Error",
                     PODMAN_500("container state improper", "can only kill running containers"))}};
  start(routes, 2, NULL);
  cr_assert_eq(dk_container_kill(cli, "c", NULL), DK_ECONFLICT);
  cr_assert_eq(dk_error_last()->http_status, 500);
  cr_assert_str_eq(dk_error_last()->message, "can only kill running containers");
}

/* ---- import and build on Podman ---------------------------------------------- */

Test(engine, podman_import_names_the_tag_in_repo_then_tags_the_id) {
  static const char id[] = "/images/sha256%3Aa526609c3ef11be97abbe29fc8b771600e19602f6ea89fd1ec01e"
                           "67914d77c47/tag";
  t_fake_route routes[] = {
      {.path = "/_ping", .raw = PODMAN_PING},
      {.method = "POST",
       .path = "/images/create",
       .raw = answer(0, "200 OK",
                     "{\"status\":\"sha256:a526609c3ef11be97abbe29fc8b771600e19602f6ea89fd1ec01e"
                     "67914d77c47\",\"progress\":\"\",\"progressDetail\":{},\"id\":\"sha256:a52"
                     "6609c3ef11be97abbe29fc8b771600e19602f6ea89fd1ec01e67914d77c47\"}\n")},
      {.method = "POST", .path = "/images/sha256", .raw = answer(1, "201 Created", "")},
  };
  start(routes, 3, NULL);
  static const char tar[1024];
  t_ok(dk_image_import_mem(cli, tar, sizeof tar, "judger/base", "v1"));
  char *req = t_fake_last(fake);
  cr_assert(req && strstr(req, id) && strstr(req, "/tag?repo=judger%2Fbase&tag=v1"), "%s", req);
  cr_assert_eq(t_fake_served(fake), 3, "ping, import, tag");
  free(req);
}

Test(engine, docker_import_is_one_request) {
  t_fake_route routes[] = {
      {.path = "/_ping", .raw = DOCKER_PING},
      {.method = "POST",
       .path = "/images/create",
       .raw = answer(0, "200 OK",
                     "{\"status\":"
                     "\"sha256:0123abcd\"}\r\n")},
  };
  start(routes, 2, NULL);
  static const char tar[1024];
  t_ok(dk_image_import_mem(cli, tar, sizeof tar, "judger/base", "v1"));
  char *req = t_fake_last(fake);
  cr_assert(req && strstr(req, "fromSrc=-&repo=judger%2Fbase&tag=v1"), "%s", req);
  cr_assert_eq(t_fake_served(fake), 2, "ping, import: Docker keeps the tag itself");
  free(req);
}

/* The query of a build of network_mode `mode` on an engine answering ping. */
static char *build_query(const char *ping, const char *mode, bool libpod) {
  static const char body[] = "{\"stream\":\"ok\\n\"}\r\n{\"aux\":{\"ID\":\"sha256:ab\"}}\r\n";
  t_fake_route routes[] = {{.path = "/_ping", .raw = ping},
                           {.method = "POST", .path = "/build", .raw = answer(0, "200 OK", body)}};
  start(routes, 2, NULL);
  static const char ctx[1024];
  dk_build_opts o = {.network_mode = mode, .libpod = libpod};
  char *id = NULL;
  int rc = dk_image_build(&id, cli, ctx, sizeof ctx, &o, NULL, NULL, NULL, NULL);
  char *req = t_fake_last(fake);
  teardown();
  cr_assert_eq(rc, 0, "%s", dk_error_name(rc));
  free(id);
  char *nl = req ? strchr(req, '\n') : NULL;
  if (nl)
    *nl = '\0'; /* the request line only */
  return req;
}

#define NS(x) "nsoptions=%5B%7B%22Name%22%3A%22network%22" x "%7D%5D"

Test(engine, podman_builds_get_the_network_as_namespace_options) {
  char *q = build_query(PODMAN_PING, "judger-build-1", false);
  cr_assert(strstr(q, NS("%2C%22Path%22%3A%22judger-build-1%22") "&networkmode=2"), "%s", q);
  free(q);
  q = build_query(PODMAN_PING, "none", false);
  cr_assert(strstr(q, NS("") "&networkmode=1"), "only lo: %s", q);
  free(q);
  q = build_query(PODMAN_PING, NULL, false);
  cr_assert(strstr(q, NS("") "&networkmode=2"), "Podman's default network, not the host's: %s", q);
  free(q);
  q = build_query(PODMAN_PING, "host", false);
  cr_assert(strstr(q, NS("%2C%22Host%22%3Atrue") "&networkmode=2"), "%s", q);
  free(q);
  q = build_query(DOCKER_PING, "judger-build-1", true);
  cr_assert(strstr(q, "&networkmode=2"), "libpod forces it: %s", q);
  free(q);
  q = build_query(DOCKER_PING, "judger-build-1", false);
  cr_assert(strstr(q, "networkmode=judger-build-1") && !strstr(q, "nsoptions"), "%s", q);
  free(q);
}

Test(engine, a_path_is_not_a_network_name) {
  static const char ctx[1024];
  t_fake_route routes[] = {{.path = "/_ping", .raw = PODMAN_PING}};
  start(routes, 1, NULL);
  dk_build_opts o = {.network_mode = "/proc/1/ns/net"};
  cr_assert_eq(dk_image_build(NULL, cli, ctx, sizeof ctx, &o, NULL, NULL, NULL, NULL), DK_EINVAL);
  o.network_mode = "ns:/run/netns/x";
  cr_assert_eq(dk_image_build(NULL, cli, ctx, sizeof ctx, &o, NULL, NULL, NULL, NULL), DK_EINVAL);
  cr_assert_eq(t_fake_served(fake), 1, "nothing sent but the ping");
}

/* Podman 4.3 removes a network in use when it is named by its id (only by
 * name does it check the containers): the library removes it by name. */
Test(engine, podman_network_remove_names_the_network) {
  t_fake_route routes[] = {
      {.path = "/_ping", .raw = PODMAN_PING},
      {.method = "GET",
       .path = "/networks/0123abcd",
       .raw = answer(0, "200 OK",
                     "{\"Id\":\"0123abcd\",\"Name\":\"judger-m-1\",\"Driver\":"
                     "\"bridge\",\"Containers\":{}}")},
      {.method = "DELETE", .path = "/networks/judger-m-1", .raw = answer(1, "204 No Content", "")},
  };
  start(routes, 3, NULL);
  t_ok(dk_network_remove(cli, "0123abcd"));
  char *req = t_fake_last(fake);
  cr_assert(req && !strncmp(req, "DELETE /v1.41/networks/judger-m-1", 33), "%s", req);
  free(req);
}
