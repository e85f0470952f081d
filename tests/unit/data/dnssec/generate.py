#!/usr/bin/env python3
"""Regenerate the signed zones test_dnssec reads (run from anywhere).

    python3 tests/unit/data/dnssec/generate.py

Every zone is signed with ldns-keygen / ldns-signzone over a FIXED window
(2026-01-01 .. 2036-01-01; the expired and not-yet-valid zones use windows
of their own), so the committed files never rot: the test evaluates them
at 2030-06-01.  Private keys live in a temporary directory and are thrown
away; rerunning makes new keys and new signatures, and the test must pass
again unchanged.

The tree (one authoritative view per zone file, no servers involved):

  .              RSASHA256, NSEC          root.ds / root.key are its anchor
  test.          ECDSAP256SHA256, NSEC    every scenario zone hangs below
  example.       RSASHA256, NSEC3 opt-out, 0 iterations, no salt
  good.test.     ECDSA, NSEC: answers, wildcards, ENT, CNAME/DNAME chains
  deep.x.good.test.  ECDSA below an empty non-terminal
  ed.test.       ED25519, NSEC
  n3.test.       RSASHA256, NSEC3 (salt aabbccdd, 10 iterations)
  signed.example.    ECDSA below the opt-out TLD (DS proven by NSEC3 match)
  unsigned.test., unsigned.n3.test., insecure.example.   unsigned children
  and one damaged zone per failure the validator must name.
"""

import os
import shutil
import subprocess
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
WINDOW = ("20260101000000", "20360101000000")
EXPIRED = ("20160101000000", "20170101000000")
FUTURE = ("20400101000000", "20410101000000")
TTL = 3600

ALG = {"rsa": ("RSASHA256", 2048), "ecdsa": ("ECDSAP256SHA256", None),
       "ecdsa384": ("ECDSAP384SHA384", None), "rsasha512": ("RSASHA512", 2048),
       "ed25519": ("ED25519", None), "dsa": ("DSA", 1024)}

# name -> (algorithm or None for unsigned, denial, extra records, options)
ZONES = {}


def zone(origin, sign, records, denial="nsec", **opts):
    ZONES[origin] = dict(origin=origin, sign=sign, denial=denial,
                         records=list(records), opts=opts, ds=[])


zone(".", "rsa", [])
zone("test.", "ecdsa", ["ns.test. A 192.0.2.53"])
zone("example.", "rsa", ["www.example. A 192.0.2.80"], denial="nsec3-optout")

zone("good.test.", "ecdsa", [
    "@ MX 10 mail.good.test.",
    "@ A 192.0.2.10",
    "www A 192.0.2.1",
    "www TXT \"hello\"",
    "mail A 192.0.2.25",
    "alias CNAME www.ed.test.",
    "alias2 CNAME alias.good.test.",
    "toinsecure CNAME www.unsigned.test.",
    "*.wild A 192.0.2.99",
    "*.wc CNAME www.good.test.",
    "a.ent A 192.0.2.2",
    "dname DNAME ed.test.",
] + ["c%d CNAME c%d.good.test." % (i, i + 1) for i in range(11)]
  + ["c11 CNAME www.good.test."])
zone("deep.x.good.test.", "ecdsa", ["www A 192.0.2.3"])
zone("ed.test.", "ed25519", ["@ A 192.0.2.15", "www A 192.0.2.16"])
zone("n3.test.", "rsa", [
    "www A 192.0.2.30",
    "*.wild A 192.0.2.31",
    "a.ent A 192.0.2.32",
], denial="nsec3", salt="aabbccdd", iterations=10)
zone("unsigned.test.", None, ["www A 192.0.2.40"])
zone("unsigned.n3.test.", None, ["www A 192.0.2.41"])
# RFC 5155 §6: an opt-out span may skip an unsigned delegation; ldns-signzone
# still chains every delegation, so this one is added after signing
zone("insecure.example.", None, ["www A 192.0.2.42"], unchained=True)
zone("signed.example.", "ecdsa", ["www A 192.0.2.43"])

