#!/usr/bin/env python3
"""Self-test of tests/peers/fake_server.py: starts each mode as a real process on loopback and
checks what a client sees on the wire (stdlib only: sockets, http.client, zlib).

    python3 tests/peers/test_fake_server.py [-v] [TestClass.test_name]
"""

import gzip
import http.client
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import zlib

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
from lib import SCHEMA  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SERVER = os.path.join(HERE, "fake_server.py")
DEVICEID = "uagent-test-2024-05-01-10-22-33"


def xml_request(query, content=""):
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<REQUEST>\n  <DEVICEID>{DEVICEID}</DEVICEID>\n'
            f"  <QUERY>{query}</QUERY>\n{content}</REQUEST>\n").encode()


PROLOG = xml_request("PROLOG")
INVENTORY = xml_request("INVENTORY", "  <CONTENT><HARDWARE><NAME>h</NAME><CHECKSUM>1</CHECKSUM>"
                        "</HARDWARE><VERSIONCLIENT>uagent_v0.1</VERSIONCLIENT></CONTENT>\n")
JSON_INVENTORY = {
    "action": "inventory",
    "deviceid": DEVICEID,
    "itemtype": "Computer",
    "content": {
        "versionclient": "uagent_v0.1",
        "hardware": {"name": "router", "memory": 128},
        "cpus": [{"name": "MIPS 24Kc", "arch": "mips", "speed": 580}],
        "networks": [{"description": "eth0", "ipaddress": "192.168.1.1", "type": "ethernet"}],
    },
}


class Peer:
    """One fake_server process; kill() stops it by its own pid."""

    def __init__(self, *args):
        self.dir = tempfile.mkdtemp(prefix="fake-server-test-")
        self.log = os.path.join(self.dir, "log.jsonl")
        self.counts = os.path.join(self.dir, "counts.json")
        self.save = os.path.join(self.dir, "saved")
        cmd = [sys.executable, SERVER, "--port", "0", "--log", self.log, "--save-dir", self.save,
               "--count-requests", self.counts, *args]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.url = self.proc.stdout.readline().strip()
        if not self.url.startswith("http://127.0.0.1:"):
            err = self.proc.stderr.read()
            raise RuntimeError(f"fake_server did not start: {self.url!r} {err}")
        self.port = int(self.url.rsplit(":", 1)[1].strip("/"))

    def kill(self):
        """Stops the server; returns what it wrote on stderr."""
        self.proc.kill()
        self.proc.wait()
        err = self.proc.stderr.read()
        self.proc.stdout.close()
        self.proc.stderr.close()
        return err

    def entries(self, event="request"):
        with open(self.log, encoding="utf-8") as f:
            return [e for e in map(json.loads, f) if e["event"] == event]

    def wait_entries(self, event, n, timeout=10):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if os.path.exists(self.log) and len(self.entries(event)) >= n:
                return self.entries(event)
            time.sleep(0.05)
        raise AssertionError(f"no {n} {event!r} entries in {self.log}")

    def post(self, body, headers=None, path="/ocsinventory", timeout=10):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        c.request("POST", path, body=body, headers=headers or {})
        r = c.getresponse()
        data = r.read()
        c.close()
        return r, data

    def connect(self, timeout=5):
        return socket.create_connection(("127.0.0.1", self.port), timeout=timeout)

    def raw_request(self, body, ctype="application/x-compress", extra=""):
        return (f"POST /ocsinventory HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: test\r\n"
                f"Content-Type: {ctype}\r\nContent-Length: {len(body)}\r\n{extra}\r\n").encode() + body


def read_until_close(sock, limit=64 * 1024 * 1024):
    out = b""
    while len(out) < limit:
        chunk = sock.recv(65536)
        if not chunk:
            break
        out += chunk
    return out


def split_head(raw):
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = [tuple(s.strip() for s in line.split(":", 1)) for line in lines[1:]]
    return lines[0], headers, body


def header(headers, name):
    return [v for k, v in headers if k.lower() == name.lower()]


class PeerCase(unittest.TestCase):
    def start(self, *args):
        p = Peer(*args)
        self.addCleanup(self.stop, p)
        return p

    def stop(self, p):
        err = p.kill()
        self.assertNotIn("Traceback", err, f"fake_server crashed in a handler:\n{err}")
        if os.path.exists(p.log):
            self.assertEqual(p.entries("server_error"), [])


