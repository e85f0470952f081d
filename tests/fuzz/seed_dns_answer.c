/* seed_dns_answer.c - writes the seed corpus of fuzz_dns_answer from the
 * signed test zones, so that it can be made again whenever
 * tests/unit/data/dnssec/generate.py re-signs them:
 *
 *     seed_dns_answer tests/unit/data/dnssec tests/fuzz/corpus/dns_answer
 *
 * One seed per chosen case of test_dnssec's table (and a few forgeries):
 * the answer its zone-file resolver gives, then every DS/DNSKEY answer
 * the validator asks for on the way, in wire format, joined by the
 * target's separator.  Hostile variants of the wire format (compression
 * loops, counts beyond the message...) are cut from the first seed.
 *
 * The resolver is test_dnssec's own, taken whole (its main renamed), so
 * the seeds are exactly the answers the unit test validates.
 */
#define main test_dnssec_main
int test_dnssec_main(int argc, char **argv);
#include "../unit/test_dnssec.c"
#undef main

#include <errno.h>

/* fuzz_dns_answer.c: FUZZ_SEP and FUZZ_ID */
#define SEED_SEP "=next="
#define SEED_ID 0x2b2b

static const char *const seed_cases[] = {
    "ecdsa-nsec-a", "rsa-nsec3-a", "ed25519-a", "ecdsa-p384-sha384-ds", "rsasha512-sha1-ds",
    "below-empty-non-terminal", "ds-rrset", "dnskey-rrset", "under-optout-tld", "nsec-nxdomain",
    "nsec-nodata", "nsec-nodata-ent", "nsec3-nxdomain", "nsec3-nxdomain-deep", "nsec3-nodata",
    "nsec-wildcard", "nsec3-wildcard", "nsec-wildcard-nodata", "cname-across-zones",
    "cname-from-wildcard", "dname", "nsec-unsigned-delegation", "nsec3-optout-delegation",
    "unknown-ds-digest", "nsec3-iterations-200", "expired", "wrong-ds", "keytrap-rrset-limit",
    "keytrap-job-limit", "nsec-missing-nxdomain", "dname-forged-cname", "chain-longer-than-10",
};

typedef struct {
    uint8_t *data;
    size_t len, cap;
} seed_buf_t;

static void seed_die(const char *what)
{
    fprintf(stderr, "seed_dns_answer: %s\n", what);
    exit(1);
}

static void seed_put(seed_buf_t *b, const void *p, size_t n)
{
    if (b->len + n > b->cap) {
        b->cap = (b->len + n) * 2;
        b->data = realloc(b->data, b->cap);
        if (!b->data)
            seed_die("out of memory");
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

/* The message as it goes on the wire, with the fixed ID; takes pkt. */
static void seed_put_pkt(seed_buf_t *b, ldns_pkt *pkt)
{
    uint8_t *wire = NULL;
    size_t len;

    if (b->len > 0)
        seed_put(b, SEED_SEP, strlen(SEED_SEP));
    if (!pkt)
        return; /* an empty message: a fetch that failed */
    ldns_pkt_set_id(pkt, SEED_ID);
    if (ldns_pkt2wire(&wire, pkt, &len) != LDNS_STATUS_OK)
        seed_die("ldns_pkt2wire");
    seed_put(b, wire, len);
    free(wire);
    ldns_pkt_free(pkt);
}

static void seed_write(const char *dir, const char *name, const seed_buf_t *b)
{
    char path[1024];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "wb");
    if (!f || fwrite(b->data, 1, b->len, f) != b->len || fclose(f) != 0) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        exit(1);
    }
}

/* answer (taken), then what the validator fetches, resolved the same way. */
static void seed_chain(const dnssec_anchors_t *anchors, const char *dir, const char *name,
                       const ldns_rdf *qname, ldns_rr_type qtype, ldns_pkt *answer)
{
    dnssec_cache_t *cache = dnssec_cache_new(64);
    dnssec_job_t *job = dnssec_job_new(anchors, cache, qname, qtype, ldns_pkt_clone(answer), AT);
    seed_buf_t b = {NULL, 0, 0};
    const ldns_rdf *need;
    ldns_rr_type type;

    seed_put_pkt(&b, answer);
    while (dnssec_job_step(job, &need, &type) == DNSSEC_JOB_NEED) {
        ldns_pkt *p = resolve(need, type);
        seed_put_pkt(&b, ldns_pkt_clone(p));
        dnssec_job_feed(job, p);
    }
    printf("  %-34s %-13s %5zu bytes  %s\n", name, dnssec_status_name(dnssec_job_status(job)), b.len,
           dnssec_job_reason(job));
    seed_write(dir, name, &b);
    free(b.data);
    dnssec_job_free(job);
    dnssec_cache_free(cache);
}

/* Forgeries built from the zones' own signed records. */
static ldns_pkt *seed_forged(const char *owner, ldns_rr_type qtype, ldns_pkt_rcode rcode,
                             const char *zone, const char *nsec_owner)
{
    ldns_rdf *q = ldns_dname_new_frm_str(owner), *zn = ldns_dname_new_frm_str(zone);
    ldns_rdf *no = ldns_dname_new_frm_str(nsec_owner);
    ldns_pkt *pkt = ldns_pkt_query_new(ldns_rdf_clone(q), qtype, LDNS_RR_CLASS_IN, LDNS_RD | LDNS_CD);
    zone_t *z = zone_named(zn);

    if (!z)
        seed_die(zone);
    ldns_pkt_set_qr(pkt, true);
    ldns_pkt_set_ra(pkt, true);
    ldns_pkt_set_rcode(pkt, rcode);
    push_soa(pkt, z);
    push_nsec(pkt, z, no, false);
    ldns_rdf_deep_free(q);
    ldns_rdf_deep_free(zn);
    ldns_rdf_deep_free(no);
    return pkt;
}

