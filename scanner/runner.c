/* runner.c - set-up, scheduler and tear-down shared by danescan and
 * check_dane: one event loop, c-ares on it, and up to `concurrency`
 * scans in flight. */
#include "runner.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <idn2.h>
#include <jansson.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dns.h"
#include "dnssec.h"
#include "lookup.h"
#include "loop.h"
#include "scan.h"
#include "smtp.h"
#include "tls.h"

/* c-ares' timeouts are driven by a tick while anything is in flight. */
#define RUNNER_TICK_MS 20
/* validated DNSKEY/DS RRsets kept per event loop (DESIGN.md "Caches") */
#define RUNNER_CACHE_ZONES 10000
/* finished lookups kept per event loop, for their TTL (lookupcache.h) */
#define RUNNER_CACHE_ANSWERS 20000
#define RUNNER_MAX_NAME 260
/* queries on the wire at once per worker: two per domain in flight,
 * at least 128, at most 1024 (Unbound's num-queries-per-thread: more
 * would be dropped by a resolver of default size) */
#define RUNNER_DNS_WINDOW_MIN 128
#define RUNNER_DNS_WINDOW_MAX 1024
/* connections to one destination address at once (DESIGN.md limits) */
#define RUNNER_PER_IP 5

struct runner {
    runner_config_t cfg;
    char helo[256];
    loop_t *loop;
    dns_client_t *dns;
    dnssec_anchors_t *anchors;      /* NULL in --trust-ad mode */
    dnssec_cache_t *cache;
    probegate_t *gate;
    scan_config_t scan;
    runner_next_t next;
    runner_done_t done;
    void *arg;
    size_t in_flight;               /* scans started, not finished */
    size_t checks;                  /* resolver checks in flight */
    bool input_done;
    bool input_later;               /* the source had nothing ready */
    bool deadline_hit;
    loop_timer_t *tick, *deadline, *grace;
    bool grace_started;
    /* -j: the first worker runs in the caller's thread and holds the others */
    runner_t **others;
    unsigned n_others;
    pthread_mutex_t lock;       /* around the caller's next and done */
    runner_t *first;
    runner_next_t user_next;    /* the caller's, behind the lock */
    runner_done_t user_done;
    void *user_arg;
    pthread_t thread;
    uint64_t run_deadline_ms;   /* runner_run's, for every worker */
    bool started;
    runner_status_t status;
};

/* One scan in flight: when it started, for the result's timing. */
typedef struct {
    runner_t *runner;
    uint64_t started;
} runner_job_t;

typedef struct {
    runner_t *runner;
    runner_resolver_cb cb;
    void *arg;
} runner_check_t;

static volatile sig_atomic_t runner_interrupted;

const char runner_later[] = "(later)";

static const char *const runner_status_names[] = {
    [RUNNER_OK] = "ok",
    [RUNNER_ERR_CONFIG] = "config",
    [RUNNER_ERR_INTERNAL] = "internal",
    [RUNNER_INTERRUPTED] = "interrupted",
    [RUNNER_DEADLINE] = "deadline",
};

const char *runner_status_name(runner_status_t status)
{
    size_t s = (size_t)status;

    return s < sizeof(runner_status_names) / sizeof(runner_status_names[0]) ? runner_status_names[s]
                                                                            : "?";
}

void runner_interrupt(void)
{
    if (runner_interrupted < 2)
        runner_interrupted++;
}

size_t runner_in_flight(const runner_t *runner)
{
    size_t n = runner->in_flight;

    for (unsigned i = 0; i < runner->n_others; i++)
        n += runner->others[i]->in_flight;
    return n;
}

