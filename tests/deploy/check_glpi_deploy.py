#!/usr/bin/env python3
"""GLPI deploy jobs against the project's own test server of glpiinventory's REST endpoints
(tests/peers/deploy_server.py; no GLPI server can be installed here): the agent speaks GLPI's
native protocol (CONTACT), follows `tasks.deploy.server = glpiinventory`, and runs the jobs of
getJobs: one that passes (three checks, a file in three gzip parts, a tar.gz unpacked, mkdir,
cmd, copy, move, delete), one skipped by a check, one whose check fails, one whose command
fails, one whose download fails (a part missing on the mirror: five retries, the other parts
fetched once). What is checked: the setStatus requests (their parameters, order and terminal
messages, as deploy.md §C.4 captured them), the files left, the parts kept or removed, and that
with deploy off nothing is announced nor asked.

    tests/deploy/check_glpi_deploy.py --binary target/full/debug/uagent
"""
import argparse
import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
from lib import Checks  # noqa: E402
from deploylib import tar_gz  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SERVER = os.path.join(HERE, "..", "peers", "deploy_server.py")
ORDER = ["action", "machineid", "part", "uuid", "sha512", "status", "currentStep", "checknum", "actionnum", "msg"]
checks = Checks()


def sha512(b):
    return hashlib.sha512(b).hexdigest()


