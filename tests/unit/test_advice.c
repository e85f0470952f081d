/* test_advice.c - scanner/advice.c over model trees built here.
 *
 * Each row builds one domain (DNS facts, TLSA records, what each
 * handshake served and matched) and names the findings advice_domain()
 * must append, in order, as "code@host[address]".  Every rule has rows
 * that must fire and rows that must not.  Every row also checks that the
 * verdict and the host statuses are the same before and after, and that
 * each finding has its documented severity and a message.
 */
#include "advice.h"
#include "check.h"
#include "model.h"

#include <stdlib.h>
#include <string.h>

/* Stand-ins for SHA-256 digests of keys (K*) and certificates (C*). */
#define K_LEAF "1111111111111111111111111111111111111111111111111111111111111111"
#define K_NEXT "2222222222222222222222222222222222222222222222222222222222222222"
#define K_INT  "3333333333333333333333333333333333333333333333333333333333333333"
#define K_ROOT "4444444444444444444444444444444444444444444444444444444444444444"
#define K_ELSE "5555555555555555555555555555555555555555555555555555555555555555"
#define C_LEAF "6666666666666666666666666666666666666666666666666666666666666666"
#define C_INT  "7777777777777777777777777777777777777777777777777777777777777777"
#define C_ROOT "8888888888888888888888888888888888888888888888888888888888888888"
/* A stand-in SHA-512 digest: never comparable, as in the model. */
#define D512 "99999999999999999999999999999999999999999999999999999999999999999999999999999999" \
             "999999999999999999999999999999999999999999999999"
/* Full data (matching type 0) "abc", whose SHA-256 is FIPS 180-2's first example. */
#define FULL_ABC "616263"
#define K_ABC "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"

#define ADDR "192.0.2.1"

/* ---- building model trees --------------------------------------------- */

static void *grow(void *array, size_t n, size_t size)
{
    char *p = realloc(array, (n + 1) * size);
    if (p == NULL)
        abort();
    memset(p + n * size, 0, size);
    return p;
}

static char *sdup(const char *s)
{
    char *p = s != NULL ? strdup(s) : NULL;
    if (s != NULL && p == NULL)
        abort();
    return p;
}

static model_domain_t *domain_new(model_dnssec_t mx_dnssec)
{
    model_domain_t *d = calloc(1, sizeof(*d));
    if (d == NULL)
        abort();
    d->domain = sdup("example.test");
    d->mx_outcome = MODEL_MX_FOUND;
    d->mx_dnssec = mx_dnssec;
    d->probed = true;
    return d;
}

/* A host with secure addresses and a secure TLSA RRset (records to add). */
static model_host_t *host_new(model_domain_t *d, const char *name)
{
    model_host_t *h;
    char qname[300];

    d->hosts = grow(d->hosts, d->n_hosts, sizeof(*d->hosts));
    h = &d->hosts[d->n_hosts++];
    h->name = sdup(name);
    h->preference = 10;
    h->dnssec = MODEL_DNSSEC_SECURE;
    h->tlsa.looked_up = true;
    h->tlsa.dnssec = MODEL_DNSSEC_SECURE;
    h->tlsa.base_domain = sdup(name);
    snprintf(qname, sizeof(qname), "_25._tcp.%s", name);
    h->tlsa.qname = sdup(qname);
    h->tlsa.ttl = 3600;
    return h;
}

/* RULES T3, simplified: usages 2 and 3 are usable. */
static void record(model_host_t *h, unsigned usage, unsigned selector, unsigned mtype,
                   const char *hex)
{
    model_tlsa_t *t = &h->tlsa;
    model_tlsa_record_t *r;

    t->records = grow(t->records, t->n_records, sizeof(*t->records));
    r = &t->records[t->n_records++];
    r->usage = (uint8_t)usage;
    r->selector = (uint8_t)selector;
    r->mtype = (uint8_t)mtype;
    r->data_hex = sdup(hex);
    r->usable = usage >= 2;
    if (!r->usable)
        r->unusable_reason = sdup("PKIX usage");
}

