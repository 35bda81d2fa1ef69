// test-labels: unit
/* The engine's profile without an engine (common/engine.h): the table of
 * guarantees per product and version, engine_accept's parser and the one
 * line a refusal says. The same against real engines: tests/judger/cli/
 * engine_refusals.c (Podman 4.3.1) and doctor.c (the host's Docker). A
 * context's engine changing under it, on the fake engine (a real one
 * cannot become another product on demand): the last test. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "common/context.h"
#include "common/engine.h"
#include "fake_engine.h"

#define BIT(g) (1u << JD_GUARANTEE_##g)

Test(engine, guarantee_names_and_texts) {
  cr_assert_str_eq(jd_guarantee_name(JD_GUARANTEE_BUILD_NETWORK), "build_network");
  cr_assert_str_eq(jd_guarantee_name(JD_GUARANTEE_HOST_UNREACHABLE), "host_unreachable");
  cr_assert_str_eq(jd_guarantee_name(JD_GUARANTEE_OOM_VERDICT), "oom_verdict");
  cr_assert_str_eq(jd_guarantee_name(JD_GUARANTEE_BUILD_WALL_TIME), "build_wall_time");
  cr_assert_null(jd_guarantee_name(JD_GUARANTEE_COUNT));
  for (int g = 0; g < JD_GUARANTEE_COUNT; g++) {
    cr_assert(jd_guarantee_text(g) && *jd_guarantee_text(g));
    cr_assert(jd_guarantee_refuses(g) && *jd_guarantee_refuses(g));
  }
  cr_assert_str_eq(jd_guarantee_refuses(JD_GUARANTEE_BUILD_NETWORK), "image builds");
  cr_assert_str_eq(jd_guarantee_refuses(JD_GUARANTEE_OOM_VERDICT), "matches");
  cr_assert_str_eq(jd_guarantee_refuses(JD_GUARANTEE_BUILD_WALL_TIME), "image builds");
  cr_assert_null(jd_guarantee_text(JD_GUARANTEE_COUNT));
  cr_assert_null(jd_guarantee_refuses(JD_GUARANTEE_COUNT));
  cr_assert_str_eq(jd_guarantee_state_name(JD_GUARANTEE_ACCEPTED), "accepted");
  cr_assert_eq(JD_GUARANTEE_ALL, BIT(BUILD_NETWORK) | BIT(HOST_UNREACHABLE) | BIT(OOM_VERDICT) |
                                     BIT(BUILD_WALL_TIME));
}

Test(engine, docker_keeps_every_guarantee) {
  const char *versions[] = {"20.10.24", "26.1.5", "29.1.0"};
  for (size_t i = 0; i < sizeof versions / sizeof *versions; i++) {
    jd_engine e;
    jd_engine_profile(&e, DK_ENGINE_DOCKER, versions[i]);
    cr_assert_eq(e.lacking, 0u, "%s", versions[i]);
    cr_assert_str_eq(e.version, versions[i]);
    for (int g = 0; g < JD_GUARANTEE_COUNT; g++) {
      cr_assert_null(e.gap[g]);
      cr_assert_eq(jd_engine_state(&e, g, 0), JD_GUARANTEE_KEPT);
      cr_assert_eq(jd_engine_require(&e, g, 0, NULL, 0), 0);
    }
    cr_assert(!e.seccomp_by_path && e.tmpfs_nr_inodes);
  }
  jd_engine e;
  jd_engine_profile(&e, DK_ENGINE_DOCKER, "20.10.24");
  cr_assert_eq(e.major, 20);
  cr_assert_eq(e.minor, 10);
}

Test(engine, podman_4_lacks_them_all) {
  jd_engine e;
  jd_engine_profile(&e, DK_ENGINE_PODMAN, "4.3.1");
  cr_assert_eq(e.major, 4);
  cr_assert_eq(e.minor, 3);
  cr_assert_eq(e.lacking, JD_GUARANTEE_ALL);
  for (int g = 0; g < JD_GUARANTEE_COUNT; g++)
    cr_assert(e.gap[g] && strstr(e.gap[g], "Podman"), "gap %d: %s", g, e.gap[g]);
  cr_assert(e.seccomp_by_path && !e.tmpfs_nr_inodes);
}

Test(engine, podman_5_lacks_all_but_oom_verdict) {
  /* Its builds and players both reach the host through their network's
   * gateway (inhibit_ipv4 ignored), a build outlives its wall time (review
   * 28 #14); it reports OOM kills. */
  jd_engine e;
  jd_engine_profile(&e, DK_ENGINE_PODMAN, "5.4.2");
  cr_assert_eq(e.major, 5);
  cr_assert_eq(e.lacking, BIT(HOST_UNREACHABLE) | BIT(BUILD_NETWORK) | BIT(BUILD_WALL_TIME));
  cr_assert(strstr(e.gap[JD_GUARANTEE_BUILD_WALL_TIME], "runs on after the TLE"), "%s",
            e.gap[JD_GUARANTEE_BUILD_WALL_TIME]);
  cr_assert(e.seccomp_by_path && !e.tmpfs_nr_inodes);
}

