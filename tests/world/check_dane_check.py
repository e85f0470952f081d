#!/usr/bin/python3
"""check_dane, and danescan's nagios and junit formats, against the fixture world.

Run inside the world:

    fixtures/world run -- tests/world/check_dane_check.py CHECK_DANE DANESCAN

1. check_dane as a monitoring engine runs it, one row per case: exit
   status, the status line ("DANE <STATE> - <words>"), and the performance
   data parsed by the guidelines' grammar (label=value[UOM];warn;crit, C
   locale numbers, "U" for undetermined).  Rows cover every state: the
   verdict mapping, --require-dane, the -w/-c certificate thresholds
   (DANE-EE with an expired certificate), --at, usage errors, and a
   resolver that cannot validate (wrong trust anchor, nothing listening,
   a non-validating server under --trust-ad).
2. The time budget: a resolver behind a proxy that delays every answer
   makes the check overrun -t, which must end it in time in the timeout
   state (CRITICAL, or the state -t SECONDS:STATE names); a silent SMTP
   server must end as an address timeout within -t.
3. danescan --format nagios over three domains, and --format junit over
   every catalogue domain (hostile banners included): the document parses,
   counts agree with its elements, one suite per input, and a suite fails
   exactly when its verdict is WARNING/CRITICAL by DESIGN.md's mapping.

Prints "N passed, N failed"; exit status 1 when anything failed.
"""

import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import xml.etree.ElementTree as ET

CHECK_DANE = os.path.abspath(sys.argv[1])
DANESCAN = os.path.abspath(sys.argv[2])
RESOLVER = os.environ["DANESCAN_RESOLVER"]
ANCHOR = os.environ["DANESCAN_TRUST_ANCHOR"]
CATALOGUE = json.load(open(os.environ["DANESCAN_SCENARIOS"]))
AUTHORITATIVE = CATALOGUE["servers"]["authoritative"]
BASE = ["--resolver", RESOLVER, "--trust-anchor", ANCHOR, "--allow-private"]
DAY = 86400

passed = failed = 0


def check(cond, what):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print("  FAIL " + what)
    return cond


# ------------------------------------------------------------ plugin output

PERF_VALUE = re.compile(r"^(-?[0-9]+(\.[0-9]+)?|U)([a-zA-Z%]*)$")


def parse_perfdata(text):
    """Monitoring Plugins guidelines: 'label'=value[UOM];[warn];[crit];[min];[max]"""
    perf = {}
    for item in text.split():
        label, _, rest = item.partition("=")
        fields = rest.split(";")
        m = PERF_VALUE.match(fields[0])
        if not check(m is not None, "perfdata %r: value is not a C-locale number or U" % item):
            continue
        perf[label] = {"value": m.group(1), "uom": m.group(3),
                       "warn": fields[1] if len(fields) > 1 else "",
                       "crit": fields[2] if len(fields) > 2 else ""}
    return perf


def run_plugin(args, timeout=60):
    start = time.monotonic()
    r = subprocess.run([CHECK_DANE] + args, capture_output=True, text=True, timeout=timeout)
    took = time.monotonic() - start
    lines = r.stdout.split("\n")
    status, _, perf = lines[0].partition(" | ")
    return r, status, parse_perfdata(perf), lines[1:], took


STATES = {0: "OK", 1: "WARNING", 2: "CRITICAL", 3: "UNKNOWN"}


def stamp(offset_days):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + offset_days * DAY))


