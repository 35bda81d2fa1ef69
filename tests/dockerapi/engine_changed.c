// test-labels: unit
/* dk_client_engine_changed (dockerapi/http.c): the engine answering is
 * watched on every answer, against the fake engine answering with the
 * headers of Docker 20.10 and 26.1 and Podman 4.3.1 and 5.4.2 (copied from
 * the real ones). A real engine cannot become another product under a
 * client on demand; the daemon's side on real engines swapped behind one
 * socket: tests/judger/daemon/engine_watch.c. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "fake_engine.h"
#include "support.h"

#define PING(headers)                                                                              \
  "HTTP/1.1 200 OK\r\n" headers "Content-Type: text/plain\r\nContent-Length: 2\r\n"                \
  "Connection: close\r\n\r\nOK"
#define DOCKER20 PING("Api-Version: 1.41\r\nServer: Docker/20.10.24+dfsg1 (linux)\r\n")
#define DOCKER26 PING("Api-Version: 1.45\r\nServer: Docker/26.1.5+dfsg1 (linux)\r\n")
#define PODMAN43                                                                                   \
  PING("Api-Version: 1.41\r\nLibpod-Api-Version: 4.3.1\r\nServer: Libpod/4.3.1 (linux)\r\n")
#define PODMAN54                                                                                   \
  PING("Api-Version: 1.41\r\nLibpod-Api-Version: 5.4.2\r\nServer: Libpod/5.4.2 (linux)\r\n")
#define BARE PING("")                                         /* says nothing of who answers */
#define API_ONLY PING("Api-Version: 1.41\r\n")                /* Docker, without its version */
#define LIBPOD_API_ONLY PING("Libpod-Api-Version: 4.3.1\r\n") /* Podman, no Server */

/* One route for every request, whose answer the test changes between
 * requests (the fake reads it as it serves each one). */
static t_fake_route route[1] = {{.path = "/"}};
static t_fake *fake;
static dk_client *cli;

static void teardown(void) {
  dk_client_free(cli);
  cli = NULL;
  t_fake_stop(fake);
  fake = NULL;
}

TestSuite(engine_changed, .fini = teardown, .timeout = 60);

static void start(void) {
  route[0].raw = BARE;
  fake = t_fake_start(route, 1);
  /* pinned: every request is the test's own (no negotiating /_ping) */
  dk_client_opts o = {.host = t_fake_host(fake), .api_version = "1.41"};
  t_ok(dk_client_new(&cli, &o));
}

/* One answer of `raw`, then whether the client says the engine changed. */
static bool answer_as(const char *raw) {
  route[0].raw = raw;
  t_ok(dk_ping(cli, NULL));
  return dk_client_engine_changed(cli);
}

static void servers_are(const char *first, const char *now) {
  char f[128], n[128];
  dk_client_engine_servers(f, sizeof f, n, sizeof n, cli);
  cr_assert_str_eq(f, first);
  cr_assert_str_eq(n, now);
}

Test(engine_changed, the_same_engine_again_is_no_change) {
  start();
  cr_assert_not(dk_client_engine_changed(cli), "no answer yet");
  servers_are("", "");
  for (int i = 0; i < 3; i++)
    cr_assert_not(answer_as(DOCKER20));
  servers_are("Docker/20.10.24+dfsg1 (linux)", "");
  cr_assert_eq(dk_client_engine(cli), DK_ENGINE_DOCKER);
}

Test(engine_changed, docker_then_podman_is_a_change_for_good) {
  start();
  cr_assert_not(answer_as(DOCKER20));
  cr_assert(answer_as(PODMAN43), "Podman answers on Docker's socket");
  servers_are("Docker/20.10.24+dfsg1 (linux)", "Libpod/4.3.1 (linux)");
  /* Docker back: still changed, and the first answer that differed is kept */
  cr_assert(answer_as(DOCKER20));
  cr_assert(answer_as(PODMAN54));
  servers_are("Docker/20.10.24+dfsg1 (linux)", "Libpod/4.3.1 (linux)");
  cr_assert_eq(dk_client_engine(cli), DK_ENGINE_DOCKER, "the product learnt first stays");
}

