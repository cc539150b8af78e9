#!/bin/bash
# TLS in front of the real OCS server, for uagent's https tests (loopback only, root, idempotent).
#
# Makes a test CA and a server certificate for 127.0.0.1/localhost, plus a second certificate
# from a different CA, and has Apache (the OCS server's, tests/ocs/server-up.sh) serve the same
# /ocsinventory over TLS:
#   https://127.0.0.1:8443/ocsinventory  certificate from the test CA   (TLS_CA)
#   https://127.0.0.1:8444/ocsinventory  certificate from another CA    (TLS_WRONGCA_CA)
# Apache is restarted only when its configuration changed. A real zlib PROLOG over TLS checks it.
#
# Usage: tests/peers/tls-up.sh [--dir DIR]      set up (or just verify), print KEY=VALUE lines
#        tests/peers/tls-up.sh --stop           stop serving TLS (site disabled, files kept)
#        tests/peers/tls-up.sh --remove         undo everything (site, mod_ssl if we enabled it,
#                                               ports.conf edit, certificates, state dir)
# Environment: UAGENT_TLS_DIR (default /tmp/uagent-tls), UAGENT_TLS_PORT (8443),
#              UAGENT_TLS_WRONG_PORT (8444), UAGENT_TLS_KEY=ec|rsa (ec = P-256, default).
# stdout carries only the KEY=VALUE lines (also written to $DIR/tls.env); progress goes to stderr.
set -euo pipefail

STATE=${UAGENT_TLS_DIR:-/tmp/uagent-tls}
PORT=${UAGENT_TLS_PORT:-8443}
WRONG_PORT=${UAGENT_TLS_WRONG_PORT:-8444}
KEYTYPE=${UAGENT_TLS_KEY:-ec}
ACTION=up
while [ $# -gt 0 ]; do
  case "$1" in
    --dir) STATE=$2; shift 2 ;;
    --dir=*) STATE=${1#--dir=}; shift ;;
    --stop) ACTION=stop; shift ;;
    --remove) ACTION=remove; shift ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    *) echo "tls-up.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

here=$(cd "$(dirname "$0")" && pwd)
# Apache reads its own copy, so a cleaned /tmp never leaves it with a config it cannot load.
ADIR=/etc/apache2/uagent-tls
SITE=uagent-tls
SITE_FILE=/etc/apache2/sites-available/$SITE.conf
PORTS=/etc/apache2/ports.conf
PORTS_MARK='# uagent tls-up.sh: was "Listen 443" (all interfaces); TLS is on loopback only, see sites-available/uagent-tls.conf'
log() { echo "[tls-up] $*" >&2; }
die() { log "ERROR: $*"; exit 1; }
[ "$(id -u)" = 0 ] || die "run as root"
have_systemd() { [ -d /run/systemd/system ]; }
apache_running() { [ -f /run/apache2/apache2.pid ] && kill -0 "$(cat /run/apache2/apache2.pid)" 2>/dev/null; }
a2q() { "$@" 2>&1 | grep -vE 'already|^To activate|systemctl|^$|^Enabling|^Considering' >&2 || true; }

restart_apache() {
  apache2ctl configtest >/dev/null 2>&1 || { apache2ctl configtest >&2 || true; die "apache config invalid"; }
  if have_systemd; then systemctl restart apache2; return; fi
  if apache_running; then
    log "restarting apache2 (config changed)"
    apache2ctl stop
    for _ in $(seq 1 40); do apache_running || break; sleep 0.25; done
  fi
  # The parent removes its pid file before the listening sockets are gone: starting at once
  # failed now and then with "Address already in use" (about one restart in three here). Wait
  # for its processes and its ports, and try again if the start still loses that race.
  local try
  for try in 1 2 3; do
    for _ in $(seq 1 60); do
      if ! pgrep -x apache2 >/dev/null && ! ss -ltn 2>/dev/null | grep -qE "127\.0\.0\.1:(80|$PORT|$WRONG_PORT) "; then break; fi
      sleep 0.25
    done
    if apache2ctl start >&2; then return 0; fi
    log "apache2 did not start (try $try of 3)"
    sleep 2
  done
  die "apache2 does not start: see /var/log/apache2/error.log"
}

