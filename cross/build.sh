#!/usr/bin/env bash
# Fully static release builds of the `edgeleaf` binary for the musl targets.
#
#   cross/build.sh [x86_64|aarch64|all] [extra cargo build args...]   (default: all)
#
# Linking goes through rust-lld as set in .cargo/config.toml; see cross/README.md for why.
# Prints, per target, the path and the (stripped) size of the binary. Exits non-zero if the
# build fails or the result is not a static executable for the right architecture.
set -euo pipefail

die() {
    echo "cross/build.sh: error: $*" >&2
    exit 1
}

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

which_arch="${1:-all}"
if [[ $# -gt 0 ]]; then
    shift
fi
case "$which_arch" in
    x86_64) arches=(x86_64) ;;
    aarch64) arches=(aarch64) ;;
    all) arches=(x86_64 aarch64) ;;
    -h | --help)
        sed -n '2,8p' "${BASH_SOURCE[0]}"
        exit 0
        ;;
    *) die "unknown target '$which_arch' (expected x86_64, aarch64 or all)" ;;
esac

# A non-login shell (CI) may not have ~/.cargo/bin on PATH yet.
if ! command -v cargo >/dev/null 2>&1 && [[ -f "$HOME/.cargo/env" ]]; then
    # shellcheck disable=SC1091
    . "$HOME/.cargo/env"
fi
command -v cargo >/dev/null 2>&1 || die "cargo not found on PATH (install the Rust toolchain with rustup)"
command -v rustc >/dev/null 2>&1 || die "rustc not found on PATH"

# rust-lld ships with every rustup toolchain; rustc finds it in its own sysroot, so it does
# not have to be on PATH. Check it is there so a broken toolchain fails with a clear message
# instead of a linker error.
sysroot="$(rustc --print sysroot)"
host="$(rustc -vV | sed -n 's/^host: //p')"
rust_lld="$sysroot/lib/rustlib/$host/bin/rust-lld"
[[ -x "$rust_lld" ]] || die "rust-lld not found at $rust_lld (the toolchain should ship it; try 'rustup update')"
grep -q 'linker *= *"rust-lld"' "$root/.cargo/config.toml" 2>/dev/null ||
    die ".cargo/config.toml does not set linker = \"rust-lld\" for the musl targets"

ensure_target() {
    local triple="$1"
    if command -v rustup >/dev/null 2>&1; then
        if ! rustup target list --installed | grep -qx "$triple"; then
            echo "cross/build.sh: adding rust target $triple"
            rustup target add "$triple" || die "'rustup target add $triple' failed"
        fi
    elif [[ ! -d "$sysroot/lib/rustlib/$triple" ]]; then
        die "target $triple is not installed and rustup is not available to add it"
    fi
}

target_dir="${CARGO_TARGET_DIR:-target}"
case "$target_dir" in
    /*) ;;
    *) target_dir="$root/$target_dir" ;;
esac

# Checks that $1 is a static, stripped executable for architecture $2 (file's wording).
check_binary() {
    local bin="$1" want_arch="$2" desc
    [[ -f "$bin" ]] || die "expected binary $bin was not produced"
    if command -v file >/dev/null 2>&1; then
        desc="$(file -b "$bin")"
        echo "  file: $desc"
        [[ "$desc" == *"$want_arch"* ]] || die "$bin is not an $want_arch binary: $desc"
        # x86_64 musl links as static-pie, aarch64 musl as plain static: both have no
        # interpreter and no shared libraries.
        [[ "$desc" == *"statically linked"* || "$desc" == *"static-pie linked"* ]] ||
            die "$bin is not statically linked: $desc"
    fi
    if command -v readelf >/dev/null 2>&1; then
        if readelf -lW "$bin" | grep -q 'INTERP'; then
            die "$bin has a program interpreter (dynamic loader): not static"
        fi
        if readelf -dW "$bin" 2>/dev/null | grep -q '(NEEDED)'; then
            die "$bin needs shared libraries: $(readelf -dW "$bin" | grep '(NEEDED)' | tr -s ' ')"
        fi
    fi
    if ! command -v file >/dev/null 2>&1 && ! command -v readelf >/dev/null 2>&1; then
        die "neither 'file' nor 'readelf' is installed: cannot check that $bin is static"
    fi
}

human() {
    awk -v b="$1" 'BEGIN { printf "%.2f MiB", b / 1048576 }'
}

summary=()
for arch in "${arches[@]}"; do
    triple="$arch-unknown-linux-musl"
    case "$arch" in
        x86_64) file_arch="x86-64" ;;
        aarch64) file_arch="ARM aarch64" ;;
    esac
    ensure_target "$triple"

    echo "cross/build.sh: building edgeleaf for $triple (release)"
    cargo build --release --target "$triple" --bin edgeleaf "$@" ||
        die "cargo build for $triple failed"

    bin="$target_dir/$triple/release/edgeleaf"
    check_binary "$bin" "$file_arch"

    # The release profile strips symbols; if it ever stops doing so, report the size the
    # device would get after stripping, from a stripped copy beside the binary.
    shipped="$bin"
    if command -v file >/dev/null 2>&1 && [[ "$(file -b "$bin")" == *"not stripped"* ]]; then
        objcopy="$sysroot/lib/rustlib/$host/bin/rust-objcopy"
        [[ -x "$objcopy" ]] || die "$bin is not stripped and rust-objcopy is missing ($objcopy)"
        shipped="$bin.stripped"
        "$objcopy" --strip-all "$bin" "$shipped" || die "stripping $bin failed"
    fi
    size="$(stat -c %s "$shipped")"
    summary+=("$triple: $shipped  $size bytes ($(human "$size")) stripped")
done

echo
echo "cross/build.sh: static binaries:"
for line in "${summary[@]}"; do
    echo "  $line"
done
