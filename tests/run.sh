#!/bin/bash
# The project's test command (README.md names it; .ci/run runs it). Installs what it needs,
# idempotently, then runs every check and prints what it measured. Run as root (it installs
# Debian packages and starts a real OCS Inventory server on 127.0.0.1).
#
#   bash tests/run.sh            # everything
#   STAGES="unit corpus" bash tests/run.sh   # some stages only
#   UAGENT_ALL_TARGETS=1 bash tests/run.sh   # the cross stage builds every target x set
#
# A stage that stops says so: 'FAILED: stage NAME: command '...' at FILE:LINE exited N'.
set -euo pipefail
# -E: the ERR trap reaches functions and subshells; inherit_errexit: a command substitution
# stops at its first failure instead of going on and handing back a half result.
set -E
shopt -s inherit_errexit
cd "$(dirname "$0")/.."
repo=$(pwd)
shared=$(cd .. && pwd)/shared
export CARGO_TERM_COLOR=never
ALL_STAGES="scripts setup unit corpus robustness html ocs agent faults glpi tls wakeonlan netdiscovery netinventory ipdiscover ocssnmp daemon compat hostile deploy cross bench"
STAGES=${STAGES:-$ALL_STAGES}
start_all=$(date +%s)
stage=start

on_error() { # CODE FILE LINE COMMAND
  printf "\nFAILED: stage %s: command '%s' at %s:%s exited %s\n" "$stage" "$4" "${2#"$repo"/}" "$3" "$1" >&2
}
trap 'on_error "$?" "${BASH_SOURCE[0]:-$0}" "$LINENO" "$BASH_COMMAND"' ERR

say() { printf '\n=== %s\n' "$*"; }
have_stage() { case " $STAGES " in *" $1 "*) return 0 ;; esac; return 1; }
timed() {
  local name=$1; shift
  local t0; t0=$(date +%s)
  stage=$name
  "$@"
  echo "--- $name: $(( $(date +%s) - t0 )) s"
}
for s in $STAGES; do
  case " $ALL_STAGES " in *" $s "*) ;; *) echo "tests/run.sh: unknown stage '$s' (stages: $ALL_STAGES)" >&2; exit 1 ;; esac
done

# Debian packages, installed when missing (apt-get update only when an install needs it).
debs() {
  local need="" p
  for p in "$@"; do
    # dpkg-query fails for a package it never saw: that is the "not installed" answer.
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then need="$need $p"; fi
  done
  [ -n "$need" ] || return 0
  export DEBIAN_FRONTEND=noninteractive
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $need >/dev/null 2>&1 ||
    { apt-get update -qq && apt-get install -y -qq --no-install-recommends $need >/dev/null; }
}

[ -d "$shared/corpus" ] || { echo "tests/run.sh: $shared/corpus not found (../shared must sit beside the repository)" >&2; exit 1; }

# The shell scripts: they parse, and none reads a version or a path of a tool in a way that
# stops the script when the tool is not installed yet (`x=$(tool --version)` under set -e).
scripts() {
  say "scripts: syntax, and no version probe that fails when a tool is missing"
  local files f bad
  files=$(git ls-files tests/run.sh 'tests/*.sh' 'tests/**/*.sh' 'cross/*' 'size-budget/*' .ci/run |
    while read -r f; do if head -n 1 "$f" | grep -q '^#!.*bash'; then echo "$f"; fi; done)
  files="$files cross/lib.sh"
  for f in $files; do bash -n "$f"; done
  # shellcheck disable=SC2086
  bad=$(grep -nE '^[[:space:]]*(local[[:space:]]+)?[A-Za-z_]+=\$\([^)]*(--version|-m [a-z_]+ version|command -v|which )[^)]*\)[[:space:]]*$' $files || true)
  if [ -n "$bad" ]; then
    printf '%s\n' "$bad"
    echo "these assignments stop the script when the tool is missing: add '|| VAR=' (see cross/lib.sh setup_zig)"
  fi
  [ -z "$bad" ]
  echo "$(echo $files | wc -w) scripts parse; no bare version probe"
}

