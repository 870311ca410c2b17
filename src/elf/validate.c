/* Field-by-field validation of an ELF64 ET_REL object.  Each validator
 * names the file, the section (index and name) and the offending value. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

#include "elf/elferr.h"
#include "elf/validate.h"

#define MAX_ALIGN ((uint64_t)1 << 30)
/* The largest section or common symbol: far beyond any real object, small
 * enough that layout sums of them cannot overflow. */
#define MAX_SIZE ((uint64_t)1 << 40)

static const char *sec_name(const ej__object *obj, size_t i)
{
    return obj->sec && i < obj->shnum && obj->sec[i].name ? obj->sec[i].name : "?";
}

/* Checks the raw bytes before libelf sees them, so that truncation, a bad
 * section header table or a bad section name table is reported as what it
 * is rather than as whatever libelf stumbles on first. */
static ej_status check_raw_header(const ej__object *obj, ej__err *err)
{
    const uint8_t *b = obj->image;
    size_t len = obj->image_len;
    if (len >= 8 && (memcmp(b, "!<arch>\n", 8) == 0 || memcmp(b, "!<thin>\n", 8) == 0)) {
        ej__fail(err, EJ_BADELF, "%s: an archive, not an object (a member of an archive?)",
                 obj->name);
        return EJ__IS_ARCHIVE;
    }
    if (len < SELFMAG || memcmp(b, ELFMAG, SELFMAG) != 0)
        return ej__fail(err, EJ_BADELF, "%s: not an ELF object (no ELF magic number)", obj->name);
    if (len <= EI_DATA)
        return ej__fail(err, EJ_BADELF, "%s: truncated ELF header (%zu bytes)", obj->name, len);
    if (b[EI_CLASS] != ELFCLASS64)
        return ej__fail(err, EJ_UNSUPPORTED, "%s: ELF class %u: only ELFCLASS64 objects are supported",
                        obj->name, b[EI_CLASS]);
    /* (e_type little-endian at 16: archive members are not aligned) */
    if (len >= sizeof(Elf64_Ehdr) && b[EI_DATA] == ELFDATA2LSB &&
        (b[offsetof(Elf64_Ehdr, e_type)] | b[offsetof(Elf64_Ehdr, e_type) + 1] << 8) == ET_DYN) {
        ej__fail(err, EJ_UNSUPPORTED, "%s: ELF type 3 (ET_DYN) is not ET_REL (a relocatable "
                 "object): a shared object, or an image", obj->name);
        return EJ__IS_IMAGE;
    }
    if (b[EI_DATA] != ELFDATA2LSB)
        return ej__fail(err, EJ_UNSUPPORTED, "%s: ELF data encoding %u: only little-endian objects are supported",
                        obj->name, b[EI_DATA]);
    if (len < sizeof(Elf64_Ehdr))
        return ej__fail(err, EJ_BADELF, "%s: truncated ELF header (%zu bytes, needs %zu)",
                        obj->name, len, sizeof(Elf64_Ehdr));
    return EJ_OK;
}

/* Reads raw section header I, which the caller has bounds-checked. */
static Elf64_Shdr raw_shdr(const ej__object *obj, uint64_t shoff, size_t i)
{
    Elf64_Shdr sh;
    memcpy(&sh, obj->image + shoff + i * sizeof sh, sizeof sh);
    return sh;
}

static ej_status check_raw_sections(const ej__object *obj, ej__err *err)
{
    Elf64_Ehdr eh;
    memcpy(&eh, obj->image, sizeof eh);
    size_t len = obj->image_len;
    if (eh.e_shentsize != sizeof(Elf64_Shdr))
        return ej__fail(err, EJ_BADELF, "%s: e_shentsize %u, expected %zu",
                        obj->name, eh.e_shentsize, sizeof(Elf64_Shdr));
    if (eh.e_shoff == 0 || eh.e_shoff > len || len - eh.e_shoff < sizeof(Elf64_Shdr))
        return ej__fail(err, EJ_BADELF, "%s: no section header table inside the file (e_shoff 0x%llx, %zu bytes)",
                        obj->name, (unsigned long long)eh.e_shoff, len);
    /* Extended numbering keeps the real count and name table index in
     * section 0. */
    Elf64_Shdr s0 = raw_shdr(obj, eh.e_shoff, 0);
    uint64_t count = eh.e_shnum ? eh.e_shnum : s0.sh_size;
    uint64_t strndx = eh.e_shstrndx == SHN_XINDEX ? s0.sh_link : eh.e_shstrndx;
    if (count > (len - eh.e_shoff) / sizeof(Elf64_Shdr))
        return ej__fail(err, EJ_BADELF, "%s: section header table (offset 0x%llx, %llu entries) extends past the end of the file (%zu bytes)",
                        obj->name, (unsigned long long)eh.e_shoff, (unsigned long long)count, len);
    if (strndx == 0 || strndx >= count)
        return ej__fail(err, EJ_BADELF, "%s: section name table index %llu out of range (%llu sections)",
                        obj->name, (unsigned long long)strndx, (unsigned long long)count);
    Elf64_Shdr st = raw_shdr(obj, eh.e_shoff, strndx);
    if (st.sh_type != SHT_STRTAB)
        return ej__fail(err, EJ_BADELF, "%s: section %llu, the section name table, is not a string table (type %u)",
                        obj->name, (unsigned long long)strndx, st.sh_type);
    if (st.sh_offset > len || st.sh_size > len - st.sh_offset || st.sh_size == 0 ||
        obj->image[st.sh_offset + st.sh_size - 1] != '\0')
        return ej__fail(err, EJ_BADELF, "%s: section %llu, the section name table (0x%llx+0x%llx), is empty, not NUL-terminated or past the end of the file (%zu bytes)",
                        obj->name, (unsigned long long)strndx, (unsigned long long)st.sh_offset,
                        (unsigned long long)st.sh_size, len);
    return EJ_OK;
}

