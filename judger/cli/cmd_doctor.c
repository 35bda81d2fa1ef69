/* judger doctor — checks the connection to the Docker engine the way every
 * other command makes it (dk_client_new from the environment) and prints what
 * the judger depends on: versions (the engine's API range, the negotiated
 * one), the image store, host, TLS, storage and cgroups; and which engine
 * it is (Docker, Podman) with each guarantee of docs/security.md it keeps,
 * lacks (and the work the judger then refuses) or lacks with the operator's
 * engine_accept (read as the other commands read their settings).
 *
 * Exit codes: 0 engine reachable (even when it lacks guarantees: doctor
 * reports, the commands refuse); 2 bad command line, settings or DOCKER_*
 * variables (a malformed DOCKER_HOST, a DOCKER_API_VERSION the engine
 * refuses); 3 engine unreachable or failing. Failures are ONE line on
 * stderr: the library's message already names the host and the likely
 * cause. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cli/commands.h"
#include "cli/settings.h"
#include "common/clock.h"
#include "common/engine.h"
#include "common/utf8.h"
#include "dockerapi/dockerapi.h"

#define DOCTOR_TIMEOUT_MS 10000

static void usage(FILE *f) {
  fprintf(f, "usage: judger doctor [--json] [--config FILE] [--engine-accept LIST]\n\n"
             "Connects to the Docker engine from DOCKER_HOST, DOCKER_TLS_VERIFY,\n"
             "DOCKER_CERT_PATH and DOCKER_API_VERSION (as the docker CLI does) and\n"
             "prints which engine it is (docker, podman) and its version, its API range\n"
             "and the negotiated API version, whether the image store is containerd's,\n"
             "the host, TLS, storage driver, cgroup driver and version, CPUs and memory;\n"
             "then each guarantee of docs/security.md: kept, NOT kept (the work the\n"
             "judger refuses on this engine) or NOT kept and accepted by engine_accept.\n"
             "  --json                one JSON object on stdout instead of text\n"
             "  --config FILE         the settings file (default $JUDGER_CONFIG, else\n"
             "                        " JD_SETTINGS_FILE_DEFAULT " when it exists)\n"
             "  --engine-accept LIST  the engine_accept setting ($JUDGER_ENGINE_ACCEPT):\n"
             "                        guarantees accepted as lacking (docs/security.md)\n"
             "Exit: 0 ok (lacking guarantees included), 2 bad usage, settings or DOCKER_*\n"
             "variables, 3 engine unreachable.\n");
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
  jd_engine engine;       /* the product and the guarantees it keeps */
  unsigned accepted;      /* engine_accept's mask */
  const char *accept_set; /* engine_accept as set ("" when not) */
} report;

/* The work refused on this engine, each kind once, into out; how many. */
static size_t refused_work(const char *out[JD_GUARANTEE_COUNT], const report *r) {
  size_t n = 0;
  for (int g = 0; g < JD_GUARANTEE_COUNT; g++) {
    const char *w = jd_guarantee_refuses(g);
    if (jd_engine_state(&r->engine, g, r->accepted) != JD_GUARANTEE_LACKING)
      continue;
    size_t k = 0;
    while (k < n && strcmp(out[k], w))
      k++;
    if (k == n)
      out[n++] = w;
  }
  return n;
}

static void print_guarantees_text(const report *r) {
  const jd_engine *e = &r->engine;
  printf("guarantees:      docs/security.md \"Engines\"; engine_accept=%s\n",
         *r->accept_set ? r->accept_set : "(none)");
  for (int g = 0; g < JD_GUARANTEE_COUNT; g++) {
    jd_guarantee_state st = jd_engine_state(e, g, r->accepted);
    if (st == JD_GUARANTEE_KEPT)
      printf("  %-17s kept: %s\n", jd_guarantee_name(g), jd_guarantee_text(g));
    else if (st == JD_GUARANTEE_ACCEPTED)
      printf("  %-17s NOT kept, accepted by engine_accept: %s\n", jd_guarantee_name(g), e->gap[g]);
    else
      printf("  %-17s NOT kept, %s refused: %s\n", jd_guarantee_name(g), jd_guarantee_refuses(g),
             e->gap[g]);
  }
  const char *work[JD_GUARANTEE_COUNT];
  size_t n = refused_work(work, r);
  if (!n) {
    printf("refused work:    none\n");
    return;
  }
  char accept[128];
  /* the refused ones plus the accepted: the engine_accept that runs all */
  jd_guarantee_names(accept, sizeof accept, (r->engine.lacking | r->accepted) & JD_GUARANTEE_ALL);
  printf("refused work:    ");
  for (size_t k = 0; k < n; k++)
    printf("%s%s", k ? ", " : "", work[k]);
  printf(" (engine_accept=%s runs them anyway)\n", accept);
}

