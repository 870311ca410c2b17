int dup_which(void);

int use_dup(void)
{
    return dup_which();
}
