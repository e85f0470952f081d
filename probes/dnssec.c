/* dnssec.c - in-process DNSSEC validation (see dnssec.h).
 *
 * The shape follows unbound's validator.  An answer is cut into items:
 * the RRsets of its CNAME/DNAME chain, the RRset asked for, and the
 * NSEC/NSEC3 RRsets of its authority section.  For each item a top-down
 * walk finds the zone that signed it (cached keys -> DS of the next label
 * -> DNSKEY of that child -> ..., from the trust anchor down to the RRSIG
 * signer), then the item is checked against that zone's keys.  Last, the
 * denial and wildcard proofs are checked over the NSEC/NSEC3 records that
 * validated.  ldns holds the records; the signed data are built here and
 * OpenSSL does the signature arithmetic; the choice of keys, the limits,
 * the validity times and the denial logic are ours.  Running out of
 * memory anywhere makes a lookup indeterminate ("out of memory"), never
 * secure or insecure (tests/unit/test_alloc_fail.c fails every
 * allocation in turn).
 */
#include "dnssec.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

/* DESIGN.md, Limits (numbers from unbound, PowerDNS and Postfix) */
#define DNSSEC_MAX_CHAIN 10           /* CNAME/DNAME links */
#define DNSSEC_MAX_KEYS_PER_TAG 4     /* KeyTrap: colliding key tags tried */
#define DNSSEC_MAX_DS 8               /* DS records tried per zone */
#define DNSSEC_MAX_CHECKS_RRSET 8     /* signature checks per RRset */
#define DNSSEC_MAX_CHECKS_JOB 64      /* signature checks per job */
#define DNSSEC_MAX_NSEC3_ITERATIONS 150 /* RFC 9276 §3.2 */
#define DNSSEC_MAX_NSEC3_HASHES 64    /* NSEC3 hash computations per job */
#define DNSSEC_MAX_FETCHES 48         /* DS/DNSKEY fetches per job */
#define DNSSEC_MAX_DENIAL 8           /* NSEC/NSEC3 RRsets looked at per answer */
#define DNSSEC_MAX_TTL 86400          /* cache lifetime cap */
#define DNSSEC_BOGUS_TTL 60           /* unbound's val-bogus-ttl */

#define REASON_MAX 1024
#define NAME_STR_MAX 1040 /* 255 octets, each at most "\DDD" */
#define TRACE_MAX 256
#define SHA1_LEN 20

/* IANA root KSK-2017 and KSK-2024 (https://data.iana.org/root-anchors/). */
static const char *const root_anchors[] = {
    ". IN DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D",
    ". IN DS 38696 8 2 683D2D0ACB8C9B712A1948B27F741219298D0A450D612C483AF444A4C0FB2B16",
};

const char *dnssec_status_name(dnssec_status_t status)
{
    switch (status) {
    case DNSSEC_SECURE: return "secure";
    case DNSSEC_INSECURE: return "insecure";
    case DNSSEC_INDETERMINATE: return "indeterminate";
    case DNSSEC_BOGUS: return "bogus";
    }
    return "?";
}

/* ==== names ============================================================ */

static bool name_eq(const ldns_rdf *a, const ldns_rdf *b)
{
    return ldns_dname_compare(a, b) == 0;
}

static unsigned name_labels(const ldns_rdf *name)
{
    return ldns_dname_label_count(name);
}

static unsigned name_common(const ldns_rdf *a, const ldns_rdf *b);

/* a is b or lies below it (ldns_dname_is_subdomain allocates, unchecked) */
static bool name_under(const ldns_rdf *a, const ldns_rdf *b)
{
    return name_common(a, b) == name_labels(b);
}

/* a lies strictly below b */
static bool name_below(const ldns_rdf *a, const ldns_rdf *b)
{
    return name_labels(a) > name_labels(b) && name_under(a, b);
}

/* A new name made of the last k labels of name. */
static ldns_rdf *name_suffix(const ldns_rdf *name, unsigned k)
{
    unsigned n = name_labels(name);
    return ldns_dname_clone_from(name, (uint16_t)(n > k ? n - k : 0));
}

/* The start of every label of a wire-format name, root excluded; -1 when
 * the name is malformed (ldns_wire2pkt has checked it, this is belt and braces). */
static int name_offsets(const ldns_rdf *name, uint8_t off[128])
{
    const uint8_t *d = ldns_rdf_data(name);
    size_t len = ldns_rdf_size(name), pos = 0;
    int n = 0;

    while (pos < len) {
        uint8_t l = d[pos];
        if (l == 0)
            return pos + 1 == len ? n : -1;
        if (l > 63 || n >= 127 || pos + 1 + l >= len)
            return -1;
        off[n++] = (uint8_t)pos;
        pos += 1u + l;
    }
    return -1;
}

static uint8_t ascii_lower(uint8_t c)
{
    return c >= 'A' && c <= 'Z' ? (uint8_t)(c + 32) : c;
}

/* How many trailing labels a and b share (case-insensitively). */
static unsigned name_common(const ldns_rdf *a, const ldns_rdf *b)
{
    uint8_t oa[128], ob[128];
    int na = name_offsets(a, oa), nb = name_offsets(b, ob);
    unsigned k = 0;

    if (na < 0 || nb < 0)
        return 0;
    while (k < (unsigned)na && k < (unsigned)nb) {
        const uint8_t *la = ldns_rdf_data(a) + oa[na - 1 - (int)k];
        const uint8_t *lb = ldns_rdf_data(b) + ob[nb - 1 - (int)k];
        if (la[0] != lb[0])
            break;
        for (uint8_t i = 1; i <= la[0]; i++)
            if (ascii_lower(la[i]) != ascii_lower(lb[i]))
                return k;
        k++;
    }
    return k;
}

static bool name_is_wildcard(const ldns_rdf *name)
{
    const uint8_t *d = ldns_rdf_data(name);
    return ldns_rdf_size(name) >= 2 && d[0] == 1 && d[1] == '*';
}

/* "*." + ce, or NULL when that would exceed 255 octets. */
static ldns_rdf *name_wildcard(const ldns_rdf *ce)
{
    uint8_t buf[LDNS_MAX_DOMAINLEN + 1];
    size_t len = ldns_rdf_size(ce);

    if (len + 2 > LDNS_MAX_DOMAINLEN)
        return NULL;
    buf[0] = 1;
    buf[1] = '*';
    memcpy(buf + 2, ldns_rdf_data(ce), len);
    return ldns_rdf_new_frm_data(LDNS_RDF_TYPE_DNAME, len + 2, buf);
}

/* RFC 4034 §6.2: the canonical (lower-case) wire form.  Length octets are
 * below 64 and so never touched by the lower-casing. */
static size_t name_canonical(const ldns_rdf *name, uint8_t *out)
{
    size_t len = ldns_rdf_size(name);
    const uint8_t *d = ldns_rdf_data(name);

    for (size_t i = 0; i < len; i++)
        out[i] = ascii_lower(d[i]);
    return len;
}

/* RFC 6672 §2.2: owner's labels below the DNAME owner, moved under target. */
static ldns_rdf *name_dname_subst(const ldns_rdf *name, const ldns_rdf *owner,
                                  const ldns_rdf *target)
{
    uint8_t buf[LDNS_MAX_DOMAINLEN * 2];
    size_t keep = ldns_rdf_size(name) - ldns_rdf_size(owner);
    size_t len = keep + ldns_rdf_size(target);

    if (ldns_rdf_size(name) < ldns_rdf_size(owner) || len > LDNS_MAX_DOMAINLEN)
        return NULL;
    memcpy(buf, ldns_rdf_data(name), keep);
    memcpy(buf + keep, ldns_rdf_data(target), ldns_rdf_size(target));
    return ldns_rdf_new_frm_data(LDNS_RDF_TYPE_DNAME, len, buf);
}

/* A name in presentation format for reasons (ldns escapes the unprintable). */
static const char *name_str(const ldns_rdf *name, char buf[NAME_STR_MAX])
{
    char *text = name ? ldns_rdf2str(name) : NULL;

    snprintf(buf, NAME_STR_MAX, "%s", text ? text : "?");
    free(text);
    return buf;
}

static const char *type_str(ldns_rr_type type, char buf[24])
{
    const ldns_rr_descriptor *d = ldns_rr_descript(type);

    if (d && d->_name)
        snprintf(buf, 24, "%s", d->_name);
    else
        snprintf(buf, 24, "TYPE%u", (unsigned)type);
    return buf;
}

/* ==== RR field access (counts checked once, where RRs enter) ========== */

static uint16_t rdf16(const ldns_rr *rr, size_t i)
{
    return ldns_rdf2native_int16(ldns_rr_rdf(rr, i));
}

static uint8_t rdf8(const ldns_rr *rr, size_t i)
{
    return ldns_rdf2native_int8(ldns_rr_rdf(rr, i));
}

static uint32_t rdf32(const ldns_rr *rr, size_t i)
{
    return ldns_rdf2native_int32(ldns_rr_rdf(rr, i));
}

static bool rr_wellformed(const ldns_rr *rr)
{
    size_t want;

    switch (ldns_rr_get_type(rr)) {
    case LDNS_RR_TYPE_RRSIG: want = 9; break;
    case LDNS_RR_TYPE_DNSKEY: case LDNS_RR_TYPE_DS: want = 4; break;
    case LDNS_RR_TYPE_NSEC: want = 2; break;
    case LDNS_RR_TYPE_NSEC3: want = 6; break;
    case LDNS_RR_TYPE_CNAME: case LDNS_RR_TYPE_DNAME: want = 1; break;
    default: return true;
    }
    /* an empty type bitmap (an NSEC3 for an empty non-terminal) has no rdf */
    if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_NSEC3 && ldns_rr_rd_count(rr) == 5)
        want = 5;
    if (ldns_rr_rd_count(rr) != want)
        return false;
    for (size_t i = 0; i < want; i++)
        if (ldns_rr_rdf(rr, i) == NULL)
            return false;
    return true;
}

/* RFC 8624 §3.1: RSAMD5, DSA and GOST are not to be validated; the rest
 * only when this ldns build has them. */
static bool alg_supported(uint8_t alg)
{
    switch (alg) {
    case LDNS_RSASHA1: case LDNS_RSASHA1_NSEC3: case LDNS_RSASHA256:
    case LDNS_RSASHA512: case LDNS_ECDSAP256SHA256: case LDNS_ECDSAP384SHA384:
    case LDNS_ED25519: case LDNS_ED448:
        return ldns_key_algo_supported(alg) != 0;
    default:
        return false;
    }
}

/* RFC 8624 §3.3: SHA-1, SHA-256, SHA-384 (GOST is MAY, not here). */
static size_t digest_len(uint8_t type)
{
    switch (type) {
    case LDNS_SHA1: return 20;
    case LDNS_SHA256: return 32;
    case LDNS_SHA384: return 48;
    default: return 0;
    }
}

static const char *digest_name(uint8_t type)
{
    switch (type) {
    case LDNS_SHA1: return "SHA-1";
    case LDNS_SHA256: return "SHA-256";
    case LDNS_SHA384: return "SHA-384";
    default: return "unknown";
    }
}

static uint16_t key_flags(const ldns_rr *key) { return rdf16(key, 0); }
static uint8_t key_alg(const ldns_rr *key) { return rdf8(key, 2); }

/* RFC 4034 Appendix B over the DNSKEY RDATA (ldns_calc_keytag allocates
 * a buffer and says 0 when that fails). */
static uint16_t key_tag(const ldns_rr *key)
{
    uint32_t ac = 0;
    size_t at = 0;

    for (size_t i = 0; i < 4; i++) {
        const ldns_rdf *f = ldns_rr_rdf(key, i);
        for (size_t k = 0; k < ldns_rdf_size(f); k++, at++)
            ac += at & 1 ? ldns_rdf_data(f)[k] : (uint32_t)ldns_rdf_data(f)[k] << 8;
    }
    ac += ac >> 16 & 0xffff;
    return (uint16_t)(ac & 0xffff);
}

/* A deep copy, NULL when memory ran out (ldns_rr_clone does not check
 * its own allocations and returns records with fields missing). */
static ldns_rr *rr_clone(const ldns_rr *rr)
{
    ldns_rr *c = ldns_rr_new();
    ldns_rdf *f;

    if (!c)
        return NULL;
    ldns_rr_set_type(c, ldns_rr_get_type(rr));
    ldns_rr_set_class(c, ldns_rr_get_class(rr));
    ldns_rr_set_ttl(c, ldns_rr_ttl(rr));
    if (!(f = ldns_rdf_clone(ldns_rr_owner(rr))))
        goto fail;
    ldns_rr_set_owner(c, f);
    for (size_t i = 0; i < ldns_rr_rd_count(rr); i++) {
        f = ldns_rdf_clone(ldns_rr_rdf(rr, i));
        if (!f || !ldns_rr_push_rdf(c, f)) {
            ldns_rdf_deep_free(f);
            goto fail;
        }
    }
    return c;
fail:
    ldns_rr_free(c);
    return NULL;
}

/* rr (the pointer) is in list */
static bool list_has(const ldns_rr_list *list, const ldns_rr *rr)
{
    for (size_t i = 0; i < ldns_rr_list_rr_count(list); i++)
        if (ldns_rr_list_rr(list, i) == rr)
            return true;
    return false;
}

/* RFC 4034 §5.1.4: digest = hash(canonical owner | DNSKEY RDATA). */
static bool ds_matches_key(const ldns_rr *ds, const ldns_rr *key)
{
    uint8_t buf[LDNS_MAX_DOMAINLEN + 4 + 4096], digest[48];
    size_t len, dlen = digest_len(rdf8(ds, 2));
    const ldns_rdf *want = ldns_rr_rdf(ds, 3);

    if (dlen == 0 || ldns_rdf_size(want) != dlen)
        return false;
    len = name_canonical(ldns_rr_owner(key), buf);
    for (size_t i = 0; i < 4; i++) {
        const ldns_rdf *f = ldns_rr_rdf(key, i);
        if (len + ldns_rdf_size(f) > sizeof(buf))
            return false;
        memcpy(buf + len, ldns_rdf_data(f), ldns_rdf_size(f));
        len += ldns_rdf_size(f);
    }
    switch (rdf8(ds, 2)) {
    case LDNS_SHA1: ldns_sha1(buf, (unsigned)len, digest); break;
    case LDNS_SHA256: ldns_sha256(buf, (unsigned)len, digest); break;
    default: ldns_sha384(buf, (unsigned)len, digest); break;
    }
    return memcmp(digest, ldns_rdf_data(want), dlen) == 0;
}

/* Same key material (anchors given as DNSKEY). */
static bool key_equal(const ldns_rr *a, const ldns_rr *b)
{
    for (size_t i = 0; i < 4; i++)
        if (ldns_rdf_compare(ldns_rr_rdf(a, i), ldns_rr_rdf(b, i)) != 0)
            return false;
    return true;
}

/* The RRs of one RRset in a packet section (borrowed pointers). */
static ldns_rr_list *rrs_at(const ldns_rr_list *sec, const ldns_rdf *owner, ldns_rr_type type)
{
    ldns_rr_list *out = ldns_rr_list_new();

    for (size_t i = 0; out && i < ldns_rr_list_rr_count(sec); i++) {
        ldns_rr *rr = ldns_rr_list_rr(sec, i);
        if (ldns_rr_get_type(rr) == type && ldns_rr_get_class(rr) == LDNS_RR_CLASS_IN &&
            rr_wellformed(rr) && name_eq(ldns_rr_owner(rr), owner) &&
            !ldns_rr_list_push_rr(out, rr)) {
            ldns_rr_list_free(out);
            return NULL;
        }
    }
    return out;
}

/* The RRSIGs over one RRset in a packet section (borrowed pointers). */
static ldns_rr_list *sigs_at(const ldns_rr_list *sec, const ldns_rdf *owner, ldns_rr_type covered)
{
    ldns_rr_list *out = ldns_rr_list_new();

    for (size_t i = 0; out && i < ldns_rr_list_rr_count(sec); i++) {
        ldns_rr *rr = ldns_rr_list_rr(sec, i);
        if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_RRSIG && rr_wellformed(rr) &&
            ldns_rdf2rr_type(ldns_rr_rrsig_typecovered(rr)) == covered &&
            name_eq(ldns_rr_owner(rr), owner) && !ldns_rr_list_push_rr(out, rr)) {
            ldns_rr_list_free(out);
            return NULL;
        }
    }
    return out;
}

static uint32_t rrset_min_ttl(const ldns_rr_list *rrs)
{
    uint32_t ttl = DNSSEC_MAX_TTL;

    for (size_t i = 0; i < ldns_rr_list_rr_count(rrs); i++)
        if (ldns_rr_ttl(ldns_rr_list_rr(rrs, i)) < ttl)
            ttl = ldns_rr_ttl(ldns_rr_list_rr(rrs, i));
    return ttl;
}

/* RFC 4034 §3.1.5: RRSIG times are serial numbers; place one near `at`. */
static time_t serial_time(uint32_t value, time_t at)
{
    return at + (time_t)(int32_t)(value - (uint32_t)at);
}

