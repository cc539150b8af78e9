#!/usr/bin/env python3
"""OCS package deployment against the REAL OCS Inventory server on loopback.

The server offers packages as its console would (deploy.md §B.2: DOWNLOAD switched on, rows in
download_available, download_enable and devices); the packages' files are served at /download
over HTTP and HTTPS by a second Apache instance of this test's own (the stock Apache and its
configuration are not touched). What the agent did is read where the server keeps it:
devices.TVALUE per package, download_history after an inventory; and in the files it left.

Cases: a two-fragment EXECUTE that succeeds, a STORE, a bad digest, a LAUNCH whose script exits
3, a missing info file, an EXECUTE that fails, one that overruns its time limit, one refused by
deploy-sources, a tar that tries `../`, a run with deploy off (nothing happens), a package
already in the local history, the history in the next inventory, and a resume: the run killed
after fragment 1, the next fetches fragment 2 only (the access log says so).

Every step that uses the server runs under /tmp/uagent-ocs.lock: run the script with
`flock /tmp/uagent-ocs.lock tests/deploy/check_ocs_deploy.py --binary …`.
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

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
from lib import OCS_URL, Checks, ocs_server_up, sql, wait_for  # noqa: E402
from deploylib import Apache, make_ca, tar_gz, write_package  # noqa: E402

checks = Checks()
BASE = 2026120100  # package ids of this test: BASE + n
P = {name: BASE + n for n, name in enumerate(
    ["exec", "store", "digest", "launch", "noinfo", "fail", "overrun", "refused", "escape", "resume", "off"], start=1)}
CONFIG_KEYS = ("DOWNLOAD", "DOWNLOAD_FRAG_LATENCY", "DOWNLOAD_CYCLE_LATENCY", "DOWNLOAD_PERIOD_LATENCY",
               "DOWNLOAD_PERIOD_LENGTH", "DOWNLOAD_TIMEOUT")


def set_config(values):
    for k, v in values.items():
        sql(f"UPDATE config SET IVALUE={int(v)} WHERE NAME='{k}'")


def remove_rows(hw=None):
    ids = ",".join(f"'{i}'" for i in P.values())
    enable = [r[0] for r in sql(f"SELECT ID FROM download_enable WHERE FILEID IN ({ids})")]
    if enable:
        sql(f"DELETE FROM devices WHERE NAME LIKE 'DOWNLOAD%' AND IVALUE IN ({','.join(enable)})")
    sql(f"DELETE FROM download_enable WHERE FILEID IN ({ids})")
    sql(f"DELETE FROM download_available WHERE FILEID IN ({ids})")
    if hw:
        sql(f"DELETE FROM download_history WHERE HARDWARE_ID={int(hw)}")


def offer(hw, pkg_id, info_loc, pack_loc, frags=1):
    """What the console's build, activate and affect pages insert (offer.sql)."""
    sql(f"INSERT INTO download_available (FILEID,NAME,PRIORITY,FRAGMENTS,SIZE,OSNAME,COMMENT) "
        f"VALUES ('{pkg_id}','uagent-test-{pkg_id}',5,{frags},0,'LINUX','uagent deploy test')")
    sql(f"INSERT INTO download_enable (FILEID,INFO_LOC,PACK_LOC,CERT_PATH,CERT_FILE) "
        f"VALUES ('{pkg_id}','{info_loc}','{pack_loc}','INSTALL_PATH','INSTALL_PATH/cacert.pem')")
    eid = sql(f"SELECT MAX(ID) FROM download_enable WHERE FILEID='{pkg_id}'")[0][0]
    sql(f"INSERT INTO devices (HARDWARE_ID,NAME,IVALUE,TVALUE,COMMENTS) VALUES ({hw},'DOWNLOAD',{eid},NULL,NULL)")


def tvalues(hw):
    rows = sql(f"SELECT e.FILEID, IFNULL(d.TVALUE,'NULL') FROM devices d JOIN download_enable e ON e.ID=d.IVALUE "
               f"WHERE d.NAME='DOWNLOAD' AND d.HARDWARE_ID={hw}")
    return {int(f): v for f, v in rows}


def run(cmd, timeout=240):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    return p


