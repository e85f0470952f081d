/* lookup.c - a DNS lookup and its DNSSEC status, validated or AD-trusted. */
#include "lookup.h"

#include "lookupcache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FETCH_BUCKETS 4096

typedef struct lookup lookup_t;

/* One query on the wire and every lookup waiting for its answer: many
 * domains share MX hosts and every validation starts at the same zones,
 * so identical questions in flight are asked once. */
typedef struct fetch {
    struct fetch *next;         /* in its hash bucket */
    lookup_ctx_t *ctx;
    ldns_rdf *name;
    ldns_rr_type type;
    unsigned bucket;
    lookup_t **waiters;
    size_t n_waiters, cap_waiters;
} fetch_t;

struct lookup_ctx {
    dns_client_t *dns;
    const dnssec_anchors_t *anchors;    /* NULL: --trust-ad */
    dnssec_cache_t *cache;
    time_t at;
    unsigned long queries, shared;
    fetch_t *fetches[FETCH_BUCKETS];
    loop_t *loop;                       /* with answers: finished lookups kept */
    lookupcache_t *answers;
};

struct lookup {
    lookup_ctx_t *ctx;
    ldns_rdf *qname;
    ldns_rr_type qtype;
    dnssec_job_t *job;
    lookup_callback_t cb;
    void *arg;
    loop_timer_t *timer;        /* answered from the kept lookups */
};

lookup_ctx_t *lookup_ctx_new(dns_client_t *dns, const dnssec_anchors_t *anchors,
                             dnssec_cache_t *cache, time_t at)
{
    lookup_ctx_t *ctx = calloc(1, sizeof(*ctx));
    if (ctx == NULL)
        return NULL;
    ctx->dns = dns;
    ctx->anchors = anchors;
    ctx->cache = cache;
    ctx->at = at;
    return ctx;
}

void lookup_ctx_free(lookup_ctx_t *ctx)
{
    if (ctx != NULL)
        lookupcache_free(ctx->answers);
    free(ctx);
}

int lookup_ctx_cache_answers(lookup_ctx_t *ctx, loop_t *loop, size_t max)
{
    ctx->loop = loop;
    ctx->answers = lookupcache_new(max);
    return ctx->answers != NULL ? 0 : -1;
}

unsigned long lookup_ctx_cache_hits(const lookup_ctx_t *ctx)
{
    return ctx->answers != NULL ? lookupcache_hits(ctx->answers) : 0;
}

/* Every finished lookup goes through here. */
static void lookup_finish(lookup_t *l, const lookup_result_t *r)
{
    lookup_ctx_t *ctx = l->ctx;

    if (ctx->answers != NULL)
        lookupcache_put(ctx->answers, l->qname, l->qtype, r, loop_now_ms(ctx->loop));
    l->cb(l->arg, r);
}

unsigned long lookup_ctx_queries(const lookup_ctx_t *ctx)
{
    return ctx->queries;
}

unsigned long lookup_ctx_shared(const lookup_ctx_t *ctx)
{
    return ctx->shared;
}

static void lookup_free(lookup_t *l)
{
    if (l->job != NULL)
        dnssec_job_free(l->job);
    ldns_rdf_deep_free(l->qname);
    free(l);
}

static void on_answer(lookup_t *l, dns_status_t status, ldns_pkt *answer, const char *why);

static unsigned fetch_bucket(const ldns_rdf *name, ldns_rr_type type)
{
    const uint8_t *p = ldns_rdf_data(name);
    unsigned h = 2166136261u ^ type;
    for (size_t i = 0; i < ldns_rdf_size(name); i++)
        h = (h ^ (uint8_t)(p[i] | 0x20)) * 16777619u;   /* case-insensitive enough */
    return h % FETCH_BUCKETS;
}

