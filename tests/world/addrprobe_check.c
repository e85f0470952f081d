/* addrprobe_check.c - scanner/addrprobe against the fixture world's real
 * servers: every case below runs at once on one event loop, and each
 * must end in the address result the catalogue (fixtures/scenarios.json)
 * expects, within the time its deadline allows.
 *
 * TLSA data is computed from the world's certificates with OpenSSL, as a
 * DANE publisher would.  Beyond the catalogue: the private-address guard
 * sends no packet (faultd's log shows no accept on its listener, while a
 * control probe's accept is there), done never runs inside
 * addrprobe_start, a cancelled probe stays silent, unusable parameters
 * are refused, and the details a report shows (banner, EHLO keywords,
 * timings, the chain) are filled in.
 *
 *   addrprobe_check [-v]        (world directory: $DANESCAN_WORLD_DIR,
 *                                default /tmp/danescan-world)
 *
 * Prints "N passed, N failed"; exit status 1 when anything failed.
 */
#include "addrprobe.h"
#include "check.h"
#include "loop.h"
#include "model.h"
#include "tls.h"
#include "tlsa.h"

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#define CASE_TLSA_MAX 2
#define CASE_RDATA_MAX (3 + 4096)
#define DEFAULT_TIMEOUT_MS 5000
/* Everything at once: the slowest case is a 3 s deadline. */
#define WALL_MAX_MS 6000
/* A 100 MiB reply stream must not be buffered (sanitizer builds are
 * bigger, hence the margin). */
#define RSS_MAX_KB (512 * 1024)

typedef struct {
    uint8_t usage, selector, mtype;
    const char *cert;           /* certs/<cert>.crt */
} tlsa_spec_t;

typedef struct {
    const char *label;
    const char *address;
    const char *base;           /* TLSA base domain: SNI, reference id */
    const char *name;           /* the recipient domain, a reference id (A4) */
    tlsa_spec_t tlsa[CASE_TLSA_MAX];
    bool tls_required;
    bool guarded;               /* allow_private off */
    int timeout_ms;             /* 0: DEFAULT_TIMEOUT_MS */
    /* what must come out */
    model_addr_result_t want;
    const char *reason;         /* exact, NULL: not checked */
    const char *reason_has;     /* a substring, NULL: not checked */
    const char *matched;        /* "U S M" of the (first) handshake */
    int depth;
    const char *handshakes;     /* "type:result" sorted, comma-joined; NULL: not checked */
    int min_ms, max_ms;         /* elapsed bounds; max 0: not checked */
} case_t;

#define TLSA(u, s, m, c) {(u), (s), (m), (c)}
#define REQ .tls_required = true

