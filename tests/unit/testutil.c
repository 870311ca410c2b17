#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "elfjit/elfjit.h"
#include "testutil.h"

/* Test executables that do not spawn programs are not given the emulator
 * (tests/reloc, tests/negative). */
#ifndef EJ_TEST_EMULATOR
#define EJ_TEST_EMULATOR ""
#endif

int ej_test_count_mappings(void)
{
    if (EJ_TEST_ASAN)
        return 0;
    FILE *f = fopen("/proc/self/maps", "r");
    int n = 0, c;
    if (!f)
        return -1;
    while ((c = fgetc(f)) != EOF)
        n += c == '\n';
    fclose(f);
    return n;
}

void *ej_test_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc(n > 0 ? (size_t)n : 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf)
        *len = (size_t)n;
    return buf;
}

const char *ej_test_fixture(const char *rel)
{
    static char path[4096];
    snprintf(path, sizeof path, "%s/fixtures/%s", EJ_TEST_BINARY_DIR, rel);
    return path;
}

const char *ej_test_path(const char *dir, const char *name, const char *suffix)
{
    static char path[8][4096];
    static int next;
    char *p = path[next++ % 8];
    snprintf(p, sizeof path[0], "%s/%s%s", dir, name, suffix);
    return p;
}

char **ej_test_command(char *const argv[])
{
    static char words[4096];
    static char *wordv[64];
    static int nwords = -1;
    if (nwords < 0) {
        nwords = 0;
        snprintf(words, sizeof words, "%s", EJ_TEST_EMULATOR);
        for (char *save = NULL, *w = strtok_r(words, " ", &save); w && nwords < 64;
             w = strtok_r(NULL, " ", &save))
            wordv[nwords++] = w;
    }
    size_t n = 0;
    while (argv[n])
        n++;
    char **cmd = calloc((size_t)nwords + n + 1, sizeof *cmd);
    if (!cmd)
        return NULL;
    for (int i = 0; i < nwords; i++)
        cmd[i] = wordv[i];
    for (size_t i = 0; i < n; i++)
        cmd[nwords + i] = argv[i];
    return cmd;
}

char **ej_test_command_env(char *const argv[], char *const qemu_env[])
{
    char **base = ej_test_command(argv);
    size_t nenv = 0, n = 0, words = 0;
    while (qemu_env && qemu_env[nenv])
        nenv++;
    if (!base || !ej_test_emulator() || !nenv)
        return base;
    while (base[n])
        n++;
    while (argv[words])
        words++;
    words = n - words; /* the emulator's own words */
    char **cmd = calloc(n + 2 * nenv + 1, sizeof *cmd);
    if (!cmd) {
        free(base);
        return NULL;
    }
    size_t k = 0;
    for (size_t i = 0; i < words; i++)
        cmd[k++] = base[i];
    for (size_t i = 0; i < nenv; i++) {
        cmd[k++] = "-E";
        cmd[k++] = qemu_env[i];
    }
    for (size_t i = words; i < n; i++)
        cmd[k++] = base[i];
    free(base);
    return cmd;
}

const char *ej_test_emulator(void)
{
    static char name[64];
    static int known;
    if (!known) {
        known = 1;
        FILE *f = fopen("/proc/self/status", "r");
        char line[256];
        while (f && fgets(line, sizeof line, f)) {
            if (strncmp(line, "Name:", 5) == 0) {
                const char *v = line + 5 + strspn(line + 5, " \t");
                if (strncmp(v, "qemu-", 5) == 0)
                    snprintf(name, sizeof name, "%.*s", (int)strcspn(v, "\n"), v);
                break;
            }
        }
        if (f)
            fclose(f);
    }
    return name[0] ? name : NULL;
}

static void *noop_thread(void *arg)
{
    return arg;
}

int ej_test_threads_work(unsigned timeout_ms)
{
    if (!ej_test_emulator())
        return 1;
    pid_t pid = fork();
    if (pid < 0)
        return 0;
    if (pid == 0) {
        pthread_t t;
        _exit(pthread_create(&t, NULL, noop_thread, NULL) == 0 && pthread_join(t, NULL) == 0
                  ? 0
                  : 1);
    }
    int status = 0, done = 0;
    struct timespec nap = {0, 5 * 1000 * 1000};
    for (unsigned waited = 0; waited < timeout_ms && !done; waited += 5) {
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid)
            done = 1;
        else if (w < 0 && errno != EINTR)
            break;
        else
            nanosleep(&nap, NULL);
    }
    if (!done) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
    }
    return done && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static sigjmp_buf g_sigill_jmp;
static volatile sig_atomic_t g_sigill_armed;
static uint64_t g_sigill_pc;

static void on_sigill(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)si;
    if (!g_sigill_armed) { /* not ours: die of it as usual (it runs again) */
        signal(SIGILL, SIG_DFL);
        return;
    }
    g_sigill_pc = ej_signal_pc(uc);
    siglongjmp(g_sigill_jmp, 1);
}

int ej_test_catch_sigill(void (*body)(void *ctx), void *ctx, uint64_t *pc)
{
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_sigill;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGILL, &sa, &old) != 0)
        return 0;
    volatile int trapped = 0;
    if (sigsetjmp(g_sigill_jmp, 1) == 0) {
        g_sigill_armed = 1;
        body(ctx);
    } else {
        trapped = 1;
        *pc = g_sigill_pc;
    }
    g_sigill_armed = 0;
    sigaction(SIGILL, &old, NULL);
    return trapped;
}
