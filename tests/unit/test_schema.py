#!/usr/bin/python3
"""test_schema.py - report/schema.json against what the reporter writes.

Runs test_report --emit into a temporary directory, then:
  - every emitted line validates against the schema;
  - the schema's enums are exactly the model's vocabularies;
  - the schema rejects crafted bad records (and accepts extension fields
    where it says it is open).

usage: test_schema.py TEST_REPORT [SCHEMA]
Needs jsonschema >= 4 (Debian 12: python3-jsonschema 4.10, for
/usr/bin/python3, installed by .ci/install-deps); without it the test fails.
"""
import copy
import json
import os
import subprocess
import sys
import tempfile

try:
    import jsonschema
except ImportError:
    print("jsonschema is not installed for %s: run .ci/install-deps (python3-jsonschema)" % sys.executable)
    sys.exit(1)

passed = failed = 0


def check(ok, what):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print("FAIL: %s" % what, file=sys.stderr)


def errors(validator, record):
    return sorted(e.message for e in validator.iter_errors(record))


def emitted(test_report, directory):
    """{fixture: record} from test_report --emit, and the vocabularies."""
    run = subprocess.run([test_report, "--emit", directory], capture_output=True, text=True)
    check(run.returncode == 0, "test_report --emit exited %d:\n%s%s"
          % (run.returncode, run.stdout, run.stderr))
    records = {}
    for name in sorted(os.listdir(directory)):
        if not name.endswith(".json"):
            continue
        with open(os.path.join(directory, name), "rb") as f:
            data = f.read()
        lines = data.split(b"\n")
        check(len(lines) == 2 and lines[1] == b"", "%s: want one line, got %r" % (name, data[:200]))
        check(all(0x20 <= b <= 0x7e for b in lines[0]), "%s: bytes outside printable ASCII" % name)
        records[name[:-len(".json")]] = json.loads(lines[0].decode("ascii"))
    vocabulary = {}
    with open(os.path.join(directory, "vocabulary.txt")) as f:
        for line in f:
            kind, value = line.split()
            vocabulary.setdefault(kind, []).append(value)
    return records, vocabulary


def check_vocabulary(schema, vocabulary):
    defs = schema["$defs"]
    verdicts = [defs["invalid_input"]["properties"]["verdict"]["const"]] + defs["verdict"]["enum"]
    for kind, got in [("verdict", verdicts),
                      ("host_status", defs["host_status"]["enum"]),
                      ("address_result", defs["address_result"]["enum"]),
                      ("dnssec", defs["dnssec"]["enum"]),
                      ("severity", defs["severity"]["enum"])]:
        want = vocabulary.get(kind)
        check(got == want, "schema's %s values: got %s, want the model's %s" % (kind, got, want))


# Crafted records: (name, fixture, mutation, valid?).  A mutation edits a
# deep copy of the fixture's record in place, or returns a replacement.
def setp(path, value):
    def mutate(r):
        *parents, last = path
        for key in parents:
            r = r[key]
        r[last] = value
    return mutate


def delp(path):
    def mutate(r):
        *parents, last = path
        for key in parents:
            r = r[key]
        del r[last]
    return mutate


def both(*mutations):
    def mutate(r):
        for m in mutations:
            m(r)
    return mutate


A0 = ["mx", 0, "addresses", 0]
HOST = {"host": "mx.x.test", "preference": 10, "dnssec": "secure", "status": "dane",
        "tlsa": {"looked_up": False, "records": []}, "addresses": []}
FINDING = {"code": "x", "severity": "warning", "message": "m"}

