/* The relocation-test harness shared by test_reloc_x86_64.c,
 * aarch64/test_reloc_aarch64.c and riscv64/test_reloc_riscv64.c.
 *
 * Each test program is built with harness.c and these definitions (see
 * the CMakeLists.txt files):
 *   EJ_RH_FIXTURE_DIR  where its fixture objects are built;
 *   EJ_RH_SOURCE_DIR   where their sources are (for the check lines);
 * and defines `rh_arch_desc` (below): its stub encoding, its data-field
 * layout and the functions its check lines may call.
 *
 * What it offers:
 *   - objects: fixture files (fx), edited copies in memory (fx_copy), their
 *     symbols and relocations (obj_sym, obj_word, each_rela, retype, ...);
 *   - a resolver table (res_set / res_get);
 *   - links: link_ok, link_fails (which also checks that nothing stays
 *     mapped and that a failed link leaves *out NULL), link_counted;
 *   - reading the image: rd, rd8 .. rd64, in_image, sym, check_field_at,
 *     check_bytes, stubs and GOT slots;
 *   - check lines: run_checks() evaluates the `check:` and `let:` lines of
 *     fixture sources against a linked module (syntax in harness.c);
 *   - the thread-local-storage tests every architecture runs (at the end):
 *     tls_check_all (tls.s + tls_other.s), tls_refused_obj (a refused TLS
 *     relocation) and tls_check_c (compiled C, every relocation checked
 *     by a per-architecture callback).
 */
#ifndef EJ_RELOC_HARNESS_H
#define EJ_RELOC_HARNESS_H

#include <criterion/criterion.h>
#include <elf.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>

#include "elfjit/elfjit.h"
#include "testutil.h"

#define KIB ((uint64_t)1 << 10)
#define MIB ((uint64_t)1 << 20)
#define GIB ((uint64_t)1 << 30)
#define LOW_BASE ((uint64_t)0x10000000)
#define HIGH_BASE ((uint64_t)0x7e0000000000)
#define SENTINEL_BYTE 0xa5

/* The two fake bases every link-only test links at. */
extern const uint64_t bases[2];
#define NBASES (sizeof bases / sizeof bases[0])

uint64_t page_size(void);
uint64_t page4k(uint64_t a);
/* V's low BITS bits, sign-extended. */
int64_t sext(uint64_t v, unsigned bits);
int fits_s32(int64_t v);

/* ---- resolver ------------------------------------------------------- */

typedef struct res_table {
    struct {
        char name[64];
        uint64_t addr;
    } e[48];
    size_t n;
    uint64_t dflt;     /* for any other name, when nonzero */
    uint64_t autofill; /* nonzero: unknown names get autofill, autofill + 0x1000, ... */
} res_table;

void res_set(res_table *t, const char *name, uint64_t addr);
uint64_t res_get(const res_table *t, const char *name); /* 0: not in the table */
void *resolve(void *ctx, const char *name);               /* the ej_resolver_fn */
uint64_t host_sym(const char *name);                      /* dlsym, asserted */

/* ---- objects -------------------------------------------------------- */

/* An object to link: a file (buf NULL: linked from PATH), or a copy in
 * memory, possibly edited, added with ej_linker_add_buffer under NAME.
 * A copy is parsed: EH .. STR describe its sections and symbols. */
typedef struct obj {
    char name[128];
    char path[512];
    uint8_t *buf;
    size_t len;
    const Elf64_Ehdr *eh;
    const Elf64_Shdr *sh;
    const char *shstr;
    const Elf64_Sym *sym;
    size_t nsym;
    const char *str;
} obj;

obj fx(const char *name);             /* EJ_RH_FIXTURE_DIR/NAME, as a file */
obj fx_file(const char *path);        /* any file */
obj fx_copy(const char *name);        /* EJ_RH_FIXTURE_DIR/NAME, read into memory */
void obj_open(obj *o, const char *path); /* *O = a copy of PATH */
void obj_free(obj *o);

