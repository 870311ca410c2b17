/* Running a program with its output captured (toolrun.h). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"
#include "toolrun.h"

extern char **environ;

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void slurp(FILE *f, char *buf, size_t len)
{
    fflush(f);
    rewind(f);
    size_t n = fread(buf, 1, len - 1, f);
    buf[n] = '\0';
}

static void failed(ej_test_run *r, const char *what, int err)
{
    r->status = -2;
    snprintf(r->why, sizeof r->why, "%s: %s", what, strerror(err));
}

void ej_test_spawn(char *const argv[], ej_test_run *r, long timeout_ms)
{
    memset(r, 0, sizeof *r);
    FILE *fo = tmpfile(), *fe = tmpfile();
    char **cmd = ej_test_command(argv);
    if (!fo || !fe || !cmd) {
        failed(r, "tmpfile", errno);
        goto out;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, fileno(fo), 1);
    posix_spawn_file_actions_adddup2(&fa, fileno(fe), 2);
    pid_t pid;
    int rc = posix_spawn(&pid, cmd[0], &fa, NULL, cmd, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
        failed(r, "posix_spawn", rc);
        goto out;
    }
    int st = 0;
    long deadline = now_ms() + timeout_ms;
    struct timespec nap = {0, 2 * 1000 * 1000};
    for (;;) {
        pid_t w = waitpid(pid, &st, WNOHANG);
        if (w == pid)
            break;
        if (w < 0 && errno != EINTR) {
            failed(r, "waitpid", errno);
            goto out;
        }
        if (now_ms() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            r->status = -1;
            break;
        }
        nanosleep(&nap, NULL);
    }
    slurp(fo, r->out, sizeof r->out);
    slurp(fe, r->err, sizeof r->err);
    if (r->status != -1)
        r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
out:
    free(cmd);
    if (fo)
        fclose(fo);
    if (fe)
        fclose(fe);
}

void ej_test_tool(ej_test_run *r, const char *const *args)
{
    const char *argv[64] = {EJ_TOOL_PATH};
    size_t n = 1;
    for (size_t i = 0; args[i] && n < 63; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    ej_test_spawn((char *const *)argv, r, 60000);
}
