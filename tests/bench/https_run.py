#!/usr/bin/env python3
"""Peak RSS of a half-managed HTTPS run (PROLOG + INVENTORY to mod_ssl in front of the real OCS
server) of uagent, beside fusioninventory-agent's `--server … --force`, in the same run.

The peak is GNU time's, over the whole process tree (uagent's inventory runs in a child
process). Target on the x86_64 musl build: <= 3 MiB.

    tests/bench/https_run.py --binary target/cross/x86_64-unknown-linux-musl/out/default/uagent
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
LIMIT_KIB = 3 * 1024
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
    args = ap.parse_args()
    # The stock OCS server admits the Perl agent's PROLOG only with its exact UA listed.
    env = dict(os.environ, OCS_EXTRA_UA=PERL_UA)
    subprocess.run(["bash", os.path.join(HERE, "..", "ocs", "server-up.sh")], env=env, check=True, capture_output=True)
    out = subprocess.run(["bash", os.path.join(HERE, "..", "peers", "tls-up.sh")], capture_output=True, text=True, check=True).stdout
    tls = dict(l.split("=", 1) for l in out.splitlines() if "=" in l)
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
        print(f"{'ratio':30} {p_rss / u_rss:>8.1f} x")
        ok = u_rss <= LIMIT_KIB
        print(("FAIL " if not ok else "") + f"https run: uagent peak RSS {u_rss} KiB, target <= {LIMIT_KIB} KiB")
        return 0 if ok else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
