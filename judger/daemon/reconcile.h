/* Reconciliation: what this host's judgers left on the engine and on disk
 * and no running task and no live run of any judger process owns
 * (common/run_owner.h) is removed (containers in any state, `created`
 * included, networks, match work directories with their FIFOs): at start
 * (what a killed run left), then periodically, right after the engine
 * comes back, and once more a grace period after each of those, so that
 * creates still in flight when the first sweep listed are caught. The
 * sweeper thread (sweeper.c) drives it; docs/daemon.md "Reconciliation". */
#ifndef JD_RECONCILE_H
#define JD_RECONCILE_H

#include <stddef.h>

#include "dockerapi/dockerapi.h"

typedef struct jd_reconcile_report {
  size_t containers; /* removed */
  size_t networks;
  size_t workdirs; /* match work directories (with their FIFOs) */
  size_t failures; /* objects that could not be removed */
  /* The first failure (the engine's answer, dk_strerror()), "" when none:
   * what a -1 was. */
  char error[128];
} jd_reconcile_report;

/* The labels ("k=v") of what the host's running tasks own right now
 * (judger.match=<id> for a match), NULL-terminated, malloc'd (freed with
 * jd_owned_free()); NULL = none.
 * Asked after the engine was listed: a task that started before the
 * listing is running or over by then, so nothing of a live task is taken. */
typedef char **(*jd_owned_fn)(void *ud);

/* Removes every container (running or not) and then every network
 * labelled judger.host=<host_id> that carries no owned label (owned may be
 * NULL: nothing is owned), but the stock's (judger.role=stock,
 * match/net_stock.h): those go by their lock, never by owner. Returns 0,
 * or -1 with the first failure in rep->error (the rest is still
 * attempted). */
int jd_reconcile_engine(jd_reconcile_report *rep, dk_client *dk, const char *host_id,
                        jd_owned_fn owned, void *ud);
/* The same, and what any live run under state_dir holds is owned too (the
 * labels its run file lists, common/run_owner.h: `judger run`, `judger
 * build`, another daemon's tasks); dead runs' files are removed. A runs
 * directory that cannot be read removes nothing (-1). Then the stock's
 * networks whose lock is free and that have an endpoint are removed
 * (jd_net_stock_reconcile), counted in rep->networks. */
int jd_reconcile_engine_in(jd_reconcile_report *rep, dk_client *dk, const char *host_id,
                           const char *state_dir, jd_owned_fn owned, void *ud);

/* Removes match work directories under <state_dir>/matches that no
 * container uses any more (no container labelled judger.run=<dir name>)
 * and that no owned match holds ("<match id>-..."), FIFOs included; the
 * live runs under state_dir own too (as jd_reconcile_engine_in). The
 * directory is listed before the owners are asked. Call it after
 * jd_reconcile_engine_in(). */
int jd_reconcile_workdirs(jd_reconcile_report *rep, dk_client *dk, const char *state_dir,
                          jd_owned_fn owned, void *ud);

/* jd_reconcile_engine_in() and jd_reconcile_workdirs(), in that order;
 * -1 when either failed (rep->error: the first failure). Every sweep of
 * the daemon goes through here. */
int jd_reconcile_host(jd_reconcile_report *rep, dk_client *dk, const char *host_id,
                      const char *state_dir, jd_owned_fn owned, void *ud);

/* Frees what a jd_owned_fn returned (NULL-safe). */
void jd_owned_free(char **v);

#endif
