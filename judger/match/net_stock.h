/* The stock of ready networks: per-player (and per-match game logic)
 * networks kept between matches, so a match takes one instead of making
 * one (docs/match-spec.md "Pooled networks"). Not to be confused with the
 * address pool they are carved from (net_pool.h).
 *
 * Creating an internal network costs the engine an iptables pass; on two
 * cores a 2-player match made three of them and removed three. A stock
 * network is an internal /29 of the address pool (two endpoints: the game
 * logic and one player), labelled judger.host=<host>, judger.role=stock
 * and judger.stock=<12 hex of sha256 of the locks directory's device:inode>, named
 * "judger-<host>-net-<hex>", and carries no run label (a match's sweep by
 * run label does not remove it). A stock is one host id and one state
 * directory: two state directories under one host id (tests do that) are
 * two stocks that never see each other's networks, as their locks could
 * not keep them apart.
 *
 * Isolation is as before: a network serves one player of one match at a
 * time. A lease is an flock on <state_dir>/locks/net-<name> (no link
 * followed), held by the process using the network, so every judger of the
 * host (the daemon's slots, `judger run`, its detached cleaner) shares one
 * stock and the kernel drops the lease of a process that dies. A network
 * is taken only when its lock is free and the engine shows no endpoint on
 * it; it goes back only when, after the match, the engine shows no
 * endpoint on it; a network that cannot be proved empty is removed, never
 * reused. At most `keep` networks wait in the stock; beyond that a network
 * given back is removed. Reconciliation (jd_net_stock_reconcile) removes
 * stock networks whose lock is free and that have an endpoint, and those
 * beyond `keep`.
 *
 * Threads: one jd_net_stock per process, shared by every match of it; all
 * functions are thread-safe. */
#ifndef JD_NET_STOCK_H
#define JD_NET_STOCK_H

#include <stdbool.h>
#include <stddef.h>

#include "common/context.h"

typedef struct jd_net_stock jd_net_stock;

/* Most networks the stock keeps (the `net_stock` setting's ceiling). */
#define JD_NET_STOCK_MAX 256

/* A stock for ctx (its engine client, state directory, host id and
 * address pool, which must outlive the stock) keeping at most keep idle
 * networks; keep 0 = no stock (take creates, give back removes). 0, or -1
 * with the reason in err. */
int jd_net_stock_new(jd_net_stock **out, const jd_ctx *ctx, size_t keep, char *err, size_t errlen);
/* Frees s; networks still leased are given back first. Idle networks stay
 * on the engine for the next process. NULL is fine. */
void jd_net_stock_free(jd_net_stock *s);

/* A network for one endpoint besides the game logic, leased to the run
 * `run_key` until given back: taken from the stock when one is free and
 * empty, else created. *id is the network's id (the lease's, do not free).
 * 0, or -1 with the engine's words in err. */
int jd_net_stock_take(const char **id, jd_net_stock *s, const char *run_key, char *err,
                      size_t errlen);
/* Ends the lease of network id (after the caller removed or disconnected
 * what it put on it): kept when the engine shows it empty and the stock has
 * room, removed otherwise. Returns false when id is not leased from s (the
 * caller removes it as any network; s NULL too), true when it was. */
bool jd_net_stock_give_back(jd_net_stock *s, const char *id);
/* The name of network id while it is leased from s (containers name their
 * network), or NULL. Valid until the lease ends. */
const char *jd_net_stock_name(jd_net_stock *s, const char *id);
/* Ends every lease still held by run_key (the match's sweep: what a unit
 * thread could not give back), as jd_net_stock_give_back: a network with
 * anything left on it is scrubbed and removed, never kept. */
void jd_net_stock_give_back_run(jd_net_stock *s, const char *run_key);

/* Creates networks until want (at most keep) wait idle in the stock, for
 * a caller with time to spare (the daemon at start and between matches).
 * 0, or -1 with the reason in err. */
int jd_net_stock_fill(jd_net_stock *s, size_t want, char *err, size_t errlen);
/* Idle networks now in the stock of this process's view (for metrics and
 * tests; 0 for NULL). */
size_t jd_net_stock_idle(jd_net_stock *s);
/* Networks leased from s now (for metrics and tests; 0 for NULL). */
size_t jd_net_stock_leased(jd_net_stock *s);
/* Engine calls s has made so far (creates, inspects, lists, disconnects,
 * removes; for tests and measures). */
size_t jd_net_stock_calls(jd_net_stock *s);

/* Removes this host's stock networks whose lock is free and that have an
 * endpoint, and the free ones beyond keep (keep 0: all free ones, for
 * `judger gc --all`). *removed counts them. 0, or -1 with the reason. */
int jd_net_stock_reconcile(size_t *removed, const jd_ctx *ctx, size_t keep, char *err,
                           size_t errlen);

#endif
