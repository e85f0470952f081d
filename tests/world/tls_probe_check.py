#!/usr/bin/python3
"""probes/tls against the fixture world's real SMTP servers.

Run inside the world, with the tls_probe test driver:

    fixtures/world run -- tests/world/tls_probe_check.py BUILD/tests/world/tls_probe

Two kinds of checks:

1. Every scenario whose expected address result is decided by the TLS
   handshake (dane-pass, dane-fail, tls-unauthenticated, tls-only,
   tls-failed, a handshake timeout): the driver is given the scenario's
   TLSA records (when its TLSA RRset is secure), its base domain and
   reference identifiers, and must reach the same result, matched record
   and depth; per certificate type where the scenario names them (A7).
2. Checks the catalogue does not spell out: the certificate details
   reported, --at, digest agility both ways, bare and full DANE-TA keys
   that are not served, the hostile chain and alert servers, refused
   renegotiation.

TLSA data is computed with the openssl CLI from the world's certificates.
Prints "N passed, N failed"; exit status 1 when anything failed.
"""

import concurrent.futures
import hashlib
import json
import os
import subprocess
import sys
import time

PROBE = sys.argv[1] if len(sys.argv) > 1 else sys.exit("usage: tls_probe_check.py TLS_PROBE")
VERBOSE = "--verbose" in sys.argv[2:]
WORLD = os.environ["DANESCAN_WORLD_DIR"]
CATALOGUE = json.load(open(os.environ["DANESCAN_SCENARIOS"]))
CERTS = os.path.join(WORLD, "certs")
LISTENERS = CATALOGUE["listeners"]
# Address results the handshake decides; the rest belong to DNS or SMTP.
TLS_RESULTS = {"dane-pass", "dane-fail", "tls-unauthenticated", "tls-only", "tls-failed", "timeout"}
DAY = 86400


# ------------------------------------------------------------ certificates

def der(cert, selector):
    """RFC 6698 §2.1.2: selector 0 = the certificate, 1 = its SubjectPublicKeyInfo."""
    path = os.path.join(CERTS, cert + ".crt")
    if selector == 0:
        return subprocess.run(["openssl", "x509", "-in", path, "-outform", "DER"],
                              capture_output=True, check=True).stdout
    pem = subprocess.run(["openssl", "x509", "-in", path, "-pubkey", "-noout"],
                         capture_output=True, check=True).stdout
    return subprocess.run(["openssl", "pkey", "-pubin", "-outform", "DER"], input=pem,
                          capture_output=True, check=True).stdout


def tlsa(usage, selector, mtype, cert):
    data = der(cert, selector)
    data = {0: data, 1: hashlib.sha256(data).digest(), 2: hashlib.sha512(data).digest()}[mtype]
    return "%d %d %d %s" % (usage, selector, mtype, data.hex())


def sha256(cert, selector):
    return hashlib.sha256(der(cert, selector)).hexdigest()


def not_after(cert):
    """notAfter as the driver prints it (ISO 8601 UTC)."""
    out = subprocess.run(["openssl", "x509", "-in", os.path.join(CERTS, cert + ".crt"), "-noout",
                          "-enddate", "-dateopt", "iso_8601"],
                         capture_output=True, text=True, check=True).stdout
    return out.strip().split("=", 1)[1].replace(" ", "T")


# ------------------------------------------------------------ catalogue zones

def absolute(name, origin):
    if name == "@":
        return origin
    return name if name.endswith(".") else name + "." + origin


def zone_index():
    """owner -> [(type, rdata, origin)] over every zone of the catalogue."""
    zones = list(CATALOGUE["zones"])
    for s in CATALOGUE["scenarios"]:
        if "zone" in s:
            zones.append(dict(s["zone"], origin=s["domain"] + "."))
        zones.extend(s.get("zones", []))
    index = {}
    for z in zones:
        for line in z["records"]:
            owner, rtype, rdata = line.split(None, 2)
            index.setdefault(absolute(owner, z["origin"]).lower(), []).append((rtype, rdata, z["origin"]))
    return index


ZONES = zone_index()


def render(rdata):
    """"{tlsa U S M CERT}" from the catalogue, or literal presentation form."""
    if rdata.startswith("{tlsa "):
        u, s, m, cert = rdata[6:-1].split()
        return tlsa(int(u), int(s), int(m), cert)
    return rdata


