"""What the hostile-input checks share: a server of the test's own whose every answer the test
chooses (numbers, messages, statuses, delays a real server will not send on demand), and
running uagent under a time limit with its peak RSS measured (GNU time: the largest resident
set of the process and of every descendant it waited for, tasks and passes included).

Standard library only. Everything listens on 127.0.0.1, on free ports.
"""
import http.server
import json
import os
import signal
import socketserver
import subprocess
import sys
import tempfile
import threading
import time
import zlib

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
from lib import Checks, free_port, wait_for  # noqa: E402,F401

# The bound every run on hostile input must stay under (issue 16).
RSS_LIMIT_KIB = 16 * 1024


def decode(body):
    """A request body as the agent sends it (zlib), else as it is."""
    try:
        return zlib.decompress(body)
    except zlib.error:
        return body


def kind_of(text):
    if b"<QUERY>PROLOG</QUERY>" in text:
        return "prolog"
    if b'"action":"contact"' in text:
        return "contact"
    return "inventory"


class Server:
    """An HTTP server on 127.0.0.1 answering each POST with `answer(kind, text, headers)` ->
    (status, body bytes[, content type]). Every request is kept in `requests` as
    (kind, text, headers, time)."""

    def __init__(self, answer):
        self.answer = answer
        self.requests = []
        self.lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                text = decode(self.rfile.read(n))
                kind = kind_of(text)
                with outer.lock:
                    outer.requests.append((kind, text, dict(self.headers), time.time()))
                got = outer.answer(kind, text, self.headers)
                status, body = got[0], got[1]
                ctype = got[2] if len(got) > 2 else "application/xml"
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(body)
                self.close_connection = True

        class Threaded(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.port = free_port()
        self.httpd = Threaded(("127.0.0.1", self.port), Handler)
        self.url = f"http://127.0.0.1:{self.port}/ocsinventory"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def kinds(self):
        with self.lock:
            return [r[0] for r in self.requests]

    def count(self, kind):
        return self.kinds().count(kind)

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


OCS_PROLOG = b"<REPLY><RESPONSE>SEND</RESPONSE><PROLOG_FREQ>24</PROLOG_FREQ></REPLY>"
OCS_ACCEPTED = b"<REPLY><RESPONSE>NO_ACCOUNT_UPDATE</RESPONSE></REPLY>"


def ocs_answer(kind, text, headers):
    """A well-behaved OCS server."""
    return (200, OCS_PROLOG if kind == "prolog" else OCS_ACCEPTED)


class Run:
    """The result of one run: exit code, stdout, stderr, peak RSS (KiB), seconds, and whether
    it had to be killed at its time limit."""

    def __init__(self, code, out, err, rss, secs, killed):
        self.code, self.out, self.err, self.rss, self.secs, self.killed = code, out, err, rss, secs, killed

    def __repr__(self):
        return f"exit {self.code}, {self.rss} KiB, {self.secs:.1f} s{' KILLED' if self.killed else ''}: {self.err[-400:]!r}"


def run(cmd, limit=30, stdin=None, env=None):
    """Runs `cmd` under GNU time in a session of its own, killed (the whole session) after
    `limit` seconds."""
    with tempfile.NamedTemporaryFile(prefix="uagent-rss-", delete=False) as f:
        rss_file = f.name
    t0 = time.monotonic()
    p = subprocess.Popen(["/usr/bin/time", "-f", "%M", "-o", rss_file] + list(cmd),
                         stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True, env=env)
    killed = False
    try:
        out, err = p.communicate(stdin, timeout=limit)
    except subprocess.TimeoutExpired:
        killed = True
        os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate()
    secs = time.monotonic() - t0
    try:
        rss = int(open(rss_file).read().split()[-1])
    except (ValueError, IndexError, OSError):
        rss = -1
    os.unlink(rss_file)
    return Run(p.returncode, out, err.decode(errors="replace"), rss, secs, killed)


class Daemon:
    """`uagent --daemon …` in a session of its own; `stop()` sends SIGTERM and waits."""

    def __init__(self, binary, args, env=None):
        self.p = subprocess.Popen([binary, "--daemon", "--no-fork"] + list(args), stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, start_new_session=True, env=env)

    def hwm_kib(self):
        """The daemon's own peak RSS so far (VmHWM)."""
        try:
            for line in open(f"/proc/{self.p.pid}/status"):
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
        except OSError:
            pass
        return -1

    def stop(self, timeout=10):
        """SIGTERM; the exit code, or None when it had to be killed."""
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                return self.p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.p.pid, signal.SIGKILL)
                self.p.wait()
                return None
        return self.p.returncode

    def kill(self):
        if self.p.poll() is None:
            os.killpg(self.p.pid, signal.SIGKILL)
            self.p.wait()


def http_get(url, source="127.0.0.1", timeout=5):
    """(status, body) of a GET from `source`; (0, b"") when it fails."""
    import socket
    from urllib.parse import urlsplit
    u = urlsplit(url)
    try:
        s = socket.create_connection((u.hostname, u.port), timeout=timeout, source_address=(source, 0))
        s.sendall(f"GET {u.path or '/'}{'?' + u.query if u.query else ''} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while True:
            b = s.recv(65536)
            if not b:
                break
            data += b
        s.close()
        head, _, body = data.partition(b"\r\n\r\n")
        return int(head[9:12]), body
    except (OSError, ValueError):
        return 0, b""


def json_reply(obj):
    return (200, json.dumps(obj).encode(), "application/json")
