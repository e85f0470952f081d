/* test_dns.c - probes/dns without the network: the server list parser,
 * the wire form of our queries, and the check that an answer answers
 * our question, as tables. */
#include "check.h"
#include "dns.h"
#include "dns_int.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <ares.h>

/* ---- server lists ---------------------------------------------------- */

typedef struct {
    const char *name;
    const char *spec;
    int want_n;                 /* -1: an error */
    const char *want;           /* first server "ADDR PORT", or a piece of the error */
} servers_row_t;

static const servers_row_t servers_rows[] = {
    {"ipv4", "127.53.1.1", 1, "127.53.1.1 53"},
    {"ipv4 port", "127.53.1.1:5353", 1, "127.53.1.1 5353"},
    {"ipv6 bracketed port", "[::1]:53", 1, "::1 53"},
    {"ipv6 bracketed", "[2001:db8::1]", 1, "2001:db8::1 53"},
    {"ipv6 bare", "2001:db8::53", 1, "2001:db8::53 53"},
    /* without brackets a trailing :53 is part of the address */
    {"ipv6 bare ambiguous", "::1:53", 1, "::0.1.0.83 53"},
    {"list", "127.0.0.1,127.0.0.2:54,[::1]:55", 3, "127.0.0.1 53"},
    {"list with spaces", " 127.0.0.1 , 127.0.0.2 ", 2, "127.0.0.1 53"},
    {"port 65535", "10.0.0.1:65535", 1, "10.0.0.1 65535"},
    {"eight servers", "1.1.1.1,1.1.1.2,1.1.1.3,1.1.1.4,1.1.1.5,1.1.1.6,1.1.1.7,1.1.1.8", 8,
     "1.1.1.1 53"},
    {"null", NULL, -1, "empty server list"},
    {"empty", "", -1, "empty server list"},
    {"blank", "  ", -1, "empty server list"},
    {"empty entry", "127.0.0.1,,127.0.0.2", -1, "empty entry"},
    {"trailing comma", "127.0.0.1,", -1, "empty entry"},
    {"name", "ns.example", -1, "is not an IP address"},
    {"name port", "ns.example:53", -1, "is not an IP address"},
    {"scoped ipv6", "fe80::1%eth0", -1, "is not an IP address"},
    {"port 0", "127.0.0.1:0", -1, "bad port \"0\""},
    {"port too big", "127.0.0.1:65536", -1, "bad port \"65536\""},
    {"port long", "127.0.0.1:000053", -1, "bad port"},
    {"port letters", "127.0.0.1:53x", -1, "bad port \"53x\""},
    {"port sign", "127.0.0.1:+53", -1, "bad port"},
    {"port empty", "127.0.0.1:", -1, "bad port \"\""},
    {"ipv4 two ports", "127.0.0.1:53:54", -1, "is not an IP address"},
    {"bracket unclosed", "[::1", -1, "'[' without ']'"},
    {"bracket no colon", "[::1]53", -1, "expected \":PORT\" after ']'"},
    {"bracketed ipv4", "[127.0.0.1]:53", -1, "is not an IPv6 address"},
    {"bracketed port bad", "[::1]:x", -1, "bad port \"x\""},
    {"nine servers", "1.1.1.1,1.1.1.2,1.1.1.3,1.1.1.4,1.1.1.5,1.1.1.6,1.1.1.7,1.1.1.8,1.1.1.9",
     -1, "more than 8 servers"},
    {"too long", "[2001:0db8:0000:0000:0000:0000:0000:0001:0000:0000:0000:0000:0000]:53", -1,
     "is too long"},
};

static void test_servers_parse(void)
{
    for (size_t i = 0; i < sizeof(servers_rows) / sizeof(servers_rows[0]); i++) {
        const servers_row_t *row = &servers_rows[i];
        dns_server_t out[DNS_SERVERS_MAX];
        char err[256] = "";
        int n = dns_servers_parse(row->spec, out, DNS_SERVERS_MAX, err, sizeof(err));

        CHECK(n == row->want_n, "%s: got %d servers (%s), want %d", row->name, n, err, row->want_n);
        if (n < 0 || row->want_n < 0) {
            CHECK(strstr(err, row->want) != NULL, "%s: got error \"%s\", want \"%s\" in it",
                  row->name, err, row->want);
            continue;
        }
        char addr[INET6_ADDRSTRLEN], got[INET6_ADDRSTRLEN + 8];
        inet_ntop(out[0].family, &out[0].addr, addr, sizeof(addr));
        snprintf(got, sizeof(got), "%s %u", addr, (unsigned)out[0].port);
        CHECK_STR(row->name, got, row->want);
    }
}

