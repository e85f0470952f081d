/* scan.c - the life of one domain: MX -> A/AAAA -> TLSA -> probes -> verdict.
 *
 * Every stage starts its asynchronous operations at once and counts them;
 * the last one to finish moves the domain to the next stage.
 */
#include "scan.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addrprobe.h"
#include "advice.h"
#include "tlsa.h"

#define SCAN_MAX_HOSTS 10       /* DESIGN.md limits */
#define SCAN_MAX_ADDRS 5

typedef enum { SCAN_MX, SCAN_ADDRESSES, SCAN_TLSA, SCAN_PROBES, SCAN_DONE } scan_stage_t;

typedef struct {
    lookup_answer_t answer;
    model_dnssec_t status;
    char *reason;
    int ede;
    char **addrs;
    size_t n_addrs;
    char *final_name;
    bool aliased;
} family_t;

typedef struct {
    family_t fam[2];            /* A, AAAA */
    char *final_name;           /* after CNAMEs, when aliased */
    bool tried_final;           /* T1: final target first, then original */
    bool advice_only;           /* TLSA looked up for advice (D4 forbids using it):
                                   kept only when it shows insecure records */
    uint8_t **tlsa_data;        /* raw RDATA of each TLSA record */
    size_t *tlsa_len;
} host_scratch_t;

struct scan {
    scan_config_t cfg;
    model_domain_t *d;
    host_scratch_t *scratch;
    scan_stage_t stage;
    size_t pending;
    scan_done_t done;
    void *arg;
    loop_timer_t *deadline;     /* --domain-timeout */
    bool late;                  /* it passed: no more probes */
    struct op *probes;          /* address probes waited for */
};

typedef struct op {
    scan_t *scan;
    size_t host;
    int family;                 /* 0: A, 1: AAAA */
    probecache_wait_t *wait;    /* an address probe's */
    struct op *next;            /* in scan->probes */
} op_t;

static void stage_next(scan_t *s);

static char *xstrdup(const char *s)
{
    return s ? strdup(s) : NULL;
}

