/* Builder-made modules: machine code for each kind of function, on each
 * architecture elfjit runs on, and the model of what calling one does.
 *
 * Every function takes one pointer-sized argument and returns a 32-bit
 * value.  The trapping kinds test the argument first: called with 0 they
 * return their constant, called with anything else they trap at a known
 * offset (recorded with ej_builder_add_trap, with a source position one
 * line below the function's).  CALL and CALLX keep a frame and describe it
 * with call-frame instructions (ej_builder_set_unwind), so the registered
 * .eh_frame has real FDEs. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "soak.h"

/* ---- encodings ---- */

typedef struct enc {
    uint8_t b[64];
    uint32_t len;
    uint32_t site;  /* trap kinds: the faulting instruction */
    uint32_t after; /* ...and the instruction after it */
    uint32_t reloc; /* LOAD: the GOT_LOAD field; CALL: the CALL field */
    int64_t addend;
    const uint8_t *cfi;
    size_t cfi_len;
} enc;

static void put(enc *e, const void *p, size_t n)
{
    memcpy(e->b + e->len, p, n);
    e->len += (uint32_t)n;
}

#if defined(__x86_64__)
static void put32le(enc *e, uint32_t v)
{
    put(e, &v, 4);
}
#else
static void insn(enc *e, uint32_t v)
{
    put(e, &v, 4); /* little-endian hosts only (all three are) */
}
#endif

