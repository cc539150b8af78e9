#!/usr/bin/env python3
"""Where the agent's log lines go: stderr, a file rotated at --logfile-maxsize, or syslog; every
line tagged with the task that wrote it, task processes included.

A run with a local target (`--local DIR`) starts the inventory task in its own process, as a
run for a server does; a second local target that is a file, not a folder, makes that process
log an error, so the tests can follow a task's line to the destination. Syslog is checked through a socket of the test's own
mounted over /dev/log in a private mount namespace (root, `unshare`): the machine's syslog is
never written to.

    tests/agent/check_logging.py --binary target/release/uagent
"""
import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
from lib import Checks  # noqa: E402

STAMPED = re.compile(r"^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\]\[(core|inventory)\]\[(debug|info|warning|error)\] \S")
TAGGED = re.compile(r"^\[(core|inventory)\]\[(debug|info|warning|error)\] \S")
TASK_ERROR = "[inventory][error] cannot write the inventory to"
checks = Checks(always_detail=True)
check = checks.true


def bad_target(work):
    """A --local target the task cannot write into: a file where a folder should be."""
    path = os.path.join(work, "not-a-folder")
    open(path, "w").write("")
    return ("--local", path)


def run(binary, work, *args, prefix=()):
    out = os.path.join(work, "out")
    os.makedirs(out, exist_ok=True)
    cmd = [*prefix, binary, "--local", out, "--vardir", os.path.join(work, "var"), "--no-category", "software,process", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)


