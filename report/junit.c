/* junit.c - the JUnit XML report (the de-facto schema GitLab and Jenkins
 * read: testsuites > testsuite > testcase > failure | skipped |
 * system-out).
 *
 * A suite needs its counts in its start tag, so its testcases are first
 * built in a memory stream, then written after the <testsuite> tag.
 * Everything from the model goes through report_junit_escape.
 */
#include "junit.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"

typedef struct {
    FILE *f;                    /* the suite's testcases */
    char *buf;
    size_t len;
    size_t tests, failures, skipped;
    bool failed;                /* out of memory */
    const model_domain_t *d;
    const report_junit_config_t *cfg;
} suite_t;

char *report_junit_escape(const char *s)
{
    size_t n = 0;
    char *out, *p;

    for (const char *c = s; *c; c++) {
        switch (*c) {
        case '&': n += 5; break;
        case '<': case '>': n += 4; break;
        case '"': case '\'': n += 6; break;
        case '\n': n += 5; break;
        case '\t': n += 4; break;
        default: n++; break;
        }
    }
    out = malloc(n + 1);
    if (out == NULL)
        return NULL;
    p = out;
    for (const char *c = s; *c; c++) {
        unsigned char u = (unsigned char)*c;
        const char *e = NULL;

        switch (*c) {
        case '&': e = "&amp;"; break;
        case '<': e = "&lt;"; break;
        case '>': e = "&gt;"; break;
        case '"': e = "&quot;"; break;
        case '\'': e = "&apos;"; break;
        /* character references: attribute values keep them (a literal
         * newline there is normalised to a space) */
        case '\n': e = "&#10;"; break;
        case '\t': e = "&#9;"; break;
        default: break;
        }
        if (e != NULL) {
            memcpy(p, e, strlen(e));
            p += strlen(e);
        } else {
            /* XML 1.0 forbids most control characters; non-ASCII bytes
             * could be invalid UTF-8: both become '?' */
            *p++ = (u >= 0x20 && u <= 0x7e) ? *c : '?';
        }
    }
    *p = '\0';
    return out;
}

/* Format, escape, write. */
__attribute__((format(printf, 2, 3)))
static void put(suite_t *s, const char *fmt, ...)
{
    va_list ap;
    char *raw = NULL, *esc;
    int n;

    va_start(ap, fmt);
    n = vasprintf(&raw, fmt, ap);
    va_end(ap);
    if (n < 0) {
        s->failed = true;
        return;
    }
    esc = report_junit_escape(raw);
    free(raw);
    if (esc == NULL) {
        s->failed = true;
        return;
    }
    fputs(esc, s->f);
    free(esc);
}

static const char *or_unknown(const char *s)
{
    return s != NULL ? s : "?";
}

static const char *words_or_name(const char *words, const char *name)
{
    return words != NULL ? words : name;
}

static const char *state_type(report_nagios_state_t state)
{
    return state == REPORT_NAGIOS_CRITICAL ? "critical"
         : state == REPORT_NAGIOS_WARNING ? "warning" : "unknown";
}

/* <testcase ...> up to its outcome element; the caller writes the
 * details, then case_end. */
static void case_begin(suite_t *s, const char *name, double seconds)
{
    s->tests++;
    fputs("    <testcase classname=\"", s->f);
    put(s, "%s", or_unknown(s->d->domain != NULL ? s->d->domain : s->d->input));
    fputs("\" name=\"", s->f);
    put(s, "%s", name);
    fprintf(s->f, "\" time=\"%.3f\">\n", seconds);
}

/* The outcome: <failure> (message = message, body = details), a note in
 * <system-out> when below the failure level, or <skipped/>. */
static void case_outcome(suite_t *s, report_nagios_state_t state, bool skipped,
                         const char *message, const char *details)
{
    if (skipped) {
        s->skipped++;
        fputs("      <skipped message=\"", s->f);
        put(s, "%s", message);
        fputs("\"/>\n", s->f);
    } else if (state != REPORT_NAGIOS_OK && state >= s->cfg->fail_at) {
        s->failures++;
        fprintf(s->f, "      <failure type=\"%s\" message=\"", state_type(state));
        put(s, "%s", message);
        fputs("\">", s->f);
        put(s, "%s", details);
        fputs("</failure>\n", s->f);
        return;
    }
    fputs("      <system-out>", s->f);
    if (state != REPORT_NAGIOS_OK)
        put(s, "%s: ", report_nagios_state_name(state));
    put(s, "%s\n%s", message, details);
    fputs("</system-out>\n", s->f);
}