# ---------------------------------------------------------------- GLPI


class GlpiMode(PeerCase):
    def setUp(self):
        self.p = self.start("--mode", "glpi", "--schema", SCHEMA)

    def test_zlib_prolog_without_agent_id_gets_zlib_xml_prolog_freq_and_send(self):
        r, data = self.p.post(zlib.compress(PROLOG), {"Content-Type": "application/x-compress-zlib"})
        self.assertEqual(r.status, 200)
        self.assertEqual(r.getheader("Content-Type"), "application/x-compress-zlib")
        self.assertEqual(zlib.decompress(data), b'<?xml version="1.0"?>\n<REPLY><PROLOG_FREQ>24'
                         b"</PROLOG_FREQ><RESPONSE>SEND</RESPONSE></REPLY>\n")

    def test_prolog_with_agent_id_gets_json_expiration_and_echoed_id(self):
        r, data = self.p.post(zlib.compress(PROLOG), {"Content-Type": "application/x-zlib",
                                                      "GLPI-Agent-ID": "3a609a2e-947f-4e6a-9af9-32c024ac3944"})
        self.assertEqual(r.status, 200)
        self.assertEqual(r.getheader("Content-Type"), "application/x-compress-zlib")
        self.assertEqual(r.getheader("GLPI-Agent-ID"), "3a609a2e-947f-4e6a-9af9-32c024ac3944")
        self.assertEqual(zlib.decompress(data), b'{"expiration":24,"status":"ok"}')

    def test_contact_lists_inventory_task_and_disables_others(self):
        body = {"action": "contact", "deviceid": DEVICEID, "name": "uagent", "version": "0.1",
                "enabled-tasks": ["inventory", "deploy"]}
        r, data = self.p.post(zlib.compress(json.dumps(body).encode()),
                              {"Content-Type": "application/x-compress-zlib", "GLPI-Agent-ID": "x"})
        self.assertEqual(r.status, 200)
        reply = json.loads(zlib.decompress(data))
        self.assertEqual(reply["status"], "ok")
        self.assertEqual(reply["expiration"], 24)
        self.assertEqual(reply["tasks"], {"inventory": {"server": "glpi", "version": "10.0.16"}})
        self.assertEqual(reply["disabled"], ["deploy"])

    def test_contact_without_enabled_tasks_has_no_tasks(self):
        r, data = self.p.post(json.dumps({"action": "contact", "deviceid": DEVICEID}).encode(),
                              {"Content-Type": "application/json"})
        self.assertEqual(json.loads(data), {"expiration": 24, "status": "ok"})

    def test_valid_json_inventory_is_accepted_logged_and_saved(self):
        raw = json.dumps(JSON_INVENTORY).encode()
        r, data = self.p.post(zlib.compress(raw), {"Content-Type": "application/x-compress-zlib",
                                                   "GLPI-Agent-ID": "x"})
        self.assertEqual(r.status, 200, zlib.decompress(data))
        self.assertEqual(json.loads(zlib.decompress(data)), {"expiration": 24, "status": "ok"})
        e = self.p.wait_entries("request", 1)[0]
        self.assertEqual(e["kind"], "inventory")
        self.assertEqual(e["glpi"], {"compression": "zlib", "mode": "json", "action": "inventory"})
        self.assertEqual(json.loads(e["body"]), JSON_INVENTORY)
        with open(e["saved"], "rb") as f:
            self.assertEqual(f.read(), raw)

    def test_schema_violation_is_http_400_json_does_not_validate(self):
        bad = json.loads(json.dumps(JSON_INVENTORY))
        bad["content"]["cpus"][0]["speed"] = "580 MHz"
        bad["content"]["networks"][0]["type"] = "Ethernet"
        r, data = self.p.post(json.dumps(bad).encode(), {"Content-Type": "application/json",
                                                         "GLPI-Agent-ID": "x"})
        self.assertEqual(r.status, 400)
        self.assertEqual(r.getheader("Content-Type"), "application/json")
        reply = json.loads(data)
        self.assertEqual(reply["status"], "error")
        self.assertTrue(reply["message"].startswith("JSON does not validate. Violations:\n"), reply)
        self.assertIn("$.content.cpus[0].speed", reply["message"])
        self.assertIn("$.content.networks[0].type", reply["message"])
        e = self.p.wait_entries("request", 1)[0]
        self.assertIn("speed", e["validation_error"])

    def test_inventory_without_versionclient_fails_schema(self):
        bad = {"action": "inventory", "deviceid": DEVICEID, "content": {"hardware": {"name": "x"}}}
        r, data = self.p.post(json.dumps(bad).encode(), {"Content-Type": "application/json"})
        self.assertEqual(r.status, 400)
        self.assertIn("versionclient", json.loads(data)["message"])

    def test_json_inventory_without_agent_id_gets_response_send_in_json(self):
        r, data = self.p.post(json.dumps(JSON_INVENTORY).encode(), {"Content-Type": "application/json"})
        self.assertEqual(r.status, 200)
        self.assertEqual(json.loads(data), {"RESPONSE": "SEND"})

    def test_zlib_body_labelled_ocs_x_compress_fails_as_not_well_formed_xml(self):
        r, data = self.p.post(zlib.compress(PROLOG), {"Content-Type": "application/x-compress"})
        self.assertEqual(r.status, 400)
        self.assertEqual(r.getheader("Content-Type"), "application/xml")
        self.assertIn(b"<ERROR>XML not well formed!</ERROR>", data)

    def test_corrupt_zlib_with_zlib_type_is_400_with_zlib_reply(self):
        r, data = self.p.post(b"\x78\x9cnot deflate", {"Content-Type": "application/x-compress-zlib"})
        self.assertEqual(r.status, 400)
        self.assertIn(b"XML not well formed!", zlib.decompress(data))
        e = self.p.wait_entries("request", 1)[0]
        self.assertTrue(e["decode_error"].startswith("zlib:"), e)

    def test_gzip_and_deflate_requests_get_replies_in_the_same_codec(self):
        r, data = self.p.post(gzip.compress(PROLOG), {"Content-Type": "application/x-compress-gzip"})
        self.assertEqual(r.getheader("Content-Type"), "application/x-compress-gzip")
        self.assertIn(b"<RESPONSE>SEND</RESPONSE>", gzip.decompress(data))
        c = zlib.compressobj(6, zlib.DEFLATED, -15)
        raw = c.compress(PROLOG) + c.flush()
        r, data = self.p.post(raw, {"Content-Type": "application/x-deflate"})
        self.assertEqual(r.getheader("Content-Type"), "application/x-compress-deflate")
        self.assertIn(b"<RESPONSE>SEND</RESPONSE>", zlib.decompress(data, -15))
        # A zlib stream is not raw deflate: gzinflate fails on it.
        r, data = self.p.post(zlib.compress(PROLOG), {"Content-Type": "application/x-compress-deflate"})
        self.assertEqual(r.status, 400)

    def test_plain_xml_and_json_with_parameters_are_guessed(self):
        r, data = self.p.post(PROLOG, {"Content-Type": "application/xml"})
        self.assertEqual(r.getheader("Content-Type"), "application/xml")
        self.assertIn(b"<RESPONSE>SEND</RESPONSE>", data)
        # "application/json; charset=utf-8" is not an exact match: uncompressed, mode guessed.
        r, data = self.p.post(json.dumps(JSON_INVENTORY).encode(),
                              {"Content-Type": "application/json; charset=utf-8"})
        self.assertEqual(r.status, 200)
        self.assertEqual(r.getheader("Content-Type"), "application/json")

    def test_xml_inventory_gets_response_send(self):
        r, data = self.p.post(zlib.compress(INVENTORY), {"Content-Type": "application/x-compress-zlib"})
        self.assertEqual(r.status, 200)
        self.assertEqual(zlib.decompress(data),
                         b'<?xml version="1.0"?>\n<REPLY><RESPONSE>SEND</RESPONSE></REPLY>\n')
        e = self.p.wait_entries("request", 1)[0]
        self.assertTrue(e["saved"].endswith("-inventory.xml"))

    def test_broken_json_labelled_json_is_500(self):
        r, data = self.p.post(b'{"action": "inventory", ', {"Content-Type": "application/json"})
        self.assertEqual(r.status, 500)
        self.assertEqual(json.loads(data)["status"], "error")
        self.assertEqual(self.p.wait_entries("request", 1)[0]["status"], 500)

    def test_brotli_is_refused_with_415(self):
        r, data = self.p.post(b"\x0b\x02\x80", {"Content-Type": "application/x-br"})
        self.assertEqual(r.status, 415)
        self.assertIn(b"Brotli PHP extension is missing!", data)

    def test_bad_ipv4_address_fails_the_schema_format_check(self):
        bad = json.loads(json.dumps(JSON_INVENTORY))
        bad["content"]["networks"][0]["ipaddress"] = "999.1.1.1"
        r, data = self.p.post(json.dumps(bad).encode(), {"Content-Type": "application/json"})
        self.assertEqual(r.status, 400)
        self.assertIn("$.content.networks[0].ipaddress", json.loads(data)["message"])

    def test_unsupported_action_is_501(self):
        r, data = self.p.post(json.dumps({"action": "register", "deviceid": DEVICEID}).encode(),
                              {"Content-Type": "application/json"})
        self.assertEqual(r.status, 501)
        self.assertEqual(json.loads(data)["message"], "Query 'register' is not supported.")

    def test_get_is_405_and_get_config_is_400_json(self):
        c = http.client.HTTPConnection("127.0.0.1", self.p.port, timeout=5)
        c.request("GET", "/")
        r = c.getresponse()
        self.assertEqual((r.status, r.read()), (405, b""))
        c.close()
        c = http.client.HTTPConnection("127.0.0.1", self.p.port, timeout=5)
        c.request("GET", "/?action=getConfig&machineid=x")
        r = c.getresponse()
        self.assertEqual(r.status, 400)
        self.assertEqual(json.loads(r.read())["message"], "Protocol not supported")

    def test_keep_alive_request_keeps_the_connection(self):
        c = http.client.HTTPConnection("127.0.0.1", self.p.port, timeout=5)
        for _ in range(2):
            c.request("POST", "/", body=PROLOG, headers={"Content-Type": "application/xml",
                                                         "Connection": "keep-alive"})
            r = c.getresponse()
            self.assertEqual(r.status, 200)
            r.read()
        c.close()
        peers = {e["peer"] for e in self.p.wait_entries("request", 2)}
        self.assertEqual(len(peers), 1)

    def test_count_file_counts_kinds(self):
        with open(self.p.counts) as f:
            self.assertEqual(json.load(f)["total"], 0)
        self.p.post(PROLOG, {"Content-Type": "application/xml"})
        self.p.post(json.dumps(JSON_INVENTORY).encode(), {"Content-Type": "application/json"})
        with open(self.p.counts) as f:
            counts = json.load(f)
        self.assertEqual(counts, {"total": 2, "prolog": 1, "contact": 0, "inventory": 1, "other": 0,
                                  "faulted": 0})


