/* aarch64 relocation backend.  The tables come from aarch64_relocs.def;
 * each handler computes its AAELF64 formula, checks that the instruction
 * at the place is the one the relocation is defined for, that the result
 * fits its field and is aligned to the field's scale, and only then
 * replaces the field (mask and replace: whatever the assembler left in the
 * immediate is overwritten, never ORed into).
 *
 * Instruction encodings: Arm Architecture Reference Manual for A-profile,
 * "A64 Instruction Set Encoding" (the masks below select the fixed opcode
 * bits of each class).
 *
 * Stubs (veneers) for calls that cannot reach their target:
 *     adrp x16, slot           Page(slot) - Page(stub)
 *     ldr  x16, [x16, #:lo12:slot]
 *     br   x16
 *     brk  #0                  padding, never reached
 * x16 (IP0) is an intra-procedure-call scratch register: AAPCS64 lets a
 * veneer clobber it (and x17) between a call and its target. */
#include <elf.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>

#include "reloc/reloc.h"

/* ---- failures ---------------------------------------------------------- */

/* A failure reason that names values.  ej__reloc_fail.why is a plain
 * string, read by the generic code right after the handler returns, so a
 * per-thread buffer is enough. */
static _Thread_local char why_buf[192];

__attribute__((format(printf, 2, 3)))
static ej_status fail_why(ej__reloc_fail *f, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why_buf, sizeof why_buf, fmt, ap);
    va_end(ap);
    f->why = why_buf;
    f->has_range = 0;
    return EJ_RELOC;
}

static ej_status not_insn(ej__reloc_fail *f, uint32_t insn, const char *what)
{
    return fail_why(f, "instruction 0x%08" PRIx32 " at the place is not %s", insn, what);
}

static ej_status misaligned(ej__reloc_fail *f, int64_t x, unsigned align, const char *what)
{
    return fail_why(f, "misaligned: %s 0x%" PRIx64 " is not a multiple of %u", what,
                    (uint64_t)x, align);
}

/* [-2^(bits-1), 2^(bits-1)) */
static ej_status signed_range(ej__reloc_fail *f, int64_t x, unsigned bits)
{
    int64_t lim = (int64_t)1 << (bits - 1);
    return ej__reloc_range_fail(f, (uint64_t)x, -lim, lim - 1);
}

/* The symbol's GOT slot for a GOT-generating relocation.  AAELF64 defines
 * the slot as GDAT(S + A), but slots are per symbol and hold S: an addend
 * cannot be honoured (compilers never emit one). */
static ej_status got_slot(const ej__reloc_site *s, ej__reloc_fail *f, uint64_t *G)
{
    if (s->A != 0)
        return fail_why(f, "addend %" PRId64 " on a GOT relocation: the GOT slot holds the "
                        "symbol's address, not symbol + addend", s->A);
    if (!s->G)
        return fail_why(f, "no GOT slot was allocated for the symbol");
    *G = s->G;
    return EJ_OK;
}

/* ---- instruction classes ----------------------------------------------- */

static int is_b(uint32_t i) { return (i & 0xfc000000) == 0x14000000; }
static int is_bl(uint32_t i) { return (i & 0xfc000000) == 0x94000000; }
/* B.cond and BC.cond; CBZ and CBNZ (32- and 64-bit). */
static int is_condbr(uint32_t i)
{
    return (i & 0xff000000) == 0x54000000 || (i & 0x7e000000) == 0x34000000;
}
static int is_tbz(uint32_t i) { return (i & 0x7e000000) == 0x36000000; } /* TBZ, TBNZ */
/* LDR (literal) to a general or SIMD&FP register, LDRSW (literal), PRFM
 * (literal). */
static int is_ldr_literal(uint32_t i) { return (i & 0x3b000000) == 0x18000000; }
static int is_adr(uint32_t i) { return (i & 0x9f000000) == 0x10000000; }
static int is_adrp(uint32_t i) { return (i & 0x9f000000) == 0x90000000; }
/* ADD or ADDS (immediate), 32- or 64-bit, immediate not shifted. */
static int is_add_imm(uint32_t i) { return (i & 0x5fc00000) == 0x11000000; }
/* Loads, stores and PRFM with an unsigned, scaled 12-bit offset. */
static int is_ldst_uimm(uint32_t i) { return (i & 0x3b000000) == 0x39000000; }

/* log2 of the bytes an unsigned-offset load/store accesses (its scale). */
static unsigned ldst_log2_size(uint32_t i)
{
    unsigned size = i >> 30, simd = (i >> 26) & 1, opc = (i >> 22) & 3;
    return simd && size == 0 && (opc & 2) ? 4 : size;
}

/* ---- fields ------------------------------------------------------------ */

/* Replaces the bits of INSN under MASK by FIELD (already shifted) and
 * writes the instruction. */
static void put_insn(const ej__reloc_site *s, uint32_t insn, uint32_t mask, uint32_t field)
{
    ej__put32(s->loc, (insn & ~mask) | (field & mask));
}

