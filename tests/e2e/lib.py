"""What the end-to-end scripts under tests/ share: counting checks and closing with a summary
and an exit code, the OCS server's database, free ports, waiting, and bringing up the peers
(the real OCS server, the TLS endpoint in front of it, the CONNECT proxies).

A script imports it with its directory on the path:

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
    from lib import Checks, sql, free_port, wait_for

Standard library only: the scripts also run before anything is pip-installed.
"""
import os
import socket
import subprocess
import sys
import time

E2E = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.dirname(E2E)
REPO = os.path.dirname(TESTS)
# ../shared beside the repository: the corpus, GLPI's schema, the team's tools.
SHARED = os.path.normpath(os.path.join(REPO, "..", "shared"))
SCHEMA = os.path.join(SHARED, "schema", "inventory.schema.json")
OCS_URL = "http://127.0.0.1/ocsinventory"


class Checks:
    """Counts passed and failed checks and prints one line for each.

    `equal(what, want, got)`: passes when want == got; prints what it got, and what was
    expected when they differ. `true(what, ok, detail)`: passes when ok is true; prints the
    detail when it fails (always, with `always_detail=True`). Both return whether it passed.
    `done(name)` prints the closing line 'NAME: N passed, M failed' and returns the exit
    status (1 when anything failed, or when no check ran at all)."""

    def __init__(self, always_detail=False):
        self.passed = 0
        self.failed = 0
        self.always_detail = always_detail

    def _count(self, ok):
        if ok:
            self.passed += 1
        else:
            self.failed += 1
        return ok

    def equal(self, what, want, got):
        ok = want == got
        print(f"  {'ok  ' if ok else 'FAIL'} {what}: {got!r}" + ("" if ok else f" (expected {want!r})"), flush=True)
        return self._count(ok)

    def true(self, what, ok, detail=""):
        ok = bool(ok)
        show = detail != "" if self.always_detail else (not ok and bool(detail))
        print(f"  {'ok  ' if ok else 'FAIL'} {what}" + (f": {detail}" if show else ""), flush=True)
        return self._count(ok)

    def done(self, name):
        """Prints 'NAME: N passed, M failed' and returns the exit status."""
        print(f"{name}: {self.passed} passed, {self.failed} failed", flush=True)
        if self.passed + self.failed == 0:
            print(f"{name}: no check ran", flush=True)
            return 1
        return 1 if self.failed else 0


# --- the OCS server's database -------------------------------------------------------------

def sql(query, db="ocsweb"):
    """Rows of a query on the OCS server's MariaDB (as root, over its socket), as lists of
    strings."""
    out = subprocess.run(["mariadb", "-N", "-B", db, "-e", query], check=True, capture_output=True, text=True)
    return [line.split("\t") for line in out.stdout.splitlines()]


# --- ports and waiting -----------------------------------------------------------------------

def free_port(host="127.0.0.1"):
    """A TCP port nothing listens on right now (the kernel's pick)."""
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def wait_for(pred, timeout, step=0.1):
    """Calls pred() every `step` seconds until it is true (returns True) or `timeout` seconds
    have passed (returns False)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(step)
    return False


def stop(proc, timeout=20):
    """Kills a subprocess.Popen that is still running and reaps it."""
    if proc is not None and proc.poll() is None:
        proc.kill()
    if proc is not None:
        proc.wait(timeout=timeout)


# --- the peers ---------------------------------------------------------------------------------

def _script(path, *args, env=None):
    """Runs one of the peers' shell scripts; its stdout. When it fails, what it printed is
    shown before the error, so that a stopped run says why."""
    p = subprocess.run(["bash", path, *args], capture_output=True, text=True, env=env)
    if p.returncode != 0:
        sys.stderr.write(f"--- {os.path.basename(path)}: stdout\n{p.stdout[-2000:]}--- stderr\n{p.stderr[-4000:]}")
        raise RuntimeError(f"{os.path.relpath(path, REPO)} {' '.join(args)} exited {p.returncode}")
    return p.stdout


def _key_values(text):
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)


def ocs_server_up(reset_db=False, extra_ua=None):
    """Installs and starts the real OCS Inventory server on 127.0.0.1 (tests/ocs/server-up.sh,
    idempotent); returns its URL. extra_ua: a User-Agent its PROLOG must also admit."""
    env = dict(os.environ, OCS_EXTRA_UA=extra_ua) if extra_ua else None
    _script(os.path.join(TESTS, "ocs", "server-up.sh"), *(["--reset-db"] if reset_db else []), env=env)
    return OCS_URL


def ocs_server_down():
    _script(os.path.join(TESTS, "ocs", "server-up.sh"), "--stop")


def tls_up():
    """mod_ssl in front of the OCS server (tests/peers/tls-up.sh): its KEY=VALUE lines as a
    dict (TLS_URL, TLS_CA, TLS_FINGERPRINT_SHA256, ...)."""
    return _key_values(_script(os.path.join(TESTS, "peers", "tls-up.sh")))


def tls_down():
    _script(os.path.join(TESTS, "peers", "tls-up.sh"), "--stop")


def proxy_up():
    """The CONNECT proxies (tests/peers/proxy-up.sh): PROXY_URL, PROXY_LOG, PROXY_AUTH_... ."""
    return _key_values(_script(os.path.join(TESTS, "peers", "proxy-up.sh")))


def proxy_down():
    _script(os.path.join(TESTS, "peers", "proxy-up.sh"), "--stop")


# --- sizes -------------------------------------------------------------------------------------

BUDGETS = os.path.join(REPO, "size-budget", "budgets.tsv")


def size_budget_kib(triple, set_):
    """The budget row of size-budget/budgets.tsv for TRIPLE and SET, in KiB, or None."""
    with open(BUDGETS) as f:
        for line in f:
            cols = line.split("#", 1)[0].split()
            if len(cols) >= 3 and (cols[0], cols[1]) == (triple, set_):
                return int(cols[2])
    return None


def cross_target_and_set(binary):
    """(TRIPLE, SET) of a binary that cross/build left in target/cross/TRIPLE/out/SET/uagent,
    else None."""
    parts = os.path.abspath(binary).split(os.sep)
    if len(parts) >= 5 and parts[-3] == "out" and parts[-5] == "cross":
        return parts[-4], parts[-2]
    return None


def check_size(checks, binary, pair=None):
    """One check: the binary's size within its size-budget row. pair: "TRIPLE:SET", else read
    from the binary's path under target/cross."""
    size = os.path.getsize(binary)
    ts = tuple(pair.rsplit(":", 1)) if pair else cross_target_and_set(binary)
    if ts is None:
        return checks.true(f"size of {binary}: {size:,} bytes, within its budget", False,
                           "not a cross/build output: give its TRIPLE:SET to compare with size-budget/budgets.tsv")
    budget = size_budget_kib(*ts)
    if budget is None:
        return checks.true(f"size of {binary}: {size:,} bytes, within its budget", False, f"no row for {ts[0]} {ts[1]} in {BUDGETS}")
    return checks.true(f"binary size {size / 1024:.0f} KiB <= {budget} KiB ({ts[0]} {ts[1]}, size-budget/budgets.tsv)",
                       size <= budget * 1024)