class GlpiOptions(PeerCase):
    def test_wakeonlan_and_prolog_freq_appear_in_xml_prolog_reply(self):
        p = self.start("--mode", "glpi", "--schema", SCHEMA, "--prolog-freq", "6",
                       "--wakeonlan", "00:11:22:33:44:55,192.168.1.255", "--wakeonlan", "66:77:88:99:AA:BB")
        r, data = p.post(zlib.compress(PROLOG), {"Content-Type": "application/x-compress-zlib"})
        xml = zlib.decompress(data).decode()
        self.assertIn("<PROLOG_FREQ>6</PROLOG_FREQ>", xml)
        self.assertIn('<OPTION><NAME>WAKEONLAN</NAME><PARAM MAC="00:11:22:33:44:55" IP="192.168.1.255"/>'
                      '<PARAM MAC="66:77:88:99:AA:BB"/></OPTION>', xml)
        # The JSON (GLPI-Agent-ID) PROLOG carries no options.
        r, data = p.post(zlib.compress(PROLOG), {"Content-Type": "application/x-compress-zlib",
                                                 "GLPI-Agent-ID": "x"})
        self.assertEqual(zlib.decompress(data), b'{"expiration":6,"status":"ok"}')

    def test_missing_schema_file_refuses_to_start(self):
        r = subprocess.run([sys.executable, SERVER, "--mode", "glpi", "--schema", "/nonexistent.json"],
                           capture_output=True, text=True, timeout=10)
        self.assertNotEqual(r.returncode, 0)
        self.assertEqual(r.stdout, "")
        self.assertIn("cannot load schema", r.stderr)

    def test_glpi_base_with_fault_on_inventory_only(self):
        p = self.start("--mode", "glpi", "--schema", SCHEMA, "--fault", "status500",
                       "--fault-on", "inventory", "--fault-count", "1")
        r, _ = p.post(PROLOG, {"Content-Type": "application/xml"})
        self.assertEqual(r.status, 200)
        inv = json.dumps(JSON_INVENTORY).encode()
        r, _ = p.post(inv, {"Content-Type": "application/json"})
        self.assertEqual(r.status, 500)
        r, _ = p.post(inv, {"Content-Type": "application/json"})
        self.assertEqual(r.status, 200)
        faults = [e["fault"] for e in p.wait_entries("request", 3)]
        self.assertEqual(faults, [None, "status500", None])


