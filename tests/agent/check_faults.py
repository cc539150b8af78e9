#!/usr/bin/env python3
"""Faults a real server will not produce on demand, from the project's fake server
(tests/peers/fake_server.py): each one must give a clear message, the right exit code, no
panic, and the inventory kept in the target's spool; the next run with the server back sends
the kept inventory first.

    tests/agent/check_faults.py --binary target/release/uagent
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
from lib import Checks, free_port  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
FAKE = os.path.join(HERE, "..", "peers", "fake_server.py")
UNREACHABLE, REFUSED = 3, 4
checks = Checks()
check = checks.true

# fault mode, where, expected exit code, words the error line must contain
CASES = [
    ("reset", "prolog", UNREACHABLE, "connection reset"),
    ("reset", "inventory", UNREACHABLE, "connection reset"),
    ("stall", "prolog", UNREACHABLE, "timed out after 3 s"),
    ("stall", "inventory", UNREACHABLE, "timed out after 3 s"),
    ("status400", "prolog", REFUSED, "HTTP 400"),
    ("status500", "inventory", REFUSED, "HTTP 500"),
    ("garbage-zlib", "prolog", REFUSED, "not a valid zlib stream"),
    ("truncated-zlib", "inventory", REFUSED, "not a valid zlib stream"),
    ("zlib-bomb", "prolog", REFUSED, "inflates past"),
    ("deep-xml", "prolog", REFUSED, "nested deeper than"),
    ("many-headers", "prolog", REFUSED, "header fields"),
    ("huge-length", "prolog", REFUSED, "larger than"),
]


class Fake:
    def __init__(self, work, *args):
        self.log = os.path.join(work, f"log-{time.monotonic_ns()}.jsonl")
        self.p = subprocess.Popen([sys.executable, FAKE, "--port", "0", "--log", self.log, *args],
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.url = self.p.stdout.readline().strip() + "ocsinventory"
        if not self.url.startswith("http"):
            raise RuntimeError(f"fake server did not start: {args}")

    def kinds(self):
        if not os.path.exists(self.log):
            return []
        out = []
        for line in open(self.log):
            e = json.loads(line)
            if e.get("event") == "request":
                out.append((e.get("kind"), e.get("deviceid"), e.get("body", "")))
        return out

    def stop(self):
        self.p.kill()
        self.p.wait()


def run(args, vardir, url, *extra):
    p = subprocess.run([args.binary, "--server", url, "--vardir", vardir, "--timeout", "3", "--force",
                        "--no-category", "software,process", *extra],
                       capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    return p.returncode, p.stderr


def spool_files(vardir):
    out = []
    for root, _, files in os.walk(os.path.join(vardir, "targets")):
        out += [os.path.join(root, f) for f in files if root.endswith("spool")]
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="uagent-faults-")
    try:
        print("== server down")
        port = free_port()
        vardir = os.path.join(work, "down")
        code, err = run(args, vardir, f"http://127.0.0.1:{port}/ocsinventory")
        check("exit code 3 (unreachable)", code == UNREACHABLE, f"{code}: {err[-300:]}")
        check("says the connection was refused", "connection refused" in err, err[-300:])
        check("inventory kept in the spool", len(spool_files(vardir)) == 1)

        for mode, where, want, words in CASES:
            print(f"== {mode} on {where}")
            vardir = os.path.join(work, f"{mode}-{where}")
            fake = Fake(work, "--mode", mode, "--fault-on", where, "--fault-count", "1")
            try:
                t0 = time.monotonic()
                code, err = run(args, vardir, fake.url)
                took = time.monotonic() - t0
                check(f"exit code {want}", code == want, f"{code}: {err[-400:]}")
                check("no panic", code not in (101, 134) and "panicked" not in err, err[-300:])
                errors = [l for l in err.splitlines() if "][error]" in l]
                check(f"error line says {words!r}", any(words in l for l in errors), " | ".join(errors)[-400:])
                check("inventory kept in the spool", len(spool_files(vardir)) == 1, str(spool_files(vardir)))
                check(f"run ended in bounded time ({took:.1f} s)", took < 30)
                before = fake.kinds()
                code, err = run(args, vardir, fake.url)
                after = fake.kinds()[len(before):]
                inv = [k for k in after if k[0] == "inventory"]
                check("with the server back: exit 0", code == 0, f"{code}: {err[-300:]}")
                check("the kept inventory and the new one are sent", len(inv) == 2, str([k[0] for k in after]))
                check("the spool is empty again", spool_files(vardir) == [], str(spool_files(vardir)))
                check("says it sent the kept inventory", "kept from an earlier run" in err, err[-300:])
            finally:
                fake.stop()

        print("== server down, then back under the same URL")
        fake = Fake(work, "--mode", "ocs-like")
        url = fake.url
        fake.stop()
        vardir = os.path.join(work, "down-then-back")
        code, err = run(args, vardir, url)
        check("down: exit code 3", code == UNREACHABLE, f"{code}: {err[-300:]}")
        check("down: inventory kept", len(spool_files(vardir)) == 1)
        port = url.split(":")[2].split("/")[0]
        p = subprocess.Popen([sys.executable, FAKE, "--port", port, "--mode", "ocs-like", "--log", os.path.join(work, "back.jsonl")],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            p.stdout.readline()
            code, err = run(args, vardir, url)
            check("back: exit 0", code == 0, f"{code}: {err[-300:]}")
            sent = [json.loads(l).get("kind") for l in open(os.path.join(work, "back.jsonl")) if '"event": "request"' in l]
            check("back: PROLOG, the kept inventory, then the new one", sent == ["prolog", "inventory", "inventory"], str(sent))
            check("back: spool empty", spool_files(vardir) == [])
        finally:
            p.kill()
            p.wait()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return checks.done("faults")


if __name__ == "__main__":
    sys.exit(main())
