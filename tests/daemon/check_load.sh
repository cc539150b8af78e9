#!/bin/bash
# The daemon under load: starts the resident agent (its first contact an hour away, so only
# the HTTP server works), then runs load_test.sh against it (wrk on /status for 30 s plus 500
# idle connections held open; RSS and file descriptors must come back afterwards).
#
#   bash tests/daemon/check_load.sh BINARY
set -euo pipefail
bin=${1:?usage: check_load.sh BINARY}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$bin" --daemon --no-fork --server http://127.0.0.1/ocsinventory --vardir "$work/v" --delaytime 7200 \
  --httpd-ip 127.0.0.1 --httpd-port "$port" --logfile "$work/uagent.log" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 1 50); do curl -s "http://127.0.0.1:$port/status" >/dev/null && break; sleep 0.2; done
bash "$here/load_test.sh" "http://127.0.0.1:$port" "$pid"
