/* addrprobe.c - one address end to end: guard, connect, SMTP, STARTTLS,
 * DANE handshake, and A7's second handshake, driven by the event loop.
 *
 * A `while (more) switch (state)` driver (addrprobe_run) advances the
 * probe as far as it can without blocking: every step tries its I/O
 * first and only when the socket would block asks the loop to call back.
 * Trying first matters for TLS: OpenSSL may hold decrypted bytes that no
 * readiness event will announce.  Deadlines are per phase (DESIGN.md
 * limits); the phase is derived from the probe's and the SMTP machine's
 * states after every step, so it cannot fall out of step with them.
 */
#include "addrprobe.h"

#include "addrguard.h"
#include "smtp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* One read: the SMTP machine's whole input buffer. */
#define ADDRPROBE_READ_CHUNK SMTP_IN_CAP
/* A reason assembled from an SMTP or OpenSSL reason and a socket error. */
#define ADDRPROBE_REASON_MAX 1024
#define ADDRPROBE_TRACE_MAX 1200

typedef enum {
    ADDRPROBE_STATE_START,      /* waiting for the loop's first call */
    ADDRPROBE_STATE_CONNECT,    /* non-blocking connect() in flight */
    ADDRPROBE_STATE_SMTP,       /* the SMTP machine's turn, plaintext or over TLS */
    ADDRPROBE_STATE_HANDSHAKE,  /* tls_conn_handshake() */
    ADDRPROBE_STATE_CLOSED,     /* this connection is over: another one, or the end */
    ADDRPROBE_STATE_DONE,       /* out is complete: report and free */
    ADDRPROBE_STATE_COUNT
} addrprobe_state_t;

static const char *const addrprobe_state_names[ADDRPROBE_STATE_COUNT] = {
    [ADDRPROBE_STATE_START] = "start",
    [ADDRPROBE_STATE_CONNECT] = "connect",
    [ADDRPROBE_STATE_SMTP] = "smtp",
    [ADDRPROBE_STATE_HANDSHAKE] = "handshake",
    [ADDRPROBE_STATE_CLOSED] = "closed",
    [ADDRPROBE_STATE_DONE] = "done",
};

/* What the probe is waiting for; each has its own deadline.  The names
 * are DESIGN.md's timeout reasons. */
typedef enum {
    ADDRPROBE_PHASE_NONE,
    ADDRPROBE_PHASE_CONNECT,
    ADDRPROBE_PHASE_BANNER,
    ADDRPROBE_PHASE_EHLO,
    ADDRPROBE_PHASE_STARTTLS,
    ADDRPROBE_PHASE_HANDSHAKE,
    ADDRPROBE_PHASE_EHLO_TLS,
    ADDRPROBE_PHASE_QUIT,
    ADDRPROBE_PHASE_COUNT
} addrprobe_phase_t;

static const char *const addrprobe_phase_names[ADDRPROBE_PHASE_COUNT] = {
    [ADDRPROBE_PHASE_NONE] = "none",
    [ADDRPROBE_PHASE_CONNECT] = "connect",
    [ADDRPROBE_PHASE_BANNER] = "banner",
    [ADDRPROBE_PHASE_EHLO] = "ehlo",
    [ADDRPROBE_PHASE_STARTTLS] = "starttls",
    [ADDRPROBE_PHASE_HANDSHAKE] = "handshake",
    [ADDRPROBE_PHASE_EHLO_TLS] = "ehlo-tls",
    [ADDRPROBE_PHASE_QUIT] = "quit",
};

struct addrprobe {
    loop_t *loop;
    tls_ctx_t *tls;
    model_address_t *out;
    addrprobe_done_t done;
    void *done_arg;

    /* the parameters, copied */
    struct sockaddr_storage sa;
    socklen_t sa_len;
    char *label;                /* the address, for traces */
    char *helo;
    char *base_domain;
    char **names;
    size_t n_names;
    tlsa_record_t *tlsa;
    size_t n_tlsa;
    uint8_t *tlsa_data;         /* the records' data, one block */
    bool allow_private, tls_required, both_certs;
    int timeout_ms;
    time_t at;
    void (*trace)(void *arg, const char *line);
    void *trace_arg;

    addrprobe_state_t state;
    addrprobe_phase_t phase;
    double phase_start;         /* monotonic ms */
    loop_timer_t *kick;         /* the first call, from the loop */
    loop_timer_t *deadline;     /* the current phase's */

    /* the connection under way */
    int conn;                   /* 0: the first; 1: A7's second */
    tls_cert_type_t cert_type;  /* what this connection asks for */
    int fd;
    unsigned watched;           /* the loop events asked for on fd */
    smtp_session_t *smtp;
    tls_conn_t *tls_conn;
    bool tls_up;
    char io_why[TLS_ERROR_MAX]; /* how the socket or TLS broke, "" if it did not */

    /* conclusions */
    bool decided;               /* out->result is the first connection's outcome */
    tls_cert_type_t second;     /* A7: the second handshake asks for this; ANY = none */
    char first_leaf[65];        /* cert_sha256 of the first handshake's leaf */
};

