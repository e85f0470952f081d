/* test_tool_common.c - does a published TLSA record match a key, or a
 * certificate known only by the scan's SHA-256 digests?  The rollover
 * subcommand decides "remove after the switch" and "safe" on these. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "check.h"
#include "tool_common.h"

static char *digest_hex(const unsigned char *der, size_t len, const EVP_MD *md)
{
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int n = 0;

    if (EVP_Digest(der, len, out, &n, md, NULL) != 1)
        return NULL;
    return tool_hex(out, n);
}

static char *upper(const char *s)
{
    char *u = strdup(s);

    for (char *p = u; p != NULL && *p; p++)
        if (*p >= 'a' && *p <= 'f')
            *p = (char)(*p - 'a' + 'A');
    return u;
}

int main(void)
{
    EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    EVP_PKEY *other = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    unsigned char *der = NULL;
    int der_len = key ? i2d_PUBKEY(key, &der) : -1;

    CHECK(key != NULL && other != NULL && der_len > 0, "test keys");
    if (key == NULL || other == NULL || der_len <= 0)
        return check_summary();

    char *full = tool_hex(der, (size_t)der_len);
    char *s256 = digest_hex(der, (size_t)der_len, EVP_sha256());
    char *s512 = digest_hex(der, (size_t)der_len, EVP_sha512());
    char *s256_upper = upper(s256);
    const char *zeros = "0000000000000000000000000000000000000000000000000000000000000000";

    /* against a certificate known by digests: cert_sha256 unknown here */
    const struct {
        const char *name;
        model_tlsa_record_t rec;
        const char *cert_sha256, *spki_sha256;
        tool_match_t want;
    } digests[] = {
        {"3 1 1 of the key", {3, 1, 1, s256, true, NULL}, NULL, s256, TOOL_MATCH_YES},
        {"3 1 1 in upper case", {3, 1, 1, s256_upper, true, NULL}, NULL, s256, TOOL_MATCH_YES},
        {"3 1 1 of another key", {3, 1, 1, (char *)zeros, true, NULL}, NULL, s256, TOOL_MATCH_NO},
        {"3 1 0 full key, hashed to compare", {3, 1, 0, full, true, NULL}, NULL, s256,
         TOOL_MATCH_YES},
        {"3 1 0 not hex", {3, 1, 0, "zz", true, NULL}, NULL, s256, TOOL_MATCH_UNKNOWN},
        {"3 1 2: SHA-512 cannot be compared", {3, 1, 2, s512, true, NULL}, NULL, s256,
         TOOL_MATCH_UNKNOWN},
        {"3 0 1 without the certificate digest", {3, 0, 1, s256, true, NULL}, NULL, s256,
         TOOL_MATCH_UNKNOWN},
        {"3 0 1 against the certificate digest", {3, 0, 1, s256, true, NULL}, s256, NULL,
         TOOL_MATCH_YES},
        {"selector 2 exists nowhere", {3, 2, 1, s256, true, NULL}, s256, s256, TOOL_MATCH_NO},
        {"matching type 255", {3, 1, 255, s256, true, NULL}, s256, s256, TOOL_MATCH_NO},
    };
    for (size_t i = 0; i < sizeof(digests) / sizeof(digests[0]); i++) {
        tool_match_t got = tool_record_matches_digests(&digests[i].rec, digests[i].cert_sha256,
                                                       digests[i].spki_sha256);
        CHECK(got == digests[i].want, "digests: %s: got %s, want %s", digests[i].name,
              tool_match_name(got), tool_match_name(digests[i].want));
    }

    /* against a bare key, as --next gives it */
    const struct {
        const char *name;
        model_tlsa_record_t rec;
        EVP_PKEY *key;
        tool_match_t want;
    } keys[] = {
        {"3 1 1", {3, 1, 1, s256, true, NULL}, key, TOOL_MATCH_YES},
        {"3 1 2", {3, 1, 2, s512, true, NULL}, key, TOOL_MATCH_YES},
        {"3 1 0", {3, 1, 0, full, true, NULL}, key, TOOL_MATCH_YES},
        {"3 1 1 of another key", {3, 1, 1, s256, true, NULL}, other, TOOL_MATCH_NO},
        {"3 1 2 of another key", {3, 1, 2, s512, true, NULL}, other, TOOL_MATCH_NO},
        {"3 0 1: a key is no certificate", {3, 0, 1, s256, true, NULL}, key, TOOL_MATCH_UNKNOWN},
    };
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        tool_match_t got = tool_record_matches(&keys[i].rec, NULL, keys[i].key);
        CHECK(got == keys[i].want, "key: %s: got %s, want %s", keys[i].name, tool_match_name(got),
              tool_match_name(keys[i].want));
    }

    char hex[65];
    CHECK(tool_sha256_hex(NULL, key, 1, hex) && strcmp(hex, s256) == 0,
          "tool_sha256_hex: got %s, want %s", hex, s256);
    CHECK(!tool_sha256_hex(NULL, key, 0, hex), "tool_sha256_hex: selector 0 without a certificate");
    CHECK_STR("tool_key_family", tool_key_family(key), "EC");

    free(full);
    free(s256);
    free(s512);
    free(s256_upper);
    OPENSSL_free(der);
    EVP_PKEY_free(key);
    EVP_PKEY_free(other);
    return check_summary();
}
