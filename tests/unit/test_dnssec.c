/* test_dnssec.c - the DNSSEC validator against real signed zones.
 *
 *     test_dnssec DATA_DIR        (tests/unit/data/dnssec)
 *
 * The zones in DATA_DIR were signed by ldns-signzone over a fixed window
 * (see generate.py there); every case is judged at AT, inside it.  A
 * small authoritative server + resolver, built here from the zone files
 * with ldns, answers every query the way a recursive resolver asked with
 * DO+CD does: the answer with its RRSIGs (CNAME/DNAME chains followed,
 * wildcards expanded), and in the authority section the SOA and the
 * NSEC/NSEC3 records that prove a denial or a wildcard expansion.  Each
 * packet goes through wire format, as it would from c-ares.
 *
 * Also measured (printed, not checked): validations per second with a
 * warm cache, CPU microseconds per cold validation.
 */
#include "dnssec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

#define AT ((time_t)1906502400) /* 2030-06-01T00:00:00Z, inside the signing window */
#define MAX_ZONES 64
#define MAX_HOPS 16

/* ==== a resolver made of zone files =================================== */

typedef struct {
    ldns_rdf *origin;
    ldns_rr_list *rrs; /* every record, SOA included */
    bool nsec3;
} zone_t;

static zone_t zones[MAX_ZONES];
static size_t nzones;

static const char *const zone_files[] = {
    "root", "test", "example", "good.test", "deep.x.good.test", "ed.test", "n3.test",
    "unsigned.test", "unsigned.n3.test", "insecure.example", "signed.example",
    "expired.test", "future.test", "tampered.test", "wrongds.test", "nodnskey.test",
    "nokskey.test", "norrsig.test", "nonsec.test", "baddigest.test", "badalg.test",
    "iter200.test", "nozonebit.test", "manyds.test", "dsa.test", "keytrap.test",
    "p384.test", "sha512.test", "downgrade.test",
};

static bool load_zones(const char *dir)
{
    for (size_t i = 0; i < sizeof(zone_files) / sizeof(zone_files[0]); i++) {
        char path[1024];
        ldns_zone *z = NULL;
        int line = 0;
        FILE *fp;
        ldns_status s;

        snprintf(path, sizeof(path), "%s/%s.zone", dir, zone_files[i]);
        fp = fopen(path, "r");
        if (!fp) {
            fprintf(stderr, "cannot open %s\n", path);
            return false;
        }
        s = ldns_zone_new_frm_fp_l(&z, fp, NULL, 3600, LDNS_RR_CLASS_IN, &line);
        fclose(fp);
        if (s != LDNS_STATUS_OK) {
            fprintf(stderr, "%s:%d: %s\n", path, line, ldns_get_errorstr_by_id(s));
            return false;
        }
        zones[nzones].origin = ldns_rdf_clone(ldns_rr_owner(ldns_zone_soa(z)));
        zones[nzones].rrs = ldns_rr_list_clone(ldns_zone_rrs(z));
        ldns_rr_list_push_rr(zones[nzones].rrs, ldns_rr_clone(ldns_zone_soa(z)));
        for (size_t k = 0; k < ldns_rr_list_rr_count(zones[nzones].rrs); k++)
            if (ldns_rr_get_type(ldns_rr_list_rr(zones[nzones].rrs, k)) == LDNS_RR_TYPE_NSEC3)
                zones[nzones].nsec3 = true;
        nzones++;
        ldns_zone_deep_free(z);
    }
    return true;
}

static void free_zones(void)
{
    for (size_t i = 0; i < nzones; i++) {
        ldns_rdf_deep_free(zones[i].origin);
        ldns_rr_list_deep_free(zones[i].rrs);
    }
}

static bool eq(const ldns_rdf *a, const ldns_rdf *b)
{
    return ldns_dname_compare(a, b) == 0;
}

static bool under(const ldns_rdf *a, const ldns_rdf *b)
{
    return eq(a, b) || ldns_dname_is_subdomain(a, b);
}

static zone_t *zone_named(const ldns_rdf *origin)
{
    for (size_t i = 0; i < nzones; i++)
        if (eq(zones[i].origin, origin))
            return &zones[i];
    return NULL;
}

/* The records of owner/type in z (borrowed). */
static ldns_rr_list *find(const zone_t *z, const ldns_rdf *owner, ldns_rr_type type)
{
    ldns_rr_list *out = ldns_rr_list_new();

    for (size_t i = 0; i < ldns_rr_list_rr_count(z->rrs); i++) {
        ldns_rr *rr = ldns_rr_list_rr(z->rrs, i);
        if (ldns_rr_get_type(rr) == type && eq(ldns_rr_owner(rr), owner))
            ldns_rr_list_push_rr(out, rr);
    }
    return out;
}

static ldns_rr_list *find_sigs(const zone_t *z, const ldns_rdf *owner, ldns_rr_type covered)
{
    ldns_rr_list *out = ldns_rr_list_new();

    for (size_t i = 0; i < ldns_rr_list_rr_count(z->rrs); i++) {
        ldns_rr *rr = ldns_rr_list_rr(z->rrs, i);
        if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_RRSIG && eq(ldns_rr_owner(rr), owner) &&
            ldns_rdf2rr_type(ldns_rr_rrsig_typecovered(rr)) == covered)
            ldns_rr_list_push_rr(out, rr);
    }
    return out;
}

/* name has records, or records below it (an empty non-terminal) */
static bool exists(const zone_t *z, const ldns_rdf *name)
{
    for (size_t i = 0; i < ldns_rr_list_rr_count(z->rrs); i++) {
        ldns_rr *rr = ldns_rr_list_rr(z->rrs, i);
        if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_NSEC3 && ldns_rr_get_type(rr) != LDNS_RR_TYPE_RRSIG &&
            under(ldns_rr_owner(rr), name))
            return true;
    }
    return false;
}

/* Which loaded zone answers name/type: follow delegations from the root;
 * DS is answered above the cut. */
static zone_t *authority(const ldns_rdf *name, ldns_rr_type type)
{
    zone_t *z = &zones[0]; /* the root */

    for (;;) {
        const ldns_rdf *cut = NULL;
        zone_t *child;

        for (size_t i = 0; i < ldns_rr_list_rr_count(z->rrs); i++) {
            ldns_rr *rr = ldns_rr_list_rr(z->rrs, i);
            const ldns_rdf *o = ldns_rr_owner(rr);
            if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_NS && !eq(o, z->origin) && under(name, o) &&
                (!cut || ldns_dname_label_count(o) < ldns_dname_label_count(cut)))
                cut = o;
        }
        if (!cut || (eq(cut, name) && type == LDNS_RR_TYPE_DS) || !(child = zone_named(cut)))
            return z;
        z = child;
    }
}

