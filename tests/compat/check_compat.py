#!/usr/bin/env python3
"""The Perl agents' command lines and configuration files, run unchanged with uagent.

For every option of fusioninventory-agent / glpi-agent / ocsinventory-agent and of their
launchers (the table OPTIONS below, from ../shared/docs/reference-agents.md §3.1), uagent is
run with it and must either give it the same meaning (checked in `--setup`, which prints every
setting), or accept it with a notice that says why it does not apply here. Nothing may end in
"unknown option". Then the stock agent.cfg files of FusionInventory 2.6 (Debian) and the GLPI
agent 1.x run unchanged with --conf-file, each unsupported key named once on stderr; Debian's
fusioninventory-agent.service runs with only the binary renamed; `--daemon` goes into the
background and `--no-fork` stays; and README.md's compatibility table is this table.

    tests/compat/check_compat.py --binary target/release/uagent
"""
import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
from lib import Checks, free_port, wait_for, REPO  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))

# (agents, option as typed, its value or None, how uagent takes it, what to check)
#   how: "same" (same name, same meaning), "name" (another name: the key it sets),
#        "ignored" (accepted with a notice), "action" (prints and exits)
#   check: for same/name, (key, value) expected in --setup; for action, a text in stdout.
F, G, O = "fusion", "glpi", "ocs"
FG, FGO = "fusion, glpi", "fusion, glpi, ocs"
OPTIONS = [
    (FGO, "-s", "http://srv/", "same", ("server", "http://srv/")),
    (FGO, "--server", "http://srv/", "same", ("server", "http://srv/")),
    (FGO, "-l", "/tmp/inv", "same", ("local", "/tmp/inv")),
    (FGO, "--local", "/tmp/inv", "same", ("local", "/tmp/inv")),
    (FGO, "--stdout", None, "name", ("local", "-")),
    (G, "--listen", None, "ignored", None),
    (FGO, "--delaytime", "60", "same", ("delaytime", "60")),
    (FGO, "--lazy", None, "same", ("lazy", "1")),
    (FG, "--set-forcerun", None, "ignored", None),
    (FGO, "-w", "30", "same", ("wait", "30")),
    (FGO, "--wait", "30", "same", ("wait", "30")),
    (FG, "--list-tasks", None, "action", "inventory"),
    (FG, "--tasks", "inventory", "same", ("tasks", "inventory")),
    (FG, "--no-task", "wakeonlan", "same", ("no-task", "wakeonlan")),
    (FG, "--no-category", "printer", "same", ("no-category", "printer")),
    (FG, "--list-categories", None, "action", "software"),
    (FGO, "--scan-homedirs", None, "ignored", None),
    (FG, "--scan-profiles", None, "ignored", None),
    (FG, "--html", None, "same", ("html", "1")),
    (G, "--json", None, "same", ("json", "1")),
    (FGO, "-f", None, "same", ("force", "1")),
    (FGO, "--force", None, "same", ("force", "1")),
    (FGO, "--backend-collect-timeout", "30", "name", ("task-timeout", "30")),
    (FG, "--additional-content", "/tmp/extra.xml", "same", ("additional-content", "/tmp/extra.xml")),
    (G, "--assetname-support", "2", "same", ("assetname-support", "2")),
    (G, "--partial", "software", "same", ("partial", "software")),
    (G, "--full", None, "same", ("full", "1")),
    (G, "--full-inventory-postpone", "7", "same", ("full-inventory-postpone", "7")),
    (G, "--credentials", "id:1,version:v2c,community:public", "ignored", None),
    (FGO, "-P", "http://proxy:3128/", "same", ("proxy", "http://proxy:3128/")),
    (FGO, "--proxy", "http://proxy:3128/", "same", ("proxy", "http://proxy:3128/")),
    (FGO, "-u", "admin", "same", ("user", "admin")),
    (FGO, "--user", "admin", "same", ("user", "admin")),
    (FGO, "-p", "s3cret", "same", ("password", "(set, not shown)")),
    (FGO, "--password", "s3cret", "same", ("password", "(set, not shown)")),
    (FG, "--ca-cert-dir", "/etc/ssl/certs", "same", ("ca-cert-dir", "/etc/ssl/certs")),
    (FG, "--ca-cert-file", "/etc/ca.pem", "same", ("ca-cert-file", "/etc/ca.pem")),
    (FG, "--no-ssl-check", None, "same", ("no-ssl-check", "1")),
    (G, "--ssl-fingerprint", "sha256:AB:CD", "same", ("ssl-fingerprint", "sha256:AB:CD")),
    (G, "--ssl-cert-file", "/etc/client.pem", "same", ("ssl-cert-file", "/etc/client.pem")),
    (FG, "-C", None, "same", ("no-compression", "1")),
    (FG, "--no-compression", None, "same", ("no-compression", "1")),
    (FG, "--timeout", "30", "same", ("timeout", "30")),
    (G, "--oauth-client-id", "client", "same", ("oauth-client-id", "client")),
    (G, "--oauth-client-secret", "secret", "same", ("oauth-client-secret", "(set, not shown)")),
    (FG, "--no-httpd", None, "same", ("no-httpd", "1")),
    (FG, "--httpd-ip", "127.0.0.1", "same", ("httpd-ip", "127.0.0.1")),
    (FG, "--httpd-port", "8080", "same", ("httpd-port", "8080")),
    (FG, "--httpd-trust", "10.0.0.0/8", "same", ("httpd-trust", "10.0.0.0/8")),
    (FG, "--logger", "syslog,stderr", "same", ("logger", "syslog,stderr")),
    (FGO, "--logfile", "/tmp/agent.log", "same", ("logfile", "/tmp/agent.log")),
    (FG, "--logfile-maxsize", "5", "same", ("logfile-maxsize", "5")),
    (FG, "--logfacility", "LOG_USER", "same", ("logfacility", "LOG_USER")),
    (FG, "--color", None, "ignored", None),
    (FGO, "--debug", None, "same", ("debug", "1")),
    (FG, "--conf-file", "CONF", "action", "conf-file: "),
    (G, "--config", "file", "ignored", None),
    (FG, "--conf-reload-interval", "60", "ignored", None),
    (FGO, "-d", None, "same", ("daemon", "1")),
    (FGO, "--daemon", None, "same", ("daemon", "1")),
    (FG, "--no-fork", None, "same", ("no-fork", "1")),
    (FG, "--pidfile", "/run/uagent.pid", "same", ("pidfile", "/run/uagent.pid")),
    (FGO, "-t", "site-a", "same", ("tag", "site-a")),
    (FGO, "--tag", "site-a", "same", ("tag", "site-a")),
    (FG, "--vardir", "/var/lib/x", "same", ("vardir", "/var/lib/x")),
    (FG, "--setup", None, "action", "vardir: "),
    (FGO, "--version", None, "action", "uagent "),
    (FGO, "-h", None, "action", "Usage: "),
    (FGO, "--help", None, "action", "Usage: "),
    (G, "--remote", "ssh://host", "ignored", None),
    (G, "--remote-workers", "2", "ignored", None),
    (O, "--basevardir", "/var/lib/x", "name", ("vardir", "/var/lib/x")),
    (O, "-r", "realm", "ignored", None),
    (O, "--realm", "realm", "ignored", None),
    (O, "--ssl", "0", "name", ("no-ssl-check", "1")),
    (O, "--ca", "/etc/ocs/cacert.pem", "name", ("ca-cert-file", "/etc/ocs/cacert.pem")),
    (O, "--nosoftware", None, "name", ("no-category", "software")),
    (O, "--nolocal", None, "ignored", None),
    (O, "-i", None, "ignored", None),
    (O, "--info", None, "ignored", None),
    (O, "--snmp", "0", "name", ("no-snmp", "1")),
    (O, "--snmptimeout", "3", "ignored", None),
    (O, "--snmpretry", "2", "ignored", None),
]

