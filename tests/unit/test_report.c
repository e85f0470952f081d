/* test_report.c - the JSON and text reporters over model trees built here:
 * every fixture goes through report_json_domain (field checks as
 * {fixture, path, want} rows), report_json_write (one ASCII line that
 * parses back) and report_text_write (key sentences as rows).
 *
 * With `--emit DIR` it also writes each fixture's JSON line to
 * DIR/<fixture>.json and the vocabularies to DIR/vocabulary.txt, for
 * test_schema.py to validate against report/schema.json.
 */
#include "check.h"
#include "json.h"
#include "model.h"
#include "text.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ---- building model trees --------------------------------------------- */

static char *sdup(const char *s)
{
    return s != NULL ? strdup(s) : NULL;
}

static char **strv(size_t n, ...)
{
    char **v = calloc(n + 1, sizeof(*v));
    va_list ap;

    va_start(ap, n);
    for (size_t i = 0; i < n; i++)
        v[i] = sdup(va_arg(ap, const char *));
    va_end(ap);
    return v;
}

static model_domain_t *domain_new(const char *name, model_mx_outcome_t outcome,
                                  model_dnssec_t mx_dnssec, size_t n_hosts)
{
    model_domain_t *d = calloc(1, sizeof(*d));

    d->domain = sdup(name);
    d->mx_outcome = outcome;
    d->mx_dnssec = mx_dnssec;
    d->probed = true;
    d->n_hosts = n_hosts;
    d->hosts = calloc(n_hosts + 1, sizeof(*d->hosts));
    return d;
}

static model_host_t *host_init(model_domain_t *d, size_t i, const char *name, int preference,
                               model_dnssec_t dnssec, size_t n_addresses)
{
    model_host_t *h = &d->hosts[i];

    h->name = sdup(name);
    h->preference = preference;
    h->dnssec = dnssec;
    h->n_addresses = n_addresses;
    h->addresses = calloc(n_addresses + 1, sizeof(*h->addresses));
    return h;
}

static void tlsa_init(model_host_t *h, const char *base, model_dnssec_t dnssec, size_t n)
{
    char qname[300];

    snprintf(qname, sizeof(qname), "_25._tcp.%s", base);
    h->tlsa.looked_up = true;
    h->tlsa.base_domain = sdup(base);
    h->tlsa.qname = sdup(qname);
    h->tlsa.dnssec = dnssec;
    h->tlsa.n_records = n;
    h->tlsa.records = calloc(n + 1, sizeof(*h->tlsa.records));
}

static void record_set(model_host_t *h, size_t i, uint8_t usage, uint8_t selector,
                       uint8_t mtype, const char *hex, const char *unusable_reason)
{
    model_tlsa_record_t *r = &h->tlsa.records[i];

    r->usage = usage;
    r->selector = selector;
    r->mtype = mtype;
    r->data_hex = sdup(hex);
    r->usable = unusable_reason == NULL;
    r->unusable_reason = sdup(unusable_reason);
}

static model_address_t *address_init(model_host_t *h, size_t i, const char *address,
                                     model_addr_result_t result, const char *reason)
{
    model_address_t *a = &h->addresses[i];

    a->address = sdup(address);
    a->result = result;
    a->reason = sdup(reason);
    return a;
}

static void smtp_set(model_address_t *a, bool starttls, const char *banner)
{
    a->starttls = starttls;
    a->banner = sdup(banner);
    a->ehlo = strv(4, "PIPELINING", "SIZE 10240000", "8BITMIME", starttls ? "STARTTLS" : "DSN");
    a->n_ehlo = 4;
    if (starttls) {
        a->ehlo_tls = strv(3, "PIPELINING", "SIZE 10240000", "8BITMIME");
        a->n_ehlo_tls = 3;
    }
}

static model_handshake_t *handshake_init(model_address_t *a, size_t i, const char *cert_type,
                                         model_addr_result_t result, const char *reason,
                                         const char *version, const char *cipher,
                                         const char *group)
{
    model_handshake_t *hs = &a->handshakes[i];

    hs->cert_type = sdup(cert_type);
    hs->result = result;
    hs->reason = sdup(reason);
    hs->tls_version = sdup(version);
    hs->cipher = sdup(cipher);
    hs->group = sdup(group);
    return hs;
}

static void handshake_match(model_handshake_t *hs, uint8_t usage, uint8_t selector,
                            uint8_t mtype, int depth)
{
    hs->matched = true;
    hs->matched_usage = usage;
    hs->matched_selector = selector;
    hs->matched_mtype = mtype;
    hs->matched_depth = depth;
}

/* A one-certificate chain: the leaf. */
static void leaf_set(model_handshake_t *hs, const char *name, const char *key_type, int bits,
                     long days, char hexdigit)
{
    model_cert_t *c;
    char subject[300], spki[65], cert[65];

    snprintf(subject, sizeof(subject), "CN=%s", name);
    memset(spki, hexdigit, 64);
    spki[64] = '\0';
    memset(cert, 'f', 64);
    cert[0] = hexdigit;
    cert[64] = '\0';
    hs->n_chain = 1;
    hs->chain = c = calloc(1, sizeof(*c));
    c->subject = sdup(subject);
    c->issuer = sdup(subject);
    c->sans = strv(1, name);
    c->n_sans = 1;
    c->not_before = sdup("2026-01-01T00:00:00Z");
    c->not_after = sdup("2026-04-01T00:00:00Z");
    c->key_type = sdup(key_type);
    c->key_bits = bits;
    c->spki_sha256 = sdup(spki);
    c->cert_sha256 = sdup(cert);
    c->days_to_expiry = days;
}