Test(engine, oom_verdict_is_kept_only_in_the_measured_range) {
  /* Measured on 5.4.2 only (review 28 #16): 5.0-5.3 and 6.x lack it too. */
  static const struct {
    const char *version;
    bool kept;
  } cases[] = {{"4.9.9", false}, {"5.0.0", false}, {"5.3.2", false}, {"5.4.0", true},
               {"5.4.2", true},  {"5.99.1", true}, {"6.0.0", false}, {"10.4.1", false}};
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    jd_engine e;
    jd_engine_profile(&e, DK_ENGINE_PODMAN, cases[i].version);
    cr_assert_eq(!(e.lacking & BIT(OOM_VERDICT)), cases[i].kept, "%s", cases[i].version);
    cr_assert(e.lacking & BIT(HOST_UNREACHABLE) && e.lacking & BIT(BUILD_NETWORK) &&
              e.lacking & BIT(BUILD_WALL_TIME));
    if (!cases[i].kept)
      cr_assert_not_null(e.gap[JD_GUARANTEE_OOM_VERDICT]);
  }
}

Test(engine, unparsable_version_is_the_oldest) {
  /* An unknown version of Podman gets the strictest profile. */
  jd_engine e;
  jd_engine_profile(&e, DK_ENGINE_PODMAN, "dev");
  cr_assert_eq(e.major, 0);
  cr_assert_eq(e.lacking, JD_GUARANTEE_ALL);
  jd_engine_profile(&e, DK_ENGINE_PODMAN, NULL);
  cr_assert_str_eq(e.version, "?");
  char longv[100];
  memset(longv, '9', sizeof longv - 1);
  longv[sizeof longv - 1] = '\0';
  jd_engine_profile(&e, DK_ENGINE_DOCKER, longv);
  cr_assert_lt(strlen(e.version), sizeof e.version, "the version is cut to its field");
}

Test(engine, of_version_prefers_the_components) {
  dk_version v = {.engine = DK_ENGINE_PODMAN, .engine_version = "4.3.1", .version = "4.3.1"};
  jd_engine e;
  jd_engine_of_version(&e, &v, NULL);
  cr_assert_eq(e.kind, DK_ENGINE_PODMAN);
  cr_assert_str_eq(e.version, "4.3.1");
  dk_version d = {.engine = DK_ENGINE_UNKNOWN, .version = "20.10.24"};
  jd_engine_of_version(&e, &d, NULL);
  cr_assert_eq(e.kind, DK_ENGINE_UNKNOWN);
  cr_assert_str_eq(e.version, "20.10.24");
  cr_assert_eq(e.lacking, 0u);
}

Test(engine, accept_parse) {
  unsigned m = 99;
  char err[256] = "";
  cr_assert_eq(jd_engine_accept_parse(&m, "", err, sizeof err), 0);
  cr_assert_eq(m, 0u);
  cr_assert_eq(jd_engine_accept_parse(&m, NULL, err, sizeof err), 0);
  cr_assert_eq(jd_engine_accept_parse(&m, "none", err, sizeof err), 0);
  cr_assert_eq(m, 0u);
  cr_assert_eq(jd_engine_accept_parse(&m, "oom_verdict", err, sizeof err), 0);
  cr_assert_eq(m, BIT(OOM_VERDICT));
  cr_assert_eq(jd_engine_accept_parse(&m, "host_unreachable,build_network", err, sizeof err), 0);
  cr_assert_eq(m, BIT(HOST_UNREACHABLE) | BIT(BUILD_NETWORK));
  cr_assert_eq(jd_engine_accept_parse(&m, "oom_verdict,oom_verdict", err, sizeof err), 0);
  cr_assert_eq(m, BIT(OOM_VERDICT));
  /* Blanks around a word, as a person writes a list. */
  cr_assert_eq(jd_engine_accept_parse(&m, " oom_verdict ,\tbuild_network", err, sizeof err), 0);
  cr_assert_eq(m, BIT(OOM_VERDICT) | BIT(BUILD_NETWORK));
  cr_assert_eq(jd_engine_accept_parse(&m, "build_network,build_wall_time", err, sizeof err), 0);
  cr_assert_eq(m, BIT(BUILD_NETWORK) | BIT(BUILD_WALL_TIME));
}

