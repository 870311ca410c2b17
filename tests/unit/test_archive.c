/* Static archives (issue 12), through the API and through `elfjit run`:
 * members pulled on demand exactly as a linker pulls them (only what is
 * needed, transitively, across archives rescanned as one group, through
 * data references; weak undefined names never pull; the first archive and
 * the first member win), --whole-archive / EJ_ARCHIVE_WHOLE, archives
 * without a symbol index, thin and BSD archives, members that are not
 * objects of this machine (refused naming archive(member) only when
 * pulled), errors inside pulled members, -L/-l/--static; real static
 * libraries the system ships, run next to gcc's link of the same
 * archives; the compiler runtime (libgcc.a) found without being named.
 *
 * The fixtures are built by tests/archives.cmake from tests/unit/objs_ar/
 * and tests/unit/objs_realar/ (see their comments for what each one is
 * for); a fixture that could not be built here (no clang, no compiler for
 * another architecture, no llvm-ar, a library not installed) skips the
 * cases that need it, by name. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "elfjit/elfjit.h"
#include "testutil.h"
#include "toolrun.h"

extern char **environ;

#define AR_DIR EJ_TEST_BINARY_DIR "/objs_ar"
#define REAL_MANIFEST AR_DIR "/real.manifest"
#define RUN_TIMEOUT_MS 60000

/* ---- paths and fixtures --------------------------------------------------- */

static const char *ar_path(const char *name)
{
    return ej_test_path(AR_DIR, name, "");
}

static const char *ar_obj(const char *name)
{
    return ej_test_path(AR_DIR, name, ".o");
}

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* Skips the case when a fixture that may legitimately be missing here was
 * not built (WHY says what builds it). */
static void need(const char *name, const char *why)
{
    if (!exists(ar_path(name)))
        cr_skip_test("%s not built here (%s)", name, why);
}

/* ---- linking through the API ---------------------------------------------- */

/* One link.  SPEC is a NULL-terminated list of inputs, added in order:
 *   "o:NAME"  ej_linker_add_file(objs_ar/NAME.o)
 *   "a:NAME"  ej_linker_add_archive(objs_ar/NAME, 0)
 *   "w:NAME"  ej_linker_add_archive(objs_ar/NAME, EJ_ARCHIVE_WHOLE)
 *   "f:NAME"  ej_linker_add_file(objs_ar/NAME) (an archive given as a file)
 * Adding must succeed; the link's status is returned, its module in *M
 * (NULL on failure) and its message in MSG. */
struct link_result {
    ej_status st;
    ej_module *m;
    char msg[2048];
};

static struct link_result link_spec(const char *const *spec)
{
    struct link_result r;
    memset(&r, 0, sizeof r);
    ej_linker *lk;
    cr_assert_eq(ej_linker_create(&lk), EJ_OK);
    for (size_t i = 0; spec[i]; i++) {
        const char *s = spec[i], *name = s + 2;
        ej_status st;
        if (s[0] == 'o') {
            st = ej_linker_add_file(lk, ar_obj(name));
        } else if (s[0] == 'f') {
            st = ej_linker_add_file(lk, ar_path(name));
        } else {
            st = ej_linker_add_archive(lk, ar_path(name), s[0] == 'w' ? EJ_ARCHIVE_WHOLE : 0);
        }
        cr_assert_eq(st, EJ_OK, "adding %s: %s (%s)", name, ej_status_name(st),
                     ej_linker_errmsg(lk));
    }
    r.st = ej_linker_link(lk, &r.m);
    snprintf(r.msg, sizeof r.msg, "%s", ej_linker_errmsg(lk));
    ej_linker_free(lk);
    return r;
}

#define SPEC(...) ((const char *const[]){__VA_ARGS__, NULL})

static ej_module *link_ok(const char *const *spec)
{
    struct link_result r = link_spec(spec);
    cr_assert_eq(r.st, EJ_OK, "link failed: %s: %s", ej_status_name(r.st), r.msg);
    cr_assert_not_null(r.m);
    return r.m;
}

static void *sym(ej_module *m, const char *name)
{
    return ej_module_symbol(m, name);
}

static int call_int(ej_module *m, const char *name)
{
    int (*fn)(void) = (int (*)(void))sym(m, name);
    cr_assert_not_null(fn, "no symbol %s in the module", name);
    return fn();
}

static void assert_loaded(ej_module *m, const char *name)
{
    cr_assert_not_null(sym(m, name), "%s should have been pulled from the archive", name);
}

static void assert_not_loaded(ej_module *m, const char *name)
{
    cr_assert_null(sym(m, name), "%s was loaded though nothing needs its member", name);
}

static void assert_failed_with(const struct link_result *r, const char *needle1,
                               const char *needle2)
{
    cr_assert_neq(r->st, EJ_OK, "the link should have failed");
    cr_assert_null(r->m);
    cr_assert(strstr(r->msg, needle1), "'%s' not in the message: %s", needle1, r->msg);
    if (needle2)
        cr_assert(strstr(r->msg, needle2), "'%s' not in the message: %s", needle2, r->msg);
}

/* The basic archive's behaviour, whichever form it has: ar_add pulls
 * ar_add.o, which pulls ar_helper (another member); ar_unused.o and
 * ar_data.o are not loaded. */
static void check_basic(const char *archive_spec)
{
    ej_module *m = link_ok(SPEC("o:use_add", archive_spec));
    cr_assert_eq(ej_module_init(m, 0, NULL, NULL), EJ_OK);
    cr_assert_eq(call_int(m, "use_add"), 23);
    assert_loaded(m, "ar_add");
    assert_loaded(m, "ar_helper");
    assert_not_loaded(m, "ar_unused");
    assert_not_loaded(m, "ar_unused_ran");
    assert_not_loaded(m, "ar_data_var");
    ej_module_free(m);
}

/* ---- pulling what is needed ------------------------------------------------ */

