// test-labels: engine
/* Image builds' RUN steps on the real engine: through their build's own
 * network they install Debian packages via the allow-listing proxy, and
 * reach no address of the host (a listener the test opens on all
 * addresses, the engine's usual TCP ports), directly or through the proxy.
 * The plain bridge reaches the same listener: the probe works. Two builds
 * at once are on two networks with two proxies: one holding every
 * connection its proxy serves leaves the other's egress alone, a RUN step
 * of one reaches neither the other's RUN step nor the other's proxy (on its network or on
 * the default bridge) nor the host's 172.17.0.1, nor resolves an outside
 * name; a proxy forwards no packet (ip_forward=0); no network or proxy is
 * left after a build, a cancelled one included, or after a kill
 * (reconciliation). The proxy image's lock: never a link, waited for with
 * a deadline and the cancel token. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <json-c/json.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "build/base_image.h"
#include "build/build_net.h"
#include "build/image_cache.h"
#include "common/clock.h"
#include "common/labels.h"
#include "daemon/reconcile.h"
#include "support.h"

static jd_env_image *build_df(jd_ctx *ctx, const char *id, const char *df, const char *network) {
  jd_build_limits lim = {.image_network = network, .wall_ms = 300000};
  dk_kv labels[] = {{T_LABEL_KEY, "1"}};
  jd_env_image *img = NULL;
  t_ok(jd_env_image_ensure(
      &img, ctx,
      &(jd_build_request){
          .ref = {.domain = JD_DOMAIN_AI, .id = id}, .limits = lim, .labels = labels, .nlabels = 1},
      JD_OP_BUILD, df, strlen(df), NULL, 0));
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
  jd_image_purge(NULL, NULL, &ctx, NULL, id, true, NULL, 0);
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
  /* Run on an engine that lacks build_network only when accepted
   * ($JUDGER_ENGINE_ACCEPT, as the commands' setting): this test then
   * measures what its RUN steps reach there. */
  cr_assert_eq(jd_engine_accept_parse(&ctx.engine_accept, getenv("JUDGER_ENGINE_ACCEPT"), NULL, 0),
               0);
  int port, lfd = listen_all(&port);
  probe_dockerfile(df, sizeof df, id, port, true);
  jd_env_image *img = build_df(&ctx, id, df, NULL);
  cr_assert_str_eq(jd_verdict_name(img->verdict), "OK", "%s\n%s", img->message, img->log);
  cr_assert(strstr(img->log, "probe0-done"), "log: %s", img->log);
  cr_assert(!strstr(img->log, "DIRECT0-"), "log: %s", img->log);
  cr_assert(strstr(img->log, "HTTP/1.0 403"), "the proxy was not asked: %s", img->log);
  cr_assert_eq(accepted(lfd), 0, "a RUN step on the build network reached the host");
  jd_env_image_free(img);
  jd_image_purge(NULL, NULL, &ctx, NULL, id, true, NULL, 0);
  free(id);

  /* The same probe on the plain bridge reaches the listener. */
  id = t_unique("bnbridge");
  probe_dockerfile(df, sizeof df, id, port, false);
  img = build_df(&ctx, id, df, "bridge");
  cr_assert_str_eq(jd_verdict_name(img->verdict), "OK", "%s\n%s", img->message, img->log);
  cr_assert(strstr(img->log, "DIRECT0-"), "the probe cannot see the host: %s", img->log);
  cr_assert(accepted(lfd) > 0);
  jd_env_image_free(img);
  jd_image_purge(NULL, NULL, &ctx, NULL, id, true, NULL, 0);
  free(id);
  close(lfd);
  t_rmdir(state);
  dk_client_free(c);
}

/* ---- builds side by side ------------------------------------------------- */

/* Networks of this test's host that are build networks. */
static size_t build_networks(dk_client *c, const char *host) {
  char hl[200];
  snprintf(hl, sizeof hl, JD_LABEL_HOST "=%s", host);
  const char *labels[] = {hl, JD_BUILD_NET_LABEL "=1", JD_LABEL_ROLE "=build", NULL};
  dk_network_list *l = NULL;
  t_ok(dk_network_list_by_label(&l, c, labels));
  size_t n = l->count;
  dk_network_list_free(l);
  return n;
}

