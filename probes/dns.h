/* dns.h - DNS transport: many queries in flight through c-ares, driven by
 * the caller's event loop.
 *
 * Queries are built with ldns (EDNS0, 1232-byte payload, DO=1, CD as
 * configured) and sent raw with ares_send; c-ares retries, fails over to
 * the next server and falls back to TCP on truncation.  Answers are parsed back
 * into ldns packets and checked against the question before the callback
 * sees them.
 *
 * The module never blocks and knows nothing of the loop: it reports the
 * sockets it wants watched through dns_io_t, and the caller reports
 * readiness (dns_client_process_fd) and time (dns_client_process_timeouts
 * at dns_client_timeout_ms).  Callbacks run only from those two calls
 * (and, with DNS_ERR_CANCELLED, from dns_client_free), so
 * re-arm the timer from dns_client_timeout_ms after every call into the
 * module, dns_query included: a query that fails at once is reported on
 * the next dns_client_process_timeouts (the timeout is then 0).  A
 * callback may call dns_query and dns_client_free; the watch function
 * must do neither.  Call ares_library_init once per program before the
 * first client (c-ares 1.18 needs it only on Windows).
 */
#ifndef DANESCAN_DNS_H
#define DANESCAN_DNS_H

#include <stdbool.h>
#include <stddef.h>

#include <ldns/ldns.h>

typedef struct dns_client dns_client_t;

typedef struct {
    /* watch fd for reading and/or writing; both false: stop watching */
    void (*watch)(void *arg, int fd, bool readable, bool writable);
    void *arg;
} dns_io_t;

typedef struct {
    const char *servers;    /* "ADDR[:PORT][,ADDR[:PORT]...]"; NULL: /etc/resolv.conf */
    int timeout_ms;         /* first try; c-ares backs off (default 2000) */
    int tries;              /* per server (default 3) */
    bool cd;                /* checking disabled: we validate ourselves */
    int max_in_flight;      /* on the wire at once, more wait in order (default 128);
                               a query's timeout starts when it is sent */
} dns_config_t;

typedef enum {
    DNS_OK,                 /* an answer (any rcode: NOERROR, NXDOMAIN, SERVFAIL...) */
    DNS_ERR_TIMEOUT,
    DNS_ERR_REFUSED,        /* connection refused / unreachable */
    DNS_ERR_MALFORMED,      /* unparsable, or not an answer to our question */
    DNS_ERR_CANCELLED,      /* dns_client_free with the query in flight */
    DNS_ERR_NOMEM,
    DNS_ERR_OTHER,
} dns_status_t;

const char *dns_status_name(dns_status_t status);

/* answer is the caller's to free (ldns_pkt_free); NULL unless DNS_OK. */
typedef void (*dns_callback_t)(void *arg, dns_status_t status, ldns_pkt *answer);

/* A copy of an answer (the caller's), NULL when memory runs out.  Use it
 * rather than ldns_pkt_clone, which does not check its allocations. */
ldns_pkt *dns_answer_copy(const ldns_pkt *answer);

/* The longest why dns_client_why gives (NUL included). */
#define DNS_WHY_MAX 192

/* NULL with a reason in err when the configuration is unusable. */
dns_client_t *dns_client_new(const dns_config_t *config, const dns_io_t *io,
                             char *err, size_t errlen);
/* Every query whose callback has not run yet (queued, in flight, or
 * answered but not delivered) is cancelled: its callback runs with
 * DNS_ERR_CANCELLED before this returns.  Also callable from a callback. */
void dns_client_free(dns_client_t *client);

/* Send one query (name absolute).  The callback runs exactly once, never
 * from inside dns_query itself.  -1 (and no callback) when the query
 * cannot be built or queued: a relative or over-long name, no memory,
 * 65536 queries already pending, or the client being freed. */
int dns_query(dns_client_t *client, const ldns_rdf *name, ldns_rr_type type,
              dns_callback_t cb, void *arg);

void dns_client_process_fd(dns_client_t *client, int fd, bool readable, bool writable);
/* Milliseconds until dns_client_process_timeouts is due (0 while callbacks
 * wait to run); -1: nothing pending. */
long dns_client_timeout_ms(dns_client_t *client);
void dns_client_process_timeouts(dns_client_t *client);

/* Inside a callback with DNS_ERR_MALFORMED: what was wrong with the
 * answer ("2 OPT records, ...", "unparsable answer: ..."); "" otherwise.
 * Borrowed, valid until the callback returns. */
const char *dns_client_why(const dns_client_t *client);

/* Queries sent, and answers (DNS_OK) delivered, so far (for benchmarks). */
size_t dns_client_queries(const dns_client_t *client);
size_t dns_client_answers(const dns_client_t *client);

#endif
