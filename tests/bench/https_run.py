#!/usr/bin/env python3
"""Peak RSS of a half-managed HTTPS run (PROLOG + INVENTORY to mod_ssl in front of the real OCS
server) of uagent, beside fusioninventory-agent's `--server … --force`, in the same run.

The peak is GNU time's, over the whole process tree (uagent's inventory runs in a child
process). Fails when a target is missed: uagent's peak RSS <= 3 MiB on the x86_64 musl build
and >= 10x less than the Perl agent's in this run (about 40x when measured); the binary within
its row of size-budget/budgets.tsv. The median wall times are printed, not judged: they are
mostly the server's and this machine's.

    tests/bench/https_run.py --binary target/cross/x86_64-unknown-linux-musl/out/default/uagent
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
from lib import Checks, check_size, ocs_server_up, tls_up  # noqa: E402

LIMIT_KIB = 3 * 1024
RATIO = 10.0
PERL_UA = "FusionInventory-Agent_v2.6-3"


def timed(cmd, env=None):
    out = tempfile.NamedTemporaryFile(delete=False)
    out.close()
    p = subprocess.run(["/usr/bin/time", "-f", "%M %e", "-o", out.name] + cmd, capture_output=True, text=True, env=env)
    rss, wall = open(out.name).read().split()[-2:]
    os.unlink(out.name)
    return p.returncode, int(rss), float(wall), p.stderr


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--size-budget", metavar="TRIPLE:SET", help="the budget row for the binary (default: from its path)")
    args = ap.parse_args()
    # The stock OCS server admits the Perl agent's PROLOG only with its exact UA listed.
    ocs_server_up(extra_ua=PERL_UA)
    tls = tls_up()
    checks = Checks()
    work = tempfile.mkdtemp(prefix="uagent-bench-https-")
    try:
        ours, theirs = [], []
        for i in range(args.runs):
            code, rss, wall, err = timed([os.path.abspath(args.binary), "--server", tls["TLS_URL"], "--ca-cert-file", tls["TLS_CA"],
                                          "--vardir", os.path.join(work, "u"), "--force"])
            if code != 0:
                print(f"uagent run failed ({code}): {err[-500:]}")
                return 1
            ours.append((rss, wall))
        for i in range(max(1, args.runs // 2)):
            code, rss, wall, err = timed(["fusioninventory-agent", "--server", tls["TLS_URL"], "--ca-cert-file", tls["TLS_CA"],
                                          "--force", "--no-httpd", "--tasks", "inventory"])
            if code != 0 or "error" in err.lower():
                print(f"note: fusioninventory-agent said: {err.strip()[-300:]}")
            theirs.append((rss, wall))
        u_rss, p_rss = max(r for r, _ in ours), max(r for r, _ in theirs)
        u_wall, p_wall = sorted(w for _, w in ours)[len(ours) // 2], sorted(w for _, w in theirs)[len(theirs) // 2]
        print(f"half-managed HTTPS run (PROLOG + INVENTORY, {args.runs} runs of uagent, {len(theirs)} of the Perl agent)")
        print(f"{'':30} {'peak RSS':>10} {'median wall':>12}")
        print(f"{'uagent':30} {u_rss:>6} KiB {u_wall:>10.2f} s")
        print(f"{'fusioninventory-agent':30} {p_rss:>6} KiB {p_wall:>10.2f} s")
        wall_ratio = f"{p_wall / u_wall:>10.1f} x" if u_wall > 0 else f"{'-':>12}"  # GNU time counts in 10 ms
        print(f"{'ratio':30} {p_rss / u_rss:>8.1f} x {wall_ratio}")
        print("(absolute times depend on this machine, its load and the server: printed, not judged)")
        checks.true(f"uagent peak RSS {u_rss} KiB <= {LIMIT_KIB} KiB", u_rss <= LIMIT_KIB)
        checks.true(f"{p_rss / u_rss:.1f}x less memory than fusioninventory-agent (target >= {RATIO:.0f}x)", p_rss / u_rss >= RATIO)
        check_size(checks, args.binary, args.size_budget)
        return checks.done("bench-https")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
