/* main.c - the danescan command: options, input lines, the scheduler,
 * output and the exit status (DESIGN.md, "Command-line contract"). */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dns.h"
#include "dnssec.h"
#include "json.h"
#include "lookup.h"
#include "loop.h"
#include "model.h"
#include "scan.h"
#include "smtp.h"
#include "text.h"
#include "tls.h"

#define DEFAULT_ROOT_KEY "/usr/share/dns/root.key"
#define DNS_TICK_MS 20
#define MAX_LINE 1024

enum { EXIT_OK = 0, EXIT_WARNING = 1, EXIT_CRITICAL = 2, EXIT_USAGE = 3 };
enum { FORMAT_JSON, FORMAT_TEXT };
enum { FAIL_ON_WARNING, FAIL_ON_CRITICAL, FAIL_ON_NEVER };

typedef struct {
    const char *input, *output, *resolver, *trust_anchor, *helo;
    int format, fail_on, port, concurrency, timeout_s;
    bool trust_ad, allow_private, no_probe, one_cert, require_dane, color;
    time_t at;
    char **domains;
    int n_domains;
} options_t;

typedef struct {
    options_t *opt;
    loop_t *loop;
    dns_client_t *dns;
    scan_config_t scan;
    FILE *in, *out;
    int next_arg;               /* next domain from the command line */
    size_t line_no;
    size_t in_flight;
    size_t checked, warnings, criticals, invalid;
    bool input_done;
    loop_timer_t *tick;
    char **seen;                /* open-addressing set of scanned names */
    size_t seen_cap, seen_n;
} run_t;

static volatile sig_atomic_t interrupted;

static void usage(FILE *f)
{
    fputs("usage: danescan [OPTIONS] [DOMAIN...]\n"
          "  -f, --input FILE        domains, one per line ('-' = stdin, '#' comments)\n"
          "  -o, --output FILE       write results here (default stdout)\n"
          "      --format FMT        json (JSON Lines, default) | text\n"
          "      --resolver ADDR[:PORT][,...]  recursive resolver(s) (default: /etc/resolv.conf)\n"
          "      --trust-anchor FILE root DS/DNSKEY in zone-file syntax (default: " DEFAULT_ROOT_KEY ")\n"
          "      --trust-ad          trust the AD bit of a loopback resolver instead of validating\n"
          "      --allow-private     allow probing loopback/private/reserved addresses\n"
          "      --port N            SMTP port (default 25)\n"
          "      --at TIME           evaluate validity at TIME (unix seconds or YYYY-MM-DDTHH:MM:SSZ)\n"
          "      --concurrency N     domains in flight (default 64)\n"
          "      --timeout SECONDS   per-phase network timeout (default 30)\n"
          "      --no-probe          DNS/DNSSEC/TLSA only, no SMTP connections\n"
          "      --helo NAME         EHLO name (default: this host's name)\n"
          "      --one-cert          check only the certificate the server prefers\n"
          "      --require-dane      insecure / no-dane count as failures\n"
          "      --fail-on LEVEL     warning | critical | never (exit status policy)\n"
          "      --color / --no-color  colour in the text report (default: on a TTY, unless NO_COLOR)\n"
          "  -h, --help              this text\n"
          "  -V, --version           the version\n"
          "Exit status: 0 all OK, 1 warnings, 2 failures, 3 usage or internal error.\n", f);
}

static int fail_usage(const char *what, const char *arg)
{
    fprintf(stderr, "danescan: %s%s%s%s\nTry 'danescan --help'.\n",
            what, arg ? " '" : "", arg ? arg : "", arg ? "'" : "");
    return EXIT_USAGE;
}

static bool parse_int(const char *s, int lo, int hi, int *out)
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

