/* main.c - the danescan command: options, input lines, output and the
 * exit status (DESIGN.md, "Command-line contract"); the scanning itself
 * is runner.c's, shared with check_dane. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "batch.h"
#include "json.h"
#include "junit.h"
#include "model.h"
#include "nagios.h"
#include "runner.h"
#include "smtp.h"
#include "text.h"
#include "tools.h"

#define MAX_LINE 1024

enum { EXIT_OK = 0, EXIT_WARNING = 1, EXIT_CRITICAL = 2, EXIT_USAGE = 3 };
enum { FORMAT_JSON, FORMAT_TEXT, FORMAT_NAGIOS, FORMAT_JUNIT };
enum { FAIL_ON_WARNING, FAIL_ON_CRITICAL, FAIL_ON_NEVER };

/* duplicates within this many distinct names are scanned once */
#define RECENT_WINDOW 65536

typedef struct {
    const char *input, *output, *resolver, *trust_anchor, *helo, *summary, *run_id, *shard;
    int format, fail_on, port, concurrency, timeout_s, grace_s, shard_count, per_ip, workers, domain_timeout_s;
    double rate;
    bool trust_ad, allow_private, no_probe, one_cert, require_dane, color;
    bool resume, append, force, quiet, progress;
    time_t at;
    char **domains;
    int n_domains;
} options_t;

typedef struct {
    options_t *opt;
    FILE *out;
    int next_arg;               /* next domain from the command line */
    batch_reader_t in;          /* -f: read without blocking */
    int in_fd;                  /* -1: no -f */
    bool in_open;
    size_t line_no;
    char line[MAX_LINE];        /* the input line being read */
    size_t checked;             /* records of domains (not invalid input) */
    bool write_failed;
    batch_recent_t recent;      /* names seen lately: duplicates */
    batch_set_t done;           /* --resume: records already in the output */
    batch_shard_t shard;
    char run_id[128], shard_text[32];
    batch_summary_t summary;
    size_t total;               /* names expected, for progress; 0: unknown */
    struct timespec started, last_progress;
    bool show_progress;
    report_nagios_t *nagios;    /* --format nagios: the run's report */
    report_nagios_config_t nagios_cfg;
    report_junit_config_t junit_cfg;
} run_t;

