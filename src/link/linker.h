/* The link driver's state: the linker handle, resolved symbols, and the
 * plan (GOT, stubs, placement, layout) computed before memory is reserved.
 * The stages, in order, each in its own file:
 *   comdat.c   — keep one copy of each COMDAT group
 *   align.c    — delete the alignment padding left to the linker (RISC-V)
 *   resolve.c  — bind every symbol reference to one definition
 *   scan.c     — count GOT slots and stubs, collect placement constraints
 *   layout.c   — assign each section an offset in the image
 *   relocate.c — copy contents, apply relocations, fill GOT and stubs
 *   link.c     — the driver: reserve, run the stages, publish, unwind
 */
#ifndef EJ_LINK_LINKER_H
#define EJ_LINK_LINKER_H

#include "codemem/codemem.h"
#include "elf/object.h"
#include "image/fixup.h"
#include "image/image.h"
#include "link/stats.h"

struct ej__sym;

/* The linker's own state for one section of an input object. */
typedef struct ej__lsec {
    int cls;            /* layout class, or -1 when not loaded */
    uint8_t discarded;  /* member of a COMDAT group another object supplied */
    uint64_t off;       /* offset in the image */
} ej__lsec;

/* The linker's own state for one input object (the elf layer's
 * ej__object describes the object; the link changes it only through the
 * elf layer's own operations, such as ej__object_cut). */
typedef struct ej__lobj {
    ej__object *o;
    ej__lsec *sec;           /* one per section of O */
    size_t names_base;       /* where O's string table starts in the image's names */
    struct ej__sym **symp;   /* one per symbol; NULL for most locals: see resolve.c */
    /* Per symbol, for the locals without an entry, so the per-relocation
     * loops read one dense array instead of the symbol and section tables:
     * lplain[i] is nonzero when local I is in a loaded section and is
     * neither TLS nor an IFUNC (set by resolve.c); lvalue[i] is its address
     * once laid out, or EJ_LVALUE_DISCARDED (set by layout.c). */
    uint8_t *lplain;
    uint64_t *lvalue;
    uint8_t aligned;         /* align.c has cut its padding (done once) */
} ej__lobj;

#define EJ_LVALUE_DISCARDED UINT64_MAX

enum ej__sym_kind {
    EJ_SK_UNDEF,     /* not (yet) defined anywhere */
    EJ_SK_SECTION,   /* defined in a loaded section of an object */
    EJ_SK_ABS,       /* SHN_ABS */
    EJ_SK_COMMON,    /* SHN_COMMON, allocated in .bss by layout */
    EJ_SK_HOST,      /* resolver, library or host process */
    EJ_SK_IMAGE,     /* synthesised inside the image (GOT, __dso_handle, __start_X) */
    EJ_SK_DISCARDED, /* defined in a discarded COMDAT member */
};

/* Synthetic symbols the loader defines, as crt files and the static part
 * of libc would for a normal link. */
enum ej__synth {
    EJ_SYN_NONE,
    EJ_SYN_GOT,          /* _GLOBAL_OFFSET_TABLE_ */
    EJ_SYN_DSO_HANDLE,   /* __dso_handle: one per module */
    EJ_SYN_SEC_START,    /* __start_SEC */
    EJ_SYN_SEC_STOP,     /* __stop_SEC */
    EJ_SYN_TLS_BASE,     /* _TLS_MODULE_BASE_: offset 0 of the TLS block */
};

typedef struct ej__sym {
    const char *name;
    uint64_t value;      /* final address once laid out (COMMON: alignment until then) */
    uint64_t size;
    ej__lobj *obj;       /* defining object (SECTION, COMMON, ABS) */
    uint32_t shndx;      /* defining section in OBJ */
    uint32_t got;        /* GOT slot index + 1, 0 when none */
    uint32_t stub;       /* stub index + 1, 0 when none */
    uint32_t hash;
    uint32_t tls;        /* its thread-local uses (lk->tls.uses) index + 1, 0 when none */
    uint8_t kind;        /* enum ej__sym_kind */
    uint8_t bind, type, vis;
    uint8_t strong_ref;  /* some reference is not weak */
    uint8_t host_func;   /* a HOST address known to be code */
    uint8_t synth;       /* enum ej__synth */
    uint8_t is_global;
    uint8_t weak_undef;  /* undefined everywhere, only weak references: 0 (an image
                          * looks it up again at load, as a dynamic loader would) */
} ej__sym;

/* Global symbol table: open addressing over pooled entries.  A slot keeps
 * the hash beside the pointer, so a probe touches an entry only when the
 * hashes match; entries are pooled in insertion order, so walking them is
 * sequential and deterministic. */
