/* model.h - the result tree of one scanned domain.
 *
 * The scanner fills it from what the probes saw; reporters only read it.
 * It is plain data on purpose: every field is something a report shows.
 * Strings are owned by the tree (model_domain_free releases everything)
 * and hold printable ASCII only: probes censor server text before it
 * gets here.
 */
#ifndef DANESCAN_MODEL_H
#define DANESCAN_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* RFC 4033 §5 / DESIGN.md: the status of every lookup. */
typedef enum {
    MODEL_DNSSEC_SECURE,
    MODEL_DNSSEC_INSECURE,
    MODEL_DNSSEC_BOGUS,
    MODEL_DNSSEC_INDETERMINATE,
} model_dnssec_t;

/* What happened at one IP address (DESIGN.md "Address result"). */
typedef enum {
    MODEL_ADDR_DANE_PASS,
    MODEL_ADDR_DANE_FAIL,
    MODEL_ADDR_TLS_UNAUTHENTICATED,
    MODEL_ADDR_TLS_ONLY,
    MODEL_ADDR_NO_STARTTLS,
    MODEL_ADDR_TLS_FAILED,
    MODEL_ADDR_SMTP_ERROR,
    MODEL_ADDR_CONNECT_FAILED,
    MODEL_ADDR_TIMEOUT,
    MODEL_ADDR_BLOCKED,
    MODEL_ADDR_SKIPPED,
} model_addr_result_t;

/* DESIGN.md "Host status". */
typedef enum {
    MODEL_HOST_DANE,
    MODEL_HOST_DANE_UNUSABLE,
    MODEL_HOST_NO_TLSA,
    MODEL_HOST_INSECURE,
    MODEL_HOST_BOGUS,
    MODEL_HOST_LOOKUP_ERROR,
    MODEL_HOST_NO_ADDRESS,
} model_host_status_t;

/* DESIGN.md "Domain verdict", in precedence order. */
typedef enum {
    MODEL_VERDICT_INVALID_INPUT,
    MODEL_VERDICT_NXDOMAIN,
    MODEL_VERDICT_NULL_MX,
    MODEL_VERDICT_DNSSEC_BOGUS,
    MODEL_VERDICT_DNS_ERROR,
    MODEL_VERDICT_DANE_INVALID,
    MODEL_VERDICT_INSECURE,
    MODEL_VERDICT_DANE_INCOMPLETE,
    MODEL_VERDICT_DANE_VALID,
    MODEL_VERDICT_DANE_PARTIAL,
    MODEL_VERDICT_NO_DANE,
} model_verdict_t;

/* How the MX lookup itself ended, before any host is looked at. */
typedef enum {
    MODEL_MX_FOUND,         /* an MX RRset with at least one real host */
    MODEL_MX_IMPLICIT,      /* NODATA: the domain is its own host (RFC 5321 §5.1) */
    MODEL_MX_NULL,          /* RFC 7505 null MX */
    MODEL_MX_NXDOMAIN,
    MODEL_MX_FAILED,        /* SERVFAIL, timeout, refused */
} model_mx_outcome_t;

typedef enum {
    MODEL_SEVERITY_INFO,
    MODEL_SEVERITY_WARNING,
    MODEL_SEVERITY_CRITICAL,
} model_severity_t;

typedef struct {
    uint8_t usage, selector, mtype;
    char *data_hex;
    bool usable;
    char *unusable_reason;      /* NULL when usable */
} model_tlsa_record_t;

typedef struct {
    char *base_domain;          /* RFC 7672 §2.2.3 */
    char *qname;                /* _25._tcp.<base_domain> */
    model_dnssec_t dnssec;
    char *reason;               /* why not secure, or NULL */
    int ede;                    /* RFC 8914 code of the reason; 0: none */
    bool looked_up;             /* false: not looked up (D4) */
    bool lookup_failed;         /* SERVFAIL / timeout (D2) */
    size_t n_records;
    model_tlsa_record_t *records;
    uint32_t ttl;               /* of the TLSA RRset as served (seconds); 0: none */
} model_tlsa_t;

typedef struct {
    char *subject, *issuer;
    char **sans;
    size_t n_sans;
    char *not_before, *not_after;   /* ISO 8601 UTC */
    char *key_type;                 /* "RSA", "EC P-256", "Ed25519" */
    int key_bits;
    char *spki_sha256, *cert_sha256;
    long days_to_expiry;
} model_cert_t;

