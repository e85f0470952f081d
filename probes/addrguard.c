/* addrguard.c - the private-address guard as two tables (IPv4, IPv6) and
 * a longest-prefix match over them. */
#include "addrguard.h"

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef enum {
    ADDRGUARD_BLOCK,            /* never connect there */
    ADDRGUARD_EMBED_LOW32,      /* judge the IPv4 address in the last 32 bits */
    ADDRGUARD_EMBED_6TO4,       /* judge the IPv4 address in bits 16..47 */
} addrguard_action_t;

typedef struct {
    uint8_t prefix[16];         /* IPv4 ranges use the first 4 bytes */
    unsigned bits;
    addrguard_action_t action;
    const char *name;           /* NULL for the embedding forms */
} addrguard_range_t;

/* IANA IPv4 Special-Purpose Address Registry (RFC 6890), and what is
 * not globally reachable beyond it.  Longest prefix wins, so the order
 * is free; it follows the registry. */
static const addrguard_range_t addrguard_v4[] = {
    {{0, 0, 0, 0}, 8, ADDRGUARD_BLOCK, "this-network"},           /* RFC 791 */
    {{10, 0, 0, 0}, 8, ADDRGUARD_BLOCK, "private"},               /* RFC 1918 */
    {{100, 64, 0, 0}, 10, ADDRGUARD_BLOCK, "cgnat"},              /* RFC 6598 */
    {{127, 0, 0, 0}, 8, ADDRGUARD_BLOCK, "loopback"},             /* RFC 1122 */
    {{169, 254, 0, 0}, 16, ADDRGUARD_BLOCK, "link-local"},        /* RFC 3927 */
    /* the instance metadata service of every large cloud: credentials */
    {{169, 254, 169, 254}, 32, ADDRGUARD_BLOCK, "cloud-metadata"},
    {{172, 16, 0, 0}, 12, ADDRGUARD_BLOCK, "private"},            /* RFC 1918 */
    {{192, 0, 0, 0}, 24, ADDRGUARD_BLOCK, "ietf-protocol"},       /* RFC 6890 */
    {{192, 0, 2, 0}, 24, ADDRGUARD_BLOCK, "documentation"},       /* RFC 5737 */
    {{192, 168, 0, 0}, 16, ADDRGUARD_BLOCK, "private"},           /* RFC 1918 */
    {{198, 18, 0, 0}, 15, ADDRGUARD_BLOCK, "benchmarking"},       /* RFC 2544 */
    {{198, 51, 100, 0}, 24, ADDRGUARD_BLOCK, "documentation"},    /* RFC 5737 */
    {{203, 0, 113, 0}, 24, ADDRGUARD_BLOCK, "documentation"},     /* RFC 5737 */
    {{224, 0, 0, 0}, 4, ADDRGUARD_BLOCK, "multicast"},            /* RFC 5771 */
    {{240, 0, 0, 0}, 4, ADDRGUARD_BLOCK, "reserved"},             /* RFC 1112 */
    {{255, 255, 255, 255}, 32, ADDRGUARD_BLOCK, "broadcast"},     /* RFC 919 */
};

/* IANA IPv6 Special-Purpose Address Registry, plus the forms that carry
 * an IPv4 address: an attacker who cannot publish A 127.0.0.1 may try
 * AAAA ::ffff:127.0.0.1 instead. */