#define IMM26_MASK 0x03ffffffu        /* B, BL: bits [25:0] */
#define IMM19_MASK 0x00ffffe0u        /* B.cond, CBZ, LDR literal: bits [23:5] */
#define IMM14_MASK 0x0007ffe0u        /* TBZ: bits [18:5] */
#define IMM12_MASK 0x003ffc00u        /* ADD, LDR/STR unsigned offset: bits [21:10] */
#define IMM16_MASK 0x001fffe0u        /* MOVZ/MOVN/MOVK: bits [20:5] */
#define ADR_MASK 0x60ffffe0u          /* ADR, ADRP: immlo [30:29], immhi [23:5] */

/* ADR/ADRP immediate: bits [1:0] in immlo, [20:2] in immhi. */
static uint32_t adr_field(int64_t imm)
{
    return (uint32_t)(((uint64_t)imm & 3) << 29 | (((uint64_t)imm >> 2) & 0x7ffff) << 5);
}

/* ---- data -------------------------------------------------------------- */

static ej_status h_none(const ej__reloc_site *s, ej__reloc_fail *f)
{
    return EJ_OK;
}

static ej_status h_dynamic(const ej__reloc_site *s, ej__reloc_fail *f)
{
    return fail_why(f, "a dynamic relocation is not valid in a relocatable object");
}

static ej_status h_abs64(const ej__reloc_site *s, ej__reloc_fail *f)
{
    ej__put64(s->loc, s->S + (uint64_t)s->A);
    return EJ_OK;
}

/* ABS32/16 and PREL32/16 accept a signed or an unsigned reading of X:
 * -2^(n-1) <= X < 2^n. */
static ej_status put_narrow(const ej__reloc_site *s, ej__reloc_fail *f, int64_t x, unsigned bits)
{
    int64_t min = -((int64_t)1 << (bits - 1)), max = ((int64_t)1 << bits) - 1;
    if (x < min || x > max)
        return ej__reloc_range_fail(f, (uint64_t)x, min, max);
    if (bits == 32)
        ej__put32(s->loc, (uint32_t)x);
    else
        ej__put16(s->loc, (uint16_t)x);
    return EJ_OK;
}

static ej_status h_abs32(const ej__reloc_site *s, ej__reloc_fail *f)
{
    return put_narrow(s, f, (int64_t)(s->S + (uint64_t)s->A), 32);
}

static ej_status h_abs16(const ej__reloc_site *s, ej__reloc_fail *f)
{
    return put_narrow(s, f, (int64_t)(s->S + (uint64_t)s->A), 16);
}

static ej_status h_prel64(const ej__reloc_site *s, ej__reloc_fail *f)
{
    ej__put64(s->loc, s->S + (uint64_t)s->A - s->P);
    return EJ_OK;
}

/* PREL32 to a host function out of reach (which the generic scan gave a
 * stub): the offset of the stub instead.  The stub jumps to S, so this
 * only works without an addend. */
static ej_status h_prel32(const ej__reloc_site *s, ej__reloc_fail *f)
{
    int64_t x = (int64_t)(s->S + (uint64_t)s->A - s->P);
    if ((x < INT32_MIN || x > UINT32_MAX) && s->L && s->A == 0)
        x = (int64_t)(s->L - s->P);
    return put_narrow(s, f, x, 32);
}

static ej_status h_prel16(const ej__reloc_site *s, ej__reloc_fail *f)
{
    return put_narrow(s, f, (int64_t)(s->S + (uint64_t)s->A - s->P), 16);
}

/* PLT32: the offset of a function, through its stub when the function is
 * out of reach (A adjusts the place, as in a relative vtable entry). */
static ej_status h_plt32(const ej__reloc_site *s, ej__reloc_fail *f)
{
    int64_t x = (int64_t)(s->S + (uint64_t)s->A - s->P);
    if (!ej__fits_signed(x, 32) && s->L)
        x = (int64_t)(s->L + (uint64_t)s->A - s->P);
    if (!ej__fits_signed(x, 32))
        return signed_range(f, x, 32);
    ej__put32(s->loc, (uint32_t)x);
    return EJ_OK;
}

static ej_status h_gotrel64(const ej__reloc_site *s, ej__reloc_fail *f)
{
    ej__put64(s->loc, s->S + (uint64_t)s->A - s->GOT);
    return EJ_OK;
}

static ej_status h_gotrel32(const ej__reloc_site *s, ej__reloc_fail *f)
{
    int64_t x = (int64_t)(s->S + (uint64_t)s->A - s->GOT);
    if (!ej__fits_signed(x, 32))
        return signed_range(f, x, 32);
    ej__put32(s->loc, (uint32_t)x);
    return EJ_OK;
}

/* ---- branches and PC-relative loads ------------------------------------ */

/* A PC-relative field of BITS bits (the byte offset, before the >> 2 of a
 * scaled field): check X, then replace the field under MASK at SHIFT. */
