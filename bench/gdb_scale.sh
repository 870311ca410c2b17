#!/usr/bin/env bash
# GDB's JIT interface at scale, side by side in one run: bench/gdb_scale.c
# linking N one-function modules (all kept alive) without a debugger, under
# `gdb -batch -ex run` with elfjit's batched registration, and under gdb
# with one image per module (ELFJIT_GDB_BATCH=1, what elfjit did before
# batches; only up to OLD_MAX modules: it is quadratic).  Both usage
# patterns: link them all then call them, and call each right after its
# link (--call-each: every lookup makes elfjit announce at once).
#
#   bench/gdb_scale.sh [BUILD_DIR]      (default build-rel; Ns: 1000 4000 10000)
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build-rel}
OLD_MAX=${OLD_MAX:-4000}
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$dir" -j"$(nproc)" --target ej_gdb_scale >/dev/null
bin=$dir/bench/ej_gdb_scale
gdb_run() { timeout 1800 gdb -nx -batch -ex run --args "$@" 2>&1 | grep '^gdb_scale:'; }
for mode in "" --call-each; do
    for n in 1000 4000 10000; do
        echo "== N=$n ${mode:-(link all, then call)}"
        "$bin" "$n" $mode | sed 's/^/no debugger:   /'
        gdb_run "$bin" "$n" $mode | sed 's/^/gdb, batches:  /'
        if [ "$n" -le "$OLD_MAX" ]; then
            ELFJIT_GDB_BATCH=1 gdb_run "$bin" "$n" $mode | sed 's/^/gdb, 1 image per module: /'
        fi
    done
done