ej_status ej__validate_raw(const ej__object *obj, ej__err *err)
{
    ej_status st = check_raw_header(obj, err);
    return st != EJ_OK ? st : check_raw_sections(obj, err);
}

static ej_status check_header(ej__object *obj, ej__err *err)
{
    GElf_Ehdr eh;
    if (elf_kind(obj->elf) != ELF_K_ELF || !gelf_getehdr(obj->elf, &eh))
        return ej__elf_fail(err, EJ_BADELF, "%s: not a readable ELF object", obj->name);
    if (eh.e_type != ET_REL)
        return ej__fail(err, EJ_UNSUPPORTED, "%s: ELF type %u is not ET_REL (a relocatable object)",
                        obj->name, eh.e_type);
    obj->arch = ej__arch_for_machine(eh.e_machine);
    if (!obj->arch)
        return ej__fail(err, EJ_UNSUPPORTED, "%s: machine %u is not supported",
                        obj->name, eh.e_machine);
    size_t shnum, shstrndx;
    if (elf_getshdrnum(obj->elf, &shnum) != 0 || elf_getshdrstrndx(obj->elf, &shstrndx) != 0 ||
        shnum == 0 || shstrndx >= shnum)
        return ej__elf_fail(err, EJ_BADELF, "%s: bad section header table",
                        obj->name);
    obj->shnum = shnum;
    obj->sec = calloc(shnum, sizeof *obj->sec);
    if (!obj->sec)
        return ej__fail(err, EJ_NOMEM, "%s: out of memory", obj->name);
    return EJ_OK;
}

/* The section name table, copied (see ej__object_own) and checked to end
 * in a NUL, so that every offset inside it names a terminated string. */
typedef struct name_table {
    const char *s;
    size_t len;
} name_table;

static ej_status copy_section_names(ej__object *obj, size_t shstrndx, name_table *nt,
                                    ej__err *err)
{
    Elf_Scn *scn = elf_getscn(obj->elf, shstrndx);
    Elf_Data *d = scn ? elf_rawdata(scn, NULL) : NULL;
    if (!d || !d->d_buf || !d->d_size)
        return ej__elf_fail(err, EJ_BADELF, "%s: section name table %zu unreadable or empty",
                        obj->name, shstrndx);
    char *copy = ej__object_own(obj, d->d_buf, d->d_size);
    if (!copy)
        return ej__fail(err, EJ_NOMEM, "%s: out of memory copying the section names",
                        obj->name);
    if (copy[d->d_size - 1] != '\0')
        return ej__fail(err, EJ_BADELF, "%s: section %zu, the section name table, is not "
                        "NUL-terminated", obj->name, shstrndx);
    *nt = (name_table){copy, d->d_size};
    return EJ_OK;
}

