/* The image cache (`elfjit run --cache-dir`, ej_linker_set_cache), deflated
 * images (`elfjit link --compress`) and `elfjit inspect`, through the tool
 * and the API, on the archive fixtures (tests/archives.cmake): a program
 * (main_basic.o) and the static library it needs (libbasic.a).
 *
 * Each case works in a directory of its own under the build tree, with
 * copies of the inputs it may change. */
#include <criterion/criterion.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "elfjit/elfjit.h"
#include "testutil.h"
#include "toolrun.h"

#define AR_DIR EJ_TEST_BINARY_DIR "/objs_ar"
#define WORK EJ_TEST_BINARY_DIR "/cache_work"
#define BASIC_OUT "ar_add(2,3) = 23\nar_data_var = 42 (from ar_data)\n"

/* A fresh directory WORK/NAME with copies of the program's inputs. */
static void workdir(char *dir, size_t len, const char *name)
{
    snprintf(dir, len, "%s/%s", WORK, name);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s/cache' && cp '%s/main_basic.o' "
             "'%s/libbasic.a' '%s/'", dir, dir, AR_DIR, AR_DIR, dir);
    cr_assert_eq(system(cmd), 0, "cannot set up %s", dir);
}

static const char *in(const char *dir, const char *file)
{
    static char buf[4][1024];
    static int k;
    char *b = buf[k++ & 3];
    snprintf(b, sizeof buf[0], "%s/%s", dir, file);
    return b;
}

static void assert_ran(const ej_test_run *r, const char *out)
{
    cr_assert_eq(r->status, 0, "status %d (%s), stderr: %s", r->status, r->why, r->err);
    cr_assert_str_eq(r->out, out);
}

/* The cache's entries: how many, and the name of one (the newest). */
static int entries(const char *cache, char *newest, size_t len)
{
    DIR *d = opendir(cache);
    cr_assert_not_null(d, "%s: %s", cache, strerror(errno));
    int n = 0;
    struct timespec best = {0, 0};
    for (struct dirent *e; (e = readdir(d));) {
        size_t l = strlen(e->d_name);
        if (l < 5 || strcmp(e->d_name + l - 4, ".eji") != 0)
            continue;
        n++;
        struct stat st;
        char p[2048];
        snprintf(p, sizeof p, "%s/%s", cache, e->d_name);
        if (newest && stat(p, &st) == 0 &&
            (st.st_mtim.tv_sec > best.tv_sec ||
             (st.st_mtim.tv_sec == best.tv_sec && st.st_mtim.tv_nsec >= best.tv_nsec))) {
            best = st.st_mtim;
            snprintf(newest, len, "%s", p);
        }
    }
    closedir(d);
    return n;
}

static void run_cached(ej_test_run *r, const char *dir, const char *main_o, const char *max)
{
    if (max)
        EJ_TOOL(r, "run", "--cache-dir", in(dir, "cache"), "--cache-max", max, in(dir, main_o),
                in(dir, "libbasic.a"));
    else
        EJ_TOOL(r, "run", "--cache-dir", in(dir, "cache"), in(dir, main_o), in(dir, "libbasic.a"));
}

/* A second run of the same files loads the entry the first wrote: the
 * same output, one entry, not written again. */
Test(cache, second_run_is_a_hit, .timeout = 120)
{
    char dir[512], entry[2048];
    ej_test_run r;
    workdir(dir, sizeof dir, "hit");
    run_cached(&r, dir, "main_basic.o", NULL);
    assert_ran(&r, BASIC_OUT);
    cr_assert_str_empty(r.err, "a miss is silent: %s", r.err);
    cr_assert_eq(entries(in(dir, "cache"), entry, sizeof entry), 1);
    struct stat before, after;
    cr_assert_eq(stat(entry, &before), 0);
    run_cached(&r, dir, "main_basic.o", NULL);
    assert_ran(&r, BASIC_OUT);
    cr_assert_eq(entries(in(dir, "cache"), NULL, 0), 1);
    cr_assert_eq(stat(entry, &after), 0);
    cr_assert(before.st_ino == after.st_ino && before.st_mtim.tv_sec == after.st_mtim.tv_sec &&
                  before.st_mtim.tv_nsec == after.st_mtim.tv_nsec,
              "the hit rewrote its entry");
}

