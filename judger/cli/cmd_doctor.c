/* judger doctor — checks the connection to the Docker engine the way every
 * other command makes it (dk_client_new from the environment) and prints what
 * the judger depends on: versions (the engine's API range, the negotiated
 * one), the image store, host, TLS, storage and cgroups.
 *
 * Exit codes: 0 engine reachable; 2 bad command line or DOCKER_* variables
 * (a malformed DOCKER_HOST, a DOCKER_API_VERSION the engine refuses); 3
 * engine unreachable or failing. Failures are ONE line on stderr: the
 * library's message already names the host and the likely cause. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cli/commands.h"
#include "common/clock.h"
#include "dockerapi/dockerapi.h"

#define DOCTOR_TIMEOUT_MS 10000

static void usage(FILE *f) {
  fprintf(f, "usage: judger doctor [--json]\n\n"
             "Connects to the Docker engine from DOCKER_HOST, DOCKER_TLS_VERIFY,\n"
             "DOCKER_CERT_PATH and DOCKER_API_VERSION (as the docker CLI does) and\n"
             "prints the engine's version, its API range and the negotiated API\n"
             "version, whether the image store is containerd's, the host, TLS,\n"
             "storage driver, cgroup driver and version, CPUs and memory.\n"
             "  --json   one JSON object on stdout instead of text\n"
             "Exit: 0 ok, 2 bad usage or DOCKER_* variables, 3 engine unreachable.\n");
}

static const char *last_message(int rc) {
  const dk_error *e = dk_error_last();
  return e && e->message && *e->message ? e->message : dk_strerror(rc);
}

static const char *str_or(const char *s, const char *dflt) { return s && *s ? s : dflt; }

/* Everything doctor reports, gathered before anything is printed so a
 * failure halfway never leaves half a report on stdout. */
typedef struct report {
  const char *host;
  bool tls;
  const char *api_version;
  bool api_pinned;
  dk_version *version;
  dk_info *info;
} report;

static void print_text(const report *r) {
  const dk_version *v = r->version;
  const dk_info *i = r->info;
  printf("engine version:  %s (API %s, min %s) %s/%s, kernel %s\n", v->version, v->api_version,
         str_or(v->min_api_version, "?"), str_or(v->os, "?"), str_or(v->arch, "?"),
         str_or(v->kernel_version, "?"));
  printf("api version:     %s (%s)\n", r->api_version,
         r->api_pinned ? "pinned by DOCKER_API_VERSION" : "negotiated");
  printf("api range:       engine %s to %s, libdockerapi %s to %s\n",
         str_or(v->min_api_version, "?"), v->api_version, DK_API_VERSION_MIN, DK_API_VERSION_MAX);
  if (i->containerd_store)
    printf("image store:     containerd (snapshotter %s)\n", str_or(i->storage_driver, "?"));
  else
    printf("image store:     graph driver (%s)\n", str_or(i->storage_driver, "?"));
  printf("host:            %s\n", r->host);
  printf("tls:             %s\n", r->tls ? "yes" : "no");
  printf("storage driver:  %s\n", str_or(i->storage_driver, "?"));
  printf("cgroup:          driver %s, version %s\n", str_or(i->cgroup_driver, "?"),
         i->cgroup_version);
  printf("default runtime: %s\n", str_or(i->default_runtime, "?"));
  printf("cpus:            %d\n", i->ncpu);
  printf("memory:          %.1f GiB (%lld bytes)\n", (double)i->mem_total / (1 << 30),
         (long long)i->mem_total);
  printf("os:              %s\n", str_or(i->operating_system, "?"));
}

static json_object *jstr(const char *s) { return s ? json_object_new_string(s) : NULL; }

