/* fuzz_builder: a sequence of builder calls decoded from the input
 * (format: fuzz_builder.h) drives elfjit/builder.h: functions, data of
 * every kind, imports, relocations of every generic kind, trap sites,
 * source positions and call-frame instructions, with good and bad
 * arguments, then ej_builder_finish and a link-only link of the image.
 *
 * Checked: every refused call returns a known status with a message and
 * changes nothing a later call could trip on; after finish every addition
 * is refused and a second finish gives the same bytes; elfjit accepts
 * (ej_linker_add_buffer) every image the builder writes; and when the
 * image links, each global function and data object is exported, and
 * ej_module_lookup_pc names each global function and gives back the trap
 * codes and source positions recorded in it. */
#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "elfjit/builder.h"
#include "fuzz.h"
#include "fuzz_builder.h"

typedef struct in {
    const uint8_t *p;
    size_t n;
} in;

static uint8_t u8(in *r)
{
    if (!r->n)
        return 0;
    r->n--;
    return *r->p++;
}

static uint64_t unum(in *r, int bytes)
{
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++)
        v |= (uint64_t)u8(r) << (8 * i);
    return v;
}

/* N bytes into BUF (zeros past the end of the input). */
static void take(in *r, uint8_t *buf, size_t n)
{
    size_t k = n < r->n ? n : r->n;
    memcpy(buf, r->p, k);
    memset(buf + k, 0, n - k);
    r->p += k;
    r->n -= k;
}

#define MAX_SYMS EJF_B_MAX_OPS

#define MAX_SITES 128

typedef struct sym {
    uint32_t id;
    int func;       /* a function (else data or an import) */
    int defined;    /* function or data */
    int global;
    int checkable;  /* a name the oracle may look up */
    uint64_t size;
    char name[24];
} sym;

typedef struct site {
    int sym;        /* index into syms */
    uint64_t off;
    uint32_t x, y;  /* trap: code; position: file index, line */
} site;

typedef struct state {
    in r;
    ej_builder *b;
    uint16_t machine;
    int finished;
    sym syms[MAX_SYMS];
    int nsyms;
    site traps[MAX_SITES], lines[MAX_SITES];
    int ntraps, nlines;
    uint8_t buf[4096 + 64];
    char rawname[17];
} state;

/* A status from the builder: a known one, with a message when it failed. */
static void check_status(state *s, ej_status st, const char *what)
{
    EJF_CHECK(strcmp(ej_status_name(st), "UNKNOWN") != 0, "%s: status %d", what, (int)st);
    ejf_note(what, st, ej_builder_errmsg(s->b));
    if (st != EJ_OK)
        ejf_check_failure(st, ej_builder_errmsg(s->b), what);
    if (st == EJ_OK && s->finished)
        ejf_fail(__FILE__, __LINE__, "finished", "%s succeeded after ej_builder_finish", what);
}

static const char *pick_name(state *s, int *checkable)
{
    static char gen[16];
    uint8_t k = u8(&s->r) % 16;
    *checkable = 0;
    if (k < 10) {
        *checkable = 1;
        return ejf_b_names[k];
    }
    if (k < 13) {
        *checkable = 1;
        snprintf(gen, sizeof gen, "s%u", (unsigned)u8(&s->r));
        return gen;
    }
    if (k == 13)
        return "";
    if (k == 14)
        return NULL;
    size_t n = u8(&s->r) % 16;
    take(&s->r, (uint8_t *)s->rawname, n);
    s->rawname[n] = '\0';
    return s->rawname;
}

/* An id: mostly one handed out, sometimes any number. *IDX receives the
 * index into s->syms, or -1. */
static uint32_t pick_id(state *s, int *idx)
{
    uint8_t b = u8(&s->r);
    *idx = -1;
    if (b < 0xf0 && s->nsyms) {
        *idx = b % s->nsyms;
        return s->syms[*idx].id;
    }
    uint32_t id = (uint32_t)unum(&s->r, 4);
    for (int i = 0; i < s->nsyms; i++)
        if (s->syms[i].id == id)
            *idx = i;
    return id;
}

