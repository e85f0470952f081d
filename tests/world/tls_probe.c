/* tls_probe.c - test driver for probes/tls: one SMTP STARTTLS handshake
 * against a fixture-world listener, printed as one JSON object.
 *
 * The SMTP part is deliberately naive and blocking (banner, EHLO,
 * STARTTLS); the TLS part runs the real non-blocking tls_conn_* loop
 * with poll(), then speaks EHLO and QUIT over TLS through
 * tls_conn_write/tls_conn_read.  For tests only.
 *
 *   tls_probe [--port N] [--base NAME] [--name NAME]... [--tlsa "U S M HEX"]...
 *             [--cert any|ecdsa|rsa] [--at EPOCH] [--timeout S] [-v] ADDRESS
 */
#include "tls.h"
#include "tlsa.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PROBE_NAMES_MAX 4
#define PROBE_TLSA_MAX 16
#define PROBE_REPLY_MAX 8192

typedef struct {
    const char *address;
    const char *port;
    const char *helo;
    tls_params_t params;
    const char *names[PROBE_NAMES_MAX];
    tlsa_record_t tlsa[PROBE_TLSA_MAX];
    uint8_t rdata[PROBE_TLSA_MAX][3 + 512];
    int timeout;
    bool verbose;
} probe_opts_t;

/* The one-line outcome when the dialogue never reaches TLS. */
static int probe_stop(const char *status, const char *reason)
{
    printf("{\"status\": \"%s\", \"error\": \"%s\"}\n", status, reason);
    return 2;
}

static void probe_json_str(const char *key, const char *value, bool comma)
{
    printf("\"%s\": \"", key);
    for (const char *p = value; *p != '\0'; p++) {
        if (*p == '"' || *p == '\\')
            putchar('\\');
        putchar(*p);
    }
    printf("\"%s", comma ? ", " : "");
}

static int probe_hex_nibble(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* "U S M HEX" into RDATA, parsed back by the code under test. */
static bool probe_add_tlsa(probe_opts_t *o, const char *text)
{
    size_t i = o->params.n_tlsa;
    unsigned u, s, m;
    int off = 0;
    size_t len = 3;
    const char *hex;

    if (i >= PROBE_TLSA_MAX || sscanf(text, "%u %u %u %n", &u, &s, &m, &off) != 3 || u > 255 ||
        s > 255 || m > 255)
        return false;
    o->rdata[i][0] = (uint8_t)u;
    o->rdata[i][1] = (uint8_t)s;
    o->rdata[i][2] = (uint8_t)m;
    for (hex = text + off; hex[0] != '\0' && hex[1] != '\0'; hex += 2) {
        int hi = probe_hex_nibble(hex[0]), lo = probe_hex_nibble(hex[1]);
        if (hi < 0 || lo < 0 || len >= sizeof(o->rdata[i]))
            return false;
        o->rdata[i][len++] = (uint8_t)(hi << 4 | lo);
    }
    if (hex[0] != '\0' || tlsa_record_parse(o->rdata[i], len, &o->tlsa[i]) != TLSA_OK)
        return false;
    o->params.n_tlsa++;
    return true;
}

static void probe_trace(void *arg, const char *line)
{
    (void)arg;
    fprintf(stderr, "%s\n", line);
}

static int probe_usage(void)
{
    fprintf(stderr, "usage: tls_probe [--port N] [--base NAME] [--name NAME]... "
                    "[--tlsa \"U S M HEX\"]... [--cert any|ecdsa|rsa] [--at EPOCH] "
                    "[--timeout S] [-v] ADDRESS\n");
    return 3;
}

static int probe_options(probe_opts_t *o, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"port", required_argument, NULL, 'p'}, {"base", required_argument, NULL, 'b'},
        {"name", required_argument, NULL, 'n'}, {"tlsa", required_argument, NULL, 't'},
        {"cert", required_argument, NULL, 'c'}, {"at", required_argument, NULL, 'a'},
        {"timeout", required_argument, NULL, 'T'}, {"helo", required_argument, NULL, 'H'},
        {"verbose", no_argument, NULL, 'v'}, {NULL, 0, NULL, 0},
    };
    int c;

    memset(o, 0, sizeof(*o));
    o->port = "25";
    o->helo = "tls-probe.test";
    o->timeout = 10;
    o->params.base_domain = "localhost";
    o->params.names = o->names;
    o->params.tlsa = o->tlsa;
    while ((c = getopt_long(argc, argv, "v", longopts, NULL)) != -1) {
        switch (c) {
        case 'p':
            o->port = optarg;
            break;
        case 'b':
            o->params.base_domain = optarg;
            break;
        case 'n':
            if (o->params.n_names >= PROBE_NAMES_MAX)
                return probe_usage();
            o->names[o->params.n_names++] = optarg;
            break;
        case 't':
            if (!probe_add_tlsa(o, optarg)) {
                fprintf(stderr, "tls_probe: bad --tlsa \"%s\"\n", optarg);
                return 3;
            }
            break;
        case 'c':
            if (strcmp(optarg, "any") == 0)
                o->params.cert_type = TLS_CERT_ANY;
            else if (strcmp(optarg, "ecdsa") == 0)
                o->params.cert_type = TLS_CERT_ECDSA;
            else if (strcmp(optarg, "rsa") == 0)
                o->params.cert_type = TLS_CERT_RSA;
            else
                return probe_usage();
            break;
        case 'a':
            o->params.at = (time_t)strtoll(optarg, NULL, 10);
            break;
        case 'T':
            o->timeout = atoi(optarg);
            break;
        case 'H':
            o->helo = optarg;
            break;
        case 'v':
            o->verbose = true;
            o->params.trace = probe_trace;
            break;
        default:
            return probe_usage();
        }
    }
    if (optind + 1 != argc)
        return probe_usage();
    o->address = argv[optind];
    return 0;
}

