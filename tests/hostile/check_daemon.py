#!/usr/bin/env python3
"""The daemon under hostile callers and inputs (issue 16, points 1, 2, 3, 7, 11, 12): a flood
of /now from a server's host, credentials in the server URL and the settings, guesses at the
DEVICEID for the log, keep-alive clients holding every slot, a SIGHUP with includes that
nest, a large download beside /status, FIFOs in place of the state files. Every step has a
time limit; the daemon's peak RSS must stay under 16 MiB.

    tests/hostile/check_daemon.py --binary target/full/release/uagent
"""
import argparse
import os
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hostile import (RSS_LIMIT_KIB, Checks, Daemon, Server, free_port, http_get,  # noqa: E402
                     ocs_answer, run, wait_for)

checks = Checks()
check = checks.true
PASSWORD = "Pw-hostile-4711"
URL_SECRET = "UrlSecret-0815"


def common(work, srv_url, port, *extra):
    return (["--server", srv_url] if srv_url else []) + ["--vardir", os.path.join(work, "var"), "--httpd-ip", "127.0.0.1",
            "--httpd-port", str(port), "--no-category", "software,process", *extra]


def cmdlines():
    """Every process's command line, as text."""
    out = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                out.append(open(f"/proc/{pid}/cmdline", "rb").read().replace(b"\0", b" ").decode(errors="replace"))
            except OSError:
                pass
    return out


def secrets_and_now_flood(binary, work):
    print("== 2. credentials reach no log line, file name or command line; 1. a /now flood cannot make it loop")
    srv = Server(ocs_answer)
    port = free_port()
    url = srv.url.replace("http://", f"http://admin:{URL_SECRET}@")
    var = os.path.join(work, "var")
    # An earlier version's folder, named after the URL with its credentials.
    legacy = os.path.join(var, "targets", f"http___admin_{URL_SECRET}_127.0.0.1_{srv.port}_ocsinventory")
    os.makedirs(legacy)
    open(os.path.join(legacy, "state"), "w").write("next_run=0\nserver=xml\naccountinfo.KEPT=yes\n")
    conf = os.path.join(work, "secret.cfg")
    # Everything secret comes from the file: the daemon's own command line is the admin's.
    open(conf, "w").write(f"server = {url}\nuser = admin\npassword = {PASSWORD}\n")
    log = os.path.join(work, "daemon.log")
    # The inventory task waits 3 s before it starts, so that the pass and the task can be seen.
    env = dict(os.environ, UAGENT_TASK_DELAY="3")
    d = Daemon(binary, common(work, None, port, "--conf-file", conf, "--logfile", log, "--force", "--debug"), env=env)
    seen = []
    try:
        check("listens", wait_for(lambda: http_get(f"http://127.0.0.1:{port}/status")[0] == 200, 15))
        # While it runs its first pass (and its inventory task), look at every command line.
        end = time.monotonic() + 15
        while time.monotonic() < end and srv.count("inventory") == 0:
            seen += [c for c in cmdlines() if c.startswith(binary)]
            time.sleep(0.02)
        check("its first pass reached the server", wait_for(lambda: srv.count("inventory") >= 1, 20), srv.kinds())
        leaked = [c for c in seen if PASSWORD in c or URL_SECRET in c]
        kinds = sorted({c.split()[1] for c in seen if len(c.split()) > 1})
        check(f"no process had a credential on its command line ({len(seen)} seen: {kinds})",
              "pass" in kinds and "task" in kinds and not leaked, leaked[:2])
        # 1: a flood of /now from the server's host: runs at most every 10 s.
        before = srv.count("prolog")
        t0 = time.monotonic()
        while time.monotonic() - t0 < 12:
            http_get(f"http://127.0.0.1:{port}/now")
            time.sleep(0.05)
        wait_for(lambda: False, 2)
        runs = srv.count("prolog") - before
        check(f"240 /now in 12 s: at most 2 contacts ({runs})", 1 <= runs <= 2, srv.kinds())
        check(f"the daemon's peak RSS {d.hwm_kib()} KiB < {RSS_LIMIT_KIB} KiB", 0 < d.hwm_kib() < RSS_LIMIT_KIB)
    finally:
        code = d.stop()
        srv.stop()
    check("SIGTERM: exit 0", code == 0, code)
    text = open(log, errors="replace").read()
    check("the log names the server without its credentials", f"127.0.0.1:{srv.port}/ocsinventory" in text
          and URL_SECRET not in text and PASSWORD not in text, [l for l in text.splitlines() if URL_SECRET in l][:3])
    names = [os.path.join(r, n) for r, ds, fs in os.walk(work) for n in ds + fs]
    check("no file or folder is named after a credential", not [n for n in names if URL_SECRET in n or PASSWORD in n],
          [n for n in names if URL_SECRET in n][:3])
    new = os.path.join(var, "targets", f"http___127.0.0.1_{srv.port}_ocsinventory", "state")
    check("the old folder was moved to the new name, its state kept",
          not os.path.exists(legacy) and "accountinfo.KEPT=yes" in open(new).read())


