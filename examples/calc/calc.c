/* calc: a tiny compiler that emits x86_64 machine code through elfjit's
 * builder, with traps for division by zero and out-of-bounds table reads
 * that its signal handler reports with the source position.
 *
 * A program is one function per line, of one argument x:
 *
 *     triple(x) = x * 3 + 1
 *     inverse(x) = 1000 / x
 *     lookup(x) = tab[x] + tab[x / 2]
 *
 * Expressions: integers, x, + - * /, parentheses, and tab[e] (a table of
 * 8 squares, 0..49).  Each function compiles to stack code: every value is
 * pushed, every operator pops two.  A division checks its divisor and an
 * index its bounds, with `ud2` (trap EJ_TRAP_INT_DIVIDE_BY_ZERO or
 * EJ_TRAP_OUT_OF_BOUNDS) on the failing path; the builder records each
 * trap site and the source line of each operator.
 *
 *     calc FILE [X...]     compile FILE, call every function with each X
 *                          (default 0 1 7) and print "name(x) = value" or
 *                          the trap the handler reports
 *     calc --self-test     compile a built-in program and check every
 *                          result and trap against an interpreter
 */
#include <ctype.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>

#include <elfjit/builder.h>
#include <elfjit/elfjit.h>
#include <elfjit/tables.h>

enum { TAB_LEN = 8, MAX_FUNCS = 64 };

/* ---- code buffer ----------------------------------------------------- */

typedef struct code {
    unsigned char b[4096];
    size_t n;
    int overflow;
} code;

static void emit(code *c, const void *bytes, size_t n)
{
    if (c->n + n > sizeof c->b) {
        c->overflow = 1;
        return;
    }
    memcpy(c->b + c->n, bytes, n);
    c->n += n;
}
#define EMIT(c, ...) emit(c, (const unsigned char[]){__VA_ARGS__}, sizeof((const unsigned char[]){__VA_ARGS__}))

/* What the compiler hands the builder after the code: trap sites, source
 * positions and relocations, as offsets in the function. */
typedef struct site {
    size_t off;
    int what; /* a trap code, or 0 for the table relocation */
} site;

typedef struct compiler {
    const char *p;     /* the expression being parsed */
    code c;
    site sites[256];
    size_t nsites;
    const char *error;
} compiler;

static void add_site(compiler *k, size_t off, int what)
{
    if (k->nsites < sizeof k->sites / sizeof k->sites[0])
        k->sites[k->nsites++] = (site){off, what};
    else
        k->error = "expression too long";
}

static void skip(compiler *k)
{
    while (*k->p == ' ' || *k->p == '\t')
        k->p++;
}

/* ---- parser and code generator --------------------------------------- */

static void expr(compiler *k);

static void factor(compiler *k)
{
    skip(k);
    if (isdigit((unsigned char)*k->p)) {
        long long v = strtoll(k->p, (char **)&k->p, 10);
        EMIT(&k->c, 0x48, 0xb8); /* mov rax, imm64 */
        emit(&k->c, &v, 8);
        EMIT(&k->c, 0x50); /* push rax */
    } else if (*k->p == 'x') {
        k->p++;
        EMIT(&k->c, 0x57); /* push rdi */
    } else if (*k->p == '(') {
        k->p++;
        expr(k);
        skip(k);
        if (*k->p++ != ')')
            k->error = "expected ')'";
    } else if (strncmp(k->p, "tab[", 4) == 0) {
        k->p += 4;
        expr(k);
        skip(k);
        if (*k->p++ != ']')
            k->error = "expected ']'";
        /* pop rax; cmp rax, TAB_LEN; jb ok; ud2; ok: lea rcx, [rip + tab];
         * mov rax, [rcx + rax * 8]; push rax */
        EMIT(&k->c, 0x58, 0x48, 0x83, 0xf8, TAB_LEN, 0x72, 0x02);
        add_site(k, k->c.n, EJ_TRAP_OUT_OF_BOUNDS);
        EMIT(&k->c, 0x0f, 0x0b, 0x48, 0x8d, 0x0d);
        add_site(k, k->c.n, 0);
        EMIT(&k->c, 0, 0, 0, 0, 0x48, 0x8b, 0x04, 0xc1, 0x50);
    } else {
        k->error = "expected a number, x, tab[...] or '('";
    }
}