Test(archive, pulls_only_the_members_needed, .timeout = 60)
{
    check_basic("a:libbasic.a");
}

Test(archive, add_file_on_an_archive_is_add_archive, .timeout = 60)
{
    check_basic("f:libbasic.a");
}

Test(archive, archive_given_before_the_objects, .timeout = 60)
{
    ej_module *m = link_ok(SPEC("a:libbasic.a", "o:use_add"));
    cr_assert_eq(call_int(m, "use_add"), 23);
    assert_not_loaded(m, "ar_unused");
    ej_module_free(m);
}

Test(archive, nothing_needed_loads_nothing, .timeout = 60)
{
    ej_module *m = link_ok(SPEC("o:use_cyc", "a:libbasic.a", "a:libcyc_a.a", "a:libcyc_b.a"));
    cr_assert_eq(call_int(m, "use_cyc"), 1111);
    assert_not_loaded(m, "ar_add");
    assert_not_loaded(m, "ar_helper");
    assert_not_loaded(m, "ar_data_var");
    ej_module_free(m);
}

Test(archive, pulled_through_a_variable_only, .timeout = 60)
{
    ej_module *m = link_ok(SPEC("o:use_data", "a:libbasic.a"));
    cr_assert_eq(call_int(m, "use_data"), 42);
    cr_assert_str_eq((const char *)sym(m, "ar_data_str"), "from ar_data");
    assert_not_loaded(m, "ar_add");
    ej_module_free(m);
}

Test(archive, pulled_through_a_pointer_in_data, .timeout = 60)
{
    ej_module *m = link_ok(SPEC("o:use_ptr", "a:libbasic.a"));
    int **p = sym(m, "use_ptr");
    cr_assert_not_null(p);
    cr_assert_eq(*p, sym(m, "ar_data_var"));
    cr_assert_eq(**p, 42);
    assert_not_loaded(m, "ar_add");
    ej_module_free(m);
}

/* cyc_a1 (a) -> cyc_b1 (b) -> cyc_a2 (a) -> cyc_b2 (b): four rounds. */
Test(archive, circular_between_two_archives, .timeout = 60)
{
    ej_module *m = link_ok(SPEC("o:use_cyc", "a:libcyc_a.a", "a:libcyc_b.a"));
    cr_assert_eq(call_int(m, "use_cyc"), 1111);
    ej_module_free(m);
}

Test(archive, circular_between_two_archives_other_order, .timeout = 60)
{
    ej_module *m = link_ok(SPEC("o:use_cyc", "a:libcyc_b.a", "a:libcyc_a.a"));
    cr_assert_eq(call_int(m, "use_cyc"), 1111);
    ej_module_free(m);
}

/* ---- which definition wins ------------------------------------------------- */

Test(archive, first_archive_wins, .timeout = 60)
{
    ej_module *m = link_ok(SPEC("o:use_dup", "a:libdup1.a", "a:libdup2.a"));
    cr_assert_eq(call_int(m, "use_dup"), 1);
    ej_module_free(m);
    m = link_ok(SPEC("o:use_dup", "a:libdup2.a", "a:libdup1.a"));
    cr_assert_eq(call_int(m, "use_dup"), 2);
    ej_module_free(m);
}

Test(archive, first_member_wins, .timeout = 60)
{
    ej_module *m = link_ok(SPEC("o:use_dupm", "a:libdupm.a"));
    cr_assert_eq(call_int(m, "use_dupm"), 1);
    ej_module_free(m);
    m = link_ok(SPEC("o:use_dupm", "a:libdupm_rev.a"));
    cr_assert_eq(call_int(m, "use_dupm"), 2);
    ej_module_free(m);
}

/* See objs_ar/late_a.c: the name becomes undefined while liblate_b.a (or
 * liblate_c.a, its members in the other order), which defines it too, is
 * the archive being scanned.  elfjit does what GNU ld does (plain or
 * --start-group, so what gcc does): each archive is rescanned until it
 * loads nothing before the next, so the pulling archive's definition
 * (late_b.o, 20) is taken whatever the order of its members; lld would
 * take the first archive's (10). */
#define LATE_EXPECTED 20

Test(archive, later_pull_takes_the_first_archive, .timeout = 60)
{
    ej_module *m = link_ok(SPEC("o:use_late", "a:liblate_a.a", "a:liblate_b.a"));
    int b = call_int(m, "use_late");
    ej_module_free(m);
    m = link_ok(SPEC("o:use_late", "a:liblate_a.a", "a:liblate_c.a"));
    int c = call_int(m, "use_late");
    ej_module_free(m);
    cr_assert_eq(b, c, "the definition taken depends on the order of the members in the pulling "
                 "archive: %d with liblate_b.a, %d with liblate_c.a (ld: 20 and 20; lld: 10 and 10)",
                 b, c);
    cr_assert_eq(b, LATE_EXPECTED);
}

Test(archive, objects_given_directly_come_first, .timeout = 60)
{
    ej_module *m = link_ok(SPEC("o:use_dup", "o:dup_obj", "a:libdup1.a"));
    cr_assert_eq(call_int(m, "use_dup"), 0);
    ej_module_free(m);
    /* Even when the archive was added before the objects. */
    m = link_ok(SPEC("a:libdup1.a", "o:use_dup", "o:dup_obj"));
    cr_assert_eq(call_int(m, "use_dup"), 0);
    ej_module_free(m);
}

/* A member pulled for one name that also defines a name an object
 * defines: two strong definitions, as ld says ("multiple definition"). */
Test(archive, pulled_member_duplicating_an_object, .timeout = 60)
{
    struct link_result r = link_spec(SPEC("o:use_dupx", "o:dup_obj", "o:use_dup", "a:libdupx.a"));
    assert_failed_with(&r, "dup_which", "libdupx.a(dupx_member.o)");
    cr_assert_eq(r.st, EJ_DUPLICATE, "%s: %s", ej_status_name(r.st), r.msg);
}

