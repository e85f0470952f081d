/* dns.c - DNS transport: ldns builds and checks the packets, c-ares
 * carries them (retries, server failover, TCP on truncation).
 *
 * c-ares callbacks never reach the caller directly.  A finished query
 * (answered, failed, or cancelled by ares_destroy) moves to the client's
 * done queue; the callbacks run from dns_client_process_fd and
 * dns_client_process_timeouts once c-ares is off the stack.  So a
 * callback never runs inside dns_query (c-ares fails some sends
 * synchronously), and a callback may call dns_query or dns_client_free.
 *
 * At most max_in_flight queries are on the wire; the rest wait in order.
 * c-ares 1.18 sends every query to a server through one UDP socket and
 * reads it only when the loop comes round: a burst of thousands
 * overflows that socket's receive buffer (and the resolver's), and every
 * lost answer costs a retry timeout.
 */
#include "dns.h"
#include "dns_int.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <ares.h>

#define DNS_DEFAULT_TIMEOUT_MS 2000
#define DNS_DEFAULT_TRIES 3
#define DNS_DEFAULT_MAX_IN_FLIGHT 128
/* Room for a full window of 1232-byte answers (the kernel counts about
 * 2 KiB each); it clamps this to net.core.rmem_max. */
#define DNS_SOCKET_RCVBUF (1024 * 1024)
#define DNS_IDS 65536
#define DNS_RANDOM_POOL 256

typedef struct dns_req dns_req_t;

/* One query, from dns_query to its callback: on the waiting queue, then
 * held by c-ares, then on the done queue. */
struct dns_req {
    dns_req_t *next;            /* on the waiting or the done queue */
    dns_client_t *client;
    dns_callback_t cb;
    void *arg;
    ldns_rdf *qname;            /* owned copy */
    ldns_rr_type qtype;
    uint16_t id;
    uint8_t *wire;              /* the query, until it is sent */
    size_t wire_len;
    dns_status_t status;
    ldns_pkt *answer;           /* owned until handed to cb */
    char why[DNS_WHY_MAX];      /* DNS_ERR_MALFORMED: what was wrong with the answer */
};

typedef struct {
    dns_req_t *head, *tail;
    size_t count;
} dns_fifo_t;

struct dns_client {
    ares_channel channel;       /* NULL once dns_client_free has begun */
    dns_io_t io;
    bool cd;
    dns_fifo_t waiting;         /* built, not yet sent */
    dns_fifo_t done;            /* finished, callback not yet run */
    size_t in_flight;           /* held by c-ares */
    size_t max_in_flight;
    unsigned depth;             /* dispatches on the stack */
    const char *why;            /* the delivered query's why, during its callback */
    bool closing;               /* dns_client_free has begun */
    size_t queries, answers;
    uint8_t random_pool[DNS_RANDOM_POOL];
    size_t random_left;
    size_t ids_used;
    uint8_t ids[DNS_IDS / 8];   /* query IDs c-ares holds */
};

static const char *const dns_status_names[] = {
    [DNS_OK] = "ok",
    [DNS_ERR_TIMEOUT] = "timeout",
    [DNS_ERR_REFUSED] = "refused",
    [DNS_ERR_MALFORMED] = "malformed",
    [DNS_ERR_CANCELLED] = "cancelled",
    [DNS_ERR_NOMEM] = "nomem",
    [DNS_ERR_OTHER] = "other",
};

const char *dns_status_name(dns_status_t status)
{
    if ((unsigned)status >= sizeof(dns_status_names) / sizeof(dns_status_names[0]))
        return "unknown";
    return dns_status_names[status];
}

/* ---- server list ---------------------------------------------------- */

/* Longest entry: "[" IPv6 "]:" port, with room to spare. */
#define DNS_SERVER_TEXT_MAX (INET6_ADDRSTRLEN + 16)

static bool dns_port_parse(const char *text, uint16_t *port)
{
    unsigned long value = 0;

    if (*text == '\0' || strlen(text) > 5)
        return false;
    for (const char *p = text; *p != '\0'; p++) {
        if (*p < '0' || *p > '9')
            return false;
        value = value * 10 + (unsigned long)(*p - '0');
    }
    if (value == 0 || value > 65535)
        return false;
    *port = (uint16_t)value;
    return true;
}