static const char *time_str(time_t t, char buf[32])
{
    struct tm tm;

    if (gmtime_r(&t, &tm) == NULL || strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(buf, 32, "%lld", (long long)t);
    return buf;
}

/* ==== trust anchors =================================================== */

struct dnssec_anchors {
    ldns_rdf *owner;
    ldns_rr_list *ds;   /* DS anchors */
    ldns_rr_list *keys; /* DNSKEY anchors */
};

void dnssec_anchors_free(dnssec_anchors_t *anchors)
{
    if (!anchors)
        return;
    ldns_rdf_deep_free(anchors->owner);
    ldns_rr_list_deep_free(anchors->ds);
    ldns_rr_list_deep_free(anchors->keys);
    free(anchors);
}

/* Takes rr.  false with err set when it cannot be an anchor. */
static bool anchors_add(dnssec_anchors_t *a, ldns_rr *rr, const char *where, int line,
                        char *err, size_t errlen)
{
    char tb[24];
    ldns_rr_type type = ldns_rr_get_type(rr);

    if ((type != LDNS_RR_TYPE_DS && type != LDNS_RR_TYPE_DNSKEY) || !rr_wellformed(rr)) {
        snprintf(err, errlen, "%s: line %d: a DS or DNSKEY record was expected, not %s", where,
                 line, type_str(type, tb));
        ldns_rr_free(rr);
        return false;
    }
    if (a->owner == NULL && !(a->owner = ldns_rdf_clone(ldns_rr_owner(rr)))) {
        snprintf(err, errlen, "out of memory");
        ldns_rr_free(rr);
        return false;
    }
    if (!name_eq(a->owner, ldns_rr_owner(rr))) {
        snprintf(err, errlen, "%s: line %d: every anchor must belong to one zone", where, line);
        ldns_rr_free(rr);
        return false;
    }
    /* RFC 4034 §5.1.4, RFC 4509 §2.2, RFC 6605 §2: the digest type fixes
     * the length; a cut or padded digest is a typo that would only ever
     * show up as "bogus" for every name */
    if (type == LDNS_RR_TYPE_DS && digest_len(rdf8(rr, 2)) != 0 &&
        ldns_rdf_size(ldns_rr_rdf(rr, 3)) != digest_len(rdf8(rr, 2))) {
        snprintf(err, errlen, "%s: line %d: the DS with key tag %u has a %zu-byte digest, "
                 "but digest type %u (%s) is %zu bytes", where, line, rdf16(rr, 0),
                 ldns_rdf_size(ldns_rr_rdf(rr, 3)), rdf8(rr, 2), digest_name(rdf8(rr, 2)),
                 digest_len(rdf8(rr, 2)));
        ldns_rr_free(rr);
        return false;
    }
    if (type == LDNS_RR_TYPE_DNSKEY &&
        ((key_flags(rr) & LDNS_KEY_REVOKE_KEY) || !(key_flags(rr) & LDNS_KEY_ZONE_KEY))) {
        /* RFC 5011 §2.1 revoked, RFC 4034 §2.1.1 not a zone key */
        ldns_rr_free(rr);
        return true;
    }
    if (!ldns_rr_list_push_rr(type == LDNS_RR_TYPE_DS ? a->ds : a->keys, rr)) {
        snprintf(err, errlen, "out of memory");
        ldns_rr_free(rr);
        return false;
    }
    return true;
}

/* Anchor files are a few records; anything larger is not one. */
#define ANCHORS_FILE_MAX (1024 * 1024)

/* The whole of path (NUL-terminated, the caller's); NULL with err set. */
static char *anchors_read(const char *path, size_t *len, char *err, size_t errlen)
{
    FILE *fp = fopen(path, "r");
    char *text = NULL;
    size_t cap = 0, n;

    *len = 0;
    if (!fp) {
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    do {
        if (cap - *len <= 1) { /* room for one byte more and the NUL */
            char *bigger;
            if (cap > ANCHORS_FILE_MAX) {
                snprintf(err, errlen, "%s: larger than %d bytes: not a trust anchor file",
                         path, ANCHORS_FILE_MAX);
                goto fail;
            }
            if (!(bigger = realloc(text, cap + 8192))) {
                snprintf(err, errlen, "out of memory");
                goto fail;
            }
            text = bigger;
            cap += 8192;
        }
        n = fread(text + *len, 1, cap - *len - 1, fp);
        *len += n;
    } while (n > 0);
    if (ferror(fp)) {
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
        goto fail;
    }
    text[*len] = '\0';
    fclose(fp);
    return text;
fail:
    fclose(fp);
    free(text);
    return NULL;
}

/* ---- the reader: RFC 1035 §5.1 master file syntax, what anchors use ----
 *
 * Not ldns_rr_new_frm_fp_l: ldns's text parsers crash when memory runs
 * out (ldns_str2rdf_dname and the buffers behind them do not check their
 * allocations).  This one reads entries of tokens (comments, parentheses,
 * backslash escapes), $ORIGIN and $TTL, owner / TTL / class each
 * optional, DS and DNSKEY RDATA in presentation form (mnemonic
 * algorithms too) or RFC 3597 generic form, and builds the records
 * itself. */

#define ANCHOR_TOKENS_MAX 256

typedef struct {
    const char *p;
    size_t n;
} token_t;

typedef struct {
    const char *text;
    size_t len, pos;
    int line;                   /* of pos */
} anchor_text_t;

static bool token_is(token_t t, const char *word)
{
    return t.n == strlen(word) && strncasecmp(t.p, word, t.n) == 0;
}

/* The tokens of the next entry (none: the text is read); its first line
 * and whether it starts with a blank (the previous owner).  -1 and why:
 * too many tokens, a stray ')' or an unclosed '(', a NUL byte. */
static int anchor_entry(anchor_text_t *t, token_t *toks, size_t *ntok, int *line, bool *blank,
                        const char **why)
{
    bool line_start = t->pos == 0 || t->text[t->pos - 1] == '\n';
    int depth = 0;

    *ntok = 0;
    *blank = false;
    *line = t->line;
    while (t->pos < t->len) {
        char c = t->text[t->pos];

        if (c == '\n') {
            t->pos++;
            t->line++;
            if (depth == 0 && *ntok > 0)
                return 0;
            if (*ntok == 0) { /* a blank or comment line: the entry starts later */
                *line = t->line;
                *blank = false;
            }
            line_start = true;
            continue;
        }
        if (c == ' ' || c == '\t' || c == '\r') {
            *blank |= line_start && *ntok == 0;
            t->pos++;
            continue;
        }
        line_start = false;
        if (c == ';') {
            while (t->pos < t->len && t->text[t->pos] != '\n')
                t->pos++;
            continue;
        }
        if (c == '\0') {
            *why = "a NUL byte";
            return -1;
        }
        if (c == '(' || c == ')') {
            depth += c == '(' ? 1 : -1;
            t->pos++;
            if (depth < 0) {
                *why = "')' without '('";
                return -1;
            }
            continue;
        }
        if (*ntok == ANCHOR_TOKENS_MAX) {
            *why = "more fields than any anchor has";
            return -1;
        }
        toks[*ntok].p = t->text + t->pos;
        while (t->pos < t->len && !strchr(" \t\r\n;()", t->text[t->pos])) {
            if (t->text[t->pos] == '\\' && t->pos + 1 < t->len && t->text[t->pos + 1] != '\n' &&
                t->text[t->pos + 1] != '\0')
                t->pos++; /* the escaped character belongs to the token */
            t->pos++;
        }
        toks[*ntok].n = (size_t)(t->text + t->pos - toks[*ntok].p);
        (*ntok)++;
    }
    if (depth > 0) {
        *why = "'(' without ')'";
        return -1;
    }
    return 0;
}

/* A name in presentation form (RFC 1035 §5.1: \X and \DDD escapes, '@',
 * relative to origin, which is NULL before any $ORIGIN) into wire form
 * out[LDNS_MAX_DOMAINLEN]. */
static bool anchor_name(token_t t, const uint8_t *origin, size_t origin_len, uint8_t *out,
                        size_t *len, const char **why)
{
    uint8_t buf[LDNS_MAX_DOMAINLEN + 64];
    size_t n = 0, label = SIZE_MAX; /* where the current label's length octet is */
    bool absolute = false;

    if (token_is(t, "@") || token_is(t, ".")) {
        if (t.p[0] == '@' && !origin) {
            *why = "'@' before any $ORIGIN";
            return false;
        }
        *len = t.p[0] == '@' ? origin_len : 1;
        memcpy(out, t.p[0] == '@' ? origin : (const uint8_t *)"", *len);
        return true;
    }
    for (size_t i = 0; i < t.n; i++) {
        unsigned c = (unsigned char)t.p[i];

        if (c == '.') {
            if (label == SIZE_MAX) {
                *why = "an empty label";
                return false;
            }
            label = SIZE_MAX;
            absolute = i + 1 == t.n;
            continue;
        }
        if (c == '\\' && i + 1 < t.n) {
            c = (unsigned char)t.p[++i];
            if (isdigit(c)) {
                if (i + 2 >= t.n || !isdigit((unsigned char)t.p[i + 1]) ||
                    !isdigit((unsigned char)t.p[i + 2]) ||
                    (c = (c - '0') * 100u + (unsigned)(t.p[i + 1] - '0') * 10u +
                         (unsigned)(t.p[i + 2] - '0')) > 255) {
                    *why = "a bad \\DDD escape";
                    return false;
                }
                i += 2;
            }
        }
        if (label == SIZE_MAX) {
            label = n;
            buf[n++] = 0;
        }
        if (buf[label] == 63) {
            *why = "a label longer than 63 octets";
            return false;
        }
        if (n >= LDNS_MAX_DOMAINLEN) {
            *why = "a name longer than 255 octets";
            return false;
        }
        buf[n++] = (uint8_t)c;
        buf[label]++;
    }
    if (!absolute && !origin) {
        *why = "a relative name before any $ORIGIN";
        return false;
    }
    if (n + (absolute ? 1 : origin_len) > LDNS_MAX_DOMAINLEN) {
        *why = "a name longer than 255 octets";
        return false;
    }
    memcpy(out, buf, n);
    memcpy(out + n, absolute ? (const uint8_t *)"" : origin, absolute ? 1 : origin_len);
    *len = n + (absolute ? 1 : origin_len);
    return true;
}

/* A decimal number up to max. */
static bool token_number(token_t t, unsigned long max, unsigned long *out)
{
    unsigned long v = 0;

    if (t.n == 0 || t.n > 10)
        return false;
    for (size_t i = 0; i < t.n; i++) {
        if (t.p[i] < '0' || t.p[i] > '9')
            return false;
        v = v * 10 + (unsigned long)(t.p[i] - '0');
    }
    *out = v;
    return v <= max;
}

/* A TTL: seconds, or BIND's units ("1h30m"). */
static bool token_ttl(token_t t, uint32_t *out)
{
    unsigned long total = 0, v = 0;
    bool digits = false;

    if (t.n == 0 || !isdigit((unsigned char)t.p[0]))
        return false;
    for (size_t i = 0; i < t.n; i++) {
        char c = (char)tolower((unsigned char)t.p[i]);
        const char *unit = strchr("smhdw", c);
        static const unsigned long secs[] = {1, 60, 3600, 86400, 604800};

        if (isdigit((unsigned char)c)) {
            v = v * 10 + (unsigned long)(c - '0');
            digits = true;
        } else if (unit && c && digits) {
            total += v * secs[unit - "smhdw"];
            v = 0;
            digits = false;
        } else {
            return false;
        }
        if (v > UINT32_MAX || total > UINT32_MAX)
            return false;
    }
    total += v;
    if (total > UINT32_MAX)
        return false;
    *out = (uint32_t)total;
    return true;
}

/* An algorithm: a number or its mnemonic (RFC 8624 §2). */
static bool token_alg(token_t t, uint8_t *out)
{
    char buf[32];
    unsigned long v;
    const ldns_lookup_table *lt;

    if (token_number(t, 255, &v)) {
        *out = (uint8_t)v;
        return true;
    }
    if (t.n >= sizeof(buf))
        return false;
    memcpy(buf, t.p, t.n);
    buf[t.n] = '\0';
    lt = ldns_lookup_by_name(ldns_algorithms, buf);
    if (!lt)
        return false;
    *out = (uint8_t)lt->id;
    return true;
}

static int hex_value(char c)
{
    return c >= '0' && c <= '9' ? c - '0'
         : c >= 'a' && c <= 'f' ? c - 'a' + 10
         : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* toks as one run of hex digits into out (room for all of them / 2). */
static bool tokens_hex(const token_t *toks, size_t n, uint8_t *out, size_t *len)
{
    int hi = -1;

    *len = 0;
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < toks[i].n; k++) {
            int v = hex_value(toks[i].p[k]);
            if (v < 0)
                return false;
            if (hi < 0) {
                hi = v;
            } else {
                out[(*len)++] = (uint8_t)(hi << 4 | v);
                hi = -1;
            }
        }
    }
    return hi < 0;
}

static size_t tokens_len(const token_t *toks, size_t n)
{
    size_t len = 0;

    for (size_t i = 0; i < n; i++)
        len += toks[i].n;
    return len;
}

/* The RDATA of a DS or DNSKEY from its fields: DS key tag, algorithm,
 * digest type, digest (hex); DNSKEY flags, protocol, algorithm, key
 * (base64); or RFC 3597 §5 "\# length hex".  *rdata is malloc'd.
 * 0 done; -1 out of memory; 1 a syntax error (why). */
static int anchor_rdata(ldns_rr_type type, const token_t *toks, size_t n, uint8_t **rdata,
                        size_t *len, const char **why)
{
    size_t room = 4 + tokens_len(toks, n);
    uint8_t *out;
    unsigned long a, b;
    uint8_t alg;

    *rdata = NULL;
    if (!(out = malloc(room)))
        return -1;
    if (n >= 1 && token_is(toks[0], "\\#")) {
        if (n < 2 || !token_number(toks[1], 65535, &a) || !tokens_hex(toks + 2, n - 2, out, len) ||
            *len != a || a <= 4) {
            *why = "bad generic RDATA (\\# length hex)";
            goto bad;
        }
    } else if (type == LDNS_RR_TYPE_DS) {
        if (n < 4 || !token_number(toks[0], 65535, &a) || !token_alg(toks[1], &alg) ||
            !token_number(toks[2], 255, &b)) {
            *why = "a DS wants key tag, algorithm, digest type and digest";
            goto bad;
        }
        if (!tokens_hex(toks + 3, n - 3, out + 4, len)) {
            *why = "the digest is not an even number of hex digits";
            goto bad;
        }
        out[0] = (uint8_t)(a >> 8);
        out[1] = (uint8_t)a;
        out[2] = alg;
        out[3] = (uint8_t)b;
        *len += 4;
    } else {
        unsigned char *b64;
        size_t b64len = tokens_len(toks + 3, n > 3 ? n - 3 : 0), at = 0;
        int got;

        if (n < 4 || !token_number(toks[0], 65535, &a) || !token_number(toks[1], 255, &b) ||
            !token_alg(toks[2], &alg)) {
            *why = "a DNSKEY wants flags, protocol, algorithm and key";
            goto bad;
        }
        if (!(b64 = malloc(b64len + 1))) {
            free(out);
            return -1;
        }
        for (size_t i = 3; i < n; i++) {
            memcpy(b64 + at, toks[i].p, toks[i].n);
            at += toks[i].n;
        }
        /* EVP_DecodeBlock counts the padding as data */
        got = b64len % 4 == 0 ? EVP_DecodeBlock(out + 4, b64, (int)b64len) : -1;
        for (size_t i = b64len; got > 0 && i > 0 && b64[i - 1] == '='; i--)
            got--;
        free(b64);
        if (got <= 0) {
            *why = "the key is not base64";
            goto bad;
        }
        out[0] = (uint8_t)(a >> 8);
        out[1] = (uint8_t)a;
        out[2] = (uint8_t)b;
        out[3] = alg;
        *len = 4 + (size_t)got;
    }
    *rdata = out;
    return 0;
bad:
    free(out);
    return 1;
}

/* A DS or DNSKEY record of owner with this RDATA, its fields cut as
 * ldns's descriptor cuts them (the validator compares them with what
 * comes off the wire).  NULL: out of memory. */
static ldns_rr *anchor_rr(const uint8_t *owner, size_t owner_len, ldns_rr_type type,
                          uint32_t ttl, const uint8_t *rdata, size_t len)
{
    /* DS: key tag, algorithm, digest type; DNSKEY: flags, protocol, algorithm */
    static const size_t widths[3] = {2, 1, 1};
    const ldns_rr_descriptor *desc = ldns_rr_descript(type);
    ldns_rr *rr = ldns_rr_new();
    ldns_rdf *f = NULL;
    size_t at = 0;

    if (!rr || !(f = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_DNAME, owner_len, owner)))
        goto fail;
    ldns_rr_set_owner(rr, f);
    ldns_rr_set_type(rr, type);
    ldns_rr_set_class(rr, LDNS_RR_CLASS_IN);
    ldns_rr_set_ttl(rr, ttl);
    for (size_t i = 0; i < 4; i++) {
        size_t w = i < 3 ? widths[i] : len - at;
        if (w == 0) /* an empty digest or key: no field */
            break;
        f = ldns_rdf_new_frm_data(ldns_rr_descriptor_field_type(desc, i), w, rdata + at);
        if (!f || !ldns_rr_push_rdf(rr, f))
            goto fail;
        at += w;
    }
    return rr;
fail:
    ldns_rdf_deep_free(f);
    ldns_rr_free(rr);
    return NULL;
}

