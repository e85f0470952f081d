/* check_dane.c - the Nagios/Icinga plugin: one mail domain, one status
 * line, long output, performance data and the exit status of the
 * Monitoring Plugins Development Guidelines.
 *
 * States (DESIGN.md "Nagios/CI mapping", report/nagios.h): the verdict's,
 * made worse by the certificate-expiry thresholds -w/-c->  UNKNOWN only
 * for usage errors, internal errors and a resolver that cannot validate:
 * that is decided by looking up the root DNSKEY RRset alongside the scan
 * (runner_check_resolver); unless it comes out secure, no verdict about
 * the domain can be trusted.
 *
 * Time: -t SECONDS bounds the whole check.  Each DNS try gets SECONDS/8
 * (at most 2 s, two tries per server) and each SMTP/TLS phase SECONDS/3,
 * so an unresponsive server ends as an address `timeout` (a WARNING,
 * dane-incomplete) while there is still time to report it.  Should the
 * check as a whole overrun, it ends in the timeout state: CRITICAL unless
 * -t SECONDS:STATE says otherwise, as for the Monitoring Plugins' own
 * checks.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "model.h"
#include "nagios.h"
#include "runner.h"

#define CHECK_DEFAULT_TIMEOUT_S 10
/* room left after the deadline to write the report */
#define CHECK_REPORT_MARGIN_MS 50

typedef struct {
    const char *domain;
    runner_config_t runner;
    bool require_dane;
    int verbosity;
    int timeout_s;
    report_nagios_state_t timeout_state;
    bool have_warn, have_crit;
    report_nagios_range_t warn, crit;
} check_options_t;

typedef struct {
    const check_options_t *opt;
    runner_t *runner;
    report_nagios_t *report;
    bool fed;                   /* the one domain was handed out */
    bool scanned;               /* and its result came back */
    bool resolver_checked;
    bool resolver_validates;
    char resolver_why[512];
    bool report_failed;
} check_t;

/* Static: after a deadline the scan is still in flight and cannot be
 * cancelled (runner.h), so the runner and the report stay alive until
 * exit. */
static check_t check;

static void check_usage(FILE *f)
{
    fputs("Usage: check_dane -H DOMAIN [-w DAYS] [-c DAYS] [-t SECONDS[:STATE]] [-v]...\n"
          "                  [--require-dane] [--resolver ADDR[:PORT][,...]] [--trust-anchor FILE]\n"
          "                  [--trust-ad] [--allow-private] [-p PORT] [--one-cert] [--at TIME]\n", f);
}

static void check_help(void)
{
    printf("check_dane %s - DANE (RFC 7672) of a mail domain's MX hosts, as a sending MTA checks it\n\n",
           DANESCAN_VERSION);
    check_usage(stdout);
    fputs("\n"
          "  -H, --hostname DOMAIN    the mail domain (its MX hosts are checked)\n"
          "  -w, --warning DAYS       WARNING when the certificate expiry is in this range\n"
          "  -c, --critical DAYS      CRITICAL when it is in this range\n"
          "                           Range syntax of the Monitoring Plugins guidelines (N:, ~:N,\n"
          "                           N:M, @N:M), except that a bare N means \"fewer than N days\"\n"
          "                           (N:), as for check_http -C.  Counted: every leaf certificate\n"
          "                           served and, under DANE-TA, the chain up to the matched CA;\n"
          "                           DANE-EE too, although senders ignore its expiry (RFC 7671 5.1).\n"
          "  -t, --timeout SECONDS[:STATE]  end the whole check within SECONDS (default 10); each\n"
          "                           DNS try gets SECONDS/8 (at most 2 s), each SMTP/TLS phase\n"
          "                           SECONDS/3; a check that still overruns ends in STATE\n"
          "                           (OK, WARNING, CRITICAL, UNKNOWN or 0-3; default CRITICAL)\n"
          "  -v, --verbose            more long output: -v findings, -vv every certificate and\n"
          "                           TLSA record\n"
          "      --require-dane       no-dane and insecure are CRITICAL (default OK)\n"
          "      --resolver ADDR[:PORT][,...]  recursive resolver(s) (default: /etc/resolv.conf)\n"
          "      --trust-anchor FILE  root DS/DNSKEY in zone-file syntax (default: " RUNNER_ROOT_KEY ")\n"
          "      --trust-ad           trust the AD bit of a loopback resolver instead of validating\n"
          "      --allow-private      allow probing loopback/private/reserved addresses\n"
          "  -p, --port N             SMTP port (default 25)\n"
          "      --one-cert           check only the certificate the server prefers\n"
          "      --at TIME            judge validity at TIME (unix seconds or YYYY-MM-DDTHH:MM:SSZ)\n"
          "  -h, --help               this text\n"
          "  -V, --version            the version\n"
          "\n"
          "States: OK dane-valid, null-mx, no-dane, insecure; WARNING dane-partial, dane-incomplete;\n"
          "CRITICAL dane-invalid, dnssec-bogus, dns-error, nxdomain (and no-dane, insecure with\n"
          "--require-dane); certificate expiry by -w/-c; UNKNOWN for usage and internal errors and\n"
          "when the resolver cannot validate (the root DNSKEY RRset does not come out secure).\n"
          "Performance data: mx, addresses_ok, addresses_failed, cert_days_min;W;C, time.\n",
          stdout);
}