def add_file(srv_dir, name, data, parts, uncompress=0, drop=()):
    """A file as the plugin stores it: 1 MiB-ish pieces, each a gzip part named by its sha512."""
    step = -(-len(data) // parts)
    part_names = []
    for i in range(parts):
        gz = gzip.compress(data[i * step:(i + 1) * step])
        h = sha512(gz)
        part_names.append(h)
        if i not in drop:
            with open(os.path.join(srv_dir, "parts", h), "wb") as f:
                f.write(gz)
    return sha512(data), {"name": name, "p2p": 0, "p2p-retention-duration": 0, "uncompress": uncompress,
                          "mirrors": ["MIRROR"], "multiparts": part_names}


def statuses(reqs, uuid):
    out = []
    for r in reqs:
        if r.get("action") != "setStatus":
            continue
        q = urllib.parse.parse_qs(r["query"], keep_blank_values=True)
        if q.get("uuid", [""])[0] != uuid:
            continue
        keys = [k for k, _ in urllib.parse.parse_qsl(r["query"], keep_blank_values=True)]
        g = lambda k: q.get(k, [""])[0]
        out.append({"keys": keys, "part": g("part"), "sha512": g("sha512"), "status": g("status"), "step": g("currentStep"),
                    "checknum": g("checknum"), "actionnum": g("actionnum"), "msg": g("msg")})
    return out


def shape(st):
    return [(s["part"], bool(s["sha512"]), s["status"], s["step"], s["checknum"], s["actionnum"]) for s in st]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="uagent-deploy-glpi-")
    srv_dir = os.path.join(work, "srv")
    store = os.path.join(work, "store")
    for d in (srv_dir, os.path.join(srv_dir, "parts"), store, os.path.join(store, "old")):
        os.makedirs(d)
    open(os.path.join(store, "old", "x"), "w").write("old\n")
    server = subprocess.Popen([sys.executable, SERVER, "--dir", srv_dir], stdout=subprocess.PIPE, text=True)
    port = int(server.stdout.readline().strip().split("=")[1])
    base = f"http://127.0.0.1:{port}/"
    mirror = f"{base}b/deploy/?action=getFilePart&file="
    try:
        hello = b"hello from GLPI\n" * 20000
        f1, spec1 = add_file(srv_dir, "hello.txt", hello, 3)
        bundle = tar_gz({"inner/data.txt": (b"inner data\n", 0o644), "run.sh": (b"#!/bin/sh\necho from bundle\n", 0o755)})
        f2, spec2 = add_file(srv_dir, "bundle.tar.gz", bundle, 1, uncompress=1)
        broken = os.urandom(90_000)
        f3, spec3 = add_file(srv_dir, "broken.bin", broken, 3, drop=(1,))
        for s in (spec1, spec2, spec3):
            s["mirrors"] = [mirror]
        files = {f1: spec1, f2: spec2, f3: spec3}
        out = os.path.join(store, "out")
        uuids = {"ok": "aaaa-0001", "skip": "aaaa-0002", "checkfail": "aaaa-0003", "cmdfail": "aaaa-0004", "dlfail": "aaaa-0005"}
        jobs = {"jobs": [
            {"uuid": uuids["ok"], "associatedFiles": [f1, f2],
             "checks": [{"name": "tmp exists", "type": "directoryExists", "path": "/tmp", "value": "", "return": "error"},
                        {"name": "not yet installed", "type": "fileMissing", "path": os.path.join(out, "hello.txt"), "return": "error"},
                        {"name": "enough space", "type": "freespaceGreater", "path": work, "value": "1", "return": "error"},
                        {"name": "a registry key", "type": "winkeyExists", "path": "HKLM/x", "return": "warning"}],
             "actions": [{"mkdir": {"list": [out], "name": "make out dir"}},
                         {"cmd": {"exec": "test -f hello.txt && test -f inner/data.txt && echo unpacked-ok && sh run.sh",
                                  "name": "show workdir", "logLineLimit": "10", "retChecks": [{"type": "okCode", "values": ["0"]}]}},
                         {"copy": {"from": "hello.txt", "to": out + "/", "name": "copy hello"}},
                         {"move": {"from": "inner", "to": out + "/", "name": "move inner"}},
                         {"delete": {"list": [os.path.join(store, "old")], "name": "delete leftovers"}}]},
            {"uuid": uuids["skip"], "associatedFiles": [],
             "checks": [{"type": "fileExists", "path": "/nonexistent/uagent", "return": "skip"}], "actions": []},
            {"uuid": uuids["checkfail"], "associatedFiles": [],
             "checks": [{"type": "freespaceGreater", "path": work, "value": "999999999", "return": "error"}], "actions": []},
            {"uuid": uuids["cmdfail"], "associatedFiles": [], "checks": [],
             "actions": [{"cmd": {"exec": "echo failing; exit 3", "retChecks": [{"type": "okCode", "values": ["0"]}]}},
                         {"mkdir": {"list": [os.path.join(store, "never")]}}]},
            {"uuid": uuids["dlfail"], "associatedFiles": [f3], "checks": [], "actions": [{"mkdir": {"list": [os.path.join(store, "never2")]}}]},
        ], "associatedFiles": files}
        scenario = {"glpi": {"contact_tasks": {"inventory": {"server": "glpi"}, "deploy": {"server": "glpiinventory", "version": "10.0"}},
                             "jobs": jobs}}
        json.dump(scenario, open(os.path.join(srv_dir, "scenario.json"), "w"))
        vardir = os.path.join(work, "var")
        agent = [args.binary, "--server", base, "--vardir", vardir, "--no-category", "process,software"]
        log_path = os.path.join(srv_dir, "requests.jsonl")
        reqs = lambda: [json.loads(l) for l in open(log_path)] if os.path.exists(log_path) else []

        print("== deploy off: CONTACT does not announce deploy, and no job is asked for")
        p = subprocess.run(agent, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
        checks.equal("exit code", 0, p.returncode)
        contact = [r for r in reqs() if r.get("action") == "contact"]
        checks.true("CONTACT sent", contact)
        checks.true("deploy installed but not enabled", contact and "deploy" in contact[-1]["body"]["installed-tasks"]
                    and "deploy" not in contact[-1]["body"]["enabled-tasks"], str(contact[-1]["body"] if contact else ""))
        checks.equal("no getConfig", [], [r for r in reqs() if r.get("action") == "getConfig"])
        checks.equal("one line says why", 1, sum("serves deploy jobs; deployment is off here" in l for l in p.stderr.splitlines()))

        print("== deploy on: the jobs")
        n = len(reqs())
        p = subprocess.run(agent + ["--deploy", "glpi", "--deploy-paths", store, "--deploy-sources", "127.0.0.1"],
                           capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
        checks.equal("exit code", 0, p.returncode)
        new = reqs()[n:]
        contact = [r for r in new if r.get("action") == "contact"]
        checks.true("CONTACT announces deploy as enabled", contact and "deploy" in contact[-1]["body"]["enabled-tasks"])
        gc = [r for r in new if r.get("action") == "getConfig"]
        checks.true("getConfig with machineid and task[Deploy]", gc and [k for k, _ in urllib.parse.parse_qsl(gc[0]["query"])] == ["action", "machineid", "task[Deploy]"], str(gc[:1]))
        gj = [r for r in new if r.get("action") == "getJobs"]
        checks.true("getJobs at the remote, with machineid and version", gj and gj[0]["path"] == "/b/deploy/"
                    and [k for k, _ in urllib.parse.parse_qsl(gj[0]["query"])] == ["action", "machineid", "version"], str(gj[:1]))
        all_status = [s for u in uuids.values() for s in statuses(new, u)]
        checks.true("every setStatus has its parameters in the reference order, falsy ones left out",
                    all(s["keys"] == [k for k in ORDER if k in s["keys"]] and "checknum" not in s["keys"] or s["checknum"] != "0" for s in all_status)
                    and all(s["keys"] == [k for k in ORDER if k in s["keys"]] for s in all_status), str([s["keys"] for s in all_status][:3]))

        ok = statuses(new, uuids["ok"])
        want = [("job", False, "", "checking", "", "", "starting"),
                ("job", False, "ok", "checking", "", "", "check #1, tmp exists passed"),
                ("job", False, "ok", "checking", "1", "", "check #2, not yet installed passed"),
                ("job", False, "ok", "checking", "2", "", "check #3, enough space passed"),
                ("job", False, "warning", "checking", "3", "", "check #4, a registry key warning, check only available on windows"),
                ("job", False, "ok", "checking", "", "", "all checks are ok"),
                ("job", False, "", "downloading", "", "", "downloading files"),
                ("file", True, "", "downloading", "", "", "fetching hello.txt"),
                ("file", True, "ok", "downloading", "", "", "hello.txt downloaded"),
                ("file", True, "", "downloading", "", "", "fetching bundle.tar.gz"),
                ("file", True, "ok", "downloading", "", "", "bundle.tar.gz downloaded"),
                ("job", False, "ok", "downloading", "", "", "success"),
                ("job", False, "ok", "prepare", "", "", "success"),
                ("job", False, "ok", "processing", "", "", "make out dir, processing success")]
        got = [t + (s["msg"],) for t, s in zip(shape(ok), ok)]
        checks.equal("job that passes: checks, files, prepare, first action", want, got[:len(want)])
        cmd_lines = [s["msg"] for s in ok if s["actionnum"] == "1" and not s["status"]]
        checks.equal("cmd output as the reference agents send it",
                     ["show workdir: ================================", "show workdir: Started cmd: test -f hello.txt && test -f inner/data.txt && echo unpacked-ok && sh run.sh",
                      "show workdir: ================================", "show workdir: unpacked-ok", "show workdir: from bundle",
                      "show workdir: --------------------------------", "show workdir: exit status: `0'", "show workdir: exit status is ok: 0"], cmd_lines)
        tail = [t + (s["msg"],) for t, s in zip(shape(ok), ok) if s["status"] == "ok" and s["step"] in ("processing", "")][1:]
        checks.equal("then each action's success, and the terminal message",
                     [("job", False, "ok", "processing", "", "1", "show workdir, processing success"),
                      ("job", False, "ok", "processing", "", "2", "copy hello, processing success"),
                      ("job", False, "ok", "processing", "", "3", "move inner, processing success"),
                      ("job", False, "ok", "processing", "", "4", "delete leftovers, processing success"),
                      ("job", False, "ok", "", "", "", "job successfully completed")], tail)
        copied = os.path.join(out, "hello.txt")
        checks.true("copy: hello.txt in place, rebuilt from its three parts", os.path.exists(copied) and open(copied, "rb").read() == hello)
        checks.true("move: inner/ moved from the unpacked tar.gz", os.path.exists(os.path.join(out, "inner", "data.txt")))
        checks.true("delete: the old folder is gone", not os.path.exists(os.path.join(store, "old")))

        skip = statuses(new, uuids["skip"])
        checks.equal("job skipped by a check",
                     [("job", False, "", "checking", "", "", "starting"),
                      ("job", False, "ok", "checking", "", "", "check #1, fileExists not successful then skip job"),
                      ("job", False, "ok", "checking", "", "", "job skipped")],
                     [t + (s["msg"],) for t, s in zip(shape(skip), skip)])
        cf = statuses(new, uuids["checkfail"])
        checks.true("job whose check fails: ko with the reason",
                    len(cf) == 2 and cf[1]["status"] == "ko" and cf[1]["msg"].startswith("check #1, failure on freespaceGreater, ")
                    and "free space not greater" in cf[1]["msg"] and "<= 999999999" in cf[1]["msg"], str([s["msg"] for s in cf]))
        cm = statuses(new, uuids["cmdfail"])
        checks.equal("job whose command fails: ko at action #1",
                     ("job", False, "ko", "processing", "", "", "action #1, processing failure"),
                     (shape(cm[-1:])[0] + (cm[-1]["msg"],)) if cm else None)
        checks.true("…with its exit status sent", any(s["msg"] == "action #1: exit status: `3'" for s in cm))
        checks.true("…and the next action never run", not os.path.exists(os.path.join(store, "never")))
        dl = statuses(new, uuids["dlfail"])
        msgs = [s["msg"] for s in dl if s["part"] == "file"]
        checks.equal("job whose download fails: fetching, then five retries, then the failure",
                     ["fetching broken.bin"] + ["retrying broken.bin", "fetching broken.bin"] * 5 + ["broken.bin download failed"], msgs)
        checks.equal("…the failure is ko on the file", "ko", dl[-1]["status"] if dl else None)
        parts = [urllib.parse.parse_qs(r["query"])["file"][0].rsplit("/", 1)[1] for r in new if r.get("action") == "getFilePart"]
        p1, p2, p3 = spec3["multiparts"]
        checks.equal("parts fetched: 1 and 3 once, the missing 2 six times (resume by part)", (1, 6, 1), (parts.count(p1), parts.count(p2), parts.count(p3)))
        checks.true("mirror URLs as the agents build them (…&file=/c/cc/sha512)", any(r["query"].endswith(f"file=/{p1[0]}/{p1[:2]}/{p1}") for r in new if r.get("action") == "getFilePart"))
        deploy_dir = os.path.join(vardir, "targets", os.listdir(os.path.join(vardir, "targets"))[0], "deploy")
        kept = sorted(f for _, _, fs in os.walk(os.path.join(deploy_dir, "parts")) for f in fs)
        checks.equal("the failed job's good parts are kept for the next run; the passed job's are removed", sorted([p1, p3]), kept)
        work_dir = os.path.join(vardir, "deploy-work")
        checks.equal("no work folder left", [], os.listdir(work_dir) if os.path.isdir(work_dir) else [])
    finally:
        server.kill()
        server.wait()
        shutil.rmtree(work, ignore_errors=True)
    return checks.done("deploy-glpi")


if __name__ == "__main__":
    sys.exit(main())
