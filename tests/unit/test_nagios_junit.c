/* test_nagios_junit.c - the plugin output and the JUnit report over model
 * trees built here: the Nagios range parser and its alerts, the
 * verdict/result state mapping, status line, long output and performance
 * data of report/nagios, XML escaping and the documents of report/junit.
 * Every table row says "got X, want Y".
 */
#include "check.h"
#include "junit.h"
#include "model.h"
#include "nagios.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* ---- building model trees ------------------------------------------------ */

static char *sdup(const char *s)
{
    return s != NULL ? strdup(s) : NULL;
}

static model_domain_t *domain_new(const char *name, model_dnssec_t mx_dnssec, size_t n_hosts)
{
    model_domain_t *d = calloc(1, sizeof(*d));

    d->domain = sdup(name);
    d->mx_outcome = n_hosts > 0 ? MODEL_MX_FOUND : MODEL_MX_NXDOMAIN;
    d->mx_dnssec = mx_dnssec;
    d->probed = true;
    d->n_hosts = n_hosts;
    d->hosts = calloc(n_hosts + 1, sizeof(*d->hosts));
    return d;
}

/* A host with secure addresses; with `tlsa` a secure TLSA RRset of one
 * usable 3 1 1 record, else a secure denial. */
static model_host_t *host_init(model_domain_t *d, size_t i, const char *name, bool tlsa,
                               size_t n_addresses)
{
    model_host_t *h = &d->hosts[i];

    h->name = sdup(name);
    h->preference = 10 * (int)(i + 1);
    h->dnssec = MODEL_DNSSEC_SECURE;
    h->tlsa.looked_up = true;
    h->tlsa.dnssec = MODEL_DNSSEC_SECURE;
    h->tlsa.base_domain = sdup(name);
    h->tlsa.qname = sdup("_25._tcp.mx");
    if (tlsa) {
        h->tlsa.n_records = 1;
        h->tlsa.records = calloc(1, sizeof(*h->tlsa.records));
        h->tlsa.records[0] = (model_tlsa_record_t){3, 1, 1, sdup("abcdef"), true, NULL};
    }
    h->n_addresses = n_addresses;
    h->addresses = calloc(n_addresses + 1, sizeof(*h->addresses));
    return h;
}

/* An address; with n_handshakes > 0, that many handshakes of `result`,
 * each with a leaf expiring in `days`. */
static model_address_t *address_init(model_host_t *h, size_t i, const char *address,
                                     model_addr_result_t result, const char *reason,
                                     size_t n_handshakes, long days)
{
    static const char *const types[] = {"ecdsa", "rsa"};
    model_address_t *a = &h->addresses[i];

    a->address = sdup(address);
    a->result = result;
    a->reason = sdup(reason);
    a->starttls = n_handshakes > 0;
    a->ms_connect = 1;
    a->ms_handshake = 2;
    a->n_handshakes = n_handshakes;
    a->handshakes = calloc(n_handshakes + 1, sizeof(*a->handshakes));
    for (size_t k = 0; k < n_handshakes; k++) {
        model_handshake_t *hs = &a->handshakes[k];
        hs->cert_type = sdup(n_handshakes == 1 ? "any" : types[k % 2]);
        hs->result = result;
        hs->reason = sdup(reason);
        hs->tls_version = sdup("TLSv1.3");
        hs->cipher = sdup("TLS_AES_256_GCM_SHA384");
        if (result == MODEL_ADDR_DANE_PASS) {
            hs->matched = true;
            hs->matched_usage = 3;
            hs->matched_selector = 1;
            hs->matched_mtype = 1;
        }
        hs->n_chain = 1;
        hs->chain = calloc(1, sizeof(*hs->chain));
        hs->chain[0].subject = sdup("CN=mx");
        hs->chain[0].not_after = sdup("2027-01-01T00:00:00Z");
        hs->chain[0].days_to_expiry = days;
    }
    return a;
}

static model_domain_t *judge(model_domain_t *d)
{
    for (size_t i = 0; i < d->n_hosts; i++)
        d->hosts[i].status = model_host_status(&d->hosts[i]);
    d->verdict = model_domain_verdict(d);
    return d;
}

