#!/usr/bin/env python3
"""GLPI's native protocol against the project's GLPI stand-in (tests/peers/fake_server.py
--mode glpi, built from GLPI's sources: no GLPI server can be installed here).

- Discovery: the first run sends a PROLOG carrying GLPI-Agent-ID, gets JSON, then speaks
  CONTACT and sends a JSON inventory; the next run goes straight to CONTACT; inject.
- Partial inventories: first full, then partials of only what changed, a full one after
  full-inventory-postpone partial ones, a full one after an error (the spooled partial goes
  first), after --full and after the server changed; --partial CATEGORY.
- Pending: retried with the same GLPI-Request-ID until ok, the inventory in the spool
  meanwhile (nothing lost); pending forever: 12 tries, then the spool keeps it for next time.
- OAuth2 client credentials: one token for several requests, a new one after expiry and
  after a 401, a wrong secret is a clear error, and the secret is in no log and on no command
  line (the agent's, its tasks', the daemon's passes').
- /now events on the daemon's HTTP server (a partial inventory of the categories asked for,
  the schedule left alone) and CORS (204 preflight, Origin checked, 403 otherwise).
- The router as a NetworkEquipment; --additional-content; --assetname-support.

Every JSON inventory the stand-in receives is validated against GLPI's schema
(../shared/schema/inventory.schema.json), the partial ones too.

    tests/agent/check_glpi.py --binary target/release/uagent --full-binary target/full/debug/uagent
"""
import argparse
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
from lib import SCHEMA, SHARED, Checks, free_port, stop, wait_for  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
FAKE = os.path.join(HERE, "..", "peers", "fake_server.py")
ROUTER = os.path.join(SHARED, "corpus", "openwrt-ramips-mt7621", "root")
checks = Checks()
check = checks.true
equal = checks.equal
# Categories left out of the partial sequences: they change between two runs on a busy
# machine (processes, free space, logins), which would make the expected partials depend on it.
STEADY = ["--no-category", "process,drive,user"]
SECRET = "S3cr3t-of-the-oauth-client"
ALL_STANDINS = []


