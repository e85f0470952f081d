/* test_lookupcache.c - what is kept, for how long, and what is not. */
#include <ldns/ldns.h>

#include "check.h"
#include "lookupcache.h"

static ldns_rr_list *rrset(const char *text)
{
    ldns_rr_list *list = ldns_rr_list_new();
    ldns_rr *rr = NULL;

    ldns_rr_new_frm_str(&rr, text, 3600, NULL, NULL);
    ldns_rr_list_push_rr(list, rr);
    return list;
}

int main(void)
{
    lookupcache_t *c = lookupcache_new(3);
    ldns_rdf *mx = ldns_dname_new_frm_str("mx.example.");
    ldns_rdf *other = ldns_dname_new_frm_str("mx2.example.");
    ldns_rr_list *a = rrset("mx.example. 120 IN A 192.0.2.1");
    lookup_result_t got, r = {.status = MODEL_DNSSEC_SECURE, .reason = "", .ede = -1,
                              .answer = LOOKUP_DATA, .rrset = a, .final_name = mx,
                              .original_ttl = 3600};

    lookupcache_put(c, mx, LDNS_RR_TYPE_A, &r, 1000);
    CHECK(lookupcache_get(c, mx, LDNS_RR_TYPE_A, 1000 + 119999, &got), "kept for the TTL");
    CHECK_INT("status", got.status, MODEL_DNSSEC_SECURE);
    CHECK_INT("answer", got.answer, LOOKUP_DATA);
    CHECK(got.rrset != a && ldns_rr_list_compare(got.rrset, a) == 0, "a copy of the RRset");
    CHECK(ldns_dname_compare(got.final_name, mx) == 0, "final name");
    CHECK_INT("original TTL", got.original_ttl, 3600);
    CHECK(!lookupcache_get(c, mx, LDNS_RR_TYPE_AAAA, 1000, &got), "another type");
    CHECK(!lookupcache_get(c, other, LDNS_RR_TYPE_A, 1000, &got), "another name");
    CHECK(!lookupcache_get(c, mx, LDNS_RR_TYPE_A, 1000 + 120000, &got), "expired after the TTL");
    CHECK(!lookupcache_get(c, mx, LDNS_RR_TYPE_A, 1000, &got), "and gone");

    /* bogus, indeterminate and failed answers are asked again */
    r.status = MODEL_DNSSEC_BOGUS;
    lookupcache_put(c, mx, LDNS_RR_TYPE_A, &r, 0);
    CHECK(!lookupcache_get(c, mx, LDNS_RR_TYPE_A, 0, &got), "bogus kept");
    r.status = MODEL_DNSSEC_INDETERMINATE;
    lookupcache_put(c, mx, LDNS_RR_TYPE_A, &r, 0);
    CHECK(!lookupcache_get(c, mx, LDNS_RR_TYPE_A, 0, &got), "indeterminate kept");
    r.status = MODEL_DNSSEC_SECURE;
    r.answer = LOOKUP_FAILED;
    lookupcache_put(c, mx, LDNS_RR_TYPE_A, &r, 0);
    CHECK(!lookupcache_get(c, mx, LDNS_RR_TYPE_A, 0, &got), "failure kept");

    /* a secure denial: a minute */
    r = (lookup_result_t){.status = MODEL_DNSSEC_SECURE, .reason = "", .ede = -1,
                          .answer = LOOKUP_NXDOMAIN, .final_name = mx};
    lookupcache_put(c, mx, LDNS_RR_TYPE_TLSA, &r, 0);
    CHECK(lookupcache_get(c, mx, LDNS_RR_TYPE_TLSA, 59999, &got), "denial kept");
    CHECK_INT("denial", got.answer, LOOKUP_NXDOMAIN);
    CHECK(got.rrset == NULL, "no RRset");
    CHECK(!lookupcache_get(c, mx, LDNS_RR_TYPE_TLSA, 60000, &got), "denial for a minute");

    /* at most 3: the oldest goes */
    r.answer = LOOKUP_NODATA;
    lookupcache_put(c, mx, LDNS_RR_TYPE_A, &r, 0);
    lookupcache_put(c, mx, LDNS_RR_TYPE_AAAA, &r, 0);
    lookupcache_put(c, mx, LDNS_RR_TYPE_TLSA, &r, 0);
    lookupcache_put(c, other, LDNS_RR_TYPE_A, &r, 0);
    CHECK(!lookupcache_get(c, mx, LDNS_RR_TYPE_A, 1, &got), "the oldest pushed out");
    CHECK(lookupcache_get(c, mx, LDNS_RR_TYPE_AAAA, 1, &got), "the others kept");
    CHECK(lookupcache_get(c, other, LDNS_RR_TYPE_A, 1, &got), "the newest kept");
    CHECK_INT("hits", lookupcache_hits(c), 4);

    lookupcache_free(c);
    ldns_rr_list_deep_free(a);
    ldns_rdf_deep_free(mx);
    ldns_rdf_deep_free(other);
    return check_summary();
}