static model_domain_t *fixture_valid(long days)
{
    model_domain_t *d = domain_new("example.org", MODEL_DNSSEC_SECURE, 1);
    model_host_t *h = host_init(d, 0, "mx.example.org", true, 1);

    address_init(h, 0, "192.0.2.1", MODEL_ADDR_DANE_PASS, NULL, 1, days);
    return judge(d);
}

static model_domain_t *fixture_mismatch(void)
{
    model_domain_t *d = domain_new("bad.example", MODEL_DNSSEC_SECURE, 1);
    model_host_t *h = host_init(d, 0, "mx.bad.example", true, 1);

    address_init(h, 0, "192.0.2.2", MODEL_ADDR_DANE_FAIL, "tlsa-mismatch", 1, 200);
    return judge(d);
}

/* one DANE host passing, one without TLSA: dane-partial */
static model_domain_t *fixture_partial(void)
{
    model_domain_t *d = domain_new("partial.example", MODEL_DNSSEC_SECURE, 2);
    model_host_t *h1 = host_init(d, 0, "mx1.partial.example", true, 1);
    model_host_t *h2 = host_init(d, 1, "mx2.partial.example", false, 1);

    address_init(h1, 0, "192.0.2.3", MODEL_ADDR_DANE_PASS, NULL, 1, 100);
    address_init(h2, 0, "192.0.2.4", MODEL_ADDR_TLS_ONLY, NULL, 1, 50);
    d->n_findings = 1;
    d->findings = calloc(1, sizeof(*d->findings));
    d->findings[0] = (model_finding_t){sdup("partial-deployment"), MODEL_SEVERITY_WARNING,
                                       sdup("1 of 2"), NULL, NULL};
    return judge(d);
}

/* RULES A7: two certificates, the RSA one fails */
static model_domain_t *fixture_dual(void)
{
    model_domain_t *d = domain_new("dual.example", MODEL_DNSSEC_SECURE, 1);
    model_host_t *h = host_init(d, 0, "mx.dual.example", true, 1);
    model_address_t *a = address_init(h, 0, "2001:db8::1", MODEL_ADDR_DANE_PASS, NULL, 2, 90);

    a->result = MODEL_ADDR_DANE_FAIL;
    a->handshakes[1].result = MODEL_ADDR_DANE_FAIL;
    a->handshakes[1].matched = false;
    a->handshakes[1].reason = sdup("tlsa-mismatch");
    return judge(d);
}

static model_domain_t *fixture_nxdomain(void)
{
    model_domain_t *d = domain_new("gone.example", MODEL_DNSSEC_SECURE, 0);

    d->verdict = MODEL_VERDICT_NXDOMAIN;
    return d;
}

/* server text and names with every character XML and plugin output fear */
static model_domain_t *fixture_hostile(void)
{
    model_domain_t *d = domain_new("x<y>&\"z'.example", MODEL_DNSSEC_SECURE, 1);
    model_host_t *h = host_init(d, 0, "mx|evil\n[CRITICAL] fake.example", true, 1);
    model_address_t *a = address_init(h, 0, "192.0.2.9", MODEL_ADDR_DANE_FAIL,
                                      "a<b>&c\x01\x1b[31m\xc3\xa9|d", 1, 10);

    a->banner = sdup("220 <script>&amp;\x7f");
    return judge(d);
}

/* ---- ranges --------------------------------------------------------------- */

static const struct {
    const char *text;
    int ok;
    double start, end;
    bool start_inf, end_inf, inside;
} range_rows[] = {
    {"10", 1, 0, 10, false, false, false},
    {"10:", 1, 10, 0, false, true, false},
    {"~:10", 1, 0, 10, true, false, false},
    {"10:20", 1, 10, 20, false, false, false},
    {"@10:20", 1, 10, 20, false, false, true},
    {"-5:5", 1, -5, 5, false, false, false},
    {"1.5:2.5", 1, 1.5, 2.5, false, false, false},
    {":10", 1, 0, 10, false, false, false},
    {"@~:", 1, 0, 0, true, true, true},
    {"", 0, 0, 0, false, false, false},
    {"abc", 0, 0, 0, false, false, false},
    {"10:5", 0, 0, 0, false, false, false},
    {"@", 0, 0, 0, false, false, false},
    {"~", 0, 0, 0, false, false, false},
    {"inf", 0, 0, 0, false, false, false},
    {"nan:", 0, 0, 0, false, false, false},
    {"0x10", 0, 0, 0, false, false, false},
    {"10:abc", 0, 0, 0, false, false, false},
    {"1e3", 0, 0, 0, false, false, false},
    {"5:~", 0, 0, 0, false, false, false},
};