static model_address_t *address_new(model_host_t *h, const char *ip, model_addr_result_t result)
{
    model_address_t *a;

    h->addresses = grow(h->addresses, h->n_addresses, sizeof(*h->addresses));
    a = &h->addresses[h->n_addresses++];
    a->address = sdup(ip);
    a->result = result;
    a->starttls = true;
    return a;
}

static model_handshake_t *handshake_new(model_address_t *a, model_addr_result_t result,
                                        const char *reason)
{
    model_handshake_t *hs;

    a->handshakes = grow(a->handshakes, a->n_handshakes, sizeof(*a->handshakes));
    hs = &a->handshakes[a->n_handshakes++];
    hs->cert_type = sdup("any");
    hs->result = result;
    hs->reason = sdup(reason);
    hs->tls_version = sdup("TLSv1.3");
    return hs;
}

static void matched(model_handshake_t *hs, unsigned usage, unsigned selector, unsigned mtype,
                    int depth)
{
    hs->matched = true;
    hs->matched_usage = (uint8_t)usage;
    hs->matched_selector = (uint8_t)selector;
    hs->matched_mtype = (uint8_t)mtype;
    hs->matched_depth = depth;
}

static void cert(model_handshake_t *hs, const char *subject, const char *issuer,
                 const char *spki, const char *whole, long days)
{
    model_cert_t *c;

    hs->chain = grow(hs->chain, hs->n_chain, sizeof(*hs->chain));
    c = &hs->chain[hs->n_chain++];
    c->subject = sdup(subject);
    c->issuer = sdup(issuer);
    c->spki_sha256 = sdup(spki);
    c->cert_sha256 = sdup(whole);
    c->days_to_expiry = days;
}

/* One address serving a self-signed leaf with key K, DANE-EE matched. */
static void serve_ee(model_host_t *h, const char *key, long days)
{
    model_address_t *a = address_new(h, ADDR, MODEL_ADDR_DANE_PASS);
    model_handshake_t *hs = handshake_new(a, MODEL_ADDR_DANE_PASS, NULL);
    matched(hs, 3, 1, 1, 0);
    cert(hs, "CN=mx", "CN=mx", key, C_LEAF, days);
}

/* leaf <- intermediate, the root not sent */
static void chain_noroot(model_handshake_t *hs, long leaf_days, long int_days)
{
    cert(hs, "CN=mx", "CN=Int CA", K_LEAF, C_LEAF, leaf_days);
    cert(hs, "CN=Int CA", "CN=Root CA", K_INT, C_INT, int_days);
}

/* ---- the rows ----------------------------------------------------------- */

static void b_single(model_domain_t *d)
{
    model_host_t *h = host_new(d, "mx.a.test");
    record(h, 3, 1, 1, K_LEAF);
    serve_ee(h, K_LEAF, 300);
}

static void b_two(model_domain_t *d)
{
    model_host_t *h = host_new(d, "mx.a.test");
    record(h, 3, 1, 1, K_LEAF);
    record(h, 3, 1, 1, K_NEXT);
    serve_ee(h, K_LEAF, 300);
}

static void b_no_probe(model_domain_t *d)
{
    model_host_t *h = host_new(d, "mx.a.test");
    record(h, 3, 1, 1, K_LEAF);
    address_new(h, ADDR, MODEL_ADDR_SKIPPED);
}

static void b_cert_selector(model_domain_t *d)
{
    model_host_t *h = host_new(d, "mx.a.test");
    record(h, 3, 0, 1, C_LEAF);
    record(h, 3, 0, 1, K_ELSE);
    address_new(h, ADDR, MODEL_ADDR_SKIPPED);
}

static void b_cert_and_spki(model_domain_t *d)
{
    model_host_t *h = host_new(d, "mx.a.test");
    record(h, 3, 0, 1, C_LEAF);
    record(h, 3, 1, 1, K_LEAF);
    address_new(h, ADDR, MODEL_ADDR_SKIPPED);
}

static void b_pkix_mixed(model_domain_t *d)
{
    model_host_t *h = host_new(d, "mx.a.test");
    record(h, 1, 1, 1, K_LEAF);
    record(h, 3, 1, 1, K_LEAF);
    record(h, 3, 1, 1, K_NEXT);
    address_new(h, ADDR, MODEL_ADDR_SKIPPED);
}

