/* The code generator's view of a machine: a stack machine whose
 * temporaries live on the machine stack.  Every value is pushed; an
 * operator pops two and pushes one; a call pops its argument and pushes
 * its result; the function's parameter lives in a callee-saved register
 * for the whole body.  Every function keeps a frame pointer, which stays
 * put while the pushes and pops move the stack pointer: the unwind
 * information (unwind()) gives the CFA relative to it.  One emitter per
 * architecture (emit_<arch>.c), each a table of the functions below;
 * codegen.c walks the tree and calls them.
 *
 * Where the machine code refers to something whose address only the
 * linker knows (another function, the call counter), the emitter returns
 * the offset the relocation goes at: the codegen hands it to the builder
 * with the kind and the emitter's addend. */
#ifndef SESSION_EMIT_H
#define SESSION_EMIT_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- a growing code buffer ------------------------------------------------ */

typedef struct code {
    uint8_t *b;
    size_t n, cap;
    int nomem;
} code;

static inline void put(code *c, const void *bytes, size_t n)
{
    if (c->n + n > c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 256;
        while (cap < c->n + n)
            cap *= 2;
        uint8_t *b = c->nomem ? NULL : realloc(c->b, cap);
        if (!b) {
            c->nomem = 1;
            return;
        }
        c->b = b;
        c->cap = cap;
    }
    memcpy(c->b + c->n, bytes, n);
    c->n += n;
}

/* Bytes, for x86_64's variable-length instructions. */
#define PUT(c, ...)                                                                          \
    put(c, (const uint8_t[]){__VA_ARGS__}, sizeof((const uint8_t[]){__VA_ARGS__}))

