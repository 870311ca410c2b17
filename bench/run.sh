#!/usr/bin/env bash
# bench/run.sh — elfjit against the peers, in one command.  See bench/README.md.
#
#   bench/run.sh [--quick] [--elfjit PATH] [--workloads small,medium,large,sqlite,sqlite_a,libcdata]
#   bench/run.sh --tls [--quick] [--elfjit PATH]
#
# Installs what is missing (as root, with apt-get), builds elfjit (Release)
# unless --elfjit names a built one, generates the workloads (cached in
# bench/work/), checks every peer's answer, times them side by side with
# hyperfine, measures peak RSS and the per-stage link times, and writes
# bench/results/latest.md and bench/results/raw/*.json.
#
#   --quick       few runs; the large workload only if it was generated before
#   --elfjit P    use the elfjit binary P (its build dir's libelfjit.a, if any,
#                 builds the stage benchmark)
#   --workloads   a comma-separated subset
#   --tls         only the thread-local access table (bench/tls.c: ns and,
#                 with valgrind, instructions per access for each model,
#                 elfjit next to a normal link), into results/raw/tls.txt
# Environment: BENCH_WORK (default bench/work), BENCH_BUILD (default
# build-bench), BENCH_RESULTS (default bench/results: where latest.md and
# raw/ go), LLVM_JITLINK (default /usr/lib/llvm-14/bin/llvm-jitlink).
set -euo pipefail

started=$(date +%s.%N)
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
work=${BENCH_WORK:-$here/work}
build=${BENCH_BUILD:-$root/build-bench}
results=${BENCH_RESULTS:-$here/results}
jitlink=${LLVM_JITLINK:-/usr/lib/llvm-14/bin/llvm-jitlink}
quick=0
elfjit=
workloads=
tls=0

while [ $# -gt 0 ]; do
    case $1 in
    --quick) quick=1 ;;
    --elfjit) elfjit=$(realpath "$2"); shift ;;
    --elfjit=*) elfjit=$(realpath "${1#*=}") ;;
    --workloads) workloads=$2; shift ;;
    --workloads=*) workloads=${1#*=} ;;
    --tls) tls=1 ;;
    -h | --help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown argument: $1" >&2; exit 2 ;;
    esac
    shift
done

say() { echo "run.sh: $*" >&2; }
have() { command -v "$1" >/dev/null 2>&1; }

# ---- what is needed -------------------------------------------------------
need=()
have gcc || need+=(gcc)
have hyperfine || need+=(hyperfine)
have tcc || need+=(tcc)
[ -x "$jitlink" ] || need+=(llvm-14)
[ -x /usr/bin/time ] || need+=(time)
have python3 || need+=(python3)
{ have ar && have readelf; } || need+=(binutils)
[ -e /usr/include/sqlite3.h ] || need+=(libsqlite3-dev)
if [ -z "$elfjit" ]; then
    have cmake || need+=(cmake)
    have pkg-config || need+=(pkg-config)
    [ -e /usr/include/libelf.h ] || need+=(libelf-dev)
    [ -e /usr/include/zlib.h ] || need+=(zlib1g-dev)
    [ -e /usr/include/libdeflate.h ] || need+=(libdeflate-dev)
