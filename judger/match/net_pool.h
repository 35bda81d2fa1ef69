/* The judger's address pool for match networks (see jd_ctx.net_pool and
 * docs/match-spec.md "Networks and the address pool"). A per-player
 * network needs three addresses (gateway, game logic, player): it gets a
 * /29 of the pool, so a /16 holds 8192 of them, against ~30 networks in the
 * engine's default pools. The subnet is picked at random and a clash with
 * another network (another match, another judger on the same engine) is
 * retried with another pick: no shared allocation state. */
#ifndef JD_NET_POOL_H
#define JD_NET_POOL_H

#include <stddef.h>
#include <stdint.h>

typedef struct jd_net_pool {
  uint32_t base; /* host order, aligned to prefix */
  int prefix;    /* 0 = the engine's own pools */
} jd_net_pool;

/* Parses "a.b.c.d/n" (8 <= n <= 28) or "" (engine's pools). Returns 0, or
 * -1 with a reason in err. */
int jd_net_pool_parse(jd_net_pool *out, const char *cidr, char *err, size_t errlen);

/* The smallest subnet prefix holding n endpoints plus the gateway (/29 at
 * least), not larger than the pool. */
int jd_net_pool_prefix_for(const jd_net_pool *p, size_t endpoints);

/* Subnet number `pick` (taken modulo the number of subnets of that size in
 * the pool) as "a.b.c.d/n" and its gateway (the first host address). */
void jd_net_pool_subnet(const jd_net_pool *p, int sub_prefix, uint32_t pick, char subnet[20],
                        char gateway[16]);

#endif