static void b_pkix_only(model_domain_t *d)
{
    model_host_t *h = host_new(d, "mx.a.test");
    record(h, 0, 0, 1, C_ROOT);
    address_new(h, ADDR, MODEL_ADDR_SKIPPED);
}

/* TLSA under an unsigned zone: only tlsa-insecure-zone, whatever the records */
static void b_insecure_tlsa(model_domain_t *d)
{
    model_host_t *h = host_new(d, "mx.a.test");
    h->dnssec = MODEL_DNSSEC_INSECURE;
    h->tlsa.dnssec = MODEL_DNSSEC_INSECURE;
    record(h, 1, 1, 1, K_LEAF);
    record(h, 3, 1, 0, FULL_ABC);
    address_new(h, ADDR, MODEL_ADDR_TLS_ONLY);
}

static void b_insecure_empty(model_domain_t *d)
{
    model_host_t *h = host_new(d, "mx.a.test");
    h->dnssec = MODEL_DNSSEC_INSECURE;
    h->tlsa.dnssec = MODEL_DNSSEC_INSECURE;
    address_new(h, ADDR, MODEL_ADDR_TLS_ONLY);
}

static void b_insecure_not_looked_up(model_domain_t *d)
{
    model_host_t *h = host_new(d, "mx.a.test");
    h->dnssec = MODEL_DNSSEC_INSECURE;
    h->tlsa.looked_up = false;
    address_new(h, ADDR, MODEL_ADDR_TLS_ONLY);
}

static void b_sha512_only(model_domain_t *d)
{
    model_host_t *h = host_new(d, "mx.a.test");
    record(h, 3, 1, 2, D512);
    record(h, 2, 0, 1, C_INT);
    address_new(h, ADDR, MODEL_ADDR_SKIPPED);
}

static void b_sha512_with_256(model_domain_t *d)
{
    model_host_t *h = host_new(d, "mx.a.test");
    record(h, 3, 1, 2, D512);
    record(h, 3, 1, 1, K_LEAF);
    address_new(h, ADDR, MODEL_ADDR_SKIPPED);
}

/* a full record keeps a SHA-512-only client and a SHA-256-only one alike */
static void b_sha512_with_full(model_domain_t *d)
{
    model_host_t *h = host_new(d, "mx.a.test");
    record(h, 3, 1, 2, D512);
    record(h, 3, 1, 0, FULL_ABC);
    address_new(h, ADDR, MODEL_ADDR_SKIPPED);
}

static void b_full_data(model_domain_t *d)
{
    model_host_t *h = host_new(d, "mx.a.test");
    record(h, 3, 1, 0, FULL_ABC);
    record(h, 3, 1, 1, K_NEXT);
    address_new(h, ADDR, MODEL_ADDR_SKIPPED);
}

static void b_ttl(model_domain_t *d, uint32_t ttl)
{
    model_host_t *h = host_new(d, "mx.a.test");
    record(h, 3, 1, 1, K_LEAF);
    record(h, 3, 1, 1, K_NEXT);
    h->tlsa.ttl = ttl;
    address_new(h, ADDR, MODEL_ADDR_SKIPPED);
}

static void b_ttl_long(model_domain_t *d) { b_ttl(d, 172800); }
static void b_ttl_day(model_domain_t *d) { b_ttl(d, ADVICE_TLSA_TTL_MAX); }

/* RFC 7671 §9: the served key is in 3 1 1, not in 3 1 2; OpenSSL found no match */
static void b_agility_fail(model_domain_t *d)
{
    model_host_t *h = host_new(d, "mx.a.test");
    model_address_t *a;
    model_handshake_t *hs;

    record(h, 3, 1, 1, K_LEAF);
    record(h, 3, 1, 2, D512);
    a = address_new(h, ADDR, MODEL_ADDR_DANE_FAIL);
    hs = handshake_new(a, MODEL_ADDR_DANE_FAIL, "tlsa-mismatch");
    cert(hs, "CN=mx", "CN=mx", K_LEAF, C_LEAF, 300);
}

