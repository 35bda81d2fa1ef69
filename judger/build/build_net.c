/* The build network and its allow-listing proxy (build_net.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <unistd.h>

#include <json-c/json.h>

#include "build/base_image.h"
#include "build/build_net.h"
#include "build/program.h"
#include "common/clock.h"
#include "common/error.h"
#include "common/util.h"

#define PROXY_ALIAS "judger-proxy"
#define PROXY_REPO "judger/build-proxy"

static const char proxy_dockerfile[] =
    "FROM " JD_BASE_IMAGE "\n"
    "RUN apt-get update && apt-get install -y --no-install-recommends tinyproxy-bin \\\n"
    " && rm -rf /var/lib/apt/lists/*\n"
    "COPY tinyproxy.conf filter /etc/judger-proxy/\n"
    "USER 65534:65534\n"
    "CMD [\"tinyproxy\", \"-d\", \"-c\", \"/etc/judger-proxy/tinyproxy.conf\"]\n";

/* Allow-list only: a host name not in the filter is refused (403), and
 * CONNECT only to 443. */
static const char proxy_conf[] = "Port 8888\n"
                                 "Listen 0.0.0.0\n"
                                 "Timeout 600\n"
                                 "MaxClients 64\n"
                                 "FilterDefaultDeny Yes\n"
                                 "Filter \"/etc/judger-proxy/filter\"\n"
                                 "FilterURLs Off\n"
                                 "FilterType ere\n"
                                 "FilterCaseSensitive No\n"
                                 "ConnectPort 443\n"
                                 "DisableViaHeader Yes\n"
                                 "LogLevel Connect\n";

void jd_build_net_free(jd_build_net *n) {
  if (!n)
    return;
  free(n->network);
  free(n->proxy_url);
  free(n);
}

/* The tinyproxy filter of an allow-list: one anchored ERE per host name. */
static int filter_text(dk_buf *out, const char *allow, char *err, size_t errlen) {
  const char *p = allow;
  while (*p) {
    size_t n = strcspn(p, ",");
    if (n) {
      (void)dk_buf_append(out, "^", 1);
      for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '.'))
          return jd_fail(err, errlen, "JUDGER_BUILD_ALLOW: '%.*s' is not a host name", (int)n, p);
        (void)dk_buf_append(out, c == '.' ? "\\." : &c, c == '.' ? 2 : 1);
      }
      (void)dk_buf_append(out, "$\n", 2);
    }
    p += n + (p[n] == ',');
  }
  return 0;
}

/* Builds the proxy image from the base image (the judger's own Dockerfile:
 * it may use the plain bridge). */
static int build_proxy_image(jd_ctx *ctx, const char *tag, const dk_buf *filter, char *err,
                             size_t errlen) {
  dk_tar *t = NULL;
  const void *tar = NULL;
  size_t len = 0;
  char *id = NULL;
  int rc = dk_tar_new(&t, 0);
  if (!rc)
    rc = dk_tar_add_file(t, "Dockerfile", proxy_dockerfile, strlen(proxy_dockerfile), 0644);
  if (!rc)
    rc = dk_tar_add_file(t, "tinyproxy.conf", proxy_conf, strlen(proxy_conf), 0644);
  if (!rc)
    rc = dk_tar_add_file(t, "filter", filter->data, filter->len, 0644);
  if (!rc)
    rc = dk_tar_finish(t, &tar, &len);
  const char *tags[] = {tag, NULL};
  dk_kv labels[] = {{JD_BUILD_PROXY_LABEL, "image"}};
  dk_build_opts bo = {.tags = tags, .labels = labels, .nlabels = 1, .network_mode = "bridge"};
  dk_call call = {.deadline_ms = jd_mono_ms() + 10 * 60 * 1000};
  if (!rc)
    rc = dk_image_build(&id, ctx->dk, tar, len, &bo, NULL, NULL, NULL, &call);
  free(id);
  dk_tar_free(t);
  return rc ? jd_fail(err, errlen, "cannot build %s: %s", tag, jd_engine_message(rc)) : 0;
}

static int ensure_image(jd_ctx *ctx, const char *tag, const dk_buf *filter,
                        void (*progress)(void *ud, const char *line), void *ud, char *err,
                        size_t errlen) {
  dk_image_info *info = NULL;
  int rc = dk_image_inspect(&info, ctx->dk, tag);
  dk_image_info_free(info);
  if (rc != DK_ENOTFOUND)
    return rc ? jd_fail(err, errlen, "inspect %s: %s", tag, jd_engine_message(rc)) : 0;
  if (progress)
    progress(ud, "building the build proxy image " PROXY_REPO);
  if (jd_base_image_ensure(NULL, ctx, NULL, NULL, progress, ud, err, errlen) != 0)
    return -1;
  return build_proxy_image(ctx, tag, filter, err, errlen);
}

