/* x86_64: the interrupted instruction pointer is gregs[REG_RIP]. */
#include <ucontext.h>

#include "runtime/runtime_arch.h"

uint64_t ej__arch_ucontext_pc(const void *uc)
{
    return (uint64_t)((const ucontext_t *)uc)->uc_mcontext.gregs[REG_RIP];
}
