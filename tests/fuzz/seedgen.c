/* Seeds that come from the library itself (run by seeds.sh):
 *
 *   fuzz_seedgen OUTDIR
 *
 * builds a few programs through the builder API for every machine, each
 * call made for real and also written down in fuzz_builder's input format
 * (fuzz_builder.h), and writes
 *   OUTDIR/builder/<name>.bin   the call sequence (a fuzz_builder seed);
 *   OUTDIR/object/<name>.o      the image the builder wrote (fuzz_object);
 *   OUTDIR/tables/<name>-traps.bin, <name>-addrmap.bin
 *                               its elfjit_traps and elfjit_addrmap
 *                               sections (fuzz_tables).
 * Exits non-zero when the builder or libelf fails. */
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "elfjit/builder.h"
#include "elfjit/elfjit.h"
#include "fuzz_builder.h"

typedef struct gen {
    ej_builder *b;
    uint8_t enc[16384];
    size_t n;
    uint32_t ids[EJF_B_MAX_OPS]; /* builder ids, in the decoder's record order */
    unsigned nids;
    int bad;                     /* a call that should have worked failed */
} gen;

static void e8(gen *g, unsigned v)
{
    if (g->n < sizeof g->enc)
        g->enc[g->n++] = (uint8_t)v;
}

static void enum_(gen *g, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        e8(g, (unsigned)(v >> (8 * i)) & 0xff);
}

static void ebytes(gen *g, const void *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        e8(g, ((const uint8_t *)p)[i]);
}

/* A name: K < 10 picks ejf_b_names[K], K >= 10 is "s<K - 10>". */
static const char *ename(gen *g, unsigned k)
{
    static char buf[16];
    if (k < 10) {
        e8(g, k);
        return ejf_b_names[k];
    }
    e8(g, 10);
    e8(g, k - 10);
    snprintf(buf, sizeof buf, "s%u", k - 10);
    return buf;
}

static void ealign(gen *g, unsigned log2)
{
    if (log2 == 99) {
        e8(g, 0);
        return;
    }
    e8(g, 0x80 + (log2 + 14 - 0x80 % 14) % 14);
}

static void eaddend(gen *g, int64_t a)
{
    if (a == 0) {
        e8(g, 0);
    } else if (a == -4) {
        e8(g, 1);
    } else {
        e8(g, 3);
        enum_(g, (uint64_t)a, 8);
    }
}

/* Index I of the decoder's record list (I < nids). */
static uint32_t eid(gen *g, unsigned i)
{
    e8(g, i);
    return i < g->nids ? g->ids[i] : UINT32_MAX;
}

static void eoff(gen *g, uint64_t off)
{
    e8(g, 2);
    enum_(g, off, 2);
}

static void expect(gen *g, ej_status st, int ok, const char *what)
{
    if ((st == EJ_OK) != ok) {
        fprintf(stderr, "seedgen: %s: %s (%s)\n", what, ej_status_name(st),
                ej_builder_errmsg(g->b));
        g->bad = 1;
    }
}

/* The calls.  OK says whether the call is meant to succeed. */
static unsigned func(gen *g, unsigned name, const void *code, size_t len, unsigned align,
                     int global, int ok)
{
    e8(g, EJF_B_FUNC);
    const char *n = ename(g, name);
    enum_(g, len, 2);
    e8(g, 0);
    ebytes(g, code, len);
    ealign(g, align);
    e8(g, global);
    uint32_t id;
    ej_status st = ej_builder_add_function(g->b, n, code, len,
                                           align == 99 ? 0 : (size_t)1 << align,
                                           global ? EJ_BIND_GLOBAL : EJ_BIND_LOCAL, &id);
    expect(g, st, ok, "add_function");
    if (st == EJ_OK)
        g->ids[g->nids++] = id;
    return g->nids - 1;
}

static unsigned data(gen *g, unsigned name, ej_data_kind kind, const void *bytes, size_t len,
                     unsigned align, int global, int ok)
{
    e8(g, EJF_B_DATA);
    const char *n = ename(g, name);
    e8(g, (unsigned)kind);
    if (len <= 4096) {
        e8(g, 0);
        enum_(g, len, 2);
    } else {
        e8(g, 2);
        enum_(g, len, 4);
    }
    if (kind == EJ_DATA_BSS) {
        e8(g, 0);
    } else if (bytes) {
        e8(g, 0);
        ebytes(g, bytes, len);
    } else {
        e8(g, 1);
    }
    ealign(g, align);
    e8(g, global);
    uint32_t id;
    ej_status st = ej_builder_add_data(g->b, n, kind, bytes, len,
                                       align == 99 ? 0 : (size_t)1 << align,
                                       global ? EJ_BIND_GLOBAL : EJ_BIND_LOCAL, &id);
    expect(g, st, ok, "add_data");
    if (st == EJ_OK)
        g->ids[g->nids++] = id;
    return g->nids - 1;
}

