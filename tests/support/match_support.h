/* Shared by the match engine tests (tests/judger/match*.c): a judger
 * context with a host id of the test's own, specs built from the test game
 * logic (tests/judger/programs/game) and players run from the busybox image,
 * and the "nothing left behind" check. */
#ifndef JD_TEST_MATCH_SUPPORT_H
#define JD_TEST_MATCH_SUPPORT_H

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include "common/labels.h"
#include "common/tmpfile.h"
#include "common/util.h"
#include "daemon/reconcile.h"
#include "daemon_proc.h"
#include "match/match.h"
#include "match/net_stock.h"
#include "support.h"

typedef struct tm_env {
  dk_client *dk;
  jd_ctx ctx;
  char *host;          /* unique: the label that finds this test's leftovers */
  char *state;         /* state dir (work dirs under matches/) */
  char *out;           /* --out */
  jd_net_stock *stock; /* ctx.net_stock unless $JUDGER_NET_STOCK is 0 */
} tm_env;

static inline void tm_setup(tm_env *e) {
  e->dk = t_client();
  t_busybox_image(e->dk);
  e->host = t_unique("jdt");
  e->state = t_tmpdir("mstate");
  e->out = t_tmpdir("mout");
  e->ctx = (jd_ctx){.dk = e->dk, .state_dir = e->state, .host_id = e->host};
  /* The guarantees accepted on an engine that lacks them (common/engine.h),
   * as the commands' setting engine_accept: how the match tests run on
   * Podman at all. */
  char aerr[256];
  cr_assert_eq(jd_engine_accept_parse(&e->ctx.engine_accept, getenv("JUDGER_ENGINE_ACCEPT"), aerr,
                                      sizeof aerr),
               0, "%s", aerr);
  /* Matches run on the stock of networks, as `judger run` and the daemon
   * do by default. */
  const char *keep = getenv("JUDGER_NET_STOCK");
  char err[256];
  e->stock = NULL;
  if (!keep || atoi(keep) > 0)
    cr_assert_eq(
        jd_net_stock_new(&e->stock, &e->ctx, keep ? (size_t)atoi(keep) : 32, err, sizeof err), 0,
        "%s", err);
  e->ctx.net_stock = e->stock;
}

/* Networks of this host not in the stock, and stock networks with an
 * endpoint (t_host_networks); then every network of the host is removed. */
static inline size_t tm_networks_left(tm_env *e) {
  size_t left = t_host_networks(e->dk, e->host);
  char host[128];
  snprintf(host, sizeof host, "%s=%s", JD_LABEL_HOST, e->host);
  const char *all[] = {host, NULL};
  dk_network_list *nl = NULL;
  t_ok(dk_network_list_by_label(&nl, e->dk, all));
  for (size_t i = 0; i < nl->count; i++)
    dk_network_remove(e->dk, nl->items[i].id);
  dk_network_list_free(nl);
  return left;
}

/* Asserts that nothing of the match is left: containers and networks with
 * this test's host label, and work directories (with their FIFOs). */
static inline void tm_assert_clean(tm_env *e) {
  char label[128];
  snprintf(label, sizeof label, "%s=%s", JD_LABEL_HOST, e->host);
  const char *labels[] = {label, NULL};
  dk_container_list *cl = NULL;
  t_ok(dk_container_list_by_label(&cl, e->dk, true, labels));
  size_t nc = cl->count;
  for (size_t i = 0; i < cl->count; i++)
    dk_container_remove(e->dk, cl->items[i].id, true, true);
  dk_container_list_free(cl);
  /* The stock's idle networks stay by design: empty ones are not left. */
  size_t nn = tm_networks_left(e);
  cr_assert_eq(nc, 0, "%zu containers left behind", nc);
  cr_assert_eq(nn, 0, "%zu networks left behind", nn);
  char cmd[600];
  snprintf(cmd, sizeof cmd, "test -z \"$(ls -A %s/matches 2>/dev/null)\"", e->state);
  cr_assert_eq(system(cmd), 0, "a match work directory (FIFOs) was left in %s/matches", e->state);
}

static inline void tm_teardown(tm_env *e) {
  jd_net_stock_free(e->stock);
  e->stock = NULL;
  tm_networks_left(e);
  t_rmdir(e->state);
  t_rmdir(e->out);
  free(e->host);
  dk_client_free(e->dk);
}

/* A program reference running `sh /app/main.sh` from the busybox image with
 * dir bound at /app. dir is relative to the source tree. */
