/* fuzz_dns_answer.c - libFuzzer target for DNS answers from a hostile
 * resolver: the answer check of probes/dns (dns_answer_parse) and the
 * DNSSEC validator of probes/dnssec, on arbitrary wire bytes.
 *
 * The input is one or more DNS messages separated by FUZZ_SEP:
 *
 *     answer FUZZ_SEP fetched FUZZ_SEP fetched ...
 *
 * Every message goes through dns_answer_parse against a fixed question,
 * and through dns_message_parse beside ldns_wire2pkt: the same packet.
 * Then the first message is validated (ldns_wire2pkt, dnssec_job_new)
 * as the answer to its own question (www.good.test./A when it has none),
 * from the test root's trust anchor, at 2030-06-01; each NEED is answered
 * with the first message whose question is the one needed (as probes/dns
 * would deliver it), else with the next message in order, else as a
 * failed fetch.  The job runs twice: with a cold cache, then warm.
 *
 * Besides "no crash, no leak, no sanitizer report", it checks what the
 * modules promise: an accepted answer really answers the question; a
 * job ends within its fetch and signature budgets with a reason for
 * every verdict but secure; and "secure" is never said of data that is
 * not in the signed test zones: a secure RRset, CNAME or DNAME link must
 * be in them, a secure NXDOMAIN or NODATA must be true of them.
 */
#include "fuzz.h"
#include "dns_int.h"
#include "dnssec.h"
#include "zones.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>


#define FUZZ_SEP "=next="
#define FUZZ_SEP_LEN (sizeof(FUZZ_SEP) - 1)
/* The answer and the fetches of a long chain of zones; more are ignored. */
#define FUZZ_MSGS_MAX 16
/* The fixed question of the answer check; seeds answering www.good.test./A
 * carry this ID. */
#define FUZZ_ID 0x2b2b
#define FUZZ_QNAME "www.good.test."
/* dnssec.h: at most 48 fetches and 64 signature checks per job. */
#define FUZZ_FETCHES_MAX 48
#define FUZZ_CHECKS_MAX 64
/* Small enough that a job's own zones get evicted while it runs. */
#define FUZZ_CACHE_ZONES 3

typedef struct {
    const uint8_t *wire;
    size_t len;
    ldns_pkt *pkt; /* NULL when ldns_wire2pkt refused it */
} fuzz_msg_t;

static const dnssec_anchors_t *fuzz_anchors(void)
{
    static dnssec_anchors_t *anchors;
    char err[256];

    if (anchors == NULL) {
        anchors = dnssec_anchors_load(fuzz_zones_path("root.ds"), err, sizeof(err));
        FUZZ_ASSERT(anchors != NULL);
    }
    return anchors;
}

static size_t fuzz_split(const uint8_t *data, size_t size, fuzz_msg_t *msgs)
{
    size_t n = 0, off = 0;

    while (n < FUZZ_MSGS_MAX) {
        const uint8_t *sep = memmem(data + off, size - off, FUZZ_SEP, FUZZ_SEP_LEN);
        size_t end = sep != NULL ? (size_t)(sep - data) : size;

        msgs[n].wire = data + off;
        msgs[n].len = end - off;
        msgs[n].pkt = NULL;
        if (ldns_wire2pkt(&msgs[n].pkt, msgs[n].wire, msgs[n].len) != LDNS_STATUS_OK)
            msgs[n].pkt = NULL;
        n++;
        if (sep == NULL)
            break;
        off = end + FUZZ_SEP_LEN;
    }
    return n;
}

/* Printable ASCII only: reasons end up in reports, which censor the rest to "?". */
static void fuzz_check_text(const char *text, size_t max)
{
    size_t len = strnlen(text, max);

    FUZZ_ASSERT(len < max);
    for (size_t i = 0; i < len; i++)
        FUZZ_ASSERT((unsigned char)text[i] >= 0x20 && (unsigned char)text[i] < 0x7f);
}

/* ---- the answer check -------------------------------------------------- */

