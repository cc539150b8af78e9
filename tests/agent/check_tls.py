#!/usr/bin/env python3
"""TLS and proxies against the real OCS server: Apache's mod_ssl in front of it with a test CA
(tests/peers/tls-up.sh) and tinyproxy for CONNECT tunnels (tests/peers/proxy-up.sh).

--ca-cert-file works, and without it the certificate is refused with a clear error; the right
--ssl-fingerprint works and a wrong one fails; a certificate from another CA fails; the same
through a CONNECT proxy (the proxy's log must show the tunnel), with and without proxy
credentials; the injector takes the same options.

    tests/agent/check_tls.py --binary target/release/uagent   (root: it starts the peers)
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
from lib import Checks, proxy_up, sql, tls_up  # noqa: E402

checks = Checks()
check = checks.true


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    args = ap.parse_args()
    tls = tls_up()
    proxy = proxy_up()
    work = tempfile.mkdtemp(prefix="uagent-tls-")
    n = [0]

    def agent(url, *extra):
        n[0] += 1
        vardir = os.path.join(work, f"v{n[0]}")
        p = subprocess.run([args.binary, "--server", url, "--vardir", vardir, "--force", "--timeout", "20",
                            "--no-category", "software,process,drive", *extra],
                           capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL, env={"PATH": os.environ["PATH"]})
        did = open(os.path.join(vardir, "deviceid")).read().strip() if os.path.exists(os.path.join(vardir, "deviceid")) else ""
        return p.returncode, p.stderr, did

    def stored(did):
        return len(sql(f"SELECT ID FROM hardware WHERE DEVICEID='{did}'")) == 1

    def log_size(path):
        return os.path.getsize(path) if os.path.exists(path) else 0

    try:
        url, ca, fp, wrong = tls["TLS_URL"], tls["TLS_CA"], tls["TLS_FINGERPRINT_SHA256"], tls["TLS_WRONG_FINGERPRINT_SHA256"]
        for label, via in (("direct", []), ("through the CONNECT proxy", ["--proxy", proxy["PROXY_URL"]]),
                           ("through the proxy with credentials", ["--proxy", proxy["PROXY_AUTH_URL_WITH_CREDENTIALS"]])):
            print(f"== {label}")
            plog = proxy["PROXY_AUTH_LOG"] if "credentials" in label else proxy["PROXY_LOG"]
            start = log_size(plog)
            code, err, did = agent(url, "--ca-cert-file", ca, *via)
            check("--ca-cert-file: exit 0", code == 0, err[-400:])
            check("--ca-cert-file: stored by the server", code == 0 and stored(did))
            if via:
                seen = open(plog, errors="replace").read()[start:]
                check("the proxy tunnelled it (CONNECT 127.0.0.1:8443 in its log)", "CONNECT" in seen and "8443" in seen, seen[-300:])
            code, err, _ = agent(url, *via)
            check("no CA: exit 3 and a certificate error", code == 3 and "not trusted" in err, f"{code}: {err[-300:]}")
            code, err, did = agent(url, "--ssl-fingerprint", fp, *via)
            check("right --ssl-fingerprint: exit 0 and stored", code == 0 and stored(did), f"{code}: {err[-300:]}")
            code, err, _ = agent(url, "--ssl-fingerprint", wrong, *via)
            check("wrong --ssl-fingerprint: exit 3 and says so", code == 3 and "fingerprint" in err, f"{code}: {err[-300:]}")
            code, err, _ = agent(tls["TLS_WRONGCA_URL"], "--ca-cert-file", ca, *via)
            check("certificate from another CA: refused", code == 3 and "not trusted" in err, f"{code}: {err[-300:]}")
        print("== localhost name, --ca-cert-dir, --no-ssl-check")
        cadir = os.path.join(work, "cadir")
        os.makedirs(cadir)
        shutil.copy(ca, os.path.join(cadir, "test-ca.pem"))
        code, err, did = agent(tls["TLS_URL_LOCALHOST"], "--ca-cert-dir", cadir)
        check("https://localhost with --ca-cert-dir: exit 0 and stored", code == 0 and stored(did), f"{code}: {err[-300:]}")
        code, err, did = agent(url, "--no-ssl-check")
        check("--no-ssl-check: exit 0", code == 0, err[-300:])
        check("--no-ssl-check: loudly logged", "NOT verified" in err, err[-300:])
        print("== the injector over TLS through the proxy")
        f = os.path.join(work, "inv.xml")
        subprocess.run([args.binary, "inventory", "--vardir", os.path.join(work, "vi"), "--output", f, "--no-category", "software,process"],
                       check=True, capture_output=True)
        did = ET.parse(f).getroot().findtext("DEVICEID")
        p = subprocess.run([args.binary, "inject", "--file", f, "--url", url, "--ca-cert-file", ca, "--proxy", proxy["PROXY_URL"]],
                           capture_output=True, text=True, timeout=60, env={"PATH": os.environ["PATH"]})
        check("inject: exit 0 and stored", p.returncode == 0 and stored(did), p.stderr[-300:])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return checks.done("tls")


if __name__ == "__main__":
    sys.exit(main())
