/* libdockerapi — system endpoints: ping, version, info, events. */
#ifndef DOCKERAPI_SYSTEM_H
#define DOCKERAPI_SYSTEM_H

#include <stdbool.h>
#include <stdint.h>

#include "client.h"

#ifdef __cplusplus
extern "C" {
#endif

/* GET /_ping; answers DK_OK when the engine is up. */
int dk_ping(dk_client *c, const dk_call *call);

/* Which product answers the Engine API. Podman's `podman system service`
 * speaks the Docker API (its "compat" endpoints) with differences a client
 * must know: docs/engines.md. One name table: dk_engine_kind_name. */
typedef enum dk_engine_kind {
  DK_ENGINE_UNKNOWN = 0,
  DK_ENGINE_DOCKER,
  DK_ENGINE_PODMAN,
} dk_engine_kind;

/* "unknown", "docker", "podman"; NULL past the enum. */
const char *dk_engine_kind_name(dk_engine_kind k);

/* The engine this client talks to, as the first answer showed it (the
 * negotiating /_ping, or any first answer when the API version is pinned):
 * a Libpod-Api-Version header or "Server: Libpod/<v>" is Podman, an
 * Api-Version or "Server: Docker/<v>" without them Docker.
 * DK_ENGINE_UNKNOWN before any answer, or when none said. Thread-safe;
 * dk_system_version() tells the product's version too. */
dk_engine_kind dk_client_engine(const dk_client *c);

typedef struct dk_version {
  /* The product, from /version's Components ("Podman Engine" or "Engine"),
   * falling back to what /_ping showed. */
  dk_engine_kind engine;
  /* The product's own version: Podman's "4.3.1" (its Components entry),
   * Docker's "26.1.5"; never NULL in an answer. */
  char *engine_version;
  char *version;     /* engine version, "20.10.24" */
  char *api_version; /* engine's max API, "1.41" */
  char *min_api_version;
  char *os, *arch, *kernel_version, *go_version;
} dk_version;
int dk_system_version(dk_version **out, dk_client *c);
void dk_version_free(dk_version *v);

typedef struct dk_info {
  char *name; /* host name of the engine */
  char *server_version;
  char *storage_driver; /* "overlay2", "vfs" */
  char *cgroup_driver;  /* "cgroupfs", "systemd" */
  char *cgroup_version; /* "1" or "2" */
  char *operating_system;
  char *default_runtime;
  char *docker_root_dir; /* DockerRootDir: the engine's data root, "/var/lib/docker" */
  /* The containerd image store (Docker 29's default; "containerd-snapshotter"
   * before): images, ids and build results are containerd's. From /info's
   * DriverStatus ["driver-type", "io.containerd.snapshotter.v1"]. */
  bool containerd_store;
  int ncpu;
  int64_t mem_total;
  int containers, containers_running, images;
  char *raw_json; /* the whole answer */
} dk_info;
int dk_system_info(dk_info **out, dk_client *c);
void dk_info_free(dk_info *i);

/* One engine event (GET /events). */
typedef struct dk_event {
  const char *type;   /* "container", "network", "image"... */
  const char *action; /* "start", "die", "destroy"... */
  const char *id;     /* Actor.ID */
  int64_t time_nano;
  const char *json; /* the whole line */
} dk_event;

/* Return non-zero from the callback to stop; that value is returned. */
typedef int (*dk_event_cb)(void *ud, const dk_event *ev);

typedef struct dk_events_opts {
  const char *const *labels; /* NULL-terminated "k=v" filters, or NULL */
  const char *const *types;  /* NULL-terminated "container", "network"... */
  /* unix seconds; 0 = not set. since after until is DK_EINVAL, nothing
   * sent (Docker would answer 400, Podman stream until the deadline). */
  int64_t since, until;
} dk_events_opts;

/* Streams events until the callback stops, `until` passes, the call's
 * deadline passes (DK_ETIMEDOUT) or it is canceled (DK_ECANCELED). */
int dk_system_events(dk_client *c, const dk_events_opts *opts, dk_event_cb cb, void *ud,
                     const dk_call *call);

#ifdef __cplusplus
}
#endif
#endif
