/* The language (see lang.h): parser, interpreter, constant folder. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lang.h"

static const node dummy = {OP_NUM, 0, 0, NULL, NULL, NULL};

typedef struct parser {
    program *p;
    const char *s;     /* the rest of the line */
    const char *param; /* the parameter's name */
    const char *error;
    char what[MAX_NAME]; /* the name the error is about, or "" */
} parser;

static const node *mk(parser *k, node n)
{
    if (k->p->npool == MAX_NODES) {
        k->error = "program too large";
        return &dummy;
    }
    k->p->pool[k->p->npool] = n;
    return &k->p->pool[k->p->npool++];
}

static const node *mk_num(parser *k, int64_t v)
{
    return mk(k, (node){.op = OP_NUM, .num = v});
}

static const node *mk_bin(parser *k, op o, const node *a, const node *b)
{
    return mk(k, (node){.op = o, .a = a, .b = b});
}

/* ---- the parser ---------------------------------------------------------- */

static void skip(parser *k)
{
    while (*k->s == ' ' || *k->s == '\t' || *k->s == '\r')
        k->s++;
}

static size_t ident_len(const char *s)
{
    size_t n = 0;
    if (isalpha((unsigned char)*s) || *s == '_')
        while (isalnum((unsigned char)s[n]) || s[n] == '_')
            n++;
    return n;
}

static int is_keyword(const char *s, size_t n)
{
    static const char *const kw[] = {"if", "then", "else", "cold"};
    for (size_t i = 0; i < sizeof kw / sizeof kw[0]; i++)
        if (strlen(kw[i]) == n && strncmp(s, kw[i], n) == 0)
            return 1;
    return 0;
}

/* Consumes the keyword W if it comes next. */
static int word(parser *k, const char *w)
{
    size_t n = strlen(w);
    skip(k);
    if (strncmp(k->s, w, n) != 0 || ident_len(k->s) != n)
        return 0;
    k->s += n;
    return 1;
}

/* Consumes the punctuation T if it comes next ("=" does not match "=="). */
static int punct(parser *k, const char *t)
{
    size_t n = strlen(t);
    skip(k);
    if (strncmp(k->s, t, n) != 0 || (t[0] == '=' && n == 1 && k->s[1] == '='))
        return 0;
    k->s += n;
    return 1;
}

static void expect(parser *k, const char *t, const char *msg)
{
    if (!k->error && !punct(k, t))
        k->error = msg;
}

static const node *expr(parser *k);

static const node *atom(parser *k)
{
    skip(k);
    if (isdigit((unsigned char)*k->s)) {
        errno = 0;
        long long v = strtoll(k->s, (char **)&k->s, 10);
        if (errno == ERANGE)
            k->error = "number out of range (64-bit signed)";
        return mk_num(k, v);
    }
    if (punct(k, "(")) {
        const node *e = expr(k);
        expect(k, ")", "expected ')'");
        return e;
    }
    size_t n = ident_len(k->s);
    if (!n || is_keyword(k->s, n)) {
        k->error = "expected a number, a name or '('";
        return &dummy;
    }
    char name[MAX_NAME];
    snprintf(name, sizeof name, "%.*s", (int)n, k->s);
    k->s += n;
    if (punct(k, "(")) {
        int fi = find_func(k->p, name);
        if (fi < 0) {
            k->error = "call of an unknown function";
            snprintf(k->what, sizeof k->what, "%s", name);
            return &dummy;
        }
        const node *arg = expr(k);
        expect(k, ")", "expected ')' after the argument");
        return mk(k, (node){.op = OP_CALL, .callee = fi, .a = arg});
    }
    if (strcmp(name, k->param) != 0) {
        k->error = "unknown name (the function's one parameter is the only variable)";
        snprintf(k->what, sizeof k->what, "%s", name);
        return &dummy;
    }
    return mk(k, (node){.op = OP_ARG});
}

