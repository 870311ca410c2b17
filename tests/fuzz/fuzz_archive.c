/* fuzz_archive: an object linked against a static library.
 *
 * Input: a 4-byte little-endian word W, then the object (W & 0xffffff
 * bytes, at most what is left; none when 0), then an ar archive (the
 * rest).  The top byte of W picks:
 *   bit 0     no resolver: undefined names go to the host process, and
 *             what it lacks to the compiler runtime's archives;
 *   bit 1     --whole-archive (EJ_ARCHIVE_WHOLE): every member linked;
 *   bit 2     the archive through ej_linker_add_buffer (told apart by its
 *             magic) instead of ej_linker_add_archive_buffer;
 *   bit 3     the archive added before the object.
 * The archive reader (GNU and BSD names, the symbol index, an index built
 * by reading every member when there is none), the pull rules (members
 * chosen by the names the object leaves undefined, rescans) and the
 * object reader on every member pulled, then a link-only link and the
 * module probed.  Seeds (tests/fuzz/seeds.sh): archives of a program's
 * objects, with and without an index, next to its main.o. */
#include <string.h>

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *part[2];
    size_t len[2];
    unsigned flags;
    if (!ejf_two_parts(data, size, part, len, &flags))
        return 0;
    data = part[0];
    size = len[0] + len[1]; /* (the two parts, as the probe reads names) */
    size_t nobj = len[0];
    const uint8_t *ar = part[1];
    size_t nar = len[1];

    ej_linker *lk = ejf_linker(EJF_BASE, !(flags & 1));
    if (!lk)
        return 0;
    int added = 0;
    for (int k = 0; k < 2; k++) {
        int archive = k ^ ((flags >> 3) & 1); /* (the object first unless bit 3) */
        ej_status st;
        const char *what;
        if (!archive && nobj) {
            what = "ej_linker_add_buffer (object)";
            st = ej_linker_add_buffer(lk, "main.o", data, nobj);
        } else if (archive && (flags & 4) && !(flags & 2)) {
            what = "ej_linker_add_buffer (archive)";
            st = ej_linker_add_buffer(lk, "lib.a", ar, nar);
        } else if (archive) {
            what = "ej_linker_add_archive_buffer";
            st = ej_linker_add_archive_buffer(lk, "lib.a", ar, nar, flags & 2 ? EJ_ARCHIVE_WHOLE : 0);
        } else {
            continue;
        }
        ejf_note(what, st, ej_linker_errmsg(lk));
        if (st == EJ_OK)
            added++;
        else
            ejf_check_failure(st, ej_linker_errmsg(lk), what);
    }
    /* Notes are lines, each ending in a newline. */
    const char *notes = ej_linker_notes(lk);
    EJF_CHECK(!*notes || notes[strlen(notes) - 1] == '\n', "notes not ending a line: %s", notes);
    if (added)
        ejf_link_and_probe(lk, EJF_BASE, data, size);
    ej_linker_free(lk);
    return 0;
}
