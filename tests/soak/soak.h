/* The soak: shared declarations of its three parts.
 *
 *   soak.c    options, threads, the operations of a worker (link, call,
 *             trap, look up, hand over, free), the trap handler, the final
 *             checks and the report;
 *   jit.c     machine code for builder-made modules (x86_64, aarch64,
 *             riscv64) and what each function must do when called;
 *   oracle.c  the ring of module records every thread can read, and the
 *             verdict on one ej_lookup_pc answer.
 *
 * See README.md for what is checked and why. */
#ifndef SOAK_H
#define SOAK_H

#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "elfjit/builder.h"
#include "elfjit/elfjit.h"
#include "elfjit/tables.h"

enum {
    MAX_FUNCS = 16, /* functions one module describes (builder and C) */
    NPROBE = 24,    /* addresses with a known answer, per record */
    NCALL = 12,     /* calls with a known outcome, per record */
    RING = 1024     /* records: live modules and recently freed ones */
};

/* ---- random numbers (one state per thread; xorshift64*) ---- */
typedef struct rng {
    uint64_t s;
} rng;

static inline uint64_t rnd(rng *r)
{
    uint64_t x = r->s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    r->s = x;
    return x * 0x2545f4914f6cdd1dull;
}

/* A uniform value in [0, n), n > 0. */
static inline uint64_t rnd_below(rng *r, uint64_t n)
{
    return rnd(r) % n;
}

/* ---- what a function does ---- */
typedef enum fkind {
    FK_CONST,  /* returns a constant */
    FK_LOAD,   /* returns a 32-bit data object, reached through its GOT slot */
    FK_CALL,   /* returns callee(arg) + 1; the callee is in the same object */
    FK_CALLX,  /* the same through an import (another object of the link) */
    FK_ILL,    /* arg != 0: an illegal instruction (SIGILL); else a constant */
    FK_BRK,    /* arg != 0: a breakpoint (int3 / brk / ebreak, SIGTRAP) */
    FK_SEGV,   /* arg != 0: loads from the address arg (SIGSEGV) */
    FK_FPE,    /* arg != 0: divides by zero (x86_64 only: SIGFPE) */
    FK_C,      /* a function of a C fixture (see fixtures/fx.h) */
    FK_COUNT
} fkind;

/* C fixture functions the soak calls (fixtures/fx.h says what each does). */
typedef enum cfn {
    C_NONE,
    C_FX1_POLY,
    C_FX1_NULL,
    C_FX1_TRAP,
    C_FX1_DIV,
    C_FX1_SORT,
    C_FXA_SUM,
    C_FXB_CRASH,
    C_FXC_TRAP,
    C_FXC_LOOKUP,
    C_FXA_WALK /* unwinds through its own frames; called separately */
} cfn;

typedef struct fspec {
    char name[40];
    fkind kind;
    cfn c;             /* FK_C: which fixture function */
    int obj;           /* the object (builder image or fixture) holding it */
    int global;        /* exported (ej_module_symbol finds it) */
    uint32_t value;    /* the constant (FK_CONST and the trap kinds) */
    int callee;        /* FK_CALL/FK_CALLX: index in the module's list */
    uint32_t site;     /* builder trap kinds: offset of the faulting insn */
    uint32_t after;    /* ...the instruction after it */
    uint32_t code;     /* ...and its trap code */
    uint32_t len;      /* builder: code length */
    char file[32];     /* builder: source position of the function... */
    uint32_t line;     /* ...at offset 0, and line + 1 at the trap site */
    uintptr_t addr;    /* after linking (0: not exported) */
} fspec;

/* The outcome of calling a function with an argument. */
typedef struct outcome {
    int traps;       /* 1: it traps in function FN */
    int fn;          /* index of the trapping function */
    uint32_t value;  /* 0: its return value */
    unsigned sigs;   /* 1: the signals it may raise (bit per signal number) */
} outcome;

#define SIGBIT(s) (1u << (s))

/* ---- the module record ring (oracle.c) ---- */

enum { REC_EMPTY, REC_LINKING, REC_LIVE, REC_RETIRING, REC_FREED };

/* An address whose lookup answer is known (from the module itself, checked
 * against the builder's description where there is one). */
typedef struct probe {
    _Atomic uint64_t pc, func, faddr, trap, file, line;
} probe;

/* A call any thread may make while it holds a pin on the record. */
typedef struct callrec {
    _Atomic uint64_t addr, arg;
    _Atomic uint64_t traps, value, sigs;
    _Atomic uint64_t func;   /* trap: the function name pointer (from lookup) */
    _Atomic uint64_t faddr;  /* ...its first byte */
    _Atomic uint64_t trappc; /* ...the trapping pc (0: anywhere in it) */
    _Atomic uint64_t trap;   /* ...has_trap << 32 | trap code */
    _Atomic uint64_t file, line; /* ...its source position (pointer, line) */
} callrec;

/* One module instance, from claim to free.  Fields are atomics: the slot
 * is reused, and readers validate what they read with SEQ (even: stable;
 * odd: being rewritten), as a sequence lock made of atomics only. */