static const addrguard_range_t addrguard_v6[] = {
    {{0}, 128, ADDRGUARD_BLOCK, "unspecified"},                               /* RFC 4291 */
    {{[15] = 1}, 128, ADDRGUARD_BLOCK, "loopback"},                           /* RFC 4291 */
    /* RFC 4291 §2.5.5.1: IPv4-compatible, deprecated; ::/128 and ::1
     * above are longer prefixes and win. */
    {{0}, 96, ADDRGUARD_EMBED_LOW32, NULL},
    {{[10] = 0xff, [11] = 0xff}, 96, ADDRGUARD_EMBED_LOW32, NULL},          /* RFC 4291 §2.5.5.2 */
    {{0x00, 0x64, 0xff, 0x9b}, 96, ADDRGUARD_EMBED_LOW32, NULL},              /* RFC 6052 NAT64 */
    {{0x00, 0x64, 0xff, 0x9b, 0x00, 0x01}, 48, ADDRGUARD_BLOCK, "nat64-local"}, /* RFC 8215 */
    {{0x01, 0x00}, 64, ADDRGUARD_BLOCK, "discard"},                           /* RFC 6666 */
    /* RFC 4380: the IPv4 server and client are obscured (XOR-ed) in the
     * address, so there is nothing honest to judge: never. */
    {{0x20, 0x01, 0x00, 0x00}, 32, ADDRGUARD_BLOCK, "teredo"},
    {{0x20, 0x01, 0x00, 0x02, 0x00, 0x00}, 48, ADDRGUARD_BLOCK, "benchmarking"}, /* RFC 5180 */
    {{0x20, 0x01, 0x0d, 0xb8}, 32, ADDRGUARD_BLOCK, "documentation"},         /* RFC 3849 */
    {{0x20, 0x02}, 16, ADDRGUARD_EMBED_6TO4, NULL},                           /* RFC 3056 6to4 */
    {{0x3f, 0xff}, 20, ADDRGUARD_BLOCK, "documentation"},                     /* RFC 9637 */
    {{0xfc}, 7, ADDRGUARD_BLOCK, "unique-local"},                             /* RFC 4193 */
    /* AWS's IPv6 instance metadata service, inside fc00::/7 */
    {{0xfd, 0x00, 0x0e, 0xc2, [14] = 0x02, [15] = 0x54}, 128, ADDRGUARD_BLOCK, "cloud-metadata"},
    {{0xfe, 0x80}, 10, ADDRGUARD_BLOCK, "link-local"},                        /* RFC 4291 */
    {{0xfe, 0xc0}, 10, ADDRGUARD_BLOCK, "site-local"},                        /* RFC 3879 */
    {{0xff}, 8, ADDRGUARD_BLOCK, "multicast"},                                /* RFC 4291 */
};

static bool addrguard_prefix_match(const uint8_t *addr, const addrguard_range_t *r)
{
    unsigned whole = r->bits / 8, rest = r->bits % 8;

    if (memcmp(addr, r->prefix, whole) != 0)
        return false;
    if (rest == 0)
        return true;
    uint8_t mask = (uint8_t)(0xff << (8 - rest));
    return (addr[whole] & mask) == (r->prefix[whole] & mask);
}

/* The longest range that holds addr, or NULL. */
static const addrguard_range_t *addrguard_lookup(const addrguard_range_t *table, size_t n,
                                                 const uint8_t *addr)
{
    const addrguard_range_t *best = NULL;

    for (size_t i = 0; i < n; i++)
        if (addrguard_prefix_match(addr, &table[i]) && (best == NULL || table[i].bits > best->bits))
            best = &table[i];
    return best;
}

static addrguard_verdict_t addrguard_v4_check(const uint8_t addr[4], const char **range)
{
    const addrguard_range_t *r =
        addrguard_lookup(addrguard_v4, sizeof(addrguard_v4) / sizeof(addrguard_v4[0]), addr);

    if (r == NULL)
        return ADDRGUARD_ALLOWED;
    *range = r->name;
    return ADDRGUARD_BLOCKED;
}

static addrguard_verdict_t addrguard_v6_check(const uint8_t addr[16], const char **range)
{
    const addrguard_range_t *r =
        addrguard_lookup(addrguard_v6, sizeof(addrguard_v6) / sizeof(addrguard_v6[0]), addr);

    if (r == NULL)
        return ADDRGUARD_ALLOWED;
    switch (r->action) {
    case ADDRGUARD_EMBED_LOW32:
        return addrguard_v4_check(addr + 12, range);
    case ADDRGUARD_EMBED_6TO4:
        return addrguard_v4_check(addr + 2, range);
    case ADDRGUARD_BLOCK:
        break;
    }
    *range = r->name;
    return ADDRGUARD_BLOCKED;
}

addrguard_verdict_t addrguard_check(const struct sockaddr *sa, const char **range)
{
    const char *name = NULL;
    addrguard_verdict_t verdict;

    if (sa != NULL && sa->sa_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
        verdict = addrguard_v4_check((const uint8_t *)&sin->sin_addr, &name);
    } else if (sa != NULL && sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
        verdict = addrguard_v6_check(sin6->sin6_addr.s6_addr, &name);
    } else {
        /* only IP is ever probed; anything else is nobody's to connect to */
        verdict = ADDRGUARD_BLOCKED;
        name = "unknown-family";
    }
    if (range != NULL)
        *range = name;
    return verdict;
}
