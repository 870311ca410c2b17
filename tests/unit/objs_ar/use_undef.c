int undef_member_fn(void);

int use_undef(void)
{
    return undef_member_fn();
}
