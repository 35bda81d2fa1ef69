/* The network of image builds' RUN steps: egress to package archives only.
 *
 * RUN steps of a program's Dockerfile are hostile. By default they run on
 * "judger-build", an internal network whose bridge has no address
 * on the host (com.docker.network.bridge.inhibit_ipv4): no route to the
 * host, the engine's API, the LAN or other containers. Its only way out is
 * "judger-build-proxy", a tinyproxy container (image built by the
 * judger from judger/debian:bookworm) on both that network and the
 * default bridge, which forwards requests only to the allow-listed host
 * names (CONNECT to port 443 only). RUN steps get http_proxy/https_proxy
 * as build args (not kept in the image).
 *
 * The allow-list is $JUDGER_BUILD_ALLOW (comma-separated host names), by
 * default JD_BUILD_ALLOW_DEFAULT. The network and the proxy are one per
 * engine, shared by every judger using it, and live as long as the engine
 * (labelled judger.build-proxy, left alone by the daemon's
 * reconciliation). One allow-list per engine: a changed one builds and
 * starts a new proxy in place of the old. A build's limits.image_network picks another network:
 * "none" (no network at all) or "bridge" (the engine's default bridge: unfiltered).
 */
#ifndef JD_BUILD_NET_H
#define JD_BUILD_NET_H

#include <stddef.h>

#include "common/context.h"
#include "dockerapi/types.h"

#define JD_BUILD_ALLOW_DEFAULT                                                                     \
  "deb.debian.org,security.debian.org,registry.npmjs.org,pypi.org,files.pythonhosted.org"
#define JD_BUILD_PROXY_LABEL "judger.build-proxy"
#define JD_BUILD_PROXY_PORT 8888
#define JD_BUILD_NET_NAME "judger-build"
#define JD_BUILD_PROXY_NAME "judger-build-proxy"

typedef struct jd_build_net {
  char *network;   /* the name to give the builder's networkmode */
  char *proxy_url; /* "http://judger-proxy:8888" */
  dk_kv args[4];   /* http_proxy, https_proxy, HTTP_PROXY, HTTPS_PROXY */
} jd_build_net;

/* Makes sure the build network and its proxy run (building the proxy
 * image, and the Debian base image it starts from, when missing). allow
 * NULL = the setting. 0 with *out, or -1 with a one-line reason in err. */
int jd_build_net_ensure(jd_build_net **out, jd_ctx *ctx, const char *allow,
                        void (*progress)(void *ud, const char *line), void *ud, char *err,
                        size_t errlen);
void jd_build_net_free(jd_build_net *n);

#endif
