/* libdupx.a: pulled for dupx_needed, it also defines dup_which, which
 * dup_obj.o defines too: a duplicate definition, as ld says. */
int dupx_needed(void)
{
    return 5;
}

int dup_which(void)
{
    return 3;
}
