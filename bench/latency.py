"""Network namespaces and an emulated round-trip time for the benchmarks.

bench/run, bench/netem and bench/memory run the bench world (NSD, Unbound
and Postfix on 127.54.x and 127.26.x) and danescan in a network namespace
of their own, so that neither their addresses nor a delay on their loopback
touch anything else on the machine: not the fixture world, not another
bench run, not the host.

    SCRIPT ARGS                  outside: checks, catalogue, delay line binary
      unshare -n SCRIPT --in-netns ARGS        lo up
        bench/world run -- SCRIPT --inside ARGS     the measurements

The delay.  `tc qdisc add dev lo root netem delay 25ms` in the namespace is
the obvious way, but this VM's kernel has no sch_netem (CONFIG_NET_SCH_NETEM
is not set and there are no modules; check_support() says so), and netem on
lo would also delay the resolver's queries to its authoritative servers,
which makes round trips per domain hard to count.  So every packet leaving
lo goes to an NFQUEUE (iptables, in the namespace only) and bench/delayq.c,
a small user-space delay line, accepts each one RTT/2 after it came.  A
request and its answer each cross lo once: RTT in all.  The kernel parts
(nfnetlink_queue, xt_NFQUEUE) are in every distribution kernel.

Scopes: 'client' (default) delays everything but the resolver's traffic
with its authoritative servers: danescan (and posttls-finger) see RTT to the
resolver and to every MX address, while the resolver's cache misses cost
nothing extra -- every DNS lookup is one round trip, as with a warm cache
of a resolver RTT away.  'all' delays that traffic too (netem on lo).
"""

import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
QUEUE = 0


def log(msg):
    print("bench: " + msg, file=sys.stderr, flush=True)


def iptables():
    for name in ("iptables-legacy", "iptables"):
        path = shutil.which(name)
        if path:
            return path
    return None


def check_support():
    """What this kernel and host offer, checked in a throwaway namespace."""
    out = {"netem": False, "nfqueue": False, "iptables": iptables(), "tc": shutil.which("tc")}
    if out["tc"]:
        r = subprocess.run(["unshare", "-n", "sh", "-c", "ip link set lo up && tc qdisc add dev lo root netem "
                            "delay 1ms"], capture_output=True, text=True)
        out["netem"] = r.returncode == 0
        out["netem_error"] = r.stderr.strip()
    if out["iptables"]:
        r = subprocess.run(["unshare", "-n", out["iptables"], "-A", "OUTPUT", "-o", "lo", "-j", "NFQUEUE",
                            "--queue-num", str(QUEUE)], capture_output=True, text=True)
        out["nfqueue"] = r.returncode == 0
        out["nfqueue_error"] = r.stderr.strip()
    return out


def require_support():
    s = check_support()
    log("kernel: sch_netem %s; NFQUEUE %s (%s)" % (
        "available" if s["netem"] else "not available (%s)" % (s.get("netem_error") or "no tc"),
        "available" if s["nfqueue"] else "NOT available", s["iptables"] or "no iptables"))
    if not s["nfqueue"]:
        sys.exit("bench: the delay line needs iptables with the NFQUEUE target "
                 "(apt-get install iptables; kernel: NETFILTER_NETLINK_QUEUE, NETFILTER_XT_TARGET_NFQUEUE)")
    return s


def build_delayq(state):
    """Compile bench/delayq.c into the state directory (when it changed)."""
    src = os.path.join(HERE, "delayq.c")
    out = os.path.join(state, "delayq")
    if not os.path.exists(out) or os.path.getmtime(out) < os.path.getmtime(src):
        cc = os.environ.get("CC", "cc")
        subprocess.run([cc, "-std=c11", "-D_GNU_SOURCE", "-O2", "-Wall", "-Wextra", "-o", out, src], check=True)
    return out


def run_in_netns(script, argv, env):
    """Outside: the rest of the benchmark in a new network namespace."""
    return subprocess.run(["unshare", "-n", "--", sys.executable, script, "--in-netns"] + argv, env=env).returncode


def in_netns(script, argv, world_tool, env):
    """In the new namespace: loopback up, then the world and the measurements."""
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    return subprocess.run([world_tool, "run", "--", sys.executable, script, "--inside"] + argv,
                          env=env).returncode


