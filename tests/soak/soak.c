/* soak: threads linking, calling, trapping in, looking up and unloading
 * modules, for a while, checking every answer (see README.md).
 *
 *   soak [--seconds S] [--threads N] [--lookup-threads M] [--seed X]
 *        [--max-live K] [--no-perf] [--progress P] [--stall T]
 *        [--fixtures DIR] [--quiet]
 *
 * Exit status: 0 when every check held, 1 on any inconsistency, 2 on bad
 * usage, 3 when a thread stopped making progress (a hang). */
#include <dirent.h>
#include <errno.h>
#include <execinfo.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "fixtures/fx.h"
#include "soak.h"

#ifndef SOAK_FIXTURE_DIR
#define SOAK_FIXTURE_DIR "."
#endif

extern char **environ;

/* GDB's JIT interface (the layout its documentation fixes): every module
 * registered with EJ_REGISTER_GDB is an entry until it is freed. */
struct jit_descriptor {
    uint32_t version, action_flag;
    void *relevant_entry, *first_entry;
};
extern struct jit_descriptor __jit_debug_descriptor;

/* ---- options and global state ---- */

static struct {
    double seconds;
    int threads, lookup_threads, max_live, perf, quiet;
    double progress, stall;
    uint64_t seed;
    const char *fixtures;
} opt = {180, 4, 2, 3, 1, 0, 30, 120, 0, SOAK_FIXTURE_DIR};

static atomic_int stop;
static atomic_ulong nerrors;
static uintptr_t guard; /* a PROT_NONE page: the trapping argument */
static uint64_t foreign[8];
static size_t nforeign;
static void *fixture_buf[4];
static size_t fixture_len[4];
static char fixture_path[4][4096];
enum { FX_ONE, FX_A, FX_B, FX_C };
static const char *const fixture_names[4] = {"fx_one.o", "fx_a.o", "fx_b.o", "fx_c.o"};

static pthread_mutex_t print_lock = PTHREAD_MUTEX_INITIALIZER;