/* An input rewritten (same bytes, but written again) is a new key. */
Test(cache, changed_input_is_a_miss, .timeout = 120)
{
    char dir[512];
    ej_test_run r;
    workdir(dir, sizeof dir, "changed");
    run_cached(&r, dir, "main_basic.o", NULL);
    assert_ran(&r, BASIC_OUT);
    size_t len;
    char *bytes = ej_test_read_file(in(dir, "libbasic.a"), &len);
    cr_assert_not_null(bytes);
    usleep(20000); /* (a change time the file system can tell apart) */
    FILE *f = fopen(in(dir, "libbasic.a"), "wb");
    cr_assert(f && fwrite(bytes, 1, len, f) == len && fclose(f) == 0);
    free(bytes);
    run_cached(&r, dir, "main_basic.o", NULL);
    assert_ran(&r, BASIC_OUT);
    cr_assert_eq(entries(in(dir, "cache"), NULL, 0), 2, "the rewritten input reused an entry");
}

/* A damaged entry is removed and rebuilt, with a note; then it is good. */
Test(cache, damaged_entry_is_rebuilt, .timeout = 120)
{
    char dir[512], entry[2048];
    ej_test_run r;
    workdir(dir, sizeof dir, "damaged");
    run_cached(&r, dir, "main_basic.o", NULL);
    assert_ran(&r, BASIC_OUT);
    cr_assert_eq(entries(in(dir, "cache"), entry, sizeof entry), 1);
    int fd = open(entry, O_RDWR);
    cr_assert_geq(fd, 0);
    off_t size = lseek(fd, 0, SEEK_END);
    unsigned char c;
    cr_assert_eq(pread(fd, &c, 1, size / 2), 1);
    c ^= 0x10;
    cr_assert_eq(pwrite(fd, &c, 1, size / 2), 1);
    close(fd);
    run_cached(&r, dir, "main_basic.o", NULL);
    assert_ran(&r, BASIC_OUT);
    cr_assert(strstr(r.err, "elfjit: note: ") && strstr(r.err, "rebuilt") &&
                  strstr(r.err, "checksum"),
              "no note of the rebuild: %s", r.err);
    run_cached(&r, dir, "main_basic.o", NULL);
    assert_ran(&r, BASIC_OUT);
    cr_assert_str_empty(r.err, "the rebuilt entry is not good: %s", r.err);
}

/* Bounded: the least recently used entries go first; the one just
 * written stays. */
Test(cache, eviction, .timeout = 120)
{
    char dir[512], entry[2048];
    ej_test_run r;
    workdir(dir, sizeof dir, "evict");
    /* Three keys: the same program under three names. */
    for (int i = 0; i < 3; i++) {
        char cmd[2048];
        snprintf(cmd, sizeof cmd, "cp '%s/main_basic.o' '%s/main%d.o'", dir, dir, i);
        cr_assert_eq(system(cmd), 0);
    }
    run_cached(&r, dir, "main0.o", NULL);
    assert_ran(&r, BASIC_OUT);
    cr_assert_eq(entries(in(dir, "cache"), entry, sizeof entry), 1);
    struct stat st;
    cr_assert_eq(stat(entry, &st), 0);
    char max[32];
    snprintf(max, sizeof max, "%lld", (long long)st.st_size * 3 / 2); /* room for one */
    run_cached(&r, dir, "main1.o", max);
    assert_ran(&r, BASIC_OUT);
    run_cached(&r, dir, "main2.o", max);
    assert_ran(&r, BASIC_OUT);
    char newest[2048];
    cr_assert_eq(entries(in(dir, "cache"), newest, sizeof newest), 1,
                 "the directory was not trimmed to its bound");
    /* The one left is main2's: running it again writes nothing. */
    struct stat a, b;
    cr_assert_eq(stat(newest, &a), 0);
    run_cached(&r, dir, "main2.o", max);
    assert_ran(&r, BASIC_OUT);
    cr_assert_eq(stat(newest, &b), 0);
    cr_assert(a.st_ino == b.st_ino, "the newest entry was evicted");
}

