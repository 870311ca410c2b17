/* Reach is data: each relocation type's list row states how far its
 * field reaches (src/reloc/ARCH_relocs.def), and placement windows come from
 * it (src/link/scan.c).  These check the rows that used to be described
 * by x86 ideas (a +/-2 GiB "PCREL32" and a 32-bit "ABS32" window for
 * every field), and that a real link names the window a type asks for. */
#include <criterion/criterion.h>
#include <elf.h>
#include <string.h>

#include "elfjit/elfjit.h"
#include "reloc/reloc.h"
#include "testutil.h"

static const ej__reloc_info *info(uint16_t machine, uint32_t type)
{
    const ej__arch *a = ej__arch_for_machine(machine);
    cr_assert_not_null(a);
    const ej__reloc_info *i = ej__reloc_info_of(a, type);
    cr_assert_not_null(i, "type %u of machine %u", type, machine);
    return i;
}

static void expect_reach(uint16_t machine, uint32_t type, int kind, int64_t min, int64_t max)
{
    const ej__reloc_info *i = info(machine, type);
    cr_expect_eq(i->reach, kind, "%s: reach kind %d", i->name, i->reach);
    cr_expect_eq(i->min, min, "%s: min %lld", i->name, (long long)i->min);
    cr_expect_eq(i->max, max, "%s: max %lld", i->name, (long long)i->max);
    unsigned place = kind == EJ_REACH_PC ? EJ_RN_PLACE_PC : kind == EJ_REACH_ABS ? EJ_RN_PLACE_ABS : 0;
    cr_expect_eq(i->needs & (EJ_RN_PLACE_PC | EJ_RN_PLACE_ABS), place,
                 "%s: placement bits derived from the reach", i->name);
}

Test(reach, rows_state_each_fields_reach)
{
    const int64_t G = (int64_t)1 << 30;
    expect_reach(EM_X86_64, R_X86_64_PC32, EJ_REACH_PC, INT32_MIN, INT32_MAX);
    expect_reach(EM_X86_64, R_X86_64_32, EJ_REACH_ABS, 0, UINT32_MAX);
    expect_reach(EM_X86_64, R_X86_64_16, EJ_REACH_ABS, INT16_MIN, UINT16_MAX);
    expect_reach(EM_X86_64, R_X86_64_PC8, EJ_REACH_PC, INT8_MIN, INT8_MAX);
    expect_reach(EM_X86_64, R_X86_64_64, EJ_REACH_ANY, 0, 0);
    /* ADRP reaches +/-4 GiB (pages), B/BL +/-128 MiB. */
    expect_reach(EM_AARCH64, R_AARCH64_ADR_PREL_PG_HI21, EJ_REACH_PC, -4 * G, 4 * G - 1);
    expect_reach(EM_AARCH64, R_AARCH64_CALL26, EJ_REACH_PC, -(128 << 20), (128 << 20) - 1);
    expect_reach(EM_AARCH64, R_AARCH64_ABS16, EJ_REACH_ABS, INT16_MIN, UINT16_MAX);
    /* auipc + 12 bits reaches [-2 GiB - 2 KiB, 2 GiB - 2 KiB). */
    expect_reach(EM_RISCV, R_RISCV_PCREL_HI20, EJ_REACH_PC, -2 * G - 0x800, 2 * G - 1 - 0x800);
    expect_reach(EM_RISCV, R_RISCV_JAL, EJ_REACH_PC, -(1 << 20), (1 << 20) - 1);
}

Test(reach, a_16_bit_absolute_field_asks_for_an_image_below_64_kib)
{
    ej_linker *lk;
    ej_module *m = NULL;
    cr_assert_eq(ej_linker_create(&lk), EJ_OK);
    cr_assert_eq(ej_linker_add_file(lk, ej_test_path(EJ_TEST_OBJ_DIR, "abs16", ".o")), EJ_OK,
                 "%s", ej_linker_errmsg(lk));
    ej_status st = ej_linker_link(lk, &m);
    if (st == EJ_OK && !ej_module_symbol(m, "abs16_ref")) {
        ej_module_free(m);
        ej_linker_free(lk);
        cr_skip_test("the fixture is x86_64 assembly");
    }
    cr_expect_neq(st, EJ_OK, "linked at %p", m ? ej_module_symbol(m, "abs16_ref") : NULL);
    cr_expect(strstr(ej_linker_errmsg(lk), "R_X86_64_16 needs the image below 64 KiB"), "%s",
              ej_linker_errmsg(lk));
    if (m)
        ej_module_free(m);
    ej_linker_free(lk);
}
