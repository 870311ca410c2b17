/* Opening relocatable objects from a path or a buffer through libelf, and
 * the accessors the link layer uses.  Validation lives in validate.c. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "elf/elferr.h"
#include "elf/object.h"
#include "elf/validate.h"

static int libelf_ready(void)
{
    /* elf_version is idempotent; calling it per open keeps the library free
     * of global initialisation order. */
    return elf_version(EV_CURRENT) != EV_NONE;
}

static ej_status object_parse(ej__object *obj, ej__err *err)
{
    if (!libelf_ready())
        return ej__fail(err, EJ_UNSUPPORTED, "%s: libelf version mismatch",
                        obj->name);
    ej_status st = ej__validate_raw(obj, err);
    if (st != EJ_OK)
        return st;
    obj->elf = elf_memory((char *)obj->image, obj->image_len);
    if (!obj->elf)
        return ej__elf_fail(err, EJ_BADELF, "%s: cannot read ELF", obj->name);
    return ej__validate_object(obj, err);
}

static ej_status object_new(const char *name, ej__object **out, ej__err *err)
{
    ej__object *obj = calloc(1, sizeof *obj);
    if (!obj || !(obj->name = strdup(name))) {
        free(obj);
        return ej__fail(err, EJ_NOMEM, "%s: out of memory", name);
    }
    obj->fd = -1;
    *out = obj;
    return EJ_OK;
}

static ej_status finish_open(ej__object *obj, ej__object **out, ej__err *err)
{
    ej_status st = object_parse(obj, err);
    if (st != EJ_OK) {
        ej__object_free(obj);
        return st;
    }
    *out = obj;
    return EJ_OK;
}

ej_status ej__object_open_file(const char *path, ej__object **out, ej__err *err)
{
    ej__object *obj = NULL;
    struct stat stbuf;
    ej_status st;
    *out = NULL;
    if ((st = object_new(path, &obj, err)) != EJ_OK)
        return st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &stbuf) != 0) {
        int e = errno;
        st = ej__fail(err, e == ENOMEM ? EJ_NOMEM : EJ_IO, "%s: cannot %s: %s", path,
                      fd < 0 ? "open" : "examine (fstat)", strerror(e));
        goto fail;
    }
    if (!S_ISREG(stbuf.st_mode) || stbuf.st_size == 0) {
        st = ej__fail(err, EJ_BADELF, "%s: not a relocatable object (%s)", path,
                      S_ISREG(stbuf.st_mode) ? "empty file" : "not a regular file");
        goto fail;
    }
    /* A private writable mapping: libelf may convert data in place, and
     * such writes must never reach the file. */
    obj->image_len = (size_t)stbuf.st_size;
    obj->image = mmap(NULL, obj->image_len, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE, fd, 0);
    if (obj->image == MAP_FAILED) {
        obj->image = NULL;
        st = ej__fail(err, EJ_IO, "%s: cannot map: %s", path, strerror(errno));
        goto fail;
    }
    obj->image_mapped = 1;
    /* No MADV_POPULATE_READ: the kernel's fault-around already maps 16
     * page-cache pages per fault, which measured cheaper than one populate
     * call per object (and MAP_POPULATE would copy every page of a
     * writable private mapping).  The tables validation copies are read
     * from the descriptor (validate.c: keep_copy), so their pages of the
     * mapping are never faulted in. */
    obj->fd = fd;
    st = finish_open(obj, out, err);
    if (st == EJ_OK) {
        close(fd);
        obj->fd = -1;
    }
    return st;
fail:
    if (fd >= 0)
        close(fd);
    ej__object_free(obj);
    return st;
}

ej_status ej__object_open_buffer(const char *name, const void *buf, size_t len,
                                 ej__object **out, ej__err *err)
{
    ej__object *obj = NULL;
    ej_status st;
    *out = NULL;
    if (!name)
        name = "<buffer>";
    if (!buf || len == 0)
        return ej__fail(err, EJ_BADELF, "%s: not a relocatable object (empty buffer)",
                        name);
    if ((st = object_new(name, &obj, err)) != EJ_OK)
        return st;
    /* libelf reads (and may write) the memory it is given: copy the
     * caller's bytes so they may be freed or reused at once. */
    obj->image = malloc(len);
    if (!obj->image) {
        ej__object_free(obj);
        return ej__fail(err, EJ_NOMEM, "%s: out of memory copying %zu bytes",
                        name, len);
    }
    memcpy(obj->image, buf, len);
    obj->image_len = len;
    st = finish_open(obj, out, err);
    return st == EJ__IS_ARCHIVE ? EJ_BADELF : st == EJ__IS_IMAGE ? EJ_UNSUPPORTED : st;
}