static ej_status check_section(ej__object *obj, size_t i, const name_table *nt,
                               ej__err *err)
{
    ej__section *s = &obj->sec[i];
    s->scn = elf_getscn(obj->elf, i);
    if (!s->scn || !gelf_getshdr(s->scn, &s->shdr))
        return ej__elf_fail(err, EJ_BADELF, "%s: section %zu: cannot read header",
                        obj->name, i);
    const GElf_Shdr *h = &s->shdr;
    if (h->sh_name >= nt->len)
        return ej__fail(err, EJ_BADELF, "%s: section %zu: name offset 0x%x outside the section name table",
                        obj->name, i, h->sh_name);
    s->name = nt->s + h->sh_name;
    s->size = h->sh_size;
    if (h->sh_type != SHT_NOBITS && h->sh_type != SHT_NULL &&
        (h->sh_offset > obj->image_len || h->sh_size > obj->image_len - h->sh_offset))
        return ej__fail(err, EJ_BADELF, "%s: section %zu (%s): contents at 0x%llx+0x%llx extend past the end of the file (%zu bytes)",
                        obj->name, i, s->name, (unsigned long long)h->sh_offset,
                        (unsigned long long)h->sh_size, obj->image_len);
    if (h->sh_size > MAX_SIZE)
        return ej__fail(err, EJ_BADELF, "%s: section %zu (%s): size 0x%llx exceeds 1 TiB",
                        obj->name, i, s->name, (unsigned long long)h->sh_size);
    if (h->sh_addralign > MAX_ALIGN || (h->sh_addralign > 1 && !ej__is_pow2(h->sh_addralign)))
        return ej__fail(err, EJ_BADELF, "%s: section %zu (%s): alignment 0x%llx is not a power of two up to 1 GiB",
                        obj->name, i, s->name, (unsigned long long)h->sh_addralign);
    if (h->sh_link >= obj->shnum)
        return ej__fail(err, EJ_BADELF, "%s: section %zu (%s): sh_link %u out of range (%zu sections)",
                        obj->name, i, s->name, h->sh_link, obj->shnum);
    if ((h->sh_flags & SHF_ALLOC) && (h->sh_flags & SHF_WRITE) &&
        (h->sh_flags & SHF_EXECINSTR))
        return ej__fail(err, EJ_UNSUPPORTED, "%s: section %zu (%s) asks to be writable and executable at once",
                        obj->name, i, s->name);
    /* The assembler marks an object that needs an executable stack (GNU C
     * nested-function trampolines) with an executable .note.GNU-stack. */
    if (strcmp(s->name, ".note.GNU-stack") == 0 && (h->sh_flags & SHF_EXECINSTR))
        return ej__fail(err, EJ_UNSUPPORTED, "%s: section %zu (%s): the object needs an executable stack (nested-function trampolines?), and elfjit never makes memory writable and executable",
                        obj->name, i, s->name);
    if (h->sh_flags & SHF_COMPRESSED) {
        GElf_Chdr ch;
        if (h->sh_flags & SHF_ALLOC)
            return ej__fail(err, EJ_BADELF, "%s: section %zu (%s): SHF_COMPRESSED on an allocated section",
                            obj->name, i, s->name);
        /* An archive member's header may be unaligned: libelf then copies
         * it, and reports its allocation failing as bad data (errno
         * tells). */
        errno = 0;
        if (!gelf_getchdr(s->scn, &ch))
            return ej__elf_fail(err, errno == ENOMEM ? EJ_NOMEM : EJ_BADELF,
                                "%s: section %zu (%s): %s", obj->name, i, s->name,
                                errno == ENOMEM ? "out of memory reading its compression header"
                                                : "bad compression header");
        if (ch.ch_type != ELFCOMPRESS_ZLIB)
            return ej__fail(err, EJ_UNSUPPORTED, "%s: section %zu (%s): compression type %u is not zlib",
                            obj->name, i, s->name, ch.ch_type);
        s->size = ch.ch_size;
    }
    return EJ_OK;
}

/* A byte range of the file that one thing owns, for check_file_ranges. */
typedef struct file_range {
    uint64_t off, end;
    size_t sec; /* section index; SIZE_MAX: the ELF header, SIZE_MAX - 1: the section headers */
} file_range;

static int by_file_offset(const void *a, const void *b)
{
    const file_range *x = a, *y = b;
    return x->off < y->off ? -1 : x->off > y->off;
}

static const char *range_name(const ej__object *obj, const file_range *r, char *buf, size_t len)
{
    if (r->sec == SIZE_MAX)
        return "the ELF header";
    if (r->sec == SIZE_MAX - 1)
        return "the section header table";
    snprintf(buf, len, "section %zu (%s)", r->sec, sec_name(obj, r->sec));
    return buf;
}

/* No two sections' contents share bytes of the file, nor with the ELF
 * header or the section header table: compilers never write that, and a
 * section that aliases another (.data over .text, a .rela over .symtab)
 * would let one table be read as another. */