/* A copy of the first message of src with bytes changed or cut. */
static void seed_hostile(const char *dir, const char *name, const seed_buf_t *src, size_t cut,
                         const uint8_t *patch, size_t at, size_t n)
{
    seed_buf_t b = {NULL, 0, 0};
    const uint8_t *sep = memmem(src->data, src->len, SEED_SEP, strlen(SEED_SEP));
    size_t len = sep ? (size_t)(sep - src->data) : src->len;

    seed_put(&b, src->data, cut && cut < len ? cut : len);
    if (at + n <= b.len)
        memcpy(b.data + at, patch, n);
    else
        seed_put(&b, patch, n);
    printf("  %-34s %5zu bytes\n", name, b.len);
    seed_write(dir, name, &b);
    free(b.data);
}

static void seed_read(const char *path, seed_buf_t *b)
{
    FILE *f = fopen(path, "rb");
    uint8_t chunk[4096];
    size_t n;

    if (!f)
        seed_die(path);
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        seed_put(b, chunk, n);
    fclose(f);
}

int main(int argc, char **argv)
{
    char err[256], path[1024];
    dnssec_anchors_t *anchors;
    seed_buf_t good = {NULL, 0, 0};

    if (argc != 3) {
        fprintf(stderr, "usage: %s DATA_DIR OUT_DIR\n", argv[0]);
        return 2;
    }
    if (!load_zones(argv[1]))
        return 1;
    snprintf(path, sizeof(path), "%s/root.ds", argv[1]);
    anchors = dnssec_anchors_load(path, err, sizeof(err));
    if (!anchors)
        seed_die(err);

    for (size_t i = 0; i < sizeof(seed_cases) / sizeof(seed_cases[0]); i++) {
        const vcase_t *c = NULL;
        ldns_rdf *qname;
        ldns_pkt *answer;

        for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]) && !c; k++)
            if (strcmp(cases[k].name, seed_cases[i]) == 0)
                c = &cases[k];
        if (!c)
            seed_die(seed_cases[i]);
        qname = ldns_dname_new_frm_str(c->qname);
        answer = resolve(qname, c->qtype);
        if (c->damage)
            c->damage(answer);
        seed_chain(anchors, argv[2], c->name, qname, c->qtype, answer);
        ldns_rdf_deep_free(qname);
    }

    /* RFC 6840 §4.4: the child's apex NSEC says nothing about the DS above it */
    {
        ldns_rdf *q = ldns_dname_new_frm_str("good.test.");
        seed_chain(anchors, argv[2], "forged-ds-denial-from-child-apex", q, LDNS_RR_TYPE_DS,
                   seed_forged("good.test.", LDNS_RR_TYPE_DS, LDNS_RCODE_NOERROR, "good.test.",
                               "good.test."));
        ldns_rdf_deep_free(q);
    }
    /* an NXDOMAIN "proven" by the NSEC of the very name */
    {
        ldns_rdf *q = ldns_dname_new_frm_str("www.good.test.");
        seed_chain(anchors, argv[2], "forged-nxdomain-for-existing-name", q, LDNS_RR_TYPE_A,
                   seed_forged("www.good.test.", LDNS_RR_TYPE_A, LDNS_RCODE_NXDOMAIN, "good.test.",
                               "www.good.test."));
        ldns_rdf_deep_free(q);
    }

    /* wire-format damage to www.good.test./A (header 12 bytes, then the
     * question "\3www\4good\4test\0" at offset 12) */
    snprintf(path, sizeof(path), "%s/ecdsa-nsec-a", argv[2]);
    seed_read(path, &good);
    {
        static const uint8_t loop[] = {0xc0, 0x0c};          /* points at itself */
        static const uint8_t label64[] = {0x40};             /* a 64-octet label */
        static const uint8_t counts[] = {0x00, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
        static const uint8_t none[] = {0};
        static const uint8_t spoofed[] = {0xde, 0xad};
        /* RFC 6891 §6.1.1: a second OPT RR makes the message FORMERR */
        static const uint8_t opt[] = {0x00, 0x00, 0x29, 0x04, 0xd0, 0x00, 0x00, 0x80, 0x00, 0x00, 0x00};
        const uint8_t *sep = memmem(good.data, good.len, SEED_SEP, strlen(SEED_SEP));
        uint8_t arcount[2];

        seed_hostile(argv[2], "wire-compression-loop", &good, 0, loop, 12, sizeof(loop));
        seed_hostile(argv[2], "wire-label-over-63", &good, 0, label64, 12, sizeof(label64));
        seed_hostile(argv[2], "wire-counts-beyond-message", &good, 0, counts, 4, sizeof(counts));
        seed_hostile(argv[2], "wire-truncated", &good, 40, none, 40, 0);
        seed_hostile(argv[2], "wire-spoofed-id", &good, 0, spoofed, 0, sizeof(spoofed));
        if (!sep || good.len < 12)
            seed_die("ecdsa-nsec-a: no first message");
        good.len = (size_t)(sep - good.data);
        arcount[0] = good.data[10];
        arcount[1] = (uint8_t)(good.data[11] + 2);
        seed_put(&good, opt, sizeof(opt));
        seed_put(&good, opt, sizeof(opt));
        seed_hostile(argv[2], "wire-duplicate-opt", &good, 0, arcount, 10, sizeof(arcount));
    }
    free(good.data);
    dnssec_anchors_free(anchors);
    free_zones();
    return 0;
}