/* One TLS handshake: with --one-cert one per address, else one per
 * certificate type the server holds (RULES A7). */
typedef struct {
    char *cert_type;            /* "any", "ecdsa", "rsa" */
    model_addr_result_t result;
    char *reason;               /* tlsa-mismatch, name-mismatch, ... */
    char *tls_version, *cipher, *group;
    bool matched;
    uint8_t matched_usage, matched_selector, matched_mtype;
    int matched_depth;
    size_t n_chain;
    model_cert_t *chain;        /* leaf first */
} model_handshake_t;

typedef struct {
    char *address;              /* presentation form */
    model_addr_result_t result;
    char *reason;
    bool starttls;              /* offered by the server */
    char *banner;
    char **ehlo, **ehlo_tls;    /* capabilities before / after TLS */
    size_t n_ehlo, n_ehlo_tls;
    size_t n_handshakes;
    model_handshake_t *handshakes;
    double ms_connect, ms_banner, ms_ehlo, ms_starttls, ms_handshake;
    bool shared;                /* the result of a probe made for another domain
                                   of the run (same address, TLSA RRset, names) */
} model_address_t;

typedef struct {
    char *name;
    int preference;             /* -1 for an implicit MX */
    char *cname_target;         /* final name when the host is an alias */
    model_dnssec_t dnssec;      /* status of the address records used;
                                   indeterminate when the lookup failed */
    char *dnssec_reason;
    int dnssec_ede;             /* RFC 8914 code; 0: none */
    model_host_status_t status;
    model_tlsa_t tlsa;
    size_t n_addresses;
    model_address_t *addresses;
    size_t addresses_cut;       /* beyond the per-host limit */
} model_host_t;

typedef struct {
    char *code;                 /* stable, documented in docs/findings.md */
    model_severity_t severity;
    char *message;
    char *host, *address;       /* NULL when domain-wide */
} model_finding_t;

typedef struct {
    char *domain;               /* A-label form, no trailing dot */
    char *input;                /* the input line, for invalid-input records */
    char *error;                /* why the input was not a domain */
    model_verdict_t verdict;
    model_mx_outcome_t mx_outcome;
    model_dnssec_t mx_dnssec;
    char *mx_reason;
    int mx_ede;                 /* RFC 8914 code of mx_reason; 0: none
                                   (code 0, Other Error, is never given) */
    size_t n_hosts;
    model_host_t *hosts;
    size_t hosts_cut;           /* beyond the 10-host limit */
    size_t n_findings;
    model_finding_t *findings;
    bool probed;                /* false with --no-probe */
    char *run_id;               /* the batch run this record belongs to, or NULL */
    char *shard;                /* "K/N" when the list was split, or NULL */
} model_domain_t;

const char *model_dnssec_name(model_dnssec_t);
const char *model_addr_result_name(model_addr_result_t);
const char *model_host_status_name(model_host_status_t);
const char *model_verdict_name(model_verdict_t);
const char *model_severity_name(model_severity_t);

/* Look a name up in one of the tables above; -1 when unknown. */
int model_verdict_from_name(const char *name);
int model_host_status_from_name(const char *name);
int model_addr_result_from_name(const char *name);

/* Compute every host status and the domain verdict from what was seen,
 * by DESIGN.md's precedence rules. */
model_host_status_t model_host_status(const model_host_t *host);
model_verdict_t model_domain_verdict(const model_domain_t *domain);

/* A handshake completed: it negotiated a protocol version and ended in
 * one of the "TLS up" results (DESIGN.md "Address result"). */
bool model_handshake_completed(const model_handshake_t *handshake);

/* The handshake an address's tls and certificate describe: the first that
 * completed (a protocol version and a "TLS up" result); RULES A7's others
 * are listed beside it.  NULL when none completed. */
const model_handshake_t *model_primary_handshake(const model_address_t *address);

void model_domain_free(model_domain_t *domain);

/* A deep copy of src into dst (whose old contents are not freed: pass it
 * empty); 0, or -1 when memory ran out, dst then holding what was copied
 * so far (model_address_clear frees it).  Every field is copied: a field
 * added to the address, handshake or certificate is added here too. */
int model_address_copy(model_address_t *dst, const model_address_t *src);
void model_address_clear(model_address_t *address);

#endif