static ej_status check_file_ranges(ej__object *obj, ej__err *err)
{
    file_range *r = malloc((obj->shnum + 2) * sizeof *r);
    if (!r)
        return ej__fail(err, EJ_NOMEM, "%s: out of memory checking section offsets", obj->name);
    size_t n = 0;
    Elf64_Ehdr eh;
    memcpy(&eh, obj->image, sizeof eh);
    r[n++] = (file_range){0, sizeof eh, SIZE_MAX};
    r[n++] = (file_range){eh.e_shoff, eh.e_shoff + obj->shnum * sizeof(Elf64_Shdr), SIZE_MAX - 1};
    for (size_t i = 1; i < obj->shnum; i++) {
        const GElf_Shdr *h = &obj->sec[i].shdr;
        if (h->sh_type != SHT_NOBITS && h->sh_type != SHT_NULL && h->sh_size)
            r[n++] = (file_range){h->sh_offset, h->sh_offset + h->sh_size, i};
    }
    qsort(r, n, sizeof *r, by_file_offset);
    ej_status st = EJ_OK;
    for (size_t k = 1; k < n && st == EJ_OK; k++) {
        if (r[k].off >= r[k - 1].end)
            continue;
        char a[128], b[128];
        st = ej__fail(err, EJ_BADELF, "%s: %s (0x%llx+0x%llx) and %s (0x%llx+0x%llx) overlap in the file",
                      obj->name, range_name(obj, &r[k - 1], a, sizeof a),
                      (unsigned long long)r[k - 1].off,
                      (unsigned long long)(r[k - 1].end - r[k - 1].off),
                      range_name(obj, &r[k], b, sizeof b), (unsigned long long)r[k].off,
                      (unsigned long long)(r[k].end - r[k].off));
    }
    free(r);
    return st;
}

/* One block for the copies of every table checked below (keep_copy);
 * their sizes are validated and, as the sections do not overlap, add up
 * to less than the file. */
static ej_status reserve_table_copies(ej__object *obj, size_t shstrndx, ej__err *err)
{
    size_t total = 0;
    for (size_t i = 1; i < obj->shnum; i++) {
        uint32_t t = obj->sec[i].shdr.sh_type;
        /* (Only sections with bytes in the file: a SHT_NOBITS or SHT_NULL
         * ".eh_frame" may claim any size, and is copied by nobody.) */
        if (i != shstrndx && (t == SHT_SYMTAB || t == SHT_STRTAB || t == SHT_SYMTAB_SHNDX ||
                              t == SHT_GROUP || t == SHT_RELA ||
                              (t != SHT_NOBITS && t != SHT_NULL &&
                               strcmp(obj->sec[i].name, ".eh_frame") == 0)))
            total += ej__align_up(obj->sec[i].shdr.sh_size, 16);
    }
    if (total > obj->image_len + 16 * obj->shnum)
        total = 0; /* (never: sizes in the file were checked; copies then come one by one) */
    return ej__object_reserve_copies(obj, total, err);
}

/* Replaces the loaded contents of section I by a copy the object owns
 * (see ej__object_own): what is validated next is what is used later. */
static ej_status keep_copy(ej__object *obj, size_t i, ej__err *err)
{
    ej__section *s = &obj->sec[i];
    /* Bytes libelf shows in place come straight from the file: read them
     * from the descriptor, which leaves the mapping's pages untouched
     * (cheaper than faulting them in to copy them). */
    int from_file = obj->fd >= 0 && s->size && s->data == obj->image + s->shdr.sh_offset;
    void *copy = ej__object_own(obj, from_file ? NULL : s->data, s->size);
    if (!copy)
        return ej__fail(err, EJ_NOMEM, "%s: section %zu (%s): out of memory copying %llu bytes",
                        obj->name, i, s->name, (unsigned long long)s->size);
    for (uint64_t at = 0; from_file && at < s->size;) {
        ssize_t n = pread(obj->fd, (uint8_t *)copy + at, s->size - at,
                          (off_t)(obj->fd_base + s->shdr.sh_offset + at));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return ej__fail(err, EJ_IO, "%s: section %zu (%s): cannot read it again: %s",
                            obj->name, i, s->name, n < 0 ? strerror(errno) : "the file shrank");
        at += (uint64_t)n;
    }
    s->data = copy;
    return EJ_OK;
}

/* A copy of a section whose entries we read as native structs (copies are
 * 16-byte aligned, ej__object_own, so any entry type may be read in
 * place). */
static ej_status raw_entries(ej__object *obj, size_t i, size_t entsize,
                             const void **out, ej__err *err)
{
    ej__section *s = &obj->sec[i];
    if (s->shdr.sh_entsize != entsize || s->shdr.sh_size % entsize)
        return ej__fail(err, EJ_BADELF, "%s: section %zu (%s): entry size %llu and size %llu, expected entries of %zu bytes",
                        obj->name, i, s->name, (unsigned long long)s->shdr.sh_entsize,
                        (unsigned long long)s->shdr.sh_size, entsize);
    if (s->shdr.sh_flags & SHF_COMPRESSED)
        return ej__fail(err, EJ_UNSUPPORTED, "%s: section %zu (%s): compressed symbol or relocation tables are not supported",
                        obj->name, i, s->name);
    ej_status st = ej__validate_load_section(obj, i, err);
    if (st == EJ_OK)
        st = keep_copy(obj, i, err);
    if (st != EJ_OK)
        return st;
    *out = s->data;
    return EJ_OK;
}

