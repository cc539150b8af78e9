#!/bin/bash
# HTTP proxies for uagent's proxy tests: private tinyproxy instances on loopback (root, idempotent).
#
#   http://127.0.0.1:8888  open proxy: plain HTTP forwarding + CONNECT to ports 443, 8443, 8444
#   http://127.0.0.1:8889  same, but requires Basic auth (407 without credentials)
# Each instance has its own config, pid and log file in the state dir (never the system
# /etc/tinyproxy one), runs without systemd (`tinyproxy -c CONF`), only accepts 127.0.0.1, and
# logs every request line, so a test can prove its request went through the proxy. Forwarded
# plain-HTTP requests also carry `Via: 1.1 uagent-proxy…` and `X-Tinyproxy: <client ip>`.
#
# Usage: tests/peers/proxy-up.sh [--dir DIR] [--no-auth]   start (or verify), print KEY=VALUE lines
#        tests/peers/proxy-up.sh --stop                    stop both instances (by their pid files)
#        tests/peers/proxy-up.sh --remove                  stop, then delete the state dir
# Environment: UAGENT_PROXY_DIR (/tmp/uagent-proxy), UAGENT_PROXY_PORT (8888),
#   UAGENT_PROXY_AUTH_PORT (8889), UAGENT_PROXY_USER (uagent), UAGENT_PROXY_PASSWORD (proxy-secret),
#   UAGENT_PROXY_CONNECT_PORTS ("443 8443 8444").
# stdout carries only the KEY=VALUE lines (also written to $DIR/proxy.env); progress goes to stderr.
set -euo pipefail

STATE=${UAGENT_PROXY_DIR:-/tmp/uagent-proxy}
PORT=${UAGENT_PROXY_PORT:-8888}
AUTH_PORT=${UAGENT_PROXY_AUTH_PORT:-8889}
USER_NAME=${UAGENT_PROXY_USER:-uagent}
PASSWORD=${UAGENT_PROXY_PASSWORD:-proxy-secret}
CONNECT_PORTS=${UAGENT_PROXY_CONNECT_PORTS:-443 8443 8444}
ACTION=up AUTH=1
while [ $# -gt 0 ]; do
  case "$1" in
    --dir) STATE=$2; shift 2 ;;
    --dir=*) STATE=${1#--dir=}; shift ;;
    --no-auth) AUTH=0; shift ;;
    --stop) ACTION=stop; shift ;;
    --remove) ACTION=remove; shift ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    *) echo "proxy-up.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
log() { echo "[proxy-up] $*" >&2; }
die() { log "ERROR: $*"; exit 1; }
[ "$(id -u)" = 0 ] || die "run as root"

pid_of() {  # pid_of NAME -> pid on stdout when that instance is alive
  local f="$STATE/$1.pid" p
  [ -s "$f" ] || return 1
  p=$(cat "$f")
  kill -0 "$p" 2>/dev/null || return 1
  # a recycled pid is not ours: the process must be tinyproxy with our config
  tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null | grep -qF "$STATE/$1.conf" || return 1
  echo "$p"
}
stop_one() {  # stop_one NAME
  local p
  p=$(pid_of "$1") || return 0
  log "stopping $1 (pid $p)"
  kill "$p"
  for _ in $(seq 1 40); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$p" 2>/dev/null && kill -9 "$p"
  rm -f "$STATE/$1.pid"
}

if [ "$ACTION" != up ]; then
  stop_one proxy
  stop_one proxy-auth
  [ "$ACTION" = remove ] && rm -rf "$STATE"
  log "$ACTION done"
  exit 0
fi

# ---------------------------------------------------------------- 1. package
export DEBIAN_FRONTEND=noninteractive
if ! command -v tinyproxy >/dev/null; then
  log "installing tinyproxy"
  apt-get install -y -qq --no-install-recommends tinyproxy >/dev/null 2>&1 ||
    { apt-get update -qq && apt-get install -y -qq --no-install-recommends tinyproxy >/dev/null; }
  # Under systemd the package starts its own instance on 8888 (all interfaces): not wanted here.
  if [ -d /run/systemd/system ] && systemctl is-active -q tinyproxy 2>/dev/null; then
    log "stopping and disabling the system tinyproxy service (it takes port 8888)"
    systemctl stop tinyproxy; systemctl disable -q tinyproxy
  fi
fi
id tinyproxy >/dev/null 2>&1 || die "user tinyproxy missing (the Debian package creates it)"
# ss (iproute2) tells whether a port is taken and when an instance listens: without it every
# start would look like a failure.
if ! command -v ss >/dev/null; then
  log "installing iproute2 (ss)"
  apt-get install -y -qq --no-install-recommends iproute2 >/dev/null 2>&1 ||
    { apt-get update -qq && apt-get install -y -qq --no-install-recommends iproute2 >/dev/null; }
fi

