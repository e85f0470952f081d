/* test_tlsa.c - TLSA RDATA parsing, usability (RULES T3) and the
 * presentation form, as tables. */
#include "check.h"
#include "tlsa.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

/* Association data the rows refer to; the DER objects are made afresh
 * (an Ed25519 key and a self-signed certificate for it) so the test
 * carries no opaque blobs. */
typedef enum {
    DATA_NONE,
    DATA_16,
    DATA_32,
    DATA_33,
    DATA_64,
    DATA_SPKI,
    DATA_SPKI_TRAILING,     /* a valid SPKI and one byte more */
    DATA_SPKI_CUT,          /* the SPKI without its last byte */
    DATA_CERT,
    DATA_CERT_TRAILING,
    DATA_CERT_CUT,
    DATA_GARBAGE,           /* 40 bytes that are no DER at all */
} test_data_t;

typedef struct {
    uint8_t *spki, *cert;
    size_t spki_len, cert_len;
} test_der_t;

static int der_make(test_der_t *der)
{
    EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    X509 *x = X509_new();
    X509_NAME *name = X509_NAME_new();
    unsigned char *p;
    int ok = 0;
    int spki_len, cert_len;

    memset(der, 0, sizeof(*der));
    if (key == NULL || x == NULL || name == NULL)
        goto done;
    if (!X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                    (const unsigned char *)"tlsa.test", -1, -1, 0) ||
        !X509_set_subject_name(x, name) || !X509_set_issuer_name(x, name) ||
        !ASN1_INTEGER_set(X509_get_serialNumber(x), 1) ||
        X509_gmtime_adj(X509_getm_notBefore(x), 0) == NULL ||
        X509_gmtime_adj(X509_getm_notAfter(x), 86400) == NULL ||
        !X509_set_pubkey(x, key) || !X509_sign(x, key, NULL))
        goto done;
    spki_len = i2d_PUBKEY(key, NULL);
    cert_len = i2d_X509(x, NULL);
    if (spki_len <= 0 || cert_len <= 0)
        goto done;
    der->spki_len = (size_t)spki_len;
    der->cert_len = (size_t)cert_len;
    der->spki = malloc(der->spki_len + 1);
    der->cert = malloc(der->cert_len + 1);
    if (der->spki == NULL || der->cert == NULL)
        goto done;
    p = der->spki;
    i2d_PUBKEY(key, &p);
    p = der->cert;
    i2d_X509(x, &p);
    ok = 1;
done:
    X509_NAME_free(name);
    X509_free(x);
    EVP_PKEY_free(key);
    return ok;
}

static void der_free(test_der_t *der)
{
    free(der->spki);
    free(der->cert);
}

/* Fill rdata with the header and the data a row names; returns its length. */
static size_t rdata_make(uint8_t *rdata, size_t cap, const test_der_t *der, uint8_t usage,
                         uint8_t selector, uint8_t mtype, test_data_t data)
{
    size_t n = 0;

    rdata[0] = usage;
    rdata[1] = selector;
    rdata[2] = mtype;
    switch (data) {
    case DATA_NONE:
        break;
    case DATA_16:
    case DATA_32:
    case DATA_33:
    case DATA_64:
    case DATA_GARBAGE:
        n = data == DATA_16 ? 16 : data == DATA_32 ? 32 : data == DATA_33 ? 33
          : data == DATA_64 ? 64 : 40;
        memset(rdata + 3, 0xa5, n);
        break;
    case DATA_SPKI:
    case DATA_SPKI_TRAILING:
    case DATA_SPKI_CUT:
        n = der->spki_len;
        memcpy(rdata + 3, der->spki, n);
        if (data == DATA_SPKI_TRAILING)
            rdata[3 + n++] = 0;
        if (data == DATA_SPKI_CUT)
            n--;
        break;
    case DATA_CERT:
    case DATA_CERT_TRAILING:
    case DATA_CERT_CUT:
        n = der->cert_len;
        memcpy(rdata + 3, der->cert, n);
        if (data == DATA_CERT_TRAILING)
            rdata[3 + n++] = 0;
        if (data == DATA_CERT_CUT)
            n--;
        break;
    }
    CHECK(3 + n <= cap, "rdata buffer too small");
    return 3 + n;
}