/* Every entry of text into a.  false with err (where: the file's name). */
static bool anchors_parse(dnssec_anchors_t *a, const char *text, size_t len, const char *where,
                          char *err, size_t errlen)
{
    anchor_text_t t = {text, len, 0, 1};
    token_t *toks = malloc(ANCHOR_TOKENS_MAX * sizeof(*toks));
    uint8_t origin[LDNS_MAX_DOMAINLEN], owner[LDNS_MAX_DOMAINLEN];
    size_t origin_len = 0, owner_len = 0, ntok;
    uint32_t default_ttl = 3600;
    bool have_origin = false, have_owner = false, ok = false;

    if (!toks) {
        snprintf(err, errlen, "out of memory");
        return false;
    }
    for (;;) {
        const char *why = NULL;
        char word[32];
        uint32_t ttl = default_ttl;
        ldns_rr_type type = 0;
        uint8_t *rdata = NULL;
        size_t i = 0, rdlen = 0;
        int line, r;
        bool blank;
        ldns_rr *rr;

        if (anchor_entry(&t, toks, &ntok, &line, &blank, &why) < 0)
            goto syntax;
        if (ntok == 0)
            break;
        if (toks[0].p[0] == '$') {
            uint8_t name[LDNS_MAX_DOMAINLEN];
            size_t name_len;

            if (token_is(toks[0], "$ORIGIN") && ntok == 2 &&
                anchor_name(toks[1], have_origin ? origin : NULL, origin_len, name, &name_len,
                            &why)) {
                memcpy(origin, name, name_len);
                origin_len = name_len;
                have_origin = true;
                continue;
            }
            if (token_is(toks[0], "$TTL") && ntok == 2 && token_ttl(toks[1], &default_ttl))
                continue;
            snprintf(err, errlen, "%s: line %d: %s", where, line,
                     why ? why : token_is(toks[0], "$ORIGIN") || token_is(toks[0], "$TTL")
                                     ? "a bad $ORIGIN or $TTL" : "only $ORIGIN and $TTL are read");
            goto done;
        }
        if (!blank) {
            if (!anchor_name(toks[i++], have_origin ? origin : NULL, origin_len, owner,
                             &owner_len, &why))
                goto syntax;
            have_owner = true;
        } else if (!have_owner) {
            why = "no owner name";
            goto syntax;
        }
        /* RFC 1035 §5.1: TTL and class, each optional, in either order */
        for (int k = 0; k < 2 && i < ntok; k++) {
            if (token_ttl(toks[i], &ttl)) {
                i++;
            } else if (toks[i].n < sizeof(word)) {
                memcpy(word, toks[i].p, toks[i].n);
                word[toks[i].n] = '\0';
                if (ldns_get_rr_class_by_name(word) == 0)
                    break;
                if (ldns_get_rr_class_by_name(word) != LDNS_RR_CLASS_IN) {
                    why = "a class other than IN";
                    goto syntax;
                }
                i++;
            }
        }
        if (i < ntok && toks[i].n < sizeof(word)) {
            memcpy(word, toks[i].p, toks[i].n);
            word[toks[i].n] = '\0';
            type = ldns_get_rr_type_by_name(word);
        }
        if (type == 0) {
            why = "no record type";
            goto syntax;
        }
        i++;
        if (type != LDNS_RR_TYPE_DS && type != LDNS_RR_TYPE_DNSKEY) {
            char tb[24];
            snprintf(err, errlen, "%s: line %d: a DS or DNSKEY record was expected, not %s",
                     where, line, type_str(type, tb));
            goto done;
        }
        r = anchor_rdata(type, toks + i, ntok - i, &rdata, &rdlen, &why);
        if (r > 0)
            goto syntax;
        rr = r == 0 ? anchor_rr(owner, owner_len, type, ttl, rdata, rdlen) : NULL;
        free(rdata);
        if (!rr) {
            snprintf(err, errlen, "out of memory");
            goto done;
        }
        if (!anchors_add(a, rr, where, line, err, errlen))
            goto done;
        continue;
    syntax:
        snprintf(err, errlen, "%s: line %d: %s", where, line, why);
        goto done;
    }
    ok = true;
done:
    free(toks);
    return ok;
}

dnssec_anchors_t *dnssec_anchors_load(const char *path, char *err, size_t errlen)
{
    dnssec_anchors_t *a = calloc(1, sizeof(*a));
    char *text = NULL;
    size_t len = 0;
    bool ok = false;

    if (!a || !(a->ds = ldns_rr_list_new()) || !(a->keys = ldns_rr_list_new())) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    if (path == NULL) {
        for (size_t i = 0; i < sizeof(root_anchors) / sizeof(root_anchors[0]); i++)
            if (!anchors_parse(a, root_anchors[i], strlen(root_anchors[i]), "built-in anchors",
                               err, errlen))
                goto done;
        ok = true;
        goto done;
    }
    text = anchors_read(path, &len, err, errlen);
    if (!text || !anchors_parse(a, text, len, path, err, errlen))
        goto done;
    if (ldns_rr_list_rr_count(a->ds) + ldns_rr_list_rr_count(a->keys) == 0) {
        snprintf(err, errlen, "%s: no usable DS or DNSKEY record", path);
        goto done;
    }
    ok = true;
done:
    free(text);
    if (!ok) {
        dnssec_anchors_free(a);
        return NULL;
    }
    return a;
}

/* ==== zones and the cache ============================================= */

/* What is known about one zone: its validated keys, or why it is not
 * secure.  Shared by the cache and the jobs using it (reference counted:
 * the cache may drop an entry while a job still holds it). */
typedef struct dnssec_zone dnssec_zone_t;
struct dnssec_zone {
    unsigned refs;
    ldns_rdf *name;
    dnssec_status_t status; /* SECURE, INSECURE, BOGUS; INDETERMINATE is never cached */
    ldns_rr_list *keys;     /* SECURE: the zone keys of the validated DNSKEY RRset */
    uint16_t *tags;         /* key tag of each key */
    char *reason;
    int ede;
    time_t valid_from, valid_until;
    uint32_t hash;
    dnssec_zone_t *hnext, *prev, *next; /* cache bucket, LRU order */
};

struct dnssec_cache {
    dnssec_zone_t **buckets;
    size_t nbuckets, count, max;
    dnssec_zone_t *head, *tail; /* most recently used first */
};

static void zone_unref(dnssec_zone_t *z)
{
    if (!z || --z->refs > 0)
        return;
    ldns_rdf_deep_free(z->name);
    ldns_rr_list_deep_free(z->keys);
    free(z->tags);
    free(z->reason);
    free(z);
}

static dnssec_zone_t *zone_ref(dnssec_zone_t *z)
{
    z->refs++;
    return z;
}

static uint32_t name_hash(const ldns_rdf *name)
{
    uint8_t buf[LDNS_MAX_DOMAINLEN + 1];
    size_t len = ldns_rdf_size(name) <= sizeof(buf) ? name_canonical(name, buf) : 0;
    uint32_t h = 2166136261u; /* FNV-1a */

    for (size_t i = 0; i < len; i++)
        h = (h ^ buf[i]) * 16777619u;
    return h;
}

/* A new zone record with one reference (the caller's). */
static dnssec_zone_t *zone_new(const ldns_rdf *name, dnssec_status_t status, int ede,
                               const char *reason, time_t from, time_t until)
{
    dnssec_zone_t *z = calloc(1, sizeof(*z));

    if (!z)
        return NULL;
    z->refs = 1;
    z->name = ldns_rdf_clone(name);
    z->status = status;
    z->ede = ede;
    z->reason = strdup(reason ? reason : "");
    z->valid_from = from;
    z->valid_until = until;
    if (!z->name || !z->reason) {
        zone_unref(z);
        return NULL;
    }
    ldns_dname2canonical(z->name);
    z->hash = name_hash(z->name);
    return z;
}

dnssec_cache_t *dnssec_cache_new(size_t max_zones)
{
    dnssec_cache_t *c = calloc(1, sizeof(*c));

    if (!c)
        return NULL;
    c->max = max_zones ? max_zones : 1;
    c->nbuckets = 16;
    while (c->nbuckets < c->max && c->nbuckets < ((size_t)1 << 24))
        c->nbuckets <<= 1;
    c->buckets = calloc(c->nbuckets, sizeof(*c->buckets));
    if (!c->buckets) {
        free(c);
        return NULL;
    }
    return c;
}

static void cache_unlink(dnssec_cache_t *c, dnssec_zone_t *z)
{
    dnssec_zone_t **pp = &c->buckets[z->hash & (c->nbuckets - 1)];

    while (*pp && *pp != z)
        pp = &(*pp)->hnext;
    if (*pp)
        *pp = z->hnext;
    if (z->prev)
        z->prev->next = z->next;
    else
        c->head = z->next;
    if (z->next)
        z->next->prev = z->prev;
    else
        c->tail = z->prev;
    z->hnext = z->prev = z->next = NULL;
    c->count--;
    zone_unref(z);
}

static void cache_push_front(dnssec_cache_t *c, dnssec_zone_t *z)
{
    z->prev = NULL;
    z->next = c->head;
    if (c->head)
        c->head->prev = z;
    c->head = z;
    if (!c->tail)
        c->tail = z;
}

/* The entry for exactly `name` that is valid at `at` (borrowed), or NULL. */
static dnssec_zone_t *cache_lookup(dnssec_cache_t *c, const ldns_rdf *name, time_t at)
{
    uint32_t h = name_hash(name);

    for (dnssec_zone_t *z = c->buckets[h & (c->nbuckets - 1)]; z; z = z->hnext) {
        if (z->hash != h || !name_eq(z->name, name))
            continue;
        if (at < z->valid_from || at >= z->valid_until) {
            cache_unlink(c, z);
            return NULL;
        }
        if (c->head != z) {
            z->prev->next = z->next;
            if (z->next)
                z->next->prev = z->prev;
            else
                c->tail = z->prev;
            cache_push_front(c, z);
        }
        return z;
    }
    return NULL;
}

/* Remember z (the cache takes its own reference); replaces an older entry. */
static void cache_insert(dnssec_cache_t *c, dnssec_zone_t *z)
{
    dnssec_zone_t *old;

    if (z->status == DNSSEC_INDETERMINATE || z->valid_until <= z->valid_from)
        return;
    for (old = c->buckets[z->hash & (c->nbuckets - 1)]; old; old = old->hnext)
        if (old->hash == z->hash && name_eq(old->name, z->name))
            break;
    if (old)
        cache_unlink(c, old);
    while (c->count >= c->max && c->tail)
        cache_unlink(c, c->tail);
    zone_ref(z);
    z->hnext = c->buckets[z->hash & (c->nbuckets - 1)];
    c->buckets[z->hash & (c->nbuckets - 1)] = z;
    cache_push_front(c, z);
    c->count++;
}

size_t dnssec_cache_count(const dnssec_cache_t *cache)
{
    return cache->count;
}

void dnssec_cache_free(dnssec_cache_t *cache)
{
    if (!cache)
        return;
    while (cache->head)
        cache_unlink(cache, cache->head);
    free(cache->buckets);
    free(cache);
}

/* ==== jobs ============================================================ */

/* One state machine: the job validates its items one by one; finding an
 * item's zone may wait on DS and DNSKEY fetches; then the proofs. */
typedef enum {
    JOB_ITEMS,       /* validate the next item, or start finding its zone */
    JOB_ANCHOR_KEYS, /* waiting for the DNSKEY RRset of the anchor zone */
    JOB_DS,          /* waiting for the DS RRset of walk.child */
    JOB_DNSKEY,      /* waiting for the DNSKEY RRset of walk.child */
    JOB_PROOF,       /* denial and wildcard proofs over validated NSEC/NSEC3 */
    JOB_DONE,
} job_state_t;

static const char *const job_state_names[] = {
    "items", "anchor-keys", "ds", "dnskey", "proof", "done",
};

typedef enum {
    ITEM_LINK,   /* a CNAME or DNAME RRset of the chain */
    ITEM_ANSWER, /* the RRset asked for */
    ITEM_DENIAL, /* an NSEC or NSEC3 RRset of the authority section */
    ITEM_ZONE,   /* a negative answer with no denial records: only its zone */
} item_kind_t;

typedef struct {
    item_kind_t kind;
    const ldns_rdf *owner; /* borrowed from the packet (ITEM_ZONE: from target) */
    ldns_rr_type type;
    ldns_rr_list *rrset;   /* borrowed RRs */
    ldns_rr_list *sigs;    /* borrowed RRSIGs over rrset */
    ldns_rdf *target;      /* the zone to find: the RRSIG signer, or where the owner lives */
    bool signed_item;
    dnssec_status_t status;
    int link;              /* index into aliases, or -1 */
    unsigned wild_labels;  /* RRSIG labels when expanded from a wildcard, else 0 */
} item_t;

typedef struct {
    time_t from, until;
} window_t;

/* The worst failure seen among the RRSIGs of one RRset. */
typedef struct {
    int rank;
    int ede;
    char text[REASON_MAX];
} fail_t;

enum { FAIL_OTHER, FAIL_LABELS, FAIL_NOKEY, FAIL_TIME, FAIL_CRYPTO, FAIL_LIMIT, FAIL_ERROR };

struct dnssec_job {
    const dnssec_anchors_t *anchors;
    dnssec_cache_t *cache;
    ldns_rdf *qname;
    ldns_rr_type qtype;
    time_t at;
    ldns_pkt *answer;

    job_state_t state;
    dnssec_status_t status;
    int ede;
    char reason[REASON_MAX];
    char trace[TRACE_MAX];

    dnssec_answer_t kind;
    ldns_rdf *final_name;
    const ldns_rr_list *rrset;
    const ldns_rr_list *rrset_sigs;
    dnssec_alias_t aliases[DNSSEC_MAX_CHAIN];   /* points into link_names */
    ldns_rdf *link_names[DNSSEC_MAX_CHAIN][2]; /* owner, target (owned) */
    size_t nlinks;

    item_t items[DNSSEC_MAX_CHAIN + 2 + DNSSEC_MAX_DENIAL];
    size_t nitems, cur;

    /* the walk from the deepest known zone down to items[cur].target */
    struct {
        ldns_rdf *target;
        dnssec_zone_t *zone;   /* deepest secure zone reached (ref) */
        ldns_rdf *cur;         /* deepest name known to lie in zone */
        ldns_rdf *child;       /* whose DS / DNSKEY is being fetched */
        ldns_rr_list *ds;      /* child's validated, usable DS (clones) */
        bool sha1_dropped;     /* SHA-1 DS records left out of ds (RFC 4509 §3) */
        window_t ds_window;
        dnssec_zone_t *result; /* the zone of target, when found (ref) */
    } walk;
    ldns_pkt *fed;
    bool has_fed;

    unsigned sig_checks, nsec3_hashes, fetches;
};

/* The only writer of job->state; the trail is kept for dnssec_job_trace. */
static void job_enter(dnssec_job_t *job, job_state_t next)
{
    size_t used = strlen(job->trace);

    if (next != job->state && used + 24 < sizeof(job->trace))
        snprintf(job->trace + used, sizeof(job->trace) - used, "%s%s",
                 used ? " > " : "", job_state_names[next]);
    job->state = next;
}

__attribute__((format(printf, 2, 0)))
static void vfmt(char *buf, const char *fmt, va_list ap)
{
    vsnprintf(buf, REASON_MAX, fmt, ap);
}

/* Reasons are cut at REASON_MAX: a hostile name must not make them unbounded. */
__attribute__((format(printf, 2, 3)))
static void fmt_reason(char *buf, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vfmt(buf, fmt, ap);
    va_end(ap);
}

__attribute__((format(printf, 4, 5)))
static void fail_set(fail_t *f, int rank, int ede, const char *fmt, ...)
{
    va_list ap;

    if (rank <= f->rank)
        return;
    f->rank = rank;
    f->ede = ede;
    va_start(ap, fmt);
    vfmt(f->text, fmt, ap);
    va_end(ap);
}

/* Raise the job's status to st (never lower it), with its reason. */
static void job_note(dnssec_job_t *job, dnssec_status_t st, int ede, const char *reason)
{
    if (st <= job->status)
        return;
    job->status = st;
    job->ede = ede;
    snprintf(job->reason, sizeof(job->reason), "%s", reason);
}

__attribute__((format(printf, 4, 5)))
static void job_notef(dnssec_job_t *job, dnssec_status_t st, int ede, const char *fmt, ...)
{
    char buf[REASON_MAX];
    va_list ap;

    va_start(ap, fmt);
    vfmt(buf, fmt, ap);
    va_end(ap);
    job_note(job, st, ede, buf);
}

/* A zone record made during a walk; cached unless indeterminate. */
__attribute__((format(printf, 6, 7)))
static dnssec_zone_t *job_zone(dnssec_job_t *job, const ldns_rdf *name, dnssec_status_t st,
                               int ede, window_t win, const char *fmt, ...)
{
    char buf[REASON_MAX];
    va_list ap;
    dnssec_zone_t *z;

    va_start(ap, fmt);
    vfmt(buf, fmt, ap);
    va_end(ap);
    if (st == DNSSEC_BOGUS) {
        win.from = job->at;
        win.until = job->at + DNSSEC_BOGUS_TTL;
    }
    z = zone_new(name, st, ede, buf, win.from, win.until);
    if (z && st != DNSSEC_SECURE)
        cache_insert(job->cache, z);
    return z;
}

/* ---- signatures ------------------------------------------------------- *
 *
 * ldns_verify_rrsig_time is not used: it clones and sorts the RRset and
 * builds buffers without checking any of those allocations, so running
 * out of memory crashes it or makes it judge records it mangled.  The
 * signed data are built here (RFC 4034 §3.1.8.1, §6), ldns still reads
 * the records, OpenSSL's EVP does the arithmetic. */

typedef enum {
    SIG_VALID,
    SIG_INVALID,    /* the signature does not verify with the key, or the key is unusable */
    SIG_ERROR,      /* could not be checked: out of memory, or the library failed */
} sig_result_t;

/* RFC 3597 §7 (the RFC 4034 §6.2 list, which RFC 6840 §5.1 narrowed),
 * and RRSIG's signer: the types whose RDATA names are lowercased in the
 * canonical form. */