/* the same, but a DANE-TA record saved the day: the trap is still there */
static void b_agility_ta_pass(model_domain_t *d)
{
    model_host_t *h = host_new(d, "mx.a.test");
    model_address_t *a;
    model_handshake_t *hs;

    record(h, 3, 1, 1, K_LEAF);
    record(h, 3, 1, 2, D512);
    record(h, 2, 1, 1, K_INT);
    a = address_new(h, ADDR, MODEL_ADDR_DANE_PASS);
    hs = handshake_new(a, MODEL_ADDR_DANE_PASS, NULL);
    matched(hs, 2, 1, 1, 1);
    chain_noroot(hs, 300, 300);
}

/* both digests of the served key: OpenSSL matched the SHA-512 one */
static void b_agility_consistent(model_domain_t *d)
{
    model_host_t *h = host_new(d, "mx.a.test");
    model_address_t *a;
    model_handshake_t *hs;

    record(h, 3, 1, 1, K_LEAF);
    record(h, 3, 1, 2, D512);
    a = address_new(h, ADDR, MODEL_ADDR_DANE_PASS);
    hs = handshake_new(a, MODEL_ADDR_DANE_PASS, NULL);
    matched(hs, 3, 1, 2, 0);
    cert(hs, "CN=mx", "CN=mx", K_LEAF, C_LEAF, 300);
}

/* SHA-512 for the served key, SHA-256 only for the next one */
static void b_agility_reverse(model_domain_t *d)
{
    model_host_t *h = host_new(d, "mx.a.test");
    model_address_t *a;
    model_handshake_t *hs;

    record(h, 3, 1, 2, D512);
    record(h, 3, 1, 1, K_NEXT);
    a = address_new(h, ADDR, MODEL_ADDR_DANE_PASS);
    hs = handshake_new(a, MODEL_ADDR_DANE_PASS, NULL);
    matched(hs, 3, 1, 2, 0);
    cert(hs, "CN=mx", "CN=mx", K_LEAF, C_LEAF, 300);
}

/* unequal counts: some object has one digest only (no handshake needed) */
static void b_agility_counts(model_domain_t *d)
{
    model_host_t *h = host_new(d, "mx.a.test");
    record(h, 3, 1, 1, K_LEAF);
    record(h, 3, 1, 1, K_NEXT);
    record(h, 3, 1, 2, D512);
    address_new(h, ADDR, MODEL_ADDR_SKIPPED);
}

/* the other selector's records do not count */
static void b_agility_other_selector(model_domain_t *d)
{
    model_host_t *h = host_new(d, "mx.a.test");
    model_address_t *a;
    model_handshake_t *hs;

    record(h, 3, 1, 1, K_LEAF);
    record(h, 3, 0, 2, D512);
    a = address_new(h, ADDR, MODEL_ADDR_DANE_PASS);
    hs = handshake_new(a, MODEL_ADDR_DANE_PASS, NULL);
    matched(hs, 3, 1, 1, 0);
    cert(hs, "CN=mx", "CN=mx", K_LEAF, C_LEAF, 300);
}

/* RFC 7671 §5.2.2: the root is the trust anchor but is not sent */
static void b_ta_missing(model_domain_t *d)
{
    model_host_t *h = host_new(d, "mx.a.test");
    model_address_t *a;
    model_handshake_t *hs;

    record(h, 2, 1, 1, K_ROOT);
    record(h, 2, 1, 1, K_ELSE);
    a = address_new(h, ADDR, MODEL_ADDR_DANE_FAIL);
    hs = handshake_new(a, MODEL_ADDR_DANE_FAIL, "tlsa-mismatch");
    chain_noroot(hs, 300, 300);
}

/* a 2 1 0 passes in OpenSSL without the root, but servers cannot rely on it */
static void b_ta_210(model_domain_t *d)
{
    model_host_t *h = host_new(d, "mx.a.test");
    model_address_t *a;
    model_handshake_t *hs;

    record(h, 2, 1, 0, FULL_ABC);
    record(h, 3, 1, 1, K_NEXT);
    a = address_new(h, ADDR, MODEL_ADDR_DANE_PASS);
    hs = handshake_new(a, MODEL_ADDR_DANE_PASS, NULL);
    matched(hs, 2, 1, 0, 2);
    chain_noroot(hs, 300, 300);
}

