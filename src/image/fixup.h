/* Fixups: what an image saved ahead of time (src/aot) must redo when it is
 * loaded, because it depends on where the image lands or on symbols of
 * the process that loads it.  Everything else the link wrote (every
 * PC-relative reference inside the image, GOT-relative offsets, stubs)
 * holds wherever the image is placed.
 *
 * A fixup is one relocation to apply again at load, through the same
 * architecture handler the link used, with S, P, G, L and GOT recomputed
 * from the new base: the place OFF; the value S from KIND (an offset in
 * the image, a constant, or an imported name looked up in the loading
 * process); the addend, symbol size, GOT slot, stub and GOT as the link
 * had them.  TYPE EJ_FX_WORD64 is a 64-bit word holding S (a GOT slot).
 * The link records them (src/link/fixups.c) only when it saves an image. */
#ifndef EJ_IMAGE_FIXUP_H
#define EJ_IMAGE_FIXUP_H

#include <stdint.h>

enum ej__fixup_kind {
    EJ_FX_IMAGE,  /* S = the image's base + s */
    EJ_FX_CONST,  /* S = s */
    EJ_FX_IMPORT, /* S = the address of the name at offset s of the image's strings */
    EJ_FX_TLS_TP, /* S = the image's TLS block's thread-pointer offset + s */
    EJ_FX_TLS_WORD, /* S = word s of the image's TLS table, as the C library filled it */
};

#define EJ_FX_WORD64 UINT32_MAX

/* Fixups are stored in this form, little-endian, sorted by OFF. */
typedef struct ej__fixup {
    uint64_t off;   /* the place, from the image start */
    uint64_t s;     /* see KIND */
    int64_t a;      /* the addend */
    uint64_t z;     /* the symbol's size */
    uint32_t got;   /* the GOT's offset + 1; 0: the image has none */
    uint32_t g;     /* the symbol's GOT slot offset + 1; 0: none */
    uint32_t l;     /* its stub's offset + 1; 0: none */
    uint32_t type;  /* the machine's relocation type, or EJ_FX_WORD64 */
    uint32_t pair;  /* a PAIR_LO type's high part: its fixup's index + 1 */
    uint8_t kind;   /* enum ej__fixup_kind */
    uint8_t weak;   /* IMPORT: only weak references (missing is 0) */
    uint8_t area;   /* where OFF is: EJ_FX_IN_IMAGE, or EJ_FX_IN_TLS_INIT (the TLS
                     * block's initial image, before the C library copies it) */
    uint8_t pad;
} ej__fixup;

enum { EJ_FX_IN_IMAGE, EJ_FX_IN_TLS_INIT };

_Static_assert(sizeof(ej__fixup) == 56, "the stored form has no hidden padding");

#endif /* EJ_IMAGE_FIXUP_H */
