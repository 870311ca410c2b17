/* The code generator's view of a machine: a stack machine whose
 * temporaries live on the machine stack.  Every value is pushed; an
 * operator pops two and pushes one; a call pops its argument and pushes
 * its result; the function's parameter lives in a callee-saved register
 * for the whole body.  One emitter per architecture (emit_<arch>.c), each
 * a table of the functions below; codegen.c walks the tree and calls
 * them.
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