static ej_status put_pcrel(const ej__reloc_site *s, ej__reloc_fail *f, uint32_t insn, int64_t x,
                           unsigned bits, uint32_t mask, unsigned shift)
{
    if (!ej__fits_signed(x, bits))
        return signed_range(f, x, bits);
    if (x & 3)
        return misaligned(f, x, 4, "branch or literal offset");
    put_insn(s, insn, mask, (uint32_t)((uint64_t)x >> 2 << shift));
    return EJ_OK;
}

/* B and BL: +/-128 MiB.  A target out of reach that has a stub (the
 * generic linker makes one for every call to a symbol outside the image)
 * is reached through it; the stub jumps to S, so not with an addend. */
static ej_status branch26(const ej__reloc_site *s, ej__reloc_fail *f, int bl)
{
    uint32_t insn = ej__get32(s->loc);
    if (bl ? !is_bl(insn) : !is_b(insn))
        return not_insn(f, insn, bl ? "BL" : "B");
    int64_t x = (int64_t)(s->S + (uint64_t)s->A - s->P);
    if (!ej__fits_signed(x, 28) && s->L) {
        if (s->A != 0)
            return fail_why(f, "target 0x%" PRIx64 " is out of range (+/-128 MiB) and its stub "
                            "reaches only the symbol, not symbol + addend %" PRId64,
                            s->S + (uint64_t)s->A, s->A);
        x = (int64_t)(s->L - s->P);
    }
    return put_pcrel(s, f, insn, x, 28, IMM26_MASK, 0);
}

static ej_status h_call26(const ej__reloc_site *s, ej__reloc_fail *f)
{
    return branch26(s, f, 1);
}

static ej_status h_jump26(const ej__reloc_site *s, ej__reloc_fail *f)
{
    return branch26(s, f, 0);
}

static ej_status h_condbr19(const ej__reloc_site *s, ej__reloc_fail *f)
{
    uint32_t insn = ej__get32(s->loc);
    if (!is_condbr(insn))
        return not_insn(f, insn, "a conditional branch (B.cond, CBZ, CBNZ)");
    return put_pcrel(s, f, insn, (int64_t)(s->S + (uint64_t)s->A - s->P), 21, IMM19_MASK, 5);
}

static ej_status h_tstbr14(const ej__reloc_site *s, ej__reloc_fail *f)
{
    uint32_t insn = ej__get32(s->loc);
    if (!is_tbz(insn))
        return not_insn(f, insn, "TBZ or TBNZ");
    return put_pcrel(s, f, insn, (int64_t)(s->S + (uint64_t)s->A - s->P), 16, IMM14_MASK, 5);
}

static ej_status ld_literal(const ej__reloc_site *s, ej__reloc_fail *f, int64_t x)
{
    uint32_t insn = ej__get32(s->loc);
    if (!is_ldr_literal(insn))
        return not_insn(f, insn, "a load from a literal (LDR, LDRSW, PRFM)");
    return put_pcrel(s, f, insn, x, 21, IMM19_MASK, 5);
}

static ej_status h_ld_prel_lo19(const ej__reloc_site *s, ej__reloc_fail *f)
{
    return ld_literal(s, f, (int64_t)(s->S + (uint64_t)s->A - s->P));
}

static ej_status h_got_ld_prel19(const ej__reloc_site *s, ej__reloc_fail *f)
{
    uint64_t G = 0;
    ej_status st = got_slot(s, f, &G);
    return st != EJ_OK ? st : ld_literal(s, f, (int64_t)(G - s->P));
}

/* ADR: +/-1 MiB, byte granular. */
static ej_status h_adr_prel_lo21(const ej__reloc_site *s, ej__reloc_fail *f)
{
    uint32_t insn = ej__get32(s->loc);
    if (!is_adr(insn))
        return not_insn(f, insn, "ADR");
    int64_t x = (int64_t)(s->S + (uint64_t)s->A - s->P);
    if (!ej__fits_signed(x, 21) && s->L && s->A == 0)
        x = (int64_t)(s->L - s->P);
    if (!ej__fits_signed(x, 21))
        return signed_range(f, x, 21);
    put_insn(s, insn, ADR_MASK, adr_field(x));
    return EJ_OK;
}

/* ---- page + low 12 bits ------------------------------------------------ */

/* What an ADRP and the ADD or load/store that completes it address.  A
 * symbol with a stub is a function outside the image (see scan.c); when
 * it is farther than 2 GiB from its GOT slot (and so, possibly, from the
 * code), both halves address the stub instead.  The choice depends on the
 * symbol alone, so the two halves of a pair always agree. */
static ej_status lo_hi_target(const ej__reloc_site *s, ej__reloc_fail *f, uint64_t *t)
{
    *t = s->S + (uint64_t)s->A;
    if (!s->L || ej__fits_signed((int64_t)(s->S - s->G), 32))
        return EJ_OK;
    if (s->A != 0)
        return fail_why(f, "function 0x%" PRIx64 " is addressed through its stub, which "
                        "cannot add addend %" PRId64, s->S, s->A);
    *t = s->L;
    return EJ_OK;
}