# ---------------------------------------------------------------- 2. instances
install -d -m 755 -o tinyproxy -g tinyproxy "$STATE"
conf() {  # conf NAME PORT [auth]
  cat <<EOF
# Written by uagent tests/peers/proxy-up.sh; private instance "$1".
User tinyproxy
Group tinyproxy
Listen 127.0.0.1
Port $2
Timeout 120
MaxClients 50
Allow 127.0.0.1
LogFile "$STATE/$1.log"
LogLevel Info
PidFile "$STATE/$1.pid"
ViaProxyName "uagent-$1"
XTinyproxy Yes
EOF
  for p in $CONNECT_PORTS; do echo "ConnectPort $p"; done
  [ "${3:-}" = auth ] && echo "BasicAuth $USER_NAME $PASSWORD"
  return 0
}
start_one() {  # start_one NAME PORT [auth]
  local name=$1 port=$2 new
  new=$(conf "$@")
  if pid_of "$name" >/dev/null && [ "$(cat "$STATE/$name.conf" 2>/dev/null)" = "$new" ]; then
    log "$name already running on 127.0.0.1:$port (pid $(pid_of "$name"))"
    return 0
  fi
  stop_one "$name"
  printf '%s\n' "$new" > "$STATE/$name.conf"
  touch "$STATE/$name.log"; chown tinyproxy:tinyproxy "$STATE/$name.log"; chmod 644 "$STATE/$name.log"
  if ss -ltn "sport = :$port" 2>/dev/null | grep -q LISTEN; then
    die "port $port is taken by another process: $(ss -ltnp "sport = :$port" | tail -n +2)"
  fi
  log "starting $name on 127.0.0.1:$port"
  tinyproxy -c "$STATE/$name.conf"  # daemonizes; writes the pid file
  for _ in $(seq 1 50); do
    pid_of "$name" >/dev/null && ss -ltn "sport = :$port" | grep -q LISTEN && return 0
    sleep 0.1
  done
  tail -5 "$STATE/$name.log" >&2
  die "$name did not start"
}
start_one proxy "$PORT"
if [ "$AUTH" = 1 ]; then start_one proxy-auth "$AUTH_PORT" auth; else stop_one proxy-auth; fi

# ---------------------------------------------------------------- 3. verify
# Plain HTTP forwarding, through to the real OCS server when it runs, else to a throwaway listener.
target="http://127.0.0.1/ocsinventory"
if ! curl -s -o /dev/null --max-time 3 "$target" 2>/dev/null; then
  target=""
fi
probe_http() {  # probe_http PROXYURL [curl args] -> HTTP status on stdout
  local proxy=$1; shift
  if [ -n "$target" ]; then
    curl -s -o /dev/null -w '%{http_code}' --max-time 10 -x "$proxy" "$@" "$target"
  else  # nothing listens on 127.0.0.1:9 (discard): the proxy itself answers, proving it forwarded
    curl -s -o /dev/null -w '%{http_code}' --max-time 10 -x "$proxy" "$@" "http://127.0.0.1:9/uagent-proxy-probe"
  fi
}
marker="uagent-proxy-probe-$$"
code=$(probe_http "http://127.0.0.1:$PORT" -A "$marker" || true)
case "$code" in
  200|400|500|502|503) ;;  # OCS answers a GET with 400; tinyproxy says 500/502/503 when the target is down
  *) die "plain HTTP through http://127.0.0.1:$PORT gave status '$code'" ;;
esac
grep -q "$( [ -n "$target" ] && echo 'GET http://127.0.0.1/ocsinventory' || echo 'uagent-proxy-probe')" "$STATE/proxy.log" ||
  die "the request is not in $STATE/proxy.log"
log "plain HTTP via proxy ok (status $code, logged in $STATE/proxy.log)"
if ss -ltn "sport = :8443" | grep -q LISTEN && [ -s /tmp/uagent-tls/ca.pem ]; then
  curl -s -o /dev/null --max-time 10 -x "http://127.0.0.1:$PORT" --cacert /tmp/uagent-tls/ca.pem \
    https://127.0.0.1:8443/ocsinventory || die "CONNECT to 127.0.0.1:8443 through the proxy failed"
  grep -q 'CONNECT 127.0.0.1:8443' "$STATE/proxy.log" || die "CONNECT not logged"
  log "CONNECT to the TLS endpoint via proxy ok"
fi
# A port outside ConnectPort is refused (403) — curl reports the failed tunnel.
code=$(curl -s -o /dev/null -w '%{http_connect}' --max-time 10 -p -x "http://127.0.0.1:$PORT" http://127.0.0.1:80/ || true)
[ "$code" = 403 ] || die "CONNECT to port 80 should be refused with 403, got '$code'"
if [ "$AUTH" = 1 ]; then
  code=$(probe_http "http://127.0.0.1:$AUTH_PORT" || true)
  [ "$code" = 407 ] || die "auth proxy without credentials: status '$code', expected 407"
  code=$(probe_http "http://127.0.0.1:$AUTH_PORT" -U "$USER_NAME:$PASSWORD" || true)
  [ "$code" != 407 ] && [ -n "$code" ] || die "auth proxy with credentials: status '$code'"
  log "auth proxy: 407 without credentials, $code with them"
fi

# ---------------------------------------------------------------- 4. report
{
  echo "PROXY_URL=http://127.0.0.1:$PORT"
  echo "PROXY_LOG=$STATE/proxy.log"
  echo "PROXY_PID=$(pid_of proxy)"
  echo "PROXY_CONNECT_PORTS=$(echo $CONNECT_PORTS | tr ' ' ',')"
  if [ "$AUTH" = 1 ]; then
    echo "PROXY_AUTH_URL=http://127.0.0.1:$AUTH_PORT"
    echo "PROXY_AUTH_URL_WITH_CREDENTIALS=http://$USER_NAME:$PASSWORD@127.0.0.1:$AUTH_PORT"
    echo "PROXY_AUTH_USER=$USER_NAME"
    echo "PROXY_AUTH_PASSWORD=$PASSWORD"
    echo "PROXY_AUTH_LOG=$STATE/proxy-auth.log"
    echo "PROXY_AUTH_PID=$(pid_of proxy-auth)"
  fi
} > "$STATE/proxy.env.tmp"
mv "$STATE/proxy.env.tmp" "$STATE/proxy.env"
cat "$STATE/proxy.env"
