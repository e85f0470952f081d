/* model.c - names of the vocabulary, host status and domain verdict. */
#include "model.h"

#include <stdlib.h>
#include <string.h>

static const char *const dnssec_names[] = {
    [MODEL_DNSSEC_SECURE] = "secure",
    [MODEL_DNSSEC_INSECURE] = "insecure",
    [MODEL_DNSSEC_BOGUS] = "bogus",
    [MODEL_DNSSEC_INDETERMINATE] = "indeterminate",
};

static const char *const addr_names[] = {
    [MODEL_ADDR_DANE_PASS] = "dane-pass",
    [MODEL_ADDR_DANE_FAIL] = "dane-fail",
    [MODEL_ADDR_TLS_UNAUTHENTICATED] = "tls-unauthenticated",
    [MODEL_ADDR_TLS_ONLY] = "tls-only",
    [MODEL_ADDR_NO_STARTTLS] = "no-starttls",
    [MODEL_ADDR_TLS_FAILED] = "tls-failed",
    [MODEL_ADDR_SMTP_ERROR] = "smtp-error",
    [MODEL_ADDR_CONNECT_FAILED] = "connect-failed",
    [MODEL_ADDR_TIMEOUT] = "timeout",
    [MODEL_ADDR_BLOCKED] = "blocked",
    [MODEL_ADDR_SKIPPED] = "skipped",
};

static const char *const host_names[] = {
    [MODEL_HOST_DANE] = "dane",
    [MODEL_HOST_DANE_UNUSABLE] = "dane-unusable",
    [MODEL_HOST_NO_TLSA] = "no-tlsa",
    [MODEL_HOST_INSECURE] = "insecure",
    [MODEL_HOST_BOGUS] = "bogus",
    [MODEL_HOST_LOOKUP_ERROR] = "lookup-error",
    [MODEL_HOST_NO_ADDRESS] = "no-address",
};

static const char *const verdict_names[] = {
    [MODEL_VERDICT_INVALID_INPUT] = "invalid-input",
    [MODEL_VERDICT_NXDOMAIN] = "nxdomain",
    [MODEL_VERDICT_NULL_MX] = "null-mx",
    [MODEL_VERDICT_DNSSEC_BOGUS] = "dnssec-bogus",
    [MODEL_VERDICT_DNS_ERROR] = "dns-error",
    [MODEL_VERDICT_DANE_INVALID] = "dane-invalid",
    [MODEL_VERDICT_INSECURE] = "insecure",
    [MODEL_VERDICT_DANE_INCOMPLETE] = "dane-incomplete",
    [MODEL_VERDICT_DANE_VALID] = "dane-valid",
    [MODEL_VERDICT_DANE_PARTIAL] = "dane-partial",
    [MODEL_VERDICT_NO_DANE] = "no-dane",
};

static const char *const severity_names[] = {
    [MODEL_SEVERITY_INFO] = "info",
    [MODEL_SEVERITY_WARNING] = "warning",
    [MODEL_SEVERITY_CRITICAL] = "critical",
};

#define NAME_OF(table, v) \
    ((size_t)(v) < sizeof(table) / sizeof(table[0]) ? table[v] : "?")

const char *model_dnssec_name(model_dnssec_t v) { return NAME_OF(dnssec_names, v); }
const char *model_addr_result_name(model_addr_result_t v) { return NAME_OF(addr_names, v); }
const char *model_host_status_name(model_host_status_t v) { return NAME_OF(host_names, v); }
const char *model_verdict_name(model_verdict_t v) { return NAME_OF(verdict_names, v); }
const char *model_severity_name(model_severity_t v) { return NAME_OF(severity_names, v); }

static int index_of(const char *const *table, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (table[i] != NULL && strcmp(table[i], name) == 0)
            return (int)i;
    return -1;
}

#define INDEX_OF(table, name) index_of(table, sizeof(table) / sizeof(table[0]), name)

int model_verdict_from_name(const char *name) { return INDEX_OF(verdict_names, name); }
int model_host_status_from_name(const char *name) { return INDEX_OF(host_names, name); }
int model_addr_result_from_name(const char *name) { return INDEX_OF(addr_names, name); }

model_host_status_t model_host_status(const model_host_t *host)
{
    const model_tlsa_t *tlsa = &host->tlsa;

    if (host->n_addresses == 0) {
        /* RFC 7672 §2.1 (D2): a failed address lookup skips the host. */
        if (host->dnssec == MODEL_DNSSEC_BOGUS)
            return MODEL_HOST_BOGUS;
        if (host->dnssec == MODEL_DNSSEC_INDETERMINATE)
            return MODEL_HOST_LOOKUP_ERROR;
        return MODEL_HOST_NO_ADDRESS;
    }
    /* D4: no TLSA lookup without secure addresses (or, by T1, a secure
     * first CNAME hop); such a host gets opportunistic TLS. */
    if (!tlsa->looked_up)
        return MODEL_HOST_INSECURE;
    /* D2: a failed or bogus TLSA lookup makes the host unusable. */
    if (tlsa->lookup_failed || tlsa->dnssec == MODEL_DNSSEC_INDETERMINATE)
        return MODEL_HOST_LOOKUP_ERROR;
    if (tlsa->dnssec == MODEL_DNSSEC_BOGUS)
        return MODEL_HOST_BOGUS;
    /* T5: an insecure TLSA RRset means no DANE. */
    if (tlsa->dnssec == MODEL_DNSSEC_INSECURE)
        return MODEL_HOST_INSECURE;
    if (tlsa->n_records == 0)
        return MODEL_HOST_NO_TLSA;
    for (size_t i = 0; i < tlsa->n_records; i++)
        if (tlsa->records[i].usable)
            return MODEL_HOST_DANE;
    /* T4: TLS is mandatory but cannot be authenticated. */
    return MODEL_HOST_DANE_UNUSABLE;
}

