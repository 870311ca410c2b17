/* The linker handle: collecting objects, libraries and options. */
#include <dlfcn.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aot/aot.h"
#include "link/archives.h"

EJ_API ej_status ej_linker_create(ej_linker **out)
{
    if (!out)
        return EJ_INVAL;
    *out = calloc(1, sizeof **out);
    if (!*out)
        return EJ_NOMEM;
    (*out)->registration = EJ_REGISTER_DEFAULT;
    (*out)->use_runtime = 1;
    return EJ_OK;
}

EJ_API void ej_linker_free(ej_linker *lk)
{
    if (!lk)
        return;
    for (size_t i = 0; i < lk->nobjs; i++) {
        ej__lobj *lo = &lk->objs[i];
        ej__object_free(lo->o);
        free(lo->sec);
        free(lo->symp);
        free(lo->lplain);
        free(lo->lvalue);
    }
    free(lk->objs);
    /* (After the objects: archive members are read in place.) */
    for (size_t i = 0; i < lk->narchives; i++) {
        ej__archive_free(lk->archives[i].a);
        free(lk->archives[i].loaded);
    }
    free(lk->archives);
    ej__runtime_release(lk);
    free(lk->host_hits);
    free(lk->rt_wants);
    /* Libraries stay loaded: modules linked against them may outlive us. */
    free(lk->libs);
    ej__symtab_free(&lk->globals);
    ej__symtab_free(&lk->local_pool);
    free(lk->commons);
    free(lk->plan.got_syms);
    free(lk->plan.stub_syms);
    free(lk->plan.groups);
    free(lk->tls.ents);
    free(lk->tls.uses);
    free(lk->tls.table);
    free(lk->tls.saved_init);
    free(lk->tls.saved_words);
    free(lk->notes);
    ej__aot_free(lk->image);
    ej__cache_free(lk->cache);
    for (size_t i = 0; i < lk->nlibs; i++)
        free(lk->lib_names[i]);
    free(lk->lib_names);
    ej__fixups_free(&lk->fixups);
    free(lk);
}

EJ_API const char *ej_linker_errmsg(const ej_linker *lk)
{
    return lk ? lk->err.msg : "";
}

EJ_API const char *ej_linker_notes(const ej_linker *lk)
{
    return lk && lk->notes ? lk->notes : "";
}

