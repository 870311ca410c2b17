/* The per-architecture relocation interface.
 *
 * Generic code (src/link) never names an architecture's relocation types:
 * it asks the backend for a type's description (how many bytes it touches,
 * whether it needs a GOT slot, a stub, the GOT base, or an image that can be
 * reached with 32 bits) and calls the backend to apply it.  Each backend is
 * one file, src/reloc/<arch>.c, whose tables are generated from one list
 * (<arch>_relocs.def) so names, validity and handlers cannot drift.
 *
 * All backends are compiled on every host: a link-only link (fake base
 * address, nothing executed) works for any machine.
 */
#ifndef EJ_RELOC_H
#define EJ_RELOC_H

#include <stddef.h>
#include <stdint.h>

#include "common/common.h"
#include "elfjit/builder.h"

/* What a relocation type asks of the generic linker (ej__reloc_info.needs). */
enum {
    EJ_RN_GOT = 1 << 0,     /* the symbol needs a GOT slot holding S */
    EJ_RN_CALL = 1 << 1,    /* a call or jump: may go through a stub when the target is far */
    EJ_RN_GOTBASE = 1 << 2, /* uses the GOT's address */
    EJ_RN_PLACE_PC = 1 << 3,  /* reach PC(...): an external target must be within reach of
                               * the image, or go through a stub when it is a function
                               * (derived from the reach: reloc_tables.h) */
    EJ_RN_PLACE_ABS = 1 << 4, /* reach ABS(...): the image must lie where its addresses fit
                               * (derived from the reach) */
    EJ_RN_ABSADDR = 1 << 5, /* the field holds an absolute address (S + A, or a part of it
                             * above the page offset): it changes when the image moves
                             * (an AOT image's fixup; set for ABS reaches too) */
    EJ_RN_TLS = 1 << 6,     /* thread-local storage: EJ_RN_TLS_KIND says which value */
    EJ_RN_DYNAMIC = 1 << 7, /* only valid in linked images, never in ET_REL */
    EJ_RN_SIZE = 1 << 8,    /* uses the symbol's size */
    EJ_RN_PAIR_LO = 1 << 9, /* the low part of a pair (RISC-V PCREL_LO12): its symbol
                             * labels the place of the high part, whose site the
                             * generic code finds and passes as site->pair */
    EJ_RN_DIFF_ADD = 1 << 13, /* adds S + A to the field (RISC-V ADD*, SET*): with a */
    EJ_RN_DIFF_SUB = 1 << 14, /* SUB at the same place, a label difference; neither can
                               * be applied twice (AOT images keep only whole pairs of
                               * image addresses, which never move apart) */
};

/* What a thread-local relocation needs (bits 10-12 of `needs`, with
 * EJ_RN_TLS).  The generic linker (src/link/tls.c) computes it and hands
 * it to the handler in the site's ordinary fields, so most TLS types share
 * the handlers of their non-TLS twins:
 *   TP    S = the variable's offset from the thread pointer (local-exec);
 *   DTP   S = its offset in its module's TLS block less the ABI's DTV bias
 *         (local-dynamic offsets, debug information);
 *   IE    G = a slot holding the thread-pointer offset (initial-exec);
 *   GD    G = a pair {module id, DTV offset} for __tls_get_addr;
 *   LD    G = the module's own pair {module id, -bias} (local-dynamic);
 *   DESC  G = a TLS descriptor {entry, argument};
 *   MARK  nothing: a marker on one instruction of a sequence. */
enum { EJ_TLS_NONE, EJ_TLS_TP, EJ_TLS_DTP, EJ_TLS_IE, EJ_TLS_GD, EJ_TLS_LD, EJ_TLS_DESC,
       EJ_TLS_MARK };
