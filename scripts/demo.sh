#!/usr/bin/env bash
# Builds elfjit, compiles the three-object demo in examples/demo with the
# system compiler, and runs it in memory with `elfjit run` — no linker.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh

cmake -S . -B build-demo -DCMAKE_BUILD_TYPE=RelWithDebInfo -DEJ_TESTS=OFF >/dev/null
cmake --build build-demo -j"$(nproc)" --target elfjit >/dev/null
out=build-demo/demo
mkdir -p "$out"
for src in examples/demo/*.c; do
    cc -O2 -g -c "$src" -o "$out/$(basename "${src%.c}").o"
done
echo "\$ elfjit run $out/main.o $out/shapes.o $out/stats.o -- 1 2.5" >&2
build-demo/elfjit run "$out/main.o" "$out/shapes.o" "$out/stats.o" -- 1 2.5
