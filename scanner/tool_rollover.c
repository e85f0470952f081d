/* tool_rollover.c - danescan rollover DOMAIN --next FILE: may the MX
 * servers switch to their next key or certificate yet?
 *
 * RULES A8 and the operators' guides (seeds/mx-server-and-tls.txt,
 * dane-for-mail-operators.txt): publish a TLSA record for the next key
 * beside the current one, wait at least twice the TLSA TTL (a week more
 * to be kind to resolvers that bend the rules), switch the key, then
 * remove the records that only matched the old one.
 *
 * One scan of the domain (runner.h) gives every MX host's TLSA RRset and
 * TTL and what every address serves; this file compares the RRset with
 * the next key and with the served chains and says, per host, which
 * step the rollover is at.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "model.h"
#include "runner.h"
#include "smtp.h"
#include "tool_common.h"
#include "tools.h"

#define ROLL_MARGIN_MAX (10LL * 366 * 86400)

/* Per host, best first; the domain takes its hosts' worst. */
typedef enum {
    ROLL_SWITCHED,      /* every address already serves the next key, and it matches */
    ROLL_SAFE,          /* the next key matches the published RRset: switch (after 2 x TTL) */
    ROLL_WAIT,          /* published, but 2 x TTL (+ margin) since --published has not passed */
    ROLL_NOT_YET,       /* no usable record matches the next key */
    ROLL_BROKEN,        /* the current key fails, or DNS(SEC) does */
    ROLL_STATE_COUNT
} roll_state_t;

static const char *const roll_state_names[ROLL_STATE_COUNT] = {
    [ROLL_SWITCHED] = "switched",
    [ROLL_SAFE] = "safe",
    [ROLL_WAIT] = "wait",
    [ROLL_NOT_YET] = "not-yet",
    [ROLL_BROKEN] = "broken",
};

static int roll_exit(roll_state_t s)
{
    return s <= ROLL_SAFE ? TOOL_EXIT_OK : s == ROLL_BROKEN ? TOOL_EXIT_FAILED : TOOL_EXIT_NOT_YET;
}

typedef struct {
    const char *domain;
    char domain_buf[256];
    const char *next_file;
    bool text;
    time_t published;           /* 0: not given */
    long long margin;           /* seconds */
    long long ttl;              /* --ttl; 0: the TTL the resolver served */
    runner_config_t runner;
} roll_opts_t;

/* One record of a host's RRset against the next key and the served chains. */
typedef struct {
    const model_tlsa_record_t *rec;
    tool_match_t next;          /* matches the next key or chain */
    tool_match_t current;       /* matches a served chain the next key replaces */
    tool_match_t kept;          /* matches a served chain the next key does not replace (A7) */
    bool shadowed;              /* RFC 7671 §9: a stronger matching type is published beside it */
    const char *action;         /* keep, remove-after-switch, remove-now, unusable, unknown */
    char why[200];
} roll_rec_t;

typedef struct {
    const model_host_t *host;
    roll_state_t state;
    char reason[600];
    roll_rec_t *recs;
    size_t n_recs;
    bool next_published;
    long long ttl;              /* --ttl, or as served; 0: none */
    long long wait_s;           /* 2 x TTL + margin; -1 without a TTL */
    time_t earliest;            /* published + wait_s; 0 without --published */
    char **publish;             /* records to add for the next key, zone-file lines */
    size_t n_publish;
    size_t n_addresses, n_serving_next;
} roll_host_t;

typedef struct {
    const roll_opts_t *opt;
    const tool_material_t *next;
    X509 *next_leaf;            /* NULL for a bare key */
    char next_spki[65], next_cert[65];  /* SHA-256 hex; next_cert "" for a bare key */
    const char *next_family;    /* "RSA", "EC", ... */
    time_t at;                  /* --at, or now */
    model_domain_t *domain;     /* the scan's result */
    bool resolver_checked, resolver_validates;
    char resolver_why[300];
    bool fed;
    roll_state_t state;
    char reason[600];
    roll_host_t *hosts;
    size_t n_hosts;
} roll_t;

/* ------------------------------------------------------------ options */

static void roll_usage(FILE *f)
{
    fputs("usage: danescan rollover [OPTIONS] DOMAIN --next FILE\n"
          "Is the next key or certificate of DOMAIN's MX servers published in their TLSA\n"
          "records yet, and when is it safe to switch to it?  RULES A8: publish the next\n"
          "key's record beside the current one, wait twice the TLSA TTL (the operators'\n"
          "guide adds a week: --margin 7d), switch, then remove the old record.\n"
          "  --next FILE            the next certificate, chain (leaf first) or key\n"
          "  --published TIME       when the next key's record was published (unix seconds,\n"
          "                         YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ): gives the earliest\n"
          "                         safe switch time, publish time + 2 x TTL + margin\n"
          "  --margin DURATION      extra wait after 2 x TTL: seconds, or Nm, Nh, Nd, Nw\n"
          "                         (default 0; the guide: 7d)\n"
          "  --ttl DURATION         the TLSA TTL in the zone (default: the RRSIG's Original\n"
          "                         TTL; with --trust-ad the TTL the resolver served)\n"
          "  --format FMT           json (one object, default) | text\n"
          "  --resolver ADDR[:PORT][,...]  recursive resolver(s) (default: /etc/resolv.conf)\n"
          "  --trust-anchor FILE    root DS/DNSKEY in zone-file syntax\n"
          "                         (default: " RUNNER_ROOT_KEY ")\n"
          "  --trust-ad             trust the AD bit of a loopback resolver instead of validating\n"
          "  --allow-private        allow probing loopback/private/reserved addresses\n"
          "  --port N               SMTP port (default 25)\n"
          "  --at TIME              judge validity and the switch time at TIME\n"
          "  --timeout SECONDS      per-phase network timeout (default 30)\n"
          "  --helo NAME            EHLO name (default: this host's name)\n"
          "  -h, --help             this text\n"
          "Exit status: 0 safe to switch on every MX host (or already switched), 1 not yet\n"
          "(the next key is not published, or 2 x TTL has not passed since --published),\n"
          "2 broken (a server's current key matches no record, DNSSEC or lookup failures,\n"
          "an address that cannot be checked), 3 usage or internal error.\n", f);
}