/* ---- queries --------------------------------------------------------- */

typedef struct {
    const char *name;
    const char *qname;
    ldns_rr_type qtype;
    bool cd;
    uint16_t id;
} query_row_t;

static const query_row_t query_rows[] = {
    {"mx cd", "dane-ee.test.", LDNS_RR_TYPE_MX, true, 0x1234},
    {"tlsa no cd", "_25._tcp.mx.dane-ee.test.", LDNS_RR_TYPE_TLSA, false, 0xffff},
    {"dnskey root", ".", LDNS_RR_TYPE_DNSKEY, true, 0},
    {"case kept", "MX.Dane-EE.test.", LDNS_RR_TYPE_AAAA, true, 7},
};

/* The OPT RR we expect last (RFC 6891 §6.1.2): root owner, type 41,
 * class = payload size, TTL = ext-rcode 0, version 0, DO bit, no rdata. */
static const uint8_t want_opt[11] = {0x00, 0x00, 0x29, 0x04, 0xd0, 0x00, 0x00, 0x80, 0x00, 0x00, 0x00};

static void test_query_build(void)
{
    for (size_t i = 0; i < sizeof(query_rows) / sizeof(query_rows[0]); i++) {
        const query_row_t *row = &query_rows[i];
        ldns_rdf *qname = ldns_dname_new_frm_str(row->qname);
        uint8_t *wire = NULL;
        size_t len = 0;
        ldns_pkt *pkt = NULL;

        CHECK(qname != NULL, "%s: cannot make %s", row->name, row->qname);
        if (qname == NULL)
            continue;
        CHECK(dns_query_build(qname, row->qtype, row->id, row->cd, &wire, &len),
              "%s: query not built", row->name);
        if (wire == NULL || len < 12 + 11) {
            CHECK(false, "%s: %zu bytes of wire", row->name, len);
            ldns_rdf_deep_free(qname);
            free(wire);
            continue;
        }
        CHECK_INT(row->name, (wire[0] << 8) | wire[1], row->id);
        /* byte 2: QR opcode(4) AA TC RD; byte 3: RA Z AD CD rcode(4) */
        CHECK_INT("QR/opcode/AA/TC/RD", wire[2], 0x01);
        CHECK_INT("RA/Z/AD/CD/rcode", wire[3], row->cd ? 0x10 : 0x00);
        CHECK_INT("QDCOUNT", (wire[4] << 8) | wire[5], 1);
        CHECK_INT("ANCOUNT", (wire[6] << 8) | wire[7], 0);
        CHECK_INT("NSCOUNT", (wire[8] << 8) | wire[9], 0);
        CHECK_INT("ARCOUNT", (wire[10] << 8) | wire[11], 1);
        CHECK(memcmp(wire + len - sizeof(want_opt), want_opt, sizeof(want_opt)) == 0,
              "%s: the packet does not end in OPT(1232, DO)", row->name);

        CHECK(ldns_wire2pkt(&pkt, wire, len) == LDNS_STATUS_OK, "%s: our query does not parse",
              row->name);
        if (pkt != NULL) {
            const ldns_rr *q = ldns_rr_list_rr(ldns_pkt_question(pkt), 0);
            char *owner = ldns_rdf2str(ldns_rr_owner(q));
            CHECK_STR(row->name, owner, row->qname);
            CHECK_INT("qtype", ldns_rr_get_type(q), row->qtype);
            CHECK_INT("qclass", ldns_rr_get_class(q), LDNS_RR_CLASS_IN);
            CHECK_INT("edns size", ldns_pkt_edns_udp_size(pkt), DNS_EDNS_UDP_SIZE);
            CHECK(ldns_pkt_edns_do(pkt), "%s: DO not set", row->name);
            free(owner);
        }
        ldns_pkt_free(pkt);
        ldns_rdf_deep_free(qname);
        free(wire);
    }
}