/* pop rcx (right); pop rax (left); OP; push rax */
static void binary(compiler *k, char op)
{
    EMIT(&k->c, 0x59, 0x58);
    switch (op) {
    case '+': EMIT(&k->c, 0x48, 0x01, 0xc8); break;       /* add rax, rcx */
    case '-': EMIT(&k->c, 0x48, 0x29, 0xc8); break;       /* sub rax, rcx */
    case '*': EMIT(&k->c, 0x48, 0x0f, 0xaf, 0xc1); break; /* imul rax, rcx */
    default:
        /* test rcx, rcx; jne ok; ud2; ok: cqo; idiv rcx */
        EMIT(&k->c, 0x48, 0x85, 0xc9, 0x75, 0x02);
        add_site(k, k->c.n, EJ_TRAP_INT_DIVIDE_BY_ZERO);
        EMIT(&k->c, 0x0f, 0x0b, 0x48, 0x99, 0x48, 0xf7, 0xf9);
    }
    EMIT(&k->c, 0x50);
}

static void term(compiler *k)
{
    factor(k);
    for (skip(k); !k->error && (*k->p == '*' || *k->p == '/'); skip(k)) {
        char op = *k->p++;
        factor(k);
        binary(k, op);
    }
}

static void expr(compiler *k)
{
    term(k);
    for (skip(k); !k->error && (*k->p == '+' || *k->p == '-'); skip(k)) {
        char op = *k->p++;
        term(k);
        binary(k, op);
    }
}

/* ---- the reference interpreter (for --self-test) ---------------------- */

static const long long table[TAB_LEN] = {0, 1, 4, 9, 16, 25, 36, 49};

typedef struct interp {
    const char *p;
    long long x;
    int trap;
} interp;

static long long ie(interp *in);

static long long ifactor(interp *in)
{
    while (*in->p == ' ')
        in->p++;
    if (isdigit((unsigned char)*in->p))
        return strtoll(in->p, (char **)&in->p, 10);
    if (*in->p == 'x')
        return in->p++, in->x;
    if (*in->p == '(') {
        in->p++;
        long long v = ie(in);
        while (*in->p == ' ')
            in->p++;
        in->p++;
        return v;
    }
    in->p += 4;
    long long i = ie(in);
    while (*in->p == ' ')
        in->p++;
    in->p++;
    if (i < 0 || i >= TAB_LEN) {
        if (!in->trap)
            in->trap = EJ_TRAP_OUT_OF_BOUNDS;
        return 0;
    }
    return table[i];
}

static long long iterm(interp *in)
{
    long long v = ifactor(in);
    for (;;) {
        while (*in->p == ' ')
            in->p++;
        if (*in->p != '*' && *in->p != '/')
            return v;
        char op = *in->p++;
        long long r = ifactor(in);
        if (op == '*')
            v *= r;
        else if (r == 0 && !in->trap)
            in->trap = EJ_TRAP_INT_DIVIDE_BY_ZERO;
        else if (r != 0)
            v /= r;
    }
}

static long long ie(interp *in)
{
    long long v = iterm(in);
    for (;;) {
        while (*in->p == ' ')
            in->p++;
        if (*in->p != '+' && *in->p != '-')
            return v;
        char op = *in->p++;
        long long r = iterm(in);
        v = op == '+' ? v + r : v - r;
    }
}

/* ---- compiling a program through the builder ------------------------- */

typedef struct func {
    char name[64];
    const char *body; /* the expression, inside the program text */
    int line;
} func;

static int check(ej_builder *b, ej_status st)
{
    if (st != EJ_OK)
        fprintf(stderr, "calc: %s\n", ej_builder_errmsg(b));
    return st == EJ_OK;
}