static ej_status check_symtab(ej__object *obj, ej__err *err)
{
    size_t symtab = 0, xindex = 0;
    for (size_t i = 1; i < obj->shnum; i++) {
        uint32_t type = obj->sec[i].shdr.sh_type;
        if (type == SHT_SYMTAB) {
            if (symtab)
                return ej__fail(err, EJ_BADELF, "%s: sections %zu and %zu: more than one symbol table",
                                obj->name, symtab, i);
            symtab = i;
        } else if (type == SHT_SYMTAB_SHNDX) {
            xindex = i;
        }
    }
    if (!symtab)
        return EJ_OK; /* an object with no symbols is unusual but valid */
    ej__section *s = &obj->sec[symtab];
    const void *raw;
    ej_status st = raw_entries(obj, symtab, sizeof(Elf64_Sym), &raw, err);
    if (st != EJ_OK)
        return st;
    obj->syms = raw;
    obj->nsyms = (size_t)(s->size / sizeof(Elf64_Sym));
    obj->first_global = s->shdr.sh_info;
    if (obj->first_global > obj->nsyms)
        return ej__fail(err, EJ_BADELF, "%s: section %zu (%s): sh_info %zu (first global) exceeds %zu symbols",
                        obj->name, symtab, s->name, obj->first_global, obj->nsyms);
    if (obj->first_global == 0 && obj->nsyms)
        return ej__fail(err, EJ_BADELF, "%s: section %zu (%s): sh_info 0 (first global), but symbol 0 is always local",
                        obj->name, symtab, s->name);
    ej__section *str = &obj->sec[s->shdr.sh_link];
    if (str->shdr.sh_type != SHT_STRTAB)
        return ej__fail(err, EJ_BADELF, "%s: section %zu (%s): sh_link %u is not a string table",
                        obj->name, symtab, s->name, s->shdr.sh_link);
    if ((st = ej__validate_load_section(obj, s->shdr.sh_link, err)) != EJ_OK ||
        (st = keep_copy(obj, s->shdr.sh_link, err)) != EJ_OK)
        return st;
    obj->strtab = (const char *)str->data;
    obj->strtab_size = str->size;
    if (obj->strtab_size == 0 || obj->strtab[obj->strtab_size - 1] != '\0')
        return ej__fail(err, EJ_BADELF, "%s: section %u (%s): string table is empty or not NUL-terminated",
                        obj->name, s->shdr.sh_link, str->name);
    if (xindex) {
        ej__section *x = &obj->sec[xindex];
        if (x->shdr.sh_link != symtab)
            return ej__fail(err, EJ_BADELF, "%s: section %zu (%s): sh_link %u is not the symbol table",
                            obj->name, xindex, x->name, x->shdr.sh_link);
        if ((st = raw_entries(obj, xindex, sizeof(Elf32_Word), &raw, err)) != EJ_OK)
            return st;
        if (x->size / sizeof(Elf32_Word) < obj->nsyms)
            return ej__fail(err, EJ_BADELF, "%s: section %zu (%s): %llu entries for %zu symbols",
                            obj->name, xindex, x->name,
                            (unsigned long long)(x->size / sizeof(Elf32_Word)), obj->nsyms);
        obj->xindex = raw;
    }
    return EJ_OK;
}