static void finding_add(model_domain_t *d, const char *code, model_severity_t severity,
                        const char *message, const char *host, const char *address)
{
    model_finding_t *f;

    d->findings = realloc(d->findings, (d->n_findings + 1) * sizeof(*d->findings));
    f = &d->findings[d->n_findings++];
    f->code = sdup(code);
    f->severity = severity;
    f->message = sdup(message);
    f->host = sdup(host);
    f->address = sdup(address);
}

/* The scanner's last step: statuses and verdict by DESIGN.md's rules. */
static model_domain_t *judge(model_domain_t *d)
{
    for (size_t i = 0; i < d->n_hosts; i++)
        d->hosts[i].status = model_host_status(&d->hosts[i]);
    d->verdict = model_domain_verdict(d);
    return d;
}

#define KEY1 "8a3c5d1e2f40b16c7d9e0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f"
#define KEY2 "1b2c3d4e5f60718293a4b5c6d7e8f90a8a3c5d1e2f40b16c7d9e0a1b2c3d4e5f"

/* DANE-EE, two usable records and a PKIX one, two addresses, full TLS. */
static model_domain_t *fixture_dane_valid(void)
{
    model_domain_t *d = domain_new("dane-ee.test", MODEL_MX_FOUND, MODEL_DNSSEC_SECURE, 1);
    model_host_t *h = host_init(d, 0, "mx.dane-ee.test", 10, MODEL_DNSSEC_SECURE, 2);
    model_address_t *a;
    model_handshake_t *hs;

    tlsa_init(h, "mx.dane-ee.test", MODEL_DNSSEC_SECURE, 3);
    record_set(h, 0, 3, 1, 1, KEY1, NULL);
    record_set(h, 1, 3, 1, 1, KEY2, NULL);
    record_set(h, 2, 0, 0, 1, KEY2, "PKIX-TA(0) is unusable for SMTP (RFC 7672 3.1.3)");
    h->addresses_cut = 1;
    a = address_init(h, 0, "192.0.2.1", MODEL_ADDR_DANE_PASS, NULL);
    smtp_set(a, true, "mx.dane-ee.test ESMTP Postfix (Debian/GNU)");
    a->n_handshakes = 1;
    a->handshakes = calloc(1, sizeof(*a->handshakes));
    hs = handshake_init(a, 0, "any", MODEL_ADDR_DANE_PASS, NULL, "TLSv1.3",
                        "TLS_AES_256_GCM_SHA384", "x25519");
    handshake_match(hs, 3, 1, 1, 0);
    leaf_set(hs, "mx.dane-ee.test", "EC P-256", 256, 80, '8');
    a->ms_connect = 0.1234567;
    a->ms_banner = 1.5;
    a->ms_ehlo = 0.75;
    a->ms_starttls = 0.5;
    a->ms_handshake = 2.25;
    a = address_init(h, 1, "2001:db8::25", MODEL_ADDR_DANE_PASS, NULL);
    smtp_set(a, true, "mx.dane-ee.test ESMTP");
    a->n_handshakes = 1;
    a->handshakes = calloc(1, sizeof(*a->handshakes));
    hs = handshake_init(a, 0, "any", MODEL_ADDR_DANE_PASS, NULL, "TLSv1.3",
                        "TLS_AES_128_GCM_SHA256", "x25519");
    handshake_match(hs, 3, 1, 1, 0);
    leaf_set(hs, "mx.dane-ee.test", "EC P-256", 256, 80, '8');
    return judge(d);
}

/* RULES A7: the ECDSA certificate matches, the RSA one does not. */
static model_domain_t *fixture_dane_fail(void)
{
    model_domain_t *d = domain_new("dual-cert.test", MODEL_MX_FOUND, MODEL_DNSSEC_SECURE, 1);
    model_host_t *h = host_init(d, 0, "mx.dual-cert.test", 10, MODEL_DNSSEC_SECURE, 1);
    model_address_t *a;
    model_handshake_t *hs;

    tlsa_init(h, "mx.dual-cert.test", MODEL_DNSSEC_SECURE, 1);
    record_set(h, 0, 3, 1, 1, KEY1, NULL);
    a = address_init(h, 0, "192.0.2.11", MODEL_ADDR_DANE_FAIL, "tlsa-mismatch");
    smtp_set(a, true, "mx.dual-cert.test ESMTP");
    a->n_handshakes = 2;
    a->handshakes = calloc(2, sizeof(*a->handshakes));
    hs = handshake_init(a, 0, "ecdsa", MODEL_ADDR_DANE_PASS, NULL, "TLSv1.3",
                        "TLS_AES_256_GCM_SHA384", "x25519");
    handshake_match(hs, 3, 1, 1, 0);
    leaf_set(hs, "mx.dual-cert.test", "EC P-256", 256, 80, '8');
    hs = handshake_init(a, 1, "rsa", MODEL_ADDR_DANE_FAIL, "tlsa-mismatch", "TLSv1.2",
                        "ECDHE-RSA-AES256-GCM-SHA384", "x25519");
    leaf_set(hs, "mx.dual-cert.test", "RSA", 2048, -3, 'c');
    finding_add(d, "tlsa-mismatch", MODEL_SEVERITY_CRITICAL,
                "the rsa certificate matches no TLSA record", "mx.dual-cert.test",
                "192.0.2.11");
    return judge(d);
}