class DelayLine:
    """bench/delayq plus the iptables rules that feed it, in this namespace."""

    def __init__(self, binary, state, resolver, authoritative_prefix="127.54.0.0/24", scope="client"):
        self.binary, self.state = binary, state
        self.resolver, self.auth = resolver, authoritative_prefix
        self.scope = scope
        self.proc = None
        self.rtt_ms = 0.0
        self.ipt = iptables()
        self.rules_on = False

    def rules(self):
        spare = []
        if self.scope == "client":
            spare = [["-s", self.resolver, "-d", self.auth, "-j", "ACCEPT"],
                     ["-s", self.auth, "-d", self.resolver, "-j", "ACCEPT"]]
        return spare + [["-j", "NFQUEUE", "--queue-num", str(QUEUE)]]

    def start(self, rtt_ms):
        self.rtt_ms = rtt_ms
        stats = os.path.join(self.state, "delayq-stats.json")
        if os.path.exists(stats):
            os.unlink(stats)
        self.proc = subprocess.Popen([self.binary, str(QUEUE), str(int(rtt_ms * 1000 / 2)), stats],
                                     stdout=subprocess.PIPE, text=True)
        if self.proc.stdout.readline().strip() != "ready":
            self.proc.wait()
            raise SystemExit("bench: the delay line did not start")
        self.resume()

    def pause(self):
        """No delay (the rules go; held packets leave on time)."""
        if self.rules_on:
            subprocess.run([self.ipt, "-F", "OUTPUT"], check=True)
            self.rules_on = False

    def resume(self):
        if not self.rules_on:
            for r in self.rules():
                subprocess.run([self.ipt, "-A", "OUTPUT", "-o", "lo"] + r, check=True)
            self.rules_on = True

    def kernel_counters(self):
        """The kernel's view of the queue: packets held now, dropped (queue
        full), dropped (our socket buffer full)."""
        try:
            with open("/proc/net/netfilter/nfnetlink_queue") as f:
                for line in f:
                    x = line.split()
                    if x and int(x[0]) == QUEUE:
                        return {"held": int(x[2]), "queue_dropped": int(x[5]), "user_dropped": int(x[6]),
                                "ids": int(x[7])}
        except (OSError, ValueError, IndexError):
            pass
        return {}

    def stop(self):
        out = {"rtt_ms": self.rtt_ms, "scope": self.scope}
        out.update(self.kernel_counters())
        self.pause()
        if self.proc:
            self.proc.terminate()
            self.proc.wait(timeout=30)
            self.proc = None
            try:
                with open(os.path.join(self.state, "delayq-stats.json")) as f:
                    out["delayq"] = json.load(f)
            except (OSError, ValueError):
                pass
        return out


def measured_rtt(address, port=25, tries=5):
    """Median TCP connect time to address (one round trip), in ms."""
    times = []
    for _ in range(tries):
        t0 = time.monotonic()
        try:
            with socket.create_connection((address, port), timeout=5):
                times.append(1000 * (time.monotonic() - t0))
        except OSError:
            pass
    return statistics.median(times) if times else None


def measured_dns_rtt(resolver, tries=5):
    """Median time of a cached DNS query to the resolver, in ms."""
    import dns.message
    import dns.query
    times = []
    for _ in range(tries):
        q = dns.message.make_query("test.", "SOA", want_dnssec=True)
        t0 = time.monotonic()
        try:
            dns.query.udp(q, resolver, timeout=5)
            times.append(1000 * (time.monotonic() - t0))
        except Exception:
            pass
    return statistics.median(times) if times else None


def load_bench_run():
    """bench/run as a module, for its world helpers and measurements."""
    import importlib.machinery
    import importlib.util
    loader = importlib.machinery.SourceFileLoader("bench_run", os.path.join(HERE, "run"))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


class RssSampler:
    """A watch hook for bench/run's measure(): VmRSS and VmHWM of the
    process every `period` seconds until it ends, with how far it got:
    lines read from `input` (the offset of its open input file divided by
    `line_bytes`, for a list of names of one length) and lines written to
    `output`."""

    def __init__(self, input_path=None, line_bytes=0, output=None, period=0.1):
        self.input_path, self.line_bytes, self.output = input_path, line_bytes, output
        self.period = period
        self.samples = []       # (seconds, rss_kb, hwm_kb, lines_read, lines_written)
        self._written, self._offset, self._fd = 0, 0, None
        self._ends = None       # offsets just past each line, when lines differ in length
        if input_path and not line_bytes:
            self._ends, at = [], 0
            with open(input_path, "rb") as f:
                for raw in f:
                    at += len(raw)
                    self._ends.append(at)

    def __call__(self, pid):
        import threading
        stop = threading.Event()
        thread = threading.Thread(target=self._run, args=(pid, stop, time.monotonic()), daemon=True)
        thread.start()

        def unwatch():
            stop.set()
            thread.join()
        return unwatch

    def _lines_read(self, pid):
        """Lines read so far (stdio reads ahead: a few KB more than used)."""
        if not self.input_path:
            return 0
        try:
            if self._fd is None:
                for fd in os.listdir("/proc/%d/fd" % pid):
                    if os.readlink("/proc/%d/fd/%s" % (pid, fd)) == self.input_path:
                        self._fd = fd
                        break
            if self._fd is None:
                return 0
            with open("/proc/%d/fdinfo/%s" % (pid, self._fd)) as f:
                pos = int(f.readline().split()[1])
            if self.line_bytes:
                return pos // self.line_bytes
            import bisect
            return bisect.bisect_right(self._ends, pos)
        except (OSError, ValueError, IndexError):
            return 0

    def _lines_written(self):
        if not self.output:
            return 0
        try:
            with open(self.output, "rb") as f:
                f.seek(self._offset)
                data = f.read()
        except OSError:
            return self._written
        cut = data.rfind(b"\n") + 1
        self._written += data.count(b"\n", 0, cut)
        self._offset += cut
        return self._written

    def _run(self, pid, stop, t0):
        while not stop.is_set():
            try:
                with open("/proc/%d/status" % pid) as f:
                    fields = dict(l.split(":", 1) for l in f if l.startswith(("VmRSS", "VmHWM")))
                rss, hwm = int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])
            except (OSError, KeyError, ValueError):
                break
            self.samples.append((time.monotonic() - t0, rss, hwm, self._lines_read(pid), self._lines_written()))
            stop.wait(self.period)
