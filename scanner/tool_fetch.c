/* tool_fetch.c - one blocking STARTTLS dialogue to read a server's chain.
 *
 * probes/smtp's machine says what it wants; this driver does it on a
 * non-blocking socket and waits with poll() until the phase's deadline.
 * The phase is the SMTP machine's state (plus connect and handshake),
 * and every change of it starts a new deadline.
 */
#include "tool_fetch.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "addrguard.h"
#include "smtp.h"
#include "tls.h"

typedef struct {
    const tool_fetch_params_t *p;
    const char *label;          /* "ADDRESS:PORT", for messages */
    int fd;
    SSL_CTX *ctx;
    SSL *ssl;
    smtp_session_t *smtp;
    const char *phase;
    double deadline;            /* monotonic ms */
    STACK_OF(X509) *chain;      /* once the handshake is done */
    char *err;
    size_t errlen;
} fetch_t;

__attribute__((format(printf, 2, 3)))
static void fetch_fail(fetch_t *f, const char *fmt, ...)
{
    char text[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    snprintf(f->err, f->errlen, "%s: %s", f->label, text);
}

static double fetch_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* The only writer of f->phase: a new phase gets a fresh deadline. */
static void fetch_set_phase(fetch_t *f, const char *phase)
{
    if (f->phase != NULL && strcmp(f->phase, phase) == 0)
        return;
    f->phase = phase;
    f->deadline = fetch_now_ms() + f->p->timeout_ms;
}

/* Wait for events on the socket until the phase's deadline: 0, or -1
 * with the reason in f->err. */
static int fetch_wait(fetch_t *f, short events)
{
    for (;;) {
        double left = f->deadline - fetch_now_ms();
        struct pollfd pfd = {.fd = f->fd, .events = events};
        int n;

        if (left <= 0) {
            fetch_fail(f, "timeout in the %s phase (%d s)", f->phase, f->p->timeout_ms / 1000);
            return -1;
        }
        n = poll(&pfd, 1, (int)left + 1);
        if (n > 0)
            return 0;
        if (n < 0 && errno != EINTR) {
            fetch_fail(f, "poll: %s", strerror(errno));
            return -1;
        }
    }
}

static void fetch_ssl_error(fetch_t *f, const char *what)
{
    unsigned long e = ERR_get_error();
    char text[256];

    if (e != 0)
        ERR_error_string_n(e, text, sizeof(text));
    else
        snprintf(text, sizeof(text), "%s", errno != 0 ? strerror(errno) : "connection closed");
    ERR_clear_error();
    fetch_fail(f, "%s: %s", what, text);
}

static int fetch_connect(fetch_t *f, const struct sockaddr *sa, socklen_t len)
{
    int err = 0;
    socklen_t elen = sizeof(err);

    fetch_set_phase(f, "connect");
    f->fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (f->fd < 0) {
        fetch_fail(f, "socket: %s", strerror(errno));
        return -1;
    }
    if (connect(f->fd, sa, len) == 0)
        return 0;
    if (errno != EINPROGRESS) {
        fetch_fail(f, "connect: %s", strerror(errno));
        return -1;
    }
    if (fetch_wait(f, POLLOUT) != 0)
        return -1;
    if (getsockopt(f->fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0)
        err = errno;
    if (err != 0) {
        fetch_fail(f, "connect: %s", strerror(err));
        return -1;
    }
    return 0;
}

/* The SMTP machine's turn to read: 0, or -1 when the driver must stop. */
static int fetch_read(fetch_t *f)
{
    uint8_t buf[SMTP_IN_CAP];

    for (;;) {
        if (f->ssl != NULL) {
            int n = SSL_read(f->ssl, buf, (int)sizeof(buf));
            if (n > 0) {
                smtp_session_input(f->smtp, buf, (size_t)n);
                return 0;
            }
            switch (SSL_get_error(f->ssl, n)) {
            case SSL_ERROR_WANT_READ:
                if (fetch_wait(f, POLLIN) != 0)
                    return -1;
                continue;
            case SSL_ERROR_WANT_WRITE:
                if (fetch_wait(f, POLLOUT) != 0)
                    return -1;
                continue;
            default:
                ERR_clear_error();
                smtp_session_eof(f->smtp);
                return 0;
            }
        }
        ssize_t got = recv(f->fd, buf, sizeof(buf), 0);
        if (got > 0) {
            smtp_session_input(f->smtp, buf, (size_t)got);
            return 0;
        }
        if (got == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
            smtp_session_eof(f->smtp);
            return 0;
        }
        if (fetch_wait(f, POLLIN) != 0)
            return -1;
    }
}

static int fetch_write(fetch_t *f)
{
    size_t len;
    const uint8_t *data = smtp_session_pending(f->smtp, &len);

    for (;;) {
        if (f->ssl != NULL) {
            int n = SSL_write(f->ssl, data, (int)len);
            if (n > 0) {
                smtp_session_sent(f->smtp, (size_t)n);
                return 0;
            }
            int e = SSL_get_error(f->ssl, n);
            if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
                if (fetch_wait(f, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT) != 0)
                    return -1;
                continue;
            }
            ERR_clear_error();
            smtp_session_eof(f->smtp);
            return 0;
        }
        /* MSG_NOSIGNAL: a peer that reset must not kill the command */
        ssize_t sent = send(f->fd, data, len, MSG_NOSIGNAL);
        if (sent >= 0) {
            smtp_session_sent(f->smtp, (size_t)sent);
            return 0;
        }
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            smtp_session_eof(f->smtp);
            return 0;
        }
        if (fetch_wait(f, POLLOUT) != 0)
            return -1;
    }
}

