/* nagios.c - plugin output: states, ranges, status line, long output and
 * performance data (Monitoring Plugins Development Guidelines).
 *
 * A run may hold many domains (danescan --format nagios), so nothing of
 * a model is kept: each domain adds to the counters, to the long output
 * (a memory stream) and, when it is the worst so far, to the words of
 * the status line.
 */
#include "nagios.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"

#define COUNT(table) (sizeof(table) / sizeof((table)[0]))

static const char *const state_names[] = {
    [REPORT_NAGIOS_OK] = "OK",
    [REPORT_NAGIOS_WARNING] = "WARNING",
    [REPORT_NAGIOS_CRITICAL] = "CRITICAL",
    [REPORT_NAGIOS_UNKNOWN] = "UNKNOWN",
};

const char *report_nagios_state_name(report_nagios_state_t state)
{
    return (size_t)state < COUNT(state_names) ? state_names[state] : "UNKNOWN";
}

static report_nagios_state_t worse(report_nagios_state_t a, report_nagios_state_t b)
{
    return a > b ? a : b;
}

/* ---- states ------------------------------------------------------------ */

report_nagios_state_t report_nagios_verdict_state(model_verdict_t verdict, bool require_dane)
{
    switch (verdict) {
    case MODEL_VERDICT_DANE_VALID:
    case MODEL_VERDICT_NULL_MX:
        return REPORT_NAGIOS_OK;
    case MODEL_VERDICT_DANE_PARTIAL:
    case MODEL_VERDICT_DANE_INCOMPLETE:
    case MODEL_VERDICT_INVALID_INPUT:
        return REPORT_NAGIOS_WARNING;
    case MODEL_VERDICT_NO_DANE:
    case MODEL_VERDICT_INSECURE:
        return require_dane ? REPORT_NAGIOS_CRITICAL : REPORT_NAGIOS_OK;
    case MODEL_VERDICT_DANE_INVALID:
    case MODEL_VERDICT_DNSSEC_BOGUS:
    case MODEL_VERDICT_DNS_ERROR:
    case MODEL_VERDICT_NXDOMAIN:
        break;
    }
    return REPORT_NAGIOS_CRITICAL;
}

/* DESIGN.md verdict rule 5: a host counts as DANE when its TLSA RRset is
 * secure, and also when its TLSA lookup is bogus or failed (RULES D2:
 * senders must not use it). */
static bool dane_host(const model_host_t *h)
{
    return h->status == MODEL_HOST_DANE || h->status == MODEL_HOST_DANE_UNUSABLE ||
           (h->tlsa.looked_up && (h->tlsa.lookup_failed || h->tlsa.dnssec == MODEL_DNSSEC_BOGUS));
}

/* A host without DANE: what is wrong there is the missing DANE itself,
 * as the verdict judges it (dane-partial stays a WARNING even when DANE
 * is required: DESIGN.md's mapping names only no-dane and insecure). */
static report_nagios_state_t no_dane_state(const model_domain_t *d, bool require_dane)
{
    if (d->verdict == MODEL_VERDICT_DANE_PARTIAL)
        return REPORT_NAGIOS_WARNING;
    return require_dane ? REPORT_NAGIOS_CRITICAL : REPORT_NAGIOS_OK;
}

