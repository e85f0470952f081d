/* json.c - the JSON report (DESIGN.md "Report contract"; report/schema.json
 * is the field-by-field description and the tests hold us to it).
 *
 * A field without a value is left out, never written as null.  Builders
 * return a new reference or NULL when out of memory; put()/push() take
 * ownership of the value whatever happens (as jansson's *_new calls do)
 * and clear *ok on failure, so each builder checks once, at the end.
 */
#include "json.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static void put(json_t *obj, const char *key, json_t *value, bool *ok)
{
    if (json_object_set_new(obj, key, value) != 0)
        *ok = false;
}

static void push(json_t *arr, json_t *value, bool *ok)
{
    if (json_array_append_new(arr, value) != 0)
        *ok = false;
}

static json_t *finish(json_t *value, bool ok)
{
    if (ok)
        return value;
    json_decref(value);
    return NULL;
}

static bool printable(unsigned char c)
{
    return c >= 0x20 && c <= 0x7e;
}

/* DESIGN.md: server text is censored to printable ASCII before it reaches
 * a report, and JSON output is always valid UTF-8.  A string that slipped
 * through uncensored is censored here, byte for byte as the probes do ('?'),
 * rather than dropped: json_string() would refuse invalid UTF-8 and take
 * the whole field with it. */
static json_t *text_new(const char *s)
{
    size_t n = strlen(s);
    char *copy;
    json_t *j;

    for (size_t i = 0; i < n; i++) {
        if (printable((unsigned char)s[i]))
            continue;
        copy = malloc(n + 1);
        if (copy == NULL)
            return NULL;
        for (size_t k = 0; k < n; k++)
            copy[k] = printable((unsigned char)s[k]) ? s[k] : '?';
        copy[n] = '\0';
        j = json_stringn(copy, n);
        free(copy);
        return j;
    }
    return json_stringn(s, n);
}

static void put_text(json_t *obj, const char *key, const char *s, bool *ok)
{
    if (s != NULL)
        put(obj, key, text_new(s), ok);
}

static void put_int(json_t *obj, const char *key, json_int_t v, bool *ok)
{
    put(obj, key, json_integer(v), ok);
}

static json_t *strv_new(char *const *v, size_t n)
{
    json_t *arr = json_array();
    bool ok = arr != NULL;

    for (size_t i = 0; i < n && ok; i++)
        if (v[i] != NULL)
            push(arr, text_new(v[i]), &ok);
    return finish(arr, ok);
}

static json_t *cert_new(const model_cert_t *c)
{
    json_t *obj = json_object();
    bool ok = obj != NULL;

    put_text(obj, "subject", c->subject, &ok);
    put_text(obj, "issuer", c->issuer, &ok);
    if (c->n_sans > 0)
        put(obj, "sans", strv_new(c->sans, c->n_sans), &ok);
    put_text(obj, "not_before", c->not_before, &ok);
    put_text(obj, "not_after", c->not_after, &ok);
    put_text(obj, "key_type", c->key_type, &ok);
    if (c->key_bits > 0)
        put_int(obj, "key_bits", c->key_bits, &ok);
    put_text(obj, "spki_sha256", c->spki_sha256, &ok);
    put_text(obj, "cert_sha256", c->cert_sha256, &ok);
    put_int(obj, "days_to_expiry", c->days_to_expiry, &ok);
    return finish(obj, ok);
}

static json_t *tls_new(const model_handshake_t *hs)
{
    json_t *obj = json_object();
    bool ok = obj != NULL;

    put_text(obj, "version", hs->tls_version, &ok);
    put_text(obj, "cipher", hs->cipher, &ok);
    put_text(obj, "group", hs->group, &ok);
    return finish(obj, ok);
}