/* Containers of this test's host (a build's proxy). */
static size_t host_containers(dk_client *c, const char *host) {
  char hl[200];
  snprintf(hl, sizeof hl, JD_LABEL_HOST "=%s", host);
  const char *labels[] = {hl, NULL};
  dk_container_list *l = NULL;
  t_ok(dk_container_list_by_label(&l, c, true, labels));
  size_t n = l->count;
  dk_container_list_free(l);
  return n;
}

/* A container's address on network net ("bridge": the default bridge), ""
 * when it is not on it. */
static void proxy_ip(char out[64], dk_client *c, const char *proxy, const char *net) {
  dk_container_info *info = NULL;
  t_ok(dk_container_inspect(&info, c, proxy));
  json_object *o = json_tokener_parse(info->raw_json), *ns, *nets, *n, *a;
  out[0] = '\0';
  if (json_object_object_get_ex(o, "NetworkSettings", &ns) &&
      json_object_object_get_ex(ns, "Networks", &nets) &&
      json_object_object_get_ex(nets, net, &n) && json_object_object_get_ex(n, "IPAddress", &a))
    snprintf(out, 64, "%s", json_object_get_string(a));
  json_object_put(o);
  dk_container_info_free(info);
}

/* A build running in a thread, its progress kept as it comes. */
typedef struct bg_build {
  jd_ctx *ctx;
  const char *id;
  char df[2048];
  dk_cancel *cancel;
  pthread_t th;
  pthread_mutex_t mu;
  dk_buf seen;
  jd_env_image *img;
  int rc;
  bool done;
} bg_build;

static void bg_progress(void *ud, const char *line) {
  bg_build *b = ud;
  pthread_mutex_lock(&b->mu);
  (void)dk_buf_appendf(&b->seen, "%s\n", line);
  pthread_mutex_unlock(&b->mu);
}

static void *bg_main(void *ud) {
  bg_build *b = ud;
  jd_build_limits lim = {.wall_ms = 300000};
  dk_kv labels[] = {{T_LABEL_KEY, "1"}};
  jd_env_image *img = NULL;
  int rc = jd_env_image_ensure(&img, b->ctx,
                               &(jd_build_request){.ref = {.domain = JD_DOMAIN_AI, .id = b->id},
                                                   .limits = lim,
                                                   .labels = labels,
                                                   .nlabels = 1,
                                                   .progress = bg_progress,
                                                   .ud = b,
                                                   .cancel = b->cancel},
                               JD_OP_BUILD, b->df, strlen(b->df), NULL, 0);
  pthread_mutex_lock(&b->mu);
  b->img = img;
  b->rc = rc;
  b->done = true;
  pthread_mutex_unlock(&b->mu);
  return NULL;
}

/* Waits (at most ms) until the build's progress holds `what`; a copy of
 * the progress (the caller frees it), NULL when it never came. */
static char *bg_wait_for(bg_build *b, const char *what, int64_t ms) {
  int64_t until = jd_mono_ms() + ms;
  for (;;) {
    pthread_mutex_lock(&b->mu);
    bool hit = b->seen.data && strstr(b->seen.data, what);
    bool done = b->done;
    char *copy = hit ? strdup(b->seen.data) : NULL;
    pthread_mutex_unlock(&b->mu);
    if (hit || done || jd_mono_ms() >= until)
      return copy;
    poll(NULL, 0, 50);
  }
}