void runner_stats(const runner_t *r, runner_stats_t *out)
{
    unsigned long probes, shared;

    *out = (runner_stats_t){.workers = 1 + r->n_others};
    for (unsigned i = 0; i <= r->n_others; i++) {
        const runner_t *w = i == 0 ? r : r->others[i - 1];
        out->dns_queries += lookup_ctx_queries(w->scan.lookup);
        out->dns_coalesced += lookup_ctx_shared(w->scan.lookup);
        out->dns_cached += lookup_ctx_cache_hits(w->scan.lookup);
        out->in_flight += w->in_flight;
        probecache_stats(w->scan.probes, &probes, &shared);
        out->probes += probes;
        out->probes_shared += shared;
    }
}

/* ------------------------------------------------------------- options */

bool runner_parse_int(const char *s, int lo, int hi, int *out)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return false;
    *out = (int)v;
    return true;
}

bool runner_parse_time(const char *s, time_t *out)
{
    struct tm tm = {0};
    char *end;
    long long v;

    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno == 0 && end != s && *end == '\0') {
        *out = (time_t)v;
        return true;
    }
    end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (end == NULL)
        end = strptime(s, "%Y-%m-%d", &tm);
    if (end == NULL || (*end && strcmp(end, "Z") != 0))
        return false;
    *out = timegm(&tm);
    return true;
}

const char *runner_domain_name(const char *text, char *buf, size_t len, const char **why)
{
    size_t n = 0, label = 0;
    unsigned char a[16];
    bool ascii = true;

    while (*text == ' ' || *text == '\t')
        text++;
    for (const char *p = text; *p && *p != '\n' && *p != '\r'; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == ' ' || c == '\t')
            break;
        if (c < 0x20 || c == 0x7f) {
            *why = "control character in the line";
            return NULL;
        }
        if (n + 1 >= len) {
            *why = "name longer than 253 characters";
            return NULL;
        }
        ascii &= c < 0x80;
        buf[n++] = (char)(c < 0x80 ? tolower(c) : c);
    }
    buf[n] = '\0';
    if (!ascii) {
        /* RFC 5890: an internationalised name is looked up by its A-labels
         * (IDNA2008 with the UTS #46 non-transitional mapping, as browsers
         * and MTAs with SMTPUTF8 do) */
        char *alabel = NULL;
        int rc = idn2_to_ascii_8z(buf, &alabel, IDN2_NONTRANSITIONAL | IDN2_NFC_INPUT);
        if (rc != IDN2_OK) {
            static _Thread_local char msg[200];  /* one per worker */
            snprintf(msg, sizeof(msg), "not a valid internationalised name (IDNA2008): %s",
                     idn2_strerror(rc));
            *why = msg;
            return NULL;
        }
        n = strlen(alabel);
        if (n + 1 > len) {
            idn2_free(alabel);
            *why = "name longer than 253 characters";
            return NULL;
        }
        for (size_t i = 0; i <= n; i++)
            buf[i] = (char)tolower((unsigned char)alabel[i]);
        idn2_free(alabel);
    }
    while (n > 0 && buf[n - 1] == '.')
        n--;
    buf[n] = '\0';
    if (n == 0) {
        *why = "empty name";
        return NULL;
    }
    if (n > 253) {
        *why = "name longer than 253 characters";
        return NULL;
    }
    if (inet_pton(AF_INET, buf, a) == 1 || inet_pton(AF_INET6, buf, a) == 1 || buf[0] == '[') {
        *why = "an IP address literal is not a mail domain";
        return NULL;
    }
    for (size_t i = 0; i <= n; i++) {
        char c = buf[i];
        if (c == '.' || c == '\0') {
            if (label == 0) {
                *why = "empty label";
                return NULL;
            }
            if (label > 63) {
                *why = "label longer than 63 characters";
                return NULL;
            }
            if (buf[i - 1] == '-' || buf[i - label] == '-') {
                *why = "label starts or ends with a hyphen";
                return NULL;
            }
            label = 0;
            continue;
        }
        if (!isalnum((unsigned char)c) && c != '-' && c != '_') {
            *why = "character not allowed in a host name";
            return NULL;
        }
        label++;
    }
    if (strchr(buf, '.') == NULL) {
        *why = "not a fully qualified domain name";
        return NULL;
    }
    return buf;
}