static void report(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void report(const char *fmt, ...)
{
    unsigned long n = atomic_fetch_add(&nerrors, 1);
    if (n >= 40)
        return;
    va_list ap;
    va_start(ap, fmt);
    pthread_mutex_lock(&print_lock);
    fputs("soak: ERROR: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    if (n == 39)
        fputs("soak: (further errors are counted, not printed)\n", stderr);
    pthread_mutex_unlock(&print_lock);
    va_end(ap);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- counters ---- */

enum { MK_B1, MK_B2, MK_BC, MK_C1, MK_C3, MK_COUNT };
static const char *const mk_names[MK_COUNT] = {"builder", "builder x2", "builder+C", "C",
                                               "C x3"};

typedef struct counts {
    uint64_t links[MK_COUNT], objects, link_refused, inits, frees, adopted, handed;
    uint64_t calls, calls_foreign, traps, traps_foreign, trap_sig[32], unwinds, unwinds_deep;
    uint64_t lookups, hits, misses, unknown, foreign, own_lookups, after_free, after_free_other;
    uint64_t reg_gdb, reg_unwind, reg_perf, reg_jitdump, ring_full;
    uint64_t cm_auto, cm_mprotect, cm_dual, module_lookups;
} counts;

/* Counted by the SIGUSR1 handler, on its own thread only. */
typedef struct hcounts {
    volatile uint64_t lookups, hits, misses, unknown, foreign, bad;
} hcounts;

/* ---- per-thread state the signal handlers use ---- */

typedef struct trapinfo {
    int sig;
    uint64_t pc; /* the address looked up (int3: the instruction itself) */
    int found;
    ej_pc_info pi;
} trapinfo;

typedef struct tctx {
    sigjmp_buf jb;
    volatile sig_atomic_t armed; /* inside a call into loaded code */
    trapinfo ti;
    int role; /* 0: none; 1: worker or lookup thread (pokes do lookups) */
    rng hrng; /* the SIGUSR1 handler's own random numbers */
    hcounts hc;
    volatile sig_atomic_t pending; /* a bad verdict in the handler, to print */
    vreport prep;
    /* soak_host_unwind's findings */
    int unwind_count, unwind_beyond;
} tctx;

static _Thread_local tctx tls;

static uint64_t interrupted_pc(const ucontext_t *uc)
{
#if defined(__x86_64__)
    return (uint64_t)uc->uc_mcontext.gregs[REG_RIP];
#elif defined(__aarch64__)
    return uc->uc_mcontext.pc;
#elif defined(__riscv)
    return uc->uc_mcontext.__gregs[REG_PC];
#else
#error "soak: no program counter in ucontext_t for this machine"
#endif
}

static void put_hex(char *buf, size_t *n, uint64_t v)
{
    char tmp[16];
    int k = 0;
    do {
        tmp[k++] = "0123456789abcdef"[v & 15];
        v >>= 4;
    } while (v);
    buf[(*n)++] = '0';
    buf[(*n)++] = 'x';
    while (k)
        buf[(*n)++] = tmp[--k];
}

/* SIGILL, SIGSEGV, SIGBUS, SIGFPE, SIGTRAP.  In a call into loaded code:
 * the fault is looked up (this never interrupts a lookup: lookups are made
 * only outside such calls, see soak_host_unwind and on_poke), then the
 * call is abandoned with siglongjmp.  Anywhere else it is a crash of the
 * soak or of elfjit: say where, and die of the signal. */
static void on_fault(int sig, siginfo_t *si, void *ctx)
{
    (void)si;
    tctx *t = &tls;
    uint64_t pc = interrupted_pc(ctx);
#if defined(__x86_64__)
    if (sig == SIGTRAP)
        pc -= 1; /* int3 reports the instruction after it */
#endif
    if (t->armed) {
        t->armed = 0;
        t->ti.sig = sig;
        t->ti.pc = pc;
        t->ti.found = ej_lookup_pc(pc, &t->ti.pi);
        siglongjmp(t->jb, 1);
    }
    char buf[128];
    size_t n = 0;
    const char *m = "soak: FATAL: signal outside loaded code, pc ";
    while (*m)
        buf[n++] = *m++;
    put_hex(buf, &n, pc);
    buf[n++] = '\n';
    ssize_t w = write(STDERR_FILENO, buf, n);
    (void)w;
    signal(sig, SIG_DFL);
    raise(sig); /* blocked until the handler returns, then fatal */
}

static void on_poke(int sig)
{
    (void)sig;
    int saved = errno;
    tctx *t = &tls;
    if (t->role) {
        sig_atomic_t armed = t->armed;
        t->armed = 0; /* a fault in here must not be taken for the call's */
        vreport rep;
        verdict v = oracle_lookup_random(&t->hrng, 0, foreign, nforeign, &rep);
        t->hc.lookups++;
        t->hc.foreign += rep.foreign;
        if (v == V_HIT)
            t->hc.hits++;
        else if (v == V_MISS)
            t->hc.misses++;
        else if (v == V_UNKNOWN)
            t->hc.unknown++;
        else {
            t->hc.bad++;
            if (!t->pending) {
                t->prep = rep;
                t->pending = 1;
            }
        }
        t->armed = armed;
    }
    errno = saved;
}

static int install_handlers(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_fault;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, SIGUSR1);
    static const int sigs[] = {SIGILL, SIGSEGV, SIGBUS, SIGFPE, SIGTRAP};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        if (sigaction(sigs[i], &sa, NULL) != 0)
            return -1;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_poke;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    return sigaction(SIGUSR1, &sa, NULL);
}

/* Calls FN(ARG) with traps caught: 0 and *RET, or 1 and the trap in tls.ti. */
static int call_guarded(uintptr_t fn, uintptr_t arg, uint32_t *ret)
{
    tctx *t = &tls;
    if (sigsetjmp(t->jb, 1))
        return 1;
    t->armed = 1;
    uint32_t v = ((uint32_t(*)(uintptr_t))fn)(arg);
    t->armed = 0;
    *ret = v;
    return 0;
}

/* ---- host functions the fixtures call (through the resolver) ---- */

typedef struct inst inst;

static atomic_ulong orphan_notes;

void soak_host_note(int what, long cookie)
{
    int *notes = (int *)(uintptr_t)cookie;
    if (!notes || what < 1 || what > 3)
        atomic_fetch_add(&orphan_notes, 1);
    else
        notes[what]++;
}

/* How many frames of the calling module the unwinder walks through, and
 * whether it comes out of them into the host again. */
int soak_host_unwind(void)
{
    tctx *t = &tls;
    sig_atomic_t armed = t->armed;
    t->armed = 0; /* lookups below: a fault in one must not longjmp */
    void *pcs[64];
    int n = backtrace(pcs, 64);
    ej_module *mod = NULL;
    int count = 0, last = -1;
    for (int i = 1; i < n; i++) {
        ej_pc_info pi;
        if (ej_lookup_pc((uint64_t)(uintptr_t)pcs[i] - 1, &pi)) {
            if (!mod)
                mod = pi.module;
            if (pi.module == mod) {
                count++;
                last = i;
            }
        }
    }
    t->unwind_count = count;
    t->unwind_beyond = last >= 0 ? n - 1 - last : 0;
    t->armed = armed;
    return count;
}

static void *resolve(void *ctx, const char *name)
{
    (void)ctx;
    if (strcmp(name, "soak_host_note") == 0)
        return (void *)(uintptr_t)soak_host_note;
    if (strcmp(name, "soak_host_unwind") == 0)
        return (void *)(uintptr_t)soak_host_unwind;
    return NULL;
}

/* ---- module instances ---- */

struct inst {
    ej_module *m;
    rec *r;
    uint64_t id;
    int kind;
    unsigned reg;
    int inited, has_ctor, has_atexit;
    int notes[4]; /* soak_host_note: [1] constructor, [2] destructor, [3] atexit */
    int n;
    fspec f[MAX_FUNCS];
    uint32_t data[3];
    uintptr_t walk, state_fn;
    uint64_t start, end;
    call_v calls[2 * MAX_FUNCS + 4];
    int ncalls;
    probe_v probes[NPROBE];
    int nprobes;
};

static void add_c(inst *in, int obj, const char *name, cfn c)
{
    fspec *f = &in->f[in->n++];
    memset(f, 0, sizeof *f);
    snprintf(f->name, sizeof f->name, "%s", name);
    f->kind = FK_C;
    f->c = c;
    f->obj = obj;
    f->global = 1;
    f->callee = -1;
}

static int add_fixture(ej_linker *lk, rng *g, int which)
{
    if (rnd_below(g, 2))
        return ej_linker_add_file(lk, fixture_path[which]) == EJ_OK;
    return ej_linker_add_buffer(lk, fixture_names[which], fixture_buf[which],
                                fixture_len[which]) == EJ_OK;
}

static unsigned pick_registration(rng *g)
{
    unsigned r;
    switch (rnd_below(g, 20)) {
    case 0: r = 0; break;
    case 1:
    case 2: r = EJ_REGISTER_GDB; break;
    case 3:
    case 4:
    case 5: r = EJ_REGISTER_UNWIND; break;
    default: r = EJ_REGISTER_DEFAULT;
    }
    if (opt.perf && rnd_below(g, 32) == 0)
        r |= EJ_REGISTER_PERF_MAP;
    if (opt.perf && rnd_below(g, 64) == 0)
        r |= EJ_REGISTER_JITDUMP;
    return r;
}

/* Finds where the local (unexported) functions of IN landed by looking up
 * the image's addresses, one instruction at a time, from its start. */
static void find_locals(inst *in)
{
    int missing = 0;
    for (int i = 0; i < in->n; i++)
        missing += !in->f[i].addr;
    unsigned step = 1;
#if !defined(__x86_64__)
    step = 2;
#endif
    for (uint64_t pc = in->start; missing && pc < in->end; pc += step) {
        ej_pc_info pi;
        if (!ej_module_lookup_pc(in->m, pc, &pi) || !pi.function || pi.function_addr != pc)
            continue;
        for (int i = 0; i < in->n; i++)
            if (!in->f[i].addr && strcmp(in->f[i].name, pi.function) == 0) {
                in->f[i].addr = pc;
                missing--;
            }
    }
}

static int c_name_ok(const char *got, const char *want)
{
    size_t n = strlen(want);
    return got && strncmp(got, want, n) == 0 && (got[n] == '\0' || strcmp(got + n, ".cold") == 0);
}

/* The module's own map against its description: names, addresses, trap
 * sites and codes, source positions.  Fills probes as it goes. */
static void validate_map(inst *in, rng *g)
{
    in->nprobes = 0;
    for (int i = 0; i < in->n; i++) {
        fspec *f = &in->f[i];
        if (!f->addr) {
            report("module #%" PRIu64 ": local function %s not found in its own map", in->id,
                   f->name);
            continue;
        }
        ej_pc_info pi;
        uint64_t pcs[3] = {f->addr, f->addr + f->site, f->addr + f->after};
        int npcs = f->kind == FK_C ? 1 : jit_is_trap(f->kind) ? 3 : 1;
        if (f->kind == FK_C) {
            pcs[1] = f->addr + 1;
            npcs = 2;
        }
        for (int k = 0; k < npcs; k++) {
            if (!ej_module_lookup_pc(in->m, pcs[k], &pi)) {
                report("module #%" PRIu64 ": %s+%#" PRIx64 " not in its own range", in->id,
                       f->name, pcs[k] - f->addr);
                continue;
            }
            int trap_here = f->kind != FK_C && jit_is_trap(f->kind) && k == 1;
            uint32_t want_line = f->kind == FK_C ? 0 : f->line + (trap_here ? 1u : 0u);
            const char *want_file = f->kind == FK_C ? NULL : f->file;
            int ok = pi.module == in->m && pi.function && strcmp(pi.function, f->name) == 0 &&
                     pi.function_addr == f->addr && pi.offset == pcs[k] - f->addr &&
                     pi.has_trap == trap_here && (!trap_here || pi.trap_code == f->code) &&
                     (want_file ? pi.file && strcmp(pi.file, want_file) == 0 : !pi.file) &&
                     pi.line == want_line;
            if (!ok)
                report("module #%" PRIu64 " (%s): lookup of %s+%#" PRIx64
                       " says %s+%#" PRIx64 " at %#" PRIx64 ", trap %d/%u, %s:%u; "
                       "expected trap %d/%u, %s:%u",
                       in->id, mk_names[in->kind], f->name, pcs[k] - f->addr,
                       pi.function ? pi.function : "(none)", pi.offset, pi.function_addr,
                       pi.has_trap, pi.trap_code, pi.file ? pi.file : "-", pi.line, trap_here,
                       trap_here ? f->code : 0, want_file ? want_file : "-", want_line);
            if (in->nprobes < NPROBE - 4)
                in->probes[in->nprobes++] = (probe_v){
                    pcs[k], (uint64_t)(uintptr_t)pi.function, pi.function_addr,
                    pi.has_trap ? (1ull << 32 | pi.trap_code) : 0, (uint64_t)(uintptr_t)pi.file,
                    pi.line};
        }
    }
    /* and a few addresses anywhere in the image (text, data, bss, GOT) */
    while (in->nprobes < NPROBE && in->end > in->start) {
        uint64_t pc = in->start + rnd_below(g, in->end - in->start);
        ej_pc_info pi;
        if (!ej_module_lookup_pc(in->m, pc, &pi) || pi.module != in->m) {
            report("module #%" PRIu64 ": %#" PRIx64 " inside [%#" PRIx64 ", %#" PRIx64
                   ") not found by ej_module_lookup_pc",
                   in->id, pc, in->start, in->end);
            break;
        }
        if (pi.function && pi.function_addr + pi.offset != pc)
            report("module #%" PRIu64 ": %#" PRIx64 " = %s+%#" PRIx64 " at %#" PRIx64, in->id, pc,
                   pi.function, pi.offset, pi.function_addr);
        in->probes[in->nprobes++] =
            (probe_v){pc, (uint64_t)(uintptr_t)pi.function, pi.function_addr,
                      pi.has_trap ? (1ull << 32 | pi.trap_code) : 0,
                      (uint64_t)(uintptr_t)pi.file, pi.line};
    }
}

/* What calling function I with ARG must do, as a call anyone may make. */
static void make_call(inst *in, int i, uintptr_t arg)
{
    if (in->ncalls >= (int)(sizeof in->calls / sizeof in->calls[0]))
        return;
    outcome o = jit_eval(in->f, in->n, i, arg, in->data);
    call_v c = {.addr = in->f[i].addr, .arg = arg, .traps = (uint64_t)o.traps,
                .value = o.value, .sigs = o.sigs};
    if (o.traps) {
        const fspec *t = &in->f[o.fn];
        uint64_t pc = t->kind == FK_C ? t->addr : t->addr + t->site;
        ej_pc_info pi;
        if (!ej_module_lookup_pc(in->m, pc, &pi))
            return; /* validate_map said so already */
        c.func = (uint64_t)(uintptr_t)pi.function;
        c.faddr = pi.function_addr;
        c.trappc = t->kind == FK_C ? 0 : pc;
        c.trap = pi.has_trap ? (1ull << 32 | pi.trap_code) : 0;
        c.file = (uint64_t)(uintptr_t)pi.file;
        c.line = t->kind == FK_C ? 0 : pi.line;
    }
    in->calls[in->ncalls++] = c;
}

typedef struct worker {
    int idx;
    pthread_t th;
    rng g;
    inst *own[16];
    int nown;
    counts c;
    _Atomic uint64_t beat;
    atomic_int op;
    atomic_int done;
    int lookup_only;
} worker;

enum { OP_IDLE, OP_LINK, OP_CALL, OP_FOREIGN, OP_LOOKUP, OP_FREE, OP_HANDOFF, OP_UNWIND,
       OP_REFUSE, OP_INIT, OP_COUNT };
static const char *const op_names[OP_COUNT] = {"idle",   "link",    "call",   "foreign call",
                                               "lookup", "free",    "handoff", "unwind",
                                               "refused link", "init"};

static void do_init(worker *w, inst *in)
{
    static char arg0[] = "soak";
    static char *argv[] = {arg0, NULL};
    if (ej_module_init(in->m, 1, argv, environ) != EJ_OK) {
        report("module #%" PRIu64 ": ej_module_init: %s", in->id, ej_module_errmsg(in->m));
        return;
    }
    w->c.inits += !in->inited; /* (a second init runs nothing) */
    in->inited = 1;
    if (in->notes[1] != 1)
        report("module #%" PRIu64 " (%s): constructor ran %d times at init", in->id,
               mk_names[in->kind], in->notes[1]);
    uint32_t v = 0;
    if (call_guarded(in->state_fn, 0, &v) || v != 0x5eed)
        report("module #%" PRIu64 ": state after the constructor is %#x", in->id, v);
}

/* Links a new module of a random kind; NULL when none could be. */
static inst *link_module(worker *w)
{
    rng *g = &w->g;
    inst *in = calloc(1, sizeof *in);
    if (!in) {
        report("out of memory");
        return NULL;
    }
    static const int kinds[] = {MK_B1, MK_B1, MK_B1, MK_B2, MK_B2, MK_BC, MK_BC,
                                MK_C1, MK_C1, MK_C3, MK_C3};
    in->kind = kinds[rnd_below(g, sizeof kinds / sizeof kinds[0])];
    for (int i = 0; i < 3; i++)
        in->data[i] = (uint32_t)rnd(g);
    int nimg = 0, fx[3], nfx = 0;
    if (in->kind == MK_BC || in->kind == MK_C1) {
        int obj = in->kind == MK_BC ? 1 : 0;
        add_c(in, obj, "fx1_poly", C_FX1_POLY);
        add_c(in, obj, "fx1_null", C_FX1_NULL);
        add_c(in, obj, "fx1_trap", C_FX1_TRAP);
        add_c(in, obj, "fx1_div", C_FX1_DIV);
        add_c(in, obj, "fx1_sort", C_FX1_SORT);
        fx[nfx++] = FX_ONE;
        in->has_ctor = 1;
    }
    if (in->kind == MK_C3) {
        add_c(in, 0, "fxa_sum", C_FXA_SUM);
        add_c(in, 1, "fxb_crash", C_FXB_CRASH);
        add_c(in, 2, "fxc_trap", C_FXC_TRAP);
        add_c(in, 2, "fxc_lookup", C_FXC_LOOKUP);
        fx[nfx++] = FX_A;
        fx[nfx++] = FX_B;
        fx[nfx++] = FX_C;
        in->has_ctor = in->has_atexit = 1;
    }
    if (in->kind == MK_B1 || in->kind == MK_B2 || in->kind == MK_BC) {
        int k = jit_describe(g, in->f, in->n, MAX_FUNCS - in->n, 0, "o0_");
        in->n += k;
        nimg = 1;
        if (in->kind == MK_B2) {
            in->n += jit_describe(g, in->f, in->n, MAX_FUNCS - in->n, 1, "o1_");
            nimg = 2;
        }
    }
    void *img[2] = {NULL, NULL};
    size_t len[2] = {0, 0};
    char err[512];
    for (int o = 0; o < nimg; o++)
        if (jit_emit(g, in->f, in->n, o, o ? "o1_" : "o0_", in->data[o], &img[o], &len[o], err,
                     sizeof err) != 0) {
            report("%s", err);
            goto fail_images;
        }
    in->r = ring_claim(&in->id);
    if (!in->r) {
        w->c.ring_full++;
        goto fail_images;
    }
    in->reg = pick_registration(g);
    ej_linker *lk = NULL;
    ej_status st = ej_linker_create(&lk);
    if (st == EJ_OK)
        st = ej_linker_set_registration(lk, in->reg);
    if (st == EJ_OK)
        st = ej_linker_set_resolver(lk, resolve, NULL);
#ifdef SOAK_HAVE_CODE_MEMORY
    int cm = (int)rnd_below(g, 3);
    if (st == EJ_OK && cm)
        st = ej_linker_set_code_memory(lk, cm == 1 ? EJ_CODE_MEMORY_MPROTECT
                                                   : EJ_CODE_MEMORY_DUAL_MAP);
#else
    int cm = 0;
#endif
    /* Objects in a random order: the link must not care. */
    int order[5], norder = 0;
    for (int o = 0; o < nimg; o++)
        order[norder++] = o;
    for (int k = 0; k < nfx; k++)
        order[norder++] = 10 + fx[k];
    for (int k = norder - 1; k > 0; k--) {
        int j = (int)rnd_below(g, (uint64_t)k + 1), t = order[k];
        order[k] = order[j];
        order[j] = t;
    }
    for (int k = 0; k < norder && st == EJ_OK; k++) {
        if (order[k] < 10)
            st = ej_linker_add_buffer(lk, order[k] ? "o1.o" : "o0.o", img[order[k]],
                                      len[order[k]]);
        else if (!add_fixture(lk, g, order[k] - 10))
            st = EJ_IO;
        w->c.objects++;
    }
    if (st == EJ_OK)
        st = ej_linker_link(lk, &in->m);
    if (st != EJ_OK) {
        report("link of a %s module failed: %s: %s", mk_names[in->kind], ej_status_name(st),
               ej_linker_errmsg(lk));
        ej_linker_free(lk);
        ring_fail(in->r);
        goto fail_images;
    }
    ej_linker_free(lk);
    free(img[0]);
    free(img[1]);
    w->c.links[in->kind]++;
    w->c.cm_auto += cm == 0;
    w->c.cm_mprotect += cm == 1;
    w->c.cm_dual += cm == 2;
    w->c.reg_gdb += !!(in->reg & EJ_REGISTER_GDB);
    w->c.reg_unwind += !!(in->reg & EJ_REGISTER_UNWIND);
    w->c.reg_perf += !!(in->reg & EJ_REGISTER_PERF_MAP);
    w->c.reg_jitdump += !!(in->reg & EJ_REGISTER_JITDUMP);
    ej_module_range(in->m, &in->start, &in->end);

    /* Exports: globals found, locals hidden. */
    for (int i = 0; i < in->n; i++) {
        fspec *f = &in->f[i];
        void *a = ej_module_symbol(in->m, f->name);
        if (f->global && !a)
            report("module #%" PRIu64 ": global %s not exported", in->id, f->name);
        if (!f->global && a)
            report("module #%" PRIu64 ": local %s exported", in->id, f->name);
        f->addr = f->global ? (uintptr_t)a : 0;
        if (f->addr && (f->addr < in->start || f->addr >= in->end))
            report("module #%" PRIu64 ": %s at %#" PRIxPTR " outside [%#" PRIx64 ", %#" PRIx64 ")",
                   in->id, f->name, f->addr, in->start, in->end);
    }
    find_locals(in);
    if (in->has_ctor) {
        const char *cookie = in->kind == MK_C3 ? "fxa_cookie" : "fx1_cookie";
        long *ck = ej_module_symbol(in->m, cookie);
        in->state_fn = (uintptr_t)ej_module_symbol(in->m, in->kind == MK_C3 ? "fxa_state"
                                                                             : "fx1_state");
        if (!ck || !in->state_fn) {
            report("module #%" PRIu64 ": %s or its state function not exported", in->id, cookie);
            in->has_ctor = 0;
        } else {
            *ck = (long)(uintptr_t)in->notes;
        }
    }
    if (in->kind == MK_C3)
        in->walk = (uintptr_t)ej_module_symbol(in->m, "fxa_walk");
    validate_map(in, g);
    /* The registry sees it already (its owner made it). */
    for (int i = 0; i < in->n; i++)
        if (in->f[i].addr) {
            ej_pc_info pi;
            if (!ej_lookup_pc(in->f[i].addr, &pi) || pi.module != in->m)
                report("module #%" PRIu64 ": ej_lookup_pc misses it right after linking",
                       in->id);
            break;
        }
    if (in->has_ctor && rnd_below(g, 2))
        do_init(w, in);
    /* Calls: every function, plain and trapping (the trapping argument, and
     * the faulting address, is the guard page or 0x10). */
    for (int i = 0; i < in->n; i++) {
        if (!in->f[i].addr)
            continue;
        make_call(in, i, rnd_below(g, 4) == 0 && in->f[i].kind == FK_C ? rnd_below(g, 100) : 0);
        make_call(in, i, rnd_below(g, 2) ? guard : 0x10);
    }
    if (in->walk && (in->reg & EJ_REGISTER_UNWIND) && in->ncalls < (int)(sizeof in->calls /
                                                                         sizeof in->calls[0])) {
        uint64_t d = 1 + rnd_below(g, 5);
        in->calls[in->ncalls++] = (call_v){.addr = in->walk, .arg = d, .value = 2 * d};
    }
    /* Publish up to NCALL of them, chosen at random. */
    call_v pub[NCALL];
    size_t np = 0;
    for (int i = 0; i < in->ncalls; i++)
        if (np < NCALL && rnd_below(g, (uint64_t)(in->ncalls - i)) < NCALL - np)
            pub[np++] = in->calls[i];
    ring_publish(in->r, in->m, in->start, in->end, in->probes, (size_t)in->nprobes, pub, np);
    return in;

fail_images:
    free(img[0]);
    free(img[1]);
    free(in);
    return NULL;
}

/* A link that must fail (an undefined import): refused cleanly. */
static void refused_link(worker *w)
{
    rng *g = &w->g;
    fspec f[MAX_FUNCS];
    int n = jit_describe(g, f, 0, MAX_FUNCS - 1, 0, "bad_");
    fspec *x = &f[n];
    memset(x, 0, sizeof *x);
    snprintf(x->name, sizeof x->name, "soak_missing_%u", (unsigned)rnd_below(g, 100000));
    x->global = 1;
    x->obj = 1; /* lives elsewhere: an import */
    x->kind = FK_CONST;
    /* f[0] becomes a call of the missing function (an import). */
    f[0].kind = FK_CALLX;
    f[0].callee = n;
    f[0].global = 1;
    void *img = NULL;
    size_t len = 0;
    char err[512];
    if (jit_emit(g, f, n + 1, 0, "bad_", 7, &img, &len, err, sizeof err) != 0) {
        report("%s", err);
        return;
    }
    ej_linker *lk;
    ej_module *m = (ej_module *)(uintptr_t)1;
    ej_status st = ej_linker_create(&lk);
    if (st == EJ_OK)
        st = ej_linker_add_buffer(lk, "bad.o", img, len);
    if (st == EJ_OK)
        st = ej_linker_link(lk, &m);
    if (st != EJ_UNDEFINED || m != NULL || !strstr(ej_linker_errmsg(lk), x->name))
        report("a link with an undefined '%s' gave %s (module %p): %s", x->name,
               ej_status_name(st), (void *)m, ej_linker_errmsg(lk));
    else
        w->c.link_refused++;
    if (st == EJ_OK && m)
        ej_module_free(m);
    ej_linker_free(lk);
    free(img);
}

static void print_report(const char *who, const vreport *r)
{
    static const char *const vn[] = {"hit", "miss", "unknown", "a live module was not found",
                                     "the answer matches no live module",
                                     "found a module after ej_module_free returned",
                                     "found an address no module holds"};
    report("%s: lookup of %#" PRIx64 " (ticks %" PRIu64 "..%" PRIu64 "): %s; found %d: module %p "
           "%s+%#" PRIx64 " at %#" PRIx64 " trap %d/%u line %u; record #%" PRIu64
           " module %#" PRIx64 " live@%" PRIu64 " free@%" PRIu64 " freed@%" PRIu64,
           who, r->pc, r->t0, r->t1, vn[r->v], r->found, (void *)r->pi.module,
           r->found && r->pi.function ? "(function)" : "(none)", r->pi.offset,
           r->pi.function_addr, r->pi.has_trap, r->pi.trap_code, r->pi.line, r->hint_id,
           r->hint_module, r->hint_t_live, r->hint_t_free, r->hint_t_freed);
}

static void count_verdict(counts *c, verdict v, const vreport *rep, const char *who)
{
    c->lookups++;
    c->foreign += rep->foreign;
    switch (v) {
    case V_HIT: c->hits++; break;
    case V_MISS: c->misses++; break;
    case V_UNKNOWN: c->unknown++; break;
    default: print_report(who, rep);
    }
}

/* Compares a call's result with what it must do. */
static void check_call(worker *w, const call_v *c, ej_module *m, uint64_t id, int trapped,
                       uint32_t ret, int foreign_call)
{
    const trapinfo *t = &tls.ti;
    const char *who = foreign_call ? "another thread's module" : "own module";
    if (!c->traps) {
        if (trapped)
            report("%s #%" PRIu64 ": call %#" PRIx64 "(%#" PRIx64 ") trapped (signal %d at %#" PRIx64
                   " %s) instead of returning %#" PRIx64,
                   who, id, c->addr, c->arg, t->sig, t->pc,
                   t->found && t->pi.function ? t->pi.function : "?", c->value);
        else if (ret != (uint32_t)c->value)
            report("%s #%" PRIu64 ": call %#" PRIx64 "(%#" PRIx64 ") returned %#x, expected %#" PRIx64,
                   who, id, c->addr, c->arg, ret, c->value);
        return;
    }
    if (!trapped) {
        report("%s #%" PRIu64 ": call %#" PRIx64 "(%#" PRIx64 ") returned %#x instead of trapping",
               who, id, c->addr, c->arg, ret);
        return;
    }
    w->c.traps++;
    w->c.traps_foreign += foreign_call;
    if (t->sig > 0 && t->sig < 32)
        w->c.trap_sig[t->sig]++;
    const ej_pc_info *pi = &t->pi;
    int ok = t->sig > 0 && t->sig < 32 && (c->sigs & SIGBIT(t->sig)) && t->found && pi->module == m;
    if (ok && c->trappc) /* builder code: exactly the recorded site */
        ok = t->pc == c->trappc && (uint64_t)(uintptr_t)pi->function == c->func &&
             pi->function_addr == c->faddr && pi->has_trap && (1ull << 32 | pi->trap_code) == c->trap &&
             (uint64_t)(uintptr_t)pi->file == c->file && pi->line == c->line;
    else if (ok) /* C code: somewhere in the function (or its .cold part) */
        ok = pi->function && c->func && c_name_ok(pi->function, (const char *)(uintptr_t)c->func) &&
             !pi->has_trap && pi->function_addr + pi->offset == t->pc;
    if (!ok)
        report("%s #%" PRIu64 ": trap of %#" PRIx64 "(%#" PRIx64 ") misattributed: signal %d at "
               "%#" PRIx64 ", found %d, module %p (want %p), %s+%#" PRIx64 " trap %d/%u line %u; "
               "want pc %#" PRIx64 " in %s, trap %#" PRIx64 " line %" PRIu64 ", signals %#" PRIx64,
               who, id, c->addr, c->arg, t->sig, t->pc, t->found, (void *)pi->module, (void *)m,
               pi->function ? pi->function : "(none)", pi->offset, pi->has_trap, pi->trap_code,
               pi->line, c->trappc, c->func ? (const char *)(uintptr_t)c->func : "?", c->trap,
               c->line, c->sigs);
}

static void run_call(worker *w, const call_v *c, ej_module *m, uint64_t id, int foreign_call)
{
    uint32_t ret = 0;
    int trapped = call_guarded((uintptr_t)c->addr, (uintptr_t)c->arg, &ret);
    w->c.calls++;
    w->c.calls_foreign += foreign_call;
    check_call(w, c, m, id, trapped, ret, foreign_call);
    if (!trapped && c->value == 2 * c->arg && c->addr && c->arg && c->arg < 8 &&
        tls.unwind_count) {
        /* an unwinding walk: its frames, then out into the host again */
        w->c.unwinds++;
        w->c.unwinds_deep++;
        if (tls.unwind_count != (int)c->arg || tls.unwind_beyond < 1)
            report("module #%" PRIu64 ": backtrace from depth %" PRIu64 " saw %d of its frames "
                   "(want %" PRIu64 ") and %d beyond",
                   id, c->arg, tls.unwind_count, c->arg, tls.unwind_beyond);
    }
    tls.unwind_count = 0;
}

/* Unwinds through an own C x3 module, with or without its .eh_frame. */
static void do_unwind(worker *w, inst *in)
{
    long d = 1 + (long)rnd_below(&w->g, 6);
    uint32_t ret = 0;
    tls.unwind_count = -1;
    if (call_guarded(in->walk, (uintptr_t)d, &ret)) {
        report("module #%" PRIu64 ": fxa_walk(%ld) trapped (signal %d)", in->id, d, tls.ti.sig);
        return;
    }
    w->c.unwinds++;
    if (ret != (uint32_t)(tls.unwind_count + d))
        report("module #%" PRIu64 ": fxa_walk(%ld) returned %u, its callback saw %d frames",
               in->id, d, ret, tls.unwind_count);
    /* fxa_walk(d) has d frames below the callback (the last call is a
     * tail call) */
    if ((in->reg & EJ_REGISTER_UNWIND) && (tls.unwind_count != (int)d || tls.unwind_beyond < 1))
        report("module #%" PRIu64 ": backtrace from depth %ld saw %d of its frames (want %ld) "
               "and %d beyond, with its .eh_frame registered",
               in->id, d, tls.unwind_count, d, tls.unwind_beyond);
    if (in->reg & EJ_REGISTER_UNWIND)
        w->c.unwinds_deep++;
    tls.unwind_count = 0;
}

static void free_module(worker *w, inst *in)
{
    snap s;
    int have = ring_snap(in->r, &s);
    ring_retire(in->r);
    ej_module_free(in->m);
    ring_freed(in->r);
    w->c.frees++;
    int want = in->inited;
    if (in->has_ctor && (in->notes[1] != want || in->notes[2] != want ||
                         (in->has_atexit && in->notes[3] != want)))
        report("module #%" PRIu64 " (%s, %sinitialised): constructor %d, destructor %d, atexit "
               "%d times after ej_module_free",
               in->id, mk_names[in->kind], in->inited ? "" : "not ", in->notes[1], in->notes[2],
               in->notes[3]);
    /* Gone means gone: none of its addresses is found as it. */
    if (have) {
        for (int k = 0; k < in->nprobes; k += 1 + (int)rnd_below(&w->g, 4)) {
            ej_pc_info pi;
            uint64_t t0 = tick();
            int found = ej_lookup_pc(in->probes[k].pc, &pi);
            uint64_t t1 = tick();
            vreport rep;
            verdict v = oracle_judge(in->probes[k].pc, t0, t1, found, &pi, &s, k, 1, &rep);
            w->c.after_free++;
            w->c.after_free_other += found && v == V_HIT;
            count_verdict(&w->c, v, &rep, "after free");
        }
    }
    free(in);
}

/* ---- handing modules between threads ---- */

static pthread_mutex_t xlock = PTHREAD_MUTEX_INITIALIZER;
static inst *xq[16];
static int nxq;

static void do_handoff(worker *w)
{
    pthread_mutex_lock(&xlock);
    if (w->nown && nxq < 16 && (rnd_below(&w->g, 2) || !nxq)) {
        int k = (int)rnd_below(&w->g, (uint64_t)w->nown);
        xq[nxq++] = w->own[k];
        w->own[k] = w->own[--w->nown];
        w->c.handed++;
    } else if (nxq && w->nown < opt.max_live) {
        int k = (int)rnd_below(&w->g, (uint64_t)nxq);
        w->own[w->nown++] = xq[k];
        xq[k] = xq[--nxq];
        w->c.adopted++;
    }
    pthread_mutex_unlock(&xlock);
}

/* ---- the threads ---- */

static void check_pending(worker *w)
{
    if (tls.pending) {
        vreport rep = tls.prep;
        tls.pending = 0;
        print_report("in a signal handler", &rep);
    }
    (void)w;
}

static void lookup_once(worker *w)
{
    vreport rep;
    /* Own modules: live all along, so they must be found, exactly. */
    if (w->nown && rnd_below(&w->g, 3) == 0) {
        inst *in = w->own[rnd_below(&w->g, (uint64_t)w->nown)];
        snap s;
        if (in->nprobes && ring_snap(in->r, &s)) {
            int k = (int)rnd_below(&w->g, (uint64_t)in->nprobes);
            ej_pc_info pi;
            uint64_t t0 = tick();
            int found = ej_lookup_pc(in->probes[k].pc, &pi);
            uint64_t t1 = tick();
            verdict v = oracle_judge(in->probes[k].pc, t0, t1, found, &pi, &s, k, 1, &rep);
            w->c.own_lookups++;
            if (v != V_HIT && v != V_UNKNOWN)
                rep.v = v == V_MISS ? V_BAD_MISSING : v;
            count_verdict(&w->c, rep.v, &rep, "own module");
            return;
        }
    }
    verdict v = oracle_lookup_random(&w->g, 1, foreign, nforeign, &rep);
    count_verdict(&w->c, v, &rep, "lookup");
}

static void foreign_call(worker *w)
{
    for (int tries = 0; tries < 8; tries++) {
        snap s;
        if (!ring_snap(ring_slot(rnd_below(&w->g, RING)), &s) || s.state != REC_LIVE || !s.ncall)
            continue;
        if (!ring_pin(&s))
            continue;
        call_v c;
        ring_call(s.r, rnd_below(&w->g, s.ncall), &c);
        tls.unwind_count = 0;
        ej_module *m = (ej_module *)(uintptr_t)s.module;
        run_call(w, &c, m, s.id, 1);
        /* ej_module_lookup_pc on another thread's module (it is pinned):
         * the very answer its owner recorded. */
        if (s.nprobe) {
            size_t k = rnd_below(&w->g, s.nprobe);
            probe_v p = {atomic_load(&s.r->p[k].pc), atomic_load(&s.r->p[k].func),
                         atomic_load(&s.r->p[k].faddr), atomic_load(&s.r->p[k].trap),
                         atomic_load(&s.r->p[k].file), atomic_load(&s.r->p[k].line)};
            ej_pc_info pi;
            int found = ej_module_lookup_pc(m, p.pc, &pi);
            w->c.module_lookups++;
            if (!found || pi.module != m || (uint64_t)(uintptr_t)pi.function != p.func ||
                pi.function_addr != p.faddr ||
                (pi.has_trap ? (1ull << 32 | pi.trap_code) : 0) != p.trap ||
                (uint64_t)(uintptr_t)pi.file != p.file || pi.line != p.line)
                report("module #%" PRIu64 ": ej_module_lookup_pc(%#" PRIx64 ") from another "
                       "thread: found %d, %s+%#" PRIx64 ", not what its owner recorded",
                       s.id, p.pc, found, found && pi.function ? pi.function : "(none)",
                       found ? pi.offset : 0);
        }
        ring_unpin(s.r);
        return;
    }
}

static void one_op(worker *w)
{
    rng *g = &w->g;
    uint64_t r = rnd_below(g, 100);
    int op;
    if (w->nown == 0 || (w->nown < opt.max_live && r < 22))
        op = OP_LINK;
    else if (r < 45)
        op = OP_CALL;
    else if (r < 57)
        op = OP_FOREIGN;
    else if (r < 72)
        op = OP_LOOKUP;
    else if (r < 88 || w->nown >= opt.max_live + 2)
        op = OP_FREE;
    else if (r < 92)
        op = OP_HANDOFF;
    else if (r < 96)
        op = OP_UNWIND;
    else if (r < 97)
        op = OP_REFUSE;
    else
        op = OP_INIT;
    atomic_store_explicit(&w->op, op, memory_order_relaxed);
    switch (op) {
    case OP_LINK: {
        inst *in = link_module(w);
        if (in)
            w->own[w->nown++] = in;
        break;
    }
    case OP_CALL: {
        inst *in = w->own[rnd_below(g, (uint64_t)w->nown)];
        if (in->ncalls) {
            const call_v *c = &in->calls[rnd_below(g, (uint64_t)in->ncalls)];
            tls.unwind_count = 0;
            run_call(w, c, in->m, in->id, 0);
        }
        break;
    }
    case OP_FOREIGN: foreign_call(w); break;
    case OP_LOOKUP:
        for (int i = 0; i < 4; i++)
            lookup_once(w);
        break;
    case OP_FREE: {
        int k = (int)rnd_below(g, (uint64_t)w->nown);
        inst *in = w->own[k];
        w->own[k] = w->own[--w->nown];
        free_module(w, in);
        break;
    }
    case OP_HANDOFF: do_handoff(w); break;
    case OP_UNWIND:
        for (int k = 0; k < w->nown; k++)
            if (w->own[k]->walk) {
                do_unwind(w, w->own[k]);
                break;
            }
        break;
    case OP_REFUSE: refused_link(w); break;
    case OP_INIT: /* a module linked earlier; or again, which must run nothing */
        for (int k = 0; k < w->nown; k++)
            if (w->own[k]->has_ctor && (!w->own[k]->inited || rnd_below(g, 4) == 0)) {
                do_init(w, w->own[k]);
                break;
            }
        break;
    }
    atomic_store_explicit(&w->op, OP_IDLE, memory_order_relaxed);
    atomic_fetch_add_explicit(&w->beat, 1, memory_order_relaxed);
    check_pending(w);
}

/* The SIGUSR1 handler's counters, summed as each thread ends. */
static hcounts hc_total;
static pthread_mutex_t hc_lock = PTHREAD_MUTEX_INITIALIZER;

static void thread_finish(worker *w)
{
    tls.role = 0; /* no more lookups in the handler */
    check_pending(w);
    pthread_mutex_lock(&hc_lock);
    hc_total.lookups += tls.hc.lookups;
    hc_total.hits += tls.hc.hits;
    hc_total.misses += tls.hc.misses;
    hc_total.unknown += tls.hc.unknown;
    hc_total.foreign += tls.hc.foreign;
    hc_total.bad += tls.hc.bad;
    memset((void *)&tls.hc, 0, sizeof tls.hc);
    pthread_mutex_unlock(&hc_lock);
    atomic_store(&w->done, 1);
}

static void thread_setup(worker *w)
{
    tls.role = 1;
    tls.hrng.s = w->g.s ^ 0x9e3779b97f4a7c15ull;
    if (!tls.hrng.s)
        tls.hrng.s = 1;
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    thread_setup(w);
    while (!atomic_load_explicit(&stop, memory_order_relaxed))
        one_op(w);
    while (w->nown) {
        inst *in = w->own[--w->nown];
        free_module(w, in);
    }
    thread_finish(w);
    return NULL;
}

static void *lookup_main(void *arg)
{
    worker *w = arg;
    thread_setup(w);
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        atomic_store_explicit(&w->op, OP_LOOKUP, memory_order_relaxed);
        for (int i = 0; i < 64; i++) {
            vreport rep;
            verdict v = oracle_lookup_random(&w->g, 1, foreign, nforeign, &rep);
            count_verdict(&w->c, v, &rep, "lookup thread");
        }
        atomic_fetch_add_explicit(&w->beat, 1, memory_order_relaxed);
        check_pending(w);
    }
    thread_finish(w);
    return NULL;
}

static worker *workers;
static int nworkers;
static atomic_int poker_stop;
static atomic_ulong pokes;

/* Interrupts the other threads with SIGUSR1: its handler looks PCs up,
 * maybe in the middle of another lookup, a link or a free, and returns. */
static void *poker_main(void *arg)
{
    rng g = {*(uint64_t *)arg | 1};
    while (!atomic_load(&poker_stop)) {
        worker *w = &workers[rnd_below(&g, (uint64_t)nworkers)];
        if (!atomic_load(&w->done) && pthread_kill(w->th, SIGUSR1) == 0)
            atomic_fetch_add_explicit(&pokes, 1, memory_order_relaxed);
        struct timespec ts = {0, 500000};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

/* ---- process-level checks ---- */

typedef struct mapping {
    uint64_t lo, hi;
} mapping;

static mapping rwx_base[64];
static int nrwx_base;

/* Scans /proc/self/maps: the anonymous (or memfd) executable mappings
 * counted in *EXEC_ANON; writable+executable ones not in the baseline are
 * reported (when REPORT) or recorded as the baseline (when !REPORT). */
static int scan_maps(int *exec_anon, int report_rwx)
{
    FILE *f = fopen("/proc/self/maps", "re");
    if (!f)
        return -1;
    char line[4096];
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        unsigned long long lo, hi;
        char perms[8] = "";
        int path_at = 0;
        if (sscanf(line, "%llx-%llx %7s %*s %*s %*s %n", &lo, &hi, perms, &path_at) < 3)
            continue;
        const char *path = path_at ? line + path_at : "";
        int anon = path[0] == '\n' || path[0] == '\0' || strncmp(path, "/memfd:", 7) == 0;
        if (perms[2] == 'x' && anon)
            n++;
        if (perms[1] == 'w' && perms[2] == 'x') {
            int known = 0;
            for (int i = 0; i < nrwx_base; i++)
                known |= rwx_base[i].lo == lo && rwx_base[i].hi == hi;
            if (!report_rwx && nrwx_base < 64)
                rwx_base[nrwx_base++] = (mapping){lo, hi};
            else if (report_rwx && !known)
                report("a writable and executable mapping: %s", line);
        }
    }
    fclose(f);
    if (exec_anon)
        *exec_anon = n;
    return 0;
}

/* Open descriptors, not counting the jitdump file (kept open by design). */
static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char p[64], target[4096];
        snprintf(p, sizeof p, "/proc/self/fd/%s", e->d_name);
        ssize_t k = readlink(p, target, sizeof target - 1);
        target[k > 0 ? k : 0] = '\0';
        if (strstr(target, "/jit-") && strstr(target, ".dump"))
            continue;
        n++;
    }
    closedir(d);
    return n;
}

