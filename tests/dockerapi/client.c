// test-labels: unit
/* Client configuration without an engine: DOCKER_HOST parsing, the DOCKER_*
 * environment as the docker CLI reads it, API version comparison and
 * negotiation, and a pinned version turning negotiation off. */
#include <stdlib.h>
#include <string.h>

#include "support.h"

/* Each test starts from an environment without DOCKER_* (Criterion forks a
 * process per test, so changes never leak between tests). */
static void clear_env(void) {
  unsetenv("DOCKER_HOST");
  unsetenv("DOCKER_TLS_VERIFY");
  unsetenv("DOCKER_CERT_PATH");
  unsetenv("DOCKER_API_VERSION");
}

TestSuite(client, .init = clear_env);

/* ---- DOCKER_HOST ----------------------------------------------------------- */

Test(client, unix_socket_url) {
  dk_host_url u;
  t_ok(dk_host_url_parse(&u, "unix:///run/user/1000/docker.sock", false));
  cr_assert_str_eq(u.scheme, "unix");
  cr_assert_str_eq(u.path, "/run/user/1000/docker.sock");
  cr_assert_str_empty(u.host);
}

Test(client, empty_or_null_url_is_the_default_socket) {
  dk_host_url u;
  t_ok(dk_host_url_parse(&u, NULL, false));
  cr_assert_str_eq(u.scheme, "unix");
  cr_assert_str_eq(u.path, "/var/run/docker.sock");
  t_ok(dk_host_url_parse(&u, "", true));
  cr_assert_str_eq(u.path, "/var/run/docker.sock");
}

Test(client, unix_relative_path_is_refused) {
  dk_host_url u;
  cr_assert_eq(dk_host_url_parse(&u, "unix://docker.sock", false), DK_EINVAL);
  cr_assert(strstr(dk_error_last()->message, "absolute"), "%s", dk_error_last()->message);
}

Test(client, tcp_with_port) {
  dk_host_url u;
  t_ok(dk_host_url_parse(&u, "tcp://192.168.1.5:4243", false));
  cr_assert_str_eq(u.scheme, "tcp");
  cr_assert_str_eq(u.host, "192.168.1.5");
  cr_assert_eq(u.port, 4243);
}

Test(client, tcp_default_port_depends_on_tls) {
  dk_host_url u;
  t_ok(dk_host_url_parse(&u, "tcp://docker.example", false));
  cr_assert_str_eq(u.host, "docker.example");
  cr_assert_eq(u.port, 2375);
  t_ok(dk_host_url_parse(&u, "tcp://docker.example", true));
  cr_assert_eq(u.port, 2376);
}

Test(client, tcp_with_trailing_path) {
  dk_host_url u;
  t_ok(dk_host_url_parse(&u, "tcp://10.0.0.1:2376/", true));
  cr_assert_str_eq(u.host, "10.0.0.1");
  cr_assert_eq(u.port, 2376);
}

Test(client, ipv6_with_and_without_port) {
  dk_host_url u;
  t_ok(dk_host_url_parse(&u, "tcp://[::1]:2376", false));
  cr_assert_str_eq(u.host, "::1");
  cr_assert_eq(u.port, 2376);
  t_ok(dk_host_url_parse(&u, "tcp://[fe80::1:2]", true));
  cr_assert_str_eq(u.host, "fe80::1:2");
  cr_assert_eq(u.port, 2376);
}

Test(client, ipv6_unterminated_is_refused) {
  dk_host_url u;
  cr_assert_eq(dk_host_url_parse(&u, "tcp://[::1:2376", false), DK_EINVAL);
  cr_assert(strstr(dk_error_last()->message, "IPv6"), "%s", dk_error_last()->message);
}

Test(client, bad_ports_are_refused) {
  const char *bad[] = {"tcp://h:0", "tcp://h:65536", "tcp://h:abc",
                       "tcp://h:",  "tcp://h:12x",   "tcp://[::1]:99999"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    dk_host_url u;
    cr_assert_eq(dk_host_url_parse(&u, bad[i], false), DK_EINVAL, "%s accepted", bad[i]);
    cr_assert(strstr(dk_error_last()->message, "port"), "%s: %s", bad[i], dk_error_last()->message);
  }
}

Test(client, missing_host_is_refused) {
  dk_host_url u;
  cr_assert_eq(dk_host_url_parse(&u, "tcp://", false), DK_EINVAL);
  cr_assert_eq(dk_host_url_parse(&u, "tcp://:2375", false), DK_EINVAL);
  cr_assert_eq(dk_host_url_parse(&u, "tcp://[]:2375", false), DK_EINVAL);
}

Test(client, ipv6_url_is_usable) {
  /* Port 1 on loopback refuses: a well-formed URL gives a connect error, a
   * malformed one (brackets doubled) would be another error. */
  dk_client_opts o = {.host = "tcp://[::1]:1", .api_version = "1.41"};
  dk_client *c = NULL;
  t_ok(dk_client_new(&c, &o));
  int rc = dk_ping(c, NULL);
  cr_assert_eq(rc, DK_ECONNECT, "%s: %s", dk_error_name(rc), dk_error_last()->message);
  dk_client_free(c);
}

