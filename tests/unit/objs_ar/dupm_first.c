/* libdupm.a (first member) and libdupm_rev.a (second member): the member
 * first in the symbol index wins. */
int dupm(void)
{
    return 1;
}