/* ------------------------------------------------------------- set-up */

/* RULES D3: the AD bit is only worth something from a resolver on loopback. */
static bool resolvers_on_loopback(const char *servers)
{
    char buf[1024], *save = NULL;
    FILE *f;
    bool ok = true, any = false;

    if (servers == NULL) {
        f = fopen("/etc/resolv.conf", "r");
        if (f == NULL)
            return false;
        while (fgets(buf, sizeof(buf), f) != NULL) {
            char addr[128];
            if (sscanf(buf, " nameserver %127s", addr) == 1) {
                any = true;
                ok &= strncmp(addr, "127.", 4) == 0 || strcmp(addr, "::1") == 0;
            }
        }
        fclose(f);
        return any && ok;
    }
    snprintf(buf, sizeof(buf), "%s", servers);
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        any = true;
        ok &= strncmp(tok, "127.", 4) == 0 || strncmp(tok, "[::1]", 5) == 0 || strcmp(tok, "::1") == 0;
    }
    return any && ok;
}

/* c-ares joins the loop: its sockets are watched, and a tick drives its
 * timeouts while anything is in flight. */
static void runner_on_dns_fd(loop_t *loop, int fd, unsigned events, void *arg)
{
    runner_t *r = arg;

    (void)loop;
    dns_client_process_fd(r->dns, fd, events & LOOP_READ, events & LOOP_WRITE);
}

static void runner_dns_watch(void *arg, int fd, bool readable, bool writable)
{
    runner_t *r = arg;

    loop_watch(r->loop, fd, (readable ? LOOP_READ : 0) | (writable ? LOOP_WRITE : 0),
               runner_on_dns_fd, r);
}

static void runner_default_helo(runner_t *r)
{
    r->cfg.helo = "danescan.invalid";
    if (gethostname(r->helo, sizeof(r->helo)) == 0 && r->helo[sizeof(r->helo) - 1] == '\0' &&
        smtp_helo_valid(r->helo) && strchr(r->helo, '.') != NULL)
        r->cfg.helo = r->helo;
}

static int runner_dns_window(int concurrency)
{
    int n = concurrency * 2;

    return n < RUNNER_DNS_WINDOW_MIN ? RUNNER_DNS_WINDOW_MIN
           : n > RUNNER_DNS_WINDOW_MAX ? RUNNER_DNS_WINDOW_MAX
                                       : n;
}

