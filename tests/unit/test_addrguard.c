/* test_addrguard.c - the private-address guard, one row per range: the
 * range's edges inside, and the first address just outside. */
#include "addrguard.h"
#include "check.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

typedef struct {
    const char *address;
    const char *want;           /* the range's name, NULL: allowed */
} guard_row_t;

static const guard_row_t guard_rows[] = {
    /* 0.0.0.0/8 */
    {"0.0.0.0", "this-network"},
    {"0.255.255.255", "this-network"},
    {"1.0.0.0", NULL},
    /* 10/8 */
    {"10.0.0.0", "private"},
    {"10.255.255.255", "private"},
    {"9.255.255.255", NULL},
    {"11.0.0.0", NULL},
    /* 100.64/10 */
    {"100.64.0.0", "cgnat"},
    {"100.127.255.255", "cgnat"},
    {"100.63.255.255", NULL},
    {"100.128.0.0", NULL},
    /* 127/8 */
    {"127.0.0.1", "loopback"},
    {"127.25.1.6", "loopback"},
    {"127.255.255.255", "loopback"},
    {"126.255.255.255", NULL},
    {"128.0.0.0", NULL},
    /* 169.254/16, and the metadata service inside it */
    {"169.254.0.0", "link-local"},
    {"169.254.255.255", "link-local"},
    {"169.254.169.254", "cloud-metadata"},
    {"169.254.169.253", "link-local"},
    {"169.254.169.255", "link-local"},
    {"169.253.255.255", NULL},
    {"169.255.0.0", NULL},
    /* 172.16/12 */
    {"172.16.0.0", "private"},
    {"172.31.255.255", "private"},
    {"172.15.255.255", NULL},
    {"172.32.0.0", NULL},
    /* 192.0.0/24 */
    {"192.0.0.0", "ietf-protocol"},
    {"192.0.0.255", "ietf-protocol"},
    {"191.255.255.255", NULL},
    {"192.0.1.0", NULL},
    /* 192.0.2/24 */
    {"192.0.2.0", "documentation"},
    {"192.0.2.255", "documentation"},
    {"192.0.3.0", NULL},
    /* 192.168/16 */
    {"192.168.0.0", "private"},
    {"192.168.255.255", "private"},
    {"192.167.255.255", NULL},
    {"192.169.0.0", NULL},
    /* 198.18/15 */
    {"198.18.0.0", "benchmarking"},
    {"198.19.255.255", "benchmarking"},
    {"198.17.255.255", NULL},
    {"198.20.0.0", NULL},
    /* 198.51.100/24 */
    {"198.51.100.0", "documentation"},
    {"198.51.100.255", "documentation"},
    {"198.51.99.255", NULL},
    {"198.51.101.0", NULL},
    /* 203.0.113/24 */
    {"203.0.113.0", "documentation"},
    {"203.0.113.255", "documentation"},
    {"203.0.112.255", NULL},
    {"203.0.114.0", NULL},
    /* 224/4, 240/4, and the broadcast address at its top */
    {"224.0.0.0", "multicast"},
    {"239.255.255.255", "multicast"},
    {"223.255.255.255", NULL},
    {"240.0.0.0", "reserved"},
    {"255.255.255.254", "reserved"},
    {"255.255.255.255", "broadcast"},
    /* ordinary addresses */
    {"8.8.8.8", NULL},
    {"192.0.32.10", NULL},

    /* ::/128, ::1/128 */
    {"::", "unspecified"},
    {"::1", "loopback"},
    /* ::/96 IPv4-compatible: judged by the IPv4 address */
    {"::2", "this-network"},
    {"::127.0.0.1", "loopback"},
    {"::10.1.2.3", "private"},
    {"::8.8.8.8", NULL},
    {"::1:0:0", NULL},
    /* ::ffff:0:0/96 IPv4-mapped */
    {"::ffff:127.0.0.1", "loopback"},
    {"::ffff:169.254.169.254", "cloud-metadata"},
    {"::ffff:192.168.1.1", "private"},
    {"::ffff:8.8.8.8", NULL},
    {"::fffe:127.0.0.1", NULL},
    {"::1:ffff:127.0.0.1", NULL},
    /* 64:ff9b::/96 NAT64, 64:ff9b:1::/48 local-use */
    {"64:ff9b::127.0.0.1", "loopback"},
    {"64:ff9b::10.0.0.1", "private"},
    {"64:ff9b::8.8.8.8", NULL},
    {"64:ff9b:0:0:0:1::", NULL},
    {"64:ff9b:1::", "nat64-local"},
    {"64:ff9b:1:ffff:ffff:ffff:ffff:ffff", "nat64-local"},
    {"64:ff9b:2::", NULL},
    /* 100::/64 discard */
    {"100::", "discard"},
    {"100::ffff:ffff:ffff:ffff", "discard"},
    {"100:0:0:1::", NULL},
    {"ff::ffff", NULL},
    /* 2001::/32 Teredo */
    {"2001::", "teredo"},
    {"2001:0:ffff:ffff:ffff:ffff:ffff:ffff", "teredo"},
    {"2001:1::", NULL},
    {"2000:ffff:ffff:ffff:ffff:ffff:ffff:ffff", NULL},
    /* 2001:2::/48 benchmarking */
    {"2001:2::", "benchmarking"},
    {"2001:2:0:ffff::", "benchmarking"},
    {"2001:2:1::", NULL},
    /* 2001:db8::/32, 3fff::/20 documentation */
    {"2001:db8::", "documentation"},
    {"2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", "documentation"},
    {"2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", NULL},
    {"2001:db9::", NULL},
    {"3fff::", "documentation"},
    {"3fff:fff:ffff::", "documentation"},
    {"3fff:1000::", NULL},
    /* 2002::/16 6to4: judged by the IPv4 address in bits 16..47 */
    {"2002:7f00:1::", "loopback"},
    {"2002:a9fe:a9fe::1", "cloud-metadata"},
    {"2002:c0a8:0101::", "private"},
    {"2002:0808:0808::", NULL},
    {"2003::", NULL},
    {"2001:ffff::", NULL},
    /* fc00::/7, with the AWS metadata service inside it */
    {"fc00::", "unique-local"},
    {"fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "unique-local"},
    {"fd00:ec2::254", "cloud-metadata"},
    {"fd00:ec2::253", "unique-local"},
    {"fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", NULL},
    {"fe00::", NULL},
    /* fe80::/10 link-local, fec0::/10 site-local */
    {"fe80::", "link-local"},
    {"febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "link-local"},
    {"fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff", NULL},
    {"fec0::", "site-local"},
    {"feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "site-local"},
    /* ff00::/8 multicast */
    {"ff00::", "multicast"},
    {"ff02::1", "multicast"},
    {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "multicast"},
    /* ordinary addresses */
    {"2001:4860:4860::8888", NULL},
    {"2a00:1450:4001::1", NULL},
};

static void test_rows(void)
{
    for (size_t i = 0; i < sizeof(guard_rows) / sizeof(guard_rows[0]); i++) {
        const guard_row_t *row = &guard_rows[i];
        struct sockaddr_storage ss;
        const char *range = "unset";
        addrguard_verdict_t got;

        memset(&ss, 0, sizeof(ss));
        if (strchr(row->address, ':') != NULL) {
            struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
            sin6->sin6_family = AF_INET6;
            sin6->sin6_port = htons(25);
            CHECK(inet_pton(AF_INET6, row->address, &sin6->sin6_addr) == 1, "%s: not an address",
                  row->address);
        } else {
            struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
            sin->sin_family = AF_INET;
            sin->sin_port = htons(25);
            CHECK(inet_pton(AF_INET, row->address, &sin->sin_addr) == 1, "%s: not an address",
                  row->address);
        }
        got = addrguard_check((const struct sockaddr *)&ss, &range);
        CHECK_INT(row->address, got, row->want != NULL ? ADDRGUARD_BLOCKED : ADDRGUARD_ALLOWED);
        CHECK_STR(row->address, range, row->want);
    }
}

static void test_other_families(void)
{
    struct sockaddr sa;
    const char *range = NULL;

    memset(&sa, 0, sizeof(sa));
    sa.sa_family = AF_UNIX;
    CHECK_INT("AF_UNIX", addrguard_check(&sa, &range), ADDRGUARD_BLOCKED);
    CHECK_STR("AF_UNIX", range, "unknown-family");
    CHECK_INT("NULL", addrguard_check(NULL, &range), ADDRGUARD_BLOCKED);
    CHECK_STR("NULL", range, "unknown-family");
    /* range is optional */
    CHECK_INT("no range", addrguard_check(&sa, NULL), ADDRGUARD_BLOCKED);
}

int main(void)
{
    test_rows();
    test_other_families();
    return check_summary();
}
