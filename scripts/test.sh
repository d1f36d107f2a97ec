#!/usr/bin/env bash
# THE test command of edgeleaf: `scripts/test.sh` (CI runs it through .ci/run).
#
# Works on a fresh Debian 12 machine with rustup: installs what is missing (nats-server,
# qemu-user-static, clang and llvm, the musl targets, clippy, rustfmt), then runs,
# stopping at the first failure:
#   fmt check -> clippy -D warnings -> cargo test --all-targets -> static aarch64 release
#   build (cross/build.sh) -> the aarch64 binary under qemu (tests/cross_aarch64.rs)
# Only loopback addresses are used by the tests.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

current_step=""
suite_start=$SECONDS
step_start=$SECONDS

on_exit() {
    local rc=$?
    if [[ $rc -ne 0 ]]; then
        echo >&2
        echo "scripts/test.sh: FAILED (exit $rc) in step: ${current_step:-setup}" >&2
    fi
}
trap on_exit EXIT

die() {
    echo "scripts/test.sh: error: $*" >&2
    exit 1
}

# Closes the running step (if any) with its duration.
finish_step() {
    if [[ -n "$current_step" ]]; then
        echo "---- ok: $current_step ($((SECONDS - step_start)) s)"
    fi
}

# Prints the banner of a new step.
step() {
    finish_step
    current_step="$1"
    step_start=$SECONDS
    echo
    echo "================================================================"
    echo "==== $current_step"
    echo "================================================================"
}

# apt-get as root, or through sudo when we are not root.
apt_get() {
    if [[ $(id -u) -eq 0 ]]; then
        DEBIAN_FRONTEND=noninteractive apt-get "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo DEBIAN_FRONTEND=noninteractive apt-get "$@"
    else
        die "need root (or sudo) to run: apt-get $*"
    fi
}

step "install missing tools"

# nats-server lives in /usr/sbin, which a non-root or minimal PATH may lack; tests find it
# on PATH.
for dir in /usr/local/sbin /usr/sbin /sbin; do
    case ":$PATH:" in
        *":$dir:"*) ;;
        *) PATH="$PATH:$dir" ;;
    esac
done
if ! command -v cargo >/dev/null 2>&1 && [[ -f "$HOME/.cargo/env" ]]; then
    # shellcheck disable=SC1091
    . "$HOME/.cargo/env"
fi
export PATH

missing_pkgs=()
command -v nats-server >/dev/null 2>&1 || missing_pkgs+=(nats-server)
command -v qemu-aarch64-static >/dev/null 2>&1 || missing_pkgs+=(qemu-user-static)
# ring (rustls' crypto provider) compiles C and assembly for the musl targets with clang and
# archives them with llvm-ar (.cargo/config.toml [env]).
command -v clang >/dev/null 2>&1 || missing_pkgs+=(clang)
command -v llvm-ar >/dev/null 2>&1 || missing_pkgs+=(llvm)
if [[ ${#missing_pkgs[@]} -gt 0 ]]; then
    command -v apt-get >/dev/null 2>&1 ||
        die "missing ${missing_pkgs[*]} and no apt-get to install them (this script expects Debian 12)"
    echo "installing Debian packages: ${missing_pkgs[*]}"
    apt_get update || die "apt-get update failed"
    apt_get install -y --no-install-recommends "${missing_pkgs[@]}" ||
        die "apt-get install ${missing_pkgs[*]} failed"
fi
command -v nats-server >/dev/null 2>&1 || die "nats-server is still not on PATH after installing it"
command -v qemu-aarch64-static >/dev/null 2>&1 ||
    die "qemu-aarch64-static is still not on PATH after installing qemu-user-static"
command -v clang >/dev/null 2>&1 || die "clang is still not on PATH after installing it"
command -v llvm-ar >/dev/null 2>&1 || die "llvm-ar is still not on PATH after installing llvm"

command -v cargo >/dev/null 2>&1 || die "cargo not found: install the Rust toolchain with rustup"
command -v rustup >/dev/null 2>&1 ||
    die "rustup not found: it is needed to add the musl targets, clippy and rustfmt"
installed_targets="$(rustup target list --installed)" || die "'rustup target list' failed"
missing_targets=()
for t in aarch64-unknown-linux-musl x86_64-unknown-linux-musl; do
    grep -qx "$t" <<<"$installed_targets" || missing_targets+=("$t")
done
if [[ ${#missing_targets[@]} -gt 0 ]]; then
    rustup target add "${missing_targets[@]}" || die "rustup target add ${missing_targets[*]} failed"
fi
missing_components=()
cargo clippy --version >/dev/null 2>&1 || missing_components+=(clippy)
cargo fmt --version >/dev/null 2>&1 || missing_components+=(rustfmt)
if [[ ${#missing_components[@]} -gt 0 ]]; then
    rustup component add "${missing_components[@]}" ||
        die "rustup component add ${missing_components[*]} failed"
fi

echo "rustc:        $(rustc --version)"
echo "cargo:        $(cargo --version)"
echo "nats-server:  $(command -v nats-server) ($(nats-server --version 2>&1 | head -n 1))"
echo "qemu:         $(command -v qemu-aarch64-static) ($(qemu-aarch64-static --version | head -n 1))"
echo "clang:        $(command -v clang) ($(clang --version | head -n 1))"

step "cargo fmt --all -- --check"
cargo fmt --all -- --check

step "cargo clippy --all-targets -- -D warnings"
cargo clippy --all-targets -- -D warnings

step "cargo test --all-targets --no-fail-fast"
cargo test --all-targets --no-fail-fast

if command -v systemd-analyze >/dev/null 2>&1; then
    step "systemd units (systemd/verify.sh)"
    bash systemd/verify.sh
else
    echo "(systemd-analyze not installed: systemd/ files not verified)"
fi

step "static aarch64 release build (cross/build.sh aarch64)"
bash cross/build.sh aarch64
target_dir="${CARGO_TARGET_DIR:-target}"
case "$target_dir" in
    /*) ;;
    *) target_dir="$root/$target_dir" ;;
esac
aarch64_bin="$target_dir/aarch64-unknown-linux-musl/release/edgeleaf"
[[ -x "$aarch64_bin" ]] || die "cross/build.sh did not leave an executable at $aarch64_bin"

step "aarch64 smoke test under qemu (cargo test --test cross_aarch64 -- --ignored)"
EDGELEAF_AARCH64_BIN="$aarch64_bin" cargo test --test cross_aarch64 -- --ignored

finish_step
current_step=""
echo
echo "scripts/test.sh: all steps passed in $((SECONDS - suite_start)) s"
