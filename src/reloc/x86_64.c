/* x86_64 relocation backend.  The tables come from x86_64_relocs.def; each
 * handler computes its psABI formula, checks that the result fits its field
 * and only then writes it. */
#include <elf.h>
#include <string.h>

#include "reloc/reloc.h"

/* 32-bit field, signed: the shared tail of every 32-bit PC-relative or
 * signed handler. */
static ej_status put_s32(const ej__reloc_site *s, ej__reloc_fail *f, int64_t v)
{
    if (!ej__fits_signed(v, 32))
        return ej__reloc_range_fail(f, (uint64_t)v, INT32_MIN, INT32_MAX);
    ej__put32(s->loc, (uint32_t)v);
    return EJ_OK;
}

static ej_status h_none(const ej__reloc_site *s, ej__reloc_fail *f)
{
    (void)s;
    (void)f;
    return EJ_OK;
}

static ej_status h_abs64(const ej__reloc_site *s, ej__reloc_fail *f)
{
    ej__put64(s->loc, s->S + (uint64_t)s->A);
    return EJ_OK;
}

static ej_status h_abs32(const ej__reloc_site *s, ej__reloc_fail *f)
{
    uint64_t v = s->S + (uint64_t)s->A;
    if (!ej__fits_unsigned(v, 32))
        return ej__reloc_range_fail(f, v, 0, UINT32_MAX);
    ej__put32(s->loc, (uint32_t)v);
    return EJ_OK;
}

static ej_status h_abs32s(const ej__reloc_site *s, ej__reloc_fail *f)
{
    return put_s32(s, f, (int64_t)(s->S + (uint64_t)s->A));
}

/* 16- and 8-bit absolute fields accept either a signed or an unsigned
 * reading of the value, as GNU ld does. */
static ej_status h_abs16(const ej__reloc_site *s, ej__reloc_fail *f)
{
    int64_t v = (int64_t)(s->S + (uint64_t)s->A);
    if (v < INT16_MIN || v > UINT16_MAX)
        return ej__reloc_range_fail(f, (uint64_t)v, INT16_MIN, UINT16_MAX);
    ej__put16(s->loc, (uint16_t)v);
    return EJ_OK;
}

static ej_status h_abs8(const ej__reloc_site *s, ej__reloc_fail *f)
{
    int64_t v = (int64_t)(s->S + (uint64_t)s->A);
    if (v < INT8_MIN || v > UINT8_MAX)
        return ej__reloc_range_fail(f, (uint64_t)v, INT8_MIN, UINT8_MAX);
    *s->loc = (uint8_t)v;
    return EJ_OK;
}

/* PC32 and PLT32: direct when the target is within +/-2 GiB; otherwise
 * through the symbol's stub, which the generic linker allocated for calls
 * and for known functions outside the image. */
static ej_status h_pc32(const ej__reloc_site *s, ej__reloc_fail *f)
{
    int64_t v = (int64_t)(s->S + (uint64_t)s->A - s->P);
    if (!ej__fits_signed(v, 32) && s->L)
        v = (int64_t)(s->L + (uint64_t)s->A - s->P);
    return put_s32(s, f, v);
}

static ej_status h_pc16(const ej__reloc_site *s, ej__reloc_fail *f)
{
    int64_t v = (int64_t)(s->S + (uint64_t)s->A - s->P);
    if (!ej__fits_signed(v, 16))
        return ej__reloc_range_fail(f, (uint64_t)v, INT16_MIN, INT16_MAX);
    ej__put16(s->loc, (uint16_t)v);
    return EJ_OK;
}

static ej_status h_pc8(const ej__reloc_site *s, ej__reloc_fail *f)
{
    int64_t v = (int64_t)(s->S + (uint64_t)s->A - s->P);
    if (!ej__fits_signed(v, 8))
        return ej__reloc_range_fail(f, (uint64_t)v, INT8_MIN, INT8_MAX);
    *s->loc = (uint8_t)v;
    return EJ_OK;
}

static ej_status h_pc64(const ej__reloc_site *s, ej__reloc_fail *f)
{
    ej__put64(s->loc, s->S + (uint64_t)s->A - s->P);
    return EJ_OK;
}

static ej_status h_got32(const ej__reloc_site *s, ej__reloc_fail *f)
{
    return put_s32(s, f, (int64_t)(s->G - s->GOT + (uint64_t)s->A));
}

static ej_status h_gotpcrel(const ej__reloc_site *s, ej__reloc_fail *f)
{
    return put_s32(s, f, (int64_t)(s->G + (uint64_t)s->A - s->P));
}

static ej_status h_gotpcrel64(const ej__reloc_site *s, ej__reloc_fail *f)
{
    ej__put64(s->loc, s->G + (uint64_t)s->A - s->P);
    return EJ_OK;
}

