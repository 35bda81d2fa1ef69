/* libdockerapi — networks. */
#ifndef DOCKERAPI_NETWORKS_H
#define DOCKERAPI_NETWORKS_H

#include <stdbool.h>
#include <stddef.h>

#include "client.h"
#include "types.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dk_network_config {
  const char *driver; /* NULL = "bridge" */
  bool internal;      /* no route out of the network */
  bool attachable;
  bool enable_ipv6;
  bool check_duplicate;
  const dk_kv *labels;
  size_t nlabels;
  const dk_kv *options; /* driver options */
  size_t noptions;
  /* IPAM: a subnet in CIDR form ("10.240.3.8/29") and its gateway, or NULL
   * for the engine's default pools. An overlap with another network is
   * DK_EFORBIDDEN (403) on Docker 20.10+. */
  const char *subnet;
  const char *gateway;
} dk_network_config;

/* POST /networks/create. *id_out (malloc'd) belongs to the caller. */
int dk_network_create(char **id_out, dk_client *c, const char *name, const dk_network_config *cfg);
int dk_network_remove(dk_client *c, const char *id);
/* aliases: NULL-terminated or NULL. */
int dk_network_connect(dk_client *c, const char *network, const char *container,
                       const char *const *aliases);
int dk_network_disconnect(dk_client *c, const char *network, const char *container, bool force);

typedef struct dk_network_info {
  char *id;
  char *name;
  char *driver;
  bool internal;
  size_t ncontainers; /* endpoints attached */
  char *raw_json;
} dk_network_info;

int dk_network_inspect(dk_network_info **out, dk_client *c, const char *id);
void dk_network_info_free(dk_network_info *n);

typedef struct dk_network_list {
  dk_network_info *items; /* raw_json is NULL in list items */
  size_t count;
} dk_network_list;

int dk_network_list_by_label(dk_network_list **out, dk_client *c, const char *const *labels);
void dk_network_list_free(dk_network_list *l);
/* POST /networks/prune: removes unused networks with these labels (at least
 * one is required: DK_EINVAL otherwise). */
int dk_network_prune(size_t *deleted, dk_client *c, const char *const *labels);

#ifdef __cplusplus
}
#endif
#endif
