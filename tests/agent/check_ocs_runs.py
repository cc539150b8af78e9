#!/usr/bin/env python3
"""Half-managed runs and the injector against the REAL OCS Inventory server on loopback.

What is sent is captured by the team's logging proxy (../shared/tools/ocs-logging-proxy.py) put
in front of the server, so that the checks compare what the server stored with what went over
the wire, not with what the agent says it did.

    tests/agent/check_ocs_runs.py --binary target/release/uagent
"""
import argparse
import glob
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
from lib import OCS_URL, SHARED, Checks, free_port, sql  # noqa: E402

SERVER = OCS_URL
checks = Checks()
check = checks.equal


class Proxy:
    """The logging proxy in front of the OCS server; `exchanges()` lists decoded requests."""

    def __init__(self, work):
        self.port = free_port()
        self.out = os.path.join(work, f"proxy-{self.port}")
        self.p = subprocess.Popen([sys.executable, os.path.join(SHARED, "tools", "ocs-logging-proxy.py"), "--listen", str(self.port),
                                   "--upstream", "http://127.0.0.1:80", "--out", self.out], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.p.stdout.readline()
        self.url = f"http://127.0.0.1:{self.port}/ocsinventory"

    def requests(self):
        """Decoded request bodies, in order."""
        return [open(f, encoding="utf-8", errors="replace").read() for f in sorted(glob.glob(os.path.join(self.out, "*-req.xml")))]

    def stop(self):
        self.p.kill()
        self.p.wait()


def run(args, *cmd, timeout=120):
    p = subprocess.run([args.binary, *cmd], capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    return p.returncode, p.stdout, p.stderr


def inventory_of(body):
    doc = ET.fromstring(body)
    return doc.findtext("DEVICEID"), doc.find("CONTENT")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="uagent-ocs-runs-")
    proxy = Proxy(work)
    try:
        vardir = os.path.join(work, "var")
        quiet = ["--no-category", "drive,process"]  # free space and processes change from run to run

        print("== a half-managed run stores this machine")
        t0 = time.time()
        code, out, err = run(args, "--server", proxy.url, "--vardir", vardir, *quiet)
        check("exit code", 0, code)
        reqs = proxy.requests()
        check("requests sent (PROLOG, INVENTORY)", ["PROLOG", "INVENTORY"], [re.search(r"<QUERY>(\w+)</QUERY>", r).group(1) for r in reqs])
        deviceid, content = inventory_of(reqs[-1])
        sent_soft = len(content.findall("SOFTWARES"))
        rows = sql(f"SELECT ID, NAME, MEMORY, PROCESSORT, LASTCOME FROM hardware WHERE DEVICEID='{deviceid}'")
        check("hardware rows for the DEVICEID", 1, len(rows))
        hid, name, memory, processort, _ = rows[0]
        check("hardware.NAME", socket.gethostname().split(".")[0], name)
        mem_kb = next(int(l.split()[1]) for l in open("/proc/meminfo") if l.startswith("MemTotal:"))
        check("hardware.MEMORY", str(mem_kb // 1024), memory)
        model = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), None)
        check("hardware.PROCESSORT", model, processort)
        check("software rows = SOFTWARES sent", sent_soft, int(sql(f"SELECT COUNT(*) FROM software WHERE HARDWARE_ID={hid}")[0][0]))
        check("first CHECKSUM has every section bit", "1572863", content.find("HARDWARE").findtext("CHECKSUM"))

        print("== a second run with nothing changed")
        time.sleep(1.1)
        before = len(proxy.requests())
        t1 = time.strftime("%Y-%m-%d %H:%M:%S")
        code, out, err = run(args, "--server", proxy.url, "--vardir", vardir, "--force", *quiet)
        check("exit code", 0, code)
        reqs = proxy.requests()[before:]
        check("requests sent", ["PROLOG", "INVENTORY"], [re.search(r"<QUERY>(\w+)</QUERY>", r).group(1) for r in reqs])
        _, content = inventory_of(reqs[-1])
        check("CHECKSUM has no section bit set", "0", content.find("HARDWARE").findtext("CHECKSUM"))
        rows = sql(f"SELECT ID, LASTCOME FROM hardware WHERE DEVICEID='{deviceid}'")
        check("still one hardware row (updated, not duplicated)", 1, len(rows))
        check("same hardware ID", hid, rows[0][0])
        check("LASTCOME moved to this run", True, rows[0][1] >= t1)

        print("== --lazy skips a target whose next contact is in the future")
        before = len(proxy.requests())
        code, out, err = run(args, "--server", proxy.url, "--vardir", vardir, "--lazy", *quiet)
        check("exit code", 0, code)
        check("nothing sent", 0, len(proxy.requests()) - before)
        check("says why", True, "not yet" in err)

        print("== one run, three targets: the server under two URLs, and a local folder")
        local = os.path.join(work, "local")
        os.makedirs(local)
        proxy2 = Proxy(work)
        try:
            vardir3 = os.path.join(work, "var3")
            code, out, err = run(args, "--server", f"{proxy.url},{proxy2.url}", "--local", local, "--vardir", vardir3, "--force", *quiet)
            check("exit code", 0, code)
            files = os.listdir(local)
            check("local folder has one <deviceid>.xml", 1, len([f for f in files if f.endswith(".xml")]))
            did3 = open(os.path.join(vardir3, "deviceid")).read().strip()
            check("local file is named after the DEVICEID", [did3 + ".xml"], files)
            for p in (proxy, proxy2):
                sent = [r for r in p.requests() if did3 in r]
                check(f"{p.url}: PROLOG and INVENTORY for this DEVICEID", ["PROLOG", "INVENTORY"],
                      [re.search(r"<QUERY>(\w+)</QUERY>", r).group(1) for r in sent])
            check("one hardware row for that DEVICEID", 1, len(sql(f"SELECT ID FROM hardware WHERE DEVICEID='{did3}'")))
        finally:
            proxy2.stop()

        print("== inject: a saved file, then a folder of files")
        saved = os.path.join(work, "saved.xml")
        code, _, err = run(args, "inventory", "--vardir", os.path.join(work, "var-saved"), "--output", saved, *quiet)
        check("inventory > file exit code", 0, code)
        did_saved, _ = inventory_of(open(saved).read())
        code, out, err = run(args, "inject", "--file", saved, "--url", SERVER)
        check("inject --file exit code", 0, code)
        check("injected file stored", 1, len(sql(f"SELECT ID FROM hardware WHERE DEVICEID='{did_saved}'")))
        folder = os.path.join(work, "folder")
        os.makedirs(folder)
        ids = []
        for n in range(3):
            f = os.path.join(folder, f"inv{n}.xml")
            code, _, _ = run(args, "inventory", "--vardir", os.path.join(work, f"var-f{n}"), "--output", f, *quiet)
            ids.append(inventory_of(open(f).read())[0])
        code, out, err = run(args, "inject", "--directory", folder, "--url", SERVER, "--remove")
        check("inject --directory --remove exit code", 0, code)
        check("every file of the folder stored", [1, 1, 1], [len(sql(f"SELECT ID FROM hardware WHERE DEVICEID='{i}'")) for i in ids])
        check("--remove deleted the accepted files", [], os.listdir(folder))
    finally:
        proxy.stop()
        shutil.rmtree(work, ignore_errors=True)
    return checks.done("ocs-runs")


if __name__ == "__main__":
    sys.exit(main())