static uint64_t pick_offset(state *s, int idx)
{
    uint64_t size = idx >= 0 ? s->syms[idx].size : 0;
    switch (u8(&s->r) % 4) {
    case 0:
        return u8(&s->r);
    case 1:
        return size - u8(&s->r) % 9;
    case 2:
        return unum(&s->r, 2);
    default:
        return unum(&s->r, 8);
    }
}

static size_t pick_align(state *s)
{
    uint8_t b = u8(&s->r);
    if (b < 0x80)
        return 0;
    if (b < 0xf0)
        return (size_t)1 << (b % 14);
    return b - 0xf0u;
}

static ej_bind pick_bind(state *s)
{
    uint8_t b = u8(&s->r) % 3;
    return b == 2 ? (ej_bind)7 : (ej_bind)b;
}

static int64_t pick_addend(state *s)
{
    switch (u8(&s->r) % 4) {
    case 0:
        return 0;
    case 1:
        return -4;
    case 2:
        return (int8_t)u8(&s->r);
    default:
        return (int64_t)unum(&s->r, 8);
    }
}

static void record(state *s, uint32_t id, const char *name, int checkable, int func,
                   int defined, ej_bind bind, uint64_t size)
{
    for (int i = 0; i < s->nsyms; i++)
        EJF_CHECK(s->syms[i].id != id || (!defined && !s->syms[i].defined &&
                                           strcmp(s->syms[i].name, name) == 0),
                  "id %u handed out twice ('%s')", id, name);
    if (s->nsyms == MAX_SYMS)
        return;
    sym *y = &s->syms[s->nsyms++];
    *y = (sym){.id = id, .func = func, .defined = defined, .global = bind == EJ_BIND_GLOBAL,
               .checkable = checkable && strlen(name) < sizeof y->name, .size = size};
    snprintf(y->name, sizeof y->name, "%s", name);
}

static void op_func(state *s)
{
    int checkable;
    const char *name = pick_name(s, &checkable);
    size_t len = unum(&s->r, 2) % 4097;
    int null_code = u8(&s->r) & 1;
    take(&s->r, s->buf, len);
    size_t align = pick_align(s);
    ej_bind bind = pick_bind(s);
    uint32_t id = UINT32_MAX;
    ej_status st = ej_builder_add_function(s->b, name, null_code ? NULL : s->buf, len, align,
                                           bind, &id);
    check_status(s, st, "ej_builder_add_function");
    if (st == EJ_OK)
        record(s, id, name, checkable, 1, 1, bind, len);
}

static void op_data(state *s)
{
    static const ej_data_kind kinds[] = {EJ_DATA_RODATA, EJ_DATA_DATA, EJ_DATA_BSS,
                                         (ej_data_kind)9};
    int checkable;
    const char *name = pick_name(s, &checkable);
    ej_data_kind kind = kinds[u8(&s->r) % 4];
    size_t len;
    switch (u8(&s->r) % 4) {
    case 0:
        len = unum(&s->r, 2) % 4097;
        break;
    case 1:
        len = u8(&s->r);
        break;
    case 2:
        len = (size_t)(unum(&s->r, 4) & 0x7fffffff);
        /* Bytes (given or zeros) are only allocated up to 4 KiB. */
        if (kind != EJ_DATA_BSS)
            len %= 4097;
        break;
    default:
        len = ((size_t)1 << 31) + 1 + u8(&s->r); /* refused before anything is allocated */
        break;
    }
    uint8_t flags = u8(&s->r);
    const void *bytes = NULL;
    if (kind != EJ_DATA_BSS ? !(flags & 1) : (flags & 2) != 0) {
        size_t n = len <= 4096 ? len : 0;
        take(&s->r, s->buf, n);
        /* Only a length the buffer holds is passed with bytes (a longer
         * one is the caller's error, not the builder's). */
        bytes = len <= 4096 ? s->buf : NULL;
    }
    size_t align = pick_align(s);
    ej_bind bind = pick_bind(s);
    uint32_t id = UINT32_MAX;
    ej_status st = ej_builder_add_data(s->b, name, kind, bytes, len, align, bind, &id);
    check_status(s, st, "ej_builder_add_data");
    if (st == EJ_OK)
        record(s, id, name, checkable, 0, 1, bind, len);
}