/* Monitoring Plugins guidelines: even a usage error is one status line
 * on stdout, and UNKNOWN. */
__attribute__((format(printf, 1, 2)))
static int check_usage_error(const char *fmt, ...)
{
    va_list ap;

    fputs("DANE UNKNOWN - ", stdout);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    fputc('\n', stdout);
    check_usage(stdout);
    return REPORT_NAGIOS_UNKNOWN;
}

static bool check_parse_state(const char *s, report_nagios_state_t *out)
{
    static const char *const names[] = {"OK", "WARNING", "CRITICAL", "UNKNOWN"};

    for (int i = 0; i < 4; i++) {
        if (strcasecmp(s, names[i]) == 0 || (s[0] == '0' + i && s[1] == '\0')) {
            *out = (report_nagios_state_t)i;
            return true;
        }
    }
    return false;
}

/* SECONDS[:STATE] */
static bool check_parse_timeout(const char *s, check_options_t *o)
{
    char buf[32];
    char *colon;

    if (strlen(s) >= sizeof(buf))
        return false;
    strcpy(buf, s);
    colon = strchr(buf, ':');
    if (colon != NULL) {
        *colon = '\0';
        if (!check_parse_state(colon + 1, &o->timeout_state))
            return false;
    }
    return runner_parse_int(buf, 1, 3600, &o->timeout_s);
}