typedef struct ej__slot {
    uint32_t hash;
    ej__sym *sym;
} ej__slot;

typedef struct ej__symtab {
    ej__slot *slots;
    size_t cap, count;
    struct ej__sym_pool *first, *last;
} ej__symtab;

typedef struct ej__symtab_iter {
    struct ej__sym_pool *pool;
    size_t i;
} ej__symtab_iter;

ej_status ej__symtab_init(ej__symtab *t, size_t expected);
void ej__symtab_free(ej__symtab *t);
uint32_t ej__sym_hash(const char *name);
/* Finds NAME, or inserts a new UNDEF entry when CREATE; NULL when absent or
 * out of memory (*OOM set). */
ej__sym *ej__symtab_get(ej__symtab *t, const char *name, uint32_t hash,
                        int create, int *oom);
/* A new zeroed entry from T's pool, not entered in the hash. */
ej__sym *ej__symtab_alloc(ej__symtab *t);
/* Every entry in insertion order: start with ej__symtab_begin, then call
 * ej__symtab_next until it returns NULL. */
ej__symtab_iter ej__symtab_begin(const ej__symtab *t);
ej__sym *ej__symtab_next(ej__symtab_iter *it);

typedef struct ej__secgroup {
    const char *name;
    uint64_t start, end; /* offsets in the image */
} ej__secgroup;

/* Thread-local storage (tls.c).  The module's block, and the table the C
 * library fills for it (src/tls): one entry per thread-pointer offset,
 * module id, block offset or descriptor the code needs, copied into the
 * image's read-only data at plan.tls_off. */
#define EJ_CLS_TLS EJ_CLS_COUNT /* a section of the TLS block, not of the image */

typedef struct ej__tls_ent {
    uint8_t what;        /* enum ej__tls_what (src/tls/tlsmod.h) */
    uint8_t optional;    /* a slot for relaxation only (see tls.c) */
    const ej__sym *sym;  /* NULL: the module's own block, offset 0 */
} ej__tls_ent;

/* Where a symbol's table entries are: byte offsets in the table + 1. */
typedef struct ej__tls_use {
    uint32_t ie, gd, desc, tp;
} ej__tls_use;

typedef struct ej__tls_plan {
    ej__tls_ent *ents;
    size_t nents;
    uint64_t table_size;  /* bytes */
    ej__tls_use *uses;
    size_t nuses;
    uint32_t own_tp;      /* the block's thread-pointer offset, + 1 (0: no static TLS) */
    uint32_t ld;          /* the module's {id, 0} pair, + 1 */
    uint64_t filesz, memsz, align;
    const ej__sym *static_user; /* the first variable that needs static TLS, for messages */
    const ej__sym *static_host; /* the first other module's variable reached so */
    int over_aligned;     /* the block is aligned more than static TLS can be */
    int relax;            /* general-dynamic and descriptor sequences become initial-exec */
    int ld_unrelaxable;   /* some local-dynamic sequence cannot be relaxed */
    int64_t T;            /* the block's thread-pointer offset, once bound */
    uint64_t *table;      /* the values, once bound */
    /* Kept for an image being saved (src/aot): the relocated initial
     * image and the table's entries, as handed to the C library. */
    uint8_t *saved_init;
    struct ej__tls_word *saved_words;
} ej__tls_plan;

typedef struct ej__plan {
    ej__sym **got_syms;  /* in slot order */
    size_t ngot;
    ej__sym **stub_syms; /* in stub order */
    size_t nstub;
    int need_got;        /* a GOT must exist, even empty */
    /* Placement: where the image may go. */
    uint64_t win_lo, win_hi;     /* bounds for any image byte (inclusive lo, exclusive hi) */
    char why_lo[320], why_hi[320]; /* what set each bound, for messages */
    uint64_t pref_lo, pref_hi;   /* preferred bounds (reach host code without stubs) */
    int has_pref;
    /* Layout. */
    uint64_t cls_off[EJ_CLS_COUNT], cls_size[EJ_CLS_COUNT];
    uint64_t cls_used[EJ_CLS_COUNT];  /* bytes before the page rounding */
    uint64_t cls_align[EJ_CLS_COUNT]; /* the largest alignment inside */
    int cur_cls;                      /* (the class being laid out) */
    uint64_t max_align;
    uint64_t stub_off, got_off, dso_off, tls_off;
    /* Every .eh_frame, end to end, then a 4-byte zero terminator: one
     * table the unwinder can register (EH_SIZE 0 when there is none). */
    uint64_t eh_off, eh_size;
    uint64_t image_size;
    uint64_t filled;     /* bytes of section contents the link writes */
    /* Sections whose names are C identifiers, grouped for __start_/__stop_. */
    struct ej__secgroup *groups;
    size_t ngroups;
} ej__plan;

