/* The ELF reading layer directly: section access and SHF_COMPRESSED
 * sections decompressed through libelf. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "elf/object.h"

static ej__object *open_obj(const char *name)
{
    char path[4096];
    ej__object *obj;
    ej__err err = {0};
    snprintf(path, sizeof path, "%s/%s.o", EJ_TEST_OBJ_DIR, name);
    cr_assert_eq(ej__object_open_file(path, &obj, &err), EJ_OK, "%s", err.msg);
    return obj;
}

static size_t find_section(const ej__object *obj, const char *name)
{
    for (size_t i = 1; i < obj->shnum; i++)
        if (strcmp(obj->sec[i].name, name) == 0)
            return i;
    cr_assert_fail("%s has no section %s", obj->name, name);
    return 0;
}

Test(elf, compressed_debug_sections_decompress_to_the_plain_bytes)
{
    ej__object *plain = open_obj("debuginfo_plain");
    ej__object *gz = open_obj("debuginfo_gz");
    ej__err err = {0};
    const char *names[] = {".debug_info", ".debug_abbrev", ".debug_line"};
    int compressed = 0;
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        size_t ip = find_section(plain, names[k]), ig = find_section(gz, names[k]);
        compressed += (gz->sec[ig].shdr.sh_flags & SHF_COMPRESSED) != 0;
        const uint8_t *dp, *dg;
        uint64_t np, ng;
        cr_assert_eq(ej__object_section_data(plain, ip, &dp, &np, &err), EJ_OK, "%s", err.msg);
        cr_assert_eq(ej__object_section_data(gz, ig, &dg, &ng, &err), EJ_OK, "%s", err.msg);
        cr_assert_eq(np, ng, "%s: %llu vs %llu bytes", names[k], (unsigned long long)np,
                     (unsigned long long)ng);
        cr_assert_eq(memcmp(dp, dg, np), 0, "%s differs after decompression", names[k]);
        cr_assert_eq(gz->sec[ig].shdr.sh_flags & SHF_COMPRESSED, 0,
                     "header re-read after decompression");
    }
    cr_assert_gt(compressed, 0, "the -gz=zlib object has compressed sections");
    ej__object_free(plain);
    ej__object_free(gz);
}

Test(elf, symbol_names_and_section_symbols)
{
    ej__object *obj = open_obj("debuginfo_plain");
    int found_dot = 0, found_text_section = 0;
    for (size_t i = 1; i < obj->nsyms; i++) {
        const char *name = ej__object_sym_name(obj, i);
        found_dot |= strcmp(name, "dot") == 0;
        found_text_section |= ELF64_ST_TYPE(obj->syms[i].st_info) == STT_SECTION &&
                              strcmp(name, ".text") == 0;
    }
    cr_assert(found_dot);
    cr_assert(found_text_section, "a section symbol is named after its section");
    ej__object_free(obj);
}
