/* fuzz_link2: two relocatable ELF objects linked together.
 *
 * Input: a 4-byte little-endian word W, then the first object
 * (W & 0xffffff bytes, at most what is left), then the second (the rest).
 * The top byte of W picks:
 *   bit 0     no resolver: undefined names go to the host process (dlsym,
 *             libm, libgcc_s; addresses only, nothing runs);
 *   bits 1-2  the link-only base: EJF_BASE, 64 KiB, 1 GiB, or 4 GiB below
 *             the top of the address space;
 *   bit 3     add the second object first.
 * Each object is added on its own (a refused one does not stop the other);
 * whatever was added is linked link-only and the module probed.  Seeds
 * (tests/fuzz/seeds.sh) pair the objects of one program. */
#include <string.h>

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint64_t bases[] = {EJF_BASE, 0x10000, 0x40000000, 0xffffffff00000000ull};
    const uint8_t *obj[2];
    size_t len[2];
    unsigned flags;
    if (!ejf_two_parts(data, size, obj, len, &flags))
        return 0;
    uint64_t base = bases[(flags >> 1) & 3];
    const char *name[2] = {"a.o", "b.o"};
    int first = (flags >> 3) & 1;

    ej_linker *lk = ejf_linker(base, !(flags & 1));
    if (!lk)
        return 0;
    int added = 0;
    for (int k = 0; k < 2; k++) {
        int i = k ^ first;
        ej_status st = ej_linker_add_buffer(lk, name[i], obj[i], len[i]);
        ejf_note("ej_linker_add_buffer", st, ej_linker_errmsg(lk));
        if (st == EJ_OK)
            added++;
        else
            ejf_check_failure(st, ej_linker_errmsg(lk), "ej_linker_add_buffer");
    }
    if (added)
        ejf_link_and_probe(lk, base, obj[0], len[0] + len[1]);
    ej_linker_free(lk);
    return 0;
}