report_nagios_state_t report_nagios_result_state(const model_domain_t *d, const model_host_t *h,
                                                 model_addr_result_t result, bool require_dane)
{
    if (!dane_host(h))
        return no_dane_state(d, require_dane);
    switch (result) {
    case MODEL_ADDR_DANE_PASS:
        return REPORT_NAGIOS_OK;
    /* DESIGN.md verdict rule 7: unreachable is incomplete, not invalid */
    case MODEL_ADDR_CONNECT_FAILED:
    case MODEL_ADDR_TIMEOUT:
    case MODEL_ADDR_BLOCKED:
        return REPORT_NAGIOS_WARNING;
    /* --no-probe, or a host senders must not use (judged by the host) */
    case MODEL_ADDR_SKIPPED:
        return REPORT_NAGIOS_OK;
    case MODEL_ADDR_DANE_FAIL:
    case MODEL_ADDR_TLS_UNAUTHENTICATED:
    case MODEL_ADDR_TLS_ONLY:
    case MODEL_ADDR_NO_STARTTLS:
    case MODEL_ADDR_TLS_FAILED:
    case MODEL_ADDR_SMTP_ERROR:
        break;
    }
    /* RFC 7672 section 2.2: with TLSA published, anything but an
     * authenticated TLS session makes DANE senders defer the mail */
    return REPORT_NAGIOS_CRITICAL;
}

report_nagios_state_t report_nagios_host_state(const model_domain_t *d, const model_host_t *h,
                                               bool require_dane)
{
    report_nagios_state_t s = REPORT_NAGIOS_OK;

    if (!dane_host(h))
        return no_dane_state(d, require_dane);
    /* RULES D2 and T3: a TLSA RRset senders cannot use fails the host */
    if (h->status != MODEL_HOST_DANE)
        return REPORT_NAGIOS_CRITICAL;
    for (size_t i = 0; i < h->n_addresses; i++)
        s = worse(s, report_nagios_result_state(d, h, h->addresses[i].result, require_dane));
    return s;
}

/* ---- ranges ------------------------------------------------------------- */

static bool parse_number(const char *s, size_t n, double *out)
{
    char buf[64], *end;

    if (n == 0 || n >= sizeof(buf))
        return false;
    memcpy(buf, s, n);
    buf[n] = '\0';
    /* strtod would take "inf", "nan" and hex: the guidelines mean decimals */
    for (size_t i = 0; i < n; i++)
        if (strchr("0123456789.+-", buf[i]) == NULL)
            return false;
    *out = strtod(buf, &end);
    return *end == '\0' && isfinite(*out);
}

int report_nagios_range_parse(const char *text, report_nagios_range_t *out, char *err,
                              size_t errlen)
{
    report_nagios_range_t r = {.start = 0, .end = 0};
    const char *p = text, *colon;

    if (*p == '@') {
        r.inside = true;
        p++;
    }
    colon = strchr(p, ':');
    if (colon == NULL) {
        /* "N" is 0:N */
        if (!parse_number(p, strlen(p), &r.end))
            goto bad;
    } else {
        if (colon == p + 1 && *p == '~')
            r.start_infinite = true;
        else if (colon != p && !parse_number(p, (size_t)(colon - p), &r.start))
            goto bad;
        if (colon[1] == '\0')
            r.end_infinite = true;
        else if (!parse_number(colon + 1, strlen(colon + 1), &r.end))
            goto bad;
    }
    if (!r.start_infinite && !r.end_infinite && r.start > r.end) {
        snprintf(err, errlen, "range '%s': start %g is above end %g", text, r.start, r.end);
        return -1;
    }
    *out = r;
    return 0;
bad:
    snprintf(err, errlen, "range '%s': want N, N:, ~:N, N:M or @N:M", text);
    return -1;
}

int report_nagios_days_parse(const char *text, report_nagios_range_t *out, char *err,
                             size_t errlen)
{
    if (report_nagios_range_parse(text, out, err, errlen) != 0)
        return -1;
    if (strpbrk(text, "@:~") == NULL) {
        /* a bare N: fewer than N days left */
        out->start = out->end;
        out->end = 0;
        out->end_infinite = true;
    }
    return 0;
}

bool report_nagios_range_alert(const report_nagios_range_t *r, double v)
{
    bool within = (r->start_infinite || v >= r->start) && (r->end_infinite || v <= r->end);

    return r->inside ? within : !within;
}