Test(client, bad_schemes_are_refused) {
  const char *bad[] = {"ftp://host",          "npipe:////./pipe/docker_engine",
                       "ssh://user@host",     "/var/run/docker.sock",
                       "docker.example:2375", "unix:/x"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    dk_host_url u;
    cr_assert_eq(dk_host_url_parse(&u, bad[i], false), DK_EINVAL, "%s accepted", bad[i]);
    const dk_error *e = dk_error_last();
    cr_assert(e && e->code == DK_EINVAL && strstr(e->message, bad[i]),
              "the message names the value: %s", e ? e->message : "");
  }
}

Test(client, bad_docker_host_fails_client_new) {
  setenv("DOCKER_HOST", "ftp://nowhere", 1);
  dk_client *c = NULL;
  cr_assert_eq(dk_client_new(&c, NULL), DK_EINVAL);
  cr_assert_null(c);
}

/* ---- environment ------------------------------------------------------------- */

Test(client, env_empty_is_all_defaults) {
  dk_client_opts o;
  t_ok(dk_client_opts_from_env(&o));
  cr_assert_null(o.host);
  cr_assert_not(o.tls_verify);
  cr_assert_null(o.cert_path);
  cr_assert_null(o.api_version);
  dk_client *c = NULL;
  t_ok(dk_client_new(&c, NULL));
  cr_assert_str_eq(dk_client_host(c), DK_DEFAULT_HOST);
  cr_assert_not(dk_client_tls(c));
  dk_client_free(c);
}

Test(client, env_values_are_read) {
  setenv("DOCKER_HOST", "tcp://127.0.0.1:2376", 1);
  setenv("DOCKER_TLS_VERIFY", "1", 1);
  setenv("DOCKER_CERT_PATH", "/etc/docker-certs", 1);
  setenv("DOCKER_API_VERSION", "1.40", 1);
  dk_client_opts o;
  t_ok(dk_client_opts_from_env(&o));
  cr_assert_str_eq(o.host, "tcp://127.0.0.1:2376");
  cr_assert(o.tls_verify);
  cr_assert_str_eq(o.cert_path, "/etc/docker-certs");
  cr_assert_str_eq(o.api_version, "1.40");
  dk_client *c = NULL;
  t_ok(dk_client_new(&c, NULL));
  cr_assert_str_eq(dk_client_host(c), "tcp://127.0.0.1:2376");
  cr_assert(dk_client_tls(c));
  dk_client_free(c);
}

Test(client, tls_verify_empty_is_off) {
  setenv("DOCKER_HOST", "tcp://127.0.0.1:2376", 1);
  setenv("DOCKER_TLS_VERIFY", "", 1);
  dk_client_opts o;
  t_ok(dk_client_opts_from_env(&o));
  cr_assert_not(o.tls_verify);
  dk_client *c = NULL;
  t_ok(dk_client_new(&c, NULL));
  cr_assert_not(dk_client_tls(c));
  dk_client_free(c);
}

Test(client, tls_verify_any_nonempty_value_is_on_as_the_cli) {
  /* The docker CLI tests only for non-empty: even "0" turns TLS on. */
  const char *on[] = {"1", "true", "0", "no"};
  for (size_t i = 0; i < sizeof on / sizeof on[0]; i++) {
    setenv("DOCKER_TLS_VERIFY", on[i], 1);
    dk_client_opts o;
    t_ok(dk_client_opts_from_env(&o));
    cr_assert(o.tls_verify, "DOCKER_TLS_VERIFY=%s", on[i]);
  }
}

Test(client, empty_variables_count_as_unset) {
  setenv("DOCKER_HOST", "", 1);
  setenv("DOCKER_CERT_PATH", "", 1);
  setenv("DOCKER_API_VERSION", "", 1);
  dk_client_opts o;
  t_ok(dk_client_opts_from_env(&o));
  cr_assert_null(o.host);
  cr_assert_null(o.cert_path);
  cr_assert_null(o.api_version);
}

Test(client, tls_is_ignored_on_a_unix_socket) {
  setenv("DOCKER_TLS_VERIFY", "1", 1);
  dk_client *c = NULL;
  t_ok(dk_client_new(&c, NULL));
  cr_assert_not(dk_client_tls(c));
  dk_client_free(c);
}

Test(client, explicit_opts_override_the_environment) {
  setenv("DOCKER_HOST", "ftp://ignored", 1);
  dk_client_opts o = {.host = "unix:///tmp/other.sock"};
  dk_client *c = NULL;
  t_ok(dk_client_new(&c, &o));
  cr_assert_str_eq(dk_client_host(c), "unix:///tmp/other.sock");
  dk_client_free(c);
}

/* ---- versions ------------------------------------------------------------------ */