/* ADRP to the page of T: Page(T) - Page(P), +/-4 GiB unless NC. */
static ej_status adrp_to(const ej__reloc_site *s, ej__reloc_fail *f, uint64_t t, int check)
{
    uint32_t insn = ej__get32(s->loc);
    if (!is_adrp(insn))
        return not_insn(f, insn, "ADRP");
    int64_t x = (int64_t)((t & ~(uint64_t)0xfff) - (s->P & ~(uint64_t)0xfff));
    if (check && !ej__fits_signed(x, 33))
        return signed_range(f, x, 33);
    put_insn(s, insn, ADR_MASK, adr_field(x >> 12));
    return EJ_OK;
}

static ej_status h_adrp(const ej__reloc_site *s, ej__reloc_fail *f)
{
    uint64_t t = 0;
    ej_status st = lo_hi_target(s, f, &t);
    return st != EJ_OK ? st : adrp_to(s, f, t, 1);
}

static ej_status h_adrp_nc(const ej__reloc_site *s, ej__reloc_fail *f)
{
    uint64_t t = 0;
    ej_status st = lo_hi_target(s, f, &t);
    return st != EJ_OK ? st : adrp_to(s, f, t, 0);
}

static ej_status h_adr_got_page(const ej__reloc_site *s, ej__reloc_fail *f)
{
    uint64_t G = 0;
    ej_status st = got_slot(s, f, &G);
    return st != EJ_OK ? st : adrp_to(s, f, G, 1);
}

static ej_status h_add_lo12(const ej__reloc_site *s, ej__reloc_fail *f)
{
    uint32_t insn = ej__get32(s->loc);
    if (!is_add_imm(insn))
        return not_insn(f, insn, "ADD (immediate, unshifted)");
    uint64_t t = 0;
    ej_status st = lo_hi_target(s, f, &t);
    if (st != EJ_OK)
        return st;
    put_insn(s, insn, IMM12_MASK, (uint32_t)(t & 0xfff) << 10);
    return EJ_OK;
}

static const char *const ldst_what[] = {
    "an 8-bit load/store with an unsigned offset (LDRB, STRB, LDRSB, LDR Bt, ...)",
    "a 16-bit load/store with an unsigned offset (LDRH, STRH, LDRSH, LDR Ht, ...)",
    "a 32-bit load/store with an unsigned offset (LDR Wt, STR Wt, LDRSW, LDR St, ...)",
    "a 64-bit load/store with an unsigned offset (LDR Xt, STR Xt, LDR Dt, PRFM, ...)",
    "a 128-bit load/store with an unsigned offset (LDR Qt, STR Qt)",
};

/* A load/store of 1 << LOG2 bytes whose scaled 12-bit offset gets X >> LOG2.
 * X must be a multiple of the access size (the scaled field drops the low
 * bits); the caller has checked that X >> LOG2 fits 12 bits. */
static ej_status ldst_field(const ej__reloc_site *s, ej__reloc_fail *f, uint64_t x, unsigned log2,
                            const char *what)
{
    uint32_t insn = ej__get32(s->loc);
    if (!is_ldst_uimm(insn) || ldst_log2_size(insn) != log2)
        return not_insn(f, insn, ldst_what[log2]);
    if (x & ((1u << log2) - 1))
        return misaligned(f, (int64_t)x, 1u << log2, what);
    put_insn(s, insn, IMM12_MASK, (uint32_t)(x >> log2) << 10);
    return EJ_OK;
}

/* LDSTn_ABS_LO12_NC: the low 12 bits of S + A, scaled. */
static ej_status ldst_lo12(const ej__reloc_site *s, ej__reloc_fail *f, unsigned log2)
{
    uint64_t t = 0;
    ej_status st = lo_hi_target(s, f, &t);
    if (st != EJ_OK)
        return st;
    return ldst_field(s, f, t & 0xfff, log2, "low 12 bits of the address");
}

static ej_status h_ldst8(const ej__reloc_site *s, ej__reloc_fail *f) { return ldst_lo12(s, f, 0); }
static ej_status h_ldst16(const ej__reloc_site *s, ej__reloc_fail *f) { return ldst_lo12(s, f, 1); }
static ej_status h_ldst32(const ej__reloc_site *s, ej__reloc_fail *f) { return ldst_lo12(s, f, 2); }
static ej_status h_ldst64(const ej__reloc_site *s, ej__reloc_fail *f) { return ldst_lo12(s, f, 3); }
static ej_status h_ldst128(const ej__reloc_site *s, ej__reloc_fail *f) { return ldst_lo12(s, f, 4); }

/* LD64_GOT_LO12_NC: the low 12 bits of the slot's address. */
static ej_status h_ld64_got_lo12(const ej__reloc_site *s, ej__reloc_fail *f)
{
    uint64_t G = 0;
    ej_status st = got_slot(s, f, &G);
    return st != EJ_OK ? st : ldst_field(s, f, G & 0xfff, 3, "low 12 bits of the GOT slot");
}

/* LD64_GOTPAGE_LO15, LD64_GOTOFF_LO15: an offset from BASE in [0, 2^15),
 * a multiple of 8, in bits [14:3]. */