static const case_t cases[] = {
    /* DANE-EE and DANE-TA (RULES A1, A2, A4) */
    {"dane-ee", "127.25.0.1", "mx.dane-ee.test", "dane-ee.test", {TLSA(3, 1, 1, "ee1")}, REQ,
     .want = MODEL_ADDR_DANE_PASS, .matched = "3 1 1", .depth = 0, .handshakes = "any:dane-pass",
     .max_ms = 2000},
    {"tlsa-mismatch", "127.25.0.1", "mx.tlsa-mismatch.test", "tlsa-mismatch.test",
     {TLSA(3, 1, 1, "unused")}, REQ, .want = MODEL_ADDR_DANE_FAIL, .reason = "tlsa-mismatch",
     .handshakes = "any:dane-fail", .max_ms = 2000},
    {"digest-agility", "127.25.0.1", "mx.digest-agility.test", "digest-agility.test",
     {TLSA(3, 1, 1, "ee1"), TLSA(3, 1, 2, "unused")}, REQ, .want = MODEL_ADDR_DANE_FAIL,
     .reason = "tlsa-mismatch", .max_ms = 2000},
    {"dane-ee-expired", "127.25.0.2", "mx.dane-ee-expired.test", "dane-ee-expired.test",
     {TLSA(3, 1, 1, "ee-expired")}, REQ, .want = MODEL_ADDR_DANE_PASS, .matched = "3 1 1",
     .max_ms = 2000},
    {"ta-root", "127.25.0.4", "mx.ta-root.test", "ta-root.test", {TLSA(2, 1, 1, "ca-root")}, REQ,
     .want = MODEL_ADDR_DANE_PASS, .matched = "2 1 1", .depth = 2, .handshakes = "any:dane-pass",
     .max_ms = 2000},
    {"ta-int", "127.25.0.5", "mx.ta-int.test", "ta-int.test", {TLSA(2, 1, 1, "ca-int")}, REQ,
     .want = MODEL_ADDR_DANE_PASS, .matched = "2 1 1", .depth = 1, .max_ms = 2000},
    {"ta-wrongname", "127.25.0.6", "mx.ta-wrongname.test", "ta-wrongname.test",
     {TLSA(2, 1, 1, "ca-root")}, REQ, .want = MODEL_ADDR_DANE_FAIL, .reason = "name-mismatch",
     .max_ms = 2000},
    {"ta-expired", "127.25.0.7", "mx.ta-expired.test", "ta-expired.test", {TLSA(2, 1, 1, "ca-root")},
     REQ, .want = MODEL_ADDR_DANE_FAIL, .reason = "cert-expired", .max_ms = 2000},
    {"ta-nexthop", "127.25.0.8", "mx.ta-nexthop.test", "ta-nexthop.test", {TLSA(2, 1, 1, "ca-root")},
     REQ, .want = MODEL_ADDR_DANE_PASS, .matched = "2 1 1", .depth = 2, .max_ms = 2000},
    /* RULES T2-T5 */
    {"no-starttls", "127.25.0.10", "mx.no-starttls.test", "no-starttls.test", {TLSA(3, 1, 1, "ee1")},
     REQ, .want = MODEL_ADDR_NO_STARTTLS, .reason_has = "no-starttls", .handshakes = "",
     .max_ms = 2000},
    {"pkix-only", "127.25.0.1", "mx.pkix-only.test", "pkix-only.test", {TLSA(1, 1, 1, "ee1")}, REQ,
     .want = MODEL_ADDR_TLS_UNAUTHENTICATED, .handshakes = "any:tls-unauthenticated", .max_ms = 2000},
    {"no-tlsa", "127.25.0.1", "mx.no-tlsa.test", "no-tlsa.test", {{0}}, .want = MODEL_ADDR_TLS_ONLY,
     .handshakes = "any:tls-only", .max_ms = 2000},
    /* RULES A7 */
    {"dual-cert", "127.25.0.11", "mx.dual-cert.test", "dual-cert.test",
     {TLSA(3, 1, 1, "dual-rsa"), TLSA(3, 1, 1, "dual-ec")}, REQ, .want = MODEL_ADDR_DANE_PASS,
     .matched = "3 1 1", .depth = 0, .handshakes = "ecdsa:dane-pass,rsa:dane-pass", .max_ms = 2000},
    {"dual-cert-half", "127.25.0.11", "mx.dual-cert-half.test", "dual-cert-half.test",
     {TLSA(3, 1, 1, "dual-ec")}, REQ, .want = MODEL_ADDR_DANE_FAIL, .reason = "tlsa-mismatch",
     .handshakes = "ecdsa:dane-pass,rsa:dane-fail", .max_ms = 2000},
    {"ipv6", "::1", "mx.ipv6.test", "ipv6.test", {TLSA(3, 1, 1, "ee-v6")}, REQ,
     .want = MODEL_ADDR_DANE_PASS, .matched = "3 1 1", .depth = 0, .handshakes = "any:dane-pass",
     .max_ms = 2000},
    {"connect-refused", "127.25.2.1", "mx.connect-refused.test", "connect-refused.test",
     {TLSA(3, 1, 1, "ee1")}, REQ, .want = MODEL_ADDR_CONNECT_FAILED, .reason = "Connection refused",
     .max_ms = 1000},
    /* the fault server */
    {"fault-silent", "127.25.1.1", "mx.fault-silent.test", "fault-silent.test",
     {TLSA(3, 1, 1, "fault-ee")}, REQ, .timeout_ms = 2000, .want = MODEL_ADDR_TIMEOUT,
     .reason = "banner", .min_ms = 1950, .max_ms = 2600},
    {"fault-drip", "127.25.1.16", "mx.fault-drip.test", "fault-drip.test",
     {TLSA(3, 1, 1, "fault-ee")}, REQ, .timeout_ms = 3000, .want = MODEL_ADDR_TIMEOUT,
     .reason = "banner", .min_ms = 2950, .max_ms = 3600},
    {"fault-554", "127.25.1.2", "mx.fault-554.test", "fault-554.test", {TLSA(3, 1, 1, "fault-ee")},
     REQ, .want = MODEL_ADDR_SMTP_ERROR, .reason_has = "banner-rejected: ", .max_ms = 1000},
    {"fault-ehlo", "127.25.1.17", "mx.fault-ehlo.test", "fault-ehlo.test",
     {TLSA(3, 1, 1, "fault-ee")}, REQ, .want = MODEL_ADDR_SMTP_ERROR, .reason_has = "ehlo-rejected: ",
     .max_ms = 1000},
    {"fault-badcode", "127.25.1.7", "mx.fault-badcode.test", "fault-badcode.test",
     {TLSA(3, 1, 1, "fault-ee")}, REQ, .want = MODEL_ADDR_SMTP_ERROR, .reason_has = "bad-reply: ",
     .max_ms = 1000},
    {"fault-longline", "127.25.1.8", "mx.fault-longline.test", "fault-longline.test",
     {TLSA(3, 1, 1, "fault-ee")}, REQ, .want = MODEL_ADDR_SMTP_ERROR,
     .reason_has = "line-too-long: ", .max_ms = 1000},
    {"fault-endless", "127.25.1.9", "mx.fault-endless.test", "fault-endless.test",
     {TLSA(3, 1, 1, "fault-ee")}, REQ, .want = MODEL_ADDR_SMTP_ERROR,
     .reason_has = "reply-too-long: ", .max_ms = 1000},
    {"fault-reset", "127.25.1.12", "mx.fault-reset.test", "fault-reset.test",
     {TLSA(3, 1, 1, "fault-ee")}, REQ, .want = MODEL_ADDR_SMTP_ERROR, .reason_has = "state banner",
     .max_ms = 1000},
    {"fault-reset-ehlo", "127.25.1.19", "mx.fault-reset-ehlo.test", "fault-reset-ehlo.test",
     {TLSA(3, 1, 1, "fault-ee")}, REQ, .want = MODEL_ADDR_SMTP_ERROR, .reason_has = "state ehlo",
     .max_ms = 1000},
    {"fault-reset-starttls", "127.25.1.20", "mx.fault-reset-starttls.test",
     "fault-reset-starttls.test", {TLSA(3, 1, 1, "fault-ee")}, REQ, .want = MODEL_ADDR_SMTP_ERROR,
     .reason_has = "state starttls", .max_ms = 1000},
    {"fault-inject", "127.25.1.3", "mx.fault-inject.test", "fault-inject.test",
     {TLSA(3, 1, 1, "fault-ee")}, REQ, .want = MODEL_ADDR_TLS_FAILED, .reason = "starttls-injection",
     .handshakes = "", .max_ms = 1000},
    {"fault-454", "127.25.1.5", "mx.fault-454.test", "fault-454.test", {TLSA(3, 1, 1, "fault-ee")},
     REQ, .want = MODEL_ADDR_NO_STARTTLS, .reason_has = "starttls-rejected: ", .max_ms = 1000},
    {"fault-nostarttls", "127.25.1.18", "mx.fault-nostarttls.test", "fault-nostarttls.test",
     {TLSA(1, 1, 1, "fault-ee")}, REQ, .want = MODEL_ADDR_NO_STARTTLS, .reason_has = "no-starttls: ",
     .max_ms = 1000},
    {"fault-alert", "127.25.1.4", "mx.fault-alert.test", "fault-alert.test",
     {TLSA(3, 1, 1, "fault-ee")}, REQ, .want = MODEL_ADDR_TLS_FAILED, .reason_has = "alert",
     .max_ms = 1000},
    {"fault-garbage", "127.25.1.15", "mx.fault-garbage.test", "fault-garbage.test",
     {TLSA(3, 1, 1, "fault-ee")}, REQ, .want = MODEL_ADDR_TLS_FAILED, .max_ms = 1000},
    {"fault-reset-handshake", "127.25.1.13", "mx.fault-reset-handshake.test",
     "fault-reset-handshake.test", {TLSA(3, 1, 1, "fault-ee")}, REQ, .want = MODEL_ADDR_TLS_FAILED,
     .max_ms = 1000},
    {"fault-slowtls", "127.25.1.14", "mx.fault-slowtls.test", "fault-slowtls.test",
     {TLSA(3, 1, 1, "fault-ee")}, REQ, .timeout_ms = 3000, .want = MODEL_ADDR_TIMEOUT,
     .reason = "handshake", .min_ms = 2950, .max_ms = 3600},
    {"fault-bigchain", "127.25.1.11", "mx.fault-bigchain.test", "fault-bigchain.test",
     {TLSA(3, 1, 1, "fault-ee")}, REQ, .want = MODEL_ADDR_TLS_FAILED, .reason_has = "excessive",
     .max_ms = 1000},
    {"fault-nul", "127.25.1.10", "mx.fault-nul.test", "fault-nul.test", {TLSA(3, 1, 1, "fault-ee")},
     REQ, .want = MODEL_ADDR_DANE_PASS, .matched = "3 1 1", .depth = 0, .handshakes = "any:dane-pass",
     .max_ms = 2000},
    {"fault-renegotiate", "127.25.1.21", "mx.faultd.test", "faultd.test", {TLSA(3, 1, 1, "fault-ee")},
     REQ, .want = MODEL_ADDR_DANE_PASS, .matched = "3 1 1", .depth = 0, .max_ms = 2000},
    /* the private-address guard (DESIGN.md): no packet leaves */
    {"guard", "127.25.1.6", "mx.guard.test", "guard.test", {TLSA(3, 1, 1, "fault-ee")}, REQ,
     .guarded = true, .want = MODEL_ADDR_BLOCKED, .reason = "loopback", .handshakes = "",
     .max_ms = 1000},
    {"guard-v6", "::1", "mx.ipv6.test", "ipv6.test", {TLSA(3, 1, 1, "ee-v6")}, REQ, .guarded = true,
     .want = MODEL_ADDR_BLOCKED, .reason = "loopback", .max_ms = 1000},
    {"guard-mapped", "::ffff:127.25.1.6", "mx.guard.test", "guard.test", {TLSA(3, 1, 1, "fault-ee")},
     REQ, .guarded = true, .want = MODEL_ADDR_BLOCKED, .reason = "loopback", .max_ms = 1000},
};

