#!/bin/bash
# Load and soak test of the daemon's HTTP server: 500 idle connections held open (reopened
# when the server drops them) while wrk hammers /status for 30 s. Checks that /status keeps
# answering, that wrk sees no errors beyond timeouts and a real request rate, and that the
# server's RSS and open file descriptors come back once the load is gone.
#
#   bash tests/daemon/load_test.sh http://127.0.0.1:62354 PID
#
# PID is the process serving URL (the daemon: tests/daemon/check_load.sh starts one). Installs Debian's
# wrk when missing. Tunables (environment): IDLE=500 WRK_CONNS=50 WRK_THREADS=2 DURATION=30
# MIN_RPS=1000 RSS_MARGIN_KB=256 HOLDER_RATE=100.
set -euo pipefail

url=${1:?usage: load_test.sh URL PID}
pid=${2:?usage: load_test.sh URL PID}
url=${url%/}
IDLE=${IDLE:-500}
WRK_CONNS=${WRK_CONNS:-50}
WRK_THREADS=${WRK_THREADS:-2}
DURATION=${DURATION:-30}
MIN_RPS=${MIN_RPS:-1000}
HOLDER_RATE=${HOLDER_RATE:-100}
RSS_MARGIN_KB=${RSS_MARGIN_KB:-256}