/* The internal network, with no address of the host's on its bridge. */
static int ensure_network(jd_ctx *ctx, const char *name, char *err, size_t errlen) {
  dk_network_info *ni = NULL;
  int rc = dk_network_inspect(&ni, ctx->dk, name);
  dk_network_info_free(ni);
  if (rc != DK_ENOTFOUND)
    return rc ? jd_fail(err, errlen, "inspect network %s: %s", name, jd_engine_message(rc)) : 0;
  static const dk_kv opts[] = {{"com.docker.network.bridge.inhibit_ipv4", "true"}};
  dk_kv labels[] = {{JD_BUILD_PROXY_LABEL, "network"}};
  dk_network_config cfg = {.internal = true,
                           .check_duplicate = true,
                           .labels = labels,
                           .nlabels = 1,
                           .options = opts,
                           .noptions = 1};
  char *id = NULL;
  rc = dk_network_create(&id, ctx->dk, name, &cfg);
  free(id);
  if (rc == DK_ECONFLICT)
    return 0; /* made meanwhile by another process */
  return rc ? jd_fail(err, errlen, "create network %s: %s", name, jd_engine_message(rc)) : 0;
}

/* The proxy's address on the default bridge, where the host reaches it. */
static int bridge_ip(struct in_addr *ip, const dk_container_info *info) {
  json_object *o = json_tokener_parse(info->raw_json), *ns, *nets, *br, *addr;
  int rc = -1;
  if (o && json_object_object_get_ex(o, "NetworkSettings", &ns) &&
      json_object_object_get_ex(ns, "Networks", &nets) &&
      json_object_object_get_ex(nets, "bridge", &br) &&
      json_object_object_get_ex(br, "IPAddress", &addr) &&
      inet_pton(AF_INET, json_object_get_string(addr), ip) == 1)
    rc = 0;
  json_object_put(o);
  return rc;
}

/* One connect() to sa, given up at deadline: 0 connected, -1 not (yet). A
 * blocking connect() to an address with no route back would wait for the
 * kernel's SYN timeout (two minutes). */
static int try_connect(const struct sockaddr_in *sa, int64_t deadline) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0)
    return -1;
  int rc = connect(fd, (const struct sockaddr *)sa, sizeof *sa);
  if (rc != 0 && errno == EINPROGRESS) {
    int64_t left = deadline - jd_mono_ms();
    struct pollfd p = {.fd = fd, .events = POLLOUT};
    int err = 0;
    socklen_t len = sizeof err;
    rc = left > 0 && poll(&p, 1, (int)(left < 250 ? left : 250)) == 1 &&
                 getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0
             ? 0
             : -1;
  }
  close(fd);
  return rc;
}

/* Waits (5 s at most) until the proxy accepts connections on its bridge
 * address. 0 when it does, or when it runs but the address cannot be
 * reached from here: a judger beside a Docker-in-Docker engine is not on
 * that engine's bridge (tests/deploy/two_hosts.sh); the engine's word that
 * it runs is all it can have. -1 when it does not run. */
static int wait_listening(jd_ctx *ctx, const char *name) {
  dk_container_info *info = NULL;
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(JD_BUILD_PROXY_PORT)};
  int rc = dk_container_inspect(&info, ctx->dk, name);
  if (!rc)
    rc = bridge_ip(&sa.sin_addr, info);
  dk_container_info_free(info);
  int64_t deadline = jd_mono_ms() + 5000;
  while (!rc && jd_mono_ms() < deadline) {
    if (try_connect(&sa, deadline) == 0)
      return 0;
    poll(NULL, 0, 20); /* the condition is polled: tinyproxy starts in milliseconds */
  }
  info = NULL;
  rc = dk_container_inspect(&info, ctx->dk, name);
  bool running = !rc && info->running;
  dk_container_info_free(info);
  return running ? 0 : -1;
}

/* The proxy container, running the image `tag`; replaced when it runs
 * another one (a changed allow-list). */