/* Every string here is the engine's: cleaned for the terminal. */
static void print_text(const report *r) {
  const dk_version *v = r->version;
  const dk_info *i = r->info;
  jd_term_printf(stdout, "engine:          %s %s\n", dk_engine_kind_name(r->engine.kind),
                 r->engine.version);
  jd_term_printf(stdout, "engine version:  %s (API %s, min %s) %s/%s, kernel %s\n", v->version,
                 v->api_version, str_or(v->min_api_version, "?"), str_or(v->os, "?"),
                 str_or(v->arch, "?"), str_or(v->kernel_version, "?"));
  jd_term_printf(stdout, "api version:     %s (%s)\n", r->api_version,
                 r->api_pinned ? "pinned by DOCKER_API_VERSION" : "negotiated");
  jd_term_printf(stdout, "api range:       engine %s to %s, libdockerapi %s to %s\n",
                 str_or(v->min_api_version, "?"), v->api_version, DK_API_VERSION_MIN,
                 DK_API_VERSION_MAX);
  if (i->containerd_store)
    jd_term_printf(stdout, "image store:     containerd (snapshotter %s)\n",
                   str_or(i->storage_driver, "?"));
  else
    jd_term_printf(stdout, "image store:     graph driver (%s)\n", str_or(i->storage_driver, "?"));
  jd_term_printf(stdout, "host:            %s\n", r->host);
  jd_term_printf(stdout, "tls:             %s\n", r->tls ? "yes" : "no");
  jd_term_printf(stdout, "storage driver:  %s\n", str_or(i->storage_driver, "?"));
  jd_term_printf(stdout, "cgroup:          driver %s, version %s\n", str_or(i->cgroup_driver, "?"),
                 i->cgroup_version);
  jd_term_printf(stdout, "default runtime: %s\n", str_or(i->default_runtime, "?"));
  jd_term_printf(stdout, "cpus:            %d\n", i->ncpu);
  jd_term_printf(stdout, "memory:          %.1f GiB (%lld bytes)\n",
                 (double)i->mem_total / (1 << 30), (long long)i->mem_total);
  jd_term_printf(stdout, "os:              %s\n", str_or(i->operating_system, "?"));
  print_guarantees_text(r);
}

static json_object *jstr(const char *s) { return s ? json_object_new_string(s) : NULL; }

/* "guarantees": {name: {state, holds, gap, refuses}}, "refused_work": [...]. */
static void add_guarantees_json(json_object *o, const report *r) {
  json_object *gs = json_object_new_object();
  json_object *work = json_object_new_array();
  for (int g = 0; g < JD_GUARANTEE_COUNT; g++) {
    jd_guarantee_state st = jd_engine_state(&r->engine, g, r->accepted);
    json_object *one = json_object_new_object();
    json_object_object_add(one, "state", jstr(jd_guarantee_state_name(st)));
    json_object_object_add(one, "holds", jstr(jd_guarantee_text(g)));
    json_object_object_add(one, "gap", jstr(r->engine.gap[g]));
    json_object_object_add(one, "refuses", jstr(jd_guarantee_refuses(g)));
    json_object_object_add(gs, jd_guarantee_name(g), one);
  }
  const char *refused[JD_GUARANTEE_COUNT];
  size_t n = refused_work(refused, r);
  for (size_t k = 0; k < n; k++)
    json_object_array_add(work, json_object_new_string(refused[k]));
  json_object_object_add(o, "guarantees", gs);
  json_object_object_add(o, "refused_work", work);
}