Test(build_net, two_builds_at_once_see_nothing_of_each_other, .timeout = 900) {
  dk_client *c = t_client();
  t_busybox_image(c);
  char *state = t_tmpdir("bnstate"), *host = t_unique("bnh"), *ida = t_unique("bna"),
       *idb = t_unique("bnb");
  jd_ctx ctx = {.dk = c, .state_dir = state, .host_id = host};
  int port, lfd = listen_all(&port);

  /* A: holds every connection its proxy has (70 idle ones: MaxClients is
   * 64), opens a listener on its step's address, proves it accepts (it
   * connects to itself once), then holds the step until it is cancelled. */
  bg_build a = {.ctx = &ctx, .id = ida, .mu = PTHREAD_MUTEX_INITIALIZER, .seen = DK_BUF_INIT(0)};
  snprintf(a.df, sizeof a.df,
           "FROM " T_BUSYBOX_IMAGE "\nENV MARK=%s\n"
           "RUN for i in $(seq 70); do (sleep 600 | nc judger-proxy 8888 >/dev/null) & done;"
           " ip=$(ip -4 addr show eth0 | awk '/inet / {split($2, a, \"/\"); print a[1]}');"
           " (while true; do nc -l -p 7777 </dev/null >/dev/null && echo ACCEPTED$((0)); done) &"
           " until nc -w 1 $ip 7777 -e true; do sleep 0.1; done;"
           " echo LISTEN$((0))-$ip-END; wait\n",
           ida);
  t_ok(dk_cancel_new(&a.cancel));
  cr_assert_eq(pthread_create(&a.th, NULL, bg_main, &a), 0);
  char *seen = bg_wait_for(&a, "LISTEN0-", 300000);
  cr_assert(seen, "build A never listened (rc %d, %s): %s\n%s", a.rc,
            a.img && a.img->message ? a.img->message : "", a.seen.data ? a.seen.data : "",
            a.img && a.img->log ? a.img->log : "");
  char aip[64] = "";
  const char *p = strstr(seen, "LISTEN0-") + 8;
  snprintf(aip, sizeof aip, "%.*s", (int)(strstr(p, "-END") - p), p);
  free(seen);
  cr_assert_eq(build_networks(c, host), 1, "build A is not on a network of its own");
  cr_assert_eq(host_containers(c, host), 1, "build A has no proxy of its own");
  /* A's proxy, on the default bridge and on A's network (the only ones of
   * this host). */
  char pbr[64], pa[64] = "";
  {
    char hl[200];
    snprintf(hl, sizeof hl, JD_LABEL_HOST "=%s", host);
    const char *labels[] = {hl, NULL};
    dk_network_list *l = NULL;
    dk_container_list *cl = NULL;
    t_ok(dk_network_list_by_label(&l, c, labels));
    t_ok(dk_container_list_by_label(&cl, c, true, labels));
    cr_assert_eq(l->count, 1);
    cr_assert_eq(cl->count, 1);
    proxy_ip(pbr, c, cl->items[0].id, "bridge");
    proxy_ip(pa, c, cl->items[0].id, l->items[0].name);
    dk_network_list_free(l);
    dk_container_list_free(cl);
  }
  cr_assert(pbr[0], "A's proxy has no address on the default bridge");
  cr_assert(pa[0], "A's proxy is not on A's network");

  /* B, at the same time: tries A's step, A's proxy on A's network and on
   * the default bridge, the host's bridge address; and its own proxy (the
   * probe works). */
  char df[2048];
  snprintf(df, sizeof df,
           "FROM " T_BUSYBOX_IMAGE "\nENV MARK=%s\n"
           "RUN for t in %s:7777 %s:8888 %s:8888 172.17.0.1:%d; do"
           " if nc -w 2 ${t%%:*} ${t#*:} -e true; then echo REACHED$((0))-$t;"
           " else echo BLOCKED$((0))-$t; fi; done;"
           " nc -w 2 judger-proxy 8888 -e true && echo OWNPROXY$((0))-OK;"
           " wget -q -O - http://deb.debian.org/debian/dists/bookworm/Release | head -1;"
           " if nslookup deb.debian.org >/dev/null 2>&1; then echo DNS$((0))-OUT;"
           " else echo DNS$((0))-NONE; fi;"
           " echo probe$((0))-done\n",
           idb, aip, pa, pbr, port);
  jd_env_image *img = build_df(&ctx, idb, df, NULL);
  cr_assert_str_eq(jd_verdict_name(img->verdict), "OK", "%s\n%s", img->message, img->log);
  cr_assert(strstr(img->log, "probe0-done"), "log: %s", img->log);
  cr_assert(strstr(img->log, "OWNPROXY0-OK"), "B cannot reach its own proxy: %s", img->log);
  /* A holds all its proxy can serve; B's egress does not care. */
  cr_assert(strstr(img->log, "Origin: Debian"), "B's egress was starved: %s", img->log);
  cr_assert(!strstr(img->log, "REACHED0-"), "B reached something: %s", img->log);
  /* No name of the outside resolves in a step (no DNS channel out): the
   * proxy resolves the allow-list's names itself. */
  cr_assert(strstr(img->log, "DNS0-NONE"), "a step resolved an outside name: %s", img->log);
  char want[128];
  const char *targets[] = {aip, pa, pbr};
  const int ports[] = {7777, 8888, 8888};
  for (int i = 0; i < 3; i++) {
    snprintf(want, sizeof want, "BLOCKED0-%s:%d", targets[i], ports[i]);
    cr_assert(strstr(img->log, want), "no %s in: %s", want, img->log);
  }
  jd_env_image_free(img);
  cr_assert_eq(accepted(lfd), 0, "a RUN step reached the host");
  /* B's network and proxy are gone; A's are still there while A runs. */
  cr_assert_eq(build_networks(c, host), 1);
  cr_assert_eq(host_containers(c, host), 1);

  /* A accepted once: its own check, not B. Then A is cancelled: its
   * network goes too. */
  pthread_mutex_lock(&a.mu);
  const char *first = strstr(a.seen.data, "ACCEPTED0");
  bool twice = first && strstr(first + 1, "ACCEPTED0");
  pthread_mutex_unlock(&a.mu);
  cr_assert(first, "A's listener never accepted: %s", a.seen.data);
  cr_assert(!twice, "A's step was reached from B: %s", a.seen.data);
  dk_cancel_fire(a.cancel);
  pthread_join(a.th, NULL);
  cr_assert_eq(a.rc, 0);
  cr_assert_neq(a.img->verdict, JD_VERDICT_OK);
  cr_assert_eq(build_networks(c, host), 0, "a cancelled build left its network");
  cr_assert_eq(host_containers(c, host), 0, "a cancelled build left its proxy");
  jd_env_image_free(a.img);
  dk_cancel_free(a.cancel);
  dk_buf_free(&a.seen);
  close(lfd);
  jd_image_purge(NULL, NULL, &ctx, NULL, ida, true, NULL, 0);
  jd_image_purge(NULL, NULL, &ctx, NULL, idb, true, NULL, 0);
  free(ida);
  free(idb);
  free(host);
  t_rmdir(state);
  dk_client_free(c);
}

