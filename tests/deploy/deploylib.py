"""What the deploy tests share: a test CA and a certificate for 127.0.0.1, OCS packages built
the way ocsreports builds them (tar.gz split in fragments, an info file with the MD5), a second
Apache instance of our own that serves /download over HTTP and HTTPS (the stock Apache and its
configuration are not touched), and reading the agent's deploy state.

Standard library only, plus the openssl and apache2 commands.
"""
import hashlib
import io
import os
import subprocess
import sys
import tarfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
from lib import free_port, wait_for  # noqa: E402

APACHE_MODULES = "/usr/lib/apache2/modules"


def make_ca(work):
    """A CA and a server certificate for 127.0.0.1 and localhost; (ca.pem, cert.pem, key.pem)."""
    d = os.path.join(work, "tls")
    os.makedirs(d, exist_ok=True)
    ca_key, ca, key, csr, cert, ext = (os.path.join(d, n) for n in ("ca.key", "ca.pem", "server.key", "server.csr", "server.pem", "ext.cnf"))
    run = lambda *a: subprocess.run(a, check=True, capture_output=True)
    run("openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", ca_key)
    run("openssl", "req", "-x509", "-new", "-key", ca_key, "-subj", "/CN=uagent deploy test CA", "-days", "2",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign", "-out", ca)
    run("openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key)
    run("openssl", "req", "-new", "-key", key, "-subj", "/CN=127.0.0.1", "-out", csr)
    with open(ext, "w") as f:
        f.write("basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n"
                "subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    run("openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial", "-days", "2", "-extfile", ext, "-out", cert)
    for f in (ca, cert):
        os.chmod(f, 0o644)
    return ca, cert, key


def tar_gz(files, hostile=()):
    """A .tar.gz of {name: (bytes, mode)}; `hostile` adds raw TarInfo names (`../x`)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", format=tarfile.GNU_FORMAT) as t:
        for name, (data, mode) in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = mode
            info.mtime = int(time.time())
            t.addfile(info, io.BytesIO(data))
        for name in hostile:
            info = tarfile.TarInfo(name)
            data = b"escaped\n"
            info.size = len(data)
            info.mode = 0o644
            t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def info_xml(pkg_id, act, value, frags, digest, pri=5, algo="MD5", encode="Hexa", proto="HTTP"):
    """An info file as ocsreports' PackageBuilder writes it."""
    key = {"STORE": "PATH", "EXECUTE": "COMMAND", "LAUNCH": "NAME"}[act]
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<DOWNLOAD ID="{pkg_id}" PRI="{pri}" ACT="{act}" DIGEST="{digest}" '
            f'PROTO="{proto}" FRAGS="{frags}" DIGEST_ALGO="{algo}" DIGEST_ENCODE="{encode}" {key}="{value}" NOTIFY_USER="0" '
            f'NOTIFY_TEXT="" NOTIFY_COUNTDOWN="" NOTIFY_CAN_ABORT="0" NOTIFY_CAN_DELAY="0" NEED_DONE_ACTION="0" '
            f'NEED_DONE_ACTION_TEXT="" GARDEFOU="rien" />\n')


def write_package(dl, pkg_id, archive, frags, act, value, digest=None, info=True, **kw):
    """Writes <dl>/<ID>/info and <ID>-1..N (nearly equal byte ranges, as ocsreports splits)."""
    d = os.path.join(dl, str(pkg_id))
    os.makedirs(d, exist_ok=True)
    size = len(archive)
    step = -(-size // frags) if frags else 0
    for n in range(frags):
        with open(os.path.join(d, f"{pkg_id}-{n + 1}"), "wb") as f:
            f.write(archive[n * step:(n + 1) * step])
    if info:
        with open(os.path.join(d, "info"), "w") as f:
            f.write(info_xml(pkg_id, act, value, frags, digest or hashlib.md5(archive).hexdigest(), **kw))
    for root, dirs, files in os.walk(d):
        for x in dirs:
            os.chmod(os.path.join(root, x), 0o755)
        for x in files:
            os.chmod(os.path.join(root, x), 0o644)
    os.chmod(d, 0o755)


class Apache:
    """A second Apache instance (own config, pid file, ports and logs) serving `dl` at /download
    on HTTP and HTTPS. The stock instance, the OCS server's, is left as it is."""

    def __init__(self, work, dl, cert, key):
        self.dir = os.path.join(work, "apache")
        for sub in ("run", "logs", "htdocs"):
            os.makedirs(os.path.join(self.dir, sub), exist_ok=True)
        self.http = free_port()
        self.https = free_port()
        self.conf = os.path.join(self.dir, "httpd.conf")
        self.access_log = os.path.join(self.dir, "logs", "access.log")
        self.pidfile = os.path.join(self.dir, "run", "httpd.pid")
        m = APACHE_MODULES
        with open(self.conf, "w") as f:
            f.write(f"""ServerRoot /etc/apache2
ServerName 127.0.0.1
PidFile {self.pidfile}
Mutex file:{self.dir}/run default
DefaultRuntimeDir {self.dir}/run
LoadModule mpm_event_module {m}/mod_mpm_event.so
LoadModule authz_core_module {m}/mod_authz_core.so
LoadModule alias_module {m}/mod_alias.so
LoadModule mime_module {m}/mod_mime.so
LoadModule socache_shmcb_module {m}/mod_socache_shmcb.so
LoadModule ssl_module {m}/mod_ssl.so
StartServers 1
ServerLimit 2
ThreadsPerChild 8
MaxRequestWorkers 16
User www-data
Group www-data
TypesConfig /etc/mime.types
ErrorLog {self.dir}/logs/error.log
LogLevel warn
LogFormat "%h %t \\"%r\\" %>s %b port=%{{local}}p" deploylog
CustomLog {self.access_log} deploylog
Listen 127.0.0.1:{self.http}
Listen 127.0.0.1:{self.https}
DocumentRoot {self.dir}/htdocs
<Directory />
  Require all denied
</Directory>
Alias /download {dl}
<Directory {dl}>
  Require all granted
</Directory>
<VirtualHost 127.0.0.1:{self.https}>
  SSLEngine on
  SSLCertificateFile {cert}
  SSLCertificateKeyFile {key}
</VirtualHost>
""")

    def start(self):
        subprocess.run(["apache2", "-f", self.conf, "-k", "start"], check=True, capture_output=True)
        if not wait_for(lambda: os.path.exists(self.pidfile), 15):
            raise RuntimeError(f"apache2 -f {self.conf} did not start: {open(os.path.join(self.dir, 'logs', 'error.log')).read()[-800:]}")

    def stop(self):
        if os.path.exists(self.pidfile):
            subprocess.run(["apache2", "-f", self.conf, "-k", "stop"], capture_output=True)
            wait_for(lambda: not os.path.exists(self.pidfile), 15)

    def requests(self):
        """(path, status, port) of every request so far."""
        out = []
        if os.path.exists(self.access_log):
            for line in open(self.access_log):
                try:
                    req = line.split('"')[1]
                    status = line.split('"')[2].split()[0]
                    port = int(line.rsplit("port=", 1)[1])
                    out.append((req.split()[1], status, port))
                except (IndexError, ValueError):
                    continue
        return out