setup() {
  say "setup: packages and tools"
  debs curl time ca-certificates strace wrk hyperfine iproute2 procps
  python3 -c 'import jsonschema' 2>/dev/null || python3 -m pip install -q jsonschema
  local installed
  installed=$(rustup component list --installed)
  grep -q '^rustfmt' <<<"$installed" || rustup component add rustfmt
  grep -q '^clippy' <<<"$installed" || rustup component add clippy
}

unit() {
  say "unit: format, lints and tests of every feature set; the layers of src/"
  python3 tests/layout/check_layers.py
  cargo fmt --check
  cargo clippy -q --all-targets -- -D warnings
  cargo clippy -q --no-default-features --features minimal -- -D warnings
  cargo test -q
  cargo test -q --no-default-features --features minimal
  cargo test -q --features full
  cargo clippy -q --no-default-features --features client -- -D warnings
  cargo clippy -q --features full -- -D warnings
  # The network discovery and its SNMP client need UDP only: they build without the HTTP client.
  cargo clippy -q --no-default-features --features minimal,netdiscovery -- -D warnings
  cargo clippy -q --no-default-features --features minimal,netinventory,snmpv3 -- -D warnings
}

# The host's release binary (built here: a failed build stops the stage before any check).
host_binary() {
  cargo build -q --release
  bin=$repo/target/release/uagent
}

corpus() {
  say "corpus: every expected.json fact of ../shared/corpus (x86_64)"
  host_binary
  python3 tests/check_corpus.py --binary "$bin"
}

robustness() {
  say "robustness: bad and big trees, unwritable outputs"
  host_binary
  python3 tests/check_robustness.py --binary "$bin"
}

html() {
  say "html: the HTML page of this machine and of each corpus tree in headless Chromium (width, tables, summary first, filter, print)"
  debs chromium poppler-utils fonts-dejavu-core
  host_binary
  python3 tests/html/check_html.py --binary "$bin"
}

ocs() {
  say "ocs: a real OCS Inventory server on loopback"
  host_binary
  bash tests/ocs/server-up.sh --reset-db
  python3 tests/ocs/check_local_inventory.py --binary "$bin"
}

agent() {
  say "agent: half-managed runs, several targets and the injector against the real OCS server; where log lines go"
  host_binary
  bash tests/ocs/server-up.sh >/dev/null
  python3 tests/agent/check_ocs_runs.py --binary "$bin"
  python3 tests/agent/check_logging.py --binary "$bin"
}

faults() {
  say "faults: the project's fake server's faults, the spool, the next run"
  host_binary
  python3 tests/peers/test_fake_server.py
  python3 tests/agent/check_faults.py --binary "$bin"
}

glpi() {
  say "glpi: GLPI's native protocol against the project's GLPI stand-in: partial inventories, pending, OAuth2, /now events, NetworkEquipment"
  host_binary
  # The daemon's HTTP server (/now events) is in the full set.
  cargo build -q --features full --target-dir target/full
  python3 tests/agent/check_glpi.py --binary "$bin" --full-binary "$repo/target/full/debug/uagent"
  python3 tests/agent/partial_days.py --binary "$bin"
}

tls() {
  say "tls: mod_ssl in front of the real OCS server, CONNECT proxies"
  host_binary
  bash tests/ocs/server-up.sh >/dev/null
  python3 tests/agent/check_tls.py --binary "$bin"
}

wakeonlan() {
  say "wakeonlan: magic packets between two network namespaces, and from a PROLOG reply"
  cargo build -q --features full --target-dir target/full
  cargo build -q --no-default-features --features minimal --target-dir target/minimal
  python3 tests/wakeonlan/check_wakeonlan.py --binary "$repo/target/full/debug/uagent" --without "$repo/target/minimal/debug/uagent"
}

# snmpsim (PyPI) and its recordings (snmpsim-data), in a venv of Debian's python3, as the
# network tests' lab runs them (tests/netdiscovery/lab.py).
SNMPSIM_VENV=/var/lib/uagent-tests/snmpsim-venv
snmpsim_venv() {
  debs python3-venv
  if [ -x "$SNMPSIM_VENV/bin/snmpsim-command-responder" ] && "$SNMPSIM_VENV/bin/python" -c 'import snmpsim_data' 2>/dev/null; then
    return 0
  fi
  /usr/bin/python3 -m venv "$SNMPSIM_VENV"
  # pysmi: snmpsim imports it without declaring it.
  "$SNMPSIM_VENV/bin/pip" install -q snmpsim snmpsim-data pysmi
}