# (name, args, exit, status line pattern, {perf label: value or (lo, hi)},
#  {perf label: (warn, crit)}, long-output substring)
ROWS = [
    ("dane-ee OK", ["-H", "dane-ee.test", "-w", "30", "-c", "14"], 0,
     r"DANE valid, 1 of 1 address authenticated$",
     {"mx": 1, "addresses_ok": 1, "addresses_failed": 0, "cert_days_min": (360, 366)},
     {"cert_days_min": ("30:", "14:")},
     "[OK]   mx.dane-ee.test[127.25.0.1]: authenticated by DANE, TLSA 3 1 1 at depth 0"),
    ("partial WARNING", ["-H", "partial.test"], 1,
     r"^DANE WARNING - partial\.test: DANE partial: mx2\.partial\.test: no DANE",
     {"mx": 2, "addresses_ok": 1, "addresses_failed": 1}, {}, "[WARNING] MX 20 mx2.partial.test"),
    ("tlsa-mismatch CRITICAL", ["-H", "tlsa-mismatch.test"], 2,
     r"^DANE CRITICAL - tlsa-mismatch\.test: DANE invalid: mx\.tlsa-mismatch\.test\[127\.25\.0\.1\]: "
     r"DANE authentication failed \(tlsa-mismatch\)$",
     {"mx": 1, "addresses_ok": 0, "addresses_failed": 1}, {}, None),
    ("bogus-mx CRITICAL", ["-H", "bogus-mx.test", "-w", "30"], 2,
     r"^DANE CRITICAL - bogus-mx\.test: DNSSEC bogus \(MX lookup bogus: ",
     {"mx": 0, "cert_days_min": "U"}, {"cert_days_min": ("30:", "")}, None),
    ("no-tlsa OK", ["-H", "no-tlsa.test"], 0, r"^DANE OK - no-tlsa\.test: no DANE$",
     {"mx": 1, "addresses_ok": 1, "addresses_failed": 0}, {}, None),
    ("no-tlsa --require-dane CRITICAL", ["-H", "no-tlsa.test", "--require-dane"], 2,
     r"^DANE CRITICAL - no-tlsa\.test: no DANE \(DANE is required\)$",
     {"addresses_failed": 1}, {}, "[CRITICAL]   mx.no-tlsa.test[127.25.0.1]"),
    # RFC 7671 §5.1: DANE-EE passes with an expired certificate; -w/-c still count it
    ("dane-ee-expired, no thresholds", ["-H", "dane-ee-expired.test"], 0,
     r"^DANE OK - dane-ee-expired\.test: DANE valid", {"cert_days_min": (-40, -34)}, {}, None),
    ("dane-ee-expired -w 400 WARNING", ["-H", "dane-ee-expired.test", "-w", "400"], 1,
     r"^DANE WARNING - dane-ee-expired\.test: certificate of mx\.dane-ee-expired\.test\[127\.25\.0\.2\] "
     r"expired 3[4-9] days ago; DANE valid",
     {"cert_days_min": (-40, -34)}, {"cert_days_min": ("400:", "")}, None),
    ("dane-ee-expired -w 400 -c 0 CRITICAL", ["-H", "dane-ee-expired.test", "-w", "400", "-c", "0"], 2,
     r"^DANE CRITICAL - dane-ee-expired\.test: certificate of .* expired", {},
     {"cert_days_min": ("400:", "0:")}, None),
    ("dane-ee-expired, range syntax @-100:0", ["-H", "dane-ee-expired.test", "-c", "@-100:0"], 2,
     r"^DANE CRITICAL - ", {}, {"cert_days_min": ("", "@-100:0")}, None),
    ("dane-ee-expired, range outside ~:-100", ["-H", "dane-ee-expired.test", "-c", "~:-100"], 2,
     r"^DANE CRITICAL - ", {}, {}, None),
    ("dane-ee-expired, -c -100: not crossed", ["-H", "dane-ee-expired.test", "-c", "-100:"], 0,
     r"^DANE OK - ", {}, {}, None),
    # --at: ten days on, the certificate has about 354 days left
    ("--at ten days on", ["-H", "dane-ee.test", "-w", "360", "--at", stamp(10)], 1,
     r"^DANE WARNING - dane-ee\.test: certificate of mx\.dane-ee\.test\[127\.25\.0\.1\] expires in 35[3-6] days",
     {"cert_days_min": (352, 357)}, {}, None),
    ("--at now", ["-H", "dane-ee.test", "-w", "360", "--at", stamp(0)], 0, r"^DANE OK - ", {}, {}, None),
    ("incomplete WARNING", ["-H", "incomplete.test"], 1,
     r"^DANE WARNING - incomplete\.test: DANE incomplete: mx2\.incomplete\.test\[127\.25\.2\.1\]", {}, {}, None),
    ("nxdomain CRITICAL", ["-H", "does-not-exist.test"], 2, r"^DANE CRITICAL - does-not-exist\.test: no such domain",
     {"mx": 0}, {}, None),
    ("null MX OK", ["-H", "null-mx.test"], 0, r"^DANE OK - null-mx\.test: null MX$", {"mx": 0}, {}, None),
    ("lame CRITICAL", ["-H", "lame.test"], 2, r"^DANE CRITICAL - lame\.test: DNS error", {}, {}, None),
    ("tlsa-bogus CRITICAL", ["-H", "tlsa-bogus.test"], 2, r"^DANE CRITICAL - tlsa-bogus\.test: DANE invalid", {}, {}, None),
    ("insecure OK", ["-H", "insecure.test"], 0, r"^DANE OK - insecure\.test: insecure$", {}, {}, None),
    ("insecure --require-dane CRITICAL", ["-H", "insecure.test", "--require-dane"], 2,
     r"^DANE CRITICAL - insecure\.test: insecure \(DANE is required\)$", {}, {}, None),
    ("dual-cert -vv", ["-H", "dual-cert.test", "-vv"], 0, r"^DANE OK - dual-cert\.test: DANE valid", {}, {},
     "      rsa certificate: authenticated by DANE, TLSA 3 1 1 at depth 0; TLSv1."),
    ("dual-cert-half CRITICAL", ["-H", "dual-cert-half.test"], 2, r"^DANE CRITICAL - dual-cert-half\.test: DANE invalid",
     {}, {}, None),
    ("-v findings", ["-H", "partial.test", "-v"], 1, r"^DANE WARNING - ", {}, {}, "  warning partial-deployment: "),
    ("--trust-ad with the validating resolver", ["-H", "dane-ee.test", "--trust-ad"], 0,
     r"^DANE OK - dane-ee\.test: DANE valid", {}, {}, None),
    ("--one-cert", ["-H", "dual-cert.test", "--one-cert", "-vv"], 0, r"^DANE OK - ", {}, {}, None),
]