/* "dane-ee" without the root label (ldns_dname_new_frm_str would add it). */
static ldns_rdf *relative_name(void)
{
    static const uint8_t data[] = {7, 'd', 'a', 'n', 'e', '-', 'e', 'e'};

    return ldns_rdf_new_frm_data(LDNS_RDF_TYPE_DNAME, sizeof(data), data);
}

static void test_query_build_refuses(void)
{
    ldns_rdf *relative = relative_name();
    ldns_rdf *addr = ldns_rdf_new_frm_str(LDNS_RDF_TYPE_A, "192.0.2.1");
    ldns_rdf *long_name = NULL;
    uint8_t labels[257];
    uint8_t *wire = (uint8_t *)"x";
    size_t len = 1;

    /* four 63-byte labels and a 0-byte label: 257 bytes, over RFC 1035's 255 */
    for (size_t i = 0; i < 4; i++) {
        labels[i * 64] = 63;
        memset(labels + i * 64 + 1, 'a', 63);
    }
    labels[256] = 0;
    long_name = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_DNAME, sizeof(labels), labels);

    CHECK(relative != NULL && !ldns_dname_absolute(relative), "\"dane-ee\" is not relative");
    CHECK(!dns_query_build(relative, LDNS_RR_TYPE_MX, 1, true, &wire, &len),
          "relative name: built");
    CHECK(wire == NULL && len == 0, "relative name: wire left set");
    CHECK(!dns_query_build(addr, LDNS_RR_TYPE_MX, 1, true, &wire, &len), "A rdf: built");
    CHECK(long_name != NULL && !dns_query_build(long_name, LDNS_RR_TYPE_MX, 1, true, &wire, &len),
          "a 257-byte name: built");
    CHECK(!dns_query_build(NULL, LDNS_RR_TYPE_MX, 1, true, &wire, &len), "NULL name: built");
    ldns_rdf_deep_free(relative);
    ldns_rdf_deep_free(addr);
    ldns_rdf_deep_free(long_name);
}

/* ---- answers --------------------------------------------------------- */

typedef enum {
    ANS_GOOD,
    ANS_NOT_QR,
    ANS_OPCODE_NOTIFY,
    ANS_OTHER_ID,
    ANS_OTHER_NAME,
    ANS_UPPER_NAME,
    ANS_OTHER_TYPE,
    ANS_CLASS_CH,
    ANS_NO_QUESTION,
    ANS_TWO_QUESTIONS,
    ANS_SERVFAIL,
    ANS_HEADER_ONLY,        /* says one question, has none */
    ANS_CUT,                /* a good answer without its last byte */
    ANS_GARBAGE,
    ANS_TWO_OPTS,           /* a second OPT after the first */
    ANS_THREE_OPTS,
} answer_kind_t;

typedef struct {
    const char *name;
    answer_kind_t kind;
    dns_status_t want;
    const char *why;        /* a piece of the reason */
} answer_row_t;

static const answer_row_t answer_rows[] = {
    {"good", ANS_GOOD, DNS_OK, ""},
    {"qname case differs", ANS_UPPER_NAME, DNS_OK, ""},
    {"servfail is an answer", ANS_SERVFAIL, DNS_OK, ""},
    {"not a response", ANS_NOT_QR, DNS_ERR_MALFORMED, "QR=0"},
    {"notify", ANS_OPCODE_NOTIFY, DNS_ERR_MALFORMED, "opcode 4"},
    {"other id", ANS_OTHER_ID, DNS_ERR_MALFORMED, "ID 4661, not 4660"},
    {"other name", ANS_OTHER_NAME, DNS_ERR_MALFORMED, "answers evil.test., not dane-ee.test."},
    {"other type", ANS_OTHER_TYPE, DNS_ERR_MALFORMED, "answers type 1, not 15"},
    {"class CH", ANS_CLASS_CH, DNS_ERR_MALFORMED, "class 3"},
    {"no question", ANS_NO_QUESTION, DNS_ERR_MALFORMED, "0 questions"},
    {"two questions", ANS_TWO_QUESTIONS, DNS_ERR_MALFORMED, "2 questions"},
    {"header only", ANS_HEADER_ONLY, DNS_ERR_MALFORMED, "unparsable"},
    {"cut short", ANS_CUT, DNS_ERR_MALFORMED, "unparsable"},
    {"garbage", ANS_GARBAGE, DNS_ERR_MALFORMED, "unparsable"},
    /* ldns would keep one OPT and drop the rest without a word */
    {"two OPT records", ANS_TWO_OPTS, DNS_ERR_MALFORMED, "2 OPT records, at most 1 (RFC 6891 section 6.1.1)"},
    {"three OPT records", ANS_THREE_OPTS, DNS_ERR_MALFORMED, "3 OPT records, at most 1"},
};

