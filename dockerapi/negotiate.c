/* API version negotiation: the pure rules (compare, validate, pick) and
 * the one exchange per client that applies them (/_ping, and /version
 * when the engine may refuse our maximum). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_internal.h"
#include "error_internal.h"
#include "http.h"
#include "json.h"
#include "negotiate.h"

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

int dk__api_version_valid(const char *v) {
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

int dk_api_version_pick(char *out, size_t outlen, const char *client_max, const char *server_min,
                        const char *server_max) {
  if (!client_max || !dk__api_version_valid(client_max) ||
      dk_api_version_cmp(client_max, DK_API_VERSION_MIN) < 0)
    return dk__err(DK_EINVAL, 0, "client maximum API '%s' is not a version from %s up",
                   client_max ? client_max : "(null)", DK_API_VERSION_MIN);
  const char *pick = client_max;
  if (server_max && *server_max) {
    if (!dk__api_version_valid(server_max))
      return dk__err(DK_EPROTO, 0, "engine sent a malformed API version '%s'", server_max);
    if (dk_api_version_cmp(server_max, DK_API_VERSION_MIN) < 0)
      return dk__err(DK_EVERSION, 0, "engine API %s is older than the oldest supported (%s)",
                     server_max, DK_API_VERSION_MIN);
    if (dk_api_version_cmp(server_max, client_max) < 0)
      pick = server_max;
  } else {
    /* Engines before API 1.25 did not send the header: the CLI falls back to 1.24. */
    pick = "1.24";
  }
  if (server_min && *server_min) {
    if (!dk__api_version_valid(server_min))
      return dk__err(DK_EPROTO, 0, "engine sent a malformed minimum API version '%s'", server_min);
    /* Docker 29.0-29.2 (and DOCKER_MIN_API_VERSION anywhere) refuse every
     * request below their minimum: say so once, naming both ranges. */
    if (dk_api_version_cmp(pick, server_min) < 0)
      return dk__err(DK_EVERSION, 0,
                     "no API version in common: the engine accepts %s to %s, this client %s to "
                     "%s (upgrade libdockerapi or lower the engine's DOCKER_MIN_API_VERSION)",
                     server_min, server_max && *server_max ? server_max : "?", DK_API_VERSION_MIN,
                     client_max);
  }
  if (strlen(pick) >= outlen)
    return DK_EINVAL;
  strcpy(out, pick);
  return DK_OK;
}

int dk_api_version_negotiate(char *out, size_t outlen, const char *server_version) {
  return dk_api_version_pick(out, outlen, DK_API_VERSION_MAX, NULL, server_version);
}

int dk__api_since(dk_client *c, const char *v) {
  if (dk__negotiate(c) != DK_OK)
    return 1;
  return dk_api_version_cmp(c->version, v) >= 0;
}

int dk_client_api_version(const char **out, dk_client *c) {
  *out = NULL;
  int rc = dk__negotiate(c);
  if (rc)
    return rc;
  *out = c->version;
  return DK_OK;
}

/* The engine's API range from the unversioned GET /version (an engine with a
 * raised minimum still answers it). Fills what it finds; an engine that does
 * not answer leaves both empty and negotiation goes on without a minimum. */
static void engine_range(dk_client *c, char *min, char *max, size_t len) {
  dk__req req = {.method = "GET", .path = "/version", .unversioned = 1};
  dk__resp resp;
  json_object *o = NULL;
  if (dk__exchange(c, &req, &resp) == DK_OK && resp.body.len &&
      dk__parse_json(&o, resp.body.data, resp.body.len) == DK_OK) {
    const char *lo = dk__json_str(o, "MinAPIVersion");
    const char *hi = dk__json_str(o, "ApiVersion");
    snprintf(min, len, "%s", lo ? lo : "");
    if (hi && !*max)
      snprintf(max, len, "%s", hi);
  }
  json_object_put(o);
  dk__resp_free(&resp);
}

int dk__negotiate(dk_client *c) {
  pthread_mutex_lock(&c->mu);
  int done = c->negotiated;
  pthread_mutex_unlock(&c->mu);
  if (done)
    return DK_OK;
  dk__req req = {.method = "GET", .path = "/_ping", .unversioned = 1};
  dk__resp resp;
  /* The answer's headers also name the product (Podman's Libpod-Api-Version,
   * Server: Libpod/...): dk__exchange keeps it as the client's engine. */
  int rc = dk__exchange(c, &req, &resp);
  if (rc == DK_OK || rc == DK_ESERVER) {
    /* A 500 from /_ping still carries the header; the CLI negotiates on it. */
    char max[16], min[16] = "", ver[16];
    snprintf(max, sizeof max, "%s", resp.api_version);
    /* An engine newer than us may refuse our maximum (Docker 29 refuses
     * below 1.44): only then is its minimum worth a second request. */
    if (!*max || dk_api_version_cmp(max, c->max_version) > 0)
      engine_range(c, min, max, sizeof min);
    int nrc = dk_api_version_pick(ver, sizeof ver, c->max_version, min, max);
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
