// test-labels: engine
/* Image builds' RUN steps on the real engine: through the build network
 * they install Debian packages via the allow-listing proxy, and reach no
 * address of the host (a listener the test opens on all addresses, the
 * engine's usual TCP ports), directly or through the proxy. The plain
 * bridge reaches the same listener: the probe works. */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "build/base_image.h"
#include "build/build_net.h"
#include "build/image_cache.h"
#include "support.h"

static jd_env_image *build_df(jd_ctx *ctx, const char *id, const char *df, const char *network) {
  jd_build_limits lim = {.image_network = network, .wall_ms = 300000};
  dk_kv labels[] = {{T_LABEL_KEY, "1"}};
  jd_env_image *img = NULL;
  t_ok(jd_env_image_ensure(&img, ctx, JD_DOMAIN_AI, id, JD_OP_BUILD, df, strlen(df), &lim, labels,
                           1, NULL, NULL, NULL));
  return img;
}

Test(build_net, run_step_installs_a_debian_package_through_the_proxy, .timeout = 600) {
  dk_client *c = t_client();
  char *state = t_tmpdir("bnstate"), *id = t_unique("bnapt");
  jd_ctx ctx = {.dk = c, .state_dir = state, .host_id = "test"};
  char err[512];
  cr_assert_eq(jd_base_image_ensure(NULL, &ctx, NULL, NULL, NULL, NULL, err, sizeof err), 0, "%s",
               err);
  char df[512];
  snprintf(df, sizeof df,
           "FROM " JD_BASE_IMAGE "\nENV MARK=%s\n"
           "RUN apt-get update && apt-get install -y --no-install-recommends hello && hello\n",
           id);
  jd_env_image *img = build_df(&ctx, id, df, NULL);
  cr_assert_str_eq(jd_verdict_name(img->verdict), "OK", "%s\n%s", img->message, img->log);
  cr_assert(img->log && strstr(img->log, "Hello, world!"), "log: %s", img->log);
  jd_env_image_free(img);
  jd_image_purge(NULL, NULL, &ctx, NULL, id, true);
  free(id);
  t_rmdir(state);
  dk_client_free(c);
}

/* A TCP listener on every address of the host; its port in *port. */
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

/* A RUN step that tries the port (and 2375/2376, the engine's TCP ports)
 * on every IPv4 address of the host and the container's gateway, directly
 * and through the proxy; it never fails itself. */
static void probe_dockerfile(char *out, size_t len, const char *mark, int port, bool via_proxy) {
  char ips[1024] = "";
  struct ifaddrs *ifs = NULL, *i;
  cr_assert_eq(getifaddrs(&ifs), 0);
  for (i = ifs; i; i = i->ifa_next) {
    if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET)
      continue;
    char a[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, a, sizeof a);
    strncat(ips, " ", sizeof ips - strlen(ips) - 1);
    strncat(ips, a, sizeof ips - strlen(ips) - 1);
  }
  freeifaddrs(ifs);
  snprintf(out, len,
           "FROM " T_BUSYBOX_IMAGE "\nENV MARK=%s\n"
           "RUN gw=$(ip route | awk '/default/ {print $3}');"
           " px=$(%s nslookup judger-proxy 2>/dev/null | awk '/^Address/ {a=$NF} END {print a}');"
           " for ip in%s $gw; do for p in %d 2375 2376; do"
           " nc -w 2 $ip $p -e true && echo DIRECT$((0))-$ip:$p;"
           " test -n \"$px\" && printf 'GET http://%%s:%%s/ HTTP/1.0\\r\\n\\r\\n' $ip $p"
           " | nc -w 3 $px 8888 | head -1;"
           " done; done; echo probe$((0))-done\n",
           mark, via_proxy ? "" : "false &&", ips, port);
}

/* Connections the listener got (its accept queue). */
static int accepted(int fd) {
  int n = 0, c;
  while ((c = accept4(fd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
    close(c);
    n++;
  }
  cr_assert(errno == EAGAIN || errno == EWOULDBLOCK, "accept: %s", strerror(errno));
  return n;
}

Test(build_net, run_step_reaches_no_host_address, .timeout = 600) {
  dk_client *c = t_client();
  t_busybox_image(c);
  char *state = t_tmpdir("bnstate"), *id = t_unique("bnprobe"), df[2048];
  jd_ctx ctx = {.dk = c, .state_dir = state, .host_id = "test"};
  int port, lfd = listen_all(&port);
  probe_dockerfile(df, sizeof df, id, port, true);
  jd_env_image *img = build_df(&ctx, id, df, NULL);
  cr_assert_str_eq(jd_verdict_name(img->verdict), "OK", "%s\n%s", img->message, img->log);
  cr_assert(strstr(img->log, "probe0-done"), "log: %s", img->log);
  cr_assert(!strstr(img->log, "DIRECT0-"), "log: %s", img->log);
  cr_assert(strstr(img->log, "HTTP/1.0 403"), "the proxy was not asked: %s", img->log);
  cr_assert_eq(accepted(lfd), 0, "a RUN step on the build network reached the host");
  jd_env_image_free(img);
  jd_image_purge(NULL, NULL, &ctx, NULL, id, true);
  free(id);

  /* The same probe on the plain bridge reaches the listener. */
  id = t_unique("bnbridge");
  probe_dockerfile(df, sizeof df, id, port, false);
  img = build_df(&ctx, id, df, "bridge");
  cr_assert_str_eq(jd_verdict_name(img->verdict), "OK", "%s\n%s", img->message, img->log);
  cr_assert(strstr(img->log, "DIRECT0-"), "the probe cannot see the host: %s", img->log);
  cr_assert(accepted(lfd) > 0);
  jd_env_image_free(img);
  jd_image_purge(NULL, NULL, &ctx, NULL, id, true);
  free(id);
  close(lfd);
  t_rmdir(state);
  dk_client_free(c);
}
