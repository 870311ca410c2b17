#!/usr/bin/env bash
# Builds elfjit and runs the whole test suite: a normal build (the suite
# twice: code memory as probed, then forced onto dual mapping), then an
# AddressSanitizer + UndefinedBehaviorSanitizer build; the registry,
# live-module and soak tests under ThreadSanitizer; a short fuzz campaign;
# then cross-builds for aarch64 and riscv64 and runs the suite again under
# qemu-user (scripts/test-cross.sh).  Exits non-zero when any test fails.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh

JOBS=$(nproc)
run_suite() {
    local dir=$1; shift
    cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
    cmake --build "$dir" -j"$JOBS"
    ctest --test-dir "$dir" --output-on-failure -j"$JOBS"
}

echo "== elfjit: build and test (RelWithDebInfo)" >&2
run_suite build
# The same suite on the dual-mapping code memory backend (what hosts that
# refuse to make written memory executable get; see src/codemem).
echo "== elfjit: the suite again, code memory forced to dual mapping" >&2
ELFJIT_CODEMEM=dual ctest --test-dir build --output-on-failure -j"$JOBS"
echo "== elfjit: build and test (ASan + UBSan)" >&2
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    run_suite build-asan -DEJ_SANITIZE=ON
# ThreadSanitizer, on the tests written for it: the lock-free code
# registry's concurrency and signal tests and real modules linked and freed
# while other threads look PCs up (tests/runtime), and a short soak
# (tests/soak: threads linking, running, trapping, looking PCs up and
# unloading; scripts/soak.sh runs it for minutes), and hot swap under
# concurrent callers and concurrent first calls of lazy names
# (tests/unit/test_hotswap.c, test_lazy_session.c).  Notes:
#  - EJ_CRITERION=shim: Criterion itself crashes under TSan (its BoxFort
#    arena; https://github.com/Snaipe/Criterion/issues/274), the shim is a
#    drop-in runner (tests/shim).
#  - setarch -R (no ASLR for ctest and the test it starts): gcc's TSan
#    runtime aborts with "unexpected memory mapping" on kernels that
#    randomize mmap with more bits than its fixed shadow layout allows;
#    without ASLR the layout is always the expected one.
echo "== elfjit: registry test (ThreadSanitizer)" >&2
cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DEJ_TSAN=ON -DEJ_BENCH=OFF \
    -DEJ_CRITERION=shim >/dev/null
cmake --build build-tsan -j"$JOBS" --target test_registry test_live_modules soak \
    soak_thread_probe test_hotswap test_lazy_session
TSAN_OPTIONS=halt_on_error=1 setarch "$(uname -m)" -R \
    ctest --test-dir build-tsan -R '^(registry|live_modules|soak_short|test_hotswap|test_lazy_session)$' \
    --output-on-failure --no-tests=error
# A short fuzz campaign (about 45 s per target, libFuzzer with ASan+UBSan;
# tests/fuzz/README.md): any crash, leak or timeout fails the run.
echo "== elfjit: short fuzz campaign (scripts/fuzz.sh short)" >&2
fuzz_status=0
scripts/fuzz.sh short || fuzz_status=1
# Both architectures run even when the first fails; either failing fails
# the whole run.
cross_status=0
for arch in aarch64 riscv64; do
    echo "== elfjit: cross build and test under qemu-user ($arch)" >&2
    JOBS=$JOBS scripts/test-cross.sh "$arch" || cross_status=1
done
exit $((cross_status | fuzz_status))