static json_t *matched_new(const model_handshake_t *hs)
{
    json_t *obj = json_object();
    bool ok = obj != NULL;

    put_int(obj, "usage", hs->matched_usage, &ok);
    put_int(obj, "selector", hs->matched_selector, &ok);
    put_int(obj, "mtype", hs->matched_mtype, &ok);
    put_int(obj, "depth", hs->matched_depth, &ok);
    return finish(obj, ok);
}

static json_t *handshake_new(const model_handshake_t *hs)
{
    json_t *obj = json_object();
    json_t *chain;
    bool ok = obj != NULL;

    put_text(obj, "cert_type", hs->cert_type, &ok);
    put_text(obj, "result", model_addr_result_name(hs->result), &ok);
    put_text(obj, "reason", hs->reason, &ok);
    if (model_handshake_completed(hs))
        put(obj, "tls", tls_new(hs), &ok);
    if (hs->matched && hs->result == MODEL_ADDR_DANE_PASS)
        put(obj, "matched", matched_new(hs), &ok);
    if (hs->n_chain > 0) {
        chain = json_array();
        for (size_t i = 0; i < hs->n_chain; i++)
            push(chain, cert_new(&hs->chain[i]), &ok);
        put(obj, "chain", chain, &ok);
    }
    return finish(obj, ok);
}

/* Milliseconds rounded to the microsecond, so that they print exactly
 * with JSON_REAL_PRECISION(10); a phase never reached (0) is left out. */
static void put_ms(json_t *obj, const char *key, double ms, bool *ok)
{
    if (ms > 0 && ms < 1e12)
        put(obj, key, json_real((double)(long long)(ms * 1000.0 + 0.5) / 1000.0), ok);
}

static json_t *timings_new(const model_address_t *a)
{
    json_t *obj = json_object();
    bool ok = obj != NULL;

    put_ms(obj, "connect", a->ms_connect, &ok);
    put_ms(obj, "banner", a->ms_banner, &ok);
    put_ms(obj, "ehlo", a->ms_ehlo, &ok);
    put_ms(obj, "starttls", a->ms_starttls, &ok);
    put_ms(obj, "handshake", a->ms_handshake, &ok);
    return finish(obj, ok);
}

/* RFC 8460 section 4.3 result type of an address that failed the host's
 * DANE policy, or NULL: only hosts with a secure TLSA RRset have one. */
static const char *tlsrpt_type(const model_address_t *a, model_host_status_t host)
{
    const char *reason = a->reason ? a->reason : "";

    if (host != MODEL_HOST_DANE && host != MODEL_HOST_DANE_UNUSABLE)
        return NULL;
    switch (a->result) {
    case MODEL_ADDR_NO_STARTTLS:
        return "starttls-not-supported";
    case MODEL_ADDR_TLS_UNAUTHENTICATED:
        return "tlsa-invalid";
    case MODEL_ADDR_DANE_FAIL:
        if (strncmp(reason, "name-mismatch", 13) == 0)
            return "certificate-host-mismatch";
        if (strncmp(reason, "cert-expired", 12) == 0)
            return "certificate-expired";
        if (strncmp(reason, "chain-invalid", 13) == 0)
            return "certificate-not-trusted";
        return "validation-failure";
    case MODEL_ADDR_TLS_FAILED:
        return "validation-failure";
    default:
        return NULL;
    }
}

