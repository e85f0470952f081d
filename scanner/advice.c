/* advice.c - the advice findings of docs/findings.md, from a finished
 * result tree.
 *
 * Whether a TLSA record matches a served certificate is decided from the
 * SHA-256 digests the model keeps of every certificate and its public
 * key: exactly for matching types 1 (SHA-256) and 0 (full data, hashed
 * here), and for matching type 2 (SHA-512) only through what OpenSSL's
 * DANE check reported for the handshake.  A rule that cannot be decided
 * says nothing.
 */
#include "advice.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#define ADVICE_USAGE_DANE_TA 2
#define ADVICE_USAGE_DANE_EE 3

int advice_vfinding(model_domain_t *d, model_severity_t severity, const char *code,
                    const char *host, const char *address, const char *fmt, va_list ap)
{
    model_finding_t *f, item = {.severity = severity};

    f = realloc(d->findings, (d->n_findings + 1) * sizeof(*f));
    if (f == NULL)
        return -1;
    d->findings = f;
    if (vasprintf(&item.message, fmt, ap) < 0)
        item.message = NULL;
    item.code = strdup(code);
    item.host = host != NULL ? strdup(host) : NULL;
    item.address = address != NULL ? strdup(address) : NULL;
    if (item.message == NULL || item.code == NULL || (host != NULL && item.host == NULL) ||
        (address != NULL && item.address == NULL)) {
        free(item.message);
        free(item.code);
        free(item.host);
        free(item.address);
        return -1;
    }
    f[d->n_findings++] = item;
    return 0;
}

int advice_finding(model_domain_t *d, model_severity_t severity, const char *code,
                   const char *host, const char *address, const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = advice_vfinding(d, severity, code, host, address, fmt, ap);
    va_end(ap);
    return rc;
}

/* ------------------------------------------------------------ matching */

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* The SHA-256 of the bytes a hex string spells, as lowercase hex. */
static bool advice_sha256_of_hex(const char *hex, char out[65])
{
    static const char digits[] = "0123456789abcdef";
    size_t len = strlen(hex), n = len / 2;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    unsigned char *bytes;
    bool ok = false;

    if (len % 2 != 0 || (bytes = malloc(n + 1)) == NULL)
        return false;
    for (size_t i = 0; i < n; i++) {
        int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            goto done;
        bytes[i] = (unsigned char)(hi << 4 | lo);
    }
    if (!EVP_Digest(bytes, n, md, &md_len, EVP_sha256(), NULL) || md_len != 32)
        goto done;
    for (unsigned i = 0; i < md_len; i++) {
        out[2 * i] = digits[md[i] >> 4];
        out[2 * i + 1] = digits[md[i] & 15];
    }
    out[64] = '\0';
    ok = true;
done:
    free(bytes);
    return ok;
}

/* RFC 6698 §2.1.2-2.1.3: selector 0 is the whole certificate, 1 its
 * SubjectPublicKeyInfo; the model keeps the SHA-256 of both. */
advice_match_t advice_record_matches_digests(const model_tlsa_record_t *r,
                                             const char *cert_sha256, const char *spki_sha256)
{
    const char *want = r->selector == 0 ? cert_sha256 : r->selector == 1 ? spki_sha256 : NULL;
    char digest[65];

    if (want == NULL || r->data_hex == NULL)
        return ADVICE_MATCH_UNKNOWN;
    switch (r->mtype) {
    case 0:
        if (!advice_sha256_of_hex(r->data_hex, digest))
            return ADVICE_MATCH_UNKNOWN;
        return strcasecmp(digest, want) == 0 ? ADVICE_MATCH_YES : ADVICE_MATCH_NO;
    case 1:
        return strcasecmp(r->data_hex, want) == 0 ? ADVICE_MATCH_YES : ADVICE_MATCH_NO;
    default:
        return ADVICE_MATCH_UNKNOWN;
    }
}

static advice_match_t advice_record_matches(const model_tlsa_record_t *r, const model_cert_t *c)
{
    return advice_record_matches_digests(r, c->cert_sha256, c->spki_sha256);
}

