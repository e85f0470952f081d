#!/usr/bin/python3
"""danescan's DNSSEC status equals Unbound's for every name it looks up.

Run inside `fixtures/world run` with the lookup driver as argument.  The
names are every owner name of every zone of the catalogue, and every name
a scan of the catalogue asks for (MX of each domain, A/AAAA of each host,
TLSA at _25._tcp of each host and base domain), each with the record
types a scan uses.  danescan validates in-process (DO+CD); Unbound is
asked with DO and no CD: AD = secure, no AD = insecure, SERVFAIL with a
DNSSEC extended error = bogus, any other SERVFAIL = indeterminate.
"""

import json
import os
import re
import subprocess
import sys

import dns.edns
import dns.flags
import dns.message
import dns.query
import dns.rcode

DRIVER = sys.argv[1]
RESOLVER = os.environ["DANESCAN_RESOLVER"]
CATALOGUE = json.load(open(os.environ["DANESCAN_SCENARIOS"]))
TYPES = ["MX", "A", "AAAA", "TLSA", "CNAME"]


def names():
    out = set()
    zones = list(CATALOGUE["zones"])
    for s in CATALOGUE["scenarios"]:
        if s.get("input_only"):
            continue
        out.add(s["domain"])
        for h in s["expect"].get("hosts", []):
            out.add(h["host"])
            out.add("_25._tcp." + h["host"])
            if "tlsa" in h:
                out.add("_25._tcp." + h["tlsa"]["base_domain"])
        if not s.get("absent"):
            zones.append(dict(s["zone"], origin=s["domain"] + "."))
            zones.extend(s.get("zones", []))
    for z in zones:
        origin = z["origin"].rstrip(".")
        for rec in z["records"]:
            owner = rec.split()[0]
            if "*" in owner:
                owner = owner.replace("*", "wild-%d" % len(out))
            full = origin if owner == "@" else (owner.rstrip(".") if owner.endswith(".") else owner + "." + origin)
            out.add(full.strip("."))
    return sorted(n for n in out if n)


def unbound_status(name, rtype):
    q = dns.message.make_query(name, rtype, want_dnssec=True)
    r = dns.query.udp(q, RESOLVER, timeout=10)
    if r.rcode() == dns.rcode.SERVFAIL:
        codes = [int(o.code) for o in r.options if o.otype == dns.edns.OptionType.EDE]
        return "bogus" if any(1 <= c <= 12 for c in codes) else "indeterminate"
    return "secure" if r.flags & dns.flags.AD else "insecure"


def main():
    queries = ["%s %s" % (n, t) for n in names() for t in TYPES]
    r = subprocess.run([DRIVER, RESOLVER, os.environ["DANESCAN_TRUST_ANCHOR"]],
                       input="\n".join(queries) + "\n", capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        print("driver failed (%d): %s" % (r.returncode, r.stderr))
        print("0 passed, 1 failed")
        return 1
    agree = disagree = 0
    for line in r.stdout.splitlines():
        if line.startswith("#"):
            print(line)
            continue
        name, rtype, ours = line.split()[:3]
        theirs = unbound_status(name, rtype)
        if ours == theirs:
            agree += 1
        else:
            disagree += 1
            print("  DISAGREE %s %s: danescan %s, unbound %s (%s)" % (name, rtype, ours, theirs, line))
    print("dnssec status: danescan agrees with unbound on %d/%d lookups (%.1f%%)" % (
        agree, agree + disagree, 100.0 * agree / max(1, agree + disagree)))
    print("%d passed, %d failed" % (agree, disagree))
    return 1 if disagree else 0


if __name__ == "__main__":
    sys.exit(main())