/* Processes sharing a cold cache: every one runs right, and what stays is
 * one good entry. */
Test(cache, concurrent_processes, .timeout = 180)
{
    char dir[512];
    ej_test_run r;
    workdir(dir, sizeof dir, "concurrent");
    enum { N = 4, ROUNDS = 5 };
    for (int round = 0; round < ROUNDS; round++) {
        /* (Cold on even rounds: writers race; warm on odd: readers.) */
        if (round % 2 == 0) {
            char cmd[1024];
            snprintf(cmd, sizeof cmd, "rm -f '%s'/*.eji", in(dir, "cache"));
            cr_assert_eq(system(cmd), 0);
        }
        pid_t pid[N];
        for (int i = 0; i < N; i++) {
            pid[i] = fork();
            cr_assert_geq(pid[i], 0);
            if (pid[i] == 0) {
                ej_test_run c;
                run_cached(&c, dir, "main_basic.o", NULL);
                _exit(c.status == 0 && strcmp(c.out, BASIC_OUT) == 0 && !c.err[0] ? 0 : 1);
            }
        }
        for (int i = 0; i < N; i++) {
            int st;
            cr_assert_eq(waitpid(pid[i], &st, 0), pid[i]);
            cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "round %d: a process failed",
                      round);
        }
    }
    cr_assert_eq(entries(in(dir, "cache"), NULL, 0), 1);
    run_cached(&r, dir, "main_basic.o", NULL);
    assert_ran(&r, BASIC_OUT);
    cr_assert_str_empty(r.err);
}

/* Through the API: inputs are noted, read only on a miss; what cannot be
 * keyed is refused. */
Test(cache, api, .timeout = 120)
{
    char dir[512];
    workdir(dir, sizeof dir, "api");
    for (int pass = 0; pass < 2; pass++) {
        ej_linker *lk;
        cr_assert_eq(ej_linker_create(&lk), EJ_OK);
        cr_assert_eq(ej_linker_set_cache(lk, in(dir, "cache"), 0), EJ_OK, "%s",
                     ej_linker_errmsg(lk));
        cr_assert_eq(ej_linker_add_file(lk, in(dir, "main_basic.o")), EJ_OK);
        cr_assert_eq(ej_linker_add_archive(lk, in(dir, "libbasic.a"), 0), EJ_OK);
        cr_assert_eq(ej_linker_add_buffer(lk, "x.o", "\177ELF", 4), EJ_UNSUPPORTED);
        cr_assert(strstr(ej_linker_errmsg(lk), "not cached"), "%s", ej_linker_errmsg(lk));
        ej_module *m = NULL;
        cr_assert_eq(ej_linker_link(lk, &m), EJ_OK, "pass %d: %s", pass, ej_linker_errmsg(lk));
        ej_linker_free(lk);
        int (*add)(int, int) = (int (*)(int, int))ej_module_symbol(m, "ar_add");
        cr_assert_not_null(add);
        cr_assert_eq(ej_module_init(m, 0, NULL, NULL), EJ_OK);
        cr_assert_eq(add(2, 3), 23);
        ej_module_free(m);
    }
    cr_assert_eq(entries(in(dir, "cache"), NULL, 0), 1);
    /* Set once, before any input. */
    ej_linker *lk;
    cr_assert_eq(ej_linker_create(&lk), EJ_OK);
    cr_assert_eq(ej_linker_add_file(lk, in(dir, "main_basic.o")), EJ_OK);
    cr_assert_eq(ej_linker_set_cache(lk, in(dir, "cache"), 0), EJ_STATE);
    ej_linker_free(lk);
    /* A missing input is an error at once, naming it. */
    cr_assert_eq(ej_linker_create(&lk), EJ_OK);
    cr_assert_eq(ej_linker_set_cache(lk, in(dir, "cache"), 0), EJ_OK);
    cr_assert_eq(ej_linker_add_file(lk, in(dir, "nosuch.o")), EJ_IO);
    cr_assert(strstr(ej_linker_errmsg(lk), "nosuch.o"), "%s", ej_linker_errmsg(lk));
    ej_linker_free(lk);
}