# Launchers: (Perl launcher, uagent link, arguments, how, a text expected on stdout or "")
LAUNCHERS = [
    ("glpi-inventory / fusioninventory-inventory", "uagent-inventory", ["--json"], "same", '"action"'),
    ("glpi-inventory", "uagent-inventory", ["--html"], "same", "<html"),
    ("glpi-inventory", "uagent-inventory", ["--no-category", "software,printer"], "same", "<REQUEST>"),
    ("glpi-inventory", "uagent-inventory", ["--tag", "site-a"], "same", "site-a"),
    ("glpi-inventory", "uagent-inventory", ["--scan-homedirs"], "ignored", "<REQUEST>"),
    ("glpi-inventory", "uagent-inventory", ["--scan-profiles"], "ignored", "<REQUEST>"),
    ("glpi-inventory", "uagent-inventory", ["--backend-collect-timeout", "30"], "ignored", "<REQUEST>"),
    ("glpi-inventory", "uagent-inventory", ["--list-categories"], "action", "software"),
    ("glpi-inventory", "uagent-inventory", ["--version"], "action", "uagent "),
    ("glpi-injector", "uagent-injector", ["--version"], "action", "uagent "),
    ("glpi-injector", "uagent-injector", ["-h"], "action", "--useragent"),
    ("glpi-injector", "uagent-injector", ["-v", "-x", "-C", "--no-ssl-check", "-P", "http://p:1/",
                                           "--debug", "-u", "URL", "-f", "INV"], "same", ""),
    ("glpi-wakeonlan", "uagent-wakeonlan", ["--version"], "action", "uagent "),
    ("glpi-wakeonlan", "uagent-wakeonlan", ["--help"], "action", "--methods"),
]

