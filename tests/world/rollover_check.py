#!/usr/bin/python3
"""danescan tlsa --from-server and danescan rollover in the fixture world.

Run inside `fixtures/world run`, with the danescan binary as argument.

1. `tlsa --from-server` against Postfix listeners: the records must equal
   the ones openssl computes from the listener's certificate files and the
   ones the world published for it (asked from the world's resolver); the
   guard, a server without STARTTLS and a dead address fail clearly.
2. A key rollover on key-rollover.test (fixtures/scenarios.json), through
   every state, with fixtures/rollover.py changing the running world:
   (a) only the current key published         -> not-yet (exit 1)
   (b) the next key published too (re-signed,
       NSD reloaded, Unbound flushed)          -> safe (0), old record removable
                                                  after the switch; wait (1) until
                                                  --published + 2 x TTL (+ margin)
   (c) Postfix switched to the next key        -> switched (0), old record removable now
   (d) Postfix serves a key no record matches  -> broken (2)
   (e) the next key served, not yet published  -> broken (2): switched too early
   and DNS failures of catalogue scenarios     -> broken (2).

    rollover_check.py DANESCAN
"""

import datetime
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time

import dns.message
import dns.query
import dns.rdatatype

DANESCAN = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else sys.exit("usage: rollover_check.py DANESCAN")
WORLD = os.environ["DANESCAN_WORLD_DIR"]
CERTS = os.path.join(WORLD, "certs")
RESOLVER = os.environ["DANESCAN_RESOLVER"]
CATALOGUE = json.load(open(os.environ["DANESCAN_SCENARIOS"]))
FAULTD_LOG = os.path.join(WORLD, "faultd.log")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "fixtures"))
import rollover as world_rollover  # noqa: E402  (fixtures/rollover.py)

DOMAIN = "key-rollover.test"
MX = "mx.key-rollover.test"
QNAME = "_25._tcp." + MX
LISTENER = CATALOGUE["listeners"]["pf-roll"]["address"]
ZONE = ["@ MX 10 mx", "mx A {ip pf-roll}"]
ROLL = ["rollover", DOMAIN, "--resolver", RESOLVER, "--trust-anchor", os.environ["DANESCAN_TRUST_ANCHOR"],
        "--allow-private", "--timeout", "5"]
passed = failed = 0


def check(cond, what):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print("  FAIL " + what)
    return cond


def danescan(*args):
    return subprocess.run([DANESCAN] + list(args), capture_output=True, text=True, timeout=120)


# ------------------------------------------------------------ independent answers

def der(cert, selector):
    """RFC 6698 §2.1.2, as the openssl command line gives it."""
    path = os.path.join(CERTS, cert + ".crt")
    if selector == 0:
        return subprocess.run(["openssl", "x509", "-in", path, "-outform", "DER"],
                              capture_output=True, check=True).stdout
    pem = subprocess.run(["openssl", "x509", "-in", path, "-pubkey", "-noout"], capture_output=True,
                         check=True).stdout
    return subprocess.run(["openssl", "pkey", "-pubin", "-outform", "DER"], input=pem,
                          capture_output=True, check=True).stdout


def rdata(usage, selector, mtype, cert):
    data = der(cert, selector)
    data = {0: data, 1: hashlib.sha256(data).digest(), 2: hashlib.sha512(data).digest()}[mtype]
    return "%d %d %d %s" % (usage, selector, mtype, data.hex())


def published(qname):
    """The TLSA RRset the world serves, from its validating resolver."""
    q = dns.message.make_query(qname, "TLSA", want_dnssec=True)
    r = dns.query.udp(q, RESOLVER, timeout=3)
    return sorted("%d %d %d %s" % (rd.usage, rd.selector, rd.mtype, rd.cert.hex())
                  for rrset in r.answer if rrset.rdtype == dns.rdatatype.TLSA for rd in rrset)


def zone_lines(out):
    """danescan tlsa's zone-file lines -> [(owner, 'U S M HEX')]."""
    got = []
    for line in out.splitlines():
        words = line.split()
        if len(words) != 7 or words[1:3] != ["IN", "TLSA"]:
            return None
        got.append((words[0], " ".join(words[3:])))
    return got


# ------------------------------------------------------------ 1. tlsa --from-server