static int encode(fkind k, uint32_t value, enc *e)
{
    memset(e, 0, sizeof *e);
#if defined(__x86_64__)
    /* test rdi, rdi; je over the trap */
    static const uint8_t test[] = {0x48, 0x85, 0xff};
    static const uint8_t cfi[] = {0x44, 0x0e, 0x10, 0x49, 0x0e, 0x08};
    switch (k) {
    case FK_CONST:
        put(e, (uint8_t[]){0xb8}, 1); /* mov eax, imm32; ret */
        put32le(e, value);
        put(e, (uint8_t[]){0xc3}, 1);
        return 0;
    case FK_LOAD: /* mov rax, [rip + d@GOTPCREL]; mov eax, [rax]; ret */
        put(e, (uint8_t[]){0x48, 0x8b, 0x05, 0, 0, 0, 0, 0x8b, 0x00, 0xc3}, 10);
        e->reloc = 3;
        e->addend = -4;
        return 0;
    case FK_CALL:
    case FK_CALLX: /* sub rsp, 8; call f; add rsp, 8; inc eax; ret */
        put(e, (uint8_t[]){0x48, 0x83, 0xec, 0x08, 0xe8, 0, 0, 0, 0, 0x48, 0x83, 0xc4, 0x08,
                           0xff, 0xc0, 0xc3},
            16);
        e->reloc = 5;
        e->addend = -4;
        e->cfi = cfi;
        e->cfi_len = sizeof cfi;
        return 0;
    case FK_ILL: /* ud2 */
    case FK_BRK: /* int3 */
    case FK_SEGV: /* mov rax, [rdi] */
    case FK_FPE: { /* xor ecx, ecx; cdq; idiv ecx */
        static const uint8_t ud2[] = {0x0f, 0x0b}, int3[] = {0xcc}, ld[] = {0x48, 0x8b, 0x07},
                             div[] = {0x31, 0xc9, 0x99, 0xf7, 0xf9};
        const uint8_t *t = k == FK_ILL ? ud2 : k == FK_BRK ? int3 : k == FK_SEGV ? ld : div;
        size_t tn = k == FK_ILL ? sizeof ud2 : k == FK_BRK ? sizeof int3 : k == FK_SEGV ? sizeof ld
                                                                                        : sizeof div;
        put(e, test, sizeof test);
        put(e, (uint8_t[]){0x74, (uint8_t)tn}, 2);
        e->site = e->len + (k == FK_FPE ? 3 : 0); /* the idiv */
        put(e, t, tn);
        e->after = e->len;
        put(e, (uint8_t[]){0xb8}, 1);
        put32le(e, value);
        put(e, (uint8_t[]){0xc3}, 1);
        return 0;
    }
    default:
        return -1;
    }
#elif defined(__aarch64__)
    static const uint8_t cfi[] = {0x41, 0x0e, 0x10, 0x9d, 0x02, 0x9e, 0x01,
                                  0x43, 0x0e, 0x00, 0xdd, 0xde};
    const uint32_t ret = 0xd65f03c0, movz_w0 = 0x52800000 | (value & 0xffff) << 5;
    switch (k) {
    case FK_CONST:
        insn(e, movz_w0);
        insn(e, ret);
        return 0;
    case FK_LOAD: /* adrp x0, :got:d; ldr x0, [x0, :got_lo12:d]; ldr w0, [x0]; ret */
        insn(e, 0x90000000);
        insn(e, 0xf9400000);
        insn(e, 0xb9400000);
        insn(e, ret);
        return 0;
    case FK_CALL:
    case FK_CALLX: /* stp x29, x30, [sp, -16]!; mov x29, sp; bl f; ldp ...; add w0, w0, 1 */
        insn(e, 0xa9bf7bfd);
        insn(e, 0x910003fd);
        e->reloc = e->len;
        insn(e, 0x94000000);
        insn(e, 0xa8c17bfd);
        insn(e, 0x11000400);
        insn(e, ret);
        e->cfi = cfi;
        e->cfi_len = sizeof cfi;
        return 0;
    case FK_ILL:  /* udf #0 */
    case FK_FPE:  /* (no integer division trap on aarch64: udf too) */
    case FK_BRK:  /* brk #1 */
    case FK_SEGV: /* ldr x0, [x0] */
        insn(e, 0xb4000040); /* cbz x0, +8 */
        e->site = e->len;
        insn(e, k == FK_BRK ? 0xd4200020 : k == FK_SEGV ? 0xf9400000 : 0x00000000);
        e->after = e->len;
        insn(e, movz_w0);
        insn(e, ret);
        return 0;
    default:
        return -1;
    }
#elif defined(__riscv)
    static const uint8_t cfi[] = {0x44, 0x0e, 0x10, 0x44, 0x81, 0x01,
                                  0x4c, 0xc1, 0x44, 0x0e, 0x00};
    const uint32_t ret = 0x00008067, li_a0 = (value & 0x7ff) << 20 | 0x513;
    switch (k) {
    case FK_CONST:
        insn(e, li_a0);
        insn(e, ret);
        return 0;
    case FK_LOAD: /* auipc a0, %got_pcrel_hi(d); ld a0, %pcrel_lo(.)(a0); lw a0, 0(a0); ret */
        insn(e, 0x00000517);
        insn(e, 0x00053503);
        insn(e, 0x00052503);
        insn(e, ret);
        return 0;
    case FK_CALL:
    case FK_CALLX: /* addi sp, sp, -16; sd ra, 8(sp); call f; ld ra, 8(sp); addi sp, sp, 16;
                    * addi a0, a0, 1; ret */
        insn(e, 0xff010113);
        insn(e, 0x00113423);
        e->reloc = e->len;
        insn(e, 0x00000097);
        insn(e, 0x000080e7);
        insn(e, 0x00813083);
        insn(e, 0x01010113);
        insn(e, 0x00150513);
        insn(e, ret);
        e->cfi = cfi;
        e->cfi_len = sizeof cfi;
        return 0;
    case FK_ILL:  /* an all-zero word: illegal */
    case FK_FPE:  /* (no integer division trap on riscv64: illegal too) */
    case FK_BRK:  /* ebreak */
    case FK_SEGV: /* ld a0, 0(a0) */
        insn(e, 0x00050463); /* beqz a0, +8 */
        e->site = e->len;
        insn(e, k == FK_BRK ? 0x00100073 : k == FK_SEGV ? 0x00053503 : 0x00000000);
        e->after = e->len;
        insn(e, li_a0);
        insn(e, ret);
        return 0;
    default:
        return -1;
    }
#else
#error "soak: no machine code for this architecture"
#endif
}

int jit_arch_has_fpe(void)
{
#if defined(__x86_64__)
    return 1;
#else
    return 0;
#endif
}

int jit_is_trap(fkind k)
{
    return k == FK_ILL || k == FK_BRK || k == FK_SEGV || k == FK_FPE;
}

/* The signal builder kind K raises (FPE falls back to an illegal
 * instruction where division does not trap). */
uint32_t jit_signal(fkind k)
{
    switch (k) {
    case FK_ILL: return SIGILL;
    case FK_BRK: return SIGTRAP;
    case FK_SEGV: return SIGSEGV;
    case FK_FPE: return jit_arch_has_fpe() ? SIGFPE : SIGILL;
    default: return 0;
    }
}

static const char *const kind_names[FK_COUNT] = {"const", "load", "call", "callx", "ill",
                                                 "brk",   "segv", "fpe",  "c"};

