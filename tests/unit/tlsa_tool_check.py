#!/usr/bin/python3
"""danescan tlsa (and rollover's usage errors) against the openssl command line.

Certificates, chains and keys are made here with `openssl`; every digest
danescan prints is compared with one computed independently by openssl and
sha256sum/sha512sum, as an operator would:

    openssl x509 -pubkey -noout | openssl pkey -pubin -outform DER | sha256sum

    tlsa_tool_check.py DANESCAN
"""

import datetime
import hashlib
import os
import re
import stat
import subprocess
import sys
import tempfile

DANESCAN = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else sys.exit("usage: tlsa_tool_check.py DANESCAN")
passed = failed = 0


def check(cond, what):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print("FAIL " + what)
    return cond


def sh(cmd, data=None):
    """A shell pipeline, as an operator types it; its stdout."""
    return subprocess.run(cmd, shell=True, input=data, capture_output=True, check=True).stdout


def danescan(*args, cwd=None):
    return subprocess.run([DANESCAN] + list(args), capture_output=True, text=True, cwd=cwd, timeout=120)


# ------------------------------------------------------------ what openssl says

def spki_digest(path, algo, inform="PEM"):
    return sh("openssl x509 -inform %s -in '%s' -pubkey -noout | openssl pkey -pubin -outform DER | %ssum"
              % (inform, path, algo)).split()[0].decode()


def cert_digest(path, algo, inform="PEM"):
    return sh("openssl x509 -inform %s -in '%s' -outform DER | %ssum" % (inform, path, algo)).split()[0].decode()


def spki_hex(path):
    return sh("openssl x509 -in '%s' -pubkey -noout | openssl pkey -pubin -outform DER | od -An -v -tx1"
              % path).decode().replace(" ", "").replace("\n", "")


def key_spki_digest(path, algo):
    return sh("openssl pkey -in '%s' -pubout -outform DER | %ssum" % (path, algo)).split()[0].decode()


def records(out):
    """Zone-file lines -> [(owner, usage, selector, mtype, hex)]."""
    got = []
    for line in out.splitlines():
        m = re.fullmatch(r"(\S+) IN TLSA (\d) (\d) (\d) ([0-9a-f]+)", line)
        if not m:
            return None
        got.append((m.group(1), int(m.group(2)), int(m.group(3)), int(m.group(4)), m.group(5)))
    return got


# ------------------------------------------------------------ material

def make_material(d):
    p = lambda name: os.path.join(d, name)
    # RSA and ECDSA self-signed server certificates, SANs first
    sh("openssl req -x509 -newkey rsa:2048 -nodes -keyout %s -out %s -days 30 -subj /CN=cn.rsa.example "
       "-addext subjectAltName=DNS:mx.rsa.example,DNS:other.example 2>/dev/null" % (p("rsa.key"), p("rsa.crt")))
    sh("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout %s -out %s -days 30 "
       "-subj /CN=mx.ec.example 2>/dev/null" % (p("ec.key"), p("ec.crt")))
    sh("openssl x509 -in %s -outform DER -out %s" % (p("ec.crt"), p("ec.der")))
    sh("openssl pkey -in %s -pubout -out %s" % (p("rsa.key"), p("rsa.pub")))
    sh("openssl pkey -in %s -pubout -outform DER -out %s" % (p("ec.key"), p("ec.pub.der")))
    sh("openssl pkey -in %s -aes256 -passout pass:secret -out %s" % (p("rsa.key"), p("rsa-enc.key")))
    # a private CA: root -> intermediate -> leaf
    with open(p("ca.ext"), "w") as f:
        f.write("[ca]\nbasicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n"
                "[leaf]\nbasicConstraints=critical,CA:FALSE\nsubjectAltName=DNS:mx.chain.example\n")
    sh("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout %s -out %s -days 30 "
       "-subj '/CN=Check Root CA' -addext basicConstraints=critical,CA:TRUE "
       "-addext keyUsage=critical,keyCertSign 2>/dev/null" % (p("root.key"), p("root.crt")))
    sh("openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout %s -out %s "
       "-subj '/CN=Check Intermediate CA' 2>/dev/null" % (p("int.key"), p("int.csr")))
    sh("openssl x509 -req -in %s -CA %s -CAkey %s -CAcreateserial -days 30 -extfile %s -extensions ca -out %s "
       "2>/dev/null" % (p("int.csr"), p("root.crt"), p("root.key"), p("ca.ext"), p("int.crt")))
    sh("openssl req -new -newkey rsa:2048 -nodes -keyout %s -out %s -subj /CN=mx.chain.example 2>/dev/null"
       % (p("leaf.key"), p("leaf.csr")))
    sh("openssl x509 -req -in %s -CA %s -CAkey %s -CAcreateserial -days 30 -extfile %s -extensions leaf -out %s "
       "2>/dev/null" % (p("leaf.csr"), p("int.crt"), p("int.key"), p("ca.ext"), p("leaf.crt")))
    with open(p("chain.pem"), "wb") as f:
        for name in ("leaf.crt", "int.crt", "root.crt"):
            f.write(open(p(name), "rb").read())
    # as Postfix's smtpd_tls_chain_files wants it: the key first
    with open(p("postfix.pem"), "wb") as f:
        for name in ("leaf.key", "leaf.crt", "int.crt"):
            f.write(open(p(name), "rb").read())
    with open(p("garbage.pem"), "wb") as f:
        f.write(b"-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n")
    with open(p("garbage.bin"), "wb") as f:
        f.write(os.urandom(700))
    open(p("empty"), "w").close()


