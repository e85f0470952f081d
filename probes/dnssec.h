/* dnssec.h - in-process DNSSEC validation as a sans-I/O machine.
 *
 * danescan asks its recursive resolver with DO=1 and CD=1 and validates
 * everything itself from a trust anchor (RFC 4033/4034/4035, NSEC3 per
 * RFC 5155, clarifications of RFC 6840, NSEC3 limits of RFC 9276).  This
 * module never does I/O: a job is given the resolver's answer packet,
 * says which further RRsets it needs (DNSKEY of zone Z, DS of zone Z),
 * is fed the answers, and ends with a verdict.
 *
 *     job = dnssec_job_new(anchors, cache, qname, qtype, answer, at);
 *     while (dnssec_job_step(job, &name, &type) == DNSSEC_JOB_NEED)
 *         dnssec_job_feed(job, fetch(name, type));  // DO+CD; NULL = failed
 *     dnssec_job_status(job), dnssec_job_reason(job), dnssec_job_ede(job)
 *
 * A job asks for one RRset at a time and owns every packet it is given.
 * Nothing here is thread-safe: one cache per event loop, shared by the
 * jobs of that loop.  Anchors and the cache must outlive their jobs.
 *
 * Limits (DESIGN.md, "Limits"; ldns has none of its own): keys are picked
 * by key tag and algorithm before any signature check, at most 4 keys per
 * tag, 8 DS per zone, 8 signature checks per RRset and 64 per job, the
 * first valid signature ends the search; NSEC3 with more than 150
 * iterations is insecure (RFC 9276 §3.2); at most 64 NSEC3 hashes and 48
 * fetches per job; CNAME/DNAME chains of at most 10 links.
 */
#ifndef DANESCAN_DNSSEC_H
#define DANESCAN_DNSSEC_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <ldns/ldns.h>

/* The validator's vocabulary (RFC 4035 §4.3), in increasing severity. */
typedef enum {
    DNSSEC_SECURE,
    DNSSEC_INSECURE,
    DNSSEC_INDETERMINATE,
    DNSSEC_BOGUS,
} dnssec_status_t;

/* "secure", "insecure", "indeterminate", "bogus" (DESIGN.md, DNSSEC). */
const char *dnssec_status_name(dnssec_status_t status);

/* RFC 8914 Extended DNS Error codes a job reports (27: RFC 9276). */
enum {
    DNSSEC_EDE_NONE = -1,
    DNSSEC_EDE_UNSUPPORTED_DNSKEY_ALG = 1,
    DNSSEC_EDE_UNSUPPORTED_DS_DIGEST = 2,
    DNSSEC_EDE_INDETERMINATE = 5,
    DNSSEC_EDE_BOGUS = 6,
    DNSSEC_EDE_SIGNATURE_EXPIRED = 7,
    DNSSEC_EDE_SIGNATURE_NOT_YET_VALID = 8,
    DNSSEC_EDE_DNSKEY_MISSING = 9,
    DNSSEC_EDE_RRSIGS_MISSING = 10,
    DNSSEC_EDE_NO_ZONE_KEY_BIT = 11,
    DNSSEC_EDE_NSEC_MISSING = 12,
    DNSSEC_EDE_NSEC3_ITERATIONS = 27,
};

/* ---- trust anchors ------------------------------------------------ */

typedef struct dnssec_anchors dnssec_anchors_t;

/* DS or DNSKEY RRs of one zone in zone-file syntax ($ORIGIN, $TTL and
 * comments allowed), e.g. Debian's /usr/share/dns/root.key.  path NULL:
 * the IANA root KSK DS records (key tags 20326 and 38696).  On failure
 * returns NULL and writes why into err. */
dnssec_anchors_t *dnssec_anchors_load(const char *path, char *err, size_t errlen);
void dnssec_anchors_free(dnssec_anchors_t *anchors);

/* ---- cache ---------------------------------------------------------- */

typedef struct dnssec_cache dnssec_cache_t;