# The network tests' peers: Debian's snmpd and net-snmp client, the Perl agent's network tasks
# (the reference runs), snmpsim.
network_peers() {
  debs iproute2 util-linux snmpd snmp fusioninventory-agent-task-network
  snmpsim_venv
}

netdiscovery() {
  say "netdiscovery: a /28 lab of network namespaces (snmpsim, snmpd, ICMP-only, NetBIOS, silent), the launcher, the agent against a GLPI-style stand-in, malformed jobs"
  network_peers
  cargo build -q --features full --target-dir target/full
  python3 tests/netdiscovery/check_netdiscovery.py --binary "$repo/target/full/debug/uagent"
}

netinventory() {
  say "netinventory: 46 snmpsim-data recordings through --file and live beside fusioninventory-netinventory, a printer, SNMPv3 against Debian's snmpd, hostile agents and malformed walk files"
  network_peers
  cargo build -q --features full --target-dir target/full
  python3 tests/netinventory/check_netinventory.py --binary "$repo/target/full/debug/uagent"
  debs time
  python3 tests/netinventory/check_hostile.py --binary "$repo/target/full/debug/uagent"
}

ipdiscover() {
  say "ipdiscover: OCS IpDiscover from the lab against the real OCS server (forced election, netmap)"
  debs iproute2 util-linux
  cargo build -q --features full --target-dir target/full
  bash tests/ocs/server-up.sh >/dev/null
  python3 tests/netdiscovery/check_ipdiscover_ocs.py --binary "$repo/target/full/debug/uagent"
}

ocssnmp() {
  say "ocssnmp: OCS's SNMP option over HTTPS against the real OCS server: two snmpsim-data devices on loopback, snmp_default and a custom type's table, no-snmp"
  debs snmp
  snmpsim_venv
  cargo build -q --features full --target-dir target/full
  # The OCS server is shared: its SNMP configuration is changed, and put back, under the lock.
  with_ocs_lock bash tests/ocs/server-up.sh >/dev/null
  with_ocs_lock python3 tests/netinventory/check_ocs_snmp.py --binary "$repo/target/full/debug/uagent"
}

daemon() {
  say "daemon: the resident agent against the real OCS server, its HTTP server, under load"
  cargo build -q --features full --target-dir target/full
  bash tests/ocs/server-up.sh >/dev/null
  python3 tests/daemon/check_daemon.py --binary "$repo/target/full/debug/uagent"
  cargo build -q --release --features full --target-dir target/full
  bash tests/daemon/check_load.sh "$repo/target/full/release/uagent"
}

compat() {
  say "compat: the Perl agents' options, launchers, stock agent.cfg files and Debian's unit, run with uagent"
  # Debian's fusioninventory-agent: its stock agent.cfg is in tests/compat/, its unit file is
  # read from the package.
  debs fusioninventory-agent
  # The full set: every launcher and the daemon.
  cargo build -q --release --features full --target-dir target/full
  python3 tests/compat/check_compat.py --binary "$repo/target/full/release/uagent"
}

hostile() {
  say "hostile: hostile servers, callers, files and state (issue 16); every run timed, its peak RSS under 16 MiB"
  # GNU time measures the peak RSS; unshare mounts the full tmpfs of the ENOSPC case.
  debs time util-linux procps
  cargo build -q --release --features full --target-dir target/full
  local b=$repo/target/full/release/uagent
  timeout 300 python3 tests/hostile/check_server.py --binary "$b"
  timeout 300 python3 tests/hostile/check_daemon.py --binary "$b"
  timeout 300 python3 tests/hostile/check_files.py --binary "$b"
}