/* An archive the link may take members from (archives.c), and which of
 * its members (by header offset) are loaded. */
struct ej__archive;
typedef struct ej__larchive {
    struct ej__archive *a;
    unsigned flags;       /* EJ_ARCHIVE_* */
    uint64_t *loaded;
    size_t nloaded, loaded_cap;
    /* The compiler runtime's: opened on first need, its index by name. */
    int tried;
    const struct ej__arsym **hash;
    size_t hash_cap;
} ej__larchive;

/* Fixups recorded for an image being saved (fixups.c): each with the
 * imported name it needs (NULL for the other kinds); the label
 * differences seen, checked to pair up. */
typedef struct ej__fixup_rec {
    ej__fixup fx;
    const char *name;
} ej__fixup_rec;

typedef struct ej__diff {
    uint64_t off;
    int sign;
} ej__diff;

typedef struct ej__fixups {
    ej__fixup_rec *v;
    size_t n, cap;
    int in_tls_init;      /* relocating the TLS block's initial image */
    ej__diff *diffs;
    size_t ndiffs, diffs_cap;
} ej__fixups;

/* The compiler runtime's archives: libgcc.a, libc_nonshared.a. */
#define EJ_RUNTIME_ARCHIVES 2

struct ej_linker {
    ej__err err;
    ej__lobj *objs;      /* the inputs, in order */
    size_t nobjs, objs_cap;
    const ej__arch *arch;
    ej_resolver_fn resolver;
    void *resolver_ctx;
    /* Consulted before the resolver: the namespace the link joins
     * (src/session), through ej__linker_set_namespace. */
    ej_resolver_fn ns_resolver;
    void *ns_ctx;
    void **libs;
    char **lib_names;    /* as given, for an image saved from the link */
    size_t nlibs;
    struct ej__aot *image; /* an image to load instead of linking (src/aot) */
    struct ej__cache *cache; /* the image cache, when set (src/aot/cache.c) */
    ej__larchive *archives; /* in the order added */
    size_t narchives;
    ej__larchive runtime[EJ_RUNTIME_ARCHIVES];
    int use_runtime;      /* look names up in the compiler runtime's archives */
    /* Host lookups that found something, by name (builtins.c): the
     * archive stage looks up what the runtime might define, and the
     * resolution then does not look again. */
    struct ej__host_hit *host_hits;
    size_t host_cap, host_n;
    /* Names the resolution found only in the compiler runtime's archives
     * (archives.c): their members are loaded and the link replanned. */
    struct ej__rt_want *rt_wants;
    size_t nrt_wants;
    uint64_t fake_base;  /* link-only when nonzero */
    int linked;
    unsigned registration; /* EJ_REGISTER_* for the module */
    int code_memory;       /* enum ej_code_memory asked for */
    /* Where the image runs, once reserved: image offsets become addresses
     * through it (ej__vaddr), class by class for shared code memory.  The
     * module's; valid while it lives (saving an image relocates its DWARF
     * after the link). */
    const ej__codemem *mem;
    ej__symtab globals;
    ej__sym null_sym;    /* what symbol index 0 ("no symbol") binds to: absolute 0 */
    ej__symtab local_pool; /* entries for the few locals that need a GOT slot */
    ej__sym **commons;   /* COMMON definitions to allocate */
    size_t ncommons;
    ej__plan plan;
    ej__tls_plan tls;
    ej__link_stats stats;
    /* Saving an image (src/aot): the relocations to redo at load, and,
     * while its DWARF is relocated (dwarf.c), the section whose address
     * words are noted (relocate.c). */
    int saving;
    ej__fixups fixups;
    struct ej__image_dwarf *dwarf_sink;
    int nomem_debug;
    /* Notes for the user (ej_linker_notes): lines, each ending in '\n'. */
    char *notes;
    size_t notes_len;
};

/* Fixups (fixups.c), when LK->saving.  The kind of a relocation's symbol
 * (symbol SYMI of LO, S its entry or NULL); a relocation applied at SITE,
 * kept if it must be redone at load (FROM names it in errors:
 * EJ_UNSUPPORTED for what an image cannot hold); a GOT slot at image
 * offset SLOT_OFF holding S; and the check, once relocated, that label
 * differences pair up. */
