/* judger/common/netaddr.c: which addresses the judger's own fetches may
 * reach. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "common/netaddr.h"
#include "support.h"

static bool public4(const char *text) {
  struct sockaddr_in a = {.sin_family = AF_INET};
  cr_assert_eq(inet_pton(AF_INET, text, &a.sin_addr), 1, "%s", text);
  return jd_addr_is_public((struct sockaddr *)&a);
}

static bool public6(const char *text) {
  struct sockaddr_in6 a = {.sin6_family = AF_INET6};
  cr_assert_eq(inet_pton(AF_INET6, text, &a.sin6_addr), 1, "%s", text);
  return jd_addr_is_public((struct sockaddr *)&a);
}

Test(netaddr, the_hosts_neighbours_are_not_public) {
  const char *v4[] = {"127.0.0.1",  "127.255.255.254", "0.0.0.0",         "10.1.2.3",
                      "172.17.0.1", "172.31.255.255",  "192.168.1.1",     "169.254.169.254",
                      "100.64.0.1", "224.0.0.1",       "255.255.255.255", "240.0.0.1",
                      "192.0.2.10", "198.18.0.1",      "192.0.0.8",       NULL};
  for (const char **a = v4; *a; a++)
    cr_assert_not(public4(*a), "%s is public", *a);
  const char *v6[] = {"::1",
                      "::",
                      "fe80::1",
                      "fd00::1",
                      "fc12::1",
                      "ff02::1",
                      "::ffff:127.0.0.1",
                      "::ffff:169.254.169.254",
                      "::127.0.0.1",
                      "2001:db8::1",
                      "64:ff9b::a9fe:a9fe",
                      "2002:7f00:1::1",
                      "fec0::1",
                      NULL};
  for (const char **a = v6; *a; a++)
    cr_assert_not(public6(*a), "%s is public", *a);
}

Test(netaddr, public_addresses_are) {
  const char *v4[] = {"1.1.1.1",  "8.8.8.8", "151.101.2.132", "172.32.0.1", "100.128.0.1",
                      "11.0.0.1", NULL};
  for (const char **a = v4; *a; a++)
    cr_assert(public4(*a), "%s is not public", *a);
  const char *v6[] = {"2a04:4e42::644", "2606:4700::1111", "::ffff:8.8.8.8", "2002:0808:0808::1",
                      NULL};
  for (const char **a = v6; *a; a++)
    cr_assert(public6(*a), "%s is not public", *a);
  struct sockaddr un = {.sa_family = AF_UNIX};
  cr_assert_not(jd_addr_is_public(&un));
  cr_assert_not(jd_addr_is_public(NULL));
}

Test(netaddr, text) {
  struct sockaddr_in a = {.sin_family = AF_INET};
  inet_pton(AF_INET, "169.254.169.254", &a.sin_addr);
  char out[64];
  jd_addr_text(out, sizeof out, (struct sockaddr *)&a);
  cr_assert_str_eq(out, "169.254.169.254");
  struct sockaddr un = {.sa_family = AF_UNIX};
  jd_addr_text(out, sizeof out, &un);
  cr_assert_str_eq(out, "?");
}
