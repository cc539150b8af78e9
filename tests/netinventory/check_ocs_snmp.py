#!/usr/bin/env python3
"""OCS Inventory's SNMP option (network-tasks.md §D.2) against the real OCS server.

Two snmpsim agents on loopback addresses of their own (127.83.79.1 and .2, port 161, since an
OCS job has no port) replay real snmpsim-data recordings: a Linux host (os/linux/slackware)
and a switch (network/switch/metel-poe-box), each with a sysName of this test's so that the
rows it looks for are its own. The server is switched to SNMP as §D.2's SQL does (the `SNMP`
config row, a v2c community, the computer's SNMP_NETWORK = 127.83.79.0/30) plus a custom type
of this test's (condition sysDescr = `Linux*`, table snmp_uagentlinux). The agent talks HTTPS
(mod_ssl of tests/peers/tls-up.sh), as the server requires for SNMP.

Run 1 makes the computer known to the server (no SNMP option before that). Run 2a: the server
as Debian ships it sends an SNMP option without types (see below). Run 2: the PROLOG
carries the SNMP option, the agent starts the netinventory task, and its QUERY=SNMP message
must land in MariaDB: the switch in snmp_default (name, description, uptime, the address and
mask tables walked), the Linux host in snmp_uagentlinux only (the custom type wins over
snmp_default). Run 3 with `--no-snmp`: nothing scanned. Everything the test changed on the
server is put back at the end, also on failure.

Debian's server (ocsinventory-server 2.8.1) reads columns that the 2.11 schema it ships with
moved: `snmp_types.CONDITION_OID/CONDITION_VALUE` (now in snmp_types_conditions) and
`snmp_communities.AUTHKEY`. Without them its PROLOG has no SNMP_TYPE and no COMMUNITY, and no
agent can scan anything. The test adds those columns for its run (filled from the 2.11 tables)
and drops them at the end.

Run under the OCS lock:
    flock /tmp/uagent-ocs.lock python3 tests/netinventory/check_ocs_snmp.py --binary target/full/debug/uagent
"""
import argparse
import bz2
import os
import shutil
import socket
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
sys.path.insert(0, os.path.join(HERE, "..", "netdiscovery"))
from lab import DATA, VENV  # noqa: E402
from lib import Checks, ocs_server_up, sql, stop, tls_up, wait_for  # noqa: E402

NET = "127.83.79"
LINUX_IP, SWITCH_IP = f"{NET}.1", f"{NET}.2"
LINUX_NAME, SWITCH_NAME = "uagent-ni-ocs-linux", "uagent-ni-ocs-switch"
TABLE = "snmp_uagentlinux"
TYPE = "uagent-ni-ocs-linux"
COMMUNITY = "uagent-ni-ocs"
SYSNAME = "1.3.6.1.2.1.1.5.0"


def recording(path, name):
    """A snmpsim-data recording with our sysName (variation records left out)."""
    with bz2.open(os.path.join(DATA, path), "rt", encoding="latin-1") as f:
        lines = [line for line in f if line.count("|") >= 2 and ":" not in line.split("|")[1]]
    return "".join(f"{SYSNAME}|4|{name}\n" if line.startswith(SYSNAME + "|") else line for line in lines)


def free_udp(ip, port):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.bind((ip, port))
            return True
        except OSError:
            return False


def snmpsim(tmp, ip, text):
    """One snmpsim agent on ip:161 serving `text` for our community."""
    data = os.path.join(tmp, f"data-{ip}")
    cache = os.path.join(tmp, f"cache-{ip}")
    os.makedirs(data)
    os.makedirs(cache)
    os.chmod(cache, 0o777)
    for d in (tmp, data):
        os.chmod(d, 0o755)
    with open(os.path.join(data, COMMUNITY + ".snmprec"), "w", encoding="latin-1") as f:
        f.write(text)
    log = open(os.path.join(tmp, f"snmpsim-{ip}.log"), "w")
    return subprocess.Popen([os.path.join(VENV, "bin", "snmpsim-command-responder"), f"--data-dir={data}",
                             f"--cache-dir={cache}", f"--agent-udpv4-endpoint={ip}:161",
                             # As root: snmpsim binds after dropping privileges, and port
                             # 161 then fails without a word (as in tests/netdiscovery/lab.py).
                             "--process-user=root", "--process-group=root"],
                            stdout=log, stderr=subprocess.STDOUT)


