/* Registrations as data: one table of registrars, one row each (flag,
 * name, add, remove).  A link registers its finished image by walking the
 * table forward, after the image's protections are final; unloading walks
 * it backward, before unmapping.  The rows are the process-wide PC
 * registry (always), then EJ_REGISTRATION_LIST (elfjit/elfjit.h), whose
 * flags, defaults and tool options come from the same list.
 *
 * A registrar reads only the image description (src/image) and keeps its
 * own state in the slot it is given.  Adding one is a row in
 * EJ_REGISTRATION_LIST and one file defining ej__reg_add_NAME and
 * ej__reg_remove_NAME. */
#ifndef EJ_REGISTER_REGISTER_H
#define EJ_REGISTER_REGISTER_H

#include "common/common.h"
#include "image/image.h"

/* ADD registers IMG for OWNER (the module; the registry hands it back to
 * PC lookups) and may keep state in *SLOT; REMOVE undoes it.  REMOVE is
 * called only after ADD succeeded. */
typedef ej_status (*ej__reg_add_fn)(const ej__image *img, void *owner, void **slot,
                                    ej__err *err);
typedef void (*ej__reg_remove_fn)(const ej__image *img, void *owner, void **slot);

typedef struct ej__registrar {
    unsigned flag;    /* EJ_REGISTER_*, 0 for always */
    const char *name; /* for messages */
    ej__reg_add_fn add;
    ej__reg_remove_fn remove;
} ej__registrar;

#define EJ__REG_DECLARE(name, bit, def, option, help)                                       \
    ej_status ej__reg_add_##name(const ej__image *img, void *owner, void **slot,            \
                                 ej__err *err);                                             \
    void ej__reg_remove_##name(const ej__image *img, void *owner, void **slot);
EJ__REG_DECLARE(REGISTRY, 0, 1, "", "")
EJ_REGISTRATION_LIST(EJ__REG_DECLARE)
#undef EJ__REG_DECLARE

#define EJ__REG_COUNT_ONE(name, bit, def, option, help) +1
enum { EJ_REGISTRAR_SLOTS = 1 EJ_REGISTRATION_LIST(EJ__REG_COUNT_ONE) };
#undef EJ__REG_COUNT_ONE

/* Registers IMG with the registry and every registrar FLAGS names, in
 * table order.  *DONE counts the rows walked (the slots of those skipped
 * stay NULL); on failure the rows done stay registered for
 * ej__unregister_image to undo, and the message names the registrar. */
ej_status ej__register_image(const ej__image *img, void *owner, unsigned flags, void **slots,
                             size_t *done, ej__err *err);

/* Undoes the first *DONE rows of ej__register_image, last first; *DONE
 * becomes 0.  Safe after a failure at any row. */
void ej__unregister_image(const ej__image *img, void *owner, unsigned flags, void **slots,
                          size_t *done);

/* Announces to debuggers what registrars hold back (GDB's batches,
 * src/debug/gdb_batch.c).  Called wherever elfjit hands out an address
 * of loaded code, or is about to run it, so that no code runs before a
 * debugger could know it.  Cheap when nothing is held back; thread-safe. */
void ej__register_flush(void);

#endif