static void addrprobe_run(addrprobe_t *p);

static double addrprobe_clock_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

__attribute__((format(printf, 2, 3)))
static void addrprobe_trace(const addrprobe_t *p, const char *fmt, ...)
{
    char line[ADDRPROBE_TRACE_MAX];
    va_list ap;
    int n;

    if (p->trace == NULL)
        return;
    n = snprintf(line, sizeof(line), "addrprobe %s#%d: ", p->label, p->conn);
    if (n < 0 || (size_t)n >= sizeof(line))
        return;
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
    va_end(ap);
    p->trace(p->trace_arg, line);
}

static void addrprobe_tls_trace(void *arg, const char *line)
{
    addrprobe_trace(arg, "%s", line);
}

/* ------------------------------------------------------------ conclusions */

/* A note on something that did not change the outcome.  A dane-fail
 * reason stays its code (tlsa-mismatch, ...), so notes go only onto the
 * other results. */
static void addrprobe_note(addrprobe_t *p, const char *text)
{
    model_address_t *out = p->out;
    char *joined;

    addrprobe_trace(p, "note: %s", text);
    if (out->result == MODEL_ADDR_DANE_FAIL)
        return;
    if (out->reason == NULL) {
        out->reason = strdup(text);
        return;
    }
    if (asprintf(&joined, "%s; %s", out->reason, text) < 0)
        return;
    free(out->reason);
    out->reason = joined;
}

/* The outcome of the first connection, the first time one is known;
 * afterwards (after TLS, or on A7's second connection) a note. */
__attribute__((format(printf, 3, 4)))
static void addrprobe_conclude(addrprobe_t *p, model_addr_result_t result, const char *fmt, ...)
{
    char text[ADDRPROBE_REASON_MAX], note[ADDRPROBE_REASON_MAX + 64];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    if (p->conn == 0 && !p->decided) {
        p->decided = true;
        p->out->result = result;
        free(p->out->reason);
        p->out->reason = text[0] != '\0' ? strdup(text) : NULL;
        addrprobe_trace(p, "result %s%s%s", model_addr_result_name(result), text[0] ? ": " : "",
                        text);
        return;
    }
    if (p->conn == 0)
        snprintf(note, sizeof(note), "after TLS: %s", text);
    else
        snprintf(note, sizeof(note), "%s handshake: %s", tls_cert_type_name(p->cert_type), text);
    addrprobe_note(p, note);
}

/* Something on our side failed (memory, the loop): not the peer's doing,
 * so the address counts as not probed. */
static void addrprobe_internal(addrprobe_t *p, const char *what)
{
    addrprobe_conclude(p, MODEL_ADDR_SKIPPED, "internal error: %s: %s", what, strerror(errno));
}

/* ------------------------------------------------------------ the model */

/* Whole days from `at` (0: now) to an ISO 8601 UTC time, rounded down. */
static long addrprobe_days_left(const char *iso, time_t at)
{
    struct tm tm;
    const char *end;
    long long secs;

    memset(&tm, 0, sizeof(tm));
    end = strptime(iso, "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (end == NULL || *end != '\0')
        return 0;
    secs = (long long)timegm(&tm) - (long long)(at != 0 ? at : time(NULL));
    return (long)(secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400));
}

static char *addrprobe_strdup_or_null(const char *s)
{
    return s[0] != '\0' ? strdup(s) : NULL;
}

static void addrprobe_cert_fill(model_cert_t *c, const tls_cert_info_t *info, long days)
{
    c->subject = strdup(info->subject);
    c->issuer = strdup(info->issuer);
    c->sans = info->n_sans > 0 ? calloc(info->n_sans, sizeof(*c->sans)) : NULL;
    for (size_t i = 0; c->sans != NULL && i < info->n_sans; i++)
        if ((c->sans[i] = strdup(info->sans[i])) != NULL)
            c->n_sans = i + 1;
    c->not_before = strdup(info->not_before);
    c->not_after = strdup(info->not_after);
    c->key_type = strdup(info->key_type);
    c->key_bits = info->key_bits;
    c->spki_sha256 = addrprobe_strdup_or_null(info->spki_sha256);
    c->cert_sha256 = addrprobe_strdup_or_null(info->cert_sha256);
    c->days_to_expiry = days;
}

