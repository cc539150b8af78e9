#!/usr/bin/env python3
"""The resident agent against the REAL OCS server on loopback: it inventories on its own
schedule; /now from 127.0.0.1 (the server target's host, trusted) runs it at once and the
result lands in the database; /now from 127.0.0.2 is refused; traversal attempts on the
download route are refused; the log route wants this agent's DEVICEID; a second daemon on the
same vardir refuses to start; a task that overruns its time limit is killed while the daemon
keeps serving; it does nothing while idle (strace); SIGTERM stops it with exit 0 and its state
saved.

    tests/daemon/check_daemon.py --binary target/full/debug/uagent   (root)
"""
import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
from lib import OCS_URL, Checks, free_port, ocs_server_up, sql, wait_for  # noqa: E402

checks = Checks()
check = checks.true


def http(url, source="127.0.0.1", timeout=10):
    """Status and body of a GET made from `source` (curl --interface), without following."""
    p = subprocess.run(["curl", "-s", "-o", "-", "-w", "\n%{http_code}", "--interface", source, "--max-time", str(timeout),
                        "--path-as-is", url], capture_output=True, timeout=timeout + 5)
    body, _, code = p.stdout.rpartition(b"\n")
    return int(code or 0), body


def lastcome(deviceid):
    rows = sql(f"SELECT LASTCOME FROM hardware WHERE DEVICEID='{deviceid}'")
    return rows[0][0] if rows else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    args = ap.parse_args()
    ocs_server_up()
    work = tempfile.mkdtemp(prefix="uagent-daemon-")
    vardir = os.path.join(work, "var")
    logfile = os.path.join(work, "uagent.log")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    cmd = [args.binary, "--daemon", "--no-fork", "--server", OCS_URL, "--vardir", vardir, "--delaytime", "6",
           "--httpd-ip", "127.0.0.1", "--httpd-port", str(port), "--logfile", logfile, "--no-category", "software,process"]
    daemon = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        print("== start-up")
        check("listens", wait_for(lambda: http(base + "/status")[0] == 200, 15))
        deviceid = open(os.path.join(vardir, "deviceid")).read().strip()
        code, body = http(base + "/status")
        check("/status says waiting", body.strip() == b"status: waiting", body)

        print("== a second daemon on the same vardir")
        other = [str(free_port()) if a == str(port) else a for a in cmd]
        p = subprocess.run(other, capture_output=True, text=True, timeout=20)
        check("refuses with exit 6 and names the pid", p.returncode == 6 and str(daemon.pid) in p.stderr, f"{p.returncode}: {p.stderr[-300:]}")

        print("== its own schedule (first contact between 50 % and 100 % of --delaytime = 6 s)")
        t0 = time.monotonic()
        check("the inventory lands in the database", wait_for(lambda: lastcome(deviceid) is not None, 20))
        took = time.monotonic() - t0
        check(f"within the first window ({took:.1f} s)", took <= 12)

        print("== /now")
        first = lastcome(deviceid)
        time.sleep(1.1)
        code, body = http(base + "/now", "127.0.0.2")
        check("from 127.0.0.2 (untrusted): 403", code == 403, code)
        code, body = http(base + "/now")
        check("from 127.0.0.1 (the server target's host): 200", code == 200, code)
        check("the run it triggers lands in the database", wait_for(lambda: lastcome(deviceid) != first, 20), f"{first}")

        print("== the shared folder and the log")
        shared = os.path.join(vardir, "shared")
        os.makedirs(os.path.join(shared, "sub"), exist_ok=True)
        open(os.path.join(shared, "sub", "file.txt"), "w").write("shared content\n")
        open(os.path.join(work, "secret"), "w").write("not to be served\n")
        os.symlink(os.path.join(work, "secret"), os.path.join(shared, "out-link"))
        code, body = http(base + "/?action=download&file=sub/file.txt")
        check("download of a shared file: 200 and its content", code == 200 and body == b"shared content\n", (code, body[:80]))
        code, _ = http(base + "/?action=download&file=sub/missing.txt")
        check("missing file: 404", code == 404, code)
        for attempt in ["../deviceid", "..%2fdeviceid", "%2e%2e/deviceid", "%252e%252e%252fdeviceid", "/etc/passwd",
                        "sub/../../deviceid", "out-link", "sub%2f..%2f..%2fdeviceid"]:
            code, body = http(base + "/?action=download&file=" + attempt)
            check(f"download of {attempt!r}: 403", code == 403, (code, body[:60]))
        code, _ = http(base + "/deploy/getFile/../../../etc/passwd")
        check("/deploy/getFile with .. : 403 or 404", code in (403, 404), code)
        code, _ = http(base + "/?action=log&deviceid=someone-else-2000-01-01-00-00-00")
        check("log with a wrong deviceid: 403", code == 403, code)
        code, body = http(base + "/?action=log&deviceid=" + deviceid)
        check("log with this agent's deviceid: 200 and the log", code == 200 and b"[core][info]" in body, (code, body[:80]))
        code, _ = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST", base + "/status"],
                                 capture_output=True, text=True).stdout, None
        check("POST /status: 405", code == "405", code)

        print("== idle means idle (30 s of strace)")
        if shutil.which("strace"):
            p = subprocess.run(["timeout", "30", "strace", "-c", "-f", "-p", str(daemon.pid)], capture_output=True, text=True)
            # The rows of `strace -c`, without its closing "total" row (which repeats their sum).
            calls = [l for l in p.stderr.splitlines() if l.strip() and l.split()[0].replace(".", "").isdigit()
                     and len(l.split()) >= 5 and l.split()[-1] != "total"]
            total = sum(int(l.split()[3]) for l in calls if l.split()[3].isdigit())
            check(f"at most a handful of system calls in 30 s ({total})", total <= 10, p.stderr[-600:])
        else:
            check("strace is installed", False)

        print("== SIGHUP reloads the settings")
        conf = os.path.join(work, "agent.cfg")
        port2 = free_port()
        open(conf, "w").write(f"httpd-port = {port2}\n")
        # The running daemon was started without this file: restart it with one.
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=20)
        hup = [a for a in cmd if a not in ("--httpd-port", str(port))] + ["--conf-file", conf]
        daemon = subprocess.Popen(hup, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        check("serves on the configured port", wait_for(lambda: http(f"http://127.0.0.1:{port2}/status")[0] == 200, 15))
        port3 = free_port()
        open(conf, "w").write(f"httpd-port = {port3}\n")
        daemon.send_signal(signal.SIGHUP)
        check("after SIGHUP, serves on the new port", wait_for(lambda: http(f"http://127.0.0.1:{port3}/status")[0] == 200, 15))
        check("and says it reloaded", "SIGHUP: reloading the settings" in open(logfile, errors="replace").read())
        check("the old port is closed", http(f"http://127.0.0.1:{port2}/status", timeout=3)[0] == 0)

        print("== SIGTERM")
        daemon.send_signal(signal.SIGTERM)
        code = daemon.wait(timeout=20)
        check("exit 0", code == 0, code)
        state = os.path.join(vardir, "targets", os.listdir(os.path.join(vardir, "targets"))[0], "state")
        st = dict(l.split("=", 1) for l in open(state).read().splitlines() if "=" in l)
        check("state saved with a future next run", int(st.get("next_run", 0)) > time.time(), st)
        check("lock released", not os.path.exists(os.path.join(vardir, "uagent.lock")))

        print("== a task that overruns its time limit")
        env = dict(os.environ, UAGENT_TASK_DELAY="30")
        daemon = subprocess.Popen(cmd + ["--task-timeout", "3", "--force"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
        check("listens again", wait_for(lambda: http(base + "/status")[0] == 200, 15))
        check("/status says running task inventory", wait_for(lambda: http(base + "/status")[1].strip() == b"status: running task inventory", 10))
        # The agent starts a task as `uagent task` with its arguments on standard input.
        task_pattern = f"^{re.escape(args.binary)} task$"
        check("the task process is there while it runs",
              subprocess.run(["pgrep", "-f", task_pattern], capture_output=True).returncode == 0)
        check("the task is killed at its limit and the daemon says so",
              wait_for(lambda: "killed after its time limit of 3 s" in open(logfile, errors="replace").read(), 15))
        code, body = http(base + "/status")
        check("the daemon keeps serving: /status waiting again", code == 200 and body.strip() == b"status: waiting", (code, body))
        check("no task process left", subprocess.run(["pgrep", "-f", task_pattern], capture_output=True).returncode != 0)
        daemon.send_signal(signal.SIGTERM)
        check("exit 0", daemon.wait(timeout=20) == 0)
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.wait()
        shutil.rmtree(work, ignore_errors=True)
    return checks.done("daemon")


if __name__ == "__main__":
    sys.exit(main())
