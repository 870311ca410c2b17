#!/usr/bin/env bash
# Cross-builds elfjit for ARCH (aarch64 or riscv64) with Debian's cross
# compiler and runs the whole test suite under qemu-user, from ctest.
# Exits non-zero when the build or any test fails.
#
#   scripts/test-cross.sh aarch64|riscv64
#
# Installs what it needs when it is missing (Debian 12; root or sudo):
#   - scripts/deps.sh: the cross compilers, qemu-user, cmake, ...;
#   - aarch64: libelf and zlib for arm64 from Debian multiarch
#     (dpkg --add-architecture arm64; libelf-dev:arm64 zlib1g-dev:arm64);
#   - riscv64: Debian 12 has no riscv64 packages, so zlib and libelf are
#     cross-compiled from Debian's own source packages (apt-get source
#     zlib elfutils, which needs deb-src entries: added next to the
#     system's) into BUILD_DIR/deps/prefix, once; later runs reuse it.
# Criterion is not used under qemu (its sandbox re-executes the test
# binary, which needs binfmt_misc): the tests use tests/shim instead.
#
# Environment: BUILD_DIR (default build-x-ARCH), JOBS (default nproc).
set -euo pipefail
cd "$(dirname "$0")/.."

arch=${1:-}
case "$arch" in
aarch64) triple=aarch64-linux-gnu debarch=arm64 ;;
riscv64) triple=riscv64-linux-gnu debarch=riscv64 ;;
*)
    echo "usage: $0 aarch64|riscv64" >&2
    exit 2
    ;;
esac
BUILD_DIR=${BUILD_DIR:-build-x-$arch}
root=$PWD
JOBS=${JOBS:-$(nproc)}
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive

scripts/deps.sh

installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"
}

# ---- aarch64: libelf and zlib from Debian multiarch ------------------------
if [ "$arch" = aarch64 ]; then
    pkgs=(libelf-dev:arm64 zlib1g-dev:arm64)
    missing=()
    for p in "${pkgs[@]}"; do installed "$p" || missing+=("$p"); done
    if ((${#missing[@]})); then
        echo "elfjit: installing ${missing[*]} (multiarch)" >&2
        dpkg --print-foreign-architectures | grep -qx "$debarch" ||
            $SUDO dpkg --add-architecture "$debarch"
        $SUDO apt-get update -qq || echo "elfjit: apt-get update failed; trying the install anyway" >&2
        if ! $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; then
            # Multi-Arch: same packages must have one version on every
            # architecture: fall back to the version installed natively
            # (e.g. the release suite's, when the newest is not served).
            pinned=()
            for p in "${missing[@]}"; do
                v=$(dpkg-query -W -f='${Version}' "${p%%:*}" 2>/dev/null || true)
                pinned+=("$p${v:+=$v}")
            done
            echo "elfjit: retrying with the native versions: ${pinned[*]}" >&2
            if ! $SUDO apt-get install -y -qq --no-install-recommends "${pinned[@]}" >/dev/null; then
                echo "elfjit: could not install ${missing[*]} (Debian multiarch, arm64)" >&2
                echo "elfjit: the arm64 package versions must match the installed amd64 ones; 'apt-get update && apt-get upgrade' usually fixes a mismatch" >&2
                exit 1
            fi
        fi
    fi
    prefix_args=()
fi

# ---- riscv64: zlib and libelf cross-compiled from Debian's sources ---------
if [ "$arch" = riscv64 ]; then
    deps=$PWD/$BUILD_DIR/deps
    prefix=$deps/prefix
    stamp=$prefix/.elfjit-deps-2
    if [ ! -e "$stamp" ]; then
        start=$SECONDS
        # Source entries (deb-src) mirroring the system's binary ones.
        if ! apt-get indextargets --format '$(CREATED_BY)' 2>/dev/null | grep -qx Sources; then
            echo "elfjit: adding deb-src entries to apt's sources (for apt-get source)" >&2
            src=/etc/apt/sources.list.d/elfjit-deb-src.sources
            if [ -e /etc/apt/sources.list.d/debian.sources ]; then
                sed 's/^Types:.*/Types: deb-src/' /etc/apt/sources.list.d/debian.sources |
                    $SUDO tee "$src" >/dev/null
            else
                printf '%s\n' 'Types: deb-src' 'URIs: http://deb.debian.org/debian' \
                    'Suites: bookworm bookworm-updates' 'Components: main' \
                    'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg' |
                    $SUDO tee "$src" >/dev/null
            fi
            $SUDO apt-get update -qq
        fi
        echo "elfjit: building zlib and libelf for riscv64 into $prefix" >&2
        rm -rf "$deps/src" "$prefix"
        mkdir -p "$deps/src" "$prefix"
        (
            cd "$deps/src"
            # Downloads, checks against the signed index, unpacks and
            # applies Debian's patches (scripts/fetch-source.sh falls back
            # to older versions when the newest is not served).
            for pkg in zlib elfutils; do
                "$root/scripts/fetch-source.sh" "$pkg" "$deps/src/apt-source-$pkg.log"
            done
            log=$deps/src/build.log
            cd "$deps"/src/zlib-*/
            {
                CHOST=$triple CC=$triple-gcc CFLAGS="-O2 -g -fPIC" \
                    ./configure --prefix="$prefix"
                make -j"$JOBS"
                make install
            } >"$log" 2>&1 || { tail -40 "$log" >&2; exit 1; }
            cd "$deps"/src/elfutils-*/
            {
                # Only libelf is needed (lib/ is its helper library).
                # libelf.so finds the prefix's libz.so.1 through its own run
                # path (an executable's RUNPATH does not reach the
                # dependencies of its libraries).
                ./configure --build="$(gcc -dumpmachine)" --host=$triple \
                    --prefix="$prefix" CC=$triple-gcc CFLAGS="-O2 -g" \
                    CPPFLAGS="-I$prefix/include" \
                    LDFLAGS="-L$prefix/lib -Wl,-rpath,$prefix/lib" \
                    --disable-debuginfod --disable-libdebuginfod --disable-demangler \
                    --disable-nls --without-bzlib --without-lzma --without-zstd
                make -C lib -j"$JOBS"
                make -C libelf -j"$JOBS"
                make -C libelf install
                make -C config install
                rm -f "$prefix/lib/pkgconfig/libdw.pc" # libdw is not built
            } >>"$log" 2>&1 || { tail -40 "$log" >&2; exit 1; }
        )
        touch "$stamp"
        echo "elfjit: riscv64 zlib and libelf built in $((SECONDS - start)) s" >&2
    fi
    prefix_args=(-DEJ_CROSS_PREFIX="$prefix")
fi

# ---- build and test --------------------------------------------------------
echo "== elfjit: cross build for $arch, tests under qemu-$arch" >&2
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_TOOLCHAIN_FILE="$PWD/cmake/toolchains/$triple.cmake" \
    -DEJ_BENCH=OFF "${prefix_args[@]}" >/dev/null
cmake --build "$BUILD_DIR" -j"$JOBS"
ctest --test-dir "$BUILD_DIR" --output-on-failure --timeout 600 -j"$JOBS"
echo "== elfjit: $arch suite again, code memory forced to dual mapping" >&2
ELFJIT_CODEMEM=dual ctest --test-dir "$BUILD_DIR" --output-on-failure --timeout 600 -j"$JOBS"
