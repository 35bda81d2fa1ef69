/* API version negotiation: the pure rules (compare, validate, pick) and
 * the one /_ping exchange per client that applies them. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_internal.h"
#include "error_internal.h"
#include "http.h"
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

int dk_api_version_negotiate(char *out, size_t outlen, const char *server_version) {
  const char *pick = DK_API_VERSION_MAX;
  if (server_version && *server_version) {
    if (!dk__api_version_valid(server_version))
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
  int rc = dk__exchange(c, &req, &resp);
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