# ------------------------------------------------------------ the table

def record_cases(d):
    p = lambda name: os.path.join(d, name)
    rsa, ec, der = p("rsa.crt"), p("ec.crt"), p("ec.der")
    owner = "_25._tcp.mx.rsa.example."
    return [
        # name, args, want records
        ("rsa default: 3 1 1 and 3 0 1, owner from the first DNS SAN", [rsa],
         [(owner, 3, 1, 1, spki_digest(rsa, "sha256")), (owner, 3, 0, 1, cert_digest(rsa, "sha256"))]),
        ("ecdsa, owner from the CN (no SAN)", [ec],
         [("_25._tcp.mx.ec.example.", 3, 1, 1, spki_digest(ec, "sha256")),
          ("_25._tcp.mx.ec.example.", 3, 0, 1, cert_digest(ec, "sha256"))]),
        ("ecdsa DER, SHA-512", ["--mtype", "2", der],
         [("_25._tcp.mx.ec.example.", 3, 1, 2, spki_digest(der, "sha512", "DER")),
          ("_25._tcp.mx.ec.example.", 3, 0, 2, cert_digest(der, "sha512", "DER"))]),
        ("full SPKI only when asked", ["--selector", "1", "--mtype", "0", rsa],
         [(owner, 3, 1, 0, spki_hex(rsa))]),
        ("selector 0, both digests", ["--selector", "0", "--mtype", "1,2", rsa],
         [(owner, 3, 0, 1, cert_digest(rsa, "sha256")), (owner, 3, 0, 2, cert_digest(rsa, "sha512"))]),
        ("--host and --port change the owner", ["--host", "Mail.Example.ORG.", "--port", "465", rsa],
         [("_465._tcp.mail.example.org.", 3, 1, 1, spki_digest(rsa, "sha256")),
          ("_465._tcp.mail.example.org.", 3, 0, 1, cert_digest(rsa, "sha256"))]),
        ("private key: 3 1 1 only", ["--host", "mx.rsa.example", p("rsa.key")],
         [(owner, 3, 1, 1, key_spki_digest(p("rsa.key"), "sha256"))]),
        ("public key PEM, SHA-512", ["--host", "mx.rsa.example", "--mtype", "2", p("rsa.pub")],
         [(owner, 3, 1, 2, key_spki_digest(p("rsa.key"), "sha512"))]),
        ("public key DER", ["--host", "mx.ec.example", p("ec.pub.der")],
         [("_25._tcp.mx.ec.example.", 3, 1, 1, spki_digest(ec, "sha256"))]),
        ("chain: the leaf by default", [p("chain.pem")],
         [("_25._tcp.mx.chain.example.", 3, 1, 1, spki_digest(p("leaf.crt"), "sha256")),
          ("_25._tcp.mx.chain.example.", 3, 0, 1, cert_digest(p("leaf.crt"), "sha256"))]),
        ("chain --usage 2: the issuing CA", ["--usage", "2", p("chain.pem")],
         [("_25._tcp.mx.chain.example.", 2, 1, 1, spki_digest(p("int.crt"), "sha256")),
          ("_25._tcp.mx.chain.example.", 2, 0, 1, cert_digest(p("int.crt"), "sha256"))]),
        ("chain --ta: the root", ["--ta", "--selector", "1", p("chain.pem")],
         [("_25._tcp.mx.chain.example.", 2, 1, 1, spki_digest(p("root.crt"), "sha256"))]),
        ("chain --depth 2 is the root too", ["--depth", "2", "--selector", "1", p("chain.pem")],
         [("_25._tcp.mx.chain.example.", 2, 1, 1, spki_digest(p("root.crt"), "sha256"))]),
        ("chain --depth 1 --mtype 2", ["--depth", "1", "--selector", "0", "--mtype", "2", p("chain.pem")],
         [("_25._tcp.mx.chain.example.", 2, 0, 2, cert_digest(p("int.crt"), "sha512"))]),
        ("a lone CA certificate with --usage 2 is the TA itself",
         ["--usage", "2", "--host", "mx.chain.example", "--selector", "1", p("root.crt")],
         [("_25._tcp.mx.chain.example.", 2, 1, 1, spki_digest(p("root.crt"), "sha256"))]),
        ("a Postfix chain file: key first, certificates win", ["--selector", "1", p("postfix.pem")],
         [("_25._tcp.mx.chain.example.", 3, 1, 1, spki_digest(p("leaf.crt"), "sha256"))]),
    ]


