#!/bin/bash
# The project's test command (README.md names it; .ci/run runs it). Installs what it needs,
# idempotently, then runs every check and prints what it measured. Run as root (it installs
# Debian packages and starts a real OCS Inventory server on 127.0.0.1).
#
#   bash tests/run.sh            # everything
#   STAGES="unit corpus" bash tests/run.sh   # some stages only
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
shared=$(cd .. && pwd)/shared
export CARGO_TERM_COLOR=never
STAGES=${STAGES:-"setup unit corpus robustness ocs agent faults glpi tls wakeonlan daemon cross bench"}
start_all=$(date +%s)

say() { printf '\n=== %s\n' "$*"; }
have_stage() { case " $STAGES " in *" $1 "*) return 0 ;; esac; return 1; }
timed() {
  local name=$1; shift
  local t0; t0=$(date +%s)
  "$@"
  echo "--- $name: $(( $(date +%s) - t0 )) s"
}

[ -d "$shared/corpus" ] || { echo "tests/run.sh: $shared/corpus not found (../shared must sit beside the repository)" >&2; exit 1; }

setup() {
  say "setup: packages and tools"
  export DEBIAN_FRONTEND=noninteractive
  local need=""
  for p in curl time ca-certificates strace wrk hyperfine iproute2 procps; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need="$need $p"
  done
  if [ -n "$need" ]; then
    apt-get install -y -qq --no-install-recommends $need >/dev/null 2>&1 ||
      { apt-get update -qq && apt-get install -y -qq --no-install-recommends $need >/dev/null; }
  fi
  python3 -c 'import jsonschema' 2>/dev/null || python3 -m pip install -q jsonschema
  rustup component list --installed 2>/dev/null | grep -q '^rustfmt' || rustup component add rustfmt
  rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy
}

unit() {
  say "unit: format, lints and tests of every feature set"
  cargo fmt --check
  cargo clippy -q --all-targets -- -D warnings
  cargo clippy -q --no-default-features --features minimal -- -D warnings
  cargo test -q
  cargo test -q --no-default-features --features minimal
  cargo test -q --features full
  cargo clippy -q --no-default-features --features client -- -D warnings
  cargo clippy -q --features full -- -D warnings
}

host_binary() {
  cargo build -q --release
  echo "$repo/target/release/uagent"
}

corpus() {
  say "corpus: every expected.json fact of ../shared/corpus (x86_64)"
  python3 tests/check_corpus.py --binary "$(host_binary)"
}

robustness() {
  say "robustness: bad and big trees, unwritable outputs"
  python3 tests/check_robustness.py --binary "$(host_binary)"
}

ocs() {
  say "ocs: a real OCS Inventory server on loopback"
  bash tests/ocs/server-up.sh --reset-db
  python3 tests/ocs/check_local_inventory.py --binary "$(host_binary)"
}

agent() {
  say "agent: half-managed runs, several targets and the injector against the real OCS server; where log lines go"
  bash tests/ocs/server-up.sh >/dev/null
  python3 tests/agent/check_ocs_runs.py --binary "$(host_binary)"
  python3 tests/agent/check_logging.py --binary "$(host_binary)"
}

faults() {
  say "faults: the project's fake server's faults, the spool, the next run"
  python3 tests/peers/test_fake_server.py
  python3 tests/agent/check_faults.py --binary "$(host_binary)"
}

glpi() {
  say "glpi: GLPI's native protocol against the project's GLPI stand-in"
  python3 tests/agent/check_glpi.py --binary "$(host_binary)"
}

tls() {
  say "tls: mod_ssl in front of the real OCS server, CONNECT proxies"
  bash tests/ocs/server-up.sh >/dev/null
  python3 tests/agent/check_tls.py --binary "$(host_binary)"
}

wakeonlan() {
  say "wakeonlan: magic packets between two network namespaces, and from a PROLOG reply"
  cargo build -q --features full --target-dir target/full
  cargo build -q --no-default-features --features minimal --target-dir target/minimal
  python3 tests/wakeonlan/check_wakeonlan.py --binary "$repo/target/full/debug/uagent" --without "$repo/target/minimal/debug/uagent"
}

daemon() {
  say "daemon: the resident agent against the real OCS server, its HTTP server, under load"
  cargo build -q --features full --target-dir target/full
  bash tests/ocs/server-up.sh >/dev/null
  python3 tests/daemon/check_daemon.py --binary "$repo/target/full/debug/uagent"
  cargo build -q --release --features full --target-dir target/full
  bash tests/daemon/check_load.sh "$repo/target/full/release/uagent"
}

cross() {
  say "cross: static builds for every target and feature set within their size budget; ARM and MIPS under qemu; the OpenWrt package"
  for p in busybox qemu-user-static; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
      apt-get install -y -qq --no-install-recommends "$p" >/dev/null 2>&1 ||
      { apt-get update -qq && apt-get install -y -qq --no-install-recommends "$p" >/dev/null; }
  done
  # The OpenWrt targets (and x86_64, which the benchmarks use) on every run; the others when
  # UAGENT_ALL_TARGETS=1 (about 8 minutes more: see size-budget/README.md for their sizes).
  local targets="--target mipsel-unknown-linux-musl --target armv7-unknown-linux-musleabihf --target mips-unknown-linux-musl --target x86_64-unknown-linux-musl"
  [ "${UAGENT_ALL_TARGETS:-0}" = 1 ] && targets=
  size-budget/check $targets
  cross/test-qemu mipsel-unknown-linux-musl
  cross/test-qemu mips-unknown-linux-musl
  cross/test-qemu armv7-unknown-linux-musleabihf
  python3 tests/openwrt_package_test.py
}

bench() {
  say "bench: inventory, half-managed HTTPS run and daemon, beside the Perl agents (x86_64 musl builds)"
  export DEBIAN_FRONTEND=noninteractive
  dpkg-query -W -f='${Status}' fusioninventory-agent 2>/dev/null | grep -q "install ok installed" ||
    apt-get install -y -qq fusioninventory-agent >/dev/null 2>&1 ||
    { apt-get update -qq && apt-get install -y -qq fusioninventory-agent >/dev/null; }
  local out=target/cross/x86_64-unknown-linux-musl/out
  cross/build x86_64-unknown-linux-musl --set default --set full >/dev/null
  python3 tests/bench/inventory.py --binary $out/default/uagent
  python3 tests/bench/https_run.py --binary $out/default/uagent
  python3 tests/bench/daemon.py --binary $out/full/uagent
}

for s in setup unit corpus robustness ocs agent faults glpi tls wakeonlan daemon cross bench; do
  if have_stage "$s"; then timed "$s" "$s"; fi
done
echo
echo "all stages passed in $(( $(date +%s) - start_all )) s"
