/* Cores of the host's pool that belong to one match (limits.cpuset
 * "auto", docs/match-spec.md): the match leases up to 1 + its AIs' count of
 * free cores (a lease is a non-blocking flock on <state_dir>/locks/cpu-<n>,
 * so the daemon's slots and `judger run` share one pool and a dead
 * process's cores come back with it). AI i gets core i of the lease, the
 * game logic the one after the AIs'; when the lease is short they share,
 * round robin, and say so (shared). With no free core at all, everyone runs
 * on the whole pool, shared.
 */
#ifndef JD_CPU_POOL_H
#define JD_CPU_POOL_H

#include <stdbool.h>
#include <stddef.h>

#include "common/context.h"

/* Room for a cpuset string ("0-255" or a list of one match's cores). */
#define JD_CPUSET_MAX 64

typedef struct jd_cpu_lease jd_cpu_lease;

/* Leases cores for a match of nais AIs from ctx's pool (ctx->cpu_pool;
 * the engine's CPUs when unset). Returns 0, or -1 with err (a pool that
 * cannot be read). */
int jd_cpu_lease_take(jd_cpu_lease **out, const jd_ctx *ctx, size_t nais, char *err, size_t errlen);
/* The cpuset of AI ai's instances (ai -1: the game logic) into buf ("3",
 * or the pool when nothing was leased); *shared: another container of the
 * match may run on it. "" (no cpuset) for a NULL lease or a buf too short.
 * Returns buf. */
const char *jd_cpu_lease_for(const jd_cpu_lease *l, int ai, bool *shared, char *buf, size_t buflen);
/* Gives the cores back (NULL-safe). */
void jd_cpu_lease_free(jd_cpu_lease *l);

/* ---- the parts, for the settings' check and the tests ------------------- */

/* CPU numbers a pool may name: 0 to JD_CPU_POOL_MAX - 1. */
#define JD_CPU_POOL_MAX 1024

/* A pool: its CPUs in increasing order, each once. */
typedef struct jd_cpu_list {
  size_t n;
  unsigned short cpu[JD_CPU_POOL_MAX];
} jd_cpu_list;

/* Parses a cpuset list ("0-7", "0,2,4-6": numbers below JD_CPU_POOL_MAX
 * without sign, space or leading zero, ranges low-high) into out, whose
 * canonical form (jd_cpu_list_format) must fit in JD_CPUSET_MAX. 0, or -1
 * with err naming cpu_pool. */
int jd_cpu_list_parse(jd_cpu_list *out, const char *s, char *err, size_t errlen);
/* The canonical list of n increasing CPUs ("0-3,6") into buf. 0, or -1
 * when it does not fit (buf then holds ""). */
int jd_cpu_list_format(char *buf, size_t buflen, const unsigned short *cpu, size_t n);

/* No core of the lease: the whole pool (jd_cpu_assign). */
#define JD_CPU_WHOLE_POOL ((size_t)-1)

/* The assignment, a pure function: the index among nheld leased cores of
 * AI ai (-1: the game logic) in a match of nais AIs, or JD_CPU_WHOLE_POOL
 * (nothing leased, or ai out of range). AI i gets core i while nheld > i,
 * else core i % nheld; the game logic core nais while nheld > nais, else
 * the last core. *shared: another AI or the game logic gets that core too
 * (the instances of one AI always share their AI's core). */
size_t jd_cpu_assign(size_t nheld, size_t nais, int ai, bool *shared);

#endif