typedef struct ej__fixup_from {
    const ej__lobj *lo;
    size_t r;
    const Elf64_Rela *rel;
} ej__fixup_from;
int ej__fixup_kind_of(const ej__lobj *lo, size_t symi, const ej__sym *s);
ej_status ej__fixup_site(ej_linker *lk, const ej__fixup_from *from, const ej__reloc_info *info,
                         const ej__reloc_site *site, int kind, const char *name, int weak,
                         uint64_t vbase);
ej_status ej__fixup_got(ej_linker *lk, uint64_t slot_off, const ej__sym *s, uint64_t vbase);
/* A thread-local relocation applied at SITE: kept when its value depends
 * on where the C library puts the block (tls.c says: ej__tls_fixup). */
ej_status ej__fixup_tls(ej_linker *lk, const ej__fixup_from *from, const ej__reloc_info *info,
                        const ej__reloc_site *site, const ej__sym *s, uint64_t vbase);
ej_status ej__fixup_check_diffs(ej_linker *lk);
void ej__fixups_free(ej__fixups *f);

/* The image cache (src/aot/cache.c): an input noted instead of read (an
 * archive when ARCHIVE, with its EJ_ARCHIVE_* FLAGS); the link through
 * the cache; releasing it. */
typedef struct ej__cache ej__cache;
typedef struct ej__cache_input {
    char *path;
    int archive;
    unsigned flags;
} ej__cache_input;
ej_status ej__cache_note(ej_linker *lk, const char *path, int archive, unsigned flags);
ej_status ej__cache_link(ej_linker *lk, ej_module **out);
void ej__cache_free(ej__cache *c);

/* ej_linker_add_library without the state checks (an image's libraries
 * are opened while it loads). */
ej_status ej__linker_add_library(ej_linker *lk, const char *lib);

/* Adds a line to LK's notes (a fact worth telling that is not an error).
 * A note that cannot be stored for lack of memory is dropped. */