/* The proxy's kernel forwards nothing: read in its own network namespace
 * (a container sharing it), and in its configuration. A container of the
 * default bridge reads 1 there: the probe tells them apart. */
static char *forward_setting(dk_client *c, const char *network_mode) {
  const char *cmd[] = {"cat", "/proc/sys/net/ipv4/ip_forward", NULL};
  dk_kv labels[] = {{T_LABEL_KEY, "1"}};
  dk_container_config cfg = {.image = T_BUSYBOX_IMAGE,
                             .cmd = cmd,
                             .labels = labels,
                             .nlabels = 1,
                             .host = {.network_mode = network_mode}};
  char *id = NULL;
  t_ok(dk_container_create(&id, c, NULL, &cfg));
  t_ok(dk_container_start(c, id));
  int64_t code = -1;
  dk_call call = {.deadline_ms = dk_now_ms() + 60000};
  t_ok(dk_container_wait(&code, c, id, NULL, &call));
  dk_buf out = DK_BUF_INIT(4096);
  t_ok(dk_container_logs_collect(c, id, NULL, &out, NULL, NULL));
  (void)dk_container_remove(c, id, true, true);
  free(id);
  char *s = strdup(out.data ? out.data : "");
  dk_buf_free(&out);
  s[strcspn(s, "\n")] = '\0';
  return s;
}