/* Append one handshake record; NULL when memory ran out. */
static model_handshake_t *addrprobe_add_handshake(addrprobe_t *p, const tls_result_t *r,
                                                  model_addr_result_t result, const char *reason)
{
    model_address_t *out = p->out;
    model_handshake_t *all, *hs;

    all = realloc(out->handshakes, (out->n_handshakes + 1) * sizeof(*all));
    if (all == NULL)
        return NULL;
    out->handshakes = all;
    hs = &all[out->n_handshakes++];
    memset(hs, 0, sizeof(*hs));
    hs->cert_type = strdup(tls_cert_type_name(p->cert_type));
    hs->result = result;
    hs->reason = reason != NULL ? strdup(reason) : NULL;
    hs->tls_version = addrprobe_strdup_or_null(r->version);
    hs->cipher = addrprobe_strdup_or_null(r->cipher);
    hs->group = addrprobe_strdup_or_null(r->group);
    if (r->auth == TLS_AUTH_PASS) {
        hs->matched = true;
        hs->matched_usage = r->matched.usage;
        hs->matched_selector = r->matched.selector;
        hs->matched_mtype = r->matched.mtype;
        hs->matched_depth = r->matched_depth;
    }
    hs->chain = r->n_chain > 0 ? calloc(r->n_chain, sizeof(*hs->chain)) : NULL;
    for (size_t i = 0; hs->chain != NULL && i < r->n_chain; i++) {
        long days = i == 0 ? r->leaf_days_left : addrprobe_days_left(r->chain[i].not_after, p->at);
        addrprobe_cert_fill(&hs->chain[i], &r->chain[i], days);
        hs->n_chain = i + 1;
    }
    return hs;
}

static char **addrprobe_keywords(const smtp_ehlo_t *ehlo, size_t *n)
{
    char **v = ehlo->ncaps > 0 ? calloc(ehlo->ncaps, sizeof(*v)) : NULL;

    *n = 0;
    for (size_t i = 0; v != NULL && i < ehlo->ncaps; i++)
        if ((v[*n] = strdup(ehlo->caps[i].keyword)) != NULL)
            (*n)++;
    return v;
}

/* What the first connection's dialogue showed. */
static void addrprobe_collect_smtp(addrprobe_t *p)
{
    const smtp_seen_t *seen = smtp_session_seen(p->smtp);
    model_address_t *out = p->out;

    if (seen->banner.code != 0 && asprintf(&out->banner, "%d %s", seen->banner.code,
                                           seen->banner.text) < 0)
        out->banner = NULL;
    out->starttls = seen->ehlo.starttls;
    out->ehlo = addrprobe_keywords(&seen->ehlo, &out->n_ehlo);
    /* RFC 3207 §4.2: only the list from after TLS is to be trusted */
    out->ehlo_tls = addrprobe_keywords(&seen->ehlo_tls, &out->n_ehlo_tls);
}

/* ------------------------------------------------------------ states and phases */

static double *addrprobe_phase_ms(model_address_t *out, addrprobe_phase_t phase)
{
    switch (phase) {
    case ADDRPROBE_PHASE_CONNECT:
        return &out->ms_connect;
    case ADDRPROBE_PHASE_BANNER:
        return &out->ms_banner;
    case ADDRPROBE_PHASE_EHLO:
        return &out->ms_ehlo;
    case ADDRPROBE_PHASE_STARTTLS:
        return &out->ms_starttls;
    case ADDRPROBE_PHASE_HANDSHAKE:
        return &out->ms_handshake;
    default:
        return NULL;
    }
}

static void addrprobe_on_deadline(loop_t *loop, void *arg);

/* The only writer of p->phase: times the phase that ends (the first
 * connection's go into out) and starts the next one's deadline. */
static void addrprobe_set_phase(addrprobe_t *p, addrprobe_phase_t to)
{
    double now = addrprobe_clock_ms();
    double *ms;

    if (to == p->phase)
        return;
    addrprobe_trace(p, "phase %s -> %s", addrprobe_phase_names[p->phase],
                    addrprobe_phase_names[to]);
    ms = p->conn == 0 ? addrprobe_phase_ms(p->out, p->phase) : NULL;
    if (ms != NULL)
        *ms = now - p->phase_start;
    loop_timer_cancel(p->loop, p->deadline);
    p->deadline = NULL;
    p->phase = to;
    p->phase_start = now;
    if (to == ADDRPROBE_PHASE_NONE)
        return;
    p->deadline = loop_timer_add(p->loop, (uint64_t)p->timeout_ms, addrprobe_on_deadline, p);
    if (p->deadline == NULL) {
        addrprobe_internal(p, "deadline timer");
        /* without a deadline the probe could wait forever: make the
         * socket fail its next read or write, which ends the connection */
        if (p->fd >= 0)
            shutdown(p->fd, SHUT_RDWR);
    }
}

static addrprobe_phase_t addrprobe_phase_now(const addrprobe_t *p)
{
    switch (p->state) {
    case ADDRPROBE_STATE_CONNECT:
        return ADDRPROBE_PHASE_CONNECT;
    case ADDRPROBE_STATE_HANDSHAKE:
        return ADDRPROBE_PHASE_HANDSHAKE;
    case ADDRPROBE_STATE_SMTP:
        break;
    default:
        return ADDRPROBE_PHASE_NONE;
    }
    switch (smtp_session_state(p->smtp)) {
    case SMTP_STATE_BANNER:
        return ADDRPROBE_PHASE_BANNER;
    case SMTP_STATE_EHLO:
        return ADDRPROBE_PHASE_EHLO;
    case SMTP_STATE_STARTTLS:
        return ADDRPROBE_PHASE_STARTTLS;
    case SMTP_STATE_TLS_HANDSHAKE:
        return ADDRPROBE_PHASE_HANDSHAKE;
    case SMTP_STATE_EHLO_TLS:
        return ADDRPROBE_PHASE_EHLO_TLS;
    case SMTP_STATE_QUIT:
        return ADDRPROBE_PHASE_QUIT;
    default:
        return ADDRPROBE_PHASE_NONE;
    }
}