/* the DANE-TA backup of a DANE-EE host names a CA that is not sent */
static void b_ta_backup_missing(model_domain_t *d)
{
    model_host_t *h = host_new(d, "mx.a.test");
    model_address_t *a;
    model_handshake_t *hs;

    record(h, 3, 1, 1, K_LEAF);
    record(h, 2, 0, 1, C_ROOT);
    a = address_new(h, ADDR, MODEL_ADDR_DANE_PASS);
    hs = handshake_new(a, MODEL_ADDR_DANE_PASS, NULL);
    matched(hs, 3, 1, 1, 0);
    chain_noroot(hs, 300, 300);
}

/* the intermediate is the trust anchor, and it is sent */
static void b_ta_int_served(model_domain_t *d)
{
    model_host_t *h = host_new(d, "mx.a.test");
    model_address_t *a;
    model_handshake_t *hs;

    record(h, 2, 0, 1, C_INT);
    record(h, 2, 1, 1, K_INT);
    a = address_new(h, ADDR, MODEL_ADDR_DANE_PASS);
    hs = handshake_new(a, MODEL_ADDR_DANE_PASS, NULL);
    matched(hs, 2, 0, 1, 1);
    chain_noroot(hs, 300, 300);
}

/* the whole chain is sent; the record names some other CA: a plain mismatch */
static void b_ta_complete_chain(model_domain_t *d)
{
    model_host_t *h = host_new(d, "mx.a.test");
    model_address_t *a;
    model_handshake_t *hs;

    record(h, 2, 1, 1, K_ELSE);
    record(h, 2, 1, 1, K_NEXT);
    a = address_new(h, ADDR, MODEL_ADDR_DANE_FAIL);
    hs = handshake_new(a, MODEL_ADDR_DANE_FAIL, "tlsa-mismatch");
    chain_noroot(hs, 300, 300);
    cert(hs, "CN=Root CA", "CN=Root CA", K_ROOT, C_ROOT, 3000);
}

/* 2 0 0 carries the whole certificate: the server need not send it */
static void b_ta_200(model_domain_t *d)
{
    model_host_t *h = host_new(d, "mx.a.test");
    model_address_t *a;
    model_handshake_t *hs;

    record(h, 2, 0, 0, FULL_ABC);
    record(h, 3, 1, 1, K_NEXT);
    a = address_new(h, ADDR, MODEL_ADDR_DANE_PASS);
    hs = handshake_new(a, MODEL_ADDR_DANE_PASS, NULL);
    matched(hs, 2, 0, 0, 2);
    chain_noroot(hs, 300, 300);
}

/* a SHA-512 DANE-TA record: only OpenSSL's match tells */
static void b_ta_sha512_matched(model_domain_t *d)
{
    model_host_t *h = host_new(d, "mx.a.test");
    model_address_t *a;
    model_handshake_t *hs;

    record(h, 2, 0, 2, D512);
    record(h, 3, 1, 1, K_NEXT);
    a = address_new(h, ADDR, MODEL_ADDR_DANE_PASS);
    hs = handshake_new(a, MODEL_ADDR_DANE_PASS, NULL);
    matched(hs, 2, 0, 2, 1);
    chain_noroot(hs, 300, 300);
}

static void b_ta_sha512_unknown(model_domain_t *d)
{
    model_host_t *h = host_new(d, "mx.a.test");
    model_address_t *a;
    model_handshake_t *hs;

    record(h, 2, 0, 2, D512);
    record(h, 3, 1, 1, K_LEAF);
    a = address_new(h, ADDR, MODEL_ADDR_DANE_PASS);
    hs = handshake_new(a, MODEL_ADDR_DANE_PASS, NULL);
    matched(hs, 3, 1, 1, 0);
    chain_noroot(hs, 300, 300);
}

static void b_ee_expired(model_domain_t *d)
{
    model_host_t *h = host_new(d, "mx.a.test");
    record(h, 3, 1, 1, K_LEAF);
    record(h, 3, 1, 1, K_NEXT);
    serve_ee(h, K_LEAF, -35);
}

static void b_ee_expiring(model_domain_t *d)
{
    model_host_t *h = host_new(d, "mx.a.test");
    record(h, 3, 1, 1, K_LEAF);
    record(h, 3, 1, 1, K_NEXT);
    serve_ee(h, K_LEAF, ADVICE_EXPIRY_DAYS - 1);
}

