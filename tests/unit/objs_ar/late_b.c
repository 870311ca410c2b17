/* liblate_b.a (see late_a.c). */
int dup_late(void)
{
    return 2;
}