/* The only writer of p->state (STYLE.md rule 5). */
static void addrprobe_set_state(addrprobe_t *p, addrprobe_state_t to)
{
    addrprobe_trace(p, "%s -> %s", addrprobe_state_names[p->state], addrprobe_state_names[to]);
    p->state = to;
    addrprobe_set_phase(p, addrprobe_phase_now(p));
}

/* ------------------------------------------------------------ the connection */

static void addrprobe_on_io(loop_t *loop, int fd, unsigned events, void *arg)
{
    (void)loop;
    (void)fd;
    (void)events;
    /* every step retries its operation, which says what went wrong */
    addrprobe_run(arg);
}

/* Ask the loop for events on fd and stop the driver; if the loop
 * refuses, the connection ends. */
static bool addrprobe_wait(addrprobe_t *p, unsigned events)
{
    if (events == p->watched)
        return false;
    if (loop_watch(p->loop, p->fd, events, addrprobe_on_io, p) < 0) {
        addrprobe_internal(p, "loop_watch");
        addrprobe_set_state(p, ADDRPROBE_STATE_CLOSED);
        return true;
    }
    p->watched = events;
    return false;
}

static void addrprobe_close_conn(addrprobe_t *p)
{
    if (p->smtp != NULL && p->conn == 0)
        addrprobe_collect_smtp(p);
    tls_conn_free(p->tls_conn);
    p->tls_conn = NULL;
    smtp_session_free(p->smtp);
    p->smtp = NULL;
    if (p->fd >= 0) {
        /* before close(): the loop's table is indexed by fd number */
        loop_unwatch(p->loop, p->fd);
        close(p->fd);
        p->fd = -1;
    }
    p->watched = 0;
    p->tls_up = false;
    p->io_why[0] = '\0';
}

/* The socket or TLS broke: the SMTP machine sees the end of input, and
 * the reason says why. */
static void addrprobe_broken(addrprobe_t *p, const char *why)
{
    snprintf(p->io_why, sizeof(p->io_why), "%s", why);
    smtp_session_eof(p->smtp);
}

static void addrprobe_connected(addrprobe_t *p)
{
    p->smtp = smtp_session_new(p->helo);
    if (p->smtp == NULL) {
        addrprobe_internal(p, "smtp_session_new");
        addrprobe_set_state(p, ADDRPROBE_STATE_CLOSED);
        return;
    }
    addrprobe_set_state(p, ADDRPROBE_STATE_SMTP);
}

static void addrprobe_connect_failed(addrprobe_t *p, int err)
{
    addrprobe_conclude(p, MODEL_ADDR_CONNECT_FAILED, "%s", strerror(err));
    addrprobe_set_state(p, ADDRPROBE_STATE_CLOSED);
}

