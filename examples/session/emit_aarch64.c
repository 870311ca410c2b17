/* The stack machine on aarch64 (AAPCS64): each temporary takes 16 bytes
 * of stack, so sp stays 16-aligned everywhere (the hardware checks it on
 * every sp-based access, and calls need it); the parameter lives in x19,
 * x0 and x1 are the operator's registers, x9 and x10 the counter's.  The
 * frame record (x29, x30) is kept and x29 points at it: the CFA is
 * x29 + 32 in the body, and frame-pointer backtraces walk through the code
 * too. */
#include "emit.h"

enum { X19 = 19, X29 = 29, X30 = 30, SP = 31 }; /* DWARF register numbers */

enum {
    PUSH_X0 = 0xf81f0fe0u,  /* str x0, [sp, #-16]! */
    PUSH_X19 = 0xf81f0ff3u, /* str x19, [sp, #-16]! */
    POP_X0 = 0xf84107e0u,   /* ldr x0, [sp], #16 */
    POP_X1 = 0xf84107e1u,   /* ldr x1, [sp], #16 */
};

static void enter(code *c)
{
    put32(c, 0xa9be7bfdu); /* stp x29, x30, [sp, #-32]! */
    put32(c, 0x910003fdu); /* mov x29, sp */
    put32(c, 0xf9000bf3u); /* str x19, [sp, #16] */
    put32(c, 0xaa0003f3u); /* mov x19, x0 */
}

static size_t count(code *c)
{
    size_t at = c->n;
    put32(c, 0x90000009u); /* adrp x9, :got:counter */
    put32(c, 0xf9400129u); /* ldr x9, [x9, :got_lo12:counter] */
    put32(c, 0xf940012au); /* ldr x10, [x9] */
    put32(c, 0x9100054au); /* add x10, x10, #1 */
    put32(c, 0xf900012au); /* str x10, [x9] */
    return at;
}

/* x0 = V: movz (or movn when more halves are 0xffff than 0) for one half,
 * movk for each other half that differs from what that left. */
static void push_num(code *c, int64_t v)
{
    uint64_t u = (uint64_t)v;
    int zeros = 0, ones = 0;
    for (int hw = 0; hw < 4; hw++) {
        uint16_t h = (uint16_t)(u >> (16 * hw));
        zeros += h == 0;
        ones += h == 0xffff;
    }
    int inverted = ones > zeros;
    uint16_t fill = inverted ? 0xffff : 0;
    put32(c, (inverted ? 0x92800000u : 0xd2800000u) | /* movn / movz x0, #h0 */
                 (uint32_t)(uint16_t)((inverted ? ~u : u) & 0xffff) << 5);
    for (int hw = 1; hw < 4; hw++) {
        uint16_t h = (uint16_t)(u >> (16 * hw));
        if (h != fill)
            put32(c, 0xf2800000u | (uint32_t)hw << 21 | (uint32_t)h << 5); /* movk x0 */
    }
    put32(c, PUSH_X0);
}

static void push_arg(code *c)
{
    put32(c, PUSH_X19);
}

static void binary(code *c, binop op)
{
    put32(c, POP_X1);
    put32(c, POP_X0);
    switch (op) {
    case BIN_ADD: put32(c, 0x8b010000u); break; /* add x0, x0, x1 */
    case BIN_SUB: put32(c, 0xcb010000u); break; /* sub x0, x0, x1 */
    case BIN_MUL: put32(c, 0x9b017c00u); break; /* mul x0, x0, x1 */
    case BIN_LT:
        put32(c, 0xeb01001fu); /* cmp x0, x1 */
        put32(c, 0x9a9fa7e0u); /* cset x0, lt */
        break;
    case BIN_EQ:
        put32(c, 0xeb01001fu); /* cmp x0, x1 */
        put32(c, 0x9a9f17e0u); /* cset x0, eq */
        break;
    }
    put32(c, PUSH_X0);
}

static size_t call(code *c, int depth)
{
    (void)depth; /* sp is always 16-aligned */
    put32(c, POP_X0);
    size_t at = c->n;
    put32(c, 0x94000000u); /* bl callee (CALL26) */
    put32(c, PUSH_X0);
    return at;
}

static size_t jump_if_zero(code *c)
{
    put32(c, POP_X0);
    size_t at = c->n;
    put32(c, 0xb4000000u); /* cbz x0, target */
    return at;
}

static size_t jump(code *c)
{
    size_t at = c->n;
    put32(c, 0x14000000u); /* b target */
    return at;
}

static void patch(code *c, size_t at, size_t target)
{
    uint32_t insn = get32(c, at), words = (uint32_t)(((int64_t)target - (int64_t)at) / 4);
    if ((insn & 0xfc000000u) == 0x14000000u)
        insn |= words & 0x3ffffffu; /* b: imm26 */
    else
        insn |= (words & 0x7ffffu) << 5; /* cbz: imm19 */
    set32(c, at, insn);
}

static void leave(code *c)
{
    put32(c, POP_X0);
    put32(c, 0xf9400bf3u); /* ldr x19, [sp, #16] */
    put32(c, 0xa8c27bfdu); /* ldp x29, x30, [sp], #32 */
    put32(c, 0xd65f03c0u); /* ret */
}

/* Against the CIE's CFA = sp, return address in x30 (advances count
 * instructions):
 *     1  (after stp)              CFA = sp + 32, x29 at CFA - 32, x30 at CFA - 24
 *     2  (after mov x29, sp)      CFA = x29 + 32, for the whole body
 *     3  (after str x19)          x19 at CFA - 16
 *     LEN/4 - 1 (the ret)         CFA = sp, x29, x30 and x19 restored
 * The loads before the ret leave the values in their slots, so the rules
 * hold up to the ldp that restores x29; after it, the slots are below sp
 * (no red zone: a signal may overwrite them), hence the last row. */
static void unwind(code *c, size_t len)
{
    cfa_advance(c, 1);
    cfa_def_cfa_offset(c, 32);
    cfa_offset(c, X29, 4);
    cfa_offset(c, X30, 3);
    cfa_advance(c, 1);
    cfa_def_cfa_register(c, X29);
    cfa_advance(c, 1);
    cfa_offset(c, X19, 2);
    cfa_advance(c, len / 4 - 1 - 3);
    cfa_def_cfa(c, SP, 0);
    cfa_restore(c, X29);
    cfa_restore(c, X30);
    cfa_restore(c, X19);
}

const emitter emit_aarch64 = {
    "aarch64", 183 /* EM_AARCH64 */, 0, 0, enter, count, push_num, push_arg, binary, call,
    jump_if_zero, jump, patch, leave, unwind,
};
