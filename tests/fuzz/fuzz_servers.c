/* fuzz_servers.c - libFuzzer target for the --dns-servers list parser of
 * probes/dns (dns_servers_parse), on arbitrary strings.
 *
 * Besides "no crash, no sanitizer report", it checks what the parser
 * promises: an error always comes with a reason, a success yields one
 * server per comma-separated entry and never more than asked for, with
 * an address family and a port in 1-65535, and the servers written back
 * as text ("ADDR:PORT", "[ADDR6]:PORT") parse to the same servers.
 */
#include "fuzz.h"
#include "dns_int.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>


/* Longer lists fail at the ninth server, long before this. */
#define FUZZ_SPEC_MAX 4096
#define FUZZ_ENTRY_MAX (INET6_ADDRSTRLEN + 8)

static int fuzz_parse(const char *spec, dns_server_t *out, size_t max)
{
    char err[256], tiny[4];
    int n;

    memset(err, 'X', sizeof(err));
    n = dns_servers_parse(spec, out, max, err, sizeof(err));
    FUZZ_ASSERT(n >= -1 && n <= (int)max);
    if (n < 0) {
        FUZZ_ASSERT(memchr(err, '\0', sizeof(err)) != NULL);
        FUZZ_ASSERT(err[0] != '\0');
        /* a reason cut short is still a string */
        memset(tiny, 'X', sizeof(tiny));
        FUZZ_ASSERT(dns_servers_parse(spec, out, max, tiny, sizeof(tiny)) == -1);
        FUZZ_ASSERT(memchr(tiny, '\0', sizeof(tiny)) != NULL);
    }
    return n;
}

static size_t fuzz_commas(const char *s)
{
    size_t n = 0;

    for (; *s != '\0'; s++)
        n += *s == ',';
    return n;
}

static bool fuzz_same(const dns_server_t *a, const dns_server_t *b)
{
    if (a->family != b->family || a->port != b->port)
        return false;
    return a->family == AF_INET ? memcmp(&a->addr.v4, &b->addr.v4, sizeof(a->addr.v4)) == 0
                                : memcmp(&a->addr.v6, &b->addr.v6, sizeof(a->addr.v6)) == 0;
}

/* The servers as text, and that text parsed again. */
static void fuzz_round_trip(const dns_server_t *servers, int n)
{
    char text[DNS_SERVERS_MAX * (FUZZ_ENTRY_MAX + 1) + 1];
    dns_server_t again[DNS_SERVERS_MAX];
    size_t used = 0;

    for (int i = 0; i < n; i++) {
        char addr[INET6_ADDRSTRLEN];

        FUZZ_ASSERT(inet_ntop(servers[i].family, &servers[i].addr, addr, sizeof(addr)) != NULL);
        used += (size_t)snprintf(text + used, sizeof(text) - used,
                                 servers[i].family == AF_INET6 ? "%s[%s]:%u" : "%s%s:%u",
                                 i > 0 ? "," : "", addr, (unsigned)servers[i].port);
        FUZZ_ASSERT(used < sizeof(text));
    }
    FUZZ_ASSERT(fuzz_parse(text, again, DNS_SERVERS_MAX) == n);
    for (int i = 0; i < n; i++)
        FUZZ_ASSERT(fuzz_same(&servers[i], &again[i]));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dns_server_t out[DNS_SERVERS_MAX], one[1];
    char *spec;
    int n, n1;

    if (size > FUZZ_SPEC_MAX)
        return 0;
    /* the parser takes a C string: an embedded NUL ends it */
    spec = malloc(size + 1);
    FUZZ_ASSERT(spec != NULL);
    memcpy(spec, data, size);
    spec[size] = '\0';

    n = fuzz_parse(spec, out, DNS_SERVERS_MAX);
    if (n >= 0) {
        FUZZ_ASSERT(n >= 1 && (size_t)n == fuzz_commas(spec) + 1);
        for (int i = 0; i < n; i++) {
            FUZZ_ASSERT(out[i].family == AF_INET || out[i].family == AF_INET6);
            FUZZ_ASSERT(out[i].port != 0);
        }
        fuzz_round_trip(out, n);
    }
    /* room for one: the same first server, or "more than 1" */
    n1 = fuzz_parse(spec, one, 1);
    FUZZ_ASSERT(n < 0 ? n1 < 0 : n1 == (n == 1 ? 1 : -1));
    if (n1 == 1)
        FUZZ_ASSERT(fuzz_same(&one[0], &out[0]));
    /* room for none: never a success, never a write */
    FUZZ_ASSERT(fuzz_parse(spec, NULL, 0) == -1);
    free(spec);
    return 0;
}