static model_domain_t *fixture_invalid(void)
{
    model_domain_t *d = calloc(1, sizeof(*d));

    d->input = sdup("exa mple..com");
    d->error = sdup("empty label");
    return judge(d);
}

static model_domain_t *fixture_nxdomain(void)
{
    return judge(domain_new("nx.dane.test", MODEL_MX_NXDOMAIN, MODEL_DNSSEC_SECURE, 0));
}

static model_domain_t *fixture_null_mx(void)
{
    return judge(domain_new("null-mx.test", MODEL_MX_NULL, MODEL_DNSSEC_SECURE, 0));
}

static model_domain_t *fixture_dns_error(void)
{
    model_domain_t *d = domain_new("servfail.test", MODEL_MX_FAILED,
                                   MODEL_DNSSEC_INDETERMINATE, 0);

    d->mx_reason = sdup("SERVFAIL");
    return judge(d);
}

/* --no-probe: a DANE host whose addresses were skipped, and an insecure
 * host with no TLSA lookup (D4). */
static model_domain_t *fixture_no_probe(void)
{
    model_domain_t *d = domain_new("no-probe.test", MODEL_MX_FOUND, MODEL_DNSSEC_SECURE, 2);
    model_host_t *h = host_init(d, 0, "mx1.no-probe.test", 10, MODEL_DNSSEC_SECURE, 2);

    d->probed = false;
    tlsa_init(h, "mx1.no-probe.test", MODEL_DNSSEC_SECURE, 1);
    record_set(h, 0, 3, 1, 1, KEY1, NULL);
    address_init(h, 0, "192.0.2.40", MODEL_ADDR_SKIPPED, NULL);
    address_init(h, 1, "2001:db8::40", MODEL_ADDR_SKIPPED, "--no-probe");
    h = host_init(d, 1, "mx2.insecure.example", 20, MODEL_DNSSEC_INSECURE, 1);
    h->dnssec_reason = sdup("insecure delegation");
    h->tlsa.reason = sdup("addresses not secure");
    address_init(h, 0, "192.0.2.41", MODEL_ADDR_SKIPPED, NULL);
    return judge(d);
}

/* Strings that must not break the line: quotes, backslashes, and bytes a
 * probe should have censored but did not (invalid UTF-8, ESC). */
static model_domain_t *fixture_hostile(void)
{
    model_domain_t *d = domain_new("hostile.test", MODEL_MX_FOUND, MODEL_DNSSEC_SECURE, 1);
    model_host_t *h = host_init(d, 0, "mx.hostile.test", 10, MODEL_DNSSEC_SECURE, 1);
    model_address_t *a;

    tlsa_init(h, "mx.hostile.test", MODEL_DNSSEC_SECURE, 1);
    record_set(h, 0, 3, 1, 1, KEY1, NULL);
    a = address_init(h, 0, "192.0.2.66", MODEL_ADDR_NO_STARTTLS, NULL);
    smtp_set(a, false, "evil \"quoted\" \\back\\slash \xe9t\xe9 \xff\x1b[31mred");
    free(a->ehlo[3]);
    a->ehlo[3] = sdup("X-\"Q\"\\\n");
    finding_add(d, "starttls-missing", MODEL_SEVERITY_WARNING,
                "banner says \"hi\" \\ and caf\xc3\xa9", "mx.hostile.test", NULL);
    return judge(d);
}

/* DANE published, nothing failed, some addresses unreachable; the MX host
 * is an alias and authenticates through a trust anchor. */
static model_domain_t *fixture_unreached(void)
{
    model_domain_t *d = domain_new("unreached.test", MODEL_MX_FOUND, MODEL_DNSSEC_SECURE, 1);
    model_host_t *h = host_init(d, 0, "mx.unreached.test", 5, MODEL_DNSSEC_SECURE, 4);
    model_address_t *a;
    model_handshake_t *hs;

    h->cname_target = sdup("mail.hoster.example");
    tlsa_init(h, "mail.hoster.example", MODEL_DNSSEC_SECURE, 1);
    record_set(h, 0, 2, 1, 1, KEY2, NULL);
    a = address_init(h, 0, "192.0.2.20", MODEL_ADDR_DANE_PASS, NULL);
    smtp_set(a, true, "mail.hoster.example ESMTP");
    a->n_handshakes = 1;
    a->handshakes = calloc(1, sizeof(*a->handshakes));
    hs = handshake_init(a, 0, "any", MODEL_ADDR_DANE_PASS, NULL, "TLSv1.3",
                        "TLS_AES_256_GCM_SHA384", NULL);
    handshake_match(hs, 2, 1, 1, 1);
    leaf_set(hs, "mail.hoster.example", "RSA", 2048, 12, 'a');
    a = address_init(h, 1, "192.0.2.21", MODEL_ADDR_CONNECT_FAILED, "connection refused");
    a->ms_connect = 0.25;
    address_init(h, 2, "127.0.0.1", MODEL_ADDR_BLOCKED, "loopback");
    a = address_init(h, 3, "192.0.2.22", MODEL_ADDR_TIMEOUT, "banner");
    a->ms_connect = 1;
    return judge(d);
}