__attribute__((format(printf, 1, 2)))
static int roll_fail_usage(const char *fmt, ...)
{
    va_list ap;

    fputs("danescan rollover: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\nTry 'danescan rollover --help'.\n", stderr);
    return TOOL_EXIT_USAGE;
}

/* "3600", "90s", "30m", "12h", "7d", "1w". */
static bool roll_parse_duration(const char *s, long long *out)
{
    static const struct { char unit; long long secs; } units[] = {
        {'s', 1}, {'m', 60}, {'h', 3600}, {'d', 86400}, {'w', 7 * 86400},
    };
    char *end;
    long long v, mult = 1;

    errno = 0;
    if (*s < '0' || *s > '9')
        return false;
    v = strtoll(s, &end, 10);
    if (errno != 0)
        return false;
    if (*end != '\0') {
        size_t i;
        for (i = 0; i < sizeof(units) / sizeof(units[0]) && units[i].unit != *end; i++)
            ;
        if (i == sizeof(units) / sizeof(units[0]) || end[1] != '\0')
            return false;
        mult = units[i].secs;
    }
    if (v > ROLL_MARGIN_MAX / mult)
        return false;
    *out = v * mult;
    return true;
}

static int roll_parse_options(int argc, char **argv, roll_opts_t *o)
{
    enum { O_NEXT = 256, O_PUBLISHED, O_MARGIN, O_TTL, O_FORMAT, O_RESOLVER, O_TA, O_TRUST_AD,
           O_PRIVATE, O_PORT, O_AT, O_TIMEOUT, O_HELO };
    static const struct option longopts[] = {
        {"next", required_argument, 0, O_NEXT}, {"published", required_argument, 0, O_PUBLISHED},
        {"margin", required_argument, 0, O_MARGIN}, {"ttl", required_argument, 0, O_TTL},
        {"format", required_argument, 0, O_FORMAT},
        {"resolver", required_argument, 0, O_RESOLVER},
        {"trust-anchor", required_argument, 0, O_TA}, {"trust-ad", no_argument, 0, O_TRUST_AD},
        {"allow-private", no_argument, 0, O_PRIVATE}, {"port", required_argument, 0, O_PORT},
        {"at", required_argument, 0, O_AT}, {"timeout", required_argument, 0, O_TIMEOUT},
        {"helo", required_argument, 0, O_HELO}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0},
    };
    const char *why = NULL;
    int c, timeout_s = 30;

    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case O_NEXT: o->next_file = optarg; break;
        case O_PUBLISHED:
            if (!runner_parse_time(optarg, &o->published) || o->published <= 0)
                return roll_fail_usage("--published wants unix seconds, YYYY-MM-DD or "
                                       "YYYY-MM-DDTHH:MM:SSZ, not '%s'", optarg);
            break;
        case O_MARGIN:
            if (!roll_parse_duration(optarg, &o->margin))
                return roll_fail_usage("--margin wants seconds or Nm, Nh, Nd, Nw (up to 10 years), "
                                       "not '%s'", optarg);
            break;
        case O_TTL:
            if (!roll_parse_duration(optarg, &o->ttl) || o->ttl == 0)
                return roll_fail_usage("--ttl wants 1 s to 10 years (seconds, or Nm, Nh, Nd, Nw), "
                                       "not '%s'", optarg);
            break;
        case O_FORMAT:
            if (strcmp(optarg, "json") != 0 && strcmp(optarg, "text") != 0)
                return roll_fail_usage("unknown format (json or text): '%s'", optarg);
            o->text = strcmp(optarg, "text") == 0;
            break;
        case O_RESOLVER: o->runner.resolver = optarg; break;
        case O_TA: o->runner.trust_anchor = optarg; break;
        case O_TRUST_AD: o->runner.trust_ad = true; break;
        case O_PRIVATE: o->runner.allow_private = true; break;
        case O_PORT:
            if (!runner_parse_int(optarg, 1, 65535, &o->runner.port))
                return roll_fail_usage("--port wants 1-65535, not '%s'", optarg);
            break;
        case O_AT:
            if (!runner_parse_time(optarg, &o->runner.at))
                return roll_fail_usage("--at wants unix seconds or YYYY-MM-DDTHH:MM:SSZ, not '%s'",
                                       optarg);
            break;
        case O_TIMEOUT:
            if (!runner_parse_int(optarg, 1, 3600, &timeout_s))
                return roll_fail_usage("--timeout wants 1-3600 seconds, not '%s'", optarg);
            break;
        case O_HELO:
            if (!smtp_helo_valid(optarg))
                return roll_fail_usage("--helo wants a valid host name, not '%s'", optarg);
            o->runner.helo = optarg;
            break;
        case 'h': roll_usage(stdout); exit(TOOL_EXIT_OK);
        case ':': return roll_fail_usage("%s needs a value", argv[optind - 1]);
        default: return roll_fail_usage("unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind == argc)
        return roll_fail_usage("no domain: danescan rollover DOMAIN --next FILE");
    if (argc - optind > 1)
        return roll_fail_usage("one domain at a time ('%s' is one too many)", argv[optind + 1]);
    if (strpbrk(argv[optind], " \t\r\n") != NULL ||
        (o->domain = runner_domain_name(argv[optind], o->domain_buf, sizeof(o->domain_buf),
                                        &why)) == NULL)
        return roll_fail_usage("'%s' is not a domain name: %s", argv[optind],
                               why ? why : "it has blanks");
    if (o->next_file == NULL)
        return roll_fail_usage("--next FILE is required: the next certificate, chain or key");
    o->runner.timeout_ms = timeout_s * 1000;
    o->runner.concurrency = 1;
    return 0;
}

/* ------------------------------------------------------------ the scan */