Test(client, version_cmp_is_numeric_per_component) {
  cr_assert_eq(dk_api_version_cmp("1.41", "1.41"), 0);
  cr_assert_gt(dk_api_version_cmp("1.41", "1.9"), 0, "41 > 9, not a string compare");
  cr_assert_lt(dk_api_version_cmp("1.9", "1.41"), 0);
  cr_assert_lt(dk_api_version_cmp("1.24", "1.43"), 0);
  cr_assert_gt(dk_api_version_cmp("2.0", "1.99"), 0);
  cr_assert_eq(dk_api_version_cmp("1.40", "1.40.0"), 0);
  cr_assert_lt(dk_api_version_cmp("1.40", "1.40.1"), 0);
}

static const char *negotiate(const char *server) {
  static char out[16];
  out[0] = '\0';
  int rc = dk_api_version_negotiate(out, sizeof out, server);
  return rc ? dk_error_name(rc) : out;
}

Test(client, negotiation_picks_the_lower_version) {
  cr_assert_str_eq(negotiate("1.41"), "1.41", "Docker 20.10");
  cr_assert_str_eq(negotiate("1.30"), "1.30");
  cr_assert_str_eq(negotiate(DK_API_VERSION_MAX), DK_API_VERSION_MAX);
  cr_assert_str_eq(negotiate("1.45"), "1.45", "trixie 26.1");
  cr_assert_str_eq(negotiate("1.99"), DK_API_VERSION_MAX, "newer engine: our maximum");
  cr_assert_str_eq(negotiate("2.3"), DK_API_VERSION_MAX);
  cr_assert_str_eq(negotiate(DK_API_VERSION_MIN), DK_API_VERSION_MIN);
}

Test(client, negotiation_without_a_header_falls_back_to_1_24) {
  cr_assert_str_eq(negotiate(NULL), "1.24");
  cr_assert_str_eq(negotiate(""), "1.24");
}

Test(client, negotiation_refuses_too_old_and_malformed) {
  cr_assert_str_eq(negotiate("1.12"), "DK_EVERSION");
  cr_assert(strstr(dk_error_last()->message, "1.12"), "%s", dk_error_last()->message);
  cr_assert_str_eq(negotiate("banana"), "DK_EPROTO");
  cr_assert_str_eq(negotiate("1."), "DK_EPROTO");
  cr_assert_str_eq(negotiate("1.41.2"), "DK_EPROTO");
  char tiny[3];
  cr_assert_neq(dk_api_version_negotiate(tiny, sizeof tiny, "1.41"), 0, "output too small");
}

Test(client, pinned_version_disables_negotiation) {
  /* Nothing listens there: any /_ping would fail, so a version coming back
   * proves no negotiation happened. */
  setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock", 1);
  setenv("DOCKER_API_VERSION", "1.38", 1);
  dk_client *c = NULL;
  t_ok(dk_client_new(&c, NULL));
  const char *v = NULL;
  t_ok(dk_client_api_version(&v, c));
  cr_assert_str_eq(v, "1.38");
  dk_client_free(c);
}

Test(client, unpinned_version_needs_the_engine) {
  setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock", 1);
  dk_client *c = NULL;
  t_ok(dk_client_new(&c, NULL));
  const char *v = "untouched";
  cr_assert_eq(dk_client_api_version(&v, c), DK_ECONNECT);
  cr_assert_null(v);
  const dk_error *e = dk_error_last();
  cr_assert(e && strstr(e->message, "cannot connect") &&
                strstr(e->message, "unix:///nonexistent/docker.sock"),
            "one clear message: %s", e ? e->message : "");
  dk_client_free(c);
}

Test(client, malformed_pinned_version_is_refused) {
  const char *bad[] = {"latest", "1", "v1.41", "1.41.0", "1..2"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    dk_client_opts o = {.api_version = bad[i]};
    dk_client *c = NULL;
    cr_assert_eq(dk_client_new(&c, &o), DK_EINVAL, "%s accepted", bad[i]);
    cr_assert_null(c);
  }
}

Test(client, cancel_token_state) {
  dk_cancel *k = NULL;
  t_ok(dk_cancel_new(&k));
  cr_assert_not(dk_cancel_fired(k));
  dk_cancel_fire(k);
  cr_assert(dk_cancel_fired(k));
  dk_cancel_fire(k); /* twice is harmless */
  cr_assert_not(dk_cancel_fired(NULL));
  dk_cancel_free(k);
  dk_cancel_free(NULL);
  dk_client_free(NULL);
}

Test(client, fired_token_and_past_deadline_stop_before_any_io) {
  setenv("DOCKER_API_VERSION", "1.41", 1);
  setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock", 1);
  dk_client *c = NULL;
  t_ok(dk_client_new(&c, NULL));
  dk_cancel *k = NULL;
  t_ok(dk_cancel_new(&k));
  dk_cancel_fire(k);
  dk_call call = {.cancel = k};
  cr_assert_eq(dk_ping(c, &call), DK_ECANCELED);
  dk_call late = {.deadline_ms = dk_now_ms() - 1};
  cr_assert_eq(dk_ping(c, &late), DK_ETIMEDOUT);
  dk_cancel_free(k);
  dk_client_free(c);
}