/* Monitoring Plugins guidelines, "Threshold and ranges", table of examples */
static const struct {
    const char *range;
    double value;
    bool alert;
} alert_rows[] = {
    {"10", -1, true}, {"10", 0, false}, {"10", 10, false}, {"10", 11, true},
    {"10:", 9, true}, {"10:", 10, false}, {"10:", 1e9, false},
    {"~:10", 11, true}, {"~:10", -100, false},
    {"10:20", 9, true}, {"10:20", 15, false}, {"10:20", 21, true},
    {"@10:20", 10, true}, {"@10:20", 20, true}, {"@10:20", 9, false}, {"@10:20", 21, false},
};

/* -w/-c of check_dane: a bare N is "fewer than N days" */
static const struct {
    const char *days;
    double value;
    bool alert;
    const char *perfdata;
} days_rows[] = {
    {"30", 29, true, "30:"}, {"30", 30, false, "30:"}, {"30", 400, false, "30:"},
    {"30", -1, true, "30:"}, {"400", -36, true, "400:"}, {"0", -1, true, "0:"},
    {"0", 0, false, "0:"}, {"30:", 29, true, "30:"}, {"~:30", 31, true, "~:30"},
    {"10:20", 25, true, "10:20"}, {"@0:7", 3, true, "@0:7"}, {"@0:7", 8, false, "@0:7"},
};

static void check_ranges(void)
{
    char err[200], buf[64];

    for (size_t i = 0; i < sizeof(range_rows) / sizeof(range_rows[0]); i++) {
        report_nagios_range_t r = {0};
        int rc = report_nagios_range_parse(range_rows[i].text, &r, err, sizeof(err));
        const char *t = range_rows[i].text;

        CHECK_INT(t, rc == 0, range_rows[i].ok);
        if (rc != 0 || !range_rows[i].ok) {
            CHECK(rc != 0 || strlen(err) > 0, "%s: no reason", t);
            continue;
        }
        CHECK(r.start_infinite == range_rows[i].start_inf &&
                  r.end_infinite == range_rows[i].end_inf && r.inside == range_rows[i].inside,
              "%s: got inf %d/%d inside %d", t, r.start_infinite, r.end_infinite, r.inside);
        if (!r.start_infinite)
            CHECK(r.start == range_rows[i].start, "%s: start %g, want %g", t, r.start,
                  range_rows[i].start);
        if (!r.end_infinite)
            CHECK(r.end == range_rows[i].end, "%s: end %g, want %g", t, r.end, range_rows[i].end);
    }
    for (size_t i = 0; i < sizeof(alert_rows) / sizeof(alert_rows[0]); i++) {
        report_nagios_range_t r;
        CHECK(report_nagios_range_parse(alert_rows[i].range, &r, err, sizeof(err)) == 0,
              "%s: %s", alert_rows[i].range, err);
        CHECK(report_nagios_range_alert(&r, alert_rows[i].value) == alert_rows[i].alert,
              "range %s value %g: alert %d, want %d", alert_rows[i].range, alert_rows[i].value,
              !alert_rows[i].alert, alert_rows[i].alert);
    }
    for (size_t i = 0; i < sizeof(days_rows) / sizeof(days_rows[0]); i++) {
        report_nagios_range_t r;
        CHECK(report_nagios_days_parse(days_rows[i].days, &r, err, sizeof(err)) == 0, "%s: %s",
              days_rows[i].days, err);
        CHECK(report_nagios_range_alert(&r, days_rows[i].value) == days_rows[i].alert,
              "days %s value %g: alert %d, want %d", days_rows[i].days, days_rows[i].value,
              !days_rows[i].alert, days_rows[i].alert);
        report_nagios_range_format(&r, buf, sizeof(buf));
        CHECK_STR(days_rows[i].days, buf, days_rows[i].perfdata);
    }
    {
        report_nagios_range_t r;
        CHECK(report_nagios_days_parse("x", &r, err, sizeof(err)) != 0, "days 'x' accepted");
        CHECK(report_nagios_range_parse("10", &r, err, sizeof(err)) == 0, "10");
        report_nagios_range_format(&r, buf, sizeof(buf));
        CHECK_STR("format 10", buf, "10");
    }
}