static const char *roll_next_domain(void *arg, char *buf, size_t len)
{
    roll_t *r = arg;

    (void)buf;
    (void)len;
    if (r->fed)
        return NULL;
    r->fed = true;
    return r->opt->domain;
}

static void roll_on_result(void *arg, model_domain_t *d, uint64_t ms)
{
    roll_t *r = arg;

    (void)ms;
    model_domain_free(r->domain);
    r->domain = d;
}

static void roll_on_resolver(void *arg, const runner_resolver_t *res)
{
    roll_t *r = arg;

    r->resolver_checked = true;
    r->resolver_validates = res->validates;
    if (!res->validates)
        snprintf(r->resolver_why, sizeof(r->resolver_why), "%s", res->why);
}

/* ------------------------------------------------------------ matching */

static bool roll_hs_usable(const model_handshake_t *hs)
{
    return model_handshake_completed(hs) && hs->n_chain > 0;
}

/* RULES A7: a server may hold an RSA and an ECDSA key; the next key
 * replaces the one of its own family, or all when the host serves none
 * of that family. */
static bool roll_host_has_family(const roll_t *r, const model_host_t *h)
{
    for (size_t a = 0; a < h->n_addresses; a++)
        for (size_t k = 0; k < h->addresses[a].n_handshakes; k++) {
            const model_handshake_t *hs = &h->addresses[a].handshakes[k];
            if (roll_hs_usable(hs) && hs->chain[0].key_type != NULL &&
                strncmp(hs->chain[0].key_type, r->next_family, strlen(r->next_family)) == 0)
                return true;
        }
    return false;
}

static bool roll_hs_replaced(const roll_t *r, const model_handshake_t *hs, bool family_served)
{
    return !family_served || (hs->chain[0].key_type != NULL &&
                              strncmp(hs->chain[0].key_type, r->next_family,
                                      strlen(r->next_family)) == 0);
}

static bool roll_hs_is_next(const roll_t *r, const model_handshake_t *hs)
{
    return hs->chain[0].spki_sha256 != NULL && strcmp(hs->chain[0].spki_sha256, r->next_spki) == 0;
}

/* The only usable record of its usage, selector and matching type. */
static bool roll_unique_class(const model_tlsa_t *t, const model_tlsa_record_t *rec)
{
    size_t n = 0;

    for (size_t i = 0; i < t->n_records; i++) {
        const model_tlsa_record_t *o = &t->records[i];
        n += o->usable && o->usage == rec->usage && o->selector == rec->selector &&
             o->mtype == rec->mtype;
    }
    return n == 1;
}

/* RFC 7671 §9 digest agility: for one usage and selector, clients use
 * only the strongest matching type present (OpenSSL ranks SHA2-512
 * above SHA2-256 above Full, as probes/tls configures it). */
static int roll_mtype_rank(int mtype)
{
    return mtype == 2 ? 2 : mtype == 1 ? 1 : 0;
}

static bool roll_shadowed(const model_tlsa_t *t, const model_tlsa_record_t *rec)
{
    for (size_t i = 0; i < t->n_records; i++) {
        const model_tlsa_record_t *o = &t->records[i];
        if (o->usable && o->usage == rec->usage && o->selector == rec->selector &&
            roll_mtype_rank(o->mtype) > roll_mtype_rank(rec->mtype))
            return true;
    }
    return false;
}

static tool_match_t roll_match_next(const roll_t *r, const model_tlsa_record_t *rec)
{
    const tool_material_t *m = r->next;
    tool_match_t best = TOOL_MATCH_NO;

    if (rec->usage == 3)
        return tool_record_matches(rec, r->next_leaf, m->key);
    /* DANE-TA: an issuer in the next chain; a lone leaf or key cannot say */
    if (m->n_certs < 2)
        return TOOL_MATCH_UNKNOWN;
    for (size_t d = 1; d < m->n_certs; d++) {
        tool_match_t x = tool_record_matches(rec, m->certs[d], NULL);
        if (x == TOOL_MATCH_YES)
            return x;
        if (x == TOOL_MATCH_UNKNOWN)
            best = x;
    }
    return best;
}

/* Does rec match what one handshake served?  The scan keeps SHA-256
 * digests only, so a SHA-512 record is decided by what the handshake
 * matched, or by comparing the served key with the next one. */
static tool_match_t roll_match_served(const roll_t *r, const model_tlsa_t *t,
                                      const model_tlsa_record_t *rec,
                                      const model_handshake_t *hs, tool_match_t next)
{
    tool_match_t got = TOOL_MATCH_NO;

    if (hs->matched && hs->matched_usage == rec->usage && hs->matched_selector == rec->selector &&
        hs->matched_mtype == rec->mtype && roll_unique_class(t, rec))
        return TOOL_MATCH_YES;
    if (rec->usage == 3) {
        got = tool_record_matches_digests(rec, hs->chain[0].cert_sha256, hs->chain[0].spki_sha256);
    } else {
        for (size_t d = 1; d < hs->n_chain && got != TOOL_MATCH_YES; d++) {
            tool_match_t x = tool_record_matches_digests(rec, hs->chain[d].cert_sha256,
                                                         hs->chain[d].spki_sha256);
            if (x != TOOL_MATCH_NO)
                got = x;
        }
    }
    if (got != TOOL_MATCH_UNKNOWN || rec->usage != 3)
        return got;
    const char *served = rec->selector == 0 ? hs->chain[0].cert_sha256 : hs->chain[0].spki_sha256;
    const char *mine = rec->selector == 0 ? r->next_cert : r->next_spki;
    if (served != NULL && mine[0] != '\0' && strcmp(served, mine) == 0)
        return next;
    return next == TOOL_MATCH_YES ? TOOL_MATCH_NO : TOOL_MATCH_UNKNOWN;
}

static tool_match_t roll_or(tool_match_t a, tool_match_t b)
{
    if (a == TOOL_MATCH_YES || b == TOOL_MATCH_YES)
        return TOOL_MATCH_YES;
    return a == TOOL_MATCH_UNKNOWN || b == TOOL_MATCH_UNKNOWN ? TOOL_MATCH_UNKNOWN : TOOL_MATCH_NO;
}

