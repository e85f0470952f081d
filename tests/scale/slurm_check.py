#!/usr/bin/python3
"""A 4-task Slurm job array over the fixture world equals one process.

Run inside the world, as root, with Debian's Slurm and MUNGE installed
(tests/scale/install-deps):

    fixtures/world run -- tests/scale/slurm_check.py DANESCAN

It starts a private one-node Slurm on loopback: munged with its own key
and socket, slurmctld and slurmd in the foreground with a slurm.conf of
its own (free ports on 127.0.0.1, state under a temporary directory,
proctrack/linuxproc, task/none, no accounting).  Every daemon runs under
timeout(1) and dies with this script (PR_SET_PDEATHSIG), so nothing
outlives the test even when it is killed.  Then

1. sbatch --wait --array=0-3 contrib/slurm/danescan-array.sbatch over
   every catalogue domain: each task runs danescan --shard auto;
2. the four JSON Lines files are merged with the commands docs/scale.md
   gives (cat, jq, sort): every line once, byte for byte, sorted;
3. every record is whole JSON, valid by report/schema.json, carries
   run_id slurm-<array job id> and shard K/4 where K is its task and its
   name's 64-bit FNV-1a hash mod 4; no name is in two shards;
4. the merge equals one danescan process over the same list, record for
   record (timings, TTLs and shared-probe marks aside).

Exit 77 (skipped) when Slurm, MUNGE or jq is not installed.  Prints
"N passed, N failed"; exit status 1 when anything failed.
"""

import ctypes
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import jsonschema

HERE = os.path.dirname(os.path.abspath(__file__))
DANESCAN = os.path.abspath(sys.argv[1])
SBATCH_SCRIPT = os.path.join(HERE, "..", "..", "contrib", "slurm", "danescan-array.sbatch")
CATALOGUE = json.load(open(os.environ["DANESCAN_SCENARIOS"]))
OPTS = ["--resolver", os.environ["DANESCAN_RESOLVER"], "--trust-anchor", os.environ["DANESCAN_TRUST_ANCHOR"],
        "--allow-private", "--timeout", "5"]
SCHEMA = jsonschema.Draft202012Validator(json.load(open(os.path.join(HERE, "..", "..", "report", "schema.json"))))
TASKS = 4
LIFETIME = 600           # seconds any daemon may live, whatever happens to this script
TOOLS = ["munged", "munge", "unmunge", "slurmctld", "slurmd", "sbatch", "sinfo", "squeue", "scancel", "scontrol", "jq"]
SCALE_MD = os.path.join(HERE, "..", "..", "docs", "scale.md")
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


