#!/usr/bin/env python3
"""The XML inventory of this machine, zlib-compressed and POSTed with curl to the real OCS
server on loopback (as an admin would in autonomous mode), is stored: its hardware row has the
right NAME, MEMORY and CPU, and its software rows are as many as the packages listed.

The expected values are read here from the machine itself (hostname, /proc/meminfo,
/proc/cpuinfo, dpkg-query), not from the agent's output.

    tests/ocs/check_local_inventory.py --binary target/release/uagent [--url http://127.0.0.1/ocsinventory]
"""
import argparse
import os
import socket
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
import zlib

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
from lib import OCS_URL, Checks, sql  # noqa: E402

checks = Checks()
check = checks.equal


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--url", default=OCS_URL)
    args = ap.parse_args()

    vardir = tempfile.mkdtemp(prefix="uagent-ocs-")
    inv = subprocess.run([args.binary, "inventory", "--vardir", vardir], check=True, capture_output=True).stdout
    doc = ET.fromstring(inv)
    deviceid = doc.findtext("DEVICEID")
    sent_software = len(doc.find("CONTENT").findall("SOFTWARES"))
    sent_cpus = len(doc.find("CONTENT").findall("CPUS"))
    print(f"posting {len(inv)} bytes of XML ({sent_software} SOFTWARES) as {deviceid}")

    reply = subprocess.run(
        ["curl", "-sS", "--max-time", "60", "-A", "uagent-test", "-H", "Content-Type: application/x-compress",
         "--data-binary", "@-", "-w", "\n%{http_code}", args.url],
        input=zlib.compress(inv), check=True, capture_output=True).stdout
    body, _, code = reply.rpartition(b"\n")
    check("HTTP status of the INVENTORY POST", b"200", code)
    try:
        text = zlib.decompress(body).decode()
    except zlib.error:
        text = body.decode("utf-8", "replace")
    check("server reply", True, "<RESPONSE>" in text and "ACCOUNT_UPDATE" in text)

    rows = sql(f"SELECT ID, NAME, MEMORY, PROCESSORT, PROCESSORN FROM hardware WHERE DEVICEID='{deviceid}'")
    check("hardware rows for the DEVICEID", 1, len(rows))
    if not rows:
        checks.done("ocs")
        return 1
    hid, name, memory, processort, processorn = rows[0]
    check("hardware.NAME (short host name)", socket.gethostname().split(".")[0], name)
    mem_kb = next(int(l.split()[1]) for l in open("/proc/meminfo") if l.startswith("MemTotal:"))
    check("hardware.MEMORY (MemTotal / 1024)", str(mem_kb // 1024), memory)
    model = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), None)
    check("hardware.PROCESSORT (cpuinfo model name)", model, processort)
    packages = int(subprocess.run("dpkg-query -W -f='${Status}\\n' | grep -c 'install ok installed'", shell=True,
                                  capture_output=True, text=True).stdout.strip() or 0)
    stored = int(sql(f"SELECT COUNT(*) FROM software WHERE HARDWARE_ID={hid}")[0][0])
    check("software rows = SOFTWARES sent", sent_software, stored)
    check("software rows = installed dpkg packages", packages, stored)
    check("cpus rows = CPUS sent", sent_cpus, int(sql(f"SELECT COUNT(*) FROM cpus WHERE HARDWARE_ID={hid}")[0][0]))
    return checks.done("ocs")


if __name__ == "__main__":
    sys.exit(main())
