/* dns_int.h - the pure parts of probes/dns, for its tests: the server
 * list parser, the query builder and the answer check.  No I/O here.
 */
#ifndef DANESCAN_DNS_INT_H
#define DANESCAN_DNS_INT_H

#include "dns.h"

#include <netinet/in.h>
#include <stdint.h>

/* DNS Flag Day 2020: 1232 = the IPv6 minimum MTU (1280) less the IPv6 and
 * UDP headers, so answers are never fragmented; larger ones come by TCP. */
#define DNS_EDNS_UDP_SIZE 1232
#define DNS_SERVERS_MAX 8
#define DNS_DEFAULT_PORT 53

typedef struct {
    int family;                 /* AF_INET or AF_INET6 */
    union {
        struct in_addr v4;
        struct in6_addr v6;
    } addr;
    uint16_t port;
} dns_server_t;

/* "ADDR[:PORT][,ADDR[:PORT]...]", IPv6 as ADDR or [ADDR]:PORT, names not
 * allowed.  The number of servers written to out[max], or -1 with why in
 * err. */
int dns_servers_parse(const char *spec, dns_server_t *out, size_t max,
                      char *err, size_t errlen);

/* The wire form of a query for name/type, class IN, RD=1, CD as asked,
 * EDNS0 with DNS_EDNS_UDP_SIZE and DO=1.  name must be an absolute domain
 * name.  *wire is the caller's to free(); false when it cannot be built. */
bool dns_query_build(const ldns_rdf *name, ldns_rr_type type, uint16_t id, bool cd,
                     uint8_t **wire, size_t *len);

/* wire[len] as an ldns_pkt (*out, the caller's), without checking what
 * it answers: DNS_OK; DNS_ERR_MALFORMED with why ("unparsable answer: ...",
 * or more than one OPT); DNS_ERR_NOMEM, having freed what it made.  For
 * a well-formed message, the ldns_pkt ldns_wire2pkt makes (the RDATA cut
 * into the same fields by ldns's descriptors); unlike ldns_wire2pkt it
 * survives running out of memory, keeps no RDATA octets its fields do
 * not take, and takes one OPT at most. */
dns_status_t dns_message_parse(const uint8_t *wire, size_t len, ldns_pkt **out,
                               char *why, size_t whylen);

/* Parse wire[len] (our own parser: the ldns_pkt ldns_wire2pkt would make
 * of a well-formed message, but safe when memory runs out, and stricter:
 * one OPT at most, RDATA exactly its fields) and check that it is a
 * response to our question (id, QR, opcode QUERY, one question: qname
 * case-insensitively, qtype, IN).
 * DNS_OK with *answer (the caller's), else DNS_ERR_MALFORMED (or
 * DNS_ERR_NOMEM) with why in why[whylen] when why is not NULL. */
dns_status_t dns_answer_parse(const uint8_t *wire, size_t len, uint16_t id,
                              const ldns_rdf *qname, ldns_rr_type qtype,
                              ldns_pkt **answer, char *why, size_t whylen);

#endif
