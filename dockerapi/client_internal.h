/* Private to libdockerapi: the layout of dk_client (client.c configures it;
 * the pool, negotiation and the HTTP layer read it). */
#ifndef DOCKERAPI_CLIENT_INTERNAL_H
#define DOCKERAPI_CLIENT_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "dockerapi/client.h"
#include "dockerapi/counts.h"
#include "http.h"
#include "pool.h"

struct dk_client {
  dk_host_url url;
  char *host; /* as given, for messages */
  int tls;
  char *ca, *cert, *key;
  char base[300]; /* "http://localhost" or "https://host:port" */
  char version[16];
  char max_version[16]; /* the most negotiation may pick */
  int negotiated;
  long connect_timeout_ms;
  pthread_mutex_t mu; /* guards version/negotiated and the pool */
  dk__conn *pool;
  int pool_size;
  dk_error_observer on_error; /* set before sharing; read without mu */
  void *on_error_ud;
  _Atomic uint64_t calls[DK_CALL_KIND_COUNT]; /* requests sent, by kind (counts.c) */
  _Atomic int engine; /* dk_engine_kind, as the negotiating /_ping showed it */
  /* Who answers (http.c, dk_client_engine_changed): the first answer that
   * said, and the first that said otherwise. Each is written once, under
   * mu, before its flag is set (release); read without mu after the flag
   * (acquire). */
  dk__ident ident_first, ident_other;
  atomic_bool ident_known, ident_changed;
};

/* Counts one request of the client, about to be sent (counts.c). */
void dk__count(dk_client *c, const char *method, const char *path);

#endif