# Runs a command holding the shared OCS server's lock, unless a caller already holds it:
# `flock /tmp/uagent-ocs.lock bash tests/run.sh` passes its descriptor down, and taking the lock
# again through a new descriptor would wait for ourselves.
with_ocs_lock() {
  local fd
  for fd in /proc/$$/fd/*; do
    if [ "$(readlink "$fd" 2>/dev/null)" = /tmp/uagent-ocs.lock ]; then "$@"; return; fi
  done
  flock /tmp/uagent-ocs.lock "$@"
}

deploy() {
  say "deploy: OCS packages offered by the real OCS server (served by an Apache instance of the test's own), GLPI jobs and bad input against the project's deploy test server"
  debs openssl apache2 time
  cargo build -q --features full --target-dir target/full
  local bin=$repo/target/full/debug/uagent
  # The OCS server is shared: its configuration and rows are changed, and put back, under the lock.
  with_ocs_lock python3 tests/deploy/check_ocs_deploy.py --binary "$bin"
  python3 tests/deploy/check_glpi_deploy.py --binary "$bin"
  python3 tests/deploy/check_deploy_faults.py --binary "$bin"
}

cross() {
  debs busybox qemu-user-static zstd
  local mipsel=mipsel-unknown-linux-musl mips=mips-unknown-linux-musl armv7=armv7-unknown-linux-musleabihf
  local x86_64=x86_64-unknown-linux-musl
  if [ "${UAGENT_ALL_TARGETS:-0}" = 1 ]; then
    say "cross: every target x feature set within its size budget; ARM and MIPS under qemu; the OpenWrt packages"
    size-budget/check
    cross/test-qemu $mipsel
    cross/test-qemu $mips
    cross/test-qemu $armv7
    python3 tests/openwrt_package_test.py --package $mipsel:full --package $mipsel:minimal \
      --package $armv7:full --package $armv7:minimal
  else
    # CI: std and the dependencies are built once per target and feature set, and those
    # builds are most of this stage's time. So: each target's full set (what the qemu tests
    # and the services use), and mipsel's minimal and default, the two smaller sets on the
    # target that is the tightest for size. The rest: UAGENT_ALL_TARGETS=1.
    say "cross: the full set of each OpenWrt target and x86_64, mipsel's three sets, within their size budget; ARM and MIPS under qemu; the OpenWrt packages"
    size-budget/check --only $mipsel:full --only $mipsel:minimal --only $mipsel:default \
      --only $armv7:full --only $mips:full --only $x86_64:full
    cross/test-qemu $mipsel --set full
    cross/test-qemu $mips --set full
    cross/test-qemu $armv7 --set full
    python3 tests/openwrt_package_test.py --package $mipsel:full --package $mipsel:minimal \
      --package $mipsel:default --package $armv7:full
  fi
}

bench() {
  say "bench: inventory, half-managed HTTPS run, daemon and network discovery, beside the Perl agents (x86_64 musl builds)"
  # What the benchmarks run, so that this stage also works on its own on a fresh machine.
  debs time hyperfine curl procps openssl
  # The Perl agent with its recommended packages (dmidecode, pciutils...), as admins install it.
  if ! dpkg-query -W -f='${Status}' fusioninventory-agent 2>/dev/null | grep -q "install ok installed"; then
    apt-get install -y -qq fusioninventory-agent >/dev/null 2>&1 ||
      { apt-get update -qq && apt-get install -y -qq fusioninventory-agent >/dev/null; }
  fi
  local out=target/cross/x86_64-unknown-linux-musl/out
  cross/build x86_64-unknown-linux-musl --set default --set full >/dev/null
  python3 tests/bench/inventory.py --binary $out/default/uagent
  python3 tests/bench/https_run.py --binary $out/default/uagent
  python3 tests/bench/daemon.py --binary $out/full/uagent
  python3 tests/bench/deploy_memory.py --binary $out/full/uagent
  network_peers
  python3 tests/bench/netdiscovery.py --binary $out/full/uagent
  python3 tests/bench/netinventory.py --binary $out/full/uagent
}

for s in $ALL_STAGES; do
  if have_stage "$s"; then timed "$s" "$s"; fi
done
echo
echo "all stages passed in $(( $(date +%s) - start_all )) s"