class GlpiControl(PeerCase):
    """Run-time control (POST /_control), pending replies, OAuth2."""

    def control(self, p, **changes):
        r, data = p.post(json.dumps(changes).encode(), {"Content-Type": "application/json"}, path="/_control")
        self.assertEqual(r.status, 200)
        return json.loads(data)

    def get(self, p, path, headers):
        c = http.client.HTTPConnection("127.0.0.1", p.port, timeout=10)
        c.request("GET", path, headers=headers)
        r = c.getresponse()
        data = r.read()
        c.close()
        return r, data

    def test_pending_then_ok_with_the_same_request_id_and_errors_on_demand(self):
        p = self.start("--mode", "glpi", "--schema", SCHEMA)
        self.control(p, pending=2, pending_expiration="3s", inventory_error=1)
        inv = json.dumps(JSON_INVENTORY).encode()
        h = {"Content-Type": "application/json", "GLPI-Agent-ID": "x"}
        r, data = p.post(inv, h)
        self.assertEqual((r.status, json.loads(data)["message"]), (500, "Inventory not stored: simulated database failure"))
        r, data = p.post(inv, h)
        self.assertEqual(json.loads(data), {"status": "pending", "expiration": "3s"})
        rid = r.getheader("GLPI-Request-ID")
        self.assertRegex(rid, r"^[0-9A-F]{8}$")
        r, data = self.get(p, "/", {"GLPI-Request-ID": rid, "GLPI-Agent-ID": "x"})
        self.assertEqual((json.loads(data)["status"], r.getheader("GLPI-Request-ID")), ("pending", rid))
        r, data = self.get(p, "/", {"GLPI-Request-ID": rid, "GLPI-Agent-ID": "x"})
        self.assertEqual(json.loads(data)["status"], "ok")
        r, _ = self.get(p, "/", {"GLPI-Request-ID": rid})
        self.assertEqual(r.status, 404)
        answers = [e.get("answer") for e in p.wait_entries("request", 6) if e.get("kind") != "control"]
        self.assertEqual(answers, ["error", "pending", "pending", "ok", None])

    def test_oauth_tokens_gate_every_request_and_a_wrong_secret_is_401(self):
        p = self.start("--mode", "glpi", "--schema", SCHEMA, "--oauth", "id:sec", "--oauth-expires", "60")
        ask = {"grant_type": "client_credentials", "client_id": "id", "client_secret": "nope", "scope": "inventory"}
        r, data = p.post(json.dumps(ask).encode(), {"Content-Type": "application/json"}, path="/glpi/api.php/token")
        self.assertEqual((r.status, json.loads(data)["error"]), (401, "invalid_client"))
        ask["client_secret"] = "sec"
        r, data = p.post(json.dumps(ask).encode(), {"Content-Type": "application/json"}, path="/glpi/api.php/token")
        tok = json.loads(data)
        self.assertEqual((r.status, tok["token_type"], tok["expires_in"]), (200, "Bearer", 60))
        r, _ = p.post(zlib.compress(PROLOG), {"Content-Type": "application/x-compress-zlib", "GLPI-Agent-ID": "x"})
        self.assertEqual((r.status, r.getheader("WWW-Authenticate")), (401, "Bearer"))
        auth = {"Content-Type": "application/x-compress-zlib", "GLPI-Agent-ID": "x",
                "Authorization": "Bearer " + tok["access_token"]}
        r, _ = p.post(zlib.compress(PROLOG), auth)
        self.assertEqual(r.status, 200)
        self.control(p, revoke_tokens=True)
        r, _ = p.post(zlib.compress(PROLOG), auth)
        self.assertEqual(r.status, 401)
        log = open(p.log).read()
        self.assertNotIn('"sec"', log, "the stand-in does not log the secret")


