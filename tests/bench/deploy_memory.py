#!/usr/bin/env python3
"""Memory of a deployment: a 50 MiB OCS package (a tar.gz of 50 MiB of random data, in five
fragments) fetched, hashed, unpacked and run by the deploy task process, whose peak RSS
(GNU time's maximum resident set size) must stay within 4 MiB. The package is served by the
project's deploy test server (info over HTTPS, fragments over HTTP, the result accepted as the
OCS server does); the task is started as the agent starts it, with its job on standard input.

    tests/bench/deploy_memory.py --binary target/full/release/uagent
"""
import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "deploy"))
from lib import Checks  # noqa: E402
from deploylib import info_xml, make_ca, tar_gz  # noqa: E402

SERVER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "peers", "deploy_server.py")
PACKAGE_MIB = 50
FRAGMENTS = 5
BUDGET_KIB = 4 * 1024
PKG = 2026129999


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    args = ap.parse_args()
    checks = Checks(always_detail=True)
    if not shutil.which("time") and not os.path.exists("/usr/bin/time"):
        checks.true("GNU time is installed (tests/run.sh installs the `time` package)", False)
        return checks.done("deploy-memory")
    work = tempfile.mkdtemp(prefix="uagent-deploy-bench-")
    srv = os.path.join(work, "srv")
    os.makedirs(os.path.join(srv, "files"))
    ca, cert, key = make_ca(work)
    server = subprocess.Popen([sys.executable, SERVER, "--dir", srv, "--cert", cert, "--key", key], stdout=subprocess.PIPE, text=True)
    try:
        ports = dict(server.stdout.readline().strip().split("=") for _ in range(2))
        http, https = int(ports["HTTP"]), int(ports["HTTPS"])
        archive = tar_gz({"run.sh": (b"#!/bin/sh\ntest -s big.bin && echo ok\n", 0o644),
                          "big.bin": (os.urandom(PACKAGE_MIB * 1024 * 1024), 0o644)})
        step = -(-len(archive) // FRAGMENTS)
        files = {}
        for n in range(FRAGMENTS):
            name = f"frag-{n + 1}"
            with open(os.path.join(srv, "files", name), "wb") as f:
                f.write(archive[n * step:(n + 1) * step])
            files[f"/f/{PKG}/{PKG}-{n + 1}"] = {"file": name}
        with open(os.path.join(srv, "files", "info"), "w") as f:
            f.write(info_xml(PKG, "EXECUTE", "sh run.sh", FRAGMENTS, hashlib.md5(archive).hexdigest()))
        files[f"/f/{PKG}/info"] = {"file": "info"}
        json.dump({"files": files}, open(os.path.join(srv, "scenario.json"), "w"))
        vardir = os.path.join(work, "var")
        job = "\n".join([
            "uagent-deploy-job 1", "family ocs", f"server http://127.0.0.1:{http}/ocsinventory",
            "deviceid bench-2026-01-01-00-00-00", "max-delay 0",
            "param TYPE=CONF ON=1 FRAG_LATENCY=0 CYCLE_LATENCY=0 PERIOD_LATENCY=0 PERIOD_LENGTH=10 TIMEOUT=30",
            f"param TYPE=PACK ID={PKG} INFO_LOC=127.0.0.1:{https}/f PACK_LOC=127.0.0.1:{http}/f FORCE=0",
            "settings", 'deploy = "ocs"', f'vardir = "{vardir}"', f'ca-cert-file = "{ca}"', 'deploy-sources = "127.0.0.1"', ""])
        rss_file = os.path.join(work, "rss")
        t0 = time.monotonic()
        p = subprocess.run(["/usr/bin/time", "-o", rss_file, "-f", "%M", args.binary, "task", "deploy", "--job", "-"],
                           input=job, capture_output=True, text=True, timeout=600)
        took = time.monotonic() - t0
        rss = int(open(rss_file).read().split()[-1])
        results = [json.loads(l) for l in open(os.path.join(srv, "requests.jsonl")) if '"DOWNLOAD"' in l]
        checks.equal("task exit code", 0, p.returncode)
        checks.equal("result sent to the server", ["SUCCESS"], [r.get("err") for r in results])
        print(f"  package: {len(archive) / 1048576:.1f} MiB in {FRAGMENTS} fragments; fetched, hashed, unpacked and run in {took:.1f} s "
              f"({len(archive) / 1048576 / took:.1f} MiB/s)")
        print(f"  peak RSS of the deploy task process: {rss} KiB ({rss / 1024:.2f} MiB)")
        checks.true(f"peak RSS {rss} KiB <= {BUDGET_KIB} KiB", rss <= BUDGET_KIB, p.stderr[-800:] if rss > BUDGET_KIB else f"{rss} KiB")
    finally:
        server.kill()
        server.wait()
        shutil.rmtree(work, ignore_errors=True)
    return checks.done("deploy-memory")


if __name__ == "__main__":
    sys.exit(main())