static ej_status got_lo15(const ej__reloc_site *s, ej__reloc_fail *f, uint64_t base)
{
    uint64_t G = 0;
    ej_status st = got_slot(s, f, &G);
    if (st != EJ_OK)
        return st;
    int64_t x = (int64_t)(G - base);
    if (x < 0 || x >= (1 << 15))
        return ej__reloc_range_fail(f, (uint64_t)x, 0, (1 << 15) - 1);
    return ldst_field(s, f, (uint64_t)x, 3, "GOT slot offset");
}

static ej_status h_ld64_gotpage_lo15(const ej__reloc_site *s, ej__reloc_fail *f)
{
    return got_lo15(s, f, s->GOT & ~(uint64_t)0xfff);
}

static ej_status h_ld64_gotoff_lo15(const ej__reloc_site *s, ej__reloc_fail *f)
{
    return got_lo15(s, f, s->GOT);
}

/* ---- MOVZ / MOVN / MOVK ------------------------------------------------- */

enum { OPC_MOVN = 0, OPC_MOVZ = 2, OPC_MOVK = 3 };
enum {
    MOVW_UNSIGNED, /* MOVZ or MOVK, field = bits of X (UABS) */
    MOVW_SIGNED,   /* MOVN or MOVZ by the sign of X (SABS, checking PREL/GOTOFF) */
    MOVW_SIGNED_NC /* MOVK: bits of X; MOVN/MOVZ: by sign, as MOVW_SIGNED */
};

static const char *const movw_bits[] = {"[15:0]", "[31:16]", "[47:32]", "[63:48]"};

/* Sets the 16-bit field of the move-wide instruction at the place to
 * group GROUP of X (bits [16 * GROUP + 15 : 16 * GROUP]).  CHECK: the
 * range of a checking (not _NC, not G3) relocation. */
static ej_status movw(const ej__reloc_site *s, ej__reloc_fail *f, int64_t x, unsigned group,
                      int kind, int check)
{
    uint32_t insn = ej__get32(s->loc);
    unsigned opc = (insn >> 29) & 3, hw = (insn >> 21) & 3, sf = insn >> 31;
    int ok = (insn & 0x1f800000) == 0x12800000;
    if (kind == MOVW_UNSIGNED)
        ok = ok && (opc == OPC_MOVZ || opc == OPC_MOVK);
    else if (kind == MOVW_SIGNED)
        ok = ok && (opc == OPC_MOVN || opc == OPC_MOVZ);
    else
        ok = ok && opc != 1;
    if (!ok)
        return not_insn(f, insn, kind == MOVW_UNSIGNED ? "MOVZ or MOVK"
                                 : kind == MOVW_SIGNED ? "MOVN or MOVZ"
                                                       : "MOVK, MOVN or MOVZ");
    if (!sf && (group >= 2 || hw >= 2))
        return fail_why(f, "instruction 0x%08" PRIx32 " at the place writes a 32-bit register, "
                        "which has no bits %s", insn, movw_bits[group >= 2 ? group : hw]);
    if (hw != group) /* the assembler sets hw from the relocation's group */
        return fail_why(f, "instruction 0x%08" PRIx32 " at the place sets bits %s, the "
                        "relocation bits %s", insn, movw_bits[hw], movw_bits[group]);
    unsigned shift = 16 * group;
    if (check && group < 3) {
        int64_t lim = (int64_t)1 << (shift + 16);
        if (kind == MOVW_UNSIGNED && (uint64_t)x >= (uint64_t)lim)
            return ej__reloc_range_fail(f, (uint64_t)x, 0, lim - 1);
        if (kind != MOVW_UNSIGNED && (x < -lim || x >= lim))
            return ej__reloc_range_fail(f, (uint64_t)x, -lim, lim - 1);
    }
    uint64_t v = (uint64_t)x;
    if (kind != MOVW_UNSIGNED && opc != OPC_MOVK) {
        /* X < 0: MOVN with NOT X; X >= 0: MOVZ.  opc is bits [30:29]. */
        insn &= ~(uint32_t)(3u << 29);
        if (x < 0)
            v = ~v;
        else
            insn |= (uint32_t)OPC_MOVZ << 29;
    }
    put_insn(s, insn, IMM16_MASK, (uint32_t)((v >> shift) & 0xffff) << 5);
    return EJ_OK;
}

#define SA(s) ((int64_t)((s)->S + (uint64_t)(s)->A))
#define SAP(s) ((int64_t)((s)->S + (uint64_t)(s)->A - (s)->P))

#define MOVW_HANDLER(name, value, group, kind, check)                                  \
    static ej_status h_##name(const ej__reloc_site *s, ej__reloc_fail *f)               \
    {                                                                                   \
        return movw(s, f, value, group, kind, check);                                  \
    }

