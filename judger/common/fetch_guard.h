/* What every download of a URL the judger was handed (a tarball source, a
 * match input) is held to, set once on a libcurl handle: sockets only to
 * public addresses (checked on the address connected to, so every redirect
 * and every resolved name is covered), a cancel token, http and https only
 * (an https URL never redirects to http), no proxy from the environment, at
 * most 5 redirects, HTTP errors as failures, 10 s to connect, no signals. */
#ifndef JD_FETCH_GUARD_H
#define JD_FETCH_GUARD_H

#include <stdbool.h>

#include <arpa/inet.h>
#include <curl/curl.h>

#include "dockerapi/dockerapi.h"

typedef struct jd_fetch_guard {
  bool public_only;                   /* only public addresses (common/netaddr.h) */
  const dk_cancel *cancel;            /* fired: the transfer stops; may be NULL */
  char refused[INET6_ADDRSTRLEN + 8]; /* an address refused, or "" */
} jd_fetch_guard;

/* Sets the guard's options on h for url; g must outlive the transfer. The
 * caller adds its own sink, caps and timeouts. */
void jd_fetch_guard_apply(CURL *h, jd_fetch_guard *g, const char *url);

#endif