/* One source line "name(x) = expr" into the builder. */
static int compile_line(ej_builder *b, const char *file, func *f, uint32_t tab)
{
    compiler k = {.p = f->body};
    expr(&k);
    skip(&k);
    if (!k.error && *k.p && *k.p != '\n')
        k.error = "unexpected text after the expression";
    EMIT(&k.c, 0x58, 0xc3); /* pop rax; ret */
    if (k.error || k.c.overflow) {
        fprintf(stderr, "calc: %s:%d: %s\n", file, f->line, k.error ? k.error : "too long");
        return 0;
    }
    uint32_t id;
    if (!check(b, ej_builder_add_function(b, f->name, k.c.b, k.c.n, 16, EJ_BIND_GLOBAL, &id)))
        return 0;
    /* CFA stays rsp + 8 only at the edges; stack code moves rsp freely, so
     * no unwind rules are given (the default CIE covers entry and exit). */
    if (!check(b, ej_builder_add_srcloc(b, id, 0, file, (uint32_t)f->line)))
        return 0;
    for (size_t i = 0; i < k.nsites; i++) {
        ej_status st = k.sites[i].what
                           ? ej_builder_add_trap(b, id, k.sites[i].off, (uint32_t)k.sites[i].what)
                           : ej_builder_add_reloc(b, id, k.sites[i].off, EJ_RELOC_PCREL32, tab, -4);
        if (!check(b, st))
            return 0;
    }
    return 1;
}

/* Splits TEXT into "name(x) = expr" lines. */
static int parse_program(char *text, func *fs, int *n)
{
    int line = 0;
    *n = 0;
    for (char *s = strtok(text, "\n"); s; s = strtok(NULL, "\n")) {
        line++;
        while (*s == ' ')
            s++;
        if (!*s || *s == '#')
            continue;
        char *open = strstr(s, "(x)"), *eq = strchr(s, '=');
        if (!open || !eq || open > eq || open - s >= 63 || *n == MAX_FUNCS) {
            fprintf(stderr, "calc: line %d: expected NAME(x) = EXPR\n", line);
            return 0;
        }
        func *f = &fs[(*n)++];
        memcpy(f->name, s, (size_t)(open - s));
        f->name[open - s] = '\0';
        f->body = eq + 1;
        f->line = line;
    }
    return 1;
}

static ej_module *compile_program(const char *file, func *fs, int n)
{
    ej_builder *b;
    uint32_t tab;
    ej_module *m = NULL;
    if (ej_builder_create(&b, 0) != EJ_OK)
        return NULL;
    int ok = check(b, ej_builder_add_data(b, "tab", EJ_DATA_RODATA, table, sizeof table, 8,
                                          EJ_BIND_LOCAL, &tab));
    for (int i = 0; ok && i < n; i++)
        ok = compile_line(b, file, &fs[i], tab);
    void *image;
    size_t len;
    if (ok && check(b, ej_builder_finish(b, &image, &len))) {
        ej_linker *lk;
        if (ej_linker_create(&lk) == EJ_OK) {
            if (ej_linker_add_buffer(lk, file, image, len) != EJ_OK ||
                ej_linker_link(lk, &m) != EJ_OK)
                fprintf(stderr, "calc: %s\n", ej_linker_errmsg(lk));
            ej_linker_free(lk);
        }
        free(image);
    }
    ej_builder_free(b);
    return m;
}

/* ---- running, with traps caught ---------------------------------------- */

static sigjmp_buf recover;
static volatile sig_atomic_t trapped_code;
static char trap_where[256];

/* Async-signal-safe: ej_lookup_pc neither locks nor allocates.  The line
 * is formatted after siglongjmp, outside the handler. */