/* The defined symbol NAME of a copy: asserted, or NULL (obj_find_sym). */
const Elf64_Sym *obj_sym(const obj *o, const char *name);
const Elf64_Sym *obj_find_sym(const obj *o, const char *name);
/* The 32-bit word the assembler put at NAME. */
uint32_t obj_word(const obj *o, const char *name);
/* The relocation at NAME (exactly one, asserted). */
Elf64_Rela *obj_rela_at(obj *o, const char *name);
/* Rewrites the type of the relocation at NAME. */
void retype_at(obj *o, const char *name, uint32_t type);

/* Calls FN on every relocation of every SHT_RELA section, in file order;
 * returns how many there were. */
typedef void (*rela_fn)(Elf64_Rela *r, size_t idx, void *ctx);
size_t each_rela(obj *o, rela_fn fn, void *ctx);
#define RH_ANY_TYPE UINT32_MAX
/* Rewrites every relocation of type FROM (RH_ANY_TYPE: of any type) into
 * TO; returns how many.  retype: the same, for at least one. */
int retype_all(obj *o, uint32_t from, uint32_t to);
void retype(obj *o, uint32_t from, uint32_t to);
/* Sets the addend of relocation number IDX (file order). */
void set_addend(obj *o, size_t idx, int64_t addend);

/* ---- links ---------------------------------------------------------- */

typedef struct link_result {
    ej_status st;
    ej_module *m;
    char msg[1024];
} link_result;

ej_status add_obj(ej_linker *lk, const obj *o);
/* Links OBJS (BASE 0: a real link, else link-only at BASE) with resolver
 * RT (may be NULL); a failed link must leave *out NULL. */
link_result do_link(uint64_t base, res_table *rt, const obj *objs, size_t n);
ej_module *link_ok_(uint64_t base, res_table *rt, const obj *objs, size_t n);
/* Links twice and counts the mappings around the second link only: the
 * first one warms up what is mapped lazily on first use (malloc arenas,
 * AddressSanitizer's allocator regions, libdl), so whatever the second
 * leaves behind belongs to the link.  *LEFT gets that number; a module
 * from the first link is freed. */
link_result link_counted(uint64_t base, res_table *rt, const obj *objs, size_t n, int *left);
/* A link that must fail with status WANT and leave nothing mapped; the
 * message goes to MSG. */
void link_fails_(uint64_t base, res_table *rt, ej_status want, char *msg, size_t len,
                 const obj *objs, size_t n);

#define OBJS(...) (const obj[]){__VA_ARGS__}, \
    sizeof((const obj[]){__VA_ARGS__}) / sizeof(obj)
#define link_ok(base, rt, ...) link_ok_(base, rt, OBJS(__VA_ARGS__))
#define link_fails(base, rt, want, msg, ...) \
    link_fails_(base, rt, want, msg, sizeof msg, OBJS(__VA_ARGS__))

/* Adding O to a linker (link-only at LOW_BASE) must fail with WANT and
 * leave nothing mapped, neither while the linker lives nor after it is
 * freed (done twice, the mappings counted in the second round).  The
 * message goes to MSG. */
void add_fails_(const obj *o, ej_status want, char *msg, size_t len);
#define add_fails(o, want, msg) add_fails_(o, want, msg, sizeof msg)

void expect_msg(const char *msg, const char *part);

/* ---- reading the image ---------------------------------------------- */

uint64_t sym(const ej_module *m, const char *name); /* asserted */
void rd(ej_module *m, uint64_t addr, void *buf, size_t len);
uint8_t rd8(ej_module *m, uint64_t addr);
uint16_t rd16(ej_module *m, uint64_t addr);
uint32_t rd32(ej_module *m, uint64_t addr);
uint64_t rd64(ej_module *m, uint64_t addr);
int64_t rds32(ej_module *m, uint64_t addr);
int in_image(const ej_module *m, uint64_t a, uint64_t len);

/* The data field at P: its low WIDTH bytes must be those of EXPECT, the
 * bytes after them (up to 8) still the sentinel. */