/* ---- weak and common ------------------------------------------------------- */

Test(archive, weak_undefined_does_not_pull, .timeout = 60)
{
    ej_module *m = link_ok(SPEC("o:use_weak", "a:libweak.a"));
    cr_assert_eq(call_int(m, "use_weak"), -1);
    assert_not_loaded(m, "weak_target");
    ej_module_free(m);
}

Test(archive, strong_reference_elsewhere_pulls, .timeout = 60)
{
    ej_module *m = link_ok(SPEC("o:use_weak", "o:use_strong", "a:libweak.a"));
    cr_assert_eq(call_int(m, "use_strong"), 5);
    cr_assert_eq(call_int(m, "use_weak"), 5, "the weak reference binds to the pulled member");
    ej_module_free(m);
}

Test(archive, weak_definition_in_a_member_pulls, .timeout = 60)
{
    ej_module *m = link_ok(SPEC("o:use_weakdef", "a:libweakdef.a"));
    cr_assert_eq(call_int(m, "use_weakdef"), 6);
    ej_module_free(m);
}

/* GNU ld and lld: an archive index entry for a common symbol satisfies an
 * undefined reference (gcc main.o libcommon.a links and runs). */
Test(archive, common_definition_satisfies_an_undefined_name, .timeout = 60)
{
    ej_module *m = link_ok(SPEC("o:use_common", "a:libcommon.a"));
    cr_assert_eq(call_int(m, "use_common"), 7);
    cr_assert_eq(call_int(m, "use_common"), 14);
    ej_module_free(m);
}

Test(archive, pulled_through_a_thread_local_reference, .timeout = 60)
{
    ej_module *m = link_ok(SPEC("o:use_tls", "a:libtlsar.a"));
    cr_assert_eq(call_int(m, "use_tls"), 6);
    cr_assert_eq(call_int(m, "use_tls"), 7);
    ej_module_free(m);
}

/* ---- whole archives -------------------------------------------------------- */

Test(archive, whole_archive_loads_every_member, .timeout = 60)
{
    ej_module *m = link_ok(SPEC("o:use_add", "w:libbasic.a", "a:libctor.a"));
    assert_loaded(m, "ar_unused");
    assert_loaded(m, "ar_data_var");
    int *ran = sym(m, "ar_unused_ran");
    cr_assert_not_null(ran);
    cr_assert_eq(*ran, 0);
    cr_assert_eq(ej_module_init(m, 0, NULL, NULL), EJ_OK);
    cr_assert_eq(*ran, 1, "the constructor of an unreferenced member did not run");
    cr_assert_eq(call_int(m, "ar_unused"), 99);
    cr_assert_eq(call_int(m, "use_add"), 23);
    /* WHOLE is per archive: libctor.a was added without it. */
    assert_not_loaded(m, "ctor_only_ran");
    ej_module_free(m);
}

Test(archive, whole_archive_without_any_object, .timeout = 60)
{
    ej_module *m = link_ok(SPEC("w:libctor.a"));
    cr_assert_eq(ej_module_init(m, 0, NULL, NULL), EJ_OK);
    int *ran = sym(m, "ctor_only_ran");
    cr_assert_not_null(ran);
    cr_assert_eq(*ran, 1);
    ej_module_free(m);
}

/* ---- archive formats ------------------------------------------------------- */

/* The first member of a GNU archive with an index is "/" (or "/SYM64/"). */
static int has_gnu_index(const char *path)
{
    size_t len = 0;
    char *b = ej_test_read_file(path, &len);
    cr_assert_not_null(b, "cannot read %s", path);
    int idx = len > 8 + 16 && (memcmp(b + 8, "/               ", 16) == 0 ||
                               memcmp(b + 8, "/SYM64/         ", 16) == 0);
    free(b);
    return idx;
}

Test(archive, without_a_symbol_index, .timeout = 60)
{
    cr_assert(has_gnu_index(ar_path("libbasic.a")), "fixture: libbasic.a has no index?");
    cr_assert(!has_gnu_index(ar_path("libbasic_noidx.a")),
              "fixture: `ar rcS` wrote an index into libbasic_noidx.a");
    check_basic("a:libbasic_noidx.a");
}

/* Reading every member to build the index is told as a note naming the
 * archive; an archive with an index gives none. */
static void assert_notes(const char *archive, const char *needle)
{
    ej_linker *lk;
    cr_assert_eq(ej_linker_create(&lk), EJ_OK);
    cr_assert_str_empty(ej_linker_notes(lk));
    cr_assert_eq(ej_linker_add_archive(lk, ar_path(archive), 0), EJ_OK, "%s",
                 ej_linker_errmsg(lk));
    const char *n = ej_linker_notes(lk);
    if (!needle) {
        cr_assert_str_empty(n, "unexpected notes for %s: %s", archive, n);
    } else {
        cr_assert(strstr(n, ar_path(archive)) && strstr(n, needle), "notes: '%s'", n);
        cr_assert_eq(strchr(n, '\n'), n + strlen(n) - 1, "one line expected: '%s'", n);
    }
    ej_linker_free(lk);
}

Test(archive, without_a_symbol_index_is_noted, .timeout = 60)
{
    assert_notes("libbasic_noidx.a", "no symbol index");
    assert_notes("libbasic.a", NULL);
    cr_assert_str_empty(ej_linker_notes(NULL));
}

/* An empty archive (`ar rc x.a` with no file: the magic alone) is valid
 * and gives nothing, without a note. */
