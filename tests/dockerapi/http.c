// test-labels: unit
/* The one table from libcurl's failures to dk codes (http.c), used by every
 * exchange (dk__curl_error) and by attach (dk__code_for_curl_connect):
 * a TLS failure is DK_ETLS on both paths. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http.h"
#include "support.h"

/* Every libcurl code that says the TLS layer failed. */
static const CURLcode tls_codes[] = {
    CURLE_SSL_CONNECT_ERROR,        CURLE_SSL_CERTPROBLEM,    CURLE_SSL_CIPHER,
    CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CACERT_BADFILE, CURLE_SSL_ISSUER_ERROR,
    CURLE_SSL_CRL_BADFILE,          CURLE_USE_SSL_FAILED,
};

Test(http, every_tls_code_is_a_tls_error_on_both_paths) {
  for (size_t i = 0; i < sizeof tls_codes / sizeof *tls_codes; i++) {
    CURLcode cc = tls_codes[i];
    cr_expect_eq(dk__code_for_curl(cc, true, 0), DK_ETLS, "exchange, curl code %d", cc);
    cr_expect_eq(dk__code_for_curl(cc, false, 0), DK_ETLS, "exchange, curl code %d", cc);
    cr_expect_eq(dk__code_for_curl_connect(cc, true), DK_ETLS, "attach, curl code %d", cc);
    cr_expect_eq(dk__code_for_curl_connect(cc, false), DK_ETLS, "attach, curl code %d", cc);
  }
}

Test(http, curl_error_sets_the_tls_error_with_the_detail) {
  dk_client *c = NULL;
  dk_client_opts o = {.host = "tcp://127.0.0.1:1", .tls_verify = true, .cert_path = "/nonexistent"};
  t_ok(dk_client_new(&c, &o));
  for (size_t i = 0; i < sizeof tls_codes / sizeof *tls_codes; i++) {
    dk_error_clear();
    cr_expect_eq(dk__curl_error(c, tls_codes[i], "handshake said no", 0), DK_ETLS);
    const dk_error *e = dk_error_last();
    cr_assert(e && e->code == DK_ETLS);
    cr_expect(strstr(e->message, "TLS with the Docker engine at tcp://127.0.0.1:1 failed") &&
                  strstr(e->message, "handshake said no"),
              "%s", e->message);
  }
  dk_client_free(c);
}

Test(http, a_connection_closed_before_an_answer_is_tls_only_with_tls) {
  cr_expect_eq(dk__code_for_curl(CURLE_RECV_ERROR, true, 0), DK_ETLS);
  cr_expect_eq(dk__code_for_curl(CURLE_SEND_ERROR, true, 0), DK_ETLS);
  cr_expect_eq(dk__code_for_curl(CURLE_RECV_ERROR, true, 200), DK_EPROTO);
  cr_expect_eq(dk__code_for_curl(CURLE_RECV_ERROR, false, 0), DK_EPROTO);
  cr_expect_eq(dk__code_for_curl_connect(CURLE_RECV_ERROR, true), DK_ETLS);
  cr_expect_eq(dk__code_for_curl_connect(CURLE_RECV_ERROR, false), DK_ECONNECT);
}

Test(http, other_codes) {
  cr_expect_eq(dk__code_for_curl(CURLE_COULDNT_CONNECT, false, 0), DK_ECONNECT);
  cr_expect_eq(dk__code_for_curl(CURLE_OPERATION_TIMEDOUT, false, 0), DK_ETIMEDOUT);
  cr_expect_eq(dk__code_for_curl(CURLE_GOT_NOTHING, false, 0), DK_EPROTO);
  cr_expect_eq(dk__code_for_curl(CURLE_OUT_OF_MEMORY, false, 0), DK_ENOMEM);
  cr_expect_eq(dk__code_for_curl(CURLE_UNSUPPORTED_PROTOCOL, false, 0), DK_EIO);
  /* Attach only connects: what failed there is the connection. */
  cr_expect_eq(dk__code_for_curl_connect(CURLE_COULDNT_CONNECT, false), DK_ECONNECT);
  cr_expect_eq(dk__code_for_curl_connect(CURLE_OPERATION_TIMEDOUT, false), DK_ETIMEDOUT);
  cr_expect_eq(dk__code_for_curl_connect(CURLE_GOT_NOTHING, false), DK_ECONNECT);
  cr_expect_eq(dk__code_for_curl_connect(CURLE_UNSUPPORTED_PROTOCOL, false), DK_ECONNECT);
  cr_expect_eq(dk__code_for_curl_connect(CURLE_OUT_OF_MEMORY, false), DK_ENOMEM);
}

/* ---- end to end: a TLS client meets a plain HTTP server -------------------- */

static int listener = -1;
static pthread_t server;

/* Answers every connection in plain HTTP: the client's handshake fails. */
static void *serve_plain(void *ud) {
  (void)ud;
  for (;;) {
    int fd = accept(listener, NULL, NULL);
    if (fd < 0)
      return NULL;
    char buf[512];
    (void)!read(fd, buf, sizeof buf);
    static const char answer[] = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
    (void)!write(fd, answer, sizeof answer - 1);
    close(fd);
  }
}

static int start_plain_server(void) {
  listener = socket(AF_INET, SOCK_STREAM, 0);
  cr_assert(listener >= 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof a;
  cr_assert(bind(listener, (struct sockaddr *)&a, sizeof a) == 0);
  cr_assert(listen(listener, 8) == 0);
  cr_assert(getsockname(listener, (struct sockaddr *)&a, &len) == 0);
  cr_assert(pthread_create(&server, NULL, serve_plain, NULL) == 0);
  return ntohs(a.sin_port);
}

static void stop_plain_server(void) {
  if (listener < 0)
    return;
  shutdown(listener, SHUT_RDWR); /* wakes accept */
  pthread_join(server, NULL);
  close(listener);
  listener = -1;
}

static int discard(void *ud, int stream, const char *data, size_t len) {
  (void)ud, (void)stream, (void)data, (void)len;
  return 0;
}

Test(http, a_failed_handshake_is_tls_for_calls_and_attach, .fini = stop_plain_server) {
  char host[64];
  snprintf(host, sizeof host, "tcp://127.0.0.1:%d", start_plain_server());
  dk_client_opts o = {
      .host = host, .tls_verify = true, .cert_path = "/nonexistent", .api_version = "1.41"};
  dk_client *c = NULL;
  t_ok(dk_client_new(&c, &o));
  int rc = dk_ping(c, NULL);
  cr_expect_eq(rc, DK_ETLS, "ping: %s: %s", dk_error_name(rc), dk_error_last()->message);
  rc = dk_container_attach(c, "c0ffee", false, NULL, 0, discard, NULL, NULL);
  cr_expect_eq(rc, DK_ETLS, "attach: %s: %s", dk_error_name(rc), dk_error_last()->message);
  dk_client_free(c);
}