static void b_ee_fine(model_domain_t *d)
{
    model_host_t *h = host_new(d, "mx.a.test");
    record(h, 3, 1, 1, K_LEAF);
    record(h, 3, 1, 1, K_NEXT);
    serve_ee(h, K_LEAF, ADVICE_EXPIRY_DAYS);
}

static void ta_pass(model_domain_t *d, long leaf_days, long int_days, int depth)
{
    model_host_t *h = host_new(d, "mx.a.test");
    model_address_t *a;
    model_handshake_t *hs;

    record(h, 2, 0, 1, C_INT);
    record(h, 3, 1, 1, K_NEXT);
    a = address_new(h, ADDR, MODEL_ADDR_DANE_PASS);
    hs = handshake_new(a, MODEL_ADDR_DANE_PASS, NULL);
    matched(hs, 2, 0, 1, depth);
    chain_noroot(hs, leaf_days, int_days);
}

static void b_ta_expiring_leaf(model_domain_t *d) { ta_pass(d, 10, 300, 1); }
static void b_ta_expiring_int(model_domain_t *d) { ta_pass(d, 300, 5, 1); }
static void b_ta_fine(model_domain_t *d) { ta_pass(d, ADVICE_EXPIRY_DAYS, 300, 1); }

/* an expired DANE-TA chain already fails: no advice on top */
static void b_ta_expired(model_domain_t *d)
{
    model_host_t *h = host_new(d, "mx.a.test");
    model_address_t *a;
    model_handshake_t *hs;

    record(h, 2, 0, 1, C_INT);
    record(h, 3, 1, 1, K_NEXT);
    a = address_new(h, ADDR, MODEL_ADDR_DANE_FAIL);
    hs = handshake_new(a, MODEL_ADDR_DANE_FAIL, "cert-expired");
    chain_noroot(hs, -3, 300);
}

static void b_cname(model_domain_t *d)
{
    model_host_t *h = host_new(d, "mx.a.test");
    h->cname_target = sdup("mx.provider.test");
    record(h, 3, 1, 1, K_LEAF);
    record(h, 3, 1, 1, K_NEXT);
    serve_ee(h, K_LEAF, 300);
}

static void two_hosts(model_domain_t *d, const char *key2, bool same_records)
{
    model_host_t *h = host_new(d, "mx1.a.test");
    record(h, 3, 1, 1, K_LEAF);
    record(h, 3, 1, 1, K_NEXT);
    serve_ee(h, K_LEAF, 300);
    h = host_new(d, "mx2.a.test");
    record(h, 3, 1, 1, key2);
    record(h, 3, 1, 1, same_records ? K_NEXT : K_ELSE);
    serve_ee(h, key2, 300);
}

static void b_inconsistent(model_domain_t *d) { two_hosts(d, K_LEAF, false); }
static void b_consistent(model_domain_t *d) { two_hosts(d, K_LEAF, true); }
static void b_other_keys(model_domain_t *d) { two_hosts(d, K_INT, false); }

static void b_partial(model_domain_t *d)
{
    model_host_t *h;

    b_two(d);
    h = host_new(d, "mx2.a.test");
    address_new(h, "192.0.2.2", MODEL_ADDR_TLS_ONLY);
}

/* a host senders skip (bogus TLSA) is no fallback */
static void b_partial_bogus(model_domain_t *d)
{
    model_host_t *h;

    b_two(d);
    h = host_new(d, "mx2.a.test");
    h->tlsa.dnssec = MODEL_DNSSEC_BOGUS;
    address_new(h, "192.0.2.2", MODEL_ADDR_SKIPPED);
}

static void b_mx_insecure(model_domain_t *d)
{
    d->mx_dnssec = MODEL_DNSSEC_INSECURE;
    b_two(d);
}

static void b_mx_insecure_nodane(model_domain_t *d)
{
    d->mx_dnssec = MODEL_DNSSEC_INSECURE;
    b_insecure_not_looked_up(d);
}

typedef struct {
    const char *name;
    void (*build)(model_domain_t *d);
    const char *want;           /* "code@host[address] ...", in order */
} advice_case_t;