static unsigned import(gen *g, unsigned name)
{
    e8(g, EJF_B_IMPORT);
    const char *n = ename(g, name);
    uint32_t id;
    ej_status st = ej_builder_add_import(g->b, n, &id);
    expect(g, st, 1, "add_import");
    if (st == EJ_OK)
        g->ids[g->nids++] = id;
    return g->nids - 1;
}

static void reloc(gen *g, unsigned owner, uint64_t off, ej_reloc_kind kind, unsigned target,
                  int64_t addend, int ok)
{
    e8(g, EJF_B_RELOC);
    uint32_t o = eid(g, owner);
    eoff(g, off);
    e8(g, (unsigned)kind);
    uint32_t t = eid(g, target);
    eaddend(g, addend);
    expect(g, ej_builder_add_reloc(g->b, o, off, kind, t, addend), ok, "add_reloc");
}

static void trap(gen *g, unsigned fn, uint64_t off, uint32_t code, int ok)
{
    e8(g, EJF_B_TRAP);
    uint32_t f = eid(g, fn);
    eoff(g, off);
    enum_(g, code, 4);
    expect(g, ej_builder_add_trap(g->b, f, off, code), ok, "add_trap");
}

static void srcloc(gen *g, unsigned fn, uint64_t off, unsigned file, uint32_t line, int ok)
{
    e8(g, EJF_B_SRCLOC);
    uint32_t f = eid(g, fn);
    eoff(g, off);
    e8(g, file);
    enum_(g, line, 4);
    expect(g, ej_builder_add_srcloc(g->b, f, off, ejf_b_files[file], line), ok, "add_srcloc");
}

static void unwind(gen *g, unsigned fn, const void *cfi, size_t len, int ok)
{
    e8(g, EJF_B_UNWIND);
    uint32_t f = eid(g, fn);
    e8(g, (unsigned)len);
    e8(g, 0);
    ebytes(g, cfi, len);
    expect(g, ej_builder_set_unwind(g->b, f, cfi, len), ok, "set_unwind");
}

/* ---- output ---------------------------------------------------------- */

static const char *outdir;

static int write_file(const char *sub, const char *name, const void *p, size_t n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", outdir, sub);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/%s/%s", outdir, sub, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0) {
        fprintf(stderr, "seedgen: %s: %s\n", path, strerror(errno));
        return 1;
    }
    return 0;
}

/* The elfjit_traps and elfjit_addrmap sections of IMAGE, as table seeds. */
static int write_tables(const char *name, void *image, size_t len)
{
    Elf *e = elf_memory(image, len);
    size_t shstrndx;
    if (!e || elf_getshdrstrndx(e, &shstrndx) != 0) {
        fprintf(stderr, "seedgen: %s: %s\n", name, elf_errmsg(-1));
        if (e)
            elf_end(e);
        return 1;
    }
    int rc = 0;
    for (Elf_Scn *scn = NULL; (scn = elf_nextscn(e, scn));) {
        GElf_Shdr sh;
        if (!gelf_getshdr(scn, &sh))
            continue;
        const char *sn = elf_strptr(e, shstrndx, sh.sh_name);
        const char *kind = !sn                               ? NULL
                           : strcmp(sn, "elfjit_traps") == 0   ? "traps"
                           : strcmp(sn, "elfjit_addrmap") == 0 ? "addrmap"
                                                               : NULL;
        Elf_Data *d = kind ? elf_getdata(scn, NULL) : NULL;
        if (!d || !d->d_buf)
            continue;
        char file[256];
        snprintf(file, sizeof file, "%s-%s.bin", name, kind);
        rc |= write_file("tables", file, d->d_buf, d->d_size);
    }
    elf_end(e);
    return rc;
}

/* Image seeds: the objects of BUFS saved as an image, mapped and
 * deflated (a link-only link: any machine; those that do not link are
 * left out). */
static void write_images(const char *name, const void *const *bufs, const size_t *lens, int n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/image", outdir);
    mkdir(path, 0755);
    for (unsigned flags = 0; flags <= EJ_IMAGE_COMPRESS; flags += EJ_IMAGE_COMPRESS) {
        ej_linker *lk;
        if (ej_linker_create(&lk) != EJ_OK)
            return;
        int ok = 1;
        for (int i = 0; i < n && ok; i++)
            ok = ej_linker_add_buffer(lk, name, bufs[i], lens[i]) == EJ_OK;
        snprintf(path, sizeof path, "%s/image/%s%s.eji", outdir, name, flags ? "-z" : "");
        if (ok)
            ej_linker_save_image(lk, path, NULL, flags);
        ej_linker_free(lk);
    }
}

