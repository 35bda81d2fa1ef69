/* The network of a build: egress to package archives only, and nothing of
 * another build's.
 *
 * RUN steps of a program's Dockerfiles, and program builds that ask for a
 * network (limits.network), are hostile. Each build gets a network of its
 * own for its lifetime: an internal network whose bridge has no address on
 * the host (com.docker.network.bridge.inhibit_ipv4), a /29 of the address
 * pool (jd_ctx.net_pool), named judger-<host>-bnet-<random>. No route to
 * the host, the engine's API, the LAN, another build's containers or
 * another match's. Its only way out is "judger-build-proxy", a tinyproxy
 * container (image built by the judger from judger/debian:bookworm) on the
 * default bridge, connected to the build's network (alias judger-proxy)
 * while the build runs and disconnected after. The proxy forwards requests
 * only to the allow-listed host names (CONNECT to port 443 only) and its
 * kernel forwards no packet (net.ipv4.ip_forward=0): from a build's network
 * it is the proxy's port, never a router to the bridge behind it. Builds
 * get http_proxy/https_proxy (build args for RUN steps, not kept in the
 * image; the environment of a program build's container).
 *
 * The allow-list is $JUDGER_BUILD_ALLOW (comma-separated host names), by
 * default JD_BUILD_ALLOW_DEFAULT. The proxy is one per engine, shared by
 * every judger using it, and lives as long as the engine (labelled
 * judger.build-proxy, left alone by the daemon's reconciliation). One
 * allow-list per engine: a changed one builds and starts a new proxy in
 * place of the old. The build networks carry judger.host=<host>,
 * judger.role=build and the build's own labels: a network a killed judger
 * left is reconciliation's (which disconnects the proxy from it first,
 * jd_build_net_remove()).
 * A build's limits.image_network picks another network for RUN steps:
 * "none" (no network at all) or "bridge" (the engine's default bridge:
 * unfiltered).
 */
#ifndef JD_BUILD_NET_H
#define JD_BUILD_NET_H

#include <stddef.h>
#include <stdint.h>

#include "common/context.h"
#include "dockerapi/dockerapi.h"

#define JD_BUILD_ALLOW_DEFAULT                                                                     \
  "deb.debian.org,security.debian.org,registry.npmjs.org,pypi.org,files.pythonhosted.org"
#define JD_BUILD_PROXY_LABEL "judger.build-proxy"
#define JD_BUILD_PROXY_PORT 8888
#define JD_BUILD_PROXY_NAME "judger-build-proxy"
#define JD_BUILD_PROXY_ALIAS "judger-proxy"
/* A build's network carries judger.role=build, as build containers do (the
 * daemon's build tasks own that label: reconciliation leaves it alone
 * while one runs), and this label of its own. */
#define JD_BUILD_NET_LABEL "judger.build-network"
/* How long a build waits for another judger of the state directory making
 * the proxy (and the base image under it: minutes the first time). */
#define JD_BUILD_PROXY_LOCK_WAIT_MS (20 * 60 * 1000)

typedef struct jd_build_net {
  dk_client *dk;      /* the engine the network is on (for the teardown) */
  char *network;      /* this build's network: networkmode / NetworkMode */
  char *proxy_url;    /* "http://judger-proxy:8888" */
  dk_kv args[4];      /* http_proxy, https_proxy, HTTP_PROXY, HTTPS_PROXY */
  const char *env[5]; /* the same as "K=V", NULL-terminated */
  char *env_buf[4];
} jd_build_net;

typedef struct jd_build_net_opts {
  const char *allow;   /* NULL = $JUDGER_BUILD_ALLOW, else JD_BUILD_ALLOW_DEFAULT */
  const dk_kv *labels; /* owner labels the network carries too (judger.task=...) */
  size_t nlabels;
  int64_t lock_wait_ms;    /* 0 = JD_BUILD_PROXY_LOCK_WAIT_MS */
  const dk_cancel *cancel; /* ends the wait for the proxy lock; may be NULL */
  void (*progress)(void *ud, const char *line);
  void *ud;
} jd_build_net_opts;

/* Makes a network for one build and connects the proxy to it (building the
 * proxy image, and the Debian base image it starts from, when missing; the
 * proxy is made under <state_dir>/locks/build-proxy). opts may be NULL.
 * 0 with *out, to be given to jd_build_net_free() on every path; or -1
 * with a one-line reason in err (nothing is left on the engine). */
int jd_build_net_open(jd_build_net **out, jd_ctx *ctx, const jd_build_net_opts *opts, char *err,
                      size_t errlen);

/* Tears the build's network down (the proxy disconnected, the network
 * removed: what a cancelled build left on it is disconnected first), then
 * frees. NULL is fine. A network that cannot be removed is left to
 * reconciliation (it carries the host's label). */
void jd_build_net_free(jd_build_net *n);

/* Removes a network, disconnecting whatever is still on it (the build
 * proxy; a RUN container the engine has not removed yet), retried until
 * deadline_ms (dk_now_ms() clock; one round when it is past). 0 when it
 * is gone, DK_ENOTFOUND when it was, or the last dk_error_code. */
int jd_build_net_remove(dk_client *dk, const char *network, int64_t deadline_ms);

#endif