CASES = [
    # the contract's fields and vocabularies
    ("unknown verdict", "dane-valid", setp(["verdict"], "dane-ok"), False),
    ("invalid-input verdict on a domain record", "dane-valid", setp(["verdict"], "invalid-input"), False),
    ("missing domain", "dane-valid", delp(["domain"]), False),
    ("missing findings", "dane-valid", delp(["findings"]), False),
    ("missing mx", "nxdomain", delp(["mx"]), False),
    ("schema_version 2", "dane-valid", setp(["schema_version"], 2), False),
    ("schema_version as a string", "dane-valid", setp(["schema_version"], "1"), False),
    ("preference as a string", "dane-valid", setp(["mx", 0, "preference"], "10"), False),
    ("probed as a string", "dane-valid", setp(["probed"], "yes"), False),
    ("null instead of an absent field", "dane-valid", setp(["mx_reason"], None), False),
    ("unknown mx_dnssec", "dane-valid", setp(["mx_dnssec"], "unsigned"), False),
    ("unknown host status", "dane-valid", setp(["mx", 0, "status"], "dane-ok"), False),
    ("unknown address result", "dane-valid", setp(A0 + ["result"], "pass"), False),
    ("unknown severity", "dane-fail", setp(["findings", 0, "severity"], "fatal"), False),
    ("finding without message", "dane-fail", delp(["findings", 0, "message"]), False),
    ("finding with an extra field", "dane-fail", setp(["findings", 0, "rfc"], "7672"), False),
    ("unknown cert_type", "dane-fail", setp(A0 + ["handshakes", 1, "cert_type"], "dsa"), False),
    ("TLSA usage 256", "dane-valid", setp(["mx", 0, "tlsa", "records", 0, "usage"], 256), False),
    ("TLSA data odd hex", "dane-valid", setp(["mx", 0, "tlsa", "records", 0, "data"], "abc"), False),
    ("TLSA record with an extra field", "dane-valid",
     setp(["mx", 0, "tlsa", "records", 0, "ttl"], 300), False),
    ("usable record with an unusable_reason", "dane-valid",
     setp(["mx", 0, "tlsa", "records", 0, "unusable_reason"], "x"), False),
    ("TLSA dnssec without a lookup", "no-probe", setp(["mx", 1, "tlsa", "dnssec"], "secure"), False),
    ("TLSA looked up without dnssec", "dane-valid", delp(["mx", 0, "tlsa", "dnssec"]), False),
    ("qname not _port._tcp", "dane-valid", setp(["mx", 0, "tlsa", "qname"], "mx.dane-ee.test"), False),
    ("dane-pass without matched", "dane-valid", delp(A0 + ["matched"]), False),
    ("matched on dane-fail", "dane-valid", setp(A0 + ["result"], "dane-fail"), False),
    ("dane-pass without tls", "dane-valid", delp(A0 + ["tls"]), False),
    ("matched depth -1", "dane-valid", setp(A0 + ["matched", "depth"], -1), False),
    ("spki_sha256 not hex", "dane-valid", setp(A0 + ["certificate", "spki_sha256"], "z" * 64), False),
    ("not_after not ISO 8601 UTC", "dane-valid",
     setp(A0 + ["certificate", "not_after"], "Apr  1 00:00:00 2026 GMT"), False),
    ("timing of zero", "dane-valid", setp(A0 + ["timings", "connect"], 0), False),
    ("unknown timing phase", "dane-valid", setp(A0 + ["timings", "quit"], 1.0), False),
    ("empty timings", "dane-valid", setp(A0 + ["timings"], {}), False),
    ("tls on a skipped address", "no-probe",
     setp(["mx", 0, "addresses", 0, "tls"], {"version": "TLSv1.3", "cipher": "x"}), False),
    ("non-ASCII banner", "dane-valid", setp(A0 + ["banner"], "caf\u00e9"), False),
    ("escape sequence in a banner", "dane-valid", setp(A0 + ["banner"], "\x1b[31mred"), False),
    ("newline in a message", "dane-fail", setp(["findings", 0, "message"], "a\n"), False),
    ("address not an IP", "dane-valid", setp(A0 + ["address"], "mx.dane-ee.test"), False),
    ("nxdomain with MX hosts", "nxdomain", setp(["mx"], [HOST]), False),
    ("dane-valid with a host that is not dane", "dane-valid", setp(["mx", 0, "status"], "insecure"), False),
    ("more than 10 MX hosts", "no-probe", setp(["mx"], [HOST] * 11), False),
    ("hosts_cut of 0", "dane-valid", setp(["hosts_cut"], 0), False),
    ("invalid-input without error", "invalid", delp(["error"]), False),
    ("invalid-input with a domain", "invalid", setp(["domain"], "x.test"), False),
    ("invalid-input with another verdict", "invalid", setp(["verdict"], "nxdomain"), False),
    ("empty object", "dane-valid", lambda r: r.clear(), False),
    ("an array, not an object", "dane-valid", lambda r: [r], False),
    # where the schema says it is open, extensions pass
    ("extension at the domain", "dane-valid", setp(["mta_sts"], {"mode": "enforce"}), True),
    ("extension at a host", "dane-valid", setp(["mx", 0, "ttl"], 3600), True),
    ("extension at an address", "dane-valid", setp(A0 + ["mta_sts"], "policy-invalid"), True),
    ("tlsrpt is one of RFC 8460's result types", "dane-valid", setp(A0 + ["tlsrpt"], "sts-policy-invalid"), False),
    ("extension in tls", "dane-valid", setp(A0 + ["tls", "alpn"], "smtp"), True),
    ("extension in tlsa", "dane-valid", setp(["mx", 0, "tlsa", "ttl"], 300), True),
    ("a finding with host and address", "dane-valid",
     setp(["findings"], [dict(FINDING, host="mx.x.test", address="2001:db8::1")]), True),
    ("an expired certificate", "dane-valid", setp(A0 + ["certificate", "days_to_expiry"], -30), True),
    ("implicit MX", "dane-valid", both(setp(["mx", 0, "preference"], 0),
                                       setp(["mx", 0, "implicit"], True)), True),
    ("implicit false", "dane-valid", setp(["mx", 0, "implicit"], False), False),
]


def main():
    if len(sys.argv) not in (2, 3):
        print(__doc__, file=sys.stderr)
        return 2
    test_report = sys.argv[1]
    schema_path = sys.argv[2] if len(sys.argv) == 3 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..", "report", "schema.json")
    with open(schema_path) as f:
        schema = json.load(f)
    try:
        jsonschema.Draft202012Validator.check_schema(schema)
        check(True, "")
    except jsonschema.SchemaError as e:
        check(False, "schema is not valid draft 2020-12: %s" % e.message)
        print("%d passed, %d failed" % (passed, failed))
        return 1
    validator = jsonschema.Draft202012Validator(schema)

    with tempfile.TemporaryDirectory(prefix="danescan-schema-") as directory:
        records, vocabulary = emitted(test_report, directory)
    check(len(records) >= 10, "test_report emitted %d records, want >= 10" % len(records))
    for name, record in sorted(records.items()):
        errs = errors(validator, record)
        check(not errs, "%s: emitted record does not validate: %s" % (name, errs))
    check_vocabulary(schema, vocabulary)

    for name, fixture, mutate, valid in CASES:
        if fixture not in records:
            check(False, "%s: no fixture %s" % (name, fixture))
            continue
        record = copy.deepcopy(records[fixture])
        replacement = mutate(record)
        if replacement is not None:
            record = replacement
        got = validator.is_valid(record)
        check(got == valid, "%s: got %s, want %s" % (
            name, "valid" if got else "invalid", "valid" if valid else "invalid"))

    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
