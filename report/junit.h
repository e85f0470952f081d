/* junit.h - the JUnit XML report, for CI systems (GitLab's
 * artifacts:reports:junit, Jenkins' junit step, GitHub test reporters).
 *
 * One <testsuite> per domain; in it a "verdict" testcase (the domain's
 * verdict), one testcase per MX host x address, or per certificate when
 * the address was checked with two handshakes (RULES A7), and one per MX
 * host that has no address to probe.  A testcase fails (<failure>) when
 * its state under DESIGN.md's Nagios mapping (report/nagios.h) is at
 * least the configured level; a problem below it is noted in
 * <system-out>.  Skipped probes (--no-probe) are <skipped/>.
 *
 * Streamed: report_junit_begin, one report_junit_write per domain as it
 * finishes, report_junit_end; the document is complete (and parseable)
 * after report_junit_end.  All text is XML-escaped; bytes that are not
 * printable ASCII (or tab/newline) become '?', so the document is always
 * valid UTF-8 XML 1.0.
 */
#ifndef DANESCAN_REPORT_JUNIT_H
#define DANESCAN_REPORT_JUNIT_H

#include <stdbool.h>
#include <stdio.h>

#include "model.h"
#include "nagios.h"

typedef struct {
    bool require_dane;
    /* REPORT_NAGIOS_WARNING (danescan --fail-on warning, the default) or
     * REPORT_NAGIOS_CRITICAL (--fail-on critical or never) */
    report_nagios_state_t fail_at;
} report_junit_config_t;

/* The XML declaration and <testsuites>.  0, or -1 on a write error. */
int report_junit_begin(FILE *out);

/* One domain's <testsuite>, its scan having taken `seconds`; flushed.
 * 0, or -1 when it could not be built or written. */
int report_junit_write(FILE *out, const model_domain_t *d, double seconds,
                       const report_junit_config_t *cfg);

/* </testsuites>, flushed.  0, or -1 on a write error. */
int report_junit_end(FILE *out);

/* s escaped for XML text and attribute values (&amp; &lt; &gt; &quot;
 * &apos;; other bytes outside printable ASCII, tab and newline become
 * '?').  A new string the caller frees; NULL when out of memory. */
char *report_junit_escape(const char *s);

#endif