/* The N low bytes of V, little-endian (the three machines' order). */
static inline void put_le(code *c, uint64_t v, int n)
{
    uint8_t b[8];
    for (int i = 0; i < n; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    put(c, b, (size_t)n);
}

/* One 32-bit instruction (aarch64, riscv64). */
static inline void put32(code *c, uint32_t insn)
{
    put_le(c, insn, 4);
}

static inline uint32_t get32(const code *c, size_t at)
{
    return (uint32_t)c->b[at] | (uint32_t)c->b[at + 1] << 8 | (uint32_t)c->b[at + 2] << 16 |
           (uint32_t)c->b[at + 3] << 24;
}

static inline void set32(code *c, size_t at, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        c->b[at + i] = (uint8_t)(v >> (8 * i));
}

/* ---- DWARF call-frame instructions ----------------------------------------- */

/* What each emitter's unwind() writes: the instructions of an FDE (no
 * header), which ej_builder_set_unwind takes and interprets against the
 * builder's default CIE for the machine.  That CIE's factors: code
 * alignment 4 on aarch64, 1 on x86_64 and riscv64 (advances count
 * instructions, or bytes); data alignment -8 (an offset N means CFA - 8N). */
enum {
    DW_CFA_advance_loc = 0x40, /* | delta (< 64) */
    DW_CFA_offset = 0x80,      /* | register, ULEB128 N: saved at CFA - 8N */
    DW_CFA_restore = 0xc0,     /* | register: back to the CIE's rule */
    DW_CFA_advance_loc1 = 0x02,
    DW_CFA_advance_loc2 = 0x03,
    DW_CFA_advance_loc4 = 0x04,
    DW_CFA_def_cfa = 0x0c,          /* ULEB128 register, ULEB128 offset */
    DW_CFA_def_cfa_register = 0x0d, /* ULEB128 register (the offset stays) */
    DW_CFA_def_cfa_offset = 0x0e,   /* ULEB128 offset (the register stays) */
};

static inline void put_uleb(code *c, uint64_t v)
{
    do {
        uint8_t b = (uint8_t)(v & 0x7f);
        v >>= 7;
        put(c, &(uint8_t){(uint8_t)(b | (v ? 0x80 : 0))}, 1);
    } while (v);
}

/* The next row starts DELTA code alignment units further on. */
static inline void cfa_advance(code *c, uint64_t delta)
{
    if (delta < 0x40) {
        put(c, &(uint8_t){(uint8_t)(DW_CFA_advance_loc | delta)}, 1);
        return;
    }
    int n = delta <= 0xff ? 1 : delta <= 0xffff ? 2 : 4; /* the operand's bytes */
    uint8_t op = n == 1 ? DW_CFA_advance_loc1 : n == 2 ? DW_CFA_advance_loc2 : DW_CFA_advance_loc4;
    put(c, &op, 1);
    put_le(c, delta, n);
}

/* REG saved at CFA - 8 * SLOTS; REG back to the CIE's rule (none, for
 * the registers here: the caller's value is in the register itself). */
static inline void cfa_offset(code *c, unsigned reg, uint64_t slots)
{
    put(c, &(uint8_t){(uint8_t)(DW_CFA_offset | reg)}, 1);
    put_uleb(c, slots);
}

static inline void cfa_restore(code *c, unsigned reg)
{
    put(c, &(uint8_t){(uint8_t)(DW_CFA_restore | reg)}, 1);
}

/* CFA = REG + OFF; only the register; only the offset. */
static inline void cfa_def_cfa(code *c, unsigned reg, uint64_t off)
{
    put(c, &(uint8_t){DW_CFA_def_cfa}, 1);
    put_uleb(c, reg);
    put_uleb(c, off);
}

static inline void cfa_def_cfa_register(code *c, unsigned reg)
{
    put(c, &(uint8_t){DW_CFA_def_cfa_register}, 1);
    put_uleb(c, reg);
}

static inline void cfa_def_cfa_offset(code *c, uint64_t off)
{
    put(c, &(uint8_t){DW_CFA_def_cfa_offset}, 1);
    put_uleb(c, off);
}

/* ---- the emitter interface ------------------------------------------------ */

typedef enum binop { BIN_ADD, BIN_SUB, BIN_MUL, BIN_LT, BIN_EQ } binop;

typedef struct emitter {
    const char *arch;
    uint16_t machine;         /* ELF e_machine, for ej_builder_create */
    int64_t call_addend;      /* of EJ_RELOC_CALL at what call() returns */
    int64_t got_addend;       /* of EJ_RELOC_GOT_LOAD at what count() returns */
    /* Entry: saves what the body uses, keeps the parameter. */
    void (*enter)(code *c);
    /* Adds 1 to the 8-byte counter whose address the GOT_LOAD relocation
     * at the returned offset gives.  Right after enter(). */
    size_t (*count)(code *c);
    void (*push_num)(code *c, int64_t v);
    void (*push_arg)(code *c);
    void (*binary)(code *c, binop op);
    /* Pops the argument, calls, pushes the result; DEPTH temporaries stay
     * on the stack meanwhile (the stack is aligned for the call).
     * Returns where EJ_RELOC_CALL goes. */
    size_t (*call)(code *c, int depth);
    /* Pops a value and jumps to a target given later (patch) when it is
     * 0; returns the place to patch. */
    size_t (*jump_if_zero)(code *c);
    size_t (*jump)(code *c);  /* always; returns the place to patch */
    void (*patch)(code *c, size_t at, size_t target);
    /* Exit: pops the result into the return register, restores, returns. */
    void (*leave)(code *c);
    /* The call-frame instructions of a function of LEN bytes made of
     * enter(), the body and leave() (the last code of the function): where
     * the CFA is and where the return address and the saved registers are,
     * at every instruction.  For ej_builder_set_unwind. */
    void (*unwind)(code *cfi, size_t len);
} emitter;

extern const emitter emit_x86_64, emit_aarch64, emit_riscv64;

/* The emitter for the machine this program runs on (NULL on others). */
static inline const emitter *host_emitter(void)
{
#if defined(__x86_64__)
    return &emit_x86_64;
#elif defined(__aarch64__)
    return &emit_aarch64;
#elif defined(__riscv) && __riscv_xlen == 64
    return &emit_riscv64;
#else
    return NULL;
#endif
}

#endif
