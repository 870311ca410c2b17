#!/usr/bin/env bash
# Fuzzes elfjit with libFuzzer (clang, ASan + UBSan): builds the fuzz
# configuration, builds the seed corpora from real compiler output, replays
# the regression inputs, then runs every fuzz target (tests/fuzz/README.md).
#
#   scripts/fuzz.sh short                  about 50 s per target (CI; ~5 min in all)
#   scripts/fuzz.sh long [SECONDS]         SECONDS per target (default 600)
#   scripts/fuzz.sh long -runs=N           N executions per target
#   scripts/fuzz.sh MODE ... -- TARGET...  only these targets (object,
#                                          link2, archive, image, tables,
#                                          builder)
#
# Each target runs with -fork=$FUZZ_JOBS (default: the number of cores)
# worker processes, -max_len=64 KiB, -timeout=10 s per input,
# -rss_limit_mb=2048, the dictionary tests/fuzz/elf.dict, and leak
# detection.  Corpora persist in $FUZZ_BUILD_DIR/corpus/<target> (default
# build-fuzz, not in git) and grow from run to run; the seeds are in
# $FUZZ_BUILD_DIR/seeds/<target>.
#
# Findings (crash-*, leak-*, timeout-*, oom-*, slow-unit-*) are saved in
# $FUZZ_BUILD_DIR/crashes/<target>/.  `short` stops a target at its first
# finding; `long` keeps going (-ignore_crashes etc.) to collect them all.
# Either way the script exits 1 when a target found anything or a
# regression input (tests/fuzz/regress/) fails, after the summary: the
# executions, time and findings of every target, parsed from libFuzzer's
# output (logs in $FUZZ_BUILD_DIR/logs/).  To keep a finding as a
# regression input: minimize it (the summary prints the command), copy it
# to tests/fuzz/regress/<target>/ with a descriptive name.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

usage() {
    # the comment at the top of this file
    awk 'NR == 1 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$0" >&2
    exit 2
}
mode=${1:-}
shift || true
case $mode in
short) per=45 runs="" ;;
long)
    per=600 runs=""
    if [ $# -gt 0 ] && [ "$1" != "--" ]; then
        case $1 in
        -runs=[0-9]*) runs=${1#-runs=} ;;
        [0-9]*) per=$1 ;;
        *) usage ;;
        esac
        shift
    fi
    ;;
