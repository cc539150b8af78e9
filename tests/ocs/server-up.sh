#!/bin/bash
# Installs and starts a real OCS Inventory NG server (Debian's ocsinventory-server, Apache +
# mod_perl + MariaDB) on 127.0.0.1, idempotently, and prints its URL.
#
# It runs the team's ../shared/tools/ocs-server-up.sh after one fix: that script installs with
# --no-install-recommends, which leaves XML::Simple without a parser backend, and the server then
# answers every request with HTTP 500 ("XMLin() requires either XML::SAX or XML::Parser").
# Installing libxml-parser-perl (and restarting an Apache that started without it) cures that.
#
# Usage: tests/ocs/server-up.sh [--reset-db|--stop]   (root; same environment as the shared script)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
shared=$(cd "$here/../../../shared" && pwd)
[ "$(id -u)" = 0 ] || { echo "server-up.sh: run as root" >&2; exit 1; }
export DEBIAN_FRONTEND=noninteractive

if [ "${1:-}" != "--stop" ]; then
  if ! dpkg-query -W -f='${Status}' libxml-parser-perl 2>/dev/null | grep -q "install ok installed"; then
    echo "[server-up] installing libxml-parser-perl (XML::Simple's parser)" >&2
    apt-get install -y -qq --no-install-recommends libxml-parser-perl >/dev/null 2>&1 ||
      { apt-get update -qq && apt-get install -y -qq --no-install-recommends libxml-parser-perl >/dev/null; }
    # An Apache started before the parser was there keeps failing until it restarts.
    if [ -f /run/apache2/apache2.pid ] && kill -0 "$(cat /run/apache2/apache2.pid)" 2>/dev/null; then
      apache2ctl restart
    fi
  fi
fi
exec bash "$shared/tools/ocs-server-up.sh" "$@"
