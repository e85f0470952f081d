/* tls.c - client handshake and DANE authentication with OpenSSL.
 *
 * The model is Postfix's tls_dane.c / posttls-finger: SNI is the TLSA
 * base domain, PKIX usages are never handed to OpenSSL, DANE-EE matches
 * skip name checks, and verification never aborts the handshake (the
 * verify mode is SSL_VERIFY_NONE; OpenSSL still verifies the chain and
 * keeps the verdict for SSL_get_verify_result()).
 */
#include "tls.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

typedef enum {
    TLS_STATE_HANDSHAKE,
    TLS_STATE_OPEN,
    TLS_STATE_CLOSED,
    TLS_STATE_FAILED,
} tls_state_t;

static const char *const tls_state_names[] = {
    [TLS_STATE_HANDSHAKE] = "handshake",
    [TLS_STATE_OPEN] = "open",
    [TLS_STATE_CLOSED] = "closed",
    [TLS_STATE_FAILED] = "failed",
};

static const char *const tls_status_names[] = {
    [TLS_OK] = "ok",
    [TLS_DONE] = "done",
    [TLS_WANT_READ] = "want-read",
    [TLS_WANT_WRITE] = "want-write",
    [TLS_CLOSED] = "closed",
    [TLS_FAILED] = "failed",
};

static const char *const tls_cert_type_names[] = {
    [TLS_CERT_ANY] = "any",
    [TLS_CERT_ECDSA] = "ecdsa",
    [TLS_CERT_RSA] = "rsa",
};

static const char *const tls_auth_names[] = {
    [TLS_AUTH_NONE] = "none",
    [TLS_AUTH_UNAUTHENTICATED] = "unauthenticated",
    [TLS_AUTH_PASS] = "pass",
    [TLS_AUTH_TLSA_MISMATCH] = "tlsa-mismatch",
    [TLS_AUTH_NAME_MISMATCH] = "name-mismatch",
    [TLS_AUTH_CERT_EXPIRED] = "cert-expired",
    [TLS_AUTH_CHAIN_INVALID] = "chain-invalid",
};

/* RFC 8460 §4.3.2 result types. */
static const char *const tls_auth_tlsrpt_names[] = {
    [TLS_AUTH_TLSA_MISMATCH] = "validation-failure",
    [TLS_AUTH_NAME_MISMATCH] = "certificate-host-mismatch",
    [TLS_AUTH_CERT_EXPIRED] = "certificate-expired",
    [TLS_AUTH_CHAIN_INVALID] = "certificate-not-trusted",
};

/* RULES A7: offer only one family of signature algorithms, so that a
 * server with several certificates must present that family's.  For
 * TLS <= 1.2 the cipher suites name the certificate type as well. */
static const struct {
    const char *sigalgs;
    const char *ciphers;
} tls_cert_type_algs[] = {
    [TLS_CERT_ECDSA] = {"ecdsa_secp256r1_sha256:ecdsa_secp384r1_sha384:ecdsa_secp521r1_sha512:"
                        "ed25519:ed448",
                        "DEFAULT:!aRSA:!aDSS"},
    [TLS_CERT_RSA] = {"rsa_pss_rsae_sha256:rsa_pss_rsae_sha384:rsa_pss_rsae_sha512:"
                      "rsa_pss_pss_sha256:rsa_pss_pss_sha384:rsa_pss_pss_sha512:"
                      "rsa_pkcs1_sha256:rsa_pkcs1_sha384:rsa_pkcs1_sha512",
                      "DEFAULT:!aECDSA:!aDSS"},
};

struct tls_ctx {
    SSL_CTX *ssl_ctx;
};

struct tls_conn {
    SSL *ssl;
    tls_state_t state;
    time_t at;
    void (*trace)(void *arg, const char *line);
    void *trace_arg;
    size_t n_usable;
    bool have_result;
    tls_result_t result;
    tls_cert_info_t *chain;         /* result.chain, owned */
};