/* RFC 5321 §5.1: no MX, the domain is its own host; unsigned: TLS only. */
static model_domain_t *fixture_implicit(void)
{
    model_domain_t *d = domain_new("implicit.test", MODEL_MX_IMPLICIT, MODEL_DNSSEC_INSECURE, 1);
    model_host_t *h = host_init(d, 0, "implicit.test", -1, MODEL_DNSSEC_INSECURE, 1);
    model_address_t *a = address_init(h, 0, "192.0.2.30", MODEL_ADDR_TLS_ONLY, NULL);

    smtp_set(a, true, "implicit.test ESMTP");
    a->n_handshakes = 1;
    a->handshakes = calloc(1, sizeof(*a->handshakes));
    handshake_init(a, 0, "any", MODEL_ADDR_TLS_ONLY, NULL, "TLSv1.2",
                   "ECDHE-RSA-AES128-GCM-SHA256", "secp256r1");
    return judge(d);
}

static const struct {
    const char *name;
    model_domain_t *(*build)(void);
    const char *verdict;        /* what judge() must say: checks the fixture */
} fixtures[] = {
    {"dane-valid", fixture_dane_valid, "dane-valid"},
    {"dane-fail", fixture_dane_fail, "dane-invalid"},
    {"invalid", fixture_invalid, "invalid-input"},
    {"nxdomain", fixture_nxdomain, "nxdomain"},
    {"null-mx", fixture_null_mx, "null-mx"},
    {"dns-error", fixture_dns_error, "dns-error"},
    {"no-probe", fixture_no_probe, "dane-partial"},
    {"hostile", fixture_hostile, "dane-invalid"},
    {"unreached", fixture_unreached, "dane-incomplete"},
    {"implicit", fixture_implicit, "insecure"},
};

#define N_FIXTURES (sizeof(fixtures) / sizeof(fixtures[0]))

/* ---- JSON ------------------------------------------------------------------ */

/* The node at a dotted path ("mx.0.tlsa.records.1.usable"), or NULL. */
static json_t *at(json_t *j, const char *path)
{
    char buf[256], *save = NULL;

    snprintf(buf, sizeof(buf), "%s", path);
    for (char *key = strtok_r(buf, ".", &save); key != NULL && j != NULL;
         key = strtok_r(NULL, ".", &save))
        j = json_is_array(j) ? json_array_get(j, strtoul(key, NULL, 10))
                             : json_object_get(j, key);
    return j;
}

