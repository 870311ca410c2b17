/* The builder API: recording what a compiler hands over, each piece checked
 * as it arrives so that errors name the call that caused them. */
#include <elf.h>
#include <stdlib.h>
#include <string.h>

#include "builder/builder.h"

typedef EJ_BVEC(char) any_vec;

void *ej__bvec_push(void *vec, size_t elem)
{
    any_vec *v = vec;
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 16;
        char *p = realloc(v->v, cap * elem);
        if (!p)
            return NULL;
        v->v = p;
        v->cap = cap;
    }
    char *e = v->v + v->n++ * elem;
    memset(e, 0, elem);
    return e;
}

static const ej__arch *arch_for(uint16_t machine)
{
    return machine ? ej__arch_for_machine(machine) : ej__host_arch();
}

EJ_API ej_status ej_builder_create(ej_builder **out, uint16_t machine)
{
    if (!out)
        return EJ_INVAL;
    *out = NULL;
    const ej__arch *a = arch_for(machine);
    if (!a)
        return EJ_UNSUPPORTED;
    ej_builder *b = calloc(1, sizeof *b);
    if (!b)
        return EJ_NOMEM;
    b->arch = a;
    for (int i = 0; i < EJ_BS_COUNT; i++)
        b->sec[i].align = 1;
    *out = b;
    return EJ_OK;
}

EJ_API void ej_builder_free(ej_builder *b)
{
    if (!b)
        return;
    for (size_t i = 0; i < b->syms.n; i++) {
        free(b->syms.v[i].name);
        free(b->syms.v[i].cfi);
    }
    for (size_t i = 0; i < b->files.n; i++)
        free(b->files.v[i]);
    for (int i = 0; i < EJ_BS_COUNT; i++)
        free(b->sec[i].p);
    free(b->syms.v);
    free(b->rels.v);
    free(b->traps.v);
    free(b->lines.v);
    free(b->files.v);
    free(b->hash);
    free(b->image);
    free(b);
}

EJ_API const char *ej_builder_errmsg(const ej_builder *b)
{
    return b ? b->err.msg : "";
}

/* ---- names ---------------------------------------------------------- */