def lines_of(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read().splitlines()


def stderr_logger(binary, work):
    print("stderr (the default): tagged lines, no time stamp (the service manager adds its own)")
    p = run(binary, work, *bad_target(work))
    lines = p.stderr.splitlines()
    check("exit code says the task failed", p.returncode != 0, p.returncode)
    check("the task process's error, tagged with its task", TASK_ERROR in p.stderr, lines)
    check("the agent's own lines tagged [core]", any(line.startswith("[core][info] uagent ") for line in lines), lines[:2])
    check("every line tagged and levelled", lines and all(TAGGED.match(line) for line in lines), lines)
    check("nothing on stdout", p.stdout == "", p.stdout[:200])


def file_logger(binary, work):
    print("--logger file: the same lines, time-stamped, in the file")
    log = os.path.join(work, "uagent.log")
    p = run(binary, work, *bad_target(work), "--logger", "file", "--logfile", log)
    check("exit code says the task failed", p.returncode != 0, p.returncode)
    check("nothing on stderr", p.stderr == "", p.stderr[:200])
    lines = lines_of(log)
    check("the task process's error reached the file", any(TASK_ERROR in line for line in lines), lines)
    check("every line stamped, tagged and levelled", lines and all(STAMPED.match(line) for line in lines), lines)

    print("--logger file: rotation at --logfile-maxsize (MiB)")
    old = "old line from an earlier run\n"
    filler = old * ((1024 * 1024 - 100) // len(old))
    with open(log, "w") as f:
        f.write(filler)
    p = run(binary, work, "--logger", "file", "--logfile", log, "--logfile-maxsize", "1")
    check("a good run exits 0", p.returncode == 0, (p.returncode, p.stderr[:200]))
    rotated = log + ".1"
    kept = open(rotated).read() if os.path.exists(rotated) else ""
    check("the full file became uagent.log.1: the old lines, then this run's until the limit",
          kept.startswith(filler) and all(STAMPED.match(line) for line in kept[len(filler):].splitlines()),
          kept[len(filler):].strip())
    check("no file over the limit", len(kept.encode()) <= 1024 * 1024 and os.path.getsize(log) <= 1024 * 1024,
          (len(kept.encode()), os.path.getsize(log)))
    lines = lines_of(log)
    check("uagent.log starts again with this run's lines only", lines and all(STAMPED.match(line) for line in lines)
          and not any(line.startswith("old line") for line in lines), lines[:3])
    check("no second generation kept", not os.path.exists(log + ".2") and not os.path.exists(rotated + ".1"))
    size = os.path.getsize(log)
    p = run(binary, work, "--logger", "file", "--logfile", log, "--logfile-maxsize", "1")
    check("below the limit the next run appends", p.returncode == 0 and os.path.getsize(log) > size
          and open(rotated).read() == kept, (size, os.path.getsize(log)))

    print("--logger file: a file that cannot be opened is a clear error")
    p = run(binary, work, "--logger", "file", "--logfile", os.path.join(work, "missing-dir", "x.log"))
    check("exit code 1 (usage)", p.returncode == 1, p.returncode)
    check("says which file and why", "cannot open the log file" in p.stderr and "missing-dir" in p.stderr, p.stderr.strip())


def syslog_logger(binary, work):
    print("--logger syslog: RFC 3164 datagrams to /dev/log, facility daemon, severity from the level")
    sock_path = os.path.join(work, "log.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(sock_path)
    listener.settimeout(0)
    try:
        # A private mount namespace where /dev/log is the test's socket. Without a /dev/log on
        # the machine, a fresh /dev holds only what a run needs.
        if os.path.exists("/dev/log"):
            setup = f"mount --bind {sock_path} /dev/log"
        else:
            setup = ("mount -t tmpfs -o mode=755 uagent-test-dev /dev && mknod -m 666 /dev/null c 1 3 && "
                     f"mknod -m 666 /dev/urandom c 1 9 && touch /dev/log && mount --bind {sock_path} /dev/log")
        p = run(binary, work, *bad_target(work), "--logger", "syslog",
                prefix=("unshare", "-m", "--propagation", "private", "sh", "-c", setup + ' && exec "$@"', "sh"))
        got = []
        while True:
            try:
                got.append(listener.recv(65536).decode("utf-8", "replace"))
            except BlockingIOError:
                break
    finally:
        listener.close()
    check("exit code says the task failed", p.returncode != 0, (p.returncode, p.stderr[:300]))
    check("nothing on stderr", p.stderr == "", p.stderr[:300])
    form = re.compile(r"^<(\d+)>uagent\[\d+\]: (\[(core|inventory)\]\[(info|error|warning|debug)\] .*)$")
    check("every datagram is <PRI>uagent[PID]: [tag][level] text", got and all(form.match(m) for m in got), got)
    pri = {m.group(4): int(m.group(1)) for m in map(form.match, got) if m}
    check("info lines at daemon.info (30)", pri.get("info") == 30, pri)
    check("error lines at daemon.err (27)", pri.get("error") == 27, pri)
    check("the task process's error among them", any(TASK_ERROR in m for m in got), got)
    print("--logger syslog,stderr (Debian's stock agent.cfg): both at once")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    os.unlink(sock_path)
    listener.bind(sock_path)
    listener.settimeout(0)
    try:
        p = run(binary, work, "--logger", "syslog,stderr", "--logfacility", "LOG_LOCAL3",
                prefix=("unshare", "-m", "--propagation", "private", "sh", "-c", setup + ' && exec "$@"', "sh"))
        got = []
        while True:
            try:
                got.append(listener.recv(65536).decode("utf-8", "replace"))
            except BlockingIOError:
                break
    finally:
        listener.close()
    check("exit code 0", p.returncode == 0, p.stderr[-300:])
    check("lines in syslog, at facility local3 (19: info = 158)", got and any(m.startswith("<158>") for m in got), got[:3])
    check("and the same lines on stderr", "[core][info] uagent " in p.stderr and len(p.stderr.splitlines()) == len(got),
          (len(p.stderr.splitlines()), len(got)))
    print("no syslog on the machine (no /dev/log): a warning, and the lines go to stderr")
    setup = ("mount -t tmpfs -o mode=755 uagent-test-dev /dev && mknod -m 666 /dev/null c 1 3 && "
             "mknod -m 666 /dev/urandom c 1 9")
    p = run(binary, work, "--logger", "syslog",
            prefix=("unshare", "-m", "--propagation", "private", "sh", "-c", setup + ' && exec "$@"', "sh"))
    check("the run goes on: exit code 0", p.returncode == 0, (p.returncode, p.stderr.strip()[:300]))
    check("says syslog cannot be reached, on stderr", "cannot reach /dev/log" in p.stderr, p.stderr[:300])
    check("and its lines are on stderr", "[core][info] uagent " in p.stderr, p.stderr[:300])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    binary = os.path.abspath(ap.parse_args().binary)
    work = tempfile.mkdtemp(prefix="uagent-logging-")
    try:
        stderr_logger(binary, work)
        file_logger(binary, work)
        syslog_logger(binary, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    raise SystemExit(checks.done("logging"))


if __name__ == "__main__":
    main()
