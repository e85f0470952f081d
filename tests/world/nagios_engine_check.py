#!/usr/bin/python3
"""check_dane run by a real monitoring engine: Debian's Nagios 4.

Run inside the world:

    fixtures/world run -- tests/world/nagios_engine_check.py CHECK_DANE

A private Nagios instance (its own nagios.cfg, object files, state and
spool directories in a temporary directory; no system service, nothing
under /etc or /var) loads contrib/nagios/check_dane.cfg as its command
definitions, with $USER1$ pointing at the check_dane under test, and gets
one service per case against fixture-world domains.  Every check is
forced through the engine's external command pipe; the test then reads
the service states the engine concluded from its status.dat (not from
the plugin): current_state, plugin_output, long output and the
performance data the engine parsed.  Nagios runs under `timeout`, in its
own process group, and is stopped at the end whatever happens: the whole
test is bounded well under two minutes.

Prints "N passed, N failed"; exit status 1 when anything failed.
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

CHECK_DANE = os.path.abspath(sys.argv[1])
RESOLVER = os.environ["DANESCAN_RESOLVER"]
ANCHOR = os.environ["DANESCAN_TRUST_ANCHOR"]
HERE = os.path.dirname(os.path.abspath(__file__))
COMMANDS = os.path.join(HERE, "..", "..", "contrib", "nagios", "check_dane.cfg")
NAGIOS = "/usr/sbin/nagios4"
HOST = "fixture-world"
ENGINE_LIMIT = 100          # seconds; `timeout` kills the engine after that
WAIT_FOR_RESULTS = 60

WORLD = "--resolver %s --trust-anchor %s --allow-private" % (RESOLVER, ANCHOR)
STATE_NAMES = {0: "OK", 1: "WARNING", 2: "CRITICAL", 3: "UNKNOWN"}

# service description, check_command, wanted state, status line pattern
SERVICES = [
    ("dane-ee", "check_dane!dane-ee.test!-w 30 -c 14 " + WORLD, 0, r"^DANE OK - dane-ee\.test: DANE valid"),
    ("partial", "check_dane!partial.test!" + WORLD, 1, r"^DANE WARNING - partial\.test: DANE partial"),
    ("tlsa-mismatch", "check_dane!tlsa-mismatch.test!" + WORLD, 2,
     r"^DANE CRITICAL - tlsa-mismatch\.test: DANE invalid: .*tlsa-mismatch"),
    ("bogus-mx", "check_dane!bogus-mx.test!" + WORLD, 2, r"^DANE CRITICAL - bogus-mx\.test: DNSSEC bogus"),
    ("no-tlsa", "check_dane!no-tlsa.test!" + WORLD, 0, r"^DANE OK - no-tlsa\.test: no DANE$"),
    ("no-tlsa required", "check_dane!no-tlsa.test!--require-dane " + WORLD, 2,
     r"^DANE CRITICAL - no-tlsa\.test: no DANE \(DANE is required\)"),
    ("dane-ee-expired", "check_dane!dane-ee-expired.test!-w 400 " + WORLD, 1,
     r"^DANE WARNING - dane-ee-expired\.test: certificate of .* expired"),
    ("incomplete", "check_dane!incomplete.test!" + WORLD, 1, r"^DANE WARNING - incomplete\.test: DANE incomplete"),
    ("null-mx", "check_dane!null-mx.test!" + WORLD, 0, r"^DANE OK - null-mx\.test: null MX"),
    ("usage error", "check_dane!dane-ee.test!-w nonsense " + WORLD, 3, r"^DANE UNKNOWN - -w: "),
    ("resolver cannot validate", "check_dane!dane-ee.test!--resolver %s --trust-ad --allow-private" %
     "127.53.0.1", 3, r"^DANE UNKNOWN - the resolver cannot validate"),
]
# the host's name is the mail domain
HOST_SERVICE = ("dane (host name)", "check_dane_host!" + WORLD, 0, r"^DANE OK - dane-ee\.test: DANE valid")

passed = failed = 0


def check(cond, what):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print("  FAIL " + what)
    return cond


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


def configure(d):
    os.makedirs(os.path.join(d, "checkresults"))
    os.makedirs(os.path.join(d, "archives"))
    write(os.path.join(d, "resource.cfg"), "$USER1$=%s\n" % os.path.dirname(CHECK_DANE))
    write(os.path.join(d, "nagios.cfg"), "\n".join([
        "log_file=%s/nagios.log" % d,
        "cfg_file=%s" % os.path.abspath(COMMANDS),
        "cfg_file=%s/objects.cfg" % d,
        "object_cache_file=%s/objects.cache" % d,
        "precached_object_file=%s/objects.precache" % d,
        "resource_file=%s/resource.cfg" % d,
        "status_file=%s/status.dat" % d,
        "status_update_interval=1",
        # a private instance as root: no user switch, nothing outside d
        "nagios_user=root",
        "nagios_group=root",
        "check_external_commands=1",
        "command_file=%s/nagios.cmd" % d,
        "lock_file=%s/nagios.pid" % d,
        "temp_file=%s/nagios.tmp" % d,
        "temp_path=%s" % d,
        "check_result_path=%s/checkresults" % d,
        "query_socket=%s/nagios.qh" % d,
        "log_archive_path=%s/archives" % d,
        "log_rotation_method=n",
        "use_syslog=0",
        "retain_state_information=0",
        "state_retention_file=%s/retention.dat" % d,
        "enable_notifications=0",
        "enable_event_handlers=0",
        "enable_flap_detection=0",
        "execute_service_checks=1",
        "execute_host_checks=0",
        "check_for_updates=0",
        "bare_update_check=1",
        "interval_length=1",
        "service_inter_check_delay_method=n",
        "max_service_check_spread=1",
        "check_result_reaper_frequency=1",
        "max_check_result_reaper_time=5",
        "service_check_timeout=30",
        "max_concurrent_checks=0",
        "process_performance_data=0",
        "illegal_macro_output_chars=`~$&|'\"<>",
        "debug_level=0",
        "debug_file=%s/debug.log" % d,
        "",
    ]))
    objects = [
        "define timeperiod {\n  timeperiod_name always\n  alias always\n" +
        "".join("  %s 00:00-24:00\n" % day for day in
                ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")) + "}\n",
        "define command {\n  command_name notify-nobody\n  command_line /bin/true\n}\n",
        "define contact {\n  contact_name nobody\n  service_notification_period always\n"
        "  host_notification_period always\n  service_notification_options n\n"
        "  host_notification_options n\n  service_notification_commands notify-nobody\n"
        "  host_notification_commands notify-nobody\n}\n",
        "define host {\n  host_name %s\n  alias the fixture world\n  address 127.0.0.1\n"
        "  max_check_attempts 1\n  check_period always\n  contacts nobody\n"
        "  notification_period always\n  active_checks_enabled 0\n}\n" % HOST,
        # the host-name variant: the host is the mail domain
        "define host {\n  host_name dane-ee.test\n  alias a mail domain\n  address 127.0.0.1\n"
        "  max_check_attempts 1\n  check_period always\n  contacts nobody\n"
        "  notification_period always\n  active_checks_enabled 0\n}\n",
    ]
    for desc, command, _, _ in SERVICES + [HOST_SERVICE]:
        host = "dane-ee.test" if (desc, command) == HOST_SERVICE[:2] else HOST
        objects.append(
            "define service {\n  host_name %s\n  service_description %s\n  check_command %s\n"
            "  max_check_attempts 1\n  check_interval 3600\n  retry_interval 3600\n"
            "  check_period always\n  notification_period always\n  contacts nobody\n}\n"
            % (host, desc, command))
    write(os.path.join(d, "objects.cfg"), "\n".join(objects))


def parse_status(path):
    """status.dat: blocks of 'type {' key=value lines '}'."""
    services = {}
    try:
        text = open(path, errors="replace").read()
    except OSError:
        return services
    for m in re.finditer(r"servicestatus \{\n(.*?)\n\s*\}", text, re.S):
        fields = {}
        for line in m.group(1).split("\n"):
            key, _, value = line.strip().partition("=")
            fields[key] = value
        services[(fields.get("host_name"), fields.get("service_description"))] = fields
    return services


def external_command(d, line):
    """Nagios' command pipe: '[time] COMMAND;args'."""
    fd = os.open(os.path.join(d, "nagios.cmd"), os.O_WRONLY | os.O_NONBLOCK)
    try:
        os.write(fd, ("[%d] %s\n" % (int(time.time()), line)).encode())
    finally:
        os.close(fd)


