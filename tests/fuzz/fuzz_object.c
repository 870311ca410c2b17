/* fuzz_object: one relocatable ELF object, as bytes.
 *
 * The object is added from memory (ej_linker_add_buffer: the reader and
 * every validation rule), then linked in link-only mode at EJF_BASE with
 * every undefined name resolved by ejf_resolver (symbol resolution, COMDAT,
 * R_RISCV_ALIGN cuts, GOT/stub counting, layout, copying, every
 * relocation backend, the PC map), and the module is probed
 * (ejf_probe_module).  Nothing is registered or executed. */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ej_linker *lk = ejf_linker(EJF_BASE, 1);
    if (!lk)
        return 0;
    ej_status st = ej_linker_add_buffer(lk, "fuzz.o", data, size);
    ejf_note("ej_linker_add_buffer", st, ej_linker_errmsg(lk));
    if (st != EJ_OK) {
        ejf_check_failure(st, ej_linker_errmsg(lk), "ej_linker_add_buffer");
    } else {
        ej_module *m;
        ejf_link_and_probe(lk, EJF_BASE, data, size);
        /* Linked (or failed): a second link is refused. */
        st = ej_linker_link(lk, &m);
        EJF_CHECK(st == EJ_STATE, "a second ej_linker_link returned %s", ej_status_name(st));
    }
    ej_linker_free(lk);
    return 0;
}