static void roll_judge_record(const roll_t *r, const model_host_t *h, roll_rec_t *x,
                              bool family_served, bool all_seen)
{
    const model_tlsa_t *t = &h->tlsa;
    const model_tlsa_record_t *rec = x->rec;

    x->current = x->kept = all_seen ? TOOL_MATCH_NO : TOOL_MATCH_UNKNOWN;
    if (!rec->usable) {
        x->next = TOOL_MATCH_NO;
        x->action = "unusable";
        snprintf(x->why, sizeof(x->why), "unusable (%s): no sender uses it",
                 rec->unusable_reason ? rec->unusable_reason : "RFC 7672 §3");
        return;
    }
    x->next = roll_match_next(r, rec);
    x->shadowed = roll_shadowed(t, rec);
    for (size_t a = 0; a < h->n_addresses; a++) {
        for (size_t k = 0; k < h->addresses[a].n_handshakes; k++) {
            const model_handshake_t *hs = &h->addresses[a].handshakes[k];
            if (!roll_hs_usable(hs))
                continue;
            tool_match_t m = roll_match_served(r, t, rec, hs, x->next);
            if (roll_hs_replaced(r, hs, family_served))
                x->current = roll_or(x->current, m);
            else
                x->kept = roll_or(x->kept, m);
        }
    }
    if (x->next == TOOL_MATCH_YES) {
        x->action = "keep";
        snprintf(x->why, sizeof(x->why), "%s%s",
                 x->current == TOOL_MATCH_YES ? "matches the current and the next key"
                                              : "matches the next key",
                 x->shadowed ? "; but a stronger matching type is published for the same usage "
                               "and selector, so senders ignore it (RFC 7671 §9)" : "");
    } else if (x->kept == TOOL_MATCH_YES) {
        x->action = "keep";
        snprintf(x->why, sizeof(x->why), "matches a certificate the next key does not replace "
                 "(the server's other key, RULES A7)");
    } else if (x->current == TOOL_MATCH_YES && x->next == TOOL_MATCH_NO) {
        x->action = "remove-after-switch";
        snprintf(x->why, sizeof(x->why), "matches only the current key: remove it once the "
                 "servers use the next one");
    } else if (x->current == TOOL_MATCH_NO && x->kept == TOOL_MATCH_NO &&
               x->next == TOOL_MATCH_NO) {
        x->action = "remove-now";
        snprintf(x->why, sizeof(x->why), "matches neither what the servers send nor the next key");
    } else {
        x->action = "unknown";
        snprintf(x->why, sizeof(x->why), "%s",
                 x->next == TOOL_MATCH_UNKNOWN && rec->usage == 2
                     ? "DANE-TA: --next holds no issuer certificate to compare (give the next "
                       "chain)"
                 : x->next == TOOL_MATCH_UNKNOWN
                     ? "a whole-certificate record, and --next is a bare key"
                     : "a SHA-512 record the scan's SHA-256 digests cannot be compared with");
    }
}

/* ------------------------------------------------------------ hosts */

__attribute__((format(printf, 3, 4)))
static void roll_set(roll_host_t *x, roll_state_t state, const char *fmt, ...)
{
    va_list ap;

    x->state = state;
    va_start(ap, fmt);
    vsnprintf(x->reason, sizeof(x->reason), fmt, ap);
    va_end(ap);
}

static void roll_add_publish(roll_host_t *x, const char *line)
{
    char **v;

    for (size_t i = 0; i < x->n_publish; i++)
        if (strcmp(x->publish[i], line) == 0)
            return;
    if ((v = realloc(x->publish, (x->n_publish + 1) * sizeof(*v))) == NULL)
        return;
    x->publish = v;
    if ((v[x->n_publish] = strdup(line)) != NULL)
        x->n_publish++;
}

static void roll_suggest(roll_host_t *x, const char *qname, int usage, int selector, int mtype,
                         const char *hex)
{
    char *line = NULL;

    if (asprintf(&line, "%s. IN TLSA %d %d %d %s", qname, usage, selector, mtype, hex) < 0)
        return;
    roll_add_publish(x, line);
    free(line);
}

/* The next key's records in the forms the host already publishes
 * (DANE-EE), or 3 1 1 when it publishes none. */
static void roll_suggest_next(const roll_t *r, roll_host_t *x, const char *qname)
{
    const model_tlsa_t *t = &x->host->tlsa;
    bool any = false;

    for (size_t i = 0; i <= t->n_records; i++) {
        int selector = 1, mtype = 1;
        if (i < t->n_records) {
            const model_tlsa_record_t *rec = &t->records[i];
            if (!rec->usable || rec->usage != 3)
                continue;
            selector = rec->selector;
            mtype = rec->mtype;
        } else if (any) {
            break;
        }
        /* a bare key cannot give a whole-certificate record */
        if (selector == 0 && r->next_leaf == NULL)
            selector = 1;
        uint8_t *data;
        size_t len;
        char err[200];
        if (tool_tlsa_data(r->next_leaf, r->next->key, selector, mtype, &data, &len, err,
                           sizeof(err)) != 0)
            continue;
        char *hex = tool_hex(data, len);
        free(data);
        if (hex != NULL)
            roll_suggest(x, qname, 3, selector, mtype, hex);
        free(hex);
        any = true;
    }
}

/* Why an address cannot vouch for its current key, or NULL when it can. */
static const char *roll_address_problem(const model_address_t *a)
{
    switch (a->result) {
    case MODEL_ADDR_DANE_PASS:
        return NULL;
    case MODEL_ADDR_DANE_FAIL:
        return "its certificate matches no usable TLSA record";
    case MODEL_ADDR_BLOCKED:
        return "blocked by the private-address guard (--allow-private lifts it)";
    default:
        return "could not be checked";
    }
}

