/* Reconciliation of a host's leftovers (see reconcile.h). */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "build/build_net.h"
#include "common/context.h"
#include "common/labels.h"
#include "common/run_owner.h"
#include "common/util.h"
#include "daemon/reconcile.h"
#include "match/cgroup_meter.h"
#include "match/net_stock.h"

void jd_owned_free(char **v) {
  if (!v)
    return;
  for (char **p = v; *p; p++)
    free(*p);
  free(v);
}

/* Appends s (taken over) to v unless it is there already. */
static void add_unique(char ***v, size_t *n, size_t *cap, char *s) {
  for (size_t i = 0; i < *n; i++)
    if (!strcmp((*v)[i], s)) {
      free(s);
      return;
    }
  if (*n + 1 >= *cap) {
    size_t ncap = *cap ? *cap * 2 : 16;
    char **grown = realloc(*v, ncap * sizeof **v);
    if (!grown) {
      free(s);
      return;
    }
    *v = grown;
    *cap = ncap;
  }
  (*v)[(*n)++] = s;
  (*v)[*n] = NULL;
}

/* What a sweep keeps: the labels fn reports (this process's runs) and,
 * with a state dir, those of every live run under it (run_owner.h; dead
 * runs' files are removed). 0 and *out (NULL = nothing owned), or an
 * error: a runs directory that cannot be read tells no run dead, and the
 * sweep removes nothing. */
static int owners_collect(char ***out, jd_owned_fn fn, void *ud, const char *state_dir) {
  *out = NULL;
  char **runs = NULL;
  if (state_dir && jd_run_owner_live(&runs, state_dir, NULL) != 0)
    return errno == ENOMEM ? DK_ENOMEM : DK_EIO;
  char **mine = fn ? fn(ud) : NULL, **v = NULL;
  size_t n = 0, cap = 0;
  for (char **p = mine; p && *p; p++)
    add_unique(&v, &n, &cap, *p);
  for (char **p = runs; p && *p; p++)
    add_unique(&v, &n, &cap, *p);
  free(mine);
  free(runs);
  *out = v;
  return 0;
}

/* Counts one removal's outcome: gone already (404) is neither a removal nor
 * a failure; the first failure's code is kept in *first. */
static void count_removal(jd_reconcile_report *rep, size_t *removed, int *first, int rc) {
  if (rc == 0) {
    (*removed)++;
  } else if (rc != DK_ENOTFOUND) {
    rep->failures++;
    if (!*first)
      *first = rc;
  }
}

/* A build's network may still have the build proxy (not this host's
 * container) on it: disconnected, then removed. Answers as the engine's
 * removal does (0, DK_ENOTFOUND or the engine's code), for count_removal. */
static int remove_network(dk_client *dk, const char *id) {
  bool was_gone = false;
  if (jd_build_net_remove(&was_gone, dk, id, dk_now_ms()) != 0) {
    const dk_error *e = dk_error_last();
    return e && e->code ? e->code : DK_ESERVER;
  }
  return was_gone ? DK_ENOTFOUND : 0;
}

/* Ids of what the running tasks hold: the containers (nets false) or the
 * networks labelled with the host and one of the owner labels,
 * NULL-terminated; NULL when there is none (or on failure, with *rc). */
static char **owned_ids(int *rc, dk_client *dk, const char *host_label, char **owned, bool nets) {
  char **ids = NULL;
  size_t n = 0;
  *rc = 0;
  for (char **m = owned; m && *m && !*rc; m++) {
    const char *labels[] = {host_label, *m, NULL};
    dk_container_list *cl = NULL;
    dk_network_list *nl = NULL;
    *rc = nets ? dk_network_list_by_label(&nl, dk, labels)
               : dk_container_list_by_label(&cl, dk, true, labels);
    size_t got = *rc ? 0 : nets ? nl->count : cl->count;
    char **grown = got ? realloc(ids, (n + got + 1) * sizeof *ids) : ids;
    if (got && grown) {
      ids = grown;
      for (size_t i = 0; i < got; i++)
        ids[n++] = strdup(nets ? nl->items[i].id : cl->items[i].id);
      ids[n] = NULL;
    }
    dk_container_list_free(cl);
    dk_network_list_free(nl);
  }
  return ids;
}

