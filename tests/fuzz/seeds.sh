#!/usr/bin/env bash
# Builds the fuzz targets' seed corpora from real compiler output (the
# project's test fixtures, compiled now for x86_64, aarch64 and riscv64 by
# every compiler found, in several modes) and from the builder
# (fuzz_seedgen).  scripts/fuzz.sh runs it; nothing it writes is in git.
#
#   tests/fuzz/seeds.sh OUTDIR SEEDGEN
#
# OUTDIR/object   one object per fixture, compiler and mode
# OUTDIR/link2    pairs of objects of one program (fuzz_link2's format:
#                 a 4-byte little-endian length of the first, then both)
# OUTDIR/archive  a program's main.o and an archive of its other objects
#                 (fuzz_archive's format: a 4-byte length of the object,
#                 then both), GNU with and without an index, BSD, and
#                 --whole-archive
# OUTDIR/image    images (ej_linker_save_image, mapped and deflated) of the
#                 builder's programs and of the link2 pairs (fuzz_seedgen)
# OUTDIR/tables   the trap tables and address maps of builder images
# OUTDIR/builder  builder call sequences
#
# Compilers (each used when present): gcc, clang (x86_64),
# aarch64-linux-gnu-gcc, riscv64-linux-gnu-gcc, clang --target=aarch64 /
# riscv64.  Modes: -O0 / -O2, -g (and zlib-compressed -gz), -fPIC,
# -ffunction-sections, code models (-mcmodel=large, medlow/medany, tiny),
# -mno-relax.  Sources: tests/unit/objs/*.{c,S}, tests/unit/objs_debug/*.c,
# tests/negative/fixtures/*.{c,S}, tests/fixtures/progs/*/*.c and
# tests/reloc/<arch>/*.{c,s,S}.  A source that does not compile in a mode
# (some need macros their tests pass) is skipped.  Outputs are kept and
# only rebuilt when their source is newer (delete seeds/work after changing
# the modes); objects larger
# than 64 KiB (the targets' -max_len) are left out.
set -euo pipefail
out=${1:?usage: seeds.sh OUTDIR SEEDGEN}
seedgen=${2:?usage: seeds.sh OUTDIR SEEDGEN}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
work=$out/work
# (the corpora are rebuilt from the cache in $work every time)
rm -rf "$out"/object "$out"/link2 "$out"/archive "$out"/image "$out"/tables "$out"/builder
mkdir -p "$out"/object "$out"/link2 "$out"/archive "$out"/tables "$out"/builder "$work"
max=65536

have() { command -v "$1" >/dev/null 2>&1; }

# compiler table: "TAG ARCH COMMAND..." (TAG names the outputs)
compilers=()
have gcc && compilers+=("gcc x86_64 gcc")
have clang && compilers+=("clang x86_64 clang")
have aarch64-linux-gnu-gcc && compilers+=("a64gcc aarch64 aarch64-linux-gnu-gcc")
have riscv64-linux-gnu-gcc && compilers+=("rvgcc riscv64 riscv64-linux-gnu-gcc")
if have clang; then
    have aarch64-linux-gnu-gcc && compilers+=("a64clang aarch64 clang --target=aarch64-linux-gnu")
    have riscv64-linux-gnu-gcc && compilers+=("rvclang riscv64 clang --target=riscv64-linux-gnu")
fi

# modes per architecture, most useful first (EJ_SEED_MODES=N keeps the
# first N: scripts/fuzz.sh short uses 3)
modes_for() {
    local m
    case $1 in
    x86_64) m=("-O0" "-O2 -g" "-O1 -fno-pic -mcmodel=large"
               "-O2 -fPIC -ffunction-sections -fdata-sections" "-Os -g -gz=zlib"
               "-O2 -fno-pic -mcmodel=medium" "-O2 -fPIE -fno-plt") ;;
    aarch64) m=("-O0" "-O2 -g" "-O1 -fno-pic -mcmodel=large"
                "-O2 -fPIC -ffunction-sections -fdata-sections" "-Os -g -gz=zlib"
                "-O2 -mcmodel=tiny") ;;
    riscv64) m=("-O0" "-O2 -g" "-O1 -fno-pic -mcmodel=medlow"
                "-O2 -fPIC -ffunction-sections -fdata-sections" "-Os -g -gz=zlib"
                "-O2 -mcmodel=medany" "-O2 -mno-relax") ;;
    esac
    printf '%s\n' "${m[@]:0:${EJ_SEED_MODES:-99}}"
}

