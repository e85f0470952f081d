#!/usr/bin/python3
"""danescan against every hostile SMTP server of the fixture world.

Run inside `fixtures/world run`, with the danescan binary as argument
(faultd is $DANESCAN_FAULTD, as the world itself uses):

    fault_check.py DANESCAN [--verbose]

Every faultd mode (`faultd --help`; a mode without a row in FAULTS fails
the test) and the refused connection get one danescan run, with a short
--timeout and --concurrency 1, that scans the fault's domain and then a
healthy one, dane-ee.test (Postfix).  Each run must:

- give the fault's address the row's result, and a reason matching the
  row's pattern (DESIGN.md vocabulary: a timeout names its phase);
- take no less than timeout x deadlines (the deadlines that must fire do
  fire) and no more than timeout x deadlines + slack, where slack is a
  healthy run's time plus SLACK_S: a fault may cost its deadlines, never
  more (DESIGN.md limits: a deadline per phase, not per read);
- keep its peak RSS (time(1)'s, of danescan alone) within 4 MiB of a
  healthy run's (8 MiB in a sanitizer build): a 10 MiB line, 100 MiB of
  continuation lines or a 200 KiB chain must not end up in memory;
- survive: exit with the status the verdicts call for (never a signal),
  and give the healthy domain, scanned after the fault, dane-valid;
- where only the server can tell (faultd.log): the HelloRequest was sent
  and no second ClientHello came back; both KeyUpdates went out (TLS 1.3).

Then one run with every fault domain and the healthy one in between, at
the default concurrency: the same results, within the slowest fault's
deadlines plus slack (hostile peers do not queue behind each other), and
within 8 MiB of a healthy run's peak RSS (64 MiB in a sanitizer build).

The catalogue must agree with every row (same domain, same result), so
the table cannot drift from what the other world tests check.
Prints one line per fault and "N passed, N failed"; exit status 1 when
anything failed.
"""

import json
import os
import re
import subprocess
import sys
import tempfile
import time

DANESCAN = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else sys.exit(
    "usage: fault_check.py DANESCAN [--verbose]")
VERBOSE = "--verbose" in sys.argv[2:]
FAULTD = os.environ["DANESCAN_FAULTD"]
CATALOGUE = json.load(open(os.environ["DANESCAN_SCENARIOS"]))
TIME = "/usr/bin/time"  # Debian's time package (.ci/install-deps)
FAULTD_LOG = os.path.join(os.environ["DANESCAN_WORLD_DIR"], "faultd.log")
TIMEOUT_S = 2
SLACK_S = 2.0
HEALTHY = "dane-ee.test"
BASE = ["--allow-private", "--resolver", os.environ["DANESCAN_RESOLVER"],
        "--trust-anchor", os.environ["DANESCAN_TRUST_ANCHOR"], "--timeout", str(TIMEOUT_S)]
# DESIGN.md exit status under the default --fail-on warning.
EXIT_OF = {"dane-valid": 0, "dane-incomplete": 1, "dane-invalid": 2}

# mode: (domain, address result, reason pattern (None: no reason),
#        deadlines that must fire before the run ends)
FAULTS = {
    "ok": ("guard.test", "dane-pass", None, 0),
    "silent": ("fault-silent.test", "timeout", r"^banner$", 1),
    # one byte a second: the banner's deadline fires, however busy the peer looks
    "drip": ("fault-drip.test", "timeout", r"^banner$", 1),
    "endless": ("fault-endless.test", "smtp-error", r"^reply-too-long: ehlo reply longer than 100 lines", 0),
    "endless-wide": ("fault-endless-wide.test", "smtp-error",
                     r"^reply-too-long: ehlo reply longer than 65536 bytes", 0),
    "longline": ("fault-longline.test", "smtp-error",
                 r"^line-too-long: banner reply line longer than 2048 bytes", 0),
    "badcode": ("fault-badcode.test", "smtp-error", r"^bad-reply: banner reply line .*\"22O hello\"", 0),
    "banner554": ("fault-554.test", "smtp-error", r"^banner-rejected: greeting rejected: 554 ", 0),
    "ehlo5xx": ("fault-ehlo.test", "smtp-error", r"^ehlo-rejected: EHLO rejected: 550 ", 0),
    "codemix": ("fault-codemix.test", "smtp-error", r"^bad-code-mix: ehlo reply changes its code from 250", 0),
    "nul": ("fault-nul.test", "dane-pass", None, 0),
    "reset-banner": ("fault-reset.test", "smtp-error", r"^closed: .* in state banner \(Connection reset by peer\)$", 0),
    "reset-ehlo": ("fault-reset-ehlo.test", "smtp-error", r"^closed: .* in state ehlo \(Connection reset by peer\)$", 0),
    "reset-starttls": ("fault-reset-starttls.test", "smtp-error",
                       r"^closed: .* in state starttls \(Connection reset by peer\)$", 0),
    "reset-handshake": ("fault-reset-handshake.test", "tls-failed", r"^Connection reset by peer$", 0),
    "reset-tls": ("fault-reset-tls.test", "dane-pass",
                  r"^after TLS: closed: .* in state ehlo-tls \(Connection reset by peer\)$", 0),
    "inject": ("fault-inject.test", "tls-failed", r"^starttls-injection$", 0),
    "starttls454": ("fault-454.test", "no-starttls", r"^starttls-rejected: STARTTLS rejected: 454 ", 0),
    "nostarttls": ("fault-nostarttls.test", "no-starttls", r"^no-starttls: STARTTLS not offered", 0),
    "tlsalert": ("fault-alert.test", "tls-failed", r"alert handshake failure", 0),
    "slowtls": ("fault-slowtls.test", "timeout", r"^handshake$", 1),
    # glued to the 220, so it is caught as injected plaintext before TLS starts
    "garbagetls": ("fault-garbage.test", "tls-failed", r"^starttls-injection$", 0),
    "renegotiate": ("fault-renegotiate.test", "dane-pass", None, 0),
    "bigchain": ("fault-bigchain.test", "tls-failed", r"excessive message size", 0),
    "silent-ehlo": ("fault-silent-ehlo.test", "timeout", r"^ehlo$", 1),
    "silent-starttls": ("fault-silent-starttls.test", "timeout", r"^starttls$", 1),
    "silent-tls": ("fault-silent-tls.test", "dane-pass", r"^after TLS: timeout in ehlo-tls$", 1),
    "keyupdate": ("fault-keyupdate.test", "dane-pass", None, 0),
}
# hostile without faultd: the connect phase (RST to the SYN)
OTHERS = {
    "refused": ("connect-refused.test", "connect-failed", r"^Connection refused$", 0),
}
# NUL, ESC and 0xff in the greeting, each censored to '?' (DESIGN.md)
NUL_BANNER = "220 faultd.test? ?[31mred? ESMTP faultd"