Test(build_net, proxy_forwards_nothing, .timeout = 600) {
  dk_client *c = t_client();
  t_busybox_image(c);
  char *state = t_tmpdir("bnstate"), *host = t_unique("bnf");
  jd_ctx ctx = {.dk = c, .state_dir = state, .host_id = host};
  char err[512];
  jd_build_net *n = NULL;
  cr_assert_eq(jd_build_net_open(&n, &ctx, NULL, err, sizeof err), 0, "%s", err);
  cr_assert_eq(build_networks(c, host), 1);
  char mode[300];
  snprintf(mode, sizeof mode, "container:%s", n->proxy);
  char *in_proxy = forward_setting(c, mode);
  char *on_bridge = forward_setting(c, "bridge");
  cr_assert_str_eq(in_proxy, "0", "ip_forward in the proxy: '%s'", in_proxy);
  cr_assert_str_eq(on_bridge, "1", "the probe cannot tell: '%s' on the bridge", on_bridge);
  dk_container_info *info = NULL;
  t_ok(dk_container_inspect(&info, c, n->proxy));
  cr_assert(strstr(info->raw_json, "\"net.ipv4.ip_forward\":\"0\""), "HostConfig: %s",
            info->raw_json);
  dk_container_info_free(info);
  jd_build_net_free(n);
  cr_assert_eq(build_networks(c, host), 0, "the network outlived its build");
  cr_assert_eq(host_containers(c, host), 0, "the proxy outlived its build");
  free(in_proxy);
  free(on_bridge);
  free(host);
  t_rmdir(state);
  dk_client_free(c);
}

static char **owned_builds(void *ud) {
  (void)ud;
  char **v = calloc(2, sizeof *v);
  cr_assert(v);
  v[0] = strdup(JD_LABEL_ROLE "=build");
  return v;
}

/* A network and its proxy a judger killed mid-build left: the daemon's
 * reconciliation removes both (the proxy first: the network cannot go
 * while it is on it). */
Test(build_net, a_left_network_is_reconciled_with_the_proxy_on_it, .timeout = 600) {
  dk_client *c = t_client();
  char *state = t_tmpdir("bnstate"), *host = t_unique("bnk");
  jd_ctx ctx = {.dk = c, .state_dir = state, .host_id = host};
  char err[512];
  jd_build_net *n = NULL;
  dk_kv owner[] = {{JD_LABEL_TASK, host}};
  jd_build_net_opts o = {.labels = owner, .nlabels = 1};
  cr_assert_eq(jd_build_net_open(&n, &ctx, &o, err, sizeof err), 0, "%s", err);
  cr_assert_neq(dk_network_remove(c, n->network), 0, "removed with the proxy on it");
  jd_reconcile_report rep = {0};
  /* While a build task runs (the daemon's owner label of builds), the
   * periodic sweep leaves it alone. */
  t_ok(jd_reconcile_engine(&rep, c, host, owned_builds, NULL));
  cr_assert_eq(rep.networks + rep.containers, 0);
  cr_assert_eq(build_networks(c, host), 1, "a running build's network was swept");
  cr_assert_eq(host_containers(c, host), 1, "a running build's proxy was swept");
  t_ok(jd_reconcile_engine(&rep, c, host, NULL, NULL));
  cr_assert_eq(rep.networks, 1);
  cr_assert_eq(rep.containers, 1);
  cr_assert_eq(rep.failures, 0);
  cr_assert_eq(build_networks(c, host), 0);
  cr_assert_eq(host_containers(c, host), 0);
  jd_build_net_free(n); /* gone already: nothing to do */
  /* A network with a container still on it (the proxy here; a cancelled
   * step's container) is emptied and removed. */
  cr_assert_eq(jd_build_net_open(&n, &ctx, NULL, err, sizeof err), 0, "%s", err);
  bool was_gone = true;
  t_ok(jd_build_net_remove(&was_gone, c, n->network, dk_now_ms() + 10000));
  cr_assert(!was_gone, "it was there and this call removed it");
  cr_assert_eq(build_networks(c, host), 0);
  cr_assert_eq(jd_build_net_remove(&was_gone, c, n->network, dk_now_ms()), 0);
  cr_assert(was_gone, "a second removal finds it gone");
  jd_build_net_free(n);
  cr_assert_eq(host_containers(c, host), 0);
  free(host);
  t_rmdir(state);
  dk_client_free(c);
}

