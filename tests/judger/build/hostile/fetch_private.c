// test-labels: unit
/* A task's git or tarball URL naming the host's own neighbours (its
 * loopback services, a cloud's metadata address, the LAN): the judger
 * process itself would connect, from the host's network. By default it
 * connects to public addresses only, checked on the address it connects
 * to; the listener the test opens on loopback never sees a connection.
 * With the host's fetch_private setting it does (the control). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "build/build.h"
#include "support.h"

typedef struct listener {
  int fd, port;
  atomic_int accepted;
  atomic_bool stop;
  pthread_t th;
} listener;

static void *accept_main(void *arg) {
  listener *l = arg;
  while (!atomic_load(&l->stop)) {
    struct pollfd p = {.fd = l->fd, .events = POLLIN};
    if (poll(&p, 1, 50) == 1) {
      int c = accept(l->fd, NULL, NULL);
      if (c >= 0) {
        atomic_fetch_add(&l->accepted, 1);
        /* An answer that is neither a tarball nor git: the fetch fails. */
        static const char resp[] = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
        char buf[1024];
        (void)!read(c, buf, sizeof buf);
        (void)!write(c, resp, sizeof resp - 1);
        close(c);
      }
    }
  }
  return NULL;
}

static void listen_start(listener *l) {
  l->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  cr_assert_eq(bind(l->fd, (struct sockaddr *)&a, sizeof a), 0);
  cr_assert_eq(listen(l->fd, 16), 0);
  socklen_t len = sizeof a;
  getsockname(l->fd, (struct sockaddr *)&a, &len);
  l->port = ntohs(a.sin_port);
  cr_assert_eq(pthread_create(&l->th, NULL, accept_main, l), 0);
}

static void listen_stop(listener *l) {
  atomic_store(&l->stop, true);
  pthread_join(l->th, NULL);
  close(l->fd);
}

/* jd_build_run of a source at url with fetch_private as given. */
static jd_build_result *build_from(const char *state, bool git, const char *url,
                                   bool fetch_private) {
  jd_ctx ctx = {
      .state_dir = state, .host_id = "fetch-test", .policy = {.fetch_private = fetch_private}};
  jd_build_request req = {.ref = {.domain = JD_DOMAIN_AI, .id = "fetchp"}, .ops = JD_BUILD_OP_ALL};
  if (git)
    req.ref.git_url = url;
  else
    req.ref.tar_url = url;
  jd_build_result *r = NULL;
  cr_assert_eq(jd_build_run(&r, &ctx, &req), 0);
  return r;
}

static void refused_then_allowed(bool git) {
  char *state = t_tmpdir("fetchp");
  listener l = {0};
  listen_start(&l);
  char url[128];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/%s", l.port, git ? "team/bot.git" : "bot.tgz");
  jd_build_result *r = build_from(state, git, url, false);
  cr_assert_str_eq(jd_build_result_verdict(r), "CE", "%s", r->message);
  cr_assert(r->message && strstr(r->message, "not a public address") &&
                strstr(r->message, "fetch_private"),
            "%s", r->message ? r->message : "(none)");
  cr_assert_eq(atomic_load(&l.accepted), 0, "the judger connected to the host's loopback");
  jd_build_result_free(r);
  /* The control: allowed, the judger connects (and the 404 fails it). */
  r = build_from(state, git, url, true);
  cr_assert_neq(r->status, JD_BUILD_STATUS_OK);
  cr_assert_geq(atomic_load(&l.accepted), 1, "%s", r->message ? r->message : "");
  jd_build_result_free(r);
  listen_stop(&l);
  t_rmdir(state);
}

Test(fetch_private, a_tarball_on_the_hosts_loopback_is_never_fetched) {
  refused_then_allowed(false);
}

Test(fetch_private, a_git_repository_on_the_hosts_loopback_is_never_fetched) {
  refused_then_allowed(true);
}

/* A name that resolves to the host (localhost) is caught at the address. */
Test(fetch_private, a_name_resolving_to_loopback_is_caught_at_the_address) {
  char *state = t_tmpdir("fetchp");
  listener l = {0};
  listen_start(&l);
  char url[128];
  snprintf(url, sizeof url, "http://localhost:%d/bot.tgz", l.port);
  jd_build_result *r = build_from(state, false, url, false);
  cr_assert_str_eq(jd_build_result_verdict(r), "CE", "%s", r->message);
  cr_assert_eq(atomic_load(&l.accepted), 0);
  jd_build_result_free(r);
  listen_stop(&l);
  t_rmdir(state);
}