static inline char *tm_program(const char *id, const char *dir) {
  char *s = NULL;
  cr_assert(asprintf(&s,
                     "{\"id\":\"%s\",\"image\":\"" T_BUSYBOX_IMAGE "\",\"dir\":\"%s%s%s\","
                     "\"cmd\":[\"sh\",\"/app/main.sh\"]}",
                     id, dir[0] == '/' ? "" : JD_SOURCE_DIR, dir[0] == '/' ? "" : "/", dir) > 0);
  return s;
}

/* A spec with the test game logic; players: JSON program refs joined by
 * commas; config and limits: JSON objects (limits may be NULL). */
static inline char *tm_spec(const char *id, const char *players, const char *config,
                            const char *limits) {
  char *gl = tm_program("game", "tests/judger/programs/game");
  char *s = NULL;
  cr_assert(asprintf(&s, "{\"id\":\"%s\",\"game_logic\":%s,\"players\":[%s],\"config\":%s%s%s}", id,
                     gl, players, config, limits ? ",\"limits\":" : "", limits ? limits : "") > 0);
  free(gl);
  return s;
}

static inline jd_match_result *tm_run(tm_env *e, const char *spec_json,
                                      const jd_match_hooks *hooks) {
  jd_match_spec *spec = NULL;
  char err[512];
  cr_assert_eq(jd_match_spec_parse(&spec, spec_json, NULL, err, sizeof err), 0, "spec: %s", err);
  jd_match_result *r = NULL;
  cr_assert_eq(jd_match_run(&r, &e->ctx, spec, e->out, hooks, NULL, 0), 0);
  cr_assert_not_null(r);
  jd_match_spec_free(spec);
  return r;
}

static inline char *tm_read(tm_env *e, const char *name, size_t *len) {
  char path[600];
  snprintf(path, sizeof path, "%s/%s", e->out, name);
  char *d = NULL;
  size_t l = 0;
  cr_assert_eq(jd_read_file(&d, &l, path, 64u << 20), 0, "cannot read %s", path);
  if (len)
    *len = l;
  return d;
}

/* Checks result.json on disk agrees with the result. */
static inline void tm_assert_result_file(tm_env *e, const jd_match_result *r) {
  char *text = tm_read(e, "result.json", NULL);
  json_object *o = json_tokener_parse(text);
  cr_assert_not_null(o, "result.json is not JSON");
  json_object *v;
  cr_assert(json_object_object_get_ex(o, "status", &v));
  cr_assert_str_eq(json_object_get_string(v), jd_match_status_name(r->status));
  cr_assert(json_object_object_get_ex(o, "players", &v));
  cr_assert_eq(json_object_array_length(v), r->nplayers);
  json_object_put(o);
  free(text);
}

/* Containers with this test's host label. */
static inline size_t tm_containers(tm_env *e) {
  char label[128];
  snprintf(label, sizeof label, "%s=%s", JD_LABEL_HOST, e->host);
  const char *labels[] = {label, NULL};
  dk_container_list *l = NULL;
  cr_assert_eq(dk_container_list_by_label(&l, e->dk, true, labels), 0);
  size_t n = l->count;
  dk_container_list_free(l);
  return n;
}

/* `judger run` of spec_json in a child (this test's host id, state and
 * out; --wait-teardown: one process, nothing left to clean but by
 * reconciliation once it is killed). Returns its pid. */
static inline pid_t tm_run_child(tm_env *e, const char *spec_json) {
  char path[600];
  snprintf(path, sizeof path, "%s/spec.json", e->state);
  cr_assert_eq(jd_write_file(path, spec_json, strlen(spec_json)), 0);
  pid_t pid = fork();
  if (pid == 0) {
    execl(JD_BINARY_DIR "/bin/judger", "judger", "run", path, "--out", e->out, "--state-dir",
          e->state, "--host-id", e->host, "--quiet", "--wait-teardown", (char *)NULL);
    _exit(127);
  }
  cr_assert_gt(pid, 0);
  return pid;
}

/* Kills that child with SIGKILL, reconciles the host (at least min
 * containers removed) and asserts nothing is left. */
static inline void tm_kill9_and_reconcile(tm_env *e, pid_t pid, size_t min) {
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
  jd_reconcile_report rep;
  memset(&rep, 0, sizeof rep);
  cr_assert_eq(jd_reconcile_host(&rep, e->dk, e->host, e->state, NULL, NULL), 0);
  cr_assert_geq(rep.containers, min, "%zu containers reconciled", rep.containers);
  tm_assert_clean(e);
}

#endif