static void fuzz_answer_check(const fuzz_msg_t *m, const ldns_rdf *qname)
{
    char why[256], tiny[6];
    ldns_pkt *answer = NULL, *again = NULL;
    dns_status_t st;
    const ldns_rr *q;

    memset(why, 'X', sizeof(why));
    st = dns_answer_parse(m->wire, m->len, FUZZ_ID, qname, LDNS_RR_TYPE_A, &answer, why, sizeof(why));
    FUZZ_ASSERT(st == DNS_OK || st == DNS_ERR_MALFORMED || st == DNS_ERR_NOMEM);
    FUZZ_ASSERT((answer != NULL) == (st == DNS_OK));
    fuzz_check_text(why, sizeof(why));
    FUZZ_ASSERT((why[0] == '\0') == (st == DNS_OK));
    /* what ldns cannot parse, neither can we */
    FUZZ_ASSERT(m->pkt != NULL || strncmp(why, "unparsable", 10) == 0);
    if (answer != NULL) {
        /* what "an answer to our question" means (dns_int.h) */
        FUZZ_ASSERT(ldns_pkt_qr(answer) && ldns_pkt_get_opcode(answer) == LDNS_PACKET_QUERY);
        FUZZ_ASSERT(ldns_pkt_id(answer) == FUZZ_ID && ldns_pkt_qdcount(answer) == 1);
        q = ldns_rr_list_rr(ldns_pkt_question(answer), 0);
        FUZZ_ASSERT(q != NULL && ldns_dname_compare(ldns_rr_owner(q), qname) == 0);
        FUZZ_ASSERT(ldns_rr_get_type(q) == LDNS_RR_TYPE_A && ldns_rr_get_class(q) == LDNS_RR_CLASS_IN);
    }
    /* the verdict does not depend on the reason buffer */
    FUZZ_ASSERT(dns_answer_parse(m->wire, m->len, FUZZ_ID, qname, LDNS_RR_TYPE_A, &again, NULL, 0) == st);
    ldns_pkt_free(again);
    again = NULL;
    memset(tiny, 'X', sizeof(tiny));
    FUZZ_ASSERT(dns_answer_parse(m->wire, m->len, FUZZ_ID, qname, LDNS_RR_TYPE_A, &again, tiny,
                                 sizeof(tiny)) == st);
    FUZZ_ASSERT(memchr(tiny, '\0', sizeof(tiny)) != NULL);
    ldns_pkt_free(again);
    ldns_pkt_free(answer);
}

/* ---- the parser, against ldns's own ----------------------------------- */

static void fuzz_same_pkt(const ldns_pkt *a, const ldns_pkt *b)
{
    uint8_t *wa = NULL, *wb = NULL;
    size_t la = 0, lb = 0;

    FUZZ_ASSERT(ldns_pkt2wire(&wa, a, &la) == LDNS_STATUS_OK);
    FUZZ_ASSERT(ldns_pkt2wire(&wb, b, &lb) == LDNS_STATUS_OK);
    FUZZ_ASSERT(la == lb && memcmp(wa, wb, la) == 0);
    free(wa);
    free(wb);
}

/* dns_message_parse is stricter than ldns_wire2pkt, never looser, and
 * makes the same packet of what both take; a copy is the same packet. */
static void fuzz_parse_check(const fuzz_msg_t *m)
{
    char why[256];
    ldns_pkt *pkt = NULL, *copy;
    dns_status_t st = dns_message_parse(m->wire, m->len, &pkt, why, sizeof(why));

    FUZZ_ASSERT(st == DNS_OK || st == DNS_ERR_MALFORMED);
    FUZZ_ASSERT((pkt != NULL) == (st == DNS_OK));
    FUZZ_ASSERT(st == DNS_OK || why[0] != '\0');
    if (pkt == NULL)
        return;
    FUZZ_ASSERT(m->pkt != NULL);
    fuzz_same_pkt(pkt, m->pkt);
    copy = dns_answer_copy(pkt);
    FUZZ_ASSERT(copy != NULL);
    fuzz_same_pkt(copy, pkt);
    ldns_pkt_free(copy);
    ldns_pkt_free(pkt);
}

/* ---- the validator ----------------------------------------------------- */