static void roll_judge_addresses(const roll_t *r, roll_host_t *x, bool family_served)
{
    const model_host_t *h = x->host;

    for (size_t a = 0; a < h->n_addresses && x->state != ROLL_BROKEN; a++) {
        const model_address_t *addr = &h->addresses[a];
        const char *problem = roll_address_problem(addr);
        bool next_served = false, replaced = false;

        for (size_t k = 0; k < addr->n_handshakes; k++) {
            const model_handshake_t *hs = &addr->handshakes[k];
            if (!roll_hs_usable(hs) || !roll_hs_replaced(r, hs, family_served))
                continue;
            replaced = true;
            next_served = roll_hs_is_next(r, hs);
            if (!next_served)
                break;
        }
        x->n_addresses++;
        x->n_serving_next += replaced && next_served;
        if (problem == NULL)
            continue;
        if (addr->result == MODEL_ADDR_DANE_FAIL && next_served)
            roll_set(x, ROLL_BROKEN, "%s already serves the next key, which no usable record "
                     "matches: it switched too early (%s)", addr->address,
                     addr->reason ? addr->reason : "tlsa-mismatch");
        else
            roll_set(x, ROLL_BROKEN, "%s: %s (%s%s%s)", addr->address, problem,
                     model_addr_result_name(addr->result), addr->reason ? ", " : "",
                     addr->reason ? addr->reason : "");
    }
}

static void roll_judge_host(const roll_t *r, roll_host_t *x)
{
    const model_host_t *h = x->host;
    const model_tlsa_t *t = &h->tlsa;
    const char *qname = t->qname ? t->qname : h->name;
    bool family_served = roll_host_has_family(r, h);
    bool all_seen = h->n_addresses > 0;
    bool shadowed_only = false;

    /* a cache serves what is left of the TTL: --ttl gives the zone's */
    x->ttl = r->opt->ttl > 0 ? r->opt->ttl : (long long)t->ttl;
    x->wait_s = x->ttl > 0 ? 2 * x->ttl + r->opt->margin : -1;
    switch (h->status) {
    case MODEL_HOST_DANE:
        break;
    case MODEL_HOST_NO_TLSA:
        roll_set(x, ROLL_NOT_YET, "no TLSA records at %s (securely denied): publish records for "
                 "the current and the next key", qname);
        for (size_t a = 0; a < h->n_addresses; a++)
            for (size_t k = 0; k < h->addresses[a].n_handshakes; k++) {
                const model_handshake_t *hs = &h->addresses[a].handshakes[k];
                if (roll_hs_usable(hs) && hs->chain[0].spki_sha256 != NULL)
                    roll_suggest(x, qname, 3, 1, 1, hs->chain[0].spki_sha256);
            }
        roll_suggest_next(r, x, qname);
        return;
    case MODEL_HOST_INSECURE:
        roll_set(x, ROLL_BROKEN, "the %s records are not DNSSEC-signed (insecure): senders ignore "
                 "TLSA records there, so there is no DANE to roll over; sign the zone first",
                 h->dnssec != MODEL_DNSSEC_SECURE ? "address" : "TLSA");
        return;
    case MODEL_HOST_BOGUS:
    case MODEL_HOST_LOOKUP_ERROR:
        roll_set(x, ROLL_BROKEN, "the %s lookup failed (%s%s%s): DANE senders defer mail to this "
                 "host (RULES D2)", t->looked_up ? "TLSA" : "address",
                 model_dnssec_name(t->looked_up ? t->dnssec : h->dnssec),
                 (t->looked_up ? t->reason : h->dnssec_reason) ? ": " : "",
                 (t->looked_up ? t->reason : h->dnssec_reason)
                     ? (t->looked_up ? t->reason : h->dnssec_reason) : "");
        return;
    case MODEL_HOST_DANE_UNUSABLE:
        roll_set(x, ROLL_BROKEN, "no TLSA record at %s is usable (RULES T3): publish DANE-EE or "
                 "DANE-TA records for the current and the next key", qname);
        roll_suggest_next(r, x, qname);
        return;
    case MODEL_HOST_NO_ADDRESS:
        roll_set(x, ROLL_BROKEN, "the host has no address");
        return;
    }
    for (size_t a = 0; a < h->n_addresses; a++) {
        bool seen = false;
        for (size_t k = 0; k < h->addresses[a].n_handshakes; k++)
            seen |= roll_hs_usable(&h->addresses[a].handshakes[k]);
        all_seen &= seen;
    }
    x->recs = calloc(t->n_records ? t->n_records : 1, sizeof(*x->recs));
    if (x->recs == NULL) {
        roll_set(x, ROLL_BROKEN, "out of memory");
        return;
    }
    for (size_t i = 0; i < t->n_records; i++) {
        roll_rec_t *rec = &x->recs[x->n_recs++];
        rec->rec = &t->records[i];
        roll_judge_record(r, h, rec, family_served, all_seen);
        if (rec->next == TOOL_MATCH_YES && rec->rec->usable) {
            /* RFC 7671 §9: a shadowed record does not authenticate */
            if (rec->shadowed)
                shadowed_only = true;
            else
                x->next_published = true;
        }
    }
    x->state = ROLL_SAFE;
    roll_judge_addresses(r, x, family_served);
    if (x->state == ROLL_BROKEN) {
        /* what matches nothing served now may be what a repaired server needs */
        for (size_t i = 0; i < x->n_recs; i++) {
            if (strcmp(x->recs[i].action, "remove-now") != 0 &&
                strcmp(x->recs[i].action, "remove-after-switch") != 0)
                continue;
            x->recs[i].action = "keep";
            snprintf(x->recs[i].why, sizeof(x->recs[i].why), "the host is broken (see its "
                     "reason): repair it before removing records");
        }
        if (!x->next_published && x->n_serving_next > 0)
            roll_suggest_next(r, x, qname);
        return;
    }
    if (!x->next_published) {
        bool ta_unknown = false;
        for (size_t i = 0; i < x->n_recs; i++)
            ta_unknown |= x->recs[i].rec->usable && x->recs[i].rec->usage == 2 &&
                          x->recs[i].next == TOOL_MATCH_UNKNOWN;
        roll_set(x, ROLL_NOT_YET, "%s%s", shadowed_only
                 ? "a record matches the next key, but a stronger matching type for the same usage "
                   "and selector is published beside it, so senders ignore it (RFC 7671 §9): "
                   "publish the next key's record with that matching type"
                 : "no usable TLSA record matches the next key yet: publish it beside the "
                   "current one",
                 ta_unknown ? "; the DANE-TA records cannot be judged: --next holds no issuer "
                              "certificate (give the next chain, leaf first)" : "");
        roll_suggest_next(r, x, qname);
        return;
    }
    if (x->n_addresses > 0 && x->n_serving_next == x->n_addresses) {
        roll_set(x, ROLL_SWITCHED, "every address already serves the next key, and a published "
                 "record matches it");
        return;
    }
    if (r->opt->published != 0 && x->wait_s >= 0) {
        x->earliest = r->opt->published + (time_t)x->wait_s;
        if (r->at < x->earliest) {
            roll_set(x, ROLL_WAIT, "the next key's record is published; switch at the earliest "
                     "%lld s from now, 2 x TTL (%lld s)%s after it was published",
                     (long long)(x->earliest - r->at), x->ttl,
                     r->opt->margin ? " plus the margin" : "");
            return;
        }
        roll_set(x, ROLL_SAFE, "the next key's record is published and 2 x TTL (%lld s)%s has "
                 "passed since: safe to switch", x->ttl, r->opt->margin ? " plus the margin" : "");
        return;
    }
    roll_set(x, ROLL_SAFE, "the next key's record is published: switch once %lld s (2 x TTL %lld "
             "s%s) have passed since it was published", x->wait_s, x->ttl,
             r->opt->margin ? " plus the margin" : "");
}