static bool fetch_wait(fetch_t *f, lookup_t *l)
{
    if (f->n_waiters == f->cap_waiters) {
        size_t cap = f->cap_waiters ? 2 * f->cap_waiters : 4;
        lookup_t **w = realloc(f->waiters, cap * sizeof(*w));
        if (w == NULL)
            return false;
        f->waiters = w;
        f->cap_waiters = cap;
    }
    f->waiters[f->n_waiters++] = l;
    return true;
}

static void fetch_free(fetch_t *f)
{
    ldns_rdf_deep_free(f->name);
    free(f->waiters);
    free(f);
}

static void on_fetch(void *arg, dns_status_t status, ldns_pkt *answer)
{
    fetch_t *f = arg, **pp = &f->ctx->fetches[f->bucket];
    char why[DNS_WHY_MAX];

    /* copied: a waiter's callback may start queries of its own */
    snprintf(why, sizeof(why), "%s", dns_client_why(f->ctx->dns));

    /* unlinked first: a waiter may ask the same question again */
    while (*pp != f)
        pp = &(*pp)->next;
    *pp = f->next;
    for (size_t i = 0; i < f->n_waiters; i++) {
        bool last = i + 1 == f->n_waiters;
        /* not ldns_pkt_clone: it does not check its allocations; a copy
         * that could not be made is a failed query for that waiter */
        ldns_pkt *copy = last || answer == NULL ? answer : dns_answer_copy(answer);
        on_answer(f->waiters[i], copy || status != DNS_OK ? status : DNS_ERR_NOMEM, copy, why);
    }
    if (f->n_waiters == 0)
        ldns_pkt_free(answer);
    fetch_free(f);
}

static int send_query(lookup_t *l, const ldns_rdf *name, ldns_rr_type type)
{
    lookup_ctx_t *ctx = l->ctx;
    unsigned bucket = fetch_bucket(name, type);
    fetch_t *f;

    for (f = ctx->fetches[bucket]; f != NULL; f = f->next) {
        if (f->type == type && ldns_dname_compare(f->name, name) == 0) {
            ctx->shared++;
            return fetch_wait(f, l) ? 0 : -1;
        }
    }
    f = calloc(1, sizeof(*f));
    if (f == NULL || (f->name = ldns_rdf_clone(name)) == NULL || !fetch_wait(f, l)) {
        if (f != NULL)
            fetch_free(f);
        return -1;
    }
    f->ctx = ctx;
    f->type = type;
    f->bucket = bucket;
    if (dns_query(ctx->dns, name, type, on_fetch, f) != 0) {
        fetch_free(f);
        return -1;
    }
    f->next = ctx->fetches[bucket];
    ctx->fetches[bucket] = f;
    ctx->queries++;
    return 0;
}

/* ------------------------------------------------------- validated mode */

static model_dnssec_t from_validator(dnssec_status_t s)
{
    switch (s) {
    case DNSSEC_SECURE: return MODEL_DNSSEC_SECURE;
    case DNSSEC_INSECURE: return MODEL_DNSSEC_INSECURE;
    case DNSSEC_BOGUS: return MODEL_DNSSEC_BOGUS;
    case DNSSEC_INDETERMINATE: break;
    }
    return MODEL_DNSSEC_INDETERMINATE;
}

static void finish_validated(lookup_t *l)
{
    const dnssec_job_t *job = l->job;
    const dnssec_alias_t *links;
    lookup_result_t r = {
        .status = from_validator(dnssec_job_status(job)),
        .reason = dnssec_job_reason(job),
        .ede = dnssec_job_ede(job),
        .rrset = dnssec_job_rrset(job),
        .final_name = dnssec_job_final_name(job),
        .aliased = dnssec_job_aliases(job, &links) > 0,
        .original_ttl = dnssec_job_original_ttl(job),
    };

    switch (dnssec_job_answer(job)) {
    case DNSSEC_ANSWER_DATA: r.answer = LOOKUP_DATA; break;
    case DNSSEC_ANSWER_NODATA: r.answer = LOOKUP_NODATA; break;
    case DNSSEC_ANSWER_NXDOMAIN: r.answer = LOOKUP_NXDOMAIN; break;
    case DNSSEC_ANSWER_NONE: r.answer = LOOKUP_FAILED; break;
    }
    if (r.final_name == NULL)
        r.final_name = l->qname;
    lookup_finish(l, &r);
    lookup_free(l);
}

