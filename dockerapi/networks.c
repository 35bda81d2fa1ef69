/* Networks: create, remove, connect/disconnect, inspect, list, prune. */
#include <stdlib.h>
#include <string.h>

#include "dockerapi/networks.h"
#include "dockerapi/system.h"
#include "internal.h"
#include "negotiate.h"

/* "/networks/{id}{suffix}{query}" with the id escaped; NULL on OOM. */
static char *npath(const char *id, const char *suffix, const dk_buf *q) {
  return dk__object_path("networks", id, suffix, q);
}

int dk_network_create(char **id_out, dk_client *c, const char *name, const dk_network_config *cfg) {
  *id_out = NULL;
  if (!name)
    return dk__err(DK_EINVAL, 0, "network create: a name is needed");
  static const dk_network_config defaults = {0};
  const dk_network_config *n = cfg ? cfg : &defaults;
  int oom = 0;
  json_object *body = json_object_new_object(), *o = NULL;
  dk__json_put(&oom, body, "Name", json_object_new_string(name));
  dk__json_put(&oom, body, "Driver", json_object_new_string(n->driver ? n->driver : "bridge"));
  /* Booleans are always sent: their zero value is the engine's default too,
   * and an explicit false documents the request. */
  dk__json_put(&oom, body, "Internal", json_object_new_boolean(n->internal));
  dk__json_put(&oom, body, "Attachable", json_object_new_boolean(n->attachable));
  dk__json_put(&oom, body, "EnableIPv6", json_object_new_boolean(n->enable_ipv6));
  /* API 1.44 made duplicate names always fail and deprecated the field. */
  if (!dk__api_since(c, "1.44"))
    dk__json_put(&oom, body, "CheckDuplicate", json_object_new_boolean(n->check_duplicate));
  if (n->labels && n->nlabels)
    dk__json_put(&oom, body, "Labels", dk__json_kv(&oom, n->labels, n->nlabels));
  if (n->options && n->noptions)
    dk__json_put(&oom, body, "Options", dk__json_kv(&oom, n->options, n->noptions));
  if (n->subnet) {
    json_object *ipam = json_object_new_object(), *cfgs = json_object_new_array(),
                *pool = json_object_new_object();
    dk__json_put(&oom, pool, "Subnet", json_object_new_string(n->subnet));
    if (n->gateway)
      dk__json_put(&oom, pool, "Gateway", json_object_new_string(n->gateway));
    if (!ipam || !cfgs || !pool || json_object_array_add(cfgs, pool)) {
      oom = 1;
      json_object_put(pool);
    }
    dk__json_put(&oom, ipam, "Config", cfgs);
    dk__json_put(&oom, body, "IPAM", ipam);
  }
  int rc;
  if (oom) {
    rc = dk__err(DK_ENOMEM, 0, NULL);
    goto cleanup;
  }
  rc = dk__send_json(c, "POST", "/networks/create", body, &o, NULL);
  if (rc)
    goto cleanup;
  *id_out = dk__json_strdup(o, "Id");
  if (!*id_out)
    rc = dk__err(DK_EPROTO, 200, "network create: answer without an Id");
cleanup:
  json_object_put(o);
  json_object_put(body);
  return rc;
}

/* Podman (4.3.1 measured) checks a network's containers only when the
 * network is named by its name: named by its id, one in use is removed
 * and its containers keep a dangling attachment. So on Podman the name,
 * from an inspect, is what is removed (in use: 403 as on Docker). */
static int removable_name(char **name, dk_client *c, const char *id) {
  *name = NULL;
  if (dk__negotiate(c) != DK_OK || dk_client_engine(c) != DK_ENGINE_PODMAN)
    return DK_OK; /* a failed negotiation comes back from the removal */
  dk_network_info *n = NULL;
  int rc = dk_network_inspect(&n, c, id);
  if (!rc) {
    *name = n->name;
    n->name = NULL;
  }
  dk_network_info_free(n);
  return rc;
}

int dk_network_remove(dk_client *c, const char *id) {
  if (!id)
    return dk__err(DK_EINVAL, 0, "network id missing");
  char *name = NULL;
  int rc = removable_name(&name, c, id);
  if (rc)
    return rc;
  char *path = npath(name ? name : id, "", NULL);
  free(name);
  if (!path)
    return dk__err(DK_ENOMEM, 0, NULL);
  rc = dk__send_empty(c, "DELETE", path, NULL);
  free(path);
  return rc;
}

/* POST /networks/{id}{verb} with body plus "Container". Takes ownership of
 * body; oom carries an allocation failure from building it. */
static int connect_call(dk_client *c, const char *network, const char *verb, const char *container,
                        json_object *body, int oom) {
  int rc;
  char *path = NULL;
  if (!network || !container) {
    rc = dk__err(DK_EINVAL, 0, "network %s: network and container are needed", verb);
    goto cleanup;
  }
  dk__json_put(&oom, body, "Container", json_object_new_string(container));
  path = npath(network, verb, NULL);
  if (oom || !path) {
    rc = dk__err(DK_ENOMEM, 0, NULL);
    goto cleanup;
  }
  rc = dk__send_json(c, "POST", path, body, NULL, NULL);
cleanup:
  free(path);
  json_object_put(body);
  return rc;
}

