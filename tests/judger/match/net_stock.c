// test-labels: engine
/* The stock of ready networks (match/net_stock.h): a network is never
 * leased twice at once, one given back with an endpoint left is removed,
 * reconciliation removes the free ones with an endpoint and those beyond
 * keep, a kill -9 of a holder loses nothing, and player isolation holds on
 * stock networks. Each test has a host id and a state dir of its own. */
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/tmpfile.h"
#include "daemon/reconcile.h"
#include "match/net_stock.h"
#include "match_support.h"

static tm_env env;
static void setup(void) { tm_setup(&env); }

/* Removes every network and container of this test's host. */
static void cleanup_engine(void) {
  size_t removed = 0;
  char err[256];
  jd_net_stock_reconcile(&removed, &env.ctx, 0, err, sizeof err);
  char label[128];
  snprintf(label, sizeof label, "%s=%s", JD_LABEL_HOST, env.host);
  const char *labels[] = {label, NULL};
  dk_container_list *cl = NULL;
  if (!dk_container_list_by_label(&cl, env.dk, true, labels))
    for (size_t i = 0; i < cl->count; i++)
      dk_container_remove(env.dk, cl->items[i].id, true, true);
  dk_container_list_free(cl);
  dk_network_list *nl = NULL;
  if (!dk_network_list_by_label(&nl, env.dk, labels))
    for (size_t i = 0; i < nl->count; i++)
      dk_network_remove(env.dk, nl->items[i].id);
  dk_network_list_free(nl);
}

static void teardown(void) {
  cleanup_engine();
  tm_teardown(&env);
}
TestSuite(net_stock, .init = setup, .fini = teardown, .timeout = 180);

static jd_net_stock *stock_new(size_t keep) {
  jd_net_stock *s = NULL;
  char err[256];
  cr_assert_eq(jd_net_stock_new(&s, &env.ctx, keep, err, sizeof err), 0, "%s", err);
  return s;
}

static const char *take(jd_net_stock *s, const char *run) {
  const char *id = NULL;
  char err[512];
  cr_assert_eq(jd_net_stock_take(&id, s, run, err, sizeof err), 0, "%s", err);
  cr_assert_not_null(id);
  return id;
}

/* -1: gone; else the network's endpoints. */
static long endpoints(const char *id) {
  dk_network_info *info = NULL;
  int rc = dk_network_inspect(&info, env.dk, id);
  if (rc == DK_ENOTFOUND)
    return -1;
  t_ok(rc);
  long n = (long)info->ncontainers;
  dk_network_info_free(info);
  return n;
}

/* A running busybox container on network name, of this test's host or
 * of no host; its id (caller frees). */
static char *container_on_as(const char *name, bool host) {
  dk_kv labels[] = {{host ? JD_LABEL_HOST : T_LABEL_KEY, host ? env.host : "1"}};
  const char *cmd[] = {"sleep", "300", NULL};
  dk_container_config cc = {.image = T_BUSYBOX_IMAGE, .cmd = cmd, .labels = labels, .nlabels = 1};
  cc.host.network_mode = name;
  char *id = NULL;
  t_ok(dk_container_create(&id, env.dk, NULL, &cc));
  t_ok(dk_container_start(env.dk, id));
  return id;
}

static char *container_on(const char *name) { return container_on_as(name, true); }

static char *dup_id(const char *id) {
  char *c = strdup(id);
  cr_assert_not_null(c);
  return c;
}

Test(net_stock, give_back_of_an_unknown_id_is_false) {
  jd_net_stock *s = stock_new(4);
  cr_assert_not(jd_net_stock_give_back(s, "0123456789abcdef"));
  cr_assert_not(jd_net_stock_give_back(NULL, "0123456789abcdef"));
  const char *id = take(s, "r1");
  char *copy = dup_id(id);
  cr_assert(jd_net_stock_give_back(s, copy));
  /* Given back once: a second give back is not a lease any more. */
  cr_assert_not(jd_net_stock_give_back(s, copy));
  free(copy);
  jd_net_stock_free(s);
}