static char *name_str(const ldns_rdf *name)
{
    char *text = ldns_rdf2str(name);
    size_t n;
    if (text == NULL)
        return NULL;
    n = strlen(text);
    if (n > 1 && text[n - 1] == '.')
        text[n - 1] = '\0';
    for (char *p = text; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    return text;
}

static void finding(scan_t *s, model_severity_t sev, const char *code, const char *host,
                    const char *address, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

static void finding(scan_t *s, model_severity_t sev, const char *code, const char *host,
                    const char *address, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    advice_vfinding(s->d, sev, code, host, address, fmt, ap);
    va_end(ap);
}

static void op_done(scan_t *s)
{
    if (--s->pending == 0)
        stage_next(s);
}

static op_t *op_new(scan_t *s, size_t host, int family)
{
    op_t *op = malloc(sizeof(*op));
    if (op != NULL)
        *op = (op_t){.scan = s, .host = host, .family = family};
    return op;
}

/* ------------------------------------------------------------------ MX */

static int compare_hosts(const void *a, const void *b)
{
    const model_host_t *x = a, *y = b;
    if (x->preference != y->preference)
        return x->preference < y->preference ? -1 : 1;
    return strcmp(x->name, y->name);
}

static void on_mx(void *arg, const lookup_result_t *r)
{
    scan_t *s = arg;
    model_domain_t *d = s->d;
    size_t n = r->rrset ? ldns_rr_list_rr_count(r->rrset) : 0;
    bool null_mx = false;

    d->mx_dnssec = r->status;
    if (r->reason != NULL && *r->reason)
        d->mx_reason = strdup(r->reason);
    if (r->status != MODEL_DNSSEC_SECURE && r->ede > 0)
        d->mx_ede = r->ede;
    /* RULES M2: a bogus MX RRset (or denial) defers the whole domain */
    switch (r->status == MODEL_DNSSEC_BOGUS ? LOOKUP_FAILED : r->answer) {
    case LOOKUP_FAILED:
        d->mx_outcome = r->answer == LOOKUP_NXDOMAIN ? MODEL_MX_NXDOMAIN : MODEL_MX_FAILED;
        break;
    case LOOKUP_NXDOMAIN:
        d->mx_outcome = MODEL_MX_NXDOMAIN;
        break;
    case LOOKUP_NODATA:
        /* RFC 5321 section 5.1, RULES M3: no MX RRset, the domain is its own host */
        d->mx_outcome = MODEL_MX_IMPLICIT;
        d->hosts = calloc(1, sizeof(*d->hosts));
        if (d->hosts != NULL) {
            d->hosts[0].name = strdup(d->domain);
            d->hosts[0].preference = -1;
            d->n_hosts = 1;
        }
        break;
    case LOOKUP_DATA:
        d->mx_outcome = MODEL_MX_FOUND;
        d->hosts = calloc(n + 1, sizeof(*d->hosts));
        for (size_t i = 0; d->hosts != NULL && i < n; i++) {
            ldns_rr *rr = ldns_rr_list_rr(r->rrset, i);
            char *target = name_str(ldns_rr_mx_exchange(rr));
            bool dup = false;
            if (target == NULL)
                continue;
            /* RFC 7505: a root target is a null MX */
            if (strcmp(target, ".") == 0) {
                null_mx = true;
                free(target);
                continue;
            }
            for (size_t j = 0; j < d->n_hosts; j++)
                dup |= strcmp(d->hosts[j].name, target) == 0;
            if (dup) {
                free(target);
                continue;
            }
            d->hosts[d->n_hosts].name = target;
            d->hosts[d->n_hosts].preference = (int)ldns_rdf2native_int16(ldns_rr_mx_preference(rr));
            d->n_hosts++;
        }
        if (null_mx) {
            /* RULES M4; Postfix treats any null MX in the RRset as null MX */
            d->mx_outcome = MODEL_MX_NULL;
            if (d->n_hosts > 0)
                finding(s, MODEL_SEVERITY_WARNING, "null-mx-mixed", NULL, NULL,
                        "the MX RRset mixes a null MX (RFC 7505) with %zu other host(s): "
                        "senders treat the domain as accepting no mail", d->n_hosts);
            for (size_t j = 0; j < d->n_hosts; j++)
                free(d->hosts[j].name);
            d->n_hosts = 0;
            break;
        }
        qsort(d->hosts, d->n_hosts, sizeof(*d->hosts), compare_hosts);
        if (d->n_hosts > SCAN_MAX_HOSTS) {
            for (size_t j = SCAN_MAX_HOSTS; j < d->n_hosts; j++)
                free(d->hosts[j].name);
            d->hosts_cut = d->n_hosts - SCAN_MAX_HOSTS;
            d->n_hosts = SCAN_MAX_HOSTS;
            finding(s, MODEL_SEVERITY_WARNING, "mx-limit", NULL, NULL,
                    "%zu MX hosts beyond the first %d were not examined (senders stop there too)",
                    d->hosts_cut, SCAN_MAX_HOSTS);
        }
        break;
    }
    s->scratch = calloc(d->n_hosts + 1, sizeof(*s->scratch));
    op_done(s);
}

/* ------------------------------------------------------------ addresses */

static void on_address(void *arg, const lookup_result_t *r)
{
    op_t *op = arg;
    scan_t *s = op->scan;
    family_t *f = &s->scratch[op->host].fam[op->family];
    size_t n = r->rrset ? ldns_rr_list_rr_count(r->rrset) : 0;

    f->answer = r->answer;
    f->status = r->status;
    f->reason = (r->reason && *r->reason) ? strdup(r->reason) : NULL;
    f->ede = r->status != MODEL_DNSSEC_SECURE && r->ede > 0 ? r->ede : 0;
    f->aliased = r->aliased;
    f->final_name = name_str(r->final_name);
    f->addrs = calloc(n + 1, sizeof(char *));
    for (size_t i = 0; f->addrs != NULL && i < n; i++)
        f->addrs[f->n_addrs++] = ldns_rdf2str(ldns_rr_rdf(ldns_rr_list_rr(r->rrset, i), 0));
    free(op);
    op_done(s);
}

/* RULES D4: families are judged separately; a bogus or failed family adds
 * no address but must not sink the other. */
static void host_addresses(scan_t *s, size_t i)
{
    model_host_t *h = &s->d->hosts[i];
    host_scratch_t *x = &s->scratch[i];
    size_t total = 0, used = 0;
    bool any_bogus = false, any_failed = false, any_insecure = false;

    for (int f = 0; f < 2; f++) {
        family_t *fam = &x->fam[f];
        if (fam->status == MODEL_DNSSEC_BOGUS) {
            any_bogus = true;
            if (h->dnssec_reason == NULL && fam->reason) {
                h->dnssec_reason = strdup(fam->reason);
                h->dnssec_ede = fam->ede;
            }
            continue;
        }
        if (fam->answer == LOOKUP_FAILED) {
            any_failed = true;
            continue;
        }
        if (fam->n_addrs > 0) {
            total += fam->n_addrs;
            any_insecure |= fam->status != MODEL_DNSSEC_SECURE;
            if (fam->aliased && x->final_name == NULL)
                x->final_name = xstrdup(fam->final_name);
            if (fam->status != MODEL_DNSSEC_SECURE && h->dnssec_reason == NULL && fam->reason) {
                h->dnssec_reason = strdup(fam->reason);
                h->dnssec_ede = fam->ede;
            }
        }
    }
    h->addresses = calloc(total + 1, sizeof(*h->addresses));
    for (int f = 0; f < 2 && h->addresses != NULL; f++) {
        family_t *fam = &x->fam[f];
        if (fam->status == MODEL_DNSSEC_BOGUS || fam->answer == LOOKUP_FAILED)
            continue;
        for (size_t a = 0; a < fam->n_addrs; a++) {
            if (used == SCAN_MAX_ADDRS) {
                h->addresses_cut++;
                continue;
            }
            h->addresses[used].address = xstrdup(fam->addrs[a]);
            h->addresses[used++].result = MODEL_ADDR_SKIPPED;
        }
    }
    h->n_addresses = used;
    if (used == 0)
        h->dnssec = any_bogus ? MODEL_DNSSEC_BOGUS
                    : any_failed ? MODEL_DNSSEC_INDETERMINATE : MODEL_DNSSEC_SECURE;
    else
        h->dnssec = any_insecure ? MODEL_DNSSEC_INSECURE : MODEL_DNSSEC_SECURE;
    if (used == 0 && !any_bogus && !any_failed) {
        /* the denial's own status tells whether "no address" is proven */
        for (int f = 0; f < 2; f++)
            if (x->fam[f].status != MODEL_DNSSEC_SECURE)
                h->dnssec = x->fam[f].status;
    }
    /* RULES M5: an alias (finding mx-is-cname, scanner/advice.c) */
    if (x->final_name != NULL && strcmp(x->final_name, h->name) != 0)
        h->cname_target = xstrdup(x->final_name);
    if (any_bogus && used > 0)
        finding(s, MODEL_SEVERITY_WARNING, "address-bogus", h->name, NULL,
                "one address family of %s failed DNSSEC validation; the other is used (RFC 7672 section 2.1)",
                h->name);
    if (h->addresses_cut > 0)
        finding(s, MODEL_SEVERITY_INFO, "address-limit", h->name, NULL,
                "%zu addresses of %s beyond the first %d were not probed",
                h->addresses_cut, h->name, SCAN_MAX_ADDRS);
}

/* ------------------------------------------------------------------ TLSA */

static void start_tlsa(scan_t *s, size_t i, const char *base);

static char *hex(const uint8_t *data, size_t len)
{
    static const char digits[] = "0123456789abcdef";
    char *out = malloc(2 * len + 1);
    if (out == NULL)
        return NULL;
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[data[i] >> 4];
        out[2 * i + 1] = digits[data[i] & 15];
    }
    out[2 * len] = '\0';
    return out;
}

static void on_tlsa(void *arg, const lookup_result_t *r)
{
    op_t *op = arg;
    scan_t *s = op->scan;
    model_host_t *h = &s->d->hosts[op->host];
    host_scratch_t *x = &s->scratch[op->host];
    model_tlsa_t *t = &h->tlsa;
    size_t n = r->rrset ? ldns_rr_list_rr_count(r->rrset) : 0;

    /* RULES T1: nothing at the final target: try the original name */
    if (x->tried_final && (r->answer == LOOKUP_NODATA || r->answer == LOOKUP_NXDOMAIN) &&
        r->status == MODEL_DNSSEC_SECURE) {
        size_t host = op->host;
        x->tried_final = false;
        free(op);
        start_tlsa(s, host, h->name);
        return;
    }
    if (x->advice_only && !(r->answer == LOOKUP_DATA && r->status == MODEL_DNSSEC_INSECURE)) {
        free(t->base_domain);
        free(t->qname);
        t->base_domain = t->qname = NULL;
        free(op);
        op_done(s);
        return;
    }
    t->looked_up = true;
    t->dnssec = r->status;
    t->lookup_failed = r->answer == LOOKUP_FAILED && r->status != MODEL_DNSSEC_BOGUS;
    free(t->reason);
    t->reason = (r->reason && *r->reason) ? strdup(r->reason) : NULL;
    t->ede = r->status != MODEL_DNSSEC_SECURE && r->ede > 0 ? r->ede : 0;
    /* a bogus RRset is forged data: nothing of it is reported as records */
    if (r->answer == LOOKUP_DATA && r->status != MODEL_DNSSEC_BOGUS) {
        t->records = calloc(n + 1, sizeof(*t->records));
        x->tlsa_data = calloc(n + 1, sizeof(*x->tlsa_data));
        x->tlsa_len = calloc(n + 1, sizeof(*x->tlsa_len));
        /* the zone's TTL when validated here; else what the resolver
         * says is left of it */
        t->ttl = r->original_ttl ? r->original_ttl
                 : n > 0         ? ldns_rr_ttl(ldns_rr_list_rr(r->rrset, 0))
                                 : 0;
        for (size_t k = 0; t->records && x->tlsa_data && x->tlsa_len && k < n; k++) {
            ldns_rr *rr = ldns_rr_list_rr(r->rrset, k);
            ldns_buffer *buf = ldns_buffer_new(1024);
            tlsa_record_t rec;
            char why[200];
            model_tlsa_record_t *m = &t->records[t->n_records];

            if (buf == NULL || ldns_rr_rdata2buffer_wire(buf, rr) != LDNS_STATUS_OK ||
                tlsa_record_parse(ldns_buffer_begin(buf), ldns_buffer_position(buf), &rec) != TLSA_OK) {
                ldns_buffer_free(buf);
                continue;
            }
            x->tlsa_len[t->n_records] = ldns_buffer_position(buf);
            x->tlsa_data[t->n_records] = ldns_buffer_export(buf);
            ldns_buffer_free(buf);
            tlsa_record_parse(x->tlsa_data[t->n_records], x->tlsa_len[t->n_records], &rec);
            m->usage = rec.usage;
            m->selector = rec.selector;
            m->mtype = rec.mtype;
            m->data_hex = hex(rec.data, rec.data_len);
            m->usable = tlsa_classify(&rec, why, sizeof(why)) == TLSA_USABLE;
            if (!m->usable)
                m->unusable_reason = strdup(why);
            t->n_records++;
        }
    }
    free(op);
    op_done(s);
}

static void start_tlsa(scan_t *s, size_t i, const char *base)
{
    model_host_t *h = &s->d->hosts[i];
    char qname[300];
    op_t *op = op_new(s, i, 0);

    free(h->tlsa.base_domain);
    free(h->tlsa.qname);
    h->tlsa.base_domain = strdup(base);
    snprintf(qname, sizeof(qname), "_25._tcp.%s", base);
    h->tlsa.qname = strdup(qname);
    if (op == NULL || lookup_start(s->cfg.lookup, qname, LDNS_RR_TYPE_TLSA, on_tlsa, op) != 0) {
        free(op);
        if (s->scratch[i].advice_only) {
            free(h->tlsa.base_domain);
            free(h->tlsa.qname);
            h->tlsa.base_domain = h->tlsa.qname = NULL;
        } else {
            h->tlsa.looked_up = true;
            h->tlsa.lookup_failed = true;
            h->tlsa.dnssec = MODEL_DNSSEC_INDETERMINATE;
        }
        op_done(s);
    }
}

/* RULES T1: the addresses are insecure but the host is an alias; if the
 * first CNAME hop is secure, the original name is the TLSA base domain.
 * The extra CNAME query answers that in either DNSSEC mode. */
static void on_first_hop(void *arg, const lookup_result_t *r)
{
    op_t *op = arg;
    scan_t *s = op->scan;
    size_t host = op->host;

    free(op);
    if (r->status == MODEL_DNSSEC_SECURE && r->answer == LOOKUP_DATA) {
        start_tlsa(s, host, s->d->hosts[host].name);
        return;
    }
    /* no DANE for the host: look for TLSA records published in vain */
    s->scratch[host].advice_only = true;
    start_tlsa(s, host, s->d->hosts[host].cname_target);
}

/* RULES D4 and T1: which hosts get a TLSA lookup, at which base domain. */
static void stage_tlsa(scan_t *s)
{
    s->pending = 1;     /* guard: no stage change while starting */
    for (size_t i = 0; i < s->d->n_hosts; i++) {
        model_host_t *h = &s->d->hosts[i];
        host_scratch_t *x = &s->scratch[i];
        const char *base = NULL;

        if (h->n_addresses == 0)
            continue;
        if (h->dnssec == MODEL_DNSSEC_SECURE) {
            base = h->cname_target ? h->cname_target : h->name;
            x->tried_final = h->cname_target != NULL;
        } else if (h->cname_target != NULL && h->dnssec == MODEL_DNSSEC_INSECURE) {
            op_t *op = op_new(s, i, 0);
            s->pending++;
            if (op == NULL ||
                lookup_start(s->cfg.lookup, h->name, LDNS_RR_TYPE_CNAME, on_first_hop, op) != 0) {
                free(op);
                s->pending--;
            }
            continue;
        }
        if (base == NULL && h->dnssec == MODEL_DNSSEC_INSECURE) {
            /* no DANE for the host: look for TLSA records published in vain
             * (finding tlsa-insecure-zone); on_tlsa keeps nothing else */
            base = h->name;
            x->advice_only = true;
        }
        if (base == NULL)
            continue;
        s->pending++;
        start_tlsa(s, i, base);
    }
    op_done(s);
}

/* ---------------------------------------------------------------- probes */

static void on_probe(void *arg)
{
    op_t *op = arg;
    scan_t *s = op->scan;

    for (op_t **pp = &s->probes; *pp; pp = &(*pp)->next)
        if (*pp == op) {
            *pp = op->next;
            break;
        }
    free(op);
    op_done(s);
}

/* The domain's deadline: probes still running are given up (their
 * addresses time out), none is started after it. */
static void on_deadline(loop_t *loop, void *arg)
{
    scan_t *s = arg;
    op_t *ops = s->probes;
    size_t n = 0;

    (void)loop;
    s->deadline = NULL;
    s->late = true;
    s->probes = NULL;
    while (ops != NULL) {
        op_t *op = ops;
        ops = op->next;
        probecache_cancel(op->wait, "domain-deadline");
        free(op);
        n++;
    }
    if (n > 0) {
        s->pending -= n - 1;
        op_done(s);
    }
}

static void stage_probes(scan_t *s)
{
    s->pending = 1;
    for (size_t i = 0; i < s->d->n_hosts; i++) {
        model_host_t *h = &s->d->hosts[i];
        host_scratch_t *x = &s->scratch[i];
        model_host_status_t status = model_host_status(h);
        tlsa_record_t *recs;
        const char *names[2];
        size_t n_names = 0;

        h->status = status;
        /* RULES D2: a host whose TLSA lookup failed must not be used */
        if (s->cfg.no_probe || status == MODEL_HOST_BOGUS || status == MODEL_HOST_LOOKUP_ERROR)
            continue;
        recs = calloc(h->tlsa.n_records + 1, sizeof(*recs));
        for (size_t k = 0; recs && k < h->tlsa.n_records; k++)
            tlsa_record_parse(x->tlsa_data[k], x->tlsa_len[k], &recs[k]);
        /* RULES A4: the original MX name when CNAME-expanded, and the recipient domain */
        if (h->tlsa.base_domain && strcmp(h->tlsa.base_domain, h->name) != 0)
            names[n_names++] = h->name;
        if (strcmp(s->d->domain, h->name) != 0)
            names[n_names++] = s->d->domain;
        for (size_t a = 0; a < h->n_addresses; a++) {
            addrprobe_params_t p = {
                .address = h->addresses[a].address,
                .port = s->cfg.port,
                .helo = s->cfg.helo,
                .allow_private = s->cfg.allow_private,
                .timeout_ms = s->cfg.timeout_ms,
                .at = s->cfg.at,
                .tls_required = status == MODEL_HOST_DANE || status == MODEL_HOST_DANE_UNUSABLE,
                .tlsa = status == MODEL_HOST_DANE ? recs : NULL,
                .n_tlsa = status == MODEL_HOST_DANE ? h->tlsa.n_records : 0,
                .base_domain = h->tlsa.base_domain ? h->tlsa.base_domain : h->name,
                .names = names,
                .n_names = n_names,
                .both_certs = !s->cfg.one_cert,
            };
            op_t *op;
            if (s->late) {
                h->addresses[a].result = MODEL_ADDR_TIMEOUT;
                h->addresses[a].reason = strdup("domain-deadline");
                continue;
            }
            if ((op = op_new(s, i, 0)) == NULL)
                continue;
            s->pending++;
            op->wait = probecache_probe(s->cfg.probes, &p, &h->addresses[a], on_probe, op);
            if (op->wait == NULL) {
                free(op);
                s->pending--;
                continue;
            }
            op->next = s->probes;
            s->probes = op;
        }
        free(recs);
    }
    op_done(s);
}

/* -------------------------------------------------------------- findings */

static void final_findings(scan_t *s)
{
    model_domain_t *d = s->d;

    for (size_t i = 0; i < d->n_hosts; i++)
        d->hosts[i].status = model_host_status(&d->hosts[i]);
    /* what the operator should change; verdicts are not touched */
    advice_domain(d);
}

/* ---------------------------------------------------------------- stages */

static void scratch_free(scan_t *s)
{
    for (size_t i = 0; s->scratch && i < s->d->n_hosts; i++) {
        host_scratch_t *x = &s->scratch[i];
        for (int f = 0; f < 2; f++) {
            for (size_t a = 0; a < x->fam[f].n_addrs; a++)
                free(x->fam[f].addrs[a]);
            free(x->fam[f].addrs);
            free(x->fam[f].reason);
            free(x->fam[f].final_name);
        }
        free(x->final_name);
        for (size_t k = 0; x->tlsa_data && k < s->d->hosts[i].tlsa.n_records; k++)
            free(x->tlsa_data[k]);
        free(x->tlsa_data);
        free(x->tlsa_len);
    }
    free(s->scratch);
}

static void stage_next(scan_t *s)
{
    model_domain_t *d = s->d;

    switch (s->stage) {
    case SCAN_MX:
        s->stage = SCAN_ADDRESSES;
        s->pending = 1;
        for (size_t i = 0; i < d->n_hosts; i++) {
            for (int f = 0; f < 2; f++) {
                op_t *op = op_new(s, i, f);
                if (op == NULL)
                    continue;
                s->pending++;
                if (lookup_start(s->cfg.lookup, d->hosts[i].name,
                                 f ? LDNS_RR_TYPE_AAAA : LDNS_RR_TYPE_A, on_address, op) != 0) {
                    s->scratch[i].fam[f].answer = LOOKUP_FAILED;
                    s->scratch[i].fam[f].status = MODEL_DNSSEC_INDETERMINATE;
                    free(op);
                    s->pending--;
                }
            }
        }
        op_done(s);
        return;
    case SCAN_ADDRESSES:
        for (size_t i = 0; i < d->n_hosts; i++)
            host_addresses(s, i);
        s->stage = SCAN_TLSA;
        stage_tlsa(s);
        return;
    case SCAN_TLSA:
        s->stage = SCAN_PROBES;
        stage_probes(s);
        return;
    case SCAN_PROBES:
        s->stage = SCAN_DONE;
        loop_timer_cancel(s->cfg.loop, s->deadline);
        d->probed = !s->cfg.no_probe;
        final_findings(s);
        d->verdict = model_domain_verdict(d);
        scratch_free(s);
        s->done(s->arg, d);
        free(s);
        return;
    case SCAN_DONE:
        return;
    }
}

scan_t *scan_start(const scan_config_t *config, const char *domain, scan_done_t done, void *arg)
{
    scan_t *s = calloc(1, sizeof(*s));

    if (s == NULL)
        return NULL;
    s->d = calloc(1, sizeof(*s->d));
    if (s->d == NULL || (s->d->domain = strdup(domain)) == NULL) {
        model_domain_free(s->d);
        free(s);
        return NULL;
    }
    s->cfg = *config;
    s->done = done;
    s->arg = arg;
    s->stage = SCAN_MX;
    s->pending = 1;
    if (config->domain_timeout_ms > 0)
        s->deadline = loop_timer_add(config->loop, (uint64_t)config->domain_timeout_ms,
                                     on_deadline, s);
    if (lookup_start(config->lookup, domain, LDNS_RR_TYPE_MX, on_mx, s) != 0) {
        lookup_result_t r = {.status = MODEL_DNSSEC_INDETERMINATE, .reason = "cannot build the query",
                             .ede = -1, .answer = LOOKUP_FAILED};
        on_mx(s, &r);
    }
    return s;
}
