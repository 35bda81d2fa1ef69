/* Public and non-public addresses (see netaddr.h). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "common/netaddr.h"

/* An IPv4 address (host order) in a.b.c.d/bits. */
static bool in4(uint32_t a, uint32_t net, int bits) {
  uint32_t mask = bits ? 0xffffffffu << (32 - bits) : 0;
  return (a & mask) == (net & mask);
}

#define V4(a, b, c, d) (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (d))

static bool v4_public(uint32_t a) {
  static const struct {
    uint32_t net;
    int bits;
  } nonpublic[] = {
      {V4(0, 0, 0, 0), 8},       /* "this network" */
      {V4(10, 0, 0, 0), 8},      /* private */
      {V4(100, 64, 0, 0), 10},   /* shared (CGNAT) */
      {V4(127, 0, 0, 0), 8},     /* loopback */
      {V4(169, 254, 0, 0), 16},  /* link-local: cloud metadata services */
      {V4(172, 16, 0, 0), 12},   /* private: Docker's default bridge */
      {V4(192, 0, 0, 0), 24},    /* IETF protocol assignments */
      {V4(192, 0, 2, 0), 24},    /* documentation */
      {V4(192, 88, 99, 0), 24},  /* 6to4 relay */
      {V4(192, 168, 0, 0), 16},  /* private */
      {V4(198, 18, 0, 0), 15},   /* benchmarking */
      {V4(198, 51, 100, 0), 24}, /* documentation */
      {V4(203, 0, 113, 0), 24},  /* documentation */
      {V4(224, 0, 0, 0), 4},     /* multicast */
      {V4(240, 0, 0, 0), 4},     /* reserved, broadcast */
  };
  for (size_t i = 0; i < sizeof nonpublic / sizeof nonpublic[0]; i++)
    if (in4(a, nonpublic[i].net, nonpublic[i].bits))
      return false;
  return true;
}

static bool v6_public(const struct in6_addr *a) {
  const uint8_t *b = a->s6_addr;
  static const uint8_t zero10[10] = {0};
  /* ::ffff:a.b.c.d (mapped) and ::a.b.c.d (compatible, and :: and ::1). */
  if (!memcmp(b, zero10, 10) && ((b[10] == 0xff && b[11] == 0xff) || (!b[10] && !b[11])))
    return v4_public(V4(b[12], b[13], b[14], b[15])) && (b[10] || b[12] || b[13] || b[14]);
  if ((b[0] & 0xfe) == 0xfc) /* fc00::/7 unique local */
    return false;
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) /* fe80::/10 link-local */
    return false;
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0) /* fec0::/10 site-local */
    return false;
  if (b[0] == 0xff) /* multicast */
    return false;
  if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8) /* documentation */
    return false;
  if (b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b) /* NAT64 of an IPv4 */
    return v4_public(V4(b[12], b[13], b[14], b[15]));
  if (b[0] == 0x20 && b[1] == 0x02) /* 6to4: the IPv4 inside */
    return v4_public(V4(b[2], b[3], b[4], b[5]));
  return true;
}

bool jd_addr_is_public(const struct sockaddr *sa) {
  if (!sa)
    return false;
  if (sa->sa_family == AF_INET)
    return v4_public(ntohl(((const struct sockaddr_in *)(const void *)sa)->sin_addr.s_addr));
  if (sa->sa_family == AF_INET6)
    return v6_public(&((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr);
  return false;
}

void jd_addr_text(char *out, size_t outlen, const struct sockaddr *sa) {
  const void *a = NULL;
  if (sa && sa->sa_family == AF_INET)
    a = &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
  else if (sa && sa->sa_family == AF_INET6)
    a = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
  if (!a || !inet_ntop(sa->sa_family, a, out, (socklen_t)outlen))
    snprintf(out, outlen, "?");
}
