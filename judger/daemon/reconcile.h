/* Startup reconciliation: what a judger left behind when it died (kill -9,
 * power loss) is removed before it takes its first task. */
#ifndef JD_RECONCILE_H
#define JD_RECONCILE_H

#include <stddef.h>

#include "dockerapi/dockerapi.h"

typedef struct jd_reconcile_report {
  size_t containers; /* removed */
  size_t networks;
  size_t workdirs; /* match work directories (with their FIFOs) */
  size_t failures; /* objects that could not be removed */
} jd_reconcile_report;

/* Removes every container (running or not) and then every network labelled
 * judger.host=<host_id>. Call it only when no task of that host runs: at
 * startup for this host, or for a host whose heartbeat expired. Returns 0,
 * or the first libdockerapi error (the rest is still attempted). */
int jd_reconcile_engine(jd_reconcile_report *rep, dk_client *dk, const char *host_id);

/* Removes match work directories under <state_dir>/matches that no
 * container uses any more (no container labelled judger.run=<dir name>),
 * FIFOs included. Call it after jd_reconcile_engine() at startup. */
int jd_reconcile_workdirs(jd_reconcile_report *rep, dk_client *dk, const char *state_dir);

#endif