# damaged zones: the name says what is wrong
zone("expired.test.", "ecdsa", ["www A 192.0.2.50"], window=EXPIRED)
zone("future.test.", "ecdsa", ["www A 192.0.2.51"], window=FUTURE)
zone("tampered.test.", "ecdsa", ["www A 192.0.2.52"],
     tamper=[("www.tampered.test.", "A", "192.0.2.66")])
zone("wrongds.test.", "ecdsa", ["www A 192.0.2.53"], ds="wrong")
zone("nodnskey.test.", "ecdsa", ["www A 192.0.2.54"],
     strip=[("nodnskey.test.", "DNSKEY", None), ("nodnskey.test.", "RRSIG", "DNSKEY")])
zone("nokskey.test.", "ecdsa", ["www A 192.0.2.55"], strip_ksk=True)
zone("norrsig.test.", "ecdsa", ["www A 192.0.2.56"],
     strip=[("www.norrsig.test.", "RRSIG", "A")])
zone("nonsec.test.", "ecdsa", ["www A 192.0.2.57", "*.wild A 192.0.2.58"],
     strip=[(None, "NSEC", None), (None, "RRSIG", "NSEC")])
zone("baddigest.test.", "ecdsa", ["www A 192.0.2.59"], ds="unknown-digest")
zone("badalg.test.", "ecdsa", ["www A 192.0.2.60"], ds="unknown-alg")
zone("iter200.test.", "ecdsa", ["www A 192.0.2.61"], denial="nsec3", iterations=200)
zone("nozonebit.test.", "ecdsa", ["www A 192.0.2.62"], ksk_flags=1)
zone("manyds.test.", "ecdsa", ["www A 192.0.2.63"], ds="nine")
zone("dsa.test.", "dsa", ["www A 192.0.2.64"])
zone("p384.test.", "ecdsa384", ["www A 192.0.2.65"], ds="sha384")
zone("sha512.test.", "rsasha512", ["www A 192.0.2.66"], ds="sha1")
zone("downgrade.test.", "ecdsa", ["www A 192.0.2.67"], ds="sha1-and-wrong-sha256")
zone("keytrap.test.", "rsa", ["victim A 192.0.2.70", "ok A 192.0.2.71"]
     + ["j%d CNAME j%d.keytrap.test." % (i, i + 1) for i in range(8)]
     + ["j8 CNAME ok.keytrap.test."], keytrap=True)


def run(argv, cwd):
    return subprocess.run(argv, cwd=cwd, check=True, capture_output=True, text=True).stdout


def keygen(z, ksk, keydir):
    name, bits = ALG[z["sign"]]
    argv = ["ldns-keygen", "-a", name]
    if bits:
        argv += ["-b", str(bits)]
    if ksk:
        argv.append("-k")
    return os.path.join(keydir, run(argv + [z["origin"]], keydir).strip())


def read_key(base):
    with open(base + ".key") as f:
        return f.read().split()


def keytag(flags, proto, alg, key):
    """RFC 4034 Appendix B."""
    data = bytes([flags >> 8, flags & 255, proto, alg]) + key
    ac = 0
    for i, b in enumerate(data):
        ac += b << 8 if i % 2 == 0 else b
    ac += (ac >> 16) & 0xFFFF
    return ac & 0xFFFF


def colliding_keys(key, count):
    """Distinct RSA public keys with the key tag of `key` (KeyTrap, CVE-2023-50387):
    swapping two key bytes of equal parity leaves the RFC 4034 checksum alone."""
    out, i = [], 10
    while len(out) < count:
        b = bytearray(key)
        j = i + 2
        if b[i] != b[j]:
            b[i], b[j] = b[j], b[i]
            out.append(bytes(b))
        i += 2
    return out


def b64(data):
    import base64
    return base64.b64encode(data).decode()


def unb64(text):
    import base64
    return base64.b64decode(text)


def ds_of(base, keydir, digest="-2"):
    return run(["ldns-key2ds", "-n", digest, base + ".key"], keydir).split()


