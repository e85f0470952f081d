/* tls.h - one client TLS handshake on a connected socket, authenticated
 * against the host's TLSA records by OpenSSL's DANE API (RFC 7672 §3,
 * RFC 7671).  Non-blocking: the event loop owns the socket and calls
 * back when it is ready; this module never waits, never prints.
 *
 * A failed authentication does not abort the handshake: the handshake
 * completes, and the result says why the chain did not authenticate,
 * next to the TLS parameters and the served chain (as Postfix does).
 */
#ifndef DANESCAN_TLS_H
#define DANESCAN_TLS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "tlsa.h"

/* DESIGN.md limits: certificate chain 100 KiB, depth 10. */
#define TLS_CHAIN_BYTES_MAX (100 * 1024)
#define TLS_CHAIN_DEPTH_MAX 10
/* Per certificate: DNS names kept; the rest are counted, not kept. */
#define TLS_SAN_MAX 16
/* Any text taken from the peer or from OpenSSL, after censoring. */
#define TLS_TEXT_MAX 256
#define TLS_ERROR_MAX 512

typedef struct tls_ctx tls_ctx_t;
typedef struct tls_conn tls_conn_t;

typedef enum {
    TLS_OK,             /* read/write moved bytes */
    TLS_DONE,           /* handshake complete; see tls_conn_result() */
    TLS_WANT_READ,      /* call again when the socket is readable */
    TLS_WANT_WRITE,     /* call again when the socket is writable */
    TLS_CLOSED,         /* read: the peer closed the TLS session */
    TLS_FAILED,         /* fatal; see tls_conn_result()->error */
} tls_status_t;

/* RULES A7: which of a server's certificates to ask for, by offering
 * only the matching signature algorithms (and, for TLS <= 1.2, only the
 * matching cipher suites). */
typedef enum {
    TLS_CERT_ANY,
    TLS_CERT_ECDSA,     /* ECDSA, and EdDSA */
    TLS_CERT_RSA,       /* RSA and RSA-PSS */
} tls_cert_type_t;

/* What the handshake says about the peer's chain.  The failure names
 * are DESIGN.md's dane-fail reasons. */
typedef enum {
    TLS_AUTH_NONE,              /* no finished handshake: nothing checked */
    TLS_AUTH_UNAUTHENTICATED,   /* no usable TLSA record: TLS, nothing checked */
    TLS_AUTH_PASS,              /* a usable TLSA record authenticated the chain */
    TLS_AUTH_TLSA_MISMATCH,     /* no TLSA record matched the chain */
    TLS_AUTH_NAME_MISMATCH,     /* DANE-TA matched, no reference identifier did */
    TLS_AUTH_CERT_EXPIRED,      /* DANE-TA chain outside its validity dates */
    TLS_AUTH_CHAIN_INVALID,     /* any other chain verification failure */
} tls_auth_t;

typedef struct {
    /* RULES A5: the TLSA base domain, sent as SNI, and the first DANE-TA
     * reference identifier (A4).  No trailing dot.  Required. */
    const char *base_domain;
    /* RULES A4: further DANE-TA reference identifiers: the original MX
     * name when CNAME-expanded, the recipient domain; only names DNSSEC
     * vouches for (M1: not an MX name from an insecure RRset).  Borrowed. */
    const char *const *names;
    size_t n_names;
    /* The host's TLSA RRset.  Records tlsa_classify() finds unusable are
     * skipped (T3); with no usable record the result is unauthenticated
     * (T4).  Borrowed: copied by tls_conn_new(). */
    const tlsa_record_t *tlsa;
    size_t n_tlsa;
    tls_cert_type_t cert_type;
    /* --at: check validity dates at this time; 0 means now. */
    time_t at;
    /* Optional: called with one line per state change. */
    void (*trace)(void *arg, const char *line);
    void *trace_arg;
} tls_params_t;