def fnv1a64(text):
    h = 0xcbf29ce484222325
    for byte in text.encode():
        h = ((h ^ byte) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h


def stable(value):
    """A record without what changes between two scans (a finding's
    message may quote a TTL the resolver's cache counts down)."""
    if isinstance(value, dict):
        return {k: re.sub(r"[0-9]+", "#", v) if k == "message" else stable(v)
                for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [stable(v) for v in value]
    return value


def record_key(rec):
    return rec["domain"] if "domain" in rec else "i:" + rec.get("input", "")


def by_key(records):
    keyed = {}
    for rec in records:
        check(record_key(rec) not in keyed, "%s twice in the merge" % record_key(rec))
        keyed[record_key(rec)] = rec
    return keyed


# ------------------------------------------------------------ the cluster

def die_with_parent():
    """In the child: SIGTERM when this script ends, however it ends."""
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def memory_mb():
    for line in open("/proc/meminfo"):
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) // 1024 * 9 // 10
    return 1024


class Cluster:
    """munged + slurmctld + slurmd of our own, under a temporary directory."""

    def __init__(self, top):
        self.top = top
        self.procs = []
        self.conf = os.path.join(top, "slurm.conf")
        self.sock = os.path.join(top, "munge", "munge.socket")
        self.env = dict(os.environ, SLURM_CONF=self.conf)
        for var in [v for v in self.env if v.startswith("SLURM_") and v != "SLURM_CONF"]:
            del self.env[var]

    def spawn(self, name, argv):
        log = open(os.path.join(self.top, name + ".out"), "w")
        p = subprocess.Popen(["timeout", "-k", "5", str(LIFETIME)] + argv, stdout=log, stderr=subprocess.STDOUT,
                             env=self.env, preexec_fn=die_with_parent, start_new_session=True)
        self.procs.append((name, p))
        return p

    def wait_for(self, what, test, seconds):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            for name, p in self.procs:
                if p.poll() is not None:
                    raise RuntimeError("%s exited (%s) while waiting for %s; see %s/%s.out" % (
                        name, p.returncode, what, self.top, name))
            if test():
                return
            time.sleep(0.2)
        raise RuntimeError("%s not ready in %d s; logs in %s" % (what, seconds, self.top))

    def start(self):
        munge_dir = os.path.join(self.top, "munge")
        os.makedirs(munge_dir, mode=0o711)   # munged: the socket directory must be searchable by all
        key = os.path.join(munge_dir, "munge.key")
        fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o400)
        os.write(fd, os.urandom(1024))
        os.close(fd)
        self.spawn("munged", ["munged", "--foreground", "--socket", self.sock, "--key-file", key,
                              "--pid-file", os.path.join(munge_dir, "munged.pid"),
                              "--log-file", os.path.join(munge_dir, "munged.log"),
                              "--seed-file", os.path.join(munge_dir, "munged.seed")])
        self.wait_for("munged", lambda: os.path.exists(self.sock), 20)
        cred = subprocess.run(["munge", "--socket", self.sock, "--no-input"], capture_output=True, timeout=10)
        back = subprocess.run(["unmunge", "--socket", self.sock], input=cred.stdout, capture_output=True, timeout=10)
        if back.returncode != 0:
            raise RuntimeError("munge credential does not decode: %s" % back.stderr.decode()[-300:])

        for d in ("state", "spool"):
            os.makedirs(os.path.join(self.top, d), mode=0o700)
        with open(self.conf, "w") as f:
            f.write(self.config())
        self.spawn("slurmctld", ["slurmctld", "-D", "-f", self.conf])
        self.spawn("slurmd", ["slurmd", "-D", "-N", "localhost", "-f", self.conf])

        def node_idle():
            r = subprocess.run(["sinfo", "-h", "-N", "-o", "%T"], capture_output=True, text=True, env=self.env,
                               timeout=10)
            return r.returncode == 0 and r.stdout.strip() == "idle"
        self.wait_for("the node idle in sinfo", node_idle, 60)

    def config(self):
        t = self.top
        return "\n".join([
            "# a private one-node Slurm for tests/scale/slurm_check.py",
            "ClusterName=danescan-scale",
            "SlurmctldHost=localhost(127.0.0.1)",
            "SlurmctldPort=%d" % free_port(),
            "SlurmdPort=%d" % free_port(),
            "SlurmUser=root",
            "SlurmdUser=root",
            "AuthType=auth/munge",
            "CredType=cred/munge",
            "AuthInfo=socket=%s" % self.sock,
            "StateSaveLocation=%s/state" % t,
            "SlurmdSpoolDir=%s/spool" % t,
            "SlurmctldPidFile=%s/slurmctld.pid" % t,
            "SlurmdPidFile=%s/slurmd.pid" % t,
            "SlurmctldLogFile=%s/slurmctld.log" % t,
            "SlurmdLogFile=%s/slurmd.log" % t,
            "ProctrackType=proctrack/linuxproc",
            "TaskPlugin=task/none",
            "SelectType=select/cons_tres",
            "SelectTypeParameters=CR_CPU",
            "SchedulerType=sched/builtin",
            "JobAcctGatherType=jobacct_gather/none",
            "AccountingStorageType=accounting_storage/none",
            "JobCompType=jobcomp/none",
            "MpiDefault=none",
            "ReturnToService=2",
            "KillWait=10",
            "MinJobAge=600",
            "NodeName=localhost NodeAddr=127.0.0.1 CPUs=%d RealMemory=%d State=UNKNOWN" % (
                os.cpu_count() or 1, memory_mb()),
            "PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP",
            ""])

    def stop(self):
        """Cancel every job, then stop the daemons: slurmd and slurmctld
        first, munged last (they talk to it until the end)."""
        if os.path.exists(self.conf) and any(n == "slurmctld" and p.poll() is None for n, p in self.procs):
            subprocess.run(["scancel", "--full", "--user=root"], env=self.env, capture_output=True, timeout=20)
            end = time.monotonic() + 20
            while time.monotonic() < end:
                r = subprocess.run(["squeue", "-h"], env=self.env, capture_output=True, text=True, timeout=10)
                if r.returncode != 0 or not r.stdout.strip():
                    break
                time.sleep(0.5)
        for name, p in reversed(self.procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        # slurmstepd (one per job step) belongs to no daemon we started:
        # ours are those that read our slurm.conf
        for pid in stepds(self.conf):
            os.kill(pid, signal.SIGKILL)


def stepds(conf):
    """Process ids of slurmstepd processes started for our cluster."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if not open("/proc/%s/cmdline" % pid, "rb").read().startswith(b"slurmstepd"):
                continue
            if ("SLURM_CONF=" + conf).encode() in open("/proc/%s/environ" % pid, "rb").read().split(b"\0"):
                found.append(int(pid))
        except OSError:
            continue
    return found


# ------------------------------------------------------------ the checks

def read_jsonl(path, what):
    data = open(path, "rb").read()
    problems = [] if not data or data.endswith(b"\n") else ["last line unfinished"]
    records = []
    for n, line in enumerate(data.decode().splitlines(), 1):
        try:
            rec = json.loads(line)
        except ValueError as e:
            problems.append("line %d not JSON: %s" % (n, e))
            continue
        errors = [e.message for e in SCHEMA.iter_errors(rec)]
        if errors:
            problems.append("line %d not valid by the schema: %s" % (n, errors[:2]))
        records.append(rec)
    check(not problems, "%s: %s" % (what, problems[:3]))
    return records


def run_array(cluster, work, listing):
    env = dict(cluster.env, DANESCAN=DANESCAN, DANESCAN_LIST=listing, DANESCAN_OUT=os.path.join(work, "results"),
               DANESCAN_OPTS=" ".join(OPTS))
    started = time.monotonic()
    r = subprocess.run(["sbatch", "--wait", "--parsable", "--array=0-%d" % (TASKS - 1), "--mem=100M",
                        "--chdir", work, SBATCH_SCRIPT], capture_output=True, text=True, env=env, timeout=300,
                       preexec_fn=die_with_parent)
    took = time.monotonic() - started
    job = r.stdout.strip().split(";")[0]
    logs = "".join(open(os.path.join(work, f)).read() for f in sorted(os.listdir(work)) if f.endswith(".log"))
    check(r.returncode == 0 and job.isdigit(), "sbatch --wait: exit %d, job %r, want 0 and a job id; %s%s" % (
        r.returncode, job, r.stderr[-300:], logs[-500:]))
    print("job array %s: %d tasks in %.1f s" % (job, TASKS, took))
    return job


def merge_recipe():
    """The shell commands docs/scale.md gives for merging the shards."""
    blocks = re.findall(r"```sh\n(.*?)```", open(SCALE_MD).read(), re.S)
    return next((b for b in blocks if "results/shard-*.jsonl > all.jsonl" in b), None)


def doc_has_script():
    """docs/scale.md shows the batch script in full: the same bytes."""
    blocks = re.findall(r"```sh\n(.*?)```", open(SCALE_MD).read(), re.S)
    check(open(SBATCH_SCRIPT).read() in blocks, "docs/scale.md does not show %s as it is" % SBATCH_SCRIPT)


def merge(work):
    """Run docs/scale.md's merge in work/: merged.jsonl must hold every
    line of the shards, byte for byte, once, sorted by run id and domain."""
    recipe = merge_recipe()
    if not check(recipe is not None, "docs/scale.md has no merge recipe (cat results/shard-*.jsonl > all.jsonl ...)"):
        return []
    r = subprocess.run(["sh", "-e", "-c", recipe], cwd=work, capture_output=True, text=True, timeout=120)
    check(r.returncode == 0, "the merge of docs/scale.md: exit %d; %s" % (r.returncode, r.stderr[-300:]))
    shard_lines = [line for k in range(TASKS) if os.path.exists(os.path.join(work, "results", "shard-%d.jsonl" % k))
                   for line in open(os.path.join(work, "results", "shard-%d.jsonl" % k))]
    merged_lines = open(os.path.join(work, "merged.jsonl")).readlines()
    check(sorted(merged_lines) == sorted(shard_lines), "merged.jsonl: %d lines, the shards %d; not the same lines" % (
        len(merged_lines), len(shard_lines)))
    records = read_jsonl(os.path.join(work, "merged.jsonl"), "merged.jsonl")
    # the recipe's sort key: run id, then domain or "input:" and the input line
    keys = [(rec.get("run_id"), rec["domain"] if "domain" in rec else "input:" + rec["input"]) for rec in records]
    check(keys == sorted(keys), "merged.jsonl is not sorted by run id and domain: %s" % [
        k for k, after in zip(keys, keys[1:]) if k > after][:3])
    return records


def compare(work, job, listing):
    results = os.path.join(work, "results")
    seen = {}
    for k in range(TASKS):
        path = os.path.join(results, "shard-%d.jsonl" % k)
        if not check(os.path.exists(path), "task %d wrote no %s" % (k, path)):
            continue
        records = read_jsonl(path, "task %d" % k)
        summary = json.load(open(os.path.join(results, "summary-%d.json" % k)))
        rows = [  # (what, got, want)
            ("summary status", summary.get("status"), "ok"),
            ("summary shard", summary.get("shard"), "%d/%d" % (k, TASKS)),
            ("summary run_id", summary.get("run_id"), "slurm-" + job),
            ("summary domains", summary.get("domains"), len(records)),
            ("shard fields", sorted({r.get("shard") for r in records}), ["%d/%d" % (k, TASKS)]),
            ("run ids", sorted({r.get("run_id") for r in records}), ["slurm-" + job]),
            ("names not hashing to this task", sorted(record_key(r) for r in records
                                                      if fnv1a64(record_key(r)) % TASKS != k), []),
        ]
        for what, got, want in rows:
            check(got == want, "task %d: %s %s, want %s" % (k, what, got, want))
        for rec in records:
            key = record_key(rec)
            check(key not in seen, "%s in task %d and task %s" % (key, k, seen.get(key)))
            seen[key] = k

    merged = by_key(merge(work))
    single_out = os.path.join(work, "single.jsonl")
    r = subprocess.run([DANESCAN] + OPTS + ["-f", listing, "-o", single_out, "-q"], capture_output=True, text=True,
                       timeout=300, env={k: v for k, v in os.environ.items() if not k.startswith("SLURM_")})
    check(r.returncode in (0, 1, 2), "one-process run: exit %d; %s" % (r.returncode, r.stderr[-300:]))
    single = by_key(read_jsonl(single_out, "one process"))
    check(len(single) == len(CATALOGUE["scenarios"]), "one process: %d records, want %d" % (
        len(single), len(CATALOGUE["scenarios"])))
    check(sorted(merged) == sorted(single), "merged shards: %d names, one process %d; missing %s, extra %s" % (
        len(merged), len(single), sorted(set(single) - set(merged))[:5], sorted(set(merged) - set(single))[:5]))
    differ = [k for k in sorted(set(merged) & set(single)) if stable(merged[k]) != stable(single[k])]
    for k in differ:
        g, w = stable(merged[k]), stable(single[k])
        check(False, "merged shards: %s differs from the one-process run in %s" % (
            k, [f for f in sorted(set(g) | set(w)) if g.get(f) != w.get(f)]))
    print("merged %d records from %d tasks; %d equal the one-process run" % (
        len(merged), TASKS, len(set(merged) & set(single)) - len(differ)))


def main():
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if missing:
        print("skipped: %s not installed (tests/scale/install-deps)" % ", ".join(missing))
        return 77
    if os.geteuid() != 0:
        print("skipped: the private Slurm runs as root")
        return 77
    # a harness's SIGTERM must still tear the cluster down
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    top = tempfile.mkdtemp(prefix="danescan-slurm-")
    os.chmod(top, 0o755)
    cluster = Cluster(os.path.join(top, "cluster"))
    os.makedirs(cluster.top, mode=0o755)
    work = os.path.join(top, "work")
    os.makedirs(work)
    listing = os.path.join(work, "domains.txt")
    with open(listing, "w") as f:
        f.write("".join(s["domain"] + "\n" for s in CATALOGUE["scenarios"]))
    started = time.monotonic()
    doc_has_script()
    try:
        cluster.start()
        print("cluster up in %.1f s" % (time.monotonic() - started))
        job = run_array(cluster, work, listing)
        compare(work, job, listing)
    except (RuntimeError, subprocess.TimeoutExpired) as e:
        check(False, str(e))
    finally:
        cluster.stop()
        left = [name for name, p in cluster.procs if p.poll() is None] + ["slurmstepd %d" % pid
                                                                          for pid in stepds(cluster.conf)]
        check(not left, "still running after the teardown: %s" % left)
    print("%d passed, %d failed (%.1f s)" % (passed, failed, time.monotonic() - started))
    if failed:
        print("files kept in " + top)
        return 1
    shutil.rmtree(top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
