#!/usr/bin/env python3
"""Deterministic generator of multi-object C programs for the elfjit benchmarks.

    gen.py [--objects N] [--functions M] [--preset small|medium|large]
           [--seed S] [--jobs J] [--no-compile] [--cc gcc] OUTDIR

Writes OUTDIR/src/obj_NNN.c (N objects of M functions each; main lives in
obj_000.c), compiles them with `gcc -O2 -c` (the compiler's default: PIE)
into OUTDIR/obj/, and writes OUTDIR/expected.txt (the one line main prints)
and OUTDIR/info.json (sizes and relocation counts).

What the program does, per object o:
  - gdata_o[64]   global initialised data, read from every object;
  - sdata_o[32]   static initialised data, read and written;
  - scratch_o[64] static .bss, read and written;
  - strtab_o[32]  a table of pointers to strings (relocated data);
  - ftab_o[16]    a global table of pointers to functions anywhere in the
                  program (const, in .data.rel.ro, for even o; writable, in
                  .data.rel, for odd o);
  - cmp_o         a static qsort comparator, called back from libc;
  - f_o_i(x, d)   M functions: a dense switch (a jump table), global data of
                  another object, static data, .bss, sometimes a libc call
                  (snprintf, strlen, memcpy, qsort), and when d > 0 a direct
                  call to f_p_i of another object p and an indirect call
                  through another object's ftab;
  - run_o(h)      calls every f_o_i with d = 1.
main() folds run_0 .. run_{N-1} over a seed, prints "checksum XXXXXXXX" and
returns 0 only when the value equals the one this script computed by
interpreting the same program in Python with 32-bit wraparound, so a wrong
relocation anywhere on an executed path gives a wrong checksum and exit 1.
"""
import argparse
import concurrent.futures
import hashlib
import json
import os
import subprocess
import sys

M32 = 0xFFFFFFFF
GD = 64      # global data words per object
SD = 32      # static data words per object
SCR = 64     # .bss words per object
KS = 32      # strings per object
FT = 16      # function-pointer table entries per object

PRESETS = {
    "small": (1, 10),
    "medium": (10, 200),
    "large": (50, 1000),
}