HOW_WORDS = {"same": "supported", "name": "supported, another name", "ignored": "accepted and ignored",
             "action": "supported"}


def markdown_table():
    """README.md's table of the Perl agents' options, from OPTIONS."""
    rows = ["| option | agents | uagent |", "|---|---|---|"]
    seen = set()
    for agents, opt, value, how, check in OPTIONS:
        if opt in seen:
            continue
        seen.add(opt)
        shown = f"`{opt}{' ' + value if value and how != 'action' else ''}`"
        if how == "name":
            word = f"supported as `--{check[0]}`" + (f" = `{check[1]}`" if opt in ("--stdout", "--ssl", "--nosoftware") else "")
        elif how == "ignored":
            word = "accepted and ignored (see the notice)"
        else:
            word = "supported"
        rows.append(f"| {shown} | {agents} | {word} |")
    return "\n".join(rows)


def run(binary, args, timeout=30, cwd=None, env=None):
    return subprocess.run([binary, *args], capture_output=True, text=True, timeout=timeout, cwd=cwd, env=env)


def setup_value(out, key):
    m = re.search(rf"^  {re.escape(key)} = (.*)$", out, re.M)
    return m.group(1) if m else None


def check_options(c, binary, work):
    print("the Perl agents' options, one at a time")
    conf = os.path.join(work, "empty.cfg")
    open(conf, "w").write("")
    for agents, opt, value, how, check in OPTIONS:
        value = conf if value == "CONF" else value
        args = [opt] + ([value] if value is not None else [])
        if how == "action":
            p = run(binary, args + (["--setup"] if opt == "--conf-file" else []))
            c.true(f"{' '.join(args)}: prints {check!r} and exits 0", p.returncode == 0 and check in p.stdout,
                   f"exit {p.returncode}, stdout {p.stdout[:200]!r}, stderr {p.stderr[:300]!r}")
            continue
        p = run(binary, args + ["--conf-file", conf, "--setup"])
        ok = p.returncode == 0 and "unknown option" not in p.stderr
        if how == "ignored":
            c.true(f"{' '.join(args)}: accepted with a notice", ok and "accepted and ignored" in p.stderr,
                   f"exit {p.returncode}, stderr {p.stderr[:300]!r}")
        else:
            key, want = check
            got = setup_value(p.stdout, key)
            c.true(f"{' '.join(args)}: {key} = {want}", ok and got is not None and (got == want or want in got.split(",")),
                   f"exit {p.returncode}, {key} = {got!r}, stderr {p.stderr[:300]!r}")


