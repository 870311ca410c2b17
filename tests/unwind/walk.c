/* Loaded by test_unwind: _Unwind_Backtrace and backtrace() called from
 * inside loaded code must walk through the loaded frames into the host. */
#include <execinfo.h>
#include <stdint.h>
#include <unwind.h>

struct trail {
    int n;
    uintptr_t ip[32];
};

static _Unwind_Reason_Code step(struct _Unwind_Context *ctx, void *arg)
{
    struct trail *t = arg;
    if (t->n < 32)
        t->ip[t->n++] = _Unwind_GetIP(ctx);
    return _URC_NO_REASON;
}

__attribute__((noinline)) int walk_inner(struct trail *t)
{
    _Unwind_Backtrace(step, t);
    return t->n;
}

__attribute__((noinline)) int walk_outer(struct trail *t)
{
    int n = walk_inner(t);
    __asm__ __volatile__("" ::: "memory"); /* not a tail call */
    return n;
}

__attribute__((noinline)) int backtrace_inner(void **buf, int max)
{
    int n = backtrace(buf, max);
    __asm__ __volatile__("" ::: "memory");
    return n;
}

__attribute__((noinline)) int backtrace_outer(void **buf, int max)
{
    int n = backtrace_inner(buf, max);
    __asm__ __volatile__("" ::: "memory");
    return n;
}
