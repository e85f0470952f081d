#!/usr/bin/python3
"""danescan against every scenario of the fixture world.

Run inside `fixtures/world run`, with the danescan binary as argument:
one batch scan of all catalogue domains (JSON Lines), then every domain's
verdict, MX status, hosts, TLSA, address results, matched records and
findings are compared with the catalogue (every finding's severity with
docs/findings.md).  Then the guard scenario without
--allow-private (no connection may reach its listener), the same DNS
expectations in --trust-ad mode, and the exit status.

    scan_check.py DANESCAN [--mode validate|trust-ad|guard]...
"""

import collections
import json
import os
import re

import jsonschema
import subprocess
import sys
import tempfile

DANESCAN = os.path.abspath(sys.argv[1])
CATALOGUE = json.load(open(os.environ["DANESCAN_SCENARIOS"]))
BASE = ["--resolver", os.environ["DANESCAN_RESOLVER"], "--timeout", "5"]
FAULTD_LOG = os.path.join(os.environ["DANESCAN_WORLD_DIR"], "faultd.log")
SCHEMA = jsonschema.Draft202012Validator(json.load(open(os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "report", "schema.json"))))


def documented_severities():
    """code -> severity from the table at the top of docs/findings.md."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs", "findings.md")
    table = {}
    for line in open(path):
        m = re.match(r"\| \[`([a-z0-9-]+)`\]\(#[a-z0-9-]+\) \| (info|warning|critical) \|", line)
        if m:
            table[m.group(1)] = m.group(2)
    return table


SEVERITY = documented_severities()

passed = failed = 0
failed_domains = set()


def check(cond, what):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        failed_domains.add(what.split(":")[0].split()[0].split("[")[0])
        print("  FAIL " + what)
    return cond


def scan(domains, extra):
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        f.write("\n".join(domains) + "\n")
        listing = f.name
    try:
        r = subprocess.run([DANESCAN, "-f", listing] + BASE + extra, capture_output=True,
                           text=True, timeout=300)
    finally:
        os.unlink(listing)
    records = {}
    for line in r.stdout.splitlines():
        rec = json.loads(line)
        errors = [e.message for e in SCHEMA.iter_errors(rec)]
        check(not errors, "%s: output does not match report/schema.json: %s" % (
            rec.get("domain", rec.get("input")), errors[:3]))
        records[rec.get("domain", rec.get("input"))] = rec
    return r, records


TLSRPT = {"no-starttls": "starttls-not-supported", "tls-unauthenticated": "tlsa-invalid",
          "tlsa-mismatch": "validation-failure", "name-mismatch": "certificate-host-mismatch",
          "cert-expired": "certificate-expired", "tls-failed": "validation-failure"}


def compare_address(where, want, got, dane_host=True):
    check(got.get("result") == want["result"],
          "%s: result %s, want %s (reason %s)" % (where, got.get("result"), want["result"], got.get("reason")))
    if want["result"] in ("dane-fail", "timeout") and "reason" in want:
        check(want["reason"] in (got.get("reason") or ""),
              "%s: reason %r, want %r" % (where, got.get("reason"), want["reason"]))
    key = want.get("reason") if want["result"] == "dane-fail" else want["result"]
    if not dane_host:
        check("tlsrpt" not in got, "%s: tlsrpt %s for a host without DANE" % (where, got.get("tlsrpt")))
    elif key in TLSRPT:
        check(got.get("tlsrpt") == TLSRPT[key], "%s: tlsrpt %s, want %s" % (where, got.get("tlsrpt"), TLSRPT[key]))
    if want.get("reason") == "starttls-injection":
        check("starttls-injection" in (got.get("reason") or ""), "%s: reason %r" % (where, got.get("reason")))
    if "matched" in want and want["result"] == "dane-pass":
        m = got.get("matched") or {}
        have = "%s %s %s" % (m.get("usage"), m.get("selector"), m.get("mtype"))
        check(have == want["matched"] and m.get("depth") == want["depth"],
              "%s: matched %s depth %s, want %s depth %s" % (where, have, m.get("depth"), want["matched"], want["depth"]))
    if "sni" in want:
        # RULES A5: faultd logs the SNI of every handshake it completes
        sni = "sni=%s" % want["sni"]
        check(sni in open(FAULTD_LOG).read(), "%s: faultd never saw %s" % (where, sni))
    if "certificates" in want:
        got_certs = {h.get("cert_type"): h.get("result") for h in got.get("handshakes", [])}
        check(got_certs == want["certificates"], "%s: certificates %s, want %s" % (where, got_certs, want["certificates"]))


def compare_findings(d, want, got, mode):
    """The catalogue's `findings` are the exact codes of the scan (a code
    once per host or address it concerns).  Without a probe, the findings
    that need a handshake cannot appear: then the codes must be a subset.
    Every finding must be documented with the severity it carries."""
    for f in got:
        code = f.get("code")
        check(SEVERITY.get(code) == f.get("severity"), "%s: finding %s has severity %s, docs/findings.md says %s" % (
            d, code, f.get("severity"), SEVERITY.get(code)))
    if want is None:
        return
    have = collections.Counter(f.get("code") for f in got)
    need = collections.Counter(want)
    if mode == "validate":
        check(have == need, "%s: findings %s, want %s" % (d, sorted(have.elements()), sorted(need.elements())))
    else:
        check(not (have - need), "%s: findings %s not in %s" % (d, sorted((have - need).elements()), sorted(need.elements())))


def compare(s, rec, mode):
    """One record against the catalogue; mode "trust-ad" skips what only
    in-process validation can tell (the EDE of a bogus answer)."""
    e = s["expect"]
    d = s["domain"]
    if not check(rec is not None, "%s: no record in the output" % d):
        return
    check(rec.get("verdict") == e["verdict"], "%s: verdict %s, want %s" % (d, rec.get("verdict"), e["verdict"]))
    if e["verdict"] == "invalid-input":
        check(bool(rec.get("error")), "%s: invalid input without an error" % d)
        return
    check(rec.get("mx_dnssec") == e["mx_dnssec"], "%s: mx_dnssec %s, want %s" % (d, rec.get("mx_dnssec"), e["mx_dnssec"]))
    compare_findings(d, s.get("findings"), rec.get("findings", []), mode)
    if "ede" in e and mode != "trust-ad":
        wanted = e["ede"] if isinstance(e["ede"], list) else [e["ede"]]
        check(rec.get("mx_ede") in wanted, "%s: mx_ede %s, want %s (%s)" % (d, rec.get("mx_ede"), e["ede"], rec.get("mx_reason")))
    hosts = {h["host"]: h for h in rec.get("mx", [])}
    if "host_count" in e:
        check(len(hosts) == e["host_count"], "%s: %d hosts, want %d" % (d, len(hosts), e["host_count"]))
    elif e.get("hosts") is not None:
        check(len(hosts) == len(e["hosts"]), "%s: hosts %s, want %s" % (d, sorted(hosts), [h["host"] for h in e["hosts"]]))
    for want in e.get("hosts", []):
        where = "%s %s" % (d, want["host"])
        got = hosts.get(want["host"])
        if not check(got is not None, "%s: host missing" % where):
            continue
        check(got.get("status") == want["status"], "%s: status %s, want %s" % (where, got.get("status"), want["status"]))
        check(got.get("dnssec") == want["dnssec"], "%s: dnssec %s, want %s" % (where, got.get("dnssec"), want["dnssec"]))
        if "tlsa" in want:
            t = got.get("tlsa") or {}
            wt = want["tlsa"]
            check(t.get("base_domain") == wt["base_domain"],
                  "%s: TLSA base %s, want %s" % (where, t.get("base_domain"), wt["base_domain"]))
            check(t.get("dnssec") == wt["dnssec"], "%s: TLSA dnssec %s, want %s" % (where, t.get("dnssec"), wt["dnssec"]))
            usable = sum(1 for r in t.get("records", []) if r.get("usable"))
            check(usable == wt["usable"], "%s: %d usable TLSA, want %d" % (where, usable, wt["usable"]))
        addrs = {a["address"]: a for a in got.get("addresses", [])}
        if "address_count" in want:
            check(len(addrs) == want["address_count"], "%s: %d addresses, want %d" % (where, len(addrs), want["address_count"]))
        for addr, wa in want.get("addresses", {}).items():
            if mode in ("no-probe", "trust-ad"):
                wa = {"result": "skipped"}
            ga = addrs.get(addr)
            if check(ga is not None, "%s[%s]: address missing (have %s)" % (where, addr, sorted(addrs))):
                compare_address("%s[%s]" % (where, addr), wa, ga,
                                want["status"] in ("dane", "dane-unusable"))
        if "any_address" in want and mode not in ("no-probe", "trust-ad"):
            for addr, ga in addrs.items():
                compare_address("%s[%s]" % (where, addr), want["any_address"], ga)


def run_mode(mode):
    scenarios = [s for s in CATALOGUE["scenarios"]]
    extra = ["--allow-private"]
    if mode == "trust-ad":
        extra += ["--trust-ad", "--no-probe"]
    else:
        extra += ["--trust-anchor", os.environ["DANESCAN_TRUST_ANCHOR"]]
    if mode == "no-probe":
        extra.append("--no-probe")
    before = passed
    r, records = scan([s["domain"] for s in scenarios], extra)
    check(r.returncode in (0, 1, 2), "%s: exit status %d, stderr: %s" % (mode, r.returncode, r.stderr[-500:]))
    for s in scenarios:
        if mode in ("trust-ad", "no-probe"):
            # DNS facts only: addresses are not probed
            s = dict(s, expect=dns_only(s["expect"]))
        compare(s, records.get(s["domain"]), mode)
    print("%s: %d checks agree" % (mode, passed - before))
    if mode == "validate":
        # The world self-test shows posttls-finger agrees with the catalogue
        # on these scenarios; agreeing with the catalogue here is agreeing
        # with the reference client.
        comparable = [s["domain"] for s in scenarios
                      if not s.get("input_only") and not isinstance(s.get("posttls_finger"), str)]
        same = [d for d in comparable if d not in failed_domains]
        print("validate: agrees with the catalogue on %d/%d scenarios; with posttls-finger on %d/%d comparable" % (
            len([s for s in scenarios if s["domain"] not in failed_domains]), len(scenarios), len(same), len(comparable)))


def dns_only(e):
    """What DNS alone can tell: the catalogue's expectations with every
    address skipped and the verdict that follows from that."""
    e = json.loads(json.dumps(e))
    hosts = e.get("hosts", [])
    for h in hosts:
        h.pop("any_address", None)
    verdict_dns = e["verdict"]
    if verdict_dns in ("dane-invalid", "dane-incomplete"):
        failing_dns = any(h["status"] in ("dane-unusable", "lookup-error") or
                          h.get("tlsa", {}).get("dnssec") == "bogus" for h in hosts)
        if not failing_dns:
            verdict_dns = "insecure" if e["mx_dnssec"] != "secure" else (
                "dane-valid" if all(h["status"] == "dane" for h in hosts) else "dane-partial")
    e["verdict"] = verdict_dns
    return e


def run_guard():
    s = next(s for s in CATALOGUE["scenarios"] if "guard" in s)
    addr = next(iter(s["guard"]["addresses"]))
    before = open(FAULTD_LOG).read().count(" %s:25 " % addr)
    r, records = scan([s["domain"]], ["--trust-anchor", os.environ["DANESCAN_TRUST_ANCHOR"]])
    rec = records.get(s["domain"], {})
    check(rec.get("verdict") == s["guard"]["verdict"], "guard: verdict %s, want %s" % (rec.get("verdict"), s["guard"]["verdict"]))
    got = [a for h in rec.get("mx", []) for a in h.get("addresses", []) if a["address"] == addr]
    check(got and got[0]["result"] == "blocked", "guard: %s result %s, want blocked" % (addr, got and got[0].get("result")))
    after = open(FAULTD_LOG).read().count(" %s:25 " % addr)
    check(after == before, "guard: faultd saw %d new connection(s) to %s" % (after - before, addr))


EXIT_CASES = [  # (domains, extra options, exit status) - DESIGN.md exit status
    (["dane-ee.test"], [], 0),
    (["no-tlsa.test"], [], 0),
    (["no-tlsa.test"], ["--require-dane"], 2),
    (["partial.test"], [], 1),
    (["partial.test"], ["--fail-on", "critical"], 0),
    (["tlsa-mismatch.test", "dane-ee.test"], [], 2),
    (["tlsa-mismatch.test"], ["--fail-on", "never"], 0),
    (["bogus-mx.test"], [], 2),
    (["bad..name"], [], 3),
]


def run_exit_status():
    for domains, extra, want in EXIT_CASES:
        r = subprocess.run([DANESCAN] + BASE + ["--allow-private", "--trust-anchor",
                            os.environ["DANESCAN_TRUST_ANCHOR"]] + extra + domains,
                           capture_output=True, text=True, timeout=120)
        check(r.returncode == want, "exit status of %s %s: %d, want %d" % (" ".join(extra), domains, r.returncode, want))


def main():
    modes = [a.split("=", 1)[1] for a in sys.argv[2:] if a.startswith("--mode=")] or [
        "validate", "no-probe", "trust-ad", "guard", "exit-status"]
    for mode in modes:
        if mode == "guard":
            run_guard()
        elif mode == "exit-status":
            run_exit_status()
        else:
            run_mode(mode)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