#define N_CASES (sizeof(cases) / sizeof(cases[0]))

typedef struct {
    const case_t *c;
    loop_t *loop;
    model_address_t *out;
    double started, ended;      /* ms */
    int done_calls;
    uint8_t rdata[CASE_TLSA_MAX][CASE_RDATA_MAX];
    tlsa_record_t tlsa[CASE_TLSA_MAX];
    size_t n_tlsa;
} run_t;

static const char *world_dir;
static bool verbose;
static size_t pending;

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static void trace(void *arg, const char *line)
{
    static double t0;

    (void)arg;
    if (!verbose)
        return;
    if (t0 == 0)
        t0 = now_ms();
    fprintf(stderr, "%9.3f %s\n", now_ms() - t0, line);
}

/* ------------------------------------------------------------ TLSA data */

static X509 *load_cert(const char *name)
{
    char path[4096];
    FILE *f;
    X509 *x;

    snprintf(path, sizeof(path), "%s/certs/%s.crt", world_dir, name);
    f = fopen(path, "r");
    if (f == NULL)
        return NULL;
    x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    return x;
}

/* RFC 6698 §2.1: the RDATA of "usage selector mtype" for a certificate. */
static size_t tlsa_rdata(const tlsa_spec_t *t, uint8_t *rdata, size_t cap)
{
    X509 *x = load_cert(t->cert);
    unsigned char *der = NULL;
    unsigned int md_len = 0;
    size_t len = 0;
    int der_len;

    if (x == NULL)
        return 0;
    der_len = t->selector == 0 ? i2d_X509(x, &der) : i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der);
    if (der_len <= 0)
        goto done;
    rdata[0] = t->usage;
    rdata[1] = t->selector;
    rdata[2] = t->mtype;
    if (t->mtype == 0 && (size_t)der_len <= cap - 3) {
        memcpy(rdata + 3, der, (size_t)der_len);
        len = 3 + (size_t)der_len;
    } else if (t->mtype == 1 || t->mtype == 2) {
        const EVP_MD *md = t->mtype == 1 ? EVP_sha256() : EVP_sha512();
        if (EVP_Digest(der, (size_t)der_len, rdata + 3, &md_len, md, NULL))
            len = 3 + md_len;
    }
