/* The input format of fuzz_builder (fuzz_builder.c decodes it, seedgen.c
 * writes seeds in it).  All numbers are little-endian; a read past the end
 * of the input gives zeros.
 *
 *   u8 machine: % 5 -> 0 host, 1 EM_X86_64, 2 EM_AARCH64, 3 EM_RISCV,
 *                      4 a raw u16 follows (mostly refused)
 *   then up to EJF_B_MAX_OPS operations, each a u8 opcode (% EJF_B_NOPS):
 *
 *   FUNC    name, u16 len (% 4097; 0 is refused), u8 flags (bit 0: CODE
 *           NULL), len bytes of code, align, u8 bind (% 3; 2: invalid)
 *   DATA    name, u8 kind (% 4; 3: invalid), u8 size mode, size, u8 flags
 *           (bit 0: bytes NULL, bit 1: bytes given for .bss), bytes, align,
 *           u8 bind
 *   IMPORT  name
 *   RELOC   id owner, offset, u8 kind (% 5; 4: invalid), id target,
 *           addend
 *   TRAP    id func, offset, u32 code
 *   SRCLOC  id func, offset, file, u32 line
 *   UNWIND  id func, u8 len (% 64), u8 flags (bit 0: CFI NULL), len bytes
 *   FINISH  ej_builder_finish, then link-only link of the image
 *
 *   name:   u8 % 16: 0-9 a fixed name, 10-12 "s<u8>", 13 "", 14 NULL,
 *           15 u8 n (% 16) raw bytes, NUL-terminated
 *   id:     u8 b: b < 0xf0 -> the (b % n)-th id handed out so far (when
 *           there is one); else a u32 (any number)
 *   offset: u8 mode % 4: 0 a u8; 1 the owner's size minus a u8 (% 9);
 *           2 a u16; 3 a u64
 *   align:  u8 b: < 0x80 -> 0 (default), < 0xf0 -> 1 << (b % 14), else
 *           b - 0xf0 (not always a power of two)
 *   size (DATA): mode % 4: 0 a u16 % 4097, 1 a u8, 2 a u32 below 2 GiB
 *           (.bss only, else as 0), 3 2 GiB + 1 + u8 (refused)
 *   addend: u8 mode % 4: 0 zero, 1 -4, 2 an i8, 3 an i64
 *   file:   u8 % 4: 0-2 a fixed name, 3 NULL
 */
#ifndef EJ_FUZZ_BUILDER_H
#define EJ_FUZZ_BUILDER_H

enum {
    EJF_B_FUNC,
    EJF_B_DATA,
    EJF_B_IMPORT,
    EJF_B_RELOC,
    EJF_B_TRAP,
    EJF_B_SRCLOC,
    EJF_B_UNWIND,
    EJF_B_FINISH,
    EJF_B_NOPS
};

#define EJF_B_MAX_OPS 256

static const char *const ejf_b_names[10] = {"f",   "g",    "main", "data",    "puts",
                                            "memcpy", "tab", "h",    "counter", "fmod"};
static const char *const ejf_b_files[3] = {"a.c", "dir/b.wat", "c.js"};

#endif