def from_server():
    cases = [
        # name, args, want [(owner, rdata)], what the world published at that owner
        ("pf-roll, default records", ["--from-server", LISTENER],
         [(QNAME + ".", rdata(3, 1, 1, "roll-cur")), (QNAME + ".", rdata(3, 0, 1, "roll-cur"))], QNAME),
        ("pf-ee2 ECDSA, SHA-512, --host", ["--from-server", "127.25.0.12:25", "--mtype", "2",
                                           "--host", "mx.dane-ee-sha512.test"],
         [("_25._tcp.mx.dane-ee-sha512.test.", rdata(3, 1, 2, "ee2")),
          ("_25._tcp.mx.dane-ee-sha512.test.", rdata(3, 0, 2, "ee2"))], None),
        ("pf-ta-full --ta: the root the server sends", ["--from-server", "127.25.0.4", "--ta",
                                                        "--selector", "1"],
         [("_25._tcp.mx.ta-root.test.", rdata(2, 1, 1, "ca-root"))], "_25._tcp.mx.ta-root.test"),
        ("pf-ta-noroot --usage 2: the intermediate", ["--from-server", "127.25.0.5", "--usage", "2",
                                                      "--selector", "1", "--host", "mx.ta-int.test"],
         [("_25._tcp.mx.ta-int.test.", rdata(2, 1, 1, "ca-int"))], "_25._tcp.mx.ta-int.test"),
        ("pf-v6 over IPv6", ["--from-server", "[::1]:25", "--selector", "1"],
         [("_25._tcp.mx.ipv6.test.", rdata(3, 1, 1, "ee-v6"))], None),
    ]
    for name, args, want, qname in cases:
        r = danescan("tlsa", "--allow-private", "--timeout", "5", *args)
        got = zone_lines(r.stdout)
        check(r.returncode == 0, "tlsa %s: exit %d (%s)" % (name, r.returncode, r.stderr.strip()))
        check(got == want, "tlsa %s:\n    got  %s\n    want %s" % (name, got, want))
        if qname is not None and got:
            world = published(qname)
            check(got[0][1] in world, "tlsa %s: %s is not what the world publishes at %s: %s" % (
                name, got[0][1], qname, world))
    # the guard decides before any packet: faultd counts connections
    ok_addr = CATALOGUE["listeners"]["fd-ok"]["address"]
    before = open(FAULTD_LOG).read().count(" %s:25 " % ok_addr)
    r = danescan("tlsa", "--from-server", ok_addr, "--timeout", "5")
    after = open(FAULTD_LOG).read().count(" %s:25 " % ok_addr)
    check(r.returncode == 3 and "loopback" in r.stderr and "--allow-private" in r.stderr,
          "tlsa guard: exit %d, %r; want 3, loopback, --allow-private" % (r.returncode, r.stderr.strip()))
    check(after == before, "tlsa guard: faultd saw %d connection(s)" % (after - before))
    for name, addr, want in [("no STARTTLS", CATALOGUE["listeners"]["pf-plain"]["address"], "STARTTLS"),
                             ("nothing listening", CATALOGUE["listeners"]["dead"]["address"], "refused")]:
        r = danescan("tlsa", "--from-server", addr, "--allow-private", "--timeout", "5")
        check(r.returncode == 2 and want in r.stderr and r.stdout == "",
              "tlsa %s: exit %d, %r; want 2 and %r" % (name, r.returncode, r.stderr.strip(), want))


# ------------------------------------------------------------ 2. rollover

def rollover(*extra):
    r = danescan(*(ROLL + list(extra)))
    try:
        out = json.loads(r.stdout) if "text" not in extra else None
    except ValueError:
        out = None
    if "text" not in extra:
        check(out is not None, "rollover %s: not one JSON object: %r %r" % (extra, r.stdout[:200], r.stderr))
    if out is not None:
        check(out.get("exit") == r.returncode, "rollover %s: exit %d, JSON says %s" % (
            extra, r.returncode, out.get("exit")))
    return r, out or {}


def host(out):
    hosts = out.get("hosts", [])
    return hosts[0] if len(hosts) == 1 else {}


def actions(h):
    return {rec["record"]: rec["action"] for rec in h.get("records", [])}


