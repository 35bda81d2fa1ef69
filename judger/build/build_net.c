/* Builds' networks and their allow-listing proxy (build_net.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <json-c/json.h>

#include "build/base_image.h"
#include "build/build_lock.h"
#include "build/build_net.h"
#include "build/program.h"
#include "common/clock.h"
#include "common/error.h"
#include "common/labels.h"
#include "common/util.h"
#include "match/create_compat.h"
#include "match/net_pool.h"

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
                        const jd_build_net_opts *o, char *err, size_t errlen) {
  dk_image_info *info = NULL;
  int rc = dk_image_inspect(&info, ctx->dk, tag);
  dk_image_info_free(info);
  if (rc != DK_ENOTFOUND)
    return rc ? jd_fail(err, errlen, "inspect %s: %s", tag, jd_engine_message(rc)) : 0;
  if (o->progress)
    o->progress(o->ud, "building the build proxy image " PROXY_REPO);
  jd_base_image_opts bo = {.cancel = o->cancel, .progress = o->progress, .ud = o->ud};
  if (jd_base_image_ensure_opts(NULL, ctx, &bo, err, errlen) != 0)
    return -1;
  return build_proxy_image(ctx, tag, filter, err, errlen);
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

/* One connect() to sa, given up at deadline or after 250 ms: 0 connected,
 * 1 refused (the address answers, the port is not open yet), -1 no answer.
 * A blocking connect() to an address with no route back would wait for the
 * kernel's SYN timeout (two minutes). */
static int try_connect(const struct sockaddr_in *sa, int64_t deadline) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0)
    return -1;
  int rc = connect(fd, (const struct sockaddr *)sa, sizeof *sa), err = rc ? errno : 0;
  if (rc != 0 && err == EINPROGRESS) {
    int64_t left = deadline - jd_mono_ms();
    struct pollfd p = {.fd = fd, .events = POLLOUT};
    socklen_t len = sizeof err;
    err = ETIMEDOUT;
    if (left > 0 && poll(&p, 1, (int)(left < 250 ? left : 250)) == 1 &&
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
      err = EIO;
  }
  close(fd);
  return err == 0 ? 0 : err == ECONNREFUSED ? 1 : -1;
}

/* Waits (5 s at most) until the proxy accepts connections on its bridge
 * address, while that address refuses (tinyproxy binds in milliseconds).
 * 0 when it accepts, or when it runs but the address does not answer from
 * here: a judger beside a Docker-in-Docker engine is not on that engine's
 * bridge (tests/deploy/two_hosts.sh), and one attempt (250 ms) says so;
 * the engine's word that it runs is all it can have. -1 when it does not
 * run. */
static int wait_listening(jd_ctx *ctx, const char *name) {
  dk_container_info *info = NULL;
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(JD_BUILD_PROXY_PORT)};
  int rc = dk_container_inspect(&info, ctx->dk, name);
  if (!rc)
    rc = bridge_ip(&sa.sin_addr, info);
  dk_container_info_free(info);
  int64_t deadline = jd_mono_ms() + 5000;
  while (!rc && jd_mono_ms() < deadline) {
    int c = try_connect(&sa, deadline);
    if (c == 0)
      return 0;
    if (c < 0)
      break;           /* no answer at all: not reachable from here */
    poll(NULL, 0, 20); /* the condition is polled: tinyproxy starts in milliseconds */
  }
  info = NULL;
  rc = dk_container_inspect(&info, ctx->dk, name);
  bool running = !rc && info->running;
  dk_container_info_free(info);
  return running ? 0 : -1;
}

/* The proxy's kernel forwards nothing: on a build's network it is a port,
 * never a router to the default bridge that a RUN step with NET_RAW could
 * aim raw frames at. */
static const dk_kv proxy_sysctls[] = {{"net.ipv4.ip_forward", "0"}};

/* The proxy image, made under the state directory's proxy lock (one judger
 * of the host at a time builds it, and the base image under it), waited
 * for at most o->lock_wait_ms or until o->cancel fires. */
static int proxy_image(jd_ctx *ctx, const jd_build_net_opts *o, const char *tag,
                       const dk_buf *filter, char *err, size_t errlen) {
  if (!ctx->state_dir)
    return jd_fail(err, errlen, "no state directory for the build proxy's lock");
  int lock = -1;
  bool waited = false;
  int64_t wait = o->lock_wait_ms > 0 ? o->lock_wait_ms : JD_BUILD_PROXY_LOCK_WAIT_MS;
  if (jd_build_lock_take(&lock, &waited, ctx->state_dir, "proxy", wait, o->cancel) != 0) {
    int e = errno;
    if (e == ETIMEDOUT)
      return jd_fail(err, errlen,
                     "waited %lld ms for %s/locks/build-proxy (another judger making the build "
                     "proxy)",
                     (long long)wait, ctx->state_dir);
    return jd_fail(err, errlen, "cannot lock %s/locks/build-proxy: %s", ctx->state_dir,
                   e == ECANCELED ? "canceled" : strerror(e));
  }
  int rc = ensure_image(ctx, tag, filter, o, err, errlen);
  jd_build_lock_release(lock);
  return rc;
}