static int load_fixtures(void)
{
    for (int i = 0; i < 4; i++) {
        snprintf(fixture_path[i], sizeof fixture_path[i], "%s/%s", opt.fixtures,
                 fixture_names[i]);
        FILE *f = fopen(fixture_path[i], "rb");
        if (!f) {
            fprintf(stderr, "soak: %s: %s (see --fixtures)\n", fixture_path[i], strerror(errno));
            return -1;
        }
        fseek(f, 0, SEEK_END);
        long n = ftell(f);
        fseek(f, 0, SEEK_SET);
        fixture_buf[i] = malloc(n > 0 ? (size_t)n : 1);
        if (!fixture_buf[i] || n <= 0 || fread(fixture_buf[i], 1, (size_t)n, f) != (size_t)n) {
            fprintf(stderr, "soak: %s: cannot read\n", fixture_path[i]);
            fclose(f);
            return -1;
        }
        fixture_len[i] = (size_t)n;
        fclose(f);
    }
    return 0;
}

/* A perf map line: "START SIZE NAME", hex numbers, a symbol name. */
static int perf_line_ok(const char *line)
{
    unsigned long long a, sz;
    int name_at = 0, end = 0;
    if (sscanf(line, "%llx %llx %n%*s%n", &a, &sz, &name_at, &end) != 2 || !end || !sz)
        return 0;
    for (int i = name_at; i < end; i++)
        if (!(line[i] == '_' || line[i] == '.' || (line[i] >= '0' && line[i] <= '9') ||
              (line[i] >= 'a' && line[i] <= 'z') || (line[i] >= 'A' && line[i] <= 'Z')))
            return 0;
    return line[end] == '\n' && line[end + 1] == '\0';
}