class Rng:
    """splitmix64: the same stream on every Python version."""

    def __init__(self, seed):
        self.s = seed & 0xFFFFFFFFFFFFFFFF

    def u64(self):
        self.s = (self.s + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
        z = self.s
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
        return z ^ (z >> 31)

    def below(self, n):
        return self.u64() % n

    def u32(self):
        return self.u64() & M32

    def odd(self):
        return self.u32() | 1

    def chance(self, percent):
        return self.below(100) < percent


SYLL = ["ka", "lo", "mi", "ne", "ru", "ta", "vo", "zi", "pe", "su", "qu", "xa",
        "do", "fe", "gi", "ho", "ju", "be", "co", "wy"]


def rotl(h, r):
    return ((h << r) | (h >> (32 - r))) & M32


# ---------------------------------------------------------------- the model

class Func:
    __slots__ = ("o", "i", "mul", "add", "sh", "cases", "gd", "sd", "libc",
                 "callee", "tab", "k1", "k2", "fin")


def build_program(nobj, nfun, seed):
    rng = Rng(seed * 1000003 + nobj * 7919 + nfun)
    objs = []
    for o in range(nobj):
        ob = {
            "gdata": [rng.u32() for _ in range(GD)],
            "sdata": [rng.u32() for _ in range(SD)],
            "strings": ["".join(SYLL[rng.below(len(SYLL))]
                                for _ in range(2 + rng.below(8)))
                        for _ in range(KS)],
            "ftab": [(rng.below(nobj), rng.below(nfun)) for _ in range(FT)],
            "funcs": [],
            "runk": [rng.u32() for _ in range(nfun)],
        }
        objs.append(ob)
    for o in range(nobj):
        for i in range(nfun):
            f = Func()
            f.o, f.i = o, i
            f.mul, f.add = rng.odd(), rng.u32()
            f.sh = rng.below(20)
            cases = []
            for _ in range(8 + rng.below(7)):
                k = rng.below(5)
                if k == 0:
                    cases.append(("muladd", rng.odd(), rng.u32()))
                elif k == 1:
                    cases.append(("rotxor", 1 + rng.below(31), rng.u32()))
                elif k == 2:
                    cases.append(("gload", rng.below(nobj), rng.below(GD)))
                elif k == 3:
                    cases.append(("xsmul", 1 + rng.below(31), rng.odd()))
                else:
                    cases.append(("sub", rng.u32(), 0))
            f.cases = cases
            f.gd = (rng.below(nobj), rng.below(GD))
            f.sd = rng.below(SD)
            r = rng.below(100)
            if r < 6:
                f.libc = ("snprintf", rng.below(3))
            elif r < 16:
                f.libc = ("strlen", rng.odd())
            elif r < 26:
                f.libc = ("memcpy", rng.below(nobj))
            elif r < 30:
                f.libc = ("qsort", rng.odd(), rng.odd())
            else:
                f.libc = None
            # The direct call goes to another object when there is one, to
            # the function of the same index there: run_o walks its
            # functions in order, so the callees are walked in order too and
            # the program's own run time stays small next to loading it
            # (random callees all over a 28 MB text triple it).
            co = rng.below(nobj)
            if nobj > 1 and co == o:
                co = (co + 1) % nobj
            f.callee = (co, (i + 1) % nfun if nobj == 1 else i)
            f.tab = rng.below(nobj)
            f.k1, f.k2 = rng.u32(), rng.u32()
            f.fin = 11 + rng.below(9)
            objs[o]["funcs"].append(f)
    return objs


# ---------------------------------------------------------------- C output

SNPRINTF_FMT = ['"%s:%u"', '"%s/%08x"', '"%u-%s"']


def c_func(f, objs):
    o = f.o
    L = []
    L.append("__attribute__((noinline)) uint32_t f_%d_%d(uint32_t x, uint32_t d)" % (o, f.i))
    L.append("{")
    L.append("    uint32_t h = x * %uu + %uu;" % (f.mul, f.add))
    L.append("    switch ((h >> %d) %% %du) {" % (f.sh, len(f.cases)))
    for n, c in enumerate(f.cases):
        if c[0] == "muladd":
            s = "h = h * %uu + %uu;" % (c[1], c[2])
        elif c[0] == "rotxor":
            s = "h = ((h << %d) | (h >> %d)) ^ %uu;" % (c[1], 32 - c[1], c[2])
        elif c[0] == "gload":
            s = "h += gdata_%d[%d];" % (c[1], c[2])
        elif c[0] == "xsmul":
            s = "h ^= h >> %d; h *= %uu;" % (c[1], c[2])
        else:
            s = "h = %uu - h;" % c[1]
        L.append("    case %d: %s break;" % (n, s))
    L.append("    }")
    L.append("    h ^= gdata_%d[%d];" % f.gd)
    L.append("    sdata_%d[%d] += h;" % (o, f.sd))
    L.append("    h += sdata_%d[%d] >> 3;" % (o, f.sd))
    L.append("    scratch_%d[h & 63u] ^= h;" % o)
    L.append("    h += scratch_%d[(h >> 6) & 63u];" % o)
    if f.libc:
        k = f.libc[0]
        if k == "snprintf":
            fmt = f.libc[1]
            args = ("strtab_%d[h %% %du], h" % (o, KS)) if fmt < 2 else ("h, strtab_%d[h %% %du]" % (o, KS))
            L.append("    { char buf[64]; int n = snprintf(buf, sizeof buf, %s, %s);" % (SNPRINTF_FMT[fmt], args))
            L.append("      h = h * 33u + (uint32_t)n + (unsigned char)buf[n >> 1]; }")
        elif k == "strlen":
            L.append("    h += (uint32_t)strlen(strtab_%d[(h >> 4) %% %du]) * %uu;" % (o, KS, f.libc[1]))
        elif k == "memcpy":
            L.append("    { uint32_t t[4] = {0, 0, 0, 0};")
            L.append("      memcpy(t, &gdata_%d[(h >> 2) %% %du], ((h & 3u) + 1u) * sizeof(uint32_t));" % (f.libc[1], GD - 4))
            L.append("      h += t[0] ^ (t[1] * 3u) ^ (t[2] * 5u) ^ (t[3] * 7u); }")
        else:
            L.append("    { uint32_t a[6];")
            L.append("      for (uint32_t k = 0; k < 6u; k++) a[k] = (h ^ (k * %uu)) * %uu;" % (f.libc[1], f.libc[2]))
            L.append("      qsort(a, 6, sizeof a[0], cmp_%d);" % o)
            L.append("      h += a[0] + a[5] * 3u + a[2]; }")
    L.append("    if (d) {")
    L.append("        h += f_%d_%d(h ^ %uu, d - 1u);" % (f.callee[0], f.callee[1], f.k1))
    L.append("        h ^= ftab_%d[h & %du](h + %uu, d - 1u);" % (f.tab, FT - 1, f.k2))
    L.append("    }")
    L.append("    return h ^ (h >> %d);" % f.fin)
    L.append("}")
    return "\n".join(L)


def c_object(o, objs, expected):
    ob = objs[o]
    nobj = len(objs)
    ext_funcs, ext_g, ext_t = set(), set(), set()
    for f in ob["funcs"]:
        for c in f.cases:
            if c[0] == "gload":
                ext_g.add(c[1])
        ext_g.add(f.gd[0])
        if f.libc and f.libc[0] == "memcpy":
            ext_g.add(f.libc[1])
        ext_funcs.add(f.callee)
        ext_t.add(f.tab)
    for (fo, fi) in ob["ftab"]:
        ext_funcs.add((fo, fi))
    out = ["/* generated by bench/gen.py: object %d of %d */" % (o, nobj),
           "#include <stdint.h>", "#include <stdio.h>", "#include <stdlib.h>",
           "#include <string.h>", ""]
    out.append("typedef uint32_t (*fn_t)(uint32_t, uint32_t);")
    for g in sorted(ext_g - {o}):
        out.append("extern uint32_t gdata_%d[%d];" % (g, GD))
    for t in sorted(ext_t - {o}):
        out.append("extern fn_t %sftab_%d[%d];" % ("const " if t % 2 == 0 else "", t, FT))
    for (fo, fi) in sorted(ext_funcs):
        out.append("uint32_t f_%d_%d(uint32_t, uint32_t);" % (fo, fi))
    out.append("")
    out.append("uint32_t gdata_%d[%d] = {%s};" % (o, GD, ", ".join("%uu" % v for v in ob["gdata"])))
    out.append("static uint32_t sdata_%d[%d] = {%s};" % (o, SD, ", ".join("%uu" % v for v in ob["sdata"])))
    out.append("static uint32_t scratch_%d[%d];" % (o, SCR))
    out.append("static const char *const strtab_%d[%d] = {%s};" % (o, KS, ", ".join('"%s"' % s for s in ob["strings"])))
    out.append("fn_t %sftab_%d[%d] = {%s};" % ("const " if o % 2 == 0 else "", o, FT,
                                             ", ".join("f_%d_%d" % e for e in ob["ftab"])))
    out.append("")
    out.append("static int cmp_%d(const void *a, const void *b)" % o)
    out.append("{")
    out.append("    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;")
    out.append("    return (x > y) - (x < y);")
    out.append("}")
    out.append("")
    for f in ob["funcs"]:
        out.append(c_func(f, objs))
        out.append("")
    out.append("uint32_t run_%d(uint32_t h);" % o)
    out.append("uint32_t run_%d(uint32_t h)" % o)
    out.append("{")
    for i, k in enumerate(ob["runk"]):
        out.append("    h = f_%d_%d(h ^ %uu, 1u);" % (o, i, k))
    out.append("    return h;")
    out.append("}")
    if o == 0:
        out.append("")
        for p in range(nobj):
            if p:
                out.append("uint32_t run_%d(uint32_t h);" % p)
        out.append("int main(void)")
        out.append("{")
        out.append("    uint32_t h = %uu;" % SEED_H)
        for p in range(nobj):
            out.append("    h = run_%d(h) * 2654435761u + %du;" % (p, p))
        out.append('    printf("checksum %08x\\n", h);')
        out.append("    return h == %uu ? 0 : 1;" % expected)
        out.append("}")
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------- the mirror

SEED_H = 0x12345678


class Machine:
    def __init__(self, objs):
        self.objs = objs
        self.sdata = [list(ob["sdata"]) for ob in objs]
        self.scratch = [[0] * SCR for _ in objs]

    def call(self, o, i, x, d):
        objs = self.objs
        f = objs[o]["funcs"][i]
        h = (x * f.mul + f.add) & M32
        c = f.cases[(h >> f.sh) % len(f.cases)]
        k = c[0]
        if k == "muladd":
            h = (h * c[1] + c[2]) & M32
        elif k == "rotxor":
            h = rotl(h, c[1]) ^ c[2]
        elif k == "gload":
            h = (h + objs[c[1]]["gdata"][c[2]]) & M32
        elif k == "xsmul":
            h ^= h >> c[1]
            h = (h * c[2]) & M32
        else:
            h = (c[1] - h) & M32
        h ^= objs[f.gd[0]]["gdata"][f.gd[1]]
        sd = self.sdata[o]
        sd[f.sd] = (sd[f.sd] + h) & M32
        h = (h + (sd[f.sd] >> 3)) & M32
        scr = self.scratch[o]
        scr[h & 63] ^= h
        h = (h + scr[(h >> 6) & 63]) & M32
        if f.libc:
            k = f.libc[0]
            if k == "snprintf":
                s = objs[o]["strings"][h % KS]
                fmt = f.libc[1]
                if fmt == 0:
                    buf = "%s:%u" % (s, h)
                elif fmt == 1:
                    buf = "%s/%08x" % (s, h)
                else:
                    buf = "%u-%s" % (h, s)
                n = len(buf)
                h = (h * 33 + n + ord(buf[n >> 1])) & M32
            elif k == "strlen":
                h = (h + len(objs[o]["strings"][(h >> 4) % KS]) * f.libc[1]) & M32
            elif k == "memcpy":
                g = objs[f.libc[1]]["gdata"]
                j = (h >> 2) % (GD - 4)
                n = (h & 3) + 1
                t = [g[j + q] if q < n else 0 for q in range(4)]
                h = (h + (t[0] ^ ((t[1] * 3) & M32) ^ ((t[2] * 5) & M32) ^ ((t[3] * 7) & M32))) & M32
            else:
                a = sorted((((h ^ ((q * f.libc[1]) & M32)) * f.libc[2]) & M32) for q in range(6))
                h = (h + a[0] + a[5] * 3 + a[2]) & M32
        if d:
            h = (h + self.call(f.callee[0], f.callee[1], h ^ f.k1, d - 1)) & M32
            to, ti = objs[f.tab]["ftab"][h & (FT - 1)]
            h ^= self.call(to, ti, (h + f.k2) & M32, d - 1)
        return h ^ (h >> f.fin)

    def main(self):
        h = SEED_H
        for p, ob in enumerate(self.objs):
            for i, k in enumerate(ob["runk"]):
                h = self.call(p, i, h ^ k, 1)
            h = (h * 2654435761 + p) & M32
        return h


# ---------------------------------------------------------------- driver

def compile_one(cc, cflags, src, obj):
    subprocess.run([cc] + cflags + ["-c", src, "-o", obj], check=True)


def elf_counts(path):
    """(relocation entries, bytes of SHF_ALLOC sections) of an ELF64 object."""
    import struct
    with open(path, "rb") as fh:
        data = fh.read()
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", data, 0x3A)
    n = alloc = 0
    for k in range(shnum):
        off = shoff + k * shentsize
        sh_type, sh_flags = struct.unpack_from("<IQ", data, off + 4)
        sh_size, = struct.unpack_from("<Q", data, off + 0x20)
        sh_entsize, = struct.unpack_from("<Q", data, off + 0x38)
        if sh_type in (4, 9) and sh_entsize:
            n += sh_size // sh_entsize
        if sh_flags & 2:  # SHF_ALLOC
            alloc += sh_size
    return n, alloc


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("outdir")
    ap.add_argument("--preset", choices=sorted(PRESETS))
    ap.add_argument("--objects", type=int)
    ap.add_argument("--functions", type=int)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--cc", default="gcc")
    ap.add_argument("--no-compile", action="store_true")
    a = ap.parse_args()
    nobj, nfun = PRESETS.get(a.preset, (None, None))
    nobj = a.objects or nobj
    nfun = a.functions or nfun
    if not nobj or not nfun:
        ap.error("give --preset or --objects and --functions")

    cflags = ["-O2"]
    # The generator's own text and its parameters name a workload; an
    # unchanged one is not regenerated or recompiled.
    with open(os.path.abspath(__file__), "rb") as fh:
        stamp = hashlib.sha256(fh.read() + repr((nobj, nfun, a.seed, a.cc, cflags)).encode()).hexdigest()
    stampf = os.path.join(a.outdir, "stamp")
    if not a.no_compile and os.path.exists(stampf) and open(stampf).read().strip() == stamp:
        print("gen.py: %s is up to date" % a.outdir, file=sys.stderr)
        return 0

    objs = build_program(nobj, nfun, a.seed)
    expected = Machine(objs).main()
    srcdir = os.path.join(a.outdir, "src")
    objdir = os.path.join(a.outdir, "obj")
    os.makedirs(srcdir, exist_ok=True)
    os.makedirs(objdir, exist_ok=True)
    for d in (srcdir, objdir):
        for name in os.listdir(d):
            os.unlink(os.path.join(d, name))
    width = max(3, len(str(nobj - 1)))
    names = ["obj_%0*d" % (width, o) for o in range(nobj)]
    for o in range(nobj):
        with open(os.path.join(srcdir, names[o] + ".c"), "w") as fh:
            fh.write(c_object(o, objs, expected))
    with open(os.path.join(a.outdir, "expected.txt"), "w") as fh:
        fh.write("checksum %08x\n" % expected)
    if a.no_compile:
        return 0
    with concurrent.futures.ThreadPoolExecutor(max_workers=a.jobs) as ex:
        futs = [ex.submit(compile_one, a.cc, cflags, os.path.join(srcdir, n + ".c"),
                          os.path.join(objdir, n + ".o")) for n in names]
        for fu in futs:
            fu.result()
    objfiles = [os.path.join(objdir, n + ".o") for n in names]
    info = {
        "objects": nobj, "functions_per_object": nfun, "seed": a.seed,
        "cc": a.cc, "cflags": cflags,
        "bytes": sum(os.path.getsize(p) for p in objfiles),
        "alloc_bytes": sum(elf_counts(p)[1] for p in objfiles),
        "relocations": sum(elf_counts(p)[0] for p in objfiles),
        "expected": "checksum %08x" % expected,
    }
    with open(os.path.join(a.outdir, "info.json"), "w") as fh:
        json.dump(info, fh, indent=1)
    with open(stampf, "w") as fh:
        fh.write(stamp + "\n")
    print("gen.py: %s: %d objects x %d functions, %.2f MB of objects (%.2f MB loaded), "
          "%d relocations, %s" % (a.outdir, nobj, nfun, info["bytes"] / 1e6,
                                  info["alloc_bytes"] / 1e6, info["relocations"], info["expected"]),
        file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
