/* tlsa.h - TLSA records (RFC 6698) and their usability for SMTP (RFC 7672).
 *
 * Pure: no I/O, no allocation.  A record is a view into RDATA bytes the
 * caller keeps alive; tlsa_classify() decides whether a DANE SMTP client
 * may use it, with a stable code for reports and a reason for humans.
 * Digest agility (RFC 7671 §9) is not decided here: it needs the whole
 * RRset and the peer's chain, and OpenSSL applies it in probes/tls.
 */
#ifndef DANESCAN_TLSA_H
#define DANESCAN_TLSA_H

#include <stddef.h>
#include <stdint.h>

/* RFC 6698 §2.1.1-§2.1.3, RFC 7218 acronyms. */
enum {
    TLSA_USAGE_PKIX_TA = 0,
    TLSA_USAGE_PKIX_EE = 1,
    TLSA_USAGE_DANE_TA = 2,
    TLSA_USAGE_DANE_EE = 3,
};
enum {
    TLSA_SELECTOR_CERT = 0,
    TLSA_SELECTOR_SPKI = 1,
};
enum {
    TLSA_MTYPE_FULL = 0,
    TLSA_MTYPE_SHA256 = 1,
    TLSA_MTYPE_SHA512 = 2,
    TLSA_MTYPE_PRIVATE = 255,
};

/* RDATA is at most 65535 bytes, three of which are the header. */
#define TLSA_DATA_MAX 65532
/* "255 255 255 " + two hex digits per data byte + NUL. */
#define TLSA_PRESENTATION_MAX (12 + 2 * TLSA_DATA_MAX + 1)

typedef enum {
    TLSA_OK = 0,
    TLSA_ERR_SHORT,         /* RDATA shorter than the 3-byte header */
    TLSA_ERR_LONG,          /* RDATA longer than an RR can be */
} tlsa_status_t;

typedef struct {
    uint8_t usage;
    uint8_t selector;
    uint8_t mtype;
    const uint8_t *data;    /* borrowed: points into the parsed RDATA */
    size_t data_len;
} tlsa_record_t;

/* Why a record is usable or not.  The codes (tlsa_usability_code) are
 * stable: reports and tests key on them. */
typedef enum {
    TLSA_USABLE = 0,
    TLSA_UNUSABLE_PKIX_USAGE,       /* "pkix-usage": usage 0 or 1 */
    TLSA_UNUSABLE_USAGE,            /* "unknown-usage" */
    TLSA_UNUSABLE_SELECTOR,         /* "unknown-selector" */
    TLSA_UNUSABLE_PRIVATE_MTYPE,    /* "private-mtype": matching type 255 */
    TLSA_UNUSABLE_MTYPE,            /* "unknown-mtype" */
    TLSA_UNUSABLE_DIGEST_LENGTH,    /* "digest-length" */
    TLSA_UNUSABLE_EMPTY,            /* "empty-data": full data of 0 bytes */
    TLSA_UNUSABLE_BAD_CERT,         /* "bad-certificate": 0 0 data not a certificate */
    TLSA_UNUSABLE_BAD_SPKI,         /* "bad-spki": 1 0 data not a SubjectPublicKeyInfo */
} tlsa_usability_t;

/* Parse RDATA (RFC 6698 §2.1: usage, selector, matching type, data).
 * On success *out borrows rdata; on failure *out is zeroed. */
tlsa_status_t tlsa_record_parse(const uint8_t *rdata, size_t len, tlsa_record_t *out);

const char *tlsa_status_name(tlsa_status_t status);

/* RULES T3.  Writes a one-line reason (always, also for usable records)
 * into why[why_len] when why is not NULL. */
tlsa_usability_t tlsa_classify(const tlsa_record_t *rec, char *why, size_t why_len);

const char *tlsa_usability_code(tlsa_usability_t usability);

/* Presentation form, "3 1 1 <lowercase hex>", like snprintf: returns the
 * length of the whole form and writes as much as fits (NUL-terminated). */
size_t tlsa_record_format(const tlsa_record_t *rec, char *buf, size_t buf_len);

#endif