static bool dns_server_parse_one(const char *entry, size_t len, dns_server_t *out,
                                 char *err, size_t errlen)
{
    char buf[DNS_SERVER_TEXT_MAX];
    const char *host = buf;
    const char *port = NULL;

    if (len >= sizeof(buf)) {
        snprintf(err, errlen, "server \"%.*s...\" is too long", 40, entry);
        return false;
    }
    memcpy(buf, entry, len);
    buf[len] = '\0';

    if (buf[0] == '[') {
        char *close = strchr(buf, ']');
        if (close == NULL) {
            snprintf(err, errlen, "server \"%s\": '[' without ']'", buf);
            return false;
        }
        *close = '\0';
        host = buf + 1;
        if (close[1] == ':') {
            port = close + 2;
        } else if (close[1] != '\0') {
            snprintf(err, errlen, "server \"%.*s\": expected \":PORT\" after ']'", (int)len, entry);
            return false;
        }
        if (inet_pton(AF_INET6, host, &out->addr.v6) != 1) {
            snprintf(err, errlen, "server \"%.*s\": \"%s\" is not an IPv6 address",
                     (int)len, entry, host);
            return false;
        }
        out->family = AF_INET6;
    } else {
        char *colon = strchr(buf, ':');
        /* One colon: IPv4:PORT.  More: a bare IPv6 address, which cannot
         * carry a port without brackets. */
        if (colon != NULL && strchr(colon + 1, ':') == NULL) {
            *colon = '\0';
            port = colon + 1;
        }
        if (inet_pton(AF_INET, host, &out->addr.v4) == 1) {
            out->family = AF_INET;
        } else if (inet_pton(AF_INET6, host, &out->addr.v6) == 1) {
            out->family = AF_INET6;
        } else {
            snprintf(err, errlen, "server \"%.*s\": \"%s\" is not an IP address "
                     "(names are not resolved; IPv6 with a port is [ADDR]:PORT)",
                     (int)len, entry, host);
            return false;
        }
    }
    out->port = DNS_DEFAULT_PORT;
    if (port != NULL && !dns_port_parse(port, &out->port)) {
        snprintf(err, errlen, "server \"%.*s\": bad port \"%s\" (1-65535)", (int)len, entry, port);
        return false;
    }
    return true;
}

int dns_servers_parse(const char *spec, dns_server_t *out, size_t max,
                      char *err, size_t errlen)
{
    size_t n = 0;
    const char *p = spec;

    if (spec == NULL || spec[strspn(spec, " \t")] == '\0') {
        snprintf(err, errlen, "empty server list");
        return -1;
    }
    for (;;) {
        const char *end = strchr(p, ',');
        size_t len = end != NULL ? (size_t)(end - p) : strlen(p);

        while (len > 0 && (*p == ' ' || *p == '\t')) {
            p++;
            len--;
        }
        while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
            len--;
        if (len == 0) {
            snprintf(err, errlen, "server list \"%s\": empty entry", spec);
            return -1;
        }
        if (n == max) {
            snprintf(err, errlen, "server list \"%s\": more than %zu servers", spec, max);
            return -1;
        }
        if (!dns_server_parse_one(p, len, &out[n], err, errlen))
            return -1;
        n++;
        if (end == NULL)
            break;
        p = end + 1;
    }
    return (int)n;
}

/* ---- packets -------------------------------------------------------- */

bool dns_query_build(const ldns_rdf *name, ldns_rr_type type, uint16_t id, bool cd,
                     uint8_t **wire, size_t *len)
{
    ldns_rdf *qname;
    ldns_pkt *pkt;
    bool ok;

    *wire = NULL;
    *len = 0;
    if (name == NULL || ldns_rdf_get_type(name) != LDNS_RDF_TYPE_DNAME ||
        ldns_rdf_size(name) > LDNS_MAX_DOMAINLEN || !ldns_dname_absolute(name))
        return false;
    qname = ldns_rdf_clone(name);
    if (qname == NULL)
        return false;
    /* takes qname */
    pkt = ldns_pkt_query_new(qname, type, LDNS_RR_CLASS_IN,
                             (uint16_t)(LDNS_RD | (cd ? LDNS_CD : 0)));
    if (pkt == NULL) {
        ldns_rdf_deep_free(qname);
        return false;
    }
    ldns_pkt_set_id(pkt, id);
    /* RFC 3225: DO=1 asks for RRSIGs and NSEC(3), which we validate. */
    ldns_pkt_set_edns_udp_size(pkt, DNS_EDNS_UDP_SIZE);
    ldns_pkt_set_edns_do(pkt, true);
    ok = ldns_pkt2wire(wire, pkt, len) == LDNS_STATUS_OK;
    ldns_pkt_free(pkt);
    if (!ok) {
        free(*wire);
        *wire = NULL;
        *len = 0;
    }
    return ok;
}