def log_route(binary, work):
    print("== 2. the log route: trusted callers only by default; wrong guesses rate-limited and logged")
    port = free_port()
    log = os.path.join(work, "route.log")
    d = Daemon(binary, common(work, "http://127.0.0.1:9/ocsinventory", port, "--logfile", log, "--delaytime", "3600"))
    try:
        check("listens", wait_for(lambda: http_get(f"http://127.0.0.1:{port}/status")[0] == 200, 15))
        deviceid = open(os.path.join(work, "var", "deviceid")).read().strip()
        base = f"http://127.0.0.1:{port}/?action=log&deviceid="
        check("untrusted caller with the right DEVICEID: 403", http_get(base + deviceid, "127.0.0.2")[0] == 403)
        check("trusted caller (the server's host): 200", http_get(base + deviceid)[0] == 200)
        codes = [http_get(base + f"guess-2026-01-01-00-00-{i:02}")[0] for i in range(8)]
        check(f"8 wrong guesses: 403 five times, then 429 ({codes})", codes == [403] * 5 + [429] * 3)
        check("then 429 even for the right one", http_get(base + deviceid)[0] == 429)
        check("the guesses are logged", "wrong DEVICEID" in open(log, errors="replace").read())
    finally:
        d.stop()
    port = free_port()
    d = Daemon(binary, common(work, "http://127.0.0.1:9/ocsinventory", port, "--delaytime", "3600",
                              "--httpd-log-by-deviceid"))
    try:
        check("listens", wait_for(lambda: http_get(f"http://127.0.0.1:{port}/status")[0] == 200, 15))
        base = f"http://127.0.0.1:{port}/?action=log&deviceid="
        # No log file: 404 means the DEVICEID was accepted from an untrusted caller.
        check("--httpd-log-by-deviceid: the DEVICEID opens it to anyone (404: no log file)",
              http_get(base + deviceid, "127.0.0.2")[0] == 404)
    finally:
        d.stop()


def keep_alive(binary, work):
    print("== 3. 64 keep-alive clients sending a request every 0.9 s cannot lock others out")
    port = free_port()
    d = Daemon(binary, common(work, "http://127.0.0.1:9/ocsinventory", port, "--delaytime", "3600"))
    stop = threading.Event()
    try:
        check("listens", wait_for(lambda: http_get(f"http://127.0.0.1:{port}/status")[0] == 200, 15))

        def holder(n):
            try:
                s = socket.create_connection(("127.0.0.1", port), timeout=3, source_address=("127.0.0.2", 0))
                while not stop.is_set():
                    s.sendall(b"GET /status HTTP/1.1\r\nHost: a\r\n\r\n")
                    if not s.recv(4096):
                        s = socket.create_connection(("127.0.0.1", port), timeout=3, source_address=("127.0.0.2", 0))
                    stop.wait(0.9)
            except OSError:
                pass
        threads = [threading.Thread(target=holder, args=(i,), daemon=True) for i in range(64)]
        for t in threads:
            t.start()
        time.sleep(2)
        now = [http_get(f"http://127.0.0.1:{port}/now")[0] for _ in range(5)]
        other = [http_get(f"http://127.0.0.1:{port}/status", "127.0.0.3")[0] for _ in range(5)]
        check(f"the server's host gets /now ({now})", now.count(200) == 5)
        check(f"another caller gets /status ({other})", other.count(200) == 5)
        check(f"peak RSS {d.hwm_kib()} KiB < {RSS_LIMIT_KIB} KiB", 0 < d.hwm_kib() < RSS_LIMIT_KIB)
    finally:
        stop.set()
        d.stop()