/* owner/type with its RRSIGs, owner renamed when synthesized from a wildcard */
static void push_set(ldns_pkt *pkt, ldns_pkt_section sec, const zone_t *z, const ldns_rdf *owner,
                     ldns_rr_type type, const ldns_rdf *rename)
{
    ldns_rr_list *set = find(z, owner, type), *sigs = find_sigs(z, owner, type);

    for (size_t pass = 0; pass < 2; pass++) {
        ldns_rr_list *l = pass ? sigs : set;
        for (size_t i = 0; i < ldns_rr_list_rr_count(l); i++) {
            ldns_rr *copy = ldns_rr_clone(ldns_rr_list_rr(l, i));
            if (rename) {
                ldns_rdf_deep_free(ldns_rr_owner(copy));
                ldns_rr_set_owner(copy, ldns_rdf_clone(rename));
            }
            if (!ldns_pkt_safe_push_rr(pkt, sec, copy))
                ldns_rr_free(copy);
        }
    }
    ldns_rr_list_free(set);
    ldns_rr_list_free(sigs);
}

static void push_soa(ldns_pkt *pkt, const zone_t *z)
{
    push_set(pkt, LDNS_SECTION_AUTHORITY, z, z->origin, LDNS_RR_TYPE_SOA, NULL);
}

/* The NSEC at name, or (cover) the one whose span holds name. */
static void push_nsec(ldns_pkt *pkt, const zone_t *z, const ldns_rdf *name, bool cover)
{
    for (size_t i = 0; i < ldns_rr_list_rr_count(z->rrs); i++) {
        ldns_rr *rr = ldns_rr_list_rr(z->rrs, i);
        if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_NSEC)
            continue;
        if (cover ? ldns_nsec_covers_name(rr, name) : eq(ldns_rr_owner(rr), name)) {
            push_set(pkt, LDNS_SECTION_AUTHORITY, z, ldns_rr_owner(rr), LDNS_RR_TYPE_NSEC, NULL);
            return;
        }
    }
}

/* The NSEC3 matching name (or covering it); true if one was found. */
static bool push_nsec3(ldns_pkt *pkt, const zone_t *z, const ldns_rdf *name, bool cover)
{
    for (size_t i = 0; i < ldns_rr_list_rr_count(z->rrs); i++) {
        ldns_rr *rr = ldns_rr_list_rr(z->rrs, i);
        ldns_rdf *h;
        bool hit;

        if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_NSEC3)
            continue;
        h = ldns_nsec3_hash_name_frm_nsec3(rr, name);
        ldns_dname_cat(h, z->origin);
        hit = cover ? !eq(ldns_rr_owner(rr), h) && ldns_nsec_covers_name(rr, h)
                    : eq(ldns_rr_owner(rr), h);
        ldns_rdf_deep_free(h);
        if (hit) {
            if (pkt)
                push_set(pkt, LDNS_SECTION_AUTHORITY, z, ldns_rr_owner(rr), LDNS_RR_TYPE_NSEC3, NULL);
            return true;
        }
    }
    return false;
}

/* RFC 5155 §7.2.1: the closest encloser's NSEC3 and the next closer's cover. */
static ldns_rdf *push_closest_encloser(ldns_pkt *pkt, const zone_t *z, const ldns_rdf *name)
{
    ldns_rdf *nc = ldns_rdf_clone(name), *ce = ldns_dname_left_chop(name);

    while (!push_nsec3(NULL, z, ce, false) && ldns_dname_label_count(ce) > ldns_dname_label_count(z->origin)) {
        ldns_rdf *up = ldns_dname_left_chop(ce);
        ldns_rdf_deep_free(nc);
        nc = ce;
        ce = up;
    }
    push_nsec3(pkt, z, ce, false);
    push_nsec3(pkt, z, nc, true);
    ldns_rdf_deep_free(nc);
    return ce;
}

/* The closest existing ancestor of a name that does not exist. */
static ldns_rdf *closest_existing(const zone_t *z, const ldns_rdf *name)
{
    ldns_rdf *a = ldns_dname_left_chop(name);

    while (!exists(z, a) && !eq(a, z->origin)) {
        ldns_rdf *up = ldns_dname_left_chop(a);
        ldns_rdf_deep_free(a);
        a = up;
    }
    return a;
}

static ldns_rdf *star(const ldns_rdf *ce)
{
    ldns_rdf *w = ldns_dname_new_frm_str("*");
    ldns_dname_cat(w, ce);
    return w;
}

/* Answer name/type from z into pkt; returns the name to chase, or NULL. */
static ldns_rdf *answer_in(ldns_pkt *pkt, const zone_t *z, const ldns_rdf *name, ldns_rr_type type)
{
    ldns_rr_list *set = find(z, name, type), *cname = find(z, name, LDNS_RR_TYPE_CNAME);
    ldns_rdf *chase = NULL, *ce, *w;
    size_t n = ldns_rr_list_rr_count(set), ncname = ldns_rr_list_rr_count(cname);

    if (n > 0 || (ncname > 0 && type != LDNS_RR_TYPE_CNAME)) {
        push_set(pkt, LDNS_SECTION_ANSWER, z, name, n > 0 ? type : LDNS_RR_TYPE_CNAME, NULL);
        if (n == 0)
            chase = ldns_rdf_clone(ldns_rr_rdf(ldns_rr_list_rr(cname, 0), 0));
        goto done;
    }
    for (size_t i = 0; i < ldns_rr_list_rr_count(z->rrs); i++) {
        ldns_rr *rr = ldns_rr_list_rr(z->rrs, i), *syn;
        if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_DNAME || !ldns_dname_is_subdomain(name, ldns_rr_owner(rr)))
            continue;
        /* RFC 6672 §3.1: the DNAME, and an unsigned CNAME synthesized from it */
        push_set(pkt, LDNS_SECTION_ANSWER, z, ldns_rr_owner(rr), LDNS_RR_TYPE_DNAME, NULL);
        {
            uint8_t buf[512];
            size_t keep = ldns_rdf_size(name) - ldns_rdf_size(ldns_rr_owner(rr));
            const ldns_rdf *target = ldns_rr_rdf(rr, 0);
            memcpy(buf, ldns_rdf_data(name), keep);
            memcpy(buf + keep, ldns_rdf_data(target), ldns_rdf_size(target));
            chase = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_DNAME, keep + ldns_rdf_size(target), buf);
        }
        syn = ldns_rr_new();
        ldns_rr_set_owner(syn, ldns_rdf_clone(name));
        ldns_rr_set_type(syn, LDNS_RR_TYPE_CNAME);
        ldns_rr_set_ttl(syn, ldns_rr_ttl(rr));
        ldns_rr_push_rdf(syn, ldns_rdf_clone(chase));
        if (!ldns_pkt_safe_push_rr(pkt, LDNS_SECTION_ANSWER, syn))
            ldns_rr_free(syn);
        goto done;
    }
    if (exists(z, name)) {
        /* NODATA (RFC 4035 §3.1.3.1, RFC 5155 §7.2.3-7.2.5) */
        push_soa(pkt, z);
        if (!z->nsec3) {
            ldns_rr_list *own = find(z, name, LDNS_RR_TYPE_NSEC);
            push_nsec(pkt, z, name, ldns_rr_list_rr_count(own) == 0); /* ENT: the cover */
            ldns_rr_list_free(own);
        } else if (!push_nsec3(pkt, z, name, false)) {
            ldns_rdf_deep_free(push_closest_encloser(pkt, z, name));
        }
        goto done;
    }
    ce = closest_existing(z, name);
    w = star(ce);
    if (exists(z, w)) {
        ldns_rr_list *wset = find(z, w, type), *wc = find(z, w, LDNS_RR_TYPE_CNAME);
        bool data = ldns_rr_list_rr_count(wset) > 0, alias = ldns_rr_list_rr_count(wc) > 0;

        if (data || alias) {
            /* RFC 4035 §3.1.3.3: the expansion, and proof that name does not exist */
            push_set(pkt, LDNS_SECTION_ANSWER, z, w, data ? type : LDNS_RR_TYPE_CNAME, name);
            if (!data)
                chase = ldns_rdf_clone(ldns_rr_rdf(ldns_rr_list_rr(wc, 0), 0));
            if (!z->nsec3) {
                push_nsec(pkt, z, name, true);
            } else {
                ldns_rdf *nc = ldns_dname_clone_from(name, (uint16_t)(ldns_dname_label_count(name) -
                                                                      ldns_dname_label_count(ce) - 1));
                push_nsec3(pkt, z, nc, true);
                ldns_rdf_deep_free(nc);
            }
        } else {
            /* wildcard NODATA */
            push_soa(pkt, z);
            if (!z->nsec3) {
                push_nsec(pkt, z, name, true);
                push_nsec(pkt, z, w, false);
            } else {
                ldns_rdf_deep_free(push_closest_encloser(pkt, z, name));
                push_nsec3(pkt, z, w, false);
            }
        }
        ldns_rr_list_free(wset);
        ldns_rr_list_free(wc);
    } else {
        /* NXDOMAIN (RFC 4035 §3.1.3.2, RFC 5155 §7.2.2) */
        ldns_pkt_set_rcode(pkt, LDNS_RCODE_NXDOMAIN);
        push_soa(pkt, z);
        if (!z->nsec3) {
            push_nsec(pkt, z, name, true);
            push_nsec(pkt, z, w, true);
        } else {
            ldns_rdf_deep_free(push_closest_encloser(pkt, z, name));
            push_nsec3(pkt, z, w, true);
        }
    }
    ldns_rdf_deep_free(ce);
    ldns_rdf_deep_free(w);