static void op_import(state *s)
{
    int checkable;
    const char *name = pick_name(s, &checkable);
    uint32_t id = UINT32_MAX;
    ej_status st = ej_builder_add_import(s->b, name, &id);
    check_status(s, st, "ej_builder_add_import");
    if (st == EJ_OK)
        record(s, id, name, 0, 0, 0, EJ_BIND_GLOBAL, 0);
}

static void op_reloc(state *s)
{
    int owner_idx, target_idx;
    uint32_t owner = pick_id(s, &owner_idx);
    uint64_t off = pick_offset(s, owner_idx);
    uint8_t k = u8(&s->r) % 5;
    ej_reloc_kind kind = k == 4 ? (ej_reloc_kind)(u8(&s->r) & 1 ? -1 : EJ_RELOC_KIND_COUNT)
                                : (ej_reloc_kind)k;
    uint32_t target = pick_id(s, &target_idx);
    int64_t addend = pick_addend(s);
    ej_status st = ej_builder_add_reloc(s->b, owner, off, kind, target, addend);
    check_status(s, st, "ej_builder_add_reloc");
}

static void op_site(state *s, int trap)
{
    int idx;
    uint32_t func = pick_id(s, &idx);
    uint64_t off = pick_offset(s, idx);
    ej_status st;
    uint32_t x, y = 0;
    if (trap) {
        x = (uint32_t)unum(&s->r, 4);
        st = ej_builder_add_trap(s->b, func, off, x);
        check_status(s, st, "ej_builder_add_trap");
    } else {
        uint8_t f = u8(&s->r) % 4;
        y = (uint32_t)unum(&s->r, 4);
        x = f;
        st = ej_builder_add_srcloc(s->b, func, off, f < 3 ? ejf_b_files[f] : NULL, y);
        check_status(s, st, "ej_builder_add_srcloc");
    }
    if (st != EJ_OK)
        return;
    EJF_CHECK(idx >= 0 && s->syms[idx].func && off < s->syms[idx].size,
              "a site at 0x%llx accepted outside every function", (unsigned long long)off);

    site *v = trap ? s->traps : s->lines;
    int *n = trap ? &s->ntraps : &s->nlines;
    if (*n < MAX_SITES)
        v[(*n)++] = (site){idx, off, x, y};
}

static void op_unwind(state *s)
{
    int idx;
    uint32_t func = pick_id(s, &idx);
    size_t len = u8(&s->r) % 64;
    int null_cfi = u8(&s->r) & 1;
    take(&s->r, s->buf, len);
    ej_status st = ej_builder_set_unwind(s->b, func, null_cfi ? NULL : s->buf, len);
    check_status(s, st, "ej_builder_set_unwind");
}

/* What the oracle expects of a linked image (see the file comment). */
static void check_module(state *s, ej_module *m)
{
    for (int i = 0; i < s->nsyms; i++) {
        const sym *y = &s->syms[i];
        if (!y->defined || !y->global || !y->checkable)
            continue;
        void *a = ej_module_symbol(m, y->name);
        EJF_CHECK(a != NULL, "global '%s' is not exported", y->name);
        if (!y->func)
            continue;
        ej_pc_info info;
        uint64_t pc = (uint64_t)(uintptr_t)a;
        EJF_CHECK(ej_module_lookup_pc(m, pc, &info) == 1 && info.function &&
                      strcmp(info.function, y->name) == 0 && info.offset == 0,
                  "ej_module_lookup_pc does not name function '%s'", y->name);
        for (int t = 0; t < s->ntraps; t++) {
            if (s->traps[t].sym != i)
                continue;
            uint64_t at = pc + s->traps[t].off;
            EJF_CHECK(ej_module_lookup_pc(m, at, &info) == 1 && info.has_trap &&
                          info.trap_code == s->traps[t].x,
                      "'%s'+0x%llx: trap code %u not found", y->name,
                      (unsigned long long)s->traps[t].off, s->traps[t].x);
        }
        for (int l = 0; l < s->nlines; l++) {
            if (s->lines[l].sym != i)
                continue;
            uint64_t at = pc + s->lines[l].off;
            EJF_CHECK(ej_module_lookup_pc(m, at, &info) == 1 && info.file &&
                          strcmp(info.file, ejf_b_files[s->lines[l].x]) == 0 &&
                          info.line == s->lines[l].y,
                      "'%s'+0x%llx: position %s:%u not found", y->name,
                      (unsigned long long)s->lines[l].off, ejf_b_files[s->lines[l].x],
                      s->lines[l].y);
        }
    }
}

