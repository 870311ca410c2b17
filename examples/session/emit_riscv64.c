/* The stack machine on riscv64 (LP64, base instructions and M, no
 * compressed ones): each temporary takes 16 bytes of stack, so sp stays
 * 16-aligned as the psABI wants it; the parameter lives in s1, a0 and a1
 * are the operator's registers, t0 and t1 the counter's.  s0 is the frame
 * pointer: it holds the CFA (sp on entry) in the body, with ra and the
 * caller's s0 right below it, as compilers lay the frame out. */
#include "emit.h"

/* (The DWARF register numbers are the same.) */
enum { ZERO = 0, RA = 1, SP = 2, T0 = 5, T1 = 6, S0 = 8, S1 = 9, A0 = 10, A1 = 11 };

/* The instruction formats. */
static uint32_t i_type(uint32_t opcode, int rd, int funct3, int rs1, int32_t imm)
{
    return ((uint32_t)imm & 0xfff) << 20 | (uint32_t)rs1 << 15 | (uint32_t)funct3 << 12 |
           (uint32_t)rd << 7 | opcode;
}

static uint32_t r_type(uint32_t funct7, int rs2, int rs1, int funct3, int rd)
{
    return funct7 << 25 | (uint32_t)rs2 << 20 | (uint32_t)rs1 << 15 | (uint32_t)funct3 << 12 |
           (uint32_t)rd << 7 | 0x33;
}

static uint32_t s_type(int funct3, int rs1, int rs2, int32_t imm)
{
    uint32_t u = (uint32_t)imm;
    return (u >> 5 & 0x7f) << 25 | (uint32_t)rs2 << 20 | (uint32_t)rs1 << 15 |
           (uint32_t)funct3 << 12 | (u & 0x1f) << 7 | 0x23;
}

static uint32_t jal(int rd, int32_t off)
{
    uint32_t u = (uint32_t)off;
    return (u >> 20 & 1) << 31 | (u >> 1 & 0x3ff) << 21 | (u >> 11 & 1) << 20 |
           (u >> 12 & 0xff) << 12 | (uint32_t)rd << 7 | 0x6f;
}

#define ADDI(rd, rs, imm) i_type(0x13, rd, 0, rs, imm)
#define LD(rd, rs, imm) i_type(0x03, rd, 3, rs, imm)
#define SD(rs2, rs1, imm) s_type(3, rs1, rs2, imm)

static void push(code *c, int reg)
{
    put32(c, ADDI(SP, SP, -16));
    put32(c, SD(reg, SP, 0));
}

static void pop(code *c, int reg)
{
    put32(c, LD(reg, SP, 0));
    put32(c, ADDI(SP, SP, 16));
}

static void enter(code *c)
{
    put32(c, ADDI(SP, SP, -32));
    put32(c, SD(RA, SP, 24));
    put32(c, SD(S0, SP, 16));
    put32(c, SD(S1, SP, 8)); /* (0(sp): padding, to keep 16) */
    put32(c, ADDI(S0, SP, 32));
    put32(c, ADDI(S1, A0, 0)); /* mv s1, a0 */
}

static size_t count(code *c)
{
    size_t at = c->n;
    put32(c, 0x00000297u); /* auipc t0, %got_pcrel_hi(counter) */
    put32(c, LD(T0, T0, 0)); /* ld t0, %pcrel_lo(..)(t0) */
    put32(c, LD(T1, T0, 0));
    put32(c, ADDI(T1, T1, 1));
    put32(c, SD(T1, T0, 0));
    return at;
}

/* rd = V: addi for 12 bits, lui + addiw for 32, else the upper part built
 * the same way, shifted left, plus the low 12 bits. */
static void load_imm(code *c, int rd, int64_t v)
{
    int64_t lo = (int64_t)((uint64_t)v << 52) >> 52; /* the low 12 bits, sign-extended */
    if (v >= -2048 && v <= 2047) {
        put32(c, ADDI(rd, ZERO, (int32_t)v));
    } else if (v >= INT32_MIN && v <= INT32_MAX) {
        /* lui takes bits 31..12 of v - lo; addiw wraps to 32 bits and
         * sign-extends, which makes the top of the range come out right */
        uint32_t hi = (uint32_t)((uint64_t)v - (uint64_t)lo) & 0xfffff000u;
        put32(c, hi | (uint32_t)rd << 7 | 0x37); /* lui rd, hi */
        if (lo)
            put32(c, i_type(0x1b, rd, 0, rd, (int32_t)lo)); /* addiw rd, rd, lo */
    } else {
        int64_t hi = (int64_t)((uint64_t)v - (uint64_t)lo) >> 12;
        int shift = 12;
        while (!(hi & 1)) { /* fewer instructions for the upper part */
            hi >>= 1;
            shift++;
        }
        load_imm(c, rd, hi);
        put32(c, i_type(0x13, rd, 1, rd, shift)); /* slli rd, rd, shift */
        if (lo)
            put32(c, ADDI(rd, rd, (int32_t)lo));
    }
}