/* perf's jitdump format (tools/perf/Documentation/jitdump-specification.txt):
 * a 40-byte header, then records {u32 id, u32 size, u64 time, ...}; a
 * JIT_CODE_LOAD (id 0) is {pid, tid, vma, code_addr, code_size, index}, the
 * name with its NUL, and the code.  Every record whole, none interleaved
 * with another, indices increasing.  Returns the number of records, or -1
 * (and reports). */
static long check_jitdump(const char *path, FILE *f)
{
    struct {
        uint32_t magic, version, total_size, elf_mach, pad, pid;
        uint64_t timestamp, flags;
    } h;
    if (fread(&h, sizeof h, 1, f) != 1 || h.magic != 0x4A695444u || h.version != 1 ||
        h.total_size != sizeof h || h.pid != (uint32_t)getpid()) {
        report("%s: bad jitdump header", path);
        return -1;
    }
    long n = 0;
    uint64_t last_index = 0;
    static unsigned char buf[1 << 20];
    for (;;) {
        struct {
            uint32_t id, size;
            uint64_t timestamp;
        } r;
        size_t got = fread(&r, 1, sizeof r, f);
        if (got == 0)
            return n;
        if (got != sizeof r || r.size < sizeof r || r.size - sizeof r > sizeof buf ||
            fread(buf, 1, r.size - sizeof r, f) != r.size - sizeof r) {
            report("%s: record %ld truncated or too large (size %u)", path, n, r.size);
            return -1;
        }
        if (r.id == 0) {
            struct {
                uint32_t pid, tid;
                uint64_t vma, code_addr, code_size, code_index;
            } l;
            size_t body = r.size - sizeof r;
            if (body < sizeof l) {
                report("%s: code-load record %ld too short", path, n);
                return -1;
            }
            memcpy(&l, buf, sizeof l);
            const char *name = (const char *)buf + sizeof l;
            size_t name_len = strnlen(name, body - sizeof l);
            if (name_len == body - sizeof l || sizeof l + name_len + 1 + l.code_size != body ||
                l.pid != (uint32_t)getpid() || l.vma != l.code_addr ||
                (n && l.code_index <= last_index)) {
                report("%s: code-load record %ld inconsistent (name length %zu, code %" PRIu64
                       " bytes, record %u bytes, index %" PRIu64 " after %" PRIu64 ")",
                       path, n, name_len, l.code_size, r.size, l.code_index, last_index);
                return -1;
            }
            last_index = l.code_index;
        } else if (r.id > 6) {
            report("%s: record %ld has unknown id %u", path, n, r.id);
            return -1;
        }
        n++;
    }
}

