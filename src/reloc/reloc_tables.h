/* The tables every relocation backend generates from its one list, as one
 * template (the role elfutils' backends/common-reloc.c plays for its
 * backends).  A backend defines its handlers h_<name>, then
 *
 *     #define EJ_RELOC_LIST "reloc/<arch>_relocs.def"
 *     #define EJ_RELOC_PREFIX "R_<ARCH>_"
 *     #include "reloc/reloc_tables.h"
 *
 * and gets reloc_infos[] (names, widths, needs, reach) and
 * reloc_handlers[], indexed by type and of one length by construction.
 * The placement bits of `needs` (EJ_RN_PLACE_*, and EJ_RN_ABSADDR for
 * an ABS reach) are derived here from each row's reach, so they cannot
 * disagree with it.
 *
 * A list row is X(NAME, number, width, needs, reach, handler), reach one
 * of ANY, PC(min, max) or ABS(min, max) (see ej__reloc_info). */
#ifndef EJ_RELOC_LIST
#error "define EJ_RELOC_LIST and EJ_RELOC_PREFIX before including reloc/reloc_tables.h"
#endif

#include <stdint.h>

#define ANY EJ_REACH_ANY, 0, 0
#define PC(lo, hi) EJ_REACH_PC, (lo), (hi)
#define ABS(lo, hi) EJ_REACH_ABS, (lo), (hi)
#define EJ__RELOC_INFO(name, width, needs, kind, lo, hi)                                     \
    {name, width,                                                                           \
     (needs) | ((kind) == EJ_REACH_PC ? EJ_RN_PLACE_PC : 0) |                               \
         ((kind) == EJ_REACH_ABS ? EJ_RN_PLACE_ABS | EJ_RN_ABSADDR : 0),                                    \
     kind, (int64_t)(lo), (int64_t)(hi)}
/* One more level, so that the reach macro expands into three arguments. */
#define EJ__RELOC_INFO_(...) EJ__RELOC_INFO(__VA_ARGS__)

#define X(name, num, width, needs, reach, handler) \
    [num] = EJ__RELOC_INFO_(EJ_RELOC_PREFIX #name, width, needs, reach),
static const ej__reloc_info reloc_infos[] = {
#include EJ_RELOC_LIST
};
#undef X

#define X(name, num, width, needs, reach, handler) [num] = h_##handler,
static const ej__reloc_apply_fn reloc_handlers[] = {
#include EJ_RELOC_LIST
};
#undef X

_Static_assert(EJ_ARRAY_LEN(reloc_infos) == EJ_ARRAY_LEN(reloc_handlers),
               "one list makes both tables");

#undef ANY
#undef PC
#undef ABS
#undef EJ__RELOC_INFO
#undef EJ__RELOC_INFO_
