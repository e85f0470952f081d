#!/usr/bin/python3
"""danescan's batch options against the fixture world (issue [batch]).

Run inside the world:

    fixtures/world run -- tests/world/batch_check.py DANESCAN

The list is every catalogue domain plus an internationalised name.  One
run of the whole list in one process is the reference; then

1. -o FILE that exists: refused (exit 3, the message names --resume,
   --append and --force, the file untouched); --force replaces it,
   --append adds to it; conflicting options are usage errors.
2. --resume after a crash (the file cut in the middle of a line): the
   partial line is cut, only the missing names are scanned, the file ends
   with every name once, every line valid JSON and valid by the schema,
   record for record the reference; a file that is not danescan's output
   is refused and left alone.
3. --shard K/N for N = 3: every record in the shard its name hashes to
   (64-bit FNV-1a of the A-label name mod N, computed here independently),
   shard and run id in every record, no name in two shards, the union the
   reference record for record (timings, TTLs, run id and shard aside);
   --shard auto from a Slurm array task and from a Kubernetes Indexed Job;
   bad specifications exit 3 with a message that says what is wanted.
4. Duplicates (the same name spelled differently) are scanned once and
   counted in the summary.
5. --summary FILE: counts per verdict and finding code equal the records',
   the run id is the records', failures and warnings follow DESIGN.md's
   mapping, probes made and shared equal the addresses probed and copied.
6. SIGINT: the names in flight get --grace seconds, the process ends in
   time with exit 3, says how many it abandoned and suggests --resume,
   and every line it wrote is whole; --resume finishes the list.  A second
   SIGINT ends the run at once.

Prints "N passed, N failed"; exit status 1 when anything failed.
"""

import collections
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import jsonschema

DANESCAN = os.path.abspath(sys.argv[1])
CATALOGUE = json.load(open(os.environ["DANESCAN_SCENARIOS"]))
BASE = ["--resolver", os.environ["DANESCAN_RESOLVER"], "--trust-anchor",
        os.environ["DANESCAN_TRUST_ANCHOR"], "--allow-private", "--timeout", "5"]
SCHEMA = jsonschema.Draft202012Validator(json.load(open(os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "report", "schema.json"))))
TMP = tempfile.mkdtemp(prefix="danescan-batch-")

# An internationalised name whose UTF-8 spelling and A-label fall into
# different shards of 3: only hashing the A-label puts it where it belongs.
IDN, IDN_ALABEL = "münchen.test", "xn--mnchen-3ya.test"
DOMAINS = [s["domain"] for s in CATALOGUE["scenarios"]] + [IDN]
# DESIGN.md "Nagios/CI mapping", default policy
CRITICAL = {"dane-invalid", "dnssec-bogus", "dns-error", "nxdomain"}
WARNING = {"dane-partial", "dane-incomplete", "invalid-input"}
# what differs between two scans of the same world: not compared (TTLs
# count down in the resolver's cache; "shared" depends on which other
# domains the same process scanned)
VOLATILE = {"timings", "ttl", "shared", "run_id", "shard"}

passed = failed = 0


def check(cond, what):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print("  FAIL " + what)
    return cond


# ------------------------------------------------------------- helpers