def sighup_nested_includes(binary, work):
    print("== 7. a SIGHUP with includes nested 256 x 4 deep neither freezes the daemon nor its HTTP")
    port = free_port()
    conf_dir = os.path.join(work, "conf")
    for level in range(1, 5):
        os.makedirs(os.path.join(conf_dir, f"d{level}"))
    for level in range(1, 4):
        for i in range(256):
            open(os.path.join(conf_dir, f"d{level}", f"{i:04}.cfg"), "w").write(f'include "../d{level + 1}/"\n')
    open(os.path.join(conf_dir, "d4", "last.cfg"), "w").write("delaytime = 3600\n")
    conf = os.path.join(conf_dir, "agent.cfg")
    open(conf, "w").write("delaytime = 3600\n")
    log = os.path.join(work, "hup.log")
    d = Daemon(binary, common(work, "http://127.0.0.1:9/ocsinventory", port, "--conf-file", conf, "--logfile", log))
    try:
        check("listens", wait_for(lambda: http_get(f"http://127.0.0.1:{port}/status")[0] == 200, 15))
        open(conf, "w").write('delaytime = 3600\ninclude "d1/"\n')
        t0 = time.monotonic()
        d.p.send_signal(signal.SIGHUP)
        check("the reload is refused with a message naming the limit",
              wait_for(lambda: "configuration files in one load" in open(log, errors="replace").read(), 5))
        check(f"/status answers right after ({time.monotonic() - t0:.1f} s)",
              http_get(f"http://127.0.0.1:{port}/status", timeout=2)[0] == 200)
    finally:
        t0 = time.monotonic()
        code = d.stop(timeout=5)
    check(f"SIGTERM stops it at once: exit 0 in {time.monotonic() - t0:.1f} s", code == 0, code)


def download_starvation(binary, work):
    print("== 11. a large download does not starve /status")
    port = free_port()
    shared = os.path.join(work, "var", "shared")
    os.makedirs(shared, exist_ok=True)
    with open(os.path.join(shared, "big.bin"), "wb") as f:
        f.truncate(1 << 30)
    d = Daemon(binary, common(work, "http://127.0.0.1:9/ocsinventory", port, "--delaytime", "3600"))
    got = [0]
    try:
        check("listens", wait_for(lambda: http_get(f"http://127.0.0.1:{port}/status")[0] == 200, 15))

        def reader():
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            s.sendall(b"GET /?action=download&file=big.bin HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
            t0 = time.monotonic()
            while time.monotonic() - t0 < 5:
                b = s.recv(1 << 20)
                if not b:
                    break
                got[0] += len(b)
            s.close()
        t = threading.Thread(target=reader, daemon=True)
        t.start()
        time.sleep(0.5)
        worst = 0.0
        for _ in range(10):
            t0 = time.monotonic()
            code = http_get(f"http://127.0.0.1:{port}/status", timeout=5)[0]
            worst = max(worst, time.monotonic() - t0 if code == 200 else 99)
            time.sleep(0.2)
        t.join(10)
        check(f"/status within 0.5 s during the download (worst {worst:.2f} s, {got[0] >> 20} MiB sent)",
              worst < 0.5 and got[0] > 0)
    finally:
        d.stop()
        os.unlink(os.path.join(shared, "big.bin"))


def fifo_state(binary, work):
    print("== 12. FIFOs in place of the deviceid, a target's state and the spool do not hang a run")
    srv = Server(ocs_answer)
    try:
        var = os.path.join(work, "fifo-var")
        folder = os.path.join(var, "targets", f"http___127.0.0.1_{srv.port}_ocsinventory")
        os.makedirs(os.path.join(folder, "spool"))
        for p in [os.path.join(var, "deviceid"), os.path.join(folder, "state"), os.path.join(folder, "digests"),
                  os.path.join(folder, "spool", "inventory.xml.z")]:
            os.mkfifo(p)
        r = run([binary, "--server", srv.url, "--vardir", var, "--force", "--no-category", "software,process"], limit=30)
        check("the run ends on its own, exit 0", r.code == 0 and not r.killed, repr(r))
        check("and delivers an inventory", srv.count("inventory") == 1, srv.kinds())
        check("with a new DEVICEID kept in a regular file", os.path.isfile(os.path.join(var, "deviceid")))
        check(f"peak RSS {r.rss} KiB", 0 < r.rss < RSS_LIMIT_KIB)
    finally:
        srv.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--only", action="append", help="run these parts only")
    args = ap.parse_args()
    binary = os.path.abspath(args.binary)
    parts = [secrets_and_now_flood, log_route, keep_alive, sighup_nested_includes, download_starvation, fifo_state]
    for part in parts:
        if args.only and part.__name__ not in args.only:
            continue
        work = tempfile.mkdtemp(prefix="uagent-ho-daemon-")
        try:
            part(binary, work)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return checks.done("hostile daemon")


if __name__ == "__main__":
    sys.exit(main())