#define EJ_RN_TLS_SHIFT 10
#define EJ_RN_TLSK(k) (EJ_RN_TLS | (k) << EJ_RN_TLS_SHIFT)
#define EJ_RN_TLS_TP EJ_RN_TLSK(EJ_TLS_TP)
#define EJ_RN_TLS_DTP EJ_RN_TLSK(EJ_TLS_DTP)
#define EJ_RN_TLS_IE EJ_RN_TLSK(EJ_TLS_IE)
#define EJ_RN_TLS_GD EJ_RN_TLSK(EJ_TLS_GD)
#define EJ_RN_TLS_LD EJ_RN_TLSK(EJ_TLS_LD)
#define EJ_RN_TLS_DESC EJ_RN_TLSK(EJ_TLS_DESC)
#define EJ_RN_TLS_MARK EJ_RN_TLSK(EJ_TLS_MARK)
static inline unsigned ej__tls_kind(unsigned needs)
{
    return (needs >> EJ_RN_TLS_SHIFT) & 7;
}

/* How far the value a relocation writes reaches, which bounds where the
 * image may be placed (src/link/scan.c): the value must lie in
 * [min, max], the value being S + A - P for EJ_REACH_PC and S + A for
 * EJ_REACH_ABS; EJ_REACH_ANY fields hold any address.  Stated per type in
 * the backends' lists; the handlers check the same ranges before writing. */
enum ej__reach { EJ_REACH_ANY, EJ_REACH_PC, EJ_REACH_ABS };

typedef struct ej__reloc_info {
    const char *name;  /* "R_X86_64_PC32" */
    uint8_t width;     /* bytes read and written at r_offset */
    uint16_t needs;    /* EJ_RN_* */
    uint8_t reach;     /* enum ej__reach */
    int64_t min, max;  /* the reach's bounds */
} ej__reloc_info;

/* One relocation to apply.  Addresses are virtual (where the image runs);
 * LOC is where the bytes are written (the same place unless link-only or
 * dual-mapped). */
typedef struct ej__reloc_site {
    uint32_t type;
    uint8_t *loc;
    uint64_t P;   /* address of the place */
    uint64_t S;   /* symbol value */
    int64_t A;    /* addend */
    uint64_t Z;   /* symbol size */
    uint64_t G;   /* address of the symbol's GOT slot, 0 when none */
    uint64_t GOT; /* address of the GOT, 0 when there is none */
    uint64_t L;   /* address of the symbol's stub, 0 when none */
    const uint8_t *begin, *end; /* the section being relocated (variable-width fields,
                                 * sequences around the place) */
    const struct ej__reloc_site *pair; /* EJ_RN_PAIR_LO: the high part's site */
    /* TLS_GD and TLS_DESC: the variable's initial-exec slot when its block
     * is in static TLS, so that the handler may relax the sequence to
     * initial-exec as the system linker does in an executable (0: keep
     * the model); TLS_LD: nonzero when the sequence is to load the thread
     * pointer instead (see ej__arch.tls_ld_relaxable). */
    uint64_t IE;
} ej__reloc_site;

/* Filled by a handler that fails, for the error message. */
typedef struct ej__reloc_fail {
    const char *why;   /* "out of range", "misaligned", ... */
    uint64_t value;    /* the value that did not fit */
    int64_t min, max;  /* the range it had to fit (when why is a range) */
    int has_range;
    /* Set by a handler that rewrote a whole instruction sequence (TLS
     * relaxation): the sequence's end, as an address; relocations at
     * places below it (the call the sequence made) are not applied. */
    uint64_t consumed;
} ej__reloc_fail;

typedef ej_status (*ej__reloc_apply_fn)(const ej__reloc_site *s,
                                        ej__reloc_fail *fail);