static bool listed(char *const *ids, const char *id) {
  for (char *const *p = ids; p && *p; p++)
    if (!strcmp(*p, id))
      return true;
  return false;
}

/* Ids of the host's stock networks (host_label and judger.role=stock),
 * NULL-terminated; NULL when there is none (or on failure, with *rc). */
static char **stock_ids(int *rc, dk_client *dk, const char *host_label) {
  char role[64];
  snprintf(role, sizeof role, "%s=%s", JD_LABEL_ROLE, JD_ROLE_NET_STOCK);
  const char *labels[] = {host_label, role, NULL};
  dk_network_list *nl = NULL;
  *rc = dk_network_list_by_label(&nl, dk, labels);
  char **ids = *rc || !nl->count ? NULL : calloc(nl->count + 1, sizeof *ids);
  for (size_t i = 0; ids && i < nl->count; i++)
    ids[i] = strdup(nl->items[i].id);
  dk_network_list_free(nl);
  return ids;
}

/* The stock's networks whose lock is free and that have an endpoint are
 * removed (a judger died holding one, or something joined an idle one);
 * the daemon trims the stock to its setting at start (cmd_daemon.c), so
 * a sweep keeps up to the ceiling. A failure counts as one. */
static void stock_reconcile(jd_reconcile_report *rep, dk_client *dk, const char *host_id,
                            const char *state_dir) {
  jd_ctx ctx = {.dk = dk, .state_dir = state_dir, .host_id = host_id};
  size_t removed = 0;
  char why[96];
  int rc = jd_net_stock_reconcile(&removed, &ctx, JD_NET_STOCK_MAX, why, sizeof why);
  rep->networks += removed;
  if (rc) {
    rep->failures++;
    if (!rep->error[0])
      snprintf(rep->error, sizeof rep->error, "stock networks: %s", why);
  }
}

/* The edge of the engine's codes (common/error.h, rule 5): the first
 * failure's text in rep->error, and -1. */
static int failed(jd_reconcile_report *rep, int code) {
  if (!code)
    return 0;
  if (!rep->error[0])
    snprintf(rep->error, sizeof rep->error, "%s", dk_strerror(code));
  return -1;
}

int jd_reconcile_engine_in(jd_reconcile_report *rep, dk_client *dk, const char *host_id,
                           const char *state_dir, jd_owned_fn owned_fn, void *ud) {
  char label[300];
  snprintf(label, sizeof label, "%s=%s", JD_LABEL_HOST, host_id);
  const char *labels[] = {label, NULL};
  int first = 0, rc = 0;
  dk_container_list *cl = NULL;
  dk_network_list *nl = NULL;
  char **owned = NULL, **keep_c = NULL, **keep_n = NULL, **stock = NULL;
  /* Listed before the owners are asked: see jd_owned_fn. */
  rc = dk_container_list_by_label(&cl, dk, true, labels);
  if (!rc)
    rc = dk_network_list_by_label(&nl, dk, labels);
  /* The stock's networks (match/net_stock.h) are no run's: they go by
   * their locks and endpoints (stock_reconcile), never by owners. Listed
   * after the host's, so a stock network made in between is still known
   * as one. */
  if (!rc)
    stock = stock_ids(&rc, dk, label);
  if (rc)
    goto cleanup;
  rc = owners_collect(&owned, owned_fn, ud, state_dir);
  if (!rc)
    keep_c = owned_ids(&rc, dk, label, owned, false);
  if (!rc)
    keep_n = owned_ids(&rc, dk, label, owned, true);
  if (rc)
    goto cleanup;
  /* force: running containers of a dead run are killed too; `created`
   * ones (a create that landed after its judger died) go the same way. */
  for (size_t i = 0; i < cl->count; i++)
    if (!listed(keep_c, cl->items[i].id)) {
      /* A player its dead judger had frozen (turn clocks) is thawed first:
       * the engine does not know it is frozen. */
      jd_meter_thaw_host(cl->items[i].id, NULL);
      count_removal(rep, &rep->containers, &first,
                    dk_container_remove(dk, cl->items[i].id, true, true));
    }
  for (size_t i = 0; i < nl->count; i++)
    if (!listed(keep_n, nl->items[i].id) && !listed(stock, nl->items[i].id))
      count_removal(rep, &rep->networks, &first, remove_network(dk, nl->items[i].id));
  if (state_dir)
    stock_reconcile(rep, dk, host_id, state_dir);
cleanup:
  dk_container_list_free(cl);
  dk_network_list_free(nl);
  jd_owned_free(stock);
  jd_owned_free(owned);
  jd_owned_free(keep_c);
  jd_owned_free(keep_n);
  return failed(rep, first ? first : rc);
}