/* ---- describing a module ---- */

int jit_describe(rng *g, fspec *spec, int first, int room, int obj, const char *prefix)
{
    int n = 3 + (int)rnd_below(g, 6);
    if (n > room)
        n = room;
    int globals_before = 0;
    for (int i = 0; i < first; i++)
        globals_before += spec[i].global;
    int any_global = 0;
    for (int j = 0; j < n; j++) {
        int i = first + j;
        fspec *f = &spec[i];
        memset(f, 0, sizeof *f);
        fkind k;
        for (;;) {
            static const fkind pick[] = {FK_CONST, FK_LOAD, FK_CALL, FK_CALL, FK_CALLX, FK_CALLX,
                                         FK_ILL,   FK_BRK,  FK_SEGV, FK_FPE,  FK_ILL,   FK_SEGV};
            k = pick[rnd_below(g, sizeof pick / sizeof pick[0])];
            if (k == FK_CALL && j == 0)
                continue; /* no callee in this object yet */
            if (k == FK_CALLX && !globals_before)
                continue; /* no other object */
            break;
        }
        f->kind = k;
        f->obj = obj;
        /* The last one is global when none was: a module must be callable. */
        f->global = rnd_below(g, 4) != 0 || (j == n - 1 && !any_global);
        any_global |= f->global;
        f->value = 1 + (uint32_t)rnd_below(g, 2000);
        f->callee = -1;
        if (k == FK_CALL) {
            f->callee = first + (int)rnd_below(g, (uint64_t)j);
        } else if (k == FK_CALLX) {
            int want = (int)rnd_below(g, (uint64_t)globals_before), c = 0;
            for (int t = 0; t < first; t++)
                if (spec[t].global && c++ == want) {
                    f->callee = t;
                    break;
                }
        }
        enc e;
        if (encode(k, f->value, &e) != 0)
            return -1;
        f->len = e.len;
        f->site = e.site;
        f->after = e.after;
        if (jit_is_trap(k))
            f->code = k == FK_FPE   ? EJ_TRAP_INT_DIVIDE_BY_ZERO
                      : k == FK_SEGV ? EJ_TRAP_NULL_REFERENCE
                      : k == FK_BRK  ? EJ_TRAP_USER + (uint32_t)rnd_below(g, 1000)
                                     : EJ_TRAP_UNREACHABLE;
        snprintf(f->name, sizeof f->name, "%s%s_%d", prefix, kind_names[k], j);
        snprintf(f->file, sizeof f->file, "soak/%sjit.sk", prefix);
        f->line = 10u * (uint32_t)(j + 1);
    }
    return n;
}

/* ---- writing the image ---- */

static int fail(char *err, size_t errlen, ej_builder *b, const char *what)
{
    snprintf(err, errlen, "builder: %s: %s", what, ej_builder_errmsg(b));
    ej_builder_free(b);
    return -1;
}

int jit_emit(rng *g, fspec *spec, int n, int obj, const char *prefix, uint32_t data_value,
             void **image, size_t *len, char *err, size_t errlen)
{
    ej_builder *b;
    if (ej_builder_create(&b, 0) != EJ_OK) {
        snprintf(err, errlen, "builder: cannot create");
        return -1;
    }
    char dname[48];
    snprintf(dname, sizeof dname, "%sdata", prefix);
    uint32_t data_id;
    ej_data_kind dk = rnd_below(g, 2) ? EJ_DATA_RODATA : EJ_DATA_DATA;
    if (ej_builder_add_data(b, dname, dk, &data_value, sizeof data_value, 4,
                            rnd_below(g, 2) ? EJ_BIND_GLOBAL : EJ_BIND_LOCAL, &data_id) != EJ_OK)
        return fail(err, errlen, b, "data");
    uint32_t ids[MAX_FUNCS];
    for (int i = 0; i < n; i++) {
        fspec *f = &spec[i];
        if (f->obj != obj || f->kind == FK_C)
            continue;
        enc e;
        encode(f->kind, f->value, &e);
        size_t align = rnd_below(g, 2) ? 16 : 0;
        if (ej_builder_add_function(b, f->name, e.b, e.len, align,
                                    f->global ? EJ_BIND_GLOBAL : EJ_BIND_LOCAL, &ids[i]) != EJ_OK)
            return fail(err, errlen, b, f->name);
        ej_status st = EJ_OK;
        if (f->kind == FK_LOAD) {
            st = ej_builder_add_reloc(b, ids[i], e.reloc, EJ_RELOC_GOT_LOAD, data_id, e.addend);
        } else if (f->kind == FK_CALL || f->kind == FK_CALLX) {
            uint32_t target = ids[f->callee];
            if (spec[f->callee].obj != obj)
                st = ej_builder_add_import(b, spec[f->callee].name, &target);
            if (st == EJ_OK)
                st = ej_builder_add_reloc(b, ids[i], e.reloc, EJ_RELOC_CALL, target, e.addend);
            if (st == EJ_OK)
                st = ej_builder_set_unwind(b, ids[i], e.cfi, e.cfi_len);
        }
        if (st == EJ_OK)
            st = ej_builder_add_srcloc(b, ids[i], 0, f->file, f->line);
        if (st == EJ_OK && jit_is_trap(f->kind)) {
            st = ej_builder_add_trap(b, ids[i], f->site, f->code);
            if (st == EJ_OK)
                st = ej_builder_add_srcloc(b, ids[i], f->site, f->file, f->line + 1);
            /* and back to the function's line after it */
            if (st == EJ_OK)
                st = ej_builder_add_srcloc(b, ids[i], f->after, f->file, f->line);
        }
        if (st != EJ_OK)
            return fail(err, errlen, b, f->name);
    }
    if (ej_builder_finish(b, image, len) != EJ_OK)
        return fail(err, errlen, b, "finish");
    ej_builder_free(b);
    return 0;
}