def check_rows():
    for name, args, want_exit, pattern, perf_want, thresholds, longout in ROWS:
        r, status, perf, lines, took = run_plugin(args + BASE)
        where = "%s (check_dane %s)" % (name, " ".join(args))
        check(r.returncode == want_exit, "%s: exit %d, want %d: %s" % (where, r.returncode, want_exit, r.stdout[:300]))
        check(status.startswith("DANE %s - " % STATES.get(want_exit, "?")),
              "%s: status line %r does not say %s" % (where, status, STATES.get(want_exit)))
        check(re.search(pattern, status) is not None, "%s: status line %r !~ %r" % (where, status, pattern))
        check(status.count("|") == 0, "%s: '|' in the status text" % where)
        for label in ("mx", "addresses_ok", "addresses_failed", "cert_days_min", "time"):
            check(label in perf, "%s: no %s in the perfdata %r" % (where, label, perf))
        if "time" in perf:
            check(perf["time"]["uom"] == "s" and float(perf["time"]["value"]) <= took + 0.05,
                  "%s: time=%s%s (took %.3f s)" % (where, perf["time"]["value"], perf["time"]["uom"], took))
        for label, want in perf_want.items():
            got = perf.get(label, {}).get("value")
            if isinstance(want, tuple):
                ok = got not in (None, "U") and want[0] <= int(got) <= want[1]
            else:
                ok = got == str(want)
            check(ok, "%s: %s=%s, want %s" % (where, label, got, want))
        for label, (warn, crit) in thresholds.items():
            p = perf.get(label, {})
            check((p.get("warn"), p.get("crit")) == (warn, crit),
                  "%s: %s thresholds %r;%r, want %r;%r" % (where, label, p.get("warn"), p.get("crit"), warn, crit))
        if longout is not None:
            check(longout in "\n".join(lines), "%s: long output lacks %r:\n%s" % (where, longout, r.stdout))
        check(took < 10.5, "%s: took %.1f s, beyond the default -t 10" % (where, took))


# ------------------------------------------------------ UNKNOWN, and only then

