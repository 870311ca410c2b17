/* liblate_b.a (see late_a.c). */
int dup_late(void);

int late_trigger(void)
{
    return dup_late() * 10;
}