def error_cases(d):
    p = lambda name: os.path.join(d, name)
    return [
        # name, args, stderr must contain
        ("missing file", [p("nope.crt")], "No such file or directory"),
        ("garbage PEM", [p("garbage.pem")], "damaged"),
        ("garbage bytes", [p("garbage.bin")], "not a certificate, chain or key"),
        ("empty file", [p("empty")], "empty file"),
        ("selector 0 with a private key", ["--selector", "0", "--host", "mx.rsa.example", p("rsa.key")],
         "selector 0 is the digest of the whole certificate"),
        ("selector 0,1 with a public key", ["--selector", "0,1", "--host", "mx.rsa.example", p("rsa.pub")],
         "selector 0"),
        ("a key names no host", [p("rsa.key")], "give --host"),
        ("encrypted key", ["--host", "mx.rsa.example", p("rsa-enc.key")], "encrypted"),
        ("PKIX usage", ["--usage", "1", p("rsa.crt")], "unusable for SMTP"),
        ("usage 4", ["--usage", "4", p("rsa.crt")], "does not exist"),
        ("depth beyond the chain", ["--depth", "3", p("chain.pem")], "there is no depth 3"),
        ("DANE-EE is depth 0", ["--usage", "3", "--depth", "1", p("chain.pem")], "depth 0"),
        ("--ta with a key", ["--ta", "--host", "mx.rsa.example", p("rsa.key")], "a key is no chain"),
        ("a CA needs --host", ["--usage", "2", p("root.crt")], "give --host"),
        ("bad selector", ["--selector", "2", p("rsa.crt")], "--selector wants"),
        ("bad mtype", ["--mtype", "255", p("rsa.crt")], "--mtype wants"),
        ("two inputs", [p("rsa.crt"), p("ec.crt")], "one FILE at a time"),
        ("no input", [], "no input"),
        ("file and --from-server", ["--from-server", "127.0.0.1", p("rsa.crt")], "give one input"),
        ("bad --host", ["--host", "not a name", p("rsa.crt")], "--host"),
        ("--from-server without --allow-private", ["--from-server", "127.0.0.1:25"], "--allow-private"),
        ("unknown option", ["--frobnicate", p("rsa.crt")], "unknown option"),
        ("rollover: no --next", ["rollover", "example.org"], "--next FILE is required"),
        ("rollover: --next missing", ["rollover", "example.org", "--next", p("nope.crt")], "No such file"),
        ("rollover: --next garbage", ["rollover", "example.org", "--next", p("garbage.bin")], "not a certificate"),
        ("rollover: bad domain", ["rollover", "bad domain!", "--next", p("rsa.crt")], "not a domain name"),
        ("rollover: two domains", ["rollover", "a.example", "b.example", "--next", p("rsa.crt")], "one domain"),
        ("rollover: bad margin", ["rollover", "example.org", "--next", p("rsa.crt"), "--margin", "7y"], "--margin"),
        ("rollover: bad --published", ["rollover", "example.org", "--next", p("rsa.crt"), "--published", "soon"],
         "--published"),
        ("rollover: bad format", ["rollover", "example.org", "--next", p("rsa.crt"), "--format", "xml"], "format"),
    ]


def run_records(d):
    for name, args, want in record_cases(d):
        r = danescan("tlsa", *args)
        got = records(r.stdout)
        check(r.returncode == 0, "%s: exit %d, want 0 (%s)" % (name, r.returncode, r.stderr.strip()))
        check(got == want, "%s:\n  got  %s\n  want %s" % (name, got, want))


def run_errors(d):
    for name, args, want in error_cases(d):
        sub = [] if args[:1] == ["rollover"] else ["tlsa"]
        r = danescan(*(sub + args))
        check(r.returncode == 3, "%s: exit %d, want 3" % (name, r.returncode))
        check(r.stdout == "", "%s: printed %r on stdout, want nothing" % (name, r.stdout[:80]))
        check(want in r.stderr, "%s: stderr %r, want it to say %r" % (name, r.stderr.strip(), want))


def x509_text(path):
    return sh("openssl x509 -in '%s' -noout -text" % path).decode()


def x509_dates(path):
    out = sh("openssl x509 -in '%s' -noout -startdate -enddate -dateopt iso_8601" % path).decode()
    dates = dict(line.split("=", 1) for line in out.splitlines())
    parse = lambda s: datetime.datetime.strptime(s.strip(), "%Y-%m-%d %H:%M:%SZ")
    return parse(dates["notBefore"]), parse(dates["notAfter"])