static ldns_rr *rr_new(const char *text)
{
    ldns_rr *rr = NULL;

    if (ldns_rr_new_frm_str(&rr, text, 300, NULL, NULL) != LDNS_STATUS_OK)
        return NULL;
    return rr;
}

/* The answer a resolver would give, bent as the row asks. */
static bool answer_make(answer_kind_t kind, uint8_t **wire, size_t *len)
{
    const char *qname = kind == ANS_OTHER_NAME   ? "evil.test."
                        : kind == ANS_UPPER_NAME ? "DANE-EE.Test."
                                                 : "dane-ee.test.";
    ldns_rr_type qtype = kind == ANS_OTHER_TYPE ? LDNS_RR_TYPE_A : LDNS_RR_TYPE_MX;
    ldns_rr_class qclass = kind == ANS_CLASS_CH ? LDNS_RR_CLASS_CH : LDNS_RR_CLASS_IN;
    ldns_pkt *pkt;
    bool ok;

    if (kind == ANS_HEADER_ONLY || kind == ANS_GARBAGE) {
        static const uint8_t header[12] = {0x12, 0x34, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0};
        static const uint8_t garbage[5] = {0xde, 0xad, 0xbe, 0xef, 0x00};
        *len = kind == ANS_HEADER_ONLY ? sizeof(header) : sizeof(garbage);
        *wire = malloc(*len);
        if (*wire == NULL)
            return false;
        memcpy(*wire, kind == ANS_HEADER_ONLY ? header : garbage, *len);
        return true;
    }
    pkt = ldns_pkt_query_new(ldns_dname_new_frm_str(qname), qtype, qclass, LDNS_RD | LDNS_CD);
    if (pkt == NULL)
        return false;
    ldns_pkt_set_id(pkt, kind == ANS_OTHER_ID ? 0x1235 : 0x1234);
    ldns_pkt_set_qr(pkt, kind != ANS_NOT_QR);
    ldns_pkt_set_ra(pkt, true);
    if (kind == ANS_OPCODE_NOTIFY)
        ldns_pkt_set_opcode(pkt, LDNS_PACKET_NOTIFY);
    if (kind == ANS_SERVFAIL)
        ldns_pkt_set_rcode(pkt, LDNS_RCODE_SERVFAIL);
    else
        ldns_pkt_push_rr(pkt, LDNS_SECTION_ANSWER, rr_new("dane-ee.test. 300 IN MX 10 mx.dane-ee.test."));
    if (kind == ANS_NO_QUESTION) {
        ldns_rr_list_deep_free(ldns_pkt_question(pkt));
        ldns_pkt_set_question(pkt, ldns_rr_list_new());
        ldns_pkt_set_qdcount(pkt, 0);
    }
    if (kind == ANS_TWO_QUESTIONS) {
        ldns_rr *q2 = ldns_rr_new();
        ldns_rr_set_owner(q2, ldns_dname_new_frm_str("dane-ee.test."));
        ldns_rr_set_type(q2, LDNS_RR_TYPE_MX);
        ldns_rr_set_question(q2, true);
        ldns_pkt_push_rr(pkt, LDNS_SECTION_QUESTION, q2);
    }
    ldns_pkt_set_edns_udp_size(pkt, 1232);
    ldns_pkt_set_edns_do(pkt, true);
    ok = ldns_pkt2wire(wire, pkt, len) == LDNS_STATUS_OK;
    ldns_pkt_free(pkt);
    if (ok && kind == ANS_CUT)
        (*len)--;
    if (ok && (kind == ANS_TWO_OPTS || kind == ANS_THREE_OPTS)) {
        /* OPT: root owner, type 41, 4096 bytes, DO, no options */
        static const uint8_t opt[11] = {0x00, 0x00, 0x29, 0x10, 0x00, 0x00, 0x00, 0x80, 0x00, 0x00, 0x00};
        size_t extra = kind == ANS_TWO_OPTS ? 1 : 2;
        uint8_t *bigger = realloc(*wire, *len + extra * sizeof(opt));

        if (bigger == NULL)
            return false;
        for (size_t i = 0; i < extra; i++)
            memcpy(bigger + *len + i * sizeof(opt), opt, sizeof(opt));
        *len += extra * sizeof(opt);
        bigger[11] = (uint8_t)(bigger[11] + extra); /* ARCOUNT (1 before) */
        *wire = bigger;
    }
    return ok;
}

