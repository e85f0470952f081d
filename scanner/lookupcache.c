/* lookupcache.c - finished lookups kept for their TTL.  See lookupcache.h. */
#include "lookupcache.h"

#include <stdlib.h>
#include <string.h>

#define DEFAULT_MAX 20000

typedef struct entry {
    struct entry *bucket_next;
    struct entry *older, *newer;    /* insertion order: the oldest goes first */
    uint64_t hash, expires_ms;
    ldns_rdf *qname;
    ldns_rr_type qtype;
    model_dnssec_t status;
    char *reason;
    int ede;
    lookup_answer_t answer;
    ldns_rr_list *rrset;
    ldns_rdf *final_name;
    bool aliased;
    uint32_t original_ttl;
} entry_t;

struct lookupcache {
    entry_t **buckets;
    size_t n_buckets, n, max;
    entry_t *oldest, *newest;
    unsigned long hits;
};

lookupcache_t *lookupcache_new(size_t max)
{
    lookupcache_t *c = calloc(1, sizeof(*c));

    if (c == NULL)
        return NULL;
    c->max = max ? max : DEFAULT_MAX;
    /* a power of two at least as large as max: chains stay short */
    for (c->n_buckets = 64; c->n_buckets < c->max; c->n_buckets *= 2)
        ;
    c->buckets = calloc(c->n_buckets, sizeof(*c->buckets));
    if (c->buckets == NULL) {
        free(c);
        return NULL;
    }
    return c;
}

static void entry_free(entry_t *e)
{
    ldns_rdf_deep_free(e->qname);
    ldns_rr_list_deep_free(e->rrset);
    ldns_rdf_deep_free(e->final_name);
    free(e->reason);
    free(e);
}

void lookupcache_free(lookupcache_t *c)
{
    if (c == NULL)
        return;
    for (entry_t *e = c->oldest, *next; e; e = next) {
        next = e->newer;
        entry_free(e);
    }
    free(c->buckets);
    free(c);
}

unsigned long lookupcache_hits(const lookupcache_t *c)
{
    return c->hits;
}

/* names are canonical (lower case) when they get here: see lookup_start */
static uint64_t key_hash(const ldns_rdf *qname, ldns_rr_type qtype)
{
    const uint8_t *p = ldns_rdf_data(qname);
    uint64_t h = 0xcbf29ce484222325ULL ^ qtype;

    for (size_t i = 0; i < ldns_rdf_size(qname); i++)
        h = (h ^ (uint8_t)(p[i] | 0x20)) * 0x100000001b3ULL;
    return h;
}

static entry_t *find(lookupcache_t *c, const ldns_rdf *qname, ldns_rr_type qtype, uint64_t h,
                     entry_t ***link)
{
    entry_t **pp = &c->buckets[h & (c->n_buckets - 1)];

    for (; *pp; pp = &(*pp)->bucket_next) {
        entry_t *e = *pp;
        if (e->hash == h && e->qtype == qtype && ldns_dname_compare(e->qname, qname) == 0) {
            *link = pp;
            return e;
        }
    }
    *link = pp;
    return NULL;
}

static void drop(lookupcache_t *c, entry_t *e, entry_t **link)
{
    *link = e->bucket_next;
    if (e->older)
        e->older->newer = e->newer;
    else
        c->oldest = e->newer;
    if (e->newer)
        e->newer->older = e->older;
    else
        c->newest = e->older;
    c->n--;
    entry_free(e);
}

static uint64_t lifetime_ms(const lookup_result_t *r)
{
    uint64_t ms = LOOKUPCACHE_NEGATIVE_MS;

    if (r->answer == LOOKUP_DATA && r->rrset != NULL) {
        ms = LOOKUPCACHE_MAX_MS;
        for (size_t i = 0; i < ldns_rr_list_rr_count(r->rrset); i++) {
            uint64_t ttl = (uint64_t)ldns_rr_ttl(ldns_rr_list_rr(r->rrset, i)) * 1000;
            if (ttl < ms)
                ms = ttl;
        }
    }
    return ms < LOOKUPCACHE_MAX_MS ? ms : LOOKUPCACHE_MAX_MS;
}

void lookupcache_put(lookupcache_t *c, const ldns_rdf *qname, ldns_rr_type qtype,
                     const lookup_result_t *r, uint64_t now_ms)
{
    uint64_t h = key_hash(qname, qtype), life = lifetime_ms(r);
    entry_t **link, *e;

    if ((r->status != MODEL_DNSSEC_SECURE && r->status != MODEL_DNSSEC_INSECURE) ||
        r->answer == LOOKUP_FAILED || life == 0)
        return;
    e = find(c, qname, qtype, h, &link);
    if (e != NULL)
        drop(c, e, link);
    e = calloc(1, sizeof(*e));
    if (e == NULL)
        return;
    *e = (entry_t){
        .hash = h,
        .expires_ms = now_ms + life,
        .qname = ldns_rdf_clone(qname),
        .qtype = qtype,
        .status = r->status,
        .reason = strdup(r->reason != NULL ? r->reason : ""),
        .ede = r->ede,
        .answer = r->answer,
        .rrset = r->rrset != NULL ? ldns_rr_list_clone(r->rrset) : NULL,
        .final_name = r->final_name != NULL ? ldns_rdf_clone(r->final_name) : NULL,
        .aliased = r->aliased,
        .original_ttl = r->original_ttl,
    };
    if (e->qname == NULL || e->reason == NULL || (r->rrset != NULL && e->rrset == NULL) ||
        (r->final_name != NULL && e->final_name == NULL)) {
        entry_free(e);
        return;
    }
    while (c->n >= c->max && c->oldest != NULL) {
        entry_t *old = c->oldest, **old_link;
        find(c, old->qname, old->qtype, old->hash, &old_link);
        drop(c, old, old_link);
    }
    e->bucket_next = c->buckets[h & (c->n_buckets - 1)];
    c->buckets[h & (c->n_buckets - 1)] = e;
    e->older = c->newest;
    if (c->newest)
        c->newest->newer = e;
    else
        c->oldest = e;
    c->newest = e;
    c->n++;
}

bool lookupcache_get(lookupcache_t *c, const ldns_rdf *qname, ldns_rr_type qtype,
                     uint64_t now_ms, lookup_result_t *out)
{
    uint64_t h = key_hash(qname, qtype);
    entry_t **link, *e = find(c, qname, qtype, h, &link);

    if (e == NULL)
        return false;
    if (now_ms >= e->expires_ms) {
        drop(c, e, link);
        return false;
    }
    *out = (lookup_result_t){
        .status = e->status,
        .reason = e->reason,
        .ede = e->ede,
        .answer = e->answer,
        .rrset = e->rrset,
        .final_name = e->final_name,
        .aliased = e->aliased,
        .original_ttl = e->original_ttl,
    };
    c->hits++;
    return true;
}