done:
    ldns_rr_list_free(set);
    ldns_rr_list_free(cname);
    return chase;
}

static unsigned queries;

/* What a resolver asked with DO+CD would return, through wire format. */
static ldns_pkt *resolve(const ldns_rdf *qname, ldns_rr_type qtype)
{
    ldns_pkt *pkt = ldns_pkt_query_new(ldns_rdf_clone(qname), qtype, LDNS_RR_CLASS_IN, LDNS_RD | LDNS_CD);
    ldns_rdf *cur = ldns_rdf_clone(qname);
    ldns_pkt *out = NULL;
    uint8_t *wire = NULL;
    size_t len;

    queries++;
    ldns_pkt_set_qr(pkt, true);
    ldns_pkt_set_ra(pkt, true);
    for (int hop = 0; cur && hop < MAX_HOPS; hop++) {
        ldns_rdf *next = answer_in(pkt, authority(cur, qtype), cur, qtype);
        ldns_rdf_deep_free(cur);
        cur = next;
    }
    ldns_rdf_deep_free(cur);
    if (ldns_pkt2wire(&wire, pkt, &len) != LDNS_STATUS_OK || ldns_wire2pkt(&out, wire, len) != LDNS_STATUS_OK)
        out = NULL;
    free(wire);
    ldns_pkt_free(pkt);
    return out;
}

/* ==== packet damage for the cases zone files cannot express ============ */

static ldns_rr *answer_rr(ldns_pkt *pkt, const char *owner, ldns_rr_type type, ldns_rr_type covered)
{
    ldns_rdf *o = ldns_dname_new_frm_str(owner);
    ldns_rr *hit = NULL;

    for (size_t i = 0; !hit && i < ldns_rr_list_rr_count(ldns_pkt_answer(pkt)); i++) {
        ldns_rr *rr = ldns_rr_list_rr(ldns_pkt_answer(pkt), i);
        if (ldns_rr_get_type(rr) == type && eq(ldns_rr_owner(rr), o) &&
            (type != LDNS_RR_TYPE_RRSIG || ldns_rdf2rr_type(ldns_rr_rrsig_typecovered(rr)) == covered))
            hit = rr;
    }
    ldns_rdf_deep_free(o);
    return hit;
}

static void set_rdf(ldns_rr *rr, size_t i, ldns_rdf *value)
{
    ldns_rdf_deep_free(ldns_rr_set_rdf(rr, value, i));
}

static void forge_dname_cname(ldns_pkt *pkt)
{
    set_rdf(answer_rr(pkt, "www.dname.good.test.", LDNS_RR_TYPE_CNAME, 0), 0,
            ldns_dname_new_frm_str("www.evil.test."));
}

static void foreign_signer(ldns_pkt *pkt)
{
    set_rdf(answer_rr(pkt, "www.good.test.", LDNS_RR_TYPE_RRSIG, LDNS_RR_TYPE_A), 7,
            ldns_dname_new_frm_str("ed.test."));
}

static void too_many_labels(ldns_pkt *pkt)
{
    set_rdf(answer_rr(pkt, "www.good.test.", LDNS_RR_TYPE_RRSIG, LDNS_RR_TYPE_A), 2,
            ldns_native2rdf_int8(LDNS_RDF_TYPE_INT8, 5));
}

static void ttl_above_original(ldns_pkt *pkt)
{
    ldns_rr_set_ttl(answer_rr(pkt, "www.good.test.", LDNS_RR_TYPE_A, 0), 604800);
}

static void drop_authority(ldns_pkt *pkt)
{
    ldns_rr *rr;

    while ((rr = ldns_rr_list_pop_rr(ldns_pkt_authority(pkt))) != NULL)
        ldns_rr_free(rr);
    ldns_pkt_set_nscount(pkt, 0);
}

static void servfail(ldns_pkt *pkt)
{
    ldns_pkt_set_rcode(pkt, LDNS_RCODE_SERVFAIL);
}

/* ==== the cases ======================================================== */

typedef struct {
    const char *name;
    const char *qname;
    ldns_rr_type qtype;
    void (*damage)(ldns_pkt *);
    int fail_fetch;          /* feed NULL for this fetch (0 = first), -1 never */
    dnssec_status_t want;
    int want_ede;
    const char *want_reason; /* a substring; "" when secure */
    dnssec_answer_t want_answer;
    int want_links;          /* -1: not checked */
} vcase_t;

#define A LDNS_RR_TYPE_A
#define SEC DNSSEC_SECURE
#define INS DNSSEC_INSECURE
#define BOG DNSSEC_BOGUS
#define IND DNSSEC_INDETERMINATE
#define DATA DNSSEC_ANSWER_DATA
#define NODATA DNSSEC_ANSWER_NODATA
#define NXD DNSSEC_ANSWER_NXDOMAIN
#define NONE DNSSEC_ANSWER_NONE
#define NOEDE DNSSEC_EDE_NONE