/* SMTP_WANT_TLS: the server said 220 to STARTTLS. */
static int fetch_handshake(fetch_t *f)
{
    uint8_t buf[SMTP_IN_CAP];
    STACK_OF(X509) *peer;

    /* RFC 3207 §4.2, CVE-2011-0411: bytes already here came in the clear
     * after the 220; the SMTP machine fails them as an injection */
    ssize_t got = recv(f->fd, buf, sizeof(buf), MSG_DONTWAIT);
    if (got > 0) {
        smtp_session_input(f->smtp, buf, (size_t)got);
        return 0;
    }
    if (got == 0) {
        smtp_session_eof(f->smtp);
        return 0;
    }
    fetch_set_phase(f, "handshake");
    f->ssl = SSL_new(f->ctx);
    if (f->ssl == NULL || SSL_set_fd(f->ssl, f->fd) != 1 ||
        (f->p->sni != NULL && SSL_set_tlsext_host_name(f->ssl, f->p->sni) != 1)) {
        fetch_ssl_error(f, "TLS setup");
        return -1;
    }
    for (;;) {
        int n = SSL_connect(f->ssl);
        if (n == 1)
            break;
        int e = SSL_get_error(f->ssl, n);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
            if (fetch_wait(f, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT) != 0)
                return -1;
            continue;
        }
        fetch_ssl_error(f, "TLS handshake");
        return -1;
    }
    /* the client's view includes the leaf, first */
    peer = SSL_get_peer_cert_chain(f->ssl);
    if (peer == NULL || sk_X509_num(peer) == 0) {
        fetch_fail(f, "the server sent no certificate");
        return -1;
    }
    if ((f->chain = sk_X509_new_null()) == NULL) {
        fetch_fail(f, "out of memory");
        return -1;
    }
    for (int i = 0; i < sk_X509_num(peer); i++) {
        X509 *x = sk_X509_value(peer, i);
        if (sk_X509_push(f->chain, x) <= 0) {
            fetch_fail(f, "out of memory");
            return -1;
        }
        X509_up_ref(x);
    }
    smtp_session_tls_ready(f->smtp);
    return 0;
}

static const char *fetch_smtp_phase(const fetch_t *f)
{
    return smtp_state_name(smtp_session_state(f->smtp));
}