fi
if [ ${#need[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then
        say "installing ${need[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
    else
        say "missing ${need[*]}: run as root, or install them"
        exit 1
    fi
fi
multiarch=$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
sqlite_a=/usr/lib/$multiarch/libsqlite3.a
[ -e "$sqlite_a" ] || { say "no $sqlite_a (libsqlite3-dev)"; exit 1; }

# ---- elfjit and the bench tools ---------------------------------------------
mkdir -p "$work/tools"
libdir=
if [ -z "$elfjit" ]; then
    say "building elfjit (Release) in $build"
    cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DEJ_TESTS=OFF >/dev/null
    cmake --build "$build" -j"$(nproc)" >/dev/null
    elfjit=$build/elfjit
    libdir=$build
else
    libdir=$(dirname "$elfjit")
fi
[ -x "$elfjit" ] || { say "no elfjit at $elfjit"; exit 1; }

cflags="-O2 -Wall -Wextra -D_GNU_SOURCE"
gcc $cflags -o "$work/tools/dlopen_run" "$here/dlopen_run.c" -ldl
stages=
if [ -x "$libdir/bench/ej_stages" ]; then
    stages=$libdir/bench/ej_stages # built by the top-level add_subdirectory(bench)
elif [ -e "$libdir/libelfjit.a" ]; then
    gcc $cflags -I"$root/src" -I"$root/include" -o "$work/tools/stages" "$here/stages.c" \
        "$libdir/libelfjit.a" $(pkg-config --libs libelf zlib) -ldl -lpthread
    stages=$work/tools/stages
else
    say "no libelfjit.a next to $elfjit: no stage breakdown"
fi

# ---- thread-local storage (--tls) -------------------------------------------
if [ $tls = 1 ]; then
    [ -x "$libdir/bench/ej_tls" ] || { say "no $libdir/bench/ej_tls (built with -DEJ_BENCH=ON)"; exit 1; }
    targs=()
    [ $quick = 1 ] && targs+=(-r 5 -n 1000000)
    have valgrind && targs+=(--callgrind)
    mkdir -p "$results/raw"
    "$libdir/bench/ej_tls" "${targs[@]}" | tee "$results/raw/tls.txt"
    exit 0
fi

# ---- workloads ------------------------------------------------------------
if [ -z "$workloads" ]; then
    workloads=small,medium,large,sqlite,sqlite_a,libcdata
    if [ $quick = 1 ] && [ ! -e "$work/large/stamp" ]; then
        workloads=small,medium,sqlite,sqlite_a,libcdata
        say "--quick: skipping the large workload (not generated yet; run once without --quick)"
    fi
fi

# info.json of a workload: its objects' bytes, SHF_ALLOC bytes, relocations
# (an archive counts as its members: all of them, whether a link pulls them
# or not).
write_info() {
    python3 - "$1" <<'EOF'
import json, os, struct, sys
d = sys.argv[1]
paths = [l.strip() for l in open(os.path.join(d, "objects.txt")) if l.strip()]
def members(p):
    data = open(p, "rb").read()
    if not data.startswith(b"!<arch>\n"):
        yield data
        return
    o = 8
    while o + 60 <= len(data):
        name, size = data[o:o + 16].strip(), int(data[o + 48:o + 58])
        if name not in (b"/", b"//", b"/SYM64/") and data[o + 60:o + 64] == b"\x7fELF":
            yield data[o + 60:o + 60 + size]
        o += 60 + size + (size & 1)
objs = [m for p in paths for m in members(p)]
tot = alloc = rel = 0
for data in objs:
    tot += len(data)
    shoff, = struct.unpack_from("<Q", data, 0x28)
    esz, num = struct.unpack_from("<HH", data, 0x3A)
    for k in range(num):
        o = shoff + k * esz
        typ, flags = struct.unpack_from("<IQ", data, o + 4)
        size, = struct.unpack_from("<Q", data, o + 0x20)
        ent, = struct.unpack_from("<Q", data, o + 0x38)
        if typ in (4, 9) and ent:
            rel += size // ent
        if flags & 2:
            alloc += size
json.dump({"objects": len(objs), "bytes": tot, "alloc_bytes": alloc, "relocations": rel},
          open(os.path.join(d, "info.json"), "w"), indent=1)
EOF
}

for wl in ${workloads//,/ }; do
    case $wl in
    small | medium | large)
        say "workload $wl"
        python3 "$here/gen.py" --preset "$wl" "$work/$wl"
        ls "$work/$wl"/obj/*.o >"$work/$wl/objects.txt" # obj_000 (main) sorts first
        cp "$work/$wl/objects.txt" "$work/$wl/so_objects.txt"
        : >"$work/$wl/libs.txt"
        ;;
    sqlite)
        say "workload sqlite"
        d=$work/sqlite
        mkdir -p "$d"
        stamp=$( (sha256sum "$sqlite_a" "$here/sqlite_driver.c" | sha256sum) | cut -c1-64)
        if [ ! -e "$d/stamp" ] || [ "$(cat "$d/stamp")" != "$stamp" ]; then
            rm -rf "$d/members" && mkdir -p "$d/members"
            (cd "$d/members" && ar x "$sqlite_a")
            gcc -O2 -c "$here/sqlite_driver.c" -o "$d/driver.o"
            gcc -O2 -fPIC -c "$here/sqlite_driver.c" -o "$d/driver.pic.o"
            echo "$stamp" >"$d/stamp"
        fi
        { echo "$d/driver.o"; ls "$d"/members/*.o; } >"$d/objects.txt"
        { echo "$d/driver.pic.o"; ls "$d"/members/*.o; } >"$d/so_objects.txt"
        echo "-lm" >"$d/libs.txt"
        echo "sqlite ok: 10 checks, total 1001000" >"$d/expected.txt"
        write_info "$d"
        ;;
    sqlite_a)
        # The same program linked from Debian's libsqlite3.a itself (the
        # linker picks the members): what the archive support costs next
        # to the extracted members of the sqlite workload.
        say "workload sqlite_a"
        d=$work/sqlite_a
        mkdir -p "$d"
        stamp=$( (sha256sum "$sqlite_a" "$here/sqlite_driver.c" | sha256sum) | cut -c1-64)
        if [ ! -e "$d/stamp" ] || [ "$(cat "$d/stamp")" != "$stamp" ]; then
            gcc -O2 -c "$here/sqlite_driver.c" -o "$d/driver.o"
            gcc -O2 -fPIC -c "$here/sqlite_driver.c" -o "$d/driver.pic.o"
            echo "$stamp" >"$d/stamp"
        fi
        printf '%s\n' "$d/driver.o" "$sqlite_a" >"$d/objects.txt"
        printf '%s\n' "$d/driver.pic.o" "$sqlite_a" >"$d/so_objects.txt"
        echo "-lm" >"$d/libs.txt"
        echo "sqlite ok: 10 checks, total 1001000" >"$d/expected.txt"
        write_info "$d"
        ;;
    libcdata)
        say "workload libcdata"
        d=$work/libcdata
        mkdir -p "$d"
        gcc -O2 -c "$here/libcdata.c" -o "$d/libcdata.o"
        gcc -O2 -fPIC -c "$here/libcdata.c" -o "$d/libcdata.pic.o"
        echo "$d/libcdata.o" >"$d/objects.txt"
        echo "$d/libcdata.pic.o" >"$d/so_objects.txt"
        : >"$d/libs.txt"
        echo "libc data ok" >"$d/expected.txt"
        write_info "$d"
        ;;
    *) say "unknown workload $wl"; exit 2 ;;
    esac
done

# The .bss check: 256 MiB and 4 KiB of .bss, 16 pages touched.
b=$work/bss
mkdir -p "$b"
gcc -O2 -c "$here/bss.c" -o "$b/bss-big.o"
gcc -O2 -DBSS_SIZE=4096u -c "$here/bss.c" -o "$b/bss-small.o"
gcc -o "$b/bss-big" "$b/bss-big.o"
gcc -o "$b/bss-small" "$b/bss-small.o"

# ---- compare ----------------------------------------------------------------
args=(--work "$work" --results "$results" --elfjit "$elfjit" --jitlink "$jitlink"
      --dlopen-run "$work/tools/dlopen_run" --workloads "$workloads" --bss "$b" --started "$started")
[ -n "$stages" ] && args+=(--stages "$stages")
[ $quick = 1 ] && args+=(--quick)
python3 "$here/compare.py" "${args[@]}"
say "results in $results/latest.md ($(python3 -c "import time; print('%.0f' % (time.time() - $started))") s)"