Test(archive, empty_archive, .timeout = 60)
{
    ej_linker *lk;
    cr_assert_eq(ej_linker_create(&lk), EJ_OK);
    cr_assert_eq(ej_linker_add_file(lk, ar_obj("use_add")), EJ_OK, "%s", ej_linker_errmsg(lk));
    cr_assert_eq(ej_linker_add_archive_buffer(lk, "empty.a", "!<arch>\n", 8, 0), EJ_OK, "%s",
                 ej_linker_errmsg(lk));
    cr_assert_eq(ej_linker_add_archive_buffer(lk, "whole.a", "!<arch>\n", 8, EJ_ARCHIVE_WHOLE),
                 EJ_OK, "%s", ej_linker_errmsg(lk));
    cr_assert_str_empty(ej_linker_notes(lk));
    ej_module *m = NULL;
    /* (use_add needs ar_add, which neither archive has) */
    cr_assert_eq(ej_linker_link(lk, &m), EJ_UNDEFINED, "%s", ej_linker_errmsg(lk));
    cr_assert(strstr(ej_linker_errmsg(lk), "ar_add"), "%s", ej_linker_errmsg(lk));
    ej_linker_free(lk);
}

/* Archives from memory: the same pulls as from the file; a thin archive
 * (members named relative to it) and bytes that are not an archive are
 * refused; the caller's buffer may be freed at once. */
Test(archive, from_a_buffer, .timeout = 60)
{
    const char *forms[] = {"libbasic.a", "libbasic_noidx.a", "libbasic_bsd.a"};
    for (size_t f = 0; f < 3; f++) {
        if (!exists(ar_path(forms[f])))
            continue;
        for (int via_add_buffer = 0; via_add_buffer < 2; via_add_buffer++) {
            size_t len = 0;
            char *b = ej_test_read_file(ar_path(forms[f]), &len);
            cr_assert_not_null(b);
            ej_linker *lk;
            cr_assert_eq(ej_linker_create(&lk), EJ_OK);
            cr_assert_eq(ej_linker_add_file(lk, ar_obj("use_add")), EJ_OK);
            ej_status st = via_add_buffer ? ej_linker_add_buffer(lk, forms[f], b, len)
                                          : ej_linker_add_archive_buffer(lk, forms[f], b, len, 0);
            cr_assert_eq(st, EJ_OK, "%s: %s", forms[f], ej_linker_errmsg(lk));
            memset(b, 0, len);
            free(b);
            ej_module *m = NULL;
            cr_assert_eq(ej_linker_link(lk, &m), EJ_OK, "%s: %s", forms[f], ej_linker_errmsg(lk));
            ej_linker_free(lk);
            cr_assert_eq(ej_module_init(m, 0, NULL, NULL), EJ_OK);
            cr_assert_eq(call_int(m, "use_add"), 23);
            assert_not_loaded(m, "ar_unused");
            ej_module_free(m);
        }
    }
    size_t len = 0;
    char *b = ej_test_read_file(ar_path("libbasic_thin.a"), &len);
    cr_assert_not_null(b);
    ej_linker *lk;
    cr_assert_eq(ej_linker_create(&lk), EJ_OK);
    cr_assert_eq(ej_linker_add_archive_buffer(lk, "thin.a", b, len, 0), EJ_UNSUPPORTED);
    cr_assert(strstr(ej_linker_errmsg(lk), "thin.a"), "%s", ej_linker_errmsg(lk));
    cr_assert_eq(ej_linker_add_archive_buffer(lk, "x.o", "\177ELF\2\1\1\0", 8, 0), EJ_BADELF);
    cr_assert(strstr(ej_linker_errmsg(lk), "not an archive"), "%s", ej_linker_errmsg(lk));
    cr_assert_eq(ej_linker_add_archive_buffer(lk, "x.a", "!<arch>", 7, 0), EJ_BADELF);
    ej_linker_free(lk);
    free(b);
}

Test(archive, without_a_symbol_index_whole, .timeout = 60)
{
    ej_module *m = link_ok(SPEC("o:use_add", "w:libbasic_noidx.a"));
    assert_loaded(m, "ar_unused");
    ej_module_free(m);
}

/* Thin archives (ar rcT) hold the members' paths, not their bytes: the
 * paths are relative to the archive's directory. */
Test(archive, thin_archive, .timeout = 60)
{
    size_t len = 0;
    char *b = ej_test_read_file(ar_path("libbasic_thin.a"), &len);
    cr_assert(b && len > 8 && memcmp(b, "!<thin>\n", 8) == 0, "fixture: not a thin archive");
    free(b);
    check_basic("a:libbasic_thin.a");
    ej_module *m = link_ok(SPEC("o:use_data", "w:libbasic_thin.a"));
    assert_loaded(m, "ar_unused");
    cr_assert_eq(call_int(m, "use_data"), 42);
    ej_module_free(m);
}

/* Lt/libbasic_thin.a names its members "../ar_add.o" and so on. */
Test(archive, thin_archive_in_another_directory, .timeout = 60)
{
    check_basic("a:Lt/libbasic_thin.a");
}

/* A copy of the thin archive where its members are not: the member
 * needed is named when it cannot be opened. */
Test(archive, thin_archive_with_a_missing_member, .timeout = 60)
{
    char dir[] = "/tmp/ej_thin_XXXXXX", copy[64];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(copy, sizeof copy, "%s/libthin.a", dir);
    size_t len = 0;
    char *b = ej_test_read_file(ar_path("Lt/libbasic_thin.a"), &len);
    cr_assert_not_null(b);
    FILE *f = fopen(copy, "wb");
    cr_assert(f && fwrite(b, 1, len, f) == len);
    fclose(f);
    free(b);
    ej_linker *lk;
    cr_assert_eq(ej_linker_create(&lk), EJ_OK);
    cr_assert_eq(ej_linker_add_file(lk, ar_obj("use_add")), EJ_OK);
    ej_status st = ej_linker_add_archive(lk, copy, 0);
    ej_module *m = NULL;
    if (st == EJ_OK)
        st = ej_linker_link(lk, &m);
    char msg[2048];
    snprintf(msg, sizeof msg, "%s", ej_linker_errmsg(lk));
    ej_linker_free(lk);
    unlink(copy);
    rmdir(dir);
    cr_assert_neq(st, EJ_OK, "linked with a thin archive's member missing");
    cr_assert_null(m);
    cr_assert(strstr(msg, "ar_add.o"), "the missing member is not named: %s", msg);
    cr_assert(strstr(msg, "libthin.a"), "the archive is not named: %s", msg);
}

