/* addrguard.h - the private-address guard (DESIGN.md): may danescan
 * connect to this address?
 *
 * A domain list is attacker-controlled input, and so are the MX and
 * address records behind it: without --allow-private, danescan never
 * connects to loopback, private, link-local, cloud-metadata, reserved or
 * otherwise special-purpose space (IANA IPv4/IPv6 Special-Purpose Address
 * Registries, RFC 6890), nor to an IPv6 form that carries such an IPv4
 * address inside it.  Pure: no I/O, no allocation.
 */
#ifndef DANESCAN_ADDRGUARD_H
#define DANESCAN_ADDRGUARD_H

#include <sys/socket.h>

typedef enum {
    ADDRGUARD_ALLOWED = 0,
    ADDRGUARD_BLOCKED,
} addrguard_verdict_t;

/* Classify sa (AF_INET or AF_INET6; the port is ignored).  When blocked,
 * *range (if range is non-NULL) names the range, a stable lower-case
 * word reports key on: "loopback", "private" (RFC 1918), "cgnat",
 * "link-local", "cloud-metadata", "this-network", "multicast",
 * "reserved", "broadcast", "documentation", "benchmarking",
 * "ietf-protocol", "unique-local", "site-local", "unspecified",
 * "nat64-local", "teredo", "discard", "unknown-family".  An IPv6 address
 * that embeds an IPv4 one (IPv4-mapped, IPv4-compatible, 6to4, NAT64) is
 * judged by that IPv4 address and named by its range.  When allowed,
 * *range is NULL.  Static strings. */
addrguard_verdict_t addrguard_check(const struct sockaddr *sa, const char **range);

#endif