# ---------------------------------------------------------------- OCS-like


class OcsLikeMode(PeerCase):
    def setUp(self):
        self.p = self.start("--mode", "ocs-like")

    def test_zlib_prolog_gets_zlib_send_labelled_x_compressed(self):
        r, data = self.p.post(zlib.compress(PROLOG), {"Content-Type": "application/x-compress"})
        self.assertEqual(r.status, 200)
        self.assertEqual(r.getheader("Content-Type"), "application/x-compressed")
        self.assertEqual(r.getheader("Connection"), "close")
        xml = zlib.decompress(data)
        self.assertIn(b"<RESPONSE>SEND</RESPONSE>", xml)
        self.assertIn(b"<PROLOG_FREQ>24</PROLOG_FREQ>", xml)

    def test_inventory_gets_no_account_update_and_is_saved(self):
        r, data = self.p.post(zlib.compress(INVENTORY), {"Content-Type": "application/x-compress"})
        self.assertIn(b"<RESPONSE>NO_ACCOUNT_UPDATE</RESPONSE>", zlib.decompress(data))
        e = self.p.wait_entries("request", 1)[0]
        self.assertEqual((e["kind"], e["codec"], e["deviceid"]), ("inventory", "zlib", DEVICEID))
        with open(e["saved"], "rb") as f:
            self.assertEqual(f.read(), INVENTORY)

    def test_gzip_and_plain_requests_are_answered_in_kind(self):
        r, data = self.p.post(gzip.compress(PROLOG))
        self.assertIn(b"SEND", gzip.decompress(data))
        r, data = self.p.post(PROLOG)
        self.assertTrue(data.startswith(b"<?xml"))

    def test_unparsable_request_line_is_400_and_logged_as_bad_request(self):
        s = self.p.connect()
        s.sendall(b"NONSENSE\r\n\r\n")
        status, _, _ = split_head(read_until_close(s))
        s.close()
        self.assertEqual(status, "HTTP/1.1 400 Bad Request")
        self.assertEqual(self.p.wait_entries("bad_request", 1)[0]["status"], 400)

    def test_body_over_max_body_is_413_without_reading_it(self):
        p = self.start("--mode", "ocs-like", "--max-body", "1000")
        s = p.connect()
        s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n")
        status, _, _ = split_head(read_until_close(s))
        s.close()
        self.assertEqual(status.split()[:2], ["HTTP/1.1", "413"])

    def test_bad_deviceid_and_garbage_bodies_get_apache_errors(self):
        r, data = self.p.post(zlib.compress(PROLOG.replace(DEVICEID.encode(), b"nodate")))
        self.assertEqual(r.status, 400)
        self.assertIn(b"<title>400 Bad Request</title>", data)
        r, data = self.p.post(b"garbage")
        self.assertEqual(r.status, 500)


