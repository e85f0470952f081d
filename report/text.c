/* text.c - the text report: what a mail administrator reads.
 *
 * Every value of every vocabulary has words in a table here (the unit
 * test walks the enums).  All text, ours and the model's, goes out
 * through say(), which censors it to printable ASCII: a report read on a
 * terminal must not carry a server's escape sequences.  Colour codes are
 * the only other bytes written.
 */
#include "text.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* DESIGN.md's Nagios mapping: OK green, WARNING yellow, CRITICAL red.
 * no-dane and insecure are OK by default but are not DANE: uncoloured. */
typedef enum {
    TEXT_TONE_PLAIN,
    TEXT_TONE_GOOD,
    TEXT_TONE_WARN,
    TEXT_TONE_BAD,
} text_tone_t;

typedef struct {
    const char *words;
    const char *why;            /* verdicts only: the explanation */
    text_tone_t tone;
} text_words_t;

static const text_words_t verdict_words[] = {
    [MODEL_VERDICT_INVALID_INPUT] = {"invalid input", "the line is not a domain name",
                                     TEXT_TONE_BAD},
    [MODEL_VERDICT_NXDOMAIN] = {"no such domain", "the domain does not exist", TEXT_TONE_BAD},
    [MODEL_VERDICT_NULL_MX] = {"null MX", "the domain accepts no mail (RFC 7505)",
                               TEXT_TONE_GOOD},
    [MODEL_VERDICT_DNSSEC_BOGUS] = {"DNSSEC bogus",
                                    "the MX lookup failed DNSSEC validation: "
                                    "DANE senders defer all mail",
                                    TEXT_TONE_BAD},
    [MODEL_VERDICT_DNS_ERROR] = {"DNS error", "the MX lookup failed", TEXT_TONE_BAD},
    [MODEL_VERDICT_DANE_INVALID] = {"DANE invalid",
                                    "TLSA is published but does not authenticate: "
                                    "DANE senders defer mail to the failing hosts",
                                    TEXT_TONE_BAD},
    [MODEL_VERDICT_INSECURE] = {"insecure",
                                "the MX records are not DNSSEC-signed: mail can be "
                                "redirected; DANE protects only hosts that publish it",
                                TEXT_TONE_PLAIN},
    [MODEL_VERDICT_DANE_INCOMPLETE] = {"DANE incomplete",
                                       "DANE is published and nothing failed, "
                                       "but some addresses could not be checked",
                                       TEXT_TONE_WARN},
    [MODEL_VERDICT_DANE_VALID] = {"DANE valid", "every MX host authenticates with DANE",
                                  TEXT_TONE_GOOD},
    [MODEL_VERDICT_DANE_PARTIAL] = {"DANE partial",
                                    "some MX hosts authenticate with DANE, "
                                    "the others have no DANE",
                                    TEXT_TONE_WARN},
    [MODEL_VERDICT_NO_DANE] = {"no DANE", "no MX host publishes TLSA records",
                               TEXT_TONE_PLAIN},
};

static const text_words_t host_words[] = {
    [MODEL_HOST_DANE] = {"DANE", NULL, TEXT_TONE_GOOD},
    [MODEL_HOST_DANE_UNUSABLE] = {"TLSA published but no record is usable", NULL,
                                  TEXT_TONE_BAD},
    [MODEL_HOST_NO_TLSA] = {"no DANE: no TLSA records (securely denied)", NULL,
                            TEXT_TONE_PLAIN},
    [MODEL_HOST_INSECURE] = {"no DANE: not DNSSEC-signed", NULL, TEXT_TONE_PLAIN},
    [MODEL_HOST_BOGUS] = {"DNSSEC validation failed (bogus)", NULL, TEXT_TONE_BAD},
    [MODEL_HOST_LOOKUP_ERROR] = {"lookup failed", NULL, TEXT_TONE_BAD},
    [MODEL_HOST_NO_ADDRESS] = {"no address records", NULL, TEXT_TONE_WARN},
};

