/* Client configuration, environment parsing, version negotiation and
 * cancel tokens. The HTTP exchange itself is in http.c. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <curl/curl.h>

#include "client_internal.h"
#include "internal.h"

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void) { curl_global_init(CURL_GLOBAL_ALL); }

int64_t dk_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

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

int dk_api_version_cmp(const char *a, const char *b) {
  while (*a || *b) {
    long x = strtol(a, (char **)&a, 10);
    long y = strtol(b, (char **)&b, 10);
    if (x != y)
      return x < y ? -1 : 1;
    if (*a == '.')
      a++;
    if (*b == '.')
      b++;
    if ((*a && (*a < '0' || *a > '9')) || (*b && (*b < '0' || *b > '9')))
      break;
  }
  return 0;
}

static int version_valid(const char *v) {
  int dots = 0, digits = 0;
  for (; *v; v++) {
    if (*v == '.') {
      if (!digits)
        return 0;
      dots++;
      digits = 0;
    } else if (*v >= '0' && *v <= '9') {
      digits++;
    } else {
      return 0;
    }
  }
  return dots == 1 && digits > 0;
}

int dk_api_version_negotiate(char *out, size_t outlen, const char *server_version) {
  const char *pick = DK_API_VERSION_MAX;
  if (server_version && *server_version) {
    if (!version_valid(server_version))
      return dk__err(DK_EPROTO, 0, "engine sent a malformed API version '%s'", server_version);
    if (dk_api_version_cmp(server_version, DK_API_VERSION_MIN) < 0)
      return dk__err(DK_EVERSION, 0, "engine API %s is older than the oldest supported (%s)",
                     server_version, DK_API_VERSION_MIN);
    if (dk_api_version_cmp(server_version, DK_API_VERSION_MAX) < 0)
      pick = server_version;
  } else {
    /* Engines before API 1.25 did not send the header: the CLI falls back to 1.24. */
    pick = "1.24";
  }
  if (strlen(pick) >= outlen)
    return DK_EINVAL;
  strcpy(out, pick);
  return DK_OK;
}

static void drop_missing(char **path) {
  struct stat st;
  if (*path && stat(*path, &st) != 0 && errno == ENOENT) {
    free(*path);
    *path = NULL;
  }
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
    const char *dir = opts->cert_path;
    char def[512];
    if (!dir) {
      const char *home = getenv("HOME");
      snprintf(def, sizeof def, "%s/.docker", home ? home : "");
      dir = def;
    }
    if (asprintf(&c->ca, "%s/ca.pem", dir) < 0 || asprintf(&c->cert, "%s/cert.pem", dir) < 0 ||
        asprintf(&c->key, "%s/key.pem", dir) < 0) {
      rc = DK_ENOMEM;
      goto err;
    }
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
  }
  if (strcmp(c->url.scheme, "unix") == 0)
    snprintf(c->base, sizeof c->base, "http://localhost");
  else if (strchr(c->url.host, ':'))
    snprintf(c->base, sizeof c->base, "%s://[%s]:%d", c->tls ? "https" : "http", c->url.host,
             c->url.port);
  else
    snprintf(c->base, sizeof c->base, "%s://%s:%d", c->tls ? "https" : "http", c->url.host,
             c->url.port);
  if (opts->api_version) {
    if (!version_valid(opts->api_version)) {
      rc = dk__err(DK_EINVAL, 0, "DOCKER_API_VERSION '%s' is not a version like 1.41",
                   opts->api_version);
      goto err;
    }
    snprintf(c->version, sizeof c->version, "%s", opts->api_version);
    c->negotiated = 1;
  }
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

int dk_client_api_version(const char **out, dk_client *c) {
  *out = NULL;
  int rc = dk__negotiate(c);
  if (rc)
    return rc;
  *out = c->version;
  return DK_OK;
}

int dk__negotiate(dk_client *c) {
  pthread_mutex_lock(&c->mu);
  int done = c->negotiated;
  pthread_mutex_unlock(&c->mu);
  if (done)
    return DK_OK;
  dk__req req = {.method = "GET", .path = "/_ping", .unversioned = 1};
  dk__resp resp;
  int rc = dk__do(c, &req, &resp);
  if (rc == DK_OK || rc == DK_ESERVER) {
    /* A 500 from /_ping still carries the header; the CLI negotiates on it. */
    char ver[16];
    int nrc = dk_api_version_negotiate(ver, sizeof ver, resp.api_version);
    if (nrc == DK_OK) {
      pthread_mutex_lock(&c->mu);
      if (!c->negotiated) {
        snprintf(c->version, sizeof c->version, "%s", ver);
        c->negotiated = 1;
      }
      pthread_mutex_unlock(&c->mu);
    }
    rc = rc ? rc : nrc;
  }
  dk__resp_free(&resp);
  return rc;
}

/* ---- cancel tokens ------------------------------------------------------ */

int dk_cancel_new(dk_cancel **out) {
  *out = NULL;
  dk_cancel *k = calloc(1, sizeof *k);
  if (!k)
    return DK_ENOMEM;
  atomic_init(&k->fired, 0);
  pthread_mutex_init(&k->mu, NULL);
  *out = k;
  return DK_OK;
}

void dk_cancel_fire(dk_cancel *k) {
  if (!k)
    return;
  atomic_store(&k->fired, 1);
  pthread_mutex_lock(&k->mu);
  for (dk__waiter *w = k->waiters; w; w = w->next)
    curl_multi_wakeup(w->multi);
  pthread_mutex_unlock(&k->mu);
}

bool dk_cancel_fired(const dk_cancel *k) { return k && atomic_load(&k->fired); }

void dk_cancel_free(dk_cancel *k) {
  if (!k)
    return;
  pthread_mutex_destroy(&k->mu);
  free(k);
}

void dk__cancel_watch(dk_cancel *k, dk__waiter *w) {
  if (!k)
    return;
  pthread_mutex_lock(&k->mu);
  w->next = k->waiters;
  k->waiters = w;
  pthread_mutex_unlock(&k->mu);
}

void dk__cancel_unwatch(dk_cancel *k, dk__waiter *w) {
  if (!k)
    return;
  pthread_mutex_lock(&k->mu);
  for (dk__waiter **p = &k->waiters; *p; p = &(*p)->next) {
    if (*p == w) {
      *p = w->next;
      break;
    }
  }
  pthread_mutex_unlock(&k->mu);
}
