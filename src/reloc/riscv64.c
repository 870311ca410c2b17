/* riscv64 relocation backend.  The tables come from riscv64_relocs.def;
 * each handler checks that the instruction at the place is the one its
 * relocation expects, computes its psABI formula, checks that the result
 * fits its field, and only then writes it.  Immediates are masked and
 * replaced, never ORed in: the bits the assembler left there do not leak
 * into the result.
 *
 * Objects are ELFCLASS64 little-endian.  e_flags (RVC, float ABI, RVE, TSO)
 * changes nothing here: the only instructions elfjit writes of its own are
 * the stubs, which use no compressed or floating-point instruction.
 *
 * elfjit never relaxes: R_RISCV_RELAX is a no-op and calls keep the size
 * the assembler gave them.  Only the alignment padding that every linker
 * must trim (R_RISCV_ALIGN) is cut, before layout: see src/link/align.c.
 *
 * All handlers are reentrant; the one remembered value below (a pending
 * SET_ULEB128, consumed by the SUB_ULEB128 at the same place) is
 * thread-local, so links in different threads never see each other's. */
#include <elf.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "reloc/reloc.h"

#ifndef EM_RISCV
#define EM_RISCV 243
#endif

/* The type numbers, for handlers that look at another relocation. */
enum {
#define X(name, num, width, needs, reach, handler) RV_##name = num,
#include "reloc/riscv64_relocs.def"
#undef X
};

/* ---- instruction fields ------------------------------------------------ */

enum {
    OP_LOAD = 0x03,
    OP_LOAD_FP = 0x07,
    OP_IMM = 0x13,
    OP_AUIPC = 0x17,
    OP_IMM_32 = 0x1b,
    OP_STORE = 0x23,
    OP_STORE_FP = 0x27,
    OP_LUI = 0x37,
    OP_BRANCH = 0x63,
    OP_JALR = 0x67,
    OP_JAL = 0x6f,
    OP_SYSTEM = 0x73,
};

#define OPCODE(i) ((i) & 0x7fu)
#define RD(i) (((i) >> 7) & 0x1fu)
#define FUNCT3(i) (((i) >> 12) & 0x7u)
#define RS1(i) (((i) >> 15) & 0x1fu)

/* Immediate masks and encoders (v is the value, in two's complement). */
#define U_MASK 0xfffff000u
#define I_MASK 0xfff00000u
#define S_MASK 0xfe000f80u
#define B_MASK 0xfe000f80u
#define J_MASK 0xfffff000u
#define CB_MASK 0x1c7cu
#define CJ_MASK 0x1ffcu

static uint32_t enc_u(int64_t hi20) { return ((uint32_t)hi20 & 0xfffffu) << 12; }
static uint32_t enc_i(int64_t v) { return ((uint32_t)v & 0xfffu) << 20; }
static uint32_t enc_s(int64_t v)
{
    uint32_t u = (uint32_t)v;
    return ((u >> 5) & 0x7fu) << 25 | (u & 0x1fu) << 7;
}
static uint32_t enc_b(int64_t v)
{
    uint32_t u = (uint32_t)v;
    return ((u >> 12) & 1u) << 31 | ((u >> 5) & 0x3fu) << 25 | ((u >> 1) & 0xfu) << 8 |
           ((u >> 11) & 1u) << 7;
}
static uint32_t enc_j(int64_t v)
{
    uint32_t u = (uint32_t)v;
    return ((u >> 20) & 1u) << 31 | ((u >> 1) & 0x3ffu) << 21 | ((u >> 11) & 1u) << 20 |
           ((u >> 12) & 0xffu) << 12;
}
/* c.beqz/c.bnez: offset[8|4:3] in bits 12|11:10, offset[7:6|2:1|5] in
 * bits 6:5|4:3|2. */
