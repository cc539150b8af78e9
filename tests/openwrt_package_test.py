#!/usr/bin/env python3
"""Checks the OpenWrt packages that cross/openwrt/build-ipk makes, as opkg and OpenWrt would
see them: the outer tar's members, the control fields, conffiles, maintainer scripts, file
modes, owners and links, the binary's ELF header (machine, byte order, static) and its launcher
name under qemu; then runs the packaged init script with a stand-in for OpenWrt's UCI and
procd helpers (tests/openwrt_standin.sh) and checks the command line it gives procd.

    tests/openwrt_package_test.py [--target TRIPLE]... [--package TRIPLE:SET]... [--keep]

--target checks the full and minimal packages of TRIPLE; --package checks one package (CI
names the sets it built: see tests/run.sh). Default: --target mipsel-unknown-linux-musl
--target armv7-unknown-linux-musleabihf. At least one full package is needed: the init script
is checked from it. The binaries come from cross/build (reused when already built). The shell
is busybox sh when installed (as on OpenWrt), else sh. Ends with 'openwrt-package: N passed,
M failed'.
"""
import argparse
import gzip
import hashlib
import io
import os
import re
import shlex
import shutil
import struct
import subprocess
import sys
import tarfile
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "e2e"))
from lib import REPO, Checks  # noqa: E402

BUILD_IPK = os.path.join(REPO, "cross", "openwrt", "build-ipk")
STANDIN = os.path.join(REPO, "tests", "openwrt_standin.sh")

# e_machine and byte order each target's binary must have.
ELF = {
    "mipsel-unknown-linux-musl": (8, "little", "mipsel_24kc"),
    "mips-unknown-linux-musl": (8, "big", "mips_24kc"),
    "armv7-unknown-linux-musleabihf": (40, "little", "arm_cortex-a7_neon-vfpv4"),
    "armv5te-unknown-linux-musleabi": (40, "little", "arm_xscale"),
    "aarch64-unknown-linux-musl": (183, "little", "aarch64_cortex-a53"),
    "x86_64-unknown-linux-musl": (62, "little", "x86_64"),
}


def cargo_version():
    with open(os.path.join(REPO, "Cargo.toml")) as f:
        return re.search(r'^version\s*=\s*"([^"]+)"', f.read(), re.M).group(1)


def target_conf(triple):
    out = {}
    with open(os.path.join(REPO, "targets", triple + ".conf")) as f:
        for line in f:
            m = re.match(r'^([A-Z_]+)=(.*)$', line.strip())
            if m:
                out[m.group(1)] = shlex.split(m.group(2))[0] if m.group(2) else ""
    return out


def build_ipk(triple, set_, out):
    p = subprocess.run([BUILD_IPK, triple, "--set", set_, "--out", out], stdout=subprocess.PIPE, check=True)
    return p.stdout.decode().strip().splitlines()[-1]


def read_ipk(path):
    """{name: bytes} of the outer members and the two inner tars opened."""
    with tarfile.open(path, "r:gz") as outer:
        names = outer.getnames()
        members = {n: outer.extractfile(n).read() for n in names}
    return names, members


def control_fields(text):
    fields, last = {}, None
    for line in text.splitlines():
        if line.startswith(" ") and last:
            fields[last] += "\n" + line[1:]
        elif ":" in line:
            last, v = line.split(":", 1)
            fields[last] = v.strip()
    return fields


def elf_header(data):
    end = {1: "little", 2: "big"}[data[5]]
    machine = struct.unpack_from("<H" if end == "little" else ">H", data, 18)[0]
    return machine, end


def elf_is_static(data):
    is64 = data[4] == 2
    e = "<" if data[5] == 1 else ">"
    if is64:
        phoff = struct.unpack_from(e + "Q", data, 0x20)[0]
        phentsize, phnum = struct.unpack_from(e + "HH", data, 0x36)
    else:
        phoff = struct.unpack_from(e + "I", data, 0x1C)[0]
        phentsize, phnum = struct.unpack_from(e + "HH", data, 0x2A)
    return all(struct.unpack_from(e + "I", data, phoff + i * phentsize)[0] != 3 for i in range(phnum))


