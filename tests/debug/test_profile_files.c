/* Regression (issue 9, item 7): the profiler files have predictable names
 * in /tmp, and links planted there used to be followed (truncating or
 * appending to the target on hosts with fs.protected_symlinks=0).  Now a
 * symlink, a hard link or another user's file at the name is refused
 * with EJ_IO and left as it is, the target untouched; a stale file of our
 * own is replaced; ELFJIT_PROFILE_DIR moves both files to a private
 * directory, which must be the user's and not writable by others.
 * Each Criterion test is its own process, so the PID-named files belong
 * to one test. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "elfjit/elfjit.h"
#include "testutil.h"

#define OBJ EJ_TEST_OBJ_DIR "/registry_a.o"

static const char *tmp_name(const char *fmt)
{
    static char p[2][128];
    static int n;
    char *b = p[n++ % 2];
    snprintf(b, sizeof p[0], fmt, (long)getpid());
    return b;
}

/* Links registry_a.o with FLAGS; the status, and the message in MSG. */
static ej_status link_with(unsigned flags, char *msg, size_t len)
{
    ej_linker *lk;
    ej_module *m = NULL;
    cr_assert_eq(ej_linker_create(&lk), EJ_OK);
    cr_assert_eq(ej_linker_set_registration(lk, flags), EJ_OK);
    cr_assert_eq(ej_linker_add_file(lk, OBJ), EJ_OK, "%s", ej_linker_errmsg(lk));
    ej_status st = ej_linker_link(lk, &m);
    snprintf(msg, len, "%s", ej_linker_errmsg(lk));
    ej_linker_free(lk);
    if (m)
        ej_module_free(m);
    return st;
}

/* A victim file with known contents. */
static char *make_victim(void)
{
    static char path[] = "/tmp/ej_victimXXXXXX";
    strcpy(path, "/tmp/ej_victimXXXXXX");
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, "precious\n", 9), 9);
    close(fd);
    return path;
}

static void expect_victim_intact(const char *path)
{
    char buf[64] = "";
    int fd = open(path, O_RDONLY);
    cr_assert_geq(fd, 0);
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    cr_expect_eq(n, 9, "the link's target was written: %zd bytes", n);
    cr_expect(strncmp(buf, "precious\n", 9) == 0, "the target changed: %s", buf);
}

static void planted_symlink_is_refused(unsigned flag, const char *name)
{
    const char *victim = make_victim();
    unlink(name);
    cr_assert_eq(symlink(victim, name), 0);
    char msg[1024];
    cr_expect_eq(link_with(flag, msg, sizeof msg), EJ_IO, "%s", msg);
    cr_expect(strstr(msg, name) && strstr(msg, "symbolic link"), "%s", msg);
    expect_victim_intact(victim);
    struct stat st;
    cr_expect(lstat(name, &st) == 0 && S_ISLNK(st.st_mode), "the planted link was removed");
    unlink(name);
    unlink(victim);
}

Test(profile_files, perf_map_refuses_a_planted_symlink)
{
    planted_symlink_is_refused(EJ_REGISTER_PERF_MAP, tmp_name("/tmp/perf-%ld.map"));
}

Test(profile_files, jitdump_refuses_a_planted_symlink)
{
    planted_symlink_is_refused(EJ_REGISTER_JITDUMP, tmp_name("/tmp/jit-%ld.dump"));
}

Test(profile_files, perf_map_refuses_a_hard_link)
{
    const char *victim = make_victim(), *name = tmp_name("/tmp/perf-%ld.map");
    unlink(name);
    if (link(victim, name) != 0)
        cr_skip_test("cannot make a hard link in /tmp");
    char msg[1024];
    cr_expect_eq(link_with(EJ_REGISTER_PERF_MAP, msg, sizeof msg), EJ_IO, "%s", msg);
    cr_expect(strstr(msg, "single link"), "%s", msg);
    expect_victim_intact(victim);
    unlink(name);
    unlink(victim);
}

Test(profile_files, jitdump_replaces_a_stale_file_of_ours)
{
    const char *name = tmp_name("/tmp/jit-%ld.dump");
    int fd = open(name, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, "stale bytes", 11), 11);
    close(fd);
    char msg[1024];
    cr_assert_eq(link_with(EJ_REGISTER_JITDUMP, msg, sizeof msg), EJ_OK, "%s", msg);
    uint32_t magic = 0;
    fd = open(name, O_RDONLY);
    cr_assert_geq(fd, 0);
    cr_expect_eq(read(fd, &magic, 4), 4);
    close(fd);
    cr_expect_eq(magic, 0x4A695444u, "the file starts with the jitdump magic");
    unlink(name);
}

Test(profile_files, private_directory)
{
    char dir[] = "/tmp/ej_profdirXXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    setenv("ELFJIT_PROFILE_DIR", dir, 1);
    char msg[1024];
    cr_assert_eq(link_with(EJ_REGISTER_PERF_MAP | EJ_REGISTER_JITDUMP, msg, sizeof msg), EJ_OK,
                 "%s", msg);
    char map[256], dump[256];
    snprintf(map, sizeof map, "%s/perf-%ld.map", dir, (long)getpid());
    snprintf(dump, sizeof dump, "%s/jit-%ld.dump", dir, (long)getpid());
    struct stat st;
    cr_expect(stat(map, &st) == 0 && st.st_size > 0, "no perf map in %s", dir);
    cr_expect(stat(dump, &st) == 0 && st.st_size > 0, "no jitdump in %s", dir);
    cr_expect(stat(tmp_name("/tmp/perf-%ld.map"), &st) != 0, "a perf map in /tmp too");
    unlink(map);
    unlink(dump);
    /* A directory others may write is no private directory. */
    cr_assert_eq(chmod(dir, 0777), 0);
    cr_expect_eq(link_with(EJ_REGISTER_PERF_MAP, msg, sizeof msg), EJ_IO, "%s", msg);
    cr_expect(strstr(msg, "ELFJIT_PROFILE_DIR"), "%s", msg);
    rmdir(dir);
    unsetenv("ELFJIT_PROFILE_DIR");
}