static void test_classify(const test_der_t *der)
{
    static const struct {
        const char *name;
        uint8_t usage, selector, mtype;
        test_data_t data;
        tlsa_usability_t want;
        const char *want_code;
    } rows[] = {
        {"3 1 1 sha256", 3, 1, 1, DATA_32, TLSA_USABLE, "usable"},
        {"3 0 1 sha256", 3, 0, 1, DATA_32, TLSA_USABLE, "usable"},
        {"3 1 2 sha512", 3, 1, 2, DATA_64, TLSA_USABLE, "usable"},
        {"2 1 1 sha256", 2, 1, 1, DATA_32, TLSA_USABLE, "usable"},
        {"2 0 2 sha512", 2, 0, 2, DATA_64, TLSA_USABLE, "usable"},
        {"3 1 0 spki", 3, 1, 0, DATA_SPKI, TLSA_USABLE, "usable"},
        {"2 1 0 spki", 2, 1, 0, DATA_SPKI, TLSA_USABLE, "usable"},
        {"3 0 0 cert", 3, 0, 0, DATA_CERT, TLSA_USABLE, "usable"},
        {"2 0 0 cert", 2, 0, 0, DATA_CERT, TLSA_USABLE, "usable"},
        {"0 0 1 pkix-ta", 0, 0, 1, DATA_32, TLSA_UNUSABLE_PKIX_USAGE, "pkix-usage"},
        {"1 1 1 pkix-ee", 1, 1, 1, DATA_32, TLSA_UNUSABLE_PKIX_USAGE, "pkix-usage"},
        {"1 9 9 pkix before the rest", 1, 9, 9, DATA_NONE, TLSA_UNUSABLE_PKIX_USAGE, "pkix-usage"},
        {"usage 4", 4, 1, 1, DATA_32, TLSA_UNUSABLE_USAGE, "unknown-usage"},
        {"usage 255", 255, 1, 1, DATA_32, TLSA_UNUSABLE_USAGE, "unknown-usage"},
        {"selector 2", 3, 2, 1, DATA_32, TLSA_UNUSABLE_SELECTOR, "unknown-selector"},
        {"selector 255", 2, 255, 1, DATA_32, TLSA_UNUSABLE_SELECTOR, "unknown-selector"},
        {"mtype 255", 3, 1, 255, DATA_32, TLSA_UNUSABLE_PRIVATE_MTYPE, "private-mtype"},
        {"mtype 255 short data", 3, 1, 255, DATA_NONE, TLSA_UNUSABLE_PRIVATE_MTYPE, "private-mtype"},
        {"mtype 3", 3, 1, 3, DATA_32, TLSA_UNUSABLE_MTYPE, "unknown-mtype"},
        {"mtype 254", 2, 0, 254, DATA_64, TLSA_UNUSABLE_MTYPE, "unknown-mtype"},
        {"sha256 16 bytes", 3, 1, 1, DATA_16, TLSA_UNUSABLE_DIGEST_LENGTH, "digest-length"},
        {"sha256 33 bytes", 3, 1, 1, DATA_33, TLSA_UNUSABLE_DIGEST_LENGTH, "digest-length"},
        {"sha256 no data", 3, 1, 1, DATA_NONE, TLSA_UNUSABLE_DIGEST_LENGTH, "digest-length"},
        {"sha256 64 bytes", 3, 1, 1, DATA_64, TLSA_UNUSABLE_DIGEST_LENGTH, "digest-length"},
        {"sha512 32 bytes", 3, 1, 2, DATA_32, TLSA_UNUSABLE_DIGEST_LENGTH, "digest-length"},
        {"full no data", 3, 1, 0, DATA_NONE, TLSA_UNUSABLE_EMPTY, "empty-data"},
        {"full cert no data", 2, 0, 0, DATA_NONE, TLSA_UNUSABLE_EMPTY, "empty-data"},
        {"spki garbage", 3, 1, 0, DATA_GARBAGE, TLSA_UNUSABLE_BAD_SPKI, "bad-spki"},
        {"spki trailing byte", 3, 1, 0, DATA_SPKI_TRAILING, TLSA_UNUSABLE_BAD_SPKI, "bad-spki"},
        {"spki cut short", 2, 1, 0, DATA_SPKI_CUT, TLSA_UNUSABLE_BAD_SPKI, "bad-spki"},
        {"spki given a cert", 3, 1, 0, DATA_CERT, TLSA_UNUSABLE_BAD_SPKI, "bad-spki"},
        {"cert garbage", 3, 0, 0, DATA_GARBAGE, TLSA_UNUSABLE_BAD_CERT, "bad-certificate"},
        {"cert trailing byte", 3, 0, 0, DATA_CERT_TRAILING, TLSA_UNUSABLE_BAD_CERT, "bad-certificate"},
        {"cert cut short", 2, 0, 0, DATA_CERT_CUT, TLSA_UNUSABLE_BAD_CERT, "bad-certificate"},
        {"cert given an spki", 2, 0, 0, DATA_SPKI, TLSA_UNUSABLE_BAD_CERT, "bad-certificate"},
    };
    static uint8_t rdata[4096];

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        size_t len = rdata_make(rdata, sizeof(rdata), der, rows[i].usage, rows[i].selector,
                                rows[i].mtype, rows[i].data);
        tlsa_record_t rec;
        char why[160] = "";
        tlsa_usability_t got;

        CHECK_INT(rows[i].name, tlsa_record_parse(rdata, len, &rec), TLSA_OK);
        got = tlsa_classify(&rec, why, sizeof(why));
        CHECK(got == rows[i].want, "%s: got %s (%s), want %s", rows[i].name,
              tlsa_usability_code(got), why, tlsa_usability_code(rows[i].want));
        CHECK_STR(rows[i].name, tlsa_usability_code(got), rows[i].want_code);
        CHECK(why[0] != '\0', "%s: no reason given", rows[i].name);
        /* The reason buffer is optional. */
        CHECK_INT(rows[i].name, tlsa_classify(&rec, NULL, 0), rows[i].want);
    }
}

