/* advice.h - what the operator of a scanned domain should change.
 *
 * The advice findings (docs/findings.md) are computed from a finished
 * result tree alone: the TLSA RRsets, the DNSSEC statuses and what every
 * handshake served.  They never change a host status or the verdict.
 */
#ifndef DANESCAN_ADVICE_H
#define DANESCAN_ADVICE_H

#include <stdarg.h>

#include "model.h"

/* A certificate with fewer whole days left than this is "close to expiry". */
#define ADVICE_EXPIRY_DAYS 21
/* A TLSA TTL above this (one day) makes rollovers and repairs slow. */
#define ADVICE_TLSA_TTL_MAX 86400u

/* Appends one finding to domain->findings; the message is printf-style.
 * host and address may be NULL (domain-wide).  -1 when memory ran out
 * (the finding is dropped). */
int advice_finding(model_domain_t *domain, model_severity_t severity, const char *code,
                   const char *host, const char *address, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
int advice_vfinding(model_domain_t *domain, model_severity_t severity, const char *code,
                    const char *host, const char *address, const char *fmt, va_list ap)
    __attribute__((format(printf, 6, 0)));

/* Appends every advice finding for the domain, hosts in order.  Host
 * statuses are recomputed with model_host_status(); nothing else in the
 * tree changes.  -1 when memory ran out (some findings may be missing). */
int advice_domain(model_domain_t *domain);

typedef enum {
    ADVICE_MATCH_NO,
    ADVICE_MATCH_YES,
    ADVICE_MATCH_UNKNOWN,       /* SHA-512, or a digest the model lacks */
} advice_match_t;

/* Does record r match a certificate known only by the SHA-256 digests of
 * its DER form and SubjectPublicKeyInfo (model_cert_t's; NULL: not
 * known)?  Full-data records are hashed to compare. */
advice_match_t advice_record_matches_digests(const model_tlsa_record_t *r,
                                             const char *cert_sha256, const char *spki_sha256);

#endif