Test(engine, accept_parse_refuses_unknown_words) {
  unsigned m = 0;
  char err[256] = "";
  cr_assert_eq(jd_engine_accept_parse(&m, "oom_verdict,everything", err, sizeof err), -1);
  cr_assert_eq(m, 0u, "nothing accepted after a bad word");
  cr_assert(strstr(err, "'everything'") && strstr(err, "engine_accept"), "%s", err);
  /* The words it takes, every one. */
  cr_assert(strstr(err, "build_network,host_unreachable,oom_verdict,build_wall_time"), "%s", err);
  /* A prefix, a longer word, a blank inside, an empty word and case are
   * not the names. */
  const char *bad[] = {"oom", "oom_verdicts", "oom verdict", ",oom_verdict", "OOM_VERDICT", "all"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    cr_assert_eq(jd_engine_accept_parse(&m, bad[i], err, sizeof err), -1, "'%s'", bad[i]);
  /* The word quoted back is bounded. */
  char longw[400];
  memset(longw, 'x', sizeof longw - 1);
  longw[sizeof longw - 1] = '\0';
  cr_assert_eq(jd_engine_accept_parse(&m, longw, err, sizeof err), -1);
  cr_assert_lt(strlen(err), 200u, "%s", err);
}

Test(engine, require_message_names_engine_guarantee_gap_and_setting) {
  jd_engine e;
  jd_engine_profile(&e, DK_ENGINE_PODMAN, "4.3.1");
  char err[1024] = "";
  cr_assert_eq(jd_engine_require(&e, JD_GUARANTEE_HOST_UNREACHABLE, 0, err, sizeof err), -1);
  char want[900];
  snprintf(want, sizeof want,
           "engine podman 4.3.1 cannot keep the guarantee host_unreachable (%s); refused: set "
           "engine_accept=host_unreachable to run anyway (docs/security.md \"Engines\")",
           e.gap[JD_GUARANTEE_HOST_UNREACHABLE]);
  cr_assert_str_eq(err, want);
  cr_assert_null(strchr(err, '\n'), "one line");
  /* Accepted: no refusal. */
  cr_assert_eq(
      jd_engine_require(&e, JD_GUARANTEE_HOST_UNREACHABLE, BIT(HOST_UNREACHABLE), err, sizeof err),
      0);
  /* Out of the enum: nothing to require. */
  cr_assert_eq(jd_engine_require(&e, JD_GUARANTEE_COUNT, 0, err, sizeof err), 0);
}

Test(engine, require_suggests_what_is_accepted_plus_the_refused) {
  jd_engine e;
  jd_engine_profile(&e, DK_ENGINE_PODMAN, "4.3.1");
  char err[1024] = "";
  cr_assert_eq(jd_engine_require(&e, JD_GUARANTEE_OOM_VERDICT, BIT(BUILD_NETWORK), err, sizeof err),
               -1);
  cr_assert(strstr(err, "set engine_accept=build_network,oom_verdict to run anyway"), "%s", err);
  cr_assert(strstr(err, "the guarantee oom_verdict ("), "%s", err);
}

Test(engine, require_mask_names_every_refused_one) {
  jd_engine e;
  jd_engine_profile(&e, DK_ENGINE_PODMAN, "4.3.1");
  char err[2048] = "";
  cr_assert_eq(jd_engine_require_mask(&e, JD_GUARANTEE_ALL, BIT(HOST_UNREACHABLE), err, sizeof err),
               -1);
  cr_assert(strstr(err, "engine podman 4.3.1 cannot keep the guarantees build_network ("), "%s",
            err);
  cr_assert(strstr(err, "), oom_verdict ("), "%s", err);
  cr_assert_null(strstr(err, "host_unreachable ("), "accepted, not refused: %s", err);
  cr_assert(strstr(err, "), build_wall_time ("), "%s", err);
  cr_assert(strstr(err, "set engine_accept=build_network,host_unreachable,oom_verdict,"
                        "build_wall_time to run"),
            "%s", err);
  cr_assert_eq(jd_engine_require_mask(&e, JD_GUARANTEE_ALL, JD_GUARANTEE_ALL, err, sizeof err), 0);
  cr_assert_eq(jd_engine_require_mask(&e, 0, 0, err, sizeof err), 0, "nothing needed");
  /* Docker: nothing refused whatever is needed. */
  jd_engine_profile(&e, DK_ENGINE_DOCKER, "20.10.24");
  cr_assert_eq(jd_engine_require_mask(&e, JD_GUARANTEE_ALL, 0, err, sizeof err), 0);
}

Test(engine, require_message_is_cut_to_the_buffer) {
  jd_engine e;
  jd_engine_profile(&e, DK_ENGINE_PODMAN, "4.3.1");
  char err[32];
  cr_assert_eq(jd_engine_require_mask(&e, JD_GUARANTEE_ALL, 0, err, sizeof err), -1);
  cr_assert_eq(strlen(err), sizeof err - 1);
  cr_assert_eq(jd_engine_require_mask(&e, JD_GUARANTEE_ALL, 0, NULL, 0), -1, "no buffer");
}

Test(engine, state_of_each_guarantee) {
  jd_engine e;
  jd_engine_profile(&e, DK_ENGINE_PODMAN, "5.4.2");
  cr_assert_eq(jd_engine_state(&e, JD_GUARANTEE_OOM_VERDICT, 0), JD_GUARANTEE_KEPT);
  cr_assert_eq(jd_engine_state(&e, JD_GUARANTEE_HOST_UNREACHABLE, 0), JD_GUARANTEE_LACKING);
  cr_assert_eq(jd_engine_state(&e, JD_GUARANTEE_HOST_UNREACHABLE, BIT(HOST_UNREACHABLE)),
               JD_GUARANTEE_ACCEPTED);
  /* Accepting a kept one changes nothing. */
  cr_assert_eq(jd_engine_state(&e, JD_GUARANTEE_OOM_VERDICT, BIT(OOM_VERDICT)), JD_GUARANTEE_KEPT);
}

/* ---- the profile of a context's engine, which may change under it ------- */

#define DOCKER_SERVER "Server: Docker/20.10.24+dfsg1 (linux)\r\n"
#define DOCKER_VERSION                                                                             \
  "{\"Version\":\"20.10.24\",\"ApiVersion\":\"1.41\",\"MinAPIVersion\":\"1.12\","                  \
  "\"Components\":[{\"Name\":\"Engine\",\"Version\":\"20.10.24\"}]}"

/* Learnt from Docker's answers; once the same socket answers as Podman
 * (review 28 #5), the context's profile is refused, not kept. */
Test(engine, ctx_engine_is_refused_once_the_engine_answers_as_another) {
  char version[512], ping_docker[256], ping_podman[256];
  snprintf(version, sizeof version,
           "HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\n" DOCKER_SERVER
           "Content-Type: application/json\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
           strlen(DOCKER_VERSION), DOCKER_VERSION);
  snprintf(ping_docker, sizeof ping_docker, "%s",
           "HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\n" DOCKER_SERVER
           "Content-Length: 2\r\nConnection: close\r\n\r\nOK");
  snprintf(ping_podman, sizeof ping_podman, "%s",
           "HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nLibpod-Api-Version: 4.3.1\r\n"
           "Server: Libpod/4.3.1 (linux)\r\nContent-Length: 2\r\nConnection: close\r\n\r\nOK");
  t_fake_route routes[2] = {{.path = "/version", .raw = version},
                            {.path = "/_ping", .raw = ping_docker}};
  t_fake *fake = t_fake_start(routes, 2);
  dk_client *cli = NULL;
  dk_client_opts o = {.host = t_fake_host(fake), .api_version = "1.41"};
  cr_assert_eq(dk_client_new(&cli, &o), 0);
  jd_ctx ctx = {.dk = cli};
  char err[512] = "";
  const jd_engine *e = jd_ctx_engine(&ctx, err, sizeof err);
  cr_assert_not_null(e, "%s", err);
  cr_assert_eq(e->kind, DK_ENGINE_DOCKER);
  cr_assert_eq(jd_ctx_require(&ctx, JD_GUARANTEE_BUILD_NETWORK, err, sizeof err), 0, "%s", err);
  cr_assert_eq(dk_ping(cli, NULL), 0);
  cr_assert_not_null(jd_ctx_engine(&ctx, err, sizeof err), "the same engine again: %s", err);
  routes[1].raw = ping_podman;
  cr_assert_eq(dk_ping(cli, NULL), 0);
  cr_assert_null(jd_ctx_engine(&ctx, err, sizeof err), "Podman answers: still docker's profile");
  cr_assert(strstr(err, "answers as another engine"), "%s", err);
  err[0] = '\0';
  cr_assert_eq(jd_ctx_require(&ctx, JD_GUARANTEE_HOST_UNREACHABLE, err, sizeof err), -1);
  cr_assert(strstr(err, "answers as another engine"), "%s", err);
  dk_client_free(cli);
  t_fake_stop(fake);
}