typedef struct rec {
    _Atomic uint64_t busy; /* claimed: from ring_claim until FREED */
    _Atomic uint64_t seq, id, state;
    _Atomic uint64_t module, start, end;
    _Atomic uint64_t t_link, t_live, t_free, t_freed; /* ticks; 0: not yet */
    _Atomic uint64_t pins;                            /* callers inside */
    _Atomic uint64_t nprobe, ncall;
    probe p[NPROBE];
    callrec c[NCALL];
} rec;

/* A copy of a record's fields (those that stay put while it is LIVE). */
typedef struct snap {
    rec *r;
    uint64_t seq, id, state, module, start, end, t_link, t_live;
    uint64_t nprobe, ncall;
} snap;

/* Verdicts on one lookup. */
typedef enum verdict {
    V_HIT,          /* found, and consistent with a module live at the time */
    V_MISS,         /* not found, and no module had to be found */
    V_UNKNOWN,      /* cannot be judged (a record it needed was reused) */
    V_BAD_MISSING,  /* a module live all along was not found */
    V_BAD_WRONG,    /* found, but the answer matches no live module */
    V_BAD_FREED,    /* found a module whose ej_module_free had returned */
    V_BAD_FOREIGN   /* found an address that no module ever had */
} verdict;

/* What a bad verdict was about (for the message). */
typedef struct vreport {
    verdict v;
    int foreign; /* the address was one no module can hold */
    uint64_t pc, t0, t1;
    int found;
    ej_pc_info pi;
    uint64_t hint_id, hint_module, hint_t_live, hint_t_free, hint_t_freed;
} vreport;

/* Plain copies of a probe and a call, for ring_publish. */
typedef struct probe_v {
    uint64_t pc, func, faddr, trap, file, line;
} probe_v;
typedef struct call_v {
    uint64_t addr, arg, traps, value, sigs, func, faddr, trappc, trap, file, line;
} call_v;

/* The soak's clock: a shared counter, one step per call (seq_cst), so that
 * "A's tick is below B's" orders A before B. */
uint64_t tick(void);
/* A free slot in state LINKING (T_LINK stamped), or NULL when every slot
 * is in use; *ID its instance id. */
rec *ring_claim(uint64_t *id);
/* LIVE: module M at [START, END), with its probes and calls. */
void ring_publish(rec *r, ej_module *m, uint64_t start, uint64_t end, const probe_v *p,
                  size_t np, const call_v *c, size_t nc);
void ring_fail(rec *r);
void ring_retire(rec *r);
void ring_freed(rec *r);
int ring_snap(rec *r, snap *s);
rec *ring_slot(size_t i);
/* Keeps the instance S was taken from from being freed: 1 when pinned (it
 * was still LIVE), 0 otherwise.  ring_unpin undoes a successful pin. */
int ring_pin(const snap *s);
void ring_unpin(rec *r);
/* Reads call K of the pinned record R. */
void ring_call(rec *r, size_t k, call_v *out);
/* Checks one answer: PC looked up between ticks T0 and T1, FOUND and *PI
 * what ej_lookup_pc said; HINT (may be NULL) the record PC came from, PROBE
 * the index of its probe (-1: any address in it).  WAIT: may wait for
 * links in progress to finish (never in a signal handler). */
verdict oracle_judge(uint64_t pc, uint64_t t0, uint64_t t1, int found, const ej_pc_info *pi,
                     const snap *hint, int pidx, int wait, vreport *rep);
/* One lookup of a random address of a random record, judged.  FOREIGN:
 * addresses no module can have, tried now and then (NFOREIGN of them). */
verdict oracle_lookup_random(rng *g, int wait, const uint64_t *foreign, size_t nforeign,
                             vreport *rep);
/* The number of records ever claimed. */
uint64_t ring_claimed(void);

/* ---- builder modules (jit.c) ---- */

/* Fills SPEC (N functions) for a builder image of object OBJ, with names
 * prefixed by PREFIX; CALLX functions may call any global function with an
 * index below FIRST (other objects already described).  Returns how many
 * functions it added. */
int jit_describe(rng *g, fspec *spec, int first, int room, int obj, const char *prefix);
/* Writes object OBJ's functions of SPEC[0..N) (those with .obj == OBJ) into
 * an ELF image through the builder, with a data object PREFIX "data" that
 * holds DATA_VALUE (what FK_LOAD returns).  0 on success, else -1 and a message
 * in ERR. */
int jit_emit(rng *g, fspec *spec, int n, int obj, const char *prefix, uint32_t data_value,
             void **image, size_t *len, char *err, size_t errlen);
/* The outcome of calling SPEC[I] with ARG; DATA_VALUES[obj] is what the
 * data object of builder object OBJ holds. */
outcome jit_eval(const fspec *spec, int n, int i, uintptr_t arg, const uint32_t *data_values);
/* The signal a builder trap kind raises. */
uint32_t jit_signal(fkind k);
int jit_is_trap(fkind k);
int jit_arch_has_fpe(void);

#endif