static int probe_connect(const probe_opts_t *o)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICHOST};
    struct addrinfo *ai = NULL;
    struct timeval tv = {.tv_sec = o->timeout};
    int fd = -1;

    if (getaddrinfo(o->address, o->port, &hints, &ai) != 0)
        return -1;
    fd = socket(ai->ai_family, SOCK_STREAM, 0);
    if (fd >= 0 && (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
                    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0 ||
                    connect(fd, ai->ai_addr, ai->ai_addrlen) != 0)) {
        close(fd);
        fd = -1;
    }
    freeaddrinfo(ai);
    return fd;
}

/* Read one whole SMTP reply (blocking); returns its code, or -1.  Bytes
 * after the reply's last line are counted in *extra. */
static int probe_reply(int fd, char *buf, size_t cap, size_t *extra, size_t *reply_len)
{
    size_t len = 0;

    for (;;) {
        ssize_t n;
        char *line = buf;
        char *eol;

        /* By length, not as strings: servers send NUL bytes too. */
        while ((eol = memmem(line, len - (size_t)(line - buf), "\r\n", 2)) != NULL) {
            if (eol - line >= 4 && line[3] == ' ') {
                *reply_len = (size_t)(eol + 2 - buf);
                *extra = len - *reply_len;
                return atoi(line);
            }
            if (eol - line < 4 || line[3] != '-')
                return -1;
            line = eol + 2;
        }
        if (len >= cap)
            return -1;
        n = recv(fd, buf + len, cap - len, 0);
        if (n <= 0)
            return -1;
        len += (size_t)n;
    }
}

static bool probe_send(int fd, const char *text)
{
    size_t len = strlen(text);
    return send(fd, text, len, MSG_NOSIGNAL) == (ssize_t)len;
}

static bool probe_wait(int fd, tls_status_t want, time_t deadline)
{
    struct pollfd p = {.fd = fd, .events = want == TLS_WANT_WRITE ? POLLOUT : POLLIN};
    time_t left = deadline - time(NULL);

    return left > 0 && poll(&p, 1, (int)left * 1000) == 1;
}

/* Send a command and read the reply's code over TLS, the loop's way. */
static int probe_tls_command(tls_conn_t *conn, int fd, const char *cmd, time_t deadline)
{
    char buf[PROBE_REPLY_MAX];
    size_t len = 0, sent = 0;

    while (sent < strlen(cmd)) {
        size_t moved;
        tls_status_t st = tls_conn_write(conn, cmd + sent, strlen(cmd) - sent, &moved);
        if (st == TLS_OK)
            sent += moved;
        else if ((st != TLS_WANT_READ && st != TLS_WANT_WRITE) || !probe_wait(fd, st, deadline))
            return -1;
    }
    for (;;) {
        size_t moved;
        tls_status_t st;
        char *line = buf;
        char *eol;

        while ((eol = memmem(line, len - (size_t)(line - buf), "\r\n", 2)) != NULL) {
            if (eol - line >= 4 && line[3] == ' ')
                return atoi(line);
            line = eol + 2;
        }
        if (len >= sizeof(buf))
            return -1;
        st = tls_conn_read(conn, buf + len, sizeof(buf) - len, &moved);
        if (st == TLS_OK)
            len += moved;
        else if ((st != TLS_WANT_READ && st != TLS_WANT_WRITE) || !probe_wait(fd, st, deadline))
            return -1;
    }
}

