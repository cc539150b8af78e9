#!/usr/bin/env python3
"""GLPI's native protocol against the project's GLPI stand-in (tests/peers/fake_server.py
--mode glpi, built from GLPI's sources: no GLPI server can be installed here).

The first run discovers the server kind (a PROLOG carrying GLPI-Agent-ID gets JSON), then
speaks CONTACT and sends a JSON inventory, which the stand-in validates against GLPI's schema;
the next run goes straight to CONTACT. The agent id is the one kept in the vardir.

    tests/agent/check_glpi.py --binary target/release/uagent
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
from lib import SCHEMA, Checks  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
FAKE = os.path.join(HERE, "..", "peers", "fake_server.py")
checks = Checks()
check = checks.true


def requests(log):
    return [json.loads(l) for l in open(log) if json.loads(l).get("event") == "request"] if os.path.exists(log) else []


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="uagent-glpi-")
    log = os.path.join(work, "glpi.jsonl")
    saved = os.path.join(work, "saved")
    fake = subprocess.Popen([sys.executable, FAKE, "--port", "0", "--mode", "glpi", "--schema", SCHEMA, "--log", log,
                             "--save-dir", saved], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    url = fake.stdout.readline().strip() + "front/inventory.php"
    try:
        vardir = os.path.join(work, "var")
        run = lambda *extra: subprocess.run([args.binary, "--server", url, "--vardir", vardir, "--tag", "lab-1", *extra],
                                            capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
        print("== first run: discovery, CONTACT, JSON inventory")
        p = run()
        check("exit code 0", p.returncode == 0, p.stderr[-500:])
        reqs = requests(log)
        check("PROLOG, CONTACT, inventory", [r["kind"] for r in reqs] == ["prolog", "contact", "inventory"], str([r["kind"] for r in reqs]))
        agentid = open(os.path.join(vardir, "agentid")).read().strip()
        check("every request carries the kept GLPI-Agent-ID", all(r["headers"].get("glpi-agent-id") == agentid for r in reqs))
        check("bodies are zlib with GLPI's content type", all(r["codec"] == "zlib" and r["content_type"] == "application/x-compress-zlib" for r in reqs))
        inv = reqs[-1] if reqs else {}
        check("the inventory validated against the schema", inv.get("status") == 200 and not inv.get("validation_error"), str(inv.get("validation_error"))[:300])
        doc = json.loads(inv.get("body", "{}"))
        check("JSON inventory with deviceid, content and the tag", doc.get("deviceid") == open(os.path.join(vardir, "deviceid")).read().strip()
              and "hardware" in doc.get("content", {}) and doc.get("tag") == "lab-1")
        contact = json.loads(reqs[1]["body"]) if len(reqs) > 1 else {}
        check("CONTACT names the installed and enabled tasks", "inventory" in contact.get("installed-tasks", []) and "inventory" in contact.get("enabled-tasks", []))
        state = open(os.path.join(vardir, "targets", os.listdir(os.path.join(vardir, "targets"))[0], "state")).read()
        check("the server kind is remembered", "server=glpi" in state, state)
        print("== second run: straight to CONTACT")
        n = len(reqs)
        p = run("--force")
        reqs = requests(log)[n:]
        check("exit code 0", p.returncode == 0, p.stderr[-500:])
        check("CONTACT then inventory, no PROLOG", [r["kind"] for r in reqs] == ["contact", "inventory"], str([r["kind"] for r in reqs]))
        print("== -C / --no-compression: plain JSON")
        n = len(requests(log))
        p = run("--force", "-C")
        reqs = requests(log)[n:]
        check("exit code 0", p.returncode == 0, p.stderr[-500:])
        check("every body plain, typed application/json",
              reqs and all(r["codec"] != "zlib" and r["content_type"] == "application/json" for r in reqs),
              str([(r["codec"], r["content_type"]) for r in reqs]))
        check("the plain inventory validated", reqs and reqs[-1].get("status") == 200 and not reqs[-1].get("validation_error"),
              str([(r.get("status"), r.get("validation_error")) for r in reqs])[:300])
        print("== the CONTACT reply's no-category reaches the inventory task")
        fake2 = subprocess.Popen([sys.executable, FAKE, "--port", "0", "--mode", "glpi", "--schema", SCHEMA, "--log",
                                  log + ".2", "--no-category", "software,printer"],
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            url2 = fake2.stdout.readline().strip() + "front/inventory.php"
            p = subprocess.run([args.binary, "--server", url2, "--vardir", os.path.join(work, "var3"), "--force"],
                               capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
            inv = [r for r in requests(log + ".2") if r["kind"] == "inventory"]
            content = json.loads(inv[-1]["body"]).get("content", {}) if inv else {}
            check("exit code 0", p.returncode == 0, p.stderr[-500:])
            check("no softwares sent, the rest is", "softwares" not in content and "hardware" in content,
                  str(sorted(content))[:300])
            check("the unknown category named, not fatal", "printer" in p.stderr, p.stderr[-500:])
        finally:
            fake2.kill()
            fake2.wait()
        print("== inject of a saved JSON inventory")
        f = os.path.join(work, "inv.json")
        subprocess.run([args.binary, "inventory", "--json", "--vardir", os.path.join(work, "var2"), "--output", f], check=True, capture_output=True)
        n = len(requests(log))
        p = subprocess.run([args.binary, "inject", "--file", f, "--url", url], capture_output=True, text=True, timeout=60)
        reqs = requests(log)[n:]
        check("inject exit code 0", p.returncode == 0, p.stderr[-300:])
        check("accepted as a valid JSON inventory", len(reqs) == 1 and reqs[0].get("status") == 200 and not reqs[0].get("validation_error"),
              str([(r.get("status"), r.get("validation_error")) for r in reqs])[:300])
    finally:
        fake.kill()
        fake.wait()
        shutil.rmtree(work, ignore_errors=True)
    return checks.done("glpi")


if __name__ == "__main__":
    sys.exit(main())
