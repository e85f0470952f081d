#!/usr/bin/python3
"""The fixture world checks itself before anything is tested against it.

Run inside `fixtures/world run`.  Two independent standard tools must agree
with the scenario catalogue:

1. Unbound's own validation: for every name the catalogue states a DNSSEC
   status for, the resolver answers with AD (secure), without AD (insecure)
   or SERVFAIL with a DNSSEC extended error (bogus) or another SERVFAIL
   (indeterminate); where the catalogue names an EDE code, Unbound gives it.
2. posttls-finger, Postfix's DANE client: for every scenario where it is
   comparable, its outcome at the address it reached matches the expected
   address result (and the matched TLSA record and depth, where given).
"""

import concurrent.futures
import json
import os
import re
import subprocess
import sys
import tempfile

import dns.edns
import dns.flags
import dns.message
import dns.query
import dns.rcode

RESOLVER = os.environ["DANESCAN_RESOLVER"]
RESOLV_CONF = os.environ["DANESCAN_RESOLV_CONF"]
CATALOGUE = json.load(open(os.environ["DANESCAN_SCENARIOS"]))
VERBOSE = "--verbose" in sys.argv[1:]
DNSSEC_EDE = range(1, 13)  # RFC 8914 codes 1-12 are DNSSEC validation outcomes


# ------------------------------------------------------------------ DNS

def expected_lookups():
    """(name, type, status, ede) for every status the catalogue states."""
    out = []
    for s in CATALOGUE["scenarios"]:
        e = s["expect"]
        if s.get("input_only"):
            continue
        out.append((s["domain"], "MX", e["mx_dnssec"], e.get("ede")))
        for h in e.get("hosts", []):
            addrs = list(h.get("addresses", {}))
            family = "AAAA" if addrs and all(":" in a for a in addrs) else "A"
            out.append((h["host"], family, h["dnssec"], None))
            if "aaaa_dnssec" in h:
                out.append((h["host"], "AAAA", h["aaaa_dnssec"], None))
            if "tlsa" in h:
                out.append(("_25._tcp." + h["tlsa"]["base_domain"], "TLSA", h["tlsa"]["dnssec"], None))
    return out


def unbound_status(name, rtype):
    q = dns.message.make_query(name, rtype, want_dnssec=True)
    q.use_edns(0, dns.flags.DO, 1232)
    r = dns.query.udp(q, RESOLVER, timeout=10)
    edes = [o.code for o in r.options if o.otype == dns.edns.OptionType.EDE]
    if r.rcode() == dns.rcode.SERVFAIL:
        return ("bogus" if any(int(c) in DNSSEC_EDE for c in edes) else "indeterminate"), edes
    return ("secure" if r.flags & dns.flags.AD else "insecure"), edes


def as_list(x):
    return x if isinstance(x, list) else [x]


def check_dns():
    failures = []
    lookups = expected_lookups()
    for name, rtype, want, want_ede in lookups:
        got, edes = unbound_status(name, rtype)
        if got != want:
            failures.append("%s %s: unbound says %s (EDE %s), catalogue says %s" % (name, rtype, got, edes, want))
        elif want_ede is not None and not set(as_list(want_ede)) & {int(c) for c in edes}:
            failures.append("%s %s: unbound gives EDE %s, catalogue says %s" % (name, rtype, edes, want_ede))
    return len(lookups), failures


# ------------------------------------------------------------------ posttls-finger

ADDR = re.compile(r"\[([0-9a-fA-F:.]+)\]:25")
# "public key verified certificate at depth N": a bare DANE-TA key sits one
# above the certificate it verified.
MATCHED = re.compile(r"Matched DANE \w+ (certificate|public key verified certificate) at depth (\d+): (\d) (\d) (\d+) ")
REASONS = [("no matching DANE TLSA records", "tlsa-mismatch"), ("hostname mismatch", "name-mismatch"),
           ("certificate has expired", "cert-expired")]


def posttls_finger(domain, config_dir):
    argv = ["unshare", "-m", "sh", "-c",
            'mount --bind "$0" /etc/resolv.conf && exec posttls-finger "$@"', RESOLV_CONF,
            "-l", "dane", "-t", "5", "-T", "5", "-o", "smtp_starttls_timeout=5s",
            "-o", "smtp_randomize_addresses=no", domain]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=120,
                       env=dict(os.environ, MAIL_CONFIG=config_dir))
    return r.stdout + r.stderr