class Standin:
    """One GLPI stand-in process and its log."""

    def __init__(self, work, name, *extra):
        self.log = os.path.join(work, f"{name}.jsonl")
        self.proc = subprocess.Popen([sys.executable, FAKE, "--port", "0", "--mode", "glpi", "--schema", SCHEMA,
                                      "--log", self.log, *extra],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.base = self.proc.stdout.readline().strip()
        self.url = self.base + "front/inventory.php"
        self.port = int(self.base.rsplit(":", 1)[1].strip("/"))
        ALL_STANDINS.append(self)

    def requests(self):
        if not os.path.exists(self.log):
            return []
        out = []
        for line in open(self.log):
            e = json.loads(line)
            if e.get("event") == "request" and e.get("kind") != "control":
                out.append(e)
        return out

    def control(self, **changes):
        req = urllib.request.Request(self.base + "_control", data=json.dumps(changes).encode(), method="POST")
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.load(r)

    def stop(self):
        stop(self.proc)


def kinds(reqs):
    return [r["kind"] for r in reqs]


def inventories(reqs):
    """The JSON inventory documents among requests (POSTs)."""
    return [json.loads(r["body"]) for r in reqs if r["kind"] == "inventory" and r.get("body")]


def sections(doc):
    return sorted(doc.get("content", {}))


def state_of(vardir):
    d = os.path.join(vardir, "targets")
    t = os.path.join(d, os.listdir(d)[0])
    return t, dict(l.split("=", 1) for l in open(os.path.join(t, "state")).read().splitlines() if "=" in l)


def spooled(vardir):
    t, _ = state_of(vardir)
    return os.path.exists(os.path.join(t, "spool", "inventory.json.z"))


def run(binary, url, vardir, *extra, env=None, timeout=120):
    return subprocess.run([binary, "--server", url, "--vardir", vardir, *extra], capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL, env=env)


def discovery(args, work):
    print("== discovery: PROLOG, then CONTACT and a JSON inventory")
    s = Standin(work, "discovery", "--save-dir", os.path.join(work, "saved"))
    vardir = os.path.join(work, "var-discovery")
    p = run(args.binary, s.url, vardir, "--tag", "lab-1")
    check("exit code 0", p.returncode == 0, p.stderr[-500:])
    reqs = s.requests()
    check("PROLOG, CONTACT, inventory", kinds(reqs) == ["prolog", "contact", "inventory"], str(kinds(reqs)))
    agentid = open(os.path.join(vardir, "agentid")).read().strip()
    check("every request carries the kept GLPI-Agent-ID", all(r["headers"].get("glpi-agent-id") == agentid for r in reqs))
    check("bodies are zlib with GLPI's content type",
          all(r["codec"] == "zlib" and r["content_type"] == "application/x-compress-zlib" for r in reqs))
    inv = reqs[-1] if reqs else {}
    check("the inventory validated against the schema", inv.get("status") == 200 and not inv.get("validation_error"),
          str(inv.get("validation_error"))[:300])
    doc = json.loads(inv.get("body", "{}"))
    check("JSON inventory with deviceid, content and the tag",
          doc.get("deviceid") == open(os.path.join(vardir, "deviceid")).read().strip()
          and "hardware" in doc.get("content", {}) and doc.get("tag") == "lab-1")
    contact = json.loads(reqs[1]["body"]) if len(reqs) > 1 else {}
    check("CONTACT names the installed and enabled tasks",
          "inventory" in contact.get("installed-tasks", []) and "inventory" in contact.get("enabled-tasks", []))
    _, st = state_of(vardir)
    check("the server kind is remembered", st.get("server") == "glpi", str(st))
    print("== second run: straight to CONTACT")
    n = len(reqs)
    p = run(args.binary, s.url, vardir, "--tag", "lab-1", "--force")
    reqs = s.requests()[n:]
    check("exit code 0", p.returncode == 0, p.stderr[-500:])
    check("CONTACT then inventory, no PROLOG", kinds(reqs) == ["contact", "inventory"], str(kinds(reqs)))
    print("== inject of a saved JSON inventory")
    f = os.path.join(work, "inv.json")
    subprocess.run([args.binary, "inventory", "--json", "--vardir", os.path.join(work, "var2"), "--output", f],
                   check=True, capture_output=True)
    n = len(s.requests())
    p = subprocess.run([args.binary, "inject", "--file", f, "--url", s.url], capture_output=True, text=True, timeout=60)
    reqs = s.requests()[n:]
    check("inject exit code 0", p.returncode == 0, p.stderr[-300:])
    check("accepted as a valid JSON inventory",
          len(reqs) == 1 and reqs[0].get("status") == 200 and not reqs[0].get("validation_error"),
          str([(r.get("status"), r.get("validation_error")) for r in reqs])[:300])



def no_compression(args, work):
    print("== -C / --no-compression: plain JSON")
    s = Standin(work, "plain")
    p = run(args.binary, s.url, os.path.join(work, "var-plain"), "--force", "-C")
    reqs = s.requests()
    check("exit code 0", p.returncode == 0, p.stderr[-500:])
    check("every body plain: the PROLOG as application/xml, then application/json",
          kinds(reqs) == ["prolog", "contact", "inventory"] and all(r["codec"] == "none" for r in reqs)
          and [r["content_type"] for r in reqs] == ["application/xml", "application/json", "application/json"],
          str([(r["kind"], r["codec"], r["content_type"]) for r in reqs]))
    check("the plain inventory validated", reqs and reqs[-1].get("status") == 200 and not reqs[-1].get("validation_error"),
          str([(r.get("status"), r.get("validation_error")) for r in reqs])[:300])


def contact_no_category(args, work):
    print("== the CONTACT reply's no-category reaches the inventory task")
    s = Standin(work, "no-category", "--no-category", "software,printer")
    p = run(args.binary, s.url, os.path.join(work, "var-no-category"), "--force")
    docs = inventories(s.requests())
    content = docs[-1].get("content", {}) if docs else {}
    check("exit code 0", p.returncode == 0, p.stderr[-500:])
    check("no softwares sent, the rest is", "softwares" not in content and "hardware" in content,
          str(sorted(content))[:300])
    check("the category uagent does not collect is named, not fatal", "printer" in p.stderr, p.stderr[-500:])

def partials(args, work):
    print("== partial inventories (full-inventory-postpone 3)")
    s = Standin(work, "partial")
    vardir = os.path.join(work, "var-partial")
    extra = os.path.join(work, "extra.json")
    json.dump({"content": {}}, open(extra, "w"))
    base = [*STEADY, "--full-inventory-postpone", "3", "--additional-content", extra]

    def step(what, *more, want_kinds=("contact", "inventory"), code=0):
        n = len(s.requests())
        p = run(args.binary, s.url, vardir, *base, *more)
        reqs = s.requests()[n:]
        ok = check(f"{what}: exit {code}, requests {list(want_kinds)}",
                   p.returncode == code and tuple(kinds(reqs)) == tuple(want_kinds),
                   f"exit {p.returncode}, {kinds(reqs)}: {p.stderr[-400:]}")
        return inventories(reqs), p, ok

    invs, _, _ = step("first run", want_kinds=("prolog", "contact", "inventory"))
    first = invs[-1] if invs else {}
    check("the first inventory is full", first.get("partial") is None and len(sections(first)) > 5, sections(first))
    invs, _, _ = step("nothing changed")
    doc = invs[-1] if invs else {}
    equal("a partial of BIOS and HARDWARE only", (True, ["bios", "hardware", "versionclient"]),
          (doc.get("partial"), sections(doc)))
    json.dump({"content": {"softwares": [{"name": "uagent-test-package", "version": "1.0"}]}}, open(extra, "w"))
    invs, _, _ = step("a package more")
    doc = invs[-1] if invs else {}
    equal("a partial of the software, with the OS, BIOS and HARDWARE", (True, ["bios", "hardware", "operatingsystem", "softwares", "versionclient"]),
          (doc.get("partial"), sections(doc)))
    names = [x.get("name") for x in doc.get("content", {}).get("softwares", [])]
    check("the new package is in it, with the others", "uagent-test-package" in names and len(names) > 1, len(names))
    invs, _, _ = step("nothing changed again")
    equal("the third partial in a row", True, (invs[-1] if invs else {}).get("partial"))
    _, st = state_of(vardir)
    equal("the state counts 3 partials", "3", st.get("partials"))
    invs, _, _ = step("after 3 partials")
    doc = invs[-1] if invs else {}
    check("a full inventory", doc.get("partial") is None and sections(doc) == sections(first), sections(doc))
    _, st = state_of(vardir)
    check("the count starts again", "partials" not in st, str(st))

    print("== a full inventory after an error")
    s.control(inventory_error=1)
    invs, p, _ = step("the server refuses the inventory", code=4)
    check("the server's message is logged", "simulated database failure" in p.stderr, p.stderr[-300:])
    check("the partial inventory is kept in the spool", spooled(vardir))
    _, st = state_of(vardir)
    equal("and a full one is due", "1", st.get("full_next"))
    invs, _, _ = step("next run: the kept one, then a new one", want_kinds=("contact", "inventory", "inventory"))
    check("the kept (partial) inventory goes first, then a full one",
          len(invs) == 2 and invs[0].get("partial") is True and invs[1].get("partial") is None,
          [d.get("partial") for d in invs])
    check("the spool is empty", not spooled(vardir))
    invs, _, _ = step("then partials again")
    equal("partial", True, (invs[-1] if invs else {}).get("partial"))
    invs, _, _ = step("--full", "--full")
    equal("--full sends a full one", None, (invs[-1] if invs else {}).get("partial"))
    invs, _, _ = step("partial again")
    equal("partial", True, (invs[-1] if invs else {}).get("partial"))
    s.control(glpi_version="11.0.1")
    invs, p, _ = step("the server's version changed")
    equal("a full one for the new server", None, (invs[-1] if invs else {}).get("partial"))
    check("the agent says why", "version changed" in p.stderr, p.stderr[-300:])
    _, before = state_of(vardir)
    invs, _, _ = step("--partial software", "--partial", "software")
    doc = invs[-1] if invs else {}
    equal("only the software, with the OS, BIOS and HARDWARE", (True, ["bios", "hardware", "operatingsystem", "softwares", "versionclient"]),
          (doc.get("partial"), sections(doc)))
    _, after = state_of(vardir)
    equal("--partial leaves the schedule as it was", before.get("next_run"), after.get("next_run"))


def pending(args, work):
    print("== pending replies")
    s = Standin(work, "pending")
    vardir = os.path.join(work, "var-pending")
    p = run(args.binary, s.url, vardir, *STEADY)
    check("a first inventory", p.returncode == 0, p.stderr[-300:])
    s.control(pending=3, pending_expiration="1s")
    n = len(s.requests())
    proc = subprocess.Popen([args.binary, "--server", s.url, "--vardir", vardir, *STEADY], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    seen = wait_for(lambda: any(r["kind"] == "pending-poll" for r in s.requests()[n:]), 30)
    check("while the server answers pending, the inventory is in the spool", seen and spooled(vardir))
    _, err = proc.communicate(timeout=60)
    reqs = s.requests()[n:]
    polls = [r for r in reqs if r["kind"] == "pending-poll"]
    post = next((r for r in reqs if r["kind"] == "inventory"), {})
    check("exit 0", proc.returncode == 0, err[-300:])
    equal("one POST answered pending, then GETs: pending, pending, ok",
          ["pending", "pending", "pending", "ok"], [post.get("answer")] + [r.get("answer") for r in polls])
    check("every GET carries the request id the server gave, and no body",
          all(r["method"] == "GET" and r["headers"].get("glpi-request-id") == post.get("request_id") and r["body_bytes"] == 0
              for r in polls) and post.get("request_id"), str([(r["method"], r["headers"].get("glpi-request-id")) for r in polls]))
    check("the POST carried a GLPI-Request-ID of its own", len(post.get("headers", {}).get("glpi-request-id", "")) == 8)
    check("the inventory left the spool once taken", not spooled(vardir))
    check("the agent says it waits", "pending" in err, err[-300:])

    print("== pending forever: 12 tries, then the spool keeps it")
    s.control(pending=100)
    n = len(s.requests())
    t0 = time.monotonic()
    p = run(args.binary, s.url, vardir, *STEADY)
    took = time.monotonic() - t0
    reqs = s.requests()[n:]
    tries = [r for r in reqs if r["kind"] in ("inventory", "pending-poll")]
    equal("12 requests (1 POST, 11 GETs)", (12, 1), (len(tries), sum(1 for r in tries if r["method"] == "POST")))
    check(f"each after the expiration of 1 s ({took:.1f} s)", took >= 10.5, took)
    check("exit 4 (refused), saying so", p.returncode == 4 and "still answers pending after 12 tries" in p.stderr,
          f"{p.returncode}: {p.stderr[-300:]}")
    check("the spool keeps the inventory", spooled(vardir))
    s.control(pending=0)
    n = len(s.requests())
    p = run(args.binary, s.url, vardir, *STEADY)
    reqs = s.requests()[n:]
    equal("next run: the kept inventory, then a new one", ["contact", "inventory", "inventory"], kinds(reqs))
    check("both taken, the spool empty", p.returncode == 0 and all(r.get("answer") == "ok" for r in reqs if r["kind"] == "inventory")
          and not spooled(vardir), p.stderr[-300:])


def proc_cmdlines():
    out = {}
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                out[int(pid)] = open(f"/proc/{pid}/cmdline", "rb").read().replace(b"\0", b" ").decode("utf-8", "replace")
            except OSError:
                pass
    return out


def is_task(cmd):
    """A task process of the agent: `uagent task`, its arguments on its standard input."""
    return cmd.split()[1:] == ["task"]


def watch_cmdlines(until, pattern=is_task):
    """Scans every process's command line until `until()`: (seen a process `pattern` accepts,
    command lines that held the secret)."""
    seen, leaked = False, []
    while not until():
        for pid, cmd in proc_cmdlines().items():
            # The agent's processes (the stand-in is given the secret it checks).
            if not cmd.split(" ")[0].endswith("uagent"):
                continue
            if SECRET in cmd:
                leaked.append(cmd)
            if pattern(cmd):
                seen = True
        time.sleep(0.05)
    return seen, leaked


def oauth(args, work):
    print("== OAuth2 client credentials")
    s = Standin(work, "oauth", "--oauth", f"uagent-test:{SECRET}")
    conf = os.path.join(work, "oauth.cfg")
    with open(conf, "w") as f:
        f.write(f'oauth-client-id = uagent-test\noauth-client-secret = "{SECRET}"\n')
    os.chmod(conf, 0o600)
    vardir = os.path.join(work, "var-oauth")
    logfile = os.path.join(work, "oauth.log")
    env = dict(os.environ, UAGENT_TASK_DELAY="1")
    proc = subprocess.Popen([args.binary, "--server", s.url, "--vardir", vardir, "--conf-file", conf, *STEADY,
                             "--debug", "--debug", "--logfile", logfile], env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen, leaked = watch_cmdlines(lambda: proc.poll() is not None)
    out, err = proc.communicate(timeout=60)
    reqs = s.requests()
    check("exit 0", proc.returncode == 0, err[-300:])
    equal("a server of unknown kind asks (401), then one token for the PROLOG, the CONTACT and the inventory",
          ["unauthorized", "token", "prolog", "contact", "inventory"], kinds(reqs))
    check("every request after the token had a good token", all(r.get("auth") == "ok" for r in reqs[2:]))
    tok = reqs[1] if len(reqs) > 1 else {}
    check("the token request: client credentials, scope inventory",
          tok.get("token_request", {}).get("grant_type") == "client_credentials" and tok.get("secret_sent"))
    check("the inventory was taken", reqs[-1].get("answer") == "ok" if reqs else False)
    log = open(logfile).read() if os.path.exists(logfile) else ""
    check("the secret is in no log line (--debug --debug)", SECRET not in out + err + log and len(log) > 200, len(log))
    check("nor on any command line while the task ran (the task process was seen)", seen and not leaked, f"seen {seen}, {leaked[:1]}")

    print("== a token refused (401): a new one, and the request again")
    s.control(revoke_after=1)
    n = len(s.requests())
    p = run(args.binary, s.url, vardir, "--conf-file", conf, *STEADY)
    reqs = s.requests()[n:]
    check("exit 0", p.returncode == 0, p.stderr[-300:])
    equal("token, CONTACT, inventory refused, token, inventory", ["token", "contact", "unauthorized", "token", "inventory"], kinds(reqs))

    print("== a token that expires: renewed")
    s2 = Standin(work, "oauth-expiry", "--oauth", f"uagent-test:{SECRET}", "--oauth-expires", "6")
    v2 = os.path.join(work, "var-oauth-expiry")
    p = run(args.binary, s2.url, v2, "--conf-file", conf, *STEADY)
    s2.control(pending=3, pending_expiration="2s")
    n = len(s2.requests())
    p = run(args.binary, s2.url, v2, "--conf-file", conf, *STEADY)
    reqs = s2.requests()[n:]
    tokens = sum(1 for r in reqs if r["kind"] == "token")
    check("exit 0", p.returncode == 0, p.stderr[-300:])
    check(f"tokens fetched again as they expire during the pending waits ({tokens})", tokens >= 2, kinds(reqs))
    check("no request went with an expired token", all(r.get("auth") == "ok" for r in reqs if r["kind"] != "token"), kinds(reqs))

    print("== a wrong secret")
    bad = os.path.join(work, "bad.cfg")
    with open(bad, "w") as f:
        f.write('oauth-client-id = uagent-test\noauth-client-secret = "not-the-secret-42"\n')
    n = len(s.requests())
    p = run(args.binary, s.url, os.path.join(work, "var-bad"), "--conf-file", bad, *STEADY)
    reqs = s.requests()[n:]
    check("exit 4 (refused)", p.returncode == 4, p.returncode)
    check("a clear error", "refused the OAuth2 client credentials" in p.stderr and "oauth-client-secret" in p.stderr,
          p.stderr[-400:])
    check("that does not show the secret", "not-the-secret-42" not in p.stdout + p.stderr)
    equal("the PROLOG asked for a token, and nothing was sent after the token request", ["unauthorized", "token"], kinds(reqs))


def http_now(port, target, method="GET", headers=None, source="127.0.0.1"):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10, source_address=(source, 0))
    c.request(method, target, headers=headers or {})
    r = c.getresponse()
    body = r.read()
    c.close()
    return r.status, dict((k.lower(), v) for k, v in r.getheaders()), body


def now_events(args, work):
    print("== /now events and CORS on the daemon's HTTP server")
    s = Standin(work, "now", "--oauth", f"uagent-test:{SECRET}")
    conf = os.path.join(work, "now.cfg")
    with open(conf, "w") as f:
        f.write(f'oauth-client-id = uagent-test\noauth-client-secret = "{SECRET}"\n')
    vardir = os.path.join(work, "var-now")
    port = free_port()
    env = dict(os.environ, UAGENT_TASK_DELAY="1")
    d = subprocess.Popen([args.full_binary, "--daemon", "--no-fork", "--server", s.url, "--vardir", vardir, "--conf-file", conf,
                          "--delaytime", "86400", "--httpd-ip", "127.0.0.1", "--httpd-port", str(port), *STEADY],
                         env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        check("the daemon listens", wait_for(lambda: _status(port) == 200, 20))
        code, _, _ = http_now(port, "/now?partial=yes&category=software", source="127.0.0.2")
        equal("an event from an untrusted address: 403", 403, code)
        code, _, _ = http_now(port, "/now?partial=yes&category=nonesuch")
        equal("an event naming an unknown category: 400", 400, code)
        check("neither asked the server for anything", not s.requests())
        code, _, _ = http_now(port, "/now?partial=yes&category=software&target=server0")
        equal("an event from the server's host: 200", 200, code)
        seen, leaked = watch_cmdlines(lambda: any(r["kind"] == "inventory" for r in s.requests()) or d.poll() is not None,
                                      pattern=is_task)
        reqs = s.requests()
        invs = inventories(reqs)
        doc = invs[-1] if invs else {}
        equal("it sends a partial inventory of the software", (True, ["bios", "hardware", "operatingsystem", "softwares", "versionclient"]),
              (doc.get("partial"), sections(doc)))
        check("valid against the schema", reqs and reqs[-1].get("status") == 200 and not reqs[-1].get("validation_error"))
        check("the pass got the OAuth2 secret on no command line (its task was seen)", seen and not leaked, f"{seen} {leaked[:1]}")
        wait_for(lambda: _status(port, "waiting"), 20)
        _, before = state_of(vardir)
        check("the next run is the daemon's first, a day away at most",
              0 < int(before.get("next_run", 0)) - time.time() <= 86400, before.get("next_run"))

        origin = f"http://127.0.0.1:{s.port}"
        code, h, body = http_now(port, "/now", "OPTIONS", {"Origin": origin, "Access-Control-Request-Method": "GET"})
        equal("CORS preflight from the server's origin: 204", (204, origin, "GET", b""),
              (code, h.get("access-control-allow-origin"), h.get("access-control-allow-methods"), body))
        code, _, _ = http_now(port, "/now", "OPTIONS", {"Origin": "http://127.0.0.1:1", "Access-Control-Request-Method": "GET"})
        equal("a preflight from another origin: 403", 403, code)
        code, _, _ = http_now(port, "/now", "OPTIONS", {"Origin": origin})
        equal("a preflight without Access-Control-Request-Method GET: 403", 403, code)
        code, _, _ = http_now(port, "/now", "OPTIONS", {"Origin": origin, "Access-Control-Request-Method": "GET"}, source="127.0.0.2")
        equal("a preflight from an untrusted address: 403", 403, code)
        n = len(s.requests())
        code, _, _ = http_now(port, "/now?partial=yes&category=cpu", "GET", {"Origin": "http://evil.example"})
        equal("an event from a page of another origin: 403", 403, code)
        code, h, _ = http_now(port, "/now?partial=yes&category=cpu", "GET", {"Origin": origin})
        equal("from the server's origin: 200, the origin allowed", (200, origin), (code, h.get("access-control-allow-origin")))
        wait_for(lambda: len(inventories(s.requests()[n:])) >= 1 and _status(port, "waiting"), 30)
        invs = inventories(s.requests()[n:])
        equal("one partial inventory of the CPUs (none for the refused one)",
              [(True, ["bios", "cpus", "hardware", "versionclient"])], [(x.get("partial"), sections(x)) for x in invs])
        _, after = state_of(vardir)
        equal("events leave the schedule as it was", before.get("next_run"), after.get("next_run"))
    finally:
        d.send_signal(signal.SIGTERM)
        try:
            d.wait(timeout=20)
        except subprocess.TimeoutExpired:
            stop(d)
    check("the daemon stops with exit 0", d.returncode == 0, d.returncode)
    err = d.stderr.read() if d.stderr else ""
    check("no secret in the daemon's log", SECRET not in err and "partial inventory event" in err, err[-300:])


def _status(port, want=None):
    try:
        code, _, body = http_now(port, "/status")
    except OSError:
        return 0
    if want is None:
        return code
    return code == 200 and body.decode().strip() == f"status: {want}"


def network_equipment(args, work):
    print("== the router as a NetworkEquipment")
    s = Standin(work, "netequip")
    env = dict(os.environ, UAGENT_INVENTORY_ROOT=ROUTER)
    p = run(args.binary, s.url, os.path.join(work, "var-ne"), "--itemtype", "auto", env=env)
    reqs = s.requests()
    invs = inventories(reqs)
    doc = invs[-1] if invs else {}
    c = doc.get("content", {})
    check("exit 0", p.returncode == 0, p.stderr[-300:])
    equal("OpenWrt with --itemtype auto: itemtype NetworkEquipment", "NetworkEquipment", doc.get("itemtype"))
    dev = c.get("network_device", {})
    check("network_device: Networking, name, firmware from the OS release, model, MAC, addresses",
          dev.get("type") == "Networking" and dev.get("name") and str(dev.get("firmware", "")).startswith("OpenWrt")
          and dev.get("model") and dev.get("mac") and dev.get("ips"), json.dumps(dev)[:300])
    ports = c.get("network_ports", [])
    check("network_ports from the interfaces (ifnumber, ifname, iftype, ifstatus), no loopback",
          ports and all("ifnumber" in x and "ifname" in x and "iftype" in x and "ifstatus" in x for x in ports)
          and all(x["ifname"] != "lo" for x in ports) and "networks" not in c, json.dumps(ports)[:300])
    fw = c.get("firmwares", [])
    check("firmwares: the OS release", fw and fw[0].get("name") == "OpenWrt" and fw[0].get("version"), fw)
    check("valid against the schema", reqs and reqs[-1].get("status") == 200 and not reqs[-1].get("validation_error"),
          str(reqs[-1].get("validation_error") if reqs else "")[:300])
    p = run(args.binary, s.url, os.path.join(work, "var-ne2"), "--itemtype", "NetworkEquipment")
    invs = inventories(s.requests())
    doc = invs[-1] if invs else {}
    check("this machine as a NetworkEquipment too, valid",
          p.returncode == 0 and doc.get("itemtype") == "NetworkEquipment" and s.requests()[-1].get("status") == 200,
          p.stderr[-300:])
    out = subprocess.run([args.binary, "inventory", "--json", "--itemtype", "auto", "--vardir", os.path.join(work, "var-ne3")],
                         capture_output=True, text=True, timeout=60)
    equal("--itemtype auto on this (Debian) machine: a Computer", "Computer", json.loads(out.stdout or "{}").get("itemtype"))


def additional_and_assetname(args, work):
    print("== --additional-content and --assetname-support")
    import jsonschema
    schema = json.load(open(SCHEMA))
    validator = jsonschema.validators.validator_for(schema)(schema, format_checker=jsonschema.FormatChecker())
    router = os.path.join(work, "router")
    shutil.copytree(ROUTER, router, symlinks=True)
    with open(os.path.join(router, "etc", "hosts"), "w") as f:
        f.write("127.0.0.1 localhost\n192.168.1.1 mi4a-gw.branch7.example.net mi4a-gw\n")
    xml = os.path.join(work, "extra.xml")
    with open(xml, "w") as f:
        f.write("<?xml version='1.0'?><REQUEST><CONTENT><SOFTWARES><NAME>site-tool</NAME><VERSION>3</VERSION>"
                "</SOFTWARES><HARDWARE><DESCRIPTION>rack 4</DESCRIPTION></HARDWARE><NOPE><A>1</A></NOPE></CONTENT></REQUEST>")
    base = [args.binary, "inventory", "--root", router, "--deviceid", "r-2026-01-01-00-00-00", "--additional-content", xml]
    p = subprocess.run(base + ["--json", "--assetname-support", "2"], capture_output=True, text=True, timeout=60)
    doc = json.loads(p.stdout or "{}")
    c = doc.get("content", {})
    names = [x.get("name") for x in c.get("softwares", [])]
    check("the extra package joins the others", "site-tool" in names and len(names) > 10, len(names))
    equal("HARDWARE gets the extra field", "rack 4", c.get("hardware", {}).get("description"))
    check("an unknown section is left out, saying so", "NOPE" in p.stderr, p.stderr[-200:])
    fqdn = c.get("operatingsystem", {}).get("fqdn")
    equal("--assetname-support 2: the FQDN as the name", fqdn, c.get("hardware", {}).get("name"))
    errors = [e.message for e in validator.iter_errors(doc)]
    check("valid against the schema", not errors, errors[:3])
    p1 = subprocess.run(base + ["--json"], capture_output=True, text=True, timeout=60)
    short = json.loads(p1.stdout or "{}").get("content", {}).get("hardware", {}).get("name")
    check("--assetname-support 1 (default): the short name", short and "." not in short and fqdn and fqdn.startswith(short + "."),
          (short, fqdn))
    x = subprocess.run(base, capture_output=True, text=True, timeout=60)
    check("XML too", "<NAME>site-tool</NAME>" in x.stdout and "<DESCRIPTION>rack 4</DESCRIPTION>" in x.stdout)


def all_valid():
    print("== every JSON inventory the stand-ins received")
    total, partial, bad = 0, 0, []
    for s in ALL_STANDINS:
        for r in s.requests():
            if r["kind"] == "inventory" and r.get("glpi", {}).get("mode") == "json":
                total += 1
                body = json.loads(r.get("body") or "{}")
                partial += body.get("partial") is True
                if r.get("validation_error") or r.get("status") == 400:
                    bad.append((r["path"], r.get("validation_error")))
    check(f"{total} JSON inventories ({partial} partial), all valid against the schema", total > 20 and partial > 5 and not bad,
          str(bad)[:400])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True, help="the agent (default features)")
    ap.add_argument("--full-binary", required=True, help="the agent with the daemon's HTTP server (--features full)")
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="uagent-glpi-")
    t0 = time.monotonic()
    try:
        for part in (discovery, no_compression, contact_no_category, partials, pending, oauth, now_events,
                     network_equipment, additional_and_assetname):
            part(args, work)
        all_valid()
    finally:
        for s in ALL_STANDINS:
            s.stop()
        shutil.rmtree(work, ignore_errors=True)
    print(f"glpi checks took {time.monotonic() - t0:.0f} s")
    return checks.done("glpi")


if __name__ == "__main__":
    sys.exit(main())
