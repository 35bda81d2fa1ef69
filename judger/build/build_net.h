/* The network of a build: egress to package archives only, and nothing of
 * another build's.
 *
 * RUN steps of a program's Dockerfiles, and program builds that ask for a
 * network (limits.network), are hostile. Each build gets, for its lifetime,
 * a network and a proxy of its own:
 * - the network judger-<host>-bnet-<random>: internal, its bridge with no
 *   address on the host (com.docker.network.bridge.inhibit_ipv4), a /29 of
 *   the address pool (jd_ctx.net_pool). No route to the host, the engine's
 *   API, the LAN, another build's containers or another match's.
 * - the proxy judger-<host>-bproxy-<random>: a tinyproxy container (image
 *   built by the judger from judger/debian:bookworm) on the default bridge
 *   and on the build's network (alias judger-proxy), forwarding requests
 *   only to the allow-listed host names (CONNECT to port 443 only). Its
 *   kernel forwards no packet (net.ipv4.ip_forward=0): from the build's
 *   network it is a port, never a router to the bridge behind it. One per
 *   build: a build that holds all of its connections (MaxClients) or its
 *   memory starves only itself; a proxy shared by every build was emptied
 *   for all of them by one step opening 70 idle connections.
 * Builds get http_proxy/https_proxy (build args for RUN steps, not kept in
 * the image; the environment of a program build's container).
 *
 * The allow-list is jd_ctx.build_allow (comma-separated host names; the
 * build_allow setting, $JUDGER_BUILD_ALLOW), by default
 * JD_BUILD_ALLOW_DEFAULT: part of the proxy image's tag. Both the
 * network and the proxy carry judger.host=<host>, judger.role=build,
 * JD_BUILD_NET_LABEL and the build's own labels (among them its run's
 * owner label: common/run_owner.h keeps it from any sweep while the build's
 * process lives): what a killed judger left
 * is reconciliation's (the proxy container first, then the network,
 * jd_build_net_remove()). A build's limits.image_network picks another
 * network for RUN steps: "none" (no network at all) or "bridge" (the
 * engine's default bridge: unfiltered).
 */
#ifndef JD_BUILD_NET_H
#define JD_BUILD_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/context.h"
#include "dockerapi/dockerapi.h"

#define JD_BUILD_ALLOW_DEFAULT                                                                     \
  "deb.debian.org,security.debian.org,registry.npmjs.org,pypi.org,files.pythonhosted.org"
#define JD_BUILD_PROXY_LABEL "judger.build-proxy"
#define JD_BUILD_PROXY_PORT 8888
#define JD_BUILD_PROXY_ALIAS "judger-proxy"
/* A build's network carries judger.role=build, as build containers do,
 * the build's owner label (common/run_owner.h) and this label of its own. */
#define JD_BUILD_NET_LABEL "judger.build-network"
/* How long a build waits for another judger of the state directory making
 * the proxy (and the base image under it: minutes the first time). */
#define JD_BUILD_PROXY_LOCK_WAIT_MS (20 * 60 * 1000)

typedef struct jd_build_net {
  dk_client *dk; /* the engine they are on (for the teardown) */
  char *network; /* this build's network: networkmode / NetworkMode */
  char *proxy;   /* this build's proxy container */
  bool network_made, proxy_made;
  char *proxy_url;    /* "http://judger-proxy:8888" */
  dk_kv args[4];      /* http_proxy, https_proxy, HTTP_PROXY, HTTPS_PROXY */
  const char *env[5]; /* the same as "K=V", NULL-terminated */
  char *env_buf[4];
} jd_build_net;

typedef struct jd_build_net_opts {
  const char *allow;   /* NULL = ctx->build_allow, else JD_BUILD_ALLOW_DEFAULT */
  const dk_kv *labels; /* owner labels the network carries too (judger.task=...) */
  size_t nlabels;
  int64_t lock_wait_ms;    /* 0 = JD_BUILD_PROXY_LOCK_WAIT_MS */
  const dk_cancel *cancel; /* ends the wait for the proxy lock; may be NULL */
  void (*progress)(void *ud, const char *line);
  void *ud;
} jd_build_net_opts;

/* Makes a network and a proxy for one build (building the proxy image, and
 * the Debian base image it starts from, when missing, under
 * <state_dir>/locks/build-proxy). opts may be NULL.
 * 0 with *out, to be given to jd_build_net_free() on every path; or -1
 * with a one-line reason in err (nothing is left on the engine). */
int jd_build_net_open(jd_build_net **out, jd_ctx *ctx, const jd_build_net_opts *opts, char *err,
                      size_t errlen);

/* Tears the build's network down (the proxy removed, then the network:
 * what a cancelled build left on it is disconnected first), then frees.
 * NULL is fine. What cannot be removed is left to reconciliation (it
 * carries the host's label). */
void jd_build_net_free(jd_build_net *n);

/* Removes a network, disconnecting whatever is still on it (a build's
 * proxy; a RUN container the engine has not removed yet), retried until
 * deadline_ms (dk_now_ms() clock; one round when it is past). 0 when it is
 * gone (*was_gone, when set: it was already gone before this call), -1 when
 * it is still there at the deadline (the engine's last error in
 * dk_error_last()). */
int jd_build_net_remove(bool *was_gone, dk_client *dk, const char *network, int64_t deadline_ms);

#endif
