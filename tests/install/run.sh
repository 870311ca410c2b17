#!/usr/bin/env bash
# The `install` test (tests/install/CMakeLists.txt registers it with ctest):
# installs the build tree into a scratch prefix and uses the result the way
# an outside project would.
#   1. cmake --install BUILD --prefix SCRATCH/prefix; the files are there and
#      the installed tool runs;
#   2. consumer.c built with pkg-config: shared (`--cflags --libs`, run with
#      LD_LIBRARY_PATH) and static (`--static --libs`, libelfjit.a taken
#      through -l:libelfjit.a), each linking an object compiled here;
#   3. consumer/ configured with find_package(elfjit) and
#      -DCMAKE_PREFIX_PATH=SCRATCH/prefix, built (elfjit::elfjit and
#      elfjit::elfjit_static) and run.
# Exits non-zero with a message naming the failed step.  Nothing is
# installed outside SCRATCH.
#
# usage: run.sh BUILD_DIR SOURCE_DIR SCRATCH_DIR [--config=CFG] [--cc=CC]
#               [--cmake=CMAKE] [--pkg-config=PKG_CONFIG] [--readelf=READELF]
#               [--generator=GEN] [--make-program=PROG] [--libdir=DIR]
#               [--bindir=DIR] [--includedir=DIR]
#   SOURCE_DIR is tests/install; --libdir/--bindir/--includedir are the
#   build's CMAKE_INSTALL_<X>DIR (relative to the prefix).
set -u

die() {
    echo "install test: FAIL: $*" >&2
    exit 1
}
step() { echo "== $*"; }

[ $# -ge 3 ] || die "usage: run.sh BUILD_DIR SOURCE_DIR SCRATCH_DIR [options]"
build=$1 src=$2 scratch=$3
shift 3
config="" cc=cc cmake=cmake pkgconfig=pkg-config readelf=readelf
generator="" makeprog="" libdir=lib bindir=bin includedir=include
for arg in "$@"; do
    val=${arg#*=}
    case $arg in
    --config=*) config=$val ;;
    --cc=*) cc=$val ;;
    --cmake=*) cmake=$val ;;
    --pkg-config=*) pkgconfig=$val ;;
    --readelf=*) readelf=$val ;;
    --generator=*) generator=$val ;;
    --make-program=*) makeprog=$val ;;
    --libdir=*) libdir=$val ;;
    --bindir=*) bindir=$val ;;
    --includedir=*) includedir=$val ;;
    *) die "unknown argument $arg" ;;
    esac