/* want: the node as compact JSON text, or NULL when it must be absent. */
static const struct {
    const char *fixture, *path, *want;
} json_rows[] = {
    {"dane-valid", "schema_version", "1"},
    {"dane-valid", "domain", "\"dane-ee.test\""},
    {"dane-valid", "verdict", "\"dane-valid\""},
    {"dane-valid", "probed", "true"},
    {"dane-valid", "mx_dnssec", "\"secure\""},
    {"dane-valid", "mx_reason", NULL},
    {"dane-valid", "hosts_cut", NULL},
    {"dane-valid", "findings", "[]"},
    {"dane-valid", "mx.0.host", "\"mx.dane-ee.test\""},
    {"dane-valid", "mx.0.preference", "10"},
    {"dane-valid", "mx.0.implicit", NULL},
    {"dane-valid", "mx.0.dnssec", "\"secure\""},
    {"dane-valid", "mx.0.status", "\"dane\""},
    {"dane-valid", "mx.0.addresses_cut", "1"},
    {"dane-valid", "mx.0.tlsa.base_domain", "\"mx.dane-ee.test\""},
    {"dane-valid", "mx.0.tlsa.qname", "\"_25._tcp.mx.dane-ee.test\""},
    {"dane-valid", "mx.0.tlsa.dnssec", "\"secure\""},
    {"dane-valid", "mx.0.tlsa.looked_up", "true"},
    {"dane-valid", "mx.0.tlsa.lookup_failed", "false"},
    {"dane-valid", "mx.0.tlsa.records.0",
     "{\"usage\":3,\"selector\":1,\"mtype\":1,\"data\":\"" KEY1 "\",\"usable\":true}"},
    {"dane-valid", "mx.0.tlsa.records.2.usable", "false"},
    {"dane-valid", "mx.0.tlsa.records.2.unusable_reason",
     "\"PKIX-TA(0) is unusable for SMTP (RFC 7672 3.1.3)\""},
    {"dane-valid", "mx.0.addresses.0.address", "\"192.0.2.1\""},
    {"dane-valid", "mx.0.addresses.0.result", "\"dane-pass\""},
    {"dane-valid", "mx.0.addresses.0.reason", NULL},
    {"dane-valid", "mx.0.addresses.0.starttls", "true"},
    {"dane-valid", "mx.0.addresses.0.tls",
     "{\"version\":\"TLSv1.3\",\"cipher\":\"TLS_AES_256_GCM_SHA384\",\"group\":\"x25519\"}"},
    {"dane-valid", "mx.0.addresses.0.matched",
     "{\"usage\":3,\"selector\":1,\"mtype\":1,\"depth\":0}"},
    {"dane-valid", "mx.0.addresses.0.certificate.subject", "\"CN=mx.dane-ee.test\""},
    {"dane-valid", "mx.0.addresses.0.certificate.sans", "[\"mx.dane-ee.test\"]"},
    {"dane-valid", "mx.0.addresses.0.certificate.not_after", "\"2026-04-01T00:00:00Z\""},
    {"dane-valid", "mx.0.addresses.0.certificate.key_type", "\"EC P-256\""},
    {"dane-valid", "mx.0.addresses.0.certificate.key_bits", "256"},
    {"dane-valid", "mx.0.addresses.0.certificate.days_to_expiry", "80"},
    {"dane-valid", "mx.0.addresses.0.certificate.spki_sha256",
     "\"8888888888888888888888888888888888888888888888888888888888888888\""},
    {"dane-valid", "mx.0.addresses.0.banner", "\"mx.dane-ee.test ESMTP Postfix (Debian/GNU)\""},
    {"dane-valid", "mx.0.addresses.0.ehlo.3", "\"STARTTLS\""},
    {"dane-valid", "mx.0.addresses.0.ehlo_tls", "[\"PIPELINING\",\"SIZE 10240000\",\"8BITMIME\"]"},
    {"dane-valid", "mx.0.addresses.0.handshakes.0.cert_type", "\"any\""},
    {"dane-valid", "mx.0.addresses.0.handshakes.0.chain.0.issuer", "\"CN=mx.dane-ee.test\""},
    {"dane-valid", "mx.0.addresses.0.timings",
     "{\"connect\":0.123,\"banner\":1.5,\"ehlo\":0.75,\"starttls\":0.5,\"handshake\":2.25}"},
    {"dane-valid", "mx.0.addresses.1.address", "\"2001:db8::25\""},
    {"dane-valid", "mx.0.addresses.1.timings", NULL},

    {"dane-fail", "verdict", "\"dane-invalid\""},
    {"dane-fail", "mx.0.addresses.0.result", "\"dane-fail\""},
    {"dane-fail", "mx.0.addresses.0.reason", "\"tlsa-mismatch\""},
    {"dane-fail", "mx.0.addresses.0.matched", NULL},
    {"dane-fail", "mx.0.addresses.0.tls.version", "\"TLSv1.3\""},
    {"dane-fail", "mx.0.addresses.0.certificate.key_type", "\"EC P-256\""},
    {"dane-fail", "mx.0.addresses.0.handshakes.0.cert_type", "\"ecdsa\""},
    {"dane-fail", "mx.0.addresses.0.handshakes.0.result", "\"dane-pass\""},
    {"dane-fail", "mx.0.addresses.0.handshakes.0.matched.depth", "0"},
    {"dane-fail", "mx.0.addresses.0.handshakes.1.cert_type", "\"rsa\""},
    {"dane-fail", "mx.0.addresses.0.handshakes.1.result", "\"dane-fail\""},
    {"dane-fail", "mx.0.addresses.0.handshakes.1.reason", "\"tlsa-mismatch\""},
    {"dane-fail", "mx.0.addresses.0.handshakes.1.matched", NULL},
    {"dane-fail", "mx.0.addresses.0.handshakes.1.tls.version", "\"TLSv1.2\""},
    {"dane-fail", "mx.0.addresses.0.handshakes.1.chain.0.days_to_expiry", "-3"},
    {"dane-fail", "findings.0",
     "{\"code\":\"tlsa-mismatch\",\"severity\":\"critical\","
     "\"message\":\"the rsa certificate matches no TLSA record\","
     "\"host\":\"mx.dual-cert.test\",\"address\":\"192.0.2.11\"}"},

    {"invalid", "schema_version", "1"},
    {"invalid", "input", "\"exa mple..com\""},
    {"invalid", "verdict", "\"invalid-input\""},
    {"invalid", "error", "\"empty label\""},
    {"invalid", "domain", NULL},
    {"invalid", "mx", NULL},
    {"invalid", "findings", NULL},

    {"nxdomain", "verdict", "\"nxdomain\""},
    {"nxdomain", "mx_dnssec", "\"secure\""},
    {"nxdomain", "mx", "[]"},
    {"nxdomain", "findings", "[]"},
    {"null-mx", "verdict", "\"null-mx\""},
    {"null-mx", "mx", "[]"},
    {"dns-error", "verdict", "\"dns-error\""},
    {"dns-error", "mx_dnssec", "\"indeterminate\""},
    {"dns-error", "mx_reason", "\"SERVFAIL\""},

    {"no-probe", "probed", "false"},
    {"no-probe", "verdict", "\"dane-partial\""},
    {"no-probe", "mx.0.status", "\"dane\""},
    {"no-probe", "mx.0.addresses.0", "{\"address\":\"192.0.2.40\",\"result\":\"skipped\"}"},
    {"no-probe", "mx.0.addresses.1.reason", "\"--no-probe\""},
    {"no-probe", "mx.1.status", "\"insecure\""},
    {"no-probe", "mx.1.dnssec", "\"insecure\""},
    {"no-probe", "mx.1.dnssec_reason", "\"insecure delegation\""},
    {"no-probe", "mx.1.tlsa",
     "{\"looked_up\":false,\"reason\":\"addresses not secure\",\"records\":[]}"},

    /* censored byte for byte ('?'), never dropped */
    {"hostile", "mx.0.addresses.0.banner",
     "\"evil \\\"quoted\\\" \\\\back\\\\slash ?t? ??[31mred\""},
    {"hostile", "mx.0.addresses.0.ehlo.3", "\"X-\\\"Q\\\"\\\\?\""},
    {"hostile", "mx.0.addresses.0.starttls", "false"},
    {"hostile", "mx.0.addresses.0.result", "\"no-starttls\""},
    {"hostile", "mx.0.addresses.0.ehlo_tls", NULL},
    {"hostile", "mx.0.addresses.0.tls", NULL},
    {"hostile", "mx.0.addresses.0.handshakes", NULL},
    {"hostile", "findings.0.message", "\"banner says \\\"hi\\\" \\\\ and caf??\""},
    {"hostile", "findings.0.address", NULL},

    {"unreached", "verdict", "\"dane-incomplete\""},
    {"unreached", "mx.0.cname_target", "\"mail.hoster.example\""},
    {"unreached", "mx.0.tlsa.base_domain", "\"mail.hoster.example\""},
    {"unreached", "mx.0.addresses.0.matched",
     "{\"usage\":2,\"selector\":1,\"mtype\":1,\"depth\":1}"},
    {"unreached", "mx.0.addresses.0.tls",
     "{\"version\":\"TLSv1.3\",\"cipher\":\"TLS_AES_256_GCM_SHA384\"}"},
    {"unreached", "mx.0.addresses.1",
     "{\"address\":\"192.0.2.21\",\"result\":\"connect-failed\","
     "\"reason\":\"connection refused\",\"timings\":{\"connect\":0.25}}"},
    {"unreached", "mx.0.addresses.2",
     "{\"address\":\"127.0.0.1\",\"result\":\"blocked\",\"reason\":\"loopback\"}"},
    {"unreached", "mx.0.addresses.3.reason", "\"banner\""},

    {"implicit", "verdict", "\"insecure\""},
    {"implicit", "mx.0.preference", "0"},
    {"implicit", "mx.0.implicit", "true"},
    {"implicit", "mx.0.status", "\"insecure\""},
    {"implicit", "mx.0.addresses.0.result", "\"tls-only\""},
    {"implicit", "mx.0.addresses.0.tls.group", "\"secp256r1\""},
    {"implicit", "mx.0.addresses.0.matched", NULL},
    {"implicit", "mx.0.addresses.0.certificate", NULL},
};