static uint16_t enc_cb(int64_t v)
{
    uint32_t u = (uint32_t)v;
    return (uint16_t)(((u >> 8) & 1u) << 12 | ((u >> 3) & 3u) << 10 | ((u >> 6) & 3u) << 5 |
                      ((u >> 1) & 3u) << 3 | ((u >> 5) & 1u) << 2);
}
/* c.j: offset[11|4|9:8|10|6|7|3:1|5] in bits 12..2. */
static uint16_t enc_cj(int64_t v)
{
    uint32_t u = (uint32_t)v;
    return (uint16_t)(((u >> 11) & 1u) << 12 | ((u >> 4) & 1u) << 11 | ((u >> 8) & 3u) << 9 |
                      ((u >> 10) & 1u) << 8 | ((u >> 6) & 1u) << 7 | ((u >> 7) & 1u) << 6 |
                      ((u >> 1) & 7u) << 3 | ((u >> 5) & 1u) << 2);
}

static uint16_t get16(const uint8_t *p)
{
    uint16_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static uint64_t get64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static void patch32(uint8_t *p, uint32_t mask, uint32_t bits)
{
    ej__put32(p, (ej__get32(p) & ~mask) | bits);
}

static void patch16(uint8_t *p, uint16_t mask, uint16_t bits)
{
    ej__put16(p, (uint16_t)((get16(p) & ~mask) | bits));
}

static int is_itype(uint32_t i)
{
    uint32_t op = OPCODE(i);
    return op == OP_LOAD || op == OP_LOAD_FP || op == OP_IMM || op == OP_IMM_32 ||
           (op == OP_JALR && FUNCT3(i) == 0);
}

static int is_stype(uint32_t i)
{
    return OPCODE(i) == OP_STORE || OPCODE(i) == OP_STORE_FP;
}

/* ---- failures ---------------------------------------------------------- */

/* fail->why is read right after the handler returns; a thread-local buffer
 * lets it carry the instruction that was found. */
static _Thread_local char why_buf[200];

static ej_status fail_why(ej__reloc_fail *f, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
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

static ej_status wrong_insn(ej__reloc_fail *f, const char *want, uint32_t found)
{
    return fail_why(f, "expected %s at the place, found instruction 0x%08x", want, found);
}

static ej_status wrong_insn16(ej__reloc_fail *f, const char *want, uint16_t found)
{
    return fail_why(f, "expected %s at the place, found 0x%04x", want, found);
}

static ej_status odd_offset(ej__reloc_fail *f, int64_t v)
{
    return fail_why(f, "offset %lld is odd: the target is not on a 2-byte boundary",
                    (long long)v);
}

static ej_status range(ej__reloc_fail *f, int64_t v, int64_t min, int64_t max)
{
    return ej__reloc_range_fail(f, (uint64_t)v, min, max);
}

/* ---- the 32-bit PC-relative pairs ---------------------------------------- */

/* hi20(v) = (v + 0x800) >> 12 must fit 20 signed bits: auipc (or lui) then
 * a sign-extended 12-bit immediate reach [-2 GiB - 2 KiB, 2 GiB - 2 KiB). */
#define HI20_MIN (-(int64_t)0x80000000 - 0x800)
#define HI20_MAX ((int64_t)0x7fffffff - 0x800)

static int fits_hi20(int64_t v)
{
    return v >= HI20_MIN && v <= HI20_MAX;
}

static int64_t hi20(int64_t v)
{
    return (int64_t)((uint64_t)v + 0x800) >> 12;
}

/* GOT_HI20 and its TLS twins address a slot the generic code passes as G
 * (the initial-exec slot, the general-dynamic pair). */
static int is_got_hi(uint32_t type)
{
    return type == RV_GOT_HI20 || type == RV_TLS_GOT_HI20 || type == RV_TLS_GD_HI20;
}

/* The value a PCREL_HI20 or GOT_HI20 site H encodes, which its PCREL_LO12
 * partners share: G + A - P, or S + A - P (L + A - P through the stub the
 * generic linker gave a host function that is out of reach). */
static int64_t hi_part_value(const ej__reloc_site *h)
{
    if (is_got_hi(h->type))
        return (int64_t)(h->G + (uint64_t)h->A - h->P);
    int64_t v = (int64_t)(h->S + (uint64_t)h->A - h->P);
    if (!fits_hi20(v) && h->L)
        v = (int64_t)(h->L + (uint64_t)h->A - h->P);
    return v;
}

/* A PCREL_HI20 or GOT_HI20 at the place: an auipc. */
static ej_status put_hi_part(const ej__reloc_site *s, ej__reloc_fail *f, int64_t v)
{
    uint32_t insn = ej__get32(s->loc);
    if (OPCODE(insn) != OP_AUIPC)
        return wrong_insn(f, "auipc", insn);
    if (!fits_hi20(v))
        return range(f, v, HI20_MIN, HI20_MAX);
    patch32(s->loc, U_MASK, enc_u(hi20(v)));
    return EJ_OK;
}

static ej_status h_pcrel_hi20(const ej__reloc_site *s, ej__reloc_fail *f)
{
    return put_hi_part(s, f, hi_part_value(s));
}

static ej_status h_got_hi20(const ej__reloc_site *s, ej__reloc_fail *f)
{
    if (!s->G)
        return fail_why(f, "the symbol has no GOT slot");
    return put_hi_part(s, f, hi_part_value(s));
}

static const char *type_name(uint32_t type);

/* The value of the high part a PCREL_LO12 at S is paired with. */
static ej_status pair_value(const ej__reloc_site *s, ej__reloc_fail *f, int64_t *v)
{
    const ej__reloc_site *h = s->pair;
    if (!h)
        return fail_why(f, "no high-part relocation at the place its symbol labels");
    if (h->type == RV_PCREL_HI20 || is_got_hi(h->type)) {
        if (is_got_hi(h->type) && !h->G)
            return fail_why(f, "the high part's symbol has no GOT slot");
        *v = hi_part_value(h);
        return EJ_OK;
    }
    return fail_why(f, "the relocation at 0x%llx, the place its symbol labels, is %s, not "
                    "R_RISCV_PCREL_HI20 or a GOT_HI20 (GOT, TLS_GOT, TLS_GD)",
                    (unsigned long long)h->P, type_name(h->type));
}

static ej_status h_pcrel_lo12_i(const ej__reloc_site *s, ej__reloc_fail *f)
{
    uint32_t insn = ej__get32(s->loc);
    int64_t v = 0;
    if (!is_itype(insn))
        return wrong_insn(f, "an I-type instruction (load, addi, addiw, jalr)", insn);
    ej_status st = pair_value(s, f, &v);
    if (st != EJ_OK)
        return st;
    patch32(s->loc, I_MASK, enc_i(v));
    return EJ_OK;
}

static ej_status h_pcrel_lo12_s(const ej__reloc_site *s, ej__reloc_fail *f)
{
    uint32_t insn = ej__get32(s->loc);
    int64_t v = 0;
    if (!is_stype(insn))
        return wrong_insn(f, "an S-type instruction (store)", insn);
    ej_status st = pair_value(s, f, &v);
    if (st != EJ_OK)
        return st;
    patch32(s->loc, S_MASK, enc_s(v));
    return EJ_OK;
}

/* CALL and CALL_PLT: auipc rX at P, jalr rd, rX at P + 4.  Direct when
 * S + A - P is within reach of the pair, otherwise through the stub the
 * generic linker gives an external symbol. */
static ej_status h_call(const ej__reloc_site *s, ej__reloc_fail *f)
{
    uint32_t auipc = ej__get32(s->loc), jalr = ej__get32(s->loc + 4);
    if (OPCODE(auipc) != OP_AUIPC)
        return wrong_insn(f, "auipc (the first of an auipc+jalr pair)", auipc);
    if (OPCODE(jalr) != OP_JALR || FUNCT3(jalr) != 0)
        return fail_why(f, "expected jalr after the auipc, found instruction 0x%08x", jalr);
    if (RS1(jalr) != RD(auipc))
        return fail_why(f, "the jalr (0x%08x) does not jump through x%u, the auipc's register",
                        jalr, RD(auipc));
    int64_t v = (int64_t)(s->S + (uint64_t)s->A - s->P);
    int64_t direct = v;
    if (!fits_hi20(v) && s->L)
        v = (int64_t)(s->L + (uint64_t)s->A - s->P);
    if (!fits_hi20(v))
        return range(f, direct, HI20_MIN, HI20_MAX);
    patch32(s->loc, U_MASK, enc_u(hi20(v)));
    patch32(s->loc + 4, I_MASK, enc_i(v));
    return EJ_OK;
}

/* ---- absolute hi/lo ------------------------------------------------------ */

static ej_status h_hi20(const ej__reloc_site *s, ej__reloc_fail *f)
{
    uint32_t insn = ej__get32(s->loc);
    if (OPCODE(insn) != OP_LUI)
        return wrong_insn(f, "lui", insn);
    int64_t v = (int64_t)(s->S + (uint64_t)s->A);
    if (!fits_hi20(v))
        return range(f, v, HI20_MIN, HI20_MAX);
    patch32(s->loc, U_MASK, enc_u(hi20(v)));
    return EJ_OK;
}

/* The low part of an absolute address never overflows: its range is the
 * HI20's. */
static ej_status h_lo12_i(const ej__reloc_site *s, ej__reloc_fail *f)
{
    uint32_t insn = ej__get32(s->loc);
    if (!is_itype(insn))
        return wrong_insn(f, "an I-type instruction (load, addi, addiw, jalr)", insn);
    patch32(s->loc, I_MASK, enc_i((int64_t)(s->S + (uint64_t)s->A)));
    return EJ_OK;
}

static ej_status h_lo12_s(const ej__reloc_site *s, ej__reloc_fail *f)
{
    uint32_t insn = ej__get32(s->loc);
    if (!is_stype(insn))
        return wrong_insn(f, "an S-type instruction (store)", insn);
    patch32(s->loc, S_MASK, enc_s((int64_t)(s->S + (uint64_t)s->A)));
    return EJ_OK;
}

/* ---- branches and jumps ---------------------------------------------------- */

static ej_status h_branch(const ej__reloc_site *s, ej__reloc_fail *f)
{
    uint32_t insn = ej__get32(s->loc);
    if (OPCODE(insn) != OP_BRANCH)
        return wrong_insn(f, "a conditional branch (beq, bne, blt, bge, bltu, bgeu)", insn);
    int64_t v = (int64_t)(s->S + (uint64_t)s->A - s->P);
    if (v < -4096 || v > 4094)
        return range(f, v, -4096, 4094);
    if (v & 1)
        return odd_offset(f, v);
    patch32(s->loc, B_MASK, enc_b(v));
    return EJ_OK;
}

static ej_status h_jal(const ej__reloc_site *s, ej__reloc_fail *f)
{
    uint32_t insn = ej__get32(s->loc);
    if (OPCODE(insn) != OP_JAL)
        return wrong_insn(f, "jal", insn);
    int64_t v = (int64_t)(s->S + (uint64_t)s->A - s->P);
    int64_t direct = v;
    const int64_t lim = (int64_t)1 << 20;
    if ((v < -lim || v > lim - 2) && s->L)
        v = (int64_t)(s->L + (uint64_t)s->A - s->P);
    if (v < -lim || v > lim - 2)
        return range(f, direct, -lim, lim - 2);
    if (v & 1)
        return odd_offset(f, v);
    patch32(s->loc, J_MASK, enc_j(v));
    return EJ_OK;
}

/* c.beqz / c.bnez: quadrant 1, funct3 110 / 111. */
static ej_status h_rvc_branch(const ej__reloc_site *s, ej__reloc_fail *f)
{
    uint16_t insn = get16(s->loc);
    if ((insn & 3) != 1 || (insn >> 13) < 6)
        return wrong_insn16(f, "c.beqz or c.bnez", insn);
    int64_t v = (int64_t)(s->S + (uint64_t)s->A - s->P);
    if (v < -256 || v > 254)
        return range(f, v, -256, 254);
    if (v & 1)
        return odd_offset(f, v);
    patch16(s->loc, CB_MASK, enc_cb(v));
    return EJ_OK;
}

/* c.j: quadrant 1, funct3 101 (c.jal, funct3 001, is RV32-only: on RV64
 * that encoding is c.addiw). */
static ej_status h_rvc_jump(const ej__reloc_site *s, ej__reloc_fail *f)
{
    uint16_t insn = get16(s->loc);
    if ((insn & 3) != 1 || (insn >> 13) != 5)
        return wrong_insn16(f, "c.j", insn);
    int64_t v = (int64_t)(s->S + (uint64_t)s->A - s->P);
    if (v < -2048 || v > 2046)
        return range(f, v, -2048, 2046);
    if (v & 1)
        return odd_offset(f, v);
    patch16(s->loc, CJ_MASK, enc_cj(v));
    return EJ_OK;
}

/* ---- data words ---------------------------------------------------------- */

static ej_status h_none(const ej__reloc_site *s, ej__reloc_fail *f)
{
    (void)s;
    (void)f;
    return EJ_OK;
}

/* A signed or an unsigned reading of the value, as GNU ld and lld accept. */
static ej_status h_abs32(const ej__reloc_site *s, ej__reloc_fail *f)
{
    int64_t v = (int64_t)(s->S + (uint64_t)s->A);
    if (v < INT32_MIN || v > (int64_t)UINT32_MAX)
        return range(f, v, INT32_MIN, UINT32_MAX);
    ej__put32(s->loc, (uint32_t)v);
    return EJ_OK;
}

static ej_status h_abs64(const ej__reloc_site *s, ej__reloc_fail *f)
{
    (void)f;
    ej__put64(s->loc, s->S + (uint64_t)s->A);
    return EJ_OK;
}

static ej_status put_pcrel32(const ej__reloc_site *s, ej__reloc_fail *f, int64_t v)
{
    if (!ej__fits_signed(v, 32))
        return range(f, v, INT32_MIN, INT32_MAX);
    ej__put32(s->loc, (uint32_t)v);
    return EJ_OK;
}

static ej_status h_pcrel32(const ej__reloc_site *s, ej__reloc_fail *f)
{
    return put_pcrel32(s, f, (int64_t)(s->S + (uint64_t)s->A - s->P));
}

static ej_status h_plt32(const ej__reloc_site *s, ej__reloc_fail *f)
{
    int64_t v = (int64_t)(s->S + (uint64_t)s->A - s->P);
    if (!ej__fits_signed(v, 32) && s->L)
        v = (int64_t)(s->L + (uint64_t)s->A - s->P);
    return put_pcrel32(s, f, v);
}

/* Label arithmetic (DWARF call frame and line programs, jump tables,
 * exception tables): an assembler that cannot compute `b - a` across
 * relaxable code emits SET/ADD b then SUB a at the same place.  The
 * intermediate value is an address that does not fit the field, so the
 * arithmetic is modular and unchecked (as in GNU ld and lld): only the
 * pair's sum is meaningful. */
static uint64_t sa(const ej__reloc_site *s)
{
    return s->S + (uint64_t)s->A;
}

static ej_status h_add8(const ej__reloc_site *s, ej__reloc_fail *f)
{
    (void)f;
    *s->loc = (uint8_t)(*s->loc + sa(s));
    return EJ_OK;
}
static ej_status h_add16(const ej__reloc_site *s, ej__reloc_fail *f)
{
    (void)f;
    ej__put16(s->loc, (uint16_t)(get16(s->loc) + sa(s)));
    return EJ_OK;
}
static ej_status h_add32(const ej__reloc_site *s, ej__reloc_fail *f)
{
    (void)f;
    ej__put32(s->loc, (uint32_t)(ej__get32(s->loc) + sa(s)));
    return EJ_OK;
}
static ej_status h_add64(const ej__reloc_site *s, ej__reloc_fail *f)
{
    (void)f;
    ej__put64(s->loc, get64(s->loc) + sa(s));
    return EJ_OK;
}
static ej_status h_sub8(const ej__reloc_site *s, ej__reloc_fail *f)
{
    (void)f;
    *s->loc = (uint8_t)(*s->loc - sa(s));
    return EJ_OK;
}
static ej_status h_sub16(const ej__reloc_site *s, ej__reloc_fail *f)
{
    (void)f;
    ej__put16(s->loc, (uint16_t)(get16(s->loc) - sa(s)));
    return EJ_OK;
}
static ej_status h_sub32(const ej__reloc_site *s, ej__reloc_fail *f)
{
    (void)f;
    ej__put32(s->loc, (uint32_t)(ej__get32(s->loc) - sa(s)));
    return EJ_OK;
}
static ej_status h_sub64(const ej__reloc_site *s, ej__reloc_fail *f)
{
    (void)f;
    ej__put64(s->loc, get64(s->loc) - sa(s));
    return EJ_OK;
}
/* The 6-bit fields are the low bits of a byte (DW_CFA_advance_loc): the
 * top two bits (the opcode) are kept. */
static ej_status h_sub6(const ej__reloc_site *s, ej__reloc_fail *f)
{
    (void)f;
    uint8_t b = *s->loc;
    *s->loc = (uint8_t)((b & 0xc0u) | ((b - sa(s)) & 0x3fu));
    return EJ_OK;
}
static ej_status h_set6(const ej__reloc_site *s, ej__reloc_fail *f)
{
    (void)f;
    *s->loc = (uint8_t)((*s->loc & 0xc0u) | (sa(s) & 0x3fu));
    return EJ_OK;
}
static ej_status h_set8(const ej__reloc_site *s, ej__reloc_fail *f)
{
    (void)f;
    *s->loc = (uint8_t)sa(s);
    return EJ_OK;
}
static ej_status h_set16(const ej__reloc_site *s, ej__reloc_fail *f)
{
    (void)f;
    ej__put16(s->loc, (uint16_t)sa(s));
    return EJ_OK;
}
static ej_status h_set32(const ej__reloc_site *s, ej__reloc_fail *f)
{
    (void)f;
    ej__put32(s->loc, (uint32_t)sa(s));
    return EJ_OK;
}

/* ---- ULEB128 fields -------------------------------------------------------- */

/* The field keeps the length the assembler gave it (a ULEB128 cannot grow
 * in place): LEN bytes, the first LEN - 1 with the continuation bit set,
 * hold 7 * LEN bits.  The psABI makes SET_ULEB128 b and SUB_ULEB128 a at
 * the same place one pair (their sum is b - a); the SET alone is an
 * address that does not fit, so the SET's value waits here (thread-local)
 * for the SUB right after it, which checks and writes the difference.
 * A SET whose value fits is also written at once. */
static _Thread_local struct {
    uint64_t P;
    const uint8_t *loc;
    uint64_t value;
    int valid;
} uleb_set;

static ej_status uleb_field(const ej__reloc_site *s, ej__reloc_fail *f, size_t *len,
                            uint64_t *value)
{
    size_t avail = (size_t)(s->end - s->loc);
    uint64_t v = 0;
    for (size_t i = 0; i < avail; i++) {
        uint8_t b = s->loc[i];
        if (i < 10)
            v |= (uint64_t)(b & 0x7fu) << (7 * i);
        if (!(b & 0x80u)) {
            *len = i + 1;
            *value = v;
            return EJ_OK;
        }
    }
    return fail_why(f, "the ULEB128 field at the place runs past the end of the section "
                    "(%zu bytes, all with the continuation bit)", avail);
}

static int uleb_fits(uint64_t v, size_t len)
{
    return len >= 10 || 7 * len >= 64 || v >> (7 * len) == 0;
}

static ej_status uleb_too_big(ej__reloc_fail *f, uint64_t v, size_t len)
{
    int64_t max = 7 * len >= 63 ? INT64_MAX : (int64_t)(((uint64_t)1 << (7 * len)) - 1);
    return ej__reloc_range_fail(f, v, 0, max);
}

static void uleb_write(uint8_t *p, size_t len, uint64_t v)
{
    for (size_t i = 0; i < len; i++) {
        uint8_t b = 7 * i < 64 ? (uint8_t)((v >> (7 * i)) & 0x7fu) : 0;
        p[i] = (uint8_t)(b | (i + 1 < len ? 0x80u : 0));
    }
}

static ej_status h_set_uleb128(const ej__reloc_site *s, ej__reloc_fail *f)
{
    size_t len = 0;
    uint64_t old = 0, v = sa(s);
    ej_status st = uleb_field(s, f, &len, &old);
    if (st != EJ_OK)
        return st;
    uleb_set.P = s->P;
    uleb_set.loc = s->loc;
    uleb_set.value = v;
    uleb_set.valid = 1;
    if (uleb_fits(v, len))
        uleb_write(s->loc, len, v);
    return EJ_OK;
}

/* V - S - A, V being the SET's value right before at the same place (or
 * the field's value when there is none).  The difference must be
 * non-negative and fit the field. */
static ej_status h_sub_uleb128(const ej__reloc_site *s, ej__reloc_fail *f)
{
    size_t len = 0;
    uint64_t V = 0;
    ej_status st = uleb_field(s, f, &len, &V);
    if (st != EJ_OK)
        return st;
    if (uleb_set.valid && uleb_set.P == s->P && uleb_set.loc == s->loc)
        V = uleb_set.value;
    uleb_set.valid = 0;
    uint64_t v = V - sa(s);
    if (V < sa(s) || !uleb_fits(v, len))
        return uleb_too_big(f, v, len);
    uleb_write(s->loc, len, v);
    return EJ_OK;
}

/* ---- markers and refusals ---------------------------------------------------- */

/* R_RISCV_ALIGN: A bytes of NOPs start at P.  Before layout,
 * src/link/align.c checks the padding with this handler, cuts it to what
 * aligns the code that follows, and leaves A = the bytes that stay; here
 * they are checked once more: NOPs (c.nop or nop), wholly inside the
 * section. */
static ej_status h_align(const ej__reloc_site *s, ej__reloc_fail *f)
{
    size_t avail = (size_t)(s->end - s->loc);
    if (s->A < 0 || (uint64_t)s->A > avail)
        return fail_why(f, "%lld bytes of padding do not fit in the %zu bytes left in the section",
                        (long long)s->A, avail);
    size_t n = (size_t)s->A;
    for (size_t i = 0; i < n;) {
        uint16_t h = n - i >= 2 ? get16(s->loc + i) : s->loc[i];
        if (n - i >= 4 && (h & 3) == 3 && ej__get32(s->loc + i) == 0x00000013u) {
            i += 4; /* nop (addi x0, x0, 0) */
        } else if (n - i >= 2 && h == 0x0001u) {
            i += 2; /* c.nop */
        } else {
            return fail_why(f, "the padding is not NOPs: byte %zu of %zu is not the start "
                            "of a nop or c.nop", i, n);
        }
    }
    return EJ_OK;
}

static ej_status h_gprel(const ej__reloc_site *s, ej__reloc_fail *f)
{
    (void)s;
    return fail_why(f, "GP-relative relocations are not supported (nothing sets gp to a "
                    "module's __global_pointer$)");
}

/* ---- tables generated from the list ------------------------------------------ */

#define EJ_HI20_MIN HI20_MIN
#define EJ_HI20_MAX HI20_MAX
#define EJ_RELOC_LIST "reloc/riscv64_relocs.def"
#define EJ_RELOC_PREFIX "R_RISCV_"
#include "reloc/reloc_tables.h"

static const char *type_name(uint32_t type)
{
    return type < EJ_ARRAY_LEN(reloc_infos) && reloc_infos[type].name
               ? reloc_infos[type].name
               : "an unknown type";
}

/* Stub (16 bytes), PLT-like: the slot is within +/-2 GiB (same image).
 *   auipc t3, %pcrel_hi(slot)
 *   ld    t3, %pcrel_lo(slot)(t3)
 *   jalr  x0, 0(t3)
 *   ebreak                        (padding, never reached)
 * t3 (x28) is a temporary the calling convention lets a veneer clobber. */
enum { T3 = 28 };

static void riscv64_write_stub(uint8_t *w, uint64_t stub, uint64_t slot)
{
    int64_t d = (int64_t)(slot - stub);
    ej__put32(w, OP_AUIPC | T3 << 7 | enc_u(hi20(d)));
    ej__put32(w + 4, OP_LOAD | T3 << 7 | 3u << 12 | T3 << 15 | enc_i(d));
    ej__put32(w + 8, OP_JALR | 0u << 7 | 0u << 12 | T3 << 15);
    ej__put32(w + 12, OP_SYSTEM | 1u << 20); /* ebreak */
}

/* nop (addi x0, x0, 0) words, after one c.nop when N is not a multiple of
 * 4 (padding that short only exists in code with compressed
 * instructions). */
static void riscv64_write_nops(uint8_t *w, size_t n)
{
    if (n & 2) {
        w[0] = 0x01;
        w[1] = 0x00;
        w += 2;
        n -= 2;
    }
    for (; n >= 4; n -= 4, w += 4)
        ej__put32(w, 0x00000013u);
}

const ej__arch ej__arch_riscv64 = {
    .name = "riscv64",
    .triple = "riscv64-linux-gnu",
    .machine = EM_RISCV,
    .infos = reloc_infos,
    .handlers = reloc_handlers,
    .ntypes = EJ_ARRAY_LEN(reloc_infos),
    .got_entry_size = 8,
    .stub_size = 16,
    .stub_align = 16,
    .write_stub = riscv64_write_stub,
    .align_type = R_RISCV_ALIGN,
    .write_nops = riscv64_write_nops,
    .kind_type = {[EJ_RELOC_ABS64] = R_RISCV_64, [EJ_RELOC_PCREL32] = R_RISCV_32_PCREL,
                  [EJ_RELOC_CALL] = R_RISCV_CALL_PLT, [EJ_RELOC_GOT_LOAD] = R_RISCV_GOT_HI20,
                  [EJ_RELOC_TLS_LOAD] = R_RISCV_TLS_GOT_HI20},
    /* 1: auipc rd, %got_pcrel_hi(sym) (or %tls_ie_pcrel_hi); ld rd, %pcrel_lo(1b)(rd) */
    .kind_type_lo = {[EJ_RELOC_GOT_LOAD] = R_RISCV_PCREL_LO12_I,
                     [EJ_RELOC_TLS_LOAD] = R_RISCV_PCREL_LO12_I},
    .kind_lo_label = 1,
    .insn_align = 4,
    /* TLS variant I with no TCB before the block; offsets handed to
     * __tls_get_addr are biased by 0x800; the loader only takes shared
     * objects of its own float ABI.  The C library here (glibc 2.36)
     * has no RISC-V TLS descriptors. */
    .tls = {R_RISCV_TLS_TPREL64, R_RISCV_TLS_DTPMOD64, R_RISCV_TLS_DTPREL64, 0, 0, 0, 0x800,
            0x4 /* EF_RISCV_FLOAT_ABI_DOUBLE: lp64d, the Linux ABI */},
    /* CFA = sp; the return address is in ra (x1). */
    .cie = {1, -8, 1, 3, {EJ_DW_CFA_def_cfa, 2, 0}},
};