def answers(ip):
    p = subprocess.run(["snmpget", "-v2c", "-c", COMMUNITY, "-t", "1", "-r", "0", ip, ".1.3.6.1.2.1.1.5.0"],
                       capture_output=True, text=True, timeout=10)
    return p.returncode == 0


def columns(table):
    return [r[0] for r in sql(f"SELECT COLUMN_NAME FROM information_schema.COLUMNS "
                              f"WHERE TABLE_SCHEMA='ocsweb' AND TABLE_NAME='{table}'")]


def one(query):
    rows = sql(query)
    return rows[0][0] if rows else None


class Server:
    """What the test changes on the shared server, and how it is put back."""

    def __init__(self):
        self.undo = []

    def do(self, query, undo=None):
        sql(query)
        if undo:
            self.undo.append(undo)

    def insert(self, query, undo_table):
        new_id = one(f"{query}; SELECT LAST_INSERT_ID()")
        self.undo.append(f"DELETE FROM {undo_table} WHERE ID={new_id}")
        return new_id

    def restore(self):
        failed = []
        for q in reversed(self.undo):
            try:
                sql(q)
            except subprocess.CalledProcessError as e:
                failed.append(f"{q}: {e.stderr}")
        self.undo = []
        return failed

    def switch_on(self, hid):
        old = sql("SELECT IVALUE FROM config WHERE NAME='SNMP'")
        if old:
            self.do("UPDATE config SET IVALUE=1 WHERE NAME='SNMP'", f"UPDATE config SET IVALUE={old[0][0]} WHERE NAME='SNMP'")
        else:
            self.do("INSERT INTO config(NAME,IVALUE,TVALUE,COMMENTS) VALUES('SNMP',1,NULL,'Activate SNMP scans')",
                    "DELETE FROM config WHERE NAME='SNMP'")
        self.insert(f"INSERT INTO snmp_communities(VERSION,NAME) VALUES('2c','{COMMUNITY}')", "snmp_communities")
        self.do(f"DELETE FROM devices WHERE HARDWARE_ID={hid} AND NAME='SNMP_NETWORK'")
        self.do(f"INSERT INTO devices(HARDWARE_ID,NAME,IVALUE,TVALUE,COMMENTS) VALUES({hid},'SNMP_NETWORK',2,'{NET}.0/30','')",
                f"DELETE FROM devices WHERE HARDWARE_ID={hid} AND NAME='SNMP_NETWORK'")
        # The custom type: its table, labels, OIDs and condition, as the GUI makes them.
        self.do(f"DROP TABLE IF EXISTS {TABLE}")
        self.do(f"CREATE TABLE {TABLE} (ID int(6) NOT NULL AUTO_INCREMENT, LinuxName varchar(255) DEFAULT NULL, "
                f"LinuxContact varchar(255) DEFAULT NULL, PRIMARY KEY (ID), UNIQUE KEY LinuxName (LinuxName))",
                f"DROP TABLE IF EXISTS {TABLE}")
        tid = self.insert(f"INSERT INTO snmp_types(TYPE_NAME,TABLE_TYPE_NAME) VALUES('{TYPE}','{TABLE}')", "snmp_types")
        self.insert(f"INSERT INTO snmp_types_conditions(TYPE_ID,CONDITION_OID,CONDITION_VALUE) "
                    f"VALUES({tid},'1.3.6.1.2.1.1.1.0','Linux*')", "snmp_types_conditions")
        for label, oid in (("LinuxName", SYSNAME), ("LinuxContact", "1.3.6.1.2.1.1.4.0")):
            lid = self.insert(f"INSERT INTO snmp_labels(LABEL_NAME) VALUES('{label}')", "snmp_labels")
            recon = "'Yes'" if label == "LinuxName" else "NULL"
            self.insert(f"INSERT INTO snmp_configs(TYPE_ID,LABEL_ID,OID,RECONCILIATION) "
                        f"VALUES({tid},{lid},'{oid}',{recon})", "snmp_configs")

    def bridge(self):
        """Debian's 2.8.1 server reads the conditions and AUTHKEY where the 2.11 schema no
        longer has them (see the docstring): the columns for this run, dropped at the end."""
        if "CONDITION_OID" not in columns("snmp_types"):
            self.do("ALTER TABLE snmp_types ADD COLUMN CONDITION_OID varchar(255) DEFAULT NULL, "
                    "ADD COLUMN CONDITION_VALUE varchar(255) DEFAULT NULL",
                    "ALTER TABLE snmp_types DROP COLUMN CONDITION_OID, DROP COLUMN CONDITION_VALUE")
            self.do("UPDATE snmp_types t JOIN snmp_types_conditions c ON c.TYPE_ID=t.ID "
                    "SET t.CONDITION_OID=c.CONDITION_OID, t.CONDITION_VALUE=c.CONDITION_VALUE")
            # The stock Default type has no condition row: sysDescr answers (§D.2).
            self.do("UPDATE snmp_types SET CONDITION_OID='1.3.6.1.2.1.1.1.0' WHERE CONDITION_OID IS NULL")
        if "AUTHKEY" not in columns("snmp_communities"):
            self.do("ALTER TABLE snmp_communities ADD COLUMN AUTHKEY varchar(255) DEFAULT NULL",
                    "ALTER TABLE snmp_communities DROP COLUMN AUTHKEY")


