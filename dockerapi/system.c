/* System endpoints: ping, version, info, events. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "client_internal.h"
#include "dockerapi/stream.h"
#include "dockerapi/system.h"
#include "internal.h"

int dk_ping(dk_client *c, const dk_call *call) {
  dk__req req = {.method = "GET", .path = "/_ping", .unversioned = 1, .call = call};
  dk__resp resp;
  int rc = dk__do(c, &req, &resp);
  dk__resp_free(&resp);
  return rc;
}

/* ---- version, info --------------------------------------------------------- */

static const char *const engine_names[] = {"unknown", "docker", "podman"};

const char *dk_engine_kind_name(dk_engine_kind k) {
  return (unsigned)k < sizeof engine_names / sizeof *engine_names ? engine_names[k] : NULL;
}

dk_engine_kind dk_client_engine(const dk_client *c) { return (dk_engine_kind)c->engine; }

/* The product from /version's Components: Podman lists "Podman Engine",
 * Docker "Engine"; *version gets that component's Version. */
static dk_engine_kind engine_of(json_object *o, char **version, int *oom) {
  json_object *comps = dk__json_get(o, "Components");
  size_t n =
      comps && json_object_is_type(comps, json_type_array) ? json_object_array_length(comps) : 0;
  for (size_t i = 0; i < n; i++) {
    json_object *comp = json_object_array_get_idx(comps, i);
    json_object *name = dk__json_get(comp, "Name");
    const char *s =
        name && json_object_is_type(name, json_type_string) ? json_object_get_string(name) : "";
    dk_engine_kind k = !strcmp(s, "Podman Engine") ? DK_ENGINE_PODMAN
                       : !strcmp(s, "Engine")      ? DK_ENGINE_DOCKER
                                                   : DK_ENGINE_UNKNOWN;
    if (k != DK_ENGINE_UNKNOWN) {
      *version = dk__json_strdup_oom(comp, "Version", oom);
      return k;
    }
  }
  return DK_ENGINE_UNKNOWN;
}

void dk_version_free(dk_version *v) {
  if (!v)
    return;
  free(v->engine_version);
  free(v->version);
  free(v->api_version);
  free(v->min_api_version);
  free(v->os);
  free(v->arch);
  free(v->kernel_version);
  free(v->go_version);
  free(v);
}

int dk_system_version(dk_version **out, dk_client *c) {
  *out = NULL;
  json_object *o = NULL;
  int rc = dk__get_json(c, "/version", &o, NULL);
  if (rc)
    return rc;
  dk_version *v = calloc(1, sizeof *v);
  if (!v) {
    rc = dk__err(DK_ENOMEM, 0, NULL);
    goto cleanup;
  }
  v->version = dk__json_strdup(o, "Version");
  v->api_version = dk__json_strdup(o, "ApiVersion");
  v->min_api_version = dk__json_strdup(o, "MinAPIVersion");
  v->os = dk__json_strdup(o, "Os");
  v->arch = dk__json_strdup(o, "Arch");
  v->kernel_version = dk__json_strdup(o, "KernelVersion");
  v->go_version = dk__json_strdup(o, "GoVersion");
  if (!v->version || !v->api_version) {
    rc = dk__err(DK_EPROTO, 0, "version: the answer has no Version or ApiVersion");
    goto cleanup;
  }
  int oom = 0;
  v->engine = engine_of(o, &v->engine_version, &oom);
  if (v->engine == DK_ENGINE_UNKNOWN)
    v->engine = dk_client_engine(c);
  if (!v->engine_version && !oom)
    v->engine_version = strdup(v->version);
  if (!v->engine_version) {
    rc = dk__err(DK_ENOMEM, 0, NULL);
    goto cleanup;
  }
  *out = v;
  v = NULL;
cleanup:
  dk_version_free(v);
  json_object_put(o);
  return rc;
}

void dk_info_free(dk_info *i) {
  if (!i)
    return;
  free(i->name);
  free(i->server_version);
  free(i->storage_driver);
  free(i->cgroup_driver);
  free(i->cgroup_version);
  free(i->operating_system);
  free(i->default_runtime);
  free(i->docker_root_dir);
  free(i->raw_json);
  free(i);
}

/* DriverStatus is a list of [name, value] pairs; the containerd image store
 * reports its snapshotter as the driver type (what `docker info` prints). */
static bool containerd_store(json_object *status) {
  size_t n = json_object_is_type(status, json_type_array) ? json_object_array_length(status) : 0;
  for (size_t k = 0; k < n; k++) {
    json_object *pair = json_object_array_get_idx(status, k);
    if (!json_object_is_type(pair, json_type_array) || json_object_array_length(pair) != 2)
      continue;
    const char *name = json_object_get_string(json_object_array_get_idx(pair, 0));
    const char *value = json_object_get_string(json_object_array_get_idx(pair, 1));
    if (name && value && !strcmp(name, "driver-type") &&
        !strcmp(value, "io.containerd.snapshotter.v1"))
      return true;
  }
  return false;
}