MOVW_HANDLER(uabs_g0, SA(s), 0, MOVW_UNSIGNED, 1)
MOVW_HANDLER(uabs_g0_nc, SA(s), 0, MOVW_UNSIGNED, 0)
MOVW_HANDLER(uabs_g1, SA(s), 1, MOVW_UNSIGNED, 1)
MOVW_HANDLER(uabs_g1_nc, SA(s), 1, MOVW_UNSIGNED, 0)
MOVW_HANDLER(uabs_g2, SA(s), 2, MOVW_UNSIGNED, 1)
MOVW_HANDLER(uabs_g2_nc, SA(s), 2, MOVW_UNSIGNED, 0)
MOVW_HANDLER(uabs_g3, SA(s), 3, MOVW_UNSIGNED, 0)
MOVW_HANDLER(sabs_g0, SA(s), 0, MOVW_SIGNED, 1)
MOVW_HANDLER(sabs_g1, SA(s), 1, MOVW_SIGNED, 1)
MOVW_HANDLER(sabs_g2, SA(s), 2, MOVW_SIGNED, 1)
MOVW_HANDLER(prel_g0, SAP(s), 0, MOVW_SIGNED, 1)
MOVW_HANDLER(prel_g0_nc, SAP(s), 0, MOVW_SIGNED_NC, 0)
MOVW_HANDLER(prel_g1, SAP(s), 1, MOVW_SIGNED, 1)
MOVW_HANDLER(prel_g1_nc, SAP(s), 1, MOVW_SIGNED_NC, 0)
MOVW_HANDLER(prel_g2, SAP(s), 2, MOVW_SIGNED, 1)
MOVW_HANDLER(prel_g2_nc, SAP(s), 2, MOVW_SIGNED_NC, 0)
MOVW_HANDLER(prel_g3, SAP(s), 3, MOVW_SIGNED, 0)

/* MOVW_GOTOFF_Gn: G - GOT, otherwise as MOVW_PREL_Gn. */
static ej_status gotoff(const ej__reloc_site *s, ej__reloc_fail *f, unsigned group, int kind,
                        int check)
{
    uint64_t G = 0;
    ej_status st = got_slot(s, f, &G);
    return st != EJ_OK ? st : movw(s, f, (int64_t)(G - s->GOT), group, kind, check);
}

#define GOTOFF_HANDLER(name, group, kind, check)                                       \
    static ej_status h_##name(const ej__reloc_site *s, ej__reloc_fail *f)               \
    {                                                                                   \
        return gotoff(s, f, group, kind, check);                                       \
    }

GOTOFF_HANDLER(gotoff_g0, 0, MOVW_SIGNED, 1)
GOTOFF_HANDLER(gotoff_g0_nc, 0, MOVW_SIGNED_NC, 0)
GOTOFF_HANDLER(gotoff_g1, 1, MOVW_SIGNED, 1)
GOTOFF_HANDLER(gotoff_g1_nc, 1, MOVW_SIGNED_NC, 0)
GOTOFF_HANDLER(gotoff_g2, 2, MOVW_SIGNED, 1)
GOTOFF_HANDLER(gotoff_g2_nc, 2, MOVW_SIGNED_NC, 0)
GOTOFF_HANDLER(gotoff_g3, 3, MOVW_SIGNED, 0)

/* ---- thread-local storage ---------------------------------------------- */

/* ADR to a slot: G - P, +/-1 MiB (TLSGD/TLSLD/TLSDESC_ADR_PREL21). */
static ej_status h_adr_got(const ej__reloc_site *s, ej__reloc_fail *f)
{
    uint64_t G = 0;
    ej_status st = got_slot(s, f, &G);
    if (st != EJ_OK)
        return st;
    uint32_t insn = ej__get32(s->loc);
    if (!is_adr(insn))
        return not_insn(f, insn, "ADR");
    int64_t x = (int64_t)(G - s->P);
    if (!ej__fits_signed(x, 21))
        return signed_range(f, x, 21);
    put_insn(s, insn, ADR_MASK, adr_field(x));
    return EJ_OK;
}

/* ADD of a slot's low 12 bits (TLSGD/TLSLD_ADD_LO12_NC, TLSDESC_ADD_LO12). */
static ej_status h_add_got_lo12(const ej__reloc_site *s, ej__reloc_fail *f)
{
    uint64_t G = 0;
    ej_status st = got_slot(s, f, &G);
    if (st != EJ_OK)
        return st;
    uint32_t insn = ej__get32(s->loc);
    if (!is_add_imm(insn))
        return not_insn(f, insn, "ADD (immediate, unshifted)");
    put_insn(s, insn, IMM12_MASK, (uint32_t)(G & 0xfff) << 10);
    return EJ_OK;
}

/* The TPREL and DTPREL forms: X = S + A, S being the offset the generic
 * code computed (from the thread pointer, or in the module's block).
 * Offsets are small and non-negative in practice; the checks are
 * AAELF64's. */
MOVW_HANDLER(tls_g2, SA(s), 2, MOVW_SIGNED, 1)
MOVW_HANDLER(tls_g1, SA(s), 1, MOVW_SIGNED, 1)
MOVW_HANDLER(tls_g1_nc, SA(s), 1, MOVW_SIGNED_NC, 0)
MOVW_HANDLER(tls_g0, SA(s), 0, MOVW_SIGNED, 1)
MOVW_HANDLER(tls_g0_nc, SA(s), 0, MOVW_SIGNED_NC, 0)

