#!/usr/bin/env python3
"""Fake inventory servers for uagent's protocol and fault tests (Python 3.11 stdlib + jsonschema).

One command, one mode per process: a GLPI 10 native inventory endpoint (GLPI cannot be installed
here), an OCS-like endpoint, and the OCS-like endpoint with a fault injected into chosen requests
(resets, stalls, bad compression, bombs, odd but valid HTTP framing). The real OCS server stays the
reference for the normal OCS exchange; this file exists for what it cannot do on demand.

    python3 tests/peers/fake_server.py --port 0 --mode MODE [--log FILE] [--save-dir DIR] ...

The first stdout line is the base URL (http://127.0.0.1:PORT/), printed once the socket listens.
Any path is served. Every request is logged as one JSON line to --log. See README.md for details.
"""

import argparse
import datetime
import gzip
import http
import json
import os
import re
import socket
import struct
import sys
import threading
import time
import traceback
import xml.etree.ElementTree as ET
import zlib

# ---------------------------------------------------------------- limits
# Every size that comes from the network is bounded; going past a bound is a logged error reply.
MAX_LINE = 64 * 1024  # request line or one header line
MAX_REQ_HEADERS = 512  # header lines in one request
DEFAULT_MAX_BODY = 64 * 1024 * 1024  # request body as sent (compressed)
MAX_DECODED = 256 * 1024 * 1024  # request body once inflated
DEFAULT_LOG_BODY_MAX = 8 * 1024 * 1024  # decoded body text copied into a log line
IDLE_TIMEOUT = 120  # seconds a keep-alive connection may sit idle

FAULTS = [
    "reset",
    "stall",
    "status400",
    "status500",
    "garbage-zlib",
    "truncated-zlib",
    "zlib-bomb",
    "deep-xml",
    "many-headers",
    "huge-length",
    "slow-drip",
    "chunked",
    "http10-close",
]
BASES = ["glpi", "ocs-like"]
KINDS = ["prolog", "contact", "inventory", "all"]

# Bodies Apache itself sends for these statuses (captured from the real OCS server here).
APACHE_400 = (
    '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN" "http://www.w3.org/TR/html4/strict.dtd">\n'
    "<html><head>\n<title>400 Bad Request</title>\n</head><body>\n<h1>Bad Request</h1>\n"
    "<p>Your browser sent a request that this server could not understand.<br />\n</p>\n<hr>\n"
    "<address>Apache/2.4.71 (Debian) Server at 127.0.0.1 Port 80</address>\n</body></html>\n"
)
APACHE_500 = (
    '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN" "http://www.w3.org/TR/html4/strict.dtd">\n'
    "<html><head>\n<title>500 Internal Server Error</title>\n</head><body>\n"
    "<h1>Internal Server Error</h1>\n<p>The server encountered an internal error or\n"
    "misconfiguration and was unable to complete\nyour request.</p>\n"
    "<p>Please contact the server administrator at \n webmaster@localhost to inform them of the "
    "time this error occurred,\n and the actions you performed just before this error.</p>\n"
    "<p>More information about this error may be available\nin the server error log.</p>\n<hr>\n"
    "<address>Apache/2.4.71 (Debian) Server at 127.0.0.1 Port 80</address>\n</body></html>\n"
)

OCS_DEVICEID_RE = re.compile(r"^.+-\d{4}(?:-\d{2}){5}$")
QUERY_RE = re.compile(rb"<QUERY>\s*([A-Za-z_]+)\s*</QUERY>", re.I)


class HttpError(Exception):
    """A request we cannot parse: answered with `status` and the connection closed."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


class Request:
    def __init__(self, method, target, version, headers, body, peer):
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers  # list of (name, value) as received
        self.body = body
        self.peer = peer

    def header(self, name, default=None):
        name = name.lower()
        values = [v for k, v in self.headers if k.lower() == name]
        return ", ".join(values) if values else default

    def wants_keep_alive(self):
        conn = (self.header("connection") or "").lower()
        if self.version == "HTTP/1.0":
            return "keep-alive" in conn
        return "close" not in conn


class Response:
    def __init__(self, status, headers, body, keep_alive=False, info=None):
        self.status = status
        self.headers = headers  # list of (name, value), Content-Length added when sent
        self.body = body
        self.keep_alive = keep_alive
        self.info = info or {}  # extra fields for the log line (decoded reply, saved file, ...)

    def head(self, version="HTTP/1.1", length=True, extra=()):
        reason = http.HTTPStatus(self.status).phrase if self.status in _STATUSES else "Unknown"
        lines = [f"{version} {self.status} {reason}", "Date: " + http_date()]
        lines += [f"{k}: {v}" for k, v in self.headers]
        lines += [f"{k}: {v}" for k, v in extra]
        if length:
            lines.append(f"Content-Length: {len(self.body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


_STATUSES = {s.value for s in http.HTTPStatus}


def http_date():
    return time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime())


# ---------------------------------------------------------------- compression helpers


def bounded_inflate(data, wbits, limit=MAX_DECODED):
    """Inflates `data` (zlib/gzip/raw per wbits) to at most `limit` bytes; raises ValueError."""
    d = zlib.decompressobj(wbits)
    out = d.decompress(data, limit + 1)
    if len(out) > limit:
        raise ValueError(f"inflated body exceeds {limit} bytes")
    if not d.eof:
        raise ValueError("incomplete or truncated compressed stream")
    return out


def looks_zlib(data):
    return len(data) >= 2 and data[0] & 0x0F == 8 and (data[0] << 8 | data[1]) % 31 == 0


def sniff_decode(body):
    """Decodes a body the way the OCS server does (zlib, else gzip, else plain XML).

    Returns (codec, decoded bytes or None, error or None)."""
    if not body:
        return "none", b"", None
    if looks_zlib(body):
        try:
            return "zlib", bounded_inflate(body, 15), None
        except (zlib.error, ValueError) as e:
            return "zlib", None, f"zlib: {e}"
    if body[:2] == b"\x1f\x8b":
        try:
            return "gzip", bounded_inflate(body, 31), None
        except (zlib.error, ValueError) as e:
            return "gzip", None, f"gzip: {e}"
    return "none", body, None


def encode(codec, data):
    if codec == "zlib":
        return zlib.compress(data)
    if codec == "gzip":
        return gzip.compress(data)
    if codec == "deflate":
        c = zlib.compressobj(6, zlib.DEFLATED, -15)
        return c.compress(data) + c.flush()
    return data


def text_of(data):
    if data is None:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def xml_escape(s):
    return (
        str(s)
        .replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
    )


def php_json(obj):
    """json_encode() as PHP writes it: compact, ASCII only, '/' escaped."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=True).replace("/", "\\/").encode()