Test(archive, bsd_format, .timeout = 60)
{
    need("libbasic_bsd.a", "llvm-ar --format=bsd");
    size_t len = 0;
    char *b = ej_test_read_file(ar_path("libbasic_bsd.a"), &len);
    cr_assert(b && len > 8 + 16 && memcmp(b + 8, "#1/", 3) == 0,
              "fixture: libbasic_bsd.a does not start with a BSD member name");
    free(b);
    check_basic("a:libbasic_bsd.a");
}

/* ---- members that cannot be loaded ----------------------------------------- */

Test(archive, bitcode_member_never_pulled_is_harmless, .timeout = 60)
{
    need("libmixed_bc.a", "clang -flto");
    ej_module *m = link_ok(SPEC("o:use_ok", "a:libmixed_bc.a"));
    cr_assert_eq(call_int(m, "use_ok"), 11);
    ej_module_free(m);
}

Test(archive, bitcode_member_pulled_is_refused, .timeout = 60)
{
    need("libmixed_bc.a", "clang -flto");
    struct link_result r = link_spec(SPEC("o:use_bc", "a:libmixed_bc.a"));
    assert_failed_with(&r, "libmixed_bc.a(bc_fn.o)", "bc_fn");
}

Test(archive, bitcode_member_whole_is_refused, .timeout = 60)
{
    need("libmixed_bc.a", "clang -flto");
    struct link_result r = link_spec(SPEC("o:use_ok", "w:libmixed_bc.a"));
    assert_failed_with(&r, "libmixed_bc.a(bc_fn.o)", NULL);
}

Test(archive, foreign_member_never_pulled_is_harmless, .timeout = 60)
{
    need("libmixed_foreign.a", "a gcc for another architecture");
    ej_module *m = link_ok(SPEC("o:use_ok", "a:libmixed_foreign.a"));
    cr_assert_eq(call_int(m, "use_ok"), 11);
    ej_module_free(m);
}

Test(archive, foreign_member_pulled_is_refused, .timeout = 60)
{
    need("libmixed_foreign.a", "a gcc for another architecture");
    struct link_result r = link_spec(SPEC("o:use_foreign", "a:libmixed_foreign.a"));
    assert_failed_with(&r, "libmixed_foreign.a(foreign_fn.o)", "foreign_fn");
}

Test(archive, foreign_member_whole_is_refused, .timeout = 60)
{
    need("libmixed_foreign.a", "a gcc for another architecture");
    struct link_result r = link_spec(SPEC("o:use_ok", "w:libmixed_foreign.a"));
    assert_failed_with(&r, "libmixed_foreign.a(foreign_fn.o)", NULL);
}

/* A GCC LTO object (intermediate language only) is an ELF relocatable of
 * the right machine, with no code for what the index says it defines. */
Test(archive, gcc_lto_member_pulled_is_refused, .timeout = 60)
{
    need("libgcc_lto.a", "gcc -flto");
    ej_module *m = link_ok(SPEC("o:use_ok", "a:libgcc_lto.a"));
    cr_assert_eq(call_int(m, "use_ok"), 11);
    ej_module_free(m);
    struct link_result r = link_spec(SPEC("o:use_gcc_lto", "a:libgcc_lto.a"));
    assert_failed_with(&r, "libgcc_lto.a(gcc_lto_fn.o)", "gcc_lto_fn");
}

Test(archive, garbage_member, .timeout = 60)
{
    ej_module *m = link_ok(SPEC("o:use_ok", "a:libgarbage.a"));
    cr_assert_eq(call_int(m, "use_ok"), 11);
    ej_module_free(m);
    struct link_result r = link_spec(SPEC("o:use_ok", "w:libgarbage.a"));
    assert_failed_with(&r, "libgarbage.a(garbage.o)", NULL);
}

/* ---- errors ---------------------------------------------------------------- */

Test(archive, undefined_symbol_still_reported, .timeout = 60)
{
    struct link_result r = link_spec(SPEC("o:use_nowhere", "a:libbasic.a", "a:libcyc_a.a"));
    assert_failed_with(&r, "undefined symbol 'ej_ar_nowhere'", "use_nowhere.o");
    cr_assert_eq(r.st, EJ_UNDEFINED, "%s", ej_status_name(r.st));
}

Test(archive, undefined_symbol_in_a_pulled_member_names_it, .timeout = 60)
{
    struct link_result r = link_spec(SPEC("o:use_undef", "a:libundef.a"));
    assert_failed_with(&r, "undefined symbol 'ej_ar_member_nowhere'",
                       "libundef.a(undef_member.o)");
    cr_assert_eq(r.st, EJ_UNDEFINED, "%s", ej_status_name(r.st));
}

Test(archive, bad_relocation_in_a_pulled_member_names_it, .timeout = 60)
{
    struct link_result r = link_spec(SPEC("o:use_badrel", "a:libbadrel.a"));
    assert_failed_with(&r, "libbadrel.a(badrel_member.o)", NULL);
}

Test(archive, missing_archive, .timeout = 60)
{
    ej_linker *lk;
    cr_assert_eq(ej_linker_create(&lk), EJ_OK);
    ej_status st = ej_linker_add_archive(lk, "/nonexistent/libnothing.a", 0);
    cr_assert_eq(st, EJ_IO, "%s: %s", ej_status_name(st), ej_linker_errmsg(lk));
    cr_assert(strstr(ej_linker_errmsg(lk), "/nonexistent/libnothing.a"), "%s",
              ej_linker_errmsg(lk));
    ej_linker_free(lk);
}