static void push_num(code *c, int64_t v)
{
    load_imm(c, A0, v);
    push(c, A0);
}

static void push_arg(code *c)
{
    push(c, S1);
}

static void binary(code *c, binop op)
{
    pop(c, A1);
    pop(c, A0);
    switch (op) {
    case BIN_ADD: put32(c, r_type(0x00, A1, A0, 0, A0)); break; /* add a0, a0, a1 */
    case BIN_SUB: put32(c, r_type(0x20, A1, A0, 0, A0)); break; /* sub a0, a0, a1 */
    case BIN_MUL: put32(c, r_type(0x01, A1, A0, 0, A0)); break; /* mul a0, a0, a1 */
    case BIN_LT: put32(c, r_type(0x00, A1, A0, 2, A0)); break;  /* slt a0, a0, a1 */
    case BIN_EQ:
        put32(c, r_type(0x20, A1, A0, 0, A0)); /* sub a0, a0, a1 */
        put32(c, i_type(0x13, A0, 3, A0, 1));  /* seqz a0, a0 (sltiu a0, a0, 1) */
        break;
    }
    push(c, A0);
}

static size_t call(code *c, int depth)
{
    (void)depth; /* sp is always 16-aligned */
    pop(c, A0);
    size_t at = c->n;
    put32(c, 0x00000097u); /* auipc ra, %pcrel_hi(callee)  } CALL_PLT */
    put32(c, 0x000080e7u); /* jalr ra, %pcrel_lo(..)(ra)  } */
    push(c, A0);
    return at;
}

/* Branches reach 4 KiB only: a bne over a jal (1 MiB) instead. */
static size_t jump_if_zero(code *c)
{
    pop(c, A0);
    put32(c, 0x00051463u); /* bne a0, zero, .+8 */
    size_t at = c->n;
    put32(c, jal(ZERO, 0)); /* j target */
    return at;
}

static size_t jump(code *c)
{
    size_t at = c->n;
    put32(c, jal(ZERO, 0));
    return at;
}

static void patch(code *c, size_t at, size_t target)
{
    set32(c, at, jal(ZERO, (int32_t)((int64_t)target - (int64_t)at)));
}

static void leave(code *c)
{
    pop(c, A0);
    put32(c, LD(S1, SP, 8));
    put32(c, LD(RA, SP, 24));
    put32(c, LD(S0, SP, 16));
    put32(c, ADDI(SP, SP, 32));
    put32(c, 0x00008067u); /* ret */
}

/* Against the CIE's CFA = sp, return address in ra (advances count bytes):
 *     4  (after addi sp)         CFA = sp + 32
 *     8  (after sd ra)           ra at CFA - 8
 *     12 (after sd s0)           s0 at CFA - 16
 *     16 (after sd s1)           s1 at CFA - 24
 *     20 (after addi s0)         CFA = s0, for the whole body
 *     LEN - 8 (after ld s0)      CFA = sp + 32, s0 restored
 *     LEN - 4 (the ret)          CFA = sp, ra and s1 restored
 * The loads leave the values in their slots, so the rules for ra and s1
 * hold until the addi that frees the frame (no red zone: a signal may
 * overwrite the slots after it). */
static void unwind(code *c, size_t len)
{
    cfa_advance(c, 4);
    cfa_def_cfa_offset(c, 32);
    cfa_advance(c, 4);
    cfa_offset(c, RA, 1);
    cfa_advance(c, 4);
    cfa_offset(c, S0, 2);
    cfa_advance(c, 4);
    cfa_offset(c, S1, 3);
    cfa_advance(c, 4);
    cfa_def_cfa(c, S0, 0);
    cfa_advance(c, len - 8 - 20);
    cfa_def_cfa(c, SP, 32);
    cfa_restore(c, S0);
    cfa_advance(c, 4);
    cfa_def_cfa_offset(c, 0);
    cfa_restore(c, RA);
    cfa_restore(c, S1);
}

const emitter emit_riscv64 = {
    "riscv64", 243 /* EM_RISCV */, 0, 0, enter, count, push_num, push_arg, binary, call,
    jump_if_zero, jump, patch, leave, unwind,
};
