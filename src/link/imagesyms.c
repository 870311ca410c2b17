/* The finished image's symbols for debuggers: every named function and
 * data object of the loaded sections, local ones included, locals first
 * (as an ELF symbol table wants them), with final addresses.  Built only
 * when GDB registration is on (it walks every symbol of every object). */
#include <stdlib.h>

#include "link/linker.h"

static int wanted(const ej__lobj *lo, size_t i)
{
    const Elf64_Sym *s = &lo->o->syms[i];
    int type = ELF64_ST_TYPE(s->st_info);
    return (type == STT_FUNC || type == STT_OBJECT) && s->st_name && ej__sym_loaded(lo, i);
}

/* Locals (pass 0), then globals (pass 1). */
static void collect(ej__image *img, const ej_linker *lk, int pass)
{
    for (size_t o = 0; o < lk->nobjs; o++) {
        const ej__lobj *lo = &lk->objs[o];
        const ej__object *obj = lo->o;
        for (size_t i = 1; i < obj->nsyms; i++) {
            const Elf64_Sym *s = &obj->syms[i];
            int global = ELF64_ST_BIND(s->st_info) != STB_LOCAL;
            if (global != pass || !wanted(lo, i))
                continue;
            const ej__lsec *sec = &lo->sec[ej__object_sym_shndx(obj, i)];
            img->syms[img->nsyms++] = (ej__image_sym){
                .addr = ej__vaddr(lk, sec->off) + s->st_value,
                .size = s->st_size,
                .name = (uint32_t)(lo->names_base + s->st_name),
                .type = (uint8_t)ELF64_ST_TYPE(s->st_info),
                .global = (uint8_t)global,
                .cls = (uint8_t)sec->cls,
            };
        }
    }
}

ej_status ej__image_symbols(ej__image *img, const ej_linker *lk, ej__err *err)
{
    size_t n = 0;
    for (size_t o = 0; o < lk->nobjs; o++)
        for (size_t i = 1; i < lk->objs[o].o->nsyms; i++)
            n += wanted(&lk->objs[o], i);
    if (n && !(img->syms = malloc(n * sizeof *img->syms)))
        return ej__fail(err, EJ_NOMEM, "out of memory for the debug image's %zu symbols", n);
    collect(img, lk, 0);
    img->first_global = img->nsyms;
    collect(img, lk, 1);
    return EJ_OK;
}