/* Drive the validator until it needs a fetch (sent) or is done. */
static void step(lookup_t *l)
{
    const ldns_rdf *name;
    ldns_rr_type type;

    while (dnssec_job_step(l->job, &name, &type) == DNSSEC_JOB_NEED) {
        if (send_query(l, name, type) == 0)
            return;
        dnssec_job_feed(l->job, NULL);
    }
    finish_validated(l);
}

/* ------------------------------------------------------- --trust-ad mode */

static int first_ede(ldns_pkt *pkt)
{
    ldns_edns_option_list *opts = ldns_pkt_edns_get_option_list(pkt);
    for (size_t i = 0; opts != NULL && i < ldns_edns_option_list_get_count(opts); i++) {
        ldns_edns_option *o = ldns_edns_option_list_get_option(opts, i);
        if (ldns_edns_get_code(o) == LDNS_EDNS_EDE && ldns_edns_get_size(o) >= 2) {
            const uint8_t *d = ldns_edns_get_data(o);
            return (d[0] << 8) | d[1];
        }
    }
    return -1;
}

static void finish_trusted(lookup_t *l, dns_status_t status, ldns_pkt *pkt)
{
    lookup_result_t r = {.status = MODEL_DNSSEC_INDETERMINATE, .reason = "", .ede = -1,
                         .answer = LOOKUP_FAILED, .final_name = l->qname};
    ldns_rdf *name = l->qname;
    ldns_rr_list *rrset = NULL;
    ldns_rr_list *answer;

    if (status != DNS_OK) {
        r.reason = dns_status_name(status);
        goto done;
    }
    r.ede = first_ede(pkt);
    if (ldns_pkt_get_rcode(pkt) != LDNS_RCODE_NOERROR &&
        ldns_pkt_get_rcode(pkt) != LDNS_RCODE_NXDOMAIN) {
        /* RFC 8914 codes 6-12: the resolver found the data bogus */
        bool bogus = r.ede >= 6 && r.ede <= 12;
        r.status = bogus ? MODEL_DNSSEC_BOGUS : MODEL_DNSSEC_INDETERMINATE;
        r.reason = bogus ? "the resolver reports the answer bogus" : "the resolver failed (SERVFAIL)";
        goto done;
    }
    r.status = ldns_pkt_ad(pkt) ? MODEL_DNSSEC_SECURE : MODEL_DNSSEC_INSECURE;
    r.reason = ldns_pkt_ad(pkt) ? "" : "the resolver did not set the AD bit";
    /* follow the CNAME chain the resolver put into the answer */
    answer = ldns_pkt_answer(pkt);
    for (int hops = 0; hops < 10; hops++) {
        ldns_rdf *next = NULL;
        for (size_t i = 0; i < ldns_rr_list_rr_count(answer); i++) {
            ldns_rr *rr = ldns_rr_list_rr(answer, i);
            if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_CNAME &&
                ldns_dname_compare(ldns_rr_owner(rr), name) == 0)
                next = ldns_rr_rdf(rr, 0);
        }
        if (next == NULL || l->qtype == LDNS_RR_TYPE_CNAME)
            break;
        name = next;
        r.aliased = true;
    }
    rrset = ldns_pkt_rr_list_by_name_and_type(pkt, name, l->qtype, LDNS_SECTION_ANSWER);
    r.final_name = name;
    r.rrset = rrset;
    if (rrset != NULL && ldns_rr_list_rr_count(rrset) > 0)
        r.answer = LOOKUP_DATA;
    else
        r.answer = ldns_pkt_get_rcode(pkt) == LDNS_RCODE_NXDOMAIN ? LOOKUP_NXDOMAIN : LOOKUP_NODATA;