def wrong_anchor():
    """A root DS that the world's root key does not match."""
    f = tempfile.NamedTemporaryFile("w", suffix=".ds", delete=False)
    f.write(". 3600 IN DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D\n")
    f.close()
    return f.name


def check_unknown():
    anchor = wrong_anchor()
    rows = [
        ("wrong trust anchor", ["-H", "dane-ee.test", "--resolver", RESOLVER, "--trust-anchor", anchor,
                                "--allow-private"], "the resolver cannot validate: the root DNSKEY RRset does not validate"),
        ("nothing listens at the resolver address", ["-H", "dane-ee.test", "--resolver", "127.0.0.9",
                                                     "--trust-anchor", ANCHOR, "--allow-private"],
         "the resolver cannot validate: the resolver gave no usable answer"),
        ("--trust-ad with a server that does not validate", ["-H", "dane-ee.test", "--resolver", AUTHORITATIVE,
                                                             "--trust-ad", "--allow-private"],
         "the resolver cannot validate: the resolver does not validate"),
        ("--trust-ad with a resolver off loopback", ["-H", "dane-ee.test", "--resolver", "192.0.2.1", "--trust-ad"],
         "--trust-ad needs a validating resolver on loopback"),
        ("unreadable trust anchor", ["-H", "dane-ee.test", "--trust-anchor", "/nonexistent/root.key"],
         "trust anchor /nonexistent/root.key"),
        ("bad -w", ["-H", "dane-ee.test", "-w", "abc"], "-w: range 'abc'"),
        ("bad -c", ["-H", "dane-ee.test", "-c", "20:10"], "-c: range '20:10': start 20 is above end 10"),
        ("no -H", ["-w", "30"], "no domain: give -H DOMAIN"),
        ("-H without a value", ["-H"], "-H needs a value"),
        ("-H an IP literal", ["-H", "127.25.0.1"], "an IP address literal is not a mail domain"),
        ("-H with a blank", ["-H", "dane-ee.test junk"], "blank"),
        ("-t 0", ["-H", "dane-ee.test", "-t", "0"], "-t wants SECONDS"),
        ("-t bad state", ["-H", "dane-ee.test", "-t", "5:MAYBE"], "-t wants SECONDS"),
        ("unknown option", ["-H", "dane-ee.test", "--frobnicate"], "unknown option '--frobnicate'"),
        ("stray argument", ["-H", "dane-ee.test", "extra.test"], "unexpected argument 'extra.test'"),
        ("--port 0", ["-H", "dane-ee.test", "--port", "0"], "--port wants 1-65535"),
        ("--at garbage", ["-H", "dane-ee.test", "--at", "yesterday"], "--at wants"),
    ]
    try:
        for name, args, words in rows:
            r, status, perf, lines, took = run_plugin(args)
            check(r.returncode == 3, "%s: exit %d, want 3 (UNKNOWN): %s" % (name, r.returncode, r.stdout[:300]))
            check(status.startswith("DANE UNKNOWN - "), "%s: status line %r" % (name, status))
            check(words in status, "%s: status line %r lacks %r" % (name, status, words))
            check(took < 10.5, "%s: took %.1f s" % (name, took))
    finally:
        os.unlink(anchor)
    for args in (["-h"], ["--help"], ["-V"], ["--version"]):
        r = subprocess.run([CHECK_DANE] + args, capture_output=True, text=True, timeout=10)
        check(r.returncode == 0 and r.stdout.strip() != "", "check_dane %s: exit %d" % (args[0], r.returncode))
    r = subprocess.run([CHECK_DANE, "--help"], capture_output=True, text=True, timeout=10)
    check("Usage: check_dane -H DOMAIN" in r.stdout and "--require-dane" in r.stdout, "--help lacks the usage")


# --------------------------------------------------------------- time budget