int dk_network_connect(dk_client *c, const char *network, const char *container,
                       const char *const *aliases) {
  int oom = 0;
  json_object *body = json_object_new_object();
  if (aliases) {
    json_object *ep = json_object_new_object();
    json_object *a = dk__json_strv(aliases);
    dk__json_put(&oom, ep, "Aliases", a);
    dk__json_put(&oom, body, "EndpointConfig", ep);
  }
  return connect_call(c, network, "/connect", container, body, oom);
}

int dk_network_disconnect(dk_client *c, const char *network, const char *container, bool force) {
  int oom = 0;
  json_object *body = json_object_new_object();
  if (force)
    dk__json_put(&oom, body, "Force", json_object_new_boolean(1));
  return connect_call(c, network, "/disconnect", container, body, oom);
}

static void info_clear(dk_network_info *n) {
  free(n->id);
  free(n->name);
  free(n->driver);
  free(n->raw_json);
}

void dk_network_info_free(dk_network_info *n) {
  if (!n)
    return;
  info_clear(n);
  free(n);
}

/* Fills n from one network object of the engine (inspect or list item). */
static int info_fill(dk_network_info *n, json_object *o, int *oom) {
  json_object *v = NULL;
  if (!json_object_is_type(o, json_type_object) || !dk__json_str(o, "Id"))
    return dk__err(DK_EPROTO, 200, "network: answer without an Id");
  n->id = dk__json_strdup_oom(o, "Id", oom);
  n->name = dk__json_strdup_oom(o, "Name", oom);
  n->driver = dk__json_strdup_oom(o, "Driver", oom);
  n->internal = json_object_object_get_ex(o, "Internal", &v) && json_object_get_boolean(v);
  if (json_object_object_get_ex(o, "Containers", &v) && json_object_is_type(v, json_type_object))
    n->ncontainers = (size_t)json_object_object_length(v);
  return DK_OK;
}

int dk_network_inspect(dk_network_info **out, dk_client *c, const char *id) {
  *out = NULL;
  if (!id)
    return dk__err(DK_EINVAL, 0, "network id missing");
  char *path = npath(id, "", NULL);
  if (!path)
    return dk__err(DK_ENOMEM, 0, NULL);
  json_object *o = NULL;
  dk_network_info *n = NULL;
  int oom = 0;
  int rc = dk__get_json(c, path, &o, NULL);
  if (rc)
    goto cleanup;
  n = calloc(1, sizeof *n);
  if (!n) {
    rc = dk__err(DK_ENOMEM, 0, NULL);
    goto cleanup;
  }
  rc = info_fill(n, o, &oom);
  if (rc)
    goto cleanup;
  n->raw_json = dk__json_text(o);
  if (oom || !n->raw_json) {
    rc = dk__err(DK_ENOMEM, 0, NULL);
    goto cleanup;
  }
  *out = n;
  n = NULL;
cleanup:
  dk_network_info_free(n);
  json_object_put(o);
  free(path);
  return rc;
}

void dk_network_list_free(dk_network_list *l) {
  if (!l)
    return;
  for (size_t i = 0; i < l->count; i++)
    info_clear(&l->items[i]);
  free(l->items);
  free(l);
}

int dk_network_list_by_label(dk_network_list **out, dk_client *c, const char *const *labels) {
  *out = NULL;
  dk_buf q = DK_BUF_INIT(8192);
  int rc = dk__query_label_filters(&q, labels);
  char *path = rc ? NULL : dk__path("/networks%s", q.data ? q.data : "");
  dk_buf_free(&q);
  if (!path)
    return dk__err(rc ? rc : DK_ENOMEM, 0, NULL);
  json_object *o = NULL;
  dk_network_list *l = NULL;
  int oom = 0;
  size_t n = 0;
  rc = dk__get_json_array(&o, &n, c, path, "network list");
  if (rc)
    goto cleanup;
  l = calloc(1, sizeof *l);
  if (!l || (n && !(l->items = calloc(n, sizeof *l->items)))) {
    rc = dk__err(DK_ENOMEM, 0, NULL);
    goto cleanup;
  }
  for (size_t i = 0; i < n && !rc; i++)
    rc = info_fill(&l->items[l->count++], json_object_array_get_idx(o, i), &oom);
  if (!rc && oom)
    rc = dk__err(DK_ENOMEM, 0, NULL);
  if (rc)
    goto cleanup;
  *out = l;
  l = NULL;
cleanup:
  dk_network_list_free(l);
  json_object_put(o);
  free(path);
  return rc;
}

int dk_network_prune(size_t *deleted, dk_client *c, const char *const *labels) {
  return dk__prune_by_label(deleted, c, "networks", labels, "NetworksDeleted");
}