# ---------------------------------------------------------------- the server


class Server:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.seq = 0
        self.faults_done = 0
        self.counts = {"total": 0, "prolog": 0, "contact": 0, "inventory": 0, "other": 0, "faulted": 0}
        self.log_file = open(args.log, "a", encoding="utf-8") if args.log else None
        if args.save_dir:
            os.makedirs(args.save_dir, exist_ok=True)
        self.validator = None
        if self.base == "glpi" and not args.no_schema:
            self.validator = load_validator(args.schema)
        self.bomb_file = None
        if self.fault == "zlib-bomb":
            self.bomb_file = make_bomb(args.cache_dir, args.bomb_size)
        self.wol = [parse_wol(w) for w in (args.wakeonlan or [])]
        # glpi mode, changed at run time by POST /_control (see README.md): answers to come
        # for inventories (pending, errors), the version CONTACT announces, OAuth2 tokens.
        self.ctl = {"pending": 0, "pending_expiration": "1s", "inventory_error": 0,
                    "revoke_after": None, "glpi_version": args.glpi_version}
        self.jobs = {}  # GLPI-Request-ID -> pending answers still to give
        self.tokens = {}  # OAuth2 access token -> expiry (time.time())
        self.oauth = tuple(args.oauth.split(":", 1)) if args.oauth else None
        self.write_counts()  # all zeros until the first request

    @property
    def fault(self):
        return self.args.fault

    @property
    def base(self):
        return self.args.base

    # -------------------------------------------------------- logging and counting

    def next_seq(self):
        with self.lock:
            self.seq += 1
            return self.seq

    def log(self, entry):
        if not self.log_file:
            return
        line = json.dumps(entry, ensure_ascii=False)
        with self.lock:
            self.log_file.write(line + "\n")
            self.log_file.flush()

    def count(self, kind, faulted):
        with self.lock:
            self.counts["total"] += 1
            self.counts[kind if kind in self.counts else "other"] += 1
            if faulted:
                self.counts["faulted"] += 1
            self.write_counts()

    def write_counts(self):
        """Rewrites the --count-requests file atomically (callers hold the lock, or run alone)."""
        if self.args.count_requests:
            tmp = self.args.count_requests + ".tmp"
            with open(tmp, "w", encoding="utf-8") as f:
                json.dump(self.counts, f)
                f.write("\n")
            os.replace(tmp, self.args.count_requests)

    def take_fault(self, kind):
        """True when this request (of `kind`) gets the configured fault."""
        if not self.fault:
            return False
        if self.args.fault_on != "all" and kind != self.args.fault_on:
            return False
        with self.lock:
            if self.args.fault_count is not None and self.faults_done >= self.args.fault_count:
                return False
            self.faults_done += 1
            return True

    # -------------------------------------------------------- connection loop

    def serve_connection(self, sock, peer):
        sock.settimeout(IDLE_TIMEOUT)
        rf = sock.makefile("rb")
        try:
            while True:
                try:
                    req = read_request(rf, sock, peer, self.args.max_body)
                except HttpError as e:
                    self.log({"event": "bad_request", "seq": self.next_seq(), "peer": peer,
                              "status": e.status, "error": str(e)})
                    body = (APACHE_400 if e.status == 400 else f"{e.status} {e}\n").encode()
                    resp = Response(e.status, [("Connection", "close"),
                                               ("Content-Type", "text/html; charset=iso-8859-1")], body)
                    sock.sendall(resp.head() + resp.body)
                    return
                if req is None:
                    return
                if not self.handle(sock, req):
                    return
        except OSError:
            return  # the client went away or timed out; nothing more to say
        except Exception as e:  # a bug here: say so loudly instead of just dropping the client
            traceback.print_exc()
            self.log({"event": "server_error", "peer": peer, "error": repr(e)})
        finally:
            try:
                rf.close()
                sock.close()
            except OSError:
                pass

    def handle(self, sock, req):
        """Answers one request; returns True when the connection stays open for another."""
        seq = self.next_seq()
        started = time.time()
        if self.base == "glpi":
            resp, info = self.glpi(req, seq)
        else:
            resp, info = self.ocs(req, seq)
        kind = info.get("kind", "other")
        fault = self.fault if self.take_fault(kind) else None
        self.count(kind, fault is not None)
        entry = {
            "event": "request",
            "seq": seq,
            "time": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds"),
            "peer": req.peer,
            "method": req.method,
            "path": req.target,
            "version": req.version,
            "headers": {k.lower(): req.header(k) for k, _ in req.headers},
            "raw_headers": [[k, v] for k, v in req.headers],
            "content_type": req.header("content-type"),
            "body_bytes": len(req.body),
        }
        entry.update(info)
        entry.update(resp.info)
        entry["fault"] = fault
        # The status line the client is sent (None: it gets no complete status line).
        entry["status"] = {"reset": None, "stall": None, "status400": 400, "status500": 500,
                           "zlib-bomb": 200, "huge-length": 200}.get(fault, resp.status)
        self.log(entry)
        if fault is None:
            sock.sendall(resp.head() + resp.body)
            return resp.keep_alive and req.wants_keep_alive()
        return self.apply_fault(fault, sock, req, resp, seq, started)

    # -------------------------------------------------------- faults

    def watch_close(self, sock, seq, started, sent):
        """Holds the connection until the client closes it, then logs when that happened."""
        sock.settimeout(None)
        try:
            while sock.recv(65536):
                pass
        except OSError:
            pass
        self.log({"event": "client_closed", "seq": seq, "after_s": round(time.time() - started, 3),
                  "bytes_sent": sent})

    def apply_fault(self, fault, sock, req, resp, seq, started):
        a = self.args
        if fault == "reset":
            part = f"HTTP/1.1 200 OK\r\nDate: {http_date()}\r\nContent-Type: application/x-compressed\r\n"
            part += f"Content-Length: {len(resp.body) or 100}\r\n"
            sock.sendall(part.encode())
            time.sleep(0.2)  # let the client read the partial head before the RST arrives
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()
            return False
        if fault == "stall":
            sent = 0
            if a.stall_half:
                whole = resp.head() + resp.body
                sock.sendall(whole[: len(whole) // 2])
                sent = len(whole) // 2
            self.watch_close(sock, seq, started, sent)
            return False
        if fault in ("status400", "status500"):
            code = int(fault[-3:])
            body = (APACHE_400 if code == 400 else APACHE_500).encode()
            r = Response(code, [("Connection", "close"),
                                ("Content-Type", "text/html; charset=iso-8859-1")], body)
            sock.sendall(r.head() + r.body)
            return False
        if fault == "garbage-zlib":
            # 78 9C is a valid zlib header; 0x07 then starts a final block of reserved type 3.
            garbage = b"\x78\x9c\x07" + bytes(((i * 73 + 41) ^ 0x5A) & 0xFF for i in range(509))
            resp.body = garbage
            sock.sendall(resp.head() + resp.body)
            return False
        if fault == "truncated-zlib":
            body = resp.body if looks_zlib(resp.body) else zlib.compress(resp.body)
            resp.body = body[: len(body) // 2]
            sock.sendall(resp.head() + resp.body)
            return False
        if fault == "zlib-bomb":
            size = os.path.getsize(self.bomb_file)
            head = Response(200, [("Connection", "close"), ("Content-Type", "application/x-compressed")], b"")
            sock.sendall(head.head(length=False, extra=[("Content-Length", str(size))]))
            sent = 0
            try:
                with open(self.bomb_file, "rb") as f:
                    while chunk := f.read(65536):
                        sock.sendall(chunk)
                        sent += len(chunk)
            except OSError:
                self.log({"event": "client_closed", "seq": seq,
                          "after_s": round(time.time() - started, 3), "bytes_sent": sent})
            return False
        if fault == "deep-xml":
            n = a.depth
            xml = ('<?xml version="1.0" encoding="UTF-8"?>\n<REPLY>' + "<DEEP>" * n + "</DEEP>" * n
                   + "<RESPONSE>SEND</RESPONSE></REPLY>\n")
            resp.body = zlib.compress(xml.encode())
            resp.headers = [(k, v) for k, v in resp.headers if k.lower() != "content-type"]
            resp.headers.append(("Content-Type", "application/x-compressed"))
            sock.sendall(resp.head() + resp.body)
            return False
        if fault == "many-headers":
            extra = [(f"X-Fake-Header-{i}", str(i)) for i in range(a.header_count)]
            sock.sendall(resp.head(extra=extra) + resp.body)
            return False
        if fault == "huge-length":
            head = Response(200, [("Connection", "close"), ("Content-Type", "application/x-compressed")], b"")
            sock.sendall(head.head(length=False, extra=[("Content-Length", str(10 ** 12))]))
            sock.sendall(resp.body[:16] or b"\x78\x9c")
            if a.hold:
                self.watch_close(sock, seq, started, 16)
            else:
                time.sleep(1.0)
            return False
        if fault == "slow-drip":
            whole = resp.head() + resp.body
            sent = 0
            try:
                for i in range(len(whole)):
                    sock.sendall(whole[i : i + 1])
                    sent += 1
                    if i + 1 < len(whole):
                        time.sleep(a.drip_interval)
            except OSError:
                self.log({"event": "client_closed", "seq": seq,
                          "after_s": round(time.time() - started, 3), "bytes_sent": sent})
                return False
            self.log({"event": "drip_done", "seq": seq, "after_s": round(time.time() - started, 3),
                      "bytes_sent": sent})
            return False
        if fault == "chunked":
            # Valid chunked framing, and the connection stays open afterwards: a client that waits
            # for the close instead of the last chunk hangs instead of passing by luck.
            hdrs = [(k, v) for k, v in resp.headers if k.lower() != "connection"]
            r = Response(resp.status, hdrs + [("Transfer-Encoding", "chunked"),
                                              ("Connection", "keep-alive")], resp.body)
            out = [r.head(length=False)]
            body, pos, sizes = resp.body, 0, [1, 7, 16, 10]
            i = 0
            while pos < len(body):
                n = sizes[i % len(sizes)]
                out.append(b"%x\r\n" % len(body[pos : pos + n]) + body[pos : pos + n] + b"\r\n")
                pos += n
                i += 1
            out.append(b"0\r\n\r\n")
            sock.sendall(b"".join(out))
            return req.wants_keep_alive()
        if fault == "http10-close":
            hdrs = [(k, v) for k, v in resp.headers if k.lower() != "connection"]
            r = Response(resp.status, hdrs, resp.body)
            sock.sendall(r.head(version="HTTP/1.0", length=False) + r.body)
            sock.shutdown(socket.SHUT_WR)
            return False
        raise AssertionError(fault)

    # -------------------------------------------------------- OCS-like endpoint

    def ocs(self, req, seq):
        """The OCS server's answers as captured here: zlib in/out, Connection: close."""
        info = {}
        if req.method != "POST":
            return apache(400), info
        codec, data, err = sniff_decode(req.body)
        info["codec"] = codec
        if data is not None and codec == "none" and not data.lstrip().startswith(b"<"):
            err = "not zlib, gzip or XML"
        if err:
            info["decode_error"] = err
            return apache(500), info
        self.add_body(info, data)
        m = QUERY_RE.search(data)
        query = m.group(1).decode().upper() if m else ""
        kind = {"PROLOG": "prolog", "INVENTORY": "inventory"}.get(query, "other")
        info["kind"] = kind
        dm = re.search(rb"<DEVICEID>\s*([^<]*?)\s*</DEVICEID>", data)
        deviceid = text_of(dm.group(1)) if dm else None
        info["deviceid"] = deviceid
        if kind == "inventory":
            info["saved"] = self.save(seq, kind, "xml", data)
        if not deviceid or not OCS_DEVICEID_RE.match(deviceid):
            info["error"] = "Bad deviceid"
            return apache(400), info
        if kind == "prolog":
            reply = self.ocs_prolog_xml()
        elif kind == "inventory":
            reply = ("<?xml version='1.0' encoding='UTF-8'?>\n<REPLY>\n"
                     "  <RESPONSE>NO_ACCOUNT_UPDATE</RESPONSE>\n</REPLY>\n")
        else:
            info["error"] = f"unsupported QUERY {query!r}"
            return apache(400), info
        info["reply_body"] = reply
        headers = [("Cache-control", "no-cache"), ("Connection", "close"),
                   ("Content-Type", "application/x-compressed")]
        return Response(200, headers, encode(codec, reply.encode())), info

    def ocs_prolog_xml(self):
        wol = "".join(self.wol_option_xml("  ", "\n"))
        return ("<?xml version='1.0' encoding='UTF-8'?>\n<REPLY>\n"
                f"  <PROLOG_FREQ>{self.args.prolog_freq}</PROLOG_FREQ>\n"
                "  <OPTION>\n"
                '    <PARAM PERIOD_LATENCY="1" TIMEOUT="30" CYCLE_LATENCY="60" PERIOD_LENGTH="10" '
                'FRAG_LATENCY="10" EXECUTION_TIMEOUT="120" TYPE="CONF" ON="0" />\n'
                "    <NAME>DOWNLOAD</NAME>\n  </OPTION>\n" + wol +
                "  <INVENTORY_ON_STARTUP>1</INVENTORY_ON_STARTUP>\n"
                "  <RESPONSE>SEND</RESPONSE>\n</REPLY>\n")

    def wol_option_xml(self, indent="", nl=""):
        if not self.wol:
            return []
        params = []
        for mac, ip in self.wol:
            attrs = f'MAC="{xml_escape(mac)}"' + (f' IP="{xml_escape(ip)}"' if ip else "")
            params.append(f"{indent}{indent}<PARAM {attrs}/>{nl}")
        return [f"{indent}<OPTION>{nl}{indent}{indent}<NAME>WAKEONLAN</NAME>{nl}"
                + "".join(params) + f"{indent}</OPTION>{nl}"]

    # -------------------------------------------------------- GLPI endpoint

    def glpi(self, req, seq):
        """GLPI 10's front/inventory.php + Glpi\\Inventory\\Request, without plugins."""
        path = req.target.partition("?")[0]
        if path == "/_control":
            return self.control(req)
        if self.oauth and path.endswith("/api.php/token"):
            return self.token(req)
        info = {}
        if self.oauth and not self.bearer_ok(req, info):
            body = php_json({"error": "access_denied", "message": "Access token is missing or invalid"})
            return Response(401, [("Content-Type", "application/json"), ("WWW-Authenticate", "Bearer"),
                                  ("Connection", "close")], body), {**info, "kind": "unauthorized"}
        g = GlpiRequest(self, req)
        info["glpi"] = g.meta
        rid = req.header("glpi-request-id")
        if req.method == "GET" and rid:
            return self.pending_poll(g, rid, info)
        if req.method != "POST":
            qs = req.target.partition("?")[2]
            if re.search(r"(^|&)action=getConfig(&|$)", qs):
                g.content_type_mode("application/json")
                g.add_error("Protocol not supported", 400)
            else:
                g.add_error(None, 405)
            info["kind"] = "other"
            return g.build(), info
        if g.code == 415:  # brotli refused before the body is looked at
            info["kind"] = "other"
            return g.build(), info
        data = g.decompress(req.body)
        info["codec"] = g.meta["compression"]
        if data is None:
            info["decode_error"] = g.meta.get("decode_error")
            data = b""
        else:
            self.add_body(info, data)
        g.handle(data, seq, info)
        return g.build(), info

    # -------------------------------------------------------- glpi: run-time control, OAuth2, pending

    def control(self, req):
        """POST /_control {"pending": N, ...}: sets what the next requests get."""
        try:
            changes = json.loads(req.body or b"{}")
        except ValueError:
            changes = None
        if not isinstance(changes, dict) or not set(changes) <= set(self.ctl) | {"revoke_tokens"}:
            return Response(400, [("Content-Type", "text/plain")], b"bad control\n"), {"kind": "control"}
        with self.lock:
            if changes.pop("revoke_tokens", False):
                self.tokens.clear()
            self.ctl.update(changes)
            state = dict(self.ctl)
        return Response(200, [("Content-Type", "application/json")], php_json(state)), {"kind": "control", "control": changes}

    def token(self, req):
        """GLPI 11's api.php/token, client credentials grant only."""
        info = {"kind": "token"}
        try:
            q = json.loads(req.body)
        except ValueError:
            q = {}
        q = q if isinstance(q, dict) else {}
        # What the agent sent, without the secret (this log is checked for it too).
        info["token_request"] = {k: v for k, v in q.items() if k != "client_secret"}
        info["secret_sent"] = "client_secret" in q
        cid, secret = self.oauth
        if q.get("grant_type") != "client_credentials" or q.get("scope") != "inventory":
            body = {"error": "unsupported_grant_type", "message": "The authorization grant type is not supported"}
            return Response(400, [("Content-Type", "application/json")], php_json(body)), info
        if q.get("client_id") != cid or q.get("client_secret") != secret:
            info["granted"] = False
            body = {"error": "invalid_client", "error_description": "Client authentication failed",
                    "message": "Client authentication failed"}
            return Response(401, [("Content-Type", "application/json")], php_json(body)), info
        tok = os.urandom(24).hex()
        with self.lock:
            self.tokens[tok] = time.time() + self.args.oauth_expires
        info["granted"] = True
        body = {"token_type": "Bearer", "expires_in": self.args.oauth_expires, "access_token": tok}
        return Response(200, [("Content-Type", "application/json")], php_json(body)), info

    def bearer_ok(self, req, info):
        auth = req.header("authorization") or ""
        tok = auth[7:] if auth.startswith("Bearer ") else None
        with self.lock:
            exp = self.tokens.get(tok)
            ok = exp is not None and exp > time.time()
            if ok and self.ctl["revoke_after"] is not None:
                # Revoke every token once this many authorized requests went by.
                self.ctl["revoke_after"] -= 1
                if self.ctl["revoke_after"] < 0:
                    self.ctl["revoke_after"] = None
                    self.tokens.clear()
                    ok = False
        info["auth"] = "ok" if ok else ("expired" if exp is not None else ("bad" if tok else "none"))
        return ok

    def take(self, key):
        """Takes one of ctl[key] when any is left."""
        with self.lock:
            if self.ctl[key] > 0:
                self.ctl[key] -= 1
                return True
            return False

    def new_job(self, pending):
        rid = os.urandom(4).hex().upper()
        with self.lock:
            self.jobs[rid] = pending
        return rid

    def pending_poll(self, g, rid, info):
        """GET with a GLPI-Request-ID: what a GLPI agent proxy answers until it relayed it."""
        info["kind"] = "pending-poll"
        info["request_id"] = rid
        g.content_type_mode("application/json")
        with self.lock:
            left = self.jobs.get(rid)
            if left is not None and left > 0:
                self.jobs[rid] = left - 1
        if left is None:
            g.add_error(f"unknown request {rid}", 404)
        elif left > 0:
            g.add({"status": "pending", "expiration": self.ctl["pending_expiration"]})
            g.reply_request_id = rid
            info["answer"] = "pending"
        else:
            with self.lock:
                self.jobs.pop(rid, None)
            g.add({"expiration": self.args.prolog_freq, "status": "ok"})
            g.reply_request_id = rid
            info["answer"] = "ok"
        return g.build(), info

    # -------------------------------------------------------- shared

    def add_body(self, info, data):
        limit = self.args.log_body_max
        info["body"] = text_of(data[:limit])
        info["body_truncated"] = len(data) > limit

    def save(self, seq, kind, ext, data):
        if not self.args.save_dir:
            return None
        path = os.path.join(self.args.save_dir, f"{seq:04d}-{kind}.{ext}")
        with open(path, "wb") as f:
            f.write(data)
        return os.path.abspath(path)


def apache(code):
    body = (APACHE_400 if code == 400 else APACHE_500).encode()
    return Response(code, [("Connection", "close"), ("Content-Type", "text/html; charset=iso-8859-1")], body)


class GlpiRequest:
    """One request through GLPI's AbstractRequest: mode, compression, response, headers."""

    ZLIB, GZIP, BR, DEFLATE, NONE = "zlib", "gzip", "br", "deflate", "none"
    NATIVE_TASKS = {"inventory"}
    KNOWN_TASKS = {"inventory", "netdiscovery", "netinventory", "esx", "collect", "deploy",
                   "wakeonlan", "remoteinventory"}

    def __init__(self, server, req):
        self.server = server
        self.req = req
        self.mode = None  # "xml" | "json"
        self.compression = None
        self.payload = None  # GLPI's $this->response: dict (JSON) or list of XML nodes
        self.code = 200
        self.errors = []
        self.meta = {}
        self.reply_request_id = None  # a pending job's id, answered instead of the request's
        self.content_type_mode(req.header("content-type") or "")

    # AbstractRequest::handleContentType: an exact, case-insensitive match of the whole header.
    def content_type_mode(self, ctype):
        t = ctype.lower()
        if t in ("application/x-zlib", "application/x-compress-zlib"):
            self.compression = self.ZLIB
        elif t in ("application/x-gzip", "application/x-compress-gzip"):
            self.compression = self.GZIP
        elif t in ("application/x-br", "application/x-compress-br"):
            # GLPI without the brotli PHP extension (the usual case).
            self.compression = self.NONE
            self.add_error("Brotli PHP extension is missing!", 415)
        elif t in ("application/x-deflate", "application/x-compress-deflate"):
            self.compression = self.DEFLATE
        elif t == "application/xml":
            self.compression = self.NONE
            self.set_mode("xml")
        elif t == "application/json":
            self.set_mode("json")
            self.compression = self.NONE
        else:  # text/plain, application/x-compress, anything else: uncompressed
            self.compression = self.NONE
        self.meta["compression"] = self.compression

    def set_mode(self, mode):
        self.mode = mode
        self.payload = {} if mode == "json" else []  # XML: list of (name, content) nodes
        self.meta["mode"] = mode

    def has_agent_id(self):
        return bool(self.req.header("glpi-agent-id"))

    def decompress(self, body):
        try:
            if self.compression == self.ZLIB:
                return bounded_inflate(body, 15)  # gzuncompress: zlib format only
            if self.compression == self.GZIP:
                return bounded_inflate(body, 31)  # gzdecode: gzip format only
            if self.compression == self.DEFLATE:
                return bounded_inflate(body, -15)  # gzinflate: raw deflate
        except (zlib.error, ValueError) as e:
            # PHP returns false; the empty string then fails as XML ("not well formed").
            self.meta["decode_error"] = f"{self.compression}: {e}"
            return None
        return body

    def add_error(self, message, code=500):
        self.code = code
        if message:
            self.errors.append(message)
            if self.mode == "json":
                self.add({"status": "error", "message": message, "expiration": 24})
            else:
                self.add({"ERROR": message})

    def add(self, entries):
        if self.mode is None:
            self.set_mode("xml")  # only before any body was read (brotli refused)
        if self.mode == "xml":
            for name, content in entries.items():
                self.payload.append((name, content))
        else:
            for name, content in entries.items():
                if name == "message" and name in self.payload:
                    self.payload[name] += ";" + content
                elif name == "disabled":
                    self.payload.setdefault(name, []).append(content)
                else:
                    self.payload[name] = content

    def handle(self, data, seq, info):
        if self.mode is None:
            try:
                json.loads(data)
                self.set_mode("json")
            except ValueError:
                self.set_mode("xml")
        info["kind"] = "other"
        if self.mode == "xml":
            text = text_of(data)
            try:
                root = ET.fromstring(text.encode("utf-8")) if text.strip() else None
            except ET.ParseError as e:
                root = None
                info["xml_error"] = str(e)
            if root is None:
                self.add_error("XML not well formed!", 400)
                return
            deviceid = root.findtext("DEVICEID") or ""
            query = (root.findtext("QUERY") or "inventory").strip().lower()
            content = root
        else:
            try:
                jdata = json.loads(data)
            except ValueError as e:
                # GLPI: json_decode() gives null and PHP dies on it: a bare 500.
                info["json_error"] = str(e)
                self.add_error(f"Invalid JSON request: {e}", 500)
                return
            if not isinstance(jdata, dict):
                self.add_error("Invalid JSON request: not an object", 500)
                return
            deviceid = jdata.get("deviceid")
            query = jdata.get("action", jdata.get("query", "inventory"))
            content = jdata
        info["deviceid"] = deviceid
        info["action"] = query
        self.meta["action"] = query
        if query in ("prolog", "contact", "inventory"):
            info["kind"] = query
        elif query in ("snmp", "snmpquery", "netinventory", "netdiscovery"):
            info["kind"] = "inventory"
        srv = self.server
        freq = srv.args.prolog_freq
        if query == "prolog":
            if self.has_agent_id():
                self.set_mode("json")
                self.add({"expiration": freq, "status": "ok"})
            else:
                self.add({"PROLOG_FREQ": freq, "RESPONSE": "SEND"})
                if self.mode == "xml" and srv.wol:
                    # What the FusionInventory/glpiinventory plugin's PROLOG hook adds.
                    self.add({"OPTION": {"NAME": "WAKEONLAN",
                                         "PARAM": [("attrs", {"MAC": m, **({"IP": i} if i else {})})
                                                   for m, i in srv.wol]}})
        elif query == "get_params":
            self.add({"expiration": freq, "status": "ok"})
        elif query == "contact":
            tasks = {}
            enabled = content.get("enabled-tasks") if isinstance(content, dict) else None
            for task in enabled or []:
                handled = {}
                if task in self.NATIVE_TASKS:
                    handled = {"server": "glpi", "version": srv.ctl["glpi_version"]}
                    if task == "inventory" and srv.args.no_category:
                        handled["no-category"] = srv.args.no_category
                elif task not in self.KNOWN_TASKS:
                    self.add_error(f"Task '{task}' is not supported.", 400)
                if handled:
                    tasks[task] = handled
                else:
                    self.add({"message": f"{task} task not supported", "disabled": task})
            resp = {"expiration": freq, "status": "ok"}
            if tasks:
                resp["tasks"] = tasks
            self.add(resp)
        elif info["kind"] == "inventory":
            ext = "json" if self.mode == "json" else "xml"
            info["saved"] = srv.save(seq, "inventory", ext, data)
            if self.mode == "json" and srv.validator is not None:
                problem = validate(srv.validator, content)
                if problem:
                    info["validation_error"] = problem
                    self.add_error("JSON does not validate. Violations:\n" + problem + "\n", 400)
                    return
            if self.mode == "json" and srv.take("inventory_error"):
                info["answer"] = "error"
                self.add_error("Inventory not stored: simulated database failure", 500)
                return
            if self.mode == "json" and srv.ctl["pending"] > 0:
                with srv.lock:
                    n, srv.ctl["pending"] = srv.ctl["pending"], 0
                # This answer is the first of n pending ones.
                rid = srv.new_job(n - 1)
                self.add({"status": "pending", "expiration": srv.ctl["pending_expiration"]})
                self.reply_request_id = rid
                info["answer"] = "pending"
                info["request_id"] = rid
                return
            info["answer"] = "ok"
            if self.has_agent_id():
                self.add({"expiration": freq, "status": "ok"})
            else:
                self.add({"RESPONSE": "SEND"})
        else:
            self.add_error(f"Query '{query}' is not supported.", 501)

    def content_type(self):
        ct = {self.ZLIB: "application/x-compress-zlib", self.GZIP: "application/x-compress-gzip",
              self.DEFLATE: "application/x-compress-deflate"}.get(self.compression)
        if ct:
            return ct
        return "application/json" if self.mode == "json" else "application/xml"

    def body_text(self):
        if self.payload is None:
            return None
        if self.mode == "json":
            return php_json(self.payload)
        return ('<?xml version="1.0"?>\n<REPLY>' + "".join(xml_nodes(self.payload)) + "</REPLY>\n").encode()

    def build(self):
        """The HTTP reply: GLPI echoes the request headers its Headers\\Common class knows."""
        text = self.body_text()
        body = encode(self.compression, text) if text is not None else b""
        req = self.req
        headers = []
        if self.mode is not None:
            headers.append(("Content-Type", self.content_type()))
        headers.append(("Cache-Control", req.header("cache-control") or "no-cache,no-store"))
        conn = req.header("connection") or "close"
        headers.append(("Connection", conn))
        headers.append(("Pragma", req.header("pragma") or "no-cache"))
        for h in ("Accept", "GLPI-Agent-ID", "GLPI-Request-ID", "GLPI-CryptoKey-ID", "GLPI-Proxy-ID"):
            if h == "GLPI-Request-ID" and self.reply_request_id:
                headers.append((h, self.reply_request_id))
            elif req.header(h):
                headers.append((h, req.header(h)))
        keep = "keep-alive" in conn.lower()
        r = Response(self.code, headers, body, keep_alive=keep)
        r.info["reply_body"] = text_of(text) if text is not None else None
        return r


def xml_nodes(nodes):
    out = []
    for name, content in nodes:
        if isinstance(content, dict):
            out.append(f"<{name}>" + "".join(xml_nodes(list(content.items()))) + f"</{name}>")
        elif isinstance(content, list):  # repeated element with attributes
            for _, attrs in content:
                a = "".join(f' {k}="{xml_escape(v)}"' for k, v in attrs.items())
                out.append(f"<{name}{a}/>")
        else:
            out.append(f"<{name}>{xml_escape(content)}</{name}>")
    return out


def load_validator(path):
    try:
        import jsonschema
    except ImportError:
        sys.exit("fake_server: glpi mode needs the jsonschema module (or --no-schema)")
    if not path:
        here = os.path.dirname(os.path.abspath(__file__))
        path = os.path.normpath(os.path.join(here, "../../../shared/schema/inventory.schema.json"))
    try:
        with open(path, encoding="utf-8") as f:
            schema = json.load(f)
    except (OSError, ValueError) as e:
        sys.exit(f"fake_server: cannot load schema {path}: {e} (give --schema FILE or --no-schema)")
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def validate(validator, instance, max_errors=10):
    errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
    lines = []
    for e in errors[:max_errors]:
        path = "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in e.absolute_path)
        lines.append(f"{path}: {e.message}")
    if len(errors) > max_errors:
        lines.append(f"... and {len(errors) - max_errors} more")
    return "\n".join(lines)


def parse_wol(spec):
    mac, _, ip = spec.partition(",")
    return mac.strip(), ip.strip() or None


# ---------------------------------------------------------------- HTTP parsing


def read_line(rf):
    line = rf.readline(MAX_LINE + 1)
    if len(line) > MAX_LINE:
        raise HttpError(431, "line too long")
    return line


def read_request(rf, sock, peer, max_body):
    """Reads one request; None when the client closed the connection between requests."""
    line = read_line(rf)
    while line in (b"\r\n", b"\n"):  # tolerated leading empty lines (RFC 9112 2.2)
        line = read_line(rf)
    if not line:
        return None
    parts = line.decode("latin-1").strip().split()
    if len(parts) != 3 or not parts[2].startswith("HTTP/"):
        raise HttpError(400, f"bad request line {line[:80]!r}")
    method, target, version = parts
    headers = []
    while True:
        h = read_line(rf)
        if not h:
            raise HttpError(400, "connection closed inside the headers")
        if h in (b"\r\n", b"\n"):
            break
        if len(headers) >= MAX_REQ_HEADERS:
            raise HttpError(431, "too many request headers")
        name, sep, value = h.decode("latin-1").partition(":")
        if not sep:
            raise HttpError(400, f"bad header line {h[:80]!r}")
        headers.append((name.strip(), value.strip()))
    req = Request(method, target, version, headers, b"", peer)
    if (req.header("expect") or "").lower() == "100-continue":
        sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
    if "chunked" in (req.header("transfer-encoding") or "").lower():
        chunks, total = [], 0
        while True:
            size_line = read_line(rf).split(b";")[0].strip()
            try:
                size = int(size_line, 16)
            except ValueError:
                raise HttpError(400, f"bad chunk size {size_line[:20]!r}")
            if size == 0:
                while read_line(rf) not in (b"\r\n", b"\n", b""):
                    pass
                break
            total += size
            if total > max_body:
                raise HttpError(413, f"request body over {max_body} bytes")
            chunks.append(rf.read(size))
            rf.readline(3)
        req.body = b"".join(chunks)
    else:
        length = req.header("content-length")
        if length:
            try:
                n = int(length)
            except ValueError:
                raise HttpError(400, f"bad Content-Length {length!r}")
            if n < 0 or n > max_body:
                raise HttpError(413, f"request body of {n} bytes over {max_body}")
            req.body = rf.read(n)
            if len(req.body) != n:
                raise HttpError(400, "connection closed inside the body")
    return req


# ---------------------------------------------------------------- zlib bomb


def make_bomb(cache_dir, size):
    """A zlib stream that inflates to `size` bytes of XML-looking text; built once, streaming."""
    os.makedirs(cache_dir, exist_ok=True)
    path = os.path.join(cache_dir, f"zlib-bomb-{size}.z")
    if os.path.exists(path):
        return path
    prefix = b'<?xml version="1.0" encoding="UTF-8"?>\n<REPLY><RESPONSE>SEND</RESPONSE><PAD>'
    tmp = f"{path}.{os.getpid()}.tmp"
    c = zlib.compressobj(9)
    chunk = b" " * (1 << 20)
    with open(tmp, "wb") as f:
        f.write(c.compress(prefix))
        left = size - len(prefix)
        while left > 0:
            piece = chunk if left >= len(chunk) else chunk[:left]
            f.write(c.compress(piece))
            left -= len(piece)
        f.write(c.flush())
    os.replace(tmp, path)
    return path


# ---------------------------------------------------------------- main


def parse_args(argv):
    p = argparse.ArgumentParser(
        description="Fake GLPI / OCS-like / faulty inventory server for uagent tests.",
        epilog="Fault modes: " + ", ".join(FAULTS) + ". See tests/peers/README.md.")
    p.add_argument("--mode", choices=BASES + FAULTS, help="server behaviour (a fault mode implies "
                   "--base ocs-like unless --base is given)")
    p.add_argument("--base", choices=BASES, help="good behaviour behind a fault (default: the "
                   "--mode when it is glpi/ocs-like, else ocs-like)")
    p.add_argument("--fault", choices=FAULTS, help="fault to inject (same as --mode FAULT)")
    p.add_argument("--fault-on", choices=KINDS, default="all",
                   help="which requests get the fault (default all)")
    p.add_argument("--fault-count", type=int, metavar="N",
                   help="fault only the first N matching requests, then behave (default: all)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="0 = any free port (default)")
    p.add_argument("--log", metavar="FILE", help="append one JSON line per request/event")
    p.add_argument("--save-dir", metavar="DIR", help="write each inventory received (decoded) here")
    p.add_argument("--count-requests", metavar="FILE",
                   help="rewrite FILE with JSON request counts after each request")
    p.add_argument("--schema", metavar="FILE",
                   help="inventory.schema.json for glpi mode (default ../shared/schema/ of the repo)")
    p.add_argument("--no-schema", action="store_true", help="glpi mode without JSON validation")
    p.add_argument("--prolog-freq", type=int, default=24, metavar="H",
                   help="PROLOG_FREQ / expiration in hours (default 24)")
    p.add_argument("--wakeonlan", action="append", metavar="MAC[,IP]",
                   help="add a WAKEONLAN option to XML PROLOG replies (repeatable)")
    p.add_argument("--glpi-version", default="10.0.16", help="version in CONTACT tasks (10.0.16)")
    p.add_argument("--no-category", metavar="LIST",
                   help="glpi mode: the CONTACT reply asks the inventory to leave these out")
    p.add_argument("--oauth", metavar="ID:SECRET",
                   help="glpi: GLPI 11's OAuth2 client credentials; every request then needs a Bearer token "
                        "from .../api.php/token")
    p.add_argument("--oauth-expires", type=int, default=3600, metavar="S",
                   help="glpi: lifetime of the tokens given, seconds (3600)")
    p.add_argument("--stall-half", action="store_true", help="stall: send half the reply first")
    p.add_argument("--hold", action="store_true",
                   help="huge-length: keep the connection open after the few bytes")
    p.add_argument("--drip-interval", type=float, default=1.0, metavar="S",
                   help="slow-drip: seconds between bytes (default 1)")
    p.add_argument("--depth", type=int, default=10000, help="deep-xml: nesting depth (10000)")
    p.add_argument("--header-count", type=int, default=10000,
                   help="many-headers: extra reply headers (10000)")
    p.add_argument("--bomb-size", type=int, default=1 << 30,
                   help="zlib-bomb: inflated size in bytes (default 1 GiB)")
    p.add_argument("--cache-dir", default="/tmp/uagent-peers", help="where the bomb is cached")
    p.add_argument("--max-body", type=int, default=DEFAULT_MAX_BODY,
                   help="largest request body accepted (bytes, default 64 MiB)")
    p.add_argument("--log-body-max", type=int, default=DEFAULT_LOG_BODY_MAX,
                   help="decoded body bytes copied into a log line (default 8 MiB)")
    p.add_argument("--self-test", action="store_true", help="run tests/peers/test_fake_server.py")
    a = p.parse_args(argv)
    if a.self_test:
        return a
    if not a.mode and not a.fault:
        p.error("--mode is required")
    if a.mode in FAULTS:
        if a.fault and a.fault != a.mode:
            p.error("--mode FAULT and --fault disagree")
        a.fault = a.mode
    elif a.mode in BASES:
        if a.base and a.base != a.mode:
            p.error("--mode and --base disagree")
        a.base = a.mode
    a.base = a.base or "ocs-like"
    return a


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.self_test:
        here = os.path.dirname(os.path.abspath(__file__))
        os.execv(sys.executable, [sys.executable, os.path.join(here, "test_fake_server.py"), "-v"])
    server = Server(args)
    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    lsock = socket.socket(family, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind((args.host, args.port))
    lsock.listen(128)
    port = lsock.getsockname()[1]
    host = f"[{args.host}]" if family == socket.AF_INET6 else args.host
    print(f"http://{host}:{port}/", flush=True)
    print(f"fake_server: mode={args.mode or args.fault} base={args.base} fault={args.fault} "
          f"fault_on={args.fault_on} listening on {host}:{port}", file=sys.stderr, flush=True)
    while True:
        try:
            sock, addr = lsock.accept()
        except InterruptedError:
            continue
        except KeyboardInterrupt:
            return 0
        peer = f"{addr[0]}:{addr[1]}"
        threading.Thread(target=server.serve_connection, args=(sock, peer), daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