void check_field_at(ej_module *m, const char *what, uint64_t p, unsigned width,
                    uint64_t expect);
/* The 16 bytes at P: the low WIDTH bytes of EXPECT, then the bytes of REST
 * up to byte SENTINEL_FROM, then the sentinel. */
void check_bytes(ej_module *m, const char *what, uint64_t p, unsigned width, uint64_t expect,
                 uint64_t rest, unsigned sentinel_from);

/* ---- stubs and the GOT (encodings from rh_arch_desc) ---------------- */

int is_stub(ej_module *m, uint64_t L);
/* L must be a stub whose GOT slot holds S; returns the slot. */
uint64_t check_stub(ej_module *m, uint64_t L, uint64_t S);
/* The stubs of the image, in address order: up to MAX of them; returns
 * how many it stored. */
size_t find_stubs(ej_module *m, uint64_t *out, size_t max);

typedef struct got_info {
    uint64_t got; /* _GLOBAL_OFFSET_TABLE_ */
    size_t n;     /* slots, up to __dso_handle */
} got_info;

got_info got_from(ej_module *m, uint64_t got, uint64_t dso);
/* The one GOT slot holding S (references to one symbol share a slot). */
uint64_t got_slot(ej_module *m, const got_info *gi, uint64_t S, const char *what);

/* ---- thread-local storage -------------------------------------------- */

/* The module's TLS block as the linker must lay it out (computed here from
 * the objects, which must be copies): every SHF_TLS section that is not
 * SHT_NOBITS (.tdata) in object order then section order, then every
 * SHT_NOBITS one (.tbss) in the same order, each at its own alignment;
 * the block's alignment is the largest (at least 1), its size where the
 * last section ends. */
#define TLS_MAX_SECS 64
typedef struct tls_block {
    uint64_t size, align;
    size_t n;
    struct {
        size_t obj, shndx;
        uint64_t off;
    } sec[TLS_MAX_SECS];
} tls_block;

uint64_t align_up(uint64_t v, uint64_t a);
void tls_block_of(const obj *objs, size_t n, tls_block *b);
/* The symbol SYMIDX of OBJS[OI] as a TLS symbol: its offset S in the block
 * and a key naming its definition (the same for every object referring
 * to it).  An undefined symbol is looked up among the other objects'
 * global definitions; _TLS_MODULE_BASE_ (undefined) is the block's start,
 * S = 0.  Returns 0 when the symbol is not a TLS symbol of the objects. */
int tls_sym(const tls_block *b, const obj *objs, size_t n, size_t oi, size_t symidx,
            uint64_t *S, uint64_t *key);
#define TLS_KEY_MODULE_BASE UINT64_MAX

/* Relocations of the objects' allocated sections whose place an exported
 * symbol of the same section locates in the image (the C fixtures export
 * every function): each with what a checker needs. */
typedef struct placed_rela {
    size_t oi;          /* the object */
    size_t shndx;       /* the section relocated */
    uint64_t off;       /* r_offset */
    uint32_t type;
    int64_t A;
    size_t symidx;
    const char *name;   /* the symbol's name ("" for none) */
    int tls;            /* the symbol is a TLS symbol: S and key are set */
    uint64_t S, key;
    uint64_t P;         /* the place, in the image */
    uint64_t orig;      /* the assembled bytes at the place (up to 8) */
} placed_rela;

typedef struct placed_set {
    placed_rela *r;
    size_t n;
    size_t unplaced; /* relocations of allocated sections with no anchor */
    tls_block tls;
} placed_set;

void placed_collect(ej_module *m, const obj *objs, size_t n, placed_set *out);
void placed_free(placed_set *s);
/* The relocation of type TYPE (RH_ANY_TYPE: any) at OFF of section SHNDX of
 * object OI, or NULL. */
const placed_rela *placed_at(const placed_set *s, size_t oi, size_t shndx, uint64_t off,
                             uint32_t type);

/* GOT-like TLS slots seen by a checker: one per (symbol key, kind); every
 * reference must address the same one, and no two may overlap. */