static void test_answer_parse(void)
{
    ldns_rdf *qname = ldns_dname_new_frm_str("dane-ee.test.");

    for (size_t i = 0; i < sizeof(answer_rows) / sizeof(answer_rows[0]); i++) {
        const answer_row_t *row = &answer_rows[i];
        uint8_t *wire = NULL;
        size_t len = 0;
        ldns_pkt *answer = NULL;
        char why[256] = "unset";
        dns_status_t got;

        if (!answer_make(row->kind, &wire, &len)) {
            CHECK(false, "%s: cannot make the answer", row->name);
            continue;
        }
        got = dns_answer_parse(wire, len, 0x1234, qname, LDNS_RR_TYPE_MX, &answer, why, sizeof(why));
        CHECK(got == row->want, "%s: got %s (%s), want %s", row->name, dns_status_name(got), why,
              dns_status_name(row->want));
        CHECK(strstr(why, row->why) != NULL, "%s: got reason \"%s\", want \"%s\" in it", row->name,
              why, row->why);
        CHECK((answer != NULL) == (got == DNS_OK), "%s: answer %s with %s", row->name,
              answer != NULL ? "set" : "unset", dns_status_name(got));
        if (answer != NULL && row->kind == ANS_SERVFAIL)
            CHECK_INT("servfail rcode", ldns_pkt_get_rcode(answer), LDNS_RCODE_SERVFAIL);
        ldns_pkt_free(answer);
        free(wire);
    }
    ldns_rdf_deep_free(qname);
}

/* ---- the parser on its own ------------------------------------------ */

/* A response to dane-ee.test./MX (ID 0x1234) with one answer record
 * whose type, RDATA length and RDATA are given. */
static size_t message_make(uint8_t *out, uint16_t type, uint16_t rdlen, const uint8_t *rdata,
                           size_t n)
{
    static const uint8_t head[] = {
        0x12, 0x34, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0,
        7, 'd', 'a', 'n', 'e', '-', 'e', 'e', 4, 't', 'e', 's', 't', 0, 0, 15, 0, 1,
        0xc0, 12, 0, 0, 0, 1, 0, 0, 1, 44, 0, 0,
    };
    size_t len = sizeof(head);

    memcpy(out, head, len);
    out[len - 10] = (uint8_t)(type >> 8);
    out[len - 9] = (uint8_t)type;
    out[len - 2] = (uint8_t)(rdlen >> 8);
    out[len - 1] = (uint8_t)rdlen;
    memcpy(out + len, rdata, n);
    return len + n;
}