Test(archive, api_errors, .timeout = 60)
{
    ej_linker *lk;
    cr_assert_eq(ej_linker_create(&lk), EJ_OK);
    ej_status st = ej_linker_add_archive(lk, ar_path("libbasic.a"), 0x80);
    cr_assert_eq(st, EJ_INVAL, "unknown flags: %s: %s", ej_status_name(st), ej_linker_errmsg(lk));
    st = ej_linker_add_archive(lk, ar_obj("use_add"), 0);
    cr_assert_neq(st, EJ_OK, "an object given as an archive was accepted");
    cr_assert(strstr(ej_linker_errmsg(lk), "use_add.o"), "%s", ej_linker_errmsg(lk));
    cr_assert_eq(ej_linker_add_archive(NULL, ar_path("libbasic.a"), 0), EJ_INVAL);
    cr_assert_eq(ej_linker_add_file(lk, ar_obj("use_add")), EJ_OK);
    cr_assert_eq(ej_linker_add_archive(lk, ar_path("libbasic.a"), 0), EJ_OK);
    ej_module *m = NULL;
    cr_assert_eq(ej_linker_link(lk, &m), EJ_OK, "%s", ej_linker_errmsg(lk));
    cr_assert_eq(ej_linker_add_archive(lk, ar_path("libbasic.a"), 0), EJ_STATE);
    ej_linker_free(lk);
    cr_assert_eq(call_int(m, "use_add"), 23);
    ej_module_free(m);
}

/* ---- the compiler runtime ------------------------------------------------- */

/* use_rt.o calls what the compiler lowers to libgcc helpers (aarch64
 * outline atomics, __int128 division, quad-float long double on aarch64
 * and riscv64, __clear_cache); nobody names libgcc.a. */
Test(archive, compiler_runtime_without_naming_it, .timeout = 60)
{
    ej_module *m = link_ok(SPEC("o:use_rt"));
    cr_assert_eq(call_int(m, "rt_atomics"), 1);
    cr_assert_eq(call_int(m, "rt_int128"), 1);
    cr_assert_eq(call_int(m, "rt_long_double"), 1);
    cr_assert_eq(call_int(m, "rt_clear_cache"), 1);
    ej_module_free(m);
}

/* ---- elfjit run ------------------------------------------------------------ */

typedef ej_test_run tool_result;

/* `elfjit ARGS...` (NULL-terminated): it must start, and end in time. */
static void run_tool(tool_result *r, const char *const *args)
{
    ej_test_tool(r, args);
    cr_assert_gt(r->status, -1, "elfjit %s; stderr: %s",
                 r->status == -1 ? "timed out" : r->why, r->err);
}

#define TOOL(r, ...) run_tool((r), (const char *const[]){__VA_ARGS__, NULL})

static void assert_ran(const tool_result *r, int status, const char *out)
{
    cr_assert_eq(r->status, status, "status %d (want %d), stderr: %s", r->status, status, r->err);
    if (out)
        cr_assert_str_eq(r->out, out);
}

static void assert_one_error_line(const tool_result *r, const char *needle1, const char *needle2)
{
    cr_assert_eq(r->status, 1, "status %d, stdout: %s, stderr: %s", r->status, r->out, r->err);
    cr_assert_str_empty(r->out, "elfjit wrote to stdout: %s", r->out);
    cr_assert(strncmp(r->err, "elfjit: ", 8) == 0, "stderr: %s", r->err);
    cr_assert_eq(strchr(r->err, '\n'), r->err + strlen(r->err) - 1, "not one line: %s", r->err);
    cr_assert(strstr(r->err, needle1), "'%s' not in: %s", needle1, r->err);
    if (needle2)
        cr_assert(strstr(r->err, needle2), "'%s' not in: %s", needle2, r->err);
}

#define BASIC_OUT "ar_add(2,3) = 23\nar_data_var = 42 (from ar_data)\n"

Test(archive_tool, object_and_archive, .timeout = 120)
{
    tool_result r;
    TOOL(&r, "run", ar_obj("main_basic"), ar_path("libbasic.a"));
    assert_ran(&r, 0, BASIC_OUT); /* (and no "ctor ar_unused") */
    TOOL(&r, "run", ar_path("libbasic.a"), ar_obj("main_basic"));
    assert_ran(&r, 0, BASIC_OUT);
}

Test(archive_tool, dash_l_finds_a_static_library, .timeout = 120)
{
    tool_result r;
    TOOL(&r, "run", "-L", AR_DIR, "-l", "basic", ar_obj("main_basic"));
    assert_ran(&r, 0, BASIC_OUT);
    TOOL(&r, "run", "-L" AR_DIR, "-lbasic", ar_obj("main_basic"));
    assert_ran(&r, 0, BASIC_OUT);
}

Test(archive_tool, search_directories_in_order, .timeout = 120)
{
    tool_result r;
    TOOL(&r, "run", "-L", AR_DIR "/L1", "-L", AR_DIR "/L2", "-l", "ord", ar_obj("main_ord"));
    assert_ran(&r, 1, "ord 1\n");
    TOOL(&r, "run", "-L", AR_DIR "/L2", "-L", AR_DIR "/L1", "-l", "ord", ar_obj("main_ord"));
    assert_ran(&r, 2, "ord 2\n");
}

Test(archive_tool, shared_preferred_unless_static, .timeout = 120)
{
    tool_result r;
    TOOL(&r, "run", "-L", AR_DIR "/Lp", "-l", "pref", ar_obj("main_pref"));
    assert_ran(&r, 10, "pref 10\n");
    TOOL(&r, "run", "--static", "-L", AR_DIR "/Lp", "-l", "pref", ar_obj("main_pref"));
    assert_ran(&r, 20, "pref 20\n");
}