/* The profiler files, when this process wrote them: well formed, then
 * removed (they are per process and would pile up in /tmp). */
static void check_profiler_files(const counts *c)
{
    char path[4200];
    const char *dir = getenv("ELFJIT_PROFILE_DIR");
    if (!dir || !*dir)
        dir = "/tmp";
    snprintf(path, sizeof path, "%s/perf-%ld.map", dir, (long)getpid());
    FILE *f = fopen(path, "re");
    if (f) {
        char line[512];
        unsigned long lines = 0, bad = 0;
        while (fgets(line, sizeof line, f)) {
            lines++;
            if (!perf_line_ok(line) && bad++ < 3)
                report("%s: line %lu malformed: %s", path, lines, line);
        }
        fclose(f);
        if (bad)
            report("%s: %lu of %lu lines malformed", path, bad, lines);
        if (!opt.quiet)
            printf("soak: %s: %lu lines, well formed, removed\n", path, lines);
        unlink(path);
    } else if (c->reg_perf) {
        report("%s: %s, after %" PRIu64 " links registered with the perf map", path,
               strerror(errno), c->reg_perf);
    }
    snprintf(path, sizeof path, "%s/jit-%ld.dump", dir, (long)getpid());
    f = fopen(path, "rb");
    if (f) {
        long n = check_jitdump(path, f);
        fclose(f);
        if (!opt.quiet && n >= 0)
            printf("soak: %s: %ld records, well formed, removed\n", path, n);
        unlink(path);
    } else if (c->reg_jitdump) {
        report("%s: %s, after %" PRIu64 " links registered with jitdump", path, strerror(errno),
               c->reg_jitdump);
    }
}