static ej_status h_gotoff64(const ej__reloc_site *s, ej__reloc_fail *f)
{
    ej__put64(s->loc, s->S + (uint64_t)s->A - s->GOT);
    return EJ_OK;
}

static ej_status h_gotpc32(const ej__reloc_site *s, ej__reloc_fail *f)
{
    return put_s32(s, f, (int64_t)(s->GOT + (uint64_t)s->A - s->P));
}

static ej_status h_got64(const ej__reloc_site *s, ej__reloc_fail *f)
{
    ej__put64(s->loc, s->G - s->GOT + (uint64_t)s->A);
    return EJ_OK;
}

static ej_status h_gotpc64(const ej__reloc_site *s, ej__reloc_fail *f)
{
    ej__put64(s->loc, s->GOT + (uint64_t)s->A - s->P);
    return EJ_OK;
}

/* A symbol defined in the image is its own PLT entry. */
static ej_status h_pltoff64(const ej__reloc_site *s, ej__reloc_fail *f)
{
    uint64_t target = s->L ? s->L : s->S;
    ej__put64(s->loc, target - s->GOT + (uint64_t)s->A);
    return EJ_OK;
}

static ej_status h_size32(const ej__reloc_site *s, ej__reloc_fail *f)
{
    uint64_t v = s->Z + (uint64_t)s->A;
    if (!ej__fits_unsigned(v, 32))
        return ej__reloc_range_fail(f, v, 0, UINT32_MAX);
    ej__put32(s->loc, (uint32_t)v);
    return EJ_OK;
}

static ej_status h_size64(const ej__reloc_site *s, ej__reloc_fail *f)
{
    ej__put64(s->loc, s->Z + (uint64_t)s->A);
    return EJ_OK;
}

/* ---- thread-local storage ----------------------------------------------- */

/* TLS relocations share the GOT handlers (the generic code passes the
 * slot as G), except where a sequence can be relaxed to initial-exec (IE
 * set: the variable's block is in static TLS), as the system linker does
 * in an executable (x86-64 psABI, "Thread-Local Storage", and Drepper's
 * "ELF Handling For Thread-Local Storage"). */

/* General dynamic, 16 bytes (the TLSGD field at +4, the call at +8):
 *     66 48 8d 3d ..     data16 lea x@tlsgd(%rip), %rdi
 *     66 66 48 e8 ..     data16 data16 rex.W call __tls_get_addr@plt
 *  or 66 48 ff 15 ..     data16 rex.W call *__tls_get_addr@gotpcrel(%rip)
 * becomes
 *     64 48 8b 04 25 00 00 00 00   mov %fs:0, %rax
 *     48 03 05 ..                  add x@gottpoff(%rip), %rax */
static ej_status h_tlsgd(const ej__reloc_site *s, ej__reloc_fail *f)
{
    static const uint8_t lea[] = {0x66, 0x48, 0x8d, 0x3d};
    static const uint8_t plt[] = {0x66, 0x66, 0x48, 0xe8}, got[] = {0x66, 0x48, 0xff, 0x15};
    const uint8_t *q = s->loc - 4;
    if (!s->IE || s->loc - s->begin < 4 || s->end - s->loc < 12 || memcmp(q, lea, 4) != 0 ||
        (memcmp(q + 8, plt, 4) != 0 && memcmp(q + 8, got, 4) != 0))
        return h_gotpcrel(s, f);
    int64_t v = (int64_t)(s->IE - (s->P + 12));
    if (!ej__fits_signed(v, 32))
        return h_gotpcrel(s, f);
    static const uint8_t ie[] = {0x64, 0x48, 0x8b, 0x04, 0x25, 0, 0, 0, 0, 0x48, 0x03, 0x05};
    uint8_t *w = s->loc - 4;
    memcpy(w, ie, sizeof ie);
    ej__put32(w + 12, (uint32_t)v);
    f->consumed = s->P + 12;
    return EJ_OK;
}

/* Descriptor: `lea x@tlsdesc(%rip), %reg` (REX.W 8d, RIP-relative; the
 * compiler may use any register and share it between calls) becomes `mov
 * x@gottpoff(%rip), %reg`, and each `call *x@tlscall(%rax)` (ff 10)
 * becomes `xchg %ax, %ax` (66 90): the register, then %rax, holds the
 * offset from the thread pointer, as the call would have returned. */
static ej_status h_tlsdesc_lea(const ej__reloc_site *s, ej__reloc_fail *f)
{
    if (!s->IE)
        return h_gotpcrel(s, f);
    if (s->loc - s->begin < 3 || (s->loc[-3] & 0xfb) != 0x48 || s->loc[-2] != 0x8d ||
        (s->loc[-1] & 0xc7) != 0x05) {
        f->why = "the instruction before the field is not `lea x@tlsdesc(%rip), %reg`";
        return EJ_RELOC;
    }
    s->loc[-2] = 0x8b;
    return put_s32(s, f, (int64_t)(s->IE + (uint64_t)s->A - s->P));
}