def check_launchers(c, binary, work):
    print("the launchers")
    links = os.path.join(work, "bin")
    os.makedirs(links, exist_ok=True)
    inv = os.path.join(work, "inv.xml")
    p = run(binary, ["inventory", "--vardir", os.path.join(work, "v"), "--output", inv], timeout=120)
    c.equal("an inventory to inject", 0, p.returncode)
    for perl, link, args, how, want in LAUNCHERS:
        path = os.path.join(links, link)
        if not os.path.exists(path):
            os.symlink(os.path.abspath(binary), path)
        args = [inv if a == "INV" else ("http://127.0.0.1:9/" if a == "URL" else a) for a in args]
        if link == "uagent-inventory" and how != "action":
            args = args + ["--vardir", os.path.join(work, "v")]
        p = run(path, args, timeout=120)
        unknown = re.search(r"unknown option|Unrecognized argument", p.stderr + p.stdout)
        if link == "uagent-injector" and how == "same":
            # The server is not there: the injector took every option and tried to send.
            c.true(f"{link} {' '.join(args)} ({perl}): every option taken, sending tried",
                   not unknown and p.returncode == 3, f"exit {p.returncode}: {p.stderr[-300:]!r}")
            continue
        ok = p.returncode == 0 and not unknown and want in p.stdout
        if how == "ignored":
            ok = ok and "accepted and ignored" in p.stderr
        c.true(f"{link} {' '.join(args)} ({perl}): {HOW_WORDS[how]}", ok,
               f"exit {p.returncode}, stdout {p.stdout[:120]!r}, stderr {p.stderr[-300:]!r}")
    p = run(os.path.join(links, "uagent-inventory"), ["--help"])
    usage = p.stdout.splitlines()[0] if p.stdout else ""
    c.true("uagent-inventory --help: the usage names the launcher alone",
           usage.startswith("Usage: uagent-inventory [") and " inventory " not in usage, usage)
    c.true("uagent-inventory --help: internal options hidden",
           "--deviceid" not in p.stdout and "--digests" not in p.stdout and "--compress" not in p.stdout, p.stdout)
    p = run(binary, ["--help"])
    c.true("uagent --help: no internal option or command",
           all(w not in p.stdout for w in ("--only-targets", "  task ", "  pass ")), p.stdout[-400:])
    p = run(binary, ["--sever", "http://x/"])
    c.true("--sever: the closest option is suggested",
           p.returncode == 1 and "did you mean --server?" in p.stderr, p.stderr)


