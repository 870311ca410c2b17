/* The structure of an object's .eh_frame, checked when the object is read.
 *
 * The table is handed, after relocation, to the process's unwinder
 * (libgcc's __register_frame_info, or LLVM libunwind FDE by FDE), which
 * trusts it: a record whose length runs past the table or whose CIE
 * pointer points nowhere would have it read outside the image during
 * some later backtrace or exception.  So every record must fit the
 * section, every FDE must name a CIE of the same section that came
 * before it and hold at least its address range in the CIE's encoding,
 * and every CIE must be one the unwinders read: version 1 or 3, an
 * augmentation string of the letters gcc and clang write, its data inside
 * the record.  The contents are a copy (validate.c: keep_copy), so what
 * is checked is what is laid out.  See the LSB's "Exception Frames" for
 * the format. */
#include <stdlib.h>
#include <string.h>

#include "elf/validate.h"

#define DW_EH_PE_omit 0xff

typedef struct reader {
    const uint8_t *p, *end;
} reader;

static int read_uleb(reader *r, uint64_t *v)
{
    uint64_t x = 0;
    for (unsigned shift = 0; r->p < r->end && shift < 64; shift += 7) {
        uint8_t b = *r->p++;
        x |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = x;
            return 1;
        }
    }
    return 0;
}

/* The size of a pointer in encoding ENC, or 0 when the encoding is not
 * one the unwinders decode (uleb/sleb encodings are refused too: no
 * compiler uses them for addresses). */
static unsigned enc_size(uint8_t enc)
{
    if (enc & 0x60 & ~0x30) /* only pcrel (0x10) and datarel (0x30) modifiers, plus indirect */
        return 0;
    switch (enc & 0x0f) {
    case 0x00: return 8;              /* absptr */
    case 0x02: case 0x0a: return 2;   /* udata2, sdata2 */
    case 0x03: case 0x0b: return 4;   /* udata4, sdata4 */
    case 0x04: case 0x0c: return 8;   /* udata8, sdata8 */
    default: return 0;
    }
}

typedef struct cie_info {
    uint64_t off;      /* of the record, in the section */
    unsigned fde_size; /* bytes of pc_begin (and of pc_range) in its FDEs */
    int has_z;         /* FDEs carry an augmentation data length */
} cie_info;

/* Checks the CIE of LEN bytes (after the length field) at R's start. */
static const char *check_cie(const uint8_t *rec, uint32_t len, cie_info *ci)
{
    reader r = {rec + 4, rec + 4 + len}; /* after the length; rec+4.. is the id */
    r.p += 4;                            /* the CIE id (0) */
    if (r.p >= r.end)
        return "CIE without a version";
    uint8_t version = *r.p++;
    if (version != 1 && version != 3)
        return "CIE version is neither 1 nor 3";
    const uint8_t *aug = r.p;
    while (r.p < r.end && *r.p)
        r.p++;
    if (r.p >= r.end)
        return "CIE augmentation string is not terminated inside the record";
    size_t aug_len = (size_t)(r.p - aug);
    r.p++;
    if (aug_len && aug[0] != 'z')
        return "CIE augmentation string does not start with 'z'";
    uint64_t v;
    if (!read_uleb(&r, &v) || !read_uleb(&r, &v)) /* code and data alignment factors */
        return "CIE alignment factors run past the record";
    if (version == 1 ? r.p++ >= r.end : !read_uleb(&r, &v))
        return "CIE return address column runs past the record";
    ci->fde_size = 8; /* absptr unless 'R' says otherwise */
    ci->has_z = aug_len > 0;
    if (!aug_len)
        return NULL;
    uint64_t data_len;
    if (!read_uleb(&r, &data_len) || data_len > (uint64_t)(r.end - r.p))
        return "CIE augmentation data runs past the record";
    reader d = {r.p, r.p + data_len};
    for (size_t k = 1; k < aug_len; k++) {
        switch (aug[k]) {
        case 'R': /* FDE pointer encoding */
            if (d.p >= d.end || !(ci->fde_size = enc_size(*d.p++)))
                return "CIE 'R' augmentation: missing or unknown pointer encoding";
            break;
        case 'L': /* LSDA pointer encoding */
            if (d.p >= d.end || (*d.p != DW_EH_PE_omit && !enc_size(*d.p)))
                return "CIE 'L' augmentation: missing or unknown pointer encoding";
            d.p++;
            break;
        case 'P': { /* personality: encoding, then a pointer in it */
            unsigned size = d.p < d.end ? enc_size(*d.p) : 0;
            if (!size || (uint64_t)(d.end - d.p - 1) < size)
                return "CIE 'P' augmentation: missing or unknown personality pointer";
            d.p += 1 + size;
            break;
        }
        case 'S': /* a signal frame */
        case 'B': /* aarch64: B key for return address signing */
            break;
        default:
            return "CIE augmentation string has a letter the unwinders do not read";
        }
    }
    return NULL;
}

