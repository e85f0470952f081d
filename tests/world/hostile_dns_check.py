#!/usr/bin/python3
"""danescan against a hostile recursive resolver (fixtures/hostile_dns.py).

    hostile_dns_check.py DANESCAN LOOKUP_DRIVER HOSTILE_DNS

Starts the hostile server on 127.53.9.1:53 (its own signed root and trust
anchor, made now), then for every hostile name runs

    danescan --no-probe --format json HOSTILE good.hz

and checks: the hostile domain's verdict, MX DNSSEC status, reason and
RFC 8914 code are what a validating sender must conclude; the well-formed
good.hz after it is still dane-valid in the same run; every line is JSON
that validates against report/schema.json; the server really sent the
damage (its served.log); and the run took under 1 s of CPU (user+sys,
getrusage of the child).  Then every name again in one lookup_driver
process, all in flight at once on one loop.  The server stops at the end
(and by itself after its lifetime).
"""

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

import jsonschema

DANESCAN, DRIVER, SERVER = (os.path.abspath(p) for p in sys.argv[1:4])
RESOLVER = "127.53.9.1"
GOOD = "good.hz"
CPU_LIMIT = 1.0
SCHEMA = jsonschema.Draft202012Validator(json.load(open(os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "report", "schema.json"))))

MALFORMED = "the query failed: malformed answer: "
ITER = "use %d iterations, more than 150 (RFC 9276 section 3.2)"

# domain, verdict, MX DNSSEC status, reason (substring; "" when secure),
# RFC 8914 code (None when secure), lookup_driver's answer kind, served.log lines
CASES = [
    ("ptr-loop.hz", "dns-error", "indeterminate",
     MALFORMED + "unparsable answer: answer record 1 of 1: Invalid compression pointer", 5,
     "failed", ["ptr-loop.hz. udp pointer loop"]),
    ("name-over-255.hz", "dns-error", "indeterminate",
     MALFORMED + "unparsable answer: answer record 2 of 2: Domainname length overflow", 5, "failed",
     ["name-over-255.hz. udp name of 338 octets"]),
    ("label-over-63.hz", "dns-error", "indeterminate",
     MALFORMED + "unparsable answer: answer record 2 of 2: Label length overflow", 5, "failed",
     ["label-over-63.hz. udp label of 64 octets"]),
    ("counts-overflow.hz", "dns-error", "indeterminate",
     MALFORMED + "unparsable answer: answer record 4 of 65535: runs past the end of the message", 5, "failed",
     ["counts-overflow.hz. udp counts 65535"]),
    ("dup-opt.hz", "dns-error", "indeterminate",
     MALFORMED + "2 OPT records, at most 1 (RFC 6891 section 6.1.1)", 5, "failed",
     ["dup-opt.hz. udp two OPT records"]),
    ("spoof.hz", "dane-valid", "secure", "", None, "data",
     ["spoof.hz. udp other ID, other question, then the answer"]),
    ("tc.hz", "dane-valid", "secure", "", None, "data",
     ["tc.hz. udp TC=1", "tc.hz. tcp the answer"]),
    ("tc-close.hz", "dns-error", "indeterminate",
     "the query failed: the resolver cannot be reached (connection refused or closed)", 5, "failed",
     ["tc-close.hz. udp TC=1", "tc-close.hz. tcp 20 of 1024 octets, close"]),
    ("tc-garbage.hz", "dns-error", "indeterminate",
     MALFORMED + "unparsable answer: answer record 1 of 1: Invalid compression pointer", 5,
     "failed", ["tc-garbage.hz. udp TC=1", "tc-garbage.hz. tcp pointer loop"]),
    ("keytrap-tags.hz", "dnssec-bogus", "bogus",
     "no DNSKEY of keytrap-tags.hz. matches its DS records (key tag", 9, "data", []),
    ("keytrap-ds.hz", "dnssec-bogus", "bogus",
     "; only the first 8 DS records were tried", 9, "data", []),
    ("keytrap-sigs.hz", "dnssec-bogus", "bogus",
     "gave up on keytrap-sigs.hz./MX after 8 failed signature checks (the limit per RRset)", 6,
     "data", []),
    ("c0.keytrap-chain.hz", "dnssec-bogus", "bogus",
     "gave up at c7.keytrap-chain.hz./CNAME: 64 signature checks is the limit per lookup", 6,
     "data", []),
    ("nx.nsec3-iter.hz", "nxdomain", "insecure",
     "the NSEC3 records of nsec3-iter.hz. " + ITER % 2500, 27, "nxdomain", []),
    ("nsec3-iter.hz", "insecure", "insecure",
     "the NSEC3 records of nsec3-iter.hz. " + ITER % 2500, 27, "nodata", []),
    ("unsigned.nsec3-iter.hz", "insecure", "insecure",
     "the NSEC3 records of nsec3-iter.hz. " + ITER % 2500, 27, "data", []),
    ("nx.nsec3-max.hz", "nxdomain", "insecure",
     "the NSEC3 records of nsec3-max.hz. " + ITER % 65535, 27, "nxdomain", []),
]