static runner_status_t runner_new_one(const runner_config_t *config, probegate_t *gate,
                                      runner_t **out, char *err, size_t errlen)
{
    runner_t *r = calloc(1, sizeof(*r));
    runner_status_t st = RUNNER_ERR_INTERNAL;
    dns_config_t dc;
    dns_io_t io;
    char why[512];

    *out = NULL;
    if (r == NULL) {
        snprintf(err, errlen, "out of memory");
        return RUNNER_ERR_INTERNAL;
    }
    r->cfg = *config;
    if (r->cfg.port == 0)
        r->cfg.port = 25;
    if (r->cfg.timeout_ms == 0)
        r->cfg.timeout_ms = 30000;
    if (r->cfg.concurrency == 0)
        r->cfg.concurrency = 64;
    if (r->cfg.helo == NULL)
        runner_default_helo(r);
    if (r->cfg.trust_ad && !resolvers_on_loopback(r->cfg.resolver)) {
        snprintf(err, errlen, "--trust-ad needs a validating resolver on loopback "
                              "(RFC 7672 section 2.1: the AD bit is only trustworthy over a trusted "
                              "channel); give --resolver 127.0.0.1 or drop --trust-ad to validate "
                              "in-process");
        st = RUNNER_ERR_CONFIG;
        goto fail;
    }
    if (!r->cfg.trust_ad) {
        const char *path = r->cfg.trust_anchor;
        if (path == NULL && access(RUNNER_ROOT_KEY, R_OK) == 0)
            path = RUNNER_ROOT_KEY;
        r->anchors = dnssec_anchors_load(path, why, sizeof(why));
        if (r->anchors == NULL) {
            snprintf(err, errlen, "trust anchor %s: %s", path ? path : "(built in)", why);
            st = RUNNER_ERR_CONFIG;
            goto fail;
        }
        r->cache = dnssec_cache_new(RUNNER_CACHE_ZONES);
        if (r->cache == NULL) {
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
    }
    r->loop = loop_new();
    if (r->loop == NULL) {
        snprintf(err, errlen, "event loop: %s", strerror(errno));
        goto fail;
    }
    dc = (dns_config_t){
        .servers = r->cfg.resolver,
        .timeout_ms = r->cfg.dns_timeout_ms > 0 ? r->cfg.dns_timeout_ms : 2000,
        .tries = r->cfg.dns_tries > 0 ? r->cfg.dns_tries : 3,
        /* a domain needs a few queries at once: with many domains in
         * flight a fixed window made them queue for each other */
        .max_in_flight = runner_dns_window(r->cfg.concurrency),
        .cd = !r->cfg.trust_ad,
    };
    io = (dns_io_t){.watch = runner_dns_watch, .arg = r};
    r->dns = dns_client_new(&dc, &io, why, sizeof(why));
    if (r->dns == NULL) {
        snprintf(err, errlen, "resolver: %s", why);
        st = RUNNER_ERR_CONFIG;
        goto fail;
    }
    r->scan = (scan_config_t){
        .loop = r->loop,
        .lookup = lookup_ctx_new(r->dns, r->anchors, r->cache,
                                 r->cfg.at ? r->cfg.at : time(NULL)),
        .tls = tls_ctx_new(why, sizeof(why)),
        .port = r->cfg.port,
        .helo = r->cfg.helo,
        .timeout_ms = r->cfg.timeout_ms,
        .domain_timeout_ms = r->cfg.domain_timeout_ms,
        .at = r->cfg.at,
        .no_probe = r->cfg.no_probe,
        .one_cert = r->cfg.one_cert,
        .allow_private = r->cfg.allow_private,
    };
    if (r->scan.lookup == NULL || r->scan.tls == NULL ||
        lookup_ctx_cache_answers(r->scan.lookup, r->loop, RUNNER_CACHE_ANSWERS) != 0) {
        snprintf(err, errlen, "%s", r->scan.tls == NULL ? why : "out of memory");
        goto fail;
    }
    if (gate == NULL)
        r->gate = probegate_new(r->cfg.per_ip == 0 ? RUNNER_PER_IP
                                : r->cfg.per_ip < 0 ? 0 : r->cfg.per_ip, r->cfg.rate);
    r->scan.probes = gate || r->gate ? probecache_new(r->loop, r->scan.tls,
                                                      &(probecache_config_t){
                                                          .gate = gate ? gate : r->gate})
                                     : NULL;
    if (r->scan.probes == NULL) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    signal(SIGPIPE, SIG_IGN);
    *out = r;
    return RUNNER_OK;
fail:
    runner_free(r);
    return st;
}

/* The first worker is made first, and holds the per-destination gate
 * every worker shares; each has its own loop, resolver channel, caches
 * and TLS context (DESIGN.md: caches per worker). */
/* The CPUs this process may use: its affinity mask (taskset, Slurm's
 * cgroup cpuset), capped by a cgroup v2 CPU quota (Kubernetes limits). */
static int runner_cpus(void)
{
    cpu_set_t set;
    int n = 1;
    FILE *f;
    long long quota, period;

    if (sched_getaffinity(0, sizeof(set), &set) == 0)
        n = CPU_COUNT(&set);
    f = fopen("/sys/fs/cgroup/cpu.max", "r");
    if (f != NULL) {
        if (fscanf(f, "%lld %lld", &quota, &period) == 2 && quota > 0 && period > 0 &&
            (quota + period - 1) / period < n)
            n = (int)((quota + period - 1) / period);
        fclose(f);
    }
    return n > 0 ? n : 1;
}

runner_status_t runner_new(const runner_config_t *config, runner_t **out, char *err, size_t errlen)
{
    runner_config_t cfg = *config;
    unsigned n;
    runner_status_t st;
    runner_t *r;

    if (cfg.workers <= 0)
        cfg.workers = runner_cpus();
    if (cfg.concurrency == 0)
        cfg.concurrency = 64;
    /* every worker keeps at least one domain in flight */
    n = (unsigned)(cfg.workers < cfg.concurrency ? cfg.workers : cfg.concurrency);
    /* jansson seeds its hash function on first use: before any thread */
    json_object_seed(0);
    cfg.concurrency = (cfg.concurrency + (int)n - 1) / (int)n;
    st = runner_new_one(&cfg, NULL, out, err, errlen);
    if (st != RUNNER_OK)
        return st;
    r = *out;
    r->first = r;
    pthread_mutex_init(&r->lock, NULL);
    if (n > 1 && (r->others = calloc(n - 1, sizeof(*r->others))) == NULL) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    for (unsigned i = 1; i < n; i++) {
        st = runner_new_one(&cfg, r->gate, &r->others[i - 1], err, errlen);
        if (st != RUNNER_OK)
            goto fail;
        r->others[i - 1]->first = r;
        r->n_others++;
    }
    return RUNNER_OK;
fail:
    runner_free(r);
    *out = NULL;
    return st == RUNNER_OK ? RUNNER_ERR_INTERNAL : st;
}

void runner_free(runner_t *r)
{
    if (r == NULL)
        return;
    for (unsigned i = 0; i < r->n_others; i++)
        runner_free(r->others[i]);
    free(r->others);
    if (r->first == r)
        pthread_mutex_destroy(&r->lock);
    /* the client first: it may still call back into lookups (cancelled) */
    dns_client_free(r->dns);
    /* then the probes, which still hold timers and sockets on the loop */
    probecache_free(r->scan.probes);
    if (r->loop != NULL) {
        loop_timer_cancel(r->loop, r->tick);
        loop_timer_cancel(r->loop, r->deadline);
        loop_timer_cancel(r->loop, r->grace);
        loop_free(r->loop);
    }
    probegate_free(r->gate);
    tls_ctx_free(r->scan.tls);
    lookup_ctx_free(r->scan.lookup);
    dnssec_cache_free(r->cache);
    dnssec_anchors_free(r->anchors);
    free(r);
}

/* ------------------------------------------------------------ scheduler */

static void runner_fill(runner_t *r);

static bool runner_busy(const runner_t *r)
{
    return r->in_flight > 0 || r->checks > 0;
}

/* Nothing left to do: the deadline must not keep the loop alive. */
static void runner_maybe_finished(runner_t *r)
{
    if ((r->input_done || runner_interrupted) && !runner_busy(r)) {
        loop_timer_cancel(r->loop, r->deadline);
        loop_timer_cancel(r->loop, r->grace);
        r->deadline = r->grace = NULL;
    }
}

static void runner_on_scan_done(void *arg, model_domain_t *d)
{
    runner_job_t *job = arg;
    runner_t *r = job->runner;
    uint64_t ms = loop_now_ms(r->loop) - job->started;

    free(job);
    r->in_flight--;
    r->done(r->arg, d, ms);
    runner_fill(r);
    runner_maybe_finished(r);
}

/* Out of memory before the scan could start: the run goes on and the
 * name gets a record saying so (as a line that is not a domain would). */
static void runner_lost(runner_t *r, const char *name)
{
    model_domain_t *d = calloc(1, sizeof(*d));

    if (d == NULL)
        return;
    d->input = strdup(name);
    d->error = strdup("out of memory");
    d->verdict = MODEL_VERDICT_INVALID_INPUT;
    r->done(r->arg, d, 0);
}

static void runner_fill(runner_t *r)
{
    char buf[RUNNER_MAX_NAME];

    r->input_later = false;
    while (!r->input_done && !runner_interrupted &&
           r->in_flight < (size_t)r->cfg.concurrency) {
        const char *name = r->next(r->arg, buf, sizeof(buf));
        runner_job_t *job;

        if (name == NULL) {
            r->input_done = true;
            break;
        }
        if (name == RUNNER_LATER) {
            r->input_later = true;
            break;
        }
        job = malloc(sizeof(*job));
        if (job == NULL) {
            runner_lost(r, name);
            continue;
        }
        *job = (runner_job_t){.runner = r, .started = loop_now_ms(r->loop)};
        /* counted first: the scan may finish before scan_start returns */
        r->in_flight++;
        if (scan_start(&r->scan, name, runner_on_scan_done, job) == NULL) {
            r->in_flight--;
            free(job);
            runner_lost(r, name);
        }
    }
}

static void runner_on_grace(loop_t *loop, void *arg)
{
    runner_t *r = arg;

    r->grace = NULL;
    loop_stop(loop);
}

static void runner_on_tick(loop_t *loop, void *arg)
{
    runner_t *r = arg;

    r->tick = NULL;
    dns_client_process_timeouts(r->dns);
    if (runner_interrupted && runner_busy(r) && !r->grace_started) {
        /* a signal: the domains in flight get their grace, once */
        r->grace_started = true;
        if (r->cfg.grace_ms > 0)
            r->grace = loop_timer_add(loop, (uint64_t)r->cfg.grace_ms, runner_on_grace, r);
        if (r->grace == NULL)
            loop_stop(loop);
    }
    if (runner_interrupted > 1 && runner_busy(r))
        loop_stop(loop);
    if (r->input_later && !runner_interrupted) {
        r->input_later = false;
        runner_fill(r);
    }
    if (runner_busy(r) || (r->input_later && !runner_interrupted))
        r->tick = loop_timer_add(loop, RUNNER_TICK_MS, runner_on_tick, r);
}

static void runner_on_deadline(loop_t *loop, void *arg)
{
    runner_t *r = arg;

    r->deadline = NULL;
    r->deadline_hit = true;
    loop_stop(loop);
}

static runner_status_t runner_run_one(runner_t *r, uint64_t deadline_ms)
{
    if (deadline_ms > 0) {
        r->deadline = loop_timer_add(r->loop, deadline_ms, runner_on_deadline, r);
        if (r->deadline == NULL)
            return RUNNER_ERR_INTERNAL;
    }
    runner_fill(r);
    runner_maybe_finished(r);
    if ((runner_busy(r) || r->input_later) && r->tick == NULL)
        r->tick = loop_timer_add(r->loop, RUNNER_TICK_MS, runner_on_tick, r);
    if (loop_run(r->loop) != 0)
        return RUNNER_ERR_INTERNAL;
    if (runner_interrupted)
        return RUNNER_INTERRUPTED;
    if (r->deadline_hit)
        return RUNNER_DEADLINE;
    return RUNNER_OK;
}

/* The workers share the caller's source and sink, one at a time.  The
 * name is copied while the lock is held: the caller's buffer is reused
 * by the next call, maybe from another worker. */
static const char *runner_locked_next(void *arg, char *buf, size_t len)
{
    runner_t *f = ((runner_t *)arg)->first;
    const char *name;

    pthread_mutex_lock(&f->lock);
    name = f->user_next(f->user_arg, buf, len);
    if (name != NULL && name != buf && name != RUNNER_LATER) {
        snprintf(buf, len, "%s", name);
        name = buf;
    }
    pthread_mutex_unlock(&f->lock);
    return name;
}

static void runner_locked_done(void *arg, model_domain_t *d, uint64_t ms)
{
    runner_t *f = ((runner_t *)arg)->first;

    pthread_mutex_lock(&f->lock);
    f->user_done(f->user_arg, d, ms);
    pthread_mutex_unlock(&f->lock);
}

static void *runner_thread(void *arg)
{
    runner_t *w = arg;

    w->status = runner_run_one(w, w->run_deadline_ms);
    return NULL;
}

/* The worst of two endings. */
static runner_status_t runner_worse(runner_status_t a, runner_status_t b)
{
    static const int rank[] = {[RUNNER_OK] = 0, [RUNNER_DEADLINE] = 1,
                               [RUNNER_INTERRUPTED] = 2, [RUNNER_ERR_CONFIG] = 3,
                               [RUNNER_ERR_INTERNAL] = 4};
    return rank[b] > rank[a] ? b : a;
}

runner_status_t runner_run(runner_t *r, runner_next_t next, runner_done_t done, void *arg,
                           uint64_t deadline_ms)
{
    runner_status_t st;

    if (r->n_others == 0) {
        r->next = next;
        r->done = done;
        r->arg = arg;
        return runner_run_one(r, deadline_ms);
    }
    r->user_next = next;
    r->user_done = done;
    r->user_arg = arg;
    for (unsigned i = 0; i <= r->n_others; i++) {
        runner_t *w = i == 0 ? r : r->others[i - 1];
        w->next = runner_locked_next;
        w->done = runner_locked_done;
        w->arg = w;
        w->run_deadline_ms = deadline_ms;
    }
    /* a worker that cannot get a thread stays idle: the others do its share */
    for (unsigned i = 0; i < r->n_others; i++)
        r->others[i]->started =
            pthread_create(&r->others[i]->thread, NULL, runner_thread, r->others[i]) == 0;
    st = runner_run_one(r, deadline_ms);
    for (unsigned i = 0; i < r->n_others; i++)
        if (r->others[i]->started) {
            pthread_join(r->others[i]->thread, NULL);
            st = runner_worse(st, r->others[i]->status);
        }
    return st;
}

/* ------------------------------------------------------ resolver check */

static void runner_on_root_dnskey(void *arg, const lookup_result_t *res)
{
    runner_check_t *c = arg;
    runner_t *r = c->runner;
    runner_resolver_t out = {.validates = false};
    char why[512];
    const char *reason = res->reason != NULL && *res->reason ? res->reason : "no reason given";

    switch (res->status) {
    case MODEL_DNSSEC_SECURE:
        out.validates = res->answer == LOOKUP_DATA;
        snprintf(why, sizeof(why), "the resolver's answer holds no root DNSKEY RRset");
        break;
    case MODEL_DNSSEC_BOGUS:
        snprintf(why, sizeof(why), "the root DNSKEY RRset does not validate from the trust "
                                   "anchor (wrong anchor for this resolver?): %s", reason);
        break;
    case MODEL_DNSSEC_INSECURE:
        if (r->cfg.trust_ad)
            snprintf(why, sizeof(why), "the resolver does not validate: "
                                       "no AD bit on the root DNSKEY RRset (--trust-ad)");
        else
            snprintf(why, sizeof(why), "the root zone is not secure from the trust anchor: %s",
                     reason);
        break;
    case MODEL_DNSSEC_INDETERMINATE:
        snprintf(why, sizeof(why), "the resolver gave no usable answer for the root DNSKEY "
                                   "RRset: %s", reason);
        break;
    }
    out.why = out.validates ? NULL : why;
    r->checks--;
    c->cb(c->arg, &out);
    free(c);
    runner_maybe_finished(r);
}

int runner_check_resolver(runner_t *r, runner_resolver_cb cb, void *arg)
{
    runner_check_t *c = malloc(sizeof(*c));

    if (c == NULL)
        return -1;
    *c = (runner_check_t){.runner = r, .cb = cb, .arg = arg};
    r->checks++;
    if (lookup_start(r->scan.lookup, ".", LDNS_RR_TYPE_DNSKEY, runner_on_root_dnskey, c) != 0) {
        r->checks--;
        free(c);
        return -1;
    }
    return 0;
}
