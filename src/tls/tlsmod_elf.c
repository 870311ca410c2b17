/* The shared object that describes a module's TLS to the C library (see
 * tlsmod.h), written with libelf.  Its layout is fixed here (ELF_F_LAYOUT:
 * file offsets equal addresses, one read-write PT_LOAD from offset 0):
 *
 *   ELF header, program headers (PT_LOAD, PT_DYNAMIC, PT_GNU_STACK, PT_TLS)
 *   .hash      one bucket: only the block symbol is found by name
 *   .dynsym    null; the block, local (what relocations name) and global
 *              (what dlsym finds); the other modules' variables, undefined
 *   .dynstr
 *   .rela.dyn  one dynamic relocation per table word
 *   .data      the table the loader fills
 *   .dynamic
 *   .tdata     the block's initial image (PT_TLS), then .tbss
 *
 * Nothing in it is executable: loading it never needs an executable
 * mapping (it works under memory-deny-write-execute). */
#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "elf/elferr.h"
#include "tls/tlsmod.h"

enum { SEC_HASH = 1, SEC_DYNSYM, SEC_DYNSTR, SEC_RELA, SEC_DATA, SEC_DYNAMIC, SEC_TDATA,
       SEC_TBSS, SEC_SHSTRTAB, NSEC };
enum { SYM_LOCAL = 1, SYM_BLOCK, SYM_FIRST_NAMED };

static const char shstrtab[] =
    "\0.hash\0.dynsym\0.dynstr\0.rela.dyn\0.data\0.dynamic\0.tdata\0.tbss\0.shstrtab";

/* Offset of NAME in shstrtab. */
static uint32_t shname(const char *name)
{
    for (uint32_t i = 1; i < sizeof shstrtab; i += (uint32_t)strlen(shstrtab + i) + 1)
        if (strcmp(shstrtab + i, name) == 0)
            return i;
    return 0;
}

/* Everything the file holds, built in memory before libelf writes it. */
typedef struct tls_so {
    uint32_t *hash;
    size_t hash_size;
    Elf64_Sym *syms;
    size_t nsyms;
    char *strs;
    size_t strs_size;
    Elf64_Rela *relas;
    size_t nrelas;
    uint64_t *table;
    size_t table_size;
    Elf64_Dyn dyn[12];
    size_t ndyn;
    /* Addresses (= file offsets) of the sections, by SEC_*. */
    uint64_t at[NSEC], size[NSEC], align[NSEC];
} tls_so;

static void tls_so_free(tls_so *so)
{
    free(so->hash);
    free(so->syms);
    free(so->strs);
    free(so->relas);
    free(so->table);
}

/* The symbol index entry I names: the local block symbol, or an undefined
 * variable (one symbol per distinct name). */
static uint32_t symbol_for(tls_so *so, const ej__tls_word *w, size_t i, const uint32_t *named)
{
    return w[i].name ? named[i] : SYM_LOCAL;
}

static ej_status build_symbols(tls_so *so, const ej__tls_block *b, const ej__tls_word *w,
                               size_t n, uint32_t *named, ej__err *err)
{
    size_t strs = 1 + sizeof "ej.tls" + sizeof EJ_TLS_BLOCK_SYMBOL;
    for (size_t i = 0; i < n; i++)
        if (w[i].name)
            strs += strlen(w[i].name) + 1;
    so->syms = calloc(SYM_FIRST_NAMED + n, sizeof *so->syms);
    so->strs = malloc(strs);
    if (!so->syms || !so->strs)
        return ej__fail(err, EJ_NOMEM, "out of memory describing thread-local storage");
    size_t at = 1;
    so->strs[0] = '\0';
    uint16_t shndx = b->memsz ? (b->filesz ? SEC_TDATA : SEC_TBSS) : SHN_ABS;
    const char *own[] = {"ej.tls", EJ_TLS_BLOCK_SYMBOL};
    for (int k = 0; k < 2; k++) {
        Elf64_Sym *s = &so->syms[SYM_LOCAL + k];
        s->st_name = (uint32_t)at;
        s->st_info = ELF64_ST_INFO(k ? STB_GLOBAL : STB_LOCAL, STT_TLS);
        s->st_shndx = shndx;
        s->st_size = b->memsz;
        memcpy(so->strs + at, own[k], strlen(own[k]) + 1);
        at += strlen(own[k]) + 1;
    }
    so->nsyms = SYM_FIRST_NAMED;
    for (size_t i = 0; i < n; i++) {
        named[i] = 0;
        if (!w[i].name)
            continue;
        for (size_t j = 0; j < i && !named[i]; j++)
            if (w[j].name && strcmp(w[j].name, w[i].name) == 0)
                named[i] = named[j];
        if (named[i])
            continue;
        Elf64_Sym *s = &so->syms[so->nsyms];
        s->st_name = (uint32_t)at;
        s->st_info = ELF64_ST_INFO(STB_GLOBAL, STT_TLS);
        s->st_shndx = SHN_UNDEF;
        memcpy(so->strs + at, w[i].name, strlen(w[i].name) + 1);
        at += strlen(w[i].name) + 1;
        named[i] = (uint32_t)so->nsyms++;
    }
    so->strs_size = at;
    /* One bucket holding the global block symbol, so that dlsym finds it. */
    so->hash_size = (2 + 1 + so->nsyms) * sizeof *so->hash;
    if (!(so->hash = calloc(1, so->hash_size)))
        return ej__fail(err, EJ_NOMEM, "out of memory describing thread-local storage");
    so->hash[0] = 1;
    so->hash[1] = (uint32_t)so->nsyms;
    so->hash[2] = b->memsz ? SYM_BLOCK : 0;
    return EJ_OK;
}