static void test_parse(void)
{
    static const uint8_t bytes[] = {3, 1, 1, 0xde, 0xad};
    static const struct {
        const char *name;
        size_t len;
        tlsa_status_t want;
        size_t want_data_len;
    } rows[] = {
        {"empty", 0, TLSA_ERR_SHORT, 0},
        {"one byte", 1, TLSA_ERR_SHORT, 0},
        {"two bytes", 2, TLSA_ERR_SHORT, 0},
        {"header only", 3, TLSA_OK, 0},
        {"header and data", 5, TLSA_OK, 2},
    };

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        tlsa_record_t rec;
        tlsa_status_t got = tlsa_record_parse(bytes, rows[i].len, &rec);

        CHECK(got == rows[i].want, "%s: got %s, want %s", rows[i].name, tlsa_status_name(got),
              tlsa_status_name(rows[i].want));
        CHECK_INT(rows[i].name, rec.data_len, rows[i].want_data_len);
        if (got == TLSA_OK) {
            CHECK_INT(rows[i].name, rec.usage, 3);
            CHECK_INT(rows[i].name, rec.selector, 1);
            CHECK_INT(rows[i].name, rec.mtype, 1);
            CHECK(rec.data == bytes + 3, "%s: data does not point into the rdata", rows[i].name);
        } else {
            CHECK(rec.data == NULL, "%s: data set on failure", rows[i].name);
        }
    }

    /* The largest RDATA an RR can carry, and one byte more. */
    {
        static uint8_t big[3 + TLSA_DATA_MAX + 1];
        tlsa_record_t rec;

        CHECK_INT("max rdata", tlsa_record_parse(big, 3 + TLSA_DATA_MAX, &rec), TLSA_OK);
        CHECK_INT("max rdata length", rec.data_len, TLSA_DATA_MAX);
        CHECK_INT("oversized rdata", tlsa_record_parse(big, sizeof(big), &rec), TLSA_ERR_LONG);
    }
}

static void test_format(void)
{
    static const uint8_t data[] = {0x00, 0x1f, 0xa0, 0xff};
    static const struct {
        const char *name;
        uint8_t usage, selector, mtype;
        size_t data_len;
        size_t buf_len;
        const char *want;
        size_t want_len;
    } rows[] = {
        {"whole", 3, 1, 1, 4, 64, "3 1 1 001fa0ff", 14},
        {"no data", 2, 0, 0, 0, 64, "2 0 0 ", 6},
        {"wide fields", 255, 255, 255, 1, 64, "255 255 255 00", 14},
        {"exact fit", 3, 1, 1, 4, 15, "3 1 1 001fa0ff", 14},
        {"cut in the data", 3, 1, 1, 4, 13, "3 1 1 001fa0", 14},
        {"no half bytes", 3, 1, 1, 4, 12, "3 1 1 001f", 14},
        {"cut in the head", 3, 1, 1, 4, 4, "3 1", 14},
        {"one byte", 3, 1, 1, 4, 1, "", 14},
    };

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        tlsa_record_t rec = {rows[i].usage, rows[i].selector, rows[i].mtype, data,
                             rows[i].data_len};
        char buf[64];
        size_t got = tlsa_record_format(&rec, buf, rows[i].buf_len);

        CHECK_INT(rows[i].name, got, rows[i].want_len);
        CHECK_STR(rows[i].name, buf, rows[i].want);
    }
    {
        tlsa_record_t rec = {3, 1, 1, data, sizeof(data)};
        CHECK_INT("length only", tlsa_record_format(&rec, NULL, 0), 14);
    }
}

static void test_names(void)
{
    CHECK_STR("status ok", tlsa_status_name(TLSA_OK), "ok");
    CHECK_STR("status short", tlsa_status_name(TLSA_ERR_SHORT), "short-rdata");
    CHECK_STR("status out of range", tlsa_status_name((tlsa_status_t)99), "unknown");
    CHECK_STR("code out of range", tlsa_usability_code((tlsa_usability_t)99), "unknown");
    /* Every code is named, and no two share a name. */
    for (int a = TLSA_USABLE; a <= TLSA_UNUSABLE_BAD_SPKI; a++) {
        CHECK(strcmp(tlsa_usability_code((tlsa_usability_t)a), "unknown") != 0,
              "code %d has no name", a);
        for (int b = a + 1; b <= TLSA_UNUSABLE_BAD_SPKI; b++)
            CHECK(strcmp(tlsa_usability_code((tlsa_usability_t)a),
                         tlsa_usability_code((tlsa_usability_t)b)) != 0,
                  "codes %d and %d share the name %s", a, b,
                  tlsa_usability_code((tlsa_usability_t)a));
    }
}

int main(void)
{
    test_der_t der;

    if (!der_make(&der)) {
        fprintf(stderr, "cannot make test certificate\n");
        der_free(&der);
        return 1;
    }
    test_parse();
    test_classify(&der);
    test_format();
    test_names();
    der_free(&der);
    return check_summary();
}
