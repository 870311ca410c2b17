/* The bytes of the builder's own sections: the trap table and the address
 * map (format: include/elfjit/tables.h) and .eh_frame (a CIE and one FDE
 * per function with unwind information; DWARF 5 section 6.4.1 and the
 * Linux Standard Base's .eh_frame description).  Each writer returns a
 * malloc()ed buffer and says where the relocations its bytes need go. */
#include <elf.h>
#include <stdlib.h>
#include <string.h>

#include "builder/sections.h"

static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }

static int by_offset(const void *a, const void *b)
{
    const ej__bsite *x = a, *y = b;
    return x->off < y->off ? -1 : x->off > y->off;
}

/* Sorts SITES; the index of a repeated offset, or -1. */
long ej__sites_sort(ej__bsite *sites, size_t n)
{
    if (n)
        qsort(sites, n, sizeof *sites, by_offset);
    for (size_t i = 1; i < n; i++)
        if (sites[i].off == sites[i - 1].off)
            return (long)i;
    return -1;
}

static void header(uint8_t *p, uint32_t magic, uint16_t esize, uint32_t count, uint32_t size)
{
    put32(p, magic);
    put16(p + 4, EJ_TABLES_VERSION);
    put16(p + 6, esize);
    put32(p + 8, count);
    put32(p + 12, size);
    memset(p + 16, 0, 8); /* text, relative: filled by a relocation */
}

uint8_t *ej__traps_bytes(const ej__bsite *traps, size_t n, size_t *len)
{
    size_t size = 24 + n * 8;
    uint8_t *p = malloc(size);
    if (!p)
        return NULL;
    header(p, EJ_TRAPS_MAGIC, 8, (uint32_t)n, (uint32_t)size);
    for (size_t i = 0; i < n; i++) {
        put32(p + 24 + i * 8, (uint32_t)traps[i].off);
        put32(p + 28 + i * 8, traps[i].a);
    }
    *len = size;
    return p;
}

uint8_t *ej__addrmap_bytes(const ej__bsite *lines, size_t n, char *const *files, size_t nfiles,
                           size_t *len)
{
    size_t pool = 0;
    for (size_t f = 0; f < nfiles; f++)
        pool += strlen(files[f]) + 1;
    size_t entries = 32 + nfiles * 4, pool_at = entries + n * 12;
    size_t size = ej__align_up(pool_at + pool, 8);
    uint8_t *p = calloc(1, size);
    if (!p)
        return NULL;
    header(p, EJ_ADDRMAP_MAGIC, 12, (uint32_t)n, (uint32_t)size);
    put32(p + 24, (uint32_t)nfiles);
    put32(p + 28, (uint32_t)pool_at);
    size_t at = 0;
    for (size_t f = 0; f < nfiles; f++) {
        put32(p + 32 + f * 4, (uint32_t)at);
        size_t l = strlen(files[f]) + 1;
        memcpy(p + pool_at + at, files[f], l);
        at += l;
    }
    for (size_t i = 0; i < n; i++) {
        put32(p + entries + i * 12, (uint32_t)lines[i].off);
        put32(p + entries + i * 12 + 4, lines[i].a);
        put32(p + entries + i * 12 + 8, lines[i].b);
    }
    *len = size;
    return p;
}

/* ---- .eh_frame ------------------------------------------------------- */

typedef struct growbuf {
    uint8_t *p;
    size_t len, cap;
} growbuf;

static int grow(growbuf *g, size_t more)
{
    if (g->len + more <= g->cap)
        return 0;
    size_t cap = g->cap ? g->cap : 256;
    while (cap < g->len + more)
        cap *= 2;
    uint8_t *p = realloc(g->p, cap);
    if (!p)
        return -1;
    g->p = p;
    g->cap = cap;
    return 0;
}

static void emit(growbuf *g, const void *b, size_t n)
{
    memcpy(g->p + g->len, b, n);
    g->len += n;
}

/* Pads the record that started at START to a multiple of 8 with
 * DW_CFA_nop and writes its length field. */
static void close_record(growbuf *g, size_t start)
{
    while ((g->len - start) % 8)
        g->p[g->len++] = 0; /* DW_CFA_nop */
    put32(g->p + start, (uint32_t)(g->len - start - 4));
}

uint8_t *ej__eh_frame_bytes(const ej__arch *a, const ej__bsym *syms, size_t nsyms,
                            ej__fde_site *sites, size_t *nsites, size_t *len)
{
    const struct ej__cie *c = &a->cie; /* the architecture's defaults */
    growbuf g = {0};
    if (grow(&g, 64))
        return NULL;
    /* CIE: length, id 0, version 1, "zR", factors, RA column, augmentation
     * data (the FDE pointer encoding: pc-relative, signed 4 bytes). */
    static const uint8_t aug[] = {0, 0, 0, 0, 1, 'z', 'R', 0};
    emit(&g, (uint8_t[4]){0}, 4);
    emit(&g, aug, sizeof aug);
    uint8_t f[3] = {c->code_align, (uint8_t)(c->data_align & 0x7f), c->ra};
    emit(&g, f, 3);
    uint8_t augdata[2] = {1, 0x1b}; /* DW_EH_PE_pcrel | DW_EH_PE_sdata4 */
    emit(&g, augdata, 2);
    emit(&g, c->init, c->init_len);
    close_record(&g, 0);
    size_t n = 0;
    for (size_t i = 0; i < nsyms; i++) {
        const ej__bsym *s = &syms[i];
        if (!s->cfi)
            continue;
        if (grow(&g, 24 + s->cfi_len + 8)) {
            free(g.p);
            return NULL;
        }
        size_t start = g.len;
        uint8_t hdr[17] = {0};
        put32(hdr + 4, (uint32_t)(start + 4)); /* back to the CIE at 0 */
        /* pc_begin (+8) is relocated; pc_range (+12); no augmentation data. */
        put32(hdr + 12, (uint32_t)s->size);
        emit(&g, hdr, sizeof hdr);
        emit(&g, s->cfi, s->cfi_len);
        close_record(&g, start);
        sites[n++] = (ej__fde_site){start + 8, (uint32_t)i};
    }
    *nsites = n;
    *len = g.len;
    return g.p;
}