static int fixture_index(const char *name)
{
    for (size_t i = 0; i < N_FIXTURES; i++)
        if (strcmp(fixtures[i].name, name) == 0)
            return (int)i;
    return -1;
}

static void check_json_rows(json_t *const *reports)
{
    const size_t flags = JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(10);
    char what[300];

    for (size_t i = 0; i < sizeof(json_rows) / sizeof(json_rows[0]); i++) {
        int f = fixture_index(json_rows[i].fixture);
        json_t *node = f < 0 ? NULL : at(reports[f], json_rows[i].path);
        char *got = node != NULL ? json_dumps(node, flags) : NULL;

        snprintf(what, sizeof(what), "%s: %s", json_rows[i].fixture, json_rows[i].path);
        CHECK(f >= 0, "%s: no such fixture", what);
        CHECK_STR(what, got, json_rows[i].want);
        free(got);
    }
}

/* report_json_write: one line, printable ASCII, that parses back into
 * the same tree; and nowhere a null. */
static void check_json_line(const char *name, const model_domain_t *d, json_t *report)
{
    char *buf = NULL;
    size_t len = 0, newlines = 0, unprintable = 0;
    FILE *mem = open_memstream(&buf, &len);
    json_error_t err;
    json_t *back;

    CHECK_INT(name, report_json_write(mem, d), 0);
    fclose(mem);
    for (size_t i = 0; i < len; i++) {
        if (buf[i] == '\n')
            newlines++;
        else if ((unsigned char)buf[i] < 0x20 || (unsigned char)buf[i] > 0x7e)
            unprintable++;
    }
    CHECK(len > 0 && buf[len - 1] == '\n', "%s: line does not end in a newline", name);
    CHECK_INT("newlines", newlines, 1);
    CHECK_INT("unprintable bytes", unprintable, 0);
    CHECK(strstr(buf, ":null") == NULL && strstr(buf, "[null") == NULL &&
              strstr(buf, ",null") == NULL,
          "%s: a null in %s", name, buf);
    back = json_loads(buf, 0, &err);
    CHECK(back != NULL, "%s: line does not parse: %s", name, err.text);
    CHECK(json_equal(back, report), "%s: line parses into another tree", name);
    json_decref(back);
    free(buf);
}

static void emit(const char *dir, const char *name, const model_domain_t *d)
{
    char path[4096];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s.json", dir, name);
    f = fopen(path, "w");
    CHECK(f != NULL, "%s: cannot create", path);
    if (f == NULL)
        return;
    CHECK_INT(path, report_json_write(f, d), 0);
    fclose(f);
}

/* ---- text ------------------------------------------------------------------ */

static char *text_of(const model_domain_t *d, bool color)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);

    CHECK_INT("report_text_write", report_text_write(mem, d, color), 0);
    fclose(mem);
    return buf;
}

