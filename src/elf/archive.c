/* Reading ar archives through libelf (archive.h). */
#include <ar.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "elf/archive.h"
#include "elf/elferr.h"

int ej__archive_magic(const uint8_t *head, size_t len)
{
    return len >= SARMAG && (memcmp(head, ARMAG, SARMAG) == 0 || memcmp(head, "!<thin>\n", 8) == 0);
}

/* Special members: the symbol index and the long-name table (GNU, BSD). */
static int special(const char *name)
{
    return !name[0] || !strcmp(name, "/") || !strcmp(name, "//") || !strcmp(name, "/SYM64/") ||
           !strncmp(name, "__.SYMDEF", 9);
}

static ej_status map_file(ej__archive *a, ej__err *err)
{
    struct stat st;
    a->fd = open(a->path, O_RDONLY | O_CLOEXEC);
    if (a->fd < 0 || fstat(a->fd, &st) != 0)
        return ej__fail(err, errno == ENOMEM ? EJ_NOMEM : EJ_IO, "%s: cannot %s: %s", a->path,
                        a->fd < 0 ? "open" : "examine (fstat)", strerror(errno));
    if (!S_ISREG(st.st_mode) || st.st_size < SARMAG)
        return ej__fail(err, EJ_BADELF, "%s: not an archive (%s)", a->path,
                        S_ISREG(st.st_mode) ? "too short" : "not a regular file");
    a->len = (size_t)st.st_size;
    a->image = mmap(NULL, a->len, PROT_READ | PROT_WRITE, MAP_PRIVATE, a->fd, 0);
    if (a->image == MAP_FAILED) {
        a->image = NULL;
        return ej__fail(err, errno == ENOMEM ? EJ_NOMEM : EJ_IO, "%s: cannot map: %s", a->path,
                        strerror(errno));
    }
    a->is_thin = memcmp(a->image, "!<thin>\n", 8) == 0;
    if (!a->is_thin && memcmp(a->image, ARMAG, SARMAG) != 0)
        return ej__fail(err, EJ_BADELF, "%s: not an archive", a->path);
    return EJ_OK;
}

/* The member at the archive's current position (after elf_rand or the
 * previous member), described in *M; NULL at the end. */
static Elf *next_member(ej__archive *a, ej__armember *m)
{
    Elf *e = elf_begin(-1, ELF_C_READ_MMAP, a->elf); /* (elf_memory's command) */
    if (!e)
        return NULL;
    Elf_Arhdr *h = elf_getarhdr(e);
    size_t n = 0;
    char *raw = elf_rawfile(e, &n);
    m->off = (uint64_t)elf_getaroff(e);
    /* A copy: libelf reuses its name buffer for the next member. */
    snprintf(m->name, sizeof m->name, "%s", h && h->ar_name ? h->ar_name : "");
    m->data = (const uint8_t *)raw;
    m->size = n;
    m->data_off = raw ? (uint64_t)((uint8_t *)raw - a->image) : 0;
    /* BSD long names ("#1/LEN", which libelf does not know): the name is
     * the first LEN bytes of the contents. */
    const char *rawname = h ? h->ar_rawname : NULL;
    if (raw && rawname && strncmp(rawname, "#1/", 3) == 0) {
        size_t len = strtoul(rawname + 3, NULL, 10);
        if (len <= n) {
            snprintf(m->name, sizeof m->name, "%.*s", (int)(len < 255 ? len : 255), raw);
            m->name[strnlen(m->name, sizeof m->name)] = '\0';
            m->data += len;
            m->size -= len;
            m->data_off += len;
        }
    }
    return e;
}

