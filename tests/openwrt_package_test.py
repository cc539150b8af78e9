#!/usr/bin/env python3
"""Checks the OpenWrt packaging: the feed Makefile as the packages feed's Rust packages write
it (rust-package.mk, a git source pinned to a commit whose PKG_MIRROR_HASH is recomputed here,
licence, maintainer, URL, the launcher links of each set); the packages that
cross/openwrt/build-ipk makes, as opkg and OpenWrt would see them (the outer tar's members, the
control fields, conffiles, maintainer scripts, file modes, owners, links for every launcher of
the set, the binary's ELF header and its launcher name under qemu); then the packaged init
script, run with a stand-in for OpenWrt's UCI, validation and procd helpers
(tests/openwrt_standin.sh): the command line and the generated agent.cfg it gives procd, which
the packaged binary reads back, refused values and their messages, the interface and firewall
options, SIGHUP reloads, DMI access, and the uci-defaults move of the old account option.

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
from lib import REPO, Checks, free_port  # noqa: E402

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


def launchers(set_):
    """The launcher links of a set, from the task registry (cross/openwrt/launchers)."""
    p = subprocess.run([os.path.join(REPO, "cross", "openwrt", "launchers"), set_], stdout=subprocess.PIPE, check=True)
    return p.stdout.decode().split()


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
        want_files.update({"./etc/init.d/uagent": 0o755, "./etc/config/uagent": 0o600,
                           "./etc/uci-defaults/90_uagent": 0o755, "./lib/upgrade/keep.d/uagent": 0o644})
    rep.equal(f"{t}: files and modes", want_files, files)
    links = {n: i.linkname for n, i in entries.items() if i.issym()}
    want_links = {f"./usr/bin/{name}": "uagent" for name in launchers(set_)}
    rep.true(f"{t}: the set's launchers include uagent-inventory" + (", uagent-wakeonlan" if full else ""),
             "./usr/bin/uagent-inventory" in want_links and (not full or "./usr/bin/uagent-wakeonlan" in want_links),
             sorted(want_links))
    rep.equal(f"{t}: a link for every launcher of the set (task registry + injector)", want_links, links)
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
        for name in launchers(set_):
            if name == "uagent-inventory":
                continue
            p = subprocess.run(runner + [os.path.join(root, "usr/bin", name), "--help"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            rep.equal(f"{t}: {name} --help answers as its command", (0, True),
                      (p.returncode, name.removeprefix("uagent-") in p.stdout.decode()))
    return root


def shell():
    bb = shutil.which("busybox")
    return [bb, "sh"] if bb else ["sh"]


def run_init(root, config_text, work, name, ifaddrs="", env_extra=None, dmi_files=""):
    """Runs start_service and service_triggers of the packaged init script on CONFIG_TEXT,
    with its generated config file and DMI files in the work directory. Returns a dict: rc,
    log (procd and logger lines), argv (of instance 1, or None), err, conf (the generated
    agent.cfg as {key: value}, or None), conf_path."""
    d = os.path.join(work, "init-" + name)
    os.makedirs(os.path.join(d, "config"))
    with open(os.path.join(d, "config", "uagent"), "w") as f:
        f.write(config_text)
    with open(os.path.join(d, "passwd"), "w") as f:
        f.write("root:x:0:0:root:/root:/bin/ash\nuagent:x:32768:32768:uagent:/var/run/uagent:/bin/false\n")
    with open(os.path.join(d, "ifaddrs"), "w") as f:
        f.write(ifaddrs)
    log = os.path.join(d, "procd.log")
    open(log, "w").close()
    conf = os.path.join(d, "etc", "uagent.cfg")
    env = dict(os.environ, UCI_CONFIG_DIR=os.path.join(d, "config"), PROCD_LOG=log,
               STANDIN_PASSWD=os.path.join(d, "passwd"), STANDIN_IFADDRS=os.path.join(d, "ifaddrs"))
    env.update(env_extra or {})
    script = (f'. "{STANDIN}"; . "{root}/etc/init.d/uagent"; CONF_FILE="{conf}"; '
              f'UAGENT_DMI_FILES="{dmi_files}"; start_service; rc=$?; service_triggers; exit $rc')
    p = subprocess.run(shell() + ["-c", script], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    lines = open(log).read().splitlines()
    cmd_file = log + ".cmd1"
    argv = open(cmd_file).read().splitlines() if os.path.exists(cmd_file) else None
    values = None
    if os.path.exists(conf):
        values = {}
        for line in open(conf).read().splitlines():
            k, _, v = line.partition(" = ")
            values[k] = v[1:-1] if v.startswith('"') and v.endswith('"') else v
    return {"rc": p.returncode, "log": lines, "argv": argv, "err": p.stderr.decode(), "conf": values,
            "conf_path": conf}


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


def init_options(root):
    """The option table of the init script: [(uci name, type, agent.cfg key)]."""
    text = open(os.path.join(root, "etc/init.d/uagent")).read()
    block = text.split("uagent_options() {", 1)[1].split("<<-'EOF'\n", 1)[1].split("\tEOF\n", 1)[0]
    return [tuple(line.split()) for line in block.splitlines() if line.strip()]


def check_init(rep, root, work, runner):
    shipped = open(os.path.join(root, "etc/config/uagent")).read()
    print(f"  (init script run by {' '.join(shell())})")
    p = subprocess.run(shell() + ["-n", os.path.join(root, "etc/init.d/uagent")], stderr=subprocess.PIPE)
    rep.equal("init: parses as POSIX sh", (0, b""), (p.returncode, p.stderr))

    # One table maps the UCI options; every agent.cfg key it writes is a setting the agent has.
    options = init_options(root)
    keys = {k.removeprefix("not:") for _, _, k in options if k != "-"}
    helptext = subprocess.run(runner + [os.path.join(root, "usr/bin/uagent"), "--help"],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT).stdout.decode()
    rep.true(f"init: the {len(keys)} agent.cfg keys of the option table are the agent's settings",
             keys and all(f"--{k}" in helptext for k in keys), sorted(k for k in keys if f"--{k}" not in helptext))
    names = [n for n, _, _ in options]
    rep.true("init: every UCI option of the table is documented in the shipped config",
             all(re.search(rf"^\s*#?\s*(option|list) {n} ", shipped, re.M) for n in names),
             [n for n in names if not re.search(rf"^\s*#?\s*(option|list) {n} ", shipped, re.M)])
    rep.true("init: the Unix account is option run_as; option user is agent.cfg's HTTP user",
             ("run_as", "string:uagent", "-") in options and ("user", "string", "user") in options
             and re.search(r"^\s*option run_as 'uagent'", shipped, re.M) and not re.search(r"^\s*option user ", shipped, re.M),
             options)

    r = run_init(root, shipped, work, "shipped")
    rep.equal("init: the shipped config (enabled 0) starts nothing, quietly", (0, None, ""), (r["rc"], r["argv"], r["err"]))
    rep.true("init: triggers: reload on the uagent config, validation of it",
             "reload_trigger uagent" in r["log"] and "validation uagent_validate" in r["log"], r["log"])

    var, state = os.path.join(work, "var"), os.path.join(work, "run")
    dmi = [os.path.join(work, f) for f in ("product_serial", "product_uuid", "board_serial")]
    for f in dmi:
        with open(f, "w") as fh:
            fh.write("X\n")
        os.chmod(f, 0o400)
    cafile = os.path.join(work, "ca.pem")
    open(cafile, "w").write("")
    full_opts = dict(
        enabled="1", server=["https://ocs.example.org/ocsinventory", "https://glpi.example.org/"],
        tag="branch 7", delaytime="600", lazy="yes", httpd_ip="192.168.1.1",
        httpd_trust=["127.0.0.1/32", "192.168.1.0/24"], ca_cert_file=cafile, ca_cert_dir=work,
        ssl_check="0", ssl_fingerprint=["sha256:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB", "sha256:0F:0F:0F:0F:0F:0F:0F:0F:0F:0F:0F:0F:0F:0F:0F:0F:0F:0F:0F:0F:0F:0F:0F:0F:0F:0F:0F:0F:0F:0F:0F:0F"], proxy="http://proxy:3128",
        timeout="90", no_task=["deploy", "wakeonlan"], no_category=["process", "software"],
        user="inventory", password='s3cr"et # not a comment', debug="2", vardir=var, statedir=state,
        itemtype="auto", full_inventory_postpone="7", assetname_support="2",
        additional_content=cafile, oauth_client_id="uagent", oauth_client_secret="0auth-S3cret $HOME",
        deploy=["ocs"], deploy_servers=["ocs.example.org"], deploy_sources=["ocs.example.org"],
        deploy_paths=["/tmp/deploy"])
    r = run_init(root, config_with(shipped, **full_opts), work, "full", dmi_files=" ".join(dmi))
    conf = r["conf_path"]
    rep.equal("init: started", 0, r["rc"])
    rep.equal("init: the command line: --daemon --no-fork, the generated file, what a SIGHUP cannot change",
              ["/usr/bin/uagent", "--daemon", "--no-fork", "--conf-file", conf, "--vardir", var,
               "--statedir", state, "--logger", "stderr", "--debug", "--debug"], r["argv"])
    rep.equal("init: every other UCI option is an agent.cfg key in the generated file", {
        "server": "https://ocs.example.org/ocsinventory,https://glpi.example.org/", "tag": "branch 7",
        "delaytime": "600", "lazy": "1", "no-httpd": "0", "httpd-ip": "192.168.1.1", "httpd-port": "62354",
        "httpd-trust": "127.0.0.1/32,192.168.1.0/24", "user": "inventory", "password": 's3cr"et # not a comment',
        "ca-cert-file": cafile, "ca-cert-dir": work, "ssl-fingerprint": "sha256:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB,sha256:0F:0F:0F:0F:0F:0F:0F:0F:0F:0F:0F:0F:0F:0F:0F:0F:0F:0F:0F:0F:0F:0F:0F:0F:0F:0F:0F:0F:0F:0F:0F:0F",
        "no-ssl-check": "1", "proxy": "http://proxy:3128", "timeout": "90", "no-task": "deploy,wakeonlan",
        "no-category": "process,software", "itemtype": "auto", "full-inventory-postpone": "7",
        "assetname-support": "2", "additional-content": cafile, "oauth-client-id": "uagent",
        "oauth-client-secret": "0auth-S3cret $HOME", "deploy": "ocs", "deploy-servers": "ocs.example.org",
        "deploy-sources": "ocs.example.org", "deploy-paths": "/tmp/deploy"}, r["conf"])
    rep.true("init: the password and the OAuth2 secret are not on the command line",
             r["argv"] and not any("s3cr" in a or "0auth" in a for a in r["argv"]))
    rep.equal("init: the generated file is 0600, owned by the agent's account",
              (0o600, True), (os.stat(conf).st_mode & 0o777, f"chown uagent {conf}.new" in r["log"]))
    ok, why = agent_reads(runner, root, shipped, work)
    rep.true("init: the packaged agent reads a generated file (it calls the file's server, names no unknown key)", ok, why)
    rep.equal("init: runs as the uagent account", True, "set_param user uagent" in r["log"])
    rep.equal("init: system-wide respawn defaults, reload by SIGHUP, stdout and stderr to the log; no restart on any config file change",
              {"set_param respawn 3600 5 5", "set_param reload_signal HUP", "set_param stdout 1", "set_param stderr 1"},
              {l for l in r["log"] if l.split()[1:2] in (["respawn"], ["reload_signal"], ["stdout"], ["stderr"], ["file"])})
    rep.true("init: vardir and statedir made for the account, mode 0700",
             os.path.isdir(var) and os.path.isdir(state) and f"chown uagent {var}" in r["log"]
             and f"chown uagent {state}" in r["log"] and os.stat(var).st_mode & 0o777 == 0o700)
    rep.equal("init: the DMI serials and UUID (root's only) become readable by the account's group",
              [(32768, 0o440)] * 3, [(os.stat(f).st_gid, os.stat(f).st_mode & 0o777) for f in dmi])
    rep.true("init: no firewall rule unless asked", "open_data" not in r["log"])

    r2 = run_init(root, config_with(shipped, **dict(full_opts, server="https://other.example/", password="new",
                                                    tag=None)), work, "changed")
    # Each run has its own work directory: the file's path is set aside before comparing.
    line = lambda run: [a.replace(run["conf_path"], "CONF") for a in run["argv"] or []]
    rep.true("init: a changed server or password leaves the command line as it was (procd sends SIGHUP), "
             "the file changes", line(r2) == line(r) and r2["conf"] != r["conf"]
             and r2["conf"]["server"] == "https://other.example/", (line(r2), line(r)))
    r3 = run_init(root, config_with(shipped, **dict(full_opts, vardir=var + "2")), work, "vardir")
    rep.true("init: a changed vardir changes the command line (procd restarts)", line(r3) != line(r))
    r4 = run_init(root, config_with(shipped, **dict(full_opts, debug=None)), work, "respawn",
                  env_extra={"respawn_threshold": "600", "respawn_timeout": "10", "respawn_retry": "0"})
    rep.true("init: respawn follows the system's respawn_* values", "set_param respawn 600 10 0" in r4["log"], r4["log"])

    # A bad value: refused, named in the system log, nothing started.
    for opt, bad in (("delaytime", "soon"), ("httpd_port", "99999"), ("lazy", "perhaps"),
                     ("debug", "3"), ("ca_cert_file", "/nonexistent/ca.pem")):
        rb = run_init(root, config_with(shipped, **dict(full_opts, **{opt: bad})), work, "bad-" + opt)
        said = [l for l in rb["log"] if l.startswith("logger -t uagent -p daemon.err")]
        rep.true(f"init: {opt} '{bad}' is refused with a message in logread, no instance",
                 rb["rc"] != 0 and rb["argv"] is None and any(f"option {opt} '{bad}'" in l for l in said),
                 (rb["rc"], said, rb["err"]))
    rb = run_init(root, config_with(shipped, **dict(full_opts, tag="two\nlines")), work, "newline")
    rep.true("init: a value with a line break is refused", rb["rc"] != 0 and rb["argv"] is None, rb["err"])

    # The HTTP server on an interface's address, and its reload trigger; a firewall rule on request.
    ri = run_init(root, config_with(shipped, **dict(full_opts, interface="lan", httpd_ip=None, firewall_zone="lan",
                                                    httpd_port="8080")),
                  work, "iface", ifaddrs="wan 203.0.113.9\nlan 192.168.7.1\n")
    rep.equal("init: interface 'lan': the HTTP server on its address", ("192.168.7.1", "0"),
              (ri["conf"] and ri["conf"].get("httpd-ip"), ri["conf"] and ri["conf"].get("no-httpd")))
    rep.true("init: interface 'lan': reload when it changes", "reload_interface_trigger lan" in ri["log"], ri["log"])
    fw = [l for l in ri["log"] if l.startswith("json_add_string")]
    rep.equal("init: firewall_zone 'lan': a rule for the HTTP port from that zone, through procd",
              ["json_add_string type rule", "json_add_string name Allow-uagent-httpd", "json_add_string src lan",
               "json_add_string proto tcp", "json_add_string dest_port 8080", "json_add_string target ACCEPT"], fw)
    rd = run_init(root, config_with(shipped, **dict(full_opts, interface="lan", httpd_ip=None)), work, "iface-down")
    rep.true("init: an interface without an address yet: started without the HTTP server, saying why",
             rd["rc"] == 0 and rd["conf"]["no-httpd"] == "1" and "httpd-ip" not in rd["conf"]
             and "no IPv4 address yet" in rd["err"], (rd["conf"], rd["err"]))

    r = run_init(root, config_with(shipped, enabled="1", server="https://a.example/,https://b.example/", httpd="0",
                                   run_as="root", logger="syslog", vardir=var, statedir=state), work, "nohttpd",
                 dmi_files=" ".join(dmi))
    rep.equal("init: httpd 0 gives no-httpd; a comma list as an option", ("1", "https://a.example/,https://b.example/"),
              (r["conf"]["no-httpd"], r["conf"]["server"]))
    rep.equal("init: logger on the command line", ["--logger", "syslog"], r["argv"][-2:])
    rep.equal("init: run_as root: no account switch, no chown", (False, False),
              (any(l.startswith("set_param user") for l in r["log"]), any(l.startswith("chown") for l in r["log"])))

    r = run_init(root, config_with(shipped, enabled="1", run_as="nosuchuser", local="/tmp/inv", vardir=var,
                                   statedir=state), work, "local")
    rep.equal("init: a local directory alone is enough", "/tmp/inv", r["conf"] and r["conf"].get("local"))
    rep.equal("init: a missing account falls back to root, saying so", (False, True),
              (any(l.startswith("set_param user") for l in r["log"]), "nosuchuser" in r["err"]))

    r = run_init(root, config_with(shipped, enabled="1", vardir=var, statedir=state), work, "noserver")
    rep.equal("init: no server and no local: not started, with a message in logread", (1, None, True),
              (r["rc"], r["argv"], any("set a server" in l for l in r["log"])))

    # The one-time move of an old config's `option user` (the account) to run_as.
    d = os.path.join(work, "defaults")
    os.makedirs(d)
    for name, text, want in (
            ("old", "config agent 'agent'\n\toption enabled '1'\n\toption user 'uagent'\n", ("uagent", None)),
            ("http", "config agent 'agent'\n\toption user 'inv'\n\toption password 'pw'\n", (None, "inv")),
            ("new", "config agent 'agent'\n\toption run_as 'root'\n\toption user 'inv'\n", ("root", "inv"))):
        with open(os.path.join(d, "uagent"), "w") as f:
            f.write(text)
        env = dict(os.environ, UCI_CONFIG_DIR=d, PROCD_LOG=os.path.join(d, "log"))
        p = subprocess.run(shell() + ["-c", f'. "{STANDIN}"; . "{root}/etc/uci-defaults/90_uagent"'], env=env,
                           stderr=subprocess.PIPE)
        after = open(os.path.join(d, "uagent")).read()
        got = tuple((re.search(rf"option {o} '([^']*)'", after) or [None, None])[1] for o in ("run_as", "user"))
        rep.equal(f"uci-defaults: {name} config: run_as and user after", want, got)


def agent_reads(runner, root, shipped, work):
    """The packaged binary reads a generated file: a half-managed run with it, its server a
    closed port on loopback, tries that server (so the file's keys were read) instead of
    stopping on a bad configuration (exit 1), and names no unknown setting. (Under qemu-user
    the inventory's child process cannot start without binfmt_misc: exit 5, not 3.)"""
    port = free_port()
    r = run_init(root, config_with(shipped, enabled="1", server=[f"http://127.0.0.1:{port}/ocsinventory"],
                                   tag="branch 7", user="inventory", password='s3cr"et # not a comment',
                                   no_category=["process", "software"], ssl_fingerprint=["sha256:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB"],
                                   httpd_trust=["127.0.0.1/32", "192.168.1.0/24"], timeout="5",
                                   vardir=os.path.join(work, "rb-var"), statedir=os.path.join(work, "rb-run")),
                 work, "readback")
    if r["conf"] is None:
        return False, r["err"]
    p = subprocess.run(runner + [os.path.join(root, "usr/bin/uagent"), "--conf-file", r["conf_path"],
                                 "--vardir", os.path.join(work, "rb-var"), "--statedir", os.path.join(work, "rb-run")],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    err = p.stderr.decode()
    ok = p.returncode in (3, 5) and f"cannot connect to 127.0.0.1:{port}" in err and "unknown setting" not in err
    return ok, f"exit {p.returncode}: {err[-600:]}"


def check_makefile(rep):
    """The feed Makefile as the packages feed's Rust packages write it, its source pin real."""
    path = os.path.join(REPO, "cross", "openwrt", "Makefile")
    text = open(path).read()
    v = dict(re.findall(r"^([A-Z_]+):=(.*)$", text, re.M))
    rep.true("feed Makefile: includes ../../lang/rust/rust-package.mk and builds with Build/Compile/Cargo",
             "\ninclude ../../lang/rust/rust-package.mk\n" in text and "Build/Compile/Cargo" in text)
    rep.true("feed Makefile: git source pinned to a commit with a PKG_MIRROR_HASH (no skip, no placeholder)",
             v.get("PKG_SOURCE_PROTO") == "git" and re.fullmatch(r"[0-9a-f]{40}", v.get("PKG_SOURCE_VERSION", ""))
             and re.fullmatch(r"[0-9a-f]{64}", v.get("PKG_MIRROR_HASH", "")) and "skip" not in text
             and re.fullmatch(r"\d{4}-\d\d-\d\d", v.get("PKG_SOURCE_DATE", "")), v)
    p = subprocess.run([os.path.join(REPO, "cross", "openwrt", "pin-source"), "--check"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    rep.true("feed Makefile: PKG_MIRROR_HASH is the hash of the pinned commit's source tarball (pin-source --check)",
             p.returncode == 0, p.stdout.decode()[-400:])
    with open(os.path.join(REPO, "Cargo.toml")) as f:
        cargo_license = re.search(r'^license\s*=\s*"([^"]+)"', f.read(), re.M).group(1)
    files = v.get("PKG_LICENSE_FILES", "").split()
    in_pin = [subprocess.run(["git", "-C", REPO, "cat-file", "-e", f"{v.get('PKG_SOURCE_VERSION')}:{f}"],
                             stderr=subprocess.DEVNULL).returncode == 0 for f in files]
    rep.true(f"feed Makefile: PKG_LICENSE {v.get('PKG_LICENSE')} as Cargo.toml, PKG_LICENSE_FILES {files} in the pinned source",
             v.get("PKG_LICENSE") == cargo_license and files and all(in_pin), (cargo_license, files, in_pin))
    rep.true("feed Makefile: PKG_MAINTAINER, PKG_SOURCE_URL and the package's URL:= are set",
             v.get("PKG_MAINTAINER") and v.get("PKG_SOURCE_URL") and re.search(r"^\s+URL:=\S+", text, re.M))
    # The install rule links, by set: what the registry says each set's binary answers to.
    install = text.split("define Package/uagent/install\n", 1)[1].split("endef", 1)[0]
    for set_, cfg in (("minimal", "CONFIG_UAGENT_SET_MINIMAL"), ("default", None), ("full", "CONFIG_UAGENT_SET_FULL")):
        got = set()
        for line in install.splitlines():
            m = re.search(r"\$\(LN\) uagent \$\(1\)/usr/bin/(\S+?)\)?$", line.strip())
            if not m:
                continue
            cond = re.match(r"\$\(if \$\((CONFIG_\w+)\),(,?)", line.strip())
            if cond:
                on = (cond.group(1) == cfg)
                # "$(if $(X),,LINK)": the link unless X; "$(if $(X),LINK)": only with X.
                if (cond.group(2) == ",") == on:
                    continue
            got.add(m.group(1))
        rep.equal(f"feed Makefile: {set_} set installs the launcher links of cross/openwrt/launchers",
                  sorted(launchers(set_)), sorted(got))
    rep.true("feed Makefile: the service installs the init script, the UCI config and the uci-defaults move",
             all(x in text for x in ("./files/uagent.init", "./files/uagent.config", "./files/uagent.defaults")))


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
    print("== feed Makefile")
    check_makefile(rep)
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
    triple = next(t for t, s_ in packages if s_ == "full")
    qemu = shlex.split(target_conf(triple).get("QEMU", "") or "")
    runner = [shutil.which(qemu[0])] + qemu[1:] if qemu else []
    check_init(rep, init_root, work, runner)
    if a.keep:
        print(f"work directory: {work}")
    else:
        shutil.rmtree(work)
    return rep.done("openwrt-package")


if __name__ == "__main__":
    sys.exit(main())