passed = failed = 0


def check(cond, what):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print("  FAIL " + what)
    return cond


def faultd_modes():
    out = subprocess.run([FAULTD, "--help"], capture_output=True, text=True, check=True).stdout
    return [m.group(1) for m in re.finditer(r"^  [* ] (\S+)", out, re.M)]


def scenario(domain):
    return next((s for s in CATALOGUE["scenarios"] if s["domain"] == domain), None)


def only_address(rec):
    addrs = [a for h in (rec or {}).get("mx", []) for a in h.get("addresses", [])]
    return addrs[0] if len(addrs) == 1 else None


def run(domains, extra=()):
    """One danescan run: (exit status, {domain: record}, wall s, peak RSS KiB)."""
    with tempfile.NamedTemporaryFile("r") as rss:
        started = time.monotonic()
        # Not getrusage(): a child forked from this interpreter starts with
        # its peak RSS; time(1) is small and forks danescan afresh.
        r = subprocess.run([TIME, "-o", rss.name, "-f", "%M", DANESCAN] + BASE + list(extra) + list(domains),
                           capture_output=True, text=True, timeout=300)
        wall = time.monotonic() - started
        peak = rss.read().split()
    records = {}
    for line in r.stdout.splitlines():
        rec = json.loads(line)
        records[rec.get("domain", rec.get("input"))] = rec
    if r.stderr.strip() and VERBOSE:
        print("  stderr: " + r.stderr.strip()[-300:])
    # time(1) says "Command terminated by signal N" before the number
    return r.returncode, records, wall, int(peak[-1]) if peak and peak[-1].isdigit() else -1, r.stderr


def check_catalogue(rows):
    listeners = {l["mode"] for l in CATALOGUE["listeners"].values() if l["server"] == "faultd"}
    for mode in faultd_modes():
        check(mode in FAULTS, "faultd mode %s: no row in FAULTS" % mode)
        check(mode in listeners, "faultd mode %s: no listener in the catalogue" % mode)
    for mode, (domain, result, _, _) in rows.items():
        s = scenario(domain)
        if not check(s is not None, "%s: %s not in the catalogue" % (mode, domain)):
            continue
        want = [a["result"] for h in s["expect"]["hosts"] for a in h.get("addresses", {}).values()]
        check(want == [result], "%s: catalogue says %s for %s, the table %s" % (mode, want, domain, result))


def check_address(mode, rec, result, pattern):
    a = only_address(rec)
    if not check(a is not None, "%s: not one address in %s" % (mode, rec and rec.get("mx"))):
        return
    check(a.get("result") == result, "%s: result %s (%s), want %s" % (
        mode, a.get("result"), a.get("reason"), result))
    reason = a.get("reason")
    if pattern is None:
        check(reason is None, "%s: reason %r, want none" % (mode, reason))
    else:
        check(reason is not None and re.search(pattern, reason) is not None,
              "%s: reason %r, want /%s/" % (mode, reason, pattern))
    if mode == "nul":
        check(a.get("banner") == NUL_BANNER, "nul: banner %r, want %r" % (a.get("banner"), NUL_BANNER))


def faultd_lines(address, since):
    with open(FAULTD_LOG) as f:
        return [l for l in f.read().splitlines()[since:] if " %s:25 " % address in l]


