#!/usr/bin/env python3
"""A test server for uagent's deployment, for what the real OCS server cannot do on demand and
for GLPI (which cannot be installed here): standard library only.

    python3 tests/peers/deploy_server.py --dir DIR [--cert CERT --key KEY]

It prints `HTTP=<port>` and `HTTPS=<port>` once listening. DIR/scenario.json (re-read at every
request) says what to answer:

  "ocs": {"conf": {...CONF attributes}, "packs": [{...PACK attributes}], "result_status": 200}
        POST QUERY=PROLOG gets a REPLY with that DOWNLOAD option and RESPONSE SEND; INVENTORY is
        accepted; QUERY=DOWNLOAD results are recorded and answered with result_status.
  "glpi": {"contact_tasks": {...}, "jobs": <getJobs answer, object or raw text>}
        POST CONTACT (JSON) gets status ok with those tasks; GET ?action=getConfig gives the
        schedule (remote = this server's /b/deploy/); getJobs gives "jobs"; getFilePart serves
        DIR/parts/<sha512>; setStatus is recorded.
  "files": {"/path": {"file": "name in DIR/files", "fault": "overlong|chunked|cut|none"}}
        GET of the path serves the file, with the fault: `overlong` sends more bytes than its
        Content-Length, `chunked` sends it chunked without a length, `cut` closes the connection
        halfway through the first request and answers a Range request with 206.

Every request is a JSON line in DIR/requests.jsonl: method, path, query (raw, in order),
range header, and for OCS results the package id and code.
"""
import argparse
import json
import os
import re
import socket
import ssl
import sys
import threading
import urllib.parse
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_BODY = 8 * 1024 * 1024


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "uagent-deploy-test"

    def log_message(self, *a):
        pass

    @property
    def d(self):
        return self.server.dir

    def scenario(self):
        try:
            with open(os.path.join(self.d, "scenario.json")) as f:
                return json.load(f)
        except (OSError, ValueError):
            return {}

    def record(self, entry):
        with self.server.lock:
            with open(os.path.join(self.d, "requests.jsonl"), "a") as f:
                f.write(json.dumps(entry) + "\n")

    def reply(self, status, body, ctype="application/octet-stream", extra=()):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    # ------------------------------------------------------------- GET
    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        q = urllib.parse.parse_qs(url.query, keep_blank_values=True)
        entry = {"method": "GET", "path": url.path, "query": url.query, "range": self.headers.get("Range"),
                 "port": self.server.server_address[1]}
        action = (q.get("action") or [""])[0]
        sc = self.scenario()
        if action:
            entry["action"] = action
            self.record(entry)
            return self.rest(action, q, sc)
        self.record(entry)
        spec = sc.get("files", {}).get(url.path)
        if not spec:
            return self.reply(404, b"not found\n", "text/plain")
        data = open(os.path.join(self.d, "files", spec["file"]), "rb").read()
        fault = spec.get("fault", "none")
        rng = self.headers.get("Range")
        if fault == "overlong":
            # Announces less than it sends: the client must take only what was announced.
            self.send_response(200)
            self.send_header("Content-Length", str(len(data) // 2))
            self.end_headers()
            self.wfile.write(data)
            self.close_connection = True
        elif fault == "chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i in range(0, len(data), 65536):
                piece = data[i:i + 65536]
                try:
                    self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                except OSError:
                    return
            self.wfile.write(b"0\r\n\r\n")
        elif fault == "cut" and not rng:
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[:len(data) // 2])
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
        elif rng:
            m = re.match(r"bytes=(\d+)-$", rng)
            start = int(m.group(1)) if m else 0
            part = data[start:]
            self.reply(206, part, extra=[("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")])
        else:
            self.reply(200, data)

    def rest(self, action, q, sc):
        glpi = sc.get("glpi", {})
        if action == "getConfig":
            host, port = self.server.server_address[:2]
            remote = f"http://{host}:{port}/b/deploy/"
            return self.reply(200, json.dumps({"configValidityPeriod": 600, "schedule": [{"task": "Deploy", "remote": remote}]}).encode(),
                              "application/json")
        if action == "getJobs":
            jobs = glpi.get("jobs", {})
            body = jobs.encode() if isinstance(jobs, str) else json.dumps(jobs).encode()
            return self.reply(200, body, "application/json")
        if action == "getFilePart":
            name = (q.get("file") or [""])[0].rsplit("/", 1)[-1]
            path = os.path.join(self.d, "parts", os.path.basename(name))
            if os.path.exists(path):
                return self.reply(200, open(path, "rb").read())
            return self.reply(404, b"", "text/plain")
        if action == "setStatus":
            return self.reply(200, b"{}", "application/json")
        return self.reply(400, b"unknown action", "text/plain")

    # ------------------------------------------------------------- POST
    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n > MAX_BODY:
            return self.reply(413, b"")
        raw = self.rfile.read(n)
        try:
            body = zlib.decompress(raw)
        except zlib.error:
            body = raw
        text = body.decode("utf-8", "replace")
        sc = self.scenario()
        entry = {"method": "POST", "path": self.path}
        if text.lstrip().startswith("{"):
            doc = json.loads(text)
            entry["action"] = doc.get("action")
            entry["body"] = doc
            self.record(entry)
            if doc.get("action") == "contact":
                tasks = sc.get("glpi", {}).get("contact_tasks", {"inventory": {"server": "glpi"}})
                return self.reply(200, json.dumps({"status": "ok", "expiration": 24, "tasks": tasks}).encode(), "application/json")
            return self.reply(200, json.dumps({"status": "ok", "expiration": 24}).encode(), "application/json")
        m = re.search(r"<QUERY>\s*(\w+)\s*</QUERY>|QUERY=\"(\w+)\"", text)
        query = (m.group(1) or m.group(2)) if m else ""
        entry["query"] = query
        if query == "DOWNLOAD":
            entry["id"] = re.search(r'\sID="([^"]*)"', text).group(1)
            entry["err"] = re.search(r'\sERR="([^"]*)"', text).group(1)
            self.record(entry)
            status = int(sc.get("ocs", {}).get("result_status", 200))
            return self.reply(status, b"" if status == 200 else b"server error\n", "text/plain")
        self.record(entry)
        if query == "PROLOG" and "glpi" in sc and self.headers.get("GLPI-Agent-ID"):
            # GLPI answers a PROLOG that carries GLPI-Agent-ID in JSON: the agent then speaks CONTACT.
            return self.reply(200, json.dumps({"status": "ok", "expiration": 24}).encode(), "application/json")
        if query == "PROLOG":
            ocs = sc.get("ocs", {})
            attrs = lambda d: " ".join(f'{k}="{v}"' for k, v in d.items())
            params = f'<PARAM TYPE="CONF" {attrs(ocs.get("conf", {}))} />'
            params += "".join(f'<PARAM TYPE="PACK" {attrs(p)} />' for p in ocs.get("packs", []))
            xml = f"<?xml version='1.0' encoding='UTF-8'?>\n<REPLY><OPTION><NAME>DOWNLOAD</NAME>{params}</OPTION>" \
                  f"<RESPONSE>SEND</RESPONSE><PROLOG_FREQ>24</PROLOG_FREQ></REPLY>\n"
            return self.reply(200, zlib.compress(xml.encode()), "application/x-compressed")
        xml = "<?xml version='1.0' encoding='UTF-8'?>\n<REPLY><RESPONSE>NO_ACCOUNT_UPDATE</RESPONSE></REPLY>\n"
        return self.reply(200, zlib.compress(xml.encode()), "application/x-compressed")


class Server(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        # A client that hangs up mid-body (the agent refusing an oversized fragment) is expected.
        pass


def serve(server):
    server.serve_forever(poll_interval=0.2)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--cert")
    ap.add_argument("--key")
    args = ap.parse_args()
    lock = threading.Lock()
    servers = []
    plain = Server(("127.0.0.1", 0), Handler)
    servers.append(("HTTP", plain))
    if args.cert:
        tls = Server(("127.0.0.1", 0), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.cert, args.key)
        tls.socket = ctx.wrap_socket(tls.socket, server_side=True)
        servers.append(("HTTPS", tls))
    for name, s in servers:
        s.dir = args.dir
        s.lock = lock
        s.daemon_threads = True
        threading.Thread(target=serve, args=(s,), daemon=True).start()
        print(f"{name}={s.server_address[1]}", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    sys.exit(main())
