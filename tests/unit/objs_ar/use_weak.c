/* A weak undefined reference: never pulls an archive member. */
extern int weak_target(void) __attribute__((weak));

int use_weak(void)
{
    return weak_target ? weak_target() : -1;
}