def iso(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def wait_served(cert, limit=30.0):
    """Postfix's smtpd processes start over after `postfix reload`; poll until the new key is served."""
    want = rdata(3, 1, 1, cert)
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        r = danescan("tlsa", "--from-server", LISTENER, "--allow-private", "--timeout", "5",
                     "--selector", "1")
        got = zone_lines(r.stdout)
        if got and got[0][1] == want:
            return True
        time.sleep(0.5)
    return False


def state_a(cur, nxt, next_crt, next_key):
    r, out = rollover("--next", next_crt)
    h = host(out)
    check(r.returncode == 1 and out.get("status") == "not-yet",
          "(a) exit %d status %s, want 1 not-yet (%s)" % (r.returncode, out.get("status"), r.stderr.strip()))
    check(h.get("status") == "not-yet" and h.get("next_published") is False,
          "(a) host %s next_published %s" % (h.get("status"), h.get("next_published")))
    check(h.get("ttl") == 300 and h.get("ttl_source") == "dns" and
          h.get("wait_seconds") == 2 * h.get("ttl", 0),
          "(a) ttl %s (%s) wait %s, want the zone's 300 s (RRSIG original TTL, not counted down "
          "by the cache), from dns, and wait = 2 x ttl" % (h.get("ttl"), h.get("ttl_source"),
                                                         h.get("wait_seconds")))
    recs = h.get("records", [])
    check(len(recs) == 1 and recs[0]["record"] == cur and recs[0]["matches_current"] == "yes" and
          recs[0]["matches_next"] == "no", "(a) records %s" % recs)
    check(h.get("publish") == ["%s. IN TLSA %s" % (QNAME, nxt)],
          "(a) publish %s, want the next key's 3 1 1 %s" % (h.get("publish"), nxt))
    check(out.get("next", {}).get("spki_sha256") == nxt.split()[3],
          "(a) next spki %s" % out.get("next", {}).get("spki_sha256"))
    r, out = rollover("--next", next_key)
    check(r.returncode == 1 and out.get("next", {}).get("kind") == "private-key",
          "(a) with the private key: exit %d kind %s" % (r.returncode, out.get("next", {}).get("kind")))


def state_b(cur, nxt, next_crt, next_pub):
    r, out = rollover("--next", next_crt)
    h = host(out)
    check(r.returncode == 0 and out.get("status") == "safe" and h.get("status") == "safe",
          "(b) exit %d status %s/%s, want 0 safe (%s)" % (r.returncode, out.get("status"), h.get("status"),
                                                         r.stderr.strip()))
    check(actions(h) == {cur: "remove-after-switch", nxt: "keep"}, "(b) actions %s" % actions(h))
    check(h.get("remove_after_switch") == [cur] and h.get("remove_now") == [] and h.get("publish") == [],
          "(b) remove_after_switch %s remove_now %s publish %s" % (
              h.get("remove_after_switch"), h.get("remove_now"), h.get("publish")))
    check("earliest_switch" not in h and "2 x TTL" in h.get("reason", ""),
          "(b) without --published: %s" % h.get("reason"))
    r, out = rollover("--next", next_pub, "--ttl", "300")
    h = host(out)
    check(r.returncode == 0 and h.get("ttl") == 300 and h.get("ttl_source") == "option" and
          h.get("wait_seconds") == 600 and out.get("next", {}).get("kind") == "public-key",
          "(b) public key, --ttl 300: exit %d ttl %s wait %s" % (r.returncode, h.get("ttl"), h.get("wait_seconds")))
    # the switch time, with the clock frozen by --at (RULES A8: publish time + 2 x TTL + margin)
    now = int(time.time())
    pub = now - 500
    for name, extra, want_exit, want_status, earliest in [
        ("published just now", ["--published", str(now), "--at", str(now)], 1, "wait", now + 600),
        ("one second early", ["--published", str(pub), "--at", str(pub + 599)], 1, "wait", pub + 600),
        ("exactly 2 x TTL", ["--published", str(pub), "--at", str(pub + 600)], 0, "safe", pub + 600),
        ("an hour ago", ["--published", iso(now - 3600), "--at", str(now)], 0, "safe", now - 3000),
        ("an hour ago, a week's margin", ["--published", iso(now - 3600), "--at", str(now), "--margin", "7d"],
         1, "wait", now - 3000 + 7 * 86400),
    ]:
        r, out = rollover("--next", next_crt, "--ttl", "300", *extra)
        h = host(out)
        check(r.returncode == want_exit and out.get("status") == want_status and
              h.get("earliest_switch") == iso(earliest),
              "(b) %s: exit %d status %s earliest %s, want %d %s %s" % (
                  name, r.returncode, out.get("status"), h.get("earliest_switch"), want_exit, want_status,
                  iso(earliest)))
    r, _ = rollover("--next", next_crt, "--format", "text")
    check(r.returncode == 0 and "safe to switch" in r.stdout and "remove-after-switch" in r.stdout,
          "(b) text: exit %d\n%s" % (r.returncode, r.stdout))


def state_c(cur, nxt, next_crt):
    r, out = rollover("--next", next_crt)
    h = host(out)
    check(r.returncode == 0 and out.get("status") == "switched",
          "(c) exit %d status %s, want 0 switched (%s)" % (r.returncode, out.get("status"), h.get("reason")))
    check(actions(h) == {cur: "remove-now", nxt: "keep"}, "(c) actions %s" % actions(h))
    check(h.get("remove_now") == [cur] and h.get("remove_after_switch") == [],
          "(c) remove_now %s remove_after_switch %s" % (h.get("remove_now"), h.get("remove_after_switch")))
    served = [c["serves"] for a in h.get("addresses", []) for c in a.get("certificates", [])]
    check(served == ["next"], "(c) the listener serves %s, want next" % served)


def state_d(next_crt):
    r, out = rollover("--next", next_crt)
    h = host(out)
    check(r.returncode == 2 and out.get("status") == "broken" and h.get("status") == "broken",
          "(d) exit %d status %s, want 2 broken" % (r.returncode, out.get("status")))
    check(LISTENER in h.get("reason", "") and "tlsa-mismatch" in h.get("reason", ""),
          "(d) reason %r" % h.get("reason"))
    results = [a["result"] for a in h.get("addresses", [])]
    check(results == ["dane-fail"], "(d) address results %s" % results)
    check(set(actions(h).values()) == {"keep"} and h.get("remove_now") == [],
          "(d) a broken host gets no removal advice: %s" % actions(h))


def state_e(cur, nxt, next_crt):
    r, out = rollover("--next", next_crt)
    h = host(out)
    check(r.returncode == 2 and "switched too early" in h.get("reason", ""),
          "(e) exit %d reason %r, want 2 and 'switched too early'" % (r.returncode, h.get("reason")))
    check(actions(h) == {cur: "keep"} and h.get("publish") == ["%s. IN TLSA %s" % (QNAME, nxt)],
          "(e) actions %s publish %s: keep the old record, publish the next one" % (
              actions(h), h.get("publish")))


def dns_failures(next_crt):
    """Domains of the catalogue whose DNS is broken or unsigned: nothing to roll over safely."""
    by_verdict = {}
    for s in CATALOGUE["scenarios"]:
        by_verdict.setdefault(s["expect"]["verdict"], s["domain"])
    insecure = next((s["domain"] for s in CATALOGUE["scenarios"]
                     if s["expect"]["verdict"] == "insecure" and
                     any(h.get("status") == "insecure" for h in s["expect"].get("hosts", []))), None)
    for name, domain in [("dnssec-bogus MX", by_verdict.get("dnssec-bogus")),
                         ("nxdomain", by_verdict.get("nxdomain")),
                         ("insecure host", insecure)]:
        if not check(domain is not None, "no %s scenario in the catalogue" % name):
            continue
        r = danescan("rollover", domain, "--next", next_crt, "--resolver", RESOLVER, "--trust-anchor",
                     os.environ["DANESCAN_TRUST_ANCHOR"], "--allow-private", "--timeout", "5")
        out = json.loads(r.stdout) if r.stdout.startswith("{") else {}
        check(r.returncode == 2 and out.get("status") == "broken",
              "%s (%s): exit %d status %s, want 2 broken" % (name, domain, r.returncode, out.get("status")))


def main():
    cur, nxt = rdata(3, 1, 1, "roll-cur"), rdata(3, 1, 1, "roll-next")
    next_crt = os.path.join(CERTS, "roll-next.crt")
    next_key = os.path.join(CERTS, "roll-next.key")
    with tempfile.TemporaryDirectory() as d:
        next_pub = os.path.join(d, "roll-next.pub")
        subprocess.run(["openssl", "pkey", "-in", next_key, "-pubout", "-out", next_pub], check=True)

        from_server()
        print("tlsa --from-server: %d passed, %d failed" % (passed, failed))

        check(published(QNAME) == [cur], "(a) the world publishes %s, want [%s]" % (published(QNAME), cur))
        state_a(cur, nxt, next_crt, next_key)

        world_rollover.set_zone(DOMAIN, ZONE + ["_25._tcp.mx TLSA {tlsa 3 1 1 roll-cur}",
                                                "_25._tcp.mx TLSA {tlsa 3 1 1 roll-next}"])
        check(published(QNAME) == sorted([cur, nxt]), "(b) the world publishes %s" % published(QNAME))
        state_b(cur, nxt, next_crt, next_pub)

        world_rollover.set_listener("pf-roll", ["roll-next"])
        if check(wait_served("roll-next"), "(c) the listener never served roll-next"):
            state_c(cur, nxt, next_crt)

        world_rollover.set_listener("pf-roll", ["roll-stray"])
        if check(wait_served("roll-stray"), "(d) the listener never served roll-stray"):
            state_d(next_crt)

        world_rollover.set_zone(DOMAIN, ZONE + ["_25._tcp.mx TLSA {tlsa 3 1 1 roll-cur}"])
        world_rollover.set_listener("pf-roll", ["roll-next"])
        if check(wait_served("roll-next"), "(e) the listener never served roll-next"):
            state_e(cur, nxt, next_crt)

        dns_failures(next_crt)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
