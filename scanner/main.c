/* main.c - the danescan command: options, input lines, output and the
 * exit status (DESIGN.md, "Command-line contract"); the scanning itself
 * is runner.c's, shared with check_dane. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "json.h"
#include "junit.h"
#include "model.h"
#include "nagios.h"
#include "runner.h"
#include "smtp.h"
#include "text.h"

#define MAX_LINE 1024

enum { EXIT_OK = 0, EXIT_WARNING = 1, EXIT_CRITICAL = 2, EXIT_USAGE = 3 };
enum { FORMAT_JSON, FORMAT_TEXT, FORMAT_NAGIOS, FORMAT_JUNIT };
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
    FILE *in, *out;
    int next_arg;               /* next domain from the command line */
    size_t line_no;
    char line[MAX_LINE];        /* the input line being read */
    size_t checked, warnings, criticals, invalid;
    bool write_failed;
    char **seen;                /* open-addressing set of scanned names */
    size_t seen_cap, seen_n;
    report_nagios_t *nagios;    /* --format nagios: the run's report */
    report_nagios_config_t nagios_cfg;
    report_junit_config_t junit_cfg;
} run_t;

static void usage(FILE *f)
{
    fputs("usage: danescan [OPTIONS] [DOMAIN...]\n"
          "  -f, --input FILE        domains, one per line ('-' = stdin, '#' comments)\n"
          "  -o, --output FILE       write results here (default stdout)\n"
          "      --format FMT        json (JSON Lines, default) | text | nagios | junit\n"
          "      --resolver ADDR[:PORT][,...]  recursive resolver(s) (default: /etc/resolv.conf)\n"
          "      --trust-anchor FILE root DS/DNSKEY in zone-file syntax (default: " RUNNER_ROOT_KEY ")\n"
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
    /* no-color.org: only a non-empty NO_COLOR counts */
    const char *no_color = getenv("NO_COLOR");
    o->color = isatty(STDOUT_FILENO) && (no_color == NULL || *no_color == '\0');
    while ((c = getopt_long(argc, argv, "f:o:j:hV", longopts, NULL)) != -1) {
        switch (c) {
        case 'f': o->input = optarg; break;
        case 'o': o->output = optarg; break;
        case O_FORMAT:
            if (strcmp(optarg, "json") == 0)
                o->format = FORMAT_JSON;
            else if (strcmp(optarg, "text") == 0)
                o->format = FORMAT_TEXT;
            else if (strcmp(optarg, "nagios") == 0)
                o->format = FORMAT_NAGIOS;
            else if (strcmp(optarg, "junit") == 0)
                o->format = FORMAT_JUNIT;
            else
                return fail_usage("unknown format (json, text, nagios or junit):", optarg);
            break;
        case O_RESOLVER: o->resolver = optarg; break;
        case O_TA: o->trust_anchor = optarg; break;
        case O_TRUST_AD: o->trust_ad = true; break;
        case O_PRIVATE: o->allow_private = true; break;
        case O_PORT:
            if (!runner_parse_int(optarg, 1, 65535, &o->port))
                return fail_usage("--port wants 1-65535, not", optarg);
            break;
        case O_AT:
            if (!runner_parse_time(optarg, &o->at))
                return fail_usage("--at wants unix seconds or YYYY-MM-DDTHH:MM:SSZ, not", optarg);
            break;
        case O_CONC:
            if (!runner_parse_int(optarg, 1, 100000, &o->concurrency))
                return fail_usage("--concurrency wants 1-100000, not", optarg);
            break;
        case 'j':
            /* one event loop for now; the option is accepted so scripts keep working */
            if (!runner_parse_int(optarg, 1, 1024, &workers))
                return fail_usage("--workers wants 1-1024, not", optarg);
            break;
        case O_TIMEOUT:
            if (!runner_parse_int(optarg, 1, 3600, &o->timeout_s))
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

static void emit(run_t *r, model_domain_t *d, uint64_t ms)
{
    report_nagios_state_t sev = report_nagios_verdict_state(d->verdict, r->opt->require_dane);
    int rc = 0;

    if (d->verdict == MODEL_VERDICT_INVALID_INPUT)
        r->invalid++;
    else
        r->checked++;
    r->warnings += sev == REPORT_NAGIOS_WARNING;
    r->criticals += sev == REPORT_NAGIOS_CRITICAL;
    switch (r->opt->format) {
    case FORMAT_TEXT:
        rc = report_text_write(r->out, d, r->opt->color);
        break;
    case FORMAT_NAGIOS:
        rc = report_nagios_add(r->nagios, d);
        break;
    case FORMAT_JUNIT:
        rc = report_junit_write(r->out, d, (double)ms / 1000.0, &r->junit_cfg);
        break;
    default:
        rc = report_json_write(r->out, d);
        break;
    }
    if (rc != 0)
        r->write_failed = true;
    model_domain_free(d);
}

static void on_result(void *arg, model_domain_t *d, uint64_t ms)
{
    emit(arg, d, ms);
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
    emit(r, d, 0);
}

/* The next input line or argument; NULL at the end. */
static const char *next_line(run_t *r)
{
    char *buf = r->line;
    size_t len = sizeof(r->line);

    if (r->next_arg < r->opt->n_domains)
        return r->opt->domains[r->next_arg++];
    while (r->in != NULL && fgets(buf, (int)len, r->in) != NULL) {
        size_t n = strlen(buf);
        const char *p = buf;
        r->line_no++;
        if (n == len - 1 && buf[n - 1] != '\n') {
            /* a full buffer: fine if the line ends right here */
            int c = fgetc(r->in);
            if (c != EOF && c != '\n') {
                while ((c = fgetc(r->in)) != EOF && c != '\n')
                    ;
                emit_invalid(r, buf, "line longer than 1023 characters");
                continue;
            }
        }
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '#' || *p == '\n' || *p == '\r' || *p == '\0')
            continue;
        return buf;
    }
    return NULL;
}

/* The runner's source of names: lines that are not domains get their
 * record here, duplicates are scanned once. */
static const char *next_domain(void *arg, char *buf, size_t len)
{
    run_t *r = arg;
    const char *line;

    while ((line = next_line(r)) != NULL) {
        const char *why = NULL;
        const char *domain = runner_domain_name(line, buf, len, &why);
        if (domain == NULL) {
            emit_invalid(r, line, why);
            continue;
        }
        if (seen_add(r, domain))
            return domain;
    }
    return NULL;
}

static void on_signal(int sig)
{
    (void)sig;
    runner_interrupt();
}

static double seconds_since(const struct timespec *start)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

int main(int argc, char **argv)
{
    options_t opt = {0};
    run_t r = {.opt = &opt};
    runner_t *runner = NULL;
    runner_status_t st;
    struct timespec started;
    char err[512];
    int rc;

    clock_gettime(CLOCK_MONOTONIC, &started);
    if ((rc = parse_options(argc, argv, &opt)) != 0)
        return rc;
    runner_config_t runner_cfg = {
        .resolver = opt.resolver,
        .trust_anchor = opt.trust_anchor,
        .trust_ad = opt.trust_ad,
        .helo = opt.helo,
        .port = opt.port,
        .timeout_ms = opt.timeout_s * 1000,
        .at = opt.at,
        .concurrency = opt.concurrency,
        .no_probe = opt.no_probe,
        .one_cert = opt.one_cert,
        .allow_private = opt.allow_private,
    };
    st = runner_new(&runner_cfg, &runner, err, sizeof(err));
    if (st != RUNNER_OK) {
        fprintf(stderr, "danescan: %s\n", err);
        return EXIT_USAGE;
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
    r.junit_cfg = (report_junit_config_t){
        .require_dane = opt.require_dane,
        .fail_at = opt.fail_on == FAIL_ON_WARNING ? REPORT_NAGIOS_WARNING : REPORT_NAGIOS_CRITICAL,
    };
    r.nagios_cfg = (report_nagios_config_t){.require_dane = opt.require_dane, .domain_lines = true};
    if (opt.format == FORMAT_NAGIOS && (r.nagios = report_nagios_new(&r.nagios_cfg)) == NULL) {
        fprintf(stderr, "danescan: out of memory\n");
        return EXIT_USAGE;
    }
    if (opt.format == FORMAT_JUNIT && report_junit_begin(r.out) != 0)
        r.write_failed = true;
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);

    st = runner_run(runner, next_domain, on_result, &r, 0);

    if (st != RUNNER_OK) {
        const char *why = st == RUNNER_INTERRUPTED ? "interrupted" : "event loop failed";
        /* what is finished is already written; the documents are closed */
        fprintf(stderr, "danescan: %s: %zu domain(s) not finished\n", why,
                runner_in_flight(runner));
        if (opt.format == FORMAT_JUNIT)
            report_junit_end(r.out);
        if (opt.format == FORMAT_NAGIOS)
            report_nagios_write_abort(r.nagios, r.out, REPORT_NAGIOS_UNKNOWN, why,
                                      seconds_since(&started));
        fflush(r.out);
        return EXIT_USAGE;
    }
    runner_free(runner);
    if (opt.format == FORMAT_JUNIT && report_junit_end(r.out) != 0)
        r.write_failed = true;
    if (opt.format == FORMAT_NAGIOS) {
        if (report_nagios_write(r.nagios, r.out, seconds_since(&started)) != 0)
            r.write_failed = true;
        report_nagios_free(r.nagios);
    }
    for (size_t i = 0; i < r.seen_cap; i++)
        free(r.seen[i]);
    free(r.seen);
    if (r.in != NULL && r.in != stdin)
        fclose(r.in);
    if (r.out != stdout && fclose(r.out) != 0) {
        fprintf(stderr, "danescan: %s: %s\n", opt.output, strerror(errno));
        return EXIT_USAGE;
    }
    if (r.write_failed) {
        fprintf(stderr, "danescan: writing the report failed\n");
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
