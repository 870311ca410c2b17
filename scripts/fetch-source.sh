#!/usr/bin/env bash
# Downloads and unpacks Debian's source package PKG into the current
# directory with apt-get source, without depending on one exact version
# being served: the newest version first (often a security update that a
# mirror may not carry yet, or no longer), then the release suite's
# version (PKG/CODENAME), then every other version apt knows of, newest
# first.  Says which version it took; exits non-zero, naming the package
# and the versions tried, when none could be downloaded.
#
#   scripts/fetch-source.sh PKG [LOG]
#
# Needs deb-src entries in apt's sources (scripts/test-cross.sh adds them).
set -uo pipefail
pkg=${1:?usage: fetch-source.sh PKG [LOG]}
log=${2:-/dev/null}
: >"$log"

codename=$( (. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}") || true)
candidates=("$pkg")
[ -n "$codename" ] && candidates+=("$pkg/$codename")
# Every version in the source indexes, newest first.
while read -r v; do
    candidates+=("$pkg=$v")
done < <(apt-cache showsrc "$pkg" 2>/dev/null | sed -n 's/^Version: //p' | sort -u -r -V)

tried=()
for c in "${candidates[@]}"; do
    tried+=("$c")
    echo "== apt-get source $c" >>"$log"
    if apt-get source -qq "$c" >>"$log" 2>&1; then
        dir=$(ls -d "$pkg"-*/ 2>/dev/null | head -n1)
        echo "elfjit: source of $pkg: took '$c' (${dir%/})" >&2
        exit 0
    fi
    # A failed download can leave partial files behind: start clean.
    rm -rf "$pkg"-*/ "$pkg"_*
done
echo "elfjit: cannot download the source of $pkg; tried: ${tried[*]}" >&2
echo "elfjit: apt-get said (last lines of $log):" >&2
tail -n 8 "$log" >&2
echo "elfjit: check the deb-src entries in /etc/apt/sources.list.d and run 'apt-get update'" >&2
exit 1