__attribute__((format(printf, 3, 4)))
static void dns_why(char *why, size_t whylen, const char *fmt, ...)
{
    va_list ap;

    if (why == NULL || whylen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
}

static void dns_name_text(const ldns_rdf *name, char *buf, size_t len)
{
    char *text = name != NULL ? ldns_rdf2str(name) : NULL;

    snprintf(buf, len, "%s", text != NULL ? text : "?");
    free(text);
}

/* ---- answers: wire format to ldns_pkt ------------------------------- *
 *
 * ldns_wire2pkt is not used: under memory pressure it crashes (it never
 * checks the section lists of ldns_pkt_new, nor ldns_rr_new), leaks, or
 * worse, returns records with RDATA fields silently left out; it keeps
 * one OPT of several (and leaks the other's data); and RDATA longer than
 * its fields makes it read the next record from inside this one.  This
 * parser makes the same ldns_pkt from a well-formed message (the same
 * RDATA fields, by ldns's own descriptors, so the rest of ldns and the
 * validator read it as before), refuses what ldns refuses and more, and
 * says NOMEM when memory runs out, having freed what it made. */

/* A bounded reader over one message: every fetch checks the length. */
typedef struct {
    const uint8_t *data;
    size_t len, pos;
} dns_wire_t;

static bool dns_wire_u16(dns_wire_t *w, uint16_t *out)
{
    if (w->len - w->pos < 2)
        return false;
    *out = (uint16_t)(w->data[w->pos] << 8 | w->data[w->pos + 1]);
    w->pos += 2;
    return true;
}

static bool dns_wire_u32(dns_wire_t *w, uint32_t *out)
{
    uint16_t hi, lo;

    if (w->len - w->pos < 4 || !dns_wire_u16(w, &hi) || !dns_wire_u16(w, &lo))
        return false;
    *out = (uint32_t)hi << 16 | lo;
    return true;
}

/* The width ldns gives an RDATA field of type t at data[pos] (RDATA ends
 * at end); 0 when it does not fit. */
static size_t dns_wire_field_len(const uint8_t *data, size_t pos, size_t end, ldns_rdf_type t)
{
    size_t left = end - pos, n;

    switch (t) {
    case LDNS_RDF_TYPE_CLASS: /* one octet in ldns's wire reader */
    case LDNS_RDF_TYPE_ALG:
    case LDNS_RDF_TYPE_CERTIFICATE_USAGE:
    case LDNS_RDF_TYPE_SELECTOR:
    case LDNS_RDF_TYPE_MATCHING_TYPE:
    case LDNS_RDF_TYPE_INT8:
        n = 1;
        break;
    case LDNS_RDF_TYPE_TYPE:
    case LDNS_RDF_TYPE_INT16:
    case LDNS_RDF_TYPE_CERT_ALG:
        n = 2;
        break;
    case LDNS_RDF_TYPE_TIME:
    case LDNS_RDF_TYPE_INT32:
    case LDNS_RDF_TYPE_A:
    case LDNS_RDF_TYPE_PERIOD:
        n = 4;
        break;
    case LDNS_RDF_TYPE_TSIGTIME:
    case LDNS_RDF_TYPE_EUI48:
        n = 6;
        break;
    case LDNS_RDF_TYPE_ILNP64:
    case LDNS_RDF_TYPE_EUI64:
        n = 8;
        break;
    case LDNS_RDF_TYPE_AAAA:
        n = 16;
        break;
    case LDNS_RDF_TYPE_STR: /* a length octet, then that many */
    case LDNS_RDF_TYPE_NSEC3_SALT:
    case LDNS_RDF_TYPE_TAG:
    case LDNS_RDF_TYPE_B32_EXT:
    case LDNS_RDF_TYPE_NSEC3_NEXT_OWNER:
        n = 1u + data[pos];
        break;
    case LDNS_RDF_TYPE_INT16_DATA:
        n = left < 2 ? 0 : 2u + (size_t)(data[pos] << 8 | data[pos + 1]);
        break;
    case LDNS_RDF_TYPE_HIP: /* HIT length, algorithm, key length, HIT, key */
        n = left < 4 ? 0 : 4u + data[pos] + (size_t)(data[pos + 2] << 8 | data[pos + 3]);
        break;
    default: /* the rest of the RDATA */
        n = left;
        break;
    }
    return n <= left ? n : 0;
}

/* DESIGN.md limits: a name may follow at most DNS_MAX_POINTERS compression
 * pointers.  ldns only stops a loop after 65535 of them. */
#define DNS_MAX_POINTERS 128

/* Only the pointers are counted here: whatever else is wrong with the
 * name (lengths, label types, the end of the message) ldns reports. */
static bool dns_wire_name_ok(const uint8_t *data, size_t len, size_t pos)
{
    unsigned hops = 0;

    while (pos < len && data[pos] != 0) {
        uint8_t c = data[pos];
        if ((c & 0xc0) == 0xc0) {
            if (pos + 1 >= len)
                return true;
            if (++hops > DNS_MAX_POINTERS)
                return false;
            pos = ((size_t)(c & 0x3f) << 8) | data[pos + 1];
        } else if (c & 0xc0) {
            return true;
        } else {
            pos += 1 + (size_t)c;
        }
    }
    return true;
}

/* ldns_wire2dname, after our own pointer limit. */
static ldns_status dns_wire_name(ldns_rdf **rdf, const dns_wire_t *cw, size_t *pos)
{
    if (!dns_wire_name_ok(cw->data, cw->len, *pos))
        return LDNS_STATUS_INVALID_POINTER;
    return ldns_wire2dname(rdf, cw->data, cw->len, pos);
}

/* One record (question: owner, type, class only).  LDNS_STATUS_OK with
 * *out, or why not (LDNS_STATUS_MEM_ERR when memory ran out). */
static ldns_status dns_wire_rr(dns_wire_t *w, bool question, ldns_rr **out)
{
    ldns_rr *rr = ldns_rr_new();
    ldns_rdf *rdf = NULL;
    const ldns_rr_descriptor *desc;
    uint16_t type, klass, rdlen;
    uint32_t ttl;
    size_t end;
    ldns_status s;

    *out = NULL;
    if (!rr)
        return LDNS_STATUS_MEM_ERR;
    /* ldns_wire2dname checks loops, label and name lengths */
    s = dns_wire_name(&rdf, w, &w->pos);
    if (s != LDNS_STATUS_OK)
        goto fail;
    ldns_rr_set_owner(rr, rdf);
    rdf = NULL;
    if (!dns_wire_u16(w, &type) || !dns_wire_u16(w, &klass)) {
        s = LDNS_STATUS_PACKET_OVERFLOW;
        goto fail;
    }
    ldns_rr_set_type(rr, type);
    ldns_rr_set_class(rr, klass);
    ldns_rr_set_question(rr, question);
    if (question)
        goto done;
    if (!dns_wire_u32(w, &ttl) || !dns_wire_u16(w, &rdlen) || rdlen > w->len - w->pos) {
        s = LDNS_STATUS_PACKET_OVERFLOW;
        goto fail;
    }
    ldns_rr_set_ttl(rr, ttl);
    end = w->pos + rdlen;
    desc = ldns_rr_descript(type);
    for (size_t i = 0; w->pos < end && i < ldns_rr_descriptor_maximum(desc); i++) {
        ldns_rdf_type t = ldns_rr_descriptor_field_type(desc, i);

        if (t == LDNS_RDF_TYPE_DNAME) {
            s = dns_wire_name(&rdf, w, &w->pos);
            if (s == LDNS_STATUS_OK && w->pos > end)
                s = LDNS_STATUS_WIRE_RDATA_ERR; /* a name running out of its RDATA */
        } else {
            size_t n = dns_wire_field_len(w->data, w->pos, end, t);
            s = n == 0 ? LDNS_STATUS_WIRE_RDATA_ERR : LDNS_STATUS_OK;
            if (n > 0 && !(rdf = ldns_rdf_new_frm_data(t, n, w->data + w->pos)))
                s = LDNS_STATUS_MEM_ERR;
            w->pos += n;
        }
        if (s != LDNS_STATUS_OK)
            goto fail;
        if (!ldns_rr_push_rdf(rr, rdf)) {
            s = LDNS_STATUS_MEM_ERR;
            goto fail;
        }
        rdf = NULL;
    }
    if (w->pos != end) { /* octets no field of the type takes */
        s = LDNS_STATUS_WIRE_RDATA_ERR;
        goto fail;
    }
done:
    *out = rr;
    return LDNS_STATUS_OK;
fail:
    ldns_rdf_deep_free(rdf);
    ldns_rr_free(rr);
    return s;
}

/* RFC 6891 §6.1.3: the OPT record's fields into the packet's EDNS state;
 * its RDATA (the options) is moved, not copied. */
static void dns_wire_opt(ldns_pkt *pkt, ldns_rr *opt)
{
    uint32_t ttl = ldns_rr_ttl(opt);

    ldns_pkt_set_edns_udp_size(pkt, ldns_rr_get_class(opt));
    ldns_pkt_set_edns_extended_rcode(pkt, (uint8_t)(ttl >> 24));
    ldns_pkt_set_edns_version(pkt, (uint8_t)(ttl >> 16));
    ldns_pkt_set_edns_z(pkt, (uint16_t)ttl);
    if (ldns_rr_rd_count(opt) > 0)
        ldns_pkt_set_edns_data(pkt, ldns_rr_pop_rdf(opt));
    /* no setter: ldns_pkt_edns() must say yes even for a bare OPT */
    pkt->_edns_present = 1;
}

static const char *const dns_section_names[] = {"question", "answer", "authority", "additional"};

dns_status_t dns_message_parse(const uint8_t *wire, size_t len, ldns_pkt **out,
                                   char *why, size_t whylen)
{
    dns_wire_t w = {wire, len, 0};
    uint16_t id, flags, count[4];
    ldns_rr_list *lists[4];
    ldns_pkt *pkt = NULL;
    int opts = 0;
    dns_status_t status = DNS_ERR_MALFORMED;

    *out = NULL;
    if (!dns_wire_u16(&w, &id) || !dns_wire_u16(&w, &flags) || !dns_wire_u16(&w, &count[0]) ||
        !dns_wire_u16(&w, &count[1]) || !dns_wire_u16(&w, &count[2]) ||
        !dns_wire_u16(&w, &count[3])) {
        dns_why(why, whylen, "unparsable answer: %zu octets, shorter than a header", len);
        return DNS_ERR_MALFORMED;
    }
    pkt = ldns_pkt_new();
    lists[0] = pkt ? ldns_pkt_question(pkt) : NULL;
    lists[1] = pkt ? ldns_pkt_answer(pkt) : NULL;
    lists[2] = pkt ? ldns_pkt_authority(pkt) : NULL;
    lists[3] = pkt ? ldns_pkt_additional(pkt) : NULL;
    /* ldns_pkt_new does not check that its lists were allocated */
    if (!lists[0] || !lists[1] || !lists[2] || !lists[3]) {
        status = DNS_ERR_NOMEM;
        goto fail;
    }
    ldns_pkt_set_id(pkt, id);
    ldns_pkt_set_qr(pkt, flags & 0x8000);
    ldns_pkt_set_opcode(pkt, (ldns_pkt_opcode)(flags >> 11 & 0xf));
    ldns_pkt_set_aa(pkt, flags & 0x0400);
    ldns_pkt_set_tc(pkt, flags & 0x0200);
    ldns_pkt_set_rd(pkt, flags & 0x0100);
    ldns_pkt_set_ra(pkt, flags & 0x0080);
    ldns_pkt_set_ad(pkt, flags & 0x0020);
    ldns_pkt_set_cd(pkt, flags & 0x0010);
    ldns_pkt_set_rcode(pkt, (uint8_t)(flags & 0xf));
    for (size_t sec = 0; sec < 4; sec++) {
        for (uint16_t i = 0; i < count[sec]; i++) {
            ldns_rr *rr;
            ldns_status s = dns_wire_rr(&w, sec == 0, &rr);

            if (s == LDNS_STATUS_MEM_ERR) {
                status = DNS_ERR_NOMEM;
                goto fail;
            }
            if (s != LDNS_STATUS_OK) {
                dns_why(why, whylen, "unparsable answer: %s record %u of %u: %s",
                        dns_section_names[sec], (unsigned)i + 1, (unsigned)count[sec],
                        s == LDNS_STATUS_PACKET_OVERFLOW ? "runs past the end of the message"
                        : s == LDNS_STATUS_WIRE_RDATA_ERR ? "its RDATA does not fit its type"
                                                          : ldns_get_errorstr_by_id(s));
                goto fail;
            }
            if (sec == 3 && ldns_rr_get_type(rr) == LDNS_RR_TYPE_OPT) {
                if (++opts == 1)
                    dns_wire_opt(pkt, rr);
                ldns_rr_free(rr);
            } else if (!ldns_rr_list_push_rr(lists[sec], rr)) {
                ldns_rr_free(rr);
                status = DNS_ERR_NOMEM;
                goto fail;
            }
        }
    }
    /* RFC 6891 §6.1.1: more than one OPT makes the message a FORMERR */
    if (opts > 1) {
        dns_why(why, whylen, "%d OPT records, at most 1 (RFC 6891 section 6.1.1)", opts);
        goto fail;
    }
    ldns_pkt_set_qdcount(pkt, count[0]);
    ldns_pkt_set_ancount(pkt, count[1]);
    ldns_pkt_set_nscount(pkt, count[2]);
    ldns_pkt_set_arcount(pkt, (uint16_t)(count[3] - opts));
    ldns_pkt_set_size(pkt, len);
    *out = pkt;
    return DNS_OK;
fail:
    ldns_pkt_free(pkt);
    return status;
}

ldns_pkt *dns_answer_copy(const ldns_pkt *answer)
{
    uint8_t *wire = NULL;
    size_t len = 0;
    ldns_pkt *copy = NULL;

    if (answer && ldns_pkt2wire(&wire, answer, &len) == LDNS_STATUS_OK)
        dns_message_parse(wire, len, &copy, NULL, 0);
    free(wire);
    return copy;
}

dns_status_t dns_answer_parse(const uint8_t *wire, size_t len, uint16_t id,
                              const ldns_rdf *qname, ldns_rr_type qtype,
                              ldns_pkt **answer, char *why, size_t whylen)
{
    ldns_pkt *pkt = NULL;
    const ldns_rr_list *question;
    const ldns_rr *q;
    dns_status_t status;

    *answer = NULL;
    dns_why(why, whylen, "%s", "");
    status = dns_message_parse(wire, len, &pkt, why, whylen);
    if (status != DNS_OK)
        return status;
    status = DNS_ERR_MALFORMED;
    if (!ldns_pkt_qr(pkt)) {
        dns_why(why, whylen, "not a response (QR=0)");
        goto done;
    }
    if (ldns_pkt_get_opcode(pkt) != LDNS_PACKET_QUERY) {
        dns_why(why, whylen, "opcode %d, not QUERY", (int)ldns_pkt_get_opcode(pkt));
        goto done;
    }
    if (ldns_pkt_id(pkt) != id) {
        dns_why(why, whylen, "ID %u, not %u", (unsigned)ldns_pkt_id(pkt), (unsigned)id);
        goto done;
    }
    question = ldns_pkt_question(pkt);
    if (ldns_pkt_qdcount(pkt) != 1 || question == NULL || ldns_rr_list_rr_count(question) != 1) {
        dns_why(why, whylen, "%u questions, not 1", (unsigned)ldns_pkt_qdcount(pkt));
        goto done;
    }
    q = ldns_rr_list_rr(question, 0);
    /* RFC 4343: names compare case-insensitively. */
    if (ldns_dname_compare(ldns_rr_owner(q), qname) != 0) {
        char got[LDNS_MAX_DOMAINLEN * 4 + 2], want[LDNS_MAX_DOMAINLEN * 4 + 2];
        dns_name_text(ldns_rr_owner(q), got, sizeof(got));
        dns_name_text(qname, want, sizeof(want));
        dns_why(why, whylen, "answers %s, not %s", got, want);
        goto done;
    }
    if (ldns_rr_get_type(q) != qtype) {
        dns_why(why, whylen, "answers type %u, not %u", (unsigned)ldns_rr_get_type(q),
                (unsigned)qtype);
        goto done;
    }
    if (ldns_rr_get_class(q) != LDNS_RR_CLASS_IN) {
        dns_why(why, whylen, "answers class %u, not IN", (unsigned)ldns_rr_get_class(q));
        goto done;
    }
    *answer = pkt;
    pkt = NULL;
    status = DNS_OK;
done:
    ldns_pkt_free(pkt);
    return status;
}

/* ---- query IDs ------------------------------------------------------ */

static bool dns_random16(dns_client_t *c, uint16_t *out)
{
    if (c->random_left < 2) {
        if (getrandom(c->random_pool, sizeof(c->random_pool), 0) != (ssize_t)sizeof(c->random_pool))
            return false;
        c->random_left = sizeof(c->random_pool);
    }
    c->random_left -= 2;
    *out = (uint16_t)(c->random_pool[c->random_left] << 8 | c->random_pool[c->random_left + 1]);
    return true;
}

/* A random ID no query in flight has: c-ares matches answers by ID (and
 * question), and RFC 5452 §9.2 wants IDs unpredictable. */
static bool dns_id_take(dns_client_t *c, uint16_t *id)
{
    uint16_t start;

    if (c->ids_used == DNS_IDS || !dns_random16(c, &start))
        return false;
    for (uint32_t i = 0; i < DNS_IDS; i++) {
        uint16_t cand = (uint16_t)(start + i);
        if (!(c->ids[cand >> 3] & (1u << (cand & 7)))) {
            c->ids[cand >> 3] |= (uint8_t)(1u << (cand & 7));
            c->ids_used++;
            *id = cand;
            return true;
        }
    }
    return false;
}

static void dns_id_release(dns_client_t *c, uint16_t id)
{
    c->ids[id >> 3] &= (uint8_t)~(1u << (id & 7));
    c->ids_used--;
}

/* ---- requests ------------------------------------------------------- */

static void dns_req_free(dns_req_t *req)
{
    ldns_rdf_deep_free(req->qname);
    ldns_pkt_free(req->answer);
    free(req->wire);
    free(req);
}

static void dns_fifo_push(dns_fifo_t *q, dns_req_t *req)
{
    req->next = NULL;
    if (q->tail != NULL)
        q->tail->next = req;
    else
        q->head = req;
    q->tail = req;
    q->count++;
}

static dns_req_t *dns_fifo_pop(dns_fifo_t *q)
{
    dns_req_t *req = q->head;

    if (req == NULL)
        return NULL;
    q->head = req->next;
    if (q->head == NULL)
        q->tail = NULL;
    q->count--;
    req->next = NULL;
    return req;
}

static dns_status_t dns_status_from_ares(int status)
{
    switch (status) {
    case ARES_ETIMEOUT:
        return DNS_ERR_TIMEOUT;
    /* c-ares' verdict after every try got ECONNREFUSED, or could not
     * open or write a socket to any server. */
    case ARES_ECONNREFUSED:
        return DNS_ERR_REFUSED;
    case ARES_EDESTRUCTION:
    case ARES_ECANCELLED:
        return DNS_ERR_CANCELLED;
    case ARES_ENOMEM:
        return DNS_ERR_NOMEM;
    case ARES_EBADRESP:
        return DNS_ERR_MALFORMED;
    default:
        return DNS_ERR_OTHER;
    }
}

/* c-ares is done with the query: park the outcome for dns_client_deliver. */
static void dns_on_ares(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
    dns_req_t *req = arg;
    dns_client_t *c = req->client;

    (void)timeouts;
    dns_id_release(c, req->id);
    c->in_flight--;
    if (status == ARES_SUCCESS && abuf != NULL && alen > 0)
        req->status = dns_answer_parse(abuf, (size_t)alen, req->id, req->qname, req->qtype,
                                       &req->answer, req->why, sizeof(req->why));
    else
        req->status = status == ARES_SUCCESS ? DNS_ERR_MALFORMED : dns_status_from_ares(status);
    dns_fifo_push(&c->done, req);
}

static void dns_on_sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
    dns_client_t *c = data;

    c->io.watch(c->io.arg, fd, readable != 0, writable != 0);
}

