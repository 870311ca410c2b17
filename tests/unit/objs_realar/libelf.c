/* libelf.a (+ libz.a): an ELF object written with libelf into a temporary
 * file, read back from memory with elf_memory, one section compressed and
 * inflated again with elf_compress (zlib). */
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char shstrtab[] = "\0.debug_x\0.shstrtab\0";
static unsigned char code[4096]; /* the contents of .debug_x */

static int write_object(int fd)
{
    Elf *e = elf_begin(fd, ELF_C_WRITE, NULL);
    if (!e)
        return -1;
    Elf64_Ehdr *eh = elf64_newehdr(e);
    eh->e_ident[EI_DATA] = ELFDATA2LSB;
    eh->e_type = ET_REL;
    eh->e_machine = EM_X86_64;
    eh->e_version = EV_CURRENT;
    Elf_Scn *text = elf_newscn(e), *names = elf_newscn(e);
    Elf_Data *d = elf_newdata(text);
    d->d_buf = code;
    d->d_size = sizeof code;
    d->d_align = 16;
    d->d_type = ELF_T_BYTE;
    Elf64_Shdr *sh = elf64_getshdr(text);
    sh->sh_name = 1;
    sh->sh_type = SHT_PROGBITS; /* not SHF_ALLOC: libelf compresses only those */
    d = elf_newdata(names);
    d->d_buf = shstrtab;
    d->d_size = sizeof shstrtab;
    d->d_type = ELF_T_BYTE;
    sh = elf64_getshdr(names);
    sh->sh_name = 10;
    sh->sh_type = SHT_STRTAB;
    eh->e_shstrndx = (Elf64_Half)elf_ndxscn(names);
    int ok = elf_update(e, ELF_C_WRITE) > 0;
    elf_end(e);
    return ok ? 0 : -1;
}

int main(void)
{
    for (size_t i = 0; i < sizeof code; i++)
        code[i] = (unsigned char)(i % 64 < 32 ? 0x90 : i);
    if (elf_version(EV_CURRENT) == EV_NONE)
        return puts("elf_version failed"), 1;
    char path[] = "/tmp/ej_realar_elfXXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return puts("mkstemp failed"), 1;
    unlink(path);
    if (write_object(fd) != 0)
        return printf("write: %s\n", elf_errmsg(-1)), 1;
    off_t len = lseek(fd, 0, SEEK_END);
    char *img = malloc((size_t)len);
    if (!img || pread(fd, img, (size_t)len, 0) != len)
        return puts("read back failed"), 1;
    close(fd);
    printf("object: %lld bytes\n", (long long)len);

    Elf *e = elf_memory(img, (size_t)len);
    GElf_Ehdr eh;
    if (!e || elf_kind(e) != ELF_K_ELF || !gelf_getehdr(e, &eh))
        return printf("elf_memory: %s\n", elf_errmsg(-1)), 1;
    size_t shstrndx;
    elf_getshdrstrndx(e, &shstrndx);
    printf("type %d machine %d sections %d\n", eh.e_type, eh.e_machine, eh.e_shnum);
    for (Elf_Scn *s = NULL; (s = elf_nextscn(e, s));) {
        GElf_Shdr sh;
        gelf_getshdr(s, &sh);
        const char *name = elf_strptr(e, shstrndx, sh.sh_name);
        printf("  [%zu] %s size %llu\n", elf_ndxscn(s), name, (unsigned long long)sh.sh_size);
        if (strcmp(name, ".debug_x") == 0) {
            if (elf_compress(s, ELFCOMPRESS_ZLIB, 0) != 1)
                return printf("elf_compress: %s\n", elf_errmsg(-1)), 1;
            gelf_getshdr(s, &sh);
            printf("  compressed: %llu bytes, flags %#llx\n", (unsigned long long)sh.sh_size,
                   (unsigned long long)sh.sh_flags);
            if (elf_compress(s, 0, 0) != 1)
                return printf("elf_compress(0): %s\n", elf_errmsg(-1)), 1;
            Elf_Data *d = elf_getdata(s, NULL);
            if (!d || d->d_size != sizeof code || memcmp(d->d_buf, code, sizeof code))
                return puts("inflated section differs"), 1;
            puts("  inflated again: same bytes");
        }
    }
    elf_end(e);
    free(img);
    return 0;
}
