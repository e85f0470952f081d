/* tlsa.c - TLSA record parsing and usability (RULES T3). */
#include "tlsa.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509.h>

static const char *const tlsa_status_names[] = {
    [TLSA_OK] = "ok",
    [TLSA_ERR_SHORT] = "short-rdata",
    [TLSA_ERR_LONG] = "long-rdata",
};

static const char *const tlsa_usability_codes[] = {
    [TLSA_USABLE] = "usable",
    [TLSA_UNUSABLE_PKIX_USAGE] = "pkix-usage",
    [TLSA_UNUSABLE_USAGE] = "unknown-usage",
    [TLSA_UNUSABLE_SELECTOR] = "unknown-selector",
    [TLSA_UNUSABLE_PRIVATE_MTYPE] = "private-mtype",
    [TLSA_UNUSABLE_MTYPE] = "unknown-mtype",
    [TLSA_UNUSABLE_DIGEST_LENGTH] = "digest-length",
    [TLSA_UNUSABLE_EMPTY] = "empty-data",
    [TLSA_UNUSABLE_BAD_CERT] = "bad-certificate",
    [TLSA_UNUSABLE_BAD_SPKI] = "bad-spki",
};

tlsa_status_t tlsa_record_parse(const uint8_t *rdata, size_t len, tlsa_record_t *out)
{
    memset(out, 0, sizeof(*out));
    /* RFC 6698 §2.1: three one-octet fields, then the association data. */
    if (len < 3)
        return TLSA_ERR_SHORT;
    if (len - 3 > TLSA_DATA_MAX)
        return TLSA_ERR_LONG;
    out->usage = rdata[0];
    out->selector = rdata[1];
    out->mtype = rdata[2];
    out->data = rdata + 3;
    out->data_len = len - 3;
    return TLSA_OK;
}

const char *tlsa_status_name(tlsa_status_t status)
{
    if ((size_t)status >= sizeof(tlsa_status_names) / sizeof(tlsa_status_names[0]))
        return "unknown";
    return tlsa_status_names[status];
}

const char *tlsa_usability_code(tlsa_usability_t usability)
{
    if ((size_t)usability >= sizeof(tlsa_usability_codes) / sizeof(tlsa_usability_codes[0]))
        return "unknown";
    return tlsa_usability_codes[usability];
}

/* Full association data must be exactly one DER object of the right
 * kind, as OpenSSL's SSL_dane_tlsa_add() requires: no trailing bytes. */
static int tlsa_full_data_parses(const tlsa_record_t *rec)
{
    const unsigned char *p = rec->data;
    long len = (long)rec->data_len;
    int ok = 0;

    if (rec->selector == TLSA_SELECTOR_CERT) {
        X509 *cert = d2i_X509(NULL, &p, len);
        ok = cert != NULL && p == rec->data + rec->data_len && X509_get0_pubkey(cert) != NULL;
        X509_free(cert);
    } else {
        EVP_PKEY *pkey = d2i_PUBKEY(NULL, &p, len);
        ok = pkey != NULL && p == rec->data + rec->data_len;
        EVP_PKEY_free(pkey);
    }
    /* A failed d2i leaves entries in this thread's error queue; they say
     * nothing about the next TLS handshake, so they must not linger. */
    ERR_clear_error();
    return ok;
}

static void tlsa_why(char *why, size_t why_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void tlsa_why(char *why, size_t why_len, const char *fmt, ...)
{
    va_list ap;

    if (why == NULL || why_len == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(why, why_len, fmt, ap);
    va_end(ap);
}

tlsa_usability_t tlsa_classify(const tlsa_record_t *rec, char *why, size_t why_len)
{
    size_t want_len = 0;

    /* RFC 7672 §3.1.3: PKIX usages are unusable for SMTP. */
    if (rec->usage == TLSA_USAGE_PKIX_TA || rec->usage == TLSA_USAGE_PKIX_EE) {
        tlsa_why(why, why_len, "usage %u (%s) is unusable for SMTP (RFC 7672 3.1.3)",
                 rec->usage, rec->usage == TLSA_USAGE_PKIX_TA ? "PKIX-TA" : "PKIX-EE");
        return TLSA_UNUSABLE_PKIX_USAGE;
    }
    if (rec->usage != TLSA_USAGE_DANE_TA && rec->usage != TLSA_USAGE_DANE_EE) {
        tlsa_why(why, why_len, "unknown certificate usage %u", rec->usage);
        return TLSA_UNUSABLE_USAGE;
    }
    if (rec->selector != TLSA_SELECTOR_CERT && rec->selector != TLSA_SELECTOR_SPKI) {
        tlsa_why(why, why_len, "unknown selector %u", rec->selector);
        return TLSA_UNUSABLE_SELECTOR;
    }
    switch (rec->mtype) {
    case TLSA_MTYPE_FULL:
        break;
    case TLSA_MTYPE_SHA256:
        want_len = 32;
        break;
    case TLSA_MTYPE_SHA512:
        want_len = 64;
        break;
    case TLSA_MTYPE_PRIVATE:
        /* RFC 6698 §2.1.3: PrivMatch means nothing between strangers. */
        tlsa_why(why, why_len, "matching type 255 (PrivMatch) is for private use");
        return TLSA_UNUSABLE_PRIVATE_MTYPE;
    default:
        tlsa_why(why, why_len, "unknown matching type %u", rec->mtype);
        return TLSA_UNUSABLE_MTYPE;
    }
    if (want_len != 0 && rec->data_len != want_len) {
        tlsa_why(why, why_len, "matching type %u needs %zu bytes of data, got %zu",
                 rec->mtype, want_len, rec->data_len);
        return TLSA_UNUSABLE_DIGEST_LENGTH;
    }
    if (rec->mtype == TLSA_MTYPE_FULL && rec->data_len == 0) {
        tlsa_why(why, why_len, "matching type 0 (Full) with no data");
        return TLSA_UNUSABLE_EMPTY;
    }
    if (rec->mtype == TLSA_MTYPE_FULL && !tlsa_full_data_parses(rec)) {
        if (rec->selector == TLSA_SELECTOR_CERT) {
            tlsa_why(why, why_len, "selector 0 (Cert) data is not a DER certificate");
            return TLSA_UNUSABLE_BAD_CERT;
        }
        tlsa_why(why, why_len, "selector 1 (SPKI) data is not a DER SubjectPublicKeyInfo");
        return TLSA_UNUSABLE_BAD_SPKI;
    }
    tlsa_why(why, why_len, "usable %s record",
             rec->usage == TLSA_USAGE_DANE_TA ? "DANE-TA(2)" : "DANE-EE(3)");
    return TLSA_USABLE;
}

size_t tlsa_record_format(const tlsa_record_t *rec, char *buf, size_t buf_len)
{
    static const char hex[] = "0123456789abcdef";
    char head[16];
    int head_len = snprintf(head, sizeof(head), "%u %u %u ", rec->usage, rec->selector, rec->mtype);
    size_t need = (size_t)head_len + 2 * rec->data_len;
    size_t pos = 0;

    if (buf == NULL || buf_len == 0)
        return need;
    for (int i = 0; i < head_len && pos + 1 < buf_len; i++)
        buf[pos++] = head[i];
    for (size_t i = 0; i < rec->data_len && pos + 2 < buf_len; i++) {
        buf[pos++] = hex[rec->data[i] >> 4];
        buf[pos++] = hex[rec->data[i] & 0x0f];
    }
    buf[pos] = '\0';
    return need;
}