void report_nagios_range_format(const report_nagios_range_t *r, char *buf, size_t len)
{
    char start[40] = "", end[40] = "";

    if (r->start_infinite)
        snprintf(start, sizeof(start), "~");
    else
        snprintf(start, sizeof(start), "%g", r->start);
    if (!r->end_infinite)
        snprintf(end, sizeof(end), "%g", r->end);
    /* the short form the guidelines use: "N" for 0:N */
    if (!r->inside && !r->start_infinite && r->start == 0 && !r->end_infinite)
        snprintf(buf, len, "%s%s", r->inside ? "@" : "", end);
    else
        snprintf(buf, len, "%s%s:%s", r->inside ? "@" : "", start, end);
}

/* ---- output -------------------------------------------------------------- */

struct report_nagios {
    report_nagios_config_t cfg;
    FILE *lines;                /* the long output so far */
    char *lines_buf;
    size_t lines_len;
    bool failed;                /* out of memory while formatting */
    size_t domains, by_state[4];
    size_t mx, addresses_ok, addresses_failed;
    bool have_days;
    long days_min;
    report_nagios_state_t state;
    char *words;                /* the worst problem so far */
};

/* What the status line and the performance data need from one domain. */
typedef struct {
    report_nagios_state_t verdict_state, days_state;
    bool have_days;
    long days_min;
    const model_host_t *days_host;
    const model_address_t *days_address;
    int days_depth;
} domain_facts_t;

static bool printable(unsigned char c)
{
    return c >= 0x20 && c <= 0x7e;
}

/* Format, then censor: printable ASCII only, and no '|' (it would start
 * the performance data). */
__attribute__((format(printf, 2, 3)))
static void say(report_nagios_t *n, const char *fmt, ...)
{
    va_list ap;
    char *s = NULL;
    int len;

    va_start(ap, fmt);
    len = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (len < 0) {
        n->failed = true;
        return;
    }
    for (int i = 0; i < len; i++)
        fputc(!printable((unsigned char)s[i]) ? '?' : s[i] == '|' ? '/' : s[i], n->lines);
    free(s);
}

static void newline(report_nagios_t *n)
{
    fputc('\n', n->lines);
}

static const char *or_unknown(const char *s)
{
    return s != NULL ? s : "?";
}

static const char *words_or_name(const char *words, const char *name)
{
    return words != NULL ? words : name;
}

static void censor(char *s)
{
    for (; *s; s++)
        if (!printable((unsigned char)*s) || *s == '|')
            *s = *s == '|' ? '/' : '?';
}

report_nagios_t *report_nagios_new(const report_nagios_config_t *cfg)
{
    report_nagios_t *n = calloc(1, sizeof(*n));

    if (n == NULL)
        return NULL;
    n->cfg = *cfg;
    n->lines = open_memstream(&n->lines_buf, &n->lines_len);
    if (n->lines == NULL) {
        free(n);
        return NULL;
    }
    return n;
}

void report_nagios_free(report_nagios_t *n)
{
    if (n == NULL)
        return;
    fclose(n->lines);
    free(n->lines_buf);
    free(n->words);
    free(n);
}

report_nagios_state_t report_nagios_state(const report_nagios_t *n)
{
    return n->state;
}

/* ---- certificate expiry -------------------------------------------------- */

static void consider_days(domain_facts_t *f, const model_host_t *h, const model_address_t *a,
                          const model_cert_t *c, int depth)
{
    if (f->have_days && c->days_to_expiry >= f->days_min)
        return;
    f->have_days = true;
    f->days_min = c->days_to_expiry;
    f->days_host = h;
    f->days_address = a;
    f->days_depth = depth;
}

/* Every leaf served, and under DANE-TA every certificate up to the one
 * that matched: those are what authentication rests on.  RFC 7671 §5.1:
 * DANE-EE ignores expiry, but the operator asked to know (DESIGN.md). */