[ -d "/proc/$pid" ] || { echo "load_test: no process $pid" >&2; exit 2; }
hostport=${url#*://}
hostport=${hostport%%/*}
case $hostport in
  \[*\]:*) host=${hostport%%]*}; host=${host#[}; port=${hostport##*]:} ;;
  *:*) host=${hostport%:*}; port=${hostport##*:} ;;
  *) host=$hostport; port=80 ;;
esac

if ! command -v wrk >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq wrk >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
fi

work=$(mktemp -d)
holder_pid=
wrk_pid=
cleanup() {
  [ -n "$wrk_pid" ] && kill "$wrk_pid" 2>/dev/null || true
  [ -n "$holder_pid" ] && kill "$holder_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
kb() { awk -v k="$1" '$1 == k":" { print $2 }' "/proc/$pid/status"; }
fds() { ls "/proc/$pid/fd" | wc -l; }
mem() { printf '%-8s VmRSS %6s kB  VmHWM %6s kB  fds %4s\n' "$1" "$(kb VmRSS)" "$(kb VmHWM)" "$(fds)"; }
status_ok() {
  local body
  body=$(curl -s --max-time 5 "$url/status") || { fail "$1: curl $url/status failed"; return; }
  case $body in
    "status: "*) echo "$1: /status -> $body" ;;
    *) fail "$1: /status answered '$body'" ;;
  esac
}

# Idle holder: keeps IDLE connections open, half of them silent, half having sent part of a
# request head; a connection the server closes is opened again, at most HOLDER_RATE a second
# (default 100; raise it for a reconnection storm). Prints what happened on SIGTERM.
cat >"$work/holder.py" <<'EOF'
import selectors, signal, socket, sys, time
host, port, want, rate = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
sel = selectors.DefaultSelector()
stats = {"opened": 0, "closed_by_server": 0, "failed": 0}
live = set()
def open_one(i):
    try:
        s = socket.create_connection((host, port), timeout=2)
        s.setblocking(False)
        if i % 2:
            s.send(b"GET /status HTTP/1.1\r\nHost: idle\r\n")
        sel.register(s, selectors.EVENT_READ)
        live.add(s)
        stats["opened"] += 1
    except OSError:
        stats["failed"] += 1
def stop(*_):
    print(" ".join(f"{k}={v}" for k, v in stats.items()), f"open_at_end={len(live)}", flush=True)
    for s in live:
        s.close()
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
for i in range(want):
    open_one(i)
print(f"holder: {len(live)} connections open", flush=True)
budget, last = 0.0, time.monotonic()
while True:
    for key, _ in sel.select(timeout=0.1):
        s = key.fileobj
        try:
            data = s.recv(4096)
        except (BlockingIOError, InterruptedError):
            continue
        except OSError:
            data = b""
        if not data:
            sel.unregister(s)
            live.discard(s)
            s.close()
            stats["closed_by_server"] += 1
    now = time.monotonic()
    budget = min(budget + (now - last) * rate, rate)
    last = now
    while budget >= 1 and len(live) < want:
        budget -= 1
        open_one(stats["opened"])
EOF

echo "load_test: $url (pid $pid), $IDLE idle connections, wrk -t$WRK_THREADS -c$WRK_CONNS -d${DURATION}s"
# Warm-up: a first short round of the same load sizes the allocator's pools and brings in the
# code that serves it; "before" is measured after it, so that "after" - "before" is what the
# main round kept (a leak), not what any first burst costs once.
for _ in $(seq 20); do curl -s --max-time 5 -o /dev/null "$url/status" || true; done
wrk -t"$WRK_THREADS" -c"$WRK_CONNS" -d5s "$url/status" >/dev/null 2>&1 || true
python3 - "$host" "$port" "$IDLE" <<'PYEOF'
import socket, sys, time
host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
socks = []
for _ in range(n):
    try:
        socks.append(socket.create_connection((host, port), timeout=2))
    except OSError:
        pass
time.sleep(2)
for s in socks:
    s.close()
PYEOF
sleep 1
mem before
rss_before=$(kb VmRSS)
fds_before=$(fds)

python3 "$work/holder.py" "$host" "$port" "$IDLE" "$HOLDER_RATE" >"$work/holder.out" 2>&1 &
holder_pid=$!
for _ in $(seq 100); do grep -q "connections open" "$work/holder.out" && break; sleep 0.1; done
cat "$work/holder.out"
mem idle
status_ok "with idle connections"

wrk -t"$WRK_THREADS" -c"$WRK_CONNS" -d"${DURATION}s" --timeout 5s "$url/status" >"$work/wrk.out" 2>&1 &
wrk_pid=$!
peak_rss=0
for t in $(seq "$DURATION"); do
  sleep 1
  r=$(kb VmRSS); [ "$r" -gt "$peak_rss" ] && peak_rss=$r
  if [ $((t % 10)) -eq 5 ]; then
    mem "t=${t}s"
    status_ok "during wrk (t=${t}s)"
  fi
done
wait "$wrk_pid" || fail "wrk exited with an error"
wrk_pid=
cat "$work/wrk.out"

rps=$(awk '/^Requests\/sec:/ { printf "%d", $2 }' "$work/wrk.out")
[ -n "$rps" ] || rps=0
[ "$rps" -ge "$MIN_RPS" ] || fail "request rate $rps/s below $MIN_RPS/s"
if grep -q "Socket errors" "$work/wrk.out"; then
  connect=x read=0 write=0 timeout=0
  # read fails when sed finds no such line: connect stays x and says so below.
  read -r connect read write timeout < <(sed -n 's/.*connect \([0-9]*\), read \([0-9]*\), write \([0-9]*\), timeout \([0-9]*\).*/\1 \2 \3 \4/p' "$work/wrk.out") || true
  [ "$connect" != x ] || { fail "wrk printed socket errors in a form this script does not read"; connect=0; }
  [ "$((connect + read + write))" -eq 0 ] || fail "wrk socket errors: connect $connect, read $read, write $write (timeouts $timeout)"
fi
non2xx=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' "$work/wrk.out")
[ -z "$non2xx" ] || fail "$non2xx non-2xx replies"

status_ok "after wrk, idle connections still open"
kill "$holder_pid"
wait "$holder_pid" 2>/dev/null || true
holder_pid=
echo "holder: $(tail -1 "$work/holder.out")"

# The server notices the closed connections at once; give it a moment, then compare.
for _ in $(seq 50); do [ "$(fds)" -le "$fds_before" ] && break; sleep 0.2; done
sleep 1
for _ in $(seq 20); do curl -s --max-time 5 -o /dev/null "$url/status" || true; done
mem after
status_ok "after the load"
rss_after=$(kb VmRSS)
fds_after=$(fds)
echo "peak VmRSS during wrk: $peak_rss kB; RSS after - before: $((rss_after - rss_before)) kB (margin $RSS_MARGIN_KB kB)"
[ "$((rss_after - rss_before))" -le "$RSS_MARGIN_KB" ] || fail "RSS grew from $rss_before kB to $rss_after kB"
[ "$fds_after" -eq "$fds_before" ] || fail "open fds went from $fds_before to $fds_after"

if [ "$failures" -eq 0 ]; then
  echo "load_test: PASS"
else
  echo "load_test: $failures failure(s)"
  exit 1
fi