def check_package(rep, triple, set_, ipk, work):
    t = f"{triple} {set_}"
    machine, order, arch = ELF[triple]
    version = cargo_version()
    rep.equal(f"{t}: file name", f"uagent_{version}-1_{arch}.ipk", os.path.basename(ipk))
    names, m = read_ipk(ipk)
    rep.equal(f"{t}: outer members in ipkg-build's order", ["./debian-binary", "./data.tar.gz", "./control.tar.gz"], names)
    rep.equal(f"{t}: debian-binary", b"2.0\n", m.get("./debian-binary"))
    for n in ("./data.tar.gz", "./control.tar.gz"):
        rep.equal(f"{t}: {n} is gzip", b"\x1f\x8b", m[n][:2])

    ctl = tarfile.open(fileobj=io.BytesIO(m["./control.tar.gz"]), mode="r:gz")
    cmembers = {i.name: i for i in ctl.getmembers()}
    fields = control_fields(ctl.extractfile("./control").read().decode())
    rep.equal(f"{t}: Package", "uagent", fields.get("Package"))
    rep.equal(f"{t}: Version from Cargo.toml", f"{version}-1", fields.get("Version"))
    rep.equal(f"{t}: Architecture", arch, fields.get("Architecture"))
    rep.equal(f"{t}: License", "GPL-2.0-or-later", fields.get("License"))
    rep.equal(f"{t}: Section", "admin", fields.get("Section"))
    rep.equal(f"{t}: Description present", True, bool(fields.get("Description")))
    rep.equal(f"{t}: no Depends (static binary)", None, fields.get("Depends"))
    data_tar = gzip.decompress(m["./data.tar.gz"])
    rep.equal(f"{t}: Installed-Size is the unpacked data tar's size", str(len(data_tar)), fields.get("Installed-Size"))
    full = set_ == "full"
    rep.equal(f"{t}: Require-User only with the service", "uagent:uagent" if full else None, fields.get("Require-User"))
    want_ctl = {"./control": 0o644, "./postinst": 0o755, "./prerm": 0o755}
    if full:
        want_ctl["./conffiles"] = 0o644
    got_ctl = {n: i.mode & 0o7777 for n, i in cmembers.items() if i.isfile()}
    rep.equal(f"{t}: control members and modes", want_ctl, got_ctl)
    if full:
        rep.equal(f"{t}: conffiles", "/etc/config/uagent\n", ctl.extractfile("./conffiles").read().decode())
    post = ctl.extractfile("./postinst").read().decode()
    rep.equal(f"{t}: postinst runs default_postinst", True, 'default_postinst "$0" "$@"' in post and post.startswith("#!/bin/sh\n"))

    data = tarfile.open(fileobj=io.BytesIO(data_tar), mode="r:")
    entries = {i.name: i for i in data.getmembers()}
    rep.equal(f"{t}: every entry owned by root (0:0)", set(), {n for n, i in entries.items() if (i.uid, i.gid) != (0, 0)})
    files = {n: i.mode & 0o7777 for n, i in entries.items() if i.isfile()}
    want_files = {"./usr/bin/uagent": 0o755}
    if full:
        want_files.update({"./etc/init.d/uagent": 0o755, "./etc/config/uagent": 0o600, "./lib/upgrade/keep.d/uagent": 0o644})
    rep.equal(f"{t}: files and modes", want_files, files)
    links = {n: i.linkname for n, i in entries.items() if i.issym()}
    want_links = {"./usr/bin/uagent-inventory": "uagent"}
    if set_ != "minimal":
        want_links["./usr/bin/uagent-injector"] = "uagent"
    if full:
        want_links["./usr/bin/uagent-netdiscovery"] = "uagent"
    rep.equal(f"{t}: launcher links", want_links, links)
    if full:
        keep = data.extractfile("./lib/upgrade/keep.d/uagent").read().decode()
        rep.equal(f"{t}: sysupgrade keeps the vardir", "/etc/uagent/\n", keep)

    binary = data.extractfile("./usr/bin/uagent").read()
    rep.equal(f"{t}: ELF machine and byte order", (machine, order), elf_header(binary))
    rep.equal(f"{t}: binary is static", True, elf_is_static(binary))

    # Unpack as opkg would and run the launcher link under qemu: its name picks the subcommand.
    root = os.path.join(work, f"{triple}-{set_}")
    data.extractall(root, filter="tar") if hasattr(tarfile, "data_filter") else data.extractall(root)
    qemu = shlex.split(target_conf(triple).get("QEMU", "") or "")
    runner = [shutil.which(qemu[0])] + qemu[1:] if qemu else []
    if qemu and not runner[0]:
        rep.equal(f"{t}: {qemu[0]} installed (cross/test-qemu installs it)", True, False)
    else:
        p = subprocess.run(runner + [os.path.join(root, "usr/bin/uagent-inventory"), "--list-categories"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        cats = p.stdout.decode().split()
        rep.equal(f"{t}: uagent-inventory --list-categories runs as 'uagent inventory'", (0, True), (p.returncode, "cpu" in cats))
    return root


def shell():
    bb = shutil.which("busybox")
    return [bb, "sh"] if bb else ["sh"]


def run_init(root, config_text, work, name):
    """Runs start_service and service_triggers of the packaged init script on CONFIG_TEXT.
    Returns (exit status, procd log lines, argv of instance 1 or None, stderr)."""
    d = os.path.join(work, "init-" + name)
    os.makedirs(os.path.join(d, "config"))
    with open(os.path.join(d, "config", "uagent"), "w") as f:
        f.write(config_text)
    with open(os.path.join(d, "passwd"), "w") as f:
        f.write("root:x:0:0:root:/root:/bin/ash\nuagent:x:32768:32768:uagent:/var/run/uagent:/bin/false\n")
    log = os.path.join(d, "procd.log")
    open(log, "w").close()
    env = dict(os.environ, UCI_CONFIG_DIR=os.path.join(d, "config"), PROCD_LOG=log,
               STANDIN_PASSWD=os.path.join(d, "passwd"))
    script = f'. "{STANDIN}"; . "{root}/etc/init.d/uagent"; start_service; rc=$?; service_triggers; exit $rc'
    p = subprocess.run(shell() + ["-c", script], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    lines = open(log).read().splitlines()
    cmd_file = log + ".cmd1"
    argv = open(cmd_file).read().splitlines() if os.path.exists(cmd_file) else None
    return p.returncode, lines, argv, p.stderr.decode()


def config_with(shipped, **opts):
    """The shipped config with options changed (None: removed) and lists (values as lists)."""
    out = []
    for line in shipped.splitlines():
        s = line.strip()
        m = re.match(r"#?(option|list) (\w+) ", s)
        if m and m.group(2) in opts:
            continue
        out.append(line)
    for k, v in opts.items():
        if v is None:
            continue
        if isinstance(v, list):
            out += [f"\tlist {k} '{x}'" for x in v]
        else:
            out.append(f"\toption {k} '{v}'")
    return "\n".join(out) + "\n"


def check_init(rep, root, work):
    shipped = open(os.path.join(root, "etc/config/uagent")).read()
    print(f"  (init script run by {' '.join(shell())})")
    p = subprocess.run(shell() + ["-n", os.path.join(root, "etc/init.d/uagent")], stderr=subprocess.PIPE)
    rep.equal("init: parses as POSIX sh", (0, b""), (p.returncode, p.stderr))

    rc, log, argv, _ = run_init(root, shipped, work, "shipped")
    rep.equal("init: the shipped config (enabled 0) starts nothing", (0, None), (rc, argv))
    rep.equal("init: reload trigger on the uagent config", True, "reload_trigger uagent" in log)

    var, state = os.path.join(work, "var"), os.path.join(work, "run")
    rc, log, argv, _ = run_init(root, config_with(
        shipped, enabled="1", server=["https://ocs.example.org/ocsinventory", "https://glpi.example.org/"],
        tag="branch 7", delaytime="600", lazy="yes", httpd_ip="192.168.1.1",
        httpd_trust=["127.0.0.1/32", "192.168.1.0/24"], ca_cert_file="/etc/ssl/certs/ca-certificates.crt",
        ssl_check="0", proxy="http://proxy:3128", timeout="90", no_task=["deploy", "wakeonlan"],
        debug="2", vardir=var, statedir=state), work, "full")
    want = ["/usr/bin/uagent", "--daemon",
            "--server", "https://ocs.example.org/ocsinventory,https://glpi.example.org/",
            "--tag", "branch 7", "--delaytime", "600", "--lazy",
            "--httpd-ip", "192.168.1.1", "--httpd-port", "62354", "--httpd-trust", "127.0.0.1/32,192.168.1.0/24",
            "--ca-cert-file", "/etc/ssl/certs/ca-certificates.crt", "--no-ssl-check",
            "--proxy", "http://proxy:3128", "--timeout", "90", "--no-task", "deploy,wakeonlan",
            "--vardir", var, "--statedir", state, "--logger", "stderr", "--debug", "--debug"]
    rep.equal("init: every UCI option on the command line", want, argv)
    rep.equal("init: started", 0, rc)
    rep.equal("init: runs as the uagent user", True, "set_param user uagent" in log)
    rep.equal("init: respawn, stdout and stderr to the log, restart on config change",
              {"set_param respawn 3600 5 5", "set_param stdout 1", "set_param stderr 1", "set_param file /etc/config/uagent"},
              {l for l in log if l.split()[1:2] in (["respawn"], ["stdout"], ["stderr"], ["file"])})
    rep.equal("init: vardir and statedir made for the user", True,
              os.path.isdir(var) and os.path.isdir(state) and f"chown uagent {var}" in log and f"chown uagent {state}" in log)
    rep.equal("init: vardir mode 0700", 0o700, os.stat(var).st_mode & 0o777)

    secret = "0auth-S3cret with \"quotes\" $HOME"
    rc, log, argv, _ = run_init(root, config_with(
        shipped, enabled="1", server="https://glpi.example.org/", itemtype="auto", full_inventory_postpone="7",
        assetname_support="2", additional_content="/etc/uagent/extra.xml", oauth_client_id="uagent",
        oauth_client_secret=secret, vardir=var, statedir=state), work, "glpi")
    conf = os.path.join(state, "agent.cfg")
    want = ["/usr/bin/uagent", "--daemon", "--server", "https://glpi.example.org/", "--delaytime", "3600",
            "--httpd-port", "62354", "--httpd-trust", "127.0.0.1/32", "--itemtype", "auto",
            "--full-inventory-postpone", "7", "--assetname-support", "2", "--additional-content", "/etc/uagent/extra.xml",
            "--conf-file", conf, "--vardir", var, "--statedir", state, "--logger", "stderr"]
    rep.equal("init: GLPI options on the command line, the OAuth2 credentials in a file", want, argv)
    rep.equal("init: the secret is on no command line", False, any(secret in a for a in argv or []))
    text = open(conf).read() if os.path.exists(conf) else ""
    rep.equal("init: the credentials file, for the agent's user only",
              (f'oauth-client-id = "uagent"\noauth-client-secret = "{secret}"\n', 0o600, True),
              (text, os.stat(conf).st_mode & 0o777 if text else None, f"chown uagent {conf}" in log))
    rc, log, argv, _ = run_init(root, config_with(
        shipped, enabled="1", server="https://glpi.example.org/", vardir=var, statedir=state), work, "glpi-none")
    rep.equal("init: no credentials, no file and no --conf-file", (False, False),
              (os.path.exists(conf), "--conf-file" in (argv or [])))

    rc, log, argv, _ = run_init(root, config_with(
        shipped, enabled="1", server="https://a.example/,https://b.example/", httpd="0", user="root",
        logger="syslog", vardir=var, statedir=state), work, "nohttpd")
    want = ["/usr/bin/uagent", "--daemon", "--server", "https://a.example/,https://b.example/",
            "--delaytime", "3600", "--no-httpd", "--vardir", var, "--statedir", state, "--logger", "syslog"]
    rep.equal("init: httpd 0 gives --no-httpd and no httpd options; comma list as an option", want, argv)
    rep.equal("init: user root: no user switch, no chown", (False, False),
              (any(l.startswith("set_param user") for l in log), any(l.startswith("chown") for l in log)))

    rc, log, argv, err = run_init(root, config_with(shipped, enabled="1", user="nosuchuser",
                                                    local="/tmp/inv", vardir=var, statedir=state), work, "local")
    rep.equal("init: local directory alone is enough", ["--local", "/tmp/inv"], argv[2:4] if argv else None)
    rep.equal("init: a missing user falls back to root, saying so", (False, True),
              (any(l.startswith("set_param user") for l in log), "nosuchuser" in err))

    rc, log, argv, err = run_init(root, config_with(shipped, enabled="1", vardir=var, statedir=state), work, "noserver")
    rep.equal("init: no server and no local: not started, with a message", (1, None, True),
              (rc, argv, "set a server" in err))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--target", action="append", default=[], help="the full and minimal packages of TRIPLE")
    ap.add_argument("--package", action="append", default=[], metavar="TRIPLE:SET", help="one package")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    a = ap.parse_args()
    targets = a.target or ([] if a.package else ["mipsel-unknown-linux-musl", "armv7-unknown-linux-musleabihf"])
    packages = [(t, s) for t in targets for s in ("full", "minimal")]
    for p in a.package:
        triple, _, set_ = p.rpartition(":")
        if triple not in ELF or set_ not in ("full", "default", "minimal"):
            ap.error(f"--package wants TRIPLE:SET with TRIPLE one of {', '.join(ELF)} and SET full, default or minimal, not {p!r}")
        packages.append((triple, set_))
    if not any(s == "full" for _, s in packages):
        ap.error("no full package among those asked for: the init script is checked from one")
    work = tempfile.mkdtemp(prefix="uagent-ipk-")
    rep = Checks()
    init_root = None
    for triple, set_ in packages:
        print(f"== {triple} {set_}")
        ipk = build_ipk(triple, set_, os.path.join(work, "out"))
        root = check_package(rep, triple, set_, ipk, work)
        if set_ == "full":
            init_root = init_root or root
            # Same inputs, same bytes: the package is reproducible.
            again = build_ipk(triple, set_, os.path.join(work, "out2"))
            digest = lambda f: hashlib.sha256(open(f, "rb").read()).hexdigest()
            rep.equal(f"{triple} full: rebuilt package is byte-identical", digest(ipk), digest(again))
    print("== init script")
    check_init(rep, init_root, work)
    if a.keep:
        print(f"work directory: {work}")
    else:
        shutil.rmtree(work)
    return rep.done("openwrt-package")


if __name__ == "__main__":
    sys.exit(main())