def run_generate(d):
    # name, args, key type line, bits line, days
    table = [
        ("default: RSA 3072, three years", [], "rsaEncryption", "Public-Key: (3072 bit)", 1096),
        ("rsa2048, 30 days", ["--key-type", "rsa2048", "--days", "30"], "rsaEncryption",
         "Public-Key: (2048 bit)", 30),
        ("ec256, 10 days", ["--key-type", "ec256", "--days", "10"], "id-ecPublicKey",
         "NIST CURVE: P-256", 10),
    ]
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%d")
    for i, (name, args, algo, bits, days) in enumerate(table):
        out = os.path.join(d, "gen%d" % i)
        os.mkdir(out)
        mx = "mx%d.gen.example" % i
        r = danescan("tlsa", "--generate", "--out-dir", out, *args, mx, "gen.example", "*.gen.example")
        if not check(r.returncode == 0, "generate %s: exit %d (%s)" % (name, r.returncode, r.stderr.strip())):
            continue
        key = os.path.join(out, "%s-MX-%s.key" % (mx, stamp))
        crt = os.path.join(out, "%s-MX-SS-%s.crt" % (mx, stamp))
        check(sorted(os.listdir(out)) == sorted(os.path.basename(x) for x in (key, crt)),
              "generate %s: files %s" % (name, sorted(os.listdir(out))))
        if not os.path.exists(key) or not os.path.exists(crt):
            continue
        check(stat.S_IMODE(os.stat(key).st_mode) == 0o600, "generate %s: key mode %o, want 600" % (
            name, stat.S_IMODE(os.stat(key).st_mode)))
        text = x509_text(crt)
        for want in (algo, bits, "Subject: CN = %s" % mx, "Issuer: CN = %s" % mx,
                     "DNS:%s, DNS:gen.example, DNS:*.gen.example" % mx, "CA:FALSE",
                     "TLS Web Server Authentication", "Version: 3 (0x2)", "sha256With" if "rsa" in algo else "ecdsa-with-SHA256"):
            check(want in text, "generate %s: openssl x509 -text lacks %r" % (name, want))
        nb, na = x509_dates(crt)
        check(na - nb == datetime.timedelta(days=days), "generate %s: valid %s, want %d days" % (name, na - nb, days))
        # the key is the certificate's
        check(key_spki_digest(key, "sha256") == spki_digest(crt, "sha256"),
              "generate %s: the key does not belong to the certificate" % name)
        owner = "_25._tcp.%s." % mx
        want = [(owner, 3, 1, 1, spki_digest(crt, "sha256")), (owner, 3, 0, 1, cert_digest(crt, "sha256"))]
        got = records(r.stdout)
        check(got == want, "generate %s: records\n  got  %s\n  want %s" % (name, got, want))
        if i == 0:
            again = danescan("tlsa", "--generate", "--out-dir", out, *args, mx)
            check(again.returncode == 3 and "not overwritten" in again.stderr,
                  "generate again the same day: exit %d, %r; want 3, not overwritten" % (
                      again.returncode, again.stderr.strip()))
            check(stat.S_IMODE(os.stat(key).st_mode) == 0o600 and key_spki_digest(key, "sha256") == want[0][4],
                  "generate again: the first key was changed")
    for name, args, want in [
        ("no name", ["--generate"], "needs the MX host name"),
        ("bad name", ["--generate", "not_a host"], "is not a host name"),
        ("wildcard MX name", ["--generate", "*.gen.example"], "is not a host name"),
        ("bad key type", ["--generate", "--key-type", "dsa1024", "mx.gen.example"], "--key-type"),
        ("bad days", ["--generate", "--days", "0", "mx.gen.example"], "--days"),
        ("missing dir", ["--generate", "--out-dir", os.path.join(d, "nope"), "mx.gen.example"], "not a directory"),
        ("DANE-TA", ["--generate", "--ta", "mx.gen.example"], "DANE-EE"),
    ]:
        r = danescan("tlsa", *args, cwd=d)
        check(r.returncode == 3 and want in r.stderr, "generate %s: exit %d, %r; want 3 and %r" % (
            name, r.returncode, r.stderr.strip(), want))


def run_help():
    for sub in ("tlsa", "rollover"):
        r = danescan(sub, "--help")
        check(r.returncode == 0, "%s --help: exit %d" % (sub, r.returncode))
        check("3 1 1" in r.stdout if sub == "tlsa" else "--next" in r.stdout, "%s --help text" % sub)


def main():
    with tempfile.TemporaryDirectory() as d:
        make_material(d)
        run_records(d)
        run_errors(d)
        run_generate(d)
        run_help()
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