Test(net_stock, a_network_given_back_empty_is_taken_again_at_one_inspect) {
  jd_net_stock *s = stock_new(4);
  char *first = dup_id(take(s, "r1"));
  cr_assert_eq(endpoints(first), 0);
  size_t before = jd_net_stock_calls(s);
  cr_assert(jd_net_stock_give_back(s, first));
  cr_assert_eq(jd_net_stock_calls(s) - before, 1, "a give back is one inspect");
  cr_assert_eq(jd_net_stock_idle(s), 1);
  before = jd_net_stock_calls(s);
  const char *again = take(s, "r2");
  cr_assert_eq(jd_net_stock_calls(s) - before, 1, "a take from the stock is one inspect");
  cr_assert_str_eq(again, first);
  cr_assert(jd_net_stock_give_back(s, first));
  free(first);
  jd_net_stock_free(s);
}

Test(net_stock, a_network_given_back_with_an_endpoint_left_is_removed_not_reused) {
  jd_net_stock *s = stock_new(4);
  const char *id = take(s, "r1");
  char *net = dup_id(id);
  char *c = container_on(jd_net_stock_name(s, id));
  cr_assert_eq(endpoints(net), 1);
  cr_assert(jd_net_stock_give_back(s, net));
  cr_assert_eq(endpoints(net), -1, "the network with an endpoint left was not removed");
  cr_assert_eq(jd_net_stock_idle(s), 0);
  const char *next = take(s, "r2");
  cr_assert_str_neq(next, net);
  cr_assert_eq(endpoints(next), 0);
  jd_net_stock_give_back_run(s, "r2");
  dk_container_remove(env.dk, c, true, true);
  free(c);
  free(net);
  jd_net_stock_free(s);
}

Test(net_stock, the_stock_keeps_at_most_keep_and_removes_the_rest) {
  jd_net_stock *s = stock_new(2);
  char *ids[4];
  for (int i = 0; i < 4; i++)
    ids[i] = dup_id(take(s, "r1"));
  jd_net_stock_give_back_run(s, "r1");
  cr_assert_eq(jd_net_stock_idle(s), 2);
  int gone = 0;
  for (int i = 0; i < 4; i++) {
    gone += endpoints(ids[i]) == -1;
    free(ids[i]);
  }
  cr_assert_eq(gone, 2);
  /* fill stops at keep too. */
  char err[256];
  cr_assert_eq(jd_net_stock_fill(s, 10, err, sizeof err), 0, "%s", err);
  cr_assert_eq(jd_net_stock_idle(s), 2);
  jd_net_stock_free(s);
}

Test(net_stock, fill_makes_networks_a_take_then_uses_without_a_create) {
  jd_net_stock *s = stock_new(3);
  char err[256];
  cr_assert_eq(jd_net_stock_fill(s, 3, err, sizeof err), 0, "%s", err);
  cr_assert_eq(jd_net_stock_idle(s), 3);
  /* Another process's view: an empty memory, one list, then an inspect. */
  jd_net_stock *other = stock_new(3);
  size_t before = jd_net_stock_calls(other);
  const char *id = take(other, "r1");
  cr_assert_eq(jd_net_stock_calls(other) - before, 2, "list + inspect");
  cr_assert_eq(endpoints(id), 0);
  jd_net_stock_give_back_run(other, "r1");
  jd_net_stock_free(other);
  jd_net_stock_free(s);
}

/* ---- never two holders ---------------------------------------------------- */

#define HAMMER_THREADS 4
#define HAMMER_ROUNDS 12

typedef struct hammer {
  jd_net_stock *stocks[2]; /* two processes' views of one stock */
  pthread_mutex_t mu;
  char *held[HAMMER_THREADS * 2];
  int clashes, takes;
} hammer;

typedef struct hammer_arg {
  hammer *h;
  int n;
} hammer_arg;

/* Records id as held (slot) and counts a clash when another holds it. */
static void hold(hammer *h, int slot, const char *id) {
  pthread_mutex_lock(&h->mu);
  for (int i = 0; i < HAMMER_THREADS * 2; i++)
    if (h->held[i] && !strcmp(h->held[i], id))
      h->clashes++;
  h->held[slot] = strdup(id);
  h->takes++;
  pthread_mutex_unlock(&h->mu);
}

static void unhold(hammer *h, int slot) {
  pthread_mutex_lock(&h->mu);
  free(h->held[slot]);
  h->held[slot] = NULL;
  pthread_mutex_unlock(&h->mu);
}