/* The dynamic type for entry W, or 0 when the ABI has none. */
static uint32_t dynamic_type(const struct ej__tls_abi *a, const ej__tls_word *w)
{
    switch (w->what) {
    case EJ_TLSW_TPOFF: return a->tpoff;
    case EJ_TLSW_MODID: return a->dtpmod;
    case EJ_TLSW_DTPOFF: return a->dtpoff;
    default: return a->desc;
    }
}

static ej_status build_relocs(tls_so *so, const struct ej__tls_abi *a, const ej__tls_word *w,
                              size_t n, const uint32_t *named, uint64_t table, ej__err *err)
{
    so->relas = calloc(n ? n : 1, sizeof *so->relas);
    if (!so->relas)
        return ej__fail(err, EJ_NOMEM, "out of memory describing thread-local storage");
    uint64_t at = table;
    for (size_t i = 0; i < n; i++) {
        uint32_t type = dynamic_type(a, &w[i]);
        if (!type)
            return ej__fail(err, EJ_UNSUPPORTED, "TLS descriptors%s%s: the C library of this "
                            "architecture has none", w[i].name ? " for " : "",
                            w[i].name ? w[i].name : "");
        Elf64_Rela *r = &so->relas[so->nrelas++];
        r->r_offset = at;
        r->r_info = ELF64_R_INFO(symbol_for(so, w, i, named), type);
        r->r_addend = w[i].name ? 0 : (int64_t)w[i].off;
        at += 8 * ej__tls_word_count(&w[i]);
    }
    return EJ_OK;
}

static void build_dynamic(tls_so *so, int static_tls)
{
    const struct { int64_t tag; uint64_t val; } d[] = {
        {DT_HASH, so->at[SEC_HASH]},       {DT_STRTAB, so->at[SEC_DYNSTR]},
        {DT_SYMTAB, so->at[SEC_DYNSYM]},   {DT_STRSZ, so->strs_size},
        {DT_SYMENT, sizeof(Elf64_Sym)},    {DT_RELA, so->at[SEC_RELA]},
        {DT_RELASZ, so->nrelas * sizeof(Elf64_Rela)},
        {DT_RELAENT, sizeof(Elf64_Rela)},  {DT_FLAGS, static_tls ? DF_STATIC_TLS : 0},
        {DT_NULL, 0},
    };
    so->ndyn = 0;
    for (size_t i = 0; i < sizeof d / sizeof d[0]; i++) {
        if (d[i].tag == DT_RELA && !so->nrelas)
            i += 2; /* no DT_RELA, DT_RELASZ, DT_RELAENT */
        so->dyn[so->ndyn].d_tag = d[i].tag;
        so->dyn[so->ndyn++].d_un.d_val = d[i].val;
    }
}

/* Addresses of every section, each at its alignment after the last. */
static uint64_t lay_out(tls_so *so, const ej__tls_block *b, uint64_t start)
{
    const uint64_t sizes[NSEC] = {
        [SEC_HASH] = so->hash_size, [SEC_DYNSYM] = so->nsyms * sizeof(Elf64_Sym),
        [SEC_DYNSTR] = so->strs_size, [SEC_RELA] = so->nrelas * sizeof(Elf64_Rela),
        [SEC_DATA] = so->table_size, [SEC_DYNAMIC] = sizeof so->dyn,
        [SEC_TDATA] = b->filesz, [SEC_TBSS] = b->memsz - b->filesz,
        [SEC_SHSTRTAB] = sizeof shstrtab,
    };
    const uint64_t aligns[NSEC] = {
        [SEC_HASH] = 4, [SEC_DYNSYM] = 8, [SEC_DYNSTR] = 1, [SEC_RELA] = 8, [SEC_DATA] = 16,
        [SEC_DYNAMIC] = 8, [SEC_TDATA] = b->align ? b->align : 1, [SEC_TBSS] = 1,
        [SEC_SHSTRTAB] = 1,
    };
    uint64_t at = start;
    for (int i = 1; i < NSEC; i++) {
        so->align[i] = aligns[i];
        so->size[i] = sizes[i];
        so->at[i] = at = ej__align_up(at, aligns[i]);
        if (i != SEC_TBSS)
            at += sizes[i];
    }
    /* (.tbss occupies no file bytes: .shstrtab follows .tdata.) */
    return at;
}