typedef struct tls_slots {
    struct {
        uint64_t key;
        int kind;
        uint64_t G;
        unsigned len;
        char what[64];
    } e[256];
    size_t n;
} tls_slots;

/* Records that the KIND slot (LEN bytes) of symbol KEY is at G: it must be
 * the slot every earlier reference to it used (a failed expectation
 * otherwise); returns 1 when it was new. */
int slot_note(tls_slots *t, uint64_t key, int kind, uint64_t G, unsigned len, const char *what);
/* The slot recorded for (KEY, KIND), or 0. */
uint64_t slot_find(const tls_slots *t, uint64_t key, int kind);
/* No two recorded slots overlap, and each lies in the image, 8-aligned. */
void slots_check(ej_module *m, const tls_slots *t);

/* ---- check lines ---------------------------------------------------- */

typedef struct rh_ctx rh_ctx;

/* A function check lines may call: ARGS[i] its arguments' values, NAMES[i]
 * the name when argument i is a bare identifier (else NULL).  A function
 * that cannot give a value calls rh_fail. */
typedef uint64_t (*rh_fn)(rh_ctx *c, const uint64_t *args, const char *const *names);
typedef struct rh_func {
    const char *name;
    int nargs;
    rh_fn fn;
} rh_func;

/* What an architecture's test program tells the harness (it defines
 * rh_arch_desc). */
typedef struct rh_arch {
    uint16_t machine;      /* e_machine of its objects */
    unsigned stub_size;    /* a stub's size and alignment */
    /* L (in the image, aligned) holds a stub's instructions. */
    int (*stub_shape)(ej_module *m, uint64_t L);
    /* The GOT slot the stub at L reads. */
    uint64_t (*stub_slot)(ej_module *m, uint64_t L);
    /* A data field of the fixtures: 8 bytes, holding FIELD_FILL where the
     * relocation does not write, followed by FIELD_GUARD sentinel bytes. */
    uint64_t field_fill;
    unsigned field_guard;
    const rh_func *funcs;
    size_t nfuncs;
} rh_arch;

extern const rh_arch rh_arch_desc;

/* Reports that the function being evaluated failed; returns 0. */
uint64_t rh_fail(rh_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
ej_module *rh_module(const rh_ctx *c);
/* Reads LEN (<= 8) bytes at A, little-endian; a failed read is rh_fail. */
uint64_t rh_read(rh_ctx *c, uint64_t a, unsigned len);
/* The word the assembler wrote at symbol NAME, from the objects of the
 * link (copies); NAME NULL or unknown is rh_fail. */
uint32_t rh_orig32(rh_ctx *c, const char *name);

/* Functions of every architecture for TLS (see harness.c): tls_off(name),
 * tls_off_in(name, i), tls_size(), tls_align(), align_up(v, a): the block
 * the objects of the link (copies) make. */

/* Evaluates every `let:` and `check:` line of the fixture sources SRCS
 * (file names in EJ_RH_SOURCE_DIR) against M, linked at BASE from OBJS
 * with resolver RT (may be NULL).  Every failing check is reported, with
 * its place, its text and the values of both sides. */
void run_checks_(ej_module *m, uint64_t base, const res_table *rt, const obj *objs,
                 size_t nobjs, const char *const *srcs, size_t nsrcs);
#define SRCS(...) (const char *const[]){__VA_ARGS__}, \
    sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *)
#define run_checks(m, base, rt, objs, nobjs, ...) \
    run_checks_(m, base, rt, objs, nobjs, SRCS(__VA_ARGS__))

/* ---- TLS tests every architecture runs ------------------------------ */

/* A relocation to rewrite before a link: the one at symbol AT, to TYPE
 * (retype_at), for types the assembler cannot write. */
typedef struct rh_retype {
    const char *at;
    uint32_t type;
} rh_retype;