passed = failed = 0


def check(cond, what):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print("  FAIL " + what)
    return cond


def start_server(state):
    proc = subprocess.Popen(["/usr/bin/python3", SERVER, "--state", state, "--lifetime", "600"],
                            stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()   # keys and signatures first: a few seconds
    if line.strip() != "ready":
        proc.kill()
        sys.exit("hostile_dns.py did not start (%r)" % line)
    return proc


def cpu_seconds():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def scan(anchor, domains):
    """(returncode, records by domain, CPU seconds, stderr) of one danescan run."""
    before = cpu_seconds()
    # one domain at a time: the hostile one ends before the good one starts
    r = subprocess.run([DANESCAN, "--no-probe", "--format", "json", "--resolver", RESOLVER,
                        "--trust-anchor", anchor, "--timeout", "5", "--concurrency", "1"] + domains,
                       capture_output=True, text=True, timeout=120)
    cpu = cpu_seconds() - before
    records, order = {}, []
    for line in r.stdout.splitlines():
        try:
            rec = json.loads(line)
        except ValueError as e:
            check(False, "%s: not a JSON line (%s): %r" % (domains[0], e, line[:200]))
            continue
        errors = [e.message for e in SCHEMA.iter_errors(rec)]
        check(not errors, "%s: record does not match report/schema.json: %s" % (
            rec.get("domain"), errors[:3]))
        records[rec.get("domain")] = rec
        order.append(rec.get("domain"))
    check(sorted(order) == sorted(domains), "%s: records for %s, want %s" % (
        domains[0], order, domains))
    return r.returncode, records, cpu, r.stderr


def check_good(where, rec):
    if not check(rec is not None, "%s: no record for %s" % (where, GOOD)):
        return
    check(rec["verdict"] == "dane-valid" and rec["mx_dnssec"] == "secure",
          "%s: %s is %s / %s (%s), want dane-valid / secure" % (
              where, GOOD, rec["verdict"], rec["mx_dnssec"], rec.get("mx_reason")))
    hosts = rec.get("mx", [])
    check(len(hosts) == 1 and hosts[0]["host"] == "mx.good.hz" and hosts[0]["status"] == "dane"
          and hosts[0]["tlsa"]["dnssec"] == "secure",
          "%s: %s hosts %s, want mx.good.hz with a secure TLSA RRset" % (where, GOOD, hosts))


def check_hostile(case, rec):
    domain, verdict, status, reason, ede = case[:5]
    if not check(rec is not None, "%s: no record" % domain):
        return
    got_reason = rec.get("mx_reason") or ""
    check(rec["verdict"] == verdict, "%s: verdict %s, want %s (%s)" % (
        domain, rec["verdict"], verdict, got_reason))
    check(rec["mx_dnssec"] == status, "%s: mx_dnssec %s, want %s" % (domain, rec["mx_dnssec"], status))
    if reason:
        check(reason in got_reason, "%s: reason %r, want %r in it" % (domain, got_reason, reason))
    else:
        check(got_reason == "", "%s: reason %r for a secure lookup" % (domain, got_reason))
    check(rec.get("mx_ede") == ede, "%s: mx_ede %s, want %s" % (domain, rec.get("mx_ede"), ede))
    if status == "secure":
        # the spoofed and truncated answers named mx.evil.hz.: never taken
        hosts = [h["host"] for h in rec.get("mx", [])]
        check(hosts == ["mx.good.hz"], "%s: MX hosts %s, want [mx.good.hz]" % (domain, hosts))


def check_served(state, case):
    with open(os.path.join(state, "served.log")) as f:
        served = set(f.read().splitlines())
    for line in case[6]:
        check(line in served, "%s: the server never sent %r" % (case[0], line))


def run_driver(anchor, cases, exact):
    """Every name at once, on one loop: no answer may leak into another.
    Not exact: a name may also fail (indeterminate), never come out otherwise."""
    lines = "".join("%s. MX\n" % c[0] for c in cases) + "%s. MX\n" % GOOD
    r = subprocess.run([DRIVER, RESOLVER, anchor], input=lines, capture_output=True, text=True,
                       timeout=120)
    check(r.returncode == 0, "lookup_driver: exit %d: %s" % (r.returncode, r.stderr[-300:]))
    got = {}
    for line in r.stdout.splitlines():
        if not line.startswith("#"):
            name, _, status, answer, ede = line.split()
            got[name.rstrip(".")] = (status, answer, int(ede))
    for domain, _, status, _, ede, answer, _ in cases + [(GOOD, "", "secure", "", None, "data", [])]:
        want = (status, answer, -1 if ede is None else ede)
        # a query or a DS/DNSKEY fetch that failed: indeterminate, whatever the answer
        failed = got.get(domain, ("",))[0] == "indeterminate" and got[domain][2] == 5
        check(got.get(domain) == want or (not exact and failed),
              "lookup_driver %s: got %s, want %s%s" % (
                  domain, got.get(domain), want, "" if exact else " or indeterminate (5)"))


def main():
    state = tempfile.mkdtemp(prefix="danescan-hostile-dns-")
    server = start_server(state)
    anchor = os.path.join(state, "anchor.ds")
    try:
        rc, records, cpu, err = scan(anchor, [GOOD])
        check(rc == 0, "control run: exit %d: %s" % (rc, err[-300:]))
        check_good("control run", records.get(GOOD))
        print("%-24s %-13s %-13s %5s  %s" % ("domain", "verdict", "mx_dnssec", "CPU s", "reason"))
        for case in CASES:
            domain = case[0]
            started = time.monotonic()
            rc, records, cpu, err = scan(anchor, [domain, GOOD])
            rec = records.get(domain) or {}
            print("%-24s %-13s %-13s %5.3f  %s" % (domain, rec.get("verdict"), rec.get("mx_dnssec"),
                                                   cpu, rec.get("mx_reason", "")))
            # 0 all OK, 2 failures: either way the run ended by itself
            check(rc in (0, 2), "%s: exit %d: %s" % (domain, rc, err[-300:]))
            check(cpu < CPU_LIMIT, "%s: %.3f s of CPU, the limit is %.1f s" % (domain, cpu, CPU_LIMIT))
            check(time.monotonic() - started < 60, "%s: the run took %.0f s" % (
                domain, time.monotonic() - started))
            check_hostile(case, records.get(domain))
            check_good(domain, records.get(GOOD))
            check_served(state, case)
        # c-ares 1.18 answers a broken TCP connection by resetting every
        # query to that server (ares_process.c, handle_error): each cut costs
        # every concurrent query a try, and tc-close cuts three times
        run_driver(anchor, CASES, False)
        run_driver(anchor, [c for c in CASES if c[0] != "tc-close.hz"], True)
        check(server.poll() is None, "the hostile server died during the test")
    finally:
        server.terminate()
        server.wait(timeout=10)
        shutil.rmtree(state, ignore_errors=True)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
