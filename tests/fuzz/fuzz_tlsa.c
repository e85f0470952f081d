/* fuzz_tlsa.c - libFuzzer target for probes/tlsa: TLSA RDATA parsing,
 * usability (RULES T3) and the presentation form, on arbitrary RDATA.
 *
 * Besides "no crash, no sanitizer report", it checks what the module
 * promises: a parsed record is a view of the input (RFC 6698 §2.1), a
 * usable record really has a DANE usage, a known selector and a digest
 * of the right length, the reason is always a printable line, the
 * OpenSSL error queue is left empty, and the presentation form is
 * exactly "U S M <hex>", cut cleanly at any buffer size.
 */
#include "fuzz.h"
#include "tlsa.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>


/* Large enough for any reason tlsa_classify writes. */
#define FUZZ_WHY_MAX 256

static void fuzz_check_line(const char *text, size_t max)
{
    size_t len = strlen(text);

    FUZZ_ASSERT(len < max);
    for (size_t i = 0; i < len; i++)
        FUZZ_ASSERT(text[i] >= 0x20 && text[i] <= 0x7e);
}

static void fuzz_classify(const tlsa_record_t *rec)
{
    char why[FUZZ_WHY_MAX], small[8];
    tlsa_usability_t u = tlsa_classify(rec, why, sizeof(why));

    fuzz_check_line(why, sizeof(why));
    FUZZ_ASSERT(why[0] != '\0');
    FUZZ_ASSERT(strcmp(tlsa_usability_code(u), "unknown") != 0);
    /* A failed DER parse must not leave errors for the next handshake. */
    FUZZ_ASSERT(ERR_peek_error() == 0);

    /* The verdict does not depend on the reason buffer. */
    FUZZ_ASSERT(tlsa_classify(rec, NULL, 0) == u);
    FUZZ_ASSERT(tlsa_classify(rec, small, sizeof(small)) == u);
    FUZZ_ASSERT(strlen(small) < sizeof(small) && strncmp(small, why, strlen(small)) == 0);

    if (u == TLSA_USABLE) {
        /* RFC 7672 §3.1.3 and RFC 6698 §2.1.2-§2.1.3 */
        FUZZ_ASSERT(rec->usage == TLSA_USAGE_DANE_TA || rec->usage == TLSA_USAGE_DANE_EE);
        FUZZ_ASSERT(rec->selector == TLSA_SELECTOR_CERT || rec->selector == TLSA_SELECTOR_SPKI);
        FUZZ_ASSERT(rec->mtype == TLSA_MTYPE_FULL || rec->mtype == TLSA_MTYPE_SHA256 ||
                    rec->mtype == TLSA_MTYPE_SHA512);
        FUZZ_ASSERT(rec->mtype != TLSA_MTYPE_SHA256 || rec->data_len == 32);
        FUZZ_ASSERT(rec->mtype != TLSA_MTYPE_SHA512 || rec->data_len == 64);
        FUZZ_ASSERT(rec->mtype != TLSA_MTYPE_FULL || rec->data_len > 0);
    }
    if (rec->usage == TLSA_USAGE_PKIX_TA || rec->usage == TLSA_USAGE_PKIX_EE)
        FUZZ_ASSERT(u == TLSA_UNUSABLE_PKIX_USAGE);
    if (u == TLSA_UNUSABLE_BAD_CERT)
        FUZZ_ASSERT(rec->selector == TLSA_SELECTOR_CERT && rec->mtype == TLSA_MTYPE_FULL);
    if (u == TLSA_UNUSABLE_BAD_SPKI)
        FUZZ_ASSERT(rec->selector == TLSA_SELECTOR_SPKI && rec->mtype == TLSA_MTYPE_FULL);
}

/* The form written independently: "U S M " and two hex digits a byte. */
static char *fuzz_expected_form(const tlsa_record_t *rec, size_t *len)
{
    int head = snprintf(NULL, 0, "%u %u %u ", rec->usage, rec->selector, rec->mtype);
    char *text = malloc((size_t)head + 2 * rec->data_len + 1);

    FUZZ_ASSERT(head > 0 && text != NULL);
    snprintf(text, (size_t)head + 1, "%u %u %u ", rec->usage, rec->selector, rec->mtype);
    for (size_t i = 0; i < rec->data_len; i++)
        snprintf(text + head + 2 * i, 3, "%02x", rec->data[i]);
    text[(size_t)head + 2 * rec->data_len] = '\0';
    *len = (size_t)head + 2 * rec->data_len;
    return text;
}

static void fuzz_format(const tlsa_record_t *rec, size_t cut)
{
    size_t want_len, need, head;
    char *want = fuzz_expected_form(rec, &want_len);
    char *buf = malloc(want_len + 1);
    size_t sizes[] = {1, 2, 6, 7, cut % (want_len + 2), want_len, want_len + 1};

    FUZZ_ASSERT(buf != NULL);
    head = want_len - 2 * rec->data_len;
    need = tlsa_record_format(rec, NULL, 0);
    FUZZ_ASSERT(need == want_len);
    FUZZ_ASSERT(need < TLSA_PRESENTATION_MAX);
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        size_t n = sizes[i] < want_len + 1 ? sizes[i] : want_len + 1, got;

        if (n == 0)
            continue;
        memset(buf, 'X', n);
        FUZZ_ASSERT(tlsa_record_format(rec, buf, n) == need);
        got = strnlen(buf, n);
        FUZZ_ASSERT(got < n);                           /* terminated inside */
        FUZZ_ASSERT(memcmp(buf, want, got) == 0);       /* a prefix of the form */
        FUZZ_ASSERT(n <= want_len || got == want_len);  /* whole when it fits */
        /* as much as fits, and never half a byte of the data */
        FUZZ_ASSERT(got == want_len || got + 2 >= n);
        FUZZ_ASSERT(got <= head || (got - head) % 2 == 0);
    }
    free(buf);
    free(want);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tlsa_record_t rec;
    tlsa_status_t st = tlsa_record_parse(data, size, &rec);

    FUZZ_ASSERT(strcmp(tlsa_status_name(st), "unknown") != 0);
    if (size < 3) {
        FUZZ_ASSERT(st == TLSA_ERR_SHORT);
    } else if (size - 3 > TLSA_DATA_MAX) {
        FUZZ_ASSERT(st == TLSA_ERR_LONG);
    } else {
        FUZZ_ASSERT(st == TLSA_OK);
    }
    if (st != TLSA_OK) {
        static const tlsa_record_t zero;
        FUZZ_ASSERT(memcmp(&rec, &zero, sizeof(rec)) == 0);
        return 0;
    }
    FUZZ_ASSERT(rec.usage == data[0] && rec.selector == data[1] && rec.mtype == data[2]);
    FUZZ_ASSERT(rec.data == data + 3 && rec.data_len == size - 3);

    fuzz_classify(&rec);
    fuzz_format(&rec, size > 3 ? (size_t)data[3] * 7 : 0);
    return 0;
}