/* Open connection number p->conn; the driver goes on in any case. */
static void addrprobe_open(addrprobe_t *p)
{
    addrprobe_set_state(p, ADDRPROBE_STATE_CONNECT);
    p->fd = socket(p->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (p->fd < 0) {
        addrprobe_connect_failed(p, errno);
        return;
    }
    if (connect(p->fd, (const struct sockaddr *)&p->sa, p->sa_len) == 0) {
        addrprobe_connected(p);
        return;
    }
    if (errno != EINPROGRESS) {
        addrprobe_connect_failed(p, errno);
        return;
    }
    addrprobe_wait(p, LOOP_WRITE);
}

/* ------------------------------------------------------------ the steps */

/* Each returns true when the driver can go on, false when it waits. */

static bool addrprobe_step_start(addrprobe_t *p)
{
    const char *range = NULL;

    /* DESIGN.md private-address guard: decided before any packet */
    if (!p->allow_private &&
        addrguard_check((const struct sockaddr *)&p->sa, &range) == ADDRGUARD_BLOCKED) {
        addrprobe_conclude(p, MODEL_ADDR_BLOCKED, "%s", range);
        addrprobe_set_state(p, ADDRPROBE_STATE_DONE);
        return true;
    }
    addrprobe_open(p);
    return p->state != ADDRPROBE_STATE_CONNECT;
}

static bool addrprobe_step_connect(addrprobe_t *p)
{
    int err = 0;
    socklen_t len = sizeof(err);

    if (getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        err = errno;
    if (err == ECONNRESET) {
        /* a RST to our SYN is ECONNREFUSED: this one came after the
         * server accepted, so it is the dialogue that failed */
        addrprobe_connected(p);
        if (p->smtp != NULL)
            addrprobe_broken(p, strerror(err));
        return true;
    }
    if (err != 0) {
        addrprobe_connect_failed(p, err);
        return true;
    }
    /* no error yet is not the same as connected: a wake-up may be early */
    struct sockaddr_storage peer;
    socklen_t peer_len = sizeof(peer);
    if (getpeername(p->fd, (struct sockaddr *)&peer, &peer_len) < 0) {
        if (errno == ENOTCONN)
            return addrprobe_wait(p, LOOP_WRITE);
        addrprobe_connect_failed(p, errno);
        return true;
    }
    addrprobe_connected(p);
    return true;
}

static bool addrprobe_smtp_read(addrprobe_t *p)
{
    uint8_t buf[ADDRPROBE_READ_CHUNK];
    size_t n = 0;

    if (p->tls_up) {
        switch (tls_conn_read(p->tls_conn, buf, sizeof(buf), &n)) {
        case TLS_OK:
            smtp_session_input(p->smtp, buf, n);
            return true;
        case TLS_WANT_READ:
            return addrprobe_wait(p, LOOP_READ);
        case TLS_WANT_WRITE:
            return addrprobe_wait(p, LOOP_WRITE);
        case TLS_CLOSED:
            smtp_session_eof(p->smtp);
            return true;
        default:
            addrprobe_broken(p, tls_conn_result(p->tls_conn)->error);
            return true;
        }
    }
    ssize_t got = recv(p->fd, buf, sizeof(buf), 0);
    if (got > 0)
        smtp_session_input(p->smtp, buf, (size_t)got);
    else if (got == 0)
        smtp_session_eof(p->smtp);
    else if (errno == EAGAIN || errno == EWOULDBLOCK)
        return addrprobe_wait(p, LOOP_READ);
    else if (errno != EINTR)
        addrprobe_broken(p, strerror(errno));
    return true;
}

static bool addrprobe_smtp_write(addrprobe_t *p)
{
    size_t len, n = 0;
    const uint8_t *data = smtp_session_pending(p->smtp, &len);

    if (p->tls_up) {
        switch (tls_conn_write(p->tls_conn, data, len, &n)) {
        case TLS_OK:
            smtp_session_sent(p->smtp, n);
            return true;
        case TLS_WANT_READ:
            return addrprobe_wait(p, LOOP_READ);
        case TLS_WANT_WRITE:
            return addrprobe_wait(p, LOOP_WRITE);
        default:
            addrprobe_broken(p, tls_conn_result(p->tls_conn)->error);
            return true;
        }
    }
    /* MSG_NOSIGNAL: a peer that reset must not kill the scanner */
    ssize_t sent = send(p->fd, data, len, MSG_NOSIGNAL);
    if (sent >= 0)
        smtp_session_sent(p->smtp, (size_t)sent);
    else if (errno == EAGAIN || errno == EWOULDBLOCK)
        return addrprobe_wait(p, LOOP_WRITE);
    else if (errno != EINTR)
        addrprobe_broken(p, strerror(errno));
    return true;
}

/* SMTP_WANT_TLS: the server said 220 to STARTTLS. */
static bool addrprobe_starttls(addrprobe_t *p)
{
    uint8_t buf[ADDRPROBE_READ_CHUNK];
    char why[TLS_ERROR_MAX] = "";
    ssize_t got;

    /* RFC 3207 §4.2, CVE-2011-0411: a server that said 220 waits for our
     * ClientHello, so bytes already here were sent in the clear after it:
     * the SMTP machine fails them as an injection.  The machine catches
     * what came with the 220 reply; this catches what came just after. */
    got = recv(p->fd, buf, sizeof(buf), MSG_DONTWAIT);
    if (got > 0) {
        smtp_session_input(p->smtp, buf, (size_t)got);
        return true;
    }
    if (got == 0) {
        smtp_session_eof(p->smtp);
        return true;
    }
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        addrprobe_broken(p, strerror(errno));
        return true;
    }
    tls_params_t params = {
        .base_domain = p->base_domain,
        .names = (const char *const *)p->names,
        .n_names = p->n_names,
        .tlsa = p->tlsa,
        .n_tlsa = p->n_tlsa,
        .cert_type = p->cert_type,
        .at = p->at,
        .trace = p->trace != NULL ? addrprobe_tls_trace : NULL,
        .trace_arg = p,
    };
    p->tls_conn = tls_conn_new(p->tls, p->fd, &params, why, sizeof(why));
    if (p->tls_conn == NULL) {
        addrprobe_conclude(p, MODEL_ADDR_TLS_FAILED, "%s", why);
        addrprobe_set_state(p, ADDRPROBE_STATE_CLOSED);
        return true;
    }
    addrprobe_set_state(p, ADDRPROBE_STATE_HANDSHAKE);
    return true;
}

/* What an SMTP failure before TLS means for the address (DESIGN.md). */
static void addrprobe_smtp_failed(addrprobe_t *p, smtp_error_t err, const char *text)
{
    const char *name = smtp_error_name(err);
    bool io = p->io_why[0] != '\0';
    model_addr_result_t result;

    switch (err) {
    case SMTP_ERR_STARTTLS_INJECTION:
        /* RFC 3207 §4.2: TLS was never started over the injected bytes */
        addrprobe_conclude(p, MODEL_ADDR_TLS_FAILED, "%s", name);
        return;
    case SMTP_ERR_NO_STARTTLS:
    case SMTP_ERR_STARTTLS_REJECTED:
        result = MODEL_ADDR_NO_STARTTLS;
        break;
    default:
        result = MODEL_ADDR_SMTP_ERROR;
        break;
    }
    addrprobe_conclude(p, result, "%s: %s%s%s%s", name, text, io ? " (" : "", p->io_why,
                       io ? ")" : "");
}

/* SMTP_WANT_CLOSE: the dialogue is over, one way or the other. */
static bool addrprobe_smtp_ended(addrprobe_t *p)
{
    const char *text;
    smtp_error_t err = smtp_session_error(p->smtp, &text);

    if (err != SMTP_OK)
        addrprobe_smtp_failed(p, err, text);
    addrprobe_set_state(p, ADDRPROBE_STATE_CLOSED);
    return true;
}

static bool addrprobe_step_smtp(addrprobe_t *p)
{
    switch (smtp_session_want(p->smtp)) {
    case SMTP_WANT_READ:
        return addrprobe_smtp_read(p);
    case SMTP_WANT_WRITE:
        return addrprobe_smtp_write(p);
    case SMTP_WANT_TLS:
        return addrprobe_starttls(p);
    case SMTP_WANT_CLOSE:
        break;
    }
    return addrprobe_smtp_ended(p);
}

/* RULES A7: "ecdsa" or "rsa" by the leaf's key, ANY when neither. */
static tls_cert_type_t addrprobe_leaf_type(const tls_result_t *r)
{
    const char *key = r->n_chain > 0 ? r->chain[0].key_type : "";

    if (strncmp(key, "RSA", 3) == 0)
        return TLS_CERT_RSA;
    if (strncmp(key, "EC ", 3) == 0 || strncmp(key, "Ed", 2) == 0)
        return TLS_CERT_ECDSA;
    return TLS_CERT_ANY;
}

static model_addr_result_t addrprobe_auth_result(const addrprobe_t *p, const tls_result_t *r)
{
    switch (r->auth) {
    case TLS_AUTH_PASS:
        return MODEL_ADDR_DANE_PASS;
    case TLS_AUTH_UNAUTHENTICATED:
        /* RULES T4: a secure RRset without usable records still makes
         * TLS mandatory, unauthenticated; T5: otherwise plain opportunistic TLS */
        return p->tls_required ? MODEL_ADDR_TLS_UNAUTHENTICATED : MODEL_ADDR_TLS_ONLY;
    case TLS_AUTH_NONE:
        return MODEL_ADDR_TLS_FAILED;
    default:
        return MODEL_ADDR_DANE_FAIL;
    }
}

static void addrprobe_handshake_done(addrprobe_t *p, const tls_result_t *r)
{
    model_addr_result_t result = addrprobe_auth_result(p, r);
    const char *reason = result == MODEL_ADDR_DANE_FAIL ? tls_auth_name(r->auth) : NULL;

    if (p->conn == 1) {
        /* RULES A7: a server with one certificate may serve it to either
         * kind of client; only a different certificate is a finding */
        if (r->n_chain == 0 || strcmp(r->chain[0].cert_sha256, p->first_leaf) == 0) {
            addrprobe_trace(p, "the same certificate again");
            return;
        }
        if (addrprobe_add_handshake(p, r, result, reason) == NULL)
            addrprobe_internal(p, "handshake record");
        return;
    }
    if (addrprobe_add_handshake(p, r, result, reason) == NULL)
        addrprobe_internal(p, "handshake record");
    addrprobe_conclude(p, result, "%s", reason != NULL ? reason : "");
    /* RULES A7 (RFC 7671 §8): every certificate must match, so ask for
     * the kind the server did not prefer */
    if (p->both_certs && r->n_usable > 0 && r->n_chain > 0) {
        tls_cert_type_t leaf = addrprobe_leaf_type(r);
        if (leaf != TLS_CERT_ANY) {
            p->second = leaf == TLS_CERT_RSA ? TLS_CERT_ECDSA : TLS_CERT_RSA;
            snprintf(p->first_leaf, sizeof(p->first_leaf), "%s", r->chain[0].cert_sha256);
        }
    }
}

static void addrprobe_handshake_failed(addrprobe_t *p, const tls_result_t *r)
{
    const char *error = r != NULL ? r->error : "handshake failed";

    if (p->conn == 1 && (r == NULL || r->n_chain == 0)) {
        /* RULES A7: the server holds no certificate of this kind */
        addrprobe_trace(p, "no %s certificate: %s", tls_cert_type_name(p->cert_type), error);
        return;
    }
    if (r != NULL && addrprobe_add_handshake(p, r, MODEL_ADDR_TLS_FAILED, error) == NULL)
        addrprobe_internal(p, "handshake record");
    addrprobe_conclude(p, MODEL_ADDR_TLS_FAILED, "%s", error);
}

static bool addrprobe_step_handshake(addrprobe_t *p)
{
    switch (tls_conn_handshake(p->tls_conn)) {
    case TLS_WANT_READ:
        return addrprobe_wait(p, LOOP_READ);
    case TLS_WANT_WRITE:
        return addrprobe_wait(p, LOOP_WRITE);
    case TLS_DONE:
        p->tls_up = true;
        addrprobe_handshake_done(p, tls_conn_result(p->tls_conn));
        /* RFC 3207 §4.2: EHLO again, then QUIT, inside TLS */
        smtp_session_tls_ready(p->smtp);
        addrprobe_set_state(p, ADDRPROBE_STATE_SMTP);
        return true;
    default:
        addrprobe_handshake_failed(p, tls_conn_result(p->tls_conn));
        addrprobe_set_state(p, ADDRPROBE_STATE_CLOSED);
        return true;
    }
}

/* RULES A7: with two handshakes, each is named by its leaf's key, and
 * the address fails when either failed authentication. */
static void addrprobe_sum_up(addrprobe_t *p)
{
    model_address_t *out = p->out;
    const model_handshake_t *failed = NULL;

    if (out->n_handshakes < 2)
        return;
    for (size_t i = 0; i < out->n_handshakes; i++) {
        model_handshake_t *hs = &out->handshakes[i];
        const char *key = hs->n_chain > 0 && hs->chain[0].key_type ? hs->chain[0].key_type : "";
        const char *name = strncmp(key, "RSA", 3) == 0 ? "rsa" : "ecdsa";
        char *copy = strdup(name);

        if (copy != NULL) {
            free(hs->cert_type);
            hs->cert_type = copy;
        }
        if (failed == NULL && hs->result == MODEL_ADDR_DANE_FAIL)
            failed = hs;
    }
    if (failed != NULL && out->result == MODEL_ADDR_DANE_PASS) {
        out->result = MODEL_ADDR_DANE_FAIL;
        free(out->reason);
        out->reason = failed->reason != NULL ? strdup(failed->reason) : NULL;
        addrprobe_trace(p, "result dane-fail: the %s certificate: %s", failed->cert_type,
                        out->reason != NULL ? out->reason : "");
    }
}

static bool addrprobe_step_closed(addrprobe_t *p)
{
    addrprobe_close_conn(p);
    if (p->conn == 0 && p->second != TLS_CERT_ANY) {
        p->conn = 1;
        p->cert_type = p->second;
        addrprobe_open(p);
        return p->state != ADDRPROBE_STATE_CONNECT;
    }
    addrprobe_sum_up(p);
    addrprobe_set_state(p, ADDRPROBE_STATE_DONE);
    return true;
}

/* ------------------------------------------------------------ lifecycle */

static void addrprobe_free(addrprobe_t *p)
{
    addrprobe_close_conn(p);
    loop_timer_cancel(p->loop, p->kick);
    loop_timer_cancel(p->loop, p->deadline);
    for (size_t i = 0; i < p->n_names; i++)
        free(p->names[i]);
    free(p->names);
    free(p->tlsa);
    free(p->tlsa_data);
    free(p->base_domain);
    free(p->helo);
    free(p->label);
    free(p);
}

static void addrprobe_run(addrprobe_t *p)
{
    bool more = true;

    while (more) {
        switch (p->state) {
        case ADDRPROBE_STATE_START:
            more = addrprobe_step_start(p);
            break;
        case ADDRPROBE_STATE_CONNECT:
            more = addrprobe_step_connect(p);
            break;
        case ADDRPROBE_STATE_SMTP:
            more = addrprobe_step_smtp(p);
            break;
        case ADDRPROBE_STATE_HANDSHAKE:
            more = addrprobe_step_handshake(p);
            break;
        case ADDRPROBE_STATE_CLOSED:
            more = addrprobe_step_closed(p);
            break;
        case ADDRPROBE_STATE_DONE:
        case ADDRPROBE_STATE_COUNT: {
            /* freed first: done may start probes that reuse the fd number */
            addrprobe_done_t done = p->done;
            void *arg = p->done_arg;
            addrprobe_free(p);
            done(arg);
            return;
        }
        }
        /* the SMTP machine moves on its own: follow it */
        addrprobe_set_phase(p, addrprobe_phase_now(p));
    }
}

static void addrprobe_on_kick(loop_t *loop, void *arg)
{
    addrprobe_t *p = arg;

    (void)loop;
    p->kick = NULL;
    addrprobe_run(p);
}

static void addrprobe_on_deadline(loop_t *loop, void *arg)
{
    addrprobe_t *p = arg;

    const char *text = "";
    smtp_error_t err = p->smtp != NULL ? smtp_session_error(p->smtp, &text) : SMTP_OK;

    (void)loop;
    p->deadline = NULL;
    if (err != SMTP_OK)
        /* a refusal said before a QUIT that went unanswered: the refusal counts */
        addrprobe_smtp_failed(p, err, text);
    else if (p->conn == 0 && !p->decided)
        addrprobe_conclude(p, MODEL_ADDR_TIMEOUT, "%s", addrprobe_phase_names[p->phase]);
    else
        addrprobe_conclude(p, MODEL_ADDR_TIMEOUT, "timeout in %s", addrprobe_phase_names[p->phase]);
    addrprobe_set_state(p, ADDRPROBE_STATE_CLOSED);
    addrprobe_run(p);
}

/* The address as a sockaddr, and its presentation form into canonical
 * (INET6_ADDRSTRLEN bytes); false when it is not an IP literal. */
static bool addrprobe_sockaddr(addrprobe_t *p, const char *address, int port, char *canonical)
{
    struct sockaddr_in *sin = (struct sockaddr_in *)&p->sa;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&p->sa;

    memset(&p->sa, 0, sizeof(p->sa));
    if (inet_pton(AF_INET, address, &sin->sin_addr) == 1) {
        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t)port);
        p->sa_len = sizeof(*sin);
        return inet_ntop(AF_INET, &sin->sin_addr, canonical, INET6_ADDRSTRLEN) != NULL;
    }
    if (inet_pton(AF_INET6, address, &sin6->sin6_addr) == 1) {
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t)port);
        p->sa_len = sizeof(*sin6);
        return inet_ntop(AF_INET6, &sin6->sin6_addr, canonical, INET6_ADDRSTRLEN) != NULL;
    }
    return false;
}

