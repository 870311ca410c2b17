/* The global symbol table: an open-addressing hash of pooled entries.
 * Entries never move once created, so objects keep plain pointers to them. */
#include <stdlib.h>
#include <string.h>

#include "link/linker.h"

#define POOL_CHUNK 1024

struct ej__sym_pool {
    struct ej__sym_pool *next;
    size_t used;
    ej__sym syms[POOL_CHUNK];
};

/* FNV-1a: short, fast on short names, good enough spread for linear
 * probing with a power-of-two table kept at most half full. */
uint32_t ej__sym_hash(const char *name)
{
    uint32_t h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        h = (h ^ *p) * 16777619u;
    return h;
}

ej_status ej__symtab_init(ej__symtab *t, size_t expected)
{
    size_t cap = 64;
    while (cap < expected * 2)
        cap <<= 1;
    memset(t, 0, sizeof *t);
    t->slots = calloc(cap, sizeof *t->slots);
    if (!t->slots)
        return EJ_NOMEM;
    t->cap = cap;
    return EJ_OK;
}

void ej__symtab_free(ej__symtab *t)
{
    struct ej__sym_pool *p = t->first;
    while (p) {
        struct ej__sym_pool *next = p->next;
        free(p);
        p = next;
    }
    free(t->slots);
    memset(t, 0, sizeof *t);
}

static int grow(ej__symtab *t)
{
    size_t cap = t->cap * 2;
    ej__slot *slots = calloc(cap, sizeof *slots);
    if (!slots)
        return -1;
    for (size_t i = 0; i < t->cap; i++) {
        if (!t->slots[i].sym)
            continue;
        size_t j = t->slots[i].hash & (cap - 1);
        while (slots[j].sym)
            j = (j + 1) & (cap - 1);
        slots[j] = t->slots[i];
    }
    free(t->slots);
    t->slots = slots;
    t->cap = cap;
    return 0;
}

static ej__sym *pool_new(ej__symtab *t)
{
    if (!t->last || t->last->used == POOL_CHUNK) {
        struct ej__sym_pool *p = malloc(sizeof *p);
        if (!p)
            return NULL;
        p->next = NULL;
        p->used = 0;
        if (t->last)
            t->last->next = p;
        else
            t->first = p;
        t->last = p;
    }
    ej__sym *s = &t->last->syms[t->last->used++];
    memset(s, 0, sizeof *s);
    return s;
}

ej__sym *ej__symtab_alloc(ej__symtab *t)
{
    return pool_new(t);
}

ej__symtab_iter ej__symtab_begin(const ej__symtab *t)
{
    return (ej__symtab_iter){t->first, 0};
}

ej__sym *ej__symtab_next(ej__symtab_iter *it)
{
    while (it->pool && it->i == it->pool->used) {
        it->pool = it->pool->next;
        it->i = 0;
    }
    return it->pool ? &it->pool->syms[it->i++] : NULL;
}

ej__sym *ej__symtab_get(ej__symtab *t, const char *name, uint32_t hash,
                        int create, int *oom)
{
    size_t mask = t->cap - 1, i = hash & mask;
    for (; t->slots[i].sym; i = (i + 1) & mask)
        if (t->slots[i].hash == hash && strcmp(t->slots[i].sym->name, name) == 0)
            return t->slots[i].sym;
    if (!create)
        return NULL;
    if ((t->count + 1) * 2 > t->cap) {
        if (grow(t) != 0) {
            *oom = 1;
            return NULL;
        }
        return ej__symtab_get(t, name, hash, create, oom);
    }
    ej__sym *s = pool_new(t);
    if (!s) {
        *oom = 1;
        return NULL;
    }
    s->name = name;
    s->hash = hash;
    s->is_global = 1;
    t->slots[i] = (ej__slot){hash, s};
    t->count++;
    return s;
}