/* ---- the model ---- */

static const int fxc_table[16] = {3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 3};

static int by_value(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

static outcome value_of(uint32_t v)
{
    return (outcome){.traps = 0, .fn = -1, .value = v, .sigs = 0};
}

static outcome trap_in(int i, unsigned sigs)
{
    return (outcome){.traps = 1, .fn = i, .value = 0, .sigs = sigs};
}

static outcome eval_c(cfn c, int i, uintptr_t arg)
{
    long x = (long)arg;
    switch (c) {
    case C_FX1_POLY: return value_of((uint32_t)((unsigned long)x * 7u + 3u));
    case C_FX1_NULL: return x ? trap_in(i, SIGBIT(SIGSEGV) | SIGBIT(SIGBUS)) : value_of(11);
    case C_FX1_TRAP: return x ? trap_in(i, SIGBIT(SIGILL) | SIGBIT(SIGTRAP)) : value_of(12);
    case C_FX1_DIV:
        if (!x)
            return value_of(100);
#if defined(__x86_64__)
        return trap_in(i, SIGBIT(SIGFPE));
#elif defined(__riscv)
        return value_of(0xffffffffu); /* division by zero gives -1 */
#else
        return value_of(0); /* ...and 0 on aarch64 */
#endif
    case C_FX1_SORT: {
        int a[8] = {5, 3, 9, 1, 7, 2, 8, (int)(x & 255)};
        qsort(a, 8, sizeof a[0], by_value);
        return value_of((uint32_t)(a[0] * 100 + a[7] * 10 + a[3]));
    }
    case C_FXA_SUM: {
        int s = 0;
        for (long k = 0; k < (x & 15); k++)
            s += fxc_table[k] * fxc_table[k];
        return value_of((uint32_t)(s + 5 + fxc_table[x & 15]));
    }
    case C_FXB_CRASH: return x ? trap_in(i, SIGBIT(SIGSEGV) | SIGBIT(SIGBUS)) : value_of(31);
    case C_FXC_TRAP: return x ? trap_in(i, SIGBIT(SIGILL) | SIGBIT(SIGTRAP)) : value_of(21);
    case C_FXC_LOOKUP: return value_of((uint32_t)fxc_table[x & 15]);
    default: return value_of(0);
    }
}

outcome jit_eval(const fspec *spec, int n, int i, uintptr_t arg, const uint32_t *data_values)
{
    const fspec *f = &spec[i];
    switch (f->kind) {
    case FK_CONST: return value_of(f->value);
    case FK_LOAD: return value_of(data_values[f->obj]);
    case FK_CALL:
    case FK_CALLX: {
        outcome o = jit_eval(spec, n, f->callee, arg, data_values);
        if (!o.traps)
            o.value += 1;
        return o;
    }
    case FK_C: return eval_c(f->c, i, arg);
    default: /* the trap kinds */
        if (!arg)
            return value_of(f->value);
        return trap_in(i, SIGBIT(jit_signal(f->kind)) |
                              (f->kind == FK_SEGV ? SIGBIT(SIGBUS) : 0u));
    }
}