/* Run the callbacks of the queries that were done when it started (later
 * ones wait for the next call, so a callback that re-queries and fails at
 * once cannot spin here).  Stops when a callback frees the client. */
static void dns_client_deliver(dns_client_t *c)
{
    size_t n = c->done.count;

    while (n-- > 0 && !c->closing) {
        dns_req_t *req = dns_fifo_pop(&c->done);
        ldns_pkt *answer = req->answer;

        req->answer = NULL;
        if (req->status == DNS_OK)
            c->answers++;
        c->why = req->why;
        req->cb(req->arg, req->status, answer);
        c->why = NULL;
        dns_req_free(req);
    }
}

/* Hand waiting queries to c-ares while the window has room.  Not from
 * inside a c-ares callback: ares_send may end a query at once. */
static void dns_client_pump(dns_client_t *c)
{
    while (!c->closing && c->in_flight < c->max_in_flight && c->waiting.count > 0) {
        dns_req_t *req = dns_fifo_pop(&c->waiting);
        uint8_t *wire = req->wire;

        req->wire = NULL;
        c->in_flight++;
        /* c-ares copies the buffer; its callback may already have run on
         * return (e.g. no socket could be opened), parking the outcome. */
        ares_send(c->channel, wire, (int)req->wire_len, dns_on_ares, req);
        free(wire);
    }
}