static void usage(FILE *f)
{
    fputs("usage: danescan [OPTIONS] [DOMAIN...]\n"
          "  -f, --input FILE        domains, one per line ('-' = stdin, '#' comments)\n"
          "  -o, --output FILE       write results here (default stdout); an existing FILE\n"
          "                          needs --resume, --append or --force\n"
          "      --resume            skip the domains FILE already has, add the rest\n"
          "      --append            add to FILE\n"
          "      --force             overwrite FILE\n"
          "      --format FMT        json (JSON Lines, default) | text | nagios | junit\n"
          "      --resolver ADDR[:PORT][,...]  recursive resolver(s) (default: /etc/resolv.conf)\n"
          "      --trust-anchor FILE root DS/DNSKEY in zone-file syntax (default: " RUNNER_ROOT_KEY ")\n"
          "      --trust-ad          trust the AD bit of a loopback resolver instead of validating\n"
          "      --allow-private     allow probing loopback/private/reserved addresses\n"
          "      --port N            SMTP port (default 25)\n"
          "      --at TIME           evaluate validity at TIME (unix seconds or YYYY-MM-DDTHH:MM:SSZ)\n"
          "      --concurrency N     domains in flight (default 64)\n"
          "  -j, --workers N         event loops, one thread each (default: one per CPU)\n"
          "      --per-ip N          connections to one MX address at once (default 5, 0: no limit)\n"
          "      --rate N            new SMTP connections a second, all in all (default: no limit)\n"
          "      --shard K/N|auto    scan only the names that hash to shard K (0-based) of N;\n"
          "                          auto: Slurm array task or Kubernetes Indexed Job\n"
          "      --shard-count N     the number of shards for --shard auto when the\n"
          "                          scheduler does not say (JOB_COMPLETION_INDEX)\n"
          "      --run-id ID         tag every record (default: time-host-pid, or the Slurm job)\n"
          "      --summary FILE      write the run's summary (counts per verdict, finding) as JSON\n"
          "      --grace SECONDS     on SIGINT/SIGTERM, time the domains in flight get (default 10)\n"
          "  -q, --quiet             no progress, no summary on stderr\n"
          "      --progress          progress on stderr even when it is not a terminal\n"
          "      --timeout SECONDS   per-phase network timeout (default 30)\n"
          "      --domain-timeout SECONDS  give up a domain's probes after this (default: none)\n"
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

/* A run id goes into every record: printable, no blanks, quotes or backslashes. */
static bool run_id_valid(const char *s)
{
    for (; *s; s++)
        if (*s < 0x21 || *s > 0x7e || *s == '"' || *s == '\\')
            return false;
    return true;
}

static int parse_options(int argc, char **argv, options_t *o)
{
    enum { O_FORMAT = 256, O_RESOLVER, O_TA, O_TRUST_AD, O_PRIVATE, O_PORT, O_AT, O_CONC,
           O_TIMEOUT, O_NO_PROBE, O_HELO, O_ONE_CERT, O_REQUIRE, O_FAIL_ON, O_COLOR, O_NO_COLOR,
           O_RESUME, O_APPEND_OUT, O_FORCE, O_SHARD, O_SHARD_COUNT, O_RUN_ID, O_SUMMARY, O_GRACE,
           O_PROGRESS, O_PER_IP, O_RATE, O_DOMAIN_TIMEOUT };
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
        {"resume", no_argument, 0, O_RESUME}, {"append", no_argument, 0, O_APPEND_OUT},
        {"force", no_argument, 0, O_FORCE}, {"shard", required_argument, 0, O_SHARD},
        {"shard-count", required_argument, 0, O_SHARD_COUNT},
        {"run-id", required_argument, 0, O_RUN_ID}, {"summary", required_argument, 0, O_SUMMARY},
        {"grace", required_argument, 0, O_GRACE}, {"quiet", no_argument, 0, 'q'},
        {"progress", no_argument, 0, O_PROGRESS}, {"per-ip", required_argument, 0, O_PER_IP},
        {"rate", required_argument, 0, O_RATE},
        {"domain-timeout", required_argument, 0, O_DOMAIN_TIMEOUT},
        {"version", no_argument, 0, 'V'}, {0, 0, 0, 0},
    };
    int c;

    o->port = 25;
    o->concurrency = 64;
    o->timeout_s = 30;
    o->grace_s = 10;
    o->per_ip = 5;
    /* no-color.org: only a non-empty NO_COLOR counts */
    const char *no_color = getenv("NO_COLOR");
    o->color = isatty(STDOUT_FILENO) && (no_color == NULL || *no_color == '\0');
    while ((c = getopt_long(argc, argv, "f:o:j:qhV", longopts, NULL)) != -1) {
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
            if (!runner_parse_int(optarg, 1, 1024, &o->workers))
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
        case O_RESUME: o->resume = true; break;
        case O_APPEND_OUT: o->append = true; break;
        case O_FORCE: o->force = true; break;
        case O_SHARD: o->shard = optarg; break;
        case O_SHARD_COUNT:
            if (!runner_parse_int(optarg, 1, 1000000, &o->shard_count))
                return fail_usage("--shard-count wants 1-1000000, not", optarg);
            break;
        case O_RUN_ID:
            if (strlen(optarg) == 0 || strlen(optarg) > 120 || !run_id_valid(optarg))
                return fail_usage("--run-id wants 1-120 printable characters without blanks, "
                                  "quotes or backslashes, not", optarg);
            o->run_id = optarg;
            break;
        case O_SUMMARY: o->summary = optarg; break;
        case O_GRACE:
            if (!runner_parse_int(optarg, 0, 3600, &o->grace_s))
                return fail_usage("--grace wants 0-3600 seconds, not", optarg);
            break;
        case O_PER_IP:
            if (!runner_parse_int(optarg, 0, 10000, &o->per_ip))
                return fail_usage("--per-ip wants 0-10000 (0: no limit), not", optarg);
            break;
        case O_RATE: {
            int rate;
            if (!runner_parse_int(optarg, 1, 1000000, &rate))
                return fail_usage("--rate wants 1-1000000 connections a second, not", optarg);
            o->rate = rate;
            break;
        }
        case O_DOMAIN_TIMEOUT:
            if (!runner_parse_int(optarg, 1, 86400, &o->domain_timeout_s))
                return fail_usage("--domain-timeout wants 1-86400 seconds, not", optarg);
            break;
        case 'q': o->quiet = true; break;
        case O_PROGRESS: o->progress = true; break;
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
    if (o->resume + o->append + o->force > 1)
        return fail_usage("--resume, --append and --force exclude each other", NULL);
    if ((o->resume || o->append || o->force) && o->output == NULL)
        return fail_usage("--resume, --append and --force are about an output file: give -o FILE",
                          NULL);
    if (o->resume && o->format != FORMAT_JSON)
        return fail_usage("--resume reads the JSON Lines of an earlier run: use --format json",
                          NULL);
    if ((o->append || o->resume) && (o->format == FORMAT_JUNIT || o->format == FORMAT_NAGIOS))
        return fail_usage("--append: a JUnit or Nagios report is one document, not lines", NULL);
    return 0;
}

/* ---------------------------------------------------------------- output */

static double seconds_since(const struct timespec *start)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

/* At most twice a second, and only as results come in. */
static void progress(run_t *r, bool final)
{
    if (!r->show_progress)
        return;
    if (!final && seconds_since(&r->last_progress) < 0.5)
        return;
    clock_gettime(CLOCK_MONOTONIC, &r->last_progress);
    batch_progress(stderr, &r->summary, r->total, seconds_since(&r->started));
    if (final)
        fputc('\n', stderr);
}

static void emit(run_t *r, model_domain_t *d, uint64_t ms)
{
    report_nagios_state_t sev = report_nagios_verdict_state(d->verdict, r->opt->require_dane);
    int rc = 0;

    r->checked += d->verdict != MODEL_VERDICT_INVALID_INPUT;
    batch_summary_add(&r->summary, d);
    r->summary.warnings += sev == REPORT_NAGIOS_WARNING;
    r->summary.failures += sev == REPORT_NAGIOS_CRITICAL;
    d->run_id = strdup(r->run_id);
    if (r->shard.n > 1)
        d->shard = strdup(r->shard_text);
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
    progress(r, false);
}

static void on_result(void *arg, model_domain_t *d, uint64_t ms)
{
    emit(arg, d, ms);
}

static void emit_invalid(run_t *r, const char *line, const char *why)
{
    model_domain_t *d = calloc(1, sizeof(*d));
    char clean[MAX_LINE], key[MAX_LINE + 2];
    size_t n = 0;

    if (d == NULL)
        return;
    /* the input line, censored to printable ASCII like server text */
    for (const char *p = line; *p && *p != '\n' && n + 1 < sizeof(clean); p++)
        clean[n++] = (*p >= 0x20 && *p < 0x7f) ? *p : '?';
    clean[n] = '\0';
    snprintf(key, sizeof(key), "i:%s", clean);
    if (!batch_shard_mine(&r->shard, key)) {
        r->summary.other_shards++;
        free(d);
        return;
    }
    if (batch_set_has(&r->done, batch_record_key(NULL, clean))) {
        r->summary.resumed++;
        free(d);
        return;
    }
    if (!batch_recent_add(&r->recent, batch_record_key(NULL, clean))) {
        r->summary.duplicates++;
        free(d);
        return;
    }
    d->input = strdup(clean);
    d->error = strdup(why);
    d->verdict = MODEL_VERDICT_INVALID_INPUT;
    emit(r, d, 0);
}

/* The next input line or argument; NULL at the end, RUNNER_LATER when
 * the input has no whole line ready. */
static const char *next_line(run_t *r)
{
    if (r->next_arg < r->opt->n_domains)
        return r->opt->domains[r->next_arg++];
    while (r->in_open) {
        const char *p = r->line;
        switch (batch_reader_next(&r->in, r->line, sizeof(r->line))) {
        case BATCH_EOF:
            r->in_open = false;
            return NULL;
        case BATCH_LATER:
            return RUNNER_LATER;
        case BATCH_TOO_LONG:
            r->line_no++;
            emit_invalid(r, r->line, "line longer than 1023 characters");
            continue;
        case BATCH_LINE:
            break;
        }
        r->line_no++;
        p += strspn(p, " \t");
        if (*p == '#' || *p == '\r' || *p == '\0')
            continue;
        return r->line;
    }
    return NULL;
}

/* The runner's source of names: lines that are not domains get their
 * record here; duplicates, names of other shards and names the output
 * already has (--resume) are skipped. */
static const char *next_domain(void *arg, char *buf, size_t len)
{
    run_t *r = arg;
    const char *line;

    while ((line = next_line(r)) != NULL) {
        const char *why = NULL;
        if (line == RUNNER_LATER)
            return line;
        const char *domain = runner_domain_name(line, buf, len, &why);
        if (domain == NULL) {
            emit_invalid(r, line, why);
            continue;
        }
        if (!batch_shard_mine(&r->shard, domain)) {
            r->summary.other_shards++;
            continue;
        }
        if (batch_set_has(&r->done, batch_record_key(domain, NULL))) {
            r->summary.resumed++;
            continue;
        }
        if (!batch_recent_add(&r->recent, batch_hash(domain))) {
            r->summary.duplicates++;
            continue;
        }
        return domain;
    }
    return NULL;
}

static void on_signal(int sig)
{
    (void)sig;
    runner_interrupt();
}

/* Without SA_RESTART: a signal ends a wait at once. */
static void catch_signals(void)
{
    struct sigaction sa = {.sa_handler = on_signal};

    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

/* Lines that may hold a name, for the progress line's total: only for a
 * regular file, which can be read twice. */
static size_t count_candidates(const char *path)
{
    FILE *f = fopen(path, "r");
    char buf[MAX_LINE];
    size_t n = 0;

    if (f == NULL)
        return 0;
    while (fgets(buf, sizeof(buf), f) != NULL) {
        const char *p = buf + strspn(buf, " \t");
        n += *p != '#' && *p != '\n' && *p != '\r' && *p != '\0';
    }
    fclose(f);
    return n;
}

/* -o FILE: an existing file is only replaced with --force, added to with
 * --append or --resume; --resume first learns what it holds. */
static int open_output(run_t *r)
{
    const options_t *o = r->opt;
    struct stat st;
    size_t records = 0;
    char err[512];

    r->out = stdout;
    if (o->output == NULL)
        return 0;
    if (stat(o->output, &st) == 0 && S_ISREG(st.st_mode) && !o->resume && !o->append &&
        !o->force) {
        fprintf(stderr, "danescan: %s exists: give --resume to skip the domains it already has, "
                        "--append to add to it, or --force to overwrite it\n", o->output);
        return -1;
    }
    if (o->resume) {
        if (batch_resume_load(o->output, &r->done, &records, err, sizeof(err)) != 0) {
            fprintf(stderr, "danescan: --resume: %s\n", err);
            return -1;
        }
        if (!o->quiet)
            fprintf(stderr, "danescan: --resume: %zu record(s) already in %s\n", records,
                    o->output);
    }
    r->out = fopen(o->output, o->resume || o->append ? "a" : "w");
    if (r->out == NULL) {
        fprintf(stderr, "danescan: %s: %s\n", o->output, strerror(errno));
        return -1;
    }
    return 0;
}

static int write_summary(run_t *r, runner_t *runner, const char *status)
{
    runner_stats_t stats;
    json_t *extra, *obj;
    FILE *f;
    int rc = -1;

    runner_stats(runner, &stats);
    extra = json_pack("{s:s, s:s, s:s, s:f, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "run_id", r->run_id,
                      "shard", r->shard_text, "status", status,
                      "seconds", seconds_since(&r->started),
                      "dns_queries", (json_int_t)stats.dns_queries,
                      "dns_coalesced", (json_int_t)stats.dns_coalesced,
                      "dns_cached", (json_int_t)stats.dns_cached,
                      "probes", (json_int_t)stats.probes,
                      "probes_shared", (json_int_t)stats.probes_shared,
                      "workers", (json_int_t)stats.workers,
                      "in_flight_abandoned", (json_int_t)stats.in_flight);
    obj = batch_summary_json(&r->summary, extra);
    json_decref(extra);
    if (obj == NULL)
        return -1;
    f = fopen(r->opt->summary, "w");
    if (f != NULL && json_dumpf(obj, f, JSON_INDENT(2) | JSON_SORT_KEYS) == 0 &&
        fputc('\n', f) != EOF)
        rc = 0;
    if (f != NULL && fclose(f) != 0)
        rc = -1;
    if (rc != 0)
        fprintf(stderr, "danescan: --summary %s: %s\n", r->opt->summary, strerror(errno));
    json_decref(obj);
    return rc;
}

/* Before the run: nothing was written, everything is given back. */
static int give_up(run_t *r, runner_t *runner)
{
    runner_free(runner);
    batch_set_clear(&r->done);
    if (r->in_fd > STDIN_FILENO)
        close(r->in_fd);
    return EXIT_USAGE;
}

int main(int argc, char **argv)
{
    options_t opt = {0};
    run_t r = {.opt = &opt, .recent = {.window = RECENT_WINDOW}};
    runner_t *runner = NULL;
    runner_status_t st;
    char err[512];
    int rc;

    if (argc > 1 && strcmp(argv[1], "tlsa") == 0)
        return tool_tlsa_main(argc - 1, argv + 1);
    if (argc > 1 && strcmp(argv[1], "rollover") == 0)
        return tool_rollover_main(argc - 1, argv + 1);
    clock_gettime(CLOCK_MONOTONIC, &r.started);
    r.last_progress = r.started;
    if ((rc = parse_options(argc, argv, &opt)) != 0)
        return rc;
    if (opt.shard != NULL &&
        !batch_shard_parse(opt.shard, (unsigned)opt.shard_count, &r.shard, err, sizeof(err)))
        return fail_usage(err, NULL);
    if (opt.shard == NULL)
        r.shard = (batch_shard_t){.k = 0, .n = 1};
    snprintf(r.shard_text, sizeof(r.shard_text), "%u/%u", r.shard.k, r.shard.n);
    if (opt.run_id != NULL)
        snprintf(r.run_id, sizeof(r.run_id), "%s", opt.run_id);
    else if (r.shard.run_id[0])
        snprintf(r.run_id, sizeof(r.run_id), "%s", r.shard.run_id);
    else
        batch_run_id(r.run_id, sizeof(r.run_id));
    runner_config_t runner_cfg = {
        .resolver = opt.resolver,
        .trust_anchor = opt.trust_anchor,
        .trust_ad = opt.trust_ad,
        .helo = opt.helo,
        .port = opt.port,
        .timeout_ms = opt.timeout_s * 1000,
        .at = opt.at,
        .concurrency = opt.concurrency,
        .workers = opt.workers,
        .grace_ms = opt.grace_s * 1000,
        .domain_timeout_ms = opt.domain_timeout_s * 1000,
        .per_ip = opt.per_ip > 0 ? opt.per_ip : -1,
        .rate = opt.rate,
        .no_probe = opt.no_probe,
        .one_cert = opt.one_cert,
        .allow_private = opt.allow_private,
    };
    st = runner_new(&runner_cfg, &runner, err, sizeof(err));
    if (st != RUNNER_OK) {
        fprintf(stderr, "danescan: %s\n", err);
        return EXIT_USAGE;
    }
    r.in_fd = -1;
    if (opt.input != NULL) {
        struct stat sb;
        r.in_fd = strcmp(opt.input, "-") == 0 ? STDIN_FILENO : open(opt.input, O_RDONLY);
        if (r.in_fd < 0 || batch_reader_init(&r.in, r.in_fd) != 0) {
            fprintf(stderr, "danescan: %s: %s\n", opt.input, strerror(errno));
            return give_up(&r, runner);
        }
        r.in_open = true;
        if (r.in_fd != STDIN_FILENO && fstat(r.in_fd, &sb) == 0 && S_ISREG(sb.st_mode))
            r.total = count_candidates(opt.input);
    }
    r.total += (size_t)opt.n_domains;
    r.total /= r.shard.n;
    if (open_output(&r) != 0)
        return give_up(&r, runner);
    r.show_progress = !opt.quiet && (opt.progress || isatty(STDERR_FILENO));
    r.junit_cfg = (report_junit_config_t){
        .require_dane = opt.require_dane,
        .fail_at = opt.fail_on == FAIL_ON_WARNING ? REPORT_NAGIOS_WARNING : REPORT_NAGIOS_CRITICAL,
    };
    r.nagios_cfg = (report_nagios_config_t){.require_dane = opt.require_dane, .domain_lines = true};
    if (opt.format == FORMAT_NAGIOS && (r.nagios = report_nagios_new(&r.nagios_cfg)) == NULL) {
        fprintf(stderr, "danescan: out of memory\n");
        return give_up(&r, runner);
    }
    if (opt.format == FORMAT_JUNIT && report_junit_begin(r.out) != 0)
        r.write_failed = true;
    catch_signals();

    st = runner_run(runner, next_domain, on_result, &r, 0);

    progress(&r, true);
    if (!opt.quiet && (st == RUNNER_OK || st == RUNNER_INTERRUPTED))
        batch_summary_print(stderr, &r.summary, seconds_since(&r.started));
    if (opt.summary != NULL && write_summary(&r, runner, runner_status_name(st)) != 0)
        r.write_failed = true;
    if (st != RUNNER_OK) {
        const char *why = st == RUNNER_INTERRUPTED ? "interrupted" : "event loop failed";
        /* every finished domain is written, line by line; the documents
         * are closed; what was in flight is abandoned */
        fprintf(stderr, "danescan: %s: %zu domain(s) in flight abandoned%s\n", why,
                runner_in_flight(runner),
                opt.output != NULL ? " (run again with --resume to finish the list)" : "");
        if (opt.format == FORMAT_JUNIT)
            report_junit_end(r.out);
        if (opt.format == FORMAT_NAGIOS)
            report_nagios_write_abort(r.nagios, r.out, REPORT_NAGIOS_UNKNOWN, why,
                                      seconds_since(&r.started));
        if (fflush(r.out) != 0 || ferror(r.out))
            fprintf(stderr, "danescan: writing the report failed: %s\n", strerror(errno));
        /* the scans in flight cannot be torn down (runner_free): leave
         * without exit handlers, which would only count what was
         * abandoned as leaked */
        _exit(EXIT_USAGE);
    }
    runner_free(runner);
    if (opt.format == FORMAT_JUNIT && report_junit_end(r.out) != 0)
        r.write_failed = true;
    if (opt.format == FORMAT_NAGIOS) {
        if (report_nagios_write(r.nagios, r.out, seconds_since(&r.started)) != 0)
            r.write_failed = true;
        report_nagios_free(r.nagios);
    }
    batch_recent_clear(&r.recent);
    batch_set_clear(&r.done);
    batch_summary_free(&r.summary);
    if (r.in_fd > STDIN_FILENO)
        close(r.in_fd);
    if (r.out != stdout && fclose(r.out) != 0) {
        fprintf(stderr, "danescan: %s: %s\n", opt.output, strerror(errno));
        return EXIT_USAGE;
    }
    if (r.write_failed) {
        fprintf(stderr, "danescan: writing the report failed\n");
        return EXIT_USAGE;
    }
    if (r.checked == 0)
        return r.summary.resumed + r.summary.other_shards + r.summary.duplicates > 0 ? EXIT_OK
                                                                                      : EXIT_USAGE;
    if (opt.fail_on == FAIL_ON_NEVER)
        return EXIT_OK;
    if (r.summary.failures > 0)
        return EXIT_CRITICAL;
    if (r.summary.warnings > 0 && opt.fail_on == FAIL_ON_WARNING)
        return EXIT_WARNING;
    return EXIT_OK;
}
