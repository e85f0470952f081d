/* zones.c - the signed test zones as an authority and as ground truth
 * (see zones.h). */
#include "zones.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef FUZZ_DNSSEC_DATA
#error "FUZZ_DNSSEC_DATA must name tests/unit/data/dnssec"
#endif

/* Records that were signed and then changed in the files on purpose
 * (generate.py, "tamper"): what the signatures still vouch for. */
static const char *const fuzz_zones_signed_originals[] = {
    "www.tampered.test. 3600 IN A 192.0.2.52",
};

static ldns_rr_list *fuzz_zones_all;

static void fuzz_zones_die(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz zones: %s: %s\n", what, detail);
    abort();
}

static void fuzz_zones_add(ldns_rr *rr)
{
    if (rr == NULL || !ldns_rr_list_push_rr(fuzz_zones_all, rr))
        fuzz_zones_die("out of memory", FUZZ_DNSSEC_DATA);
}

static void fuzz_zones_load_file(const char *path)
{
    FILE *fp = fopen(path, "r");
    ldns_zone *z = NULL;
    int line = 0;
    ldns_status s;

    if (fp == NULL)
        fuzz_zones_die("cannot open", path);
    s = ldns_zone_new_frm_fp_l(&z, fp, NULL, 3600, LDNS_RR_CLASS_IN, &line);
    fclose(fp);
    if (s != LDNS_STATUS_OK)
        fuzz_zones_die(path, ldns_get_errorstr_by_id(s));
    for (size_t i = 0; i < ldns_rr_list_rr_count(ldns_zone_rrs(z)); i++)
        fuzz_zones_add(ldns_rr_clone(ldns_rr_list_rr(ldns_zone_rrs(z), i)));
    fuzz_zones_add(ldns_rr_clone(ldns_zone_soa(z)));
    ldns_zone_deep_free(z);
}

static const ldns_rr_list *fuzz_zones(void)
{
    DIR *dir;
    struct dirent *e;

    if (fuzz_zones_all != NULL)
        return fuzz_zones_all;
    fuzz_zones_all = ldns_rr_list_new();
    dir = opendir(FUZZ_DNSSEC_DATA);
    if (fuzz_zones_all == NULL || dir == NULL)
        fuzz_zones_die("cannot read", FUZZ_DNSSEC_DATA);
    while ((e = readdir(dir)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len > 5 && strcmp(e->d_name + len - 5, ".zone") == 0)
            fuzz_zones_load_file(fuzz_zones_path(e->d_name));
    }
    closedir(dir);
    for (size_t i = 0; i < sizeof(fuzz_zones_signed_originals) / sizeof(fuzz_zones_signed_originals[0]); i++) {
        ldns_rr *rr = NULL;
        if (ldns_rr_new_frm_str(&rr, fuzz_zones_signed_originals[i], 0, NULL, NULL) != LDNS_STATUS_OK)
            fuzz_zones_die("bad record", fuzz_zones_signed_originals[i]);
        fuzz_zones_add(rr);
    }
    if (ldns_rr_list_rr_count(fuzz_zones_all) < 100)
        fuzz_zones_die("too few records in", FUZZ_DNSSEC_DATA);
    return fuzz_zones_all;
}

const char *fuzz_zones_path(const char *file)
{
    static char path[4096];

    if ((size_t)snprintf(path, sizeof(path), "%s/%s", FUZZ_DNSSEC_DATA, file) >= sizeof(path))
        fuzz_zones_die("path too long", file);
    return path;
}

static bool fuzz_zones_name_eq(const ldns_rdf *a, const ldns_rdf *b)
{
    return ldns_dname_compare(a, b) == 0;
}

static ldns_rr_type fuzz_zones_covered(const ldns_rr *rr)
{
    return ldns_rr_rd_count(rr) > 0 ? ldns_rdf2rr_type(ldns_rr_rrsig_typecovered(rr)) : 0;
}