static void test_message_parse(void)
{
    static const struct {
        const char *name;
        uint16_t type, rdlen;
        uint8_t rdata[16];
        size_t n;
        dns_status_t want;
        const char *why;
    } rows[] = {
        {"A", LDNS_RR_TYPE_A, 4, {192, 0, 2, 1}, 4, DNS_OK, ""},
        {"MX", LDNS_RR_TYPE_MX, 6, {0, 10, 2, 'm', 'x', 0}, 6, DNS_OK, ""},
        {"MX, exchange compressed", LDNS_RR_TYPE_MX, 4, {0, 10, 0xc0, 12}, 4, DNS_OK, ""},
        /* ldns_wire2pkt would read the next record from inside this one */
        {"A with an octet too many", LDNS_RR_TYPE_A, 5, {192, 0, 2, 1, 7}, 5, DNS_ERR_MALFORMED,
         "answer record 1 of 1: its RDATA does not fit its type"},
        {"MX exchange running out of its RDATA", LDNS_RR_TYPE_MX, 3, {0, 10, 1, 'a', 0}, 5,
         DNS_ERR_MALFORMED, "its RDATA does not fit its type"},
        {"RDATA past the end", LDNS_RR_TYPE_A, 8, {192, 0, 2, 1}, 4, DNS_ERR_MALFORMED,
         "answer record 1 of 1: runs past the end of the message"},
        {"TXT string longer than the RDATA", LDNS_RR_TYPE_TXT, 3, {9, 'a', 'b'}, 3,
         DNS_ERR_MALFORMED, "its RDATA does not fit its type"},
        {"unknown type: one opaque field", 65280, 3, {1, 2, 3}, 3, DNS_OK, ""},
    };

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        uint8_t wire[128], *w1 = NULL, *w2 = NULL;
        size_t len = message_make(wire, rows[i].type, rows[i].rdlen, rows[i].rdata, rows[i].n);
        size_t l1 = 0, l2 = 0;
        char why[256] = "unset";
        ldns_pkt *pkt = NULL, *ref = NULL, *copy;
        dns_status_t got = dns_message_parse(wire, len, &pkt, why, sizeof(why));

        CHECK(got == rows[i].want, "parse %s: got %s (%s), want %s", rows[i].name,
              dns_status_name(got), why, dns_status_name(rows[i].want));
        CHECK(got == DNS_OK || strstr(why, rows[i].why) != NULL,
              "parse %s: reason \"%s\", want \"%s\" in it", rows[i].name, why, rows[i].why);
        if (pkt == NULL)
            continue;
        /* what it takes, ldns takes too, and reads the same */
        CHECK(ldns_wire2pkt(&ref, wire, len) == LDNS_STATUS_OK, "parse %s: ldns refuses it",
              rows[i].name);
        copy = dns_answer_copy(pkt);
        CHECK(copy != NULL, "parse %s: no copy", rows[i].name);
        if (ref && copy && ldns_pkt2wire(&w1, pkt, &l1) == LDNS_STATUS_OK &&
            ldns_pkt2wire(&w2, ref, &l2) == LDNS_STATUS_OK) {
            CHECK(l1 == l2 && memcmp(w1, w2, l1) == 0, "parse %s: not the packet ldns makes",
                  rows[i].name);
            free(w2);
            w2 = NULL;
            CHECK(ldns_pkt2wire(&w2, copy, &l2) == LDNS_STATUS_OK && l1 == l2 &&
                      memcmp(w1, w2, l1) == 0, "parse %s: the copy differs", rows[i].name);
        }
        CHECK_INT(rows[i].name, ldns_rr_list_rr_count(ldns_pkt_answer(pkt)), 1);
        free(w1);
        free(w2);
        ldns_pkt_free(copy);
        ldns_pkt_free(ref);
        ldns_pkt_free(pkt);
    }
}

/* An answer whose owner name is a chain of `n` compression pointers
 * (stored in its own opaque RDATA) ending at the question name: n + 1
 * pointers to follow in all. */
static size_t message_pointer_chain(uint8_t *w, unsigned n)
{
    static const uint8_t head[] = {0x12, 0x34, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0,
                                   1, 'a', 0, 0, 1, 0, 1};
    size_t p = sizeof(head), chain = p + 12;

    memcpy(w, head, sizeof(head));
    w[p++] = (uint8_t)(0xc0 | (chain + 2 * (n - 1)) >> 8);
    w[p++] = (uint8_t)(chain + 2 * (n - 1));
    w[p++] = 0xff, w[p++] = 0x00;                       /* type 65280 */
    w[p++] = 0, w[p++] = 1;                             /* IN */
    w[p++] = 0, w[p++] = 0, w[p++] = 0, w[p++] = 60;    /* TTL */
    w[p++] = (uint8_t)((2 * n) >> 8), w[p++] = (uint8_t)(2 * n);
    for (unsigned k = 0; k < n; k++) {
        size_t to = k == 0 ? 12 : chain + 2 * (k - 1);
        w[p++] = (uint8_t)(0xc0 | to >> 8);
        w[p++] = (uint8_t)to;
    }
    return p;
}