/* ADD (immediate, LSL #12) of bits [23:12]: 0 <= X < 2^24. */
static ej_status h_tls_hi12(const ej__reloc_site *s, ej__reloc_fail *f)
{
    uint32_t insn = ej__get32(s->loc);
    if ((insn & 0x5fc00000) != 0x11400000)
        return not_insn(f, insn, "ADD (immediate, LSL #12)");
    int64_t x = SA(s);
    if (x < 0 || x >= (1 << 24))
        return ej__reloc_range_fail(f, (uint64_t)x, 0, (1 << 24) - 1);
    put_insn(s, insn, IMM12_MASK, (uint32_t)((x >> 12) & 0xfff) << 10);
    return EJ_OK;
}

/* ADD of bits [11:0]: 0 <= X < 2^12 unless NC. */
static ej_status tls_lo12(const ej__reloc_site *s, ej__reloc_fail *f, int check)
{
    uint32_t insn = ej__get32(s->loc);
    if (!is_add_imm(insn))
        return not_insn(f, insn, "ADD (immediate, unshifted)");
    int64_t x = SA(s);
    if (check && (x < 0 || x >= (1 << 12)))
        return ej__reloc_range_fail(f, (uint64_t)x, 0, (1 << 12) - 1);
    put_insn(s, insn, IMM12_MASK, (uint32_t)(x & 0xfff) << 10);
    return EJ_OK;
}

static ej_status h_tls_lo12(const ej__reloc_site *s, ej__reloc_fail *f) { return tls_lo12(s, f, 1); }
static ej_status h_tls_lo12_nc(const ej__reloc_site *s, ej__reloc_fail *f) { return tls_lo12(s, f, 0); }

/* A load/store of bits [11:0], scaled: 0 <= X < 2^12 unless NC. */
static ej_status tls_ldst(const ej__reloc_site *s, ej__reloc_fail *f, unsigned log2, int check)
{
    int64_t x = SA(s);
    if (check && (x < 0 || x >= (1 << 12)))
        return ej__reloc_range_fail(f, (uint64_t)x, 0, (1 << 12) - 1);
    return ldst_field(s, f, (uint64_t)x & 0xfff, log2, "low 12 bits of the offset");
}

#define TLS_LDST_HANDLERS(bits, log2)                                                   \
    static ej_status h_tls_ldst##bits(const ej__reloc_site *s, ej__reloc_fail *f)      \
    {                                                                                   \
        return tls_ldst(s, f, log2, 1);                                                 \
    }                                                                                   \
    static ej_status h_tls_ldst##bits##_nc(const ej__reloc_site *s, ej__reloc_fail *f) \
    {                                                                                   \
        return tls_ldst(s, f, log2, 0);                                                 \
    }

TLS_LDST_HANDLERS(8, 0)
TLS_LDST_HANDLERS(16, 1)
TLS_LDST_HANDLERS(32, 2)
TLS_LDST_HANDLERS(64, 3)
TLS_LDST_HANDLERS(128, 4)

/* ---- relaxation to initial-exec ----------------------------------------- */

/* With the variable's block in static TLS (IE set), the system linker's
 * rewrite in an executable (AAELF64 and Arm's TLS descriptor notes):
 *   descriptor:  adrp x0, :tlsdesc:v           adrp x0, :gottprel:v
 *                ldr  x1, [x0, :tlsdesc_lo12:v] ldr  x0, [x0, :gottprel_lo12:v]
 *                add  x0, x0, :tlsdesc_lo12:v   nop
 *                blr  x1                        nop
 *   general dynamic (-mtls-dialect=trad):
 *                adrp x0, :tlsgd:v             adrp x0, :gottprel:v
 *                add  x0, x0, :tlsgd_lo12:v    ldr  x0, [x0, :gottprel_lo12:v]
 *                bl   __tls_get_addr           mrs  x1, tpidr_el0
 *                nop                           add  x0, x1, x0
 * x0 then holds what the call returned: the offset from the thread
 * pointer (descriptor) or the address (general dynamic). */
#define A64_NOP 0xd503201fu

static ej_status h_tls_adrp(const ej__reloc_site *s, ej__reloc_fail *f)
{
    return s->IE ? adrp_to(s, f, s->IE, 1) : h_adr_got_page(s, f);
}

/* `ldr xT, [xN, #...]` (64-bit) into `ldr x0, [xN, #lo12 of the slot]`. */
static ej_status ldr_x0_slot(const ej__reloc_site *s, ej__reloc_fail *f)
{
    uint32_t insn = ej__get32(s->loc);
    if (!is_ldst_uimm(insn) || ldst_log2_size(insn) != 3 || !((insn >> 22) & 1))
        return not_insn(f, insn, "a 64-bit load (LDR Xt) in a TLS sequence");
    ej__put32(s->loc, insn & ~0x1fu);
    return ldst_field(s, f, s->IE & 0xfff, 3, "low 12 bits of the initial-exec slot");
}

