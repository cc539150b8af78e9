#!/usr/bin/env python3
"""Benchmark of the SNMP inventory: the 45 snmpsim-data recordings of tests/netinventory/ through
`uagent netinventory --file` (the static x86_64 musl build) and Debian's
`fusioninventory-netinventory --file`, in the same run: total wall time and the largest peak
RSS of each (GNU time). Then a 53-port switch (dcrs-5980-28t-dc) live from snmpsim on loopback.

Prints the absolute figures; fails on what does not depend on how busy the machine is: the
speed ratio to the Perl agent measured in this run (--file, and live against the same snmpsim),
uagent's peak RSS for the 53-port switch (<= 4 MiB, through --file and live) and the largest
peak RSS relative to the Perl agent's. The live bound of 2 s is the issue's aim: printed, with
whether it was met, not judged (no absolute time is).

    python3 tests/bench/netinventory.py --binary target/cross/x86_64-unknown-linux-musl/out/full/uagent
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "netinventory"))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
from lib import Checks, SHARED, free_port, wait_for, stop  # noqa: E402
from recordings import VENV, write_walks  # noqa: E402

SYSOBJECT_IDS = os.path.join(SHARED, "data", "sysobject.ids", "sysobject.ids")
# The issue aims at >= 20x and <= 4 MiB for a 48-port switch; the gate on the ratio is set
# below what this machine measured under load (see README's Measured), never on a time.
SPEED_RATIO = 10.0
RSS_LIMIT_KIB = 4096
# Measured 6.1x less memory than the Perl agent at the largest recording.
FILE_RSS_RATIO = 4.0
LIVE_RATIO = 2.0  # measured 4.1x (snmpsim, in Python, is most of both times)
LIVE = "dcrs-5980-28t-dc"


def timed(cmd):
    with tempfile.NamedTemporaryFile(delete=False) as f:
        path = f.name
    t0 = time.monotonic()
    p = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", path] + cmd, capture_output=True)
    wall = time.monotonic() - t0
    rss = int(open(path).read().split()[-1])
    os.unlink(path)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {p.returncode}: {p.stderr[-800:]}")
    return wall, rss


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    a = ap.parse_args()
    binary = os.path.abspath(a.binary)
    checks = Checks(always_detail=True)
    tmp = tempfile.mkdtemp(prefix="ni-bench-")
    os.chmod(tmp, 0o755)
    try:
        walks = os.path.join(tmp, "walks")
        recs = write_walks(walks)
        ours_wall = perl_wall = 0.0
        ours_rss = perl_rss = 0
        per = {}
        for name, _ in recs:
            w = os.path.join(walks, name + ".walk")
            t, r = timed([binary, "netinventory", "--file", w, "--sysobject-ids", SYSOBJECT_IDS,
                          "--deviceid", "bench-2026-01-01-00-00-00"])
            ours_wall += t
            ours_rss = max(ours_rss, r)
            per[name] = (r, os.path.getsize(w))
            t, r = timed(["fusioninventory-netinventory", "--host", "127.0.0.1", "--file", w])
            perl_wall += t
            perl_rss = max(perl_rss, r)
        print(f"  {len(recs)} recordings --file: uagent {ours_wall:.2f} s, peak RSS {ours_rss} KiB; "
              f"fusioninventory-netinventory {perl_wall:.2f} s, peak RSS {perl_rss} KiB")
        for name, (r, size) in sorted(per.items(), key=lambda kv: -kv[1][0])[:5]:
            print(f"    {name}: peak RSS {r} KiB, walk file {size // 1024} KiB")
        print(f"  ratios: {perl_wall / ours_wall:.1f}x faster, {perl_rss / ours_rss:.1f}x less memory")
        checks.true(f"{perl_wall / ours_wall:.1f}x faster than the Perl agent (>= {SPEED_RATIO:.0f}x; aim 20x)",
                    perl_wall / ours_wall >= SPEED_RATIO)
        # --file holds the whole walk in memory (compact: about 1.5x the text's size); the aim
        # of 4 MiB is for a 48-port switch (below), the largest recordings are judged beside Fusion.
        checks.true(f"uagent's largest peak RSS {ours_rss} KiB at most 1/{FILE_RSS_RATIO:.0f} of the Perl agent's "
                    f"{perl_rss} KiB", ours_rss * FILE_RSS_RATIO <= perl_rss)
        r = per[LIVE][0]
        checks.true(f"the 53-port switch {LIVE} through --file: peak RSS {r} KiB <= {RSS_LIMIT_KIB} KiB",
                    r <= RSS_LIMIT_KIB)
        # Live: the 53-port switch from snmpsim.
        data = os.path.join(tmp, "data")
        cache = os.path.join(tmp, "cache")
        os.makedirs(data)
        os.makedirs(cache)
        os.chmod(cache, 0o777)
        os.chmod(data, 0o755)
        shutil.copy(os.path.join(walks, LIVE + ".snmprec"), os.path.join(data, LIVE + ".snmprec"))
        port = free_port()
        sim = subprocess.Popen([os.path.join(VENV, "bin", "snmpsim-command-responder"), f"--data-dir={data}",
                                f"--cache-dir={cache}", f"--agent-udpv4-endpoint=127.0.0.1:{port}",
                                "--process-user=nobody", "--process-group=nogroup"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_for(lambda: subprocess.run(["snmpget", "-v2c", "-c", LIVE, "-t", "1", "-r", "0",
                                             f"127.0.0.1:{port}", ".1.3.6.1.2.1.1.1.0"],
                                            capture_output=True).returncode == 0, 60, 0.5)
            cmd = [binary, "netinventory", "--host", "127.0.0.1", "--port", str(port), "--community", LIVE,
                   "--sysobject-ids", SYSOBJECT_IDS, "--deviceid", "bench-2026-01-01-00-00-00"]
            walls = []
            for _ in range(3):
                t, r = timed(cmd)
                walls.append(t)
            best = min(walls)
            perl = []
            for _ in range(2):
                t, _ = timed(["fusioninventory-netinventory", "--host", "127.0.0.1", "--port", str(port),
                              "--community", LIVE, "--timeout", "5"])
                perl.append(t)
            ratio = min(perl) / best
            print(f"  live {LIVE} (53 ports) from snmpsim: uagent {', '.join(f'{w:.2f}' for w in walls)} s "
                  f"(aim: under 2 s: {'met' if best < 2 else 'NOT met'}), peak RSS {r} KiB; "
                  f"fusioninventory-netinventory {', '.join(f'{w:.2f}' for w in perl)} s: {ratio:.1f}x")
            checks.true(f"live 53-port switch peak RSS {r} KiB <= {RSS_LIMIT_KIB} KiB", r <= RSS_LIMIT_KIB)
            checks.true(f"live 53-port switch {ratio:.1f}x faster than the Perl agent against the same snmpsim "
                        f"(>= {LIVE_RATIO:.0f}x)", ratio >= LIVE_RATIO)
        finally:
            stop(sim)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return checks.done("bench netinventory")


if __name__ == "__main__":
    sys.exit(main())
