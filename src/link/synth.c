/* Synthetic symbols (see synth.h). */
#include <ctype.h>
#include <string.h>

#include "link/synth.h"

int ej__is_c_identifier(const char *name)
{
    if (!*name || isdigit((unsigned char)*name))
        return 0;
    for (const char *p = name; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '_')
            return 0;
    return 1;
}

static int section_exists(const ej_linker *lk, const char *name)
{
    for (size_t o = 0; o < lk->nobjs; o++) {
        const ej__object *obj = lk->objs[o].o;
        for (size_t i = 1; i < obj->shnum; i++)
            if (ej__sec_loaded(&lk->objs[o], i) && strcmp(obj->sec[i].name, name) == 0)
                return 1;
    }
    return 0;
}

int ej__synth_name(const char *name)
{
    return strcmp(name, "_GLOBAL_OFFSET_TABLE_") == 0 || strcmp(name, "__dso_handle") == 0 ||
           strcmp(name, "_TLS_MODULE_BASE_") == 0 || strncmp(name, "__start_", 8) == 0 ||
           strncmp(name, "__stop_", 7) == 0;
}

int ej__synth_bind(ej_linker *lk, ej__sym *e)
{
    uint8_t synth = EJ_SYN_NONE;
    if (strcmp(e->name, "_GLOBAL_OFFSET_TABLE_") == 0) {
        synth = EJ_SYN_GOT;
        lk->plan.need_got = 1;
    } else if (strcmp(e->name, "__dso_handle") == 0) {
        synth = EJ_SYN_DSO_HANDLE;
    } else if (strcmp(e->name, "_TLS_MODULE_BASE_") == 0) {
        /* The start of the module's TLS block (x86-64 TLS descriptors'
         * local-dynamic base): offset 0 in it. */
        synth = EJ_SYN_TLS_BASE;
        e->type = STT_TLS;
    } else if (strncmp(e->name, "__start_", 8) == 0 &&
               ej__is_c_identifier(e->name + 8) && section_exists(lk, e->name + 8)) {
        synth = EJ_SYN_SEC_START;
    } else if (strncmp(e->name, "__stop_", 7) == 0 &&
               ej__is_c_identifier(e->name + 7) && section_exists(lk, e->name + 7)) {
        synth = EJ_SYN_SEC_STOP;
    }
    if (synth == EJ_SYN_NONE)
        return 0;
    e->kind = EJ_SK_IMAGE;
    e->synth = synth;
    return 1;
}
