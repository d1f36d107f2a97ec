#!/usr/bin/env bash
# THE benchmark of edgeleaf: `scripts/bench.sh [options]` (see bench/README.md).
#
# Builds the release binary, then runs examples/bench.rs, which starts nats-server and
# edgeleaf one after the other on loopback (alternating, fresh process per run), drives the
# same raw-protocol workload against each, and prints medians, edgeleaf/nats-server ratios
# and a markdown summary table. Options are passed through (`--help` lists them).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

# nats-server lives in /usr/sbin, which a non-root PATH may lack.
for dir in /usr/local/sbin /usr/sbin /sbin; do
    case ":$PATH:" in
        *":$dir:"*) ;;
        *) PATH="$PATH:$dir" ;;
    esac
done
export PATH
command -v nats-server >/dev/null 2>&1 ||
    { echo "scripts/bench.sh: nats-server not found (Debian: apt-get install nats-server)" >&2; exit 2; }

export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
cargo build --release
exec cargo run --release --example bench -- "$@"