done:
    OPENSSL_free(der);
    X509_free(x);
    return len;
}

static bool prepare(run_t *r)
{
    for (size_t i = 0; i < CASE_TLSA_MAX && r->c->tlsa[i].cert != NULL; i++) {
        size_t len = tlsa_rdata(&r->c->tlsa[i], r->rdata[i], sizeof(r->rdata[i]));
        if (len == 0 || tlsa_record_parse(r->rdata[i], len, &r->tlsa[i]) != TLSA_OK) {
            fprintf(stderr, "%s: no TLSA data from %s/certs/%s.crt\n", r->c->label, world_dir,
                    r->c->tlsa[i].cert);
            return false;
        }
        r->n_tlsa++;
    }
    return true;
}

/* ------------------------------------------------------------ running */

static void on_done(void *arg)
{
    run_t *r = arg;

    r->ended = now_ms();
    r->done_calls++;
    if (--pending == 0)
        loop_stop(r->loop);
}

static addrprobe_t *start(run_t *r, tls_ctx_t *tls)
{
    const char *names[1] = {r->c->name};
    addrprobe_params_t p = {
        .address = r->c->address,
        .port = 25,
        .helo = "addrprobe-check.test",
        .allow_private = !r->c->guarded,
        .timeout_ms = r->c->timeout_ms != 0 ? r->c->timeout_ms : DEFAULT_TIMEOUT_MS,
        .tls_required = r->c->tls_required,
        .tlsa = r->tlsa,
        .n_tlsa = r->n_tlsa,
        .base_domain = r->c->base,
        .names = names,
        .n_names = 1,
        .both_certs = true,
        .trace = trace,
    };

    r->started = now_ms();
    return addrprobe_start(r->loop, tls, &p, r->out, on_done, r);
}