/* Does some usable record of usage/selector/mtype match the certificate? */
static advice_match_t advice_group_matches(const model_tlsa_t *t, unsigned usage,
                                           unsigned selector, unsigned mtype,
                                           const model_cert_t *c)
{
    advice_match_t m = ADVICE_MATCH_NO;

    for (size_t k = 0; k < t->n_records; k++) {
        const model_tlsa_record_t *r = &t->records[k];
        if (!r->usable || r->usage != usage || r->selector != selector || r->mtype != mtype)
            continue;
        switch (advice_record_matches(r, c)) {
        case ADVICE_MATCH_YES:
            return ADVICE_MATCH_YES;
        case ADVICE_MATCH_UNKNOWN:
            m = ADVICE_MATCH_UNKNOWN;
            break;
        case ADVICE_MATCH_NO:
            break;
        }
    }
    return m;
}

/* Usable records of one usage and selector, per matching type 0, 1, 2. */
static void advice_group_count(const model_tlsa_t *t, unsigned usage, unsigned selector,
                               size_t count[3])
{
    count[0] = count[1] = count[2] = 0;
    for (size_t k = 0; k < t->n_records; k++) {
        const model_tlsa_record_t *r = &t->records[k];
        if (r->usable && r->usage == usage && r->selector == selector && r->mtype <= 2)
            count[r->mtype]++;
    }
}

static size_t advice_usable(const model_tlsa_t *t)
{
    size_t n = 0;
    for (size_t k = 0; k < t->n_records; k++)
        n += t->records[k].usable;
    return n;
}

/* OpenSSL found no usable record matching anything served. */
static bool advice_no_tlsa_match(const model_handshake_t *hs)
{
    return hs->result == MODEL_ADDR_DANE_FAIL && hs->reason != NULL &&
           strncmp(hs->reason, "tlsa-mismatch", strlen("tlsa-mismatch")) == 0;
}

static bool advice_matched(const model_handshake_t *hs, unsigned usage, unsigned selector,
                           unsigned mtype)
{
    return hs->result == MODEL_ADDR_DANE_PASS && hs->matched && hs->matched_usage == usage &&
           hs->matched_selector == selector && hs->matched_mtype == mtype;
}

static const char *advice_or(const char *s, const char *otherwise)
{
    return s != NULL ? s : otherwise;
}

/* ------------------------------------------------------- the TLSA RRset */