/* ---- the proxy's lock ------------------------------------------------------ */

Test(build_net, a_linked_locks_dir_is_refused_and_nothing_is_made, .timeout = 120) {
  dk_client *c = t_client();
  char *state = t_tmpdir("bnstate"), *elsewhere = t_tmpdir("bnelse"), *host = t_unique("bnl");
  char path[4200];
  snprintf(path, sizeof path, "%s/locks", state);
  cr_assert_eq(symlink(elsewhere, path), 0);
  jd_ctx ctx = {.dk = c, .state_dir = state, .host_id = host};
  char err[512] = "";
  jd_build_net *n = NULL;
  cr_assert_eq(jd_build_net_open(&n, &ctx, NULL, err, sizeof err), -1);
  cr_assert_null(n);
  cr_assert(strstr(err, "locks/build-proxy"), "err: %s", err);
  snprintf(path, sizeof path, "%s/build-proxy", elsewhere);
  cr_assert_neq(access(path, F_OK), 0, "a lock file was made through the link");
  /* The lock file itself a link: refused too, its target untouched. */
  snprintf(path, sizeof path, "%s/locks", state);
  cr_assert_eq(unlink(path), 0);
  cr_assert_eq(mkdir(path, 0700), 0);
  char target[4200];
  snprintf(target, sizeof target, "%s/victim", elsewhere);
  snprintf(path, sizeof path, "%s/locks/build-proxy", state);
  cr_assert_eq(symlink(target, path), 0);
  cr_assert_eq(jd_build_net_open(&n, &ctx, NULL, err, sizeof err), -1);
  cr_assert_neq(access(target, F_OK), 0, "the link's target was made");
  cr_assert_eq(build_networks(c, host), 0);
  free(host);
  t_rmdir(elsewhere);
  t_rmdir(state);
  dk_client_free(c);
}

/* Holds <state>/locks/build-proxy as another judger would. */
static int hold_lock(const char *state, const char *name) {
  char path[4200];
  snprintf(path, sizeof path, "%s/locks", state);
  (void)mkdir(path, 0700);
  snprintf(path, sizeof path, "%s/locks/%s", state, name);
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  cr_assert(fd >= 0);
  cr_assert_eq(flock(fd, LOCK_EX | LOCK_NB), 0);
  return fd;
}

Test(build_net, a_held_lock_is_waited_for_until_the_deadline_or_a_cancel, .timeout = 120) {
  dk_client *c = t_client();
  char *state = t_tmpdir("bnstate"), *host = t_unique("bnw");
  jd_ctx ctx = {.dk = c, .state_dir = state, .host_id = host};
  int fd = hold_lock(state, "build-proxy");
  char err[512] = "";
  jd_build_net *n = NULL;
  jd_build_net_opts o = {.lock_wait_ms = 400};
  int64_t t0 = jd_mono_ms();
  cr_assert_eq(jd_build_net_open(&n, &ctx, &o, err, sizeof err), -1);
  int64_t took = jd_mono_ms() - t0;
  cr_assert(strstr(err, "waited 400 ms"), "err: %s", err);
  cr_assert(took >= 400 && took < 5000, "gave up after %lld ms", (long long)took);
  /* A cancel ends a long wait at once. */
  dk_cancel *cancel = NULL;
  t_ok(dk_cancel_new(&cancel));
  dk_cancel_fire(cancel);
  o = (jd_build_net_opts){.lock_wait_ms = 600000, .cancel = cancel};
  t0 = jd_mono_ms();
  cr_assert_eq(jd_build_net_open(&n, &ctx, &o, err, sizeof err), -1);
  took = jd_mono_ms() - t0;
  cr_assert(strstr(err, "canceled"), "err: %s", err);
  cr_assert(took < 5000, "a cancel took %lld ms", (long long)took);
  cr_assert_eq(build_networks(c, host), 0);
  close(fd);
  dk_cancel_free(cancel);
  free(host);
  t_rmdir(state);
  dk_client_free(c);
}