static ej_status h_tlsdesc_ldr(const ej__reloc_site *s, ej__reloc_fail *f)
{
    return s->IE ? ldr_x0_slot(s, f) : h_ld64_got_lo12(s, f);
}

static ej_status h_tlsdesc_add(const ej__reloc_site *s, ej__reloc_fail *f)
{
    if (!s->IE)
        return h_add_got_lo12(s, f);
    uint32_t insn = ej__get32(s->loc);
    if (!is_add_imm(insn))
        return not_insn(f, insn, "ADD (immediate, unshifted)");
    ej__put32(s->loc, A64_NOP);
    return EJ_OK;
}

static ej_status h_tlsdesc_call(const ej__reloc_site *s, ej__reloc_fail *f)
{
    if (!s->IE)
        return EJ_OK;
    uint32_t insn = ej__get32(s->loc);
    if ((insn & 0xfffffc1fu) != 0xd63f0000u)
        return not_insn(f, insn, "BLR");
    ej__put32(s->loc, A64_NOP);
    return EJ_OK;
}

static ej_status h_tlsgd_add(const ej__reloc_site *s, ej__reloc_fail *f)
{
    if (!s->IE)
        return h_add_got_lo12(s, f);
    uint32_t add = ej__get32(s->loc);
    if (s->end - s->loc < 12 || (add & 0xffc003ffu) != 0x91000000u || !is_bl(ej__get32(s->loc + 4)) ||
        ej__get32(s->loc + 8) != A64_NOP)
        return fail_why(f, "the general-dynamic sequence is not `add x0, x0, :tlsgd_lo12:v; "
                        "bl __tls_get_addr; nop`");
    ej__put32(s->loc, 0xf9400000u); /* ldr x0, [x0, #0] */
    ej_status st = ldst_field(s, f, s->IE & 0xfff, 3, "low 12 bits of the initial-exec slot");
    if (st != EJ_OK)
        return st;
    ej__put32(s->loc + 4, 0xd53bd041u); /* mrs x1, tpidr_el0 */
    ej__put32(s->loc + 8, 0x8b000020u); /* add x0, x1, x0 */
    f->consumed = s->P + 12;
    return EJ_OK;
}

/* ---- tables generated from the list ------------------------------------ */

#define EJ_RELOC_LIST "reloc/aarch64_relocs.def"
#define EJ_RELOC_PREFIX "R_AARCH64_"
#include "reloc/reloc_tables.h"

static void aarch64_write_stub(uint8_t *w, uint64_t stub, uint64_t slot)
{
    int64_t pages = (int64_t)((slot & ~(uint64_t)0xfff) - (stub & ~(uint64_t)0xfff)) >> 12;
    ej__put32(w, 0x90000010u | adr_field(pages));                         /* adrp x16, slot */
    ej__put32(w + 4, 0xf9400210u | (uint32_t)((slot & 0xfff) >> 3) << 10); /* ldr x16, [x16, #lo12] */
    ej__put32(w + 8, 0xd61f0200u);                                        /* br x16 */
    ej__put32(w + 12, 0xd4200000u);                                       /* brk #0 */
}

const ej__arch ej__arch_aarch64 = {
    .name = "aarch64",
    .triple = "aarch64-linux-gnu",
    .machine = EM_AARCH64,
    .infos = reloc_infos,
    .handlers = reloc_handlers,
    .ntypes = EJ_ARRAY_LEN(reloc_infos),
    .got_entry_size = 8,
    .stub_size = 16,
    .stub_align = 16,
    .write_stub = aarch64_write_stub,
    .kind_type = {[EJ_RELOC_ABS64] = R_AARCH64_ABS64, [EJ_RELOC_PCREL32] = R_AARCH64_PREL32,
                  [EJ_RELOC_CALL] = R_AARCH64_CALL26, [EJ_RELOC_GOT_LOAD] = R_AARCH64_ADR_GOT_PAGE,
                  [EJ_RELOC_TLS_LOAD] = R_AARCH64_TLSIE_ADR_GOTTPREL_PAGE21},
    /* adrp xN, :got:sym; ldr xN, [xN, :got_lo12:sym] (and :gottprel:) */
    .kind_type_lo = {[EJ_RELOC_GOT_LOAD] = R_AARCH64_LD64_GOT_LO12_NC,
                     [EJ_RELOC_TLS_LOAD] = R_AARCH64_TLSIE_LD64_GOTTPREL_LO12_NC},
    .insn_align = 4,
    /* TLS variant I: an executable's block follows the 16-byte TCB. */
    .tls = {R_AARCH64_TLS_TPREL, R_AARCH64_TLS_DTPMOD, R_AARCH64_TLS_DTPREL,
            R_AARCH64_TLSDESC, 0, 16, 0, 0},
    /* CFA = sp; the return address is in x30. */
    .cie = {4, -8, 30, 3, {EJ_DW_CFA_def_cfa, 31, 0}},
};