static void domain_days(const report_nagios_t *n, const model_domain_t *d, domain_facts_t *f)
{
    for (size_t i = 0; i < d->n_hosts; i++) {
        const model_host_t *h = &d->hosts[i];
        for (size_t k = 0; k < h->n_addresses; k++) {
            const model_address_t *a = &h->addresses[k];
            for (size_t j = 0; j < a->n_handshakes; j++) {
                const model_handshake_t *hs = &a->handshakes[j];
                size_t last = hs->matched && hs->matched_usage == 2 && hs->matched_depth > 0
                                  ? (size_t)hs->matched_depth : 0;
                for (size_t c = 0; c < hs->n_chain && c <= last; c++)
                    consider_days(f, h, a, &hs->chain[c], (int)c);
            }
        }
    }
    f->days_state = REPORT_NAGIOS_OK;
    if (!f->have_days)
        return;
    if (n->cfg.crit_days != NULL && report_nagios_range_alert(n->cfg.crit_days, (double)f->days_min))
        f->days_state = REPORT_NAGIOS_CRITICAL;
    else if (n->cfg.warn_days != NULL &&
             report_nagios_range_alert(n->cfg.warn_days, (double)f->days_min))
        f->days_state = REPORT_NAGIOS_WARNING;
}

static void say_days(report_nagios_t *n, long days)
{
    if (days >= 0)
        say(n, "expires in %ld day%s", days, days == 1 ? "" : "s");
    else
        say(n, "expired %ld day%s ago", -days, days == -1 ? "" : "s");
}

/* ---- long output ------------------------------------------------------------ */

static void say_state(report_nagios_t *n, report_nagios_state_t s)
{
    say(n, "[%s] ", report_nagios_state_name(s));
}

static void say_result(report_nagios_t *n, model_addr_result_t result, const char *reason)
{
    say(n, "%s", words_or_name(report_text_addr_result_words(result),
                               model_addr_result_name(result)));
    if (reason != NULL)
        say(n, " (%s)", reason);
}

static void say_match(report_nagios_t *n, const model_handshake_t *hs)
{
    if (hs->matched)
        say(n, ", TLSA %u %u %u at depth %d", hs->matched_usage, hs->matched_selector,
            hs->matched_mtype, hs->matched_depth);
}

static void say_tls(report_nagios_t *n, const model_handshake_t *hs)
{
    const model_cert_t *leaf = hs->n_chain > 0 ? &hs->chain[0] : NULL;

    say(n, "%s", or_unknown(hs->tls_version));
    if (hs->cipher != NULL)
        say(n, " %s", hs->cipher);
    if (leaf != NULL) {
        say(n, "; certificate %s", or_unknown(leaf->subject));
        if (leaf->key_type != NULL)
            say(n, ", %s", leaf->key_type);
        say(n, ", not after %s", or_unknown(leaf->not_after));
    }
}

static void say_address(report_nagios_t *n, const model_domain_t *d, const model_host_t *h,
                        const model_address_t *a)
{
    bool req = n->cfg.require_dane;
    const model_handshake_t *primary = model_primary_handshake(a);

    say_state(n, report_nagios_result_state(d, h, a->result, req));
    say(n, "  %s[%s]: ", or_unknown(h->name), or_unknown(a->address));
    say_result(n, a->result, a->reason);
    if (a->result == MODEL_ADDR_DANE_PASS && primary != NULL)
        say_match(n, primary);
    if (primary != NULL && primary->n_chain > 0) {
        say(n, "; certificate ");
        say_days(n, primary->chain[0].days_to_expiry);
    }
    newline(n);
    if (n->cfg.verbosity < 2)
        return;
    for (size_t i = 0; i < a->n_handshakes; i++) {
        const model_handshake_t *hs = &a->handshakes[i];

        if (a->n_handshakes == 1 && hs->tls_version == NULL)
            continue;
        say(n, "      ");
        /* RULES A7: with two certificates, each one's own result */
        if (a->n_handshakes > 1) {
            say(n, "%s certificate: ", or_unknown(hs->cert_type));
            say_result(n, hs->result, hs->reason);
            say_match(n, hs);
            if (hs->tls_version != NULL)
                say(n, "; ");
        }
        if (hs->tls_version != NULL)
            say_tls(n, hs);
        newline(n);
    }
}