done
[ -f "$build/CMakeCache.txt" ] || die "$build is not a CMake build tree"
[ -f "$src/consumer.c" ] || die "$src has no consumer.c"
case $scratch in
/*) ;;
*) die "SCRATCH_DIR must be absolute: $scratch" ;;
esac

prefix=$scratch/prefix
case $libdir in /*) die "CMAKE_INSTALL_LIBDIR is absolute ($libdir): cannot install into a scratch prefix" ;; esac
case $bindir in /*) die "CMAKE_INSTALL_BINDIR is absolute ($bindir): cannot install into a scratch prefix" ;; esac
case $includedir in /*) die "CMAKE_INSTALL_INCLUDEDIR is absolute ($includedir): cannot install into a scratch prefix" ;; esac
plib=$prefix/$libdir

rm -rf "$scratch" || die "cannot clear $scratch"
mkdir -p "$scratch" || die "cannot create $scratch"
cd "$scratch" || die "cannot enter $scratch"

# ---- 1. install ---------------------------------------------------------
step "cmake --install $build --prefix $prefix"
cfgarg=()
[ -n "$config" ] && cfgarg=(--config "$config")
# No DESTDIR from the environment: it would redirect the install.
env -u DESTDIR "$cmake" --install "$build" --prefix "$prefix" "${cfgarg[@]}" \
    >install.log 2>&1 || {
    cat install.log >&2
    die "cmake --install failed"
}
for f in "$includedir/elfjit/elfjit.h" "$includedir/elfjit/status.h" \
    "$libdir/libelfjit.a" "$libdir/libelfjit.so" "$libdir/libelfjit.so.0" \
    "$libdir/pkgconfig/elfjit.pc" "$libdir/cmake/elfjit/elfjitConfig.cmake" \
    "$libdir/cmake/elfjit/elfjitConfigVersion.cmake" \
    "$libdir/cmake/elfjit/elfjitTargets.cmake" "$bindir/elfjit"; do
    [ -e "$prefix/$f" ] || die "not installed: $prefix/$f"
done
"$prefix/$bindir/elfjit" --version >tool.out 2>&1 || {
    cat tool.out >&2
    die "installed tool $prefix/$bindir/elfjit --version failed"
}
echo "installed: $(cat tool.out)"

# The object every consumer links: compiled here, by the host compiler.
cat >probe.c <<'PROBE'
#include <string.h>
int ej_probe(const char *s, int k);
int ej_probe(const char *s, int k) { return (int)strlen(s) * k; }
PROBE
"$cc" -O2 -c probe.c -o probe.o || die "cannot compile probe.c with $cc"

# run NAME EXE: runs EXE on probe.o and wants "ok" on its first line.
run() {
    local name=$1
    shift
    local rc=0
    "$@" "$scratch/probe.o" >"$name.out" 2>&1 || rc=$?
    if [ $rc -ne 0 ]; then
        cat "$name.out" >&2
        die "$name: exited with status $rc"
    fi
    head -n1 "$name.out" | grep -q '^ok' || {
        cat "$name.out" >&2
        die "$name: printed no 'ok'"
    }
    echo "$name: $(head -n1 "$name.out")"
}

# needs EXE yes|no: EXE does / does not have libelfjit.so in DT_NEEDED.
needs() {
    local out
    if ! out=$("$readelf" -d "$1" 2>&1); then
        echo "($readelf unusable, not checking DT_NEEDED of $1)"
        return 0
    fi
    if echo "$out" | grep -q 'NEEDED.*\[libelfjit\.so'; then
        [ "$2" = yes ] || die "$1 needs libelfjit.so, but should hold libelfjit.a"
    else
        [ "$2" = no ] || die "$1 does not need libelfjit.so"
    fi
}

# ---- 2. pkg-config --------------------------------------------------------
export PKG_CONFIG_PATH="$plib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
step "pkg-config (PKG_CONFIG_PATH=$PKG_CONFIG_PATH)"
ver=$("$pkgconfig" --modversion elfjit) || die "pkg-config does not find elfjit.pc"
cflags=$("$pkgconfig" --cflags elfjit) || die "pkg-config --cflags elfjit failed"
libs=$("$pkgconfig" --libs elfjit) || die "pkg-config --libs elfjit failed"
slibs=$("$pkgconfig" --static --libs elfjit) ||
    die "pkg-config --static --libs elfjit failed (libelf.pc, zlib.pc present?)"
echo "elfjit $ver; cflags: $cflags; libs: $libs; static libs: $slibs"
case " $slibs " in
*" -lelfjit "*) ;;
*) die "pkg-config --static --libs elfjit has no -lelfjit: $slibs" ;;
esac
# -lelfjit takes libelfjit.so when both are installed: ask for the archive.
slibs_a=$(echo " $slibs " | sed 's/ -lelfjit / -l:libelfjit.a /')

# shellcheck disable=SC2086 # pkg-config output is meant to be word-split
"$cc" -Wall -Wextra -Werror $cflags "$src/consumer.c" -o pc_shared $libs ||
    die "pkg-config shared consumer does not build: $cc ... $cflags consumer.c $libs"
needs pc_shared yes
run pc_shared env LD_LIBRARY_PATH="$plib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" ./pc_shared

# shellcheck disable=SC2086
"$cc" -Wall -Wextra -Werror $cflags "$src/consumer.c" -o pc_static $slibs_a ||
    die "pkg-config static consumer does not build: $cc ... $cflags consumer.c $slibs_a"
needs pc_static no
run pc_static ./pc_static

# ---- 3. CMake package -----------------------------------------------------
step "find_package(elfjit) with CMAKE_PREFIX_PATH=$prefix"
cmargs=(-S "$src/consumer" -B cmake-consumer -DCMAKE_PREFIX_PATH="$prefix"
    -DCMAKE_C_COMPILER="$cc" -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF)
[ -n "$generator" ] && cmargs+=(-G "$generator")
[ -n "$makeprog" ] && cmargs+=(-DCMAKE_MAKE_PROGRAM="$makeprog")
[ -n "$config" ] && cmargs+=(-DCMAKE_BUILD_TYPE="$config")
"$cmake" "${cmargs[@]}" >cmake-configure.log 2>&1 || {
    cat cmake-configure.log >&2
    die "configuring the find_package(elfjit) consumer failed"
}
found=$(sed -n 's/^elfjit_DIR:PATH=//p' cmake-consumer/CMakeCache.txt)
[ "$found" = "$plib/cmake/elfjit" ] ||
    die "find_package(elfjit) used '$found', not $plib/cmake/elfjit"
"$cmake" --build cmake-consumer "${cfgarg[@]}" >cmake-build.log 2>&1 || {
    cat cmake-build.log >&2
    die "building the find_package(elfjit) consumer failed"
}
for kind in shared static; do
    exe=$(find cmake-consumer -type f -name "consumer_$kind" | head -n1)
    [ -n "$exe" ] || die "cmake-consumer built no consumer_$kind"
    if [ $kind = shared ]; then needs "$exe" yes; else needs "$exe" no; fi
    # No LD_LIBRARY_PATH: the shared one finds libelfjit.so by its run path.
    run "cmake_$kind" env -u LD_LIBRARY_PATH "./$exe"
done

echo "install test: PASS"