/* Image seeds from fuzz_link2's seeds (object pairs): OUTDIR/link2. */
static void images_of_pairs(void)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/link2", outdir);
    DIR *d = opendir(dir);
    for (struct dirent *e; d && (e = readdir(d));) {
        char path[8192];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        FILE *f = fopen(path, "rb");
        static uint8_t buf[1 << 17];
        size_t n = f ? fread(buf, 1, sizeof buf, f) : 0;
        if (f)
            fclose(f);
        if (n < 4 || e->d_name[0] == '.')
            continue;
        uint32_t w = (uint32_t)buf[0] | (uint32_t)buf[1] << 8 | (uint32_t)buf[2] << 16;
        size_t n1 = w > n - 4 ? n - 4 : w;
        const void *bufs[2] = {buf + 4, buf + 4 + n1};
        size_t lens[2] = {n1, n - 4 - n1};
        write_images(e->d_name, bufs, lens, 2);
    }
    if (d)
        closedir(d);
}

/* Finishes G (also in the call sequence) and writes the seeds NAME. */
static int finish(gen *g, const char *name, int write_object)
{
    char file[256];
    e8(g, EJF_B_FINISH);
    void *image = NULL;
    size_t len = 0;
    ej_status st = ej_builder_finish(g->b, &image, &len);
    int rc = g->bad;
    if (st != EJ_OK) {
        fprintf(stderr, "seedgen: %s: %s\n", name, ej_builder_errmsg(g->b));
        rc = 1;
    } else if (write_object) {
        snprintf(file, sizeof file, "%s.o", name);
        rc |= write_file("object", file, image, len);
        rc |= write_tables(name, image, len);
        const void *bufs[1] = {image};
        write_images(name, bufs, &len, 1);
    }
    free(image);
    snprintf(file, sizeof file, "%s.bin", name);
    rc |= write_file("builder", file, g->enc, g->n);
    return rc;
}

static gen *start(unsigned machine_sel)
{
    static const uint16_t machines[] = {0, EM_X86_64, EM_AARCH64, EM_RISCV};
    gen *g = calloc(1, sizeof *g);
    if (!g || ej_builder_create(&g->b, machines[machine_sel]) != EJ_OK) {
        fprintf(stderr, "seedgen: cannot create a builder for machine %u\n", machine_sel);
        exit(1);
    }
    e8(g, machine_sel);
    return g;
}

static void stop(gen *g)
{
    ej_builder_free(g->b);
    free(g);
}

/* ---- the programs ---------------------------------------------------- */

/* Per machine: a function that calls an import, takes an address
 * PC-relatively and loads one from the GOT (the offsets of those
 * fields), and call-frame instructions for its prologue. */
typedef struct arch {
    const char *name;
    unsigned sel;
    uint8_t code[64];
    size_t len;
    uint64_t call, pcrel, got, ret;
    int64_t call_add, pcrel_add, got_add;
    uint8_t cfi[8];
    size_t cfi_len;
} arch;

#define W32(x) (uint8_t)(x), (uint8_t)((x) >> 8), (uint8_t)((x) >> 16), (uint8_t)((x) >> 24)

static const arch arches[] = {
    {"x86_64", 1,
     {0x55, 0x48, 0x89, 0xe5, 0xe8, 0, 0, 0, 0, 0x48, 0x8d, 0x05, 0, 0, 0, 0,
      0x48, 0x8b, 0x05, 0, 0, 0, 0, 0x5d, 0xc3},
     25, 5, 12, 19, 24, -4, -4, -4,
     {0x41, 0x0e, 0x10, 0x86, 0x02}, 5},
    {"aarch64", 2,
     {W32(0xa9bf7bfdu), W32(0x94000000u), W32(0x90000000u), W32(0xf9400000u),
      W32(0xa8c17bfdu), W32(0xd65f03c0u), W32(0u)},
     28, 4, 24, 8, 20, 0, 0, 0,
     {0x44, 0x0e, 0x10, 0x9d, 0x02, 0x9e, 0x01}, 7},
    {"riscv64", 3,
     {W32(0xff010113u), W32(0x00113423u), W32(0x00000097u), W32(0x000080e7u),
      W32(0x00000517u), W32(0x00053503u), W32(0x00813083u), W32(0x01010113u),
      W32(0x00008067u), W32(0u)},
     40, 8, 36, 16, 32, 0, 0, 0,
     {0x44, 0x0e, 0x10, 0x48, 0x81, 0x01}, 6},
};

