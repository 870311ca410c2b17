/* The builder: a compiler hands elfjit the functions it just compiled —
 * machine code, relocations, trap sites, source positions, unwind
 * information — plus data objects and imports, and gets back a relocatable
 * ELF object (ET_REL) written with libelf.  The object is real: readelf,
 * objdump -dr and eu-elflint read it, gcc links it into a program, and
 * elfjit loads it exactly like any compiler's .o (ej_linker_add_buffer);
 * there is no second loading path.
 *
 *     ej_builder *b;
 *     uint32_t f, puts_id;
 *     ej_builder_create(&b, 0);                       // the host's machine
 *     ej_builder_add_import(b, "puts", &puts_id);
 *     ej_builder_add_function(b, "f", code, len, 16, EJ_BIND_GLOBAL, &f);
 *     ej_builder_add_reloc(b, f, 0x11, EJ_RELOC_CALL, puts_id, -4);
 *     ej_builder_add_trap(b, f, 0x20, 7);            // e.g. "division by zero"
 *     void *image; size_t len;
 *     if (ej_builder_finish(b, &image, &len) != EJ_OK)
 *         fprintf(stderr, "%s\n", ej_builder_errmsg(b));
 *     ej_linker_add_buffer(lk, "jit.o", image, len);  // then link as usual
 *     free(image);
 *     ej_builder_free(b);
 *
 * Identifiers: every function, data object and import gets an id (its
 * symbol), unique in the builder; relocations name their target by id.
 * Offsets are relative to the start of the function (or data object) they
 * belong to.  Trap sites and source positions are stored in elfjit's
 * tables (elfjit/tables.h), relative to .text.
 *
 * Errors: each fallible call returns a status and leaves a message on the
 * builder (ej_builder_errmsg).  Thread safety: a builder is used by one
 * thread at a time; distinct builders are independent.
 */
#ifndef ELFJIT_BUILDER_H
#define ELFJIT_BUILDER_H

#include <stddef.h>
#include <stdint.h>

#include "elfjit/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ej_builder ej_builder;

/* Symbol binding: LOCAL symbols are visible only inside the object;
 * GLOBAL ones are exported (ej_module_symbol finds them) and may be
 * referenced from other objects. */
typedef enum ej_bind { EJ_BIND_LOCAL = 0, EJ_BIND_GLOBAL = 1 } ej_bind;

typedef enum ej_data_kind {
    EJ_DATA_RODATA, /* .rodata: read-only once published */
    EJ_DATA_DATA,   /* .data: writable */
    EJ_DATA_BSS,    /* .bss: writable, zero-filled, no bytes in the image */
    EJ_DATA_TLS,    /* .tdata: thread-local, every thread's copy starts as the bytes */
    EJ_DATA_TLS_BSS /* .tbss: thread-local, zero-filled in every thread */
} ej_data_kind;

/* Generic relocation kinds; the per-architecture layer maps each to its ELF
 * type (x86_64 / aarch64 / riscv64):
 *   ABS64    the target's address, 8 bytes      R_X86_64_64 / ABS64 / R_RISCV_64
 *   PCREL32  target + addend - place, 4 bytes   PC32 / PREL32 / 32_PCREL
 *   CALL     a call instruction's target        PLT32 / CALL26 / CALL_PLT
 *   GOT_LOAD loading the target's address from its GOT slot:
 *            x86_64  the 4-byte field of `mov sym@GOTPCREL(%rip), %reg`
 *                    (R_X86_64_GOTPCREL);
 *            aarch64 `adrp xN, :got:sym; ldr xN, [xN, :got_lo12:sym]` at
 *                    the offset (ADR_GOT_PAGE + LD64_GOT_LO12_NC);
 *            riscv64 `auipc rd, %got_pcrel_hi(sym); ld rd, %pcrel_lo(..)(rd)`
 *                    at the offset (GOT_HI20 + PCREL_LO12_I against a
 *                    label the builder puts on the auipc).
 *            Where it is a pair of instructions (aarch64, riscv64) it
 *            belongs in a function: in data it is refused (EJ_INVAL).
 *   TLS_LOAD loading a thread-local target's offset from the thread
 *            pointer (initial-exec: the variable is at that offset from
 *            the thread pointer in every thread), from its slot:
 *            x86_64  the 4-byte field of `mov sym@GOTTPOFF(%rip), %reg`
 *                    (then `mov %fs:(%reg), ...`; R_X86_64_GOTTPOFF);
 *            aarch64 `adrp xN, :gottprel:sym; ldr xN, [xN,
 *                    :gottprel_lo12:sym]` at the offset (then add
 *                    tpidr_el0; TLSIE_ADR_GOTTPREL_PAGE21 +
 *                    TLSIE_LD64_GOTTPREL_LO12_NC);
 *            riscv64 `auipc rd, %tls_ie_pcrel_hi(sym); ld rd,
 *                    %pcrel_lo(..)(rd)` at the offset (then add tp;
 *                    TLS_GOT_HI20 + PCREL_LO12_I).
 *            The target is an EJ_DATA_TLS or EJ_DATA_TLS_BSS object, or an
 *            import naming another module's thread-local variable; the
 *            module's TLS block goes in the C library's static TLS space
 *            (see ej_linker_static_tls_size in elfjit.h).
 * Addends are as the ELF type defines them: on x86_64 a PC-relative field
 * 4 bytes before the next instruction takes -4; GOT_LOAD on aarch64 and
 * riscv64 takes 0. */
typedef enum ej_reloc_kind {
    EJ_RELOC_ABS64,
    EJ_RELOC_PCREL32,
    EJ_RELOC_CALL,
    EJ_RELOC_GOT_LOAD,
    EJ_RELOC_TLS_LOAD,
    EJ_RELOC_KIND_COUNT
} ej_reloc_kind;

