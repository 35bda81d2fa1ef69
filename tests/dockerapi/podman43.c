// test-labels: podman43
/* libdockerapi on Debian 12's Podman 4.3.1 (images/engines/podman.sh start
 * podman43; CMake's fixture starts it and sets JUDGER_PODMAN43_HOST): the
 * engine is named, an import keeps its tag, a build's RUN steps get the
 * network asked for (Podman's own build parameters), and Podman's 500s
 * read as the codes Docker gives. Under CI=true an unreachable Podman
 * fails; elsewhere the test says it skips. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "support.h"

static dk_client *c;
static char *uniq;

static void setup(void) {
  c = t_podman43_client();
  uniq = t_unique("p43");
}

static void teardown(void) {
  free(uniq);
  uniq = NULL;
  dk_client_free(c);
  c = NULL;
}

TestSuite(podman43, .init = setup, .fini = teardown, .timeout = 120);

Test(podman43, engine_is_podman_4_3) {
  cr_assert_eq(dk_client_engine(c), DK_ENGINE_PODMAN, "got %s",
               dk_engine_kind_name(dk_client_engine(c)));
  dk_version *v = NULL;
  t_ok(dk_system_version(&v, c));
  cr_assert_eq(v->engine, DK_ENGINE_PODMAN);
  cr_assert_str_eq(v->engine_version, "4.3.1", "Debian 12's Podman");
  cr_assert_str_eq(v->api_version, "1.41");
  dk_version_free(v);
}

static bool image_there(const char *name) {
  dk_image_info *i = NULL;
  int rc = dk_image_inspect(&i, c, name);
  dk_image_info_free(i);
  cr_assert(rc == 0 || rc == DK_ENOTFOUND, "inspect %s: %s", name, dk_error_name(rc));
  return rc == 0;
}

/* Podman ignores an import's `tag` (the image became repo:latest): the
 * library names it repo:tag, and no :latest appears. */
Test(podman43, import_keeps_its_tag) {
  char repo[96], want[128], latest[128];
  snprintf(repo, sizeof repo, "judger-test/import-%s", uniq);
  snprintf(want, sizeof want, "%s:v1", repo);
  snprintf(latest, sizeof latest, "%s:latest", repo);
  dk_tar *t = NULL;
  t_ok(dk_tar_new(&t, 0));
  t_ok(dk_tar_add_file(t, "hello", "hi\n", 3, 0644));
  const void *data;
  size_t len;
  t_ok(dk_tar_finish(t, &data, &len));
  t_ok(dk_image_import_mem(c, data, len, repo, "v1"));
  dk_tar_free(t);
  bool tagged = image_there(want), stray = image_there(latest);
  (void)dk_image_remove(c, want, true, false);
  if (stray)
    (void)dk_image_remove(c, latest, true, false);
  cr_assert(tagged, "%s missing after the import", want);
  cr_assert_not(stray, "the import also named %s", latest);
}

/* A listener on the engine host's 127.0.0.1 (Podman 4.3 runs here): its
 * port; a connection is accepted by the backlog, no thread needed. */
static int loopback_listener(int *port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t al = sizeof a;
  cr_assert(fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 && listen(fd, 16) == 0);
  cr_assert(getsockname(fd, (struct sockaddr *)&a, &al) == 0);
  *port = ntohs(a.sin_port);
  return fd;
}

/* Builds a RUN step that prints its interfaces and whether it reached the
 * host's 127.0.0.1:port, on network `mode`; returns the build's log. */
static char *probe_build(const char *mode, int port) {
  char df[512];
  snprintf(df, sizeof df,
           "FROM " T_BUSYBOX_IMAGE "\n"
           "RUN echo \"ifaces=$(ls /sys/class/net | tr '\\n' ' ')\"; "
           "if nc -w 3 127.0.0.1 %d </dev/null; then echo probe=REACHED; "
           "else echo probe=BLOCKED; fi\n",
           port);
  dk_build_opts o = {.network_mode = mode, .nocache = true};
  dk_buf log = DK_BUF_INIT(1 << 20);
  char *id = NULL;
  t_ok(t_build_dockerfile(&id, c, df, &o, &log));
  if (id)
    (void)dk_image_remove(c, id, true, false);
  free(id);
  cr_assert(log.data, "no build log");
  return log.data; /* the caller frees it */
}