class SlowProxy:
    """UDP DNS proxy to the world's resolver that holds every answer back."""

    def __init__(self, delay):
        self.delay = delay
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.stop = False
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def answer(self, query, client):
        up = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        up.settimeout(5)
        try:
            up.sendto(query, (RESOLVER, 53))
            data = up.recv(65535)
            time.sleep(self.delay)
            self.sock.sendto(data, client)
        except OSError:
            pass
        finally:
            up.close()

    def serve(self):
        self.sock.settimeout(0.2)
        while not self.stop:
            try:
                query, client = self.sock.recvfrom(65535)
            except socket.timeout:
                continue
            except OSError:
                return
            threading.Thread(target=self.answer, args=(query, client), daemon=True).start()

    def close(self):
        self.stop = True
        self.thread.join()
        self.sock.close()


def check_time_budget():
    proxy = SlowProxy(0.2)
    slow = ["--resolver", "127.0.0.1:%d" % proxy.port, "--trust-anchor", ANCHOR, "--allow-private"]
    try:
        # every answer 200 ms late, inside its 250 ms try (-t 2 / 8): the
        # lookups succeed one after the other (about 1.6 s), then the silent
        # server's banner phase gets its -t/3: together more than -t 2
        for extra, want_exit, state in (([], 2, "CRITICAL"), (["-t", "2:UNKNOWN"], 3, "UNKNOWN"),
                                        (["-t", "2:warning"], 1, "WARNING")):
            args = ["-H", "fault-silent.test", "-t", "2"] + extra + slow
            r, status, perf, lines, took = run_plugin(args)
            where = "overrun (%s)" % " ".join(args[:6])
            check(r.returncode == want_exit, "%s: exit %d, want %d: %s" % (where, r.returncode, want_exit, r.stdout[:300]))
            check(status.startswith("DANE %s - check timed out after 2 s" % state), "%s: status line %r" % (where, status))
            check(took < 2.3, "%s: took %.2f s, -t 2" % (where, took))
        # the same proxy with time to spare: the answer is right, only slower
        r, status, perf, lines, took = run_plugin(["-H", "dane-ee.test", "-t", "10"] + slow)
        check(r.returncode == 0 and status.startswith("DANE OK - dane-ee.test: DANE valid"),
              "slow resolver, -t 10: exit %d %r" % (r.returncode, status))
    finally:
        proxy.close()
    # a server that never speaks: the banner phase gets -t/3, the check
    # still reports in time, as an incomplete DANE deployment
    r, status, perf, lines, took = run_plugin(["-H", "fault-silent.test", "-t", "3"] + BASE)
    check(r.returncode == 1 and re.match(r"DANE WARNING - fault-silent\.test: DANE incomplete: .*timed out \(banner\)", status),
          "fault-silent -t 3: exit %d %r" % (r.returncode, status))
    check(0.9 < took < 3.0, "fault-silent -t 3: took %.2f s" % took)


# -------------------------------------------------- danescan nagios and junit

def state_of(verdict, require=False):
    if verdict in ("dane-valid", "null-mx"):
        return "OK"
    if verdict in ("dane-partial", "dane-incomplete", "invalid-input"):
        return "WARNING"
    if verdict in ("no-dane", "insecure"):
        return "CRITICAL" if require else "OK"
    return "CRITICAL"


def check_danescan_nagios():
    r = subprocess.run([DANESCAN, "--format", "nagios"] + BASE + ["dane-ee.test", "partial.test", "tlsa-mismatch.test"],
                       capture_output=True, text=True, timeout=60)
    status, _, perf = r.stdout.split("\n")[0].partition(" | ")
    check(r.returncode == 2, "danescan --format nagios: exit %d, want 2" % r.returncode)
    check(status.startswith("DANE CRITICAL - 3 domains: 1 critical, 1 warning, 1 OK; worst: tlsa-mismatch.test: DANE invalid"),
          "danescan --format nagios: status line %r" % status)
    p = parse_perfdata(perf)
    check(p.get("domains", {}).get("value") == "3" and p.get("mx", {}).get("value") == "4",
          "danescan --format nagios: perfdata %r" % perf)
    check("\n[WARNING] partial.test: DANE partial" in r.stdout, "danescan --format nagios: no domain heading")