static int ensure_proxy(jd_ctx *ctx, const char *name, const char *net, const char *tag, char *err,
                        size_t errlen) {
  dk_container_info *info = NULL;
  dk_image_info *img = NULL;
  int rc = dk_image_inspect(&img, ctx->dk, tag);
  bool current = !rc && dk_container_inspect(&info, ctx->dk, name) == 0 && info->running &&
                 info->image && !strcmp(info->image, img->id);
  dk_container_info_free(info);
  dk_image_info_free(img);
  if (current)
    return 0;
  (void)dk_container_remove(ctx->dk, name, true, true);
  const char *capdrop[] = {"ALL", NULL}, *secopt[] = {"no-new-privileges", NULL};
  const char *aliases[] = {PROXY_ALIAS, NULL};
  dk_kv labels[] = {{JD_BUILD_PROXY_LABEL, "proxy"}};
  dk_container_config cfg = {.image = tag,
                             .labels = labels,
                             .nlabels = 1,
                             .host = {.cap_drop = capdrop,
                                      .security_opt = secopt,
                                      .readonly_rootfs = true,
                                      .memory = 256 << 20,
                                      .pids_limit = 128,
                                      .network_mode = "bridge"}};
  char *id = NULL;
  rc = dk_container_create(&id, ctx->dk, name, &cfg);
  if (!rc)
    rc = dk_network_connect(ctx->dk, net, id, aliases);
  if (!rc)
    rc = dk_container_start(ctx->dk, id);
  free(id);
  if (rc)
    return jd_fail(err, errlen, "cannot start the build proxy %s: %s", name, jd_engine_message(rc));
  if (wait_listening(ctx, name) != 0)
    return jd_fail(err, errlen, "the build proxy %s does not run", name);
  return 0;
}

/* One ensure at a time on this host, whatever the state directory: the
 * network and the proxy are per engine. */
static int lock_host(void) {
  int fd =
      open("/run/lock/judger-build-proxy.lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd >= 0 && flock(fd, LOCK_EX) != 0) {
    close(fd);
    fd = -1;
  }
  return fd;
}

static int fill(jd_build_net **out, const char *net) {
  jd_build_net *n = calloc(1, sizeof *n);
  if (!n)
    return -1;
  n->network = strdup(net);
  if (asprintf(&n->proxy_url, "http://" PROXY_ALIAS ":%d", JD_BUILD_PROXY_PORT) < 0)
    n->proxy_url = NULL;
  if (!n->network || !n->proxy_url) {
    jd_build_net_free(n);
    return -1;
  }
  n->args[0] = (dk_kv){"http_proxy", n->proxy_url};
  n->args[1] = (dk_kv){"https_proxy", n->proxy_url};
  n->args[2] = (dk_kv){"HTTP_PROXY", n->proxy_url};
  n->args[3] = (dk_kv){"HTTPS_PROXY", n->proxy_url};
  *out = n;
  return 0;
}

int jd_build_net_ensure(jd_build_net **out, jd_ctx *ctx, const char *allow,
                        void (*progress)(void *ud, const char *line), void *ud, char *err,
                        size_t errlen) {
  *out = NULL;
  if (!allow)
    allow = getenv("JUDGER_BUILD_ALLOW");
  if (!allow || !*allow)
    allow = JD_BUILD_ALLOW_DEFAULT;
  /* One network and one proxy per engine, whatever the judger host ids
   * using it (tests use many): nothing accumulates. */
  const char *net = JD_BUILD_NET_NAME, *name = JD_BUILD_PROXY_NAME;
  char tag[160], sha[65];
  dk_buf filter = DK_BUF_INIT(0), all = DK_BUF_INIT(0);
  int rc = filter_text(&filter, allow, err, errlen);
  if (rc)
    goto cleanup;
  (void)dk_buf_appendf(&all, "%s%s%s", proxy_dockerfile, proxy_conf, filter.data);
  jd_sha256_hex(sha, all.data, all.len);
  snprintf(tag, sizeof tag, PROXY_REPO ":%.16s", sha);
  int lock = lock_host();
  if (lock < 0) {
    rc = jd_fail(err, errlen, "cannot lock /run/lock/judger-build-proxy.lock: %s", strerror(errno));
    goto cleanup;
  }
  rc = ensure_image(ctx, tag, &filter, progress, ud, err, errlen);
  if (!rc)
    rc = ensure_network(ctx, net, err, errlen);
  if (!rc)
    rc = ensure_proxy(ctx, name, net, tag, err, errlen);
  close(lock);
  if (!rc && fill(out, net) != 0)
    rc = jd_fail(err, errlen, "out of memory");
cleanup:
  dk_buf_free(&filter);
  dk_buf_free(&all);
  return rc;
}
