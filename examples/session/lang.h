/* The example's language: one function of one 64-bit integer parameter
 * per line, calling each other by name.
 *
 *     sq(x) = x * x
 *     fib(n) = if n < 2 then n else fib(n - 1) + fib(n - 2)
 *     cold even(n) = if n == 0 then 1 else odd(n - 1)
 *
 * Expressions: decimal integers, the parameter, + - * (wrapping, as the
 * machine does it), unary -, < and == (1 or 0), if-then-else (any value
 * but 0 is true), calls f(e) to any function of the program, parentheses.
 * `cold` marks a function to compile on its first call.  # starts a
 * comment.
 *
 * This file's part: the parser (text to trees), the reference interpreter
 * the self-test checks compiled code against, and the optimiser
 * (constant folding) that makes the second version of a function. */
#ifndef SESSION_LANG_H
#define SESSION_LANG_H

#include <stdint.h>

enum { MAX_FUNCS = 64, MAX_NODES = 16384, MAX_NAME = 48 };

typedef enum op {
    OP_NUM,  /* num */
    OP_ARG,  /* the parameter */
    OP_ADD,  /* a + b */
    OP_SUB,  /* a - b */
    OP_MUL,  /* a * b */
    OP_LT,   /* a < b */
    OP_EQ,   /* a == b */
    OP_IF,   /* if a then b else c */
    OP_CALL  /* callee(a) */
} op;

typedef struct node {
    op op;
    int64_t num;
    int callee;                 /* OP_CALL: the function's index */
    const struct node *a, *b, *c;
} node;

typedef struct func {
    char name[MAX_NAME];
    int cold;                   /* compiled on its first call */
    int line;
    const node *body;           /* as written */
    const node *folded;         /* after constant folding */
} func;

typedef struct program {
    func f[MAX_FUNCS];
    int n;
    node pool[MAX_NODES];       /* every node of both versions */
    int npool;
} program;

/* Parses TEXT (modified: split into lines) into P, folded versions
 * included.  0 with a message "FILE:LINE: ..." on stderr on error. */
int parse_program(program *p, char *text, const char *file);

/* The index of the function NAME, or -1. */
int find_func(const program *p, const char *name);

/* What function FI of P returns for X, computed from its tree. */
int64_t interpret(const program *p, int fi, int64_t x);

#endif
