/* zones.h - the signed test zones of tests/unit/data/dnssec, for the
 * DNSSEC fuzz targets: a tiny authority that answers DS/DNSKEY/... from
 * them, and the ground truth a "secure" verdict is checked against.
 *
 * The directory is compiled in (FUZZ_DNSSEC_DATA).  Everything is loaded
 * once, on first use, and kept for the life of the process; a zone that
 * does not load aborts the run.
 */
#ifndef DANESCAN_FUZZ_ZONES_H
#define DANESCAN_FUZZ_ZONES_H

#include <stdbool.h>
#include <time.h>

#include <ldns/ldns.h>

/* 2030-06-01T00:00:00Z: inside the zones' signing window (generate.py). */
#define FUZZ_ZONES_AT ((time_t)1906502400)

/* path of a file in the data directory (a static buffer). */
const char *fuzz_zones_path(const char *file);

/* A NOERROR response to name/type with every record of that RRset in the
 * zones and the RRSIGs over it (nothing else: no denial proofs).  The
 * caller's to free. */
ldns_pkt *fuzz_zones_answer(const ldns_rdf *name, ldns_rr_type type);

/* Ground truth, from every zone at once (a name "exists" when a record
 * other than RRSIG/NSEC3 has it or a name below it as owner; RFC 5155
 * §7.2.8 has NSEC3 owner names answered as nonexistent). */

/* rr (TTL aside, canonical RDATA) is in a zone, or is what a wildcard of
 * a zone synthesizes for a name that does not exist (RFC 4592). */
bool fuzz_zones_has_rr(const ldns_rr *rr);
/* owner -> target is a CNAME in the zones (or from a wildcard). */
bool fuzz_zones_has_cname(const ldns_rdf *owner, const ldns_rdf *target);
/* a DNAME at an ancestor of owner turns it into target (RFC 6672 §2.2). */
bool fuzz_zones_has_dname(const ldns_rdf *owner, const ldns_rdf *target);
/* NXDOMAIN for name is the truth: it does not exist, no wildcard
 * answers for it and no DNAME above redirects it. */
bool fuzz_zones_nxdomain_true(const ldns_rdf *name);
/* NODATA for name/type is the truth: the name (or the wildcard that
 * answers for it) has neither the type nor a CNAME, and no DNAME above
 * redirects it. */
bool fuzz_zones_nodata_true(const ldns_rdf *name, ldns_rr_type type);

#endif
