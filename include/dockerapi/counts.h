/* libdockerapi — what a client asked of the engine.
 *
 * Every request a dk_client sends (dk__exchange's, attach's hijacked one,
 * negotiation's /_ping and /version) is counted on the client, by kind:
 * a fixed set made from the method and the path, generated with its names
 * from one table (the habit of DK_ERROR_MAP). A request is counted when it
 * is sent, whatever the engine answers; one refused before it is sent
 * (canceled, deadline passed) is not. The counters are atomic: reading
 * them while other threads use the client is safe, and costs nothing to
 * the requests. They only grow, for the client's life.
 */
#ifndef DOCKERAPI_COUNTS_H
#define DOCKERAPI_COUNTS_H

#include <stdint.h>

#include "client.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DK_CALL_KIND_MAP(XX)                                                                       \
  XX(CONTAINER_CREATE, "container_create", "POST /containers/create")                              \
  XX(CONTAINER_START, "container_start", "POST /containers/{id}/start")                            \
  XX(CONTAINER_WAIT, "container_wait", "POST /containers/{id}/wait")                               \
  XX(CONTAINER_INSPECT, "container_inspect", "GET /containers/{id}/json")                          \
  XX(CONTAINER_LIST, "container_list", "GET /containers/json")                                     \
  XX(CONTAINER_LOGS, "container_logs", "GET /containers/{id}/logs")                                \
  XX(CONTAINER_ATTACH, "container_attach", "POST /containers/{id}/attach")                         \
  XX(CONTAINER_KILL, "container_kill", "POST /containers/{id}/kill or /stop")                      \
  XX(CONTAINER_REMOVE, "container_remove", "DELETE /containers/{id}")                              \
  XX(CONTAINER_OTHER, "container_other", "any other /containers call (archive, pause, prune...)")  \
  XX(NETWORK_CREATE, "network_create", "POST /networks/create")                                    \
  XX(NETWORK_REMOVE, "network_remove", "DELETE /networks/{id}")                                    \
  XX(NETWORK_CONNECT, "network_connect", "POST /networks/{id}/connect")                            \
  XX(NETWORK_DISCONNECT, "network_disconnect", "POST /networks/{id}/disconnect")                   \
  XX(NETWORK_INSPECT, "network_inspect", "GET /networks/{id}")                                     \
  XX(NETWORK_LIST, "network_list", "GET /networks")                                                \
  XX(NETWORK_OTHER, "network_other", "any other /networks call (prune)")                           \
  XX(IMAGE, "image", "any /images call (inspect, list, pull, tag, remove, prune...)")              \
  XX(BUILD, "build", "POST /build")                                                                \
  XX(EXEC, "exec", "/exec and /containers/{id}/exec")                                              \
  XX(PING, "ping", "GET /_ping (negotiation, health)")                                             \
  XX(SYSTEM, "system", "/info, /version, /events, /system")                                        \
  XX(OTHER, "other", "anything else (volumes...)")

typedef enum dk_call_kind {
#define DK_CALL_KIND_ENUM(code, name, text) DK_CALL_##code,
  DK_CALL_KIND_MAP(DK_CALL_KIND_ENUM)
#undef DK_CALL_KIND_ENUM
      DK_CALL_KIND_COUNT
} dk_call_kind;

/* "container_create"...; "?" for a value outside the enum. */
const char *dk_call_kind_name(dk_call_kind kind);

/* The kind of a request: method ("GET", "POST"...) and path without the
 * /vX.Y prefix, query allowed ("/containers/abc/start?x=1"). NULL
 * arguments are DK_CALL_OTHER. */
dk_call_kind dk_call_kind_of(const char *method, const char *path);

/* A snapshot of a client's counters: out[kind] = the requests of that kind
 * sent so far. */
typedef struct dk_call_counts {
  uint64_t n[DK_CALL_KIND_COUNT];
} dk_call_counts;

void dk_client_counts(dk_call_counts *out, const dk_client *client);
/* The sum of every kind. */
uint64_t dk_call_counts_total(const dk_call_counts *counts);

#ifdef __cplusplus
}
#endif
#endif
