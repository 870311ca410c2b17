/* libmixed_bc.a, libmixed_foreign.a, libgarbage.a: the good member next to
 * one that cannot be loaded. */
int ok_fn(void)
{
    return 11;
}