def build(z, keydir, outdir):
    origin = z["origin"]
    opts = z["opts"]
    lines = ["$ORIGIN %s" % origin, "$TTL %d" % TTL,
             "@ SOA ns.test. hostmaster.test. 2026010100 3600 600 86400 %d" % TTL,
             "@ NS ns.test."]
    lines += z["records"]
    unchained = []
    for child in sorted(ZONES.values(), key=lambda c: c["origin"]):
        if child is not z and parent_of(child["origin"]) == origin:
            cut = unchained if child["opts"].get("unchained") else lines
            cut.append("%s NS ns.test." % child["origin"])
            cut += child["ds"]
    fake_sigs = []
    if opts.get("keytrap"):
        fake_sigs = keytrap_keys(z, keydir, lines)
    src = os.path.join(keydir, "src-" + (origin.rstrip(".") or "root"))
    with open(src, "w") as f:
        f.write("\n".join(lines) + "\n")
    out = os.path.join(outdir, (origin.rstrip(".") or "root") + ".zone")
    if z["sign"] is None:
        shutil.copy(src, out)
        return
    ksk = keygen(z, True, keydir)
    zsk = keygen(z, False, keydir)
    if "ksk_flags" in opts:
        # RFC 4034 §5.2: a DS must name a key with the Zone Key flag; this one has none
        parts = read_key(ksk)
        parts[3] = str(opts["ksk_flags"])
        with open(ksk + ".key", "w") as f:
            f.write("\t".join(parts) + "\n")
    inception, expiration = opts.get("window", WINDOW)
    argv = ["ldns-signzone", "-i", inception, "-e", expiration]
    if z["denial"].startswith("nsec3"):
        argv += ["-n", "-t", str(opts.get("iterations", 0))]
        if opts.get("salt"):
            argv += ["-s", opts["salt"]]
        if z["denial"] == "nsec3-optout":
            argv.append("-p")
    run(argv + ["-f", out, src, ksk, zsk], keydir)
    postprocess(z, out, ksk, fake_sigs)
    with open(out, "a") as f:
        f.write("".join("%s\t%d\tIN\tNS\tns.test.\n" % (l.split()[0], TTL) for l in unchained))
    z["ds"] = parent_ds(z, ksk, keydir)


def keytrap_keys(z, keydir, lines):
    """11 DNSKEYs sharing one key tag, 3 sharing another; RRSIGs that name them."""
    groups = []
    for count in (11, 3):
        base = keygen(z, False, keydir)
        parts = read_key(base)
        key = unb64("".join(parts[6:]))
        tag = keytag(256, 3, 8, key)
        for variant in colliding_keys(key, count):
            assert keytag(256, 3, 8, variant) == tag
            lines.append("@ DNSKEY 256 3 8 %s" % b64(variant))
        groups.append(tag)
    return groups


def fake_rrsig(owner, rtype, labels, tag, origin, n):
    """A well-formed RRSIG inside the window whose signature matches nothing."""
    sig = b64(bytes((n * 7 + i) % 256 for i in range(256)))
    return "%s\t%d\tIN\tRRSIG\t%s 8 %d %d %s %s %d %s %s" % (
        owner, TTL, rtype, labels, TTL, WINDOW[1], WINDOW[0], tag, origin, sig)


def postprocess(z, path, ksk, fake_sigs):
    opts, origin = z["opts"], z["origin"]
    with open(path) as f:
        rrs = [l.split(None, 4) for l in f.read().splitlines() if l.strip() and not l.startswith(";")]
    for owner, rtype, covered in opts.get("strip", []):
        rrs = [rr for rr in rrs if not ((owner is None or rr[0] == owner) and rr[3] == rtype and
                                        (covered is None or rr[4].split()[0] == covered))]
    for owner, rtype, value in opts.get("tamper", []):
        hit = [rr for rr in rrs if rr[0] == owner and rr[3] == rtype]
        hit[0][4] = value
    if opts.get("strip_ksk"):
        ksk_key = "".join(read_key(ksk)[6:])
        rrs = [rr for rr in rrs if not (rr[3] == "DNSKEY" and "".join(rr[4].split()[3:]) == ksk_key)]
    if fake_sigs:
        t1, t2 = fake_sigs
        out = []
        for rr in rrs:
            if rr[3] == "RRSIG" and rr[4].split()[0] in ("A", "CNAME"):
                labels = rr[0].rstrip(".").count(".") + 1
                rtype = rr[4].split()[0]
                if rr[0] == "victim.keytrap.test.":
                    # two RRSIGs x 4 colliding keys use up the 8 checks per RRset
                    out.append(fake_rrsig(rr[0], rtype, labels, t1, origin, 1).split("\t"))
                    out.append(fake_rrsig(rr[0], rtype, labels, t1, origin, 2).split("\t"))
                elif rr[0].startswith("j"):
                    # 4 + 3 failed checks before the real one: 8 per link
                    out.append(fake_rrsig(rr[0], rtype, labels, t1, origin, 3).split("\t"))
                    out.append(fake_rrsig(rr[0], rtype, labels, t2, origin, 4).split("\t"))
            out.append(rr)
        rrs = [r if len(r) == 5 else r[:4] + [" ".join(r[4:])] for r in out]
    with open(path, "w") as f:
        f.write("\n".join("\t".join(rr) for rr in rrs) + "\n")


