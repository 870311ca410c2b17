/* libdupm.a (second member) and libdupm_rev.a (first member). */
int dupm(void)
{
    return 2;
}
