/* Tree to stack code (emit.h) to builder (codegen.h).
 *
 * One function per object: a call to another function of the program is
 * an EJ_RELOC_CALL against an import of its name, which the session
 * resolves when it links the object (to the name's redirect stub: see
 * jit.c); a call to the function itself goes to its own symbol. */
#include <stdio.h>
#include <stdlib.h>

#include "codegen.h"

typedef struct call_site {
    size_t at;  /* where EJ_RELOC_CALL goes */
    int callee;
} call_site;

typedef struct gen {
    const emitter *e;
    code c;
    call_site *sites;
    size_t nsites, cap;
    int depth; /* temporaries on the stack */
    int nomem;
} gen;

static void add_site(gen *g, size_t at, int callee)
{
    if (g->nsites == g->cap) {
        size_t cap = g->cap ? g->cap * 2 : 16;
        call_site *s = realloc(g->sites, cap * sizeof *s);
        if (!s) {
            g->nomem = 1;
            return;
        }
        g->sites = s;
        g->cap = cap;
    }
    g->sites[g->nsites++] = (call_site){at, callee};
}

static void walk(gen *g, const node *n)
{
    const emitter *e = g->e;
    if (g->c.nomem || g->nomem)
        return;
    switch (n->op) {
    case OP_NUM:
        e->push_num(&g->c, n->num);
        g->depth++;
        return;
    case OP_ARG:
        e->push_arg(&g->c);
        g->depth++;
        return;
    case OP_CALL:
        walk(g, n->a);
        g->depth--; /* the argument, popped by the call */
        add_site(g, e->call(&g->c, g->depth), n->callee);
        g->depth++;
        return;
    case OP_IF: {
        walk(g, n->a);
        size_t to_else = e->jump_if_zero(&g->c);
        g->depth--;
        walk(g, n->b);
        size_t to_end = e->jump(&g->c);
        g->depth--; /* the else branch starts where the then branch did */
        if (!g->c.nomem)
            e->patch(&g->c, to_else, g->c.n);
        walk(g, n->c);
        if (!g->c.nomem)
            e->patch(&g->c, to_end, g->c.n);
        return;
    }
    default:
        walk(g, n->a);
        walk(g, n->b);
        e->binary(&g->c, n->op == OP_ADD   ? BIN_ADD
                         : n->op == OP_SUB ? BIN_SUB
                         : n->op == OP_MUL ? BIN_MUL
                         : n->op == OP_LT  ? BIN_LT
                                           : BIN_EQ);
        g->depth--;
    }
}

static int ok(ej_builder *b, ej_status st, const char *name)
{
    if (st != EJ_OK)
        fprintf(stderr, "session: compiling %s: %s\n", name, ej_builder_errmsg(b));
    return st == EJ_OK;
}

ej_builder *compile_function(const program *p, int fi, enum tier tier, const emitter *e,
                             const char *file)
{
    const func *f = &p->f[fi];
    gen g = {.e = e};
    e->enter(&g.c);
    size_t count_at = tier == TIER_FIRST ? e->count(&g.c) : 0;
    walk(&g, tier == TIER_FIRST ? f->body : f->folded);
    e->leave(&g.c);
    ej_builder *b = NULL;
    if (g.c.nomem || g.nomem) {
        fprintf(stderr, "session: compiling %s: out of memory\n", f->name);
        goto out;
    }
    if (ej_builder_create(&b, e->machine) != EJ_OK) {
        fprintf(stderr, "session: no builder for %s\n", e->arch);
        goto out;
    }
    uint32_t self, counter, callee;
    int good = ok(b, ej_builder_add_function(b, f->name, g.c.b, g.c.n, 16, EJ_BIND_GLOBAL, &self),
                  f->name) &&
               ok(b, ej_builder_add_srcloc(b, self, 0, file, (uint32_t)f->line), f->name);
    /* Unwind information (the emitter's description of its frame), so
     * that debuggers and unwinders walk through the function: without it,
     * gdb's backtraces stop at it (the default CIE covers only the entry,
     * and every push moves the stack pointer). */
    if (good) {
        code cfi = {0};
        e->unwind(&cfi, g.c.n);
        if (cfi.nomem) {
            fprintf(stderr, "session: compiling %s: out of memory\n", f->name);
            good = 0;
        } else {
            good = ok(b, ej_builder_set_unwind(b, self, cfi.b, cfi.n), f->name);
        }
        free(cfi.b);
    }
    if (good && tier == TIER_FIRST) {
        /* The counter: 8 zero bytes of .data, exported so that the
         * embedder finds it (ej_module_symbol), reached through the GOT. */
        char name[MAX_NAME + 8];
        snprintf(name, sizeof name, "%s.calls", f->name);
        good = ok(b, ej_builder_add_data(b, name, EJ_DATA_DATA, NULL, 8, 8, EJ_BIND_GLOBAL,
                                         &counter), f->name) &&
               ok(b, ej_builder_add_reloc(b, self, count_at, EJ_RELOC_GOT_LOAD, counter,
                                          e->got_addend), f->name);
    }
    for (size_t i = 0; good && i < g.nsites; i++) {
        int to = g.sites[i].callee;
        if (to == fi)
            callee = self;
        else
            good = ok(b, ej_builder_add_import(b, p->f[to].name, &callee), f->name);
        good = good && ok(b, ej_builder_add_reloc(b, self, g.sites[i].at, EJ_RELOC_CALL, callee,
                                                  e->call_addend), f->name);
    }
    if (!good) {
        ej_builder_free(b);
        b = NULL;
    }
out:
    free(g.c.b);
    free(g.sites);
    return b;
}