#define TLS_NAMED(table, i) \
    ((size_t)(i) < sizeof(table) / sizeof((table)[0]) && (table)[i] != NULL ? (table)[i] : "unknown")

const char *tls_status_name(tls_status_t status)
{
    return TLS_NAMED(tls_status_names, status);
}

const char *tls_cert_type_name(tls_cert_type_t type)
{
    return TLS_NAMED(tls_cert_type_names, type);
}

const char *tls_auth_name(tls_auth_t auth)
{
    return TLS_NAMED(tls_auth_names, auth);
}

const char *tls_auth_tlsrpt(tls_auth_t auth)
{
    if ((size_t)auth >= sizeof(tls_auth_tlsrpt_names) / sizeof(tls_auth_tlsrpt_names[0]))
        return NULL;
    return tls_auth_tlsrpt_names[auth];
}

static void tls_why(char *why, size_t why_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void tls_why(char *why, size_t why_len, const char *fmt, ...)
{
    va_list ap;

    if (why == NULL || why_len == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(why, why_len, fmt, ap);
    va_end(ap);
}

/* Copy at most len bytes of untrusted text, printable ASCII only. */
static void tls_censor(char *dst, size_t cap, const char *src, size_t len)
{
    size_t n = 0;

    if (cap == 0)
        return;
    for (size_t i = 0; i < len && n + 1 < cap; i++) {
        unsigned char c = (unsigned char)src[i];
        dst[n++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    dst[n] = '\0';
}

/* Drain this thread's OpenSSL error queue into dst, "; " between. */
static void tls_error_queue(char *dst, size_t cap)
{
    unsigned long e;
    const char *data;
    int flags;
    size_t n = 0;

    if (dst == NULL || cap == 0) {
        ERR_clear_error();
        return;
    }
    dst[0] = '\0';
    while ((e = ERR_get_error_all(NULL, NULL, NULL, &data, &flags)) != 0) {
        char line[256];
        bool text = (flags & ERR_TXT_STRING) && data[0] != '\0';
        int len;

        if (n + 1 >= cap)
            continue;
        ERR_error_string_n(e, line, sizeof(line));
        len = snprintf(dst + n, cap - n, "%s%s%s%s", n > 0 ? "; " : "", line, text ? ": " : "",
                       text ? data : "");
        n = (len < 0 || (size_t)len >= cap - n) ? cap - 1 : n + (size_t)len;
    }
    /* Error data can carry peer bytes (an alert's text, a name). */
    tls_censor(dst, cap, dst, n);
}

static void tls_conn_set_state(tls_conn_t *conn, tls_state_t state)
{
    if (conn->trace != NULL) {
        char line[128];

        snprintf(line, sizeof(line), "tls: %s -> %s", tls_state_names[conn->state],
                 tls_state_names[state]);
        conn->trace(conn->trace_arg, line);
    }
    conn->state = state;
}

tls_ctx_t *tls_ctx_new(char *why, size_t why_len)
{
    tls_ctx_t *ctx = calloc(1, sizeof(*ctx));
    SSL_CTX *c = NULL;

    ERR_clear_error();
    if (ctx == NULL) {
        tls_why(why, why_len, "out of memory");
        goto fail;
    }
    c = SSL_CTX_new(TLS_client_method());
    if (c == NULL)
        goto openssl_fail;
    /* Postfix's default for opportunistic SMTP TLS is TLS 1.0 and up; the
     * security level still decides (OpenSSL 3.0's level 1 forbids the
     * SHA-1 signatures that TLS 1.0 and 1.1 need). */
    if (!SSL_CTX_set_min_proto_version(c, TLS1_VERSION))
        goto openssl_fail;
    SSL_CTX_set_options(c, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_TICKET | SSL_OP_NO_COMPRESSION);
    SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
    /* The event loop may retry a write from a buffer that has moved. */
    SSL_CTX_set_mode(c, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    /* DESIGN.md limits: the Certificate message is refused beyond 100 KiB. */
    SSL_CTX_set_max_cert_list(c, TLS_CHAIN_BYTES_MAX);
    SSL_CTX_set_verify_depth(c, TLS_CHAIN_DEPTH_MAX);
    /* Never abort on a verification failure: the verdict is read after
     * the handshake, so the chain and parameters are reported too.  No
     * trust store is loaded: RFC 7672 §3.1.3, DANE only. */
    SSL_CTX_set_verify(c, SSL_VERIFY_NONE, NULL);
    if (SSL_CTX_dane_enable(c) <= 0)
        goto openssl_fail;
    /* RFC 7671 §9 digest agility: for one usage and selector only the
     * strongest matching type present counts.  These are OpenSSL's
     * defaults, stated because the rule depends on SHA2-512 ranking
     * above SHA2-256. */
    if (SSL_CTX_dane_mtype_set(c, EVP_sha256(), TLSA_MTYPE_SHA256, 1) <= 0 ||
        SSL_CTX_dane_mtype_set(c, EVP_sha512(), TLSA_MTYPE_SHA512, 2) <= 0)
        goto openssl_fail;
    /* RFC 7672 §3.1.3 (RFC 7671 §5.1): DANE-EE(3) skips name checks. */
    SSL_CTX_dane_set_flags(c, DANE_FLAG_NO_DANE_EE_NAMECHECKS);
    ctx->ssl_ctx = c;
    return ctx;

openssl_fail:
    tls_error_queue(why, why_len);
fail:
    SSL_CTX_free(c);
    free(ctx);
    return NULL;
}

void tls_ctx_free(tls_ctx_t *ctx)
{
    if (ctx == NULL)
        return;
    SSL_CTX_free(ctx->ssl_ctx);
    free(ctx);
}

/* Hand the usable records to OpenSSL; returns how many it took, or -1. */
static long tls_conn_add_tlsa(tls_conn_t *conn, const tls_params_t *params, char *why,
                              size_t why_len)
{
    long added = 0;
    bool enabled = false;

    for (size_t i = 0; i < params->n_tlsa; i++) {
        const tlsa_record_t *t = &params->tlsa[i];
        int rc;

        /* RULES T3: PKIX usages and malformed records never reach OpenSSL. */
        if (tlsa_classify(t, NULL, 0) != TLSA_USABLE)
            continue;
        if (!enabled) {
            /* RULES A4: the base domain is the first reference identifier. */
            if (SSL_dane_enable(conn->ssl, params->base_domain) <= 0)
                goto openssl_fail;
            for (size_t n = 0; n < params->n_names; n++)
                if (!SSL_add1_host(conn->ssl, params->names[n]))
                    goto openssl_fail;
            /* RULES A4: a wildcard only as the whole left-most label. */
            SSL_set_hostflags(conn->ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
            enabled = true;
        }
        rc = SSL_dane_tlsa_add(conn->ssl, t->usage, t->selector, t->mtype, t->data, t->data_len);
        if (rc < 0)
            goto openssl_fail;
        /* 0: OpenSSL finds it unusable after all; it just does not count. */
        if (rc > 0)
            added++;
    }
    ERR_clear_error();
    return added;

openssl_fail:
    tls_error_queue(why, why_len);
    return -1;
}

tls_conn_t *tls_conn_new(tls_ctx_t *ctx, int fd, const tls_params_t *params, char *why,
                         size_t why_len)
{
    tls_conn_t *conn = NULL;
    long added;

    ERR_clear_error();
    if (params->base_domain == NULL || params->base_domain[0] == '\0') {
        tls_why(why, why_len, "no TLSA base domain");
        return NULL;
    }
    if ((size_t)params->cert_type >= sizeof(tls_cert_type_names) / sizeof(tls_cert_type_names[0])) {
        tls_why(why, why_len, "unknown certificate type %d", (int)params->cert_type);
        return NULL;
    }
    conn = calloc(1, sizeof(*conn));
    if (conn == NULL) {
        tls_why(why, why_len, "out of memory");
        return NULL;
    }
    conn->state = TLS_STATE_HANDSHAKE;
    conn->at = params->at;
    conn->trace = params->trace;
    conn->trace_arg = params->trace_arg;
    conn->ssl = SSL_new(ctx->ssl_ctx);
    if (conn->ssl == NULL || !SSL_set_fd(conn->ssl, fd))
        goto openssl_fail;
    SSL_set_connect_state(conn->ssl);
    /* RULES A5: SNI is the TLSA base domain. */
    if (!SSL_set_tlsext_host_name(conn->ssl, params->base_domain))
        goto openssl_fail;
    if (params->cert_type != TLS_CERT_ANY &&
        (!SSL_set1_sigalgs_list(conn->ssl, tls_cert_type_algs[params->cert_type].sigalgs) ||
         !SSL_set_cipher_list(conn->ssl, tls_cert_type_algs[params->cert_type].ciphers)))
        goto openssl_fail;
    if (params->at != 0)
        X509_VERIFY_PARAM_set_time(SSL_get0_param(conn->ssl), params->at);
    added = tls_conn_add_tlsa(conn, params, why, why_len);
    if (added < 0)
        goto fail;
    conn->n_usable = (size_t)added;
    return conn;

openssl_fail:
    tls_error_queue(why, why_len);
fail:
    tls_conn_free(conn);
    return NULL;
}

void tls_conn_free(tls_conn_t *conn)
{
    if (conn == NULL)
        return;
    SSL_free(conn->ssl);
    free(conn->chain);
    free(conn);
}

const tls_result_t *tls_conn_result(const tls_conn_t *conn)
{
    return conn->have_result ? &conn->result : NULL;
}

/* ------------------------------------------------------------ results */

static void tls_hex(char *dst, const unsigned char *src, size_t len)
{
    static const char hex[] = "0123456789abcdef";

    for (size_t i = 0; i < len; i++) {
        dst[2 * i] = hex[src[i] >> 4];
        dst[2 * i + 1] = hex[src[i] & 0x0f];
    }
    dst[2 * len] = '\0';
}

static void tls_x509_name(char *dst, size_t cap, const X509_NAME *name)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *text;
    long len;

    dst[0] = '\0';
    if (bio == NULL)
        return;
    /* ESC_MSB: non-ASCII bytes come out as \XX, never raw. */
    if (X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253) >= 0) {
        len = BIO_get_mem_data(bio, &text);
        if (len > 0)
            tls_censor(dst, cap, text, (size_t)len);
    }
    BIO_free(bio);
}

static void tls_asn1_time(char *dst, size_t cap, const ASN1_TIME *t)
{
    struct tm tm;

    if (t == NULL || !ASN1_TIME_to_tm(t, &tm) || strftime(dst, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(dst, cap, "invalid");
}

static void tls_key_info(tls_cert_info_t *info, X509 *x)
{
    EVP_PKEY *pkey = X509_get0_pubkey(x);
    char group[64];
    const char *curve;

    if (pkey == NULL) {
        snprintf(info->key_type, sizeof(info->key_type), "unknown");
        return;
    }
    info->key_bits = EVP_PKEY_get_bits(pkey);
    switch (EVP_PKEY_get_base_id(pkey)) {
    case EVP_PKEY_RSA:
        snprintf(info->key_type, sizeof(info->key_type), "RSA");
        break;
    case EVP_PKEY_RSA_PSS:
        snprintf(info->key_type, sizeof(info->key_type), "RSA-PSS");
        break;
    case EVP_PKEY_EC:
        if (!EVP_PKEY_get_group_name(pkey, group, sizeof(group), NULL))
            snprintf(group, sizeof(group), "unknown");
        curve = EC_curve_nid2nist(OBJ_txt2nid(group));
        snprintf(info->key_type, sizeof(info->key_type), "EC %.28s", curve != NULL ? curve : group);
        break;
    case EVP_PKEY_ED25519:
        snprintf(info->key_type, sizeof(info->key_type), "Ed25519");
        break;
    case EVP_PKEY_ED448:
        snprintf(info->key_type, sizeof(info->key_type), "Ed448");
        break;
    case EVP_PKEY_DSA:
        snprintf(info->key_type, sizeof(info->key_type), "DSA");
        break;
    default:
        snprintf(info->key_type, sizeof(info->key_type), "%s",
                 OBJ_nid2sn(EVP_PKEY_get_base_id(pkey)));
        break;
    }
}

static void tls_sans(tls_cert_info_t *info, X509 *x)
{
    GENERAL_NAMES *names = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
    int n = names != NULL ? sk_GENERAL_NAME_num(names) : 0;

    for (int i = 0; i < n; i++) {
        const GENERAL_NAME *gn = sk_GENERAL_NAME_value(names, i);

        if (gn->type != GEN_DNS)
            continue;
        info->n_sans_total++;
        if (info->n_sans < TLS_SAN_MAX) {
            const ASN1_IA5STRING *s = gn->d.dNSName;
            tls_censor(info->sans[info->n_sans++], TLS_TEXT_MAX, (const char *)s->data,
                       (size_t)s->length);
        }
    }
    GENERAL_NAMES_free(names);
}

static void tls_cert_info(tls_cert_info_t *info, X509 *x)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    unsigned char *spki = NULL;
    int spki_len;
    int der_len = i2d_X509(x, NULL);

    info->der_len = der_len > 0 ? (size_t)der_len : 0;
    tls_x509_name(info->subject, sizeof(info->subject), X509_get_subject_name(x));
    tls_x509_name(info->issuer, sizeof(info->issuer), X509_get_issuer_name(x));
    tls_sans(info, x);
    tls_asn1_time(info->not_before, sizeof(info->not_before), X509_get0_notBefore(x));
    tls_asn1_time(info->not_after, sizeof(info->not_after), X509_get0_notAfter(x));
    tls_key_info(info, x);
    if (X509_digest(x, EVP_sha256(), md, &md_len) && md_len == 32)
        tls_hex(info->cert_sha256, md, md_len);
    /* RFC 6698 §2.1.2: the DER SubjectPublicKeyInfo, as TLSA selector 1
     * sees it (X509_pubkey_digest would hash only the key bits). */
    spki_len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &spki);
    if (spki_len > 0 && EVP_Digest(spki, (size_t)spki_len, md, &md_len, EVP_sha256(), NULL) &&
        md_len == 32)
        tls_hex(info->spki_sha256, md, md_len);
    OPENSSL_free(spki);
}

/* Whole days from `at` to notAfter, rounded down (negative: expired). */
static long tls_days_left(X509 *leaf, time_t at)
{
    ASN1_TIME *from = ASN1_TIME_set(NULL, at != 0 ? at : time(NULL));
    int days = 0, secs = 0;

    /* days and secs share a sign; a part day in the past is a whole one. */
    if (from == NULL || !ASN1_TIME_diff(&days, &secs, from, X509_get0_notAfter(leaf)))
        days = 0;
    else if (secs < 0)
        days--;
    ASN1_TIME_free(from);
    return days;
}

static void tls_collect_chain(tls_conn_t *conn)
{
    STACK_OF(X509) *chain = SSL_get_peer_cert_chain(conn->ssl);
    tls_result_t *r = &conn->result;
    int total = chain != NULL ? sk_X509_num(chain) : 0;

    if (total <= 0)
        return;
    r->chain_total = (size_t)total;
    r->n_chain = r->chain_total < TLS_CHAIN_DEPTH_MAX ? r->chain_total : TLS_CHAIN_DEPTH_MAX;
    conn->chain = calloc(r->n_chain, sizeof(*conn->chain));
    if (conn->chain == NULL) {
        r->n_chain = 0;
        return;
    }
    for (int i = 0; i < total; i++) {
        X509 *x = sk_X509_value(chain, i);
        int len = i2d_X509(x, NULL);

        r->chain_bytes += len > 0 ? (size_t)len : 0;
        if ((size_t)i < r->n_chain)
            tls_cert_info(&conn->chain[i], x);
    }
    r->chain = conn->chain;
    r->leaf_days_left = tls_days_left(sk_X509_value(chain, 0), conn->at);
}

static tls_auth_t tls_auth_from_verify(long err)
{
    switch (err) {
    case X509_V_ERR_DANE_NO_MATCH:
        return TLS_AUTH_TLSA_MISMATCH;
    case X509_V_ERR_HOSTNAME_MISMATCH:
        return TLS_AUTH_NAME_MISMATCH;
    case X509_V_ERR_CERT_HAS_EXPIRED:
    case X509_V_ERR_CERT_NOT_YET_VALID:
        return TLS_AUTH_CERT_EXPIRED;
    default:
        return TLS_AUTH_CHAIN_INVALID;
    }
}

static void tls_collect_auth(tls_conn_t *conn)
{
    tls_result_t *r = &conn->result;
    X509 *mcert = NULL;
    EVP_PKEY *mspki = NULL;
    int depth;

    r->n_usable = conn->n_usable;
    if (conn->n_usable == 0) {
        /* RULES T4/T5: nothing to authenticate against. */
        r->auth = TLS_AUTH_UNAUTHENTICATED;
        return;
    }
    r->verify_error = SSL_get_verify_result(conn->ssl);
    if (r->verify_error != X509_V_OK) {
        r->auth = tls_auth_from_verify(r->verify_error);
        snprintf(r->verify_text, sizeof(r->verify_text), "%s",
                 X509_verify_cert_error_string(r->verify_error));
        return;
    }
    depth = SSL_get0_dane_authority(conn->ssl, &mcert, &mspki);
    if (depth < 0 || SSL_get0_dane_tlsa(conn->ssl, &r->matched.usage, &r->matched.selector,
                                        &r->matched.mtype, &r->matched.data,
                                        &r->matched.data_len) < 0) {
        /* Without a trust store only a TLSA match can verify a chain. */
        r->auth = TLS_AUTH_CHAIN_INVALID;
        snprintf(r->verify_text, sizeof(r->verify_text), "chain verified without a TLSA match");
        return;
    }
    /* A bare DANE-TA public key (2 1 0) that was not served: OpenSSL
     * gives the depth of the certificate it signed; the key is above. */
    r->matched_depth = mspki != NULL ? depth + 1 : depth;
    r->auth = TLS_AUTH_PASS;
}

static void tls_collect_params(tls_conn_t *conn)
{
    tls_result_t *r = &conn->result;
    const SSL_CIPHER *cipher = SSL_get_current_cipher(conn->ssl);
    int group = SSL_get_negotiated_group(conn->ssl);
    const char *group_name = group > 0 ? SSL_group_to_name(conn->ssl, group) : NULL;

    snprintf(r->version, sizeof(r->version), "%s", SSL_get_version(conn->ssl));
    snprintf(r->cipher, sizeof(r->cipher), "%s", cipher != NULL ? SSL_CIPHER_get_name(cipher) : "");
    snprintf(r->group, sizeof(r->group), "%s", group_name != NULL ? group_name : "");
}

/* ---------------------------------------------------------- handshake */

/* Why an SSL call failed; OpenSSL's queue first, the socket second. */
static void tls_conn_fail(tls_conn_t *conn, int ssl_error, int saved_errno)
{
    char *error = conn->result.error;

    tls_error_queue(error, sizeof(conn->result.error));
    if (error[0] == '\0') {
        if (ssl_error == SSL_ERROR_SYSCALL && saved_errno != 0)
            snprintf(error, sizeof(conn->result.error), "%s", strerror(saved_errno));
        else if (ssl_error == SSL_ERROR_SYSCALL || ssl_error == SSL_ERROR_ZERO_RETURN)
            snprintf(error, sizeof(conn->result.error), "connection closed by peer");
        else
            snprintf(error, sizeof(conn->result.error), "SSL error %d", ssl_error);
    }
    tls_conn_set_state(conn, TLS_STATE_FAILED);
}

tls_status_t tls_conn_handshake(tls_conn_t *conn)
{
    int rc, err, saved_errno;

    switch (conn->state) {
    case TLS_STATE_HANDSHAKE:
        break;
    case TLS_STATE_OPEN:
    case TLS_STATE_CLOSED:
        return TLS_DONE;
    case TLS_STATE_FAILED:
        return TLS_FAILED;
    }
    ERR_clear_error();
    errno = 0;
    rc = SSL_do_handshake(conn->ssl);
    saved_errno = errno;
    if (rc == 1) {
        conn->have_result = true;
        tls_collect_params(conn);
        tls_collect_chain(conn);
        tls_collect_auth(conn);
        tls_conn_set_state(conn, TLS_STATE_OPEN);
        return TLS_DONE;
    }
    err = SSL_get_error(conn->ssl, rc);
    if (err == SSL_ERROR_WANT_READ)
        return TLS_WANT_READ;
    if (err == SSL_ERROR_WANT_WRITE)
        return TLS_WANT_WRITE;
    conn->have_result = true;
    tls_conn_fail(conn, err, saved_errno);
    /* What the peer served before it all went wrong is still worth seeing. */
    tls_collect_chain(conn);
    return TLS_FAILED;
}

/* Map the outcome of SSL_read_ex/SSL_write_ex. */
static tls_status_t tls_conn_io_status(tls_conn_t *conn, int rc, int saved_errno)
{
    int err = SSL_get_error(conn->ssl, rc);

    switch (err) {
    case SSL_ERROR_WANT_READ:
        return TLS_WANT_READ;
    case SSL_ERROR_WANT_WRITE:
        return TLS_WANT_WRITE;
    case SSL_ERROR_ZERO_RETURN:
        ERR_clear_error();
        tls_conn_set_state(conn, TLS_STATE_CLOSED);
        return TLS_CLOSED;
    case SSL_ERROR_SSL:
        /* Many SMTP servers close the socket after 221 without a
         * close_notify; SMTP replies carry their own end, so a cut reply
         * is the SMTP layer's to notice. */
        if (ERR_GET_REASON(ERR_peek_last_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
            ERR_clear_error();
            tls_conn_set_state(conn, TLS_STATE_CLOSED);
            return TLS_CLOSED;
        }
        break;
    default:
        break;
    }
    tls_conn_fail(conn, err, saved_errno);
    return TLS_FAILED;
}

tls_status_t tls_conn_read(tls_conn_t *conn, void *buf, size_t cap, size_t *moved)
{
    int rc, saved_errno;

    *moved = 0;
    if (conn->state == TLS_STATE_CLOSED)
        return TLS_CLOSED;
    if (conn->state != TLS_STATE_OPEN)
        return TLS_FAILED;
    ERR_clear_error();
    errno = 0;
    rc = SSL_read_ex(conn->ssl, buf, cap, moved);
    saved_errno = errno;
    if (rc == 1)
        return TLS_OK;
    return tls_conn_io_status(conn, rc, saved_errno);
}

tls_status_t tls_conn_write(tls_conn_t *conn, const void *buf, size_t len, size_t *moved)
{
    int rc, saved_errno;

    *moved = 0;
    if (conn->state != TLS_STATE_OPEN)
        return TLS_FAILED;
    ERR_clear_error();
    errno = 0;
    rc = SSL_write_ex(conn->ssl, buf, len, moved);
    saved_errno = errno;
    if (rc == 1)
        return TLS_OK;
    return tls_conn_io_status(conn, rc, saved_errno);
}
