/* Choosing where a reservation goes: anywhere when nothing constrains it,
 * otherwise inside the window of addresses the image must reach, found from
 * the gaps in /proc/self/maps and claimed with MAP_FIXED_NOREPLACE hints
 * (the LuaJIT lj_mcode.c idea, made deterministic). */
#ifndef EJ_CODEMEM_PLACEMENT_H
#define EJ_CODEMEM_PLACEMENT_H

#include "codemem/codemem.h"

/* Maps LEN bytes readable and writable such that the first ALIGN-aligned
 * address in the mapping, S, satisfies [S, S+SIZE) inside [pl->lo, pl->hi),
 * preferring [pl->pref_lo, pl->pref_hi).  *MAP receives the mapping. */
ej_status ej__place(size_t len, size_t size, size_t align,
                    const ej__placement *pl, uint8_t **map, ej__err *err);

#endif