int dk_system_info(dk_info **out, dk_client *c) {
  *out = NULL;
  json_object *o = NULL;
  int rc = dk__get_json(c, "/info", &o, NULL);
  if (rc)
    return rc;
  dk_info *i = calloc(1, sizeof *i);
  if (!i) {
    rc = dk__err(DK_ENOMEM, 0, NULL);
    goto cleanup;
  }
  i->name = dk__json_strdup(o, "Name");
  i->server_version = dk__json_strdup(o, "ServerVersion");
  i->storage_driver = dk__json_strdup(o, "Driver");
  i->cgroup_driver = dk__json_strdup(o, "CgroupDriver");
  /* CgroupVersion appeared with API 1.41; older engines only knew v1. */
  const char *cgv = dk__json_str(o, "CgroupVersion");
  i->cgroup_version = strdup(cgv && *cgv ? cgv : "1");
  i->operating_system = dk__json_strdup(o, "OperatingSystem");
  i->default_runtime = dk__json_strdup(o, "DefaultRuntime");
  i->docker_root_dir = dk__json_strdup(o, "DockerRootDir");
  i->containerd_store = containerd_store(dk__json_get(o, "DriverStatus"));
  i->ncpu = (int)dk__json_int64(o, "NCPU", 0);
  i->mem_total = dk__json_int64(o, "MemTotal", 0);
  i->containers = (int)dk__json_int64(o, "Containers", 0);
  i->containers_running = (int)dk__json_int64(o, "ContainersRunning", 0);
  i->images = (int)dk__json_int64(o, "Images", 0);
  i->raw_json = dk__json_text(o);
  if (!i->cgroup_version || !i->raw_json) {
    rc = dk__err(DK_ENOMEM, 0, NULL);
    goto cleanup;
  }
  if (!i->server_version) {
    rc = dk__err(DK_EPROTO, 0, "info: the answer has no ServerVersion");
    goto cleanup;
  }
  *out = i;
  i = NULL;
cleanup:
  dk_info_free(i);
  json_object_put(o);
  return rc;
}

/* ---- events ------------------------------------------------------------------ */

typedef struct events_state {
  dk_lines lines;
  dk_event_cb cb;
  void *ud;
} events_state;

static int event_line(void *ud, const char *line, size_t len) {
  events_state *s = ud;
  json_object *o = NULL;
  int rc = dk__parse_json(&o, line, len);
  if (rc)
    return rc;
  json_object *actor = NULL;
  json_object_object_get_ex(o, "Actor", &actor);
  dk_event ev = {
      .type = dk__json_str(o, "Type"),
      .action = dk__json_str(o, "Action"),
      .id = dk__json_str(actor, "ID"),
      .json = line,
  };
  json_object *t = NULL;
  if (json_object_object_get_ex(o, "timeNano", &t))
    ev.time_nano = json_object_get_int64(t);
  else if (json_object_object_get_ex(o, "time", &t))
    ev.time_nano = json_object_get_int64(t) * 1000000000;
  /* Before API 1.22 events had only status/id/from. */
  if (!ev.type)
    ev.type = "container";
  if (!ev.action)
    ev.action = dk__json_str(o, "status");
  if (!ev.id)
    ev.id = dk__json_str(o, "id");
  if (!ev.action)
    ev.action = "";
  if (!ev.id)
    ev.id = "";
  rc = s->cb ? s->cb(s->ud, &ev) : DK_OK;
  json_object_put(o);
  return rc;
}

static int events_data(void *ud, const char *data, size_t len) {
  events_state *s = ud;
  return dk_lines_feed(&s->lines, data, len);
}

static int events_query(dk_buf *q, const dk_events_opts *o) {
  int rc = DK_OK;
  if ((o->labels && *o->labels) || (o->types && *o->types)) {
    json_object *f = json_object_new_object();
    if (f && o->labels && *o->labels)
      json_object_object_add(f, "label", dk__json_strv(o->labels));
    if (f && o->types && *o->types)
      json_object_object_add(f, "type", dk__json_strv(o->types));
    rc = dk__query_filters(q, f);
  }
  if (!rc && o->since)
    rc = dk__query_int(q, "since", o->since);
  if (!rc && o->until)
    rc = dk__query_int(q, "until", o->until);
  return rc;
}

int dk_system_events(dk_client *c, const dk_events_opts *opts, dk_event_cb cb, void *ud,
                     const dk_call *call) {
  static const dk_events_opts none;
  if (!opts)
    opts = &none;
  /* Docker refuses it (400), Podman streams until the deadline: one answer. */
  if (opts->since && opts->until && opts->since > opts->until)
    return dk__err(DK_EINVAL, 0, "events: since (%lld) cannot be after until (%lld)",
                   (long long)opts->since, (long long)opts->until);
  dk_buf q = DK_BUF_INIT(64 * 1024);
  int rc = events_query(&q, opts);
  char *path = rc ? NULL : dk__path("/events%s", q.data ? q.data : "");
  dk_buf_free(&q);
  if (!path)
    return dk__err(rc ? rc : DK_ENOMEM, 0, "events: filters too large or out of memory");
  events_state s = {.cb = cb, .ud = ud};
  dk_lines_init(&s.lines, 0, event_line, &s);
  dk__req req = {.method = "GET",
                 .path = path,
                 .on_data = events_data,
                 .data_ud = &s,
                 .resp_max = 64 * 1024,
                 .call = call};
  dk__resp resp;
  rc = dk__do(c, &req, &resp);
  if (!rc)
    rc = dk_lines_finish(&s.lines);
  dk__resp_free(&resp);
  dk_lines_free(&s.lines);
  free(path);
  return rc;
}