static bool canonical_lowers_rdata(ldns_rr_type t)
{
    switch (t) {
    case LDNS_RR_TYPE_NS: case LDNS_RR_TYPE_MD: case LDNS_RR_TYPE_MF:
    case LDNS_RR_TYPE_CNAME: case LDNS_RR_TYPE_SOA: case LDNS_RR_TYPE_MB:
    case LDNS_RR_TYPE_MG: case LDNS_RR_TYPE_MR: case LDNS_RR_TYPE_PTR:
    case LDNS_RR_TYPE_MINFO: case LDNS_RR_TYPE_MX: case LDNS_RR_TYPE_RP:
    case LDNS_RR_TYPE_AFSDB: case LDNS_RR_TYPE_RT: case LDNS_RR_TYPE_SIG:
    case LDNS_RR_TYPE_PX: case LDNS_RR_TYPE_NXT: case LDNS_RR_TYPE_NAPTR:
    case LDNS_RR_TYPE_KX: case LDNS_RR_TYPE_SRV: case LDNS_RR_TYPE_DNAME:
    case LDNS_RR_TYPE_A6: case LDNS_RR_TYPE_RRSIG:
        return true;
    default:
        return false;
    }
}

typedef struct {
    const uint8_t *data;
    size_t len;
} span_t;

/* RFC 4034 §6.3: RRs in the canonical order of their RDATA. */
static int span_cmp(const void *pa, const void *pb)
{
    const span_t *a = pa, *b = pb;
    int c = memcmp(a->data, b->data, a->len < b->len ? a->len : b->len);

    return c != 0 ? c : (a->len > b->len) - (a->len < b->len);
}

/* The RDATA of rr in canonical form, appended at out (room checked by
 * the caller with rr_rdata_len). */
static size_t rr_rdata_canonical(const ldns_rr *rr, uint8_t *out)
{
    bool lower = canonical_lowers_rdata(ldns_rr_get_type(rr));
    size_t len = 0;

    for (size_t i = 0; i < ldns_rr_rd_count(rr); i++) {
        const ldns_rdf *f = ldns_rr_rdf(rr, i);
        if (lower && ldns_rdf_get_type(f) == LDNS_RDF_TYPE_DNAME)
            name_canonical(f, out + len);
        else
            memcpy(out + len, ldns_rdf_data(f), ldns_rdf_size(f));
        len += ldns_rdf_size(f);
    }
    return len;
}

static size_t rr_rdata_len(const ldns_rr *rr)
{
    size_t len = 0;

    for (size_t i = 0; i < ldns_rr_rd_count(rr); i++)
        len += ldns_rdf_size(ldns_rr_rdf(rr, i));
    return len;
}

static uint8_t *put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
    return p + 2;
}

/* RFC 4034 §3.1.8.1: what sig signs: its RDATA up to the signature (the
 * signer in canonical form), then every RR of rrset in canonical form and
 * order, duplicates once (§6.3), with the original TTL, and as owner
 * "*." plus the signed labels when the labels say it was expanded from a
 * wildcard (RFC 4035 §5.3.2).  NULL: out of memory (*len 0) or an RRset
 * no signature can cover (*len 1). */
static uint8_t *sig_data(const ldns_rr_list *rrset, const ldns_rr *sig, size_t *len)
{
    size_t n = ldns_rr_list_rr_count(rrset), total = 0, used = 0, head = 0;
    const ldns_rdf *owner = ldns_rr_owner(ldns_rr_list_rr(rrset, 0));
    uint8_t own[LDNS_MAX_DOMAINLEN + 3], offs[128], *scratch = NULL, *out = NULL, *p;
    span_t *rd = NULL;
    size_t own_len;
    int nl = name_offsets(owner, offs);
    unsigned labels = rdf8(sig, 2);

    *len = 1;
    if (nl < 0 || ldns_rdf_size(owner) > LDNS_MAX_DOMAINLEN)
        return NULL;
    if (labels < (unsigned)nl - (name_is_wildcard(owner) ? 1u : 0u)) {
        const ldns_rdf *o = owner;
        size_t at = labels == 0 ? ldns_rdf_size(o) - 1 : offs[nl - (int)labels];
        own[0] = 1;
        own[1] = '*';
        for (size_t i = at; i < ldns_rdf_size(o); i++)
            own[2 + i - at] = ascii_lower(ldns_rdf_data(o)[i]);
        own_len = 2 + ldns_rdf_size(o) - at;
    } else {
        own_len = name_canonical(owner, own);
    }
    for (size_t i = 0; i < n; i++) {
        size_t l = rr_rdata_len(ldns_rr_list_rr(rrset, i));
        if (l > UINT16_MAX)
            return NULL;
        total += l;
    }
    for (size_t i = 0; i < 7; i++)
        head += ldns_rdf_size(ldns_rr_rdf(sig, i));
    if (head != 18)
        return NULL;
    *len = 0;
    rd = calloc(n, sizeof(*rd));
    scratch = malloc(total ? total : 1);
    if (!rd || !scratch)
        goto done;
    for (size_t i = 0; i < n; i++) {
        rd[i].data = scratch + used;
        rd[i].len = rr_rdata_canonical(ldns_rr_list_rr(rrset, i), scratch + used);
        used += rd[i].len;
    }
    qsort(rd, n, sizeof(*rd), span_cmp);
    out = malloc(head + ldns_rdf_size(ldns_rr_rdf(sig, 7)) + n * (own_len + 10) + total);
    if (!out)
        goto done;
    p = out;
    for (size_t i = 0; i < 7; i++) {
        memcpy(p, ldns_rdf_data(ldns_rr_rdf(sig, i)), ldns_rdf_size(ldns_rr_rdf(sig, i)));
        p += ldns_rdf_size(ldns_rr_rdf(sig, i));
    }
    p += name_canonical(ldns_rr_rdf(sig, 7), p);
    for (size_t i = 0; i < n; i++) {
        const ldns_rr *rr = ldns_rr_list_rr(rrset, 0);
        if (i > 0 && span_cmp(&rd[i - 1], &rd[i]) == 0)
            continue;
        memcpy(p, own, own_len);
        p = put16(p + own_len, (uint16_t)ldns_rr_get_type(rr));
        p = put16(p, (uint16_t)ldns_rr_get_class(rr));
        memcpy(p, ldns_rdf_data(ldns_rr_rdf(sig, 3)), 4); /* the original TTL */
        p = put16(p + 4, (uint16_t)rd[i].len);
        memcpy(p, rd[i].data, rd[i].len);
        p += rd[i].len;
    }
    *len = (size_t)(p - out);
done:
    free(rd);
    free(scratch);
    return out;
}

/* Out of memory somewhere in OpenSSL since the queue was cleared? */
static bool crypto_out_of_memory(void)
{
    unsigned long e;
    bool oom = false;

    while ((e = ERR_get_error()) != 0)
        oom |= ERR_GET_REASON(e) == ERR_R_MALLOC_FAILURE;
    return oom;
}

/* The key, or NULL: *nomem when memory ran out (as far as OpenSSL says). */
static EVP_PKEY *pkey_from_params(const char *type, const OSSL_PARAM *params, bool *nomem)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
    EVP_PKEY *pkey = NULL;

    if (!ctx || EVP_PKEY_fromdata_init(ctx) != 1)
        *nomem = true; /* RSA and EC are always there */
    else if (EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, (OSSL_PARAM *)params) != 1)
        *nomem = crypto_out_of_memory();
    EVP_PKEY_CTX_free(ctx);
    return pkey;
}

/* RFC 3110 §2: exponent length (1 octet, or 0 and 2 octets), exponent, modulus. */
static EVP_PKEY *pkey_rsa(const uint8_t *d, size_t len, bool *nomem)
{
    size_t elen, off = 1;
    BIGNUM *n = NULL, *e = NULL;
    OSSL_PARAM_BLD *bld = NULL;
    OSSL_PARAM *params = NULL;
    EVP_PKEY *pkey = NULL;

    if (len < 1)
        return NULL;
    elen = d[0];
    if (elen == 0) {
        if (len < 3)
            return NULL;
        elen = (size_t)(d[1] << 8 | d[2]);
        off = 3;
    }
    if (elen == 0 || elen >= len - off)
        return NULL;
    e = BN_bin2bn(d + off, (int)elen, NULL);
    n = BN_bin2bn(d + off + elen, (int)(len - off - elen), NULL);
    bld = OSSL_PARAM_BLD_new();
    if (e && n && bld && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) &&
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) &&
        (params = OSSL_PARAM_BLD_to_param(bld)) != NULL)
        pkey = pkey_from_params("RSA", params, nomem);
    else
        *nomem = true; /* none of these fail but for memory */
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(n);
    BN_free(e);
    return pkey;
}

/* RFC 6605 §4: the point's coordinates, x then y. */
static EVP_PKEY *pkey_ec(const uint8_t *d, size_t len, const char *group, size_t want,
                          bool *nomem)
{
    uint8_t point[1 + 96];
    OSSL_PARAM params[3];

    if (len != want || len > sizeof(point) - 1)
        return NULL;
    point[0] = 0x04; /* uncompressed (SEC 1 §2.3.3) */
    memcpy(point + 1, d, len);
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)group, 0);
    params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point, len + 1);
    params[2] = OSSL_PARAM_construct_end();
    return pkey_from_params("EC", params, nomem);
}

static EVP_PKEY *pkey_raw(int type, const uint8_t *d, size_t len, size_t want, bool *nomem)
{
    EVP_PKEY *pkey = len == want ? EVP_PKEY_new_raw_public_key(type, NULL, d, len) : NULL;

    if (len == want && !pkey)
        *nomem = crypto_out_of_memory();
    return pkey;
}

/* The DNSKEY's public key; NULL when it is none of its algorithm, or
 * (*nomem) memory ran out. */
static EVP_PKEY *key_pkey(const ldns_rr *key, bool *nomem)
{
    const uint8_t *d = ldns_rdf_data(ldns_rr_rdf(key, 3));
    size_t len = ldns_rdf_size(ldns_rr_rdf(key, 3));

    *nomem = false;
    switch (key_alg(key)) {
    case LDNS_RSASHA1: case LDNS_RSASHA1_NSEC3: case LDNS_RSASHA256: case LDNS_RSASHA512:
        return pkey_rsa(d, len, nomem);
    case LDNS_ECDSAP256SHA256:
        return pkey_ec(d, len, "P-256", 64, nomem);
    case LDNS_ECDSAP384SHA384:
        return pkey_ec(d, len, "P-384", 96, nomem);
    case LDNS_ED25519: /* RFC 8080 §3 */
        return pkey_raw(EVP_PKEY_ED25519, d, len, 32, nomem);
    case LDNS_ED448:
        return pkey_raw(EVP_PKEY_ED448, d, len, 57, nomem);
    default:
        return NULL;
    }
}

/* One DER INTEGER of a big-endian unsigned number. */
static size_t der_integer(const uint8_t *v, size_t len, uint8_t *out)
{
    size_t n;

    while (len > 1 && v[0] == 0) {
        v++;
        len--;
    }
    n = len + (v[0] & 0x80 ? 1u : 0u);
    out[0] = 0x02;
    out[1] = (uint8_t)n;
    out[2] = 0;
    memcpy(out + 2 + n - len, v, len);
    return 2 + n;
}

/* RFC 6605 §4: r and s side by side become the DER SEQUENCE OpenSSL
 * takes (at most 2 + 2 * 51 octets for P-384); 0 when the length is wrong. */
static size_t ecdsa_sig_der(const uint8_t *sig, size_t len, size_t want, uint8_t out[110])
{
    size_t n;

    if (len != want)
        return 0;
    n = der_integer(sig, len / 2, out + 2);
    n += der_integer(sig + len / 2, len / 2, out + 2 + n);
    out[0] = 0x30;
    out[1] = (uint8_t)n;
    return 2 + n;
}

/* Does sig over rrset verify with key?  (Times, labels, tag and algorithm
 * are the caller's to have checked.) */
static sig_result_t sig_check(const ldns_rr_list *rrset, const ldns_rr *sig, const ldns_rr *key)
{
    const ldns_rdf *sf = ldns_rr_rdf(sig, 8);
    const uint8_t *sigbytes = ldns_rdf_data(sf);
    size_t siglen = ldns_rdf_size(sf), len;
    uint8_t der[110];
    const EVP_MD *md = NULL;
    EVP_PKEY *pkey = NULL;
    EVP_MD_CTX *ctx = NULL;
    uint8_t *data;
    sig_result_t result = SIG_INVALID;
    bool nomem;
    int r;

    switch (key_alg(key)) {
    case LDNS_RSASHA1: case LDNS_RSASHA1_NSEC3: md = EVP_sha1(); break;
    case LDNS_RSASHA256: md = EVP_sha256(); break;
    case LDNS_RSASHA512: md = EVP_sha512(); break;
    case LDNS_ECDSAP256SHA256:
        md = EVP_sha256();
        siglen = ecdsa_sig_der(sigbytes, siglen, 64, der);
        sigbytes = der;
        break;
    case LDNS_ECDSAP384SHA384:
        md = EVP_sha384();
        siglen = ecdsa_sig_der(sigbytes, siglen, 96, der);
        sigbytes = der;
        break;
    default: break; /* EdDSA: no digest of its own */
    }
    if (siglen == 0)
        return SIG_INVALID;
    data = sig_data(rrset, sig, &len);
    if (!data)
        return len == 0 ? SIG_ERROR : SIG_INVALID;
    ERR_clear_error();
    pkey = key_pkey(key, &nomem);
    if (!pkey) {
        result = nomem ? SIG_ERROR : SIG_INVALID;
        goto done;
    }
    ctx = EVP_MD_CTX_new();
    if (!ctx) {
        result = SIG_ERROR;
        goto done;
    }
    /* one verification per context: no copy of it for the final step */
    EVP_MD_CTX_set_flags(ctx, EVP_MD_CTX_FLAG_FINALISE);
    if (EVP_DigestVerifyInit(ctx, NULL, md, NULL, pkey) != 1) {
        result = SIG_ERROR;
        goto done;
    }
    /* 1 verified; 0 did not (or out of memory, said in the queue); else an error */
    r = EVP_DigestVerify(ctx, sigbytes, siglen, data, len);
    result = r == 1 ? SIG_VALID : r < 0 || crypto_out_of_memory() ? SIG_ERROR : SIG_INVALID;
done:
    ERR_clear_error();
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(pkey);
    free(data);
    return result;
}

/* RFC 4035 §5.3: is rrset signed by zone `signer` with one of `keys`?
 * Keys are chosen by key tag and algorithm before any check, at most
 * DNSSEC_MAX_KEYS_PER_TAG per tag; the first valid signature wins.
 * SECURE sets *win (and *wild_labels for a wildcard expansion). */
static dnssec_status_t verify_rrset(dnssec_job_t *job, ldns_rr_list *rrset,
                                    const ldns_rr_list *sigs, const ldns_rdf *signer,
                                    const ldns_rr_list *keys, const uint16_t *tags,
                                    window_t *win, unsigned *wild_labels, fail_t *fail)
{
    const ldns_rdf *owner = ldns_rr_owner(ldns_rr_list_rr(rrset, 0));
    ldns_rr_type type = ldns_rr_get_type(ldns_rr_list_rr(rrset, 0));
    unsigned owner_labels = name_labels(owner) - (name_is_wildcard(owner) ? 1u : 0u);
    unsigned checks = 0;
    char tb[24], t1[32], on[NAME_STR_MAX], sn[NAME_STR_MAX];

    fail->rank = -1;
    name_str(owner, on);
    name_str(signer, sn);
    type_str(type, tb);
    if (ldns_rr_list_rr_count(sigs) == 0) {
        fail_set(fail, FAIL_OTHER, DNSSEC_EDE_RRSIGS_MISSING, "no RRSIG over %s/%s", on, tb);
        return DNSSEC_BOGUS;
    }
    fail_set(fail, FAIL_OTHER, DNSSEC_EDE_RRSIGS_MISSING,
             "no RRSIG over %s/%s by %s with a supported algorithm", on, tb, sn);
    for (size_t i = 0; i < ldns_rr_list_rr_count(sigs); i++) {
        ldns_rr *sig = ldns_rr_list_rr(sigs, i);
        uint8_t alg = rdf8(sig, 1), labels = rdf8(sig, 2);
        uint16_t tag = rdf16(sig, 6);
        uint32_t exp = rdf32(sig, 4), inc = rdf32(sig, 5);
        ldns_rr *cand[DNSSEC_MAX_KEYS_PER_TAG];
        size_t ncand = 0;

        if (!name_eq(ldns_rr_rrsig_signame(sig), signer) || !alg_supported(alg))
            continue;
        if (labels > owner_labels) {
            /* RFC 4035 §5.3.1: the Labels field cannot exceed the owner's */
            fail_set(fail, FAIL_LABELS, DNSSEC_EDE_BOGUS,
                     "the RRSIG over %s/%s by key tag %u claims %u labels, the name has %u",
                     on, tb, tag, labels, owner_labels);
            continue;
        }
        /* RFC 4035 §5.3.1: our own clock (`at`), serial arithmetic (RFC 4034 §3.1.5) */
        if ((int32_t)(exp - inc) < 0 || (int32_t)(exp - (uint32_t)job->at) < 0) {
            fail_set(fail, FAIL_TIME, DNSSEC_EDE_SIGNATURE_EXPIRED,
                     "the RRSIG over %s/%s by key tag %u expired on %s", on, tb, tag,
                     time_str(serial_time(exp, job->at), t1));
            continue;
        }
        if ((int32_t)((uint32_t)job->at - inc) < 0) {
            fail_set(fail, FAIL_TIME, DNSSEC_EDE_SIGNATURE_NOT_YET_VALID,
                     "the RRSIG over %s/%s by key tag %u is not valid before %s", on, tb, tag,
                     time_str(serial_time(inc, job->at), t1));
            continue;
        }
        for (size_t k = 0; k < ldns_rr_list_rr_count(keys) && ncand < DNSSEC_MAX_KEYS_PER_TAG; k++) {
            ldns_rr *key = ldns_rr_list_rr(keys, k);
            if (tags[k] == tag && key_alg(key) == alg && (key_flags(key) & LDNS_KEY_ZONE_KEY))
                cand[ncand++] = key;
        }
        if (ncand == 0) {
            fail_set(fail, FAIL_NOKEY, DNSSEC_EDE_DNSKEY_MISSING,
                     "no DNSKEY of %s has key tag %u and algorithm %u to check the RRSIG over %s/%s",
                     sn, tag, alg, on, tb);
            continue;
        }
        for (size_t k = 0; k < ncand; k++) {
            sig_result_t r;

            if (checks >= DNSSEC_MAX_CHECKS_RRSET) {
                fail_set(fail, FAIL_LIMIT, DNSSEC_EDE_BOGUS,
                         "gave up on %s/%s after %d failed signature checks (the limit per RRset)",
                         on, tb, DNSSEC_MAX_CHECKS_RRSET);
                return DNSSEC_BOGUS;
            }
            if (job->sig_checks >= DNSSEC_MAX_CHECKS_JOB) {
                fail_set(fail, FAIL_LIMIT, DNSSEC_EDE_BOGUS,
                         "gave up at %s/%s: %d signature checks is the limit per lookup",
                         on, tb, DNSSEC_MAX_CHECKS_JOB);
                return DNSSEC_BOGUS;
            }
            job->sig_checks++;
            checks++;
            r = sig_check(rrset, sig, cand[k]);
            if (r == SIG_ERROR) {
                /* out of memory is no verdict on the data */
                fail_set(fail, FAIL_ERROR, DNSSEC_EDE_INDETERMINATE,
                         "the RRSIG over %s/%s by key tag %u of %s could not be checked "
                         "(out of memory, or a failure in OpenSSL)", on, tb, tag, sn);
                return DNSSEC_INDETERMINATE;
            }
            if (r == SIG_VALID) {
                /* RFC 4035 §5.3.3: keep no longer than the original TTL,
                 * the RRset's TTL and the signature allow */
                uint32_t ttl = rrset_min_ttl(rrset);
                if (rdf32(sig, 3) < ttl)
                    ttl = rdf32(sig, 3);
                win->from = serial_time(inc, job->at);
                win->until = serial_time(exp, job->at);
                if (job->at + (time_t)ttl < win->until)
                    win->until = job->at + (time_t)ttl;
                /* RFC 4035 §5.3.4: fewer labels than the owner: a wildcard expansion */
                *wild_labels = labels < owner_labels ? labels : 0;
                return DNSSEC_SECURE;
            }
            fail_set(fail, FAIL_CRYPTO, DNSSEC_EDE_BOGUS,
                     "the RRSIG over %s/%s by key tag %u of %s does not verify", on, tb, tag, sn);
        }
    }
    return DNSSEC_BOGUS;
}

