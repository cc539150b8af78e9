#!/usr/bin/env python3
"""Bad and big inputs for `uagent inventory --root`: busybox-only systems, missing and
unreadable files, garbage and non-UTF-8 bytes, a 10 MB cpuinfo, a 5,000-package database, and
unwritable outputs. Each tree is built here in a temporary directory.

Every bad tree must still give a well-formed XML document, a JSON document that validates
against GLPI's schema, a warning on stderr that names the problem, and exit status 0.

    tests/check_robustness.py --binary target/release/uagent [--runner "qemu-mipsel-static"]
"""
import argparse
import json
import os
import random
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "e2e"))
from lib import SCHEMA, Checks  # noqa: E402

# Peak RSS allowed for one run on the big inputs: far above what the agent needs (about 1 MiB),
# far below what reading them whole would take. Not checked under an emulator (it counts itself).
RSS_LIMIT_KIB = 6 * 1024

checks = Checks()
check = checks.true


def write(root, rel, data, mode=None):
    path = os.path.join(root, rel.lstrip("/"))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())
    if mode is not None:
        os.chmod(path, mode)
    return path


TIME = "/usr/bin/time"


def run(args, cmd, timeout=120):
    """Runs the binary; returns (exit code, stdout bytes, stderr text, peak RSS KiB, seconds).

    The peak RSS is GNU time's: measured from Python, it would include the forked Python."""
    full = (shlex.split(args.runner) if args.runner else []) + [args.binary] + cmd
    rss_file = tempfile.NamedTemporaryFile(delete=False)
    rss_file.close()
    if not args.runner and os.access(TIME, os.X_OK):
        full = [TIME, "-f", "%M", "-o", rss_file.name] + full
    start = time.monotonic()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        p = subprocess.Popen(full, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        deadline = start + timeout
        while True:
            pid, status, usage = os.wait4(p.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                p.kill()
                os.wait4(p.pid, 0)
                return None, b"", "timed out", 0, timeout
            time.sleep(0.01)
        code = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        try:
            maxrss = int(open(rss_file.name).read().split()[-1])
        except (ValueError, IndexError):
            maxrss = None
        os.unlink(rss_file.name)
        return code, out.read(), err.read().decode("utf-8", "replace"), maxrss, time.monotonic() - start


def inventory(args, validator, name, root, expect_warnings, extra=(), rss=False):
    """Runs XML and JSON inventories of `root` and checks the common promises."""
    vardir = tempfile.mkdtemp(prefix="uagent-rob-v-")
    docs = {}
    for fmt in ("xml", "json"):
        code, out, err, maxrss, secs = run(args, ["inventory", "--root", root, "--vardir", vardir, "--format", fmt, *extra])
        check(f"{name} [{fmt}] exits 0 ({secs:.2f} s)", code == 0, f"exit {code}, stderr: {err[-500:]}")
        for w in expect_warnings:
            check(f"{name} [{fmt}] warns: {w!r}", any("][warning]" in l and w in l for l in err.splitlines()), err[-800:])
        check(f"{name} [{fmt}] logs no error", "][error]" not in err, err[-500:])
        if rss and not args.runner:
            check(f"{name} [{fmt}] peak RSS {maxrss} KiB under {RSS_LIMIT_KIB} KiB (GNU time)",
                  maxrss is not None and maxrss < RSS_LIMIT_KIB,
                  "GNU time is missing (Debian package time)" if maxrss is None else "memory grows with the input")
        docs[fmt] = out
    try:
        x = ET.fromstring(docs["xml"])
        check(f"{name} XML is well-formed with a DEVICEID", x.find("DEVICEID") is not None)
    except ET.ParseError as e:
        x = None
        check(f"{name} XML is well-formed", False, str(e))
    try:
        j = json.loads(docs["json"])
        errors = list(validator.iter_errors(j))
        check(f"{name} JSON validates against the schema", not errors, "; ".join(f"{list(e.path)}: {e.message}" for e in errors[:3]))
    except ValueError as e:
        j = None
        check(f"{name} JSON parses", False, str(e))
    shutil.rmtree(vardir, ignore_errors=True)
    return x, j


def busybox_tree(root):
    write(root, "bin/busybox", b"\x7fELF" + bytes(200))
    for applet in ("sh", "ps", "df", "ip"):
        write(root, f"bin/{applet}", "/bin/busybox")
    write(root, "etc/openwrt_release", "DISTRIB_ID='OpenWrt'\nDISTRIB_RELEASE='19.07.10'\nDISTRIB_DESCRIPTION='OpenWrt 19.07.10 r11427'\n")
    write(root, "etc/passwd", "root:x:0:0:root:/root:/bin/ash\nnobody:*:65534:65534:nobody:/var:/bin/false\n")
    write(root, "etc/group", "root:x:0:\nnogroup:x:65534:\n")
    write(root, "proc/sys/kernel/hostname", "tiny\n")
    write(root, "proc/sys/kernel/osrelease", "4.14.275\n")
    write(root, "proc/cpuinfo", "system type\t\t: Atheros AR9330 rev 1\nmachine\t\t\t: TP-LINK TL-MR3020\nprocessor\t\t: 0\ncpu model\t\t: MIPS 24Kc V7.4\n")
    write(root, "proc/meminfo", "MemTotal:          27752 kB\nMemFree:  1000 kB\n")
    write(root, "proc/mounts", "/dev/root /rom squashfs ro 0 0\nproc /proc proc rw 0 0\n/dev/mtdblock3 /overlay jffs2 rw 0 0\n")
    write(root, "proc/mtd", 'dev:    size   erasesize  name\nmtd0: 00020000 00010000 "u-boot"\nmtd3: 003d0000 00010000 "firmware"\n')


def garbage_tree(root):
    rnd = random.Random(7)
    write(root, "proc/cpuinfo", bytes(rnd.randrange(256) for _ in range(20000)) + b"\nprocessor : 0\nmodel name : \xff\xfe\x01Bad\x1b[31m CPU\n")
    write(root, "etc/os-release", b'NAME="Caf\xe9 OS"\nPRETTY_NAME="Caf\xe9 \x01\x02<&> OS"\nVERSION_ID=1\n')
    write(root, "proc/sys/kernel/hostname", "ho<st>&\n")
    write(root, "proc/meminfo", b"MemTotal: lots kB\nSwapTotal: \xff kB\n")
    write(root, "etc/passwd", b"root:x:0:0:r\xf6\xf6t:/root:/bin/sh\n\x00\x01\x02garbage\n::::\nuser:x:1000:1000:\x1b]0;evil\x07:/home/u:/bin/sh\n")
    write(root, "etc/group", b"\xff:x:\n:x:1:\nwheel:x:10:root,\xe9\n")
    write(root, "var/lib/dpkg/status", b"Package: ok\nStatus: install ok installed\nVersion: 1.0\nDescription: caf\xe9 \x01 <tag>\n\n"
          + bytes(rnd.randrange(256) for _ in range(5000)) + b"\n\nPackage: two\nStatus: install ok installed\nVersion: 2\n")
    write(root, "sys/class/net/eth0/address", b"\xff\xfe\n")
    write(root, "sys/class/net/eth0/mtu", "not a number\n")
    write(root, "sys/class/net/eth0/operstate", b"\x00up\n")
    write(root, "sys/block/sda/size", "-5\n")
    write(root, "proc/net/route", "Iface\tDestination\nGARBAGE ZZZZ\n")
    write(root, "proc/net/if_inet6", "zzzz 02 40 20 80 eth0\n")
    write(root, "proc/mounts", b"/dev/sda1 /mnt/\\777\\0 ext4 rw 0 0\n\xff\n")


def unreadable_tree(root):
    write(root, "proc/sys/kernel/hostname", "broken\n")
    os.makedirs(os.path.join(root, "proc/meminfo"))          # a directory where a file should be
    os.mkfifo(os.path.join(root, "proc/cpuinfo"))            # a FIFO would block a naive reader
    os.makedirs(os.path.join(root, "etc"), exist_ok=True)
    os.symlink("loop-b", os.path.join(root, "etc/loop-a"))
    os.symlink("loop-a", os.path.join(root, "etc/loop-b"))
    os.symlink("loop-a", os.path.join(root, "etc/os-release"))  # a symlink loop
    os.makedirs(os.path.join(root, "sys/class/net/eth0/address"))
    write(root, "sys/class/net/eth0/mtu", "1500\n")
    write(root, "var/lib/dpkg/status", "Package: a\nStatus: install ok installed\nVersion: 1\n")
    os.makedirs(os.path.join(root, "usr/lib/opkg"))
    os.mkfifo(os.path.join(root, "usr/lib/opkg/status"))


def big_cpuinfo_tree(root, blocks):
    """ARM blocks carry no topology: each one is an entry, so 20,000 of them pass the limit."""
    write(root, "proc/sys/kernel/hostname", "bigiron\n")
    block = ("processor\t: {n}\nBogoMIPS\t: 50.00\nFeatures\t: " + "fp asimd evtstrm aes pmull sha1 sha2 crc32 " * 10
             + "\nCPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x3\nCPU part\t: 0xd0c\nCPU revision\t: 1\n\n")
    with open(write(root, "proc/cpuinfo", ""), "w") as f:
        for n in range(blocks):
            f.write(block.format(n=n))
    write(root, "proc/meminfo", "MemTotal:       16000000 kB\n")


def long_line_tree(root):
    write(root, "proc/sys/kernel/hostname", "longline\n")
    with open(write(root, "proc/cpuinfo", "processor\t: 0\nflags\t\t: "), "a") as f:
        for _ in range(10 * 1024):
            f.write("x" * 1024)
        f.write("\nmodel name\t: Long Line CPU\n")
    write(root, "proc/meminfo", "MemTotal:       1000000 kB\n")


def many_packages_tree(root, count):
    write(root, "proc/sys/kernel/hostname", "packed\n")
    write(root, "etc/os-release", 'NAME="Debian GNU/Linux"\nVERSION_ID="12"\n')
    with open(write(root, "var/lib/dpkg/status", ""), "w") as f:
        for i in range(count):
            f.write(f"Package: pkg{i:05d}\nStatus: install ok installed\nPriority: optional\nSection: misc\n"
                    f"Installed-Size: {i % 977}\nMaintainer: Someone <s@example.org>\nArchitecture: amd64\n"
                    f"Version: 1.{i}-1\nDescription: package number {i}\n a longer description line\n .\n more\n\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--runner", default="")
    ap.add_argument("--schema", default=SCHEMA)
    args = ap.parse_args()
    import jsonschema
    schema = json.load(open(args.schema))
    validator = jsonschema.validators.validator_for(schema)(schema)
    work = tempfile.mkdtemp(prefix="uagent-rob-")
    try:
        print("== busybox-only system (no package database, no /sys)")
        r = os.path.join(work, "busybox")
        busybox_tree(r)
        x, j = inventory(args, validator, "busybox", r, ["no package database found", "no /sys/class/net"])
        if j:
            check("busybox: OS from /etc/openwrt_release", j["content"].get("operatingsystem", {}).get("name") == "OpenWrt")
            check("busybox: MIPS CPU named", [c.get("name") for c in j["content"].get("cpus", [])] == ["MIPS 24Kc V7.4"])
            check("busybox: raw flash from /proc/mtd", [s.get("name") for s in j["content"].get("storages", [])] == ["mtd0", "mtd3"])
            check("busybox: board from cpuinfo machine", j["content"].get("bios", {}).get("smodel") == "TP-LINK TL-MR3020")

        print("== empty root (every file missing)")
        r = os.path.join(work, "empty")
        os.makedirs(r)
        x, j = inventory(args, validator, "empty", r, ["cannot read /proc/cpuinfo: no such file",
                                                         "cannot read /proc/meminfo: no such file",
                                                         "cannot tell the operating system",
                                                         "cannot read /proc/mounts: no such file"])
        if j:
            check("empty: HARDWARE still has a NAME", bool(j["content"]["hardware"].get("name")))

        print("== unreadable files (directory, FIFO, symlink loop)")
        r = os.path.join(work, "unreadable")
        unreadable_tree(r)
        inventory(args, validator, "unreadable", r, ["cannot read /proc/cpuinfo: not a regular file",
                                                       "cannot read /proc/meminfo",
                                                       "cannot read /usr/lib/opkg/status: not a regular file"])

        print("== garbage and non-UTF-8 bytes")
        r = os.path.join(work, "garbage")
        garbage_tree(r)
        x, j = inventory(args, validator, "garbage", r, ["not valid UTF-8"])
        if j:
            names = [s.get("name") for s in j["content"].get("softwares", [])]
            check("garbage: the valid packages around the garbage are kept", "ok" in names and "two" in names, str(names))

        print("== 10 MB cpuinfo (20,000 processor blocks)")
        r = os.path.join(work, "bigcpu")
        big_cpuinfo_tree(r, 20000)
        check("bigcpu: cpuinfo is over 10 MB", os.path.getsize(os.path.join(r, "proc/cpuinfo")) > 10 * 1000 * 1000)
        x, j = inventory(args, validator, "bigcpu", r, ["more than 1024 processors"], rss=True)
        if j:
            cpus = j["content"].get("cpus", [])
            check("bigcpu: the first 1024 processors are listed, named from their part",
                  len(cpus) == 1024 and cpus[0].get("name") == "ARM Neoverse-N1")

        print("== 10 MB cpuinfo line")
        r = os.path.join(work, "longline")
        long_line_tree(r)
        x, j = inventory(args, validator, "longline", r, ["lines longer than"], rss=True)
        if j:
            check("longline: the CPU after the long line is still read", [c.get("name") for c in j["content"].get("cpus", [])] == ["Long Line CPU"])

        print("== 5,000-package dpkg database")
        r = os.path.join(work, "packages")
        many_packages_tree(r, 5000)
        x, j = inventory(args, validator, "packages", r, [], rss=True)
        if x is not None:
            check("packages: 5000 SOFTWARES in XML", len(x.find("CONTENT").findall("SOFTWARES")) == 5000)
        if j:
            check("packages: 5000 softwares in JSON", len(j["content"].get("softwares", [])) == 5000)

        print("== unwritable outputs")
        r = os.path.join(work, "busybox")
        v = tempfile.mkdtemp(prefix="uagent-rob-v-")
        for target, why in ((os.path.join(work, "no", "such", "dir", "inv.xml"), "No such file or directory"),
                            (os.path.join(r, "etc", "passwd", "inv.xml"), "Not a directory"),
                            ("/dev/full", "No space left on device")):
            code, out, err, _, _ = run(args, ["inventory", "--root", r, "--vardir", v, "--output", target])
            check(f"--output {target}: exit 2", code == 2, f"exit {code}")
            check(f"--output {target}: error names the file and the reason",
                  any("][error]" in l and target in l and why in l for l in err.splitlines()), err[-300:])
        leftovers = [f for f in os.listdir(os.path.join(r, "etc")) if f.startswith(".")]
        check("no temporary file left behind", not leftovers, str(leftovers))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return checks.done("robustness")


if __name__ == "__main__":
    sys.exit(main())