static const vcase_t cases[] = {
    /* secure answers, every algorithm and denial flavour */
    {"ecdsa-nsec-a", "www.good.test.", A, NULL, -1, SEC, NOEDE, "", DATA, 0},
    {"ecdsa-mx", "good.test.", LDNS_RR_TYPE_MX, NULL, -1, SEC, NOEDE, "", DATA, 0},
    {"mixed-case-qname", "WwW.GoOd.TeSt.", A, NULL, -1, SEC, NOEDE, "", DATA, 0},
    {"rsa-nsec3-a", "www.n3.test.", A, NULL, -1, SEC, NOEDE, "", DATA, 0},
    {"ed25519-a", "www.ed.test.", A, NULL, -1, SEC, NOEDE, "", DATA, 0},
    {"ecdsa-p384-sha384-ds", "www.p384.test.", A, NULL, -1, SEC, NOEDE, "", DATA, 0},
    {"rsasha512-sha1-ds", "www.sha512.test.", A, NULL, -1, SEC, NOEDE, "", DATA, 0},
    {"below-empty-non-terminal", "www.deep.x.good.test.", A, NULL, -1, SEC, NOEDE, "", DATA, 0},
    {"ds-rrset", "good.test.", LDNS_RR_TYPE_DS, NULL, -1, SEC, NOEDE, "", DATA, 0},
    {"dnskey-rrset", "good.test.", LDNS_RR_TYPE_DNSKEY, NULL, -1, SEC, NOEDE, "", DATA, 0},
    {"ttl-above-original", "www.good.test.", A, ttl_above_original, -1, SEC, NOEDE, "", DATA, 0},
    {"under-optout-tld", "www.signed.example.", A, NULL, -1, SEC, NOEDE, "", DATA, 0},
    {"nsec-nxdomain", "nope.good.test.", A, NULL, -1, SEC, NOEDE, "", NXD, 0},
    {"nsec-nodata", "www.good.test.", LDNS_RR_TYPE_AAAA, NULL, -1, SEC, NOEDE, "", NODATA, 0},
    {"nsec-nodata-ent", "ent.good.test.", A, NULL, -1, SEC, NOEDE, "", NODATA, 0},
    {"nsec-nodata-ds-unsigned", "unsigned.test.", LDNS_RR_TYPE_DS, NULL, -1, SEC, NOEDE, "", NODATA, 0},
    {"nsec3-nxdomain", "nope.n3.test.", A, NULL, -1, SEC, NOEDE, "", NXD, 0},
    {"nsec3-nxdomain-deep", "a.b.c.nope.n3.test.", A, NULL, -1, SEC, NOEDE, "", NXD, 0},
    {"nsec3-nodata", "www.n3.test.", LDNS_RR_TYPE_AAAA, NULL, -1, SEC, NOEDE, "", NODATA, 0},
    {"nsec3-nodata-ent", "ent.n3.test.", A, NULL, -1, SEC, NOEDE, "", NODATA, 0},
    {"nsec-wildcard", "foo.wild.good.test.", A, NULL, -1, SEC, NOEDE, "", DATA, 0},
    {"nsec-wildcard-deep", "a.b.wild.good.test.", A, NULL, -1, SEC, NOEDE, "", DATA, 0},
    {"nsec3-wildcard", "foo.wild.n3.test.", A, NULL, -1, SEC, NOEDE, "", DATA, 0},
    {"nsec-wildcard-nodata", "foo.wild.good.test.", LDNS_RR_TYPE_AAAA, NULL, -1, SEC, NOEDE, "", NODATA, 0},
    {"nsec3-wildcard-nodata", "foo.wild.n3.test.", LDNS_RR_TYPE_AAAA, NULL, -1, SEC, NOEDE, "", NODATA, 0},
    {"cname-across-zones", "alias.good.test.", A, NULL, -1, SEC, NOEDE, "", DATA, 1},
    {"cname-two-links", "alias2.good.test.", A, NULL, -1, SEC, NOEDE, "", DATA, 2},
    {"cname-from-wildcard", "x.wc.good.test.", A, NULL, -1, SEC, NOEDE, "", DATA, 1},
    {"cname-to-nodata", "alias.good.test.", LDNS_RR_TYPE_AAAA, NULL, -1, SEC, NOEDE, "", NODATA, 1},
    {"dname", "www.dname.good.test.", A, NULL, -1, SEC, NOEDE, "", DATA, 1},
    {"cname-query-type", "alias.good.test.", LDNS_RR_TYPE_CNAME, NULL, -1, SEC, NOEDE, "", DATA, 0},

    /* insecure */
    {"nsec-unsigned-delegation", "www.unsigned.test.", A, NULL, -1, INS, NOEDE,
     "unsigned.test. is an unsigned delegation (the NSEC record", DATA, 0},
    {"nsec3-unsigned-delegation", "www.unsigned.n3.test.", A, NULL, -1, INS, NOEDE,
     "unsigned.n3.test. is an unsigned delegation (the NSEC3 record", DATA, 0},
    {"nsec3-optout-delegation", "www.insecure.example.", A, NULL, -1, INS, NOEDE,
     "insecure.example. lies in an NSEC3 opt-out span of example.", DATA, 0},
    {"nsec3-optout-nxdomain", "nope.example.", A, NULL, -1, INS, NOEDE,
     "nope.example. (NXDOMAIN) is covered by an NSEC3 opt-out span", NXD, 0},
    {"cname-to-insecure", "toinsecure.good.test.", A, NULL, -1, INS, NOEDE,
     "unsigned.test. is an unsigned delegation", DATA, 1},
    {"unknown-ds-digest", "www.baddigest.test.", A, NULL, -1, INS, DNSSEC_EDE_UNSUPPORTED_DS_DIGEST,
     "use only unsupported digest types", DATA, 0},
    {"unknown-ds-algorithm", "www.badalg.test.", A, NULL, -1, INS, DNSSEC_EDE_UNSUPPORTED_DNSKEY_ALG,
     "use only unsupported algorithms", DATA, 0},
    {"dsa-only-zone", "www.dsa.test.", A, NULL, -1, INS, DNSSEC_EDE_UNSUPPORTED_DNSKEY_ALG,
     "the DS records of dsa.test. use only unsupported algorithms", DATA, 0},
    {"nsec3-iterations-200", "nope.iter200.test.", A, NULL, -1, INS, DNSSEC_EDE_NSEC3_ITERATIONS,
     "use 200 iterations, more than 150", NXD, 0},

    /* bogus: one case per reason */
    {"expired", "www.expired.test.", A, NULL, -1, BOG, DNSSEC_EDE_SIGNATURE_EXPIRED,
     "RRSIG over expired.test./DNSKEY by key tag", DATA, 0},
    {"expired-date", "www.expired.test.", A, NULL, -1, BOG, DNSSEC_EDE_SIGNATURE_EXPIRED,
     "expired on 2017-01-01T00:00:00Z", DATA, 0},
    {"not-yet-valid", "www.future.test.", A, NULL, -1, BOG, DNSSEC_EDE_SIGNATURE_NOT_YET_VALID,
     "is not valid before 2040-01-01T00:00:00Z", DATA, 0},
    {"tampered", "www.tampered.test.", A, NULL, -1, BOG, DNSSEC_EDE_BOGUS,
     "the RRSIG over www.tampered.test./A by key tag", DATA, 0},
    {"wrong-ds", "www.wrongds.test.", A, NULL, -1, BOG, DNSSEC_EDE_DNSKEY_MISSING,
     "no DNSKEY of wrongds.test. matches its DS records", DATA, 0},
    {"dnskey-rrset-missing", "www.nodnskey.test.", A, NULL, -1, BOG, DNSSEC_EDE_DNSKEY_MISSING,
     "nodnskey.test. has no DNSKEY RRset", DATA, 0},
    {"ksk-missing", "www.nokskey.test.", A, NULL, -1, BOG, DNSSEC_EDE_DNSKEY_MISSING,
     "no DNSKEY of nokskey.test. matches its DS records", DATA, 0},
    {"rrsig-missing", "www.norrsig.test.", A, NULL, -1, BOG, DNSSEC_EDE_RRSIGS_MISSING,
     "no RRSIG over www.norrsig.test./A, and its zone norrsig.test. is signed", DATA, 0},
    {"nsec-missing-nxdomain", "nope.nonsec.test.", A, NULL, -1, BOG, DNSSEC_EDE_NSEC_MISSING,
     "no NSEC/NSEC3 record proves that nope.nonsec.test./A does not exist", NXD, 0},
    {"nsec-missing-nodata", "www.nonsec.test.", LDNS_RR_TYPE_AAAA, NULL, -1, BOG, DNSSEC_EDE_NSEC_MISSING,
     "does not exist, and nonsec.test. is signed", NODATA, 0},
    {"nsec-missing-wildcard", "foo.wild.nonsec.test.", A, NULL, -1, BOG, DNSSEC_EDE_NSEC_MISSING,
     "no valid NSEC/NSEC3 proof for the wildcard answer foo.wild.nonsec.test./A", DATA, 0},
    {"wildcard-proof-stripped", "foo.wild.good.test.", A, drop_authority, -1, BOG, DNSSEC_EDE_NSEC_MISSING,
     "the wildcard answer foo.wild.good.test./A", DATA, 0},
    {"nxdomain-proof-stripped", "nope.good.test.", A, drop_authority, -1, BOG, DNSSEC_EDE_NSEC_MISSING,
     "and good.test. is signed", NXD, 0},
    {"no-zone-key-bit", "www.nozonebit.test.", A, NULL, -1, BOG, DNSSEC_EDE_NO_ZONE_KEY_BIT,
     "lacks the Zone Key flag", DATA, 0},
    {"sha1-ds-ignored-beside-sha256", "www.downgrade.test.", A, NULL, -1, BOG, DNSSEC_EDE_DNSKEY_MISSING,
     "SHA-1 DS records are ignored beside stronger ones (RFC 4509 section 3)", DATA, 0},
    {"nine-ds-records", "www.manyds.test.", A, NULL, -1, BOG, DNSSEC_EDE_DNSKEY_MISSING,
     "only the first 8 DS records were tried", DATA, 0},
    {"dname-forged-cname", "www.dname.good.test.", A, forge_dname_cname, -1, BOG, DNSSEC_EDE_BOGUS,
     "points to www.evil.test., but the DNAME at dname.good.test. gives www.ed.test.", NONE, -1},
    {"foreign-signer", "www.good.test.", A, foreign_signer, -1, BOG, DNSSEC_EDE_BOGUS,
     "names signer ed.test., which is not a zone above it", DATA, 0},
    {"rrsig-labels", "www.good.test.", A, too_many_labels, -1, BOG, DNSSEC_EDE_BOGUS,
     "claims 5 labels, the name has 3", DATA, 0},
    {"keytrap-rrset-limit", "victim.keytrap.test.", A, NULL, -1, BOG, DNSSEC_EDE_BOGUS,
     "after 8 failed signature checks (the limit per RRset)", DATA, 0},
    {"keytrap-colliding-keys-ok", "ok.keytrap.test.", A, NULL, -1, SEC, NOEDE, "", DATA, 0},
    {"keytrap-job-limit", "j0.keytrap.test.", A, NULL, -1, BOG, DNSSEC_EDE_BOGUS,
     "signature checks is the limit per lookup", DATA, -1},

    /* indeterminate */
    {"chain-longer-than-10", "c0.good.test.", A, NULL, -1, IND, DNSSEC_EDE_INDETERMINATE,
     "chain from c0.good.test. is longer than 10 links", NONE, 10},
    {"servfail", "www.good.test.", A, servfail, -1, IND, DNSSEC_EDE_INDETERMINATE,
     "the resolver answered SERVFAIL", NONE, 0},
    {"dnskey-fetch-fails", "www.good.test.", A, NULL, 0, IND, DNSSEC_EDE_INDETERMINATE,
     "the DNSKEY query for . failed", DATA, 0},
    {"ds-fetch-fails", "www.good.test.", A, NULL, 1, IND, DNSSEC_EDE_INDETERMINATE,
     "the DS query for test. failed", DATA, 0},
};

