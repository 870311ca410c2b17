/* Shared parts of elfjit's fuzz targets (tests/fuzz/README.md).
 *
 * Each target is one C file with LLVMFuzzerTestOneInput.  With EJ_FUZZ it
 * is linked with libFuzzer; otherwise with replay_main.c, which feeds it
 * the files of tests/fuzz/regress/<target>/ (ctest: fuzz_replay_<target>).
 *
 * Everything here links in link-only mode (ej_linker_set_base): the image
 * is written into ordinary RW memory, never made executable, never
 * registered, and ej_module_init is never called, so no fuzzed byte can
 * run. */
#ifndef EJ_FUZZ_H
#define EJ_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include "elfjit/elfjit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The link-only base fuzz_object uses (page aligned on every host, and
 * aligned to 2^40 so that no section alignment a real object asks for
 * makes it unusable). */
#define EJF_BASE 0x7f0000000000ull

/* A property the library promised does not hold: prints WHY and aborts,
 * which libFuzzer (and the replay driver, and ctest) treats as a crash. */
#define EJF_CHECK(cond, ...)                                                   \
    do {                                                                       \
        if (!(cond))                                                           \
            ejf_fail(__FILE__, __LINE__, #cond, __VA_ARGS__);                  \
    } while (0)

__attribute__((noreturn, format(printf, 4, 5))) void ejf_fail(const char *file, int line,
                                                              const char *cond,
                                                              const char *fmt, ...);

/* A resolver for ej_linker_set_resolver: every name resolves, to an
 * address derived from a hash of the name (near the base, within 2 GiB of
 * it, below 4 GiB, or far away), so links get past symbol resolution into
 * relocation and both sides of every range check.  Never NULL. */
void *ejf_resolver(void *ctx, const char *name);

/* A linker in link-only mode at BASE, registering nothing, with
 * ejf_resolver unless RESOLVER is 0 (then the host process resolves).
 * Returns NULL when the linker cannot be made (out of memory). */
ej_linker *ejf_linker(uint64_t base, int resolver);

/* A failed call's status must be a known code with a message. */
void ejf_check_failure(ej_status st, const char *msg, const char *what);

/* Exercises a linked module: its range, ej_module_read inside and across
 * its bounds, ej_module_lookup_pc at its edges and inside, and
 * ej_module_symbol / ej_module_lookup of the names found in DATA (the
 * NUL-terminated identifiers of its string tables, at most a few dozen),
 * checking what the API promises.  BASE is the link-only base. */
void ejf_probe_module(ej_module *m, uint64_t base, const uint8_t *data, size_t size);

/* ej_linker_link on LK (link-only at BASE), checked as the API promises
 * (a failure: a known status, a message, *OUT NULL), the module probed
 * (ejf_probe_module, with the names in DATA) and freed. */
void ejf_link_and_probe(ej_linker *lk, uint64_t base, const uint8_t *data, size_t size);

/* With EJF_VERBOSE set in the environment, prints what a call returned
 * (for diagnosing an input by hand: EJF_VERBOSE=1 fuzz_replay_object F). */
void ejf_note(const char *what, ej_status st, const char *msg);

/* The two-part input of fuzz_link2 and fuzz_archive: a 4-byte
 * little-endian word W, then the first part (W & 0xffffff bytes, at most
 * what is left), then the second (the rest); W >> 24 is the target's
 * flags.  0 when the input is shorter than the word. */
int ejf_two_parts(const uint8_t *data, size_t size, const uint8_t *part[2], size_t len[2],
                  unsigned *flags);

/* ej_module_lookup_pc at PC, checked against the module's range. */
void ejf_probe_pc(ej_module *m, uint64_t pc);

#endif