static void link_image(state *s, const void *image, size_t len)
{
    ej_linker *lk = ejf_linker(EJF_BASE, 1);
    if (!lk)
        return;
    ej_status st = ej_linker_add_buffer(lk, "builder.o", image, len);
    ejf_note("ej_linker_add_buffer", st, ej_linker_errmsg(lk));
    EJF_CHECK(st == EJ_OK, "elfjit refuses the builder's image: %s", ej_linker_errmsg(lk));
    ej_module *m = NULL;
    st = ej_linker_link(lk, &m);
    ejf_note("ej_linker_link", st, ej_linker_errmsg(lk));
    if (st == EJ_OK) {
        check_module(s, m);
        ejf_probe_module(m, EJF_BASE, image, len);
        ej_module_free(m);
    } else {
        ejf_check_failure(st, ej_linker_errmsg(lk), "ej_linker_link (builder image)");
    }
    ej_linker_free(lk);
}

static void op_finish(state *s)
{
    void *image = NULL;
    size_t len = 0;
    ej_status st = ej_builder_finish(s->b, &image, &len);
    ejf_note("ej_builder_finish", st, ej_builder_errmsg(s->b));
    EJF_CHECK(st == EJ_OK || st == EJ_INVAL || st == EJ_NOMEM || st == EJ_IO,
              "ej_builder_finish: %s", ej_status_name(st));
    if (st != EJ_OK) {
        ejf_check_failure(st, ej_builder_errmsg(s->b), "ej_builder_finish");
        /* Refused: the builder is not finished; no more ops on it (the
         * finish would fail the same way). */
        s->r.n = 0;
        return;
    }
    EJF_CHECK(image && len, "ej_builder_finish: no image");
    s->finished = 1;
    void *again = NULL;
    size_t len2 = 0;
    st = ej_builder_finish(s->b, &again, &len2);
    EJF_CHECK(st == EJ_OK && len2 == len && memcmp(again, image, len) == 0,
              "a second ej_builder_finish gave other bytes (%s)", ej_status_name(st));
    free(again);
    link_image(s, image, len);
    free(image);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint16_t machines[] = {0, EM_X86_64, EM_AARCH64, EM_RISCV};
    state *s = calloc(1, sizeof *s);
    if (!s)
        return 0;
    s->r = (in){data, size};
    uint8_t m = u8(&s->r) % 5;
    s->machine = m < 4 ? machines[m] : (uint16_t)unum(&s->r, 2);
    s->b = (ej_builder *)1;
    ej_status st = ej_builder_create(&s->b, s->machine);
    if (st != EJ_OK) {
        EJF_CHECK(s->b == NULL && (st == EJ_UNSUPPORTED || st == EJ_NOMEM),
                  "ej_builder_create(%u): %s", s->machine, ej_status_name(st));
        free(s);
        return 0;
    }
    EJF_CHECK(ej_builder_errmsg(s->b)[0] == '\0', "a new builder has a message");
    for (int ops = 0; s->r.n && ops < EJF_B_MAX_OPS; ops++) {
        switch (u8(&s->r) % EJF_B_NOPS) {
        case EJF_B_FUNC: op_func(s); break;
        case EJF_B_DATA: op_data(s); break;
        case EJF_B_IMPORT: op_import(s); break;
        case EJF_B_RELOC: op_reloc(s); break;
        case EJF_B_TRAP: op_site(s, 1); break;
        case EJF_B_SRCLOC: op_site(s, 0); break;
        case EJF_B_UNWIND: op_unwind(s); break;
        case EJF_B_FINISH: op_finish(s); break;
        }
    }
    if (!s->finished)
        op_finish(s);
    ej_builder_free(s->b);
    free(s);
    return 0;
}