# ---------------------------------------------------------------- faults


class Faults(PeerCase):
    def exchange(self, p, body=None, ctype="application/x-compress", timeout=10):
        s = p.connect(timeout)
        s.sendall(p.raw_request(zlib.compress(PROLOG) if body is None else body, ctype))
        return s

    def test_reset_sends_part_of_a_head_then_rst(self):
        p = self.start("--mode", "reset")
        s = self.exchange(p)
        got, reset = b"", False
        try:
            while chunk := s.recv(4096):
                got += chunk
        except ConnectionResetError:
            reset = True
        s.close()
        self.assertTrue(reset, f"clean EOF instead of RST after {got!r}")
        self.assertTrue(got.startswith(b"HTTP/1.1 200 OK\r\n"), got)
        self.assertNotIn(b"\r\n\r\n", got)

    def test_stall_sends_nothing_and_logs_when_the_client_gives_up(self):
        p = self.start("--mode", "stall")
        s = self.exchange(p, timeout=2)
        t0 = time.time()
        with self.assertRaises(socket.timeout):
            s.recv(1)
        self.assertGreaterEqual(time.time() - t0, 1.9)
        self.assertEqual(p.wait_entries("request", 1)[0]["fault"], "stall")
        s.close()
        closed = p.wait_entries("client_closed", 1)[0]
        self.assertGreaterEqual(closed["after_s"], 1.9)
        self.assertEqual(closed["bytes_sent"], 0)

    def test_stall_half_sends_half_a_reply_then_holds(self):
        p = self.start("--mode", "stall", "--stall-half")
        s = self.exchange(p, timeout=2)
        got = b""
        with self.assertRaises(socket.timeout):
            while True:
                got += s.recv(4096)
        s.close()
        self.assertTrue(got.startswith(b"HTTP/1.1 200 OK"))
        self.assertGreater(len(got), 50)
        closed = p.wait_entries("client_closed", 1)[0]
        self.assertEqual(closed["bytes_sent"], len(got))

    def test_status_400_and_500_have_apache_html_bodies(self):
        for code in (400, 500):
            p = self.start("--mode", f"status{code}")
            r, data = p.post(zlib.compress(PROLOG))
            self.assertEqual(r.status, code)
            self.assertTrue(r.getheader("Content-Type").startswith("text/html"))
            self.assertIn(f"<title>{code} ".encode(), data)

    def test_garbage_zlib_has_a_zlib_header_but_does_not_inflate(self):
        p = self.start("--mode", "garbage-zlib")
        r, data = p.post(zlib.compress(PROLOG))
        self.assertEqual(r.status, 200)
        self.assertEqual(data[:2], b"\x78\x9c")
        with self.assertRaises(zlib.error):
            zlib.decompress(data)

    def test_truncated_zlib_is_well_framed_but_the_stream_ends_early(self):
        p = self.start("--mode", "truncated-zlib")
        r, data = p.post(zlib.compress(PROLOG))
        self.assertEqual(r.status, 200)
        self.assertEqual(int(r.getheader("Content-Length")), len(data))
        d = zlib.decompressobj()
        partial = d.decompress(data)
        self.assertFalse(d.eof)
        self.assertNotIn(b"</REPLY>", partial)
        with self.assertRaises(zlib.error):
            zlib.decompress(data)

    def test_zlib_bomb_inflates_past_one_gigabyte(self):
        p = self.start("--mode", "zlib-bomb")
        r, data = p.post(zlib.compress(PROLOG), timeout=120)
        self.assertEqual(r.status, 200)
        self.assertLess(len(data), 2 * 1024 * 1024)
        d = zlib.decompressobj()
        total, buf = 0, data
        first = d.decompress(buf, 4096)
        total += len(first)
        self.assertTrue(first.startswith(b"<?xml"))
        buf = d.unconsumed_tail
        while buf or not d.eof:
            out = d.decompress(buf, 16 * 1024 * 1024)
            if not out and not d.unconsumed_tail:
                break
            total += len(out)
            buf = d.unconsumed_tail
        self.assertTrue(d.eof)
        self.assertGreater(total, 10 ** 9)
        self.assertEqual(total, 1 << 30)

    def test_deep_xml_nests_ten_thousand_elements(self):
        p = self.start("--mode", "deep-xml")
        r, data = p.post(zlib.compress(PROLOG))
        xml = zlib.decompress(data).decode()
        depth = best = 0
        for m in re.finditer(r"<(/?)DEEP>", xml):
            depth += -1 if m.group(1) else 1
            best = max(best, depth)
        self.assertEqual(best, 10000)
        self.assertTrue(xml.rstrip().endswith("<RESPONSE>SEND</RESPONSE></REPLY>"))

    def test_many_headers_sends_ten_thousand_headers_and_a_valid_body(self):
        p = self.start("--mode", "many-headers")
        s = self.exchange(p)
        status, headers, body = split_head(read_until_close(s))
        s.close()
        self.assertEqual(status, "HTTP/1.1 200 OK")
        self.assertEqual(len([h for h in headers if h[0].startswith("X-Fake-Header-")]), 10000)
        self.assertIn(b"SEND", zlib.decompress(body))

    def test_huge_length_announces_a_terabyte_and_sends_a_few_bytes(self):
        p = self.start("--mode", "huge-length")
        s = self.exchange(p)
        status, headers, body = split_head(read_until_close(s))
        s.close()
        self.assertEqual(header(headers, "Content-Length"), [str(10 ** 12)])
        self.assertTrue(0 < len(body) <= 16)

    def test_slow_drip_sends_one_byte_per_interval(self):
        p = self.start("--mode", "slow-drip")
        s = self.exchange(p)
        times = []
        for _ in range(3):
            self.assertEqual(len(s.recv(10)), 1)
            times.append(time.time())
        s.close()
        gaps = [b - a for a, b in zip(times, times[1:])]
        self.assertTrue(all(0.8 < g < 1.5 for g in gaps), gaps)
        closed = p.wait_entries("client_closed", 1, timeout=5)[0]
        self.assertLessEqual(closed["bytes_sent"], 4)

    def test_slow_drip_ends_in_a_complete_reply(self):
        p = self.start("--mode", "slow-drip", "--drip-interval", "0.001")
        r, data = p.post(zlib.compress(PROLOG), timeout=30)
        self.assertIn(b"SEND", zlib.decompress(data))
        self.assertEqual(p.wait_entries("drip_done", 1)[0]["event"], "drip_done")

    def test_chunked_reply_is_valid_and_the_connection_stays_open(self):
        p = self.start("--mode", "chunked")
        c = http.client.HTTPConnection("127.0.0.1", p.port, timeout=5)
        for _ in range(2):  # the same connection serves a second request
            c.request("POST", "/ocsinventory", body=zlib.compress(PROLOG),
                      headers={"Content-Type": "application/x-compress"})
            r = c.getresponse()
            self.assertEqual(r.getheader("Transfer-Encoding"), "chunked")
            self.assertIsNone(r.getheader("Content-Length"))
            self.assertIn(b"SEND", zlib.decompress(r.read()))
        c.close()
        self.assertEqual(len({e["peer"] for e in p.wait_entries("request", 2)}), 1)
        # Framing seen raw: several chunks, then the 0 chunk, and no close afterwards.
        s = self.exchange(p, timeout=1)
        raw = b""
        with self.assertRaises(socket.timeout):
            while True:
                chunk = s.recv(65536)
                self.assertTrue(chunk, "server closed the connection after a chunked reply")
                raw += chunk
        s.close()
        self.assertTrue(raw.endswith(b"\r\n0\r\n\r\n"))
        self.assertIn(b"\r\n1\r\nx\r\n7\r\n", raw)

    def test_http10_close_reply_is_delimited_by_close(self):
        p = self.start("--mode", "http10-close")
        s = self.exchange(p)
        status, headers, body = split_head(read_until_close(s))
        s.close()
        self.assertEqual(status, "HTTP/1.0 200 OK")
        self.assertEqual(header(headers, "Content-Length"), [])
        self.assertIn(b"SEND", zlib.decompress(body))

    def test_fault_on_inventory_spares_prolog_and_fault_count_limits_it(self):
        p = self.start("--mode", "status500", "--fault-on", "inventory", "--fault-count", "1")
        self.assertEqual(p.post(zlib.compress(PROLOG))[0].status, 200)
        self.assertEqual(p.post(zlib.compress(INVENTORY))[0].status, 500)
        self.assertEqual(p.post(zlib.compress(INVENTORY))[0].status, 200)
        with open(p.counts) as f:
            counts = json.load(f)
        self.assertEqual((counts["inventory"], counts["faulted"], counts["total"]), (2, 1, 3))
        entries = p.wait_entries("request", 3)
        self.assertEqual([(e["kind"], e["status"]) for e in entries],
                         [("prolog", 200), ("inventory", 500), ("inventory", 200)])
        self.assertEqual(len(os.listdir(p.save)), 2)


if __name__ == "__main__":
    unittest.main()