static void print_json(const report *r) {
  const dk_version *v = r->version;
  const dk_info *i = r->info;
  json_object *o = json_object_new_object();
  json_object_object_add(o, "engine_version", jstr(v->version));
  json_object_object_add(o, "engine_api_version", jstr(v->api_version));
  json_object_object_add(o, "engine_min_api_version", jstr(v->min_api_version));
  json_object_object_add(o, "api_version", jstr(r->api_version));
  json_object_object_add(o, "api_version_pinned", json_object_new_boolean(r->api_pinned));
  json_object_object_add(o, "client_api_version_min", jstr(DK_API_VERSION_MIN));
  json_object_object_add(o, "client_api_version_max", jstr(DK_API_VERSION_MAX));
  json_object_object_add(o, "containerd_image_store", json_object_new_boolean(i->containerd_store));
  json_object_object_add(o, "host", jstr(r->host));
  json_object_object_add(o, "tls", json_object_new_boolean(r->tls));
  json_object_object_add(o, "os", jstr(v->os));
  json_object_object_add(o, "arch", jstr(v->arch));
  json_object_object_add(o, "kernel_version", jstr(v->kernel_version));
  json_object_object_add(o, "storage_driver", jstr(i->storage_driver));
  json_object_object_add(o, "cgroup_driver", jstr(i->cgroup_driver));
  json_object_object_add(o, "cgroup_version", jstr(i->cgroup_version));
  json_object_object_add(o, "default_runtime", jstr(i->default_runtime));
  json_object_object_add(o, "operating_system", jstr(i->operating_system));
  json_object_object_add(o, "ncpu", json_object_new_int(i->ncpu));
  json_object_object_add(o, "mem_total", json_object_new_int64(i->mem_total));
  printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
                                                       JSON_C_TO_STRING_NOSLASHESCAPE));
  json_object_put(o);
}

int jd_cmd_doctor(int argc, char **argv) {
  bool as_json = false;
  for (int k = 1; k < argc; k++) {
    if (!strcmp(argv[k], "--json")) {
      as_json = true;
    } else if (!strcmp(argv[k], "--help") || !strcmp(argv[k], "-h")) {
      usage(stdout);
      return JD_EXIT_OK;
    } else {
      fprintf(stderr, "judger doctor: unknown option '%s' (try --help)\n", argv[k]);
      return JD_EXIT_USAGE;
    }
  }

  dk_client_opts env;
  dk_client_opts_from_env(&env);
  dk_client *c = NULL;
  report r = {0};
  int code = JD_EXIT_SYSTEM;
  /* NULL opts: exactly what every other judger command does. */
  int rc = dk_client_new(&c, NULL);
  if (rc) {
    fprintf(stderr, "judger doctor: %s\n", last_message(rc));
    return rc == DK_ENOMEM ? JD_EXIT_SYSTEM : JD_EXIT_USAGE;
  }
  dk_call call = {.deadline_ms = jd_mono_ms() + DOCTOR_TIMEOUT_MS};
  rc = dk_ping(c, &call);
  if (!rc)
    rc = dk_client_api_version(&r.api_version, c);
  if (!rc)
    rc = dk_system_version(&r.version, c);
  if (!rc)
    rc = dk_system_info(&r.info, c);
  if (rc == DK_ETIMEDOUT) {
    fprintf(stderr, "judger doctor: no answer from the Docker engine at %s within %d s\n",
            dk_client_host(c), DOCTOR_TIMEOUT_MS / 1000);
    goto cleanup;
  }
  if (rc == DK_EBADREQ && env.api_version) {
    /* The engine refuses the pinned version: the user's setting is wrong. */
    fprintf(stderr, "judger doctor: DOCKER_API_VERSION=%s: %s\n", env.api_version,
            last_message(rc));
    code = JD_EXIT_USAGE;
    goto cleanup;
  }
  if (rc) {
    fprintf(stderr, "judger doctor: %s\n", last_message(rc));
    goto cleanup;
  }
  r.host = dk_client_host(c);
  r.tls = dk_client_tls(c);
  r.api_pinned = env.api_version != NULL;
  if (as_json)
    print_json(&r);
  else
    print_text(&r);
  code = fflush(stdout) == 0 ? JD_EXIT_OK : JD_EXIT_SYSTEM;
cleanup:
  dk_version_free(r.version);
  dk_info_free(r.info);
  dk_client_free(c);
  return code;
}