def parent_ds(z, ksk, keydir):
    owner, ttl, klass, rtype, tag, alg, dtype, digest = ds_of(ksk, keydir)[:8]
    mode = z["opts"].get("ds", "good")
    if mode == "wrong":
        other = keygen(z, True, keydir)
        owner, ttl, klass, rtype, tag, alg, dtype, digest = ds_of(other, keydir)[:8]
    elif mode == "unknown-digest":
        dtype = "200"   # unassigned digest type: RFC 4035 §5.2, insecure
    elif mode == "unknown-alg":
        alg = "200"     # unassigned algorithm: RFC 6840 §5.2, insecure
    elif mode in ("sha1", "sha384"):
        owner, ttl, klass, rtype, tag, alg, dtype, digest = ds_of(ksk, keydir, {"sha1": "-1", "sha384": "-4"}[mode])[:8]
    elif mode == "sha1-and-wrong-sha256":
        # RFC 4509 §3: with a SHA-256 DS present the (right) SHA-1 one is ignored
        sha1 = ds_of(ksk, keydir, "-1")[:8]
        bad = ds_of(keygen(z, True, keydir), keydir)[:8]
        return ["%s %s IN DS %s %s %s %s" % tuple([sha1[0], sha1[1]] + sha1[4:8]),
                "%s %s IN DS %s %s %s %s" % tuple([bad[0], bad[1]] + bad[4:8])]
    good = "%s %s IN DS %s %s %s %s" % (owner, ttl, tag, alg, dtype, digest)
    if mode == "nine":
        # eight DS records that match nothing sort before the real one
        return ["%s %s IN DS %d %s 2 %064x" % (owner, ttl, i, alg, i + 1) for i in range(8)] + [good]
    return [good]


def parent_of(origin):
    if origin == ".":
        return None
    rest = origin.split(".", 1)[1]
    while rest and rest not in ZONES:
        rest = rest.split(".", 1)[1] if "." in rest.rstrip(".") else "."
    return rest or "."


def main():
    keydir = tempfile.mkdtemp(prefix="danescan-dnssec-")
    try:
        for old in os.listdir(HERE):
            if old.endswith(".zone") or old.endswith(".ds") or old.endswith(".key"):
                os.remove(os.path.join(HERE, old))
        # children first: a parent publishes its children's DS records
        for z in sorted(ZONES.values(), key=lambda z: -len(z["origin"].rstrip(".").split(".")) if z["origin"] != "." else 1):
            build(z, keydir, HERE)
        root = ZONES["."]
        with open(os.path.join(HERE, "root.ds"), "w") as f:
            f.write("; trust anchor of the test root (DS)\n" + "\n".join(root["ds"]) + "\n")
        with open(os.path.join(HERE, "root.zone")) as f:
            keys = [l for l in f if "\tDNSKEY\t257 " in l and l.startswith(".\t")]
        with open(os.path.join(HERE, "root.key"), "w") as f:
            f.write("; trust anchor of the test root (DNSKEY)\n" + "".join(keys))
        with open(os.path.join(HERE, "test.ds"), "w") as f:
            f.write("; an anchor for test. only\n" + "\n".join(ZONES["test."]["ds"]) + "\n")
        with open(os.path.join(HERE, "mixed.ds"), "w") as f:
            f.write("; two zones in one anchor file: refused\n" + "\n".join(root["ds"] + ZONES["test."]["ds"]) + "\n")
    finally:
        shutil.rmtree(keydir)


if __name__ == "__main__":
    main()
