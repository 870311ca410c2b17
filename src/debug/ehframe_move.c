/* Moving a copy of a module's .eh_frame to another address, for a
 * debugger image that holds the tables of several modules in one
 * .eh_frame section (GDB reads one per image).  The records are copied as
 * one block, so the FDEs' CIE pointers (offsets inside the block) stay
 * right; what changes is every pc-relative pointer: an FDE's initial
 * location and LSDA pointer, a CIE's personality pointer.  Each gets the
 * distance the block moved, so it names the same address as before.
 * (The tables were checked when their objects were read, elf/ehframe.c;
 * the walk here still stops at anything it would read past.) */
#include <string.h>

#include "debug/debug.h"

#define DW_EH_PE_omit 0xff
#define DW_EH_PE_pcrel 0x10

typedef struct cur {
    uint8_t *p, *end;
} cur;

static int uleb(cur *c, uint64_t *v)
{
    uint64_t x = 0;
    for (unsigned shift = 0; c->p < c->end && shift < 64; shift += 7) {
        uint8_t b = *c->p++;
        x |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = x;
            return 1;
        }
    }
    return 0;
}

static unsigned enc_size(uint8_t enc)
{
    switch (enc & 0x0f) {
    case 0x00: case 0x04: case 0x0c: return 8;
    case 0x02: case 0x0a: return 2;
    case 0x03: case 0x0b: return 4;
    default: return 0;
    }
}

/* Adds DELTA to the pointer at C (encoding ENC) when it is pc-relative,
 * and steps over it.  0 when it does not fit or runs past the record. */
static int move_ptr(cur *c, uint8_t enc, int64_t delta)
{
    unsigned size = enc_size(enc);
    if (!size || (size_t)(c->end - c->p) < size)
        return 0;
    if ((enc & 0x70) == DW_EH_PE_pcrel) {
        int is_signed = (enc & 0x08) != 0;
        int64_t v;
        if (size == 2) {
            int16_t s16; uint16_t u16;
            memcpy(&u16, c->p, 2);
            memcpy(&s16, c->p, 2);
            v = is_signed ? (int64_t)s16 : (int64_t)u16;
        } else if (size == 4) {
            int32_t s32; uint32_t u32;
            memcpy(&u32, c->p, 4);
            memcpy(&s32, c->p, 4);
            v = is_signed ? (int64_t)s32 : (int64_t)u32;
        } else {
            memcpy(&v, c->p, 8);
        }
        v += delta;
        if (size == 2 && (is_signed ? (v < INT16_MIN || v > INT16_MAX) : (v < 0 || v > UINT16_MAX)))
            return 0;
        if (size == 4 && (is_signed ? (v < INT32_MIN || v > INT32_MAX) : (v < 0 || v > UINT32_MAX)))
            return 0;
        if (size == 2) {
            uint16_t w = (uint16_t)v;
            memcpy(c->p, &w, 2);
        } else if (size == 4) {
            uint32_t w = (uint32_t)v;
            memcpy(c->p, &w, 4);
        } else {
            memcpy(c->p, &v, 8);
        }
    }
    c->p += size;
    return 1;
}

typedef struct cie {
    size_t off;
    uint8_t fde_enc, lsda_enc;
    int has_z;
} cie;

/* Parses the CIE whose body is C (after the id), moving its personality
 * pointer. */
static int move_cie(cur c, int64_t delta, cie *out)
{
    if (c.p >= c.end)
        return 0;
    uint8_t version = *c.p++;
    const char *aug = (const char *)c.p;
    while (c.p < c.end && *c.p)
        c.p++;
    if (c.p >= c.end)
        return 0;
    size_t aug_len = (size_t)((const char *)c.p - aug);
    c.p++;
    uint64_t v;
    if (!uleb(&c, &v) || !uleb(&c, &v))
        return 0;
    if (version == 1 ? c.p++ >= c.end : !uleb(&c, &v))
        return 0;
    out->fde_enc = 0;
    out->lsda_enc = DW_EH_PE_omit;
    out->has_z = aug_len && aug[0] == 'z';
    if (!out->has_z)
        return aug_len == 0;
    uint64_t data_len;
    if (!uleb(&c, &data_len) || data_len > (uint64_t)(c.end - c.p))
        return 0;
    cur d = {c.p, c.p + data_len};
    for (size_t k = 1; k < aug_len; k++) {
        if (aug[k] == 'R' || aug[k] == 'L') {
            if (d.p >= d.end)
                return 0;
            *(aug[k] == 'R' ? &out->fde_enc : &out->lsda_enc) = *d.p++;
        } else if (aug[k] == 'P') {
            if (d.p >= d.end)
                return 0;
            uint8_t enc = *d.p++;
            if (!move_ptr(&d, enc, delta))
                return 0;
        } else if (aug[k] != 'S' && aug[k] != 'B') {
            return 0;
        }
    }
    return 1;
}

static int move_fde(cur c, const cie *ci, int64_t delta)
{
    if (!move_ptr(&c, ci->fde_enc, delta))
        return 0;
    unsigned size = enc_size(ci->fde_enc);
    if ((size_t)(c.end - c.p) < size)
        return 0;
    c.p += size; /* the range: a length, never relative */
    uint64_t aug;
    if (!ci->has_z)
        return 1;
    if (!uleb(&c, &aug) || aug > (uint64_t)(c.end - c.p))
        return 0;
    if (aug && ci->lsda_enc != DW_EH_PE_omit)
        return move_ptr(&c, ci->lsda_enc, delta);
    return 1;
}

size_t ej__eh_frame_records(const uint8_t *p, size_t len)
{
    size_t off = 0;
    while (len - off >= 4) {
        uint32_t l;
        memcpy(&l, p + off, 4);
        if (l == 0 || l == 0xffffffffu || l > len - off - 4)
            break;
        off += 4 + (size_t)l;
    }
    return off;
}

int ej__eh_frame_move(uint8_t *p, size_t len, int64_t delta)
{
    enum { MAX_CIES = 64 };
    cie cies[MAX_CIES];
    size_t ncies = 0;
    for (size_t off = 0; off < len;) {
        uint32_t l, id;
        if (len - off < 8)
            return 0;
        memcpy(&l, p + off, 4);
        memcpy(&id, p + off + 4, 4);
        if (l < 4 || l > len - off - 4)
            return 0;
        cur body = {p + off + 8, p + off + 4 + l};
        if (id == 0) {
            if (ncies == MAX_CIES || !move_cie(body, delta, &cies[ncies]))
                return 0;
            cies[ncies++].off = off;
        } else {
            const cie *ci = NULL;
            for (size_t k = 0; k < ncies && !ci; k++)
                if (cies[k].off + id == off + 4)
                    ci = &cies[k];
            if (!ci || !move_fde(body, ci, delta))
                return 0;
        }
        off += 4 + (size_t)l;
    }
    return 1;
}