Test(engine_changed, another_version_of_the_same_product_is_a_change) {
  start();
  cr_assert_not(answer_as(DOCKER20));
  cr_assert(answer_as(DOCKER26), "Docker 20.10 upgraded to 26.1");
  servers_are("Docker/20.10.24+dfsg1 (linux)", "Docker/26.1.5+dfsg1 (linux)");
  teardown();
  start();
  cr_assert_not(answer_as(PODMAN54));
  cr_assert(answer_as(PODMAN43), "Podman 5 downgraded to 4");
  teardown();
  /* Podman without a Server header, then Docker: the product differs */
  start();
  cr_assert_not(answer_as(LIBPOD_API_ONLY));
  cr_assert(answer_as(DOCKER20));
  servers_are("", "Docker/20.10.24+dfsg1 (linux)");
}

Test(engine_changed, answers_that_do_not_say_never_count) {
  start();
  cr_assert_not(answer_as(BARE), "says nothing: not the first identity either");
  servers_are("", "");
  cr_assert_not(answer_as(DOCKER20));
  servers_are("Docker/20.10.24+dfsg1 (linux)", "");
  cr_assert_not(answer_as(BARE));
  /* Docker without its Server: the product is the same, the version unsaid */
  cr_assert_not(answer_as(API_ONLY));
  cr_assert_not(answer_as(DOCKER20));
  /* an error answer that says counts like any other */
  static const char nf[] = "HTTP/1.1 404 Not Found\r\nApi-Version: 1.41\r\nServer: Libpod/4.3.1 "
                           "(linux)\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}";
  route[0].raw = nf;
  cr_assert_neq(dk_ping(cli, NULL), DK_OK);
  cr_assert(dk_client_engine_changed(cli));
}

Test(engine_changed, the_server_value_is_bounded_and_cleaned) {
  static const char odd[] = PING("Api-Version: 1.41\r\nServer: Docker/1\x01\x7f\xff\"x\r\n");
  start();
  cr_assert_not(answer_as(odd));
  servers_are("Docker/1???\"x", "");
  char small[5];
  dk_client_engine_servers(small, sizeof small, NULL, 0, cli);
  cr_assert_str_eq(small, "Dock", "cut to the caller's buffer");
  teardown();
  /* a value past 95 bytes is cut there: what differs beyond is not seen */
  char v[201], ra[700], rb[700], rc[700];
  memset(v, 'a', 200);
  v[200] = '\0';
  snprintf(ra, sizeof ra, PING("Api-Version: 1.41\r\nServer: Docker/%s\r\n"), v);
  v[150] = 'b'; /* byte 157 of the value */
  snprintf(rb, sizeof rb, PING("Api-Version: 1.41\r\nServer: Docker/%s\r\n"), v);
  v[80] = 'c'; /* byte 87 */
  snprintf(rc, sizeof rc, PING("Api-Version: 1.41\r\nServer: Docker/%s\r\n"), v);
  start();
  cr_assert_not(answer_as(ra));
  char f[300];
  dk_client_engine_servers(f, sizeof f, NULL, 0, cli);
  cr_assert_eq(strlen(f), 95, "the first Server kept to 95 bytes: %zu", strlen(f));
  cr_assert_not(answer_as(rb), "a difference past the cut is not seen");
  cr_assert(answer_as(rc), "a difference within it is");
}

/* ---- many threads on one client ------------------------------------------ */

#define THREADS 8
#define CALLS 25

static void *pinger(void *ud) {
  (void)ud;
  for (int i = 0; i < CALLS; i++)
    if (dk_ping(cli, NULL) != DK_OK)
      return (void *)1;
  return NULL;
}

static void ping_from_threads(void) {
  pthread_t th[THREADS];
  for (int i = 0; i < THREADS; i++)
    cr_assert_eq(pthread_create(&th[i], NULL, pinger, NULL), 0);
  for (int i = 0; i < THREADS; i++) {
    void *rc = NULL;
    pthread_join(th[i], &rc);
    cr_assert_null(rc, "a ping failed");
  }
}

Test(engine_changed, threads_learn_one_first_answer_and_see_the_change) {
  start();
  route[0].raw = DOCKER20;
  ping_from_threads(); /* the first answers race to be the first identity */
  cr_assert_not(dk_client_engine_changed(cli));
  servers_are("Docker/20.10.24+dfsg1 (linux)", "");
  route[0].raw = PODMAN43;
  ping_from_threads(); /* and to be the first that differed */
  cr_assert(dk_client_engine_changed(cli));
  servers_are("Docker/20.10.24+dfsg1 (linux)", "Libpod/4.3.1 (linux)");
}