static void say_host(report_nagios_t *n, const model_domain_t *d, const model_host_t *h)
{
    const model_tlsa_t *t = &h->tlsa;

    say_state(n, report_nagios_host_state(d, h, n->cfg.require_dane));
    if (h->preference < 0)
        say(n, "MX (implicit) %s: ", or_unknown(h->name));
    else
        say(n, "MX %d %s: ", h->preference, or_unknown(h->name));
    say(n, "%s; addresses %s", words_or_name(report_text_host_status_words(h->status),
                                             model_host_status_name(h->status)),
        model_dnssec_name(h->dnssec));
    if (t->looked_up)
        say(n, "; TLSA %s%s", model_dnssec_name(t->dnssec), t->lookup_failed ? " (lookup failed)" : "");
    newline(n);
    if (n->cfg.verbosity >= 2) {
        for (size_t i = 0; i < t->n_records; i++) {
            const model_tlsa_record_t *r = &t->records[i];
            say(n, "      TLSA %u %u %u %s: %s", r->usage, r->selector, r->mtype,
                or_unknown(r->data_hex), r->usable ? "usable" : or_unknown(r->unusable_reason));
            newline(n);
        }
    }
    for (size_t i = 0; i < h->n_addresses; i++)
        say_address(n, d, h, &h->addresses[i]);
    if (h->addresses_cut > 0) {
        say(n, "       %zu more address(es) not checked (per-host limit)", h->addresses_cut);
        newline(n);
    }
}

static void say_findings(report_nagios_t *n, const model_domain_t *d)
{
    for (size_t i = 0; i < d->n_findings; i++) {
        const model_finding_t *f = &d->findings[i];

        say(n, "  %s %s: %s", model_severity_name(f->severity), or_unknown(f->code),
            or_unknown(f->message));
        if (f->host != NULL)
            say(n, " (%s%s%s%s)", f->host, f->address ? "[" : "", f->address ? f->address : "",
                f->address ? "]" : "");
        newline(n);
    }
}

/* ---- the status line --------------------------------------------------------- */

/* The first host or address in the verdict's state: the verdict's cause. */
static char *verdict_cause(const report_nagios_t *n, const model_domain_t *d,
                           report_nagios_state_t want)
{
    bool req = n->cfg.require_dane;
    char *s = NULL;

    for (size_t i = 0; i < d->n_hosts; i++) {
        const model_host_t *h = &d->hosts[i];
        const char *hw = words_or_name(report_text_host_status_words(h->status),
                                       model_host_status_name(h->status));

        if (report_nagios_host_state(d, h, req) != want)
            continue;
        if (!dane_host(h) || h->status != MODEL_HOST_DANE || h->n_addresses == 0) {
            if (asprintf(&s, "%s: %s", or_unknown(h->name), hw) < 0)
                return NULL;
            return s;
        }
        for (size_t k = 0; k < h->n_addresses; k++) {
            const model_address_t *a = &h->addresses[k];
            const char *aw = words_or_name(report_text_addr_result_words(a->result),
                                           model_addr_result_name(a->result));
            if (report_nagios_result_state(d, h, a->result, req) != want)
                continue;
            if (asprintf(&s, "%s[%s]: %s%s%s%s", or_unknown(h->name), or_unknown(a->address), aw,
                         a->reason ? " (" : "", a->reason ? a->reason : "", a->reason ? ")" : "") < 0)
                return NULL;
            return s;
        }
    }
    return NULL;
}

/* What the status line says about one domain: "<domain>: <verdict and
 * its cause>", with the certificate expiry when it crossed a threshold
 * (the worse of the two first). */