static ej_status check_symbol(ej__object *obj, size_t i, ej__err *err)
{
    const Elf64_Sym *s = &obj->syms[i];
    if (s->st_name >= obj->strtab_size)
        return ej__fail(err, EJ_BADELF, "%s: symbol %zu: name offset 0x%x outside the string table (%zu bytes)",
                        obj->name, i, s->st_name, obj->strtab_size);
    const char *name = obj->strtab + s->st_name;
    unsigned bind = ELF64_ST_BIND(s->st_info);
    if (bind != STB_LOCAL && bind != STB_GLOBAL && bind != STB_WEAK && bind != STB_GNU_UNIQUE)
        return ej__fail(err, EJ_UNSUPPORTED, "%s: symbol %zu ('%s'): binding %u is not supported",
                        obj->name, i, name, bind);
    if ((bind == STB_LOCAL) != (i < obj->first_global))
        return ej__fail(err, EJ_BADELF, "%s: symbol %zu ('%s'): %s symbol %s the symbol table's first global (%zu)",
                        obj->name, i, name, bind == STB_LOCAL ? "a local" : "a global",
                        bind == STB_LOCAL ? "at or after" : "before", obj->first_global);
    if (s->st_shndx == SHN_XINDEX && !obj->xindex)
        return ej__fail(err, EJ_BADELF, "%s: symbol %zu ('%s'): SHN_XINDEX without a SHT_SYMTAB_SHNDX section",
                        obj->name, i, name);
    uint32_t shndx = ej__object_sym_shndx(obj, i);
    if (s->st_shndx == SHN_XINDEX && (shndx == 0 || shndx >= obj->shnum))
        return ej__fail(err, EJ_BADELF, "%s: symbol %zu ('%s'): extended section index %u out of range (%zu sections)",
                        obj->name, i, name, shndx, obj->shnum);
    if (shndx == SHN_UNDEF || shndx == SHN_ABS)
        return EJ_OK;
    if (shndx == SHN_COMMON) {
        if (s->st_size > MAX_SIZE)
            return ej__fail(err, EJ_BADELF, "%s: common symbol %zu ('%s'): size 0x%llx exceeds 1 TiB",
                            obj->name, i, name, (unsigned long long)s->st_size);
        if (s->st_value > MAX_ALIGN || (s->st_value > 1 && !ej__is_pow2(s->st_value)))
            return ej__fail(err, EJ_BADELF, "%s: common symbol %zu ('%s'): alignment %llu is not a power of two up to 1 GiB",
                            obj->name, i, name, (unsigned long long)s->st_value);
        return EJ_OK;
    }
    if (shndx >= obj->shnum || (shndx >= SHN_LORESERVE && shndx <= SHN_HIRESERVE && s->st_shndx != SHN_XINDEX))
        return ej__fail(err, EJ_BADELF, "%s: symbol %zu ('%s'): section index %u out of range (%zu sections)",
                        obj->name, i, name, shndx, obj->shnum);
    const ej__section *sec = &obj->sec[shndx];
    if (sec->shdr.sh_type == SHT_NULL)
        return ej__fail(err, EJ_BADELF, "%s: symbol %zu ('%s'): defined in null section %u",
                        obj->name, i, name, shndx);
    if (s->st_value > sec->size)
        return ej__fail(err, EJ_BADELF, "%s: symbol %zu ('%s'): value 0x%llx past the end of section %u (%s, 0x%llx bytes)",
                        obj->name, i, name, (unsigned long long)s->st_value, shndx,
                        sec->name, (unsigned long long)sec->size);
    return EJ_OK;
}

static ej_status check_group(ej__object *obj, size_t i, ej__err *err)
{
    ej__section *g = &obj->sec[i];
    const void *raw;
    if (!obj->syms || g->shdr.sh_link == 0 || obj->sec[g->shdr.sh_link].shdr.sh_type != SHT_SYMTAB)
        return ej__fail(err, EJ_BADELF, "%s: section %zu (%s): group's sh_link %u is not the symbol table",
                        obj->name, i, g->name, g->shdr.sh_link);
    if (g->shdr.sh_info >= obj->nsyms)
        return ej__fail(err, EJ_BADELF, "%s: section %zu (%s): group signature symbol %u out of range (%zu symbols)",
                        obj->name, i, g->name, g->shdr.sh_info, obj->nsyms);
    ej_status st = raw_entries(obj, i, sizeof(Elf32_Word), &raw, err);
    if (st != EJ_OK)
        return st;
    const Elf32_Word *w = raw;
    size_t n = (size_t)(g->size / sizeof *w);
    if (n == 0)
        return ej__fail(err, EJ_BADELF, "%s: section %zu (%s): empty group", obj->name, i, g->name);
    for (size_t k = 1; k < n; k++) {
        if (w[k] == i)
            return ej__fail(err, EJ_BADELF, "%s: section %zu (%s): the group lists itself as a member",
                            obj->name, i, g->name);
        if (w[k] == 0 || w[k] >= obj->shnum)
            return ej__fail(err, EJ_BADELF, "%s: section %zu (%s): member %u out of range (%zu sections)",
                            obj->name, i, g->name, w[k], obj->shnum);
    }
    return EJ_OK;
}