typedef struct {
    char subject[TLS_TEXT_MAX];         /* RFC 2253 */
    char issuer[TLS_TEXT_MAX];
    char sans[TLS_SAN_MAX][TLS_TEXT_MAX];   /* dNSName entries */
    size_t n_sans;                      /* kept in sans[] */
    size_t n_sans_total;                /* in the certificate */
    char not_before[32];                /* ISO 8601 UTC, "2026-01-31T12:00:00Z" */
    char not_after[32];
    char key_type[32];                  /* "RSA", "EC P-256", "Ed25519" */
    int key_bits;
    char spki_sha256[65];               /* lowercase hex */
    char cert_sha256[65];
    size_t der_len;
} tls_cert_info_t;

typedef struct {
    tls_auth_t auth;
    /* TLS_AUTH_PASS: the record that matched (its data is owned by the
     * conn).  matched_depth counts from the leaf (0); a DANE-TA(2)
     * SPKI(1) Full(0) key the server did not send sits one above the
     * top certificate it signed. */
    tlsa_record_t matched;
    int matched_depth;
    size_t n_usable;                    /* records OpenSSL took */
    /* Otherwise: OpenSSL's verdict on the chain. */
    long verify_error;                  /* X509_V_ERR_*, 0 when none */
    char verify_text[TLS_TEXT_MAX];
    /* Negotiated parameters ("" when the handshake did not get there). */
    char version[16];                   /* "TLSv1.3" */
    char cipher[64];
    char group[32];                     /* "x25519", "secp256r1" */
    /* The chain as served, leaf first: all certificates are counted,
     * the first TLS_CHAIN_DEPTH_MAX are described. */
    size_t chain_total;
    size_t chain_bytes;
    size_t n_chain;
    const tls_cert_info_t *chain;
    long leaf_days_left;                /* whole days from `at` to the leaf's
                                           notAfter, rounded down */
    /* TLS_FAILED: why, from OpenSSL's error queue or the socket. */
    char error[TLS_ERROR_MAX];
} tls_result_t;

/* One per worker.  NULL on failure, with the reason in why. */
tls_ctx_t *tls_ctx_new(char *why, size_t why_len);
void tls_ctx_free(tls_ctx_t *ctx);

/* Wrap one client handshake on fd, a connected non-blocking socket that
 * the caller keeps owning (and closes after tls_conn_free).  NULL on
 * failure, with the reason in why. */
tls_conn_t *tls_conn_new(tls_ctx_t *ctx, int fd, const tls_params_t *params, char *why,
                         size_t why_len);

/* Drive the handshake: TLS_WANT_READ / TLS_WANT_WRITE (call again when
 * the socket is ready), TLS_DONE or TLS_FAILED (final: calling again
 * returns the same). */
tls_status_t tls_conn_handshake(tls_conn_t *conn);

/* After TLS_DONE: move up to cap bytes, *moved says how many.  TLS_OK,
 * TLS_WANT_READ / TLS_WANT_WRITE (either can come from either call),
 * TLS_CLOSED (read only) or TLS_FAILED (reason in the result's error). */
tls_status_t tls_conn_read(tls_conn_t *conn, void *buf, size_t cap, size_t *moved);
tls_status_t tls_conn_write(tls_conn_t *conn, const void *buf, size_t len, size_t *moved);

/* Valid after TLS_DONE or TLS_FAILED, NULL before; owned by conn. */
const tls_result_t *tls_conn_result(const tls_conn_t *conn);

void tls_conn_free(tls_conn_t *conn);

const char *tls_status_name(tls_status_t status);
const char *tls_cert_type_name(tls_cert_type_t type);   /* "any", "ecdsa", "rsa" */
/* "none", "unauthenticated", "pass", "tlsa-mismatch", "name-mismatch",
 * "cert-expired", "chain-invalid". */
const char *tls_auth_name(tls_auth_t auth);
/* RFC 8460 §4.3 result type for a failure, NULL for the others. */
const char *tls_auth_tlsrpt(tls_auth_t auth);

#endif