/* Creates an empty builder for ELF machine MACHINE (EM_X86_64,
 * EM_AARCH64, EM_RISCV; 0 picks the host's).  Errors: EJ_INVAL (OUT NULL),
 * EJ_UNSUPPORTED (no backend for MACHINE), EJ_NOMEM.  *OUT is NULL on
 * failure. */
ej_status ej_builder_create(ej_builder **out, uint16_t machine);

/* Frees B and everything it holds.  NULL is a no-op. */
void ej_builder_free(ej_builder *b);

/* The message of B's last failure ("" when none).  Valid until the next
 * call on B. */
const char *ej_builder_errmsg(const ej_builder *b);

/* Adds a function named NAME (a non-empty C string, unique among the
 * builder's symbols) whose LEN bytes of machine code at CODE are copied,
 * placed in .text at a multiple of ALIGN (a power of two, at most 4096; 0
 * means the architecture's instruction size).  *ID receives its id.
 * Errors: EJ_INVAL (bad argument, with the reason), EJ_DUPLICATE (the name
 * is taken), EJ_STATE (after ej_builder_finish), EJ_NOMEM. */
ej_status ej_builder_add_function(ej_builder *b, const char *name, const void *code,
                                  size_t len, size_t align, ej_bind bind, uint32_t *id);

/* Adds a data object of LEN bytes in the section KIND names; BYTES are
 * copied (they must be NULL for EJ_DATA_BSS, and may be NULL otherwise for
 * zeros).  Errors as ej_builder_add_function. */
ej_status ej_builder_add_data(ej_builder *b, const char *name, ej_data_kind kind,
                              const void *bytes, size_t len, size_t align, ej_bind bind,
                              uint32_t *id);

/* Declares NAME as defined outside the builder: another object, the
 * linker's resolver, a library or the host process (a libcall such as
 * "memcpy" or "fmod").  Declaring the same import twice returns the same
 * id.  Errors: EJ_INVAL, EJ_DUPLICATE (NAME is a function or data object
 * of this builder), EJ_STATE, EJ_NOMEM. */
ej_status ej_builder_add_import(ej_builder *b, const char *name, uint32_t *id);

/* Adds a relocation at OFFSET inside function or data object OWNER:
 * KIND against TARGET (any id) with ADDEND.  The field must lie inside the
 * owner; two relocations at one place are refused by ej_builder_finish.
 * Errors: EJ_INVAL (unknown id, field outside the owner, a relocation
 * inside .bss),
 * EJ_UNSUPPORTED (KIND has no equivalent on the builder's machine, named
 * in the message), EJ_STATE, EJ_NOMEM. */
ej_status ej_builder_add_reloc(ej_builder *b, uint32_t owner, uint64_t offset,
                               ej_reloc_kind kind, uint32_t target, int64_t addend);

/* Records that the instruction at OFFSET inside function FUNC may trap,
 * with the caller's CODE (the embedder defines what codes mean).  One trap
 * per offset (a second is refused by ej_builder_finish).  Errors: EJ_INVAL
 * (not a function, offset outside it), EJ_STATE, EJ_NOMEM. */
ej_status ej_builder_add_trap(ej_builder *b, uint32_t func, uint64_t offset, uint32_t code);

/* Records that the code of FUNC from OFFSET on (up to the next position
 * recorded, or the end of the function) comes from FILE:LINE.  FILE is
 * copied (and stored once however often it is used).  One position per
 * offset (a second is refused by ej_builder_finish).  Errors: EJ_INVAL
 * (not a function, offset outside it), EJ_STATE, EJ_NOMEM. */
ej_status ej_builder_add_srcloc(ej_builder *b, uint32_t func, uint64_t offset,
                                const char *file, uint32_t line);

/* Gives FUNC unwind information: LEN bytes of DWARF call-frame
 * instructions (DW_CFA_*, as in an FDE) that apply from the function's
 * first instruction, interpreted against the architecture's default CIE
 * (x86_64: CFA = rsp + 8, return address at CFA - 8; aarch64: CFA = sp,
 * return address in x30; riscv64: CFA = sp, return address in ra), whose
 * data alignment factor is -8 on all three (DW_CFA_offset N: at CFA - 8N)
 * and code alignment factor 4 on aarch64, 1 elsewhere (DW_CFA_advance_loc
 * counts instructions on aarch64, bytes on the others).  The builder writes a CIE and one FDE per such function into .eh_frame, so
 * unwinders and debuggers walk through the function once elfjit registers
 * it.  Errors: EJ_INVAL (not a function, already set), EJ_STATE, EJ_NOMEM. */
ej_status ej_builder_set_unwind(ej_builder *b, uint32_t func, const void *cfi, size_t len);

/* Writes the object.  *IMAGE receives a malloc()ed buffer of *LEN bytes
 * that the caller frees with free().  The builder then refuses further
 * additions (EJ_STATE); it may be finished again (the same bytes).
 * Errors: EJ_INVAL (two relocations, traps or positions at one place),
 * EJ_NOMEM, EJ_IO (libelf failed; the message has its reason). */
ej_status ej_builder_finish(ej_builder *b, void **image, size_t *len);

/* As ej_builder_finish, writing the object to the file PATH (created or
 * truncated, mode 0644).  Errors: those of ej_builder_finish, EJ_IO (the
 * file, named with the system's reason). */
ej_status ej_builder_write(ej_builder *b, const char *path);

#ifdef __cplusplus
}
#endif

#endif /* ELFJIT_BUILDER_H */