static ej_status check_rela_entries(ej__object *obj, size_t i, ej__err *err)
{
    const ej__section *r = &obj->sec[i];
    const ej__section *t = &obj->sec[r->shdr.sh_info];
    size_t n;
    const Elf64_Rela *rel = ej__object_relas(obj, i, &n);
    int applied = (t->shdr.sh_flags & SHF_ALLOC) != 0;
    for (size_t k = 0; k < n; k++) {
        uint32_t type = (uint32_t)ELF64_R_TYPE(rel[k].r_info);
        size_t symi = (size_t)ELF64_R_SYM(rel[k].r_info);
        const ej__reloc_info *info = ej__reloc_info_of(obj->arch, type);
        if (symi >= obj->nsyms && !(symi == 0 && obj->nsyms == 0))
            return ej__fail(err, EJ_BADELF, "%s: %s+0x%llx: relocation %zu in %s: symbol index %zu out of range (%zu symbols)",
                            obj->name, t->name, (unsigned long long)rel[k].r_offset, k,
                            r->name, symi, obj->nsyms);
        if (!info && applied)
            return ej__fail(err, EJ_RELOC, "%s: %s+0x%llx: unknown relocation type %u for %s",
                            obj->name, t->name, (unsigned long long)rel[k].r_offset, type,
                            obj->arch->name);
        uint64_t width = info ? info->width : 1;
        if (rel[k].r_offset > t->size || width > t->size - rel[k].r_offset)
            return ej__fail(err, EJ_BADELF, "%s: %s+0x%llx: %s relocation %zu (%s, %llu bytes) extends past the end of the section (0x%llx bytes)",
                            obj->name, t->name, (unsigned long long)rel[k].r_offset, r->name, k,
                            info ? info->name : "unknown type", (unsigned long long)width,
                            (unsigned long long)t->size);
    }
    return EJ_OK;
}

/* Section types that hold bytes relocations may patch: not the tables the
 * link reads (symbols, strings, groups, relocations), not NOBITS. */
static int relocatable_type(uint32_t type)
{
    switch (type) {
    case SHT_NULL:
    case SHT_SYMTAB:
    case SHT_STRTAB:
    case SHT_RELA:
    case SHT_REL:
    case SHT_HASH:
    case SHT_DYNAMIC:
    case SHT_DYNSYM:
    case SHT_NOBITS:
    case SHT_GROUP:
    case SHT_SYMTAB_SHNDX:
        return 0;
    default:
        return 1;
    }
}

/* .eh_frame goes to the process's unwinder: its structure is checked on
 * a copy (so the bytes laid out are the bytes checked). */
static ej_status check_eh_frame(ej__object *obj, size_t i, ej__err *err)
{
    if (obj->sec[i].shdr.sh_flags & SHF_COMPRESSED)
        return ej__fail(err, EJ_BADELF, "%s: section %zu (%s): compressed", obj->name, i,
                        obj->sec[i].name);
    ej_status st = ej__validate_load_section(obj, i, err);
    if (st == EJ_OK)
        st = keep_copy(obj, i, err);
    return st == EJ_OK ? ej__validate_eh_frame(obj, i, err) : st;
}

static ej_status check_rela(ej__object *obj, size_t i, ej__err *err)
{
    ej__section *r = &obj->sec[i];
    const void *raw;
    size_t symtab = r->shdr.sh_link;
    if (symtab == 0 || obj->sec[symtab].shdr.sh_type != SHT_SYMTAB)
        return ej__fail(err, EJ_BADELF, "%s: section %zu (%s): sh_link %zu is not the symbol table",
                        obj->name, i, r->name, symtab);
    if (r->shdr.sh_info == 0 || r->shdr.sh_info >= obj->shnum)
        return ej__fail(err, EJ_BADELF, "%s: section %zu (%s): target section %u out of range (%zu sections)",
                        obj->name, i, r->name, r->shdr.sh_info, obj->shnum);
    ej__section *t = &obj->sec[r->shdr.sh_info];
    if ((t->shdr.sh_flags & SHF_ALLOC) && t->shdr.sh_type == SHT_NOBITS)
        return ej__fail(err, EJ_BADELF, "%s: section %zu (%s): relocates %s, which has no contents",
                        obj->name, i, r->name, t->name);
    if (!relocatable_type(t->shdr.sh_type) || r->shdr.sh_info == i)
        return ej__fail(err, EJ_BADELF, "%s: section %zu (%s): sh_info %u names %s%s (type %u), "
                        "which relocations cannot apply to", obj->name, i, r->name,
                        r->shdr.sh_info, r->shdr.sh_info == i ? "the relocation section itself, " : "",
                        t->name, t->shdr.sh_type);
    if (t->rela)
        return ej__fail(err, EJ_BADELF, "%s: sections %u (%s) and %zu (%s) both relocate section %u (%s)",
                        obj->name, t->rela, obj->sec[t->rela].name, i, r->name,
                        r->shdr.sh_info, t->name);
    t->rela = (uint32_t)i;
    ej_status st = raw_entries(obj, i, sizeof(Elf64_Rela), &raw, err);
    if (st != EJ_OK)
        return st;
    return check_rela_entries(obj, i, err);
}

/* GCC's slim LTO objects (-flto without -ffat-lto-objects) carry only
 * GIMPLE for the link-time optimiser, in .gnu.lto_* sections, and no
 * machine code: linked as they are they would define nothing. */
