"""Generate the benchmark world's catalogue (the format of fixtures/scenarios.json).

Two populations of signed mail domains, as on the Internet:

* "hosted" domains (default 5,000): each zone holds only its MX RRset, pointing
  at one or two of ~100 MX hosts that live in a few provider zones.  Every
  provider host has its own A record, its own TLSA RRset and its own Postfix
  listener (127.26.0.x); a provider uses one certificate for all its hosts.
  Expected verdict: dane-valid.
* "own" domains (default 500): each with its own MX host in its own zone, its
  own listener (127.26.1.x ...), and a mix of outcomes: dane-valid, TLSA
  mismatch (dane-invalid), no TLSA (no-dane), unsigned zone (insecure), MX
  RRset tampered after signing (dnssec-bogus).

Domains sit under two TLDs: test. (ECDSA P-256, NSEC) and example. (RSA/SHA-256,
NSEC3), like the fixture world.  Servers: NSD 127.54.0.1, a lame NSD
127.54.0.99, Unbound 127.54.1.1 -- none of the fixture world's addresses.
"""

import json
import random

SERVERS = {"authoritative": "127.54.0.1", "resolver": "127.54.1.1", "lame_nameserver": "127.54.0.99"}

# Providers: (zone, signing, denial, certificate key type, share of the hosts,
# share of the hosted domains, TLSA records per host).  One big hoster, a few
# smaller ones -- the shape of the real DANE population.
PROVIDERS = [
    ("mail-a.test.", "ecdsa", "nsec", "ec256", 0.40, 0.55, 2),
    ("mx-b.test.", "ecdsa", "nsec", "rsa2048", 0.25, 0.20, 1),
    ("hoster-c.example.", "rsa", "nsec3", "rsa2048", 0.20, 0.15, 1),
    ("smtp-d.example.", "ed25519", "nsec", "ec256", 0.15, 0.10, 1),
]

# The own-MX mix: (kind, share, expected verdict)
OWN_MIX = [
    ("valid", 0.50, "dane-valid"),
    ("mismatch", 0.15, "dane-invalid"),
    ("notlsa", 0.15, "no-dane"),
    ("insecure", 0.10, "insecure"),
    ("bogus", 0.10, "dnssec-bogus"),
]
OWN_CERTS = 8           # own-MX listeners share this many certificates
BACKUP_MX_SHARE = 0.25  # hosted domains with a second (backup) MX at the same provider