static const node *unary(parser *k)
{
    if (punct(k, "-")) /* -e is 0 - e: the optimiser folds -5 into a constant */
        return mk_bin(k, OP_SUB, mk_num(k, 0), unary(k));
    return atom(k);
}

static const node *product(parser *k)
{
    const node *e = unary(k);
    while (!k->error && punct(k, "*"))
        e = mk_bin(k, OP_MUL, e, unary(k));
    return e;
}

static const node *sum(parser *k)
{
    const node *e = product(k);
    for (;;) {
        if (k->error)
            return e;
        if (punct(k, "+"))
            e = mk_bin(k, OP_ADD, e, product(k));
        else if (punct(k, "-"))
            e = mk_bin(k, OP_SUB, e, product(k));
        else
            return e;
    }
}

static const node *comparison(parser *k)
{
    const node *e = sum(k);
    if (!k->error && punct(k, "<"))
        return mk_bin(k, OP_LT, e, sum(k));
    if (!k->error && punct(k, "=="))
        return mk_bin(k, OP_EQ, e, sum(k));
    return e;
}

static const node *expr(parser *k)
{
    if (!word(k, "if"))
        return comparison(k);
    const node *c = expr(k);
    if (!k->error && !word(k, "then"))
        k->error = "expected 'then'";
    const node *t = k->error ? &dummy : expr(k);
    if (!k->error && !word(k, "else"))
        k->error = "expected 'else'";
    const node *e = k->error ? &dummy : expr(k);
    return mk(k, (node){.op = OP_IF, .a = c, .b = t, .c = e});
}

/* ---- evaluation and folding ----------------------------------------------- */

/* Two's complement wrapping, as the machine computes it. */
static int64_t arith(op o, int64_t a, int64_t b)
{
    uint64_t x = (uint64_t)a, y = (uint64_t)b;
    switch (o) {
    case OP_ADD: return (int64_t)(x + y);
    case OP_SUB: return (int64_t)(x - y);
    case OP_MUL: return (int64_t)(x * y);
    case OP_LT: return a < b;
    default: return a == b;
    }
}

static int64_t eval(const program *p, const node *n, int64_t x)
{
    switch (n->op) {
    case OP_NUM: return n->num;
    case OP_ARG: return x;
    case OP_IF: return eval(p, n->a, x) ? eval(p, n->b, x) : eval(p, n->c, x);
    case OP_CALL: return eval(p, p->f[n->callee].body, eval(p, n->a, x));
    default: return arith(n->op, eval(p, n->a, x), eval(p, n->b, x));
    }
}

int64_t interpret(const program *p, int fi, int64_t x)
{
    return eval(p, p->f[fi].body, x);
}

static int calls_nothing(const node *n)
{
    return !n || (n->op != OP_CALL && calls_nothing(n->a) && calls_nothing(n->b) &&
                  calls_nothing(n->c));
}

static int is_num(const node *n, int64_t v)
{
    return n->op == OP_NUM && n->num == v;
}

/* The optimiser: constants folded, if-then-else with a constant condition
 * reduced to its branch, + 0, - 0, * 1 dropped, * 0 of call-free operands
 * made 0, and (e + c1) + c2 made e + (c1 + c2).  Calls are kept: they may
 * not terminate. */
