#!/usr/bin/python3
"""danescan and check_dane under valgrind's memcheck, in the fixture world.

Run inside `fixtures/world run` (meson test --suite valgrind):

    valgrind_check.py DANESCAN CHECK_DANE

Runs (about a minute on a 2-core VM):

1. the whole catalogue, JSON, in-process validation, every address
   probed: dane-valid and dane-invalid domains, bogus and expired
   signatures, NSEC and NSEC3 denials, null MX, NXDOMAIN, lame
   delegations, two-certificate servers (A7) and every faultd mode;
2. the whole catalogue again with --trust-ad --no-probe and the JUnit
   reporter; a few domains with the text and Nagios reporters;
3. check_dane on a passing and a failing domain.

Each run must end with memcheck's "ERROR SUMMARY: 0 errors", no
definitely or indirectly lost block (--errors-for-leak-kinds makes those
errors; --error-exitcode=99 makes any error the exit status 99), and the
exit status and verdicts the catalogue calls for, so the run did the
work it was meant to.  Still-reachable blocks (OpenSSL's and libc's
process-wide state) are not errors.  Prints "N passed, N failed".
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

DANESCAN = os.path.abspath(sys.argv[1])
CHECK_DANE = os.path.abspath(sys.argv[2])
CATALOGUE = json.load(open(os.environ["DANESCAN_SCENARIOS"]))
VALGRIND = shutil.which("valgrind") or sys.exit("valgrind_check: valgrind not found (apt-get install valgrind)")
RESOLVER = ["--resolver", os.environ["DANESCAN_RESOLVER"], "--allow-private"]
ANCHOR = ["--trust-anchor", os.environ["DANESCAN_TRUST_ANCHOR"]]
# valgrind slows TLS down ~30x: room for a handshake, the faults' deadlines still fire
TIMEOUT = ["--timeout", "10"]
MEMCHECK = ["--leak-check=full", "--show-leak-kinds=definite,indirect",
            "--errors-for-leak-kinds=definite,indirect", "--error-exitcode=99",
            "--num-callers=30", "--track-origins=yes"]
EXIT_OF = {"dane-valid": 0, "null-mx": 0, "no-dane": 0, "insecure": 0, "dane-partial": 1,
           "dane-incomplete": 1, "invalid-input": 1}

passed = failed = 0


def check(cond, what):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print("  FAIL " + what)
    return cond


def memcheck(label, argv, want_status):
    """One program under memcheck; returns its stdout."""
    with tempfile.NamedTemporaryFile("r", suffix=".vg") as log:
        r = subprocess.run([VALGRIND, "--log-file=" + log.name] + MEMCHECK + argv,
                           capture_output=True, text=True, timeout=600)
        report = log.read()
    summary = re.search(r"ERROR SUMMARY: (\d+) errors", report)
    lost = {kind: int(n.replace(",", "")) for kind, n in
            re.findall(r"(definitely|indirectly) lost: ([\d,]+) bytes", report)}
    all_freed = "All heap blocks were freed" in report
    print("%s: exit %d, %s, %s" % (label, r.returncode, summary.group(0) if summary else "no summary",
                                    "all heap blocks freed" if all_freed else lost))
    ok = check(r.returncode != 99, "%s: memcheck found errors" % label)
    ok &= check(summary is not None and summary.group(1) == "0", "%s: %s" % (
        label, summary.group(0) if summary else "no ERROR SUMMARY in the valgrind log"))
    ok &= check(all_freed or (lost.get("definitely") == 0 and lost.get("indirectly") == 0),
                "%s: lost blocks %s" % (label, lost))
    if not ok:
        print(report[-6000:])
    check(r.returncode == want_status, "%s: exit %d, want %d (stderr %r)" % (
        label, r.returncode, want_status, r.stderr[-300:]))
    return r.stdout


def domains_file(domains):
    f = tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False)
    f.write("\n".join(domains) + "\n")
    f.close()
    return f.name


def main():
    domains = [s["domain"] for s in CATALOGUE["scenarios"]]
    verdicts = {s["domain"]: s["expect"]["verdict"] for s in CATALOGUE["scenarios"]}
    listing = domains_file(domains)
    try:
        out = memcheck("validate", [DANESCAN, "-f", listing] + RESOLVER + ANCHOR + TIMEOUT, 2)
        records = {}
        for line in out.splitlines():
            rec = json.loads(line)
            records[rec.get("domain", rec.get("input"))] = rec
        check(len(records) == len(domains), "validate: %d records, want %d" % (len(records), len(domains)))
        wrong = {d: (records.get(d, {}).get("verdict"), v) for d, v in verdicts.items()
                 if records.get(d, {}).get("verdict") != v}
        check(not wrong, "validate: verdicts (got, want) %s" % wrong)

        out = memcheck("trust-ad junit", [DANESCAN, "-f", listing, "--trust-ad", "--no-probe",
                                          "--format", "junit"] + RESOLVER, 2)
        check(out.count("<testsuite ") == len(domains), "trust-ad junit: %d suites, want %d" % (
            out.count("<testsuite "), len(domains)))
    finally:
        os.unlink(listing)

    few = ["dane-ee.test", "tlsa-mismatch.test", "fault-nul.test", "bogus-mx.test", "null-mx.test",
           "does-not-exist.example", "dual-cert.test"]
    for fmt in ("text", "nagios"):
        out = memcheck(fmt, [DANESCAN, "--format", fmt] + RESOLVER + ANCHOR + TIMEOUT + few, 2)
        check("tlsa-mismatch.test" in out, "%s: tlsa-mismatch.test not in the report" % fmt)

    for domain in ("dane-ee.test", "tlsa-mismatch.test"):
        want = EXIT_OF.get(verdicts[domain], 2)
        out = memcheck("check_dane " + domain, [CHECK_DANE, "-H", domain, "-t", "30"] + RESOLVER + ANCHOR, want)
        check(out.startswith("DANE "), "check_dane %s: status line %r" % (domain, out[:80]))

    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