/* Every TLS type of the architecture in the sequences of every access
 * model: copies of tls.o and tls_other.o (fixtures), the relocations
 * RETYPES (N of them, may be NULL) of tls.o rewritten first, linked
 * link-only at BASE with __tls_get_addr placed by the resolver at
 * BASE + TGA_OFF; the link must succeed, and every `check:` line of tls.s
 * and tls_other.s (the expectations) must hold against the module. */
void tls_check_all(uint64_t base, uint64_t tga_off, const rh_retype *retypes, size_t n);

/* A TLS relocation the linker must refuse: O (a file or a copy, its
 * relocation already as the case wants it) linked link-only at every base
 * (bases[]) with resolver RT (may be NULL) must fail with status WANT and
 * leave nothing mapped (link_fails), and each message must name, in this
 * order, the object (O's name), WHERE (the relocation's place, e.g.
 * ".text+0x10"), TYPE (the type's name), the symbol SYM quoted ('SYM') and
 * WHY (the reason); a NULL WHERE, TYPE, SYM or WHY is not checked. */
void tls_refused_obj(const obj *o, res_table *rt, ej_status want, const char *where,
                     const char *type, const char *sym, const char *why);

/* TLS in compiled C: tls_c_VARIANT.o + tls_c2_VARIANT.o (../tls_c.c and
 * ../tls_c2.c built with one flag set), every relocation of their code
 * checked by the architecture from its psABI's formula.  tls_check_c runs
 * the link and the bookkeeping; a tls_c_arch says what differs. */
typedef struct tls_c_run tls_c_run;

typedef struct tls_c_arch {
    uint64_t tga_off;  /* __tls_get_addr is placed at BASE + TGA_OFF */
    /* T, the block's offset from the thread pointer, from its layout
     * (NULL: T = 0). */
    uint64_t (*tp_offset)(const tls_block *b);
    size_t state_size; /* bytes of zeroed state for the checker (run->state) */
    /* Called once the objects are linked and their relocations placed,
     * before any check (may be NULL). */
    void (*begin)(tls_c_run *k);
    /* Called for every placed relocation, in order, once per pass (PASSES
     * passes, at least 1): checks it, notes its slots in k->slots and
     * counts it with tls_c_seen. */
    unsigned passes;
    void (*check_one)(tls_c_run *k, const placed_rela *r, unsigned pass);
    /* Called after the slots are checked, for checks of the whole link (may
     * be NULL). */
    void (*end)(tls_c_run *k);
    unsigned min_checked; /* more TLS relocations than this must be checked */
    uint32_t first_type;  /* seen[i] counts the relocations of type FIRST_TYPE + i */
    /* Names type T in the message of a type of WANT met nowhere
     * ("no <it> checked"; NULL: "relocation of type T"). */
    const char *(*describe)(uint32_t t, char *buf, size_t len);
} tls_c_arch;

/* One link of tls_check_c, as the callbacks see it. */
struct tls_c_run {
    const tls_c_arch *arch;
    const char *name;     /* tls_c_VARIANT.o, for messages */
    ej_module *m;
    const obj *objs;      /* the two objects, copies */
    const placed_set *ps; /* their placed relocations */
    uint64_t base;
    uint64_t tga;         /* where __tls_get_addr is */
    uint64_t T;           /* arch->tp_offset of the block */
    tls_slots slots;      /* the slots the relocations address */
    unsigned seen[64];    /* relocations checked, by type - arch->first_type */
    void *state;          /* arch->state_size bytes, zeroed (NULL for 0) */
};

/* Counts a checked relocation of type TYPE in K->seen (types outside the
 * 64 counted are ignored). */
void tls_c_seen(tls_c_run *k, uint32_t type);

/* For each base (bases[]): links copies of tls_c_VARIANT.o and
 * tls_c2_VARIANT.o with __tls_get_addr at BASE + A->tga_off, places their
 * relocations (placed_collect), calls A's callbacks, then checks that the
 * slots noted are in the image, 8-aligned and apart (slots_check), that
 * more than A->min_checked TLS relocations were checked and that every
 * type of WANT (0-terminated) was met at least once. */
void tls_check_c(const tls_c_arch *a, const char *variant, const uint32_t *want);

#endif