/* ---- states --------------------------------------------------------------- */

static const struct {
    model_verdict_t verdict;
    report_nagios_state_t state, required;
} verdict_rows[] = {
    {MODEL_VERDICT_DANE_VALID, REPORT_NAGIOS_OK, REPORT_NAGIOS_OK},
    {MODEL_VERDICT_NULL_MX, REPORT_NAGIOS_OK, REPORT_NAGIOS_OK},
    {MODEL_VERDICT_DANE_PARTIAL, REPORT_NAGIOS_WARNING, REPORT_NAGIOS_WARNING},
    {MODEL_VERDICT_DANE_INCOMPLETE, REPORT_NAGIOS_WARNING, REPORT_NAGIOS_WARNING},
    {MODEL_VERDICT_DANE_INVALID, REPORT_NAGIOS_CRITICAL, REPORT_NAGIOS_CRITICAL},
    {MODEL_VERDICT_DNSSEC_BOGUS, REPORT_NAGIOS_CRITICAL, REPORT_NAGIOS_CRITICAL},
    {MODEL_VERDICT_DNS_ERROR, REPORT_NAGIOS_CRITICAL, REPORT_NAGIOS_CRITICAL},
    {MODEL_VERDICT_NXDOMAIN, REPORT_NAGIOS_CRITICAL, REPORT_NAGIOS_CRITICAL},
    {MODEL_VERDICT_NO_DANE, REPORT_NAGIOS_OK, REPORT_NAGIOS_CRITICAL},
    {MODEL_VERDICT_INSECURE, REPORT_NAGIOS_OK, REPORT_NAGIOS_CRITICAL},
    {MODEL_VERDICT_INVALID_INPUT, REPORT_NAGIOS_WARNING, REPORT_NAGIOS_WARNING},
};

static const struct {
    model_addr_result_t result;
    report_nagios_state_t at_dane_host;
} result_rows[] = {
    {MODEL_ADDR_DANE_PASS, REPORT_NAGIOS_OK},
    {MODEL_ADDR_DANE_FAIL, REPORT_NAGIOS_CRITICAL},
    {MODEL_ADDR_TLS_UNAUTHENTICATED, REPORT_NAGIOS_CRITICAL},
    {MODEL_ADDR_TLS_ONLY, REPORT_NAGIOS_CRITICAL},
    {MODEL_ADDR_NO_STARTTLS, REPORT_NAGIOS_CRITICAL},
    {MODEL_ADDR_TLS_FAILED, REPORT_NAGIOS_CRITICAL},
    {MODEL_ADDR_SMTP_ERROR, REPORT_NAGIOS_CRITICAL},
    {MODEL_ADDR_CONNECT_FAILED, REPORT_NAGIOS_WARNING},
    {MODEL_ADDR_TIMEOUT, REPORT_NAGIOS_WARNING},
    {MODEL_ADDR_BLOCKED, REPORT_NAGIOS_WARNING},
    {MODEL_ADDR_SKIPPED, REPORT_NAGIOS_OK},
};