def junit(domains, extra):
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        f.write("\n".join(domains) + "\n")
        listing = f.name
    out = listing + ".xml"
    try:
        r = subprocess.run([DANESCAN, "-f", listing, "--format", "junit", "-o", out, "--timeout", "3"] + BASE + extra,
                           capture_output=True, text=True, timeout=300)
        with open(out, "rb") as f:
            data = f.read()
    finally:
        os.unlink(listing)
        if os.path.exists(out):
            os.unlink(out)
    return r, data


def check_junit():
    scenarios = CATALOGUE["scenarios"]
    domains = [s["domain"] for s in scenarios]
    want = {s["domain"]: s["expect"]["verdict"] for s in scenarios}
    r, data = junit(domains, [])
    check(r.returncode == 2, "junit run: exit %d, want 2 (%s)" % (r.returncode, r.stderr[-300:]))
    try:
        data.decode("utf-8")
        root = ET.fromstring(data)
    except (UnicodeDecodeError, ET.ParseError) as e:
        check(False, "junit: the document does not parse: %s" % e)
        return
    check(root.tag == "testsuites", "junit: root element %s" % root.tag)
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    check(len(suites) == len(set(domains)), "junit: %d suites for %d domains" % (len(suites), len(set(domains))))
    for domain, verdict in want.items():
        s = suites.get(domain)
        if not check(s is not None, "junit: no suite for %s" % domain):
            continue
        cases = s.findall("testcase")
        failures = [c for c in cases if c.find("failure") is not None]
        check(int(s.get("tests")) == len(cases), "junit %s: tests=%s, %d testcases" % (domain, s.get("tests"), len(cases)))
        check(int(s.get("failures")) == len(failures), "junit %s: failures=%s, %d failures" % (domain, s.get("failures"), len(failures)))
        props = {p.get("name"): p.get("value") for p in s.iter("property")}
        check(props.get("verdict") == verdict, "junit %s: verdict property %s, want %s" % (domain, props.get("verdict"), verdict))
        verdict_case = [c for c in cases if c.get("name") == "verdict"]
        if not check(len(verdict_case) == 1, "junit %s: %d verdict testcases" % (domain, len(verdict_case))):
            continue
        failure = verdict_case[0].find("failure")
        bad = state_of(verdict) != "OK"
        check((failure is not None) == bad, "junit %s (%s): verdict testcase %s" % (
            domain, verdict, "fails" if failure is not None else "passes"))
        if failure is not None:
            check(failure.get("type") == state_of(verdict).lower() and failure.get("message"),
                  "junit %s: failure type %s message %r" % (domain, failure.get("type"), failure.get("message")))
        check(bad or not failures, "junit %s (%s): an OK domain with failing testcases %s" % (
            domain, verdict, [c.get("name") for c in failures]))
    # RULES A7: a testcase per certificate
    dual = [c.get("name") for c in suites.get("dual-cert.test", ET.Element("x")).findall("testcase")]
    check("mx.dual-cert.test[127.25.0.11] ecdsa certificate" in dual and
          "mx.dual-cert.test[127.25.0.11] rsa certificate" in dual, "junit dual-cert.test: testcases %s" % dual)
    mismatch = suites.get("tlsa-mismatch.test")
    if mismatch is not None:
        f = [c.find("failure") for c in mismatch.findall("testcase") if c.get("name") == "mx.tlsa-mismatch.test[127.25.0.1]"]
        check(f and f[0] is not None and f[0].get("message") == "DANE authentication failed (tlsa-mismatch)",
              "junit tlsa-mismatch.test: address failure %r" % (f[0].attrib if f and f[0] is not None else None))
    # --fail-on critical: warnings are noted, not failed
    r, data = junit(["partial.test", "dane-ee.test"], ["--fail-on", "critical"])
    root = ET.fromstring(data)
    partial = [s for s in root.findall("testsuite") if s.get("name") == "partial.test"]
    check(r.returncode == 0 and partial and partial[0].get("failures") == "0",
          "junit --fail-on critical: exit %d, partial.test failures %s" % (
              r.returncode, partial[0].get("failures") if partial else None))


def main():
    check_rows()
    check_unknown()
    check_time_budget()
    check_danescan_nagios()
    check_junit()
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