static const text_words_t addr_words[] = {
    [MODEL_ADDR_DANE_PASS] = {"authenticated by DANE", NULL, TEXT_TONE_GOOD},
    [MODEL_ADDR_DANE_FAIL] = {"DANE authentication failed", NULL, TEXT_TONE_BAD},
    [MODEL_ADDR_TLS_UNAUTHENTICATED] = {"TLS works, but no TLSA record is usable: "
                                        "the connection is not authenticated",
                                        NULL, TEXT_TONE_BAD},
    [MODEL_ADDR_TLS_ONLY] = {"STARTTLS works, not authenticated: the host has no DANE", NULL,
                             TEXT_TONE_PLAIN},
    [MODEL_ADDR_NO_STARTTLS] = {"STARTTLS not offered", NULL, TEXT_TONE_BAD},
    [MODEL_ADDR_TLS_FAILED] = {"TLS handshake failed", NULL, TEXT_TONE_BAD},
    [MODEL_ADDR_SMTP_ERROR] = {"SMTP error", NULL, TEXT_TONE_BAD},
    [MODEL_ADDR_CONNECT_FAILED] = {"connection failed", NULL, TEXT_TONE_WARN},
    [MODEL_ADDR_TIMEOUT] = {"timed out", NULL, TEXT_TONE_WARN},
    [MODEL_ADDR_BLOCKED] = {"blocked: private or reserved address (use --allow-private)", NULL,
                            TEXT_TONE_WARN},
    [MODEL_ADDR_SKIPPED] = {"not probed", NULL, TEXT_TONE_PLAIN},
};

static const text_tone_t severity_tones[] = {
    [MODEL_SEVERITY_INFO] = TEXT_TONE_PLAIN,
    [MODEL_SEVERITY_WARNING] = TEXT_TONE_WARN,
    [MODEL_SEVERITY_CRITICAL] = TEXT_TONE_BAD,
};

/* The reasons a failure carries (DESIGN.md "Address result", tls.h's
 * tls_auth_name), and the phases a timeout or SMTP error names. */
static const struct {
    const char *code, *words;
} reason_words[] = {
    {"tlsa-mismatch", "certificate does not match any TLSA record"},
    {"name-mismatch", "a trust anchor matched, but the certificate does not name the host"},
    {"cert-expired", "the certificate chain has expired"},
    {"chain-invalid", "the certificate chain does not verify"},
    {"starttls-injection", "plaintext was injected after STARTTLS"},
}, phase_words[] = {
    {"connect", "connect"},
    {"banner", "banner"},
    {"ehlo", "EHLO"},
    {"starttls", "STARTTLS"},
    {"handshake", "TLS handshake"},
};

#define COUNT(table) (sizeof(table) / sizeof((table)[0]))

static const text_words_t *lookup(const text_words_t *table, size_t n, size_t v)
{
    static const text_words_t none = {"?", "?", TEXT_TONE_PLAIN};

    return v < n && table[v].words != NULL ? &table[v] : &none;
}

#define LOOKUP(table, v) lookup(table, COUNT(table), (size_t)(v))

const char *report_text_verdict_words(model_verdict_t verdict)
{
    size_t v = (size_t)verdict;

    if (v >= COUNT(verdict_words) || verdict_words[v].why == NULL)
        return NULL;
    return verdict_words[v].words;
}

const char *report_text_host_status_words(model_host_status_t status)
{
    size_t v = (size_t)status;

    return v < COUNT(host_words) ? host_words[v].words : NULL;
}

const char *report_text_addr_result_words(model_addr_result_t result)
{
    size_t v = (size_t)result;

    return v < COUNT(addr_words) ? addr_words[v].words : NULL;
}

/* ---- output ----------------------------------------------------------- */

typedef struct {
    FILE *f;
    bool color;
    bool failed;                /* out of memory while formatting */
} text_out_t;

static bool printable(unsigned char c)
{
    return c >= 0x20 && c <= 0x7e;
}

static const char *or_unknown(const char *s)
{
    return s != NULL ? s : "?";
}

/* Format, then censor: '?' for every byte that is not printable ASCII,
 * as the probes do. */
__attribute__((format(printf, 2, 3)))
static void say(text_out_t *o, const char *fmt, ...)
{
    va_list ap;
    char *s = NULL;
    int n;

    va_start(ap, fmt);
    n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0) {
        o->failed = true;
        return;
    }
    for (int i = 0; i < n; i++)
        fputc(printable((unsigned char)s[i]) ? s[i] : '?', o->f);
    free(s);
}

static void newline(text_out_t *o)
{
    fputc('\n', o->f);
}