static void check_states(void)
{
    model_domain_t *partial = fixture_partial();
    model_domain_t *valid = fixture_valid(100);

    for (size_t i = 0; i < sizeof(verdict_rows) / sizeof(verdict_rows[0]); i++) {
        const char *v = model_verdict_name(verdict_rows[i].verdict);
        CHECK_STR(v, report_nagios_state_name(report_nagios_verdict_state(verdict_rows[i].verdict, false)),
                  report_nagios_state_name(verdict_rows[i].state));
        CHECK_STR(v, report_nagios_state_name(report_nagios_verdict_state(verdict_rows[i].verdict, true)),
                  report_nagios_state_name(verdict_rows[i].required));
    }
    for (size_t i = 0; i < sizeof(result_rows) / sizeof(result_rows[0]); i++) {
        const char *r = model_addr_result_name(result_rows[i].result);
        CHECK_STR(r, report_nagios_state_name(report_nagios_result_state(valid, &valid->hosts[0],
                                                                         result_rows[i].result, false)),
                  report_nagios_state_name(result_rows[i].at_dane_host));
    }
    /* a host without DANE: judged as the verdict judges it */
    CHECK_STR("partial verdict", model_verdict_name(partial->verdict), "dane-partial");
    CHECK_INT("no-DANE host in a partial domain",
              report_nagios_result_state(partial, &partial->hosts[1], MODEL_ADDR_TLS_ONLY, false),
              REPORT_NAGIOS_WARNING);
    CHECK_INT("no-DANE host in a partial domain, DANE required",
              report_nagios_result_state(partial, &partial->hosts[1], MODEL_ADDR_TLS_ONLY, true),
              REPORT_NAGIOS_WARNING);
    CHECK_INT("host state partial", report_nagios_host_state(partial, &partial->hosts[0], false),
              REPORT_NAGIOS_OK);
    CHECK_INT("host state partial", report_nagios_host_state(partial, &partial->hosts[1], false),
              REPORT_NAGIOS_WARNING);
    partial->verdict = MODEL_VERDICT_NO_DANE;
    CHECK_INT("no-DANE host in a no-dane domain",
              report_nagios_result_state(partial, &partial->hosts[1], MODEL_ADDR_NO_STARTTLS, false),
              REPORT_NAGIOS_OK);
    CHECK_INT("no-DANE host in a no-dane domain, DANE required",
              report_nagios_result_state(partial, &partial->hosts[1], MODEL_ADDR_TLS_ONLY, true),
              REPORT_NAGIOS_CRITICAL);
    model_domain_free(partial);
    model_domain_free(valid);
}

/* ---- plugin output ----------------------------------------------------------- */

/* The whole output of a run over `domains`. */
static char *nagios_output(model_domain_t *const *domains, size_t n, const char *warn,
                           const char *crit, bool require, int verbosity, int *state)
{
    report_nagios_range_t w, c;
    char err[200], *buf = NULL;
    size_t len = 0;
    report_nagios_config_t cfg = {.require_dane = require, .verbosity = verbosity,
                                  .domain_lines = n > 1};
    report_nagios_t *r;
    FILE *f = open_memstream(&buf, &len);

    if (warn != NULL && report_nagios_days_parse(warn, &w, err, sizeof(err)) == 0)
        cfg.warn_days = &w;
    if (crit != NULL && report_nagios_days_parse(crit, &c, err, sizeof(err)) == 0)
        cfg.crit_days = &c;
    r = report_nagios_new(&cfg);
    for (size_t i = 0; i < n; i++)
        CHECK(report_nagios_add(r, domains[i]) == 0, "report_nagios_add failed");
    *state = (int)report_nagios_state(r);
    CHECK(report_nagios_write(r, f, 0.1234) == 0, "report_nagios_write failed");
    report_nagios_free(r);
    fclose(f);
    return buf;
}

static char *first_line(const char *s)
{
    size_t n = strcspn(s, "\n");
    char *line = malloc(n + 1);

    memcpy(line, s, n);
    line[n] = '\0';
    return line;
}

