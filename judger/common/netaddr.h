/* Which addresses the judger itself may connect to on a program's behalf.
 *
 * A task names URLs the judger fetches (a git repository, a tarball): the
 * judger process connects, from the host's own network, where the
 * containers' isolation does not apply. Without a rule a URL reaches the
 * host's loopback services (an engine API on 2375, Redis), its link-local
 * neighbours (a cloud's metadata service at 169.254.169.254) and the LAN.
 * The rule is checked on the address actually connected to, after name
 * resolution and on every redirect, so neither DNS nor a redirect can get
 * round it. */
#ifndef JD_NETADDR_H
#define JD_NETADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/* True when sa is a public unicast address: false for unspecified,
 * loopback, private (10/8, 172.16/12, 192.168/16, 100.64/10 shared, fc00::/7
 * unique local), link-local (169.254/16, fe80::/10), multicast, broadcast,
 * reserved (0/8, 240/4, 192.0.0/24, documentation and benchmark ranges) and
 * IPv4-mapped or -compatible forms of those. Anything but AF_INET and
 * AF_INET6 is not public. */
bool jd_addr_is_public(const struct sockaddr *sa);

/* sa as text ("127.0.0.1", "::1") into out; "?" when it cannot be said. */
void jd_addr_text(char *out, size_t outlen, const struct sockaddr *sa);

#endif
