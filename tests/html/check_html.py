#!/usr/bin/env python3
"""The HTML inventory in a real browser: headless Chromium (Debian's `chromium`) renders the
page of this machine and of each tree of ../shared/corpus at a 1280-px window, driven over the
DevTools protocol (a WebSocket client of a few lines, standard library only), and checks what a
person would see:

- the page fits 1280 px: no horizontal scrolling, folded lists folded and unfolded;
- every table has a header row, and every body row has as many cells as the header;
- the machine's summary is shown first, then the contents, then the sections;
- the page loads nothing from outside (no resource requests, no external URL);
- the filter box of a folded list hides the rows that do not match;
- printed (to PDF), the first page carries the summary.

Screenshots (NAME.png the first screen, NAME-full.png the whole page as it opens,
NAME-lists.png the last long list unfolded) and the printed PDF's first page (NAME-print-1.png)
go to target/html-screenshots/, beside NAME.html and NAME.pdf.

    tests/html/check_html.py --binary target/release/uagent

Ends with 'html: N passed, M failed'.
"""
import argparse
import base64
import glob
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
from lib import REPO, SHARED, Checks, free_port, stop, wait_for  # noqa: E402

OUT = os.path.join(REPO, "target", "html-screenshots")
WIDTH, HEIGHT = 1280, 900
# Chromium as the environment notes start it: no sandbox (root), no network of its own.
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--hide-scrollbars", f"--window-size={WIDTH},{HEIGHT}"]