static void paint(text_out_t *o, text_tone_t tone)
{
    static const char *const codes[] = {
        [TEXT_TONE_GOOD] = "\033[32m",
        [TEXT_TONE_WARN] = "\033[33m",
        [TEXT_TONE_BAD] = "\033[31m",
    };

    if (o->color && tone != TEXT_TONE_PLAIN)
        fputs(codes[tone], o->f);
}

static void unpaint(text_out_t *o, text_tone_t tone)
{
    if (o->color && tone != TEXT_TONE_PLAIN)
        fputs("\033[0m", o->f);
}

/* ---- sentences ------------------------------------------------------------ */

/* "<words> (<code>)" for a known reason, else "<fallback> (<code>)". */
static void say_reason(text_out_t *o, const char *reason, const char *fallback)
{
    if (reason == NULL) {
        say(o, "%s", fallback);
        return;
    }
    for (size_t i = 0; i < COUNT(reason_words); i++) {
        if (strcmp(reason, reason_words[i].code) == 0) {
            say(o, "%s (%s)", reason_words[i].words, reason);
            return;
        }
    }
    say(o, "%s (%s)", fallback, reason);
}

/* "<fallback> in the <phase> phase" for a known phase. */
static void say_phase(text_out_t *o, const char *reason, const char *fallback)
{
    for (size_t i = 0; reason != NULL && i < COUNT(phase_words); i++) {
        if (strcmp(reason, phase_words[i].code) == 0) {
            say(o, "%s in the %s phase", fallback, phase_words[i].words);
            return;
        }
    }
    say_reason(o, reason, fallback);
}

/* RFC 6698 §2.1: usage 3 binds the server's own certificate or key,
 * usage 2 a trust anchor above it; selector 0 the certificate, 1 the key. */
static void say_match(text_out_t *o, const model_handshake_t *hs)
{
    const char *whose = hs->matched_usage == 3 ? "the server's"
                      : hs->matched_usage == 2 ? "a trust anchor's" : "a";
    const char *what = hs->matched_selector == 0 ? "certificate"
                     : hs->matched_selector == 1 ? "public key" : "data";

    say(o, "TLSA %u %u %u matched %s %s (depth %d)", hs->matched_usage, hs->matched_selector,
        hs->matched_mtype, whose, what, hs->matched_depth);
}

static bool dane_host(const model_host_t *h)
{
    return h->status == MODEL_HOST_DANE || h->status == MODEL_HOST_DANE_UNUSABLE;
}

/* What one handshake of a several-certificate server ended in (A7). */
static void say_handshake(text_out_t *o, const model_handshake_t *hs)
{
    const text_words_t *w = LOOKUP(addr_words, hs->result);

    paint(o, w->tone);
    if (hs->result == MODEL_ADDR_DANE_PASS && hs->matched)
        say_match(o, hs);
    else if (hs->result == MODEL_ADDR_DANE_FAIL || hs->result == MODEL_ADDR_TLS_FAILED)
        say_reason(o, hs->reason, w->words);
    else if (hs->reason != NULL)
        say(o, "%s (%s)", w->words, hs->reason);
    else
        say(o, "%s", w->words);
    unpaint(o, w->tone);
}

static const model_handshake_t *find_handshake(const model_address_t *a,
                                               model_addr_result_t result)
{
    for (size_t i = 0; i < a->n_handshakes; i++)
        if (a->handshakes[i].result == result)
            return &a->handshakes[i];
    return NULL;
}

static text_tone_t result_tone(const model_host_t *h, const model_address_t *a)
{
    /* RFC 7672 §2.2: TLS is mandatory only where TLSA is published. */
    if (a->result == MODEL_ADDR_NO_STARTTLS && !dane_host(h))
        return TEXT_TONE_WARN;
    return LOOKUP(addr_words, a->result)->tone;
}