/* --compress: smaller, and the same program. */
Test(image, compressed_round_trip, .timeout = 120)
{
    char dir[512];
    ej_test_run r;
    workdir(dir, sizeof dir, "compress");
    EJ_TOOL(&r, "link", "-o", in(dir, "plain.eji"), in(dir, "main_basic.o"), in(dir, "libbasic.a"));
    cr_assert_eq(r.status, 0, "%s", r.err);
    EJ_TOOL(&r, "link", "--compress", "-o", in(dir, "z.eji"), in(dir, "main_basic.o"),
            in(dir, "libbasic.a"));
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert_str_empty(r.out, "elfjit link wrote to stdout");
    struct stat plain, z;
    cr_assert(stat(in(dir, "plain.eji"), &plain) == 0 && stat(in(dir, "z.eji"), &z) == 0);
    cr_assert_lt(z.st_size, plain.st_size, "deflated %lld bytes, mapped %lld",
                 (long long)z.st_size, (long long)plain.st_size);
    EJ_TOOL(&r, "run", in(dir, "z.eji"));
    assert_ran(&r, BASIC_OUT);
    EJ_TOOL(&r, "inspect", in(dir, "z.eji"));
    cr_assert(r.status == 0 && strstr(r.out, "stored deflated"), "%s%s", r.out, r.err);
}

/* inspect: a few lines on stdout, nothing on stderr; for objects what
 * their link needs, for an image its header and fixups. */
Test(inspect, objects_and_images, .timeout = 120)
{
    char dir[512];
    ej_test_run r;
    workdir(dir, sizeof dir, "inspect");
    EJ_TOOL(&r, "inspect", in(dir, "main_basic.o"), in(dir, "libbasic.a"));
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert_str_empty(r.err);
    cr_assert(strstr(r.out, "main_basic.o: ") && strstr(r.out, "relocatable object") &&
                  strstr(r.out, "relocations: ") && strstr(r.out, "libbasic.a: archive, ") &&
                  strstr(r.out, "\nlink: ") && strstr(r.out, "GOT slots"),
              "%s", r.out);
    EJ_TOOL(&r, "link", "-o", in(dir, "p.eji"), in(dir, "main_basic.o"), in(dir, "libbasic.a"));
    cr_assert_eq(r.status, 0, "%s", r.err);
    EJ_TOOL(&r, "inspect", in(dir, "p.eji"));
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert_str_empty(r.err);
    cr_assert(strstr(r.out, "elfjit image (format ") && strstr(r.out, "mapped from the file") &&
                  strstr(r.out, "fixups: ") && strstr(r.out, "imports: ") &&
                  strstr(r.out, "exports"),
              "%s", r.out);
    /* A link that fails is described, with why. */
    EJ_TOOL(&r, "inspect", in(dir, "main_basic.o"));
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert(strstr(r.out, "link: fails: ") && strstr(r.out, "undefined symbol"), "%s", r.out);
    /* A damaged image: one line, status 1. */
    cr_assert_eq(truncate(in(dir, "p.eji"), 200), 0);
    EJ_TOOL(&r, "inspect", in(dir, "p.eji"));
    cr_assert_eq(r.status, 1, "%s", r.out);
    cr_assert_str_empty(r.out);
    cr_assert(strncmp(r.err, "elfjit: ", 8) == 0 && strchr(r.err, '\n') == r.err + strlen(r.err) - 1,
              "%s", r.err);
}
