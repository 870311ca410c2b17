/* The stack machine on x86_64 (System V): temporaries are pushed with
 * `push` (8 bytes each), the parameter lives in rbx, rax and rcx are the
 * operator's scratch registers, rbp is the frame pointer (the CFA is
 * rbp + 16 in the body).  On entry rsp is 8 modulo 16; after `push rbp`
 * and `push rbx` it is 8 again, so a call with an even number of
 * temporaries on the stack first moves rsp by 8. */
#include "emit.h"

enum { RBX = 3, RBP = 6, RSP = 7 }; /* DWARF register numbers */

static void enter(code *c)
{
    PUT(c, 0x55, 0x48, 0x89, 0xe5); /* push rbp; mov rbp, rsp */
    PUT(c, 0x53, 0x48, 0x89, 0xfb); /* push rbx; mov rbx, rdi */
}

static size_t count(code *c)
{
    PUT(c, 0x48, 0x8b, 0x05); /* mov rax, [rip + counter@GOTPCREL] */
    size_t at = c->n;
    PUT(c, 0, 0, 0, 0, 0x48, 0xff, 0x00); /* inc qword [rax] */
    return at;
}

static void push_num(code *c, int64_t v)
{
    if (v >= INT32_MIN && v <= INT32_MAX) {
        PUT(c, 0x68); /* push imm32 (sign-extended) */
        put_le(c, (uint64_t)v, 4);
    } else {
        PUT(c, 0x48, 0xb8); /* mov rax, imm64; push rax */
        put_le(c, (uint64_t)v, 8);
        PUT(c, 0x50);
    }
}

static void push_arg(code *c)
{
    PUT(c, 0x53); /* push rbx */
}

static void binary(code *c, binop op)
{
    PUT(c, 0x59, 0x58); /* pop rcx (right); pop rax (left) */
    switch (op) {
    case BIN_ADD: PUT(c, 0x48, 0x01, 0xc8); break;       /* add rax, rcx */
    case BIN_SUB: PUT(c, 0x48, 0x29, 0xc8); break;       /* sub rax, rcx */
    case BIN_MUL: PUT(c, 0x48, 0x0f, 0xaf, 0xc1); break; /* imul rax, rcx */
    case BIN_LT:  /* cmp rax, rcx; setl al; movzx eax, al */
        PUT(c, 0x48, 0x39, 0xc8, 0x0f, 0x9c, 0xc0, 0x0f, 0xb6, 0xc0);
        break;
    case BIN_EQ:  /* cmp rax, rcx; sete al; movzx eax, al */
        PUT(c, 0x48, 0x39, 0xc8, 0x0f, 0x94, 0xc0, 0x0f, 0xb6, 0xc0);
        break;
    }
    PUT(c, 0x50); /* push rax */
}

static size_t call(code *c, int depth)
{
    PUT(c, 0x5f); /* pop rdi */
    int pad = !(depth & 1); /* rsp is 8 + 8 * depth modulo 16 */
    if (pad)
        PUT(c, 0x48, 0x83, 0xec, 0x08); /* sub rsp, 8 */
    PUT(c, 0xe8);                       /* call rel32 */
    size_t at = c->n;
    PUT(c, 0, 0, 0, 0);
    if (pad)
        PUT(c, 0x48, 0x83, 0xc4, 0x08); /* add rsp, 8 */
    PUT(c, 0x50);                       /* push rax */
    return at;
}

static size_t jump_if_zero(code *c)
{
    PUT(c, 0x58, 0x48, 0x85, 0xc0, 0x0f, 0x84); /* pop rax; test rax, rax; jz rel32 */
    size_t at = c->n;
    PUT(c, 0, 0, 0, 0);
    return at;
}

static size_t jump(code *c)
{
    PUT(c, 0xe9); /* jmp rel32 */
    size_t at = c->n;
    PUT(c, 0, 0, 0, 0);
    return at;
}

/* AT is a rel32 field, relative to the end of its instruction. */
static void patch(code *c, size_t at, size_t target)
{
    set32(c, at, (uint32_t)(target - (at + 4)));
}

static void leave(code *c)
{
    PUT(c, 0x58, 0x5b, 0x5d, 0xc3); /* pop rax; pop rbx; pop rbp; ret */
}

/* Against the CIE's CFA = rsp + 8, return address at CFA - 8:
 *     1  (after push rbp)     CFA = rsp + 16, rbp at CFA - 16
 *     4  (after mov rbp, rsp) CFA = rbp + 16, for the whole body
 *     5  (after push rbx)     rbx at CFA - 24
 *     LEN - 1 (the ret)       CFA = rsp + 8, rbp and rbx restored
 * The pops before the ret move rsp, not the CFA; `pop rbx` and `pop rbp`
 * leave the values in their slots, so the rules hold up to the ret. */
static void unwind(code *c, size_t len)
{
    cfa_advance(c, 1);
    cfa_def_cfa_offset(c, 16);
    cfa_offset(c, RBP, 2);
    cfa_advance(c, 3);
    cfa_def_cfa_register(c, RBP);
    cfa_advance(c, 1);
    cfa_offset(c, RBX, 3);
    cfa_advance(c, len - 1 - 5);
    cfa_def_cfa(c, RSP, 8);
    cfa_restore(c, RBP);
    cfa_restore(c, RBX);
}

const emitter emit_x86_64 = {
    "x86_64", 62 /* EM_X86_64 */, -4, -4, enter, count, push_num, push_arg, binary, call,
    jump_if_zero, jump, patch, leave, unwind,
};
