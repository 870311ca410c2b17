/* ej_signal_pc: the one machine-specific fact a trap handler needs. */
#include "common/common.h"
#include "runtime/runtime_arch.h"

EJ_API uint64_t ej_signal_pc(const void *ucontext)
{
    return ucontext ? ej__arch_ucontext_pc(ucontext) : 0;
}