/* An address that could not be reached says nothing against DANE. */
static bool unreached(model_addr_result_t r)
{
    return r == MODEL_ADDR_CONNECT_FAILED || r == MODEL_ADDR_TIMEOUT ||
           r == MODEL_ADDR_BLOCKED;
}

static bool tlsa_failed(const model_host_t *host)
{
    return host->tlsa.looked_up &&
           (host->tlsa.lookup_failed || host->tlsa.dnssec == MODEL_DNSSEC_BOGUS ||
            host->tlsa.dnssec == MODEL_DNSSEC_INDETERMINATE);
}

model_verdict_t model_domain_verdict(const model_domain_t *d)
{
    bool any_dane = false, all_dane = d->n_hosts > 0, any_unreached = false;

    if (d->error != NULL)
        return MODEL_VERDICT_INVALID_INPUT;
    /* A bogus denial proves nothing: it is dnssec-bogus, not nxdomain. */
    if (d->mx_dnssec == MODEL_DNSSEC_BOGUS)
        return MODEL_VERDICT_DNSSEC_BOGUS;
    if (d->mx_outcome == MODEL_MX_NXDOMAIN)
        return MODEL_VERDICT_NXDOMAIN;
    if (d->mx_outcome == MODEL_MX_NULL)
        return MODEL_VERDICT_NULL_MX;
    if (d->mx_outcome == MODEL_MX_FAILED)
        return MODEL_VERDICT_DNS_ERROR;

    for (size_t i = 0; i < d->n_hosts; i++) {
        const model_host_t *h = &d->hosts[i];
        model_host_status_t status = model_host_status(h);

        /* RFC 7672 §2.2.1: DANE is enforced per host, whether or not the
         * MX RRset is signed; §2.1 (D2): a failed TLSA lookup bars the host. */
        if (status == MODEL_HOST_DANE_UNUSABLE || tlsa_failed(h))
            return MODEL_VERDICT_DANE_INVALID;
        if (status != MODEL_HOST_DANE) {
            all_dane = false;
            continue;
        }
        any_dane = true;
        for (size_t j = 0; j < h->n_addresses; j++) {
            model_addr_result_t r = h->addresses[j].result;
            if (unreached(r))
                any_unreached = true;
            else if (r != MODEL_ADDR_DANE_PASS && r != MODEL_ADDR_SKIPPED)
                return MODEL_VERDICT_DANE_INVALID;
        }
    }
    if (d->mx_dnssec != MODEL_DNSSEC_SECURE)
        return MODEL_VERDICT_INSECURE;
    if (any_unreached)
        return MODEL_VERDICT_DANE_INCOMPLETE;
    if (all_dane)
        return MODEL_VERDICT_DANE_VALID;
    if (any_dane)
        return MODEL_VERDICT_DANE_PARTIAL;
    return MODEL_VERDICT_NO_DANE;
}

bool model_handshake_completed(const model_handshake_t *hs)
{
    switch (hs->result) {
    case MODEL_ADDR_DANE_PASS:
    case MODEL_ADDR_DANE_FAIL:
    case MODEL_ADDR_TLS_UNAUTHENTICATED:
    case MODEL_ADDR_TLS_ONLY:
        return hs->tls_version != NULL;
    default:
        return false;
    }
}

const model_handshake_t *model_primary_handshake(const model_address_t *a)
{
    for (size_t i = 0; i < a->n_handshakes; i++)
        if (model_handshake_completed(&a->handshakes[i]))
            return &a->handshakes[i];
    return NULL;
}

