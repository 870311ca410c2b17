/* Choosing the code-memory backend for a link (codemem.h).
 *
 * Asked for EJ_CODE_MEMORY_AUTO, a link gets what ELFJIT_CODEMEM says
 * ("mprotect" or "dual"; other values are ignored), else, for an image
 * small enough, shared code memory (slab.h), else what a probe
 * found: mprotect of a scratch page from RW to RX.  A refusal (EACCES
 * under PR_SET_MDWE or SELinux, EPERM under a seccomp filter such as
 * systemd's MemoryDenyWriteExecute) means this process may never make
 * written memory executable: dual mapping, for every later link.  The
 * answer is remembered for the life of the process; a probe that could
 * not even map its page says nothing and is made again next time. */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "codemem/codemem.h"

static _Atomic int probed; /* 0: not yet; else the kind found */

static int probe(void)
{
    size_t page = ej__page_size();
    void *p = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return 0;
    int r = mprotect(p, page, PROT_READ | PROT_EXEC), e = errno;
    munmap(p, page);
    if (r == 0)
        return EJ_CODE_MEMORY_MPROTECT;
    return e == EACCES || e == EPERM ? EJ_CODE_MEMORY_DUAL_MAP : 0;
}

int ej__codemem_shared_wanted(int kind)
{
    if (kind == EJ_CODE_MEMORY_SHARED)
        return 1;
    const char *env = getenv("ELFJIT_CODEMEM");
    return kind == EJ_CODE_MEMORY_AUTO &&
           (!env || (strcmp(env, "dual") != 0 && strcmp(env, "mprotect") != 0));
}

int ej__codemem_choose(int kind)
{
    if (kind != EJ_CODE_MEMORY_AUTO && kind != EJ_CODE_MEMORY_SHARED)
        return kind;
    const char *env = getenv("ELFJIT_CODEMEM");
    if (env && strcmp(env, "dual") == 0)
        return EJ_CODE_MEMORY_DUAL_MAP;
    if (env && strcmp(env, "mprotect") == 0)
        return EJ_CODE_MEMORY_MPROTECT;
    int k = atomic_load_explicit(&probed, memory_order_relaxed);
    if (!k && (k = probe()) != 0)
        atomic_store_explicit(&probed, k, memory_order_relaxed);
    return k ? k : EJ_CODE_MEMORY_MPROTECT;
}
