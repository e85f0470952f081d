/* lookup.h - one DNS lookup with its DNSSEC status.
 *
 * Default mode: the query goes out with DO+CD and probes/dnssec validates
 * the answer from the trust anchor, fetching DS/DNSKEY as it needs them.
 * --trust-ad mode: the query goes out with DO (no CD) to a loopback
 * resolver and its AD bit, rcode and extended error decide (RULES D3).
 */
#ifndef DANESCAN_LOOKUP_H
#define DANESCAN_LOOKUP_H

#include <stdbool.h>
#include <time.h>

#include <ldns/ldns.h>

#include "dns.h"
#include "dnssec.h"
#include "loop.h"
#include "model.h"

typedef enum {
    LOOKUP_FAILED,          /* no usable answer: SERVFAIL, timeout, refused */
    LOOKUP_DATA,
    LOOKUP_NODATA,
    LOOKUP_NXDOMAIN,
} lookup_answer_t;

typedef struct {
    model_dnssec_t status;
    const char *reason;         /* why not secure; "" when secure */
    int ede;                    /* RFC 8914 code or -1 */
    lookup_answer_t answer;
    const ldns_rr_list *rrset;  /* qtype RRs at final_name (DATA only) */
    const ldns_rdf *final_name; /* after CNAME/DNAME */
    bool aliased;               /* final_name differs from the query name */
    uint32_t original_ttl;      /* the zone's TTL of rrset (its RRSIG's); 0: unknown */
} lookup_result_t;

typedef struct lookup_ctx lookup_ctx_t;

/* The result and everything it points to are valid during the callback only. */
typedef void (*lookup_callback_t)(void *arg, const lookup_result_t *result);

/* anchors and cache are NULL in --trust-ad mode. */
lookup_ctx_t *lookup_ctx_new(dns_client_t *dns, const dnssec_anchors_t *anchors,
                             dnssec_cache_t *cache, time_t at);
void lookup_ctx_free(lookup_ctx_t *ctx);

/* Starts one lookup; the callback runs exactly once, later.  -1 when the
 * name cannot be used (the callback does not run). */
int lookup_start(lookup_ctx_t *ctx, const char *name, ldns_rr_type type,
                 lookup_callback_t cb, void *arg);

/* Keep finished lookups (lookupcache.h: secure or insecure answers, for
 * their TTL, at most max of them) and answer the same question from
 * them, from the loop.  Off until called; -1 when memory ran out. */
int lookup_ctx_cache_answers(lookup_ctx_t *ctx, loop_t *loop, size_t max);

/* Lookups answered from those kept. */
unsigned long lookup_ctx_cache_hits(const lookup_ctx_t *ctx);

/* Queries sent for this context so far, and questions that were already
 * in flight and waited for that answer instead (for benchmarks). */
unsigned long lookup_ctx_queries(const lookup_ctx_t *ctx);
unsigned long lookup_ctx_shared(const lookup_ctx_t *ctx);

#endif