static int advise_records(model_domain_t *d, const model_host_t *h, model_host_status_t status)
{
    const model_tlsa_t *t = &h->tlsa;
    const char *q = advice_or(t->qname, h->name);
    int rc = 0;

    for (size_t k = 0; k < t->n_records; k++)
        if (t->records[k].usage < ADVICE_USAGE_DANE_TA) {
            /* RFC 7672 §3.1.3: PKIX usages are unusable for SMTP */
            rc |= advice_finding(d, MODEL_SEVERITY_WARNING, "pkix-usage", h->name, NULL,
                                 "%s publishes a PKIX usage (%u) TLSA record, which SMTP senders "
                                 "ignore (RFC 7672 section 3.1.3): use DANE-EE(3) or DANE-TA(2)",
                                 q, t->records[k].usage);
            break;
        }
    if (status != MODEL_HOST_DANE)
        return rc;
    /* RFC 7671 §8.1: a rollover needs the next key's record published
     * two TTLs ahead; with one record every change is an outage. */
    if (advice_usable(t) == 1)
        rc |= advice_finding(d, MODEL_SEVERITY_INFO, "single-tlsa", h->name, NULL,
                             "%s has a single usable TLSA record: before the next key or "
                             "certificate change, publish a second one (the new key's 3 1 1, or "
                             "a 2 x 1 for the issuing CA) and wait twice the TTL before "
                             "switching (RFC 7671 section 8.1)", q);
    {
        size_t ee_cert[3], ee_spki[3];
        advice_group_count(t, ADVICE_USAGE_DANE_EE, 0, ee_cert);
        advice_group_count(t, ADVICE_USAGE_DANE_EE, 1, ee_spki);
        /* RFC 7672 §3.1.1: SPKI(1) needs no change across renewals with the same key */
        if (ee_cert[0] + ee_cert[1] + ee_cert[2] > 0 && ee_spki[0] + ee_spki[1] + ee_spki[2] == 0)
            rc |= advice_finding(d, MODEL_SEVERITY_INFO, "dane-ee-cert-selector", h->name, NULL,
                                 "%s publishes DANE-EE records of the whole certificate (3 0 x), "
                                 "which must change at every renewal: publish 3 1 1, the SHA-256 "
                                 "of the public key, which survives renewals that keep the key "
                                 "(RFC 7672 section 3.1.1)", q);
    }
    for (unsigned usage = ADVICE_USAGE_DANE_TA; usage <= ADVICE_USAGE_DANE_EE; usage++) {
        bool said = false;
        for (unsigned sel = 0; sel <= 1 && !said; sel++) {
            size_t c[3];
            advice_group_count(t, usage, sel, c);
            /* RFC 6698 §6: SHA-256 is the only digest every client has */
            if (c[2] > 0 && c[1] == 0 && c[0] == 0) {
                rc |= advice_finding(d, MODEL_SEVERITY_INFO, "tlsa-sha512-only", h->name, NULL,
                                     "%s has %u %u 2 (SHA-512) records and no %u %u 1: senders "
                                     "that implement only SHA-256, the one digest RFC 6698 "
                                     "section 6 requires, cannot use them; publish the SHA-256 "
                                     "digest of each object as well", q, usage, sel, usage, sel);
                said = true;
            }
        }
        if (said)
            break;
    }
    for (size_t k = 0; k < t->n_records; k++) {
        const model_tlsa_record_t *r = &t->records[k];
        /* RFC 7671 §10.1.2: digests, not full data.  Not for DANE-TA: a
         * 2 x 0 record is how a server may leave the trust anchor out of
         * its chain (RULES A3), a digest would make it send it */
        if (r->usable && r->mtype == 0 && r->usage != ADVICE_USAGE_DANE_TA) {
            rc |= advice_finding(d, MODEL_SEVERITY_INFO, "tlsa-full-data", h->name, NULL,
                                 "%s publishes full data (%u %u 0) where a digest would do, "
                                 "which makes the TLSA RRset large: publish the SHA-256 digest "
                                 "(%u %u 1) instead (RFC 7671 section 10.1.2)",
                                 q, r->usage, r->selector, r->usage, r->selector);
            break;
        }
    }
    if (t->ttl > ADVICE_TLSA_TTL_MAX)
        rc |= advice_finding(d, MODEL_SEVERITY_INFO, "tlsa-ttl-long", h->name, NULL,
                             "the TLSA RRset %s has a TTL of %u seconds, more than a day: every "
                             "rollover must wait twice the TTL (RFC 7671 section 8.1) and a "
                             "wrong record stays in caches as long; lower it (an hour is common)",
                             q, (unsigned)t->ttl);
    return rc;
}

/* RFC 7671 §9: a client that prefers SHA-512 uses, per usage and
 * selector, only the full-data and SHA-512 records when any SHA-512
 * record is present (OpenSSL and Postfix do); one that lacks SHA-512 uses
 * the SHA-256 ones.  So every object must be published with both digests
 * or neither.  Evidence, strongest first: a served certificate matched by
 * one digest but not the other (from the handshake), else unequal counts
 * of SHA-256 and SHA-512 records. */
