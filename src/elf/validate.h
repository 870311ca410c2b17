/* Validation of relocatable objects: one function per ELF property, each
 * checking every field it relies on before anything uses it. */
#ifndef EJ_ELF_VALIDATE_H
#define EJ_ELF_VALIDATE_H

#include "elf/object.h"

/* Checks OBJ's raw bytes (magic, class, encoding, header size, section
 * header table and section name table bounds) before libelf reads them. */
ej_status ej__validate_raw(const ej__object *obj, ej__err *err);

/* Validates OBJ->elf completely (header, sections, symbols, groups,
 * relocations) and fills OBJ's section table and symbol views. */
ej_status ej__validate_object(ej__object *obj, ej__err *err);

/* Fetches section I's contents into obj->sec[I].data, decompressing it
 * (and re-reading its header) when SHF_COMPRESSED. */
ej_status ej__validate_load_section(ej__object *obj, size_t i, ej__err *err);

/* Checks the structure of section I, an .eh_frame whose contents are
 * loaded (ehframe.c): records inside the section, FDEs naming earlier
 * CIEs, CIEs the unwinders read.  Errors: EJ_BADELF naming the offset. */
ej_status ej__validate_eh_frame(ej__object *obj, size_t i, ej__err *err);

#endif