# ---------------------------------------------------------------- stop / remove
if [ "$ACTION" != up ]; then
  changed=0
  if [ -e /etc/apache2/sites-enabled/$SITE.conf ]; then a2q a2dissite -q $SITE; changed=1; fi
  if [ "$ACTION" = remove ]; then
    if [ -e "$ADIR/enabled-mod-ssl" ] && [ -e /etc/apache2/mods-enabled/ssl.load ]; then
      a2q a2dismod -q ssl; changed=1
    fi
    if grep -qF "$PORTS_MARK" $PORTS; then
      sed -i "s|^\(\s*\)$(printf '%s' "$PORTS_MARK" | sed 's/[][\.*^$|/]/\\&/g')$|\1Listen 443|" $PORTS
      changed=1
    fi
    rm -f "$SITE_FILE"
    rm -rf "$ADIR" "$STATE"
  fi
  if [ "$changed" = 1 ] && apache_running; then restart_apache; fi
  log "$ACTION done"
  exit 0
fi

# ---------------------------------------------------------------- 1. the OCS server itself
if ! apache_running || [ ! -e /etc/apache2/conf-enabled/ocsinventory-server.conf ]; then
  log "OCS server not running: starting it with tests/ocs/server-up.sh"
  bash "$here/../ocs/server-up.sh" >&2
fi
command -v openssl >/dev/null || die "openssl not found"

