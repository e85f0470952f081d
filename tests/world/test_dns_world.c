/* test_dns_world.c - probes/dns against the fixture world's resolver
 * ($DANESCAN_RESOLVER), driven by the scanner's event loop.
 *
 * Real answers (DO=1, CD=1 and CD=0), failures (a dead address, a
 * socket that swallows queries, an address no socket can reach), a
 * burst of 2000 queries in flight, cancellation by dns_client_free (also
 * from inside a callback), and the transport's edge cases through a
 * small proxy in this process that forwards to the world's resolver:
 * truncated UDP answers, UDP answers over our EDNS size (both must come
 * again over TCP), and a query echoed back unanswered (QR=0).
 *
 *   DANESCAN_RESOLVER=127.53.1.1 test_dns_world
 */
#include "check.h"
#include "dns.h"
#include "dns_int.h"
#include "loop.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <ares.h>

#define DEAD_SERVER "127.53.0.98:53"    /* nothing listens there */
#define BURST 2000
#define SAFETY_MS 30000

static char resolver[64];

/* User + system CPU of this process. */
static double cpu_ms(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000.0 +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000.0;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* ---- the client on the loop ------------------------------------------ */

typedef struct {
    loop_t *loop;
    dns_client_t *dns;          /* NULL once freed */
    loop_timer_t *timer;        /* c-ares' next deadline */
    loop_timer_t *safety;       /* stops a scenario that hangs */
    size_t pending;             /* callbacks still expected */
    bool hung;
} driver_t;

static void driver_arm(driver_t *d);

static void driver_on_io(loop_t *loop, int fd, unsigned events, void *arg)
{
    driver_t *d = arg;

    (void)loop;
    if (d->dns != NULL)
        dns_client_process_fd(d->dns, fd, (events & (LOOP_READ | LOOP_ERROR)) != 0,
                              (events & LOOP_WRITE) != 0);
    driver_arm(d);
}

static void driver_on_timer(loop_t *loop, void *arg)
{
    driver_t *d = arg;

    (void)loop;
    d->timer = NULL;
    if (d->dns != NULL)
        dns_client_process_timeouts(d->dns);
    driver_arm(d);
}

static void driver_arm(driver_t *d)
{
    long ms;

    if (d->timer != NULL)
        loop_timer_cancel(d->loop, d->timer);
    d->timer = NULL;
    ms = d->dns != NULL ? dns_client_timeout_ms(d->dns) : -1;
    if (ms >= 0)
        d->timer = loop_timer_add(d->loop, (uint64_t)ms, driver_on_timer, d);
}

static void driver_watch(void *arg, int fd, bool readable, bool writable)
{
    driver_t *d = arg;
    unsigned events = (readable ? LOOP_READ : 0) | (writable ? LOOP_WRITE : 0);

    if (events == 0)
        loop_unwatch(d->loop, fd);
    else if (loop_watch(d->loop, fd, events, driver_on_io, d) != 0)
        CHECK(false, "loop_watch(%d): %s", fd, strerror(errno));
}

static void driver_on_safety(loop_t *loop, void *arg)
{
    driver_t *d = arg;

    d->safety = NULL;
    d->hung = true;
    loop_stop(loop);
}

static bool driver_start(driver_t *d, loop_t *loop, const char *servers, int timeout_ms,
                         int tries, bool cd)
{
    const dns_config_t config = {.servers = servers, .timeout_ms = timeout_ms, .tries = tries,
                                 .cd = cd};
    const dns_io_t io = {driver_watch, d};
    char err[256];

    memset(d, 0, sizeof(*d));
    d->loop = loop;
    d->dns = dns_client_new(&config, &io, err, sizeof(err));
    CHECK(d->dns != NULL, "dns_client_new(%s): %s", servers, err);
    return d->dns != NULL;
}

/* Run the loop until every expected callback ran (and c-ares let go of
 * its sockets), or until the safety timer gives up. */
static void driver_run(driver_t *d, const char *scenario)
{
    driver_arm(d);
    d->safety = loop_timer_add(d->loop, SAFETY_MS, driver_on_safety, d);
    loop_run(d->loop);
    CHECK(!d->hung, "%s: still %zu callbacks due after %d ms", scenario, d->pending, SAFETY_MS);
    if (d->safety != NULL)
        loop_timer_cancel(d->loop, d->safety);
    d->safety = NULL;
}

static void driver_done(driver_t *d)
{
    if (d->pending > 0)
        d->pending--;
    if (d->pending == 0 && d->safety != NULL) {
        loop_timer_cancel(d->loop, d->safety);
        d->safety = NULL;
    }
}

static void driver_stop(driver_t *d)
{
    if (d->timer != NULL)
        loop_timer_cancel(d->loop, d->timer);
    d->timer = NULL;
    dns_client_free(d->dns);
    d->dns = NULL;
}

/* ---- queries ---------------------------------------------------------- */

typedef struct {
    driver_t *driver;
    const char *name;
    ldns_rr_type type;
    int calls;
    dns_status_t status;
    ldns_pkt *answer;
    double sent_ms, done_ms;
} query_t;

static void query_on_answer(void *arg, dns_status_t status, ldns_pkt *answer)
{
    query_t *q = arg;

    q->calls++;
    q->status = status;
    q->done_ms = now_ms();
    ldns_pkt_free(q->answer);
    q->answer = answer;
    driver_done(q->driver);
}

static int query_send(driver_t *d, query_t *q, const char *name, ldns_rr_type type)
{
    ldns_rdf *qname = ldns_dname_new_frm_str(name);
    int rc = -1;

    memset(q, 0, sizeof(*q));
    q->driver = d;
    q->name = name;
    q->type = type;
    q->status = DNS_ERR_OTHER;
    q->sent_ms = now_ms();
    if (qname != NULL && d->dns != NULL)
        rc = dns_query(d->dns, qname, type, query_on_answer, q);
    if (rc == 0)
        d->pending++;
    ldns_rdf_deep_free(qname);
    if (rc != 0)
        CHECK(false, "dns_query(%s): refused", name);
    return rc;
}

static void query_clear(query_t *q)
{
    ldns_pkt_free(q->answer);
    q->answer = NULL;
}

static bool section_has(const ldns_pkt *pkt, ldns_pkt_section section, ldns_rr_type type,
                        ldns_rr_type covered)
{
    ldns_rr_list *rrs = ldns_pkt_get_section_clone(pkt, section);
    bool found = false;

    for (size_t i = 0; rrs != NULL && i < ldns_rr_list_rr_count(rrs) && !found; i++) {
        const ldns_rr *rr = ldns_rr_list_rr(rrs, i);
        if (ldns_rr_get_type(rr) != type)
            continue;
        found = type != LDNS_RR_TYPE_RRSIG ||
                ldns_rdf2rr_type(ldns_rr_rrsig_typecovered(rr)) == covered;
    }
    ldns_rr_list_deep_free(rrs);
    return found;
}

/* ---- answers from the world ------------------------------------------- */

typedef struct {
    const char *name;
    ldns_rr_type type;
    bool cd;
    ldns_pkt_rcode rcode;
    ldns_pkt_section section;   /* where `has` must be (with its RRSIG if signed) */
    ldns_rr_type has;           /* 0: nothing required */
    bool signed_;
} answer_row_t;

static const answer_row_t answer_rows[] = {
    {"dane-ee.test.", LDNS_RR_TYPE_MX, true, LDNS_RCODE_NOERROR, LDNS_SECTION_ANSWER,
     LDNS_RR_TYPE_MX, true},
    {"_25._tcp.mx.dane-ee.test.", LDNS_RR_TYPE_TLSA, true, LDNS_RCODE_NOERROR,
     LDNS_SECTION_ANSWER, LDNS_RR_TYPE_TLSA, true},
    {"does-not-exist.test.", LDNS_RR_TYPE_MX, true, LDNS_RCODE_NXDOMAIN,
     LDNS_SECTION_AUTHORITY, LDNS_RR_TYPE_NSEC, true},
    /* CD=1: the resolver hands over data that does not validate */
    {"bogus-mx.test.", LDNS_RR_TYPE_MX, true, LDNS_RCODE_NOERROR, LDNS_SECTION_ANSWER,
     LDNS_RR_TYPE_MX, true},
    /* CD=0: it validates, fails, and says SERVFAIL, which is an answer */
    {"bogus-mx.test.", LDNS_RR_TYPE_MX, false, LDNS_RCODE_SERVFAIL, LDNS_SECTION_ANSWER, 0,
     false},
    {"dane-ee.test.", LDNS_RR_TYPE_MX, false, LDNS_RCODE_NOERROR, LDNS_SECTION_ANSWER,
     LDNS_RR_TYPE_MX, true},
    {"lame.test.", LDNS_RR_TYPE_MX, true, LDNS_RCODE_SERVFAIL, LDNS_SECTION_ANSWER, 0, false},
};

#define ANSWER_ROWS (sizeof(answer_rows) / sizeof(answer_rows[0]))

static void test_answers(loop_t *loop)
{
    driver_t cd1, cd0;
    query_t q[ANSWER_ROWS];

    if (!driver_start(&cd1, loop, resolver, 2000, 3, true))
        return;
    if (!driver_start(&cd0, loop, resolver, 2000, 3, false)) {
        driver_stop(&cd1);
        return;
    }
    /* one loop, two clients, everything in flight at once */
    for (size_t i = 0; i < ANSWER_ROWS; i++)
        query_send(answer_rows[i].cd ? &cd1 : &cd0, &q[i], answer_rows[i].name,
                   answer_rows[i].type);
    driver_arm(&cd0);
    driver_run(&cd1, "answers");
    for (size_t i = 0; i < ANSWER_ROWS; i++) {
        const answer_row_t *row = &answer_rows[i];
        char label[128];
        snprintf(label, sizeof(label), "%s %s CD=%d", row->name,
                 row->type == LDNS_RR_TYPE_MX ? "MX" : "TLSA", row->cd);
        CHECK(q[i].calls == 1, "%s: %d callbacks, want 1", label, q[i].calls);
        CHECK(q[i].status == DNS_OK, "%s: got %s, want ok", label, dns_status_name(q[i].status));
        if (q[i].answer == NULL)
            continue;
        CHECK(ldns_pkt_get_rcode(q[i].answer) == row->rcode, "%s: rcode %d, want %d", label,
              (int)ldns_pkt_get_rcode(q[i].answer), (int)row->rcode);
        CHECK(ldns_pkt_cd(q[i].answer) == row->cd, "%s: CD not echoed", label);
        CHECK(ldns_pkt_edns(q[i].answer) && ldns_pkt_edns_do(q[i].answer),
              "%s: the answer has no OPT with DO", label);
        if (row->has != 0) {
            CHECK(section_has(q[i].answer, row->section, row->has, 0),
                  "%s: no %s in the section", label, ldns_rr_descript(row->has)->_name);
            CHECK(!row->signed_ ||
                  section_has(q[i].answer, row->section, LDNS_RR_TYPE_RRSIG, row->has),
                  "%s: no RRSIG over %s", label, ldns_rr_descript(row->has)->_name);
        }
        query_clear(&q[i]);
    }
    CHECK_INT("cd1 queries", dns_client_queries(cd1.dns), 5);
    CHECK_INT("cd1 answers", dns_client_answers(cd1.dns), 5);
    CHECK_INT("cd0 answers", dns_client_answers(cd0.dns), 2);
    driver_stop(&cd1);
    driver_stop(&cd0);
}

/* ---- failures ---------------------------------------------------------- */

/* A UDP socket that is never read: queries to it go unanswered. */
static int blackhole_open(char *spec, size_t len)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t salen = sizeof(sa);
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &salen) != 0) {
        CHECK(false, "blackhole socket: %s", strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    snprintf(spec, len, "127.0.0.1:%u", (unsigned)ntohs(sa.sin_port));
    return fd;
}

static void test_failures(loop_t *loop)
{
    driver_t dead, hole, failover, unreachable;
    query_t qd, qh, qf, qu;
    char hole_spec[32], failover_spec[96];
    int hole_fd = blackhole_open(hole_spec, sizeof(hole_spec));
    double start = now_ms();

    snprintf(failover_spec, sizeof(failover_spec), "%s,%s", DEAD_SERVER, resolver);
    if (hole_fd < 0 || !driver_start(&dead, loop, DEAD_SERVER, 500, 2, true))
        return;
    if (!driver_start(&hole, loop, hole_spec, 200, 2, true) ||
        !driver_start(&failover, loop, failover_spec, 500, 2, true) ||
        /* connect() to the broadcast address fails at once (EACCES): c-ares
         * ends the query inside ares_send, before any packet leaves */
        !driver_start(&unreachable, loop, "255.255.255.255", 500, 2, true))
        return;
    query_send(&dead, &qd, "dane-ee.test.", LDNS_RR_TYPE_MX);
    query_send(&hole, &qh, "dane-ee.test.", LDNS_RR_TYPE_MX);
    query_send(&failover, &qf, "dane-ee.test.", LDNS_RR_TYPE_MX);
    query_send(&unreachable, &qu, "dane-ee.test.", LDNS_RR_TYPE_MX);
    /* dns_query never calls back itself: the outcome waits for the loop */
    CHECK_INT("immediate failure: callbacks inside dns_query", qu.calls, 0);
    CHECK_INT("immediate failure: timeout", dns_client_timeout_ms(unreachable.dns), 0);
    driver_arm(&hole);
    driver_arm(&failover);
    driver_arm(&unreachable);
    driver_run(&dead, "failures");

    CHECK_INT("dead server: callbacks", qd.calls, 1);
    CHECK(qd.status == DNS_ERR_REFUSED || qd.status == DNS_ERR_TIMEOUT,
          "dead server: got %s, want refused or timeout", dns_status_name(qd.status));
    /* 2 tries with c-ares' doubling: 500 + 1000 ms at most */
    CHECK(qd.done_ms - start < 1500 + 1000, "dead server: %.0f ms, want < 2500",
          qd.done_ms - start);
    CHECK_INT("blackhole: callbacks", qh.calls, 1);
    CHECK(qh.status == DNS_ERR_TIMEOUT, "blackhole: got %s, want timeout",
          dns_status_name(qh.status));
    CHECK(qh.done_ms - start >= 200 + 400 - 20 && qh.done_ms - start < 600 + 1000,
          "blackhole: %.0f ms, want 600 (200 + 400)", qh.done_ms - start);
    CHECK_INT("failover: callbacks", qf.calls, 1);
    CHECK(qf.status == DNS_OK && qf.answer != NULL &&
          ldns_pkt_get_rcode(qf.answer) == LDNS_RCODE_NOERROR,
          "failover: got %s, want an answer from the second server", dns_status_name(qf.status));
    CHECK_INT("immediate failure: callbacks", qu.calls, 1);
    CHECK(qu.status == DNS_ERR_REFUSED, "immediate failure: got %s, want refused",
          dns_status_name(qu.status));
    printf("# dead server: %s after %.0f ms; blackhole: %s after %.0f ms\n",
           dns_status_name(qd.status), qd.done_ms - start, dns_status_name(qh.status),
           qh.done_ms - start);
    query_clear(&qd);
    query_clear(&qh);
    query_clear(&qf);
    query_clear(&qu);
    driver_stop(&dead);
    driver_stop(&hole);
    driver_stop(&failover);
    driver_stop(&unreachable);
    close(hole_fd);
}

/* ---- a burst ------------------------------------------------------------ */

static void test_burst(loop_t *loop)
{
    static const char *const hosts[] = {"mx01", "mx02", "mx03", "mx04", "mx05", "mx06",
                                        "mx07", "mx08", "mx09", "mx10", "mx11", "mx12"};
    enum { NAMES = 2 * 12 };
    static char names[NAMES][64];
    driver_t d;
    query_t *q = calloc(BURST, sizeof(*q));
    size_t ok = 0, noerror = 0, once = 0, retried = 0;
    double start, cpu, worst = 0;

    if (q == NULL || !driver_start(&d, loop, resolver, 2000, 3, true)) {
        free(q);
        return;
    }
    for (size_t i = 0; i < 12; i++) {
        snprintf(names[2 * i], sizeof(names[0]), "%s.mx-limit.test.", hosts[i]);
        snprintf(names[2 * i + 1], sizeof(names[0]), "_25._tcp.%s.mx-limit.test.", hosts[i]);
    }
    start = now_ms();
    cpu = cpu_ms();
    for (size_t i = 0; i < BURST; i++)
        query_send(&d, &q[i], names[i % NAMES], i % 2 ? LDNS_RR_TYPE_TLSA : LDNS_RR_TYPE_A);
    driver_run(&d, "burst");
    double took = now_ms() - start;
    cpu = cpu_ms() - cpu;

    for (size_t i = 0; i < BURST; i++) {
        once += q[i].calls == 1;
        ok += q[i].status == DNS_OK;
        noerror += q[i].answer != NULL && ldns_pkt_get_rcode(q[i].answer) == LDNS_RCODE_NOERROR &&
                   ldns_pkt_ancount(q[i].answer) > 0;
        retried += q[i].done_ms - q[i].sent_ms >= 2000;
        if (q[i].done_ms - q[i].sent_ms > worst)
            worst = q[i].done_ms - q[i].sent_ms;
        query_clear(&q[i]);
    }
    CHECK_INT("burst: exactly one callback", once, BURST);
    CHECK_INT("burst: answered", ok, BURST);
    CHECK_INT("burst: NOERROR with data", noerror, BURST);
    CHECK_INT("burst: queries counted", dns_client_queries(d.dns), BURST);
    CHECK_INT("burst: answers counted", dns_client_answers(d.dns), BURST);
    /* A lost packet costs a 2 s retry.  Not a failure (the world's
     * resolver is shared), but the number says whether the window works. */
    printf("# burst: %d queries at once (default window), all done in %.1f ms "
           "(%.0f queries/s, %.1f us CPU each), slowest %.1f ms, %zu retried\n", BURST, took,
           BURST / (took / 1000.0), cpu * 1000.0 / BURST, worst, retried);
    driver_stop(&d);
    free(q);
}

/* ---- cancellation ------------------------------------------------------ */

typedef struct {
    driver_t *driver;
    int calls;
    dns_status_t status;
    int requery;                /* dns_query from inside the callback */
} cancel_t;

static void cancel_on_answer(void *arg, dns_status_t status, ldns_pkt *answer)
{
    cancel_t *c = arg;

    c->calls++;
    c->status = status;
    ldns_pkt_free(answer);
    if (status == DNS_ERR_CANCELLED && c->driver->dns != NULL) {
        ldns_rdf *name = ldns_dname_new_frm_str("dane-ee.test.");
        c->requery = dns_query(c->driver->dns, name, LDNS_RR_TYPE_MX, cancel_on_answer, c);
        ldns_rdf_deep_free(name);
    }
}

static void on_tick(loop_t *loop, void *arg)
{
    (void)arg;
    loop_stop(loop);
}

/* dns_client_free with queries in flight: every callback runs once, with
 * CANCELLED, and the client takes no new query meanwhile. */
static void test_free_in_flight(loop_t *loop)
{
    enum { N = 300 };
    driver_t d;
    cancel_t c[N];
    char hole_spec[32];
    int hole_fd = blackhole_open(hole_spec, sizeof(hole_spec));
    size_t sent = 0, once = 0, cancelled = 0, refused = 0;

    if (hole_fd < 0 || !driver_start(&d, loop, hole_spec, 2000, 3, true))
        return;
    memset(c, 0, sizeof(c));
    for (size_t i = 0; i < N; i++) {
        ldns_rdf *name = ldns_dname_new_frm_str("dane-ee.test.");
        c[i].driver = &d;
        c[i].requery = 99;
        sent += dns_query(d.dns, name, LDNS_RR_TYPE_MX, cancel_on_answer, &c[i]) == 0;
        ldns_rdf_deep_free(name);
    }
    /* more than the window: some wait in the queue, some are in flight */
    CHECK_INT("free in flight: queries sent", sent, N);
    /* let the queries leave, then free with all of them waiting */
    driver_arm(&d);
    CHECK(loop_timer_add(loop, 50, on_tick, NULL) != NULL, "free in flight: no timer");
    loop_run(loop);
    CHECK_INT("free in flight: callbacks before free", c[0].calls, 0);
    driver_stop(&d);
    for (size_t i = 0; i < N; i++) {
        once += c[i].calls == 1;
        cancelled += c[i].status == DNS_ERR_CANCELLED;
        refused += c[i].requery == -1;
    }
    CHECK_INT("free in flight: exactly one callback", once, N);
    CHECK_INT("free in flight: cancelled", cancelled, N);
    CHECK_INT("free in flight: dns_query refused while freeing", refused, N);
    close(hole_fd);
}

typedef struct {
    driver_t *driver;
    int calls;
    dns_status_t status;
    bool frees;                 /* this callback frees the client */
} freer_t;

static void freer_on_answer(void *arg, dns_status_t status, ldns_pkt *answer)
{
    freer_t *f = arg;

    f->calls++;
    f->status = status;
    ldns_pkt_free(answer);
    driver_done(f->driver);
    if (status == DNS_OK && f->driver->dns != NULL) {
        f->frees = true;
        dns_client_free(f->driver->dns);
        f->driver->dns = NULL;
    }
}

/* A callback frees the client while others wait to be delivered. */
static void test_free_in_callback(loop_t *loop)
{
    enum { N = 50 };
    driver_t d;
    freer_t f[N];
    size_t once = 0, freers = 0, cancelled = 0;

    if (!driver_start(&d, loop, resolver, 2000, 3, true))
        return;
    memset(f, 0, sizeof(f));
    for (size_t i = 0; i < N; i++) {
        ldns_rdf *name = ldns_dname_new_frm_str(i % 2 ? "dane-ee.test." : "lame.test.");
        f[i].driver = &d;
        if (dns_query(d.dns, name, LDNS_RR_TYPE_MX, freer_on_answer, &f[i]) == 0)
            d.pending++;
        ldns_rdf_deep_free(name);
    }
    driver_run(&d, "free in callback");
    for (size_t i = 0; i < N; i++) {
        once += f[i].calls == 1;
        freers += f[i].frees;
        cancelled += f[i].status == DNS_ERR_CANCELLED;
    }
    CHECK_INT("free in callback: exactly one callback", once, N);
    CHECK_INT("free in callback: one freer", freers, 1);
    CHECK_INT("free in callback: the others cancelled", cancelled, N - 1);
    CHECK(d.dns == NULL, "free in callback: client left");
}

/* Follow-up queries from inside callbacks, as the validator makes them. */
typedef struct {
    driver_t *driver;
    int step;
    dns_status_t last;
} chain_t;

static void chain_on_answer(void *arg, dns_status_t status, ldns_pkt *answer)
{
    static const char *const next[] = {"dane-ee.test.", "test.", "."};
    chain_t *ch = arg;

    ldns_pkt_free(answer);
    ch->last = status;
    driver_done(ch->driver);
    if (status != DNS_OK || ++ch->step >= 3)
        return;
    ldns_rdf *name = ldns_dname_new_frm_str(next[ch->step]);
    if (dns_query(ch->driver->dns, name, LDNS_RR_TYPE_DNSKEY, chain_on_answer, ch) == 0)
        ch->driver->pending++;
    ldns_rdf_deep_free(name);
}

static void test_chain(loop_t *loop)
{
    driver_t d;
    chain_t ch = {&d, 0, DNS_ERR_OTHER};
    ldns_rdf *name = ldns_dname_new_frm_str("dane-ee.test.");

    if (!driver_start(&d, loop, resolver, 2000, 3, true)) {
        ldns_rdf_deep_free(name);
        return;
    }
    ch.driver = &d;
    if (dns_query(d.dns, name, LDNS_RR_TYPE_DNSKEY, chain_on_answer, &ch) == 0)
        d.pending++;
    ldns_rdf_deep_free(name);
    driver_run(&d, "chain");
    CHECK_INT("chain: steps", ch.step, 3);
    CHECK(ch.last == DNS_OK, "chain: got %s, want ok", dns_status_name(ch.last));
    CHECK_INT("chain: queries", dns_client_queries(d.dns), 3);
    driver_stop(&d);
}

/* ---- the transport's edge cases, through a proxy ------------------------ */

typedef enum {
    PROXY_TRUNCATE,             /* UDP: the query back with QR and TC set */
    PROXY_OVERSIZE,             /* UDP: the real answer padded past 1232 bytes */
    PROXY_ECHO,                 /* UDP: the query back as it came (QR=0) */
} proxy_mode_t;

typedef struct {
    proxy_mode_t mode;
    int udp, listener, conn;
    int upstream;               /* UDP, connected to the world's resolver */
    uint8_t buf[2 + 65535];
    size_t have;
    int udp_queries, tcp_queries;
    char spec[32];
} proxy_t;

/* Ask the world's resolver, blocking (it is on loopback and quick). */
static ssize_t proxy_forward(proxy_t *p, const uint8_t *query, size_t len, uint8_t *answer,
                             size_t cap)
{
    if (send(p->upstream, query, len, 0) != (ssize_t)len)
        return -1;
    for (;;) {
        ssize_t n = recv(p->upstream, answer, cap, 0);
        if (n < 0)
            return -1;
        if (n >= 2 && answer[0] == query[0] && answer[1] == query[1])
            return n;
    }
}

static void proxy_on_udp(loop_t *loop, int fd, unsigned events, void *arg)
{
    proxy_t *p = arg;
    uint8_t query[4096], answer[4096];
    struct sockaddr_storage from;
    socklen_t fromlen = sizeof(from);
    ssize_t n = recvfrom(fd, query, sizeof(query), 0, (struct sockaddr *)&from, &fromlen);
    ssize_t out = -1;

    (void)loop;
    (void)events;
    if (n < 12)
        return;
    p->udp_queries++;
    switch (p->mode) {
    case PROXY_TRUNCATE:
        memcpy(answer, query, (size_t)n);
        answer[2] |= 0x80 | 0x02;   /* QR, TC */
        out = n;
        break;
    case PROXY_OVERSIZE:
        out = proxy_forward(p, query, (size_t)n, answer, sizeof(answer));
        if (out > 0 && out < 1300) {
            memset(answer + out, 0, (size_t)(1300 - out));
            out = 1300;
        }
        break;
    case PROXY_ECHO:
        memcpy(answer, query, (size_t)n);
        out = n;
        break;
    }
    if (out > 0)
        sendto(fd, answer, (size_t)out, 0, (struct sockaddr *)&from, fromlen);
}

static void proxy_on_conn(loop_t *loop, int fd, unsigned events, void *arg)
{
    proxy_t *p = arg;
    ssize_t n = read(fd, p->buf + p->have, sizeof(p->buf) - p->have);

    (void)events;
    if (n <= 0) {
        loop_unwatch(loop, fd);
        close(fd);
        p->conn = -1;
        p->have = 0;
        return;
    }
    p->have += (size_t)n;
    while (p->have >= 2 && p->have >= 2 + (size_t)(p->buf[0] << 8 | p->buf[1])) {
        size_t len = (size_t)(p->buf[0] << 8 | p->buf[1]);
        uint8_t answer[2 + 65535];
        ssize_t got = proxy_forward(p, p->buf + 2, len, answer + 2, sizeof(answer) - 2);
        p->tcp_queries++;
        if (got > 0) {
            answer[0] = (uint8_t)(got >> 8);
            answer[1] = (uint8_t)got;
            CHECK(write(fd, answer, (size_t)got + 2) == got + 2, "proxy: short TCP write");
        }
        memmove(p->buf, p->buf + 2 + len, p->have - 2 - len);
        p->have -= 2 + len;
    }
}

static void proxy_on_accept(loop_t *loop, int fd, unsigned events, void *arg)
{
    proxy_t *p = arg;
    int conn = accept4(fd, NULL, NULL, SOCK_CLOEXEC);

    (void)events;
    if (conn < 0)
        return;
    if (p->conn >= 0) {
        loop_unwatch(loop, p->conn);
        close(p->conn);
    }
    p->conn = conn;
    p->have = 0;
    loop_watch(loop, conn, LOOP_READ, proxy_on_conn, p);
}

static bool proxy_open(proxy_t *p, loop_t *loop, proxy_mode_t mode)
{
    dns_server_t up;
    struct sockaddr_in sa = {.sin_family = AF_INET};
    struct sockaddr_in6 sa6 = {.sin6_family = AF_INET6};
    socklen_t salen = sizeof(sa);
    struct timeval tv = {2, 0};
    char err[256];
    int one = 1;

    memset(p, 0, sizeof(*p));
    p->mode = mode;
    p->udp = p->listener = p->conn = p->upstream = -1;
    if (dns_servers_parse(resolver, &up, 1, err, sizeof(err)) != 1) {
        CHECK(false, "proxy: resolver %s: %s", resolver, err);
        return false;
    }
    p->upstream = socket(up.family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (up.family == AF_INET) {
        sa.sin_addr = up.addr.v4;
        sa.sin_port = htons(up.port);
        if (p->upstream < 0 || connect(p->upstream, (struct sockaddr *)&sa, sizeof(sa)) != 0)
            goto fail;
    } else {
        sa6.sin6_addr = up.addr.v6;
        sa6.sin6_port = htons(up.port);
        if (p->upstream < 0 || connect(p->upstream, (struct sockaddr *)&sa6, sizeof(sa6)) != 0)
            goto fail;
    }
    setsockopt(p->upstream, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));

    /* UDP and TCP on one port, as a DNS server has them */
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    p->udp = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    p->listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (p->udp < 0 || p->listener < 0 ||
        bind(p->udp, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        getsockname(p->udp, (struct sockaddr *)&sa, &salen) != 0)
        goto fail;
    setsockopt(p->listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(p->listener, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(p->listener, 4) != 0)
        goto fail;
    snprintf(p->spec, sizeof(p->spec), "127.0.0.1:%u", (unsigned)ntohs(sa.sin_port));
    loop_watch(loop, p->udp, LOOP_READ, proxy_on_udp, p);
    loop_watch(loop, p->listener, LOOP_READ, proxy_on_accept, p);
    return true;
fail:
    CHECK(false, "proxy: %s", strerror(errno));
    return false;
}

static void proxy_close(proxy_t *p, loop_t *loop)
{
    const int fds[] = {p->udp, p->listener, p->conn};

    for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
        if (fds[i] >= 0) {
            loop_unwatch(loop, fds[i]);
            close(fds[i]);
        }
    }
    if (p->upstream >= 0)
        close(p->upstream);
}

/* Stops the loop once the query is done (the proxy's sockets stay watched). */
static void proxy_on_answer(void *arg, dns_status_t status, ldns_pkt *answer)
{
    query_t *q = arg;

    query_on_answer(q, status, answer);
    loop_stop(q->driver->loop);
}

static void test_proxy(loop_t *loop)
{
    static const struct {
        const char *name;
        proxy_mode_t mode;
        dns_status_t want;
        int udp, tcp;           /* queries the proxy saw */
    } rows[] = {
        {"truncated over UDP", PROXY_TRUNCATE, DNS_OK, 1, 1},
        {"over 1232 bytes over UDP", PROXY_OVERSIZE, DNS_OK, 1, 1},
        {"query echoed (QR=0)", PROXY_ECHO, DNS_ERR_MALFORMED, 1, 0},
    };

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        proxy_t *p = malloc(sizeof(*p));
        driver_t d;
        query_t q;
        ldns_rdf *name = ldns_dname_new_frm_str("dane-ee.test.");

        if (p == NULL || !proxy_open(p, loop, rows[i].mode) ||
            !driver_start(&d, loop, p->spec, 1000, 1, true)) {
            if (p != NULL)
                proxy_close(p, loop);
            ldns_rdf_deep_free(name);
            free(p);
            return;
        }
        memset(&q, 0, sizeof(q));
        q.driver = &d;
        q.status = DNS_ERR_OTHER;
        CHECK(dns_query(d.dns, name, LDNS_RR_TYPE_MX, proxy_on_answer, &q) == 0,
              "%s: query refused", rows[i].name);
        d.pending = 1;
        driver_run(&d, rows[i].name);
        CHECK_INT(rows[i].name, q.calls, 1);
        CHECK(q.status == rows[i].want, "%s: got %s, want %s", rows[i].name,
              dns_status_name(q.status), dns_status_name(rows[i].want));
        CHECK(p->udp_queries == rows[i].udp && p->tcp_queries == rows[i].tcp,
              "%s: proxy saw %d UDP and %d TCP queries, want %d and %d", rows[i].name,
              p->udp_queries, p->tcp_queries, rows[i].udp, rows[i].tcp);
        if (rows[i].want == DNS_OK)
            CHECK(q.answer != NULL && section_has(q.answer, LDNS_SECTION_ANSWER, LDNS_RR_TYPE_MX, 0) &&
                  section_has(q.answer, LDNS_SECTION_ANSWER, LDNS_RR_TYPE_RRSIG, LDNS_RR_TYPE_MX),
                  "%s: the TCP answer lacks the signed MX", rows[i].name);
        query_clear(&q);
        driver_stop(&d);
        proxy_close(p, loop);
        free(p);
        ldns_rdf_deep_free(name);
    }
}

int main(void)
{
    const char *env = getenv("DANESCAN_RESOLVER");
    loop_t *loop;

    if (env == NULL || *env == '\0' || strlen(env) >= sizeof(resolver)) {
        fprintf(stderr, "test_dns_world: set DANESCAN_RESOLVER (run under `world run`)\n");
        return 2;
    }
    snprintf(resolver, sizeof(resolver), "%s", env);
    ares_library_init(ARES_LIB_INIT_ALL);
    loop = loop_new();
    if (loop == NULL) {
        fprintf(stderr, "test_dns_world: loop_new failed\n");
        return 2;
    }
    test_answers(loop);
    test_failures(loop);
    test_burst(loop);
    test_free_in_flight(loop);
    test_free_in_callback(loop);
    test_chain(loop);
    test_proxy(loop);
    loop_free(loop);
    ares_library_cleanup();
    return check_summary();
}