static ej_status add_section(Elf *e, const tls_so *so, int i, uint32_t type, uint64_t flags,
                             const void *data, Elf_Type dtype, uint32_t link, uint32_t info,
                             uint64_t entsize, ej__err *err)
{
    (void)elf_errno();
    Elf_Scn *scn = elf_newscn(e);
    int code = elf_errno(); /* see src/elf/writer.c: a half-made section */
    if (!scn || code)
        return ej__elf_fail_code(err, EJ_IO, code, "cannot add a section to the TLS module");
    Elf_Data *d = elf_newdata(scn);
    GElf_Shdr sh;
    if (!d || !gelf_getshdr(scn, &sh))
        return ej__elf_fail(err, EJ_IO, "cannot add a section to the TLS module");
    d->d_buf = type == SHT_NOBITS ? NULL : (void *)(uintptr_t)data;
    d->d_size = so->size[i];
    d->d_align = so->align[i];
    d->d_type = dtype;
    sh.sh_name = shname(i == SEC_HASH ? ".hash" : i == SEC_DYNSYM ? ".dynsym"
                        : i == SEC_DYNSTR ? ".dynstr" : i == SEC_RELA ? ".rela.dyn"
                        : i == SEC_DATA ? ".data" : i == SEC_DYNAMIC ? ".dynamic"
                        : i == SEC_TDATA ? ".tdata" : i == SEC_TBSS ? ".tbss" : ".shstrtab");
    sh.sh_type = type;
    sh.sh_flags = flags;
    sh.sh_addr = i == SEC_SHSTRTAB ? 0 : so->at[i];
    sh.sh_offset = so->at[i];
    sh.sh_size = so->size[i];
    sh.sh_addralign = so->align[i];
    sh.sh_link = link;
    sh.sh_info = info;
    sh.sh_entsize = entsize;
    if (!gelf_update_shdr(scn, &sh))
        return ej__elf_fail(err, EJ_IO, "cannot set a section header of the TLS module");
    return EJ_OK;
}

static ej_status add_sections(Elf *e, const tls_so *so, const ej__tls_block *b, ej__err *err)
{
    const uint64_t A = SHF_ALLOC, AW = SHF_ALLOC | SHF_WRITE, TLS = AW | SHF_TLS;
    ej_status st;
    if ((st = add_section(e, so, SEC_HASH, SHT_HASH, A, so->hash, ELF_T_WORD, SEC_DYNSYM, 0, 4,
                          err)) != EJ_OK ||
        (st = add_section(e, so, SEC_DYNSYM, SHT_DYNSYM, A, so->syms, ELF_T_SYM, SEC_DYNSTR,
                          SYM_BLOCK, sizeof(Elf64_Sym), err)) != EJ_OK ||
        (st = add_section(e, so, SEC_DYNSTR, SHT_STRTAB, A, so->strs, ELF_T_BYTE, 0, 0, 0,
                          err)) != EJ_OK ||
        (st = add_section(e, so, SEC_RELA, SHT_RELA, A, so->relas, ELF_T_RELA, SEC_DYNSYM, 0,
                          sizeof(Elf64_Rela), err)) != EJ_OK ||
        (st = add_section(e, so, SEC_DATA, SHT_PROGBITS, AW, so->table, ELF_T_BYTE, 0, 0, 0,
                          err)) != EJ_OK ||
        (st = add_section(e, so, SEC_DYNAMIC, SHT_DYNAMIC, AW, so->dyn, ELF_T_DYN, SEC_DYNSTR,
                          0, sizeof(Elf64_Dyn), err)) != EJ_OK ||
        (st = add_section(e, so, SEC_TDATA, SHT_PROGBITS, TLS, b->init, ELF_T_BYTE, 0, 0, 0,
                          err)) != EJ_OK ||
        (st = add_section(e, so, SEC_TBSS, SHT_NOBITS, TLS, NULL, ELF_T_BYTE, 0, 0, 0, err)) !=
            EJ_OK)
        return st;
    return add_section(e, so, SEC_SHSTRTAB, SHT_STRTAB, 0, shstrtab, ELF_T_BYTE, 0, 0, 0, err);
}

