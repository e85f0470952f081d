/* tool_common.c - key material, TLSA data and record matching for the
 * operator subcommands. */
#include "tool_common.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "advice.h"
#include "runner.h"

__attribute__((format(printf, 3, 4)))
static void tool_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* ------------------------------------------------------------ material */

void tool_material_free(tool_material_t *m)
{
    for (size_t i = 0; i < m->n_certs; i++)
        X509_free(m->certs[i]);
    EVP_PKEY_free(m->key);
    memset(m, 0, sizeof(*m));
}

const char *tool_material_kind_name(const tool_material_t *m)
{
    switch (m->kind) {
    case TOOL_MATERIAL_CHAIN:
        return m->n_certs > 1 ? "chain" : "certificate";
    case TOOL_MATERIAL_PUBLIC_KEY:
        return "public-key";
    default:
        return "private-key";
    }
}

/* Read the whole file; NULL with err. */
static unsigned char *tool_read_file(const char *path, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL;
    size_t n;

    if (f == NULL) {
        tool_err(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    buf = malloc(TOOL_FILE_MAX + 1);
    if (buf == NULL) {
        tool_err(err, errlen, "%s: out of memory", path);
        goto done;
    }
    n = fread(buf, 1, TOOL_FILE_MAX + 1, f);
    if (ferror(f)) {
        tool_err(err, errlen, "%s: %s", path, strerror(errno));
        goto fail;
    }
    if (n > TOOL_FILE_MAX) {
        tool_err(err, errlen, "%s: larger than %d bytes: not a certificate, chain or key", path,
                 TOOL_FILE_MAX);
        goto fail;
    }
    if (n == 0) {
        tool_err(err, errlen, "%s: empty file", path);
        goto fail;
    }
    *len = n;
    goto done;
fail:
    free(buf);
    buf = NULL;
done:
    fclose(f);
    return buf;
}

/* The chain is what a server sends: leaf first, each certificate issued
 * by the next.  Anything else is worth a warning, not a refusal. */
static void tool_check_order(tool_material_t *m)
{
    for (size_t i = 0; i + 1 < m->n_certs; i++) {
        if (X509_check_issued(m->certs[i + 1], m->certs[i]) != X509_V_OK) {
            snprintf(m->note, sizeof(m->note),
                     "certificate %zu of the chain did not issue certificate %zu: "
                     "is the file leaf first?", i + 1, i);
            return;
        }
    }
}

static int tool_add_cert(tool_material_t *m, X509 *x, const char *path, char *err, size_t errlen)
{
    if (m->n_certs == TOOL_CHAIN_MAX) {
        X509_free(x);
        tool_err(err, errlen, "%s: more than %d certificates", path, TOOL_CHAIN_MAX);
        return -1;
    }
    m->certs[m->n_certs++] = x;
    return 0;
}

/* One DER object that must use all of its bytes. */
static X509 *tool_d2i_cert(const unsigned char *der, long len, bool aux)
{
    const unsigned char *p = der;
    X509 *x = aux ? d2i_X509_AUX(NULL, &p, len) : d2i_X509(NULL, &p, len);

    if (x != NULL && p != der + len) {
        X509_free(x);
        return NULL;
    }
    return x;
}

static EVP_PKEY *tool_d2i_pubkey(const unsigned char *der, long len)
{
    const unsigned char *p = der;
    EVP_PKEY *k = d2i_PUBKEY(NULL, &p, len);

    if (k != NULL && p != der + len) {
        EVP_PKEY_free(k);
        return NULL;
    }
    return k;
}

static EVP_PKEY *tool_d2i_private(const unsigned char *der, long len)
{
    const unsigned char *p = der;
    EVP_PKEY *k = d2i_AutoPrivateKey(NULL, &p, len);

    if (k != NULL && p != der + len) {
        EVP_PKEY_free(k);
        return NULL;
    }
    return k;
}

static int tool_set_key(tool_material_t *m, EVP_PKEY *k, tool_material_kind_t kind,
                        const char *path, char *err, size_t errlen)
{
    if (m->key != NULL) {
        EVP_PKEY_free(k);
        tool_err(err, errlen, "%s: more than one key: give one key, or a certificate", path);
        return -1;
    }
    m->key = k;
    m->kind = kind;
    return 0;
}

/* One PEM block: a certificate or a key goes into m; other blocks (EC
 * parameters, CRLs) are skipped. */
static int tool_pem_block(tool_material_t *m, const char *name, const char *header,
                          const unsigned char *der, long len, const char *path, char *err,
                          size_t errlen)
{
    X509 *x;
    EVP_PKEY *k;

    if (strcmp(name, PEM_STRING_X509) == 0 || strcmp(name, PEM_STRING_X509_OLD) == 0 ||
        strcmp(name, PEM_STRING_X509_TRUSTED) == 0) {
        x = tool_d2i_cert(der, len, strcmp(name, PEM_STRING_X509_TRUSTED) == 0);
        if (x == NULL) {
            tool_err(err, errlen, "%s: a damaged %s block", path, name);
            return -1;
        }
        return tool_add_cert(m, x, path, err, errlen);
    }
    if (strcmp(name, PEM_STRING_PKCS8) == 0 || strstr(header, "ENCRYPTED") != NULL) {
        tool_err(err, errlen, "%s: the private key is encrypted: give the certificate, or the "
                 "public key (openssl pkey -pubout)", path);
        return -1;
    }
    if (strcmp(name, PEM_STRING_PUBLIC) == 0) {
        if ((k = tool_d2i_pubkey(der, len)) == NULL) {
            tool_err(err, errlen, "%s: a damaged %s block", path, name);
            return -1;
        }
        return tool_set_key(m, k, TOOL_MATERIAL_PUBLIC_KEY, path, err, errlen);
    }
    if (strcmp(name, PEM_STRING_RSA_PUBLIC) == 0) {
        const unsigned char *p = der;
        if ((k = d2i_PublicKey(EVP_PKEY_RSA, NULL, &p, len)) == NULL) {
            tool_err(err, errlen, "%s: a damaged %s block", path, name);
            return -1;
        }
        return tool_set_key(m, k, TOOL_MATERIAL_PUBLIC_KEY, path, err, errlen);
    }
    if (strcmp(name, PEM_STRING_PKCS8INF) == 0 || strcmp(name, PEM_STRING_RSA) == 0 ||
        strcmp(name, PEM_STRING_ECPRIVATEKEY) == 0 || strcmp(name, PEM_STRING_DSA) == 0) {
        if ((k = tool_d2i_private(der, len)) == NULL) {
            tool_err(err, errlen, "%s: a damaged %s block", path, name);
            return -1;
        }
        return tool_set_key(m, k, TOOL_MATERIAL_PRIVATE_KEY, path, err, errlen);
    }
    return 0;
}

static int tool_load_pem(const unsigned char *buf, size_t len, tool_material_t *m,
                         const char *path, char *err, size_t errlen)
{
    BIO *bio = BIO_new_mem_buf(buf, (int)len);
    char *name = NULL, *header = NULL;
    unsigned char *der = NULL;
    long der_len = 0;
    int rc = 0;

    if (bio == NULL) {
        tool_err(err, errlen, "%s: out of memory", path);
        return -1;
    }
    while (rc == 0 && PEM_read_bio(bio, &name, &header, &der, &der_len) == 1) {
        rc = tool_pem_block(m, name, header, der, der_len, path, err, errlen);
        OPENSSL_free(name);
        OPENSSL_free(header);
        OPENSSL_free(der);
        name = header = NULL;
        der = NULL;
    }
    /* the loop ends on "no start line" at the end of the file */
    ERR_clear_error();
    BIO_free(bio);
    return rc;
}

static int tool_load_der(const unsigned char *buf, size_t len, tool_material_t *m,
                         const char *path, char *err, size_t errlen)
{
    X509 *x;
    EVP_PKEY *k;

    if ((x = tool_d2i_cert(buf, (long)len, false)) != NULL)
        return tool_add_cert(m, x, path, err, errlen);
    if ((k = tool_d2i_pubkey(buf, (long)len)) != NULL)
        return tool_set_key(m, k, TOOL_MATERIAL_PUBLIC_KEY, path, err, errlen);
    if ((k = tool_d2i_private(buf, (long)len)) != NULL)
        return tool_set_key(m, k, TOOL_MATERIAL_PRIVATE_KEY, path, err, errlen);
    ERR_clear_error();
    return 0;
}

int tool_material_load(const char *path, tool_material_t *out, char *err, size_t errlen)
{
    size_t len = 0;
    unsigned char *buf;
    EVP_PKEY *file_key;
    int rc;

    memset(out, 0, sizeof(*out));
    if ((buf = tool_read_file(path, &len, err, errlen)) == NULL)
        return -1;
    if (memmem(buf, len, "-----BEGIN ", 11) != NULL)
        rc = tool_load_pem(buf, len, out, path, err, errlen);
    else
        rc = tool_load_der(buf, len, out, path, err, errlen);
    free(buf);
    if (rc != 0)
        goto fail;
    if (out->n_certs == 0 && out->key == NULL) {
        tool_err(err, errlen, "%s: not a certificate, chain or key (PEM or DER)", path);
        goto fail;
    }
    if (out->n_certs == 0)
        return 0;
    /* certificates win over a key next to them (a Postfix chain file) */
    file_key = out->key;
    out->key = X509_get_pubkey(out->certs[0]);
    out->kind = TOOL_MATERIAL_CHAIN;
    if (out->key == NULL) {
        EVP_PKEY_free(file_key);
        tool_err(err, errlen, "%s: the first certificate's public key cannot be read", path);
        goto fail;
    }
    tool_check_order(out);
    if (file_key != NULL && X509_check_private_key(out->certs[0], file_key) != 1)
        snprintf(out->note, sizeof(out->note),
                 "the private key in the file does not belong to its first certificate");
    EVP_PKEY_free(file_key);
    ERR_clear_error();
    return 0;
fail:
    tool_material_free(out);
    return -1;
}

int tool_material_from_chain(STACK_OF(X509) *chain, tool_material_t *out, char *err,
                             size_t errlen)
{
    int n = chain != NULL ? sk_X509_num(chain) : 0;

    memset(out, 0, sizeof(*out));
    out->kind = TOOL_MATERIAL_CHAIN;
    if (n <= 0) {
        tool_err(err, errlen, "the server sent no certificate");
        return -1;
    }
    for (int i = 0; i < n && out->n_certs < TOOL_CHAIN_MAX; i++) {
        X509 *x = sk_X509_value(chain, i);
        X509_up_ref(x);
        out->certs[out->n_certs++] = x;
    }
    if ((out->key = X509_get_pubkey(out->certs[0])) == NULL) {
        tool_err(err, errlen, "the server's certificate has a public key OpenSSL cannot read");
        tool_material_free(out);
        return -1;
    }
    tool_check_order(out);
    return 0;
}

/* ------------------------------------------------------------ TLSA data */

int tool_tlsa_data(X509 *cert, EVP_PKEY *key, int selector, int mtype, uint8_t **out,
                   size_t *out_len, char *err, size_t errlen)
{
    unsigned char *der = NULL;
    unsigned int md_len = 0;
    const EVP_MD *md = NULL;
    int n;

    *out = NULL;
    *out_len = 0;
    if (selector == 0) {
        /* RFC 6698 §2.1.2: selector 0 is the whole certificate */
        if (cert == NULL) {
            tool_err(err, errlen, "selector 0 is the digest of a whole certificate, and a key "
                     "is not one: use selector 1 (the public key), or give the certificate");
            return -1;
        }
        n = i2d_X509(cert, &der);
    } else if (selector == 1) {
        n = i2d_PUBKEY(cert != NULL ? X509_get0_pubkey(cert) : key, &der);
    } else {
        tool_err(err, errlen, "selector %d: only 0 and 1 exist (RFC 6698 §2.1.2)", selector);
        return -1;
    }
    if (n <= 0) {
        tool_err(err, errlen, "cannot encode the %s", selector == 0 ? "certificate" : "public key");
        return -1;
    }
    if (mtype == 0) {
        *out = der;
        *out_len = (size_t)n;
        return 0;
    }
    md = mtype == 1 ? EVP_sha256() : mtype == 2 ? EVP_sha512() : NULL;
    if (md == NULL) {
        OPENSSL_free(der);
        tool_err(err, errlen, "matching type %d: only 0, 1 and 2 exist (RFC 6698 §2.1.3)", mtype);
        return -1;
    }
    *out = malloc(EVP_MAX_MD_SIZE);
    if (*out == NULL || EVP_Digest(der, (size_t)n, *out, &md_len, md, NULL) != 1) {
        OPENSSL_free(der);
        free(*out);
        *out = NULL;
        tool_err(err, errlen, "digest failed");
        return -1;
    }
    OPENSSL_free(der);
    *out_len = md_len;
    return 0;
}

char *tool_hex(const uint8_t *data, size_t len)
{
    static const char digits[] = "0123456789abcdef";
    char *s = malloc(2 * len + 1);

    if (s == NULL)
        return NULL;
    for (size_t i = 0; i < len; i++) {
        s[2 * i] = digits[data[i] >> 4];
        s[2 * i + 1] = digits[data[i] & 15];
    }
    s[2 * len] = '\0';
    return s;
}

bool tool_sha256_hex(X509 *cert, EVP_PKEY *key, int selector, char out[65])
{
    uint8_t *data;
    size_t len;
    char err[200];
    char *hex;

    if (tool_tlsa_data(cert, key, selector, 1, &data, &len, err, sizeof(err)) != 0)
        return false;
    hex = tool_hex(data, len);
    free(data);
    if (hex == NULL)
        return false;
    snprintf(out, 65, "%s", hex);
    free(hex);
    return true;
}

/* ------------------------------------------------------------ names */

static const char *tool_usable_name(const char *text, char *buf, size_t len)
{
    const char *why = NULL;

    /* runner_domain_name reads a line's first word: a name is all of it */
    if (text[0] == '\0' || strpbrk(text, " \t\r\n") != NULL || text[0] == '*')
        return NULL;
    return runner_domain_name(text, buf, len, &why);
}

const char *tool_cert_host(X509 *cert, char *buf, size_t len)
{
    GENERAL_NAMES *sans = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
    const char *found = NULL;
    char text[256];

    for (int i = 0; sans != NULL && found == NULL && i < sk_GENERAL_NAME_num(sans); i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(sans, i);
        if (g->type != GEN_DNS)
            continue;
        int n = ASN1_STRING_length(g->d.dNSName);
        const unsigned char *p = ASN1_STRING_get0_data(g->d.dNSName);
        if (n <= 0 || (size_t)n >= sizeof(text) || memchr(p, '\0', (size_t)n) != NULL)
            continue;
        memcpy(text, p, (size_t)n);
        text[n] = '\0';
        found = tool_usable_name(text, buf, len);
    }
    GENERAL_NAMES_free(sans);
    if (found != NULL)
        return found;
    /* RFC 6125 §6.4.4: the CN only when there is no DNS name to use */
    X509_NAME *subject = X509_get_subject_name(cert);
    int idx = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
    if (idx < 0)
        return NULL;
    unsigned char *utf8 = NULL;
    int n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, idx)));
    if (n > 0 && (size_t)n < sizeof(text) && memchr(utf8, '\0', (size_t)n) == NULL) {
        memcpy(text, utf8, (size_t)n);
        text[n] = '\0';
        found = tool_usable_name(text, buf, len);
    }
    OPENSSL_free(utf8);
    return found;
}