static int advise_digest_agility(model_domain_t *d, const model_host_t *h)
{
    const model_tlsa_t *t = &h->tlsa;
    const char *q = advice_or(t->qname, h->name);

    for (size_t a = 0; a < h->n_addresses; a++) {
        const model_address_t *addr = &h->addresses[a];
        for (size_t i = 0; i < addr->n_handshakes; i++) {
            const model_handshake_t *hs = &addr->handshakes[i];
            if (!model_handshake_completed(hs) || hs->n_chain == 0)
                continue;
            for (unsigned u = ADVICE_USAGE_DANE_TA; u <= ADVICE_USAGE_DANE_EE; u++) {
                for (unsigned s = 0; s <= 1; s++) {
                    size_t c[3];
                    /* DANE-EE is judged on the leaf alone; OpenSSL tries it
                     * before any DANE-TA record, so a DANE-TA match or no
                     * match at all means no SHA-512 DANE-EE record matched. */
                    size_t depths = u == ADVICE_USAGE_DANE_EE ? 1 : hs->n_chain;
                    bool no_512 = advice_no_tlsa_match(hs) ||
                                  (u == ADVICE_USAGE_DANE_EE && hs->result == MODEL_ADDR_DANE_PASS &&
                                   hs->matched && hs->matched_usage == ADVICE_USAGE_DANE_TA);

                    advice_group_count(t, u, s, c);
                    if (c[1] == 0 || c[2] == 0)
                        continue;
                    for (size_t k = 0; k < depths && no_512; k++) {
                        const model_cert_t *cert = &hs->chain[k];
                        if (advice_group_matches(t, u, s, 1, cert) == ADVICE_MATCH_YES &&
                            advice_group_matches(t, u, s, 0, cert) == ADVICE_MATCH_NO)
                            return advice_finding(
                                d, MODEL_SEVERITY_WARNING, "digest-agility", h->name, addr->address,
                                "%s at %s is matched by a %u %u 1 (SHA-256) record of %s but by "
                                "no %u %u 2 (SHA-512) one: senders that prefer SHA-512 ignore "
                                "the SHA-256 records (RFC 7671 section 9); publish the SHA-512 "
                                "digest of the same object too, or remove the %u %u 2 records",
                                advice_or(cert->subject, "the certificate"), addr->address, u, s,
                                q, u, s, u, s);
                    }
                    if (advice_matched(hs, u, s, 2) && (size_t)hs->matched_depth < hs->n_chain) {
                        const model_cert_t *cert = &hs->chain[hs->matched_depth];
                        if (advice_group_matches(t, u, s, 1, cert) == ADVICE_MATCH_NO &&
                            advice_group_matches(t, u, s, 0, cert) == ADVICE_MATCH_NO)
                            return advice_finding(
                                d, MODEL_SEVERITY_WARNING, "digest-agility", h->name, addr->address,
                                "%s at %s is matched by a %u %u 2 (SHA-512) record of %s but by "
                                "no %u %u 1 (SHA-256) one: senders without SHA-512 use only the "
                                "SHA-256 records (RFC 7671 section 9); publish the SHA-256 digest "
                                "of the same object too",
                                advice_or(cert->subject, "the certificate"), addr->address, u, s,
                                q, u, s);
                    }
                }
            }
        }
    }
    for (unsigned u = ADVICE_USAGE_DANE_TA; u <= ADVICE_USAGE_DANE_EE; u++)
        for (unsigned s = 0; s <= 1; s++) {
            size_t c[3];
            advice_group_count(t, u, s, c);
            if (c[1] > 0 && c[2] > 0 && c[1] != c[2])
                return advice_finding(
                    d, MODEL_SEVERITY_WARNING, "digest-agility", h->name, NULL,
                    "%s has %zu %u %u 1 (SHA-256) and %zu %u %u 2 (SHA-512) records, so some "
                    "object is published with one digest only: senders that prefer SHA-512 "
                    "ignore the SHA-256 records (RFC 7671 section 9); publish both digests of "
                    "every object", q, c[1], u, s, c[2], u, s);
        }
    return 0;
}

/* RULES A3 (RFC 7672 §3.1.2): a server relying on DANE-TA must send the
 * trust anchor certificate, except with full-data records (2 0 0, 2 1 0),
 * which carry the anchor itself.  Reported when no DANE-TA record matches
 * a served certificate and the chain visibly stops short of its issuer
 * (the last certificate is not self-issued). */
