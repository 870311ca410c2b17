/* libundef.a: pulled, it needs a name nobody defines. */
int ej_ar_member_nowhere(void);

int undef_member_fn(void)
{
    return ej_ar_member_nowhere() + 1;
}
