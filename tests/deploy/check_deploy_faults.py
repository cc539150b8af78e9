#!/usr/bin/env python3
"""Deployment fed bad input, by the project's deploy test server (tests/peers/deploy_server.py)
for what a real server will not produce: an info file that is not XML, a fragment longer than
its Content-Length says, a fragment cut short (resumed with an HTTP Range request), a disk that
fills up during the download (a small tmpfs as the state directory), and GLPI job lists that
are malformed, huge or deeply nested. Each gives a clear code or log line, leaves nothing
behind, and the agent goes on (the inventory of the same run is still sent, exit code 0).

    tests/deploy/check_deploy_faults.py --binary target/full/debug/uagent
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
from lib import Checks  # noqa: E402
from deploylib import info_xml, make_ca, tar_gz  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SERVER = os.path.join(HERE, "..", "peers", "deploy_server.py")
checks = Checks()


def leftovers(root):
    """Files under a state directory that deployment left (its own state files excluded)."""
    out = []
    for r, _, fs in os.walk(root):
        for f in fs:
            p = os.path.relpath(os.path.join(r, f), root)
            if "/deploy/" in f"/{p}" and not p.endswith(("/deploy/results", "/deploy/history")) or p.startswith("deploy-work/"):
                out.append(p)
    return sorted(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="uagent-deploy-faults-")
    srv = os.path.join(work, "srv")
    os.makedirs(os.path.join(srv, "files"))
    os.makedirs(os.path.join(srv, "parts"))
    ca, cert, key = make_ca(work)
    server = subprocess.Popen([sys.executable, SERVER, "--dir", srv, "--cert", cert, "--key", key], stdout=subprocess.PIPE, text=True)
    ports = dict(server.stdout.readline().strip().split("=") for _ in range(2))
    http, https = int(ports["HTTP"]), int(ports["HTTPS"])
    small = os.path.join(work, "small")
    mounted = False
    reqlog = os.path.join(srv, "requests.jsonl")
    reqs = lambda: [json.loads(l) for l in open(reqlog) if l.strip()] if os.path.exists(reqlog) else []
    try:
        files = {}

        def package(pkg_id, archive, fault="none", info=None, frags=1):
            """Serves a package: its info over HTTPS at /f/<ID>/info, its fragment(s) over HTTP."""
            name = f"{pkg_id}.tar.gz"
            with open(os.path.join(srv, "files", name), "wb") as f:
                f.write(archive)
            files[f"/f/{pkg_id}/{pkg_id}-1"] = {"file": name, "fault": fault}
            iname = f"{pkg_id}.info"
            with open(os.path.join(srv, "files", iname), "w") as f:
                f.write(info if info is not None else info_xml(pkg_id, "EXECUTE", "sh run.sh", frags, hashlib.md5(archive).hexdigest()))
            files[f"/f/{pkg_id}/info"] = {"file": iname}
            return {"ID": str(pkg_id), "INFO_LOC": f"127.0.0.1:{https}/f", "PACK_LOC": f"127.0.0.1:{http}/f", "FORCE": "0"}

        ok_script = lambda mark: tar_gz({"run.sh": (f"#!/bin/sh\necho ran > {work}/{mark}\n".encode(), 0o644)})
        big = tar_gz({"run.sh": (b"#!/bin/sh\nexit 0\n", 0o644), "big.bin": (os.urandom(6 * 1024 * 1024), 0o644)})
        packs = [
            package(101, ok_script("101"), info="this is not XML at all\n"),
            package(102, ok_script("102") + b"\0" * 4096, fault="overlong"),
            package(103, tar_gz({"run.sh": (f"#!/bin/sh\necho ran > {work}/103\n".encode(), 0o644),
                                 "pad.bin": (os.urandom(400_000), 0o644)}), fault="cut"),
        ]
        conf = {"ON": "1", "FRAG_LATENCY": "0", "CYCLE_LATENCY": "0", "PERIOD_LATENCY": "0", "PERIOD_LENGTH": "10", "TIMEOUT": "30"}
        scenario = {"ocs": {"conf": conf, "packs": packs}, "files": files}
        json.dump(scenario, open(os.path.join(srv, "scenario.json"), "w"))
        url = f"http://127.0.0.1:{http}/ocsinventory"
        agent = [args.binary, "--server", url, "--ca-cert-file", ca, "--no-category", "process,software", "--deploy", "ocs,glpi",
                 "--deploy-sources", "127.0.0.1"]
        results = lambda: {r["id"]: r["err"] for r in reqs() if r.get("query") == "DOWNLOAD"}

        print("== an info file that is not XML, a fragment longer than announced, a fragment cut short")
        var = os.path.join(work, "var")
        p = subprocess.run(agent + ["--vardir", var], capture_output=True, text=True, timeout=180, stdin=subprocess.DEVNULL)
        checks.equal("exit code", 0, p.returncode)
        r = results()
        checks.equal("info file not XML: ERR_DOWNLOAD_INFO", "ERR_DOWNLOAD_INFO", r.get("101"))
        checks.true("…and the log says what it is", "101: https://127.0.0.1:" in p.stderr and "not a valid info file" in p.stderr)
        checks.equal("a fragment longer than its Content-Length: only the announced bytes taken, so ERR_BAD_DIGEST", "ERR_BAD_DIGEST", r.get("102"))
        checks.equal("a fragment cut short: resumed, SUCCESS", "SUCCESS", r.get("103"))
        ranges = [q.get("range") for q in reqs() if q.get("path") == "/f/103/103-1"]
        checks.true("…the second request asked for the rest with a Range", len(ranges) == 2 and ranges[0] is None
                    and (ranges[1] or "").startswith("bytes=") and ranges[1] != "bytes=0-", str(ranges))
        checks.true("…and the log says where it resumed", "resumed at byte" in p.stderr)
        checks.true("the package ran once rebuilt", os.path.exists(os.path.join(work, "103")))
        checks.true("nothing of the others ran", not os.path.exists(os.path.join(work, "101")) and not os.path.exists(os.path.join(work, "102")))
        checks.equal("nothing left behind in the state directory", [], leftovers(var))
        checks.true("the inventory of the same run was sent", any(q.get("query") == "INVENTORY" for q in reqs()))

        print("== past TIMEOUT days, commands refused by deploy-exec = no, a result the server refuses")
        files.clear()
        packs = [package(104, ok_script("104")), package(105, ok_script("105"))]
        target = os.path.join(var, "targets", f"http___127.0.0.1_{http}_ocsinventory", "deploy", "ocs", "104")
        os.makedirs(target, exist_ok=True)
        with open(os.path.join(target, "since"), "w") as f:
            f.write(f"{int(time.time()) - 40 * 86400}\n")
        json.dump({"ocs": {"conf": conf, "packs": packs, "result_status": 500}, "files": files}, open(os.path.join(srv, "scenario.json"), "w"))
        open(reqlog, "w").close()
        p = subprocess.run(agent + ["--vardir", var, "--deploy-exec", "no"], capture_output=True, text=True, timeout=180, stdin=subprocess.DEVNULL)
        checks.equal("exit code", 0, p.returncode)
        r = results()
        checks.equal("first seen 40 days ago, TIMEOUT 30: ERR_TIMEOUT", "ERR_TIMEOUT", r.get("104"))
        checks.equal("an EXECUTE under deploy-exec = no: ERR_BAD_PARAM", "ERR_BAD_PARAM", r.get("105"))
        checks.true("…and nothing ran", not os.path.exists(os.path.join(work, "105")))
        checks.true("the server answered 500: the log says the results are kept", "kept for the next run" in p.stderr)
        json.dump({"ocs": {"conf": conf, "packs": []}, "files": files}, open(os.path.join(srv, "scenario.json"), "w"))
        open(reqlog, "w").close()
        p = subprocess.run(agent + ["--vardir", var], capture_output=True, text=True, timeout=180, stdin=subprocess.DEVNULL)
        checks.equal("the next run sends the kept results", {"104": "ERR_TIMEOUT", "105": "ERR_BAD_PARAM"}, results())
        kept = os.path.join(var, "targets", f"http___127.0.0.1_{http}_ocsinventory", "deploy", "results")
        checks.true("…and keeps nothing more", not os.path.exists(kept) and leftovers(var) == [])

        print("== a disk that fills up during the download (a 4 MiB tmpfs as the state directory)")
        os.makedirs(small)
        m = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m,mode=0755", "tmpfs", small], capture_output=True, text=True)
        if not checks.true("a 4 MiB tmpfs mounted (needs root)", m.returncode == 0, m.stderr.strip()):
            return checks.done("deploy-faults")
        mounted = True
        files.clear()
        packs = [package(201, big, fault="chunked"), package(202, big), package(203, ok_script("203"))]
        json.dump({"ocs": {"conf": conf, "packs": packs}, "files": files}, open(os.path.join(srv, "scenario.json"), "w"))
        open(reqlog, "w").close()
        p = subprocess.run(agent + ["--vardir", os.path.join(work, "var2"), "--statedir", small, "--deploy-min-free", "1"],
                           capture_output=True, text=True, timeout=180, stdin=subprocess.DEVNULL)
        checks.equal("exit code", 0, p.returncode)
        r = results()
        checks.equal("6 MiB sent without a length: the disk fills during the download, ERR_OUT_OF_SPACE", "ERR_OUT_OF_SPACE", r.get("201"))
        checks.equal("6 MiB announced: refused before it is written, ERR_OUT_OF_SPACE", "ERR_OUT_OF_SPACE", r.get("202"))
        checks.equal("a small package still fits and runs", "SUCCESS", r.get("203"))
        checks.true("the log says how much space there is", "KiB free" in p.stderr, p.stderr[-800:])
        checks.equal("nothing left behind on the small disk", [], leftovers(small))
        used = shutil.disk_usage(small).used
        checks.true(f"the small disk is empty again ({used} bytes used)", used < 256 * 1024)
        checks.true("nothing was deleted to make room (the state file is still there)",
                    os.path.exists(os.path.join(small, "targets", os.listdir(os.path.join(small, "targets"))[0], "state")))

        print("== GLPI job lists that are malformed, huge or deeply nested")
        for what, jobs, why in [
            ("malformed", '{"jobs":[{"uuid":"a1",', "malformed JSON"),
            ("huge", '{"jobs":[],"associatedFiles":{},"pad":"' + "x" * (2 * 1024 * 1024) + '"}', "larger than the 1048576-byte limit"),
            ("deeply nested", "[" * 5000 + "]" * 5000, "nested too deep"),
        ]:
            json.dump({"glpi": {"contact_tasks": {"inventory": {"server": "glpi"}, "deploy": {"server": "glpiinventory"}}, "jobs": jobs}},
                      open(os.path.join(srv, "scenario.json"), "w"))
            open(reqlog, "w").close()
            var3 = os.path.join(work, f"var-{what.replace(' ', '-')}")
            # The same agent against the GLPI flavour of the server: its own target URL.
            p = subprocess.run([a if a != url else f"http://127.0.0.1:{http}/" for a in agent] + ["--vardir", var3],
                               capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
            got = reqs()
            checks.equal(f"{what}: exit code", 0, p.returncode)
            checks.true(f"{what}: the log says why ({why})", why in p.stderr, p.stderr[-600:])
            checks.equal(f"{what}: no job status sent", [], [q for q in got if q.get("action") == "setStatus"])
            checks.true(f"{what}: the inventory of the same run was sent", any(q.get("action") == "inventory" for q in got))
            checks.equal(f"{what}: nothing left behind", [], leftovers(var3))
    finally:
        server.kill()
        server.wait()
        if mounted:
            subprocess.run(["umount", small], capture_output=True)
        shutil.rmtree(work, ignore_errors=True)
    return checks.done("deploy-faults")


if __name__ == "__main__":
    sys.exit(main())