static bool parse_time(const char *s, time_t *out)
{
    struct tm tm = {0};
    char *end;
    long long v = strtoll(s, &end, 10);

    if (end != s && *end == '\0') {
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

static int parse_options(int argc, char **argv, options_t *o)
{
    enum { O_FORMAT = 256, O_RESOLVER, O_TA, O_TRUST_AD, O_PRIVATE, O_PORT, O_AT, O_CONC,
           O_TIMEOUT, O_NO_PROBE, O_HELO, O_ONE_CERT, O_REQUIRE, O_FAIL_ON, O_COLOR, O_NO_COLOR };
    static const struct option longopts[] = {
        {"input", required_argument, 0, 'f'}, {"output", required_argument, 0, 'o'},
        {"format", required_argument, 0, O_FORMAT}, {"resolver", required_argument, 0, O_RESOLVER},
        {"trust-anchor", required_argument, 0, O_TA}, {"trust-ad", no_argument, 0, O_TRUST_AD},
        {"allow-private", no_argument, 0, O_PRIVATE}, {"port", required_argument, 0, O_PORT},
        {"at", required_argument, 0, O_AT}, {"concurrency", required_argument, 0, O_CONC},
        {"workers", required_argument, 0, 'j'}, {"timeout", required_argument, 0, O_TIMEOUT},
        {"no-probe", no_argument, 0, O_NO_PROBE}, {"helo", required_argument, 0, O_HELO},
        {"one-cert", no_argument, 0, O_ONE_CERT}, {"require-dane", no_argument, 0, O_REQUIRE},
        {"fail-on", required_argument, 0, O_FAIL_ON}, {"color", no_argument, 0, O_COLOR},
        {"no-color", no_argument, 0, O_NO_COLOR}, {"help", no_argument, 0, 'h'},
        {"version", no_argument, 0, 'V'}, {0, 0, 0, 0},
    };
    int c, workers;

    o->port = 25;
    o->concurrency = 64;
    o->timeout_s = 30;
    o->color = isatty(STDOUT_FILENO) && getenv("NO_COLOR") == NULL;
    while ((c = getopt_long(argc, argv, "f:o:j:hV", longopts, NULL)) != -1) {
        switch (c) {
        case 'f': o->input = optarg; break;
        case 'o': o->output = optarg; break;
        case O_FORMAT:
            if (strcmp(optarg, "json") == 0)
                o->format = FORMAT_JSON;
            else if (strcmp(optarg, "text") == 0)
                o->format = FORMAT_TEXT;
            else
                return fail_usage("unknown format (json or text):", optarg);
            break;
        case O_RESOLVER: o->resolver = optarg; break;
        case O_TA: o->trust_anchor = optarg; break;
        case O_TRUST_AD: o->trust_ad = true; break;
        case O_PRIVATE: o->allow_private = true; break;
        case O_PORT:
            if (!parse_int(optarg, 1, 65535, &o->port))
                return fail_usage("--port wants 1-65535, not", optarg);
            break;
        case O_AT:
            if (!parse_time(optarg, &o->at))
                return fail_usage("--at wants unix seconds or YYYY-MM-DDTHH:MM:SSZ, not", optarg);
            break;
        case O_CONC:
            if (!parse_int(optarg, 1, 100000, &o->concurrency))
                return fail_usage("--concurrency wants 1-100000, not", optarg);
            break;
        case 'j':
            /* one event loop for now; the option is accepted so scripts keep working */
            if (!parse_int(optarg, 1, 1024, &workers))
                return fail_usage("--workers wants 1-1024, not", optarg);
            break;
        case O_TIMEOUT:
            if (!parse_int(optarg, 1, 3600, &o->timeout_s))
                return fail_usage("--timeout wants 1-3600 seconds, not", optarg);
            break;
        case O_NO_PROBE: o->no_probe = true; break;
        case O_HELO:
            if (!smtp_helo_valid(optarg))
                return fail_usage("--helo wants a valid host name, not", optarg);
            o->helo = optarg;
            break;
        case O_ONE_CERT: o->one_cert = true; break;
        case O_REQUIRE: o->require_dane = true; break;
        case O_FAIL_ON:
            if (strcmp(optarg, "warning") == 0)
                o->fail_on = FAIL_ON_WARNING;
            else if (strcmp(optarg, "critical") == 0)
                o->fail_on = FAIL_ON_CRITICAL;
            else if (strcmp(optarg, "never") == 0)
                o->fail_on = FAIL_ON_NEVER;
            else
                return fail_usage("--fail-on wants warning, critical or never, not", optarg);
            break;
        case O_COLOR: o->color = true; break;
        case O_NO_COLOR: o->color = false; break;
        case 'h': usage(stdout); exit(EXIT_OK);
        case 'V': printf("danescan %s\n", DANESCAN_VERSION); exit(EXIT_OK);
        default: return fail_usage("bad option", NULL);
        }
    }
    o->domains = argv + optind;
    o->n_domains = argc - optind;
    if (o->n_domains == 0 && o->input == NULL)
        return fail_usage("no domains: give them as arguments or with -f FILE", NULL);
    return 0;
}

/* ---------------------------------------------------------------- input */

/* A domain name from one input line, or NULL with *why set.  The result
 * is lower case, without trailing dot, written into buf. */
static const char *domain_from_line(const char *line, char *buf, size_t len, const char **why)
{
    size_t n = 0, label = 0;
    unsigned char a[16];

    while (*line == ' ' || *line == '\t')
        line++;
    for (const char *p = line; *p && *p != '\n' && *p != '\r'; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == ' ' || c == '\t')
            break;
        if (c < 0x20 || c == 0x7f) {
            *why = "control character in the line";
            return NULL;
        }
        if (c >= 0x80) {
            *why = "non-ASCII name: internationalised names are not supported yet";
            return NULL;
        }
        if (n + 1 >= len) {
            *why = "name longer than 253 characters";
            return NULL;
        }
        buf[n++] = (char)tolower(c);
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

static unsigned long hash_name(const char *s)
{
    unsigned long h = 5381;
    while (*s)
        h = h * 33 + (unsigned char)*s++;
    return h;
}

/* true when the name was new (and is now remembered) */
static bool seen_add(run_t *r, const char *name)
{
    size_t i;

    if (r->seen_n * 2 >= r->seen_cap) {
        size_t cap = r->seen_cap ? r->seen_cap * 2 : 1024;
        char **t = calloc(cap, sizeof(*t));
        if (t == NULL)
            return true;
        for (size_t k = 0; k < r->seen_cap; k++) {
            if (r->seen[k] == NULL)
                continue;
            for (i = hash_name(r->seen[k]) % cap; t[i]; i = (i + 1) % cap)
                ;
            t[i] = r->seen[k];
        }
        free(r->seen);
        r->seen = t;
        r->seen_cap = cap;
    }
    for (i = hash_name(name) % r->seen_cap; r->seen[i]; i = (i + 1) % r->seen_cap)
        if (strcmp(r->seen[i], name) == 0)
            return false;
    r->seen[i] = strdup(name);
    r->seen_n++;
    return true;
}

/* ---------------------------------------------------------------- output */

static int severity_of(const options_t *o, model_verdict_t v)
{
    switch (v) {
    case MODEL_VERDICT_DANE_VALID:
    case MODEL_VERDICT_NULL_MX:
        return EXIT_OK;
    case MODEL_VERDICT_DANE_PARTIAL:
    case MODEL_VERDICT_DANE_INCOMPLETE:
    case MODEL_VERDICT_INVALID_INPUT:
        return EXIT_WARNING;
    case MODEL_VERDICT_NO_DANE:
    case MODEL_VERDICT_INSECURE:
        return o->require_dane ? EXIT_CRITICAL : EXIT_OK;
    case MODEL_VERDICT_DANE_INVALID:
    case MODEL_VERDICT_DNSSEC_BOGUS:
    case MODEL_VERDICT_DNS_ERROR:
    case MODEL_VERDICT_NXDOMAIN:
        break;
    }
    return EXIT_CRITICAL;
}

static void emit(run_t *r, model_domain_t *d)
{
    int sev = severity_of(r->opt, d->verdict);

    if (d->verdict == MODEL_VERDICT_INVALID_INPUT)
        r->invalid++;
    else
        r->checked++;
    r->warnings += sev == EXIT_WARNING;
    r->criticals += sev == EXIT_CRITICAL;
    if (r->opt->format == FORMAT_TEXT)
        report_text_write(r->out, d, r->opt->color);
    else
        report_json_write(r->out, d);
    fflush(r->out);
    model_domain_free(d);
}

/* -------------------------------------------------------------- scheduler */

static void fill(run_t *r);

static void on_scan_done(void *arg, model_domain_t *d)
{
    run_t *r = arg;
    r->in_flight--;
    emit(r, d);
    fill(r);
}

static void emit_invalid(run_t *r, const char *line, const char *why)
{
    model_domain_t *d = calloc(1, sizeof(*d));
    char clean[MAX_LINE];
    size_t n = 0;

    if (d == NULL)
        return;
    /* the input line, censored to printable ASCII like server text */
    for (const char *p = line; *p && *p != '\n' && n + 1 < sizeof(clean); p++)
        clean[n++] = (*p >= 0x20 && *p < 0x7f) ? *p : '?';
    clean[n] = '\0';
    d->input = strdup(clean);
    d->error = strdup(why);
    d->verdict = MODEL_VERDICT_INVALID_INPUT;
    emit(r, d);
}

/* The next input line or argument; NULL at the end. */
static const char *next_line(run_t *r, char *buf, size_t len)
{
    if (r->next_arg < r->opt->n_domains)
        return r->opt->domains[r->next_arg++];
    while (r->in != NULL && fgets(buf, (int)len, r->in) != NULL) {
        size_t n = strlen(buf);
        const char *p = buf;
        r->line_no++;
        if (n == len - 1 && buf[n - 1] != '\n') {
            int c;
            while ((c = fgetc(r->in)) != EOF && c != '\n')
                ;
            emit_invalid(r, buf, "line longer than 1023 characters");
            continue;
        }
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '#' || *p == '\n' || *p == '\r' || *p == '\0')
            continue;
        return buf;
    }
    return NULL;
}

static void fill(run_t *r)
{
    char line[MAX_LINE], name[260];

    while (!r->input_done && !interrupted && r->in_flight < (size_t)r->opt->concurrency) {
        const char *why = NULL, *domain;
        const char *l = next_line(r, line, sizeof(line));
        if (l == NULL) {
            r->input_done = true;
            break;
        }
        domain = domain_from_line(l, name, sizeof(name), &why);
        if (domain == NULL) {
            emit_invalid(r, l, why);
            continue;
        }
        if (!seen_add(r, domain))
            continue;   /* duplicates are scanned once */
        r->in_flight++;
        if (scan_start(&r->scan, domain, on_scan_done, r) == NULL) {
            r->in_flight--;
            emit_invalid(r, l, "out of memory");
        }
    }
}

/* c-ares joins the loop: its sockets are watched, and a tick drives its
 * timeouts while anything is in flight. */
static void on_dns_fd(loop_t *loop, int fd, unsigned events, void *arg)
{
    run_t *r = arg;
    (void)loop;
    dns_client_process_fd(r->dns, fd, events & LOOP_READ, events & LOOP_WRITE);
}

static void dns_watch(void *arg, int fd, bool readable, bool writable)
{
    run_t *r = arg;
    loop_watch(r->loop, fd, (readable ? LOOP_READ : 0) | (writable ? LOOP_WRITE : 0), on_dns_fd, r);
}

static void on_tick(loop_t *loop, void *arg)
{
    run_t *r = arg;
    r->tick = NULL;
    dns_client_process_timeouts(r->dns);
    if (interrupted && r->in_flight > 0)
        loop_stop(loop);
    if (r->in_flight > 0)
        r->tick = loop_timer_add(loop, DNS_TICK_MS, on_tick, r);
}

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

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

int main(int argc, char **argv)
{
    options_t opt = {0};
    run_t r = {.opt = &opt};
    dnssec_anchors_t *anchors = NULL;
    dnssec_cache_t *cache = NULL;
    char err[512], host[256];
    int rc;

    if ((rc = parse_options(argc, argv, &opt)) != 0)
        return rc;
    if (opt.trust_ad && !resolvers_on_loopback(opt.resolver)) {
        fprintf(stderr, "danescan: --trust-ad needs a validating resolver on loopback "
                        "(RFC 7672 section 2.1: the AD bit is only trustworthy over a trusted channel); "
                        "give --resolver 127.0.0.1 or drop --trust-ad to validate in-process\n");
        return EXIT_USAGE;
    }
    if (!opt.trust_ad) {
        const char *path = opt.trust_anchor;
        if (path == NULL && access(DEFAULT_ROOT_KEY, R_OK) == 0)
            path = DEFAULT_ROOT_KEY;
        anchors = dnssec_anchors_load(path, err, sizeof(err));
        if (anchors == NULL) {
            fprintf(stderr, "danescan: trust anchor %s: %s\n", path ? path : "(built in)", err);
            return EXIT_USAGE;
        }
        cache = dnssec_cache_new(10000);
    }
    if (opt.input != NULL) {
        r.in = strcmp(opt.input, "-") == 0 ? stdin : fopen(opt.input, "r");
        if (r.in == NULL) {
            fprintf(stderr, "danescan: %s: %s\n", opt.input, strerror(errno));
            return EXIT_USAGE;
        }
    }
    r.out = stdout;
    if (opt.output != NULL && (r.out = fopen(opt.output, "w")) == NULL) {
        fprintf(stderr, "danescan: %s: %s\n", opt.output, strerror(errno));
        return EXIT_USAGE;
    }
    if (opt.helo == NULL) {
        opt.helo = "danescan.invalid";
        if (gethostname(host, sizeof(host)) == 0 && smtp_helo_valid(host) && strchr(host, '.'))
            opt.helo = host;
    }

    r.loop = loop_new();
    dns_config_t dc = {.servers = opt.resolver, .timeout_ms = 2000, .tries = 3, .cd = !opt.trust_ad};
    dns_io_t io = {.watch = dns_watch, .arg = &r};
    r.dns = dns_client_new(&dc, &io, err, sizeof(err));
    if (r.loop == NULL || r.dns == NULL) {
        fprintf(stderr, "danescan: resolver: %s\n", r.dns ? "out of memory" : err);
        return EXIT_USAGE;
    }
    r.scan = (scan_config_t){
        .loop = r.loop,
        .lookup = lookup_ctx_new(r.dns, anchors, cache, opt.at ? opt.at : time(NULL)),
        .tls = tls_ctx_new(err, sizeof(err)),
        .port = opt.port,
        .helo = opt.helo,
        .timeout_ms = opt.timeout_s * 1000,
        .at = opt.at,
        .no_probe = opt.no_probe,
        .one_cert = opt.one_cert,
        .allow_private = opt.allow_private,
    };
    if (r.scan.lookup == NULL || r.scan.tls == NULL) {
        fprintf(stderr, "danescan: %s\n", r.scan.tls ? "out of memory" : err);
        return EXIT_USAGE;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGPIPE, SIG_IGN);

    fill(&r);
    if (r.in_flight > 0)
        r.tick = loop_timer_add(r.loop, DNS_TICK_MS, on_tick, &r);
    loop_run(r.loop);

    if (interrupted) {
        /* what is finished is already written, line by line */
        fprintf(stderr, "danescan: interrupted: %zu domain(s) not finished\n", r.in_flight);
        fflush(r.out);
        return EXIT_USAGE;
    }
    dns_client_free(r.dns);
    loop_timer_cancel(r.loop, r.tick);
    loop_free(r.loop);
    tls_ctx_free(r.scan.tls);
    lookup_ctx_free(r.scan.lookup);
    dnssec_cache_free(cache);
    dnssec_anchors_free(anchors);
    for (size_t i = 0; i < r.seen_cap; i++)
        free(r.seen[i]);
    free(r.seen);
    if (r.in != NULL && r.in != stdin)
        fclose(r.in);
    if (r.out != stdout && fclose(r.out) != 0) {
        fprintf(stderr, "danescan: %s: %s\n", opt.output, strerror(errno));
        return EXIT_USAGE;
    }
    if (r.checked == 0)
        return EXIT_USAGE;
    if (opt.fail_on == FAIL_ON_NEVER)
        return EXIT_OK;
    if (r.criticals > 0)
        return EXIT_CRITICAL;
    if (r.warnings > 0 && opt.fail_on == FAIL_ON_WARNING)
        return EXIT_WARNING;
    return EXIT_OK;
}