static void print_json(const report *r) {
  const dk_version *v = r->version;
  const dk_info *i = r->info;
  json_object *o = json_object_new_object();
  json_object_object_add(o, "engine", jstr(dk_engine_kind_name(r->engine.kind)));
  json_object_object_add(o, "engine_product_version", jd_json_str(r->engine.version));
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
  json_object_object_add(o, "engine_accept", jstr(r->accept_set));
  add_guarantees_json(o, r);
  printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
                                                       JSON_C_TO_STRING_NOSLASHESCAPE));
  json_object_put(o);
}

/* Asks the engine and prints the report; returns the exit code. */
static int examine(report *r, bool as_json) {
  dk_client_opts env;
  dk_client_opts_from_env(&env);
  dk_client *c = NULL;
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
    rc = dk_client_api_version(&r->api_version, c);
  if (!rc)
    rc = dk_system_version(&r->version, c);
  if (!rc)
    rc = dk_system_info(&r->info, c);
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
  r->host = dk_client_host(c);
  r->tls = dk_client_tls(c);
  r->api_pinned = env.api_version != NULL;
  /* The profile every command learns (jd_ctx_engine), from this answer. */
  jd_engine_of_version(&r->engine, r->version, c);
  if (as_json)
    print_json(r);
  else
    print_text(r);
  code = fflush(stdout) == 0 ? JD_EXIT_OK : JD_EXIT_SYSTEM;
cleanup:
  dk_version_free(r->version);
  dk_info_free(r->info);
  dk_client_free(c);
  return code;
}

/* What the command line asks: --json, and the settings' top layer. */
typedef struct doctor_args {
  bool json;
  const char *config;   /* --config FILE */
  const char *flags[3]; /* "engine_accept", LIST, NULL */
} doctor_args;

/* `--name VALUE` or `--name=VALUE` at argv[*k]: its value (then *k at the
 * last word taken), else NULL; *missing when the value is not there. */
static const char *option_value(char **argv, int argc, int *k, const char *name, bool *missing) {
  size_t n = strlen(name);
  if (strncmp(argv[*k], name, n))
    return NULL;
  if (argv[*k][n] == '=')
    return argv[*k] + n + 1;
  if (argv[*k][n])
    return NULL;
  if (*k + 1 >= argc) {
    *missing = true;
    return NULL;
  }
  return argv[++*k];
}

/* -1 to go on, else the exit code (help, or a usage error said on stderr). */
static int parse_args(doctor_args *a, int argc, char **argv) {
  for (int k = 1; k < argc; k++) {
    bool missing = false;
    const char *v;
    if (!strcmp(argv[k], "--json")) {
      a->json = true;
    } else if (!strcmp(argv[k], "--help") || !strcmp(argv[k], "-h")) {
      usage(stdout);
      return JD_EXIT_OK;
    } else if ((v = option_value(argv, argc, &k, "--config", &missing))) {
      a->config = v;
    } else if ((v = option_value(argv, argc, &k, "--engine-accept", &missing))) {
      a->flags[0] = "engine_accept";
      a->flags[1] = v;
    } else if (missing) {
      fprintf(stderr, "judger doctor: %s needs a value (try --help)\n", argv[k]);
      return JD_EXIT_USAGE;
    } else {
      fprintf(stderr, "judger doctor: unknown option '%s' (try --help)\n", argv[k]);
      return JD_EXIT_USAGE;
    }
  }
  return -1;
}

/* engine_accept from the settings (file < environment < --engine-accept)
 * into r. -1 to go on, else JD_EXIT_USAGE after saying why. */
static int load_accept(report *r, jd_config *cfg, const doctor_args *a) {
  jd_settings_source src = {.file = a->config, .flags = a->flags};
  char err[768];
  if (jd_settings_load(cfg, &src, err, sizeof err)) {
    jd_term_printf(stderr, "judger doctor: settings: %s\n", err);
    return JD_EXIT_USAGE;
  }
  r->accept_set = cfg->engine_accept ? cfg->engine_accept : "";
  /* Checked when the settings were read (daemon/config.c). */
  (void)jd_engine_accept_parse(&r->accepted, r->accept_set, NULL, 0);
  return -1;
}

int jd_cmd_doctor(int argc, char **argv) {
  doctor_args args = {0};
  jd_config cfg = {0};
  report r = {0};
  int code = parse_args(&args, argc, argv);
  if (code < 0)
    code = load_accept(&r, &cfg, &args);
  if (code < 0)
    code = examine(&r, args.json);
  jd_config_clear(&cfg);
  return code;
}