static const struct {
    const char *name;
    const char *fixture;
    const char *warn, *crit;
    bool require;
    int verbosity;
    int state;
    const char *first;          /* the exact status line */
    const char *contains;       /* and somewhere in the long output */
} output_rows[] = {
    {"valid", "valid", "30", "14", false, 0, 0,
     "DANE OK - example.org: DANE valid, 1 of 1 address authenticated | mx=1 addresses_ok=1 "
     "addresses_failed=0 cert_days_min=364;30:;14: time=0.123s",
     "\n[OK] MX 10 mx.example.org: DANE; addresses secure; TLSA secure\n"
     "[OK]   mx.example.org[192.0.2.1]: authenticated by DANE, TLSA 3 1 1 at depth 0; "
     "certificate expires in 364 days\n"},
    {"no thresholds", "valid", NULL, NULL, false, 0, 0,
     "DANE OK - example.org: DANE valid, 1 of 1 address authenticated | mx=1 addresses_ok=1 "
     "addresses_failed=0 cert_days_min=364 time=0.123s", NULL},
    {"warning days", "soon", "30", "14", false, 0, 1,
     "DANE WARNING - example.org: certificate of mx.example.org[192.0.2.1] expires in 20 days; "
     "DANE valid, 1 of 1 address authenticated | mx=1 addresses_ok=1 addresses_failed=0 "
     "cert_days_min=20;30:;14: time=0.123s", NULL},
    /* RFC 7671 §5.1: DANE-EE passes with an expired certificate; -w still warns */
    {"expired DANE-EE", "expired", "400", NULL, false, 0, 1,
     "DANE WARNING - example.org: certificate of mx.example.org[192.0.2.1] expired 36 days ago; "
     "DANE valid, 1 of 1 address authenticated | mx=1 addresses_ok=1 addresses_failed=0 "
     "cert_days_min=-36;400:; time=0.123s", "certificate expired 36 days ago\n"},
    {"expired, critical", "expired", "400", "0", false, 0, 2,
     "DANE CRITICAL - example.org: certificate of mx.example.org[192.0.2.1] expired 36 days ago; "
     "DANE valid, 1 of 1 address authenticated | mx=1 addresses_ok=1 addresses_failed=0 "
     "cert_days_min=-36;400:;0: time=0.123s", NULL},
    {"mismatch", "mismatch", "30", "14", false, 0, 2,
     "DANE CRITICAL - bad.example: DANE invalid: mx.bad.example[192.0.2.2]: DANE authentication "
     "failed (tlsa-mismatch) | mx=1 addresses_ok=0 addresses_failed=1 cert_days_min=200;30:;14: "
     "time=0.123s",
     "[CRITICAL]   mx.bad.example[192.0.2.2]: DANE authentication failed (tlsa-mismatch); "
     "certificate expires in 200 days\n"},
    {"partial", "partial", NULL, NULL, false, 0, 1,
     "DANE WARNING - partial.example: DANE partial: mx2.partial.example: no DANE: no TLSA "
     "records (securely denied) | mx=2 addresses_ok=1 addresses_failed=1 cert_days_min=50 "
     "time=0.123s",
     "[WARNING] MX 20 mx2.partial.example: no DANE"},
    /* DESIGN.md's mapping: --require-dane hardens no-dane and insecure only */
    {"partial, required", "partial", NULL, NULL, true, 0, 1, NULL,
     "[WARNING]   mx2.partial.example[192.0.2.4]: STARTTLS works"},
    {"findings", "partial", NULL, NULL, false, 1, 1, NULL,
     "\n  warning partial-deployment: 1 of 2\n"},
    {"nxdomain", "nxdomain", "30", "14", false, 0, 2,
     "DANE CRITICAL - gone.example: no such domain (MX lookup secure) | mx=0 addresses_ok=0 "
     "addresses_failed=0 cert_days_min=U;30:;14: time=0.123s", NULL},
    {"dual", "dual", NULL, NULL, false, 2, 2, NULL,
     "      rsa certificate: DANE authentication failed (tlsa-mismatch); TLSv1.3"},
};

static model_domain_t *fixture(const char *name)
{
    model_domain_t *d = NULL;

    if (strcmp(name, "valid") == 0)
        d = fixture_valid(364);
    else if (strcmp(name, "soon") == 0)
        d = fixture_valid(20);
    else if (strcmp(name, "expired") == 0)
        d = fixture_valid(-36);
    else if (strcmp(name, "mismatch") == 0)
        d = fixture_mismatch();
    else if (strcmp(name, "partial") == 0)
        d = fixture_partial();
    else if (strcmp(name, "nxdomain") == 0)
        d = fixture_nxdomain();
    else if (strcmp(name, "dual") == 0)
        d = fixture_dual();
    else if (strcmp(name, "hostile") == 0)
        d = fixture_hostile();
    return d;
}

static void check_output(void)
{
    for (size_t i = 0; i < sizeof(output_rows) / sizeof(output_rows[0]); i++) {
        model_domain_t *d = fixture(output_rows[i].fixture);
        int state;
        char *out = nagios_output(&d, 1, output_rows[i].warn, output_rows[i].crit,
                                  output_rows[i].require, output_rows[i].verbosity, &state);
        char *line = first_line(out);

        CHECK_INT(output_rows[i].name, state, output_rows[i].state);
        if (output_rows[i].first != NULL)
            CHECK_STR(output_rows[i].name, line, output_rows[i].first);
        if (output_rows[i].contains != NULL)
            CHECK(strstr(out, output_rows[i].contains) != NULL, "%s: no \"%s\" in:\n%s",
                  output_rows[i].name, output_rows[i].contains, out);
        free(line);
        free(out);
        model_domain_free(d);
    }
}

/* Output that a server's or a zone's text cannot forge: one '|' (the
 * perfdata), only printable ASCII and newlines, no line starting with a
 * fake state. */