static json_t *address_new(const model_address_t *a, model_host_status_t host)
{
    const model_handshake_t *primary = model_primary_handshake(a);
    json_t *obj = json_object();
    json_t *timings, *handshakes;
    bool ok = obj != NULL;

    put_text(obj, "address", a->address, &ok);
    put_text(obj, "result", model_addr_result_name(a->result), &ok);
    put_text(obj, "reason", a->reason, &ok);
    put_text(obj, "tlsrpt", tlsrpt_type(a, host), &ok);
    /* Known only once EHLO was answered (or STARTTLS was found missing). */
    if (a->starttls || a->n_ehlo > 0 || a->result == MODEL_ADDR_NO_STARTTLS)
        put(obj, "starttls", json_boolean(a->starttls), &ok);
    if (a->shared)
        put(obj, "shared", json_true(), &ok);
    if (primary != NULL)
        put(obj, "tls", tls_new(primary), &ok);
    if (a->result == MODEL_ADDR_DANE_PASS) {
        for (size_t i = 0; i < a->n_handshakes; i++) {
            const model_handshake_t *hs = &a->handshakes[i];
            if (hs->matched && hs->result == MODEL_ADDR_DANE_PASS) {
                put(obj, "matched", matched_new(hs), &ok);
                break;
            }
        }
    }
    if (primary != NULL && primary->n_chain > 0)
        put(obj, "certificate", cert_new(&primary->chain[0]), &ok);
    put_text(obj, "banner", a->banner, &ok);
    if (a->n_ehlo > 0)
        put(obj, "ehlo", strv_new(a->ehlo, a->n_ehlo), &ok);
    if (a->n_ehlo_tls > 0)
        put(obj, "ehlo_tls", strv_new(a->ehlo_tls, a->n_ehlo_tls), &ok);
    if (a->n_handshakes > 0) {
        handshakes = json_array();
        for (size_t i = 0; i < a->n_handshakes; i++)
            push(handshakes, handshake_new(&a->handshakes[i]), &ok);
        put(obj, "handshakes", handshakes, &ok);
    }
    timings = timings_new(a);
    if (timings != NULL && json_object_size(timings) == 0)
        json_decref(timings);
    else
        put(obj, "timings", timings, &ok);
    return finish(obj, ok);
}

static json_t *tlsa_new(const model_tlsa_t *t)
{
    json_t *obj = json_object();
    json_t *records = json_array();
    bool ok = obj != NULL;

    /* D4: without secure addresses there is no TLSA lookup, and no
     * DNSSEC status to give; records stays an empty array. */
    put(obj, "looked_up", json_boolean(t->looked_up), &ok);
    put_text(obj, "base_domain", t->base_domain, &ok);
    put_text(obj, "qname", t->qname, &ok);
    if (t->looked_up) {
        put_text(obj, "dnssec", model_dnssec_name(t->dnssec), &ok);
        put(obj, "lookup_failed", json_boolean(t->lookup_failed), &ok);
    }
    put_text(obj, "reason", t->reason, &ok);
    if (t->ede > 0)
        put_int(obj, "ede", t->ede, &ok);
    if (t->n_records > 0)
        put_int(obj, "ttl", (json_int_t)t->ttl, &ok);
    for (size_t i = 0; i < t->n_records; i++) {
        const model_tlsa_record_t *r = &t->records[i];
        json_t *rec = json_object();

        put_int(rec, "usage", r->usage, &ok);
        put_int(rec, "selector", r->selector, &ok);
        put_int(rec, "mtype", r->mtype, &ok);
        put_text(rec, "data", r->data_hex != NULL ? r->data_hex : "", &ok);
        put(rec, "usable", json_boolean(r->usable), &ok);
        if (!r->usable)
            put_text(rec, "unusable_reason", r->unusable_reason, &ok);
        push(records, rec, &ok);
    }
    put(obj, "records", records, &ok);
    return finish(obj, ok);
}

static json_t *host_new(const model_host_t *h)
{
    json_t *obj = json_object();
    json_t *addresses = json_array();
    bool ok = obj != NULL;

    put_text(obj, "host", h->name, &ok);
    /* RFC 5321 §5.1: an implicit MX counts as preference 0. */
    put_int(obj, "preference", h->preference < 0 ? 0 : h->preference, &ok);
    if (h->preference < 0)
        put(obj, "implicit", json_true(), &ok);
    put_text(obj, "cname_target", h->cname_target, &ok);
    put_text(obj, "dnssec", model_dnssec_name(h->dnssec), &ok);
    put_text(obj, "dnssec_reason", h->dnssec_reason, &ok);
    if (h->dnssec_ede > 0)
        put_int(obj, "dnssec_ede", h->dnssec_ede, &ok);
    put_text(obj, "status", model_host_status_name(h->status), &ok);
    put(obj, "tlsa", tlsa_new(&h->tlsa), &ok);
    for (size_t i = 0; i < h->n_addresses; i++)
        push(addresses, address_new(&h->addresses[i], h->status), &ok);
    put(obj, "addresses", addresses, &ok);
    if (h->addresses_cut > 0)
        put_int(obj, "addresses_cut", (json_int_t)h->addresses_cut, &ok);
    return finish(obj, ok);
}

