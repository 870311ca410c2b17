/* Thread-local objects with destructors, as C++ compilers register them
 * (__cxa_thread_atexit against the module's __dso_handle): test_tls checks
 * that each runs once, at its thread's exit or when the module is freed
 * on its thread, and that a module freed while another thread still holds
 * one keeps its code until that destructor has run. */
extern int __cxa_thread_atexit(void (*dtor)(void *), void *obj, void *dso);
extern void *__dso_handle;

static __thread int obj_live;
static __thread int registered;
/* Where the destructors report: set by the test (the host's counter; the
 * test never runs two destructors at once, so no atomics: aarch64's would
 * need libgcc.a's outline helpers). */
volatile int *dtor_count;

static void dtor(void *obj)
{
    *(int *)obj = 0;
    if (dtor_count)
        ++*dtor_count;
}

/* The thread's object: constructed (and its destructor registered) on
 * first use, as `thread_local T x;` is. */
int touch(void)
{
    if (!registered) {
        registered = 1;
        obj_live = 1;
        __cxa_thread_atexit(dtor, &obj_live, &__dso_handle);
    }
    return obj_live;
}
