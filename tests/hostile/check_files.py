#!/usr/bin/env python3
"""Hostile files (issue 16, points 4, 6, 7, 13, 15): a --root tree with FIFOs and a 1 GB DMI
value where small files are expected, configuration files past their limits, and the
injector given huge, bomb, vanished, non-inventory and replaced files. Every run has a time
limit and a peak RSS under 16 MiB.

    tests/hostile/check_files.py --binary target/full/release/uagent
"""
import argparse
import json
import os
import shutil
import sys
import tempfile
import threading
import time
import xml.etree.ElementTree as ET
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hostile import RSS_LIMIT_KIB, Checks, Server, ocs_answer, run, OCS_ACCEPTED  # noqa: E402

checks = Checks()
check = checks.true
HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.normpath(os.path.join(HERE, "..", "..", "..", "shared", "corpus", "debian12-x86-vm", "root"))

# Where the hostile run put FIFOs: every one must be refused, none waited on.
FIFOS = ["etc/timezone", "proc/sys/kernel/hostname", "proc/uptime", "sys/class/dmi/id/product_uuid",
         "sys/class/net/eth0/address", "sys/firmware/dmi/tables/DMI",
         "sys/firmware/dmi/tables/smbios_entry_point", "var/lib/dpkg/status", "proc/1/stat", "etc/passwd"]


def rss_ok(r, what):
    check(f"{what}: exit 0, {r.secs:.1f} s, peak RSS {r.rss} KiB < {RSS_LIMIT_KIB} KiB",
          r.code == 0 and not r.killed and 0 < r.rss < RSS_LIMIT_KIB, repr(r))