static int check_parse_options(int argc, char **argv, check_options_t *o, char *name, size_t len)
{
    enum { O_REQUIRE = 256, O_RESOLVER, O_TA, O_TRUST_AD, O_PRIVATE, O_ONE_CERT, O_AT };
    static const struct option longopts[] = {
        {"hostname", required_argument, 0, 'H'}, {"warning", required_argument, 0, 'w'},
        {"critical", required_argument, 0, 'c'}, {"timeout", required_argument, 0, 't'},
        {"verbose", no_argument, 0, 'v'}, {"port", required_argument, 0, 'p'},
        {"require-dane", no_argument, 0, O_REQUIRE}, {"resolver", required_argument, 0, O_RESOLVER},
        {"trust-anchor", required_argument, 0, O_TA}, {"trust-ad", no_argument, 0, O_TRUST_AD},
        {"allow-private", no_argument, 0, O_PRIVATE}, {"one-cert", no_argument, 0, O_ONE_CERT},
        {"at", required_argument, 0, O_AT}, {"help", no_argument, 0, 'h'},
        {"version", no_argument, 0, 'V'}, {0, 0, 0, 0},
    };
    char err[200];
    const char *why = NULL;
    int c;

    o->timeout_s = CHECK_DEFAULT_TIMEOUT_S;
    o->timeout_state = REPORT_NAGIOS_CRITICAL;
    opterr = 0;     /* our own message, on stdout */
    while ((c = getopt_long(argc, argv, ":H:w:c:t:vp:hV", longopts, NULL)) != -1) {
        switch (c) {
        case 'H':
            /* runner_domain_name reads a line's first word: -H is all of it */
            if (strpbrk(optarg, " \t\r\n") != NULL)
                return check_usage_error("-H '%s': a domain name has no blanks", optarg);
            o->domain = runner_domain_name(optarg, name, len, &why);
            if (o->domain == NULL)
                return check_usage_error("-H '%s': %s", optarg, why);
            break;
        case 'w':
            if (report_nagios_days_parse(optarg, &o->warn, err, sizeof(err)) != 0)
                return check_usage_error("-w: %s", err);
            o->have_warn = true;
            break;
        case 'c':
            if (report_nagios_days_parse(optarg, &o->crit, err, sizeof(err)) != 0)
                return check_usage_error("-c: %s", err);
            o->have_crit = true;
            break;
        case 't':
            if (!check_parse_timeout(optarg, o))
                return check_usage_error("-t wants SECONDS (1-3600) or SECONDS:STATE, not '%s'", optarg);
            break;
        case 'v': o->verbosity++; break;
        case 'p':
            if (!runner_parse_int(optarg, 1, 65535, &o->runner.port))
                return check_usage_error("--port wants 1-65535, not '%s'", optarg);
            break;
        case O_REQUIRE: o->require_dane = true; break;
        case O_RESOLVER: o->runner.resolver = optarg; break;
        case O_TA: o->runner.trust_anchor = optarg; break;
        case O_TRUST_AD: o->runner.trust_ad = true; break;
        case O_PRIVATE: o->runner.allow_private = true; break;
        case O_ONE_CERT: o->runner.one_cert = true; break;
        case O_AT:
            if (!runner_parse_time(optarg, &o->runner.at))
                return check_usage_error("--at wants unix seconds or YYYY-MM-DDTHH:MM:SSZ, not '%s'",
                                         optarg);
            break;
        case 'h': check_help(); exit(REPORT_NAGIOS_OK);
        case 'V': printf("check_dane (danescan) %s\n", DANESCAN_VERSION); exit(REPORT_NAGIOS_OK);
        case ':': return check_usage_error("%s needs a value", argv[optind - 1]);
        default:
            /* a short option names itself in optopt; a long one is argv's */
            if (optopt > 0 && optopt < 128)
                return check_usage_error("unknown option '-%c'", optopt);
            return check_usage_error("unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return check_usage_error("unexpected argument '%s' (the domain goes after -H)", argv[optind]);
    if (o->domain == NULL)
        return check_usage_error("no domain: give -H DOMAIN");
    return 0;
}

/* ---------------------------------------------------------------- run */

static const char *check_next(void *arg, char *buf, size_t len)
{
    check_t *c = arg;

    (void)buf;
    (void)len;
    if (c->fed)
        return NULL;
    c->fed = true;
    return c->opt->domain;
}

static void check_on_result(void *arg, model_domain_t *d, uint64_t ms)
{
    check_t *c = arg;

    (void)ms;
    c->scanned = true;
    if (report_nagios_add(c->report, d) != 0)
        c->report_failed = true;
    model_domain_free(d);
}

static void check_on_resolver(void *arg, const runner_resolver_t *res)
{
    check_t *c = arg;

    c->resolver_checked = true;
    c->resolver_validates = res->validates;
    if (!res->validates)
        snprintf(c->resolver_why, sizeof(c->resolver_why), "%s", res->why);
}

static uint64_t check_elapsed_ms(const struct timespec *start)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)(now.tv_sec - start->tv_sec) * 1000 +
           (uint64_t)((now.tv_nsec - start->tv_nsec) / 1000000);
}

int main(int argc, char **argv)
{
    static check_options_t opt;
    check_t *c = &check;
    report_nagios_config_t report_cfg;
    struct timespec started;
    char name[256], err[512], why[700];
    uint64_t budget_ms, spent;
    runner_status_t st;
    int rc, state;

    clock_gettime(CLOCK_MONOTONIC, &started);
    c->opt = &opt;
    if ((rc = check_parse_options(argc, argv, &opt, name, sizeof(name))) != 0)
        return rc;
    budget_ms = (uint64_t)opt.timeout_s * 1000;
    opt.runner.timeout_ms = (int)(budget_ms / 3);
    opt.runner.dns_timeout_ms = (int)(budget_ms / 8 < 2000 ? budget_ms / 8 : 2000);
    opt.runner.dns_tries = 2;
    opt.runner.concurrency = 1;
    report_cfg = (report_nagios_config_t){
        .require_dane = opt.require_dane,
        .warn_days = opt.have_warn ? &opt.warn : NULL,
        .crit_days = opt.have_crit ? &opt.crit : NULL,
        .verbosity = opt.verbosity,
    };
    c->report = report_nagios_new(&report_cfg);
    if (c->report == NULL) {
        printf("DANE UNKNOWN - out of memory\n");
        return REPORT_NAGIOS_UNKNOWN;
    }
    st = runner_new(&opt.runner, &c->runner, err, sizeof(err));
    if (st != RUNNER_OK) {
        printf("DANE UNKNOWN - %s\n", err);
        report_nagios_free(c->report);
        return REPORT_NAGIOS_UNKNOWN;
    }
    if (runner_check_resolver(c->runner, check_on_resolver, c) != 0) {
        printf("DANE UNKNOWN - cannot start the resolver check (out of memory)\n");
        return REPORT_NAGIOS_UNKNOWN;
    }
    spent = check_elapsed_ms(&started);
    st = runner_run(c->runner, check_next, check_on_result, c,
                    spent + CHECK_REPORT_MARGIN_MS < budget_ms
                        ? budget_ms - spent - CHECK_REPORT_MARGIN_MS : 1);

    switch (st) {
    case RUNNER_OK:
        break;
    case RUNNER_DEADLINE:
        snprintf(why, sizeof(why), "check timed out after %d s (%s)", opt.timeout_s,
                 !c->scanned ? "the scan of the domain did not finish"
                 : !c->resolver_checked ? "the resolver check did not finish" : "?");
        report_nagios_write_abort(c->report, stdout, opt.timeout_state, why,
                                  (double)check_elapsed_ms(&started) / 1000.0);
        return (int)opt.timeout_state;
    default:
        snprintf(why, sizeof(why), "internal error: %s", runner_status_name(st));
        report_nagios_write_abort(c->report, stdout, REPORT_NAGIOS_UNKNOWN, why,
                                  (double)check_elapsed_ms(&started) / 1000.0);
        return REPORT_NAGIOS_UNKNOWN;
    }
    runner_free(c->runner);
    c->runner = NULL;
    if (!c->resolver_validates) {
        /* whatever the scan concluded rests on answers nobody validated */
        snprintf(why, sizeof(why), "the resolver cannot validate: %s", c->resolver_why);
        state = REPORT_NAGIOS_UNKNOWN;
        rc = report_nagios_write_abort(c->report, stdout, REPORT_NAGIOS_UNKNOWN, why,
                                       (double)check_elapsed_ms(&started) / 1000.0);
    } else if (c->report_failed) {
        state = REPORT_NAGIOS_UNKNOWN;
        rc = report_nagios_write_abort(c->report, stdout, REPORT_NAGIOS_UNKNOWN,
                                       "internal error: out of memory",
                                       (double)check_elapsed_ms(&started) / 1000.0);
    } else {
        state = (int)report_nagios_state(c->report);
        rc = report_nagios_write(c->report, stdout, (double)check_elapsed_ms(&started) / 1000.0);
    }
    report_nagios_free(c->report);
    return rc == 0 ? state : REPORT_NAGIOS_UNKNOWN;
}