static const node *fold(parser *k, const node *n)
{
    node m = *n;
    switch (n->op) {
    case OP_NUM:
    case OP_ARG:
        return n;
    case OP_CALL:
        m.a = fold(k, n->a);
        break;
    case OP_IF:
        m.a = fold(k, n->a);
        if (m.a->op == OP_NUM)
            return fold(k, m.a->num ? n->b : n->c);
        m.b = fold(k, n->b);
        m.c = fold(k, n->c);
        break;
    default:
        m.a = fold(k, n->a);
        m.b = fold(k, n->b);
        if (m.a->op == OP_NUM && m.b->op == OP_NUM)
            return mk_num(k, arith(n->op, m.a->num, m.b->num));
        if ((n->op == OP_ADD || n->op == OP_SUB) && is_num(m.b, 0))
            return m.a;
        if (n->op == OP_ADD && is_num(m.a, 0))
            return m.b;
        if (n->op == OP_MUL && (is_num(m.a, 1) || is_num(m.b, 1)))
            return is_num(m.a, 1) ? m.b : m.a;
        if (n->op == OP_MUL && (is_num(m.a, 0) || is_num(m.b, 0)) && calls_nothing(m.a) &&
            calls_nothing(m.b))
            return mk_num(k, 0);
        if ((n->op == OP_ADD || n->op == OP_SUB) && m.b->op == OP_NUM &&
            m.a->op == OP_ADD && m.a->b->op == OP_NUM)
            return mk_bin(k, OP_ADD, m.a->a, mk_num(k, arith(n->op, m.a->b->num, m.b->num)));
    }
    if (m.a == n->a && m.b == n->b && m.c == n->c)
        return n;
    return mk(k, m);
}

/* ---- programs -------------------------------------------------------------- */

int find_func(const program *p, const char *name)
{
    for (int i = 0; i < p->n; i++)
        if (strcmp(p->f[i].name, name) == 0)
            return i;
    return -1;
}

static int fail(const char *file, int line, const char *msg)
{
    fprintf(stderr, "%s:%d: %s\n", file, line, msg);
    return 0;
}

int parse_program(program *p, char *text, const char *file)
{
    /* First the headers, so that a body may call any function of the
     * program, defined above it or below. */
    char params[MAX_FUNCS][MAX_NAME];
    const char *bodies[MAX_FUNCS];
    int line = 0;
    p->n = 0;
    p->npool = 0;
    for (char *s = text, *next; s; s = next) {
        next = strchr(s, '\n');
        if (next)
            *next++ = '\0';
        line++;
        char *hash = strchr(s, '#');
        if (hash)
            *hash = '\0';
        parser k = {p, s, "", NULL, ""};
        skip(&k);
        if (!*k.s)
            continue;
        if (p->n == MAX_FUNCS)
            return fail(file, line, "too many functions");
        func *f = &p->f[p->n];
        memset(f, 0, sizeof *f);
        f->line = line;
        f->cold = word(&k, "cold");
        skip(&k);
        size_t n = ident_len(k.s);
        if (!n || n >= MAX_NAME || is_keyword(k.s, n))
            return fail(file, line, "expected NAME(PARAM) = EXPR");
        memcpy(f->name, k.s, n);
        k.s += n;
        if (find_func(p, f->name) >= 0)
            return fail(file, line, "a second definition of the function");
        skip(&k);
        n = punct(&k, "(") ? (skip(&k), ident_len(k.s)) : 0;
        if (!n || n >= MAX_NAME || is_keyword(k.s, n))
            return fail(file, line, "expected NAME(PARAM) = EXPR");
        snprintf(params[p->n], MAX_NAME, "%.*s", (int)n, k.s);
        k.s += n;
        if (!punct(&k, ")") || !punct(&k, "="))
            return fail(file, line, "expected NAME(PARAM) = EXPR");
        bodies[p->n++] = k.s;
    }
    for (int i = 0; i < p->n; i++) {
        parser k = {p, bodies[i], params[i], NULL, ""};
        p->f[i].body = expr(&k);
        skip(&k);
        if (!k.error && *k.s)
            k.error = "unexpected text after the expression";
        if (!k.error)
            p->f[i].folded = fold(&k, p->f[i].body);
        if (k.error) {
            fprintf(stderr, "%s:%d: %s%s%s%s\n", file, p->f[i].line, k.error,
                    k.what[0] ? " '" : "", k.what, k.what[0] ? "'" : "");
            return 0;
        }
    }
    return 1;
}