static ej_status h_tlsdesc_call(const ej__reloc_site *s, ej__reloc_fail *f)
{
    if (!s->IE)
        return EJ_OK;
    if (s->end - s->loc < 2 || s->loc[0] != 0xff || s->loc[1] != 0x10) {
        f->why = "the instruction at the place is not `call *(%rax)`";
        return EJ_RELOC;
    }
    s->loc[0] = 0x66;
    s->loc[1] = 0x90;
    return EJ_OK;
}

/* Local dynamic, 12 or 13 bytes (the TLSLD field at +3):
 *     48 8d 3d ..      lea x@tlsld(%rip), %rdi
 *     e8 ..            call __tls_get_addr@plt
 *  or ff 15 ..         call *__tls_get_addr@gotpcrel(%rip)
 * becomes `mov %fs:0, %rax` and a NOP: %rax is the thread pointer, and
 * the module's DTPOFF fields then hold offsets from it. */
static unsigned ld_sequence(const uint8_t *sec, uint64_t size, uint64_t off)
{
    static const uint8_t lea[] = {0x48, 0x8d, 0x3d};
    if (off < 3 || size - off < 10 || memcmp(sec + off - 3, lea, 3) != 0)
        return 0;
    if (sec[off + 4] == 0xe8)
        return 12;
    return sec[off + 4] == 0xff && sec[off + 5] == 0x15 && size - off >= 10 ? 13 : 0;
}

static int x86_64_tls_ld_relaxable(const uint8_t *sec, uint64_t size, uint64_t off)
{
    return ld_sequence(sec, size, off) != 0;
}

static ej_status h_tlsld(const ej__reloc_site *s, ej__reloc_fail *f)
{
    unsigned len = s->IE ? ld_sequence(s->begin, (uint64_t)(s->end - s->begin),
                                       (uint64_t)(s->loc - s->begin)) : 0;
    if (!len)
        return h_gotpcrel(s, f);
    static const uint8_t tp[] = {0x64, 0x48, 0x8b, 0x04, 0x25, 0, 0, 0, 0, 0x0f, 0x1f, 0x40, 0};
    uint8_t *w = s->loc - 3;
    memcpy(w, tp, 9);
    memcpy(w + 9, len == 12 ? (const uint8_t[]){0x0f, 0x1f, 0x00} : tp + 9, len - 9);
    f->consumed = s->P - 3 + len;
    return EJ_OK;
}

/* ---- tables generated from the list ---------------------------------- */

#define EJ_RELOC_LIST "reloc/x86_64_relocs.def"
#define EJ_RELOC_PREFIX "R_X86_64_"
#include "reloc/reloc_tables.h"

/* Stub: `jmp *slot(%rip)` (ff 25 rel32), padded with int3 to 8 bytes. */
static void x86_64_write_stub(uint8_t *w, uint64_t stub, uint64_t slot)
{
    w[0] = 0xff;
    w[1] = 0x25;
    ej__put32(w + 2, (uint32_t)(slot - (stub + 6)));
    w[6] = 0xcc;
    w[7] = 0xcc;
}

const ej__arch ej__arch_x86_64 = {
    .name = "x86_64",
    .triple = "x86_64-linux-gnu",
    .machine = EM_X86_64,
    .infos = reloc_infos,
    .handlers = reloc_handlers,
    .ntypes = EJ_ARRAY_LEN(reloc_infos),
    .got_entry_size = 8,
    .stub_size = 8,
    .stub_align = 8,
    .write_stub = x86_64_write_stub,
    .kind_type = {[EJ_RELOC_ABS64] = R_X86_64_64, [EJ_RELOC_PCREL32] = R_X86_64_PC32,
                  [EJ_RELOC_CALL] = R_X86_64_PLT32, [EJ_RELOC_GOT_LOAD] = R_X86_64_GOTPCREL,
                  [EJ_RELOC_TLS_LOAD] = R_X86_64_GOTTPOFF},
    .insn_align = 1,
    /* TLS variant II: an executable's block ends at the thread pointer. */
    .tls = {R_X86_64_TPOFF64, R_X86_64_DTPMOD64, R_X86_64_DTPOFF64, R_X86_64_TLSDESC, 1, 0, 0, 0},
    .tls_ld_relaxable = x86_64_tls_ld_relaxable,
    /* CFA = rsp + 8; the return address (column 16) at CFA - 8. */
    .cie = {1, -8, 16, 5, {EJ_DW_CFA_def_cfa, 7, 8, EJ_DW_CFA_offset | 16, 1}},
};
