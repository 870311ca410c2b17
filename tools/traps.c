/* elfjit run: reporting traps in loaded code.  The handler only calls
 * async-signal-safe functions: ej_lookup_pc (lock-free, no allocation),
 * write(2), signal(2), raise(3) and _exit(2); the line is formatted by
 * hand into a stack buffer. */
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>
#include <unistd.h>

#include "elfjit/elfjit.h"
#include "elfjit/tables.h"
#include "traps.h"

static const int trapped[] = {SIGILL, SIGSEGV, SIGBUS, SIGFPE, SIGTRAP};

typedef struct line {
    char buf[512];
    size_t len;
} line;

static void put(line *l, const char *s)
{
    while (*s && l->len < sizeof l->buf - 1)
        l->buf[l->len++] = *s++;
}

static void put_num(line *l, uint64_t v, unsigned base)
{
    char tmp[24];
    size_t n = 0;
    do {
        tmp[n++] = "0123456789abcdef"[v % base];
        v /= base;
    } while (v);
    if (base == 16)
        put(l, "0x");
    while (n && l->len < sizeof l->buf - 1)
        l->buf[l->len++] = tmp[--n];
}

static const char *signal_name(int sig)
{
    switch (sig) {
    case SIGILL: return "SIGILL (illegal instruction)";
    case SIGSEGV: return "SIGSEGV (invalid memory access)";
    case SIGBUS: return "SIGBUS (bus error)";
    case SIGFPE: return "SIGFPE (arithmetic exception)";
    default: return "SIGTRAP (breakpoint or trap)";
    }
}

static void describe(line *l, int sig, const ej_pc_info *pi, uint64_t pc)
{
    put(l, "elfjit: trap: ");
    const char *name = pi->has_trap ? ej_trap_name(pi->trap_code) : NULL;
    if (name) {
        put(l, name);
    } else if (pi->has_trap) {
        put(l, "trap ");
        put_num(l, pi->trap_code, 10);
    } else {
        put(l, signal_name(sig));
    }
    put(l, " in ");
    if (pi->function) {
        put(l, pi->function);
        put(l, "+");
        put_num(l, pi->offset, 16);
    } else {
        put(l, "loaded code at ");
        put_num(l, pc, 16);
    }
    if (pi->file) {
        put(l, " (");
        put(l, pi->file);
        if (pi->line) {
            put(l, ":");
            put_num(l, pi->line, 10);
        }
        put(l, ")");
    }
    put(l, "\n");
}

static void on_trap(int sig, siginfo_t *si, void *ctx)
{
    (void)si;
    uint64_t pc = ej_signal_pc(ctx);
    ej_pc_info pi;
    if (!ej_lookup_pc(pc, &pi)) {
        /* Not ours: die of the signal as the program would have. */
        signal(sig, SIG_DFL);
        raise(sig);
        return;
    }
    line l = {.len = 0};
    describe(&l, sig, &pi, pc);
    ssize_t rc = write(STDERR_FILENO, l.buf, l.len);
    (void)rc;
    _exit(128 + sig);
}

int ej_tool_install_trap_handlers(void)
{
    static char altstack[64 * 1024];
    stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack};
    if (sigaltstack(&ss, NULL) != 0)
        return -1;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_trap;
    /* Reset: a fault inside the handler itself then kills the process. */
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof trapped / sizeof trapped[0]; i++)
        if (sigaction(trapped[i], &sa, NULL) != 0)
            return -1;
    return 0;
}