ej_status ej__object_open_member(const char *name, uint8_t *image, size_t len, int fd,
                                 uint64_t base, ej__object **out, ej__err *err)
{
    ej__object *obj = NULL;
    *out = NULL;
    ej_status st = object_new(name, &obj, err);
    if (st != EJ_OK)
        return st;
    obj->image = image;
    obj->image_len = len;
    obj->image_borrowed = 1;
    obj->fd = fd;
    obj->fd_base = base;
    st = object_parse(obj, err);
    obj->fd = -1; /* the archive's: never closed here */
    if (st != EJ_OK) {
        ej__object_free(obj);
        return st == EJ__IS_ARCHIVE ? EJ_BADELF : st == EJ__IS_IMAGE ? EJ_UNSUPPORTED : st;
    }
    *out = obj;
    return EJ_OK;
}

/* Blocks at least this large are mapped and populated in one call; smaller
 * ones come from malloc, whose heap pages are usually warm already. */
#define POPULATE_MIN ((size_t)64 << 10)

ej_status ej__object_reserve_copies(ej__object *obj, size_t len, ej__err *err)
{
    if (!len)
        return EJ_OK;
    if (len >= POPULATE_MIN) {
        void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
        if (p == MAP_FAILED)
            return ej__fail(err, EJ_NOMEM, "%s: cannot map %zu bytes for the object's tables: %s",
                            obj->name, len, strerror(errno));
        obj->copies = p;
        obj->copies_mapped = 1;
    } else if (!(obj->copies = malloc(len))) {
        return ej__fail(err, EJ_NOMEM, "%s: out of memory for %zu bytes of tables", obj->name,
                        len);
    }
    obj->copies_len = len;
    return EJ_OK;
}

void *ej__object_own(ej__object *obj, const void *src, size_t n)
{
    size_t at = ej__align_up(obj->copies_used, 16);
    if (obj->copies && at <= obj->copies_len && n <= obj->copies_len - at) {
        obj->copies_used = at + n;
        if (src && n)
            memcpy(obj->copies + at, src, n);
        return obj->copies + at;
    }
    if (obj->nowned == obj->owned_cap) {
        size_t cap = obj->owned_cap ? obj->owned_cap * 2 : 16;
        void **grown = realloc(obj->owned, cap * sizeof *grown);
        if (!grown)
            return NULL;
        obj->owned = grown;
        obj->owned_cap = cap;
    }
    void *p = malloc(n ? n : 1);
    if (!p)
        return NULL;
    if (src && n)
        memcpy(p, src, n);
    obj->owned[obj->nowned++] = p;
    return p;
}

void ej__object_free(ej__object *obj)
{
    if (!obj)
        return;
    if (obj->fd >= 0)
        close(obj->fd);
    if (obj->elf)
        elf_end(obj->elf);
    if (obj->image_borrowed)
        ; /* the archive's */
    else if (obj->image_mapped)
        munmap(obj->image, obj->image_len);
    else
        free(obj->image);
    free(obj->sec);
    for (size_t i = 0; i < obj->nowned; i++)
        free(obj->owned[i]);
    if (obj->copies_mapped)
        munmap(obj->copies, obj->copies_len);
    else
        free(obj->copies);
    free(obj->owned);
    free(obj->name);
    free(obj);
}

const char *ej__object_sym_name(const ej__object *obj, size_t i)
{
    const Elf64_Sym *s = &obj->syms[i];
    if (ELF64_ST_TYPE(s->st_info) == STT_SECTION && s->st_name == 0) {
        uint32_t shndx = ej__object_sym_shndx(obj, i);
        return shndx < obj->shnum ? obj->sec[shndx].name : "";
    }
    return obj->strtab + s->st_name;
}

const Elf64_Rela *ej__object_relas(const ej__object *obj, size_t i,
                                   size_t *count)
{
    *count = (size_t)(obj->sec[i].size / sizeof(Elf64_Rela));
    return (const Elf64_Rela *)obj->sec[i].data;
}

ej_status ej__object_section_data(ej__object *obj, size_t i,
                                  const uint8_t **data, uint64_t *size,
                                  ej__err *err)
{
    ej__section *sec = &obj->sec[i];
    if (sec->shdr.sh_type == SHT_NOBITS) {
        *data = NULL;
        *size = sec->size;
        return EJ_OK;
    }
    if (!sec->data) {
        ej_status st = ej__validate_load_section(obj, i, err);
        if (st != EJ_OK)
            return st;
    }
    *data = sec->data;
    *size = sec->size;
    return EJ_OK;
}