# sources per architecture: "FILE EXTRA-FLAGS"
sources_for() {
    local arch=$1 f d
    for f in "$root"/tests/unit/objs/*.c "$root"/tests/unit/objs/*.S \
             "$root"/tests/unit/objs_debug/*.c \
             "$root"/tests/negative/fixtures/*.c "$root"/tests/negative/fixtures/*.S; do
        [ -e "$f" ] && echo "$f -fcommon"
    done
    for d in "$root"/tests/fixtures/progs/*/; do
        local extra="-I$d"
        [ -e "$d/cflags" ] && extra="$extra $(tr '\n' ' ' <"$d/cflags")"
        for f in "$d"*.c; do
            [ -e "$f" ] && echo "$f $extra"
        done
    done
    for f in "$root"/tests/reloc/"$arch"/*.c "$root"/tests/reloc/"$arch"/*.s \
             "$root"/tests/reloc/"$arch"/*.S; do
        [ -e "$f" ] && echo "$f -I$root/tests/reloc/$arch"
    done
}

# The compile jobs, one line each: OUT<TAB>COMMAND (run by bash -c).
jobs=$work/jobs.txt
: >"$jobs"
for c in "${compilers[@]}"; do
    read -r tag arch cmd <<<"$c"
    i=0
    while read -r mode; do
        i=$((i + 1))
        while read -r src extra; do
            rel=${src#"$root"/tests/}
            name=${rel//\//_}
            o=$work/$arch/$tag-m$i-${name%.*}.o
            # Assembly files (.s) take no C modes but the first.
            case $src in *.s) [ $i -eq 1 ] || continue ;; esac
            if [ -s "$o" ] && [ "$o" -nt "$src" ]; then
                continue
            fi
            [ -e "$o.fail" ] && [ "$o.fail" -nt "$src" ] && continue
            printf '%s\t%s %s %s -w -c %s -o %s\n' "$o" "$cmd" "$mode" "$extra" "$src" "$o" >>"$jobs"
        done < <(sources_for "$arch")
    done < <(modes_for "$arch")
    mkdir -p "$work/$arch"
done
njobs=$(wc -l <"$jobs")
echo "seeds: $njobs compiles (${#compilers[@]} compilers)" >&2
# Two at a time (the machine has two cores); a failure leaves OUT.fail.
xargs -d '\n' -r -P2 -n1 bash -c \
    'IFS=$'"'"'\t'"'"' read -r o c <<<"$1"; rm -f "$o.fail"; $c 2>/dev/null || { rm -f "$o"; : >"$o.fail"; }' _ <"$jobs"

# object: every compiled object up to max_len
find "$work/" -name '*.o' -size +0 -size -$((max + 1))c -exec ln -f -t "$out/object" {} +
echo "seeds: $(ls "$out/object" | wc -l) objects" >&2

# link2: the main.o of each program with each other object of it, and the
# relocation fixtures' pairs (relocs + other), per compiler and mode.
declare -A size
while read -r sz path; do size[$path]=$sz; done < <(find "$work/" -name '*.o' -size +0 -printf '%s %p\n')
pair() {
    local a=$1 b=$2 dst=$3 flags=${4:-0} esc
    [ -n "${size[$a]:-}" ] && [ -n "${size[$b]:-}" ] || return 1
    local sa=${size[$a]} sb=${size[$b]}
    [ $((sa + sb + 4)) -le $max ] || return 1
    local w=$((sa | (flags << 24)))
    printf -v esc '\\x%02x\\x%02x\\x%02x\\x%02x' $((w & 255)) $(((w >> 8) & 255)) \
        $(((w >> 16) & 255)) $(((w >> 24) & 255))
    { printf "$esc"; cat "$a" "$b"; } >"$dst"
}
n=0
for arch_dir in "$work"/*/; do
    for m in "$arch_dir"*-fixtures_progs_*_main.o; do
        [ -e "$m" ] || continue
        base=${m%_main.o}
        for o in "$base"_*.o; do
            [ "$o" = "$m" ] && continue
            pair "$m" "$o" "$out/link2/${o##*/}.bin" && n=$((n + 1))
        done
    done
    for r in "$arch_dir"*-m1-reloc_*_relocs.o; do
        [ -e "$r" ] || continue
        # also with the host resolving (flag bit 0) and another base (bits 1-2)
        o=${r%relocs.o}other.o
        pair "$r" "$o" "$out/link2/${r##*/}.bin" 0 && n=$((n + 1))
        pair "$r" "$o" "$out/link2/${r##*/}-host.bin" 1 && n=$((n + 1))
        pair "$r" "$o" "$out/link2/${r##*/}-low.bin" 2 && n=$((n + 1))
    done
done
echo "seeds: $n object pairs" >&2

# archive: each program's main.o with an archive of the rest of its
# objects (llvm-ar: one tool for every machine), in several forms.
n=0
ar=$(command -v llvm-ar-14 || command -v llvm-ar || true)
for arch_dir in "$work"/*/; do
    [ -n "$ar" ] || break
    for m in "$arch_dir"*-fixtures_progs_*_main.o; do
        [ -e "$m" ] || continue
        base=${m%_main.o}
        members=()
        for o in "$base"_*.o; do
            [ "$o" = "$m" ] || members+=("$o")
        done
        ((${#members[@]})) || continue
        stem=$work/ar-${m##*/}
        rm -f "$stem".gnu.a "$stem".noidx.a "$stem".bsd.a
        "$ar" rc --format=gnu "$stem".gnu.a "${members[@]}" 2>/dev/null || continue
        "$ar" rcS --format=gnu "$stem".noidx.a "${members[@]}" 2>/dev/null || true
        "$ar" rc --format=bsd "$stem".bsd.a "${members[@]}" 2>/dev/null || true
        for form in gnu:0 noidx:0 bsd:4 gnu:10; do
            a=$stem.${form%:*}.a
            [ -e "$a" ] || continue
            size[$a]=$(stat -c %s "$a")
            pair "$m" "$a" "$out/archive/${m##*/}-${form/:/-}.bin" "${form#*:}" && n=$((n + 1))
        done
    done
done
echo "seeds: $n object + archive pairs" >&2

# builder: call sequences, builder images and their tables
"$seedgen" "$out"
echo "seeds: $(ls "$out/builder" | wc -l) builder sequences, $(ls "$out/tables" | wc -l) tables," \
    "$(ls "$out/image" 2>/dev/null | wc -l) images" >&2