done:
    lookup_finish(l, &r);
    ldns_rr_list_deep_free(rrset);
    ldns_pkt_free(pkt);
    lookup_free(l);
}

/* -------------------------------------------------------------- common */

static const char *failure_text(dns_status_t status)
{
    switch (status) {
    case DNS_ERR_TIMEOUT: return "no answer from the resolver (timeout)";
    case DNS_ERR_REFUSED: return "the resolver cannot be reached (connection refused or closed)";
    case DNS_ERR_MALFORMED: return "malformed answer";
    case DNS_ERR_CANCELLED: return "cancelled";
    case DNS_ERR_NOMEM: return "out of memory";
    case DNS_OK: case DNS_ERR_OTHER: break;
    }
    return "DNS error";
}

static void on_answer(lookup_t *l, dns_status_t status, ldns_pkt *answer, const char *why)
{
    if (l->ctx->anchors == NULL) {
        finish_trusted(l, status, answer);
        return;
    }
    if (status != DNS_OK) {
        ldns_pkt_free(answer);
        answer = NULL;
    }
    if (l->job == NULL && status != DNS_OK) {
        /* nothing to validate: say what went wrong on the wire */
        lookup_result_t r = {.status = MODEL_DNSSEC_INDETERMINATE, .ede = DNSSEC_EDE_INDETERMINATE,
                             .answer = LOOKUP_FAILED, .final_name = l->qname};
        char reason[128 + DNS_WHY_MAX];

        snprintf(reason, sizeof(reason), "the query failed: %s%s%s", failure_text(status),
                 *why ? ": " : "", why);
        r.reason = reason;
        l->cb(l->arg, &r);
        lookup_free(l);
        return;
    }
    if (l->job == NULL) {
        l->job = dnssec_job_new(l->ctx->anchors, l->ctx->cache, l->qname, l->qtype,
                                answer, l->ctx->at);
        if (l->job == NULL) {
            lookup_result_t r = {.status = MODEL_DNSSEC_INDETERMINATE, .reason = "out of memory",
                                 .ede = -1, .answer = LOOKUP_FAILED, .final_name = l->qname};
            l->cb(l->arg, &r);
            lookup_free(l);
            return;
        }
    } else {
        dnssec_job_feed(l->job, answer);
    }
    step(l);
}

/* A kept answer, handed over from the loop: if it expired or was pushed
 * out in between, the question goes out after all. */
static void on_kept(loop_t *loop, void *arg)
{
    lookup_t *l = arg;
    lookup_result_t r;

    l->timer = NULL;
    if (lookupcache_get(l->ctx->answers, l->qname, l->qtype, loop_now_ms(loop), &r)) {
        l->cb(l->arg, &r);
        lookup_free(l);
        return;
    }
    if (send_query(l, l->qname, l->qtype) != 0) {
        lookup_result_t failed = {.status = MODEL_DNSSEC_INDETERMINATE, .reason = "out of memory",
                                  .ede = -1, .answer = LOOKUP_FAILED, .final_name = l->qname};
        l->cb(l->arg, &failed);
        lookup_free(l);
    }
}

int lookup_start(lookup_ctx_t *ctx, const char *name, ldns_rr_type type,
                 lookup_callback_t cb, void *arg)
{
    lookup_t *l = calloc(1, sizeof(*l));

    if (l == NULL)
        return -1;
    l->ctx = ctx;
    l->qtype = type;
    l->cb = cb;
    l->arg = arg;
    l->qname = ldns_dname_new_frm_str(name);
    if (l->qname == NULL) {
        free(l);
        return -1;
    }
    ldns_dname2canonical(l->qname);
    if (ctx->answers != NULL) {
        lookup_result_t r;
        if (lookupcache_get(ctx->answers, l->qname, type, loop_now_ms(ctx->loop), &r) &&
            (l->timer = loop_timer_add(ctx->loop, 0, on_kept, l)) != NULL)
            return 0;
    }
    if (send_query(l, l->qname, type) != 0) {
        lookup_free(l);
        return -1;
    }
    return 0;
}