Test(archive_tool, whole_archive_options, .timeout = 120)
{
    tool_result r;
    /* Without: libctor.a's member is not loaded. */
    TOOL(&r, "run", ar_obj("main_whole"), ar_path("libctor.a"), ar_path("libbasic.a"));
    assert_ran(&r, 0, "main 11\n");
    /* --whole-archive applies to the archives after it, until
     * --no-whole-archive. */
    TOOL(&r, "run", ar_obj("main_whole"), "--whole-archive", ar_path("libctor.a"),
         "--no-whole-archive", ar_path("libbasic.a"));
    assert_ran(&r, 0, "ctor ctor_only\nmain 11\n");
    TOOL(&r, "run", ar_obj("main_whole"), "--whole-archive", ar_path("libbasic.a"),
         "--no-whole-archive", ar_path("libctor.a"));
    assert_ran(&r, 0, "ctor ar_unused\nmain 11\n");
    /* ... and to -l archives. */
    TOOL(&r, "run", "-L", AR_DIR, ar_obj("main_whole"), "--whole-archive", "-l", "ctor",
         "--no-whole-archive", "-l", "basic");
    assert_ran(&r, 0, "ctor ctor_only\nmain 11\n");
}

Test(archive_tool, circular_archives, .timeout = 120)
{
    tool_result r;
    TOOL(&r, "run", ar_obj("main_cyc"), ar_path("libcyc_b.a"), ar_path("libcyc_a.a"));
    assert_ran(&r, 0, "cyc_a1() = 1111\n");
}

Test(archive_tool, objects_archive_and_shared_library, .timeout = 120)
{
    tool_result r;
    TOOL(&r, "run", ar_obj("main_mixed"), ar_path("libbasic.a"), "-l", "z");
    assert_ran(&r, 0, "crc32(abc) = 352441c2, ar_add(2,3) = 23\n");
}

Test(archive_tool, archive_without_index_and_bsd, .timeout = 120)
{
    tool_result r;
    TOOL(&r, "run", ar_obj("main_basic"), ar_path("libbasic_noidx.a"));
    assert_ran(&r, 0, BASIC_OUT);
    cr_assert(strstr(r.err, "elfjit: note: ") && strstr(r.err, "libbasic_noidx.a: no symbol index"),
              "stderr: %s", r.err);
    TOOL(&r, "run", ar_obj("main_basic"), ar_path("libbasic.a"));
    assert_ran(&r, 0, BASIC_OUT);
    cr_assert_null(strstr(r.err, "note:"), "stderr: %s", r.err);
    if (exists(ar_path("libbasic_bsd.a"))) {
        TOOL(&r, "run", ar_obj("main_basic"), ar_path("libbasic_bsd.a"));
        assert_ran(&r, 0, BASIC_OUT);
    }
}

Test(archive_tool, thin_archive, .timeout = 120)
{
    tool_result r;
    TOOL(&r, "run", ar_obj("main_basic"), ar_path("libbasic_thin.a"));
    assert_ran(&r, 0, BASIC_OUT);
    TOOL(&r, "run", "-L", AR_DIR "/Lt", "-l", "basic_thin", ar_obj("main_basic"));
    assert_ran(&r, 0, BASIC_OUT);
}

Test(archive_tool, refused_member_names_archive_member_and_symbol, .timeout = 120)
{
    tool_result r;
    if (exists(ar_path("libmixed_bc.a"))) {
        TOOL(&r, "run", ar_obj("main_bc"), ar_path("libmixed_bc.a"));
        assert_one_error_line(&r, "libmixed_bc.a(bc_fn.o)", "bc_fn");
    }
    TOOL(&r, "run", "-e", "use_ok", ar_obj("use_ok"), "--whole-archive",
         ar_path("libgarbage.a"));
    assert_one_error_line(&r, "libgarbage.a(garbage.o)", NULL);
}

Test(archive_tool, errors_in_members, .timeout = 120)
{
    tool_result r;
    TOOL(&r, "run", ar_obj("use_nowhere"), ar_path("libbasic.a"));
    assert_one_error_line(&r, "undefined symbol 'ej_ar_nowhere'", NULL);
    TOOL(&r, "run", ar_obj("main_badrel"), ar_path("libbadrel.a"));
    assert_one_error_line(&r, "libbadrel.a(badrel_member.o)", NULL);
    TOOL(&r, "run", ar_obj("main_basic"), "/nonexistent/libnothing.a");
    assert_one_error_line(&r, "/nonexistent/libnothing.a", NULL);
    TOOL(&r, "run", "-L", AR_DIR, "-l", "definitely-not-a-library", ar_obj("main_basic"));
    assert_one_error_line(&r, "definitely-not-a-library", NULL);
}

/* ---- real static libraries ----------------------------------------------- */

struct real_case {
    char line[4096];
    const char *obj, *ref;
    const char *archives[8];
    int narchives;
    const char *libs[4];
    int nlibs;
};

/* Finds CASE in the manifest written by tests/archives.cmake; skips the
 * test when the library is not available here (or gcc itself cannot link
 * against it). */
static void real_case_load(const char *name, struct real_case *c)
{
    memset(c, 0, sizeof *c);
    FILE *f = fopen(REAL_MANIFEST, "r");
    cr_assert_not_null(f, "cannot open %s: %s", REAL_MANIFEST, strerror(errno));
    size_t nl = strlen(name);
    int found = 0;
    while (fgets(c->line, sizeof c->line, f)) {
        if (strncmp(c->line, name, nl) == 0 && c->line[nl] == ' ') {
            found = 1;
            break;
        }
    }
    fclose(f);
    cr_assert(found, "%s: no case %s", REAL_MANIFEST, name);
    c->line[strcspn(c->line, "\n")] = 0;
    char *save = NULL;
    strtok_r(c->line, " ", &save); /* the name */
    char *obj = strtok_r(NULL, " ", &save);
    cr_assert_not_null(obj);
    if (strcmp(obj, "-") == 0)
        cr_skip_test("%s: %s", name, save);
    c->obj = obj;
    c->ref = strtok_r(NULL, " ", &save);
    for (char *w; (w = strtok_r(NULL, " ", &save));) {
        if (strncmp(w, "-l", 2) == 0) {
            cr_assert_lt(c->nlibs, 4);
            c->libs[c->nlibs++] = w + 2;
        } else {
            cr_assert_lt(c->narchives, 8);
            c->archives[c->narchives++] = w;
        }
    }
    char failed[4200];
    snprintf(failed, sizeof failed, "%s-failed", c->ref);
    size_t len = 0;
    char *why = ej_test_read_file(failed, &len);
    if (why) {
        why[len ? len - 1 : 0] = 0;
        cr_skip_test("%s: gcc itself cannot link a program against %s: %s", name,
                     c->archives[0], why);
    }
    cr_assert(exists(c->obj) && exists(c->ref), "%s: fixture not built", name);
}

