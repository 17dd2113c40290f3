#!/usr/bin/env bash
# Installs Debian/Ubuntu packages for the scripts that need a system package (a cross gcc, a
# cross libgcc_s): with apt-get, as root, or through sudo where it asks no password (a hosted CI
# runner). Where neither is possible it installs nothing, says why in one line on stderr, and
# fails, so that the caller can say which check it could not make.
#
#   bash scripts/apt_install.sh PACKAGE...
set -euo pipefail
[ "$#" -gt 0 ] || { echo "usage: bash scripts/apt_install.sh PACKAGE..." >&2; exit 2; }
if ! command -v apt-get >/dev/null; then
    echo "installing $* needs apt-get, which this system does not have" >&2
    exit 1
fi
as_root=()
if [ "$(id -u)" -ne 0 ]; then
    if ! command -v sudo >/dev/null || ! sudo -n true 2>/dev/null; then
        echo "installing $* needs apt-get as root (or sudo without a password)" >&2
        exit 1
    fi
    as_root=(sudo -n)
fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! { "${as_root[@]}" apt-get update -qq &&
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"; } >"$log" 2>&1; then
    tail -n 5 "$log" >&2
    echo "apt-get could not install $*" >&2
    exit 1
fi