/* ---- denial of existence ---------------------------------------------- */

typedef enum {
    DENIAL_NONE,       /* nothing proven */
    DENIAL_NXDOMAIN,   /* the name and the wildcard that could cover it do not exist */
    DENIAL_NODATA,     /* the name exists (or is an empty non-terminal) without the type */
    DENIAL_DELEGATION, /* the name is a delegation without DS: insecure below */
    DENIAL_OPTOUT,     /* covered by an NSEC3 opt-out span: may be an insecure delegation */
    DENIAL_INSECURE,   /* the proof is unusable by policy (NSEC3 iterations, hash) */
    DENIAL_LIMIT,      /* NSEC3 hash budget spent */
    DENIAL_NOMEM,      /* memory ran out: nothing can be said */
} denial_t;

/* The validated NSEC or NSEC3 records of one zone. */
typedef struct {
    const ldns_rdf *zone;
    ldns_rr_list *nsec;  /* borrowed */
    ldns_rr_list *nsec3; /* borrowed, all with the parameters below */
    uint8_t (*hashes)[SHA1_LEN]; /* owner hash of each nsec3 */
    uint16_t iterations;
    const uint8_t *salt;
    uint8_t salt_len;
    bool unknown_hash;   /* NSEC3 present, none with a hash we know */
} proofs_t;

static void proofs_init(proofs_t *p, const ldns_rdf *zone)
{
    memset(p, 0, sizeof(*p));
    p->zone = zone;
    p->nsec = ldns_rr_list_new();
    p->nsec3 = ldns_rr_list_new();
}

static void proofs_free(proofs_t *p)
{
    ldns_rr_list_free(p->nsec);
    ldns_rr_list_free(p->nsec3);
    free(p->hashes);
}

/* false: out of memory */
static bool proofs_add(proofs_t *p, ldns_rr *rr)
{
    if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_NSEC)
        return ldns_rr_list_push_rr(p->nsec, rr);
    if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_NSEC3)
        return ldns_rr_list_push_rr(p->nsec3, rr);
    return true;
}

/* RFC 5155 §8.1-8.2: keep the NSEC3 records with SHA-1 and the parameters
 * of the first of them whose owner is <base32hex hash>.<zone>; precompute
 * their owner hashes.  false: out of memory. */
static bool proofs_finish(proofs_t *p)
{
    ldns_rr_list *keep = ldns_rr_list_new();
    size_t n = ldns_rr_list_rr_count(p->nsec3);
    bool have = false, sha1 = false;

    p->hashes = calloc(n ? n : 1, SHA1_LEN);
    if (!keep || !p->hashes) {
        ldns_rr_list_free(keep);
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        ldns_rr *rr = ldns_rr_list_rr(p->nsec3, i);
        const ldns_rdf *owner = ldns_rr_owner(rr), *salt = ldns_rr_rdf(rr, 3);
        const ldns_rdf *next = ldns_rr_rdf(rr, 4);
        const uint8_t *od = ldns_rdf_data(owner);
        bool in_zone;

        sha1 |= rdf8(rr, 0) == LDNS_SHA1;
        if (rdf8(rr, 0) != LDNS_SHA1 || ldns_rdf_size(salt) < 1 ||
            ldns_rdf_size(salt) != 1u + ldns_rdf_data(salt)[0] ||
            ldns_rdf_size(next) != 1 + SHA1_LEN || ldns_rdf_data(next)[0] != SHA1_LEN ||
            ldns_rdf_size(owner) < 34 || od[0] != 32)
            continue;
        in_zone = name_labels(owner) == name_labels(p->zone) + 1 && name_under(owner, p->zone);
        if (!in_zone || ldns_b32_pton_extended_hex((const char *)od + 1, 32,
                                                   p->hashes[ldns_rr_list_rr_count(keep)],
                                                   SHA1_LEN) != SHA1_LEN)
            continue;
        if (!have) {
            have = true;
            p->iterations = rdf16(rr, 2);
            p->salt_len = ldns_rdf_data(salt)[0];
            p->salt = ldns_rdf_data(salt) + 1;
        } else if (rdf16(rr, 2) != p->iterations || ldns_rdf_data(salt)[0] != p->salt_len ||
                   memcmp(ldns_rdf_data(salt) + 1, p->salt, p->salt_len) != 0) {
            continue;
        }
        if (!ldns_rr_list_push_rr(keep, rr)) {
            ldns_rr_list_free(keep);
            return false;
        }
    }
    p->unknown_hash = n > 0 && !sha1; /* RFC 5155 §8.1: only unknown hashes: insecure */
    ldns_rr_list_free(p->nsec3);
    p->nsec3 = keep;
    return true;
}

static bool bitmap_has(const ldns_rr *rr, ldns_rr_type type)
{
    const ldns_rdf *bm = ldns_rr_rdf(rr, ldns_rr_get_type(rr) == LDNS_RR_TYPE_NSEC ? 1 : 5);
    return bm && ldns_nsec_bitmap_covers_type(bm, type);
}

/* RFC 6840 §4.1: the NSEC/NSEC3 at a delegation (NS without SOA) or at a
 * DNAME proves nothing about the names below it. */
static bool is_cut(const ldns_rr *rr)
{
    return bitmap_has(rr, LDNS_RR_TYPE_DNAME) ||
           (bitmap_has(rr, LDNS_RR_TYPE_NS) && !bitmap_has(rr, LDNS_RR_TYPE_SOA));
}

/* Does a matching NSEC/NSEC3 bitmap deny `type` at its owner?
 * RFC 4035 §5.4, RFC 6840 §4.4: the parent's record at a delegation only
 * speaks for DS, the child's apex record never for DS. */
static denial_t bitmap_denies(const ldns_rr *rr, ldns_rr_type type, bool is_root)
{
    if (bitmap_has(rr, type) || bitmap_has(rr, LDNS_RR_TYPE_CNAME))
        return DENIAL_NONE;
    if (type == LDNS_RR_TYPE_DS) {
        if (bitmap_has(rr, LDNS_RR_TYPE_SOA) && !is_root)
            return DENIAL_NONE;
        return bitmap_has(rr, LDNS_RR_TYPE_NS) ? DENIAL_DELEGATION : DENIAL_NODATA;
    }
    if (bitmap_has(rr, LDNS_RR_TYPE_NS) && !bitmap_has(rr, LDNS_RR_TYPE_SOA))
        return DENIAL_NONE;
    return DENIAL_NODATA;
}

/* owner < name < next in canonical order (RFC 4034 §6.1), the last NSEC
 * wrapping around to the apex. */
static bool nsec_spans(const ldns_rr *rr, const ldns_rdf *name)
{
    const ldns_rdf *owner = ldns_rr_owner(rr), *next = ldns_rr_rdf(rr, 0);

    if (ldns_dname_compare(owner, name) >= 0)
        return false;
    if (ldns_dname_compare(owner, next) < 0)
        return ldns_dname_compare(name, next) < 0;
    return true; /* last NSEC of the zone */
}

/* This NSEC proves that `name` does not exist. */
static bool nsec_proves_absent(const ldns_rr *rr, const ldns_rdf *name)
{
    const ldns_rdf *owner = ldns_rr_owner(rr), *next = ldns_rr_rdf(rr, 0);

    if (!nsec_spans(rr, name))
        return false;
    /* RFC 4035 §3.1.3.2: a next name below `name` makes it an empty non-terminal */
    if (name_under(next, name) && ldns_dname_compare(owner, next) < 0)
        return false;
    return !(name_below(name, owner) && is_cut(rr));
}

static const ldns_rr *nsec_match(const proofs_t *p, const ldns_rdf *name)
{
    for (size_t i = 0; i < ldns_rr_list_rr_count(p->nsec); i++)
        if (name_eq(ldns_rr_owner(ldns_rr_list_rr(p->nsec, i)), name))
            return ldns_rr_list_rr(p->nsec, i);
    return NULL;
}

static const ldns_rr *nsec_absent(const proofs_t *p, const ldns_rdf *name)
{
    for (size_t i = 0; i < ldns_rr_list_rr_count(p->nsec); i++)
        if (nsec_proves_absent(ldns_rr_list_rr(p->nsec, i), name))
            return ldns_rr_list_rr(p->nsec, i);
    return NULL;
}

/* RFC 4035 §5.4: the closest encloser of a name an NSEC proves absent is
 * the longer of its common ancestors with the NSEC's owner and next name. */
static ldns_rdf *nsec_closest_encloser(const ldns_rr *rr, const ldns_rdf *name)
{
    unsigned a = name_common(name, ldns_rr_owner(rr));
    unsigned b = name_common(name, ldns_rr_rdf(rr, 0));
    return name_suffix(name, a > b ? a : b);
}

/* NSEC: what do the records prove about name/type (RFC 4035 §5.4)? */
static denial_t nsec_denial(const proofs_t *p, const ldns_rdf *name, ldns_rr_type type, bool nxdomain)
{
    const ldns_rr *m = nsec_match(p, name), *c;
    ldns_rdf *ce, *w;
    denial_t d = DENIAL_NONE;

    if (m)
        return nxdomain ? DENIAL_NONE : bitmap_denies(m, type, name_labels(name) == 0);
    for (size_t i = 0; !nxdomain && i < ldns_rr_list_rr_count(p->nsec); i++) {
        const ldns_rr *rr = ldns_rr_list_rr(p->nsec, i);
        /* an empty non-terminal: the next name lies below it */
        if (nsec_spans(rr, name) && name_below(ldns_rr_rdf(rr, 0), name) &&
            !(name_below(name, ldns_rr_owner(rr)) && is_cut(rr)))
            return DENIAL_NODATA;
    }
    c = nsec_absent(p, name);
    if (!c)
        return DENIAL_NONE;
    ce = nsec_closest_encloser(c, name);
    if (!ce)
        return DENIAL_NOMEM;
    /* no wildcard can be longer than 255 octets */
    w = ldns_rdf_size(ce) + 2 <= LDNS_MAX_DOMAINLEN ? name_wildcard(ce) : NULL;
    if (!w && ldns_rdf_size(ce) + 2 <= LDNS_MAX_DOMAINLEN)
        d = DENIAL_NOMEM;
    if (w) {
        const ldns_rr *wm = nsec_match(p, w);
        if (nxdomain && !wm && nsec_absent(p, w))
            d = DENIAL_NXDOMAIN;
        /* RFC 4035 §3.1.3.4: wildcard NODATA */
        else if (!nxdomain && wm && type != LDNS_RR_TYPE_DS &&
                 bitmap_denies(wm, type, false) == DENIAL_NODATA)
            d = DENIAL_NODATA;
    }
    ldns_rdf_deep_free(ce);
    ldns_rdf_deep_free(w);
    return d;
}

/* RFC 5155 §5: the hash of a name with the zone's parameters. */
static bool nsec3_hash(dnssec_job_t *job, const proofs_t *p, const ldns_rdf *name,
                       uint8_t out[SHA1_LEN])
{
    uint8_t buf[LDNS_MAX_DOMAINLEN + 1 + 255];
    size_t len;

    if (job->nsec3_hashes >= DNSSEC_MAX_NSEC3_HASHES || ldns_rdf_size(name) > LDNS_MAX_DOMAINLEN + 1)
        return false;
    job->nsec3_hashes++;
    len = name_canonical(name, buf);
    memcpy(buf + len, p->salt, p->salt_len);
    ldns_sha1(buf, (unsigned)(len + p->salt_len), out);
    for (uint16_t i = 0; i < p->iterations; i++) {
        memcpy(buf, out, SHA1_LEN);
        memcpy(buf + SHA1_LEN, p->salt, p->salt_len);
        ldns_sha1(buf, (unsigned)(SHA1_LEN + p->salt_len), out);
    }
    return true;
}

static const ldns_rr *nsec3_match(const proofs_t *p, const uint8_t h[SHA1_LEN])
{
    for (size_t i = 0; i < ldns_rr_list_rr_count(p->nsec3); i++)
        if (memcmp(p->hashes[i], h, SHA1_LEN) == 0)
            return ldns_rr_list_rr(p->nsec3, i);
    return NULL;
}

/* RFC 5155 §8.3: owner hash < h < next hash, the last record wrapping. */
static const ldns_rr *nsec3_cover(const proofs_t *p, const uint8_t h[SHA1_LEN])
{
    for (size_t i = 0; i < ldns_rr_list_rr_count(p->nsec3); i++) {
        const ldns_rr *rr = ldns_rr_list_rr(p->nsec3, i);
        const uint8_t *own = p->hashes[i], *next = ldns_rdf_data(ldns_rr_rdf(rr, 4)) + 1;
        int on = memcmp(own, next, SHA1_LEN);

        if (on < 0 ? memcmp(own, h, SHA1_LEN) < 0 && memcmp(h, next, SHA1_LEN) < 0
                   : memcmp(own, h, SHA1_LEN) < 0 || memcmp(h, next, SHA1_LEN) < 0)
            return rr;
    }
    return NULL;
}

/* RFC 5155 §8.3 closest encloser proof for a name that does not exist
 * (h_name: its hash, already known not to match): the longest ancestor
 * with a matching NSEC3 that is no delegation or DNAME, and an NSEC3
 * covering the next closer name.  *ce is new. */
static denial_t nsec3_closest(dnssec_job_t *job, const proofs_t *p, const ldns_rdf *name,
                              const uint8_t h_name[SHA1_LEN], ldns_rdf **ce,
                              const ldns_rr **nc_cover)
{
    int n = (int)name_labels(name), top = (int)name_labels(p->zone);
    uint8_t h[SHA1_LEN], prev[SHA1_LEN];

    *ce = NULL;
    if (n <= top || !name_under(name, p->zone))
        return DENIAL_NONE;
    memcpy(prev, h_name, SHA1_LEN); /* the hash of the next closer name */
    for (int k = n - 1; k >= top; k--) {
        ldns_rdf *a = name_suffix(name, (unsigned)k);
        const ldns_rr *m;

        if (!a)
            return DENIAL_NOMEM;
        if (!nsec3_hash(job, p, a, h)) {
            ldns_rdf_deep_free(a);
            return DENIAL_LIMIT;
        }
        m = nsec3_match(p, h);
        if (!m) {
            ldns_rdf_deep_free(a);
            memcpy(prev, h, SHA1_LEN);
            continue;
        }
        *nc_cover = is_cut(m) ? NULL : nsec3_cover(p, prev);
        if (!*nc_cover) {
            ldns_rdf_deep_free(a);
            return DENIAL_NONE;
        }
        *ce = a;
        return DENIAL_NXDOMAIN;
    }
    return DENIAL_NONE;
}

static bool nsec3_optout(const ldns_rr *rr)
{
    return (rdf8(rr, 1) & LDNS_NSEC3_VARS_OPTOUT_MASK) != 0;
}

