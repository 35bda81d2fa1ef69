/* Private to libdockerapi: API version negotiation (negotiate.c). */
#ifndef DOCKERAPI_NEGOTIATE_H
#define DOCKERAPI_NEGOTIATE_H

#include "dockerapi/client.h"

/* Whether v looks like "1.41" (digits, one dot, digits). */
int dk__api_version_valid(const char *v);
/* Negotiates the client's version once, with GET /_ping; a no-op once the
 * version is known (negotiated or pinned). */
int dk__negotiate(dk_client *c);

/* Whether the version c speaks is at least v: the version gates of the
 * resource modules (docs/dockerapi.md lists them). Negotiates first; when
 * that fails the answer does not matter, the request then fails in dk__do
 * with negotiation's error. */
int dk__api_since(dk_client *c, const char *v);

#endif