const char *tool_key_family(EVP_PKEY *key)
{
    switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_RSA:
    case EVP_PKEY_RSA_PSS:
        return "RSA";
    case EVP_PKEY_EC:
        return "EC";
    case EVP_PKEY_ED25519:
        return "Ed25519";
    case EVP_PKEY_ED448:
        return "Ed448";
    case EVP_PKEY_DSA:
        return "DSA";
    default:
        return "unknown";
    }
}

/* ------------------------------------------------------------ matching */

const char *tool_match_name(tool_match_t match)
{
    return match == TOOL_MATCH_YES ? "yes" : match == TOOL_MATCH_NO ? "no" : "unknown";
}

tool_match_t tool_record_matches(const model_tlsa_record_t *r, X509 *cert, EVP_PKEY *key)
{
    uint8_t *data;
    size_t len;
    char err[200];
    char *hex;
    tool_match_t match;

    if (r->selector > 1 || r->mtype > 2 || r->data_hex == NULL)
        return TOOL_MATCH_NO;
    if (r->selector == 0 && cert == NULL)
        return TOOL_MATCH_UNKNOWN;
    if (tool_tlsa_data(cert, key, r->selector, r->mtype, &data, &len, err, sizeof(err)) != 0)
        return TOOL_MATCH_UNKNOWN;
    hex = tool_hex(data, len);
    free(data);
    if (hex == NULL)
        return TOOL_MATCH_UNKNOWN;
    match = strcasecmp(hex, r->data_hex) == 0 ? TOOL_MATCH_YES : TOOL_MATCH_NO;
    free(hex);
    return match;
}

tool_match_t tool_record_matches_digests(const model_tlsa_record_t *r, const char *cert_sha256,
                                         const char *spki_sha256)
{
    if (r->selector > 1 || r->mtype > 2 || r->data_hex == NULL)
        return TOOL_MATCH_NO;
    switch (advice_record_matches_digests(r, cert_sha256, spki_sha256)) {
    case ADVICE_MATCH_YES: return TOOL_MATCH_YES;
    case ADVICE_MATCH_NO: return TOOL_MATCH_NO;
    case ADVICE_MATCH_UNKNOWN: break;
    }
    return TOOL_MATCH_UNKNOWN;
}