static bool addrprobe_copy_tlsa(addrprobe_t *p, const tlsa_record_t *tlsa, size_t n)
{
    size_t total = 0, off = 0;

    if (n == 0)
        return true;
    for (size_t i = 0; i < n; i++)
        total += tlsa[i].data_len;
    p->tlsa = calloc(n, sizeof(*p->tlsa));
    p->tlsa_data = malloc(total > 0 ? total : 1);
    if (p->tlsa == NULL || p->tlsa_data == NULL)
        return false;
    for (size_t i = 0; i < n; i++) {
        p->tlsa[i] = tlsa[i];
        p->tlsa[i].data = p->tlsa_data + off;
        if (tlsa[i].data_len > 0)
            memcpy(p->tlsa_data + off, tlsa[i].data, tlsa[i].data_len);
        off += tlsa[i].data_len;
    }
    p->n_tlsa = n;
    return true;
}

static bool addrprobe_copy_names(addrprobe_t *p, const char *const *names, size_t n)
{
    if (n == 0)
        return true;
    p->names = calloc(n, sizeof(*p->names));
    if (p->names == NULL)
        return false;
    for (size_t i = 0; i < n; i++) {
        if ((p->names[i] = strdup(names[i])) == NULL)
            return false;
        p->n_names = i + 1;
    }
    return true;
}

