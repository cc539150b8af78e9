"""Reads SNMPQUERY DEVICE documents (ours and the Perl agent's) into comparable facts."""
import re
import xml.etree.ElementTree as ET

INFO_FIELDS = ("TYPE", "MANUFACTURER", "MODEL", "SERIAL", "FIRMWARE", "MAC", "NAME", "LOCATION",
               "CONTACT", "COMMENTS", "CPU", "MEMORY", "RAM", "IPS")
PORT_FIELDS = ("IFNUMBER", "IFNAME", "IFTYPE", "IFSPEED", "MAC")


def devices(text):
    """The DEVICE elements of one or more concatenated <REQUEST> documents."""
    docs = re.findall(r"<REQUEST>.*?</REQUEST>", text, re.S)
    out = []
    for d in docs:
        root = ET.fromstring(d)
        out.extend(root.findall("./CONTENT/DEVICE"))
    return out


def facts(dev):
    """INFO fields, ports (by IFNUMBER) with the compared fields, the rest for reference."""
    info = {}
    inf = dev.find("INFO")
    if inf is not None:
        for f in INFO_FIELDS:
            if f == "IPS":
                ips = [e.text for e in inf.findall("./IPS/IP")]
                if ips:
                    info[f] = ",".join(sorted(ips))
            else:
                e = inf.find(f)
                if e is not None and e.text:
                    info[f] = e.text.strip()
    ports = {}
    for p in dev.findall("./PORTS/PORT"):
        row = {}
        for f in PORT_FIELDS:
            e = p.find(f)
            if e is not None and e.text:
                row[f] = e.text.strip()
        ports[row.get("IFNUMBER", f"#{len(ports)}")] = row
    err = dev.find("ERROR")
    return {"info": info, "ports": ports, "error": None if err is None else ET.tostring(err, "unicode")}


def normalise(text):
    """A document without what changes between two runs (uptime, last changes, process ids)."""
    text = re.sub(r"<(UPTIME|IFLASTCHANGE|PROCESSNUMBER|MODULEVERSION)>[^<]*</\1>", "", text)
    return text


def differences(ours, theirs):
    """[(field, ours, theirs)] between two facts."""
    out = []
    for f in INFO_FIELDS:
        if ours["info"].get(f) != theirs["info"].get(f):
            out.append((f"INFO/{f}", ours["info"].get(f), theirs["info"].get(f)))
    if len(ours["ports"]) != len(theirs["ports"]):
        out.append(("PORTS/count", len(ours["ports"]), len(theirs["ports"])))
    for n, tp in theirs["ports"].items():
        op = ours["ports"].get(n)
        if op is None:
            out.append((f"PORT {n}", None, "present"))
            continue
        for f in PORT_FIELDS:
            if op.get(f) != tp.get(f):
                out.append((f"PORT/{f}", op.get(f), tp.get(f)))
    return out