/* want: a sentence the report must contain (or, with absent, must not). */
static const struct {
    const char *fixture;
    bool color, absent;
    const char *want;
} text_rows[] = {
    {"dane-valid", false, false, "dane-ee.test: DANE valid - every MX host authenticates with DANE\n"},
    {"dane-valid", false, false, "  MX lookup: DNSSEC secure\n"},
    {"dane-valid", false, false,
     "  MX 10 mx.dane-ee.test: DANE; addresses secure; TLSA at _25._tcp.mx.dane-ee.test "
     "(secure): 3 1 1 8a3c5d1e...(usable), 3 1 1 1b2c3d4e...(usable), "
     "0 0 1 1b2c3d4e...(unusable: PKIX-TA(0) is unusable for SMTP (RFC 7672 3.1.3))\n"},
    {"dane-valid", false, false,
     "    mx.dane-ee.test[192.0.2.1]: TLSA 3 1 1 matched the server's public key (depth 0)\n"},
    {"dane-valid", false, false,
     "      TLSv1.3 TLS_AES_256_GCM_SHA384 x25519; certificate CN=mx.dane-ee.test, EC P-256, "
     "expires 2026-04-01T00:00:00Z (in 80 days)\n"},
    {"dane-valid", false, false, "    1 more address(es) not checked (per-host limit)\n"},
    {"dane-valid", false, true, "\033"},
    {"dane-valid", true, false, "dane-ee.test: \033[32mDANE valid\033[0m - "},
    {"dane-valid", true, false, ": \033[32mTLSA 3 1 1 matched the server's public key (depth 0)\033[0m\n"},

    {"dane-fail", false, false, "dual-cert.test: DANE invalid - "},
    {"dane-fail", false, false,
     "    mx.dual-cert.test[192.0.2.11]: certificate does not match any TLSA record "
     "(tlsa-mismatch)\n"},
    {"dane-fail", false, false,
     "      ecdsa certificate: TLSA 3 1 1 matched the server's public key (depth 0)\n"},
    {"dane-fail", false, false,
     "      rsa certificate: certificate does not match any TLSA record (tlsa-mismatch)\n"},
    {"dane-fail", false, false,
     "        TLSv1.2 ECDHE-RSA-AES256-GCM-SHA384 x25519; certificate CN=mx.dual-cert.test, "
     "RSA 2048 bits, expires 2026-04-01T00:00:00Z (expired 3 days ago)\n"},
    {"dane-fail", false, false,
     "  critical: the rsa certificate matches no TLSA record "
     "(mx.dual-cert.test[192.0.2.11])\n"},
    {"dane-fail", true, false, "dual-cert.test: \033[31mDANE invalid\033[0m"},
    {"dane-fail", true, false, "  \033[31mcritical\033[0m: "},

    {"invalid", false, false, "exa mple..com: invalid input - empty label\n"},
    {"nxdomain", false, false, "nx.dane.test: no such domain - the domain does not exist\n"},
    {"null-mx", false, false, "null-mx.test: null MX - the domain accepts no mail (RFC 7505)\n"},
    {"dns-error", false, false, "  MX lookup: DNSSEC indeterminate (SERVFAIL)\n"},

    {"no-probe", false, false, "  --no-probe: DNS, DNSSEC and TLSA only, no SMTP connections\n"},
    {"no-probe", false, false, "    mx1.no-probe.test[192.0.2.40]: not probed (--no-probe)\n"},
    {"no-probe", false, false, "    mx1.no-probe.test[2001:db8::40]: not probed (--no-probe)\n"},
    {"no-probe", false, false,
     "  MX 20 mx2.insecure.example: no DANE: not DNSSEC-signed; addresses insecure "
     "(insecure delegation); TLSA not looked up (addresses not secure)\n"},

    {"hostile", false, false,
     "    mx.hostile.test[192.0.2.66]: STARTTLS not offered although TLSA is published: "
     "DANE senders will defer mail\n"},
    {"hostile", false, false,
     "  warning: banner says \"hi\" \\ and caf?? (mx.hostile.test)\n"},
    {"hostile", false, true, "\033"},

    {"unreached", false, false, "unreached.test: DANE incomplete - "},
    {"unreached", false, false,
     "  MX 5 mx.unreached.test (alias of mail.hoster.example): DANE; addresses secure; "
     "TLSA at _25._tcp.mail.hoster.example (secure): 2 1 1 1b2c3d4e...(usable)\n"},
    {"unreached", false, false,
     "    mx.unreached.test[192.0.2.20]: TLSA 2 1 1 matched a trust anchor's public key "
     "(depth 1)\n"},
    {"unreached", false, false, "    mx.unreached.test[192.0.2.21]: connection refused\n"},
    {"unreached", false, false,
     "    mx.unreached.test[127.0.0.1]: blocked: loopback address (use --allow-private)\n"},
    {"unreached", false, false,
     "    mx.unreached.test[192.0.2.22]: timed out in the banner phase\n"},
    {"unreached", true, false, "[192.0.2.21]: \033[33mconnection refused\033[0m\n"},

    {"implicit", false, false, "implicit.test: insecure - "},
    {"implicit", false, false,
     "  MX (implicit) implicit.test: no DANE: not DNSSEC-signed; addresses insecure; "
     "TLSA not looked up\n"},
    {"implicit", false, false,
     "    implicit.test[192.0.2.30]: STARTTLS works, not authenticated: the host has no DANE\n"},
    {"implicit", false, false, "      TLSv1.2 ECDHE-RSA-AES128-GCM-SHA256 secp256r1\n"},
};