static void *hammer_main(void *arg) {
  hammer_arg *a = arg;
  jd_net_stock *s = a->h->stocks[a->n % 2];
  char run[32];
  snprintf(run, sizeof run, "run-%d", a->n);
  for (int r = 0; r < HAMMER_ROUNDS; r++) {
    /* Two at once, as a 2-player match holds. */
    const char *ids[2] = {NULL, NULL};
    char err[512];
    for (int k = 0; k < 2; k++) {
      if (jd_net_stock_take(&ids[k], s, run, err, sizeof err))
        return NULL;
      hold(a->h, a->n * 2 + k, ids[k]);
    }
    for (int k = 0; k < 2; k++) {
      char *copy = strdup(ids[k]);
      unhold(a->h, a->n * 2 + k);
      jd_net_stock_give_back(s, copy);
      free(copy);
    }
  }
  return NULL;
}

Test(net_stock, a_network_is_never_leased_twice_at_once) {
  hammer h = {.stocks = {stock_new(3), stock_new(3)}};
  pthread_mutex_init(&h.mu, NULL);
  pthread_t t[HAMMER_THREADS];
  hammer_arg args[HAMMER_THREADS];
  for (int i = 0; i < HAMMER_THREADS; i++) {
    args[i] = (hammer_arg){&h, i};
    cr_assert_eq(pthread_create(&t[i], NULL, hammer_main, &args[i]), 0);
  }
  for (int i = 0; i < HAMMER_THREADS; i++)
    pthread_join(t[i], NULL);
  cr_assert_eq(h.takes, HAMMER_THREADS * HAMMER_ROUNDS * 2, "some take failed");
  cr_assert_eq(h.clashes, 0, "a network was leased twice at once");
  jd_net_stock_free(h.stocks[0]);
  jd_net_stock_free(h.stocks[1]);
  pthread_mutex_destroy(&h.mu);
}

/* ---- reconciliation -------------------------------------------------------- */

Test(net_stock, reconcile_removes_a_free_network_with_an_endpoint_and_keeps_leases) {
  jd_net_stock *s = stock_new(4);
  char *dirty = dup_id(take(s, "r1"));
  char *name = strdup(jd_net_stock_name(s, dirty));
  char *leased = dup_id(take(s, "r2"));
  char *lc = container_on(jd_net_stock_name(s, leased));
  /* Given back clean, then something joins it behind the stock's back. */
  cr_assert(jd_net_stock_give_back(s, dirty));
  char *c = container_on(name);
  size_t removed = 0;
  char err[256];
  cr_assert_eq(jd_net_stock_reconcile(&removed, &env.ctx, 8, err, sizeof err), 0, "%s", err);
  cr_assert_eq(removed, 1);
  cr_assert_eq(endpoints(dirty), -1);
  cr_assert_eq(endpoints(leased), 1, "a leased network was touched");
  /* The next take does not get the removed one. */
  const char *next = take(s, "r3");
  cr_assert_str_neq(next, dirty);
  cr_assert_eq(endpoints(next), 0);
  dk_container_remove(env.dk, c, true, true);
  dk_container_remove(env.dk, lc, true, true);
  jd_net_stock_give_back_run(s, "r2");
  jd_net_stock_give_back_run(s, "r3");
  free(c);
  free(lc);
  free(name);
  free(dirty);
  free(leased);
  jd_net_stock_free(s);
}

Test(net_stock, reconcile_removes_the_free_ones_beyond_keep) {
  jd_net_stock *s = stock_new(5);
  char err[256];
  cr_assert_eq(jd_net_stock_fill(s, 5, err, sizeof err), 0, "%s", err);
  jd_net_stock_free(s);
  size_t removed = 0;
  cr_assert_eq(jd_net_stock_reconcile(&removed, &env.ctx, 2, err, sizeof err), 0, "%s", err);
  cr_assert_eq(removed, 3);
  cr_assert_eq(jd_net_stock_reconcile(&removed, &env.ctx, 0, err, sizeof err), 0, "%s", err);
  cr_assert_eq(removed, 2);
}