static char *domain_words(const report_nagios_t *n, const model_domain_t *d,
                          const domain_facts_t *f)
{
    const char *vw = words_or_name(report_text_verdict_words(d->verdict),
                                   model_verdict_name(d->verdict));
    const char *name = or_unknown(d->domain);
    char *cause = NULL, *verdict = NULL, *days = NULL, *s = NULL;
    size_t ok = 0, total = 0;
    int rc;

    switch (d->verdict) {
    case MODEL_VERDICT_INVALID_INPUT:
        name = or_unknown(d->input);
        rc = asprintf(&verdict, "%s", or_unknown(d->error));
        break;
    case MODEL_VERDICT_NXDOMAIN:
    case MODEL_VERDICT_DNSSEC_BOGUS:
    case MODEL_VERDICT_DNS_ERROR:
        rc = asprintf(&verdict, "%s (MX lookup %s%s%s)", vw, model_dnssec_name(d->mx_dnssec),
                      d->mx_reason ? ": " : "", d->mx_reason ? d->mx_reason : "");
        break;
    case MODEL_VERDICT_DANE_VALID:
        for (size_t i = 0; i < d->n_hosts; i++)
            for (size_t k = 0; k < d->hosts[i].n_addresses; k++, total++)
                ok += d->hosts[i].addresses[k].result == MODEL_ADDR_DANE_PASS;
        rc = asprintf(&verdict, "%s, %zu of %zu address%s authenticated", vw, ok, total,
                      total == 1 ? "" : "es");
        break;
    case MODEL_VERDICT_NO_DANE:
    case MODEL_VERDICT_INSECURE:
        rc = asprintf(&verdict, "%s%s", vw, n->cfg.require_dane ? " (DANE is required)" : "");
        break;
    default:
        cause = verdict_cause(n, d, f->verdict_state);
        rc = asprintf(&verdict, "%s%s%s", vw, cause ? ": " : "", cause ? cause : "");
        free(cause);
        break;
    }
    if (rc < 0)
        return NULL;
    if (f->days_state == REPORT_NAGIOS_OK) {
        rc = asprintf(&s, "%s: %s", name, verdict);
        free(verdict);
        return rc < 0 ? NULL : s;
    }
    rc = asprintf(&days, "%scertificate of %s[%s] %s %ld day%s%s", f->days_depth > 0 ? "CA " : "",
                  or_unknown(f->days_host->name), or_unknown(f->days_address->address),
                  f->days_min >= 0 ? "expires in" : "expired", labs(f->days_min),
                  labs(f->days_min) == 1 ? "" : "s", f->days_min >= 0 ? "" : " ago");
    if (rc >= 0) {
        if (f->days_state > f->verdict_state)
            rc = asprintf(&s, "%s: %s; %s", name, days, verdict);
        else
            rc = asprintf(&s, "%s: %s; %s", name, verdict, days);
    }
    free(verdict);
    free(days);
    return rc < 0 ? NULL : s;
}

