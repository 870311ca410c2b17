#!/usr/bin/env bash
# The soak (tests/soak/README.md) for minutes: builds the ThreadSanitizer
# configuration of .ci's TSan stage in its own build directory and runs the
# soak there, without address-space randomisation, halting on the first
# TSan report.  Exits non-zero when the build fails, TSan reports anything,
# or the soak finds an inconsistency (1) or a hang (3).
#
#   scripts/soak.sh [MINUTES] [-- SOAK-ARGS...]
#
#   MINUTES    how long the soak runs (default 3)
#   SOAK-ARGS  passed on, e.g. -- --threads 6 --seed 0x1234 (soak --help)
#
# Environment:
#   SOAK_CONFIG  tsan (default), asan (ASan + UBSan) or normal
#   BUILD_DIR    default build-soak-tsan / build-soak-asan / build-soak
#   JOBS         parallel build jobs (default 2)
set -euo pipefail
cd "$(dirname "$0")/.."

minutes=3
if [ $# -gt 0 ] && [ "$1" != "--" ]; then
    minutes=$1
    shift
fi
[ $# -gt 0 ] && [ "$1" = "--" ] && shift
case "$minutes" in
'' | *[!0-9.]*)
    echo "usage: $0 [MINUTES] [-- SOAK-ARGS...]" >&2
    exit 2
    ;;
esac
seconds=$(awk -v m="$minutes" 'BEGIN { printf "%d", m * 60 }')

config=${SOAK_CONFIG:-tsan}
case "$config" in
tsan) flags=(-DEJ_TSAN=ON -DEJ_CRITERION=shim) dir=build-soak-tsan ;;
asan) flags=(-DEJ_SANITIZE=ON) dir=build-soak-asan ;;
normal) flags=() dir=build-soak ;;
*)
    echo "$0: SOAK_CONFIG must be tsan, asan or normal" >&2
    exit 2
    ;;
esac
BUILD_DIR=${BUILD_DIR:-$dir}
JOBS=${JOBS:-2}

[ -x scripts/deps.sh ] && scripts/deps.sh

echo "== elfjit: soak build ($config) in $BUILD_DIR" >&2
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DEJ_BENCH=OFF "${flags[@]}" >/dev/null
cmake --build "$BUILD_DIR" -j"$JOBS" --target soak

soak=$BUILD_DIR/tests/soak/soak
run=()
case "$config" in
tsan)
    # setarch -R: gcc's TSan runtime aborts with "unexpected memory mapping"
    # on kernels that randomise mmap with more bits than its shadow allows.
    export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1}
    run=(setarch "$(uname -m)" -R)
    ;;
asan)
    export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
    export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
    ;;
esac

echo "== elfjit: soak for $minutes min ($config)" >&2
start=$SECONDS
# The soak bounds itself (--stall: a hung thread ends it with status 3);
# timeout(1) is the backstop should the process itself stop answering.
set +e
timeout -k 30 $((seconds * 2 + 600)) "${run[@]}" "$soak" --seconds "$seconds" "$@"
rc=$?
set -e
echo "== elfjit: soak ($config) exited with $rc after $((SECONDS - start)) s" >&2
exit $rc