# ---------------------------------------------------------------- 2. certificates
mkdir -p "$STATE"
chmod 755 "$STATE"
newkey() {  # newkey FILE
  case "$KEYTYPE" in
    ec) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null ;;
    rsa) openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1" 2>/dev/null ;;
    *) die "UAGENT_TLS_KEY must be ec or rsa" ;;
  esac
  chmod 600 "$1"
}
make_ca() {  # make_ca NAME CN
  local name=$1 cn=$2
  newkey "$STATE/$name.key"
  cat > "$STATE/$name.ext" <<EOF
[req]
distinguished_name = dn
prompt = no
[dn]
CN = $cn
O = uagent tests
[ext]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
EOF
  openssl req -x509 -new -key "$STATE/$name.key" -config "$STATE/$name.ext" -extensions ext \
    -days 3650 -set_serial "0x$(openssl rand -hex 16)" -sha256 -out "$STATE/$name.pem"
  chmod 644 "$STATE/$name.pem"
}
make_leaf() {  # make_leaf NAME CA
  local name=$1 ca=$2 ku=digitalSignature
  [ "$KEYTYPE" = rsa ] && ku="digitalSignature, keyEncipherment"
  newkey "$STATE/$name.key"
  cat > "$STATE/$name.ext" <<EOF
[req]
distinguished_name = dn
prompt = no
[dn]
CN = 127.0.0.1
O = uagent tests
[ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, $ku
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid, issuer
EOF
  openssl req -new -key "$STATE/$name.key" -config "$STATE/$name.ext" -out "$STATE/$name.csr"
  openssl x509 -req -in "$STATE/$name.csr" -CA "$STATE/$ca.pem" -CAkey "$STATE/$ca.key" \
    -set_serial "0x$(openssl rand -hex 16)" -days 825 -sha256 \
    -extfile "$STATE/$name.ext" -extensions ext -out "$STATE/$name.pem" 2>/dev/null
  chmod 644 "$STATE/$name.pem"
  rm -f "$STATE/$name.csr"
}
pair_ok() {  # pair_ok CA LEAF: files present, valid for a day more, leaf signed by CA, SAN right
  local ca=$1 leaf=$2 f
  for f in $ca.key $ca.pem $leaf.key $leaf.pem; do [ -s "$STATE/$f" ] || return 1; done
  openssl x509 -in "$STATE/$ca.pem" -noout -checkend 86400 >/dev/null || return 1
  openssl x509 -in "$STATE/$leaf.pem" -noout -checkend 86400 >/dev/null || return 1
  openssl verify -CAfile "$STATE/$ca.pem" "$STATE/$leaf.pem" >/dev/null 2>&1 || return 1
  openssl x509 -in "$STATE/$leaf.pem" -noout -ext subjectAltName 2>/dev/null | grep -q 'IP Address:127.0.0.1' || return 1
  # the leaf must carry the key next to it
  [ "$(openssl x509 -in "$STATE/$leaf.pem" -noout -pubkey)" = "$(openssl pkey -in "$STATE/$leaf.key" -pubout)" ]
}
if ! pair_ok ca server; then log "making test CA and server certificate in $STATE"; make_ca ca "uagent test CA"; make_leaf server ca; fi
if ! pair_ok wrong-ca wrong-server; then log "making the other CA and its certificate"; make_ca wrong-ca "uagent WRONG test CA"; make_leaf wrong-server wrong-ca; fi

# ---------------------------------------------------------------- 3. apache
changed=0
install -d -m 755 "$ADIR"
for f in server.pem wrong-server.pem; do
  cmp -s "$STATE/$f" "$ADIR/$f" || { install -m 644 "$STATE/$f" "$ADIR/$f"; changed=1; }
done
for f in server.key wrong-server.key; do
  cmp -s "$STATE/$f" "$ADIR/$f" || { install -m 600 "$STATE/$f" "$ADIR/$f"; changed=1; }
done
if [ ! -e /etc/apache2/mods-enabled/ssl.load ]; then
  a2q a2enmod -q ssl; touch "$ADIR/enabled-mod-ssl"; changed=1
fi
# Debian's ports.conf opens 443 on every interface as soon as mod_ssl is on: keep to loopback.
if sed -n '/<IfModule ssl_module>/,/<\/IfModule>/p' $PORTS | grep -qE '^\s*Listen 443\s*$'; then
  sed -i "/<IfModule ssl_module>/,/<\/IfModule>/ s|^\(\s*\)Listen 443\s*$|\1$PORTS_MARK|" $PORTS
  changed=1
fi
vhost() {  # vhost PORT CERTNAME
  cat <<EOF
<VirtualHost 127.0.0.1:$1>
    ServerName localhost
    SSLEngine on
    SSLCertificateFile $ADIR/$2.pem
    SSLCertificateKeyFile $ADIR/$2.key
    ErrorLog \${APACHE_LOG_DIR}/uagent-tls-error.log
    CustomLog \${APACHE_LOG_DIR}/uagent-tls-access.log "%h %{SSL_PROTOCOL}x %{SSL_CIPHER}x %{local}p \\"%r\\" %>s %b \\"%{User-Agent}i\\""
</VirtualHost>
EOF
}
SITE_CONF="# Written by uagent tests/peers/tls-up.sh (--remove undoes it). TLS in front of the OCS
# server's /ocsinventory, whose mod_perl <Location> is global (conf-enabled/ocsinventory-server.conf).
<IfModule ssl_module>
Listen 127.0.0.1:$PORT https
Listen 127.0.0.1:$WRONG_PORT https
$(vhost "$PORT" server)
$(vhost "$WRONG_PORT" wrong-server)
</IfModule>"
if [ "$(cat "$SITE_FILE" 2>/dev/null)" != "$SITE_CONF" ]; then
  printf '%s\n' "$SITE_CONF" > "$SITE_FILE"; changed=1
fi
[ -e /etc/apache2/sites-enabled/$SITE.conf ] || { a2q a2ensite -q $SITE; changed=1; }
if [ "$changed" = 1 ] || ! apache_running; then restart_apache; else log "apache config unchanged"; fi

# ---------------------------------------------------------------- 4. verify with a real PROLOG
URL="https://127.0.0.1:$PORT/ocsinventory"
WRONG_URL="https://127.0.0.1:$WRONG_PORT/ocsinventory"
prolog() {  # prolog URL CURL-ARGS... -> decompressed reply on stdout; curl's exit status
  local url=$1; shift
  python3 -c 'import sys, zlib; sys.stdout.buffer.write(zlib.compress(b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<REQUEST><DEVICEID>uagent-tls-probe-2000-01-01-00-00-00</DEVICEID><QUERY>PROLOG</QUERY></REQUEST>\n"))' |
    curl -sS --max-time 10 -A OCS-NG_unified_unix_agent_v2.10.0 -H 'Content-Type: application/x-compress' \
      --data-binary @- "$@" "$url" -o "$STATE/probe.reply" || return $?
  python3 -c 'import sys, zlib; sys.stdout.write(zlib.decompress(open(sys.argv[1], "rb").read()).decode())' "$STATE/probe.reply"
}
reply=""
for _ in $(seq 1 40); do
  reply=$(prolog "$URL" --cacert "$STATE/ca.pem" 2>/dev/null) && echo "$reply" | grep -q '<RESPONSE>SEND</RESPONSE>' && break
  reply=""; sleep 0.25
done
[ -n "$reply" ] || { prolog "$URL" --cacert "$STATE/ca.pem" >&2 || true; tail -5 /var/log/apache2/error.log >&2; die "no PROLOG reply over TLS at $URL"; }
log "PROLOG over TLS ok at $URL (--cacert $STATE/ca.pem)"
prolog "https://localhost:$PORT/ocsinventory" --cacert "$STATE/ca.pem" 2>/dev/null | grep -q '<RESPONSE>SEND</RESPONSE>' ||
  die "PROLOG to https://localhost:$PORT failed (DNS:localhost SAN)"
rc=0; prolog "$WRONG_URL" --cacert "$STATE/ca.pem" >/dev/null 2>&1 || rc=$?
[ "$rc" = 60 ] || die "port $WRONG_PORT with the test CA: curl exit $rc, expected 60 (certificate not trusted)"
prolog "$WRONG_URL" --cacert "$STATE/wrong-ca.pem" 2>/dev/null | grep -q '<RESPONSE>SEND</RESPONSE>' ||
  die "PROLOG to $WRONG_URL with its own CA failed"
log "port $WRONG_PORT: rejected with the test CA (curl exit 60), accepted with its own CA"
rm -f "$STATE/probe.reply"

# ---------------------------------------------------------------- 5. report
fp() { openssl x509 -in "$1" -noout -fingerprint -sha256 | sed 's/^.*=//'; }
spki() { openssl x509 -in "$1" -noout -pubkey | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64; }
FP=$(fp "$STATE/server.pem")
WFP=$(fp "$STATE/wrong-server.pem")
# The real fingerprint with its last byte changed: same shape, never matches.
last=${FP: -2}
BADFP="${FP%??}$(printf '%02X' $(( (0x$last + 1) % 256 )))"
hex() { echo "$1" | tr -d ':' | tr 'A-F' 'a-f'; }
{
  echo "TLS_URL=$URL"
  echo "TLS_URL_LOCALHOST=https://localhost:$PORT/ocsinventory"
  echo "TLS_CA=$STATE/ca.pem"
  echo "TLS_CERT=$STATE/server.pem"
  echo "TLS_KEY_FILE=$STATE/server.key"
  echo "TLS_FINGERPRINT_SHA256=$FP"
  echo "TLS_FINGERPRINT_SHA256_HEX=$(hex "$FP")"
  echo "TLS_SPKI_SHA256_BASE64=$(spki "$STATE/server.pem")"
  echo "TLS_WRONG_FINGERPRINT_SHA256=$BADFP"
  echo "TLS_WRONG_FINGERPRINT_SHA256_HEX=$(hex "$BADFP")"
  echo "TLS_WRONGCA_URL=$WRONG_URL"
  echo "TLS_WRONGCA_CA=$STATE/wrong-ca.pem"
  echo "TLS_WRONGCA_CERT=$STATE/wrong-server.pem"
  echo "TLS_WRONGCA_FINGERPRINT_SHA256=$WFP"
  echo "TLS_WRONGCA_FINGERPRINT_SHA256_HEX=$(hex "$WFP")"
  echo "TLS_ACCESS_LOG=/var/log/apache2/uagent-tls-access.log"
} > "$STATE/tls.env.tmp"
mv "$STATE/tls.env.tmp" "$STATE/tls.env"
cat "$STATE/tls.env"