int report_nagios_add(report_nagios_t *n, const model_domain_t *d)
{
    domain_facts_t f = {.verdict_state = report_nagios_verdict_state(d->verdict,
                                                                      n->cfg.require_dane)};
    report_nagios_state_t state;
    char *words;

    domain_days(n, d, &f);
    state = worse(f.verdict_state, f.days_state);
    n->domains++;
    n->by_state[state]++;
    if (f.have_days && (!n->have_days || f.days_min < n->days_min)) {
        n->have_days = true;
        n->days_min = f.days_min;
    }
    n->mx += d->n_hosts;
    for (size_t i = 0; i < d->n_hosts; i++) {
        const model_host_t *h = &d->hosts[i];
        for (size_t k = 0; k < h->n_addresses; k++) {
            model_addr_result_t r = h->addresses[k].result;
            if (report_nagios_result_state(d, h, r, n->cfg.require_dane) != REPORT_NAGIOS_OK)
                n->addresses_failed++;
            else if (r != MODEL_ADDR_SKIPPED)
                n->addresses_ok++;
        }
    }
    /* the first domain in the worst state names the problem */
    if (n->words == NULL || state > n->state) {
        words = domain_words(n, d, &f);
        if (words == NULL)
            return -1;
        censor(words);
        free(n->words);
        n->words = words;
    }
    n->state = worse(n->state, state);

    if (n->cfg.domain_lines) {
        say_state(n, state);
        words = domain_words(n, d, &f);
        say(n, "%s", or_unknown(words));
        newline(n);
        free(words);
    }
    for (size_t i = 0; i < d->n_hosts; i++)
        say_host(n, d, &d->hosts[i]);
    if (d->hosts_cut > 0) {
        say(n, "    %zu more MX host(s) not checked (per-domain limit)", d->hosts_cut);
        newline(n);
    }
    if (n->cfg.verbosity >= 1)
        say_findings(n, d);
    return n->failed ? -1 : 0;
}

static void write_perfdata(const report_nagios_t *n, FILE *out, double seconds)
{
    char warn[64] = "", crit[64] = "";

    fputs(" |", out);
    if (n->cfg.domain_lines)
        fprintf(out, " domains=%zu", n->domains);
    fprintf(out, " mx=%zu addresses_ok=%zu addresses_failed=%zu", n->mx, n->addresses_ok,
            n->addresses_failed);
    if (n->have_days)
        fprintf(out, " cert_days_min=%ld", n->days_min);
    else
        fputs(" cert_days_min=U", out);   /* guidelines: "U", value undetermined */
    if (n->cfg.warn_days != NULL)
        report_nagios_range_format(n->cfg.warn_days, warn, sizeof(warn));
    if (n->cfg.crit_days != NULL)
        report_nagios_range_format(n->cfg.crit_days, crit, sizeof(crit));
    if (*warn || *crit)
        fprintf(out, ";%s;%s", warn, crit);
    fprintf(out, " time=%.3fs\n", seconds);
}

static int finish(report_nagios_t *n, FILE *out, report_nagios_state_t state, const char *words,
                  double seconds)
{
    fprintf(out, "DANE %s - ", report_nagios_state_name(state));
    for (const char *p = words; *p; p++)
        fputc(!printable((unsigned char)*p) ? '?' : *p == '|' ? '/' : *p, out);
    write_perfdata(n, out, seconds);
    if (fflush(n->lines) == EOF)
        n->failed = true;
    fwrite(n->lines_buf, 1, n->lines_len, out);
    if (fflush(out) == EOF || ferror(out) || n->failed)
        return -1;
    return 0;
}

int report_nagios_write(report_nagios_t *n, FILE *out, double seconds)
{
    char *summary = NULL;
    int rc;

    if (n->domains == 0)
        return finish(n, out, REPORT_NAGIOS_UNKNOWN, "no domain was checked", seconds);
    if (n->domains == 1)
        return finish(n, out, n->state, or_unknown(n->words), seconds);
    if (asprintf(&summary, "%zu domains: %zu critical, %zu warning, %zu OK%s%s", n->domains,
                 n->by_state[REPORT_NAGIOS_CRITICAL], n->by_state[REPORT_NAGIOS_WARNING],
                 n->by_state[REPORT_NAGIOS_OK], n->state != REPORT_NAGIOS_OK ? "; worst: " : "",
                 n->state != REPORT_NAGIOS_OK ? or_unknown(n->words) : "") < 0)
        return -1;
    rc = finish(n, out, n->state, summary, seconds);
    free(summary);
    return rc;
}

int report_nagios_write_abort(report_nagios_t *n, FILE *out, report_nagios_state_t state,
                              const char *why, double seconds)
{
    return finish(n, out, state, why, seconds);
}
