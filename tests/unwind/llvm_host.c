/* A host linked with LLVM's libunwind (not libgcc's unwinder): elfjit must
 * notice it and register the module's FDEs one by one, and a walk from
 * inside loaded code must then cross the loaded frames.
 * Usage: llvm_host WALK.o; exits 0 when the walk reached the host. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unwind.h>

#include "elfjit/elfjit.h"

struct trail {
    int n;
    uintptr_t ip[32];
};

int main(int argc, char **argv)
{
    ej_linker *lk;
    ej_module *m;
    /* Use the unwinder here too, so the link keeps libunwind. */
    if (argc < 2 || !_Unwind_GetIP || ej_linker_create(&lk) != EJ_OK)
        return 2;
    if (ej_linker_add_file(lk, argv[1]) != EJ_OK || ej_linker_link(lk, &m) != EJ_OK) {
        fprintf(stderr, "llvm_host: %s\n", ej_linker_errmsg(lk));
        return 2;
    }
    ej_linker_free(lk);
    int (*outer)(struct trail *) = (int (*)(struct trail *))ej_module_symbol(m, "walk_outer");
    struct trail t = {0};
    int n = outer(&t), seen_outer = 0, outside = 0;
    uint64_t lo, hi;
    ej_module_range(m, &lo, &hi);
    for (int i = 0; i < n; i++) {
        ej_pc_info pi;
        if (ej_module_lookup_pc(m, t.ip[i] - (i > 0), &pi) && pi.function &&
            strcmp(pi.function, "walk_outer") == 0)
            seen_outer = 1;
        outside += t.ip[i] < lo || t.ip[i] >= hi;
    }
    printf("frames %d, walk_outer %s, %d outside the module\n", n, seen_outer ? "seen" : "missing",
           outside);
    ej_module_free(m);
    return seen_outer && outside >= 2 ? 0 : 1;
}