def fnv1a64(text):
    """64-bit FNV-1a (Fowler/Noll/Vo): offset basis 0xcbf29ce484222325,
    prime 0x100000001b3, over the UTF-8 bytes."""
    h = 0xcbf29ce484222325
    for byte in text.encode():
        h = ((h ^ byte) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h


def record_key(rec):
    """What a record is known by: its domain, or "i:" and the input line
    of an invalid-input record (the key danescan's shards hash too)."""
    return rec["domain"] if "domain" in rec else "i:" + rec.get("input", "")


def shard_of(key, n):
    return fnv1a64(key) % n


def write_list(name, lines):
    path = os.path.join(TMP, name)
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def scheduler_free_env(extra=None):
    """The environment without any job scheduler's variables, plus extra."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("SLURM_") and k != "JOB_COMPLETION_INDEX"}
    env.update(extra or {})
    return env


def danescan(args, env=None, timeout=300):
    return subprocess.run([DANESCAN] + BASE + args, capture_output=True, text=True,
                          env=scheduler_free_env(env), timeout=timeout)


def read_records(path, what):
    """The records of a JSON Lines file; one check that every line is
    whole, JSON and valid by report/schema.json."""
    data = open(path, "rb").read()
    problems = []
    if data and not data.endswith(b"\n"):
        problems.append("last line has no newline")
    records = []
    for n, line in enumerate(data.decode("utf-8", "replace").splitlines(), 1):
        try:
            rec = json.loads(line)
        except ValueError as e:
            problems.append("line %d is not JSON (%s): %r" % (n, e, line[:60]))
            continue
        errors = [e.message for e in SCHEMA.iter_errors(rec)]
        if errors:
            problems.append("line %d (%s) not valid by the schema: %s" % (
                n, rec.get("domain", rec.get("input")), errors[:2]))
        records.append(rec)
    check(not problems, "%s: %d line(s) whole, JSON and schema-valid; problems: %s" % (
        what, len(records), problems[:3]))
    return records


def by_key(records, what):
    """Records by key; one check that no key appears twice."""
    keyed = {}
    twice = []
    for rec in records:
        k = record_key(rec)
        if k in keyed:
            twice.append(k)
        keyed[k] = rec
    check(not twice, "%s: records twice: %s" % (what, sorted(set(twice))[:5]))
    return keyed


def stable(value):
    """A record without what changes between two scans of one world.  A
    finding's message may quote a TTL as the resolver's cache counts it
    down: its numbers are not compared."""
    if isinstance(value, dict):
        return {k: re.sub(r"[0-9]+", "#", v) if k == "message" else stable(v)
                for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [stable(v) for v in value]
    return value


def same_records(got, want, what):
    """Record for record (stable fields); one check per name."""
    check(set(got) == set(want), "%s: names %d, want %d; missing %s, extra %s" % (
        what, len(got), len(want), sorted(set(want) - set(got))[:5], sorted(set(got) - set(want))[:5]))
    for k in sorted(set(got) & set(want)):
        g, w = stable(got[k]), stable(want[k])
        if g != w:
            diff = [f for f in sorted(set(g) | set(w)) if g.get(f) != w.get(f)]
            check(False, "%s: %s differs from the one-process run in %s (verdict %s, want %s)" % (
                what, k, diff, g.get("verdict"), w.get("verdict")))
        else:
            check(True, "")


# ------------------------------------------------------------ reference

def reference():
    """The whole list in one process, with --summary: the reference for
    every later comparison, and the summary's counts checked (5)."""
    out, summary = os.path.join(TMP, "reference.jsonl"), os.path.join(TMP, "reference-summary.json")
    # one worker: the domains that share an MX host meet in the same probe
    # cache, so the summary has shared probes to count
    r = danescan(["-j", "1", "-f", write_list("all.txt", DOMAINS), "-o", out, "--summary", summary,
                  "--run-id", "reference"])
    check(r.returncode == 2, "reference run: exit %d, want 2 (the catalogue has failures); stderr %s" % (
        r.returncode, r.stderr[-300:]))
    records = read_records(out, "reference")
    keyed = by_key(records, "reference")
    check(len(records) == len(DOMAINS), "reference: %d records, want %d" % (len(records), len(DOMAINS)))
    check(IDN_ALABEL in keyed, "reference: no record for %s (%s as its A-label)" % (IDN, IDN_ALABEL))
    check(all("shard" not in rec for rec in records), "reference: a shard field in a run without --shard")
    check({rec.get("run_id") for rec in records} == {"reference"},
          "reference: run ids %s, want {'reference'}" % {rec.get("run_id") for rec in records})
    check("danescan: %d domain(s)" % len(records) in r.stderr,
          "reference: stderr summary does not count %d domains: %r" % (len(records), r.stderr[-300:]))
    check_summary(json.load(open(summary)), records, "reference")
    return keyed


def check_summary(s, records, what):
    verdicts = collections.Counter(rec["verdict"] for rec in records)
    # a code counts once per domain
    codes = collections.Counter(c for rec in records for c in {f["code"] for f in rec.get("findings", [])})
    addresses = [a for rec in records for h in rec.get("mx", []) for a in h.get("addresses", [])]
    probed = [a for a in addresses if a["result"] not in ("skipped", "blocked")]
    shared = [a for a in probed if a.get("shared")]
    rows = [  # (field, got, want)
        ("domains", s.get("domains"), len(records)),
        ("verdicts", s.get("verdicts"), dict(verdicts)),
        ("findings", s.get("findings"), dict(codes)),
        ("failures", s.get("failures"), sum(n for v, n in verdicts.items() if v in CRITICAL)),
        ("warnings", s.get("warnings"), sum(n for v, n in verdicts.items() if v in WARNING)),
        ("run_id", s.get("run_id"), records[0].get("run_id") if records else None),
        ("status", s.get("status"), "ok"),
        ("shard", s.get("shard"), "0/1"),
        ("resumed", s.get("resumed"), 0),
        ("duplicates", s.get("duplicates"), 0),
        ("other_shards", s.get("other_shards"), 0),
        ("in_flight_abandoned", s.get("in_flight_abandoned"), 0),
        # every probed address is a probe of its own or a copy of one
        ("probes_shared", s.get("probes_shared"), len(shared)),
        ("probes", s.get("probes"), len(probed) - len(shared)),
    ]
    for field, got, want in rows:
        check(got == want, "%s --summary: %s %s, want %s" % (what, field, got, want))
    check(len(codes) > 0 and len(shared) > 0,
          "%s: the reference has %d finding codes and %d shared probes to count, want some of each" % (
              what, len(codes), len(shared)))


# ------------------------------------------------- 1. an existing -o FILE

def existing_output():
    path = os.path.join(TMP, "existing.jsonl")
    before = "not a report, and it must stay so\n"
    with open(path, "w") as f:
        f.write(before)
    r = danescan(["--no-probe", "-o", path, "dane-ee.test"])
    check(r.returncode == 3, "existing -o: exit %d, want 3" % r.returncode)
    for option in ("--resume", "--append", "--force"):
        check(option in r.stderr, "existing -o: message does not name %s: %r" % (option, r.stderr))
    check(open(path).read() == before, "existing -o: the file was changed")

    r = danescan(["--no-probe", "--force", "-o", path, "dane-ee.test", "no-tlsa.test"])
    check(r.returncode == 0, "--force: exit %d, want 0; %s" % (r.returncode, r.stderr[-200:]))
    got = [record_key(rec) for rec in read_records(path, "--force")]
    check(sorted(got) == ["dane-ee.test", "no-tlsa.test"], "--force: file holds %s, want the two new records only" % got)
    first = open(path).read()

    r = danescan(["--no-probe", "--append", "-o", path, "null-mx.test"])
    check(r.returncode == 0, "--append: exit %d, want 0; %s" % (r.returncode, r.stderr[-200:]))
    now = open(path).read()
    check(now.startswith(first), "--append: the records already there were changed")
    got = [record_key(rec) for rec in read_records(path, "--append")]
    check(got[2:] == ["null-mx.test"] and len(got) == 3, "--append: file holds %s, want the old two and null-mx.test" % got)

    usage = [  # (options, words the message must have)
        (["--resume", "--append", "-o", path], "exclude each other"),
        (["--force"], "-o FILE"),
        (["--resume", "--format", "text", "-o", path], "--format json"),
        (["--append", "--format", "junit", "-o", path], "one document"),
    ]
    for options, words in usage:
        r = danescan(["--no-probe"] + options + ["dane-ee.test"])
        check(r.returncode == 3 and words in r.stderr, "%s: exit %d, message %r; want 3 and %r" % (
            " ".join(options), r.returncode, r.stderr.strip()[:160], words))
    check(open(path).read() == now, "usage errors changed the output file")


# ---------------------------------------------------------- 2. --resume

def resume(ref):
    lines = open(os.path.join(TMP, "reference.jsonl")).read().splitlines(keepends=True)
    done = 40
    cut = lines[done]
    path = os.path.join(TMP, "crashed.jsonl")
    with open(path, "w") as f:
        # a crash in the middle of writing record done+1
        f.write("".join(lines[:done]) + cut[:len(cut) // 2])
    summary = os.path.join(TMP, "resume-summary.json")
    r = danescan(["--resume", "-f", os.path.join(TMP, "all.txt"), "-o", path, "--summary", summary,
                  "--run-id", "resumed"])
    check(r.returncode == 2, "--resume: exit %d, want 2; stderr %s" % (r.returncode, r.stderr[-300:]))
    check("%d record(s) already in" % done in r.stderr, "--resume: stderr does not say %d records were there: %r" % (
        done, r.stderr[:200]))
    s = json.load(open(summary))
    check(s.get("resumed") == done, "--resume summary: resumed %s, want %d" % (s.get("resumed"), done))
    check(s.get("domains") == len(DOMAINS) - done, "--resume summary: %s scanned, want only the missing %d" % (
        s.get("domains"), len(DOMAINS) - done))
    check(open(path).read().startswith("".join(lines[:done])), "--resume: the complete records were changed")
    records = read_records(path, "--resume")
    check(len(records) == len(DOMAINS), "--resume: %d records, want %d" % (len(records), len(DOMAINS)))
    keyed = by_key(records, "--resume")
    cut_key = record_key(json.loads(cut))
    check(sum(record_key(rec) == cut_key for rec in records) == 1,
          "--resume: %s (the cut line) is not there exactly once" % cut_key)
    check({rec["run_id"] for rec in records[done:]} == {"resumed"},
          "--resume: new records carry run ids %s" % {rec["run_id"] for rec in records[done:]})
    same_records(keyed, ref, "--resume")

    # a finished file: nothing to do, exit 0, not a byte changed
    whole = open(path).read()
    r = danescan(["--resume", "-f", os.path.join(TMP, "all.txt"), "-o", path, "--summary", summary])
    s = json.load(open(summary))
    check(r.returncode == 0 and s.get("domains") == 0 and s.get("resumed") == len(DOMAINS),
          "--resume of a finished file: exit %d, %s scanned, %s resumed; want 0, 0, %d" % (
              r.returncode, s.get("domains"), s.get("resumed"), len(DOMAINS)))
    check(open(path).read() == whole, "--resume of a finished file changed it")

    foreign = [  # (what, content): not the output of an earlier run
        ("text", "hello world\n"),
        ("JSON that is not a report", '{"name": "dane-ee.test"}\n'),
        ("a report of another schema version", '{"schema_version": 2, "domain": "dane-ee.test"}\n'),
        ("a report after a line of text", lines[0] + "hello\n" + lines[1]),
    ]
    for what, content in foreign:
        other = os.path.join(TMP, "foreign.txt")
        with open(other, "w") as f:
            f.write(content)
        r = danescan(["--no-probe", "--resume", "-o", other, "dane-ee.test"])
        check(r.returncode == 3 and "not a danescan JSON report" in r.stderr,
              "--resume of %s: exit %d, message %r; want 3, 'not a danescan JSON report'" % (
                  what, r.returncode, r.stderr.strip()[:160]))
        check(open(other).read() == content, "--resume of %s changed the file" % what)


# ----------------------------------------------------------- 3. shards

def shards(ref):
    n = 3
    run_id = "batch-check-%d" % os.getpid()
    union, placed = {}, {}
    check(shard_of(IDN_ALABEL, n) != shard_of(IDN, n), "the IDN test name no longer tells A-label from UTF-8 hashing")
    for k in range(n):
        out, summary = os.path.join(TMP, "shard%d.jsonl" % k), os.path.join(TMP, "shard%d-summary.json" % k)
        r = danescan(["-f", os.path.join(TMP, "all.txt"), "--shard", "%d/%d" % (k, n), "--run-id", run_id,
                      "-o", out, "--summary", summary])
        what = "--shard %d/%d" % (k, n)
        check(r.returncode in (0, 1, 2), "%s: exit %d; %s" % (what, r.returncode, r.stderr[-200:]))
        records = read_records(out, what)
        want = {key for key in ref if shard_of(key, n) == k}
        got = by_key(records, what)
        check(set(got) == want, "%s: names not hashing here %s, missing %s" % (
            what, sorted(set(got) - want)[:5], sorted(want - set(got))[:5]))
        check({rec.get("shard") for rec in records} == {"%d/%d" % (k, n)},
              "%s: shard fields %s" % (what, {rec.get("shard") for rec in records}))
        check({rec.get("run_id") for rec in records} == {run_id},
              "%s: run ids %s, want %s" % (what, {rec.get("run_id") for rec in records}, run_id))
        s = json.load(open(summary))
        check(s.get("other_shards") == len(DOMAINS) - len(records) and s.get("shard") == "%d/%d" % (k, n),
              "%s summary: other_shards %s, shard %s; want %d, %d/%d" % (
                  what, s.get("other_shards"), s.get("shard"), len(DOMAINS) - len(records), k, n))
        twice = set(union) & set(got)
        check(not twice, "%s: names also in an earlier shard: %s" % (what, sorted(twice)[:5]))
        union.update(got)
        placed.update({key: k for key in got})
    check(placed.get(IDN_ALABEL) == shard_of(IDN_ALABEL, n),
          "shards: %s in shard %s, want %d (its A-label's hash)" % (IDN, placed.get(IDN_ALABEL), shard_of(IDN_ALABEL, n)))
    same_records(union, ref, "union of 3 shards")


def shard_auto(ref):
    n = 3
    names = os.path.join(TMP, "all.txt")
    rows = [  # (what, environment, extra options, shard, run id (None: any))
        ("Slurm array 4-6, task 5",
         {"SLURM_ARRAY_TASK_ID": "5", "SLURM_ARRAY_TASK_MIN": "4", "SLURM_ARRAY_TASK_MAX": "6",
          "SLURM_ARRAY_TASK_COUNT": "3", "SLURM_ARRAY_JOB_ID": "777"}, [], 1, "slurm-777"),
        ("Slurm array 0-2, task 0, --run-id wins",
         {"SLURM_ARRAY_TASK_ID": "0", "SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_MAX": "2",
          "SLURM_ARRAY_TASK_COUNT": "3", "SLURM_ARRAY_JOB_ID": "778"}, ["--run-id", "mine"], 0, "mine"),
        ("Slurm array 0-4:2, task 4",
         {"SLURM_ARRAY_TASK_ID": "4", "SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_MAX": "4",
          "SLURM_ARRAY_TASK_STEP": "2", "SLURM_ARRAY_TASK_COUNT": "3", "SLURM_ARRAY_JOB_ID": "779"},
         [], 2, "slurm-779"),
        ("Slurm array 1,2 re-run with --shard-count 3, task 1",
         {"SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_MIN": "1", "SLURM_ARRAY_TASK_MAX": "2",
          "SLURM_ARRAY_TASK_COUNT": "2", "SLURM_ARRAY_JOB_ID": "780"}, ["--shard-count", "3"], 1,
         "slurm-780"),
        ("Kubernetes Indexed Job, index 2",
         {"JOB_COMPLETION_INDEX": "2"}, ["--shard-count", "3", "--progress"], 2, None),
    ]
    for what, env, extra, k, run_id in rows:
        out = os.path.join(TMP, "auto.jsonl")
        r = danescan(["--no-probe", "--force", "-f", names, "--shard", "auto", "-o", out] + extra, env=env)
        check(r.returncode in (0, 1, 2), "--shard auto (%s): exit %d; %s" % (what, r.returncode, r.stderr[-200:]))
        records = read_records(out, "--shard auto (%s)" % what)
        got = {record_key(rec) for rec in records}
        want = {key for key in ref if shard_of(key, n) == k}
        check(got == want, "--shard auto (%s): names %d, want shard %d's %d; extra %s, missing %s" % (
            what, len(got), k, len(want), sorted(got - want)[:3], sorted(want - got)[:3]))
        check({rec.get("shard") for rec in records} == {"%d/%d" % (k, n)},
              "--shard auto (%s): shard fields %s, want %d/%d" % (what, {rec.get("shard") for rec in records}, k, n))
        ids = {rec.get("run_id") for rec in records}
        check(len(ids) == 1 and (run_id is None or ids == {run_id}),
              "--shard auto (%s): run ids %s, want %s" % (what, ids, run_id or "one"))
        if "--progress" in extra:
            check("\033[K%d/%d domains" % (len(records), len(DOMAINS) // n) in r.stderr,
                  "--progress: no final progress line '%d/%d domains' in %r" % (
                      len(records), len(DOMAINS) // n, r.stderr[-200:]))

    bad = [  # (spec, environment, extra options, words the message must have)
        ("5/3", {}, [], "does not exist"),
        ("3/3", {}, [], "does not exist"),
        ("x", {}, [], "wants K/N"),
        ("1/0", {}, [], "wants K/N"),
        ("-1/3", {}, [], "wants K/N"),
        ("1/3/4", {}, [], "wants K/N"),
        ("auto", {}, [], "neither SLURM_ARRAY_TASK_ID nor JOB_COMPLETION_INDEX"),
        ("auto", {"JOB_COMPLETION_INDEX": "1"}, [], "--shard-count"),
        ("auto", {"JOB_COMPLETION_INDEX": "3"}, ["--shard-count", "3"], "does not exist"),
        ("auto", {"SLURM_ARRAY_TASK_ID": "2"}, [], "SLURM_ARRAY_TASK_COUNT"),
        ("auto", {"SLURM_ARRAY_TASK_ID": "7", "SLURM_ARRAY_TASK_MIN": "4", "SLURM_ARRAY_TASK_MAX": "6",
                  "SLURM_ARRAY_TASK_COUNT": "3"}, [], "does not exist"),
        ("auto", {"SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_MIN": "4", "SLURM_ARRAY_TASK_MAX": "6",
                  "SLURM_ARRAY_TASK_COUNT": "3"}, [], "below"),
        ("auto", {"SLURM_ARRAY_TASK_ID": "5", "SLURM_ARRAY_TASK_MIN": "1", "SLURM_ARRAY_TASK_MAX": "5",
                  "SLURM_ARRAY_TASK_COUNT": "3"}, [], "--shard-count"),
    ]
    for spec, env, extra, words in bad:
        out = os.path.join(TMP, "bad-shard.jsonl")
        r = danescan(["--no-probe", "--shard", spec, "-o", out] + extra + ["dane-ee.test"], env=env)
        check(r.returncode == 3 and words in r.stderr and not os.path.exists(out),
              "--shard %s %s: exit %d, message %r, output written %s; want 3, %r, none" % (
                  spec, env, r.returncode, r.stderr.strip()[:160], os.path.exists(out), words))


# ------------------------------------------------------- 4. duplicates

def duplicates():
    lines = ["dane-ee.test", "DANE-EE.TEST", "# a comment", "", "dane-ee.test.", IDN, IDN_ALABEL,
             "no-tlsa.test", "dane-ee.test", "192.0.2.1", "192.0.2.1"]
    out, summary = os.path.join(TMP, "dups.jsonl"), os.path.join(TMP, "dups-summary.json")
    r = danescan(["--no-probe", "-q", "-f", write_list("dups.txt", lines), "-o", out, "--summary", summary])
    check(r.returncode == 2, "duplicates: exit %d, want 2 (münchen.test does not exist); %s" % (r.returncode, r.stderr[-200:]))
    check(r.stderr == "", "-q: stderr %r, want nothing" % r.stderr[:200])
    got = sorted(record_key(rec) for rec in read_records(out, "duplicates"))
    want = sorted(["dane-ee.test", IDN_ALABEL, "no-tlsa.test", "i:192.0.2.1"])
    check(got == want, "duplicates: records %s, want %s" % (got, want))
    s = json.load(open(summary))
    check(s.get("duplicates") == 5 and s.get("domains") == 4,
          "duplicates summary: duplicates %s, domains %s; want 5, 4 (a refused line repeated is "
          "reported once)" % (s.get("duplicates"), s.get("domains")))


# ---------------------------------------------------------- 6. signals

def slow_domains():
    """Scenarios where an address is expected to time out: a silent or
    dripping server holds them for the whole --timeout."""
    return [s["domain"] for s in CATALOGUE["scenarios"]
            if any(a.get("result") == "timeout" for h in s["expect"].get("hosts", [])
                   for a in h.get("addresses", {}).values())]


def wait_lines(path, n, seconds):
    """Wait until the file at path has n complete lines (or the time is up);
    the number of lines it has."""
    end = time.monotonic() + seconds
    while True:
        have = open(path, "rb").read().count(b"\n") if os.path.exists(path) else 0
        if have >= n or time.monotonic() > end:
            return have
        time.sleep(0.1)


def start(args, err):
    """danescan in the background, stderr to the file err."""
    return subprocess.Popen([DANESCAN] + args, stdout=subprocess.DEVNULL, stderr=open(err, "w"),
                            env=scheduler_free_env())


def interrupt(ref):
    slow = slow_domains()
    quick = ["dane-ee.test", "no-tlsa.test", "null-mx.test", "ta-root.test", "tlsa-mismatch.test",
             "bogus-mx.test", "partial.test", "insecure.test", "does-not-exist.test", IDN]
    keys = {IDN_ALABEL if d == IDN else d for d in slow + quick}
    quick_keys = {IDN_ALABEL if d == IDN else d for d in quick}
    check(len(slow) >= 3, "interrupt: only %d slow scenarios (%s) in the catalogue" % (len(slow), slow))
    names = write_list("interrupt.txt", slow + quick)
    out, err = os.path.join(TMP, "interrupted.jsonl"), os.path.join(TMP, "interrupted.err")
    grace = 1
    args = ["--resolver", os.environ["DANESCAN_RESOLVER"], "--trust-anchor", os.environ["DANESCAN_TRUST_ANCHOR"],
            "--allow-private", "-f", names]
    summary = os.path.join(TMP, "interrupted-summary.json")
    p = start(args + ["-o", out, "--summary", summary, "--timeout", "20", "--grace", str(grace)], err)
    # the signal comes when the quick names are written and the slow ones
    # wait for their 20 s timeouts (so a loaded machine does not change what is cut)
    written = wait_lines(out, len(quick), 15)
    check(written == len(quick), "interrupt: %d records written in 15 s, want the %d quick ones" % (written, len(quick)))
    check(p.poll() is None, "interrupt: the run ended before the signal (exit %s)" % p.returncode)
    sent = time.monotonic()
    p.send_signal(signal.SIGINT)
    try:
        rc = p.wait(timeout=30)
    except subprocess.TimeoutExpired:
        p.kill()
        rc = p.wait()
    took = time.monotonic() - sent
    check(took <= grace + 1.5, "interrupt: ended %.1f s after SIGINT, want within --grace %d s + 1.5 s" % (took, grace))
    check(rc == 3, "interrupt: exit %s, want 3" % rc)
    stderr = open(err).read()
    records = read_records(out, "interrupted")
    got = {record_key(rec) for rec in records}
    check(quick_keys <= got, "interrupt: quick names not written before the signal: %s" % sorted(quick_keys - got))
    check(not got & set(slow), "interrupt: slow names finished before their timeouts: %s" % sorted(got & set(slow)))
    abandoned = len(keys) - len(records)
    check(abandoned > 0 and "%d domain(s) in flight abandoned" % abandoned in stderr,
          "interrupt: stderr does not say %d domain(s) were abandoned: %r" % (abandoned, stderr[-300:]))
    check("--resume" in stderr, "interrupt: stderr does not suggest --resume: %r" % stderr[-300:])
    s = json.load(open(summary))
    check((s.get("status"), s.get("in_flight_abandoned"), s.get("domains")) == ("interrupted", abandoned, len(records)),
          "interrupt --summary: status %s, in_flight_abandoned %s, domains %s; want interrupted, %d, %d" % (
              s.get("status"), s.get("in_flight_abandoned"), s.get("domains"), abandoned, len(records)))

    p = start(args + ["-o", out, "--timeout", "5", "--resume"], err)
    try:
        rc = p.wait(timeout=120)
    except subprocess.TimeoutExpired:
        p.kill()
        rc = p.wait()
    check(rc == 1, "interrupt, then --resume: exit %s, want 1 (the slow names are dane-incomplete)" % rc)
    keyed = by_key(read_records(out, "interrupted, then resumed"), "interrupted, then resumed")
    same_records(keyed, {k: ref[k] for k in keys}, "interrupted, then resumed")

    # a second signal: no more grace
    out2, err2 = os.path.join(TMP, "interrupted-twice.jsonl"), os.path.join(TMP, "interrupted-twice.err")
    p = start(args + ["-o", out2, "--timeout", "20", "--grace", "30"], err2)
    wait_lines(out2, len(quick), 15)
    p.send_signal(signal.SIGINT)
    time.sleep(1)
    check(p.poll() is None, "interrupt twice: the first SIGINT ended the run despite --grace 30 (exit %s)" % p.returncode)
    sent = time.monotonic()
    p.send_signal(signal.SIGINT)
    try:
        rc = p.wait(timeout=30)
    except subprocess.TimeoutExpired:
        p.kill()
        rc = p.wait()
    took = time.monotonic() - sent
    check(took <= 1.0 and rc == 3, "interrupt twice: exit %s %.1f s after the second SIGINT, want 3 within 1 s" % (rc, took))
    read_records(out2, "interrupted twice")


def main():
    # the published FNV-1a test vectors: this hash is the documented one
    for text, want in (("", 0xcbf29ce484222325), ("a", 0xaf63dc4c8601ec8c), ("foobar", 0x85944171f73967e8)):
        check(fnv1a64(text) == want, "fnv1a64(%r) = %#x, want %#x" % (text, fnv1a64(text), want))
    ref = reference()
    existing_output()
    resume(ref)
    shards(ref)
    shard_auto(ref)
    duplicates()
    interrupt(ref)
    print("%d passed, %d failed" % (passed, failed))
    if failed:
        print("files kept in " + TMP)
        return 1
    shutil.rmtree(TMP)
    return 0


if __name__ == "__main__":
    sys.exit(main())