def check_conf_files(c, binary, work):
    print("the stock agent.cfg files, unchanged, with --conf-file")
    for name in ("fusioninventory-2.6.agent.cfg", "glpi-agent-1.x.agent.cfg"):
        d = os.path.join(work, name + ".d")
        os.makedirs(os.path.join(d, "conf.d"), exist_ok=True)
        conf = os.path.join(d, "agent.cfg")
        shutil.copy(os.path.join(HERE, name), conf)
        out = os.path.join(work, name + ".out")
        os.makedirs(out, exist_ok=True)
        p = run(binary, ["--conf-file", conf, "--local", out, "--vardir", os.path.join(work, "v")], timeout=120)
        c.true(f"{name}: runs, exit 0, an inventory written",
               p.returncode == 0 and any(f.endswith(".xml") for f in os.listdir(out)), p.stderr[-600:])
        notices = [l for l in p.stderr.splitlines() if "accepted and ignored" in l or "unknown setting" in l]
        keys = [re.search(r"agent\.cfg:\d+: ([\w-]+)", l) or re.search(r'unknown setting "([\w-]+)"', l)
                for l in notices]
        keys = [k.group(1) for k in keys if k]
        c.true(f"{name}: every unsupported key named once on stderr ({', '.join(keys)})",
               len(keys) == len(set(keys)) and len(keys) > 0, "\n".join(notices))
        c.true(f"{name}: no error", "[error]" not in p.stderr, p.stderr[-600:])
    # A typo in a file is named, with a hint, and the run does not pretend to have done something.
    conf = os.path.join(work, "typo.cfg")
    open(conf, "w").write("sever = http://127.0.0.1:9/\n")
    p = run(binary, ["--conf-file", conf, "--vardir", os.path.join(work, "v")])
    c.true("sever = …: named with a hint, and nothing-to-do is an error",
           p.returncode == 1 and 'unknown setting "sever"' in p.stderr and "did you mean server?" in p.stderr,
           p.stderr)
    open(conf, "w").write("no-category = printer\n")
    out = os.path.join(work, "printer")
    os.makedirs(out, exist_ok=True)
    p = run(binary, ["--conf-file", conf, "--local", out, "--vardir", os.path.join(work, "v")], timeout=120)
    c.true("no-category = printer: a notice, and the inventory is written",
           p.returncode == 0 and "printer" in p.stderr and os.listdir(out), p.stderr[-400:])
    p = run(binary, ["--no-category", "sofware", "--local", out, "--vardir", os.path.join(work, "v")])
    c.true("--no-category with a typo: an error up front", p.returncode == 1 and "sofware" in p.stderr, p.stderr)
    p = run(binary, ["--tasks", "esx,inventory", "--local", out, "--vardir", os.path.join(work, "v")])
    c.true("--tasks naming a task uagent lacks (the GLPI agent's esx): named, with the tasks this build has",
           p.returncode == 1 and "esx" in p.stderr and "this build has: inventory" in p.stderr, p.stderr)


class Prolog(BaseHTTPRequestHandler):
    """A server that answers every PROLOG with STOP and counts them."""
    count = 0

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        Prolog.count += 1
        import zlib
        body = zlib.compress(b"<?xml version='1.0'?><REPLY><RESPONSE>STOP</RESPONSE><PROLOG_FREQ>24</PROLOG_FREQ></REPLY>")
        self.send_response(200)
        self.send_header("Content-Type", "application/x-compressed")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