static void check_output_hostile(void)
{
    model_domain_t *d = fixture("hostile");
    int state;
    char *out = nagios_output(&d, 1, NULL, NULL, false, 2, &state);
    size_t bars = 0;
    bool clean = true;

    for (const char *p = out; *p; p++) {
        bars += *p == '|';
        clean &= (*p >= 0x20 && *p <= 0x7e) || *p == '\n';
    }
    CHECK_INT("hostile: '|' in the output", bars, 1);
    CHECK(clean, "hostile: bytes outside printable ASCII in:\n%s", out);
    CHECK(strstr(out, "\n[CRITICAL] fake") == NULL, "hostile: a forged line in:\n%s", out);
    CHECK_INT("hostile: state", state, REPORT_NAGIOS_CRITICAL);
    free(out);
    model_domain_free(d);
}

static void check_output_multi(void)
{
    model_domain_t *d[3] = {fixture("valid"), fixture("mismatch"), fixture("partial")};
    int state;
    char *out = nagios_output(d, 3, NULL, NULL, false, 0, &state);
    char *line = first_line(out);

    CHECK_INT("multi: state", state, REPORT_NAGIOS_CRITICAL);
    CHECK_STR("multi: status line", line,
              "DANE CRITICAL - 3 domains: 1 critical, 1 warning, 1 OK; worst: bad.example: DANE "
              "invalid: mx.bad.example[192.0.2.2]: DANE authentication failed (tlsa-mismatch) | "
              "domains=3 mx=4 addresses_ok=2 addresses_failed=2 cert_days_min=50 time=0.123s");
    CHECK(strstr(out, "\n[WARNING] partial.example: DANE partial") != NULL,
          "multi: no domain heading in:\n%s", out);
    free(line);
    free(out);
    for (int i = 0; i < 3; i++)
        model_domain_free(d[i]);
    {
        report_nagios_config_t cfg = {0};
        report_nagios_t *r = report_nagios_new(&cfg);
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        report_nagios_write(r, f, 0);
        fclose(f);
        CHECK_STR("no domain", buf,
                  "DANE UNKNOWN - no domain was checked | mx=0 addresses_ok=0 addresses_failed=0 "
                  "cert_days_min=U time=0.000s\n");
        free(buf);
        report_nagios_free(r);
    }
}

/* ---- JUnit ------------------------------------------------------------------ */

static const struct {
    const char *in, *want;
} escape_rows[] = {
    {"", ""},
    {"plain text", "plain text"},
    {"a&b", "a&amp;b"},
    {"<x>", "&lt;x&gt;"},
    {"\"'", "&quot;&apos;"},
    {"&amp;", "&amp;amp;"},
    {"a\nb\tc", "a&#10;b&#9;c"},
    {"\x01\x1b\x7f", "???"},
    {"caf\xc3\xa9", "caf??"},
    {"]]>", "]]&gt;"},
};

static char *junit_doc(model_domain_t *const *domains, size_t n, report_nagios_state_t fail_at)
{
    report_junit_config_t cfg = {.fail_at = fail_at};
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);

    CHECK(report_junit_begin(f) == 0, "junit begin");
    for (size_t i = 0; i < n; i++)
        CHECK(report_junit_write(f, domains[i], 0.5, &cfg) == 0, "junit write");
    CHECK(report_junit_end(f) == 0, "junit end");
    fclose(f);
    return buf;
}

static size_t count(const char *s, const char *what)
{
    size_t n = 0;

    for (const char *p = strstr(s, what); p != NULL; p = strstr(p + 1, what))
        n++;
    return n;
}