static ej_status bad(const ej__object *obj, size_t i, uint64_t off, const char *why,
                     ej__err *err)
{
    return ej__fail(err, EJ_BADELF, "%s: %s+0x%llx: %s", obj->name, obj->sec[i].name,
                    (unsigned long long)off, why);
}

/* The CIE at OFF among the N found so far, or NULL (they come in order). */
static const cie_info *find_cie(const cie_info *c, size_t n, uint64_t off)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c[mid].off < off)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && c[lo].off == off ? &c[lo] : NULL;
}

static ej_status check_fde(const ej__object *obj, size_t i, uint64_t off, uint32_t len,
                           uint32_t id, const cie_info *cies, size_t ncies, ej__err *err)
{
    uint64_t field = off + 4;
    const cie_info *ci = id <= field ? find_cie(cies, ncies, field - id) : NULL;
    if (!ci)
        return bad(obj, i, off, "FDE's CIE pointer names no CIE before it in the section", err);
    const uint8_t *rec = obj->sec[i].data + off;
    reader r = {rec + 8, rec + 4 + len};
    if ((uint64_t)(r.end - r.p) < 2 * (uint64_t)ci->fde_size)
        return bad(obj, i, off, "FDE too short for its address range", err);
    r.p += 2 * ci->fde_size;
    uint64_t aug;
    if (ci->has_z && (!read_uleb(&r, &aug) || aug > (uint64_t)(r.end - r.p)))
        return bad(obj, i, off, "FDE augmentation data runs past the record", err);
    return EJ_OK;
}

ej_status ej__validate_eh_frame(ej__object *obj, size_t i, ej__err *err)
{
    const ej__section *s = &obj->sec[i];
    const uint8_t *p = s->data;
    cie_info *cies = NULL;
    size_t ncies = 0;
    ej_status st = EJ_OK;
    for (uint64_t off = 0; off < s->size && st == EJ_OK;) {
        uint32_t len, id;
        if (s->size - off < 4) {
            st = bad(obj, i, off, "truncated record length", err);
            break;
        }
        memcpy(&len, p + off, 4);
        if (len == 0) /* a terminator: the unwinders stop here */
            break;
        if (len == 0xffffffffu) {
            st = bad(obj, i, off, "64-bit DWARF record (not valid in .eh_frame)", err);
            break;
        }
        if (len < 4 || len > s->size - off - 4) {
            st = bad(obj, i, off, "record length runs past the section", err);
            break;
        }
        memcpy(&id, p + off + 4, 4);
        if (id == 0) {
            cie_info ci = {off, 0, 0};
            const char *why = check_cie(p + off, len, &ci);
            cie_info *grown = why ? NULL : realloc(cies, (ncies + 1) * sizeof *cies);
            if (why)
                st = bad(obj, i, off, why, err);
            else if (!grown)
                st = ej__fail(err, EJ_NOMEM, "%s: %s: out of memory checking it", obj->name,
                              s->name);
            else
                (cies = grown)[ncies++] = ci;
        } else {
            st = check_fde(obj, i, off, len, id, cies, ncies, err);
        }
        off += 4 + (uint64_t)len;
    }
    free(cies);
    return st;
}