addrprobe_t *addrprobe_start(loop_t *loop, tls_ctx_t *tls, const addrprobe_params_t *params,
                             model_address_t *out, addrprobe_done_t done, void *arg)
{
    addrprobe_t *p;
    char canonical[INET6_ADDRSTRLEN];
    char *address = NULL;

    if (params->address == NULL || params->helo == NULL || !smtp_helo_valid(params->helo) ||
        params->port < 1 || params->port > 65535 || params->base_domain == NULL ||
        params->base_domain[0] == '\0' || params->timeout_ms <= 0 || done == NULL)
        return NULL;
    p = calloc(1, sizeof(*p));
    if (p == NULL)
        return NULL;
    p->loop = loop;
    p->tls = tls;
    p->out = out;
    p->done = done;
    p->done_arg = arg;
    p->fd = -1;
    p->allow_private = params->allow_private;
    p->tls_required = params->tls_required;
    p->both_certs = params->both_certs;
    p->timeout_ms = params->timeout_ms;
    p->at = params->at;
    p->trace = params->trace;
    p->trace_arg = params->trace_arg;
    p->cert_type = TLS_CERT_ANY;
    p->second = TLS_CERT_ANY;
    if (!addrprobe_sockaddr(p, params->address, params->port, canonical))
        goto fail;
    p->label = strdup(canonical);
    p->helo = strdup(params->helo);
    p->base_domain = strdup(params->base_domain);
    if (p->label == NULL || p->helo == NULL || p->base_domain == NULL ||
        !addrprobe_copy_tlsa(p, params->tlsa, params->n_tlsa) ||
        !addrprobe_copy_names(p, params->names, params->n_names))
        goto fail;
    if (out->address == NULL && (address = strdup(canonical)) == NULL)
        goto fail;
    /* done must never run inside this call: start from the loop */
    p->kick = loop_timer_add(loop, 0, addrprobe_on_kick, p);
    if (p->kick == NULL)
        goto fail;
    if (address == NULL)
        address = out->address;
    memset(out, 0, sizeof(*out));
    out->address = address;
    out->result = MODEL_ADDR_SKIPPED;
    return p;

fail:
    free(address);
    addrprobe_free(p);
    return NULL;
}

void addrprobe_cancel(addrprobe_t *p)
{
    model_address_t *out;

    if (p == NULL)
        return;
    out = p->out;
    addrprobe_trace(p, "cancelled in state %s", addrprobe_state_names[p->state]);
    if (p->state != ADDRPROBE_STATE_DONE) {
        free(out->reason);
        out->result = MODEL_ADDR_SKIPPED;
        out->reason = strdup("cancelled");
    }
    addrprobe_free(p);
}