/* The message probes/dns would deliver for name/type: its question is
 * that one (ldns_wire2pkt already gave it one question at most). */
static bool fuzz_answers(const ldns_pkt *pkt, const ldns_rdf *name, ldns_rr_type type)
{
    const ldns_rr *q;

    if (pkt == NULL || ldns_rr_list_rr_count(ldns_pkt_question(pkt)) != 1)
        return false;
    q = ldns_rr_list_rr(ldns_pkt_question(pkt), 0);
    return ldns_rr_get_type(q) == type && ldns_rr_get_class(q) == LDNS_RR_CLASS_IN &&
           ldns_dname_compare(ldns_rr_owner(q), name) == 0;
}

static ldns_pkt *fuzz_fetch(const fuzz_msg_t *msgs, size_t n, const ldns_rdf *name,
                            ldns_rr_type type, size_t *next)
{
    ldns_pkt *copy;

    for (size_t i = 0; i < n; i++)
        if (fuzz_answers(msgs[i].pkt, name, type)) {
            copy = ldns_pkt_clone(msgs[i].pkt);
            FUZZ_ASSERT(copy != NULL);
            return copy;
        }
    /* beyond the contract (probes/dns checks the question): the job
     * must still judge whatever it is given by its records */
    while (*next < n) {
        const fuzz_msg_t *m = &msgs[(*next)++];
        if (m->pkt != NULL) {
            copy = ldns_pkt_clone(m->pkt);
            FUZZ_ASSERT(copy != NULL);
            return copy;
        }
    }
    return NULL;
}

/* "secure" only for what the signed zones say. */
static void fuzz_check_truth(const dnssec_job_t *job, ldns_rr_type qtype)
{
    const dnssec_alias_t *links;
    size_t nlinks = dnssec_job_aliases(job, &links);

    for (size_t i = 0; i < nlinks; i++) {
        if (links[i].status != DNSSEC_SECURE)
            continue;
        if (links[i].type == LDNS_RR_TYPE_CNAME)
            FUZZ_ASSERT(fuzz_zones_has_cname(links[i].owner, links[i].target));
        else
            FUZZ_ASSERT(fuzz_zones_has_dname(links[i].owner, links[i].target));
    }
    if (dnssec_job_status(job) != DNSSEC_SECURE)
        return;
    switch (dnssec_job_answer(job)) {
    case DNSSEC_ANSWER_DATA: {
        const ldns_rr_list *set = dnssec_job_rrset(job);
        for (size_t i = 0; i < ldns_rr_list_rr_count(set); i++)
            FUZZ_ASSERT(fuzz_zones_has_rr(ldns_rr_list_rr(set, i)));
        break;
    }
    case DNSSEC_ANSWER_NXDOMAIN:
        FUZZ_ASSERT(fuzz_zones_nxdomain_true(dnssec_job_final_name(job)));
        break;
    case DNSSEC_ANSWER_NODATA:
        FUZZ_ASSERT(fuzz_zones_nodata_true(dnssec_job_final_name(job), qtype));
        break;
    case DNSSEC_ANSWER_NONE:
        abort(); /* nothing to be secure about */
    }
}

