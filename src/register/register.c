/* The table of registrars and its two walks (register.h). */
#include "register/register.h"

#include "debug/debug.h"

#define EJ__REG_ROW(name, bit, def, option, help) \
    {EJ_REGISTER_##name, option, ej__reg_add_##name, ej__reg_remove_##name},
static const ej__registrar registrars[EJ_REGISTRAR_SLOTS] = {
    {0, "PC registry", ej__reg_add_REGISTRY, ej__reg_remove_REGISTRY},
    EJ_REGISTRATION_LIST(EJ__REG_ROW)
};
#undef EJ__REG_ROW

static int wanted(const ej__registrar *r, unsigned flags)
{
    return !r->flag || (flags & r->flag);
}

ej_status ej__register_image(const ej__image *img, void *owner, unsigned flags, void **slots,
                             size_t *done, ej__err *err)
{
    for (*done = 0; *done < EJ_REGISTRAR_SLOTS; ++*done) {
        const ej__registrar *r = &registrars[*done];
        slots[*done] = NULL;
        if (!wanted(r, flags))
            continue;
        ej_status st = r->add(img, owner, &slots[*done], err);
        if (st != EJ_OK) {
            ej__err_prefix(err, "registering the module (%s)", r->name);
            return st;
        }
    }
    return EJ_OK;
}

void ej__unregister_image(const ej__image *img, void *owner, unsigned flags, void **slots,
                          size_t *done)
{
    /* The row that failed (index *DONE, if any) did not register. */
    while (*done > 0) {
        const ej__registrar *r = &registrars[--*done];
        if (wanted(r, flags))
            r->remove(img, owner, &slots[*done]);
        slots[*done] = NULL;
    }
}

void ej__register_flush(void)
{
    ej__gdb_flush();
}