/* Per zone: its validated DNSKEY RRset, or the proof that it is
 * insecure, or (for 60 s) that it is bogus.  Entries live no longer than
 * their TTLs and signatures allow, judged against each job's `at`; the
 * least recently used entry goes when max_zones are held. */
dnssec_cache_t *dnssec_cache_new(size_t max_zones);
void dnssec_cache_free(dnssec_cache_t *cache);
size_t dnssec_cache_count(const dnssec_cache_t *cache);

/* ---- jobs ----------------------------------------------------------- */

typedef struct dnssec_job dnssec_job_t;

/* Validate `answer` (taken; NULL = the query failed) to qname/qtype at
 * time `at`: signature validity and cache lifetimes are both judged
 * against it (the wall clock, or the frozen --at time).  anchors and
 * cache are required; NULL only when memory ran out. */
dnssec_job_t *dnssec_job_new(const dnssec_anchors_t *anchors, dnssec_cache_t *cache,
                             const ldns_rdf *qname, ldns_rr_type qtype,
                             ldns_pkt *answer, time_t at);

typedef enum { DNSSEC_JOB_NEED, DNSSEC_JOB_DONE } dnssec_step_t;

/* NEED: fetch *need_name / *need_type (DO+CD; borrowed, valid until the
 * next feed) and call dnssec_job_feed.  DONE: the verdict is ready. */
dnssec_step_t dnssec_job_step(dnssec_job_t *job, const ldns_rdf **need_name,
                              ldns_rr_type *need_type);

/* The answer to the last NEED (taken); NULL = the fetch failed (timeout,
 * SERVFAIL, ...), which makes the job indeterminate. */
void dnssec_job_feed(dnssec_job_t *job, ldns_pkt *answer);

dnssec_status_t dnssec_job_status(const dnssec_job_t *job);
/* Why the status is not secure, as a sentence ("" when secure). */
const char *dnssec_job_reason(const dnssec_job_t *job);
/* RFC 8914 code for the reason, DNSSEC_EDE_NONE when none fits. */
int dnssec_job_ede(const dnssec_job_t *job);

/* What the answer says; whether it is proven is dnssec_job_status(). */
typedef enum {
    DNSSEC_ANSWER_NONE,     /* no usable answer (failure, chain too long) */
    DNSSEC_ANSWER_DATA,     /* an RRset of qtype at the final name */
    DNSSEC_ANSWER_NODATA,   /* the final name exists, qtype does not */
    DNSSEC_ANSWER_NXDOMAIN, /* the final name does not exist */
} dnssec_answer_t;

dnssec_answer_t dnssec_job_answer(const dnssec_job_t *job);
/* The RRset of qtype at the final name (borrowed; NULL unless DATA). */
const ldns_rr_list *dnssec_job_rrset(const dnssec_job_t *job);
/* The TTL the zone gives the RRset: the Original TTL of its (first)
 * RRSIG (RFC 4034 section 3.1.4), which resolvers neither cap nor count
 * down; 0 when unsigned or not DATA. */
uint32_t dnssec_job_original_ttl(const dnssec_job_t *job);
/* The name after following every CNAME/DNAME (borrowed). */
const ldns_rdf *dnssec_job_final_name(const dnssec_job_t *job);

/* One link of the alias chain: `owner` led to `target` through a CNAME
 * at owner, or a DNAME above it.  status is that link's own; a link the
 * job never reached (it stopped at an earlier failure) is indeterminate. */
typedef struct {
    const ldns_rdf *owner;
    const ldns_rdf *target;
    ldns_rr_type type; /* LDNS_RR_TYPE_CNAME or LDNS_RR_TYPE_DNAME */
    dnssec_status_t status;
} dnssec_alias_t;

/* The chain from qname to the final name, in order (borrowed). */
size_t dnssec_job_aliases(const dnssec_job_t *job, const dnssec_alias_t **links);

/* Signature checks spent (for budgets and benchmarks). */
unsigned dnssec_job_sig_checks(const dnssec_job_t *job);
/* The states the job went through, "items > ds > dnskey > ... > done". */
const char *dnssec_job_trace(const dnssec_job_t *job);

void dnssec_job_free(dnssec_job_t *job);

#endif