/* The build's own proxy: a container of the image `tag` on the default
 * bridge, connected to the build's network as judger-proxy before it
 * starts, labelled like the network. */
static int start_proxy(jd_build_net *n, jd_ctx *ctx, const char *tag, const dk_kv *labels,
                       size_t nlabels, char *err, size_t errlen) {
  const char *capdrop[] = {"ALL", NULL}, *secopt[] = {"no-new-privileges", NULL};
  const char *aliases[] = {JD_BUILD_PROXY_ALIAS, NULL};
  dk_container_config cfg = {.image = tag,
                             .labels = labels,
                             .nlabels = nlabels,
                             .host = {.cap_drop = capdrop,
                                      .security_opt = secopt,
                                      .readonly_rootfs = true,
                                      .memory = 128 << 20,
                                      .memory_swap = 128 << 20,
                                      .pids_limit = 128,
                                      .network_mode = "bridge",
                                      .sysctls = proxy_sysctls,
                                      .nsysctls = 1}};
  jd_compat_store compat; /* Ulimits, and Podman's forms (match/create_compat.h) */
  if (jd_create_compat(&cfg.host, &compat, ctx, err, errlen))
    return -1;
  char *id = NULL;
  int rc = dk_container_create(&id, ctx->dk, n->proxy, &cfg);
  if (!rc)
    n->proxy_made = true;
  if (!rc)
    rc = dk_network_connect(ctx->dk, n->network, id, aliases);
  if (!rc)
    rc = dk_container_start(ctx->dk, id);
  free(id);
  if (rc)
    return jd_fail(err, errlen, "cannot start the build proxy %s: %s", n->proxy,
                   jd_engine_message(rc));
  if (wait_listening(ctx, n->proxy) != 0)
    return jd_fail(err, errlen, "the build proxy %s does not run", n->proxy);
  return 0;
}

/* Picks of the pool tried before the network creation gives up (a clash is
 * another network on the same subnet). */
#define NET_PICKS 32

/* The build's internal network, name, on a /29 of the judger's address
 * pool (the engine's own pools hold ~30 networks). */
static int create_network(jd_ctx *ctx, const char *name, const dk_kv *labels, size_t nlabels,
                          char *err, size_t errlen) {
  const char *pool_cidr = ctx->net_pool ? ctx->net_pool : JD_NET_POOL_DEFAULT;
  jd_net_pool pool;
  if (jd_net_pool_parse(&pool, pool_cidr, err, errlen) != 0)
    return -1;
  static const dk_kv opts[] = {{"com.docker.network.bridge.inhibit_ipv4", "true"}};
  dk_network_config cfg = {.internal = true,
                           .check_duplicate = true,
                           .labels = labels,
                           .nlabels = nlabels,
                           .options = opts,
                           .noptions = 1};
  /* The proxy and the step's (or the build's) container, with room. */
  int prefix = pool.prefix ? jd_net_pool_prefix_for(&pool, 4) : 0;
  char subnet[20], gateway[16], *id = NULL;
  int rc = DK_EFORBIDDEN;
  for (int i = 0; i < NET_PICKS && rc == DK_EFORBIDDEN; i++) {
    if (prefix) {
      char hex[9];
      if (jd_random_hex(hex, 4) != 0)
        break;
      jd_net_pool_subnet(&pool, prefix, (uint32_t)strtoul(hex, NULL, 16), subnet, gateway);
      cfg.subnet = subnet;
      cfg.gateway = gateway;
    }
    rc = dk_network_create(&id, ctx->dk, name, &cfg);
    if (!prefix)
      break;
  }
  free(id);
  if (rc)
    return jd_fail(err, errlen, "create network %s: %s", name, jd_engine_message(rc));
  return 0;
}

/* Disconnects every container attached to network (its inspect's
 * "Containers"). */
static void disconnect_all(dk_client *dk, const char *network) {
  dk_network_info *ni = NULL;
  if (dk_network_inspect(&ni, dk, network) != 0)
    return;
  json_object *o = ni->raw_json ? json_tokener_parse(ni->raw_json) : NULL, *cs;
  if (o && json_object_object_get_ex(o, "Containers", &cs) &&
      json_object_is_type(cs, json_type_object)) {
    json_object_object_foreach(cs, cid, ep) {
      (void)ep;
      (void)dk_network_disconnect(dk, network, cid, true);
    }
  }
  json_object_put(o);
  dk_network_info_free(ni);
}