static void check_text_rows(model_domain_t *const *domains)
{
    char what[300];

    for (size_t i = 0; i < sizeof(text_rows) / sizeof(text_rows[0]); i++) {
        int f = fixture_index(text_rows[i].fixture);
        char *text = f < 0 ? NULL : text_of(domains[f], text_rows[i].color);
        bool found = text != NULL && strstr(text, text_rows[i].want) != NULL;

        snprintf(what, sizeof(what), "%s%s", text_rows[i].fixture,
                 text_rows[i].color ? " (colour)" : "");
        CHECK(found != text_rows[i].absent, "%s: %s \"%s\" in:\n%s", what,
              text_rows[i].absent ? "unwanted" : "no", text_rows[i].want,
              text != NULL ? text : "(no report)");
        free(text);
    }
}

/* Without colour the report is printable ASCII lines, whatever the model
 * holds. */
static void check_text_bytes(const char *name, const model_domain_t *d)
{
    char *text = text_of(d, false);
    size_t bad = 0;

    for (const char *p = text; *p != '\0'; p++)
        if (*p != '\n' && ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e))
            bad++;
    CHECK(bad == 0, "%s: %zu unprintable bytes in the text report", name, bad);
    free(text);
}

/* ---- vocabularies ------------------------------------------------------------ */

/* Every value of every vocabulary has words, walking each model name
 * table until it answers "?" (so a value added there is walked too);
 * with --emit the names go to vocabulary.txt for the schema test. */
static void check_vocabulary(FILE *out)
{
    int v;

    for (v = 0; strcmp(model_verdict_name((model_verdict_t)v), "?") != 0; v++) {
        CHECK(report_text_verdict_words((model_verdict_t)v) != NULL, "verdict %s has no words",
              model_verdict_name((model_verdict_t)v));
        if (out != NULL)
            fprintf(out, "verdict %s\n", model_verdict_name((model_verdict_t)v));
    }
    CHECK_INT("verdicts", v, MODEL_VERDICT_NO_DANE + 1);
    for (v = 0; strcmp(model_host_status_name((model_host_status_t)v), "?") != 0; v++) {
        CHECK(report_text_host_status_words((model_host_status_t)v) != NULL,
              "host status %s has no words", model_host_status_name((model_host_status_t)v));
        if (out != NULL)
            fprintf(out, "host_status %s\n", model_host_status_name((model_host_status_t)v));
    }
    CHECK_INT("host statuses", v, MODEL_HOST_NO_ADDRESS + 1);
    for (v = 0; strcmp(model_addr_result_name((model_addr_result_t)v), "?") != 0; v++) {
        CHECK(report_text_addr_result_words((model_addr_result_t)v) != NULL,
              "address result %s has no words", model_addr_result_name((model_addr_result_t)v));
        if (out != NULL)
            fprintf(out, "address_result %s\n", model_addr_result_name((model_addr_result_t)v));
    }
    CHECK_INT("address results", v, MODEL_ADDR_SKIPPED + 1);
    for (v = 0; out != NULL && strcmp(model_dnssec_name((model_dnssec_t)v), "?") != 0; v++)
        fprintf(out, "dnssec %s\n", model_dnssec_name((model_dnssec_t)v));
    for (v = 0; out != NULL && strcmp(model_severity_name((model_severity_t)v), "?") != 0; v++)
        fprintf(out, "severity %s\n", model_severity_name((model_severity_t)v));
    /* one past the end: no words, and no crash */
    CHECK(report_text_verdict_words((model_verdict_t)(MODEL_VERDICT_NO_DANE + 1)) == NULL,
          "words for a verdict that does not exist");
}

int main(int argc, char **argv)
{
    model_domain_t *domains[N_FIXTURES];
    json_t *reports[N_FIXTURES];
    const char *emit_dir = NULL;
    FILE *vocabulary = NULL;
    char path[4096];

    if (argc == 3 && strcmp(argv[1], "--emit") == 0) {
        emit_dir = argv[2];
    } else if (argc != 1) {
        fprintf(stderr, "usage: test_report [--emit DIR]\n");
        return 2;
    }
    for (size_t i = 0; i < N_FIXTURES; i++) {
        char *line;

        domains[i] = fixtures[i].build();
        CHECK_STR(fixtures[i].name, model_verdict_name(domains[i]->verdict),
                  fixtures[i].verdict);
        reports[i] = report_json_domain(domains[i]);
        CHECK(reports[i] != NULL, "%s: no JSON report", fixtures[i].name);
        line = json_dumps(reports[i], JSON_COMPACT);
        CHECK(line != NULL, "%s: json_dumps failed", fixtures[i].name);
        free(line);
        check_json_line(fixtures[i].name, domains[i], reports[i]);
        check_text_bytes(fixtures[i].name, domains[i]);
        if (emit_dir != NULL)
            emit(emit_dir, fixtures[i].name, domains[i]);
    }
    check_json_rows(reports);
    check_text_rows(domains);
    if (emit_dir != NULL) {
        snprintf(path, sizeof(path), "%s/vocabulary.txt", emit_dir);
        vocabulary = fopen(path, "w");
        CHECK(vocabulary != NULL, "%s: cannot create", path);
    }
    check_vocabulary(vocabulary);
    if (vocabulary != NULL)
        fclose(vocabulary);
    for (size_t i = 0; i < N_FIXTURES; i++) {
        json_decref(reports[i]);
        model_domain_free(domains[i]);
    }
    return check_summary();
}