ldns_pkt *fuzz_zones_answer(const ldns_rdf *name, ldns_rr_type type)
{
    const ldns_rr_list *all = fuzz_zones();
    ldns_pkt *pkt = ldns_pkt_query_new(ldns_rdf_clone(name), type, LDNS_RR_CLASS_IN,
                                       LDNS_RD | LDNS_CD);

    if (pkt == NULL)
        fuzz_zones_die("out of memory", "answer");
    ldns_pkt_set_qr(pkt, true);
    ldns_pkt_set_ra(pkt, true);
    for (size_t i = 0; i < ldns_rr_list_rr_count(all); i++) {
        const ldns_rr *rr = ldns_rr_list_rr(all, i);
        ldns_rr_type t = ldns_rr_get_type(rr);
        ldns_rr *copy;

        if (!fuzz_zones_name_eq(ldns_rr_owner(rr), name) ||
            (t != type && !(t == LDNS_RR_TYPE_RRSIG && fuzz_zones_covered(rr) == type)))
            continue;
        copy = ldns_rr_clone(rr);
        if (copy == NULL || !ldns_pkt_safe_push_rr(pkt, LDNS_SECTION_ANSWER, copy))
            ldns_rr_free(copy);
    }
    return pkt;
}

/* name has a record, or a record below it (an empty non-terminal). */
static bool fuzz_zones_exists(const ldns_rdf *name)
{
    const ldns_rr_list *all = fuzz_zones();

    for (size_t i = 0; i < ldns_rr_list_rr_count(all); i++) {
        const ldns_rr *rr = ldns_rr_list_rr(all, i);
        const ldns_rdf *owner = ldns_rr_owner(rr);

        if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_RRSIG && ldns_rr_get_type(rr) != LDNS_RR_TYPE_NSEC3 &&
            (fuzz_zones_name_eq(owner, name) || ldns_dname_is_subdomain(owner, name)))
            return true;
    }
    return false;
}

static bool fuzz_zones_has_type(const ldns_rdf *name, ldns_rr_type type)
{
    const ldns_rr_list *all = fuzz_zones();

    for (size_t i = 0; i < ldns_rr_list_rr_count(all); i++) {
        const ldns_rr *rr = ldns_rr_list_rr(all, i);
        if (ldns_rr_get_type(rr) == type && fuzz_zones_name_eq(ldns_rr_owner(rr), name))
            return true;
    }
    return false;
}

/* The closest ancestor of a name that does not exist (RFC 4592 §3.3.1:
 * the closest encloser); NULL when name exists.  The caller's. */
static ldns_rdf *fuzz_zones_encloser(const ldns_rdf *name)
{
    ldns_rdf *a;

    if (fuzz_zones_exists(name))
        return NULL;
    a = ldns_dname_left_chop(name);
    while (a != NULL && !fuzz_zones_exists(a) && ldns_dname_label_count(a) > 0) {
        ldns_rdf *up = ldns_dname_left_chop(a);
        ldns_rdf_deep_free(a);
        a = up;
    }
    return a;
}

/* "*." + name, NULL when too long. */
static ldns_rdf *fuzz_zones_star(const ldns_rdf *name)
{
    ldns_rdf *w = ldns_dname_new_frm_str("*");

    if (w != NULL && ldns_dname_cat(w, name) != LDNS_STATUS_OK) {
        ldns_rdf_deep_free(w);
        return NULL;
    }
    return w;
}

/* The wildcard that answers for name (which does not exist), or NULL. */
static ldns_rdf *fuzz_zones_wildcard(const ldns_rdf *name)
{
    ldns_rdf *ce = fuzz_zones_encloser(name), *w = ce ? fuzz_zones_star(ce) : NULL;

    ldns_rdf_deep_free(ce);
    if (w != NULL && !fuzz_zones_exists(w)) {
        ldns_rdf_deep_free(w);
        w = NULL;
    }
    return w;
}

static bool fuzz_zones_dname_above(const ldns_rdf *name)
{
    const ldns_rr_list *all = fuzz_zones();

    for (size_t i = 0; i < ldns_rr_list_rr_count(all); i++) {
        const ldns_rr *rr = ldns_rr_list_rr(all, i);
        if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_DNAME &&
            ldns_dname_is_subdomain(name, ldns_rr_owner(rr)))
            return true;
    }
    return false;
}