static const char *answer_name(dnssec_answer_t a)
{
    static const char *const names[] = {"none", "data", "nodata", "nxdomain"};
    return names[a];
}

/* Run one lookup to the end; *fetches counts the NEEDs answered. */
static dnssec_job_t *run(const dnssec_anchors_t *anchors, dnssec_cache_t *cache, const vcase_t *c,
                         unsigned *fetches)
{
    ldns_rdf *qname = ldns_dname_new_frm_str(c->qname);
    ldns_pkt *answer = resolve(qname, c->qtype);
    dnssec_job_t *job;
    const ldns_rdf *need;
    ldns_rr_type type;

    if (c->damage)
        c->damage(answer);
    job = dnssec_job_new(anchors, cache, qname, c->qtype, answer, AT);
    *fetches = 0;
    while (dnssec_job_step(job, &need, &type) == DNSSEC_JOB_NEED) {
        int n = (int)(*fetches)++;
        dnssec_job_feed(job, n == c->fail_fetch ? NULL : resolve(need, type));
    }
    ldns_rdf_deep_free(qname);
    return job;
}

/* A case: status, EDE, reason, answer kind, chain length. */
static void check_case(const vcase_t *c, dnssec_job_t *job, const char *pass)
{
    const dnssec_alias_t *links;
    size_t nlinks = dnssec_job_aliases(job, &links);
    const char *reason = dnssec_job_reason(job);
    char label[160];
    bool reason_ok = c->want == DNSSEC_SECURE ? reason[0] == '\0' : strstr(reason, c->want_reason) != NULL;

    snprintf(label, sizeof(label), "%s %s", c->name, pass);
    CHECK(dnssec_job_status(job) == c->want, "%s: status: got %s, want %s (reason: %s; trace: %s)",
          label, dnssec_status_name(dnssec_job_status(job)), dnssec_status_name(c->want), reason,
          dnssec_job_trace(job));
    CHECK_INT(label, dnssec_job_ede(job), c->want_ede);
    CHECK(reason_ok, "%s: reason: got \"%s\", want it to contain \"%s\"", label, reason, c->want_reason);
    /* reports keep printable ASCII only (report/json.c censors the rest) */
    for (const char *p = reason; *p; p++)
        if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e) {
            CHECK(false, "%s: reason has byte 0x%02x: \"%s\"", label, (unsigned char)*p, reason);
            break;
        }
    CHECK(dnssec_job_answer(job) == c->want_answer, "%s: answer: got %s, want %s", label,
          answer_name(dnssec_job_answer(job)), answer_name(c->want_answer));
    if (c->want_links >= 0)
        CHECK_INT(label, nlinks, c->want_links);
    if (c->want == DNSSEC_SECURE && c->want_answer == DNSSEC_ANSWER_DATA) {
        CHECK(dnssec_job_rrset(job) && ldns_rr_list_rr_count(dnssec_job_rrset(job)) > 0,
              "%s: no RRset for a secure answer", label);
        /* the signed zones' TTL (generate.py), whatever the answer says */
        CHECK(dnssec_job_original_ttl(job) == 3600,
              "%s: original TTL %u, want the zone's", label, dnssec_job_original_ttl(job));
    }
}

