/* Client configuration: DOCKER_HOST parsing, the environment, TLS files.
 * Version negotiation is in negotiate.c, the HTTP exchange in http.c. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <curl/curl.h>

#include "client_internal.h"
#include "error_internal.h"
#include "negotiate.h"
#include "pool.h"

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void) { curl_global_init(CURL_GLOBAL_ALL); }

int dk_host_url_parse(dk_host_url *out, const char *url, bool tls) {
  memset(out, 0, sizeof *out);
  if (!url || !*url)
    url = DK_DEFAULT_HOST;
  if (strncmp(url, "unix://", 7) == 0) {
    const char *p = url + 7;
    if (*p != '/' || strlen(p) >= sizeof out->path)
      return dk__err(DK_EINVAL, 0, "DOCKER_HOST %s: the socket path must be absolute", url);
    strcpy(out->scheme, "unix");
    strcpy(out->path, p);
    return DK_OK;
  }
  if (strncmp(url, "tcp://", 6) == 0 || strncmp(url, "http://", 7) == 0 ||
      strncmp(url, "https://", 8) == 0) {
    const char *p = strstr(url, "://") + 3;
    strcpy(out->scheme, "tcp");
    out->port = tls ? 2376 : 2375;
    const char *end = p + strcspn(p, "/");
    const char *colon = NULL;
    if (*p == '[') { /* [::1]:2376 */
      const char *rb = memchr(p, ']', (size_t)(end - p));
      if (!rb)
        return dk__err(DK_EINVAL, 0, "DOCKER_HOST %s: unterminated IPv6 address", url);
      if (rb + 1 < end && rb[1] == ':')
        colon = rb + 1;
      end = colon ? colon : rb + 1;
    } else {
      colon = memchr(p, ':', (size_t)(end - p));
    }
    const char *hstart = p;
    size_t hlen = (size_t)((colon ? colon : end) - p);
    if (*p == '[') { /* the address without its brackets; c->base adds them back */
      hstart = p + 1;
      hlen -= 2;
    }
    if (hlen == 0 || hlen >= sizeof out->host)
      return dk__err(DK_EINVAL, 0, "DOCKER_HOST %s: missing host", url);
    memcpy(out->host, hstart, hlen);
    if (colon) {
      char *e = NULL;
      long port = strtol(colon + 1, &e, 10);
      if (e == colon + 1 || port <= 0 || port > 65535 || (*e && *e != '/'))
        return dk__err(DK_EINVAL, 0, "DOCKER_HOST %s: bad port", url);
      out->port = (int)port;
    }
    return DK_OK;
  }
  return dk__err(DK_EINVAL, 0, "DOCKER_HOST %s: scheme must be unix:// or tcp://", url);
}

int dk_client_opts_from_env(dk_client_opts *out) {
  memset(out, 0, sizeof *out);
  const char *host = getenv("DOCKER_HOST");
  out->host = host && *host ? host : NULL;
  const char *tls = getenv("DOCKER_TLS_VERIFY");
  out->tls_verify = tls && *tls; /* as the CLI: any non-empty value turns it on */
  const char *cert = getenv("DOCKER_CERT_PATH");
  out->cert_path = cert && *cert ? cert : NULL;
  const char *ver = getenv("DOCKER_API_VERSION");
  out->api_version = ver && *ver ? ver : NULL;
  return DK_OK;
}

static void drop_missing(char **path) {
  struct stat st;
  if (*path && stat(*path, &st) != 0 && errno == ENOENT) {
    free(*path);
    *path = NULL;
  }
}

/* The TLS files of a client from its cert path (NULL = ~/.docker). */
static int tls_files(dk_client *c, const char *dir) {
  char def[512];
  if (!dir) {
    const char *home = getenv("HOME");
    snprintf(def, sizeof def, "%s/.docker", home ? home : "");
    dir = def;
  }
  if (asprintf(&c->ca, "%s/ca.pem", dir) < 0 || asprintf(&c->cert, "%s/cert.pem", dir) < 0 ||
      asprintf(&c->key, "%s/key.pem", dir) < 0)
    return DK_ENOMEM;
  /* As the docker CLI: a file missing from the cert path is not used (no
   * ca.pem = the system's roots; no cert.pem/key.pem = no client
   * certificate, which a --tlsverify daemon then refuses). */
  drop_missing(&c->ca);
  drop_missing(&c->cert);
  drop_missing(&c->key);
  if (!c->cert || !c->key) {
    free(c->cert);
    free(c->key);
    c->cert = c->key = NULL;
  }
  return DK_OK;
}