static ej_status member_at(ej__archive *a, uint64_t off, ej__armember *m, ej__err *err)
{
    if (off >= a->len || elf_rand(a->elf, (size_t)off) != (size_t)off)
        return ej__elf_fail(err, EJ_BADELF, "%s: no member at offset 0x%llx (a damaged index)",
                            a->path, (unsigned long long)off);
    Elf *e = next_member(a, m);
    if (!e)
        return ej__elf_fail(err, EJ_BADELF, "%s: cannot read the member at offset 0x%llx",
                            a->path, (unsigned long long)off);
    /* (The name lives in the archive's long-name table, not the member.) */
    int bad = !m->data || m->data_off + m->size > a->len || special(m->name);
    elf_end(e);
    if (bad)
        return ej__fail(err, EJ_BADELF, "%s: offset 0x%llx is not a member the index may name",
                        a->path, (unsigned long long)off);
    return EJ_OK;
}

static ej_status thin_member(ej__archive *a, uint64_t off, ej__armember *m, ej__err *err)
{
    for (size_t i = 0; i < a->nthin; i++)
        if (a->thin[i].off == off) {
            *m = (ej__armember){.off = off};
            snprintf(m->name, sizeof m->name, "%s", a->thin[i].name);
            return EJ_OK;
        }
    return ej__fail(err, EJ_BADELF, "%s: no member at offset 0x%llx (a damaged index)", a->path,
                    (unsigned long long)off);
}

ej_status ej__archive_member(ej__archive *a, uint64_t off, ej__armember *m, ej__err *err)
{
    if (a->is_thin)
        return thin_member(a, off, m, err);
    pthread_mutex_lock(&a->lock);
    ej_status st = member_at(a, off, m, err);
    pthread_mutex_unlock(&a->lock);
    return st;
}

typedef struct offsets {
    uint64_t *v;
    size_t n, cap;
} offsets;

static int add_offset(void *ctx, const ej__armember *m)
{
    offsets *o = ctx;
    if (o->n == o->cap) {
        size_t cap = o->cap ? o->cap * 2 : 32;
        uint64_t *v = realloc(o->v, cap * sizeof *v);
        if (!v)
            return 1;
        o->v = v;
        o->cap = cap;
    }
    o->v[o->n++] = m->off;
    return 0;
}

ej_status ej__archive_offsets(ej__archive *a, uint64_t **out, size_t *n, ej__err *err)
{
    offsets o = {NULL, 0, 0};
    int rc = ej__archive_each(a, add_offset, &o, err);
    if (rc != 0) {
        free(o.v);
        return rc < 0 ? err->status : ej__fail(err, EJ_NOMEM, "%s: out of memory listing members",
                                                a->path);
    }
    *out = o.v;
    *n = o.n;
    return EJ_OK;
}

static int each_locked(ej__archive *a, int (*fn)(void *ctx, const ej__armember *m), void *ctx,
                       ej__err *err)
{
    if (a->len == SARMAG)
        return 0; /* (an empty archive, as `ar rc x.a` with no file writes) */
    if (elf_rand(a->elf, SARMAG) != SARMAG)
        return ej__elf_fail(err, EJ_BADELF, "%s: cannot read its first member", a->path), -1;
    for (;;) {
        ej__armember m;
        Elf *e = next_member(a, &m);
        if (!e)
            return 0;
        int rc = 0;
        if (!special(m.name) && m.data && m.data_off + m.size <= a->len)
            rc = fn(ctx, &m);
        Elf_Cmd next = elf_next(e);
        elf_end(e);
        if (rc)
            return rc;
        if (next == ELF_C_NULL)
            return 0;
    }
}

int ej__archive_each(ej__archive *a, int (*fn)(void *ctx, const ej__armember *m), void *ctx,
                     ej__err *err)
{
    for (size_t i = 0; a->is_thin && i < a->nthin; i++) {
        ej__armember m;
        if (thin_member(a, a->thin[i].off, &m, err) == EJ_OK && fn(ctx, &m))
            return 1;
    }
    if (a->is_thin)
        return 0;
    pthread_mutex_lock(&a->lock);
    int rc = each_locked(a, fn, ctx, err);
    pthread_mutex_unlock(&a->lock);
    return rc;
}

/* ---- an index for an archive without one ------------------------------ */

