#!/usr/bin/env bash
# Checks the systemd files with systemd's own tools, without installing anything:
#   - edgeleaf.service with `systemd-analyze verify` (ExecStart pointed at a stub, since
#     /usr/bin/edgeleaf is not installed on a build machine);
#   - edgeleaf.sysusers and edgeleaf.tmpfiles applied to a scratch root with
#     systemd-sysusers / systemd-tmpfiles --root.
# Any warning from systemd-analyze counts as a failure.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

die() {
    echo "systemd/verify.sh: error: $*" >&2
    exit 1
}

command -v systemd-analyze >/dev/null 2>&1 || die "systemd-analyze not found (Debian package systemd)"

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

# The unit, with ExecStart pointing at an executable stub; file name kept.
stub="$scratch/bin/edgeleaf"
mkdir -p "$scratch/bin" "$scratch/units"
printf '#!/bin/sh\nexit 0\n' >"$stub"
chmod +x "$stub"
sed "s|/usr/bin/edgeleaf|$stub|g" "$here/edgeleaf.service" >"$scratch/units/edgeleaf.service"
out="$(systemd-analyze verify --man=no "$scratch/units/edgeleaf.service" 2>&1)" || {
    printf '%s\n' "$out" >&2
    die "systemd-analyze verify failed for systemd/edgeleaf.service"
}
if [[ -n "$out" ]]; then
    printf '%s\n' "$out" >&2
    die "systemd-analyze verify printed warnings for systemd/edgeleaf.service"
fi
echo "systemd/edgeleaf.service: systemd-analyze verify clean"

# sysusers then tmpfiles into a scratch root: tmpfiles resolves the user sysusers made.
if command -v systemd-sysusers >/dev/null 2>&1 && command -v systemd-tmpfiles >/dev/null 2>&1; then
    root="$scratch/root"
    mkdir -p "$root/etc" "$root/var/lib"
    systemd-sysusers --root="$root" "$here/edgeleaf.sysusers" ||
        die "systemd-sysusers rejected systemd/edgeleaf.sysusers"
    grep -q '^edgeleaf:' "$root/etc/passwd" || die "systemd/edgeleaf.sysusers did not create user edgeleaf"
    systemd-tmpfiles --root="$root" --create "$here/edgeleaf.tmpfiles" ||
        die "systemd-tmpfiles rejected systemd/edgeleaf.tmpfiles"
    [[ -d "$root/var/lib/edgeleaf" ]] || die "systemd/edgeleaf.tmpfiles did not create /var/lib/edgeleaf"
    echo "systemd/edgeleaf.sysusers + edgeleaf.tmpfiles: ok (/var/lib/edgeleaf in a scratch root: $(stat -c '%a uid=%u gid=%g' "$root/var/lib/edgeleaf"))"
else
    echo "systemd-sysusers/systemd-tmpfiles not found: sysusers and tmpfiles files not checked"
fi