static uint32_t name_hash(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

/* The id of NAME, or -1. */
static long find_name(const ej_builder *b, const char *name)
{
    if (!b->hash_cap)
        return -1;
    size_t mask = b->hash_cap - 1;
    for (size_t j = name_hash(name) & mask; b->hash[j]; j = (j + 1) & mask)
        if (strcmp(b->syms.v[b->hash[j] - 1].name, name) == 0)
            return (long)b->hash[j] - 1;
    return -1;
}

static int hash_insert(ej_builder *b, uint32_t id)
{
    if ((b->syms.n + 1) * 2 > b->hash_cap) {
        size_t cap = b->hash_cap ? b->hash_cap * 2 : 64;
        uint32_t *h = calloc(cap, sizeof *h);
        if (!h)
            return -1;
        for (size_t i = 0; i < b->hash_cap; i++) {
            if (!b->hash[i])
                continue;
            size_t j = name_hash(b->syms.v[b->hash[i] - 1].name) & (cap - 1);
            while (h[j])
                j = (j + 1) & (cap - 1);
            h[j] = b->hash[i];
        }
        free(b->hash);
        b->hash = h;
        b->hash_cap = cap;
    }
    size_t j = name_hash(b->syms.v[id].name) & (b->hash_cap - 1);
    while (b->hash[j])
        j = (j + 1) & (b->hash_cap - 1);
    b->hash[j] = id + 1;
    return 0;
}

/* ---- symbols -------------------------------------------------------- */

static ej_status usable(ej_builder *b, const char *what)
{
    if (b->finished)
        return ej__fail(&b->err, EJ_STATE, "%s: the builder is finished", what);
    return EJ_OK;
}

/* Appends LEN bytes (zeros when BYTES is NULL; nothing stored for .bss
 * and .tbss) to section SEC at a multiple of ALIGN; *OFF receives the
 * offset. */
static int place(ej__bbuf *s, int sec, const void *bytes, size_t len, uint64_t align,
                 uint64_t *off)
{
    uint64_t at = ej__align_up(s->len, align);
    if (sec != EJ_BS_BSS && sec != EJ_BS_TBSS) {
        size_t need = (size_t)at + len;
        if (need > s->cap) {
            size_t cap = s->cap ? s->cap : 256;
            while (cap < need)
                cap *= 2;
            uint8_t *p = realloc(s->p, cap);
            if (!p)
                return -1;
            s->p = p;
            s->cap = cap;
        }
        /* Padding between functions: zeros, never executed.  (An empty
         * first piece leaves the buffer unallocated: nothing to touch.) */
        if (at > s->len)
            memset(s->p + s->len, 0, (size_t)at - s->len);
        if (len && bytes)
            memcpy(s->p + at, bytes, len);
        else if (len)
            memset(s->p + at, 0, len);
    }
    s->len = (size_t)at + len;
    if (align > s->align)
        s->align = align;
    *off = at;
    return 0;
}

static ej_status add_symbol(ej_builder *b, const char *what, const char *name, int sec,
                            const void *bytes, size_t len, size_t align, ej_bind bind,
                            uint32_t *id)
{
    ej_status st = usable(b, what);
    if (st != EJ_OK)
        return st;
    if (!name || !*name || !id)
        return ej__fail(&b->err, EJ_INVAL, "%s: %s", what, !id ? "ID is NULL" : "empty name");
    if (bind != EJ_BIND_LOCAL && bind != EJ_BIND_GLOBAL)
        return ej__fail(&b->err, EJ_INVAL, "%s '%s': binding %d is neither local nor global",
                        what, name, (int)bind);
    if (align == 0)
        align = sec == EJ_BS_TEXT ? b->arch->insn_align : 1;
    if (!ej__is_pow2(align) || align > 4096)
        return ej__fail(&b->err, EJ_INVAL, "%s '%s': alignment %zu is not a power of two up "
                        "to 4096", what, name, align);
    if (find_name(b, name) >= 0)
        return ej__fail(&b->err, EJ_DUPLICATE, "%s: '%s' is already defined or imported",
                        what, name);
    if (len > ((size_t)1 << 31))
        return ej__fail(&b->err, EJ_INVAL, "%s '%s': %zu bytes is more than 2 GiB", what,
                        name, len);
    ej__bsym *s = EJ_BPUSH(&b->syms);
    char *copy = strdup(name);
    uint64_t off = 0;
    if (!s || !copy || (sec != EJ_BS_NONE && place(&b->sec[sec], sec, bytes, len, align, &off))) {
        free(copy);
        if (s)
            b->syms.n--;
        return ej__fail(&b->err, EJ_NOMEM, "%s '%s': out of memory", what, name);
    }
    *s = (ej__bsym){.name = copy, .sec = (uint8_t)sec, .bind = (uint8_t)bind, .off = off,
                    .size = len};
    if (hash_insert(b, (uint32_t)(b->syms.n - 1))) {
        free(copy);
        b->syms.n--;
        return ej__fail(&b->err, EJ_NOMEM, "%s '%s': out of memory", what, name);
    }
    *id = (uint32_t)(b->syms.n - 1);
    return EJ_OK;
}

EJ_API ej_status ej_builder_add_function(ej_builder *b, const char *name, const void *code,
                                         size_t len, size_t align, ej_bind bind, uint32_t *id)
{
    if (!b)
        return EJ_INVAL;
    if (!code || !len)
        return ej__fail(&b->err, EJ_INVAL, "ej_builder_add_function '%s': no code",
                        name ? name : "");
    return add_symbol(b, "ej_builder_add_function", name, EJ_BS_TEXT, code, len, align, bind,
                      id);
}

EJ_API ej_status ej_builder_add_data(ej_builder *b, const char *name, ej_data_kind kind,
                                     const void *bytes, size_t len, size_t align, ej_bind bind,
                                     uint32_t *id)
{
    if (!b)
        return EJ_INVAL;
    static const int sec_of[] = {EJ_BS_RODATA, EJ_BS_DATA, EJ_BS_BSS, EJ_BS_TDATA, EJ_BS_TBSS};
    if ((unsigned)kind > EJ_DATA_TLS_BSS)
        return ej__fail(&b->err, EJ_INVAL, "ej_builder_add_data: unknown kind %d", (int)kind);
    if ((kind == EJ_DATA_BSS || kind == EJ_DATA_TLS_BSS) && bytes)
        return ej__fail(&b->err, EJ_INVAL, "ej_builder_add_data '%s': %s data has no bytes",
                        name ? name : "", kind == EJ_DATA_BSS ? ".bss" : ".tbss");
    return add_symbol(b, "ej_builder_add_data", name, sec_of[kind], bytes, len, align, bind, id);
}

EJ_API ej_status ej_builder_add_import(ej_builder *b, const char *name, uint32_t *id)
{
    if (!b)
        return EJ_INVAL;
    long old = name && id ? find_name(b, name) : -1;
    if (old >= 0 && b->syms.v[old].sec == EJ_BS_NONE && !b->finished) {
        *id = (uint32_t)old;
        return EJ_OK;
    }
    return add_symbol(b, "ej_builder_add_import", name, EJ_BS_NONE, NULL, 0, 1,
                      EJ_BIND_GLOBAL, id);
}

/* ---- what refers to offsets in a symbol ------------------------------ */

/* Checks that ID names a symbol with bytes (a function when FUNC_ONLY)
 * and that [OFF, OFF + WIDTH) lies inside it. */
static ej_status in_symbol(ej_builder *b, const char *what, uint32_t id, uint64_t off,
                           uint64_t width, int func_only)
{
    ej_status st = usable(b, what);
    if (st != EJ_OK)
        return st;
    if (id >= b->syms.n || b->syms.v[id].sec == EJ_BS_NONE ||
        (func_only && b->syms.v[id].sec != EJ_BS_TEXT))
        return ej__fail(&b->err, EJ_INVAL, "%s: id %u is not a %s of this builder", what, id,
                        func_only ? "function" : "function or data object");
    const ej__bsym *s = &b->syms.v[id];
    if (off > s->size || width > s->size - off || (width == 0 && off >= s->size))
        return ej__fail(&b->err, EJ_INVAL, "%s: offset 0x%llx (%llu bytes) is outside '%s' "
                        "(0x%llx bytes)", what, (unsigned long long)off,
                        (unsigned long long)width, s->name, (unsigned long long)s->size);
    return EJ_OK;
}

EJ_API ej_status ej_builder_add_reloc(ej_builder *b, uint32_t owner, uint64_t offset,
                                      ej_reloc_kind kind, uint32_t target, int64_t addend)
{
    static const char *const kinds[] = {"ABS64", "PCREL32", "CALL", "GOT_LOAD", "TLS_LOAD"};
    const char *what = "ej_builder_add_reloc";
    if (!b)
        return EJ_INVAL;
    if ((unsigned)kind >= EJ_RELOC_KIND_COUNT)
        return ej__fail(&b->err, EJ_INVAL, "%s: unknown kind %d", what, (int)kind);
    uint32_t type = b->arch->kind_type[kind];
    if (!type)
        return ej__fail(&b->err, EJ_UNSUPPORTED, "%s: EJ_RELOC_%s has no %s relocation type",
                        what, kinds[kind], b->arch->name);
    uint32_t type_lo = b->arch->kind_type_lo[kind];
    const ej__reloc_info *info = ej__reloc_info_of(b->arch, type);
    ej_status st = in_symbol(b, what, owner, offset, info->width + (type_lo ? 4u : 0u), 0);
    if (st != EJ_OK)
        return st;
    if (b->syms.v[owner].sec == EJ_BS_BSS || b->syms.v[owner].sec == EJ_BS_TBSS)
        return ej__fail(&b->err, EJ_INVAL, "%s: '%s' is in %s, which has no bytes to relocate",
                        what, b->syms.v[owner].name,
                        b->syms.v[owner].sec == EJ_BS_BSS ? ".bss" : ".tbss");
    if (target < b->syms.n && kind != EJ_RELOC_TLS_LOAD &&
        (b->syms.v[target].sec == EJ_BS_TDATA || b->syms.v[target].sec == EJ_BS_TBSS))
        return ej__fail(&b->err, EJ_INVAL, "%s: '%s' is thread-local: only EJ_RELOC_TLS_LOAD "
                        "reaches it", what, b->syms.v[target].name);
    if (target < b->syms.n && kind == EJ_RELOC_TLS_LOAD && b->syms.v[target].sec != EJ_BS_NONE &&
        b->syms.v[target].sec != EJ_BS_TDATA && b->syms.v[target].sec != EJ_BS_TBSS)
        return ej__fail(&b->err, EJ_INVAL, "%s: EJ_RELOC_TLS_LOAD against '%s', which is not "
                        "thread-local", what, b->syms.v[target].name);
    /* An instruction pair is code: its label must sit in .text (fuzz
     * finding: a riscv64 GOT_LOAD in data put its label past .text). */
    if (type_lo && b->syms.v[owner].sec != EJ_BS_TEXT)
        return ej__fail(&b->err, EJ_INVAL, "%s: EJ_RELOC_%s is a pair of instructions on %s: "
                        "'%s' is data, not a function", what, kinds[kind], b->arch->name,
                        b->syms.v[owner].name);
    if (target >= b->syms.n)
        return ej__fail(&b->err, EJ_INVAL, "%s: target id %u is not a symbol of this builder",
                        what, target);
    /* (Two relocations at one place are found when the object is written.) */
    uint64_t at = b->syms.v[owner].off + offset;
    ej__brel *r = EJ_BPUSH(&b->rels);
    if (!r)
        return ej__fail(&b->err, EJ_NOMEM, "%s: out of memory", what);
    *r = (ej__brel){owner, target, at, type, type_lo, addend};
    return EJ_OK;
}

/* A site at OFF in function FUNC, into V; at most one per offset. */
static ej_status add_site(ej_builder *b, const char *what, void *vec, uint32_t func,
                          uint64_t off, uint32_t x, uint32_t y)
{
    ej_status st = in_symbol(b, what, func, off, 0, 1);
    if (st != EJ_OK)
        return st;
    /* (Two sites at one offset are found when the object is written.) */
    EJ_BVEC(ej__bsite) *v = vec;
    uint64_t at = b->syms.v[func].off + off;
    ej__bsite *s = EJ_BPUSH(v);
    if (!s)
        return ej__fail(&b->err, EJ_NOMEM, "%s: out of memory", what);
    *s = (ej__bsite){at, x, y};
    return EJ_OK;
}

EJ_API ej_status ej_builder_add_trap(ej_builder *b, uint32_t func, uint64_t offset,
                                     uint32_t code)
{
    return b ? add_site(b, "ej_builder_add_trap", &b->traps, func, offset, code, 0) : EJ_INVAL;
}

/* The index of FILE in the builder's file list, adding it. */
static long file_index(ej_builder *b, const char *file)
{
    for (size_t i = b->files.n; i-- > 0;)
        if (strcmp(b->files.v[i], file) == 0)
            return (long)i;
    char **slot = EJ_BPUSH(&b->files);
    if (!slot)
        return -1;
    if (!(*slot = strdup(file))) {
        b->files.n--;
        return -1;
    }
    return (long)b->files.n - 1;
}

EJ_API ej_status ej_builder_add_srcloc(ej_builder *b, uint32_t func, uint64_t offset,
                                       const char *file, uint32_t line)
{
    if (!b)
        return EJ_INVAL;
    if (!file)
        return ej__fail(&b->err, EJ_INVAL, "ej_builder_add_srcloc: FILE is NULL");
    ej_status st = in_symbol(b, "ej_builder_add_srcloc", func, offset, 0, 1);
    if (st != EJ_OK)
        return st;
    long f = file_index(b, file);
    if (f < 0)
        return ej__fail(&b->err, EJ_NOMEM, "ej_builder_add_srcloc: out of memory");
    return add_site(b, "ej_builder_add_srcloc", &b->lines, func, offset, (uint32_t)f, line);
}

EJ_API ej_status ej_builder_set_unwind(ej_builder *b, uint32_t func, const void *cfi,
                                       size_t len)
{
    const char *what = "ej_builder_set_unwind";
    if (!b)
        return EJ_INVAL;
    ej_status st = in_symbol(b, what, func, 0, 0, 1);
    if (st != EJ_OK)
        return st;
    ej__bsym *s = &b->syms.v[func];
    if (s->cfi)
        return ej__fail(&b->err, EJ_INVAL, "%s: '%s' already has unwind information", what,
                        s->name);
    if (len && !cfi)
        return ej__fail(&b->err, EJ_INVAL, "%s: CFI is NULL", what);
    if (!(s->cfi = malloc(len ? len : 1)))
        return ej__fail(&b->err, EJ_NOMEM, "%s: out of memory", what);
    if (len)
        memcpy(s->cfi, cfi, len);
    s->cfi_len = len;
    return EJ_OK;
}
