# Shared by the cross-build scripts (sourced, not run): installing the tools, reading a
# target's file under targets/, and the one place where the build flags are decided, so that
# every script builds the same bytes and shares one std build per target.

CROSS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$CROSS_DIR/.." && pwd)
TARGETS_DIR=$REPO/targets

# Pinned so that sizes move only when our code or Cargo.lock does.
ZIG_VERSION=0.17.1
ZIGBUILD_VERSION=0.24.0

# The feature sets users build (see size-budget/README.md).
SETS="minimal default full"

say() { printf '[cross] %s\n' "$*" >&2; }
die() { printf '[cross] error: %s\n' "$*" >&2; exit 1; }

# Says where a script stopped when a command fails under set -e: the script, the file and line
# of the command (lib.sh's own when the command is in one of its functions), the command as
# written, and its exit code. Each script calls it once after sourcing this file; set -E
# carries the trap into functions and command substitutions.
trap_errors() {
    set -E
    trap 'err_report "$?" "${BASH_SOURCE[0]:-$0}" "$LINENO" "$BASH_COMMAND"' ERR
}
err_report() { # CODE FILE LINE COMMAND
    local cmd=$4
    # Inside run() the failing command is "$@": name the one it ran.
    [ "$cmd" != '"$@"' ] || [ -z "$RUN_LAST" ] || cmd=$RUN_LAST
    printf '[cross] FAILED: %s: command '"'"'%s'"'"' at %s:%s exited %s\n' \
        "${0#"$REPO"/}" "$cmd" "${2#"$REPO"/}" "$3" "$1" >&2
}

# Runs a command after printing it, so that a log shows how to repeat any step by hand.
RUN_LAST=
run() {
    RUN_LAST=$(printf ' %q' "$@")
    RUN_LAST=${RUN_LAST# }
    printf '[cross] $ %s\n' "$RUN_LAST" >&2
    "$@"
}

set_features() { # SET -> FEATURE_ARGS (array)
    case "$1" in
        minimal) FEATURE_ARGS=(--no-default-features --features minimal) ;;
        default) FEATURE_ARGS=() ;;
        full) FEATURE_ARGS=(--features full) ;;
        *) die "unknown feature set '$1' (one of: $SETS)" ;;
    esac
}