typedef struct index_build {
    ej__archive *a;
    ej__arsym *v;
    size_t n, cap;
    int nomem;
} index_build;

static void add_entry(index_build *b, const char *name, uint64_t member)
{
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        ej__arsym *v = realloc(b->v, cap * sizeof *v);
        if (!v) {
            b->nomem = 1;
            return;
        }
        b->v = v;
        b->cap = cap;
    }
    char *copy = strdup(name);
    if (!copy) {
        b->nomem = 1;
        return;
    }
    b->v[b->n++] = (ej__arsym){copy, member};
}

/* The defined globals of one member (an ELF object; anything else defines
 * nothing, and is refused only if something pulls it). */
static int index_member(void *ctx, const ej__armember *m)
{
    index_build *b = ctx;
    b->a->indexed_members++;
    Elf *e = elf_memory((char *)(uintptr_t)m->data, m->size);
    Elf_Scn *scn = NULL;
    while (e && elf_kind(e) == ELF_K_ELF && (scn = elf_nextscn(e, scn))) {
        GElf_Shdr sh;
        Elf_Data *d;
        if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_SYMTAB || !(d = elf_getdata(scn, NULL)))
            continue;
        for (int i = (int)sh.sh_info; ; i++) {
            GElf_Sym s;
            if (!gelf_getsym(d, i, &s))
                break;
            const char *name = elf_strptr(e, sh.sh_link, s.st_name);
            int bind = GELF_ST_BIND(s.st_info);
            if (name && name[0] && s.st_shndx != SHN_UNDEF && s.st_shndx != SHN_COMMON &&
                (bind == STB_GLOBAL || bind == STB_WEAK || bind == STB_GNU_UNIQUE))
                add_entry(b, name, m->off);
        }
    }
    if (e)
        elf_end(e);
    return b->nomem;
}

static ej_status build_index(ej__archive *a, ej__err *err)
{
    index_build b = {a, NULL, 0, 0, 0};
    int rc = ej__archive_each(a, index_member, &b, err);
    a->owned_index = b.v;
    a->index = b.v;
    a->nindex = b.n;
    a->built_index = 1;
    if (b.nomem)
        return ej__fail(err, EJ_NOMEM, "%s: out of memory indexing its members", a->path);
    return rc < 0 ? err->status : EJ_OK;
}

/* Whether the archive's first member is a GNU symbol index ("/" or
 * "/SYM64/"): then libelf failing to read it is a failure (out of memory,
 * or a damaged index), not an archive without one.  (libelf reads no BSD
 * __.SYMDEF: those archives are indexed by reading their members.) */
static int has_index(const ej__archive *a)
{
    const char *name = (const char *)a->image + SARMAG;
    return a->len >= SARMAG + sizeof(struct ar_hdr) &&
           (memcmp(name, "/ ", 2) == 0 || memcmp(name, "/SYM64/ ", 8) == 0);
}

/* The archive's own index, copied (libelf's lives as long as the Elf). */
static ej_status read_index(ej__archive *a, ej__err *err)
{
    size_t n = 0;
    Elf_Arsym *s = elf_getarsym(a->elf, &n);
    if (!s && has_index(a)) {
        /* (libelf says nothing when its own allocation failed) */
        int code = elf_errno();
        return code ? ej__elf_fail_code(err, EJ_BADELF, code, "%s: cannot read its symbol index",
                                        a->path)
                    : ej__fail(err, EJ_NOMEM, "%s: cannot read its symbol index: out of memory "
                               "(libelf gave no reason)", a->path);
    }
    if (!s || n <= 1) /* (libelf counts the terminating entry) */
        return build_index(a, err);
    a->owned_index = malloc((n - 1) * sizeof *a->owned_index);
    if (!a->owned_index)
        return ej__fail(err, EJ_NOMEM, "%s: out of memory for its symbol index", a->path);
    size_t k = 0;
    for (size_t i = 0; i + 1 < n; i++)
        if (s[i].as_name && s[i].as_off < a->len)
            a->owned_index[k++] = (ej__arsym){s[i].as_name, s[i].as_off};
    a->index = a->owned_index;
    a->nindex = k;
    return EJ_OK;
}

