#!/usr/bin/env bash
# Installs what elfjit needs to build and test, when it is missing.
# Debian/Ubuntu; needs root (or sudo) only when something must be installed.
set -euo pipefail

PKGS=(build-essential cmake pkg-config libelf-dev libdw-dev zlib1g-dev libdeflate-dev
      libcriterion-dev elfutils clang
      # Cross compilers: the aarch64 and riscv64 relocation tests link their
      # output (link-only) on any host, and scripts/test-cross.sh builds the
      # whole suite for those architectures and runs it under qemu-user.
      gcc-aarch64-linux-gnu gcc-riscv64-linux-gnu qemu-user
      # (their C libraries are only recommended, and recommends are not installed)
      libc6-dev-arm64-cross libc6-dev-riscv64-cross
      # perf judges the profiler maps (tests/debug): `perf record` + `perf
      # report` must name a function elfjit loaded (skipped without it)
      linux-perf
      # The debuggers tests/gdb drives through GDB's JIT interface.
      gdb lldb
      # LLVM's unwinder, whose frame registration differs from libgcc's
      # (tests/unwind checks both).
      libunwind-14-dev)

missing=()
for p in "${PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "elfjit: installing ${missing[*]}" >&2
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO=sudo
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq || echo "elfjit: apt-get update failed; trying the install anyway" >&2
    if ! $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; then
        echo "elfjit: could not install: ${missing[*]}" >&2
        echo "elfjit: check apt's sources (apt-get update) and install them by hand, then run this again" >&2
        exit 1
    fi
fi