static void roll_judge(roll_t *r)
{
    model_domain_t *d = r->domain;
    const char *what = NULL;

    r->state = ROLL_SAFE;
    if (r->resolver_checked && !r->resolver_validates) {
        r->state = ROLL_BROKEN;
        snprintf(r->reason, sizeof(r->reason), "the resolver cannot validate: %s", r->resolver_why);
        return;
    }
    switch (d->verdict) {
    case MODEL_VERDICT_NXDOMAIN: what = "the domain does not exist"; break;
    case MODEL_VERDICT_NULL_MX: what = "the domain accepts no mail (null MX)"; break;
    case MODEL_VERDICT_DNSSEC_BOGUS: what = "the MX lookup is DNSSEC-bogus"; break;
    case MODEL_VERDICT_DNS_ERROR: what = "the MX lookup failed"; break;
    case MODEL_VERDICT_INVALID_INPUT: what = "not a domain"; break;
    default: break;
    }
    if (what != NULL || d->n_hosts == 0) {
        r->state = ROLL_BROKEN;
        snprintf(r->reason, sizeof(r->reason), "%s%s%s", what ? what : "no MX host",
                 d->mx_reason ? ": " : "", d->mx_reason ? d->mx_reason : "");
        return;
    }
    r->hosts = calloc(d->n_hosts, sizeof(*r->hosts));
    if (r->hosts == NULL) {
        r->state = ROLL_BROKEN;
        snprintf(r->reason, sizeof(r->reason), "out of memory");
        return;
    }
    roll_state_t worst = ROLL_SWITCHED;
    for (size_t i = 0; i < d->n_hosts; i++) {
        roll_host_t *x = &r->hosts[r->n_hosts++];
        x->host = &d->hosts[i];
        roll_judge_host(r, x);
        if (x->state > worst)
            worst = x->state;
    }
    r->state = worst;
    switch (worst) {
    case ROLL_SWITCHED:
        snprintf(r->reason, sizeof(r->reason), "every MX host already serves the next key");
        break;
    case ROLL_SAFE:
        snprintf(r->reason, sizeof(r->reason), "the next key is published for every MX host: "
                 "safe to switch%s", r->opt->published ? "" : " once 2 x TTL has passed since "
                 "its record was published");
        break;
    case ROLL_WAIT:
        snprintf(r->reason, sizeof(r->reason), "the next key is published, but 2 x TTL has not "
                 "passed since --published on every MX host");
        break;
    case ROLL_NOT_YET:
        snprintf(r->reason, sizeof(r->reason), "the next key is not published for every MX host");
        break;
    default:
        snprintf(r->reason, sizeof(r->reason), "an MX host is broken: see its reason");
        break;
    }
    if (d->mx_dnssec != MODEL_DNSSEC_SECURE && worst != ROLL_BROKEN)
        snprintf(r->reason + strlen(r->reason), sizeof(r->reason) - strlen(r->reason),
                 " (the MX RRset is %s: DANE protects only the hosts it names, RFC 7672 §2.2.1)",
                 model_dnssec_name(d->mx_dnssec));
}

static void roll_free(roll_t *r)
{
    for (size_t i = 0; i < r->n_hosts; i++) {
        for (size_t k = 0; k < r->hosts[i].n_publish; k++)
            free(r->hosts[i].publish[k]);
        free(r->hosts[i].publish);
        free(r->hosts[i].recs);
    }
    free(r->hosts);
    model_domain_free(r->domain);
}

/* ------------------------------------------------------------ output */

