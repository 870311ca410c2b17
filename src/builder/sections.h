/* The bytes of the builder's own sections (sections.c): trap table,
 * address map and .eh_frame. */
#ifndef EJ_BUILDER_SECTIONS_H
#define EJ_BUILDER_SECTIONS_H

#include "builder/builder.h"
#include "elfjit/tables.h"

/* Sorts SITES by offset; returns the index of a repeated offset, or -1. */
long ej__sites_sort(ej__bsite *sites, size_t n);

/* The trap table for the N sorted TRAPS (code in .a); its text field, at
 * offset 16, needs a PC-relative 32-bit relocation against .text. */
uint8_t *ej__traps_bytes(const ej__bsite *traps, size_t n, size_t *len);

/* The address map for the N sorted LINES (file index in .a, line in .b)
 * naming NFILES FILES; text field as for traps. */
uint8_t *ej__addrmap_bytes(const ej__bsite *lines, size_t n, char *const *files, size_t nfiles,
                           size_t *len);

/* Where an FDE's pc_begin needs a PC-relative 32-bit relocation: at OFF
 * in .eh_frame, to the start of symbol SYM. */
typedef struct ej__fde_site {
    size_t off;
    uint32_t sym;
} ej__fde_site;

/* .eh_frame for MACHINE: one CIE, then an FDE for each of the NSYMS SYMS
 * that has unwind instructions, each FDE's relocation site in SITES
 * (room for NSYMS), their number in *NSITES.  No terminator: the linker
 * (or elfjit when registering frames) adds one.  NULL when out of memory
 * or MACHINE has no default CIE. */
uint8_t *ej__eh_frame_bytes(const ej__arch *a, const ej__bsym *syms, size_t nsyms,
                            ej__fde_site *sites, size_t *nsites, size_t *len);

#endif
