/* The builder's state: what a compiler handed over, before it is written
 * as an object (emit.c).  Adding (builder.c) only records and checks;
 * everything is laid out into sections as it arrives. */
#ifndef EJ_BUILDER_BUILDER_H
#define EJ_BUILDER_BUILDER_H

#include <stddef.h>
#include <stdint.h>

#include "common/common.h"
#include "elfjit/builder.h"
#include "reloc/reloc.h"

/* The sections symbols live in; indices into ej_builder.sec. */
enum { EJ_BS_TEXT, EJ_BS_RODATA, EJ_BS_DATA, EJ_BS_BSS, EJ_BS_TDATA, EJ_BS_TBSS, EJ_BS_COUNT,
       EJ_BS_NONE = 0xff };

typedef struct ej__bbuf {
    uint8_t *p;
    size_t len, cap;
    uint64_t align;      /* largest alignment asked of the section */
} ej__bbuf;

typedef struct ej__bsym {
    char *name;
    uint8_t sec;         /* EJ_BS_*, EJ_BS_NONE for an import */
    uint8_t bind;        /* ej_bind */
    uint64_t off, size;  /* in its section */
    uint8_t *cfi;        /* unwind instructions (functions), or NULL */
    size_t cfi_len;
} ej__bsym;

typedef struct ej__brel {
    uint32_t owner, target;
    uint64_t off;        /* in the owner's section */
    uint32_t type;       /* the architecture's */
    uint32_t type_lo;    /* a second instruction's relocation, 4 bytes on, or 0 */
    int64_t addend;
} ej__brel;

/* A trap (CODE) or a source position (FILE, LINE) at OFF in .text. */
typedef struct ej__bsite {
    uint64_t off;
    uint32_t a, b;       /* trap: code, 0; position: file index, line */
} ej__bsite;

#define EJ_BVEC(T) struct { T *v; size_t n, cap; }

struct ej_builder {
    ej__err err;
    const ej__arch *arch;
    ej__bbuf sec[EJ_BS_COUNT]; /* .bss: len only */
    EJ_BVEC(ej__bsym) syms;    /* ids are indices */
    EJ_BVEC(ej__brel) rels;
    EJ_BVEC(ej__bsite) traps;
    EJ_BVEC(ej__bsite) lines;
    EJ_BVEC(char *) files;
    uint32_t *hash;            /* open addressing over syms: id + 1, 0 empty */
    size_t hash_cap;
    int finished;
    void *image;               /* the finished object, kept for a second finish */
    size_t image_len;
};

/* Grows vector V (any EJ_BVEC) by one zeroed element; NULL when out of
 * memory. */
void *ej__bvec_push(void *vec, size_t elem);
#define EJ_BPUSH(vecp) ((__typeof__((vecp)->v))ej__bvec_push((vecp), sizeof *(vecp)->v))

/* Writes the object (emit.c). */
ej_status ej__builder_emit(ej_builder *b, void **out, size_t *len);

#endif