static void test_cases(const dnssec_anchors_t *anchors)
{
    dnssec_cache_t *shared = dnssec_cache_new(1024);

    /* cold: a fresh cache per case; warm: one cache through the table twice */
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        dnssec_cache_t *cold = dnssec_cache_new(1024);
        unsigned fetches;
        dnssec_job_t *job = run(anchors, cold, &cases[i], &fetches);

        check_case(&cases[i], job, "(cold)");
        printf("  %-30s %-13s ede %-3d fetches %-2u checks %-2u %s\n", cases[i].name,
               dnssec_status_name(dnssec_job_status(job)), dnssec_job_ede(job), fetches,
               dnssec_job_sig_checks(job), dnssec_job_reason(job));
        dnssec_job_free(job);
        dnssec_cache_free(cold);
    }
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
            unsigned fetches;
            dnssec_job_t *job;

            if (cases[i].fail_fetch >= 0) /* a warm cache has nothing to fetch */
                continue;
            job = run(anchors, shared, &cases[i], &fetches);
            check_case(&cases[i], job, pass ? "(warm)" : "(shared)");
            /* bogus data may cost a fetch again: only proven zone cuts are cached */
            if (pass && cases[i].want != DNSSEC_BOGUS)
                CHECK(fetches == 0, "%s (warm): %u fetches with a warm cache", cases[i].name, fetches);
            dnssec_job_free(job);
        }
    dnssec_cache_free(shared);
}

/* The alias chain of cname-to-insecure: a secure link into an insecure zone. */
static void test_alias_chain(const dnssec_anchors_t *anchors)
{
    dnssec_cache_t *cache = dnssec_cache_new(64);
    vcase_t c = {"alias", "toinsecure.good.test.", A, NULL, -1, INS, NOEDE, "", DATA, 1};
    unsigned fetches;
    dnssec_job_t *job = run(anchors, cache, &c, &fetches);
    const dnssec_alias_t *links;
    size_t n = dnssec_job_aliases(job, &links);
    ldns_rdf *want_final = ldns_dname_new_frm_str("www.unsigned.test.");

    CHECK_INT("alias links", n, 1);
    if (n == 1) {
        CHECK_INT("alias link type", links[0].type, LDNS_RR_TYPE_CNAME);
        CHECK(links[0].status == DNSSEC_SECURE, "alias link status: got %s, want secure",
              dnssec_status_name(links[0].status));
    }
    CHECK(eq(dnssec_job_final_name(job), want_final), "alias final name is not www.unsigned.test.");
    CHECK(dnssec_job_status(job) == DNSSEC_INSECURE, "alias chain status: got %s, want insecure",
          dnssec_status_name(dnssec_job_status(job)));
    ldns_rdf_deep_free(want_final);
    dnssec_job_free(job);

    /* a DNAME link: its owner is the name rewritten, its target the result */
    c.qname = "www.dname.good.test.";
    job = run(anchors, cache, &c, &fetches);
    n = dnssec_job_aliases(job, &links);
    CHECK_INT("dname links", n, 1);
    if (n == 1) {
        char *o = ldns_rdf2str(links[0].owner), *t = ldns_rdf2str(links[0].target);
        CHECK_INT("dname link type", links[0].type, LDNS_RR_TYPE_DNAME);
        CHECK_STR("dname link owner", o, "www.dname.good.test.");
        CHECK_STR("dname link target", t, "www.ed.test.");
        free(o);
        free(t);
    }
    dnssec_job_free(job);
    dnssec_cache_free(cache);
}

/* Trust anchors: files, built-in, errors. */
static void test_anchors(const char *dir)
{
    struct {
        const char *name;
        const char *file;          /* under dir; NULL = built-in */
        bool want_ok;
        const char *want_err;      /* substring */
        dnssec_status_t want;      /* www.good.test. A with these anchors */
        int want_ede;
    } rows[] = {
        {"ds-file", "root.ds", true, "", DNSSEC_SECURE, NOEDE},
        {"dnskey-file", "root.key", true, "", DNSSEC_SECURE, NOEDE},
        {"anchor-below-root", "test.ds", true, "", DNSSEC_SECURE, NOEDE},
        {"builtin-iana", NULL, true, "", DNSSEC_BOGUS, DNSSEC_EDE_DNSKEY_MISSING},
        {"missing-file", "no-such-file", false, "cannot open", SEC, NOEDE},
        {"not-an-anchor", "good.test.zone", false, "a DS or DNSKEY record was expected", SEC, NOEDE},
        {"two-zones", "mixed.ds", false, "every anchor must belong to one zone", SEC, NOEDE},
    };

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        char path[1024], err[256] = "";
        dnssec_anchors_t *a;

        snprintf(path, sizeof(path), "%s/%s", dir, rows[i].file ? rows[i].file : "");
        a = dnssec_anchors_load(rows[i].file ? path : NULL, err, sizeof(err));
        CHECK((a != NULL) == rows[i].want_ok, "anchors %s: loaded %d, want %d (%s)", rows[i].name,
              a != NULL, rows[i].want_ok, err);
        CHECK(rows[i].want_ok || strstr(err, rows[i].want_err), "anchors %s: error \"%s\", want \"%s\"",
              rows[i].name, err, rows[i].want_err);
        if (a) {
            dnssec_cache_t *cache = dnssec_cache_new(64);
            vcase_t c = {"anchor", "www.good.test.", A, NULL, -1, SEC, NOEDE, "", DATA, 0};
            unsigned fetches;
            dnssec_job_t *job = run(a, cache, &c, &fetches);

            CHECK(dnssec_job_status(job) == rows[i].want, "anchors %s: got %s, want %s (%s)",
                  rows[i].name, dnssec_status_name(dnssec_job_status(job)),
                  dnssec_status_name(rows[i].want), dnssec_job_reason(job));
            CHECK_INT(rows[i].name, dnssec_job_ede(job), rows[i].want_ede);
            dnssec_job_free(job);
            /* outside the anchor's zone nothing can be proven */
            c.qname = "www.signed.example.";
            job = run(a, cache, &c, &fetches);
            if (rows[i].file && strcmp(rows[i].file, "test.ds") == 0)
                CHECK(dnssec_job_status(job) == DNSSEC_INSECURE &&
                          strstr(dnssec_job_reason(job), "no trust anchor"),
                      "anchors %s: outside the anchor: got %s (%s)", rows[i].name,
                      dnssec_status_name(dnssec_job_status(job)), dnssec_job_reason(job));
            dnssec_job_free(job);
            dnssec_cache_free(cache);
            dnssec_anchors_free(a);
        }
    }
}

/* Anchor files with a flaw on a known line: the error names that line
 * (where the record starts), and a DS digest of the wrong length for its
 * type is refused.  "%" in a row stands for the test root's good DS. */