/* ------------------------------------------------------------ judging */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* "type:result,..." sorted, into buf. */
static void handshakes_text(const model_address_t *a, char *buf, size_t cap)
{
    char items[4][64];
    const char *sorted[4];
    size_t n = a->n_handshakes < 4 ? a->n_handshakes : 4, off = 0;

    for (size_t i = 0; i < n; i++) {
        snprintf(items[i], sizeof(items[i]), "%s:%s", a->handshakes[i].cert_type,
                 model_addr_result_name(a->handshakes[i].result));
        sorted[i] = items[i];
    }
    qsort(sorted, n, sizeof(sorted[0]), cmp_str);
    buf[0] = '\0';
    for (size_t i = 0; i < n && off < cap; i++)
        off += (size_t)snprintf(buf + off, cap - off, "%s%s", i > 0 ? "," : "", sorted[i]);
}

static bool printable(const char *s)
{
    for (; s != NULL && *s != '\0'; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
            return false;
    return true;
}

static void judge(const run_t *r)
{
    const case_t *c = r->c;
    const model_address_t *a = r->out;
    const char *reason = a->reason != NULL ? a->reason : "";
    double ms = r->ended - r->started;
    char hs[256];
    int failed_before = check_failed;

    handshakes_text(a, hs, sizeof(hs));
    CHECK_INT(c->label, r->done_calls, 1);
    CHECK_STR(c->label, model_addr_result_name(a->result), model_addr_result_name(c->want));
    if (c->reason != NULL)
        CHECK_STR(c->label, a->reason, c->reason);
    if (c->reason_has != NULL)
        CHECK(strstr(reason, c->reason_has) != NULL, "%s: reason \"%s\" lacks \"%s\"", c->label,
              reason, c->reason_has);
    if (c->handshakes != NULL)
        CHECK_STR(c->label, hs, c->handshakes);
    if (c->matched != NULL) {
        const model_handshake_t *h = a->n_handshakes > 0 ? &a->handshakes[0] : NULL;
        char got[16] = "none";
        if (h != NULL && h->matched)
            snprintf(got, sizeof(got), "%u %u %u", h->matched_usage, h->matched_selector,
                     h->matched_mtype);
        CHECK_STR(c->label, got, c->matched);
        CHECK_INT(c->label, h != NULL ? h->matched_depth : -1, c->depth);
    }
    if (c->max_ms > 0)
        CHECK(ms >= c->min_ms && ms <= c->max_ms, "%s: took %.0f ms, want %d..%d", c->label, ms,
              c->min_ms, c->max_ms);
    /* DESIGN.md: server text is censored before it reaches any report */
    CHECK(printable(a->reason) && printable(a->banner), "%s: unprintable text in reason or banner",
          c->label);
    printf("%-4s %-22s %-17s %-20s %6.0f ms  %s  %s\n", check_failed == failed_before ? "ok" : "FAIL",
           c->label, a->address, model_addr_result_name(a->result), ms, hs[0] ? hs : "-", reason);
}

/* What a report shows beyond the result, on the textbook case. */
static void judge_details(const run_t *ee, const run_t *nul, const run_t *drip)
{
    const model_address_t *a = ee->out;
    const model_handshake_t *h = a->n_handshakes > 0 ? &a->handshakes[0] : NULL;
    X509 *x = load_cert("ee1");
    unsigned char md[32];
    unsigned int md_len = 0;
    char hex[65] = "";
    bool starttls_kw = false, starttls_kw_tls = false;

    if (x != NULL && X509_digest(x, EVP_sha256(), md, &md_len))
        for (unsigned i = 0; i < md_len; i++)
            snprintf(hex + 2 * i, 3, "%02x", md[i]);
    X509_free(x);
    for (size_t i = 0; i < a->n_ehlo; i++)
        starttls_kw |= strcmp(a->ehlo[i], "STARTTLS") == 0;
    for (size_t i = 0; i < a->n_ehlo_tls; i++)
        starttls_kw_tls |= strcmp(a->ehlo_tls[i], "STARTTLS") == 0;

    CHECK(a->banner != NULL && strncmp(a->banner, "220 ", 4) == 0, "dane-ee: banner %s",
          check_str_show(a->banner));
    CHECK(a->starttls && starttls_kw, "dane-ee: STARTTLS not among the EHLO keywords");
    CHECK(a->n_ehlo_tls > 0 && !starttls_kw_tls, "dane-ee: EHLO after TLS: %zu keywords, STARTTLS %d",
          a->n_ehlo_tls, starttls_kw_tls);
    CHECK(a->ms_connect > 0 && a->ms_banner > 0 && a->ms_ehlo > 0 && a->ms_starttls > 0 &&
              a->ms_handshake > 0,
          "dane-ee: timings %.2f %.2f %.2f %.2f %.2f", a->ms_connect, a->ms_banner, a->ms_ehlo,
          a->ms_starttls, a->ms_handshake);
    CHECK(h != NULL && h->tls_version != NULL && h->cipher != NULL && h->group != NULL,
          "dane-ee: TLS parameters missing");
    CHECK(h != NULL && h->n_chain == 1 && h->chain[0].cert_sha256 != NULL &&
              strcmp(h->chain[0].cert_sha256, hex) == 0,
          "dane-ee: leaf is not ee1");
    CHECK(h != NULL && h->n_chain == 1 && h->chain[0].days_to_expiry >= 363 &&
              h->chain[0].days_to_expiry <= 365,
          "dane-ee: days to expiry %ld", h != NULL && h->n_chain ? h->chain[0].days_to_expiry : 0);
    /* fault-nul: NUL, ESC and 8-bit bytes came out as '?' */
    CHECK(nul->out->banner != NULL && strchr(nul->out->banner, '?') != NULL,
          "fault-nul: banner %s, want censored bytes", check_str_show(nul->out->banner));
    /* a phase that timed out is timed too */
    CHECK(drip->out->ms_banner >= 2950 && drip->out->ms_banner <= 3500,
          "fault-drip: ms_banner %.0f, want about 3000", drip->out->ms_banner);
}

/* The guard's listener saw no connection while the control's did. */
static void judge_guard_log(const char *log, long from)
{
    char line[1024];
    bool control = false, guarded = false;
    FILE *f;

    /* faultd writes its log as it goes; give it a moment */
    for (int tries = 0; tries < 20 && !control; tries++) {
        f = fopen(log, "r");
        if (f == NULL)
            break;
        fseek(f, from, SEEK_SET);
        while (fgets(line, sizeof(line), f) != NULL) {
            bool accept = strstr(line, " accept") != NULL;
            control |= accept && strstr(line, " 127.25.1.10:25 ") != NULL;
            if (accept && strstr(line, " 127.25.1.6:25 ") != NULL) {
                guarded = true;
                fprintf(stderr, "guard: faultd logged %s", line);
            }
        }
        fclose(f);
        if (!control)
            usleep(50 * 1000);
    }
    CHECK(control, "guard: faultd logged no accept for the control probe (127.25.1.10) in %s", log);
    CHECK(!guarded, "guard: faultd accepted a connection on 127.25.1.6 (shared world: check "
                    "nobody else probed it)");
}

static const case_t *find_case(const char *label)
{
    for (size_t i = 0; i < N_CASES; i++)
        if (strcmp(cases[i].label, label) == 0)
            return &cases[i];
    return NULL;
}

/* done never runs inside addrprobe_start; a cancelled probe stays
 * silent; unusable parameters are refused and leave out alone. */
static void check_api(loop_t *loop, tls_ctx_t *tls)
{
    model_address_t guarded = {0}, cancelled = {0}, refused = {0};
    run_t rg = {.c = find_case("guard"), .loop = loop, .out = &guarded};
    run_t rc = {.c = find_case("dane-ee"), .loop = loop, .out = &cancelled};
    addrprobe_t *probe;
    const char *names[1] = {"x.test"};
    addrprobe_params_t bad = {.address = "127.25.0.1", .port = 25, .helo = "x.test",
                              .timeout_ms = 1000, .base_domain = "x.test", .names = names,
                              .n_names = 1};
    struct {
        const char *what;
        addrprobe_params_t p;
    } refusals[] = {
        {"not an address", bad},
        {"bad helo", bad},
        {"port 0", bad},
        {"no base domain", bad},
        {"no timeout", bad},
        {"scoped address", bad},
    };

    refusals[0].p.address = "mx.example";
    refusals[1].p.helo = "two words";
    refusals[2].p.port = 0;
    refusals[3].p.base_domain = "";
    refusals[4].p.timeout_ms = 0;
    refusals[5].p.address = "fe80::1%lo";
    for (size_t i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++) {
        refused.result = MODEL_ADDR_DANE_FAIL;
        CHECK(addrprobe_start(loop, tls, &refusals[i].p, &refused, on_done, NULL) == NULL,
              "%s: started", refusals[i].what);
        CHECK(refused.result == MODEL_ADDR_DANE_FAIL && refused.address == NULL,
              "%s: out touched", refusals[i].what);
    }

    pending = 1;
    CHECK(prepare(&rg), "guard: TLSA data");
    probe = start(&rg, tls);
    CHECK(probe != NULL, "guard: start failed");
    CHECK_INT("guard: done calls inside start", rg.done_calls, 0);
    CHECK(prepare(&rc), "cancel: TLSA data");
    probe = start(&rc, tls);
    CHECK(probe != NULL, "cancel: start failed");
    addrprobe_cancel(probe);
    loop_run(loop);
    CHECK_INT("guard: done calls", rg.done_calls, 1);
    CHECK_STR("guard: result", model_addr_result_name(guarded.result), "blocked");
    CHECK_INT("cancel: done calls", rc.done_calls, 0);
    CHECK_STR("cancel: result", model_addr_result_name(cancelled.result), "skipped");
    CHECK_STR("cancel: reason", cancelled.reason, "cancelled");
    CHECK_STR("cancel: address", cancelled.address, "127.25.0.1");

    /* the model owns everything the probes filled in */
    model_domain_t *d = calloc(1, sizeof(*d));
    model_host_t *h = calloc(1, sizeof(*h));
    model_address_t *addrs = calloc(2, sizeof(*addrs));
    if (d == NULL || h == NULL || addrs == NULL) {
        free(d);
        free(h);
        free(addrs);
        return;
    }
    addrs[0] = guarded;
    addrs[1] = cancelled;
    h->addresses = addrs;
    h->n_addresses = 2;
    d->hosts = h;
    d->n_hosts = 1;
    model_domain_free(d);
}

int main(int argc, char **argv)
{
    char why[TLS_ERROR_MAX], log[4096];
    loop_t *loop = loop_new();
    tls_ctx_t *tls = tls_ctx_new(why, sizeof(why));
    model_domain_t *d = calloc(1, sizeof(*d));
    model_host_t *host = calloc(1, sizeof(*host));
    model_address_t *addrs = calloc(N_CASES, sizeof(*addrs));
    run_t *runs = calloc(N_CASES, sizeof(*runs));
    struct stat st;
    struct rusage ru;
    double t0, wall;
    long log_from;
    int ee = -1, nul = -1, drip = -1;

    verbose = argc > 1 && strcmp(argv[1], "-v") == 0;
    world_dir = getenv("DANESCAN_WORLD_DIR") != NULL ? getenv("DANESCAN_WORLD_DIR")
                                                     : "/tmp/danescan-world";
    /* OpenSSL writes to sockets with write(2) */
    signal(SIGPIPE, SIG_IGN);
    if (loop == NULL || tls == NULL || d == NULL || host == NULL || addrs == NULL || runs == NULL) {
        fprintf(stderr, "addrprobe_check: setup failed: %s\n", tls == NULL ? why : "out of memory");
        return 2;
    }
    snprintf(log, sizeof(log), "%s/faultd.log", world_dir);
    log_from = stat(log, &st) == 0 ? (long)st.st_size : 0;

    check_api(loop, tls);

    /* the model tree owns the results, and frees them at the end */
    host->addresses = addrs;
    host->n_addresses = N_CASES;
    d->hosts = host;
    d->n_hosts = 1;

    t0 = now_ms();
    for (size_t i = 0; i < N_CASES; i++) {
        run_t *r = &runs[i];
        r->c = &cases[i];
        r->loop = loop;
        r->out = &addrs[i];
        if (!prepare(r) || start(r, tls) == NULL) {
            CHECK(false, "%s: could not start", r->c->label);
            continue;
        }
        pending++;
        if (strcmp(r->c->label, "dane-ee") == 0)
            ee = (int)i;
        if (strcmp(r->c->label, "fault-nul") == 0)
            nul = (int)i;
        if (strcmp(r->c->label, "fault-drip") == 0)
            drip = (int)i;
    }
    if (pending > 0)
        loop_run(loop);
    wall = now_ms() - t0;

    for (size_t i = 0; i < N_CASES; i++)
        if (runs[i].started > 0)
            judge(&runs[i]);
    if (ee >= 0 && nul >= 0 && drip >= 0)
        judge_details(&runs[ee], &runs[nul], &runs[drip]);
    judge_guard_log(log, log_from);
    getrusage(RUSAGE_SELF, &ru);
    printf("%zu probes at once: %.0f ms wall, peak RSS %ld KiB\n", N_CASES, wall, ru.ru_maxrss);
    CHECK(wall <= WALL_MAX_MS, "wall time %.0f ms, want <= %d: the probes did not run at once", wall,
          WALL_MAX_MS);
    CHECK(ru.ru_maxrss <= RSS_MAX_KB, "peak RSS %ld KiB, want <= %d", ru.ru_maxrss, RSS_MAX_KB);

    model_domain_free(d);
    free(runs);
    tls_ctx_free(tls);
    loop_free(loop);
    return check_summary();
}
