/* Releasing a finished image's description. */
#include <stdlib.h>
#include <string.h>

#include "image/image.h"

void ej__image_free(ej__image *img)
{
    /* (A link puts the names right after the export table, in its block.) */
    if (!img->exports || img->names != (char *)(img->exports + img->export_cap))
        free(img->names);
    free(img->exports);
    free(img->preinit.a);
    free(img->init.a);
    free(img->fini.a);
    free(img->funcs);
    free(img->traps);
    free(img->maps);
    ej__image_drop_debug(img);
    memset(img, 0, sizeof *img);
}

void ej__image_drop_debug(ej__image *img)
{
    free(img->syms);
    img->syms = NULL;
    img->nsyms = img->first_global = 0;
    for (size_t i = 0; i < img->ndwarf; i++) {
        free(img->dwarf[i].name);
        free(img->dwarf[i].data);
        free(img->dwarf[i].addr_words);
    }
    free(img->dwarf);
    img->dwarf = NULL;
    img->ndwarf = 0;
    free(img->symfile);
    img->symfile = NULL;
    img->symfile_len = 0;
}