static const advice_case_t cases[] = {
    {"one record", b_single, "single-tlsa@mx.a.test"},
    {"two records", b_two, ""},
    {"one record, not probed", b_no_probe, "single-tlsa@mx.a.test"},
    {"3 0 1 only", b_cert_selector, "dane-ee-cert-selector@mx.a.test"},
    {"3 0 1 and 3 1 1", b_cert_and_spki, ""},
    {"PKIX next to DANE", b_pkix_mixed, "pkix-usage@mx.a.test"},
    {"PKIX only", b_pkix_only, "pkix-usage@mx.a.test"},
    {"insecure TLSA", b_insecure_tlsa, "tlsa-insecure-zone@mx.a.test"},
    {"insecure, no TLSA", b_insecure_empty, ""},
    {"insecure, not looked up", b_insecure_not_looked_up, ""},
    {"SHA-512 only", b_sha512_only, "tlsa-sha512-only@mx.a.test"},
    {"SHA-512 and SHA-256", b_sha512_with_256, ""},
    {"SHA-512 and full", b_sha512_with_full, "tlsa-full-data@mx.a.test"},
    {"full data", b_full_data, "tlsa-full-data@mx.a.test"},
    {"TTL two days", b_ttl_long, "tlsa-ttl-long@mx.a.test"},
    {"TTL one day", b_ttl_day, ""},
    {"agility: SHA-256 match, no match at all", b_agility_fail, "digest-agility@mx.a.test[" ADDR "]"},
    {"agility: SHA-256 match, DANE-TA passed", b_agility_ta_pass, "digest-agility@mx.a.test[" ADDR "]"},
    {"agility: both digests", b_agility_consistent, ""},
    {"agility: SHA-512 match only", b_agility_reverse, "digest-agility@mx.a.test[" ADDR "]"},
    {"agility: unequal counts", b_agility_counts, "digest-agility@mx.a.test"},
    {"agility: other selector", b_agility_other_selector, "tlsa-sha512-only@mx.a.test"},
    {"TA root not sent", b_ta_missing, "ta-not-served@mx.a.test[" ADDR "]"},
    {"TA 2 1 0 not sent (RULES A3: fine)", b_ta_210, ""},
    {"TA backup not sent", b_ta_backup_missing, "ta-not-served@mx.a.test[" ADDR "]"},
    {"TA intermediate sent", b_ta_int_served, ""},
    {"TA chain complete, other CA", b_ta_complete_chain, ""},
    {"TA 2 0 0", b_ta_200, ""},
    {"TA SHA-512 matched", b_ta_sha512_matched, "tlsa-sha512-only@mx.a.test"},
    {"TA SHA-512 undecided", b_ta_sha512_unknown, "tlsa-sha512-only@mx.a.test"},
    {"EE expired", b_ee_expired, "cert-expired-dane-ee@mx.a.test[" ADDR "]"},
    {"EE expiring", b_ee_expiring, "cert-expiring-dane-ee@mx.a.test[" ADDR "]"},
    {"EE not yet", b_ee_fine, ""},
    {"TA leaf expiring", b_ta_expiring_leaf, "cert-expiring-dane-ta@mx.a.test[" ADDR "]"},
    {"TA intermediate expiring", b_ta_expiring_int, "cert-expiring-dane-ta@mx.a.test[" ADDR "]"},
    {"TA not yet", b_ta_fine, ""},
    {"TA expired", b_ta_expired, ""},
    {"CNAME", b_cname, "mx-is-cname@mx.a.test"},
    {"same key, other records", b_inconsistent, "tlsa-inconsistent@mx2.a.test"},
    {"same key, same records", b_consistent, ""},
    {"other keys, other records", b_other_keys, ""},
    {"DANE and no DANE", b_partial, "partial-deployment"},
    {"DANE and a bogus TLSA host", b_partial_bogus, ""},
    {"MX unsigned", b_mx_insecure, "mx-insecure"},
    {"MX unsigned, no DANE", b_mx_insecure_nodane, ""},
};

