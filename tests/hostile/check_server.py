#!/usr/bin/env python3
"""A hostile or broken server against the agent (issue 16, points 1, 5, 8, 9, 10, 14): numbers
that would make it loop, a refused spool, log injection through a server's message, a huge
TAG, a full disk under the spool, a JSON reply of 200,000 keys. Each run has a time limit and
its peak RSS (tasks and passes included) must stay under 16 MiB.

    tests/hostile/check_server.py --binary target/release/uagent
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hostile import (RSS_LIMIT_KIB, Checks, Daemon, Server, free_port, json_reply,  # noqa: E402
                     ocs_answer, run, OCS_ACCEPTED)

checks = Checks()
check = checks.true
YEAR = 365 * 86400


def state_of(statedir):
    """The state file of the only target, as a dict."""
    targets = os.path.join(statedir, "targets")
    names = os.listdir(targets)
    path = os.path.join(targets, names[0], "state")
    return dict(line.split("=", 1) for line in open(path).read().splitlines() if "=" in line)


def within_rss(r, what):
    check(f"{what}: peak RSS {r.rss} KiB < {RSS_LIMIT_KIB} KiB, {r.secs:.1f} s, not killed",
          0 < r.rss < RSS_LIMIT_KIB and not r.killed, repr(r))


def glpi(expiration=24, contact=None, inventory=None):
    """A GLPI server: JSON to a PROLOG with GLPI-Agent-ID, CONTACT and inventories."""
    def answer(kind, text, headers):
        if kind == "prolog":
            return json_reply({"status": "ok", "expiration": expiration})
        if kind == "contact":
            return contact(text) if contact else json_reply(
                {"status": "ok", "expiration": expiration, "tasks": {"inventory": {"server": "glpi"}}})
        return inventory(text) if inventory else json_reply({"status": "ok"})
    return answer


def agent(binary, url, vardir, *extra, limit=60):
    return run([binary, "--server", url, "--vardir", vardir, "--no-category", "software,process",
                *extra], limit=limit)


def server_numbers(binary, work):
    print("== 1. numbers from a server: clamped, and the daemon cannot loop")
    srv = Server(glpi(expiration=1e308))
    try:
        v = os.path.join(work, "n1")
        r = agent(binary, srv.url, v, "--force")
        check("a half-managed run with expiration 1e308 succeeds", r.code == 0, repr(r))
        st = state_of(v)
        now = time.time()
        nxt, period = int(st.get("next_run", "0")), int(st.get("max_delay", "0"))
        check(f"next run in the future, within a year ({nxt - now:.0f} s)", now < nxt <= now + YEAR + 60, st)
        check(f"period cut to a year ({period})", period == YEAR, st)
        check("the clamp is logged as a warning", "expiration" in r.err and "used" in r.err, r.err[-600:])
        # The daemon, with a state file corrupted to schedule the past with a period of 2^64.
        targets = os.path.join(v, "targets")
        folder = os.path.join(targets, os.listdir(targets)[0])
        open(os.path.join(folder, "state"), "w").write(
            f"next_run=-579010723984328356\nmax_delay=18446744073709551615\nserver=glpi\nerrors=0\nlast_contact={int(time.time())}\n")
        before = len(srv.kinds())
        t_start = time.time()
        d = Daemon(binary, ["--server", srv.url, "--vardir", v, "--delaytime", "2", "--no-httpd",
                            "--no-category", "software,process"])
        time.sleep(14)
        contacts = len(srv.kinds()) - before
        hwm = d.hwm_kib()
        code = d.stop()
        check(f"the daemon contacted the server at most twice in 14 s ({contacts} requests: {srv.kinds()[before:]})",
              contacts <= 4 and srv.kinds()[before:].count("inventory") <= 1, srv.kinds()[before:])
        check("and the first contact waited for the 10 s floor after the last one",
              all(t - t_start >= 8 for _, _, _, t in srv.requests[before:]),
              [round(r[3] - t_start, 1) for r in srv.requests[before:]])
        st = state_of(v)
        check("its state stays sane", 0 < int(st.get("next_run", "0")) <= time.time() + YEAR + 60, st)
        check(f"daemon exits 0 on SIGTERM, peak RSS {hwm} KiB", code == 0 and 0 < hwm < RSS_LIMIT_KIB, (code, hwm))
    finally:
        srv.stop()
    # OCS: a PROLOG_FREQ past any machine word.
    def answer(kind, text, headers):
        if kind == "prolog":
            return (200, b"<REPLY><RESPONSE>SEND</RESPONSE><PROLOG_FREQ>99999999999999999999999</PROLOG_FREQ></REPLY>")
        return (200, OCS_ACCEPTED)
    srv = Server(answer)
    try:
        v = os.path.join(work, "n2")
        r = agent(binary, srv.url, v)
        st = state_of(v)
        check(f"PROLOG_FREQ 10^23: run succeeds, period a year ({st.get('max_delay')})",
              r.code == 0 and int(st["max_delay"]) == YEAR and int(st["next_run"]) > time.time(), (repr(r), st))
    finally:
        srv.stop()


def refused_spool(binary, work):
    print("== 5. a spooled inventory the server refuses is set aside; the fresh one goes through")
    def answer(kind, text, headers):
        if kind == "prolog":
            return ocs_answer(kind, text, headers)
        return (400, b"<html>refused</html>", "text/html") if b"REFUSE-ME" in text else (200, OCS_ACCEPTED)
    srv = Server(answer)
    try:
        v = os.path.join(work, "spool")
        folder = os.path.join(v, "targets", f"http___127.0.0.1_{srv.port}_ocsinventory")
        os.makedirs(os.path.join(folder, "spool"))
        open(os.path.join(folder, "spool", "inventory.xml.z"), "wb").write(
            zlib.compress(b'<?xml version="1.0"?><REQUEST><CONTENT>REFUSE-ME</CONTENT><QUERY>INVENTORY</QUERY></REQUEST>'))
        r = agent(binary, srv.url, v)
        invs = [t for k, t, _, _ in srv.requests if k == "inventory"]
        check("the spooled one was tried first, then a fresh one sent",
              len(invs) == 2 and b"REFUSE-ME" in invs[0] and b"REFUSE-ME" not in invs[1], [i[:60] for i in invs])
        check("exit 4: something was refused", r.code == 4, repr(r))
        check("the spool is empty", not os.path.exists(os.path.join(folder, "spool", "inventory.xml.z")))
        aside = os.path.join(folder, "spool", "refused")
        kept = os.listdir(aside) if os.path.isdir(aside) else []
        check(f"the refused one is kept aside for the admin ({kept})", len(kept) == 1)
        r = agent(binary, srv.url, v)
        check("the next run is clean: exit 0", r.code == 0, repr(r))
        within_rss(r, "refused spool")
    finally:
        srv.stop()


def log_injection(binary, work):
    print("== 8. a server's message cannot forge log lines or reach the terminal raw")
    evil = "bad\n[core][error] FORGED LINE\x1b[31mred\x1b]0;title\x07"
    srv = Server(glpi(contact=lambda t: (400, json.dumps({"status": "error", "message": evil}).encode(), "application/json")))
    try:
        v = os.path.join(work, "inject-log")
        log = os.path.join(work, "inject.log")
        r = agent(binary, srv.url, v, "--logfile", log)
        r2 = agent(binary, srv.url, v)
        text = open(log, "rb").read()
        forged = [l for l in text.splitlines() if b"FORGED" in l and b"bad" not in l]
        check("the log file has the message on one line", b"bad\\n[core][error] FORGED LINE" in text and not forged, text[-500:])
        check("no control byte in the log file", not any(b < 0x20 and b not in (0x0a,) for b in text), text[-300:])
        err = r2.err
        check("nor on stderr", "\x1b" not in err and "\x07" not in err and "\n[core][error] FORGED" not in err, err[-400:])
        check("the run says the server refused: exit 4", r.code == 4 and r2.code == 4, (r.code, r2.code))
    finally:
        srv.stop()


def big_tag(binary, work):
    print("== 9. a 200 KiB TAG: the inventory is made and sent (or spooled); past the bound, a clear error")
    tag = "T" * (200 * 1024)
    # No command line takes an argument that long (the kernel's 128 KiB): the file gives it.
    conf = os.path.join(work, "tag.cfg")
    open(conf, "w").write(f"tag = {tag}\n")
    srv = Server(ocs_answer)
    try:
        r = agent(binary, srv.url, os.path.join(work, "tag1"), "--conf-file", conf, "--force")
        invs = [t for k, t, _, _ in srv.requests if k == "inventory"]
        check("exit 0 and the server got an inventory carrying the whole TAG",
              r.code == 0 and len(invs) == 1 and tag.encode() in invs[0], repr(r))
        within_rss(r, "200 KiB tag")
    finally:
        srv.stop()
    srv = Server(lambda k, t, h: ocs_answer(k, t, h) if k == "prolog" else (500, b"oops", "text/plain"))
    try:
        v = os.path.join(work, "tag2")
        r = agent(binary, srv.url, v, "--conf-file", conf, "--force")
        spool = os.path.join(v, "targets", f"http___127.0.0.1_{srv.port}_ocsinventory", "spool", "inventory.xml.z")
        check("refused by the server: exit 4 and the inventory is in the spool",
              r.code == 4 and os.path.exists(spool) and tag.encode() in zlib.decompress(open(spool, "rb").read()), repr(r))
    finally:
        srv.stop()
    open(conf, "w").write("tag = " + "T" * (250 * 1024) + "\n")
    r = run([binary, "--server", "http://127.0.0.1:9/x", "--vardir", os.path.join(work, "tag3"),
             "--conf-file", conf], limit=20)
    check("a 250 KiB TAG: exit 1, the error names the setting and the bound",
          r.code == 1 and "tag:" in r.err and "longer than" in r.err, repr(r))


def full_disk(binary, work):
    print("== 10. a spool that cannot be written (ENOSPC) exits 2, not 3")
    if not shutil.which("unshare"):
        check("unshare (util-linux) is installed", False)
        return
    statedir = os.path.join(work, "tiny")
    os.makedirs(statedir)
    port = free_port()  # nothing listens there: the server is unreachable
    script = (f"mount -t tmpfs -o size=64k uagent-ho-tmpfs {statedir} && "
              f"mkdir -p {statedir}/targets && "
              f"(dd if=/dev/zero of={statedir}/fill bs=4k 2>/dev/null || true) && "
              f'exec "$0" --server http://127.0.0.1:{port}/ocsinventory --vardir {work}/full-var '
              f"--statedir {statedir} --force --no-category software,process")
    r = run(["unshare", "-m", "--propagation", "private", "sh", "-c", script, binary], limit=60)
    check("exit 2 (the result was not written), not 3 (\"in the spool\")", r.code == 2, repr(r))
    check("and it says it cannot keep the inventory", "cannot keep the inventory" in r.err, r.err[-500:])


def json_bomb(binary, work):
    print("== 14. a JSON reply of 200,000 keys is refused within the memory bound")
    big = "{" + ",".join(f'"k{i}":{i}' for i in range(200_000)) + ',"status":"ok","expiration":24}'
    srv = Server(lambda k, t, h: (200, big.encode(), "application/json"))
    try:
        r = agent(binary, srv.url, os.path.join(work, "json"))
        check(f"refused: exit 4 and the reason ({len(big)} bytes)", r.code == 4 and "too many values" in r.err, repr(r))
        within_rss(r, "200,000 JSON keys")
    finally:
        srv.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--only", action="append", help="run these parts only")
    args = ap.parse_args()
    binary = os.path.abspath(args.binary)
    work = tempfile.mkdtemp(prefix="uagent-ho-server-")
    parts = [server_numbers, refused_spool, log_injection, big_tag, full_disk, json_bomb]
    try:
        for part in parts:
            if not args.only or part.__name__ in args.only:
                part(binary, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return checks.done("hostile server")


if __name__ == "__main__":
    sys.exit(main())
