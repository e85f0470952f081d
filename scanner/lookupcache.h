/* lookupcache.h - finished lookups kept for a while, so that the many
 * domains of a batch that share MX hosts do not ask and validate the
 * same A, AAAA and TLSA RRsets again (DESIGN.md "Caches").
 *
 * Only answers worth keeping are kept: secure or insecure data or denial.
 * Bogus and failed lookups are asked again: a transient failure must not
 * become the verdict of every domain behind the same host.  An entry
 * lives for the RRset's TTL (data) or LOOKUPCACHE_NEGATIVE_MS (denial),
 * at most LOOKUPCACHE_MAX_MS.
 */
#ifndef DANESCAN_LOOKUPCACHE_H
#define DANESCAN_LOOKUPCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ldns/ldns.h>

#include "lookup.h"

#define LOOKUPCACHE_MAX_MS (300 * 1000)
#define LOOKUPCACHE_NEGATIVE_MS (60 * 1000)

typedef struct lookupcache lookupcache_t;

/* At most max entries (0: 20000); NULL when memory ran out. */
lookupcache_t *lookupcache_new(size_t max);
void lookupcache_free(lookupcache_t *cache);

/* Keep a copy of r, the result of (qname, qtype), from now_ms on. */
void lookupcache_put(lookupcache_t *cache, const ldns_rdf *qname, ldns_rr_type qtype,
                     const lookup_result_t *r, uint64_t now_ms);

/* The kept result of (qname, qtype) into *out, valid until the next put
 * or free; false when there is none younger than its lifetime. */
bool lookupcache_get(lookupcache_t *cache, const ldns_rdf *qname, ldns_rr_type qtype,
                     uint64_t now_ms, lookup_result_t *out);

/* Results handed out so far. */
unsigned long lookupcache_hits(const lookupcache_t *cache);

#endif
