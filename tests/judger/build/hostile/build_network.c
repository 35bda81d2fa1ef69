// test-labels: engine
/* A program build with network (limits.network) aims at the host. It used
 * to run on the engine's default bridge, unfiltered: its command reached a
 * server on 172.17.0.1. It now runs on a network of its own behind its own
 * build proxy (build/build_net.h), like RUN steps: it reaches no address of
 * the host (a listener the test opens on all addresses), not a container
 * of the default bridge (where its proxy's other side is), and through the
 * proxy only the allow-list (a URL of the host is refused with 403;
 * Debian's archive answers). A container of the default bridge reaches the
 * same listener and the bystander: the probe works. The build's network is
 * gone after it. */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <json-c/json.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "build/artifacts.h"
#include "build/build_net.h"
#include "build/image_cache.h"
#include "build/source_internal.h"
#include "common/labels.h"
#include "common/tmpfile.h"
#include "common/util.h"
#include "support.h"

/* The probe: each "ip:port" of targets.txt directly, then a URL of the
 * host through the proxy, the proxy itself, an allow-listed archive. */
#define PROBE                                                                                      \
  "for t in $(cat targets.txt); do if nc -w 2 ${t%:*} ${t#*:} -e true; then echo REACHED-$t;"      \
  " else echo BLOCKED-$t; fi; done; env | grep '^http_proxy=';"                                    \
  " printf 'GET http://%s/ HTTP/1.0\\r\\n\\r\\n' $(cat hosturl.txt) | nc -w 3 judger-proxy 8888"   \
  " | head -1; nc -w 2 judger-proxy 8888 -e true && echo PROXY-OK;"                                \
  " wget -q -O - http://deb.debian.org/debian/dists/bookworm/Release | head -3;"                   \
  " echo probe-done"

static int listen_all(int *port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_ANY)};
  socklen_t len = sizeof sa;
  cr_assert(fd >= 0);
  cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
  cr_assert_eq(listen(fd, 64), 0);
  cr_assert_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
  *port = ntohs(sa.sin_port);
  return fd;
}

