/* aarch64: the interrupted program counter is uc_mcontext.pc. */
#include <ucontext.h>

#include "runtime/runtime_arch.h"

uint64_t ej__arch_ucontext_pc(const void *uc)
{
    return ((const ucontext_t *)uc)->uc_mcontext.pc;
}