void ej__note(ej_linker *lk, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Stages (see the file comment). */
ej_status ej__comdat_select(ej_linker *lk);
/* Sets each section's layout class (after COMDAT selection). */
void ej__select_sections(ej_linker *lk);
/* Deletes the padding the architecture's alignment relocations leave to
 * the linker from the loaded sections (align.c; RISC-V only). */
ej_status ej__align_code(ej_linker *lk);
ej_status ej__resolve_symbols(ej_linker *lk);
ej_status ej__scan_relocs(ej_linker *lk);
/* The window of places P from which a PC-relative field of INFO reaches
 * S (S + A - P in [min, max], less EJ_REACH_MARGIN at both ends for
 * addends and the image's own extent), as [*LO, *HI): a link's placement
 * (scan.c) and an image's load (src/aot/load.c). */
#define EJ_REACH_MARGIN ((uint64_t)1 << 20)
void ej__reach_window(const ej__reloc_info *info, uint64_t S, uint64_t *lo, uint64_t *hi);
ej_status ej__layout(ej_linker *lk, size_t page);
void ej__assign_addresses(ej_linker *lk);

/* Makes FN(CTX, name) the first place a name no object defines is looked
 * up, before the resolver, the libraries and the host (a session's
 * modules).  For src/session. */
void ej__linker_set_namespace(ej_linker *lk, ej_resolver_fn fn, void *ctx);
int ej__linker_linked(const ej_linker *lk);

/* The address image offset OFF runs at (the image is reserved). */
static inline uint64_t ej__vaddr(const ej_linker *lk, uint64_t off)
{
    return ej__codemem_vaddr(lk->mem, off);
}

/* The end of LEN bytes at image offset OFF: for shared code memory the
 * class of the last byte decides (an end at a class boundary belongs to the
 * class it ends). */
static inline uint64_t ej__vaddr_end(const ej_linker *lk, uint64_t off, uint64_t len)
{
    return len ? ej__vaddr(lk, off + len - 1) + 1 : ej__vaddr(lk, off);
}
/* Thread-local storage (tls.c): what a TLS relocation (or a relocation
 * against a TLS symbol) needs, from the scan; the block's layout; and,
 * once laid out, the block and table handed to the C library (*MOD
 * receives what keeps them; link-only links get an executable's values
 * instead), its table written into the image at W. */
ej_status ej__tls_scan(ej_linker *lk, ej__lobj *lo, size_t r, const Elf64_Rela *rel,
                       ej__sym *s, const ej__reloc_info *info);
ej_status ej__tls_layout(ej_linker *lk);
struct ej__tls_module;
ej_status ej__tls_bind(ej_linker *lk, uint8_t *wbase, uint64_t vbase, struct ej__tls_module **mod);
/* For an image: what a thread-local relocation of S (needs NEEDS) applied
 * at SITE takes from the C library's placement of the block: EJ_FX_TLS_TP
 * (the block's thread-pointer offset + *SVAL), EJ_FX_TLS_WORD (table
 * word *SVAL), or -1 (nothing: the code reaches its table slots
 * PC-relatively, and block offsets do not move). */
int ej__tls_fixup(const ej_linker *lk, const ej__sym *s, unsigned needs,
                  const ej__reloc_site *site, uint64_t *sval);
/* Puts what TLS relocation SITE needs into its S or G (see reloc.h). */
void ej__tls_site(const ej_linker *lk, const ej__sym *s, unsigned needs, ej__reloc_site *site);
/* Applies rela section R of LO to its target's bytes at W, whose offset 0
 * has address V (relocate.c); the first failure is reported. */
ej_status ej__relocate_section(ej_linker *lk, const ej__lobj *lo, size_t r, uint8_t *w,
                               uint64_t v, uint64_t vbase);
ej_status ej__copy_sections(ej_linker *lk, uint8_t *wbase);
ej_status ej__relocate(ej_linker *lk, uint8_t *wbase, uint64_t vbase);
/* The same relocation loop over a section that is not loaded (DWARF):
 * rela section R of OBJ applied to its target's bytes at W, whose offset 0
 * has address V, in an image at VBASE.  Best effort: what cannot be
 * applied (a thread-local variable's location, a GOT reference, an
 * unknown type) is left as assembled, which costs that one attribute,
 * never the link. */
/* While an image's DWARF is relocated for saving (LK->dwarf_sink): notes
 * the 8-byte word at LOC, just given symbol SYMI's address, if that is an
 * address in the image (not a debug section's offset, not an import). */
void ej__dwarf_note_addr(ej_linker *lk, const ej__lobj *lo, size_t symi, const uint8_t *loc);
void ej__relocate_debug(ej_linker *lk, ej__lobj *lo, size_t r, uint8_t *w, uint64_t v,
                        uint64_t vbase);
/* The finished image's debugger view, built when GDB registration is on:
 * symbols (imagesyms.c) and combined, relocated DWARF (dwarf.c). */
ej_status ej__image_symbols(ej__image *img, const ej_linker *lk, ej__err *err);
ej_status ej__image_debug_info(ej__image *img, ej_linker *lk, ej__err *err);

/* The first place LO refers to E, as "obj: .text+0x1c" (or LO's name),
 * for messages. */
void ej__first_reference(const ej__sym *e, const ej__lobj *lo, char *buf, size_t len);

/* Fills L with what local symbol I of LO stands for (before layout:
 * value is st_value). */
void ej__describe_local(ej__lobj *lo, size_t i, ej__sym *l);

/* True when section I of LO is loaded into the image. */
static inline int ej__sec_loaded(const ej__lobj *lo, size_t i)
{
    return lo->sec[i].cls >= 0;
}

/* True when symbol I of LO is defined in a loaded section (not undefined,
 * absolute or common, and not in a discarded COMDAT copy, whose class is
 * -1). */
static inline int ej__sym_loaded(const ej__lobj *lo, size_t i)
{
    uint32_t shndx = ej__object_sym_shndx(lo->o, i);
    return shndx != SHN_UNDEF && shndx < lo->o->shnum && ej__sec_loaded(lo, shndx);
}

/* The layout class of an allocated section, or -1 when not loaded. */
int ej__section_class(const ej__section *s, const ej__lsec *l);

/* Describes where relocation K of rela section R of OBJ lives, as
 * "obj: .text+0x1c", for messages. */
void ej__site_name(const ej__object *obj, size_t rsec, const Elf64_Rela *r,
                   char *buf, size_t len);

/* Host lookups (builtins.c): the address of NAME through the resolver,
 * the -l libraries, the host process, libm and libgcc_s, or a loader shim;
 * then the C++ runtime, which LOAD_CXX allows to be loaded for it. */
void *ej__host_lookup(ej_linker *lk, const char *name, int load_cxx);
/* The same, remembering what it finds for the rest of the link. */
void *ej__host_lookup_cached(ej_linker *lk, const char *name, int load_cxx);
/* After a lookup found nothing: why a library it would have searched could
 * not be opened ("" when none failed), and whether for lack of memory. */
const char *ej__host_lookup_failure(int *nomem);
int ej__host_is_function(const void *addr);
/* The size the host's dynamic symbol table gives the object at ADDR, or 0. */
uint64_t ej__host_symbol_size(const void *addr);

#endif /* EJ_LINK_LINKER_H */