static ej_status write_headers(Elf *e, const tls_so *so, uint16_t machine,
                               const struct ej__tls_abi *a, const ej__tls_block *b, uint64_t shoff, ej__err *err)
{
    GElf_Ehdr eh;
    if (!gelf_newehdr(e, ELFCLASS64) || !gelf_getehdr(e, &eh))
        return ej__elf_fail(err, EJ_IO, "cannot create the TLS module's ELF header");
    eh.e_ident[EI_DATA] = ELFDATA2LSB;
    eh.e_type = ET_DYN;
    eh.e_machine = machine;
    eh.e_version = EV_CURRENT;
    eh.e_flags = a->e_flags;
    eh.e_phoff = sizeof(Elf64_Ehdr);
    eh.e_shoff = shoff;
    eh.e_shstrndx = SEC_SHSTRTAB;
    if (!gelf_update_ehdr(e, &eh))
        return ej__elf_fail(err, EJ_IO, "cannot write the TLS module's ELF header");
    int nph = b->memsz ? 4 : 3;
    if (!gelf_newphdr(e, (size_t)nph))
        return ej__elf_fail(err, EJ_IO, "cannot create the TLS module's program headers");
    uint64_t end = so->at[SEC_TDATA] + b->filesz, page = (uint64_t)sysconf(_SC_PAGESIZE);
    const GElf_Phdr ph[4] = {
        {PT_LOAD, PF_R | PF_W, 0, 0, 0, end, end, page},
        {PT_DYNAMIC, PF_R | PF_W, so->at[SEC_DYNAMIC], so->at[SEC_DYNAMIC],
         so->at[SEC_DYNAMIC], sizeof so->dyn, sizeof so->dyn, 8},
        {PT_GNU_STACK, PF_R | PF_W, 0, 0, 0, 0, 0, 16},
        {PT_TLS, PF_R, so->at[SEC_TDATA], so->at[SEC_TDATA], so->at[SEC_TDATA], b->filesz,
         b->memsz, b->align ? b->align : 1},
    };
    for (int i = 0; i < nph; i++)
        if (!gelf_update_phdr(e, i, (GElf_Phdr *)&ph[i]))
            return ej__elf_fail(err, EJ_IO, "cannot write the TLS module's program headers");
    return EJ_OK;
}

ej_status ej__tls_module_write(int fd, uint16_t machine, const struct ej__tls_abi *a,
                               const ej__tls_block *b, const ej__tls_word *w, size_t n,
                               uint64_t *table_vaddr, ej__err *err)
{
    tls_so so = {0};
    uint32_t *named = malloc((n ? n : 1) * sizeof *named);
    ej_status st = named ? EJ_OK : ej__fail(err, EJ_NOMEM, "out of memory describing thread-local storage");
    size_t words = 0;
    for (size_t i = 0; i < n; i++)
        words += ej__tls_word_count(&w[i]);
    so.table_size = words * 8;
    if (st == EJ_OK && !(so.table = calloc(words ? words : 1, 8)))
        st = ej__fail(err, EJ_NOMEM, "out of memory describing thread-local storage");
    if (st == EJ_OK)
        st = build_symbols(&so, b, w, n, named, err);
    so.nrelas = n; /* sizes the layout; build_relocs recounts */
    int nph = b->memsz ? 4 : 3;
    uint64_t end = 0;
    if (st == EJ_OK) {
        lay_out(&so, b, sizeof(Elf64_Ehdr) + (uint64_t)nph * sizeof(Elf64_Phdr));
        so.nrelas = 0;
        st = build_relocs(&so, a, w, n, named, so.at[SEC_DATA], err);
    }
    if (st == EJ_OK) {
        build_dynamic(&so, 0);
        for (size_t i = 0; i < n; i++)
            if (!w[i].name && w[i].what == EJ_TLSW_TPOFF)
                build_dynamic(&so, 1);
        end = so.at[SEC_SHSTRTAB] + sizeof shstrtab;
    }
    Elf *e = NULL;
    if (st == EJ_OK && elf_version(EV_CURRENT) == EV_NONE)
        st = ej__fail(err, EJ_IO, "libelf version mismatch");
    if (st == EJ_OK && !(e = elf_begin(fd, ELF_C_WRITE, NULL)))
        st = ej__elf_fail(err, EJ_IO, "cannot start writing the TLS module");
    if (st == EJ_OK && !elf_flagelf(e, ELF_C_SET, ELF_F_LAYOUT))
        st = ej__elf_fail(err, EJ_IO, "cannot lay out the TLS module");
    if (st == EJ_OK)
        st = write_headers(e, &so, machine, a, b, ej__align_up(end, 8), err);
    if (st == EJ_OK)
        st = add_sections(e, &so, b, err);
    if (st == EJ_OK && elf_update(e, ELF_C_WRITE) < 0)
        st = ej__elf_fail(err, EJ_IO, "cannot write the TLS module");
    if (e)
        elf_end(e);
    *table_vaddr = so.at[SEC_DATA];
    tls_so_free(&so);
    free(named);
    return st;
}