def build_packages(work, dl, marks, store_root):
    script = lambda body: (f"#!/bin/sh\n{body}\n").encode()
    big = os.urandom(300_000)  # incompressible: the two fragments are real halves
    arch = tar_gz({"run.sh": (script(f"test -s payload.bin && echo ran > {marks}/exec-ran"), 0o644),
                   "payload.bin": (big, 0o644)})
    write_package(dl, P["exec"], arch, 2, "EXECUTE", "sh run.sh")
    arch = tar_gz({"conf/app.conf": (b"key = value\n", 0o640), "bin/tool": (b"#!/bin/sh\necho tool\n", 0o4755)})
    write_package(dl, P["store"], arch, 1, "STORE", f"{store_root}/stored")
    arch = tar_gz({"run.sh": (script(f"echo ran > {marks}/digest-ran"), 0o644)})
    write_package(dl, P["digest"], arch, 1, "EXECUTE", "sh run.sh", digest="0" * 32)
    arch = tar_gz({"run.sh": (script(f"echo ran > {marks}/launch-ran; exit 3"), 0o644)})
    write_package(dl, P["launch"], arch, 1, "LAUNCH", "run.sh")
    arch = tar_gz({"run.sh": (script("exit 0"), 0o644)})
    write_package(dl, P["noinfo"], arch, 1, "EXECUTE", "sh run.sh", info=False)
    arch = tar_gz({"run.sh": (script("echo failing >&2; exit 7"), 0o644)})
    write_package(dl, P["fail"], arch, 1, "EXECUTE", "sh run.sh")
    arch = tar_gz({"run.sh": (script(f"(sleep 6; echo survived > {marks}/overrun-survived) & sleep 60"), 0o644)})
    write_package(dl, P["overrun"], arch, 1, "EXECUTE", "sh run.sh")
    arch = tar_gz({"run.sh": (script(f"echo ran > {marks}/refused-ran"), 0o644)})
    write_package(dl, P["refused"], arch, 1, "EXECUTE", "sh run.sh")
    arch = tar_gz({"run.sh": (script(f"echo ran > {marks}/escape-ran"), 0o644)}, hostile=["../../escaped.txt"])
    write_package(dl, P["escape"], arch, 1, "EXECUTE", "sh run.sh")
    arch = tar_gz({"run.sh": (script(f"echo ran > {marks}/resume-ran"), 0o644), "data.bin": (os.urandom(200_000), 0o644)})
    write_package(dl, P["resume"], arch, 2, "EXECUTE", "sh run.sh")
    arch = tar_gz({"run.sh": (script(f"echo ran > {marks}/off-ran"), 0o644)})
    write_package(dl, P["off"], arch, 1, "EXECUTE", "sh run.sh")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="uagent-deploy-ocs-")
    os.chmod(work, 0o755)
    dl, marks, store_root = (os.path.join(work, d) for d in ("dl", "marks", "store"))
    for d in (dl, marks, store_root):
        os.makedirs(d)
        os.chmod(d, 0o755)
    ca, cert, key = make_ca(work)
    build_packages(work, dl, marks, store_root)
    apache = Apache(work, dl, cert, key)
    vardir = os.path.join(work, "var")
    saved = None
    hw = None
    try:
        apache.start()
        ocs_server_up()
        saved = {k: v for k, v in sql(f"SELECT NAME, IVALUE FROM config WHERE NAME IN ({','.join(repr(k) for k in CONFIG_KEYS)})")}
        remove_rows()
        set_config({"DOWNLOAD": 1, "DOWNLOAD_FRAG_LATENCY": 0, "DOWNLOAD_CYCLE_LATENCY": 0, "DOWNLOAD_PERIOD_LATENCY": 0,
                    "DOWNLOAD_PERIOD_LENGTH": 10, "DOWNLOAD_TIMEOUT": 30})
        agent = [args.binary, "--server", OCS_URL, "--vardir", vardir, "--ca-cert-file", ca, "--no-category", "process,software"]
        deploy_on = ["--deploy", "ocs", "--deploy-sources", "127.0.0.1", "--deploy-paths", store_root,
                     "--deploy-exec-timeout", "3"]
        info_loc = f"127.0.0.1:{apache.https}/download"
        pack_loc = f"127.0.0.1:{apache.http}/download"

        print("== an inventory makes the device known to the server")
        p = run(agent + ["--force"])
        checks.equal("exit code", 0, p.returncode)
        deviceid = open(os.path.join(vardir, "deviceid")).read().strip()
        hw = int(sql(f"SELECT ID FROM hardware WHERE DEVICEID='{deviceid}'")[0][0])
        for name in ("exec", "store", "digest", "launch", "noinfo", "fail", "overrun", "escape", "off"):
            offer(hw, P[name], info_loc, pack_loc, 2 if name == "exec" else 1)
        offer(hw, P["refused"], f"localhost:{apache.https}/download", f"localhost:{apache.http}/download")

        print("== deploy off: nothing happens, and the log says why once")
        p = run(agent)
        checks.equal("exit code", 0, p.returncode)
        tv = tvalues(hw)
        checks.true("every package NOTIFIED by the PROLOG, none answered", set(tv.values()) == {"NOTIFIED"}, str(tv))
        checks.equal("no request reached the package server", [], apache.requests())
        checks.true("no deploy folder made", not os.path.exists(os.path.join(vardir, "targets", "http___127.0.0.1_ocsinventory", "deploy")))
        why = [l for l in p.stderr.splitlines() if "none is touched" in l]
        checks.equal("one log line says why", 1, len(why))
        checks.true("…naming the setting that turns it on", why and "deploy = ocs" in why[0], str(why))
        checks.true("nothing of the off package ran", not os.path.exists(os.path.join(marks, "off-ran")))

        print("== deploy on: every package ends with its honest code")
        t0 = time.time()
        p = run(agent + deploy_on)
        took = time.time() - t0
        overrun_seen_after = time.time() + 7  # its background child would write 6 s after it started
        checks.equal("exit code", 0, p.returncode)
        tv = tvalues(hw)
        want = {"exec": "SUCCESS", "store": "SUCCESS", "digest": "ERR_BAD_DIGEST", "launch": "EXIT_CODE_3",
                "noinfo": "ERR_DOWNLOAD_INFO", "fail": "EXIT_CODE_7", "overrun": "ERR_EXECUTE_TIMEOUT",
                "refused": "ERR_BAD_PARAM", "escape": "ERR_BUILD", "off": "SUCCESS"}
        for name, code in want.items():
            checks.equal(f"devices.TVALUE of {name} ({P[name]})", code, tv.get(P[name]))
        print(f"  (the deploy run took {took:.1f} s)")
        log = p.stderr
        checks.true("the two-fragment EXECUTE ran in the unpacked package", os.path.exists(os.path.join(marks, "exec-ran")))
        checks.true("the LAUNCH script ran", os.path.exists(os.path.join(marks, "launch-ran")))
        checks.true("nothing of the bad-digest package ran", not os.path.exists(os.path.join(marks, "digest-ran")))
        checks.true("nothing of the refused package ran", not os.path.exists(os.path.join(marks, "refused-ran")))
        checks.true("nothing of the `../` package ran", not os.path.exists(os.path.join(marks, "escape-ran")))
        statedir_files = [os.path.join(r, f) for r, _, fs in os.walk(vardir) for f in fs]
        checks.true("the `../` entry was written nowhere", not any(f.endswith("escaped.txt") for f in statedir_files)
                    and not os.path.exists(os.path.join(work, "escaped.txt")), str([f for f in statedir_files if "escaped" in f]))
        stored = os.path.join(store_root, "stored")
        checks.equal("STORE wrote the files", b"key = value\n", open(os.path.join(stored, "conf/app.conf"), "rb").read()
                     if os.path.exists(os.path.join(stored, "conf/app.conf")) else None)
        mode = os.stat(os.path.join(stored, "bin/tool")).st_mode & 0o7777 if os.path.exists(os.path.join(stored, "bin/tool")) else None
        checks.equal("…with the set-user-ID bit dropped", 0o755, mode)
        work_dir = os.path.join(vardir, "deploy-work")
        checks.equal("no work folder left", [], os.listdir(work_dir) if os.path.isdir(work_dir) else [])
        checks.equal("the work folders' parent is 0700", 0o700, os.stat(work_dir).st_mode & 0o777 if os.path.isdir(work_dir) else None)
        pkg_dir = os.path.join(vardir, "targets", "http___127.0.0.1_ocsinventory", "deploy", "ocs")
        checks.equal("no package folder left (all finished)", [], sorted(os.listdir(pkg_dir)) if os.path.isdir(pkg_dir) else [])
        reqs = apache.requests()
        frag_reqs = [r for r in reqs if r[0].startswith(f"/download/{P['exec']}/{P['exec']}-")]
        checks.equal("each fragment of the two-fragment package fetched once, over HTTP",
                     [(f"/download/{P['exec']}/{P['exec']}-1", "200", apache.http), (f"/download/{P['exec']}/{P['exec']}-2", "200", apache.http)],
                     sorted(frag_reqs))
        info_ports = {r[2] for r in reqs if r[0].endswith("/info")}
        checks.equal("info files only over HTTPS", {apache.https}, info_ports)
        checks.true("no request for the refused package", not any(str(P["refused"]) in r[0] for r in reqs))
        checks.true("the log names the refusal", re.search(rf"package {P['refused']}: info file .* refused: localhost:\d+ is not among deploy-sources", log), log[-1500:])
        checks.true("the log says MD5 is weak", "MD5 is a weak digest" in log)
        checks.true("the log has the command and its exit code", re.search(rf"package {P['fail']}: `sh run.sh` exited 7", log))
        checks.true("every deploy line carries the [deploy] tag", all(l.startswith("[deploy]") for l in log.splitlines() if "package " in l and "[core]" not in l))

        print("== a package already in the local history: SUCCESS_ALREADY_SETUP, nothing fetched")
        sql(f"UPDATE devices d JOIN download_enable e ON e.ID=d.IVALUE SET d.TVALUE=NULL WHERE d.HARDWARE_ID={hw} AND e.FILEID='{P['exec']}'")
        n = len(apache.requests())
        p = run(agent + deploy_on)
        checks.equal("exit code", 0, p.returncode)
        checks.equal("devices.TVALUE", "SUCCESS_ALREADY_SETUP", tvalues(hw).get(P["exec"]))
        checks.equal("no request for it", [], [r for r in apache.requests()[n:] if str(P["exec"]) in r[0]])

        print("== the next inventory carries the history (download_history)")
        p = run(agent + deploy_on + ["--force"])
        checks.equal("exit code", 0, p.returncode)
        hist = sorted(int(r[0]) for r in sql(f"SELECT PKG_ID FROM download_history WHERE HARDWARE_ID={hw}"))
        checks.equal("download_history: the packages that succeeded", sorted([P["exec"], P["store"], P["off"]]), hist)

        print("== resume: a run killed after fragment 1, the next fetches fragment 2 only")
        offer(hw, P["resume"], info_loc, pack_loc, 2)
        set_config({"DOWNLOAD_FRAG_LATENCY": 60})
        n = len(apache.requests())
        proc = subprocess.Popen(agent + deploy_on, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                text=True, start_new_session=True)
        seen = []
        reader = threading.Thread(target=lambda: seen.extend(proc.stderr), daemon=True)
        reader.start()
        got_one = wait_for(lambda: any(f"package {P['resume']}: fragment 1/2" in l for l in seen), 60)
        checks.true("the first run fetched fragment 1", got_one, "".join(seen)[-1500:])
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        reader.join(timeout=10)
        frag1 = os.path.join(vardir, "targets", "http___127.0.0.1_ocsinventory", "deploy", "ocs", str(P["resume"]), "frag-1")
        checks.true("fragment 1 kept for the next run", os.path.exists(frag1))
        checks.equal("the package is still NOTIFIED after the killed run", "NOTIFIED", tvalues(hw).get(P["resume"]))
        set_config({"DOWNLOAD_FRAG_LATENCY": 0})
        p = run(agent + deploy_on)
        checks.equal("exit code", 0, p.returncode)
        checks.equal("devices.TVALUE", "SUCCESS", tvalues(hw).get(P["resume"]))
        frags = sorted(r[0].rsplit("/", 1)[1] for r in apache.requests()[n:] if re.search(rf"/{P['resume']}-\d$", r[0]))
        checks.equal("the access log: fragment 1 once (first run), fragment 2 once (second run)",
                     [f"{P['resume']}-1", f"{P['resume']}-2"], frags)
        checks.true("the second run says what an earlier run fetched", f"package {P['resume']}: fragments 1 to 1 fetched by an earlier run" in p.stderr)
        checks.true("the resumed package ran", os.path.exists(os.path.join(marks, "resume-ran")))

        time.sleep(max(0.0, overrun_seen_after - time.time()))
        checks.true("the overrunning command's whole process group was killed at its limit",
                    not os.path.exists(os.path.join(marks, "overrun-survived")))
    finally:
        apache.stop()
        if saved:
            set_config(saved)
        try:
            remove_rows(hw)
        except Exception as e:  # noqa: BLE001 - the cleanup must not hide the result
            print(f"cleanup: {e}")
        shutil.rmtree(work, ignore_errors=True)
    return checks.done("deploy-ocs")


if __name__ == "__main__":
    sys.exit(main())
