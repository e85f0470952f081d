/* nagios.h - the Monitoring Plugins view of scanned domains: DESIGN.md's
 * Nagios/CI mapping from verdicts to states, the guidelines' threshold
 * ranges, and the plugin output of a run (one status line with
 * performance data, then one line per MX host and per address).
 *
 * Output format (Monitoring Plugins Development Guidelines, "Plugin
 * Output"; Nagios 3+ long output):
 *
 *     DANE <STATE> - <worst problem in words> | mx=1 addresses_ok=1 ... time=0.041s
 *     [OK] MX 10 mx.example.org: DANE; addresses secure; TLSA secure
 *     [OK]   mx.example.org[192.0.2.1]: authenticated by DANE: TLSA 3 1 1 (depth 0); ...
 *
 * Performance data: mx (MX hosts examined), addresses_ok (probed
 * addresses in state OK), addresses_failed (addresses in WARNING or
 * CRITICAL), cert_days_min;W;C (fewest days to expiry of the certificates
 * counted - every leaf served, and under DANE-TA the chain up to the
 * matched CA - or U when none was seen), time (the run, seconds); with
 * several domains, domains first.
 *
 * Numbers are written in the C locale (the commands never call
 * setlocale), so a decimal point is always '.'.  Text from the model is
 * censored to printable ASCII and '|' is replaced: it would start the
 * performance data.
 */
#ifndef DANESCAN_REPORT_NAGIOS_H
#define DANESCAN_REPORT_NAGIOS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "model.h"

/* The values are the plugin exit codes. */
typedef enum {
    REPORT_NAGIOS_OK = 0,
    REPORT_NAGIOS_WARNING = 1,
    REPORT_NAGIOS_CRITICAL = 2,
    REPORT_NAGIOS_UNKNOWN = 3,
} report_nagios_state_t;

/* "OK", "WARNING", "CRITICAL", "UNKNOWN" */
const char *report_nagios_state_name(report_nagios_state_t state);

/* DESIGN.md "Nagios/CI mapping": dane-valid, null-mx OK; dane-partial,
 * dane-incomplete WARNING; dane-invalid, dnssec-bogus, dns-error,
 * nxdomain CRITICAL; no-dane, insecure OK, CRITICAL when DANE is
 * required.  A line that is not a domain (invalid-input) is a WARNING. */
report_nagios_state_t report_nagios_verdict_state(model_verdict_t verdict, bool require_dane);

/* The state of one address result (or of one handshake's result) at host
 * h of domain d, consistent with the verdict: at a host with DANE (or a
 * failed/bogus TLSA lookup) every result but dane-pass is a failure, an
 * unreachable address a WARNING (dane-incomplete); at a host without
 * DANE what is missing is DANE itself, judged as the verdict judges it
 * (WARNING in a dane-partial domain, else CRITICAL when DANE is
 * required, else OK). */
report_nagios_state_t report_nagios_result_state(const model_domain_t *d, const model_host_t *h,
                                                 model_addr_result_t result, bool require_dane);

/* The state of host h itself: the worst of its addresses, or, for a host
 * without addresses, what its status says under the same rules. */
report_nagios_state_t report_nagios_host_state(const model_domain_t *d, const model_host_t *h,
                                               bool require_dane);

/* ---- threshold ranges ------------------------------------------------ */

/* Monitoring Plugins guidelines, "Threshold and ranges": [@]start:end,
 * start ~ for -infinity, an empty end for +infinity, a bare number N for
 * 0:N.  Alert when the value is outside start..end (inclusive), or inside
 * it with '@'. */
typedef struct {
    double start, end;
    bool start_infinite, end_infinite;
    bool inside;                /* '@' */
} report_nagios_range_t;

/* 0, or -1 with err saying why. */
int report_nagios_range_parse(const char *text, report_nagios_range_t *out,
                              char *err, size_t errlen);

/* A certificate-expiry threshold in days: the range syntax, except that a
 * bare N means "fewer than N days" (N:), as for check_http -C and
 * check_smtp -D: "alert when more than N days remain" is never meant. */
int report_nagios_days_parse(const char *text, report_nagios_range_t *out,
                             char *err, size_t errlen);

bool report_nagios_range_alert(const report_nagios_range_t *range, double value);

/* The range in the guidelines' syntax, for performance data: "30:",
 * "~:10", "@10:20", "0:5". */
void report_nagios_range_format(const report_nagios_range_t *range, char *buf, size_t len);

/* ---- the report of a run -------------------------------------------- */

typedef struct {
    bool require_dane;
    const report_nagios_range_t *warn_days, *crit_days;   /* NULL: none */
    int verbosity;              /* 0; 1: findings; 2: every certificate and TLSA record */
    bool domain_lines;          /* a heading line per domain (several domains) */
} report_nagios_config_t;

typedef struct report_nagios report_nagios_t;

/* cfg (and the ranges it points to) must outlive the report.  NULL when
 * out of memory. */
report_nagios_t *report_nagios_new(const report_nagios_config_t *cfg);
void report_nagios_free(report_nagios_t *report);

/* Take one domain into account; nothing of d is kept.  0, or -1 when
 * out of memory. */
int report_nagios_add(report_nagios_t *report, const model_domain_t *d);

/* The worst state so far: the verdicts' and the certificate thresholds'. */
report_nagios_state_t report_nagios_state(const report_nagios_t *report);

/* Status line, performance data and long output on out, flushed; the run
 * took `seconds`.  0, or -1 when it could not be written. */
int report_nagios_write(report_nagios_t *report, FILE *out, double seconds);

/* The same, for a run that did not end normally (timeout, resolver that
 * cannot validate, interrupted): the status line says `state` and `why`;
 * what was found so far follows as long output. */
int report_nagios_write_abort(report_nagios_t *report, FILE *out, report_nagios_state_t state,
                              const char *why, double seconds);

#endif