static void add_counts(counts *t, const counts *c)
{
    const uint64_t *s = (const uint64_t *)c;
    uint64_t *d = (uint64_t *)t;
    for (size_t i = 0; i < sizeof *c / sizeof(uint64_t); i++)
        d[i] += s[i];
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: soak [--seconds S] [--threads N] [--lookup-threads M] [--seed X]\n"
            "            [--max-live K] [--no-perf] [--progress P] [--stall T]\n"
            "            [--fixtures DIR] [--quiet]\n"
            "  --seconds S         run for S seconds (default 180)\n"
            "  --threads N         worker threads: link, call, trap, look up, hand over,\n"
            "                      free (default 4; 0: everything on the main thread,\n"
            "                      no threads created)\n"
            "  --lookup-threads M  threads that only look PCs up (default 2)\n"
            "  --seed X            random seed (default: from the clock; printed)\n"
            "  --max-live K        modules a worker keeps linked (default 3)\n"
            "  --no-perf           never register with the perf map or jitdump\n"
            "  --progress P        a progress line every P seconds (default 30; 0: none)\n"
            "  --stall T           a thread idle for T seconds is a hang: exit 3 (default 120)\n"
            "  --fixtures DIR      where fx_one.o, fx_a.o, fx_b.o, fx_c.o are\n"
            "                      (default " SOAK_FIXTURE_DIR ")\n"
            "  --quiet             only the final summary\n");
}