static void case_end(suite_t *s)
{
    fputs("    </testcase>\n", s->f);
}

/* ---- details ------------------------------------------------------------- */

static void say_tlsa(FILE *f, const model_host_t *h)
{
    const model_tlsa_t *t = &h->tlsa;

    fprintf(f, "MX host %s: %s; addresses %s\n", or_unknown(h->name),
            words_or_name(report_text_host_status_words(h->status), model_host_status_name(h->status)),
            model_dnssec_name(h->dnssec));
    if (!t->looked_up)
        return;
    fprintf(f, "TLSA at %s: %s%s%s%s\n", or_unknown(t->qname), model_dnssec_name(t->dnssec),
            t->reason ? " (" : "", t->reason ? t->reason : "", t->reason ? ")" : "");
    for (size_t i = 0; i < t->n_records; i++)
        fprintf(f, "  TLSA %u %u %u %s: %s\n", t->records[i].usage, t->records[i].selector,
                t->records[i].mtype, or_unknown(t->records[i].data_hex),
                t->records[i].usable ? "usable" : or_unknown(t->records[i].unusable_reason));
}

static void say_handshake(FILE *f, const model_handshake_t *hs)
{
    if (hs->matched)
        fprintf(f, "matched TLSA %u %u %u at depth %d\n", hs->matched_usage,
                hs->matched_selector, hs->matched_mtype, hs->matched_depth);
    if (hs->tls_version != NULL)
        fprintf(f, "TLS: %s %s %s\n", hs->tls_version, or_unknown(hs->cipher),
                or_unknown(hs->group));
    for (size_t c = 0; c < hs->n_chain; c++) {
        const model_cert_t *cert = &hs->chain[c];
        fprintf(f, "certificate %zu: %s, issuer %s, not after %s (%ld days)\n", c,
                or_unknown(cert->subject), or_unknown(cert->issuer),
                or_unknown(cert->not_after), cert->days_to_expiry);
    }
}

/* One probed result: an address, or one certificate of it. */
static int address_case(suite_t *s, const model_host_t *h, const model_address_t *a,
                        const model_handshake_t *hs)
{
    model_addr_result_t result = hs != NULL ? hs->result : a->result;
    const char *reason = hs != NULL ? hs->reason : a->reason;
    report_nagios_state_t state = report_nagios_result_state(s->d, h, result,
                                                             s->cfg->require_dane);
    char *name = NULL, *message = NULL, *details = NULL;
    size_t details_len = 0;
    FILE *f;
    int rc = -1;

    if (asprintf(&name, "%s[%s]%s%s%s", or_unknown(h->name), or_unknown(a->address),
                 hs != NULL ? " " : "", hs != NULL ? or_unknown(hs->cert_type) : "",
                 hs != NULL ? " certificate" : "") < 0)
        return -1;
    if (asprintf(&message, "%s%s%s%s",
                 words_or_name(report_text_addr_result_words(result), model_addr_result_name(result)),
                 reason ? " (" : "", reason ? reason : "", reason ? ")" : "") < 0)
        goto done;
    f = open_memstream(&details, &details_len);
    if (f == NULL)
        goto done;
    fprintf(f, "result: %s\n", model_addr_result_name(result));
    say_tlsa(f, h);
    if (hs != NULL)
        say_handshake(f, hs);
    else
        for (size_t i = 0; i < a->n_handshakes; i++)
            say_handshake(f, &a->handshakes[i]);
    if (a->banner != NULL)
        fprintf(f, "banner: %s\n", a->banner);
    if (fclose(f) != 0)
        goto done;
    case_begin(s, name, (a->ms_connect + a->ms_banner + a->ms_ehlo + a->ms_starttls +
                         a->ms_handshake) / 1000.0);
    case_outcome(s, state, result == MODEL_ADDR_SKIPPED, message, details);
    case_end(s);
    rc = 0;
done:
    free(name);
    free(message);
    free(details);
    return rc;
}

/* A host with no address to probe: its status is the outcome. */
static int host_case(suite_t *s, const model_host_t *h)
{
    report_nagios_state_t state = report_nagios_host_state(s->d, h, s->cfg->require_dane);
    char *details = NULL;
    size_t details_len = 0;
    FILE *f = open_memstream(&details, &details_len);

    if (f == NULL)
        return -1;
    say_tlsa(f, h);
    if (h->dnssec_reason != NULL)
        fprintf(f, "address lookup: %s\n", h->dnssec_reason);
    if (fclose(f) != 0) {
        free(details);
        return -1;
    }
    case_begin(s, or_unknown(h->name), 0);
    case_outcome(s, state, false,
                 words_or_name(report_text_host_status_words(h->status),
                               model_host_status_name(h->status)),
                 details);
    case_end(s);
    free(details);
    return 0;
}