/* Runs the reference and `elfjit run [PRE...] OBJ ARCHIVES... -l LIB... --
 * OBJ` and wants the same status, stdout and stderr.  With USE_ARCHIVES 0
 * the archives are left out (PRE names them another way). */
static void real_compare(const struct real_case *c, const char *const *pre, int use_archives)
{
    static tool_result ref, got;
    char *rargv[] = {(char *)c->ref, (char *)c->obj, NULL};
    ej_test_spawn(rargv, &ref, RUN_TIMEOUT_MS);
    cr_assert_neq(ref.status, -1, "the reference timed out");
    cr_assert_eq(ref.status, 0, "the reference failed (%d): %s%s", ref.status, ref.out, ref.err);
    const char *argv[64] = {EJ_TOOL_PATH, "run"};
    size_t n = 2;
    for (size_t i = 0; pre && pre[i]; i++)
        argv[n++] = pre[i];
    argv[n++] = c->obj;
    for (int i = 0; use_archives && i < c->narchives; i++)
        argv[n++] = c->archives[i];
    for (int i = 0; i < c->nlibs; i++) {
        argv[n++] = "-l";
        argv[n++] = c->libs[i];
    }
    argv[n++] = "--";
    argv[n++] = c->obj;
    argv[n] = NULL;
    ej_test_spawn((char *const *)argv, &got, RUN_TIMEOUT_MS);
    cr_assert_neq(got.status, -1, "elfjit run timed out after %d ms", RUN_TIMEOUT_MS);
    cr_assert_eq(got.status, ref.status, "status %d, the reference's %d; stderr: %s", got.status,
                 ref.status, got.err);
    cr_assert(strcmp(got.out, ref.out) == 0, "stdout differs:\n--- reference:\n%s\n--- elfjit:\n%s",
              ref.out, got.out);
    cr_assert(strcmp(got.err, ref.err) == 0, "stderr differs:\n--- reference:\n%s\n--- elfjit:\n%s",
              ref.err, got.err);
}

static void real_case_run(const char *name)
{
    struct real_case c;
    real_case_load(name, &c);
    real_compare(&c, NULL, 1);
}

Test(archive_real, zlib, .timeout = 180) { real_case_run("zlib"); }
Test(archive_real, bzip2, .timeout = 180) { real_case_run("bzip2"); }
Test(archive_real, lzma, .timeout = 180) { real_case_run("lzma"); }
Test(archive_real, zstd, .timeout = 180) { real_case_run("zstd"); }
Test(archive_real, sqlite3, .timeout = 300) { real_case_run("sqlite3"); }
Test(archive_real, libelf, .timeout = 180) { real_case_run("libelf"); }
Test(archive_real, libdw, .timeout = 300) { real_case_run("libdw"); }
Test(archive_real, crypt, .timeout = 180) { real_case_run("crypt"); }
Test(archive_real, libm, .timeout = 180) { real_case_run("libm"); }
Test(archive_real, expat, .timeout = 180) { real_case_run("expat"); }
Test(archive_real, pcre2, .timeout = 180) { real_case_run("pcre2"); }
Test(archive_real, gmp, .timeout = 180) { real_case_run("gmp"); }
Test(archive_real, yaml, .timeout = 180) { real_case_run("yaml"); }
Test(archive_real, openssl, .timeout = 300) { real_case_run("openssl"); }
Test(archive_real, tcl, .timeout = 300) { real_case_run("tcl"); }
Test(archive_real, ffi, .timeout = 180) { real_case_run("ffi"); }
Test(archive_real, png, .timeout = 180) { real_case_run("png"); }
Test(archive_real, gtest, .timeout = 300) { real_case_run("gtest"); }
Test(archive_real, python, .timeout = 300) { real_case_run("python"); }

/* libz.a found by --static -l z: in the directory the build found it in
 * (-L), then without -L in the usual system directories, where the
 * target's multiarch directory must be found even when other
 * architectures' libz.a are installed next to it (/lib/x86_64-linux-gnu
 * sorts after /lib/aarch64-linux-gnu), and never another machine's. */
Test(archive_real, zlib_by_static_dash_l, .timeout = 180)
{
    struct real_case c;
    real_case_load("zlib", &c);
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", c.archives[0]);
    *strrchr(dir, '/') = 0;
    real_compare(&c, (const char *const[]){"--static", "-L", dir, "-l", "z", NULL}, 0);
    if (strstr(dir, "/usr/lib/") != dir && strstr(dir, "/lib/") != dir) {
        /* No libz.a of this machine in the system's directories (riscv64's
         * is in EJ_CROSS_PREFIX): another machine's there must be skipped
         * as ld skips "incompatible" archives, not loaded and refused. */
        tool_result r;
        TOOL(&r, "run", "--static", "-l", "z", c.obj, "--", c.obj);
        cr_assert(!strstr(r.err, "cannot be linked with"),
                  "-l z took another machine's libz.a: %s", r.err);
        return;
    }
    real_compare(&c, (const char *const[]){"--static", "-l", "z", NULL}, 0);
}