static int advise_ta_served(model_domain_t *d, const model_host_t *h)
{
    const model_tlsa_t *t = &h->tlsa;
    bool want_ta = false;
    int rc = 0;

    for (size_t k = 0; k < t->n_records; k++) {
        const model_tlsa_record_t *r = &t->records[k];
        want_ta |= r->usable && r->usage == ADVICE_USAGE_DANE_TA &&
                   r->mtype != 0;
    }
    if (!want_ta)
        return 0;
    for (size_t a = 0; a < h->n_addresses; a++) {
        const model_address_t *addr = &h->addresses[a];
        for (size_t i = 0; i < addr->n_handshakes; i++) {
            const model_handshake_t *hs = &addr->handshakes[i];
            const model_cert_t *top;
            bool served = false, unknown = false;

            if (!model_handshake_completed(hs) || hs->n_chain == 0)
                continue;
            top = &hs->chain[hs->n_chain - 1];
            for (size_t k = 0; k < t->n_records && !served; k++) {
                const model_tlsa_record_t *r = &t->records[k];
                if (!r->usable || r->usage != ADVICE_USAGE_DANE_TA)
                    continue;
                for (size_t c = 0; c < hs->n_chain && !served; c++) {
                    advice_match_t m = advice_record_matches(r, &hs->chain[c]);
                    served = m == ADVICE_MATCH_YES;
                    unknown |= m == ADVICE_MATCH_UNKNOWN;
                }
            }
            /* a SHA-512 DANE-TA match inside the served chain */
            served |= hs->result == MODEL_ADDR_DANE_PASS && hs->matched &&
                      hs->matched_usage == ADVICE_USAGE_DANE_TA && hs->matched_mtype == 2 &&
                      (size_t)hs->matched_depth < hs->n_chain;
            if (served || (unknown && !advice_no_tlsa_match(hs)))
                continue;
            if (top->subject == NULL || top->issuer == NULL || strcmp(top->subject, top->issuer) == 0)
                continue;
            rc |= advice_finding(d, MODEL_SEVERITY_WARNING, "ta-not-served", h->name, addr->address,
                                 "no DANE-TA record of %s matches a certificate %s sends, and its "
                                 "chain ends with %s, issued by %s, which it does not send: an SMTP "
                                 "server must send its trust anchor's certificate (RFC 7672 section "
                                 "3.1.2, RFC 7671 section 5.2.2); add the issuing CA's certificate "
                                 "to the chain the server sends",
                                 advice_or(t->qname, h->name), addr->address, top->subject,
                                 top->issuer);
            break;
        }
    }
    return rc;
}

/* Certificate dates, judged at the scan's --at time (days_to_expiry).
 * RFC 7671 §5.1: DANE-EE ignores them, so expiry there is information;
 * RFC 7671 §5.2: DANE-TA validates the chain with its dates, so a chain
 * close to expiry is about to fail (an expired one already is dane-fail). */