/* The sentence for one address: what a DANE sender would see there. */
static void say_result(text_out_t *o, const model_domain_t *d, const model_host_t *h,
                       const model_address_t *a)
{
    const text_words_t *w = LOOKUP(addr_words, a->result);
    const model_handshake_t *hs;
    const char *defer = dane_host(h) ? " although TLSA is published: DANE senders will defer mail"
                                     : ": mail to this address travels in plaintext";

    switch (a->result) {
    case MODEL_ADDR_DANE_PASS:
        hs = find_handshake(a, MODEL_ADDR_DANE_PASS);
        if (hs != NULL && hs->matched)
            say_match(o, hs);
        else
            say(o, "%s", w->words);
        break;
    case MODEL_ADDR_DANE_FAIL:
        hs = find_handshake(a, MODEL_ADDR_DANE_FAIL);
        say_reason(o, a->reason != NULL ? a->reason : hs != NULL ? hs->reason : NULL, w->words);
        break;
    case MODEL_ADDR_TLS_UNAUTHENTICATED:
    case MODEL_ADDR_TLS_ONLY:
        say(o, "%s", w->words);
        break;
    case MODEL_ADDR_NO_STARTTLS:
        if (a->starttls)
            say_reason(o, a->reason, "STARTTLS offered but refused");
        else
            say(o, "%s", w->words);
        say(o, "%s", defer);
        break;
    case MODEL_ADDR_TLS_FAILED:
        say_reason(o, a->reason, w->words);
        if (dane_host(h))
            say(o, ": DANE senders will defer mail");
        break;
    case MODEL_ADDR_SMTP_ERROR:
    case MODEL_ADDR_TIMEOUT:
        say_phase(o, a->reason, w->words);
        break;
    case MODEL_ADDR_CONNECT_FAILED:
        /* the reason is the words: "connection refused" */
        say(o, "%s", a->reason != NULL ? a->reason : w->words);
        break;
    case MODEL_ADDR_BLOCKED:
        if (a->reason != NULL)
            say(o, "blocked: %s address (use --allow-private)", a->reason);
        else
            say(o, "%s", w->words);
        break;
    case MODEL_ADDR_SKIPPED:
        if (a->reason != NULL)
            say(o, "%s (%s)", w->words, a->reason);
        else if (!d->probed)
            say(o, "%s (--no-probe)", w->words);
        else
            say(o, "%s", w->words);
        break;
    }
}

/* The negotiated parameters and the leaf certificate of one handshake. */
static void say_tls(text_out_t *o, const char *indent, const model_handshake_t *hs)
{
    const model_cert_t *leaf = hs->n_chain > 0 ? &hs->chain[0] : NULL;

    say(o, "%s%s", indent, hs->tls_version);
    if (hs->cipher != NULL)
        say(o, " %s", hs->cipher);
    if (hs->group != NULL)
        say(o, " %s", hs->group);
    if (leaf != NULL) {
        say(o, "; certificate %s", or_unknown(leaf->subject));
        if (leaf->key_type != NULL)
            say(o, ", %s", leaf->key_type);
        /* "RSA 2048 bits", but "EC P-256" says it already */
        if (leaf->key_bits > 0 &&
            (leaf->key_type == NULL || strpbrk(leaf->key_type, "0123456789") == NULL))
            say(o, " %d bits", leaf->key_bits);
        /* RFC 7671 §5.1: DANE-EE ignores expiry, the operator still wants
         * to know (DESIGN.md). */
        if (leaf->not_after != NULL)
            say(o, ", expires %s", leaf->not_after);
        if (leaf->days_to_expiry >= 0)
            say(o, " (in %ld days)", leaf->days_to_expiry);
        else
            say(o, " (expired %ld days ago)", -leaf->days_to_expiry);
    }
    newline(o);
}

static void say_address(text_out_t *o, const model_domain_t *d, const model_host_t *h,
                        const model_address_t *a)
{
    const model_handshake_t *primary = model_primary_handshake(a);
    text_tone_t tone = result_tone(h, a);

    say(o, "    %s[%s]: ", or_unknown(h->name), or_unknown(a->address));
    paint(o, tone);
    say_result(o, d, h, a);
    unpaint(o, tone);
    newline(o);
    if (a->n_handshakes <= 1) {
        if (primary != NULL)
            say_tls(o, "      ", primary);
        return;
    }
    /* RULES A7: every certificate the server holds must match. */
    for (size_t i = 0; i < a->n_handshakes; i++) {
        const model_handshake_t *hs = &a->handshakes[i];

        say(o, "      %s certificate: ", or_unknown(hs->cert_type));
        say_handshake(o, hs);
        newline(o);
        if (model_handshake_completed(hs))
            say_tls(o, "        ", hs);
    }
}

