/* The runtime layer's per-architecture facts, for the host only (one file
 * per architecture in src/runtime/arch, the host's picked by
 * CMakeLists.txt, as for src/coherence). */
#ifndef EJ_RUNTIME_ARCH_H
#define EJ_RUNTIME_ARCH_H

#include <stdint.h>

/* The program counter saved in the ucontext_t a signal handler gets. */
uint64_t ej__arch_ucontext_pc(const void *uc);

#endif