def delete_rows():
    sql(f"DELETE FROM snmp_default WHERE DefaultName IN ('{LINUX_NAME}','{SWITCH_NAME}')")
    if columns(TABLE):
        sql(f"DELETE FROM {TABLE}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    a = ap.parse_args()
    binary = os.path.abspath(a.binary)
    checks = Checks()
    ocs_server_up()
    tls = tls_up()
    if not os.path.isdir(DATA):
        checks.true(f"snmpsim-data is installed ({DATA}): tests/run.sh installs it", False)
        return checks.done("ocs-snmp")
    for ip in (LINUX_IP, SWITCH_IP):
        if not checks.true(f"UDP {ip}:161 is free for the test's snmpsim", free_udp(ip, 161)):
            return checks.done("ocs-snmp")
    tmp = tempfile.mkdtemp(prefix="ni-ocs-")
    sims = []
    server = Server()
    try:
        sims.append(snmpsim(tmp, LINUX_IP, recording("os/linux/slackware.snmprec.bz2", LINUX_NAME)))
        sims.append(snmpsim(tmp, SWITCH_IP, recording("network/switch/metel-poe-box.snmprec.bz2", SWITCH_NAME)))
        up = wait_for(lambda: answers(LINUX_IP) and answers(SWITCH_IP), 120, 0.5)
        if not checks.true("the two snmpsim agents answer on loopback", up):
            return checks.done("ocs-snmp")
        vardir = os.path.join(tmp, "vardir")
        agent = [binary, "--server", tls["TLS_URL"], "--ca-cert-file", tls["TLS_CA"], "--vardir", vardir,
                 "--no-category", "software,process", "--tasks", "inventory,netinventory"]

        def run(*extra):
            return subprocess.run([*agent, *extra], capture_output=True, text=True, timeout=300)

        p = run("--force")
        checks.equal("run 1 (the server learns the computer): exit code", 0, p.returncode)
        deviceid = open(os.path.join(vardir, "deviceid")).read().strip()
        hid = one(f"SELECT ID FROM hardware WHERE DEVICEID='{deviceid}'")
        if not checks.true("run 1: the server knows the computer", hid, p.stderr[-1500:]):
            return checks.done("ocs-snmp")
        checks.true("run 1: no SNMP option yet", "SNMP message" not in p.stderr, p.stderr[-800:])
        delete_rows()
        server.switch_on(hid)
        delete_rows()

        # Debian's server as it is: its SNMP option comes without types nor community.
        p = run("--force")
        checks.equal("run 2a (the server's schema as shipped): exit code", 0, p.returncode)
        checks.true("run 2a: the option comes without SNMP_TYPE (the 2.8.1 engine's query fails on "
                    "the 2.11 schema); the agent says so and scans nothing",
                    "SNMP: no SNMP_TYPE; nothing scanned" in p.stderr and "SNMP message" not in p.stderr,
                    p.stderr[-1500:])
        server.bridge()

        p = run("--force", "--debug")
        checks.equal("run 2: exit code", 0, p.returncode)
        checks.true("run 2: the agent sent the task's QUERY=SNMP message to the server",
                    "1 SNMP message(s) sent" in p.stderr, p.stderr[-3000:])
        checks.true("run 2: the task found the two devices of the /30",
                    "SNMP: 2 device(s) among 2 address(es)" in p.stderr, p.stderr[-3000:])
        row = sql("SELECT DefaultName, DefaultDescription, DefaultUptime, DefaultAddressIP, DefaultGateway, "
                  f"DefaultLocation FROM snmp_default WHERE DefaultName='{SWITCH_NAME}'")
        checks.equal("snmp_default: the switch with its sysDescr, its address and mask tables walked; "
                     "its empty sysLocation left NULL",
                     [[SWITCH_NAME, "2G-2S.0.2.F-BOX-PoE (M-PoE), fw:60.7050, PoEfw:118",
                       row[0][2] if row else "", "10.106.229.72", "255.255.255.0", "NULL"]], row)
        checks.true("snmp_default: the switch's uptime is sysUpTime's (768597014 ticks = 88 days)",
                    row and "88 days" in row[0][2], row)
        checks.equal("snmp_uagentlinux: the Linux host, by the server's custom type (sysDescr = Linux*)",
                     [[LINUX_NAME, "Root <root@cray> (configure /etc/snmp/snmp.local.conf)"]],
                     sql(f"SELECT LinuxName, LinuxContact FROM {TABLE}"))
        checks.equal("snmp_default: not the Linux host (the custom type wins)", [],
                     sql(f"SELECT ID FROM snmp_default WHERE DefaultName='{LINUX_NAME}'"))
        acc = sql("SELECT SNMP_TYPE, SNMP_RECONCILIATION_FIELD, SNMP_RECONCILIATION_VALUE FROM snmp_accountinfo "
                  f"WHERE SNMP_RECONCILIATION_VALUE IN ('{LINUX_NAME}','{SWITCH_NAME}')")
        # Debian's 2.8.1 server writes snmp_accountinfo for no QUERY=SNMP (its insert_snmp_inventory
        # fills the type tables only); a newer one keys a row by the reconciliation label.
        if acc:
            checks.equal("snmp_accountinfo: a row per device, keyed by its reconciliation label",
                         sorted([[TYPE, "LinuxName", LINUX_NAME], ["Default", "DefaultName", SWITCH_NAME]]), sorted(acc))
        else:
            schema = one("SELECT TVALUE FROM config WHERE NAME='GUI_VERSION'") or "?"
            print(f"  note: snmp_accountinfo holds no row for the devices: this server ({schema} schema, "
                  "Debian's 2.8.1 engine) does not write it for QUERY=SNMP", flush=True)

        delete_rows()
        p = run("--force", "--no-snmp")
        checks.equal("run 3 (--no-snmp): exit code", 0, p.returncode)
        checks.true("run 3: the agent says why it does not scan",
                    "asks for an SNMP scan; no-snmp is set" in p.stderr, p.stderr[-1500:])
        checks.equal("run 3: no row", [], sql(f"SELECT DefaultName FROM snmp_default WHERE DefaultName IN "
                                              f"('{LINUX_NAME}','{SWITCH_NAME}') UNION SELECT LinuxName FROM {TABLE}"))
    finally:
        try:
            delete_rows()
        except subprocess.CalledProcessError:
            pass
        failed = server.restore()
        checks.true("the server's SNMP configuration is put back", not failed, "\n".join(failed))
        for s in sims:
            stop(s)
        shutil.rmtree(tmp, ignore_errors=True)
    return checks.done("ocs-snmp")


if __name__ == "__main__":
    sys.exit(main())