int jd_build_net_remove(bool *was_gone, dk_client *dk, const char *network, int64_t deadline_ms) {
  int rc = dk_network_remove(dk, network);
  if (was_gone)
    *was_gone = rc == DK_ENOTFOUND;
  if (rc == 0 || rc == DK_ENOTFOUND)
    return 0;
  for (;;) {
    /* Active endpoints: the proxy, or a RUN container of a cancelled build
     * that the engine is still removing. */
    disconnect_all(dk, network);
    rc = dk_network_remove(dk, network);
    if (rc == 0 || rc == DK_ENOTFOUND)
      return 0;
    if (dk_now_ms() >= deadline_ms)
      return -1;
    poll(NULL, 0, 100); /* the engine's removal of a container is awaited */
  }
}

void jd_build_net_free(jd_build_net *n) {
  if (!n)
    return;
  if (n->proxy_made)
    (void)dk_container_remove(n->dk, n->proxy, true, true);
  if (n->network_made)
    (void)jd_build_net_remove(NULL, n->dk, n->network, dk_now_ms() + 15000);
  free(n->network);
  free(n->proxy);
  free(n->proxy_url);
  for (size_t i = 0; i < 4; i++)
    free(n->env_buf[i]);
  free(n);
}

static int fill(jd_build_net *n) {
  if (asprintf(&n->proxy_url, "http://" JD_BUILD_PROXY_ALIAS ":%d", JD_BUILD_PROXY_PORT) < 0) {
    n->proxy_url = NULL;
    return -1;
  }
  static const char *const names[4] = {"http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"};
  for (size_t i = 0; i < 4; i++) {
    n->args[i] = (dk_kv){names[i], n->proxy_url};
    if (asprintf(&n->env_buf[i], "%s=%s", names[i], n->proxy_url) < 0) {
      n->env_buf[i] = NULL;
      return -1;
    }
    n->env[i] = n->env_buf[i];
  }
  n->env[4] = NULL;
  return 0;
}

int jd_build_net_open(jd_build_net **out, jd_ctx *ctx, const jd_build_net_opts *opts, char *err,
                      size_t errlen) {
  *out = NULL;
  jd_build_net_opts none = {0};
  const jd_build_net_opts *o = opts ? opts : &none;
  const char *allow = o->allow ? o->allow : ctx->build_allow;
  if (!allow || !*allow)
    allow = JD_BUILD_ALLOW_DEFAULT;
  const char *host = ctx->host_id ? ctx->host_id : "local";
  char tag[160], sha[65], rnd[17];
  dk_buf filter = DK_BUF_INIT(0), all = DK_BUF_INIT(0);
  dk_kv *labels = calloc(3 + o->nlabels, sizeof *labels);
  jd_build_net *n = calloc(1, sizeof *n);
  int rc = n && labels ? filter_text(&filter, allow, err, errlen)
                       : jd_fail(err, errlen, "out of memory");
  if (rc)
    goto cleanup;
  n->dk = ctx->dk;
  (void)dk_buf_appendf(&all, "%s%s%s", proxy_dockerfile, proxy_conf, filter.data);
  jd_sha256_hex(sha, all.data, all.len);
  snprintf(tag, sizeof tag, PROXY_REPO ":%.16s", sha);
  labels[0] = (dk_kv){JD_LABEL_HOST, host};
  labels[1] = (dk_kv){JD_LABEL_ROLE, "build"};
  labels[2] = (dk_kv){JD_BUILD_NET_LABEL, "1"};
  for (size_t i = 0; i < o->nlabels; i++)
    labels[3 + i] = o->labels[i];
  if (jd_random_hex(rnd, 8) != 0 || asprintf(&n->network, "judger-%s-bnet-%s", host, rnd) < 0 ||
      asprintf(&n->proxy, "judger-%s-bproxy-%s", host, rnd) < 0) {
    rc = jd_fail(err, errlen, "out of memory");
    goto cleanup;
  }
  rc = proxy_image(ctx, o, tag, &filter, err, errlen);
  if (!rc)
    rc = create_network(ctx, n->network, labels, 3 + o->nlabels, err, errlen);
  if (!rc)
    n->network_made = true;
  if (!rc)
    rc = start_proxy(n, ctx, tag, labels, 3 + o->nlabels, err, errlen);
  if (!rc && fill(n) != 0)
    rc = jd_fail(err, errlen, "out of memory");
cleanup:
  dk_buf_free(&filter);
  dk_buf_free(&all);
  free(labels);
  if (rc) {
    jd_build_net_free(n); /* removes what was made */
    return -1;
  }
  *out = n;
  return 0;
}