*) usage ;;
esac
targets=(object link2 archive image tables builder)
if [ $# -gt 0 ]; then
    [ "$1" = "--" ] || usage
    shift
    [ $# -gt 0 ] && targets=("$@")
fi

B=${FUZZ_BUILD_DIR:-build-fuzz}
JOBS=${FUZZ_JOBS:-$(nproc)}
BUILD_JOBS=${FUZZ_BUILD_JOBS:-$JOBS}

# ---- tools: clang with libFuzzer and the sanitizer runtimes -----------------
scripts/deps.sh
if ! clang -fsanitize=fuzzer -x c - -o /dev/null 2>/dev/null <<<'
#include <stddef.h>
#include <stdint.h>
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { return 0; }'; then
    echo "fuzz: installing libFuzzer (libclang-rt-dev)" >&2
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO=sudo
    ver=$(clang --version | sed -n 's/.*clang version \([0-9]*\).*/\1/p' | head -1)
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends "libclang-rt-$ver-dev" >/dev/null
fi

# ---- build --------------------------------------------------------------
start=$SECONDS
echo "== fuzz: build ($B, clang, ASan + UBSan + libFuzzer)" >&2
cmake -S . -B "$B" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DEJ_FUZZ=ON -DEJ_TESTS=OFF -DEJ_BENCH=OFF >/dev/null
cmake --build "$B" -j"$BUILD_JOBS" --target fuzz_all >"$B/build.log" 2>&1 ||
    { tail -40 "$B/build.log" >&2; exit 1; }
bin=$B/tests/fuzz

# ---- seeds --------------------------------------------------------------
echo "== fuzz: seeds" >&2
# (short: the first 3 compiler modes, to stay within its time; a long run
# adds the others, and a later short run uses everything already built)
if [ "$mode" = short ]; then
    EJ_SEED_MODES=${EJ_SEED_MODES:-3} tests/fuzz/seeds.sh "$B/seeds" "$bin/fuzz_seedgen"
else
    tests/fuzz/seeds.sh "$B/seeds" "$bin/fuzz_seedgen"
fi

# The sanitizers' settings, for the replay and for libFuzzer's workers.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# ---- regression inputs ----------------------------------------------------
status=0
replay_failed=()
echo "== fuzz: replaying tests/fuzz/regress" >&2
mkdir -p "$B/logs"
for t in "${targets[@]}"; do
    if ! "$bin/fuzz_replay_$t" tests/fuzz/regress/"$t" >"$B/logs/replay-$t.log" 2>&1; then
        replay_failed+=("$t")
        status=1
        echo "fuzz: regression inputs of $t fail: $B/logs/replay-$t.log" >&2
        tail -20 "$B/logs/replay-$t.log" >&2
    fi
done

# ---- campaign -------------------------------------------------------------
if [ "$mode" = long ]; then
    keep_going=(-ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1)
else
    keep_going=()
fi
if [ -n "$runs" ]; then
    limit=(-runs="$runs")
    what="$runs executions"
else
    limit=(-max_total_time="$per")
    what="$per s"
fi
declare -A execs secs found
for t in "${targets[@]}"; do
    corpus=$B/corpus/$t
    crashes=$B/crashes/$t
    log=$B/logs/$mode-$t.log
    mkdir -p "$corpus" "$crashes"
    stamp=$B/logs/.start-$t
    : >"$stamp"
    echo "== fuzz: $t ($what, $JOBS workers; log $log)" >&2
    t0=$SECONDS
    rc=0
    "$bin/fuzz_$t" -fork="$JOBS" "${keep_going[@]}" "${limit[@]}" \
        -max_len=65536 -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=2048 \
        -detect_leaks=1 -dict=tests/fuzz/elf.dict -artifact_prefix="$crashes/" \
        -print_final_stats=1 "$corpus" "$B/seeds/$t" >"$log" 2>&1 || rc=$?
    secs[$t]=$((SECONDS - t0))
    # libFuzzer's status lines begin "#<executions>" (the fork mode's
    # parent counts its workers' executions).
    execs[$t]=$(grep -aoE '^#[0-9]+: ' "$log" | tail -1 | tr -d '#: ' || true)
    [ -n "${execs[$t]}" ] || execs[$t]=0
    found[$t]=$(find "$crashes" -type f -newer "$stamp" | wc -l)
    if [ "$rc" -ne 0 ] || [ "${found[$t]}" -ne 0 ]; then
        status=1
        echo "fuzz: $t: exit status $rc, ${found[$t]} finding(s) in $crashes/" >&2
        grep -aE 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|check failed:' "$log" |
            sort | uniq -c | head -10 >&2 || true
    fi
done

# ---- summary ----------------------------------------------------------------
total=0
echo >&2
echo "== fuzz: $mode campaign summary ($((SECONDS - start)) s in all)" >&2
printf '%-10s %14s %8s %9s\n' target executions seconds findings >&2
for t in "${targets[@]}"; do
    printf '%-10s %14s %8s %9s\n' "$t" "${execs[$t]}" "${secs[$t]}" "${found[$t]}" >&2
    total=$((total + execs[$t]))
done
printf '%-10s %14s\n' total "$total" >&2
for t in "${targets[@]}"; do
    for f in $(find "$B/crashes/$t" -type f -newer "$B/logs/.start-$t" | sort); do
        echo "finding: $f" >&2
        echo "  minimize: $bin/fuzz_$t -minimize_crash=1 -runs=100000 -exact_artifact_path=$f.min $f" >&2
    done
done
((${#replay_failed[@]} == 0)) || echo "failing regression inputs: ${replay_failed[*]}" >&2
exit $status