void ej__note(ej_linker *lk, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *v = n < 0 ? NULL : realloc(lk->notes, lk->notes_len + (size_t)n + 2);
    if (!v)
        return;
    lk->notes = v;
    va_start(ap, fmt);
    vsnprintf(v + lk->notes_len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    lk->notes_len += (size_t)n;
    v[lk->notes_len++] = '\n';
    v[lk->notes_len] = 0;
}

static ej_status add_object(ej_linker *lk, ej__object *obj)
{
    if (lk->arch && obj->arch != lk->arch) {
        ej_status st = ej__fail(&lk->err, EJ_UNSUPPORTED, "%s: %s object cannot be linked with %s objects",
                                obj->name, obj->arch->name, lk->arch->name);
        ej__object_free(obj);
        return st;
    }
    if (lk->nobjs == lk->objs_cap) {
        size_t cap = lk->objs_cap ? lk->objs_cap * 2 : 8;
        ej__lobj *objs = realloc(lk->objs, cap * sizeof *objs);
        if (!objs) {
            ej__object_free(obj);
            return ej__fail(&lk->err, EJ_NOMEM, "out of memory adding an object");
        }
        lk->objs = objs;
        lk->objs_cap = cap;
    }
    ej__lsec *sec = malloc(obj->shnum * sizeof *sec);
    if (!sec) {
        ej__object_free(obj);
        return ej__fail(&lk->err, EJ_NOMEM, "out of memory adding an object");
    }
    for (size_t i = 0; i < obj->shnum; i++)
        sec[i] = (ej__lsec){-1, 0, 0};
    lk->arch = obj->arch;
    lk->objs[lk->nobjs++] = (ej__lobj){.o = obj, .sec = sec};
    return EJ_OK;
}

static ej_status check_open(ej_linker *lk, const void *arg)
{
    if (!lk)
        return EJ_INVAL;
    if (!arg)
        return ej__fail(&lk->err, EJ_INVAL, "NULL object argument");
    if (lk->linked)
        return ej__fail(&lk->err, EJ_STATE, "this linker has already linked");
    return EJ_OK;
}

/* An image saved by elfjit (src/aot): loaded by ej_linker_link, alone. */
static ej_status add_image(ej_linker *lk, const char *path)
{
    if (lk->image)
        return ej__fail(&lk->err, EJ_UNSUPPORTED, "%s: one image per linker (%s is added)", path,
                        lk->image->path);
    uint64_t t0 = ej__now_ns();
    ej_status st = ej__aot_open(path, &lk->image, &lk->err);
    lk->stats.ns[EJ_STAGE_READ] += ej__now_ns() - t0;
    return st;
}

EJ_API ej_status ej_linker_add_file(ej_linker *lk, const char *path)
{
    ej__object *obj = NULL;
    ej_status st = check_open(lk, path);
    if (st != EJ_OK)
        return st;
    if (lk->cache)
        return ej__cache_note(lk, path, 0, 0);
    uint64_t t0 = ej__now_ns();
    st = ej__object_open_file(path, &obj, &lk->err);
    lk->stats.ns[EJ_STAGE_READ] += ej__now_ns() - t0;
    /* (Told apart by the object reader, which sees the magic number.) */
    /* (The object reader's "not an object" is no failure then.) */
    if (st == EJ__IS_ARCHIVE || st == EJ__IS_IMAGE)
        ej__err_clear(&lk->err);
    if (st == EJ__IS_ARCHIVE)
        return ej_linker_add_archive(lk, path, 0);
    if (st == EJ__IS_IMAGE)
        return add_image(lk, path);
    return st != EJ_OK ? st : add_object(lk, obj);
}

/* Opens the archive (from PATH, or BUF when not NULL) and adds it. */
static ej_status add_archive(ej_linker *lk, const char *name, const void *buf, size_t len,
                             unsigned flags)
{
    if (flags & ~(unsigned)EJ_ARCHIVE_WHOLE)
        return ej__fail(&lk->err, EJ_INVAL, "ej_linker_add_archive: unknown flags 0x%x", flags);
    ej__larchive *v = realloc(lk->archives, (lk->narchives + 1) * sizeof *v);
    if (!v)
        return ej__fail(&lk->err, EJ_NOMEM, "%s: out of memory adding an archive", name);
    lk->archives = v;
    ej__archive *a = NULL;
    uint64_t t0 = ej__now_ns();
    ej_status st = buf ? ej__archive_open_buffer(name, buf, len, &a, &lk->err)
                       : ej__archive_open(name, &a, &lk->err);
    lk->stats.ns[EJ_STAGE_READ] += ej__now_ns() - t0;
    if (st != EJ_OK)
        return st;
    if (a->built_index && a->indexed_members)
        ej__note(lk, "%s: no symbol index (a GNU one: ranlib adds it): its %zu members were read to find "
                 "the names they define", name, a->indexed_members);
    lk->archives[lk->narchives++] = (ej__larchive){.a = a, .flags = flags};
    return EJ_OK;
}

EJ_API ej_status ej_linker_add_archive(ej_linker *lk, const char *path, unsigned flags)
{
    ej_status st = check_open(lk, path);
    if (st == EJ_OK && lk->cache && (flags & ~(unsigned)EJ_ARCHIVE_WHOLE))
        return ej__fail(&lk->err, EJ_INVAL, "ej_linker_add_archive: unknown flags 0x%x", flags);
    if (st == EJ_OK && lk->cache)
        return ej__cache_note(lk, path, 1, flags);
    return st != EJ_OK ? st : add_archive(lk, path, NULL, 0, flags);
}

EJ_API ej_status ej_linker_add_archive_buffer(ej_linker *lk, const char *name, const void *buf,
                                              size_t len, unsigned flags)
{
    ej_status st = check_open(lk, buf);
    if (st != EJ_OK)
        return st;
    if (!name)
        name = "<buffer>";
    if (lk->cache)
        return ej__fail(&lk->err, EJ_UNSUPPORTED, "%s: inputs in memory are not cached (the "
                        "cache keys files)", name);
    if (!ej__archive_magic(buf, len))
        return ej__fail(&lk->err, EJ_BADELF, "%s: not an archive (no !<arch> magic)", name);
    return add_archive(lk, name, buf, len, flags);
}

/* A thin archive's member: a file named relative to the archive. */
static ej_status open_thin_member(const ej__archive *a, const ej__armember *m, const char *name,
                                  ej__object **out, ej__err *err)
{
    char path[4096];
    const char *slash = strrchr(a->path, '/');
    if (m->name[0] == '/' || !slash)
        snprintf(path, sizeof path, "%s", m->name);
    else
        snprintf(path, sizeof path, "%.*s/%s", (int)(slash - a->path), a->path, m->name);
    ej_status st = ej__object_open_file(path, out, err);
    if (st != EJ_OK) {
        ej__err_prefix(err, "%s", name);
        return st == EJ__IS_ARCHIVE ? EJ_BADELF : st == EJ__IS_IMAGE ? EJ_UNSUPPORTED : st;
    }
    char *label = strdup(name);
    if (!label) {
        ej__object_free(*out);
        *out = NULL;
        return ej__fail(err, EJ_NOMEM, "%s: out of memory", name);
    }
    free((*out)->name);
    (*out)->name = label;
    return EJ_OK;
}

ej_status ej__link_add_member(ej_linker *lk, ej__archive *a, const ej__armember *m,
                              const char *why)
{
    char name[768];
    ej__object *obj = NULL;
    snprintf(name, sizeof name, "%s(%s)", a->path, m->name);
    uint64_t t0 = ej__now_ns();
    ej_status st = m->data ? ej__object_open_member(name, (uint8_t *)(uintptr_t)m->data, m->size,
                                                    a->fd, m->data_off, &obj, &lk->err)
                           : open_thin_member(a, m, name, &obj, &lk->err);
    lk->stats.ns[EJ_STAGE_READ] += ej__now_ns() - t0;
    if (st == EJ_OK)
        st = add_object(lk, obj);
    if (st != EJ_OK && why)
        ej__err_prefix(&lk->err, "'%s' pulled in an archive member", why);
    return st;
}

EJ_API ej_status ej_linker_add_buffer(ej_linker *lk, const char *name,
                                      const void *buf, size_t len)
{
    ej__object *obj = NULL;
    ej_status st = check_open(lk, buf);
    if (st != EJ_OK)
        return st;
    if (lk->cache)
        return ej__fail(&lk->err, EJ_UNSUPPORTED, "%s: inputs in memory are not cached (the "
                        "cache keys files)", name ? name : "<buffer>");
    if (ej__archive_magic(buf, len))
        return ej_linker_add_archive_buffer(lk, name, buf, len, 0);
    uint64_t t0 = ej__now_ns();
    st = ej__object_open_buffer(name, buf, len, &obj, &lk->err);
    lk->stats.ns[EJ_STAGE_READ] += ej__now_ns() - t0;
    return st != EJ_OK ? st : add_object(lk, obj);
}

ej_status ej__linker_add_library(ej_linker *lk, const char *lib)
{
    void **libs = realloc(lk->libs, (lk->nlibs + 1) * sizeof *libs);
    if (libs)
        lk->libs = libs;
    char **names = libs ? realloc(lk->lib_names, (lk->nlibs + 1) * sizeof *names) : NULL;
    if (names)
        lk->lib_names = names;
    char *name = names ? strdup(lib) : NULL;
    if (!name)
        return ej__fail(&lk->err, EJ_NOMEM, "out of memory adding library %s", lib);
    void *h = dlopen(lib, RTLD_NOW | RTLD_GLOBAL);
    if (!h) {
        free(name);
        return ej__fail(&lk->err, EJ_NOTFOUND, "cannot load library %s: %s", lib, dlerror());
    }
    lk->lib_names[lk->nlibs] = name;
    lk->libs[lk->nlibs++] = h;
    return EJ_OK;
}

EJ_API ej_status ej_linker_add_library(ej_linker *lk, const char *lib)
{
    ej_status st = check_open(lk, lib);
    return st != EJ_OK ? st : ej__linker_add_library(lk, lib);
}

void ej__linker_set_namespace(ej_linker *lk, ej_resolver_fn fn, void *ctx)
{
    lk->ns_resolver = fn;
    lk->ns_ctx = ctx;
}

int ej__linker_linked(const ej_linker *lk)
{
    return lk->linked;
}

EJ_API ej_status ej_linker_set_resolver(ej_linker *lk, ej_resolver_fn fn, void *ctx)
{
    if (!lk)
        return EJ_INVAL;
    lk->resolver = fn;
    lk->resolver_ctx = ctx;
    return EJ_OK;
}

EJ_API ej_status ej_linker_set_base(ej_linker *lk, uint64_t base)
{
    if (!lk)
        return EJ_INVAL;
    if (base == 0 || base % ej__page_size())
        return ej__fail(&lk->err, EJ_INVAL, "link-only base 0x%llx is zero or not page aligned",
                        (unsigned long long)base);
    lk->fake_base = base;
    return EJ_OK;
}

EJ_API ej_status ej_linker_set_registration(ej_linker *lk, unsigned flags)
{
    const unsigned known = EJ_REGISTER_ALL;
    if (!lk)
        return EJ_INVAL;
    if (flags & ~known)
        return ej__fail(&lk->err, EJ_INVAL, "unknown registration flags 0x%x", flags & ~known);
    if (lk->linked)
        return ej__fail(&lk->err, EJ_STATE, "this linker has already linked");
    lk->registration = flags;
    return EJ_OK;
}

EJ_API ej_status ej_linker_set_code_memory(ej_linker *lk, ej_code_memory kind)
{
    if (!lk)
        return EJ_INVAL;
    if (kind != EJ_CODE_MEMORY_AUTO && kind != EJ_CODE_MEMORY_MPROTECT &&
        kind != EJ_CODE_MEMORY_DUAL_MAP && kind != EJ_CODE_MEMORY_SHARED)
        return ej__fail(&lk->err, EJ_INVAL, "unknown code memory kind %d", (int)kind);
    if (lk->linked)
        return ej__fail(&lk->err, EJ_STATE, "this linker has already linked");
    lk->code_memory = kind;
    return EJ_OK;
}

const ej__link_stats *ej__linker_stats(const ej_linker *lk)
{
    return &lk->stats;
}

const char *ej__stage_name(int i)
{
    static const char *const names[] = {
#define EJ__STAGE_NAME(name, label) label,
        EJ_STAGE_MAP(EJ__STAGE_NAME)
#undef EJ__STAGE_NAME
    };
    return i >= 0 && i < EJ_STAGE_COUNT ? names[i] : "?";
}