static int advise_expiry(model_domain_t *d, const model_host_t *h)
{
    int rc = 0;

    for (size_t a = 0; a < h->n_addresses; a++) {
        const model_address_t *addr = &h->addresses[a];
        const model_cert_t *ee = NULL, *ta = NULL;

        for (size_t i = 0; i < addr->n_handshakes; i++) {
            const model_handshake_t *hs = &addr->handshakes[i];
            if (hs->result != MODEL_ADDR_DANE_PASS || !hs->matched || hs->n_chain == 0)
                continue;
            if (hs->matched_usage == ADVICE_USAGE_DANE_EE) {
                if (ee == NULL || hs->chain[0].days_to_expiry < ee->days_to_expiry)
                    ee = &hs->chain[0];
            } else if (hs->matched_usage == ADVICE_USAGE_DANE_TA) {
                /* the leaf up to the trust anchor, as far as it was served */
                for (size_t c = 0; c < hs->n_chain && c <= (size_t)hs->matched_depth; c++)
                    if (ta == NULL || hs->chain[c].days_to_expiry < ta->days_to_expiry)
                        ta = &hs->chain[c];
            }
        }
        if (ee != NULL && ee->days_to_expiry < 0)
            rc |= advice_finding(d, MODEL_SEVERITY_INFO, "cert-expired-dane-ee", h->name,
                                 addr->address,
                                 "the certificate %s serves (%s) expired %ld day(s) ago: DANE-EE "
                                 "senders ignore its dates (RFC 7671 section 5.1), other clients "
                                 "do not; renew it, keeping the key if the TLSA records are 3 1 x",
                                 addr->address, advice_or(ee->subject, "leaf"), -ee->days_to_expiry);
        else if (ee != NULL && ee->days_to_expiry < ADVICE_EXPIRY_DAYS)
            rc |= advice_finding(d, MODEL_SEVERITY_INFO, "cert-expiring-dane-ee", h->name,
                                 addr->address,
                                 "the certificate %s serves (%s) expires in %ld day(s): DANE-EE "
                                 "senders ignore its dates (RFC 7671 section 5.1), other clients "
                                 "do not; renew it, keeping the key if the TLSA records are 3 1 x",
                                 addr->address, advice_or(ee->subject, "leaf"), ee->days_to_expiry);
        if (ta != NULL && ta->days_to_expiry >= 0 && ta->days_to_expiry < ADVICE_EXPIRY_DAYS)
            rc |= advice_finding(d, MODEL_SEVERITY_WARNING, "cert-expiring-dane-ta", h->name,
                                 addr->address,
                                 "a certificate of the chain %s serves expires in %ld day(s) (%s): "
                                 "DANE-TA senders check certificate dates (RFC 7671 section 5.2) "
                                 "and will refuse the chain then; renew it now",
                                 addr->address, ta->days_to_expiry, advice_or(ta->subject, "leaf"));
    }
    return rc;
}

/* -------------------------------------------------------- across hosts */

static bool advice_same_records(const model_tlsa_t *x, const model_tlsa_t *y)
{
    if (advice_usable(x) != advice_usable(y))
        return false;
    for (size_t i = 0; i < x->n_records; i++) {
        const model_tlsa_record_t *r = &x->records[i];
        bool found = false;
        if (!r->usable)
            continue;
        for (size_t j = 0; j < y->n_records && !found; j++) {
            const model_tlsa_record_t *o = &y->records[j];
            found = o->usable && o->usage == r->usage && o->selector == r->selector &&
                    o->mtype == r->mtype && r->data_hex != NULL && o->data_hex != NULL &&
                    strcasecmp(r->data_hex, o->data_hex) == 0;
        }
        if (!found)
            return false;
    }
    return true;
}

static bool advice_serves_key(const model_host_t *h, const char *spki)
{
    for (size_t a = 0; a < h->n_addresses; a++)
        for (size_t i = 0; i < h->addresses[a].n_handshakes; i++) {
            const model_handshake_t *hs = &h->addresses[a].handshakes[i];
            if (model_handshake_completed(hs) && hs->n_chain > 0 && hs->chain[0].spki_sha256 &&
                strcasecmp(hs->chain[0].spki_sha256, spki) == 0)
                return true;
        }
    return false;
}

static bool advice_share_key(const model_host_t *x, const model_host_t *y)
{
    for (size_t a = 0; a < x->n_addresses; a++)
        for (size_t i = 0; i < x->addresses[a].n_handshakes; i++) {
            const model_handshake_t *hs = &x->addresses[a].handshakes[i];
            if (model_handshake_completed(hs) && hs->n_chain > 0 && hs->chain[0].spki_sha256 &&
                advice_serves_key(y, hs->chain[0].spki_sha256))
                return true;
        }
    return false;
}

/* Two DANE hosts of the domain that serve the same key should publish the
 * same TLSA records: different RRsets for one key drift apart, and the
 * next rollover (RFC 7671 §8.1) breaks the host that was forgotten.  Each
 * host is compared with the first earlier host sharing a key with it. */