def stop(proc):
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def main():
    if not check(os.access(NAGIOS, os.X_OK), "%s missing: install Debian's nagios4-core" % NAGIOS):
        return 1
    d = tempfile.mkdtemp(prefix="danescan-nagios-")
    proc = None
    try:
        configure(d)
        cfg = os.path.join(d, "nagios.cfg")
        v = subprocess.run([NAGIOS, "-v", cfg], capture_output=True, text=True, timeout=30)
        if not check(v.returncode == 0, "nagios4 -v: the configuration does not verify:\n%s" % v.stdout[-2000:]):
            return 1
        started = time.time()
        proc = subprocess.Popen(["timeout", "-s", "KILL", str(ENGINE_LIMIT), NAGIOS, cfg],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
        deadline = time.monotonic() + 20
        while not os.path.exists(os.path.join(d, "nagios.cmd")) and time.monotonic() < deadline:
            if not check(proc.poll() is None, "nagios4 exited early (%s)" % proc.returncode):
                return 1
            time.sleep(0.2)
        if not check(os.path.exists(os.path.join(d, "nagios.cmd")), "nagios4: no command pipe after 20 s"):
            return 1
        wanted = [(HOST, s[0]) for s in SERVICES] + [("dane-ee.test", HOST_SERVICE[0])]
        for host, desc in wanted:
            external_command(d, "SCHEDULE_FORCED_SVC_CHECK;%s;%s;%d" % (host, desc, int(time.time())))

        deadline = time.monotonic() + WAIT_FOR_RESULTS
        status = {}
        while time.monotonic() < deadline:
            status = parse_status(os.path.join(d, "status.dat"))
            done = [k for k in wanted if status.get(k, {}).get("has_been_checked") == "1"
                    and int(status[k].get("last_check", "0")) >= int(started)]
            if len(done) == len(wanted):
                break
            time.sleep(0.5)

        for (desc, command, want, pattern), host in zip(SERVICES + [HOST_SERVICE],
                                                         [h for h, _ in wanted]):
            s = status.get((host, desc))
            where = "engine service '%s'" % desc
            if not check(s is not None and s.get("has_been_checked") == "1",
                         "%s: never checked by the engine" % where):
                continue
            state = int(s.get("current_state", "-1"))
            check(state == want, "%s: the engine says %s, want %s (%s)" % (
                where, STATE_NAMES.get(state, state), STATE_NAMES[want], s.get("plugin_output")))
            check(s.get("state_type") == "1", "%s: state type %s, want hard (1)" % (where, s.get("state_type")))
            check(re.search(pattern, s.get("plugin_output", "")) is not None,
                  "%s: plugin output %r !~ %r" % (where, s.get("plugin_output"), pattern))
            perf = s.get("performance_data", "")
            if want != 3:
                check(re.search(r"(^| )mx=\d+ addresses_ok=\d+ addresses_failed=\d+ cert_days_min=(-?\d+|U)\S* time=\d+\.\d{3}s$", perf),
                      "%s: the engine's performance data %r" % (where, perf))
            if desc == "dane-ee":
                check("cert_days_min=" in perf and ";30:;14:" in perf, "%s: thresholds in %r" % (where, perf))
                check("[OK]   mx.dane-ee.test[127.25.0.1]" in s.get("long_plugin_output", ""),
                      "%s: long output %r" % (where, s.get("long_plugin_output")))
        return 0
    finally:
        if proc is not None:
            stop(proc)
            check(proc.returncode is not None, "nagios4 still running")
        if failed and os.path.exists(os.path.join(d, "nagios.log")):
            print("nagios.log:\n" + open(os.path.join(d, "nagios.log")).read()[-3000:])
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    rc = main()
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed or rc else 0)
