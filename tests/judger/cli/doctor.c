// test-labels: engine
/* `judger doctor` as a user runs it: the built binary against the local
 * engine, an unreachable engine and a bad DOCKER_HOST. */
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/engine.h"
#include "common/util.h"
#include "support.h"

typedef struct run_result {
  int exit_code;
  char *out, *err; /* whole stdout / stderr, NUL-terminated */
} run_result;

/* Runs build/bin/judger with argv (NULL-terminated, without the program)
 * and DOCKER_HOST set to host (NULL = inherited), collecting both streams in
 * temp files so a full pipe can never block the child. */
static void run_judger(run_result *r, const char *host, const char *const *args) {
  char *dir = t_tmpdir("doctor");
  char *outp = NULL, *errp = NULL, *bin = NULL;
  cr_assert(asprintf(&outp, "%s/out", dir) > 0 && asprintf(&errp, "%s/err", dir) > 0);
  cr_assert(asprintf(&bin, "%s/bin/judger", JD_BINARY_DIR) > 0);
  cr_assert(access(bin, X_OK) == 0, "%s is not built", bin);
  char *argv[16] = {bin};
  size_t n = 1;
  for (; args && args[n - 1] && n < 15; n++)
    argv[n] = (char *)args[n - 1];
  argv[n] = NULL;
  pid_t pid = fork();
  cr_assert(pid >= 0, "fork");
  if (pid == 0) {
    int o = open(outp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int e = open(errp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (o < 0 || e < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
      _exit(127);
    if (host)
      setenv("DOCKER_HOST", host, 1);
    execv(bin, argv);
    _exit(127);
  }
  int status = 0;
  cr_assert_eq(waitpid(pid, &status, 0), pid);
  cr_assert(WIFEXITED(status), "judger died by a signal");
  r->exit_code = WEXITSTATUS(status);
  size_t len;
  cr_assert_eq(jd_read_file(&r->out, &len, outp, 1 << 20), 0);
  cr_assert_eq(jd_read_file(&r->err, &len, errp, 1 << 20), 0);
  free(outp);
  free(errp);
  free(bin);
  t_rmdir(dir);
}

static void run_free(run_result *r) {
  free(r->out);
  free(r->err);
}

static int count_lines(const char *s) {
  int n = 0;
  for (; *s; s++)
    n += *s == '\n';
  return n;
}

static void setup(void) {
  /* The doctor must read the same variables as the test's client. */
  unsetenv("DOCKER_API_VERSION");
}

TestSuite(doctor, .init = setup, .timeout = 60);

Test(doctor, reports_the_local_engine) {
  dk_client *c = t_client();
  dk_version *v = NULL;
  t_ok(dk_system_version(&v, c));
  const char *api = NULL;
  t_ok(dk_client_api_version(&api, c));
  dk_info *info = NULL;
  t_ok(dk_system_info(&info, c));

  const char *args[] = {"doctor", NULL};
  run_result r;
  run_judger(&r, NULL, args);
  cr_assert_eq(r.exit_code, 0, "exit %d, stderr: %s", r.exit_code, r.err);
  cr_assert_str_empty(r.err);
  char want[256];
  snprintf(want, sizeof want, "engine version:  %s (API %s", v->version, v->api_version);
  cr_assert(strstr(r.out, want), "no '%s' in:\n%s", want, r.out);
  snprintf(want, sizeof want, "api version:     %s (negotiated)", api);
  cr_assert(strstr(r.out, want), "no '%s' in:\n%s", want, r.out);
  snprintf(want, sizeof want, "host:            %s\n", dk_client_host(c));
  cr_assert(strstr(r.out, want), "no '%s' in:\n%s", want, r.out);
  cr_assert(strstr(r.out, dk_client_tls(c) ? "tls:             yes" : "tls:             no"));
  snprintf(want, sizeof want, "storage driver:  %s\n", info->storage_driver);
  cr_assert(strstr(r.out, want), "no '%s' in:\n%s", want, r.out);
  snprintf(want, sizeof want, "version %s\n", info->cgroup_version);
  cr_assert(strstr(r.out, want), "no cgroup '%s' in:\n%s", want, r.out);
  snprintf(want, sizeof want, "cpus:            %d\n", info->ncpu);
  cr_assert(strstr(r.out, want), "no '%s' in:\n%s", want, r.out);
  run_free(&r);
  dk_info_free(info);
  dk_version_free(v);
  dk_client_free(c);
}

Test(doctor, json_output) {
  dk_client *c = t_client();
  dk_version *v = NULL;
  t_ok(dk_system_version(&v, c));
  const char *args[] = {"doctor", "--json", NULL};
  run_result r;
  run_judger(&r, NULL, args);
  cr_assert_eq(r.exit_code, 0, "exit %d, stderr: %s", r.exit_code, r.err);
  json_object *o = json_tokener_parse(r.out);
  cr_assert(o, "not JSON:\n%s", r.out);
  json_object *m = NULL;
  cr_assert(json_object_object_get_ex(o, "engine_version", &m));
  cr_assert_str_eq(json_object_get_string(m), v->version);
  cr_assert(json_object_object_get_ex(o, "tls", &m));
  cr_assert_eq(json_object_get_boolean(m), dk_client_tls(c));
  cr_assert(json_object_object_get_ex(o, "cgroup_version", &m));
  cr_assert(json_object_object_get_ex(o, "api_version", &m));
  json_object_put(o);
  run_free(&r);
  dk_version_free(v);
  dk_client_free(c);
}

Test(doctor, unreachable_engine_is_exit_3_and_one_line) {
  const char *args[] = {"doctor", NULL};
  run_result r;
  run_judger(&r, "unix:///nonexistent", args);
  cr_assert_eq(r.exit_code, 3, "exit %d", r.exit_code);
  cr_assert_str_empty(r.out);
  cr_assert_eq(count_lines(r.err), 1, "stderr:\n%s", r.err);
  cr_assert(strstr(r.err, "cannot connect"), "stderr: %s", r.err);
  cr_assert(strstr(r.err, "unix:///nonexistent"), "the host is named: %s", r.err);
  run_free(&r);
}

Test(doctor, refused_tcp_port_is_exit_3_and_one_line) {
  const char *args[] = {"doctor", NULL};
  run_result r;
  run_judger(&r, "tcp://127.0.0.1:1", args);
  cr_assert_eq(r.exit_code, 3, "exit %d", r.exit_code);
  cr_assert_eq(count_lines(r.err), 1, "stderr:\n%s", r.err);
  cr_assert(strstr(r.err, "cannot connect"), "stderr: %s", r.err);
  run_free(&r);
}

Test(doctor, bad_docker_host_is_exit_2_and_one_line) {
  const char *args[] = {"doctor", NULL};
  run_result r;
  run_judger(&r, "ftp://engine.example", args);
  cr_assert_eq(r.exit_code, 2, "exit %d", r.exit_code);
  cr_assert_str_empty(r.out);
  cr_assert_eq(count_lines(r.err), 1, "stderr:\n%s", r.err);
  cr_assert(strstr(r.err, "DOCKER_HOST") && strstr(r.err, "ftp://engine.example"), "stderr: %s",
            r.err);
  run_free(&r);
}

Test(doctor, unknown_option_is_exit_2) {
  const char *args[] = {"doctor", "--frobnicate", NULL};
  run_result r;
  run_judger(&r, NULL, args);
  cr_assert_eq(r.exit_code, 2);
  cr_assert(strstr(r.err, "--frobnicate"), "stderr: %s", r.err);
  run_free(&r);
}

Test(doctor, pinned_api_version_is_reported) {
  /* 1.40, or the engine's minimum where it refuses that (Docker 29's 1.44). */
  dk_client *c = t_client();
  dk_version *v = NULL;
  t_ok(dk_system_version(&v, c));
  char pinned[16] = "1.40";
  if (v->min_api_version && dk_api_version_cmp(v->min_api_version, pinned) > 0)
    snprintf(pinned, sizeof pinned, "%s", v->min_api_version);
  dk_version_free(v);
  dk_client_free(c);
  setenv("DOCKER_API_VERSION", pinned, 1);
  const char *args[] = {"doctor", NULL};
  run_result r;
  run_judger(&r, NULL, args);
  cr_assert_eq(r.exit_code, 0, "exit %d, stderr: %s", r.exit_code, r.err);
  char want[96];
  snprintf(want, sizeof want, "api version:     %s (pinned by DOCKER_API_VERSION)", pinned);
  cr_assert(strstr(r.out, want), "%s", r.out);
  run_free(&r);
}

Test(doctor, api_range_and_image_store_are_reported) {
  dk_client *c = t_client();
  dk_version *v = NULL;
  t_ok(dk_system_version(&v, c));
  dk_info *info = NULL;
  t_ok(dk_system_info(&info, c));
  const char *args[] = {"doctor", NULL};
  run_result r;
  run_judger(&r, NULL, args);
  cr_assert_eq(r.exit_code, 0, "exit %d, stderr: %s", r.exit_code, r.err);
  char want[160];
  snprintf(want, sizeof want, "api range:       engine %s to %s, libdockerapi %s to %s\n",
           v->min_api_version, v->api_version, DK_API_VERSION_MIN, DK_API_VERSION_MAX);
  cr_assert(strstr(r.out, want), "no '%s' in:\n%s", want, r.out);
  snprintf(want, sizeof want, "image store:     %s",
           info->containerd_store ? "containerd" : "graph driver");
  cr_assert(strstr(r.out, want), "no '%s' in:\n%s", want, r.out);
  run_free(&r);
  dk_info_free(info);
  dk_version_free(v);
  dk_client_free(c);
}

Test(doctor, api_version_the_engine_refuses_is_exit_2) {
  dk_client *c = t_client();
  dk_version *v = NULL;
  t_ok(dk_system_version(&v, c));
  /* One minor version above what the engine speaks. */
  int major = 0, minor = 0;
  cr_assert_eq(sscanf(v->api_version, "%d.%d", &major, &minor), 2);
  char pinned[16];
  snprintf(pinned, sizeof pinned, "%d.%d", major, minor + 1);
  setenv("DOCKER_API_VERSION", pinned, 1);
  const char *args[] = {"doctor", NULL};
  run_result r;
  run_judger(&r, NULL, args);
  cr_assert_eq(r.exit_code, 2, "exit %d, stderr: %s", r.exit_code, r.err);
  cr_assert_eq(count_lines(r.err), 1, "stderr:\n%s", r.err);
  cr_assert(strstr(r.err, "DOCKER_API_VERSION"), "stderr: %s", r.err);
  run_free(&r);
  dk_version_free(v);
  dk_client_free(c);
}

Test(doctor, names_the_engine_and_its_guarantees) {
  /* On Docker (the host's 20.10, the 26.1 sidecar) every guarantee is kept
   * and nothing is refused; on another engine the lines follow its profile
   * (common/engine.h; Podman 4.3 itself: engine_refusals.c). */
  dk_client *c = t_client();
  jd_engine e;
  char err[256];
  cr_assert_eq(jd_engine_learn(&e, c, err, sizeof err), 0, "%s", err);
  unsetenv("JUDGER_ENGINE_ACCEPT");
  setenv("JUDGER_CONFIG", "", 1);
  const char *args[] = {"doctor", NULL};
  run_result r;
  run_judger(&r, NULL, args);
  cr_assert_eq(r.exit_code, 0, "exit %d, stderr: %s", r.exit_code, r.err);
  char want[256];
  snprintf(want, sizeof want, "engine:          %s %s\n", dk_engine_kind_name(e.kind), e.version);
  cr_assert(strstr(r.out, want), "no '%s' in:\n%s", want, r.out);
  if (e.kind == DK_ENGINE_DOCKER) {
    cr_assert_eq(e.lacking, 0u, "Docker %s keeps every guarantee", e.version);
    cr_assert(strstr(r.out, "refused work:    none\n"), "%s", r.out);
  }
  for (int g = 0; g < JD_GUARANTEE_COUNT; g++) {
    snprintf(want, sizeof want, "  %-17s %s", jd_guarantee_name(g),
             e.lacking & (1u << g) ? "NOT kept, " : "kept: ");
    cr_assert(strstr(r.out, want), "no '%s' in:\n%s", want, r.out);
  }
  run_free(&r);

  const char *json_args[] = {"doctor", "--json", NULL};
  run_judger(&r, NULL, json_args);
  cr_assert_eq(r.exit_code, 0, "exit %d, stderr: %s", r.exit_code, r.err);
  json_object *o = json_tokener_parse(r.out), *m, *gs;
  cr_assert(o, "not JSON:\n%s", r.out);
  cr_assert(json_object_object_get_ex(o, "engine", &m));
  cr_assert_str_eq(json_object_get_string(m), dk_engine_kind_name(e.kind));
  cr_assert(json_object_object_get_ex(o, "engine_product_version", &m));
  cr_assert_str_eq(json_object_get_string(m), e.version);
  cr_assert(json_object_object_get_ex(o, "guarantees", &gs));
  for (int g = 0; g < JD_GUARANTEE_COUNT; g++) {
    json_object *one, *st;
    cr_assert(json_object_object_get_ex(gs, jd_guarantee_name(g), &one));
    cr_assert(json_object_object_get_ex(one, "state", &st));
    cr_assert_str_eq(json_object_get_string(st), e.lacking & (1u << g) ? "lacking" : "kept");
  }
  cr_assert(json_object_object_get_ex(o, "refused_work", &m));
  if (!e.lacking)
    cr_assert_eq(json_object_array_length(m), 0);
  json_object_put(o);
  run_free(&r);
  dk_client_free(c);
}

Test(doctor, bad_settings_are_exit_2_and_one_line) {
  setenv("JUDGER_CONFIG", "", 1);
  const char *missing_file[] = {"doctor", "--config", "/nonexistent/judger.conf", NULL};
  run_result r;
  run_judger(&r, NULL, missing_file);
  cr_assert_eq(r.exit_code, 2, "exit %d", r.exit_code);
  cr_assert_str_empty(r.out);
  cr_assert_eq(count_lines(r.err), 1, "stderr:\n%s", r.err);
  cr_assert(strstr(r.err, "/nonexistent/judger.conf"), "%s", r.err);
  run_free(&r);
  const char *no_value[] = {"doctor", "--engine-accept", NULL};
  run_judger(&r, NULL, no_value);
  cr_assert_eq(r.exit_code, 2, "exit %d", r.exit_code);
  cr_assert(strstr(r.err, "--engine-accept needs a value"), "%s", r.err);
  run_free(&r);
  setenv("JUDGER_ENGINE_ACCEPT", "oom", 1);
  const char *args[] = {"doctor", NULL};
  run_judger(&r, NULL, args);
  cr_assert_eq(r.exit_code, 2, "exit %d", r.exit_code);
  cr_assert_eq(count_lines(r.err), 1, "stderr:\n%s", r.err);
  cr_assert(strstr(r.err, "JUDGER_ENGINE_ACCEPT") && strstr(r.err, "'oom'"), "%s", r.err);
  run_free(&r);
  unsetenv("JUDGER_ENGINE_ACCEPT");
}