def check_service_and_daemon(c, binary, work):
    print("Debian's fusioninventory-agent.service with the binary renamed; --daemon and --no-fork")
    unit = "/lib/systemd/system/fusioninventory-agent.service"
    if not c.true("Debian's unit file is there (fusioninventory-agent installed)", os.path.exists(unit)):
        return
    text = open(unit).read()
    exec_start = re.search(r"^ExecStart=(.*)$", text, re.M).group(1)
    reload_cmd = re.search(r"^ExecReload=(.*)$", text, re.M).group(1)
    renamed = exec_start.replace("/usr/bin/fusioninventory-agent", os.path.abspath(binary))
    c.true(f"only the binary renamed: {renamed}", renamed != exec_start and "--no-fork" in renamed)
    port = free_port()
    httpd = HTTPServer(("127.0.0.1", port), Prolog)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    vardir = os.path.join(work, "svc")
    # As `systemctl edit` would: Environment="OPTIONS=…" (the unit's own comment says so).
    options = f"--server http://127.0.0.1:{port}/ocsinventory --vardir {vardir} --delaytime 2 --no-httpd"
    argv = renamed.replace("$OPTIONS", options).split()
    svc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        c.true("the service contacts its server", wait_for(lambda: Prolog.count >= 1, 30))
        c.true("and stays in the foreground, as Type=simple wants", svc.poll() is None)
        pid = str(svc.pid)
        os.kill(svc.pid, signal.SIGHUP) if "$MAINPID" in reload_cmd else None
        time.sleep(1)
        c.true("ExecReload (kill -HUP $MAINPID) reloads, the service stays", svc.poll() is None)
        svc.send_signal(signal.SIGTERM)
        code = svc.wait(timeout=20)
        err = svc.stderr.read()
        c.true("SIGTERM stops it with exit 0", code == 0, err[-400:])
        c.true("the reload was logged", "reloading" in err, err[-400:])
    finally:
        if svc.poll() is None:
            svc.kill()
    # --daemon without --no-fork: the Perl agents' detach.
    vardir = os.path.join(work, "bg")
    pidfile = os.path.join(work, "bg.pid")
    t0 = time.time()
    p = run(binary, ["--daemon", "--server", f"http://127.0.0.1:{port}/ocsinventory", "--vardir", vardir,
                     "--pidfile", pidfile, "--no-httpd", "--logger", "file", "--logfile", os.path.join(work, "bg.log")])
    c.true("--daemon returns at once with 0", p.returncode == 0 and time.time() - t0 < 10, p.stderr)
    c.true("the pid file appears", wait_for(lambda: os.path.exists(pidfile), 10))
    try:
        pid = int(open(pidfile).read().split()[0])
        c.true("the background daemon runs", os.path.exists(f"/proc/{pid}"))
        c.equal("in a session of its own", pid, os.getsid(pid))
        c.equal("the lock file names it", str(pid), open(os.path.join(vardir, "uagent.lock")).read().strip())
        c.equal("its standard input is /dev/null", "/dev/null", os.readlink(f"/proc/{pid}/fd/0"))
        os.kill(pid, signal.SIGTERM)
        c.true("SIGTERM stops it", wait_for(lambda: not os.path.exists(f"/proc/{pid}"), 20))
    except (OSError, ValueError) as e:
        c.true("the background daemon can be inspected", False, str(e))
    httpd.shutdown()


def check_readme(c):
    readme = open(os.path.join(REPO, "README.md")).read()
    c.true("README.md's compatibility table is this script's (tests/compat/check_compat.py --markdown)",
           markdown_table() in readme)


def check_vardir(c, binary, work):
    print("a vardir that cannot keep the DEVICEID")
    blocker = os.path.join(work, "file-not-dir")
    open(blocker, "w").write("x")
    p = run(binary, ["--local", work, "--vardir", os.path.join(blocker, "v")])
    c.true("refused with exit 7, naming the folder and --vardir",
           p.returncode == 7 and "file-not-dir/v" in p.stderr and "--vardir" in p.stderr, p.stderr)
    p = run(binary, ["inventory", "--vardir", os.path.join(blocker, "v")])
    c.equal("the inventory launcher too", 7, p.returncode)
    p = run(binary, ["inventory", "--vardir", os.path.join(work, "v"), "--output", "/nonexistent/dir/x.xml"])
    c.true("an output that cannot be written is named",
           p.returncode == 2 and "/nonexistent/dir/x.xml" in p.stderr, p.stderr)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary")
    ap.add_argument("--markdown", action="store_true", help="print README.md's table and exit")
    args = ap.parse_args()
    if args.markdown:
        print(markdown_table())
        return 0
    c = Checks()
    work = tempfile.mkdtemp(prefix="uagent-compat-")
    try:
        check_options(c, args.binary, work)
        check_launchers(c, args.binary, work)
        check_conf_files(c, args.binary, work)
        check_vardir(c, args.binary, work)
        check_service_and_daemon(c, args.binary, work)
        check_readme(c)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return c.done("compat")


if __name__ == "__main__":
    sys.exit(main())