/* NSEC3: what do the records prove about name/type (RFC 5155 §8.4-8.7)? */
static denial_t nsec3_denial(dnssec_job_t *job, const proofs_t *p, const ldns_rdf *name,
                             ldns_rr_type type, bool nxdomain)
{
    uint8_t h[SHA1_LEN], hw[SHA1_LEN];
    const ldns_rr *m, *nc_cover = NULL, *wm;
    ldns_rdf *ce = NULL, *w = NULL;
    denial_t d;

    if (!nsec3_hash(job, p, name, h))
        return DENIAL_LIMIT;
    m = nsec3_match(p, h);
    if (m)
        return nxdomain ? DENIAL_NONE : bitmap_denies(m, type, name_labels(name) == 0);
    d = nsec3_closest(job, p, name, h, &ce, &nc_cover);
    if (d != DENIAL_NXDOMAIN)
        return d;
    if (!nxdomain && type == LDNS_RR_TYPE_DS) {
        /* RFC 5155 §8.6: no DS and no match: only an opt-out span says so */
        d = nsec3_optout(nc_cover) ? DENIAL_OPTOUT : DENIAL_NONE;
        goto done;
    }
    if (ldns_rdf_size(ce) + 2 > LDNS_MAX_DOMAINLEN) { /* no wildcard that long */
        d = DENIAL_NONE;
        goto done;
    }
    w = name_wildcard(ce);
    if (!w || !nsec3_hash(job, p, w, hw)) {
        d = w ? DENIAL_LIMIT : DENIAL_NOMEM;
        goto done;
    }
    wm = nsec3_match(p, hw);
    if (nxdomain) {
        /* RFC 5155 §8.4; with the next closer name in an opt-out span the
         * name may exist below an unsigned delegation (as unbound does) */
        if (wm || !nsec3_cover(p, hw))
            d = DENIAL_NONE;
        else
            d = nsec3_optout(nc_cover) ? DENIAL_OPTOUT : DENIAL_NXDOMAIN;
    } else {
        /* RFC 5155 §8.7: wildcard NODATA */
        d = wm && bitmap_denies(wm, type, false) == DENIAL_NODATA ? DENIAL_NODATA : DENIAL_NONE;
    }
done:
    ldns_rdf_deep_free(ce);
    ldns_rdf_deep_free(w);
    return d;
}

/* Why a proof could not be used; DENIAL_INSECURE with reason and EDE. */
static denial_t proofs_policy(const proofs_t *p, char *why, int *ede)
{
    char zn[NAME_STR_MAX];

    if (ldns_rr_list_rr_count(p->nsec) > 0)
        return DENIAL_NONE;
    if (p->unknown_hash) {
        fmt_reason(why, "the NSEC3 records of %s use an unknown hash algorithm",
                   name_str(p->zone, zn));
        *ede = DNSSEC_EDE_NONE;
        return DENIAL_INSECURE;
    }
    if (ldns_rr_list_rr_count(p->nsec3) > 0 && p->iterations > DNSSEC_MAX_NSEC3_ITERATIONS) {
        fmt_reason(why, "the NSEC3 records of %s use %u iterations, more than %d (RFC 9276 section 3.2)",
                   name_str(p->zone, zn), p->iterations, DNSSEC_MAX_NSEC3_ITERATIONS);
        *ede = DNSSEC_EDE_NSEC3_ITERATIONS;
        return DENIAL_INSECURE;
    }
    return DENIAL_NONE;
}

/* What the validated records prove about name/type. */
static denial_t proofs_denial(dnssec_job_t *job, const proofs_t *p, const ldns_rdf *name,
                              ldns_rr_type type, bool nxdomain, char *why, int *ede)
{
    denial_t d = proofs_policy(p, why, ede);

    if (d != DENIAL_NONE || !name_under(name, p->zone))
        return d;
    if (ldns_rr_list_rr_count(p->nsec) > 0)
        return nsec_denial(p, name, type, nxdomain);
    if (ldns_rr_list_rr_count(p->nsec3) == 0)
        return DENIAL_NONE;
    return nsec3_denial(job, p, name, type, nxdomain);
}

/* RFC 4035 §5.3.4, RFC 5155 §8.8: a wildcard answer at owner, signed with
 * `labels` labels, needs proof that the next closer name does not exist. */
static denial_t proofs_no_closer(dnssec_job_t *job, const proofs_t *p, const ldns_rdf *owner,
                                 unsigned labels, char *why, int *ede)
{
    ldns_rdf *nc = name_suffix(owner, labels + 1);
    denial_t d = proofs_policy(p, why, ede);
    uint8_t h[SHA1_LEN];

    if (d == DENIAL_NONE && !nc)
        d = DENIAL_NOMEM;
    if (d == DENIAL_NONE && name_under(nc, p->zone)) {
        if (ldns_rr_list_rr_count(p->nsec) > 0)
            d = nsec_absent(p, nc) ? DENIAL_NXDOMAIN : DENIAL_NONE;
        else if (ldns_rr_list_rr_count(p->nsec3) == 0)
            d = DENIAL_NONE;
        else if (!nsec3_hash(job, p, nc, h))
            d = DENIAL_LIMIT;
        else
            d = nsec3_cover(p, h) ? DENIAL_NXDOMAIN : DENIAL_NONE;
    }
    ldns_rdf_deep_free(nc);
    return d;
}

/* ---- the walk down to a zone ------------------------------------------ */

static void window_cap(window_t *w, time_t until)
{
    if (until < w->until)
        w->until = until;
}

static void window_clip(window_t *w, window_t by)
{
    if (by.from > w->from)
        w->from = by.from;
    window_cap(w, by.until);
}

static void walk_clear(dnssec_job_t *job)
{
    ldns_rdf_deep_free(job->walk.target);
    ldns_rdf_deep_free(job->walk.cur);
    ldns_rdf_deep_free(job->walk.child);
    ldns_rr_list_deep_free(job->walk.ds);
    zone_unref(job->walk.zone);
    job->walk.target = job->walk.cur = job->walk.child = NULL;
    job->walk.ds = NULL;
    job->walk.zone = NULL;
}

/* The walk ends: z (taken) is the zone of the target, or why there is
 * none; NULL means memory ran out. */
static void walk_done(dnssec_job_t *job, dnssec_zone_t *z)
{
    walk_clear(job);
    if (!z)
        z = zone_new(job->qname, DNSSEC_INDETERMINATE, DNSSEC_EDE_INDETERMINATE,
                     "out of memory", job->at, job->at);
    if (!z) {
        job_note(job, DNSSEC_INDETERMINATE, DNSSEC_EDE_INDETERMINATE, "out of memory");
        job_enter(job, JOB_DONE);
        return;
    }
    job->walk.result = z;
    job_enter(job, JOB_ITEMS);
}

/* Wait for walk.child's DS or DNSKEY, unless the fetch budget is spent. */
static void walk_fetch(dnssec_job_t *job, job_state_t wait)
{
    window_t none = {job->at, job->at};

    if (++job->fetches > DNSSEC_MAX_FETCHES) {
        walk_done(job, job_zone(job, job->walk.child, DNSSEC_INDETERMINATE,
                                DNSSEC_EDE_INDETERMINATE, none,
                                "gave up after %d DNSSEC fetches", DNSSEC_MAX_FETCHES));
        return;
    }
    job_enter(job, wait);
}

/* One label further down from walk.cur toward walk.target. */
static void walk_advance(dnssec_job_t *job)
{
    unsigned have = name_labels(job->walk.cur);

    if (have >= name_labels(job->walk.target)) {
        dnssec_zone_t *z = job->walk.zone;
        job->walk.zone = NULL;
        walk_done(job, z);
        return;
    }
    ldns_rdf_deep_free(job->walk.child);
    job->walk.child = name_suffix(job->walk.target, have + 1);
    if (!job->walk.child)
        walk_done(job, NULL);
    else
        walk_fetch(job, JOB_DS);
}

/* Any anchor we can use at all (RFC 4035 §5.2 applied to the anchor)? */
static bool anchors_usable(const dnssec_anchors_t *a)
{
    for (size_t i = 0; i < ldns_rr_list_rr_count(a->ds); i++) {
        const ldns_rr *ds = ldns_rr_list_rr(a->ds, i);
        if (alg_supported(rdf8(ds, 1)) && digest_len(rdf8(ds, 2)) > 0)
            return true;
    }
    for (size_t i = 0; i < ldns_rr_list_rr_count(a->keys); i++)
        if (alg_supported(key_alg(ldns_rr_list_rr(a->keys, i))))
            return true;
    return false;
}

/* Find the zone of target: from the deepest cached zone at or above it,
 * or from the trust anchor.  Ends in walk.result, or waits for a fetch. */
static void walk_start(dnssec_job_t *job, const ldns_rdf *target)
{
    const dnssec_anchors_t *a = job->anchors;
    dnssec_zone_t *z = NULL;
    window_t none = {job->at, job->at};
    char an[NAME_STR_MAX];

    if (!name_under(target, a->owner)) {
        walk_done(job, zone_new(target, DNSSEC_INSECURE, DNSSEC_EDE_NONE,
                                "no trust anchor covers this name", job->at, job->at));
        return;
    }
    job->walk.target = ldns_rdf_clone(target);
    if (!job->walk.target) {
        walk_done(job, NULL);
        return;
    }
    for (unsigned k = name_labels(target); !z; k--) {
        ldns_rdf *n = name_suffix(target, k);
        if (!n)
            break;
        z = cache_lookup(job->cache, n, job->at);
        ldns_rdf_deep_free(n);
        if (k == name_labels(a->owner))
            break;
    }
    if (z && z->status != DNSSEC_SECURE) {
        walk_done(job, zone_ref(z));
    } else if (z) {
        job->walk.zone = zone_ref(z);
        job->walk.cur = ldns_rdf_clone(z->name);
        if (!job->walk.cur)
            walk_done(job, NULL);
        else
            walk_advance(job);
    } else if (!anchors_usable(a)) {
        walk_done(job, job_zone(job, a->owner, DNSSEC_INSECURE,
                                DNSSEC_EDE_UNSUPPORTED_DNSKEY_ALG, none,
                                "the trust anchor for %s has no supported algorithm or digest",
                                name_str(a->owner, an)));
    } else {
        job->walk.child = ldns_rdf_clone(a->owner);
        if (!job->walk.child)
            walk_done(job, NULL);
        else
            walk_fetch(job, JOB_ANCHOR_KEYS);
    }
}

/* RFC 4035 §5.2: the DNSKEY RRset of walk.child must be signed by a key
 * that one of `ds` (or an anchor key) vouches for.  Returns the zone:
 * secure with its keys, or bogus/indeterminate with the reason. */
static dnssec_zone_t *walk_keys(dnssec_job_t *job, const ldns_pkt *pkt, const ldns_rr_list *ds,
                                const ldns_rr_list *anchor_keys, window_t win)
{
    const ldns_rdf *child = job->walk.child;
    ldns_rr_list *keys = NULL, *sigs = NULL, *proven = NULL, *zkeys = NULL;
    uint16_t *ptags = NULL, *ztags = NULL;
    dnssec_zone_t *z = NULL;
    fail_t fail;
    window_t kwin, none = {job->at, job->at};
    unsigned wild = 0;
    size_t tried = 0;
    bool no_zone_bit = false;
    dnssec_status_t st;
    char tags[REASON_MAX] = "", cn[NAME_STR_MAX];

    name_str(child, cn);
    if (!pkt || (ldns_pkt_get_rcode(pkt) != LDNS_RCODE_NOERROR &&
                 ldns_pkt_get_rcode(pkt) != LDNS_RCODE_NXDOMAIN))
        return job_zone(job, child, DNSSEC_INDETERMINATE, DNSSEC_EDE_INDETERMINATE, none,
                        "the DNSKEY query for %s failed", cn);
    keys = rrs_at(ldns_pkt_answer(pkt), child, LDNS_RR_TYPE_DNSKEY);
    sigs = sigs_at(ldns_pkt_answer(pkt), child, LDNS_RR_TYPE_DNSKEY);
    proven = ldns_rr_list_new();
    zkeys = ldns_rr_list_new();
    if (!keys || !sigs || !proven || !zkeys)
        goto done;
    if (ldns_rr_list_rr_count(keys) == 0) {
        z = job_zone(job, child, DNSSEC_BOGUS, DNSSEC_EDE_DNSKEY_MISSING, win,
                     "%s has no DNSKEY RRset", cn);
        goto done;
    }
    for (size_t i = 0; i < ldns_rr_list_rr_count(ds) && tried < DNSSEC_MAX_DS; i++) {
        const ldns_rr *d = ldns_rr_list_rr(ds, i);
        size_t seen = 0, used = strlen(tags);

        if (!alg_supported(rdf8(d, 1)) || digest_len(rdf8(d, 2)) == 0)
            continue;
        tried++;
        snprintf(tags + used, sizeof(tags) - used, "%s%u", used ? ", " : "", rdf16(d, 0));
        /* KeyTrap: only keys with the DS's tag and algorithm, a few of them */
        for (size_t k = 0; k < ldns_rr_list_rr_count(keys) && seen < DNSSEC_MAX_KEYS_PER_TAG; k++) {
            ldns_rr *key = ldns_rr_list_rr(keys, k);
            if (key_alg(key) != rdf8(d, 1) || key_tag(key) != rdf16(d, 0))
                continue;
            seen++;
            if (!ds_matches_key(d, key))
                continue;
            if (!(key_flags(key) & LDNS_KEY_ZONE_KEY))
                no_zone_bit = true; /* RFC 4034 §5.2: a DS names a zone key */
            else if (!list_has(proven, key) && !ldns_rr_list_push_rr(proven, key))
                goto done;
        }
    }
    for (size_t i = 0; anchor_keys && i < ldns_rr_list_rr_count(anchor_keys); i++)
        for (size_t k = 0; k < ldns_rr_list_rr_count(keys); k++)
            if (key_equal(ldns_rr_list_rr(anchor_keys, i), ldns_rr_list_rr(keys, k)) &&
                !list_has(proven, ldns_rr_list_rr(keys, k)) &&
                !ldns_rr_list_push_rr(proven, ldns_rr_list_rr(keys, k)))
                goto done;
    if (ldns_rr_list_rr_count(proven) == 0) {
        if (no_zone_bit)
            z = job_zone(job, child, DNSSEC_BOGUS, DNSSEC_EDE_NO_ZONE_KEY_BIT, win,
                         "the DNSKEY of %s that its DS (key tag %s) names lacks the Zone Key flag",
                         cn, tags);
        else if (tried > 0)
            z = job_zone(job, child, DNSSEC_BOGUS, DNSSEC_EDE_DNSKEY_MISSING, win,
                         "no DNSKEY of %s matches its DS records (key tag %s)%s%s", cn, tags,
                         ldns_rr_list_rr_count(ds) > DNSSEC_MAX_DS
                             ? "; only the first 8 DS records were tried" : "",
                         job->walk.sha1_dropped && ds == job->walk.ds
                             ? "; SHA-1 DS records are ignored beside stronger ones (RFC 4509 section 3)" : "");
        else
            z = job_zone(job, child, DNSSEC_BOGUS, DNSSEC_EDE_DNSKEY_MISSING, win,
                         "no DNSKEY of %s is a trust anchor key", cn);
        goto done;
    }
    ptags = calloc(ldns_rr_list_rr_count(proven), sizeof(*ptags));
    if (!ptags)
        goto done;
    for (size_t i = 0; i < ldns_rr_list_rr_count(proven); i++)
        ptags[i] = key_tag(ldns_rr_list_rr(proven, i));
    st = verify_rrset(job, keys, sigs, child, proven, ptags, &kwin, &wild, &fail);
    if (st != DNSSEC_SECURE) {
        z = job_zone(job, child, st, fail.ede, win, "%s", fail.text);
        goto done;
    }
    window_clip(&win, kwin);
    /* keep the zone keys we can use, with their tags */
    ztags = calloc(ldns_rr_list_rr_count(keys), sizeof(*ztags));
    if (!ztags)
        goto done;
    for (size_t i = 0; i < ldns_rr_list_rr_count(keys); i++) {
        ldns_rr *key = ldns_rr_list_rr(keys, i), *copy;
        if (!(key_flags(key) & LDNS_KEY_ZONE_KEY) || !alg_supported(key_alg(key)))
            continue;
        copy = rr_clone(key);
        if (!copy || !ldns_rr_list_push_rr(zkeys, copy)) {
            ldns_rr_free(copy);
            goto done;
        }
        ztags[ldns_rr_list_rr_count(zkeys) - 1] = key_tag(key);
    }
    z = zone_new(child, DNSSEC_SECURE, DNSSEC_EDE_NONE, "", win.from, win.until);
    if (z) {
        z->keys = zkeys;
        z->tags = ztags;
        zkeys = NULL;
        ztags = NULL;
        cache_insert(job->cache, z);
    }
done:
    ldns_rr_list_free(keys);
    ldns_rr_list_free(sigs);
    ldns_rr_list_free(proven);
    ldns_rr_list_deep_free(zkeys);
    free(ptags);
    free(ztags);
    return z;
}

/* The NSEC/NSEC3 RRsets of pkt's authority section, each of which must
 * validate with zone's keys.  Not SECURE: one did not (why in *fail), or
 * could not be checked (INDETERMINATE). */