static int parse_args(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        char *end = NULL;
#define NEED()                                                                                 \
    do {                                                                                       \
        if (!v) {                                                                              \
            fprintf(stderr, "soak: %s needs a value\n", a);                                    \
            return -1;                                                                         \
        }                                                                                      \
        i++;                                                                                   \
    } while (0)
        if (strcmp(a, "--seconds") == 0) {
            NEED();
            opt.seconds = strtod(v, &end);
            if (*end || opt.seconds < 0)
                return -1;
        } else if (strcmp(a, "--threads") == 0) {
            NEED();
            opt.threads = (int)strtol(v, &end, 10);
            if (*end || opt.threads < 0 || opt.threads > 64)
                return -1;
        } else if (strcmp(a, "--lookup-threads") == 0) {
            NEED();
            opt.lookup_threads = (int)strtol(v, &end, 10);
            if (*end || opt.lookup_threads < 0 || opt.lookup_threads > 64)
                return -1;
        } else if (strcmp(a, "--seed") == 0) {
            NEED();
            opt.seed = strtoull(v, &end, 0);
            if (*end)
                return -1;
        } else if (strcmp(a, "--max-live") == 0) {
            NEED();
            opt.max_live = (int)strtol(v, &end, 10);
            if (*end || opt.max_live < 1 || opt.max_live > 12)
                return -1;
        } else if (strcmp(a, "--progress") == 0) {
            NEED();
            opt.progress = strtod(v, &end);
            if (*end || opt.progress < 0)
                return -1;
        } else if (strcmp(a, "--stall") == 0) {
            NEED();
            opt.stall = strtod(v, &end);
            if (*end || opt.stall <= 0)
                return -1;
        } else if (strcmp(a, "--fixtures") == 0) {
            NEED();
            opt.fixtures = v;
        } else if (strcmp(a, "--no-perf") == 0) {
            opt.perf = 0;
        } else if (strcmp(a, "--quiet") == 0) {
            opt.quiet = 1;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            exit(0);
        } else {
            fprintf(stderr, "soak: unknown argument '%s'\n", a);
            return -1;
        }
#undef NEED
    }
    return 0;
}

static void total_counts(counts *t)
{
    memset(t, 0, sizeof *t);
    for (int i = 0; i < nworkers; i++)
        add_counts(t, &workers[i].c);
}