static json_t *finding_new(const model_finding_t *f)
{
    json_t *obj = json_object();
    bool ok = obj != NULL;

    put_text(obj, "code", f->code, &ok);
    put_text(obj, "severity", model_severity_name(f->severity), &ok);
    put_text(obj, "message", f->message, &ok);
    put_text(obj, "host", f->host, &ok);
    put_text(obj, "address", f->address, &ok);
    return finish(obj, ok);
}

/* DESIGN.md: a line that is not a domain name gets a record of its own,
 * and the run goes on. */
static json_t *invalid_new(const model_domain_t *d)
{
    const char *input = d->input != NULL ? d->input : d->domain;
    json_t *obj = json_object();
    bool ok = obj != NULL;

    put_int(obj, "schema_version", 1, &ok);
    put_text(obj, "input", input != NULL ? input : "", &ok);
    put_text(obj, "verdict", model_verdict_name(d->verdict), &ok);
    put_text(obj, "error", d->error != NULL ? d->error : "not a domain name", &ok);
    put_text(obj, "run_id", d->run_id, &ok);
    put_text(obj, "shard", d->shard, &ok);
    return finish(obj, ok);
}

json_t *report_json_domain(const model_domain_t *d)
{
    json_t *obj, *mx, *findings;
    bool ok;

    if (d->verdict == MODEL_VERDICT_INVALID_INPUT)
        return invalid_new(d);
    obj = json_object();
    mx = json_array();
    findings = json_array();
    ok = obj != NULL;
    put_int(obj, "schema_version", 1, &ok);
    put_text(obj, "domain", d->domain, &ok);
    put_text(obj, "verdict", model_verdict_name(d->verdict), &ok);
    put(obj, "probed", json_boolean(d->probed), &ok);
    put_text(obj, "mx_dnssec", model_dnssec_name(d->mx_dnssec), &ok);
    put_text(obj, "mx_reason", d->mx_reason, &ok);
    if (d->mx_ede > 0)
        put_int(obj, "mx_ede", d->mx_ede, &ok);
    for (size_t i = 0; i < d->n_hosts; i++)
        push(mx, host_new(&d->hosts[i]), &ok);
    put(obj, "mx", mx, &ok);
    if (d->hosts_cut > 0)
        put_int(obj, "hosts_cut", (json_int_t)d->hosts_cut, &ok);
    for (size_t i = 0; i < d->n_findings; i++)
        push(findings, finding_new(&d->findings[i]), &ok);
    put(obj, "findings", findings, &ok);
    put_text(obj, "run_id", d->run_id, &ok);
    put_text(obj, "shard", d->shard, &ok);
    return finish(obj, ok);
}

int report_json_write(FILE *out, const model_domain_t *d)
{
    json_t *obj = report_json_domain(d);
    char *line = NULL;
    int rc = -1;

    if (obj == NULL)
        goto done;
    /* The whole line is built first, so that a failure never leaves half a
     * record in the stream.  ENSURE_ASCII changes nothing while every
     * string is censored to ASCII; it keeps the line ASCII if a field ever
     * carries a U-label. */
    line = json_dumps(obj, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_REAL_PRECISION(10));
    if (line == NULL)
        goto done;
    if (fputs(line, out) == EOF || fputc('\n', out) == EOF || fflush(out) == EOF)
        goto done;
    rc = 0;
done:
    free(line);
    json_decref(obj);
    return rc;
}