class DevTools:
    """One page of Chromium over the DevTools protocol: a WebSocket client (RFC 6455, text
    frames, client-masked) and request/response by id."""

    def __init__(self, ws_url):
        rest = ws_url.split("://", 1)[1]
        hostport, path = rest.split("/", 1)
        host, port = hostport.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=60)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET /{path} HTTP/1.1\r\nHost: {hostport}\r\nUpgrade: websocket\r\n"
                           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                           "Sec-WebSocket-Version: 13\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise RuntimeError("DevTools closed the connection during the handshake")
            head += chunk
        head, self.buf = head.split(b"\r\n\r\n", 1)
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            raise RuntimeError(f"DevTools refused the WebSocket: {head[:200]!r}")
        self.next_id = 0
        self.events = []

    def _read(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                raise RuntimeError("DevTools closed the connection")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def _frame(self):
        b0, b1 = self._read(2)
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack(">H", self._read(2))[0]
        elif n == 127:
            n = struct.unpack(">Q", self._read(8))[0]
        mask = self._read(4) if b1 & 0x80 else None
        data = self._read(n)
        if mask:
            data = bytes(c ^ mask[i % 4] for i, c in enumerate(data))
        return b0 & 0x80, b0 & 0x0F, data

    def _message(self):
        parts = []
        while True:
            fin, op, data = self._frame()
            if op == 8:
                raise RuntimeError("DevTools closed the WebSocket")
            if op in (9, 10):  # ping, pong: nothing to answer for this client's needs
                continue
            parts.append(data)
            if fin:
                return json.loads(b"".join(parts))

    def send(self, method, **params):
        self.next_id += 1
        payload = json.dumps({"id": self.next_id, "method": method, "params": params}).encode()
        mask = os.urandom(4)
        n = len(payload)
        head = bytes([0x81])
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 1 << 16:
            head += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            head += bytes([0x80 | 127]) + struct.pack(">Q", n)
        self.sock.sendall(head + mask + bytes(c ^ mask[i % 4] for i, c in enumerate(payload)))
        while True:
            msg = self._message()
            if msg.get("id") == self.next_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            self.events.append(msg)

    def wait_event(self, method, timeout=30):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            for i, e in enumerate(self.events):
                if e.get("method") == method:
                    del self.events[i]
                    return e
            self.events.append(self._message())
        raise RuntimeError(f"no {method} within {timeout} s")

    def eval(self, expr):
        r = self.send("Runtime.evaluate", expression=expr, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in r:
            raise RuntimeError(f"page script failed: {r['exceptionDetails']}")
        return r["result"].get("value")


# What the page script measures: widths (as shipped and with every list unfolded), the tables'
# shapes, the order things are shown in, what was loaded from where, and the filter box.
MEASURE = r"""
(() => {
  const doc = document.documentElement;
  const out = {};
  out.scrollWidth = doc.scrollWidth;
  out.clientWidth = doc.clientWidth;
  const details = [...document.querySelectorAll('details')];
  out.folded = details.filter(d => !d.open).map(d => d.parentElement.id);
  details.forEach(d => d.open = true);
  out.scrollWidthUnfolded = doc.scrollWidth;
  // The widest elements, to say what overflows when something does.
  out.widest = [...document.querySelectorAll('body *')]
    .filter(e => e.getBoundingClientRect().right > doc.clientWidth + 1)
    .slice(0, 5).map(e => e.tagName + (e.id ? '#' + e.id : '') + ' ' + Math.round(e.getBoundingClientRect().right));
  out.tables = [...document.querySelectorAll('table')].map(t => {
    const head = t.tHead ? t.tHead.rows : [];
    const th = head.length ? head[0].cells.length : 0;
    const allTh = head.length ? [...head[0].cells].every(c => c.tagName === 'TH') : false;
    const bad = [];
    for (const body of t.tBodies) for (const r of body.rows) if (r.cells.length !== th) bad.push(r.rowIndex);
    const sec = t.closest('section');
    return {section: sec ? sec.id : '?', headerCells: th, headerAllTh: allTh,
            rows: [...t.tBodies].reduce((n, b) => n + b.rows.length, 0), badRows: bad.slice(0, 5)};
  });
  details.forEach((d, i) => d.open = !out.folded.includes(d.parentElement.id));
  const top = e => e ? e.getBoundingClientRect().top + window.scrollY : null;
  out.summaryTop = top(document.querySelector('header.top'));
  out.navTop = top(document.querySelector('nav.toc'));
  out.sectionTops = [...document.querySelectorAll('section')].map(s => [s.id, top(s)]);
  out.h1 = (document.querySelector('header.top h1') || {}).textContent || '';
  out.summaryText = (document.querySelector('header.top') || {}).innerText || '';
  out.resources = performance.getEntriesByType('resource').map(r => r.name);
  out.externalRefs = [...document.querySelectorAll('[src],[href]')]
    .map(e => e.getAttribute('src') || e.getAttribute('href')).filter(u => !u.startsWith('#'));
  const f = document.querySelector('input.filter');
  if (f) {
    const t = document.getElementById(f.dataset.t);
    const rows = [...t.tBodies[0].rows];
    const word = rows[Math.floor(rows.length / 2)].cells[0].textContent.trim();
    f.value = word; f.dispatchEvent(new Event('input'));
    const visible = rows.filter(r => !r.hidden);
    out.filter = {visibleWithoutScript: !f.hidden, table: f.dataset.t, rows: rows.length, word: word,
                  shown: visible.length,
                  allMatch: visible.every(r => r.textContent.toLowerCase().includes(word.toLowerCase()))};
    f.value = ''; f.dispatchEvent(new Event('input'));
    out.filter.afterClear = rows.filter(r => !r.hidden).length;
  }
  return out;
})()
"""


def start_chromium(profile):
    exe = shutil.which("chromium")
    if not exe:
        return None, None, "chromium is not installed (tests/run.sh installs it: debs chromium)"
    port = free_port()
    proc = subprocess.Popen([exe, *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
                             f"--remote-debugging-port={port}", "about:blank"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def up():
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/json/version", timeout=2).read()
            return True
        except OSError:
            return False

    if not wait_for(up, 60, 0.2):
        stop(proc)
        return None, None, "chromium did not open its DevTools port: " + proc.stderr.read().decode()[-500:]
    return proc, port, ""


def page_target(port):
    targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=5))
    pages = [t for t in targets if t.get("type") == "page"]
    if pages:
        return pages[0]["webSocketDebuggerUrl"]
    req = urllib.request.Request(f"http://127.0.0.1:{port}/json/new?about:blank", method="PUT")
    return json.load(urllib.request.urlopen(req, timeout=5))["webSocketDebuggerUrl"]


def save_png(path, b64):
    with open(path, "wb") as f:
        f.write(base64.b64decode(b64))


def check_page(rep, dt, name, html_path, expect_name):
    dt.send("Page.enable")
    dt.send("Emulation.setDeviceMetricsOverride", width=WIDTH, height=HEIGHT, deviceScaleFactor=1, mobile=False)
    dt.send("Page.navigate", url="file://" + html_path)
    dt.wait_event("Page.loadEventFired")
    m = dt.eval(MEASURE)
    rep.true(f"{name}: fits {WIDTH} px (scrollWidth {m['scrollWidth']})", m["scrollWidth"] <= WIDTH, m["widest"])
    rep.true(f"{name}: fits {WIDTH} px with every list unfolded (scrollWidth {m['scrollWidthUnfolded']})",
             m["scrollWidthUnfolded"] <= WIDTH, m["widest"])
    rep.true(f"{name}: {len(m['tables'])} tables, each with a header row of th cells",
             m["tables"] and all(t["headerCells"] > 0 and t["headerAllTh"] for t in m["tables"]),
             [t for t in m["tables"] if not (t["headerCells"] > 0 and t["headerAllTh"])])
    rep.true(f"{name}: every row has as many cells as its header "
             f"({sum(t['rows'] for t in m['tables'])} rows)",
             all(not t["badRows"] for t in m["tables"]), [t for t in m["tables"] if t["badRows"]])
    tops = [t for _, t in m["sectionTops"]]
    rep.true(f"{name}: the summary is shown first, then the contents, then the sections",
             m["summaryTop"] is not None and m["navTop"] is not None and tops
             and m["summaryTop"] < m["navTop"] < min(tops), (m["summaryTop"], m["navTop"], tops[:3]))
    rep.true(f"{name}: the summary names the machine ({m['h1']!r}) and its memory, addresses and serials",
             expect_name in m["h1"] and all(k in m["summaryText"] for k in
                                            ("Operating system", "Processor", "Memory", "IP addresses",
                                             "Serial numbers")), m["summaryText"][:400])
    rep.equal(f"{name}: nothing loaded from outside the page", ([], []), (m["resources"], m["externalRefs"]))
    if "filter" in m:
        f = m["filter"]
        rep.true(f"{name}: the filter box of {f['table']} shows the {f['shown']} of {f['rows']} rows "
                 f"that contain {f['word']!r}",
                 f["visibleWithoutScript"] and 0 < f["shown"] < f["rows"] and f["allMatch"]
                 and f["afterClear"] == f["rows"], f)
    shot = dt.send("Page.captureScreenshot", format="png")
    save_png(os.path.join(OUT, f"{name}.png"), shot["data"])
    height = dt.eval("document.documentElement.scrollHeight")
    full = dt.send("Page.captureScreenshot", format="png", captureBeyondViewport=True,
                   clip={"x": 0, "y": 0, "width": WIDTH, "height": min(height, 16000), "scale": 1})
    save_png(os.path.join(OUT, f"{name}-full.png"), full["data"])
    # The long lists unfolded: the first screen of the last folded section.
    if m["folded"]:
        dt.eval("document.querySelectorAll('details').forEach(d => d.open = true);"
                f"document.getElementById({json.dumps(m['folded'][-1])}).scrollIntoView()")
        save_png(os.path.join(OUT, f"{name}-lists.png"), dt.send("Page.captureScreenshot", format="png")["data"])
        dt.eval(f"const folded = {json.dumps(m['folded'])};"
                "document.querySelectorAll('details').forEach(d => d.open = !folded.includes(d.parentElement.id));"
                "window.scrollTo(0, 0)")
    pdf = dt.send("Page.printToPDF", paperWidth=8.27, paperHeight=11.69, printBackground=True)
    pdf_path = os.path.join(OUT, f"{name}.pdf")
    with open(pdf_path, "wb") as fh:
        fh.write(base64.b64decode(pdf["data"]))
    return pdf_path, m


def check_print(rep, name, pdf_path, expect_name):
    if not shutil.which("pdftotext") or not shutil.which("pdftoppm"):
        rep.true(f"{name}: poppler-utils installed (tests/run.sh installs it)", False)
        return
    first = subprocess.run(["pdftotext", "-f", "1", "-l", "1", "-layout", pdf_path, "-"],
                           capture_output=True, text=True).stdout
    pages = subprocess.run(["pdfinfo", pdf_path], capture_output=True, text=True).stdout
    npages = next((line.split()[-1] for line in pages.splitlines() if line.startswith("Pages:")), "?")
    rep.true(f"{name}: printed ({npages} A4 pages), page 1 starts with the summary",
             expect_name in first and "Serial numbers" in first and "Memory" in first
             and first.find("Memory") < first.find("Contents"), first[:300])
    subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", pdf_path,
                    os.path.join(OUT, f"{name}-print")], check=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    a = ap.parse_args()
    os.makedirs(OUT, exist_ok=True)
    rep = Checks()
    work = tempfile.mkdtemp(prefix="uagent-html-")
    pages = []
    live = os.path.join(OUT, "this-machine.html")
    p = subprocess.run([a.binary, "inventory", "--html", "--vardir", os.path.join(work, "var"),
                        "--output", live], capture_output=True, text=True)
    rep.equal("this machine: uagent inventory --html exits 0", 0, p.returncode)
    pages.append(("this-machine", live, socket.gethostname()))
    for tree in sorted(glob.glob(os.path.join(SHARED, "corpus", "*", ""))):
        name = os.path.basename(os.path.dirname(tree))
        exp = json.load(open(os.path.join(tree, "expected.json")))
        out = os.path.join(OUT, f"{name}.html")
        p = subprocess.run([a.binary, "inventory", "--format", "html", "--root", os.path.join(tree, "root")
                            if os.path.isdir(os.path.join(tree, "root")) else tree,
                            "--vardir", os.path.join(work, "var-" + name), "--output", out],
                           capture_output=True, text=True)
        rep.equal(f"{name}: uagent inventory --format html --root exits 0", 0, p.returncode)
        pages.append((name, out, exp["hostname"]))
    profile = os.path.join(work, "profile")
    proc, port, why = start_chromium(profile)
    if proc is None:
        rep.true("headless chromium runs", False, why)
        return rep.done("html")
    try:
        dt = DevTools(page_target(port))
        for name, path, host in pages:
            print(f"== {name}")
            pdf, _ = check_page(rep, dt, name, path, host)
            check_print(rep, name, pdf, host)
    finally:
        stop(proc)
        shutil.rmtree(work, ignore_errors=True)
    print(f"screenshots: {OUT}")
    return rep.done("html")


if __name__ == "__main__":
    sys.exit(main())