static void print_summary(const counts *t, const hcounts *h, double secs, unsigned long pokes_n)
{
    uint64_t links = 0;
    for (int k = 0; k < MK_COUNT; k++)
        links += t->links[k];
    if (opt.threads)
        printf("soak: %.1f s, %d worker%s + %d lookup thread%s, seed %#" PRIx64 "\n", secs,
               opt.threads, opt.threads == 1 ? "" : "s", opt.lookup_threads,
               opt.lookup_threads == 1 ? "" : "s", opt.seed);
    else
        printf("soak: %.1f s, everything on the main thread (--threads 0), seed %#" PRIx64 "\n",
               secs, opt.seed);
    printf("soak: links %" PRIu64 " (", links);
    for (int k = 0; k < MK_COUNT; k++)
        printf("%s%s %" PRIu64, k ? ", " : "", mk_names[k], t->links[k]);
    printf("; %" PRIu64 " objects), refused as expected %" PRIu64 ", constructors run %" PRIu64
           "\n",
           t->objects, t->link_refused, t->inits);
    printf("soak: frees %" PRIu64 " (%" PRIu64 " handed to another thread first)\n", t->frees,
           t->adopted);
#ifdef SOAK_HAVE_CODE_MEMORY
    printf("soak: code memory: default %" PRIu64 ", mprotect %" PRIu64 ", dual mapping %" PRIu64
           "\n",
           t->cm_auto, t->cm_mprotect, t->cm_dual);
#endif
    printf("soak: registrations: gdb %" PRIu64 ", unwinder %" PRIu64 ", perf map %" PRIu64
           ", jitdump %" PRIu64 "\n",
           t->reg_gdb, t->reg_unwind, t->reg_perf, t->reg_jitdump);
    printf("soak: calls %" PRIu64 " (%" PRIu64 " into other threads' modules), traps %" PRIu64
           " (%" PRIu64 " in other threads' modules; SIGILL %" PRIu64 ", SIGTRAP %" PRIu64
           ", SIGSEGV %" PRIu64 ", SIGBUS %" PRIu64 ", SIGFPE %" PRIu64 "), unwinds %" PRIu64
           " (%" PRIu64 " checked through registered frames)\n",
           t->calls, t->calls_foreign, t->traps, t->traps_foreign, t->trap_sig[SIGILL],
           t->trap_sig[SIGTRAP], t->trap_sig[SIGSEGV], t->trap_sig[SIGBUS], t->trap_sig[SIGFPE],
           t->unwinds, t->unwinds_deep);
    printf("soak: lookups %" PRIu64 ": hits %" PRIu64 ", misses %" PRIu64 ", undecidable %" PRIu64
           ", foreign addresses %" PRIu64 ", own modules %" PRIu64 ", just-freed modules %" PRIu64
           " (%" PRIu64 " found a newer module there)\n",
           t->lookups, t->hits, t->misses, t->unknown, t->foreign, t->own_lookups, t->after_free,
           t->after_free_other);
    printf("soak: ej_module_lookup_pc on other threads' modules %" PRIu64 "\n",
           t->module_lookups);
    printf("soak: lookups in signal handlers %" PRIu64 " (of %lu SIGUSR1): hits %" PRIu64
           ", misses %" PRIu64 ", undecidable %" PRIu64 ", bad %" PRIu64 "\n",
           (uint64_t)h->lookups, pokes_n, (uint64_t)h->hits, (uint64_t)h->misses,
           (uint64_t)h->unknown, (uint64_t)h->bad);
    if (t->ring_full)
        printf("soak: links skipped with every record in use: %" PRIu64 "\n", t->ring_full);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (parse_args(argc, argv) != 0) {
        usage(stderr);
        return 2;
    }
    if (opt.threads == 0)
        opt.lookup_threads = 0; /* no threads at all */
    if (!opt.seed)
        opt.seed = (uint64_t)time(NULL) * 0x9e3779b97f4a7c15ull ^ (uint64_t)getpid();
    if (load_fixtures() != 0)
        return 2;
    void *g = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (g == MAP_FAILED) {
        perror("soak: mmap");
        return 1;
    }
    guard = (uintptr_t)g;
    static int a_static;
    int on_stack;
    void *heap = malloc(64);
    foreign[nforeign++] = (uint64_t)(uintptr_t)main;
    foreign[nforeign++] = (uint64_t)(uintptr_t)tick;
    foreign[nforeign++] = (uint64_t)(uintptr_t)&a_static;
    foreign[nforeign++] = (uint64_t)(uintptr_t)&on_stack;
    foreign[nforeign++] = (uint64_t)(uintptr_t)heap;
    foreign[nforeign++] = guard;
    foreign[nforeign++] = guard + 4095;
    foreign[nforeign++] = 0;
    if (install_handlers() != 0) {
        perror("soak: sigaction");
        return 1;
    }
    /* Warm up what is loaded once per process (the unwinder's library,
     * libelf's state, the jitdump file) so that the baselines below hold
     * only what must come back. */
    void *bt[4];
    backtrace(bt, 4);
    nworkers = opt.threads + opt.lookup_threads;
    if (nworkers == 0)
        nworkers = 1;
    workers = calloc((size_t)nworkers, sizeof *workers);
    if (!workers)
        return 1;
    for (int i = 0; i < nworkers; i++) {
        workers[i].idx = i;
        workers[i].g.s = opt.seed + 0x9e3779b97f4a7c15ull * (uint64_t)(i + 1);
        workers[i].lookup_only = i >= opt.threads && opt.threads > 0;
    }
    {
        worker *w = &workers[0];
        thread_setup(w);
        for (int i = 0; i < 12; i++) {
            inst *in = link_module(w);
            if (in)
                free_module(w, in);
        }
        tls.role = 0;
        memset(&w->c, 0, sizeof w->c); /* the warm-up does not count */
    }
    int exec0 = 0, fds0 = count_fds();
    scan_maps(&exec0, 0);
    struct jit_descriptor *jd = &__jit_debug_descriptor;
    if (jd->first_entry)
        report("GDB's JIT list is not empty after the warm-up");
    if (!opt.quiet && opt.threads)
        printf("soak: %.0f s, %d workers, %d lookup threads, seed %#" PRIx64 ", fixtures %s\n",
               opt.seconds, opt.threads, opt.lookup_threads, opt.seed, opt.fixtures);
    else if (!opt.quiet)
        printf("soak: %.0f s on the main thread only (--threads 0), seed %#" PRIx64
               ", fixtures %s\n",
               opt.seconds, opt.seed, opt.fixtures);

    double t_start = now(), deadline = t_start + opt.seconds;
    int status = 0;
    unsigned long pokes_n = 0;
    if (opt.threads == 0) {
        /* Everything on this thread: no thread is created (qemu-user can
         * hang creating threads); SIGUSR1 is raised at ourselves. */
        worker *w = &workers[0];
        thread_setup(w);
        double next_progress = t_start + opt.progress;
        while (now() < deadline) {
            one_op(w);
            if (rnd_below(&w->g, 8) == 0) {
                raise(SIGUSR1);
                pokes_n++;
            }
            if (opt.progress > 0 && !opt.quiet && now() >= next_progress) {
                next_progress += opt.progress;
                printf("soak: %.0f s: %" PRIu64 " operations, %lu errors\n", now() - t_start,
                       (uint64_t)atomic_load(&w->beat), atomic_load(&nerrors));
            }
        }
        while (w->nown)
            free_module(w, w->own[--w->nown]);
        thread_finish(w);
    } else {
        for (int i = 0; i < nworkers; i++) {
            int rc = pthread_create(&workers[i].th, NULL,
                                    workers[i].lookup_only ? lookup_main : worker_main,
                                    &workers[i]);
            if (rc) {
                fprintf(stderr, "soak: pthread_create: %s\n", strerror(rc));
                _exit(1);
            }
        }
        pthread_t poker;
        uint64_t pseed = opt.seed ^ 0x5bd1e995;
        if (pthread_create(&poker, NULL, poker_main, &pseed)) {
            fprintf(stderr, "soak: pthread_create failed\n");
            _exit(1);
        }
        double next_progress = t_start + opt.progress, next_maps = t_start + 1;
        uint64_t *last_beat = calloc((size_t)nworkers, sizeof *last_beat);
        double *last_change = calloc((size_t)nworkers, sizeof *last_change);
        for (int i = 0; i < nworkers; i++)
            last_change[i] = t_start;
        int stopping = 0;
        for (;;) {
            struct timespec ts = {0, 100000000};
            nanosleep(&ts, NULL);
            double t = now();
            if (!stopping && t >= deadline) {
                stopping = 1;
                atomic_store(&stop, 1);
            }
            int running = 0;
            for (int i = 0; i < nworkers; i++) {
                worker *w = &workers[i];
                if (atomic_load(&w->done))
                    continue;
                running++;
                uint64_t b = atomic_load_explicit(&w->beat, memory_order_relaxed);
                if (b != last_beat[i]) {
                    last_beat[i] = b;
                    last_change[i] = t;
                } else if (t - last_change[i] > opt.stall) {
                    fprintf(stderr,
                            "soak: HANG: thread %d has been in '%s' for %.0f s (seed %#" PRIx64
                            ")\n",
                            i, op_names[atomic_load(&w->op)], t - last_change[i], opt.seed);
                    fflush(NULL);
                    _exit(3);
                }
            }
            if (!running)
                break;
            if (t >= next_maps) {
                next_maps = t + 1;
                scan_maps(NULL, 1);
            }
            if (opt.progress > 0 && !opt.quiet && t >= next_progress) {
                next_progress += opt.progress;
                uint64_t ops = 0;
                for (int i = 0; i < nworkers; i++)
                    ops += atomic_load_explicit(&workers[i].beat, memory_order_relaxed);
                printf("soak: %.0f s: %" PRIu64 " operations, %" PRIu64 " modules, %lu errors\n",
                       t - t_start, ops, ring_claimed(), atomic_load(&nerrors));
            }
        }
        atomic_store(&poker_stop, 1);
        pthread_join(poker, NULL);
        for (int i = 0; i < nworkers; i++)
            pthread_join(workers[i].th, NULL);
        pokes_n = atomic_load(&pokes);
        free(last_beat);
        free(last_change);
    }
    double secs = now() - t_start;

    /* What threads left in the hand-over queue. */
    {
        worker *w = &workers[0];
        while (nxq)
            free_module(w, xq[--nxq]);
    }

    /* Everything is freed: nothing may be found, registered or mapped. */
    for (size_t i = 0; i < RING; i++) {
        rec *r = ring_slot(i);
        uint64_t st = atomic_load(&r->state);
        if (st != REC_EMPTY && st != REC_FREED)
            report("record %zu still in state %" PRIu64 " at the end", i, st);
        for (uint64_t k = 0; k < atomic_load(&r->nprobe); k++) {
            ej_pc_info pi;
            uint64_t pc = atomic_load(&r->p[k].pc);
            if (ej_lookup_pc(pc, &pi))
                report("%#" PRIx64 " (module #%" PRIu64 ") still found after every module was freed",
                       pc, (uint64_t)atomic_load(&r->id));
        }
    }
    if (jd->first_entry)
        report("GDB's JIT list still has entries after every module was freed");
    int exec1 = 0, fds1 = count_fds();
    scan_maps(&exec1, 1);
    if (exec1 != exec0)
        report("%d anonymous executable mappings at the end, %d at the start", exec1, exec0);
    if (fds1 != fds0)
        report("%d open descriptors at the end, %d at the start", fds1, fds0);
    if (atomic_load(&orphan_notes))
        report("%lu constructor/destructor notes without a module", atomic_load(&orphan_notes));

    counts t;
    total_counts(&t);
    check_profiler_files(&t);
    print_summary(&t, &hc_total, secs, pokes_n);
    if (t.hits == 0)
        report("no lookup ever found a module");
    if (t.traps == 0)
        report("no call ever trapped");
    unsigned long errs = atomic_load(&nerrors);
    printf("soak: errors %lu\nsoak: %s\n", errs, errs ? "FAIL" : "PASS");
    status = errs ? 1 : 0;
    for (int i = 0; i < 4; i++)
        free(fixture_buf[i]);
    free(heap);
    free(workers);
    munmap(g, 4096);
    return status;
}