static void probe_print(const tls_result_t *r, tls_status_t status, int ehlo, int quit)
{
    char matched[16] = "";
    const char *tlsrpt = tls_auth_tlsrpt(r->auth);

    if (r->auth == TLS_AUTH_PASS)
        snprintf(matched, sizeof(matched), "%u %u %u", r->matched.usage, r->matched.selector,
                 r->matched.mtype);
    printf("{");
    probe_json_str("status", status == TLS_DONE ? "done" : "tls-failed", true);
    probe_json_str("auth", tls_auth_name(r->auth), true);
    probe_json_str("tlsrpt", tlsrpt != NULL ? tlsrpt : "", true);
    printf("\"n_usable\": %zu, \"verify_error\": %ld, ", r->n_usable, r->verify_error);
    probe_json_str("verify_text", r->verify_text, true);
    probe_json_str("matched", matched, true);
    printf("\"depth\": %d, \"matched_len\": %zu, ", r->matched_depth, r->matched.data_len);
    probe_json_str("version", r->version, true);
    probe_json_str("cipher", r->cipher, true);
    probe_json_str("group", r->group, true);
    printf("\"chain_total\": %zu, \"chain_bytes\": %zu, \"leaf_days_left\": %ld, ", r->chain_total,
           r->chain_bytes, r->leaf_days_left);
    printf("\"ehlo_tls\": %d, \"quit_tls\": %d, ", ehlo, quit);
    probe_json_str("error", r->error, true);
    printf("\"chain\": [");
    for (size_t i = 0; i < r->n_chain; i++) {
        const tls_cert_info_t *c = &r->chain[i];

        printf("%s{", i > 0 ? ", " : "");
        probe_json_str("subject", c->subject, true);
        probe_json_str("issuer", c->issuer, true);
        printf("\"sans\": [");
        for (size_t s = 0; s < c->n_sans; s++)
            printf("%s\"%s\"", s > 0 ? ", " : "", c->sans[s]);
        printf("], \"n_sans_total\": %zu, ", c->n_sans_total);
        probe_json_str("not_before", c->not_before, true);
        probe_json_str("not_after", c->not_after, true);
        probe_json_str("key_type", c->key_type, true);
        printf("\"key_bits\": %d, \"der_len\": %zu, ", c->key_bits, c->der_len);
        probe_json_str("spki_sha256", c->spki_sha256, true);
        probe_json_str("cert_sha256", c->cert_sha256, false);
        printf("}");
    }
    printf("]}\n");
}

int main(int argc, char **argv)
{
    static probe_opts_t o;
    char buf[PROBE_REPLY_MAX];
    char why[TLS_ERROR_MAX] = "";
    char ehlo[300];
    size_t extra = 0, len = 0;
    tls_ctx_t *ctx = NULL;
    tls_conn_t *conn = NULL;
    tls_status_t st;
    time_t deadline;
    int fd, rc = 2, ehlo_code = -1, quit_code = -1;

    if ((rc = probe_options(&o, argc, argv)) != 0)
        return rc;
    rc = 2;
    fd = probe_connect(&o);
    if (fd < 0)
        return probe_stop("connect-failed", strerror(errno));
    snprintf(ehlo, sizeof(ehlo), "EHLO %s\r\n", o.helo);
    if (probe_reply(fd, buf, sizeof(buf), &extra, &len) != 220 || !probe_send(fd, ehlo) ||
        probe_reply(fd, buf, sizeof(buf), &extra, &len) != 250 ||
        memmem(buf, len, "STARTTLS", 8) == NULL || !probe_send(fd, "STARTTLS\r\n") ||
        probe_reply(fd, buf, sizeof(buf), &extra, &len) != 220) {
        close(fd);
        return probe_stop("smtp-error", "banner, EHLO or STARTTLS failed");
    }
    /* DESIGN.md: plaintext after the STARTTLS 220 is an injection. */
    if (extra > 0) {
        close(fd);
        return probe_stop("tls-failed", "starttls-injection");
    }
    if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) != 0)
        goto done;
    ctx = tls_ctx_new(why, sizeof(why));
    if (ctx == NULL) {
        fprintf(stderr, "tls_probe: tls_ctx_new: %s\n", why);
        goto done;
    }
    conn = tls_conn_new(ctx, fd, &o.params, why, sizeof(why));
    if (conn == NULL) {
        fprintf(stderr, "tls_probe: tls_conn_new: %s\n", why);
        goto done;
    }
    deadline = time(NULL) + o.timeout;
    while ((st = tls_conn_handshake(conn)) == TLS_WANT_READ || st == TLS_WANT_WRITE) {
        if (!probe_wait(fd, st, deadline)) {
            probe_stop("timeout", "handshake");
            goto done;
        }
    }
    if (st == TLS_DONE) {
        ehlo_code = probe_tls_command(conn, fd, ehlo, deadline);
        quit_code = probe_tls_command(conn, fd, "QUIT\r\n", deadline);
    }
    probe_print(tls_conn_result(conn), st, ehlo_code, quit_code);
    rc = st == TLS_DONE ? 0 : 1;
done:
    tls_conn_free(conn);
    tls_ctx_free(ctx);
    close(fd);
    return rc;
}