Test(net_stock, the_daemon_sweep_keeps_idle_and_leased_stock_networks_and_removes_dirty_ones) {
  jd_net_stock *s = stock_new(4);
  char err[256];
  cr_assert_eq(jd_net_stock_fill(s, 2, err, sizeof err), 0, "%s", err);
  char *leased = dup_id(take(s, "r1"));
  char *lc = container_on(jd_net_stock_name(s, leased));
  /* The sweep's own pass: the host's containers go (the leased network's
   * one too: it has the host label), the stock's networks stay. */
  jd_reconcile_report rep = {0};
  cr_assert_eq(jd_reconcile_engine_in(&rep, env.dk, env.host, env.state, NULL, NULL), 0, "%s",
               rep.error);
  cr_assert_eq(rep.networks, 0, "the sweep removed a stock network");
  cr_assert_eq(endpoints(leased), 0);
  cr_assert_eq(jd_net_stock_idle(s), 1);
  /* An idle one someone else's container joined is removed. */
  const char *idle = take(s, "r2");
  char *dirty = dup_id(idle), *name = strdup(jd_net_stock_name(s, idle));
  cr_assert(jd_net_stock_give_back(s, dirty));
  char *c = container_on_as(name, false);
  memset(&rep, 0, sizeof rep);
  cr_assert_eq(jd_reconcile_engine_in(&rep, env.dk, env.host, env.state, NULL, NULL), 0, "%s",
               rep.error);
  cr_assert_eq(rep.networks, 1);
  cr_assert_eq(endpoints(dirty), -1);
  cr_assert_eq(endpoints(leased), 0, "a leased network was removed");
  dk_container_remove(env.dk, c, true, true);
  jd_net_stock_give_back_run(s, "r1");
  free(c);
  free(lc);
  free(name);
  free(dirty);
  free(leased);
  jd_net_stock_free(s);
}

Test(net_stock, reconcile_unlinks_the_lock_file_of_a_network_removed_outside_the_stock) {
  jd_net_stock *s = stock_new(4);
  char *id = dup_id(take(s, "r1")), lock[700];
  snprintf(lock, sizeof lock, "%s/locks/net-%s", env.state, jd_net_stock_name(s, id));
  cr_assert(jd_net_stock_give_back(s, id));
  jd_net_stock_free(s);
  cr_assert_eq(access(lock, F_OK), 0, "no lock file at %s", lock);
  t_ok(dk_network_remove(env.dk, id));
  size_t removed = 0;
  char err[256];
  cr_assert_eq(jd_net_stock_reconcile(&removed, &env.ctx, 8, err, sizeof err), 0, "%s", err);
  cr_assert_eq(removed, 0);
  cr_assert_neq(access(lock, F_OK), 0, "the lock file of a removed network stayed");
  free(id);
}

Test(net_stock, judger_gc_networks_removes_every_idle_one_and_keeps_a_leased_one) {
  jd_net_stock *s = stock_new(4);
  char err[256];
  cr_assert_eq(jd_net_stock_fill(s, 3, err, sizeof err), 0, "%s", err);
  char *leased = dup_id(take(s, "r1"));
  char cmd[1200];
  snprintf(cmd, sizeof cmd,
           "%s/bin/judger gc --networks --json --state-dir %s --host-id %s > %s/gc.json",
           JD_BINARY_DIR, env.state, env.host, env.out);
  cr_assert_eq(system(cmd), 0, "%s", cmd);
  char *out = tm_read(&env, "gc.json", NULL);
  cr_assert(strstr(out, "\"networks_removed\":2"), "%s", out);
  free(out);
  cr_assert_eq(endpoints(leased), 0, "judger gc removed a leased network");
  jd_net_stock_give_back_run(s, "r1");
  free(leased);
  jd_net_stock_free(s);
}