static const char *roll_iso(time_t t, char buf[32])
{
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

static char *roll_record_text(const model_tlsa_record_t *rec)
{
    char *s = NULL;

    if (asprintf(&s, "%u %u %u %s", rec->usage, rec->selector, rec->mtype,
                 rec->data_hex ? rec->data_hex : "") < 0)
        return NULL;
    return s;
}

/* jansson's *_new take ownership: one check at the end (report/json.c's way) */
static void roll_put(json_t *obj, const char *key, json_t *value, bool *ok)
{
    if (json_object_set_new(obj, key, value) != 0)
        *ok = false;
}

static void roll_push(json_t *arr, json_t *value, bool *ok)
{
    if (json_array_append_new(arr, value) != 0)
        *ok = false;
}

static json_t *roll_host_json(const roll_t *r, const roll_host_t *x, bool *ok)
{
    const model_host_t *h = x->host;
    json_t *o = json_object(), *recs = json_array(), *addrs = json_array(),
           *publish = json_array(), *after = json_array(), *now = json_array();
    char t[32];

    roll_put(o, "host", json_string(h->name), ok);
    roll_put(o, "status", json_string(roll_state_names[x->state]), ok);
    roll_put(o, "reason", json_string(x->reason), ok);
    roll_put(o, "host_status", json_string(model_host_status_name(h->status)), ok);
    if (h->tlsa.qname != NULL)
        roll_put(o, "qname", json_string(h->tlsa.qname), ok);
    if (h->tlsa.looked_up)
        roll_put(o, "tlsa_dnssec", json_string(model_dnssec_name(h->tlsa.dnssec)), ok);
    if (x->ttl > 0) {
        roll_put(o, "ttl", json_integer(x->ttl), ok);
        roll_put(o, "ttl_source", json_string(r->opt->ttl > 0 ? "option" : "dns"), ok);
    }
    if (x->wait_s >= 0)
        roll_put(o, "wait_seconds", json_integer(x->wait_s), ok);
    if (x->earliest != 0)
        roll_put(o, "earliest_switch", json_string(roll_iso(x->earliest, t)), ok);
    roll_put(o, "next_published", json_boolean(x->next_published), ok);
    for (size_t i = 0; i < x->n_recs; i++) {
        const roll_rec_t *rec = &x->recs[i];
        json_t *j = json_object();
        char *text = roll_record_text(rec->rec);
        roll_put(j, "record", json_string(text ? text : ""), ok);
        roll_put(j, "usable", json_boolean(rec->rec->usable), ok);
        roll_put(j, "matches_current", json_string(tool_match_name(rec->current)), ok);
        roll_put(j, "matches_next", json_string(tool_match_name(rec->next)), ok);
        if (rec->kept == TOOL_MATCH_YES)
            roll_put(j, "matches_other_key", json_true(), ok);
        if (rec->shadowed)
            roll_put(j, "shadowed", json_true(), ok);
        roll_put(j, "action", json_string(rec->action), ok);
        roll_put(j, "why", json_string(rec->why), ok);
        roll_push(recs, j, ok);
        if (strcmp(rec->action, "remove-after-switch") == 0)
            roll_push(after, json_string(text ? text : ""), ok);
        else if (strcmp(rec->action, "remove-now") == 0 || strcmp(rec->action, "unusable") == 0)
            roll_push(now, json_string(text ? text : ""), ok);
        free(text);
    }
    roll_put(o, "records", recs, ok);
    for (size_t a = 0; a < h->n_addresses; a++) {
        const model_address_t *addr = &h->addresses[a];
        json_t *j = json_object(), *certs = json_array();
        roll_put(j, "address", json_string(addr->address), ok);
        roll_put(j, "result", json_string(model_addr_result_name(addr->result)), ok);
        if (addr->reason != NULL)
            roll_put(j, "reason", json_string(addr->reason), ok);
        for (size_t k = 0; k < addr->n_handshakes; k++) {
            const model_handshake_t *hs = &addr->handshakes[k];
            if (!roll_hs_usable(hs))
                continue;
            json_t *c = json_object();
            roll_put(c, "cert_type", json_string(hs->cert_type ? hs->cert_type : "any"), ok);
            roll_put(c, "result", json_string(model_addr_result_name(hs->result)), ok);
            if (hs->chain[0].key_type != NULL)
                roll_put(c, "key_type", json_string(hs->chain[0].key_type), ok);
            if (hs->chain[0].spki_sha256 != NULL)
                roll_put(c, "spki_sha256", json_string(hs->chain[0].spki_sha256), ok);
            roll_put(c, "serves", json_string(roll_hs_is_next(r, hs) ? "next" : "current"), ok);
            roll_push(certs, c, ok);
        }
        roll_put(j, "certificates", certs, ok);
        roll_push(addrs, j, ok);
    }
    roll_put(o, "addresses", addrs, ok);
    for (size_t i = 0; i < x->n_publish; i++)
        roll_push(publish, json_string(x->publish[i]), ok);
    roll_put(o, "publish", publish, ok);
    roll_put(o, "remove_after_switch", after, ok);
    roll_put(o, "remove_now", now, ok);
    return o;
}

static int roll_write_json(const roll_t *r)
{
    json_t *o = json_object(), *next = json_object(), *hosts = json_array();
    const model_domain_t *d = r->domain;
    bool ok = o != NULL && next != NULL && hosts != NULL;
    char t[32];
    int rc;

    roll_put(o, "domain", json_string(r->opt->domain), &ok);
    roll_put(o, "status", json_string(roll_state_names[r->state]), &ok);
    roll_put(o, "exit", json_integer(roll_exit(r->state)), &ok);
    roll_put(o, "reason", json_string(r->reason), &ok);
    roll_put(o, "at", json_string(roll_iso(r->at, t)), &ok);
    if (r->opt->published != 0)
        roll_put(o, "published", json_string(roll_iso(r->opt->published, t)), &ok);
    roll_put(o, "margin_seconds", json_integer(r->opt->margin), &ok);
    roll_put(next, "file", json_string(r->opt->next_file), &ok);
    roll_put(next, "kind", json_string(tool_material_kind_name(r->next)), &ok);
    roll_put(next, "key_type", json_string(r->next_family), &ok);
    roll_put(next, "key_bits", json_integer(EVP_PKEY_get_bits(r->next->key)), &ok);
    roll_put(next, "spki_sha256", json_string(r->next_spki), &ok);
    if (r->next_cert[0] != '\0')
        roll_put(next, "cert_sha256", json_string(r->next_cert), &ok);
    roll_put(o, "next", next, &ok);
    if (d != NULL) {
        roll_put(o, "verdict", json_string(model_verdict_name(d->verdict)), &ok);
        if (d->verdict != MODEL_VERDICT_INVALID_INPUT)
            roll_put(o, "mx_dnssec", json_string(model_dnssec_name(d->mx_dnssec)), &ok);
    }
    for (size_t i = 0; i < r->n_hosts; i++)
        roll_push(hosts, roll_host_json(r, &r->hosts[i], &ok), &ok);
    roll_put(o, "hosts", hosts, &ok);
    rc = ok ? json_dumpf(o, stdout, JSON_COMPACT | JSON_ENSURE_ASCII) : -1;
    json_decref(o);
    if (rc != 0 || fputc('\n', stdout) == EOF)
        return -1;
    return 0;
}

static void roll_write_text(const roll_t *r)
{
    static const char *const verdicts[ROLL_STATE_COUNT] = {
        [ROLL_SWITCHED] = "already switched",
        [ROLL_SAFE] = "safe to switch",
        [ROLL_WAIT] = "wait",
        [ROLL_NOT_YET] = "not yet",
        [ROLL_BROKEN] = "broken",
    };
    char t[32];

    printf("%s: %s (exit %d)\n  %s\n", r->opt->domain, verdicts[r->state], roll_exit(r->state),
           r->reason);
    printf("  next: %s %s, %s %d bits, SPKI SHA-256 %s\n", tool_material_kind_name(r->next),
           r->opt->next_file, r->next_family, EVP_PKEY_get_bits(r->next->key), r->next_spki);
    for (size_t i = 0; i < r->n_hosts; i++) {
        const roll_host_t *x = &r->hosts[i];
        const model_host_t *h = x->host;
        printf("\n  %s: %s\n    %s\n", h->name, verdicts[x->state], x->reason);
        if (h->tlsa.qname != NULL && h->tlsa.looked_up)
            printf("    TLSA %s: %s, TTL %lld s%s\n", h->tlsa.qname,
                   model_dnssec_name(h->tlsa.dnssec), x->ttl,
                   r->opt->ttl > 0 ? " (--ttl)" : " (as the resolver served it)");
        if (x->earliest != 0)
            printf("    earliest switch: %s\n", roll_iso(x->earliest, t));
        for (size_t k = 0; k < x->n_recs; k++) {
            const roll_rec_t *rec = &x->recs[k];
            char *text = roll_record_text(rec->rec);
            printf("    %.28s%s  current %-7s next %-7s -> %s: %s\n", text ? text : "",
                   text && strlen(text) > 28 ? "..." : "", tool_match_name(rec->current),
                   tool_match_name(rec->next), rec->action, rec->why);
            free(text);
        }
        for (size_t a = 0; a < h->n_addresses; a++) {
            const model_address_t *addr = &h->addresses[a];
            printf("    %s: %s", addr->address, model_addr_result_name(addr->result));
            for (size_t k = 0; k < addr->n_handshakes; k++) {
                const model_handshake_t *hs = &addr->handshakes[k];
                if (roll_hs_usable(hs))
                    printf(", %s key %s", hs->chain[0].key_type ? hs->chain[0].key_type : "?",
                           roll_hs_is_next(r, hs) ? "is the next one" : "is the current one");
            }
            putchar('\n');
        }
        for (size_t k = 0; k < x->n_publish; k++)
            printf("    publish: %s\n", x->publish[k]);
    }
}

/* ------------------------------------------------------------ main */

int tool_rollover_main(int argc, char **argv)
{
    roll_opts_t opt = {0};
    roll_t r = {.opt = &opt};
    tool_material_t next = {0};
    runner_t *runner = NULL;
    runner_status_t st;
    char err[1024];
    int rc;

    if ((rc = roll_parse_options(argc, argv, &opt)) != 0)
        return rc;
    if (tool_material_load(opt.next_file, &next, err, sizeof(err)) != 0) {
        fprintf(stderr, "danescan rollover: --next: %s\n", err);
        return TOOL_EXIT_USAGE;
    }
    if (next.note[0] != '\0')
        fprintf(stderr, "danescan rollover: note: %s\n", next.note);
    r.next = &next;
    r.next_leaf = next.kind == TOOL_MATERIAL_CHAIN ? next.certs[0] : NULL;
    r.next_family = tool_key_family(next.key);
    if (!tool_sha256_hex(r.next_leaf, next.key, 1, r.next_spki) ||
        (r.next_leaf != NULL && !tool_sha256_hex(r.next_leaf, NULL, 0, r.next_cert))) {
        fprintf(stderr, "danescan rollover: --next: cannot encode the key\n");
        rc = TOOL_EXIT_USAGE;
        goto done;
    }
    r.at = opt.runner.at != 0 ? opt.runner.at : time(NULL);
    if ((st = runner_new(&opt.runner, &runner, err, sizeof(err))) != RUNNER_OK) {
        fprintf(stderr, "danescan rollover: %s\n", err);
        rc = TOOL_EXIT_USAGE;
        goto done;
    }
    if (runner_check_resolver(runner, roll_on_resolver, &r) != 0) {
        fprintf(stderr, "danescan rollover: cannot start the resolver check\n");
        rc = TOOL_EXIT_USAGE;
        goto done;
    }
    st = runner_run(runner, roll_next_domain, roll_on_result, &r, 0);
    if (st != RUNNER_OK || r.domain == NULL) {
        fprintf(stderr, "danescan rollover: the scan did not finish: %s\n", runner_status_name(st));
        /* runner.h: a run that did not end RUNNER_OK leaves the runner alive */
        if (st != RUNNER_OK)
            runner = NULL;
        rc = TOOL_EXIT_USAGE;
        goto done;
    }
    runner_free(runner);
    runner = NULL;
    roll_judge(&r);
    if (opt.text)
        roll_write_text(&r);
    else if (roll_write_json(&r) != 0) {
        fprintf(stderr, "danescan rollover: writing the report failed\n");
        rc = TOOL_EXIT_USAGE;
        goto done;
    }
    if (fflush(stdout) != 0) {
        fprintf(stderr, "danescan rollover: writing the report failed: %s\n", strerror(errno));
        rc = TOOL_EXIT_USAGE;
        goto done;
    }
    rc = roll_exit(r.state);
done:
    runner_free(runner);
    roll_free(&r);
    tool_material_free(&next);
    return rc;
}
