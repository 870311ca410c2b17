/* Backend selection and helpers shared by the relocation backends. */
#include <elf.h>
#include <string.h>

#include "reloc/reloc.h"

/* EJ_RELOC_ARCHES is X(x86_64)X(aarch64)..., one entry per backend the
 * build found (CMakeLists.txt), so adding a backend is adding its files. */
#ifndef EJ_RELOC_ARCHES
#define EJ_RELOC_ARCHES X(x86_64)
#endif

#define X(arch) extern const ej__arch ej__arch_##arch;
EJ_RELOC_ARCHES
#undef X

const ej__arch *ej__arch_for_machine(uint16_t machine)
{
#define X(arch) &ej__arch_##arch,
    static const ej__arch *const all[] = {EJ_RELOC_ARCHES};
#undef X
    for (size_t i = 0; i < EJ_ARRAY_LEN(all); i++)
        if (all[i]->machine == machine)
            return all[i];
    return NULL;
}

/* EJ_HOST_ARCH is the host's backend name (CMakeLists.txt). */
#ifdef EJ_HOST_ARCH
#define EJ__ARCH_OBJ_(name) ej__arch_##name
#define EJ__ARCH_OBJ(name) EJ__ARCH_OBJ_(name)
const ej__arch *ej__host_arch(void)
{
    return &EJ__ARCH_OBJ(EJ_HOST_ARCH);
}
#endif

ej_status ej__reloc_range_fail(ej__reloc_fail *f, uint64_t value,
                               int64_t min, int64_t max)
{
    f->why = "out of range";
    f->value = value;
    f->min = min;
    f->max = max;
    f->has_range = 1;
    return EJ_RANGE;
}

/* memcpy keeps unaligned places well-defined; the targets are all
 * little-endian. */
void ej__put16(uint8_t *p, uint16_t v) { memcpy(p, &v, sizeof v); }
void ej__put32(uint8_t *p, uint32_t v) { memcpy(p, &v, sizeof v); }
void ej__put64(uint8_t *p, uint64_t v) { memcpy(p, &v, sizeof v); }
uint32_t ej__get32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}