/* A child takes two leases, puts a container on one and dies by SIGKILL. */
Test(net_stock, after_a_kill_9_no_take_gets_a_network_with_an_endpoint) {
  int pfd[2];
  cr_assert_eq(pipe(pfd), 0);
  pid_t pid = fork();
  cr_assert_geq(pid, 0);
  if (pid == 0) {
    close(pfd[0]);
    dk_client *dk = NULL;
    if (dk_client_new(&dk, NULL))
      _exit(2);
    jd_ctx ctx = env.ctx;
    ctx.dk = dk;
    jd_net_stock *s = NULL;
    const char *a = NULL, *b = NULL;
    char err[256];
    if (jd_net_stock_new(&s, &ctx, 4, err, sizeof err) ||
        jd_net_stock_take(&a, s, "dead", err, sizeof err) ||
        jd_net_stock_take(&b, s, "dead", err, sizeof err))
      _exit(3);
    dk_kv labels[] = {{JD_LABEL_HOST, env.host}};
    const char *cmd[] = {"sleep", "300", NULL};
    dk_container_config cc = {.image = T_BUSYBOX_IMAGE, .cmd = cmd, .labels = labels, .nlabels = 1};
    cc.host.network_mode = jd_net_stock_name(s, a);
    char *cid = NULL;
    if (dk_container_create(&cid, dk, NULL, &cc) || dk_container_start(dk, cid))
      _exit(4);
    dprintf(pfd[1], "%s\n%s\n", a, b);
    close(pfd[1]);
    for (;;)
      pause();
  }
  close(pfd[1]);
  char buf[300] = "";
  FILE *f = fdopen(pfd[0], "r");
  char a[100] = "", b[100] = "";
  cr_assert(fgets(buf, sizeof buf, f), "the child took no leases");
  sscanf(buf, "%99s", a);
  cr_assert(fgets(buf, sizeof buf, f));
  sscanf(buf, "%99s", b);
  fclose(f);
  /* While the child lives its leases are its own. */
  jd_net_stock *s = stock_new(4);
  size_t removed = 0;
  char err[256];
  cr_assert_eq(jd_net_stock_reconcile(&removed, &env.ctx, 8, err, sizeof err), 0, "%s", err);
  cr_assert_eq(removed, 0, "a live holder's network was removed");
  kill(pid, SIGKILL);
  int st;
  cr_assert_eq(waitpid(pid, &st, 0), pid);
  /* Both locks are free now, and neither network is handed out: the one
   * with the container has an endpoint, and the empty one was leased by a
   * holder that died (its lock file still marked: an engine call of the
   * dead process could still land on it). */
  for (int i = 0; i < 3; i++) {
    const char *id = take(s, "r1");
    cr_assert_eq(endpoints(id), 0, "a take got a network with an endpoint");
    cr_assert(strcmp(id, a) && strcmp(id, b), "a dead holder's network was handed out");
  }
  cr_assert_eq(endpoints(a), -1, "the dirty network was not removed");
  cr_assert_eq(endpoints(b), -1, "the dead holder's empty network was not removed");
  jd_net_stock_give_back_run(s, "r1");
  jd_net_stock_free(s);
}

Test(net_stock, reconcile_cleans_up_after_a_kill_9) {
  pid_t pid = fork();
  cr_assert_geq(pid, 0);
  if (pid == 0) {
    dk_client *dk = NULL;
    if (dk_client_new(&dk, NULL))
      _exit(2);
    jd_ctx ctx = env.ctx;
    ctx.dk = dk;
    jd_net_stock *s = NULL;
    const char *a = NULL;
    char err[256];
    if (jd_net_stock_new(&s, &ctx, 4, err, sizeof err) ||
        jd_net_stock_take(&a, s, "dead", err, sizeof err))
      _exit(3);
    dk_kv labels[] = {{JD_LABEL_HOST, env.host}};
    const char *cmd[] = {"sleep", "300", NULL};
    dk_container_config cc = {.image = T_BUSYBOX_IMAGE, .cmd = cmd, .labels = labels, .nlabels = 1};
    cc.host.network_mode = jd_net_stock_name(s, a);
    char *cid = NULL;
    if (dk_container_create(&cid, dk, NULL, &cc) || dk_container_start(dk, cid))
      _exit(4);
    raise(SIGKILL);
  }
  int st;
  cr_assert_eq(waitpid(pid, &st, 0), pid);
  cr_assert(WIFSIGNALED(st), "the child failed before its kill: %d", WEXITSTATUS(st));
  size_t removed = 0;
  char err[256];
  cr_assert_eq(jd_net_stock_reconcile(&removed, &env.ctx, 8, err, sizeof err), 0, "%s", err);
  cr_assert_eq(removed, 1);
}
