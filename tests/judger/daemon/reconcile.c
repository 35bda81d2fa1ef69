// test-labels: engine
/* judger/reconcile.c against the real engine: a dead judger's containers,
 * networks and match work directories are removed; nobody else's are. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/context.h"
#include "common/labels.h"
#include "common/util.h"
#include "daemon/reconcile.h"
#include "support.h"

/* A container of a match (match may be NULL: no judger.match label). */
static char *make_match_container(dk_client *c, const char *host, const char *match,
                                  const char *run, bool start, const char *testlabel) {
  char *name = t_unique("jd-reconcile");
  dk_kv labels[] = {{T_LABEL_KEY, "1"},
                    {"judger.test.reconcile", testlabel},
                    {JD_LABEL_HOST, host},
                    {"judger.run", run},
                    {JD_LABEL_MATCH, match}};
  const char *cmd[] = {"sleep", "60", NULL};
  dk_container_config cfg = {
      .image = T_BUSYBOX_IMAGE, .cmd = cmd, .labels = labels, .nlabels = match ? 5 : 4};
  char *id = NULL;
  t_ok(dk_container_create(&id, c, name, &cfg));
  if (start)
    t_ok(dk_container_start(c, id));
  free(name);
  return id;
}

static char *make_container(dk_client *c, const char *host, const char *run, bool start,
                            const char *testlabel) {
  return make_match_container(c, host, NULL, run, start, testlabel);
}

static bool exists(dk_client *c, const char *id) {
  dk_container_info *info = NULL;
  int rc = dk_container_inspect(&info, c, id);
  dk_container_info_free(info);
  return rc == 0;
}

Test(reconcile, a_dead_hosts_leftovers_go_and_nothing_else) {
  dk_client *c = t_client();
  t_busybox_image(c);
  char *dead = t_unique("deadhost"), *alive = t_unique("alivehost"), *tl = t_unique("rt");
  char *run_a = t_unique("m1-aaaa"), *run_b = t_unique("m2-bbbb");
  char *running = make_container(c, dead, run_a, true, tl);
  char *created = make_container(c, dead, run_a, false, tl);
  char *other = make_container(c, alive, run_b, true, tl);
  char *net_name = t_unique("jd-reconcile-net"), *net = NULL;
  dk_kv nl[] = {{T_LABEL_KEY, "1"}, {JD_LABEL_HOST, dead}};
  dk_network_config ncfg = {.internal = true, .labels = nl, .nlabels = 2};
  t_ok(dk_network_create(&net, c, net_name, &ncfg));

  /* Work dirs: one of the dead run (FIFOs inside), one still in use. */
  char *state = t_tmpdir("reconcile");
  char path[512];
  snprintf(path, sizeof path, "%s/matches/%s", state, run_a);
  cr_assert_eq(jd_mkdir_p(path, 0700), 0);
  snprintf(path, sizeof path, "%s/matches/%s/cmd", state, run_a);
  cr_assert_eq(mkfifo(path, 0666), 0);
  snprintf(path, sizeof path, "%s/matches/%s/out", state, run_b);
  cr_assert_eq(jd_mkdir_p(path, 0700), 0);

  jd_reconcile_report rep = {0};
  t_ok(jd_reconcile_engine(&rep, c, dead, NULL, NULL));
  cr_assert_eq(rep.containers, 2);
  cr_assert_eq(rep.networks, 1);
  cr_assert_eq(rep.failures, 0);
  cr_assert(!exists(c, running) && !exists(c, created));
  cr_assert(exists(c, other), "another host's container must stay");
  dk_network_info *ni = NULL;
  cr_assert_eq(dk_network_inspect(&ni, c, net), DK_ENOTFOUND);

  t_ok(jd_reconcile_workdirs(&rep, c, state, NULL, NULL));
  cr_assert_eq(rep.workdirs, 1);
  snprintf(path, sizeof path, "%s/matches/%s", state, run_a);
  cr_assert(!jd_path_exists(path), "the dead run's work dir (with its FIFO) must go");
  snprintf(path, sizeof path, "%s/matches/%s", state, run_b);
  cr_assert(jd_path_exists(path), "a work dir in use must stay");

  /* Idempotent: nothing left the second time. */
  jd_reconcile_report again = {0};
  t_ok(jd_reconcile_engine(&again, c, dead, NULL, NULL));
  cr_assert_eq(again.containers + again.networks, 0);

  dk_container_remove(c, other, true, true);
  free(running);
  free(created);
  free(other);
  free(net);
  free(net_name);
  free(dead);
  free(alive);
  free(tl);
  free(run_a);
  free(run_b);
  t_rmdir(state);
  dk_client_free(c);
}

/* The running task of the sweep below: it owns match "m-own". */
static char **own_m_own(void *ud) {
  (void)ud;
  char **v = calloc(2, sizeof *v);
  v[0] = strdup(JD_LABEL_MATCH "=m-own");
  return v;
}

Test(reconcile, a_sweep_leaves_what_a_running_task_owns) {
  dk_client *c = t_client();
  t_busybox_image(c);
  char *host = t_unique("sweephost"), *tl = t_unique("rt");
  char *own = make_match_container(c, host, "m-own", "m-own-1111", true, tl);
  char *own_created = make_match_container(c, host, "m-own", "m-own-1111", false, tl);
  char *old = make_match_container(c, host, "m-old", "m-old-2222", false, tl);
  char *state = t_tmpdir("sweep");
  char path[512];
  snprintf(path, sizeof path, "%s/matches/m-own-1111", state);
  cr_assert_eq(jd_mkdir_p(path, 0700), 0);
  /* A work dir of the running match before its containers exist. */
  snprintf(path, sizeof path, "%s/matches/m-own-3333", state);
  cr_assert_eq(jd_mkdir_p(path, 0700), 0);
  snprintf(path, sizeof path, "%s/matches/m-old-2222", state);
  cr_assert_eq(jd_mkdir_p(path, 0700), 0);
  jd_reconcile_report rep = {0};
  t_ok(jd_reconcile_host(&rep, c, host, state, own_m_own, NULL));
  cr_assert_eq(rep.containers, 1, "only the `created` leftover of the old run goes");
  cr_assert(!exists(c, old));
  cr_assert(exists(c, own) && exists(c, own_created), "a running task's containers stay");
  cr_assert_eq(rep.workdirs, 1);
  cr_assert(!jd_path_exists(path));
  snprintf(path, sizeof path, "%s/matches/m-own-3333", state);
  cr_assert(jd_path_exists(path), "the running match's work dir stays");
  /* Once the task is over, the next sweep takes the rest. */
  jd_reconcile_report after = {0};
  t_ok(jd_reconcile_host(&after, c, host, state, NULL, NULL));
  cr_assert_eq(after.containers, 2);
  cr_assert(!exists(c, own) && !exists(c, own_created));
  free(own);
  free(own_created);
  free(old);
  free(host);
  free(tl);
  t_rmdir(state);
  dk_client_free(c);
}