static int accepted(int fd) {
  int n = 0, c;
  while ((c = accept4(fd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
    close(c);
    n++;
  }
  cr_assert(errno == EAGAIN || errno == EWOULDBLOCK, "accept: %s", strerror(errno));
  return n;
}

/* "ip:port" for 172.17.0.1 and every IPv4 address of the host, then the
 * bystander on the default bridge. */
static void targets(char *out, size_t n, int port, const char *bystander_ip) {
  snprintf(out, n, "172.17.0.1:%d\n", port);
  struct ifaddrs *ifs = NULL;
  cr_assert_eq(getifaddrs(&ifs), 0);
  for (struct ifaddrs *i = ifs; i; i = i->ifa_next) {
    if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET)
      continue;
    char a[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, a, sizeof a);
    snprintf(out + strlen(out), n - strlen(out), "%s:%d\n", a, port);
  }
  freeifaddrs(ifs);
  snprintf(out + strlen(out), n - strlen(out), "%s:9999\n", bystander_ip);
}

/* A bystander on the default bridge (where the proxies' other side is): a
 * listener on port 9999; its id and address. */
static char *bystander(char ip[64], dk_client *c) {
  const char *cmd[] = {"sh", "-c", "while true; do nc -l -p 9999 -e true; done", NULL};
  dk_kv labels[] = {{T_LABEL_KEY, "1"}};
  dk_container_config cfg = {.image = T_BUSYBOX_IMAGE,
                             .cmd = cmd,
                             .labels = labels,
                             .nlabels = 1,
                             .host = {.network_mode = "bridge"}};
  char *id = NULL;
  t_ok(dk_container_create(&id, c, NULL, &cfg));
  t_ok(dk_container_start(c, id));
  dk_container_info *info = NULL;
  t_ok(dk_container_inspect(&info, c, id));
  json_object *o = json_tokener_parse(info->raw_json), *ns, *nets, *n, *a;
  ip[0] = '\0';
  if (json_object_object_get_ex(o, "NetworkSettings", &ns) &&
      json_object_object_get_ex(ns, "Networks", &nets) &&
      json_object_object_get_ex(nets, "bridge", &n) &&
      json_object_object_get_ex(n, "IPAddress", &a))
    snprintf(ip, 64, "%s", json_object_get_string(a));
  json_object_put(o);
  dk_container_info_free(info);
  cr_assert(ip[0], "the bystander has no address on the default bridge");
  return id;
}

static void put(const char *dir, const char *name, const char *text) {
  char p[4096];
  snprintf(p, sizeof p, "%s/%s", dir, name);
  cr_assert_eq(jd_write_file(p, text, strlen(text)), 0);
}

/* The same probe from a container on the default bridge: its output. */
static char *probe_on_bridge(dk_client *c, const char *src) {
  char bind[4200];
  snprintf(bind, sizeof bind, "%s:/app:ro", src);
  const char *binds[] = {bind, NULL}, *cmd[] = {"sh", "-c", PROBE, NULL};
  dk_kv labels[] = {{T_LABEL_KEY, "1"}};
  dk_container_config cfg = {.image = T_BUSYBOX_IMAGE,
                             .cmd = cmd,
                             .working_dir = "/app",
                             .labels = labels,
                             .nlabels = 1,
                             .host = {.binds = binds, .network_mode = "bridge"}};
  char *id = NULL;
  t_ok(dk_container_create(&id, c, NULL, &cfg));
  t_ok(dk_container_start(c, id));
  int64_t code = -1;
  dk_call call = {.deadline_ms = dk_now_ms() + 120000};
  t_ok(dk_container_wait(&code, c, id, NULL, &call));
  dk_buf out = DK_BUF_INIT(1 << 20);
  t_ok(dk_container_logs_collect(c, id, NULL, &out, &out, NULL));
  (void)dk_container_remove(c, id, true, true);
  free(id);
  char *s = strdup(out.data ? out.data : "");
  dk_buf_free(&out);
  return s;
}

static size_t build_networks(dk_client *c, const char *host) {
  char hl[200];
  snprintf(hl, sizeof hl, JD_LABEL_HOST "=%s", host);
  const char *labels[] = {hl, NULL};
  dk_network_list *l = NULL;
  t_ok(dk_network_list_by_label(&l, c, labels));
  size_t n = l->count;
  dk_network_list_free(l);
  return n;
}

Test(build_network, a_program_build_with_network_reaches_only_the_proxy, .timeout = 900) {
  dk_client *c = t_client();
  t_busybox_image(c);
  char *id = t_unique("bnetprog"), *host = t_unique("bnethost");
  char *state = t_tmpdir("bnetstate"), *src = t_tmpdir("bnetsrc");
  jd_ctx ctx = {.dk = c, .state_dir = state, .host_id = host};
  dk_kv labels[] = {{T_LABEL_KEY, "1"}};

  /* The build image: busybox, CMD the probe (its own build brings the
   * proxy up). */
  char df[2048];
  snprintf(df, sizeof df, "FROM " T_BUSYBOX_IMAGE "\nENV MARK=%s\nCMD [\"sh\", \"-c\", \"%s\"]\n",
           id, "sh ./probe.sh");
  jd_env_image *img = NULL;
  t_ok(jd_env_image_ensure(&img, &ctx,
                           &(jd_build_request){.ref = {.domain = JD_DOMAIN_AI, .id = id},
                                               .labels = labels,
                                               .nlabels = 1},
                           JD_OP_BUILD, df, strlen(df), NULL, 0));
  cr_assert_str_eq(jd_verdict_name(img->verdict), "OK", "%s", img->message ? img->message : "");

  int port, lfd = listen_all(&port);
  char bip[64], list[4096], url[64];
  char *by = bystander(bip, c);
  targets(list, sizeof list, port, bip);
  snprintf(url, sizeof url, "172.17.0.1:%d\n", port);
  put(src, "run.Dockerfile", "FROM " T_BUSYBOX_IMAGE "\n");
  put(src, "targets.txt", list);
  put(src, "hosturl.txt", url);
  put(src, "probe.sh", PROBE "\n");

  /* The control: from the default bridge the listener answers. */
  char *bridge = probe_on_bridge(c, src);
  cr_assert(strstr(bridge, "REACHED-"), "the probe cannot see the host from the bridge: %s",
            bridge);
  char want[128];
  snprintf(want, sizeof want, "REACHED-%s:9999", bip);
  cr_assert(strstr(bridge, want), "the bystander does not listen: %s", bridge);
  cr_assert(accepted(lfd) > 0, "the listener got nothing from the bridge: %s", bridge);
  free(bridge);

  char h[65], ident[80];
  cr_assert_eq(jd_tree_hash(h, src), 0);
  snprintf(ident, sizeof ident, "tree:%s", h);
  jd_build_limits lim = {.network = true};
  jd_artifacts *a = NULL;
  t_ok(jd_artifacts_ensure(
      &a, &ctx,
      &(jd_build_request){
          .ref = {.domain = JD_DOMAIN_AI, .id = id}, .limits = lim, .labels = labels, .nlabels = 1},
      src, ident, img->image_id, NULL, 0));
  cr_assert_str_eq(jd_verdict_name(a->verdict), "OK", "%s\n%s", a->message, a->log);
  const char *log = a->log ? a->log : "";
  cr_assert(strstr(log, "probe-done"), "log: %s", log);
  cr_assert(!strstr(log, "REACHED-"), "the build reached the host: %s", log);
  cr_assert_eq(accepted(lfd), 0, "a program build reached the host's listener");
  snprintf(want, sizeof want, "BLOCKED-172.17.0.1:%d", port);
  cr_assert(strstr(log, want), "no %s in: %s", want, log);
  snprintf(want, sizeof want, "BLOCKED-%s:9999", bip);
  cr_assert(strstr(log, want), "the build reached the default bridge: %s", log);
  /* Through the proxy: the host refused, the proxy there, the archive open. */
  cr_assert(strstr(log, "http_proxy=http://" JD_BUILD_PROXY_ALIAS ":8888"), "log: %s", log);
  cr_assert(strstr(log, "HTTP/1.0 403"), "the proxy did not refuse the host: %s", log);
  cr_assert(strstr(log, "PROXY-OK"), "log: %s", log);
  cr_assert(strstr(log, "Origin: Debian"), "the archive was not reached through the proxy: %s",
            log);
  cr_assert_eq(build_networks(c, host), 0, "the build's network outlived it");
  (void)dk_container_remove(c, by, true, true);
  free(by);

  close(lfd);
  jd_artifacts_free(a);
  jd_env_image_free(img);
  jd_image_purge(NULL, NULL, &ctx, NULL, id, true, NULL, 0);
  free(id);
  free(host);
  t_rmdir(state);
  t_rmdir(src);
  dk_client_free(c);
}