static void test_anchor_errors(void)
{
    static const char good_ds[] =
        ". 3600 IN DS 49162 8 2 e9f7d589bc825ef014feb981f4fe706293aa84869ad7d55f1e76985e30f1eb0d";
    static const struct {
        const char *name;
        const char *text;
        const char *want_err;   /* substring; NULL: loads */
    } rows[] = {
        {"good", "; anchors\n%\n", NULL},
        {"syntax-line-1", "bad record\n%\n", "line 1: "},
        {"syntax-line-4", "; anchors\n%\n\nbad record\n%\n", "line 4: "},
        {"syntax-last-line-no-newline", "%\n\n\nbad", "line 4: "},
        {"syntax-after-blank-lines", "%\n\n\n\n\nbad\n\n", "line 6: "},
        {"syntax-after-comments", "; one\n; two\n\t; three\n% ; four\nbad\n", "line 5: "},
        {"multi-line-record", "%\n. 3600 IN DS 1 8 2 (\n 00 )\n",
         "line 2: the DS with key tag 1 has a 1-byte digest, but digest type 2 (SHA-256) is 32 bytes"},
        {"not-an-anchor-line-3", "$TTL 60\n%\n. IN A 192.0.2.1\n",
         "line 3: a DS or DNSKEY record was expected, not A"},
        {"other-zone-line-2", "%\ntest. 60 IN DS 1 8 2 " "e9f7d589bc825ef014feb981f4fe706293aa84869ad7d55f1e76985e30f1eb0d\n",
         "line 2: every anchor must belong to one zone"},
        {"sha256-digest-cut", ". IN DS 49162 8 2 e9f7d589bc825ef014feb981f4fe706293aa84869ad7d55f1e76985e30f1eb\n",
         "line 1: the DS with key tag 49162 has a 31-byte digest, but digest type 2 (SHA-256) is 32 bytes"},
        {"sha256-digest-padded", "%\n. IN DS 49162 8 2 e9f7d589bc825ef014feb981f4fe706293aa84869ad7d55f1e76985e30f1eb0d00\n",
         "line 2: the DS with key tag 49162 has a 33-byte digest, but digest type 2 (SHA-256) is 32 bytes"},
        {"sha1-digest-as-sha256", ". IN DS 49162 8 2 0123456789abcdef0123456789abcdef01234567\n",
         "line 1: the DS with key tag 49162 has a 20-byte digest, but digest type 2 (SHA-256) is 32 bytes"},
        {"sha384-digest-short", ". IN DS 49162 14 4 e9f7d589bc825ef014feb981f4fe706293aa84869ad7d55f1e76985e30f1eb0d\n",
         "line 1: the DS with key tag 49162 has a 32-byte digest, but digest type 4 (SHA-384) is 48 bytes"},
        {"sha1-digest-long", ". IN DS 49162 8 1 e9f7d589bc825ef014feb981f4fe706293aa84869ad7d55f1e76985e30f1eb0d\n",
         "line 1: the DS with key tag 49162 has a 32-byte digest, but digest type 1 (SHA-1) is 20 bytes"},
        /* an unknown digest type has no length to check: the anchor is unusable, not wrong */
        {"unknown-digest-any-length", "%\n. IN DS 49162 8 200 00\n", NULL},
        /* the master file syntax anchors use (RFC 1035 §5.1, RFC 3597 §5) */
        {"mnemonic-algorithm", ". 3600 IN DS 49162 RSASHA256 2 e9f7d589bc825ef014feb981f4fe706293aa84869ad7d55f1e76985e30f1eb0d\n", NULL},
        {"origin-and-at", "$ORIGIN .\n$TTL 1h30m\n@ DS 49162 8 2 (\n e9f7d589bc825ef014feb981f4fe7062\n 93aa84869ad7d55f1e76985e30f1eb0d )\n", NULL},
        {"class-then-ttl", ". IN 60 DS 49162 8 2 e9f7d589bc825ef014feb981f4fe706293aa84869ad7d55f1e76985e30f1eb0d\n", NULL},
        {"generic-rdata", ". 3600 IN TYPE43 \\# 36 c00a0802e9f7d589bc825ef014feb981f4fe706293aa84869ad7d55f1e76985e30f1eb0d\n", NULL},
        {"owner-from-previous-line", "%\n 3600 IN DS 49162 8 2 e9f7d589bc825ef014feb981f4fe706293aa84869ad7d55f1e76985e30f1eb0d\n", NULL},
        {"escaped-owner-other-zone", "%\n\\046x. IN DS 1 8 2 e9f7d589bc825ef014feb981f4fe706293aa84869ad7d55f1e76985e30f1eb0d\n",
         "line 2: every anchor must belong to one zone"},
        {"relative-without-origin", "test IN DS 1 8 2 00\n", "line 1: a relative name before any $ORIGIN"},
        {"class-ch", "%\n. CH DS 49162 8 2 e9f7d589bc825ef014feb981f4fe706293aa84869ad7d55f1e76985e30f1eb0d\n",
         "line 2: a class other than IN"},
        {"odd-hex-digits", ". IN DS 49162 8 2 e9f\n", "line 1: the digest is not an even number of hex digits"},
        {"not-base64", ". IN DNSKEY 257 3 8 AwE*AAd=\n", "line 1: the key is not base64"},
        {"include", "$INCLUDE /etc/passwd\n", "line 1: only $ORIGIN and $TTL are read"},
        {"unclosed-paren", "%\n. IN DS 49162 8 2 ( e9f7\n", "line 2: '(' without ')'"},
        {"label-over-63", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa. IN DS 1 8 2 00\n",
         "line 1: a label longer than 63 octets"},
    };

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        char path[] = "/tmp/danescan-anchor-XXXXXX", err[512] = "";
        int fd = mkstemp(path);
        FILE *fp = fd >= 0 ? fdopen(fd, "w") : NULL;
        dnssec_anchors_t *a;

        if (!fp) {
            CHECK(false, "anchor %s: cannot make a temporary file", rows[i].name);
            continue;
        }
        for (const char *c = rows[i].text; *c; c++)
            if (*c == '%')
                fputs(good_ds, fp);
            else
                fputc(*c, fp);
        fclose(fp);
        a = dnssec_anchors_load(path, err, sizeof(err));
        if (rows[i].want_err == NULL) {
            CHECK(a != NULL, "anchor %s: refused: %s", rows[i].name, err);
        } else {
            char want[512];
            snprintf(want, sizeof(want), "%s: %s", path, rows[i].want_err);
            CHECK(a == NULL, "anchor %s: loaded, want \"%s\"", rows[i].name, rows[i].want_err);
            CHECK(strncmp(err, want, strlen(want)) == 0, "anchor %s: error \"%s\", want \"%s...\"",
                  rows[i].name, err, want);
        }
        dnssec_anchors_free(a);
        unlink(path);
    }
}