static int advise_consistency(model_domain_t *d, const model_host_status_t *status)
{
    int rc = 0;

    for (size_t j = 0; j < d->n_hosts; j++) {
        const model_host_t *h = &d->hosts[j];
        if (status[j] != MODEL_HOST_DANE)
            continue;
        for (size_t i = 0; i < j; i++) {
            const model_host_t *ref = &d->hosts[i];
            if (status[i] != MODEL_HOST_DANE || !advice_share_key(ref, h) ||
                advice_same_records(&ref->tlsa, &h->tlsa))
                continue;
            rc |= advice_finding(d, MODEL_SEVERITY_WARNING, "tlsa-inconsistent", h->name, NULL,
                                 "%s serves the same key as %s but publishes different TLSA "
                                 "records (%s and %s): publish the same records for both (a "
                                 "CNAME from both TLSA names to one shared name does it), or the "
                                 "next rollover breaks one of them",
                                 h->name, ref->name, advice_or(h->tlsa.qname, h->name),
                                 advice_or(ref->tlsa.qname, ref->name));
            break;
        }
    }
    return rc;
}

int advice_domain(model_domain_t *d)
{
    model_host_status_t *status = calloc(d->n_hosts + 1, sizeof(*status));
    size_t dane = 0, fallback = 0;
    int rc = 0;

    if (status == NULL)
        return -1;
    for (size_t i = 0; i < d->n_hosts; i++) {
        const model_host_t *h = &d->hosts[i];

        status[i] = model_host_status(h);
        if (status[i] == MODEL_HOST_DANE)
            dane++;
        else if (status[i] == MODEL_HOST_NO_TLSA || status[i] == MODEL_HOST_INSECURE ||
                 status[i] == MODEL_HOST_DANE_UNUSABLE)
            fallback++;
        if (h->cname_target != NULL)
            /* RULES M5: RFC 5321 section 5.1 and RFC 2181 section 10.3 forbid it; DANE copes */
            rc |= advice_finding(d, MODEL_SEVERITY_WARNING, "mx-is-cname", h->name, NULL,
                                 "MX host %s is an alias (CNAME or DNAME) for %s, which RFC 5321 "
                                 "section 5.1 forbids: point the MX record at %s",
                                 h->name, h->cname_target, h->cname_target);
        /* RFC 7672 §2.2 (T5): senders ignore TLSA records that are not signed */
        if (h->tlsa.looked_up && h->tlsa.dnssec == MODEL_DNSSEC_INSECURE && h->tlsa.n_records > 0)
            rc |= advice_finding(d, MODEL_SEVERITY_WARNING, "tlsa-insecure-zone", h->name, NULL,
                                 "%s publishes TLSA records that are not signed (DNSSEC insecure%s%s), "
                                 "so senders ignore them (RFC 7672 section 2.2): sign the zone and "
                                 "publish its DS at the parent, or remove the records",
                                 advice_or(h->tlsa.qname, h->name), h->tlsa.reason ? ": " : "",
                                 h->tlsa.reason ? h->tlsa.reason : "");
        if (status[i] != MODEL_HOST_DANE && status[i] != MODEL_HOST_DANE_UNUSABLE)
            continue;
        rc |= advise_records(d, h, status[i]);
        if (status[i] != MODEL_HOST_DANE)
            continue;
        rc |= advise_digest_agility(d, h);
        rc |= advise_ta_served(d, h);
        rc |= advise_expiry(d, h);
    }
    rc |= advise_consistency(d, status);
    if (dane > 0 && d->mx_dnssec == MODEL_DNSSEC_INSECURE)
        rc |= advice_finding(d, MODEL_SEVERITY_WARNING, "mx-insecure", NULL, NULL,
                             "MX hosts publish DANE but the MX RRset itself is not signed: an "
                             "attacker can replace the MX hosts (RFC 7672 section 2.2.1); sign "
                             "the domain's zone");
    if (dane > 0 && fallback > 0)
        rc |= advice_finding(d, MODEL_SEVERITY_WARNING, "partial-deployment", NULL, NULL,
                             "%zu MX host(s) have DANE and %zu do not: senders fall back to "
                             "unauthenticated TLS there; publish usable TLSA records for every MX host",
                             dane, fallback);
    free(status);
    return rc;
}