static void fuzz_check_job(const dnssec_job_t *job, ldns_rr_type qtype, unsigned fetches)
{
    dnssec_status_t st = dnssec_job_status(job);
    const char *reason = dnssec_job_reason(job);
    const ldns_rr_list *set = dnssec_job_rrset(job);
    const dnssec_alias_t *links;
    size_t nlinks = dnssec_job_aliases(job, &links);

    FUZZ_ASSERT(fetches <= FUZZ_FETCHES_MAX);
    FUZZ_ASSERT(dnssec_job_sig_checks(job) <= FUZZ_CHECKS_MAX);
    FUZZ_ASSERT(strcmp(dnssec_status_name(st), "?") != 0);
    fuzz_check_text(reason, 1024);
    /* "why" strings on every failure, and none on success */
    FUZZ_ASSERT((st == DNSSEC_SECURE) == (reason[0] == '\0'));
    FUZZ_ASSERT(st != DNSSEC_SECURE || dnssec_job_ede(job) == DNSSEC_EDE_NONE);
    FUZZ_ASSERT(dnssec_job_trace(job)[0] != '\0');
    FUZZ_ASSERT(dnssec_job_final_name(job) != NULL);
    FUZZ_ASSERT((set != NULL) == (dnssec_job_answer(job) == DNSSEC_ANSWER_DATA));
    FUZZ_ASSERT(set == NULL || ldns_rr_list_rr_count(set) > 0);
    for (size_t i = 0; set != NULL && i < ldns_rr_list_rr_count(set); i++)
        FUZZ_ASSERT(ldns_rr_get_type(ldns_rr_list_rr(set, i)) == qtype);
    FUZZ_ASSERT(nlinks <= 10);
    for (size_t i = 0; i < nlinks; i++) {
        FUZZ_ASSERT(links[i].owner != NULL && links[i].target != NULL);
        FUZZ_ASSERT(links[i].type == LDNS_RR_TYPE_CNAME || links[i].type == LDNS_RR_TYPE_DNAME);
        FUZZ_ASSERT(st != DNSSEC_SECURE || links[i].status == DNSSEC_SECURE);
    }
    fuzz_check_truth(job, qtype);
}

static void fuzz_validate(const fuzz_msg_t *msgs, size_t n, const ldns_rdf *qname,
                          ldns_rr_type qtype, dnssec_cache_t *cache)
{
    ldns_pkt *answer = msgs[0].pkt != NULL ? ldns_pkt_clone(msgs[0].pkt) : NULL;
    dnssec_job_t *job;
    const ldns_rdf *need;
    ldns_rr_type type;
    unsigned fetches = 0;
    size_t next = 1;

    FUZZ_ASSERT(msgs[0].pkt == NULL || answer != NULL);
    job = dnssec_job_new(fuzz_anchors(), cache, qname, qtype, answer, FUZZ_ZONES_AT);
    FUZZ_ASSERT(job != NULL);
    while (dnssec_job_step(job, &need, &type) == DNSSEC_JOB_NEED) {
        FUZZ_ASSERT(need != NULL && (type == LDNS_RR_TYPE_DS || type == LDNS_RR_TYPE_DNSKEY));
        FUZZ_ASSERT(++fetches <= FUZZ_FETCHES_MAX); /* bounded: the job must end */
        dnssec_job_feed(job, fuzz_fetch(msgs, n, need, type, &next));
    }
    fuzz_check_job(job, qtype, fetches);
    dnssec_job_free(job);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_msg_t msgs[FUZZ_MSGS_MAX];
    size_t n = fuzz_split(data, size, msgs);
    ldns_rdf *fixed = ldns_dname_new_frm_str(FUZZ_QNAME), *qname;
    ldns_rr_type qtype = LDNS_RR_TYPE_A;
    dnssec_cache_t *cache = dnssec_cache_new(FUZZ_CACHE_ZONES);

    FUZZ_ASSERT(fixed != NULL && cache != NULL);
    for (size_t i = 0; i < n; i++) {
        fuzz_answer_check(&msgs[i], fixed);
        fuzz_parse_check(&msgs[i]);
    }

    if (msgs[0].pkt != NULL && ldns_rr_list_rr_count(ldns_pkt_question(msgs[0].pkt)) == 1) {
        const ldns_rr *q = ldns_rr_list_rr(ldns_pkt_question(msgs[0].pkt), 0);
        qname = ldns_rdf_clone(ldns_rr_owner(q));
        qtype = ldns_rr_get_type(q);
    } else {
        qname = ldns_rdf_clone(fixed);
    }
    FUZZ_ASSERT(qname != NULL);
    fuzz_validate(msgs, n, qname, qtype, cache);   /* cold */
    fuzz_validate(msgs, n, qname, qtype, cache);   /* warm */
    FUZZ_ASSERT(dnssec_cache_count(cache) <= FUZZ_CACHE_ZONES);

    dnssec_cache_free(cache);
    ldns_rdf_deep_free(qname);
    ldns_rdf_deep_free(fixed);
    for (size_t i = 0; i < n; i++)
        ldns_pkt_free(msgs[i].pkt);
    return 0;
}
