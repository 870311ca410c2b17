/* The process-wide PC registry as a registrar (src/register): the first
 * row, always on, so that ej_lookup_pc finds every live module. */
#include "register/register.h"
#include "runtime/registry.h"

ej_status ej__reg_add_REGISTRY(const ej__image *img, void *owner, void **slot, ej__err *err)
{
    ej_status st = ej__registry_add(img->vbase, img->vbase + img->size, owner, img->dso_handle);
    if (st != EJ_OK)
        return ej__fail(err, st, "out of memory");
    *slot = owner;
    return EJ_OK;
}

void ej__reg_remove_REGISTRY(const ej__image *img, void *owner, void **slot)
{
    (void)img;
    (void)slot;
    ej__registry_remove(owner);
}