static int verdict_case(suite_t *s, double seconds)
{
    const model_domain_t *d = s->d;
    report_nagios_state_t state = report_nagios_verdict_state(d->verdict, s->cfg->require_dane);
    char *message = NULL, *details = NULL;
    size_t details_len = 0;
    FILE *f;
    int rc = -1;

    if (d->verdict == MODEL_VERDICT_INVALID_INPUT)
        rc = asprintf(&message, "invalid input: %s", or_unknown(d->error));
    else
        rc = asprintf(&message, "%s (%s)%s",
                      words_or_name(report_text_verdict_words(d->verdict),
                                    model_verdict_name(d->verdict)),
                      model_verdict_name(d->verdict),
                      state == REPORT_NAGIOS_CRITICAL && s->cfg->require_dane &&
                              (d->verdict == MODEL_VERDICT_NO_DANE ||
                               d->verdict == MODEL_VERDICT_INSECURE)
                          ? ": DANE is required" : "");
    if (rc < 0)
        return -1;
    rc = -1;
    f = open_memstream(&details, &details_len);
    if (f == NULL)
        goto done;
    if (d->verdict != MODEL_VERDICT_INVALID_INPUT)
        fprintf(f, "MX lookup: DNSSEC %s%s%s\n", model_dnssec_name(d->mx_dnssec),
                d->mx_reason ? ": " : "", d->mx_reason ? d->mx_reason : "");
    for (size_t i = 0; i < d->n_findings; i++)
        fprintf(f, "%s %s: %s\n", model_severity_name(d->findings[i].severity),
                or_unknown(d->findings[i].code), or_unknown(d->findings[i].message));
    if (fclose(f) != 0)
        goto done;
    case_begin(s, "verdict", seconds);
    case_outcome(s, state, false, message, details);
    case_end(s);
    rc = 0;
done:
    free(message);
    free(details);
    return rc;
}

/* ---- the document ----------------------------------------------------------- */

int report_junit_begin(FILE *out)
{
    fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"danescan\">\n", out);
    return fflush(out) == EOF || ferror(out) ? -1 : 0;
}

int report_junit_end(FILE *out)
{
    fputs("</testsuites>\n", out);
    return fflush(out) == EOF || ferror(out) ? -1 : 0;
}

int report_junit_write(FILE *out, const model_domain_t *d, double seconds,
                       const report_junit_config_t *cfg)
{
    suite_t s = {.d = d, .cfg = cfg};
    int rc = 0;

    s.f = open_memstream(&s.buf, &s.len);
    if (s.f == NULL)
        return -1;
    rc |= verdict_case(&s, seconds);
    for (size_t i = 0; i < d->n_hosts; i++) {
        const model_host_t *h = &d->hosts[i];
        if (h->n_addresses == 0)
            rc |= host_case(&s, h);
        for (size_t k = 0; k < h->n_addresses; k++) {
            const model_address_t *a = &h->addresses[k];
            /* RULES A7: every certificate the server holds must match */
            if (a->n_handshakes > 1)
                for (size_t j = 0; j < a->n_handshakes; j++)
                    rc |= address_case(&s, h, a, &a->handshakes[j]);
            else
                rc |= address_case(&s, h, a, NULL);
        }
    }
    if (fclose(s.f) != 0 || rc != 0 || s.failed) {
        free(s.buf);
        return -1;
    }
    fputs("  <testsuite name=\"", out);
    s.f = out;
    put(&s, "%s", or_unknown(d->domain != NULL ? d->domain : d->input));
    fprintf(out, "\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" skipped=\"%zu\" time=\"%.3f\">\n",
            s.tests, s.failures, s.skipped, seconds);
    fputs("    <properties>\n      <property name=\"verdict\" value=\"", out);
    put(&s, "%s", model_verdict_name(d->verdict));
    fputs("\"/>\n", out);
    if (d->verdict != MODEL_VERDICT_INVALID_INPUT) {
        fputs("      <property name=\"mx_dnssec\" value=\"", out);
        put(&s, "%s", model_dnssec_name(d->mx_dnssec));
        fputs("\"/>\n", out);
    }
    fputs("    </properties>\n", out);
    fwrite(s.buf, 1, s.len, out);
    fputs("  </testsuite>\n", out);
    free(s.buf);
    if (fflush(out) == EOF || ferror(out) || s.failed)
        return -1;
    return 0;
}