/* The URL prefix of every request: curl reaches a unix socket through
 * CURLOPT_UNIX_SOCKET_PATH, so its host part is a placeholder. */
static void set_base(dk_client *c) {
  const char *scheme = c->tls ? "https" : "http";
  if (strcmp(c->url.scheme, "unix") == 0)
    snprintf(c->base, sizeof c->base, "http://localhost");
  else if (strchr(c->url.host, ':'))
    snprintf(c->base, sizeof c->base, "%s://[%s]:%d", scheme, c->url.host, c->url.port);
  else
    snprintf(c->base, sizeof c->base, "%s://%s:%d", scheme, c->url.host, c->url.port);
}

/* A fixed version (DOCKER_API_VERSION: no negotiation) and the highest one
 * negotiation may pick. */
static int set_versions(dk_client *c, const dk_client_opts *opts) {
  if (opts->api_version) {
    if (!dk__api_version_valid(opts->api_version))
      return dk__err(DK_EINVAL, 0, "DOCKER_API_VERSION '%s' is not a version like 1.41",
                     opts->api_version);
    snprintf(c->version, sizeof c->version, "%s", opts->api_version);
    c->negotiated = 1;
  }
  const char *max = opts->api_version_max ? opts->api_version_max : DK_API_VERSION_MAX;
  if (!dk__api_version_valid(max) || dk_api_version_cmp(max, DK_API_VERSION_MIN) < 0 ||
      dk_api_version_cmp(max, DK_API_VERSION_MAX) > 0)
    return dk__err(DK_EINVAL, 0, "maximum API version '%s' is not a version from %s to %s", max,
                   DK_API_VERSION_MIN, DK_API_VERSION_MAX);
  snprintf(c->max_version, sizeof c->max_version, "%s", max);
  return DK_OK;
}

int dk_client_new(dk_client **out, const dk_client_opts *opts) {
  *out = NULL;
  dk_client_opts env;
  if (!opts) {
    dk_client_opts_from_env(&env);
    opts = &env;
  }
  pthread_once(&curl_once, curl_init_once);
  dk_client *c = calloc(1, sizeof *c);
  if (!c)
    return DK_ENOMEM;
  int rc = dk_host_url_parse(&c->url, opts->host, opts->tls_verify);
  if (rc)
    goto err;
  c->host = strdup(opts->host ? opts->host : DK_DEFAULT_HOST);
  if (!c->host) {
    rc = DK_ENOMEM;
    goto err;
  }
  c->tls = opts->tls_verify && strcmp(c->url.scheme, "tcp") == 0;
  if (c->tls) {
    rc = tls_files(c, opts->cert_path);
    if (rc)
      goto err;
  }
  set_base(c);
  rc = set_versions(c, opts);
  if (rc)
    goto err;
  c->connect_timeout_ms = opts->connect_timeout_ms > 0 ? opts->connect_timeout_ms : 5000;
  pthread_mutex_init(&c->mu, NULL);
  *out = c;
  return DK_OK;
err:
  free(c->host);
  free(c->ca);
  free(c->cert);
  free(c->key);
  free(c);
  return rc;
}

void dk_client_free(dk_client *c) {
  if (!c)
    return;
  dk__conn_pool_free(c);
  pthread_mutex_destroy(&c->mu);
  free(c->host);
  free(c->ca);
  free(c->cert);
  free(c->key);
  free(c);
}

const char *dk_client_host(const dk_client *c) { return c->host; }
bool dk_client_tls(const dk_client *c) { return c->tls; }

void dk_client_set_error_observer(dk_client *c, dk_error_observer fn, void *ud) {
  c->on_error = fn;
  c->on_error_ud = ud;
}