def faultd_log_len():
    with open(FAULTD_LOG) as f:
        return len(f.read().splitlines())


def listener_of(mode):
    return next(l["address"] for l in CATALOGUE["listeners"].values()
                if l["server"] == "faultd" and l["mode"] == mode)


def check_faultd_saw(mode, since):
    """What only the server can tell."""
    if mode not in ("renegotiate", "keyupdate"):
        return
    lines = faultd_lines(listener_of(mode), since)
    if mode == "renegotiate":
        # the HelloRequest went out, and no ClientHello came back
        check(any("renegotiate requested" in l for l in lines), "renegotiate: faultd never asked")
        check(not any("renegotiation-hello" in l for l in lines), "renegotiate: danescan renegotiated")
    elif mode == "keyupdate":
        # TLS 1.3 was negotiated, so both KeyUpdates were sent
        check(any(" keyupdate handshake" in l for l in lines) and any(" keyupdate ehlo" in l for l in lines),
              "keyupdate: faultd sent no KeyUpdate: %s" % [l for l in lines if "keyupdate" in l])


def main():
    rows = dict(FAULTS, **OTHERS)
    check_catalogue(rows)

    # the healthy baseline: what one domain costs in time and memory
    runs = [run([HEALTHY]) for _ in range(2)]
    base_wall = max(r[2] for r in runs)
    base_rss = max(r[3] for r in runs)
    for status, records, _, _, _ in runs:
        check(status == 0 and records.get(HEALTHY, {}).get("verdict") == "dane-valid",
              "baseline: exit %d, verdict %s" % (status, records.get(HEALTHY, {}).get("verdict")))
    asan = "libasan" in subprocess.run(["ldd", DANESCAN], capture_output=True, text=True).stdout
    # under 10 MiB, the longest line faultd sends; a sanitizer build's
    # allocator keeps freed memory in quarantine, which adds up over a batch
    mem_slack = 8192 if asan else 4096
    all_slack = 65536 if asan else 8192
    print("baseline %s: %.2f s, %d KiB; timeout %d s, slack %.2f s, memory slack %d KiB" % (
        HEALTHY, base_wall, base_rss, TIMEOUT_S, base_wall + SLACK_S, mem_slack))
    print("%-16s %-28s %-15s %8s %8s %9s" % ("mode", "domain", "result", "max s", "wall s", "RSS KiB"))

    for mode, (domain, result, pattern, deadlines) in rows.items():
        since = faultd_log_len()
        status, records, wall, rss, err = run([domain, HEALTHY], ["--concurrency", "1"])
        floor = TIMEOUT_S * deadlines
        ceiling = floor + base_wall + SLACK_S
        rec = records.get(domain)
        verdict = (rec or {}).get("verdict")
        print("%-16s %-28s %-15s %8.2f %8.2f %9d" % (
            mode, domain, (only_address(rec) or {}).get("result"), ceiling, wall, rss))
        check(rec is not None, "%s: no record for %s (exit %d: %s)" % (mode, domain, status, err[-300:]))
        check_address(mode, rec, result, pattern)
        check(floor - 0.05 <= wall <= ceiling, "%s: %.2f s, want %.2f..%.2f s" % (mode, wall, floor, ceiling))
        check(0 < rss <= base_rss + mem_slack, "%s: peak RSS %d KiB, want <= %d (baseline %d + %d)" % (
            mode, rss, base_rss + mem_slack, base_rss, mem_slack))
        healthy = records.get(HEALTHY, {})
        check(healthy.get("verdict") == "dane-valid" and (only_address(healthy) or {}).get("result") == "dane-pass",
              "%s: %s after the fault: verdict %s" % (mode, HEALTHY, healthy.get("verdict")))
        want_status = EXIT_OF.get(verdict, 3)
        check(status == want_status, "%s: exit %d, want %d for %s (stderr %r)" % (
            mode, status, want_status, verdict, err[-300:]))
        check_faultd_saw(mode, since)

    # all at once: hostile peers share the loop with the healthy domain
    domains = []
    for domain, _, _, _ in rows.values():
        if domain not in domains:
            domains += [domain, HEALTHY]
    status, records, wall, rss, err = run(domains)
    ceiling = TIMEOUT_S * max(r[3] for r in rows.values()) + base_wall + SLACK_S
    print("%-16s %-28s %-15s %8.2f %8.2f %9d" % ("all at once", "%d domains" % len(domains), "", ceiling, wall, rss))
    for mode, (domain, result, pattern, _) in rows.items():
        check_address(mode + " (all)", records.get(domain), result, pattern)
    check(records.get(HEALTHY, {}).get("verdict") == "dane-valid", "all: %s verdict %s" % (
        HEALTHY, records.get(HEALTHY, {}).get("verdict")))
    check(wall <= ceiling, "all: %.2f s, want <= %.2f s" % (wall, ceiling))
    check(0 < rss <= base_rss + all_slack, "all: peak RSS %d KiB, want <= %d" % (rss, base_rss + all_slack))
    check(status == 2, "all: exit %d, want 2 (stderr %r)" % (status, err[-300:]))

    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