static void test_pointer_limit(void)
{
    uint8_t wire[512];
    char why[256];
    ldns_pkt *pkt = NULL;
    size_t len = message_pointer_chain(wire, 127);

    /* DESIGN.md limits: 128 compression pointers in a name */
    CHECK(dns_message_parse(wire, len, &pkt, why, sizeof(why)) == DNS_OK,
          "128 pointers refused: %s", why);
    if (pkt != NULL) {
        char *owner = ldns_rdf2str(ldns_rr_owner(ldns_rr_list_rr(ldns_pkt_answer(pkt), 0)));
        CHECK_STR("owner", owner, "a.");
        free(owner);
    }
    ldns_pkt_free(pkt);
    pkt = NULL;
    len = message_pointer_chain(wire, 128);
    CHECK(dns_message_parse(wire, len, &pkt, why, sizeof(why)) == DNS_ERR_MALFORMED,
          "129 pointers accepted");
    CHECK(pkt == NULL, "no packet");
    /* ldns alone follows them */
    CHECK(ldns_wire2pkt(&pkt, wire, len) == LDNS_STATUS_OK, "ldns refuses 129 pointers");
    ldns_pkt_free(pkt);
}

/* ---- client ---------------------------------------------------------- */

static void watch_nothing(void *arg, int fd, bool readable, bool writable)
{
    (void)arg;
    (void)fd;
    (void)readable;
    (void)writable;
}

static int callbacks;

static void count_callback(void *arg, dns_status_t status, ldns_pkt *answer)
{
    (void)arg;
    (void)status;
    ldns_pkt_free(answer);
    callbacks++;
}

static void test_client_config(void)
{
    const dns_io_t io = {watch_nothing, NULL};
    const struct {
        const char *name;
        dns_config_t config;
        const char *err;        /* NULL: the client is made */
    } rows[] = {
        {"good", {"127.53.1.1", 500, 2, true, 16}, NULL},
        {"defaults", {"[::1]:53", 0, 0, true, 0}, NULL},
        {"bad server", {"127.0.0.1:99999", 0, 0, true, 0}, "bad port \"99999\""},
        {"negative timeout", {"127.0.0.1", -1, 0, true, 0}, "negative timeout"},
        {"negative tries", {"127.0.0.1", 0, -3, true, 0}, "tries (-3)"},
        {"negative window", {"127.0.0.1", 0, 0, true, -1}, "max_in_flight (-1)"},
    };

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        char err[256] = "";
        dns_client_t *c = dns_client_new(&rows[i].config, &io, err, sizeof(err));

        if (rows[i].err == NULL) {
            CHECK(c != NULL, "%s: no client: %s", rows[i].name, err);
        } else {
            CHECK(c == NULL, "%s: made a client", rows[i].name);
            CHECK(strstr(err, rows[i].err) != NULL, "%s: got \"%s\", want \"%s\" in it",
                  rows[i].name, err, rows[i].err);
        }
        if (c == NULL)
            continue;
        CHECK_INT("idle timeout", dns_client_timeout_ms(c), -1);
        /* A query that cannot be built is refused without a callback. */
        ldns_rdf *relative = relative_name();
        CHECK_INT("relative query", dns_query(c, relative, LDNS_RR_TYPE_MX, count_callback, NULL), -1);
        CHECK_INT("queries", dns_client_queries(c), 0);
        ldns_rdf_deep_free(relative);
        dns_client_free(c);
    }
    CHECK_INT("callbacks", callbacks, 0);
}

static void test_status_names(void)
{
    CHECK_STR("ok", dns_status_name(DNS_OK), "ok");
    CHECK_STR("timeout", dns_status_name(DNS_ERR_TIMEOUT), "timeout");
    CHECK_STR("refused", dns_status_name(DNS_ERR_REFUSED), "refused");
    CHECK_STR("malformed", dns_status_name(DNS_ERR_MALFORMED), "malformed");
    CHECK_STR("cancelled", dns_status_name(DNS_ERR_CANCELLED), "cancelled");
    CHECK_STR("nomem", dns_status_name(DNS_ERR_NOMEM), "nomem");
    CHECK_STR("other", dns_status_name(DNS_ERR_OTHER), "other");
    CHECK_STR("out of range", dns_status_name((dns_status_t)99), "unknown");
}

int main(void)
{
    test_pointer_limit();
    ares_library_init(ARES_LIB_INIT_ALL);
    test_servers_parse();
    test_query_build();
    test_query_build_refuses();
    test_answer_parse();
    test_message_parse();
    test_client_config();
    test_status_names();
    ares_library_cleanup();
    return check_summary();
}