static dnssec_status_t proofs_from_packet(dnssec_job_t *job, const ldns_pkt *pkt,
                                          const dnssec_zone_t *zone, proofs_t *p, fail_t *fail,
                                          window_t *win)
{
    const ldns_rr_list *ns = ldns_pkt_authority(pkt);
    size_t sets = 0;
    dnssec_status_t st = DNSSEC_SECURE;

    for (size_t i = 0; st == DNSSEC_SECURE && i < ldns_rr_list_rr_count(ns) &&
                       sets < DNSSEC_MAX_DENIAL; i++) {
        ldns_rr *rr = ldns_rr_list_rr(ns, i);
        ldns_rr_type t = ldns_rr_get_type(rr);
        ldns_rr_list *set, *sigs;
        window_t w;
        unsigned wild = 0;

        if ((t != LDNS_RR_TYPE_NSEC && t != LDNS_RR_TYPE_NSEC3) || !rr_wellformed(rr))
            continue;
        set = rrs_at(ns, ldns_rr_owner(rr), t);
        sigs = sigs_at(ns, ldns_rr_owner(rr), t);
        if (!set || !sigs) {
            st = DNSSEC_INDETERMINATE;
            fail->rank = -1;
            fail_set(fail, FAIL_ERROR, DNSSEC_EDE_INDETERMINATE, "out of memory");
        } else if (ldns_rr_list_rr(set, 0) == rr) { /* each RRset once */
            sets++;
            st = verify_rrset(job, set, sigs, zone->name, zone->keys, zone->tags, &w, &wild, fail);
            if (st == DNSSEC_SECURE && !proofs_add(p, rr)) {
                st = DNSSEC_INDETERMINATE;
                fail->rank = -1;
                fail_set(fail, FAIL_ERROR, DNSSEC_EDE_INDETERMINATE, "out of memory");
            }
            if (st == DNSSEC_SECURE)
                window_cap(win, w.until);
        }
        ldns_rr_list_free(set);
        ldns_rr_list_free(sigs);
    }
    if (st == DNSSEC_SECURE && !proofs_finish(p)) {
        st = DNSSEC_INDETERMINATE;
        fail->rank = -1;
        fail_set(fail, FAIL_ERROR, DNSSEC_EDE_INDETERMINATE, "out of memory");
    }
    return st;
}

/* RFC 4035 §5.2, RFC 6840 §5.2, RFC 4509 §3: the DS records we can use;
 * SHA-1 is ignored when a stronger digest is present.  When none is
 * usable, *ede and why say what was unsupported. */
static ldns_rr_list *usable_ds(const ldns_rr_list *set, int *ede, char *why, bool *sha1_dropped)
{
    ldns_rr_list *out = ldns_rr_list_new();
    bool strong = false, bad_alg = false;
    size_t used = 0;

    for (size_t i = 0; i < ldns_rr_list_rr_count(set); i++) {
        const ldns_rr *d = ldns_rr_list_rr(set, i);
        if (alg_supported(rdf8(d, 1)) && digest_len(rdf8(d, 2)) > 0 && rdf8(d, 2) != LDNS_SHA1)
            strong = true;
    }
    for (size_t i = 0; out && i < ldns_rr_list_rr_count(set); i++) {
        ldns_rr *d = ldns_rr_list_rr(set, i), *copy;

        if (!alg_supported(rdf8(d, 1)) || digest_len(rdf8(d, 2)) == 0) {
            bad_alg |= !alg_supported(rdf8(d, 1));
            if (used < REASON_MAX - 40)
                used += (size_t)snprintf(why + used, REASON_MAX - used, "%s%u/%u/%u",
                                         used ? ", " : "", rdf16(d, 0), rdf8(d, 1), rdf8(d, 2));
            continue;
        }
        if (strong && rdf8(d, 2) == LDNS_SHA1) {
            *sha1_dropped = true;
            continue;
        }
        copy = rr_clone(d);
        if (!copy || !ldns_rr_list_push_rr(out, copy)) {
            ldns_rr_free(copy);
            ldns_rr_list_deep_free(out);
            return NULL;
        }
    }
    *ede = bad_alg ? DNSSEC_EDE_UNSUPPORTED_DNSKEY_ALG : DNSSEC_EDE_UNSUPPORTED_DS_DIGEST;
    return out;
}

/* A DS RRset for walk.child: validate it with the parent's keys, then
 * fetch the child's DNSKEYs (or stop: insecure, bogus). */
static void walk_ds_found(dnssec_job_t *job, ldns_rr_list *set, const ldns_rr_list *sigs,
                          window_t win)
{
    dnssec_zone_t *parent = job->walk.zone;
    const ldns_rdf *child = job->walk.child;
    char why[REASON_MAX] = "", cn[NAME_STR_MAX];
    int ede = DNSSEC_EDE_NONE;
    unsigned wild = 0;
    dnssec_status_t st;
    fail_t fail;
    window_t w;

    name_str(child, cn);
    st = verify_rrset(job, set, sigs, parent->name, parent->keys, parent->tags, &w, &wild, &fail);
    if (st != DNSSEC_SECURE) {
        walk_done(job, job_zone(job, child, st, fail.ede, win, "%s", fail.text));
        return;
    }
    window_clip(&win, w);
    ldns_rr_list_deep_free(job->walk.ds);
    job->walk.sha1_dropped = false;
    job->walk.ds = usable_ds(set, &ede, why, &job->walk.sha1_dropped);
    if (!job->walk.ds) {
        walk_done(job, NULL);
    } else if (ldns_rr_list_rr_count(job->walk.ds) == 0) {
        /* RFC 4035 §5.2: no DS we can use makes the child insecure */
        walk_done(job, job_zone(job, child, DNSSEC_INSECURE, ede, win,
                                "the DS records of %s use only unsupported %s (tag/algorithm/digest %s)",
                                cn, ede == DNSSEC_EDE_UNSUPPORTED_DNSKEY_ALG
                                        ? "algorithms" : "digest types", why));
    } else {
        job->walk.ds_window = win;
        walk_fetch(job, JOB_DNSKEY);
    }
}

/* The answer to "DS of walk.child?" (taken): go on below, or end the walk. */
static void walk_ds(dnssec_job_t *job, ldns_pkt *pkt)
{
    dnssec_zone_t *parent = job->walk.zone;
    const ldns_rdf *child = job->walk.child;
    window_t win = {parent->valid_from, parent->valid_until}, none = {job->at, job->at};
    ldns_pkt_rcode rcode = pkt ? ldns_pkt_get_rcode(pkt) : LDNS_RCODE_SERVFAIL;
    ldns_rr_list *set = NULL, *sigs = NULL;
    char why[REASON_MAX] = "", cn[NAME_STR_MAX], pn[NAME_STR_MAX];
    int ede = DNSSEC_EDE_NONE;
    bool by_nsec;
    dnssec_status_t st;
    fail_t fail;
    proofs_t p;
    denial_t d;

    name_str(child, cn);
    name_str(parent->name, pn);
    if (rcode != LDNS_RCODE_NOERROR && rcode != LDNS_RCODE_NXDOMAIN) {
        walk_done(job, job_zone(job, child, DNSSEC_INDETERMINATE, DNSSEC_EDE_INDETERMINATE,
                                none, "the DS query for %s failed", cn));
        goto done;
    }
    set = rrs_at(ldns_pkt_answer(pkt), child, LDNS_RR_TYPE_DS);
    sigs = sigs_at(ldns_pkt_answer(pkt), child, LDNS_RR_TYPE_DS);
    if (!set || !sigs) {
        walk_done(job, NULL);
        goto done;
    }
    if (ldns_rr_list_rr_count(set) > 0) {
        walk_ds_found(job, set, sigs, win);
        goto done;
    }

    /* no DS: what do the parent's NSEC/NSEC3 records say about child? */
    window_cap(&win, job->at + (time_t)rrset_min_ttl(ldns_pkt_authority(pkt)));
    proofs_init(&p, parent->name);
    if (!p.nsec || !p.nsec3) {
        proofs_free(&p);
        walk_done(job, NULL);
        goto done;
    }
    st = proofs_from_packet(job, pkt, parent, &p, &fail, &win);
    if (st != DNSSEC_SECURE) {
        proofs_free(&p);
        walk_done(job, job_zone(job, child, st, fail.ede, win,
                                "the denial of a DS for %s: %s", cn, fail.text));
        goto done;
    }
    by_nsec = ldns_rr_list_rr_count(p.nsec) > 0;
    d = proofs_denial(job, &p, child, LDNS_RR_TYPE_DS, rcode == LDNS_RCODE_NXDOMAIN, why, &ede);
    proofs_free(&p);
    switch (d) {
    case DENIAL_NODATA:
        /* not a zone cut: child lies in the parent zone, go on below */
        ldns_rdf_deep_free(job->walk.cur);
        job->walk.cur = job->walk.child;
        job->walk.child = NULL;
        walk_advance(job);
        break;
    case DENIAL_NXDOMAIN: {
        /* nothing exists at or below child: the target is in the parent zone, if anywhere */
        dnssec_zone_t *z = job->walk.zone;
        job->walk.zone = NULL;
        walk_done(job, z);
        break;
    }
    case DENIAL_DELEGATION:
        walk_done(job, job_zone(job, child, DNSSEC_INSECURE, DNSSEC_EDE_NONE, win,
                                "%s is an unsigned delegation (the %s record of %s shows NS and no DS)",
                                cn, by_nsec ? "NSEC" : "NSEC3", pn));
        break;
    case DENIAL_OPTOUT:
        walk_done(job, job_zone(job, child, DNSSEC_INSECURE, DNSSEC_EDE_NONE, win,
                                "%s lies in an NSEC3 opt-out span of %s and has no DS (RFC 5155 section 6)",
                                cn, pn));
        break;
    case DENIAL_INSECURE:
        walk_done(job, job_zone(job, child, DNSSEC_INSECURE, ede, win, "%s", why));
        break;
    case DENIAL_LIMIT:
        walk_done(job, job_zone(job, child, DNSSEC_BOGUS, DNSSEC_EDE_BOGUS, win,
                                "gave up proving that %s has no DS after %d NSEC3 hashes", cn,
                                DNSSEC_MAX_NSEC3_HASHES));
        break;
    case DENIAL_NOMEM:
        walk_done(job, NULL);
        break;
    case DENIAL_NONE:
        walk_done(job, job_zone(job, child, DNSSEC_BOGUS, DNSSEC_EDE_NSEC_MISSING, win,
                                "%s has no DS, and no NSEC/NSEC3 record of %s proves it unsigned",
                                cn, pn));
        break;
    }
done:
    ldns_rr_list_free(set);
    ldns_rr_list_free(sigs);
}

/* A fetched packet arrived (taken) for the state the job waits in. */
static void walk_receive(dnssec_job_t *job, ldns_pkt *pkt)
{
    window_t anchored = {job->at, job->at + DNSSEC_MAX_TTL};
    dnssec_zone_t *z;

    if (job->state == JOB_DS) {
        walk_ds(job, pkt);
        ldns_pkt_free(pkt);
        return;
    }
    if (job->state == JOB_ANCHOR_KEYS)
        z = walk_keys(job, pkt, job->anchors->ds, job->anchors->keys, anchored);
    else
        z = walk_keys(job, pkt, job->walk.ds, NULL, job->walk.ds_window);
    ldns_pkt_free(pkt);
    if (!z || z->status != DNSSEC_SECURE) {
        walk_done(job, z);
        return;
    }
    zone_unref(job->walk.zone);
    job->walk.zone = z;
    ldns_rdf_deep_free(job->walk.cur);
    job->walk.cur = job->walk.child;
    job->walk.child = NULL;
    walk_advance(job);
}

/* ---- the answer -------------------------------------------------------- */

/* Make an item of rrset and sigs (taken, freed on failure). */
static item_t *item_add(dnssec_job_t *job, item_kind_t kind, ldns_rr_list *rrset,
                        ldns_rr_list *sigs)
{
    item_t *it;

    if (job->nitems == sizeof(job->items) / sizeof(job->items[0]) ||
        (kind != ITEM_ZONE && (!rrset || !sigs))) {
        ldns_rr_list_free(rrset);
        ldns_rr_list_free(sigs);
        return NULL;
    }
    it = &job->items[job->nitems++];
    memset(it, 0, sizeof(*it));
    it->kind = kind;
    it->rrset = rrset;
    it->sigs = sigs;
    it->link = -1;
    it->status = DNSSEC_SECURE;
    if (rrset && ldns_rr_list_rr_count(rrset) > 0) {
        it->owner = ldns_rr_owner(ldns_rr_list_rr(rrset, 0));
        it->type = ldns_rr_get_type(ldns_rr_list_rr(rrset, 0));
    }
    return it;
}

/* Which zone to look for: the RRSIG signer if there is a signature,
 * else where the owner name lives (DS and NSEC3: the zone above). */
static bool item_target(dnssec_job_t *job, item_t *it)
{
    char tb[24], on[NAME_STR_MAX], sn[NAME_STR_MAX];

    for (size_t i = 0; i < ldns_rr_list_rr_count(it->sigs); i++) {
        const ldns_rdf *s = ldns_rr_rrsig_signame(ldns_rr_list_rr(it->sigs, i));
        /* RFC 4035 §5.3.1: the signer is the zone holding the RRset */
        bool ok = it->type == LDNS_RR_TYPE_DS ? name_below(it->owner, s)
                : it->type == LDNS_RR_TYPE_DNSKEY ? name_eq(it->owner, s)
                : name_under(it->owner, s);
        if (ok) {
            it->target = ldns_rdf_clone(s);
            it->signed_item = true;
            return it->target != NULL;
        }
    }
    if (ldns_rr_list_rr_count(it->sigs) > 0) {
        job_notef(job, DNSSEC_BOGUS, DNSSEC_EDE_BOGUS,
                  "the RRSIG over %s/%s names signer %s, which is not a zone above it",
                  name_str(it->owner, on), type_str(it->type, tb),
                  name_str(ldns_rr_rrsig_signame(ldns_rr_list_rr(it->sigs, 0)), sn));
        it->status = DNSSEC_BOGUS;
        return true;
    }
    if (it->type == LDNS_RR_TYPE_DS || it->type == LDNS_RR_TYPE_NSEC3)
        it->target = ldns_dname_left_chop(it->owner);
    else
        it->target = ldns_rdf_clone(it->owner);
    return it->target != NULL;
}

static void link_status(dnssec_job_t *job, size_t i, dnssec_status_t st)
{
    job->aliases[i].status = st;
}

/* owner leads to target (new link); false when memory ran out. */
static bool link_add(dnssec_job_t *job, const ldns_rdf *owner, const ldns_rdf *target,
                     ldns_rr_type type)
{
    size_t i = job->nlinks++;

    job->link_names[i][0] = ldns_rdf_clone(owner);
    job->link_names[i][1] = ldns_rdf_clone(target);
    job->aliases[i].owner = job->link_names[i][0];
    job->aliases[i].target = job->link_names[i][1];
    job->aliases[i].type = type;
    job->aliases[i].status = DNSSEC_INDETERMINATE; /* until its item is judged */
    return job->link_names[i][0] && job->link_names[i][1];
}

/* The closest DNAME in the answer section at a proper ancestor of name. */
static ldns_rr *find_dname(const ldns_rr_list *an, const ldns_rdf *name)
{
    ldns_rr *best = NULL;

    for (size_t i = 0; i < ldns_rr_list_rr_count(an); i++) {
        ldns_rr *rr = ldns_rr_list_rr(an, i);
        if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_DNAME && rr_wellformed(rr) &&
            ldns_rr_get_class(rr) == LDNS_RR_CLASS_IN &&
            name_below(name, ldns_rr_owner(rr)) &&
            (!best || name_labels(ldns_rr_owner(rr)) > name_labels(ldns_rr_owner(best))))
            best = rr;
    }
    return best;
}

static int chain_oom(dnssec_job_t *job)
{
    job_note(job, DNSSEC_INDETERMINATE, DNSSEC_EDE_INDETERMINATE, "out of memory");
    return -1;
}

/* One step along the chain at *cur: the answer, a link, or the end.
 * 1: go on with *cur replaced; 0: the chain ended; -1: the job ended
 * (its status says why). */
static int chain_step(dnssec_job_t *job, ldns_rdf **cur)
{
    const ldns_rr_list *an = ldns_pkt_answer(job->answer);
    ldns_rr_list *set, *cset;
    ldns_rr *dname;
    ldns_rdf *next;
    item_t *it;
    char n1[NAME_STR_MAX], n2[NAME_STR_MAX], n3[NAME_STR_MAX], n4[NAME_STR_MAX];

    set = rrs_at(an, *cur, job->qtype);
    if (!set)
        return chain_oom(job);
    if (ldns_rr_list_rr_count(set) > 0) {
        if (!(it = item_add(job, ITEM_ANSWER, set, sigs_at(an, *cur, job->qtype))))
            return chain_oom(job);
        job->rrset = it->rrset;
        job->rrset_sigs = it->sigs;
        job->kind = DNSSEC_ANSWER_DATA;
        return 0;
    }
    ldns_rr_list_free(set);
    /* RFC 6672 §2.4: below a DNAME nothing else counts, a CNAME there is
     * the unsigned one a server synthesizes (§3.2) */
    dname = find_dname(an, *cur);
    cset = rrs_at(an, *cur, LDNS_RR_TYPE_CNAME);
    if (!cset)
        return chain_oom(job);
    if (!dname && ldns_rr_list_rr_count(cset) == 0) {
        ldns_rr_list_free(cset);
        return 0;
    }
    if (job->nlinks == DNSSEC_MAX_CHAIN) {
        ldns_rr_list_free(cset);
        job_notef(job, DNSSEC_INDETERMINATE, DNSSEC_EDE_INDETERMINATE,
                  "the CNAME/DNAME chain from %s is longer than %d links",
                  name_str(job->qname, n1), DNSSEC_MAX_CHAIN);
        return -1;
    }
    if (dname) {
        const ldns_rdf *downer = ldns_rr_owner(dname);
        next = name_dname_subst(*cur, downer, ldns_rr_rdf(dname, 0));
        if (!next) {
            ldns_rr_list_free(cset);
            job_notef(job, DNSSEC_BOGUS, DNSSEC_EDE_BOGUS,
                      "the DNAME at %s makes %s longer than 255 octets",
                      name_str(downer, n1), name_str(*cur, n2));
            return -1;
        }
        if (ldns_rr_list_rr_count(cset) > 0 &&
            !name_eq(ldns_rr_rdf(ldns_rr_list_rr(cset, 0), 0), next)) {
            job_notef(job, DNSSEC_BOGUS, DNSSEC_EDE_BOGUS,
                      "the CNAME at %s points to %s, but the DNAME at %s gives %s",
                      name_str(*cur, n1), name_str(ldns_rr_rdf(ldns_rr_list_rr(cset, 0), 0), n2),
                      name_str(downer, n3), name_str(next, n4));
            ldns_rr_list_free(cset);
            ldns_rdf_deep_free(next);
            return -1;
        }
        ldns_rr_list_free(cset);
        it = item_add(job, ITEM_LINK, rrs_at(an, downer, LDNS_RR_TYPE_DNAME),
                      sigs_at(an, downer, LDNS_RR_TYPE_DNAME));
    } else {
        /* a CNAME owns its name alone (RFC 2181 §10.1): one record */
        next = ldns_rdf_clone(ldns_rr_rdf(ldns_rr_list_rr(cset, 0), 0));
        it = item_add(job, ITEM_LINK, cset, sigs_at(an, *cur, LDNS_RR_TYPE_CNAME));
    }
    if (!it || !next || !link_add(job, *cur, next, dname ? LDNS_RR_TYPE_DNAME : LDNS_RR_TYPE_CNAME)) {
        ldns_rdf_deep_free(next);
        return chain_oom(job);
    }
    it->link = (int)job->nlinks - 1;
    ldns_rdf_deep_free(*cur);
    *cur = next;
    return 1;
}