static const struct {
    const char *fixture;
    report_nagios_state_t fail_at;
    const char *contains;
} junit_rows[] = {
    {"valid", REPORT_NAGIOS_WARNING,
     "<testsuite name=\"example.org\" tests=\"2\" failures=\"0\" errors=\"0\" skipped=\"0\" "
     "time=\"0.500\">"},
    {"valid", REPORT_NAGIOS_WARNING,
     "<testcase classname=\"example.org\" name=\"mx.example.org[192.0.2.1]\" time=\"0.003\">"},
    {"valid", REPORT_NAGIOS_WARNING, "<property name=\"verdict\" value=\"dane-valid\"/>"},
    {"mismatch", REPORT_NAGIOS_WARNING, "tests=\"2\" failures=\"2\""},
    {"mismatch", REPORT_NAGIOS_WARNING,
     "<failure type=\"critical\" message=\"DANE authentication failed (tlsa-mismatch)\">"},
    {"mismatch", REPORT_NAGIOS_WARNING,
     "<failure type=\"critical\" message=\"DANE invalid (dane-invalid)\">"},
    {"partial", REPORT_NAGIOS_WARNING, "tests=\"3\" failures=\"2\""},
    {"partial", REPORT_NAGIOS_WARNING, "<failure type=\"warning\" message=\"DANE partial"},
    /* --fail-on critical: warnings are noted, not failed */
    {"partial", REPORT_NAGIOS_CRITICAL, "tests=\"3\" failures=\"0\""},
    {"partial", REPORT_NAGIOS_CRITICAL, "<system-out>WARNING: DANE partial"},
    /* RULES A7: a testcase per certificate */
    {"dual", REPORT_NAGIOS_WARNING, "name=\"mx.dual.example[2001:db8::1] ecdsa certificate\""},
    {"dual", REPORT_NAGIOS_WARNING, "name=\"mx.dual.example[2001:db8::1] rsa certificate\""},
    {"dual", REPORT_NAGIOS_WARNING, "tests=\"3\" failures=\"2\""},
    {"nxdomain", REPORT_NAGIOS_WARNING, "tests=\"1\" failures=\"1\""},
    {"hostile", REPORT_NAGIOS_WARNING, "<testsuite name=\"x&lt;y&gt;&amp;&quot;z&apos;.example\""},
    {"hostile", REPORT_NAGIOS_WARNING, "name=\"mx|evil&#10;[CRITICAL] fake.example[192.0.2.9]\""},
    {"hostile", REPORT_NAGIOS_WARNING, "(a&lt;b&gt;&amp;c??[31m??|d)"},
    {"hostile", REPORT_NAGIOS_WARNING, "banner: 220 &lt;script&gt;&amp;amp;?"},
};

static void check_junit(void)
{
    for (size_t i = 0; i < sizeof(escape_rows) / sizeof(escape_rows[0]); i++) {
        char *got = report_junit_escape(escape_rows[i].in);
        CHECK_STR(escape_rows[i].in, got, escape_rows[i].want);
        free(got);
    }
    for (size_t i = 0; i < sizeof(junit_rows) / sizeof(junit_rows[0]); i++) {
        model_domain_t *d = fixture(junit_rows[i].fixture);
        char *doc = junit_doc(&d, 1, junit_rows[i].fail_at);

        CHECK(strstr(doc, junit_rows[i].contains) != NULL, "%s: no '%s' in:\n%s",
              junit_rows[i].fixture, junit_rows[i].contains, doc);
        free(doc);
        model_domain_free(d);
    }
    /* the document as a whole: declaration, balanced elements, nothing
     * but printable ASCII and newlines */
    {
        model_domain_t *d[4] = {fixture("valid"), fixture("dual"), fixture("hostile"),
                                fixture("nxdomain")};
        char *doc = junit_doc(d, 4, REPORT_NAGIOS_WARNING);
        bool clean = true;

        CHECK(strncmp(doc, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites", 50) == 0,
              "document start: %.60s", doc);
        CHECK(strcmp(doc + strlen(doc) - 14, "</testsuites>\n") == 0, "document end");
        CHECK_INT("testsuite elements", count(doc, "<testsuite "), 4);
        CHECK_INT("testsuite ends", count(doc, "</testsuite>"), 4);
        CHECK_INT("testcase elements", count(doc, "<testcase "), count(doc, "</testcase>"));
        CHECK_INT("testcases", count(doc, "<testcase "), 2 + 3 + 2 + 1);
        CHECK_INT("failure elements", count(doc, "<failure "), count(doc, "</failure>"));
        for (const char *p = doc; *p; p++)
            clean &= (*p >= 0x20 && *p <= 0x7e) || *p == '\n';
        CHECK(clean, "bytes outside printable ASCII in the document");
        free(doc);
        for (int i = 0; i < 4; i++)
            model_domain_free(d[i]);
    }
}

int main(void)
{
    check_ranges();
    check_states();
    check_output();
    check_output_hostile();
    check_output_multi();
    check_junit();
    return check_summary();
}
