/* libdw.a (+ libelf.a, libz.a, liblzma.a, libbz2.a): the DWARF of this
 * very object (compiled with -g; its path is argv[1]), read through
 * libdwfl, which applies the object's relocations to its DWARF: the
 * compilation unit, its functions with their lines, the symbol table. */
#include <dwarf.h>
#include <elfutils/libdwfl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int no_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname,
                        Dwarf_Addr base, const char *file_name, const char *debuglink_file,
                        GElf_Word debuglink_crc, char **debuginfo_file_name)
{
    (void)mod, (void)userdata, (void)modname, (void)base, (void)file_name;
    (void)debuglink_file, (void)debuglink_crc, (void)debuginfo_file_name;
    return -1; /* the object has its own DWARF: never look elsewhere */
}

static const Dwfl_Callbacks callbacks = {
    .find_debuginfo = no_debuginfo,
    .section_address = dwfl_offline_section_address,
};

int main(int argc, char **argv)
{
    if (argc < 2)
        return puts("usage: libdw OBJECT"), 2;
    Dwfl *dwfl = dwfl_begin(&callbacks);
    Dwfl_Module *mod = dwfl ? dwfl_report_offline(dwfl, "self", argv[1], -1) : NULL;
    if (!mod || dwfl_report_end(dwfl, NULL, NULL) != 0)
        return printf("dwfl: %s\n", dwfl_errmsg(-1)), 1;
    Dwarf_Addr bias;
    Dwarf *dw = dwfl_module_getdwarf(mod, &bias);
    if (!dw)
        return printf("getdwarf: %s\n", dwfl_errmsg(-1)), 1;
    int cus = 0;
    for (Dwarf_Off off = 0, next; ; off = next) {
        size_t hsize;
        if (dwarf_nextcu(dw, off, &next, &hsize, NULL, NULL, NULL) != 0)
            break;
        Dwarf_Die cu, child;
        if (!dwarf_offdie(dw, off + hsize, &cu))
            break;
        const char *name = dwarf_diename(&cu);
        const char *base = name ? strrchr(name, '/') : NULL;
        printf("cu %s language %d\n", base ? base + 1 : name, dwarf_srclang(&cu));
        cus++;
        if (dwarf_child(&cu, &child) != 0)
            continue;
        do {
            int line = 0;
            if (dwarf_tag(&child) == DW_TAG_subprogram && dwarf_hasattr(&child, DW_AT_low_pc) &&
                dwarf_decl_line(&child, &line) == 0)
                printf("  function %s line %d\n", dwarf_diename(&child), line);
        } while (dwarf_siblingof(&child, &child) == 0);
    }
    int nsym = dwfl_module_getsymtab(mod);
    int funcs = 0;
    for (int i = 1; i < nsym; i++) {
        GElf_Sym sym;
        const char *n = dwfl_module_getsym(mod, i, &sym, NULL);
        if (n && GELF_ST_TYPE(sym.st_info) == STT_FUNC)
            printf("  symbol %s\n", n), funcs++;
    }
    dwfl_end(dwfl);
    printf("%d compilation unit(s), %d function symbol(s)\n", cus, funcs);
    return cus == 1 && funcs == 2 ? 0 : 1;
}