/* ---- client --------------------------------------------------------- */

static bool dns_client_set_servers(dns_client_t *c, const char *spec, char *err, size_t errlen)
{
    dns_server_t servers[DNS_SERVERS_MAX];
    struct ares_addr_port_node nodes[DNS_SERVERS_MAX];
    int n = dns_servers_parse(spec, servers, DNS_SERVERS_MAX, err, errlen);
    int rc;

    if (n < 0)
        return false;
    memset(nodes, 0, sizeof(nodes));
    for (int i = 0; i < n; i++) {
        nodes[i].next = i + 1 < n ? &nodes[i + 1] : NULL;
        nodes[i].family = servers[i].family;
        if (servers[i].family == AF_INET)
            memcpy(&nodes[i].addr.addr4, &servers[i].addr.v4, sizeof(nodes[i].addr.addr4));
        else
            memcpy(&nodes[i].addr.addr6, &servers[i].addr.v6, sizeof(nodes[i].addr.addr6));
        nodes[i].udp_port = servers[i].port;
        nodes[i].tcp_port = servers[i].port;
    }
    rc = ares_set_servers_ports(c->channel, nodes);
    if (rc != ARES_SUCCESS) {
        snprintf(err, errlen, "servers \"%s\": %s", spec, ares_strerror(rc));
        return false;
    }
    return true;
}

