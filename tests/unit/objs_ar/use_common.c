extern int ar_common_var;

int use_common(void)
{
    ar_common_var += 7;
    return ar_common_var;
}