def tlsa_records(base):
    """The TLSA RRset at _25._tcp.<base>, through CNAMEs and wildcards."""
    name = "_25._tcp.%s." % base.lower()
    for _ in range(8):
        rrs = ZONES.get(name) or ZONES.get("*." + name.split(".", 1)[1], [])
        cname = [(rd, origin) for t, rd, origin in rrs if t == "CNAME"]
        if not cname:
            return [render(rd) for t, rd, _ in rrs if t == "TLSA"]
        name = absolute(cname[0][0], cname[0][1]).lower()
    return []


# ------------------------------------------------------------ the driver

def probe(address, base, records=(), names=(), cert="any", at=None, timeout=10):
    argv = [PROBE, "--base", base, "--cert", cert, "--timeout", str(timeout)]
    for n in names:
        argv += ["--name", n]
    for r in records:
        argv += ["--tlsa", r]
    if at is not None:
        argv += ["--at", str(int(at))]
    argv.append(address)
    r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout + 30)
    try:
        out = json.loads(r.stdout)
    except ValueError:
        out = {"status": "driver-error", "error": (r.stdout + r.stderr).strip()[-300:]}
    # 0 done, 1 TLS failed, 2 stopped before TLS; anything else, or a
    # sanitizer's report (in an ASan/UBSan build), fails the check.
    if r.returncode not in (0, 1, 2) or "Sanitizer" in r.stderr or "runtime error" in r.stderr:
        out = {"status": "driver-error", "error": "exit %d: %s" % (r.returncode, r.stderr.strip()[-300:])}
    out["argv"] = " ".join(argv)
    return out


def judge(got, want):
    """Problems with one driver run against one expected address result."""
    result = want["result"]
    problems = []
    if result == "timeout":
        if got["status"] != "timeout":
            problems.append("status %s, want timeout" % got["status"])
        return problems
    if result == "tls-failed":
        if got["status"] != "tls-failed":
            problems.append("status %s, want tls-failed" % got["status"])
        elif "reason" in want and got.get("error") != want["reason"]:
            problems.append("error %r, want %r" % (got.get("error"), want["reason"]))
        return problems
    if got["status"] != "done":
        return ["status %s (%s), want done" % (got["status"], got.get("error"))]
    want_auth = {"dane-pass": "pass", "tls-unauthenticated": "unauthenticated",
                 "tls-only": "unauthenticated"}.get(result, want.get("reason"))
    if got["auth"] != want_auth:
        problems.append("auth %s (%s), want %s" % (got["auth"], got.get("verify_text"), want_auth))
    if result == "dane-pass" and "matched" in want and (got["matched"], got["depth"]) != (want["matched"], want["depth"]):
        problems.append("matched %s at depth %d, want %s at depth %d" % (
            got["matched"], got["depth"], want["matched"], want["depth"]))
    # after_tls: the server breaks the dialogue inside TLS on purpose
    if "after_tls" not in want and got.get("ehlo_tls") != 250:
        problems.append("EHLO over TLS answered %s, want 250" % got.get("ehlo_tls"))
    return problems


def scenario_cases():
    """(label, probe kwargs, expected address result) from the catalogue."""
    cases = []
    for s in CATALOGUE["scenarios"]:
        for h in s.get("expect", {}).get("hosts", []):
            t = h.get("tlsa", {})
            base = t.get("base_domain", h["host"])
            records = tlsa_records(base) if t.get("dnssec") == "secure" else []
            # RULES A4: the base domain, the original MX name, the recipient domain.
            names = [n for n in (h["host"], s["domain"]) if n != base]
            for address, want in h.get("addresses", {}).items():
                if want["result"] not in TLS_RESULTS:
                    continue
                if want["result"] == "timeout" and want.get("reason") != "handshake":
                    continue
                kwargs = dict(address=address, base=base, records=records, names=names)
                if want["result"] == "timeout" or "after_tls" in want:
                    kwargs["timeout"] = 3
                label = "%s %s" % (s["domain"], address)
                if "certificates" not in want:
                    cases.append((label, kwargs, want))
                # RULES A7: the address result sums up the server's certificates,
                # each one asked for on its own.
                for cert, result in want.get("certificates", {}).items():
                    w = {"result": result}
                    if result == "dane-fail":
                        w["reason"] = "tlsa-mismatch"
                    cases.append(("%s [%s]" % (label, cert), dict(kwargs, cert=cert), w))
    return cases


# ------------------------------------------------------------ beyond the catalogue

def check(failures, label, cond, msg):
    if not cond:
        failures.append("%s: %s" % (label, msg))
    return cond