/* docs/findings.md */
static const struct {
    const char *code;
    model_severity_t severity;
} severities[] = {
    {"single-tlsa", MODEL_SEVERITY_INFO},
    {"dane-ee-cert-selector", MODEL_SEVERITY_INFO},
    {"pkix-usage", MODEL_SEVERITY_WARNING},
    {"tlsa-sha512-only", MODEL_SEVERITY_INFO},
    {"tlsa-full-data", MODEL_SEVERITY_INFO},
    {"tlsa-ttl-long", MODEL_SEVERITY_INFO},
    {"digest-agility", MODEL_SEVERITY_WARNING},
    {"ta-not-served", MODEL_SEVERITY_WARNING},
    {"cert-expired-dane-ee", MODEL_SEVERITY_INFO},
    {"cert-expiring-dane-ee", MODEL_SEVERITY_INFO},
    {"cert-expiring-dane-ta", MODEL_SEVERITY_WARNING},
    {"mx-is-cname", MODEL_SEVERITY_WARNING},
    {"tlsa-inconsistent", MODEL_SEVERITY_WARNING},
    {"tlsa-insecure-zone", MODEL_SEVERITY_WARNING},
    {"mx-insecure", MODEL_SEVERITY_WARNING},
    {"partial-deployment", MODEL_SEVERITY_WARNING},
};

static int severity_of(const char *code)
{
    for (size_t i = 0; i < sizeof(severities) / sizeof(severities[0]); i++)
        if (strcmp(severities[i].code, code) == 0)
            return (int)severities[i].severity;
    return -1;
}

static void run_case(const advice_case_t *c)
{
    model_domain_t *d = domain_new(MODEL_DNSSEC_SECURE);
    model_host_status_t before[16];
    model_verdict_t verdict;
    char got[2048] = "";
    size_t used = 0;

    c->build(d);
    for (size_t i = 0; i < d->n_hosts && i < 16; i++)
        before[i] = model_host_status(&d->hosts[i]);
    verdict = model_domain_verdict(d);
    CHECK_INT(c->name, advice_domain(d), 0);
    for (size_t i = 0; i < d->n_findings; i++) {
        const model_finding_t *f = &d->findings[i];
        int n = snprintf(got + used, sizeof(got) - used, "%s%s%s%s%s%s%s", i ? " " : "", f->code,
                         f->host ? "@" : "", f->host ? f->host : "", f->address ? "[" : "",
                         f->address ? f->address : "", f->address ? "]" : "");
        if (n > 0 && (size_t)n < sizeof(got) - used)
            used += (size_t)n;
        CHECK(severity_of(f->code) == (int)f->severity, "%s: %s has severity %s, want %d",
              c->name, f->code, model_severity_name(f->severity), severity_of(f->code));
        CHECK(f->message != NULL && strlen(f->message) > 20, "%s: %s without a message",
              c->name, f->code);
    }
    CHECK_STR(c->name, got, c->want);
    /* advice never changes what was concluded */
    CHECK_INT(c->name, model_domain_verdict(d), verdict);
    for (size_t i = 0; i < d->n_hosts && i < 16; i++)
        CHECK_INT(c->name, model_host_status(&d->hosts[i]), before[i]);
    model_domain_free(d);
}

/* advice_finding appends; a host-less finding has neither host nor address */
static void test_finding_append(void)
{
    model_domain_t *d = domain_new(MODEL_DNSSEC_SECURE);

    CHECK_INT("append", advice_finding(d, MODEL_SEVERITY_INFO, "x-code", NULL, NULL, "%d+%d", 1, 2), 0);
    CHECK_INT("append", advice_finding(d, MODEL_SEVERITY_CRITICAL, "y-code", "h", "a", "z"), 0);
    CHECK_INT("findings", d->n_findings, 2);
    if (d->n_findings == 2) {
        CHECK_STR("message", d->findings[0].message, "1+2");
        CHECK(d->findings[0].host == NULL && d->findings[0].address == NULL,
              "a domain-wide finding got a host or an address");
        CHECK_STR("host", d->findings[1].host, "h");
        CHECK_STR("address", d->findings[1].address, "a");
        CHECK_INT("severity", d->findings[1].severity, MODEL_SEVERITY_CRITICAL);
    }
    model_domain_free(d);
}

int main(void)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        run_case(&cases[i]);
    test_finding_append();
    return check_summary();
}