/* The cache: LRU bound, and entries that outlive their signatures. */
static void test_cache(const dnssec_anchors_t *anchors)
{
    dnssec_cache_t *cache = dnssec_cache_new(2);
    vcase_t c = {"cache", "www.good.test.", A, NULL, -1, SEC, NOEDE, "", DATA, 0};
    unsigned fetches;
    dnssec_job_t *job = run(anchors, cache, &c, &fetches);

    CHECK(dnssec_cache_count(cache) <= 2, "cache holds %zu zones, the cap is 2", dnssec_cache_count(cache));
    CHECK_INT("cache-bounded status", dnssec_job_status(job), DNSSEC_SECURE);
    dnssec_job_free(job);
    dnssec_cache_free(cache);

    /* a key cached at AT is not used after its TTL: fetched again */
    cache = dnssec_cache_new(64);
    job = run(anchors, cache, &c, &fetches);
    dnssec_job_free(job);
    {
        ldns_rdf *q = ldns_dname_new_frm_str("www.good.test.");
        dnssec_job_t *later = dnssec_job_new(anchors, cache, q, A, resolve(q, A), AT + 7200);
        const ldns_rdf *need;
        ldns_rr_type type;
        unsigned n = 0;

        while (dnssec_job_step(later, &need, &type) == DNSSEC_JOB_NEED) {
            n++;
            dnssec_job_feed(later, resolve(need, type));
        }
        CHECK(n > 0, "cache: entries older than their TTL (3600 s) were reused");
        CHECK_INT("cache-expiry status", dnssec_job_status(later), DNSSEC_SECURE);
        dnssec_job_free(later);
        ldns_rdf_deep_free(q);
    }
    dnssec_cache_free(cache);
}

/* ==== measurements ===================================================== */

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct {
    ldns_rdf *name;
    ldns_rr_type type;
    ldns_pkt *pkt;
} canned_t;

/* Validate one name with canned answers, counting only the validator's CPU. */
static double timed_run(const dnssec_anchors_t *anchors, dnssec_cache_t *cache, const ldns_rdf *qname,
                        ldns_rr_type qtype, const ldns_pkt *answer, const canned_t *canned, size_t ncanned,
                        dnssec_status_t *st)
{
    ldns_pkt *copy = ldns_pkt_clone(answer);
    double t0 = cpu_now(), spent;
    dnssec_job_t *job = dnssec_job_new(anchors, cache, qname, qtype, copy, AT);
    const ldns_rdf *need;
    ldns_rr_type type;

    while (dnssec_job_step(job, &need, &type) == DNSSEC_JOB_NEED) {
        ldns_pkt *p = NULL;
        double pause = cpu_now();
        for (size_t i = 0; i < ncanned && !p; i++)
            if (canned[i].type == type && eq(canned[i].name, need))
                p = ldns_pkt_clone(canned[i].pkt);
        t0 += cpu_now() - pause; /* the fake network is not the validator's */
        dnssec_job_feed(job, p);
    }
    *st = dnssec_job_status(job);
    dnssec_job_free(job);
    spent = cpu_now() - t0;
    return spent;
}

static void measure(const dnssec_anchors_t *anchors, const char *qname_text, ldns_rr_type qtype)
{
    ldns_rdf *qname = ldns_dname_new_frm_str(qname_text);
    ldns_pkt *answer = resolve(qname, qtype);
    canned_t canned[32];
    size_t ncanned = 0;
    dnssec_cache_t *cache = dnssec_cache_new(64);
    dnssec_job_t *job = dnssec_job_new(anchors, cache, qname, qtype, ldns_pkt_clone(answer), AT);
    const ldns_rdf *need;
    ldns_rr_type type;
    dnssec_status_t st;
    double cold = 0, warm = 0;
    int ncold = 0, nwarm = 0;

    while (dnssec_job_step(job, &need, &type) == DNSSEC_JOB_NEED && ncanned < 32) {
        canned[ncanned].name = ldns_rdf_clone(need);
        canned[ncanned].type = type;
        canned[ncanned].pkt = resolve(need, type);
        dnssec_job_feed(job, ldns_pkt_clone(canned[ncanned].pkt));
        ncanned++;
    }
    dnssec_job_free(job);
    /* about 0.1 s of validator CPU each, so the unit suite stays quick */
    for (; ncold < 1000 && cold < 0.1; ncold++) {
        dnssec_cache_t *fresh = dnssec_cache_new(64);
        cold += timed_run(anchors, fresh, qname, qtype, answer, canned, ncanned, &st);
        dnssec_cache_free(fresh);
    }
    CHECK(st == DNSSEC_SECURE, "measure %s: cold run is %s", qname_text, dnssec_status_name(st));
    for (; nwarm < 100000 && warm < 0.1; nwarm++)
        warm += timed_run(anchors, cache, qname, qtype, answer, canned, ncanned, &st);
    CHECK(st == DNSSEC_SECURE, "measure %s: warm run is %s", qname_text, dnssec_status_name(st));
    printf("  %-22s cold: %6.1f us CPU/validation (%zu fetches, %d runs)   "
           "warm: %6.0f validations/s (%.1f us, %d runs)\n",
           qname_text, cold / ncold * 1e6, ncanned, ncold, nwarm / warm, warm / nwarm * 1e6, nwarm);
    for (size_t i = 0; i < ncanned; i++) {
        ldns_rdf_deep_free(canned[i].name);
        ldns_pkt_free(canned[i].pkt);
    }
    ldns_pkt_free(answer);
    ldns_rdf_deep_free(qname);
    dnssec_cache_free(cache);
}

/* KeyTrap: the worst case costs a bounded number of checks. */
static void test_keytrap_cost(const dnssec_anchors_t *anchors)
{
    vcase_t c = {"keytrap", "victim.keytrap.test.", A, NULL, -1, BOG, 0, "", DATA, 0};
    dnssec_cache_t *cache = dnssec_cache_new(64);
    unsigned fetches;
    dnssec_job_t *job = run(anchors, cache, &c, &fetches);

    /* root DNSKEY, test. DS + DNSKEY, keytrap.test. DS + DNSKEY, 8 on the victim */
    CHECK(dnssec_job_sig_checks(job) <= 5 + 8, "keytrap: %u signature checks, want at most 13",
          dnssec_job_sig_checks(job));
    dnssec_job_free(job);
    c.qname = "j0.keytrap.test.";
    job = run(anchors, cache, &c, &fetches);
    CHECK(dnssec_job_sig_checks(job) <= 64, "keytrap chain: %u signature checks, want at most 64",
          dnssec_job_sig_checks(job));
    dnssec_job_free(job);
    dnssec_cache_free(cache);
}

int main(int argc, char **argv)
{
    char err[256], path[1024];
    dnssec_anchors_t *anchors;

    if (argc != 2) {
        fprintf(stderr, "usage: %s DATA_DIR\n", argv[0]);
        return 2;
    }
    if (!load_zones(argv[1]))
        return 2;
    snprintf(path, sizeof(path), "%s/root.ds", argv[1]);
    anchors = dnssec_anchors_load(path, err, sizeof(err));
    if (!anchors) {
        fprintf(stderr, "%s\n", err);
        return 2;
    }
    printf("cases (cold cache):\n");
    test_cases(anchors);
    test_alias_chain(anchors);
    test_anchors(argv[1]);
    test_anchor_errors();
    test_cache(anchors);
    test_keytrap_cost(anchors);
    printf("measurements (validator CPU only, canned answers):\n");
    measure(anchors, "www.good.test.", A);
    measure(anchors, "www.n3.test.", A);
    measure(anchors, "nope.n3.test.", A);
    measure(anchors, "www.dname.good.test.", A);
    printf("%u answers built\n", queries);
    dnssec_anchors_free(anchors);
    free_zones();
    return check_summary();
}
