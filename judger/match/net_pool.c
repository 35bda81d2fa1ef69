/* The judger's address pool (see net_pool.h). */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "match/net_pool.h"

int jd_net_pool_parse(jd_net_pool *out, const char *cidr, char *err, size_t errlen) {
  memset(out, 0, sizeof *out);
  if (!cidr || !*cidr)
    return 0;
  char addr[20];
  int prefix = -1, used = 0;
  const char *slash = strchr(cidr, '/');
  size_t alen = slash ? (size_t)(slash - cidr) : 0;
  struct in_addr a;
  if (!slash || alen >= sizeof addr || sscanf(slash + 1, "%d%n", &prefix, &used) != 1 ||
      slash[1 + used] != '\0' || prefix < 8 || prefix > 28) {
    snprintf(err, errlen, "net pool \"%.40s\": want a.b.c.d/n with 8 <= n <= 28", cidr);
    return -1;
  }
  memcpy(addr, cidr, alen);
  addr[alen] = '\0';
  if (inet_pton(AF_INET, addr, &a) != 1) {
    snprintf(err, errlen, "net pool \"%.40s\": not an IPv4 address", cidr);
    return -1;
  }
  uint32_t mask = prefix ? ~0u << (32 - prefix) : 0;
  out->base = ntohl(a.s_addr) & mask;
  out->prefix = prefix;
  return 0;
}

int jd_net_pool_prefix_for(const jd_net_pool *p, size_t endpoints) {
  /* Network, broadcast and gateway addresses come on top. */
  size_t need = endpoints + 3;
  int prefix = 29;
  while (prefix > p->prefix && ((size_t)1 << (32 - prefix)) < need)
    prefix--;
  return prefix;
}

void jd_net_pool_subnet(const jd_net_pool *p, int sub_prefix, uint32_t pick, char subnet[20],
                        char gateway[16]) {
  uint32_t count = (uint32_t)1 << (sub_prefix - p->prefix);
  uint32_t net = p->base + ((pick % count) << (32 - sub_prefix));
  struct in_addr a = {.s_addr = htonl(net)}, g = {.s_addr = htonl(net + 1)};
  char text[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &a, text, sizeof text);
  snprintf(subnet, 20, "%s/%d", text, sub_prefix);
  inet_ntop(AF_INET, &g, gateway, 16);
}