all_targets() {
    local f
    for f in "$TARGETS_DIR"/*.conf; do basename "$f" .conf; done
}

# Reads targets/TRIPLE.conf into STD, OPT_LEVEL, TARGET_RUSTFLAGS, QEMU, OPENWRT_ARCH, DEVICES.
load_target() {
    local triple=$1 file="$TARGETS_DIR/$1.conf"
    [ -f "$file" ] || die "no file $file: supported targets are: $(all_targets | tr '\n' ' ')"
    STD= TARGET_RUSTFLAGS= QEMU= OPENWRT_ARCH= DEVICES= OPT_LEVEL=
    # shellcheck disable=SC1090
    . "$file"
    case "$STD" in prebuilt | source) ;; *) die "$file: STD must be prebuilt or source" ;; esac
    TRIPLE=$triple
}

# --- installing what the builds need (each step is skipped when already done) -------------

pip_install() {
    local py=python3
    command -v $py >/dev/null || apt_install python3
    if ! $py -m pip --version >/dev/null 2>&1; then apt_install python3-pip; fi
    # Debian 12's system Python refuses pip installs (PEP 668) unless told; older pips ignore it.
    PIP_BREAK_SYSTEM_PACKAGES=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore \
        run $py -m pip install -q "$@"
}

APT_UPDATED=
apt_install() {
    command -v apt-get >/dev/null || die "cannot install $*: no apt-get here; install it by hand"
    if [ -z "$APT_UPDATED" ]; then
        run apt-get update -qq >&2 || die "apt-get update failed"
        APT_UPDATED=1
    fi
    DEBIAN_FRONTEND=noninteractive run apt-get install -y -qq --no-install-recommends "$@" \
        >/dev/null || die "apt-get install $* failed"
}

# Where pip puts scripts: the interpreter's own scripts directory (which a pyenv or venv
# Python does not put on PATH by itself: its shims are made only by `pyenv rehash`), or the
# user base when it cannot write there.
add_pip_bin_to_path() {
    local dir
    dir=$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))' 2>/dev/null) || dir=
    case ":$PATH:" in *":$dir:"*) ;; *) [ -z "$dir" ] || PATH=$PATH:$dir ;; esac
    dir=$(python3 -m site --user-base 2>/dev/null) || dir=
    case ":$PATH:" in *":$dir/bin:"*) ;; *) [ -z "$dir" ] || PATH=$PATH:$dir/bin ;; esac
    export PATH
}

setup_zig() {
    add_pip_bin_to_path
    local have_zig have_zb
    # Neither is installed on a machine that never built: an empty version, not an error.
    have_zig=$(python3 -m ziglang version 2>/dev/null) || have_zig=
    have_zb=$(cargo-zigbuild --version 2>/dev/null | awk '{print $2}') || have_zb=
    if [ "$have_zig" != "$ZIG_VERSION" ] || [ "$have_zb" != "$ZIGBUILD_VERSION" ]; then
        pip_install "ziglang==$ZIG_VERSION" "cargo-zigbuild==$ZIGBUILD_VERSION"
        hash -r
    fi
    command -v cargo-zigbuild >/dev/null || die "cargo-zigbuild installed but not on PATH"
}

setup_rust_for() { # TRIPLE (after load_target)
    command -v rustup >/dev/null || die "rustup not found: the Rust toolchain is needed"
    local have
    have=$(rustup component list --installed)
    # rust-src: release builds build std; llvm-tools: llvm-objcopy to strip foreign ELF.
    grep -q '^rust-src' <<<"$have" || run rustup component add rust-src >&2
    grep -q '^llvm-tools' <<<"$have" || run rustup component add llvm-tools >&2
    # A prebuilt std spares the unit-test build a second std build.
    # (grep reads a string, not a pipe: grep -q leaving early would fail the pipe under pipefail.)
    if [ "$STD" = prebuilt ]; then
        grep -qx "$TRIPLE" <<<"$(rustup target list --installed)" || run rustup target add "$TRIPLE" >&2
    fi
}

setup_qemu() { # after load_target
    [ -n "$QEMU" ] || return 0
    local bin=${QEMU%% *}
    command -v "$bin" >/dev/null || apt_install qemu-user-static
    command -v "$bin" >/dev/null || die "$bin still missing after installing qemu-user-static"
}

# --- build flags -------------------------------------------------------------------------

# Size flags applied to every release build, std included (release builds always build std
# from rust-src so that these reach it). Each is explained, with what it costs and saves, in
# size-budget/README.md.
#   location-detail=none: panic messages lose file:line:col (the message itself stays).
#   force-unwind-tables=no: no .eh_frame; with panic=abort it only served backtraces.
SIZE_RUSTFLAGS="-Zlocation-detail=none -C force-unwind-tables=no"
#   optimize_for_size: std picks its small algorithms (sort, fmt, ...) over its fast ones.
STD_FEATURES=optimize_for_size
# PANIC=immediate-abort (environment) trades the panic message for about 20 KB more.
PANIC=${PANIC:-abort}

# Exports what cargo needs for TRIPLE; sets CARGO_ARGS (array) to the common arguments.
# PROFILE: release (shipped binaries) or test (unit tests: debug assertions and overflow checks
# on, which is where 32-bit overflows show).
cross_env() {
    local profile=$1
    # -Z flags (build-std, location-detail) on the stable toolchain.
    export RUSTC_BOOTSTRAP=1
    local flags="$TARGET_RUSTFLAGS" dir=$TRIPLE
    CARGO_ARGS=(--target "$TRIPLE")
    if [ "$profile" = release ]; then
        flags="$flags $SIZE_RUSTFLAGS"
        case "$PANIC" in
            abort) ;;
            immediate-abort)
                flags="$flags -Zunstable-options -Cpanic=immediate-abort"
                dir=$TRIPLE-immediate-abort # other flags: other std build, kept apart
                ;;
            *) die "PANIC must be abort or immediate-abort, not '$PANIC'" ;;
        esac
        CARGO_ARGS+=(-Zbuild-std=std,panic_abort "-Zbuild-std-features=$STD_FEATURES")
        [ -z "$OPT_LEVEL" ] || export CARGO_PROFILE_RELEASE_OPT_LEVEL=$OPT_LEVEL
    else
        # No debug info: it only slows the build and the link, and qemu runs no debugger.
        export CARGO_PROFILE_TEST_DEBUG=false CARGO_PROFILE_DEV_DEBUG=false
        [ "$STD" = prebuilt ] || CARGO_ARGS+=(-Zbuild-std=std,panic_unwind)
    fi
    # zig supplies crt1.o and libc; rustc's own self-contained copies are missing for the
    # targets without a prebuilt std ("crt1.o: FileNotFound").
    case " ${CARGO_ARGS[*]} " in *" -Zbuild-std="*) flags="$flags -C link-self-contained=no" ;; esac
    export RUSTFLAGS="$flags"
    # One target dir per triple: the std build and the dependencies are shared by the three
    # feature sets (and, for the test profile, by the unit tests).
    export CARGO_TARGET_DIR=${CROSS_TARGET_DIR:-$REPO/target}/cross/$dir
}

# llvm-objcopy from rustup's llvm-tools: binutils' objcopy does not read MIPS or ARM ELF.
objcopy_path() {
    local host
    host=$(rustc -vV | sed -n 's/^host: //p')
    echo "$(rustc --print sysroot)/lib/rustlib/$host/bin/llvm-objcopy"
}

# Strips everything a static executable does not need at run time: symbols, and on MIPS the
# .pdr section (about 15 % of the file) that cargo's strip=true leaves in.
strip_binary() { # IN OUT
    "$(objcopy_path)" --strip-all "$1" "$2"
}