static void on_sigill(int sig, siginfo_t *si, void *ctx)
{
    (void)sig;
    (void)si;
    ej_pc_info pi;
    uint64_t pc = ej_signal_pc(ctx);
    if (!ej_lookup_pc(pc, &pi) || !pi.has_trap) {
        signal(SIGILL, SIG_DFL);
        return;
    }
    trapped_code = (sig_atomic_t)pi.trap_code;
    /* Copy the position out while the module is certainly alive. */
    size_t n = 0;
    for (const char *s = pi.function; s && *s && n < 100; s++)
        trap_where[n++] = *s;
    trap_where[n++] = '\t';
    for (const char *s = pi.file; s && *s && n < 200; s++)
        trap_where[n++] = *s;
    trap_where[n] = '\0';
    trapped_code |= (sig_atomic_t)(pi.line << 16);
    siglongjmp(recover, 1);
}

/* Calls F(X): 1 and *V on success, 0 and the trap code in *TRAP. */
static int call(long long (*f)(long long), long long x, long long *v, int *trap, int *line)
{
    if (sigsetjmp(recover, 1)) {
        *trap = trapped_code & 0xffff;
        *line = (int)((unsigned)trapped_code >> 16);
        return 0;
    }
    *v = f(x);
    return 1;
}

static int run_program(ej_module *m, func *fs, int n, const long long *xs, int nx, int self_test)
{
    int failures = 0;
    for (int i = 0; i < n; i++) {
        long long (*f)(long long) = (long long (*)(long long))ej_module_symbol(m, fs[i].name);
        for (int j = 0; j < nx; j++) {
            long long v = 0;
            int trap = 0, line = 0;
            if (call(f, xs[j], &v, &trap, &line))
                printf("%s(%lld) = %lld\n", fs[i].name, xs[j], v);
            else
                printf("%s(%lld): trap: %s in %s (line %d)\n", fs[i].name, xs[j],
                       ej_trap_name((uint32_t)trap), strtok(trap_where, "\t"), line);
            if (self_test) {
                interp in = {fs[i].body, xs[j], 0};
                long long want = ie(&in);
                int good = in.trap ? trap == in.trap && line == fs[i].line : !trap && v == want;
                if (!good) {
                    printf("  MISMATCH: the interpreter says %s %lld\n",
                           in.trap ? ej_trap_name((uint32_t)in.trap) : "", want);
                    failures++;
                }
            }
        }
    }
    return failures;
}

static const char builtin[] = "triple(x) = x * 3 + 1\n"
                              "poly(x) = (x - 2) * (x + 5) - 7 * x\n"
                              "inverse(x) = 1000 / x\n"
                              "lookup(x) = tab[x] + tab[x / 2]\n"
                              "nested(x) = 100 / (tab[x] - 4)\n";

int main(int argc, char **argv)
{
    int self_test = argc > 1 && strcmp(argv[1], "--self-test") == 0;
    if (argc < 2) {
        fprintf(stderr, "usage: calc FILE [X...] | calc --self-test\n");
        return 2;
    }
    static char text[65536];
    const char *file = self_test ? "builtin.calc" : argv[1];
    if (self_test) {
        memcpy(text, builtin, sizeof builtin);
    } else {
        FILE *in = fopen(argv[1], "r");
        size_t len = in ? fread(text, 1, sizeof text - 1, in) : 0;
        if (!in) {
            perror(argv[1]);
            return 1;
        }
        fclose(in);
        text[len] = '\0';
    }
    static func fs[MAX_FUNCS];
    int n;
    if (!parse_program(text, fs, &n))
        return 1;
    ej_module *m = compile_program(file, fs, n);
    if (!m)
        return 1;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_sigill;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGILL, &sa, NULL);
    long long xs[16] = {0, 1, 7, 2, -3, 9};
    int nx = self_test ? 6 : 3;
    for (int i = 2; !self_test && i < argc && i - 2 < 16; i++)
        xs[i - 2] = strtoll(argv[i], NULL, 10), nx = i - 1;
    int failures = run_program(m, fs, n, xs, nx, self_test);
    ej_module_free(m);
    if (self_test)
        printf("%s\n", failures ? "self-test FAILED" : "self-test passed");
    return failures != 0;
}