Test(podman43, build_run_steps_get_the_network_asked_for) {
  t_busybox_image(c);
  char net[96];
  snprintf(net, sizeof net, "judger-test-bnet-%s", uniq);
  dk_network_config cfg = {.internal = true};
  char *nid = NULL;
  t_ok(dk_network_create(&nid, c, net, &cfg));
  int port = 0, lfd = loopback_listener(&port);
  char *on_net = probe_build(net, port);
  char *none = probe_build("none", port);
  close(lfd);
  (void)dk_network_remove(c, nid);
  free(nid);
  /* Without Podman's parameters the steps ran in the host's namespace
   * (docker0, eth0, podman0... and probe=REACHED), as the issue saw. */
  cr_assert(strstr(on_net, "ifaces=eth0 lo \n") && strstr(on_net, "probe=BLOCKED"),
            "on the network: %s", on_net);
  cr_assert(strstr(none, "ifaces=lo \n") && strstr(none, "probe=BLOCKED"), "none: %s", none);
  free(on_net);
  free(none);
}

/* Podman answers 500 where Docker answers 409/403 for the same state: the
 * codes are Docker's (docs/engines.md has the table). */
Test(podman43, status_codes_are_dockers) {
  t_busybox_image(c);
  char name[96], net[96];
  snprintf(name, sizeof name, "judger-test-codes-%s", uniq);
  snprintf(net, sizeof net, "judger-test-codes-%s", uniq);
  static const char body[] = "{\"Image\":\"" T_BUSYBOX_IMAGE "\",\"Cmd\":[\"sleep\",\"60\"],"
                             "\"Labels\":{\"judger.test\":\"1\"},\"HostConfig\":{\"Ulimits\":["
                             "{\"Name\":\"nofile\",\"Soft\":1024,\"Hard\":1024},"
                             "{\"Name\":\"nproc\",\"Soft\":1024,\"Hard\":1024}]}}";
  char *id = NULL, *id2 = NULL, *nid = NULL, *nid2 = NULL;
  t_ok(dk_container_create_json(&id, c, name, body));
  cr_assert_eq(dk_container_create_json(&id2, c, name, body), DK_ECONFLICT, "name taken");
  cr_assert_eq(dk_container_kill(c, id, NULL), DK_ECONFLICT, "kill of a created one");
  t_ok(dk_container_start(c, id));
  cr_assert_eq(dk_container_remove(c, id, false, false), DK_ECONFLICT, "remove of a running one");
  t_ok(dk_network_create(&nid, c, net, NULL));
  cr_assert_eq(dk_network_create(&nid2, c, net, NULL), DK_ECONFLICT, "network name taken");
  t_ok(dk_network_connect(c, net, id, NULL));
  int nrc = dk_network_remove(c, nid);
  cr_assert_eq(nrc, DK_EFORBIDDEN, "network in use: %s %s", dk_error_name(nrc),
               nrc ? dk_error_last()->message : "");
  t_ok(dk_container_kill(c, id, NULL));
  int64_t code = 0;
  t_ok(dk_container_wait(&code, c, id, NULL, NULL));
  cr_assert_eq(dk_container_kill(c, id, NULL), DK_ECONFLICT, "kill of a stopped one");
  t_ok(dk_container_remove(c, id, true, false));
  cr_assert_eq(dk_container_remove(c, id, true, false), DK_ENOTFOUND);
  t_ok(dk_network_remove(c, nid));
  cr_assert_eq(dk_network_remove(c, nid), DK_ENOTFOUND);
  dk_image_info *ii = NULL;
  cr_assert_eq(dk_image_inspect(&ii, c, "judger-test/missing:1"), DK_ENOTFOUND);
  free(id);
  free(nid);
}