def hostile_root(binary, work):
    print("== 4. a --root tree with FIFOs and a 1 GB board_name")
    root = os.path.join(work, "root")
    shutil.copytree(CORPUS, root, symlinks=True)
    for rel in FIFOS:
        p = os.path.join(root, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        if os.path.lexists(p):
            os.unlink(p)
        os.mkfifo(p)
    dmi = os.path.join(root, "sys", "class", "dmi", "id")
    os.makedirs(dmi, exist_ok=True)
    with open(os.path.join(dmi, "board_name"), "wb") as f:
        f.write(b"B" * 4096 * 2)
        f.truncate(1 << 30)
    with open(os.path.join(dmi, "product_name"), "wb") as f:
        f.truncate(1 << 30)
    for fmt in ["xml", "json"]:
        out = os.path.join(work, f"inv.{fmt}")
        r = run([binary, "inventory", "--root", root, "--format", fmt, "--output", out,
                 "--vardir", os.path.join(work, "v")], limit=30)
        rss_ok(r, f"--format {fmt}")
        text = open(out, "rb").read() if os.path.exists(out) else b""
        if fmt == "xml":
            try:
                doc = ET.fromstring(text)
                smodel = doc.findtext(".//BIOS/SMODEL") or ""
                mmodel = doc.findtext(".//BIOS/MMODEL") or ""
                ok = True
            except ET.ParseError as e:
                ok, smodel, mmodel = False, str(e), ""
            check("the XML is whole and well formed", ok, smodel[:200])
            check(f"DMI values are cut at a page (MMODEL {len(mmodel)} bytes, SMODEL {len(smodel)})",
                  len(mmodel) <= 4096 and len(smodel) <= 4096)
        else:
            try:
                json.loads(text)
                ok = True
            except ValueError as e:
                ok = str(e)
            check("the JSON is whole and valid", ok is True, ok)
        for rel in ["proc/uptime", "etc/timezone", "sys/class/dmi/id/board_name"]:
            check(f"a warning names /{rel}", f"/{rel}" in r.err, r.err[-800:])
    # To standard output: the same document, complete.
    r = run([binary, "inventory", "--root", root, "--vardir", os.path.join(work, "v")], limit=30)
    rss_ok(r, "to standard output")
    try:
        ET.fromstring(r.out)
        whole = True
    except ET.ParseError as e:
        whole = str(e)
    check("standard output holds a whole document", whole is True, whole)


def config_limits(binary, work):
    print("== 7. configuration files past their limits are errors that name them")
    big = os.path.join(work, "big.cfg")
    with open(big, "w") as f:
        f.write("#" * (256 * 1024 - 10) + "\nserver = http://127.0.0.1:9/ocsinventory\n")
    r = run([binary, "--conf-file", big, "--local", work, "--vardir", os.path.join(work, "v")], limit=20)
    check("a 256 KiB + 40 bytes file: exit 1, named, not cut", r.code == 1 and "big.cfg" in r.err and "larger than" in r.err, repr(r))
    many = os.path.join(work, "many")
    os.makedirs(many)
    for i in range(257):
        open(os.path.join(many, f"{i:04}.cfg"), "w").write("delaytime = 60\n")
    inc = os.path.join(work, "inc.cfg")
    open(inc, "w").write('include "many/"\n')
    r = run([binary, "--conf-file", inc, "--local", work, "--vardir", os.path.join(work, "v")], limit=20)
    check("an included folder of 257 files: exit 1, the folder named",
          r.code == 1 and "many" in r.err and "more than 256" in r.err, repr(r))


def injector(binary, work):
    print("== 6, 13, 15. the injector: sizes first, bounded inflating, exit codes, --remove")
    hold = threading.Event()

    def answer(kind, text, headers):
        if b"SLOW" in text:
            hold.wait(10)
        return (200, OCS_ACCEPTED)
    srv = Server(answer)
    try:
        inj = [binary, "inject", "--url", srv.url]
        huge = os.path.join(work, "huge.xml")
        with open(huge, "wb") as f:
            f.write(b"<?xml version='1.0'?><REQUEST>")
            f.truncate(100 * 1024 * 1024)
        r = run(inj + ["--file", huge], limit=20)
        check(f"a 100 MiB file: refused before reading, exit 4 ({r.rss} KiB, {r.secs:.1f} s)",
              r.code == 4 and 0 < r.rss < RSS_LIMIT_KIB and "larger than" in r.err, repr(r))
        bomb = os.path.join(work, "bomb.xml.z")
        open(bomb, "wb").write(zlib.compress(b"<REQUEST>" + b" " * (200 * 1024 * 1024)))
        r = run(inj + ["--file", bomb], limit=20)
        check(f"a zlib bomb (200 MiB inflated): sent as it is, inflated only to see its kind ({r.rss} KiB)",
              r.code == 0 and 0 < r.rss < RSS_LIMIT_KIB, repr(r))
        r = run(inj + ["--file", os.path.join(work, "vanished.xml")], limit=20)
        check("a vanished file: exit 2 (I/O), not 1", r.code == 2, repr(r))
        junk = os.path.join(work, "junk.txt")
        open(junk, "w").write("hello, not an inventory\n")
        r = run(inj + ["--file", junk], limit=20)
        check("a file that is not an inventory: exit 4 (refused), not 1", r.code == 4, repr(r))
        fifo = os.path.join(work, "fifo.xml")
        os.mkfifo(fifo)
        r = run(inj + ["--file", fifo], limit=20)
        check("a FIFO: refused at once, exit 4", r.code == 4 and not r.killed, repr(r))
        # --remove while the file is replaced during the upload (as inventory --output DIR does).
        target = os.path.join(work, "box.xml")
        open(target, "w").write("<REQUEST><SLOW/></REQUEST>")
        proc_out = {}
        base = srv.count("inventory")
        t = threading.Thread(target=lambda: proc_out.update(r=run(inj + ["--file", target, "--remove"], limit=30)))
        t.start()
        deadline = time.monotonic() + 10
        while srv.count("inventory") <= base and time.monotonic() < deadline:
            time.sleep(0.05)
        tmp = os.path.join(work, ".box.tmp")
        open(tmp, "w").write("<REQUEST>NEWER</REQUEST>")
        os.rename(tmp, target)
        hold.set()
        t.join(30)
        r = proc_out.get("r")
        check("sent: exit 0", r is not None and r.code == 0, repr(r))
        check("the newer file, never sent, is kept", os.path.exists(target) and "NEWER" in open(target).read())
        r = run(inj + ["--file", target, "--remove"], limit=20)
        check("the file that was sent is removed", r.code == 0 and not os.path.exists(target), repr(r))
    finally:
        hold.set()
        srv.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--only", action="append", help="run these parts only")
    args = ap.parse_args()
    binary = os.path.abspath(args.binary)
    if not os.path.isdir(CORPUS):
        check(f"the corpus is at {CORPUS}", False)
        return checks.done("hostile files")
    for part in [hostile_root, config_limits, injector]:
        if args.only and part.__name__ not in args.only:
            continue
        work = tempfile.mkdtemp(prefix="uagent-ho-files-")
        try:
            part(binary, work)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return checks.done("hostile files")


if __name__ == "__main__":
    sys.exit(main())