/* One address, the whole dialogue: 0 when the chain was read. */
static int fetch_one(fetch_t *f, const struct sockaddr *sa, socklen_t len)
{
    const char *reason;
    smtp_error_t e;
    int rc = 0;

    if (fetch_connect(f, sa, len) != 0)
        return -1;
    if ((f->smtp = smtp_session_new(f->p->helo)) == NULL) {
        fetch_fail(f, "out of memory");
        return -1;
    }
    while (rc == 0) {
        fetch_set_phase(f, fetch_smtp_phase(f));
        switch (smtp_session_want(f->smtp)) {
        case SMTP_WANT_READ:
            rc = fetch_read(f);
            break;
        case SMTP_WANT_WRITE:
            rc = fetch_write(f);
            break;
        case SMTP_WANT_TLS:
            rc = fetch_handshake(f);
            break;
        case SMTP_WANT_CLOSE:
            goto closed;
        }
    }
closed:
    /* what happens after the handshake (EHLO, QUIT) does not take the
     * chain away */
    if (f->chain != NULL)
        return 0;
    if (rc != 0)
        return -1;
    e = smtp_session_error(f->smtp, &reason);
    if (e == SMTP_ERR_NO_STARTTLS)
        fetch_fail(f, "the server does not offer STARTTLS (%s)", reason);
    else
        fetch_fail(f, "%s: %s", smtp_error_name(e), reason);
    return -1;
}

static void fetch_close(fetch_t *f)
{
    if (f->ssl != NULL) {
        SSL_free(f->ssl);
        f->ssl = NULL;
    }
    smtp_session_free(f->smtp);
    f->smtp = NULL;
    if (f->fd >= 0)
        close(f->fd);
    f->fd = -1;
    f->phase = NULL;
}

static SSL_CTX *fetch_ctx_new(void)
{
    SSL_CTX *c = SSL_CTX_new(TLS_client_method());

    if (c == NULL)
        return NULL;
    /* as probes/tls: TLS 1.0 and up, the security level decides; the
     * chain is only read here, never trusted, so nothing is verified */
    SSL_CTX_set_min_proto_version(c, TLS1_VERSION);
    SSL_CTX_set_options(c, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_TICKET | SSL_OP_NO_COMPRESSION);
    SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
    /* DESIGN.md limits: a Certificate message over 100 KiB is refused */
    SSL_CTX_set_max_cert_list(c, TLS_CHAIN_BYTES_MAX);
    SSL_CTX_set_verify(c, SSL_VERIFY_NONE, NULL);
    return c;
}

tool_fetch_status_t tool_fetch_chain(const tool_fetch_params_t *p, STACK_OF(X509) **chain,
                                     char *address, size_t address_len, char *err,
                                     size_t errlen)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    char port[8], label[INET6_ADDRSTRLEN + 16], host[INET6_ADDRSTRLEN];
    const char *range = NULL;
    bool tried = false;
    tool_fetch_status_t st = TOOL_FETCH_FAILED;
    fetch_t f = {.p = p, .fd = -1, .err = err, .errlen = errlen};
    int gai;

    *chain = NULL;
    snprintf(err, errlen, "%s: no usable address", p->host);
    snprintf(port, sizeof(port), "%d", p->port);
    if ((gai = getaddrinfo(p->host, port, &hints, &res)) != 0) {
        snprintf(err, errlen, "%s: %s", p->host, gai_strerror(gai));
        return TOOL_FETCH_FAILED;
    }
    if ((f.ctx = fetch_ctx_new()) == NULL) {
        snprintf(err, errlen, "cannot set up TLS");
        goto done;
    }
    for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
        if (getnameinfo(ai->ai_addr, ai->ai_addrlen, host, sizeof(host), NULL, 0,
                        NI_NUMERICHOST) != 0)
            continue;
        /* DESIGN.md private-address guard: decided before any packet */
        if (!p->allow_private && addrguard_check(ai->ai_addr, &range) == ADDRGUARD_BLOCKED) {
            if (!tried)
                snprintf(err, errlen, "%s (%s) is %s: the private-address guard refuses it "
                         "(--allow-private lifts that)", p->host, host, range);
            continue;
        }
        snprintf(label, sizeof(label), ai->ai_family == AF_INET6 ? "[%s]:%s" : "%s:%s", host, port);
        f.label = label;
        tried = true;
        if (fetch_one(&f, ai->ai_addr, ai->ai_addrlen) == 0) {
            snprintf(address, address_len, "%s", host);
            *chain = f.chain;
            f.chain = NULL;
            st = TOOL_FETCH_OK;
            fetch_close(&f);
            break;
        }
        sk_X509_pop_free(f.chain, X509_free);
        f.chain = NULL;
        fetch_close(&f);
    }
    if (st != TOOL_FETCH_OK && !tried)
        st = TOOL_FETCH_BLOCKED;
done:
    SSL_CTX_free(f.ctx);
    freeaddrinfo(res);
    return st;
}
