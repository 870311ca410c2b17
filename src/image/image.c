/* Releasing a finished image's description. */
#include <stdlib.h>
#include <string.h>

#include "image/image.h"

void ej__image_free(ej__image *img)
{
    free(img->names);
    free(img->exports);
    free(img->preinit.a);
    free(img->init.a);
    free(img->fini.a);
    free(img->funcs);
    free(img->traps);
    free(img->maps);
    free(img->syms);
    for (size_t i = 0; i < img->ndwarf; i++) {
        free(img->dwarf[i].name);
        free(img->dwarf[i].data);
    }
    free(img->dwarf);
    memset(img, 0, sizeof *img);
}