def shared_address(i):
    return "127.26.%d.%d" % (i // 250, 1 + i % 250)


def own_address(i):
    return "127.26.%d.%d" % (10 + i // 250, 1 + i % 250)


def split(total, shares):
    """Integers proportional to shares, summing to total."""
    counts = [int(total * s) for s in shares]
    for k in range(total - sum(counts)):
        counts[k % len(counts)] += 1
    return counts


def generate(hosted=5000, own=500, hosts=100, seed=7672):
    if hosts < len(PROVIDERS):
        raise ValueError("need at least %d MX hosts" % len(PROVIDERS))
    if hosts > 2500 or own > 2500:
        raise ValueError("at most 2,500 shared hosts and 2,500 own-MX domains (address plan)")
    rnd = random.Random(seed)
    certs = {"unused": {"key": "rsa2048", "issuer": "self", "names": ["never-served.test"]}}
    listeners = {}
    zones = [{"origin": ".", "sign": "rsa", "records": []},
             {"origin": "test.", "sign": "ecdsa", "records": []},
             {"origin": "example.", "sign": "rsa", "denial": "nsec3", "records": []}]
    scenarios = []
    provider_hosts = []     # per provider: list of MX host names

    n_hosts = split(hosts, [p[4] for p in PROVIDERS])
    k = 0
    for (origin, sign, denial, key, _, _, n_tlsa), count in zip(PROVIDERS, n_hosts):
        label = origin.split(".")[0]
        certs[label] = {"key": key, "issuer": "self", "names": ["*." + origin.rstrip(".")]}
        if n_tlsa > 1:   # a pre-published next key: the usual rollover RRset
            certs[label + "-next"] = {"key": key, "issuer": "self", "names": ["*." + origin.rstrip(".")]}
        records, names = [], []
        for h in range(count):
            host = "mx%03d" % (h + 1)
            lname = "sh-%s-%s" % (label, host)
            listeners[lname] = {"server": "postfix", "address": shared_address(k), "chains": [[label]]}
            k += 1
            records.append("%s A {ip %s}" % (host, lname))
            records.append("_25._tcp.%s TLSA {tlsa 3 1 1 %s}" % (host, label))
            if n_tlsa > 1:
                records.append("_25._tcp.%s TLSA {tlsa 3 1 1 %s-next}" % (host, label))
            names.append("%s.%s" % (host, origin))
        zones.append({"origin": origin, "sign": sign, "denial": denial, "records": records})
        provider_hosts.append(names)

    # hosted domains
    n_dom = split(hosted, [p[5] for p in PROVIDERS])
    i = 0
    for p, (names, count) in enumerate(zip(provider_hosts, n_dom)):
        for _ in range(count):
            tld = "test" if rnd.random() < 0.7 else "example"
            domain = "h%05d.%s" % (i, tld)
            i += 1
            primary = rnd.randrange(len(names))
            records = ["@ MX 10 %s" % names[primary]]
            mx = [names[primary]]
            if len(names) > 1 and rnd.random() < BACKUP_MX_SHARE:
                backup = (primary + 1 + rnd.randrange(len(names) - 1)) % len(names)
                records.append("@ MX 20 %s" % names[backup])
                mx.append(names[backup])
            zone = {"records": records}
            if tld == "example":
                zone["denial"] = "nsec3"
            scenarios.append({"domain": domain, "population": "hosted", "zone": zone,
                              "mx": mx, "expect": {"verdict": "dane-valid"}})

    # own-MX domains
    for c in range(OWN_CERTS):
        certs["own%d" % c] = {"key": "ec256" if c % 2 else "rsa2048", "issuer": "self",
                              "names": ["own-%d.invalid" % c]}
    kinds = []
    for (kind, _, verdict), count in zip(OWN_MIX, split(own, [m[1] for m in OWN_MIX])):
        kinds += [(kind, verdict)] * count
    rnd.shuffle(kinds)
    for j, (kind, verdict) in enumerate(kinds):
        tld = "test" if j % 3 else "example"
        domain = "o%04d-%s.%s" % (j, kind, tld)
        cert = "own%d" % (j % OWN_CERTS)
        lname = "own-%04d" % j
        listeners[lname] = {"server": "postfix", "address": own_address(j), "chains": [[cert]]}
        records = ["@ MX 10 mx", "mx A {ip %s}" % lname]
        zone = {"records": records}
        if kind != "notlsa":
            records.append("_25._tcp.mx TLSA {tlsa 3 1 1 %s}" % ("unused" if kind == "mismatch" else cert))
        if kind == "insecure":
            zone["sign"] = "none"
        if kind == "bogus":
            records.append("evil A {ip %s}" % lname)
            zone["tamper"] = [["@", "MX", "10 evil.%s." % domain]]
        if tld == "example" and kind != "insecure":
            zone["denial"] = "nsec3"
        scenarios.append({"domain": domain, "population": "own", "kind": kind, "zone": zone,
                          "mx": ["mx.%s." % domain], "expect": {"verdict": verdict}})

    return {
        "schema": "danescan-fixture-world/1",
        "comment": "Generated by bench/catalogue.py: %d hosted domains on %d shared MX hosts, "
                   "%d own-MX domains (seed %d). Not a test catalogue: only verdicts are stated."
                   % (hosted, hosts, own, seed),
        "servers": SERVERS,
        "certs": certs,
        "listeners": listeners,
        "zones": zones,
        "scenarios": scenarios,
    }


def write(path, catalogue):
    with open(path, "w") as f:
        json.dump(catalogue, f, indent=0)
        f.write("\n")


if __name__ == "__main__":
    import sys
    c = generate(*(int(a) for a in sys.argv[1:4]))
    json.dump(c, sys.stdout, indent=1)