/* A whole program: imports, functions (global and local, aligned), data
 * of every kind, every relocation kind, traps, positions and CFI. */
static int program(const arch *a)
{
    gen *g = start(a->sel);
    static const uint8_t tab[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    static const uint8_t zero8[8];
    unsigned puts = import(g, 4), memcpy_ = import(g, 5);
    unsigned f = func(g, 0, a->code, a->len, 99, 1, 1);
    unsigned gf = func(g, 1, a->code, a->len, 6, 0, 1);
    unsigned t = data(g, 6, EJ_DATA_RODATA, tab, sizeof tab, 4, 1, 1);
    unsigned c = data(g, 8, EJ_DATA_DATA, zero8, 8, 3, 1, 1);
    unsigned z = data(g, 11, EJ_DATA_BSS, NULL, 256, 5, 0, 1);
    reloc(g, f, a->call, EJ_RELOC_CALL, puts, a->call_add, 1);
    reloc(g, f, a->pcrel, EJ_RELOC_PCREL32, t, a->pcrel_add, 1);
    reloc(g, f, a->got, EJ_RELOC_GOT_LOAD, c, a->got_add, 1);
    reloc(g, gf, a->call, EJ_RELOC_CALL, f, a->call_add, 1);
    reloc(g, gf, a->pcrel, EJ_RELOC_PCREL32, z, a->pcrel_add, 1);
    reloc(g, gf, a->got, EJ_RELOC_GOT_LOAD, memcpy_, a->got_add, 1);
    reloc(g, c, 0, EJ_RELOC_ABS64, f, 8, 1);
    trap(g, f, 0, 1, 1);
    trap(g, f, a->ret, 300, 1);
    trap(g, gf, 4, 4, 1);
    srcloc(g, f, 0, 0, 10, 1);
    srcloc(g, f, a->call, 0, 11, 1);
    srcloc(g, gf, 0, 1, 20, 1);
    unwind(g, f, a->cfi, a->cfi_len, 1);
    unwind(g, gf, a->cfi, a->cfi_len, 1);
    char name[64];
    snprintf(name, sizeof name, "builder-%s-program", a->name);
    int rc = finish(g, name, 1);
    stop(g);
    return rc;
}

/* One function, nothing else. */
static int minimal(const arch *a)
{
    gen *g = start(a->sel);
    func(g, 2, a->code + a->ret, a->len - a->ret, 99, 1, 1);
    char name[64];
    snprintf(name, sizeof name, "builder-%s-minimal", a->name);
    int rc = finish(g, name, 1);
    stop(g);
    return rc;
}

/* Refused calls, then additions after finish (refused too). */
static int refusals(const arch *a)
{
    gen *g = start(a->sel);
    unsigned f = func(g, 0, a->code, a->len, 99, 1, 1);
    func(g, 0, a->code, a->len, 99, 1, 0);            /* duplicate name */
    func(g, 1, a->code, a->len, 13, 1, 0);            /* 8 KiB alignment */
    unsigned z = data(g, 3, EJ_DATA_BSS, NULL, 64, 99, 1, 1);
    reloc(g, z, 0, EJ_RELOC_ABS64, f, 0, 0);          /* in .bss */
    reloc(g, f, a->len - 1, EJ_RELOC_ABS64, f, 0, 0); /* past the end */
    trap(g, z, 0, 1, 0);                              /* not a function */
    trap(g, f, a->len, 1, 0);                         /* outside */
    srcloc(g, f, a->len, 2, 1, 0);
    unwind(g, f, a->cfi, a->cfi_len, 1);
    unwind(g, f, a->cfi, a->cfi_len, 0);              /* twice */
    data(g, 12, EJ_DATA_BSS, NULL, (size_t)1 << 30, 99, 1, 1); /* 1 GiB */
    char name[64];
    snprintf(name, sizeof name, "builder-%s-refusals", a->name);
    int rc = finish(g, name, 1);
    /* The seed goes on after finish: an import (refused) and a second
     * finish (the same bytes). */
    e8(g, EJF_B_IMPORT);
    e8(g, 4);
    e8(g, EJF_B_FINISH);
    strcat(name, ".bin");
    rc |= write_file("builder", name, g->enc, g->n);
    stop(g);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s OUTDIR\n", argv[0]);
        return 2;
    }
    outdir = argv[1];
    mkdir(outdir, 0755);
    if (elf_version(EV_CURRENT) == EV_NONE)
        return 1;
    int rc = 0;
    for (size_t i = 0; i < sizeof arches / sizeof arches[0]; i++) {
        rc |= program(&arches[i]);
        rc |= minimal(&arches[i]);
        rc |= refusals(&arches[i]);
    }
    images_of_pairs();
    return rc;
}