typedef struct ej__arch {
    const char *name;
    const char *triple;     /* the GNU triple of its Linux ABI, for the compiler runtime's paths */
    uint16_t machine;       /* EM_* */
    /* Indexed by relocation type, NTYPES entries, generated from the
     * backend's list: descriptions (name NULL for an unknown type) and
     * handlers (each checks range before writing anything).  Plain tables,
     * so the per-relocation loops index them instead of calling through
     * an extra function. */
    const ej__reloc_info *infos;
    const ej__reloc_apply_fn *handlers;
    uint32_t ntypes;
    uint32_t got_entry_size;
    uint32_t stub_size;
    uint32_t stub_align;
    /* Writes a stub at W (running at STUB) that jumps to the address held
     * in the GOT slot at SLOT. */
    void (*write_stub)(uint8_t *w, uint64_t stub, uint64_t slot);
    /* Code alignment left to the linker, 0 when the architecture has none:
     * the type of a relocation whose addend A counts the bytes of NOPs the
     * assembler put at the place, of which every linker must keep only
     * those that align what follows to the smallest power of two above A
     * (RISC-V's R_RISCV_ALIGN; see src/link/align.c).  WRITE_NOPS fills N
     * bytes at W with NOPs. */
    uint32_t align_type;
    void (*write_nops)(uint8_t *w, size_t n);
    /* The builder's generic relocation kinds (enum ej_reloc_kind,
     * elfjit/builder.h) as this architecture's types; 0 when a kind has no
     * single-relocation equivalent.  INSN_ALIGN: the alignment of an
     * instruction (the builder's default function alignment). */
    uint32_t kind_type[EJ_RELOC_KIND_COUNT];
    /* A kind that takes two instructions: the type of the relocation of
     * the second, 4 bytes after the first (0 for one-relocation kinds),
     * and whether it names the first instruction's place through a label
     * (RISC-V's PCREL_LO12) rather than the target. */
    uint32_t kind_type_lo[EJ_RELOC_KIND_COUNT];
    uint8_t kind_lo_label;
    uint32_t insn_align;
    /* The CIE the builder writes for functions of this architecture (as
     * gcc does): alignment factors, the return address column and the
     * rules at a function's first instruction (DW_CFA_* bytes). */
    /* Thread-local storage in this ABI (src/link/tls.c, src/tls).  The
     * dynamic relocation types the C library applies for a TLS reference
     * (0: it has none): the thread-pointer offset, the module id, the
     * offset in the module's block, a TLS descriptor.  Where an
     * executable's own block starts relative to the thread pointer (what
     * link-only mode uses): below it, aligned (TLS variant II), or at
     * TCB bytes above it, aligned (variant I).  DTV_BIAS: subtracted from
     * block offsets handed to __tls_get_addr (RISC-V's 0x800).  E_FLAGS:
     * what the C library's loader wants in a shared object's header (the
     * float ABI on RISC-V). */
    struct ej__tls_abi {
        uint32_t tpoff, dtpmod, dtpoff, desc;
        uint8_t variant2;
        uint8_t tcb;
        uint16_t dtv_bias;
        uint32_t e_flags;
    } tls;
    /* Whether the local-dynamic sequence whose TLSLD-type relocation is at
     * offset OFF of the SIZE bytes at SEC can be relaxed (rewritten to
     * load the thread pointer; the module's DTPOFF fields then hold
     * offsets from it); NULL when the backend never relaxes it. */
    int (*tls_ld_relaxable)(const uint8_t *sec, uint64_t size, uint64_t off);
    struct ej__cie {
        uint8_t code_align;
        int8_t data_align;
        uint8_t ra;
        uint8_t init_len;
        uint8_t init[6];
    } cie;
} ej__arch;

#define EJ_DW_CFA_def_cfa 0x0c
#define EJ_DW_CFA_offset 0x80

/* Description of TYPE, or NULL when the type is unknown to A. */
static inline const ej__reloc_info *ej__reloc_info_of(const struct ej__arch *a, uint32_t type)
{
    return type < a->ntypes && a->infos[type].name ? &a->infos[type] : NULL;
}

/* The backend for ELF machine MACHINE, or NULL. */
const ej__arch *ej__arch_for_machine(uint16_t machine);

/* The backend of the machine this library runs on: the only one whose
 * code may be executed (the others link in link-only mode). */
const ej__arch *ej__host_arch(void);

/* Helpers for handlers: range checks and little-endian access. */
static inline int ej__fits_signed(int64_t v, unsigned bits)
{
    int64_t lim = (int64_t)1 << (bits - 1);
    return v >= -lim && v < lim;
}
static inline int ej__fits_unsigned(uint64_t v, unsigned bits)
{
    return bits >= 64 || v < ((uint64_t)1 << bits);
}
ej_status ej__reloc_range_fail(ej__reloc_fail *f, uint64_t value,
                               int64_t min, int64_t max);
void ej__put16(uint8_t *p, uint16_t v);
void ej__put32(uint8_t *p, uint32_t v);
void ej__put64(uint8_t *p, uint64_t v);
uint32_t ej__get32(const uint8_t *p);

#endif /* EJ_RELOC_H */