def classify(out):
    """What posttls-finger saw: (outcome, address, reason, matched)."""
    lines = [l for l in out.splitlines() if not re.match(r"posttls-finger: [<>] ", l)]
    text = "\n".join(lines)
    addr = ADDR.search(text)
    addr = addr.group(1) if addr else None
    reason = next((r for needle, r in REASONS if needle in text), None)
    m = MATCHED.search(text)
    matched = None
    if m:
        matched = ("%s %s %s" % m.group(3, 4, 5), int(m.group(2)) + (m.group(1) != "certificate"))
    if "nullMX" in text:
        return "null-mx", addr, reason, matched
    if "Destination address lookup failed" in text:
        return ("lookup-retry" if "try again" in text else "lookup-none"), addr, reason, matched
    if "TLSA lookup error" in text:
        return "tlsa-error", addr, reason, matched
    if re.search(r"(Verified|Trusted) TLS connection established", text):
        return "verified", addr, reason, matched
    if re.search(r"(Untrusted|Anonymous) TLS connection established", text):
        return "untrusted", addr, reason, matched
    if "Connection refused" in text:
        return "refused", addr, reason, matched
    if re.search(r"timed out|timeout", text, re.I):
        return "timeout", addr, reason, matched
    if re.search(r"TLS handshake|SSL_connect|Cannot start TLS|handshake fail", text, re.I):
        return "tls-failed", addr, reason, matched
    if "lost connection while sending STARTTLS" in text:
        # a reset, not a refusal: the STARTTLS line is in the output either way
        return "smtp-error", addr, reason, matched
    if "> STARTTLS" in out:
        return "starttls-refused", addr, reason, matched
    if re.search(r"service not available|EHLO rejected|refused to talk|lost connection|Connection reset|"
                 r"unexpected|protocol error", text, re.I):
        return "smtp-error", addr, reason, matched
    if "Connected to" in text:
        return "no-starttls", addr, reason, matched
    return "unknown", addr, reason, matched


VERDICT_OUTCOME = {"nxdomain": {"lookup-none"}, "dnssec-bogus": {"lookup-retry"}, "dns-error": {"lookup-retry"},
                   "null-mx": {"null-mx"}}
RESULT_OUTCOME = {
    "dane-pass": {"verified"}, "dane-fail": {"untrusted"}, "tls-only": {"untrusted"},
    "tls-unauthenticated": {"untrusted"}, "no-starttls": {"no-starttls", "starttls-refused"},
    "tls-failed": {"tls-failed", "smtp-error"}, "smtp-error": {"smtp-error"},
    "connect-failed": {"refused"}, "timeout": {"timeout"}, "skipped": {"tlsa-error", "lookup-retry"},
    "no-address": {"lookup-none"},
}


def check_one(s, config_dir):
    """None when not comparable, else a list of disagreements (empty = agree)."""
    e = s["expect"]
    if s.get("input_only") or isinstance(s.get("posttls_finger"), str):
        return None
    outcome, addr, reason, matched = classify(posttls_finger(s["domain"], config_dir))
    where = "%s: posttls-finger %s at %s" % (s["domain"], outcome, addr)
    if e["verdict"] in VERDICT_OUTCOME:
        return [] if outcome in VERDICT_OUTCOME[e["verdict"]] else [where + ", catalogue verdict " + e["verdict"]]
    want = None
    for h in e.get("hosts", []):
        if addr in h.get("addresses", {}):
            want = h["addresses"][addr]
        elif addr and "any_address" in h:
            want = h["any_address"]
        elif addr is None and h["status"] == "no-address":
            want = {"result": "no-address"}
        elif addr is None and h["status"] in ("bogus", "lookup-error") and h.get("addresses"):
            want = {"result": "skipped"}
        if want:
            break
    if want is None:
        return ["%s, no expectation for that address" % where]
    problems = []
    if outcome not in RESULT_OUTCOME.get(want["result"], set()):
        problems.append("%s, catalogue says %s" % (where, want["result"]))
    if want["result"] == "dane-fail" and reason != want.get("reason"):
        problems.append("%s: reason %s, catalogue says %s" % (where, reason, want.get("reason")))
    if "matched" in want and matched != (want["matched"], want["depth"]):
        problems.append("%s: matched %s, catalogue says %s at depth %d" % (where, matched, want["matched"], want["depth"]))
    return problems


def check_posttls_finger():
    with tempfile.TemporaryDirectory() as config_dir:
        with open(os.path.join(config_dir, "main.cf"), "w") as f:
            f.write("compatibility_level = 3.6\nsmtp_dns_support_level = dnssec\n")
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            results = list(pool.map(lambda s: check_one(s, config_dir), CATALOGUE["scenarios"]))
    if VERBOSE:
        for s, r in zip(CATALOGUE["scenarios"], results):
            mark = "n/a " if r is None else ("ok  " if not r else "FAIL")
            print("  %s %-28s %-16s %s" % (mark, s["domain"], s["expect"]["verdict"], s["what"]))
    compared = [r for r in results if r is not None]
    failures = [p for r in compared for p in r]
    return len(compared), len(results) - len(compared), failures


def main():
    passed = failed = 0
    n, failures = check_dns()
    print("dns: unbound agrees on %d/%d names" % (n - len(failures), n))
    for f in failures:
        print("  DISAGREE " + f)
    passed, failed = passed + n - len(failures), failed + len(failures)

    n, skipped, failures = check_posttls_finger()
    bad = len({f.split(":")[0] for f in failures})
    print("posttls-finger: agrees on %d/%d scenarios (%d not comparable)" % (n - bad, n, skipped))
    for f in failures:
        print("  DISAGREE " + f)
    passed, failed = passed + n - bad, failed + bad
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