def extra_checks():
    """(label, function returning a list of problems)."""
    now = time.time()
    ee1 = "127.25.0.1"

    def leaf_details():
        f = []
        got = probe(ee1, "mx.dane-ee.test", [tlsa(3, 1, 1, "ee1")])
        leaf = got["chain"][0] if got.get("chain") else {}
        check(f, "leaf", got["chain_total"] == 1, "chain_total %s, want 1" % got["chain_total"])
        check(f, "leaf", leaf.get("key_type") == "RSA" and leaf.get("key_bits") == 2048,
              "key %s %s, want RSA 2048" % (leaf.get("key_type"), leaf.get("key_bits")))
        check(f, "leaf", leaf.get("sans") == ["mx.dane-ee.test"], "sans %s" % leaf.get("sans"))
        check(f, "leaf", leaf.get("subject") == "CN=mx.dane-ee.test", "subject %s" % leaf.get("subject"))
        check(f, "leaf", leaf.get("spki_sha256") == sha256("ee1", 1), "spki_sha256 differs from openssl's")
        check(f, "leaf", leaf.get("cert_sha256") == sha256("ee1", 0), "cert_sha256 differs from openssl's")
        check(f, "leaf", leaf.get("der_len") == len(der("ee1", 0)) == got["chain_bytes"],
              "der_len %s, chain_bytes %s" % (leaf.get("der_len"), got["chain_bytes"]))
        check(f, "leaf", leaf.get("not_after") == not_after("ee1"),
              "not_after %s, openssl says %s" % (leaf.get("not_after"), not_after("ee1")))
        check(f, "leaf", 363 <= got["leaf_days_left"] <= 365, "leaf_days_left %s" % got["leaf_days_left"])
        check(f, "leaf", got["version"] in ("TLSv1.2", "TLSv1.3") and got["cipher"] and got["group"],
              "version %r cipher %r group %r" % (got["version"], got["cipher"], got["group"]))
        check(f, "leaf", got["quit_tls"] == 221, "QUIT over TLS answered %s" % got["quit_tls"])
        return f

    def ta_chain():
        f = []
        got = probe("127.25.0.4", "mx.ta-root.test", [tlsa(2, 1, 1, "ca-root")])
        chain = got.get("chain", [])
        check(f, "chain", [c["key_type"] for c in chain] == ["RSA", "EC P-256", "EC P-256"],
              "key types %s" % [c["key_type"] for c in chain])
        check(f, "chain", len(chain) == 3 and chain[0]["issuer"] == chain[1]["subject"]
              == "CN=World Test Intermediate CA" and chain[2]["subject"] == chain[2]["issuer"],
              "subjects/issuers %s" % [(c["subject"], c["issuer"]) for c in chain])
        check(f, "chain", got["chain_bytes"] == sum(len(der(c, 0)) for c in ("ta-full-leaf", "ca-int", "ca-root")),
              "chain_bytes %s" % got["chain_bytes"])
        return f

    def dual(cert, key_type, leaf):
        def run():
            f = []
            got = probe("127.25.0.11", "mx.dual-cert.test", [tlsa(3, 1, 1, "dual-ec")], cert=cert)
            c = got.get("chain", [{}])[0]
            check(f, cert, c.get("key_type") == key_type, "leaf key %s, want %s" % (c.get("key_type"), key_type))
            check(f, cert, c.get("cert_sha256") == sha256(leaf, 0), "leaf is not %s" % leaf)
            return f
        return run

    def expect(address, base, records, auth, matched=None, depth=None, **kw):
        def run():
            got = probe(address, base, records, **kw)
            want = {"result": "dane-pass" if auth == "pass" else "dane-fail", "reason": auth}
            if matched is not None:
                want.update(matched=matched, depth=depth)
            return judge(got, want)
        return run

    def days_left(address, base, records, lo, hi, **kw):
        def run():
            got = probe(address, base, records, **kw)
            return [] if lo <= got.get("leaf_days_left", 0) <= hi and got.get("auth") == "pass" else [
                "auth %s, leaf_days_left %s, want pass and %d..%d" % (got.get("auth"), got.get("leaf_days_left"), lo, hi)]
        return run

    def fails(address, words, base="mx.faultd.test"):
        def run():
            got = probe(address, base, [tlsa(3, 1, 1, "fault-ee")])
            if got["status"] != "tls-failed":
                return ["status %s, want tls-failed" % got["status"]]
            return [] if all(w in got.get("error", "") for w in words) else [
                "error %r lacks %s" % (got.get("error"), words)]
        return run

    def no_renegotiation():
        log = os.path.join(WORLD, "faultd.log")
        start = os.path.getsize(log)
        probe("127.25.1.21", "mx.faultd.test")
        time.sleep(0.3)
        with open(log) as fh:
            fh.seek(start)
            lines = [l for l in fh if "127.25.1.21:25" in l]
        if not lines:
            return ["faultd logged nothing for the renegotiation listener"]
        return ["client went along with renegotiation"] if any("renegotiation-hello" in l for l in lines) else []

    return [
        ("leaf certificate details", leaf_details),
        ("DANE-TA chain details", ta_chain),
        ("A7 --cert ecdsa gets dual-ec", dual("ecdsa", "EC P-256", "dual-ec")),
        ("A7 --cert rsa gets dual-rsa", dual("rsa", "RSA", "dual-rsa")),
        ("A6 3 1 2 matches, 3 1 1 does not", expect(ee1, "mx.dane-ee.test",
            [tlsa(3, 1, 2, "ee1"), tlsa(3, 1, 1, "unused")], "pass", "3 1 2", 0)),
        ("A6 per selector: 3 0 1 matches, 3 1 2 does not", expect(ee1, "mx.dane-ee.test",
            [tlsa(3, 0, 1, "ee1"), tlsa(3, 1, 2, "unused")], "pass", "3 0 1", 0)),
        ("A3 2 0 0 root certificate not served", expect("127.25.0.5", "mx.ta-210.test",
            [tlsa(2, 0, 0, "ca-root")], "pass", "2 0 0", 2)),
        ("A3 2 1 0 intermediate key", expect("127.25.0.5", "mx.ta-210.test",
            [tlsa(2, 1, 0, "ca-int")], "pass", "2 1 0", 1)),
        # OpenSSL matches DANE-TA records from depth 1 up, never against the leaf.
        ("A2 2 1 1 of the leaf matches nothing", expect("127.25.0.4", "mx.ta-root.test",
            [tlsa(2, 1, 1, "ta-full-leaf")], "tlsa-mismatch")),
        ("A4 wrong name under DANE-EE passes", expect("127.25.0.6", "mx.ta-wrongname.test",
            [tlsa(3, 1, 1, "ta-wrongname-leaf")], "pass", "3 1 1", 0)),
        ("A4 extra reference identifier accepted", expect("127.25.0.6", "mx.ta-wrongname.test",
            [tlsa(2, 1, 1, "ca-root")], "pass", "2 1 1", 2, names=["mx.somewhere-else.example"])),
        ("A4 wildcard covers any left-most label", expect("127.25.0.9", "mxx.ta-wildcard.test",
            [tlsa(2, 1, 1, "ca-root")], "pass", "2 1 1", 2)),
        ("A4 wildcard covers one label only", expect("127.25.0.9", "a.mx.ta-wildcard.test",
            [tlsa(2, 1, 1, "ca-root")], "name-mismatch")),
        ("--at: DANE-TA chain expired in 400 days", expect("127.25.0.4", "mx.ta-root.test",
            [tlsa(2, 1, 1, "ca-root")], "cert-expired", at=now + 400 * DAY)),
        ("--at: DANE-TA chain not yet valid 30 days ago", expect("127.25.0.4", "mx.ta-root.test",
            [tlsa(2, 1, 1, "ca-root")], "cert-expired", at=now - 30 * DAY)),
        ("--at: DANE-EE ignores dates in 400 days", days_left(ee1, "mx.dane-ee.test",
            [tlsa(3, 1, 1, "ee1")], -36, -34, at=now + 400 * DAY)),
        ("expired DANE-EE leaf: days left", days_left("127.25.0.2", "mx.dane-ee-expired.test",
            [tlsa(3, 1, 1, "ee-expired")], -36, -35)),
        ("200 KiB chain refused", fails("127.25.1.11", ["excessive message size"])),
        ("fatal alert", fails("127.25.1.4", ["alert handshake failure"])),
        ("reset during handshake", fails("127.25.1.13", [])),
        ("renegotiation refused", no_renegotiation),
    ]


def main():
    runs = [(label, (lambda k=kwargs, w=want: judge(probe(**k), w))) for label, kwargs, want in scenario_cases()]
    runs += extra_checks()
    passed, failed = 0, []
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        futures = [(label, pool.submit(fn)) for label, fn in runs]
        for label, fut in futures:
            try:
                problems = fut.result()
            except Exception as e:  # a crashed check is a failed check
                problems = ["%s: %s" % (type(e).__name__, e)]
            if problems:
                failed.append("%s: %s" % (label, "; ".join(problems)))
            else:
                passed += 1
            if VERBOSE:
                print("%-4s %s" % ("ok" if not problems else "FAIL", label))
    for f in failed:
        print("FAIL " + f, file=sys.stderr)
    print("%d passed, %d failed" % (passed, len(failed)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