/* Cut the answer packet into items, following the CNAME/DNAME chain. */
static void answer_items(dnssec_job_t *job)
{
    const ldns_rr_list *ns;
    ldns_pkt_rcode rcode;
    ldns_rdf *cur;
    size_t denials = 0;
    char tb[24];
    int r = 0;

    if (!job->answer) {
        job_note(job, DNSSEC_INDETERMINATE, DNSSEC_EDE_INDETERMINATE, "the query failed");
        goto fail;
    }
    rcode = ldns_pkt_get_rcode(job->answer);
    if (rcode != LDNS_RCODE_NOERROR && rcode != LDNS_RCODE_NXDOMAIN) {
        ldns_lookup_table *lt = ldns_lookup_by_id(ldns_rcodes, (int)rcode);
        job_notef(job, DNSSEC_INDETERMINATE, DNSSEC_EDE_INDETERMINATE,
                  "the resolver answered %s", lt ? lt->name : "with an error");
        goto fail;
    }
    if (job->qtype == LDNS_RR_TYPE_RRSIG || job->qtype == LDNS_RR_TYPE_ANY) {
        job_notef(job, DNSSEC_INDETERMINATE, DNSSEC_EDE_INDETERMINATE,
                  "%s queries cannot be validated", type_str(job->qtype, tb));
        goto fail;
    }
    cur = ldns_rdf_clone(job->qname);
    while (cur && (r = chain_step(job, &cur)) > 0)
        ;
    job->final_name = cur;
    if (!cur)
        job_note(job, DNSSEC_INDETERMINATE, DNSSEC_EDE_INDETERMINATE, "out of memory");
    if (!cur || r < 0)
        goto fail;
    if (job->kind != DNSSEC_ANSWER_DATA)
        /* RFC 2308 §2: the chain ends at a name without the type */
        job->kind = rcode == LDNS_RCODE_NXDOMAIN ? DNSSEC_ANSWER_NXDOMAIN : DNSSEC_ANSWER_NODATA;

    /* the denial records, for negative and wildcard answers alike */
    ns = ldns_pkt_authority(job->answer);
    for (size_t i = 0; i < ldns_rr_list_rr_count(ns) && denials < DNSSEC_MAX_DENIAL; i++) {
        ldns_rr *rr = ldns_rr_list_rr(ns, i);
        ldns_rr_type t = ldns_rr_get_type(rr);
        ldns_rr_list *set;

        if ((t != LDNS_RR_TYPE_NSEC && t != LDNS_RR_TYPE_NSEC3) || !rr_wellformed(rr))
            continue;
        set = rrs_at(ns, ldns_rr_owner(rr), t);
        if (set && ldns_rr_list_rr(set, 0) != rr) { /* each RRset once */
            ldns_rr_list_free(set);
            continue;
        }
        if (!item_add(job, ITEM_DENIAL, set, sigs_at(ns, ldns_rr_owner(rr), t)))
            goto oom;
        denials++;
    }
    if (job->kind != DNSSEC_ANSWER_DATA && denials == 0) {
        /* a negative answer without denial records: is its zone signed?
         * The SOA names the zone when it is an ancestor (RFC 2308 §3) */
        const ldns_rdf *where = job->final_name;
        item_t *it = item_add(job, ITEM_ZONE, NULL, NULL);

        if (!it)
            goto oom;
        for (size_t i = 0; i < ldns_rr_list_rr_count(ns); i++) {
            ldns_rr *rr = ldns_rr_list_rr(ns, i);
            if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA &&
                name_under(job->final_name, ldns_rr_owner(rr)))
                where = ldns_rr_owner(rr);
        }
        it->owner = job->final_name;
        it->type = job->qtype;
        if (!(it->target = ldns_rdf_clone(where)))
            goto oom;
    }
    for (size_t i = 0; i < job->nitems; i++) {
        item_t *it = &job->items[i];
        if (it->kind != ITEM_ZONE && !item_target(job, it))
            goto oom;
        if (it->status != DNSSEC_SECURE) {
            if (it->link >= 0)
                link_status(job, (size_t)it->link, it->status);
            job_enter(job, JOB_DONE);
            return;
        }
    }
    return;
oom:
    job_note(job, DNSSEC_INDETERMINATE, DNSSEC_EDE_INDETERMINATE, "out of memory");
fail:
    job->kind = DNSSEC_ANSWER_NONE;
    job_enter(job, JOB_DONE);
}

/* items[cur] lies in zone z: judge it. */
static void item_judge(dnssec_job_t *job, item_t *it, const dnssec_zone_t *z)
{
    char tb[24], on[NAME_STR_MAX], zn[NAME_STR_MAX], sn[NAME_STR_MAX];
    fail_t fail;
    window_t win;

    name_str(it->owner, on);
    name_str(z->name, zn);
    type_str(it->type, tb);
    if (z->status != DNSSEC_SECURE) {
        it->status = z->status;
        job_note(job, z->status, z->ede, z->reason);
    } else if (it->kind == ITEM_ZONE) {
        it->status = DNSSEC_BOGUS;
        job_notef(job, DNSSEC_BOGUS, DNSSEC_EDE_NSEC_MISSING,
                  "no NSEC/NSEC3 record proves that %s/%s does not exist, and %s is signed",
                  on, tb, zn);
    } else if (!it->signed_item) {
        it->status = DNSSEC_BOGUS;
        job_notef(job, DNSSEC_BOGUS, DNSSEC_EDE_RRSIGS_MISSING,
                  "no RRSIG over %s/%s, and its zone %s is signed", on, tb, zn);
    } else if (!name_eq(z->name, it->target)) {
        it->status = DNSSEC_BOGUS;
        job_notef(job, DNSSEC_BOGUS, DNSSEC_EDE_BOGUS,
                  "the RRSIG over %s/%s names signer %s, which is no zone (the name lies in %s)",
                  on, tb, name_str(it->target, sn), zn);
    } else {
        it->status = verify_rrset(job, it->rrset, it->sigs, z->name, z->keys, z->tags, &win,
                                  &it->wild_labels, &fail);
        if (it->status != DNSSEC_SECURE) {
            job_note(job, it->status, fail.ede, fail.text);
        } else if (it->kind == ITEM_DENIAL && it->wild_labels) {
            /* RFC 4035 §5.3.4: NSEC(3) records are never synthesized */
            it->status = DNSSEC_BOGUS;
            job_notef(job, DNSSEC_BOGUS, DNSSEC_EDE_BOGUS,
                      "the %s record at %s claims to come from a wildcard", tb, on);
        }
    }
    if (it->link >= 0)
        link_status(job, (size_t)it->link, it->status);
}

static void items_step(dnssec_job_t *job)
{
    item_t *it;
    dnssec_zone_t *z;

    if (job->cur == job->nitems) {
        job_enter(job, JOB_PROOF);
        return;
    }
    it = &job->items[job->cur];
    if (!job->walk.result) {
        walk_start(job, it->target);
        return;
    }
    z = job->walk.result;
    job->walk.result = NULL;
    item_judge(job, it, z);
    zone_unref(z);
    job->cur++;
    if (job->status >= DNSSEC_INDETERMINATE)
        job_enter(job, JOB_DONE);
}

/* The validated denial records of the deepest zone holding name: 1; 0
 * when there are none, or some of them are not secure; -1 when memory
 * ran out. */
static int job_proofs(const dnssec_job_t *job, const ldns_rdf *name, proofs_t *p)
{
    const ldns_rdf *zone = NULL;
    bool secure = true, ok = true;

    for (size_t i = 0; i < job->nitems; i++) {
        const item_t *it = &job->items[i];
        if (it->kind == ITEM_DENIAL && name_under(name, it->target) &&
            (!zone || name_labels(it->target) > name_labels(zone)))
            zone = it->target;
    }
    if (!zone)
        return 0;
    proofs_init(p, zone);
    for (size_t i = 0; ok && p->nsec && p->nsec3 && i < job->nitems; i++) {
        const item_t *it = &job->items[i];
        if (it->kind != ITEM_DENIAL || !name_eq(it->target, zone))
            continue;
        secure &= it->status == DNSSEC_SECURE;
        ok = proofs_add(p, ldns_rr_list_rr(it->rrset, 0));
    }
    if (!ok || !p->nsec || !p->nsec3 || !proofs_finish(p)) {
        proofs_free(p);
        return -1;
    }
    if (!secure) {
        proofs_free(p);
        return 0;
    }
    return 1;
}

/* Turn a denial verdict about `what` into the job's status. */
static void proof_judge(dnssec_job_t *job, denial_t d, bool good, const char *what,
                        const char *why, int ede)
{
    switch (d) {
    case DENIAL_OPTOUT:
        job_notef(job, DNSSEC_INSECURE, DNSSEC_EDE_NONE,
                  "%s is covered by an NSEC3 opt-out span (RFC 5155 section 6)", what);
        return;
    case DENIAL_INSECURE:
        job_note(job, DNSSEC_INSECURE, ede, why);
        return;
    case DENIAL_LIMIT:
        job_notef(job, DNSSEC_BOGUS, DNSSEC_EDE_BOGUS, "gave up on %s after %d NSEC3 hashes",
                  what, DNSSEC_MAX_NSEC3_HASHES);
        return;
    case DENIAL_NOMEM:
        job_note(job, DNSSEC_INDETERMINATE, DNSSEC_EDE_INDETERMINATE, "out of memory");
        return;
    default:
        if (!good)
            job_notef(job, DNSSEC_BOGUS, DNSSEC_EDE_NSEC_MISSING,
                      "no valid NSEC/NSEC3 proof for %s", what);
    }
}

static void proof_step(dnssec_job_t *job)
{
    char what[REASON_MAX], why[REASON_MAX] = "", tb[24], on[NAME_STR_MAX];
    int ede = DNSSEC_EDE_NONE, found;
    proofs_t p;
    denial_t d;

    /* wildcard expansions in the chain or the answer */
    for (size_t i = 0; i < job->nitems && job->status < DNSSEC_INDETERMINATE; i++) {
        const item_t *it = &job->items[i];
        if (it->kind == ITEM_DENIAL || !it->wild_labels || it->status != DNSSEC_SECURE)
            continue;
        fmt_reason(what, "the wildcard answer %s/%s", name_str(it->owner, on),
                   type_str(it->type, tb));
        found = job_proofs(job, it->owner, &p);
        if (found <= 0) {
            if (found < 0 || job->status == DNSSEC_SECURE)
                proof_judge(job, found < 0 ? DENIAL_NOMEM : DENIAL_NONE, false, what, why, ede);
            continue;
        }
        d = proofs_no_closer(job, &p, it->owner, it->wild_labels, why, &ede);
        proofs_free(&p);
        proof_judge(job, d, d == DENIAL_NXDOMAIN, what, why, ede);
    }
    if (job->kind != DNSSEC_ANSWER_DATA && job->status < DNSSEC_INDETERMINATE) {
        bool nx = job->kind == DNSSEC_ANSWER_NXDOMAIN;

        if (nx)
            fmt_reason(what, "%s (NXDOMAIN)", name_str(job->final_name, on));
        else
            fmt_reason(what, "%s/%s (NODATA)", name_str(job->final_name, on),
                       type_str(job->qtype, tb));
        found = job_proofs(job, job->final_name, &p);
        if (found > 0) {
            d = proofs_denial(job, &p, job->final_name, job->qtype, nx, why, &ede);
            proofs_free(&p);
            proof_judge(job, d, nx ? d == DENIAL_NXDOMAIN
                                   : d == DENIAL_NODATA || d == DENIAL_DELEGATION,
                        what, why, ede);
        } else if (found < 0 || job->status == DNSSEC_SECURE) {
            proof_judge(job, found < 0 ? DENIAL_NOMEM : DENIAL_NONE, false, what, why, ede);
        }
    }
    job_enter(job, JOB_DONE);
}

dnssec_job_t *dnssec_job_new(const dnssec_anchors_t *anchors, dnssec_cache_t *cache,
                             const ldns_rdf *qname, ldns_rr_type qtype, ldns_pkt *answer,
                             time_t at)
{
    dnssec_job_t *job = calloc(1, sizeof(*job));

    if (!job) {
        ldns_pkt_free(answer);
        return NULL;
    }
    job->anchors = anchors;
    job->cache = cache;
    job->qtype = qtype;
    job->at = at;
    job->answer = answer;
    job->ede = DNSSEC_EDE_NONE;
    job->status = DNSSEC_SECURE;
    job->qname = ldns_rdf_clone(qname);
    snprintf(job->trace, sizeof(job->trace), "%s", job_state_names[JOB_ITEMS]);
    if (!job->qname) {
        job_note(job, DNSSEC_INDETERMINATE, DNSSEC_EDE_INDETERMINATE, "out of memory");
        job_enter(job, JOB_DONE);
        return job;
    }
    answer_items(job);
    return job;
}

dnssec_step_t dnssec_job_step(dnssec_job_t *job, const ldns_rdf **need_name,
                              ldns_rr_type *need_type)
{
    for (;;) {
        switch (job->state) {
        case JOB_ITEMS:
            items_step(job);
            break;
        case JOB_ANCHOR_KEYS:
        case JOB_DS:
        case JOB_DNSKEY:
            if (!job->has_fed) {
                *need_name = job->walk.child;
                *need_type = job->state == JOB_DS ? LDNS_RR_TYPE_DS : LDNS_RR_TYPE_DNSKEY;
                return DNSSEC_JOB_NEED;
            }
            job->has_fed = false;
            {
                ldns_pkt *pkt = job->fed;
                job->fed = NULL;
                walk_receive(job, pkt);
            }
            break;
        case JOB_PROOF:
            proof_step(job);
            break;
        case JOB_DONE:
            return DNSSEC_JOB_DONE;
        }
    }
}

void dnssec_job_feed(dnssec_job_t *job, ldns_pkt *answer)
{
    bool waiting = job->state == JOB_ANCHOR_KEYS || job->state == JOB_DS ||
                   job->state == JOB_DNSKEY;

    if (!waiting || job->has_fed) {
        ldns_pkt_free(answer);
        return;
    }
    job->fed = answer;
    job->has_fed = true;
}

dnssec_status_t dnssec_job_status(const dnssec_job_t *job)
{
    return job->status;
}

const char *dnssec_job_reason(const dnssec_job_t *job)
{
    return job->reason;
}

int dnssec_job_ede(const dnssec_job_t *job)
{
    return job->status == DNSSEC_SECURE ? DNSSEC_EDE_NONE : job->ede;
}

dnssec_answer_t dnssec_job_answer(const dnssec_job_t *job)
{
    return job->kind;
}

const ldns_rr_list *dnssec_job_rrset(const dnssec_job_t *job)
{
    return job->kind == DNSSEC_ANSWER_DATA ? job->rrset : NULL;
}

uint32_t dnssec_job_original_ttl(const dnssec_job_t *job)
{
    const ldns_rdf *ttl;

    if (job->kind != DNSSEC_ANSWER_DATA || job->rrset_sigs == NULL ||
        ldns_rr_list_rr_count(job->rrset_sigs) == 0)
        return 0;
    ttl = ldns_rr_rrsig_origttl(ldns_rr_list_rr(job->rrset_sigs, 0));
    return ttl != NULL && ldns_rdf_size(ttl) == 4 ? ldns_rdf2native_int32(ttl) : 0;
}

const ldns_rdf *dnssec_job_final_name(const dnssec_job_t *job)
{
    return job->final_name ? job->final_name : job->qname;
}

size_t dnssec_job_aliases(const dnssec_job_t *job, const dnssec_alias_t **links)
{
    *links = job->aliases;
    return job->nlinks;
}

unsigned dnssec_job_sig_checks(const dnssec_job_t *job)
{
    return job->sig_checks;
}

const char *dnssec_job_trace(const dnssec_job_t *job)
{
    return job->trace;
}

void dnssec_job_free(dnssec_job_t *job)
{
    if (!job)
        return;
    walk_clear(job);
    zone_unref(job->walk.result);
    ldns_pkt_free(job->fed);
    for (size_t i = 0; i < job->nitems; i++) {
        ldns_rr_list_free(job->items[i].rrset);
        ldns_rr_list_free(job->items[i].sigs);
        ldns_rdf_deep_free(job->items[i].target);
    }
    for (size_t i = 0; i < job->nlinks; i++) {
        ldns_rdf_deep_free(job->link_names[i][0]);
        ldns_rdf_deep_free(job->link_names[i][1]);
    }
    ldns_rdf_deep_free(job->final_name);
    ldns_rdf_deep_free(job->qname);
    ldns_pkt_free(job->answer);
    free(job);
}