int jd_reconcile_engine(jd_reconcile_report *rep, dk_client *dk, const char *host_id,
                        jd_owned_fn owned, void *ud) {
  return jd_reconcile_engine_in(rep, dk, host_id, NULL, owned, ud);
}

/* True when some container (of any host, any state) carries
 * judger.run=<run_key>: the work directory may still be in use. */
static int run_in_use(bool *used, dk_client *dk, const char *run_key) {
  char label[PATH_MAX];
  snprintf(label, sizeof label, "%s=%s", JD_LABEL_RUN, run_key);
  const char *labels[] = {label, NULL};
  dk_container_list *cl = NULL;
  int rc = dk_container_list_by_label(&cl, dk, true, labels);
  if (rc)
    return rc;
  *used = cl->count > 0;
  dk_container_list_free(cl);
  return 0;
}

/* A run key is "<match id>-<random hex>": held by an owner label
 * judger.match=<match id> (match ids may hold '-': "a" does not hold
 * "a-b-<random>", a run of match "a-b"). */
static bool owned_run(char *const *owned, const char *run_key) {
  size_t k = strlen(JD_LABEL_MATCH);
  for (char *const *m = owned; m && *m; m++) {
    if (strncmp(*m, JD_LABEL_MATCH, k) || (*m)[k] != '=')
      continue;
    const char *id = *m + k + 1;
    size_t n = strlen(id);
    if (!strncmp(run_key, id, n) && run_key[n] == '-' && run_key[n + 1] &&
        !strchr(run_key + n + 1, '-'))
      return true;
  }
  return false;
}

/* The entries of a directory but "." and ".." (NULL-terminated, malloc'd;
 * NULL when there is none or on failure). */
static char **dir_names(DIR *d) {
  char **v = NULL;
  size_t n = 0, cap = 0;
  struct dirent *de;
  while ((de = readdir(d)))
    if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
      add_unique(&v, &n, &cap, strdup(de->d_name));
  return v;
}

int jd_reconcile_workdirs(jd_reconcile_report *rep, dk_client *dk, const char *state_dir,
                          jd_owned_fn owned_fn, void *ud) {
  char dir[PATH_MAX];
  if (snprintf(dir, sizeof dir, "%s/matches", state_dir) >= (int)sizeof dir)
    return failed(rep, DK_EINVAL);
  DIR *d = opendir(dir);
  if (!d)
    return 0; /* no match ever ran here */
  /* Listed before the owners are asked, as the engine is: a directory made
   * after its run took its file. */
  char **names = dir_names(d);
  closedir(d);
  char **owned = NULL;
  int first = owners_collect(&owned, owned_fn, ud, state_dir);
  for (char **nm = first ? NULL : names; nm && *nm; nm++) {
    if ((*nm)[0] == '.' || owned_run(owned, *nm))
      continue;
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/%s", dir, *nm) >= (int)sizeof path)
      continue;
    struct stat st;
    if (lstat(path, &st) != 0 || !S_ISDIR(st.st_mode))
      continue;
    bool used = true;
    int rc = run_in_use(&used, dk, *nm);
    if (rc) {
      if (!first)
        first = rc;
      continue;
    }
    if (used)
      continue;
    if (jd_rm_rf(path) == 0)
      rep->workdirs++;
    else
      rep->failures++;
  }
  jd_owned_free(names);
  jd_owned_free(owned);
  return failed(rep, first);
}

int jd_reconcile_host(jd_reconcile_report *rep, dk_client *dk, const char *host_id,
                      const char *state_dir, jd_owned_fn owned, void *ud) {
  int rc = jd_reconcile_engine_in(rep, dk, host_id, state_dir, owned, ud);
  int rc2 = jd_reconcile_workdirs(rep, dk, state_dir, owned, ud);
  return rc || rc2 ? -1 : 0;
}