static void say_tlsa(text_out_t *o, const model_tlsa_t *t)
{
    if (!t->looked_up) {
        /* D4: no TLSA lookup without secure addresses */
        say(o, "; TLSA not looked up");
        if (t->reason != NULL)
            say(o, " (%s)", t->reason);
        return;
    }
    say(o, "; TLSA at %s (%s", or_unknown(t->qname != NULL ? t->qname : t->base_domain),
        model_dnssec_name(t->dnssec));
    if (t->reason != NULL)
        say(o, ": %s", t->reason);
    say(o, ")");
    if (t->lookup_failed) {
        say(o, ": lookup failed");
        return;
    }
    if (t->n_records == 0) {
        say(o, ": none");
        return;
    }
    for (size_t i = 0; i < t->n_records; i++) {
        const model_tlsa_record_t *r = &t->records[i];
        const char *hex = r->data_hex != NULL ? r->data_hex : "";

        say(o, "%s%u %u %u %.8s%s(", i == 0 ? ": " : ", ", r->usage, r->selector, r->mtype,
            hex, strlen(hex) > 8 ? "..." : " ");
        if (r->usable)
            say(o, "usable)");
        else if (r->unusable_reason != NULL)
            say(o, "unusable: %s)", r->unusable_reason);
        else
            say(o, "unusable)");
    }
}

static void say_host(text_out_t *o, const model_domain_t *d, const model_host_t *h)
{
    const text_words_t *w = LOOKUP(host_words, h->status);

    if (h->preference < 0)
        say(o, "  MX (implicit) %s", or_unknown(h->name));
    else
        say(o, "  MX %d %s", h->preference, or_unknown(h->name));
    if (h->cname_target != NULL)
        say(o, " (alias of %s)", h->cname_target);
    say(o, ": ");
    paint(o, w->tone);
    say(o, "%s", w->words);
    unpaint(o, w->tone);
    say(o, "; addresses %s", model_dnssec_name(h->dnssec));
    if (h->dnssec_reason != NULL)
        say(o, " (%s)", h->dnssec_reason);
    say_tlsa(o, &h->tlsa);
    newline(o);
    for (size_t i = 0; i < h->n_addresses; i++)
        say_address(o, d, h, &h->addresses[i]);
    if (h->addresses_cut > 0) {
        say(o, "    %zu more address(es) not checked (per-host limit)", h->addresses_cut);
        newline(o);
    }
}

static void say_finding(text_out_t *o, const model_finding_t *f)
{
    size_t s = (size_t)f->severity;
    text_tone_t tone = s < COUNT(severity_tones) ? severity_tones[s] : TEXT_TONE_PLAIN;

    say(o, "  ");
    paint(o, tone);
    say(o, "%s", model_severity_name(f->severity));
    unpaint(o, tone);
    say(o, ": %s", or_unknown(f->message));
    if (f->host != NULL && f->address != NULL)
        say(o, " (%s[%s])", f->host, f->address);
    else if (f->host != NULL || f->address != NULL)
        say(o, " (%s)", f->host != NULL ? f->host : f->address);
    newline(o);
}

int report_text_write(FILE *out, const model_domain_t *d, bool color)
{
    text_out_t o = {out, color, false};
    const text_words_t *w = LOOKUP(verdict_words, d->verdict);
    bool invalid = d->verdict == MODEL_VERDICT_INVALID_INPUT;
    const char *name = invalid && d->input != NULL ? d->input : d->domain;

    say(&o, "%s: ", or_unknown(name));
    paint(&o, w->tone);
    say(&o, "%s", w->words);
    unpaint(&o, w->tone);
    say(&o, " - %s", invalid && d->error != NULL ? d->error : w->why);
    newline(&o);
    if (invalid)
        goto done;
    say(&o, "  MX lookup: DNSSEC %s", model_dnssec_name(d->mx_dnssec));
    if (d->mx_reason != NULL)
        say(&o, " (%s)", d->mx_reason);
    newline(&o);
    if (!d->probed) {
        say(&o, "  --no-probe: DNS, DNSSEC and TLSA only, no SMTP connections");
        newline(&o);
    }
    for (size_t i = 0; i < d->n_hosts; i++)
        say_host(&o, d, &d->hosts[i]);
    if (d->hosts_cut > 0) {
        say(&o, "  %zu more MX host(s) not checked (per-domain limit)", d->hosts_cut);
        newline(&o);
    }
    for (size_t i = 0; i < d->n_findings; i++)
        say_finding(&o, &d->findings[i]);
done:
    if (fflush(out) == EOF || ferror(out) || o.failed)
        return -1;
    return 0;
}
