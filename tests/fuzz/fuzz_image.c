/* fuzz_image: an image file saved by elfjit (src/aot/format.h).
 *
 * Input: the file's bytes, put in a memory file and added by its
 * /proc/self/fd path (ej_linker_add_file: the ELF structure, the header,
 * the checksum, the machine, the page size and every count, offset and
 * size of the description).  Most mutations fail the checksum; the seeds
 * and the dictionary give libFuzzer the rest, and the replay inputs
 * (regress/image) carry hostile images with a correct checksum.  Then
 * ej_linker_describe of it, and, for an image of this machine that names
 * no library (a load dlopen()s the libraries an image names), a load:
 * mapped, fixed up and published (never run: ej_module_init is not
 * called; nothing is registered), then freed.  Seeds
 * (tests/fuzz/seeds.sh, fuzz_seedgen): images of the builder's programs
 * and of the programs' object pairs, mapped and deflated. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd = memfd_create("fuzz-image", MFD_CLOEXEC);
    if (fd < 0)
        return 0;
    if (size && write(fd, data, size) != (ssize_t)size) {
        close(fd);
        return 0;
    }
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    for (int load = 0; load < 2; load++) {
        ej_linker *lk;
        if (ej_linker_create(&lk) != EJ_OK)
            break;
        ej_linker_set_registration(lk, 0);
        ej_status st = ej_linker_add_file(lk, path);
        ejf_note("ej_linker_add_file", st, ej_linker_errmsg(lk));
        if (st != EJ_OK) {
            ejf_check_failure(st, ej_linker_errmsg(lk), "ej_linker_add_file");
            ej_linker_free(lk);
            break;
        }
        if (!load) {
            char *text = NULL;
            st = ej_linker_describe(lk, &text);
            ejf_note("ej_linker_describe", st, ej_linker_errmsg(lk));
            EJF_CHECK(st == EJ_OK ? text != NULL : text == NULL, "describe and its text disagree");
            /* (Only images are loaded: an object here would be a real
             * link, which the object targets do in link-only mode.) */
            char image[96];
            snprintf(image, sizeof image, "%s: elfjit image ", path);
            int loadable = text && strncmp(text, image, strlen(image)) == 0 &&
                           !strstr(text, "; libraries: ");
            free(text);
            ej_linker_free(lk);
            if (st != EJ_OK || !loadable)
                break;
            continue;
        }
        ej_module *m = (ej_module *)1;
        st = ej_linker_link(lk, &m);
        ejf_note("ej_linker_link", st, ej_linker_errmsg(lk));
        if (st != EJ_OK) {
            EJF_CHECK(m == NULL, "the load failed (%s) and left *OUT set", ej_status_name(st));
            ejf_check_failure(st, ej_linker_errmsg(lk), "ej_linker_link");
        } else {
            uint64_t lo, hi;
            ej_module_range(m, &lo, &hi);
            EJF_CHECK(lo < hi, "a loaded image with an empty range");
            ejf_probe_pc(m, lo);
            ejf_probe_pc(m, hi - 1);
            ej_module_free(m);
        }
        ej_linker_free(lk);
    }
    close(fd);
    return 0;
}