static ej_status archive_new(const char *name, ej__archive **out, ej__err *err)
{
    *out = NULL;
    ej__archive *a = calloc(1, sizeof *a);
    if (!a || !(a->path = strdup(name))) {
        free(a);
        return ej__fail(err, EJ_NOMEM, "%s: out of memory", name);
    }
    a->fd = -1;
    pthread_mutex_init(&a->lock, NULL);
    *out = a;
    if (elf_version(EV_CURRENT) == EV_NONE)
        return ej__fail(err, EJ_UNSUPPORTED, "%s: libelf version mismatch", name);
    return EJ_OK;
}

/* The archive mapped at A->image: its index read (a thin archive's
 * too).  Frees A on failure. */
static ej_status open_mapped(ej__archive *a, ej__archive **out, ej__err *err)
{
    ej_status st = EJ_OK;
    if (a->is_thin)
        st = ej__thin_read(a, err);
    else if (!(a->elf = elf_memory((char *)a->image, a->len)))
        st = ej__elf_fail(err, EJ_BADELF, "%s: cannot read the archive", a->path);
    else if (elf_kind(a->elf) != ELF_K_AR)
        st = ej__fail(err, EJ_BADELF, "%s: libelf does not read it as an archive", a->path);
    else
        st = read_index(a, err);
    if (st != EJ_OK) {
        ej__archive_free(a);
        return st;
    }
    *out = a;
    return EJ_OK;
}

ej_status ej__archive_open(const char *path, ej__archive **out, ej__err *err)
{
    ej__archive *a;
    ej_status st = archive_new(path, &a, err);
    if (st == EJ_OK)
        st = map_file(a, err);
    if (st != EJ_OK) {
        ej__archive_free(a);
        *out = NULL;
        return st;
    }
    return open_mapped(a, out, err);
}

ej_status ej__archive_open_buffer(const char *name, const void *buf, size_t len,
                                  ej__archive **out, ej__err *err)
{
    ej__archive *a;
    ej_status st = archive_new(name, &a, err);
    if (st == EJ_OK && memcmp(buf, "!<thin>\n", 8) == 0)
        st = ej__fail(err, EJ_UNSUPPORTED, "%s: a thin archive names its members' files "
                      "relative to itself: add it by path", name);
    if (st == EJ_OK) {
        /* A private copy (libelf may write to it; the caller may free
         * BUF), never backed by a file: members are validated from it. */
        a->image = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (a->image == MAP_FAILED) {
            a->image = NULL;
            st = ej__fail(err, EJ_NOMEM, "%s: cannot map %zu bytes for the archive: %s", name,
                          len, strerror(errno));
        }
    }
    if (st != EJ_OK) {
        ej__archive_free(a);
        *out = NULL;
        return st;
    }
    memcpy(a->image, buf, len);
    a->len = len;
    return open_mapped(a, out, err);
}

void ej__archive_close_file(ej__archive *a)
{
    pthread_mutex_lock(&a->lock);
    if (a->fd >= 0)
        close(a->fd);
    a->fd = -1;
    pthread_mutex_unlock(&a->lock);
}

void ej__archive_free(ej__archive *a)
{
    if (!a)
        return;
    if (a->built_index)
        for (size_t i = 0; i < a->nindex; i++)
            free((char *)a->owned_index[i].name);
    free(a->owned_index);
    if (a->elf)
        elf_end(a->elf);
    if (a->image)
        munmap(a->image, a->len);
    if (a->fd >= 0)
        close(a->fd);
    for (size_t i = 0; i < a->nthin; i++)
        free(a->thin[i].name);
    free(a->thin);
    pthread_mutex_destroy(&a->lock);
    free(a->path);
    free(a);
}