dns_client_t *dns_client_new(const dns_config_t *config, const dns_io_t *io,
                             char *err, size_t errlen)
{
    dns_client_t *c = NULL;
    struct ares_options opts;
    int rc;

    if (config == NULL || io == NULL || io->watch == NULL) {
        snprintf(err, errlen, "no configuration or no I/O callback");
        return NULL;
    }
    if (config->timeout_ms < 0 || config->tries < 0 || config->max_in_flight < 0) {
        snprintf(err, errlen, "negative timeout (%d ms), tries (%d) or max_in_flight (%d)",
                 config->timeout_ms, config->tries, config->max_in_flight);
        return NULL;
    }
    c = calloc(1, sizeof(*c));
    if (c == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    c->io = *io;
    c->cd = config->cd;
    c->max_in_flight = config->max_in_flight > 0 ? (size_t)config->max_in_flight
                                                  : DNS_DEFAULT_MAX_IN_FLIGHT;

    memset(&opts, 0, sizeof(opts));
    /* NOCHECKRESP: SERVFAIL, REFUSED and NOTIMP answers reach us instead
     * of making c-ares try the next server; the validator and the report
     * want the rcode and any RFC 8914 EDE option.
     * EDNS + EDNSPSZ: c-ares takes a UDP answer up to our advertised size
     * as complete (without it, anything over 512 bytes goes to TCP).  It
     * only sizes answers here: ares_send sends our buffer untouched.  One
     * side effect: a FORMERR without OPT makes c-ares cut the last 11
     * bytes off the query and resend it; ours end in an 11-byte OPT, so
     * the retry is a well-formed query without EDNS (and without DO,
     * which the validator then sees as missing signatures).
     * Truncated answers are retried over TCP (ARES_FLAG_IGNTC is off). */
    opts.flags = ARES_FLAG_NOCHECKRESP | ARES_FLAG_EDNS;
    opts.ednspsz = DNS_EDNS_UDP_SIZE;
    opts.timeout = config->timeout_ms > 0 ? config->timeout_ms : DNS_DEFAULT_TIMEOUT_MS;
    opts.tries = config->tries > 0 ? config->tries : DNS_DEFAULT_TRIES;
    opts.sock_state_cb = dns_on_sock_state;
    opts.sock_state_cb_data = c;
    opts.socket_receive_buffer_size = DNS_SOCKET_RCVBUF;
    rc = ares_init_options(&c->channel, &opts,
                           ARES_OPT_FLAGS | ARES_OPT_EDNSPSZ | ARES_OPT_TIMEOUTMS |
                           ARES_OPT_TRIES | ARES_OPT_SOCK_STATE_CB | ARES_OPT_SOCK_RCVBUF);
    if (rc != ARES_SUCCESS) {
        snprintf(err, errlen, "c-ares: %s", ares_strerror(rc));
        c->channel = NULL;
        goto fail;
    }
    if (config->servers != NULL && !dns_client_set_servers(c, config->servers, err, errlen))
        goto fail;
    return c;
fail:
    if (c->channel != NULL)
        ares_destroy(c->channel);
    free(c);
    return NULL;
}

void dns_client_free(dns_client_t *client)
{
    dns_req_t *req;

    if (client == NULL || client->closing)
        return;
    client->closing = true;
    /* Every query c-ares holds comes back through dns_on_ares with
     * ARES_EDESTRUCTION; its sockets are unwatched and closed. */
    ares_destroy(client->channel);
    client->channel = NULL;
    /* Everything not yet delivered, answered or not, is cancelled now;
     * then what never left the queue. */
    while ((req = dns_fifo_pop(&client->done)) != NULL ||
           (req = dns_fifo_pop(&client->waiting)) != NULL) {
        req->cb(req->arg, DNS_ERR_CANCELLED, NULL);
        dns_req_free(req);
    }
    /* A callback freed us from inside a dispatch: it frees the memory. */
    if (client->depth > 0)
        return;
    free(client);
}

int dns_query(dns_client_t *client, const ldns_rdf *name, ldns_rr_type type,
              dns_callback_t cb, void *arg)
{
    dns_req_t *req;
    uint8_t *wire = NULL;
    size_t len = 0;

    if (client == NULL || client->closing || cb == NULL)
        return -1;
    req = calloc(1, sizeof(*req));
    if (req == NULL)
        return -1;
    req->client = client;
    req->cb = cb;
    req->arg = arg;
    req->qtype = type;
    req->qname = name != NULL ? ldns_rdf_clone(name) : NULL;
    if (req->qname == NULL || !dns_id_take(client, &req->id)) {
        dns_req_free(req);
        return -1;
    }
    if (!dns_query_build(name, type, req->id, client->cd, &wire, &len) || len > UINT16_MAX) {
        dns_id_release(client, req->id);
        dns_req_free(req);
        free(wire);
        return -1;
    }
    req->wire = wire;
    req->wire_len = len;
    client->queries++;
    dns_fifo_push(&client->waiting, req);
    dns_client_pump(client);
    return 0;
}

/* End of a dispatch: free the client if a callback asked for it. */
static void dns_client_leave(dns_client_t *c)
{
    c->depth--;
    if (c->closing && c->depth == 0)
        free(c);
}

void dns_client_process_fd(dns_client_t *client, int fd, bool readable, bool writable)
{
    if (client->closing)
        return;
    client->depth++;
    ares_process_fd(client->channel, readable ? fd : ARES_SOCKET_BAD,
                    writable ? fd : ARES_SOCKET_BAD);
    dns_client_pump(client);
    dns_client_deliver(client);
    dns_client_leave(client);
}

void dns_client_process_timeouts(dns_client_t *client)
{
    if (client->closing)
        return;
    client->depth++;
    ares_process_fd(client->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
    dns_client_pump(client);
    dns_client_deliver(client);
    dns_client_leave(client);
}

long dns_client_timeout_ms(dns_client_t *client)
{
    struct timeval tv, *next;

    if (client->closing)
        return -1;
    if (client->done.count > 0)
        return 0;
    next = ares_timeout(client->channel, NULL, &tv);
    if (next == NULL)
        return -1;
    /* Round up: waking before c-ares' deadline would only spin. */
    return (long)next->tv_sec * 1000 + ((long)next->tv_usec + 999) / 1000;
}

const char *dns_client_why(const dns_client_t *client)
{
    return client->why != NULL ? client->why : "";
}

size_t dns_client_queries(const dns_client_t *client)
{
    return client->queries;
}

size_t dns_client_answers(const dns_client_t *client)
{
    return client->answers;
}
