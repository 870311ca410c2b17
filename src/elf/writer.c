/* Writing relocatable objects with libelf.  libelf's in-memory descriptors
 * (elf_memory) are read-only, so the object is written to a memfd with
 * ELF_C_WRITE and read back; libelf computes the file layout (offsets,
 * alignment padding) itself. */
#include <errno.h>
#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "elf/elferr.h"
#include "elf/writer.h"

/* The section name table for SECS, plus ".shstrtab" itself at *SELF. */
static char *name_table(const ej__wsec *secs, size_t n, uint32_t *offs, size_t *size,
                        uint32_t *self)
{
    size_t total = 1 + sizeof ".shstrtab";
    for (size_t i = 0; i < n; i++)
        total += strlen(secs[i].name) + 1;
    char *t = malloc(total);
    if (!t)
        return NULL;
    size_t at = 0;
    t[at++] = '\0';
    for (size_t i = 0; i < n; i++) {
        offs[i] = (uint32_t)at;
        size_t l = strlen(secs[i].name) + 1;
        memcpy(t + at, secs[i].name, l);
        at += l;
    }
    *self = (uint32_t)at;
    memcpy(t + at, ".shstrtab", sizeof ".shstrtab");
    *size = total;
    return t;
}

/* A new section of E, or NULL with libelf's error number in *CODE.
 * elf_newscn (elfutils 0.188) returns a section, not NULL, when it cannot
 * allocate the section's header: that section has no header and no
 * owner, and elf_newdata or gelf_getshdr on it crash.  libelf's error
 * number tells: it is cleared before the call and read after it.  (The
 * half-made section stays in E's list, which elf_end frees safely.) */
Elf_Scn *ej__elf_newscn(Elf *e, int *code)
{
    (void)elf_errno();
    Elf_Scn *scn = elf_newscn(e);
    *code = elf_errno();
    return *code ? NULL : scn;
}

static ej_status add_section(Elf *e, const ej__wsec *s, uint32_t name, ej__err *err)
{
    int code;
    Elf_Scn *scn = ej__elf_newscn(e, &code);
    if (!scn)
        return ej__elf_fail_code(err, EJ_IO, code, "cannot add section %s", s->name);
    Elf_Data *d = elf_newdata(scn);
    GElf_Shdr sh;
    if (!d || !gelf_getshdr(scn, &sh))
        return ej__elf_fail(err, EJ_IO, "cannot add section %s", s->name);
    d->d_buf = (void *)(uintptr_t)s->data;
    d->d_size = s->size;
    d->d_align = s->align ? s->align : 1;
    /* Symbol and relocation tables go through libelf's conversion, so that
     * their types are right for the (native, little-endian) file. */
    d->d_type = s->type == SHT_SYMTAB ? ELF_T_SYM : s->type == SHT_RELA ? ELF_T_RELA : ELF_T_BYTE;
    sh.sh_name = name;
    sh.sh_type = s->type;
    sh.sh_flags = s->flags;
    sh.sh_addr = s->addr;
    sh.sh_addralign = s->align ? s->align : 1;
    sh.sh_entsize = s->entsize;
    sh.sh_link = s->link;
    sh.sh_info = s->info;
    sh.sh_size = s->size;
    if (!gelf_update_shdr(scn, &sh))
        return ej__elf_fail(err, EJ_IO, "cannot set the header of %s", s->name);
    return EJ_OK;
}

static ej_status build(Elf *e, uint16_t machine, uint16_t type, const ej__wsec *secs, size_t n,
                       const char *names, size_t names_size, const uint32_t *offs,
                       uint32_t self, ej__err *err)
{
    if (!gelf_newehdr(e, ELFCLASS64))
        return ej__elf_fail(err, EJ_IO, "cannot create the ELF header");
    GElf_Ehdr eh;
    gelf_getehdr(e, &eh);
    eh.e_ident[EI_DATA] = ELFDATA2LSB;
    eh.e_ident[EI_OSABI] = ELFOSABI_NONE;
    eh.e_type = type;
    eh.e_machine = machine;
    eh.e_version = EV_CURRENT;
    for (size_t i = 0; i < n; i++) {
        ej_status st = add_section(e, &secs[i], offs[i], err);
        if (st != EJ_OK)
            return st;
    }
    ej__wsec shstr = {.name = ".shstrtab", .type = SHT_STRTAB, .align = 1, .data = names,
                      .size = names_size};
    ej_status st = add_section(e, &shstr, self, err);
    if (st != EJ_OK)
        return st;
    eh.e_shstrndx = (uint16_t)(n + 1);
    if (!gelf_update_ehdr(e, &eh))
        return ej__elf_fail(err, EJ_IO, "cannot write the ELF header");
    if (elf_update(e, ELF_C_WRITE) < 0)
        return ej__elf_fail(err, EJ_IO, "cannot write the object");
    return EJ_OK;
}

/* The whole of FD, from its start, into a malloc()ed buffer. */
static ej_status slurp(int fd, void **out, size_t *len, ej__err *err)
{
    off_t size = lseek(fd, 0, SEEK_END);
    if (size < 0)
        return ej__fail(err, EJ_IO, "cannot size the written object: %s", strerror(errno));
    char *buf = malloc(size ? (size_t)size : 1);
    if (!buf)
        return ej__fail(err, EJ_NOMEM, "out of memory for a %lld-byte object", (long long)size);
    for (off_t at = 0; at < size;) {
        ssize_t r = pread(fd, buf + at, (size_t)(size - at), at);
        if (r <= 0) {
            free(buf);
            return ej__fail(err, EJ_IO, "cannot read the written object back: %s",
                            r < 0 ? strerror(errno) : "short read");
        }
        at += r;
    }
    *out = buf;
    *len = (size_t)size;
    return EJ_OK;
}

ej_status ej__elf_write(uint16_t machine, uint16_t type, const ej__wsec *secs, size_t n, void **out,
                        size_t *len, ej__err *err)
{
    *out = NULL;
    *len = 0;
    if (elf_version(EV_CURRENT) == EV_NONE)
        return ej__fail(err, EJ_IO, "libelf version mismatch");
    uint32_t *offs = malloc((n ? n : 1) * sizeof *offs), self = 0;
    size_t names_size = 0;
    char *names = offs ? name_table(secs, n, offs, &names_size, &self) : NULL;
    if (!names) {
        free(offs);
        return ej__fail(err, EJ_NOMEM, "out of memory for section names");
    }
    ej_status st;
    int fd = memfd_create("elfjit-object", MFD_CLOEXEC);
    Elf *e = NULL;
    if (fd < 0) {
        st = ej__fail(err, EJ_IO, "cannot create a memory file for the object: %s",
                      strerror(errno));
        goto out;
    }
    if (!(e = elf_begin(fd, ELF_C_WRITE, NULL))) {
        st = ej__elf_fail(err, EJ_IO, "cannot start writing the object");
        goto out;
    }
    st = build(e, machine, type, secs, n, names, names_size, offs, self, err);
    elf_end(e);
    if (st == EJ_OK)
        st = slurp(fd, out, len, err);
out:
    if (fd >= 0)
        close(fd);
    free(names);
    free(offs);
    return st;
}
