/* runner.h - what every scanning command sets up once and runs: the
 * event loop, the DNS client joined to it, trust anchors and the DNSSEC
 * cache, the TLS context, the lookup context and the scan configuration;
 * and the scheduler that keeps up to `concurrency` domains in flight,
 * pulling names from the caller and handing back finished results.
 *
 * danescan and check_dane share it: they differ in where the names come
 * from and what is done with the results, not in how a domain is scanned.
 *
 *     runner_new(&config, &runner, err, sizeof(err));
 *     runner_check_resolver(runner, on_resolver, arg);    optional
 *     runner_run(runner, next_domain, on_result, arg, deadline_ms);
 *     runner_free(runner);
 */
#ifndef DANESCAN_RUNNER_H
#define DANESCAN_RUNNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "model.h"

/* Debian's copy of the IANA root trust anchor (package dns-root-data). */
#define RUNNER_ROOT_KEY "/usr/share/dns/root.key"

typedef struct {
    const char *resolver;       /* "ADDR[:PORT][,...]"; NULL: /etc/resolv.conf */
    const char *trust_anchor;   /* NULL: RUNNER_ROOT_KEY when readable, else the
                                   built-in IANA root DS */
    bool trust_ad;              /* trust the AD bit of a loopback resolver */
    const char *helo;           /* NULL: this host's name when it is a valid
                                   FQDN, else "danescan.invalid" */
    int port;                   /* SMTP port; 0: 25 */
    int timeout_ms;             /* each SMTP/TLS phase; 0: 30 s (DESIGN.md limits) */
    int dns_timeout_ms;         /* first try of each query; 0: 2000 (c-ares backs off) */
    int dns_tries;              /* per server; 0: 3 */
    time_t at;                  /* --at: judge validity then; 0: now */
    int concurrency;            /* domains in flight, all workers; 0: 64 */
    int workers;                /* event loops, one thread each; 0: one per core */
    int per_ip;                 /* connections to one address at once; 0: 5, -1: no limit */
    double rate;                /* new connections a second, all workers; 0: no limit */
    int domain_timeout_ms;      /* each domain's deadline; 0: none */
    int grace_ms;               /* after runner_interrupt(): time the domains in
                                   flight get to finish; 0: none */
    bool no_probe, one_cert, allow_private;
} runner_config_t;

typedef enum {
    RUNNER_OK,
    RUNNER_ERR_CONFIG,          /* unusable configuration: a usage error */
    RUNNER_ERR_INTERNAL,        /* out of memory, epoll, OpenSSL */
    RUNNER_INTERRUPTED,         /* runner_interrupt(): domains still in flight */
    RUNNER_DEADLINE,            /* the run's deadline passed: domains still in flight */
} runner_status_t;

/* "ok", "config", "internal", "interrupted", "deadline" */
const char *runner_status_name(runner_status_t status);

typedef struct runner runner_t;

/* *out is set on RUNNER_OK only; otherwise err says why (RUNNER_ERR_CONFIG
 * for what the user can fix: a trust anchor that does not load, --trust-ad
 * without a loopback resolver, an unusable resolver list).  Ignores
 * SIGPIPE for the process: the TLS probes write with write(2). */
runner_status_t runner_new(const runner_config_t *config, runner_t **out,
                           char *err, size_t errlen);

/* Only after runner_run returned RUNNER_OK (or was never called): scans
 * cannot be cancelled, so after RUNNER_INTERRUPTED or RUNNER_DEADLINE the
 * command reports what it has and exits with the runner still alive. */
void runner_free(runner_t *runner);

/* The next domain to scan: an A-label name without trailing dot, written
 * into buf (len bytes) or pointing elsewhere until the next call; NULL
 * when there are no more; RUNNER_LATER when none is ready yet (a pipe
 * whose writer is slow): the runner asks again at its next tick.  What is not a domain is the source's own to
 * report; the runner only ever sees names. */
typedef const char *(*runner_next_t)(void *arg, char *buf, size_t len);

extern const char runner_later[];
#define RUNNER_LATER runner_later

/* One finished domain, `ms` after its scan started; the model is the
 * callback's (model_domain_free).  When memory runs out before a scan can
 * start, the model is an invalid-input record saying so. */
typedef void (*runner_done_t)(void *arg, model_domain_t *result, uint64_t ms);

/* Scan every name `next` gives, up to the configured concurrency at once
 * (split among the workers: next and done are called with a lock held,
 * one call at a time, from whichever worker's thread wants a name or has
 * a result),
 * until all are done (RUNNER_OK), runner_interrupt() was called
 * (RUNNER_INTERRUPTED), deadline_ms passed with work in flight
 * (RUNNER_DEADLINE; 0: no deadline) or the loop failed
 * (RUNNER_ERR_INTERNAL).  Call once per runner. */
runner_status_t runner_run(runner_t *runner, runner_next_t next, runner_done_t done,
                           void *arg, uint64_t deadline_ms);

/* Domains started but not finished. */
size_t runner_in_flight(const runner_t *runner);

/* The run's own counters, for --summary and the benchmark. */
typedef struct {
    unsigned long dns_queries;      /* sent */
    unsigned long dns_coalesced;    /* answered by a query already in flight */
    unsigned long dns_cached;       /* lookups answered from finished ones */
    unsigned long probes;           /* addresses probed over the network */
    unsigned long probes_shared;    /* address results reused from another domain */
    unsigned workers;               /* event loops */
    size_t in_flight;               /* domains started, not finished */
} runner_stats_t;

void runner_stats(const runner_t *runner, runner_stats_t *out);

/* Async-signal-safe: stop feeding new domains; the domains in flight get
 * the configured grace to finish, then the run stops.  A second call
 * stops it at once. */
void runner_interrupt(void);

/* ---- can the resolver validate? ----------------------------------- */

typedef struct {
    bool validates;
    const char *why;            /* when not: a sentence (valid during the callback) */
} runner_resolver_t;

typedef void (*runner_resolver_cb)(void *arg, const runner_resolver_t *result);

/* Ask for the root DNSKEY RRset, run alongside the scans of the next
 * runner_run.  It must come out secure: validated from the trust anchor
 * in the default mode, or with the AD bit under --trust-ad.  Bogus means
 * the anchor does not fit what the resolver serves; indeterminate means
 * the resolver did not answer usably; insecure under --trust-ad means it
 * does not validate.  In each case no verdict about a domain can be
 * trusted.  -1 when the lookup cannot start (cb does not run). */
int runner_check_resolver(runner_t *runner, runner_resolver_cb cb, void *arg);

/* ---- names and option values both commands accept ------------------ */

/* The mail domain in one input line or -H argument (leading blanks
 * skipped, the name ends at a blank or line end): lower case, without
 * trailing dot, written into buf (at least 256 bytes).  NULL with *why
 * set when it is not a usable domain name: control or non-ASCII
 * characters, an IP literal, an empty or over-long label or name, a
 * single label. */
const char *runner_domain_name(const char *text, char *buf, size_t len, const char **why);

/* A decimal integer in [lo, hi], nothing else. */
bool runner_parse_int(const char *s, int lo, int hi, int *out);

/* --at: unix seconds, YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS[Z], in UTC. */
bool runner_parse_time(const char *s, time_t *out);

#endif