static ej_status check_not_lto_only(const ej__object *obj, ej__err *err)
{
    int lto = 0, code = 0;
    for (size_t i = 1; i < obj->shnum; i++) {
        lto |= strncmp(obj->sec[i].name, ".gnu.lto_", 9) == 0;
        code |= (obj->sec[i].shdr.sh_flags & SHF_ALLOC) && obj->sec[i].shdr.sh_size &&
                obj->sec[i].shdr.sh_type != SHT_NOTE;
    }
    if (lto && !code)
        return ej__fail(err, EJ_UNSUPPORTED, "%s: GCC LTO intermediate language only, no "
                        "machine code (compiled with -flto): rebuild with -ffat-lto-objects "
                        "or without -flto", obj->name);
    return EJ_OK;
}

ej_status ej__validate_object(ej__object *obj, ej__err *err)
{
    ej_status st = check_header(obj, err);
    size_t shstrndx;
    name_table nt = {"", 0};
    if (st != EJ_OK)
        return st;
    elf_getshdrstrndx(obj->elf, &shstrndx);
    if (gelf_getshdr(elf_getscn(obj->elf, shstrndx), &(GElf_Shdr){0}) == NULL)
        return ej__elf_fail(err, EJ_BADELF, "%s: section name table %zu unreadable",
                        obj->name, shstrndx);
    if ((st = copy_section_names(obj, shstrndx, &nt, err)) != EJ_OK)
        return st;
    for (size_t i = 0; i < obj->shnum; i++)
        if ((st = check_section(obj, i, &nt, err)) != EJ_OK)
            return st;
    if ((st = check_not_lto_only(obj, err)) != EJ_OK)
        return st;
    if ((st = check_file_ranges(obj, err)) != EJ_OK ||
        (st = reserve_table_copies(obj, shstrndx, err)) != EJ_OK)
        return st;
    if ((st = check_symtab(obj, err)) != EJ_OK)
        return st;
    for (size_t i = 1; i < obj->nsyms; i++)
        if ((st = check_symbol(obj, i, err)) != EJ_OK)
            return st;
    for (size_t i = 1; i < obj->shnum; i++) {
        uint32_t type = obj->sec[i].shdr.sh_type;
        if (type == SHT_GROUP)
            st = check_group(obj, i, err);
        else if (type == SHT_RELA)
            st = check_rela(obj, i, err);
        else if (strcmp(obj->sec[i].name, ".eh_frame") == 0 && type != SHT_NOBITS &&
                 (obj->sec[i].shdr.sh_flags & SHF_ALLOC))
            st = check_eh_frame(obj, i, err);
        else if (type == SHT_REL && (obj->sec[obj->sec[i].shdr.sh_info % obj->shnum].shdr.sh_flags & SHF_ALLOC))
            st = ej__fail(err, EJ_UNSUPPORTED, "%s: section %zu (%s): SHT_REL relocations are not supported (%s uses SHT_RELA)",
                          obj->name, i, sec_name(obj, i), obj->arch->name);
        if (st != EJ_OK)
            return st;
    }
    return EJ_OK;
}

ej_status ej__validate_load_section(ej__object *obj, size_t i, ej__err *err)
{
    ej__section *s = &obj->sec[i];
    if (s->shdr.sh_flags & SHF_COMPRESSED) {
        /* elf_compress inflates in place and may change the header: read
         * it again afterwards. */
        /* libelf reports zlib running out of memory as any other failure
         * to inflate; the allocator's errno tells them apart. */
        errno = 0;
        if (elf_compress(s->scn, 0, 0) < 0 || !gelf_getshdr(s->scn, &s->shdr))
            return ej__elf_fail(err, errno == ENOMEM ? EJ_NOMEM : EJ_BADELF,
                                "%s: section %zu (%s): cannot decompress%s", obj->name, i,
                                s->name, errno == ENOMEM ? " (out of memory)" : "");
    }
    errno = 0;
    Elf_Data *d = elf_getdata(s->scn, NULL);
    /* (For an unaligned archive member libelf copies the contents, and a
     * failed allocation shows as no or empty data: errno tells.) */
    if (errno == ENOMEM && (!d || d->d_size != s->shdr.sh_size))
        return ej__fail(err, EJ_NOMEM, "%s: section %zu (%s): out of memory reading its contents",
                        obj->name, i, s->name);
    if (!d && s->shdr.sh_size)
        return ej__elf_fail(err, EJ_BADELF, "%s: section %zu (%s): cannot read contents",
                            obj->name, i, s->name);
    if (d && d->d_size != s->shdr.sh_size)
        return ej__fail(err, EJ_BADELF, "%s: section %zu (%s): %zu bytes of contents for size %llu",
                        obj->name, i, s->name, d->d_size, (unsigned long long)s->shdr.sh_size);
    s->size = s->shdr.sh_size;
    s->data = d && d->d_buf ? d->d_buf : (const uint8_t *)"";
    return EJ_OK;
}