static bool fuzz_zones_contains(const ldns_rr *rr)
{
    const ldns_rr_list *all = fuzz_zones();

    /* ldns_rr_compare: owner, class, type, then the canonical RDATA (RFC
     * 4034 §6.2); the TTL is not compared */
    for (size_t i = 0; i < ldns_rr_list_rr_count(all); i++)
        if (ldns_rr_compare(rr, ldns_rr_list_rr(all, i)) == 0)
            return true;
    return false;
}

bool fuzz_zones_has_rr(const ldns_rr *rr)
{
    ldns_rdf *w;
    ldns_rr *copy;
    bool found;

    if (ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN)
        return false;
    if (fuzz_zones_contains(rr))
        return true;
    w = fuzz_zones_wildcard(ldns_rr_owner(rr));
    if (w == NULL)
        return false;
    copy = ldns_rr_clone(rr);
    if (copy == NULL)
        fuzz_zones_die("out of memory", "has_rr");
    ldns_rdf_deep_free(ldns_rr_owner(copy));
    ldns_rr_set_owner(copy, w);
    found = fuzz_zones_contains(copy);
    ldns_rr_free(copy);
    return found;
}

bool fuzz_zones_has_cname(const ldns_rdf *owner, const ldns_rdf *target)
{
    ldns_rr *rr = ldns_rr_new();
    bool found;

    if (rr == NULL)
        fuzz_zones_die("out of memory", "has_cname");
    ldns_rr_set_owner(rr, ldns_rdf_clone(owner));
    ldns_rr_set_type(rr, LDNS_RR_TYPE_CNAME);
    ldns_rr_set_class(rr, LDNS_RR_CLASS_IN);
    ldns_rr_push_rdf(rr, ldns_rdf_clone(target));
    found = fuzz_zones_has_rr(rr);
    ldns_rr_free(rr);
    return found;
}

bool fuzz_zones_has_dname(const ldns_rdf *owner, const ldns_rdf *target)
{
    const ldns_rr_list *all = fuzz_zones();

    for (size_t i = 0; i < ldns_rr_list_rr_count(all); i++) {
        const ldns_rr *rr = ldns_rr_list_rr(all, i);
        const ldns_rdf *d = ldns_rr_owner(rr), *to;
        uint8_t buf[2 * LDNS_MAX_DOMAINLEN];
        size_t keep;
        ldns_rdf *want;
        bool same;

        if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_DNAME || !ldns_dname_is_subdomain(owner, d))
            continue;
        to = ldns_rr_rdf(rr, 0);
        keep = ldns_rdf_size(owner) - ldns_rdf_size(d);
        memcpy(buf, ldns_rdf_data(owner), keep);
        memcpy(buf + keep, ldns_rdf_data(to), ldns_rdf_size(to));
        want = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_DNAME, keep + ldns_rdf_size(to), buf);
        same = want != NULL && fuzz_zones_name_eq(want, target);
        ldns_rdf_deep_free(want);
        if (same)
            return true;
    }
    return false;
}

bool fuzz_zones_nxdomain_true(const ldns_rdf *name)
{
    ldns_rdf *w;

    if (fuzz_zones_exists(name) || fuzz_zones_dname_above(name))
        return false;
    w = fuzz_zones_wildcard(name);
    ldns_rdf_deep_free(w);
    return w == NULL;
}

bool fuzz_zones_nodata_true(const ldns_rdf *name, ldns_rr_type type)
{
    ldns_rdf *w = NULL;
    const ldns_rdf *at = name;
    bool ok;

    if (fuzz_zones_dname_above(name))
        return false;
    if (!fuzz_zones_exists(name)) {
        w = fuzz_zones_wildcard(name);
        if (w == NULL)
            return false;
        at = w;
    }
    ok = !fuzz_zones_has_type(at, type) &&
         (type == LDNS_RR_TYPE_CNAME || !fuzz_zones_has_type(at, LDNS_RR_TYPE_CNAME));
    ldns_rdf_deep_free(w);
    return ok;
}
