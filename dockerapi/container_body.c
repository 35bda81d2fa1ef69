/* The JSON body of POST /containers/create, built from a
 * dk_container_config: only the fields that are set, so the engine applies
 * its own defaults for the rest. */
#include <stdbool.h>
#include <stdint.h>

#include "container_body.h"
#include "json.h"

/* json-c returns NULL when out of memory; every add goes through jb_put so a
 * failed allocation is remembered once and reported after the body is built,
 * instead of checking each of the ~40 fields. */

typedef struct jb {
  int oom;
} jb;

static void jb_put(jb *b, json_object *o, const char *key, json_object *v) {
  dk__json_put(&b->oom, o, key, v);
}

/* Unset (NULL / 0 / false) fields are omitted so the engine applies its own
 * defaults, exactly as the header promises. */
static void jb_str(jb *b, json_object *o, const char *key, const char *v) {
  if (v)
    jb_put(b, o, key, json_object_new_string(v));
}

static void jb_i64(jb *b, json_object *o, const char *key, int64_t v) {
  if (v)
    jb_put(b, o, key, json_object_new_int64(v));
}

static void jb_true(jb *b, json_object *o, const char *key, bool v) {
  if (v)
    jb_put(b, o, key, json_object_new_boolean(1));
}

static void jb_strv(jb *b, json_object *o, const char *key, const char *const *v) {
  if (!v)
    return;
  json_object *a = json_object_new_array();
  for (const char *const *p = v; a && *p; p++) {
    json_object *s = json_object_new_string(*p);
    if (!s || json_object_array_add(a, s) != 0) {
      json_object_put(s);
      b->oom = 1;
    }
  }
  jb_put(b, o, key, a);
}

static void jb_kv(jb *b, json_object *o, const char *key, const dk_kv *kv, size_t n) {
  if (!kv || !n)
    return;
  jb_put(b, o, key, dk__json_kv(&b->oom, kv, n));
}

static json_object *host_config_json(jb *b, const dk_host_config *h) {
  json_object *o = json_object_new_object();
  if (!o) {
    b->oom = 1;
    return NULL;
  }
  jb_i64(b, o, "NanoCpus", h->nano_cpus);
  jb_i64(b, o, "CpuQuota", h->cpu_quota);
  jb_i64(b, o, "CpuPeriod", h->cpu_period);
  jb_str(b, o, "CpusetCpus", h->cpuset_cpus);
  jb_i64(b, o, "Memory", h->memory);
  jb_i64(b, o, "MemorySwap", h->memory_swap);
  jb_i64(b, o, "PidsLimit", h->pids_limit);
  if (h->ulimits && h->nulimits) {
    json_object *a = json_object_new_array();
    for (size_t i = 0; a && i < h->nulimits; i++) {
      json_object *u = json_object_new_object();
      jb_str(b, u, "Name", h->ulimits[i].name);
      jb_put(b, u, "Soft", json_object_new_int64(h->ulimits[i].soft));
      jb_put(b, u, "Hard", json_object_new_int64(h->ulimits[i].hard));
      if (!u || json_object_array_add(a, u) != 0) {
        json_object_put(u);
        b->oom = 1;
      }
    }
    jb_put(b, o, "Ulimits", a);
  }
  jb_true(b, o, "ReadonlyRootfs", h->readonly_rootfs);
  jb_kv(b, o, "Tmpfs", h->tmpfs, h->ntmpfs);
  jb_strv(b, o, "Binds", h->binds);
  jb_strv(b, o, "CapDrop", h->cap_drop);
  jb_strv(b, o, "CapAdd", h->cap_add);
  jb_strv(b, o, "SecurityOpt", h->security_opt);
  jb_str(b, o, "NetworkMode", h->network_mode);
  if (h->init)
    jb_put(b, o, "Init", json_object_new_boolean(h->init > 0));
  jb_true(b, o, "Privileged", h->privileged);
  jb_true(b, o, "AutoRemove", h->auto_remove);
  if (h->log_type || (h->log_opts && h->nlog_opts)) {
    json_object *lc = json_object_new_object();
    jb_str(b, lc, "Type", h->log_type);
    jb_kv(b, lc, "Config", h->log_opts, h->nlog_opts);
    jb_put(b, o, "LogConfig", lc);
  }
  jb_str(b, o, "Runtime", h->runtime);
  jb_i64(b, o, "ShmSize", h->shm_size);
  /* An empty (non-NULL) list is meaningful here: "no DNS servers". */
  jb_strv(b, o, "Dns", h->dns);
  jb_strv(b, o, "ExtraHosts", h->extra_hosts);
  jb_kv(b, o, "Sysctls", h->sysctls, h->nsysctls);
  return o;
}

static json_object *create_body(jb *b, const dk_container_config *cfg) {
  json_object *o = json_object_new_object();
  if (!o) {
    b->oom = 1;
    return NULL;
  }
  jb_str(b, o, "Image", cfg->image);
  jb_strv(b, o, "Cmd", cfg->cmd);
  jb_strv(b, o, "Entrypoint", cfg->entrypoint);
  jb_strv(b, o, "Env", cfg->env);
  jb_str(b, o, "User", cfg->user);
  jb_str(b, o, "WorkingDir", cfg->working_dir);
  jb_str(b, o, "Hostname", cfg->hostname);
  jb_kv(b, o, "Labels", cfg->labels, cfg->nlabels);
  jb_true(b, o, "Tty", cfg->tty);
  jb_true(b, o, "OpenStdin", cfg->open_stdin);
  jb_true(b, o, "StdinOnce", cfg->stdin_once);
  jb_true(b, o, "NetworkDisabled", cfg->network_disabled);
  jb_i64(b, o, "StopTimeout", cfg->stop_timeout);
  jb_str(b, o, "StopSignal", cfg->stop_signal);
  jb_put(b, o, "HostConfig", host_config_json(b, &cfg->host));
  if (cfg->aliases) {
    json_object *nc = json_object_new_object();
    json_object *eps = json_object_new_object();
    json_object *ep = json_object_new_object();
    jb_strv(b, ep, "Aliases", cfg->aliases);
    jb_put(b, eps, cfg->host.network_mode, ep);
    jb_put(b, nc, "EndpointsConfig", eps);
    jb_put(b, o, "NetworkingConfig", nc);
  }
  return o;
}

json_object *dk__container_create_body(int *oom, const dk_container_config *cfg) {
  jb b = {0};
  json_object *o = create_body(&b, cfg);
  *oom = b.oom;
  return o;
}
