/* Creates and joins one thread: exit 0 when that works.  Under an
 * emulator, tests with threads run it first with a time limit (qemu-user
 * 7.2 can hang in thread creation on some hosts): the soak's
 * run_short.sh, and test_programs before the cases of programs that have
 * a `threads` file. */
#include <pthread.h>
#include <stdio.h>

static void *body(void *arg)
{
    return arg;
}

int main(void)
{
    pthread_t t;
    void *r = NULL;
    static int token;
    if (pthread_create(&t, NULL, body, &token) != 0 || pthread_join(t, &r) != 0 || r != &token) {
        fputs("thread_probe: cannot create a thread\n", stderr);
        return 1;
    }
    puts("thread_probe: threads work");
    return 0;
}