static void strv_free(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static void cert_free(model_cert_t *c)
{
    free(c->subject);
    free(c->issuer);
    strv_free(c->sans, c->n_sans);
    free(c->not_before);
    free(c->not_after);
    free(c->key_type);
    free(c->spki_sha256);
    free(c->cert_sha256);
}

static void handshake_free(model_handshake_t *hs)
{
    free(hs->cert_type);
    free(hs->reason);
    free(hs->tls_version);
    free(hs->cipher);
    free(hs->group);
    for (size_t i = 0; i < hs->n_chain; i++)
        cert_free(&hs->chain[i]);
    free(hs->chain);
}

static void address_free(model_address_t *a)
{
    free(a->address);
    free(a->reason);
    free(a->banner);
    strv_free(a->ehlo, a->n_ehlo);
    strv_free(a->ehlo_tls, a->n_ehlo_tls);
    for (size_t i = 0; i < a->n_handshakes; i++)
        handshake_free(&a->handshakes[i]);
    free(a->handshakes);
}

void model_address_clear(model_address_t *a)
{
    address_free(a);
    *a = (model_address_t){0};
}

static bool str_copy(char **dst, const char *src)
{
    *dst = src != NULL ? strdup(src) : NULL;
    return src == NULL || *dst != NULL;
}

static bool strv_copy(char ***dst, size_t *n_dst, char *const *src, size_t n)
{
    *n_dst = 0;
    *dst = NULL;
    if (n == 0)
        return true;
    if ((*dst = calloc(n, sizeof(**dst))) == NULL)
        return false;
    for (; *n_dst < n; (*n_dst)++)
        if (!str_copy(&(*dst)[*n_dst], src[*n_dst]))
            return false;
    return true;
}

static bool cert_copy(model_cert_t *dst, const model_cert_t *src)
{
    *dst = *src;
    dst->subject = dst->issuer = dst->not_before = dst->not_after = NULL;
    dst->key_type = dst->spki_sha256 = dst->cert_sha256 = NULL;
    dst->sans = NULL;
    dst->n_sans = 0;
    return str_copy(&dst->subject, src->subject) && str_copy(&dst->issuer, src->issuer) &&
           strv_copy(&dst->sans, &dst->n_sans, src->sans, src->n_sans) &&
           str_copy(&dst->not_before, src->not_before) &&
           str_copy(&dst->not_after, src->not_after) && str_copy(&dst->key_type, src->key_type) &&
           str_copy(&dst->spki_sha256, src->spki_sha256) &&
           str_copy(&dst->cert_sha256, src->cert_sha256);
}

static bool handshake_copy(model_handshake_t *dst, const model_handshake_t *src)
{
    *dst = *src;
    dst->cert_type = dst->reason = dst->tls_version = dst->cipher = dst->group = NULL;
    dst->chain = NULL;
    dst->n_chain = 0;
    if (!str_copy(&dst->cert_type, src->cert_type) || !str_copy(&dst->reason, src->reason) ||
        !str_copy(&dst->tls_version, src->tls_version) || !str_copy(&dst->cipher, src->cipher) ||
        !str_copy(&dst->group, src->group))
        return false;
    if (src->n_chain == 0)
        return true;
    if ((dst->chain = calloc(src->n_chain, sizeof(*dst->chain))) == NULL)
        return false;
    /* counted before it is checked: a half-copied one is freed too */
    while (dst->n_chain < src->n_chain) {
        size_t i = dst->n_chain++;
        if (!cert_copy(&dst->chain[i], &src->chain[i]))
            return false;
    }
    return true;
}

int model_address_copy(model_address_t *dst, const model_address_t *src)
{
    *dst = *src;
    dst->address = dst->reason = dst->banner = NULL;
    dst->ehlo = dst->ehlo_tls = NULL;
    dst->n_ehlo = dst->n_ehlo_tls = dst->n_handshakes = 0;
    dst->handshakes = NULL;
    if (!str_copy(&dst->address, src->address) || !str_copy(&dst->reason, src->reason) ||
        !str_copy(&dst->banner, src->banner) ||
        !strv_copy(&dst->ehlo, &dst->n_ehlo, src->ehlo, src->n_ehlo) ||
        !strv_copy(&dst->ehlo_tls, &dst->n_ehlo_tls, src->ehlo_tls, src->n_ehlo_tls))
        return -1;
    if (src->n_handshakes == 0)
        return 0;
    if ((dst->handshakes = calloc(src->n_handshakes, sizeof(*dst->handshakes))) == NULL)
        return -1;
    while (dst->n_handshakes < src->n_handshakes) {
        size_t i = dst->n_handshakes++;
        if (!handshake_copy(&dst->handshakes[i], &src->handshakes[i]))
            return -1;
    }
    return 0;
}

static void host_free(model_host_t *h)
{
    free(h->name);
    free(h->cname_target);
    free(h->dnssec_reason);
    free(h->tlsa.base_domain);
    free(h->tlsa.qname);
    free(h->tlsa.reason);
    for (size_t i = 0; i < h->tlsa.n_records; i++) {
        free(h->tlsa.records[i].data_hex);
        free(h->tlsa.records[i].unusable_reason);
    }
    free(h->tlsa.records);
    for (size_t i = 0; i < h->n_addresses; i++)
        address_free(&h->addresses[i]);
    free(h->addresses);
}

void model_domain_free(model_domain_t *d)
{
    if (d == NULL)
        return;
    free(d->domain);
    free(d->input);
    free(d->error);
    free(d->mx_reason);
    free(d->run_id);
    free(d->shard);
    for (size_t i = 0; i < d->n_hosts; i++)
        host_free(&d->hosts[i]);
    free(d->hosts);
    for (size_t i = 0; i < d->n_findings; i++) {
        free(d->findings[i].code);
        free(d->findings[i].message);
        free(d->findings[i].host);
        free(d->findings[i].address);
    }
    free(d->findings);
    free(d);
}
